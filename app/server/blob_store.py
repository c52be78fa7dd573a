"""Blobs on the server: where their files live, who may read them, which
records use them, and collecting the ones nobody uses (docs/attachments.md).

Knowing a file's SHA-256 grants nothing. A user reads a file they *hold*
(``blob_holders``: they uploaded the bytes, or attached the file while they
could already read it), or one a live record they may see uses, when whoever
attached it there holds it. Everything else reads as absent.

The HTTP side is ``app/server/routers/blobs.py``, an upload's rows
``app/server/uploads.py``; the push keeps ``record_blobs`` and the holders by
reference up to date through ``record_attachments``. Nothing here knows about
requests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Select, and_, delete, exists, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.protocol.blobs import SNIFF_BYTES, BlobStatus, is_sha256
from app.server.config import Settings
from app.server.database import as_utc
from app.server.permissions import visible_owner_ids
from app.server.tables import Blob, BlobHolder, RecordBlob, SyncRecord, Upload, User

log = logging.getLogger("fieldbook.server")

PARTIAL_DIRNAME: Final = "partial"
# Garbage: a blob no live record uses is kept this long (a record pushed
# just after its file may still come); an upload nobody continues, this long.
UNUSED_BLOB_AGE: Final = dt.timedelta(days=1)
IDLE_UPLOAD_AGE: Final = dt.timedelta(days=7)
# How a user came to hold a blob (``blob_holders.how``).
BY_UPLOAD: Final = "upload"
BY_REFERENCE: Final = "reference"
# Hashes per IN (...) list: a push may name thousands of files.
_IN_CHUNK: Final = 500


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


def status_of(session: Session, settings: Settings, user: User, sha256: str) -> BlobStatus:
    """What the server holds of ``sha256`` for ``user`` (docs/attachments.md).

    ``complete`` only for a file this user may read: for anyone else a file
    the server has reads exactly as one it lacks (their own partial upload,
    or nothing), so the status never confirms that someone has a file, and
    the client uploads it, which is its proof of possession.

    A client asks only about files it attached, so a reader who does not
    hold the file yet is recorded as holding it by reference (in the
    caller's transaction): what they attached stays readable through their
    records, as when the push finds they could read it."""
    user_id = user.id
    held = holds(session, user_id, sha256)
    # Asked whatever the answer, so an absent file costs what a hidden one does.
    readable = held or bool(readable_through_records(session, user, [sha256]))
    blob = complete_blob(session, settings, sha256)
    if blob is not None and readable:
        if not held:
            add_holder(session, user_id, sha256, BY_REFERENCE, settings.now())
        return {"sha256": sha256, "state": "complete", "offset": blob.size, "size": blob.size}
    upload = session.get(Upload, (user_id, sha256))
    if upload is not None:
        return {"sha256": sha256, "state": "partial", "offset": upload.offset, "size": upload.size}
    return {"sha256": sha256, "state": "missing", "offset": 0, "size": 0}


def used_bytes(session: Session, user_id: int, *, besides: str | None = None) -> int:
    """What counts against the user's quota: the complete blobs they were
    first to upload plus their unfinished uploads, ``besides`` left out of
    both (the file about to be sent is counted once, by the caller).

    A file proven by upload while the server had it already is stored once
    and counts only for its first uploader; while that upload is unfinished
    it counts like any other, so the quota answers the same whether or not
    the server has the file (a difference would tell)."""
    blobs = select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.uploader_id == user_id, Blob.complete)
    pending = select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.user_id == user_id)
    if besides is not None:
        blobs = blobs.where(Blob.sha256 != besides)
        pending = pending.where(Upload.sha256 != besides)
    return int(session.execute(blobs).scalar_one()) + int(session.execute(pending).scalar_one())


# --------------------------------------------------------------------------- who may read


def holds(session: Session, user_id: int, sha256: str) -> bool:
    """Whether ``user_id`` has proven they have the file's bytes."""
    return session.get(BlobHolder, (user_id, sha256)) is not None


def add_holder(session: Session, user_id: int, sha256: str, how: str, now: dt.datetime) -> None:
    """Record that ``user_id`` holds ``sha256`` (kept as it was if they did
    already; in the caller's transaction)."""
    _add_holders(session, user_id, [sha256], how, now)


def _add_holders(session: Session, user_id: int, shas: Iterable[str], how: str, now: dt.datetime) -> None:
    rows = [{"user_id": user_id, "sha256": sha, "since": now, "how": how} for sha in sorted(set(shas))]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(BlobHolder).values(rows).on_conflict_do_nothing())


def may_download(session: Session, user: User, sha256: str) -> bool:
    """Whether ``user`` may read the file: they hold it, or a live record
    they may see (the visibility rules of sync) uses it and whoever attached
    it there holds it. A record naming a hash its author never had grants
    nothing."""
    blob = session.get(Blob, sha256)
    if blob is None or not blob.complete:
        return False
    return holds(session, user.id, sha256) or bool(readable_through_records(session, user, [sha256]))


def readable_through_records(session: Session, user: User, shas: Collection[str]) -> set[str]:
    """Those of ``shas`` a live record ``user`` may see grants them: one
    whose attacher of the file holds it."""
    owners = visible_owner_ids(session, user)
    found: set[str] = set()
    ordered = sorted(set(shas))
    for start in range(0, len(ordered), _IN_CHUNK):
        query = _granting_references(ordered[start:start + _IN_CHUNK])
        if owners is not None:
            query = query.where(SyncRecord.owner_id.in_(sorted(owners)))
        found.update(session.execute(query).scalars())
    return found


def _granting_references(shas: Sequence[str]) -> Select[str]:
    holder = and_(BlobHolder.user_id == RecordBlob.attached_by, BlobHolder.sha256 == RecordBlob.sha256)
    return (
        select(RecordBlob.sha256).distinct()
        .join(SyncRecord, SyncRecord.id == RecordBlob.record_id)
        .join(BlobHolder, holder)
        .where(RecordBlob.sha256.in_(shas), SyncRecord.deleted.is_(False))
    )


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


def record_attachments(session: Session, user: User, uses: Mapping[str, Iterable[str]],
                       now: dt.datetime) -> None:
    """What a push by ``user`` that wrote these records' ``attachments``
    means for files (in the push's transaction, after the records are
    written): their ``record_blobs`` rows, and ``user`` as a holder of each
    file named that they could already read (through another record, say a
    fellow's that their trainer attaches to their own), so the record grants
    its readers that file. A file they could not read stays unreadable
    through the record until they upload it."""
    named_by = {record_id: set(shas) for record_id, shas in uses.items()}
    set_record_blobs(session, named_by, attached_by=user.id)
    named = {sha for shas in named_by.values() for sha in shas}
    if not named:
        return
    held = _held(session, user.id, named)
    readable = readable_through_records(session, user, named - held)
    _add_holders(session, user.id, readable, BY_REFERENCE, now)


def _held(session: Session, user_id: int, shas: Collection[str]) -> set[str]:
    ordered = sorted(set(shas))
    found: set[str] = set()
    for start in range(0, len(ordered), _IN_CHUNK):
        query = select(BlobHolder.sha256).where(
            BlobHolder.user_id == user_id, BlobHolder.sha256.in_(ordered[start:start + _IN_CHUNK]))
        found.update(session.execute(query).scalars())
    return found


def set_record_blobs(session: Session, uses: Mapping[str, Iterable[str]], *, attached_by: int) -> None:
    """Replace the ``record_blobs`` rows of each record in ``uses`` (in the
    caller's transaction; the records must exist in it). A file the record
    named already keeps who attached it; a new one is ``attached_by``'s."""
    if not uses:
        return
    ids = sorted(uses)
    before = {
        (rid, sha): by
        for rid, sha, by in session.execute(
            select(RecordBlob.record_id, RecordBlob.sha256, RecordBlob.attached_by)
            .where(RecordBlob.record_id.in_(ids)))
    }
    session.execute(delete(RecordBlob).where(RecordBlob.record_id.in_(ids)))
    rows = [
        {"record_id": rid, "sha256": sha, "attached_by": before.get((rid, sha), attached_by)}
        for rid, shas in uses.items()
        for sha in sorted(set(shas))
    ]
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
        gone = [sha for sha, _ in blobs]
        session.execute(delete(BlobHolder).where(BlobHolder.sha256.in_(gone)))
        session.execute(delete(Blob).where(Blob.sha256.in_(gone)))
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
