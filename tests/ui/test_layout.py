"""Nothing cut off on a teacher's small laptop (1366×768, 1280×720), in Chinese
and in English: list columns, the sidebar, the review queue, the sign-in
fields, and a first start that fits the screen. Widths are checked against the
font's own measures, so a style sheet with other paddings keeps them honest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QRect, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QApplication, QHeaderView, QScrollArea, QTableView, QWidget
from pytestqt.qtbot import QtBot

from app.models.fields import KINDS, LISTED_KINDS, FieldType
from app.models.store import Store
from app.sync.tokens import TokenStore
from app.ui.i18n import Translations
from app.ui.list_model import CAPPED_COLUMN_EM, NAME_COLUMN_EM
from app.ui.main_window import MainWindow
from app.ui.review_queue import ReviewQueuePage
from app.ui.sync_controller import SyncController
from app.ui.sync_dialogs import SIGN_IN_FIELD_EM, SignInDialog
from app.ui.tasks import InlineRunner

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

SIZES = [(1366, 768), (1280, 720)]
LANGUAGES = ["zh_CN", "en"]
DAY = dt.date(2026, 12, 7)


@pytest.fixture
def translations() -> Iterator[Translations]:
    installed = Translations()
    yield installed
    installed.install("en")


@pytest.fixture
def open_window(qtbot: QtBot, store: Store, runner: InlineRunner,
                translations: Translations) -> Iterator[Any]:
    opened: list[MainWindow] = []

    def open_(language: str, size: tuple[int, int]) -> MainWindow:
        translations.install(language)
        window = MainWindow(store, runner, translations)
        opened.append(window)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield open_
    for window in opened:
        window.close()
        window.deleteLater()
    QCoreApplication.processEvents()


def _every_choice(store: Store) -> None:
    """A record for each choice of each listed field: the widest labels are listed."""
    for kind, spec in KINDS.items():
        title = spec.title_field
        for name in spec.list_columns:
            field = spec.field(name)
            for choice in field.choices:
                values: dict[str, Any] = {title: "认识分数", name: choice.code}
                values.update({f.name: DAY for f in spec.fields if f.type is FieldType.DATE
                               and f.name in spec.list_columns})
                store.create(kind, values, author="李老师")


def _em(view: QWidget) -> int:
    return view.fontMetrics().horizontalAdvance("M")


def _check_columns(table: QTableView, language: str) -> None:
    header = table.horizontalHeader()
    model = table.model()
    for column in range(header.count()):
        name = model.headerData(column, Qt.Orientation.Horizontal)
        width = header.sectionSize(column)
        if header.sectionResizeMode(column) == QHeaderView.ResizeMode.Stretch:
            assert width >= 8 * _em(table), f"title column {name!r} squeezed to {width}"
            continue
        assert width >= header.sectionSizeFromContents(column).width(), f"header {name!r} cut"
        needed = table.sizeHintForColumn(column)
        cap = CAPPED_COLUMN_EM * _em(table)
        if language == "en":  # long English choices may stop at the cap (the tooltip has them)
            needed = min(needed, cap)
        assert width >= needed, f"cells of {name!r} cut: {width} < {needed}"
        for row in range(model.rowCount()):
            text = str(model.data(model.index(row, column)) or "")
            if len(text) == 10 and text[4] == "-":  # a date: never cut
                assert width > table.fontMetrics().horizontalAdvance(text), text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_list_columns_show_their_texts_whole(open_window: Any, store: Store, language: str,
                                            size: tuple[int, int]) -> None:
    window = open_window(language, size)  # the first hour: an empty list
    _every_choice(store)
    window.refresh_records()
    for kind in LISTED_KINDS:  # (templates are never listed)
        window.set_kind(kind)
        assert window.table().model().rowCount() > 0
        _check_columns(window.table(), language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_the_sidebar_shows_its_labels_without_a_scroll_bar(
        qtbot: QtBot, open_window: Any, language: str, size: tuple[int, int]) -> None:
    window = open_window(language, size)
    window.add_page("review_queue", QWidget())
    window.add_page("dashboard", QWidget(), wide=True)
    window.set_page_text("review_queue", QCoreApplication.translate("ReviewUi", "Review queue")
                         + " (128)")
    window.set_page_text("dashboard", QCoreApplication.translate("ReviewUi", "Dashboard"))
    window.set_unread(set(), {kind: 128 for kind in KINDS})
    sidebar = window.sidebar()
    qtbot.waitUntil(lambda: sidebar.viewport().width() >= sidebar.sizeHintForColumn(0))
    assert not sidebar.horizontalScrollBar().isVisible()
    assert not sidebar.verticalScrollBar().isVisible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_empty_review_queue_keeps_its_columns(qtbot: QtBot, store: Store,
                                                 runner: InlineRunner,
                                                 translations: Translations,
                                                 language: str) -> None:
    translations.install(language)
    page = ReviewQueuePage(store, runner)
    qtbot.addWidget(page)
    page.resize(800, 560)
    page.show()
    qtbot.waitExposed(page)
    page.reload()
    table = page.table()
    header = table.horizontalHeader()
    assert page.model().rowCount() == 0
    for column in range(header.count()):
        assert header.sectionSize(column) >= header.sectionSizeFromContents(column).width()
    stamp = page.model().column_fit(0).texts[0]
    assert header.sectionSize(0) > table.fontMetrics().horizontalAdvance(stamp)
    for names in (1, 2):  # fellows and schools: room for a name before any is listed
        assert header.sectionSize(names) >= NAME_COLUMN_EM * _em(table)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_fields_are_wide_enough_for_an_address(
        qtbot: QtBot, store: Store, runner: InlineRunner, translations: Translations,
        language: str) -> None:
    translations.install(language)
    controller = SyncController(store, runner, tokens=TokenStore(), watch_network=False)
    try:
        dialog = SignInDialog(controller)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        for name in ("server_url", "username", "password"):
            field = dialog.findChild(QWidget, name)
            assert field is not None
            assert field.width() >= SIGN_IN_FIELD_EM * _em(field), name
        dialog.reject()
    finally:
        controller.shutdown(5)


@pytest.mark.parametrize("free", [QRect(0, 0, 1366, 728), QRect(0, 0, 1280, 680),
                                  QRect(0, 0, 1920, 1040)])
def test_the_first_start_fits_the_screen(qtbot: QtBot, store: Store, runner: InlineRunner,
                                         monkeypatch: pytest.MonkeyPatch, free: QRect) -> None:
    monkeypatch.setattr(QScreen, "availableGeometry", lambda _screen: free)
    window = MainWindow(store, runner, Translations())
    qtbot.addWidget(window)
    frame_allowance = 40  # the title bar the window manager adds
    assert window.width() <= free.width()
    assert window.height() + frame_allowance <= free.height()
    assert free.contains(window.geometry())
    assert window.width() >= min(1200, int(free.width() * 0.85))  # and uses the room it has
    window.close()
    assert QApplication.activeModalWidget() is None


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_an_open_record_leaves_the_titles_readable(open_window: Any, store: Store, runner: InlineRunner,
                                                   language: str, size: tuple[int, int]) -> None:
    """With a record open and its attachments strip shown, the editor must not
    claim so much width that the list's titles shrink to "…" (the English
    strip's one-line hint once did, at 1366 px)."""
    from app.ui.attachments_ui import AttachmentsUi
    from app.ui.transfers import TransferController

    record = store.create("lesson_plan", {"title": "认识分数（第一课时）", "grade": 3}, author="王芳")
    window = open_window(language, size)
    sync = SyncController(store, runner, tokens=TokenStore(), watch_network=False)
    AttachmentsUi(window, store, runner, TransferController.for_sync(sync, queue_ids=list))
    window.open_record(record.id)
    QCoreApplication.processEvents()
    title = window.table().horizontalHeader().sectionSize(0)
    assert title >= 8 * _em(window.table()), f"title column squeezed to {title} px"
    # …and the form fits its pane: no field hides behind a sideways scroll bar.
    form = window.findChild(QScrollArea, "editor_scroll")
    assert form is not None and form.widget() is not None
    assert form.widget().minimumSizeHint().width() <= form.viewport().width(), "the form is cut on the right"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_nearby_dialogs_fit_and_show_their_words_whole(
        qtbot: QtBot, store: Store, translations: Translations, language: str) -> None:
    """In the room, on the smallest screen: every button's label whole, the
    code field wide enough for its hint, and the dialog within 1366×768."""
    from PySide6.QtWidgets import QLineEdit, QPushButton

    from app.sync import lan, nearby
    from app.ui.nearby_collect import CarriedDelivery, CollectDialog
    from app.ui.nearby_share import ShareDialog

    translations.install(language)
    collect = CollectDialog(CarriedDelivery(nearby.Courier(store), lambda: None),
                            lambda added, removed: lan.Browser(added, removed, interface="127.0.0.1"))
    share = ShareDialog(lambda on_event: nearby.Sharing(store, on_event, interface="127.0.0.1"))
    for dialog in (collect, share):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert dialog.width() <= 1366 and dialog.height() <= 728, type(dialog).__name__
        for button in dialog.findChildren(QPushButton):
            if button.isVisible():
                assert button.width() >= button.sizeHint().width(), button.text()
        dialog.reject()
    code = collect.findChild(QLineEdit, "nearby_code")
    assert code is not None
    assert code.width() > code.fontMetrics().horizontalAdvance(code.placeholderText()), language
