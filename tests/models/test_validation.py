"""The rules every source of values goes through (UI, files, network)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models.fields import KINDS, LONG_TEXT_MAX, TITLE_MAX, Kind
from app.models.validation import validate_record


def problems(kind: str, **values: object) -> dict[str, str]:
    return {k: p.english() for k, p in validate_record(kind, values)[1].items() if p.blocking}


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        ("lesson_plan", {"grade": -1}, "grade"),  # 0 is 学前
        ("lesson_plan", {"grade": 13}, "grade"),  # 12 is 高三
        ("lesson_plan", {"grade": "三"}, "grade"),
        ("lesson_plan", {"grade": True}, "grade"),
        ("lesson_plan", {"subject": "alchemy"}, "subject"),
        ("lesson_plan", {"title": "x" * (TITLE_MAX + 1)}, "title"),
        ("lesson_plan", {"objectives": "字" * (LONG_TEXT_MAX + 1)}, "objectives"),
        ("lesson_plan", {"planned_date": "2026-02-30"}, "planned_date"),
        ("lesson_plan", {"planned_date": "1066-10-14"}, "planned_date"),
        ("lesson_plan", {"procedure": [{"phase": "导入", "minutes": -5}]}, "procedure"),
        ("lesson_plan", {"procedure": "not a list"}, "procedure"),
        ("lesson_plan", {"tags": [1, 2]}, "tags"),
        ("training", {"hours": -1}, "hours"),
        ("training", {"hours": float("nan")}, "hours"),
        ("training", {"start_date": "2026-03-02", "end_date": "2026-03-01"}, "end_date"),
        ("exchange", {"student_count": -3}, "student_count"),
        ("exchange", {"direction": "sideways"}, "direction"),
        ("exchange", {"activities": "bad\x00byte"}, "activities"),
        ("exchange", {"is_admin": True}, "is_admin"),
    ],
)
def test_bad_values_are_blocking(kind: str, values: dict[str, object], field: str) -> None:
    assert field in problems(kind, **values)


def test_good_values_are_canonical() -> None:
    clean, found = validate_record(
        "training",
        {"title": "教研\n活动", "hours": "3.5", "start_date": "2026-03-01", "online": True},
    )
    assert not found
    assert clean == {
        "title": "教研 活动", "hours": 3.5, "start_date": dt.date(2026, 3, 1), "online": True
    }


def test_tags_split_on_chinese_and_english_separators() -> None:
    clean, _ = validate_record("lesson_plan", {"tags": "分数，三年级、数学, fractions"})
    assert clean["tags"] == ["分数", "三年级", "数学", "fractions"]


def test_required_and_procedure_total_are_warnings() -> None:
    steps = [{"phase": "导入", "minutes": 10}, {"phase": "练习", "minutes": 20}]
    _, found = validate_record(
        "lesson_plan", {"title": "", "duration_minutes": 40, "procedure": steps}
    )
    assert found["title"].english() == "Required." and not found["title"].blocking
    assert "30" in found["procedure"].english() and not found["procedure"].blocking


@given(st.dictionaries(st.sampled_from(sorted(KINDS[Kind.LESSON_PLAN].by_name)),
                       st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(),
                                 st.lists(st.text()))))
def test_any_input_is_either_clean_or_a_problem(values: dict[str, object]) -> None:
    clean, found = validate_record("lesson_plan", values)
    assert set(clean) | set(found) >= set(values)
