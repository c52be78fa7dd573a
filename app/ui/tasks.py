"""Background work for the UI: one writer thread, results back on the GUI thread.

Like Anki's background operations, a task is a plain callable plus success
and failure callbacks. The callable runs on the single worker thread (so
writes to the store never contend with each other and the window never waits
on the disk); the callbacks run on the GUI thread, delivered through a queued
signal. Tests swap in ``InlineRunner``, which runs everything at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.errors import FieldbookBug, FieldbookError

log = logging.getLogger("fieldbook.ui")

Success = Callable[[Any], None]
Failure = Callable[[Exception], None]


def report_failure(exc: Exception) -> None:
    """Log an error the way its kind deserves: a fault of the machine or the
    user's input is a warning, anything else is our bug and gets a traceback."""
    if isinstance(exc, FieldbookError) and not isinstance(exc, FieldbookBug):
        log.warning("%s", exc)
    else:
        log.error("Unexpected error in background task", exc_info=exc)


def log_failure(what: str, exc: Exception) -> None:
    """Like ``report_failure``, but saying what failed ("Could not undo …")."""
    if isinstance(exc, FieldbookError) and not isinstance(exc, FieldbookBug):
        log.warning("%s: %s", what, exc)
    else:
        log.error("%s", what, exc_info=exc)


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, fn: Callable[[], Any], ok: Success | None,
                 fail: Failure | None) -> None:
        super().__init__()
        self._runner, self._fn, self._ok, self._fail = runner, fn, ok, fail

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # handed to the GUI thread, never lost
            self._runner.finished.emit(self._fail, exc, True)
        else:
            self._runner.finished.emit(self._ok, result, False)


class TaskRunner(QObject):
    """Runs callables one at a time on a background thread."""

    finished = Signal(object, object, bool)  # callback, result or error, failed
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pending = 0
        self.finished.connect(self._deliver)

    def submit(self, fn: Callable[[], Any], on_success: Success | None = None,
               on_failure: Failure | None = None) -> None:
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        self._pool.start(_Job(self, fn, on_success, on_failure))

    @Slot(object, object, bool)
    def _deliver(self, callback: Callable[[Any], None] | None, value: Any, failed: bool) -> None:
        self._pending -= 1
        if failed and callback is None:
            report_failure(value)
        elif callback is not None:
            callback(value)
        if self._pending == 0:
            self.busy_changed.emit(False)

    @property
    def pending(self) -> int:
        return self._pending

    def wait(self, msecs: int = -1) -> bool:
        """Block until queued work is done (only at quit, so nothing is lost)."""
        return bool(self._pool.waitForDone(msecs))


class InlineRunner(TaskRunner):
    """Runs each task at once on the calling thread (tests and scripts)."""

    def submit(self, fn: Callable[[], Any], on_success: Success | None = None,
               on_failure: Failure | None = None) -> None:
        try:
            result = fn()
        except Exception as exc:
            if on_failure is None:
                report_failure(exc)
            else:
                on_failure(exc)
        else:
            if on_success is not None:
                on_success(result)


class NetworkRunner(TaskRunner):
    """Like ``TaskRunner``, for calls that wait on another machine (a server
    over a hotspot, a laptop across the room): each runs on a thread of its
    own, so a slow link never holds the writer thread or another wait; the
    callbacks still come back on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool.setMaxThreadCount(8)
