"""Signing in and out, the mass-delete question, and the Sync menu of the window.

``SyncUi`` hooks a :class:`~app.ui.sync_controller.SyncController` to the
main window: the Sync menu and toolbar button, the status line, the
conflicts of the open record above the editor and their count in the status
bar, the dialogs. Dialogs are opened with ``open()`` (window-modal, answered
through ``finished``), so the GUI thread never waits inside them; network
work happens on the controller's worker thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError
from app.sync import replica
from app.sync.engine import Account
from app.sync.errors import (
    AccountMismatch,
    BadResponse,
    BadServerAddress,
    ClientTooOld,
    InvalidCredentials,
    Offline,
    RequestRejected,
    SecureConnectionFailed,
    ServerUnavailable,
    Throttled,
)
from app.ui import settings, style
from app.ui.conflicts import ConflictPanel
from app.ui.main_window import MainWindow
from app.ui.refusals import RefusalsButton
from app.ui.sync_controller import (
    LAST_SERVER,
    LAST_USERNAME,
    Phase,
    SyncController,
    describe_waiting,
    no_keyring_text,
)

log = logging.getLogger("fieldbook.ui")


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)



ERROR_COLOUR = "#c62828"
SYNC_NOW_KEY = "F5"
SERVER_PLACEHOLDER = "https://fieldbook.example.org"
SIGN_IN_FIELD_EM = 28  # the sign-in fields' least width, in widths of "M"


class SignInDialog(QDialog):
    """Server address, user name and password; signs in off the GUI thread."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sign_in_dialog")
        self.setMinimumWidth(440)  # room for a whole server address
        self._controller = controller
        self._busy = False
        self._last_error: Exception | None = None

        self._server = QLineEdit(self)
        self._server.setObjectName("server_url")
        self._server.setPlaceholderText(SERVER_PLACEHOLDER)
        self._username = QLineEdit(self)
        self._username.setObjectName("username")
        self._password = QLineEdit(self)
        self._password.setObjectName("password")
        self._password.setEchoMode(QLineEdit.EchoMode.Password)
        for field in (self._server, self._username, self._password):
            # Wide enough for a whole server address, in the font's own measure.
            field.setMinimumWidth(field.fontMetrics().horizontalAdvance("M") * SIGN_IN_FIELD_EM)
        self._server_label = QLabel(self)
        self._server_label.setBuddy(self._server)
        self._username_label = QLabel(self)
        self._username_label.setBuddy(self._username)
        self._password_label = QLabel(self)
        self._password_label.setBuddy(self._password)

        self._note = QLabel(self)
        self._note.setObjectName("keyring_note")
        self._note.setWordWrap(True)
        self._error = QLabel(self)
        self._error.setObjectName("sign_in_error")
        self._error.setWordWrap(True)
        self._error.setTextFormat(Qt.TextFormat.PlainText)
        self._error.setStyleSheet(f"color: {ERROR_COLOUR};")
        self._error.hide()
        self._progress = QProgressBar(self)
        self._progress.setObjectName("sign_in_busy")
        self._progress.setRange(0, 0)  # busy, no percentage
        self._progress.setTextVisible(False)
        self._progress.hide()

        self._buttons = QDialogButtonBox(self)
        self._sign_in = QPushButton(self)
        self._sign_in.setObjectName("sign_in_button")
        self._sign_in.setDefault(True)
        style.mark_primary(self._sign_in)
        self._buttons.addButton(self._sign_in, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self._sign_in.clicked.connect(lambda _checked=False: self.sign_in())
        self._buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(self._server_label, self._server)
        form.addRow(self._username_label, self._username)
        form.addRow(self._password_label, self._password)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._note)
        layout.addWidget(self._error)
        layout.addWidget(self._progress)
        layout.addWidget(self._buttons)

        meta = controller.account()
        self._server.setText(meta.server_url or settings.get(LAST_SERVER))
        self._username.setText(meta.username or settings.get(LAST_USERNAME))
        for field in (self._server, self._username, self._password):
            if not field.text():
                field.setFocus(Qt.FocusReason.OtherFocusReason)
                break

        controller.signed_in.connect(self._on_signed_in)
        controller.sign_in_failed.connect(self._on_failed)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Sign in to sync"))
        self._server_label.setText(self.tr("&Server address:"))
        self._username_label.setText(self.tr("&User name:"))
        self._password_label.setText(self.tr("&Password:"))
        self._sign_in.setText(self.tr("Sign in"))
        remembers = self._controller.remembers_sign_in()
        self._note.setText(no_keyring_text() if remembers is False else "")
        self._note.setToolTip(self._controller.keyring_problem())
        self._note.setVisible(remembers is False)
        if self._last_error is not None:
            self._error.setText(sign_in_error_text(self._last_error))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- for tests -----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy

    def error_text(self) -> str:
        return self._error.text() if not self._error.isHidden() else ""

    def fill(self, server_url: str, username: str, password: str) -> None:
        self._server.setText(server_url)
        self._username.setText(username)
        self._password.setText(password)

    # --- signing in ------------------------------------------------------------------

    def sign_in(self) -> None:
        if self._busy:
            return
        server, username = self._server.text().strip(), self._username.text().strip()
        password = self._password.text()
        if not server or not username or not password:
            self._show_error(self.tr("Enter the server address, your user name and your password."))
            return
        self._set_busy(True)
        self._error.hide()
        self._controller.sign_in(server, username, password)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._progress.setVisible(busy)
        for widget in (self._server, self._username, self._password, self._sign_in):
            widget.setEnabled(not busy)

    def _show_error(self, text: str) -> None:
        self._error.setText(text)
        self._error.show()

    def _on_signed_in(self, _account: Account) -> None:
        if not self._busy:
            return
        self._set_busy(False)
        self._password.clear()
        client = self._controller.api_client()
        notice = client.take_sign_in_notice() if client is not None else None
        self.accept()
        if notice is not None:
            SessionNoticeBox(self.parentWidget()).open()

    def _on_failed(self, exc: Exception) -> None:
        if not self._busy:
            return
        self._set_busy(False)
        self._last_error = exc
        self._show_error(sign_in_error_text(exc))
        target = self._server if isinstance(exc, BadServerAddress | Offline | BadResponse) else self._password
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        target.selectAll()

    def reject(self) -> None:
        # A sign-in on its way finishes by itself; the status line then tells.
        self._set_busy(False)
        super().reject()


def sign_in_error_text(exc: BaseException) -> str:
    """Why signing in failed, in words the teacher can act on."""
    if isinstance(exc, InvalidCredentials):
        return translate("SignIn", "The user name or password is not correct.")
    if isinstance(exc, Throttled):
        if exc.retry_after:
            return translate("SignIn", "Too many sign-in attempts. "
                                       "Please wait {seconds} seconds and try again.").format(
                seconds=math.ceil(exc.retry_after))
        return translate("SignIn", "Too many sign-in attempts. Please wait a few minutes and try again.")
    if isinstance(exc, ClientTooOld):
        return translate("SignIn", "This version of Fieldbook is too old for the server. "
                                   "Please update Fieldbook.")
    if isinstance(exc, BadServerAddress):
        return translate("SignIn", "The server address is not valid. It should look like {example}.").format(
            example=SERVER_PLACEHOLDER)
    if isinstance(exc, SecureConnectionFailed):
        return translate("SignIn", "Could not open a secure connection to the server. "
                                   "Check that the computer's date and time are correct.")
    if isinstance(exc, BadResponse):
        return translate("SignIn", "This address does not answer like a Fieldbook server. "
                                   "Check the address.")
    if isinstance(exc, Offline):
        return translate("SignIn", "The server cannot be reached. "
                                   "Check the address and the internet connection.")
    if isinstance(exc, ServerUnavailable):
        return translate("SignIn", "The server is not available right now. Please try again later.")
    if isinstance(exc, AccountMismatch):
        return translate("SignIn", "The records on this computer belong to {user} on {server}. "
                                   "Sign in with that account.").format(
            user=exc.expected, server=exc.server_url)
    if isinstance(exc, RequestRejected):
        return translate("SignIn", "The server refused the sign-in: {reason}").format(reason=exc.message)
    if isinstance(exc, FieldbookError):
        return translate("SignIn", "Sign-in failed: {reason}").format(reason=exc)
    return translate("SignIn", "Sign-in failed because of an unexpected error. "
                               "The details are in Fieldbook's log file.")


class SessionNoticeBox(QMessageBox):
    """Told once, after signing in, when the server had ended one of the
    user's sign-ins because its token was used from two places (a copy of it
    may be in someone else's hands). docs/sync.md, "Sign-in and sessions"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("session_notice")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Signed out for safety"))
        self.setText(self.tr(
            "Since your last sign-in, your sign-in on one computer was used from two places at "
            "once, so the server signed it out to be safe. If you do not know why, change your "
            "password."))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class MassDeleteDialog(QMessageBox):
    """Asks before a sync removes most of the local records. Default: keep them."""

    def __init__(self, count: int, total: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mass_delete_dialog")
        self.setIcon(QMessageBox.Icon.Warning)
        self.count, self.total = count, total
        self.remove_button = self.addButton("", QMessageBox.ButtonRole.DestructiveRole)
        self.remove_button.setObjectName("remove_records")
        self.keep_button = self.addButton("", QMessageBox.ButtonRole.RejectRole)
        self.keep_button.setObjectName("keep_records")
        self.setDefaultButton(self.keep_button)
        self.setEscapeButton(self.keep_button)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Remove records?"))
        self.setText(self.tr(
            "The server would remove {count} of your {total} records. This can happen if the server "
            "was reset or you connected to the wrong server. Remove them?"
        ).format(count=self.count, total=self.total))
        self.remove_button.setText(self.tr("Remove them"))
        self.keep_button.setText(self.tr("Don't remove"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def removal_confirmed(self) -> bool:
        return self.clickedButton() is self.remove_button


class SignOutBox(QMessageBox):
    """Asks before signing out while changes still wait to be sent."""

    def __init__(self, waiting: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sign_out_dialog")
        self.setIcon(QMessageBox.Icon.Question)
        self.waiting = waiting
        self.sign_out_button = self.addButton("", QMessageBox.ButtonRole.AcceptRole)
        self.sign_out_button.setObjectName("confirm_sign_out")
        cancel = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(cancel)
        self.setEscapeButton(cancel)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Sign out?"))
        self.setText(self.tr(
            "{waiting} to be sent to the server. They stay on this computer and are sent when you sign "
            "in again. Sign out anyway?"
        ).format(waiting=describe_waiting(self.waiting)))
        self.sign_out_button.setText(self.tr("Sign out"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def confirmed(self) -> bool:
        return self.clickedButton() is self.sign_out_button


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


__all__ = ["MassDeleteDialog", "SignInDialog", "SignOutBox", "SyncUi", "sign_in_error_text"]
