"""The dialogs of sync: signing in and out, and the mass-delete question.

``SyncUi`` (app/ui/sync_ui.py) opens them. They are opened with ``open()``
(window-modal, answered through ``finished``), so the GUI thread never waits
inside them; network work happens on the controller's worker thread.
"""

from __future__ import annotations

import logging
import math

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import FieldbookError
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
from app.ui.sync_controller import LAST_SERVER, LAST_USERNAME, SyncController
from app.ui.sync_words import describe_waiting, no_keyring_text

log = logging.getLogger("fieldbook.ui")


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


ERROR_COLOUR = "#c62828"
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


__all__ = ["ERROR_COLOUR", "MassDeleteDialog", "SignInDialog", "SignOutBox", "sign_in_error_text"]
