"""``POST /api/v1/parcels/deliver`` (docs/parcels.md "Delivery"): a parcel
made by a registered device is applied as that user and device, every rule
as in a direct push and pull, once; every refusal is a 4xx with a code and
changes nothing. SQLite and PostgreSQL, like every server test."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.protocol import parcel_format as pf
from app.protocol.sync import PROTOCOL_VERSION
from app.server import admin
from app.server.config import Settings
from app.server.tables import DeliveredParcel, DeviceKeys, Review, ServerState, SyncRecord, User
from tests.server.conftest import DEFAULT_PASSWORD, FakeClock

DELIVER = "/api/v1/parcels/deliver"
LOGIN = "/api/v1/auth/login"
OCTETS = {"Content-Type": "application/octet-stream"}


@dataclass
class Device:
    """A laptop as the server knows it: a user, a device id, its keys."""

    user: User
    device_id: str
    keys: pf.DeviceKeys
    server: pf.ServerPublicKeys

    def parcel(self, pushes: list[dict[str, Any]], *, cursor: int = 0, scope: list[int] | None = None,
               expires_in: dt.timedelta = dt.timedelta(days=30), now: dt.datetime | None = None,
               user: str | None = None, signer: pf.DeviceKeys | None = None,
               parcel_id: str | None = None) -> bytes:
        now = now or dt.datetime.now(dt.UTC)
        payload = {"push": pushes, "pull": {"protocol": PROTOCOL_VERSION, "cursor": cursor, "scope": scope,
                                            "device_id": self.device_id, "pushed_seq": 0}}
        return pf.seal_outgoing(json.dumps(payload).encode(), signer or self.keys, self.server,
                                parcel_id=parcel_id or pf.new_parcel_id(), user=user or str(self.user.id),
                                device_id=self.device_id, created_at=now, expires_at=now + expires_in)

    def push(self, *groups: dict[str, Any], reviews: list[dict[str, Any]] | None = None,
             after: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "device_id": self.device_id,
                                "changes": list(groups)}
        if reviews is not None:
            body["reviews"] = reviews
        if after is not None:
            body["after"] = after
        return body

    def open(self, answer: bytes) -> tuple[pf.ParcelInfo, dict[str, Any]]:
        info, payload = pf.open_answer(answer, self.keys, self.server, device_id=self.device_id)
        data: dict[str, Any] = json.loads(payload)
        return info, data


MakeDevice = Callable[..., Device]


@pytest.fixture
def device(client: Any, make_user: Callable[..., User]) -> MakeDevice:
    def make(role: str = "fellow", cohort: str | None = "A", *, user: User | None = None,
             device_id: str | None = None) -> Device:
        user = user or make_user(role, cohort)
        keys = pf.DeviceKeys.generate()
        device_id = device_id or f"dev-{uuid.uuid4().hex[:8]}"
        answer = client.post(LOGIN, json={
            "username": user.username, "password": DEFAULT_PASSWORD, "device_id": device_id,
            "parcel_keys": base64.b64encode(keys.public().to_bytes()).decode()})
        assert answer.status_code == 200, answer.text
        server = pf.ServerPublicKeys.from_bytes(base64.b64decode(answer.json()["server_parcel_keys"]))
        return Device(user, device_id, keys, server)

    return make


def group(seq: int, record_id: str, fields: dict[str, Any], *, clock: int | None = None) -> dict[str, Any]:
    return {"seq": seq, "record_id": record_id, "kind": "lesson_plan",
            "clock": seq if clock is None else clock, "known": 0, "fields": fields}


def deliver(client: Any, parcel: bytes) -> Any:
    return client.post(DELIVER, content=parcel, headers=OCTETS)


def server_seq(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(ServerState.seq)).scalar_one())


def delivered(session: Session) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(DeliveredParcel)).scalar_one())


# --- it works, as each role --------------------------------------------------------


def test_a_fellows_parcel_is_applied_and_answered_for_that_device(
    client: Any, device: MakeDevice, session: Session
) -> None:
    fellow = device()
    rid = str(uuid.uuid4())
    parcel = fellow.parcel([fellow.push(group(1, rid, {"title": "分数的认识", "grade": 3}))])
    answer = deliver(client, parcel)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["Fieldbook-Parcel-Again"] == "0"
    info, data = fellow.open(answer.content)
    assert info.reply_to == pf.peek(parcel).parcel_id
    assert [p["last_seq"] for p in data["push"]] == [1]
    assert data["push"][0]["results"] == []
    pages = data["pull"]
    assert pages[-1]["more"] is False and pages[-1]["cursor"] == server_seq(session)
    assert fellow.user.id in pages[-1]["scope"]
    # Its own write does not come back to it: the answer confirms the push.
    assert all(r["id"] != rid for page in pages for r in page["records"])
    record = session.get(SyncRecord, rid)
    assert record is not None and record.fields["title"] == "分数的认识"
    assert record.owner_id == fellow.user.id
    assert delivered(session) == 1


def test_a_trainers_parcel_brings_the_cohorts_records_and_takes_comments(
    client: Any, device: MakeDevice, session: Session
) -> None:
    fellow, trainer = device(), device("trainer")
    rid = str(uuid.uuid4())
    assert deliver(client, fellow.parcel([fellow.push(group(1, rid, {"title": "教案"}))])).status_code == 200
    comment = {"id": str(uuid.uuid4()), "record_id": rid, "action": "comment", "body": "很好",
               "basis": [], "written_at": "2026-03-01T08:00:00+00:00"}
    # The trainer also tries to edit the fellow's record: refused, as in a direct push.
    parcel = trainer.parcel([trainer.push(group(1, rid, {"title": "改了"}), reviews=[comment])])
    answer = deliver(client, parcel)
    assert answer.status_code == 200, answer.text
    _info, data = trainer.open(answer.content)
    assert data["push"][0]["reviews"] == [{"id": comment["id"], "outcome": "accepted"}]
    assert data["push"][0]["results"][0]["outcome"] == "rejected"
    records = {r["id"]: r for page in data["pull"] for r in page["records"]}
    assert records[rid]["fields"]["title"][0] == "教案"
    assert session.get(Review, comment["id"]) is not None
    # The fellow's next parcel brings the comment back.
    _info, back = fellow.open(deliver(client, fellow.parcel([], cursor=0, scope=[fellow.user.id])).content)
    assert [e["body"] for page in back["pull"] for e in page.get("reviews", [])] == ["很好"]


def test_an_admins_parcel_sees_everyone(client: Any, device: MakeDevice) -> None:
    fellow, other, boss = device(), device(cohort="B"), device("admin", None)
    for laptop in (fellow, other):
        rid = str(uuid.uuid4())
        assert deliver(client, laptop.parcel([laptop.push(group(1, rid, {"title": "x"}))])).status_code == 200
    _info, data = boss.open(deliver(client, boss.parcel([])).content)
    owners = {r["owner"] for page in data["pull"] for r in page["records"]}
    assert owners == {fellow.user.id, other.user.id}


def test_a_second_delivery_applies_nothing_and_answers_the_same_pushes(
    client: Any, device: MakeDevice, session: Session
) -> None:
    fellow = device()
    rid = str(uuid.uuid4())
    comment = {"id": str(uuid.uuid4()), "record_id": rid, "action": "comment", "body": "自评",
               "basis": [], "written_at": "2026-03-01T08:00:00+00:00"}
    parcel = fellow.parcel([fellow.push(group(1, rid, {"title": "一"}), group(2, rid, {"grade": 2})),
                            fellow.push(group(3, rid, {"title": "二"}), after=2)])
    first = deliver(client, parcel)
    assert first.status_code == 200, first.text
    seq = server_seq(session)
    second = deliver(client, parcel)
    assert second.status_code == 200
    assert second.headers["Fieldbook-Parcel-Again"] == "1"
    assert server_seq(session) == seq
    assert fellow.open(second.content)[1]["push"] == fellow.open(first.content)[1]["push"]
    assert delivered(session) == 1
    # A later parcel holding the same seqs again (its answer was lost) is
    # made of replays: nothing is applied twice.
    again = fellow.parcel([fellow.push(group(1, rid, {"title": "一"}), group(2, rid, {"grade": 2}),
                                       group(3, rid, {"title": "二"}), reviews=[comment])])
    assert deliver(client, again).status_code == 200
    count = session.execute(select(func.count()).select_from(Review)).scalar_one()
    assert deliver(client, fellow.parcel([fellow.push(reviews=[comment])])).status_code == 200
    assert session.execute(select(func.count()).select_from(Review)).scalar_one() == count
    session.expire_all()
    record = session.get(SyncRecord, rid)
    assert record is not None and record.fields["title"] == "二"


def test_a_rolled_back_store_is_told_in_the_answer(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    rid = str(uuid.uuid4())
    assert deliver(client, fellow.parcel([fellow.push(group(1, rid, {"title": "一"}),
                                                       group(2, rid, {"grade": 2}))])).status_code == 200
    # Seq 2 again, for a change the server never had: the store is older than what it sent.
    answer = deliver(client, fellow.parcel([fellow.push(group(2, rid, {"homework": "新的"}))]))
    assert answer.status_code == 200
    data = fellow.open(answer.content)[1]
    assert data["push"] == [] and data["push_error"]["code"] == "device_rolled_back"
    session.expire_all()
    record = session.get(SyncRecord, rid)
    assert record is not None and "homework" not in record.versions


# --- refusals: a 4xx with a code, nothing changed --------------------------------------


def _assert_refused(client: Any, session: Session, parcel: bytes, status: int, code: str) -> None:
    seq, kept = server_seq(session), delivered(session)
    answer = deliver(client, parcel)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert server_seq(session) == seq and delivered(session) == kept


def test_a_tampered_parcel_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    parcel = bytearray(fellow.parcel([fellow.push(group(1, str(uuid.uuid4()), {"title": "x"}))]))
    for where in (pf.HEADER_BYTES + 10, len(parcel) // 2, len(parcel) - 1):
        flipped = bytearray(parcel)
        flipped[where] ^= 0x01
        _assert_refused(client, session, bytes(flipped), 400, "parcel_tampered")


def test_a_truncated_parcel_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    parcel = fellow.parcel([fellow.push(group(1, str(uuid.uuid4()), {"title": "x"}))])
    for size in (pf.HEADER_BYTES + 1, len(parcel) // 2, len(parcel) - 1):
        _assert_refused(client, session, parcel[:size], 400, "parcel_truncated")
    _assert_refused(client, session, b"", 400, "not_a_parcel")
    _assert_refused(client, session, b"hello, this is not a parcel", 400, "not_a_parcel")


def test_a_parcel_of_an_unknown_device_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    stranger = Device(fellow.user, "never-signed-in", pf.DeviceKeys.generate(), fellow.server)
    _assert_refused(client, session, stranger.parcel([]), 403, "parcel_foreign")
    # The device's id, but keys it never registered.
    _assert_refused(client, session, fellow.parcel([], signer=pf.DeviceKeys.generate()), 403,
                    "parcel_foreign")


def test_a_store_that_became_a_new_device_moves_its_keys_by_parcel(
    client: Any, device: MakeDevice, session: Session
) -> None:
    fellow, peer = device(), device()
    before = deliver(client, fellow.parcel([fellow.push(group(1, str(uuid.uuid4()), {"title": "旧编号"}))]))
    assert before.status_code == 200, before.text
    renewed = Device(fellow.user, "dev-renewed", fellow.keys, fellow.server)
    rid = str(uuid.uuid4())
    answer = deliver(client, renewed.parcel([renewed.push(group(1, rid, {"title": "换了新编号"}))]))
    assert answer.status_code == 200, answer.text
    _info, payload = renewed.open(answer.content)
    assert payload["push"][0]["last_seq"] == 1
    session.expire_all()
    assert session.get(SyncRecord, rid) is not None
    assert sorted(session.scalars(select(DeviceKeys.device_id).where(DeviceKeys.user_id == fellow.user.id))) \
        == ["dev-renewed"]
    # An old parcel of the id before, delivered late, does not move the keys back;
    # another user's keys move nothing.
    _assert_refused(client, session, fellow.parcel([]), 403, "parcel_foreign")
    as_peer = Device(peer.user, "dev-peer-new", fellow.keys, fellow.server)
    _assert_refused(client, session, as_peer.parcel([]), 403, "parcel_foreign")


def test_a_parcel_sealed_for_another_server_is_refused(client: Any, device: MakeDevice,
                                                       session: Session) -> None:
    fellow = device()
    elsewhere = Device(fellow.user, fellow.device_id, fellow.keys, pf.ServerKeys.generate().public())
    _assert_refused(client, session, elsewhere.parcel([]), 403, "parcel_foreign")


def test_a_parcel_claiming_another_account_is_refused(client: Any, device: MakeDevice,
                                                      session: Session) -> None:
    fellow, peer = device(), device()
    rid = str(uuid.uuid4())
    # The fellow's key, the peer's account (and the fellow's device id): not registered so.
    forged = fellow.parcel([fellow.push(group(1, rid, {"title": "冒充"}))], user=str(peer.user.id))
    _assert_refused(client, session, forged, 403, "parcel_foreign")
    # The peer's device id under the peer's account, signed with the fellow's key.
    as_peer = Device(peer.user, peer.device_id, fellow.keys, fellow.server)
    _assert_refused(client, session, as_peer.parcel([as_peer.push(group(1, rid, {"title": "冒充"}))]), 403,
                    "parcel_foreign")
    assert session.get(SyncRecord, rid) is None


def test_an_expired_parcel_is_refused_by_the_servers_clock(
    client: Any, device: MakeDevice, session: Session, clock: FakeClock
) -> None:
    fellow = device()
    # The laptop's clock says it is fresh; the server's says thirty-one days have passed.
    parcel = fellow.parcel([fellow.push(group(1, str(uuid.uuid4()), {"title": "x"}))])
    clock.advance(days=31)
    _assert_refused(client, session, parcel, 410, "parcel_expired")


def test_a_deactivated_users_parcel_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    parcel = fellow.parcel([fellow.push(group(1, str(uuid.uuid4()), {"title": "x"}))])
    admin.deactivate_user(session, fellow.user.username)
    _assert_refused(client, session, parcel, 403, "account_disabled")


def test_a_signed_out_devices_parcel_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    tokens = client.post(LOGIN, json={"username": fellow.user.username, "password": DEFAULT_PASSWORD}).json()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"],
                                                    "device_id": fellow.device_id}).status_code == 204
    _assert_refused(client, session, fellow.parcel([]), 403, "parcel_foreign")


def test_an_answer_handed_for_delivery_is_refused(client: Any, device: MakeDevice, session: Session) -> None:
    fellow = device()
    answer = deliver(client, fellow.parcel([])).content
    _assert_refused(client, session, answer, 400, "not_a_parcel")


def test_a_parcel_with_an_invalid_push_is_refused_whole(client: Any, device: MakeDevice,
                                                        session: Session) -> None:
    fellow = device()
    rid = str(uuid.uuid4())
    good = fellow.push(group(1, rid, {"title": "x"}))
    bad = {**fellow.push(group(2, rid, {"title": "y"})), "device_id": "someone-else"}
    _assert_refused(client, session, fellow.parcel([good, bad]), 422, "invalid_parcel_payload")
    _assert_refused(client, session, fellow.parcel([{**good, "changes": "many"}]), 422,
                    "invalid_parcel_payload")
    assert session.get(SyncRecord, rid) is None


def test_a_parcel_past_the_size_bound_is_refused(client: Any, device: MakeDevice, session: Session,
                                                 settings: Settings) -> None:
    too_big = b"\x89FBPARC\n" + b"\x00" * settings.max_parcel_bytes
    _assert_refused(client, session, too_big, 413, "too_large")
