"""Sign-in throttling by account *and* source: a guesser slows only
themself, never locks the owner out; spraying from one source and guessing
from many are slowed too; admins see and clear lockouts."""

from __future__ import annotations

import dataclasses
import io
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.server import admin
from app.server.cli import main
from app.server.config import Settings
from tests.server.conftest import FakeClock

LOGIN = "/api/v1/auth/login"
PASSWORD = "/api/v1/auth/password"
GOOD = "correct horse"
PROXY = "testclient"  # the peer address of every TestClient request

Attempt = Callable[..., Any]


@pytest.fixture
def attempt(app: Any) -> Iterator[Attempt]:
    """``attempt(name, password, source)``: one sign-in from the address
    ``source`` (a client connected from there)."""
    clients: dict[str, TestClient] = {}

    def do(username: str, password: str, source: str) -> Any:
        if source not in clients:
            clients[source] = TestClient(app, client=(source, 50000))
        return clients[source].post(LOGIN, json={"username": username, "password": password})

    yield do
    for test_client in clients.values():
        test_client.close()


@pytest.fixture
def proxied(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A client to a server behind a trusted reverse proxy, so each request
    comes from the source its ``X-Forwarded-For`` names."""
    from app.server.app import create_app

    app = create_app(dataclasses.replace(settings, trusted_proxies=f"10.0.0.1, {PROXY}"), engine=engine)
    with TestClient(app) as test_client:
        yield test_client


def test_a_guesser_does_not_lock_the_owner_out(attempt: Attempt, make_user: Any) -> None:
    user = make_user()
    statuses = [attempt(user.username, "guess", "203.0.113.66").status_code for _ in range(8)]
    assert statuses == [401, 401, 401, 401, 429, 429, 429, 429]
    # The guesser is refused even with the right password...
    assert attempt(user.username, GOOD, "203.0.113.66").status_code == 429
    # ... while the owner, elsewhere, signs in.
    assert attempt(user.username, GOOD, "198.51.100.7").status_code == 200


def test_password_spraying_from_one_source_is_throttled(
    attempt: Attempt, make_user: Any, settings: Settings
) -> None:
    victim = make_user()
    names = [f"teacher{i}" for i in range(settings.throttle_source_after)]
    statuses = [attempt(name, "123456", "203.0.113.66").status_code for name in names]
    assert statuses[:-1] == [401] * (len(names) - 1)
    assert statuses[-1] == 429
    # That source is slowed for every name, even a right password...
    assert attempt(victim.username, GOOD, "203.0.113.66").status_code == 429
    # ... another is not.
    assert attempt(victim.username, GOOD, "198.51.100.7").status_code == 200


def test_guessing_from_many_sources_locks_only_those_sources(
    attempt: Attempt, make_user: Any, settings: Settings
) -> None:
    user = make_user()
    sources = [f"203.0.113.{i}" for i in range(1, settings.throttle_account_after + 1)]
    statuses = [attempt(user.username, "guess", source).status_code for source in sources]
    assert statuses[:-1] == [401] * (len(sources) - 1)
    assert statuses[-1] == 429
    # A source that guessed before must wait now, though it failed only once...
    assert attempt(user.username, "guess", sources[0]).status_code == 429
    # ... but the owner's own address is not locked out.
    assert attempt(user.username, GOOD, "198.51.100.7").status_code == 200


def test_locks_grow_for_the_guesser_only(attempt: Attempt, make_user: Any, clock: FakeClock) -> None:
    user = make_user()
    retry_after = []
    for _ in range(9):
        response = attempt(user.username, "guess", "203.0.113.66")
        if response.status_code == 429:
            retry_after.append(int(response.headers["Retry-After"]))
            # Meanwhile the owner signs in elsewhere, whatever the guesser's lock.
            assert attempt(user.username, GOOD, "198.51.100.7").status_code == 200
            clock.advance(seconds=retry_after[-1] + 1)
    assert retry_after == [30, 60, 120, 240, 480]


def test_the_source_behind_a_trusted_proxy_counts_and_a_forged_one_does_not(
    proxied: TestClient, client: Any, make_user: Any
) -> None:
    """Behind a trusted proxy the address it forwards is the source; from any
    other peer the header is the client's word, and changing it must not
    escape the lock."""
    user, other = make_user(), make_user()

    def via_proxy(password: str, source: str) -> int:
        # The client's own header says anything; the proxies append what they saw.
        forwarded = f"1.2.3.4, {source}, 10.0.0.1"
        status: int = proxied.post(LOGIN, json={"username": user.username, "password": password},
                                   headers={"X-Forwarded-For": forwarded}).status_code
        return status

    assert [via_proxy("guess", "203.0.113.66") for _ in range(5)] == [401, 401, 401, 401, 429]
    assert via_proxy(GOOD, "198.51.100.7") == 200

    for i in range(5):
        client.post(LOGIN, json={"username": other.username, "password": "guess"},
                    headers={"X-Forwarded-For": f"192.0.2.{i}"})
    escaped = client.post(LOGIN, json={"username": other.username, "password": GOOD},
                          headers={"X-Forwarded-For": "192.0.2.200"})
    assert escaped.status_code == 429


def test_password_change_is_throttled_per_source_too(app: Any, make_user: Any, auth_headers: Any) -> None:
    user = make_user()

    def change(source: str, old: str) -> int:
        body = {"old_password": old, "new_password": "battery staple"}
        with TestClient(app, client=(source, 50000)) as test_client:
            status: int = test_client.post(PASSWORD, headers=auth_headers(user), json=body).status_code
            return status

    assert [change("203.0.113.66", "guess") for _ in range(5)] == [401, 401, 401, 401, 429]
    assert change("198.51.100.7", GOOD) == 204


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("FIELDBOOK_SERVER_DATABASE_URL", db_url)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_admins_see_and_clear_lockouts(attempt: Attempt, make_user: Any, session: Session, cli: Any) -> None:
    user = make_user(username="li.wei")
    assert cli("lockouts")[1] == "Nobody is locked out.\n"
    for _ in range(5):
        attempt(user.username, "guess", "203.0.113.66")

    code, out, _err = cli("lockouts")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["user", "name", "source"]
    assert lines[1].split()[:3] == ["li.wei", "203.0.113.66", "5"]
    assert [(row.username, row.source) for row in admin.lockouts(session)] == [("li.wei", "203.0.113.66")]

    code, out, _err = cli("unlock", "Li.Wei")
    assert code == 0 and "may sign in again" in out
    assert cli("lockouts")[1] == "Nobody is locked out.\n"
    assert attempt(user.username, GOOD, "203.0.113.66").status_code == 200
