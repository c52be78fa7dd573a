"""The review workflow end to end: a real server on loopback, a fellow's
laptop and trainers' laptops, each working offline between syncs
(docs/review.md). Every step goes through the stores' own API and the real
sync engine, as the app and the CLI do."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.errors import ValidationFailed
from app.models import reviews
from app.models.fields import Status
from app.sync import replica
from tests.e2e.conftest import assert_replica_equals_server, server_state, visible_to
from tests.sync.conftest import Laptop, LiveServer

MakeLaptop = Callable[..., Laptop]
PLAN = {"title": "认识分数", "subject": "math", "grade": 3, "objectives": "理解几分之一"}


def actions(laptop: Laptop, record_id: str) -> list[tuple[str, str | None]]:
    return [(e.action, e.outcome) for e in reviews.thread(laptop.store, record_id)]


def converged(server: LiveServer, *laptops: Laptop) -> None:
    """Each laptop holds exactly what the server holds for its user."""
    state = server_state(server)
    for one in laptops:
        assert_replica_equals_server(one.store, state, one.username, one.username)


def test_submit_return_revise_approve_with_both_sides_offline_between_syncs(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    # The fellow writes and submits with no connection: both wait in the store.
    rid = li.store.create("lesson_plan", PLAN, author="李老师").id
    reviews.submit(li.store, rid)
    assert replica.pending_count(li.store) >= 1
    li.sync()

    zhao.sync()
    [row] = reviews.review_queue(zhao.store)
    assert row.record_id == rid and row.owner_name == "li 老师"
    assert reviews.queue_counts(zhao.store) == {row.owner_id: 1}
    # Returning needs a comment; without one nothing is queued.
    with pytest.raises(ValidationFailed):
        reviews.decide(zhao.store, rid, "return", "  ")
    assert reviews.pending_reviews(zhao.store) == 0
    # Decided offline: queued, the record leaves the queue at once.
    reviews.decide(zhao.store, rid, "return", "教学目标要写得更具体，请补充评价方式。")
    assert reviews.review_queue(zhao.store) == []
    assert actions(zhao, rid)[-1] == ("return", None)
    report = zhao.sync()
    assert report.reviews_sent == 1 and report.superseded == 0

    report = li.sync()
    assert li.store.get(rid).status == Status.RETURNED
    assert actions(li, rid) == [("submit", "accepted"), ("return", "accepted")]
    assert reviews.unread_count(li.store) == 1 and reviews.unread_records(li.store) == {rid}
    comment = reviews.thread(li.store, rid)[-1]
    assert comment.body == "教学目标要写得更具体，请补充评价方式。" and comment.author == "zhao 老师"
    assert reviews.mark_read(li.store, rid) == 1 and reviews.unread_count(li.store) == 0

    # Revise, answer in the thread, submit again (offline), sync.
    li.store.update(rid, {"assessment": "课堂练习与小组展示"})
    reviews.add_comment(li.store, rid, "已补充评价方式。")
    reviews.submit(li.store, rid)
    li.sync()

    zhao.sync()
    assert [r.record_id for r in reviews.review_queue(zhao.store)] == [rid]
    assert zhao.store.get(rid).values["assessment"] == "课堂练习与小组展示"
    reviews.decide(zhao.store, rid, "approve", "很好。")
    zhao.sync()
    li.sync()

    assert li.store.get(rid).status == Status.APPROVED
    # (One push carried the resubmission and the comment: the server applies
    # a push's record changes before its review entries.)
    assert actions(li, rid) == [
        ("submit", "accepted"), ("return", "accepted"), ("submit", "accepted"),
        ("comment", "accepted"), ("approve", "accepted"),
    ]
    assert actions(zhao, rid) == actions(li, rid), "both threads are the server's, in its order"
    converged(live_server, li, zhao)
    # The trainer's dashboard counts it.
    board = reviews.dashboard(zhao.store)
    [mine] = [r for r in board.rows if r.owner_id == row.owner_id]
    assert (mine.lessons_submitted, mine.lessons_approved, mine.lessons_returned) == (1, 1, 0)


def test_two_trainers_decide_at_once_the_first_stands_and_the_second_comment_is_kept(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    li, zhao, boss = laptop("li"), laptop("zhao"), laptop("admin")
    rid = li.store.create("lesson_plan", PLAN, author="李老师").id
    reviews.submit(li.store, rid)
    li.sync()
    zhao.sync()
    boss.sync()
    # Both decide offline on the same submission.
    reviews.decide(zhao.store, rid, "approve", "同意。")
    reviews.decide(boss.store, rid, "return", "请再看看板书设计。")

    assert zhao.sync().superseded == 0
    late = boss.sync()
    assert late.reviews_sent == 1 and late.superseded == 1
    [kept] = [e for e in reviews.thread(boss.store, rid) if e.action == "return"]
    assert kept.superseded and kept.body == "请再看看板书设计。" and kept.reason
    assert boss.store.get(rid).status == Status.APPROVED, "the late decision changed nothing"

    li.sync()
    zhao.sync()
    assert li.store.get(rid).status == Status.APPROVED
    for one in (li, zhao, boss):
        assert actions(one, rid) == [("submit", "accepted"), ("approve", "accepted"),
                                     ("return", "superseded")], one.username
    converged(live_server, li, zhao, boss)


def test_a_withdrawal_that_arrives_first_supersedes_the_decision(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    rid = li.store.create("lesson_plan", PLAN, author="李老师").id
    reviews.submit(li.store, rid)
    li.sync()
    zhao.sync()
    reviews.withdraw(li.store, rid)  # the fellow takes it back to keep editing...
    li.store.update(rid, {"homework": "练习册第12页"})
    li.sync()
    reviews.decide(zhao.store, rid, "approve", "可以。")  # ...while the trainer approves offline
    assert zhao.sync().superseded == 1
    li.sync()
    assert li.store.get(rid).status == Status.DRAFT
    assert li.store.get(rid).values["homework"] == "练习册第12页"
    assert actions(li, rid) == [("submit", "accepted"), ("withdraw", "accepted"),
                                ("approve", "superseded")]
    converged(live_server, li, zhao)


def test_an_offline_edit_of_a_record_approved_meanwhile_becomes_a_new_revision(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    """Nothing either of them wrote is lost: the approval stands on the text
    the trainer read, the fellow's edit lives on as revision 2."""
    li, zhao = laptop("li"), laptop("zhao")
    rid = li.store.create("lesson_plan", PLAN, author="李老师").id
    reviews.submit(li.store, rid)
    li.sync()
    zhao.sync()
    reviews.decide(zhao.store, rid, "approve", "通过。")
    zhao.sync()
    # Offline since submitting, li takes it back and rewrites the objectives.
    reviews.withdraw(li.store, rid)
    li.store.update(rid, {"objectives": "理解几分之一，并能比较大小"})
    report = li.sync()
    assert report.merged >= 1

    original = li.store.get(rid)
    assert original.status == Status.APPROVED
    assert original.values["objectives"] == "理解几分之一", "the approved text is what the trainer read"
    state = server_state(live_server)
    forks = [record_id for record_id, rec in visible_to(state, "li").items() if record_id != rid]
    assert len(forks) == 1, forks
    fork = li.store.get(forks[0])
    assert fork.values["objectives"] == "理解几分之一，并能比较大小"
    assert fork.status == Status.DRAFT
    assert reviews.revision_info(li.store, fork.id) == (rid, 2)
    assert any(n.kind == "revised" for n in replica.unseen_notices(li.store))
    zhao.sync()
    assert zhao.store.get(rid).values["objectives"] == "理解几分之一"
    converged(live_server, li, zhao)
