"""``POST /api/v1/parcels/deliver``: a sync parcel in, its answer out
(docs/parcels.md "Delivery"). No account: the parcel authenticates itself.
``POST /api/v1/parcels/certificate``: the signed-in user's certificate of
one of their devices' registered keys (docs/parcels.md "In the same room").

HTTP only: the body is read here within its bound (413 past it, before the
rest is read); the work is ``app/server/sync/parcels.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.protocol.peer_parcels import CertificateRequest, CertificateResponse
from app.server.deps import CurrentUser, SessionDep, SettingsDep
from app.server.errors import ApiError
from app.server.schemas import BODY_ERRORS, error_responses
from app.server.sync.parcels import certificate_for, deliver

router = APIRouter(prefix="/parcels", tags=["parcels"])

PARCEL_TYPE = "application/octet-stream"
_BINARY = {"schema": {"type": "string", "format": "binary"}}


async def _read_bounded(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise ApiError(413, "too_large", _too_large(limit))
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", _too_large(limit))
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> str:
    return (f"This parcel is larger than the server takes ({limit // (1024 * 1024)} MB). "
            "Make it without attached files, or in parts.")


@router.post(
    "/deliver",
    responses={200: {"content": {PARCEL_TYPE: _BINARY}, "description": "The answer parcel"},
               **error_responses(400, 403, 409, 410, 413, 415, 422, 426)},
    response_class=Response,
    summary="Deliver an outgoing sync parcel; the answer parcel comes back (no sign-in needed)",
    openapi_extra={"requestBody": {"required": True, "content": {PARCEL_TYPE: _BINARY}}},
)
async def deliver_parcel(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise ApiError(415, "unsupported_media_type", "A parcel is sent as it is, not compressed.")
    data = await _read_bounded(request, settings.max_parcel_bytes)
    delivery = await run_in_threadpool(deliver, session, settings, data)
    return Response(delivery.answer, media_type=PARCEL_TYPE,
                    headers={"Fieldbook-Parcel-Again": "1" if delivery.again else "0"})


@router.post(
    "/certificate",
    response_model=CertificateResponse,
    responses=error_responses(*BODY_ERRORS, 401, 404),
    summary="The server's certificate of this device's registered parcel keys",
)
def device_certificate(body: CertificateRequest, session: SessionDep, settings: SettingsDep,
                       user: CurrentUser) -> CertificateResponse:
    return certificate_for(session, settings, user, body["device_id"])
