"""What every sync request must satisfy beyond its shape, whether it came
over HTTP (``routers/sync.py``) or inside a parcel (``sync/parcels.py``):
a protocol this server speaks, and change groups in an order it can apply.
The shape itself is the protocol's message (``app/protocol/sync.py``)."""

from __future__ import annotations

from typing import Final

from pydantic import TypeAdapter

from app.protocol.sync import (
    MIN_SUPPORTED_PROTOCOL,
    ORDER_CODE,
    PROTOCOL_VERSION,
    PullRequest,
    PushChange,
    PushRequest,
    order_problem,
)
from app.server.errors import ApiError

# The protocol's messages as the server validates them (strict, closed).
PUSH_REQUEST: Final = TypeAdapter(PushRequest)
PULL_REQUEST: Final = TypeAdapter(PullRequest)


def check_protocol(protocol: int, too_old: str) -> None:
    """426 ``client_too_old`` (with ``too_old``) below what this server
    speaks, 400 ``protocol_too_new`` above it."""
    if protocol < MIN_SUPPORTED_PROTOCOL:
        raise ApiError(426, "client_too_old", too_old)
    if protocol > PROTOCOL_VERSION:
        raise ApiError(
            400,
            "protocol_too_new",
            f"This server speaks sync protocol {PROTOCOL_VERSION}; the request uses {protocol}.",
        )


def check_order(changes: list[PushChange]) -> None:
    """422 ``changes_out_of_order`` when the groups cannot be applied in order."""
    problem = order_problem(changes)
    if problem is not None:
        raise ApiError(422, ORDER_CODE, problem)
