"""One definition of each wire message (app/protocol/sync.py), read the same
way on both sides: the server validates requests with it, the client
validates answers with it, and neither takes a look-alike.

Requests are closed (an unknown key is refused); answers drop unknown keys,
as servers are upgraded before the laptops. Both are strict in every value.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from app.protocol.blobs import BLOB_STATUS
from app.protocol.sync import (
    PROTOCOL_VERSION,
    PULL_RESPONSE,
    PUSH_RESPONSE,
    MalformedMessage,
    PullRequest,
    PushRequest,
    read,
)
from app.sync.client import ApiClient
from app.sync.errors import BadResponse

RID = "0b7f6c1e-4a3d-4c1b-9a7e-2f5d8c9b1a00"


def page(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION, "cursor": 7, "more": False, "devices": ["dev-a"],
        "records": [{"id": RID, "kind": "lesson_plan", "owner": 3, "author": "王老师",
                     "created_at": "2026-09-01T08:00:00+00:00",
                     "fields": {"title": ["认识分数", 5, 0]}}],
        "conflicts": [], "notices": [], "scope": [3], "removed": [], "people_hash": "ab",
    }
    body.update(overrides)
    return body


def test_an_answer_is_read_in_json_terms() -> None:
    got = read(PULL_RESPONSE, json.dumps(page(cursor=7.0)))
    assert got["cursor"] == 7 and isinstance(got["cursor"], int)  # 7.0 is JSON's 7
    assert got["records"][0]["fields"] == {"title": ("认识分数", 5, 0)}


def test_an_answer_drops_keys_it_does_not_know() -> None:
    got = read(PULL_RESPONSE, json.dumps(page(added_by_a_newer_server=[1, 2])))
    assert "added_by_a_newer_server" not in got


@pytest.mark.parametrize(("broken", "where"), [
    (page(cursor="7"), "cursor"),
    (page(cursor=-1), "cursor"),
    (page(more="no"), "more"),
    ({k: v for k, v in page().items() if k != "records"}, "records"),
    (page(records=[{**page()["records"][0], "fields": {"title": ["x", 5]}}]), "records.0.fields.title"),
    (page(records=[{**page()["records"][0], "fields": {"title": ["x", "5", 0]}}]),
     "records.0.fields.title.1"),
    (page(records=[{**page()["records"][0], "id": "../../etc"}]), "records.0.id"),
    (page(reviews=[{"id": "r"}]), "reviews.0"),
])
def test_a_malformed_answer_says_where(broken: dict[str, Any], where: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        read(PULL_RESPONSE, json.dumps(broken))
    assert str(caught.value).startswith(where)


def test_push_answers_and_blob_status_are_checked_too() -> None:
    assert read(PUSH_RESPONSE, '{"protocol":1,"last_seq":4,"results":[]}')["last_seq"] == 4
    for bad in ('{"protocol":1,"last_seq":4}', '{"protocol":1,"last_seq":true,"results":[]}',
                '{"protocol":1,"last_seq":4,"results":[{"seq":1,"outcome":"lost"}]}', "[]", "not json"):
        with pytest.raises(MalformedMessage):
            read(PUSH_RESPONSE, bad)
    with pytest.raises(MalformedMessage):
        read(BLOB_STATUS, '{"sha256":"ab","state":"complete","offset":0,"size":1}')


def test_a_request_is_closed_and_strict() -> None:
    push = TypeAdapter(PushRequest)
    change = {"seq": 1, "record_id": RID, "kind": "lesson_plan", "clock": 2, "known": 0,
              "fields": {"title": "x"}}
    good = {"protocol": 1, "device_id": "dev-a", "changes": [change]}
    assert push.validate_python(good) == good  # the very dict the service takes, nothing added
    for bad in ({**good, "extra": 1}, {**good, "device_id": "server"}, {**good, "protocol": "1"},
                {**good, "changes": [{**change, "kind": "diary"}]}):
        with pytest.raises(ValidationError):
            push.validate_python(bad)
    pull = TypeAdapter(PullRequest)
    assert pull.validate_python({"protocol": 1, "cursor": 0, "scope": None, "resume": None})["scope"] is None
    with pytest.raises(ValidationError):
        pull.validate_python({"protocol": 1, "cursor": 0})  # scope is required (null at first)


# --- the client refuses a look-alike answer before any of it is used ---------------------------

TOKENS = {"access_token": "a", "refresh_token": "r", "token_type": "bearer", "expires_in": 900,
          "user": {"id": 3, "username": "li", "display_name": "李老师", "role": "fellow"}}


@contextmanager
def api_answering(pull_body: bytes) -> Iterator[str]:
    """A loopback HTTP server that signs anyone in and answers every pull with ``pull_body``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps(TOKENS).encode() if self.path.endswith("/auth/login") else pull_body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_client_takes_a_good_page_and_refuses_a_broken_one() -> None:
    request: PullRequest = {"protocol": PROTOCOL_VERSION, "cursor": 0, "scope": None}
    with api_answering(json.dumps(page()).encode()) as url:
        client = ApiClient(url, timeout=(2, 5))
        client.login("li", "secret")
        assert client.pull(request)["records"][0]["fields"]["title"] == ("认识分数", 5, 0)
    broken = page(records=[{**page()["records"][0], "owner": "3"}])
    with api_answering(json.dumps(broken).encode()) as url:
        client = ApiClient(url, timeout=(2, 5))
        client.login("li", "secret")
        with pytest.raises(BadResponse):
            client.pull(request)
