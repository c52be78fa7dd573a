"""The server takes grades from 学前 (0) to 高三 (12), as the app does, and
refuses others with a clear reason and nothing stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.server.test_sync_service import MakeUser, group, new_id, push_raw, server_record


def test_preschool_and_senior_grades_are_stored(session: Session, make_user: MakeUser) -> None:
    fellow = make_user()
    preschool, senior = new_id(), new_id()
    result = push_raw(session, fellow, "d1",
                      group(1, preschool, {"title": "认识颜色", "grade": 0}, clock=1),
                      group(2, senior, {"title": "函数的概念", "grade": 12}, clock=2))
    assert result["results"] == []
    for record_id, grade in ((preschool, 0), (senior, 12)):
        record = server_record(session, record_id)
        assert record is not None and record.fields["grade"] == grade


def test_a_grade_beyond_senior_three_is_refused(session: Session, make_user: MakeUser) -> None:
    fellow = make_user()
    record_id = new_id()
    result = push_raw(session, fellow, "d1", group(1, record_id, {"title": "x", "grade": 13}, clock=1))
    [refused] = result["results"]
    assert refused["outcome"] == "rejected" and refused["fields"] == ["grade"]
    assert server_record(session, record_id) is None
