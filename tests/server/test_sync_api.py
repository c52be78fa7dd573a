"""``POST /api/v1/sync/push`` and ``/pull`` over HTTP (app/server/routers/sync.py),
on SQLite and PostgreSQL: the happy path, the protocol header, every role
against someone else's data, and hostile bodies (4xx with a readable error,
never a 500, nothing stored)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.protocol.sync import (
    MAX_FIELDS_PER_CHANGE,
    MAX_PUSH_CHANGES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PULL_RESPONSE,
    PUSH_RESPONSE,
    read,
)
from app.server import admin
from app.server.tables import Device, ServerState, SyncRecord, User

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"

MakeUser = Callable[..., User]
Headers = Callable[[User], dict[str, str]]


def new_id() -> str:
    return str(uuid.uuid4())


def change(seq: int = 1, record_id: str | None = None, fields: dict[str, Any] | None = None, **extra: Any
           ) -> dict[str, Any]:
    return {"seq": seq, "record_id": record_id or new_id(), "kind": "lesson_plan", "clock": seq, "known": 0,
            "fields": {"title": "认识分数"} if fields is None else fields, **extra}


def push_body(*changes: dict[str, Any], device: str = "laptop-1") -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "device_id": device, "changes": list(changes)}


def pull_body(cursor: int = 0, scope: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    return {"protocol": PROTOCOL_VERSION, "cursor": cursor, "scope": scope, **extra}


def stored(session: Session) -> tuple[int, int, int]:
    """(records, devices, seq): all zero while nothing was accepted."""
    session.expire_all()
    return (
        session.execute(select(func.count()).select_from(SyncRecord)).scalar_one(),
        session.execute(select(func.count()).select_from(Device)).scalar_one(),
        session.execute(select(ServerState.seq)).scalar_one(),
    )


def assert_error(response: Any, status: int | tuple[int, ...], code: str | None = None) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text[:500]
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    if code is not None:
        assert error["code"] == code
    return error


# --------------------------------------------------------------------------- happy path


def test_push_then_pull(client: Any, session: Session, make_user: MakeUser, auth_headers: Headers) -> None:
    fellow = make_user("fellow", display_name="王老师")
    headers = auth_headers(fellow)
    rid = new_id()
    response = client.post(PUSH, json=push_body(
        change(1, rid, {"status": "draft", "title": "认识分数", "grade": 3, "tags": ["分数"]}),
        change(2, rid, {"grade": 13}),  # past 高三 (12)
    ), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    read(PUSH_RESPONSE, response.text)  # what the client accepts
    assert body["last_seq"] == 2
    assert [(r["seq"], r["outcome"], r["fields"]) for r in body["results"]] == [(2, "rejected", ["grade"])]
    assert "grade" in body["results"][0]["reason"]

    response = client.post(PULL, json=pull_body(), headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    read(PULL_RESPONSE, response.text)
    assert page["more"] is False and page["scope"] == [fellow.id] and page["removed"] == []
    [record] = page["records"]
    assert record["id"] == rid and record["author"] == "王老师" and record["owner"] == fellow.id
    assert record["fields"] == {"status": ["draft", 1, 0], "title": ["认识分数", 1, 0], "grade": [3, 1, 0],
                                "tags": [["分数"], 1, 0]}
    assert page["devices"] == ["laptop-1"]
    # Nothing new: an empty page, the same cursor.
    again = client.post(PULL, json=pull_body(page["cursor"], page["scope"]), headers=headers).json()
    assert again["records"] == [] and again["cursor"] == page["cursor"]


def test_gzip_both_ways(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    fellow = make_user()
    headers = auth_headers(fellow)
    changes = [change(i + 1, fields={"title": f"第{i}课", "objectives": "理解分数的意义。" * 20})
               for i in range(50)]
    raw = json.dumps(push_body(*changes), ensure_ascii=False).encode()
    response = client.post(PUSH, content=gzip.compress(raw), headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []
    response = client.post(PULL, json=pull_body(), headers={**headers, "Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert len(response.json()["records"]) == 50


def test_pull_pages_over_http(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    fellow = make_user()
    headers = auth_headers(fellow)
    ids = [new_id() for _ in range(7)]
    client.post(PUSH, json=push_body(*[change(i + 1, rid) for i, rid in enumerate(ids)]), headers=headers)
    client.post(PUSH, json=push_body(*[change(8 + i, rid, {"grade": 2}) for i, rid in enumerate(ids[:3])]),
                headers=headers)
    seen: dict[str, dict[str, Any]] = {}
    body = pull_body(limit=2)
    for _ in range(20):
        page = client.post(PULL, json=body, headers=headers).json()
        for record in page["records"]:
            assert record["id"] not in seen
            seen[record["id"]] = {k: v[0] for k, v in record["fields"].items()}
        if not page["more"]:
            break
        body = pull_body(page["cursor"], page["scope"], limit=2, resume=page["resume"])
    assert set(seen) == set(ids)
    assert all(seen[rid] == {"title": "认识分数", "grade": 2} for rid in ids[:3])


def test_replayed_push_over_http(client: Any, session: Session, make_user: MakeUser,
                                 auth_headers: Headers) -> None:
    fellow = make_user()
    body = push_body(change(1), change(2))
    first = client.post(PUSH, json=body, headers=auth_headers(fellow))
    again = client.post(PUSH, json=body, headers=auth_headers(fellow))
    assert first.json() == again.json()
    assert stored(session) == (2, 1, 2)


def test_a_push_reusing_seqs_for_other_changes_is_refused_whole(
    client: Any, session: Session, make_user: MakeUser, auth_headers: Headers
) -> None:
    """A store older than what it pushed: its new changes come under seqs the
    server has for other changes. Skipping them as replays would lose them."""
    fellow = make_user()
    headers = auth_headers(fellow)
    first = [change(1), change(2), change(3)]
    assert client.post(PUSH, json=push_body(*first), headers=headers).status_code == 200
    before = stored(session)
    # The same seqs again, one reaching past the mark; seq 2 is another record now.
    reused = push_body(first[0], change(2, fields={"title": "恢复以后写的"}), change(4))
    assert_error(client.post(PUSH, json=reused, headers=headers), 409, "device_rolled_back")
    assert stored(session) == before, "nothing of the refused batch was applied"
    # A true replay (coalesced down to fewer fields, or not) is still just a replay.
    replay = push_body({**first[1], "fields": {}}, first[2], change(4))
    answer = client.post(PUSH, json=replay, headers=headers)
    assert answer.status_code == 200 and answer.json()["last_seq"] == 4


def test_a_pull_below_the_devices_mark_sends_its_own_writes_too(
    client: Any, make_user: MakeUser, auth_headers: Headers
) -> None:
    fellow = make_user()
    headers = auth_headers(fellow)
    assert client.post(PUSH, json=push_body(change(1), change(2)), headers=headers).status_code == 200

    def fields_sent(**extra: Any) -> int:
        page = client.post(PULL, json=pull_body(0, [fellow.id], device_id="laptop-1", **extra),
                           headers=headers).json()
        return sum(len(r["fields"]) for r in page["records"])

    assert fields_sent() == 0 == fields_sent(pushed_seq=2), "its own writes, which it has"
    assert fields_sent(pushed_seq=1) > 0, "a store that knows of less than it pushed gets them back"


def test_groups_of_different_records_may_come_in_any_order(
    client: Any, session: Session, make_user: MakeUser, auth_headers: Headers
) -> None:
    """The client sends the groups of one kind side by side (they compress
    better); only each record's own groups must keep their order."""
    fellow = make_user()
    rid = new_id()
    body = push_body(change(2, rid, {"grade": 4}), change(1), change(3, rid, {"grade": 5}),
                     {**change(4), "kind": "training", "fields": {"title": "集训"}})
    answer = client.post(PUSH, json=body, headers=auth_headers(fellow))
    assert answer.status_code == 200 and answer.json() == {"protocol": PROTOCOL_VERSION, "last_seq": 4,
                                                            "results": []}
    session.expire_all()
    assert session.get(SyncRecord, rid).fields["grade"] == 5  # type: ignore[union-attr]
    assert stored(session)[0] == 3


def test_a_batch_sent_after_one_the_server_does_not_hold_applies_nothing(
    client: Any, session: Session, make_user: MakeUser, auth_headers: Headers
) -> None:
    """Two pushes in flight: the second says which seq it follows. Arriving
    before that one was applied, it is refused whole (and sent again later)."""
    fellow = make_user()
    headers = auth_headers(fellow)
    early = {**push_body(change(3), change(4)), "after": 2}
    assert_error(client.post(PUSH, json=early, headers=headers), 409, "push_gap")
    assert stored(session) == (0, 0, 0), "nothing applied"
    assert client.post(PUSH, json=push_body(change(1), change(2)), headers=headers).status_code == 200
    answer = client.post(PUSH, json=early, headers=headers)
    assert answer.status_code == 200 and answer.json()["last_seq"] == 4
    assert stored(session)[0] == 4


def test_the_schema_lists_the_sync_endpoints(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths[PUSH] and "post" in paths[PULL]


# --------------------------------------------------------------------------- protocol and sign-in


@pytest.mark.parametrize("endpoint", [PUSH, PULL])
def test_missing_or_old_protocol_is_426(client: Any, make_user: MakeUser, auth_headers: Headers,
                                        endpoint: str) -> None:
    headers = auth_headers(make_user())
    body = push_body(change()) if endpoint == PUSH else pull_body()
    missing = {k: v for k, v in headers.items() if k != PROTOCOL_HEADER}
    assert_error(client.post(endpoint, json=body, headers=missing), 426, "client_too_old")
    assert_error(client.post(endpoint, json=body, headers={**headers, PROTOCOL_HEADER: "0"}), 426,
                 "client_too_old")
    # The body's own protocol number: newer than the server's is refused too.
    assert_error(client.post(endpoint, json={**body, "protocol": PROTOCOL_VERSION + 1}, headers=headers),
                 400, "protocol_too_new")


@pytest.mark.parametrize("endpoint", [PUSH, PULL])
def test_sign_in_is_required(client: Any, session: Session, make_user: MakeUser, auth_headers: Headers,
                             endpoint: str) -> None:
    body = push_body(change()) if endpoint == PUSH else pull_body()
    assert_error(client.post(endpoint, json=body, headers={PROTOCOL_HEADER: "1"}), 401)
    bad = {PROTOCOL_HEADER: "1", "Authorization": "Bearer x' OR '1'='1"}
    assert_error(client.post(endpoint, json=body, headers=bad), 401)
    gone = make_user(username="leaver")
    headers = auth_headers(gone)
    admin.deactivate_user(session, "leaver")
    assert_error(client.post(endpoint, json=body, headers=headers), 401, "account_disabled")
    assert stored(session) == (0, 0, 0)


# --------------------------------------------------------------------------- roles


def test_every_role_against_someone_elses_data(client: Any, session: Session, make_user: MakeUser,
                                                auth_headers: Headers) -> None:
    owner = make_user("fellow", cohort="north", username="owner")
    peer = make_user("fellow", cohort="north", username="peer")
    trainer = make_user("trainer", cohort="north", username="trainer")
    outsider = make_user("trainer", cohort="south", username="outsider")
    boss = make_user("admin", username="boss")
    rid = new_id()
    assert client.post(PUSH, json=push_body(change(1, rid, {"title": "mine", "status": "submitted"})),
                       headers=auth_headers(owner)).json()["results"] == []
    session.expire_all()
    cursor = session.execute(select(ServerState.seq)).scalar_one()

    for intruder in (peer, trainer, outsider):
        edits: tuple[dict[str, Any], ...] = ({"title": "changed"}, {"deleted": True}, {"status": "draft"})
        for seq, fields in enumerate(edits, 1):
            answer = client.post(PUSH, json=push_body(change(seq, rid, fields, known=cursor), device="x"),
                                 headers=auth_headers(intruder))
            assert answer.status_code == 200
            [result] = answer.json()["results"]
            assert result["outcome"] == "rejected", (intruder.username, fields)
            assert result["reason"]
            assert answer.json()["last_seq"] == seq  # a rejected change is not retried
        # The same seq again changes nothing either (it is not what was
        # stored under that seq: the server asks the device to push anew).
        assert_error(client.post(PUSH, json=push_body(change(1, rid, {"title": "again"}), device="x"),
                                 headers=auth_headers(intruder)), 409, "device_rolled_back")
    session.expire_all()
    record = session.get(SyncRecord, rid)
    assert record is not None and record.fields == {"title": "mine", "status": "submitted"}

    def visible(user: User) -> set[str]:
        page = client.post(PULL, json=pull_body(), headers=auth_headers(user)).json()
        return {r["id"] for r in page["records"]}

    assert visible(peer) == set() and visible(outsider) == set()
    assert visible(trainer) == {rid} and visible(boss) == {rid}
    # The admin may edit content, but not set someone else's status.
    answer = client.post(PUSH, json=push_body(change(1, rid, {"title": "fixed"}, known=cursor)),
                         headers=auth_headers(boss)).json()
    assert answer["results"] == []
    answer = client.post(PUSH, json=push_body(change(2, rid, {"status": "draft"}, known=cursor + 1)),
                         headers=auth_headers(boss)).json()
    assert answer["results"][0]["outcome"] == "rejected"


def test_a_scope_naming_strangers_reveals_nothing(client: Any, make_user: MakeUser,
                                                  auth_headers: Headers) -> None:
    victim, snoop = make_user(), make_user()
    client.post(PUSH, json=push_body(change()), headers=auth_headers(victim))
    page = client.post(PULL, json=pull_body(0, [victim.id, snoop.id], resume=f"0:{victim.id}"),
                       headers=auth_headers(snoop)).json()
    assert page["records"] == [] and page["scope"] == [snoop.id]
    assert victim.id in page["removed"]


# --------------------------------------------------------------------------- hostile bodies


RID = "0b3c7d4e-5f60-4a71-8b92-a3b4c5d6e7f8"


def _hostile_pushes() -> list[tuple[str, Any]]:
    good = change()
    return [
        ("not an object", [good]),
        ("null", None),
        ("missing changes", {"protocol": 1, "device_id": "d"}),
        ("extra key", {**push_body(good), "admin": True}),
        ("protocol as text", {**push_body(good), "protocol": "1"}),
        ("seq as text", push_body({**good, "seq": "1"})),
        ("seq as float", push_body({**good, "seq": 1.5})),  # 1.0 is the integer 1 in JSON
        ("seq as bool", push_body({**good, "seq": True})),
        ("negative seq", push_body({**good, "seq": -1})),
        ("huge clock", push_body({**good, "clock": 2**62})),
        ("bigger clock", push_body({**good, "clock": 10**30})),
        ("NaN known", push_body({**good, "known": float("nan")})),
        ("unknown kind", push_body({**good, "kind": "diary"})),
        ("kind injection", push_body({**good, "kind": "lesson_plan'; DROP TABLE records; --"})),
        ("id injection", push_body({**good, "record_id": "1' OR '1'='1"})),
        ("id too long", push_body({**good, "record_id": new_id() + "0"})),
        ("id upper case", push_body({**good, "record_id": new_id().upper()})),
        ("id with NUL", push_body({**good, "record_id": new_id()[:-1] + "\x00"})),
        ("field name injection", push_body({**good, "fields": {"title\"; DROP TABLE records; --": "x"}})),
        ("field name too long", push_body({**good, "fields": {"t" * 65: "x"}})),
        ("field name surrogate", push_body({**good, "fields": {"ti\ud800tle": "x"}})),
        ("empty field name", push_body({**good, "fields": {"": "x"}})),
        ("fields not an object", push_body({**good, "fields": ["title", "x"]})),
        ("10k fields", push_body({**good, "fields": {f"f{i}": i for i in range(10_000)}})),
        ("too many fields",
         push_body({**good, "fields": {f"f{i}": i for i in range(MAX_FIELDS_PER_CHANGE + 1)}})),
        ("too many changes", push_body(*[change(i + 1) for i in range(MAX_PUSH_CHANGES + 1)])),
        ("a record's seqs out of order", push_body(change(2, RID), change(1, RID))),
        ("two changes with one seq", push_body(change(1), change(1))),
        ("server's device id", push_body(good, device="server")),
        ("device id with spaces", push_body(good, device="my laptop")),
        ("device id too long", push_body(good, device="d" * 65)),
        ("device id injection", push_body(good, device="d'; --")),
    ]


@pytest.mark.parametrize(("what", "body"), _hostile_pushes(), ids=[w for w, _ in _hostile_pushes()])
def test_hostile_push_bodies(client: Any, session: Session, make_user: MakeUser, auth_headers: Headers,
                             what: str, body: Any) -> None:
    headers = {**auth_headers(make_user()), "Content-Type": "application/json"}
    response = client.post(PUSH, content=json.dumps(body), headers=headers)  # NaN, surrogates: as escapes
    error = assert_error(response, (400, 422))
    assert len(error["message"]) < 2000  # readable, not an echo of the input
    assert stored(session) == (0, 0, 0)


def test_unparsable_bodies(client: Any, session: Session, make_user: MakeUser, auth_headers: Headers) -> None:
    headers = {**auth_headers(make_user()), "Content-Type": "application/json"}
    for raw in (b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b'{"protocol": 1, "device_id": "d", '
                b'"changes": [' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}"):
        assert_error(client.post(PUSH, content=raw, headers=headers), (400, 422))
        assert_error(client.post(PULL, content=raw, headers=headers), (400, 422))
    assert stored(session) == (0, 0, 0)


@pytest.mark.parametrize(
    ("what", "fields"),
    [
        ("huge title", {"title": "x" * 1_000_000}),
        ("huge text", {"objectives": "字" * 2_000_000}),
        ("NaN grade", {"grade": float("nan")}),
        ("infinite hours", {"duration_minutes": float("inf")}),
        ("nested value", {"title": [[[[["x"]]]]]}),
        ("deep steps", {"procedure": [{"phase": [[[[["x"]]]]]}]}),
        ("object as tags", {"tags": {"a": 1}}),
        ("surrogate text", {"title": "a\ud800b"}),
        ("NUL text", {"title": "a\x00b"}),
        ("unknown fields", {"is_admin": True, "owner_id": 1}),
        ("review status", {"status": "approved"}),
        ("injection value", {"title": "'; DROP TABLE records; --", "grade": "1 OR 1=1"}),
    ],
)
def test_bad_values_are_rejected_groups(client: Any, session: Session, make_user: MakeUser,
                                        auth_headers: Headers, what: str, fields: dict[str, Any]) -> None:
    """A well-formed batch with a bad value: that group is rejected with a
    reason naming the field (the protocol's answer); nothing of it is stored."""
    headers = auth_headers(make_user())
    body = json.dumps(push_body(change(1, fields=fields)), allow_nan=True)
    response = client.post(PUSH, content=body, headers={**headers, "Content-Type": "application/json"})
    if response.status_code == 413:
        return  # over the body limit: refused before reading
    assert response.status_code == 200, response.text[:500]
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert len(result["reason"]) < 2000
    assert set(result["fields"]) <= set(fields) and result["fields"]
    records, _devices, seq = stored(session)
    assert (records, seq) == (0, 0)


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("negative cursor", pull_body(-1)),
        ("cursor as text", pull_body("0")),  # type: ignore[arg-type]
        ("cursor too big", pull_body(2**62)),
        ("scope of text", pull_body(0, ["1"])),  # type: ignore[list-item]
        ("scope with zero", pull_body(0, [0])),
        ("scope too long", pull_body(0, list(range(1, 100_002)))),
        ("limit negative", pull_body(limit=-5)),
        ("limit as float", pull_body(limit=2.5)),
        ("resume garbage", pull_body(resume="'; DROP TABLE records; --")),
        ("resume as number", pull_body(resume=5)),
        ("extra key", pull_body(owner=1)),
        ("missing scope", {"protocol": 1, "cursor": 0}),
    ],
)
def test_hostile_pull_bodies(client: Any, make_user: MakeUser, auth_headers: Headers, what: str,
                             body: dict[str, Any]) -> None:
    assert_error(client.post(PULL, json=body, headers=auth_headers(make_user())), 422)


def test_a_huge_limit_is_capped(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    fellow = make_user()
    client.post(PUSH, json=push_body(change()), headers=auth_headers(fellow))
    page = client.post(PULL, json=pull_body(limit=2**53 - 1), headers=auth_headers(fellow))
    assert page.status_code == 200 and len(page.json()["records"]) == 1
