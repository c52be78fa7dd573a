"""The migrations build exactly the tables of ``app/server/db.py``."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from app.server import db
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
            return list(compare_metadata(context, db.Base.metadata))
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
        assert conn.execute(select(db.ServerState.id, db.ServerState.seq)).all() == [(1, 0)]
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
