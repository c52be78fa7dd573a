"""Reading exported files back: all text of a .docx, of a PDF."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from pypdf import PdfReader


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def docx_header_xml(path: Path) -> str:
    doc = Document(str(path))
    return "".join(section.header._element.xml for section in doc.sections)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)
