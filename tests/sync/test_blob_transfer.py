"""Attachment files to and from a real server on loopback (docs/attachments.md)."""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from app import cli
from app.models import attachments
from app.models.attachments import BlobState
from app.models.orm import Blob
from app.models.store import Store
from app.paths import store_path
from app.protocol.blobs import AttachmentRef
from app.sync.blobs import BlobTransfer, after_transfers
from app.sync.errors import BlobCorrupt, NotAvailableYet
from tests.sync.conftest import Laptop, LiveServer

pytestmark = pytest.mark.slow

MakeLaptop = Callable[..., Laptop]
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF_HEAD = b"%PDF-1.7\n"
MB = 1024 * 1024


def payload(head: bytes, size: int) -> bytes:
    return head + os.urandom(size - len(head))


def attach(machine: Laptop, folder: Path, name: str, data: bytes,
           record_id: str | None = None) -> tuple[str, AttachmentRef]:
    if record_id is None:
        record_id = machine.store.create("lesson_plan", {"title": "认识分数"}, author="li").id
    path = folder / name
    path.write_bytes(data)
    return record_id, attachments.attach(machine.store, record_id, path)


def no_wait(_seconds: float) -> None:
    return None


def test_a_file_goes_up_once_and_comes_down_on_another_laptop(laptop: MakeLaptop,
                                                              tmp_path: Path) -> None:
    a, b = laptop("li"), laptop("li")
    data = payload(JPEG_HEAD, 5 * MB + 123)
    record_id, ref = attach(a, tmp_path, "课堂.jpg", data)
    a.sync()
    progress: list[tuple[int, int, str]] = []
    report = BlobTransfer(a.store, a.client).upload_pending(
        lambda done, total, sha: progress.append((done, total, sha)))
    assert (report.uploaded, report.already_there, report.bytes_sent) == (1, 0, len(data))
    assert progress[-1] == (len(data), len(data), ref["sha256"])
    info = attachments.blob_info(a.store, ref["sha256"])
    assert info is not None and info.state is BlobState.UPLOADED
    assert attachments.pending_uploads(a.store) == []

    b.sync()
    assert attachments.needed_downloads(b.store) == [ref]
    after_transfers(b.store)
    remote = attachments.blob_info(b.store, ref["sha256"])
    assert remote is not None and remote.state is BlobState.REMOTE
    got: list[int] = []
    path = BlobTransfer(b.store, b.client).download(ref["sha256"], lambda d, _t, _s: got.append(d))
    assert path.read_bytes() == data and got[-1] == len(data)
    assert attachments.needed_downloads(b.store) == []
    info = attachments.blob_info(b.store, ref["sha256"])
    assert info is not None and info.state is BlobState.DOWNLOADED
    assert b.store.get(record_id).values["attachments"] == [ref]


def test_a_file_the_server_has_is_not_sent_again(laptop: MakeLaptop, tmp_path: Path) -> None:
    a, b = laptop("li"), laptop("li")
    data = payload(PDF_HEAD, 300_000)
    attach(a, tmp_path, "证书.pdf", data)
    a.sync()
    BlobTransfer(a.store, a.client).upload_pending()
    attach(b, tmp_path, "copy.pdf", data)  # the same content, attached elsewhere
    b.sync()
    report = BlobTransfer(b.store, b.client).upload_pending()
    assert (report.uploaded, report.already_there, report.bytes_sent) == (1, 1, 0)


def test_an_upload_continues_from_the_servers_offset(laptop: MakeLaptop, tmp_path: Path) -> None:
    a = laptop("li")
    data = payload(JPEG_HEAD, 3 * MB)
    _record, ref = attach(a, tmp_path, "a.jpg", data)
    a.sync()
    # An earlier run got the first megabyte through, then the app was closed.
    a.client.put_blob(ref["sha256"], size=len(data), media_type="image/jpeg", offset=0, body=data[:MB])
    report = BlobTransfer(a.store, a.client, piece_bytes=MB).upload_pending()
    assert report.uploaded == 1 and report.bytes_sent == len(data) - MB


def test_a_refused_file_keeps_the_reason_and_is_not_retried(laptop: MakeLaptop, tmp_path: Path) -> None:
    a = laptop("li")
    _record, ref = attach(a, tmp_path, "a.jpg", payload(JPEG_HEAD, 10_000))
    with a.store.writing() as work:  # a row that lies about its type
        work.session.execute(update(Blob).values(type="image/png"))
    report = BlobTransfer(a.store, a.client).upload_pending()
    assert report.uploaded == 0 and report.refused == {ref["sha256"]: "type_mismatch"}
    info = attachments.blob_info(a.store, ref["sha256"])
    assert info is not None and info.state is BlobState.LOCAL and info.error
    again = BlobTransfer(a.store, a.client).upload_pending()
    assert again.refused == {} and again.bytes_sent == 0


def test_a_file_whose_record_is_not_on_the_server_is_not_available_yet(
    laptop: MakeLaptop, tmp_path: Path,
) -> None:
    a, zhao = laptop("li"), laptop("zhao")
    _record, ref = attach(a, tmp_path, "a.pdf", payload(PDF_HEAD, 10_000))
    BlobTransfer(a.store, a.client).upload_pending()  # the file, before its record
    with pytest.raises(NotAvailableYet):
        BlobTransfer(zhao.store, zhao.client).download(ref["sha256"])
    assert attachments.blob_path(zhao.store, ref["sha256"]) is None


def test_a_download_resumes_from_its_part_and_checks_the_hash(laptop: MakeLaptop,
                                                             tmp_path: Path) -> None:
    a, b = laptop("li"), laptop("li")
    data = payload(JPEG_HEAD, 2 * MB)
    _record, ref = attach(a, tmp_path, "a.jpg", data)
    a.sync()
    BlobTransfer(a.store, a.client).upload_pending()
    b.sync()
    sha = ref["sha256"]
    part = attachments.part_file(b.store, sha)
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:MB])  # what an earlier, cut download left
    before = b.client.traffic.bytes_received
    transfer = BlobTransfer(b.store, b.client)
    assert transfer.download(sha).read_bytes() == data
    assert b.client.traffic.bytes_received - before < MB + 10_000
    assert not part.exists()

    other = laptop("li")
    other.sync()
    bad = attachments.part_file(other.store, sha)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\0" * MB)  # a damaged part: the whole file does not match its name
    with pytest.raises(BlobCorrupt):
        BlobTransfer(other.store, other.client, sleep=no_wait).download(sha)
    assert not bad.exists() and attachments.blob_path(other.store, sha) is None
    assert hashlib.sha256(transfer.download(sha).read_bytes()).hexdigest() == sha


def test_cli_sync_uploads_files_after_the_records(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "li"
    store = Store.open(store_path(home))
    try:
        record_id = store.create("lesson_plan", {"title": "认识分数"}, author="li").id
        source = tmp_path / "a.pdf"
        source.write_bytes(payload(PDF_HEAD, 200_000))
        ref = attachments.attach(store, record_id, source)
    finally:
        store.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO(live_server.users["li"] + "\n"))
    code = cli.main(["sync", "--server", live_server.url, "--user", "li", "--password-stdin",
                     "--data-dir", str(home)])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    assert "Synced: sent" in out and "Files: uploaded 1 file(s), 195.3 KB sent" in out
    store = Store.open(store_path(home))
    try:
        info = attachments.blob_info(store, ref["sha256"])
        assert info is not None and info.state is BlobState.UPLOADED
    finally:
        store.close()
