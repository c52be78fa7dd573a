"""Every error the API answers is ``{"error": {"code": ..., "message": ...}}``.

Bad input gets a 4xx with a message a person can read; only a bug of ours
gives a 500, and that is logged with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("fieldbook.server")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    426: "client_too_old",
    429: "too_many_requests",
}


class ApiError(Exception):
    """Raise from an endpoint or dependency to answer with an error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        # More for the client beside code and message (e.g. a blob upload's
        # ``status`` on a 409): put in the error object and, for clients that
        # look there, at the top level of the body too.
        self.details = dict(details or {})


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"].update(details)
        body.update({k: v for k, v in details.items() if k != "error"})
    return body


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=dict(headers or {}))


async def send_error(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    """Answer from plain ASGI middleware."""
    response = error_response(status, code, message, {"Connection": "close"} if status == 413 else None)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:  # pragma: no cover - responses never read
    return {"type": "http.disconnect"}


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts)


def validation_message(errors: Sequence[Any]) -> str:
    """One readable line per problem (at most five), without echoing the input."""
    lines = []
    for err in list(errors)[:5]:
        if not isinstance(err, Mapping):
            continue
        if err.get("type") == "json_invalid":
            lines.append("The request body is not valid JSON.")
            continue
        where = _location(err.get("loc", ()))
        msg = str(err.get("msg", "is not valid"))[:200]
        lines.append(f"{where}: {msg}" if where else msg)
    if len(errors) > 5:
        lines.append(f"... and {len(errors) - 5} more problems.")
    return " ".join(lines) or "The request is not valid."


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers, exc.details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404:
        message = "There is nothing at this address."
    return error_response(exc.status_code, code, message, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", validation_message(exc.errors()))


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The database is down, restarting or (SQLite) locked for too long: not a
    # bug of ours, and the client may simply try again a little later.
    log.warning("Database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503, "database_unavailable", "The server is busy. Please try again in a moment.", {"Retry-After": "5"}
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


class CatchAllMiddleware:
    """Turn an unexpected exception into a logged 500 with the error body.

    (Starlette's own handler for ``Exception`` re-raises after answering, which
    logs every crash twice; this one answers once.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("Unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            message = "Something went wrong on the server. Please try again later."
            await send_error(scope, send, 500, "internal", message)
