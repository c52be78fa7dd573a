"""The neutral document model: one record as a printable document.

Writers (``docx_writer``, ``app/ui/documents_pdf``) only lay out what this
model holds, so Word, PDF and the print preview show the same fields in the
same order. The model is plain data (no Qt, no python-docx): labels arrive
already translated through the ``Translate`` callable the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# ``translate(context, source)``: Qt's ``QCoreApplication.translate`` in the
# UI, a loaded ``.qm`` (or the identity, for English) on the command line.
Translate = Callable[[str, str], str]


def no_translation(context: str, source: str) -> str:
    """English: the source text as it is."""
    del context
    return source


@dataclass(frozen=True)
class ExportOptions:
    """What the user chose in the export dialog or on the command line."""

    include_thread: bool = False  # the review thread: comments and the decision
    watermark_drafts: bool = True  # 草稿 across every page of a draft
    school: str = ""  # the school's name in the page header ("" for none)
    include_images: bool = False  # attached photos placed in the document


@dataclass(frozen=True)
class HeaderItem:
    """One label/value pair of the header table (课题, 学科, 年级 …)."""

    name: str  # the field's name (or "author", "school"): for tests and writers
    label: str
    value: str


@dataclass(frozen=True)
class StepsTable:
    """The lesson procedure (教学过程): one row per step and a total line."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total_label: str
    total_value: str
    # Relative column widths: the activities get the room.
    widths: tuple[int, ...] = (2, 1, 4, 4)


@dataclass(frozen=True)
class Picture:
    path: Path
    caption: str


@dataclass(frozen=True)
class Block:
    """A titled part below the header: paragraphs, a table, or pictures."""

    name: str
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: StepsTable | None = None
    pictures: tuple[Picture, ...] = ()


@dataclass(frozen=True)
class RecordDocument:
    """Everything one record's document shows, in reading order."""

    record_id: str
    kind: str
    kind_label: str  # 教案, 培训记录, 交流记录
    title: str
    school: str  # the page header; "" for none
    header: tuple[HeaderItem, ...]
    blocks: tuple[Block, ...]
    watermark: str  # "" for none
    file_stem: str  # a file name without extension: title and date
    page_label: str = "{page} / {pages}"  # the page footer, translated
