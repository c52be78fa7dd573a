"""Blobs on the server: where their files live, who may read them, which
records use them, and collecting the ones nobody uses (docs/attachments.md).

The HTTP side is ``app/server/blobs.py``; the push keeps ``record_blobs`` up
to date through ``set_record_blobs``. Nothing here knows about requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.orm import Session

from app.server.config import Settings
from app.server.database import as_utc
from app.server.db import Blob, RecordBlob, SyncRecord, Upload, User
from app.server.permissions import visible_owner_ids
from app.sync.blob_protocol import SNIFF_BYTES, BlobStatus, is_sha256

log = logging.getLogger("fieldbook.server")

PARTIAL_DIRNAME: Final = "partial"
# Garbage: a blob no live record uses is kept this long (a record pushed
# just after its file may still come); an upload nobody continues, this long.
UNUSED_BLOB_AGE: Final = dt.timedelta(days=1)
IDLE_UPLOAD_AGE: Final = dt.timedelta(days=7)


# --------------------------------------------------------------------------- files


def blob_path(settings: Settings, sha256: str) -> Path:
    """``<blob dir>/<sha[:2]>/<sha>``: the two-letter folders keep any one
    folder small (256 of them)."""
    return settings.blob_root / sha256[:2] / sha256


def partial_path(settings: Settings, user_id: int, sha256: str) -> Path:
    """An unfinished upload's bytes: one file per (user, blob), so two users
    sending the same file never write into each other's."""
    return settings.blob_root / PARTIAL_DIRNAME / f"{user_id}-{sha256}"


def file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def head_of(path: Path) -> bytes:
    with path.open("rb") as source:
        return source.read(SNIFF_BYTES)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("Cannot delete %s: %s", path, exc)


# --------------------------------------------------------------------------- status and quota


def complete_blob(session: Session, settings: Settings, sha256: str) -> Blob | None:
    """The blob when the server holds it whole; a row whose file is gone (a
    restored disk) does not count, so the file is uploaded again."""
    blob = session.get(Blob, sha256)
    if blob is None or not blob.complete:
        return None
    if not blob_path(settings, sha256).is_file():
        log.warning("Blob %s is in the database but its file is missing; it will be taken again", sha256)
        return None
    return blob


def status_of(session: Session, settings: Settings, user_id: int, sha256: str) -> BlobStatus:
    """What the server holds of ``sha256`` for ``user_id`` (docs/attachments.md)."""
    blob = complete_blob(session, settings, sha256)
    if blob is not None:
        return {"sha256": sha256, "state": "complete", "offset": blob.size, "size": blob.size}
    upload = session.get(Upload, (user_id, sha256))
    if upload is not None:
        return {"sha256": sha256, "state": "partial", "offset": upload.offset, "size": upload.size}
    return {"sha256": sha256, "state": "missing", "offset": 0, "size": 0}


def used_bytes(session: Session, user_id: int, *, besides: str | None = None) -> int:
    """What counts against the user's quota: the complete blobs they
    uploaded plus their unfinished uploads (but ``besides``)."""
    blobs = session.execute(
        select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.uploader_id == user_id, Blob.complete)
    ).scalar_one()
    pending = select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.user_id == user_id)
    if besides is not None:
        pending = pending.where(Upload.sha256 != besides)
    return int(blobs) + int(session.execute(pending).scalar_one())


# --------------------------------------------------------------------------- who may read


def may_download(session: Session, user: User, sha256: str) -> bool:
    """Its uploader, or someone who may see a live record using it (the
    visibility rules of sync)."""
    blob = session.get(Blob, sha256)
    if blob is None or not blob.complete:
        return False
    if blob.uploader_id == user.id:
        return True
    query = (
        select(RecordBlob.record_id)
        .join(SyncRecord, SyncRecord.id == RecordBlob.record_id)
        .where(RecordBlob.sha256 == sha256, SyncRecord.deleted.is_(False))
    )
    owners = visible_owner_ids(session, user)
    if owners is not None:
        query = query.where(SyncRecord.owner_id.in_(sorted(owners)))
    return session.execute(query.limit(1)).first() is not None


# --------------------------------------------------------------------------- records using blobs


def attachment_shas(value: Any) -> set[str]:
    """The blobs an ``attachments`` value names (already validated by the
    push; anything else in it is ignored)."""
    if not isinstance(value, list):
        return set()
    return {
        item["sha256"]
        for item in value
        if isinstance(item, Mapping) and isinstance(item.get("sha256"), str) and is_sha256(item["sha256"])
    }


def set_record_blobs(session: Session, uses: Mapping[str, Iterable[str]]) -> None:
    """Replace the ``record_blobs`` rows of each record in ``uses`` (in the
    caller's transaction; the records must exist in it)."""
    if not uses:
        return
    session.execute(delete(RecordBlob).where(RecordBlob.record_id.in_(sorted(uses))))
    rows = [{"record_id": rid, "sha256": sha} for rid, shas in uses.items() for sha in sorted(set(shas))]
    if rows:
        session.execute(insert(RecordBlob), rows)


# --------------------------------------------------------------------------- garbage


@dataclass(frozen=True)
class GarbageReport:
    blobs: int  # blob files and rows removed
    blob_bytes: int
    uploads: int  # unfinished uploads removed

    def describe(self) -> str:
        return (
            f"removed {self.blobs} unused file(s) ({self.blob_bytes} bytes) "
            f"and {self.uploads} abandoned upload(s)"
        )


def collect_garbage(session: Session, settings: Settings) -> GarbageReport:
    """Delete the blobs no live record uses, older than ``UNUSED_BLOB_AGE``,
    and the uploads idle for ``IDLE_UPLOAD_AGE``. Rows go first (committed),
    files after: a crash in between leaves a stray file, never a row
    pointing at nothing."""
    now = settings.now()
    blobs = _unused_blobs(session, now - UNUSED_BLOB_AGE)
    idle = now - IDLE_UPLOAD_AGE
    uploads = [
        (user_id, sha)
        for user_id, sha, updated in session.execute(select(Upload.user_id, Upload.sha256, Upload.updated_at))
        if as_utc(updated) < idle
    ]
    if blobs:
        session.execute(delete(Blob).where(Blob.sha256.in_([sha for sha, _ in blobs])))
    for user_id, sha in uploads:
        session.execute(delete(Upload).where(Upload.user_id == user_id, Upload.sha256 == sha))
    session.commit()
    for sha, _size in blobs:
        unlink_quietly(blob_path(settings, sha))
    for user_id, sha in uploads:
        unlink_quietly(partial_path(settings, user_id, sha))
    report = GarbageReport(len(blobs), sum(size for _, size in blobs), len(uploads))
    log.info("Garbage collection: %s", report.describe())
    return report


def _unused_blobs(session: Session, before: dt.datetime) -> Sequence[tuple[str, int]]:
    used = (
        select(RecordBlob.sha256)
        .join(SyncRecord, SyncRecord.id == RecordBlob.record_id)
        .where(RecordBlob.sha256 == Blob.sha256, SyncRecord.deleted.is_(False))
    )
    rows = session.execute(select(Blob.sha256, Blob.size, Blob.created_at).where(~exists(used)))
    return [(sha, int(size)) for sha, size, created in rows if as_utc(created) < before]
