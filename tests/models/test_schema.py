"""Schema versions: fresh stores, upgrades with a backup, refusals that touch nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.errors import StoreCorruptError, StoreTooNewError
from app.models import schema
from app.models.orm import Base
from app.models.store import Store, list_backups


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def make_v1_store(path: Path) -> None:
    """A store exactly as Fieldbook with schema version 1 left it, with data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    schema.migrate(conn, 0, 1)
    conn.execute(
        "INSERT INTO records (id, kind, created_at, updated_at, title, versions) "
        "VALUES ('r1', 'lesson_plan', '2025-01-01T00:00:00+00:00', "
        "'2025-01-01T00:00:00+00:00', '认识分数', '{}')"
    )
    conn.close()


def schema_of(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    ).fetchall()
    conn.close()
    return rows


def test_a_new_store_is_at_the_current_version(store: Store) -> None:
    assert store.schema_version == schema.CURRENT_VERSION
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def test_orm_matches_the_migrated_schema(store: Store) -> None:
    with sqlite3.connect(store.path) as conn:
        for table in Base.metadata.sorted_tables:
            actual = {row[1] for row in conn.execute(f"PRAGMA table_info({table.name})")}
            assert {c.name for c in table.columns} == actual, table.name


def test_older_store_is_upgraded_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    make_v1_store(path)
    before = digest(path)
    store = Store.open(path, tmp_path / "backups")
    assert store.schema_version == schema.CURRENT_VERSION
    assert [r.id for r in store.search("分数")] == ["r1"], "the upgrade indexed old records"
    store.close()
    backups = list_backups(tmp_path / "backups")
    assert len(backups) == 1 and "-v1-" in backups[0].name
    assert digest(backups[0]) == before or schema_of(backups[0]) == schema_of_v1(tmp_path)
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT title FROM records").fetchone()[0] == "认识分数"


def schema_of_v1(tmp_path: Path) -> list[tuple[str, str]]:
    reference = tmp_path / "reference-v1.db"
    make_v1_store(reference)
    return schema_of(reference)


def test_upgraded_schema_equals_a_fresh_one(tmp_path: Path) -> None:
    upgraded, fresh = tmp_path / "a" / "fieldbook.db", tmp_path / "b" / "fieldbook.db"
    make_v1_store(upgraded)
    Store.open(upgraded).close()
    Store.open(fresh).close()
    assert schema_of(upgraded) == schema_of(fresh)


def test_store_from_a_newer_fieldbook_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {schema.CURRENT_VERSION + 1}")
    before, files = digest(path), siblings(path)
    with pytest.raises(StoreTooNewError) as caught:
        Store.open(path)
    assert caught.value.found == schema.CURRENT_VERSION + 1
    assert digest(path) == before
    assert siblings(path) == files


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 10, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["garbage", "damaged-header"],
)
def test_unreadable_file_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fieldbook.db"
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError):
        Store.open(path)
    assert path.read_bytes() == content


def test_someone_elses_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE songs (name TEXT)")
    before = digest(path)
    with pytest.raises(StoreCorruptError):
        Store.open(path)
    assert digest(path) == before


def test_truncated_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    store = Store.open(path)
    for i in range(200):
        store.create("lesson_plan", {"title": f"课{i}", "objectives": "目标" * 200}, author="a")
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StoreCorruptError):
        s = Store.open(path)
        s.search("课")
        s.list_rows(__import__("app.models.store", fromlist=["ListQuery"]).ListQuery("lesson_plan"),
                    0, 1000)


def test_empty_file_from_an_interrupted_first_start_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    path.write_bytes(b"")
    store = Store.open(path)
    assert store.schema_version == schema.CURRENT_VERSION
    store.close()


def test_failed_upgrade_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fieldbook.db"
    make_v1_store(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE records ADD COLUMN search_rowid INTEGER")
        raise RuntimeError("power cut")

    monkeypatch.setattr(schema, "STEPS", [schema.STEPS[0], broken])
    with pytest.raises(RuntimeError):
        Store.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
        assert "search_rowid" not in columns
