"""Push and pull: the server side of the sync protocol (docs/sync.md).

Pure service functions on a SQLAlchemy ``Session``; the HTTP layer is
``app/server/routers/sync.py``. ``push`` commits its own transaction (it has
to: the seq counter's row lock must be held until the commit so that seq order
equals commit order).

Versions are ``[clock, device, seq]``; ``(clock, device)`` is the total order
that picks a field's winner (``version_key``), ``seq`` only says *when the
server stored it* and is what concurrency and pull cursors are measured in.
No wall clock is consulted anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.models.fields import Kind, Status, kind_spec
from app.models.validation import check_field, cross_field_problems, empty_value, to_json
from app.server import blob_store, reviews
from app.server.database import as_utc
from app.server.db import (
    Device,
    Review,
    ServerState,
    SyncConflict,
    SyncNotice,
    SyncRecord,
    User,
    utcnow,
)
from app.server.permissions import ADMIN, TRAINER, can_write_content, visible_owner_ids
from app.server.reviews import DECISIONS, REVISION_FIELDS, REVISION_MAX
from app.sync.protocol import (
    META_FIELDS,
    PROTOCOL_VERSION,
    PULL_PAGE_BYTES,
    PULL_PAGE_MAX,
    SERVER_DEVICE,
    Notice,
    PullRequest,
    PullResponse,
    PushChange,
    PushRequest,
    PushResponse,
    PushResult,
    PushReview,
    RemoteConflict,
    RemoteRecord,
    ReviewResult,
    version_key,
)

log = logging.getLogger("fieldbook.server")

RESTORED_AFTER_DELETE: Final = "restored_after_delete"
ATTACHMENTS: Final = "attachments"  # the field naming a record's files (docs/attachments.md)
_PENDING: Final = -1  # seq of a version written in this push, until seqs are assigned
_PUSH_ATTEMPTS: Final = 3  # a push that lost a race (same new record, deadlock) is retried
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_RECORD_OVERHEAD_BYTES: Final = 160  # id, kind, owner, author, created_at of a pulled record
_REASON_FIELDS_MAX: Final = 5  # problems named in one rejection reason
_WRITABLE_STATUSES: Final = frozenset({Status.DRAFT.value, Status.SUBMITTED.value})
_REVIEW_STATUSES: Final = frozenset({Status.APPROVED.value, Status.RETURNED.value})
_KINDS: Final = frozenset(k.value for k in Kind)
# Every field that is not a kind's own: writing one is not an "edit" of content.
_META: Final = (*META_FIELDS, *REVISION_FIELDS)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class PushGap(Exception):
    """A batch sent to follow one the server does not hold (yet): the one
    before it failed, or is still on its way. Nothing is applied; the client
    sends it again once the one before is confirmed."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(last_seq)
        self.last_seq = last_seq


class DeviceRolledBack(Exception):
    """A batch reuses seqs this device already pushed for different changes:
    the client's store is older than what it sent (restored from a copy, or a
    power cut on a disk that lied about having written). Applying nothing,
    the answer tells the client to push as a new device."""


class _Rejected(Exception):
    def __init__(self, reason: str, fields: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = list(fields)


# --------------------------------------------------------------------------- push


@dataclass(slots=True)
class _Rec:
    """A record as the push sees it while applying a batch."""

    id: str
    kind: str
    owner_id: int
    author: str
    fields: dict[str, Any]
    versions: dict[str, list[Any]]
    new: bool
    dirty: bool = False
    seq: int = 0


@dataclass(slots=True)
class _Pending:
    """A conflict or notice row waiting for its seq."""

    rec: _Rec
    row: dict[str, Any]


@dataclass
class _Batch:
    session: Session
    user: User
    device: str
    records: dict[str, _Rec]
    touched: list[_Rec] = field(default_factory=list)
    conflicts: list[_Pending] = field(default_factory=list)
    notices: list[_Pending] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # review rows waiting for their seq
    answered: dict[str, ReviewResult] = field(default_factory=dict)  # this request's entries by id
    _visible: tuple[set[int] | None] | None = None

    def write(self, rec: _Rec, name: str, value: Any, clock: int, device: str) -> None:
        rec.fields[name] = value
        rec.versions[name] = [clock, device, _PENDING]
        if not rec.dirty:
            rec.dirty = True
            self.touched.append(rec)

    def sees(self, owner_id: int) -> bool:
        """Whether the pushing user may see ``owner_id``'s records (asked once)."""
        if self._visible is None:
            self._visible = (visible_owner_ids(self.session, self.user),)
        owners = self._visible[0]
        return owners is None or owner_id in owners

    def entry(self, rec: _Rec, entry_id: str, action: str, *, body: str = "", outcome: str = "accepted",
              reason: str = "", basis: list[Any] | None = None, written_at: str = "") -> None:
        """A review entry of ``rec`` by the pushing user, stored with the batch."""
        self.entries.append({
            "id": entry_id, "record_id": rec.id, "owner_id": rec.owner_id, "author_id": self.user.id,
            "author": _name(self.user), "action": action, "body": body, "outcome": outcome,
            "reason": reason, "basis": basis or [], "written_at": written_at,
        })


def _name(user: User) -> str:
    return user.display_name or user.username


def _top(rec: _Rec, clock: int) -> int:
    """A clock above every clock on ``rec`` and ``clock``: a server write
    stamped with it beats them all on every replica."""
    return max([int(v[0]) for v in rec.versions.values()] + [clock]) + 1


def push(session: Session, user: User, request: PushRequest) -> PushResponse:
    """Apply a batch of change groups, then its review entries, all or
    nothing, and commit.

    Groups at or below the device's ``last_seq`` are replays and change
    nothing; a review entry whose id is stored already is answered with its
    stored outcome. The answer lists the groups that were merged, conflicted
    or rejected (everything else was applied) and, when the request had
    review entries, one outcome for each.
    """
    device = request["device_id"]
    if device == SERVER_DEVICE:
        raise ValueError("a client cannot use the server's device id")
    started = time.perf_counter()
    for attempt in range(1, _PUSH_ATTEMPTS + 1):
        try:
            response = _push_once(session, user, device, request["changes"], request.get("reviews"),
                                  after=request.get("after"))
            session.commit()
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if attempt == _PUSH_ATTEMPTS or not _retryable(exc):
                raise
            log.info("Push from %s/%s lost a race (%s); retrying", user.id, device, type(exc).__name__)
            continue
        except BaseException:
            session.rollback()
            raise
        log.info(
            "Push user=%s device=%s groups=%d reviews=%d results=%d last_seq=%d in %.0f ms",
            user.id,
            device,
            len(request["changes"]),
            len(request.get("reviews") or ()),
            len(response["results"]),
            response["last_seq"],
            (time.perf_counter() - started) * 1000,
        )
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # two pushes created the same record or device row at once
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    return pg_dialect.insert if name == "postgresql" else sqlite_dialect.insert


def _push_once(
    session: Session,
    user: User,
    device_id: str,
    changes: Sequence[PushChange],
    entries: Sequence[PushReview] | None = None,
    *,
    after: int | None = None,
) -> PushResponse:
    # The device row, locked: a second push of the same device waits here. On
    # SQLite this INSERT also takes the database's write lock up front.
    session.execute(
        _dialect_insert(session)(Device)
        .values(user_id=user.id, device_id=device_id, last_seq=0, last_seen=utcnow())
        .on_conflict_do_nothing()
    )
    last_seq = session.execute(
        select(Device.last_seq)
        .where(Device.user_id == user.id, Device.device_id == device_id)
        .with_for_update()
    ).scalar_one()
    if after is not None and last_seq < after:
        raise PushGap(last_seq)
    groups = [c for c in changes if c["seq"] > last_seq]
    replays = [c for c in changes if c["seq"] <= last_seq]
    response: PushResponse = {"protocol": PROTOCOL_VERSION, "last_seq": last_seq, "results": []}
    if not changes and not entries:
        if entries is not None:
            response["reviews"] = []
        return response

    records = _load_records(
        session, {g["record_id"] for g in changes} | {e["record_id"] for e in entries or ()}
    )
    if not all(_is_replay(records.get(g["record_id"]), g, device_id) for g in replays):
        log.warning("Push of %s/%s reuses seqs up to %d for changes the server never had: the "
                    "device's store is older than what it pushed", user.id, device_id, last_seq)
        raise DeviceRolledBack(device_id)

    batch = _Batch(session, user, device_id, records)
    response["results"] = _apply_groups(batch, groups)
    if entries is not None:
        # After the groups: a comment may be on a record created just now.
        response["reviews"] = _apply_reviews(batch, entries)
    if groups:
        response["last_seq"] = max(last_seq, *(g["seq"] for g in groups))
        # The device row first (it is this device's alone): ``_store`` takes the
        # counter's lock, which every push waits for, so as little as possible
        # happens between it and the commit.
        session.execute(
            update(Device)
            .where(Device.user_id == user.id, Device.device_id == device_id)
            .values(last_seq=response["last_seq"], last_seen=utcnow())
        )
    _store(batch)
    return response


def _apply_groups(batch: _Batch, groups: Sequence[PushChange]) -> list[PushResult]:
    """Each group's outcome, where it is not simply "applied"."""
    results: list[PushResult] = []
    for group in groups:
        try:
            result = _apply_group(batch, group)
        except _Rejected as rejected:
            result = {"seq": group["seq"], "outcome": "rejected", "reason": rejected.reason}
            if rejected.fields:
                result["fields"] = rejected.fields
        if result is not None:
            results.append(result)
    return results


def _rolled_back(session: Session, user_id: int, device_id: str, pushed_seq: int | None) -> bool:
    """Whether the server applied more of this device's pushes than it knows
    of (its store is older than what it pushed, or an answer was lost: then
    its own writes coming back cost bytes, nothing else)."""
    if pushed_seq is None:
        return False
    last_seq = session.execute(
        select(Device.last_seq).where(Device.user_id == user_id, Device.device_id == device_id)
    ).scalar_one_or_none()
    return last_seq is not None and last_seq > pushed_seq


def _is_replay(rec: _Rec | None, group: PushChange, device_id: str) -> bool:
    """Whether a group at or below the device's ``last_seq`` can be the one
    the server applied under that seq: every field it carries is stored at
    its version or a newer one. (A group the server refused, or a record it
    gave away since, fails this too; pushing as a new device is safe then.)"""
    if rec is None:
        return False
    incoming = version_key(group["clock"], device_id)
    for name in group["fields"]:
        stored = rec.versions.get(name)
        if stored is None or version_key(stored[0], stored[1]) < incoming:
            return False
    return True


def _load_records(session: Session, ids: Iterable[str]) -> dict[str, _Rec]:
    """The batch's existing records in one query, locked (in id order, so two
    pushes touching the same records cannot deadlock)."""
    table = _table(SyncRecord)
    rows = session.execute(
        select(
            table.c.id, table.c.kind, table.c.owner_id, table.c.author,
            sql_cast(table.c.fields, Text), sql_cast(table.c.versions, Text),
        )
        .where(table.c.id.in_(sorted(ids)))
        .order_by(table.c.id)
        .with_for_update()
    )
    return {
        record_id: _Rec(record_id, kind, owner, author, json.loads(fields), json.loads(versions), False)
        for record_id, kind, owner, author, fields, versions in rows
    }


def _apply_group(batch: _Batch, group: PushChange) -> PushResult | None:
    user = batch.user
    if group["kind"] not in _KINDS:
        raise _Rejected(f"Unknown kind of record: {group['kind']!r}.")
    rec = batch.records.get(group["record_id"])
    if rec is None:
        owner_id = user.id
    else:
        if rec.kind != group["kind"]:
            raise _Rejected(
                f"This record already exists as a {kind_spec(rec.kind).singular.lower()}, "
                f"not a {kind_spec(group['kind']).singular.lower()}."
            )
        if not can_write_content(user, rec.owner_id):
            raise _Rejected("You cannot change this record: it belongs to someone else.")
        owner_id = rec.owner_id
    values = _validate(group["kind"], group["fields"], is_owner=owner_id == user.id)
    if rec is None:
        _check_revision_root(batch, group["record_id"], values)
    else:
        values = _without_revision_fields(rec, values)
    if not values:
        return None
    if rec is not None and rec.fields.get("status") == reviews.APPROVED and any(
        name not in _META for name in values
    ):
        return _revise(batch, rec, group, values)
    note = _guard_status(batch, rec, group, values) if rec is not None and "status" in values else None
    if rec is None:
        rec = _Rec(group["record_id"], group["kind"], user.id, _name(user), {}, {}, True)
        batch.records[rec.id] = rec
    old_status = rec.fields.get("status")
    result = _merge(batch, rec, group, values) if values else None
    _status_entry(batch, rec, group, old_status)
    return _with_note(group, result, note)


# --------------------------------------------------------------------------- review rules of a group


def _revision_problem(name: str, value: Any) -> str | None:
    if name == "revision_of":
        if value is None or (isinstance(value, str) and _UUID.match(value)):
            return None
        return "Invalid value for revision_of: must be the id of a record, or null."
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= REVISION_MAX:
        return None
    return f"Invalid value for revision: must be a whole number from 1 to {REVISION_MAX}."


def _check_revision_root(batch: _Batch, record_id: str, values: Mapping[str, Any]) -> None:
    """A new record's ``revision_of`` names another record of the pushing
    user (the chain's root), or nothing."""
    root = values.get("revision_of")
    if root is None:
        return
    known = batch.records.get(root)
    owner = known.owner_id if known is not None else batch.session.execute(
        select(SyncRecord.owner_id).where(SyncRecord.id == root)
    ).scalar_one_or_none()
    if root == record_id or owner != batch.user.id:
        raise _Rejected("Invalid value for revision_of: it must name another record of yours.",
                        ["revision_of"])


def _without_revision_fields(rec: _Rec, values: dict[str, Any]) -> dict[str, Any]:
    """The group's values without the revision fields it repeats unchanged
    (a record pushed again as a new device); changing them is refused."""
    for name in REVISION_FIELDS:
        if name in values and values[name] != rec.fields.get(name):
            raise _Rejected(f"The {name} of a record is set when it is created and cannot change.", [name])
    return {name: value for name, value in values.items() if name not in REVISION_FIELDS}


def _guard_status(batch: _Batch, rec: _Rec, group: PushChange, values: dict[str, Any]) -> str | None:
    """A trainer's decision beats the owner's status writes it did not see
    (and an approval any status write): such a write is dropped from
    ``values``, not kept as a conflict (it is workflow state, not content),
    and if its clock is higher the decision is stamped again above it so
    the owner's laptop returns to it. The note for the answer, or None."""
    stored = rec.versions.get("status")
    status = rec.fields.get("status")
    if stored is None or stored[1] != SERVER_DEVICE or status not in _REVIEW_STATUSES:
        return None
    unseen = stored[2] == _PENDING or stored[2] > group["known"]
    if status != reviews.APPROVED and not unseen:
        return None  # the owner saw the return and submits again: applied as usual
    del values["status"]
    if version_key(group["clock"], batch.device) > version_key(stored[0], stored[1]):
        batch.write(rec, "status", status, _top(rec, group["clock"]), SERVER_DEVICE)
    return f"A trainer {status} this record meanwhile, so its status stays {status}."


def _with_note(group: PushChange, result: PushResult | None, note: str | None) -> PushResult | None:
    if note is None:
        return result
    if result is None:
        return {"seq": group["seq"], "outcome": "merged", "reason": note, "fields": ["status"]}
    result.setdefault("reason", note)
    return result


def _status_entry(batch: _Batch, rec: _Rec, group: PushChange, old: Any) -> None:
    """The thread's ``submit``/``withdraw`` entry when this group's status
    write was applied and changed the status that way."""
    version = rec.versions.get("status")
    new = rec.fields.get("status")
    if version is None or new == old or version[2] != _PENDING:
        return
    if version[0] != group["clock"] or version[1] != batch.device:
        return
    if new == reviews.SUBMITTED:
        action = "submit"
    elif old == reviews.SUBMITTED and new == reviews.DRAFT:
        action = "withdraw"
    else:
        return
    entry_id = reviews.status_entry_id(rec.id, action, group["clock"], batch.device)
    batch.entry(rec, entry_id, action, basis=[group["clock"], batch.device], written_at=utcnow().isoformat())


def _revise(batch: _Batch, approved: _Rec, group: PushChange, values: dict[str, Any]) -> PushResult:
    """docs/review.md: an approved record is never edited in place. The
    group's content goes into a new revision; the approved record's fields it
    names are stamped again as the server, so the editor's laptop returns to
    the approved text on its next pull."""
    approval = reviews.approval_seq(batch.session, approved.id)
    if approval is None:  # approved before entries were kept: the status write's seq
        approval = int(approved.versions["status"][2])
    revision_id = reviews.revision_id(approved.id, approval, batch.device)
    revision = batch.records.get(revision_id) or _load_records(batch.session, [revision_id]).get(revision_id)
    created = revision is None
    if revision is None:
        revision = _new_revision(batch, approved, revision_id, group["clock"])
    elif revision.owner_id != approved.owner_id or revision.kind != approved.kind:
        log.warning("Push of %s/%s: the revision id %s is taken by another record",
                    batch.user.id, batch.device, revision_id)
        raise _Rejected("This record was approved meanwhile, and your changes could not be saved as "
                        "a new revision.")
    content = {name: value for name, value in values.items() if name not in _META}
    top = _top(revision, group["clock"])
    for name, value in content.items():
        batch.write(revision, name, value, top, SERVER_DEVICE)
    _restamp(batch, approved, [name for name in values if name != "deleted"], group["clock"])
    if "deleted" in values:
        _merge(batch, approved, group, {"deleted": values["deleted"]})
    if created:
        _revised_notice(batch, approved, revision)
    return {"seq": group["seq"], "outcome": "merged", "reason": reviews.REVISED_REASON,
            "fields": sorted(content)}


def _new_revision(batch: _Batch, approved: _Rec, revision_id: str, clock: int) -> _Rec:
    """A copy of the approved record's content as the next revision of its
    chain, a draft, written by the server."""
    root = approved.fields.get("revision_of") or approved.id
    in_batch = [int(r.fields.get("revision") or 1) for r in batch.records.values()
                if r.new and r.fields.get("revision_of") == root]
    number = max([reviews.chain_top(batch.session, approved.owner_id, root), *in_batch]) + 1
    revision = _Rec(revision_id, approved.kind, approved.owner_id, approved.author, {}, {}, True)
    top = _top(approved, clock)
    for name, value in approved.fields.items():
        if name not in _META:
            batch.write(revision, name, value, top, SERVER_DEVICE)
    batch.write(revision, "status", reviews.DRAFT, top, SERVER_DEVICE)
    batch.write(revision, "revision_of", root, top, SERVER_DEVICE)
    batch.write(revision, "revision", min(number, REVISION_MAX), top, SERVER_DEVICE)
    batch.records[revision_id] = revision
    return revision


def _restamp(batch: _Batch, rec: _Rec, names: Iterable[str], clock: int) -> None:
    """Write the stored values of ``names`` again as the server, above every
    clock (a field never set gets its empty value)."""
    top = _top(rec, clock)
    spec = kind_spec(rec.kind)
    for name in names:
        if name in rec.fields:
            value = rec.fields[name]
        elif name in spec.by_name:
            value = to_json(spec.by_name[name], empty_value(spec.by_name[name]))
        else:
            continue
        batch.write(rec, name, value, top, SERVER_DEVICE)


def _revised_notice(batch: _Batch, approved: _Rec, revision: _Rec) -> None:
    spec = kind_spec(approved.kind)
    title = str(approved.fields.get(spec.title_field) or "").strip() or "(untitled)"
    batch.notices.append(_Pending(revision, {
        "user_id": batch.user.id,
        "record_id": revision.id,
        "kind": reviews.REVISED,
        "message": (
            f'The {spec.singular.lower()} "{title}" was approved while you were changing it, so it '
            f"stays as approved; your changes were saved as revision {revision.fields.get('revision')}."
        ),
    }))


# --------------------------------------------------------------------------- review entries


def _apply_reviews(batch: _Batch, entries: Sequence[PushReview]) -> list[ReviewResult]:
    """One outcome per entry, in order (docs/review.md "Review entries")."""
    stored = reviews.stored_entries(batch.session, (e["id"] for e in entries))
    results = []
    for entry in entries:
        result = batch.answered.get(entry["id"])
        if result is None:
            result = _review_outcome(batch, entry, stored.get(entry["id"]))
            batch.answered[entry["id"]] = result
        results.append(result)
    return results


def _review_outcome(batch: _Batch, entry: PushReview, stored: tuple[int, str, str] | None) -> ReviewResult:
    if stored is not None:  # a replay: the answer it had
        author_id, outcome, reason = stored
        if author_id != batch.user.id:
            log.warning("Push of %s/%s: review id %s is someone else's", batch.user.id, batch.device,
                        entry["id"])
            return {"id": entry["id"], "outcome": "rejected", "reason": "This entry's id is already taken."}
        replayed: ReviewResult = {"id": entry["id"], "outcome": cast(Any, outcome)}
        if reason:
            replayed["reason"] = reason
        return replayed
    try:
        rec = _review_target(batch, entry)
    except _Rejected as rejected:
        log.info("Push of %s/%s: review %s rejected: %s", batch.user.id, batch.device, entry["id"],
                 rejected.reason)
        return {"id": entry["id"], "outcome": "rejected", "reason": rejected.reason}
    outcome, reason = _decide(batch, rec, entry) if entry["action"] in DECISIONS else (reviews.ACCEPTED, "")
    batch.entry(rec, entry["id"], entry["action"], body=entry["body"], outcome=outcome, reason=reason,
                basis=list(entry["basis"]), written_at=entry["written_at"])
    result: ReviewResult = {"id": entry["id"], "outcome": cast(Any, outcome)}
    if reason:
        result["reason"] = reason
    return result


def _review_target(batch: _Batch, entry: PushReview) -> _Rec:
    """The entry's record, or ``_Rejected``: a bad entry, a record the user
    may not see (whether it exists is not told), a decision by someone who
    is not its reviewer."""
    problem = reviews.entry_problem(entry)
    if problem is not None:
        raise _Rejected(problem)
    rec = batch.records.get(entry["record_id"])
    if rec is None or not batch.sees(rec.owner_id):
        raise _Rejected(reviews.NOT_VISIBLE)
    if entry["action"] in DECISIONS:
        if rec.owner_id == batch.user.id:
            raise _Rejected(reviews.OWN_RECORD)
        if batch.user.role not in (TRAINER, ADMIN):
            raise _Rejected(reviews.NOT_REVIEWER)
    return rec


def _decide(batch: _Batch, rec: _Rec, entry: PushReview) -> tuple[str, str]:
    """A decision stands only on the submission it was made on: then the
    server writes the status above every clock on the record."""
    status = rec.fields.get("status")
    version = rec.versions.get("status")
    deleted = rec.fields.get("deleted") is True
    if not deleted and status == reviews.SUBMITTED and version is not None and (
        [version[0], version[1]] == list(entry["basis"])
    ):
        batch.write(rec, "status", DECISIONS[entry["action"]], _top(rec, 0), SERVER_DEVICE)
        return reviews.ACCEPTED, ""
    decider = _decider(batch, rec) if status in _REVIEW_STATUSES else None
    return reviews.SUPERSEDED, reviews.superseded_reason(status, deleted, decider)


def _decider(batch: _Batch, rec: _Rec) -> str | None:
    """Who made the record's latest accepted decision (this push's first)."""
    for row in reversed(batch.entries):
        if row["record_id"] == rec.id and row["action"] in DECISIONS and row["outcome"] == reviews.ACCEPTED:
            return str(row["author"])
    return reviews.last_decider(batch.session, rec.id)


def _validate(kind: str, values: Mapping[str, Any], *, is_owner: bool) -> dict[str, Any]:
    """The group's values in canonical JSON form, or ``_Rejected`` naming every
    bad field. Cross-field rules count only between the group's own fields: a
    merge of two valid concurrent edits may break one, and refusing it then
    would lose an edit (the editors show the problem instead)."""
    spec = kind_spec(kind)
    problems: dict[str, str] = {}  # field -> a sentence naming it
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name in _META:
            continue
        fspec = spec.by_name.get(name)
        if fspec is None:
            problems[name] = f"There is no field {name} in a {spec.singular.lower()}."
        elif not _is_text_safe(value):
            problems[name] = f"Invalid value for {name}: it contains characters that are not text."
        else:
            canonical, problem = check_field(fspec, value)
            if problem is None:
                clean[name] = canonical
            else:
                problems[name] = f"Invalid value for {name}: {problem.english()}"
    if len(clean) > 1:
        for name, problem in cross_field_problems(spec, clean).items():
            if problem.blocking:
                problems.setdefault(name, f"Invalid value for {name}: {problem.english()}")
    out = {name: to_json(spec.by_name[name], value) for name, value in clean.items() if name not in problems}
    if "deleted" in values and "deleted" not in problems:
        if isinstance(values["deleted"], bool):
            out["deleted"] = values["deleted"]
        else:
            problems["deleted"] = "Invalid value for deleted: must be true or false."
    if "status" in values and "status" not in problems:
        status = values["status"]
        if isinstance(status, str) and status in _REVIEW_STATUSES:
            problems["status"] = (
                f"The status cannot be set to {status} by an edit: a trainer's review decides it."
            )
        elif not isinstance(status, str) or status not in _WRITABLE_STATUSES:
            problems["status"] = "Invalid value for status: must be draft or submitted."
        elif not is_owner:
            problems["status"] = "Only the record's owner can change its status."
        else:
            out["status"] = status
    for name in REVISION_FIELDS:
        if name in values:
            revision_problem = _revision_problem(name, values[name])
            if revision_problem is None:
                out[name] = values[name]
            else:
                problems[name] = revision_problem
    if problems:
        names = list(problems)
        reason = " ".join(problems[name] for name in names[:_REASON_FIELDS_MAX])
        if len(names) > _REASON_FIELDS_MAX:
            reason += f" (and {len(names) - _REASON_FIELDS_MAX} more)"
        raise _Rejected(reason, names)
    return out


def _unsafe_str(text: str) -> bool:
    """A NUL, or half of a surrogate pair (which UTF-8 cannot encode)."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_text_safe(value: Any) -> bool:
    """No NUL and no lone surrogate anywhere in a JSON value (neither can be
    stored in PostgreSQL nor encoded as UTF-8), nor nesting deeper than 8.
    A loop over a stack rather than a call per item: this sees every pushed
    value."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _unsafe_str(item):
                return False
            continue
        if isinstance(item, list | dict):
            if depth > 8:
                return False
            children = item.values() if isinstance(item, dict) else item
            for child in children:
                if isinstance(child, str):
                    if _unsafe_str(child):
                        return False
                elif isinstance(child, list | dict):
                    stack.append((child, depth + 1))
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str) and _unsafe_str(key):
                        return False
    return True


def _merge(batch: _Batch, rec: _Rec, group: PushChange, values: dict[str, Any]) -> PushResult | None:
    """docs/sync.md "Merge rules", field by field."""
    clock, known, device = group["clock"], group["known"], batch.device
    incoming = version_key(clock, device)

    def concurrent(version: Sequence[Any]) -> bool:
        # A version of this push has seq _PENDING and never counts.
        return bool(version[2] > known and version[1] != device)

    # Rule 4, second half: a delete against a concurrent edit by another device.
    delete_blocked = values.get("deleted") is True and any(
        name not in _META and ver[1] != SERVER_DEVICE and concurrent(ver)
        for name, ver in rec.versions.items()
    )
    # Rule 4, first half: an edit of a record deleted by a change the editor had not seen.
    deleted_version = rec.versions.get("deleted")
    deleted_under_edit = (
        rec.fields.get("deleted") is True
        and deleted_version is not None
        and concurrent(deleted_version)
        and any(name not in _META for name in values)
    )

    conflicts: list[str] = []
    merged: list[str] = []
    for name, value in values.items():
        if name == "deleted" and delete_blocked:
            continue
        stored = rec.versions.get(name)
        if stored is None:
            batch.write(rec, name, value, clock, device)
            continue
        stored_key = version_key(stored[0], stored[1])
        if stored_key == incoming:
            continue  # this very version is already here
        old = rec.fields.get(name)
        if incoming > stored_key:
            if concurrent(stored):
                if old != value:
                    _conflict(batch, rec, name, old, stored_key, incoming)
                    conflicts.append(name)
                else:
                    merged.append(name)
            batch.write(rec, name, value, clock, device)
        elif old != value:
            # The stored value stays; the incoming one is kept as a conflict.
            # Not concurrent only when the device's clock ran backwards.
            if not concurrent(stored):
                log.warning("Push of %s/%s: %s.%s lost to a version it had seen", batch.user.id, device,
                            rec.id, name)
            _conflict(batch, rec, name, value, incoming, stored_key)
            conflicts.append(name)
        elif concurrent(stored):
            merged.append(name)
    merged += [
        name for name, ver in rec.versions.items() if name not in values and concurrent(ver)
    ]

    if delete_blocked:
        _restore(batch, rec, clock, deleter_id=batch.user.id)
        reason = "This record was edited on another device at the same time, so it was not deleted."
        return {"seq": group["seq"], "outcome": "conflict", "reason": reason,
                "fields": [*conflicts, "deleted"]}
    if deleted_under_edit and rec.fields.get("deleted") is True:
        assert deleted_version is not None
        deleter = _device_owner(batch, rec, str(deleted_version[1]))
        _restore(batch, rec, clock, deleter_id=deleter)
        if not conflicts:
            reason = "This record had been deleted on another device; your edit restored it."
            return {"seq": group["seq"], "outcome": "merged", "reason": reason,
                    "fields": sorted({*merged, "deleted"})}
    if conflicts:
        return {"seq": group["seq"], "outcome": "conflict", "fields": conflicts}
    if merged:
        return {"seq": group["seq"], "outcome": "merged", "fields": sorted(set(merged))}
    return None


def _conflict(
    batch: _Batch, rec: _Rec, name: str, value: Any, loser: tuple[int, str], winner: tuple[int, str]
) -> None:
    batch.conflicts.append(
        _Pending(
            rec,
            {
                "record_id": rec.id,
                "owner_id": rec.owner_id,
                "field": name,
                "value": value,
                "clock": loser[0],
                "device": loser[1],
                "winner_clock": winner[0],
                "winner_device": winner[1],
            },
        )
    )


def _restore(batch: _Batch, rec: _Rec, clock: int, *, deleter_id: int) -> None:
    """Write ``deleted=false`` as the server, above every clock on the record
    (and the incoming group's), so it beats the delete on every replica."""
    top = max([int(v[0]) for v in rec.versions.values()] + [clock]) + 1
    batch.write(rec, "deleted", False, top, SERVER_DEVICE)
    title = str(rec.fields.get(kind_spec(rec.kind).title_field) or "").strip() or "(untitled)"
    what = kind_spec(rec.kind).singular.lower()
    batch.notices.append(
        _Pending(
            rec,
            {
                "user_id": deleter_id,
                "record_id": rec.id,
                "kind": RESTORED_AFTER_DELETE,
                "message": (
                    f'The {what} "{title}" was deleted, but it had been edited on another device '
                    "at the same time, so it has been restored."
                ),
            },
        )
    )


def _device_owner(batch: _Batch, rec: _Rec, device: str) -> int:
    """The user who pushed from ``device`` (the record's owner if unsure)."""
    users = sorted(
        batch.session.execute(select(Device.user_id).where(Device.device_id == device)).scalars()
    )
    if not users or rec.owner_id in users:
        return rec.owner_id
    return users[0]


def _insert_records(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert new records: by COPY on PostgreSQL (about twice as fast as
    the pipelined executemany for a batch of 2000), executemany elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    import psycopg

    raw = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    names = ("id", "kind", "owner_id", "author", "created_at", "fields", "versions", "deleted", "seq")
    statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[arg-type]
            for row in rows:
                copy.write_row((
                    row["id"], row["kind"], row["owner_id"], row["author"], row["created_at"],
                    json.dumps(row["fields"], ensure_ascii=False), json.dumps(row["versions"]),
                    row["deleted"], row["seq"],
                ))
    except psycopg.Error as exc:
        # As SQLAlchemy would have raised it: a duplicate id (another push
        # created the record meanwhile) becomes IntegrityError, and is retried.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _store(batch: _Batch) -> None:
    """Assign seqs and write everything, holding the counter's lock until the
    caller commits."""
    _drop_stored_entries(batch)
    if not batch.touched and not batch.conflicts and not batch.notices and not batch.entries:
        return
    session = batch.session
    # Records whose ``attachments`` this push wrote (before their versions'
    # pending seqs are filled in): their ``record_blobs`` rows follow.
    attached = {
        r.id: blob_store.attachment_shas(r.fields.get(ATTACHMENTS))
        for r in batch.touched
        if (version := r.versions.get(ATTACHMENTS)) is not None and version[2] == _PENDING
    }
    # One seq per written record, plus one for conflicts and notices of
    # records this push did not write (their incoming values all lost), plus
    # one per review entry (after the records: a decision's status write
    # comes before the entry that made it).
    loose = any(not p.rec.dirty for p in (*batch.conflicts, *batch.notices))
    wanted = len(batch.touched) + loose + len(batch.entries)
    # Take the counter's lock and move it on in one statement (one round trip
    # under the lock instead of two).
    take = (
        update(ServerState).where(ServerState.id == 1)
        .values(seq=ServerState.seq + wanted).returning(ServerState.seq)
    )
    end = session.execute(take).scalar_one_or_none()
    if end is None:  # a database nobody seeded; the migration normally does
        session.execute(_dialect_insert(session)(ServerState).values(id=1, seq=0).on_conflict_do_nothing())
        end = session.execute(take).scalar_one()
    seq = end - wanted
    for rec in batch.touched:
        seq += 1
        rec.seq = seq
        for version in rec.versions.values():
            if version[2] == _PENDING:
                version[2] = seq
    loose_seq = seq + 1
    seq += loose
    now = utcnow()
    for row in batch.entries:
        seq += 1
        row["seq"] = seq
        row["at"] = now

    table = _table(SyncRecord)
    new = [
        {"id": r.id, "kind": r.kind, "owner_id": r.owner_id, "author": r.author, "created_at": now,
         "fields": r.fields, "versions": r.versions, "deleted": r.fields.get("deleted") is True,
         "seq": r.seq}
        for r in batch.touched if r.new
    ]
    if new:
        _insert_records(session, table, new)
    changed = [
        {"b_id": r.id, "b_fields": r.fields, "b_versions": r.versions,
         "b_deleted": r.fields.get("deleted") is True, "b_seq": r.seq}
        for r in batch.touched if not r.new
    ]
    if changed:
        session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(fields=bindparam("b_fields"), versions=bindparam("b_versions"),
                    deleted=bindparam("b_deleted"), seq=bindparam("b_seq")),
            changed,
        )
    for pending, target in ((batch.conflicts, SyncConflict), (batch.notices, SyncNotice)):
        if pending:
            rows = [{**p.row, "seq": p.rec.seq if p.rec.dirty else loose_seq, "created_at": now}
                    for p in pending]
            session.execute(_table(target).insert(), rows)
    if batch.entries:
        session.execute(_table(Review).insert(), batch.entries)
    # Who may download a file follows from these rows (docs/attachments.md).
    blob_store.set_record_blobs(session, attached)


def _drop_stored_entries(batch: _Batch) -> None:
    """Leave out entries the server made itself whose id is stored already
    (the same status write applied again, e.g. a database restored from a
    copy): stored twice they would fail the whole push."""
    ids = [row["id"] for row in batch.entries]
    if not ids:
        return
    taken = reviews.stored_entries(batch.session, ids)
    if taken:
        batch.entries = [row for row in batch.entries if row["id"] not in taken]


# --------------------------------------------------------------------------- pull


@dataclass(frozen=True, slots=True)
class _Resume:
    """Where a multi-page pull run stands (see ``PullResponse.resume``)."""

    since: int  # the cursor the run started from: fields above it are sent
    pending: frozenset[int]  # owners being sent from the start

    def encode(self) -> str:
        return f"{self.since}:" + ",".join(str(o) for o in sorted(self.pending))

    @classmethod
    def decode(cls, token: str) -> _Resume | None:
        since, sep, owners = token.partition(":")
        try:
            value = int(since)
            pending = frozenset(int(o) for o in owners.split(",") if o) if sep else frozenset()
        except ValueError:
            return None
        if not 0 <= value < 2**62 or any(not 0 < o < 2**62 for o in pending):
            return None
        return cls(value, pending)


def pull(session: Session, user: User, request: PullRequest) -> PullResponse:
    """One page of what ``user`` may see and has not got yet (docs/sync.md)."""
    started = time.perf_counter()
    user_id = user.id
    cursor = request["cursor"]
    limit = max(1, min(request.get("limit") or PULL_PAGE_MAX, PULL_PAGE_MAX))
    # The counter first: every write at or below it has committed (seq order
    # is commit order), so nothing at or below the cursor we answer with can
    # appear later.
    max_seq = session.execute(select(ServerState.seq).where(ServerState.id == 1)).scalar_one_or_none() or 0

    visible = visible_owner_ids(session, user)
    everyone = visible is None
    persons = reviews.people(session, user, visible)
    if visible is None:
        visible = set(session.execute(select(SyncRecord.owner_id).distinct()).scalars())
    scope = set(request["scope"] or ())
    token = request.get("resume")
    resume = _Resume.decode(token) if token else None
    if token and resume is None:
        log.warning("Pull of user %s: ignoring an unreadable resume token", user_id)
    since = resume.since if resume is not None else cursor
    # Owners whose records go out whole: newly visible ones (from seq 0), and
    # those of this run whose first pages went out already (from the cursor).
    fresh = visible - scope
    pending = (resume.pending & visible & scope) if resume is not None else set()
    kept = (visible & scope) - pending
    removed = scope - visible
    if resume is not None:
        removed |= resume.pending - visible
    whole = fresh | pending

    table = _table(SyncRecord)
    conditions: list[ColumnElement[bool]] = []
    if kept:
        in_kept = table.c.seq > max(cursor, since)
        if not everyone:  # an admin sees every owner: no need to list them
            in_kept = and_(table.c.owner_id.in_(sorted(kept)), in_kept)
        conditions.append(in_kept)
    if pending:
        conditions.append(and_(table.c.owner_id.in_(sorted(pending)), table.c.seq > cursor))
    if fresh:
        conditions.append(table.c.owner_id.in_(sorted(fresh)))
    columns = _pull_columns(session, table)
    # A device's own writes are not sent back to it (it has them), except in
    # records of other owners sent whole: those may have left its store
    # meanwhile (their owner was out of scope). The user's own records never do.
    echo = request.get("device_id")
    if echo is not None and _rolled_back(session, user_id, echo, request.get("pushed_seq")):
        log.warning("Pull of %s/%s: its store is older than what it pushed; sending its own writes",
                    user_id, echo)
        echo = None
    complete = whole - {user_id} if echo else whole  # sent with every field
    own = whole & {user_id} if echo else set()  # sent with every field but the echo
    rows: list[Any] = []  # fetched as needed: decoding a row is most of its cost
    # Parallel to ``rows``: each row's record, None when nothing of it is sent.
    records: list[RemoteRecord | None] = []
    devices: dict[str, int] = {}
    size = 0
    if conditions:
        result = session.execute(
            select(*columns)
            .where(or_(*conditions), table.c.seq <= max_seq)
            .order_by(table.c.seq, table.c.id)
            .limit(limit + 1)
        )
        for row in (row for part in result.partitions(256) for row in part):
            rows.append(row)
            if len(records) == limit or size >= PULL_PAGE_BYTES:
                break  # the first row of the next page
            record, fraction = _remote_record(row, complete, since, devices, echo, own)
            records.append(record)
            if record is not None:
                size += _RECORD_OVERHEAD_BYTES + int(row[8] * fraction)
        result.close()
    taken = len(records)
    more = taken < len(rows)
    if more and rows[taken].seq == rows[taken - 1].seq:
        # Never cut between records of one seq (a push gives every record its
        # own, so this is a safeguard): end the page before that seq, or if
        # the page holds nothing else, send all of that seq.
        tied = rows[taken - 1].seq
        taken = next(i for i, row in enumerate(rows) if row.seq == tied)
        if taken:
            records = records[:taken]
        else:
            rows = list(
                session.execute(
                    select(*columns).where(or_(*conditions), table.c.seq == tied).order_by(table.c.id)
                )
            )
            devices = {}
            records = [_remote_record(row, complete, since, devices, echo, own)[0] for row in rows]
            taken = len(rows)
    # Within a page, records of one kind go together: they share most words,
    # and gzip (32 KB window) then compresses a mixed page ~20 % better. The
    # order inside a page means nothing (it is applied in one transaction).
    sent = sorted((r for r in records if r is not None), key=_kind_order)
    # The cursor: the last record's seq while more remains, else the counter
    # (an idle client moves up cheaply past writes it may not see).
    new_cursor = rows[taken - 1].seq if more else max_seq

    low = max(cursor, since)
    conflicts: list[RemoteConflict] = []
    notices: list[Notice] = []
    if new_cursor > low:
        conflicts = [
            {"id": c.id, "record_id": c.record_id, "field": c.field, "value": c.value, "clock": c.clock,
             "device": c.device, "winner_clock": c.winner_clock, "winner_device": c.winner_device}
            for c in session.execute(
                select(SyncConflict)
                .where(SyncConflict.owner_id == user.id, SyncConflict.seq > low,
                       SyncConflict.seq <= new_cursor)
                .order_by(SyncConflict.seq, SyncConflict.id)
            ).scalars()
        ]
        notices = [
            {"id": n.id, "record_id": n.record_id, "kind": n.kind, "message": n.message}
            for n in session.execute(
                select(SyncNotice)
                .where(SyncNotice.user_id == user.id, SyncNotice.seq > low, SyncNotice.seq <= new_cursor)
                .order_by(SyncNotice.seq, SyncNotice.id)
            ).scalars()
        ]

    response: PullResponse = {
        "protocol": PROTOCOL_VERSION,
        "cursor": new_cursor,
        "more": more,
        "devices": list(devices),  # (a cut page may list a device it no longer uses)
        "records": sent,
        "conflicts": conflicts,
        "notices": notices,
        "scope": sorted(visible),
        "removed": sorted(removed),
    }
    if more:
        response["resume"] = _Resume(since, frozenset(whole)).encode()
    entries = reviews.page_entries(session, _entry_conditions(
        None if everyone else kept, pending, fresh, cursor, low, new_cursor
    ))
    if entries:  # (left out when none: a no-op pull stays small)
        response["reviews"] = entries
    response["people_hash"] = reviews.people_hash(persons)
    if request.get("people_hash") != response["people_hash"]:
        response["people"] = persons
    # End the read transaction now: its database connection goes back to the
    # pool at once, not when the request's session is closed. (That happens
    # in a worker thread of its own; with every worker waiting for a
    # connection, the connections held by finished pulls were never given
    # back and hundreds of simultaneous syncs stalled until the pool timed out.)
    session.commit()
    log.info(
        "Pull user=%s cursor=%d -> %d records=%d (of %d) more=%s in %.0f ms",
        user_id, cursor, new_cursor, len(sent), taken, more, (time.perf_counter() - started) * 1000,
    )
    return response


def _entry_conditions(
    kept: AbstractSet[int] | None,
    pending: AbstractSet[int],
    fresh: AbstractSet[int],
    cursor: int,
    low: int,
    high: int,
) -> list[ColumnElement[bool]]:
    """Which review entries a page carries: as its records, those with seq
    in the page's range, and every entry of an owner sent whole (``kept``
    None: every owner, for an admin)."""
    conditions: list[ColumnElement[bool]] = []
    if (kept is None or kept) and high > low:
        conditions.append(reviews.owners_between(kept, low, high))
    if pending and high > cursor:
        conditions.append(reviews.owners_between(pending, cursor, high))
    if fresh:
        conditions.append(reviews.owners_between(fresh, None, high))
    return conditions


def _pull_columns(session: Session, table: Table) -> tuple[Any, ...]:
    """The columns a pull reads, fetched raw: JSON and timestamps are decoded
    by ``_remote_record`` (much faster than the column types, page after
    page), plus the stored size of the fields for the page's byte budget.
    ``_remote_record`` unpacks them by position: keep the order."""
    if session.get_bind().dialect.name == "postgresql":
        size = func.octet_length(sql_cast(table.c.fields, Text))
    else:  # bytes, not characters: Chinese is three bytes a character
        size = func.length(sql_cast(table.c.fields, LargeBinary))
    return (
        table.c.id, table.c.kind, table.c.owner_id, table.c.author,
        type_coerce(table.c.created_at, String).label("created_at"),
        sql_cast(table.c.fields, Text).label("fields"),
        sql_cast(table.c.versions, Text).label("versions"),
        table.c.seq, size.label("size"),
    )


def _kind_order(record: RemoteRecord) -> str:
    return record["kind"]


def _remote_record(
    row: Any,
    whole: set[int],
    since: int,
    devices: dict[str, int],
    echo: str | None = None,
    whole_but_echo: set[int] | frozenset[int] = frozenset(),
) -> tuple[RemoteRecord | None, float]:
    """A record with its fields set above seq ``since`` and not by device
    ``echo`` (all fields for an owner in ``whole``, all but ``echo``'s for one
    in ``whole_but_echo``), each as ``[value, clock, index into devices]``
    (``devices`` grows as needed), and the fraction of the record's fields
    that this is. ``None`` when no field is left to send."""
    record_id, kind, owner, author, created, raw_fields, raw_versions = row[:7]
    versions = json.loads(raw_versions)
    if owner in whole:
        sent = versions
    elif owner in whole_but_echo:
        sent = {name: v for name, v in versions.items() if v[1] != echo}
    elif echo is None:
        sent = {name: v for name, v in versions.items() if v[2] > since}
    else:
        sent = {name: v for name, v in versions.items() if v[2] > since and v[1] != echo}
    if not sent:
        return None, 0.0  # (the values are not even decoded: a device's own push coming back)
    get, index = json.loads(raw_fields).get, devices.setdefault
    fields = {name: [get(name), v[0], index(v[1], len(devices))] for name, v in sent.items()}
    if isinstance(created, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", always UTC
        created = created.replace(" ", "T", 1) + "+00:00"
    else:
        created = as_utc(created).isoformat()
    record: RemoteRecord = {
        "id": record_id,
        "kind": kind,
        "owner": owner,
        "author": author,
        "created_at": created,
        "fields": fields,
    }
    return record, (len(fields) / len(versions) if versions else 1.0)
