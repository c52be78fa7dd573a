"""Fixtures for every server test (auth, admin, sync...).

Every test that takes ``db_url`` (directly or through ``settings``,
``session``, ``app``, ``client``, ``make_user``...) runs twice:

* ``[sqlite]``: a fresh copy of a migrated SQLite file in ``tmp_path``;
* ``[postgresql]``: one database ``fieldbook_test_<random>`` for the whole run,
  created through ``$FIELDBOOK_TEST_PG`` (default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), migrated once,
  emptied before each test (TRUNCATE ... RESTART IDENTITY CASCADE, then the
  ``server_state`` row re-seeded) and dropped at the end. If PostgreSQL does
  not answer these are skipped, unless ``FIELDBOOK_REQUIRE_PG=1`` (CI), which
  makes them fail. ``-m "not postgresql"`` leaves them out (they are marked
  ``postgresql``; a test that needs PostgreSQL itself can use that mark too).

Fixtures (stable names, used by tests/server/test_sync_*.py):

``db_url -> str``           the database URL (see above)
``clock -> FakeClock``      the server's time: real time plus an offset; ``clock.advance(seconds=...)``
``settings -> Settings``    development settings on ``db_url`` with a fixed secret and ``clock``
``engine -> Engine``        one engine per test, shared by ``session`` and ``app``
``session -> Session``      an ORM session on the migrated database (``expire_on_commit=False``;
                            call ``session.expire_all()`` to see what the API changed)
``app -> FastAPI``          ``create_app(settings, engine=engine)``
``client -> TestClient``    a ``fastapi.testclient.TestClient`` on ``app`` (lifespan run)
``make_user(role="fellow", cohort=None, username=None, password="correct horse",
            display_name="", school="") -> User``
                            a committed user; ``cohort`` is a cohort *name*, created if missing
                            (a fellow is moved there, a trainer added)
``auth_headers(user) -> dict``
                            ``{"Authorization": "Bearer <access token>", "Fieldbook-Protocol": "1"}``
``login(username, password) -> dict``
                            the JSON of a successful ``POST /api/v1/auth/login`` through ``client``

Password hashing uses cheap argon2id parameters here (``_fast_password_hashing``):
the real ones cost ~0.25 s per hash.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.protocol.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server import admin, security, tables
from app.server.config import Settings
from app.server.database import make_engine, make_sessionmaker, run_migrations

PG_ENV = "FIELDBOOK_TEST_PG"
REQUIRE_PG_ENV = "FIELDBOOK_REQUIRE_PG"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_SECRET = "test-secret-" + "k3P9xQ2mZ7vL4nW8rT6yB1cF5hJ0dS"  # fixed: tokens are reproducible
DEFAULT_PASSWORD = "correct horse"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on the PostgreSQL test database")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the ``[postgresql]`` runs, so ``-m "not postgresql"`` works too."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgresql)


# --- time --------------------------------------------------------------------


class FakeClock:
    """Real UTC time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- databases ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    old = security.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    security.set_password_hasher(old)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("server-template") / "template.db"
    run_migrations(f"sqlite:///{path}")
    return path


@dataclass
class _PgDatabase:
    url: str
    engine: Engine  # for emptying the tables between tests


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[_PgDatabase]:
    maintenance_url = make_url(os.environ.get(PG_ENV) or DEFAULT_PG)
    maintenance = make_engine(
        maintenance_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with maintenance.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        maintenance.dispose()
        where = maintenance_url.render_as_string(hide_password=True)
        message = (
            f"PostgreSQL is not reachable at {where} ({str(exc.orig or exc).strip()}). "
            f"To run the PostgreSQL tests, start PostgreSQL on 127.0.0.1:5432 or set {PG_ENV}."
        )
        if os.environ.get(REQUIRE_PG_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_PG_ENV}=1 requires them.)", pytrace=False)
        pytest.skip(message)
    name = f"fieldbook_test_{secrets.token_hex(6)}"
    with maintenance.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    url = maintenance_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        run_migrations(url)
        yield _PgDatabase(url, engine)
    finally:
        engine.dispose()
        with maintenance.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        maintenance.dispose()


def _empty_pg(database: _PgDatabase) -> None:
    table_names = ", ".join(f'"{t.name}"' for t in tables.Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        # A connection a test left open in a transaction would block this for ever.
        conn.execute(text("SET LOCAL lock_timeout = '20s'"))
        conn.execute(text(f"TRUNCATE {table_names} RESTART IDENTITY CASCADE"))
        conn.execute(insert(tables.ServerState).values(id=1, seq=0))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database (with its ``server_state`` row)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "server.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    database: _PgDatabase = request.getfixturevalue("_pg_database")
    _empty_pg(database)
    return database.url


# --- the server --------------------------------------------------------------


@pytest.fixture
def settings(db_url: str, tmp_path: Path, clock: FakeClock) -> Settings:
    return Settings(
        database_url=db_url,
        secret=TEST_SECRET,
        env="development",
        data_dir=tmp_path / "server-data",
        clock=clock.now,
    ).resolved()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Any:
    from app.server.app import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_user(session: Session) -> Callable[..., tables.User]:
    counter = itertools.count(1)

    def make(
        role: str = "fellow",
        cohort: str | None = None,
        username: str | None = None,
        password: str = DEFAULT_PASSWORD,
        display_name: str = "",
        school: str = "",
    ) -> tables.User:
        name = username or f"{role}{next(counter)}"
        user = admin.create_user(session, name, password, role, display_name, school)
        if cohort is not None:
            try:
                admin.get_cohort(session, cohort)
            except admin.AdminError:
                admin.create_cohort(session, cohort)
            admin.assign(session, name, cohort)
        return user

    return make


@pytest.fixture
def auth_headers(settings: Settings) -> Callable[[tables.User], dict[str, str]]:
    def headers(user: tables.User) -> dict[str, str]:
        token = security.create_access_token(settings, user.id)
        return {"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}

    return headers


@pytest.fixture
def login(client: Any) -> Callable[[str, str], dict[str, Any]]:
    def do_login(username: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return do_login
