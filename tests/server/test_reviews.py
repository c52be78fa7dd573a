"""The trainer review workflow on the server (docs/review.md), over HTTP, on
SQLite and PostgreSQL: who may comment and decide, decisions that come too
late, offline edits of an approved record becoming a new revision, what a
pull sends (entries, people), and hostile review bodies."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.protocol.sync import (
    MAX_PUSH_REVIEWS,
    MAX_REVIEW_BODY,
    PROTOCOL_VERSION,
    PULL_RESPONSE,
    PUSH_RESPONSE,
    SERVER_DEVICE,
    read,
)
from app.server import reviews as rules
from app.server.database import make_sessionmaker
from app.server.sync import push as sync_push
from app.server.tables import Review, ServerState, SyncConflict, SyncNotice, SyncRecord, User

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"
WRITTEN_AT = "2024-05-01T10:00:00+08:00"

MakeUser = Callable[..., User]
Headers = Callable[[User], dict[str, str]]


def new_id() -> str:
    return str(uuid.uuid4())


def group(seq: int, record_id: str, fields: dict[str, Any], *, clock: int | None = None, known: int = 0
          ) -> dict[str, Any]:
    return {"seq": seq, "record_id": record_id, "kind": "lesson_plan",
            "clock": seq if clock is None else clock, "known": known, "fields": fields}


def entry(record_id: str, action: str = "comment", body: str = "", basis: list[Any] | None = None,
          entry_id: str | None = None) -> dict[str, Any]:
    return {"id": entry_id or new_id(), "record_id": record_id, "action": action, "body": body,
            "basis": basis or [], "written_at": WRITTEN_AT}


@dataclass
class People:
    """Cohort A: fellow, peer, trainer; cohort B: other_trainer, other_fellow; an admin."""

    fellow: User
    peer: User
    trainer: User
    other_trainer: User
    other_fellow: User
    admin: User


@dataclass
class Api:
    client: Any
    session: Session
    headers: Headers

    def push(self, user: User, *groups: dict[str, Any], reviews: list[dict[str, Any]] | None = None,
             device: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "device_id": device or f"dev-{user.id}",
                                "changes": list(groups)}
        if reviews is not None:
            body["reviews"] = reviews
        response = self.client.post(PUSH, json=body, headers=self.headers(user))
        assert response.status_code == 200, response.text[:500]
        answer: dict[str, Any] = response.json()
        read(PUSH_RESPONSE, response.text)  # what the client accepts
        return answer

    def review(self, user: User, *entries: dict[str, Any]) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self.push(user, reviews=list(entries))["reviews"]
        assert [a["id"] for a in answer] == [e["id"] for e in entries]
        return answer

    def pull(self, user: User, **extra: Any) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "cursor": 0, "scope": None, **extra}
        response = self.client.post(PULL, json=body, headers=self.headers(user))
        assert response.status_code == 200, response.text[:500]
        page: dict[str, Any] = response.json()
        read(PULL_RESPONSE, response.text)
        return page

    def record(self, record_id: str) -> SyncRecord | None:
        self.session.expire_all()
        return self.session.get(SyncRecord, record_id)

    def status(self, record_id: str) -> tuple[Any, list[Any]]:
        record = self.record(record_id)
        assert record is not None
        return record.fields.get("status"), record.versions["status"]

    def entries(self, record_id: str | None = None) -> list[Review]:
        self.session.expire_all()
        query = select(Review).order_by(Review.seq)
        if record_id is not None:
            query = query.where(Review.record_id == record_id)
        return list(self.session.execute(query).scalars())

    def seq(self) -> int:
        self.session.expire_all()
        return int(self.session.execute(select(ServerState.seq)).scalar_one())

    def submitted(self, owner: User, title: str = "认识分数", device: str | None = None
                  ) -> tuple[str, list[Any]]:
        """A new record of ``owner``, submitted; its id and status basis."""
        rid = new_id()
        device = device or f"dev-{owner.id}"
        self.push(owner, group(1, rid, {"title": title, "status": "submitted"}, clock=1), device=device)
        return rid, [1, device]


@pytest.fixture
def people(make_user: MakeUser) -> People:
    return People(
        fellow=make_user("fellow", cohort="A", display_name="王芳", school="红星小学"),
        peer=make_user("fellow", cohort="A", display_name="李明", school="青山小学"),
        trainer=make_user("trainer", cohort="A", display_name="张培训"),
        other_trainer=make_user("trainer", cohort="B", display_name="赵培训"),
        other_fellow=make_user("fellow", cohort="B", display_name="钱老师"),
        admin=make_user("admin", display_name="管理员"),
    )


@pytest.fixture
def api(client: Any, session: Session, auth_headers: Headers) -> Api:
    return Api(client, session, auth_headers)


# --------------------------------------------------------------------------- who may do what


def test_trainer_of_the_cohort_approves(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    [answer] = api.review(people.trainer, entry(rid, "approve", "很好", basis))
    assert answer == {"id": answer["id"], "outcome": "accepted"}
    status, version = api.status(rid)
    assert status == "approved" and version[1] == SERVER_DEVICE and version[0] > 1
    thread = api.entries(rid)
    assert [(e.action, e.outcome, e.author_id) for e in thread] == [
        ("submit", "accepted", people.fellow.id), ("approve", "accepted", people.trainer.id)]
    assert thread[1].author == "张培训" and thread[1].body == "很好" and thread[1].basis == basis
    # The decision's entry comes after the status write it made.
    assert thread[1].seq > version[2]


def test_admin_returns(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    [answer] = api.review(people.admin, entry(rid, "return", "请补充教学目标", basis))
    assert answer["outcome"] == "accepted"
    assert api.status(rid)[0] == "returned"


def test_self_review_is_refused(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    before = api.seq()
    [answer] = api.review(people.fellow, entry(rid, "approve", "", basis))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.OWN_RECORD
    assert api.status(rid)[0] == "submitted" and api.seq() == before


def test_trainer_cannot_decide_on_their_own_record(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.trainer)
    [answer] = api.review(people.trainer, entry(rid, "approve", "", basis))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.OWN_RECORD
    assert api.status(rid)[0] == "submitted"


def test_admin_cannot_decide_on_their_own_record(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.admin)
    [answer] = api.review(people.admin, entry(rid, "return", "no", basis))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.OWN_RECORD


@pytest.mark.parametrize("who", ["peer", "other_trainer", "other_fellow"])
@pytest.mark.parametrize("action", ["comment", "approve", "return"])
def test_who_does_not_see_the_record_can_do_nothing(api: Api, people: People, who: str, action: str) -> None:
    rid, basis = api.submitted(people.fellow)
    before = api.seq()
    [answer] = api.review(getattr(people, who), entry(rid, action, "看看", basis))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.NOT_VISIBLE
    assert api.status(rid)[0] == "submitted" and api.seq() == before
    assert [e.action for e in api.entries(rid)] == ["submit"]


def test_unknown_record_reads_like_an_unseen_one(api: Api, people: People) -> None:
    [answer] = api.review(people.trainer, entry(new_id(), "comment", "hi"))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.NOT_VISIBLE


@pytest.mark.parametrize("who", ["fellow", "trainer", "admin"])
def test_whoever_sees_the_record_may_comment(api: Api, people: People, who: str) -> None:
    rid, _basis = api.submitted(people.fellow)
    [answer] = api.review(getattr(people, who), entry(rid, "comment", "第二步可以再具体一些。"))
    assert answer["outcome"] == "accepted"
    assert api.status(rid)[0] == "submitted"  # a comment changes no status
    assert [e.action for e in api.entries(rid)] == ["submit", "comment"]


def test_a_comment_on_a_record_created_in_the_same_push(api: Api, people: People) -> None:
    rid = new_id()
    answer = api.push(people.fellow, group(1, rid, {"title": "新课"}), reviews=[entry(rid, body="备注")])
    assert answer["reviews"][0]["outcome"] == "accepted"


@pytest.mark.parametrize("body", ["", "   \n"])
def test_return_needs_a_comment(api: Api, people: People, body: str) -> None:
    rid, basis = api.submitted(people.fellow)
    before = api.seq()
    [answer] = api.review(people.trainer, entry(rid, "return", body, basis))
    assert answer["outcome"] == "rejected" and answer["reason"] == rules.RETURN_NEEDS_BODY
    assert api.status(rid)[0] == "submitted" and api.seq() == before


# --------------------------------------------------------------------------- idempotence and races


def test_a_replayed_entry_is_stored_once(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    decision = entry(rid, "approve", "好", basis)
    first = api.review(people.trainer, decision, entry(rid, "comment", "x", entry_id=decision["id"]))
    assert [a["outcome"] for a in first] == ["accepted", "accepted"]  # the same id twice: one entry
    seq = api.seq()
    again = api.review(people.trainer, decision)
    assert again == first[:1] and api.seq() == seq
    assert [e.action for e in api.entries(rid)] == ["submit", "approve"]
    # Someone else's id is not theirs to replay.
    [stolen] = api.review(people.admin, {**decision, "action": "comment"})
    assert stolen["outcome"] == "rejected" and api.seq() == seq


def test_two_trainers_decide_at_once(api: Api, people: People, make_user: MakeUser) -> None:
    second = make_user("trainer", cohort="A", display_name="孙培训")
    rid, basis = api.submitted(people.fellow)
    [first] = api.review(people.trainer, entry(rid, "approve", "", basis))
    late = entry(rid, "return", "目标写得不清楚", basis)
    [answer] = api.review(second, late)
    assert first["outcome"] == "accepted"
    reason = "张培训 already approved this record."
    assert answer == {"id": late["id"], "outcome": "superseded", "reason": reason}
    assert api.status(rid)[0] == "approved"
    kept = api.entries(rid)[-1]
    assert (kept.id, kept.outcome, kept.body, kept.reason) == (
        late["id"], "superseded", "目标写得不清楚", answer["reason"])
    # A replay answers the same, reason and all.
    assert api.review(second, late) == [answer]


def test_withdraw_then_decision_is_superseded(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    api.push(people.fellow, group(2, rid, {"status": "draft"}, clock=2, known=api.seq()))
    assert [e.action for e in api.entries(rid)] == ["submit", "withdraw"]
    [answer] = api.review(people.trainer, entry(rid, "approve", "已阅", basis))
    assert answer["outcome"] == "superseded" and answer["reason"] == rules.WITHDRAWN_REASON
    assert api.status(rid)[0] == "draft"
    assert api.entries(rid)[-1].body == "已阅"


def test_decision_on_a_resubmission_it_did_not_see(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    known = api.seq()
    api.push(people.fellow, group(2, rid, {"status": "draft"}, clock=2, known=known),
             group(3, rid, {"status": "submitted"}, clock=3, known=known))
    [answer] = api.review(people.trainer, entry(rid, "approve", "", basis))
    assert answer["outcome"] == "superseded" and answer["reason"] == rules.RESUBMITTED_REASON
    [answer] = api.review(people.trainer, entry(rid, "approve", "", [3, basis[1]]))
    assert answer["outcome"] == "accepted"


def test_submit_and_withdraw_entries_have_deterministic_ids(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    device = basis[1]
    api.push(people.fellow, group(2, rid, {"status": "draft"}, clock=5, known=api.seq()))
    ids = [e.id for e in api.entries(rid)]
    assert ids == [rules.status_entry_id(rid, "submit", 1, device),
                   rules.status_entry_id(rid, "withdraw", 5, device)]
    assert ids[0] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldbook:{rid}:submit:1:{device}"))


def test_an_owners_concurrent_status_write_loses_without_a_conflict(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    known = api.seq()
    api.review(people.trainer, entry(rid, "approve", "", basis))
    # Offline, the fellow took it back, at a clock far above the server's.
    answer = api.push(people.fellow, group(2, rid, {"status": "draft"}, clock=50, known=known))
    [result] = answer["results"]
    assert result["outcome"] == "merged" and "approved" in result["reason"]
    status, version = api.status(rid)
    assert status == "approved" and version[1] == SERVER_DEVICE and version[0] > 50
    assert api.session.execute(select(func.count()).select_from(SyncConflict)).scalar_one() == 0
    assert [e.action for e in api.entries(rid)] == ["submit", "approve"]


# --------------------------------------------------------------------------- revisions


def test_offline_edit_of_an_approved_record_becomes_a_new_revision(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow, title="认识分数")
    known = api.seq()
    api.review(people.trainer, entry(rid, "approve", "", basis))
    approval = api.entries(rid)[-1].seq
    device = basis[1]
    edit = group(2, rid, {"title": "认识分数（修改）", "grade": 4}, clock=7, known=known)
    answer = api.push(people.fellow, edit, device=device)
    [result] = answer["results"]
    assert result == {"seq": 2, "outcome": "merged", "reason": rules.REVISED_REASON,
                      "fields": ["grade", "title"]}
    # The approved record is unchanged, but its named fields are the server's now.
    approved = api.record(rid)
    assert approved is not None
    assert approved.fields["title"] == "认识分数" and approved.fields["status"] == "approved"
    assert approved.fields.get("grade") is None
    for name in ("title", "grade"):
        assert approved.versions[name][1] == SERVER_DEVICE and approved.versions[name][0] > 7
    # The new revision holds the changes.
    revision_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldbook:revision:{rid}:{approval}:{device}"))
    revision = api.record(revision_id)
    assert revision is not None and revision.owner_id == people.fellow.id
    assert {k: revision.fields[k] for k in ("title", "grade", "status", "revision_of", "revision")} == {
        "title": "认识分数（修改）", "grade": 4, "status": "draft", "revision_of": rid, "revision": 2}
    notices = api.session.execute(select(SyncNotice)).scalars().all()
    assert [(n.user_id, n.kind, n.record_id) for n in notices] == [(people.fellow.id, "revised", revision_id)]
    # A later group of that device lands in the same revision; no second notice.
    api.push(people.fellow, group(3, rid, {"objectives": "理解分数"}, clock=8, known=known), device=device)
    revision = api.record(revision_id)
    assert revision is not None and revision.fields["objectives"] == "理解分数"
    assert revision.fields["title"] == "认识分数（修改）"
    assert api.session.execute(select(func.count()).select_from(SyncNotice)).scalar_one() == 1
    # The fellow's laptop gets it all back: the revision, the old text, the notice.
    page = api.pull(people.fellow, device_id=device)
    got = {r["id"]: r for r in page["records"]}
    assert got[rid]["fields"]["title"][0] == "认识分数"
    assert got[revision_id]["fields"]["title"][0] == "认识分数（修改）"
    assert [n["kind"] for n in page["notices"]] == ["revised"]


def test_an_edit_after_seeing_the_approval_also_becomes_a_revision(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    api.review(people.trainer, entry(rid, "approve", "", basis))
    answer = api.push(people.fellow, group(2, rid, {"title": "新版"}, clock=40, known=api.seq()))
    assert answer["results"][0]["reason"] == rules.REVISED_REASON
    assert api.record(rid).fields["title"] == "认识分数"  # type: ignore[union-attr]


def test_a_returned_record_is_edited_in_place(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    known = api.seq()
    api.review(people.trainer, entry(rid, "return", "请补充", basis))
    # Offline, before seeing the return: the edit merges.
    answer = api.push(people.fellow, group(2, rid, {"objectives": "补充了目标"}, clock=2, known=known))
    assert [r["outcome"] for r in answer["results"]] == ["merged"]
    record = api.record(rid)
    assert record is not None and record.fields["objectives"] == "补充了目标"
    assert record.fields["status"] == "returned"
    # Having seen it, the fellow submits again: applied, with a submit entry.
    answer = api.push(people.fellow, group(3, rid, {"status": "submitted"}, clock=20, known=api.seq()))
    assert answer["results"] == []
    assert api.status(rid)[0] == "submitted"
    assert [e.action for e in api.entries(rid)] == ["submit", "return", "submit"]
    [answer_] = api.review(people.trainer, entry(rid, "approve", "", [20, basis[1]]))
    assert answer_["outcome"] == "accepted"


def test_revision_fields_only_when_a_record_is_created(api: Api, people: People) -> None:
    root, _basis = api.submitted(people.fellow)
    rid = new_id()
    answer = api.push(people.fellow, group(2, rid, {"title": "第二版", "revision_of": root, "revision": 2}))
    assert answer["results"] == []
    record = api.record(rid)
    assert record is not None and (record.fields["revision_of"], record.fields["revision"]) == (root, 2)
    # Sent again unchanged: fine; changed: refused.
    assert api.push(people.fellow, group(3, rid, {"revision": 2, "grade": 3}))["results"] == []
    [result] = api.push(people.fellow, group(4, rid, {"revision": 3}))["results"]
    assert result["outcome"] == "rejected" and result["fields"] == ["revision"]


def test_a_revision_of_a_revision_continues_the_chain(api: Api, people: People) -> None:
    root, _basis = api.submitted(people.fellow)
    second = new_id()
    api.push(people.fellow, group(2, second, {"title": "第二版", "status": "submitted", "revision_of": root,
                                              "revision": 2}, clock=2))
    api.review(people.trainer, entry(second, "approve", "", [2, f"dev-{people.fellow.id}"]))
    answer = api.push(people.fellow, group(3, second, {"title": "第三版"}, clock=3, known=api.seq()))
    assert answer["results"][0]["reason"] == rules.REVISED_REASON
    third = [r for r in api.session.execute(select(SyncRecord)).scalars()
             if r.id not in (root, second)]
    assert [(r.fields["revision_of"], r.fields["revision"], r.fields["title"]) for r in third] == [
        (root, 3, "第三版")]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"revision": 0}, "revision"),
        ({"revision": 10_001}, "revision"),
        ({"revision": True}, "revision"),
        ({"revision": "2"}, "revision"),
        ({"revision_of": "not-a-uuid"}, "revision_of"),
        ({"revision_of": 5}, "revision_of"),
        ({"revision_of": "someone else's"}, "revision_of"),
        ({"revision_of": "unknown"}, "revision_of"),
        ({"revision_of": "itself"}, "revision_of"),
    ],
)
def test_bad_revision_fields_are_rejected(api: Api, people: People, fields: dict[str, Any], bad: str) -> None:
    theirs, _basis = api.submitted(people.peer)
    rid = new_id()
    names = {"someone else's": theirs, "unknown": new_id(), "itself": rid}
    if fields.get("revision_of") in names:
        fields = {"revision_of": names[fields["revision_of"]]}
    [result] = api.push(people.fellow, group(1, rid, {"title": "x", **fields}))["results"]
    assert result["outcome"] == "rejected" and result["fields"] == [bad]
    assert api.record(rid) is None


# --------------------------------------------------------------------------- pull


def pulled_entries(api: Api, user: User) -> list[str]:
    return [e["id"] for e in api.pull(user).get("reviews", [])]


def test_pull_sends_entries_to_the_owner_and_their_trainers_only(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    api.review(people.trainer, entry(rid, "comment", "先看看"), entry(rid, "approve", "", basis))
    everything = [e.id for e in api.entries(rid)]
    assert len(everything) == 3
    for who in ("fellow", "trainer", "admin"):
        assert pulled_entries(api, getattr(people, who)) == everything, who
    for who in ("peer", "other_trainer", "other_fellow"):
        assert pulled_entries(api, getattr(people, who)) == [], who
    page = api.pull(people.fellow)
    approve = page["reviews"][-1]
    assert {k: approve[k] for k in ("record_id", "author_id", "author", "action", "outcome", "reason")} == {
        "record_id": rid, "author_id": people.trainer.id, "author": "张培训", "action": "approve",
        "outcome": "accepted", "reason": ""}
    assert approve["at"].endswith("+00:00")
    # From the cursor on: only what is new; a no-op pull carries no entries at all.
    [new] = api.review(people.trainer, entry(rid, "comment", "再补一句"))
    later = api.pull(people.fellow, cursor=page["cursor"], scope=page["scope"])
    assert [e["id"] for e in later["reviews"]] == [new["id"]]
    idle = api.pull(people.fellow, cursor=later["cursor"], scope=later["scope"],
                    people_hash=later["people_hash"])
    assert "reviews" not in idle and "people" not in idle and idle["records"] == []


def test_entries_come_whole_with_an_owner_that_becomes_visible(api: Api, people: People) -> None:
    rid, _basis = api.submitted(people.other_fellow)
    api.review(people.other_trainer, entry(rid, "comment", "B班"))
    page = api.pull(people.trainer)
    assert page.get("reviews") is None
    # The trainer joins cohort B: that fellow's records and thread come whole.
    from app.server import admin
    admin.assign(api.session, people.trainer.username, "B")
    page = api.pull(people.trainer, cursor=page["cursor"], scope=page["scope"])
    assert [e["record_id"] for e in page["reviews"]] == [rid, rid]


def test_entries_over_many_pages_arrive_once_each_in_order(api: Api, people: People) -> None:
    ids = []
    for n in range(4):
        rid, _basis = api.submitted(people.fellow, title=f"第{n}课", device=f"d{n}")
        ids.append(rid)
        api.review(people.trainer, entry(rid, "comment", f"评论{n}"))
    expected = [e.id for e in api.entries()]
    for who in (people.trainer, people.admin):
        got: list[dict[str, Any]] = []
        page = api.pull(who, limit=1)
        got += page.get("reviews", [])
        while page["more"]:
            page = api.pull(who, cursor=page["cursor"], scope=page["scope"], resume=page["resume"], limit=1)
            got += page.get("reviews", [])
        assert sorted({e["id"] for e in got}) == sorted(expected)
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(seqs)


def test_people_and_their_hash(api: Api, people: People) -> None:
    page = api.pull(people.trainer)
    persons = {p["id"]: p for p in page["people"]}
    assert set(persons) == {people.trainer.id, people.fellow.id, people.peer.id}
    assert persons[people.fellow.id] == {"id": people.fellow.id, "name": "王芳", "role": "fellow",
                                         "school": "红星小学", "cohorts": ["A"]}
    assert persons[people.trainer.id]["cohorts"] == ["A"]
    assert page["people_hash"] == rules.people_hash(page["people"])
    assert [p["id"] for p in api.pull(people.fellow)["people"]] == [people.fellow.id]
    assert {p["id"] for p in api.pull(people.admin)["people"]} == {
        u.id for u in (people.fellow, people.peer, people.trainer, people.other_trainer,
                       people.other_fellow, people.admin)}
    # Sent back unchanged: left out; the hash still comes.
    same = api.pull(people.trainer, people_hash=page["people_hash"])
    assert "people" not in same and same["people_hash"] == page["people_hash"]
    # A school changes: the list comes again, with a new hash.
    people.peer.school = "白云小学"
    api.session.merge(people.peer)
    api.session.commit()
    changed = api.pull(people.trainer, people_hash=page["people_hash"])
    assert changed["people_hash"] != page["people_hash"]
    assert {p["id"]: p["school"] for p in changed["people"]}[people.peer.id] == "白云小学"


# --------------------------------------------------------------------------- hostile bodies


def stored_nothing(api: Api, before: int) -> None:
    assert api.seq() == before
    assert [e.action for e in api.entries()] == ["submit"]


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("body a number", {"body": 5}),
        ("body null", {"body": None}),
        ("action a list", {"action": ["approve"]}),
        ("action empty", {"action": ""}),
        ("basis an object", {"basis": {"clock": 1}}),
        ("basis too long", {"basis": [1, "d", 3]}),
        ("basis a bool clock", {"basis": [True, "d"]}),
        ("basis a bad device", {"basis": [1, "d e v"]}),
        ("id not a UUID", {"id": "1; DROP TABLE reviews"}),
        ("record id upper case", {"record_id": str(uuid.uuid4()).upper()}),
        ("extra field", {"outcome": "accepted"}),
        ("missing field", {"written_at": ...}),
        ("written_at too long", {"written_at": "2024-05-01T10:00:00" + "0" * 100}),
        ("written_at surrogate", {"written_at": "\ud800"}),
        ("body surrogate", {"body": "a\ud800b"}),
        ("huge body", {"body": "长" * (16 * MAX_REVIEW_BODY + 1)}),
    ],
)
def test_malformed_entries_refuse_the_request(api: Api, people: People, what: str,
                                              change: dict[str, Any]) -> None:
    rid, basis = api.submitted(people.fellow)
    before = api.seq()
    bad = {**entry(rid, "approve", "", basis), **change}
    bad = {k: v for k, v in bad.items() if v is not ...}
    body = json.dumps({"protocol": PROTOCOL_VERSION, "device_id": "t", "changes": [], "reviews": [bad]})
    response = api.client.post(PUSH, content=body, headers={**api.headers(people.trainer),
                                                            "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (what, response.text[:300])
    assert set(response.json()) == {"error"}
    stored_nothing(api, before)


def test_too_many_entries_refuse_the_request(api: Api, people: People) -> None:
    rid, _basis = api.submitted(people.fellow)
    before = api.seq()
    body = {"protocol": PROTOCOL_VERSION, "device_id": "t", "changes": [],
            "reviews": [entry(rid, body="x") for _ in range(MAX_PUSH_REVIEWS + 1)]}
    response = api.client.post(PUSH, json=body, headers=api.headers(people.trainer))
    assert response.status_code == 422
    stored_nothing(api, before)


@pytest.mark.parametrize(
    ("what", "change", "words"),
    [
        ("unknown action", {"action": "delete"}, "Unknown review action"),
        ("server action", {"action": "submit"}, "written by the server"),
        ("long body", {"body": "长" * (MAX_REVIEW_BODY + 1)}, "too long"),
        ("NUL body", {"body": "a\x00b"}, "not text"),
        ("bad time", {"written_at": "yesterday"}, "ISO 8601"),
        ("decision without basis", {"basis": []}, "version of the submission"),
        ("basis the wrong way round", {"basis": ["d", 1]}, "version of the submission"),
    ],
)
def test_bad_entries_are_rejected_alone(api: Api, people: People, what: str, change: dict[str, Any],
                                        words: str) -> None:
    rid, basis = api.submitted(people.fellow)
    before = api.seq()
    bad = {**entry(rid, "approve", "ok", basis), **change}
    body = json.dumps({"protocol": PROTOCOL_VERSION, "device_id": "t", "changes": [], "reviews": [bad]})
    response = api.client.post(PUSH, content=body, headers={**api.headers(people.trainer),
                                                            "Content-Type": "application/json"})
    assert response.status_code == 200, (what, response.text[:300])
    [answer] = response.json()["reviews"]
    assert answer["outcome"] == "rejected" and words in answer["reason"], answer
    assert len(answer["reason"]) < 300
    stored_nothing(api, before)
    assert api.status(rid)[0] == "submitted"


def test_injection_strings_are_only_text(api: Api, people: People) -> None:
    rid, basis = api.submitted(people.fellow)
    nasty = "'); DROP TABLE reviews; -- <script>alert(1)</script> {{7*7}} ${jndi:ldap://x}"
    [answer] = api.review(people.trainer, entry(rid, "return", nasty, basis))
    assert answer["outcome"] == "accepted"
    assert api.entries(rid)[-1].body == nasty
    assert api.pull(people.fellow)["reviews"][-1]["body"] == nasty


@pytest.mark.postgresql
def test_trainers_deciding_at_the_same_moment(db_url: str, engine: Engine, api: Api, people: People,
                                              make_user: MakeUser) -> None:
    """Real threads on PostgreSQL: exactly one decision applies, the others
    are superseded and kept, every entry has its own seq."""
    if not db_url.startswith("postgresql"):
        pytest.skip("threads writing at once: PostgreSQL")
    trainers = [people.trainer, *(make_user("trainer", cohort="A") for _ in range(4))]
    rid, basis = api.submitted(people.fellow)
    factory = make_sessionmaker(engine)
    barrier = threading.Barrier(len(trainers))
    answers: list[str] = []
    errors: list[BaseException] = []

    def decide(n: int) -> None:
        try:
            with factory() as session:
                me = session.get(User, trainers[n].id)
                assert me is not None
                barrier.wait()
                action = "approve" if n % 2 else "return"
                answer = sync_push.push(session, me, {
                    "protocol": PROTOCOL_VERSION, "device_id": f"t{n}", "changes": [],
                    "reviews": [entry(rid, action, f"意见{n}", basis)],  # type: ignore[list-item]
                })
                answers.append(answer["reviews"][0]["outcome"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(len(trainers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(answers) == ["accepted"] + ["superseded"] * (len(trainers) - 1)
    thread = api.entries(rid)
    assert len(thread) == 1 + len(trainers) and len({e.seq for e in thread}) == len(thread)
    [winner] = [e for e in thread if e.action != "submit" and e.outcome == "accepted"]
    assert api.status(rid)[0] == rules.DECISIONS[winner.action]
