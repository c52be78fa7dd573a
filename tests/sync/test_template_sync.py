"""教案 templates end to end on a real server over loopback (docs/templates.md):
a user's templates sync with the account, a trainer's shared ones reach the
fellows of the cohort read-only and usable, unsharing takes them out, and a
forbidden change is refused and put back.

Users (tests/sync/conftest.py): zhao trains 一班, whose fellows are li and
wang; chen is a fellow of 二班.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.models import templates
from app.models.fields import Kind
from app.models.orm import LessonTemplate
from app.models.store import RecordReadOnly
from tests.sync.conftest import Laptop

MakeLaptop = Callable[..., Laptop]
PLAN = {"title": "认识分数", "subject": "math", "grade": 3, "duration_minutes": 40,
        "objectives": "理解几分之一", "homework": "练习一",
        "procedure": [{"phase": "导入", "minutes": 10, "teacher": "分月饼", "students": "讨论"},
                      {"phase": "新授", "minutes": 30, "teacher": "讲解", "students": "操作"}]}


def _names(laptop: Laptop) -> tuple[list[str], list[str]]:
    mine, shared = templates.user_templates(laptop.store)
    return [t.name for t in mine], [t.name for t in shared]


def test_a_users_templates_sync_with_the_account(laptop: MakeLaptop) -> None:
    first = laptop("li")
    plan = first.store.create(Kind.LESSON_PLAN.value, PLAN, author="li 老师")
    template = templates.save_as_template(first.store, plan.id, "我的分数课", author="li 老师")
    first.sync()

    second = laptop("li")
    second.sync()
    assert _names(second) == (["我的分数课"], [])
    assert second.store.counts()["lesson_plan"] == 1  # the template is not counted as a plan
    # Edited on one laptop (its own: not read-only), deleted on the other: both arrive.
    templates.set_shared(second.store, template.id, False)
    second.store.update(template.id, {"homework": "练习二"})
    second.sync()
    first.sync()
    assert templates.user_templates(first.store)[0][0].values["homework"] == "练习二"
    templates.delete_template(first.store, template.id)
    first.sync()
    second.sync()
    assert _names(second) == ([], [])


def test_a_trainers_shared_templates_reach_the_cohort_and_leave_it_when_unshared(
    laptop: MakeLaptop,
) -> None:
    trainer = laptop("zhao")
    plan = trainer.store.create(Kind.LESSON_PLAN.value, PLAN, author="zhao 老师")
    shared = templates.save_as_template(trainer.store, plan.id, "分数课模板", author="zhao 老师",
                                        shared=True)
    templates.save_as_template(trainer.store, plan.id, "自己用的", author="zhao 老师")
    report = trainer.sync()
    assert report.rejections == []

    fellow, outsider, admin = laptop("li"), laptop("chen"), laptop("admin")
    fellow.sync()
    outsider.sync()
    admin.sync()
    assert _names(fellow) == ([], ["分数课模板"])
    assert _names(outsider) == ([], [])
    assert _names(admin) == ([], ["分数课模板"])  # an admin holds both, is offered the shared one
    # Nothing else of the trainer's reaches the fellow.
    assert fellow.store.counts()["lesson_plan"] == 0

    # Read-only and usable.
    with pytest.raises(RecordReadOnly):
        fellow.store.update(shared.id, {"title": "我改的"})
    with pytest.raises(RecordReadOnly):
        templates.delete_template(admin.store, shared.id)
    [offered] = templates.user_templates(fellow.store)[1]
    made = templates.create_plan(fellow.store, offered, author="li 老师", title="第三课 分数")
    assert made.values["procedure"] == PLAN["procedure"]
    assert fellow.sync().rejections == []
    trainer.sync()
    assert trainer.store.get(made.id).values["objectives"] == "理解几分之一"  # the trainer sees li's plan

    # Unshared: the fellow's chooser no longer offers it after the next sync.
    templates.set_shared(trainer.store, shared.id, False)
    trainer.sync()
    fellow.sync()
    assert _names(fellow) == ([], [])
    # Edited while unshared, shared again: the fellow gets it whole, with the edit.
    trainer.store.update(shared.id, {"homework": "新的作业"})
    templates.set_shared(trainer.store, shared.id, True)
    trainer.sync()
    fellow.sync()
    [again] = templates.user_templates(fellow.store)[1]
    assert again.values["homework"] == "新的作业"


def test_a_change_to_someone_elses_template_is_refused_and_put_back(laptop: MakeLaptop) -> None:
    trainer = laptop("zhao")
    plan = trainer.store.create(Kind.LESSON_PLAN.value, PLAN, author="zhao 老师")
    shared = templates.save_as_template(trainer.store, plan.id, "分数课模板", author="zhao 老师",
                                        shared=True)
    trainer.sync()
    fellow = laptop("li")
    fellow.sync()

    # A change the store would refuse, logged by hand (an older client, a damaged store).
    with fellow.store.writing() as work:
        record = work.session.scalars(select(LessonTemplate).where(LessonTemplate.id == shared.id)).one()
        record.title = "我改的"
        work.log_change(record, "title", "我改的", work.tick())
    report = fellow.sync()
    [refused] = report.rejections
    assert refused.record_id == shared.id and "belongs to someone else" in refused.reason
    assert fellow.store.get(shared.id).title == "分数课模板"  # put back to the server's copy
    trainer.sync()
    assert trainer.store.get(shared.id).title == "分数课模板"
