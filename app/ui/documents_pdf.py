"""PDF and print rendering of ``RecordDocument`` with Qt (QTextDocument).

Why Qt and not a PDF library: Qt embeds a subset of whatever font it draws
with, of any outline format — the CFF-based Noto CJK ``.ttc`` of Debian and
Ubuntu, the Song faces of Windows and macOS — while fpdf2 and reportlab only
take TrueType outlines and would make us ship a 10 MB font. The same code
paints the print preview (``QPrinter``) and the PDF (``QPdfWriter``), so what
is previewed is what is filed. It needs only QtGui (no widgets): the command
line creates an offscreen ``QGuiApplication`` (``ensure_gui``) and imports
this module lazily, so ``fieldbook export --format docx`` never loads Qt.

QPainter on a QPdfWriter and a QTextDocument made on the same thread are
safe off the GUI thread (Qt's threading notes), so exports run on the
TaskRunner.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImageReader,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)

from app.documents.model import Block, Picture, RecordDocument, StepsTable

# A Song (serif) face first, as printed 教案 use; the first one present wins.
# TrueType faces come before Noto CJK: Noto maps the Kangxi radicals (U+2F00…)
# to the same glyphs as 一 小 日 …, and Qt's PDF text layer then gives the
# radical, so copying or searching the PDF would miss those characters.
# Debian/Ubuntu: fonts-arphic-uming; Windows: SimSun; macOS: Songti SC.
FONT_FAMILIES = (
    "AR PL UMing CN", "SimSun", "Songti SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
    "Noto Serif CJK SC", "Noto Sans CJK SC",
)
_MARGINS_MM = QMarginsF(20, 22, 20, 20)
_PDF_DPI = 300
_BAND_MM = 8.0  # room for the page header (school) and footer (page number)
_LABEL_BG = "#ededed"
_SCREEN_DPI = 96


def ensure_gui() -> None:
    """A QGuiApplication for rendering from the command line (offscreen, so
    it works on a server without a display)."""
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        QGuiApplication(["fieldbook"])


def document_font(point_size: float = 10.5) -> QFont:
    font = QFont()
    font.setFamilies(list(FONT_FAMILIES))
    font.setPointSizeF(point_size)
    return font


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<br/>")


def _header_html(record: RecordDocument) -> str:
    cells = [
        f'<td width="13%" bgcolor="{_LABEL_BG}"><b>{_text(i.label)}</b></td>'
        f'<td width="37%">{_text(i.value)}</td>'
        for i in record.header
    ]
    if len(cells) % 2:
        cells.append('<td width="13%"></td><td width="37%"></td>')
    rows = "".join(f"<tr>{cells[i]}{cells[i + 1]}</tr>" for i in range(0, len(cells), 2))
    return _table(rows)


def _table(rows: str) -> str:
    return (
        '<table border="1" cellspacing="0" cellpadding="5" width="100%" '
        f'style="border-collapse: collapse; border-color: #555;">{rows}</table>'
    )


def _steps_html(steps: StepsTable) -> str:
    total = sum(steps.widths)
    widths = [f'{round(100 * w / total)}%' for w in steps.widths]
    head = "".join(
        f'<th width="{w}" bgcolor="{_LABEL_BG}">{_text(c)}</th>'
        for w, c in zip(widths, steps.columns, strict=True)
    )
    body = "".join("<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>" for row in steps.rows)
    foot = (f"<tr><td><b>{_text(steps.total_label)}</b></td><td><b>{_text(steps.total_value)}</b></td>"
            + "<td></td>" * (len(steps.columns) - 2) + "</tr>")
    return _table(f"<tr>{head}</tr>{body}{foot}")


def _picture_html(picture: Picture, body: QSizeF) -> str:
    """An image scaled to fit within 70 % of the text width and 40 % of the
    page height (never enlarged), so it never spreads over pages; an image
    Qt cannot read is left out with its name."""
    size = QImageReader(str(picture.path)).size()
    if not size.isValid() or size.isEmpty():
        return f"<p>{_text(picture.caption)}</p>"
    scale = min(1.0 * body.width() * 0.7 / size.width(), body.height() * 0.4 / size.height())
    width, height = int(size.width() * scale), int(size.height() * scale)
    src = html.escape(picture.path.as_uri(), quote=True)
    return (f'<p align="center"><img src="{src}" width="{width}" height="{height}"/><br/>'
            f"{_text(picture.caption)}</p>")


def _block_html(block: Block, body: QSizeF) -> str:
    parts = [f"<h3>{_text(block.heading)}</h3>"]
    parts.extend(f"<p>{_text(p) or '&nbsp;'}</p>" for p in block.paragraphs)
    if block.table is not None:
        parts.append(_steps_html(block.table))
    parts.extend(_picture_html(picture, body) for picture in block.pictures)
    return "".join(parts)


def record_html(record: RecordDocument, body: QSizeF | None = None) -> str:
    """The record as the HTML subset QTextDocument lays out (``body``: the
    text area of a page in 96-dpi pixels, for the pictures' size)."""
    body = body or QSizeF(600, 900)
    blocks = "".join(_block_html(b, body) for b in record.blocks)
    return (
        "<html><body>"
        f'<p align="center">{_text(record.kind_label)}</p>'
        f'<h2 align="center">{_text(record.title)}</h2>'
        f"{_header_html(record)}{blocks}</body></html>"
    )


def _layout(device: QPagedPaintDevice, record: RecordDocument, body: QSizeF) -> QTextDocument:
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(device)
    doc.setDefaultFont(document_font())
    doc.setDocumentMargin(0)
    # QTextDocument scales image sizes from 96 dpi to the device's resolution.
    scale = _SCREEN_DPI / device.logicalDpiY()
    doc.setHtml(record_html(record, QSizeF(body.width() * scale, body.height() * scale)))
    doc.setPageSize(body)
    return doc


def _mm(device: QPagedPaintDevice, mm: float) -> float:
    return mm * device.logicalDpiY() / 25.4


def _band_text(painter: QPainter, rect: QRectF, text: str, align: Qt.AlignmentFlag, size: float) -> None:
    painter.save()
    painter.setFont(document_font(size))
    painter.setPen(QColor("#444"))
    painter.drawText(rect, int(align), text)
    painter.restore()


def _watermark(painter: QPainter, page: QRectF, text: str) -> None:
    painter.save()
    font = document_font(96)
    painter.setFont(font)
    painter.setPen(QColor(0, 0, 0, 40))
    painter.translate(page.center())
    painter.rotate(-45)
    painter.drawText(QRectF(-page.width(), -page.height() / 4, 2 * page.width(), page.height() / 2),
                     int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()


def _paint_record(painter: QPainter, device: QPagedPaintDevice, record: RecordDocument, first: bool) -> None:
    page = QRectF(QPointF(0, 0), QSizeF(device.pageLayout().paintRectPixels(device.logicalDpiY()).size()))
    band = _mm(device, _BAND_MM)
    # Whole pixels: a page break at a fraction lets a line starting on the next
    # page bleed a hair into this one (and into its PDF content).
    body = QSizeF(math.floor(page.width()), math.floor(page.height() - 2 * band))
    doc = _layout(device, record, body)
    pages = doc.pageCount()
    for number in range(pages):
        if not (first and number == 0):
            device.newPage()
        if record.school:
            _band_text(painter, QRectF(0, 0, page.width(), band), record.school,
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, 9)
        footer = record.page_label.format(page=number + 1, pages=pages)
        _band_text(painter, QRectF(0, page.height() - band, page.width(), band), footer,
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, 9)
        painter.save()
        painter.translate(0, band - number * body.height())
        # One pixel short: Qt draws a line that starts exactly at the clip's
        # bottom edge, which is the first line of the next page.
        doc.drawContents(painter, QRectF(0, number * body.height(), body.width(), body.height() - 1))
        painter.restore()
        if record.watermark:  # over the text and pictures, which would hide it
            _watermark(painter, page, record.watermark)


def paint_records(device: QPagedPaintDevice, records: Iterable[RecordDocument]) -> int:
    """Paint the records on a PDF writer or printer, each from a new page;
    returns how many."""
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("cannot start painting the document")
    count = 0
    try:
        for record in records:
            _paint_record(painter, device, record, first=count == 0)
            count += 1
    finally:
        painter.end()
    return count


def a4_layout() -> QPageLayout:
    return QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                       _MARGINS_MM, QPageLayout.Unit.Millimeter)


def write_pdf(records: Iterable[RecordDocument], target: Path) -> None:
    """The records as one A4 PDF with their fonts embedded (subset)."""
    writer = QPdfWriter(str(target))
    writer.setResolution(_PDF_DPI)
    writer.setPageLayout(a4_layout())
    writer.setCreator("Fieldbook")
    items: Sequence[RecordDocument] = list(records)
    if items:
        writer.setTitle(items[0].title)
    paint_records(writer, items)
