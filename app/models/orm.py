"""SQLAlchemy mapping of the local store (schema version in ``schema.py``).

The three record kinds share one table (single-table inheritance): the list,
filters, search and sync all work across kinds, and a row lookup never needs
a join. The tables themselves are created only by the migrations in
``schema.py``; a test checks that this mapping and the migrated schema agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime stored as ISO-8601 text (sorts as it reads)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Key/value facts about this store: device id, logical clock, cursors."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Record(Base):
    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    author: Mapped[str] = mapped_column(String, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String, default="draft")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Per field, the (logical clock, device id) of the write that set it: what
    # sync compares to pick the same winner on every replica.
    versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String, default="")
    search_rowid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the server's user id
    # The revision chain (docs/review.md): set when the record is created,
    # never changed. ``revision_of`` is the chain's first record (None for it).
    revision_of: Mapped[str | None] = mapped_column(String, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Every kind's list of AttachmentRef (docs/attachments.md), schema v5.
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=True)

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "record"}


class LessonPlan(Record):
    subject: Mapped[str | None] = mapped_column(String, nullable=True)
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    class_name: Mapped[str] = mapped_column(String, default="", nullable=True)
    planned_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit: Mapped[str] = mapped_column(String, default="", nullable=True)
    objectives: Mapped[str] = mapped_column(Text, default="", nullable=True)
    key_points: Mapped[str] = mapped_column(Text, default="", nullable=True)
    materials: Mapped[str] = mapped_column(Text, default="", nullable=True)
    procedure: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=True)
    assessment: Mapped[str] = mapped_column(Text, default="", nullable=True)
    homework: Mapped[str] = mapped_column(Text, default="", nullable=True)
    reflection: Mapped[str] = mapped_column(Text, default="", nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=True)
    # Schema v7: what has no field of its own (an imported plan's 板书设计…).
    notes: Mapped[str] = mapped_column(Text, default="", nullable=True)

    __mapper_args__ = {"polymorphic_identity": "lesson_plan"}


class TrainingRecord(Record):
    training_type: Mapped[str | None] = mapped_column(String, nullable=True)
    provider: Mapped[str] = mapped_column(String, default="", nullable=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    location: Mapped[str] = mapped_column(String, default="", nullable=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False, nullable=True)
    topics: Mapped[str] = mapped_column(Text, default="", nullable=True)
    takeaways: Mapped[str] = mapped_column(Text, default="", nullable=True)
    action_plan: Mapped[str] = mapped_column(Text, default="", nullable=True)

    __mapper_args__ = {"polymorphic_identity": "training"}


class ExchangeLog(Record):
    partner_school: Mapped[str] = mapped_column(String, default="", nullable=True)
    exchange_type: Mapped[str | None] = mapped_column(String, nullable=True)
    direction: Mapped[str | None] = mapped_column(String, nullable=True)
    exchange_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    duration_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    teacher_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    student_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    activities: Mapped[str] = mapped_column(Text, default="", nullable=True)
    observations: Mapped[str] = mapped_column(Text, default="", nullable=True)
    outcomes: Mapped[str] = mapped_column(Text, default="", nullable=True)

    __mapper_args__ = {"polymorphic_identity": "exchange"}


def _shared_column(kind: type[Any], *, text: bool = False, json: bool = False) -> Any:
    """A column a lesson template shares with lesson plans (one table): the
    same ``records`` column, declared again on the sibling class."""
    if json:
        return mapped_column(JSON, default=list, nullable=True, use_existing_column=True)
    return mapped_column(kind, default="" if text else None, nullable=True, use_existing_column=True)


class LessonTemplate(Record):
    """A 教案 template (docs/templates.md): lesson-plan content under a name,
    the user's own or shared by a trainer; never listed."""

    subject: Mapped[str | None] = _shared_column(String)
    grade: Mapped[int | None] = _shared_column(Integer)
    duration_minutes: Mapped[int | None] = _shared_column(Integer)
    unit: Mapped[str] = _shared_column(String, text=True)
    objectives: Mapped[str] = _shared_column(Text, text=True)
    key_points: Mapped[str] = _shared_column(Text, text=True)
    materials: Mapped[str] = _shared_column(Text, text=True)
    procedure: Mapped[list[Any]] = _shared_column(JSON, json=True)
    assessment: Mapped[str] = _shared_column(Text, text=True)
    homework: Mapped[str] = _shared_column(Text, text=True)
    notes: Mapped[str] = _shared_column(Text, text=True)
    tags: Mapped[list[Any]] = _shared_column(JSON, json=True)
    # Schema v8: a trainer's template shared with the cohorts they train.
    shared: Mapped[bool] = mapped_column(Boolean, default=False, nullable=True)

    __mapper_args__ = {"polymorphic_identity": "lesson_template"}


class Change(Base):
    """One field of one record set to one value, in one local transaction.

    Written in the same transaction as the record itself, so a saved edit is
    always in the log. ``seq`` orders local changes and, with the device id,
    names a change for the server (a replay is recognised by its seq);
    ``clock`` (a Lamport clock, never the wall clock) orders it against other
    devices' changes.
    """

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    field: Mapped[str] = mapped_column(String)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    clock: Mapped[int] = mapped_column(Integer)
    # The server cursor this edit was made over: server writes after it were
    # not seen by the editor, so they are concurrent with this change.
    known: Mapped[int] = mapped_column(Integer, default=0)


class Conflict(Base):
    """A value that lost to a concurrent edit of the same field, kept so the
    record's author can see it and restore it."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the server's id
    record_id: Mapped[str] = mapped_column(String)
    field: Mapped[str] = mapped_column(String)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    clock: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String)
    winner_clock: Mapped[int] = mapped_column(Integer)
    winner_device: Mapped[str] = mapped_column(String)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class Notice(Base):
    """Something the server wants the user told (e.g. a deleted record came
    back because someone edited it meanwhile)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncRejection(Base):
    """A pushed change the server refused, with its reason, for the user."""

    __tablename__ = "sync_rejections"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Review(Base):
    """One review entry of a record's thread (append-only, docs/review.md):
    made here and queued (``pending``), or as the server stored it."""

    __tablename__ = "reviews"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # a UUID
    record_id: Mapped[str] = mapped_column(String)
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author: Mapped[str] = mapped_column(String, default="")
    action: Mapped[str] = mapped_column(String)
    body: Mapped[str] = mapped_column(Text, default="")
    # approve/return: the record's status version [clock, device] decided on.
    basis: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String, nullable=True)  # None while pending
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # server time
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # this device's clock
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the server's seq
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)


class Person(Base):
    """Someone whose records the user sees (the pull's ``people``)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the server's user id
    name: Mapped[str] = mapped_column(String, default="")
    role: Mapped[str] = mapped_column(String, default="fellow")
    school: Mapped[str] = mapped_column(String, default="")
    cohorts: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Blob(Base):
    """A file's content known to this store, named by its SHA-256
    (docs/attachments.md): here and waiting to upload, or known from a
    pulled record and not here yet."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String)
    # local, uploading, uploaded, remote, downloading, downloaded
    state: Mapped[str] = mapped_column(String, default="local")
    original_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


KIND_CLASSES: dict[str, type[Record]] = {
    "lesson_plan": LessonPlan,
    "training": TrainingRecord,
    "exchange": ExchangeLog,
    "lesson_template": LessonTemplate,
}
