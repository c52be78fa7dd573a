"""Sign-in, tokens, throttling and deactivation, through the API."""

from __future__ import annotations

import base64
import datetime as dt
import json
import warnings
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.server import admin, security
from app.server.config import Settings
from app.server.tables import LoginFailure, RefreshToken
from tests.server.conftest import FakeClock

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PASSWORD = "/api/v1/auth/password"
ME = "/api/v1/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_login_returns_tokens_and_user(client: Any, make_user: Any) -> None:
    user = make_user("trainer", display_name="王老师")
    response = client.post(LOGIN, json={"username": user.username, "password": "correct horse"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"] == {
        "id": user.id,
        "username": user.username,
        "display_name": "王老师",
        "role": "trainer",
        "school": "",
    }
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == user.username


def test_login_is_case_insensitive_about_the_name(client: Any, make_user: Any) -> None:
    make_user(username="li.wei")
    response = client.post(LOGIN, json={"username": "  Li.Wei ", "password": "correct horse"})
    assert response.status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(client: Any, make_user: Any) -> None:
    user = make_user()
    wrong = client.post(LOGIN, json={"username": user.username, "password": "wrong horse"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "wrong horse"})
    impossible = client.post(LOGIN, json={"username": "no body!", "password": "wrong horse"})
    for response in (wrong, unknown, impossible):
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "invalid_credentials", "message": "The user name or password is not correct."}
        }


def test_refresh_rotates_and_reuse_revokes_the_family(
    client: Any, make_user: Any, session: Session, clock: FakeClock
) -> None:
    user = make_user()
    first = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert second_body["user"]["id"] == user.id
    assert client.get(ME, headers=bearer(second_body["access_token"])).status_code == 200

    # The old token was spent: presenting it again, later than a retry would
    # come, looks like theft.
    clock.advance(seconds=security.REUSE_GRACE.total_seconds() + 1)
    reused = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert error_code(reused) == "token_reused"
    # ... so the token issued by the rotation is dead too.
    after = client.post(REFRESH, json={"refresh_token": second_body["refresh_token"]})
    assert after.status_code == 401
    # Another sign-in (another family) is unaffected.
    other = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    assert client.post(REFRESH, json={"refresh_token": other["refresh_token"]}).status_code == 200
    # Only hashes are stored.
    hashes = set(session.scalars(select(RefreshToken.token_hash)))
    assert first["refresh_token"] not in hashes
    assert security.hash_refresh_token(first["refresh_token"]) in hashes


def test_a_retry_after_a_lost_answer_keeps_the_device_signed_in(
    client: Any, make_user: Any, clock: FakeClock
) -> None:
    """The hotspot dropped the answer of a refresh: the client, still holding
    the old token, tries again. That must not sign the teacher out."""
    user = make_user()
    first = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    lost = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    clock.advance(seconds=20)
    retry = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert retry.status_code == 200
    fresh = retry.json()["refresh_token"]
    assert fresh == lost["refresh_token"]  # the same answer again, not a second session
    assert client.post(REFRESH, json={"refresh_token": fresh}).status_code == 200
    # Once its successor was used, the first token is dead, even within the grace.
    assert client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401


def test_no_retry_grace_after_sign_out(client: Any, make_user: Any) -> None:
    user = make_user()
    first = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    assert client.post(LOGOUT, json={"refresh_token": second["refresh_token"]}).status_code == 204
    assert client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401


def test_unknown_and_expired_refresh_tokens(client: Any, make_user: Any, clock: FakeClock) -> None:
    user = make_user()
    assert client.post(REFRESH, json={"refresh_token": "nope"}).status_code == 401
    body = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    clock.advance(days=31)
    response = client.post(REFRESH, json={"refresh_token": body["refresh_token"]})
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_logout_revokes_the_refresh_token(client: Any, make_user: Any) -> None:
    user = make_user()
    body = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    response = client.post(LOGOUT, json={"refresh_token": body["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    assert client.post(REFRESH, json={"refresh_token": body["refresh_token"]}).status_code == 401
    # Logging out with an unknown token says nothing either way.
    assert client.post(LOGOUT, json={"refresh_token": "whatever"}).status_code == 204


def test_password_change(client: Any, make_user: Any) -> None:
    user = make_user()
    one = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    two = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    headers = bearer(one["access_token"])

    wrong = client.post(
        PASSWORD, headers=headers, json={"old_password": "nope", "new_password": "battery staple"}
    )
    assert wrong.status_code == 401
    short = client.post(
        PASSWORD, headers=headers, json={"old_password": "correct horse", "new_password": "short"}
    )
    assert short.status_code == 422
    assert "new_password" in short.json()["error"]["message"]
    unauthenticated = client.post(
        PASSWORD, json={"old_password": "correct horse", "new_password": "battery staple"}
    )
    assert unauthenticated.status_code == 401

    ok = client.post(
        PASSWORD, headers=headers, json={"old_password": "correct horse", "new_password": "battery staple"}
    )
    assert ok.status_code == 204
    # Every device is signed out: no refresh token of the user works.
    for body in (one, two):
        assert client.post(REFRESH, json={"refresh_token": body["refresh_token"]}).status_code == 401
    assert (
        client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).status_code == 401
    )
    assert (
        client.post(LOGIN, json={"username": user.username, "password": "battery staple"}).status_code == 200
    )


def test_expired_access_token(client: Any, make_user: Any, auth_headers: Any, clock: FakeClock) -> None:
    user = make_user()
    headers = auth_headers(user)
    assert client.get(ME, headers=headers).status_code == 200
    clock.advance(minutes=15, seconds=1)
    response = client.get(ME, headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_tokens(settings: Settings, user_id: int) -> dict[str, str]:
    now = int(settings.now().timestamp())
    claims = {"sub": str(user_id), "type": "access", "ver": 0, "iat": now, "exp": now + 600}
    good = security.create_access_token(settings, user_id)
    head, _body, sig = good.split(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT: the key is short for HS512 (it is the point)
        hs512 = jwt.encode(claims, settings.secret, algorithm="HS512")
    return {
        "wrong secret": jwt.encode(claims, "x" * 40, algorithm="HS256"),
        "alg none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".",
        "alg none unsigned": jwt.encode(claims, "", algorithm="none"),  # "" is the "none" key
        "tampered claims": head + "." + _b64({**claims, "sub": str(user_id + 1)}) + "." + sig,
        "HS512": hs512,
        "refresh-type": jwt.encode({**claims, "type": "refresh"}, settings.secret, algorithm="HS256"),
        "no exp": jwt.encode({"sub": str(user_id), "type": "access"}, settings.secret, algorithm="HS256"),
        "non-numeric sub": jwt.encode({**claims, "sub": "1 OR 1=1"}, settings.secret, algorithm="HS256"),
        "huge sub": jwt.encode({**claims, "sub": "9" * 40}, settings.secret, algorithm="HS256"),
        "int sub": jwt.encode({**claims, "sub": user_id}, settings.secret, algorithm="HS256"),
        "unknown user": jwt.encode({**claims, "sub": "999999"}, settings.secret, algorithm="HS256"),
        "no version": jwt.encode({k: v for k, v in claims.items() if k != "ver"}, settings.secret),
        "version true": jwt.encode({**claims, "ver": True}, settings.secret, algorithm="HS256"),
        "later version": jwt.encode({**claims, "ver": 1}, settings.secret, algorithm="HS256"),
        "version text": jwt.encode({**claims, "ver": "0"}, settings.secret, algorithm="HS256"),
        "session not hex": jwt.encode({**claims, "sid": "z" * 32}, settings.secret, algorithm="HS256"),
        "unknown session": jwt.encode({**claims, "sid": "0" * 32}, settings.secret, algorithm="HS256"),
        "session number": jwt.encode({**claims, "sid": 7}, settings.secret, algorithm="HS256"),
        "garbage": "garbage",
        "three dots": "a.b.c",
        "empty": "",
        "unicode": "令牌.令牌.令牌",
    }


def test_forged_tokens_are_refused(client: Any, make_user: Any, settings: Settings) -> None:
    user = make_user()
    for name, token in forged_tokens(settings, user.id).items():
        response = client.get(ME, headers={"Authorization": f"Bearer {token}".encode()})
        assert response.status_code == 401, name
        assert error_code(response) in ("invalid_token", "not_authenticated", "session_ended"), name
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "token abc", "Bearer a b"):
        response = client.get(ME, headers={"Authorization": header})
        assert response.status_code == 401, header
    assert client.get(ME).status_code == 401


def test_deactivated_user_is_locked_out_at_once(
    client: Any, make_user: Any, auth_headers: Any, session: Session
) -> None:
    user = make_user()
    body = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    headers = auth_headers(user)
    assert client.get(ME, headers=headers).status_code == 200

    admin.deactivate_user(session, user.username)

    response = client.get(ME, headers=headers)  # the access token has not expired
    assert response.status_code == 401
    assert error_code(response) == "account_disabled"
    assert client.get(ME, headers=bearer(body["access_token"])).status_code == 401
    assert client.post(REFRESH, json={"refresh_token": body["refresh_token"]}).status_code == 401
    login = client.post(LOGIN, json={"username": user.username, "password": "correct horse"})
    assert login.status_code == 401
    assert error_code(login) == "account_disabled"
    # A wrong password does not reveal that the account exists but is disabled.
    wrong = client.post(LOGIN, json={"username": user.username, "password": "wrong"})
    assert error_code(wrong) == "invalid_credentials"


def test_throttling_locks_then_lets_in(
    client: Any, make_user: Any, clock: FakeClock, session: Session
) -> None:
    user = make_user()
    bad = {"username": user.username, "password": "wrong horse"}
    good = {"username": user.username, "password": "correct horse"}
    for _ in range(4):
        assert client.post(LOGIN, json=bad).status_code == 401
    fifth = client.post(LOGIN, json=bad)
    assert fifth.status_code == 429
    assert fifth.headers["Retry-After"] == "30"
    assert error_code(fifth) == "too_many_attempts"
    # While locked even the right password is refused, without checking it.
    locked = client.post(LOGIN, json=good)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 30

    clock.advance(seconds=31)
    sixth = client.post(LOGIN, json=bad)  # one more failure doubles the lock
    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == "60"
    clock.advance(seconds=61)
    assert client.post(LOGIN, json=good).status_code == 200
    # Success resets the count.
    session.expire_all()
    assert session.get(LoginFailure, (user.username, "testclient")) is None
    for _ in range(4):
        assert client.post(LOGIN, json=bad).status_code == 401


def test_lock_doubles_up_to_fifteen_minutes(client: Any, clock: FakeClock) -> None:
    bad = {"username": "ghost", "password": "wrong horse"}  # unknown names are throttled alike
    retry_after = []
    for _ in range(12):
        response = client.post(LOGIN, json=bad)
        if response.status_code == 429:
            retry_after.append(int(response.headers["Retry-After"]))
            clock.advance(seconds=retry_after[-1] + 1)
    assert retry_after == [30, 60, 120, 240, 480, 900, 900, 900]


def test_old_failures_are_forgotten(client: Any, make_user: Any, clock: FakeClock) -> None:
    user = make_user()
    bad = {"username": user.username, "password": "wrong horse"}
    for _ in range(4):
        client.post(LOGIN, json=bad)
    clock.advance(hours=2)
    assert client.post(LOGIN, json=bad).status_code == 401


def test_password_change_attempts_are_throttled(client: Any, make_user: Any, auth_headers: Any) -> None:
    user = make_user()
    statuses = [
        client.post(
            PASSWORD,
            headers=auth_headers(user),
            json={"old_password": "guess", "new_password": "battery staple"},
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 429, 429]


def test_tokens_are_pruned(client: Any, make_user: Any, session: Session, clock: FakeClock) -> None:
    user = make_user()
    for _ in range(3):
        client.post(LOGIN, json={"username": user.username, "password": "correct horse"})
    clock.advance(days=31)
    client.post(LOGIN, json={"username": user.username, "password": "correct horse"})
    count = session.scalar(
        select(func.count()).select_from(RefreshToken).where(RefreshToken.user_id == user.id)
    )
    assert count == 1


def test_access_token_contents(settings: Settings) -> None:
    token = security.create_access_token(settings, 42)
    claims = jwt.decode(token, settings.secret, algorithms=["HS256"])
    assert claims["sub"] == "42"
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["ver"] == 0
    assert "sid" not in claims  # only tooling mints tokens without a session
    assert security.decode_access_token(settings, token) == security.AccessClaims(42, 0, None)
    with_session = security.create_access_token(settings, 42, version=3, session_id="ab" * 16)
    assert security.decode_access_token(settings, with_session) == security.AccessClaims(42, 3, "ab" * 16)


def test_real_password_hashes_are_argon2id() -> None:
    from argon2 import PasswordHasher

    old = security.set_password_hasher(PasswordHasher())
    try:
        hashed = security.hash_password("correct horse")
        assert hashed.startswith("$argon2id$")
        assert security.verify_password(hashed, "correct horse")
        assert not security.verify_password(hashed, "correct horsE")
        assert not security.verify_password("not a hash", "x")
    finally:
        security.set_password_hasher(old)


def test_weak_hashes_are_upgraded_on_sign_in(client: Any, make_user: Any, session: Session) -> None:
    from argon2 import PasswordHasher

    user = make_user()
    old_hash = user.password_hash
    old = security.set_password_hasher(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    try:
        assert (
            client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).status_code
            == 200
        )
    finally:
        security.set_password_hasher(old)
    session.expire_all()
    assert session.get(type(user), user.id).password_hash != old_hash  # type: ignore[union-attr]


@pytest.mark.parametrize("when", ["before", "after"])
def test_refresh_token_of_deactivated_user(
    client: Any, make_user: Any, session: Session, when: str, clock: FakeClock
) -> None:
    user = make_user()
    body = client.post(LOGIN, json={"username": user.username, "password": "correct horse"}).json()
    if when == "after":
        clock.advance(minutes=1)
    admin.deactivate_user(session, user.username)
    assert client.post(REFRESH, json={"refresh_token": body["refresh_token"]}).status_code == 401


def test_health(client: Any) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "protocol": 1}


def test_now_is_utc(settings: Settings) -> None:
    assert settings.now().tzinfo is not None
    assert settings.now().utcoffset() == dt.timedelta(0)
