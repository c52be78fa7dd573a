"""The look (issue 11, "An interface a teacher trusts"): the style sheet loads
cleanly and is applied, our icons draw, every empty list says what to do and
its button does it, the first run welcomes, the review decision shows as a
coloured chip, and buttons without text carry a name for screen readers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QWidget,
)

from app.models.store import Store
from app.resources import resource_dir
from app.sync import replica
from app.ui import settings, style
from app.ui.dashboard import DashboardPage
from app.ui.empty_state import EmptyStack, EmptyState
from app.ui.i18n import Translations
from app.ui.main_window import MainWindow
from app.ui.review_queue import ReviewQueuePage
from app.ui.review_ui import ReviewUi
from app.ui.tasks import TaskRunner
from tests.ui.chooser import choose_blank
from tests.ui.review_seed import add_people, record_of, server_entry, sign_in_as

TRAINER = 1


@pytest.fixture
def styled(qapp: QApplication) -> Iterator[QApplication]:
    """The application with Fieldbook's look, put back afterwards for the other tests."""
    sheet, palette, font, name = qapp.styleSheet(), qapp.palette(), qapp.font(), qapp.style().name()
    style.apply(qapp)
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setStyle(name)
    qapp.setPalette(palette)
    qapp.setFont(font)


@pytest.fixture
def make_window(qtbot: Any, store: Store, runner: TaskRunner) -> Iterator[Any]:
    opened: list[MainWindow] = []

    def make(*, reviews: bool = False) -> MainWindow:
        window = MainWindow(store, runner, Translations())
        if reviews:
            ReviewUi(window, store, runner)
        opened.append(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window in opened:
        window.close()
        window.deleteLater()
    QCoreApplication.processEvents()


Found = TypeVar("Found", bound=QObject)


def _child(parent: QWidget, kind: type[Found], name: str) -> Found:
    found = parent.findChild(kind, name)
    assert found is not None, name
    return found


def _click(qtbot: Any, button: QAbstractButton) -> None:
    assert button.isVisible() and button.isEnabled(), button.objectName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _stack(window: QWidget, name: str) -> EmptyStack:
    return _child(window, EmptyStack, name)


def _empty_title(stack: EmptyStack) -> str:
    assert stack.is_empty()
    return stack.empty.title()


# --- the style sheet and the icons --------------------------------------------------


def test_the_style_sheet_loads_without_warnings_and_colours_the_primary_action(
    qtbot: Any, styled: QApplication
) -> None:
    assert "QPushButton[primary=\"true\"]" in styled.styleSheet()
    assert "Noto Sans CJK SC" in styled.font().families()
    button = QPushButton("写第一份教案")
    qtbot.addWidget(button)
    style.mark_primary(button)
    button.resize(200, 40)
    button.show()
    qtbot.waitExposed(button)
    image = button.grab().toImage()
    corner_inset = image.pixelColor(12, image.height() // 2)
    assert corner_inset.name() == QColor(style.ACCENT).name()


def test_every_icon_draws_something(qapp: QApplication) -> None:
    names = sorted(path.stem for path in (resource_dir() / "icons").glob("*.svg"))
    for needed in ("lesson_plan", "training", "exchange", "review_queue", "dashboard", "new", "save",
                   "sync", "attach", "submit", "approve", "return", "delete", "search"):
        assert needed in names
    for name in names:
        image = style.icon(name).pixmap(QSize(24, 24)).toImage()
        inked = sum(image.pixelColor(x, y).alpha() > 0 for x in range(24) for y in range(24))
        assert inked > 20, name


# --- empty states ------------------------------------------------------------------------


def test_an_empty_list_says_so_and_its_button_starts_a_record(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    records = _stack(window, "records_stack")
    assert _empty_title(records) == "No lesson plans yet"
    assert records.empty.button.text() == "New lesson plan"
    window.set_kind("training")
    assert _empty_title(records) == "No training records yet"
    window.set_kind("lesson_plan")
    _click(qtbot, records.empty.button)
    choose_blank(qtbot, window)  # New on lesson plans: blank or from a template
    assert window.editor.current_kind() == "lesson_plan"
    assert not _stack(window, "editor_stack").is_empty()


def test_the_list_shows_again_once_it_has_a_record(qtbot: Any, store: Store, make_window: Any) -> None:
    window = make_window()
    records = _stack(window, "records_stack")
    assert records.is_empty()
    store.create("lesson_plan", {"title": "认识分数"}, author="test")
    window.refresh_records()
    assert not records.is_empty()
    assert records.currentWidget() is window.table()


def test_a_search_without_results_offers_to_clear_it(
    qtbot: Any, store: Store, make_window: Any
) -> None:
    store.create("lesson_plan", {"title": "Plants"}, author="test")
    window = make_window()
    records = _stack(window, "records_stack")
    assert not records.is_empty()
    search = _child(window, QLineEdit, "search")
    qtbot.keyClicks(search, "zebra")
    qtbot.waitUntil(lambda: records.is_empty())
    assert records.empty.title() == "Nothing matches “zebra”"
    _click(qtbot, records.empty.button)
    assert search.text() == ""
    assert not records.is_empty()
    assert not window.searching


def test_the_editor_with_nothing_open_welcomes_and_starts_a_record(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    editor = _stack(window, "editor_stack")
    assert _empty_title(editor) == "Choose a record, or start a new one"
    _click(qtbot, editor.empty.button)
    choose_blank(qtbot, window)
    assert window.editor.current_kind() == "lesson_plan"
    assert not editor.is_empty()


def _page_window(qtbot: Any, page: QWidget) -> tuple[QMainWindow, list[bool]]:
    """A window holding ``page`` with a "Sync now" action that records its use."""
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(page)
    synced: list[bool] = []
    action = QAction("Sync now", window)
    action.setObjectName("action_sync_now")
    action.triggered.connect(lambda _checked=False: synced.append(True))
    window.addAction(action)
    window.show()
    qtbot.waitExposed(window)
    return window, synced


def test_an_empty_review_queue_offers_to_sync(qtbot: Any, store: Store, runner: TaskRunner) -> None:
    sign_in_as(store, TRAINER, "trainer")
    page = ReviewQueuePage(store, runner)
    _window, synced = _page_window(qtbot, page)
    page.reload()
    stack = page.findChild(EmptyStack)
    assert stack is not None
    assert _empty_title(stack) == "Nothing is waiting for your review."
    _click(qtbot, stack.empty.button)
    assert synced == [True]


def test_an_empty_dashboard_offers_to_sync(qtbot: Any, store: Store, runner: TaskRunner) -> None:
    sign_in_as(store, TRAINER, "trainer")
    page = DashboardPage(store, runner)
    _window, synced = _page_window(qtbot, page)
    page.reload()
    stack = page.findChild(EmptyStack)
    assert stack is not None
    assert _empty_title(stack) == "No figures yet"
    _click(qtbot, stack.empty.button)
    assert synced == [True]


# --- the first run -------------------------------------------------------------------------


def test_the_first_run_welcomes_asks_the_name_and_starts_a_lesson_plan(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    assert window.show_welcome_on_first_run()
    assert window.showing_welcome()
    welcome = _child(window, QWidget, "welcome_page")
    assert "fieldbook.example.org" in _child(welcome, QLabel, "welcome_server_note").text()
    name = _child(welcome, QLineEdit, "welcome_name")
    qtbot.keyClicks(name, "Wang Fang")
    _click(qtbot, _child(welcome, QPushButton, "welcome_write"))
    assert settings.get(settings.AUTHOR_NAME) == "Wang Fang"
    assert not window.showing_welcome()
    assert window.editor.current_kind() == "lesson_plan"


def test_signing_in_from_the_welcome_page_opens_sign_in_and_leaves_once_signed_in(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    window.show_welcome_on_first_run()
    opened: list[bool] = []
    action = QAction("Sign in…", window)
    action.setObjectName("action_sign_in")
    action.triggered.connect(lambda _checked=False: opened.append(True))
    window.addAction(action)
    _click(qtbot, _child(window, QPushButton, "welcome_sign_in"))
    assert opened == [True]
    assert window.showing_welcome()  # not signed in yet
    action.setEnabled(False)  # what the sync UI does once signed in
    assert not window.showing_welcome()


def test_no_welcome_once_there_are_records_or_an_account(store: Store, make_window: Any) -> None:
    replica.set_account(store, server_url="https://fieldbook.example.org", username="wang",
                        user_id=2, role="fellow")
    assert not make_window().show_welcome_on_first_run()


# --- the review decision at a glance ---------------------------------------------------------


def test_the_status_shows_as_a_coloured_chip_in_the_editor_and_the_list(
    qtbot: Any, store: Store, make_window: Any
) -> None:
    sign_in_as(store, 2, "fellow")
    add_people(store)
    record = record_of(store, 2, "lesson_plan", {"title": "认识分数"}, status="returned")
    server_entry(store, record.id, "return", author_id=TRAINER, author="李培训", body="请补充练习")
    window = make_window(reviews=True)
    window.open_record(record.id)
    header = _child(window, QLabel, "editor_status")
    assert header.text() == "Returned" and header.property("status") == "returned"
    review = _child(window, QLabel, "review_status")
    assert review.property("status") == "returned"
    status_column = 4
    delegate = window.table().itemDelegateForColumn(status_column)
    assert isinstance(delegate, style.StatusChipDelegate)
    assert style.status_of_label(window.table().model().index(0, status_column).data()) == "returned"


# --- screen readers -----------------------------------------------------------------------------


def test_every_button_without_text_has_an_accessible_name_or_tooltip(
    qtbot: Any, store: Store, make_window: Any
) -> None:
    store.create("lesson_plan", {"title": "认识分数"}, author="test")
    window = make_window(reviews=True)
    window.table().selectRow(0)
    nameless = [
        f"{type(button).__name__} {button.objectName()!r} in {type(button.parent()).__name__}"
        for button in window.findChildren(QAbstractButton)
        if button.isVisible() and button.isEnabled() and not button.text().strip()
        and not button.accessibleName() and not button.toolTip()
    ]
    assert nameless == [], "\n".join(nameless)
    for name in ("sidebar", "records", "search", "editor_pane"):
        assert _child(window, QWidget, name).accessibleName(), name


def test_empty_states_are_named_for_screen_readers(qapp: QApplication) -> None:
    state = EmptyState("probe", "inbox")
    state.set_texts("No lesson plans yet", "Write your first lesson plan.", "New lesson plan")
    assert state.accessibleName() == "No lesson plans yet"
    assert state.accessibleDescription() == "Write your first lesson plan."
    state.deleteLater()
