"""Schema versions of the local store and the steps between them.

The version lives in SQLite's ``PRAGMA user_version`` and the file is marked
as ours with ``PRAGMA application_id``. Each step below is frozen SQL: once
released it never changes, so a store written by any older Fieldbook upgrades
along the same path a fresh one is built by. Both are checked by the tests.

To change the schema: append a step, bump nothing else (``CURRENT_VERSION`` is
the number of steps), update ``orm.py`` to match.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("fieldbook.store")

APPLICATION_ID = 0x46424B31  # "FBK1"
SQLITE_HEADER = b"SQLite format 3\x00"

_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    deleted BOOLEAN NOT NULL DEFAULT 0,
    deleted_at TEXT,
    versions JSON NOT NULL DEFAULT '{}',
    title TEXT NOT NULL DEFAULT '',
    -- lesson plans
    subject TEXT, grade INTEGER, class_name TEXT, planned_date DATE,
    duration_minutes INTEGER, unit TEXT, objectives TEXT, key_points TEXT,
    materials TEXT, procedure JSON, assessment TEXT, homework TEXT,
    reflection TEXT, tags JSON,
    -- training records
    training_type TEXT, provider TEXT, start_date DATE, end_date DATE,
    hours FLOAT, location TEXT, online BOOLEAN, topics TEXT, takeaways TEXT,
    action_plan TEXT,
    -- exchange logs
    partner_school TEXT, exchange_type TEXT, direction TEXT, exchange_date DATE,
    duration_hours FLOAT, teacher_count INTEGER, student_count INTEGER,
    activities TEXT, observations TEXT, outcomes TEXT
);
CREATE INDEX ix_records_kind_updated ON records (kind, deleted, updated_at);
CREATE INDEX ix_records_lesson_date ON records (kind, deleted, planned_date);
CREATE INDEX ix_records_training_date ON records (kind, deleted, start_date);
CREATE INDEX ix_records_exchange_date ON records (kind, deleted, exchange_date);
CREATE INDEX ix_records_subject_grade ON records (kind, deleted, subject, grade);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id TEXT NOT NULL UNIQUE,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    field TEXT NOT NULL,
    value JSON,
    clock INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX ix_changes_record_field ON changes (record_id, field);
INSERT INTO meta (key, value) VALUES ('device_id', lower(hex(randomblob(16))));
INSERT INTO meta (key, value) VALUES ('clock', '0');
INSERT INTO meta (key, value) VALUES ('pushed_seq', '0');
"""

# Version 2 adds the full-text index. Text is indexed as pre-split tokens
# (Chinese as overlapping character pairs, see search.py), so the built-in
# unicode61 tokenizer only has to split on the spaces we put in. A record's
# index row is found by ``records.search_rowid``; a re-indexed record gets a
# new, higher rowid, so rowid order is "most recently changed first".
_V2 = """
ALTER TABLE records ADD COLUMN search_rowid INTEGER;
CREATE VIRTUAL TABLE search_index USING fts5(
    record_id UNINDEXED,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""


# Version 3 prepares the store for sync: each change remembers the server
# cursor it was made over (to tell concurrent edits from sequential ones),
# records know their owner on the server, and conflicts, notices and
# rejected changes from the server are kept for the user to see.
_V3 = """
ALTER TABLE changes ADD COLUMN known INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN owner_id INTEGER;
CREATE INDEX ix_records_owner ON records (owner_id);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value JSON,
    clock INTEGER NOT NULL,
    device TEXT NOT NULL,
    winner_clock INTEGER NOT NULL,
    winner_device TEXT NOT NULL,
    resolved BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_conflicts_record ON conflicts (record_id, resolved);
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    seen BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE sync_rejections (
    seq INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    fields JSON NOT NULL DEFAULT '[]'
);
INSERT INTO meta (key, value) VALUES ('pull_cursor', '0');
-- Leaner on disk. The change log drops what the per-device sequence makes
-- redundant (a uuid per field, this device's id, a wall-clock time).
CREATE TABLE changes_v3 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    field TEXT NOT NULL,
    value JSON,
    clock INTEGER NOT NULL,
    known INTEGER NOT NULL DEFAULT 0
);
INSERT INTO changes_v3 (seq, record_id, kind, field, value, clock, known)
    SELECT seq, record_id, kind, field, value, clock, known FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v3 RENAME TO changes;
CREATE INDEX ix_changes_record_field ON changes (record_id, field);
-- The search index keeps no copy of the text (it is never read back): a
-- contentless FTS table, found from a record by records.search_rowid.
DROP TABLE search_index;
CREATE VIRTUAL TABLE search_index USING fts5(
    body,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE INDEX ix_records_search_rowid ON records (search_rowid);
-- The status filter and sorting by name, without scanning or sorting a
-- whole kind (50-100 ms at 50,000 records; 2 ms with these).
CREATE INDEX ix_records_status ON records (kind, deleted, status, updated_at);
CREATE INDEX ix_records_title ON records (kind, deleted, title);
CREATE INDEX ix_records_partner ON records (kind, deleted, partner_school);
"""


# Version 4 adds the review workflow (docs/review.md): the review entries of
# the records this store holds (ours queued until pushed, everyone's as
# pulled), the people behind the records (names, schools, cohorts), and each
# record's place in its revision chain.
_V4 = """
ALTER TABLE records ADD COLUMN revision_of TEXT;
ALTER TABLE records ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
CREATE INDEX ix_records_revision_of ON records (revision_of);
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    author_id INTEGER,
    author TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    basis JSON NOT NULL DEFAULT '[]',
    outcome TEXT,
    reason TEXT NOT NULL DEFAULT '',
    at TEXT,
    written_at TEXT NOT NULL,
    seq INTEGER,
    pending BOOLEAN NOT NULL DEFAULT 0,
    seen BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_reviews_record ON reviews (record_id, at, seq);
CREATE INDEX ix_reviews_pending ON reviews (pending, written_at);
CREATE INDEX ix_reviews_unseen ON reviews (seen, record_id);
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'fellow',
    school TEXT NOT NULL DEFAULT '',
    cohorts JSON NOT NULL DEFAULT '[]'
);
INSERT INTO meta (key, value) VALUES ('people_hash', '');
"""


# Version 5 adds attachments (docs/attachments.md): every record gets its
# list of file references, and the blobs table tracks each file's content
# (named by its SHA-256) through upload and download.
_V5 = """
ALTER TABLE records ADD COLUMN attachments JSON;
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'local',
    original_path TEXT,
    error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX ix_blobs_state ON blobs (state);
"""


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute statements one by one: ``executescript`` would COMMIT first."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")


def _step_1(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V1)


def _step_2(conn: sqlite3.Connection) -> None:
    from app.models.search import rebuild_index

    _run_script(conn, _V2)
    rebuild_index(conn)


def _step_3(conn: sqlite3.Connection) -> None:
    from app.models.search import rebuild_index

    _run_script(conn, _V3)
    rebuild_index(conn)


def _step_4(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V4)


def _step_5(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V5)


def _step_6(conn: sqlite3.Connection) -> None:
    """Version 6 indexes Chinese text by its pinyin too (search.py: "fenshu"
    and "fs" find 分数). No table changes: the index is rebuilt, since the
    entries already there must be removable with the text they now get."""
    from app.models.search import rebuild_index

    rebuild_index(conn)


def _step_7(conn: sqlite3.Connection) -> None:
    """Version 7 gives lesson plans a notes field: what a plan imported from
    Word has beyond the other fields (板书设计…) is kept there, never dropped."""
    conn.execute("ALTER TABLE records ADD COLUMN notes TEXT")


def _step_8(conn: sqlite3.Connection) -> None:
    """Version 8 adds 教案 templates (docs/templates.md): records of kind
    ``lesson_template`` in the same table, using the lesson plans' columns,
    and whether a trainer shares one with the cohorts they train."""
    conn.execute("ALTER TABLE records ADD COLUMN shared BOOLEAN")


# Index i holds the step from version i to version i + 1.
STEPS: list[Callable[[sqlite3.Connection], None]] = [
    _step_1, _step_2, _step_3, _step_4, _step_5, _step_6, _step_7, _step_8,
]
CURRENT_VERSION = len(STEPS)


def read_header_version(path: Path) -> tuple[int, int] | None:
    """``(user_version, application_id)`` from the file header, without opening it.

    Reading raw bytes touches nothing, which is what a store written by a newer
    Fieldbook deserves. ``None`` if the file is empty (a store whose creation
    was interrupted before anything was written).
    """
    with path.open("rb") as f:
        header = f.read(100)
    if not header:
        return None
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise ValueError("not an SQLite database")
    return int.from_bytes(header[60:64], "big"), int.from_bytes(header[68:72], "big")


def migrate(conn: sqlite3.Connection, from_version: int, to_version: int = CURRENT_VERSION) -> None:
    """Run the steps ``from_version -> to_version`` in one transaction.

    SQLite's DDL is transactional, so a power cut mid-upgrade leaves the store
    at its old version rather than half-upgraded.
    """
    if from_version == to_version:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in range(from_version, to_version):
            log.info("Upgrading the store from schema version %d to %d", version, version + 1)
            STEPS[version](conn)
        conn.execute(f"PRAGMA user_version = {int(to_version)}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
