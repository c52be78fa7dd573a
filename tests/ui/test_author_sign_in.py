"""Who wrote it: the person, not the OS account. Records made before sign-in
take the account's display name at sign-in, and Preferences shows it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton

from app.models.store import Store
from app.sync import replica
from app.ui import settings
from app.ui.i18n import Translations
from app.ui.settings_dialog import SettingsDialog, author_name
from app.ui.sync_dialogs import SignInDialog
from tests.sync.conftest import LiveServer
from tests.ui.test_sync_ui import (
    WAIT_MS,
    MakeEnv,
    make_env,
    type_title,
    wait_synced,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")
__all__ = ["make_env"]


@pytest.mark.slow
def test_records_written_before_sign_in_take_the_account_name(
    qtbot: Any, make_env: MakeEnv, live_server: LiveServer, store: Store
) -> None:
    settings.put(settings.AUTHOR_NAME, "小李")  # typed on the welcome page at first start
    env = make_env()
    env.window.new_record()
    type_title(qtbot, env, "Counting to ten")
    env.window.editor.flush()
    qtbot.waitUntil(lambda: store.counts().get("lesson_plan", 0) == 1, timeout=WAIT_MS)
    [before] = [store.get(r.id) for r in store.search("Counting")]
    assert before.author == "小李", "the person's name, not the OS login"

    at_sign_in: dict[str, str] = {}
    env.controller.signed_in.connect(lambda _account: at_sign_in.update(
        author=store.get(before.id).author, preference=settings.get(settings.AUTHOR_NAME)))
    env.ui.sync_now_action.trigger()  # not signed in: asks to sign in
    dialog = env.ui.sign_in_dialog
    assert isinstance(dialog, SignInDialog)
    dialog.fill(live_server.url, "li", live_server.users["li"])
    button = dialog.findChild(QPushButton, "sign_in_button")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(at_sign_in), timeout=WAIT_MS)
    # Signed at sign-in, before the first sync brought anything back.
    assert at_sign_in == {"author": "li 老师", "preference": "li 老师"}
    wait_synced(qtbot, env)
    assert store.get(before.id).author == "li 老师"

    preferences = SettingsDialog(Translations())
    qtbot.addWidget(preferences)
    name = preferences.findChild(QLineEdit, "author_name")
    assert name is not None and name.text() == "li 老师"



def test_signed_in_preferences_show_the_account_name_not_the_os_login(
    qtbot: Any, make_env: MakeEnv, store: Store
) -> None:
    """An older Fieldbook saved the OS login ("root") as the name; signed in,
    the account's display name is what records and Preferences carry."""
    settings.put(settings.AUTHOR_NAME, "root")
    replica.set_account(store, server_url="https://fieldbook.test", username="li", user_id=1,
                        role="fellow", display_name="李老师")
    make_env(start=False)
    preferences = SettingsDialog(Translations())
    qtbot.addWidget(preferences)
    name = preferences.findChild(QLineEdit, "author_name")
    assert name is not None and name.text() == "李老师"
    assert author_name() == "李老师"
