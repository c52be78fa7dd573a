"""ASGI middleware: body limits and gzip requests, the protocol check, and
reading a refused body to its end so that its answer arrives.

Responses are compressed by Starlette's ``GZipMiddleware`` (see ``app.py``).
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.protocol.blobs import BLOBS_PATH
from app.protocol.sync import (
    API_PREFIX,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    MIN_SUPPORTED_PROTOCOL,
    PROTOCOL_HEADER,
    BodyTooLarge,
    inflate,
)
from app.server.errors import send_error

# A body the app did not read (refused early: 401, 413, 415, 422...) is read
# and dropped up to this many bytes before the answer goes out; past it the
# answer says ``Connection: close`` and nothing more is read. Fieldbook's own
# bodies are far smaller (MAX_BODY_BYTES, a blob piece), so its clients always
# get the answer and its reason.
DRAIN_MAX_BYTES = 2 * MAX_BODY_BYTES
SYNC_PREFIX = API_PREFIX + "/sync/"
BLOBS_PREFIX = API_PREFIX + BLOBS_PATH + "/"
PARCELS_DELIVER_PATH = API_PREFIX + "/parcels/deliver"
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
        if _is_parcel_delivery(scope):
            # A parcel is sealed bytes (compressed inside) and may be larger
            # than a sync body: the endpoint streams it within its own bound.
            await self.app(scope, receive, send)
            return
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


def _is_parcel_delivery(scope: Scope) -> bool:
    return scope.get("method") == "POST" and str(scope.get("path", "")) == PARCELS_DELIVER_PATH


def _is_blob_upload(scope: Scope) -> bool:
    return scope.get("method") == "PUT" and str(scope.get("path", "")).startswith(BLOBS_PREFIX)


def _too_large(limit: int, *, inflated: bool = False) -> str:
    what = "once decompressed" if inflated else "as sent"
    return f"The request is too large ({what}: the limit is {limit // (1024 * 1024)} MB)."


class DrainBodyMiddleware:
    """Read what is left of the request body before answering, so that the
    client reads the answer.

    A client such as ``requests`` sends the whole body before it reads the
    answer. If the server answers early and then closes the connection (a
    413 says ``Connection: close``) with bytes of the body still unread,
    the kernel resets the connection, and the answer is lost on the way: the
    client sees a broken pipe instead of the 4xx and its reason. So the rest
    of the body (up to ``limit`` bytes) is read and dropped first; a body
    declared larger than that is answered at once with ``Connection: close``,
    so that nobody can make the server read without end. A client that asked
    to ``Expect: 100-continue`` and was not asked for the body does not send it.
    """

    def __init__(self, app: ASGIApp, limit: int = DRAIN_MAX_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        body = _BodyProgress()

        async def counting_receive() -> Message:
            message = await receive()
            body.note(message)
            return message

        async def draining_send(message: Message) -> None:
            starts = message["type"] == "http.response.start"
            if starts and not body.done and not await self._drain(scope, body, counting_receive):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counting_receive, draining_send)

    async def _drain(self, scope: Scope, body: _BodyProgress, receive: Receive) -> bool:
        """Read the rest of the body; False if it is left unread (too large,
        or never asked for behind ``Expect: 100-continue``)."""
        headers = Headers(scope=scope)
        if not body.started and headers.get("expect", "").lower() == "100-continue":
            return False
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) - body.size > self.limit:
            return False
        drained = 0
        while not body.done:
            size = body.size
            await receive()
            drained += body.size - size
            if drained > self.limit:
                return False
        return True


class _BodyProgress:
    """How much of the request body the app has read, and whether all of it."""

    def __init__(self) -> None:
        self.size = 0
        self.started = False
        self.done = False

    def note(self, message: Message) -> None:
        self.started = True
        if message["type"] == "http.disconnect":
            self.done = True
        elif message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            self.done = not message.get("more_body", False)


def _has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    length = headers.get("content-length", "").strip()
    return (length not in ("", "0")) or "transfer-encoding" in headers


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
