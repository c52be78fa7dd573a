"""The window's parts live apart (issue 12, item 4): the list page, the editor
pane, the record commands, the Sync menu beside its siblings, and one piece of
background machinery (workers, retry, status line) under sync and transfers."""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from app.models.store import Store
from app.ui.background_status import BackgroundStatus
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.pages.record_list import RecordListPage
from app.ui.sync_controller import SyncController
from app.ui.tasks import TaskRunner
from app.ui.transfers import TransferController

UI = Path(__file__).resolve().parents[2] / "app" / "ui"

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


@pytest.fixture
def window(qtbot: QtBot, store: Store, runner: TaskRunner) -> Iterator[MainWindow]:
    made = MainWindow(store, runner, Translations())
    made.show()
    qtbot.waitExposed(made)
    yield made
    made.close()
    made.deleteLater()
    QCoreApplication.processEvents()


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_window_is_a_shell_under_800_lines() -> None:
    lines = (UI / "main_window.py").read_text(encoding="utf-8").count("\n")
    assert lines < 800


def test_the_list_is_its_own_page_and_the_window_delegates_to_it(
        qtbot: QtBot, store: Store, window: MainWindow) -> None:
    store.create("lesson_plan", {"title": "认识分数"}, author="test")
    window.refresh_records()
    page = window.findChild(RecordListPage, "record_list")
    assert page is not None and window.record_list is page
    assert window.list_model() is page.list_model() and window.table() is page.table()
    qtbot.mouseClick(page.table().viewport(), Qt.MouseButton.LeftButton,
                     pos=page.table().visualRect(page.list_model().index(0, 0)).center())
    qtbot.waitUntil(lambda: window.editor.current_id() is not None)
    assert window.selected_id() == page.selected_id() == window.editor.current_id()


def test_sync_ui_lives_beside_its_siblings_and_the_dialogs_need_no_window() -> None:
    assert (UI / "sync_ui.py").exists()
    assert "app.ui.main_window.MainWindow" not in _imports(UI / "sync_dialogs.py")
    assert "app.ui.sync_ui.SyncUi" in _imports(UI / "application.py")


def test_transfers_share_the_background_machinery_instead_of_borrowing_private_names() -> None:
    assert issubclass(SyncController, BackgroundStatus)
    assert issubclass(TransferController, BackgroundStatus)
    borrowed = {name for name in _imports(UI / "transfers.py")
                if name.startswith("app.ui.sync_controller._")}
    assert not borrowed


class _Retrying(BackgroundStatus):
    def __init__(self) -> None:
        super().__init__()
        self.retries = 0

    def _retry_due(self) -> None:
        self.retries += 1


def test_the_status_line_is_said_once_and_the_retry_comes_with_its_time(qtbot: QtBot) -> None:
    status = _Retrying()
    said: list[tuple[str, str]] = []
    status.state_changed.connect(lambda text, tooltip: said.append((text, tooltip)))
    status._publish("Uploading…", "", if_changed=True)
    status._publish("Uploading…", "", if_changed=True)
    assert said == [("Uploading…", "")] and status.status_text == "Uploading…"
    assert status._retry_line() == ""
    before = dt.datetime.now().astimezone()
    status._schedule_retry(0)  # never sooner than a second
    assert status.retry_at is not None and status.retry_at >= before + dt.timedelta(seconds=1)
    assert status.retry_at.strftime("%H:%M:%S") in status._retry_line()
    qtbot.waitUntil(lambda: status.retries == 1, timeout=5000)
    assert status.retry_at is None
