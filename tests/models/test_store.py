"""The store on real SQLite files: writes, change log, tombstones, validation."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from app.errors import RecordNotFound, ValidationFailed
from app.models.store import ListQuery, Store


def lesson(**values: object) -> dict[str, object]:
    return {"title": "认识分数", "subject": "math", "grade": 3, **values}


def test_create_and_reopen(store_path: Path) -> None:
    store = Store.open(store_path)
    created = store.create("lesson_plan", lesson(tags=["分数"]), author="李老师")
    store.close()
    reopened = Store.open(store_path)
    got = reopened.get(created.id)
    assert got.values["title"] == "认识分数"
    assert got.values["tags"] == ["分数"]
    assert got.author == "李老师"
    assert got.status == "draft"
    assert got.created_at.tzinfo is not None
    reopened.close()


def test_store_pragmas_protect_against_power_cuts(store: Store) -> None:
    with store._writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_every_changed_field_is_logged_with_a_logical_clock(store: Store) -> None:
    record = store.create("lesson_plan", lesson(), author="a")
    after_create = store.changes_since()
    assert {c.field for c in after_create} == {"status", "title", "subject", "grade"}
    assert len({c.clock for c in after_create}) == 1  # one transaction, one tick

    result = store.update(record.id, {"title": "认识分数（二）", "grade": 3})
    assert result.changed == ("title",)  # grade did not change
    changes = store.changes_since()
    title_changes = [c for c in changes if c.field == "title"]
    assert len(title_changes) == 1, "unsent changes to one field are coalesced"
    assert title_changes[0].value == "认识分数（二）"
    assert title_changes[0].clock > after_create[0].clock


def test_clock_ignores_the_wall_clock(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A laptop whose clock jumps back a year still orders its edits correctly."""
    record = store.create("training", {"title": "暑期集训"}, author="a")
    import app.models.store as store_module

    monkeypatch.setattr(
        store_module, "utcnow", lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    store.update(record.id, {"title": "暑期集训 2026"})
    clocks = [c.clock for c in store.changes_since() if c.field == "title"]
    first_clock = min(c.clock for c in store.changes_since())
    assert clocks[-1] > first_clock


def test_pushed_changes_are_not_coalesced(store: Store) -> None:
    record = store.create("lesson_plan", lesson(), author="a")
    last = store.changes_since()[-1].seq
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'pushed_seq'", (str(last),))
    store.update(record.id, {"title": "新标题"})
    titles = [c.value for c in store.changes_since() if c.field == "title"]
    assert titles == ["认识分数", "新标题"]


def test_invalid_update_changes_nothing(store: Store) -> None:
    record = store.create("exchange", {"partner_school": "城关一小", "teacher_count": 3}, author="a")
    before = store.changes_since()
    with pytest.raises(ValidationFailed) as caught:
        store.update(record.id, {"teacher_count": -1, "activities": "听课"})
    assert set(caught.value.problems) == {"teacher_count"}
    assert store.get(record.id).values["teacher_count"] == 3
    assert store.get(record.id).values["activities"] == ""
    assert store.changes_since() == before


def test_end_before_start_is_refused_whichever_date_changes(store: Store) -> None:
    record = store.create(
        "training",
        {"title": "教研", "start_date": dt.date(2026, 3, 1), "end_date": dt.date(2026, 3, 2)},
        author="a",
    )
    with pytest.raises(ValidationFailed):
        store.update(record.id, {"start_date": dt.date(2026, 3, 5)})
    with pytest.raises(ValidationFailed):
        store.update(record.id, {"end_date": dt.date(2026, 2, 1)})
    assert store.get(record.id).values["start_date"] == dt.date(2026, 3, 1)


def test_unknown_fields_are_refused(store: Store) -> None:
    with pytest.raises(ValidationFailed):
        store.create("lesson_plan", {"title": "x", "deleted": True}, author="a")
    assert store.counts()["lesson_plan"] == 0


def test_missing_title_is_allowed_for_a_draft(store: Store) -> None:
    record = store.create("lesson_plan", {"objectives": "先写目标"}, author="a")
    assert store.get(record.id).values["title"] == ""


def test_delete_is_a_tombstone_and_restore_brings_it_back(store: Store) -> None:
    record = store.create("lesson_plan", lesson(), author="a")
    store.delete(record.id)
    assert store.counts()["lesson_plan"] == 0
    assert store.search("分数") == []
    with pytest.raises(RecordNotFound):
        store.get(record.id)
    assert store.get(record.id, include_deleted=True).deleted
    assert [c.value for c in store.changes_since() if c.field == "deleted"] == [True]
    with pytest.raises(RecordNotFound):
        store.update(record.id, {"title": "x"})

    store.restore(record.id)
    assert store.get(record.id).values["title"] == "认识分数"
    assert [r.id for r in store.search("分数")] == [record.id]


def test_duplicate_makes_a_new_draft(store: Store) -> None:
    steps = [{"phase": "导入", "minutes": 5, "teacher": "提问", "students": "回答"}]
    record = store.create("lesson_plan", lesson(procedure=steps), author="a")
    copy = store.duplicate(record.id, author="b", title_suffix="（副本）")
    assert copy.id != record.id
    assert copy.values["title"] == "认识分数（副本）"
    assert copy.values["procedure"] == steps
    assert copy.status == "draft" and copy.author == "b"


def test_list_filters_sort_and_page(store: Store) -> None:
    for i in range(25):
        store.create(
            "lesson_plan",
            lesson(
                title=f"第{i:02d}课",
                subject="math" if i % 2 else "chinese",
                grade=1 + i % 3,
                planned_date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            ),
            author="a",
        )
    store.create("training", {"title": "不是教案"}, author="a")
    query = ListQuery("lesson_plan", sort="planned_date", descending=False)
    first, second = store.list_rows(query, 0, 10), store.list_rows(query, 10, 10)
    assert [r.cells[0] for r in first][:2] == ["第00课", "第01课"]
    assert not {r.id for r in first} & {r.id for r in second}
    assert store.count(query) == 25
    assert store.count(ListQuery("lesson_plan", subject="math")) == 12
    assert store.count(ListQuery("lesson_plan", subject="math", grade=2)) == 4
    ranged = ListQuery(
        "lesson_plan", date_from=dt.date(2026, 1, 5), date_to=dt.date(2026, 1, 9)
    )
    assert store.count(ranged) == 5
    assert store.counts() == {"lesson_plan": 25, "training": 1, "exchange": 0}


def test_unknown_sort_column_falls_back_safely(store: Store) -> None:
    store.create("lesson_plan", lesson(), author="a")
    rows = store.list_rows(ListQuery("lesson_plan", sort="id; DROP TABLE records"))
    assert len(rows) == 1


def test_a_change_remembers_the_cursor_it_was_made_over(store: Store) -> None:
    record = store.create("lesson_plan", lesson(), author="a")
    assert {c.known for c in store.changes_since()} == {0}
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE meta SET value = '50' WHERE key = 'pull_cursor'")
    store.update(record.id, {"unit": "第三单元", "title": "新"})
    store.update(record.id, {"title": "更新"})
    known = {c.field: c.known for c in store.changes_since()}
    assert known["unit"] == 50
    assert known["title"] == 0, "a coalesced change keeps the oldest cursor of its parts"


def test_create_many_is_all_or_nothing(store: Store) -> None:
    items = [("lesson_plan", lesson(title=f"课{i}")) for i in range(5)]
    ids = store.create_many(items, author="a")
    assert len(set(ids)) == 5
    assert store.counts()["lesson_plan"] == 5
    assert len(store.search("课")) == 5
    assert len({c.clock for c in store.changes_since()}) == 1
    bad = [*items, ("training", {"title": "x", "hours": -2})]
    with pytest.raises(ValidationFailed) as caught:
        store.create_many(bad, author="a")
    assert list(caught.value.problems) == ["5.hours"]
    assert store.counts()["lesson_plan"] == 5
