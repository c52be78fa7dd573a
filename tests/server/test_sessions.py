"""Sessions end when they should: sign-out, password change, reset-password
and deactivation take effect on the next request, not when the access token
expires; a refresh retried after a lost answer gets the same token back, and
any other reuse of a spent refresh token ends the session and is told to the
user at the next sign-in (docs/sync.md, "Sign-in and sessions")."""

from __future__ import annotations

import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.protocol.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server import admin, security
from app.server.cli import main
from app.server.tables import RefreshToken
from tests.server.conftest import FakeClock

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PASSWORD = "/api/v1/auth/password"
ME = "/api/v1/me"
PUSH = "/api/v1/sync/push"
PASSWORD_TEXT = "correct horse"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


def sign_in(client: Any, username: str, password: str = PASSWORD_TEXT) -> dict[str, Any]:
    response = client.post(LOGIN, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(client: Any, token: str) -> Any:
    return client.post(REFRESH, json={"refresh_token": token})


def push(client: Any, access_token: str) -> Any:
    change = {"seq": 1, "record_id": "6f1c7c2e-1111-4c4c-9c9c-000000000001", "kind": "lesson_plan",
              "clock": 1, "known": 0, "fields": {"title": "认识分数"}}
    body = {"protocol": PROTOCOL_VERSION, "device_id": "laptop-1", "changes": [change]}
    return client.post(PUSH, json=body, headers=bearer(access_token))


def assert_signed_out(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "session_ended"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def live_tokens(session: Session, family_of: str) -> int:
    """How many live refresh tokens the session holding ``family_of`` has."""
    session.expire_all()
    family = session.scalars(
        select(RefreshToken.family).where(RefreshToken.token_hash == security.hash_refresh_token(family_of))
    ).one()
    return session.scalar(
        select(func.count())
        .select_from(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
    ) or 0


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``fieldbook-server ARGS`` in-process on the test database; returns (code, out, err)."""
    monkeypatch.setenv("FIELDBOOK_SERVER_DATABASE_URL", db_url)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


# --- item 2: every sign-out takes effect on the next request -----------------


def test_reset_password_ends_access_tokens_at_once(client: Any, make_user: Any, cli: Any) -> None:
    user = make_user()
    laptop = sign_in(client, user.username)
    assert client.get(ME, headers=bearer(laptop["access_token"])).status_code == 200
    assert push(client, laptop["access_token"]).status_code == 200

    code, out, _err = cli("reset-password", user.username, "--password-stdin", stdin="battery staple\n")
    assert code == 0 and "signed out everywhere" in out

    # The access token has 15 minutes left, and is refused now: no reading, no pushing.
    assert_signed_out(client.get(ME, headers=bearer(laptop["access_token"])))
    assert_signed_out(push(client, laptop["access_token"]))
    assert refresh(client, laptop["refresh_token"]).status_code == 401
    again = sign_in(client, user.username, "battery staple")
    assert client.get(ME, headers=bearer(again["access_token"])).status_code == 200


def test_password_change_ends_every_devices_access_tokens(client: Any, make_user: Any) -> None:
    user = make_user()
    laptop, phone = sign_in(client, user.username), sign_in(client, user.username)
    changed = client.post(
        PASSWORD,
        headers=bearer(laptop["access_token"]),
        json={"old_password": PASSWORD_TEXT, "new_password": "battery staple"},
    )
    assert changed.status_code == 204
    for device in (laptop, phone):
        assert_signed_out(client.get(ME, headers=bearer(device["access_token"])))


def test_signing_out_one_device_ends_its_access_tokens_only(client: Any, make_user: Any) -> None:
    user = make_user()
    laptop, phone = sign_in(client, user.username), sign_in(client, user.username)
    # A rotation in between: the session, not one token, is what signs out.
    rotated = refresh(client, laptop["refresh_token"]).json()
    assert client.post(LOGOUT, json={"refresh_token": rotated["refresh_token"]}).status_code == 204

    for token in (laptop["access_token"], rotated["access_token"]):
        assert_signed_out(client.get(ME, headers=bearer(token)))
        assert_signed_out(push(client, token))
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
    client: Any, make_user: Any, session: Session
) -> None:
    user = make_user()
    laptop = sign_in(client, user.username)
    admin.deactivate_user(session, user.username)
    # Brought back (as `demo` does): the old tokens stay dead.
    user.active = True
    session.commit()
    assert_signed_out(client.get(ME, headers=bearer(laptop["access_token"])))
    assert refresh(client, laptop["refresh_token"]).status_code == 401


def test_an_access_token_of_another_users_session_is_refused(
    client: Any, make_user: Any, settings: Any
) -> None:
    """The session id must belong to the token's user: a live session of
    someone else does not keep a token alive."""
    mine, theirs = make_user(), make_user()
    their_session = security.decode_access_token(settings, sign_in(client, theirs.username)["access_token"])
    forged = security.create_access_token(settings, mine.id, session_id=their_session.session_id)
    assert_signed_out(client.get(ME, headers=bearer(forged)))


def test_access_tokens_from_before_the_upgrade_are_refused(
    client: Any, make_user: Any, settings: Any
) -> None:
    """Tokens without a version (issued by the previous server) could outlive
    a reset; they are refused and the client refreshes."""
    user = make_user()
    now = int(settings.now().timestamp())
    old = jwt.encode({"sub": str(user.id), "type": "access", "iat": now, "exp": now + 600},
                     settings.secret, algorithm="HS256")
    response = client.get(ME, headers=bearer(old))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


# --- item 3: a retried refresh is idempotent; any other reuse is theft -------


def test_a_replay_within_the_grace_gets_the_same_token_and_signs_nobody_out(
    client: Any, make_user: Any, session: Session, clock: FakeClock
) -> None:
    user = make_user()
    first = sign_in(client, user.username)
    owner = refresh(client, first["refresh_token"]).json()  # the owner got this answer
    clock.advance(seconds=10)

    replay = refresh(client, first["refresh_token"])  # a copy of the first token, or a retry

    assert replay.status_code == 200
    assert replay.json()["refresh_token"] == owner["refresh_token"]  # not a new session
    assert live_tokens(session, first["refresh_token"]) == 1
    # The owner is still signed in and keeps refreshing.
    assert client.get(ME, headers=bearer(owner["access_token"])).status_code == 200
    assert refresh(client, owner["refresh_token"]).status_code == 200


def test_replays_within_the_grace_all_get_the_same_token(
    client: Any, make_user: Any, session: Session, clock: FakeClock
) -> None:
    user = make_user()
    first = sign_in(client, user.username)
    answers = []
    for _ in range(3):  # the hotspot dropped each answer
        response = refresh(client, first["refresh_token"])
        assert response.status_code == 200
        answers.append(response.json()["refresh_token"])
        clock.advance(seconds=15)
    assert len(set(answers)) == 1
    assert live_tokens(session, first["refresh_token"]) == 1


def test_two_refreshes_racing_with_one_token_get_the_same_answer(
    app: Any, client: Any, make_user: Any, session: Session
) -> None:
    """A client that sent its refresh twice (a retry while the first was still
    on its way): whichever way the two interleave, one session, one token."""
    from fastapi.testclient import TestClient

    user = make_user()
    first = sign_in(client, user.username)
    start = threading.Barrier(2)

    def race(_: int) -> Any:
        with TestClient(app) as own:
            start.wait()
            return refresh(own, first["refresh_token"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(race, range(2)))
    assert [answer.status_code for answer in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["refresh_token"] == answers[1].json()["refresh_token"]
    assert live_tokens(session, first["refresh_token"]) == 1


def test_reuse_after_the_successor_was_used_ends_the_session_and_is_told_at_sign_in(
    client: Any, make_user: Any, session: Session, clock: FakeClock
) -> None:
    user = make_user()
    first = sign_in(client, user.username)
    other_device = sign_in(client, user.username)
    second = refresh(client, first["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()
    clock.advance(seconds=5)  # well within the grace: still a copy, its successor was used

    stolen = refresh(client, first["refresh_token"])

    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "token_reused"
    assert refresh(client, third["refresh_token"]).status_code == 401
    assert_signed_out(client.get(ME, headers=bearer(third["access_token"])))
    # Only that session ended.
    assert client.get(ME, headers=bearer(other_device["access_token"])).status_code == 200
    # The user hears of it once, at the next sign-in.
    told = sign_in(client, user.username)
    assert told["notice"] == "session_revoked_reuse"
    assert sign_in(client, user.username)["notice"] is None


def test_reuse_after_the_grace_is_theft(client: Any, make_user: Any, clock: FakeClock) -> None:
    user = make_user()
    first = sign_in(client, user.username)
    second = refresh(client, first["refresh_token"]).json()
    clock.advance(seconds=security.REUSE_GRACE.total_seconds() + 1)
    assert refresh(client, first["refresh_token"]).json()["error"]["code"] == "token_reused"
    assert refresh(client, second["refresh_token"]).status_code == 401
    assert sign_in(client, user.username)["notice"] == "session_revoked_reuse"


def test_a_spent_token_of_a_signed_out_session_is_not_theft(client: Any, make_user: Any) -> None:
    user = make_user()
    first = sign_in(client, user.username)
    second = refresh(client, first["refresh_token"]).json()
    assert client.post(LOGOUT, json={"refresh_token": second["refresh_token"]}).status_code == 204
    late = refresh(client, first["refresh_token"])
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "invalid_token"
    assert sign_in(client, user.username)["notice"] is None

