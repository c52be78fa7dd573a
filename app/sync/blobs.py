"""Moving attachment files to and from the server (docs/attachments.md).

Files travel apart from record sync, in their own background job started
after ``SyncEngine.run`` pushed the records that use them: a 20 MB photo
never delays the text of a lesson plan.

* Upload: ask the server what it holds; if the blob is complete there for
  this user (they sent it, or may read it through a record) nothing is sent.
  Otherwise send pieces from the server's offset: a file the server has
  from someone else reads as absent, and sending it whole is this user's
  proof of possession (docs/attachments.md "Who may read a file"). After
  any failure (a dropped hotspot, a sleep, a restart of the app) ask again
  and continue from where the server is: the server keeps what arrived even
  from a piece cut mid-body, so a file is never sent from zero twice.
* Download: into ``<blob>.part``, resumed with ``Range`` from its size;
  the SHA-256 is checked before the file takes its name.

Waits between failed attempts come from the sync engine's :class:`Backoff`.
Progress goes to plain callbacks ``(done_bytes, total_bytes, sha)``; the UI
turns them into signals. No Qt here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.models import attachments
from app.models.attachments import BlobInfo, BlobState
from app.models.store import Store
from app.protocol.blobs import UPLOAD_PIECE_BYTES, AttachmentRef, BlobStatus, sha256_of_file
from app.sync.client import ApiClient, BlobRange
from app.sync.engine import Backoff, SyncCancelled
from app.sync.errors import (
    BadResponse,
    BlobCorrupt,
    BlobOffsetMismatch,
    FileRefused,
    NotAvailableYet,
    RequestRejected,
    ServerUnavailable,
    SyncError,
)

log = logging.getLogger("fieldbook.sync.blobs")

Progress = Callable[[int, int, str], None]  # (done_bytes, total_bytes, sha256)
# Failures in a row, without a byte of progress between them, before a
# transfer gives up for this run (the next run continues where it stopped).
DEFAULT_ATTEMPTS = 6
# Piece sizes. A dropped connection loses what was in flight of the piece it
# cut, so a link that drops gets smaller pieces (down to SMALLEST_PIECE), and
# pieces grow back (up to UPLOAD_PIECE_BYTES) while it holds.
FIRST_PIECE = 1024 * 1024
SMALLEST_PIECE = 256 * 1024


@dataclass
class UploadReport:
    """What one :meth:`BlobTransfer.upload_pending` did."""

    uploaded: int = 0  # blobs that are now on the server
    already_there: int = 0  # of those, ones the server had (nothing sent)
    bytes_sent: int = 0  # blob bytes put on the wire (pieces cut off included)
    refused: dict[str, str] = field(default_factory=dict)  # sha -> the server's reason
    left: int = 0  # blobs still waiting (cancelled or offline)

    def summary(self) -> str:
        """One line in English for logs and the CLI."""
        parts = [f"uploaded {self.uploaded} file(s)", f"{self.bytes_sent / 1024:.1f} KB sent"]
        if self.already_there:
            parts.append(f"{self.already_there} already on the server")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        if self.left:
            parts.append(f"{self.left} still waiting")
        return ", ".join(parts)


def _no_progress(_done: int, _total: int, _sha: str) -> None:
    return None


class _PieceSizer:
    """The size of the next piece: a quarter after a failure, double after
    four pieces' worth went through without one."""

    def __init__(self, largest: int) -> None:
        self.largest = largest
        self.size = min(FIRST_PIECE, largest)
        self._clean = 0

    def failed(self) -> None:
        self.size = min(self.largest, max(SMALLEST_PIECE, self.size // 4))
        self._clean = 0

    def sent(self, count: int) -> None:
        self._clean += count
        if self._clean >= 4 * self.size and self.size < self.largest:
            self.size = min(self.largest, self.size * 2)
            self._clean = 0


class BlobTransfer:
    """Uploads and downloads of one store's blobs over one ``ApiClient``.

    One transfer at a time per instance (the UI runs it in its own job);
    :meth:`cancel` stops after the piece in flight, from any thread."""

    def __init__(
        self,
        store: Store,
        client: ApiClient,
        *,
        piece_bytes: int = UPLOAD_PIECE_BYTES,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.piece_bytes = min(piece_bytes, UPLOAD_PIECE_BYTES)
        self.attempts = attempts
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self._cancel = threading.Event()
        self._sleep = sleep or self._cancellable_sleep

    # --- control ---------------------------------------------------------------

    def cancel(self) -> None:
        self._cancel.set()

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise SyncCancelled()

    def _cancellable_sleep(self, seconds: float) -> None:
        self._cancel.wait(seconds)

    def _retry(self, error: SyncError, failures: int, what: str) -> None:
        """Wait before the next attempt, or give up (re-raise) after too many."""
        if not error.retryable or failures >= self.attempts:
            raise error
        delay = self.backoff.next_delay(error)
        log.info("%s failed (%s); trying again in %.1f s", what, error, delay)
        self._sleep(delay)
        self._check_cancel()

    # --- upload ------------------------------------------------------------------

    def upload_pending(self, on_progress: Progress | None = None, *,
                       retry_refused: bool = False) -> UploadReport:
        """Upload every blob that is here and not on the server, oldest first.

        A file the server refuses (``FileRefused``: too large, over the quota)
        keeps its reason in ``blobs.error`` and is skipped by later runs
        unless ``retry_refused``. Other failures end the run after
        ``attempts`` tries (raised: ``Offline``...); what was sent stays sent."""
        self._cancel.clear()
        report = UploadReport()
        pending = [b for b in attachments.pending_uploads(self.store) if retry_refused or not b.error]
        for position, info in enumerate(pending):
            try:
                self._upload_one(info, on_progress or _no_progress, report)
            except FileRefused as exc:
                log.warning("The server refused %s (%s): %s", info.sha256[:12], exc.code, exc)
                report.refused[info.sha256] = exc.code
                attachments.mark(self.store, info.sha256, BlobState.LOCAL, error=exc.message)
            except BaseException:
                report.left = len(pending) - position
                raise
        log.info("Upload: %s", report.summary())
        return report

    def upload(self, sha256: str, on_progress: Progress | None = None) -> UploadReport:
        """Upload one blob now (the user asked to retry a refused one)."""
        self._cancel.clear()
        report = UploadReport()
        info = attachments.blob_info(self.store, sha256)
        if info is None or info.state not in attachments.TO_UPLOAD:
            return report
        self._upload_one(info, on_progress or _no_progress, report)
        return report

    def _upload_one(self, info: BlobInfo, on_progress: Progress, report: UploadReport) -> None:
        path = attachments.blob_path(self.store, info.sha256)
        if path is None:
            log.warning("Blob %s is to be uploaded but its file is gone", info.sha256[:12])
            return
        attachments.mark(self.store, info.sha256, BlobState.UPLOADING)
        sent_before = report.bytes_sent
        with path.open("rb") as source:
            self._upload_file(info, source, on_progress, report)
        attachments.mark(self.store, info.sha256, BlobState.UPLOADED)
        report.uploaded += 1
        if report.bytes_sent == sent_before:
            report.already_there += 1
        on_progress(info.size, info.size, info.sha256)

    def _upload_file(self, info: BlobInfo, source: IO[bytes], on_progress: Progress,
                     report: UploadReport) -> None:
        """Pieces from the server's offset until it holds the whole blob."""
        failures, held = 0, 0
        pieces = _PieceSizer(self.piece_bytes)
        status: BlobStatus | None = None
        while True:
            self._check_cancel()
            try:
                if status is None:
                    status = self.client.blob_status(info.sha256)
                    log.info("The server holds %d of %d bytes of %s (%s)", status["offset"],
                             info.size, info.sha256[:12], status["state"])
                    if status["offset"] > held:  # a cut piece got that far: the link works
                        failures, held = 0, status["offset"]
                        self.backoff.reset()
                if status["state"] == "complete":
                    return
                before = status["offset"]
                status = self._put_piece(info, source, before, pieces.size, report)
                pieces.sent(pieces.size)
                on_progress(info.size if status["state"] == "complete" else status["offset"],
                            info.size, info.sha256)
                if status["offset"] > before or status["state"] == "complete":
                    failures = 0
                    self.backoff.reset()
            except BlobOffsetMismatch as exc:
                log.info("Upload of %s continues at the server's offset %d", info.sha256[:12],
                         exc.status["offset"])
                failures += 1
                if exc.code == "offset_mismatch":
                    if failures >= self.attempts:
                        raise
                    status = exc.status
                else:  # a cut piece still arriving there: wait, then ask again
                    self._retry(exc, failures, f"Upload of {info.sha256[:12]}")
                    status = None
            except FileRefused:
                raise
            except SyncError as exc:
                failures += 1
                pieces.failed()
                self._retry(exc, failures, f"Upload of {info.sha256[:12]}")
                status = None  # ask where the server is now: never from zero

    def _put_piece(self, info: BlobInfo, source: IO[bytes], offset: int, size: int,
                   report: UploadReport) -> BlobStatus:
        if not 0 <= offset < info.size:
            raise FileRefused("bad_offset", f"The server holds {offset} of {info.size} bytes.")
        source.seek(offset)
        piece = source.read(min(size, info.size - offset))
        if not piece:
            raise FileRefused("file_changed", "The attached file is shorter than recorded.")
        report.bytes_sent += len(piece)  # counted before: a cut piece went out too
        return self.client.put_blob(info.sha256, size=info.size, media_type=info.type,
                                    offset=offset, body=piece)

    # --- download ----------------------------------------------------------------

    def download(self, sha256: str, on_progress: Progress | None = None) -> Path:
        """The blob's file, fetched first when it is not here.

        Raises ``NotAvailableYet`` (the record or file has not reached the
        server), ``BlobCorrupt`` (the bytes did not match their hash; the
        part file is gone), or, after ``attempts`` tries, the last failure
        (``Offline``...): the part file is kept and the next call resumes."""
        self._cancel.clear()
        here = attachments.blob_path(self.store, sha256)
        if here is not None:
            return here
        ref = self._ref_of(sha256)
        if ref is not None:
            attachments.mark_downloading(self.store, ref)
        part = attachments.part_file(self.store, sha256)
        part.parent.mkdir(parents=True, exist_ok=True)
        total = self._fetch(sha256, part, ref["size"] if ref else None, on_progress or _no_progress)
        return self._install(sha256, part, ref, total)

    def _ref_of(self, sha256: str) -> AttachmentRef | None:
        """Size and type from a record that uses the blob, or from its row."""
        ref = attachments.live_ref(self.store, sha256)
        if ref is not None:
            return ref
        info = attachments.blob_info(self.store, sha256)
        if info is None:
            return None
        return AttachmentRef(sha256=sha256, name=sha256, size=info.size, type=info.type)

    def _fetch(self, sha256: str, part: Path, size: int | None, on_progress: Progress) -> int:
        """Fill ``part`` up to the blob's size; returns the size."""
        failures = 0
        restarted = False
        while True:
            self._check_cancel()
            have = _size_of(part)
            if size is not None and have >= size:
                return size  # (longer: _install finds the mismatch)
            try:
                got = self._get_from(sha256, part, have, size, on_progress)
            except NotAvailableYet:
                raise
            except RequestRejected as exc:
                if exc.status != 416 or restarted:
                    raise
                restarted = True
                part.unlink(missing_ok=True)  # the part is longer than the file: start over
                continue
            except SyncError as exc:
                if _size_of(part) > have:  # the cut came after some progress: the link works
                    failures = 1
                    self.backoff.reset()
                else:
                    failures += 1
                self._retry(exc, failures, f"Download of {sha256[:12]}")
                continue
            size = size if size is not None else got.total
            if size is None:
                raise BadResponse("The server did not say how large the file is.")
            if _size_of(part) < size:  # the answer ended early without an error
                failures += 1
                self._retry(ServerUnavailable("The file arrived incomplete."), failures,
                            f"Download of {sha256[:12]}")

    def _get_from(self, sha256: str, part: Path, have: int, size: int | None,
                  on_progress: Progress) -> BlobRange:
        with part.open("ab") as out:

            def open_sink(got: BlobRange) -> Callable[[bytes], None]:
                if got.start > have:
                    raise BadResponse("The server sent a part of the file that was not asked for.")
                if got.start < have:  # the whole file instead of the range
                    out.truncate(got.start)
                done = [got.start]
                total = size or got.total or 0

                def write(chunk: bytes) -> None:
                    out.write(chunk)
                    done[0] += len(chunk)
                    on_progress(done[0], total, sha256)

                return write

            try:
                return self.client.get_blob(sha256, open_sink, start=have)
            finally:
                out.flush()
                os.fsync(out.fileno())

    def _install(self, sha256: str, part: Path, ref: AttachmentRef | None, size: int) -> Path:
        """Check the bytes against their name, then give them that name."""
        if part.stat().st_size != size or sha256_of_file(part) != sha256:
            part.unlink(missing_ok=True)
            log.warning("Downloaded blob %s did not match its hash; discarded", sha256[:12])
            if ref is not None:
                attachments.mark(self.store, sha256, BlobState.REMOTE,
                                 error=BlobCorrupt.default_message)
            raise BlobCorrupt()
        target = attachments.blob_file(self.store, sha256)
        os.replace(part, target)
        if ref is not None:
            attachments.mark_downloaded(self.store, ref)
        log.info("Downloaded blob %s (%d bytes)", sha256[:12], size)
        return target


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def after_transfers(store: Store) -> int:
    """Bookkeeping after a sync and its uploads: note the blobs pulled
    records use (``remote``) and delete the ones nobody here needs any more.
    Returns how many files were deleted."""
    attachments.track_remote(store)
    return attachments.collect_garbage(store)
