"""Review entries and people through sync (replica and engine), against
constructed pages and answers: the server side is tested on its own."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import reviews
from app.models.orm import Review
from app.models.store import Store
from app.protocol.sync import PullRequest, PullResponse, PushRequest, PushResponse, ReviewResult
from app.sync import replica
from app.sync.client import ApiClient, UserInfo
from app.sync.engine import SyncEngine
from app.sync.errors import StoreRolledBack
from tests.models.reviewdata import (
    CHEN,
    LI,
    PEOPLE,
    SERVER_URL,
    TRAINER,
    WANG,
    entry,
    lesson,
    page,
    remote,
    sign_in_as,
)


@pytest.fixture
def trainer(store: Store) -> Store:
    sign_in_as(store, TRAINER)
    replica.apply_pull_page(store, page(
        [lesson("li-a", LI, "submitted", "2024-09-10"), lesson("wang-a", WANG, "submitted", "2024-09-15")],
        people=PEOPLE, people_hash="h1",
    ))
    return store


class ScriptedClient(ApiClient):
    """The server, played by the test: records every request; pushes are
    answered by ``answer_push`` (default: everything accepted), pulls with
    an empty last page."""

    def __init__(self) -> None:
        super().__init__(SERVER_URL)
        self.user = UserInfo(TRAINER, "user5", "赵老师", "trainer")
        self.pushes: list[PushRequest] = []
        self.pulls: list[PullRequest] = []
        self.fail_push: list[BaseException] = []
        self.review_answer: dict[str, ReviewResult] = {}
        self.answer_reviews = True

    def ensure_access(self) -> None:
        return None

    def push(self, request: PushRequest) -> PushResponse:
        self.pushes.append(request)
        if self.fail_push:
            raise self.fail_push.pop(0)
        changes = request["changes"]
        answer: PushResponse = {"protocol": 1, "results": [],
                                "last_seq": changes[-1]["seq"] if changes else 0}
        if self.answer_reviews:
            answer["reviews"] = [self.review_answer.get(r["id"], {"id": r["id"], "outcome": "accepted"})
                                 for r in request.get("reviews", [])]
        return answer

    def pull(self, request: PullRequest) -> PullResponse:
        self.pulls.append(request)
        return page(cursor=max(request["cursor"], 20), people_hash="h1")


def run(store: Store, client: ScriptedClient) -> Any:
    return SyncEngine(store, client, index_search=False).run()


# --- push -----------------------------------------------------------------------


def test_queued_entries_are_read_oldest_first_in_batches(trainer: Store) -> None:
    first = reviews.decide(trainer, "li-a", "approve", "好")
    second = reviews.add_comment(trainer, "wang-a", "请补充")
    third = reviews.decide(trainer, "wang-a", "return", "重写目标")
    batch = replica.pending_reviews(trainer, 2)
    assert [r["id"] for r in batch] == [first.id, second.id]
    assert batch[0]["basis"] == [3, "dev-b"] and batch[1]["basis"] == []
    assert batch[0]["action"] == "approve" and batch[0]["written_at"].endswith("+00:00")
    assert [r["id"] for r in replica.pending_reviews(trainer, exclude=[first.id, second.id])] == [third.id]
    assert replica.pending_count(trainer) == replica.pending_review_count(trainer) == 3


def test_entries_alone_are_pushed_in_one_request_without_changes(trainer: Store) -> None:
    decision = reviews.decide(trainer, "li-a", "approve")
    client = ScriptedClient()
    report = run(trainer, client)
    assert len(client.pushes) == 1 and client.pushes[0]["changes"] == []
    assert [r["id"] for r in client.pushes[0]["reviews"]] == [decision.id]
    assert report.reviews_sent == 1 and report.push_batches == 1
    assert reviews.pending_reviews(trainer) == 0 and replica.pending_count(trainer) == 0
    assert reviews.thread(trainer, "li-a")[0].outcome == "accepted"


def test_a_no_op_sync_is_one_request_carrying_the_people_hash(trainer: Store) -> None:
    client = ScriptedClient()
    run(trainer, client)
    assert client.pushes == [] and len(client.pulls) == 1
    assert client.pulls[0]["people_hash"] == "h1"


def test_entries_ride_in_the_first_request_after_the_changes(trainer: Store) -> None:
    own = [trainer.create("lesson_plan", {"title": f"课{i}"}, author="赵老师").id for i in range(2)]
    comment = reviews.add_comment(trainer, "li-a", "看过了")
    client = ScriptedClient()
    SyncEngine(trainer, client, index_search=False, batch_groups=1).run()
    assert [len(p["changes"]) for p in client.pushes] == [1, 1]
    assert [r["id"] for r in client.pushes[0]["reviews"]] == [comment.id]
    assert "reviews" not in client.pushes[1]
    assert {c["record_id"] for p in client.pushes for c in p["changes"]} == set(own)


def test_more_entries_than_a_request_holds_go_in_several(
    trainer: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replica, "MAX_PUSH_REVIEWS", 2)
    for i in range(3):
        reviews.add_comment(trainer, "li-a", f"第{i}条")
    client = ScriptedClient()
    report = run(trainer, client)
    assert [len(p["reviews"]) for p in client.pushes] == [2, 1]
    assert report.reviews_sent == 3 and reviews.pending_reviews(trainer) == 0


def test_answers_confirm_keep_superseded_reasons_and_drop_rejected_entries(trainer: Store) -> None:
    late = reviews.decide(trainer, "li-a", "approve", "不错")
    returned = reviews.decide(trainer, "wang-a", "return", "重写")
    refused = reviews.add_comment(trainer, "wang-a", "多余")
    client = ScriptedClient()
    client.review_answer = {
        late.id: {"id": late.id, "outcome": "superseded", "reason": "孙老师 already returned this record"},
        refused.id: {"id": refused.id, "outcome": "rejected", "reason": "not a reviewer of it"},
    }
    report = run(trainer, client)
    (kept,) = reviews.thread(trainer, "li-a")
    assert (kept.pending, kept.outcome, kept.reason, kept.body) == (
        False, "superseded", "孙老师 already returned this record", "不错")
    assert not kept.applied and kept.superseded
    assert [e.id for e in reviews.thread(trainer, "wang-a")] == [returned.id]
    assert report.superseded == 1 and report.reviews_sent == 2
    # Until the pull brings the server's status: the accepted decision keeps
    # its record out of the queue, the superseded one does not.
    assert [r.record_id for r in reviews.review_queue(trainer)] == ["li-a"]
    (rejection,) = report.review_rejections
    assert (rejection.id, rejection.body, rejection.reason) == (refused.id, "多余", "not a reviewer of it")
    assert replica.pending_count(trainer) == 0


def test_unanswered_entries_stay_queued_without_looping(
    trainer: Store, caplog: pytest.LogCaptureFixture
) -> None:
    comment = reviews.add_comment(trainer, "li-a", "?")
    client = ScriptedClient()
    client.answer_reviews = False  # a server that ignores them
    with caplog.at_level(logging.WARNING):
        run(trainer, client)
    assert len(client.pushes) == 1 and reviews.thread(trainer, "li-a")[0].id == comment.id
    assert reviews.pending_reviews(trainer) == 1
    assert "did not answer" in caplog.text


def test_a_rolled_back_store_pushes_its_entries_again_as_a_new_device(trainer: Store) -> None:
    trainer.create("lesson_plan", {"title": "课"}, author="赵老师")
    comment = reviews.add_comment(trainer, "li-a", "再看")
    old_device = trainer.device_id
    client = ScriptedClient()
    client.fail_push = [StoreRolledBack()]
    report = run(trainer, client)
    assert report.new_device and trainer.device_id != old_device
    assert [p["device_id"] for p in client.pushes] == [old_device, trainer.device_id]
    assert all(p["reviews"][0]["id"] == comment.id for p in client.pushes)
    assert report.reviews_sent == 1 and replica.pending_count(trainer) == 0


# --- pull -----------------------------------------------------------------------


def test_pulled_entries_are_upserted_by_id(trainer: Store) -> None:
    mine = reviews.add_comment(trainer, "li-a", "我的")
    pulled = page(reviews=[
        entry("s1", "li-a", LI, "submit", "2024-09-01T08:00:00Z", 11),
        entry(mine.id, "li-a", TRAINER, "comment", "2024-09-02T08:00:00Z", 12, "我的"),
        entry("c1", "li-a", CHEN, "comment", "2024-09-03T08:00:00Z", 13, "好",
              outcome="superseded", reason="late"),
    ])
    assert replica.apply_pull_page(trainer, pulled).reviews == 3
    reviews.mark_read(trainer, "li-a")
    replica.apply_pull_page(trainer, pulled)  # a page applied twice changes nothing
    with trainer.reading() as session:
        assert session.execute(select(func.count()).select_from(Review)).scalar_one() == 3
    thread = reviews.thread(trainer, "li-a")
    assert [e.id for e in thread] == ["s1", mine.id, "c1"]
    assert all(e.seen and not e.pending for e in thread), "the lost answer's entry is confirmed"
    assert thread[1].seq == 12 and thread[2].reason == "late"
    assert replica.pending_count(trainer) == 0 and reviews.unread_count(trainer) == 0


def test_a_malformed_entry_is_skipped_with_a_warning(
    trainer: Store, caplog: pytest.LogCaptureFixture
) -> None:
    bad: Any = {"id": "x", "record_id": "li-a"}
    result = replica.apply_pull_page(trainer, page(reviews=[bad, entry("ok", "li-a", LI, "comment",
                                                                       "2024-09-03T08:00:00Z", 13)]))
    assert result.reviews == 1 and "malformed review entry" in caplog.text


def test_people_are_stored_with_their_hash_and_kept_when_left_out(trainer: Store) -> None:
    assert replica.sync_meta(trainer).people_hash == "h1"
    assert {p.name for p in reviews.people(trainer)} >= {"李老师", "王老师"}
    assert replica.apply_pull_page(trainer, page(people_hash="h1")).people is None
    assert len(reviews.people(trainer)) == len(PEOPLE), "unchanged list left out: kept"
    replica.apply_pull_page(trainer, page(people=PEOPLE[:1], people_hash="h2"))
    assert [p.id for p in reviews.people(trainer)] == [TRAINER]
    assert replica.sync_meta(trainer).people_hash == "h2"


def test_revision_fields_of_a_pulled_record_are_stored(
    trainer: Store, caplog: pytest.LogCaptureFixture
) -> None:
    replica.apply_pull_page(trainer, page([
        remote("li-a2", LI, title="认识分数", status="draft", revision_of="li-a", revision=2),
        remote("li-bad", LI, title="坏", revision=0),
    ]))
    record = trainer.get("li-a2")
    assert (record.revision_of, record.revision) == ("li-a", 2)
    assert trainer.get("li-bad").revision == 1 and "not a revision number" in caplog.text


def test_entries_leave_with_their_owners_records(trainer: Store) -> None:
    replica.apply_pull_page(trainer, page(reviews=[entry("s1", "li-a", LI, "submit",
                                                         "2024-09-01T08:00:00Z", 11)]))
    reviews.add_comment(trainer, "li-a", "queued")
    dropped = page(scope=[WANG])
    dropped["removed"] = [LI]
    replica.apply_pull_page(trainer, dropped)
    assert reviews.thread(trainer, "li-a") == [] and reviews.unread_count(trainer) == 0
    assert replica.pending_count(trainer) == 0
