"""``Store.import_records``: many records in one transaction, all or nothing."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import ValidationFailed
from app.models.store import ImportItem, Store

LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "fieldbook.db")
    yield opened
    opened.close()


def item(number: int, **changes: object) -> ImportItem:
    fields = {**LESSON, "title": f"第{number}课", **changes}
    return ImportItem(str(uuid.UUID(int=number + 1)), "lesson_plan", fields, "李老师")


def test_every_problem_is_named_and_nothing_is_written(store: Store) -> None:
    existing = store.create("training", {"title": "国培"}, author="李老师")
    logged = store.changes_since()
    items = [
        item(0),
        item(1, grade=99),
        ImportItem(existing.id, "lesson_plan", {"title": "x"}, "李老师"),
        ImportItem(str(uuid.UUID(int=9)), "lesson_plan", {"title": "y"}, "李老师", status="lost"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        store.import_records(items)
    assert set(refused.value.problems) == {"1.grade", "2", "3"}
    assert "exists here as a training" in str(refused.value.problems["2"])
    assert sum(store.counts().values()) == 1
    assert store.changes_since() == logged, "the change log is as it was"


def test_check_only_writes_nothing(store: Store) -> None:
    counts = store.import_records([item(0), item(1)], check_only=True)
    assert (counts.created, counts.updated, counts.unchanged) == (2, 0, 0)
    assert sum(store.counts().values()) == 0


def test_a_repeat_changes_nothing_and_an_edit_updates(store: Store) -> None:
    items = [item(n) for n in range(3)]
    first = store.import_records([*items[:2], dataclasses.replace(items[2], status="submitted")])
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert store.get(items[2].record_id).status == "submitted"
    logged = len(store.changes_since())
    again = store.import_records(items[:2])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert len(store.changes_since()) == logged, "a repeat logs nothing"
    store.delete(items[0].record_id)
    edited = store.import_records([item(0), item(1, grade=5)])
    assert (edited.created, edited.updated, edited.unchanged) == (0, 2, 0)
    assert not store.get(items[0].record_id).deleted, "a deleted record comes back"
    assert store.get(items[1].record_id).values["grade"] == 5
