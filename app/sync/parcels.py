"""Sync parcels on the laptop (docs/parcels.md): export, deliver, import.

* :func:`export_parcel` writes what the engine would push now (the change
  log after ``pushed_seq`` in push requests chained by ``after``, the queued
  review entries) and the pull request it would start from, optionally the
  attached files not yet uploaded, sealed for the server. The changes stay
  unsent in the change log until an answer or a direct sync confirms them,
  so a lost stick loses nothing. What was exported is remembered in the
  store's meta (without the values), to confirm it when the answer comes.
* :func:`deliver_parcel` is the courier: any Fieldbook with a connection
  POSTs the file and writes the answer beside it. It needs no account.
* :func:`import_answer` opens the answer and does what a direct sync does
  with the same answers, with the engine's and replica's own functions:
  confirm the pushed groups and review entries, then apply the pull pages,
  each page in one local transaction, the mass-delete guard first.

Idempotent and order-free: an answer confirms its pushes once (a second
import skips them), ``pushed_seq`` never moves back, every field is applied
by version so an old answer never rolls newer data back, and the pull
position only moves when the answer's pull started where the store still
stands; otherwise its content is applied by version and the store keeps
its own position (the next sync or parcel asks from there).

No Qt: every call is plain blocking work with an ``on_progress`` callback,
for the CLI or a UI worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, TypeVar, cast

from pydantic import TypeAdapter
from sqlalchemy import delete, select

from app.errors import NotAParcel, ParcelNotReady
from app.models import attachments
from app.models.orm import Meta, Record
from app.models.store import Store
from app.protocol.parcel_format import (
    MAX_ATTACHMENTS,
    AttachmentSource,
    ParcelInfo,
    new_parcel_id,
    open_answer,
    peek,
    write_outgoing,
    wrong_kind_message,
)
from app.protocol.sync import (
    MAX_PUSH_CHANGES,
    MAX_PUSH_REVIEWS,
    PROTOCOL_VERSION,
    PULL_PAGE_MAX,
    PULL_RESPONSE,
    PUSH_BATCH_BYTES,
    PUSH_RESPONSE,
    MalformedMessage,
    PullRequest,
    PullResponse,
    PushChange,
    PushRequest,
    PushResponse,
    PushReview,
    read,
)
from app.sync import parcel_keys, replica
from app.sync.client import ApiClient
from app.sync.engine import confirm_changes, confirm_reviews, too_many_removed
from app.sync.errors import BadResponse, MassDeletePending, ServerReset, StoreRolledBack
from app.sync.replica import Rejection, ReviewRejection

log = logging.getLogger("fieldbook.sync")
_Message = TypeVar("_Message")

VALID_DAYS: Final = 30  # a parcel expires this long after it was made, by the server's clock
SENT_PREFIX: Final = "parcel_sent:"  # meta: what a parcel carried, until its answer's use or expiry
SYNCED_BY_PARCEL: Final = "synced_by_parcel_at"  # meta: the last imported answer's created_at
SUFFIX: Final = ".fbparcel"


@dataclass(frozen=True)
class ParcelProgress:
    """``stage`` is ``export``, ``deliver`` or ``import``; ``done`` of
    ``total`` steps (change groups, bytes, pages), ``total`` None if unknown."""

    stage: str
    done: int = 0
    total: int | None = None


Progress = Callable[[ParcelProgress], None] | None


@dataclass(frozen=True)
class ExportReport:
    path: Path
    parcel_id: str
    groups: int  # change groups carried
    reviews: int  # review entries carried
    files: int  # attached files carried
    file_bytes: int
    size: int  # of the parcel file
    expires_at: dt.datetime

    def summary(self) -> str:
        files = f", {self.files} file(s) ({self.file_bytes / 1048576:.1f} MB)" if self.files else ""
        return (f"{self.groups} change(s), {self.reviews} review entr(y/ies){files} in "
                f"{self.size / 1024:.1f} KB; deliver it before {self.expires_at:%Y-%m-%d}")


@dataclass(frozen=True)
class DeliverReport:
    answer_path: Path
    parcel_id: str
    size: int  # of the answer
    again: bool  # the server had this parcel already (nothing applied twice)


@dataclass
class ImportReport:
    reply_to: str
    created_at: dt.datetime  # the server's clock when it answered: "synced by parcel at"
    pushed: int = 0  # change groups confirmed now
    reviews_sent: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    review_rejections: list[ReviewRejection] = field(default_factory=list)
    pages: int = 0
    pulled: int = 0
    created: int = 0
    updated: int = 0
    removed: int = 0
    conflicts: int = 0
    moved_position: bool = False  # the pull cursor moved (the answer was for where the store stands)
    already: bool = False  # its pushes were confirmed by an earlier import of it
    new_device: bool = False  # the store was older than what it sent: it became a new device
    files_stored: int = 0

    def summary(self) -> str:
        parts = [f"confirmed {self.pushed} change(s)", f"received {self.pulled} record(s)"]
        if self.reviews_sent:
            parts.append(f"{self.reviews_sent} review entr(y/ies) confirmed")
        if self.rejections:
            parts.append(f"{len(self.rejections)} change(s) refused")
        if self.conflicts:
            parts.append(f"{self.conflicts} conflict(s)")
        if self.already:
            parts.append("imported before: nothing confirmed twice")
        if not self.moved_position:
            parts.append("the next sync asks from where this laptop stood")
        if self.new_device:
            parts.append("this laptop now syncs as a new device (sign in once before the next parcel)")
        return ", ".join(parts)


# --- export ---------------------------------------------------------------------------


def _user_id(store: Store) -> int:
    meta = replica.sync_meta(store)
    if meta.user_id is None:
        raise ParcelNotReady("Sign in once with a connection before making a sync parcel.")
    return meta.user_id


def _ready(store: Store) -> tuple[int, Any, Any]:
    """(user id, device keys, server public keys), or ``ParcelNotReady``."""
    user_id = _user_id(store)
    server = parcel_keys.server_public(store)
    # Registered under an earlier device id of this store (it became a new
    # device since) is enough: the server moves the keys to the new id.
    if server is None or parcel_keys.registered_device(store) is None:
        raise ParcelNotReady()
    return user_id, parcel_keys.device_keys(store), server


def _pushes(store: Store) -> list[PushRequest]:
    """The push requests the engine would send now, in order: the change log
    in batches chained by ``after``, the review entries from the first one on."""
    requests: list[PushRequest] = []
    after: int | None = None
    sent: set[str] = set()
    while True:
        batch = replica.pending_groups(store, PUSH_BATCH_BYTES, MAX_PUSH_CHANGES, after=after)
        reviews = replica.pending_reviews(store, MAX_PUSH_REVIEWS, exclude=sent)
        if not batch and not reviews:
            return requests
        request: PushRequest = {"protocol": PROTOCOL_VERSION, "device_id": store.device_id,
                                "changes": sorted(batch, key=lambda g: g["kind"])}
        if reviews:
            request["reviews"] = reviews
            sent.update(r["id"] for r in reviews)
        if after is not None and batch:
            request["after"] = after
        requests.append(request)
        if batch:
            after = batch[-1]["seq"]


def _pull(store: Store) -> PullRequest:
    meta = replica.sync_meta(store)
    request: PullRequest = {"protocol": PROTOCOL_VERSION, "cursor": meta.pull_cursor, "scope": meta.scope,
                            "device_id": store.device_id, "pushed_seq": meta.pushed_seq,
                            "limit": PULL_PAGE_MAX}
    if meta.resume:
        request["resume"] = meta.resume
    if meta.people_hash:
        request["people_hash"] = meta.people_hash
    return request


def files_to_carry(store: Store) -> tuple[int, int]:
    """(count, bytes) of the attached files an export with files would carry
    (what the dialog shows before the fellow chooses)."""
    files = _files(store)
    return len(files), sum(f.size for f in files)


def _files(store: Store) -> list[attachments.BlobInfo]:
    out = []
    for info in attachments.pending_uploads(store):
        if info.error or attachments.blob_path(store, info.sha256) is None:
            continue
        out.append(info)
        if len(out) == MAX_ATTACHMENTS:
            break
    return out


def _source(store: Store, info: attachments.BlobInfo) -> AttachmentSource:
    path = attachments.blob_path(store, info.sha256)
    assert path is not None

    @contextlib.contextmanager
    def open_file() -> Iterator[IO[bytes]]:
        with path.open("rb") as stream:
            yield stream

    return AttachmentSource(info.sha256, info.size, open_file)


def _summary(request: PushRequest) -> dict[str, Any]:
    """What import needs of a push to confirm it: no values, only names."""
    # In seq order, as the engine confirms a batch (the request has them by kind).
    groups = sorted(request["changes"], key=lambda g: g["seq"])
    return {"groups": [[g["seq"], g["record_id"], g["kind"], g["clock"], sorted(g["fields"])]
                       for g in groups],
            "reviews": list(request.get("reviews") or [])}


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write beside ``path`` and move it into place: a pulled stick or a full
    disk leaves no half parcel under the name."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        with tmp.open("wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def export_parcel(store: Store, path: Path, *, with_files: bool = False,
                  on_progress: Progress = None) -> ExportReport:
    """Write an outgoing parcel to ``path`` (see the module's text). Raises
    ``ParcelNotReady`` before anything is written if this laptop has no
    registered keys; an ``OSError`` from the file leaves the store as it was."""
    user_id, keys, server = _ready(store)
    if on_progress is not None:
        on_progress(ParcelProgress("export", 0, None))
    pushes = _pushes(store)
    pull = _pull(store)
    files = _files(store) if with_files else []
    groups = sum(len(p["changes"]) for p in pushes)
    reviews = sum(len(p.get("reviews") or ()) for p in pushes)
    payload: dict[str, Any] = {"push": pushes, "pull": pull}
    if files:
        payload["attachments"] = [{"sha256": f.sha256, "type": f.type} for f in files]
    created = parcel_keys.server_now(store)
    expires = created + dt.timedelta(days=VALID_DAYS)
    parcel_id = new_parcel_id()
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    path = Path(path)
    atomic_write(path, lambda out: write_outgoing(
        out, body, keys, server, parcel_id=parcel_id, user=str(user_id), device_id=store.device_id,
        created_at=created, expires_at=expires, attachments=[_source(store, f) for f in files]))
    summary = {"device_id": store.device_id, "created_at": created.isoformat(),
               "expires_at": expires.isoformat(), "push": [_summary(p) for p in pushes],
               "pull": {"cursor": pull["cursor"], "scope": pull["scope"], "resume": pull.get("resume")},
               "files": [f.sha256 for f in files], "answered": False}
    with store.writing() as work:
        _prune(work.session, created)
        work.session.merge(Meta(key=SENT_PREFIX + parcel_id, value=json.dumps(summary)))
    report = ExportReport(path, parcel_id, groups, reviews, len(files), sum(f.size for f in files),
                          path.stat().st_size, expires)
    if on_progress is not None:
        on_progress(ParcelProgress("export", groups, groups))
    log.info("Exported parcel %s: %s", parcel_id, report.summary())
    return report


def _prune(session: Any, now: dt.datetime) -> None:
    """Forget what parcels expired a day ago carried (the server refuses them now)."""
    for key, value in session.execute(select(Meta.key, Meta.value).where(Meta.key.like(SENT_PREFIX + "%"))):
        try:
            expired = dt.datetime.fromisoformat(json.loads(value)["expires_at"]) < now - dt.timedelta(days=1)
        except (ValueError, KeyError, TypeError):
            expired = True
        if expired:
            session.execute(delete(Meta).where(Meta.key == key))


# --- deliver (the courier) ------------------------------------------------------------


def answer_path_for(parcel: Path) -> Path:
    """Where the answer goes by default: beside the parcel."""
    stem = parcel.name[: -len(SUFFIX)] if parcel.name.endswith(SUFFIX) else parcel.stem
    return parcel.with_name(f"{stem}.answer{SUFFIX}")


def deliver_parcel(client: ApiClient, path: Path, answer_path: Path | None = None, *,
                   on_progress: Progress = None) -> DeliverReport:
    """Send the parcel at ``path`` to the server and write its answer to
    ``answer_path`` (default: beside it). Refused before any network if it
    is not an outgoing parcel; the server's refusals come as
    ``RequestRejected`` (its code and message), and then no file is written."""
    path = Path(path)
    data = path.read_bytes()
    header = peek(data)
    if header.kind != "outgoing":
        raise NotAParcel(wrong_kind_message(header.kind))
    if on_progress is not None:
        on_progress(ParcelProgress("deliver", 0, len(data)))
    answer, again = client.deliver_parcel(data)
    try:
        if peek(answer).kind != "answer":
            raise BadResponse("The server did not answer with an answer parcel.")
    except NotAParcel:
        raise BadResponse("The server did not answer with an answer parcel.") from None
    target = Path(answer_path) if answer_path is not None else answer_path_for(path)
    atomic_write(target, lambda out: out.write(answer))
    if on_progress is not None:
        on_progress(ParcelProgress("deliver", len(data), len(data)))
    log.info("Delivered parcel %s; answer in %s", header.parcel_id, target)
    return DeliverReport(target, header.parcel_id, len(answer), again)


# --- import ---------------------------------------------------------------------------


def _sent(store: Store, parcel_id: str) -> dict[str, Any] | None:
    with store.reading() as session:
        value = session.scalars(select(Meta.value).where(Meta.key == SENT_PREFIX + parcel_id)).one_or_none()
    try:
        return cast(dict[str, Any], json.loads(value)) if value else None
    except ValueError:
        return None


def _set_meta(store: Store, values: dict[str, str]) -> None:
    with store.writing() as work:
        for key, value in values.items():
            work.session.merge(Meta(key=key, value=value))


def _keep_unchanged(store: Store, device_id: str) -> Callable[[PushChange, dict[str, Any]], dict[str, Any]]:
    """The server's copy of a refused group is put back only for fields still
    at the refused edit's version: anything edited since is newer."""
    def keep(group: PushChange, current: dict[str, Any]) -> dict[str, Any]:
        with store.reading() as session:
            versions = session.scalars(select(Record.versions).where(Record.id == group["record_id"])
                                       ).one_or_none() or {}
        mine = [group["clock"], device_id]
        return {name: entry for name, entry in current.items() if list(versions.get(name) or []) == mine}
    return keep


def _confirm(store: Store, sent: dict[str, Any], answers: list[PushResponse], error: Any,
             user_id: int, report: ImportReport) -> None:
    """The pushes' answers, as the engine takes a direct push's."""
    for summary, answer in zip(sent["push"], answers, strict=False):
        batch: list[PushChange] = [
            {"seq": seq, "record_id": rid, "kind": kind, "clock": clock, "known": 0,
             "fields": dict.fromkeys(names)}
            for seq, rid, kind, clock, names in summary["groups"]]
        if batch:
            try:
                rejections, _merged = confirm_changes(store, user_id, batch, answer,
                                                      _keep_unchanged(store, sent["device_id"]))
            except StoreRolledBack:
                _renew(store, report)
                return
            report.pushed += len(batch)
            report.rejections.extend(rejections)
        reviews = cast(list[PushReview], summary["reviews"])
        if reviews:
            confirmed, refused = confirm_reviews(store, reviews, answer)
            report.reviews_sent += len(confirmed)
            report.review_rejections.extend(refused)
    if isinstance(error, dict) and error.get("code") == "device_rolled_back":
        _renew(store, report)


def _renew(store: Store, report: ImportReport) -> None:
    """The server has changes of this device id that this store never made:
    push as a new device from now on (as the engine does)."""
    log.warning("This store is older than what it sent by parcel: it becomes a new device")
    store.renew_device_id()
    report.new_device = True


def _pages(payload: dict[str, Any]) -> list[PullResponse]:
    """The answer's pull pages, each checked as a direct pull's answer is."""
    pages = payload.get("pull")
    if not isinstance(pages, list):
        raise BadResponse("The answer's pull pages are not readable.")
    return [_answered(PULL_RESPONSE, page, "pull page") for page in pages]


def _answered(adapter: TypeAdapter[_Message], part: Any, what: str) -> _Message:
    """A part of the answer as the protocol's message (the same check as
    the answer of a direct request), or ``BadResponse``."""
    try:
        return read(adapter, json.dumps(part))
    except (MalformedMessage, TypeError, ValueError) as problem:
        log.warning("An answer's %s is not what the protocol says: %s", what, problem)
        raise BadResponse(f"The answer's {what}s are not readable.") from None


def import_answer(store: Store, path: Path, *, on_progress: Progress = None,
                  confirm_mass_delete: Callable[[int, int], bool] | None = None) -> ImportReport:
    """Open the answer at ``path`` and apply it (see the module's text).
    Raises a ``ParcelError`` (nothing changed), ``MassDeletePending`` or
    ``ServerReset`` (its pushes confirmed, none of its pages applied)."""
    return import_answer_data(store, Path(path).read_bytes(), on_progress=on_progress,
                              confirm_mass_delete=confirm_mass_delete)


def import_answer_data(store: Store, data: bytes, *, on_progress: Progress = None,
                       confirm_mass_delete: Callable[[int, int], bool] | None = None) -> ImportReport:
    """:func:`import_answer` of an answer in memory (handed over the LAN)."""
    kind = peek(data).kind
    if kind != "answer":
        raise NotAParcel(wrong_kind_message(kind))
    user_id = _user_id(store)
    known = parcel_keys.server_key_ring(store)
    if not known:
        raise ParcelNotReady()
    info, raw = open_answer(data, parcel_keys.device_keys(store), known, device_id=store.device_id)
    try:
        payload = json.loads(raw)
        raw_answers = payload["push"]
        assert isinstance(raw_answers, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise BadResponse("The answer's contents are not readable.") from None
    answers = [_answered(PUSH_RESPONSE, answer, "push answer") for answer in raw_answers]
    parcel_keys.remember_server_keys(store, payload.get("server_keys"))  # (signed by the server)
    parcel_keys.remember_certificate(store, payload.get("certificate"))
    pages = _pages(payload)
    report = ImportReport(str(info.reply_to), info.created_at)
    total = len(pages) + 1
    if on_progress is not None:
        on_progress(ParcelProgress("import", 0, total))
    sent = _sent(store, report.reply_to)
    if sent is None:
        log.info("Answer to parcel %s: not made here or forgotten; its pushes are left to the next sync",
                 report.reply_to)
    elif sent.get("answered"):
        report.already = True
    elif sent.get("device_id") == store.device_id:
        _confirm(store, sent, answers, payload.get("push_error"), user_id, report)
        for sha, outcome in (payload.get("attachments") or {}).items():
            if outcome == "stored" and attachments.blob_info(store, sha) is not None:
                attachments.mark_uploaded(store, sha)
                report.files_stored += 1
        sent["answered"] = True
        _set_meta(store, {SENT_PREFIX + report.reply_to: json.dumps(sent)})
    if on_progress is not None:
        on_progress(ParcelProgress("import", 1, total))
    _apply_pages(store, pages, sent, report, confirm_mass_delete, on_progress, total)
    _seen(store, info)
    while store.index_pending(500):
        pass
    log.info("Imported the answer to parcel %s: %s", report.reply_to, report.summary())
    return report


def _apply_pages(store: Store, pages: list[PullResponse], sent: dict[str, Any] | None,
                 report: ImportReport, confirm_mass_delete: Callable[[int, int], bool] | None,
                 on_progress: Progress, total: int) -> None:
    """The pull pages: as the engine applies them when the answer's pull
    started where the store stands; otherwise by version only (docs/parcels.md)."""
    meta = replica.sync_meta(store)
    start = sent["pull"] if sent is not None else None
    here = {"cursor": meta.pull_cursor, "scope": meta.scope, "resume": meta.resume}
    follows = start is not None and start == here and not report.new_device
    if follows and pages and not pages[-1]["more"] and pages[-1]["cursor"] < meta.pull_cursor:
        raise ServerReset(meta.pull_cursor, pages[-1]["cursor"])
    if follows:
        doomed, live = 0, 0
        for page in pages:
            count, live_now = replica.would_remove(store, page)
            live = live or live_now
            doomed += count
        if too_many_removed(doomed, live) and not (
                confirm_mass_delete is not None and confirm_mass_delete(doomed, live)):
            raise MassDeletePending(doomed, live)
    for number, page in enumerate(pages, start=2):
        result = replica.apply_pull_page(store, page, keep_position=not follows)
        report.pages += 1
        report.pulled += result.records
        report.created += result.created
        report.updated += result.updated
        report.removed += result.removed
        report.conflicts += result.conflicts
        if on_progress is not None:
            on_progress(ParcelProgress("import", number, total))
    report.moved_position = follows and bool(pages)


def _seen(store: Store, info: ParcelInfo) -> None:
    """The status bar's "synced by parcel at …" (the server's clock), and the
    server's clock as last seen, when this answer is newer than both."""
    old = synced_by_parcel_at(store)
    if old is None or old < info.created_at:
        _set_meta(store, {SYNCED_BY_PARCEL: info.created_at.isoformat()})
    if info.created_at > parcel_keys.server_now(store):
        parcel_keys.seen_server_time(store, info.created_at)


# --- status ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelStatus:
    ready: bool  # keys registered for this device: parcels can be made
    synced_by_parcel_at: dt.datetime | None
    waiting: list[tuple[str, dt.datetime]]  # (parcel id, expires_at) of parcels not answered yet
    pending: int  # change groups and review entries not yet confirmed


def synced_by_parcel_at(store: Store) -> dt.datetime | None:
    """When the newest imported answer was made (the server's clock), or
    None: one meta row, cheap enough for every status-bar update."""
    with store.reading() as session:
        value = session.scalars(select(Meta.value).where(Meta.key == SYNCED_BY_PARCEL)).one_or_none()
    return dt.datetime.fromisoformat(value) if value else None


def parcel_status(store: Store) -> ParcelStatus:
    """What ``fieldbook parcel status`` and the status bar show."""
    with store.reading() as session:
        rows = dict(session.execute(select(Meta.key, Meta.value).where(
            Meta.key.like(SENT_PREFIX + "%") | (Meta.key == SYNCED_BY_PARCEL))).all())
    synced = rows.pop(SYNCED_BY_PARCEL, None)
    waiting = []
    for key, value in rows.items():
        try:
            summary = json.loads(value)
            if not summary.get("answered"):
                waiting.append((key[len(SENT_PREFIX):], dt.datetime.fromisoformat(summary["expires_at"])))
        except (ValueError, KeyError, TypeError):
            continue
    ready = parcel_keys.server_public(store) is not None and \
        parcel_keys.registered_device(store) is not None
    return ParcelStatus(ready, dt.datetime.fromisoformat(synced) if synced else None,
                        sorted(waiting, key=lambda w: w[1]), replica.pending_count(store))


__all__ = [
    "DeliverReport",
    "ExportReport",
    "ImportReport",
    "ParcelProgress",
    "ParcelStatus",
    "answer_path_for",
    "deliver_parcel",
    "export_parcel",
    "files_to_carry",
    "import_answer",
    "parcel_status",
    "synced_by_parcel_at",
]
