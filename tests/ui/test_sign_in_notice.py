"""After the server ended a session because its refresh token was used
twice (a copy was in someone else's hands), the next sign-in tells the user,
once (docs/sync.md, "Sign-in and sessions"). Real widgets, the real server on
loopback (``live_server`` of tests/sync/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox, QPushButton

from app.protocol.sync import API_PREFIX
from app.ui.sync_dialogs import SignInDialog
from tests.sync.conftest import LiveServer
from tests.ui import test_sync_ui

make_env = test_sync_ui.make_env

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

WAIT_MS = test_sync_ui.WAIT_MS
NOTICE_TEXT = (
    "Since your last sign-in, your sign-in on one computer was used from two places at once, so the "
    "server signed it out to be safe. If you do not know why, change your password."
)


def reuse_a_spent_token(server: LiveServer, username: str) -> None:
    """What a thief replaying an old copy of a refresh token does."""
    auth = f"{server.url}{API_PREFIX}/auth"
    first = requests.post(f"{auth}/login", json={"username": username, "password": server.users[username]},
                          timeout=10).json()["refresh_token"]
    second = requests.post(f"{auth}/refresh", json={"refresh_token": first}, timeout=10).json()
    requests.post(f"{auth}/refresh", json={"refresh_token": second["refresh_token"]}, timeout=10)
    stolen = requests.post(f"{auth}/refresh", json={"refresh_token": first}, timeout=10)
    assert stolen.status_code == 401 and stolen.json()["error"]["code"] == "token_reused"


def notice_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.objectName() == "session_notice" and widget.isVisible():
            return widget
    return None


def sign_in_by_typing(qtbot: Any, dialog: SignInDialog, server: LiveServer, username: str) -> None:
    for name, text in (("server_url", server.url), ("username", username),
                       ("password", server.users[username])):
        field = dialog.findChild(QLineEdit, name)
        assert field is not None
        field.clear()
        qtbot.keyClicks(field, text)
    button = dialog.findChild(QPushButton, "sign_in_button")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.slow
def test_the_next_sign_in_tells_of_a_session_ended_for_safety(
    qtbot: Any, make_env: Any, live_server: LiveServer
) -> None:
    reuse_a_spent_token(live_server, "li")
    env = make_env()
    dialog = env.ui.show_sign_in()

    sign_in_by_typing(qtbot, dialog, live_server, "li")

    qtbot.waitUntil(lambda: notice_box() is not None, timeout=WAIT_MS)
    box = notice_box()
    assert box is not None
    assert box.text() == NOTICE_TEXT
    assert env.ui.sign_in_dialog is None or not env.ui.sign_in_dialog.isVisible()  # signed in
    ok = box.button(QMessageBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: notice_box() is None, timeout=WAIT_MS)

    # Told once: signing in again says nothing more.
    env.controller.sign_out()
    qtbot.waitUntil(lambda: env.ui.sign_in_action.isEnabled(), timeout=WAIT_MS)
    again = env.ui.show_sign_in()
    sign_in_by_typing(qtbot, again, live_server, "li")
    qtbot.waitUntil(lambda: env.ui.sign_in_dialog is None, timeout=WAIT_MS)
    assert notice_box() is None
