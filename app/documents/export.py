"""Writing a batch: one combined file or a zip of one file per record.

The target appears whole or not at all: everything is written to a
temporary file beside it and moved into place at the end, so a full disk, a
damaged image or a cancelled export never leaves half a document where the
user will look for it (nor overwrites a good earlier one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from app.documents.model import RecordDocument

# Writes records as one document into a file: docx_writer.write_docx, or the
# PDF writer in app/ui/documents_pdf (Qt).
Writer = Callable[[Iterable[RecordDocument], Path], None]
FORMATS = ("docx", "pdf")


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix=".fieldbook-", suffix=target.suffix, dir=target.parent)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def unique_names(stems: Iterable[str], suffix: str, seen: set[str] | None = None) -> Iterator[str]:
    """File names for a zip: ``认识分数_2026-09-01.docx``, then ``… (2).docx``
    (``seen`` holds the names already taken, compared without case)."""
    seen = set() if seen is None else seen
    for stem in stems:
        name, number = f"{stem}.{suffix}", 1
        while name.casefold() in seen:
            number += 1
            name = f"{stem} ({number}).{suffix}"
        seen.add(name.casefold())
        yield name


def write_combined(records: Iterable[RecordDocument], target: Path, writer: Writer) -> None:
    with _atomic(target) as temp:
        writer(records, temp)


def write_zip(records: Iterable[RecordDocument], target: Path, writer: Writer, suffix: str) -> int:
    """One file per record in a zip; returns how many."""
    count = 0
    seen: set[str] = set()
    with (
        _atomic(target) as temp,
        tempfile.TemporaryDirectory(dir=target.parent) as work,
        zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for record in records:
            name = next(unique_names([record.file_stem], suffix, seen))
            part = Path(work) / f"{count}.{suffix}"
            writer([record], part)
            archive.write(part, name)
            part.unlink()
            count += 1
    return count
