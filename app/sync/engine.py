"""One sync, run as explicit stages: authenticate -> push -> pull -> done.

Each stage records its progress in the local store as it goes, so a dropped
connection, a killed app or a restarted server costs at most the batch or
page in flight:

* PUSH sends the change log after ``pushed_seq`` batch by batch (bounded by
  bytes and count) and moves ``pushed_seq`` only after the server confirmed a
  batch. A batch whose answer was lost is sent again next time; the server
  recognises the replay by its per-device ``last_seq`` and applies nothing
  twice.
* PULL asks for pages after the stored cursor and applies each page in one
  local transaction together with its new cursor, then drops it. Before a
  page is applied, the mass-delete guard checks how many live local records
  it would remove; past half of them (and more than 10) it asks
  ``confirm_mass_delete`` and, without a yes, stops with
  :class:`~app.sync.errors.MassDeletePending` having applied nothing of it.
* DONE records ``last_synced_at`` ("synced as of") only when the server has
  confirmed everything.

Nothing here imports Qt: the UI runs :meth:`SyncEngine.run` on a worker
thread and the CLI calls it directly. :class:`Backoff` spaces out retries
after failures for both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import FieldbookBug
from app.models.orm import utcnow
from app.models.store import Store
from app.sync import replica
from app.sync.client import ApiClient, Tokens, Traffic, UserInfo, normalize_server_url
from app.sync.errors import (
    AccountMismatch,
    AuthRequired,
    BadResponse,
    MassDeletePending,
    SyncError,
    Throttled,
)
from app.sync.protocol import MAX_PUSH_CHANGES, PUSH_BATCH_BYTES, PullRequest, PushRequest
from app.sync.replica import Rejection
from app.sync.tokens import TokenStore

log = logging.getLogger("fieldbook.sync")

MASS_DELETE_FRACTION = 0.5
MASS_DELETE_MINIMUM = 10
# Records per pull page. A page is applied in one write transaction, which
# holds the store's write lock: a few hundred records keep that to a second
# or two on an old laptop (the UI's saves wait at most 10 s for the lock), and
# a page cut off by a dropping hotspot costs little to fetch again.
DEFAULT_PULL_LIMIT = 500


class Stage(enum.StrEnum):
    AUTHENTICATE = "authenticate"
    PUSH = "push"
    PULL = "pull"
    DONE = "done"


@dataclass(frozen=True)
class SyncProgress:
    """``done`` of ``total`` items of the stage: change groups sent of those
    pending (push), records applied of an estimate (pull; ``None`` while
    unknown). Bytes are on the wire, for the whole run so far."""

    stage: Stage
    done: int = 0
    total: int | None = None
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass
class SyncReport:
    pushed: int = 0  # change groups the server confirmed
    push_batches: int = 0
    merged: int = 0  # pushed groups merged with concurrent edits of other fields
    pulled: int = 0  # records received
    pull_pages: int = 0
    created: int = 0  # records new to this store
    updated: int = 0
    removed: int = 0  # records dropped because their owner is no longer visible
    conflicts: int = 0  # conflicts received (the store keeps them for the UI)
    notices: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    duration_s: float = 0.0
    synced_at: dt.datetime | None = None  # "synced as of" (UTC), set when the run completed

    def summary(self) -> str:
        """One line in English for logs and the CLI."""
        parts = [f"sent {self.pushed} change(s)", f"received {self.pulled} record(s)"]
        if self.conflicts:
            parts.append(f"{self.conflicts} conflict(s)")
        if self.rejections:
            parts.append(f"{len(self.rejections)} change(s) refused")
        if self.removed:
            parts.append(f"{self.removed} record(s) no longer shared with you")
        kb_up, kb_down = self.bytes_sent / 1024, self.bytes_received / 1024
        parts.append(f"{kb_up:.1f} KB up, {kb_down:.1f} KB down in {self.duration_s:.1f} s")
        return ", ".join(parts)


class SyncInProgress(SyncError):
    default_message = "A sync is already running."


class SyncCancelled(SyncError):
    retryable = True
    default_message = "Sync was stopped. It will continue where it stopped next time."


@dataclass(frozen=True)
class Account:
    """Who a store syncs as, after :func:`sign_in`."""

    server_url: str
    user: UserInfo
    remembered: bool  # the sign-in survives a restart (the keyring took the token)
    reason: str = ""  # why not, when it does not


def attach_token_store(client: ApiClient, tokens: TokenStore, server_url: str, username: str) -> None:
    """Save every refresh token the client receives (they rotate on each use)."""

    def save(new: Tokens) -> None:
        tokens.save(server_url, username, new.refresh_token)

    client.on_tokens = save


class SyncEngine:
    def __init__(
        self,
        store: Store,
        client: ApiClient,
        *,
        tokens: TokenStore | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
        confirm_mass_delete: Callable[[int, int], bool] | None = None,
        batch_bytes: int = PUSH_BATCH_BYTES,
        batch_groups: int = MAX_PUSH_CHANGES,
        pull_limit: int | None = DEFAULT_PULL_LIMIT,
    ) -> None:
        self.store = store
        self.client = client
        self.tokens = tokens
        self.on_progress = on_progress
        self.confirm_mass_delete = confirm_mass_delete
        self.batch_bytes = batch_bytes
        self.batch_groups = batch_groups
        self.pull_limit = pull_limit
        self._running = threading.Lock()
        self._cancel = threading.Event()
        self._traffic_start = Traffic()

    # --- public --------------------------------------------------------------

    def cancel(self) -> None:
        """Stop after the batch or page in flight (from any thread)."""
        self._cancel.set()

    def run(self) -> SyncReport:
        """One complete sync. Raises a :class:`SyncError` subclass on failure;
        whatever was confirmed before the failure stays confirmed."""
        if not self._running.acquire(blocking=False):
            raise SyncInProgress()
        self._cancel.clear()
        began = time.monotonic()
        started_at = utcnow()
        self._traffic_start = self.client.traffic.snapshot()
        report = SyncReport()
        try:
            self.client.reset_connections()
            user = self._authenticate()
            self._push(report, user)
            self._pull(report)
            report.synced_at = replica.set_last_synced(self.store, started_at)
            self._progress(Stage.DONE)
            return report
        finally:
            traffic = self.client.traffic.snapshot() - self._traffic_start
            report.requests = traffic.requests
            report.bytes_sent = traffic.bytes_sent
            report.bytes_received = traffic.bytes_received
            report.duration_s = time.monotonic() - began
            log.info("Sync %s: %s", "finished" if report.synced_at else "stopped", report.summary())
            self._running.release()

    # --- stages --------------------------------------------------------------

    def _progress(self, stage: Stage, done: int = 0, total: int | None = None) -> None:
        if self.on_progress is None:
            return
        traffic = self.client.traffic.snapshot() - self._traffic_start
        self.on_progress(SyncProgress(stage, done, total, traffic.bytes_sent, traffic.bytes_received))

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise SyncCancelled()

    def _authenticate(self) -> UserInfo:
        self._progress(Stage.AUTHENTICATE)
        meta = replica.sync_meta(self.store)
        if not meta.server_url or not meta.username:
            raise AuthRequired("Sign in to sync.")
        if normalize_server_url(meta.server_url) != self.client.base_url:
            raise AccountMismatch(meta.username, meta.server_url)
        if self.tokens is not None:
            attach_token_store(self.client, self.tokens, meta.server_url, meta.username)
            if self.client.refresh_token is None:
                self.client.set_refresh_token(self.tokens.load(meta.server_url, meta.username))
        try:
            self.client.ensure_access()
        except AuthRequired:
            if self.tokens is not None:
                self.tokens.delete(meta.server_url, meta.username)
            raise
        user = self.client.user or self.client.me()
        if meta.user_id is not None and user.id != meta.user_id:
            raise AccountMismatch(meta.username, meta.server_url)
        if (user.role, user.display_name) != (meta.role, meta.display_name):
            replica.set_account(self.store, server_url=meta.server_url, username=meta.username,
                                user_id=user.id, role=user.role, display_name=user.display_name)
        return user

    def _push(self, report: SyncReport, user: UserInfo) -> None:
        total = replica.pending_count(self.store)
        self._progress(Stage.PUSH, 0, total)
        while True:
            self._check_cancel()
            batch = replica.pending_groups(self.store, self.batch_bytes, self.batch_groups)
            if not batch:
                return
            request: PushRequest = {
                "protocol": self.client.protocol_version,
                "device_id": self.store.device_id,
                "changes": batch,
            }
            answer = self.client.push(request)
            last = batch[-1]["seq"]
            if answer["last_seq"] > last:
                log.warning(
                    "The server holds changes up to %d from this device, but the local log is at %d: "
                    "was this store restored from a backup?", answer["last_seq"], last,
                )
            record_of = {g["seq"]: g["record_id"] for g in batch}
            rejections = []
            for result in answer["results"]:
                if result["outcome"] == "rejected":
                    rejections.append(Rejection(
                        result["seq"], record_of.get(result["seq"], ""),
                        result.get("reason") or "refused by the server",
                        tuple(result.get("fields") or ()),
                    ))
                elif result["outcome"] == "merged":
                    report.merged += 1
            replica.mark_pushed(self.store, last, rejections, owner_id=user.id,
                                record_ids=[g["record_id"] for g in batch])
            for rejection in rejections:
                log.warning("The server refused change %d to %s: %s", rejection.seq,
                            rejection.record_id, rejection.reason)
            report.rejections.extend(rejections)
            report.pushed += len(batch)
            report.push_batches += 1
            total = max(total, report.pushed)
            self._progress(Stage.PUSH, report.pushed, total)

    def _pull(self, report: SyncReport) -> None:
        meta = replica.sync_meta(self.store)
        cursor, scope, resume = meta.pull_cursor, meta.scope, meta.resume
        self._progress(Stage.PULL, 0, None)
        live_at_start: int | None = None
        doomed = 0  # live records removed by the pages applied in this run
        confirmed = False
        while True:
            self._check_cancel()
            request: PullRequest = {"protocol": self.client.protocol_version, "cursor": cursor,
                                    "scope": scope}
            if self.pull_limit:
                request["limit"] = self.pull_limit
            if resume:
                request["resume"] = resume
            page = self.client.pull(request)
            count, live = replica.would_remove(self.store, page)
            if live_at_start is None:
                live_at_start = live
            if not confirmed and self._too_many(doomed + count, live_at_start):
                wanted = self.confirm_mass_delete is not None and self.confirm_mass_delete(
                    doomed + count, live_at_start)
                if not wanted:
                    raise MassDeletePending(doomed + count, live_at_start)
                log.warning("Removing %d of %d records, as confirmed", doomed + count, live_at_start)
                confirmed = True
            result = replica.apply_pull_page(self.store, page)
            doomed += count
            report.pull_pages += 1
            report.pulled += result.records
            report.created += result.created
            report.updated += result.updated
            report.removed += result.removed
            report.conflicts += result.conflicts
            report.notices += result.notices
            more = bool(page["more"])
            estimate = report.pulled + (len(page["records"]) if more else 0)
            self._progress(Stage.PULL, report.pulled, estimate)
            if not more:
                return
            if page["cursor"] <= cursor and page["scope"] == scope:
                raise BadResponse("The server's answer does not move on; try again later.")
            cursor, scope, resume = page["cursor"], page["scope"], page.get("resume")

    @staticmethod
    def _too_many(count: int, live: int) -> bool:
        return count > MASS_DELETE_MINIMUM and count > MASS_DELETE_FRACTION * live


class Backoff:
    """Waits between failed attempts: exponential with full jitter (a random
    delay between 0 and ``base * 2**attempts`` seconds, at most ``cap``),
    so a classroom of laptops that lost the server together does not come
    back all at once. ``reset()`` after a success."""

    def __init__(self, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self, error: BaseException | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(self.attempts, 32))
        self.attempts += 1
        delay = self._rng.uniform(0, ceiling)
        if isinstance(error, Throttled) and error.retry_after:
            delay = max(delay, min(error.retry_after, 24 * 3600.0))
        return delay

    def reset(self) -> None:
        self.attempts = 0


# --- signing in and out --------------------------------------------------------


def sign_in(
    store: Store,
    client: ApiClient,
    tokens: TokenStore,
    server_url: str,
    username: str,
    password: str,
) -> Account:
    """Sign in with a password: saves the account in the store and the
    refresh token in the keyring (or memory). Raises ``InvalidCredentials``,
    ``AccountMismatch`` (the store's records belong to another account),
    or a connection error."""
    server_url = normalize_server_url(server_url)
    if server_url != client.base_url:
        raise FieldbookBug(f"sign_in for {server_url} with a client for {client.base_url}")
    meta = replica.sync_meta(store)
    owned = replica.has_synced(store) and meta.server_url and meta.username
    if owned and normalize_server_url(meta.server_url or "") != server_url:
        raise AccountMismatch(meta.username or "", meta.server_url or "")
    new = client.login(username, password)
    if owned and meta.user_id is not None and new.user.id != meta.user_id:
        with contextlib.suppress(SyncError):
            client.logout(new.refresh_token)
        raise AccountMismatch(meta.username or "", meta.server_url or "")
    user = new.user
    replica.set_account(store, server_url=server_url, username=user.username, user_id=user.id,
                        role=user.role, display_name=user.display_name)
    tokens.save(server_url, user.username, new.refresh_token)
    attach_token_store(client, tokens, server_url, user.username)
    log.info("Signed in to %s as %s (%s)", server_url, user.username, user.role)
    return Account(server_url, user, tokens.persistent, tokens.reason)


def sign_out(store: Store, client: ApiClient, tokens: TokenStore) -> None:
    """Forget the sign-in on this computer, revoking it on the server when the
    server can be reached. The records and the account stay in the store."""
    meta = replica.sync_meta(store)
    token = client.refresh_token
    if token is None and meta.server_url and meta.username:
        token = tokens.load(meta.server_url, meta.username)
    client.on_tokens = None
    try:
        client.logout(token)
    except SyncError as exc:
        log.info("Could not revoke the sign-in on the server (%s); it expires by itself", exc)
    if meta.server_url and meta.username:
        tokens.delete(meta.server_url, meta.username)
    log.info("Signed out")


__all__ = [
    "Account",
    "Backoff",
    "Stage",
    "SyncCancelled",
    "SyncEngine",
    "SyncInProgress",
    "SyncProgress",
    "SyncReport",
    "attach_token_store",
    "sign_in",
    "sign_out",
]
