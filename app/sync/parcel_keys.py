"""What a store keeps for sync parcels (docs/parcels.md): its own parcel
keys, the server's public keys and clock as last seen, and which device id
the server registered the keys for. All in the store's ``meta`` through its
public units of work; no Qt, no network.

The device secret is as sensitive as the refresh token: anyone with it can
make parcels as this device until the server drops the key (sign-out does).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from base64 import b64decode, b64encode
from binascii import Error as Base64Error

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import ParcelError, ParcelKeyInvalid
from app.models.orm import Meta, utcnow
from app.models.store import Store
from app.protocol.parcel_format import DeviceKeys, ServerPublicKeys
from app.protocol.peer_parcels import DeviceCertificate, read_certificate

log = logging.getLogger("fieldbook.sync")

DEVICE_KEYS = "parcel_device_keys"  # base64 of DeviceKeys.to_bytes(): the secret
SERVER_KEYS = "parcel_server_keys"  # base64 of ServerPublicKeys.to_bytes()
SERVER_KEYS_PREVIOUS = "parcel_server_keys_previous"  # the ones before the server rotated them
REGISTERED_DEVICE = "parcel_keys_device"  # the device id the server registered the keys for
CERTIFICATE = "parcel_certificate"  # the server's certificate of this device's keys (peer_parcels)
CLOCK_OFFSET = "server_clock_offset"  # seconds: the server's clock minus this laptop's, as last seen


def _get(store: Store, key: str) -> str | None:
    with store.reading() as session:
        return session.scalars(select(Meta.value).where(Meta.key == key)).one_or_none()


def device_keys(store: Store) -> DeviceKeys:
    """The store's parcel keys, made (and kept) on first use."""
    with store.writing() as work:
        row = work.session.get(Meta, DEVICE_KEYS)
        if row is not None:
            try:
                return DeviceKeys.from_bytes(b64decode(row.value, validate=True))
            except (Base64Error, ValueError, ParcelKeyInvalid):
                pass  # damaged: new keys, registered at the next sign-in
        keys = DeviceKeys.generate()
        work.session.merge(Meta(key=DEVICE_KEYS, value=b64encode(keys.to_bytes()).decode("ascii")))
        _set(work.session, {REGISTERED_DEVICE: None})
        return keys


def public_keys_text(store: Store) -> str:
    """What sign-in sends: base64 of the public half of :func:`device_keys`."""
    return b64encode(device_keys(store).public().to_bytes()).decode("ascii")


def _keys(text: str | None) -> ServerPublicKeys | None:
    if not text:
        return None
    try:
        return ServerPublicKeys.from_bytes(b64decode(text, validate=True))
    except (Base64Error, ValueError, ParcelKeyInvalid):
        return None


def server_public(store: Store) -> ServerPublicKeys | None:
    """The server's current public parcel keys as last heard, or None."""
    return _keys(_get(store, SERVER_KEYS))


def server_key_ring(store: Store) -> tuple[ServerPublicKeys, ...]:
    """The server's public keys this laptop trusts: the current ones, then
    the ones before the server's last rotation (an answer to a parcel sealed
    for them is signed with them; a laptop met in the room may not have
    heard of the new ones yet)."""
    found = (_keys(_get(store, SERVER_KEYS)), _keys(_get(store, SERVER_KEYS_PREVIOUS)))
    return tuple(keys for keys in found if keys is not None)


def _server_keys_values(session: Session, text: str) -> dict[str, str | None]:
    """What to store when the server says its keys are ``text``: a change
    moves the current ones to previous."""
    current = session.scalars(select(Meta.value).where(Meta.key == SERVER_KEYS)).one_or_none()
    if current == text:
        return {}
    return {SERVER_KEYS: text, SERVER_KEYS_PREVIOUS: current}


def registered_device(store: Store) -> str | None:
    """The device id the server holds this store's keys for (None: not registered)."""
    return _get(store, REGISTERED_DEVICE) or None


def remember_sign_in(store: Store, *, server_keys: str | None, server_time: str | None,
                     registered_for: str | None, certificate: str | None = None) -> None:
    """Keep what a sign-in answer said for parcels: the server's public
    keys, its clock, whether this device's keys were registered, and the
    server's certificate of them."""
    values: dict[str, str | None] = {REGISTERED_DEVICE: registered_for, CERTIFICATE: None}
    with store.writing() as work:
        if server_keys is not None and _keys(server_keys) is not None:
            values.update(_server_keys_values(work.session, server_keys))
        elif server_keys is not None:
            values.update({SERVER_KEYS: None, SERVER_KEYS_PREVIOUS: None})
        _set(work.session, values)
    if server_time:
        with contextlib.suppress(ValueError):
            seen_server_time(store, dt.datetime.fromisoformat(server_time))
    if certificate is not None:
        remember_certificate(store, certificate)


def remember_server_keys(store: Store, text: object) -> bool:
    """The server's public parcel keys as it says now (a signed-in answer, or
    inside an answer parcel it signed): parcels are sealed for them from now
    on, and the ones before are kept as previous. Returns whether they changed."""
    if not isinstance(text, str) or _keys(text) is None or _get(store, SERVER_KEYS) == text:
        return False
    with store.writing() as work:
        values = _server_keys_values(work.session, text)
        _set(work.session, values)
    if values:
        log.info("The server's parcel keys changed; parcels are sealed for the new ones")
    return bool(values)


def _checked_certificate(store: Store, text: str, *, current_only: bool = False) -> DeviceCertificate | None:
    """``text`` read with the server's key, if it certifies this store's
    current keys and device id (a renewed device id voids it)."""
    known = server_key_ring(store)[:1] if current_only else server_key_ring(store)
    if not known:
        return None
    try:
        found = read_certificate(text, known)
    except ParcelError:
        return None
    if found.device_id != store.device_id or found.keys != device_keys(store).public():
        return None
    return found


def remember_certificate(store: Store, text: object) -> bool:
    """Keep the server's certificate of this device (from a sign-in or an
    answer parcel) if it checks out; a newer one replaces the old."""
    if not isinstance(text, str) or _checked_certificate(store, text) is None:
        return False
    with store.writing() as work:  # (it names this device id: the keys are registered for it)
        _set(work.session, {CERTIFICATE: text, REGISTERED_DEVICE: store.device_id})
    return True


def certificate(store: Store, *, current_only: bool = False) -> DeviceCertificate | None:
    """What this laptop shows another in the room, or None (sign in once
    with a connection, or import an answer, to get one). ``current_only``:
    only one signed with the server's current keys (else a new one is due)."""
    text = _get(store, CERTIFICATE)
    return None if not text else _checked_certificate(store, text, current_only=current_only)


def seen_server_time(store: Store, when: dt.datetime) -> None:
    """The server's clock said ``when`` just now (a sign-in, an answer's
    ``created_at``): keep how far this laptop's clock is from it."""
    if when.tzinfo is None:
        return
    offset = (when - utcnow()).total_seconds()
    with store.writing() as work:
        _set(work.session, {CLOCK_OFFSET: repr(offset)})


def server_now(store: Store) -> dt.datetime:
    """The server's clock now, as far as this laptop can tell: its own clock
    plus the offset last seen (a laptop a year off still gets it right, as
    long as its clock was not changed since)."""
    text = _get(store, CLOCK_OFFSET)
    try:
        offset = float(text) if text else 0.0
    except ValueError:
        offset = 0.0
    return utcnow() + dt.timedelta(seconds=offset)


def forget_registration(store: Store) -> None:
    """After a sign-out: the server dropped this device's key."""
    with store.writing() as work:
        _set(work.session, {REGISTERED_DEVICE: None, CERTIFICATE: None})


def _set(session: Session, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            session.execute(delete(Meta).where(Meta.key == key))
        else:
            session.merge(Meta(key=key, value=value))
