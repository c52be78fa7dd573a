"""What record sync and file transfers share: work on threads of their own,
a retry with its time, and one truthful status line.

``SyncController`` (sync_controller.py) and ``TransferController``
(transfers.py) both run network work off the GUI thread, bring each result
back to it as a queued signal, try again later after a failure (the status
line says when) and show a text with a tooltip in the status bar. That
machinery is written once here; each controller keeps its own words and
decides when to retry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from app.ui.i18n import format_clock

log = logging.getLogger("fieldbook.ui")

MIN_RETRY_S = 1.0  # never retry sooner: a failing server must not be hammered


@dataclasses.dataclass
class Job:
    fn: Callable[[], Any]
    done: Callable[[Any, bool], None]  # (result or error, failed), on the GUI thread


class Worker:
    """One daemon thread running jobs in order.

    A daemon, not a QThread or a QThreadPool: at quit, a request stuck
    waiting for a slow server must not hold the window open (a QThreadPool
    waits for its threads when destroyed). The controller waits a few seconds
    for it and then lets the process end.
    """

    def __init__(self, deliver: Callable[[Job, Any, bool], None], name: str = "fieldbook-sync") -> None:
        self._deliver, self._name = deliver, name
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()
        self._queue.put(job)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                result = job.fn()
            except Exception as exc:  # handed to the GUI thread, never lost
                self._deliver(job, exc, True)
            else:
                self._deliver(job, result, False)

    def stop(self, timeout: float) -> bool:
        """Finish the queued jobs and end the thread; ``False`` if it is still busy."""
        if self._thread is None:
            return True
        self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class BackgroundStatus(QObject):
    """A controller of background network work: its workers, its retry, its status line.

    Subclasses make workers with ``_make_worker()``, say what a retry does in
    ``_retry_due()`` and publish their words with ``_publish()``.
    """

    state_changed = Signal(str, str)  # status-bar text ("" for nothing to say), tooltip

    # Internal: from a worker thread to the GUI thread (queued).
    _job_finished = Signal(object, object, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closed = False
        self._text = self._tooltip = ""
        self._retry_at: dt.datetime | None = None
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._retry_now)
        self._job_finished.connect(self._on_job_finished)

    # --- jobs ------------------------------------------------------------------------

    def _make_worker(self) -> Worker:
        return Worker(self._deliver)

    def _deliver(self, job: Job, result: Any, failed: bool) -> None:
        """On a worker thread: hand the result to the GUI thread."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the controller is gone (the app is quitting)
            self._job_finished.emit(job, result, failed)

    @Slot(object, object, bool)
    def _on_job_finished(self, job: Job, result: Any, failed: bool) -> None:
        if not self._closed:
            job.done(result, failed)

    # --- retrying --------------------------------------------------------------------

    @property
    def retry_at(self) -> dt.datetime | None:
        return self._retry_at

    def _schedule_retry(self, delay_s: float) -> None:
        delay_s = max(MIN_RETRY_S, delay_s)
        self._retry_at = dt.datetime.now().astimezone() + dt.timedelta(seconds=delay_s)
        self._retry.start(int(delay_s * 1000))

    def _cancel_retry(self) -> None:
        self._retry.stop()
        self._retry_at = None

    def _retry_now(self) -> None:
        self._retry_at = None
        self._retry_due()

    def _retry_due(self) -> None:
        """The time to try again has come."""
        raise NotImplementedError

    def _retry_line(self) -> str:
        """"Next try at 14:05:07." for the tooltip, or "" when no retry waits."""
        if self._retry_at is None:
            return ""
        return QCoreApplication.translate("BackgroundStatus", "Next try at {time}.").format(
            time=format_clock(self._retry_at, seconds=True))

    # --- the status line -------------------------------------------------------------

    @property
    def status_text(self) -> str:
        return self._text

    @property
    def status_tooltip(self) -> str:
        return self._tooltip

    def _publish(self, text: str, tooltip: str, *, if_changed: bool = False) -> None:
        """Show ``text`` and ``tooltip``; with ``if_changed``, say nothing when they are the same."""
        if if_changed and (text, tooltip) == (self._text, self._tooltip):
            return
        self._text, self._tooltip = text, tooltip
        self.state_changed.emit(text, tooltip)


__all__ = ["MIN_RETRY_S", "BackgroundStatus", "Job", "Worker"]
