"""The review workflow on the local store (app/models/reviews.py, docs/review.md)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import RecordNotFound, ValidationFailed
from app.models import reviews, schema
from app.models.orm import Change, Review
from app.models.store import Store, list_backups
from app.protocol.sync import RemoteRecord
from app.sync import replica
from tests.models.reviewdata import (
    CHEN,
    LI,
    OTHER_TRAINER,
    PEOPLE,
    TRAINER,
    WANG,
    entry,
    lesson,
    page,
    remote,
    sign_in_as,
)

LESSON = {"title": "认识分数", "subject": "math", "grade": 3}
NOW = dt.datetime(2024, 9, 20, 12, 0, tzinfo=dt.UTC)


def change_fields(store: Store, record_id: str) -> dict[str, object]:
    with store.reading() as session:
        rows = session.scalars(select(Change).where(Change.record_id == record_id)).all()
        return {c.field: c.value for c in rows}


@pytest.fixture
def trainer(store: Store) -> Store:
    """A trainer's store after a pull: three fellows' submitted lesson plans
    (li's submitted on 1 Sept, wang's on 18 Sept, chen's without a submit
    entry, received as created on 5 Sept) and li's approved one."""
    sign_in_as(store, TRAINER)
    replica.apply_pull_page(store, page(
        [lesson("li-a", LI, "submitted", "2024-09-10"), lesson("wang-a", WANG, "submitted", "2024-09-15"),
         lesson("chen-a", CHEN, "submitted", "2024-09-16", created="2024-09-05T08:00:00+00:00"),
         lesson("li-b", LI, "approved", "2024-09-12")],
        reviews=[entry("s1", "li-a", LI, "submit", "2024-09-01T08:00:00Z", 11),
                 entry("s2", "wang-a", WANG, "submit", "2024-09-18T08:00:00Z", 12)],
        people=PEOPLE, people_hash="h1",
    ))
    return store


# --- schema -------------------------------------------------------------------------


def test_a_v3_store_is_upgraded_to_v4_after_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "fieldbook.db"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, 0, 3)
    conn.execute("INSERT INTO records (id, kind, created_at, updated_at, title) "
                 "VALUES ('r1', 'lesson_plan', '2024-09-01T00:00:00+00:00', "
                 "'2024-09-01T00:00:00+00:00', '认识分数')")
    conn.close()
    store = Store.open(path, tmp_path / "backups")
    try:
        assert store.schema_version == schema.CURRENT_VERSION
        record = store.get("r1")
        assert (record.revision_of, record.revision) == (None, 1)
        assert reviews.owner_of(store, "r1") is None
        assert reviews.thread(store, "r1") == [] and reviews.people(store) == []
        assert replica.sync_meta(store).people_hash == ""
    finally:
        store.close()
    backups = list_backups(tmp_path / "backups")
    assert len(backups) == 1 and "-v3-" in backups[0].name
    with sqlite3.connect(backups[0]) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 3
        assert old.execute("SELECT title FROM records").fetchone()[0] == "认识分数"


# --- owner's status changes -------------------------------------------------------------


def test_submit_and_withdraw_are_logged_status_writes_of_the_owner(store: Store) -> None:
    sign_in_as(store, LI, "fellow", "李老师")
    rid = store.create("lesson_plan", LESSON, author="李老师").id
    assert reviews.submit(store, rid).status == "submitted"
    assert change_fields(store, rid)["status"] == "submitted"
    with pytest.raises(ValidationFailed):
        reviews.submit(store, rid)  # already submitted
    assert reviews.withdraw(store, rid).status == "draft"
    with pytest.raises(ValidationFailed):
        reviews.withdraw(store, rid)  # a draft has nothing to take back


def test_only_the_owner_submits(store: Store) -> None:
    sign_in_as(store, TRAINER)
    replica.apply_pull_page(store, page([lesson("li-d", LI, "draft", "2024-09-10")]))
    with pytest.raises(ValidationFailed) as refused:
        reviews.submit(store, "li-d")
    assert "status" in refused.value.problems
    assert reviews.owner_of(store, "li-d") == LI
    assert store.get("li-d").status == "draft" and change_fields(store, "li-d") == {}


# --- decisions and comments --------------------------------------------------------------


def test_a_decision_is_queued_on_the_local_status_version(trainer: Store) -> None:
    decision = reviews.decide(trainer, "li-a", "approve", " 很好 ")
    assert (decision.pending, decision.outcome, decision.body, decision.seen) == (True, None, "很好", True)
    assert decision.author_id == TRAINER and decision.author == "赵老师"
    with trainer.reading() as session:
        assert session.get_one(Review, decision.id).basis == [3, "dev-b"]
    assert trainer.get("li-a").status == "submitted", "the server writes the status, not the client"
    assert replica.pending_count(trainer) == 1
    with pytest.raises(ValidationFailed):
        reviews.decide(trainer, "li-a", "return", "again")  # one decision waits already


def test_return_without_a_comment_is_refused_and_nothing_is_stored(trainer: Store) -> None:
    for body in ("", "   \n"):
        with pytest.raises(ValidationFailed) as refused:
            reviews.decide(trainer, "li-a", "return", body)
        assert list(refused.value.problems) == ["body"]
    assert [e.action for e in reviews.thread(trainer, "li-a")] == ["submit"]
    assert reviews.pending_reviews(trainer) == 0 and replica.pending_count(trainer) == 0


def test_decisions_are_refused_on_own_and_unsubmitted_records(trainer: Store) -> None:
    own = trainer.create("lesson_plan", LESSON, author="赵老师").id
    reviews.submit(trainer, own)
    with pytest.raises(ValidationFailed):
        reviews.decide(trainer, own, "approve")
    with pytest.raises(ValidationFailed):
        reviews.decide(trainer, "li-b", "return", "不行")  # approved already
    with pytest.raises(ValidationFailed):
        reviews.add_comment(trainer, "li-b", "  ")
    with pytest.raises(ValidationFailed):
        reviews.add_comment(trainer, "li-b", "长" * 5001)
    with pytest.raises(RecordNotFound):
        reviews.add_comment(trainer, "nope", "?")
    assert reviews.pending_reviews(trainer) == 0


def test_a_thread_is_confirmed_entries_by_server_time_then_pending_ones(trainer: Store) -> None:
    mine = reviews.add_comment(trainer, "li-a", "第一条")
    replica.apply_pull_page(trainer, page(reviews=[
        entry("c2", "li-a", OTHER_TRAINER, "comment", "2024-09-02T08:00:00+00:00", 14, "晚"),
        entry("c1", "li-a", LI, "comment", "2024-09-02T08:00:00+00:00", 13, "早"),
    ]))
    assert [e.id for e in reviews.thread(trainer, "li-a")] == ["s1", "c1", "c2", mine.id]
    assert reviews.thread(trainer, "li-a")[-1].pending


# --- unread ------------------------------------------------------------------------------


def test_unread_counts_entries_by_others_until_read(trainer: Store) -> None:
    # li's and wang's bare submissions are no comments: the queue tells of them.
    assert reviews.unread_count(trainer) == 0
    assert reviews.unread_records(trainer) == set()
    reviews.add_comment(trainer, "chen-a", "mine")  # own entries are seen
    replica.apply_pull_page(trainer, page(reviews=[
        entry("c3", "li-a", OTHER_TRAINER, "comment", "2024-09-03T08:00:00Z", 15, "看看"),
        entry("c4", "wang-a", TRAINER, "comment", "2024-09-03T09:00:00Z", 16, "from my laptop"),
        entry("s9", "wang-a", WANG, "submit", "2024-09-03T10:00:00Z", 17, "请看第二段"),
    ]))
    assert reviews.unread_count(trainer) == 2  # a comment, and a submission with a note
    assert reviews.unread_records(trainer) == {"li-a", "wang-a"}
    assert reviews.mark_read(trainer, "li-a") == 2  # the bare submission is seen too
    assert reviews.unread_records(trainer) == {"wang-a"} and reviews.unread_count(trainer) == 1
    assert reviews.mark_read(trainer, "li-a") == 0


# --- the queue --------------------------------------------------------------------------


def test_the_queue_is_others_submissions_oldest_first(trainer: Store) -> None:
    rows = reviews.review_queue(trainer)
    assert [r.record_id for r in rows] == ["li-a", "chen-a", "wang-a"]
    first = rows[0]
    assert (first.owner_name, first.school, first.title) == ("李老师", "第一中学", "认识分数")
    assert first.revision == 1
    assert first.submitted_at == dt.datetime(2024, 9, 1, 8, tzinfo=dt.UTC)
    assert reviews.queue_counts(trainer) == {LI: 1, WANG: 1, CHEN: 1}
    reviews.decide(trainer, "li-a", "approve")
    assert [r.record_id for r in reviews.review_queue(trainer)] == ["chen-a", "wang-a"]
    assert reviews.queue_counts(trainer) == {WANG: 1, CHEN: 1}


def test_the_queue_filters(trainer: Store) -> None:
    def ids(**filters: object) -> list[str]:
        return [r.record_id for r in reviews.review_queue(trainer, reviews.QueueFilter(**filters))]  # type: ignore[arg-type]

    assert ids(owner=WANG) == ["wang-a"]
    assert ids(school="第一中学") == ["li-a"]
    assert ids(kind="training") == []
    assert ids(kind="lesson_plan", date_to=dt.date(2024, 9, 10)) == ["li-a", "chen-a"]
    assert ids(date_from=dt.date(2024, 9, 10), date_to=dt.date(2024, 9, 30)) == ["wang-a"]


def test_fellows_have_no_queue(trainer: Store) -> None:
    sign_in_as(trainer, LI, "fellow", "李老师")
    assert reviews.review_queue(trainer) == [] and reviews.queue_counts(trainer) == {}


# --- revisions --------------------------------------------------------------------------


def test_a_new_revision_copies_the_content_into_the_chain(store: Store) -> None:
    sign_in_as(store, LI, "fellow", "李老师")
    first = store.create("lesson_plan", {**LESSON, "objectives": "会比较分数"}, author="李老师")
    store.set_meta_field(first.id, "status", "approved")
    second = reviews.new_revision(store, first.id)
    assert (second.status, second.revision_of, second.revision) == ("draft", first.id, 2)
    assert second.values == store.get(first.id).values and second.id != first.id
    assert store.get(first.id).status == "approved"
    logged = change_fields(store, second.id)
    assert (logged["revision_of"], logged["revision"], logged["objectives"]) == (first.id, 2, "会比较分数")
    third = store.new_revision(first.id)  # from any member of the chain: the chain's highest + 1
    assert (third.revision_of, third.revision) == (first.id, 3)
    assert reviews.revision_info(store, third.id) == (first.id, 3)
    assert "revision" not in change_fields(store, first.id), "a first revision logs no chain fields"


# --- dashboard ----------------------------------------------------------------------------


def training(record_id: str, owner: int, start: str, hours: float) -> RemoteRecord:
    return remote(record_id, owner, "training", title="培训", training_type="workshop",
                  start_date=start, hours=hours)


def exchange(record_id: str, owner: int, kind: str, day: str) -> RemoteRecord:
    return remote(record_id, owner, "exchange", partner_school="三小", exchange_type=kind,
                  exchange_date=day)


@pytest.fixture
def cohort(store: Store) -> Store:
    """Known figures: see the expected values in the tests below."""
    sign_in_as(store, TRAINER)
    records = [
        lesson("a", LI, "submitted", "2024-09-10"), lesson("b", LI, "approved", "2024-09-12"),
        lesson("c", LI, "returned", "2024-09-20"), lesson("d", LI, "draft", "2024-09-11"),
        lesson("e", LI, "approved", "2024-12-01"),  # outside the range
        training("t1", LI, "2024-09-05", 6),
        training("t2", LI, "2024-10-01", 2.5),
        training("t3", LI, "2024-11-15", 10),
        exchange("x1", LI, "visit", "2024-09-03"),
        exchange("x2", LI, "visit", "2024-09-04"),
        exchange("x3", LI, "observation", "2024-09-05"),
        exchange("x4", LI, "visit", "2024-11-05"),
        lesson("w", WANG, "submitted", "2024-09-15"),
        training("tw", WANG, "2024-09-06", 3),
        lesson("z", CHEN, "submitted", "2024-09-15"),
    ]
    replica.apply_pull_page(store, page(records, people=PEOPLE, people_hash="h", reviews=[
        entry("sa", "a", LI, "submit", "2024-09-01T08:00:00Z", 11),
        entry("sw", "w", WANG, "submit", "2024-09-18T08:00:00Z", 12),
        entry("sz", "z", CHEN, "submit", "2024-09-02T08:00:00Z", 13),
    ]))
    return store


def test_dashboard_figures_per_fellow_and_totals(cohort: Store) -> None:
    board = reviews.dashboard(cohort, cohort="一班", start=dt.date(2024, 9, 1), end=dt.date(2024, 10, 31),
                              stale_days=7, now=NOW)
    assert [(r.owner_id, r.name, r.school) for r in board.rows] == [
        (LI, "李老师", "第一中学"), (WANG, "王老师", "第二中学")]
    li, wang = board.rows
    lessons = (li.lessons_submitted, li.lessons_waiting, li.lessons_approved, li.lessons_returned)
    assert lessons == (3, 1, 1, 1)
    assert li.training_hours == 8.5 and li.stale_reviews == 1
    assert li.exchanges["visit"] == 2 and li.exchanges["observation"] == 1 and li.exchange_total == 3
    assert (wang.lessons_submitted, wang.training_hours, wang.stale_reviews) == (1, 3, 0)
    assert wang.exchange_total == 0
    totals = board.totals
    assert (totals.lessons_submitted, totals.lessons_waiting, totals.lessons_approved) == (4, 2, 1)
    assert (totals.training_hours, totals.exchange_total, totals.stale_reviews) == (11.5, 3, 1)


def test_dashboard_without_filters_and_for_one_fellow(cohort: Store) -> None:
    everyone = reviews.dashboard(cohort, now=NOW)
    assert {r.owner_id for r in everyone.rows} == {LI, WANG, CHEN}
    li = next(r for r in everyone.rows if r.owner_id == LI)
    assert (li.lessons_submitted, li.lessons_approved) == (4, 2)
    assert (li.training_hours, li.exchange_total) == (18.5, 4)
    assert everyone.totals.stale_reviews == 2  # li's and chen's
    only = reviews.dashboard(cohort, owner=CHEN, now=NOW)
    assert [r.owner_id for r in only.rows] == [CHEN] and only.totals.lessons_submitted == 1
    assert reviews.cohorts(cohort) == ["一班", "二班"]


def test_dashboard_csv_has_a_bom_crlf_and_the_chinese_names(cohort: Store, tmp_path: Path) -> None:
    board = reviews.dashboard(cohort, cohort="一班", now=NOW)
    target = reviews.export_dashboard_csv(board, tmp_path / "看板.csv", labels={"name": "学员"})
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 4 and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["学员", "School", "Lesson plans submitted"]
    assert rows[0][-1] == "Reviews waiting over 7 days"
    assert [r[0] for r in rows[1:]] == ["李老师", "王老师", "Total"]
    assert rows[1][rows[0].index("Training hours")] == "18.5"
    assert not (tmp_path / "看板.csv.part").exists()


def test_people_and_the_current_user(trainer: Store) -> None:
    assert {p.id for p in reviews.people(trainer)} == {p["id"] for p in PEOPLE}
    me = reviews.current_user(trainer)
    assert me is not None
    assert (me.id, me.name, me.role, me.cohorts) == (TRAINER, "赵老师", "trainer", ("一班",))
