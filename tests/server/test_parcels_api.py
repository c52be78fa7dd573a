"""The server's parcel tables (docs/parcels.md): one key set per (user,
device), and a delivered parcel recorded once, so a second delivery can be
answered from the record instead of being applied again.

The deliver endpoint itself is not built yet; its tests belong here."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.server import tables
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
