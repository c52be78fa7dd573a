"""Parcels between two laptops in one room (docs/parcels.md, *In the same room*).

No Qt, no network. In a village with no signal the server cannot vouch for
anyone, so two things travel that it signed earlier or that the sender signs now:

* **Who a laptop is**: a :class:`DeviceCertificate`, the server's Ed25519
  signature over (user, name, role, device id, the device's public parcel
  keys), issued at sign-in and in every answer parcel. A laptop shows it to
  another, which checks it with the server's public key it already holds. A
  key offered over the LAN without one grants nothing.
* **What the trainer decided there**: a *local* parcel (the ``local`` kind of
  ``parcel_format``): sealed for one laptop's X25519 key, signed by the
  sender's device key, the sender's certificate inside the sealed envelope.
  Its payload is a :class:`LocalAnswer`: review entries shown to the fellow
  as "pending server confirmation" (the server applies them later from the
  trainer's own outbox) and the ids of earlier ones the server refused.

The *hello* that starts an exchange is a local parcel too: the trainer sends
a one-time X25519 public key, the fellow answers with a local parcel sealed
for it carrying its certificate. Someone listening on the hotspot learns
neither who the fellow is nor who the trainer is.
"""

from __future__ import annotations

import datetime as dt
import json
from base64 import b64decode, urlsafe_b64encode
from binascii import Error as Base64Error
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from pydantic import Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from app.errors import ParcelForeign, ParcelKeyInvalid, ParcelTampered
from app.protocol.parcel_format import (
    DeviceKeys,
    DevicePublicKeys,
    ParcelInfo,
    ServerKeys,
    ServerPublicKeys,
    new_parcel_id,
    open_parcel,
    ring,
    seal_parcel,
)
from app.protocol.sync import ANSWER, MAX_PUSH_REVIEWS, REQUEST, DeviceName, PushReview, RecordId

CERTIFICATE_VERSION: Final = "fbcert1"
_CERTIFICATE_CONTEXT: Final = b"fieldbook device certificate v1\x00"
_MAX_CERTIFICATE: Final = 4096  # characters: a name of a few hundred characters fits with room
MAX_WITHDRAWN: Final = 1000
HELLO_KEY_BYTES: Final = 32  # the trainer's one-time X25519 public key


@dataclass(frozen=True)
class DeviceCertificate:
    """The server's word that ``keys`` are the parcel keys of ``device_id``
    of user ``user`` (the server's numeric id, as text), called ``name``."""

    user: str
    name: str
    role: str
    device_id: str
    keys: DevicePublicKeys
    issued_at: dt.datetime
    text: str  # as issued: what a laptop keeps and shows to another


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def issue_certificate(server: ServerKeys, *, user: str, name: str, role: str, device_id: str,
                      keys: DevicePublicKeys, issued_at: dt.datetime) -> str:
    """The certificate text the server hands a device with its sign-in and answers."""
    body = json.dumps({"user": user, "name": name, "role": role, "device_id": device_id,
                       "keys": _b64(keys.to_bytes()), "issued_at": issued_at.isoformat()},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    signature = server.signing.sign(_CERTIFICATE_CONTEXT + body)
    return f"{CERTIFICATE_VERSION}.{_b64(body)}.{_b64(signature)}"


def read_certificate(text: str, server_public: ServerPublicKeys | Iterable[ServerPublicKeys]
                     ) -> DeviceCertificate:
    """Check a certificate against the server's public keys (current, and
    from before a rotation). Raises ``ParcelForeign`` if another server (or
    nobody) signed it and ``ParcelTampered`` if it is not a certificate at all."""
    try:
        if not isinstance(text, str) or len(text) > _MAX_CERTIFICATE:
            raise ValueError
        version, body_text, signature_text = text.split(".")
        if version != CERTIFICATE_VERSION:
            raise ValueError
        body, signature = _unb64(body_text), _unb64(signature_text)
    except (ValueError, Base64Error):
        raise ParcelTampered("This laptop's certificate is damaged.") from None
    if not any(_verifies(keys, signature, body) for keys in ring(server_public)):
        raise ParcelForeign("This laptop's certificate was not issued by your server.")
    try:
        fields = json.loads(body)
        return DeviceCertificate(
            str(fields["user"]), str(fields["name"]), str(fields["role"]), str(fields["device_id"]),
            DevicePublicKeys.from_bytes(_unb64(fields["keys"])),
            dt.datetime.fromisoformat(fields["issued_at"]), text)
    except (ValueError, KeyError, TypeError, Base64Error, ParcelKeyInvalid):
        raise ParcelTampered("This laptop's certificate is damaged.") from None


@with_config(REQUEST)
class CertificateRequest(TypedDict):
    """``POST /api/v1/parcels/certificate`` (signed in): a laptop that signed in
    before certificates existed, or whose certificate no longer checks out,
    asks for one at the end of a direct sync."""

    device_id: DeviceName


@with_config(ANSWER)
class CertificateResponse(TypedDict):
    certificate: Annotated[str, Field(max_length=_MAX_CERTIFICATE)]
    server_parcel_keys: Annotated[str, Field(max_length=200, description="base64, as at sign-in")]


CERTIFICATE_REQUEST: Final = TypeAdapter(CertificateRequest)
CERTIFICATE_RESPONSE: Final = TypeAdapter(CertificateResponse)


def _verifies(keys: ServerPublicKeys, signature: bytes, body: bytes) -> bool:
    try:
        keys.signing.verify(signature, _CERTIFICATE_CONTEXT + body)
    except InvalidSignature:
        return False
    return True


# --- local parcels ----------------------------------------------------------------------


@with_config(REQUEST)
class LocalAnswer(TypedDict):
    """What a trainer's laptop hands a fellow's in the room: its own review
    entries on the fellow's records, not yet confirmed by the server (the
    same wire shape the trainer's outbox pushes), and the ids of entries it
    handed earlier that the server has since refused."""

    reviews: Annotated[list[PushReview], Field(max_length=MAX_PUSH_REVIEWS)]
    withdrawn: Annotated[list[RecordId], Field(max_length=MAX_WITHDRAWN)]


LOCAL_ANSWER: Final = TypeAdapter(LocalAnswer)


def _recipient_fingerprint(recipient: X25519PublicKey) -> str:
    return DevicePublicKeys(Ed25519PublicKey.from_public_bytes(bytes(32)), recipient).fingerprint()


def seal_local(payload: bytes, sender: DeviceKeys, certificate: DeviceCertificate,
               recipient: X25519PublicKey, *, created_at: dt.datetime) -> bytes:
    """A local parcel from this device (``certificate`` is its own) for the
    laptop holding ``recipient``'s secret."""
    if certificate.keys != sender.public():
        raise ValueError("the certificate is not for the sending device's keys")
    envelope: dict[str, Any] = {
        "user": certificate.user, "device_id": certificate.device_id, "signer": sender.public().fingerprint(),
        "certificate": certificate.text, "recipient": _recipient_fingerprint(recipient),
        "created_at": created_at.astimezone(dt.UTC).isoformat(), "expires_at": None,
    }
    return seal_parcel("local", payload, recipient, sender.signing, envelope, parcel_id=new_parcel_id())


def open_local(data: bytes, agreement: X25519PrivateKey,
               server_public: ServerPublicKeys | Iterable[ServerPublicKeys]
               ) -> tuple[ParcelInfo, DeviceCertificate, bytes]:
    """Open a local parcel sealed for ``agreement``: (facts, the sender's
    checked certificate, the payload). Raises a ``ParcelError`` on any fault:
    damaged, for someone else, or signed by a key the server did not certify."""
    checked: list[DeviceCertificate] = []

    def signer_of(envelope: dict[str, Any]) -> Ed25519PublicKey:
        if envelope.get("recipient") != _recipient_fingerprint(agreement.public_key()):
            raise ParcelForeign("This parcel is for another laptop.")
        certificate = read_certificate(envelope.get("certificate"), server_public)  # type: ignore[arg-type]
        if (certificate.user, certificate.device_id) != (envelope["user"], envelope["device_id"]) \
                or envelope.get("signer") != certificate.keys.fingerprint():
            raise ParcelForeign("This parcel was signed by a key its certificate does not name.")
        checked.append(certificate)
        return certificate.keys.signing

    info, _envelope, payload = open_parcel(data, "local", agreement, signer_of)
    return info, checked[0], payload


def read_local_answer(payload: bytes) -> LocalAnswer:
    """The payload of a trainer's local parcel, checked like a push request."""
    try:
        return LOCAL_ANSWER.validate_json(payload)
    except ValueError:
        raise ParcelTampered("The trainer's comments in this parcel are not readable.") from None


def new_hello_key() -> tuple[X25519PrivateKey, bytes]:
    """The one-time key a trainer's laptop opens the fellow's hello with."""
    secret = X25519PrivateKey.generate()
    return secret, secret.public_key().public_bytes_raw()


def hello_recipient(body: bytes) -> X25519PublicKey:
    """The trainer's one-time key from a hello request's body."""
    if len(body) != HELLO_KEY_BYTES:
        raise ParcelTampered("This is not a Fieldbook hello.")
    try:
        return X25519PublicKey.from_public_bytes(body)
    except ValueError:
        raise ParcelTampered("This is not a Fieldbook hello.") from None


__all__ = [
    "CERTIFICATE_REQUEST",
    "CERTIFICATE_RESPONSE",
    "LOCAL_ANSWER",
    "MAX_WITHDRAWN",
    "CertificateRequest",
    "CertificateResponse",
    "DeviceCertificate",
    "LocalAnswer",
    "hello_recipient",
    "issue_certificate",
    "new_hello_key",
    "open_local",
    "read_certificate",
    "read_local_answer",
    "seal_local",
]
