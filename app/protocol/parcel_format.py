"""Sync parcels: the file a laptop with no signal hands to a courier.

An *outgoing* parcel holds what the laptop would push now and the cursor it
would pull from, signed with the device's key and encrypted for the server;
the *answer* parcel holds what the server would have answered, signed by the
server and encrypted for that device. The courier carries bytes it can
neither read nor change. The format, the threat model and how sync will use
it: docs/parcels.md. No Qt, no network: the CLI, the server and the engine
build on these functions.

Layout (all integers big-endian)::

    header   magic(8) version(2) kind(1) flags(1) parcel_id(16)
             ephemeral_x25519(32) recipient_hint(8) body_length(8)
    body     chunks: length(4) + ChaCha20-Poly1305 ciphertext of
             section_type(1) + data; nonce = chunk index(8) + final(1) + 0(3);
             associated data = the header
             ENVELOPE (JSON: who, for whom, when, what follows)
             PAYLOAD x n (gzip of the caller's JSON, CHUNK_BYTES a chunk)
             ATTACHMENT x m (each file's bytes in order, CHUNK_BYTES a chunk)
             SIGNATURE (final): Ed25519 over the SHA-256 of all bytes before it

The key of a parcel comes from X25519 between a fresh ephemeral key and the
recipient's static key, through HKDF-SHA256, so only the recipient can read
it, and no two parcels share a key (the counter nonces never repeat).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import struct
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, TypedDict

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import (
    NotAParcel,
    ParcelError,
    ParcelExpired,
    ParcelForeign,
    ParcelKeyInvalid,
    ParcelTampered,
    ParcelTooLarge,
    ParcelTooNew,
    ParcelTruncated,
)
from app.protocol.sync import PullRequest, PullResponse, PushRequest, PushResponse


class ByteSource(Protocol):
    """Where a parcel or an attachment is read from: a file, a socket's
    stream, ``io.BytesIO``. A read may return fewer bytes than asked."""

    def read(self, size: int, /) -> bytes: ...


class ByteSink(Protocol):
    """Where a parcel is written: a file on the stick, a response body."""

    def write(self, data: bytes, /) -> object: ...

MAGIC: Final = b"\x89FBPARC\n"  # a high byte and a newline: text-mode copies break it at once
FORMAT_VERSION: Final = 1
CHUNK_BYTES: Final = 64 * 1024  # plaintext per chunk: memory bound for reading and writing
MAX_ATTACHMENTS: Final = 400  # listed in the one-chunk envelope; more go in the next parcel
MAX_PAYLOAD_INFLATED: Final = 256 * 1024 * 1024  # default bound on the inflated payload

# ``local``: between two laptops in one room (app/protocol/peer_parcels.py),
# sealed for a laptop and signed by another whose key the server certified.
Kind = Literal["outgoing", "answer", "local"]
_KIND_CODES: Final[dict[Kind, int]] = {"outgoing": 1, "answer": 2, "local": 3}
_KIND_NAMES: Final[dict[int, Kind]] = {code: name for name, code in _KIND_CODES.items()}

_HEADER = struct.Struct(">8sHBB16s32s8sQ")
HEADER_BYTES: Final = _HEADER.size
_FRAME = struct.Struct(">I")
_TAG_BYTES: Final = 16
_MAX_CHUNK_CIPHERTEXT: Final = 1 + CHUNK_BYTES + _TAG_BYTES

_ENVELOPE, _PAYLOAD, _ATTACHMENT, _SIGNATURE = 1, 2, 3, 0x7F
_SIGNATURE_BYTES: Final = 64
_SIGNATURE_CONTEXT: Final = b"fieldbook parcel signature v1\x00"
_HKDF_INFO: Final = b"fieldbook parcel key v1"
_HINT_CONTEXT: Final = b"fieldbook parcel recipient v1"
_FINGERPRINT_CONTEXT: Final = b"fieldbook parcel public key v1"

_KEY_VERSION: Final = 1
_DEVICE_TAG, _SERVER_TAG = b"D", b"S"
_KEY_BYTES: Final = 2 + 32 + 32


# --- keys ----------------------------------------------------------------------------


def _raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class _PublicPair:
    """The public half of an identity: verify its signatures, seal for it."""

    signing: Ed25519PublicKey
    agreement: X25519PublicKey

    _tag = b"?"

    def to_bytes(self) -> bytes:
        """66 bytes: tag, version, Ed25519 public, X25519 public (what the
        server registers at sign-in, or the client keeps of the server)."""
        return self._tag + bytes([_KEY_VERSION]) + _raw_public(self.signing) + _raw_public(self.agreement)

    @classmethod
    def _parts(cls, data: bytes) -> tuple[bytes, bytes]:
        if len(data) != _KEY_BYTES or data[:1] != cls._tag or data[1] != _KEY_VERSION:
            raise ParcelKeyInvalid()
        return data[2:34], data[34:]

    def fingerprint(self) -> str:
        """128 bits of SHA-256 over both public keys, in hex: names the key
        inside envelopes (enough against collisions, lean on the wire)."""
        return hashlib.sha256(_FINGERPRINT_CONTEXT + self.to_bytes()).hexdigest()[:32]


@dataclass(frozen=True)
class DevicePublicKeys(_PublicPair):
    """A device's public keys as the server registers them at sign-in."""

    _tag = _DEVICE_TAG

    @classmethod
    def from_bytes(cls, data: bytes) -> DevicePublicKeys:
        signing, agreement = cls._parts(data)
        return cls(Ed25519PublicKey.from_public_bytes(signing), X25519PublicKey.from_public_bytes(agreement))


@dataclass(frozen=True)
class ServerPublicKeys(_PublicPair):
    """The server's parcel keys as every client keeps them after sign-in."""

    _tag = _SERVER_TAG

    @classmethod
    def from_bytes(cls, data: bytes) -> ServerPublicKeys:
        signing, agreement = cls._parts(data)
        return cls(Ed25519PublicKey.from_public_bytes(signing), X25519PublicKey.from_public_bytes(agreement))


@dataclass(frozen=True)
class _PrivatePair:
    """Ed25519 to sign what it sends, X25519 to open what is sealed for it."""

    signing: Ed25519PrivateKey
    agreement: X25519PrivateKey

    _tag = b"?"

    def to_bytes(self) -> bytes:
        """66 bytes of secret: tag, version, Ed25519 seed, X25519 scalar. The
        store (or the server, beside its secret) keeps them; never a courier."""
        return self._tag + bytes([_KEY_VERSION]) + _raw_private(self.signing) + _raw_private(self.agreement)

    @classmethod
    def _keys(cls, data: bytes) -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
        if len(data) != _KEY_BYTES or data[:1] != cls._tag or data[1] != _KEY_VERSION:
            raise ParcelKeyInvalid()
        signing, agreement = data[2:34], data[34:]
        return Ed25519PrivateKey.from_private_bytes(signing), X25519PrivateKey.from_private_bytes(agreement)

    def _public_pair(self) -> tuple[Ed25519PublicKey, X25519PublicKey]:
        return self.signing.public_key(), self.agreement.public_key()


@dataclass(frozen=True)
class DeviceKeys(_PrivatePair):
    """A device's parcel identity, made once per store."""

    _tag = _DEVICE_TAG

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceKeys:
        return cls(*cls._keys(data))

    def public(self) -> DevicePublicKeys:
        return DevicePublicKeys(*self._public_pair())


@dataclass(frozen=True)
class ServerKeys(_PrivatePair):
    """The server's parcel identity, kept beside its token secret."""

    _tag = _SERVER_TAG

    @classmethod
    def generate(cls) -> ServerKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, data: bytes) -> ServerKeys:
        return cls(*cls._keys(data))

    def public(self) -> ServerPublicKeys:
        return ServerPublicKeys(*self._public_pair())


# --- what a parcel says ------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelHeader:
    """What anyone holding the file can read: enough to name and route it."""

    kind: Kind
    parcel_id: str
    body_length: int

    @property
    def size(self) -> int:
        return HEADER_BYTES + self.body_length


@dataclass(frozen=True)
class AttachmentInfo:
    """A file carried in the parcel, by its content address."""

    sha256: str
    size: int


@dataclass(frozen=True)
class AttachmentSource(AttachmentInfo):
    """A file to append: opened only while it is written into the parcel."""

    open: Callable[[], AbstractContextManager[ByteSource]] = field(compare=False, repr=False)


@dataclass(frozen=True)
class ParcelInfo:
    """An opened parcel's authenticated facts (from the header and the
    sealed envelope). ``parcel_id`` is what the server deduplicates by;
    ``reply_to`` is the outgoing parcel an answer answers."""

    header: ParcelHeader
    user: str
    device_id: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    reply_to: str | None
    payload_bytes: int  # gzip size as carried
    attachments: tuple[AttachmentInfo, ...]
    signer: str = ""  # the fingerprint of the key that signed it (checked)

    @property
    def parcel_id(self) -> str:
        return self.header.parcel_id

    @property
    def kind(self) -> Kind:
        return self.header.kind


DevicePublicLookup = Callable[[str, str], DevicePublicKeys | None]
"""``(user, device_id) -> keys`` registered at sign-in, or None if unknown."""

RenewedLookup = Callable[[str, str, str], DevicePublicKeys | None]
"""``(user, new device_id, signer fingerprint) -> keys`` registered for that
user under another device id (a store that became a new device), or None."""

AttachmentSink = Callable[[AttachmentInfo, bytes], None]
"""Receives each attachment chunk as read; the caller stages it and keeps it
only once the whole parcel has opened (an error afterwards voids it)."""


# --- sealing ---------------------------------------------------------------------------


def _hint(recipient: X25519PublicKey, ephemeral: bytes) -> bytes:
    """8 bytes a recipient recognises as for itself; without its public key
    they link no two parcels (the ephemeral key differs each time)."""
    return hashlib.sha256(_HINT_CONTEXT + _raw_public(recipient) + ephemeral).digest()[:8]


def _derive_key(shared: bytes, kind: int, ephemeral: bytes, recipient: bytes, parcel_id: bytes) -> bytes:
    info = _HKDF_INFO + bytes([kind]) + ephemeral + recipient + parcel_id
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QB3x", index, final)


def _chunk_count(size: int) -> int:
    return -(-size // CHUNK_BYTES)


def _sealed_bytes(plain: int) -> int:
    return _FRAME.size + 1 + plain + _TAG_BYTES


def _body_length(envelope: int, payload: int, attachments: Iterable[int]) -> int:
    total = _sealed_bytes(envelope) + _sealed_bytes(_SIGNATURE_BYTES)
    for size in (payload, *attachments):
        full, rest = divmod(size, CHUNK_BYTES)
        total += full * _sealed_bytes(CHUNK_BYTES) + (_sealed_bytes(rest) if rest else 0)
    return total


def _read_up_to(stream: ByteSource, size: int) -> bytes:
    """``size`` bytes, fewer only at the end (a pipe or a raw file may hand
    out less than asked on any one read)."""
    parts: list[bytes] = []
    left = size
    while left:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(dt.UTC)


def _compress(payload: bytes) -> bytes:
    """gzip with no timestamp: the same payload seals to the same size."""
    return gzip.compress(payload, compresslevel=9, mtime=0)


class _Writer:
    """Writes one parcel's chunks, hashing them for the final signature."""

    def __init__(self, out: ByteSink, header: bytes, key: bytes) -> None:
        self._out = out
        self._aad = header
        self._aead = ChaCha20Poly1305(key)
        self._digest = hashlib.sha256(header)
        self._index = 0
        out.write(header)

    def chunk(self, section: int, data: bytes, *, final: bool = False) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, final), bytes([section]) + data, self._aad)
        framed = _FRAME.pack(len(sealed)) + sealed
        self._out.write(framed)
        self._digest.update(framed)
        self._index += 1

    def section(self, section: int, stream: ByteSource, size: int) -> None:
        """``size`` bytes of ``stream`` as full chunks (the reader refuses a
        short one that is not the last), however the stream hands them out."""
        left = size
        while left:
            data = _read_up_to(stream, min(CHUNK_BYTES, left))
            if len(data) < min(CHUNK_BYTES, left):
                raise ValueError(f"an attachment ended {left - len(data)} bytes before its declared size")
            left -= len(data)
            self.chunk(section, data)

    def sign(self, signing: Ed25519PrivateKey) -> None:
        self.chunk(_SIGNATURE, signing.sign(_SIGNATURE_CONTEXT + self._digest.digest()), final=True)


def _write(out: ByteSink, kind: Kind, parcel_id: str, recipient: X25519PublicKey,
           signing: Ed25519PrivateKey, envelope: dict[str, Any], payload: bytes,
           attachments: tuple[AttachmentSource, ...]) -> ParcelHeader:
    pid = uuid.UUID(parcel_id).bytes
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _raw_public(ephemeral.public_key())
    compressed = _compress(payload)
    envelope = {**envelope, "v": FORMAT_VERSION, "kind": kind, "parcel_id": str(uuid.UUID(parcel_id)),
                "payload_bytes": len(compressed),
                "attachments": [{"sha256": a.sha256, "size": a.size} for a in attachments]}
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValueError(f"{len(attachments)} attachments: a parcel carries at most {MAX_ATTACHMENTS}")
    envelope_bytes = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    if len(envelope_bytes) > CHUNK_BYTES:
        raise ValueError("the envelope does not fit one chunk")
    body = _body_length(len(envelope_bytes), len(compressed), (a.size for a in attachments))
    code = _KIND_CODES[kind]
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, code, 0, pid, ephemeral_raw,
                          _hint(recipient, ephemeral_raw), body)
    key = _derive_key(ephemeral.exchange(recipient), code, ephemeral_raw, _raw_public(recipient), pid)
    writer = _Writer(out, header, key)
    writer.chunk(_ENVELOPE, envelope_bytes)
    writer.section(_PAYLOAD, io.BytesIO(compressed), len(compressed))
    for attachment in attachments:
        with attachment.open() as stream:
            writer.section(_ATTACHMENT, stream, attachment.size)
    writer.sign(signing)
    return ParcelHeader(kind, str(uuid.UUID(parcel_id)), body)


def write_outgoing(out: ByteSink, payload: bytes, device: DeviceKeys, server_public: ServerPublicKeys, *,
                   parcel_id: str, user: str, device_id: str, created_at: dt.datetime,
                   expires_at: dt.datetime, attachments: Iterable[AttachmentSource] = ()) -> ParcelHeader:
    """Stream an outgoing parcel into ``out``: ``payload`` (the JSON of the
    push bodies and the pull cursor) and each attachment in turn, holding
    at most one chunk of a file in memory."""
    envelope = {"user": user, "device_id": device_id, "server": server_public.fingerprint(),
                "signer": device.public().fingerprint(),
                "created_at": _utc(created_at, "created_at").isoformat(),
                "expires_at": _utc(expires_at, "expires_at").isoformat()}
    return _write(out, "outgoing", parcel_id, server_public.agreement, device.signing, envelope, payload,
                  tuple(attachments))


def seal_outgoing(payload: bytes, device: DeviceKeys, server_public: ServerPublicKeys, *, parcel_id: str,
                  user: str, device_id: str, created_at: dt.datetime, expires_at: dt.datetime,
                  attachments: Iterable[AttachmentSource] = ()) -> bytes:
    """The outgoing parcel as bytes (see :func:`write_outgoing`)."""
    out = io.BytesIO()
    write_outgoing(out, payload, device, server_public, parcel_id=parcel_id, user=user, device_id=device_id,
                   created_at=created_at, expires_at=expires_at, attachments=attachments)
    return out.getvalue()


def write_answer(out: ByteSink, payload: bytes, server: ServerKeys, device_public: DevicePublicKeys, *,
                 parcel_id: str, reply_to: str, user: str, device_id: str, created_at: dt.datetime,
                 attachments: Iterable[AttachmentSource] = ()) -> ParcelHeader:
    """Stream the server's answer to ``reply_to`` into ``out``, sealed for
    that one device. ``created_at`` is the server's clock: what the status
    bar shows as "synced by parcel at …"."""
    envelope = {"user": user, "device_id": device_id, "reply_to": str(uuid.UUID(reply_to)),
                "recipient": device_public.fingerprint(), "signer": server.public().fingerprint(),
                "created_at": _utc(created_at, "created_at").isoformat(), "expires_at": None}
    return _write(out, "answer", parcel_id, device_public.agreement, server.signing, envelope, payload,
                  tuple(attachments))


def seal_answer(payload: bytes, server: ServerKeys, device_public: DevicePublicKeys, *, parcel_id: str,
                reply_to: str, user: str, device_id: str, created_at: dt.datetime,
                attachments: Iterable[AttachmentSource] = ()) -> bytes:
    """The answer parcel as bytes (see :func:`write_answer`)."""
    out = io.BytesIO()
    write_answer(out, payload, server, device_public, parcel_id=parcel_id, reply_to=reply_to, user=user,
                 device_id=device_id, created_at=created_at, attachments=attachments)
    return out.getvalue()


# --- opening ---------------------------------------------------------------------------


def _read_exactly(stream: ByteSource, size: int) -> bytes:
    data = _read_up_to(stream, size)
    if len(data) < size:
        raise ParcelTruncated()
    return data


def _parse_header(data: bytes) -> tuple[ParcelHeader, bytes, bytes]:
    """The clear header, checked in the order that names the fault best:
    (header, ephemeral public, recipient hint)."""
    if not data:
        raise NotAParcel("This file is empty.")
    if not data.startswith(MAGIC[: len(data)]):
        raise NotAParcel()
    if len(data) < HEADER_BYTES:
        raise ParcelTruncated()
    _magic, version, code, flags, pid, ephemeral, hint, body = _HEADER.unpack(data)
    if version > FORMAT_VERSION:
        raise ParcelTooNew()
    if version < 1 or code not in _KIND_NAMES:
        raise ParcelTampered()
    if flags:
        raise ParcelTooNew()
    return ParcelHeader(_KIND_NAMES[code], str(uuid.UUID(bytes=pid)), body), ephemeral, hint


def peek(data: bytes | ByteSource) -> ParcelHeader:
    """What a courier's Fieldbook may know without any key: the kind, the
    parcel id and the declared size (to name the answer file, refuse an
    answer handed for delivery, show a size). Authenticates nothing."""
    head = data[:HEADER_BYTES] if isinstance(data, bytes) else _read_up_to(data, HEADER_BYTES)
    return _parse_header(head)[0]


@dataclass
class _Opened:
    envelope: dict[str, Any]
    compressed: bytes


class _Reader:
    """Decrypts the chunks in order and checks the body's shape as it goes."""

    def __init__(self, stream: ByteSource, header: bytes, body_length: int, key: bytes) -> None:
        self._stream = stream
        self._aad = header
        self._aead = ChaCha20Poly1305(key)
        self._digest = hashlib.sha256(header)
        self._left = body_length
        self._index = 0

    def chunk(self) -> tuple[int, bytes, bool]:
        """The next chunk as (section type, data, final)."""
        if self._left < _FRAME.size:
            raise ParcelTampered()  # the sections need more than the signed length holds
        frame = _read_exactly(self._stream, _FRAME.size)
        (length,) = _FRAME.unpack(frame)
        if length > _MAX_CHUNK_CIPHERTEXT or length < 1 + _TAG_BYTES or length > self._left - _FRAME.size:
            raise ParcelTampered()
        sealed = _read_exactly(self._stream, length)
        self._left -= _FRAME.size + length
        final = self._left == 0
        try:
            plain = self._aead.decrypt(_nonce(self._index, final), sealed, self._aad)
        except InvalidTag:
            raise ParcelTampered() from None
        self._index += 1
        if plain[0] != _SIGNATURE:
            self._digest.update(frame + sealed)
        return plain[0], plain[1:], final

    def expect(self, section: int) -> bytes:
        got, data, final = self.chunk()
        if got != section or final != (section == _SIGNATURE):
            raise ParcelTampered()
        return data

    def section(self, section: int, size: int) -> Iterator[bytes]:
        left = size
        while left:
            data = self.expect(section)
            if len(data) != min(CHUNK_BYTES, left):
                raise ParcelTampered()
            left -= len(data)
            yield data

    def digest(self) -> bytes:
        return self._digest.digest()


SignerOf = Callable[[dict[str, Any]], Ed25519PublicKey]
"""The key that must have signed a parcel with this envelope, or a raised
``ParcelForeign``: asked before the body is read, so a parcel of an unknown
sender costs one chunk."""


def wrong_kind_message(kind: Kind) -> str:
    """What to say when a parcel of ``kind`` is handed where another belongs."""
    if kind == "answer":
        return "This is an answer parcel: import it on the laptop that made the parcel."
    if kind == "local":
        return "This parcel is for a laptop nearby, not for the server or a file import."
    return "This is an outgoing parcel: deliver it to the server, it cannot be imported."


def _open(stream: ByteSource, kind: Kind, agreement: X25519PrivateKey, signer_of: SignerOf,
          save_attachment: AttachmentSink | None) -> tuple[ParcelHeader, _Opened]:
    """Decrypt, check the shape, the sender and the signature. Anyone who
    knows the recipient's *public* key can seal a parcel for it, so until
    the signature is checked at the end nothing read is trusted: the sizes
    are bounded by the signed body length, attachment chunks go only to a
    staging sink."""
    head = _read_up_to(stream, HEADER_BYTES)
    header, ephemeral, hint = _parse_header(head)
    if header.kind != kind:
        raise NotAParcel(wrong_kind_message(header.kind))
    recipient = agreement.public_key()
    if _hint(recipient, ephemeral) != hint:
        raise ParcelForeign()
    try:
        shared = agreement.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError:  # a low-order point: no honest sender makes one
        raise ParcelTampered() from None
    key = _derive_key(shared, _KIND_CODES[kind], ephemeral, _raw_public(recipient),
                      uuid.UUID(header.parcel_id).bytes)
    reader = _Reader(stream, head, header.body_length, key)
    envelope = _parse_envelope(reader.expect(_ENVELOPE), header)
    signer = signer_of(envelope)
    compressed = b"".join(reader.section(_PAYLOAD, envelope["payload_bytes"]))
    for item in envelope["attachments"]:
        info = AttachmentInfo(item["sha256"], item["size"])
        hasher = hashlib.sha256()
        for data in reader.section(_ATTACHMENT, info.size):
            hasher.update(data)
            if save_attachment is not None:
                save_attachment(info, data)
        if hasher.hexdigest() != info.sha256:
            raise ParcelTampered()
    digest = reader.digest()
    signature = reader.expect(_SIGNATURE)
    if stream.read(1):
        raise ParcelTampered()
    try:
        signer.verify(signature, _SIGNATURE_CONTEXT + digest)
    except InvalidSignature:
        raise ParcelTampered() from None
    return header, _Opened(envelope, compressed)


def _parse_envelope(data: bytes, header: ParcelHeader) -> dict[str, Any]:
    """The sealed envelope, its shape checked (not yet its sender). No
    Fieldbook writes a malformed one: it is refused as damaged."""
    try:
        envelope = json.loads(data)
        ok = (isinstance(envelope, dict) and envelope.get("v") == FORMAT_VERSION
              and envelope.get("kind") == header.kind and envelope.get("parcel_id") == header.parcel_id
              and isinstance(envelope.get("user"), str) and isinstance(envelope.get("device_id"), str)
              and _is_size(envelope.get("payload_bytes"), header.body_length)
              and len(envelope["attachments"]) <= MAX_ATTACHMENTS
              and all(_is_sha256(a.get("sha256")) and _is_size(a.get("size"), header.body_length)
                      for a in envelope["attachments"]))
    except (ValueError, AttributeError, TypeError, KeyError):
        ok = False
    if not ok:
        raise ParcelTampered()
    return envelope  # type: ignore[no-any-return]


def _is_size(value: object, body_length: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= body_length


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _inflate(compressed: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        payload = inflater.decompress(compressed, limit + 1)
    except zlib.error:
        raise ParcelTampered() from None
    if len(payload) > limit:
        raise ParcelTooLarge()
    if not inflater.eof or inflater.unused_data:
        raise ParcelTampered()
    return payload


def _time(value: Any) -> dt.datetime:
    try:
        return _utc(dt.datetime.fromisoformat(value), "time")
    except (TypeError, ValueError):
        raise ParcelTampered() from None


def _info(header: ParcelHeader, opened: _Opened) -> ParcelInfo:
    e = opened.envelope
    expires = e.get("expires_at")
    return ParcelInfo(header, e["user"], e["device_id"], _time(e.get("created_at")),
                      None if expires is None else _time(expires), e.get("reply_to"),
                      len(opened.compressed),
                      tuple(AttachmentInfo(a["sha256"], a["size"]) for a in e["attachments"]),
                      str(e.get("signer") or ""))


def read_outgoing(stream: ByteSource, server: ServerKeys, device_public_lookup: DevicePublicLookup, *,
                  now: dt.datetime, save_attachment: AttachmentSink | None = None,
                  max_payload: int = MAX_PAYLOAD_INFLATED,
                  renewed_lookup: RenewedLookup | None = None) -> tuple[ParcelInfo, bytes]:
    """Open an outgoing parcel on the server: (what it says, the inflated
    payload). ``now`` is the server's clock, for the expiry. Raises a
    :class:`~app.errors.ParcelError` and returns nothing usable on any fault;
    attachment chunks given to ``save_attachment`` count only on success.
    A replay is not an error here: the caller deduplicates by ``parcel_id``.
    ``renewed_lookup(user, device_id, signer fingerprint)``, asked when the device id is
    unknown, names keys registered for that user under another device id:
    the same store after it became a new device (the caller moves the
    registration once the parcel has opened)."""
    def signer_of(envelope: dict[str, Any]) -> Ed25519PublicKey:
        if envelope.get("server") != server.public().fingerprint():
            raise ParcelForeign("This parcel was made for another server.")
        device = device_public_lookup(envelope["user"], envelope["device_id"])
        if device is None and renewed_lookup is not None and isinstance(envelope.get("signer"), str):
            device = renewed_lookup(envelope["user"], envelope["device_id"], envelope["signer"])
        if device is None or envelope.get("signer") != device.fingerprint():
            raise ParcelForeign("This parcel was signed by a device this server does not know.")
        return device.signing

    header, opened = _open(stream, "outgoing", server.agreement, signer_of, save_attachment)
    info = _info(header, opened)
    if info.expires_at is None or info.expires_at < _utc(now, "now"):
        raise ParcelExpired()
    return info, _inflate(opened.compressed, max_payload)


def open_outgoing(data: bytes, server: ServerKeys, device_public_lookup: DevicePublicLookup, *,
                  now: dt.datetime, max_payload: int = MAX_PAYLOAD_INFLATED) -> tuple[ParcelInfo, bytes]:
    """:func:`read_outgoing` over bytes in memory (attachments checked, not kept)."""
    return read_outgoing(io.BytesIO(data), server, device_public_lookup, now=now, max_payload=max_payload)


def ring(keys: ServerPublicKeys | Iterable[ServerPublicKeys]) -> tuple[ServerPublicKeys, ...]:
    """The server's public keys a laptop knows, current first (one, or with
    the ones before a rotation)."""
    return (keys,) if isinstance(keys, ServerPublicKeys) else tuple(keys)


def read_answer(stream: ByteSource, device: DeviceKeys,
                server_public: ServerPublicKeys | Iterable[ServerPublicKeys], *, device_id: str,
                save_attachment: AttachmentSink | None = None,
                max_payload: int = MAX_PAYLOAD_INFLATED) -> tuple[ParcelInfo, bytes]:
    """Open an answer on the laptop it was sealed for, signed by any of the
    server keys it knows (a parcel sealed before a rotation is answered
    with the old keys). No expiry: the device's clock is not trusted, and an
    old answer applies harmlessly (the replica keeps the higher version of
    every field)."""
    known = ring(server_public)

    def signer_of(envelope: dict[str, Any]) -> Ed25519PublicKey:
        if envelope.get("recipient") != device.public().fingerprint() or envelope["device_id"] != device_id:
            raise ParcelForeign("This answer is for another device.")
        for keys in known:
            if envelope.get("signer") == keys.fingerprint():
                return keys.signing
        raise ParcelForeign("This answer was signed by another server.")

    header, opened = _open(stream, "answer", device.agreement, signer_of, save_attachment)
    return _info(header, opened), _inflate(opened.compressed, max_payload)


def open_answer(data: bytes, device: DeviceKeys, server_public: ServerPublicKeys | Iterable[ServerPublicKeys],
                *, device_id: str,
                max_payload: int = MAX_PAYLOAD_INFLATED) -> tuple[ParcelInfo, bytes]:
    """:func:`read_answer` over bytes in memory."""
    return read_answer(io.BytesIO(data), device, server_public, device_id=device_id, max_payload=max_payload)


class OutgoingPayload(TypedDict):
    """The JSON an outgoing parcel carries (the integration's contract):
    the push requests the engine would send now, in order, each with its
    ``after``, and the pull request it would start from (cursor, scope,
    ``pushed_seq``, ``people_hash``), exactly as on the wire."""

    push: list[PushRequest]
    pull: PullRequest


class AnswerPayload(TypedDict):
    """The JSON of an answer: one push response for each push request, then
    the pull pages the device may see from its cursor, as on the wire."""

    push: list[PushResponse]
    pull: list[PullResponse]


def seal_parcel(kind: Kind, payload: bytes, recipient: X25519PublicKey, signing: Ed25519PrivateKey,
                envelope: dict[str, Any], *, parcel_id: str) -> bytes:
    """A parcel of any kind as bytes, for formats built on this one
    (``peer_parcels``): ``envelope`` needs ``user``, ``device_id`` and
    ``signer``; the format adds its own fields."""
    out = io.BytesIO()
    _write(out, kind, parcel_id, recipient, signing, envelope, payload, ())
    return out.getvalue()


def open_parcel(data: bytes, kind: Kind, agreement: X25519PrivateKey,
                signer_of: Callable[[dict[str, Any]], Ed25519PublicKey], *,
                max_payload: int = MAX_PAYLOAD_INFLATED) -> tuple[ParcelInfo, dict[str, Any], bytes]:
    """Open a parcel of any kind: (facts, the whole envelope, the inflated
    payload). ``signer_of(envelope)`` names the key that must have signed it
    or raises a ``ParcelError``."""
    header, opened = _open(io.BytesIO(data), kind, agreement, signer_of, None)
    return _info(header, opened), opened.envelope, _inflate(opened.compressed, max_payload)


def sealed_for(data: bytes, recipient: X25519PublicKey) -> bool:
    """Whether the parcel's clear hint names ``recipient``: how a courier
    holding a device's *public* key picks that device's answers, without
    opening anything (authenticates nothing)."""
    if len(data) < HEADER_BYTES:
        return False
    try:
        _header, ephemeral, hint = _parse_header(data[:HEADER_BYTES])
    except ParcelError:
        return False
    return _hint(recipient, ephemeral) == hint


def new_parcel_id() -> str:
    """A random id: the server's key for applying a parcel once."""
    return str(uuid.uuid4())


__all__ = [
    "CHUNK_BYTES",
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "MAGIC",
    "AnswerPayload",
    "AttachmentInfo",
    "AttachmentSink",
    "AttachmentSource",
    "DeviceKeys",
    "DevicePublicKeys",
    "DevicePublicLookup",
    "OutgoingPayload",
    "ParcelError",
    "ParcelHeader",
    "ParcelInfo",
    "RenewedLookup",
    "ServerKeys",
    "ServerPublicKeys",
    "new_parcel_id",
    "open_answer",
    "open_outgoing",
    "open_parcel",
    "peek",
    "read_answer",
    "read_outgoing",
    "ring",
    "seal_answer",
    "seal_outgoing",
    "seal_parcel",
    "sealed_for",
    "write_answer",
    "write_outgoing",
    "wrong_kind_message",
]
