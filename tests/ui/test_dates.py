"""Dates typed the ways teachers write them: the parser on its own, then the
form's date fields and the list's date filters driven with real keys."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QDateEdit, QLineEdit, QToolTip, QWidget
from pytestqt.qtbot import QtBot

from app.models.dates import parse_date
from app.models.store import Store
from app.models.validation import MAX_YEAR, MIN_YEAR
from app.ui.editors import RecordEditor
from app.ui.tasks import InlineRunner
from app.ui.widgets import DateFilterEdit

AUTHOR = "李老师"
JULY_20 = dt.date(2026, 7, 20)
FULL_WIDTH = str.maketrans("0123456789-/.", "０１２３４５６７８９－／．")

# The offscreen test platform says these when a window or tooltip is shown; nothing else is ignored.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)",
                                       r"This plugin does not support raise\(\)")


# --- the parser ----------------------------------------------------------------------


def _spellings(day: dt.date) -> list[str]:
    y, m, d = day.year, day.month, day.day
    plain = [f"{y}-{m:02}-{d:02}", f"{y}/{m}/{d}", f"{y}.{m}.{d}", f"{y}年{m}月{d}日",
             f"{y}年{m}月{d}", f"{y}{m:02}{d:02}", f" {y} / {m:02} / {d} "]
    return plain + [text.translate(FULL_WIDTH) for text in plain]


@given(st.dates(min_value=dt.date(MIN_YEAR, 1, 1), max_value=dt.date(MAX_YEAR, 12, 31)))
def test_every_way_of_writing_a_date_reads_as_that_date(day: dt.date) -> None:
    for text in _spellings(day):
        assert parse_date(text) == day, text


@given(st.text(max_size=20))
def test_any_text_is_a_date_or_a_value_error(text: str) -> None:
    try:
        day = parse_date(text)
    except ValueError:
        return
    assert isinstance(day, dt.date)
    assert re.sub(r"\D", "", text.translate({ord(c): None for c in " 　"})) != ""


@pytest.mark.parametrize("text", ["", "abc", "2026-07", "2026-02-30", "2026-13-01", "26-7-20",
                                  "2026-07-20x", "2026--07-20", "2026年7月", "202607201",
                                  "٢٠٢٦-٠٧-٢٠", "2026-7-20 12:00"])
def test_what_is_not_a_date_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


# --- the form's dates -------------------------------------------------------------------


@pytest.fixture
def editor(qtbot: QtBot, store: Store, runner: InlineRunner) -> RecordEditor:
    shown = RecordEditor(store, runner, lambda: AUTHOR)
    qtbot.addWidget(shown)
    shown.resize(900, 700)
    shown.show()
    qtbot.waitExposed(shown)
    shown.activateWindow()
    qtbot.waitUntil(shown.isActiveWindow)
    return shown


def type_text(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """ASCII as key presses, Chinese as a pinyin input method commits it."""
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        if run.isascii():
            qtbot.keyClicks(widget, run)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(run)
            QCoreApplication.sendEvent(widget, event)


def click_into(qtbot: QtBot, edit: QDateEdit) -> None:
    """Click the text of a date (not its calendar button), as a person does."""
    line = edit.lineEdit()
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton, pos=line.rect().center())
    qtbot.waitUntil(lambda: line.hasSelectedText() or edit.text() == "—")


def _date_field(editor: RecordEditor, name: str) -> QDateEdit:
    widget = editor.field_widget(name)
    assert isinstance(widget, QDateEdit)
    return widget


@pytest.mark.parametrize("typed", ["2026-07-20", "2026/7/20", "2026.7.20", "2026年7月20日",
                                   "20260720"])
def test_a_date_typed_into_the_form_is_stored_as_typed(
        qtbot: QtBot, editor: RecordEditor, store: Store, typed: str) -> None:
    editor.new_record("lesson_plan")
    type_text(qtbot, editor.field_widget("title"), "认识分数")
    planned = _date_field(editor, "planned_date")
    click_into(qtbot, planned)
    type_text(qtbot, planned, typed)
    qtbot.keyClick(planned, Qt.Key.Key_Tab)
    assert planned.text() == "2026-07-20"
    editor.flush()
    record_id = editor.current_id()
    assert record_id is not None
    assert store.get(record_id).values["planned_date"] == JULY_20


def test_a_date_typed_over_a_stored_one_replaces_it(qtbot: QtBot, editor: RecordEditor,
                                                    store: Store) -> None:
    created = store.create("training", {"title": "新课标培训", "start_date": dt.date(2025, 3, 1)},
                           author=AUTHOR)
    editor.load(created.id)
    start = _date_field(editor, "start_date")
    click_into(qtbot, start)
    type_text(qtbot, start, "2026/7/20")
    editor.flush()  # Ctrl+S while the cursor is still in the date
    assert store.get(created.id).values["start_date"] == JULY_20


def test_text_that_is_no_date_is_shown_with_a_message_and_not_stored(
        qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "planned_date": JULY_20},
                           author=AUTHOR)
    editor.load(created.id)
    planned = _date_field(editor, "planned_date")
    click_into(qtbot, planned)
    type_text(qtbot, planned, "7月底")
    qtbot.keyClick(planned, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not planned
    assert planned.text() == "7月底"  # left on screen, not silently put back
    assert editor.problem_text("planned_date") != ""
    editor.flush()
    assert store.get(created.id).values["planned_date"] == JULY_20
    assert editor.save_state() == "invalid"

    click_into(qtbot, planned)
    type_text(qtbot, planned, "2026年7月31日")
    qtbot.keyClick(planned, Qt.Key.Key_Return)
    editor.flush()
    assert store.get(created.id).values["planned_date"] == dt.date(2026, 7, 31)
    assert editor.problem_text("planned_date") == ""


def test_erasing_a_date_clears_it(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "planned_date": JULY_20},
                           author=AUTHOR)
    editor.load(created.id)
    planned = _date_field(editor, "planned_date")
    click_into(qtbot, planned)
    qtbot.keyClick(planned, Qt.Key.Key_Backspace)
    qtbot.keyClick(planned, Qt.Key.Key_Tab)
    assert planned.text() == "—"
    editor.flush()
    assert store.get(created.id).values["planned_date"] is None


# --- the list's date filters --------------------------------------------------------------


@pytest.fixture
def date_filter(qtbot: QtBot) -> Iterator[tuple[DateFilterEdit, QLineEdit]]:
    page = QWidget()
    qtbot.addWidget(page)
    edit, other = DateFilterEdit(page), QLineEdit(page)
    edit.move(0, 0)
    other.move(0, 60)
    page.resize(300, 120)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    other.setFocus()  # the filter is clicked into from elsewhere
    yield edit, other
    page.close()


def test_a_date_typed_into_a_filter_applies_once(qtbot: QtBot,
                                                 date_filter: tuple[DateFilterEdit, QLineEdit]
                                                 ) -> None:
    edit, _ = date_filter
    applied: list[object] = []
    edit.dateChanged.connect(lambda _date: applied.append(edit.value()))
    click_into(qtbot, edit)
    type_text(qtbot, edit, "2026-07-20")
    assert applied == [] and edit.value() is None  # nothing applied while typing
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert applied == [JULY_20] and edit.text() == "2026-07-20"


def test_a_filter_refuses_text_that_is_no_date_with_a_message(
        qtbot: QtBot, date_filter: tuple[DateFilterEdit, QLineEdit]) -> None:
    edit, other = date_filter
    edit.setDate(JULY_20)
    applied: list[object] = []
    edit.dateChanged.connect(applied.append)
    click_into(qtbot, edit)
    type_text(qtbot, edit, "2026-7-40")
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert applied == [] and edit.value() == JULY_20 and edit.text() == "2026-07-20"
    qtbot.waitUntil(QToolTip.isVisible)
    assert "2026-7-40" in QToolTip.text() and "2026-07-20" in QToolTip.text()
