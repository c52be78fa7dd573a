"""The client's blob store: attaching, refusing, removing, garbage, schema v5."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from app.errors import RecordNotFound, ValidationFailed
from app.models import attachments, schema
from app.models.attachments import BlobState
from app.models.fields import ATTACHMENTS_MAX, LISTED_KINDS, Kind, kind_spec
from app.models.store import Store, list_backups
from app.models.validation import check_field
from app.protocol.blobs import AttachmentRef

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF_HEAD = b"%PDF-1.7\n"


def payload(head: bytes, size: int) -> bytes:
    """Random bytes behind a valid header: a "real" file as far as types go."""
    return head + os.urandom(size - len(head))


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def blob_files(store: Store) -> list[Path]:
    folder = attachments.blobs_dir(store)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def changes_of(store: Store, record_id: str) -> list[str]:
    return [c.field for c in store.changes_since(0) if c.record_id == record_id]


@pytest.fixture
def plan(store: Store) -> str:
    return store.create(Kind.LESSON_PLAN, {"title": "认识分数"}, author="li").id


# --- the field ------------------------------------------------------------------------


def test_every_kind_has_the_attachments_field_outside_the_form() -> None:
    for kind in LISTED_KINDS:  # (a template carries no files: docs/templates.md)
        spec = kind_spec(kind).field("attachments")
        assert spec.max_length == ATTACHMENTS_MAX and not spec.in_form and not spec.searchable


@pytest.mark.parametrize("bad", [
    [{"sha256": "A" * 64, "name": "a.jpg", "size": 1, "type": "image/jpeg"}],
    [{"sha256": "a" * 63, "name": "a.jpg", "size": 1, "type": "image/jpeg"}],
    [{"sha256": "a" * 64, "name": "", "size": 1, "type": "image/jpeg"}],
    [{"sha256": "a" * 64, "name": "x" * 256, "size": 1, "type": "image/jpeg"}],
    [{"sha256": "a" * 64, "name": "a.jpg", "size": 0, "type": "image/jpeg"}],
    [{"sha256": "a" * 64, "name": "a.jpg", "size": True, "type": "image/jpeg"}],
    [{"sha256": "a" * 64, "name": "a.exe", "size": 1, "type": "application/x-msdownload"}],
    [{"sha256": "a" * 64, "name": "a.jpg", "size": 1, "type": "image/jpeg", "path": "/etc"}],
    [{"sha256": f"{i:064x}", "name": "a.jpg", "size": 1, "type": "image/jpeg"} for i in range(51)],
    "a.jpg",
])
def test_bad_references_are_refused(bad: object) -> None:
    _value, problem = check_field(kind_spec(Kind.TRAINING).field("attachments"), bad)
    assert problem is not None and problem.blocking


def test_good_references_are_kept_in_order_without_repeats() -> None:
    ref = {"sha256": "b" * 64, "name": "教案.pdf", "size": 10, "type": "application/pdf"}
    other = {**ref, "sha256": "c" * 64}
    value, problem = check_field(kind_spec(Kind.EXCHANGE).field("attachments"), [ref, other, ref])
    assert problem is None and value == [ref, other]


# --- attaching ------------------------------------------------------------------------


def test_attach_copies_the_file_in_and_adds_one_reference(store: Store, plan: str,
                                                          tmp_path: Path) -> None:
    data = payload(JPEG_HEAD, 300_000)
    source = write(tmp_path, "课堂.JPG", data)
    ref = attachments.attach(store, plan, source)
    sha = hashlib.sha256(data).hexdigest()
    assert ref == AttachmentRef(sha256=sha, name="课堂.JPG", size=len(data), type="image/jpeg")
    assert store.get(plan).values["attachments"] == [ref]
    stored = attachments.blob_path(store, sha)
    assert stored == store.path.parent / "blobs" / sha[:2] / sha
    assert stored.read_bytes() == data
    source.unlink()  # the original is not relied on
    assert attachments.blob_path(store, sha) == stored
    info = attachments.blob_info(store, sha)
    assert info is not None and info.state is BlobState.LOCAL and info.size == len(data)
    assert changes_of(store, plan).count("attachments") == 1  # an edit, synced like tags
    assert [i.sha256 for i in attachments.pending_uploads(store)] == [sha]
    assert not list(attachments.blobs_dir(store).glob("incoming-*"))


def test_the_same_file_on_two_records_is_stored_once(store: Store, plan: str, tmp_path: Path) -> None:
    other = store.create(Kind.TRAINING, {"title": "暑期培训"}, author="li").id
    source = write(tmp_path, "certificate.pdf", payload(PDF_HEAD, 50_000))
    first = attachments.attach(store, plan, source)
    second = attachments.attach(store, other, source, name="证书.pdf")
    assert first["sha256"] == second["sha256"] and second["name"] == "证书.pdf"
    assert len(blob_files(store)) == 1
    assert len(attachments.pending_uploads(store)) == 1
    attachments.attach(store, plan, source)  # the same again: nothing new
    assert store.get(plan).values["attachments"] == [first]


def test_attach_bytes_remembers_the_original(store: Store, plan: str, tmp_path: Path) -> None:
    original = tmp_path / "IMG_0001.jpg"
    ref = attachments.attach_bytes(store, plan, payload(JPEG_HEAD, 2000), name="IMG_0001.jpg",
                                   media_type="image/jpeg", original=original)
    info = attachments.blob_info(store, ref["sha256"])
    assert info is not None and info.original_path == str(original)


@pytest.mark.parametrize(("name", "data", "limit"), [
    ("empty.pdf", b"", None),
    ("big.pdf", payload(PDF_HEAD, 5000), 4000),
    ("tool.exe", b"MZ" + b"\0" * 100, None),
    ("notes.txt", b"plain text", None),
    ("fake.jpg", payload(PDF_HEAD, 5000), None),
    ("fake.pdf", b"%PD", None),
    ("fake.webp", b"RIFF\0\0\0\0WAVEfmt ", None),
])
def test_refusals_store_nothing(store: Store, plan: str, tmp_path: Path, name: str, data: bytes,
                                limit: int | None) -> None:
    source = write(tmp_path, name, data)
    before = store.get(plan)
    with pytest.raises(ValidationFailed) as caught:
        if limit is None:
            attachments.attach(store, plan, source)
        else:
            attachments.attach(store, plan, source, max_bytes=limit)
    assert set(caught.value.problems) == {"attachments"}
    assert store.get(plan) == before
    assert blob_files(store) == [] and attachments.pending_uploads(store) == []


def test_a_file_grown_past_the_limit_while_copied_is_refused(store: Store, plan: str) -> None:
    with pytest.raises(ValidationFailed):
        attachments.attach_bytes(store, plan, payload(JPEG_HEAD, 3000), name="a.jpg", max_bytes=2000)
    assert blob_files(store) == []


def test_a_missing_file_or_record_is_refused(store: Store, plan: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed):
        attachments.attach(store, plan, tmp_path / "gone.pdf")
    with pytest.raises(RecordNotFound):
        attachments.attach(store, "no-such-record", write(tmp_path, "a.pdf", payload(PDF_HEAD, 100)))
    assert blob_files(store) == []


def test_at_most_fifty_attachments(store: Store, plan: str, tmp_path: Path) -> None:
    refs = [{"sha256": f"{i:064x}", "name": f"{i}.pdf", "size": 1, "type": "application/pdf"}
            for i in range(ATTACHMENTS_MAX)]
    store.update(plan, {"attachments": refs})
    with pytest.raises(ValidationFailed):
        attachments.attach(store, plan, write(tmp_path, "more.pdf", payload(PDF_HEAD, 100)))
    assert blob_files(store) == []


# --- removing and garbage ----------------------------------------------------------


def test_remove_is_an_edit_and_the_file_stays_until_uploaded(store: Store, plan: str,
                                                              tmp_path: Path) -> None:
    ref = attachments.attach(store, plan, write(tmp_path, "a.pdf", payload(PDF_HEAD, 1000)))
    result = attachments.remove(store, plan, ref["sha256"])
    assert result.changed == ("attachments",) and store.get(plan).values["attachments"] == []
    assert attachments.collect_garbage(store) == 0  # not uploaded yet: an undo may want it
    assert attachments.blob_path(store, ref["sha256"]) is not None
    store.update(plan, {"attachments": [ref]})  # undo
    attachments.mark_uploaded(store, ref["sha256"])
    assert attachments.collect_garbage(store) == 0  # used again
    attachments.remove(store, plan, ref["sha256"])
    assert attachments.collect_garbage(store) == 1
    assert attachments.blob_path(store, ref["sha256"]) is None
    assert attachments.blob_info(store, ref["sha256"]) is None


def test_garbage_keeps_blobs_other_records_use(store: Store, plan: str, tmp_path: Path) -> None:
    other = store.create(Kind.EXCHANGE, {"partner_school": "二小"}, author="li").id
    source = write(tmp_path, "a.jpg", payload(JPEG_HEAD, 1000))
    ref = attachments.attach(store, plan, source)
    attachments.attach(store, other, source)
    attachments.mark_uploaded(store, ref["sha256"])
    store.delete(plan)
    assert attachments.collect_garbage(store) == 0
    store.delete(other)  # deleted records are not live
    assert attachments.collect_garbage(store) == 1


def test_garbage_sweeps_old_leftovers_only(store: Store, plan: str, tmp_path: Path) -> None:
    attachments.attach(store, plan, write(tmp_path, "a.pdf", payload(PDF_HEAD, 1000)))
    folder = attachments.blobs_dir(store)
    stray = folder / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"x")
    temp = folder / "incoming-xyz"
    temp.write_bytes(b"x")
    assert attachments.collect_garbage(store) == 0  # young: may be an attach in progress
    old = 1_000_000_000
    os.utime(stray, (old, old))
    os.utime(temp, (old, old))
    assert attachments.collect_garbage(store) == 2
    assert len(blob_files(store)) == 1


def test_needed_downloads_and_remote_rows(store: Store, plan: str) -> None:
    ref = AttachmentRef(sha256="d" * 64, name="远程.pdf", size=123, type="application/pdf")
    store.update(plan, {"attachments": [ref]})
    assert attachments.needed_downloads(store) == [ref]
    assert attachments.needed_downloads(store, [plan]) == [ref]
    assert attachments.needed_downloads(store, ["other"]) == []
    assert attachments.track_remote(store) == 1
    info = attachments.blob_info(store, ref["sha256"])
    assert info is not None and info.state is BlobState.REMOTE
    assert attachments.pending_uploads(store) == []


# --- schema v5 -------------------------------------------------------------------------


def test_a_v4_store_is_upgraded_to_v5_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, 0, 4)
    conn.execute("INSERT INTO records (id, kind, created_at, updated_at, title, versions) "
                 "VALUES ('r1', 'training', '2024-09-01T00:00:00+00:00', "
                 "'2024-09-01T00:00:00+00:00', '暑期培训', '{}')")
    conn.close()
    store = Store.open(path, tmp_path / "backups")
    try:
        assert store.schema_version == schema.CURRENT_VERSION
        assert store.get("r1").values["attachments"] == []
        source = write(tmp_path, "a.pdf", payload(PDF_HEAD, 500))
        assert attachments.attach(store, "r1", source)["type"] == "application/pdf"
    finally:
        store.close()
    backups = list_backups(tmp_path / "backups")
    assert len(backups) == 1 and "-v4-" in backups[0].name
    with sqlite3.connect(backups[0]) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 4
