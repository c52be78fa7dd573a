"""ASGI middleware: body limits and gzip requests, the protocol check.

Responses are compressed by Starlette's ``GZipMiddleware`` (see ``app.py``).
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.server.errors import send_error
from app.sync.blob_protocol import BLOBS_PATH
from app.sync.protocol import (
    API_PREFIX,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    MIN_SUPPORTED_PROTOCOL,
    PROTOCOL_HEADER,
    BodyTooLarge,
    inflate,
)

SYNC_PREFIX = API_PREFIX + "/sync/"
BLOBS_PREFIX = API_PREFIX + BLOBS_PATH + "/"
TOO_OLD_MESSAGE = "This version of Fieldbook is too old for the server. Please update Fieldbook."


class BodyLimitMiddleware:
    """Read the whole request body up front, within the limits.

    A body over ``max_body`` bytes as sent (by Content-Length, or counted as
    it streams) is answered 413 without reading further. A gzip body is
    inflated here, at most to ``max_inflated`` bytes (413 past that, 400 if it
    is not valid gzip), and the app sees the plain body. Bodies are at most a
    few MB, so holding one in memory is fine.
    """

    def __init__(
        self, app: ASGIApp, max_body: int = MAX_BODY_BYTES, max_inflated: int = MAX_INFLATED_BYTES
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_inflated = max_inflated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                message = "The Content-Length header is not a number."
                await send_error(scope, send, 400, "bad_request", message)
                return
            if int(length) > self.max_body:
                await send_error(scope, send, 413, "too_large", _too_large(self.max_body))
                return
        content_encoding = headers.get("content-encoding", "").strip().lower() or None
        if _is_blob_upload(scope):
            if content_encoding not in (None, "identity"):
                message = "A file is sent as it is, not compressed."
                await send_error(scope, send, 415, "unsupported_media_type", message)
                return
            await self.app(scope, receive, send)
            return
        if content_encoding not in (None, "identity", "gzip"):
            await send_error(
                scope, send, 415, "unsupported_media_type", "Only gzip request bodies are accepted."
            )
            return

        chunks: list[bytes] = []
        size = 0
        disconnected = False
        while True:
            received = await receive()
            if received["type"] == "http.disconnect":
                disconnected = True
                break
            chunk = received.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await send_error(scope, send, 413, "too_large", _too_large(self.max_body))
                return
            chunks.append(chunk)
            if not received.get("more_body", False):
                break
        if disconnected:
            return
        body = b"".join(chunks)

        if content_encoding == "gzip":
            try:
                body = inflate(body, "gzip", self.max_inflated)
            except BodyTooLarge:
                await send_error(scope, send, 413, "too_large", _too_large(self.max_inflated, inflated=True))
                return
            except (ValueError, zlib.error, EOFError):
                await send_error(scope, send, 400, "bad_gzip", "The request body is not valid gzip.")
                return
            raw_headers = [
                (k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")
            ]
            raw_headers.append((b"content-length", str(len(body)).encode()))
            scope = {**scope, "headers": raw_headers}

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _is_blob_upload(scope: Scope) -> bool:
    return scope.get("method") == "PUT" and str(scope.get("path", "")).startswith(BLOBS_PREFIX)


def _too_large(limit: int, *, inflated: bool = False) -> str:
    what = "once decompressed" if inflated else "as sent"
    return f"The request is too large ({what}: the limit is {limit // (1024 * 1024)} MB)."


class ProtocolMiddleware:
    """Sync requests must say which protocol they speak; too old gets 426."""

    def __init__(self, app: ASGIApp, minimum: int = MIN_SUPPORTED_PROTOCOL) -> None:
        self.app = app
        self.minimum = minimum

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(SYNC_PREFIX):
            raw = Headers(scope=scope).get(PROTOCOL_HEADER, "").strip()
            if raw and not (raw.isascii() and raw.isdigit() and len(raw) < 10):
                await send_error(
                    scope, send, 400, "bad_protocol", f"The {PROTOCOL_HEADER} header must be a whole number."
                )
                return
            if not raw or int(raw) < self.minimum:
                await send_error(scope, send, 426, "client_too_old", TOO_OLD_MESSAGE)
                return
        await self.app(scope, receive, send)
