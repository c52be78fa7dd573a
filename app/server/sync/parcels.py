"""Delivering a sync parcel (docs/parcels.md "Delivery"): open it, apply its
pushes and answer its pull as that user and device, every rule as in a
direct request, and seal the answer for that device alone.

The courier needs no account: the parcel authenticates itself (signed by a
device key registered at sign-in, sealed for this server). A parcel is
applied once: ``delivered_parcels`` keeps its push answers until it
expires, and a second delivery re-uses them (its pushes would be replays
below the device's high-water mark anyway) with fresh pull pages.

The HTTP side is ``app/server/routers/parcels.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import shutil
import tempfile
from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import (
    NotAParcel,
    ParcelError,
    ParcelExpired,
    ParcelForeign,
    ParcelKeyInvalid,
    ParcelTooLarge,
    ParcelTooNew,
)
from app.protocol.blobs import ALLOWED_TYPES
from app.protocol.parcel_format import (
    AnswerPayload,
    AttachmentInfo,
    DevicePublicKeys,
    ParcelInfo,
    ServerKeys,
    new_parcel_id,
    read_outgoing,
    seal_answer,
    sealed_for,
)
from app.protocol.peer_parcels import CertificateResponse, issue_certificate
from app.protocol.sync import (
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)
from app.server import blob_store, uploads
from app.server.config import Settings
from app.server.errors import ApiError
from app.server.sync.batch import dialect_insert
from app.server.sync.pull import pull
from app.server.sync.push import DeviceRolledBack, PushGap, push
from app.server.sync.requests import PULL_REQUEST, PUSH_REQUEST, check_order, check_protocol
from app.server.tables import DeliveredParcel, Device, DeviceKeys, User

log = logging.getLogger("fieldbook.server")
_Request = TypeVar("_Request")

# A parcel's pull is followed to its end on the server (the laptop cannot
# ask again): at most this many pages, each bounded as a direct pull's.
MAX_ANSWER_PAGES: Final = 2000
# A delivered parcel is remembered until it expires, and never longer than
# this (a parcel claiming a far expiry would keep its row for ever; its
# pushes are replays by then anyway).
MAX_KEPT: Final = dt.timedelta(days=60)
MAX_PUSHES: Final = 10_000

# Refusals: (HTTP status, code) for each kind of parcel fault.
_REFUSALS: Final[dict[type[ParcelError], tuple[int, str]]] = {
    NotAParcel: (400, "not_a_parcel"),
    ParcelTooNew: (400, "parcel_too_new"),
    ParcelForeign: (403, "parcel_foreign"),
    ParcelExpired: (410, "parcel_expired"),
    ParcelTooLarge: (413, "parcel_too_large"),
}


def refusal(exc: ParcelError) -> ApiError:
    """The 4xx answer for a parcel the format refused (its own message)."""
    for kind, (status, code) in _REFUSALS.items():
        if isinstance(exc, kind):
            return ApiError(status, code, exc.message)
    code = {"ParcelTruncated": "parcel_truncated", "ParcelTampered": "parcel_tampered"}.get(
        type(exc).__name__, "parcel_refused")
    return ApiError(400, code, exc.message)


@dataclass(frozen=True)
class Delivery:
    answer: bytes  # the answer parcel
    info: ParcelInfo
    again: bool  # delivered before: the stored push answers were re-used


def _renewed_lookup(session: Session) -> Any:
    """``(user, signer fingerprint) -> keys`` registered for that user under
    another device id: a store that became a new device signs with the keys
    it had (``renew_device_id`` keeps them). Only for a device id with no
    changes on the server yet (a new one): an old parcel of the id before,
    delivered late, does not move the keys back."""
    def lookup(user: str, device_id: str, fingerprint: str) -> DevicePublicKeys | None:
        if not user.isdigit() or len(user) > 12:
            return None
        if session.get(Device, (int(user), device_id)) is not None:
            return None
        for text in session.scalars(select(DeviceKeys.keys).where(DeviceKeys.user_id == int(user))):
            try:
                keys = DevicePublicKeys.from_bytes(b64decode(text, validate=True))
            except (Base64Error, ValueError, ParcelKeyInvalid):
                continue
            if keys.fingerprint() == fingerprint:
                return keys
        return None
    return lookup


def _renewed_keys(session: Session, info: ParcelInfo) -> str | None:
    """The registered keys (as stored) an opened parcel was signed with, when
    its device id is not the one they are registered under; else None."""
    if _lookup(session)(info.user, info.device_id) is not None:
        return None
    signer = _renewed_lookup(session)(info.user, info.device_id, info.signer)
    return None if signer is None else b64encode(signer.to_bytes()).decode("ascii")


def _lookup(session: Session) -> Any:
    def lookup(user: str, device_id: str) -> DevicePublicKeys | None:
        if not user.isdigit() or len(user) > 12:
            return None
        text = session.scalars(
            select(DeviceKeys.keys).where(DeviceKeys.user_id == int(user), DeviceKeys.device_id == device_id)
        ).one_or_none()
        if text is None:
            return None
        try:
            return DevicePublicKeys.from_bytes(b64decode(text, validate=True))
        except (Base64Error, ValueError, ParcelKeyInvalid):
            return None
    return lookup


_TOO_OLD: Final = "The Fieldbook that made this parcel is too old for this server."


def _bad(message: str) -> ApiError:
    return ApiError(422, "invalid_parcel_payload", message)


def _checked(adapter: TypeAdapter[_Request], raw: Any, what: str) -> _Request:
    """``raw`` as the protocol's message, by the same validator as a direct request."""
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        raise _bad(f"{what} in this parcel is not valid: {exc.errors()[0]['msg']}.") from None


def _push_request(raw: Any, device_id: str) -> PushRequest:
    """One push of the parcel, checked as a direct push is."""
    request = _checked(PUSH_REQUEST, raw, "A push")
    check_protocol(request["protocol"], _TOO_OLD)
    if request["device_id"] != device_id:
        raise _bad("A push in this parcel names another device than the one that signed it.")
    check_order(request["changes"])
    return request


def _pull_request(raw: Any, device_id: str) -> PullRequest:
    request = _checked(PULL_REQUEST, raw, "The pull request")
    check_protocol(request["protocol"], _TOO_OLD)
    if request.get("device_id", device_id) != device_id:
        raise _bad("The pull request in this parcel names another device than the one that signed it.")
    request["device_id"] = device_id
    return request


def _payload(data: bytes, device_id: str) -> tuple[list[PushRequest], PullRequest, list[dict[str, Any]]]:
    """The parcel's pushes, pull and attachment types, all checked before
    anything is applied (a bad part refuses the parcel whole)."""
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _bad("This parcel's contents are not readable.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("push"), list) \
            or len(payload["push"]) > MAX_PUSHES or not isinstance(payload.get("pull"), dict):
        raise _bad("This parcel's contents are not a sync request.")
    pushes = [_push_request(raw, device_id) for raw in payload["push"]]
    files = payload.get("attachments") or []
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise _bad("This parcel's list of files is not valid.")
    return pushes, _pull_request(payload["pull"], device_id), files


def _user(session: Session, info: ParcelInfo) -> User:
    """The parcel's user, reloaded: a deactivated account is refused now,
    whatever parcels it made before."""
    user = session.get(User, int(info.user)) if info.user.isdigit() else None
    if user is None or not user.active:
        raise ApiError(403, "account_disabled", "The account that made this parcel has been disabled.")
    return user


def _run_pushes(session: Session, user: User, device_id: str,
                pushes: list[PushRequest]) -> tuple[list[PushResponse], dict[str, Any] | None]:
    """Each push in order, as direct pushes: each all or nothing in its own
    transaction. A refusal of one (the device's store is older than what
    it pushed) stops there and is told in the answer: what came before it
    stays applied, as in a direct sync."""
    answers: list[PushResponse] = []
    for request in pushes:
        try:
            answers.append(push(session, user, request))
        except DeviceRolledBack:
            return answers, {"code": "device_rolled_back",
                             "message": "This laptop's data is older than what it sent before: "
                                        "its changes go again as a new device."}
        except PushGap as gap:
            return answers, {"code": "push_gap", "message": f"The server holds this device's changes "
                                                            f"only up to {gap.last_seq}."}
    return answers, None


def _pull_pages(session: Session, user: User, request: PullRequest) -> list[PullResponse]:
    """Every page from the parcel's cursor until ``more`` is false, the
    resume token followed here as the laptop would."""
    pages: list[PullResponse] = []
    current = dict(request)
    for _ in range(MAX_ANSWER_PAGES):
        page = pull(session, user, cast(PullRequest, current))
        pages.append(page)
        if not page["more"]:
            return pages
        current = {**current, "cursor": page["cursor"], "scope": page["scope"]}
        if page.get("resume"):
            current["resume"] = page["resume"]
        else:
            current.pop("resume", None)
        if page.get("people_hash"):
            current["people_hash"] = page["people_hash"]
    log.warning("Parcel answer for user %s stopped after %d pages", user.id, MAX_ANSWER_PAGES)
    return pages


def _confirmed_seq(pushes: list[PushRequest], answers: list[PushResponse]) -> int:
    """The highest seq of this device the answers confirm to the laptop."""
    top = 0
    for request, answer in zip(pushes, answers, strict=False):
        if request["changes"]:
            top = max(top, min(answer["last_seq"], max(c["seq"] for c in request["changes"])))
    return top


class _Staging:
    """Attachment chunks as the parcel is read, kept in a temporary folder
    and used only once the whole parcel has opened (signature checked)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="parcel-", dir=root))

    def path(self, sha256: str) -> Path:
        return self.folder / sha256

    def save(self, info: AttachmentInfo, data: bytes) -> None:
        with self.path(info.sha256).open("ab") as out:
            out.write(data)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _store_files(session: Session, settings: Settings, user: User, info: ParcelInfo,
                 staging: _Staging, types: list[dict[str, Any]]) -> dict[str, str]:
    """Keep the parcel's files as uploads of its user (they carried the
    bytes, so they hold them). Returns sha -> "stored" or the reason one was
    refused (type, size, quota): the laptop sends that one again later."""
    type_of = {str(t.get("sha256")): str(t.get("type")) for t in types}
    outcome: dict[str, str] = {}
    for item in info.attachments:
        media_type = type_of.get(item.sha256, "")
        if media_type not in ALLOWED_TYPES:
            outcome[item.sha256] = "This kind of file is not accepted."
            continue
        if item.size < 1 or item.size > settings.max_file_bytes:
            outcome[item.sha256] = "This file is larger than the server accepts."
            continue
        piece = uploads.Piece(item.sha256, item.size, media_type, 0)
        try:
            uploads.discard(session, settings, user.id, item.sha256)
            done = uploads.begin_upload(session, settings, user, piece)
            if done is None:
                partial = blob_store.partial_path(settings, user.id, item.sha256)
                partial.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staging.path(item.sha256), partial)
                uploads.record_offset(session, settings, user.id, item.sha256, item.size)
                uploads.finish_upload(session, settings, user, piece)
            outcome[item.sha256] = "stored"
        except ApiError as exc:
            session.rollback()
            outcome[item.sha256] = exc.message
        except OSError as exc:
            session.rollback()
            log.warning("Parcel %s: cannot store file %s: %s", info.parcel_id, item.sha256, exc)
            outcome[item.sha256] = "The server could not store this file now."
    return outcome


def device_certificate(settings: Settings, user: User, device_id: str, keys: DevicePublicKeys) -> str:
    """The server's word that ``keys`` are ``device_id`` of ``user``: what a
    laptop shows another in the room (app/protocol/peer_parcels.py). Issued
    with every sign-in that registers keys and every answer parcel, so the
    name and role in it are at most one contact old."""
    return issue_certificate(settings.server_keys(), user=str(user.id),
                             name=user.display_name or user.username, role=user.role,
                             device_id=device_id, keys=keys, issued_at=settings.now())


def register_device_keys(session: Session, settings: Settings, user: User, device_id: str, keys: str) -> None:
    """Keep ``keys`` for (user, device): the parcels of that device are
    checked with them. The same keys under another device id of this user
    are that store before it became a new device (``renew_device_id``): they
    are dropped, so a parcel of the old id is refused. The caller commits."""
    session.execute(delete(DeviceKeys).where(DeviceKeys.user_id == user.id, DeviceKeys.keys == keys,
                                             DeviceKeys.device_id != device_id))
    session.execute(
        dialect_insert(session)(DeviceKeys)
        .values(user_id=user.id, device_id=device_id, keys=keys, registered_at=settings.now())
        .on_conflict_do_update(index_elements=["user_id", "device_id"],
                               set_={"keys": keys, "registered_at": settings.now()})
    )


def _sealed_with(settings: Settings, data: bytes) -> ServerKeys:
    """The server's keys (current or from before the last rotation) whose
    hint the parcel carries; the current ones if none (then refused as foreign)."""
    ring = settings.parcel_key_ring()
    return next((keys for keys in ring if sealed_for(data, keys.public().agreement)), ring[0])


def certificate_for(session: Session, settings: Settings, user: User, device_id: str) -> CertificateResponse:
    """A certificate of ``device_id``'s keys as registered for ``user`` (only
    the user's own devices: another's id is 404, like one never registered)."""
    keys = _lookup(session)(str(user.id), device_id)
    session.rollback()
    if keys is None:
        raise ApiError(404, "parcel_keys_not_registered",
                       "This device's parcel keys are not registered: sign in again with a connection.")
    return CertificateResponse(
        certificate=device_certificate(settings, user, device_id, keys),
        server_parcel_keys=b64encode(settings.server_keys().public().to_bytes()).decode("ascii"))


def deliver(session: Session, settings: Settings, data: bytes) -> Delivery:
    """Open, apply and answer one outgoing parcel (see the module's text).
    Raises ``ApiError``: a refused parcel changes nothing."""
    now = settings.now()
    staging = _Staging(settings.blob_root / "parcels")
    keys = _sealed_with(settings, data)
    try:
        try:
            info, payload = read_outgoing(io.BytesIO(data), keys, _lookup(session), now=now,
                                          save_attachment=staging.save,
                                          renewed_lookup=_renewed_lookup(session))
            renewed = _renewed_keys(session, info)
        except ParcelError as exc:
            log.info("Parcel refused: %s", type(exc).__name__)
            raise refusal(exc) from None
        finally:
            session.rollback()  # (the key lookups' read transaction)
        user = _user(session, info)
        device_id = info.device_id
        pushes, pull_request, types = _payload(payload, device_id)
        if renewed is not None:  # the store became a new device: its keys move to the new id
            register_device_keys(session, settings, user, device_id, renewed)
            log.info("Parcel keys of user %s moved to new device %s", user.id, device_id)
        session.execute(delete(DeliveredParcel).where(DeliveredParcel.expires_at < now))
        session.commit()
        stored = session.get(DeliveredParcel, info.parcel_id)
        if stored is not None and (stored.user_id, stored.device_id) != (user.id, device_id):
            # (Ids are random: only a forged copy could collide, and it cannot be signed.)
            raise ApiError(409, "parcel_id_taken", "Another parcel with this id was delivered.")
        again = stored is not None
        if stored is not None:
            kept = dict(stored.push_responses)
            answers = cast(list[PushResponse], kept["push"])
            error, files = kept.get("error"), kept.get("attachments") or {}
        else:
            answers, error = _run_pushes(session, user, device_id, pushes)
            files = _store_files(session, settings, user, info, staging, types) if info.attachments else {}
            session.add(DeliveredParcel(
                parcel_id=info.parcel_id, user_id=user.id, device_id=device_id,
                push_responses={"push": answers, "error": error, "attachments": files},
                expires_at=min(info.expires_at or now, now + MAX_KEPT),
            ))
            try:
                session.commit()
            except IntegrityError:  # the same parcel delivered at the same moment: ours were replays
                session.rollback()
                again = True
                winner = session.get(DeliveredParcel, info.parcel_id)
                if winner is not None:
                    answers, error = winner.push_responses["push"], winner.push_responses.get("error")
        user = _user(session, info)
        if error is None:
            confirmed = _confirmed_seq(pushes, answers)
            if confirmed > int(pull_request.get("pushed_seq") or 0):
                # What the laptop will know confirmed once it has the answer:
                # its own writes need not come back to it.
                pull_request["pushed_seq"] = confirmed
        pages = _pull_pages(session, user, pull_request)
        answer: AnswerPayload = {"push": answers, "pull": pages}
        extra: dict[str, Any] = {}
        if error is not None:
            extra["push_error"] = error
        if files:
            extra["attachments"] = files
        device = _lookup(session)(info.user, device_id)
        session.rollback()
        if device is None:  # signed out between the opening and now
            raise refusal(ParcelForeign("This parcel's device signed out while it was delivered."))
        extra["certificate"] = device_certificate(settings, user, device_id, device)
        extra["server_keys"] = b64encode(settings.server_keys().public().to_bytes()).decode("ascii")
        body = json.dumps({**answer, **extra}, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
        # Signed with the keys the laptop sealed for: those are the ones it knows.
        sealed = seal_answer(body, keys, device, parcel_id=new_parcel_id(),
                             reply_to=info.parcel_id, user=info.user, device_id=device_id,
                             created_at=settings.now())
        log.info("Parcel %s of user %s device %s delivered%s: %d push(es), %d page(s), %d bytes back",
                 info.parcel_id, user.id, device_id, " again" if again else "", len(answers), len(pages),
                 len(sealed))
        return Delivery(sealed, info, again)
    finally:
        staging.close()
