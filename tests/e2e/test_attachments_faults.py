"""Attachment files over a bad link: cut connections, a killed client, repeats.

The real server on loopback behind ``tests.faultproxy.FaultProxy``: bytes are
counted where the network would carry them, so "resumes instead of starting
over" is measured, not assumed (docs/attachments.md, "Transfer engine").
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3.connection

from app.models import attachments
from app.models.attachments import BlobState
from app.models.store import Store
from app.protocol.blobs import AttachmentRef
from app.sync.blobs import BlobTransfer
from tests.e2e.conftest import Machine
from tests.sync.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow

MakeMachine = Callable[..., Machine]
MB = 1024 * 1024
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01"
PDF_HEAD = b"%PDF-1.7\n"


def payload(head: bytes, size: int) -> bytes:
    """A "real" file: a valid header, then bytes that do not compress."""
    return head + os.urandom(size - len(head))


def attach_new(store: Store, folder: Path, name: str, data: bytes) -> tuple[str, AttachmentRef]:
    record_id = store.create("lesson_plan", {"title": f"附件 {name}"}, author="li").id
    path = folder / name
    path.write_bytes(data)
    return record_id, attachments.attach(store, record_id, path)


def short_sleep(seconds: float) -> None:
    """Backoff waits, capped: the server only needs a moment to note a cut piece."""
    time.sleep(min(seconds, 0.2))


def transfer(machine: Machine) -> BlobTransfer:
    return BlobTransfer(machine.store, machine.laptop.client, sleep=short_sleep, attempts=8)


def test_a_20_mb_file_cut_every_2_mb_goes_up_and_down_complete(
    machine: MakeMachine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A cut (a reset) destroys what sat unread in the kernel buffers on the
    # way down. Bounded buffers on both ends make that loss at most a few
    # hundred KB a cut whatever the scheduling; with TCP autotuning on
    # loopback it reached MBs under load and the byte bound below was luck.
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "default_socket_options", [
        *urllib3.connection.HTTPConnection.default_socket_options,
        (socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)])
    a, b = machine("li"), machine("li")
    b.proxy.send_buffer = 64 * 1024
    data = payload(JPEG_HEAD, 20 * MB)
    _record, ref = attach_new(a.store, tmp_path, "全班合影.jpg", data)
    a.laptop.sync()
    a.proxy.cut_after_upstream_bytes(2 * MB, every=True)
    before = a.proxy.bytes_up
    report = transfer(a).upload_pending()
    sent = a.proxy.bytes_up - before
    assert report.uploaded == 1 and report.already_there == 0
    assert a.proxy.cuts >= 8, "the link was not cut"
    assert sent <= 1.2 * len(data), f"{sent / MB:.1f} MB sent for a {len(data) / MB:.0f} MB file"
    info = attachments.blob_info(a.store, ref["sha256"])
    assert info is not None and info.state is BlobState.UPLOADED

    b.laptop.sync()
    b.proxy.cut_after_downstream_bytes(2 * MB, every=True)
    before = b.proxy.bytes_down
    path = transfer(b).download(ref["sha256"])
    received = b.proxy.bytes_down - before
    assert b.proxy.cuts >= 8, "the link was not cut"
    assert received <= 1.2 * len(data), f"{received / MB:.1f} MB received"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ref["sha256"]
    assert not attachments.part_file(b.store, ref["sha256"]).exists()


def test_the_same_file_on_two_records_is_sent_once(machine: MakeMachine, tmp_path: Path) -> None:
    a = machine("li")
    data = payload(PDF_HEAD, 3 * MB)
    first, ref = attach_new(a.store, tmp_path, "证书.pdf", data)
    second = a.store.create("training", {"title": "国培计划"}, author="li").id
    attachments.attach(a.store, second, tmp_path / "证书.pdf", name="结业证书.pdf")
    a.laptop.sync()
    before = a.proxy.bytes_up
    report = transfer(a).upload_pending()
    assert report.uploaded == 1 and report.bytes_sent == len(data)
    assert a.proxy.bytes_up - before < len(data) + 64 * 1024
    again = transfer(a).upload_pending()
    assert again.uploaded == 0 and again.bytes_sent == 0
    assert a.store.get(first).values["attachments"][0]["sha256"] == ref["sha256"]


# --- a client killed mid-upload -------------------------------------------------------


def start_cli(url: str, data: Path, user: str, password: str) -> subprocess.Popen[bytes]:
    """``python -m app sync`` in its own process, as a teacher would run it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "sync", "--server", url, "--user", user, "--password-stdin",
         "--data-dir", str(data), "--retries", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None
    process.stdin.write((password + "\n").encode())
    process.stdin.close()
    process.stdin = None  # communicate() must not flush it again
    return process


def finish(process: subprocess.Popen[bytes], timeout: float = 120) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, (out + err).decode(errors="replace")


def test_a_client_killed_mid_upload_resumes_instead_of_starting_over(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path,
) -> None:
    a = machine("li")
    data = payload(JPEG_HEAD, 20 * MB)
    _record, ref = attach_new(a.store, tmp_path, "教室.jpg", data)
    folder = a.store.path.parent
    password = live_server.users["li"]
    a.proxy.throttle(4 * MB)  # about five seconds for the whole file
    process = start_cli(a.proxy.url, folder, "li", password)
    try:
        a.proxy.wait_for(lambda: a.proxy.bytes_up > 8 * MB, timeout=60)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        finish(process, 30)
    first_run = a.proxy.bytes_up
    held = a.laptop.client.blob_status(ref["sha256"])
    assert held["state"] == "partial" and held["offset"] > 4 * MB, held
    info = attachments.blob_info(a.store, ref["sha256"])
    assert info is not None and info.state is BlobState.UPLOADING

    a.proxy.throttle(None)
    code, said = finish(start_cli(a.proxy.url, folder, "li", password))
    assert code == 0, said
    second_run = a.proxy.bytes_up - first_run
    assert second_run < len(data) - held["offset"] + MB, f"{second_run / MB:.1f} MB sent again"
    assert a.proxy.bytes_up <= 1.2 * len(data)
    assert "Files: uploaded 1 file(s)" in said
    info = attachments.blob_info(a.store, ref["sha256"])
    assert info is not None and info.state is BlobState.UPLOADED
    stored = live_server.db.parent / "blobs" / ref["sha256"][:2] / ref["sha256"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == ref["sha256"]
