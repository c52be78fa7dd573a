"""File → Export sync parcel… / Deliver a parcel… / Import answer parcel…,
clicked as a person does, against a real server on loopback: the fellow's
laptop never connects after signing in, a colleague's laptop delivers, and
the status bar says "Synced by parcel at …". A damaged file is refused in
words and changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from app.sync import parcels, replica
from app.sync.client import ApiClient
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.parcels_ui import ParcelsUi
from app.ui.sync_controller import SyncController
from app.ui.tasks import TaskRunner
from tests.sync.conftest import Laptop, LiveServer

pytestmark = [pytest.mark.slow,
              pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")]


class Window:
    def __init__(self, machine: Laptop, runner: TaskRunner, courier: ApiClient | None) -> None:
        self.window = MainWindow(machine.store, runner, Translations())
        self.sync = SyncController(machine.store, runner)
        self.ui = ParcelsUi(self.window, machine.store, runner, api_client=lambda: courier,
                            menu=self.window.findChild(QMenu, "menu_file"))
        self.ui.message.connect(self.window.show_message)
        self.ui.imported.connect(lambda _report: self.sync.parcel_imported())
        self.messages: list[str] = []
        self.ui.message.connect(self.messages.append)
        self.window.show()

    def close(self) -> None:
        self.sync.shutdown()
        self.window.close()
        self.window.deleteLater()
        QCoreApplication.processEvents()


@pytest.fixture
def opened(qtbot: QtBot, runner: TaskRunner) -> Iterator[Callable[[Laptop, ApiClient | None], Window]]:
    made: list[Window] = []

    def make(machine: Laptop, courier: ApiClient | None = None) -> Window:
        made.append(Window(machine, runner, courier))
        qtbot.waitExposed(made[-1].window)
        return made[-1]

    yield make
    for window in made:
        window.close()


def choose_file(monkeypatch: pytest.MonkeyPatch, method: str, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, method, lambda *_args, **_kwargs: (str(path), ""))


def trigger_from_file_menu(window: Window, name: str) -> None:
    menu = window.window.findChild(QMenu, "menu_file")
    assert menu is not None
    [action] = [a for a in menu.actions() if a.objectName() == name]
    assert action.isEnabled() and action.text()
    action.trigger()


def test_a_parcel_round_trip_from_the_file_menu(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[[Laptop, ApiClient | None], Window], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fellow = laptop("li")
    made = [fellow.store.create("lesson_plan", {"title": f"第{i}课"}, author="李").id for i in range(3)]
    village = opened(fellow, None)
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.No)

    stick = tmp_path / "stick" / "li.fbparcel"
    stick.parent.mkdir()
    choose_file(monkeypatch, "getSaveFileName", stick)
    trigger_from_file_menu(village, "action_export_parcel")
    qtbot.waitUntil(lambda: stick.exists())
    assert "3" in village.messages[-1] and stick.name in village.messages[-1]

    courier = ApiClient(live_server.url)
    try:
        town = opened(laptop("zhao"), courier)
        choose_file(monkeypatch, "getOpenFileName", stick)
        trigger_from_file_menu(town, "action_deliver_parcel")
        answer = parcels.answer_path_for(stick)
        qtbot.waitUntil(lambda: answer.exists() and "Delivered" in town.messages[-1], timeout=60_000)
    finally:
        courier.close()

    choose_file(monkeypatch, "getOpenFileName", answer)
    trigger_from_file_menu(village, "action_import_parcel")
    qtbot.waitUntil(lambda: replica.pending_count(fellow.store) == 0)
    assert "Synced by parcel" in village.messages[-1]
    status_text = village.sync._describe()[0]
    assert status_text.startswith("Synced by parcel")
    assert set(made) <= set(fellow.snapshot())


def test_a_damaged_answer_is_refused_in_words_and_changes_nothing(
        qtbot: QtBot, live_server: LiveServer, laptop: Callable[..., Laptop],
        opened: Callable[[Laptop, ApiClient | None], Window], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fellow = laptop("li")
    fellow.store.create("lesson_plan", {"title": "认识分数"}, author="李")
    village = opened(fellow, None)
    junk = tmp_path / "answer.fbparcel"
    junk.write_bytes(b"\x89FBPARC\n" + bytes(200))
    before: Any = fellow.snapshot(), replica.pending_count(fellow.store)
    choose_file(monkeypatch, "getOpenFileName", junk)
    trigger_from_file_menu(village, "action_import_parcel")
    qtbot.waitUntil(lambda: bool(village.messages) and "Could not import" in village.messages[-1])
    assert "Importing" not in village.messages[-1]
    assert (fellow.snapshot(), replica.pending_count(fellow.store)) == before

    trigger_from_file_menu(village, "action_deliver_parcel")  # no sign-in on this laptop's session
    assert "Sign in" in village.messages[-1]
