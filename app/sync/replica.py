"""The local side of sync: what to push, and applying what was pulled.

Everything here works on a :class:`~app.models.store.Store` through its
public units of work (``reading()``, ``writing()``), one transaction per
step, so the store's guarantees hold for sync too: a pull page is applied
wholly or not at all *together with* the cursor that says it was applied,
and a push batch counts as sent only once ``pushed_seq`` moved past it (in
:func:`mark_pushed`, after the server's answer).

Pulled values never enter the change log: they are the server's already.
Every field is applied by the same order the server uses
(:func:`~app.protocol.sync.version_key`), so all replicas pick the same winner.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from app.errors import RecordNotFound
from app.models.fields import TRACKED_META_FIELDS, Kind, Status, kind_spec
from app.models.orm import (
    Change,
    Conflict,
    Meta,
    Person,
    Record,
    Review,
    SyncRejection,
    utcnow,
)
from app.models.orm import Notice as NoticeRow
from app.models.store import Store, Work
from app.models.validation import check_field, empty_value
from app.protocol.sync import (
    MAX_PUSH_CHANGES,
    MAX_PUSH_REVIEWS,
    PUSH_BATCH_BYTES,
    PullResponse,
    PushChange,
    PushReview,
    RemoteRecord,
    RemoteReview,
    ReviewResult,
    version_key,
)

log = logging.getLogger("fieldbook.sync")

# Meta keys this module owns besides the store's own (device_id, clock,
# pushed_seq, pull_cursor).
SERVER_URL = "server_url"
USERNAME = "username"
USER_ID = "user_id"
ROLE = "role"
DISPLAY_NAME = "display_name"
LAST_SYNCED_AT = "last_synced_at"
SCOPE = "scope"
RESUME = "pull_resume"  # the server's token for the next page of an unfinished pull
PEOPLE_HASH = "people_hash"  # the server's hash of the people list this store holds

_READ_CHUNK = 2000  # change-log rows read at a time while building a batch
_IN_CHUNK = 500  # ids per "IN (...)" (SQLite allows 999 parameters on old builds)
_KINDS = frozenset(k.value for k in Kind)
_STATUSES = frozenset(s.value for s in Status)
_RECORDS = cast(Table, Record.__table__)
_FIELD_SPECS = {k.value: kind_spec(k).by_name for k in Kind}
# A new record's fields before anything is applied (Store.create's defaults).
_EMPTY_FIELDS = {k.value: {f.name: empty_value(f) for f in kind_spec(k).fields} for k in Kind}


# --- meta ------------------------------------------------------------------


@dataclass(frozen=True)
class SyncMeta:
    """What the store knows about its account and its sync state."""

    device_id: str
    server_url: str | None
    username: str | None
    user_id: int | None
    role: str | None
    display_name: str | None
    last_synced_at: dt.datetime | None  # UTC, when the server last confirmed everything
    pushed_seq: int
    pull_cursor: int
    scope: list[int] | None
    resume: str | None  # set while a pull run is unfinished (see PullResponse.resume)
    clock: int
    people_hash: str = ""  # of the people list held ("" before the first one)

    @property
    def signed_up(self) -> bool:
        """Whether the store has an account (it may still need a password)."""
        return bool(self.server_url and self.username)


def _meta(session: Session) -> dict[str, str]:
    return {key: value for key, value in session.execute(select(Meta.key, Meta.value))}


def _set_meta(session: Session, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            session.execute(delete(Meta).where(Meta.key == key))
        else:
            session.merge(Meta(key=key, value=value))


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def sync_meta(store: Store) -> SyncMeta:
    with store.reading() as session:
        meta = _meta(session)
    synced = meta.get(LAST_SYNCED_AT)
    scope = meta.get(SCOPE)
    return SyncMeta(
        device_id=meta["device_id"],
        server_url=meta.get(SERVER_URL) or None,
        username=meta.get(USERNAME) or None,
        user_id=_int_or_none(meta.get(USER_ID)),
        role=meta.get(ROLE) or None,
        display_name=meta.get(DISPLAY_NAME),
        last_synced_at=dt.datetime.fromisoformat(synced) if synced else None,
        pushed_seq=int(meta.get("pushed_seq", "0")),
        pull_cursor=int(meta.get("pull_cursor", "0")),
        scope=[int(o) for o in json.loads(scope)] if scope else None,
        resume=meta.get(RESUME) or None,
        clock=int(meta.get("clock", "0")),
        people_hash=meta.get(PEOPLE_HASH) or "",
    )


def set_account(
    store: Store,
    *,
    server_url: str,
    username: str,
    user_id: int,
    role: str,
    display_name: str = "",
) -> None:
    """Remember who this store syncs as (at sign-in)."""
    with store.writing() as work:
        _set_meta(
            work.session,
            {
                SERVER_URL: server_url.rstrip("/"),
                USERNAME: username,
                USER_ID: str(user_id),
                ROLE: role,
                DISPLAY_NAME: display_name,
            },
        )


def set_last_synced(store: Store, when: dt.datetime | None = None) -> dt.datetime:
    when = (when or utcnow()).astimezone(dt.UTC)
    with store.writing() as work:
        _set_meta(work.session, {LAST_SYNCED_AT: when.isoformat(timespec="seconds")})
    return when


def has_synced(store: Store) -> bool:
    """Whether the store holds anything from a server (then it belongs to that account)."""
    meta = sync_meta(store)
    return meta.pull_cursor > 0 or meta.pushed_seq > 0


# --- push ------------------------------------------------------------------


_UNSENT_SQL = text(
    "SELECT seq, record_id, kind, field, value, clock, known FROM changes "
    "WHERE seq > :after ORDER BY seq LIMIT :limit"
)
# A group's JSON besides its record id, kind and fields: the keys, numbers
# and punctuation of {"seq":…,"record_id":…,"kind":…,"clock":…,"known":…,"fields":{}}.
_GROUP_OVERHEAD = 96


def _unsent_rows(session: Session, after: int) -> Iterator[Any]:
    """Change-log rows after ``after`` in seq order, read a chunk at a time,
    as plain tuples with the value as stored: JSON text, or a number (SQLite
    gives the column numeric affinity: the text ``3`` is kept as 3)."""
    while True:
        rows = session.execute(_UNSENT_SQL, {"after": after, "limit": _READ_CHUNK}).all()
        yield from rows
        if len(rows) < _READ_CHUNK:
            return
        after = rows[-1][0]


def pending_groups(
    store: Store,
    limit_bytes: int = PUSH_BATCH_BYTES,
    limit_groups: int = MAX_PUSH_CHANGES,
    *,
    after: int | None = None,
) -> list[PushChange]:
    """The next push batch: unsent change-log rows grouped per (record, local
    transaction), in seq order, at most ``limit_groups`` groups and about
    ``limit_bytes`` of JSON (always at least one group when any is pending).
    ``after``: the batch after the one ending at that seq, read while that
    one is still on its way (by default, the first one not confirmed).

    A group's ``seq`` is the highest of its rows (what ``pushed_seq`` becomes
    once it is confirmed) and its ``known`` the lowest (the oldest cursor any
    of its coalesced edits was made over).
    """
    groups: list[PushChange] = []
    size = 0  # of the groups taken, as JSON (counted from the stored JSON text)
    parts: list[str] = []  # the current group's fields as JSON members, parsed in one go

    def close(group: PushChange) -> PushChange:
        # Field names are identifiers ([A-Za-z_][A-Za-z0-9_]*): nothing to escape.
        group["fields"] = json.loads("{" + ",".join(parts) + "}")
        return group

    with store.reading() as session:
        pushed = int(session.get_one(Meta, "pushed_seq").value)
        if after is not None:
            pushed = max(pushed, after)
        current: PushChange | None = None
        cost = 0
        for seq, record_id, kind, name, raw, clock, known in _unsent_rows(session, pushed):
            if current is None or current["clock"] != clock or current["record_id"] != record_id:
                if current is not None:
                    if len(groups) >= limit_groups or (groups and size + cost > limit_bytes):
                        return groups
                    groups.append(close(current))
                    size += cost
                parts.clear()
                current = PushChange(seq=seq, record_id=record_id, kind=kind, clock=clock,
                                     known=known, fields={})
                cost = _GROUP_OVERHEAD + len(record_id) + len(kind)
            elif seq > current["seq"]:
                current["seq"] = seq
            if known < current["known"]:
                current["known"] = known
            # The stored JSON text, or a number (the column's affinity turned
            # the JSON text into one), or NULL.
            value = raw if isinstance(raw, str) else "null" if raw is None else repr(raw)
            parts.append(f'"{name}":{value}')
            cost += len(value.encode()) + len(name) + 4
        if current is not None and len(groups) < limit_groups and not (groups and size + cost > limit_bytes):
            groups.append(close(current))
    return groups


def pending_count(store: Store) -> int:
    """Unsent change groups plus queued review entries (what "N changes not
    yet synced" counts: a comment waiting to be sent is a change too)."""
    sql = text(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM changes WHERE seq > "
        "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pushed_seq') "
        "GROUP BY record_id, clock)) + (SELECT count(*) FROM reviews WHERE pending = 1)"
    )
    with store.reading() as session:
        return int(session.execute(sql).scalar_one())


def pending_review_count(store: Store) -> int:
    """Review entries made here and not yet confirmed by the server."""
    stmt = select(func.count()).select_from(Review).where(Review.pending.is_(True))
    with store.reading() as session:
        return int(session.execute(stmt).scalar_one())


def pending_reviews(
    store: Store, limit: int | None = None, *, exclude: Iterable[str] = ()
) -> list[PushReview]:
    """The queued review entries to push, oldest first, at most ``limit``
    (default ``MAX_PUSH_REVIEWS``), leaving out ``exclude`` (those sent
    already in this run: an entry the server did not answer for waits for
    the next run instead of looping)."""
    limit = MAX_PUSH_REVIEWS if limit is None else limit
    skip = set(exclude)
    stmt = (
        select(Review)
        .where(Review.pending.is_(True))
        .order_by(Review.written_at, Review.id)
        .limit(limit + len(skip))
    )
    with store.reading() as session:
        rows = [r for r in session.scalars(stmt) if r.id not in skip][:limit]
        return [
            PushReview(
                id=r.id, record_id=r.record_id, action=cast(Any, r.action), body=r.body,
                basis=list(r.basis or []),
                written_at=r.written_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            )
            for r in rows
        ]


@dataclass(frozen=True)
class ReviewRejection:
    """A pushed review entry the server refused: removed from the store, so
    its text is kept here for the user (to copy it, or know why)."""

    id: str
    record_id: str
    action: str
    body: str
    reason: str


def mark_reviews_sent(
    store: Store, sent: Sequence[PushReview], answers: Iterable[ReviewResult]
) -> tuple[list[ReviewResult], list[ReviewRejection]]:
    """Apply the server's answers to pushed entries, in one transaction:
    ``accepted``/``superseded`` ones are confirmed (no longer pending; the
    reason of a superseded one kept for the thread), ``rejected`` ones
    removed and returned. Answers for entries not sent are ignored; sent
    entries without an answer stay pending. Returns ``(confirmed, rejected)``."""
    by_id = {r["id"]: r for r in sent}
    confirmed: list[ReviewResult] = []
    refused: list[ReviewRejection] = []
    with store.writing() as work:
        for answer in answers:
            entry = by_id.get(answer.get("id", ""))
            if entry is None:
                log.warning("The server answered for review entry %r, which was not sent", answer.get("id"))
                continue
            outcome, reason = answer.get("outcome"), answer.get("reason") or ""
            if outcome == "rejected":
                work.session.execute(delete(Review).where(Review.id == entry["id"]))
                refused.append(ReviewRejection(entry["id"], entry["record_id"], entry["action"],
                                               entry["body"], reason or "refused by the server"))
            elif outcome in ("accepted", "superseded"):
                work.session.execute(
                    update(Review).where(Review.id == entry["id"])
                    .values(pending=False, outcome=outcome, reason=reason)
                )
                confirmed.append(answer)
            else:
                log.warning("Unknown outcome %r for review entry %s; sending it again later",
                            outcome, entry["id"])
    return confirmed, refused


@dataclass(frozen=True)
class Rejection:
    """A pushed group the server refused, kept to show on the record.

    ``current``: the server's copy of the group's fields (``PushResult.current``),
    which :func:`mark_pushed` puts back; not kept once applied."""

    seq: int
    record_id: str
    reason: str
    fields: tuple[str, ...] = ()
    current: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def mark_pushed(
    store: Store,
    seq: int,
    rejections: Iterable[Rejection] = (),
    *,
    owner_id: int | None = None,
    record_ids: Iterable[str] = (),
) -> None:
    """The server confirmed everything up to ``seq``: move ``pushed_seq``
    (never backwards), drop the confirmed rows from the change log (the
    server holds them; the newest seq given out stays in ``sqlite_sequence``),
    keep the rejections, put the refused fields back to the server's copy
    (:func:`_put_back`), and give the new records among ``record_ids`` (those
    without an owner yet) to ``owner_id``, all in one transaction."""
    rejected = list(rejections)
    refused = {r.record_id for r in rejected}
    claimed = sorted({rid for rid in record_ids if rid not in refused})
    with store.writing() as work:
        session = work.session
        session.execute(
            text("UPDATE meta SET value = :seq WHERE key = 'pushed_seq' "
                 "AND CAST(value AS INTEGER) < :seq"),
            {"seq": seq},
        )
        session.execute(delete(Change).where(Change.seq <= seq))
        for r in rejected:
            session.merge(
                SyncRejection(seq=r.seq, record_id=r.record_id, reason=r.reason, fields=list(r.fields))
            )
            if r.current is not None:
                _put_back(work, r.record_id, r.current)
        if owner_id is not None:
            for part in _chunks(claimed):
                session.execute(
                    update(Record)
                    .where(Record.id.in_(part), Record.owner_id.is_(None))
                    .values(owner_id=owner_id)
                    .execution_options(synchronize_session=False)
                )


def _put_back(work: Work, record_id: str, current: Mapping[str, Any]) -> None:
    """Return a record's refused fields to the server's copy, with the
    server's versions. The refused edit's own version is higher than the
    server's, so no pull would ever undo it: the laptop would keep a value
    (a delete, a title) no one else has. A field edited again since (a change
    still unsent) is left alone: that edit gets its own answer."""
    session = work.session
    record = session.get(Record, record_id)
    if record is None:
        return
    unsent = set(session.scalars(select(Change.field).where(Change.record_id == record_id)))
    previous = Store.values_of(record)
    versions = dict(record.versions or {})
    top = 0
    for name, entry in current.items():
        if name in unsent or not isinstance(name, str):
            continue
        try:
            if entry is None:
                value = _empty_of(record.kind, name)
                versions.pop(name, None)
            else:
                raw, clock, device = entry
                value = _canonical(record.kind, name, raw)
                versions[name] = [int(clock), str(device)]
                top = max(top, int(clock))
        except (_Invalid, TypeError, ValueError, KeyError):
            log.warning("Could not put back field %s of %s from the server's answer: %r",
                        name, record_id, entry)
            continue
        setattr(record, name, value)
        if name == "deleted":
            record.deleted_at = utcnow() if value else None
    record.versions = versions
    record.updated_at = utcnow()
    work.reindex(record, previous)
    if top:
        session.execute(
            text("UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), :clock) AS TEXT) "
                 "WHERE key = 'clock'"),
            {"clock": top},
        )
    log.info("Put %s back to the server's copy of %s", record_id, sorted(current))


def _empty_of(kind: str, name: str) -> Any:
    """A field's value before anything set it (a record's meta fields too)."""
    meta = {"deleted": False, "status": Status.DRAFT.value, "revision_of": None, "revision": 1}
    if name in meta:
        return meta[name]
    return _EMPTY_FIELDS[kind][name]


# --- pull ------------------------------------------------------------------


@dataclass
class ApplyResult:
    """What one pull page changed locally."""

    records: int = 0  # records of the page (applied or already current)
    created: int = 0
    updated: int = 0  # existing records at least one field of which changed
    fields: int = 0  # field values written
    skipped: int = 0  # invalid or unknown remote values left out
    conflicts: int = 0
    notices: int = 0
    removed: int = 0  # local records dropped because their owner left the scope
    cursor: int = 0
    unindexed: int = 0  # records applied whose search entry waits for Store.index_pending
    reviews: int = 0  # review entries of the page (new or already here)
    people: int | None = None  # people stored, when the page carried the list


def _parse_time(value: str | None) -> dt.datetime:
    if value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            log.warning("Unreadable time from the server: %r", value)
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return utcnow()


class _Invalid(ValueError):
    pass


def _canonical(kind: str, name: str, value: Any) -> Any:
    """A remote JSON value as the local column wants it, or ``_Invalid``."""
    if name == "deleted":
        if not isinstance(value, bool):
            raise _Invalid("must be true or false")
        return value
    if name == "status":
        if not isinstance(value, str) or value not in _STATUSES:
            raise _Invalid("not a known status")
        return value
    if name == "revision_of":
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 64):
            raise _Invalid("not a record id")
        return value
    if name == "revision":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _Invalid("not a revision number")
        return value
    spec = _FIELD_SPECS[kind].get(name)
    if spec is None:
        raise _Invalid("unknown field")
    canonical, problem = check_field(spec, value)
    if problem is not None:
        raise _Invalid(problem.english())
    return canonical


# Pages with more records than this leave their search entries to
# ``Store.index_pending`` (the engine runs it after the sync): an initial pull
# of thousands of records is then listed at once, and searchable moments
# later. Smaller pages (every sync but the first) are indexed as they apply.
DEFER_INDEX_ABOVE = 200


@dataclass(slots=True)
class _Local:
    """One record of the page as it will be written: its whole row (every
    column of its kind), and what changed in it."""

    row: dict[str, Any]
    new: bool
    changed: set[str]
    previous: dict[str, Any] | None = None  # the row as its search entry was built (existing, indexed)
    written: bool = False  # a field of it was set by this page


def _new_row(remote: RemoteRecord, kind: str) -> dict[str, Any]:
    """A new record's row as ``Store.create`` lays it out, every field empty."""
    created = _parse_time(remote.get("created_at"))
    row: dict[str, Any] = {
        "id": remote["id"],
        "kind": kind,
        "author": remote.get("author") or "",
        "created_at": created,
        "updated_at": created,
        "status": Status.DRAFT.value,
        "deleted": False,
        "deleted_at": None,
        "versions": {},
        "owner_id": remote.get("owner"),
        "revision_of": None,
        "revision": 1,
    }
    row.update(_EMPTY_FIELDS[kind])  # (the empty lists are shared, and never changed in place)
    return row


def _apply_record(
    remote: RemoteRecord,
    devices: Sequence[str],
    result: ApplyResult,
    local: dict[str, _Local],
    now: dt.datetime,
) -> int:
    """Apply one remote record to its row in ``local`` (added if new); returns
    the highest clock seen. Writes nothing yet: ``_write_rows`` does, for the
    whole page."""
    kind = remote.get("kind")
    if kind not in _KINDS:
        log.warning("Skipped record %s of unknown kind %r from the server", remote.get("id"), kind)
        result.skipped += 1
        return 0
    assert isinstance(kind, str)
    state = local.get(remote["id"])
    created = state is None
    if state is None:
        state = local[remote["id"]] = _Local(_new_row(remote, kind), True, set())
    elif state.row["kind"] != kind:
        log.warning("Skipped record %s: the server says %s, this store %s", remote["id"], kind,
                    state.row["kind"])
        result.skipped += 1
        return 0
    row, changed = state.row, state.changed
    result.records += 1
    owner = remote.get("owner")
    if owner is not None and row["owner_id"] != owner:
        row["owner_id"] = owner
        changed.add("owner_id")
    author = remote.get("author")
    if author and row["author"] != author:
        row["author"] = author  # the server names the author (not a versioned field)
        changed.add("author")
    versions: dict[str, Any] = row["versions"]
    max_clock = 0
    written = 0
    for name, entry in remote["fields"].items():
        try:
            value, clock, index = entry
            device = devices[index]
            clock = int(clock)
        except (TypeError, ValueError, IndexError):
            log.warning("Skipped field %s of record %s: malformed version %r", name, row["id"], entry)
            result.skipped += 1
            continue
        if clock > max_clock:
            max_clock = clock
        mine = versions.get(name)
        if mine is not None and version_key(clock, device) <= version_key(int(mine[0]), str(mine[1])):
            continue
        try:
            canonical = _canonical(kind, name, value)
        except _Invalid as exc:
            log.warning("Skipped field %s of record %s from the server: %s", name, row["id"], exc)
            result.skipped += 1
            continue
        if not state.new and state.previous is None and row.get("search_rowid") is not None:
            state.previous = dict(row)  # what its search entry was built from
        row[name] = canonical
        changed.add(name)
        if name == "deleted":
            row["deleted_at"] = now if canonical else None
            changed.add("deleted_at")
        versions[name] = [clock, device]
        written += 1
    if created:
        result.created += 1
    if not written:
        return max_clock
    changed.add("versions")
    state.written = True
    result.fields += written
    if not created:
        result.updated += 1
        row["updated_at"] = now
        changed.add("updated_at")
    return max_clock


def _load_rows(session: Session, ids: Sequence[str]) -> dict[str, _Local]:
    """The page's records already in the store, as rows, in a few queries."""
    local: dict[str, _Local] = {}
    for part in _chunks(list(dict.fromkeys(ids))):
        for row in session.execute(select(_RECORDS).where(_RECORDS.c.id.in_(part))).mappings():
            values = dict(row)
            values["versions"] = dict(values["versions"] or {})
            local[values["id"]] = _Local(values, False, set())
    return local


def _write_rows(work: Work, local: dict[str, _Local], *, index: bool) -> int:
    """Write the page's new and changed rows with executemany, and bring
    their search entries up to date (now, or left to ``Store.index_pending``
    when not ``index``). Returns how many records wait for their entry."""
    new: list[dict[str, Any]] = []
    changed: list[_Local] = []
    for state in local.values():
        if state.new:
            new.append(state.row)
        elif state.changed:
            changed.append(state)
    # Any written field moves a record to the top of "recently changed" in
    # search, as a local save does: a new entry.
    searched = [state for state in changed if state.written]
    waiting = work.refresh_search_entries(
        [(state.row, state.previous) for state in searched], index=index
    )
    for state in searched:
        state.changed.add("search_rowid")
    if new:
        work.insert_records(new, index=index)
        if not index:
            waiting += sum(not row["deleted"] for row in new)
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for state in changed:
        columns = tuple(sorted(state.changed))
        updates.setdefault(columns, []).append(
            {"_id": state.row["id"], **{f"_{name}": state.row[name] for name in columns}}
        )
    for columns, params in updates.items():
        work.session.execute(
            update(_RECORDS)
            .where(_RECORDS.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in columns}),
            params,
        )
    return waiting


def _drop_owners(work: Work, owners: Sequence[int]) -> int:
    """Remove every local record of ``owners``, with its unsent changes, its
    search entry, conflicts, notices and rejections."""
    session = work.session
    ids: list[str] = []
    for record in session.scalars(select(Record).where(Record.owner_id.in_(list(owners)))):
        ids.append(record.id)
        if record.search_rowid is not None:
            record.deleted = True  # reindex then only takes the entry out
            work.reindex(record)
    session.flush()
    for part in _chunks(ids):
        for model in (Change, Conflict, NoticeRow, SyncRejection, Review):
            session.execute(
                delete(model).where(model.record_id.in_(part)).execution_options(
                    synchronize_session=False
                )
            )
        session.execute(
            delete(Record).where(Record.id.in_(part)).execution_options(synchronize_session=False)
        )
    session.expunge_all()
    if ids:
        log.info("Dropped %d records of owners %s that are no longer visible", len(ids), list(owners))
    return len(ids)


def _upsert(session: Session, model: type[Conflict] | type[NoticeRow], key: Any,
            fresh: dict[str, Any], values: dict[str, Any]) -> None:
    """The server's copy of a conflict or notice by id: a new row also gets
    ``fresh`` (its local state: unresolved, unseen), a known one keeps it."""
    row = session.get(model, key)
    if row is None:
        row = model(id=key, **fresh)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)


def apply_pull_page(store: Store, page: PullResponse, *, index: bool | None = None,
                    keep_position: bool = False) -> ApplyResult:
    """Apply one pull page in ONE local transaction, with its cursor, scope
    and resume token (kept while ``more``, so a pull cut off between pages
    continues that same run).

    If anything fails, nothing of the page is applied and the cursor stays,
    so the next pull asks for the same page again.

    ``index``: refresh the search entries of the page's records now (``True``)
    or leave them to ``Store.index_pending`` (``False``); by default, now
    unless the page holds more than ``DEFER_INDEX_ABOVE`` records.
    ``ApplyResult.unindexed`` counts the records left waiting.

    ``keep_position``: apply the page's records, conflicts, notices and
    review entries (each by version or id, so nothing newer is rolled back)
    but leave the store's cursor, scope, resume token and people as they
    are, and remove no owner: for a page of a pull run that did not start
    where this store stands now (a parcel's answer that arrived after the
    store synced otherwise; docs/parcels.md "Import").
    """
    result = ApplyResult(cursor=page["cursor"])
    devices = page.get("devices") or []
    remotes = page.get("records") or []
    if index is None:
        index = len(remotes) <= DEFER_INDEX_ABOVE
    now = utcnow()
    with store.writing() as work:
        session = work.session
        if page.get("removed") and not keep_position:
            result.removed = _drop_owners(work, page["removed"])
        # The page's local records in a few queries; every write below is
        # one executemany per kind (new) or per set of changed columns.
        local = _load_rows(session, [r["id"] for r in remotes if isinstance(r.get("id"), str)])
        max_clock = 0
        for remote in remotes:
            max_clock = max(max_clock, _apply_record(remote, devices, result, local, now))
        result.unindexed = _write_rows(work, local, index=index)
        for c in page.get("conflicts") or []:
            max_clock = max(max_clock, int(c["clock"]), int(c["winner_clock"]))
            _upsert(session, Conflict, c["id"], {"resolved": False}, {
                "record_id": c["record_id"], "field": c["field"], "value": c["value"],
                "clock": int(c["clock"]), "device": c["device"],
                "winner_clock": int(c["winner_clock"]), "winner_device": c["winner_device"],
            })
            result.conflicts += 1
        for n in page.get("notices") or []:
            _upsert(session, NoticeRow, n["id"], {"seen": False},
                    {"record_id": n["record_id"], "kind": n["kind"], "message": n["message"]})
            result.notices += 1
        result.reviews = _apply_reviews(session, page.get("reviews") or [])
        if "people" in page and not keep_position:
            result.people = _store_people(session, page["people"])
        if max_clock:
            # Lamport: the next local tick must be above every clock seen.
            session.execute(
                text("UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), :clock) AS TEXT) "
                     "WHERE key = 'clock'"),
                {"clock": max_clock},
            )
        if keep_position:
            return result
        resume = page.get("resume") if page.get("more") else None
        _set_meta(
            session,
            {
                "pull_cursor": str(int(page["cursor"])),
                SCOPE: json.dumps(sorted(page.get("scope") or [])),
                RESUME: str(resume) if resume else None,
            },
        )
        if page.get("people_hash") is not None:
            _set_meta(session, {PEOPLE_HASH: str(page.get("people_hash"))})
    return result


# Pulled entries by id: a new one is inserted (seen when it is the user's
# own), a known one takes the server's copy but keeps whether it was seen and
# what this device wrote (``basis``, ``written_at``), and is no longer pending
# (its push answer may have been lost). Applying a page twice changes nothing.
_UPSERT_REVIEW = text("""
INSERT INTO reviews (id, record_id, author_id, author, action, body, basis, outcome, reason,
                     at, written_at, seq, pending, seen)
VALUES (:id, :record_id, :author_id, :author, :action, :body, '[]', :outcome, :reason,
        :at, :at, :seq, 0, :seen)
ON CONFLICT (id) DO UPDATE SET
    record_id = excluded.record_id, author_id = excluded.author_id, author = excluded.author,
    action = excluded.action, body = excluded.body, outcome = excluded.outcome,
    reason = excluded.reason, at = excluded.at, seq = excluded.seq, pending = 0
""")


def _review_params(remote: RemoteReview, me: int | None) -> dict[str, Any] | None:
    """One pulled entry as the upsert's parameters, or ``None`` if malformed."""
    try:
        author_id = int(remote["author_id"])
        return {
            "id": str(remote["id"]), "record_id": str(remote["record_id"]), "author_id": author_id,
            "author": str(remote.get("author") or ""), "action": str(remote["action"]),
            "body": str(remote.get("body") or ""), "outcome": str(remote.get("outcome") or "accepted"),
            "reason": str(remote.get("reason") or ""), "seq": int(remote["seq"]),
            "at": _parse_time(remote.get("at")).astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "seen": author_id == me,
        }
    except (KeyError, TypeError, ValueError):
        log.warning("Skipped a malformed review entry from the server: %r", remote)
        return None


def _apply_reviews(session: Session, remotes: Sequence[RemoteReview]) -> int:
    """Upsert the page's review entries by id, in the page's transaction."""
    if not remotes:
        return 0
    me = _int_or_none(_meta(session).get(USER_ID))
    params = [p for p in (_review_params(r, me) for r in remotes) if p is not None]
    if params:
        session.execute(_UPSERT_REVIEW, params)
    return len(params)


def _store_people(session: Session, people: Sequence[Any]) -> int:
    """Replace the people list (the server sends it whole, or not at all)."""
    rows = []
    for p in people:
        try:
            rows.append({"id": int(p["id"]), "name": str(p.get("name") or ""),
                         "role": str(p.get("role") or "fellow"), "school": str(p.get("school") or ""),
                         "cohorts": [str(c) for c in p.get("cohorts") or []]})
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("Skipped a malformed person from the server: %r", p)
    session.execute(delete(Person))
    if rows:
        session.execute(insert(Person), rows)
    return len(rows)


def would_remove(store: Store, page: PullResponse) -> tuple[int, int]:
    """``(count, total)``: live local records this page would delete (winning
    tombstones and records of owners that left the scope) out of all live
    local records. For the mass-delete guard, before applying the page."""
    devices = page.get("devices") or []
    tombstones: dict[str, tuple[int, str]] = {}
    for remote in page.get("records") or []:
        entry = remote.get("fields", {}).get("deleted")
        try:
            if entry and entry[0] is True:
                tombstones[remote["id"]] = (int(entry[1]), devices[entry[2]])
        except (TypeError, ValueError, IndexError):
            continue
    removed = list(page.get("removed") or [])
    live = Record.deleted.is_(False)
    with store.reading() as session:
        total = int(session.execute(select(func.count()).select_from(Record).where(live)).scalar_one())
        doomed: set[str] = set()
        if removed:
            doomed.update(
                session.scalars(select(Record.id).where(live, Record.owner_id.in_(removed))).all()
            )
        ids = [rid for rid in tombstones if rid not in doomed]
        for part in _chunks(ids):
            for rid, versions in session.execute(
                select(Record.id, Record.versions).where(live, Record.id.in_(part))
            ):
                local = (versions or {}).get("deleted")
                remote_version = tombstones[rid]
                if local is None or version_key(*remote_version) > version_key(int(local[0]), str(local[1])):
                    doomed.add(rid)
    return len(doomed), total


# --- conflicts, notices, rejections -----------------------------------------


@dataclass(frozen=True)
class ConflictInfo:
    """A value that lost to a concurrent edit; ``value`` is its JSON form."""

    id: int
    record_id: str
    field: str
    value: Any
    clock: int
    device: str
    winner_clock: int
    winner_device: str
    resolved: bool


def _conflict_info(c: Conflict) -> ConflictInfo:
    return ConflictInfo(
        c.id, c.record_id, c.field, c.value, c.clock, c.device, c.winner_clock, c.winner_device,
        c.resolved,
    )


def conflicts_for(store: Store, record_id: str, *, include_resolved: bool = False) -> list[ConflictInfo]:
    stmt = select(Conflict).where(Conflict.record_id == record_id).order_by(Conflict.id)
    if not include_resolved:
        stmt = stmt.where(Conflict.resolved.is_(False))
    with store.reading() as session:
        return [_conflict_info(c) for c in session.scalars(stmt)]


def open_conflicts(store: Store) -> list[ConflictInfo]:
    """Every unresolved conflict on a live record, oldest first."""
    stmt = (
        select(Conflict)
        .join(Record, Record.id == Conflict.record_id)
        .where(Conflict.resolved.is_(False), Record.deleted.is_(False))
        .order_by(Conflict.id)
    )
    with store.reading() as session:
        return [_conflict_info(c) for c in session.scalars(stmt)]


def resolve_conflict(store: Store, conflict_id: int, restore: bool) -> None:
    """Close a conflict. ``restore=True`` first puts the value that lost back,
    as a normal local edit (so it syncs, and wins, like any new edit)."""
    with store.reading() as session:
        conflict = session.get(Conflict, conflict_id)
        if conflict is None:
            raise RecordNotFound(f"conflict {conflict_id}")
        info = _conflict_info(conflict)
        record = session.get(Record, info.record_id)
        kind = record.kind if record is not None else None
    if restore and not info.resolved:
        if kind is None:
            raise RecordNotFound(info.record_id)
        if info.field == "deleted":
            if info.value:
                store.delete(info.record_id)
            else:
                store.restore(info.record_id)
        elif info.field in TRACKED_META_FIELDS:
            store.set_meta_field(info.record_id, info.field, _canonical(kind, info.field, info.value))
        else:
            store.update(info.record_id, {info.field: _canonical(kind, info.field, info.value)})
    with store.writing() as work:
        work.session.execute(update(Conflict).where(Conflict.id == conflict_id).values(resolved=True))


@dataclass(frozen=True)
class NoticeInfo:
    id: int
    record_id: str
    kind: str
    message: str


def unseen_notices(store: Store) -> list[NoticeInfo]:
    stmt = select(NoticeRow).where(NoticeRow.seen.is_(False)).order_by(NoticeRow.id)
    with store.reading() as session:
        return [NoticeInfo(n.id, n.record_id, n.kind, n.message) for n in session.scalars(stmt)]


def mark_notices_seen(store: Store, ids: Iterable[int]) -> None:
    wanted = list(ids)
    with store.writing() as work:
        for part in _chunks(wanted):
            work.session.execute(update(NoticeRow).where(NoticeRow.id.in_(part)).values(seen=True))


def rejections(store: Store, record_id: str | None = None) -> list[Rejection]:
    stmt = select(SyncRejection).order_by(SyncRejection.seq)
    if record_id is not None:
        stmt = stmt.where(SyncRejection.record_id == record_id)
    with store.reading() as session:
        return [
            Rejection(r.seq, r.record_id, r.reason, tuple(r.fields or ())) for r in session.scalars(stmt)
        ]


def dismiss_rejection(store: Store, seq: int) -> None:
    with store.writing() as work:
        work.session.execute(delete(SyncRejection).where(SyncRejection.seq == seq))


__all__ = [
    "ApplyResult",
    "ConflictInfo",
    "NoticeInfo",
    "Rejection",
    "ReviewRejection",
    "SyncMeta",
    "apply_pull_page",
    "conflicts_for",
    "dismiss_rejection",
    "has_synced",
    "mark_notices_seen",
    "mark_pushed",
    "mark_reviews_sent",
    "open_conflicts",
    "pending_count",
    "pending_groups",
    "pending_review_count",
    "pending_reviews",
    "rejections",
    "resolve_conflict",
    "set_account",
    "set_last_synced",
    "sync_meta",
    "unseen_notices",
    "would_remove",
]
