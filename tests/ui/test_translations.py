"""Chinese first, English too: every string translated, switching at run time."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QListWidget, QMessageBox
from pytestqt.qtbot import QtBot

from app.models.store import Store
from app.ui import i18n_tool
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.tasks import TaskRunner


def messages(ts: Path) -> set[tuple[str, str]]:
    root = ET.parse(ts).getroot()
    return {
        (ctx.findtext("name") or "", m.findtext("source") or "")
        for ctx in root.iter("context")
        for m in ctx.iter("message")
    }


def test_every_message_has_a_chinese_translation() -> None:
    assert i18n_tool.unfinished(i18n_tool.ts_path("zh_CN")) == []


def test_the_ts_source_holds_every_string_in_the_code(tmp_path: Path) -> None:
    committed = i18n_tool.ts_path("zh_CN")
    fresh = tmp_path / committed.name
    shutil.copy(committed, fresh)
    i18n_tool.update(fresh)
    new = messages(fresh) - messages(committed)
    assert not new, f"run `make translations` and translate: {sorted(new)}"
    assert i18n_tool.unfinished(fresh) == []


def test_the_compiled_translation_is_up_to_date(tmp_path: Path) -> None:
    compiled = tmp_path / "fieldbook_zh_CN.qm"
    i18n_tool.compile_ts(i18n_tool.ts_path("zh_CN"), compiled)
    assert compiled.read_bytes() == i18n_tool.qm_path("zh_CN").read_bytes(), (
        "run `make translations`"
    )


@pytest.fixture
def translations() -> object:
    installed = Translations()
    yield installed
    installed.install("en")


def test_switching_language_relabels_the_window(
    qtbot: QtBot, store: Store, runner: TaskRunner, translations: Translations
) -> None:
    store.create("lesson_plan", {"objectives": "还没有标题"}, author="a")
    translations.install("en")
    window = MainWindow(store, runner, translations)
    qtbot.addWidget(window)
    window.show()
    sidebar = window.findChild(QListWidget, "sidebar")
    assert sidebar is not None
    assert sidebar.item(0).text().startswith("Lesson plans")
    assert window.findChild(QLabel, "sync_state").text() == "Sync: not set up"

    translations.install("zh_CN")
    qtbot.waitUntil(lambda: sidebar.item(0).text().startswith("教案"))
    assert sidebar.item(1).text().startswith("培训记录")
    assert window.findChild(QLabel, "sync_state").text() == "同步：未设置"
    assert window.menuBar().actions()[0].text() == "文件(&F)"
    assert window.list_model().data(window.list_model().index(0, 0)) == "（无标题）"
    window.editor.new_record("lesson_plan")
    caption = window.editor.findChild(QLabel, "caption_title")
    assert caption is not None and "标题" in caption.text()

    translations.install("en")
    qtbot.waitUntil(lambda: sidebar.item(0).text().startswith("Lesson plans"))
    assert "Title" in caption.text()


def test_qt_own_dialog_strings_are_translated(qapp: object, translations: Translations) -> None:
    translations.install("zh_CN")
    box = QMessageBox()
    box.setStandardButtons(QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel)
    assert box.button(QMessageBox.StandardButton.Cancel).text() == "取消"


def test_system_language_is_followed(qapp: object, translations: Translations,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QLocale

    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("zh_CN")))
    assert translations.install("system") == "zh_CN"
    monkeypatch.setattr(QLocale, "system", staticmethod(lambda: QLocale("en_US")))
    assert translations.install("system") == "en"
