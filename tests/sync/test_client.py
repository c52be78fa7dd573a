"""ApiClient against a real server on loopback, and transport failures
against tiny sockets that misbehave the way hotspots and proxies do."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import jwt
import pytest

from app.protocol.sync import PROTOCOL_VERSION
from app.sync.client import ApiClient, Tokens, TrafficCounter, normalize_server_url
from app.sync.errors import (
    AuthRequired,
    BadResponse,
    BadServerAddress,
    ClientTooOld,
    InvalidCredentials,
    Offline,
    ServerUnavailable,
    Throttled,
)
from tests.sync.conftest import LiveServer

pytestmark = pytest.mark.slow


def expired_access_token(server: LiveServer, user_id: int) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {"sub": str(user_id), "type": "access", "iat": int(now.timestamp()) - 3600,
               "exp": int(now.timestamp()) - 60}
    return jwt.encode(payload, server.secret, algorithm="HS256")


def test_server_addresses_are_normalized() -> None:
    assert normalize_server_url(" fb.example.org/ ") == "https://fb.example.org"
    assert normalize_server_url("http://127.0.0.1:8700/") == "http://127.0.0.1:8700"
    for bad in ("", "ftp://x", "http://", "https://x:99999", "http://x/?a=1"):
        with pytest.raises(BadServerAddress):
            normalize_server_url(bad)


def test_login_refresh_me_and_traffic(live_server: LiveServer) -> None:
    seen: list[Tokens] = []
    traffic = TrafficCounter()
    client = ApiClient(live_server.url, traffic=traffic, on_tokens=seen.append)

    assert client.health()["protocol"] == PROTOCOL_VERSION
    tokens = client.login("li", live_server.users["li"])
    assert tokens.user.username == "li"
    assert tokens.user.role == "fellow"
    assert tokens.expires_in > 0
    assert seen == [tokens]

    rotated = client.refresh()
    assert rotated.refresh_token != tokens.refresh_token
    assert client.refresh_token == rotated.refresh_token
    assert seen[-1] == rotated
    assert client.me().id == tokens.user.id

    snap = traffic.snapshot()
    assert snap.requests == 4
    assert snap.bytes_sent > 4 * 100  # request lines and headers count
    assert snap.bytes_received > 4 * 50


def test_a_refresh_whose_answer_was_lost_can_be_retried(live_server: LiveServer) -> None:
    """The hotspot drops the answer of a refresh: the client still holds the
    old token and tries again moments later. It stays signed in (theft, a
    reuse after the grace period, is tested on the server)."""
    client = ApiClient(live_server.url)
    first = client.login("li", live_server.users["li"])
    client.refresh()  # this answer "never arrived"
    retried = client.refresh(first.refresh_token)
    assert retried.refresh_token not in (first.refresh_token, None)
    assert client.me().username == "li"
    other = ApiClient(live_server.url)
    with pytest.raises(AuthRequired):
        other.refresh("not a token")


def test_an_expired_access_token_is_refreshed_once_and_the_request_resent(
    live_server: LiveServer,
) -> None:
    client = ApiClient(live_server.url)
    tokens = client.login("wang", live_server.users["wang"])
    client.access_token = expired_access_token(live_server, tokens.user.id)
    before = client.traffic.requests

    assert client.me().username == "wang"

    assert client.traffic.requests - before == 3  # refused, refresh, resent
    assert client.refresh_token != tokens.refresh_token


def test_a_stored_refresh_token_is_enough(live_server: LiveServer) -> None:
    first = ApiClient(live_server.url)
    token = first.login("zhao", live_server.users["zhao"]).refresh_token
    later = ApiClient(live_server.url)
    later.set_refresh_token(token)
    assert later.me().role == "trainer"
    with pytest.raises(AuthRequired):
        ApiClient(live_server.url).me()  # no token at all


def test_wrong_password_and_throttling(live_server: LiveServer) -> None:
    client = ApiClient(live_server.url)
    with pytest.raises(InvalidCredentials):
        client.login("nobody", "whatever-password")
    caught: Exception | None = None
    for _ in range(10):
        try:
            client.login("chen", "wrong-password")
        except InvalidCredentials:
            continue
        except Throttled as exc:
            caught = exc
            break
    assert isinstance(caught, Throttled)
    assert caught.retry_after is not None and caught.retry_after > 0


def test_logout_revokes_and_password_change_signs_in_again(live_server: LiveServer) -> None:
    client = ApiClient(live_server.url)
    tokens = client.login("li", live_server.users["li"])
    client.logout()
    with pytest.raises(AuthRequired):
        client.refresh(tokens.refresh_token)

    client.login("wang", live_server.users["wang"])
    with pytest.raises(InvalidCredentials):
        client.change_password("not-the-password", "new-password-123")
    new = client.change_password(live_server.users["wang"], "new-password-123")
    assert new.user.username == "wang"
    with pytest.raises(InvalidCredentials):
        ApiClient(live_server.url).login("wang", live_server.users["wang"])
    assert ApiClient(live_server.url).login("wang", "new-password-123").user.username == "wang"


def test_an_old_client_is_told_to_update(live_server: LiveServer) -> None:
    class OldClient(ApiClient):
        protocol_version = 0

    client = OldClient(live_server.url)
    client.login("li", live_server.users["li"])
    with pytest.raises(ClientTooOld) as caught:
        client.pull({"protocol": 0, "cursor": 0, "scope": None})
    assert "update" in str(caught.value)


def test_no_server_is_offline(live_server: LiveServer) -> None:
    client = ApiClient(live_server.url, timeout=(2, 5))
    client.login("li", live_server.users["li"])
    live_server.stop()
    with pytest.raises(Offline):
        client.me()
    with pytest.raises(Offline):
        ApiClient("http://no-such-host.invalid", timeout=(2, 5)).health()
    live_server.start()
    assert client.me().username == "li"  # the next request just works again


# --- transport failures against misbehaving sockets --------------------------


@contextmanager
def raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-thread TCP server that handles each connection with ``answer``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    answer(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _reply(raw: bytes) -> Callable[[socket.socket], None]:
    return lambda conn: conn.sendall(raw)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        # A hotspot's login page instead of the API.
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>",
         BadResponse),
        (b"HTTP/1.1 302 Found\r\nLocation: http://login.hotspot/\r\nContent-Length: 0\r\n\r\n",
         BadResponse),
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", ServerUnavailable),
        (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n",
         ServerUnavailable),
        # The connection drops halfway through the answer.
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"pro",
         Offline),
        (b"", Offline),  # closed without a word
    ],
)
def test_broken_answers_are_typed_errors(raw: bytes, error: type[Exception]) -> None:
    with raw_server(_reply(raw)) as url:
        client = ApiClient(url, timeout=(2, 5))
        with pytest.raises(error):
            client.health()
        assert client.traffic.requests == 1


def test_a_server_that_never_answers_times_out_as_unavailable() -> None:
    gave_up = threading.Event()  # the server holds its answer until the client gave up

    def hold(_conn: socket.socket) -> None:
        gave_up.wait(60)  # bounds a hang only

    with raw_server(hold) as url:
        client = ApiClient(url, timeout=(2, 0.5))
        with pytest.raises(ServerUnavailable) as caught:
            client.health()
        gave_up.set()
    assert "too long" in str(caught.value)
