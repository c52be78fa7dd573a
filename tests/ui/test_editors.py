"""The record editor on a real store: typing into real widgets, autosave,
validation beside the fields, failures that keep the text, and the procedure table."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import (
    QCoreApplication,
    QDate,
    QEvent,
    QPoint,
    QPointF,
    Qt,
    QTimer,
    QTranslator,
)
from PySide6.QtGui import QAction, QInputMethodEvent, QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.errors import DiskFullError, StoreBusyError
from app.models.fields import KINDS, LONG_TEXT_MAX, TITLE_MAX, FieldType, kind_spec
from app.models.store import ListQuery, Store
from app.ui.editors import AUTOSAVE_DELAY_MS, AUTOSAVE_MAX_DELAY_MS, RecordEditor
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.steps_widget import StepsWidget
from app.ui.tasks import InlineRunner, TaskRunner
from tests.ui.chooser import choose_blank

AUTHOR = "李老师"

# The offscreen platform says this whenever a top-level widget is shown; nothing else is ignored.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


# --- helpers -------------------------------------------------------------------


@pytest.fixture
def editor(qtbot: QtBot, store: Store, runner: InlineRunner) -> RecordEditor:
    return _shown_editor(qtbot, RecordEditor(store, runner, lambda: AUTHOR))


def _shown_editor(qtbot: QtBot, widget: RecordEditor) -> RecordEditor:
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    return widget


def line(editor: RecordEditor, name: str) -> QLineEdit:
    widget = editor.field_widget(name)
    assert isinstance(widget, QLineEdit)
    return widget


def text_box(editor: RecordEditor, name: str) -> QPlainTextEdit:
    widget = editor.field_widget(name)
    assert isinstance(widget, QPlainTextEdit)
    return widget


def spin(editor: RecordEditor, name: str) -> QSpinBox | QDoubleSpinBox:
    widget = editor.field_widget(name)
    assert isinstance(widget, QSpinBox | QDoubleSpinBox)
    return widget


def combo(editor: RecordEditor, name: str) -> QComboBox:
    widget = editor.field_widget(name)
    assert isinstance(widget, QComboBox)
    return widget


def date_edit(editor: RecordEditor, name: str) -> QDateEdit:
    widget = editor.field_widget(name)
    assert isinstance(widget, QDateEdit)
    return widget


def steps(editor: RecordEditor) -> StepsWidget:
    widget = editor.field_widget("procedure")
    assert isinstance(widget, StepsWidget)
    return widget


def keys(qtbot: QtBot, widget: QWidget | None, text: str) -> None:
    """Type ``text``: ASCII as key presses, Chinese the way a pinyin input method
    delivers it (a committed string), since QTest cannot press keys outside Latin-1."""
    assert widget is not None
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        if run.isascii():
            qtbot.keyClicks(widget, run)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(run)
            QCoreApplication.sendEvent(widget, event)


def type_into(qtbot: QtBot, widget: QWidget, text: str, *, replace: bool = False) -> None:
    """Click into the widget the way a user would and type."""
    widget.setFocus()
    if replace:
        select_all = getattr(widget, "selectAll", None)
        if select_all is not None:
            select_all()
    keys(qtbot, widget, text)


def caption(editor: RecordEditor, field: str) -> str | None:
    """The text of a field's caption label, or None while the form has none."""
    label = editor.findChild(QLabel, f"caption_{field}")
    return None if label is None else label.text()


def choose(qtbot: QtBot, box: QComboBox, code: str | int) -> None:
    """Pick an entry with the keyboard (Down from the current one until it is reached)."""
    box.setFocus()
    target = box.findData(code)
    assert target > 0
    while box.currentIndex() != target:
        qtbot.keyClick(box, Qt.Key.Key_Down)


def wait_until_saved(qtbot: QtBot, editor: RecordEditor, timeout: int = 5000) -> None:
    qtbot.waitUntil(lambda: editor.save_state() in ("saved", "invalid") and not _busy(editor),
                    timeout=timeout)


def _busy(editor: RecordEditor) -> bool:
    return editor._in_flight > 0 or editor._debounce.isActive()


def changed_fields(store: Store, record_id: str) -> set[str]:
    return {c.field for c in store.changes_since() if c.record_id == record_id}


def states(editor: RecordEditor) -> list[str]:
    seen: list[str] = []
    editor.save_state_changed.connect(seen.append)
    return seen


def edit_cell(qtbot: QtBot, table: QTableWidget, row: int, column: int, text: str) -> None:
    """Open the cell's editor (the delegate's), type and press Enter."""
    item = table.item(row, column)
    assert item is not None
    table.setCurrentCell(row, column)
    table.editItem(item)
    qtbot.waitUntil(lambda: table.indexWidget(table.currentIndex()) is not None
                    or QApplication.focusWidget() is not table)
    cell_editor = QApplication.focusWidget()
    assert cell_editor is not None and cell_editor is not table
    if isinstance(cell_editor, QSpinBox | QLineEdit):
        cell_editor.selectAll()
    keys(qtbot, cell_editor, text)
    commit(qtbot, table, cell_editor)


def commit(qtbot: QtBot, table: QTableWidget, cell_editor: QWidget | None) -> None:
    """Enter ends editing; the delegate commits on the next turn of the event loop."""
    assert cell_editor is not None
    qtbot.keyClick(cell_editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QTableWidget.State.EditingState)


# --- creating each kind by typing ------------------------------------------------


def test_lesson_plan_is_created_by_autosave(qtbot: QtBot, editor: RecordEditor,
                                            store: Store) -> None:
    seen = states(editor)
    editor.new_record("lesson_plan")
    assert editor.current_id() is None and editor.current_kind() == "lesson_plan"
    assert store.count(ListQuery("lesson_plan")) == 0

    with qtbot.waitSignal(editor.saved, timeout=5000) as blocker:
        type_into(qtbot, line(editor, "title"), "认识分数")
        choose(qtbot, combo(editor, "subject"), "math")
        choose(qtbot, combo(editor, "grade"), 3)  # picked by name: 学前 … 高三
        type_into(qtbot, spin(editor, "duration_minutes"), "40")
        type_into(qtbot, text_box(editor, "objectives"), "理解几分之一的含义")
        assert editor.is_dirty()
    wait_until_saved(qtbot, editor)

    record_id = editor.current_id()
    assert record_id is not None and blocker.args[0].id == record_id
    values = store.get(record_id).values
    assert values["title"] == "认识分数"
    assert values["subject"] == "math"
    assert values["grade"] == 3
    assert values["duration_minutes"] == 40
    assert values["objectives"] == "理解几分之一的含义"
    assert store.get(record_id).author == AUTHOR
    assert {"title", "subject", "grade", "duration_minutes", "objectives"} <= changed_fields(
        store, record_id)
    assert store.count(ListQuery("lesson_plan")) == 1
    assert not editor.is_dirty()
    assert seen[0] == "pending" and "saving" in seen and seen[-1] == "saved"


def test_training_record_is_created_by_autosave(qtbot: QtBot, editor: RecordEditor,
                                                store: Store) -> None:
    editor.new_record("training")
    with qtbot.waitSignal(editor.saved, timeout=5000):
        type_into(qtbot, line(editor, "title"), "暑期骨干教师培训")
        choose(qtbot, combo(editor, "training_type"), "summer_institute")
        type_into(qtbot, line(editor, "provider"), "县教师进修学校")
        type_into(qtbot, date_edit(editor, "start_date"), "20240708")  # typed over the "—"
        date_edit(editor, "end_date").setDate(QDate(2024, 7, 12))  # as the calendar popup does
        type_into(qtbot, spin(editor, "hours"), "24.5")
        checkbox = editor.field_widget("online")
        assert isinstance(checkbox, QCheckBox)
        qtbot.mouseClick(checkbox, Qt.MouseButton.LeftButton)
    wait_until_saved(qtbot, editor)

    record_id = editor.current_id()
    assert record_id is not None
    values = store.get(record_id).values
    assert values["title"] == "暑期骨干教师培训"
    assert values["training_type"] == "summer_institute"
    assert values["provider"] == "县教师进修学校"
    assert values["start_date"] == dt.date(2024, 7, 8)
    assert values["end_date"] == dt.date(2024, 7, 12)
    assert values["hours"] == pytest.approx(24.5)
    assert values["online"] is True
    assert {"title", "start_date", "end_date", "hours", "online"} <= changed_fields(
        store, record_id)


def test_exchange_log_is_created_by_autosave(qtbot: QtBot, editor: RecordEditor,
                                             store: Store) -> None:
    editor.new_record("exchange")
    with qtbot.waitSignal(editor.saved, timeout=5000):
        type_into(qtbot, line(editor, "partner_school"), "城关镇中心小学")
        choose(qtbot, combo(editor, "exchange_type"), "co_taught")
        choose(qtbot, combo(editor, "direction"), "they_visited")
        date_edit(editor, "exchange_date").setDate(QDate(2024, 10, 15))
        type_into(qtbot, spin(editor, "teacher_count"), "6")
        type_into(qtbot, spin(editor, "student_count"), "45")
        type_into(qtbot, spin(editor, "duration_hours"), "3")
        type_into(qtbot, text_box(editor, "activities"), "同课异构：《秋天》")
    wait_until_saved(qtbot, editor)

    record_id = editor.current_id()
    assert record_id is not None
    values = store.get(record_id).values
    assert values["partner_school"] == "城关镇中心小学"
    assert values["exchange_type"] == "co_taught"
    assert values["direction"] == "they_visited"
    assert values["exchange_date"] == dt.date(2024, 10, 15)
    assert (values["teacher_count"], values["student_count"]) == (6, 45)
    assert values["duration_hours"] == pytest.approx(3.0)
    assert values["activities"] == "同课异构：《秋天》"
    assert {"partner_school", "teacher_count", "student_count"} <= changed_fields(store, record_id)


def test_every_field_of_every_kind_has_a_named_input_and_problem_label(
        editor: RecordEditor) -> None:
    expected = {
        FieldType.TEXT: QLineEdit, FieldType.TAGS: QLineEdit, FieldType.LONGTEXT: QPlainTextEdit,
        FieldType.CHOICE: QComboBox, FieldType.INT: QSpinBox, FieldType.FLOAT: QDoubleSpinBox,
        FieldType.DATE: QDateEdit, FieldType.BOOL: QCheckBox, FieldType.STEPS: StepsWidget,
    }
    for kind, spec in KINDS.items():
        editor.new_record(kind.value)
        for field in spec.fields:
            if not field.in_form:  # attachments: their own strip (tests/ui/test_attachments_ui.py)
                assert editor.findChild(QWidget, f"field_{field.name}") is None
                continue
            widget = editor.field_widget(field.name)
            # An INT with named values (grades) is picked from a list.
            assert isinstance(widget, QComboBox if field.choices else expected[field.type])
            assert widget.objectName() == f"field_{field.name}"
            assert editor.findChild(QWidget, f"field_{field.name}") is widget
            assert editor.problem_label(field.name).objectName() == f"problem_{field.name}"
            assert editor.problem_label(field.name).isHidden()
        title = line(editor, spec.title_field)
        assert title.maxLength() == TITLE_MAX
    editor.new_record("lesson_plan")
    assert text_box(editor, "objectives").tabChangesFocus()
    assert combo(editor, "subject").itemText(0) == "—"
    assert combo(editor, "subject").itemData(0) is None
    assert combo(editor, "grade").currentText() == "—"
    assert date_edit(editor, "planned_date").text() == "—"
    assert date_edit(editor, "planned_date").calendarPopup()


def test_nothing_is_stored_until_something_is_entered(qtbot: QtBot, editor: RecordEditor,
                                                      store: Store) -> None:
    editor.new_record("lesson_plan")
    editor.flush()
    qtbot.wait(900)
    assert store.count(ListQuery("lesson_plan")) == 0
    assert editor.current_id() is None and not editor.is_dirty()
    assert editor.save_state() == "idle"


# --- editing an existing record --------------------------------------------------


def test_editing_a_loaded_record_and_flush_saves_at_once(qtbot: QtBot, editor: RecordEditor,
                                                         store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "grade": 3}, author=AUTHOR)
    before = store.changes_since()[-1].seq
    editor.load(created.id)
    assert editor.current_id() == created.id and not editor.is_dirty()
    assert line(editor, "title").text() == "认识分数"

    title = line(editor, "title")
    title.setFocus()
    title.end(False)
    keys(qtbot, title, "（第一课时）")
    type_into(qtbot, text_box(editor, "homework"), "练习册第12页")
    assert editor.is_dirty() and editor.save_state() == "pending"
    with qtbot.waitSignal(editor.saved, timeout=100):
        editor.flush()  # no waiting for the timer

    values = store.get(created.id).values
    assert values["title"] == "认识分数（第一课时）"
    assert values["homework"] == "练习册第12页"
    assert values["grade"] == 3
    new_changes = store.changes_since(before)
    assert {c.field for c in new_changes} == {"title", "homework"}
    assert not editor.is_dirty() and editor.save_state() == "saved"


def test_continuous_typing_is_saved_within_the_maximum_delay(qtbot: QtBot, editor: RecordEditor,
                                                             store: Store,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline is started by the first keystroke and never again by the next
    ones, so typing without a pause is saved AUTOSAVE_MAX_DELAY_MS after it began.
    Checked on the timers themselves, not with a stopwatch a busy machine can beat."""
    created = store.create("lesson_plan", {"title": "分数"}, author=AUTHOR)
    editor.load(created.id)
    debounce, deadline = editor._debounce, editor._deadline
    assert deadline.isSingleShot() and deadline.interval() == AUTOSAVE_MAX_DELAY_MS
    assert AUTOSAVE_DELAY_MS < AUTOSAVE_MAX_DELAY_MS <= 3_000  # docs/architecture.md: "at most ~3 s"
    # However slow the machine, the typing below never pauses for the quiet time:
    # only the deadline may save.
    debounce.setInterval(600_000)
    starts = _count_starts(monkeypatch, deadline)
    saves: list[object] = []
    editor.saved.connect(saves.append)
    box = text_box(editor, "reflection")
    box.setFocus()
    assert not deadline.isActive()
    left = COARSE_TIMER_LIMIT_MS
    for typed in range(1, 7):
        keys(qtbot, box, "学")
        assert deadline.isActive() and debounce.isActive()
        assert starts == [None], f"keystroke {typed} restarted the deadline"
        assert deadline.remainingTime() <= left
        left = deadline.remainingTime()
    assert not saves
    qtbot.waitUntil(lambda: bool(saves), timeout=AUTOSAVE_MAX_DELAY_MS + 10_000)
    assert len(saves) == 1 and not deadline.isActive()
    assert store.get(created.id).values["reflection"] == "学" * 6


# Qt's default (coarse) timers may fire up to 5 % after their interval.
COARSE_TIMER_LIMIT_MS = AUTOSAVE_MAX_DELAY_MS * 105 // 100


def _count_starts(monkeypatch: pytest.MonkeyPatch, timer: QTimer) -> list[None]:
    """Record every start() the editor gives ``timer`` (the timer still starts)."""
    starts: list[None] = []
    real_start = timer.start

    def counted_start(*args: Any) -> None:
        starts.append(None)
        real_start(*args)

    monkeypatch.setattr(timer, "start", counted_start)
    return starts


def test_programmatic_load_does_not_mark_dirty(qtbot: QtBot, editor: RecordEditor,
                                              store: Store) -> None:
    full = store.create(
        "lesson_plan",
        {
            "title": "认识分数", "subject": "math", "grade": 3, "class_name": "三（2）班",
            "planned_date": dt.date(2024, 9, 2), "duration_minutes": 40,
            "objectives": "理解分数", "tags": ["分数", "三年级"],
            "procedure": [{"phase": "导入", "minutes": 40, "teacher": "提问", "students": "回答"}],
        },
        author=AUTHOR,
    )
    training = store.create("training", {"title": "培训", "hours": 2.25, "online": True,
                                         "start_date": dt.date(2024, 7, 1)}, author=AUTHOR)
    seen = states(editor)
    before = len(store.changes_since())
    for record_id in (full.id, training.id, full.id):
        editor.load(record_id)
        assert not editor.is_dirty()
    assert combo(editor, "grade").currentData() == 3
    assert steps(editor).value()[0]["phase"] == "导入"
    assert line(editor, "tags").text() == "分数, 三年级"
    qtbot.wait(1000)
    assert "pending" not in seen and "saving" not in seen
    assert len(store.changes_since()) == before
    editor.load(training.id)
    assert spin(editor, "hours").text() == "2.3"  # one decimal shown, 2.25 kept
    editor.flush()
    assert store.get(training.id).values["hours"] == pytest.approx(2.25)
    assert len(store.changes_since()) == before


# --- validation ------------------------------------------------------------------


def test_a_number_out_of_range_is_shown_and_not_stored(qtbot: QtBot, editor: RecordEditor,
                                                    store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "duration_minutes": 40}, author=AUTHOR)
    editor.load(created.id)
    type_into(qtbot, spin(editor, "duration_minutes"), "601", replace=True)
    label = editor.problem_label("duration_minutes")
    assert label.isVisible()
    assert label.text() == "Must be at most 600."
    type_into(qtbot, line(editor, "class_name"), "三（2）班")
    editor.flush()
    values = store.get(created.id).values
    assert values["duration_minutes"] == 40  # held back
    assert values["class_name"] == "三（2）班"  # the rest is saved
    assert editor.save_state() == "invalid" and editor.is_dirty()

    type_into(qtbot, spin(editor, "duration_minutes"), "45", replace=True)
    assert not label.isVisible()
    editor.flush()
    assert store.get(created.id).values["duration_minutes"] == 45
    assert editor.save_state() == "saved"


def test_a_number_out_of_range_stays_visible_after_leaving_the_field(
        qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "duration_minutes": 40}, author=AUTHOR)
    editor.load(created.id)
    box = spin(editor, "duration_minutes")
    type_into(qtbot, box, "0", replace=True)
    assert editor.problem_text("duration_minutes") == "Must be at least 1."
    qtbot.keyClick(box, Qt.Key.Key_Return)
    line(editor, "title").setFocus()
    qtbot.waitUntil(lambda: not box.hasFocus())
    assert box.cleanText() == "0"  # not silently replaced by an earlier value
    assert editor.problem_text("duration_minutes") == "Must be at least 1."
    editor.flush()
    assert store.get(created.id).values["duration_minutes"] == 40

    type_into(qtbot, box, "", replace=True)
    qtbot.keyClick(box, Qt.Key.Key_Delete)
    line(editor, "title").setFocus()
    qtbot.waitUntil(lambda: not box.hasFocus())
    assert box.text() == "—" and editor.problem_text("duration_minutes") == ""
    editor.flush()
    assert store.get(created.id).values["duration_minutes"] is None

    other = store.create("lesson_plan", {"title": "另一课", "duration_minutes": 45}, author=AUTHOR)
    type_into(qtbot, box, "777", replace=True)
    editor.load(other.id)
    assert box.cleanText() == "45" and editor.problem_text("duration_minutes") == ""


def test_hours_and_counts_out_of_range(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    training = store.create("training", {"title": "培训", "hours": 10.0}, author=AUTHOR)
    editor.load(training.id)
    type_into(qtbot, spin(editor, "hours"), "2500", replace=True)
    assert editor.problem_text("hours") == "Must be at most 2000."
    editor.flush()
    assert store.get(training.id).values["hours"] == pytest.approx(10.0)

    exchange = store.create("exchange", {"partner_school": "城关小学", "teacher_count": 5},
                            author=AUTHOR)
    editor.load(exchange.id)
    type_into(qtbot, spin(editor, "teacher_count"), "20000", replace=True)
    assert editor.problem_label("teacher_count").isVisible()
    assert editor.problem_text("teacher_count") == "Must be at most 10000."
    editor.flush()
    assert store.get(exchange.id).values["teacher_count"] == 5
    assert editor.save_state() == "invalid"


def test_end_date_before_start_date_holds_both_dates_back(qtbot: QtBot, editor: RecordEditor,
                                                          store: Store) -> None:
    created = store.create("training", {"title": "培训"}, author=AUTHOR)
    editor.load(created.id)
    date_edit(editor, "start_date").setDate(QDate(2024, 7, 10))
    date_edit(editor, "end_date").setDate(QDate(2024, 7, 1))
    label = editor.problem_label("end_date")
    assert label.isVisible()
    assert label.text() == "The end date is before the start date."
    editor.flush()
    values = store.get(created.id).values
    assert values["start_date"] is None and values["end_date"] is None
    assert editor.save_state() == "invalid"

    date_edit(editor, "end_date").setDate(QDate(2024, 7, 12))
    assert not label.isVisible()
    editor.flush()
    values = store.get(created.id).values
    assert values["start_date"] == dt.date(2024, 7, 10)
    assert values["end_date"] == dt.date(2024, 7, 12)

    clear = editor.findChild(QToolButton, "clear_end_date")
    assert clear is not None
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    editor.flush()
    assert store.get(created.id).values["end_date"] is None


def test_required_title(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    editor.new_record("lesson_plan")
    assert not editor.problem_label("title").isVisible()  # untouched and not stored yet
    title = line(editor, "title")
    type_into(qtbot, title, "分")
    assert not editor.problem_label("title").isVisible()
    qtbot.keyClick(title, Qt.Key.Key_Backspace)
    assert editor.problem_label("title").isVisible()
    assert editor.problem_text("title") == "Required."

    untitled = store.create("lesson_plan", {"grade": 2}, author=AUTHOR)
    editor.load(untitled.id)
    assert editor.problem_text("title") == "Required."
    type_into(qtbot, line(editor, "title"), "新课")
    assert editor.problem_text("title") == ""


def test_a_draft_without_title_is_still_saved(qtbot: QtBot, editor: RecordEditor,
                                              store: Store) -> None:
    editor.new_record("lesson_plan")
    type_into(qtbot, text_box(editor, "objectives"), "先写目标")
    editor.flush()
    record_id = editor.current_id()
    assert record_id is not None
    assert store.get(record_id).values["objectives"] == "先写目标"
    assert editor.problem_text("title") == "Required."  # now that it exists
    assert editor.save_state() == "saved"


def test_text_over_the_maximum_length_cannot_be_stored(qtbot: QtBot, editor: RecordEditor,
                                                       store: Store) -> None:
    created = store.create("lesson_plan", {"title": "分数", "materials": "卡片"}, author=AUTHOR)
    editor.load(created.id)
    type_into(qtbot, line(editor, "title"), "长" * (TITLE_MAX + 5), replace=True)
    assert len(line(editor, "title").text()) == TITLE_MAX

    text_box(editor, "materials").insertPlainText("x" * LONG_TEXT_MAX)  # a paste
    assert editor.problem_text("materials") == (
        f"At most {LONG_TEXT_MAX} characters (now {LONG_TEXT_MAX + 2}).")
    editor.flush()
    values = store.get(created.id).values
    assert values["title"] == "长" * TITLE_MAX
    assert values["materials"] == "卡片"
    assert editor.save_state() == "invalid"


# --- procedure and tags ----------------------------------------------------------


def test_procedure_steps_and_duration_warning(qtbot: QtBot, editor: RecordEditor,
                                              store: Store) -> None:
    editor.new_record("lesson_plan")
    type_into(qtbot, line(editor, "title"), "认识分数")
    type_into(qtbot, spin(editor, "duration_minutes"), "40")
    procedure = steps(editor)
    add = procedure.findChild(QPushButton, "steps_add")
    assert add is not None
    table = procedure.table

    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    keys(qtbot, QApplication.focusWidget(), "导入")
    commit(qtbot, table, QApplication.focusWidget())
    edit_cell(qtbot, table, 0, 1, "5")
    edit_cell(qtbot, table, 0, 2, "出示披萨图片")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    edit_cell(qtbot, table, 1, 0, "新授")
    edit_cell(qtbot, table, 1, 1, "30")

    assert procedure.total_minutes() == 35
    label = editor.problem_label("procedure")
    assert label.isVisible()
    assert label.text() == "The steps add up to 35 min, the lesson lasts 40 min."
    editor.flush()
    record_id = editor.current_id()
    assert record_id is not None
    stored = store.get(record_id).values["procedure"]
    assert [(s["phase"], s["minutes"]) for s in stored] == [("导入", 5), ("新授", 30)]
    assert stored[0]["teacher"] == "出示披萨图片"
    assert editor.save_state() == "saved"  # a warning, not a reason to hold back

    edit_cell(qtbot, table, 1, 1, "35")
    assert not label.isVisible()
    editor.flush()
    assert [s["minutes"] for s in store.get(record_id).values["procedure"]] == [5, 35]


def test_a_step_cell_still_being_typed_is_saved_by_flush(qtbot: QtBot, editor: RecordEditor,
                                                         store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数", "procedure": [
        {"phase": "导入", "minutes": 5, "teacher": "", "students": ""}]}, author=AUTHOR)
    editor.load(created.id)
    table = steps(editor).table
    item = table.item(0, 3)
    assert item is not None
    table.setCurrentCell(0, 3)
    table.editItem(item)
    cell_editor = QApplication.focusWidget()
    assert isinstance(cell_editor, QLineEdit)
    keys(qtbot, cell_editor, "小组讨论")
    qtbot.keyClick(cell_editor, Qt.Key.Key_Home)
    keys(qtbot, cell_editor, "先")
    assert table.state() == QTableWidget.State.EditingState  # Enter not pressed
    assert cell_editor.text() == "先小组讨论" and cell_editor.cursorPosition() == 1
    editor.flush()
    assert store.get(created.id).values["procedure"][0]["students"] == "先小组讨论"


def test_step_minutes_accept_only_whole_numbers_up_to_600(qtbot: QtBot, editor: RecordEditor
                                                          ) -> None:
    editor.new_record("lesson_plan")
    procedure = steps(editor)
    procedure.add_step()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    edit_cell(qtbot, procedure.table, 0, 1, "7a.5")
    assert procedure.value()[0]["minutes"] == 75
    edit_cell(qtbot, procedure.table, 0, 1, "999")
    assert procedure.value()[0]["minutes"] == 99  # the third 9 is refused


def test_tags_split_on_chinese_commas(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    created = store.create("lesson_plan", {"title": "认识分数"}, author=AUTHOR)
    editor.load(created.id)
    type_into(qtbot, line(editor, "tags"), "数学，分数、三年级, 数学")
    editor.flush()
    assert store.get(created.id).values["tags"] == ["数学", "分数", "三年级"]
    assert "tags" in changed_fields(store, created.id)


# --- switching records, failures -----------------------------------------------


def test_load_flushes_the_pending_edits_of_the_previous_record(
        qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    first = store.create("lesson_plan", {"title": "第一课"}, author=AUTHOR)
    second = store.create("exchange", {"partner_school": "城关小学"}, author=AUTHOR)
    editor.load(first.id)
    type_into(qtbot, text_box(editor, "reflection"), "学生兴趣很高")
    assert editor.is_dirty()
    editor.load(second.id)
    assert store.get(first.id).values["reflection"] == "学生兴趣很高"
    assert editor.current_id() == second.id and editor.current_kind() == "exchange"
    assert line(editor, "partner_school").text() == "城关小学"
    assert not editor.is_dirty() and editor.save_state() == "idle"


def test_new_record_flushes_too(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    editor.new_record("training")
    type_into(qtbot, line(editor, "title"), "线上研修")
    editor.new_record("training")
    assert [r.cells[0] for r in store.list_rows(ListQuery("training"))] == ["线上研修"]
    assert line(editor, "title").text() == ""
    assert editor.current_id() is None


def test_a_failed_save_keeps_the_edits_and_retries(qtbot: QtBot, editor: RecordEditor,
                                                   store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    created = store.create("lesson_plan", {"title": "认识分数"}, author=AUTHOR)
    editor.load(created.id)

    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise DiskFullError(store.path, "database or disk is full")

    monkeypatch.setattr(store, "update", disk_full)
    failed = states(editor)
    type_into(qtbot, text_box(editor, "homework"), "完成练习")
    qtbot.waitUntil(lambda: "failed" in failed, timeout=5000)
    assert editor.save_state() == "failed"
    assert "disk is full" in editor.last_error()
    assert editor.is_dirty()
    assert text_box(editor, "homework").toPlainText() == "完成练习"
    assert store.get(created.id).values["homework"] == ""

    monkeypatch.undo()  # space freed
    editor.flush()
    assert store.get(created.id).values["homework"] == "完成练习"
    assert editor.save_state() == "saved" and editor.last_error() == ""
    assert not editor.is_dirty()


def test_a_failed_save_is_retried_on_the_next_edit(qtbot: QtBot, editor: RecordEditor,
                                                   store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    created = store.create("lesson_plan", {"title": "分数"}, author=AUTHOR)
    editor.load(created.id)
    real_update = store.update
    calls = {"n": 0}

    def busy_once(record_id: str, changes: dict[str, Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise StoreBusyError(store.path, "database is locked")
        return real_update(record_id, changes)

    monkeypatch.setattr(store, "update", busy_once)
    type_into(qtbot, line(editor, "unit"), "第八单元")
    editor.flush()
    assert editor.save_state() == "failed" and editor.last_error()
    type_into(qtbot, line(editor, "class_name"), "三（1）班")
    wait_until_saved(qtbot, editor)
    values = store.get(created.id).values
    assert (values["unit"], values["class_name"]) == ("第八单元", "三（1）班")


def test_a_failed_create_is_retried_and_creates_one_record(
        qtbot: QtBot, editor: RecordEditor, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_create = store.create
    calls = {"n": 0}

    def full_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise DiskFullError(store.path, "database or disk is full")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(store, "create", full_once)
    editor.new_record("exchange")
    type_into(qtbot, line(editor, "partner_school"), "希望小学")
    editor.flush()
    assert editor.save_state() == "failed" and editor.current_id() is None
    type_into(qtbot, spin(editor, "student_count"), "30")
    editor.flush()
    record_id = editor.current_id()
    assert record_id is not None
    assert store.count(ListQuery("exchange")) == 1
    values = store.get(record_id).values
    assert (values["partner_school"], values["student_count"]) == ("希望小学", 30)


def test_edits_whose_save_failed_survive_switching_records(
        qtbot: QtBot, editor: RecordEditor, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = store.create("lesson_plan", {"title": "第一课"}, author=AUTHOR)
    second = store.create("lesson_plan", {"title": "第二课"}, author=AUTHOR)
    editor.load(first.id)

    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise DiskFullError(store.path, "database or disk is full")

    monkeypatch.setattr(store, "update", disk_full)
    type_into(qtbot, text_box(editor, "assessment"), "课堂练习正确率")
    editor.load(second.id)
    assert editor.current_id() == second.id
    assert editor.save_state() == "failed" and editor.last_error()
    assert editor.is_dirty()

    monkeypatch.undo()
    editor.flush()
    assert store.get(first.id).values["assessment"] == "课堂练习正确率"
    assert not editor.is_dirty()


def test_reopening_a_record_whose_save_failed_shows_the_typed_text(
        qtbot: QtBot, editor: RecordEditor, store: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = store.create("lesson_plan", {"title": "第一课"}, author=AUTHOR)
    second = store.create("lesson_plan", {"title": "第二课"}, author=AUTHOR)
    editor.load(first.id)
    real_update = store.update

    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise DiskFullError(store.path, "database or disk is full")

    monkeypatch.setattr(store, "update", disk_full)
    type_into(qtbot, line(editor, "unit"), "第八单元")
    editor.load(second.id)
    editor.load(first.id)  # the retry fails again; the text must come back
    assert line(editor, "unit").text() == "第八单元"
    assert editor.is_dirty()
    monkeypatch.setattr(store, "update", real_update)
    editor.flush()
    assert store.get(first.id).values["unit"] == "第八单元"


def test_clear_after_delete_is_quiet(qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    created = store.create("lesson_plan", {"title": "要删除的"}, author=AUTHOR)
    editor.load(created.id)
    type_into(qtbot, line(editor, "title"), "了")
    store.delete(created.id)
    seen = states(editor)
    editor.clear()
    assert "failed" not in seen and editor.last_error() == ""
    assert editor.current_id() is None and editor.current_kind() is None
    assert not editor.is_dirty()
    assert store.get(created.id, include_deleted=True).values["title"] == "要删除的"


def test_a_record_deleted_while_shown_reports_it(qtbot: QtBot, editor: RecordEditor,
                                                 store: Store) -> None:
    created = store.create("lesson_plan", {"title": "删除"}, author=AUTHOR)
    editor.load(created.id)
    store.delete(created.id)
    type_into(qtbot, line(editor, "unit"), "一")
    editor.flush()
    assert editor.save_state() == "failed" and "deleted" in editor.last_error()


# --- the real background thread ------------------------------------------------------


@pytest.fixture
def threaded(qtbot: QtBot, store: Store) -> Iterator[tuple[RecordEditor, TaskRunner]]:
    runner = TaskRunner()
    widget = _shown_editor(qtbot, RecordEditor(store, runner, lambda: AUTHOR))
    yield widget, runner
    runner.wait(5000)
    QCoreApplication.processEvents()


def test_typing_during_a_slow_create_creates_once(qtbot: QtBot, store: Store,
                                                  threaded: tuple[RecordEditor, TaskRunner],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    editor, runner = threaded
    real_create = store.create
    entered = threading.Event()  # the worker is inside the create
    release = threading.Event()  # the create stays in flight until the test says so
    creates: list[str] = []

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        creates.append("create")
        entered.set()
        release.wait(timeout=60)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(store, "create", slow_create)
    try:
        editor.new_record("lesson_plan")
        title = line(editor, "title")
        type_into(qtbot, title, "认识")
        editor.flush()
        assert runner.pending == 1 and editor.save_state() == "saving"
        qtbot.waitUntil(entered.is_set)
        keys(qtbot, title, "分数")
        editor.flush()  # queued behind the create as an update
        choose(qtbot, combo(editor, "grade"), 3)
        assert creates == ["create"] and runner.pending >= 1  # still held, the grade waits
        with qtbot.waitSignal(editor.saved, timeout=5000):
            release.set()
    finally:
        release.set()  # a failed assertion must not leave the worker waiting
    wait_until_saved(qtbot, editor)
    assert creates == ["create"]
    assert store.count(ListQuery("lesson_plan")) == 1
    record_id = editor.current_id()
    assert record_id is not None
    values = store.get(record_id).values
    assert (values["title"], values["grade"]) == ("认识分数", 3)
    assert not editor.is_dirty()


def test_threaded_autosave_and_switching(qtbot: QtBot, store: Store,
                                         threaded: tuple[RecordEditor, TaskRunner]) -> None:
    editor, runner = threaded
    other = store.create("training", {"title": "培训"}, author=AUTHOR)
    editor.new_record("exchange")
    with qtbot.waitSignal(editor.saved, timeout=5000) as blocker:
        type_into(qtbot, line(editor, "partner_school"), "山区联盟学校")
    record_id = blocker.args[0].id
    type_into(qtbot, text_box(editor, "outcomes"), "建立结对关系")
    editor.load(other.id)  # flushes; the update lands on the writer thread
    runner.wait(5000)
    qtbot.waitUntil(lambda: runner.pending == 0)
    assert store.get(record_id).values["outcomes"] == "建立结对关系"
    assert editor.current_id() == other.id and not editor.is_dirty()


# --- language ------------------------------------------------------------------------


class _Brackets(QTranslator):
    """Stands in for a real translation: every string comes back in brackets."""

    def isEmpty(self) -> bool:
        return False

    def translate(self, context: str, source: str, disambiguation: str | None = None,
                  n: int = -1) -> str:
        del disambiguation, n
        if context in ("Field", "Choice", "Kind", "Validation", "RecordEditor", "StepsWidget"):
            return f"[{source}]"
        return ""


def test_language_change_relabels_everything(qtbot: QtBot, editor: RecordEditor,
                                             store: Store) -> None:
    created = store.create("lesson_plan", {"grade": 3, "duration_minutes": 40, "procedure": [
        {"phase": "导入", "minutes": 5, "teacher": "", "students": ""}]}, author=AUTHOR)
    editor.load(created.id)
    assert editor.problem_text("procedure").startswith("The steps add up")
    translator = _Brackets()
    app = QCoreApplication.instance()
    assert app is not None
    app.installTranslator(translator)
    try:
        qtbot.waitUntil(lambda: caption(editor, "title") == "[Title]")
        assert combo(editor, "subject").itemText(0) == "[—]"
        assert combo(editor, "subject").itemText(combo(editor, "subject").findData("math")) == (
            "[Mathematics]")
        assert editor.problem_text("title") == "[Required.]"
        assert editor.problem_text("procedure").startswith("[The steps add up")
        header = steps(editor).table.horizontalHeaderItem(1)
        assert header is not None and header.text() == "[Minutes]"
        assert spin(editor, "duration_minutes").suffix() == " [min]"
        kind_label = editor.findChild(QLabel, "editor_kind")
        assert kind_label is not None and kind_label.text() == "[Lesson plan]"
        assert not editor.is_dirty()
    finally:
        app.removeTranslator(translator)
        QCoreApplication.processEvents()
    assert caption(editor, "title") == "Title"


# --- the steps widget alone, and small behaviours ------------------------------------


def test_steps_widget_buttons_and_value(qtbot: QtBot) -> None:
    widget = StepsWidget()
    qtbot.addWidget(widget)
    emitted: list[None] = []
    widget.changed.connect(lambda: emitted.append(None))
    widget.set_value([
        {"phase": "导入", "minutes": 5, "teacher": "a", "students": "b"},
        {"phase": "练习", "minutes": 20, "teacher": "", "students": ""},
    ])
    assert not emitted
    assert widget.total_label.text() == "Total: 25 min"
    widget.table.setCurrentCell(1, 0)
    qtbot.mouseClick(widget.up_button, Qt.MouseButton.LeftButton)
    assert [s["phase"] for s in widget.value()] == ["练习", "导入"]
    assert widget.table.currentRow() == 0 and not widget.up_button.isEnabled()
    qtbot.mouseClick(widget.down_button, Qt.MouseButton.LeftButton)
    assert [s["phase"] for s in widget.value()] == ["导入", "练习"]
    qtbot.mouseClick(widget.remove_button, Qt.MouseButton.LeftButton)
    assert widget.value() == [{"phase": "导入", "minutes": 5, "teacher": "a", "students": "b"}]
    assert widget.total_minutes() == 5
    assert len(emitted) == 3


def test_steps_widget_stops_at_the_maximum(qtbot: QtBot) -> None:
    widget = StepsWidget(max_steps=2)
    qtbot.addWidget(widget)
    widget.add_step()
    widget.add_step()
    widget.add_step()
    assert widget.table.rowCount() == 2 and not widget.add_button.isEnabled()


def test_wheel_over_an_unfocused_number_does_not_change_it(qtbot: QtBot, editor: RecordEditor,
                                                           store: Store) -> None:
    created = store.create("lesson_plan", {"title": "分数", "duration_minutes": 40}, author=AUTHOR)
    editor.load(created.id)
    box = spin(editor, "duration_minutes")
    line(editor, "title").setFocus()
    centre = QPointF(box.rect().center())
    event = QWheelEvent(centre, QPointF(box.mapToGlobal(QPoint(5, 5))), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QCoreApplication.sendEvent(box, event)
    assert box.value() == 40 and not editor.is_dirty()


def test_language_change_event_is_handled(editor: RecordEditor) -> None:
    editor.new_record("training")
    QCoreApplication.sendEvent(editor, QEvent(QEvent.Type.LanguageChange))
    assert caption(editor, "hours") == "Hours"


# --- a teacher's first hour: numbers replace, Tab goes down the form ----------------


def _cell_centre(table: QTableWidget, row: int, column: int) -> QPoint:
    return table.visualRect(table.model().index(row, column)).center()


def _one_step(editor: RecordEditor, store: Store) -> tuple[str, QTableWidget]:
    created = store.create("lesson_plan", {"title": "认识分数", "procedure": [
        {"phase": "导入", "minutes": 0, "teacher": "", "students": ""}]}, author=AUTHOR)
    editor.load(created.id)
    return created.id, steps(editor).table


def test_minutes_typed_into_a_double_clicked_cell_replace_the_zero(
        qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    record_id, table = _one_step(editor, store)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_cell_centre(table, 0, 1))
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_cell_centre(table, 0, 1))
    qtbot.waitUntil(lambda: table.state() == QTableWidget.State.EditingState)
    cell_editor = QApplication.focusWidget()
    assert isinstance(cell_editor, QSpinBox)
    qtbot.keyClicks(cell_editor, "20")
    commit(qtbot, table, cell_editor)
    editor.flush()
    assert store.get(record_id).values["procedure"][0]["minutes"] == 20


def test_minutes_typed_on_a_selected_cell_replace_the_zero(
        qtbot: QtBot, editor: RecordEditor, store: Store) -> None:
    record_id, table = _one_step(editor, store)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=_cell_centre(table, 0, 1))
    qtbot.keyClicks(table, "2")  # opens the cell's editor, which gets this key and the next
    cell_editor = QApplication.focusWidget()
    assert isinstance(cell_editor, QSpinBox)
    qtbot.keyClicks(cell_editor, "0")
    commit(qtbot, table, cell_editor)
    editor.flush()
    assert store.get(record_id).values["procedure"][0]["minutes"] == 20


@pytest.mark.parametrize(("kind", "values", "name", "typed", "stored"), [
    ("lesson_plan", {"title": "认识分数", "duration_minutes": 40}, "duration_minutes", "45", 45),
    ("training", {"title": "新课标培训", "hours": 2.5}, "hours", "6", 6.0),
])
def test_a_number_clicked_into_is_replaced_by_what_is_typed(
        qtbot: QtBot, editor: RecordEditor, store: Store, kind: str, values: dict[str, Any],
        name: str, typed: str, stored: float) -> None:
    created = store.create(kind, values, author=AUTHOR)
    editor.load(created.id)
    box = spin(editor, name)
    qtbot.mouseClick(box.lineEdit(), Qt.MouseButton.LeftButton,
                     pos=box.lineEdit().rect().center())
    qtbot.waitUntil(lambda: box.lineEdit().selectedText() == box.cleanText())  # not the unit
    qtbot.keyClicks(box, typed)
    editor.flush()
    assert store.get(created.id).values[name] == stored


def _expected_tab_chain(editor: RecordEditor, kind: str) -> list[QWidget]:
    chain: list[QWidget] = []
    for spec in kind_spec(kind).fields:
        if not spec.in_form:
            continue
        widget = editor.field_widget(spec.name)
        if isinstance(widget, StepsWidget):  # the table, then the buttons that can be used
            chain.append(widget.table)
            chain += [b for b in widget.findChildren(QPushButton) if b.isEnabled()]
        else:
            chain.append(widget)
    return chain


@pytest.mark.parametrize("kind", ["lesson_plan", "training", "exchange"])
def test_tab_goes_down_the_form_and_skips_the_date_clear_buttons(
        qtbot: QtBot, editor: RecordEditor, kind: str) -> None:
    editor.new_record(kind)
    expected = _expected_tab_chain(editor, kind)
    first = expected[0]
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton, pos=first.rect().center())
    seen = [QApplication.focusWidget()]
    for _ in expected[1:]:
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    names = [w.objectName() if w is not None else None for w in seen]
    assert seen == expected, names
    assert not any(isinstance(w, QToolButton) for w in seen)


def test_a_date_clear_button_still_clears_by_mouse(qtbot: QtBot, editor: RecordEditor,
                                                   store: Store) -> None:
    created = store.create("training", {"title": "新课标培训",
                                        "end_date": dt.date(2026, 7, 12)}, author=AUTHOR)
    editor.load(created.id)
    clear = editor.findChild(QToolButton, "clear_end_date")
    assert clear is not None and clear.focusPolicy() == Qt.FocusPolicy.NoFocus
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    editor.flush()
    assert store.get(created.id).values["end_date"] is None


# --- New puts the cursor in the title --------------------------------------------------


@pytest.fixture
def window(qtbot: QtBot, store: Store, runner: InlineRunner) -> Iterator[MainWindow]:
    shown = MainWindow(store, runner, Translations())
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    shown.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is shown)
    yield shown
    shown.close()


def _new_title(window: MainWindow) -> QLineEdit:
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    return title


@pytest.mark.parametrize("kind", ["lesson_plan", "training"])
def test_ctrl_n_puts_the_cursor_in_the_title(qtbot: QtBot, window: MainWindow, store: Store,
                                             kind: str) -> None:
    window.set_kind(kind)
    table = window.table()
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    if kind == "lesson_plan":  # New offers the templates first: Enter takes a blank plan
        choose_blank(qtbot, window)
    qtbot.keyClicks(QApplication.focusWidget(), "Fractions")
    assert _new_title(window).text() == "Fractions"
    window.editor.flush()
    assert [store.get(r.id).title for r in store.list_rows(ListQuery(kind))] == ["Fractions"]


def test_the_new_button_puts_the_cursor_in_the_title(qtbot: QtBot, window: MainWindow) -> None:
    window.table().setFocus()
    toolbar = window.toolbar()
    action = window.findChild(QAction, "action_new")
    assert action is not None
    button = (toolbar.findChild(QToolButton, "toolbar_new")  # the look's own New button
              or toolbar.widgetForAction(action))
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    choose_blank(qtbot, window)
    qtbot.keyClicks(QApplication.focusWidget(), "Area")
    assert _new_title(window).text() == "Area"
