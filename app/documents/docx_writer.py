"""Word documents (python-docx) that open in WPS and Word with their tables intact.

A4 portrait, 宋体 for Chinese (every Chinese Windows and WPS has it; other
machines substitute their Song face), the header table with shaded label
cells, fixed column widths (WPS honours ``w:tcW`` on a fixed layout, not
autofit), a draft watermark as the VML text shape Word itself writes for
Design → Watermark, and the school's name in the page header. Several records
go into one file with a page break between them, each starting its own
section so that only drafts carry the watermark.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

from docx import Document as new_document
from docx.document import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from app.documents.model import Block, RecordDocument, StepsTable

log = logging.getLogger("fieldbook.documents")

CHINESE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
_TEXT_WIDTH_MM = 170.0  # A4 less 20 mm margins each side
_LABEL_SHADE = "EDEDED"
_WATERMARK_ID = "PowerPlusWaterMarkObject"
_HEADER_PAIRS = 2  # label/value pairs per header table row


def _set_fonts(doc: Document) -> None:
    style = doc.styles["Normal"]
    style.font.name = LATIN_FONT
    style.font.size = Pt(11)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), CHINESE_FONT)
    for name in ("Title", "Heading 1", "Heading 2"):
        heading = doc.styles[name]
        heading.font.name = LATIN_FONT
        heading.font.color.rgb = RGBColor(0, 0, 0)
        heading.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CHINESE_FONT)


def _page_setup(section: Section) -> None:
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin, section.bottom_margin = Mm(22), Mm(20)


def _shade(cell: _Cell) -> None:
    cell._tc.get_or_add_tcPr().append(
        parse_xml(f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="{_LABEL_SHADE}"/>')
    )


def _fixed_table(doc: Document, rows: int, widths_mm: list[float]) -> tuple[Table, list[list[_Cell]]]:
    """A grid table of fixed column widths, and its cells by row (python-docx
    rebuilds the whole grid on every ``table.cell()``: fetched once here)."""
    table: Table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    grid = [list(row.cells) for row in table.rows]
    for cells in grid:
        for cell, width in zip(cells, widths_mm, strict=True):
            cell.width = Mm(width)
    return table, grid


def _write_cell(cell: _Cell, text: str, *, bold: bool = False) -> None:
    lines = text.split("\n")
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        paragraph.add_run(line).bold = bold


def _header_table(doc: Document, record: RecordDocument) -> None:
    items = list(record.header)
    rows = (len(items) + _HEADER_PAIRS - 1) // _HEADER_PAIRS
    _table, grid = _fixed_table(doc, rows, [22.0, 63.0, 22.0, 63.0])
    for index, item in enumerate(items):
        row, pair = divmod(index, _HEADER_PAIRS)
        label, value = grid[row][pair * 2], grid[row][pair * 2 + 1]
        _write_cell(label, item.label, bold=True)
        _shade(label)
        _write_cell(value, item.value)


def _steps_table(doc: Document, steps: StepsTable) -> None:
    unit = _TEXT_WIDTH_MM / sum(steps.widths)
    _table, grid = _fixed_table(doc, len(steps.rows) + 2, [w * unit for w in steps.widths])
    for cell, label in zip(grid[0], steps.columns, strict=True):
        _write_cell(cell, label, bold=True)
        _shade(cell)
    for cells, values in zip(grid[1:], steps.rows, strict=False):
        for cell, value in zip(cells, values, strict=True):
            _write_cell(cell, value)
    _write_cell(grid[-1][0], steps.total_label, bold=True)
    _write_cell(grid[-1][1], steps.total_value, bold=True)


def _heading(doc: Document, text: str, level: int) -> Paragraph:
    """``doc.add_heading`` without its style lookup by name, which costs a
    millisecond a call and made 200 plans take seconds longer."""
    paragraph = doc.add_paragraph(text)
    paragraph._p.style = f"Heading{level}"
    return paragraph


def _block(doc: Document, block: Block) -> None:
    _heading(doc, block.heading, 2)
    for text in block.paragraphs:
        doc.add_paragraph(text)
    if block.table is not None:
        _steps_table(doc, block.table)
    for picture in block.pictures:
        try:
            doc.add_picture(str(picture.path), width=Mm(min(_TEXT_WIDTH_MM, 120)))
        except Exception as exc:  # a damaged or unusual image: leave it out, say so
            log.warning("Image %s left out of the document: %s", picture.path, exc)
            continue
        caption = doc.add_paragraph(picture.caption)
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _watermark_xml(text: str) -> str:
    """Word's own watermark: a VML text path behind the page, in the header."""
    return (
        f'<w:r {nsdecls("w")} xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office"><w:pict>'
        '<v:shapetype id="_x0000_t136" coordsize="21600,21600" o:spt="136" adj="10800" '
        'path="m@7,l@8,m@5,21600l@6,21600e"><v:path textpathok="t" o:connecttype="custom"/>'
        '<v:textpath on="t" fitshape="t"/></v:shapetype>'
        f'<v:shape id="{_WATERMARK_ID}" o:spid="_x0000_s2049" type="#_x0000_t136" '
        'style="position:absolute;margin-left:0;margin-top:0;width:360pt;height:180pt;'
        "rotation:315;z-index:-251654144;mso-position-horizontal:center;"
        'mso-position-horizontal-relative:margin;mso-position-vertical:center;'
        'mso-position-vertical-relative:margin" o:allowincell="f" fillcolor="#d0d0d0" stroked="f">'
        '<v:fill opacity=".5"/>'
        f'<v:textpath style="font-family:&quot;{CHINESE_FONT}&quot;;font-size:1pt" '
        f"string={quoteattr(text)}/></v:shape></w:pict></w:r>"
    )


def _page_header(section: Section, record: RecordDocument) -> None:
    header = section.header
    header.is_linked_to_previous = False
    paragraph = header.paragraphs[0]
    paragraph.text = record.school
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if record.watermark:
        paragraph._p.append(parse_xml(_watermark_xml(record.watermark)))


def _record(doc: Document, record: RecordDocument, first: bool) -> None:
    section = doc.sections[0] if first else doc.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section)
    _page_header(section, record)
    kind = doc.add_paragraph(record.kind_label)
    kind.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = _heading(doc, record.title, 1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _header_table(doc, record)
    for block in record.blocks:
        _block(doc, block)


def build_docx(records: Iterable[RecordDocument]) -> Document:
    """One Word document holding the records, each from a new page."""
    doc = new_document()
    _set_fonts(doc)
    count = 0
    for record in records:
        _record(doc, record, first=count == 0)
        count += 1
    if count == 0:
        _page_setup(doc.sections[0])
    return doc


def write_docx(records: Iterable[RecordDocument], target: Path | IO[bytes]) -> None:
    """Write the records as one .docx to ``target`` (a path or a binary stream)."""
    doc = build_docx(records)
    doc.save(str(target) if isinstance(target, Path) else target)
