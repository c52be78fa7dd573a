"""Who may do what, all of it in one table (issue 10): every endpoint against
every kind of caller, on SQLite and PostgreSQL.

The callers are real sign-ins (``POST /auth/login``), so every token carries
whatever the server puts in it; the broken ones are made from those: a
session signed out, an account deactivated, a token past its expiry, a
token whose payload was edited (signature kept), and one re-signed with
``alg=none``. ``EXPECTED`` is the contract; the test probes every cell and
fails with the whole list of cells that disagree, so a regression shows
which rule broke for whom. (``/auth/login`` and ``/auth/logout`` take
credentials, not a token: tests/server/test_auth.py and test_sessions.py.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.protocol.blobs import OFFSET_HEADER, SIZE_HEADER, TYPE_HEADER
from app.protocol.parcel_format import DeviceKeys
from app.protocol.sync import PROTOCOL_HEADER, PROTOCOL_VERSION
from app.server import admin
from app.server.config import Settings
from app.server.tables import User
from tests.server.conftest import DEFAULT_PASSWORD, FakeClock

API = "/api/v1"
JPEG = "image/jpeg"
MakeUser = Callable[..., User]
NEW_PASSWORD = "a brand new passphrase 42"
LATE = 1_000_000  # clocks above every other edit's: an allowed edit wins, not a conflict

# The endpoints, in the order they are probed (the password change last: it
# ends the caller's other sessions).
ENDPOINTS = (
    "health", "me", "pull_sees_record", "push_own_record", "push_edit_record", "comment_record",
    "decide_record", "blob_status", "blob_download", "blob_upload", "certificate_own_device",
    "certificate_owner_device", "refresh", "change_password",
)

# The callers. "owner" owns the record and its file; "peer" is a fellow of
# the same cohort; "other_*" are of another cohort.
LIVE = ("owner", "peer", "other_fellow", "trainer", "other_trainer", "admin")
BROKEN = ("deactivated", "signed_out", "expired", "tampered", "alg_none", "anonymous")

_SEES = {"owner", "trainer", "admin"}  # who sees the owner's record
_ALLOWED: dict[str, set[str]] = {
    "health": set(LIVE) | set(BROKEN),
    "me": set(LIVE),
    "pull_sees_record": _SEES,
    "push_own_record": set(LIVE),
    "push_edit_record": {"owner", "admin"},  # trainers never write content
    "comment_record": _SEES,
    "decide_record": {"trainer", "admin"},  # never on one's own record
    "blob_status": _SEES,
    "blob_download": _SEES,
    "blob_upload": set(LIVE),
    # The server's certificate of a device's parcel keys: only of one's own devices.
    "certificate_own_device": set(LIVE),
    "certificate_owner_device": {"owner"},
    # An expired access token is what refresh is for: its refresh token works.
    "refresh": set(LIVE) | {"expired"},
    "change_password": set(LIVE),
}
EXPECTED: dict[tuple[str, str], bool] = {
    (endpoint, caller): caller in _ALLOWED[endpoint] for endpoint in ENDPOINTS for caller in LIVE + BROKEN
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tampered(token: str, sub: int) -> str:
    """The token with its subject changed and its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = str(sub)
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def unsigned(token: str, sub: int) -> str:
    """The token's claims (subject changed) under ``alg=none``, no signature."""
    claims = json.loads(_unb64(token.split(".")[1]))
    claims["sub"] = str(sub)
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def jpeg(size: int = 4_000) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Caller:
    access: str | None
    refresh: str | None
    password: str = DEFAULT_PASSWORD
    seq: int = 0

    def headers(self) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.access}"} if self.access else {}
        return {**auth, PROTOCOL_HEADER: str(PROTOCOL_VERSION)}

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass
class World:
    """The record, its file and the callers the probes run against."""

    client: Any
    callers: dict[str, Caller] = field(default_factory=dict)
    record_id: str = ""
    file: bytes = b""
    late_clock: int = LATE  # each probing edit later than every edit before it

    def push(self, who: str, changes: list[dict[str, Any]] | None = None,
             reviews: list[dict[str, Any]] | None = None, device: str | None = None) -> Any:
        body: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "device_id": device or f"laptop-{who}",
                                "changes": changes or []}
        if reviews is not None:
            body["reviews"] = reviews
        return self.client.post(f"{API}/sync/push", json=body, headers=self.callers[who].headers())

    def change(self, who: str, record_id: str, fields: dict[str, Any], clock: int = 0) -> dict[str, Any]:
        seq = self.callers[who].next_seq()
        return {"seq": seq, "record_id": record_id, "kind": "lesson_plan", "clock": clock or seq, "known": 0,
                "fields": fields}

    def put_file(self, who: str, data: bytes) -> Any:
        return self.client.put(f"{API}/blobs/{sha(data)}", content=data, headers={
            **self.callers[who].headers(), SIZE_HEADER: str(len(data)), TYPE_HEADER: JPEG,
            OFFSET_HEADER: "0", "Content-Type": "application/octet-stream"})

    def submitted_record(self) -> tuple[str, list[Any]]:
        """A fresh record of the owner's, submitted; its id and status basis."""
        record_id = str(uuid.uuid4())
        change = self.change("owner", record_id, {"title": "认识分数", "status": "submitted"})
        response = self.push("owner", [change], device="laptop-owner")
        assert response.status_code == 200 and response.json()["results"] == [], response.text
        return record_id, [change["clock"], "laptop-owner"]


def _ok_push(response: Any) -> bool:
    """Stored: applied, or merged with a concurrent edit kept as a conflict (not refused)."""
    return response.status_code == 200 and all(
        result["outcome"] != "rejected" for result in response.json()["results"])


def _review_accepted(response: Any) -> bool:
    if response.status_code != 200:
        return False
    [answer] = response.json()["reviews"]
    return bool(answer["outcome"] == "accepted")


def probe(world: World, endpoint: str, who: str) -> bool:
    """Whether ``who`` got what ``endpoint`` offers (False: refused, in whatever way)."""
    client, caller = world.client, world.callers[who]
    if endpoint == "health":
        return bool(client.get("/health").status_code == 200)
    if endpoint == "me":
        return bool(client.get(f"{API}/me", headers=caller.headers()).status_code == 200)
    if endpoint == "pull_sees_record":
        pull = {"protocol": PROTOCOL_VERSION, "cursor": 0, "scope": None}
        response = client.post(f"{API}/sync/pull", json=pull, headers=caller.headers())
        records = response.json()["records"] if response.status_code == 200 else []
        return any(record["id"] == world.record_id for record in records)
    if endpoint == "push_own_record":
        return _ok_push(world.push(who, [world.change(who, str(uuid.uuid4()), {"title": f"{who} 的课"})]))
    if endpoint == "push_edit_record":
        world.late_clock += 1
        edit = world.change(who, world.record_id, {"title": f"{who} 改过"}, clock=world.late_clock)
        return _ok_push(world.push(who, [edit]))
    if endpoint == "comment_record":
        entry = {"id": str(uuid.uuid4()), "record_id": world.record_id, "action": "comment",
                 "body": "看看", "basis": [], "written_at": "2026-12-06T08:00:00+08:00"}
        return _review_accepted(world.push(who, reviews=[entry]))
    if endpoint == "decide_record":
        record_id, basis = world.submitted_record()
        entry = {"id": str(uuid.uuid4()), "record_id": record_id, "action": "approve", "body": "",
                 "basis": basis, "written_at": "2026-12-06T08:00:00+08:00"}
        return _review_accepted(world.push(who, reviews=[entry]))
    if endpoint == "blob_status":
        response = client.get(f"{API}/blobs/{sha(world.file)}/status", headers=caller.headers())
        return response.status_code == 200 and bool(response.json().get("state") == "complete")
    if endpoint == "blob_download":
        response = client.get(f"{API}/blobs/{sha(world.file)}", headers=caller.headers())
        return bool(response.status_code == 200 and response.content == world.file)
    if endpoint == "blob_upload":
        response = world.put_file(who, jpeg())
        return bool(response.status_code == 200 and response.json()["state"] == "complete")
    if endpoint in ("certificate_own_device", "certificate_owner_device"):
        device = f"laptop-{who}" if endpoint == "certificate_own_device" else "laptop-owner"
        response = client.post(f"{API}/parcels/certificate", json={"device_id": device},
                               headers=caller.headers())
        return bool(response.status_code == 200 and response.json()["certificate"])
    if endpoint == "refresh":
        if caller.refresh is None:
            return False
        response = client.post(f"{API}/auth/refresh", json={"refresh_token": caller.refresh})
        return bool(response.status_code == 200)
    if endpoint == "change_password":
        response = client.post(f"{API}/auth/password", headers=caller.headers(), json={
            "old_password": caller.password, "new_password": NEW_PASSWORD})
        if response.status_code in (200, 204):
            caller.password = NEW_PASSWORD
            return True
        return False
    raise AssertionError(endpoint)


def sign_in(client: Any, username: str, password: str = DEFAULT_PASSWORD, *,
            device: str | None = None) -> Caller:
    """A real sign-in; with ``device``, registering parcel keys for it as the app does."""
    keys = base64.b64encode(DeviceKeys.generate().public().to_bytes()).decode()
    parcel = {} if device is None else {"device_id": device, "parcel_keys": keys}
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password, **parcel})
    assert response.status_code == 200, response.text
    body = response.json()
    return Caller(body["access_token"], body["refresh_token"], password)


def build_world(client: Any, session: Session, make_user: MakeUser) -> tuple[World, dict[str, User]]:
    users = {
        "owner": make_user("fellow", cohort="A", display_name="王芳"),
        "peer": make_user("fellow", cohort="A"),
        "other_fellow": make_user("fellow", cohort="B"),
        "trainer": make_user("trainer", cohort="A"),
        "other_trainer": make_user("trainer", cohort="B"),
        "admin": make_user("admin"),
        "deactivated": make_user("fellow", cohort="A"),
        "signed_out": make_user("fellow", cohort="A"),
        "expired": make_user("fellow", cohort="A"),
    }
    world = World(client)
    for who, user in users.items():
        world.callers[who] = sign_in(client, user.username, device=f"laptop-{who}")
    owner_token = world.callers["owner"].access
    assert owner_token is not None
    world.callers["tampered"] = Caller(tampered(owner_token, users["admin"].id),
                                       world.callers["owner"].refresh[::-1] if world.callers[
                                           "owner"].refresh else None)
    world.callers["alg_none"] = Caller(unsigned(owner_token, users["admin"].id), None)
    world.callers["anonymous"] = Caller(None, None)

    # The owner's record and file, uploaded by the owner.
    world.file = jpeg(6_000)
    world.record_id = str(uuid.uuid4())
    ref = {"sha256": sha(world.file), "name": "板书.jpg", "size": len(world.file), "type": JPEG}
    change = world.change("owner", world.record_id, {"title": "认识分数", "attachments": [ref]})
    assert _ok_push(world.push("owner", [change]))
    assert world.put_file("owner", world.file).status_code == 200

    # Now break the broken ones.
    admin.deactivate_user(session, users["deactivated"].username)
    session.commit()
    logout = client.post(f"{API}/auth/logout", json={"refresh_token": world.callers["signed_out"].refresh})
    assert logout.status_code in (200, 204), logout.text
    return world, users


def test_every_endpoint_for_every_caller(client: Any, session: Session, make_user: MakeUser,
                                         settings: Settings, clock: FakeClock) -> None:
    world, users = build_world(client, session, make_user)
    outcomes: dict[tuple[str, str], bool] = {}
    for endpoint in ENDPOINTS:
        for who in LIVE + BROKEN:
            if who == "expired":
                continue  # below, once the clock has moved
            outcomes[endpoint, who] = probe(world, endpoint, who)
    clock.advance(seconds=settings.access_token_ttl.total_seconds() + 1)
    # The owner signs in again (new password, fresh token) to submit records the expired caller probes.
    seq = world.callers["owner"].seq
    world.callers["owner"] = sign_in(client, users["owner"].username, world.callers["owner"].password,
                                     device="laptop-owner")
    world.callers["owner"].seq = seq
    for endpoint in ENDPOINTS:
        outcomes[endpoint, "expired"] = probe(world, endpoint, "expired")

    assert set(outcomes) == set(EXPECTED)
    wrong = [
        f"{endpoint} × {who}: expected {'allow' if EXPECTED[endpoint, who] else 'deny'}"
        for (endpoint, who), allowed in outcomes.items()
        if allowed != EXPECTED[endpoint, who]
    ]
    assert not wrong, f"{len(wrong)} of {len(EXPECTED)} cells disagree:\n" + "\n".join(wrong)
