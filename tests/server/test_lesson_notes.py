"""The lesson plan's notes field (schema v7, where an imported Word 教案 keeps
what has no field of its own) on the server: accepted from its owner, pulled
back, refused when too long or from a trainer — on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.fields import LONG_TEXT_MAX
from app.protocol.sync import PROTOCOL_VERSION, PushChange, PushResponse
from app.server.sync.pull import pull
from app.server.sync.push import push
from app.server.tables import SyncRecord, User

MakeUser = Callable[..., User]


def _push(session: Session, user: User, device: str, rid: str, fields: dict[str, Any],
          clock: int, known: int = 0) -> PushResponse:
    change = {"seq": clock, "record_id": rid, "kind": "lesson_plan", "clock": clock,
              "known": known, "fields": fields}
    return push(session, user, {"protocol": PROTOCOL_VERSION, "device_id": device,
                                "changes": cast("list[PushChange]", [change])})


def _stored(session: Session, rid: str) -> dict[str, Any]:
    session.expire_all()
    record = session.execute(select(SyncRecord).where(SyncRecord.id == rid)).scalar_one()
    return dict(record.fields)


def test_a_fellows_notes_are_stored_and_pulled(session: Session, make_user: MakeUser) -> None:
    fellow = make_user("fellow")
    rid = str(uuid.uuid4())
    result = _push(session, fellow, "laptop", rid, {"title": "认识分数", "notes": "板书设计：1/2"}, 1)
    assert result["results"] == []
    assert _stored(session, rid)["notes"] == "板书设计：1/2"
    page = pull(session, fellow, {"protocol": PROTOCOL_VERSION, "cursor": 0, "scope": None})
    assert page["records"][0]["fields"]["notes"][0] == "板书设计：1/2"  # [value, clock, …]


def test_too_long_notes_are_refused_and_change_nothing(session: Session,
                                                      make_user: MakeUser) -> None:
    fellow = make_user("fellow")
    rid = str(uuid.uuid4())
    _push(session, fellow, "laptop", rid, {"title": "plan", "notes": "short"}, 1)
    refused = _push(session, fellow, "laptop", rid, {"notes": "长" * (LONG_TEXT_MAX + 1)}, 2)
    assert refused["results"][0]["outcome"] == "rejected"
    assert _stored(session, rid)["notes"] == "short"


def test_a_trainer_cannot_write_a_fellows_notes(session: Session, make_user: MakeUser) -> None:
    fellow = make_user("fellow", cohort="north")
    trainer = make_user("trainer", cohort="north")
    rid = str(uuid.uuid4())
    _push(session, fellow, "laptop", rid, {"title": "plan", "notes": "mine"}, 1)
    refused = _push(session, trainer, "desk", rid, {"notes": "theirs"}, 5)
    assert refused["results"][0]["outcome"] == "rejected"
    assert _stored(session, rid)["notes"] == "mine"
