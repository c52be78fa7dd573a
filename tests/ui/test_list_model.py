"""The list and search models on a real store: paging, sorting, filters, search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QLocale, QModelIndex, Qt

from app.models.fields import Kind, Status
from app.models.store import ListQuery, Store
from app.ui.list_model import (
    KIND_ROLE,
    PAGE_SIZE,
    RECORD_ID_ROLE,
    RecordTableModel,
    SearchResultsModel,
)

MANY = 2 * PAGE_SIZE + 50
SUBJECTS = ("math", "chinese", "english")


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store with enough lesson plans to need three pages (shared, read-only)."""
    store = Store.open(tmp_path_factory.mktemp("big") / "fieldbook.db")
    start = dt.date(2024, 9, 1)
    for i in range(MANY):
        store.create(
            "lesson_plan",
            {
                "title": f"第{i:03d}课 认识分数" if i % 10 == 0 else f"Lesson {i:03d}",
                "subject": SUBJECTS[i % 3],
                "grade": i % 6 + 1,
                "planned_date": start + dt.timedelta(days=i),
            },
            author="test",
        )
    yield store
    store.close()


def _column(model: RecordTableModel | SearchResultsModel, name: str) -> int:
    for column in range(model.columnCount()):
        if model.headerData(column, Qt.Orientation.Horizontal) == name:
            return column
    raise AssertionError(f"no column {name!r}")


def _texts(model: RecordTableModel | SearchResultsModel, column: int) -> list[str]:
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def _fetch_all(model: RecordTableModel | SearchResultsModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


# --- model contract ------------------------------------------------------------


def test_record_model_passes_the_model_tester(qtmodeltester: Any, big_store: Store) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    qtmodeltester.check(model)
    _fetch_all(model)
    qtmodeltester.check(model)


def test_search_model_passes_the_model_tester(qtmodeltester: Any, big_store: Store) -> None:
    model = SearchResultsModel(big_store)
    qtmodeltester.check(model)  # empty
    model.set_text("lesson")
    qtmodeltester.check(model)
    _fetch_all(model)
    qtmodeltester.check(model)


def test_every_kind_passes_the_model_tester(qtmodeltester: Any, store: Store) -> None:
    store.create("training", {"title": "暑期培训", "hours": 12.5,
                              "training_type": "workshop"}, author="t")
    store.create("exchange", {"partner_school": "", "direction": "online"}, author="t")
    for kind in Kind:
        qtmodeltester.check(RecordTableModel(store, ListQuery(kind.value)))


# --- paging --------------------------------------------------------------------


def test_rows_are_loaded_a_page_at_a_time(big_store: Store) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    assert model.total() == MANY
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE_SIZE
    model.fetchMore(QModelIndex())
    assert model.rowCount() == MANY
    assert not model.canFetchMore(QModelIndex())
    ids = [model.data(model.index(row, 0), RECORD_ID_ROLE) for row in range(MANY)]
    assert len(set(ids)) == MANY  # pages never overlap


def test_search_results_are_paged_too(big_store: Store) -> None:
    model = SearchResultsModel(big_store)
    model.set_text("lesson")
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore(QModelIndex())
    _fetch_all(model)
    assert model.rowCount() == MANY - MANY // 10


def test_row_of_finds_loaded_records(big_store: Store) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    first = model.data(model.index(3, 0), RECORD_ID_ROLE)
    assert model.row_of(first) == 3
    assert model.row_of("no-such-id") is None


def test_refresh_keeps_the_loaded_rows(store: Store) -> None:
    records = [store.create("lesson_plan", {"title": f"P{i}"}, author="t")
               for i in range(PAGE_SIZE + 20)]
    model = RecordTableModel(store, ListQuery("lesson_plan", sort="title", descending=False))
    _fetch_all(model)
    store.update(records[5].id, {"title": "P5 changed"})
    model.refresh()
    assert model.rowCount() == PAGE_SIZE + 20
    assert model.data(model.index(model.row_of(records[5].id) or 0, 0)) == "P5 changed"
    store.delete(records[0].id)
    model.refresh()
    assert model.rowCount() == PAGE_SIZE + 19
    assert model.row_of(records[0].id) is None


# --- display -------------------------------------------------------------------


def test_cells_are_formatted_for_reading(store: Store) -> None:
    store.create(
        "training",
        {"title": "", "training_type": "online_course", "start_date": dt.date(2025, 3, 4),
         "hours": 7},
        author="t",
    )
    model = RecordTableModel(store, ListQuery("training"))
    row = [model.data(model.index(0, column)) for column in range(model.columnCount())]
    assert row[:5] == ["(untitled)", "Online course", "2025-03-04", "7.0", "Draft"]
    assert row[5]  # updated, in local time
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Title", "Type", "Start date", "Hours", "Status", "Updated"]
    # The placeholder is grey; real titles keep the default colour.
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, 1), Qt.ItemDataRole.ForegroundRole) is None
    assert model.data(model.index(0, 0), KIND_ROLE) == "training"


@pytest.mark.parametrize("locale", ["en_US", "zh_CN", "de_DE"])
def test_updated_column_shows_local_time(store: Store, locale: str) -> None:
    record = store.create("exchange", {"partner_school": "Hope School"}, author="t")
    model = RecordTableModel(store, ListQuery("exchange"))
    previous = QLocale()
    QLocale.setDefault(QLocale(locale))
    try:
        text = model.data(model.index(0, 5))
    finally:
        QLocale.setDefault(previous)
    # One format in every language, 24-hour: never "12/4/26 11:44 PM" beside "23:45".
    assert text == record.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")


def test_language_change_relabels(qtbot: Any, store: Store) -> None:
    store.create("lesson_plan", {"title": "A"}, author="t")
    model = RecordTableModel(store, ListQuery("lesson_plan"))
    with qtbot.waitSignals([model.headerDataChanged, model.dataChanged]):
        model.retranslate()


# --- sorting -------------------------------------------------------------------


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_sorting_by_title(big_store: Store, order: Qt.SortOrder) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    column = _column(model, "Title")
    model.sort(column, order)
    assert model.query.sort == "title"
    assert model.query.descending == (order == Qt.SortOrder.DescendingOrder)
    _fetch_all(model)
    titles = _texts(model, column)
    assert titles == sorted(titles, reverse=order == Qt.SortOrder.DescendingOrder)


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
def test_sorting_by_date(big_store: Store, order: Qt.SortOrder) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    column = _column(model, "Planned date")
    model.sort(column, order)
    dates = _texts(model, column)
    assert len(dates) == PAGE_SIZE
    assert dates == sorted(dates, reverse=order == Qt.SortOrder.DescendingOrder)
    expected_first = "2024-09-01" if order == Qt.SortOrder.AscendingOrder else str(
        dt.date(2024, 9, 1) + dt.timedelta(days=MANY - 1)
    )
    assert dates[0] == expected_first


def test_sort_resets_the_model(qtbot: Any, big_store: Store) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan"))
    with qtbot.waitSignal(model.modelReset):
        model.sort(0, Qt.SortOrder.AscendingOrder)
    assert model.rowCount() == PAGE_SIZE  # back to one page


# --- filters -------------------------------------------------------------------


def test_filter_by_subject_and_grade(big_store: Store) -> None:
    model = RecordTableModel(big_store, ListQuery("lesson_plan", subject="math"))
    _fetch_all(model)
    subject = _column(model, "Subject")
    assert set(_texts(model, subject)) == {"Mathematics"}
    assert model.rowCount() == model.total() == len(range(0, MANY, 3))
    model.set_query(ListQuery("lesson_plan", subject="math", grade=1))
    _fetch_all(model)
    grade = _column(model, "Grade")
    assert set(_texts(model, grade)) == {"Grade 1"}  # a grade shows its name (学前 … 高三)
    assert model.rowCount() == len([i for i in range(MANY) if i % 3 == 0 and i % 6 == 0])


def test_filter_by_date_range(big_store: Store) -> None:
    query = ListQuery(
        "lesson_plan", date_from=dt.date(2024, 9, 10), date_to=dt.date(2024, 9, 19),
        sort="planned_date", descending=False,
    )
    model = RecordTableModel(big_store, query)
    dates = _texts(model, _column(model, "Planned date"))
    assert dates == [str(dt.date(2024, 9, 10) + dt.timedelta(days=i)) for i in range(10)]
    assert model.total() == 10


def test_filter_by_status(store: Store) -> None:
    plain = store.create("lesson_plan", {"title": "Plain"}, author="t")
    returned = store.create("lesson_plan", {"title": "Returned"}, author="t")
    # Straight to the status, past the review workflow's rules (reviews.py).
    store.set_meta_field(returned.id, "status", Status.RETURNED.value)
    model = RecordTableModel(store, ListQuery("lesson_plan", status="returned"))
    assert model.rowCount() == 1
    assert model.data(model.index(0, 0), RECORD_ID_ROLE) == returned.id
    assert model.data(model.index(0, _column(model, "Status"))) == "Returned"
    model.set_query(ListQuery("lesson_plan", status="draft"))
    assert [model.data(model.index(0, 0), RECORD_ID_ROLE)] == [plain.id]
    model.set_query(ListQuery("lesson_plan", status="approved"))
    assert model.rowCount() == 0


def test_filters_for_other_kinds_use_their_date(store: Store) -> None:
    store.create("exchange", {"partner_school": "Early", "exchange_date": dt.date(2024, 1, 5)},
                 author="t")
    store.create("exchange", {"partner_school": "Late", "exchange_date": dt.date(2025, 1, 5)},
                 author="t")
    model = RecordTableModel(store, ListQuery("exchange", date_from=dt.date(2024, 6, 1)))
    assert _texts(model, 0) == ["Late"]


# --- search --------------------------------------------------------------------


def test_chinese_search_finds_a_word_inside_a_title(store: Store) -> None:
    store.create("lesson_plan", {"title": "认识分数", "planned_date": dt.date(2025, 4, 1)},
                 author="t")
    store.create("training", {"title": "数学教研活动"}, author="t")
    store.create("exchange", {"partner_school": "希望小学", "observations": "讨论了分数教学"},
                 author="t")
    model = SearchResultsModel(store)
    model.set_text("分数")
    assert sorted(_texts(model, 1)) == sorted(["认识分数", "希望小学"])
    assert set(_texts(model, 0)) == {"Lesson plan", "Exchange log"}
    row = _texts(model, 1).index("认识分数")
    assert model.data(model.index(row, 2)) == "2025-04-01"
    assert model.data(model.index(row, 3)) == "Draft"
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)]
    assert headers == ["Kind", "Title", "Date", "Status"]

    model.set_text("教研")  # a two-character word
    assert _texts(model, 1) == ["数学教研活动"]
    model.set_text("识分")
    assert _texts(model, 1) == ["认识分数"]


def test_search_results_are_most_recent_first(store: Store) -> None:
    first = store.create("lesson_plan", {"title": "Fractions one"}, author="t")
    store.create("lesson_plan", {"title": "Fractions two"}, author="t")
    store.update(first.id, {"title": "Fractions one again"})
    model = SearchResultsModel(store)
    model.set_text("fractions")
    assert _texts(model, 1) == ["Fractions one again", "Fractions two"]


@pytest.mark.parametrize(
    "text", ['"', '"分数', "*", "分*", "-", "-分数", "NEAR", "NEAR(", "(", "分数)", "AND OR NOT",
             "   ", "'; DROP TABLE records; --", "^", ":", "title:分数"],
)
def test_special_characters_never_fail(qtmodeltester: Any, store: Store, text: str) -> None:
    store.create("lesson_plan", {"title": "认识分数 NEAR the end (draft) - *star*"}, author="t")
    model = SearchResultsModel(store)
    failures: list[str] = []
    model.failed.connect(failures.append)
    model.set_text(text)
    qtmodeltester.check(model)
    assert not failures
    assert model.rowCount() in (0, 1)


def test_searching_near_finds_the_word(store: Store) -> None:
    store.create("lesson_plan", {"title": "Stand near the board"}, author="t")
    model = SearchResultsModel(store)
    model.set_text("NEAR")
    assert model.rowCount() == 1


def test_deleted_records_are_not_listed_or_found(store: Store) -> None:
    record = store.create("lesson_plan", {"title": "认识分数"}, author="t")
    store.delete(record.id)
    assert RecordTableModel(store, ListQuery("lesson_plan")).rowCount() == 0
    search = SearchResultsModel(store)
    search.set_text("分数")
    assert search.rowCount() == 0


def test_a_store_error_is_reported_not_raised(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.errors import StoreBusyError

    def busy(*_args: object, **_kwargs: object) -> None:
        raise StoreBusyError(store.path, "database is locked")

    model = RecordTableModel(store, ListQuery("lesson_plan"))
    failures: list[str] = []
    model.failed.connect(failures.append)
    monkeypatch.setattr(store, "list_rows", busy)
    model.set_query(ListQuery("lesson_plan", status="draft"))
    assert model.rowCount() == 0
    assert failures and "locked" in failures[0]
