"""The benchmark data generator: deterministic, valid, and the store it builds
holds exactly the generated records (a correctness test, not a timed one)."""

from __future__ import annotations

import collections
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app.models.fields import FieldType, Kind, Status, kind_spec
from app.models.store import ListQuery, Store
from app.models.validation import validate_record
from bench.generate import (
    FIRST_DAY,
    LAST_DAY,
    GeneratedRecord,
    build_store,
    generate_items,
    generate_records,
    is_cached,
)

COUNT = 300
SEED = 7


@pytest.fixture(scope="module")
def items() -> list[GeneratedRecord]:
    return list(generate_items(COUNT, SEED))


def test_same_seed_same_records_other_seed_other_records(items: list[GeneratedRecord]) -> None:
    assert list(generate_items(COUNT, SEED)) == items
    assert list(generate_records(COUNT, SEED)) == [(i.kind, i.values) for i in items]
    other = list(generate_items(COUNT, SEED + 1))
    assert [i.values for i in other] != [i.values for i in items]


def test_every_record_is_valid_and_complete(items: list[GeneratedRecord]) -> None:
    unbalanced = 0
    for item in items:
        clean, problems = validate_record(item.kind, item.values)
        assert not [p for p in problems.values() if p.blocking], (item.kind, problems)
        # The only non-blocking problem allowed: steps not adding up (a few plans).
        assert set(problems) <= {"procedure"}, problems
        unbalanced += "procedure" in problems
        spec = kind_spec(item.kind)
        assert clean[spec.title_field].strip()
        day = clean[spec.date_field]
        assert isinstance(day, dt.date) and FIRST_DAY <= day <= LAST_DAY
        if item.kind == Kind.LESSON_PLAN:
            assert 3 <= len(clean["procedure"]) <= 6
            assert clean["duration_minutes"] in (40, 45, 80, 90)
            assert 50 <= len(clean["objectives"]) <= 400
        if item.kind == Kind.TRAINING and "end_date" in clean:
            assert clean["end_date"] >= clean["start_date"]
    lessons = sum(i.kind == Kind.LESSON_PLAN for i in items)
    assert unbalanced < lessons * 0.15  # "usually" adds up


def test_the_mix_of_kinds_statuses_and_languages(items: list[GeneratedRecord]) -> None:
    kinds = collections.Counter(i.kind for i in items)
    assert 0.5 * COUNT < kinds[Kind.LESSON_PLAN] < 0.7 * COUNT
    assert kinds[Kind.TRAINING] > 0.1 * COUNT and kinds[Kind.EXCHANGE] > 0.1 * COUNT
    statuses = collections.Counter(i.status for i in items)
    assert set(statuses) == {s.value for s in Status}
    assert statuses[Status.RETURNED] < statuses[Status.DRAFT]
    subjects = {i.values["subject"] for i in items if i.kind == Kind.LESSON_PLAN}
    assert {"chinese", "math", "english"} <= subjects
    titles = [i.values.get("title", "") for i in items]
    assert any(t.startswith("Unit ") for t in titles)
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles) > 0.6 * COUNT


def test_the_built_store_holds_the_generated_records(
    tmp_path: Path, items: list[GeneratedRecord]
) -> None:
    path = build_store(tmp_path / "bench" / "fieldbook.db", COUNT, SEED)
    assert is_cached(path, COUNT, SEED) and not is_cached(path, COUNT + 1, SEED)

    expected: dict[tuple[str, str], list[GeneratedRecord]] = collections.defaultdict(list)
    for item in items:
        expected[item.kind, item.values[kind_spec(item.kind).title_field]].append(item)

    store = Store.open(path)
    try:
        assert store.counts() == dict(collections.Counter(i.kind for i in items))
        for kind in Kind:
            for status in Status:
                want = sum(i.kind == kind and i.status == status for i in items)
                assert store.count(ListQuery(kind=kind.value, status=status.value)) == want
        # Every field of a sample reads back as generated (canonical form).
        rows = [
            row
            for kind in Kind
            for row in store.list_rows(ListQuery(kind=kind.value), 0, 10)
        ]
        for row in rows:
            record = store.get(row.id)
            title = record.values[kind_spec(record.kind).title_field]
            candidates = expected[record.kind, title]
            assert any(
                (c.author, c.status) == (record.author, record.status)
                and _read_back(c) == {k: record.values[k] for k in _read_back(c)}
                for c in candidates
            ), (record.kind, title)
        assert store.search("教学", 0, 10)
        assert store.search("phonics", 0, 10)
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def _read_back(item: GeneratedRecord) -> dict[str, Any]:
    clean, _problems = validate_record(item.kind, item.values)
    return {
        name: value
        for name, value in clean.items()
        if kind_spec(item.kind).field(name).type is not FieldType.BOOL
    }


def test_a_cached_store_is_reused_not_rebuilt(tmp_path: Path) -> None:
    path = build_store(tmp_path / "small.db", 20, SEED)
    stamp = path.stat().st_mtime_ns
    assert build_store(path, 20, SEED) == path
    assert path.stat().st_mtime_ns == stamp
    build_store(path, 21, SEED)  # another count: rebuilt
    assert is_cached(path, 21, SEED) and not is_cached(path, 20, SEED)
