"""Request and response bodies of the auth and me endpoints.

Strict types and length limits, so bad input is refused before any code of
ours runs and the OpenAPI schema says exactly what is accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.protocol.blobs import ALLOWED_TYPES, OFFSET_HEADER, SIZE_HEADER, TYPE_HEADER
from app.protocol.sync import TEXT_SCHEMA, encodable

USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 256
REFRESH_TOKEN_MAX = 128


# Text as the protocol defines it (no NUL, no lone surrogates), with the
# pattern it states in the OpenAPI schema: one definition for every body.
_TEXT_SCHEMA = TEXT_SCHEMA
_encodable = encodable


UsernameField = Annotated[str, Field(min_length=1, max_length=USERNAME_MAX), _TEXT_SCHEMA,
                          AfterValidator(_encodable)]
PasswordField = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX), _TEXT_SCHEMA,
                          AfterValidator(_encodable)]
NewPasswordField = Annotated[
    str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX), _TEXT_SCHEMA, AfterValidator(_encodable)
]
TokenField = Annotated[str, Field(min_length=1, max_length=REFRESH_TOKEN_MAX), _TEXT_SCHEMA,
                       AfterValidator(_encodable)]


# --- blobs: what the endpoints check themselves (app/server/routers/blobs.py), stated
# here for the OpenAPI schema. The checks stay there, with their own codes
# (``invalid_sha``, ``invalid_header``): FastAPI only describes these.

SHA256_PATTERN = r"^[0-9a-f]{64}$"
Sha256Path = Annotated[str, Path(
    description="the file's SHA-256: 64 lower-case hex digits (else 422 `invalid_sha`)",
    json_schema_extra={"pattern": SHA256_PATTERN},
)]
_WHOLE_BYTES = 15  # digits of a byte count the server reads


def blob_piece_headers() -> list[dict[str, object]]:
    """The OpenAPI parameters of an upload's headers (``openapi_extra``): the
    endpoint reads them itself, to answer ``invalid_header`` (422) or
    ``unsupported_type`` (415) with a message, so they are declared here
    rather than by FastAPI."""
    def header(name: str, description: str, schema: dict[str, object]) -> dict[str, object]:
        return {"name": name, "in": "header", "required": True, "description": description,
                "schema": {"type": "string", **schema}}

    return [
        header(SIZE_HEADER, "The whole file's size in bytes (at least 1; the server's limit: 413)",
               {"pattern": r"^0*[1-9][0-9]*$", "maxLength": _WHOLE_BYTES}),
        header(TYPE_HEADER, "Its media type", {"enum": sorted(ALLOWED_TYPES)}),
        header(OFFSET_HEADER, "Where this body starts, in bytes",
               {"pattern": r"^[0-9]+$", "maxLength": _WHOLE_BYTES}),
    ]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


# A device's public parcel keys (DevicePublicKeys.to_bytes(), 66 bytes) in
# base64: 88 characters, no padding. The endpoint decodes and checks them (422 otherwise).
PARCEL_KEYS_PATTERN = r"^[A-Za-z0-9+/]{88}$"
ParcelKeysField = Annotated[str, Field(pattern=PARCEL_KEYS_PATTERN, max_length=88)]
# The sync protocol's device ids (app/protocol/sync.py: DEVICE_PATTERN).
DEVICE_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
DeviceIdField = Annotated[str, Field(pattern=DEVICE_ID_PATTERN, max_length=64)]


class LoginRequest(_Strict):
    username: UsernameField
    password: PasswordField
    # Sync parcels (docs/parcels.md): the laptop's device id and the public
    # half of its parcel keys, registered for (user, device). Optional: older
    # clients sign in without them (and make no parcels).
    device_id: DeviceIdField | None = None
    parcel_keys: ParcelKeysField | None = Field(
        default=None, description="base64 of the device's public parcel keys; needs `device_id`"
    )


class RefreshRequest(_Strict):
    refresh_token: TokenField


class LogoutRequest(RefreshRequest):
    device_id: DeviceIdField | None = Field(
        default=None, description="the device signing out: its parcel keys are dropped too"
    )


class PasswordChangeRequest(_Strict):
    old_password: PasswordField
    new_password: NewPasswordField


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Literal["fellow", "trainer", "admin"]
    school: str = ""


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    user: UserOut
    notice: Literal["session_revoked_reuse"] | None = Field(
        default=None,
        description="sign-in only: a session of this user was ended because its refresh token "
        "was used twice (a copy may be in someone else's hands); told once",
    )
    server_parcel_keys: str | None = Field(
        default=None, description="base64 of the server's public parcel keys: parcels are sealed for them"
    )
    server_time: str | None = Field(
        default=None, description="the server's clock (ISO 8601 UTC): a parcel's expiry is set from it"
    )
    parcel_keys_registered: bool = Field(
        default=False, description="sign-in only: the device's parcel keys were registered"
    )
    device_certificate: str | None = Field(
        default=None, description="sign-in only: the server's certificate of the device's parcel keys, "
        "shown to laptops in the same room (docs/parcels.md)"
    )


class HealthResponse(BaseModel):
    status: Literal["ok"]
    protocol: int


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


# What any request with a body can get: malformed (400: not JSON or not UTF-8,
# bad gzip), too large (413), not gzip-or-plain (415), not the schema (422).
BODY_ERRORS = (400, 413, 415, 422)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """``responses=`` for a route: the error body for each status."""
    descriptions = {
        400: "Malformed body (not JSON, not UTF-8, bad gzip)",
        401: "Not signed in, or the credentials are wrong",
        403: "Not allowed",
        409: "The device's data is older than what it pushed: push again as a new device",
        413: "Body too large",
        415: "Unsupported Content-Encoding",
        422: "The body does not match the schema",
        503: "The database does not answer",
        426: "Fieldbook on this computer is too old for the server",
        429: "Too many failed attempts; see Retry-After",
    }
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in statuses}
