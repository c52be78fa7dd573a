"""The attachments strip below every record editor (docs/attachments.md, "UI").

Photos, PDFs and Office files attached to the open record: a thumbnail for
an image, a badge with the file type for a document, the size and where the
file is (waiting to upload, uploading, uploaded, not downloaded yet,
downloading, failed and why). Files come in through "Attach…" or by dropping
them anywhere on the editor; a double-click opens one with the system's
viewer, downloading it first when it is not here.

Nothing here blocks the window: the store's writes run on the ``TaskRunner``
(in order with the editor's saves, so attaching to a new record lands after
its create), thumbnails and photo downscaling on a second runner of their
own (decoding a 12-megapixel photo takes longer than typing should ever
wait), transfers on the ``TransferController``'s threads.

Attaching and removing are edits of the record's ``attachments`` field, so
they go on the window's undo stack like deleting a record does.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import shutil
import stat
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QIODevice,
    QObject,
    QPoint,
    QSize,
    QStandardPaths,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QIcon,
    QImage,
    QImageReader,
    QImageWriter,
    QPainter,
    QPixmap,
    QUndoCommand,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookBug, FieldbookError, ValidationFailed
from app.models import attachments
from app.models.attachments import BlobInfo, BlobState
from app.models.store import RecordData, Store
from app.models.validation import Problem
from app.protocol.blobs import EXTENSIONS, AttachmentRef, type_for_name
from app.ui import i18n, settings
from app.ui.tasks import TaskRunner, report_failure
from app.ui.transfers import TransferController, format_size
from app.ui.widgets import make_button, set_bold

log = logging.getLogger("fieldbook.ui")

PHOTO_LONG_SIDE = 1600  # px: plenty to read a whiteboard, a tenth of a phone photo's bytes
JPEG_QUALITY = 85
DOWNSCALED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
THUMBNAIL_EDGE = 64
THUMBNAIL_CACHE = 300  # images kept in memory (keyed by content hash: never stale)
GRID = QSize(136, 124)
LIST_HEIGHT = 144
ERROR_COLOUR = "#b3261e"
MUTED_COLOUR = "#5f6368"
SHA_ROLE = Qt.ItemDataRole.UserRole
BADGE_COLOURS = {
    "application/pdf": "#c62828",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "#1565c0",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "#d84315",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "#2e7d32",
}
_UNSAFE_NAME = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


# --- pure helpers: names, photos, thumbnails (any thread) ---------------------------


def extension_for(media_type: str) -> str:
    """The usual extension of an accepted type (".jpg", ".pdf")."""
    for extension, known in EXTENSIONS.items():
        if known == media_type:
            return extension
    return ""


def safe_file_name(name: str, media_type: str) -> str:
    """A name to give a copy for the system viewer. The name came from whoever
    attached the file (maybe on another computer): never a path, never an
    extension that would run instead of show."""
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    base = base[:120] or "attachment"
    if type_for_name(base) != media_type:
        base += extension_for(media_type)
    return base


def file_filter() -> str:
    """For the file dialog: every extension Fieldbook accepts."""
    patterns = " ".join(f"*{extension}" for extension in EXTENSIONS)
    return translate("Attachments", "Photos and documents ({patterns})").format(patterns=patterns)


@dataclasses.dataclass(frozen=True)
class Photo:
    """A downscaled photo, ready for ``attachments.attach_bytes``."""

    data: bytes
    name: str
    media_type: str


def downscale_photo(path: Path, long_side: int = PHOTO_LONG_SIDE,
                    quality: int = JPEG_QUALITY) -> Photo | None:
    """The photo at ``path`` at most ``long_side`` pixels long, or None to
    attach the file as it is: not a photo, small enough already (a
    screenshot), unreadable (the store then says why) or nothing gained.

    The EXIF orientation is applied (phones store photos sideways), since the
    copy loses the EXIF data. A PNG stays a PNG (screenshots keep sharp text,
    transparency survives); JPEG and WebP become JPEG."""
    media_type = type_for_name(path.name)
    if media_type not in DOWNSCALED_TYPES:
        return None
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or max(size.width(), size.height()) <= long_side:
        return None
    reader.setScaledSize(size.scaled(long_side, long_side, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        log.info("Could not read %s to make it smaller: %s", path.name, reader.errorString())
        return None
    png = media_type == "image/png"
    data = _encode(image, b"png" if png else b"jpeg", quality)
    if not data or data_size_not_smaller(data, path):
        return None
    name = path.name if media_type != "image/webp" else path.stem + ".jpg"
    return Photo(data, name, "image/png" if png else "image/jpeg")


def data_size_not_smaller(data: bytes, path: Path) -> bool:
    try:
        return len(data) >= path.stat().st_size
    except OSError:
        return False


def _encode(image: QImage, image_format: bytes, quality: int) -> bytes:
    if image_format == b"jpeg" and image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(QColor("white"))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(image_format))
    if image_format == b"jpeg":
        writer.setQuality(quality)
    if not writer.write(image):
        log.warning("Could not encode a downscaled photo: %s", writer.errorString())
        return b""
    return bytes(buffer.data().data())


def make_thumbnail(path: Path, edge: int = THUMBNAIL_EDGE) -> QImage:
    """A small upright image (null if the file cannot be read as one)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def viewable_copy(blob: Path, name: str, media_type: str, folder: Path) -> Path:
    """A read-only copy of a blob under its own name, for the system viewer:
    blob files have no extension (they are named by their hash), and a viewer
    that saves in place must never change a blob."""
    target = folder / blob.name[:16] / safe_file_name(name, media_type)
    if target.is_file() and target.stat().st_size == blob.stat().st_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.chmod(stat.S_IWUSR | stat.S_IRUSR)
        target.unlink()
    shutil.copyfile(blob, target)
    target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return target


def open_folder() -> Path:
    """Where the copies for the viewer go (the user's cache folder)."""
    cache = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(cache or os.path.expanduser("~/.cache/fieldbook")) / "open"


class ThumbnailCache:
    """Thumbnails by content hash: a blob never changes, so neither does its thumbnail."""

    def __init__(self, limit: int = THUMBNAIL_CACHE) -> None:
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._limit = limit

    def get(self, sha: str) -> QImage | None:
        image = self._images.get(sha)
        if image is not None:
            self._images.move_to_end(sha)
        return image

    def put(self, sha: str, image: QImage) -> None:
        self._images[sha] = image
        self._images.move_to_end(sha)
        while len(self._images) > self._limit:
            self._images.popitem(last=False)


THUMBNAILS = ThumbnailCache()


# --- what the strip shows (read on the writer thread) ------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """One attachment of the open record and where its file is."""

    ref: AttachmentRef
    info: BlobInfo | None
    path: Path | None  # the blob file, when it is here

    @property
    def sha(self) -> str:
        return self.ref["sha256"]

    @property
    def is_image(self) -> bool:
        return self.ref["type"] in IMAGE_TYPES


def load_entries(store: Store, record_id: str) -> list[Entry]:
    refs = attachments.attachments_of(store, record_id)
    infos = attachments.blob_infos(store, (ref["sha256"] for ref in refs))
    return [Entry(ref, infos.get(ref["sha256"]), attachments.blob_path(store, ref["sha256"]))
            for ref in refs]


def add_ref(store: Store, record_id: str, ref: AttachmentRef) -> RecordData:
    """Put a reference back on a record (undo of a remove, redo of an attach)."""
    refs = attachments.attachments_of(store, record_id)
    if all(r["sha256"] != ref["sha256"] for r in refs):
        return store.update(record_id, {attachments.FIELD: [*refs, ref]}).record
    return store.get(record_id)


def remove_ref(store: Store, record_id: str, ref: AttachmentRef) -> RecordData:
    return attachments.remove(store, record_id, ref["sha256"]).record


def _attach_job(store: Store, record_id: str, path: Path,
                photo: Photo | None) -> tuple[AttachmentRef, RecordData]:
    """Runs on the writer thread."""
    if photo is None:
        ref = attachments.attach(store, record_id, path)
    else:
        ref = attachments.attach_bytes(store, record_id, photo.data, name=photo.name,
                                       media_type=photo.media_type, original=path)
    return ref, store.get(record_id)


def describe_refusal(exc: Exception) -> str:
    """Why a file was not attached, in the user's language."""
    if isinstance(exc, ValidationFailed):
        return " ".join(i18n.tr_problem(p) if isinstance(p, Problem) else str(p)
                        for p in exc.problems.values())
    if isinstance(exc, FieldbookError) and not isinstance(exc, FieldbookBug):
        return str(exc)
    return translate("Attachments", "An unexpected error stopped it.")


def local_files(urls: Iterable[QUrl]) -> list[Path]:
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile() and url.toLocalFile()]


# --- icons -------------------------------------------------------------------------


def badge_icon(media_type: str, edge: int = THUMBNAIL_EDGE) -> QIcon:
    """A coloured page with the file type on it ("PDF", "DOCX", "JPG")."""
    pixmap = QPixmap(edge, edge)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(BADGE_COLOURS.get(media_type, "#616161"))
    margin = edge // 8
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(margin, 0, edge - 2 * margin, edge, 6, 6)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(edge // 5)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    label = extension_for(media_type).lstrip(".").upper() or "?"
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, label)
    painter.end()
    return QIcon(pixmap)


# --- the strip -------------------------------------------------------------------------


class AttachmentsStrip(QFrame):
    """The open record's files; attach, open, remove."""

    record_changed = Signal(object)  # RecordData after an attach or remove
    edited = Signal(str, object, bool)  # record id, AttachmentRef, added (for the undo stack)
    attached = Signal(object)  # AttachmentRef: a file is here to upload

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        images: TaskRunner,
        *,
        prepare_write: Callable[[], str | None],
        transfers: TransferController | None = None,
        open_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachments_strip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._store, self._runner, self._images = store, runner, images
        self._prepare_write, self._transfers = prepare_write, transfers
        self._open_dir = open_dir or open_folder()
        self._record_id: str | None = None
        self._entries: dict[str, Entry] = {}
        self._read_only = False
        self._generation = 0
        self._attaching = 0
        self._want_open: set[str] = set()
        self._thumbnails_asked: set[str] = set()
        self._build()
        self.retranslate()
        if transfers is not None:
            transfers.progressed.connect(self._on_progress)
            transfers.blobs_changed.connect(self.reload)
            transfers.download_finished.connect(self._on_downloaded)
        self.hide()

    # --- building ------------------------------------------------------------------------

    def _button(self, name: str, slot: Callable[[], None]) -> QPushButton:
        return make_button(self, name, slot)

    def _build(self) -> None:
        self._title = QLabel(self)
        self._title.setObjectName("attachments_title")
        set_bold(self._title)
        self._hint = QLabel(self)
        self._hint.setObjectName("attachments_hint")
        self._hint.setStyleSheet(f"color: {MUTED_COLOUR};")
        # Wraps rather than widening the strip: on one line, the English hint
        # alone set the editor's minimum width and squeezed the list's titles
        # to "…" at 1366 px.
        self._hint.setWordWrap(True)
        self._attach = self._button("attachments_attach", self.choose_files)
        self._open = self._button("attachments_open", self.open_selected)
        self._remove = self._button("attachments_remove", self.remove_selected)
        header = QHBoxLayout()
        header.addWidget(self._title)
        header.addWidget(self._hint, 1)
        for button in (self._open, self._remove, self._attach):
            header.addWidget(button)
        self._list = self._build_list()
        self._problem = QLabel(self)
        self._problem.setObjectName("attachments_problem")
        self._problem.setWordWrap(True)
        self._problem.setTextFormat(Qt.TextFormat.PlainText)
        self._problem.setStyleSheet(f"color: {ERROR_COLOUR};")
        self._problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self._list)
        layout.addWidget(self._problem)

    def _build_list(self) -> QListWidget:
        view = QListWidget(self)
        view.setObjectName("attachments_list")
        view.setViewMode(QListView.ViewMode.IconMode)
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(False)
        view.setMovement(QListView.Movement.Static)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setIconSize(QSize(THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        view.setGridSize(GRID)
        view.setWordWrap(True)
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        view.setUniformItemSizes(True)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setFixedHeight(LIST_HEIGHT)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        view.itemActivated.connect(lambda item: self.open_file(str(item.data(SHA_ROLE))))
        view.itemSelectionChanged.connect(self._update_buttons)
        return view

    # --- language ----------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self._attach.setText(self.tr("Attach…"))
        self._attach.setToolTip(self.tr("Attach photos or documents to this record. "
                                        "You can also drop files onto the editor."))
        self._open.setText(self.tr("Open"))
        self._remove.setText(self.tr("Remove"))
        self._remove.setToolTip(self.tr("Remove the selected file from this record "
                                        "(Undo brings it back)."))
        self._render()

    # --- public ---------------------------------------------------------------------------------

    def show_record(self, record_id: str | None, *, visible: bool, read_only: bool) -> None:
        """Follow the editor: the record shown (None for a new one not yet
        stored), whether a form is shown at all, whether it may change."""
        if record_id != self._record_id or not visible:
            self._problem.hide()
            self._want_open.clear()
        self._record_id, self._read_only = record_id, read_only
        self.setVisible(visible)
        if record_id is None:
            self._entries = {}
            self._generation += 1
            self._render()
        else:
            self.reload()

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        self._render()

    def record_id(self) -> str | None:
        return self._record_id

    def reload(self) -> None:
        """Read the record's attachments and their files' states (writer thread)."""
        self._generation += 1
        generation, record_id = self._generation, self._record_id
        if record_id is None:
            return
        store = self._store
        self._runner.submit(lambda: load_entries(store, record_id),
                            lambda entries: self._on_loaded(generation, entries),
                            lambda exc: self._on_load_failed(generation, exc))

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def item_texts(self) -> list[str]:
        """What each tile says (for tests and screen readers)."""
        return [self._list.item(row).text() for row in range(self._list.count())]

    def problem_text(self) -> str:
        return self._problem.text() if not self._problem.isHidden() else ""

    def is_read_only(self) -> bool:
        return self._read_only

    # --- attaching ---------------------------------------------------------------------------------

    def choose_files(self) -> None:
        if self._read_only:
            return
        paths, _chosen = QFileDialog.getOpenFileNames(self, self.tr("Attach files"), "", file_filter())
        self.attach_files([Path(p) for p in paths])

    def attach_files(self, paths: list[Path]) -> None:
        """Attach each file (photos made smaller first, when that is on)."""
        if self._read_only or not paths:
            return
        record_id = self._prepare_write()
        if record_id is None:
            self._show_problem(self.tr("Files cannot be attached to this record."))
            return
        self._record_id = record_id
        self._problem.hide()
        downscale = settings.get(settings.DOWNSCALE_PHOTOS)
        for path in paths:
            self._attaching += 1
            if downscale and type_for_name(path.name) in DOWNSCALED_TYPES:
                self._images.submit(functools.partial(downscale_photo, path),
                                    functools.partial(self._store_file, record_id, path),
                                    functools.partial(self._downscale_failed, record_id, path))
            else:
                self._store_file(record_id, path, None)
        self._render()

    def _downscale_failed(self, record_id: str, path: Path, exc: Exception) -> None:
        log.warning("Could not make %s smaller; attaching it as it is: %s", path.name, exc)
        self._store_file(record_id, path, None)

    def _store_file(self, record_id: str, path: Path, photo: Photo | None) -> None:
        store = self._store
        self._runner.submit(functools.partial(_attach_job, store, record_id, path, photo),
                            functools.partial(self._on_attached, record_id),
                            functools.partial(self._on_attach_failed, path))

    def _on_attached(self, record_id: str, result: tuple[AttachmentRef, RecordData]) -> None:
        ref, record = result
        self._attaching -= 1
        self.edited.emit(record_id, ref, True)
        self.record_changed.emit(record)
        self.attached.emit(ref)
        if record_id == self._record_id:
            self.reload()
        self._render()

    def _on_attach_failed(self, path: Path, exc: Exception) -> None:
        self._attaching -= 1
        if isinstance(exc, ValidationFailed):
            log.info("Refused to attach %s: %s", path.name, exc)
        else:
            report_failure(exc)
        self._show_problem(self.tr("“{name}” was not attached: {reason}").format(
            name=path.name, reason=describe_refusal(exc)))
        self._render()

    # --- removing --------------------------------------------------------------------------------------

    def selected_sha(self) -> str | None:
        items = self._list.selectedItems()
        return str(items[0].data(SHA_ROLE)) if items else None

    def select(self, sha: str) -> None:
        for row in range(self._list.count()):
            item = self._list.item(row)
            if item.data(SHA_ROLE) == sha:
                self._list.setCurrentItem(item)

    def remove_selected(self) -> None:
        sha = self.selected_sha()
        if sha is not None:
            self.remove(sha)

    def remove(self, sha: str) -> None:
        entry, record_id = self._entries.get(sha), self._record_id
        if self._read_only or entry is None or record_id is None:
            return
        store, ref = self._store, entry.ref
        self._runner.submit(functools.partial(remove_ref, store, record_id, ref),
                            functools.partial(self._on_removed, record_id, ref),
                            functools.partial(self._on_remove_failed, ref))

    def _on_removed(self, record_id: str, ref: AttachmentRef, record: RecordData) -> None:
        self.edited.emit(record_id, ref, False)
        self.record_changed.emit(record)
        if record_id == self._record_id:
            self.reload()

    def _on_remove_failed(self, ref: AttachmentRef, exc: Exception) -> None:
        report_failure(exc)
        self._show_problem(self.tr("“{name}” was not removed: {reason}").format(
            name=ref["name"], reason=describe_refusal(exc)))

    # --- opening ---------------------------------------------------------------------------------------

    def open_selected(self) -> None:
        sha = self.selected_sha()
        if sha is not None:
            self.open_file(sha)

    def open_file(self, sha: str) -> None:
        """Open with the system's viewer; download first when the file is not here."""
        entry = self._entries.get(sha)
        if entry is None:
            return
        if entry.path is None:
            self._download_to_open(entry)
            return
        blob, name, media_type, folder = entry.path, entry.ref["name"], entry.ref["type"], self._open_dir
        self._images.submit(functools.partial(viewable_copy, blob, name, media_type, folder),
                            self._launch,
                            functools.partial(self._on_open_failed, name))

    def _download_to_open(self, entry: Entry) -> None:
        transfers = self._transfers
        if transfers is None or not transfers.download(entry.sha):
            self._show_problem(self.tr("“{name}” is not on this computer yet. Sign in to download it.")
                               .format(name=entry.ref["name"]))
            return
        self._want_open.add(entry.sha)
        self._render()

    def _launch(self, path: Path) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            log.warning("No program opened %s", path)
            self._show_problem(self.tr("No program on this computer could open “{name}”.").format(
                name=path.name))

    def _on_open_failed(self, name: str, exc: Exception) -> None:
        log.warning("Could not prepare %s for opening: %s", name, exc)
        self._show_problem(self.tr("“{name}” could not be opened: {reason}").format(
            name=name, reason=exc))

    def _on_downloaded(self, sha: str, ok: bool, reason: str) -> None:
        wanted = sha in self._want_open
        self._want_open.discard(sha)
        entry = self._entries.get(sha)
        if not wanted or entry is None:
            return
        if not ok:
            self._show_problem(self.tr("“{name}” could not be downloaded: {reason}").format(
                name=entry.ref["name"], reason=reason))
            return
        store, record_id = self._store, self._record_id
        if record_id is None:
            return
        # The states are re-read first; then the file opens from where it now is.
        self._runner.submit(lambda: load_entries(store, record_id),
                            lambda entries: self._open_after_download(sha, entries))

    def _open_after_download(self, sha: str, entries: list[Entry]) -> None:
        self._on_loaded(self._generation, entries)
        entry = self._entries.get(sha)
        if entry is not None and entry.path is not None:
            self.open_file(sha)

    def _context_menu(self, position: QPoint) -> None:
        item = self._list.itemAt(position)
        if item is None:
            return
        sha = str(item.data(SHA_ROLE))
        menu = QMenu(self)
        menu.addAction(self.tr("Open"), lambda: self.open_file(sha))
        if not self._read_only:
            menu.addAction(self.tr("Remove"), lambda: self.remove(sha))
        menu.popup(self._list.viewport().mapToGlobal(position))

    # --- showing ---------------------------------------------------------------------------------------

    def _on_loaded(self, generation: int, entries: list[Entry]) -> None:
        if generation != self._generation:
            return  # another record meanwhile
        selected = self.selected_sha()
        self._entries = {entry.sha: entry for entry in entries}
        self._fill()
        if selected is not None:
            self.select(selected)
        self._render()

    def _on_load_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        if isinstance(exc, FieldbookError):
            log.info("Could not read the attachments of %s: %s", self._record_id, exc)
        else:
            report_failure(exc)
        self._entries = {}
        self._fill()
        self._render()

    def _fill(self) -> None:
        self._list.clear()
        for entry in self._entries.values():
            item = QListWidgetItem(badge_icon(entry.ref["type"]), "")
            item.setData(SHA_ROLE, entry.sha)
            self._list.addItem(item)
            self._label(item, entry)
            if entry.is_image and entry.path is not None:
                self._show_thumbnail(item, entry.sha, entry.path)

    def _show_thumbnail(self, item: QListWidgetItem, sha: str, path: Path) -> None:
        """From the cache, else made off the GUI thread (the badge shows meanwhile)."""
        image = THUMBNAILS.get(sha)
        if image is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))
        else:
            self._ask_thumbnail(sha, path)

    def _ask_thumbnail(self, sha: str, path: Path) -> None:
        if sha in self._thumbnails_asked:
            return
        self._thumbnails_asked.add(sha)
        self._images.submit(functools.partial(make_thumbnail, path),
                            functools.partial(self._on_thumbnail, sha),
                            functools.partial(self._on_thumbnail_failed, sha))

    def _on_thumbnail(self, sha: str, image: QImage) -> None:
        self._thumbnails_asked.discard(sha)
        if image.isNull():
            return
        THUMBNAILS.put(sha, image)
        for row in range(self._list.count()):
            item = self._list.item(row)
            if item.data(SHA_ROLE) == sha:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_thumbnail_failed(self, sha: str, exc: Exception) -> None:
        self._thumbnails_asked.discard(sha)
        log.info("No thumbnail for %s: %s", sha[:12], exc)

    def _label(self, item: QListWidgetItem, entry: Entry) -> None:
        state, problem = self.state_text(entry)
        item.setText(f"{entry.ref['name']}\n{format_size(entry.ref['size'])}\n{state}")
        lines = [entry.ref["name"], format_size(entry.ref["size"]), state]
        if problem:
            lines.append(problem)
        item.setToolTip("\n".join(lines))
        item.setForeground(QColor(ERROR_COLOUR) if problem else QColor(MUTED_COLOUR)
                           if entry.path is None else self.palette().text().color())

    def state_text(self, entry: Entry) -> tuple[str, str]:
        """(a few words of where the file is, why it failed or "")."""
        moving = self._transfers.progress_of(entry.sha) if self._transfers is not None else None
        if moving is not None:
            direction, done, total = moving
            percent = min(100, round(100 * done / total)) if total > 0 else 0
            if direction == "upload":
                return self.tr("Uploading {percent}%").format(percent=percent), ""
            return self.tr("Downloading {percent}%").format(percent=percent), ""
        if self._transfers is not None and self._transfers.is_downloading(entry.sha):
            return self.tr("Downloading…"), ""
        info = entry.info
        error = info.error if info is not None else ""
        if entry.path is None:
            if error:
                return self.tr("Download failed"), error
            return self.tr("Not downloaded yet"), ""
        if info is None or info.state in (BlobState.LOCAL, BlobState.UPLOADING):
            if error:
                return self.tr("Not uploaded"), error
            return self.tr("Waiting to upload"), ""
        if info.state is BlobState.DOWNLOADED:
            return self.tr("Downloaded"), ""
        return self.tr("Uploaded"), ""

    def _on_progress(self, _direction: str, sha: str, _done: int, _total: int) -> None:
        entry = self._entries.get(sha)
        if entry is None:
            return
        for row in range(self._list.count()):
            item = self._list.item(row)
            if item.data(SHA_ROLE) == sha:
                self._label(item, entry)

    def _render(self) -> None:
        count = len(self._entries)
        self._title.setText(self.tr("Attachments ({count})").format(count=count) if count
                            else self.tr("Attachments"))
        if self._attaching:
            hint = self.tr("Attaching {count} files…").format(count=self._attaching) \
                if self._attaching > 1 else self.tr("Attaching a file…")
        elif count:
            hint = ""
        elif self._read_only:
            hint = self.tr("No files attached.")
        else:
            hint = self.tr("Drop photos or documents here, or choose Attach…")
        self._hint.setText(hint)
        self._list.setVisible(count > 0)
        for index in range(self._list.count()):
            item = self._list.item(index)
            entry = self._entries.get(str(item.data(SHA_ROLE)))
            if entry is not None:
                self._label(item, entry)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected_sha() is not None
        self._attach.setVisible(not self._read_only)
        self._remove.setVisible(not self._read_only)
        self._remove.setEnabled(selected)
        self._open.setEnabled(selected)
        self._open.setVisible(bool(self._entries))

    def _show_problem(self, text: str) -> None:
        self._problem.setText(text)
        self._problem.show()

    # --- dropping files onto the editor --------------------------------------------------------------

    def accepts_drop(self, event: QDragEnterEvent | QDropEvent) -> bool:
        mime = event.mimeData()
        return (self.isVisible() and not self._read_only and mime is not None and mime.hasUrls()
                and bool(local_files(mime.urls())))

    def drop(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        self.attach_files(local_files(mime.urls()))


class DropFilter(QObject):
    """Files dropped anywhere on the editor are attached (text fields still
    take dragged text: only drags of local files are taken here)."""

    def __init__(self, strip: AttachmentsStrip, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._strip = strip

    def watch(self, root: QWidget) -> None:
        """The editor and every widget in it that would take a drop itself."""
        root.setAcceptDrops(True)
        root.installEventFilter(self)
        for child in root.findChildren(QWidget):
            if child.acceptDrops():
                child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDropEvent)
            if self._strip.accepts_drop(event):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            if self._strip.accepts_drop(event):
                event.acceptProposedAction()
                self._strip.drop(event)
                return True
        return False


# --- undo ----------------------------------------------------------------------------------


class AttachmentCommand(QUndoCommand):
    """An attach or remove that has already happened: undo does the opposite,
    redo does it again. Both run on the task runner."""

    def __init__(self, store: Store, runner: TaskRunner, record_id: str, ref: AttachmentRef,
                 added: bool, text: str, *, done: Callable[[RecordData], None],
                 failed: Callable[[Exception], None]) -> None:
        super().__init__(text)
        self._store, self._runner = store, runner
        self.record_id, self.ref, self.added = record_id, ref, added
        self._done, self._failed = done, failed
        self._first = True

    def redo(self) -> None:
        if self._first:  # QUndoStack.push() calls redo(); the edit is already done
            self._first = False
            return
        self._apply(self.added)

    def undo(self) -> None:
        self._apply(not self.added)

    def _apply(self, add: bool) -> None:
        job = add_ref if add else remove_ref
        self._runner.submit(functools.partial(job, self._store, self.record_id, self.ref),
                            self._done, self._failed)


__all__ = [
    "AttachmentCommand",
    "AttachmentsStrip",
    "DropFilter",
    "Entry",
    "Photo",
    "ThumbnailCache",
    "downscale_photo",
    "load_entries",
    "make_thumbnail",
    "safe_file_name",
    "viewable_copy",
]
