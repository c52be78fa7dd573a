"""``/api/v1/blobs``: attachments' files, uploaded in resumable pieces and
downloaded with ``Range`` (docs/attachments.md "Server").

An upload piece is written to the partial file *as it arrives*: over a weak
link a 4 MB piece may take minutes, and when the connection drops the bytes
that made it are kept, so the client continues from the server's offset
instead of sending them again. The request-size middleware lets these
bodies through unread for that reason (``BodyLimitMiddleware``).

An upload's rows and files are kept by ``app/server/uploads.py``; the files
and the rules about who may read them live in ``app/server/blob_store.py``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Final

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.protocol.blobs import (
    ALLOWED_TYPES,
    BLOBS_PATH,
    OFFSET_HEADER,
    SIZE_HEADER,
    SNIFF_BYTES,
    TYPE_HEADER,
    UPLOAD_PIECE_BYTES,
    BlobStatus,
    is_sha256,
    matches_type,
)
from app.server import blob_store, uploads
from app.server.config import Settings
from app.server.deps import CurrentUser, SessionDep, SettingsDep
from app.server.errors import ApiError
from app.server.schemas import Sha256Path, blob_piece_headers, error_responses
from app.server.tables import Blob, User
from app.server.uploads import Piece

log = logging.getLogger("fieldbook.server")

router = APIRouter(prefix=BLOBS_PATH, tags=["blobs"])

DOWNLOAD_CHUNK_BYTES: Final = 256 * 1024
_MB: Final = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d{1,18})-(\d{0,18})$")
_NOT_AVAILABLE = (
    "This file is not available: it has not reached the server yet, or it is not attached to a "
    "record you can see."
)
_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}


# --------------------------------------------------------------------------- one writer per upload

_writers: set[tuple[int, str]] = set()
_writers_lock = threading.Lock()


def _claim(key: tuple[int, str]) -> bool:
    """Whether this request may write ``key``'s partial file (no other PUT
    of the same user and blob is writing it in this process)."""
    with _writers_lock:
        if key in _writers:
            return False
        _writers.add(key)
        return True


def _release(key: tuple[int, str]) -> None:
    with _writers_lock:
        _writers.discard(key)


# --------------------------------------------------------------------------- checking a request


def _check_sha(sha256: str) -> None:
    if not is_sha256(sha256):
        raise ApiError(422, "invalid_sha", "A file is addressed by its SHA-256: 64 lower-case hex digits.")


def _whole_number(raw: str | None, header: str) -> int:
    value = (raw or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 15):
        raise ApiError(422, "invalid_header", f"The {header} header must be a whole number of bytes.")
    return int(value)


def parse_piece(settings: Settings, sha256: str, size: str | None, media_type: str | None,
                offset: str | None) -> Piece:
    """The upload's claims, refused in the order the spec lists them: a bad
    sha, an empty or too large file (before any byte is stored), a type we
    do not take, a bad offset."""
    _check_sha(sha256)
    total = _whole_number(size, SIZE_HEADER)
    if total == 0:
        raise ApiError(422, "empty_file", "The file is empty: there is nothing to keep.")
    if total > settings.max_file_bytes:
        limit = f"{settings.max_file_bytes / _MB:.0f} MB" if settings.max_file_bytes >= _MB else (
            f"{settings.max_file_bytes} bytes")
        raise ApiError(413, "file_too_large", f"The file is too large: the limit is {limit}.")
    kind = (media_type or "").strip().lower()
    if kind not in ALLOWED_TYPES:
        raise ApiError(415, "unsupported_type",
                       "This kind of file cannot be attached (photos, PDF and Office documents can).")
    return Piece(sha256, total, kind, _whole_number(offset, OFFSET_HEADER))


def _body_limit(request: Request, piece: Piece) -> int:
    """How many bytes this body may bring: one piece, and no more than what
    the file still lacks. A ``Content-Length`` over that is refused before
    anything is read."""
    limit = min(UPLOAD_PIECE_BYTES, max(piece.size - piece.offset, 0))
    length = request.headers.get("content-length")
    if piece.offset >= piece.size:
        return limit  # a wrong offset: answered 409 with the status before any byte is read
    if length is not None and length.strip().isdigit() and int(length) > limit:
        if int(length) > UPLOAD_PIECE_BYTES:
            raise _piece_too_large()
        raise ApiError(422, "body_too_long", "The body goes past the end of the file's size.")
    return limit


# --------------------------------------------------------------------------- writing a body


class _Refused(Exception):
    def __init__(self, error: ApiError, *, forget: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.forget = forget  # the whole upload goes, not only this piece


@dataclass(slots=True)
class _Written:
    count: int = 0
    disconnected: bool = False


async def write_body(request: Request, path: Path, piece: Piece, limit: int) -> _Written:
    """Append the body to ``path`` at ``piece.offset`` as it arrives, flushed
    and fsync'd before returning, whatever ends it (its end or the client
    going away). A body past ``limit``, or a first piece whose start is not
    its type, raises ``_Refused``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sniff = min(SNIFF_BYTES, piece.size)
    head = _existing_head(path, piece.offset) if piece.offset < sniff else None
    written = _Written()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.seek(piece.offset)
        out.truncate()  # bytes past the recorded offset were never confirmed
        try:
            async for chunk in request.stream():
                if not chunk:
                    continue
                if written.count + len(chunk) > limit:
                    raise _Refused(_too_long(piece, limit), forget=False)
                if head is not None:
                    head += chunk
                    if len(head) >= sniff:
                        _check_head(piece, head)
                        head = None
                out.write(chunk)
                written.count += len(chunk)
        except ClientDisconnect:
            written.disconnected = True
        out.flush()
        await run_in_threadpool(os.fsync, out.fileno())
    return written


def _existing_head(path: Path, offset: int) -> bytes:
    if offset == 0:
        return b""
    with path.open("rb") as source:
        return source.read(offset)


def _check_head(piece: Piece, head: bytes) -> None:
    if not matches_type(piece.type, head[:SNIFF_BYTES]):
        error = ApiError(422, "type_mismatch", "The file's content is not what its type says "
                         f"({piece.type}); it was not kept.")
        raise _Refused(error, forget=True)


def _too_long(piece: Piece, limit: int) -> ApiError:
    if limit >= UPLOAD_PIECE_BYTES:
        return _piece_too_large()
    return ApiError(422, "body_too_long", f"The body goes past the end of the file ({piece.size} bytes).")


def _piece_too_large() -> ApiError:
    message = f"Send a file in pieces of at most {UPLOAD_PIECE_BYTES // _MB} MB."
    return ApiError(413, "piece_too_large", message)


# --------------------------------------------------------------------------- endpoints

# Checked by parse_piece; declared in the OpenAPI schema by blob_piece_headers().
SizeHeader = Annotated[str | None, Header(alias=SIZE_HEADER, include_in_schema=False)]
TypeHeader = Annotated[str | None, Header(alias=TYPE_HEADER, include_in_schema=False)]
OffsetHeader = Annotated[str | None, Header(alias=OFFSET_HEADER, include_in_schema=False)]


@router.get(
    "/{sha256}/status",
    response_model=BlobStatus,
    responses=error_responses(401, 422),
    summary="What the server holds of a file for this user: complete (a file they hold), their partial "
            "upload, or nothing",
)
def blob_status(sha256: Sha256Path, session: SessionDep, user: CurrentUser,
                settings: SettingsDep) -> JSONResponse:
    _check_sha(sha256)
    status = blob_store.status_of(session, settings, user, sha256)
    session.commit()
    return JSONResponse(dict(status))


@router.put(
    "/{sha256}",
    response_model=BlobStatus,
    responses=error_responses(400, 401, 409, 413, 415, 422, 503),
    summary="Send a piece of a file (raw bytes from the offset); kept even if the connection drops",
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}},
                   "parameters": blob_piece_headers()},
)
async def put_blob(sha256: Sha256Path, request: Request, session: SessionDep, user: CurrentUser,
                   settings: SettingsDep, size: SizeHeader = None, media_type: TypeHeader = None,
                   offset: OffsetHeader = None) -> JSONResponse:
    piece = parse_piece(settings, sha256, size, media_type, offset)
    limit = _body_limit(request, piece)
    key = (user.id, piece.sha256)
    if not _claim(key):
        status = await run_in_threadpool(blob_store.status_of, session, settings, user, piece.sha256)
        raise uploads.status_conflict(status, "upload_in_progress",
                                      "This file is being sent already; try again shortly.")
    try:
        return JSONResponse(dict(await _receive(request, session, settings, user, piece, limit)))
    finally:
        _release(key)
        await run_in_threadpool(session.rollback)  # (the connection goes back to the pool now)


async def _receive(request: Request, session: Session, settings: Settings, user: User, piece: Piece,
                   limit: int) -> BlobStatus:
    user_id = user.id
    done = await run_in_threadpool(uploads.begin_upload, session, settings, user, piece)
    if done is not None:
        return done
    path = blob_store.partial_path(settings, user_id, piece.sha256)
    try:
        written = await write_body(request, path, piece, limit)
    except _Refused as refused:
        if refused.forget:
            await run_in_threadpool(uploads.discard, session, settings, user_id, piece.sha256)
        raise refused.error from None
    except OSError as exc:
        raise _storage_unavailable(user_id, piece, "write", path, exc) from None
    offset = piece.offset + written.count
    await run_in_threadpool(uploads.record_offset, session, settings, user_id, piece.sha256, offset)
    if written.disconnected:
        log.info("Upload %s/%s: connection dropped; kept %d of %d bytes", user_id, piece.sha256, offset,
                 piece.size)
    if offset == piece.size:
        try:
            return await run_in_threadpool(uploads.finish_upload, session, settings, user, piece)
        except OSError as exc:  # hashing or moving the finished file (a full disk, a vanished file)
            raise _storage_unavailable(user_id, piece, "finish", path, exc) from None
    return {"sha256": piece.sha256, "state": "partial", "offset": offset, "size": piece.size}


def _storage_unavailable(user_id: int, piece: Piece, action: str, path: Path, exc: OSError) -> ApiError:
    log.warning("Upload %s/%s: cannot %s %s: %s", user_id, piece.sha256, action, path, exc)
    return ApiError(503, "storage_unavailable", "The server cannot store files right now. "
                    "Please try again later.", {"Retry-After": "60"})


@router.get(
    "/{sha256}",
    responses={
        200: {"description": "The file", "content": {t: _BINARY for t in ALLOWED_TYPES}},
        206: {"description": "Part of the file (Range)", "content": {t: _BINARY for t in ALLOWED_TYPES}},
        **error_responses(401, 404, 416, 422),
    },
    response_class=StreamingResponse,
    summary="Download a file (Range: bytes=N- resumes); only for who holds it or may see a record "
            "whose attacher holds it",
)
def get_blob(sha256: Sha256Path, request: Request, session: SessionDep, user: CurrentUser,
             settings: SettingsDep) -> StreamingResponse:
    _check_sha(sha256)
    allowed = blob_store.may_download(session, user, sha256)
    blob = session.get(Blob, sha256) if allowed else None
    session.commit()
    if blob is None:
        raise ApiError(404, "not_available", _NOT_AVAILABLE)
    try:
        source = blob_store.blob_path(settings, sha256).open("rb")
    except FileNotFoundError:
        log.warning("Blob %s is in the database but its file is missing", sha256)
        raise ApiError(404, "not_available", _NOT_AVAILABLE) from None
    try:
        span = byte_range(request.headers.get("range"), blob.size)
    except ApiError:
        source.close()
        raise
    return _file_response(source, blob, span)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (inclusive) of a single ``bytes=N-[M]`` range; None
    to send the whole file (no header, or one we do not support: RFC 9110
    lets a server ignore it)."""
    match = _RANGE.match((header or "").strip())
    if match is None:
        return None
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size:
        raise ApiError(416, "range_not_satisfiable", f"The file has only {size} bytes.",
                       {"Content-Range": f"bytes */{size}"})
    if end < start:
        return None
    return start, min(end, size - 1)


def _file_response(source: IO[bytes], blob: Blob, span: tuple[int, int] | None) -> StreamingResponse:
    start, end = span if span is not None else (0, blob.size - 1)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{blob.sha256}"',
        "Content-Length": str(end - start + 1),
        "Cache-Control": "private, max-age=31536000, immutable",  # a sha's content never changes
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    return StreamingResponse(_chunks(source, start, end - start + 1), status_code=206 if span else 200,
                             media_type=blob.type, headers=headers)


def _chunks(source: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    """The file from disk a chunk at a time (iterated in a worker thread)."""
    with source:
        source.seek(start)
        while length > 0:
            chunk = source.read(min(DOWNLOAD_CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
