"""Who may read a file, end to end through the client (docs/attachments.md
"Who may read a file"): a real server on loopback, real stores. A file
another user sent is sent again as proof of possession and then shared
through the record; a hash named without the bytes opens nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.models import attachments
from app.models.attachments import BlobState
from app.protocol.blobs import AttachmentRef
from app.sync.blobs import BlobTransfer, after_transfers
from app.sync.errors import NotAvailableYet
from tests.sync.conftest import Laptop
from tests.sync.test_blob_transfer import JPEG_HEAD, MB, attach, payload

pytestmark = pytest.mark.slow

MakeLaptop = Callable[..., Laptop]


def test_a_file_another_user_sent_is_sent_again_as_proof_then_shared(laptop: MakeLaptop,
                                                                     tmp_path: Path) -> None:
    chen, li, zhao = laptop("chen"), laptop("li"), laptop("zhao")  # zhao trains li's cohort
    data = payload(JPEG_HEAD, MB + 4321)
    attach(chen, tmp_path, "同一张.jpg", data)
    chen.sync()
    BlobTransfer(chen.store, chen.client).upload_pending()
    record_id, ref = attach(li, tmp_path, "same.jpg", data)
    li.sync()
    report = BlobTransfer(li.store, li.client).upload_pending()
    # The server answered as if it lacked the file: li's bytes are her proof.
    assert (report.uploaded, report.already_there, report.bytes_sent) == (1, 0, len(data))
    info = attachments.blob_info(li.store, ref["sha256"])
    assert info is not None and info.state is BlobState.UPLOADED
    zhao.sync()
    assert BlobTransfer(zhao.store, zhao.client).download(ref["sha256"]).read_bytes() == data
    assert zhao.store.get(record_id).values["attachments"] == [ref]
    # A second laptop of li's has nothing to prove any more.
    again = laptop("li")
    attach(again, tmp_path, "again.jpg", data)
    again.sync()
    assert BlobTransfer(again.store, again.client).upload_pending().already_there == 1


def test_a_hash_named_without_the_bytes_opens_nothing(laptop: MakeLaptop, tmp_path: Path) -> None:
    chen, li, zhao = laptop("chen"), laptop("li"), laptop("zhao")
    data = payload(JPEG_HEAD, 200_000)
    _record, ref = attach(chen, tmp_path, "别人的.jpg", data)
    chen.sync()
    BlobTransfer(chen.store, chen.client).upload_pending()
    # li learned the hash (say from a JSON export) and names it in a record of hers.
    stolen = AttachmentRef(sha256=ref["sha256"], name="mine.jpg", size=ref["size"], type=ref["type"])
    record_id = li.store.create("lesson_plan", {"title": "借用"}, author="li").id
    li.store.update(record_id, {"attachments": [stolen]})
    li.sync()
    after_transfers(li.store)
    assert BlobTransfer(li.store, li.client).upload_pending().uploaded == 0  # she has no bytes to send
    for machine in (li, zhao):
        machine.sync()
        with pytest.raises(NotAvailableYet):
            BlobTransfer(machine.store, machine.client).download(ref["sha256"])
        assert attachments.blob_path(machine.store, ref["sha256"]) is None
