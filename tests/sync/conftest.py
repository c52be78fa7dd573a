"""A real sync server on loopback for the client, engine and CLI tests.

``live_server`` starts ``python -m app.server.cli serve`` in a subprocess on a
free port of 127.0.0.1 with its own SQLite database, waits for ``/health``
and yields a :class:`LiveServer`. The users are created once per test session
through the server's own CLI (``create-user``, ``create-cohort``, ``assign``)
in a template database that each test gets a fresh copy of, so a test starts
from a known server in about a second.

Users (password in ``LiveServer.users``):

* ``li``, ``wang``: fellows in cohort "一班"; ``chen``: fellow in "二班"
* ``zhao``: trainer of "一班"; ``admin``: admin
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from app.models.orm import Record
from app.models.store import Store
from app.sync.client import ApiClient
from app.sync.engine import SyncEngine, SyncReport
from app.sync.engine import sign_in as engine_sign_in
from app.sync.tokens import TokenStore

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0

USERS: dict[str, tuple[str, str]] = {  # name -> (role, cohort)
    "li": ("fellow", "一班"),
    "wang": ("fellow", "一班"),
    "chen": ("fellow", "二班"),
    "zhao": ("trainer", "一班"),
    "admin": ("admin", ""),
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(db: Path, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBOOK_SERVER_")}
    env.update(
        FIELDBOOK_SERVER_DATABASE_URL=f"sqlite:///{db}",
        FIELDBOOK_SERVER_SECRET=secret,
        FIELDBOOK_SERVER_DATA_DIR=str(db.parent),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def server_cli(db: Path, secret: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.server.cli", *args],
        input=stdin, capture_output=True, text=True, env=_server_env(db, secret), cwd=ROOT,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"server cli {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class LiveServer:
    db: Path
    secret: str
    port: int
    log_path: Path
    users: dict[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._process is None
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "app.server.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=_server_env(self.db, self.secret), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited ({self._process.returncode}):\n{self.log()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer /health in {START_TIMEOUT_S} s:\n{self.log()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def cli(self, *args: str, stdin: str | None = None) -> str:
        return server_cli(self.db, self.secret, *args, stdin=stdin)


@dataclass(frozen=True)
class _Template:
    db: Path
    secret: str
    users: dict[str, str]


@pytest.fixture(scope="session")
def _server_template(tmp_path_factory: pytest.TempPathFactory) -> _Template:
    """A server database with the test users, made once through the server's CLI."""
    folder = tmp_path_factory.mktemp("server-template")
    db = folder / "server.db"
    secret = secrets.token_urlsafe(36)[:48]
    passwords = {name: f"pw-{name}-{secrets.token_hex(4)}" for name in USERS}
    for cohort in sorted({c for _, c in USERS.values() if c}):
        server_cli(db, secret, "create-cohort", cohort)  # the first one also migrates
    # Each command is a process that mostly imports and hashes: run them side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(
            lambda name: server_cli(
                db, secret, "create-user", name, "--role", USERS[name][0],
                "--display-name", f"{name} 老师", "--password-stdin", stdin=passwords[name] + "\n"),
            USERS,
        ))
        list(pool.map(lambda name: server_cli(db, secret, "assign", name, USERS[name][1]),
                      [name for name, (_, cohort) in USERS.items() if cohort]))
    return _Template(db, secret, passwords)


@pytest.fixture
def live_server(_server_template: _Template, tmp_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path / "server"
    folder.mkdir()
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(_server_template.db) + suffix)
        if source.exists():
            shutil.copy2(source, folder / source.name)
    server = LiveServer(
        db=folder / "server.db", secret=_server_template.secret, port=_free_port(),
        log_path=folder / "server.log", users=dict(_server_template.users),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- laptops: a store and a client signed in to the live server ----------------


@dataclass
class Laptop:
    """One Fieldbook installation: its own store, client and token store."""

    username: str
    store: Store
    client: ApiClient
    tokens: TokenStore

    def engine(self, **options: Any) -> SyncEngine:
        return SyncEngine(self.store, self.client, tokens=self.tokens, **options)

    def sync(self, **options: Any) -> SyncReport:
        return self.engine(**options).run()

    def snapshot(self) -> dict[str, tuple[Any, ...]]:
        """Every record (deleted ones too) as plain data, for comparing replicas."""
        with self.store.reading() as session:
            records = session.scalars(select(Record)).all()
            return {
                r.id: (r.kind, r.status, r.deleted, r.owner_id, self.store.values_of(r),
                       {k: list(v) for k, v in (r.versions or {}).items()})
                for r in records
            }

    def live(self) -> int:
        return sum(self.store.counts().values())


@pytest.fixture
def laptop(live_server: LiveServer, tmp_path: Path) -> Iterator[Callable[..., Laptop]]:
    """``laptop("li")``: a new installation signed in as li (``sign_in=False``:
    not signed in yet, for records made before the first sign-in)."""
    made: list[Laptop] = []

    def make(username: str, *, sign_in: bool = True, client_class: type[ApiClient] = ApiClient) -> Laptop:
        folder = tmp_path / f"laptop-{len(made)}-{username}"
        store = Store.open(folder / "fieldbook.db")
        client = client_class(live_server.url, timeout=(5, 30))
        machine = Laptop(username, store, client, TokenStore())
        made.append(machine)
        if sign_in:
            engine_sign_in(store, client, machine.tokens, live_server.url, username,
                           live_server.users[username])
        return machine

    yield make
    for machine in made:
        machine.client.close()
        machine.store.close()
