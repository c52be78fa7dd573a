"""A resumable upload's rows and files: begin (or find the file held
already), record how far it got, finish (verify, move into place, mark the
uploader a holder) — docs/attachments.md "Server".

Kept out of the router (``app/server/routers/blobs.py``), which reads
headers and writes the body as it arrives: these run in a worker thread,
each in transactions of its own, so that an upload cut at any point leaves
rows and files that agree. The files and the rules about who may read them
live in ``app/server/blob_store.py``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.protocol.blobs import BlobStatus, matches_type, sha256_of_file
from app.server import blob_store
from app.server.config import Settings
from app.server.errors import ApiError
from app.server.tables import Blob, Upload, User

log = logging.getLogger("fieldbook.server")

_MB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Piece:
    """What an upload ``PUT`` claims, from its path and headers."""

    sha256: str
    size: int
    type: str
    offset: int


def status_conflict(status: BlobStatus, code: str, message: str) -> ApiError:
    """409 carrying where the server stands: the client continues from there."""
    return ApiError(409, code, message, details={"status": dict(status)})


def discard(session: Session, settings: Settings, user_id: int, sha256: str) -> None:
    """Forget an upload: its row and its bytes."""
    session.rollback()
    upload = session.get(Upload, (user_id, sha256))
    if upload is not None:
        session.delete(upload)
    session.commit()
    blob_store.unlink_quietly(blob_store.partial_path(settings, user_id, sha256))


def begin_upload(session: Session, settings: Settings, user: User, piece: Piece) -> BlobStatus | None:
    """``None`` when the body is to be written at ``piece.offset``; a
    status to answer with when this user may read the file already.

    A file the server has but this user may not read is taken like any
    other: the whole upload is their proof of possession, and answering
    otherwise would tell them the server has it."""
    user_id = user.id
    status = blob_store.status_of(session, settings, user, piece.sha256)
    if status["state"] == "complete":
        session.commit()
        if session.get(Upload, (user_id, piece.sha256)) is not None:
            discard(session, settings, user_id, piece.sha256)  # finished from another laptop
        return status
    upload = session.get(Upload, (user_id, piece.sha256))
    if upload is not None and (upload.size, upload.type) != (piece.size, piece.type):
        if piece.offset != 0:
            raise ApiError(422, "upload_mismatch", "This file was started with another size or type; "
                           "send it again from the start.")
        discard(session, settings, user_id, piece.sha256)
        upload = None
    if upload is None:
        _new_upload(session, settings, user, piece)
        return None
    _match_disk(session, settings, upload)
    if piece.offset != upload.offset:
        status = blob_store.status_of(session, settings, user, piece.sha256)
        session.commit()
        raise status_conflict(status, "offset_mismatch",
                        f"The server holds {upload.offset} bytes of this file; continue from there.")
    session.commit()
    return None


def _new_upload(session: Session, settings: Settings, user: User, piece: Piece) -> None:
    user_id = user.id
    if piece.offset != 0:
        status = blob_store.status_of(session, settings, user, piece.sha256)
        session.commit()
        raise status_conflict(status, "offset_mismatch",
                              "The server holds nothing of this file; start from 0.")
    used = blob_store.used_bytes(session, user_id, besides=piece.sha256)
    if used + piece.size > settings.quota_bytes:
        session.commit()
        raise ApiError(413, "quota_exceeded", (
            f"This file would take your uploads past your quota of {settings.quota_bytes / _MB:.0f} MB "
            f"({used / _MB:.1f} MB used). Ask your administrator for more room."))
    session.add(Upload(user_id=user_id, sha256=piece.sha256, size=piece.size, type=piece.type,
                       offset=0, updated_at=settings.now()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        status = blob_store.status_of(session, settings, user, piece.sha256)
        session.commit()
        raise status_conflict(status, "upload_in_progress", "This file is being sent already.") from None
    blob_store.unlink_quietly(blob_store.partial_path(settings, user_id, piece.sha256))  # a stray one


def _match_disk(session: Session, settings: Settings, upload: Upload) -> None:
    """A partial file shorter than its row (lost, or a disk restored from a
    copy) moves the offset back: the client sends those bytes again."""
    on_disk = blob_store.file_size(blob_store.partial_path(settings, upload.user_id, upload.sha256)) or 0
    if on_disk < upload.offset:
        log.warning("Upload %s/%s: %d bytes on disk, %d recorded; continuing from the disk",
                    upload.user_id, upload.sha256, on_disk, upload.offset)
        upload.offset = on_disk
        session.flush()


def record_offset(session: Session, settings: Settings, user_id: int, sha256: str, offset: int) -> None:
    """The bytes written so far, in a transaction of their own."""
    session.rollback()
    upload = session.get(Upload, (user_id, sha256))
    if upload is not None:
        upload.offset = offset
        upload.updated_at = settings.now()
    session.commit()


def finish_upload(session: Session, settings: Settings, user: User, piece: Piece) -> BlobStatus:
    """The whole file is here: check it is what it claims, move it into
    place (unless the server has it already), mark the blob complete and
    the user its holder."""
    user_id = user.id
    partial = blob_store.partial_path(settings, user_id, piece.sha256)
    if sha256_of_file(partial) != piece.sha256:
        discard(session, settings, user_id, piece.sha256)
        raise ApiError(422, "hash_mismatch",
                       "The file that arrived does not match its SHA-256, so it was not kept. Send it again.")
    if not matches_type(piece.type, blob_store.head_of(partial)):
        discard(session, settings, user_id, piece.sha256)
        raise ApiError(422, "type_mismatch", "The file's content is not what its type says.")
    if blob_store.complete_blob(session, settings, piece.sha256) is None:
        final = blob_store.blob_path(settings, piece.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        blob_store.fsync_dir(final.parent)
    else:  # the server had these bytes: they were the proof, one copy is kept
        blob_store.unlink_quietly(partial)
    _mark_complete(session, settings, user_id, piece)
    log.info("Blob %s complete (%d bytes, %s) from user %s", piece.sha256, piece.size, piece.type, user_id)
    return blob_store.status_of(session, settings, user, piece.sha256)


def _mark_complete(session: Session, settings: Settings, user_id: int, piece: Piece) -> None:
    """The upload's row goes, the blob is complete, and the user holds it."""
    session.rollback()
    try:
        _complete_rows(session, settings, user_id, piece)
    except IntegrityError:  # another user's upload of the same file made the blob a moment ago
        session.rollback()
        _complete_rows(session, settings, user_id, piece)


def _complete_rows(session: Session, settings: Settings, user_id: int, piece: Piece) -> None:
    upload = session.get(Upload, (user_id, piece.sha256))
    if upload is not None:
        session.delete(upload)
    blob = session.get(Blob, piece.sha256)
    if blob is None:
        session.add(Blob(sha256=piece.sha256, size=piece.size, type=piece.type, uploader_id=user_id,
                         created_at=settings.now(), complete=True))
    else:  # its file had gone missing, or another user had sent it already
        blob.complete = True
    session.flush()
    blob_store.add_holder(session, user_id, piece.sha256, blob_store.BY_UPLOAD, settings.now())
    session.commit()
