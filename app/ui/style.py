"""Fieldbook's look: one light palette, a CJK-first font, our own line icons
and the style sheet in ``resources/style/fieldbook.qss``.

Everything that gives a widget a role in the design (the one primary action
of a screen, the colour of a review decision, a status chip) goes through
the small helpers here, so the style sheet stays the one place that says what
those roles look like. The Fusion style underneath makes the same sheet look
the same on Windows 7 laptops, macOS and Linux.
"""

from __future__ import annotations

import logging
from functools import cache

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from app.models.fields import Status
from app.resources import resource_dir
from app.ui.i18n import tr_status

log = logging.getLogger("fieldbook.ui")

# Chinese first: the system's own CJK UI font on each platform, then Noto/Source Han.
FONT_FAMILIES = ["Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC",
                 "Source Han Sans SC", "WenQuanYi Micro Hei", "sans-serif"]
FONT_POINT_SIZE = 10

INK = "#455a64"  # the line colour the icons are drawn in
ACCENT = "#00796b"  # one accent: the primary action, the selected entry, focus
ON_ACCENT = "#ffffff"
APPROVE = "#2e7d32"
RETURN = "#e65100"

# The review decision at a glance: (text, background) per status.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    Status.DRAFT.value: ("#455a64", "#eceff1"),
    Status.SUBMITTED.value: ("#0d47a1", "#e3f2fd"),
    Status.APPROVED.value: ("#1b5e20", "#e8f5e9"),
    Status.RETURNED.value: ("#bf360c", "#fff3e0"),
}
ICON_SIZES = (16, 20, 24, 32, 48, 64, 96)


def icons_dir() -> str:
    return str(resource_dir() / "icons")


def style_sheet_path() -> str:
    return str(resource_dir() / "style" / "fieldbook.qss")


@cache
def icon(name: str, colour: str = INK) -> QIcon:
    """One of our line icons (``resources/icons/<name>.svg``), drawn in ``colour``.

    Rendered to pixmaps here rather than left to Qt's SVG icon plug-in, which a
    trimmed Qt install may lack; a missing file gives an empty icon and a warning."""
    path = resource_dir() / "icons" / f"{name}.svg"
    try:
        svg = path.read_text(encoding="utf-8").replace(INK, colour)
    except OSError as exc:
        log.warning("No icon %s: %s", name, exc)
        return QIcon()
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    result = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result


def _palette() -> QPalette:
    """A calm light palette, whatever the system's colour scheme: the style
    sheet is drawn for white content."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#ffffff",
        QPalette.ColorRole.WindowText: "#263238",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f7f9f9",
        QPalette.ColorRole.Text: "#263238",
        QPalette.ColorRole.Button: "#f5f7f8",
        QPalette.ColorRole.ButtonText: "#263238",
        QPalette.ColorRole.Highlight: "#cfe9e5",
        QPalette.ColorRole.HighlightedText: "#10302c",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#263238",
        QPalette.ColorRole.PlaceholderText: "#8a989f",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.Mid: "#c9d1d5",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#9aa5ab"))
    return palette


def app_font(base: QFont | None = None) -> QFont:
    font = QFont(base) if base is not None else QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSize(FONT_POINT_SIZE)
    return font


def style_sheet() -> str:
    """The sheet; empty (Qt's plain look, still usable) if the file is missing."""
    try:
        with open(style_sheet_path(), encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        log.warning("No style sheet: %s", exc)
        return ""


def apply(app: QApplication) -> None:
    """Give the whole application Fieldbook's look (once, at start-up)."""
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(Qt.ColorScheme.Light)
    app.setPalette(_palette())
    app.setFont(app_font(app.font()))
    app.setStyleSheet(style_sheet())


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def mark_primary(widget: QWidget) -> None:
    """The one action of this screen a teacher most likely wants (accent colour)."""
    widget.setProperty("primary", True)
    _repolish(widget)


def mark_decision(widget: QWidget, decision: str) -> None:
    """A review decision button: ``approve`` green, ``return`` orange."""
    widget.setProperty("decision", decision)
    _repolish(widget)


def mark_status(widget: QWidget, status: str) -> None:
    """Show a label as the coloured chip of a review status ('' for none)."""
    if widget.property("status") == status:
        return
    widget.setProperty("status", status)
    _repolish(widget)


def mark_role(widget: QWidget, role: str) -> None:
    """A typographic role from the style sheet: ``heading``, ``subtle``, ``page_title``…"""
    widget.setProperty("role", role)
    _repolish(widget)


def status_of_label(text: str) -> str | None:
    """The status code whose translated label is ``text`` (list cells hold the label)."""
    for status in Status:
        if tr_status(status.value) == text:
            return status.value
    return None


class StatusChipDelegate(QStyledItemDelegate):
    """Paints the status cell of a list as a coloured chip, so which records
    are approved, returned or waiting shows at a glance."""

    PADDING_X, PADDING_Y = 8, 3

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        status = status_of_label(text)
        if status is None:
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        option.text = ""
        widget = option.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        foreground, background = STATUS_COLOURS[status]
        metrics = option.fontMetrics  # type: ignore[attr-defined]
        rect = option.rect  # type: ignore[attr-defined]
        width = min(metrics.horizontalAdvance(text) + 2 * self.PADDING_X, rect.width() - 4)
        height = min(metrics.height() + 2 * self.PADDING_Y, rect.height() - 2)
        chip = QRectF(rect.left() + 4, rect.center().y() - height / 2 + 1, width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(background))
        painter.drawRoundedRect(chip, height / 2, height / 2)
        painter.setPen(QColor(foreground))
        painter.setFont(option.font)  # type: ignore[attr-defined]
        painter.drawText(chip, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 2 * self.PADDING_X + 8, size.height())


__all__ = ["ACCENT", "FONT_FAMILIES", "STATUS_COLOURS", "StatusChipDelegate", "app_font", "apply",
           "icon", "mark_decision", "mark_primary", "mark_role", "mark_status", "status_of_label",
           "style_sheet"]
