"""``POST /api/v1/sync/push`` and ``POST /api/v1/sync/pull`` (docs/sync.md).

The bodies are the protocol's own messages (``app/protocol/sync.py``): FastAPI
validates each request with them before any code of ours runs, and hands the
handler the very dict the service takes. The work is done by
``app/server/sync/`` (push and pull). Answers are encoded here in one go (a
pull page holds thousands of records: the client checks them against the same
messages, so checking them here too would only cost time).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.protocol.sync import PullRequest, PullResponse, PushRequest, PushResponse
from app.server.deps import CurrentUser, SessionDep
from app.server.errors import ApiError
from app.server.middleware import TOO_OLD_MESSAGE
from app.server.schemas import error_responses
from app.server.sync.pull import pull
from app.server.sync.push import DeviceRolledBack, PushGap, push
from app.server.sync.requests import check_order, check_protocol

router = APIRouter(prefix="/sync", tags=["sync"])

_ERRORS = error_responses(400, 401, 413, 422, 426)
_PUSH_ERRORS = error_responses(400, 401, 409, 413, 422, 426)


def _json(payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, media_type="application/json")


@router.post(
    "/push",
    response_model=PushResponse,
    responses=_PUSH_ERRORS,
    summary="Send change groups and review entries; all or nothing, idempotent",
)
def push_changes(body: PushRequest, session: SessionDep, user: CurrentUser) -> Response:
    check_protocol(body["protocol"], TOO_OLD_MESSAGE)
    check_order(body["changes"])
    try:
        return _json(push(session, user, body))
    except PushGap as gap:
        raise ApiError(
            409,
            "push_gap",
            f"This batch follows changes up to {body.get('after')} that the server does not hold "
            f"(it holds up to {gap.last_seq}). Send the earlier changes first; nothing was applied.",
        ) from None
    except DeviceRolledBack:
        raise ApiError(
            409,
            "device_rolled_back",
            "This device already sent other changes under these numbers: its data is older than "
            "what it sent. Push again as a new device; nothing was applied.",
        ) from None


@router.post(
    "/pull",
    response_model=PullResponse,
    responses=_ERRORS,
    summary="One page of the changes visible to the user after the cursor",
)
def pull_changes(body: PullRequest, session: SessionDep, user: CurrentUser) -> Response:
    check_protocol(body["protocol"], TOO_OLD_MESSAGE)
    return _json(pull(session, user, body))
