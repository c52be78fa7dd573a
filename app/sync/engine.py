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
* A store file older than what it pushed (restored from a copy, or its last
  writes lost in a power cut) would reuse seqs the server has from this
  device for other changes. The server refuses such a batch whole (its
  "replays" are not what it stored), or the answer shows seqs the store
  never made: either way the store becomes a new device
  (:meth:`~app.models.store.Store.renew_device_id`) and pushes again, and
  its pulls ask for its own writes too (``pushed_seq``), so the records it
  lost come back.
* A run whose last page ends below the cursor the store already had means
  the server lost writes (reset, or restored from a backup): the engine stops
  with :class:`~app.sync.errors.ServerReset` before applying anything.
* A change group the server refuses (someone else's record, a bad value)
  is not sent again: the refusal is kept for the user, and the record is put
  back to the server's copy that came with the answer
  (:func:`~app.sync.replica.mark_pushed`), so no laptop keeps a change no
  one else has.
* DONE records ``last_synced_at`` ("synced as of") only when the server has
  confirmed everything.

Nothing here imports Qt: the UI runs :meth:`SyncEngine.run` on a worker
thread and the CLI calls it directly. :class:`Backoff` spaces out retries
after failures for both.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import text

from app.errors import FieldbookBug, StoreError
from app.models.orm import utcnow
from app.models.store import Store
from app.protocol.sync import (
    MAX_PUSH_CHANGES,
    PULL_PAGE_MAX,
    PUSH_BATCH_BYTES,
    PullRequest,
    PullResponse,
    PushChange,
    PushRequest,
    PushResponse,
    PushResult,
    PushReview,
    ReviewResult,
)
from app.sync import parcel_keys, replica
from app.sync.client import ApiClient, Tokens, Traffic, UserInfo, normalize_server_url
from app.sync.errors import (
    AccountMismatch,
    AuthRequired,
    BadResponse,
    MassDeletePending,
    RequestRejected,
    ServerReset,
    StoreRolledBack,
    SyncError,
    Throttled,
)
from app.sync.replica import Rejection, ReviewRejection
from app.sync.tokens import TokenStore

log = logging.getLogger("fieldbook.sync")
A = TypeVar("A")
R = TypeVar("R")

# Push requests on their way at once: the server applies one while the next
# waits on it, so neither side idles while the other works.
_PUSHES_IN_FLIGHT = 2
MASS_DELETE_FRACTION = 0.5
MASS_DELETE_MINIMUM = 10
# Records per pull page: the server's most. Its byte bound (PULL_PAGE_BYTES,
# ~1000 typical records) is what ends a page: applied in bulk (replica.py),
# such a page holds the store's write lock for a few tenths of a second (the
# UI's saves wait up to 10 s for it), and one cut off by a dropping hotspot
# costs little to fetch again. Fewer pages, fewer round trips on a slow link.
DEFAULT_PULL_LIMIT = PULL_PAGE_MAX
# Records given their search entry per write transaction after a large pull
# (Store.index_pending): ~0.1-0.2 s each, so UI saves never wait long.
INDEX_BATCH = 500


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
    new_device: bool = False  # the store was older than what it pushed and became a new device
    reviews_sent: int = 0  # review entries the server confirmed (accepted or superseded)
    superseded: int = 0  # of those, decisions that came too late (kept, not applied)
    review_rejections: list[ReviewRejection] = field(default_factory=list)  # removed from the store
    reviews_pulled: int = 0  # review entries received

    def summary(self) -> str:
        """One line in English for logs and the CLI."""
        parts = [f"sent {self.pushed} change(s)", f"received {self.pulled} record(s)"]
        if self.conflicts:
            parts.append(f"{self.conflicts} conflict(s)")
        if self.reviews_sent:
            parts.append(f"sent {self.reviews_sent} review entr(y/ies)")
        if self.rejections:
            parts.append(f"{len(self.rejections)} change(s) refused")
        if self.review_rejections:
            parts.append(f"{len(self.review_rejections)} review entr(y/ies) refused")
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
        index_search: bool = True,
    ) -> None:
        self.store = store
        self.client = client
        self.tokens = tokens
        self.on_progress = on_progress
        self.confirm_mass_delete = confirm_mass_delete
        self.batch_bytes = batch_bytes
        self.batch_groups = batch_groups
        self.pull_limit = pull_limit
        # After the run, index the records a large pull left unindexed
        # (Store.index_pending). Off only for callers that do it themselves.
        self.index_search = index_search
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
            self._keep_certificate()
            self._progress(Stage.DONE)
            return report
        finally:
            traffic = self.client.traffic.snapshot() - self._traffic_start
            report.requests = traffic.requests
            report.bytes_sent = traffic.bytes_sent
            report.bytes_received = traffic.bytes_received
            report.duration_s = time.monotonic() - began
            log.info("Sync %s: %s", "finished" if report.synced_at else "stopped", report.summary())
            try:
                self._index_search()
            finally:
                self._running.release()

    def _keep_certificate(self) -> None:
        """Keep the server's parcel keys as its last token answer said, and
        fetch its certificate of this device's keys once if the laptop signed
        in before certificates existed or the server's keys changed since
        (what a laptop shows another in the room). Best effort: the sync has
        succeeded either way."""
        store = self.store
        parcel_keys.remember_server_keys(store, self.client.server_parcel_keys)
        if parcel_keys.registered_device(store) != store.device_id or \
                parcel_keys.certificate(store, current_only=True):
            return
        try:
            answer = self.client.parcel_certificate(store.device_id)
        except SyncError as problem:
            log.info("No parcel certificate this time: %s", problem)
            return
        parcel_keys.remember_server_keys(store, answer["server_parcel_keys"])
        parcel_keys.remember_certificate(store, answer["certificate"])

    # --- stages --------------------------------------------------------------

    def _progress(self, stage: Stage, done: int = 0, total: int | None = None) -> None:
        if self.on_progress is None:
            return
        traffic = self.client.traffic.snapshot() - self._traffic_start
        self.on_progress(SyncProgress(stage, done, total, traffic.bytes_sent, traffic.bytes_received))

    def _index_search(self) -> None:
        """Search entries for the records a large pull applied without them
        (``replica.apply_pull_page``), a short write transaction at a time,
        until none is left or the run is cancelled (the next run goes on).
        Never raises: the records are there either way, only not yet found
        by a search."""
        if not self.index_search:
            return
        began, done = time.monotonic(), 0
        try:
            while not self._cancel.is_set():
                count = self.store.index_pending(INDEX_BATCH)
                if not count:
                    break
                done += count
        except StoreError as exc:
            log.warning("Could not index the records received for search (%s); trying again later", exc)
        if done:
            log.info("Indexed %d received record(s) for search in %.1f s", done, time.monotonic() - began)

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
        try:
            self._push_batches(report, user)
        except StoreRolledBack as exc:
            if report.new_device:
                raise  # (a brand-new device id cannot have been used before)
            # Its unsent changes reuse seqs the server has from this device
            # id for other changes, and would be skipped as replays: push
            # them again as a new device. The server applied nothing of the
            # refused batch; batches confirmed before it stay confirmed.
            log.warning("This store is older than what it pushed%s: pushing as a new device",
                        "" if exc.server_seq is None
                        else f" (the server has up to {exc.server_seq}, it made up to {exc.local_seq})")
            self.store.renew_device_id()
            report.new_device = True
            self._push_batches(report, user)

    def _push_batches(self, report: SyncReport, user: UserInfo) -> None:
        """Push the change log batch by batch; queued review entries ride
        along from the first request on (after its change groups), at most
        ``MAX_PUSH_REVIEWS`` a request. With no change pending but entries
        queued, a request with no changes carries them; with neither, no
        push request is made at all.

        On a healthy link two requests are in flight at once: while the
        server applies one batch, the next is read, sent and waits on the
        server for its turn (marked ``after`` the one before, so the server
        applies it only once that one is in: ``push_gap`` otherwise, nothing
        applied). Answers are taken in order, so ``pushed_seq`` still only
        moves over confirmed batches. After a failed request (a hotspot that
        drops), one at a time for a while."""
        total = replica.pending_count(self.store)
        self._progress(Stage.PUSH, 0, total)
        sent: set[str] = set()  # entries sent in this run (answered or not)
        flights: deque[_Push] = deque()
        # On a link that dropped lately, one at a time: a cut loses every
        # request in flight, and the bandwidth, not the server, is the limit.
        in_flight = _PUSHES_IN_FLIGHT if self.client.link_is_healthy() else 1
        batch = replica.pending_groups(self.store, self.batch_bytes, self.batch_groups)
        reviews = replica.pending_reviews(self.store)
        try:
            while batch or reviews or flights:
                self._check_cancel()
                if (batch or reviews) and len(flights) < in_flight:
                    after = flights[-1].last if flights else None
                    flights.append(self._send_push(batch, reviews, after))
                    sent.update(r["id"] for r in reviews)
                    after = batch[-1]["seq"] if batch else after
                    batch = replica.pending_groups(self.store, self.batch_bytes, self.batch_groups,
                                                   after=after) if after is not None else batch
                    reviews = []
                    if len(flights) < in_flight and (batch or reviews):
                        continue  # fill the pipeline before waiting
                flight = flights.popleft()
                try:
                    answer = flight.call.result()
                except RequestRejected as exc:
                    if exc.code != "push_gap":
                        raise
                    # It reached the server before the batch it follows was
                    # applied. Drop what else is in flight (gaps too) and go
                    # on from what is confirmed.
                    log.info("A push batch arrived before the one it follows; sending it again")
                    self._drain(flights)
                    batch = replica.pending_groups(self.store, self.batch_bytes, self.batch_groups)
                    reviews = replica.pending_reviews(self.store, exclude=sent)
                    continue
                if flight.batch:
                    self._confirm_changes(report, user, flight.batch, answer)
                if flight.reviews:
                    self._confirm_reviews(report, flight.reviews, answer)
                report.push_batches += 1
                total = max(total, report.pushed + report.reviews_sent)
                self._progress(Stage.PUSH, report.pushed + report.reviews_sent, total)
                if not reviews:
                    reviews = replica.pending_reviews(self.store, exclude=sent)
        finally:
            self._drain(flights)

    def _send_push(self, batch: list[PushChange], reviews: list[PushReview], after: int | None) -> _Push:
        request: PushRequest = {
            "protocol": self.client.protocol_version,
            "device_id": self.store.device_id,
            # Records of one kind side by side: gzip finds their shared
            # field names and phrases (a quarter fewer bytes). Each
            # record's own groups keep their order (the sort is stable).
            "changes": sorted(batch, key=_kind_of),
        }
        if reviews:
            request["reviews"] = reviews
        if after is not None and batch:
            request["after"] = after
        last = batch[-1]["seq"] if batch else after
        return _Push(batch, reviews, last, _InFlight(self.client.push, request))

    @staticmethod
    def _drain(flights: deque[_Push]) -> None:
        """Wait for the requests still in flight and drop their outcomes (what
        they applied is found again as replays by the next push)."""
        while flights:
            flights.popleft().call.close()

    def _confirm_changes(
        self, report: SyncReport, user: UserInfo, batch: list[PushChange], answer: PushResponse
    ) -> None:
        """The server's answer for a batch of change groups: move ``pushed_seq``
        and keep the rejections (or find the store rolled back)."""
        rejections, merged = confirm_changes(self.store, user.id, batch, answer)
        report.merged += merged
        report.rejections.extend(rejections)
        report.pushed += len(batch)

    def _confirm_reviews(self, report: SyncReport, reviews: list[PushReview], answer: PushResponse) -> None:
        """The server's answer for the review entries of a request."""
        confirmed, refused = confirm_reviews(self.store, reviews, answer)
        report.reviews_sent += len(confirmed)
        report.superseded += sum(r["outcome"] == "superseded" for r in confirmed)
        report.review_rejections.extend(refused)

    def _pull_request(self, cursor: int, scope: list[int] | None, resume: str | None,
                      pushed_seq: int, people_hash: str = "") -> PullRequest:
        request: PullRequest = {"protocol": self.client.protocol_version, "cursor": cursor,
                                "scope": scope, "device_id": self.store.device_id,
                                "pushed_seq": pushed_seq}
        if self.pull_limit:
            request["limit"] = self.pull_limit
        if resume:
            request["resume"] = resume
        if people_hash:
            request["people_hash"] = people_hash
        return request

    def _pull(self, report: SyncReport) -> None:
        meta = replica.sync_meta(self.store)
        cursor, scope, resume = meta.pull_cursor, meta.scope, meta.resume
        people_hash = meta.people_hash
        pulled_up_to = meta.pull_cursor  # no server answer may end a run below this
        self._progress(Stage.PULL, 0, None)
        live_at_start: int | None = None
        doomed = 0  # live records removed by the pages applied in this run
        confirmed = False
        ahead: _InFlight[PullRequest, PullResponse] | None = None  # the next page, on its way
        try:
            while True:
                self._check_cancel()
                if ahead is None:
                    page = self.client.pull(self._pull_request(cursor, scope, resume, meta.pushed_seq,
                                                               people_hash))
                else:
                    page = ahead.result()
                    ahead = None
                if not page["more"] and page["cursor"] < pulled_up_to:
                    # A run's last page carries the server's newest seq, which
                    # only grows: below what this store already pulled, the
                    # server lost writes (reset, or restored from a backup).
                    log.warning("The server's newest change is %d, but this store pulled up to %d: "
                                "the server was reset or restored; stopping", page["cursor"], pulled_up_to)
                    raise ServerReset(pulled_up_to, page["cursor"])
                # The list the store will hold once this page is applied.
                people_hash = str(page.get("people_hash") or people_hash)
                more = bool(page["more"])
                stuck = more and page["cursor"] <= cursor and page["scope"] == scope
                if more and not stuck:
                    # Ask for the next page now: the server prepares and sends
                    # it while this one is applied. Pages are still applied in
                    # order, each with its cursor, so nothing else changes.
                    ahead = _InFlight(self.client.pull, self._pull_request(
                        page["cursor"], page["scope"], page.get("resume"), meta.pushed_seq, people_hash))
                if not confirmed:  # (once confirmed, the run removes what it must)
                    count, live = replica.would_remove(self.store, page)
                    if live_at_start is None:
                        live_at_start = live
                    doomed += count
                    if self._too_many(doomed, live_at_start):
                        wanted = self.confirm_mass_delete is not None and self.confirm_mass_delete(
                            doomed, live_at_start)
                        if not wanted:
                            raise MassDeletePending(doomed, live_at_start)
                        log.warning("Removing %d of %d records, as confirmed", doomed, live_at_start)
                        confirmed = True
                result = replica.apply_pull_page(self.store, page)
                pulled_up_to = max(pulled_up_to, page["cursor"])
                report.pull_pages += 1
                report.pulled += result.records
                report.created += result.created
                report.updated += result.updated
                report.removed += result.removed
                report.conflicts += result.conflicts
                report.notices += result.notices
                report.reviews_pulled += result.reviews
                estimate = report.pulled + (len(page["records"]) if more else 0)
                self._progress(Stage.PULL, report.pulled, estimate)
                if not more:
                    return
                if stuck:
                    raise BadResponse("The server's answer does not move on; try again later.")
                cursor, scope, resume = page["cursor"], page["scope"], page.get("resume")
        finally:
            if ahead is not None:
                ahead.close()  # a page asked for but not applied: wait for it, and drop it

    @staticmethod
    def _too_many(count: int, live: int) -> bool:
        return too_many_removed(count, live)


def too_many_removed(count: int, live: int) -> bool:
    """The mass-delete guard: removing ``count`` of ``live`` records needs a yes."""
    return count > MASS_DELETE_MINIMUM and count > MASS_DELETE_FRACTION * live


def confirm_changes(
    store: Store, user_id: int, batch: list[PushChange], answer: PushResponse,
    keep_current: Callable[[PushChange, dict[str, Any]], dict[str, Any] | None] | None = None,
) -> tuple[list[Rejection], int]:
    """The server's answer for a batch of change groups (a direct push's, or
    one in a parcel's answer): move ``pushed_seq`` over it, keep the
    rejections and put the refused records back. Returns ``(rejections,
    merged groups)``; raises ``StoreRolledBack`` when the answer holds seqs
    this store never made (nothing is confirmed then). ``keep_current``
    filters the server's copy of a refused group before it is put back
    (a parcel's answer can be weeks old: only fields not changed since)."""
    last = batch[-1]["seq"]
    if answer["last_seq"] > last:
        newest = newest_change(store)
        if answer["last_seq"] > newest:
            # Seqs this store never made: it is older than what it
            # pushed. The server took this batch's groups at or below
            # its mark for replays; marking them sent would lose them.
            raise StoreRolledBack(newest, answer["last_seq"])
        log.info("The server had this batch already (up to %d): an answer was lost before",
                 answer["last_seq"])
    group_of = {g["seq"]: g for g in batch}
    rejections = []
    merged = 0
    for result in answer["results"]:
        if result["outcome"] == "rejected":
            group = group_of.get(result["seq"])
            current = _current_of(result)
            if current is not None and keep_current is not None and group is not None:
                current = keep_current(group, current)
            rejections.append(Rejection(
                result["seq"], group["record_id"] if group else "",
                result.get("reason") or "refused by the server",
                # The fields at fault, else every field the refused change had.
                tuple(result.get("fields") or (group["fields"] if group else ())),
                current,
            ))
        elif result["outcome"] == "merged":
            merged += 1
    replica.mark_pushed(store, last, rejections, owner_id=user_id,
                        record_ids=[g["record_id"] for g in batch])
    for rejection in rejections:
        log.warning("The server refused change %d to %s: %s", rejection.seq,
                    rejection.record_id, rejection.reason)
    return rejections, merged


def confirm_reviews(
    store: Store, reviews: list[PushReview], answer: PushResponse
) -> tuple[list[ReviewResult], list[ReviewRejection]]:
    """The server's answer for the review entries of a push: ``(confirmed, refused)``."""
    confirmed, refused = replica.mark_reviews_sent(store, reviews, answer.get("reviews") or [])
    unanswered = len(reviews) - len(confirmed) - len(refused)
    if unanswered:
        log.warning("The server did not answer for %d review entr(y/ies); they stay queued",
                    unanswered)
    for rejection in refused:
        log.warning("The server refused a %s on %s: %s", rejection.action, rejection.record_id,
                    rejection.reason)
    return confirmed, refused


def _current_of(result: PushResult) -> dict[str, Any] | None:
    """The server's copy of a refused group's fields, if its answer has a
    well-formed one (``replica.mark_pushed`` puts the record back to it)."""
    current = result.get("current")
    if current is None:
        return None
    if not isinstance(current, dict):
        log.warning("Ignored a malformed server copy for refused change %s", result.get("seq"))
        return None
    return current


def _kind_of(group: PushChange) -> str:
    return group["kind"]


def newest_change(store: Store) -> int:
    """The highest change-log seq this store ever gave out (AUTOINCREMENT
    keeps it in sqlite_sequence even when that row is gone)."""
    with store.reading() as session:
        row = session.execute(
            text("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0), "
                 "coalesce((SELECT max(seq) FROM changes), 0))")
        ).scalar_one()
    return int(row or 0)


@dataclass
class _Push:
    """A push request on its way, with what it carries."""

    batch: list[PushChange]
    reviews: list[PushReview]
    last: int | None  # the seq a following batch comes ``after``
    call: _InFlight[PushRequest, PushResponse]


class _InFlight(Generic[A, R]):
    """``call(argument)`` running on its own thread while the engine does other
    work (the next pull page while one is applied; a push batch while the next
    is read; the next push batch). ``result()`` waits for it and returns or
    raises what it did; ``close()`` waits for it and drops the outcome. Only
    the engine's thread uses it. Two pushes may be in flight at once: the
    client's token handling is locked, and requests' connection pool serves
    two threads."""

    def __init__(self, call: Callable[[A], R], argument: A) -> None:
        self._outcome: R | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call, argument),
                                        name="fieldbook-sync-io", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[A], R], argument: A) -> None:
        try:
            self._outcome = call(argument)
        except BaseException as exc:  # handed to the engine's thread by result()
            self._error = exc

    def result(self) -> R:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(R, self._outcome)

    def close(self) -> None:
        self._thread.join()

    def __enter__(self) -> _InFlight[A, R]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


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
    # The store's parcel keys ride along: the server registers them for this
    # device and answers with its own (docs/parcels.md).
    new = client.login(username, password, device_id=store.device_id,
                       parcel_keys=parcel_keys.public_keys_text(store))
    if owned and meta.user_id is not None and new.user.id != meta.user_id:
        try:
            client.logout(new.refresh_token)
        except SyncError as exc:
            log.info("Could not revoke the other account's sign-in (%s); it expires by itself", exc)
        raise AccountMismatch(meta.username or "", meta.server_url or "")
    user = new.user
    replica.set_account(store, server_url=server_url, username=user.username, user_id=user.id,
                        role=user.role, display_name=user.display_name)
    parcel_keys.remember_sign_in(store, server_keys=new.server_parcel_keys, server_time=new.server_time,
                                 registered_for=store.device_id if new.parcel_keys_registered else None,
                                 certificate=new.device_certificate)
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
        client.logout(token, device_id=store.device_id)
    except SyncError as exc:
        log.info("Could not revoke the sign-in on the server (%s); it expires by itself", exc)
    parcel_keys.forget_registration(store)
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
    "confirm_changes",
    "confirm_reviews",
    "newest_change",
    "sign_in",
    "sign_out",
    "too_many_removed",
]
