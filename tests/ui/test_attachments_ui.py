"""The attachments strip in the editor: real widgets, a real store, files on disk.

Writes and image work run inline (``InlineRunner``); transfers run on the
controller's real worker threads against a fake ``BlobTransfer`` whose
uploads can be held half-way, so the status bar can be read mid-transfer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QDragEnterEvent, QDropEvent, QImage, QImageReader
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QPushButton

from app.models import attachments
from app.models.store import RecordData, Store
from app.protocol.blobs import AttachmentRef
from app.ui import settings
from app.ui.attachments import (
    AttachmentsStrip,
    downscale_photo,
    safe_file_name,
)
from app.ui.attachments_ui import AttachmentsUi
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import InlineRunner, TaskRunner
from app.ui.transfers import TransferController, format_progress, format_size

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

LEFT = Qt.MouseButton.LeftButton
PDF = b"%PDF-1.4\n" + b"x" * 3000


@dataclass
class FakeTransfer:
    """``BlobTransfer``'s methods over the real store, with no server: an
    upload marks blobs uploaded (held half-way while ``hold`` is clear), a
    download writes bytes from ``server``."""

    store: Store
    hold: threading.Event = field(default_factory=threading.Event)
    server: dict[str, bytes] = field(default_factory=dict)
    uploads: int = 0
    signed_in: bool = True

    def upload_pending(self, on_progress: Callable[[int, int, str], None]) -> int:
        self.uploads += 1
        pending = [b for b in attachments.pending_uploads(self.store) if not b.error]
        for blob in pending:
            on_progress(blob.size // 2, blob.size, blob.sha256)
            assert self.hold.wait(10)
            on_progress(blob.size, blob.size, blob.sha256)
            attachments.mark_uploaded(self.store, blob.sha256)
        return len(pending)

    def download(self, sha: str, on_progress: Callable[[int, int, str], None]) -> Path:
        data = self.server[sha]
        on_progress(len(data) // 2, len(data), sha)
        target = attachments.blob_file(self.store, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        attachments.mark(self.store, sha, attachments.BlobState.DOWNLOADED, size=len(data),
                         media_type="application/pdf")
        on_progress(len(data), len(data), sha)
        return target

    def cancel(self) -> None:
        self.hold.set()


@dataclass
class Env:
    window: MainWindow
    ui: AttachmentsUi
    store: Store
    transfer: FakeTransfer
    transfers: TransferController

    @property
    def strip(self) -> AttachmentsStrip:
        return self.ui.strip

    def button(self, name: str) -> QPushButton:
        found = self.strip.findChild(QPushButton, name)
        assert found is not None
        return found

    def refs(self, record_id: str) -> list[AttachmentRef]:
        return attachments.attachments_of(self.store, record_id)


@pytest.fixture
def env(qtbot: Any, store: Store, runner: TaskRunner, tmp_path: Path) -> Iterator[Env]:
    window = MainWindow(store, runner, Translations())
    transfer = FakeTransfer(store)
    transfer.hold.set()
    transfers = TransferController(store, lambda: transfer, signed_in=lambda: transfer.signed_in,
                                   parent=window)
    ui = AttachmentsUi(window, store, runner, transfers, images=InlineRunner(),
                       open_dir=tmp_path / "open")
    window.resize(1100, 760)
    window.show()
    qtbot.waitExposed(window)
    yield Env(window, ui, store, transfer, transfers)
    transfer.hold.set()
    transfers.shutdown()
    window.close()
    window.deleteLater()
    QCoreApplication.processEvents()


def plan(env: Env, title: str = "认识分数") -> RecordData:
    record = env.store.create("lesson_plan", {"title": title}, author="test")
    env.window.open_record(record.id)
    assert env.window.editor.current_id() == record.id
    return record


def opener(opened: list[QUrl]) -> Callable[[QUrl], bool]:
    """Stands in for the desktop's viewer: notes what it was asked to open."""

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    return open_url


def write_image(path: Path, width: int, height: int, image_format: str = "JPEG") -> Path:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7bd5"))
    for x in range(0, width, 97):  # some detail, so the JPEG is not trivially small
        for y in range(0, height, 89):
            image.setPixelColor(x, y, QColor("#ffcc00"))
    # PySide6's stub types the format as bytes, but at run time it takes only a str.
    assert image.save(str(path), image_format, 90)  # type: ignore[call-overload]
    return path


def drop_files(widget: Any, paths: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(QPoint(10, 10), action, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), action, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


def choose(monkeypatch: pytest.MonkeyPatch, paths: list[Path]) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *_args, **_kw: ([str(p) for p in paths], "")))


# --- attaching ----------------------------------------------------------------------


def test_attach_button_on_a_new_record_stores_it_and_shows_a_thumbnail(
    env: Env, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = write_image(tmp_path / "黑板.png", 800, 600, "PNG")
    env.window.new_record()
    assert env.strip.isVisible()
    choose(monkeypatch, [photo])
    qtbot.mouseClick(env.button("attachments_attach"), LEFT)

    record_id = env.window.editor.current_id()
    assert record_id is not None  # the empty new record was created for the file
    [ref] = env.refs(record_id)
    assert ref["name"] == "黑板.png" and ref["type"] == "image/png"
    assert ref["size"] == photo.stat().st_size  # a screenshot under the limit is kept as it is
    assert env.strip.item_texts()[0].startswith("黑板.png\n")
    icon = env.strip.findChild(QLabel, "attachments_title")
    assert icon is not None and "(1)" in icon.text()
    item = env.strip._list.item(0)  # the thumbnail, not the type badge: blue like the image
    pixmap = item.icon().pixmap(64, 64)
    assert pixmap.toImage().pixelColor(32, 32).blue() > 150
    assert env.window.undo_stack.undoText() == "Attach “黑板.png”"


def test_dropping_files_on_the_editor_attaches_them(env: Env, qtbot: Any, tmp_path: Path) -> None:
    record = plan(env)
    pdf = tmp_path / "教案.pdf"
    pdf.write_bytes(PDF)
    drop = drop_files(env.window.editor, [pdf])
    assert drop.isAccepted()
    [ref] = env.refs(record.id)
    assert ref["name"] == "教案.pdf" and ref["size"] == len(PDF)
    assert "教案.pdf" in env.strip.item_texts()[0]
    assert attachments.blob_path(env.store, ref["sha256"]) is not None


def test_files_dropped_on_a_text_field_are_attached_not_typed(
    env: Env, qtbot: Any, tmp_path: Path
) -> None:
    record = plan(env)
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(PDF)
    title = env.window.editor.field_widget("title")
    drop_files(title, [pdf])
    assert len(env.refs(record.id)) == 1
    assert env.window.editor.field_widget("title").text() == "认识分数"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "is empty"),
        ("notes.txt", b"hello", "cannot be attached"),
        ("fake.jpg", b"not a jpeg at all", "is not what its name says"),
    ],
)
def test_a_refused_file_says_why_and_stores_nothing(
    env: Env, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    record = plan(env)
    path = tmp_path / name
    path.write_bytes(content)
    env.strip.attach_files([path])
    assert env.refs(record.id) == []
    assert name in env.strip.problem_text() and reason in env.strip.problem_text()
    assert env.window.undo_stack.count() == 0


# --- photos ---------------------------------------------------------------------------


def test_a_large_photo_is_attached_downscaled_as_jpeg(env: Env, tmp_path: Path) -> None:
    record = plan(env)
    photo = write_image(tmp_path / "IMG_0001.jpg", 4000, 3000)
    env.strip.attach_files([photo])
    [ref] = env.refs(record.id)
    assert ref["type"] == "image/jpeg" and ref["name"] == "IMG_0001.jpg"
    blob = attachments.blob_path(env.store, ref["sha256"])
    assert blob is not None and ref["size"] < photo.stat().st_size
    reader = QImageReader(str(blob))
    assert reader.format().data() == b"jpeg"
    assert (reader.size().width(), reader.size().height()) == (1600, 1200)
    info = attachments.blob_info(env.store, ref["sha256"])
    assert info is not None and info.original_path == str(photo)


def test_with_downscaling_off_the_photo_is_kept(env: Env, tmp_path: Path) -> None:
    settings.put(settings.DOWNSCALE_PHOTOS, False)
    record = plan(env)
    photo = write_image(tmp_path / "IMG_0002.jpg", 4000, 3000)
    env.strip.attach_files([photo])
    [ref] = env.refs(record.id)
    assert ref["size"] == photo.stat().st_size
    blob = attachments.blob_path(env.store, ref["sha256"])
    assert blob is not None and blob.read_bytes() == photo.read_bytes()


def test_downscaling_keeps_portrait_photos_within_the_limit(tmp_path: Path) -> None:
    photo = downscale_photo(write_image(tmp_path / "tall.jpeg", 1000, 3000))
    assert photo is not None and photo.name == "tall.jpeg" and photo.media_type == "image/jpeg"
    image = QImage.fromData(photo.data)
    assert (image.width(), image.height()) == (533, 1600)
    assert downscale_photo(write_image(tmp_path / "small.jpg", 1600, 900)) is None


# --- removing, read-only, opening ------------------------------------------------------


def test_remove_is_an_edit_that_undo_brings_back(env: Env, tmp_path: Path, qtbot: Any) -> None:
    record = plan(env)
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(PDF)
    env.strip.attach_files([pdf])
    [ref] = env.refs(record.id)
    env.strip.select(ref["sha256"])
    qtbot.mouseClick(env.button("attachments_remove"), LEFT)
    assert env.refs(record.id) == []
    assert env.strip.item_texts() == []
    env.window.undo()
    assert env.refs(record.id) == [ref]
    assert len(env.strip.item_texts()) == 1
    env.window.undo()  # the attach itself
    assert env.refs(record.id) == []


def test_a_read_only_record_opens_files_but_cannot_change_them(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = env.store.create("lesson_plan", {"title": "已提交"}, author="test")
    pdf = tmp_path / "报告.pdf"
    pdf.write_bytes(PDF)
    ref = attachments.attach(env.store, record.id, pdf)
    env.window.editor.set_lock_policy(lambda _id, _status: True)
    env.window.open_record(record.id)
    assert env.window.editor.is_read_only()
    assert not env.button("attachments_attach").isVisible()
    assert not env.button("attachments_remove").isVisible()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(pdf))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, LEFT,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    QApplication.sendEvent(env.window.editor, enter)
    assert not enter.isAccepted()

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opener(opened)))
    env.strip.select(ref["sha256"])
    assert env.button("attachments_open").isEnabled()
    env.button("attachments_open").click()
    [url] = opened
    path = Path(url.toLocalFile())
    assert path.name == "报告.pdf"  # the viewer needs the name and its extension
    assert path.read_bytes() == PDF


def test_opening_a_file_not_here_downloads_it_first(
    env: Env, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = hashlib.sha256(PDF).hexdigest()
    ref = AttachmentRef(sha256=sha, name="来自同伴.pdf", size=len(PDF), type="application/pdf")
    record = env.store.create("lesson_plan", {"title": "同步来的", "attachments": [ref]}, author="x")
    attachments.track_remote(env.store)
    env.transfer.server[sha] = PDF
    env.window.open_record(record.id)
    assert "Not downloaded yet" in env.strip.item_texts()[0]

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opener(opened)))
    env.strip.open_file(sha)
    qtbot.waitUntil(lambda: len(opened) == 1, timeout=10_000)
    assert Path(opened[0].toLocalFile()).read_bytes() == PDF
    assert "Downloaded" in env.strip.item_texts()[0]


def test_a_viewer_copy_never_gets_a_dangerous_name() -> None:
    assert safe_file_name("../../evil.exe", "application/pdf") == "evil.exe.pdf"
    assert safe_file_name("C:\\x\\照片.JPG", "image/jpeg") == "照片.JPG"
    assert safe_file_name("", "image/png") == "attachment.png"


# --- transfers ---------------------------------------------------------------------------


def transfer_label(env: Env) -> QLabel:
    label = env.window.findChild(QLabel, "transfer_state")
    assert label is not None
    return label


def test_upload_progress_shows_in_the_status_bar_and_clears(
    env: Env, qtbot: Any, tmp_path: Path
) -> None:
    record = plan(env)
    env.transfer.hold.clear()  # uploads stop half-way until released
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first.write_bytes(PDF)
    second.write_bytes(PDF + b"2")
    env.transfer.signed_in = False
    env.strip.attach_files([first, second])  # not signed in: they wait
    label = transfer_label(env)
    assert not label.isVisible()
    assert all("Waiting to upload" in t for t in env.strip.item_texts())
    env.transfer.signed_in = True
    env.transfers.after_sync()  # as the sync controller's `synced` does
    qtbot.waitUntil(lambda: label.isVisible() and "Uploading 2 files" in label.text(), timeout=10_000)
    assert label.text() == f"Uploading 2 files: {format_progress(len(PDF) // 2, 2 * len(PDF) + 1)}"
    assert sync_label_text(env) != label.text()  # apart from the sync status
    qtbot.waitUntil(lambda: any("Uploading 50%" in t for t in env.strip.item_texts()))
    env.transfer.hold.set()
    qtbot.waitUntil(lambda: not label.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: all("Uploaded" in t for t in env.strip.item_texts()), timeout=10_000)
    assert not attachments.pending_uploads(env.store)
    assert len(env.refs(record.id)) == 2


def sync_label_text(env: Env) -> str:
    label = env.window.findChild(QLabel, "sync_state")
    assert label is not None
    return label.text()


def test_a_failed_upload_run_is_retried_with_backoff(store: Store, qtbot: Any, tmp_path: Path) -> None:
    from app.sync.engine import Backoff
    from app.sync.errors import Offline

    record = store.create("lesson_plan", {"title": "t"}, author="x")
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(PDF)
    attachments.attach(store, record.id, pdf)
    fake = FakeTransfer(store)
    fake.hold.set()
    runs: list[int] = []

    class Flaky(FakeTransfer):
        def upload_pending(self, on_progress: Callable[[int, int, str], None]) -> int:
            runs.append(1)
            if len(runs) == 1:
                raise Offline("no route")
            return super().upload_pending(on_progress)

    flaky = Flaky(store)
    flaky.hold.set()
    states: list[str] = []
    controller = TransferController(store, lambda: flaky, backoff=Backoff(base=0.05, cap=0.1))
    controller.state_changed.connect(lambda text, _tip: states.append(text))
    try:
        controller.start_uploads()
        qtbot.waitUntil(lambda: len(runs) == 2 and not controller.uploading, timeout=10_000)
        assert any(text.startswith("Uploads paused: no connection") for text in states)
        assert controller.status_text == ""
        assert not attachments.pending_uploads(store)
    finally:
        controller.shutdown()


def test_sizes_read_like_a_file_manager() -> None:
    assert format_size(512) == "512 bytes"
    assert format_size(3 * 1024 * 1024 + 100 * 1024) == "3.1 MB"
    assert format_progress(int(3.1 * 1024 * 1024), 20 * 1024 * 1024) == "3.1 of 20 MB"


def test_trainers_can_prefetch_the_files_of_their_review_queue(store: Store, qtbot: Any) -> None:
    sha = hashlib.sha256(PDF).hexdigest()
    ref = AttachmentRef(sha256=sha, name="待审.pdf", size=len(PDF), type="application/pdf")
    record = store.create("lesson_plan", {"title": "待审", "attachments": [ref]}, author="x")
    fake = FakeTransfer(store, server={sha: PDF})
    fake.hold.set()
    controller = TransferController(store, lambda: fake, queue_ids=lambda: [record.id])
    try:
        controller.after_sync()  # the setting is off: nothing fetched
        qtbot.waitUntil(lambda: not controller.uploading, timeout=10_000)
        assert attachments.blob_path(store, sha) is None
        settings.put(settings.PREFETCH_FOR_REVIEW, True)
        with qtbot.waitSignal(controller.download_finished, timeout=10_000) as finished:
            controller.after_sync()
        assert finished.args == [sha, True, ""]
        assert attachments.blob_path(store, sha) is not None
    finally:
        controller.shutdown()


def test_the_preferences_dialog_saves_the_attachment_settings(qtbot: Any) -> None:
    from PySide6.QtWidgets import QCheckBox

    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Translations())
    qtbot.addWidget(dialog)
    downscale = dialog.findChild(QCheckBox, "downscale_photos")
    prefetch = dialog.findChild(QCheckBox, "prefetch_for_review")
    assert downscale is not None and prefetch is not None
    assert downscale.isChecked() and not prefetch.isChecked()  # the defaults
    downscale.setChecked(False)
    prefetch.setChecked(True)
    dialog.accept()
    assert settings.get(settings.DOWNSCALE_PHOTOS) is False
    assert settings.get(settings.PREFETCH_FOR_REVIEW) is True
