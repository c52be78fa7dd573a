"""Attachments in the main window (docs/attachments.md, "UI").

``AttachmentsUi`` hooks the pieces to the window, as ``SyncUi`` and
``ReviewUi`` do for theirs: the strip below the editor (following the record
shown and its read-only rule), files dropped on the editor, attaching and
removing on the window's undo stack, and the transfer status in the status
bar, apart from the sync status.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QLabel

from app.models.store import RecordData, Store
from app.protocol.blobs import AttachmentRef
from app.ui.attachments import AttachmentCommand, AttachmentsStrip, DropFilter
from app.ui.main_window import MainWindow
from app.ui.tasks import TaskRunner, log_failure
from app.ui.transfers import TransferController

log = logging.getLogger("fieldbook.ui")


class AttachmentsUi(QObject):
    """The attachments' face in the main window."""

    def __init__(
        self,
        window: MainWindow,
        store: Store,
        runner: TaskRunner,
        transfers: TransferController | None = None,
        *,
        images: TaskRunner | None = None,
        open_dir: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.setObjectName("attachments_ui")
        self._window, self._store, self._runner = window, store, runner
        self._transfers = transfers
        # Thumbnails and photo downscaling: a runner of their own, so decoding a
        # large photo never holds up the saves queued on the writer.
        self.images = images or TaskRunner(self)
        editor = window.editor
        self.strip = AttachmentsStrip(store, runner, self.images, prepare_write=editor.prepare_write,
                                      transfers=transfers, open_dir=open_dir, parent=editor)
        editor.add_footer(self.strip)
        self._drops = DropFilter(self.strip, self)
        self.status = QLabel(window.statusBar())
        self.status.setObjectName("transfer_state")
        self.status.hide()
        window.statusBar().addPermanentWidget(self.status)
        self._connect()
        window.installEventFilter(self)
        self._on_record_shown(editor.current_id())

    def _connect(self) -> None:
        editor, strip = self._window.editor, self.strip
        editor.record_shown.connect(self._on_record_shown)
        editor.saved.connect(self._on_editor_saved)
        editor.read_only_changed.connect(strip.set_read_only)
        strip.record_changed.connect(self._window.note_record_saved)
        strip.edited.connect(self._push_undo)
        transfers = self._transfers
        if transfers is not None:
            transfers.state_changed.connect(self._show_transfer_state)
            strip.attached.connect(lambda _ref: transfers.start_uploads())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            QTimer.singleShot(0, self._retranslate)  # after the window re-labelled itself
        return False

    def _retranslate(self) -> None:
        if self._transfers is not None:
            self._transfers.retranslate()

    # --- following the editor -----------------------------------------------------------

    def _on_record_shown(self, record_id: str | None) -> None:
        editor = self._window.editor
        visible = editor.current_kind() is not None
        self.strip.show_record(record_id, visible=visible, read_only=editor.is_read_only())
        if visible:
            self._drops.watch(editor)  # a new kind's form has new text fields

    def _on_editor_saved(self, record: RecordData) -> None:
        """A new record was created: the strip now knows its id."""
        editor = self._window.editor
        if record.id == editor.current_id() and self.strip.record_id() != record.id:
            self.strip.show_record(record.id, visible=True, read_only=editor.is_read_only())

    # --- undo ------------------------------------------------------------------------------

    def _push_undo(self, record_id: str, ref: AttachmentRef, added: bool) -> None:
        name = ref["name"].replace("&", "&&")
        text = (self.tr("Attach “{name}”") if added else self.tr("Remove “{name}”")).format(name=name)
        command = AttachmentCommand(self._store, self._runner, record_id, ref, added, text,
                                    done=self._after_undo_or_redo, failed=self._undo_failed)
        self._window.undo_stack.push(command)

    def _after_undo_or_redo(self, record: RecordData) -> None:
        self._window.note_record_saved(record)
        if record.id == self.strip.record_id():
            self.strip.reload()
        if self._transfers is not None:
            self._transfers.start_uploads()

    def _undo_failed(self, exc: Exception) -> None:
        log_failure("Could not undo an attachment change", exc)
        self._window.show_message(self.tr("Could not undo: {error}").format(error=exc))

    # --- the status bar ------------------------------------------------------------------------

    def _show_transfer_state(self, text: str, tooltip: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(tooltip)
        self.status.setVisible(bool(text))

    def shutdown(self) -> None:
        """At quit: let a thumbnail or photo being made finish."""
        self.images.wait()


def install(window: MainWindow, store: Store, runner: TaskRunner,
            transfers: TransferController | None = None) -> AttachmentsUi:
    return AttachmentsUi(window, store, runner, transfers)


__all__ = ["AttachmentsUi", "install"]
