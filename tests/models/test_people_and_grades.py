"""Who wrote a record, and grades from 学前 to 高三 (issue 11)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.errors import ValidationFailed
from app.models.orm import Change, Record
from app.models.store import ListQuery, Store


def own(store: Store, record_id: str, owner: int) -> None:
    """As a sync leaves a record the server knows (it has an owner)."""
    with store.writing() as work:
        work.session.execute(update(Record).where(Record.id == record_id).values(owner_id=owner))


def test_signing_in_signs_every_record_not_yet_on_the_server(store: Store) -> None:
    before = store.create("lesson_plan", {"title": "认识分数"}, author="root").id
    nameless = store.create("training", {"title": "暑期集训"}, author="").id
    synced = store.create("exchange", {"partner_school": "城关小学"}, author="王芳").id
    own(store, synced, 7)
    changes = len(store.changes_since(0))
    updated = {r: store.get(r).updated_at for r in (before, nameless, synced)}

    assert store.sign_unsynced_records("  李老师 ") == 2
    assert [store.get(r).author for r in (before, nameless, synced)] == ["李老师", "李老师", "王芳"]
    # Not an edit: no change to send (the server names the author), no new "Updated".
    assert len(store.changes_since(0)) == changes
    assert {r: store.get(r).updated_at for r in updated} == updated
    assert store.sign_unsynced_records("李老师") == 0, "already signed"


def test_an_empty_name_changes_nothing(store: Store) -> None:
    record = store.create("lesson_plan", {"title": "认识分数"}, author="王芳").id
    assert store.sign_unsynced_records("   ") == 0
    assert store.get(record).author == "王芳"
    with store.reading() as session:
        assert session.query(Change).count() > 0


def test_grades_run_from_preschool_to_senior_three_and_no_further(store: Store) -> None:
    """0 is 学前, 1-9 are 一年级…九年级 as always, 10-12 are 高一…高三."""
    for grade in range(13):
        record = store.create("lesson_plan", {"title": f"{grade}", "grade": grade}, author="王芳")
        assert store.get(record.id).values["grade"] == grade
        assert [r.id for r in store.list_rows(ListQuery("lesson_plan", grade=grade))] == [record.id]
    for grade in (-1, 13):
        with pytest.raises(ValidationFailed) as refused:
            store.create("lesson_plan", {"title": "x", "grade": grade}, author="王芳")
        assert "grade" in refused.value.problems
    assert store.count(ListQuery("lesson_plan")) == 13
