"""The Sync menu of the window and the controller's face in it.

``SyncUi`` hooks a :class:`~app.ui.sync_controller.SyncController` to the
main window, as ``ReviewUi`` (review_ui.py) and ``AttachmentsUi``
(attachments_ui.py) do for their parts: the Sync menu and toolbar button,
the status line, the conflicts of the open record above the editor and
their count in the status bar, and the dialogs of sync_dialogs.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolButton

from app.errors import FieldbookError
from app.sync import replica
from app.ui import style
from app.ui.conflicts import ConflictPanel
from app.ui.main_window import MainWindow
from app.ui.refusals import RefusalsButton
from app.ui.sync_controller import Phase, SyncController
from app.ui.sync_dialogs import ERROR_COLOUR, MassDeleteDialog, SignInDialog, SignOutBox

log = logging.getLogger("fieldbook.ui")

SYNC_NOW_KEY = "F5"


class SyncUi(QObject):
    """The controller's face in the main window."""

    def __init__(self, window: MainWindow, controller: SyncController) -> None:
        super().__init__(window)
        self.setObjectName("sync_ui")
        self._window, self._controller = window, controller
        self._dialog: SignInDialog | None = None
        self._mass_delete: MassDeleteDialog | None = None
        self._sign_out_box: SignOutBox | None = None

        self.sync_now_action = self._action("action_sync_now", self.sync_now)
        self.sync_now_action.setShortcut(QKeySequence(SYNC_NOW_KEY))
        self.sync_now_action.setIcon(style.icon("sync"))
        self.sign_in_action = self._action("action_sign_in", self.show_sign_in)
        self.sign_out_action = self._action("action_sign_out", self.sign_out)
        self.menu = QMenu(window.menuBar())
        self.menu.setObjectName("sync_menu")
        self.menu.addAction(self.sync_now_action)
        self.menu.addSeparator()
        self.menu.addAction(self.sign_in_action)
        self.menu.addAction(self.sign_out_action)
        window.menuBar().addMenu(self.menu)
        window.toolbar().addAction(self.sync_now_action)

        self.conflicts = ConflictPanel(controller.store, controller.runner, window,
                                       before_write=window.editor.flush)
        window.add_editor_banner(self.conflicts)
        self.conflict_count = QToolButton(window.statusBar())
        self.conflict_count.setObjectName("sync_conflicts")
        self.conflict_count.setAutoRaise(True)
        self.conflict_count.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.conflict_count.hide()
        self.conflict_count.clicked.connect(lambda _checked=False: self.open_next_conflict())
        window.statusBar().addPermanentWidget(self.conflict_count)
        self.refusals = RefusalsButton(window, controller, colour=ERROR_COLOUR)

        controller.state_changed.connect(window.set_sync_state)
        controller.message.connect(window.show_message)
        controller.records_changed.connect(self._on_records_changed)
        controller.conflicts_changed.connect(self._on_conflicts_changed)
        controller.account_changed.connect(self._update_actions)
        controller.busy_changed.connect(self._on_busy_changed)
        controller.mass_delete_requested.connect(self._ask_mass_delete)
        window.editor.saved.connect(lambda _record: controller.note_local_change())
        window.editor.record_shown.connect(self.conflicts.show_record)
        self.conflicts.resolved.connect(self._on_conflict_resolved)
        self.conflicts.failed.connect(window.show_message)
        window.installEventFilter(self)

        self.retranslate()
        self.conflicts.show_record(window.editor.current_id())

    def _action(self, name: str, slot: Callable[[], object]) -> QAction:
        action = QAction(self._window)
        action.setObjectName(name)
        action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        return action

    # --- language ----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.LanguageChange:
            # After the window re-labelled itself (it resets the status line).
            QTimer.singleShot(0, self.retranslate)
        return False

    def retranslate(self) -> None:
        self.menu.setTitle(self.tr("S&ync"))
        self.sync_now_action.setText(self.tr("Sync &now"))
        self.sync_now_action.setToolTip(self.tr("Send your changes and receive others' now ({key})").format(
            key=self.sync_now_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)))
        self.sign_in_action.setText(self.tr("Sign &in…"))
        self.sign_out_action.setText(self.tr("Sign &out"))
        self._controller.retranslate()
        self._window.set_sync_state(self._controller.status_text, self._controller.status_tooltip)
        self._on_conflicts_changed(self._controller.conflict_count)
        self._update_actions()

    # --- actions ----------------------------------------------------------------------

    def _update_actions(self) -> None:
        controller = self._controller
        signed_in = controller.is_signed_in
        self.sign_in_action.setEnabled(not signed_in and controller.phase is not Phase.SIGNING_OUT)
        self.sign_out_action.setEnabled(signed_in)
        self.sync_now_action.setEnabled(controller.phase is not Phase.SIGNING_OUT)

    def _on_busy_changed(self, busy: bool) -> None:
        self._update_actions()
        box = self._mass_delete
        if not busy and box is not None:
            box.close()  # the sync that asked has ended (signed out, quitting)

    def sync_now(self) -> None:
        if self._controller.needs_sign_in:
            self.show_sign_in()
            return
        self._window.editor.flush()  # what is being typed goes along
        self._controller.sync_now()

    def show_sign_in(self) -> SignInDialog:
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.raise_()
            self._dialog.activateWindow()
            return self._dialog
        dialog = SignInDialog(self._controller, self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda _obj=None: self._forget_dialog(dialog))
        self._dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: SignInDialog) -> None:
        if self._dialog is dialog:
            self._dialog = None

    @property
    def sign_in_dialog(self) -> SignInDialog | None:
        return self._dialog

    def sign_out(self) -> None:
        if not self._controller.is_signed_in:
            return
        waiting = self._controller.pending_count()
        if waiting == 0:
            self._controller.sign_out()
            return
        box = SignOutBox(waiting, self._window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._after_sign_out_box(box))
        self._sign_out_box = box
        box.open()

    def _after_sign_out_box(self, box: SignOutBox) -> None:
        self._sign_out_box = None
        if box.confirmed():
            self._controller.sign_out()

    @property
    def sign_out_box(self) -> SignOutBox | None:
        return self._sign_out_box

    # --- the mass-delete question -------------------------------------------------------

    def _ask_mass_delete(self, count: int, total: int) -> None:
        box = MassDeleteDialog(count, total, self._window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._after_mass_delete(box))
        self._mass_delete = box
        box.open()

    def _after_mass_delete(self, box: MassDeleteDialog) -> None:
        self._mass_delete = None
        remove = box.removal_confirmed()
        log.warning("The user chose to %s the records", "remove" if remove else "keep")
        self._controller.answer_mass_delete(remove)

    @property
    def mass_delete_dialog(self) -> MassDeleteDialog | None:
        return self._mass_delete

    # --- conflicts and refreshed records ---------------------------------------------------

    def _on_records_changed(self) -> None:
        self._window.refresh_records()
        self.conflicts.refresh()

    def _on_conflicts_changed(self, count: int) -> None:
        self.conflict_count.setVisible(count > 0)
        self.conflict_count.setText(
            self.tr("1 conflict") if count == 1 else self.tr("{count} conflicts").format(count=count))
        self.conflict_count.setToolTip(self.tr(
            "The same field of a record was changed on two computers at the same time. "
            "Click to open the record and choose which value to keep."))
        self.conflicts.refresh()

    def _on_conflict_resolved(self, _record_id: str) -> None:
        self._window.refresh_records()
        self._controller.refresh_conflicts()
        self._controller.note_local_change()

    def open_next_conflict(self) -> None:
        try:
            conflicts = replica.open_conflicts(self._controller.store)
        except FieldbookError as exc:
            log.warning("Could not read the conflicts: %s", exc)
            return
        if not conflicts:
            return
        ids = list(dict.fromkeys(c.record_id for c in conflicts))
        current = self._window.editor.current_id()
        after = ids[(ids.index(current) + 1) % len(ids)] if current in ids else ids[0]
        self._window.open_record(after)


__all__ = ["SYNC_NOW_KEY", "SyncUi"]
