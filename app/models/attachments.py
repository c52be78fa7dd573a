"""Files attached to records: the client's blob store (docs/attachments.md).

A record's ``attachments`` field holds references (sha256, name, size, type);
the bytes are a *blob* kept once in ``<data dir>/blobs/<sha[:2]>/<sha>``,
however many records use it. Attaching or removing a file is an edit of the
field through the store (saved, undone and synced like every edit), written
in the same transaction as the blob's row in the ``blobs`` table, which
tracks each blob through upload and download.

A file is *copied* in (the original path may be on a USB stick that is gone
tomorrow) by streaming it through SHA-256 into a temporary file in the blobs
folder and renaming it into place, so a blob file is always complete. A
refusal (empty, too large, a type we do not take, content that is not what
its name says) raises ``ValidationFailed`` and leaves nothing behind.

No Qt here: the UI calls these from its worker threads, the CLI directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import errno
import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.errors import DiskFullError, RecordNotFound, StoreError, ValidationFailed
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import ATTACHMENTS_MAX
from app.models.orm import Blob, Record, utcnow
from app.models.store import SaveResult, Store
from app.models.validation import Problem
from app.protocol.blobs import (
    ALLOWED_TYPES,
    DEFAULT_MAX_FILE_BYTES,
    EXTENSIONS,
    SNIFF_BYTES,
    AttachmentRef,
    is_sha256,
    matches_type,
    type_for_name,
)

log = logging.getLogger("fieldbook.attachments")

FIELD = "attachments"
BLOBS_DIR = "blobs"
MAX_FILE_BYTES = DEFAULT_MAX_FILE_BYTES  # the server's default limit: refuse early, offline
_COPY_CHUNK = 1024 * 1024
_TEMP_PREFIX = "incoming-"
PART_SUFFIX = ".part"
# Files in the blobs folder that no row accounts for (an attach whose store
# write failed, a copy cut by a crash) are removed after this long; younger
# ones may belong to an attach still in progress.
ORPHAN_GRACE_S = 3600.0

_NO_FILE = QT_TRANSLATE_NOOP("Validation", "The file {name} cannot be read.")
_EMPTY = QT_TRANSLATE_NOOP("Validation", "The file {name} is empty.")
_TOO_LARGE = QT_TRANSLATE_NOOP("Validation", "The file {name} is larger than {max} MB.")
_UNKNOWN_TYPE = QT_TRANSLATE_NOOP(
    "Validation",
    "Files like {name} cannot be attached (photos, PDF and Word, PowerPoint or Excel files can).",
)
_WRONG_CONTENT = QT_TRANSLATE_NOOP(
    "Validation", "The file {name} is not what its name says (its content is not a {type} file)."
)
_TOO_MANY = QT_TRANSLATE_NOOP("Validation", "At most {max} attachments.")


class BlobState(enum.StrEnum):
    """Where a blob is (the ``blobs.state`` column)."""

    LOCAL = "local"  # here, not yet on the server
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    REMOTE = "remote"  # known from a pulled record, not here
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"


HERE = frozenset({BlobState.LOCAL, BlobState.UPLOADING, BlobState.UPLOADED, BlobState.DOWNLOADED})
TO_UPLOAD = (BlobState.LOCAL, BlobState.UPLOADING)


@dataclass(frozen=True)
class BlobInfo:
    """One row of ``blobs``: what the UI shows beside an attachment."""

    sha256: str
    size: int
    type: str
    state: BlobState
    original_path: str | None
    error: str  # the last refusal or failure, plain words ("" when none)
    created_at: dt.datetime


def _info(row: Blob) -> BlobInfo:
    return BlobInfo(row.sha256, row.size, row.type, BlobState(row.state), row.original_path,
                    row.error or "", row.created_at)


def _refuse(message: str, **args: object) -> ValidationFailed:
    return ValidationFailed({FIELD: Problem(message, args)})


# --- where blobs live ------------------------------------------------------------


def blobs_dir(store: Store) -> Path:
    """The blobs folder beside the store file (moves with the data dir)."""
    return store.path.parent / BLOBS_DIR


def blob_file(store: Store, sha256: str) -> Path:
    """Where the blob is or would be (a bad sha is a bug: never a path from outside)."""
    if not is_sha256(sha256):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return blobs_dir(store) / sha256[:2] / sha256


def part_file(store: Store, sha256: str) -> Path:
    """A download in progress (resumed from its size)."""
    path = blob_file(store, sha256)
    return path.with_name(path.name + PART_SUFFIX)


def blob_path(store: Store, sha256: str) -> Path | None:
    """The blob's file when it is here, else None (not downloaded yet)."""
    if not is_sha256(sha256):
        return None
    path = blob_file(store, sha256)
    return path if path.is_file() else None


# --- copying in ------------------------------------------------------------------


@dataclass(frozen=True)
class _Copied:
    temp: Path
    sha256: str
    size: int
    head: bytes


def _write_error(store: Store, exc: OSError) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return DiskFullError(blobs_dir(store), str(exc))
    return StoreError(blobs_dir(store), str(exc))


def _copy_stream(store: Store, source: IO[bytes], limit: int) -> _Copied:
    """Stream ``source`` into a temporary file in the blobs folder, hashing
    it on the way; stops as soon as it passes ``limit`` (the temp file is
    then gone and the size returned is ``limit + 1``)."""
    folder = blobs_dir(store)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=folder)
    except OSError as exc:
        raise _write_error(store, exc) from exc
    temp = Path(name)
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    break
                if len(head) < SNIFF_BYTES:
                    head = (head + chunk)[:SNIFF_BYTES]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())  # whole on disk before it takes the blob's name
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _write_error(store, exc) from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if size > limit:
        temp.unlink(missing_ok=True)
    return _Copied(temp, digest.hexdigest(), size, head)


def _too_large(name: str, limit: int) -> ValidationFailed:
    return _refuse(_TOO_LARGE, name=name, max=limit // (1024 * 1024))


def _checked_type(name: str, media_type: str | None) -> str:
    """The media type to store: the one given, else the name's extension's."""
    found = media_type or type_for_name(name)
    if found is None or found not in ALLOWED_TYPES:
        raise _refuse(_UNKNOWN_TYPE, name=name)
    return found


def _check_copy(copied: _Copied, name: str, media_type: str, limit: int) -> None:
    """Refuse what the bytes themselves show (the temp file goes too)."""
    problem: ValidationFailed | None = None
    if copied.size == 0:
        problem = _refuse(_EMPTY, name=name)
    elif copied.size > limit:
        problem = _too_large(name, limit)
    elif not matches_type(media_type, copied.head):
        problem = _refuse(_WRONG_CONTENT, name=name, type=_type_label(media_type))
    if problem is not None:
        copied.temp.unlink(missing_ok=True)
        raise problem


def _type_label(media_type: str) -> str:
    """A short word for a media type in a message ("JPG", "PDF")."""
    for extension, known in EXTENSIONS.items():
        if known == media_type:
            return extension.lstrip(".").upper()
    return media_type


# --- attaching and removing ---------------------------------------------------------


def _check_record(store: Store, record_id: str) -> None:
    """Refuse before copying anything: no such record, or no room on it."""
    if len(attachments_of(store, record_id)) >= ATTACHMENTS_MAX:
        raise _refuse(_TOO_MANY, max=ATTACHMENTS_MAX)


def attachments_of(store: Store, record_id: str) -> list[AttachmentRef]:
    """The record's references (RecordNotFound for a deleted or unknown one)."""
    return list(store.get(record_id).values.get(FIELD) or [])


def attach(
    store: Store,
    record_id: str,
    path: Path,
    *,
    name: str | None = None,
    media_type: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> AttachmentRef:
    """Copy the file at ``path`` in and add it to the record (one edit).

    ``name`` (default: the file's name) is what the record shows; its
    extension gives the media type unless ``media_type`` is given. Raises
    ``ValidationFailed`` (nothing changed), ``RecordNotFound`` or a
    ``StoreError`` (disk full)."""
    path = Path(path)
    name = name or path.name
    media_type = _checked_type(name, media_type)
    _check_record(store, record_id)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(name, max_bytes)
        with path.open("rb") as source:
            copied = _copy_stream(store, source, max_bytes)
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError):
        raise _refuse(_NO_FILE, name=name) from None
    return _commit(store, record_id, copied, name, media_type, max_bytes, original=None)


def attach_bytes(
    store: Store,
    record_id: str,
    data: bytes,
    *,
    name: str,
    media_type: str | None = None,
    original: Path | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> AttachmentRef:
    """:func:`attach` for bytes already in memory (a photo the UI downscaled),
    remembering the ``original`` file's path in ``blobs``."""
    media_type = _checked_type(name, media_type)
    _check_record(store, record_id)
    if len(data) > max_bytes:
        raise _too_large(name, max_bytes)
    copied = _copy_stream(store, io.BytesIO(data), max_bytes)
    return _commit(store, record_id, copied, name, media_type, max_bytes,
                   original=str(original) if original is not None else None)


def _commit(
    store: Store, record_id: str, copied: _Copied, name: str, media_type: str, limit: int, *,
    original: str | None,
) -> AttachmentRef:
    """Refuse what the copied bytes show (:func:`_check_copy`), then one
    store write: the blob's row and the record's new reference. The
    temp file takes the blob's name inside it (under the write lock, so a
    concurrent garbage collection cannot remove it in between); a blob
    already here keeps its file and the copy is dropped."""
    _check_copy(copied, name, media_type, limit)
    ref = AttachmentRef(sha256=copied.sha256, name=name, size=copied.size, type=media_type)
    target = blob_file(store, copied.sha256)
    try:
        with store.writing() as work:
            refs = _refs_in(work.session, record_id)
            _place(store, copied.temp, target)
            _upsert_blob(work.session, ref, original)
            if ref not in refs:
                work.update(record_id, {FIELD: [*refs, ref]})
    finally:
        copied.temp.unlink(missing_ok=True)
    log.info("Attached %s (%s, %d bytes) to %s", copied.sha256[:12], media_type, copied.size,
             record_id)
    return ref


def _refs_in(session: Session, record_id: str) -> list[AttachmentRef]:
    record = session.get(Record, record_id)
    if record is None or record.deleted:
        raise RecordNotFound(record_id)
    return list(record.attachments or [])


def _place(store: Store, temp: Path, target: Path) -> None:
    if target.is_file():
        return  # kept once: the copy was only needed to learn its hash
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
    except OSError as exc:
        raise _write_error(store, exc) from exc


def _upsert_blob(session: Session, ref: AttachmentRef, original: str | None) -> None:
    """The blob is here now: a row known only from a pulled record becomes
    ``local`` (the upload asks the server first and sends nothing if it is
    there already)."""
    row = session.get(Blob, ref["sha256"])
    if row is None:
        session.add(Blob(sha256=ref["sha256"], size=ref["size"], type=ref["type"],
                         state=BlobState.LOCAL.value, original_path=original, error="",
                         created_at=utcnow()))
        return
    if row.state in (BlobState.REMOTE, BlobState.DOWNLOADING):
        row.state = BlobState.LOCAL.value
        row.error = ""
    if original is not None:
        row.original_path = original


def remove(store: Store, record_id: str, sha256: str) -> SaveResult:
    """Take the blob off the record (an edit; undone by setting the field
    back). Its file stays until :func:`collect_garbage` finds it unused."""
    with store.writing() as work:
        refs = _refs_in(work.session, record_id)
        kept = [r for r in refs if r["sha256"] != sha256]
        return work.update(record_id, {FIELD: kept})


# --- states ---------------------------------------------------------------------


def blob_info(store: Store, sha256: str) -> BlobInfo | None:
    with store.reading() as session:
        row = session.get(Blob, sha256)
        return None if row is None else _info(row)


def blob_infos(store: Store, shas: Iterable[str]) -> dict[str, BlobInfo]:
    """The rows of several blobs at once (an editor's strip)."""
    wanted = list(dict.fromkeys(shas))
    with store.reading() as session:
        rows = session.scalars(select(Blob).where(Blob.sha256.in_(wanted))).all()
        return {row.sha256: _info(row) for row in rows}


def mark(store: Store, sha256: str, state: BlobState, *, error: str = "",
         size: int | None = None, media_type: str | None = None) -> None:
    """Set a blob's state (and its last error: "" clears it). A blob without
    a row (known only from a record) gets one: then ``size`` and
    ``media_type`` are needed."""
    with store.writing() as work:
        row = work.session.get(Blob, sha256)
        if row is None:
            if size is None or media_type is None:
                raise KeyError(sha256)
            work.session.add(Blob(sha256=sha256, size=size, type=media_type, state=state.value,
                                  error=error, created_at=utcnow()))
            return
        row.state = state.value
        row.error = error


def mark_uploaded(store: Store, sha256: str) -> None:
    mark(store, sha256, BlobState.UPLOADED)


def mark_downloading(store: Store, ref: AttachmentRef) -> None:
    mark(store, ref["sha256"], BlobState.DOWNLOADING, size=ref["size"], media_type=ref["type"])


def mark_downloaded(store: Store, ref: AttachmentRef) -> None:
    mark(store, ref["sha256"], BlobState.DOWNLOADED, size=ref["size"], media_type=ref["type"])


def pending_uploads(store: Store) -> list[BlobInfo]:
    """Blobs here and not yet on the server, oldest first (also ones no
    record uses any more: garbage collection waits for their upload, as an
    undo may bring the reference back)."""
    stmt = select(Blob).where(Blob.state.in_([s.value for s in TO_UPLOAD])).order_by(Blob.created_at)
    with store.reading() as session:
        rows = [_info(row) for row in session.scalars(stmt)]
    return [info for info in rows if blob_path(store, info.sha256) is not None]


def _live_refs(session: Session, record_ids: Iterable[str] | None = None, *,
               sha256: str | None = None) -> dict[str, AttachmentRef]:
    """Every reference of live records (or of ``record_ids``, or of the
    records whose attachments name ``sha256``), by sha."""
    stmt = select(Record.id, Record.attachments).where(
        Record.deleted.is_(False), Record.attachments.is_not(None),
        text("records.attachments != '[]'"),
    )
    if record_ids is not None:
        stmt = stmt.where(Record.id.in_(list(record_ids)))
    if sha256 is not None:
        stmt = stmt.where(text("instr(records.attachments, :sha) > 0").bindparams(sha=sha256))
    refs: dict[str, AttachmentRef] = {}
    for _id, attachments in session.execute(stmt):
        for ref in cast(list[AttachmentRef], attachments or []):
            refs.setdefault(ref["sha256"], ref)
    return refs


def live_ref(store: Store, sha256: str) -> AttachmentRef | None:
    """A live record's reference to the blob (its size and type), if any
    uses it: one query over the records naming it, not all of them."""
    with store.reading() as session:
        return _live_refs(session, sha256=sha256).get(sha256)


def needed_downloads(store: Store, record_ids: Iterable[str] | None = None) -> list[AttachmentRef]:
    """References of live records (all, or of ``record_ids``) whose blob is
    not here: what a download (or a prefetch) would fetch."""
    with store.reading() as session:
        refs = _live_refs(session, record_ids)
    return [ref for sha, ref in refs.items() if blob_path(store, sha) is None]


def track_remote(store: Store) -> int:
    """Give every blob that live records use but this store has no row for
    a ``remote`` row (after a pull), so the UI can say "not downloaded yet".
    Returns how many were added."""
    with store.writing() as work:
        session = work.session
        refs = _live_refs(session)
        known = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(list(refs)))))
        for sha, ref in refs.items():
            if sha not in known and blob_path(store, sha) is None:
                session.add(Blob(sha256=sha, size=ref["size"], type=ref["type"],
                                 state=BlobState.REMOTE.value, error="", created_at=utcnow()))
        return len(refs) - len(known)


# --- garbage -------------------------------------------------------------------


def collect_garbage(store: Store, *, orphan_grace_s: float = ORPHAN_GRACE_S) -> int:
    """Delete blobs no live record of this store uses, once they are safe
    to lose (uploaded, downloaded, or only known from the server), and
    leftovers in the blobs folder (temp files, parts, files without a row)
    older than ``orphan_grace_s``. Returns how many files were deleted.

    Runs under the store's write lock, so an attach cannot place a blob that
    is being deleted."""
    removed = 0
    with store.writing() as work:
        session = work.session
        used = set(_live_refs(session))
        unused = [row for row in session.scalars(select(Blob)) if row.sha256 not in used]
        for row in unused:
            if row.state in TO_UPLOAD:
                continue
            removed += _unlink(blob_file(store, row.sha256))
            removed += _unlink(part_file(store, row.sha256))
            session.delete(row)
        known = {sha for sha in session.scalars(select(Blob.sha256))}
        removed += _sweep(store, known | used, orphan_grace_s)
    if removed:
        log.info("Removed %d unused attachment file(s)", removed)
    return removed


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("Could not remove %s: %s", path, exc)
        return 0
    return 1


def _sweep(store: Store, keep: set[str], grace_s: float) -> int:
    """Old files in the blobs folder that nothing accounts for."""
    folder = blobs_dir(store)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - grace_s
    removed = 0
    for path in [*folder.glob(_TEMP_PREFIX + "*"), *folder.glob("??/*")]:
        sha = path.name.removesuffix(PART_SUFFIX)
        if sha in keep and not path.name.startswith(_TEMP_PREFIX):
            continue
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                removed += _unlink(path)
    return removed


__all__ = [
    "BlobInfo", "BlobState", "attach", "attach_bytes", "attachments_of", "blob_file", "blob_info",
    "blob_infos", "blob_path", "blobs_dir", "collect_garbage", "live_ref", "mark", "mark_downloaded",
    "mark_downloading", "mark_uploaded", "needed_downloads",
    "part_file", "pending_uploads", "remove", "track_remote",
]
