"""The local store: one SQLite file per user, safe against power cuts.

Every write is one transaction that changes the record, appends to the change
log and refreshes the search index together, so a saved edit is either wholly
there (and queued for sync) or not at all. The file runs in WAL mode with
``synchronous=FULL``: once a save returns, a power cut cannot take it back.

Methods are safe to call from any thread (each call uses its own connection
from a pool); the UI still sends every write through one writer thread so
writes never wait on each other.

Modules beside the store (reviews, attachments, the sync replica, the CLI)
work on the same file through two public units of work, never through the
store's internals: ``with store.reading() as session`` for a read snapshot
and ``with store.writing() as work`` (a :class:`Work`) for one write
transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.errors import (
    DiskFullError,
    RecordNotFound,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreTooNewError,
    ValidationFailed,
)
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models import schema
from app.models.fields import (
    LISTED_KINDS,
    REVISION_FIELDS,
    TRACKED_META_FIELDS,
    FieldType,
    Kind,
    Status,
    kind_spec,
)
from app.models.orm import Change, Meta, Record, utcnow
from app.models.search import index_body, match_query
from app.models.validation import Problem, empty_value, to_json, validate_record

log = logging.getLogger("fieldbook.store")

BACKUPS_KEPT = 7
_RECORDS = cast(Table, Record.__table__)
_CHANGES = cast(Table, Change.__table__)
# Every column some kind indexes for search (what index_pending reads).
_SEARCHABLE = tuple(dict.fromkeys(f.name for k in Kind for f in kind_spec(k).fields if f.searchable))


# Meta keys of the signed-in account (written by app/sync/replica.py).
_ACCOUNT_USER_ID = "user_id"
_ACCOUNT_ROLE = "role"
_WRITES_ANY_RECORD = "admin"  # the role the server lets change anyone's records
_NOT_YOURS = QT_TRANSLATE_NOOP(
    "Validation", "This record belongs to someone else: you can read it, but not change or delete it."
)


class RecordReadOnly(ValidationFailed):
    """The signed-in user may not change this record: it is someone else's.
    The server would refuse the change; refusing it here keeps it from
    showing on this laptop first. Its problem is English source text,
    translated by the UI under context "Validation"."""

    def __init__(self, record_id: str) -> None:
        super().__init__({"record": Problem(_NOT_YOURS)})
        self.record_id = record_id


@dataclass(frozen=True)
class RecordData:
    """A record as plain data: what editors show and the store saves."""

    id: str
    kind: str
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: str
    deleted: bool
    values: dict[str, Any]
    # The revision chain (docs/review.md): the chain's first record (None for
    # it) and this record's number in it; lists show "rev. N" above 1.
    revision_of: str | None = None
    revision: int = 1

    @property
    def title(self) -> str:
        return str(self.values.get(kind_spec(self.kind).title_field) or "")


@dataclass(frozen=True)
class SaveResult:
    record: RecordData
    changed: tuple[str, ...]


class _RollBack(Exception):
    """Raised inside a write transaction to undo it on purpose."""


class _WholeRecordProblem(Exception):
    """An imported item that is wrong as a whole (not in one field): a record
    here of another kind, an unknown status."""


@dataclass
class _ImportBatch:
    """An import under way in its transaction: the new records' rows (one
    clock tick for all), how many existing ones changed, every problem."""

    new_rows: list[tuple[dict[str, Any], list[dict[str, Any]], str]] = field(default_factory=list)
    updated: int = 0
    problems: dict[str, object] = field(default_factory=dict)
    clock: int | None = None
    known: int = 0


@dataclass(frozen=True)
class ImportItem:
    """One record of an import (``fieldbook import``): its id, kind, the
    fields the file gives, who wrote it and, if given, its status."""

    record_id: str
    kind: str
    fields: Mapping[str, Any]
    author: str
    status: str | None = None


@dataclass(frozen=True)
class ImportCounts:
    """What :meth:`Store.import_records` did."""

    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class ListQuery:
    """What the list shows: one kind, optional filters, one sort column."""

    kind: str
    status: str | None = None
    subject: str | None = None
    grade: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "updated_at"
    descending: bool = True

    def sortable(self) -> tuple[str, ...]:
        return (*kind_spec(self.kind).list_columns, "status", "updated_at")


@dataclass(frozen=True)
class RecordRow:
    """One line of a list: ``cells`` follow the kind's ``list_columns``
    (for search results: title and date)."""

    id: str
    kind: str
    status: str
    updated_at: dt.datetime
    cells: tuple[Any, ...] = field(default_factory=tuple)
    revision: int = 1  # its number in its revision chain ("rev. N" above 1)
    author: str = ""  # who wrote it (lists: a trainer's Author column)


@dataclass(frozen=True)
class ChangeRow:
    seq: int
    record_id: str
    kind: str
    field: str
    value: Any
    clock: int
    known: int = 0


def translate_error(path: object, exc: BaseException) -> StoreError:
    """Map an SQLite error to the typed error the user can act on."""
    message = str(getattr(exc, "orig", None) or exc)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreBusyError(path, message)
    if "full" in lowered:
        return DiskFullError(path, message)
    if any(s in lowered for s in ("unable to open", "readonly", "read-only", "i/o error")):
        return StoreError(path, message)
    return StoreCorruptError(path, message)


# --- opening ---------------------------------------------------------------


def make_backup(source: Path, backups: Path, label: str) -> Path:
    """Copy a store consistently (SQLite's online backup) and keep the last few."""
    backups.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = backups / f"fieldbook-{label}-{stamp}.db"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    for old in list_backups(backups)[BACKUPS_KEPT:]:
        old.unlink(missing_ok=True)
    log.info("Backed up the store to %s", target)
    return target


def list_backups(backups: Path) -> list[Path]:
    """Backups, newest first."""
    if not backups.is_dir():
        return []
    return sorted(backups.glob("fieldbook-*.db"), key=lambda p: p.stat().st_mtime, reverse=True)


def _check_file(path: Path) -> None:
    """Refuse, before opening it, a file we must not touch."""
    try:
        header = schema.read_header_version(path)
    except ValueError:
        raise StoreCorruptError(path, "not a Fieldbook store") from None
    except OSError as exc:
        raise StoreError(path, str(exc)) from exc
    if header is None:
        return
    version, app_id = header
    # Only a file marked as ours can be "from a newer Fieldbook"; any other
    # version number means a damaged header or somebody else's database.
    if version and app_id != schema.APPLICATION_ID:
        raise StoreCorruptError(path, "not a Fieldbook store")
    if version > schema.CURRENT_VERSION:
        raise StoreTooNewError(path, version, schema.CURRENT_VERSION)


def _prepare(path: Path, backups: Path) -> None:
    """Create, verify or upgrade the file so it is at the current version."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.CURRENT_VERSION:
            raise StoreTooNewError(path, version, schema.CURRENT_VERSION)
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables:
            raise StoreCorruptError(path, "not a Fieldbook store")
        if version:
            conn.execute("SELECT count(*) FROM meta").fetchone()
        if 0 < version < schema.CURRENT_VERSION:
            conn.close()
            make_backup(path, backups, f"v{version}")
            conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        schema.migrate(conn, version)
    except sqlite3.Error as exc:
        raise translate_error(path, exc) from exc
    finally:
        conn.close()


def _engine(path: Path, *, immediate: bool) -> Engine:
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 10},
        json_serializer=lambda obj: json.dumps(obj, ensure_ascii=False),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        for pragma in ("foreign_keys = ON", "synchronous = FULL", "busy_timeout = 10000"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that
        # upgrades later can fail with "database is locked" instead of waiting.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Work:
    """One write transaction on the store, as the modules beside it use it
    (open it with :meth:`Store.writing`).

    The store keeps three things in step inside every write: a record's row,
    its change-log rows stamped with the Lamport clock, and its search entry.
    Work exposes exactly the steps a caller needs to keep them in step while
    writing something of its own in the same transaction (a review entry, an
    attachment's blob row, a pulled page):

    - :attr:`session` for the caller's own tables (meta, reviews, blobs,
      conflicts, people) and for reading records;
    - :meth:`update` and :meth:`set_meta` to change a record as a local edit
      (validated, logged, re-indexed), the same rules as ``Store.update``;
    - :meth:`tick` and :meth:`log_change` for a change the store's rules do
      not cover, logged by hand;
    - :meth:`reindex`, :meth:`insert_records` and
      :meth:`refresh_search_entries` for records written from the server's
      versions, which are indexed but never logged.
    """

    def __init__(self, store: Store, session: Session) -> None:
        self._store = store
        self.session = session

    def tick(self) -> int:
        """Advance the Lamport clock and return it: changes logged with one
        tick are one transaction to the server. The device clock is never
        used for ordering, as laptops' clocks are often wrong by days."""
        return self._store._tick(self.session)

    def log_change(self, record: Record, name: str, value: Any, clock: int) -> None:
        """Queue ``record``'s field ``name`` (already set to ``value``, as
        JSON) for the next push, at ``clock`` from :meth:`tick`. An older
        unsent change to that field is coalesced into this one."""
        self._store._log_change(self.session, record, name, value, clock)

    def update(self, record_id: str, changes: Mapping[str, Any]) -> SaveResult:
        """``Store.update`` inside this transaction, for callers that write
        something else with the edit (attachments: the blob's row). Raises
        ``ValidationFailed``, ``RecordReadOnly`` or ``RecordNotFound`` with
        nothing of the edit written; raised out of the block, it rolls back
        the rest of the transaction too."""
        return self._store._update_in(self.session, record_id, changes)

    def set_meta(self, record: Record, name: str, value: Any) -> RecordData:
        """Set a tracked meta field (``status``, ``deleted``) through the
        change log, for callers that check something about the record in
        this same transaction first (reviews: is this my record, is it a
        draft). Unlike ``Store.set_meta_field`` it does not check ownership:
        the caller has."""
        return self._store._write_meta(self.session, record, name, value)

    def reindex(self, record: Record, previous: Mapping[str, Any] | None = None) -> None:
        """Rebuild ``record``'s search entry (none if deleted). ``previous``:
        the values its current entry was built from, when they changed in
        this transaction."""
        self._store._reindex(self.session, record, previous)

    def insert_records(self, rows: Sequence[dict[str, Any]], *, index: bool = True) -> None:
        """Insert complete ``records`` rows in this transaction, with Core
        executemany (one INSERT per kind and set of columns).

        A row holds every column its kind writes, as :meth:`Store.create` would
        store it (Python values: ``date``, aware ``datetime``, lists and dicts
        for the JSON columns), without ``search_rowid``. With ``index`` each
        live row gets its search entry now; without, it is left for
        :meth:`Store.index_pending` (``search_rowid`` stays NULL: a live record
        without an entry is simply not found until then). Nothing goes to
        the change log.
        """
        if index:
            cursor = _raw_connection(self.session).cursor()
            for row in rows:
                if not row.get("deleted"):
                    row["search_rowid"] = _add_entry(cursor, row)
        _insert_rows(self.session, rows)

    def refresh_search_entries(
        self,
        rows: Sequence[tuple[dict[str, Any], Mapping[str, Any] | None]],
        *,
        index: bool = True,
    ) -> int:
        """Search entries of records changed in bulk, in this transaction
        (what :meth:`reindex` does for one ORM record).

        Each item is ``(row, previous)``: ``row`` holds the record's ``kind``,
        ``deleted``, ``search_rowid`` and searchable fields as they are now;
        ``previous`` the values its current entry was built from (``None``:
        the same as ``row``). The old entry is taken out and ``row["search_rowid"]``
        set to the new one, or to ``None`` when deleted or, without ``index``,
        left for :meth:`Store.index_pending`. Returns how many are left waiting.
        """
        cursor = _raw_connection(self.session).cursor()
        waiting = 0
        for row, previous in rows:
            if row["search_rowid"] is not None:
                cursor.execute(
                    "INSERT INTO search_index (search_index, rowid, body) VALUES ('delete', ?, ?)",
                    (row["search_rowid"], index_body(row["kind"], previous or row)),
                )
                row["search_rowid"] = None
            if row["deleted"]:
                continue
            if index:
                row["search_rowid"] = _add_entry(cursor, row)
            else:
                waiting += 1
        return waiting


class Store:
    """The open local store. Create with :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = _engine(path, immediate=True)
        self._reader = _engine(path, immediate=False)
        with self.reading() as session:
            meta = {key: value for key, value in session.execute(select(Meta.key, Meta.value))}
        self.device_id: str = meta["device_id"]

    @classmethod
    def open(cls, path: Path, backups: Path | None = None) -> Store:
        """Open ``path``, creating or upgrading it as needed.

        Raises ``StoreTooNewError`` (file left untouched), ``StoreCorruptError``
        (file left untouched) or another ``StoreError``.
        """
        backups = backups or path.parent / "backups"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(path, str(exc)) from exc
        if path.exists():
            _check_file(path)
        _prepare(path, backups)
        try:
            return cls(path)
        except (sqlite3.Error, DBAPIError, KeyError) as exc:
            raise translate_error(path, exc) from exc

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    @property
    def schema_version(self) -> int:
        with self.reading() as session:
            return int(session.execute(text("PRAGMA user_version")).scalar_one())

    # --- units of work: the one seam other modules use ------------------------

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction: one consistent snapshot of the file for the
        block (WAL lets it run beside the writer without waiting).

        For modules beside the store that keep their own tables in this file
        (reviews, attachments, the sync replica) or read records in bulk.
        Only read in it: a write belongs in :meth:`writing`, which takes the
        write lock up front, where a read transaction upgrading later can
        fail with "database is locked". A database error leaves as a typed
        ``StoreError``.
        """
        try:
            with Session(self._reader) as session, session.begin():
                yield session
        except DBAPIError as exc:
            raise translate_error(self.path, exc) from exc

    @contextmanager
    def writing(self) -> Iterator[Work]:
        """A write transaction, as one :class:`Work`: everything done in the
        block is committed together when it ends, or not at all if it raises.

        One user action, one unit of work, so an edit never lands without its
        change-log rows and search entry. The store has one writer (the
        transaction takes the write lock at once, ``BEGIN IMMEDIATE``) and
        holds it for the whole block: validate what you can before opening it,
        and do no slow work (files, network) inside.
        """
        with self._write() as session:
            yield Work(self, session)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """The bare session of a write, for the store's own methods."""
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                yield session
        except DBAPIError as exc:
            raise translate_error(self.path, exc) from exc

    # --- reading -------------------------------------------------------------

    @staticmethod
    def values_of(record: Record) -> dict[str, Any]:
        """``record``'s fields as :class:`RecordData` holds them (empty values
        for NULLs, booleans as ``bool``): what callers reading ORM records in
        :meth:`reading` compare, export or index."""
        values: dict[str, Any] = {}
        for spec in kind_spec(record.kind).fields:
            value = getattr(record, spec.name)
            values[spec.name] = empty_value(spec) if value is None else value
            if spec.type is FieldType.BOOL:
                values[spec.name] = bool(value)
        return values

    def _data(self, record: Record) -> RecordData:
        return RecordData(
            id=record.id,
            kind=record.kind,
            author=record.author,
            created_at=record.created_at,
            updated_at=record.updated_at,
            status=record.status,
            deleted=record.deleted,
            values=self.values_of(record),
            revision_of=record.revision_of,
            revision=record.revision or 1,
        )

    def get(self, record_id: str, *, include_deleted: bool = False) -> RecordData:
        with self.reading() as session:
            record = session.get(Record, record_id)
            if record is None or (record.deleted and not include_deleted):
                raise RecordNotFound(record_id)
            return self._data(record)

    def counts(self) -> dict[str, int]:
        """Live records per listed kind, for the status bar (templates are not counted)."""
        stmt = (
            select(_RECORDS.c.kind, func.count())
            .where(_RECORDS.c.deleted.is_(False))
            .group_by(_RECORDS.c.kind)
        )
        with self.reading() as session:
            found = {kind: count for kind, count in session.execute(stmt)}
        return {kind.value: int(found.get(kind.value, 0)) for kind in LISTED_KINDS}

    def _filtered(self, query: ListQuery, *columns: Any) -> Any:
        spec = kind_spec(query.kind)
        stmt = select(*columns).where(_RECORDS.c.kind == query.kind, _RECORDS.c.deleted.is_(False))
        if query.status:
            stmt = stmt.where(_RECORDS.c.status == query.status)
        if query.subject and "subject" in spec.by_name:
            stmt = stmt.where(_RECORDS.c.subject == query.subject)
        if query.grade is not None and "grade" in spec.by_name:
            stmt = stmt.where(_RECORDS.c.grade == query.grade)
        date_column = _RECORDS.c[spec.date_field]
        if query.date_from:
            stmt = stmt.where(date_column >= query.date_from)
        if query.date_to:
            stmt = stmt.where(date_column <= query.date_to)
        return stmt

    def count(self, query: ListQuery) -> int:
        with self.reading() as session:
            return int(session.execute(self._filtered(query, func.count())).scalar_one())

    def list_rows(self, query: ListQuery, offset: int = 0, limit: int = 200) -> list[RecordRow]:
        """One page of the list, sorted; ties broken by rowid so pages never overlap."""
        spec = kind_spec(query.kind)
        cells = [_RECORDS.c[name] for name in spec.list_columns]
        # "author": a trainer's lists have an Author column (not a kind's field).
        sort = query.sort if query.sort in (*query.sortable(), "author") else "updated_at"
        order: list[Any] = [_RECORDS.c[sort], literal_column("records.rowid")]
        stmt = self._filtered(
            query, _RECORDS.c.id, _RECORDS.c.kind, _RECORDS.c.status, _RECORDS.c.updated_at,
            _RECORDS.c.revision, _RECORDS.c.author, *cells,
        )
        stmt = stmt.order_by(*(c.desc() if query.descending else c.asc() for c in order))
        with self.reading() as session:
            rows = session.execute(stmt.offset(offset).limit(limit)).all()
        return [RecordRow(r[0], r[1], r[2], r[3], tuple(r[6:]), r[4] or 1, r[5]) for r in rows]

    _SEARCH_SQL = """
        SELECT r.id, r.kind, r.status, r.updated_at,
               CASE r.kind WHEN 'exchange' THEN r.partner_school ELSE r.title END,
               CASE r.kind WHEN 'lesson_plan' THEN r.planned_date
                           WHEN 'training' THEN r.start_date ELSE r.exchange_date END,
               r.revision
        FROM search_index s JOIN records r ON r.search_rowid = s.rowid
        WHERE search_index MATCH :match AND r.kind IN ({listed}) {kind_filter}
        ORDER BY s.rowid DESC LIMIT :limit OFFSET :offset
    """

    def search(
        self, query: str, offset: int = 0, limit: int = 200, kind: str | None = None
    ) -> list[RecordRow]:
        """Records matching what the user typed, most recently changed first."""
        match = match_query(query)
        if match is None:
            return []
        sql = self._SEARCH_SQL.format(
            kind_filter="AND r.kind = :kind" if kind else "",
            listed=", ".join(f"'{k.value}'" for k in LISTED_KINDS),  # (templates are never found)
        )
        params = {"match": match, "limit": limit, "offset": offset, "kind": kind}
        with self.reading() as session:
            rows = session.execute(text(sql), params).all()
        return [
            RecordRow(
                r[0], r[1], r[2], dt.datetime.fromisoformat(r[3]),
                (r[4] or "", dt.date.fromisoformat(r[5]) if r[5] else None),
                r[6] or 1,
            )
            for r in rows
        ]

    def changes_since(self, seq: int = 0, limit: int = 10_000) -> list[ChangeRow]:
        """Local change log after ``seq``, oldest first (what sync will push)."""
        stmt = select(Change).where(Change.seq > seq).order_by(Change.seq).limit(limit)
        with self.reading() as session:
            return [
                ChangeRow(c.seq, c.record_id, c.kind, c.field, c.value, c.clock, c.known)
                for c in session.scalars(stmt)
            ]

    # --- writing -------------------------------------------------------------

    def sign_unsynced_records(self, author: str) -> int:
        """Sign every record not yet on the server (no owner yet) with
        ``author``, in one transaction; returns how many changed.

        At sign-in: records written before it carry the name typed at first
        start (or, from older versions, the OS login). The author is not a
        versioned field and never goes through the change log: the server
        names it from the account on a record's first push and pulls carry it
        back, so this only makes the laptop say now what the server will."""
        name = author.strip()
        if not name:
            return 0
        with self._write() as session:
            result = session.execute(
                update(Record)
                .where(Record.owner_id.is_(None), Record.author != name)
                .values(author=name)
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def renew_device_id(self) -> str:
        """Become a new device for sync, keeping every record and unsent change.

        For a store older than what it pushed (restored from a copy, or its
        last writes lost in a power cut): its next changes would reuse
        sequence numbers the server has from this device id already. The
        unsent edits' own versions move to the new id, as they will be
        stored on the server. Returns the new id.
        """
        new_id = uuid.uuid4().hex
        with self._write() as session:
            old_id = session.get_one(Meta, "device_id").value
            pushed = int(session.get_one(Meta, "pushed_seq").value)
            pending: dict[str, dict[str, int]] = {}
            for record_id, name, clock in session.execute(
                select(Change.record_id, Change.field, Change.clock).where(Change.seq > pushed)
            ):
                pending.setdefault(record_id, {})[name] = clock
            for record in session.scalars(select(Record).where(Record.id.in_(list(pending)))):
                versions = dict(record.versions or {})
                for name, clock in pending[record.id].items():
                    if versions.get(name) == [clock, old_id]:
                        versions[name] = [clock, new_id]
                record.versions = versions
            session.execute(update(Meta).where(Meta.key == "device_id").values(value=new_id))
        log.warning("This store is now device %s (was %s)", new_id, old_id)
        self.device_id = new_id
        return new_id

    def _tick(self, session: Session) -> int:
        """Advance the Lamport clock: one tick per local transaction."""
        value = session.execute(
            text("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'clock' "
                 "RETURNING value")
        ).scalar_one()
        return int(value)

    def _log_change(
        self, session: Session, record: Record, name: str, value: Any, clock: int
    ) -> None:
        """Append one field change; an older unsent change to the same field is
        superseded, so the log holds one row per field between two syncs.

        Only while it is still the field's version here: one that a pulled
        version has overtaken since (a parcel's answer imported before the
        change was sent, or a pull during the sync) stays in the log, so the
        server keeps it as a conflict instead of it vanishing unseen."""
        pushed = int(session.get_one(Meta, "pushed_seq").value)
        known = self._cursor(session)
        current = (record.versions or {}).get(name)
        superseded: Sequence[int] = []
        if current is not None and str(current[1]) == self.device_id:
            superseded = session.scalars(
                delete(Change)
                .where(Change.record_id == record.id, Change.field == name, Change.seq > pushed,
                       Change.clock == int(current[0]))
                .returning(Change.known)
            ).all()
        session.add(
            Change(
                # A coalesced change was made over the oldest cursor of its parts.
                known=min([known, *superseded]),
                record_id=record.id,
                kind=record.kind,
                field=name,
                value=value,
                clock=clock,
            )
        )
        record.versions = {**(record.versions or {}), name: [clock, self.device_id]}

    def _reindex(
        self, session: Session, record: Record, previous: Mapping[str, Any] | None = None
    ) -> None:
        """Replace the record's entry in the search index.

        The index keeps no copy of the text, so removing the old entry needs
        the values it was built from: ``previous`` (the record's values before
        this write; by default its current ones, right when only non-text
        fields changed). A mismatch would only leave tokens pointing at a
        rowid no record uses any more, which searches never return.
        """
        if record.search_rowid is not None:
            old_body = index_body(record.kind, previous or self.values_of(record))
            session.execute(
                text("INSERT INTO search_index (search_index, rowid, body) "
                     "VALUES ('delete', :rowid, :body)"),
                {"rowid": record.search_rowid, "body": old_body},
            )
            record.search_rowid = None
        if record.deleted:
            return
        result = session.execute(
            text("INSERT INTO search_index (body) VALUES (:body)"),
            {"body": index_body(record.kind, self.values_of(record))},
        )
        record.search_rowid = result.lastrowid  # type: ignore[attr-defined]

    @staticmethod
    def _check(kind: str, merged: Mapping[str, Any], changed: set[str]) -> dict[str, Any]:
        """Canonical values, or ValidationFailed if a changed field is bad."""
        clean, problems = validate_record(kind, merged)
        blocking: dict[str, object] = {
            name: problem
            for name, problem in problems.items()
            if problem.blocking and (name in changed or problem.involves & changed)
        }
        if blocking:
            raise ValidationFailed(blocking)
        return clean

    def _new_rows(
        self, kind: str, clean: Mapping[str, Any], *, author: str, record_id: str | None,
        clock: int, known: int, chain: tuple[str, int] | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """The records row, change-log rows and search text of a new record.

        ``chain``: ``(revision_of, revision)`` of a new revision; they go to
        the change log with the content, as the server accepts them only in
        the group that creates the record. A first revision logs neither
        (the defaults), so plain new records sync as they always did."""
        spec = kind_spec(kind)
        now = utcnow()
        values = {f.name: clean.get(f.name, empty_value(f)) for f in spec.fields}
        logged: dict[str, Any] = {"status": Status.DRAFT.value}
        logged.update(
            (f.name, to_json(f, values[f.name]))
            for f in spec.fields
            if values[f.name] != empty_value(f)
        )
        revision: dict[str, Any] = {}
        if chain is not None:
            revision = {REVISION_FIELDS[0]: chain[0], REVISION_FIELDS[1]: chain[1]}
            logged.update(revision)
        new_id = record_id or str(uuid.uuid4())
        record_row = {
            "id": new_id, "kind": kind, "author": author, "created_at": now, "updated_at": now,
            "status": Status.DRAFT.value, "deleted": False,
            "versions": {name: [clock, self.device_id] for name in logged}, **values,
            "revision_of": None, "revision": 1, **revision,
        }
        changes = [
            {"record_id": new_id, "kind": kind, "field": name, "value": value, "clock": clock,
             "known": known}
            for name, value in logged.items()
        ]
        return record_row, changes, index_body(kind, values)

    def _insert(self, session: Session, rows: list[tuple[dict[str, Any], list[dict[str, Any]], str]]) -> None:
        """Insert new records with Core executemany (no per-row ORM flush):
        index each one, then one INSERT per kind and one for the change log."""
        for record_row, _changes, body in rows:
            result = session.execute(
                text("INSERT INTO search_index (body) VALUES (:body)"), {"body": body}
            )
            record_row["search_rowid"] = result.lastrowid  # type: ignore[attr-defined]
        _insert_rows(session, [record_row for record_row, _changes, _body in rows])
        session.execute(insert(_CHANGES), [c for _r, changes, _b in rows for c in changes])

    # --- bulk writes for sync, and the deferred search index ------------------

    def pending_index_count(self) -> int:
        """Live records waiting for their search entry (see :meth:`index_pending`)."""
        stmt = select(func.count()).select_from(_RECORDS).where(
            _RECORDS.c.search_rowid.is_(None), _RECORDS.c.deleted.is_(False)
        )
        with self.reading() as session:
            return int(session.execute(stmt).scalar_one())

    def index_pending(self, limit: int = 500) -> int:
        """Give up to ``limit`` live records without a search entry theirs, in
        one short write transaction, oldest first; returns how many (0 when
        none is left).

        A large pull leaves its records unindexed so that they are listed at
        once (``app.sync.replica.apply_pull_page``); call this afterwards in
        small batches, off the GUI thread, until it returns 0 (the sync engine
        does at the end of a sync). Each batch takes ~0.2-0.4 ms a record.
        """
        columns = [_RECORDS.c.id, _RECORDS.c.kind, *(_RECORDS.c[name] for name in _SEARCHABLE)]
        stmt = (
            select(*columns)
            .where(_RECORDS.c.search_rowid.is_(None), _RECORDS.c.deleted.is_(False))
            .order_by(literal_column("records.rowid"))
            .limit(limit)
        )
        with self._write() as session:
            rows = session.execute(stmt).mappings().all()
            if not rows:
                return 0
            cursor = _raw_connection(session).cursor()
            entries: list[tuple[int | None, str]] = []
            for row in rows:
                entries.append((_add_entry(cursor, dict(row)), row["id"]))
            cursor.executemany("UPDATE records SET search_rowid = ? WHERE id = ?", entries)
            return len(rows)

    def _cursor(self, session: Session) -> int:
        return int(session.get_one(Meta, "pull_cursor").value)

    def create(
        self,
        kind: str,
        values: Mapping[str, Any] | None = None,
        *,
        author: str,
        record_id: str | None = None,
    ) -> RecordData:
        """Insert a new draft; every non-empty field goes to the change log."""
        values = dict(values or {})
        clean = self._check(kind, values, set(values))
        with self._write() as session:
            return self._create_in(session, kind, clean, author=author, record_id=record_id)

    def _create_in(
        self, session: Session, kind: str, clean: Mapping[str, Any], *, author: str,
        record_id: str | None = None, chain: tuple[str, int] | None = None,
    ) -> RecordData:
        """Insert one checked new record in the caller's write transaction."""
        row = self._new_rows(
            kind, clean, author=author, record_id=record_id,
            clock=self._tick(session), known=self._cursor(session), chain=chain,
        )
        self._insert(session, [row])
        return self._data(session.get_one(Record, row[0]["id"]))

    def create_many(self, items: Iterable[tuple[str, Mapping[str, Any]]], *, author: str) -> list[str]:
        """Insert many new drafts in one transaction (imports, benchmarks).

        All or nothing: every item is validated first; ``ValidationFailed``
        names the first bad item by its position (``"3.grade"``).
        """
        checked: list[tuple[str, dict[str, Any]]] = []
        for position, (kind, values) in enumerate(items):
            try:
                checked.append((kind, self._check(kind, values, set(values))))
            except ValidationFailed as exc:
                raise ValidationFailed(
                    {f"{position}.{name}": problem for name, problem in exc.problems.items()}
                ) from exc
        with self._write() as session:
            clock, known = self._tick(session), self._cursor(session)
            rows = [
                self._new_rows(kind, clean, author=author, record_id=None, clock=clock, known=known)
                for kind, clean in checked
            ]
            self._insert(session, rows)
            return [record_row["id"] for record_row, _changes, _body in rows]

    def import_records(self, items: Sequence[ImportItem], *, check_only: bool = False) -> ImportCounts:
        """Write many records in one transaction, so an import is all or
        nothing even when the process is killed or the disk fills up.

        A record whose id is here already gets the given fields as local
        edits (restored first if deleted), so they sync and a repeat changes
        nothing; the others are created with their id. Every item is checked
        inside the transaction: if any is bad, nothing is written and
        ``ValidationFailed`` maps ``"position.field"`` (``"position"`` for the
        record as a whole) to the problem, for every bad item. With
        ``check_only`` the transaction is rolled back even when all is well.
        """
        batch = _ImportBatch()
        try:
            with self._write() as session:
                for position, item in enumerate(items):
                    self._import_one(session, batch, position, item)
                if batch.problems:
                    raise ValidationFailed(batch.problems)
                if check_only:
                    raise _RollBack
                if batch.new_rows:
                    self._insert(session, batch.new_rows)
                self._import_statuses(session, items, {row[0]["id"] for row in batch.new_rows})
        except _RollBack:
            pass
        created = len(batch.new_rows)
        return ImportCounts(created, batch.updated, len(items) - created - batch.updated)

    def _import_one(self, session: Session, batch: _ImportBatch, position: int, item: ImportItem) -> None:
        """Check one imported item and apply it: a new record joins the batch
        (inserted together), an existing one is updated now. A problem is
        noted in the batch rather than raised, so every bad item is reported."""
        try:
            if item.status is not None and item.status not in {s.value for s in Status}:
                raise _WholeRecordProblem(f"unknown status {item.status!r}")
            record = session.get(Record, item.record_id)
            if record is not None:
                batch.updated += self._import_into(session, record, item)
                return
            clean = self._check(item.kind, item.fields, set(item.fields))
            if batch.clock is None:
                batch.clock, batch.known = self._tick(session), self._cursor(session)
            batch.new_rows.append(self._new_rows(
                item.kind, clean, author=item.author, record_id=item.record_id,
                clock=batch.clock, known=batch.known))
        except ValidationFailed as exc:
            batch.problems.update({f"{position}.{name}": p for name, p in exc.problems.items()})
        except _WholeRecordProblem as exc:
            batch.problems[str(position)] = str(exc)

    def _import_into(self, session: Session, record: Record, item: ImportItem) -> bool:
        """Apply an imported item to the record of its id; whether anything changed."""
        if record.kind != item.kind:
            raise _WholeRecordProblem(f"record {record.id} exists here as a {record.kind}, not a {item.kind}")
        restored = record.deleted
        if restored:
            self._check_may_change(session, record)
            self._write_meta(session, record, "deleted", False)
        changed = self._update_in(session, record.id, item.fields).changed
        new_status = item.status is not None and record.status != item.status
        if new_status:
            self._write_meta(session, record, "status", item.status)
        return bool(restored or changed or new_status)

    def _import_statuses(self, session: Session, items: Sequence[ImportItem], created: set[str]) -> None:
        """New records start as drafts; give those the file says otherwise their status."""
        for item in items:
            if item.record_id in created and item.status not in (None, Status.DRAFT.value):
                self._write_meta(session, session.get_one(Record, item.record_id), "status", item.status)

    def update(self, record_id: str, changes: Mapping[str, Any]) -> SaveResult:
        """Save the fields in ``changes``; only those that differ are logged.

        All or nothing: if any changed field is invalid, nothing is written and
        ``ValidationFailed`` names the fields.
        """
        with self._write() as session:
            return self._update_in(session, record_id, changes)

    def _update_in(self, session: Session, record_id: str, changes: Mapping[str, Any]) -> SaveResult:
        """:meth:`update` in the caller's write transaction, for callers that
        write something else with the edit (attachments: the blob's row)."""
        record = session.get(Record, record_id)
        if record is None or record.deleted:
            raise RecordNotFound(record_id)
        self._check_may_change(session, record)
        spec = kind_spec(record.kind)
        current = self.values_of(record)
        clean = self._check(record.kind, {**current, **changes}, set(changes))
        changed = tuple(name for name in changes if clean[name] != current[name])
        if not changed:
            return SaveResult(self._data(record), ())
        clock = self._tick(session)
        for name in changed:
            setattr(record, name, clean[name])
            self._log_change(session, record, name, to_json(spec.field(name), clean[name]), clock)
        record.updated_at = utcnow()
        if any(spec.field(name).searchable for name in changed):
            self._reindex(session, record, current)
        return SaveResult(self._data(record), changed)

    def set_meta_field(self, record_id: str, name: str, value: Any) -> RecordData:
        """Set a tracked meta field (``status``, ``deleted``) of a record as a
        local edit, in its own transaction: logged, re-indexed, and refused
        with ``RecordReadOnly`` on someone else's record."""
        with self._write() as session:
            record = session.get(Record, record_id)
            if record is None:
                raise RecordNotFound(record_id)
            self._check_may_change(session, record)
            return self._write_meta(session, record, name, value)

    @staticmethod
    def _check_may_change(session: Session, record: Record) -> None:
        """``RecordReadOnly`` unless the signed-in user may change ``record``:
        it has no owner yet (made here), it is theirs, or they are an admin
        (the server's rule, ``permissions.can_write_content``) and it is not
        of a kind only its owner changes (a template)."""
        if record.owner_id is None:
            return
        account = dict(session.execute(
            select(Meta.key, Meta.value).where(Meta.key.in_((_ACCOUNT_USER_ID, _ACCOUNT_ROLE)))
        ).all())
        user_id = account.get(_ACCOUNT_USER_ID)
        if not user_id:
            return
        if account.get(_ACCOUNT_ROLE) == _WRITES_ANY_RECORD and not kind_spec(record.kind).owner_only:
            return
        if int(user_id) != record.owner_id:
            raise RecordReadOnly(record.id)

    def _write_meta(self, session: Session, record: Record, name: str, value: Any) -> RecordData:
        """Set a tracked meta field (``status``, ``deleted``) of ``record`` in the
        caller's write transaction, through the change log; for callers that
        check something about the record in that same transaction (reviews)."""
        assert name in TRACKED_META_FIELDS
        if getattr(record, name) == value:
            return self._data(record)
        setattr(record, name, value)
        if name == "deleted":
            record.deleted_at = utcnow() if value else None
        record.updated_at = utcnow()
        self._log_change(session, record, name, value, self._tick(session))
        self._reindex(session, record)
        return self._data(record)

    def delete(self, record_id: str) -> RecordData:
        """Soft-delete: the record leaves lists and search but stays restorable
        (and its tombstone will sync)."""
        return self.set_meta_field(record_id, "deleted", True)

    def restore(self, record_id: str) -> RecordData:
        return self.set_meta_field(record_id, "deleted", False)

    def _copy(
        self, session: Session, record_id: str, title_suffix: str = ""
    ) -> tuple[Record, dict[str, Any]]:
        """A live record and its content checked for a new record (with
        ``title_suffix`` on its title): what a duplicate or revision starts from."""
        source = session.get(Record, record_id)
        if source is None or source.deleted:
            raise RecordNotFound(record_id)
        values = self.values_of(source)
        if title_suffix:
            spec = kind_spec(source.kind)
            title = (values.get(spec.title_field) or "") + title_suffix
            values[spec.title_field] = title[: spec.field(spec.title_field).max_length]
        return source, self._check(source.kind, values, set(values))

    def duplicate(self, record_id: str, *, author: str, title_suffix: str = "") -> RecordData:
        """A new draft with the same content (teachers reuse last year's plans)."""
        with self._write() as session:
            source, clean = self._copy(session, record_id, title_suffix)
            return self._create_in(session, source.kind, clean, author=author)

    def new_revision(self, record_id: str, *, author: str | None = None) -> RecordData:
        """Start a new revision of a record (an approved one is never edited in
        place, docs/review.md): a new draft with its content, in its chain
        (``revision_of`` the chain's first record, ``revision`` the chain's
        highest + 1). The source record is left as it is. One transaction,
        so two quick clicks cannot make two revisions with one number."""
        with self._write() as session:
            source, clean = self._copy(session, record_id)
            root = source.revision_of or source.id
            top = session.execute(
                select(func.max(_RECORDS.c.revision)).where(
                    (_RECORDS.c.id == root) | (_RECORDS.c.revision_of == root)
                )
            ).scalar_one()
            return self._create_in(
                session, source.kind, clean, author=author if author is not None else source.author,
                chain=(root, int(top or 1) + 1),
            )

    def backup(self, backups: Path, label: str = "daily") -> Path:
        return make_backup(self.path, backups, label)


def _raw_connection(session: Session) -> sqlite3.Connection:
    """The session's sqlite3 connection, inside its transaction: the search
    index is written a row at a time, and going around SQLAlchemy's
    statement machinery there saves ~0.1 ms a row."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def _add_entry(cursor: sqlite3.Cursor, row: Mapping[str, Any]) -> int | None:
    """A new search entry for a record's row (its ``kind`` and searchable
    fields); returns its rowid, for ``search_rowid``."""
    cursor.execute("INSERT INTO search_index (body) VALUES (?)", (index_body(row["kind"], row),))
    return cursor.lastrowid


def _insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """``records`` rows with Core executemany: one INSERT per kind and set of
    columns (executemany needs the same columns in every row)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        session.execute(insert(_RECORDS), group)


def move_aside(path: Path, reason: str) -> Path:
    """Rename a store we cannot use (and its WAL files) out of the way, never
    overwriting it, so a new or restored store can take its place."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{reason}-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(path) + suffix)
        if source.exists():
            source.rename(Path(str(target) + suffix))
    log.warning("Moved the unusable store %s aside to %s", path, target)
    return target


def restore_backup(backup: Path, path: Path) -> None:
    """Put a backup copy where the store lives (the old file must be gone).

    The copy becomes a new device for sync: its change log restarts at the
    backup's sequence numbers, which the server has seen from the old device
    id already and would take for replays.
    """
    if path.exists():
        raise StoreError(path, "refusing to overwrite an existing store")
    shutil.copy2(backup, path)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(
                "UPDATE meta SET value = lower(hex(randomblob(16))) WHERE key = 'device_id'"
            )
    finally:
        conn.close()


__all__ = [
    "ChangeRow",
    "ImportCounts",
    "ImportItem",
    "ListQuery",
    "Problem",
    "RecordData",
    "RecordReadOnly",
    "RecordRow",
    "SaveResult",
    "Store",
    "list_backups",
    "make_backup",
    "move_aside",
    "restore_backup",
]
