"""The main window driven like a user would: keys, clicks, a real store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QDate, QEvent, QPoint, QSettings, Qt
from PySide6.QtGui import QAction, QInputMethodEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDateEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableView,
    QToolBar,
    QWidget,
)

from app.errors import RecordNotFound
from app.models.store import RecordData, Store
from app.ui import settings
from app.ui.i18n import Translations
from app.ui.list_model import RECORD_ID_ROLE, SearchResultsModel
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog, author_name
from app.ui.tasks import TaskRunner
from tests.ui.chooser import choose_blank

CTRL = Qt.KeyboardModifier.ControlModifier

# The offscreen platform used in tests warns whenever a shown window's size
# limits change; that is a limitation of the test platform, not of the window.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

WindowFactory = Callable[[], MainWindow]


@pytest.fixture
def make_window(qtbot: Any, store: Store, runner: TaskRunner) -> Iterator[WindowFactory]:
    opened: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(store, runner, Translations())
        opened.append(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        return window

    yield make
    for window in opened:
        if window.isVisible():
            window.close()
        window.deleteLater()
    QCoreApplication.processEvents()


@pytest.fixture
def window(make_window: WindowFactory) -> MainWindow:
    return make_window()


def _plan(store: Store, title: str, **values: Any) -> RecordData:
    return store.create("lesson_plan", {"title": title, **values}, author="test")


def _table(window: MainWindow) -> QTableView:
    table = window.findChild(QTableView, "records")
    assert table is not None
    return table


def _label(window: MainWindow, name: str) -> str:
    label = window.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def _titles(window: MainWindow) -> list[str]:
    model = _table(window).model()
    column = 1 if isinstance(model, SearchResultsModel) else 0
    return [model.index(row, column).data() for row in range(model.rowCount())]


def _headers(window: MainWindow) -> list[str]:
    model = _table(window).model()
    return [
        model.headerData(column, Qt.Orientation.Horizontal) for column in range(model.columnCount())
    ]


def _select(qtbot: Any, window: MainWindow, title: str) -> None:
    table = _table(window)
    row = _titles(window).index(title)
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.selected_id() == table.model().index(row, 0).data(RECORD_ID_ROLE)


def _sidebar(window: MainWindow) -> QListWidget:
    sidebar = window.findChild(QListWidget, "sidebar")
    assert sidebar is not None
    return sidebar


def _search(window: MainWindow) -> QLineEdit:
    search = window.findChild(QLineEdit, "search")
    assert search is not None
    return search


def _combo(window: MainWindow, name: str) -> QComboBox:
    combo = window.findChild(QComboBox, name)
    assert combo is not None, name
    return combo


def _action(window: MainWindow, name: str) -> QAction:
    action = window.findChild(QAction, name)
    assert action is not None, name
    return action


def _type_with_ime(widget: QWidget, text: str) -> None:
    """Enter text the way a Chinese input method does (QTest only types ASCII)."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    QCoreApplication.sendEvent(widget, event)


def _choose(combo: QComboBox, data: object) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


# --- opening -------------------------------------------------------------------


def test_window_opens_with_counts(store: Store, make_window: WindowFactory) -> None:
    _plan(store, "认识分数")
    _plan(store, "Plants")
    store.create("training", {"title": "Summer institute"}, author="test")
    window = make_window()
    assert window.windowTitle() == "Fieldbook"
    sidebar = _sidebar(window)
    assert [sidebar.item(i).text() for i in range(sidebar.count())] == [
        "Lesson plans (2)", "Training (1)", "Exchanges (0)",
    ]
    assert sidebar.currentRow() == 0
    assert _label(window, "counts") == "Lesson plans 2 · Training 1 · Exchanges 0"
    assert _label(window, "sync_state") == "Sync: not set up"
    assert _label(window, "result_count") == "2 records"
    assert sorted(_titles(window)) == ["Plants", "认识分数"]
    table = _table(window)
    assert table.isSortingEnabled()
    assert table.alternatingRowColors()
    assert table.selectionMode() == QTableView.SelectionMode.SingleSelection
    assert window.visible_row_count() == 2


def test_default_size_and_sync_state(window: MainWindow) -> None:
    # The first start fits the (800x800 offscreen) screen: 90% of it at most.
    free = window.screen().availableGeometry()
    assert (window.width(), window.height()) == (min(1200, int(free.width() * 0.9)),
                                                 min(760, int(free.height() * 0.9)))
    window.set_sync_state("Sync: up to date")
    assert _label(window, "sync_state") == "Sync: up to date"


def test_switching_the_sidebar_switches_columns(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    store.create("exchange", {"partner_school": "希望小学"}, author="test")
    assert _headers(window) == ["Title", "Subject", "Grade", "Planned date", "Status", "Updated"]
    assert _combo(window, "filter_subject").isVisible()
    _sidebar(window).setCurrentRow(2)
    assert _headers(window) == [
        "Partner school", "Type", "Direction", "Date", "Status", "Updated",
    ]
    assert _titles(window) == ["希望小学"]
    assert not _combo(window, "filter_subject").isVisible()
    assert not _combo(window, "filter_grade").isVisible()
    _sidebar(window).setCurrentRow(1)
    assert _headers(window) == ["Title", "Type", "Start date", "Hours", "Status", "Updated"]
    assert _titles(window) == []


def test_header_click_sorts(qtbot: Any, store: Store, window: MainWindow) -> None:
    for title in ("B", "C", "A"):
        _plan(store, title)
    window.list_model().refresh()
    header = _table(window).horizontalHeader()
    title_header = QPoint(header.sectionViewportPosition(0) + 5, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=title_header)
    first = _titles(window)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=title_header)
    second = _titles(window)
    assert {tuple(first), tuple(second)} == {("A", "B", "C"), ("C", "B", "A")}


# --- new, save, select ---------------------------------------------------------


def test_selecting_a_row_opens_it_in_the_editor(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    record = _plan(store, "认识分数")
    _plan(store, "Plants")
    window.list_model().refresh()
    _select(qtbot, window, "认识分数")
    assert window.editor.current_id() == record.id
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    assert title.text() == "认识分数"


def test_ctrl_n_creates_a_record_of_the_current_kind(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    _sidebar(window).setCurrentRow(1)  # Training
    qtbot.keyClick(_table(window), Qt.Key.Key_N, CTRL)
    editor = window.editor
    assert editor.current_kind() == "training"
    assert editor.current_id() is None
    title = editor.field_widget("title")
    title.setFocus()
    qtbot.keyClicks(title, "Workshop on reading")
    with qtbot.waitSignal(editor.saved, timeout=5000):
        qtbot.keyClick(title, Qt.Key.Key_S, CTRL)  # save now
    assert store.counts()["training"] == 1
    assert _titles(window) == ["Workshop on reading"]
    assert window.selected_id() == editor.current_id()
    assert "Training 1" in _label(window, "counts")
    assert _label(window, "save_state") == "All changes saved"


def test_edits_refresh_the_row_and_keep_the_selection(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    _plan(store, "Old title")
    _plan(store, "Other")
    window.list_model().refresh()
    _select(qtbot, window, "Old title")
    selected = window.selected_id()
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    title.selectAll()
    qtbot.keyClicks(title, "New title")
    with qtbot.waitSignal(window.editor.saved, timeout=5000):
        window.editor.flush()
    assert "New title" in _titles(window)
    assert window.selected_id() == selected
    assert _titles(window)[_table(window).selectionModel().selectedRows()[0].row()] == "New title"


# --- delete and undo -----------------------------------------------------------


def test_delete_and_undo(qtbot: Any, store: Store, window: MainWindow) -> None:
    doomed = _plan(store, "认识分数")
    _plan(store, "Plants")
    window.list_model().refresh()
    window._refresh_counts()
    _select(qtbot, window, "认识分数")
    table = _table(window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert _titles(window) == ["Plants"]
    assert store.counts()["lesson_plan"] == 1
    assert _label(window, "counts").startswith("Lesson plans 1 ")
    assert window.statusBar().currentMessage() == "Deleted “认识分数”. Press Ctrl+Z to undo."
    with pytest.raises(RecordNotFound):
        store.get(doomed.id)
    assert window.editor.current_id() != doomed.id
    undo = _action(window, "action_undo")
    assert undo.isEnabled()
    assert undo.text() == "&Undo Delete “认识分数”"

    qtbot.keyClick(table, Qt.Key.Key_Z, CTRL)
    assert store.get(doomed.id).title == "认识分数"
    assert sorted(_titles(window)) == ["Plants", "认识分数"]
    assert _label(window, "counts").startswith("Lesson plans 2 ")
    assert window.selected_id() == doomed.id
    assert window.editor.current_id() == doomed.id
    assert not undo.isEnabled()


def test_delete_button_in_the_toolbar(qtbot: Any, store: Store, window: MainWindow) -> None:
    _plan(store, "One")
    window.list_model().refresh()
    _select(qtbot, window, "One")
    toolbar = window.findChild(QToolBar, "main_toolbar")
    assert toolbar is not None
    button = toolbar.widgetForAction(_action(window, "action_delete"))
    assert button is not None and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert _titles(window) == []
    assert store.counts()["lesson_plan"] == 0


def test_ctrl_z_in_the_search_box_undoes_typing_not_the_delete(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    doomed = _plan(store, "Plants")
    window.list_model().refresh()
    _select(qtbot, window, "Plants")
    _table(window).setFocus()
    qtbot.keyClick(_table(window), Qt.Key.Key_Delete)
    assert store.counts()["lesson_plan"] == 0
    search = _search(window)
    qtbot.keyClick(window, Qt.Key.Key_F, CTRL)
    assert search.hasFocus()
    qtbot.keyClicks(search, "abc")
    qtbot.keyClick(search, Qt.Key.Key_Z, CTRL)
    assert search.text() != "abc"  # the typing was undone...
    with pytest.raises(RecordNotFound):  # ...and the record stays deleted
        store.get(doomed.id)
    assert store.counts()["lesson_plan"] == 0


def test_delete_key_in_a_text_field_deletes_text(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    record = _plan(store, "Plants")
    window.list_model().refresh()
    _select(qtbot, window, "Plants")
    search = _search(window)
    search.setFocus()
    qtbot.keyClicks(search, "xy")
    qtbot.keyClick(search, Qt.Key.Key_Home)
    qtbot.keyClick(search, Qt.Key.Key_Delete)
    assert search.text() == "y"
    assert store.get(record.id).title == "Plants"


# --- duplicate -----------------------------------------------------------------


def test_duplicate_a_lesson_plan(qtbot: Any, store: Store, window: MainWindow) -> None:
    source = _plan(store, "认识分数", subject="math", grade=3)
    window.list_model().refresh()
    _select(qtbot, window, "认识分数")
    qtbot.keyClick(_table(window), Qt.Key.Key_D, CTRL)
    assert store.counts()["lesson_plan"] == 2
    copy_id = window.selected_id()
    assert copy_id is not None and copy_id != source.id
    copy = store.get(copy_id)
    assert copy.title == "认识分数 (copy)"
    assert copy.status == "draft"
    assert copy.values["subject"] == "math"
    assert copy.author == author_name()
    assert window.editor.current_id() == copy_id
    assert sorted(_titles(window)) == ["认识分数", "认识分数 (copy)"]
    assert "Lesson plans 2" in _label(window, "counts")


def test_duplicate_is_only_for_lesson_plans(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    store.create("training", {"title": "Workshop"}, author="test")
    _sidebar(window).setCurrentRow(1)
    _select(qtbot, window, "Workshop")
    assert not _action(window, "action_duplicate").isEnabled()
    qtbot.keyClick(_table(window), Qt.Key.Key_D, CTRL)
    assert store.counts()["training"] == 1


# --- filters -------------------------------------------------------------------


def test_filters_change_the_rows(qtbot: Any, store: Store, window: MainWindow) -> None:
    _plan(store, "Fractions", subject="math", grade=3, planned_date=dt.date(2025, 3, 1))
    _plan(store, "Poems", subject="chinese", grade=3, planned_date=dt.date(2025, 4, 1))
    _plan(store, "Counting", subject="math", grade=1, planned_date=dt.date(2025, 5, 1))
    window.list_model().refresh()
    assert len(_titles(window)) == 3
    clear = window.findChild(QPushButton, "clear_filters")
    assert clear is not None and not clear.isEnabled()

    _choose(_combo(window, "filter_subject"), "math")
    assert sorted(_titles(window)) == ["Counting", "Fractions"]
    assert _label(window, "result_count") == "2 records"
    _choose(_combo(window, "filter_grade"), 3)
    assert _titles(window) == ["Fractions"]
    assert clear.isEnabled()
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert len(_titles(window)) == 3
    assert _combo(window, "filter_subject").currentIndex() == 0

    date_from = window.findChild(QDateEdit, "filter_from")
    date_to = window.findChild(QDateEdit, "filter_to")
    assert date_from is not None and date_to is not None
    assert date_from.text() == "—"
    date_from.setDate(QDate(2025, 3, 15))
    assert sorted(_titles(window)) == ["Counting", "Poems"]
    date_to.setDate(QDate(2025, 4, 30))
    assert _titles(window) == ["Poems"]
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert date_from.text() == "—"
    assert len(_titles(window)) == 3

    _choose(_combo(window, "filter_status"), "approved")
    assert _titles(window) == []
    assert _label(window, "result_count") == "No records"
    _choose(_combo(window, "filter_status"), "draft")
    assert len(_titles(window)) == 3


# --- search --------------------------------------------------------------------


def test_ctrl_f_and_search_as_you_type(qtbot: Any, store: Store, window: MainWindow) -> None:
    fractions = _plan(store, "认识分数")
    _plan(store, "Plants")
    store.create("exchange", {"partner_school": "希望小学", "activities": "分数游戏"},
                 author="test")
    window.list_model().refresh()
    qtbot.keyClick(_table(window), Qt.Key.Key_F, CTRL)
    search = _search(window)
    assert search.hasFocus()
    assert search.placeholderText()
    _type_with_ime(search, "分数")
    qtbot.waitUntil(lambda: window.searching)
    assert isinstance(_table(window).model(), SearchResultsModel)
    assert sorted(_titles(window)) == ["希望小学", "认识分数"]
    assert _label(window, "result_count") == "2 results"
    assert _headers(window) == ["Kind", "Title", "Date", "Status"]

    _select(qtbot, window, "认识分数")
    assert window.editor.current_id() == fractions.id

    search.setFocus()
    search.selectAll()
    _type_with_ime(search, "没有这个")
    qtbot.waitUntil(lambda: _label(window, "result_count") == "No results")
    assert _titles(window) == []

    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    assert not window.searching
    assert sorted(_titles(window)) == ["Plants", "认识分数"]
    assert _headers(window)[0] == "Title"


def test_search_is_debounced(qtbot: Any, store: Store, window: MainWindow) -> None:
    _plan(store, "Plants")
    window.list_model().refresh()
    search = _search(window)
    search.setFocus()
    qtbot.keyClicks(search, "pla")
    assert not window.searching  # not yet: waits for a pause in typing
    qtbot.waitUntil(lambda: window.searching, timeout=2000)
    assert _titles(window) == ["Plants"]
    search.clear()  # the clear button does the same
    assert not window.searching
    assert _titles(window) == ["Plants"]


def test_special_characters_in_search(qtbot: Any, store: Store, window: MainWindow) -> None:
    _plan(store, "Plants (draft) - *star*")
    window.list_model().refresh()
    search = _search(window)
    for text in ('"', "*", "-", "NEAR", "(", "AND OR"):
        search.setText(text)
        qtbot.waitUntil(lambda: window.searching)
        assert _label(window, "result_count") in ("No results", "1 result")
        search.clear()


# --- settings ------------------------------------------------------------------


def test_window_state_is_restored(qtbot: Any, make_window: WindowFactory) -> None:
    first = make_window()
    first.resize(780, 560)  # within the offscreen test screen, above the window's least width
    _sidebar(first).setCurrentRow(2)
    first.close()
    assert QSettings().value(settings.LAST_KIND.key) == "exchange"
    second = make_window()
    assert (second.width(), second.height()) == (780, 560)
    assert _sidebar(second).currentRow() == 2
    assert second.kind.value == "exchange"
    assert _headers(second)[0] == "Partner school"


def test_closing_saves_what_is_being_typed(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    record = _plan(store, "Draft")
    window.list_model().refresh()
    _select(qtbot, window, "Draft")
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit)
    title.selectAll()
    qtbot.keyClicks(title, "Final")
    window.close()  # before the autosave timer fires
    assert store.get(record.id).title == "Final"


def test_settings_dialog_saves_name_and_language(qtbot: Any) -> None:
    translations = Translations()
    dialog = SettingsDialog(translations)
    qtbot.addWidget(dialog)
    language = dialog.findChild(QComboBox, "language")
    assert language is not None
    assert [language.itemText(i) for i in range(language.count())] == [
        "System default", "简体中文", "English",
    ]
    name = dialog.findChild(QLineEdit, "author_name")
    assert name is not None
    assert name.text() == "", "no name yet: not the OS login"
    _type_with_ime(name, "  李老师 ")
    _choose(language, "en")
    dialog.accept()
    assert settings.get(settings.AUTHOR_NAME) == "李老师"
    assert settings.get(settings.LANGUAGE) == "en"
    assert author_name() == "李老师"
    assert translations.language == "en"


def test_without_a_name_records_are_not_signed_with_the_login_name() -> None:
    settings.put(settings.AUTHOR_NAME, "")
    assert author_name() == ""


def test_language_change_relabels_without_errors(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    _plan(store, "Plants")
    window.list_model().refresh()
    _choose(_combo(window, "filter_status"), "draft")
    # The models are the window's children and re-label themselves too.
    with qtbot.waitSignals([window.list_model().headerDataChanged,
                            window.search_model().headerDataChanged]):
        QCoreApplication.sendEvent(window, QEvent(QEvent.Type.LanguageChange))
    assert window.windowTitle() == "Fieldbook"
    assert _combo(window, "filter_status").currentData() == "draft"
    assert _combo(window, "filter_status").itemText(0) == "All statuses"
    assert _titles(window) == ["Plants"]
    assert _label(window, "sync_state") == "Sync: not set up"


def test_a_failed_write_is_shown_in_the_status_bar(
    qtbot: Any, store: Store, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.errors import DiskFullError

    _plan(store, "Plants")
    window.list_model().refresh()
    _select(qtbot, window, "Plants")

    def full(_record_id: str) -> RecordData:
        raise DiskFullError(store.path, "database or disk is full")

    monkeypatch.setattr(store, "delete", full)
    _table(window).setFocus()
    qtbot.keyClick(_table(window), Qt.Key.Key_Delete)
    assert "disk is full" in window.statusBar().currentMessage()
    assert _titles(window) == ["Plants"]
    assert not window.undo_stack.canUndo()


def test_undo_brings_back_a_record_of_another_kind(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    store.create("exchange", {"partner_school": "希望小学"}, author="test")
    _sidebar(window).setCurrentRow(2)
    _select(qtbot, window, "希望小学")
    _table(window).setFocus()
    qtbot.keyClick(_table(window), Qt.Key.Key_Delete)
    assert _titles(window) == []
    _sidebar(window).setCurrentRow(0)
    qtbot.keyClick(_table(window), Qt.Key.Key_Z, CTRL)
    assert window.kind.value == "exchange"
    assert _titles(window) == ["希望小学"]
    assert window.statusBar().currentMessage() == "Restored “希望小学”."


def test_the_list_loads_more_rows_when_scrolled(
    qtbot: Any, store: Store, make_window: WindowFactory
) -> None:
    from app.ui.list_model import PAGE_SIZE

    for i in range(PAGE_SIZE + 30):
        _plan(store, f"Lesson {i:03d}")
    window = make_window()
    assert window.visible_row_count() == PAGE_SIZE
    assert _label(window, "result_count") == f"{PAGE_SIZE + 30} records"
    _table(window).scrollToBottom()
    qtbot.waitUntil(lambda: window.visible_row_count() == PAGE_SIZE + 30)


def test_save_state_is_shown_in_the_status_bar(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = window.editor
    for state, text in (
        ("pending", "Unsaved changes…"),
        ("saving", "Saving…"),
        ("saved", "All changes saved"),
        ("idle", ""),
    ):
        editor.save_state_changed.emit(state)
        assert _label(window, "save_state") == text
    monkeypatch.setattr(editor, "last_error", lambda: "The disk is full.")
    editor.save_state_changed.emit("failed")
    assert _label(window, "save_state") == "Not saved: The disk is full."


def test_preferences_open_without_blocking(qtbot: Any, window: MainWindow) -> None:
    _action(window, "action_preferences").trigger()
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    dialog.reject()


# --- read-only records and the review pages (issue 11, defect 2) -----------------


def _review_window(make_window: WindowFactory, store: Store, runner: TaskRunner) -> MainWindow:
    from app.ui.review_ui import ReviewUi

    window = make_window()
    ReviewUi(window, store, runner)
    return window


def _click_sidebar(qtbot: Any, window: MainWindow, text: str) -> None:
    sidebar = _sidebar(window)
    [item] = [sidebar.item(r) for r in range(sidebar.count()) if sidebar.item(r).text().startswith(text)]
    qtbot.mouseClick(sidebar.viewport(), Qt.MouseButton.LeftButton,
                     pos=sidebar.visualItemRect(item).center())


def test_a_read_only_record_cannot_be_deleted_by_key_button_or_menu(
    qtbot: Any, store: Store, runner: TaskRunner, make_window: WindowFactory
) -> None:
    from tests.ui.review_seed import FELLOW_A, TRAINER, add_people, record_of, sign_in_as

    sign_in_as(store, TRAINER, "trainer", "李培训")
    add_people(store)
    theirs = record_of(store, FELLOW_A, "lesson_plan", {"title": "王芳的教案"})
    mine = record_of(store, TRAINER, "lesson_plan", {"title": "My draft"}, status="draft")
    window = _review_window(make_window, store, runner)
    delete, save = _action(window, "action_delete"), _action(window, "action_save")

    _select(qtbot, window, "王芳的教案")
    assert window.editor.is_read_only()
    assert not delete.isEnabled() and not save.isEnabled()
    table = _table(window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    toolbar = window.findChild(QToolBar, "main_toolbar")
    assert toolbar is not None
    button = toolbar.widgetForAction(delete)
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert store.get(theirs.id).title == "王芳的教案"
    assert not _action(window, "action_undo").isEnabled(), "nothing to undo: nothing was deleted"

    _select(qtbot, window, "My draft")  # one's own draft is still deleted as before
    assert delete.isEnabled() and save.isEnabled()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    with pytest.raises(RecordNotFound):
        store.get(mine.id)


def test_ones_own_submitted_record_cannot_be_deleted(
    qtbot: Any, store: Store, runner: TaskRunner, make_window: WindowFactory
) -> None:
    from tests.ui.review_seed import FELLOW_A, record_of, sign_in_as

    sign_in_as(store, FELLOW_A, "fellow", "王芳")
    record_of(store, FELLOW_A, "lesson_plan", {"title": "交上去了"}, status="submitted")
    window = _review_window(make_window, store, runner)
    _select(qtbot, window, "交上去了")
    assert not _action(window, "action_delete").isEnabled()
    qtbot.keyClick(_table(window), Qt.Key.Key_Delete)
    assert store.counts()["lesson_plan"] == 1


def test_on_the_review_pages_new_starts_a_record_and_delete_duplicate_do_nothing(
    qtbot: Any, store: Store, runner: TaskRunner, make_window: WindowFactory
) -> None:
    from tests.ui.review_seed import TRAINER, add_people, record_of, sign_in_as

    sign_in_as(store, TRAINER, "trainer", "李培训")
    add_people(store)
    mine = record_of(store, TRAINER, "lesson_plan", {"title": "My draft"}, status="draft")
    window = _review_window(make_window, store, runner)
    _select(qtbot, window, "My draft")
    delete, duplicate = _action(window, "action_delete"), _action(window, "action_duplicate")
    assert delete.isEnabled() and duplicate.isEnabled()

    for page, wide in (("Review queue", False), ("Dashboard", True)):
        _click_sidebar(qtbot, window, page)
        assert window.current_page() is not None
        assert not delete.isEnabled() and not duplicate.isEnabled()
        assert _action(window, "action_save").isEnabled() is (not wide)
        qtbot.keyClick(window, Qt.Key.Key_D, CTRL)
        assert store.counts()["lesson_plan"] == 1, "Ctrl+D copied nothing"
        assert store.get(mine.id).title == "My draft"

    qtbot.keyClick(window, Qt.Key.Key_N, CTRL)  # New: back to the list, with a new form
    choose_blank(qtbot, window)
    assert window.current_page() is None
    assert window.editor.current_id() is None and window.editor.current_kind() == "lesson_plan"
    title = window.editor.field_widget("title")
    assert isinstance(title, QLineEdit) and title.isVisible()


def test_the_store_refuses_to_delete_someone_elses_record_and_says_so(
    qtbot: Any, store: Store, window: MainWindow
) -> None:
    from tests.ui.review_seed import FELLOW_A, TRAINER, record_of, sign_in_as

    sign_in_as(store, TRAINER, "trainer")
    theirs = record_of(store, FELLOW_A, "lesson_plan", {"title": "Not mine"})
    window.list_model().refresh()
    _select(qtbot, window, "Not mine")  # (no review workflow here: the store is the last guard)
    table = _table(window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert store.get(theirs.id).title == "Not mine"
    assert window.statusBar().currentMessage() == (
        "Could not delete the record: This record belongs to someone else: you can read it, "
        "but not change or delete it.")
