"""The trainer review workflow on the local store (docs/review.md), no Qt.

API style: **module functions that take the** :class:`~app.models.store.Store`
**as their first argument** (as ``app.sync.replica`` does), e.g.
``reviews.decide(store, record_id, "approve", "Good plan")``. Each call is one
transaction on the store's writer (or one read), so it is safe from any
thread; the UI still sends writes through its writer thread.

Review entries are append-only. Ours are queued here (``pending``) and pushed
by the sync engine; the server's copies come back in pull pages and are
upserted by id (``app.sync.replica.apply_pull_page``).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, cast

from sqlalchemy import Table, func, or_, select, text, update
from sqlalchemy.orm import Session

from app.errors import RecordNotFound, ValidationFailed
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import Kind, Status, kind_spec
from app.models.orm import Meta, Person, Record, Review, utcnow
from app.models.store import RecordData, Store
from app.models.validation import Problem
from app.protocol.sync import MAX_REVIEW_BODY

log = logging.getLogger("fieldbook.reviews")

Decision = Literal["approve", "return"]
# Actions a client writes itself; ``submit``/``withdraw`` entries are written
# by the server when it applies the owner's status change.
CLIENT_ACTIONS: Final = ("approve", "return", "comment")
DEFAULT_STALE_DAYS: Final = 7
# The outcome of a trainer's entry handed over by a laptop in the same room
# (docs/parcels.md): shown "pending server confirmation" until the server's
# copy arrives in a pull and replaces it (same id), or the trainer's laptop
# says the server refused it.
PROVISIONAL: Final = "provisional"
# Meta keys of the signed-in account (written by app.sync.replica.set_account;
# read here by name so the store layer does not import the sync layer).
USER_ID_KEY: Final = "user_id"
USERNAME_KEY: Final = "username"
DISPLAY_NAME_KEY: Final = "display_name"
ROLE_KEY: Final = "role"
_ACCOUNT_KEYS: Final = (USER_ID_KEY, USERNAME_KEY, DISPLAY_NAME_KEY, ROLE_KEY)


@dataclass(frozen=True)
class ReviewEntry:
    """One entry of a record's review thread.

    ``outcome`` is ``None`` while the entry is queued on this device
    (``pending``); ``accepted`` or ``superseded`` once the server confirmed
    it. A superseded decision is shown in the thread, marked as not applied,
    with ``reason`` in plain words.
    """

    id: str
    record_id: str
    author_id: int | None  # the server's user id (None: not signed in when written)
    author: str  # display name
    action: str  # submit | withdraw | approve | return | comment
    body: str
    outcome: str | None  # accepted | superseded; None while pending
    reason: str
    at: dt.datetime | None  # server time (UTC); None while pending
    written_at: dt.datetime  # the writing device's clock: shown only
    seq: int | None  # the server's seq; None while pending
    pending: bool  # made here, not yet confirmed by the server
    seen: bool

    @property
    def applied(self) -> bool:
        """Whether a decision changed the record's status (not superseded)."""
        return self.outcome == "accepted"

    @property
    def superseded(self) -> bool:
        return self.outcome == "superseded"

    @property
    def provisional(self) -> bool:
        """A trainer's entry handed over in the room, not yet confirmed by the server."""
        return self.outcome == PROVISIONAL


@dataclass(frozen=True)
class PersonInfo:
    """Someone whose records the user sees, from the last pull (``people``)."""

    id: int
    name: str
    role: str  # fellow | trainer | admin
    school: str
    cohorts: tuple[str, ...]


@dataclass(frozen=True)
class QueueFilter:
    """What the review queue shows. ``None`` means "any".

    ``date_from``/``date_to`` bound the submission day (UTC date of the
    submission time), inclusive: trainers look for "submitted this week".
    """

    owner: int | None = None
    kind: str | None = None
    school: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class QueueRow:
    """One submitted record waiting for this user's decision."""

    record_id: str
    kind: str
    title: str
    owner_id: int | None
    owner_name: str  # from people, else the record's author
    school: str
    submitted_at: dt.datetime  # the latest accepted submit entry's time, else updated_at
    revision: int
    comments: int  # entries in its thread (confirmed and pending)


@dataclass(frozen=True)
class DashboardRow:
    """One fellow's figures (or, as ``Dashboard.totals``, the cohort's).

    ``lessons_submitted`` counts lesson plans handed in (status submitted,
    approved or returned), of which ``lessons_waiting`` still wait for a
    decision; ``stale_reviews`` counts records of any kind waiting longer
    than the dashboard's ``stale_days``. Ranges apply to each kind's own
    date (planned, start, exchange date).
    """

    owner_id: int | None  # None for the totals row
    name: str
    school: str
    lessons_submitted: int = 0
    lessons_waiting: int = 0
    lessons_approved: int = 0
    lessons_returned: int = 0
    training_hours: float = 0.0
    exchanges: dict[str, int] = field(default_factory=dict)  # exchange_type code -> count
    stale_reviews: int = 0

    @property
    def exchange_total(self) -> int:
        return sum(self.exchanges.values())


@dataclass(frozen=True)
class Dashboard:
    """Per-fellow figures and their totals, for one cohort (or all)."""

    rows: list[DashboardRow]
    totals: DashboardRow
    exchange_types: tuple[str, ...]  # exchange_type codes, in the kind's order: the columns
    cohort: str | None
    start: dt.date | None
    end: dt.date | None
    stale_days: int


# --- helpers ------------------------------------------------------------------

_SUBMITTED = Status.SUBMITTED.value
_DECISIONS = ("approve", "return")
_REVIEWS = cast(Table, Review.__table__)


@dataclass(frozen=True)
class _Me:
    """The signed-in account as the store's meta holds it."""

    id: int | None
    name: str
    role: str | None


def _me(session: Session) -> _Me:
    meta = dict(session.execute(select(Meta.key, Meta.value).where(Meta.key.in_(_ACCOUNT_KEYS))).all())
    user_id = meta.get(USER_ID_KEY)
    name = meta.get(DISPLAY_NAME_KEY) or meta.get(USERNAME_KEY) or ""
    return _Me(int(user_id) if user_id else None, name, meta.get(ROLE_KEY) or None)


# Refusals (English source text, translated by the UI under context "Validation").
_NOT_AUTHOR = QT_TRANSLATE_NOOP("Validation", "Only the author can submit or take back this record.")
_WRONG_STATUS = QT_TRANSLATE_NOOP("Validation", "A record that is {status} cannot be changed this way.")
_NO_COMMENT = QT_TRANSLATE_NOOP("Validation", "Write a comment.")
_TOO_LONG = QT_TRANSLATE_NOOP("Validation", "At most {max} characters.")
_UNKNOWN_DECISION = QT_TRANSLATE_NOOP("Validation", "Unknown decision {action}.")
_OWN_RECORD = QT_TRANSLATE_NOOP("Validation", "You cannot review your own record.")
_NOT_SUBMITTED = QT_TRANSLATE_NOOP("Validation", "Only a submitted record can be approved or returned.")
_DECISION_QUEUED = QT_TRANSLATE_NOOP("Validation", "Your decision on this record is waiting to be sent.")


def _refuse(name: str, message: str, **args: object) -> ValidationFailed:
    """The repository's validation-style problem (English, translated by the UI
    under context "Validation")."""
    return ValidationFailed({name: Problem(message, args)})


def _live(session: Session, record_id: str) -> Record:
    record = session.get(Record, record_id)
    if record is None or record.deleted:
        raise RecordNotFound(record_id)
    return record


def _is_mine(record: Record, me: _Me) -> bool:
    """A record without an owner was made here and never synced: ours."""
    return record.owner_id is None or record.owner_id == me.id


def _entry(row: Review) -> ReviewEntry:
    return ReviewEntry(
        id=row.id, record_id=row.record_id, author_id=row.author_id, author=row.author,
        action=row.action, body=row.body, outcome=row.outcome, reason=row.reason or "",
        at=row.at, written_at=row.written_at, seq=row.seq, pending=row.pending, seen=row.seen,
    )


def _person(row: Person) -> PersonInfo:
    return PersonInfo(row.id, row.name, row.role, row.school, tuple(str(c) for c in row.cohorts or ()))


# --- people ------------------------------------------------------------------


def people(store: Store) -> list[PersonInfo]:
    """The people list of the last pull, by name."""
    with store.reading() as session:
        return [_person(p) for p in session.scalars(select(Person).order_by(Person.name, Person.id))]


def current_user(store: Store) -> PersonInfo | None:
    """The signed-in user (from the people list, else the account in meta);
    ``None`` before the first sign-in."""
    with store.reading() as session:
        me = _me(session)
        if me.id is None:
            return None
        row = session.get(Person, me.id)
        if row is not None:
            return _person(row)
        return PersonInfo(me.id, me.name, me.role or "fellow", "", ())


def cohorts(store: Store) -> list[str]:
    """Every cohort named in the people list, sorted (for the dashboard filter)."""
    return sorted({c for p in people(store) for c in p.cohorts if c})


# --- status changes by the owner ----------------------------------------------


def _set_status(store: Store, record_id: str, status: Status, allowed: tuple[Status, ...]) -> RecordData:
    """The owner's status write, checked in the same transaction it is made in."""
    with store.writing() as work:
        record = _live(work.session, record_id)
        if not _is_mine(record, _me(work.session)):
            raise _refuse("status", _NOT_AUTHOR)
        if record.status not in allowed:
            raise _refuse("status", _WRONG_STATUS, status=record.status)
        return work.set_meta(record, "status", status.value)


def submit(store: Store, record_id: str) -> RecordData:
    """Hand a draft or returned record in for review (status ``submitted``).

    A normal, synced write of ``status``; refused (``ValidationFailed``) for
    a record owned by someone else, or one already submitted or approved
    (an approved record gets a new revision instead).
    """
    return _set_status(store, record_id, Status.SUBMITTED, (Status.DRAFT, Status.RETURNED))


def withdraw(store: Store, record_id: str) -> RecordData:
    """Take a submitted record back to edit it (status ``draft``); a decision
    already on its way is then superseded by the server."""
    return _set_status(store, record_id, Status.DRAFT, (Status.SUBMITTED,))


# --- review entries -------------------------------------------------------------


def _clean_body(body: str, *, required: bool) -> str:
    text_ = body.strip()
    if required and not text_:
        raise _refuse("body", _NO_COMMENT)
    if len(text_) > MAX_REVIEW_BODY:
        raise _refuse("body", _TOO_LONG, max=MAX_REVIEW_BODY)
    return text_


def _queue(session: Session, record: Record, me: _Me, action: str, body: str, author: str) -> ReviewEntry:
    """Store one entry made here, pending until the server confirms it."""
    basis: list[Any] = []
    if action in _DECISIONS:
        basis = list((record.versions or {}).get("status") or [])
    row = Review(
        id=str(uuid.uuid4()), record_id=record.id, author_id=me.id, author=author or me.name,
        action=action, body=body, basis=basis, outcome=None, reason="", at=None,
        written_at=utcnow(), seq=None, pending=True, seen=True,
    )
    session.add(row)
    session.flush()
    log.info("Queued a %s on record %s", action, record.id)
    return _entry(row)


def add_comment(store: Store, record_id: str, body: str, *, author: str = "") -> ReviewEntry:
    """Queue a comment on a record (anyone who sees it). ``author`` is the
    display name shown until the server's copy arrives (default: the
    account's). An empty comment raises ``ValidationFailed``."""
    text_ = _clean_body(body, required=True)
    with store.writing() as work:
        session = work.session
        record = _live(session, record_id)
        return _queue(session, record, _me(session), "comment", text_, author)


def decide(
    store: Store, record_id: str, action: Decision, body: str = "", *, author: str = ""
) -> ReviewEntry:
    """Queue an approve/return decision on a submitted record of someone else,
    made on the record's local ``status`` version (``basis``).

    ``return`` needs a comment: an empty body raises ``ValidationFailed``
    (``{"body": Problem}``) and nothing is stored. So do a record of one's
    own, one not submitted, and a second decision while one is queued.
    """
    if action not in _DECISIONS:
        raise _refuse("action", _UNKNOWN_DECISION, action=action)
    text_ = _clean_body(body, required=action == "return")
    with store.writing() as work:
        session = work.session
        record = _live(session, record_id)
        me = _me(session)
        if _is_mine(record, me):
            raise _refuse("action", _OWN_RECORD)
        if record.status != _SUBMITTED:
            raise _refuse("status", _NOT_SUBMITTED)
        queued = session.execute(
            select(func.count()).select_from(Review).where(
                Review.record_id == record_id, Review.pending.is_(True), Review.action.in_(_DECISIONS)
            )
        ).scalar_one()
        if queued:
            raise _refuse("action", _DECISION_QUEUED)
        return _queue(session, record, me, action, text_, author)


def thread(store: Store, record_id: str) -> list[ReviewEntry]:
    """A record's entries: confirmed ones by ``(at, seq)``, then pending ones
    (and confirmed ones not yet pulled back, which have no server time) by
    ``written_at``."""
    stmt = (
        select(Review)
        .where(Review.record_id == record_id)
        .order_by(Review.at.is_(None), Review.at, Review.seq, Review.written_at, Review.id)
    )
    with store.reading() as session:
        return [_entry(r) for r in session.scalars(stmt)]


def pending_reviews(store: Store) -> int:
    """Entries made here and not yet confirmed by the server."""
    stmt = select(func.count()).select_from(Review).where(Review.pending.is_(True))
    with store.reading() as session:
        return int(session.execute(stmt).scalar_one())


# --- handed over in the room --------------------------------------------------


def _written_at(text_: object) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(text_))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def add_provisional(store: Store, entries: Sequence[Mapping[str, Any]], *, author_id: int,
                    author: str) -> int:
    """Keep a trainer's entries handed over in the room (``PushReview``
    shapes, checked already) as ``provisional``, in one transaction. Only
    entries on this user's own live records, by someone else, are kept; an
    id already here (the server's copy, or handed before) is left as it is.
    Nothing here changes a record. Returns how many were added."""
    added = 0
    with store.writing() as work:
        session = work.session
        me = _me(session)
        if me.id is None or author_id == me.id:
            return 0
        for entry in entries:
            record = session.get(Record, str(entry["record_id"]))
            written = _written_at(entry.get("written_at"))
            if (record is None or record.deleted or not _is_mine(record, me) or written is None
                    or entry["action"] not in CLIENT_ACTIONS or len(entry["body"]) > MAX_REVIEW_BODY
                    or session.get(Review, str(entry["id"])) is not None):
                continue
            session.add(Review(
                id=str(entry["id"]), record_id=record.id, author_id=author_id, author=author,
                action=entry["action"], body=entry["body"], basis=list(entry.get("basis") or []),
                outcome=PROVISIONAL, reason="", at=None, written_at=written, seq=None, pending=False,
                seen=False,
            ))
            added += 1
    if added:
        log.info("Kept %d review entr(y/ies) by %s handed over nearby, pending the server", added, author)
    return added


def withdraw_provisional(store: Store, ids: Sequence[str]) -> int:
    """Drop handed-over entries the server refused (the trainer's laptop says
    so at the next meeting); a confirmed copy is never dropped."""
    if not ids:
        return 0
    with store.writing() as work:
        result = work.session.execute(
            _REVIEWS.delete().where(_REVIEWS.c.id.in_(list(ids)), _REVIEWS.c.outcome == PROVISIONAL))
        return int(getattr(result, "rowcount", 0) or 0)


def provisional_count(store: Store) -> int:
    """Handed-over entries still waiting for the server's copy."""
    stmt = select(func.count()).select_from(Review).where(Review.outcome == PROVISIONAL)
    with store.reading() as session:
        return int(session.execute(stmt).scalar_one())


def owners(store: Store, record_ids: Sequence[str]) -> dict[str, int | None]:
    """``record id -> owner`` for those of ``record_ids`` held here."""
    if not record_ids:
        return {}
    with store.reading() as session:
        rows = session.execute(select(Record.id, Record.owner_id).where(Record.id.in_(list(record_ids))))
        return dict(rows.all())


# --- unread -------------------------------------------------------------------


def _unread() -> Any:
    """Unseen entries with something to read on live records (entries of
    dropped records go with them): a comment, a decision, or a note written
    with a submission. A bare submission or withdrawal is no "review comment"
    — the trainer learns of it from the queue and its count."""
    return (
        select(Review.record_id)
        .join(Record, Record.id == Review.record_id)
        .where(
            Review.seen.is_(False),
            Record.deleted.is_(False),
            or_(Review.action.in_(("comment", *_DECISIONS)), func.trim(Review.body) != ""),
        )
    )


def unread_count(store: Store) -> int:
    """Entries by others, received from the server, not yet seen."""
    with store.reading() as session:
        return int(session.execute(select(func.count()).select_from(_unread().subquery())).scalar_one())


def unread_records(store: Store) -> set[str]:
    """Records with at least one unread entry (for a marker in lists)."""
    with store.reading() as session:
        return set(session.scalars(_unread().distinct()))


def mark_read(store: Store, record_id: str) -> int:
    """Mark every entry of a record seen (its thread was shown); returns how
    many were unread."""
    with store.writing() as work:
        result = work.session.execute(
            update(_REVIEWS).where(_REVIEWS.c.record_id == record_id, _REVIEWS.c.seen.is_(False))
            .values(seen=True)
        )
        return int(getattr(result, "rowcount", 0) or 0)


# --- the queue ------------------------------------------------------------------

# Submitted records of others, each with its submission time: the latest
# accepted ``submit`` entry's, else when the record last changed here. A
# decision of this device leaves the queue at once, and stays out once
# accepted until the pull brings the new status (same basis = same submission).
_QUEUE_SQL = """
SELECT * FROM (
    SELECT r.id AS record_id, r.kind AS kind,
           CASE r.kind WHEN 'exchange' THEN coalesce(r.partner_school, '') ELSE r.title END AS title,
           r.owner_id AS owner_id, coalesce(p.name, r.author) AS owner_name,
           coalesce(p.school, '') AS school,
           coalesce((SELECT max(s.at) FROM reviews s WHERE s.record_id = r.id
                     AND s.action = 'submit' AND s.outcome = 'accepted'), r.updated_at) AS submitted_at,
           r.revision AS revision,
           (SELECT count(*) FROM reviews c WHERE c.record_id = r.id) AS comments,
           r.rowid AS position
    FROM records r LEFT JOIN people p ON p.id = r.owner_id
    WHERE r.deleted = 0 AND r.status = 'submitted' AND r.owner_id IS NOT NULL
      AND (:me IS NULL OR r.owner_id != :me)
      AND NOT EXISTS (SELECT 1 FROM reviews d WHERE d.record_id = r.id
                      AND d.action IN ('approve', 'return') AND (d.pending = 1
                      OR (d.outcome = 'accepted' AND json(d.basis) = json_extract(r.versions, '$.status'))))
) q
WHERE (:owner IS NULL OR q.owner_id = :owner)
  AND (:kind IS NULL OR q.kind = :kind)
  AND (:school IS NULL OR q.school = :school)
  AND (:date_from IS NULL OR substr(q.submitted_at, 1, 10) >= :date_from)
  AND (:date_to IS NULL OR substr(q.submitted_at, 1, 10) <= :date_to)
"""


def _queue_params(me: _Me, filters: QueueFilter) -> dict[str, Any]:
    return {
        "me": me.id, "owner": filters.owner, "kind": filters.kind, "school": filters.school,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }


def _reviews_others(me: _Me) -> bool:
    """Fellows have no queue: deciding is for trainers and admins."""
    return me.role != "fellow"


def review_queue(store: Store, filters: QueueFilter | None = None) -> list[QueueRow]:
    """Submitted records of others without a pending decision of this device,
    oldest submission first."""
    sql = text(_QUEUE_SQL + " ORDER BY q.submitted_at, q.position")
    with store.reading() as session:
        me = _me(session)
        if not _reviews_others(me):
            return []
        rows = session.execute(sql, _queue_params(me, filters or QueueFilter())).mappings().all()
    return [
        QueueRow(
            record_id=r["record_id"], kind=r["kind"], title=r["title"] or "", owner_id=r["owner_id"],
            owner_name=r["owner_name"] or "", school=r["school"] or "",
            submitted_at=dt.datetime.fromisoformat(r["submitted_at"]),
            revision=int(r["revision"] or 1), comments=int(r["comments"]),
        )
        for r in rows
    ]


def queue_counts(store: Store) -> dict[int, int]:
    """Queue size per owner id (unfiltered), for the fellow filter."""
    sql = text(f"SELECT owner_id, count(*) FROM ({_QUEUE_SQL}) GROUP BY owner_id")
    with store.reading() as session:
        me = _me(session)
        if not _reviews_others(me):
            return {}
        return {int(o): int(n) for o, n in session.execute(sql, _queue_params(me, QueueFilter()))}


# --- revisions --------------------------------------------------------------------


def new_revision(store: Store, record_id: str, *, author: str | None = None) -> RecordData:
    """Start a new revision of an (approved) record: a new draft with its
    content, ``revision_of`` the chain's root, ``revision`` the chain's
    highest + 1 (:meth:`Store.new_revision`). The source record stays as it is."""
    return store.new_revision(record_id, author=author)


def owner_of(store: Store, record_id: str) -> int | None:
    """The server user id owning a record; ``None`` for one made here and not
    yet synced (the user's own). Raises ``RecordNotFound``."""
    with store.reading() as session:
        record = session.get(Record, record_id)
        if record is None:
            raise RecordNotFound(record_id)
        return record.owner_id


def revision_info(store: Store, record_id: str) -> tuple[str | None, int]:
    """``(revision_of, revision)`` of a record (lists show "rev. N")."""
    record = store.get(record_id, include_deleted=True)
    return record.revision_of, record.revision


# --- dashboard ----------------------------------------------------------------------

# With no range every record counts; with one, only those dated inside it.
_IN_RANGE = ("((:start IS NULL AND :end IS NULL) OR ({col} IS NOT NULL"
             " AND (:start IS NULL OR {col} >= :start) AND (:end IS NULL OR {col} <= :end)))")
_LESSON = "r.kind = 'lesson_plan' AND " + _IN_RANGE.format(col="r.planned_date")
# Records without an owner were made here and never synced: the user's own.
_FIGURES_SQL = f"""
SELECT coalesce(r.owner_id, :me) AS owner,
       max(r.author) AS author,
       sum({_LESSON} AND r.status IN ('submitted', 'approved', 'returned')) AS submitted,
       sum({_LESSON} AND r.status = 'submitted') AS waiting,
       sum({_LESSON} AND r.status = 'approved') AS approved,
       sum({_LESSON} AND r.status = 'returned') AS returned,
       total(CASE WHEN r.kind = 'training' AND {_IN_RANGE.format(col="r.start_date")}
                  THEN r.hours END) AS hours,
       sum(r.status = 'submitted' AND coalesce(
           (SELECT max(s.at) FROM reviews s WHERE s.record_id = r.id AND s.action = 'submit'
            AND s.outcome = 'accepted'), r.updated_at) < :stale_before) AS stale
FROM records r
WHERE r.deleted = 0 AND coalesce(r.owner_id, :me) IS NOT NULL AND r.kind != 'lesson_template'
GROUP BY coalesce(r.owner_id, :me)
"""
_EXCHANGES_SQL = f"""
SELECT coalesce(r.owner_id, :me), coalesce(r.exchange_type, ''), count(*)
FROM records r
WHERE r.deleted = 0 AND r.kind = 'exchange' AND coalesce(r.owner_id, :me) IS NOT NULL
  AND {_IN_RANGE.format(col="r.exchange_date")}
GROUP BY 1, 2
"""
EXCHANGE_TYPE_CODES: Final = tuple(c.code for c in kind_spec(Kind.EXCHANGE).field("exchange_type").choices)


def _fellows(
    session: Session, cohort: str | None, owner: int | None, owners: Mapping[int, str]
) -> list[PersonInfo]:
    """Who gets a row: fellows of the people list (of ``cohort``), and, without
    a cohort, anyone else owning records here (named by their records)."""
    listed = {p.id: _person(p) for p in session.scalars(select(Person))}
    chosen = [p for p in listed.values() if p.role == "fellow" and (cohort is None or cohort in p.cohorts)]
    if cohort is None:
        chosen += [PersonInfo(o, name, "fellow", "", ()) for o, name in owners.items() if o not in listed]
    if owner is not None:
        chosen = [p for p in chosen if p.id == owner]
    return sorted(chosen, key=lambda p: (p.name, p.id))


def _figures(
    session: Session, params: dict[str, Any]
) -> tuple[dict[int, Mapping[str, Any]], dict[int, dict[str, int]]]:
    """Per owner: the SQL figures, and exchange counts per type."""
    figures: dict[int, Mapping[str, Any]] = {
        int(r["owner"]): dict(r) for r in session.execute(text(_FIGURES_SQL), params).mappings()
    }
    exchanges: dict[int, dict[str, int]] = {}
    for owner, kind, count in session.execute(text(_EXCHANGES_SQL), params):
        exchanges.setdefault(int(owner), {})[kind or "other"] = int(count)
    return figures, exchanges


def _row(person: PersonInfo, figures: Mapping[str, Any] | None, exchanges: Mapping[str, int]) -> DashboardRow:
    f: Mapping[str, Any] = figures or {}
    return DashboardRow(
        owner_id=person.id, name=person.name, school=person.school,
        lessons_submitted=int(f.get("submitted") or 0), lessons_waiting=int(f.get("waiting") or 0),
        lessons_approved=int(f.get("approved") or 0), lessons_returned=int(f.get("returned") or 0),
        training_hours=float(f.get("hours") or 0.0),
        exchanges={code: int(exchanges.get(code, 0)) for code in EXCHANGE_TYPE_CODES},
        stale_reviews=int(f.get("stale") or 0),
    )


def _totals(rows: Sequence[DashboardRow]) -> DashboardRow:
    return DashboardRow(
        owner_id=None, name="Total", school="",
        lessons_submitted=sum(r.lessons_submitted for r in rows),
        lessons_waiting=sum(r.lessons_waiting for r in rows),
        lessons_approved=sum(r.lessons_approved for r in rows),
        lessons_returned=sum(r.lessons_returned for r in rows),
        training_hours=sum(r.training_hours for r in rows),
        exchanges={code: sum(r.exchanges.get(code, 0) for r in rows) for code in EXCHANGE_TYPE_CODES},
        stale_reviews=sum(r.stale_reviews for r in rows),
    )


def dashboard(
    store: Store,
    cohort: str | None = None,
    owner: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    stale_days: int = DEFAULT_STALE_DAYS,
    *,
    now: dt.datetime | None = None,
) -> Dashboard:
    """Figures per fellow (people with role ``fellow``, and any other owner of
    records here), filtered by cohort and owner, plus their totals.

    Computed in SQL (two grouped queries over the records), so it stays fast
    for a cohort's tens of thousands of records."""
    stale_before = (now or utcnow()) - dt.timedelta(days=stale_days)
    with store.reading() as session:
        me = _me(session)
        params = {
            "me": me.id, "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "stale_before": stale_before.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        }
        figures, exchanges = _figures(session, params)
        owners = {o: str(f["author"] or "") for o, f in figures.items()}
        owners.update({o: owners.get(o, "") for o in exchanges})
        fellows = _fellows(session, cohort, owner, owners)
    rows = [_row(p, figures.get(p.id), exchanges.get(p.id, {})) for p in fellows]
    return Dashboard(rows, _totals(rows), EXCHANGE_TYPE_CODES, cohort, start, end, stale_days)


_ENGLISH: Final[dict[str, str]] = {
    "name": "Fellow",
    "school": "School",
    "lessons_submitted": "Lesson plans submitted",
    "lessons_waiting": "Lesson plans waiting",
    "lessons_approved": "Lesson plans approved",
    "lessons_returned": "Lesson plans returned",
    "training_hours": "Training hours",
    "exchange_total": "Exchange activities",
    "stale_reviews": "Reviews waiting over {days} days",
}


def dashboard_columns(dashboard: Dashboard) -> list[str]:
    """The column keys, in order: fixed ones, one ``exchange:<code>`` per
    exchange type, then the exchange total and the stale reviews."""
    head = ["name", "school", "lessons_submitted", "lessons_waiting", "lessons_approved",
            "lessons_returned", "training_hours"]
    return [*head, *(f"exchange:{c}" for c in dashboard.exchange_types), "exchange_total", "stale_reviews"]


def dashboard_header(dashboard: Dashboard, labels: Mapping[str, str] | None = None) -> list[str]:
    """The CSV/table header: column keys (``name``, ``school``,
    ``lessons_submitted``, …, ``exchange:<code>``, ``stale_reviews``) mapped
    through ``labels`` (the UI passes translated labels), else English.
    ``{days}`` in a label is replaced by the dashboard's ``stale_days``."""
    choices = kind_spec(Kind.EXCHANGE).field("exchange_type").choices
    names = {**_ENGLISH, **{f"exchange:{c.code}": c.label for c in choices}, **(labels or {})}
    days = str(dashboard.stale_days)
    return [names.get(key, key).replace("{days}", days) for key in dashboard_columns(dashboard)]


def _number(value: float) -> str:
    """Hours as people write them: 12, 12.5 (never 1.2e+01)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _cells(dashboard: Dashboard, row: DashboardRow) -> list[str]:
    values: dict[str, Any] = {**asdict(row), "exchange_total": row.exchange_total}
    values["training_hours"] = _number(row.training_hours)
    values.update({f"exchange:{c}": row.exchanges.get(c, 0) for c in dashboard.exchange_types})
    return [str(values[key]) for key in dashboard_columns(dashboard)]


def export_dashboard_csv(
    dashboard: Dashboard, path: Path, *, labels: Mapping[str, str] | None = None
) -> Path:
    """Write the dashboard as CSV: UTF-8 with BOM and CRLF line ends (Excel and
    WPS then read the Chinese names right), a header row, one row per fellow
    and the totals last, named by ``labels["total"]`` (the UI's "合计").
    Written to a temporary file first, so a failed export never leaves half
    a file under the chosen name."""
    total_name = (labels or {}).get("total", dashboard.totals.name)
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(dashboard_header(dashboard, labels))
        for row in dashboard.rows:
            writer.writerow(_cells(dashboard, row))
        writer.writerow(_cells(dashboard, replace(dashboard.totals, name=total_name)))
    os.replace(partial, path)
    log.info("Exported the dashboard (%d fellows) to %s", len(dashboard.rows), path)
    return path


__all__: Sequence[str] = [
    "CLIENT_ACTIONS",
    "DEFAULT_STALE_DAYS",
    "EXCHANGE_TYPE_CODES",
    "Dashboard",
    "DashboardRow",
    "Decision",
    "PersonInfo",
    "QueueFilter",
    "QueueRow",
    "ReviewEntry",
    "add_comment",
    "cohorts",
    "current_user",
    "dashboard",
    "dashboard_columns",
    "dashboard_header",
    "decide",
    "export_dashboard_csv",
    "mark_read",
    "new_revision",
    "owner_of",
    "pending_reviews",
    "people",
    "queue_counts",
    "review_queue",
    "revision_info",
    "submit",
    "thread",
    "unread_count",
    "unread_records",
    "withdraw",
]
