"""A teacher's first hour without a stumble (issue 11): the words the window
uses, grades from 学前 to 高三, pinyin search, the trainer's Author column and
the unread count, each driven through the real widgets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLineEdit, QMenu, QPushButton, QTableView, QToolButton

from app.models.store import ListQuery, Store
from app.ui.i18n import Translations
from app.ui.list_model import SearchResultsModel
from app.ui.review_ui import DASHBOARD_PAGE, QUEUE_PAGE
from app.ui.sync_controller import SyncController
from app.ui.sync_ui import SyncUi
from tests.ui.review_seed import (
    FELLOW_A,
    FELLOW_B,
    TRAINER,
    Env,
    MakeEnv,
    add_people,
    make_env,
    record_of,
    server_entry,
    sign_in_as,
)

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")
__all__ = ["make_env"]

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def chinese() -> Iterator[Translations]:
    installed = Translations()
    installed.install("zh_CN")
    yield installed
    installed.install("en")


def table(env: Env) -> QTableView:
    view = env.window.findChild(QTableView, "records")
    assert isinstance(view, QTableView)
    return view


def column_texts(view: QTableView, header: str) -> list[str]:
    model = view.model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    column = headers.index(header)
    return [model.index(row, column).data() for row in range(model.rowCount())]


# --- menus: every mnemonic unique, in both languages ----------------------------------


def mnemonic(text: str) -> str | None:
    """The letter after a single "&" ("D&uplicate" -> "u"; "&&" is a plain "&")."""
    plain = text.replace("&&", "")
    at = plain.find("&")
    return plain[at + 1].lower() if 0 <= at < len(plain) - 1 else None


def menu_clashes(actions: list[QAction], where: str) -> list[str]:
    seen: dict[str, str] = {}
    clashes = []
    for action in actions:
        if action.isSeparator() or not action.text():
            continue
        letter = mnemonic(action.text())
        if letter is None:
            clashes.append(f"{where}: {action.text()!r} has no mnemonic")
        elif letter in seen:
            clashes.append(f"{where}: {action.text()!r} and {seen[letter]!r} share &{letter}")
        else:
            seen[letter] = action.text()
        menu = action.menu()
        if isinstance(menu, QMenu):
            clashes += menu_clashes(menu.actions(), f"{where} > {action.text()}")
    return clashes


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_menu_mnemonics_are_unique(
    qtbot: Any, make_env: MakeEnv, store: Store, runner: Any, language: str
) -> None:
    env = make_env()
    controller = SyncController(store, runner, watch_network=False)  # adds the Sync menu
    SyncUi(env.window, controller)
    translations = Translations()
    try:
        translations.install(language)
        duplicate = env.window.findChild(QAction, "action_duplicate")
        assert duplicate is not None
        expected = {"en": "Du&plicate", "zh_CN": "创建副本(&P)"}[language]
        qtbot.waitUntil(lambda: duplicate.text() == expected)  # relabelled on LanguageChange
        bar = env.window.menuBar()
        assert len(bar.actions()) >= 3
        assert menu_clashes(bar.actions(), "menu bar") == []
    finally:
        translations.install("en")
        controller.shutdown(5)


# --- grades: 学前 to 高三 -----------------------------------------------------------------


def test_a_grade_is_picked_by_name_from_preschool_to_senior_three(
    qtbot: Any, make_env: MakeEnv, store: Store
) -> None:
    env = make_env()
    env.window.new_record()
    title = env.window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    title.setFocus()
    qtbot.keyClicks(title, "Counting to ten")
    grade = env.window.editor.field_widget("grade")
    assert isinstance(grade, QComboBox), "a grade is picked by its name, not typed as a number"
    assert [grade.itemText(i) for i in (1, 3, 10, 11, 13)] == [
        "Preschool", "Grade 2", "Grade 9", "Senior 1", "Senior 3",
    ]
    grade.setFocus()
    qtbot.keyClick(grade, Qt.Key.Key_Home)
    qtbot.keyClick(grade, Qt.Key.Key_Down)  # "—", then Preschool
    assert grade.currentText() == "Preschool"
    qtbot.waitUntil(lambda: store.count(ListQuery("lesson_plan", grade=0)) == 1)
    qtbot.keyClick(grade, Qt.Key.Key_End)
    assert grade.currentText() == "Senior 3"
    qtbot.waitUntil(lambda: store.count(ListQuery("lesson_plan", grade=12)) == 1)
    record = store.list_rows(ListQuery("lesson_plan"))[0]
    assert store.get(record.id).values["grade"] == 12
    qtbot.waitUntil(lambda: column_texts(table(env), "Grade") == ["Senior 3"])

    grades = env.window.findChild(QComboBox, "filter_grade")
    assert grades is not None
    assert grades.itemText(1) == "Preschool" and grades.itemText(grades.count() - 1) == "Senior 3"


def test_grades_read_in_chinese(make_env: MakeEnv, store: Store, chinese: Translations) -> None:
    store.create("lesson_plan", {"title": "认识颜色", "grade": 0}, author="王芳")
    store.create("lesson_plan", {"title": "函数", "grade": 10}, author="王芳")
    env = make_env()
    assert sorted(column_texts(table(env), "年级")) == ["学前", "高一"]
    grades = env.window.findChild(QComboBox, "filter_grade")
    assert grades is not None
    assert [grades.itemText(i) for i in range(grades.count())] == [
        "全部年级", "学前", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级",
        "八年级", "九年级", "高一", "高二", "高三",
    ]


# --- pinyin search --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["fenshu", "fen shu", "fs"])
def test_typing_pinyin_in_the_search_box_finds_the_chinese_title(
    qtbot: Any, make_env: MakeEnv, store: Store, typed: str
) -> None:
    store.create("lesson_plan", {"title": "认识分数"}, author="王芳")
    store.create("lesson_plan", {"title": "小数的加法"}, author="王芳")
    env = make_env()
    search = env.window.findChild(QLineEdit, "search")
    assert search is not None
    search.setFocus()
    qtbot.keyClicks(search, typed)
    view = table(env)
    qtbot.waitUntil(lambda: isinstance(view.model(), SearchResultsModel))
    qtbot.waitUntil(lambda: column_texts(view, "Title") == ["认识分数"])


# --- the trainer's lists and counts ------------------------------------------------------


def seed_trainer(store: Store) -> dict[str, str]:
    sign_in_as(store, TRAINER, "trainer", "李培训")
    add_people(store)
    bare = record_of(store, FELLOW_A, "lesson_plan", {"title": "认识分数"}, author="王芳")
    server_entry(store, bare.id, "submit", author_id=FELLOW_A, author="王芳", seq=1)
    other = record_of(store, FELLOW_B, "lesson_plan", {"title": "小数"}, author="张伟",
                      status="draft")
    return {"bare": bare.id, "other": other.id}


def test_a_new_submission_without_a_comment_is_no_new_review_comment(
    qtbot: Any, make_env: MakeEnv, store: Store
) -> None:
    """The queue tells the trainer of the submission; the comments button is for comments."""
    ids = seed_trainer(store)
    env = make_env()
    unread = env.window.findChild(QToolButton, "review_unread")
    assert unread is not None
    assert env.ui.unread().entries == 0 and not unread.isVisible()
    env.window.show_page(QUEUE_PAGE)
    assert env.ui.queue.model().rowCount() == 1

    server_entry(store, ids["bare"], "comment", author_id=FELLOW_A, author="王芳",
                 body="第二环节我不太确定", seq=2, at=dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    env.ui.refresh_unread()
    qtbot.waitUntil(unread.isVisible)
    assert unread.text() == "1 new review comment"


def test_the_trainer_sees_who_wrote_each_record(make_env: MakeEnv, store: Store) -> None:
    seed_trainer(store)
    env = make_env()
    assert sorted(column_texts(table(env), "Author")) == ["张伟", "王芳"]


def test_clicking_the_author_header_sorts_by_author(qtbot: Any, make_env: MakeEnv, store: Store) -> None:
    seed_trainer(store)
    record_of(store, FELLOW_A, "lesson_plan", {"title": "第三课"}, author="Anna")
    env = make_env()
    view = table(env)
    headers = [view.model().headerData(c, Qt.Orientation.Horizontal)
               for c in range(view.model().columnCount())]
    header = view.horizontalHeader()
    column = headers.index("Author")
    middle = QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2,
                    header.height() // 2)
    qtbot.mouseClick(header.viewport(), LEFT, pos=middle)
    qtbot.waitUntil(lambda: env.window.list_model().query.sort == "author")
    texts = column_texts(view, "Author")
    assert len(texts) == 3 and texts in (sorted(texts), sorted(texts, reverse=True))


def test_the_author_column_comes_with_a_reviewer_account(make_env: MakeEnv, store: Store) -> None:
    """A fellow's lists are their own records: no column. Signed in as a trainer: there."""
    sign_in_as(store, FELLOW_A, "fellow", "王芳")
    store.create("lesson_plan", {"title": "认识分数"}, author="王芳")
    env = make_env()
    model = table(env).model()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert "Author" not in headers
    sign_in_as(store, TRAINER, "trainer", "李培训")
    env.ui.refresh_account()  # what the sync controller's account_changed does
    assert column_texts(table(env), "Author") == ["王芳"]


def test_the_trainer_sees_the_author_column_in_chinese(
    make_env: MakeEnv, store: Store, chinese: Translations
) -> None:
    seed_trainer(store)
    env = make_env()
    assert sorted(column_texts(table(env), "作者")) == ["张伟", "王芳"]


# --- the dashboard's CSV ----------------------------------------------------------------


def test_the_csv_total_row_is_in_the_interface_language(
    make_env: MakeEnv, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    chinese: Translations,
) -> None:
    seed_trainer(store)
    env = make_env()
    env.window.show_page(DASHBOARD_PAGE)
    target = tmp_path / "数据概览.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    export = env.ui.dashboard.findChild(QPushButton, "dashboard_export")
    assert export is not None and export.isEnabled()
    export.click()
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "学员"
    assert rows[-1][0] == "合计", "not “Total” beside Chinese headers"


def test_a_conflict_on_the_grade_names_the_grades(qapp: Any) -> None:
    from app.ui.conflicts import format_value

    assert [format_value("lesson_plan", "grade", g) for g in (0, 3, 12)] == [
        "Preschool", "Grade 3", "Senior 3",
    ]
