"""The migrations build exactly the tables of ``app/server/tables.py``."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from app.server import tables
from app.server.database import (
    alembic_config,
    current_revision,
    downgrade,
    make_engine,
    run_migrations,
)

APP_SERVER = Path(__file__).resolve().parents[2] / "app" / "server"


def schema_diffs(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, tables.Base.metadata))
    finally:
        engine.dispose()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    assert current_revision(db_url) == head()
    assert schema_diffs(db_url) == []


def test_server_state_is_seeded(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(tables.ServerState.id, tables.ServerState.seq)).all() == [(1, 0)]
    engine.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    run_migrations(db_url)  # at head already: nothing happens
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    run_migrations(db_url)
    assert schema_diffs(db_url) == []
    assert current_revision(db_url) == head()


def test_every_step_keeps_existing_data(db_url: str) -> None:
    """Each revision, up and down, on a server that has users, tokens,
    cohorts and records: SQLite's batch mode rebuilds tables that rows refer
    to (0005 failed with "FOREIGN KEY constraint failed" on any real server)."""
    downgrade(db_url, "0003")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, display_name, school, role, password_hash, active, created_at)"
            " VALUES ('wangfang', '王芳', '', 'fellow', 'x', true, '2026-01-01')"))
        user_id = conn.execute(text("SELECT id FROM users")).scalar_one()
        conn.execute(text("INSERT INTO cohorts (name, created_at) VALUES ('A', '2026-01-01')"))
        conn.execute(text("INSERT INTO cohort_members (cohort_id, user_id) SELECT id, :u FROM cohorts"),
                     {"u": user_id})
        conn.execute(text(
            "INSERT INTO refresh_tokens (user_id, token_hash, family, created_at, expires_at)"
            " VALUES (:u, 'h', 'fam', '2026-01-01', '2027-01-01')"), {"u": user_id})
        conn.execute(text(
            "INSERT INTO records (id, kind, owner_id, author, created_at, fields, versions, deleted, seq)"
            " VALUES ('00000000-0000-4000-8000-000000000001', 'lesson_plan', :u, '', '2026-01-01',"
            " '{}', '{}', false, 1)"), {"u": user_id})
    engine.dispose()
    for revision in ("0004", "0005", "head"):
        run_migrations(db_url, revision)
    downgrade(db_url, "0003")
    run_migrations(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["wangfang"]
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM cohort_members")).scalar_one() == 1
    engine.dispose()
    assert schema_diffs(db_url) == []


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    engine.dispose()


def test_tables_are_created_only_by_migrations() -> None:
    for path in APP_SERVER.rglob("*.py"):
        assert "create_all(" not in path.read_text(encoding="utf-8"), path


def test_postgres_urls_use_psycopg() -> None:
    from app.server.database import normalize_url

    assert normalize_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_migrations_ship_in_the_wheel() -> None:
    # setuptools packs only packages: without these files an installed server
    # would have no migrations and could not create its tables.
    assert (APP_SERVER / "migrations" / "__init__.py").exists()
    assert (APP_SERVER / "migrations" / "versions" / "__init__.py").exists()
