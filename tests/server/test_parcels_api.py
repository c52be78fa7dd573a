"""The server's parcel tables (docs/parcels.md): one key set per (user,
device), and a delivered parcel recorded once, so a second delivery can be
answered from the record instead of being applied again.

Then the keys registered at sign-in and dropped at sign-out."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.protocol import parcel_format as pf
from app.server import tables
from app.server.config import ConfigError, Settings
from app.server.database import make_engine


def _add_user(session: Session, name: str) -> int:
    user = tables.User(username=name, role="fellow", password_hash="x")
    session.add(user)
    session.flush()
    return user.id


def test_device_keys_are_kept_per_user_and_device(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            ana, bo = _add_user(session, "ana"), _add_user(session, "bo")
            session.add_all(
                [
                    tables.DeviceKeys(user_id=ana, device_id="laptop", keys="a-keys"),
                    tables.DeviceKeys(user_id=bo, device_id="laptop", keys="b-keys"),
                ]
            )
            session.commit()
            rows = session.execute(
                select(tables.DeviceKeys.user_id, tables.DeviceKeys.keys).order_by(
                    tables.DeviceKeys.user_id
                )
            ).all()
            assert rows == [(ana, "a-keys"), (bo, "b-keys")]
    finally:
        engine.dispose()


def test_a_parcel_is_recorded_once(db_url: str) -> None:
    engine = make_engine(db_url)
    expires = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    try:
        with Session(engine) as session:
            ana = _add_user(session, "ana")
            session.add(
                tables.DeliveredParcel(
                    parcel_id="p1",
                    user_id=ana,
                    device_id="laptop",
                    push_responses=[{"accepted": 3}],
                    expires_at=expires,
                )
            )
            session.commit()
            session.add(
                tables.DeliveredParcel(
                    parcel_id="p1",
                    user_id=ana,
                    device_id="laptop",
                    push_responses=[],
                    expires_at=expires,
                )
            )
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()
            stored = session.scalars(select(tables.DeliveredParcel)).all()
            assert [(p.parcel_id, p.push_responses) for p in stored] == [("p1", [{"accepted": 3}])]
    finally:
        engine.dispose()


# --- key registration at sign-in --------------------------------------------------


LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"


def _public_text(keys: pf.DeviceKeys) -> str:
    return base64.b64encode(keys.public().to_bytes()).decode("ascii")


def _registered(session: Session) -> list[tuple[int, str, str]]:
    session.expire_all()
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(tables.DeviceKeys.user_id, tables.DeviceKeys.device_id, tables.DeviceKeys.keys)
        .order_by(tables.DeviceKeys.user_id, tables.DeviceKeys.device_id))]


def test_sign_in_registers_the_device_keys_and_answers_with_the_servers(
    client: Any, make_user: Any, session: Session, settings: Settings
) -> None:
    user = make_user()
    keys = pf.DeviceKeys.generate()
    body = {"username": user.username, "password": "correct horse", "device_id": "laptop-1",
            "parcel_keys": _public_text(keys)}
    answer = client.post(LOGIN, json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["parcel_keys_registered"] is True
    server = pf.ServerPublicKeys.from_bytes(base64.b64decode(data["server_parcel_keys"]))
    assert server == settings.server_keys().public()
    assert dt.datetime.fromisoformat(data["server_time"]).tzinfo is not None
    assert _registered(session) == [(user.id, "laptop-1", _public_text(keys))]
    # Signing in again with the same keys under a new device id (the store
    # became a new device): the old id's registration goes.
    again = client.post(LOGIN, json={**body, "device_id": "laptop-2"})
    assert again.status_code == 200
    assert _registered(session) == [(user.id, "laptop-2", _public_text(keys))]


def test_an_older_client_signs_in_without_keys(client: Any, make_user: Any, session: Session) -> None:
    user = make_user()
    answer = client.post(LOGIN, json={"username": user.username, "password": "correct horse"})
    assert answer.status_code == 200
    assert answer.json()["parcel_keys_registered"] is False
    assert answer.json()["server_parcel_keys"]
    assert _registered(session) == []


@pytest.mark.parametrize("bad", [
    "A" * 88,  # base64 of 66 zero bytes: not a device's keys
    "server",  # not base64 of the right length
])
def test_bad_keys_are_refused_and_nothing_is_registered(
    client: Any, make_user: Any, session: Session, bad: str
) -> None:
    user = make_user()
    answer = client.post(LOGIN, json={"username": user.username, "password": "correct horse",
                                      "device_id": "laptop", "parcel_keys": bad})
    assert answer.status_code == 422
    assert _registered(session) == []


def test_the_servers_keys_where_a_device_belongs_are_refused(
    client: Any, make_user: Any, session: Session
) -> None:
    user = make_user()
    server_public = base64.b64encode(pf.ServerKeys.generate().public().to_bytes()).decode()
    answer = client.post(LOGIN, json={"username": user.username, "password": "correct horse",
                                      "device_id": "laptop", "parcel_keys": server_public})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_parcel_keys"


def test_sign_out_drops_the_device_key(client: Any, make_user: Any, session: Session) -> None:
    user, other = make_user(), make_user()
    keys = _public_text(pf.DeviceKeys.generate())
    tokens = client.post(LOGIN, json={"username": user.username, "password": "correct horse",
                                      "device_id": "laptop", "parcel_keys": keys}).json()
    theirs = client.post(LOGIN, json={"username": other.username, "password": "correct horse",
                                      "device_id": "laptop", "parcel_keys": keys}).json()
    assert len(_registered(session)) == 2
    # Another user's token cannot drop this user's key.
    assert client.post(LOGOUT, json={"refresh_token": theirs["refresh_token"],
                                     "device_id": "laptop"}).status_code == 204
    assert _registered(session) == [(user.id, "laptop", keys)]
    assert client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"],
                                     "device_id": "laptop"}).status_code == 204
    assert _registered(session) == []


def test_the_server_keys_are_made_once_and_kept(settings: Settings, tmp_path: Path) -> None:
    again = Settings(database_url=settings.database_url, secret=settings.secret,
                     data_dir=settings.data_dir).resolved()
    assert again.server_keys().to_bytes() == settings.server_keys().to_bytes()
    path = settings.parcel_keys_path()
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="PARCEL_KEYS"):
        Settings(database_url=settings.database_url, secret=settings.secret, data_dir=tmp_path,
                 parcel_keys="bm90IGtleXM=").resolved()
    given = base64.b64encode(pf.ServerKeys.generate().to_bytes()).decode()
    chosen = Settings(database_url=settings.database_url, secret=settings.secret, data_dir=tmp_path,
                      parcel_keys=given).resolved()
    assert base64.b64encode(chosen.server_keys().to_bytes()).decode() == given


def test_rotating_keeps_the_current_keys_as_previous(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.server.config import rotate_parcel_keys

    old = settings.server_keys()
    assert settings.parcel_key_ring() == (old,) or settings.previous_server_keys() is None
    new = rotate_parcel_keys(settings)
    again = Settings(database_url=settings.database_url, secret=settings.secret,
                     data_dir=settings.data_dir).resolved()
    assert [k.to_bytes() for k in again.parcel_key_ring()] == [new.to_bytes(), old.to_bytes()]
    assert settings.previous_parcel_keys_path().stat().st_mode & 0o777 == 0o600
    # A second rotation forgets the first keys (a running server sees it once restarted).
    newest = rotate_parcel_keys(again)
    restarted = Settings(database_url=settings.database_url, secret=settings.secret,
                         data_dir=settings.data_dir).resolved()
    assert [k.to_bytes() for k in restarted.parcel_key_ring()] == [newest.to_bytes(), new.to_bytes()]
    # Damaged previous keys are refused when the server starts, not at the first parcel.
    settings.previous_parcel_keys_path().write_text("damaged\n")
    with pytest.raises(ConfigError, match="PREVIOUS_PARCEL_KEYS"):
        Settings(database_url=settings.database_url, secret=settings.secret,
                 data_dir=settings.data_dir).resolved()
    # Keys from the environment are the operator's to rotate: nothing is written.
    monkeypatch.setenv("FIELDBOOK_SERVER_PARCEL_KEYS", base64.b64encode(old.to_bytes()).decode())
    before = settings.parcel_keys_path().read_text()
    with pytest.raises(ConfigError, match="PREVIOUS_PARCEL_KEYS"):
        rotate_parcel_keys(settings)
    assert settings.parcel_keys_path().read_text() == before


CERTIFICATE = "/api/v1/parcels/certificate"


@pytest.mark.parametrize("role", ["fellow", "trainer", "admin"])
def test_sign_in_and_the_certificate_endpoint_certify_only_ones_own_devices(
    client: Any, make_user: Any, settings: Settings, auth_headers: Any, role: str
) -> None:
    from app.protocol.peer_parcels import read_certificate

    user, other = make_user(role=role, display_name="李老师"), make_user()
    keys = pf.DeviceKeys.generate()
    signed_in = client.post(LOGIN, json={"username": user.username, "password": "correct horse",
                                         "device_id": "laptop-1", "parcel_keys": _public_text(keys)}).json()
    server = settings.server_keys().public()
    cert = read_certificate(signed_in["device_certificate"], server)
    assert (cert.user, cert.name, cert.role, cert.device_id) == (str(user.id), "李老师", role, "laptop-1")
    assert cert.keys == keys.public()
    # Asked later (a laptop that signed in before certificates existed):
    answer = client.post(CERTIFICATE, json={"device_id": "laptop-1"}, headers=auth_headers(user))
    assert answer.status_code == 200, answer.text
    assert read_certificate(answer.json()["certificate"], server).keys == keys.public()
    assert pf.ServerPublicKeys.from_bytes(base64.b64decode(answer.json()["server_parcel_keys"])) == server
    # Another user's device, or one never registered, is not found; nobody signed in gets 401;
    # a malformed body changes nothing and says why.
    assert client.post(CERTIFICATE, json={"device_id": "laptop-1"},
                       headers=auth_headers(other)).status_code == 404
    assert client.post(CERTIFICATE, json={"device_id": "laptop-9"},
                       headers=auth_headers(user)).status_code == 404
    assert client.post(CERTIFICATE, json={"device_id": "laptop-1"}).status_code == 401
    for bad in ({}, {"device_id": 5}, {"device_id": "laptop-1", "more": 1}, {"device_id": "坏 id"}):
        assert client.post(CERTIFICATE, json=bad, headers=auth_headers(user)).status_code == 422
