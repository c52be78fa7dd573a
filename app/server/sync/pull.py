"""Pull: one page of what a user may see and has not got yet (docs/sync.md
"Pull").

Pages go in seq order (every write at or below the counter read first has
committed, so a cursor never skips one), bounded by count and bytes, with
only the fields changed since the cursor — except for owners newly visible,
sent whole, which a resume token carries across the pages of one run. A
device's own writes are not sent back to it. Each page also carries the
owner's conflicts and notices, the review entries of its records and, when
it changed, the people the user sees.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, LargeBinary, String, Table, Text, and_, func, or_, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from app.protocol.sync import (
    PROTOCOL_VERSION,
    PULL_PAGE_BYTES,
    PULL_PAGE_MAX,
    Notice,
    PullRequest,
    PullResponse,
    RemoteConflict,
    RemoteRecord,
)
from app.server import reviews
from app.server.database import as_utc
from app.server.permissions import visible_owner_ids
from app.server.sync import templates
from app.server.tables import Device, ServerState, SyncConflict, SyncNotice, SyncRecord, User

log = logging.getLogger("fieldbook.server")

_RECORD_OVERHEAD_BYTES: Final = 160  # id, kind, owner, author, created_at of a pulled record


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
    # Trainers whose shared templates the user gets, and nothing else of theirs
    # (app/server/sync/templates.py): in the scope like the owners seen.
    sources = templates.template_sources(session, user) - visible
    seen = visible
    visible = visible | sources
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

    table = cast(Table, SyncRecord.__table__)
    conditions: list[ColumnElement[bool]] = []
    if kept - sources:
        in_kept = table.c.seq > max(cursor, since)
        if not everyone:  # an admin sees every owner: no need to list them
            in_kept = and_(table.c.owner_id.in_(sorted(kept - sources)), in_kept)
        conditions.append(in_kept)
    if pending - sources:
        conditions.append(and_(table.c.owner_id.in_(sorted(pending - sources)), table.c.seq > cursor))
    if fresh - sources:
        conditions.append(table.c.owner_id.in_(sorted(fresh - sources)))
    is_template = table.c.kind == templates.TEMPLATE
    if kept & sources:
        conditions.append(and_(table.c.owner_id.in_(sorted(kept & sources)), is_template,
                               table.c.seq > max(cursor, since)))
    if pending & sources:
        conditions.append(and_(table.c.owner_id.in_(sorted(pending & sources)), is_template,
                               table.c.seq > cursor))
    if fresh & sources:
        conditions.append(and_(table.c.owner_id.in_(sorted(fresh & sources)), is_template))
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
            record, fraction = _remote_record(row, complete, since, devices, echo, own, sources)
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
            records = [_remote_record(row, complete, since, devices, echo, own, sources)[0]
                       for row in rows]
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
        None if everyone else kept & seen, pending & seen, fresh & seen, cursor, low, new_cursor
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
    sources: AbstractSet[int] = frozenset(),
) -> tuple[RemoteRecord | None, float]:
    """A record with its fields set above seq ``since`` and not by device
    ``echo`` (all fields for an owner in ``whole``, all but ``echo``'s for one
    in ``whole_but_echo``; a template of an owner in ``sources`` as
    ``templates.pulled_fields`` says), each as ``[value, clock, index into
    devices]`` (``devices`` grows as needed), and the fraction of the
    record's fields that this is. ``None`` when no field is left to send."""
    record_id, kind, owner, author, created, raw_fields, raw_versions = row[:7]
    versions = json.loads(raw_versions)
    if owner in sources:
        sent = templates.pulled_fields(raw_fields, versions, whole=owner in whole, since=since)
    elif owner in whole:
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
    fields = {name: (get(name), v[0], index(v[1], len(devices))) for name, v in sent.items()}
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
