"""教案 templates in the store (app/models/templates.py, docs/templates.md):
the built-ins, saving a plan as a template, plans made from one, and what
the chooser offers of others' templates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import update

from app.errors import RecordNotFound, ValidationFailed
from app.models import schema, templates
from app.models.fields import LISTED_KINDS, TEMPLATE_CONTENT, Kind, kind_spec
from app.models.orm import LessonTemplate, Meta, Record
from app.models.store import ListQuery, RecordReadOnly, Store
from app.models.validation import validate_record

PLAN = {
    "title": "认识分数", "subject": "math", "grade": 3, "class_name": "三(2)班",
    "duration_minutes": 40, "objectives": "理解几分之一", "key_points": "分数的意义",
    "procedure": [{"phase": "导入", "minutes": 10, "teacher": "分月饼", "students": "讨论"},
                  {"phase": "新授", "minutes": 30, "teacher": "讲解", "students": "操作"}],
    "homework": "练习一", "notes": "板书设计：1/2", "reflection": "学生很投入", "tags": ["分数"],
}


def _sign_in(store: Store, user_id: int, role: str = "fellow") -> None:
    with store.writing() as work:
        work.session.merge(Meta(key="user_id", value=str(user_id)))
        work.session.merge(Meta(key="role", value=role))


def _give_to(store: Store, record_id: str, owner_id: int) -> None:
    with store.writing() as work:
        work.session.execute(update(Record).where(Record.id == record_id).values(owner_id=owner_id))


# --- the built-ins -------------------------------------------------------------------


def test_the_built_ins_are_the_six_kinds_of_lesson_the_issue_names() -> None:
    codes = [t.key.removeprefix("builtin:") for t in templates.BUILTIN_TEMPLATES]
    assert codes == ["new_lesson", "review", "experiment", "reading", "practice_activity", "english"]
    assert templates.builtin("english").values["subject"] == "english"
    with pytest.raises(KeyError):
        templates.builtin("nothing")


@pytest.mark.parametrize("template", templates.BUILTIN_TEMPLATES, ids=lambda t: t.key)
def test_every_built_in_is_a_valid_plan_whose_steps_fill_one_lesson(template: templates.Template) -> None:
    values = templates.plan_values(template.values)
    clean, problems = validate_record(Kind.LESSON_PLAN.value, values)
    assert problems == {}
    steps = clean["procedure"]
    assert len(steps) >= 4 and all(s["phase"] and s["teacher"] and s["students"] for s in steps)
    assert sum(s["minutes"] for s in steps) == clean["duration_minutes"] == templates.LESSON_MINUTES
    for name in ("objectives", "key_points", "materials", "homework", "notes"):
        assert clean[name], name
    assert "板书设计" in clean["notes"]
    assert template.name and template.description and template.builtin


def test_the_english_template_has_the_steps_of_an_english_lesson() -> None:
    phases = [s["phase"] for s in templates.builtin("english").values["procedure"]]
    assert phases == ["Warming-up", "Presentation", "Practice", "Production", "Summary", "Homework"]


def test_a_plan_from_a_built_in_is_a_draft_filled_in_and_untitled(store: Store) -> None:
    plan = templates.create_plan(store, templates.builtin("experiment"), author="李老师")
    assert plan.kind == Kind.LESSON_PLAN.value and plan.status == "draft" and plan.title == ""
    assert plan.values["procedure"] == templates.builtin("experiment").values["procedure"]
    assert plan.values["duration_minutes"] == 40
    assert store.count(ListQuery(Kind.LESSON_PLAN.value)) == 1
    # A creation like any other: in the change log, so it syncs.
    assert {c.field for c in store.changes_since(0)} >= {"procedure", "objectives", "status"}


# --- the user's templates ------------------------------------------------------------


def test_save_as_template_keeps_the_content_and_not_the_lesson(store: Store) -> None:
    plan = store.create(Kind.LESSON_PLAN.value, PLAN, author="李老师")
    template = templates.save_as_template(store, plan.id, "  我的分数课  ", author="李老师")
    assert template.kind == Kind.LESSON_TEMPLATE.value and template.title == "我的分数课"
    assert template.values["shared"] is False
    for name in TEMPLATE_CONTENT:
        assert template.values[name] == plan.values[name], name
    assert "class_name" not in template.values and "reflection" not in template.values
    assert store.get(plan.id).values == plan.values  # the plan is left as it was

    mine, shared = templates.user_templates(store)
    assert [t.name for t in mine] == ["我的分数课"] and shared == []
    again = templates.create_plan(store, mine[0], author="李老师")
    assert again.values["procedure"] == PLAN["procedure"] and again.values["class_name"] == ""
    assert again.values["reflection"] == "" and again.title == ""


def test_save_as_template_needs_a_name_and_a_lesson_plan(store: Store) -> None:
    plan = store.create(Kind.LESSON_PLAN.value, PLAN, author="李老师")
    training = store.create(Kind.TRAINING.value, {"title": "国培"}, author="李老师")
    with pytest.raises(ValidationFailed):
        templates.save_as_template(store, plan.id, "   ", author="李老师")
    with pytest.raises(ValidationFailed):
        templates.save_as_template(store, training.id, "名字", author="李老师")
    with pytest.raises(RecordNotFound):
        templates.save_as_template(store, "nope", "名字", author="李老师")
    assert templates.user_templates(store) == ([], [])


def test_templates_are_never_listed_counted_or_found(store: Store) -> None:
    plan = store.create(Kind.LESSON_PLAN.value, PLAN, author="李老师")
    templates.save_as_template(store, plan.id, "分数模板", author="李老师")
    assert Kind.LESSON_TEMPLATE not in LISTED_KINDS and not kind_spec(Kind.LESSON_TEMPLATE).listed
    assert store.counts() == {"lesson_plan": 1, "training": 0, "exchange": 0}
    assert [r.id for r in store.search("分数")] == [plan.id]
    assert store.search("分数模板") == []
    assert [r.id for r in store.list_rows(ListQuery(Kind.LESSON_PLAN.value))] == [plan.id]


def test_sharing_and_deleting_a_template_of_ones_own(store: Store) -> None:
    plan = store.create(Kind.LESSON_PLAN.value, PLAN, author="赵老师")
    template = templates.save_as_template(store, plan.id, "分数模板", author="赵老师")
    assert templates.set_shared(store, template.id, True).values["shared"] is True
    assert [c.value for c in store.changes_since(0) if c.field == "shared"] == [True]
    templates.delete_template(store, template.id)
    assert templates.user_templates(store) == ([], [])
    with pytest.raises(RecordNotFound):
        templates.delete_template(store, plan.id)  # not a template


def test_others_templates_are_offered_only_while_shared_and_never_changed(store: Store) -> None:
    _sign_in(store, 7, role="admin")
    plan = store.create(Kind.LESSON_PLAN.value, PLAN, author="李老师")
    own = templates.save_as_template(store, plan.id, "我的", author="李老师")
    _give_to(store, own.id, 7)
    theirs = templates.save_as_template(store, plan.id, "赵老师的", author="赵老师", shared=True)
    _give_to(store, theirs.id, 3)
    private = templates.save_as_template(store, plan.id, "没分享的", author="赵老师")
    _give_to(store, private.id, 3)

    mine, shared = templates.user_templates(store)
    assert [t.name for t in mine] == ["我的"]
    assert [(t.name, t.author, t.shared) for t in shared] == [("赵老师的", "赵老师", True)]
    # Read-only, even for an admin (who may change anyone's plans): a template is personal.
    with pytest.raises(RecordReadOnly):
        templates.set_shared(store, theirs.id, False)
    with pytest.raises(RecordReadOnly):
        templates.delete_template(store, theirs.id)
    with pytest.raises(RecordReadOnly):
        store.update(theirs.id, {"title": "改名"})
    # Usable: a plan of one's own from it.
    made = templates.create_plan(store, shared[0], author="李老师")
    assert made.values["objectives"] == PLAN["objectives"]
    # Unshared (the server sends shared = false): no longer offered.
    with store.writing() as work:
        work.session.execute(
            update(LessonTemplate).where(LessonTemplate.id == theirs.id).values(shared=False))
    assert templates.user_templates(store)[1] == []


# --- the schema step -----------------------------------------------------------------


def test_a_version_7_store_upgrades_and_keeps_its_plans(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, 0, 7)
    conn.execute(
        "INSERT INTO records (id, kind, author, created_at, updated_at, title, notes, procedure) "
        "VALUES ('p1', 'lesson_plan', '李老师', '2026-03-01T00:00:00+00:00', "
        "'2026-03-01T00:00:00+00:00', '旧的教案', '板书', '[]')"
    )
    conn.close()

    store = Store.open(path)
    assert store.schema_version == schema.CURRENT_VERSION == 8
    assert list((tmp_path / "backups").glob("fieldbook-v7-*.db"))
    old = store.get("p1")
    assert (old.title, old.values["notes"]) == ("旧的教案", "板书")
    template = templates.save_as_template(store, "p1", "旧模板", author="李老师")
    assert store.get(template.id).values["shared"] is False
    store.close()
