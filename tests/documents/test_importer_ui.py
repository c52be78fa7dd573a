"""File → Import from Word… driven as a person does: the menu, the preview
dialog's buttons, the report per file; the real task runner reads and stores
off the GUI thread, on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QPushButton, QTableWidget

from app.models.fields import Kind
from app.models.store import ListQuery, Store
from app.ui.documents_import import ImportPreviewDialog
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import TaskRunner
from tests.documents.test_importer import english_headings, table_style

# The offscreen platform says these when a window or a menu pops up; not ours.
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints\(\)|raise\(\)|grabbing the keyboard)")


@pytest.fixture(autouse=True)
def _isolated_settings(qapp: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("qsettings")
    QCoreApplication.setOrganizationName("FieldbookTests")
    QCoreApplication.setApplicationName("FieldbookTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture
def window(qtbot: Any, store: Store) -> Iterator[MainWindow]:
    runner = TaskRunner()
    shown = MainWindow(store, runner, Translations())
    shown.show()
    qtbot.waitExposed(shown)
    yield shown
    runner.wait()
    shown.close()
    shown.deleteLater()
    QCoreApplication.processEvents()


def _choose_files(monkeypatch: pytest.MonkeyPatch, paths: list[Path]) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *_args, **_kwargs: ([str(p) for p in paths], ""))


def _open_import(qtbot: Any, window: MainWindow) -> ImportPreviewDialog:
    """File → Import from Word…, clicked in the menu bar."""
    bar = window.menuBar()
    menu = bar.findChildren(QMenu)[0]
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                     pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible)
    action = next(a for a in menu.actions() if a.objectName() == "action_import_word")
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: window.findChild(ImportPreviewDialog) is not None)
    dialog = window.findChild(ImportPreviewDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    return dialog


def _button(dialog: ImportPreviewDialog, name: str) -> QPushButton:
    button = dialog.findChild(QPushButton, name)
    assert button is not None
    return button


def _plans(store: Store) -> int:
    return store.count(ListQuery(kind=Kind.LESSON_PLAN.value))


def test_the_preview_shows_the_mapping_and_import_stores_good_files_only(
    qtbot: Any, window: MainWindow, store: Store, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table_style(tmp_path / "分数.docx")
    english_headings(tmp_path / "clock.docx")
    (tmp_path / "old.doc").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600)
    _choose_files(monkeypatch, [tmp_path / "分数.docx", tmp_path / "old.doc",
                                tmp_path / "clock.docx"])
    dialog = _open_import(qtbot, window)

    shown = dialog.field_values()
    assert shown["title"] == "认识分数" and "授课教师：张老师" in shown["notes"]
    assert "情境导入" in shown["procedure"]
    files = dialog.findChild(QTableWidget, "import_files")
    assert files is not None
    assert "old Word document" in dialog.file_status(1)
    assert _plans(store) == 0  # nothing stored by the preview

    qtbot.mouseClick(_button(dialog, "import_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.file_status(0) == "Imported")
    assert [dialog.file_status(row) for row in range(3)][2] == "Imported"
    assert "old Word document" in dialog.file_status(1)
    assert _plans(store) == 2
    titles = {store.get(row.id).title for row in store.list_rows(ListQuery(kind=Kind.LESSON_PLAN.value))}
    assert titles == {"认识分数", "Telling the time"}
    close = _button(dialog, "cancel_button")
    assert close.text() == "Close" and not _button(dialog, "import_button").isEnabled()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_cancel_stores_nothing(qtbot: Any, window: MainWindow, store: Store, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    table_style(tmp_path / "a.docx")
    _choose_files(monkeypatch, [tmp_path / "a.docx"])
    dialog = _open_import(qtbot, window)
    qtbot.mouseClick(_button(dialog, "cancel_button"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert _plans(store) == 0


def test_only_refused_files_leave_import_disabled(
    qtbot: Any, window: MainWindow, store: Store, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    _choose_files(monkeypatch, [tmp_path / "broken.docx"])
    dialog = _open_import(qtbot, window)
    assert not _button(dialog, "import_button").isEnabled()
    assert "damaged" in dialog.file_status(0)
    QApplication.processEvents()
    assert _plans(store) == 0
