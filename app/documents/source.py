"""Which records a batch exports, and reading them out of the store.

``parse_where`` reads the command line's small filter language, the same
filters the list offers: ``kind=lesson_plan status=approved subject=math
grade=3 date>=2026-09-01 date<=2027-01-31`` (``date`` is each kind's own
date: 授课日期, a training's start, an exchange's date). Terms are ANDed; a
term that does not parse raises ``ValueError`` naming it, before anything is
written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from app.documents.builder import build_document
from app.documents.model import ExportOptions, RecordDocument, Translate
from app.models import attachments, reviews
from app.models.fields import GRADE_PRESCHOOL, GRADE_SENIOR_3, LISTED_KINDS, SUBJECTS, Kind, Status
from app.models.store import ListQuery, Store

log = logging.getLogger("fieldbook.documents")

_TERM = re.compile(r"^\s*(kind|status|subject|grade|date)\s*(>=|<=|=)\s*(\S+)\s*$")
_PAGE = 500
Progress = Callable[[int, int], None]


def _date(text: str, term: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{term!r}: the date must be written YYYY-MM-DD") from None


def _one_of(value: str, allowed: Iterable[str], term: str) -> str:
    options = sorted(allowed)
    if value not in options:
        raise ValueError(f"{term!r}: must be one of {', '.join(options)}")
    return value


def _apply(query: ListQuery, kinds: list[Kind], term: str) -> tuple[ListQuery, list[Kind]]:
    match = _TERM.match(term)
    if match is None:
        raise ValueError(
            f"{term!r} is not a filter (write e.g. kind=lesson_plan status=approved date>=2026-09-01)"
        )
    key, op, value = match.groups()
    if key != "date" and op != "=":
        raise ValueError(f"{term!r}: only date takes >= or <=")
    if key == "kind":
        return query, [Kind(_one_of(value, (k.value for k in LISTED_KINDS), term))]
    if key == "status":
        return dataclasses.replace(query, status=_one_of(value, (s.value for s in Status), term)), kinds
    if key == "subject":
        return dataclasses.replace(query, subject=_one_of(value, (c.code for c in SUBJECTS), term)), kinds
    if key == "grade":
        if not value.isdigit() or not GRADE_PRESCHOOL <= int(value) <= GRADE_SENIOR_3:
            raise ValueError(f"{term!r}: the grade is a number from {GRADE_PRESCHOOL} to {GRADE_SENIOR_3}")
        return dataclasses.replace(query, grade=int(value)), kinds
    day = _date(value, term)
    start = day if op in (">=", "=") else query.date_from
    end = day if op in ("<=", "=") else query.date_to
    return dataclasses.replace(query, date_from=start, date_to=end), kinds


def parse_where(terms: Sequence[str]) -> list[ListQuery]:
    """The list queries a ``--where`` asks for: one per kind it covers.
    ``subject`` and ``grade`` only exist on lesson plans, so they narrow the
    batch to lesson plans."""
    query = ListQuery(Kind.LESSON_PLAN.value, sort="updated_at", descending=False)
    kinds = list(LISTED_KINDS)
    for term in (t for chunk in terms for t in chunk.split()):
        query, kinds = _apply(query, kinds, term)
    if query.subject is not None or query.grade is not None:
        kinds = [k for k in kinds if k is Kind.LESSON_PLAN]
    return [dataclasses.replace(query, kind=k.value) for k in kinds]


def query_ids(store: Store, queries: Sequence[ListQuery]) -> list[str]:
    """Every record id the queries match, in their list order."""
    ids: list[str] = []
    for query in queries:
        offset = 0
        while True:
            rows = store.list_rows(query, offset, _PAGE)
            ids.extend(row.id for row in rows)
            if len(rows) < _PAGE:
                break
            offset += _PAGE
    return ids


def _images(store: Store, record_refs: Sequence[dict[str, object]]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for ref in record_refs:
        sha = str(ref.get("sha256") or "")
        if not str(ref.get("type") or "").startswith("image/"):
            continue
        path = attachments.blob_path(store, sha)
        if path is not None:
            found[sha] = path
    return found


def load_document(store: Store, record_id: str, tx: Translate, options: ExportOptions) -> RecordDocument:
    """One record's document, with its thread and images if the options ask."""
    record = store.get(record_id)
    thread = reviews.thread(store, record_id) if options.include_thread else ()
    images = _images(store, record.values.get("attachments") or []) if options.include_images else {}
    return build_document(record, tx, options, thread=thread, images=images)


def load_documents(
    store: Store,
    record_ids: Sequence[str],
    tx: Translate,
    options: ExportOptions,
    progress: Progress | None = None,
) -> Iterator[RecordDocument]:
    """The records' documents one at a time (a batch never holds all records'
    text twice), telling ``progress(done, total)`` after each."""
    for done, record_id in enumerate(record_ids, start=1):
        yield load_document(store, record_id, tx, options)
        if progress is not None:
            progress(done, len(record_ids))


def default_school(store: Store) -> str:
    """The signed-in user's school from the last pull ("" before any)."""
    me = reviews.current_user(store)
    return me.school if me is not None else ""
