"""Attachments on the server (docs/attachments.md "Server"), on SQLite and
PostgreSQL: resumable uploads that keep what arrived before a dropped
connection, every refusal (4xx, nothing kept), downloads with ``Range`` for
exactly the people who may see a record using the file, the push keeping
``record_blobs``, and garbage collection."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.protocol.blobs import OFFSET_HEADER, SIZE_HEADER, TYPE_HEADER
from app.protocol.sync import PROTOCOL_VERSION
from app.server import blob_store
from app.server.config import Settings
from app.server.routers import blobs
from app.server.tables import Blob, RecordBlob, Upload, User

BLOBS = "/api/v1/blobs"
PUSH = "/api/v1/sync/push"
JPEG = "image/jpeg"
PDF = "application/pdf"
MAX_FILE = 64 * 1024
QUOTA = 160 * 1024

MakeUser = Callable[..., User]
Headers = Callable[[User], dict[str, str]]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Small limits and a blob folder of the test's own."""
    return dataclasses.replace(settings, max_file_bytes=MAX_FILE, quota_bytes=QUOTA,
                               blob_dir=tmp_path / "blob-store")


def jpeg(size: int = 10_000) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client: Any, headers: dict[str, str], data: bytes, body: bytes | None = None, *, offset: int = 0,
        media_type: str = JPEG, size: int | None = None, digest: str | None = None) -> Any:
    """One upload PUT of ``body`` (default: ``data`` from ``offset``)."""
    piece = data[offset:] if body is None else body
    return client.put(f"{BLOBS}/{digest or sha(data)}", content=piece, headers={
        **headers, SIZE_HEADER: str(len(data) if size is None else size), TYPE_HEADER: media_type,
        OFFSET_HEADER: str(offset), "Content-Type": "application/octet-stream",
    })


def status(client: Any, headers: dict[str, str], digest: str) -> dict[str, Any]:
    response = client.get(f"{BLOBS}/{digest}/status", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: Any, status_code: int, code: str) -> dict[str, Any]:
    assert response.status_code == status_code, response.text[:500]
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def ref(data: bytes, name: str = "photo.jpg", media_type: str = JPEG) -> dict[str, Any]:
    return {"sha256": sha(data), "name": name, "size": len(data), "type": media_type}


class Pusher:
    """Pushes records with attachments as one laptop per user."""

    def __init__(self, client: Any, auth_headers: Headers) -> None:
        self.client = client
        self.auth_headers = auth_headers
        self.seqs: dict[int, int] = {}

    def push(self, user: User, record_id: str, fields: dict[str, Any]) -> None:
        seq = self.seqs[user.id] = self.seqs.get(user.id, 0) + 1
        body = {"protocol": PROTOCOL_VERSION, "device_id": f"laptop-{user.id}", "changes": [
            {"seq": seq, "record_id": record_id, "kind": "lesson_plan", "clock": seq, "known": 0,
             "fields": fields}]}
        response = self.client.post(PUSH, json=body, headers=self.auth_headers(user))
        assert response.status_code == 200, response.text
        assert response.json()["results"] == [], response.text

    def record(self, user: User, *files: bytes, title: str = "认识分数") -> str:
        record_id = str(uuid.uuid4())
        self.push(user, record_id, {"title": title, "attachments": [ref(f, f"f{i}.jpg") for i, f in
                                                                    enumerate(files)]})
        return record_id


@pytest.fixture
def pusher(client: Any, auth_headers: Headers) -> Pusher:
    return Pusher(client, auth_headers)


def upload(client: Any, headers: dict[str, str], data: bytes, media_type: str = JPEG) -> None:
    response = put(client, headers, data, media_type=media_type)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "complete"


# --------------------------------------------------------------------------- uploads


def test_upload_in_pieces_and_resume_from_the_status(client: Any, session: Session, settings: Settings,
                                                     make_user: MakeUser, auth_headers: Headers) -> None:
    headers = auth_headers(make_user())
    data = jpeg(50_000)
    digest = sha(data)
    assert status(client, headers, digest) == {"sha256": digest, "state": "missing", "offset": 0, "size": 0}
    first = put(client, headers, data, data[:20_000])
    assert first.status_code == 200, first.text
    assert first.json() == {"sha256": digest, "state": "partial", "offset": 20_000, "size": 50_000}
    # A restart later: the client asks where the server stands and goes on from there.
    held = status(client, headers, digest)
    assert held["state"] == "partial" and held["offset"] == 20_000
    second = put(client, headers, data, data[20_000:35_000], offset=20_000)
    assert second.json()["offset"] == 35_000
    last = put(client, headers, data, offset=35_000)
    assert last.status_code == 200
    assert last.json() == {"sha256": digest, "state": "complete", "offset": 50_000, "size": 50_000}
    assert blob_store.blob_path(settings, digest).read_bytes() == data
    assert not blob_store.partial_path(settings, 1, digest).exists()
    session.expire_all()
    assert session.execute(select(Upload)).first() is None
    blob = session.get(Blob, digest)
    assert blob is not None and blob.complete and blob.size == 50_000 and blob.type == JPEG


def test_wrong_offset_is_409_with_the_status(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    headers = auth_headers(make_user())
    data = jpeg(30_000)
    error = assert_error(put(client, headers, data, offset=100), 409, "offset_mismatch")
    assert error["status"] == {"sha256": sha(data), "state": "missing", "offset": 0, "size": 0}
    put(client, headers, data, data[:10_000])
    response = put(client, headers, data, offset=5_000)
    error = assert_error(response, 409, "offset_mismatch")
    assert error["status"]["offset"] == 10_000 and error["status"]["state"] == "partial"
    assert response.json()["status"] == error["status"]  # also at the top level of the body
    assert put(client, headers, data, offset=10_000).json()["state"] == "complete"


def test_hash_mismatch_keeps_nothing(client: Any, session: Session, settings: Settings,
                                     make_user: MakeUser, auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    data = jpeg(20_000)
    claimed = sha(b"something else")
    put(client, headers, data, data[:8_000], digest=claimed)
    response = put(client, headers, data, offset=8_000, digest=claimed)
    assert_error(response, 422, "hash_mismatch")
    assert status(client, headers, claimed)["state"] == "missing"
    assert not blob_store.partial_path(settings, user.id, claimed).exists()
    assert not blob_store.blob_path(settings, claimed).exists()
    session.expire_all()
    assert session.execute(select(Blob)).first() is None


def test_first_piece_of_the_wrong_type(client: Any, settings: Settings, make_user: MakeUser,
                                       auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    data = b"%PDF-1.7\n" + os.urandom(5_000)
    assert_error(put(client, headers, data, data[:1_000], media_type=JPEG), 422, "type_mismatch")
    assert status(client, headers, sha(data))["state"] == "missing"
    assert not blob_store.partial_path(settings, user.id, sha(data)).exists()
    # Pieces shorter than the sniffed start are checked once it is complete.
    upload_tiny = put(client, headers, data, data[:3], media_type=JPEG)
    assert upload_tiny.json()["offset"] == 3
    assert_error(put(client, headers, data, data[3:100], offset=3, media_type=JPEG), 422, "type_mismatch")
    assert status(client, headers, sha(data))["state"] == "missing"
    upload(client, headers, data, PDF)


@pytest.mark.parametrize(
    ("size", "media_type", "digest", "status_code", "code"),
    [
        (0, JPEG, None, 422, "empty_file"),
        (MAX_FILE + 1, JPEG, None, 413, "file_too_large"),
        (1000, "image/svg+xml", None, 415, "unsupported_type"),
        (1000, "text/html", None, 415, "unsupported_type"),
        (1000, JPEG, "A" * 64, 422, "invalid_sha"),
        (1000, JPEG, "abc", 422, "invalid_sha"),
        (1000, JPEG, "../" + "a" * 61, 422, "invalid_sha"),
    ],
)
def test_refusals_keep_nothing(client: Any, session: Session, settings: Settings, make_user: MakeUser,
                               auth_headers: Headers, size: int, media_type: str, digest: str | None,
                               status_code: int, code: str) -> None:
    headers = auth_headers(make_user())
    data = jpeg(1000)
    response = put(client, headers, data, data, size=size, media_type=media_type, digest=digest)
    if response.status_code == 404:  # a "/" in the sha makes it another address
        return
    assert_error(response, status_code, code)
    session.expire_all()
    assert session.execute(select(Upload)).first() is None
    assert not settings.blob_root.exists() or not any(p.is_file() for p in settings.blob_root.rglob("*"))


def test_bad_headers_and_bodies(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    headers = auth_headers(make_user())
    data = jpeg(2_000)
    url = f"{BLOBS}/{sha(data)}"
    response = client.put(url, content=data, headers=headers)
    assert_error(response, 422, "invalid_header")
    response = client.put(url, content=data, headers={**headers, SIZE_HEADER: "-5", TYPE_HEADER: JPEG,
                                                      OFFSET_HEADER: "0"})
    assert_error(response, 422, "invalid_header")
    response = client.put(url, content=data, headers={**headers, SIZE_HEADER: "2000", TYPE_HEADER: JPEG,
                                                      OFFSET_HEADER: "zero"})
    assert_error(response, 422, "invalid_header")
    # A body longer than the file.
    assert_error(put(client, headers, data, data + b"x" * 10), 422, "body_too_long")
    # Compressed bodies are refused: a file is sent as it is.
    response = client.put(url, content=data, headers={**headers, SIZE_HEADER: "2000", TYPE_HEADER: JPEG,
                                                      OFFSET_HEADER: "0", "Content-Encoding": "gzip"})
    assert_error(response, 415, "unsupported_media_type")
    assert client.put(url, content=data).status_code == 401


def test_body_past_the_file_without_content_length(client: Any, make_user: MakeUser,
                                                   auth_headers: Headers) -> None:
    """A chunked body is counted as it streams; what it wrote is taken back."""
    headers = auth_headers(make_user())
    data = jpeg(2_000)

    def chunks() -> Iterator[bytes]:
        yield data[:1_000]
        yield data[1_000:] + b"more"

    response = client.put(f"{BLOBS}/{sha(data)}", content=chunks(), headers={
        **headers, SIZE_HEADER: "2000", TYPE_HEADER: JPEG, OFFSET_HEADER: "0"})
    assert_error(response, 422, "body_too_long")
    assert status(client, headers, sha(data))["offset"] == 0
    upload(client, headers, data)


def test_quota_counts_complete_and_unfinished_uploads(client: Any, make_user: MakeUser,
                                                      auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    upload(client, headers, jpeg(60_000))
    unfinished = jpeg(60_000)
    put(client, headers, unfinished, unfinished[:1_000])
    big = jpeg(50_000)
    error = assert_error(put(client, headers, big), 413, "quota_exceeded")
    assert "quota" in error["message"]
    assert status(client, headers, sha(big))["state"] == "missing"
    # Another user has room of their own.
    upload(client, auth_headers(make_user()), big)
    # Going on with the unfinished one is not refused (it is counted once).
    assert put(client, headers, unfinished, offset=1_000).json()["state"] == "complete"


def test_a_file_already_here_is_never_sent_twice(client: Any, session: Session, settings: Settings,
                                                 make_user: MakeUser, auth_headers: Headers) -> None:
    """Never twice by the same user; another user's upload of the same bytes
    is their proof of possession (tests/server/test_blob_access.py), and one
    copy is kept."""
    first, second = make_user(), make_user()
    data = jpeg(20_000)
    upload(client, auth_headers(first), data)
    digest = sha(data)
    assert status(client, auth_headers(first), digest) == {
        "sha256": digest, "state": "complete", "offset": 20_000, "size": 20_000}
    # A PUT anyway is answered "complete", the body unread.
    response = put(client, auth_headers(first), data, b"")
    assert response.status_code == 200 and response.json()["state"] == "complete"
    # The second user sends the file, as if the server lacked it; one copy stays.
    assert status(client, auth_headers(second), digest)["state"] == "missing"
    upload(client, auth_headers(second), data)
    assert status(client, auth_headers(second), digest)["state"] == "complete"
    session.expire_all()
    blob = session.get(Blob, digest)
    assert blob is not None and blob.uploader_id == first.id
    assert session.execute(select(Upload)).first() is None
    assert blob_store.blob_path(settings, digest).read_bytes() == data
    assert not any(blob_store.partial_path(settings, u.id, digest).exists() for u in (first, second))


def test_one_writer_per_upload(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    data = jpeg(5_000)
    put(client, headers, data, data[:1_000])
    key = (user.id, sha(data))
    assert blobs._claim(key)  # as if a PUT were writing
    try:
        error = assert_error(put(client, headers, data, offset=1_000), 409, "upload_in_progress")
        assert error["status"]["offset"] == 1_000
    finally:
        blobs._release(key)
    assert put(client, headers, data, offset=1_000).json()["state"] == "complete"


def asgi_put_cut(app: Any, headers: dict[str, str], path: str, chunks: list[bytes]) -> list[Any]:
    """Drive the app as a server would for a client that sends ``chunks``
    of a body and then goes away (``http.disconnect`` mid-body)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_body_cut_midway_keeps_what_arrived(app: Any, client: Any, settings: Settings,
                                              make_user: MakeUser, auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    data = jpeg(40_000)
    digest = sha(data)
    put_headers = {**headers, SIZE_HEADER: "40000", TYPE_HEADER: JPEG, OFFSET_HEADER: "0",
                   "Content-Length": "40000"}
    asgi_put_cut(app, put_headers, f"{BLOBS}/{digest}", [data[:7_000], data[7_000:16_384]])
    held = status(client, headers, digest)
    assert held == {"sha256": digest, "state": "partial", "offset": 16_384, "size": 40_000}
    assert blob_store.partial_path(settings, user.id, digest).read_bytes() == data[:16_384]
    assert put(client, headers, data, offset=16_384).json()["state"] == "complete"


# --------------------------------------------------------------------------- a real server, a real socket


@pytest.fixture
def live_url(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # bounds a hang only: a loaded machine starts slowly
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    host, port = sock.getsockname()
    yield f"{host}:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def raw_put_start(address: str, headers: dict[str, str], path: str, body: bytes) -> socket.socket:
    host, port = address.split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: {address}\r\n{head}\r\n".encode() + body)
    return conn


def wait_for_offset(client: Any, headers: dict[str, str], digest: str, offset: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60  # bounds a hang only; the caller checks the state
    while True:
        held = status(client, headers, digest)
        if (held["state"] == "partial" and held["offset"] == offset) or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def test_a_dropped_connection_keeps_what_arrived(live_url: str, client: Any, make_user: MakeUser,
                                                 auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    data = jpeg(60_000)
    digest = sha(data)
    put_headers = {**headers, SIZE_HEADER: "60000", TYPE_HEADER: JPEG, OFFSET_HEADER: "0",
                   "Content-Length": "60000", "Content-Type": "application/octet-stream"}
    conn = raw_put_start(live_url, put_headers, f"{BLOBS}/{digest}", data[:25_000])
    # While the first connection is still sending, a second PUT is turned away.
    assert wait_for_offset(client, headers, digest, 0)["state"] == "partial"  # (it is writing)
    assert_error(put(client, headers, data, offset=0), 409, "upload_in_progress")
    conn.close()  # the link drops mid-body
    held = wait_for_offset(client, headers, digest, 25_000)
    assert held == {"sha256": digest, "state": "partial", "offset": 25_000, "size": 60_000}
    assert put(client, headers, data, offset=25_000).json()["state"] == "complete"


# --------------------------------------------------------------------------- downloads and who may


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, User]:
    return {
        "owner": make_user("fellow", cohort="A"),
        "trainer": make_user("trainer", cohort="A"),
        "other_trainer": make_user("trainer", cohort="B"),
        "other_fellow": make_user("fellow", cohort="A"),
        "admin": make_user("admin"),
        "uploader": make_user("fellow", cohort="B"),
    }


SEES = {"owner": True, "trainer": True, "other_trainer": False, "other_fellow": False, "admin": True,
        "uploader": True}


def download(client: Any, headers: dict[str, str], digest: str, **extra: str) -> Any:
    return client.get(f"{BLOBS}/{digest}", headers={**headers, **extra})


def test_download_whole_and_in_ranges(client: Any, people: dict[str, User], pusher: Pusher,
                                      auth_headers: Headers) -> None:
    owner = auth_headers(people["owner"])
    data = jpeg(30_000)
    pusher.record(people["owner"], data)
    upload(client, owner, data)
    whole = download(client, owner, sha(data), **{"Accept-Encoding": "gzip"})
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{sha(data)}"'
    assert whole.headers["content-type"] == JPEG and "content-encoding" not in whole.headers
    assert whole.headers["content-length"] == "30000" and whole.headers["accept-ranges"] == "bytes"
    part = download(client, owner, sha(data), Range="bytes=12345-")
    assert part.status_code == 206 and part.content == data[12_345:]
    assert part.headers["content-range"] == "bytes 12345-29999/30000"
    assert part.headers["etag"] == f'"{sha(data)}"'
    middle = download(client, owner, sha(data), Range="bytes=10-19")
    assert middle.status_code == 206 and middle.content == data[10:20]
    beyond = download(client, owner, sha(data), Range="bytes=30000-")
    assert_error(beyond, 416, "range_not_satisfiable")
    assert beyond.headers["content-range"] == "bytes */30000"
    odd = download(client, owner, sha(data), Range="bytes=-500, 1-2")  # not supported: the whole file
    assert odd.status_code == 200 and odd.content == data


def test_who_may_download(client: Any, people: dict[str, User], pusher: Pusher,
                          auth_headers: Headers) -> None:
    data = jpeg(8_000)
    digest = sha(data)
    record_id = pusher.record(people["owner"], data)
    # The record names the file before it arrives: "not available yet".
    assert_error(download(client, auth_headers(people["owner"]), digest), 404, "not_available")
    upload(client, auth_headers(people["uploader"]), data)  # someone else had the same file
    # The owner has not sent it: her record grants nothing yet, to her neither.
    for who in SEES:
        expected = 200 if who == "uploader" else 404
        assert download(client, auth_headers(people[who]), digest).status_code == expected, who
    upload(client, auth_headers(people["owner"]), data)
    for who, sees in SEES.items():
        response = download(client, auth_headers(people[who]), digest)
        assert response.status_code == (200 if sees else 404), who
        if sees:
            assert response.content == data
        else:
            assert_error(response, 404, "not_available")
    # Unknown files read like forbidden ones.
    assert_error(download(client, auth_headers(people["admin"]), sha(b"nothing")), 404, "not_available")
    assert_error(download(client, auth_headers(people["admin"]), "nope"), 422, "invalid_sha")
    # Deleted: only those who sent it still get it.
    pusher.push(people["owner"], record_id, {"deleted": True})
    for who in SEES:
        expected = 200 if who in ("uploader", "owner") else 404
        assert download(client, auth_headers(people[who]), digest).status_code == expected, who
    # Restored: access comes back.
    pusher.push(people["owner"], record_id, {"deleted": False})
    assert download(client, auth_headers(people["trainer"]), digest).status_code == 200


def test_push_keeps_record_blobs(client: Any, session: Session, people: dict[str, User], pusher: Pusher,
                                 auth_headers: Headers) -> None:
    a, b, c = jpeg(1_000), jpeg(1_000), jpeg(1_000)
    owner = people["owner"]
    record_id = pusher.record(owner, a, b)

    def rows() -> set[str]:
        session.expire_all()
        return set(session.execute(
            select(RecordBlob.sha256).where(RecordBlob.record_id == record_id)).scalars())

    assert rows() == {sha(a), sha(b)}
    pusher.push(owner, record_id, {"attachments": [ref(b), ref(c, "c.jpg")]})
    assert rows() == {sha(b), sha(c)}
    pusher.push(owner, record_id, {"title": "only the title"})
    assert rows() == {sha(b), sha(c)}
    pusher.push(owner, record_id, {"attachments": []})
    assert rows() == set()
    # A bad reference is rejected with the group, nothing stored.
    body = {"protocol": PROTOCOL_VERSION, "device_id": "laptop-x", "changes": [
        {"seq": 1, "record_id": record_id, "kind": "lesson_plan", "clock": 99, "known": 0,
         "fields": {"attachments": [{**ref(a), "type": "text/html"}]}}]}
    answer = client.post(PUSH, json=body, headers=auth_headers(owner)).json()
    assert answer["results"][0]["outcome"] == "rejected" and answer["results"][0]["fields"] == ["attachments"]
    assert rows() == set()


# --------------------------------------------------------------------------- garbage


def test_gc_removes_unused_blobs_only(client: Any, session: Session, settings: Settings, clock: Any,
                                      people: dict[str, User], pusher: Pusher, auth_headers: Headers) -> None:
    owner, headers = people["owner"], auth_headers(people["owner"])
    used, unused, of_deleted, pending = jpeg(2_000), jpeg(2_000), jpeg(2_000), jpeg(2_000)
    pusher.record(owner, used)
    deleted_id = pusher.record(owner, of_deleted)
    for data in (used, unused, of_deleted):
        upload(client, headers, data)
    put(client, headers, pending, pending[:500])
    pusher.push(owner, deleted_id, {"deleted": True})

    assert blob_store.collect_garbage(session, settings) == blob_store.GarbageReport(0, 0, 0)  # too young
    clock.advance(days=2)
    report = blob_store.collect_garbage(session, settings)
    assert (report.blobs, report.blob_bytes, report.uploads) == (2, 4_000, 0)
    session.expire_all()
    assert set(session.execute(select(Blob.sha256)).scalars()) == {sha(used)}
    assert blob_store.blob_path(settings, sha(used)).exists()
    for data in (unused, of_deleted):
        assert not blob_store.blob_path(settings, sha(data)).exists()
        assert blob_store.status_of(session, settings, owner, sha(data))["state"] == "missing"
    # (Tokens cannot follow the moved clock: PyJWT refuses an "iat" ahead of
    # real time. The rest is checked without the API.)
    assert blob_store.may_download(session, people["trainer"], sha(used))

    clock.advance(days=6)  # the upload is a week idle now
    assert blob_store.collect_garbage(session, settings).uploads == 1
    session.expire_all()
    assert blob_store.status_of(session, settings, owner, sha(pending))["state"] == "missing"
    assert not blob_store.partial_path(settings, owner.id, sha(pending)).exists()


def test_gc_command(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    from app.server.cli import main

    monkeypatch.setenv("FIELDBOOK_SERVER_DATABASE_URL", db_url)
    monkeypatch.setenv("FIELDBOOK_SERVER_DATA_DIR", str(tmp_path / "data"))
    assert main(["gc"]) == 0
    assert "removed 0 unused file(s)" in capsys.readouterr().out


def test_settings_from_the_environment(tmp_path: Path) -> None:
    env = {"FIELDBOOK_SERVER_DATA_DIR": str(tmp_path / "d"), "FIELDBOOK_SERVER_MAX_FILE_BYTES": "1000",
           "FIELDBOOK_SERVER_QUOTA_BYTES": "5000"}
    settings = Settings.from_env(env)
    assert (settings.max_file_bytes, settings.quota_bytes) == (1000, 5000)
    assert settings.blob_root == tmp_path / "d" / "blobs"
    other = Settings.from_env({**env, "FIELDBOOK_SERVER_BLOB_DIR": str(tmp_path / "files")})
    assert other.blob_root == tmp_path / "files"


def test_serve_collects_garbage_in_the_background(settings: Settings, engine: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from app.server import app as server_app

    ran = threading.Event()

    def collect(session: Session, settings: Settings) -> blob_store.GarbageReport:
        ran.set()
        return blob_store.GarbageReport(0, 0, 0)

    monkeypatch.setattr(server_app, "GC_FIRST_DELAY_SECONDS", 0)
    monkeypatch.setattr(blob_store, "collect_garbage", collect)
    application = server_app.create_app(settings, engine=engine, collect_garbage=True)
    with TestClient(application):
        assert ran.wait(10)
    # Leaving the block cancelled the daily task (the lifespan ended cleanly).
