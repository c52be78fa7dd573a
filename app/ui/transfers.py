"""Attachment files up and down, in the background and apart from record sync.

A 20 MB photo must never delay the text of a lesson plan, so the files
(blobs, docs/attachments.md) travel on threads of their own: one for
uploads, one for downloads (opening a file never waits behind an upload).
Neither is the ``TaskRunner`` nor the sync worker.

Uploads start after each successful record sync (the records that use the
files are then on the server) and after a file is attached while signed in;
a failed run is tried again with backoff and the transfer engine continues
from the server's offset, never from zero. Downloads run on demand (opening
a file that is not here) and, for trainers who ask for it, for the records
in their review queue after each sync.

The status bar shows what moves ("Uploading 2 files: 3.1 of 20 MB") in its
own label, apart from the sync status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from app.errors import EnvironmentFault, FieldbookError
from app.models import attachments
from app.models.store import Store
from app.sync.engine import Backoff
from app.sync.errors import (
    AuthRequired,
    BlobCorrupt,
    InvalidCredentials,
    NotAvailableYet,
    SyncError,
)
from app.ui import settings
from app.ui.background_status import BackgroundStatus, Job
from app.ui.sync_controller import SyncController
from app.ui.sync_words import describe_failure

log = logging.getLogger("fieldbook.ui")

PROGRESS_INTERVAL_S = 0.1  # at most this often from a worker to the GUI thread
SHUTDOWN_WAIT_S = 3.0

Progress = Callable[[int, int, str], None]  # done bytes, total bytes, sha256


class Transfer(Protocol):
    """What the controller needs of ``app.sync.blobs.BlobTransfer`` (tests use fakes)."""

    def upload_pending(self, on_progress: Progress) -> Any: ...

    def download(self, sha: str, on_progress: Progress) -> Any: ...

    def cancel(self) -> None: ...


TransferSource = Callable[[], "Transfer | None"]  # None: no sign-in to transfer with yet


class Direction(enum.StrEnum):
    UP = "upload"
    DOWN = "download"


def translate(context: str, text: str) -> str:
    return QCoreApplication.translate(context, text)


def format_size(size: int) -> str:
    """"820 KB", "3.1 MB": sizes the way file managers show them."""
    if size < 1024:
        return translate("Attachments", "{count} bytes").format(count=size)
    value, unit = _scaled(size, size)
    return f"{value} {unit}"


def format_progress(done: int, total: int) -> str:
    """"3.1 of 20 MB": both numbers in the unit of the total."""
    done_value, unit = _scaled(min(done, total), max(total, 1))
    total_value, _unit = _scaled(total, max(total, 1))
    return translate("Attachments", "{done} of {total} {unit}").format(
        done=done_value, total=total_value, unit=unit)


def _scaled(size: int, reference: int) -> tuple[str, str]:
    for power, unit in ((3, "GB"), (2, "MB"), (1, "KB")):
        if reference >= 1024**power or power == 1:
            value = size / 1024**power
            text = f"{value:.1f}" if value < 10 and value != int(value) else f"{round(value)}"
            return text, unit
    return str(size), "B"  # not reached


@dataclasses.dataclass
class _Run:
    """The files of one direction in flight, for the status line."""

    files: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)  # sha: done, total

    def totals(self) -> tuple[int, int, int]:
        done = sum(d for d, _t in self.files.values())
        total = sum(t for _d, t in self.files.values())
        return len(self.files), done, total


class _Throttle:
    """Passes progress on at most every ``PROGRESS_INTERVAL_S``, and always the
    end of a file, so a download in small chunks does not flood the GUI."""

    def __init__(self, emit: Progress) -> None:
        self._emit, self._last = emit, 0.0

    def __call__(self, done: int, total: int, sha: str) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self._emit(done, total, sha)


class TransferController(BackgroundStatus):
    """Runs uploads and downloads of attachment files and says how they go
    (``state_changed``: the status-bar text, "" when nothing moves, and tooltip)."""

    progressed = Signal(str, str, int, int)  # direction, sha, done bytes, total bytes
    download_finished = Signal(str, bool, str)  # sha, ok, why not (translated)
    blobs_changed = Signal()  # files were uploaded or downloaded: states to re-read

    # Internal, from the worker threads to the GUI thread (queued).
    _worker_progress = Signal(str, str, int, int)

    def __init__(
        self,
        store: Store,
        source: TransferSource,
        *,
        signed_in: Callable[[], bool] = lambda: True,
        queue_ids: Callable[[], list[str]] | None = None,  # on a worker thread
        backoff: Backoff | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store, self._source, self._signed_in = store, source, signed_in
        self._queue_ids = queue_ids
        self._backoff = backoff or Backoff()
        self._up = self._make_worker()
        self._down = self._make_worker()
        self._runs = {Direction.UP: _Run(), Direction.DOWN: _Run()}
        self._uploading = False
        self._again = False  # more uploads were asked for while a run went on
        self._downloading: set[str] = set()
        self._error: BaseException | None = None
        self._active: Transfer | None = None
        self._worker_progress.connect(self._on_progress)

    @classmethod
    def for_sync(cls, controller: SyncController, *, backoff: Backoff | None = None,
                 queue_ids: Callable[[], list[str]] | None = None,
                 parent: QObject | None = None) -> TransferController:
        """Transfers over the sync controller's own API client: one client holds
        the sign-in, whose refresh token changes with every use."""
        store = controller.store
        cache: dict[int, Transfer] = {}

        def source() -> Transfer | None:
            client = controller.api_client()
            if client is None:
                return None
            transfer = cache.get(id(client))
            if transfer is None:
                from app.sync.blobs import BlobTransfer  # the engine, without Qt

                cache.clear()
                transfer = cache[id(client)] = BlobTransfer(store, client)
            return transfer

        made = cls(store, source, signed_in=lambda: controller.is_signed_in, queue_ids=queue_ids,
                   backoff=backoff, parent=parent)
        controller.synced.connect(lambda _report: made.after_sync())
        controller.account_changed.connect(made.account_changed)
        return made

    # --- public ------------------------------------------------------------------------

    def start_uploads(self) -> None:
        """Send the files waiting to go (after a sync, after attaching)."""
        if self._closed or not self._signed_in():
            return
        if self._uploading:
            self._again = True
            return
        self._cancel_retry()
        self._uploading = True
        self._render()
        self._up.submit(Job(self._upload_job, self._on_uploaded))

    def download(self, sha: str) -> bool:
        """Fetch one file (to open it). ``False`` when there is no sign-in to fetch with."""
        if self._closed or not self._signed_in():
            return False
        if sha not in self._downloading:
            self._downloading.add(sha)
            self._render()
            self._down.submit(Job(functools.partial(self._download_job, sha),
                                   functools.partial(self._on_downloaded, sha)))
        return True

    def after_sync(self) -> None:
        """A record sync succeeded: its records are on the server, so their files may follow."""
        self.start_uploads()
        if settings.get(settings.PREFETCH_FOR_REVIEW):
            self.prefetch()

    def prefetch(self) -> None:
        """Download the files of the records in the review queue that are not here."""
        if self._closed or self._queue_ids is None or not self._signed_in():
            return
        self._down.submit(Job(self._needed_job, self._on_needed))

    def account_changed(self) -> None:
        if not self._signed_in():
            self._cancel_retry()
            self._error = None
            self._render()

    def shutdown(self, wait_s: float = SHUTDOWN_WAIT_S) -> None:
        """At quit: stop retrying; wait a little for a piece in flight (the server
        keeps what arrived, the next start continues from there)."""
        if self._closed:
            return
        self._closed = True
        self._retry.stop()
        if self._active is not None:
            self._active.cancel()  # stops after the piece in flight
        for worker in (self._up, self._down):
            if not worker.stop(wait_s):
                log.info("A file transfer was still running at quit; it continues next time")

    @property
    def uploading(self) -> bool:
        return self._uploading

    def is_downloading(self, sha: str) -> bool:
        return sha in self._downloading

    def progress_of(self, sha: str) -> tuple[str, int, int] | None:
        """(direction, done, total) of a file moving now, else None."""
        for direction, run in self._runs.items():
            if sha in run.files:
                done, total = run.files[sha]
                return direction.value, done, total
        return None

    def retranslate(self) -> None:
        self._render()

    # --- on the worker threads -----------------------------------------------------------

    def _transfer(self) -> Transfer:
        transfer = self._source()
        if transfer is None:
            raise AuthRequired("Not signed in yet.")
        self._active = transfer
        return transfer

    def _upload_job(self) -> Any:
        transfer = self._transfer()
        self._announce_pending(self._progress_callback(Direction.UP, throttle=False))
        try:
            return transfer.upload_pending(self._progress_callback(Direction.UP))
        finally:
            self._bookkeeping()

    def _announce_pending(self, progress: Progress) -> None:
        """Every file of the run in the status line from the start ("2 files: … of 20 MB").
        Files the server refused wait for the user, not for this run."""
        for blob in attachments.pending_uploads(self._store):
            if not blob.error:
                progress(0, blob.size, blob.sha256)

    def _bookkeeping(self) -> None:
        """After a sync and its uploads: "not downloaded yet" rows for the files
        of pulled records, and unused files deleted (as ``fieldbook sync`` does)."""
        try:
            attachments.track_remote(self._store)
            attachments.collect_garbage(self._store)
        except FieldbookError as exc:
            log.warning("Could not tidy the attachment files: %s", exc)

    def _download_job(self, sha: str) -> Any:
        return self._transfer().download(sha, self._progress_callback(Direction.DOWN))

    def _needed_job(self) -> list[str]:
        assert self._queue_ids is not None
        record_ids = self._queue_ids()
        if not record_ids:
            return []
        return [ref["sha256"] for ref in attachments.needed_downloads(self._store, record_ids)]

    def _progress_callback(self, direction: Direction, *, throttle: bool = True) -> Progress:
        def emit(done: int, total: int, sha: str) -> None:
            if not self._closed:
                with contextlib.suppress(RuntimeError):  # the controller is gone (quitting)
                    self._worker_progress.emit(direction.value, sha, done, total)

        return _Throttle(emit) if throttle else emit

    # --- back on the GUI thread ----------------------------------------------------------

    @Slot(str, str, int, int)
    def _on_progress(self, direction: str, sha: str, done: int, total: int) -> None:
        self._runs[Direction(direction)].files[sha] = (done, total)
        self._render()
        self.progressed.emit(direction, sha, done, total)

    def _on_uploaded(self, result: Any, failed: bool) -> None:
        self._uploading = False
        self._runs[Direction.UP] = _Run()
        if failed:
            self._on_upload_failed(result)
        else:
            self._backoff.reset()
            self._error = None
            log.info("Uploads finished: %s", result)
        self._render()
        self.blobs_changed.emit()
        if self._again and not failed:
            self._again = False
            self.start_uploads()

    def _on_upload_failed(self, exc: BaseException) -> None:
        self._again = False
        if isinstance(exc, AuthRequired | InvalidCredentials):
            log.info("Uploads wait for a sign-in: %s", exc)  # the sync status asks for it
            return
        self._error = exc
        if (isinstance(exc, SyncError) and exc.retryable) or isinstance(exc, EnvironmentFault):
            log.info("Uploads stopped (%s); trying again later", exc)
            self._schedule_retry(self._backoff.next_delay(exc))
        elif isinstance(exc, FieldbookError):
            log.warning("Uploads stopped: %s", exc)
        else:
            log.error("Unexpected error while uploading files", exc_info=exc)

    def _retry_due(self) -> None:
        self.start_uploads()

    def _on_downloaded(self, sha: str, result: Any, failed: bool) -> None:
        self._downloading.discard(sha)
        self._runs[Direction.DOWN].files.pop(sha, None)
        reason = ""
        if failed:
            reason = self._download_failure(sha, result)
        self._render()
        self.blobs_changed.emit()
        self.download_finished.emit(sha, not failed, reason)

    def _download_failure(self, sha: str, exc: BaseException) -> str:
        if isinstance(exc, FieldbookError):
            log.warning("Could not download %s: %s", sha, exc)
            if isinstance(exc, NotAvailableYet):
                return self.tr("it is not on the server yet; it will be there after its author syncs")
            if isinstance(exc, BlobCorrupt):
                return self.tr("it was damaged on the way; please try again")
            if isinstance(exc, SyncError | EnvironmentFault):
                return describe_failure(exc)[0]
            return str(exc)
        log.error("Unexpected error while downloading %s", sha, exc_info=exc)
        return describe_failure(exc)[0]

    def _on_needed(self, result: Any, failed: bool) -> None:
        if failed:
            log.warning("Could not list the files to fetch for review: %s", result)
            return
        for sha in result:
            self.download(sha)

    # --- the status line -------------------------------------------------------------------

    def _render(self) -> None:
        parts: list[str] = []
        up_count, up_done, up_total = self._runs[Direction.UP].totals()
        if self._uploading:
            parts.append(self._moving_text(True, up_count, up_done, up_total))
        down_count, down_done, down_total = self._runs[Direction.DOWN].totals()
        if self._downloading:
            parts.append(self._moving_text(False, max(down_count, len(self._downloading)),
                                           down_done, down_total))
        tooltip = ""
        if not parts and self._error is not None and self._retry_at is not None:
            reason, explanation = describe_failure(self._error)
            parts.append(self.tr("Uploads paused: {reason}").format(reason=reason))
            tooltip = "\n".join((explanation, self._retry_line()))
        self._publish("  ·  ".join(parts), tooltip, if_changed=True)

    def _moving_text(self, up: bool, count: int, done: int, total: int) -> str:
        if count == 0 or total <= 0:
            return self.tr("Uploading files…") if up else self.tr("Downloading files…")
        progress = format_progress(done, total)
        if up:
            if count == 1:
                return self.tr("Uploading 1 file: {progress}").format(progress=progress)
            return self.tr("Uploading {count} files: {progress}").format(count=count, progress=progress)
        if count == 1:
            return self.tr("Downloading 1 file: {progress}").format(progress=progress)
        return self.tr("Downloading {count} files: {progress}").format(count=count, progress=progress)


__all__ = [
    "Direction",
    "Transfer",
    "TransferController",
    "format_progress",
    "format_size",
]
