"""A push batch in memory, and how it is written (docs/sync.md).

``push`` loads the records a request touches into ``Rec``s, applies every
group and review entry to them in a ``Batch`` (``merge``, ``review_rules``)
and only then writes: ``store_batch`` gives each written record, conflict,
notice and review entry its seq from the server's counter and stores them
in a few statements. Kept apart from the rules so that the rules never touch
the database's rows directly, and the counter's lock is held for as short a
time as possible.

Versions are ``[clock, device, seq]``; a version written in this push has
seq ``PENDING`` until ``store_batch`` assigns the real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from sqlalchemy import Table, Text, bindparam, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.protocol.sync import META_FIELDS, ReviewResult
from app.server import blob_store, reviews
from app.server.permissions import visible_owner_ids
from app.server.reviews import REVISION_FIELDS
from app.server.tables import Review, ServerState, SyncConflict, SyncNotice, SyncRecord, User, utcnow

ATTACHMENTS: Final = "attachments"  # the field naming a record's files (docs/attachments.md)
PENDING: Final = -1  # seq of a version written in this push, until seqs are assigned
# Every field that is not a kind's own: writing one is not an "edit" of content.
META: Final = (*META_FIELDS, *REVISION_FIELDS)


class Rejected(Exception):
    def __init__(self, reason: str, fields: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = list(fields)


@dataclass(slots=True)
class Rec:
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
class Pending:
    """A conflict or notice row waiting for its seq."""

    rec: Rec
    row: dict[str, Any]


@dataclass
class Batch:
    session: Session
    user: User
    device: str
    records: dict[str, Rec]
    touched: list[Rec] = field(default_factory=list)
    conflicts: list[Pending] = field(default_factory=list)
    notices: list[Pending] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # review rows waiting for their seq
    answered: dict[str, ReviewResult] = field(default_factory=dict)  # this request's entries by id
    _visible: tuple[set[int] | None] | None = None

    def write(self, rec: Rec, name: str, value: Any, clock: int, device: str) -> None:
        rec.fields[name] = value
        rec.versions[name] = [clock, device, PENDING]
        if not rec.dirty:
            rec.dirty = True
            self.touched.append(rec)

    def sees(self, owner_id: int) -> bool:
        """Whether the pushing user may see ``owner_id``'s records (asked once)."""
        if self._visible is None:
            self._visible = (visible_owner_ids(self.session, self.user),)
        owners = self._visible[0]
        return owners is None or owner_id in owners

    def entry(self, rec: Rec, entry_id: str, action: str, *, body: str = "", outcome: str = "accepted",
              reason: str = "", basis: list[Any] | None = None, written_at: str = "") -> None:
        """A review entry of ``rec`` by the pushing user, stored with the batch."""
        self.entries.append({
            "id": entry_id, "record_id": rec.id, "owner_id": rec.owner_id, "author_id": self.user.id,
            "author": author_name(self.user), "action": action, "body": body, "outcome": outcome,
            "reason": reason, "basis": basis or [], "written_at": written_at,
        })


def author_name(user: User) -> str:
    return user.display_name or user.username


def top_clock(rec: Rec, clock: int) -> int:
    """A clock above every clock on ``rec`` and ``clock``: a server write
    stamped with it beats them all on every replica."""
    return max([int(v[0]) for v in rec.versions.values()] + [clock]) + 1


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    return pg_dialect.insert if name == "postgresql" else sqlite_dialect.insert


def load_records(session: Session, ids: Iterable[str]) -> dict[str, Rec]:
    """The batch's existing records in one query, locked (in id order, so two
    pushes touching the same records cannot deadlock)."""
    table = table_of(SyncRecord)
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
        record_id: Rec(record_id, kind, owner, author, json.loads(fields), json.loads(versions), False)
        for record_id, kind, owner, author, fields, versions in rows
    }


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


def store_batch(batch: Batch) -> None:
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
        if (version := r.versions.get(ATTACHMENTS)) is not None and version[2] == PENDING
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
        session.execute(dialect_insert(session)(ServerState).values(id=1, seq=0).on_conflict_do_nothing())
        end = session.execute(take).scalar_one()
    seq = end - wanted
    for rec in batch.touched:
        seq += 1
        rec.seq = seq
        for version in rec.versions.values():
            if version[2] == PENDING:
                version[2] = seq
    loose_seq = seq + 1
    seq += loose
    now = utcnow()
    for row in batch.entries:
        seq += 1
        row["seq"] = seq
        row["at"] = now

    table = table_of(SyncRecord)
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
            session.execute(table_of(target).insert(), rows)
    if batch.entries:
        session.execute(table_of(Review).insert(), batch.entries)
    # Who may download a file follows from these rows and who holds the
    # files (docs/attachments.md "Who may read a file").
    blob_store.record_attachments(session, batch.user, attached, now)


def _drop_stored_entries(batch: Batch) -> None:
    """Leave out entries the server made itself whose id is stored already
    (the same status write applied again, e.g. a database restored from a
    copy): stored twice they would fail the whole push."""
    ids = [row["id"] for row in batch.entries]
    if not ids:
        return
    taken = reviews.stored_entries(batch.session, ids)
    if taken:
        batch.entries = [row for row in batch.entries if row["id"] not in taken]
