"""Deleting (undoable with Ctrl+Z through a ``QUndoStack``) and duplicating records.

Every write runs on the ``TaskRunner``, so the window never waits on the
disk; the outcome comes back on the GUI thread as a signal the window turns
into counts, rows and the editor. The window decides which record an action
applies to and whether it may be changed; this module does the writes and
says what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.models.fields import Kind
from app.models.store import RecordData, Store
from app.ui.editors import RecordEditor
from app.ui.i18n import tr_error
from app.ui.settings_dialog import author_name
from app.ui.tasks import TaskRunner, log_failure

log = logging.getLogger("fieldbook.ui")

Target = tuple[str, str]  # record id, kind


def _escape_mnemonic(text: str) -> str:
    return text.replace("&", "&&")


class DeleteRecordCommand(QUndoCommand):
    """A soft delete that has already happened: undo restores the record,
    redo deletes it again. Both run on the task runner."""

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        record: RecordData,
        text: str,
        *,
        on_deleted: Callable[[RecordData], None],
        on_restored: Callable[[RecordData], None],
        on_failed: Callable[[Exception], None],
    ) -> None:
        super().__init__(text)
        self._store, self._runner = store, runner
        self.record_id = record.id
        self.title = record.title
        self._on_deleted, self._on_restored, self._on_failed = on_deleted, on_restored, on_failed
        self._first = True

    def redo(self) -> None:
        if self._first:  # QUndoStack.push() calls redo(); the delete is already done
            self._first = False
            return
        record_id = self.record_id
        self._runner.submit(lambda: self._store.delete(record_id), self._on_deleted, self._on_failed)

    def undo(self) -> None:
        record_id = self.record_id
        self._runner.submit(
            lambda: self._store.restore(record_id), self._on_restored, self._on_failed
        )


class RecordCommands(QObject):
    """Delete, undo the delete, duplicate: the writes and their words."""

    message = Signal(str)  # for the status bar (translated)
    deleted = Signal(object)  # RecordData: gone from the lists (a delete or a redo)
    made = Signal(object)  # RecordData: to list and open (restored, or a new copy)

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        editor: RecordEditor,
        undo_stack: QUndoStack,
        *,
        is_locked: Callable[[str], bool],
        untitled: Callable[[], str],
        undo_keys: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store, self._runner, self._editor = store, runner, editor
        self._undo_stack = undo_stack
        self._is_locked, self._untitled, self._undo_keys = is_locked, untitled, undo_keys

    def _failed(self, message: str) -> Callable[[Exception], None]:
        def report(exc: Exception) -> None:
            log_failure(message, exc)
            self.message.emit(self.tr("{what}: {error}").format(what=message, error=tr_error(exc)))

        return report

    def _display_title(self, record: RecordData) -> str:
        return record.title.strip() or self._untitled()

    # --- delete and undo -------------------------------------------------------

    def delete(self, target: Target | None) -> None:
        if target is None:
            self.message.emit(self.tr("Select a record to delete."))
            return
        record_id = target[0]
        if self._is_locked(record_id):
            self.message.emit(self.tr("This record is read-only: it cannot be deleted."))
            return
        if self._editor.current_id() == record_id:
            self._editor.flush()  # its last edit is queued before the delete
            self._editor.clear()
        self._runner.submit(
            lambda: self._store.delete(record_id),
            self._on_first_delete,
            self._failed(self.tr("Could not delete the record")),
        )

    def _on_first_delete(self, record: RecordData) -> None:
        title = self._display_title(record)
        command = DeleteRecordCommand(
            self._store,
            self._runner,
            record,
            self.tr("Delete “{title}”").format(title=_escape_mnemonic(title)),
            on_deleted=self._on_deleted,
            on_restored=self._on_restored,
            on_failed=self._failed(self.tr("Could not undo")),
        )
        self._undo_stack.push(command)
        self._on_deleted(record)

    def _on_deleted(self, record: RecordData) -> None:
        self.deleted.emit(record)
        self.message.emit(
            self.tr("Deleted “{title}”. Press {shortcut} to undo.").format(
                title=self._display_title(record), shortcut=self._undo_keys()
            )
        )

    def _on_restored(self, record: RecordData) -> None:
        self.made.emit(record)
        self.message.emit(
            self.tr("Restored “{title}”.").format(title=self._display_title(record))
        )

    # --- duplicate -------------------------------------------------------------

    def duplicate(self, target: Target | None) -> None:
        if target is None or target[1] != Kind.LESSON_PLAN.value:
            self.message.emit(self.tr("Select a lesson plan to duplicate."))
            return
        record_id = target[0]
        if self._editor.current_id() == record_id:
            self._editor.flush()  # the copy includes the last edit
        author, suffix = author_name(), self.tr(" (copy)")
        self._runner.submit(
            lambda: self._store.duplicate(record_id, author=author, title_suffix=suffix),
            self._on_duplicated,
            self._failed(self.tr("Could not duplicate the lesson plan")),
        )

    def _on_duplicated(self, record: RecordData) -> None:
        self.made.emit(record)
        self.message.emit(
            self.tr("Created “{title}”.").format(title=self._display_title(record))
        )


__all__ = ["DeleteRecordCommand", "RecordCommands"]
