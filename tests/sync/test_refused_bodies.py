"""A refused request body still reaches the client as the answer and its reason.

``requests`` sends the whole body before it reads the answer. A server that
answers early and closes with part of the body unread resets the connection,
and the answer can be lost on the way: the client sees a broken pipe instead
of the 4xx (``DrainBodyMiddleware`` in app/server/middleware.py). The link
here is a real TCP hop (the fault proxy, passing everything) in front of the
real server, as a network is; each case is sent many times, since a lost
answer depends on which packet wins.
"""

from __future__ import annotations

import hashlib

import pytest
import requests

from app.protocol.blobs import BLOBS_PATH, OFFSET_HEADER, SIZE_HEADER, TYPE_HEADER
from app.protocol.sync import API_PREFIX, MAX_BODY_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.faultproxy import FaultProxy
from tests.sync.conftest import LiveServer

JPEG_START = b"\xff\xd8\xff"
REFUSED_EXPECTED = {401: {"invalid_token", "not_authenticated"}, 413: {"too_large"}}


def piece_headers(body: bytes) -> dict[str, str]:
    return {"Authorization": "Bearer not-a-token", SIZE_HEADER: str(len(body)), TYPE_HEADER: "image/jpeg",
            OFFSET_HEADER: "0", "Content-Type": "application/octet-stream",
            PROTOCOL_HEADER: str(PROTOCOL_VERSION)}


def send_many(method: str, url: str, body: bytes, times: int, status: int) -> None:
    """``times`` requests on one keep-alive session; every one must be
    answered ``status`` with its JSON reason, none cut off."""
    lost: list[str] = []
    with requests.Session() as http:
        for attempt in range(times):
            try:
                response = http.request(method, url, data=body, headers=piece_headers(body), timeout=60)
            except requests.RequestException as exc:  # a broken pipe, a reset, a cut-off answer
                lost.append(f"{attempt}: {exc}")
                continue
            assert response.status_code == status, response.text
            error = response.json()["error"]
            assert error["code"] in REFUSED_EXPECTED[status] and error["message"]
    assert not lost, f"{len(lost)} of {times} answers lost: {lost[:3]}"


@pytest.mark.slow
def test_a_refused_upload_always_gets_its_answer(live_server: LiveServer) -> None:
    body = JPEG_START + bytes(1024 * 1024 - len(JPEG_START))
    url = f"{API_PREFIX}{BLOBS_PATH}/{hashlib.sha256(body).hexdigest()}"
    send_many("PUT", live_server.url + url, body, 200, 401)
    with FaultProxy(live_server.port) as proxy:
        send_many("PUT", proxy.url + url, body, 50, 401)


@pytest.mark.slow
def test_a_body_over_the_limit_gets_its_413(live_server: LiveServer) -> None:
    body = JPEG_START + bytes(MAX_BODY_BYTES + 1024 * 1024)
    blob_url = f"{API_PREFIX}{BLOBS_PATH}/{hashlib.sha256(body).hexdigest()}"
    with FaultProxy(live_server.port) as proxy:
        send_many("PUT", proxy.url + blob_url, body, 40, 413)
        send_many("POST", proxy.url + f"{API_PREFIX}/sync/push", body, 40, 413)
