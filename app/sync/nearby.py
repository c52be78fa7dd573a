"""Parcels in the same room (docs/parcels.md, *In the same room*), no Qt.

**The fellow's laptop** (:class:`Sharing`) shares while she has turned it on:
an ``lan.Announcer`` serves a fresh outgoing parcel, introduces the laptop
with its server certificate sealed for the asking laptop's one-time key, and
imports what the trainer hands over: server answers it carried, and a
*local* parcel of the trainer's own review entries, kept as "pending server
confirmation" (``reviews.add_provisional``).

**The trainer's laptop** (:class:`Courier`) keeps what it carries in a
folder beside its store: ``outgoing/`` (parcels collected, to deliver at the
next connection) and ``answers/`` (the server's answers, to hand back at the
next meeting). :meth:`Courier.exchange` does one meeting; :meth:`Courier.deliver_all`
the trip to town. Its own review entries stay in its outbox and reach the
server from there, in the order they always would; the fellow's laptop drops
its provisional copies when the server's copies arrive (same ids), or when the
trainer's laptop says the server refused them.

Every call blocks; the exchange server's callbacks run on its threads (the
store is safe from any thread). ``on_event`` is how a UI hears of them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sqlalchemy import select

from app import errors as app_errors
from app.errors import FieldbookError, NotAParcel, ParcelError, ParcelNotReady
from app.models import reviews
from app.models.orm import Meta, Review, utcnow
from app.models.store import Store
from app.protocol.parcel_format import DeviceKeys, ServerPublicKeys, peek, sealed_for, wrong_kind_message
from app.protocol.peer_parcels import (
    MAX_WITHDRAWN,
    DeviceCertificate,
    LocalAnswer,
    hello_recipient,
    new_hello_key,
    open_local,
    read_local_answer,
    seal_local,
)
from app.protocol.sync import MAX_PUSH_REVIEWS
from app.sync import errors as sync_errors
from app.sync import lan, parcel_keys, parcels, replica
from app.sync.client import ApiClient
from app.sync.errors import RequestRejected

log = logging.getLogger("fieldbook.sync")

HANDED: Final = "nearby_handed"  # meta on the trainer's laptop: review id -> [fellow user, handed at]
KEEP_HANDED: Final = dt.timedelta(days=60)
KEEP_ANSWERS: Final = dt.timedelta(days=60)
REVIEWER_ROLES: Final = ("trainer", "admin")  # whose decisions a fellow's laptop shows before the server
# The trainer's whole outbox is read to find one fellow's entries (a trainer
# of a hundred fellows may queue more than one push's worth).
_ALL_QUEUED: Final = 100_000
_DEAD_ANSWER: Final = ("ParcelForeign", "ParcelTampered", "NotAParcel", "ParcelTooNew", "ParcelTruncated")


def _ready(store: Store) -> tuple[DeviceCertificate, DeviceKeys, tuple[ServerPublicKeys, ...]]:
    """(this laptop's certificate, its keys, the server's public keys it
    trusts), or ParcelNotReady."""
    certificate = parcel_keys.certificate(store)
    known = parcel_keys.server_key_ring(store)
    if certificate is None or not known:
        raise ParcelNotReady()
    return certificate, parcel_keys.device_keys(store), known


# --- the fellow's laptop ---------------------------------------------------------------


@dataclass(frozen=True)
class SharingEvent:
    """Something a trainer's laptop did while sharing was on.

    ``kind``: ``collected`` (it took the outgoing parcel), ``answer`` (a
    server answer was imported: ``count`` records received), ``comments``
    (``count`` review entries by ``person`` kept as pending, ``withdrawn``
    earlier ones the server refused taken away), ``refused``
    (what it handed was refused: ``detail`` says why), ``locked`` (too many
    wrong pairing codes: sharing stopped)."""

    kind: str
    count: int = 0
    person: str = ""
    detail: str = ""
    withdrawn: int = 0


class Sharing:
    """Share this laptop's parcel with a trainer nearby, while turned on."""

    def __init__(self, store: Store, on_event: Callable[[SharingEvent], None] = lambda _e: None, *,
                 interface: str | None = None, with_files: bool = False) -> None:
        self.store = store
        self.on_event = on_event
        self.interface = interface or lan.local_address()
        self.with_files = with_files
        self._announcer: lan.Announcer | None = None

    def start(self) -> str:
        """Start sharing; returns the pairing code to show. Raises
        ``ParcelNotReady`` (no certificate yet: sign in once with a
        connection, or import an answer) before opening anything."""
        _ready(self.store)
        self._announcer = lan.Announcer(self._parcel, self._answer, self.interface,
                                        on_locked=lambda: self.on_event(SharingEvent("locked")),
                                        hello=self._hello)
        self._announcer.start()
        log.info("Sharing with a trainer nearby on %s", self.interface)
        return self._announcer.pairing_code

    @property
    def pairing_code(self) -> str | None:
        return None if self._announcer is None else self._announcer.pairing_code

    @property
    def port(self) -> int:
        assert self._announcer is not None, "start() first"
        return self._announcer.port

    def peer(self) -> lan.Peer:
        """This sharing as a trainer's laptop sees it (tests, a typed address)."""
        assert self._announcer is not None, "start() first"
        return lan.Peer("", self._announcer.session_id, self.interface, self.port)

    def close(self) -> None:
        """Stop sharing. Idempotent."""
        if self._announcer is not None:
            self._announcer.close()
            self._announcer = None

    def _hello(self, body: bytes) -> bytes:
        certificate, keys, _server = _ready(self.store)
        return seal_local(b"{}", keys, certificate, hello_recipient(body),
                          created_at=parcel_keys.server_now(self.store))

    def _parcel(self) -> bytes:
        with tempfile.TemporaryDirectory(prefix="fieldbook-share-") as folder:
            path = Path(folder) / f"share{parcels.SUFFIX}"
            report = parcels.export_parcel(self.store, path, with_files=self.with_files)
            data = path.read_bytes()
        self.on_event(SharingEvent("collected", report.groups + report.reviews))
        return data

    def _answer(self, data: bytes) -> bytes:
        """Import what was handed over. The reply crosses the network in the
        clear, so it says only whether it worked and, if not, the kind of
        refusal (the trainer's laptop has the words for it): no ids, no counts."""
        try:
            self._import(data)
            result: dict[str, object] = {"ok": True}
        except (FieldbookError, ValueError) as problem:
            message = str(problem) or type(problem).__name__
            log.info("Refused what a laptop nearby handed over: %s", message)
            self.on_event(SharingEvent("refused", detail=message))
            result = {"ok": False, "reason": type(problem).__name__}
        return json.dumps(result).encode()

    def _import(self, data: bytes) -> None:
        kind = peek(data).kind
        if kind == "answer":
            report = parcels.import_answer_data(self.store, data)
            self.on_event(SharingEvent("answer", report.pulled, detail=report.summary()))
            return
        if kind != "local":
            raise NotAParcel(wrong_kind_message(kind))
        added, withdrawn, author = import_local(self.store, data)
        self.on_event(SharingEvent("comments", added, author, withdrawn=withdrawn))


def import_local(store: Store, data: bytes) -> tuple[int, int, str]:
    """Keep a trainer's local parcel: ``(entries added, withdrawn, the
    trainer's name)``. A ``ParcelError`` changes nothing. Decisions count
    only from a trainer or admin (the server checks every rule again later)."""
    _certificate, keys, server = _ready(store)
    _info, sender, payload = open_local(data, keys.agreement, server)
    answer = read_local_answer(payload)
    entries = [e for e in answer["reviews"]
               if e["action"] == "comment" or sender.role in REVIEWER_ROLES]
    added = reviews.add_provisional(store, entries, author_id=int(sender.user), author=sender.name)
    withdrawn = reviews.withdraw_provisional(store, answer["withdrawn"])
    return added, withdrawn, sender.name


def refusal_words(reason: str) -> str:
    """Plain words for a refusal the fellow's laptop named by its type."""
    kind = getattr(app_errors, reason, None) or getattr(sync_errors, reason, None)
    message = getattr(kind, "default_message", None) if isinstance(kind, type) else None
    return str(message) if message else "The other laptop could not use what was handed over."


# --- the trainer's laptop --------------------------------------------------------------


@dataclass
class ExchangeReport:
    """One meeting with a fellow's laptop."""

    fellow: str  # the name in its certificate
    user: str  # its server user id
    collected: str | None = None  # the id of the parcel collected
    answers: int = 0  # server answers handed over and imported there
    reviews: int = 0  # own review entries handed over
    withdrawn: int = 0
    refused: list[str] = field(default_factory=list)  # what the fellow's laptop refused, in its words

    def summary(self) -> str:
        parts = [f"collected {'a parcel' if self.collected else 'nothing'} from {self.fellow}",
                 f"handed {self.answers} answer(s) and {self.reviews} comment(s)"]
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return ", ".join(parts)


@dataclass
class DeliveryRound:
    """The carried parcels delivered at one connection."""

    delivered: int = 0
    refused: list[str] = field(default_factory=list)  # the server's words, per parcel dropped


class Courier:
    """What this laptop carries for laptops it met: see the module's text."""

    def __init__(self, store: Store, folder: Path | None = None) -> None:
        self.store = store
        default = store.path.with_name(store.path.stem + ".carried")
        self.folder = Path(folder) if folder is not None else default
        self.outgoing = self.folder / "outgoing"
        self.answers = self.folder / "answers"
        # One delivery round at a time (after a sync and from the window at
        # once): a second waits, then finds nothing left to deliver.
        self._delivering = threading.Lock()

    def counts(self) -> tuple[int, int]:
        """(parcels to deliver, answers to hand back)."""
        return len(self._files(self.outgoing)), len(self._files(self.answers))

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        return sorted(folder.glob(f"*{parcels.SUFFIX}")) if folder.is_dir() else []

    def _keep(self, folder: Path, name: str, data: bytes) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        parcels.atomic_write(folder / name, lambda out: out.write(data))

    # --- in the room ---

    def exchange(self, peer: lan.Peer, code: str) -> ExchangeReport:
        """Meet one fellow's laptop: learn who it is, collect its parcel, hand
        it the answers carried for it, then this laptop's own review entries
        on its records. Raises ``LanError`` (not reachable, wrong code) or a
        ``ParcelError`` (its hello does not check out) before anything is kept."""
        certificate, keys, server = _ready(self.store)
        secret, public = new_hello_key()
        _info, fellow, _payload = open_local(lan.hello(peer, code, public), secret, server)
        report = ExchangeReport(fellow.name, fellow.user)
        parcel = lan.fetch_parcel(peer, code)
        header = peek(parcel)
        if header.kind != "outgoing":
            raise NotAParcel(wrong_kind_message(header.kind))
        self._keep(self.outgoing, f"{header.parcel_id}{parcels.SUFFIX}", parcel)
        report.collected = header.parcel_id
        for path in self._files(self.answers):
            data = path.read_bytes()
            if sealed_for(data, fellow.keys.agreement):
                self._hand(peer, code, data, path, report)
        local, handed = self._local_answer(fellow)
        if local["reviews"] or local["withdrawn"]:
            sealed = seal_local(json.dumps(local).encode(), keys, certificate, fellow.keys.agreement,
                                created_at=parcel_keys.server_now(self.store))
            if self._hand(peer, code, sealed, None, report):
                report.reviews, report.withdrawn = len(local["reviews"]), len(local["withdrawn"])
                self._handed(fellow.user, handed)
        log.info("Nearby exchange: %s", report.summary())
        return report

    def _hand(self, peer: lan.Peer, code: str, data: bytes, path: Path | None,
              report: ExchangeReport) -> bool:
        try:
            result = json.loads(lan.push_answer(peer, code, data))
            ok = bool(result.get("ok"))
        except (ValueError, AttributeError):
            result, ok = {}, False
        if ok:
            if path is not None:
                path.unlink(missing_ok=True)
                report.answers += 1
            return True
        report.refused.append(refusal_words(str(result.get("reason") or "")))
        if path is not None and result.get("reason") in _DEAD_ANSWER:
            path.unlink(missing_ok=True)  # it can never be used; keeping it helps nobody
        return False

    def _local_answer(self, fellow: DeviceCertificate) -> tuple[LocalAnswer, list[str]]:
        """This laptop's queued entries on the fellow's records, and the ids
        handed before that the server has since refused (gone from the store)."""
        queued = replica.pending_reviews(self.store, limit=_ALL_QUEUED)
        owners = reviews.owners(self.store, [r["record_id"] for r in queued])
        mine = [r for r in queued if str(owners.get(r["record_id"])) == fellow.user][:MAX_PUSH_REVIEWS]
        handed = self._handed_ids()
        earlier = [rid for rid, (user, _at) in handed.items() if user == fellow.user]
        with self.store.reading() as session:
            present = set(session.scalars(select(Review.id).where(Review.id.in_(earlier))))
        withdrawn = [rid for rid in earlier if rid not in present][-MAX_WITHDRAWN:]
        return LocalAnswer(reviews=mine, withdrawn=withdrawn), [r["id"] for r in mine]

    def _handed_ids(self) -> dict[str, tuple[str, str]]:
        with self.store.reading() as session:
            text = session.scalars(select(Meta.value).where(Meta.key == HANDED)).one_or_none()
        try:
            handed = {str(k): (str(v[0]), str(v[1])) for k, v in json.loads(text or "{}").items()}
            for _user, at in handed.values():
                dt.datetime.fromisoformat(at)
        except (ValueError, TypeError, IndexError, AttributeError, KeyError):
            return {}  # damaged: what was handed is forgotten (the server's copies still come)
        return handed

    def _handed(self, user: str, ids: list[str]) -> None:
        """Remember what was handed to ``user`` (to withdraw it if the server
        refuses it), forgetting entries handed long ago."""
        now = utcnow()
        handed = {k: v for k, v in self._handed_ids().items()
                  if now - dt.datetime.fromisoformat(v[1]) < KEEP_HANDED}
        handed.update({rid: (user, now.isoformat()) for rid in ids})
        with self.store.writing() as work:
            work.session.merge(Meta(key=HANDED, value=json.dumps(handed)))

    # --- in town ---

    def deliver_all(self, client: ApiClient) -> DeliveryRound:
        """Deliver every carried parcel; each answer goes to ``answers/`` for
        the next meeting. A parcel the server refuses (expired, foreign) is
        dropped with its reason; a network failure stops the round and keeps
        the rest (raised after what was done is saved)."""
        with self._delivering:
            return self._deliver_all(client)

    def _deliver_all(self, client: ApiClient) -> DeliveryRound:
        result = DeliveryRound()
        self._prune_answers()
        for path in self._files(self.outgoing):
            answer = self.answers / path.name.replace(parcels.SUFFIX, f".answer{parcels.SUFFIX}")
            self.answers.mkdir(parents=True, exist_ok=True)
            try:
                parcels.deliver_parcel(client, path, answer)
            except (RequestRejected, ParcelError) as refused:
                log.warning("A carried parcel was refused and dropped: %s", refused)
                result.refused.append(str(refused))
            else:
                result.delivered += 1
            path.unlink(missing_ok=True)
        return result

    def _prune_answers(self) -> None:
        """Answers not handed back within KEEP_ANSWERS are dropped: the
        fellow has synced some other way by then (answers never expire, so
        a late one would still be safe, only useless)."""
        limit = (utcnow() - KEEP_ANSWERS).timestamp()
        for path in self._files(self.answers):
            if os.stat(path).st_mtime < limit:
                path.unlink(missing_ok=True)
