"""Whatever arrives, the server answers 4xx with an error body, never a 500,
and stores nothing it should not."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.protocol.sync import MAX_BODY_BYTES, MAX_INFLATED_BYTES
from app.server.middleware import BodyLimitMiddleware, DrainBodyMiddleware
from app.server.tables import Cohort, RefreshToken, User

LOGIN = "/api/v1/auth/login"
ENDPOINTS = ["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/password"]
JSON = {"Content-Type": "application/json"}

INJECTIONS = [
    "' OR '1'='1",
    "admin'--",
    'admin"; DROP TABLE users; --',
    "'; SELECT pg_sleep(5); --",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "\x00",
    "admin\x00",
    "\\u0000",
    "\u202eadmin",
    "🙂" * 16,
    "老师" * 32,
    " ",
    "a" * 64,
    "\n",
    "\t\r",
]


def assert_error(response: Any, status: int | tuple[int, ...], code: str | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


def assert_nothing_stored(session: Session, users: int = 0) -> None:
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(User)) == users
    assert session.scalar(select(func.count()).select_from(RefreshToken)) == 0
    assert session.scalar(select(func.count()).select_from(Cohort)) == 0


@pytest.fixture
def headers(make_user: Any, auth_headers: Any) -> dict[str, str]:
    """A signed-in fellow's headers (the password endpoint needs them)."""
    return dict(auth_headers(make_user(username="victim")))


MALFORMED = [
    b"",
    b"{",
    b"{'username': 'x'}",
    b"null",
    b"[]",
    b'"username"',
    b"42",
    b"\xff\xfe\x00",
    b'{"username": "a", "password": "b",}',
    b'{"username": NaN, "password": Infinity}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"username": ' + b"1" * 5000 + b', "password": "x"}',
    b'{"username": 1e99999, "password": "x"}',
    b'{"username": "\\ud800", "password": "\\udfff"}',
    b'{"refresh_token": "\\ud800", "old_password": "\\ud800", '
    b'"new_password": "\\ud800\\ud800\\ud800\\ud800"}',
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_bodies(client: Any, session: Session, headers: dict[str, str], endpoint: str) -> None:
    for body in MALFORMED:
        response = client.post(endpoint, content=body, headers={**headers, **JSON})
        assert_error(response, (400, 422))
    assert_nothing_stored(session, users=1)


WRONG_TYPES: list[Any] = [
    {},
    {"username": None, "password": None},
    {"username": 1, "password": 2},
    {"username": True, "password": False},
    {"username": ["a"], "password": {"$ne": ""}},
    {"username": {"$gt": ""}, "password": "x"},
    {"refresh_token": 123},
    {"refresh_token": None},
    {"refresh_token": ["x"]},
    {"old_password": 1, "new_password": 2},
    {"old_password": "correct horse", "new_password": ["battery staple"]},
    {"username": "x" * 65, "password": "y"},
    {"username": "x", "password": "y" * 257},
    {"refresh_token": "t" * 129},
    {"old_password": "o" * 257, "new_password": "n" * 300},
    {"username": "x" * 1_000_000, "password": "y" * 1_000_000, "refresh_token": "z" * 1_000_000},
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_types_and_sizes(client: Any, session: Session, headers: dict[str, str], endpoint: str) -> None:
    for body in WRONG_TYPES:
        response = client.post(endpoint, json=body, headers=headers)
        if endpoint.endswith("logout") and isinstance(body.get("refresh_token"), str):
            continue  # too long for the schema is checked above; this is fine
        assert_error(response, 422, "invalid_request")
        assert len(response.json()["error"]["message"]) < 2000  # the input is not echoed
    assert_nothing_stored(session, users=1)


def test_validation_messages_are_readable(client: Any) -> None:
    response = client.post(LOGIN, json={"username": "x" * 65})
    message = response.json()["error"]["message"]
    assert "username: String should have at most 64 characters" in message
    assert "password: Field required" in message
    assert "x" * 65 not in message


@pytest.mark.parametrize("username", INJECTIONS)
def test_injection_in_username_is_just_a_wrong_login(
    client: Any, session: Session, make_user: Any, username: str
) -> None:
    make_user(username="admin", password="correct horse")
    response = client.post(LOGIN, json={"username": username, "password": "correct horse"})
    if username in ("\x00", "admin\x00"):
        assert_error(response, 422)
    else:
        assert_error(response, 401, "invalid_credentials")
    assert_nothing_stored(session, users=1)


def test_injection_in_tokens_and_passwords(client: Any, session: Session, headers: dict[str, str]) -> None:
    for text in INJECTIONS:
        for endpoint, body in (
            ("/api/v1/auth/refresh", {"refresh_token": text}),
            ("/api/v1/auth/logout", {"refresh_token": text}),
            ("/api/v1/auth/password", {"old_password": text, "new_password": text * 8}),
        ):
            response = client.post(endpoint, json=body, headers=headers)
            assert response.status_code in (204, 401, 422, 429), (endpoint, text, response.text)
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {text}".encode()})
        assert response.status_code == 401
    assert_nothing_stored(session, users=1)


def test_oversized_body_is_413(client: Any, session: Session) -> None:
    big = b'{"username": "' + b"x" * (MAX_BODY_BYTES + 10) + b'", "password": "y"}'
    assert_error(client.post(LOGIN, content=big, headers=JSON), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'{"username": "'
        for _ in range(9):
            yield b"x" * (1024 * 1024)
        yield b'", "password": "y"}'

    assert_error(client.post(LOGIN, content=chunks(), headers=JSON), 413, "too_large")
    assert_nothing_stored(session)


def test_lying_content_length(client: Any) -> None:
    response = client.post(LOGIN, content=b"{}", headers={**JSON, "Content-Length": str(MAX_BODY_BYTES + 1)})
    assert_error(response, 413, "too_large")


def test_gzip_bomb_is_413(client: Any, session: Session) -> None:
    bomb = gzip.compress(b'{"username": "' + b"a" * (MAX_INFLATED_BYTES + 1024), compresslevel=9)
    assert len(bomb) < MAX_BODY_BYTES
    response = client.post(LOGIN, content=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert_error(response, 413, "too_large")
    assert_nothing_stored(session)


@pytest.mark.parametrize(
    "body",
    [
        b"not gzip at all",
        gzip.compress(b'{"username": "a", "password": "b"}')[:-12],  # truncated
        b"\x1f\x8b\x08\x00" + b"\x00" * 40,
        b"",
    ],
)
def test_bad_gzip_is_400(client: Any, body: bytes) -> None:
    response = client.post(LOGIN, content=body, headers={**JSON, "Content-Encoding": "gzip"})
    assert_error(response, 400, "bad_gzip")


def test_gzip_request_and_response(client: Any, make_user: Any) -> None:
    user = make_user()
    body = gzip.compress(json.dumps({"username": user.username, "password": "correct horse"}).encode())
    response = client.post(LOGIN, content=body, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    schema = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert schema.headers["Content-Encoding"] == "gzip"
    assert "paths" in schema.json()


def test_unsupported_encoding_is_415(client: Any) -> None:
    response = client.post(LOGIN, content=b"{}", headers={**JSON, "Content-Encoding": "br"})
    assert_error(response, 415)


def test_other_content_types(client: Any) -> None:
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = client.post(
            LOGIN, content=b"username=a&password=b", headers={"Content-Type": content_type}
        )
        assert_error(response, (400, 415, 422))


def test_unknown_routes_and_methods(client: Any) -> None:
    for path in (
        "/",
        "/api",
        "/api/v1",
        "/api/v2/auth/login",
        "/api/v1/auth/../../etc/passwd",
        "/%00",
        "/老师",
    ):
        assert_error(client.get(path), 404, "not_found")
    assert_error(client.get(LOGIN), 405, "method_not_allowed")
    assert_error(client.delete("/api/v1/me"), 405)
    assert_error(client.put("/health", json={}), 405)


def test_bad_protocol_headers(client: Any, make_user: Any, auth_headers: Any) -> None:
    headers = dict(auth_headers(make_user()))
    for value in (None, "", "0", "00"):
        sent = {k: v for k, v in headers.items() if k != "Fieldbook-Protocol"}
        if value is not None:
            sent["Fieldbook-Protocol"] = value
        response = client.post("/api/v1/sync/pull", json={}, headers=sent)
        assert_error(response, 426, "client_too_old")
        assert response.json()["error"]["message"] == (
            "This version of Fieldbook is too old for the server. Please update Fieldbook."
        )
    for bad in ("abc", "1.0", "-1", "99999999999999999999", "١".encode()):
        response = client.post("/api/v1/sync/pull", json={}, headers={**headers, "Fieldbook-Protocol": bad})
        assert_error(response, 400, "bad_protocol")
    # Auth endpoints do not need the header (sign-in works from any version).
    assert client.get("/api/v1/me", headers={"Authorization": headers["Authorization"]}).status_code == 200


@pytest.mark.allow_logged_errors
def test_unexpected_exception_is_a_logged_500(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("a bug of ours")

    app.add_api_route("/boom", boom)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert_error(response, 500, "internal")
    assert "a bug of ours" not in response.text
    assert any(
        "a bug of ours" in (r.exc_text or "") or r.exc_info for r in caplog.records if r.levelname == "ERROR"
    )


def test_database_trouble_is_a_503(app: Any) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    def locked() -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    app.add_api_route("/locked", locked)
    with TestClient(app) as client:
        response = client.get("/locked")
    assert_error(response, 503, "database_unavailable")
    assert response.headers["Retry-After"] == "5"


def test_database_down(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from app.server.app import create_app
    from app.server.config import Settings
    from app.server.security import create_access_token

    settings = Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        secret="db-down-test-secret-9Xk2LmP7wRt4yZb8Nc",
        data_dir=tmp_path,
    ).resolved()
    with TestClient(create_app(settings)) as client:
        assert_error(client.get("/health"), 503, "database_unavailable")
        token = create_access_token(settings, 1)
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 503, "database_unavailable")
        assert_error(client.post(LOGIN, json={"username": "a", "password": "b"}), 503)


# --- the middleware on its own, with chunked bodies --------------------------


def _call(chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any]]:
    """Run BodyLimitMiddleware (limits: 40 bytes sent, 60 inflated) on a chunked body."""
    import asyncio

    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["body"] = (await receive())["body"]
        seen["headers"] = dict(scope["headers"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = BodyLimitMiddleware(app, max_body=40, max_inflated=60)
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    return sent[0]["status"], seen


def test_streamed_bytes_are_counted() -> None:
    assert _call([b"x" * 20, b"x" * 20], []) == (200, {"body": b"x" * 40, "headers": {}})
    assert _call([b"x" * 20, b"x" * 20, b"x"], []) == (413, {})


def test_inflated_bytes_are_counted() -> None:
    def gz(data: bytes) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
        body = gzip.compress(data)
        assert len(body) <= 40
        return [body[:10], body[10:]], [
            (b"content-encoding", b"gzip"),
            (b"content-length", b"%d" % len(body)),
        ]

    status, seen = _call(*gz(b"a" * 60))
    assert status == 200
    assert seen["body"] == b"a" * 60
    assert seen["headers"] == {b"content-length": b"60"}  # the app sees a plain body
    assert _call(*gz(b"a" * 61)) == (413, {})


def _refused_early(chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    """Run DrainBodyMiddleware (limit 100 bytes) over an app that answers 401
    without reading the body: (bytes read from the client, answers sent,
    whether the answer says ``Connection: close``)."""
    import asyncio

    pending = list(chunks)
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def refusing_app(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"no"})

    scope = {"type": "http", "method": "PUT", "path": "/x", "headers": headers}
    asyncio.run(DrainBodyMiddleware(refusing_app, limit=100)(scope, receive, send))  # type: ignore[arg-type]
    closes = (b"connection", b"close") in sent[0]["headers"]
    return read, len(sent), closes


def test_a_refused_body_is_read_before_the_answer() -> None:
    """So the client, still sending, reads the answer (no reset in its way)."""
    length = [(b"content-length", b"90")]
    assert _refused_early([b"x" * 30] * 3, length) == (90, 2, False)
    chunked = [(b"transfer-encoding", b"chunked")]
    assert _refused_early([b"x" * 30] * 3, chunked) == (90, 2, False)


def test_a_refused_body_past_the_limit_is_not_read() -> None:
    """Nobody makes the server read without end: past the limit, the answer
    closes the connection instead."""
    assert _refused_early([b"x" * 60] * 3, [(b"content-length", b"180")]) == (0, 2, True)
    read, _, closes = _refused_early([b"x" * 60] * 3, [(b"transfer-encoding", b"chunked")])
    assert read <= 100 + 60 and closes
    waiting = [(b"content-length", b"90"), (b"expect", b"100-continue")]
    assert _refused_early([b"x" * 30] * 3, waiting) == (0, 2, True), "a body never asked for stays unsent"
