"""Build a ``RecordDocument`` from a record by walking the field registry.

A lesson plan follows the usual 表格式教案: a header table (课题, 学科, 年级,
班级, 时长, 授课日期, 执教者, 学校), then its long fields in registry order
(教学目标, 教学重难点, 教学准备, 教学过程 as a table of steps with their
minutes and a total, …, 教学反思). Training records and exchange logs get the
same plain layout: their short fields in the header table, long ones below.
Every field of the kind is shown, empty or not, so a printed form can be
completed by hand and a reader never wonders whether a part was left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.documents.model import (
    Block,
    ExportOptions,
    HeaderItem,
    Picture,
    RecordDocument,
    StepsTable,
    Translate,
)
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import (
    STATUS_LABELS,
    STEP_KEYS,
    STEP_LABELS,
    FieldSpec,
    FieldType,
    Kind,
    Status,
    kind_spec,
)
from app.models.reviews import ReviewEntry
from app.models.store import RecordData

CONTEXT = "Document"
_AUTHOR = "author"
_SCHOOL = "school"
# The 表格式教案 order of the header; fields not named here follow in registry order.
_LESSON_HEADER = (
    "title", "subject", "grade", "class_name", "duration_minutes", "planned_date",
    _AUTHOR, _SCHOOL, "unit",
)
_HEADER_TYPES = frozenset({
    FieldType.TEXT, FieldType.CHOICE, FieldType.INT, FieldType.FLOAT, FieldType.DATE,
    FieldType.BOOL, FieldType.TAGS,
})
# Labels the document words differently from the editor.
_LESSON_LABELS = {
    "title": QT_TRANSLATE_NOOP("Document", "Lesson topic"),
    _AUTHOR: QT_TRANSLATE_NOOP("Document", "Teacher"),
}
_AUTHOR_LABEL = QT_TRANSLATE_NOOP("Document", "Recorded by")
_SCHOOL_LABEL = QT_TRANSLATE_NOOP("Document", "School")
_YES = QT_TRANSLATE_NOOP("Document", "Yes")
_NO = QT_TRANSLATE_NOOP("Document", "No")
_LIST_SEPARATOR = QT_TRANSLATE_NOOP("Document", ", ")
_TOTAL = QT_TRANSLATE_NOOP("Document", "Total")
_PAGE = QT_TRANSLATE_NOOP("Document", "Page {page} of {pages}")
_THREAD = QT_TRANSLATE_NOOP("Document", "Review")
_STATUS_LINE = QT_TRANSLATE_NOOP("Document", "Status: {status}")
_DECISION_LINE = QT_TRANSLATE_NOOP("Document", "Decision: {decision}")
_NOT_APPLIED = QT_TRANSLATE_NOOP("Document", "(not applied: {reason})")
_NO_ENTRIES = QT_TRANSLATE_NOOP("Document", "No review entries yet.")
_UNTITLED = QT_TRANSLATE_NOOP("Document", "Untitled")
ACTION_LABELS = {
    "submit": QT_TRANSLATE_NOOP("Document", "Submitted for review"),
    "withdraw": QT_TRANSLATE_NOOP("Document", "Withdrew the submission"),
    "approve": QT_TRANSLATE_NOOP("Document", "Approved"),
    "return": QT_TRANSLATE_NOOP("Document", "Returned for revision"),
    "comment": QT_TRANSLATE_NOOP("Document", "Comment"),
}
_DECISIONS = {"approve": Status.APPROVED, "return": Status.RETURNED}
_FILE_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
_FILE_STEM_MAX = 80


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _choice_label(spec: FieldSpec, code: str, tx: Translate) -> str:
    for choice in spec.choices:
        if choice.code == code:
            return tx("Choice", choice.label)
    return code


def field_text(spec: FieldSpec, value: Any, tx: Translate) -> str:
    """One field's value as the document prints it ("" when empty)."""
    if value is None or value == "" or value == []:
        return "" if spec.type is not FieldType.BOOL else tx(CONTEXT, _NO)
    if spec.type is FieldType.CHOICE or (spec.type is FieldType.INT and spec.choices):
        return _choice_label(spec, str(value), tx)
    if spec.type in (FieldType.INT, FieldType.FLOAT):
        unit = f" {tx('Field', spec.unit)}" if spec.unit else ""
        return _number(value) + unit
    if spec.type is FieldType.DATE:
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if spec.type is FieldType.BOOL:
        return tx(CONTEXT, _YES if value else _NO)
    if spec.type is FieldType.TAGS:
        return tx(CONTEXT, _LIST_SEPARATOR).join(str(tag) for tag in value)
    if spec.type is FieldType.ATTACHMENTS:
        return tx(CONTEXT, _LIST_SEPARATOR).join(str(ref.get("name") or "") for ref in value)
    return str(value)


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(text.split("\n")) if text else ()


def _header_order(kind: Kind, specs: Sequence[FieldSpec]) -> list[str]:
    short = [s.name for s in specs if s.type in _HEADER_TYPES]
    if kind is not Kind.LESSON_PLAN:
        return [*short, _AUTHOR, _SCHOOL]
    return [*_LESSON_HEADER, *(name for name in short if name not in _LESSON_HEADER)]


def _header(record: RecordData, school: str, tx: Translate) -> tuple[HeaderItem, ...]:
    kind = Kind(record.kind)
    spec = kind_spec(kind)
    lesson = kind is Kind.LESSON_PLAN
    items: list[HeaderItem] = []
    for name in _header_order(kind, spec.fields):
        if name == _AUTHOR:
            label = _LESSON_LABELS[_AUTHOR] if lesson else _AUTHOR_LABEL
            items.append(HeaderItem(name, tx(CONTEXT, label), record.author))
        elif name == _SCHOOL:
            items.append(HeaderItem(name, tx(CONTEXT, _SCHOOL_LABEL), school))
        else:
            fspec = spec.field(name)
            label = tx(CONTEXT, _LESSON_LABELS[name]) if lesson and name in _LESSON_LABELS \
                else tx("Field", fspec.label)
            items.append(HeaderItem(name, label, field_text(fspec, record.values.get(name), tx)))
    return tuple(items)


def steps_table(steps: Sequence[Mapping[str, Any]], tx: Translate) -> StepsTable:
    rows = []
    total = 0
    for step in steps:
        minutes = step.get("minutes")
        total += int(minutes or 0)
        rows.append(tuple("" if step.get(k) is None else str(step.get(k)) for k in STEP_KEYS))
    return StepsTable(
        columns=tuple(tx("Field", STEP_LABELS[k]) for k in STEP_KEYS),
        rows=tuple(rows),
        total_label=tx(CONTEXT, _TOTAL),
        total_value=str(total),
    )


def _pictures(refs: Sequence[Mapping[str, Any]], images: Mapping[str, Path]) -> tuple[Picture, ...]:
    return tuple(
        Picture(images[str(ref.get("sha256"))], str(ref.get("name") or ""))
        for ref in refs
        if str(ref.get("sha256")) in images
    )


def _field_blocks(
    record: RecordData, tx: Translate, images: Mapping[str, Path]
) -> list[Block]:
    blocks: list[Block] = []
    for fspec in kind_spec(record.kind).fields:
        if fspec.type in _HEADER_TYPES:
            continue
        value = record.values.get(fspec.name)
        heading = tx("Field", fspec.label)
        if fspec.type is FieldType.STEPS:
            blocks.append(Block(fspec.name, heading, table=steps_table(value or [], tx)))
        elif fspec.type is FieldType.ATTACHMENTS:
            if value:  # no empty "Attachments" part on every printed plan
                blocks.append(Block(fspec.name, heading, (field_text(fspec, value, tx),),
                                    pictures=_pictures(value, images)))
        else:
            blocks.append(Block(fspec.name, heading, _paragraphs(field_text(fspec, value, tx))))
    return blocks


def _entry_line(entry: ReviewEntry, tx: Translate) -> str:
    when = entry.at or entry.written_at
    stamp = when.astimezone().strftime("%Y-%m-%d %H:%M")
    action = tx(CONTEXT, ACTION_LABELS.get(entry.action, entry.action))
    line = f"{stamp} {entry.author} · {action}"
    if entry.body:
        line += f": {entry.body}"
    if entry.superseded:
        line += " " + tx(CONTEXT, _NOT_APPLIED).format(reason=entry.reason)
    return line


def thread_block(record: RecordData, entries: Sequence[ReviewEntry], tx: Translate) -> Block:
    """The review thread: the record's status, the standing decision, every entry."""
    status = Status(record.status)
    lines = [tx(CONTEXT, _STATUS_LINE).format(status=tx("Choice", STATUS_LABELS[status]))]
    decisions = [e for e in entries if e.action in _DECISIONS and not e.superseded]
    if decisions:
        decided = _DECISIONS[decisions[-1].action]
        lines.append(tx(CONTEXT, _DECISION_LINE).format(decision=tx("Choice", STATUS_LABELS[decided])))
    lines.extend(_entry_line(e, tx) for e in entries)
    if not entries:
        lines.append(tx(CONTEXT, _NO_ENTRIES))
    return Block("review", tx(CONTEXT, _THREAD), tuple(lines))


def file_stem(title: str, date: dt.date | None, fallback: str) -> str:
    """A file name for the record: 课题 and date, without characters no file
    system takes ("认识分数_2026-09-01")."""
    stem = _FILE_UNSAFE.sub(" ", title).strip(" .")[:_FILE_STEM_MAX].strip(" .") or fallback
    return f"{stem}_{date.isoformat()}" if date else stem


def build_document(
    record: RecordData,
    tx: Translate,
    options: ExportOptions | None = None,
    *,
    thread: Sequence[ReviewEntry] = (),
    images: Mapping[str, Path] | None = None,
) -> RecordDocument:
    """The document of one record. ``thread`` is shown when the options ask
    for it; ``images`` maps attached images' SHA-256 to their file here."""
    options = options or ExportOptions()
    spec = kind_spec(record.kind)
    blocks = _field_blocks(record, tx, (images or {}) if options.include_images else {})
    if options.include_thread:
        blocks.append(thread_block(record, thread, tx))
    draft = record.status == Status.DRAFT.value
    title = record.title or tx(CONTEXT, _UNTITLED)
    date = record.values.get(spec.date_field)
    return RecordDocument(
        record_id=record.id,
        kind=record.kind,
        kind_label=tx("Kind", spec.singular),
        title=title,
        school=options.school,
        header=_header(record, options.school, tx),
        blocks=tuple(blocks),
        watermark=tx("Choice", STATUS_LABELS[Status.DRAFT]) if draft and options.watermark_drafts else "",
        file_stem=file_stem(title, date if isinstance(date, dt.date) else None, record.id[:8]),
        page_label=tx(CONTEXT, _PAGE),
    )
