"""The live server and laptops of ``tests/sync`` for the end-to-end sync tests,
plus what those tests compare: each replica's records against the server's.

The server template is made in-process (migrations, cohorts and users through
``app.server.admin`` with cheap password hashes) rather than through the
server's CLI in subprocesses: about a second instead of half a minute. The
server itself is the real one, ``python -m app.server.cli serve`` in a
subprocess (``tests.sync.conftest.LiveServer``).
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from app.models.fields import kind_spec
from app.models.orm import Conflict, Meta, Record
from app.models.store import Store
from app.models.validation import empty_value, to_json
from app.server import admin, security
from app.server import tables as server_tables
from app.server.database import make_engine, make_sessionmaker, run_migrations
from app.server.permissions import visible_owner_ids
from app.sync.client import ApiClient
from app.sync.engine import sign_in
from app.sync.tokens import TokenStore
from tests.faultproxy import FaultProxy
from tests.sync import conftest as _sync
from tests.sync.conftest import USERS, Laptop, LiveServer, _Template

# The fixtures of tests/sync, found here by name; ``live_server`` uses the
# ``_server_template`` below.
live_server = _sync.live_server
laptop = _sync.laptop

# --- the server ----------------------------------------------------------------


@pytest.fixture(scope="session")
def _server_template(tmp_path_factory: pytest.TempPathFactory) -> _Template:
    folder = tmp_path_factory.mktemp("e2e-server-template")
    db = folder / "server.db"
    url = f"sqlite:///{db}"
    secret = secrets.token_urlsafe(36)[:48]
    passwords = {name: f"pw-{name}-{secrets.token_hex(4)}" for name in USERS}
    run_migrations(url)
    old = security.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            for cohort in sorted({c for _, c in USERS.values() if c}):
                admin.create_cohort(session, cohort)
            for name, (role, cohort) in USERS.items():
                admin.create_user(session, name, passwords[name], role, f"{name} 老师")
                if cohort:
                    admin.assign(session, name, cohort)
    finally:
        engine.dispose()
        security.set_password_hasher(old)
    return _Template(db, secret, passwords)


def kill_server(server: LiveServer) -> None:
    """SIGKILL the server (a power cut on the server's side), then forget the process."""
    process = server._process
    if process is not None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    server._process = None


# --- laptops behind a proxy ----------------------------------------------------------


@dataclass
class Machine:
    """A laptop whose traffic goes through its own fault proxy."""

    laptop: Laptop
    proxy: FaultProxy

    @property
    def store(self) -> Store:
        return self.laptop.store

    @property
    def username(self) -> str:
        return self.laptop.username


@pytest.fixture
def machine(
    live_server: LiveServer, tmp_path: Path
) -> Iterator[Callable[..., Machine]]:
    """``machine("li")``: a store signed in as li through a new :class:`FaultProxy`.

    Short client timeouts (a stalled request fails in seconds, not minutes);
    ``device_id`` fixes the store's device id."""
    made: list[Machine] = []

    def make(username: str, *, timeout: tuple[float, float] = (3.0, 10.0),
             device_id: str | None = None) -> Machine:
        proxy = FaultProxy(live_server.port).start()
        folder = tmp_path / f"machine-{len(made)}-{username}"
        store = Store.open(folder / "fieldbook.db")
        if device_id is not None:  # a fixed device id: seeded runs pick the same winners
            with store.writing() as work:
                work.session.execute(update(Meta).where(Meta.key == "device_id").values(value=device_id))
            store.close()
            store = Store.open(folder / "fieldbook.db")
        client = ApiClient(proxy.url, timeout=timeout)
        one = Machine(Laptop(username, store, client, TokenStore()), proxy)
        made.append(one)
        sign_in(store, client, one.laptop.tokens, proxy.url, username, live_server.users[username])
        return one

    yield make
    for one in made:
        one.laptop.client.close()
        one.laptop.store.close()
        one.proxy.close()


# --- comparing replicas ----------------------------------------------------------------

# id -> (kind, owner, deleted, fields as JSON incl. status, versions {field: (clock, device)})
View = dict[str, tuple[str, int | None, bool, dict[str, Any], dict[str, tuple[int, str]]]]


def _full_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Every field of the kind as JSON (unset ones as their empty value), plus status."""
    out = {spec.name: fields.get(spec.name, to_json(spec, empty_value(spec)))
           for spec in kind_spec(kind).fields}
    out["status"] = fields.get("status", "draft")
    return out


def local_view(store: Store) -> View:
    """Every record of a local store (deleted ones too) as plain JSON data."""
    view: View = {}
    with store.reading() as session:
        for r in session.scalars(select(Record)):
            spec = kind_spec(r.kind)
            values = store.values_of(r)
            fields = {f.name: to_json(f, values[f.name]) for f in spec.fields}
            fields["status"] = r.status
            versions = {k: (int(v[0]), str(v[1])) for k, v in (r.versions or {}).items()}
            view[r.id] = (r.kind, r.owner_id, bool(r.deleted), fields, versions)
    return view


@dataclass(frozen=True)
class ServerState:
    view: View
    seq: int  # the server's write counter
    devices: dict[str, int]  # device id -> last_seq applied
    conflicts: list[tuple[str, str, Any, int, str]]  # (record, field, value, clock, device)
    notices: list[tuple[str, str]]  # (record, kind)
    user_ids: dict[str, int]
    visible: dict[str, set[int] | None]  # username -> owners visible now (None: all)


def server_state(server: LiveServer) -> ServerState:
    """What the server holds, read straight from its SQLite file."""
    engine = make_engine(f"sqlite:///{server.db}")
    try:
        with make_sessionmaker(engine)() as session:
            view: View = {}
            for r in session.scalars(select(server_tables.SyncRecord)):
                versions = {k: (int(v[0]), str(v[1])) for k, v in (r.versions or {}).items()}
                view[r.id] = (r.kind, r.owner_id, bool(r.deleted), _full_fields(r.kind, dict(r.fields)),
                              versions)
            seq = session.execute(select(func.max(server_tables.ServerState.seq))).scalar_one() or 0
            devices = {d.device_id: int(d.last_seq) for d in session.scalars(select(server_tables.Device))}
            conflicts = [(c.record_id, c.field, c.value, int(c.clock), c.device)
                         for c in session.scalars(select(server_tables.SyncConflict))]
            notices = [(n.record_id, n.kind) for n in session.scalars(select(server_tables.SyncNotice))]
            users = list(session.scalars(select(server_tables.User)))
            user_ids = {u.username: u.id for u in users}
            visible = {u.username: visible_owner_ids(session, u) for u in users}
    finally:
        engine.dispose()
    return ServerState(view, int(seq), devices, conflicts, notices, user_ids, visible)


def visible_to(state: ServerState, username: str) -> View:
    """The server's records that ``username`` sees now (the server's own rule)."""
    owners = state.visible[username]
    if owners is None:
        return dict(state.view)
    return {rid: rec for rid, rec in state.view.items() if rec[1] in owners}


def assert_replica_equals_server(store: Store, state: ServerState, username: str, label: str = "") -> None:
    """Same ids, kinds, owners, deleted flags, field values and versions."""
    local = local_view(store)
    remote = visible_to(state, username)
    name = label or username
    missing = sorted(set(remote) - set(local))
    extra = sorted(set(local) - set(remote))
    assert not missing, f"{name}: {len(missing)} server record(s) missing locally, e.g. {missing[:3]}"
    assert not extra, f"{name}: {len(extra)} local record(s) the server does not have, e.g. {extra[:3]}"
    for rid, theirs in remote.items():
        mine = local[rid]
        assert mine == theirs, f"{name}: record {rid} differs\n local:  {mine}\n server: {theirs}"


def local_conflicts(store: Store) -> list[tuple[str, str, Any, int, str]]:
    with store.reading() as session:
        return [(c.record_id, c.field, c.value, int(c.clock), c.device)
                for c in session.scalars(select(Conflict))]
