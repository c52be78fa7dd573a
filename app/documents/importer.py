"""Import a fellow's Word 教案 (.docx) as a draft lesson plan — no Qt here.

``parse_docx`` reads the body in document order (``importer_walk``), maps
recognised parts to lesson-plan fields by their labels (``importer_rules``):
a label in a table cell with its value in the next cell, a heading or bold
line followed by content, or "label：value" on one line; a procedure table
or numbered procedure headings become steps with their minutes. Everything
else goes to the notes, in document order, so nothing is dropped — and the
``ImportResult`` proves it: ``unplaced`` lists any text of the document that
is in no field (empty, or the file is not stored).

Nothing is stored here but in ``save_draft``: one ``Store.create`` (one
transaction) per file, so a file imports whole or not at all.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.documents import importer_rules as rules
from app.documents.importer_walk import Block, Paragraph, Row, body_blocks
from app.errors import EnvironmentFault
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import STEPS_MAX, FieldType, Kind, kind_spec
from app.models.store import RecordData, Store
from app.models.validation import Problem, validate_record

log = logging.getLogger("fieldbook.documents")

CONTEXT = "DocumentImport"  # translation context of every message below
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a zip bomb is refused before it is unpacked
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_HEADING_MAX = 40  # a bold line longer than this is emphasis, not a heading
_PAIR_LABEL_MAX = 12  # a table cell this short before a value cell is its label


# --- errors ------------------------------------------------------------------


class DocumentImportError(EnvironmentFault):
    """A file that cannot be imported; ``message`` is English source text
    (context ``DocumentImport``) the UI translates."""

    message = QT_TRANSLATE_NOOP("DocumentImport", "This file cannot be read as a Word document.")

    def __init__(self, path: Path, detail: str = "") -> None:
        super().__init__(f"{path}: {self.message}" + (f" ({detail})" if detail else ""))
        self.path = path
        self.detail = detail


class OldWordFormatError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport",
        "This is an old Word document (.doc). Open it in Word or WPS, save it as .docx, "
        "and import that file.",
    )


class PasswordProtectedError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport",
        "This document is protected by a password. Save a copy without the password and "
        "import that.",
    )


class EmptyFileError(DocumentImportError):
    message = QT_TRANSLATE_NOOP("DocumentImport", "This file is empty.")


class NotWordDocumentError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport", "This file is not a Word document (.docx)."
    )


class DamagedDocumentError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport", "This Word document is damaged and cannot be read."
    )


class UnreadableFileError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport", "This file cannot be opened (it may have been moved, or you may "
        "not have permission to read it)."
    )


class FileTooLargeError(DocumentImportError):
    message = QT_TRANSLATE_NOOP(
        "DocumentImport", "This file is too large to be one lesson plan."
    )


# --- the result --------------------------------------------------------------


@dataclass(frozen=True)
class MappedText:
    """One piece of the document and the field it went to (for the preview)."""

    source: str
    field: str
    label: str = ""  # the document's own label that led there, if any


@dataclass(frozen=True)
class ImportWarning:
    """Something the user should check; English source text with ``{name}``
    placeholders, translated under context ``DocumentImport``."""

    message: str
    args: Mapping[str, object] = field(default_factory=dict)

    def english(self) -> str:
        return self.message.format(**self.args)


@dataclass
class ImportResult:
    source: Path
    values: dict[str, Any]  # the proposed draft, ready for Store.create
    mapping: list[MappedText]
    warnings: list[ImportWarning]
    unplaced: list[str]  # document text found in no field: must be empty to store
    problems: dict[str, Problem]  # blocking validation problems: refused when any

    @property
    def storable(self) -> bool:
        return not self.unplaced and not self.problems


# --- reading -----------------------------------------------------------------


def _read_bytes_head(path: Path) -> tuple[int, bytes]:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise UnreadableFileError(path, str(exc)) from exc
    return size, head


def _check_ole(path: Path) -> None:
    """An OLE compound file is either an old .doc or an encrypted .docx."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, str(exc)) from exc
    if _ENCRYPTED_STREAM in data:
        raise PasswordProtectedError(path)
    raise OldWordFormatError(path)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise DamagedDocumentError(path, str(exc)) from exc
    except OSError as exc:
        raise UnreadableFileError(path, str(exc)) from exc
    if "word/document.xml" not in names:
        raise NotWordDocumentError(path, "no word/document.xml")
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLargeError(path, f"{unpacked} bytes unpacked")


def open_document(path: Path) -> Any:
    """The python-docx ``Document`` of ``path``, or a typed ``DocumentImportError``."""
    size, head = _read_bytes_head(path)
    if size == 0:
        raise EmptyFileError(path)
    if size > MAX_FILE_BYTES:
        raise FileTooLargeError(path, f"{size} bytes")
    if head.startswith(_OLE_MAGIC):
        _check_ole(path)
    if not head.startswith(b"PK"):
        raise NotWordDocumentError(path)
    _check_zip(path)
    import docx  # here: only importing needs python-docx and lxml

    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx and lxml raise many kinds on a broken part
        log.info("python-docx could not read %s", path, exc_info=True)
        raise DamagedDocumentError(path, f"{type(exc).__name__}: {exc}") from exc


# --- mapping -----------------------------------------------------------------


@dataclass
class _Chunk:
    field: str
    label: str
    text: str


@dataclass
class _Mapper:
    """Reads blocks in order, keeping the section the text belongs to."""

    chunks: list[_Chunk] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    mapping: list[MappedText] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # labels and parsed values
    singles: dict[str, Any] = field(default_factory=dict)
    section: str = rules.NOTES_FIELD
    section_label: str = ""
    section_level: int | None = None
    columns: dict[int, tuple[str, str]] | None = None  # steps table: index -> (key, header)
    columns_table: int = -1
    seen_label: bool = False
    unused_headers: list[str] = field(default_factory=list)  # procedure columns no row filled
    title_candidate: _Chunk | None = None

    # -- paragraphs --

    def paragraph(self, p: Paragraph) -> None:
        self.columns = None
        split = rules.split_label(p.text)
        if split is not None:  # "课题：认识分数", or a bare label whose value follows
            self._labelled(split[0], split[1], split[2], level=p.level)
            return
        if self.section == "procedure" and not self._ends_section(p):
            self._procedure_line(p)
            return
        if self._ends_section(p):
            self.section, self.section_label, self.section_level = rules.NOTES_FIELD, "", p.level
        chunk = self._add(self.section, self.section_label, p.text)
        if not self.seen_label and self.title_candidate is None and self._is_heading(p):
            self.title_candidate = chunk

    def _is_heading(self, p: Paragraph) -> bool:
        return p.level is not None or (p.bold and len(p.text) <= _HEADING_MAX)

    def _ends_section(self, p: Paragraph) -> bool:
        """A heading of the same or a higher level than the section's own."""
        if self.section == rules.NOTES_FIELD or p.level is None:
            return False
        return self.section_level is None or p.level <= self.section_level

    def _procedure_line(self, p: Paragraph) -> None:
        if self._is_heading(p) or (rules.is_numbered(p.text) and len(p.text) <= _HEADING_MAX):
            self._new_step(p.text, rules.minutes_in(p.text))
        elif self.steps:
            self._append_step(self.steps[-1], "teacher", p.text)
        else:
            self._new_step("", None, teacher=p.text)

    # -- labels --

    def _labelled(self, name: str, label: str, value: str, *, level: int | None) -> None:
        self.seen_label = True
        self.consumed.add(rules.normalise(label))
        if name in rules.SINGLE_LINE_FIELDS:
            if value:
                self._single(name, label, value)
            self.section, self.section_label = (name, label) if not value else (
                rules.NOTES_FIELD, "")
            self.section_level = level
            return
        self.section, self.section_label, self.section_level = name, label, level
        if name == rules.NOTES_FIELD:  # 板书设计 etc.: the notes keep the label
            self._add(name, "", label)
        if value:
            if name == "procedure":
                self._new_step("", rules.minutes_in(value), teacher=value)
            else:
                self._add(name, label, value)

    def _single(self, name: str, label: str, value: str) -> None:
        """A one-line field; what cannot be parsed whole stays in the notes too."""
        parsed = _parse_single(name, value)
        if parsed is not None and name not in self.singles:
            self.singles[name] = parsed
            self.mapping.append(MappedText(value, name, label))
            if name in ("subject", "grade", "planned_date", "duration_minutes"):
                self.consumed.add(rules.normalise(value))
            return
        if name in ("grade", "subject") and name not in self.singles:
            self.warnings.append(ImportWarning(
                QT_TRANSLATE_NOOP("DocumentImport", "“{text}” is not a grade or subject Fieldbook "
                                  "knows: it is kept in the notes."), {"text": value}))
        self._add(rules.NOTES_FIELD, "", f"{label}：{value}" if not label.endswith(
            (":", "：")) else f"{label}{value}")

    def _add(self, name: str, label: str, text: str) -> _Chunk:
        chunk = _Chunk(name, label, text)
        if name == "procedure":
            self._new_step("", rules.minutes_in(text), teacher=text)
            return chunk
        if name in rules.SINGLE_LINE_FIELDS:  # a value below a bare single-line label
            if name not in self.singles and _parse_single(name, text) is not None:
                self._single(name, label, text)
                self.section, self.section_label = rules.NOTES_FIELD, ""
                return chunk
            chunk = _Chunk(rules.NOTES_FIELD, "", text)
        self.chunks.append(chunk)
        self.mapping.append(MappedText(text, chunk.field, chunk.label))
        return chunk

    # -- steps --

    def _new_step(self, phase: str, minutes: int | None, *, teacher: str = "") -> dict[str, Any]:
        step: dict[str, Any] = {"phase": "", "minutes": minutes or 0, "teacher": "", "students": ""}
        if len(phase) > 200:  # too long for a phase: the text goes first in the teacher's
            teacher, phase = f"{phase}\n{teacher}".strip(), ""
        step["phase"] = phase
        if phase:
            self.mapping.append(MappedText(phase, "procedure", self.section_label))
        self.steps.append(step)
        if teacher:
            self._append_step(step, "teacher", teacher)
        return step

    def _append_step(self, step: dict[str, Any], key: str, text: str) -> None:
        step[key] = f"{step[key]}\n{text}" if step[key] else text
        self.mapping.append(MappedText(text, "procedure", self.section_label))

    def _header_columns(self, row: Row) -> dict[int, tuple[str, str]] | None:
        columns = {i: (rules.step_column(c) or rules.EXTRA_COLUMN, c)
                   for i, c in enumerate(row.cells) if c}
        keys = {key for key, _ in columns.values() if key != rules.EXTRA_COLUMN}
        if len(keys) >= 2 and {"phase", "teacher", "students"} & keys:
            return columns
        return None

    def _step_row(self, row: Row, columns: Mapping[int, tuple[str, str]]) -> None:
        step = self._new_step("", None)
        for index, text in enumerate(row.cells):
            if not text:
                continue
            key, header = columns.get(index, (rules.EXTRA_COLUMN, ""))
            if key == "minutes" and rules.exact_minutes(text) is not None and not step["minutes"]:
                step["minutes"] = rules.exact_minutes(text)
                self.consumed.add(rules.normalise(text))
            elif key == "phase" and not step["phase"] and len(text) <= 200:
                step["phase"] = text
                self.mapping.append(MappedText(text, "procedure", header))
                step["minutes"] = step["minutes"] or (rules.minutes_in(text) or 0)
            elif key in ("teacher", "students"):
                self._append_step(step, key, text)
            else:
                self._append_step(step, "teacher", f"{header}：{text}" if header else text)
                if header in self.unused_headers:
                    self.unused_headers.remove(header)

    # -- tables --

    def row(self, row: Row) -> None:
        if self.columns is not None and row.table == self.columns_table:
            first = next((c for c in row.cells if c), "")
            split = rules.split_label(first) if first else None
            if split is None:
                self._step_row(row, self.columns)
                return
        self.columns = None
        header = self._header_columns(row)
        if header is not None and (self.section == "procedure" or not self._has_labels(row)):
            self.columns, self.columns_table = header, row.table
            self.unused_headers.extend(h for key, h in header.values() if key == rules.EXTRA_COLUMN)
            self.consumed.update(rules.normalise(c) for c in row.cells if c and rules.step_column(c))
            if self.section != "procedure":
                self.section, self.section_label = "procedure", ""
            return
        self._label_row(row)

    @staticmethod
    def _has_labels(row: Row) -> bool:
        return any(rules.split_label(c) is not None for c in row.cells if c)

    def _label_row(self, row: Row) -> None:
        cells = [c for c in row.cells if c]
        if self.section == "procedure" and len(cells) >= 2 and not self._has_labels(row):
            self._positional_step(cells)
            return
        i = 0
        while i < len(cells):
            text = cells[i]
            split = rules.split_label(text)
            following = cells[i + 1] if i + 1 < len(cells) else None
            if split is not None and split[0] == "procedure" and not split[2] and (
                len(cells) - i >= 3
            ):  # 教学过程 | 导入 | 3分钟 | …: the label column of a procedure table
                self._labelled(split[0], split[1], "", level=None)
                self._positional_step(cells[i + 1:])
                return
            if split is None and following is not None and len(text) <= _PAIR_LABEL_MAX and (
                self.section == rules.NOTES_FIELD and rules.split_label(following) is None
            ):  # 授课教师 | 张老师: a label we have no field for, kept as one line
                self._add(rules.NOTES_FIELD, "", f"{text}：{following}")
                i += 2
                continue
            if split is not None and not split[2] and following is not None and (
                rules.split_label(following) is None
            ):
                self._labelled(split[0], split[1], following, level=None)
                i += 2
                continue
            if split is not None:
                self._labelled(split[0], split[1], split[2], level=None)
            else:
                self._add(self.section, self.section_label, text)
            i += 1

    def _positional_step(self, cells: Sequence[str]) -> None:
        """A procedure row without a header: phase first, a time cell, then texts."""
        step = self._new_step(cells[0] if len(cells[0]) <= 200 else "", rules.minutes_in(cells[0]))
        if len(cells[0]) > 200:
            self._append_step(step, "teacher", cells[0])
        others = list(cells[1:])
        for text in list(others):
            minutes = rules.exact_minutes(text)
            if minutes is not None:
                step["minutes"] = minutes
                self.consumed.add(rules.normalise(text))
                others.remove(text)
                break
        for index, text in enumerate(others):
            self._append_step(step, "students" if index == 1 else "teacher", text)

    # -- the draft --

    def values(self, fallback_title: str) -> dict[str, Any]:
        for header in self.unused_headers:  # an empty column's header: kept all the same
            self._add(rules.NOTES_FIELD, "", header)
        self.unused_headers.clear()
        values: dict[str, Any] = dict(self.singles)
        if "title" not in values:
            self._take_title(values, fallback_title)
        for name, text in _join_chunks(self.chunks).items():
            values[name] = text
        if self.steps:
            values["procedure"] = self.steps
        return values

    def _take_title(self, values: dict[str, Any], fallback: str) -> None:
        candidate = self.title_candidate
        if candidate is not None and len(candidate.text) <= 200 and candidate in self.chunks:
            self.chunks.remove(candidate)
            values["title"] = " ".join(candidate.text.split())
            self.mapping[:] = [m for m in self.mapping if not (
                m.source == candidate.text and m.field == candidate.field)]
            self.mapping.insert(0, MappedText(candidate.text, "title"))
            return
        values["title"] = fallback
        self.warnings.append(ImportWarning(
            QT_TRANSLATE_NOOP("DocumentImport", "No title found: the file name is used.")))


def _parse_single(name: str, value: str) -> Any:
    match name:
        case "subject":
            return rules.subject_code(value)
        case "grade":
            return rules.grade_number(value)
        case "planned_date":
            return rules.exact_date(value)
        case "duration_minutes":
            minutes = rules.exact_minutes(value)
            return minutes if minutes else None
        case "title" | "class_name" | "unit":
            return " ".join(value.split()) if len(value) <= 200 else None
    return None


def _join_chunks(chunks: Iterable[_Chunk]) -> dict[str, str]:
    """Each field's text; a field fed under two labels (重点, 难点) keeps them."""
    by_field: dict[str, list[_Chunk]] = {}
    for chunk in chunks:
        by_field.setdefault(chunk.field, []).append(chunk)
    joined: dict[str, str] = {}
    for name, items in by_field.items():
        labels = {c.label for c in items if c.label}
        lines: list[str] = []
        last_label: str | None = None
        for chunk in items:
            if len(labels) > 1 and chunk.label and chunk.label != last_label:
                lines.append(chunk.label if chunk.label.endswith((":", "：")) else
                             f"{chunk.label}：")
            last_label = chunk.label
            lines.append(chunk.text)
        joined[name] = "\n".join(lines)
    return joined


# --- fitting into the record's limits ---------------------------------------


def _fit(values: dict[str, Any], warnings: list[ImportWarning]) -> None:
    """Steps beyond the limit and texts longer than their field go to the notes."""
    spec = kind_spec(Kind.LESSON_PLAN)
    spill: list[str] = []
    steps = values.get("procedure") or []
    if len(steps) > STEPS_MAX:
        values["procedure"] = steps[:STEPS_MAX]
        spill.extend(_step_text(s) for s in steps[STEPS_MAX:])
        warnings.append(ImportWarning(QT_TRANSLATE_NOOP(
            "DocumentImport", "More than {max} steps: the rest are in the notes."),
            {"max": STEPS_MAX}))
    for fspec in spec.fields:
        value = values.get(fspec.name)
        if (fspec.type is FieldType.LONGTEXT and fspec.name != rules.NOTES_FIELD
                and isinstance(value, str) and fspec.max_length and len(value) > fspec.max_length):
            spill.append(value)
            del values[fspec.name]
            warnings.append(ImportWarning(QT_TRANSLATE_NOOP(
                "DocumentImport", "“{field}” is too long for its field: it is in the notes."),
                {"field": fspec.label}))
    if spill:
        notes = values.get(rules.NOTES_FIELD, "")
        values[rules.NOTES_FIELD] = "\n".join([notes, *spill] if notes else spill)


def _step_text(step: Mapping[str, Any]) -> str:
    head = step["phase"] + (f"（{step['minutes']}分钟）" if step["minutes"] else "")
    return "\n".join(t for t in (head, step["teacher"], step["students"]) if t)


def _haystack(values: Mapping[str, Any]) -> str:
    texts: list[str] = []
    for value in values.values():
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts.extend(_step_text(s) for s in value if isinstance(s, Mapping))
    return rules.normalise("\n".join(texts))


def _block_texts(blocks: Iterable[Block]) -> Iterable[str]:
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block.text
        else:
            yield from (c for c in block.cells if c)


def unplaced_texts(blocks: Sequence[Block], values: Mapping[str, Any],
                   consumed: set[str]) -> list[str]:
    """The nothing-dropped check: each paragraph's and cell's text, less a
    leading label, must be in some field (labels and values parsed into a
    choice, number or date count as placed)."""
    haystack = _haystack(values)
    missing: list[str] = []
    for text in _block_texts(blocks):
        whole = rules.normalise(text)
        split = rules.split_label(text)
        rest = rules.normalise(split[2]) if split is not None else whole
        if whole in consumed or not rest or rest in consumed:
            continue
        if rest not in haystack and whole not in haystack:
            missing.append(text)
    return missing


# --- the public entry points -------------------------------------------------


def parse_blocks(blocks: Sequence[Block], source: Path) -> ImportResult:
    mapper = _Mapper()
    for block in blocks:
        if isinstance(block, Paragraph):
            mapper.paragraph(block)
        else:
            mapper.row(block)
    values = mapper.values(source.stem)
    warnings = list(mapper.warnings)
    _fit(values, warnings)
    if not any(_block_texts(blocks)):
        warnings.append(ImportWarning(QT_TRANSLATE_NOOP(
            "DocumentImport", "The document has no text: the draft will be empty.")))
    clean, problems = validate_record(Kind.LESSON_PLAN, values)
    blocking = {name: p for name, p in problems.items() if p.blocking}
    result_values = clean if not blocking else values
    unplaced = unplaced_texts(blocks, result_values, mapper.consumed)
    return ImportResult(source, result_values, mapper.mapping, warnings, unplaced, blocking)


def parse_docx(path: Path) -> ImportResult:
    """Read ``path`` and propose a draft; raises a ``DocumentImportError``."""
    document = open_document(path)
    return parse_blocks(body_blocks(document), path)


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    result: ImportResult | None
    error: DocumentImportError | None


def parse_files(paths: Iterable[Path]) -> list[ParsedFile]:
    """Each file's result or its error: one bad file never stops the others."""
    parsed: list[ParsedFile] = []
    for path in paths:
        try:
            parsed.append(ParsedFile(path, parse_docx(path), None))
        except DocumentImportError as exc:
            log.info("Not importing %s", exc)
            parsed.append(ParsedFile(path, None, exc))
        except Exception as exc:  # our bug on an odd layout: this file only, with a trace
            log.error("Could not map %s", path, exc_info=True)
            parsed.append(ParsedFile(path, None, DocumentImportError(path, repr(exc))))
    return parsed


def save_draft(store: Store, result: ImportResult, *, author: str) -> RecordData:
    """Store the proposed draft in one transaction (whole or not at all)."""
    if not result.storable:
        raise DamagedDocumentError(result.source, "refused: " + "; ".join(
            [*result.unplaced[:3], *(str(p) for p in result.problems.values())]))
    return store.create(Kind.LESSON_PLAN, result.values, author=author)
