"""Sync in the background: when to sync, on which thread, and what to tell the user.

``SyncController`` owns the sync engine and runs it on its OWN worker thread
(never on the ``TaskRunner``, so saving an edit never waits for the network).
Everything the engine says on that thread — progress, "may I remove these
records?" — crosses to the GUI thread as queued signals; the mass-delete
question blocks only the worker, on a ``threading.Event``, while the GUI
thread shows the dialog.

A sync is started:

* at start-up, if this store has an account;
* a few seconds after local edits (debounced);
* every ten minutes;
* when the network comes back (``QNetworkInformation``, where a backend loads);
* after a failure, with exponential backoff and jitter, so changes waiting to be
  sent go out without anyone editing again;
* on "Sync now".

Never two at once: a request while a sync runs is remembered and run after it.

The status line tells the truth: "Synced at 14:05" only after the engine
confirmed everything; failures are named by their type in plain words, with
the details and the next try in the tooltip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMetaMethod, QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QNetworkInformation

from app.errors import EnvironmentFault, FieldbookError
from app.models.store import Store
from app.sync import parcels, replica
from app.sync.client import ApiClient, normalize_server_url
from app.sync.engine import (
    Account,
    Backoff,
    Stage,
    SyncCancelled,
    SyncEngine,
    SyncProgress,
    SyncReport,
)
from app.sync.engine import sign_in as engine_sign_in
from app.sync.engine import sign_out as engine_sign_out
from app.sync.errors import (
    AccountMismatch,
    AuthRequired,
    BadServerAddress,
    ClientTooOld,
    InvalidCredentials,
    MassDeletePending,
    Offline,
    SyncError,
)
from app.sync.tokens import TokenStore
from app.ui import settings
from app.ui.background_status import BackgroundStatus, Job
from app.ui.settings import Setting
from app.ui.sync_words import (
    describe_failure,
    describe_refused,
    describe_synced,
    describe_waiting,
    no_keyring_text,
    tr_reason,
)
from app.ui.tasks import TaskRunner

log = logging.getLogger("fieldbook.ui")


# Preferences of this module (declared here, read through app.ui.settings).
LAST_SERVER = Setting("sync/server_url", "")
LAST_USERNAME = Setting("sync/username", "")

EDIT_DELAY_MS = 5_000  # sync this long after the last local edit
PERIOD_MS = 10 * 60_000  # and at least this often
NETWORK_BACK_DELAY_MS = 1_000  # let a network that just came back settle
SHUTDOWN_WAIT_S = 5.0  # at quit, wait this long for a request in flight
RESTORED_AFTER_DELETE = "restored_after_delete"  # a notice kind (docs/sync.md, rule 4)

ClientFactory = Callable[[str], ApiClient]


class Phase(enum.StrEnum):
    NOT_SET_UP = "not_set_up"  # no account in this store
    SIGNED_OUT = "signed_out"  # an account, but no sign-in on this computer
    SIGN_IN_AGAIN = "sign_in_again"  # the sign-in was refused or could not be remembered
    IDLE = "idle"  # signed in, no sync run in this session yet
    SYNCING = "syncing"
    SYNCED = "synced"
    OFFLINE = "offline"
    FAILED = "failed"
    UPDATE_NEEDED = "update_needed"
    MASS_DELETE = "mass_delete"  # the user did not confirm removing most records
    STOPPED = "stopped"  # cancelled
    SIGNING_OUT = "signing_out"


# Phases in which syncing needs the user to sign in first.
NEEDS_SIGN_IN = frozenset({Phase.NOT_SET_UP, Phase.SIGNED_OUT, Phase.SIGN_IN_AGAIN})


class NotSignedIn(SyncError):
    """The store has an account but this computer holds no sign-in for it:
    signed out, or the sign-in was kept in memory only (no keyring)."""

    default_message = "Not signed in on this computer."

    def __init__(self, remembered: bool) -> None:
        super().__init__()
        self.remembered = remembered


# --- the worker thread -----------------------------------------------------------


@dataclasses.dataclass
class _Answer:
    event: threading.Event = dataclasses.field(default_factory=threading.Event)
    value: bool = False


# --- the controller ----------------------------------------------------------------


def account_author(account: Account) -> str:
    """The name the server signs the account's records with."""
    return account.user.display_name.strip() or account.user.username


class SyncController(BackgroundStatus):
    """Schedules syncs, runs them on a worker thread and reports the state
    (``state_changed``: the status text and tooltip, translated)."""

    message = Signal(str)  # something to tell in passing (status-bar message)
    busy_changed = Signal(bool)
    progress = Signal(object)  # SyncProgress
    synced = Signal(object)  # SyncReport, after the engine confirmed everything
    failed = Signal(object)  # the exception that stopped a run
    records_changed = Signal()  # a sync changed local records: lists and the editor re-read
    conflicts_changed = Signal(int)  # open conflicts
    refusals_changed = Signal(int)  # refused changes kept (until the user dismisses them)
    account_changed = Signal()  # signed in or out
    signed_in = Signal(object)  # Account
    sign_in_failed = Signal(object)  # the exception
    mass_delete_requested = Signal(int, int)  # count, total: answer with answer_mass_delete()

    # Internal: from the worker thread to the GUI thread (queued).
    _progressed = Signal(object)
    _asked = Signal(int, int)

    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        *,
        tokens: TokenStore | None = None,
        client_factory: ClientFactory | None = None,
        backoff: Backoff | None = None,
        edit_delay_ms: int = EDIT_DELAY_MS,
        period_ms: int = PERIOD_MS,
        watch_network: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store, self._runner = store, runner
        self._tokens = tokens  # made on the worker if not given (a keyring can be slow to load)
        self._client_factory: ClientFactory = client_factory or ApiClient
        self._backoff = backoff or Backoff()
        self._watch_network = watch_network
        self._engine: SyncEngine | None = None  # created and used on the worker thread only
        self._worker = self._make_worker()
        self._cancel = threading.Event()
        self._answer_lock = threading.Lock()
        self._answer: _Answer | None = None

        self._busy = False
        self._again = False  # a sync was asked for while one ran
        self._again_manual = False
        self._blocked = False  # stop syncing by itself until the user acts
        self._signing_out = False
        meta = replica.sync_meta(store)
        self._signed_in = meta.signed_up
        if meta.signed_up and (meta.display_name or meta.username):
            # Signed in: records are the account's, whatever name was typed before.
            settings.put(settings.AUTHOR_NAME, (meta.display_name or "").strip() or str(meta.username))
        self._phase = Phase.IDLE if self._signed_in else Phase.NOT_SET_UP
        self._progress: SyncProgress | None = None
        self._asking: tuple[int, int] | None = None
        self._report: SyncReport | None = None
        self._error: BaseException | None = None
        self._conflicts = 0
        self._refused = 0
        self._network: QNetworkInformation | None = None

        self._progressed.connect(self._on_progress)
        self._asked.connect(self._on_asked)

        self._debounce = self._timer(edit_delay_ms, self._after_edits)
        self._period = QTimer(self)
        self._period.setInterval(period_ms)
        self._period.timeout.connect(lambda: self._request(manual=False))
        runner.busy_changed.connect(self._on_runner_busy)
        self._render()

    def _timer(self, msecs: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(msecs)
        timer.timeout.connect(slot)
        return timer

    # --- public ------------------------------------------------------------------

    def start(self) -> None:
        """Begin: sync now if this store has an account, then on schedule."""
        self._period.start()
        if self._watch_network:
            self._watch_reachability()
        self._submit(self._token_store, lambda _result, _failed: None)  # learn about the keyring early
        self.refresh_conflicts()
        self.refresh_refusals()
        if self._signed_in:
            self._request(manual=False)
        else:
            self._render()

    def sync_now(self) -> bool:
        """Sync at once ("Sync now"): also after failures that waited for the
        user. ``False`` if there is no sign-in to sync with."""
        if not self._signed_in or self._signing_out:
            return False
        self._blocked = False
        self._backoff.reset()
        self._request(manual=True)
        return True

    def note_local_change(self) -> None:
        """Something was saved locally: sync a few seconds after the last such change."""
        if self._closed or not self._signed_in or self._signing_out:
            return
        if self._phase in (Phase.OFFLINE, Phase.FAILED, Phase.SYNCED, Phase.IDLE):
            self._render()  # the number of changes waiting
        if self._blocked or self._retry.isActive():
            return  # the next try (or the user) takes the change along
        self._debounce.start()

    def network_available(self) -> None:
        """The network came back: try again soon instead of waiting out the backoff."""
        if self._closed or not self._signed_in or self._blocked or self._signing_out:
            return
        if self._phase in (Phase.OFFLINE, Phase.FAILED) and not self._busy:
            log.info("The network is back; syncing soon")
            self._backoff.reset()
            self._schedule_retry(NETWORK_BACK_DELAY_MS / 1000)

    def sign_in(self, server_url: str, username: str, password: str) -> None:
        """Sign in off the GUI thread; answers with ``signed_in`` or ``sign_in_failed``."""
        self._cancel.clear()
        self._submit(functools.partial(self._sign_in_job, server_url, username, password),
                     self._on_signed_in)

    def sign_out(self) -> None:
        """Stop a running sync after its batch in flight, then forget the sign-in."""
        if self._signing_out or replica.sync_meta(self._store).server_url is None:
            return
        self._signing_out = True
        self._signed_in = False
        self._debounce.stop()
        self._cancel_retry()
        self._again = False
        self._stop_running_sync()
        self._phase = Phase.SIGNING_OUT
        self._render()
        self._submit(self._sign_out_job, self._on_signed_out)

    def answer_mass_delete(self, remove: bool) -> None:
        """The user's answer to ``mass_delete_requested``."""
        with self._answer_lock:
            answer, self._answer = self._answer, None
        self._asking = None
        if answer is not None:
            answer.value = remove
            answer.event.set()
        if self._busy:
            self._render()

    def refresh_conflicts(self) -> None:
        try:
            count = len(replica.open_conflicts(self._store))
        except FieldbookError as exc:
            log.warning("Could not count the conflicts: %s", exc)
            return
        self._conflicts = count
        self.conflicts_changed.emit(count)

    def parcel_imported(self) -> None:
        """An answer parcel was applied: conflicts, refusals and the status line may differ."""
        self.refresh_conflicts()
        self.refresh_refusals()
        self._render()

    def refresh_refusals(self) -> None:
        """Count the refused changes kept (after a sync, or the user dismissed some)."""
        try:
            count = len(replica.rejections(self._store))
        except FieldbookError as exc:
            log.warning("Could not count the refused changes: %s", exc)
            return
        changed, self._refused = count != self._refused, count
        if changed and not self._busy:
            self._render()
        self.refusals_changed.emit(count)

    def shutdown(self, wait_s: float = SHUTDOWN_WAIT_S) -> None:
        """At quit: stop the timers and the running sync; wait a little for it."""
        if self._closed:
            return
        self._closed = True
        for timer in (self._debounce, self._retry, self._period):
            timer.stop()
        if self._network is not None:
            self._network.reachabilityChanged.disconnect(self._on_reachability)
            self._network = None
        self._stop_running_sync()
        if self._worker.stop(wait_s):
            engine, self._engine = self._engine, None
            if engine is not None:
                engine.client.close()
        else:
            log.warning("A sync request was still running at quit; it stops with Fieldbook")

    # --- state, for the window and tests --------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    @property
    def runner(self) -> TaskRunner:
        return self._runner

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def is_signed_in(self) -> bool:
        return self._signed_in

    @property
    def needs_sign_in(self) -> bool:
        return self._phase in NEEDS_SIGN_IN or (not self._signed_in and not self._signing_out)

    @property
    def conflict_count(self) -> int:
        return self._conflicts

    @property
    def refusal_count(self) -> int:
        return self._refused

    def remembers_sign_in(self) -> bool | None:
        """Whether a sign-in survives a restart (a keyring holds it); ``None`` until known."""
        tokens = self._tokens
        return None if tokens is None else tokens.persistent

    def keyring_problem(self) -> str:
        tokens = self._tokens
        return "" if tokens is None else tokens.reason

    def api_client(self) -> ApiClient | None:
        """The client holding this session's sign-in, once a sync has made it
        (attachment transfers share it: the refresh token changes with each use)."""
        engine = self._engine
        return None if engine is None or self._closed else engine.client

    def account(self) -> replica.SyncMeta:
        return replica.sync_meta(self._store)

    def pending_count(self) -> int:
        try:
            return replica.pending_count(self._store)
        except FieldbookError as exc:
            log.warning("Could not count the changes waiting: %s", exc)
            return 0

    def retranslate(self) -> None:
        """Re-word the status in the current language."""
        self._render()

    # --- scheduling (GUI thread) ------------------------------------------------------

    def _request(self, *, manual: bool) -> None:
        if self._closed or not self._signed_in or self._signing_out:
            return
        if self._blocked and not manual:
            return
        if self._busy:
            self._again = True
            self._again_manual = self._again_manual or manual
            return
        meta = replica.sync_meta(self._store)
        if not meta.server_url or not meta.username:
            self._signed_in = False
            self._phase = Phase.NOT_SET_UP
            self._render()
            return
        self._debounce.stop()
        self._cancel_retry()
        self._cancel.clear()
        self._busy = True
        self._phase = Phase.SYNCING
        self._progress = None
        self._render()
        self.busy_changed.emit(True)
        self._submit(functools.partial(self._sync_job, meta.server_url, meta.username),
                     self._on_sync_done)

    def _after_edits(self) -> None:
        if self.pending_count() > 0:
            self._request(manual=False)

    def _retry_due(self) -> None:
        self._request(manual=False)

    def _schedule_retry(self, delay_s: float) -> None:
        super()._schedule_retry(delay_s)
        self._render()

    @Slot(bool)
    def _on_runner_busy(self, busy: bool) -> None:
        if not busy:  # local writes (edits, deletes, undo) landed
            self.note_local_change()

    def _watch_reachability(self) -> None:
        if not QNetworkInformation.loadDefaultBackend():
            log.info("No network information backend; relying on retries")
            return
        info = QNetworkInformation.instance()
        if info is None or not info.supports(QNetworkInformation.Feature.Reachability):
            return
        self._network = info
        info.reachabilityChanged.connect(self._on_reachability)

    @Slot(QNetworkInformation.Reachability)
    def _on_reachability(self, reachability: QNetworkInformation.Reachability) -> None:
        reach = QNetworkInformation.Reachability
        if reachability not in (reach.Disconnected, reach.Unknown):
            self.network_available()

    def _stop_running_sync(self) -> None:
        self._cancel.set()
        engine = self._engine
        if engine is not None:
            engine.cancel()
        self.answer_mass_delete(False)

    # --- jobs -----------------------------------------------------------------------

    def _submit(self, fn: Callable[[], Any], done: Callable[[Any, bool], None]) -> None:
        if self._closed:
            return
        self._worker.submit(Job(fn, done))

    # On the worker thread ------------------------------------------------------------

    def _token_store(self) -> TokenStore:
        if self._tokens is None:
            self._tokens = TokenStore()
        return self._tokens

    def _engine_for(self, server_url: str) -> SyncEngine:
        url = normalize_server_url(server_url)
        engine = self._engine
        if engine is None or engine.client.base_url != url:
            if engine is not None:
                engine.client.close()
            engine = SyncEngine(
                self._store,
                self._client_factory(url),
                tokens=self._token_store(),
                on_progress=self._progress_from_worker,
                confirm_mass_delete=self._confirm_from_worker,
            )
            self._engine = engine
        return engine

    def _sync_job(self, server_url: str, username: str) -> SyncReport:
        if self._cancel.is_set():
            raise SyncCancelled()
        tokens = self._token_store()
        engine = self._engine_for(server_url)
        client = engine.client
        if client.refresh_token is None and not client.has_valid_access_token \
                and tokens.load(server_url, username) is None:
            raise NotSignedIn(tokens.persistent)
        return engine.run()

    def _sign_in_job(self, server_url: str, username: str, password: str) -> Account:
        url = normalize_server_url(server_url)
        engine = self._engine_for(url)
        account = engine_sign_in(self._store, engine.client, self._token_store(), url, username, password)
        self._store.sign_unsynced_records(account_author(account))
        return account

    def _sign_out_job(self) -> None:
        meta = replica.sync_meta(self._store)
        if not meta.server_url:
            return
        try:
            engine = self._engine_for(meta.server_url)
        except BadServerAddress:
            return
        engine_sign_out(self._store, engine.client, self._token_store())

    def _progress_from_worker(self, progress: SyncProgress) -> None:
        if self._cancel.is_set() and self._engine is not None:
            self._engine.cancel()  # a cancel that came before the run began
        if not self._closed:
            with contextlib.suppress(RuntimeError):
                self._progressed.emit(progress)

    def _confirm_from_worker(self, count: int, total: int) -> bool:
        """Ask the GUI thread and wait for the answer (only this thread waits)."""
        answer = _Answer()
        with self._answer_lock:
            self._answer = answer
        try:
            self._asked.emit(count, total)
        except RuntimeError:
            return False
        while not answer.event.wait(0.1):
            if self._cancel.is_set() or self._closed:
                return False
        return answer.value

    # Back on the GUI thread ------------------------------------------------------------

    @Slot(object)
    def _on_progress(self, progress: SyncProgress) -> None:
        if not self._busy or self._signing_out:
            return
        self._progress = progress
        self._render()
        self.progress.emit(progress)

    @Slot(int, int)
    def _on_asked(self, count: int, total: int) -> None:
        if self._closed or not self.isSignalConnected(QMetaMethod.fromSignal(self.mass_delete_requested)):
            self.answer_mass_delete(False)
            return
        log.warning("The server would remove %d of %d records; asking the user", count, total)
        self._asking = (count, total)
        self._render()
        self.mass_delete_requested.emit(count, total)

    def _on_sync_done(self, result: Any, failed: bool) -> None:
        self._busy = False
        self._asking = None
        if self._signing_out:
            self._again = False
            self.busy_changed.emit(False)
            return
        if failed:
            self._on_sync_failed(result)
        else:
            self._on_sync_succeeded(result)
        self.refresh_conflicts()
        self.refresh_refusals()
        self.busy_changed.emit(False)
        if self._again:
            manual = self._again_manual
            self._again = self._again_manual = False
            self._request(manual=manual)
        elif not failed and self.pending_count() > 0:
            self.note_local_change()  # edits saved while it ran

    def _on_sync_succeeded(self, report: SyncReport) -> None:
        self._backoff.reset()
        self._blocked = False
        self._phase = Phase.SYNCED
        self._report, self._error = report, None
        self._refused = self._count_refusals()
        self._render()
        self.synced.emit(report)
        # (a refused change put its record back to the server's copy)
        if report.created or report.updated or report.removed or report.conflicts or report.rejections:
            self.records_changed.emit()
        self._announce(report)

    def _on_sync_failed(self, exc: Exception) -> None:
        self._error, self._report = exc, None
        retry = False
        if isinstance(exc, SyncCancelled):
            self._phase = Phase.STOPPED
        elif isinstance(exc, NotSignedIn):
            self._signed_in = False
            self._phase = Phase.SIGNED_OUT if exc.remembered else Phase.SIGN_IN_AGAIN
            self.account_changed.emit()
        elif isinstance(exc, AuthRequired | InvalidCredentials):
            log.warning("Sync needs a new sign-in: %s", exc)
            self._signed_in = False
            self._phase = Phase.SIGN_IN_AGAIN
            self.account_changed.emit()
        elif isinstance(exc, ClientTooOld):
            log.warning("The server no longer accepts this version: %s", exc)
            self._blocked = True
            self._phase = Phase.UPDATE_NEEDED
        elif isinstance(exc, MassDeletePending):
            self._blocked = True
            self._phase = Phase.MASS_DELETE
        elif isinstance(exc, AccountMismatch | BadServerAddress):
            log.warning("Sync failed: %s", exc)
            self._blocked = True
            self._phase = Phase.FAILED
        elif isinstance(exc, Offline):
            log.info("Offline: %s", exc)
            self._phase = Phase.OFFLINE
            retry = True
        elif isinstance(exc, SyncError | EnvironmentFault):
            log.warning("Sync failed: %s", exc)
            self._phase = Phase.FAILED
            retry = getattr(exc, "retryable", False) or isinstance(exc, EnvironmentFault)
        else:
            log.error("Unexpected error while syncing", exc_info=exc)
            self._phase = Phase.FAILED
        if retry:
            self._schedule_retry(self._backoff.next_delay(exc))
        else:
            self._render()
        self.failed.emit(exc)

    def _announce(self, report: SyncReport) -> None:
        """Notices from the server and refused changes, told in the status bar."""
        parts: list[str] = []
        try:
            notices = replica.unseen_notices(self._store)
        except FieldbookError as exc:
            log.warning("Could not read the notices: %s", exc)
            notices = []
        for notice in notices:
            if notice.kind == RESTORED_AFTER_DELETE:
                parts.append(self.tr(
                    "A record you deleted was restored because someone edited it: “{title}”"
                ).format(title=self._title_of(notice.record_id)))
            else:
                parts.append(self.tr("Message from the server: {message}").format(message=notice.message))
        if notices:
            ids = [n.id for n in notices]
            self._runner.submit(lambda: replica.mark_notices_seen(self._store, ids))
        if len(report.rejections) == 1:
            rejection = report.rejections[0]
            parts.append(self.tr("The server did not accept your change to “{title}”: {reason}").format(
                title=self._title_of(rejection.record_id), reason=tr_reason(rejection.reason)))
        elif report.rejections:
            parts.append(self.tr(
                "The server did not accept {count} changes; they were undone here. "
                "“Details…” in the status bar says why."
            ).format(count=len(report.rejections)))
        if report.removed:
            parts.append(self.tr("{count} records are no longer shared with you and were removed.")
                         .format(count=report.removed))
        if parts:
            self.message.emit("  ".join(parts))

    def _count_refusals(self) -> int:
        try:
            return len(replica.rejections(self._store))
        except FieldbookError as exc:
            log.warning("Could not count the refused changes: %s", exc)
            return self._refused

    def _title_of(self, record_id: str) -> str:
        try:
            title = self._store.get(record_id, include_deleted=True).title.strip()
        except FieldbookError as exc:
            log.warning("Could not read the title of %s: %s", record_id, exc)
            title = ""
        return title or self.tr("(untitled)")

    def _on_signed_in(self, result: Any, failed: bool) -> None:
        if failed:
            exc = result
            if not isinstance(exc, FieldbookError):
                log.error("Unexpected error while signing in", exc_info=exc)
            else:
                log.info("Sign-in failed: %s", exc)
            self.sign_in_failed.emit(exc)
            return
        account: Account = result
        settings.put(LAST_SERVER, account.server_url)
        settings.put(LAST_USERNAME, account.user.username)
        settings.put(settings.AUTHOR_NAME, account_author(account))  # what the server signs with
        self._signed_in = True
        self._blocked = False
        self._signing_out = False
        self._backoff.reset()
        self._phase = Phase.IDLE
        self._error = None
        self._render()
        self.account_changed.emit()
        self.signed_in.emit(account)
        if not account.remembered:
            self.message.emit(no_keyring_text())
        self._request(manual=True)

    def _on_signed_out(self, result: Any, failed: bool) -> None:
        self._signing_out = False
        self._signed_in = False
        if failed:
            log.warning("Signing out did not finish cleanly: %s", result)
        self._phase = Phase.SIGNED_OUT
        self._progress = self._report = self._error = None
        self._render()
        self.account_changed.emit()
        self.message.emit(self.tr("Signed out. Your records stay on this computer."))

    # --- the status line --------------------------------------------------------------

    def _render(self) -> None:
        self._publish(*self._describe())

    def _last_synced_line(self) -> str:
        when = replica.sync_meta(self._store).last_synced_at
        if when is None:
            return self.tr("Not synced yet.")
        return self.tr("Last synced: {when}").format(when=describe_synced(when))

    def _describe(self) -> tuple[str, str]:
        phase = self._phase
        if phase is Phase.NOT_SET_UP:
            return (self.tr("Sync: not set up"),
                    self.tr("Sign in to a Fieldbook server to back up and share your records "
                            "(menu Sync)."))
        if phase is Phase.SIGNED_OUT:
            return (self.tr("Sync: signed out"),
                    self.tr("Sign in to sync your records (menu Sync)."))
        if phase is Phase.SIGNING_OUT:
            return self.tr("Signing out…"), ""
        if phase is Phase.SIGN_IN_AGAIN:
            if isinstance(self._error, NotSignedIn):
                detail = no_keyring_text()
            elif isinstance(self._error, InvalidCredentials):
                detail = self.tr("The server did not accept the user name or password.")
            else:
                detail = self.tr("The sign-in has expired or was ended on the server.")
            return (self.tr("Please sign in again"),
                    "\n".join((detail, self.tr("Your changes are kept on this computer."))))
        if phase is Phase.UPDATE_NEEDED:
            return (self.tr("Please update Fieldbook"),
                    self.tr("The server no longer accepts this version of Fieldbook. Your changes are "
                            "kept on this computer; install the latest Fieldbook to sync them."))
        if phase is Phase.MASS_DELETE:
            count, total = self._mass_delete_counts()
            return (self.tr("Sync paused: the server would remove {count} of your {total} records")
                    .format(count=count, total=total),
                    self.tr("Nothing was removed. Check that you are connected to the right server, "
                            "then choose Sync now to be asked again."))
        if phase is Phase.SYNCING:
            return self._describe_progress()
        if phase is Phase.OFFLINE:
            waiting = self.pending_count()
            text = (self.tr("Offline — {waiting}").format(waiting=describe_waiting(waiting))
                    if waiting else self.tr("Offline"))
            explanation = describe_failure(self._error or Offline())[1]
            lines = [explanation, self._retry_line(), self._last_synced_line()]
            return text, "\n".join(line for line in lines if line)
        if phase is Phase.FAILED:
            error = self._error or SyncError()
            reason, explanation = describe_failure(error)
            lines = [explanation, self._retry_line(), self._last_synced_line(),
                     self.tr("Details: {details}").format(details=error)]
            return (self.tr("Sync failed: {reason}").format(reason=reason),
                    "\n".join(line for line in lines if line))
        if phase is Phase.STOPPED:
            return (self.tr("Sync stopped"),
                    self.tr("It will continue where it stopped next time."))
        # IDLE or SYNCED: what the engine last confirmed.
        when = replica.sync_meta(self._store).last_synced_at
        text = describe_synced(when) if when is not None else self.tr("Sync: not synced yet")
        by_parcel = parcels.synced_by_parcel_at(self._store)  # one row: this runs on every update
        if by_parcel is not None and (when is None or by_parcel > when):
            text = describe_synced(by_parcel, by_parcel=True)
        waiting = self.pending_count()
        if waiting and phase is Phase.SYNCED:
            text = self.tr("{synced} · {waiting}").format(synced=text, waiting=describe_waiting(waiting))
        if self._refused:
            text = self.tr("{synced} · {refused}").format(synced=text,
                                                          refused=describe_refused(self._refused))
        tooltip = ""
        if phase is Phase.SYNCED and self._report is not None:
            report = self._report
            tooltip = self.tr("Sent {sent} changes and received {received} records.").format(
                sent=report.pushed, received=report.pulled)
        elif waiting:
            tooltip = describe_waiting(waiting)
        if self._refused:
            refused = self.tr("The records were put back as the server has them; “Details…” says why.")
            tooltip = "\n".join(line for line in (tooltip, refused) if line)
        return text, tooltip

    def _mass_delete_counts(self) -> tuple[int, int]:
        error = self._error
        if isinstance(error, MassDeletePending):
            return error.count, error.total
        return 0, 0

    def _describe_progress(self) -> tuple[str, str]:
        progress = self._progress
        if self._asking is not None:
            return self.tr("Sync is waiting for your answer"), ""
        if progress is None or progress.stage is Stage.AUTHENTICATE:
            return self.tr("Syncing…"), ""
        tooltip = self.tr("Sent {sent} KB, received {received} KB").format(
            sent=round(progress.bytes_sent / 1024, 1), received=round(progress.bytes_received / 1024, 1))
        if progress.stage is Stage.PUSH:
            total = progress.total or 0
            if total <= 0:
                return self.tr("Syncing… sending"), tooltip
            percent = min(100, round(100 * progress.done / total))
            return (self.tr("Syncing… {percent}% — sending {done} of {total} changes").format(
                percent=percent, done=progress.done, total=total), tooltip)
        if progress.stage is Stage.PULL:
            if progress.done <= 0:
                return self.tr("Syncing… receiving"), tooltip
            return (self.tr("Syncing… receiving — {count} records so far").format(count=progress.done),
                    tooltip)
        return self.tr("Syncing…"), tooltip


__all__ = [
    "LAST_SERVER",
    "LAST_USERNAME",
    "NEEDS_SIGN_IN",
    "NotSignedIn",
    "Phase",
    "SyncController",
]
