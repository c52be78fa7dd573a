"""The sync engine end to end: laptops with real stores against a real server."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from app.models.orm import Record
from app.models.store import RecordReadOnly, Store
from app.protocol.sync import PullRequest, PullResponse, PushRequest, PushResponse
from app.sync import replica
from app.sync.client import ApiClient
from app.sync.engine import Backoff, Stage, SyncEngine, SyncProgress, sign_in, sign_out
from app.sync.errors import (
    AccountMismatch,
    AuthRequired,
    ClientTooOld,
    InvalidCredentials,
    MassDeletePending,
    Offline,
    RequestRejected,
    Throttled,
)
from app.sync.tokens import TokenStore
from tests.sync.conftest import Laptop, LiveServer

pytestmark = pytest.mark.slow

MakeLaptop = Callable[..., Laptop]
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


def lesson(i: int, **values: Any) -> dict[str, Any]:
    return {**LESSON, "title": f"第{i}课 认识分数", **values}


def converged(*laptops: Laptop) -> dict[str, tuple[Any, ...]]:
    first = laptops[0].snapshot()
    for other in laptops[1:]:
        assert other.snapshot() == first, f"{other.username}'s store differs from {laptops[0].username}'s"
    return first


def test_offline_work_syncs_and_both_sides_converge(laptop: MakeLaptop, live_server: LiveServer) -> None:
    a = laptop("li", sign_in=False)
    made = [a.store.create("lesson_plan", lesson(i), author="李老师").id for i in range(3)]
    a.store.update(made[0], {"unit": "第一单元"})
    a.store.delete(made[2])
    # Signing in after working offline claims the records on the first push.
    sign_in(a.store, a.client, a.tokens, live_server.url, "li", live_server.users["li"])
    progress: list[SyncProgress] = []
    report = a.sync(on_progress=progress.append)

    assert report.pushed == 5 and report.rejections == []  # 3 creations, an edit, a delete
    assert report.requests >= 2 and report.bytes_sent > 0 and report.bytes_received > 0
    assert progress[0].stage == Stage.AUTHENTICATE
    assert progress[-1].stage == Stage.DONE
    push_steps = [p for p in progress if p.stage == Stage.PUSH]
    assert push_steps[0].total == 5 and push_steps[-1].done == 5
    meta = replica.sync_meta(a.store)
    assert meta.last_synced_at is not None and meta.user_id is not None
    assert replica.pending_count(a.store) == 0

    b = laptop("li")
    report_b = b.sync()
    assert report_b.created == 3
    assert b.store.get(made[0]).values["unit"] == "第一单元"
    converged(a, b)

    # Edits on both sides: different fields of one record, and other records.
    a.store.update(made[0], {"grade": 4})
    b.store.update(made[0], {"homework": "练习一"})
    b.store.update(made[1], {"objectives": "会比较分数大小"})
    a.store.restore(made[2])
    new_on_b = b.store.create("training", {"title": "国培计划", "hours": 24.0}, author="李老师").id
    a.sync()
    b.sync()
    a.sync()
    snapshot = converged(a, b)
    owner, values = snapshot[made[0]][3:5]
    assert (values["grade"], values["homework"], values["unit"]) == (4, "练习一", "第一单元")
    assert not snapshot[made[2]][2]
    assert snapshot[new_on_b][0] == "training"
    assert owner == meta.user_id

    # The trainer of li's cohort sees the same records; a fellow elsewhere none.
    trainer = laptop("zhao")
    trainer.sync()
    assert {rid for rid, r in trainer.snapshot().items() if not r[2]} == {
        rid for rid, r in a.snapshot().items() if not r[2]}
    stranger = laptop("chen")
    assert stranger.sync().pulled == 0
    assert stranger.snapshot() == {}


def test_concurrent_edits_of_one_field_pick_one_winner_and_keep_the_loser(laptop: MakeLaptop) -> None:
    a, b = laptop("li"), laptop("li")
    rid = a.store.create("lesson_plan", LESSON, author="李老师").id
    a.sync()
    b.sync()
    a.store.update(rid, {"title": "A 的标题"})
    b.store.update(rid, {"title": "B 的标题"})
    a.sync()
    report = b.sync()  # B's edit was made without seeing A's: concurrent
    a.sync()
    snapshot = converged(a, b)
    winner = snapshot[rid][4]["title"]
    assert winner in ("A 的标题", "B 的标题")
    loser = "B 的标题" if winner == "A 的标题" else "A 的标题"
    conflicts = replica.conflicts_for(a.store, rid) or replica.conflicts_for(b.store, rid)
    assert report.conflicts + len(conflicts) >= 1
    assert [c.value for c in conflicts] == [loser]

    # Restoring the losing value is a new edit that wins everywhere.
    holder = a if replica.conflicts_for(a.store, rid) else b
    replica.resolve_conflict(holder.store, conflicts[0].id, restore=True)
    holder.sync()
    a.sync()
    b.sync()
    assert converged(a, b)[rid][4]["title"] == loser


def test_a_replayed_push_applies_nothing_twice(laptop: MakeLaptop) -> None:
    a, b = laptop("li"), laptop("li")
    a.store.create("lesson_plan", LESSON, author="李老师")
    b.sync()
    batch = replica.pending_groups(a.store)
    request: PushRequest = {"protocol": 1, "device_id": a.store.device_id, "changes": batch}
    a.client.ensure_access()
    first = a.client.push(request)
    cursor = b.client.pull({"protocol": 1, "cursor": 0, "scope": None})["cursor"]

    again = a.client.push(request)  # the answer was "lost": the client sends it again

    assert again["last_seq"] == first["last_seq"] == batch[-1]["seq"]
    assert again["results"] == []
    later = b.client.pull({"protocol": 1, "cursor": cursor, "scope": replica.sync_meta(b.store).scope
                           or [replica.sync_meta(b.store).user_id or 0]})
    assert later["records"] == [] and later["cursor"] == cursor, "the replay wrote nothing"


class FlakyClient(ApiClient):
    """Loses the connection on chosen push calls: before sending, or after
    the server applied the batch (the answer never arrives)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail_before: set[int] = set()
        self.fail_after: set[int] = set()
        self.pushes: list[list[int]] = []  # seqs of every batch that reached the server
        self.calls = 0
        self._calls = threading.Lock()
        self.fail_pull: set[int] = set()
        self.pulls: list[PullRequest] = []

    def pull(self, request: PullRequest) -> PullResponse:
        self.pulls.append(dict(request))  # type: ignore[arg-type]
        if len(self.pulls) in self.fail_pull:
            raise Offline()
        return super().pull(request)

    def push(self, request: PushRequest) -> PushResponse:
        # Two pushes may be in flight at once (the engine's pipeline); one
        # at a time here, in the order they were made, so that the calls
        # these tests fail are the batches they mean (overtaking is tested
        # with OvertakenClient).
        with self._calls:
            return self._push(request)

    def _push(self, request: PushRequest) -> PushResponse:
        self.calls += 1
        call = self.calls
        if call in self.fail_before:
            self.fail_before.discard(call)
            raise Offline()
        self.pushes.append(sorted(c["seq"] for c in request["changes"]))
        answer = super().push(request)
        if call in self.fail_after:
            raise Offline()
        return answer


def test_an_interrupted_push_resumes_without_resending_confirmed_batches(laptop: MakeLaptop) -> None:
    a = laptop("li", client_class=FlakyClient)
    client = a.client
    assert isinstance(client, FlakyClient)
    for i in range(7):
        a.store.create("lesson_plan", lesson(i), author="李老师")
    client.fail_after = {2}  # batch 2 is applied, but its answer is lost

    with pytest.raises(Offline):
        a.sync(batch_groups=2)
    # Batch 3 may have gone out behind batch 2 (two pushes are in flight at
    # once); its answer is dropped unread.
    sent = len(client.pushes)
    assert sent in (2, 3)
    first, lost = client.pushes[:2]
    assert replica.sync_meta(a.store).pushed_seq == first[-1], "only the confirmed batch counts"
    assert replica.sync_meta(a.store).last_synced_at is None

    report = a.sync(batch_groups=2)
    resent = client.pushes[sent:]
    assert resent[0] == lost, "the unconfirmed batch is sent again (the server ignores the replay)"
    assert all(seq > first[-1] for batch in resent for seq in batch), "no confirmed batch is resent"
    assert report.pushed == 5 and report.push_batches == 3
    assert replica.pending_count(a.store) == 0

    b = laptop("li")
    b.sync()
    assert b.live() == 7
    converged(a, b)


# Only bounds a hang (an engine that never sends the second push): a correct
# run never waits for it.
HANG_S = 60.0


class CountingClient(ApiClient):
    """Records every push, its outcome and how many were in flight at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pushes: list[PushRequest] = []
        self.outcomes: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._guard = threading.Lock()

    def push(self, request: PushRequest) -> PushResponse:
        with self._guard:
            self.pushes.append(request)
            number = len(self.pushes)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.before_sending(number)
            answer = super().push(request)
            self.outcomes.append("ok")
            return answer
        except RequestRejected as exc:
            self.outcomes.append(exc.code)
            raise
        finally:
            with self._guard:
                self.in_flight -= 1
            self.answered(number)

    def before_sending(self, number: int) -> None:
        """Called on the request's thread before push ``number`` (from 1) goes."""

    def answered(self, number: int) -> None:
        """Called on the request's thread once push ``number`` has its outcome."""


class OvertakenClient(CountingClient):
    """Holds the first push back until the second one (sent while the first
    is on its way) has reached the server and been answered: the second one
    overtakes the first by construction, not by a head start on the clock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._second_answered = threading.Event()
        self.first_waited_for_second = False

    def before_sending(self, number: int) -> None:
        if number == 1:
            self.first_waited_for_second = self._second_answered.wait(HANG_S)

    def answered(self, number: int) -> None:
        if number == 2:
            self._second_answered.set()


def test_two_batches_in_flight_apply_in_order_even_when_the_second_arrives_first(
    laptop: MakeLaptop,
) -> None:
    a = laptop("li", client_class=OvertakenClient)
    client = a.client
    assert isinstance(client, OvertakenClient)
    for i in range(6):
        a.store.create("lesson_plan", lesson(i), author="李老师")

    report = a.sync(batch_groups=2)

    assert client.first_waited_for_second, "the second batch went out while the first was held"
    assert client.most_in_flight == 2, "the next batch goes out while one is applied"
    assert "push_gap" in client.outcomes, "the overtaking batch was refused, nothing applied"
    first, second = client.pushes[:2]
    assert "after" not in first and second["after"] == max(c["seq"] for c in first["changes"])
    assert report.pushed == 6 and replica.pending_count(a.store) == 0
    b = laptop("li")
    b.sync()
    assert b.live() == 6
    converged(a, b)


def test_after_a_failed_request_batches_go_one_at_a_time(laptop: MakeLaptop) -> None:
    """On a link that drops, every request in flight at a cut is lost."""
    a = laptop("li", client_class=CountingClient)
    client = a.client
    assert isinstance(client, CountingClient)
    for i in range(6):
        a.store.create("lesson_plan", lesson(i), author="李老师")
    client.last_failure = time.monotonic()
    a.sync(batch_groups=2)
    assert client.most_in_flight == 1 and len(client.pushes) == 3
    # A request sent while another is in flight is marked ``after`` it; one
    # at a time, none is (this holds however quickly each push is answered).
    assert not any("after" in push for push in client.pushes)
    assert replica.pending_count(a.store) == 0


def test_a_failure_between_batches_continues_on_the_next_run(laptop: MakeLaptop) -> None:
    a = laptop("li", client_class=FlakyClient)
    client = a.client
    assert isinstance(client, FlakyClient)
    for i in range(5):
        a.store.create("lesson_plan", lesson(i), author="李老师")
    client.fail_before = {3}
    with pytest.raises(Offline):
        a.sync(batch_groups=2)
    assert len(client.pushes) == 2
    a.sync(batch_groups=2)
    assert len(client.pushes) == 3, "only the batch that was never sent goes out"
    assert client.pushes[2][0] > client.pushes[1][-1]


def test_sync_survives_a_server_restart(laptop: MakeLaptop, live_server: LiveServer) -> None:
    a, b = laptop("li"), laptop("li")
    rid = a.store.create("lesson_plan", LESSON, author="李老师").id
    a.sync()
    live_server.restart()
    a.store.update(rid, {"grade": 5})
    a.sync()
    b.sync()
    assert b.store.get(rid).values["grade"] == 5
    live_server.stop()
    with pytest.raises(Offline):
        a.sync()
    live_server.start()
    assert a.sync().pushed == 0


def test_an_expired_access_token_is_refreshed(laptop: MakeLaptop, live_server: LiveServer) -> None:
    a = laptop("li")
    a.store.create("lesson_plan", LESSON, author="李老师")
    user_id = replica.sync_meta(a.store).user_id
    now = int(dt.datetime.now(dt.UTC).timestamp())
    a.client.access_token = jwt.encode(
        {"sub": str(user_id), "type": "access", "iat": now - 3600, "exp": now - 60},
        live_server.secret, algorithm="HS256")
    old_refresh = a.client.refresh_token
    report = a.sync()
    assert report.pushed == 1
    assert a.client.refresh_token != old_refresh
    assert a.tokens.load(live_server.url, "li") == a.client.refresh_token, "the rotated token is saved"


def test_a_stored_token_signs_in_a_restarted_app(laptop: MakeLaptop, live_server: LiveServer) -> None:
    a = laptop("li")
    a.store.create("lesson_plan", LESSON, author="李老师")
    fresh_client = ApiClient(live_server.url)  # the app restarted: nothing in memory
    try:
        report = SyncEngine(a.store, fresh_client, tokens=a.tokens).run()
        assert report.pushed == 1
    finally:
        fresh_client.close()
    # Signed out: the token is revoked and gone, so the next sync needs a password.
    sign_out(a.store, a.client, a.tokens)
    assert a.tokens.load(live_server.url, "li") is None
    with pytest.raises(AuthRequired):
        SyncEngine(a.store, ApiClient(live_server.url), tokens=a.tokens).run()


def test_wrong_password_and_a_store_of_another_account(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    a = laptop("li", sign_in=False)
    with pytest.raises(InvalidCredentials):
        sign_in(a.store, a.client, a.tokens, live_server.url, "li", "not the password")
    assert not replica.sync_meta(a.store).signed_up
    sign_in(a.store, a.client, a.tokens, live_server.url, "li", live_server.users["li"])
    a.store.create("lesson_plan", LESSON, author="李老师")
    a.sync()
    with pytest.raises(AccountMismatch):
        sign_in(a.store, a.client, a.tokens, live_server.url, "wang", live_server.users["wang"])
    assert replica.sync_meta(a.store).username == "li"


def test_an_old_client_is_told_to_update(laptop: MakeLaptop) -> None:
    class OldClient(ApiClient):
        protocol_version = 0

    a = laptop("li", client_class=OldClient)
    a.store.create("lesson_plan", LESSON, author="李老师")
    with pytest.raises(ClientTooOld):
        a.sync()
    assert replica.pending_count(a.store) == 1


def test_the_mass_delete_guard_applies_nothing_without_confirmation(laptop: MakeLaptop) -> None:
    a, b = laptop("li"), laptop("li")
    ids = [a.store.create("lesson_plan", lesson(i), author="李老师").id for i in range(14)]
    a.sync()
    b.sync()
    for rid in ids[:12]:
        b.store.delete(rid)
    b.sync()
    cursor = replica.sync_meta(a.store).pull_cursor

    asked: list[tuple[int, int]] = []

    def refuse(count: int, total: int) -> bool:
        asked.append((count, total))
        return False

    with pytest.raises(MassDeletePending) as caught:
        a.sync(confirm_mass_delete=refuse)
    assert (caught.value.count, caught.value.total) == (12, 14)
    assert asked == [(12, 14)]
    assert a.live() == 14, "nothing was removed"
    assert replica.sync_meta(a.store).pull_cursor == cursor
    with pytest.raises(MassDeletePending):
        a.sync()  # no one to ask: the same

    a.sync(confirm_mass_delete=lambda count, total: True)
    assert a.live() == 2
    converged(a, b)


def write_past_the_guard(store: Store, record_id: str, name: str, value: Any) -> None:
    """A change the store itself would refuse (someone else's record), logged
    as an older Fieldbook or a since-demoted admin would have: the server is
    then the only one left to refuse it."""
    with store.writing() as work:
        record = work.session.get(Record, record_id)
        assert record is not None
        if name in ("deleted", "status"):
            work.set_meta(record, name, value)
        else:
            setattr(record, name, value)
            work.log_change(record, name, value, work.tick())


def test_the_store_refuses_to_change_someone_elses_record(laptop: MakeLaptop) -> None:
    fellow, trainer = laptop("li"), laptop("zhao")
    rid = fellow.store.create("lesson_plan", LESSON, author="李老师").id
    fellow.sync()
    trainer.sync()
    for change in (lambda: trainer.store.update(rid, {"title": "改一改"}),
                   lambda: trainer.store.delete(rid)):
        with pytest.raises(RecordReadOnly) as refused:
            change()
        assert "belongs to someone else" in str(refused.value)
    assert trainer.store.get(rid).values["title"] == LESSON["title"]
    assert replica.pending_count(trainer.store) == 0, "nothing was logged"


def test_a_trainers_edit_of_a_fellows_record_is_refused_and_put_back(laptop: MakeLaptop) -> None:
    fellow, trainer = laptop("li"), laptop("zhao")
    rid = fellow.store.create("lesson_plan", LESSON, author="李老师").id
    fellow.sync()
    trainer.sync()
    write_past_the_guard(trainer.store, rid, "title", "改一改")
    report = trainer.sync()
    assert [r.record_id for r in report.rejections] == [rid]
    assert "belongs to someone else" in report.rejections[0].reason
    assert replica.rejections(trainer.store, rid)[0].reason == report.rejections[0].reason
    assert replica.pending_count(trainer.store) == 0, "a refused change is not retried"
    assert trainer.store.get(rid).values["title"] == "认识分数", "the server's copy is back"
    assert trainer.store.search("改一改") == [] and len(trainer.store.search("认识分数")) == 1
    fellow.sync()
    assert fellow.store.get(rid).values["title"] == "认识分数"
    assert trainer.snapshot()[rid] == fellow.snapshot()[rid]


def test_a_refused_delete_brings_the_record_back_and_replicas_converge(laptop: MakeLaptop) -> None:
    fellow, trainer = laptop("li"), laptop("zhao")
    rid = fellow.store.create("lesson_plan", LESSON, author="李老师").id
    other = fellow.store.create("lesson_plan", lesson(2), author="李老师").id
    fellow.sync()
    trainer.sync()
    write_past_the_guard(trainer.store, rid, "deleted", True)
    mine = trainer.store.create("lesson_plan", lesson(3), author="赵老师").id  # not blocked by it
    assert trainer.live() == 2

    report = trainer.sync()
    assert [r.record_id for r in report.rejections] == [rid]
    assert trainer.store.get(rid).values["title"] == LESSON["title"], "the record is back"
    assert trainer.live() == 3
    assert replica.pending_count(trainer.store) == 0
    again = trainer.sync()
    assert again.pushed == 0 and again.rejections == [], "never sent again"
    fellow.sync()
    mirror = laptop("zhao")
    mirror.sync()
    assert {rid, other, mine} <= set(converged(trainer, mirror))
    assert trainer.snapshot()[rid] == fellow.snapshot()[rid]
    # A later edit by the fellow still reaches the trainer (the versions are the server's).
    fellow.store.update(rid, {"title": "认识分数（二）"})
    fellow.sync()
    trainer.sync()
    assert trainer.store.get(rid).values["title"] == "认识分数（二）"


def test_records_of_a_fellow_who_left_the_cohort_leave_the_trainers_store(
    laptop: MakeLaptop, live_server: LiveServer
) -> None:
    fellow, other, trainer = laptop("li"), laptop("wang"), laptop("zhao")
    for i in range(3):
        fellow.store.create("lesson_plan", lesson(i), author="李老师")
        other.store.create("lesson_plan", lesson(i), author="王老师")
    fellow.sync()
    other.sync()
    trainer.sync()
    assert trainer.live() == 6
    live_server.cli("unassign", "li", "一班")
    report = trainer.sync()
    assert report.removed == 3
    assert trainer.live() == 3
    assert replica.sync_meta(trainer.store).scope == sorted(
        {replica.sync_meta(other.store).user_id or 0, replica.sync_meta(trainer.store).user_id or 0})


def test_pull_pages_resume_and_large_batches(laptop: MakeLaptop) -> None:
    a, b = laptop("li"), laptop("li")
    for i in range(30):
        a.store.create("lesson_plan", lesson(i, objectives="目标" * 50), author="李老师")
    report = a.sync(batch_bytes=4000)
    assert report.push_batches > 3
    pages: list[SyncProgress] = []
    report_b = b.sync(pull_limit=7, on_progress=pages.append)
    assert report_b.pull_pages >= 5
    assert b.live() == 30
    assert replica.sync_meta(b.store).resume is None
    converged(a, b)


def test_an_interrupted_pull_continues_the_same_run(laptop: MakeLaptop) -> None:
    a = laptop("li")
    ids = [a.store.create("lesson_plan", lesson(i), author="李老师").id for i in range(12)]
    a.sync()
    for i, rid in enumerate(ids):  # every record changes again: later seqs than the first pages
        a.store.update(rid, {"unit": f"单元 {i}"})
    a.sync()
    b = laptop("li", client_class=FlakyClient)
    client = b.client
    assert isinstance(client, FlakyClient)
    client.fail_pull = {3}
    with pytest.raises(Offline):
        b.sync(pull_limit=4)
    stored = replica.sync_meta(b.store)
    assert stored.resume is not None and stored.pull_cursor > 0, "the run's place is saved"
    applied = b.live()
    assert 0 < applied < 12
    b.sync(pull_limit=4)
    assert client.pulls[3].get("resume") == stored.resume, "the next run continues with the token"
    assert replica.sync_meta(b.store).resume is None
    converged(a, b)


def test_backoff_is_exponential_with_full_jitter() -> None:
    backoff = Backoff(rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(300.0, 2.0 * 2**i) for i in range(12)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[8:]) > 60, "later delays spread up to the cap"
    backoff.reset()
    assert backoff.next_delay() <= 2.0
    assert backoff.next_delay(Throttled(retry_after=120)) >= 120


def test_sign_in_without_a_keyring_is_not_remembered(
    laptop: MakeLaptop, live_server: LiveServer, tmp_path: Any
) -> None:
    store = Store.open(tmp_path / "x" / "fieldbook.db")
    client = ApiClient(live_server.url)
    try:
        account = sign_in(store, client, TokenStore(), live_server.url, "li", live_server.users["li"])
        assert not account.remembered
        assert "keyring" in account.reason
        assert account.user.username == "li"
    finally:
        client.close()
        store.close()
