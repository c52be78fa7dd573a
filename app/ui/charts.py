"""Simple bar charts painted with QPainter: no chart package to install or ship.

The dashboard needs a handful of horizontal bar groups (one row per fellow,
one bar per series), with the number written at the end of each bar. That is
a few dozen lines of painting; a chart library would add megabytes to the
installer for it. Horizontal bars leave room for long Chinese names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger("fieldbook.ui")

# Colours that stay apart for the colour-blind and on a grey projector.
PALETTE = ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
BAR_HEIGHT = 12
GROUP_GAP = 8
MARGIN = 6
LABEL_MAX_WIDTH = 160
LABEL_MIN_WIDTH = 48
LEGEND_SWATCH = 10


@dataclass(frozen=True)
class Series:
    """One kind of bar (e.g. "Approved"): its name, colour and one value per category."""

    name: str
    values: tuple[float, ...]
    colour: str = ""


def format_number(value: float) -> str:
    """Whole numbers without decimals, others with one (hours)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class BarChart(QWidget):
    """Grouped horizontal bars: categories down the side, a legend on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = ""
        self._categories: list[str] = []
        self._series: list[Series] = []
        self._empty_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    # --- data -----------------------------------------------------------------

    def set_data(self, title: str, categories: list[str], series: list[Series]) -> None:
        """Replace what the chart shows (each series has one value per category)."""
        self._title = title
        self._categories = list(categories)
        self._series = [
            Series(s.name, tuple(s.values), s.colour or PALETTE[i % len(PALETTE)])
            for i, s in enumerate(series)
        ]
        self.setAccessibleName(title)
        self.updateGeometry()
        self.update()

    def set_empty_text(self, text: str) -> None:
        """What to write when there is nothing to draw."""
        self._empty_text = text
        self.update()

    def title(self) -> str:
        return self._title

    def categories(self) -> list[str]:
        return list(self._categories)

    def series(self) -> list[Series]:
        return list(self._series)

    def maximum(self) -> float:
        return max((v for s in self._series for v in s.values), default=0.0)

    # --- geometry ---------------------------------------------------------------

    def _line(self) -> int:
        return QFontMetrics(self.font()).height()

    def _group_height(self) -> int:
        bars = max(1, len(self._series)) * BAR_HEIGHT
        return max(bars, self._line()) + GROUP_GAP

    def _header_height(self) -> int:
        return 2 * self._line() + MARGIN  # title, legend

    def sizeHint(self) -> QSize:
        rows = max(1, len(self._categories))
        return QSize(360, self._header_height() + rows * self._group_height() + 2 * MARGIN)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height())

    # --- painting ------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            text = self.palette().color(QPalette.ColorRole.WindowText)
            painter.setPen(text)
            y = self._paint_header(painter)
            if not self._categories or self.maximum() <= 0:
                painter.drawText(QRectF(MARGIN, y, self.width() - 2 * MARGIN, self._line()),
                                 Qt.AlignmentFlag.AlignLeft, self._empty_text)
                return
            self._paint_groups(painter, y, text)
        finally:
            painter.end()

    def _paint_header(self, painter: QPainter) -> float:
        line = self._line()
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(MARGIN, MARGIN, self.width() - 2 * MARGIN, line),
                         Qt.AlignmentFlag.AlignLeft, self._title)
        font.setBold(False)
        painter.setFont(font)
        x, y = float(MARGIN), float(MARGIN + line)
        metrics = QFontMetrics(font)
        for series in self._series:
            painter.fillRect(QRectF(x, y + (line - LEGEND_SWATCH) / 2, LEGEND_SWATCH, LEGEND_SWATCH),
                             QColor(series.colour))
            x += LEGEND_SWATCH + 4
            painter.drawText(QRectF(x, y, metrics.horizontalAdvance(series.name) + 2, line),
                             Qt.AlignmentFlag.AlignLeft, series.name)
            x += metrics.horizontalAdvance(series.name) + 12
        return y + line + MARGIN

    def _paint_groups(self, painter: QPainter, top: float, text: QColor) -> None:
        metrics = QFontMetrics(painter.font())
        widest = max(metrics.horizontalAdvance(c) for c in self._categories)
        label_width = max(LABEL_MIN_WIDTH, min(LABEL_MAX_WIDTH, widest + 4))
        number_width = metrics.horizontalAdvance(format_number(self.maximum())) + 6
        left = MARGIN + label_width + 6
        span = max(1.0, self.width() - left - number_width - MARGIN)
        scale = span / self.maximum()
        group = self._group_height()
        for row, category in enumerate(self._categories):
            y = top + row * group
            painter.setPen(text)
            label = metrics.elidedText(category, Qt.TextElideMode.ElideRight, label_width)
            painter.drawText(QRectF(MARGIN, y, label_width, group - GROUP_GAP),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            bars_top = y + max(0.0, (group - GROUP_GAP - len(self._series) * BAR_HEIGHT) / 2)
            for index, series in enumerate(self._series):
                value = series.values[row] if row < len(series.values) else 0.0
                bar_y = bars_top + index * BAR_HEIGHT
                width = max(0.0, value * scale)
                painter.fillRect(QRectF(left, bar_y + 1, width, BAR_HEIGHT - 2), QColor(series.colour))
                painter.setPen(text)
                painter.drawText(QRectF(left + width + 3, bar_y - 2, number_width, BAR_HEIGHT + 4),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                 format_number(value))


__all__ = ["BarChart", "Series", "format_number"]
