"""Request and response bodies of the auth and me endpoints.

Strict types and length limits, so bad input is refused before any code of
ours runs and the OpenAPI schema says exactly what is accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 256
REFRESH_TOKEN_MAX = 128


def _encodable(value: str) -> str:
    """Refuse lone surrogates (valid JSON escapes, but not text) and NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not text") from None
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


# Text that can be stored and encoded. Put length limits *before* the validator
# (``Annotated[str, Field(max_length=9), AfterValidator(_encodable)]``) for
# pydantic's "String should have at most 9 characters" message.
Text = Annotated[str, AfterValidator(_encodable)]
UsernameField = Annotated[str, Field(min_length=1, max_length=USERNAME_MAX), AfterValidator(_encodable)]
PasswordField = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX), AfterValidator(_encodable)]
NewPasswordField = Annotated[
    str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX), AfterValidator(_encodable)
]
TokenField = Annotated[str, Field(min_length=1, max_length=REFRESH_TOKEN_MAX), AfterValidator(_encodable)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True)


class LoginRequest(_Strict):
    username: UsernameField
    password: PasswordField


class RefreshRequest(_Strict):
    refresh_token: TokenField


class LogoutRequest(RefreshRequest):
    pass


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
