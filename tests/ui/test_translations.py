"""Chinese first, English too: every string translated, switching at run time."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLabel, QListWidget, QMessageBox
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
    sync_state = window.findChild(QLabel, "sync_state")
    assert sync_state is not None and sync_state.text() == "Sync: not set up"

    translations.install("zh_CN")
    qtbot.waitUntil(lambda: sidebar.item(0).text().startswith("教案"))
    assert sidebar.item(1).text().startswith("培训记录")
    assert sync_state.text() == "同步：未设置"
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


# --- the glossary (docs/glossary.md) and Chinese punctuation ---------------------------

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
# ASCII punctuation touching a Chinese character. "." only before a non-letter
# ("数据概览.csv" is a file name); "(&F)" mnemonics and "(*.csv)" filters are Qt syntax.
_ASCII_BESIDE_HAN = re.compile(
    f"[{_HAN}][,:;?!()\"]|[,:;?!()\"][{_HAN}]|[{_HAN}]\\.(?![A-Za-z])|(?<![A-Za-z])\\.[{_HAN}]"
)
_QT_SYNTAX = re.compile(r"\(&\w\)|\((?:\*\.[^)]*|\{patterns\})\)")


def translations_by_message(ts: Path) -> list[tuple[str, str, str]]:
    root = ET.parse(ts).getroot()
    return [
        (ctx.findtext("name") or "", m.findtext("source") or "", m.findtext("translation") or "")
        for ctx in root.iter("context")
        for m in ctx.iter("message")
    ]


def glossary_terms() -> list[tuple[str, str, list[str]]]:
    """(English, zh_CN, rejected synonyms) from the glossary's table."""
    terms = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "---") and not cells[0].startswith("-"):
            rejected = [w.strip() for w in re.split("[,，]", cells[2]) if w.strip()]
            terms.append((cells[0], cells[1], rejected))
    return terms


def test_the_glossary_is_read() -> None:
    terms = {english: (zh, rejected) for english, zh, rejected in glossary_terms()}
    assert terms["approved"] == ("已通过", ["批准"])
    assert terms["duplicate (a record)"][0] == "创建副本"


def test_no_translation_uses_a_rejected_synonym() -> None:
    """批准 beside 已通过, 你 beside 您…: one word for each term everywhere."""
    found = [
        (word, context, source, translation)
        for context, source, translation in translations_by_message(i18n_tool.ts_path("zh_CN"))
        for _english, _zh, rejected in glossary_terms()
        for word in rejected
        if word in translation
    ]
    assert found == []


@pytest.mark.parametrize(
    ("context", "source", "expected"),
    [
        ("Choice", "Draft", "草稿"),
        ("Choice", "Submitted", "已提交"),
        ("Choice", "Approved", "已通过"),
        ("Choice", "Returned", "已退回"),
        ("Review", "Approved", "已通过"),
        ("DashboardModel", "Approved", "已通过"),
        ("ReviewPanel", "Approve", "通过"),
        ("MainWindow", "Du&plicate", "创建副本(&P)"),
        ("Kind", "Lesson plan", "教案"),
        ("Kind", "Training record", "培训记录"),
        ("Kind", "Exchange log", "交流记录"),
        ("RecordTableModel", "Author", "作者"),
        ("Choice", "Preschool", "学前"),
        ("Choice", "Senior 3", "高三"),
    ],
)
def test_glossary_terms_are_the_translations(context: str, source: str, expected: str) -> None:
    table = {(c, s): t for c, s, t in translations_by_message(i18n_tool.ts_path("zh_CN"))}
    assert table[(context, source)] == expected


def test_the_duplicate_action_is_never_called_copy() -> None:
    """复制 is Copy (Ctrl+C): the Duplicate action's messages say 创建副本."""
    for context, source, translation in translations_by_message(i18n_tool.ts_path("zh_CN")):
        if context == "MainWindow" and "uplicate" in source:
            assert "复制" not in translation and "创建副本" in translation, source


def test_chinese_punctuation_is_full_width() -> None:
    wrong = [
        (context, source, translation)
        for context, source, translation in translations_by_message(i18n_tool.ts_path("zh_CN"))
        if _ASCII_BESIDE_HAN.search(_QT_SYNTAX.sub("", translation))
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [("状态:", True), ("（无标题）", False), ("文件(&F)", False), ("CSV 文件 (*.csv)", False),
     ("数据概览.csv", False), ("已保存.", True), ("{kind} ({count})", False), ("待审阅 (3)", False),
     ("待审阅(3)", True), ("“{name}”", False), ('"标题"', True)],
)
def test_the_punctuation_rule_itself(text: str, bad: bool) -> None:
    assert bool(_ASCII_BESIDE_HAN.search(_QT_SYNTAX.sub("", text))) is bad


# --- Qt's own dialogs --------------------------------------------------------------------


def test_the_file_dialog_speaks_chinese(qtbot: QtBot, translations: Translations) -> None:
    """Qt's qtbase_zh_CN.qm lacks "&Look in:" and "Files of &type:" (Qt 6 gave
    them mnemonics); ours supplies them (app/ui/i18n.py)."""
    translations.install("zh_CN")
    dialog = QFileDialog(None, "", str(Path.home()), "CSV (*.csv)")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    qtbot.addWidget(dialog)
    labels = {label.objectName(): label.text() for label in dialog.findChildren(QLabel)}
    assert labels["lookInLabel"] == "查找范围(&L)："
    assert labels["fileTypeLabel"] == "文件类型(&T)："
    assert labels["fileNameLabel"].startswith("文件名")
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    assert buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"
    english = [text for text in labels.values() if re.search("[A-Za-z]{3,}", text.replace("&", ""))]
    assert english == []
