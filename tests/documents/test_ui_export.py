"""File → Export as Word / PDF / the list, and Ctrl+P, driven from the keyboard."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QMessageBox, QPushButton, QTableView

from app.models.fields import Kind
from app.models.store import Store
from app.ui.documents_ui import ExportDialog
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import InlineRunner, TaskRunner
from tests.documents.readback import docx_text, pdf_text
from tests.documents.samples import AUTHOR, SAMPLES
from tests.ui.conftest import _isolated_settings  # noqa: F401  (QSettings in a temp folder)

# The offscreen platform's notes about what it cannot do (the menu's keyboard grab, raise()).
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support")


@pytest.fixture
def window(qtbot: Any, store: Store) -> Iterator[MainWindow]:
    runner: TaskRunner = InlineRunner()
    for kind in (Kind.LESSON_PLAN, Kind.LESSON_PLAN):
        store.create(kind.value, SAMPLES[kind], author=AUTHOR)
    win = MainWindow(store, runner, Translations())
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    yield win
    win.close()
    win.deleteLater()
    QCoreApplication.processEvents()


@pytest.fixture
def save_to(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The save dialog answers with this folder's file; records what it proposed."""
    out = tmp_path / "out"
    out.mkdir()
    proposed: list[str] = []

    def answer(_parent: object, _title: str, default: str, _filter: str) -> tuple[str, str]:
        proposed.append(default)
        return str(out / Path(default).name), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    return out


def _select_first(qtbot: Any, window: MainWindow) -> None:
    table = window.findChild(QTableView, "records")
    assert table is not None
    rect = table.visualRect(table.model().index(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _file_menu(qtbot: Any, window: MainWindow) -> QMenu:
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _accept_options(qtbot: Any, window: MainWindow, *, zip_: bool = False) -> None:
    def shown() -> bool:
        found = window.findChild(ExportDialog)
        return found is not None and found.isVisible()

    qtbot.waitUntil(shown)
    dialog = window.findChild(ExportDialog)
    assert dialog is not None
    if zip_:
        qtbot.mouseClick(dialog.zipped, Qt.MouseButton.LeftButton)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)


def test_export_as_word_from_the_file_menu(qtbot: Any, window: MainWindow, save_to: Path) -> None:
    _select_first(qtbot, window)
    menu = _file_menu(qtbot, window)
    qtbot.keyClick(menu, Qt.Key.Key_E)
    _accept_options(qtbot, window)
    target = save_to / "认识分数_2026-09-01.docx"
    qtbot.waitUntil(target.exists, timeout=15_000)
    qtbot.waitUntil(lambda: "认识分数_2026-09-01.docx" in window.statusBar().currentMessage())
    assert "折纸认识二分之一" in docx_text(target)


def test_export_as_pdf_from_the_file_menu(qtbot: Any, window: MainWindow, save_to: Path) -> None:
    _select_first(qtbot, window)
    menu = _file_menu(qtbot, window)
    qtbot.keyClick(menu, Qt.Key.Key_D)
    _accept_options(qtbot, window)
    target = save_to / "认识分数_2026-09-01.pdf"
    qtbot.waitUntil(lambda: "认识分数_2026-09-01.pdf" in window.statusBar().currentMessage(),
                    timeout=15_000)
    assert "认识分数" in pdf_text(target)


def test_export_the_list_as_a_zip(qtbot: Any, window: MainWindow, save_to: Path) -> None:
    menu = _file_menu(qtbot, window)
    qtbot.keyClick(menu, Qt.Key.Key_L)
    _accept_options(qtbot, window, zip_=True)
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    word = box.findChild(QPushButton, "export_as_word")
    qtbot.mouseClick(word, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "2 " in window.statusBar().currentMessage(), timeout=15_000)
    archive = next(save_to.glob("*.zip"))
    assert sorted(zipfile.ZipFile(archive).namelist()) == [
        "认识分数_2026-09-01 (2).docx", "认识分数_2026-09-01.docx"]


def test_ctrl_p_opens_the_print_preview(qtbot: Any, window: MainWindow) -> None:
    _select_first(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    documents = window.documents
    qtbot.waitUntil(lambda: documents.preview is not None and documents.preview.isVisible())
    assert documents.preview is not None
    documents.preview.close()


def test_a_cancelled_export_writes_nothing(qtbot: Any, store: Store, tmp_path: Path) -> None:
    import threading

    from app.documents.model import ExportOptions, no_translation
    from app.documents.source import load_documents
    from app.ui.documents_ui import ExportCancelled, _Progress, write_documents

    record = store.create(Kind.LESSON_PLAN.value, SAMPLES[Kind.LESSON_PLAN], author=AUTHOR)
    docs = list(load_documents(store, [record.id], no_translation, ExportOptions()))
    cancel = threading.Event()
    cancel.set()  # the user pressed Cancel before the first record was laid out
    target = tmp_path / "out.docx"
    with pytest.raises(ExportCancelled):
        write_documents(docs, target, "docx", as_zip=False, progress=_Progress(), cancel=cancel)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fieldbook-")] == []
