"""``POST /api/v1/sync/push`` and ``POST /api/v1/sync/pull`` (docs/sync.md).

The bodies are validated by the models in ``app/server/sync_schemas.py``; the
work is done by ``app/server/sync/`` (push and pull). Answers are encoded here in
one go (a pull page holds thousands of records: validating them again
against the response model would only cost time).
"""

from __future__ import annotations

import json
from typing import Any, cast

from fastapi import APIRouter
from fastapi.responses import Response

from app.protocol.sync import (
    MIN_SUPPORTED_PROTOCOL,
    PROTOCOL_VERSION,
    PullRequest,
    PushRequest,
    ReviewAction,
)
from app.server.deps import CurrentUser, SessionDep
from app.server.errors import ApiError
from app.server.middleware import TOO_OLD_MESSAGE
from app.server.schemas import error_responses
from app.server.sync.pull import pull
from app.server.sync.push import DeviceRolledBack, PushGap, push
from app.server.sync_schemas import (
    ORDER_CODE,
    PullRequestModel,
    PullResponseModel,
    PushRequestModel,
    PushResponseModel,
    order_problem,
)

router = APIRouter(prefix="/sync", tags=["sync"])

_ERRORS = error_responses(400, 401, 413, 422, 426)
_PUSH_ERRORS = error_responses(400, 401, 409, 413, 422, 426)


def _check_protocol(protocol: int) -> None:
    if protocol < MIN_SUPPORTED_PROTOCOL:
        raise ApiError(426, "client_too_old", TOO_OLD_MESSAGE)
    if protocol > PROTOCOL_VERSION:
        raise ApiError(
            400,
            "protocol_too_new",
            f"This server speaks sync protocol {PROTOCOL_VERSION}; the request uses {protocol}.",
        )


def _json(payload: Any) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return Response(body, media_type="application/json")


@router.post(
    "/push",
    response_model=PushResponseModel,
    responses=_PUSH_ERRORS,
    summary="Send change groups and review entries; all or nothing, idempotent",
)
def push_changes(body: PushRequestModel, session: SessionDep, user: CurrentUser) -> Response:
    _check_protocol(body.protocol)
    problem = order_problem(body.changes)
    if problem is not None:
        raise ApiError(422, ORDER_CODE, problem)
    request: PushRequest = {
        "protocol": body.protocol,
        "device_id": body.device_id,
        "changes": [
            {
                "seq": c.seq,
                "record_id": c.record_id,
                "kind": c.kind,
                "clock": c.clock,
                "known": c.known,
                "fields": c.fields,
            }
            for c in body.changes
        ],
    }
    if body.after is not None:
        request["after"] = body.after
    if body.reviews is not None:
        request["reviews"] = [
            {
                "id": r.id,
                "record_id": r.record_id,
                "action": cast(ReviewAction, r.action),  # checked per entry by the service
                "body": r.body,
                "basis": list(r.basis),
                "written_at": r.written_at,
            }
            for r in body.reviews
        ]
    try:
        return _json(push(session, user, request))
    except PushGap as gap:
        raise ApiError(
            409,
            "push_gap",
            f"This batch follows changes up to {body.after} that the server does not hold (it holds up "
            f"to {gap.last_seq}). Send the earlier changes first; nothing was applied.",
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
    response_model=PullResponseModel,
    responses=_ERRORS,
    summary="One page of the changes visible to the user after the cursor",
)
def pull_changes(body: PullRequestModel, session: SessionDep, user: CurrentUser) -> Response:
    _check_protocol(body.protocol)
    request: PullRequest = {"protocol": body.protocol, "cursor": body.cursor, "scope": body.scope}
    if body.limit is not None:
        request["limit"] = body.limit
    if body.resume is not None:
        request["resume"] = body.resume
    if body.device_id is not None:
        request["device_id"] = body.device_id
    if body.pushed_seq is not None:
        request["pushed_seq"] = body.pushed_seq
    if body.people_hash is not None:
        request["people_hash"] = body.people_hash
    return _json(pull(session, user, request))
