"""Sync parcels (app/protocol/parcel_format.py, docs/parcels.md): round trips
over real push bodies of a real store, and every way a courier's file can go
wrong refused with its own typed error and nothing returned."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
from app.models.store import Store
from app.protocol import parcel_format as pf
from app.protocol.parcel_format import (
    AttachmentInfo,
    AttachmentSource,
    DeviceKeys,
    DevicePublicKeys,
    ServerKeys,
    ServerPublicKeys,
)
from app.protocol.sync import PROTOCOL_VERSION
from app.sync import replica
from bench.generate import generate_items, load

NOW = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=30)
USER = "李老师"
DEVICE = "device-a"
PARCEL_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
ANSWER_ID = "11223344-5566-4788-99aa-bbccddeeff00"
SECRET_TEXT = "认识分数的教学反思 fractions"


@pytest.fixture(scope="module")
def device() -> DeviceKeys:
    return DeviceKeys.generate()


@pytest.fixture(scope="module")
def other_device() -> DeviceKeys:
    return DeviceKeys.generate()


@pytest.fixture(scope="module")
def server() -> ServerKeys:
    return ServerKeys.generate()


def lookup_for(keys: DeviceKeys) -> Callable[[str, str], DevicePublicKeys | None]:
    """The server's registry: this one device of this one user."""
    registered = keys.public()
    return lambda user, device_id: registered if (user, device_id) == (USER, DEVICE) else None


def seal(device: DeviceKeys, server: ServerPublicKeys, payload: bytes = b'{"push":[]}', **kw: Any) -> bytes:
    args: dict[str, Any] = {"parcel_id": PARCEL_ID, "user": USER, "device_id": DEVICE,
                            "created_at": NOW, "expires_at": LATER, **kw}
    return pf.seal_outgoing(payload, device, server, **args)


def answer(server: ServerKeys, device: DevicePublicKeys, payload: bytes = b'{"pull":[]}', **kw: Any) -> bytes:
    args: dict[str, Any] = {"parcel_id": ANSWER_ID, "reply_to": PARCEL_ID, "user": USER,
                            "device_id": DEVICE, "created_at": NOW, **kw}
    return pf.seal_answer(payload, server, device, **args)


def outgoing_payload(store: Store) -> bytes:
    """What the engine would send now: its real push batches and pull request."""
    meta = replica.sync_meta(store)
    pushes: list[dict[str, Any]] = []
    after: int | None = None
    while batch := replica.pending_groups(store, after=after):
        request: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "device_id": meta.device_id,
                                   "changes": batch}
        if after is not None:
            request["after"] = after
        pushes.append(request)
        after = batch[-1]["seq"]
    pull = {"protocol": PROTOCOL_VERSION, "cursor": meta.pull_cursor, "scope": meta.scope,
            "device_id": meta.device_id, "pushed_seq": meta.pushed_seq}
    return json.dumps({"push": pushes, "pull": pull}, ensure_ascii=False).encode()


def attachment(data: bytes) -> AttachmentSource:
    return AttachmentSource(hashlib.sha256(data).hexdigest(), len(data), lambda: io.BytesIO(data))


# --- round trips ---------------------------------------------------------------------


def test_outgoing_round_trip_carries_the_real_push_bodies(
        store: Store, device: DeviceKeys, server: ServerKeys) -> None:
    load(store, generate_items(40, seed=3))
    store.create("lesson_plan", {"title": SECRET_TEXT}, author=USER)
    payload = outgoing_payload(store)
    sealed = seal(device, server.public(), payload)
    info, opened = pf.open_outgoing(sealed, server, lookup_for(device), now=NOW)
    assert opened == payload
    assert (info.kind, info.parcel_id, info.user, info.device_id) == ("outgoing", PARCEL_ID, USER, DEVICE)
    assert (info.created_at, info.expires_at, info.reply_to) == (NOW, LATER, None)
    assert info.header.size == len(sealed)
    body = json.loads(opened)
    assert sum(len(p["changes"]) for p in body["push"]) == replica.pending_count(store)


def test_answer_round_trip(device: DeviceKeys, server: ServerKeys) -> None:
    payload = json.dumps({"push": [], "pull": [{"records": [], "text": SECRET_TEXT}]}).encode()
    info, opened = pf.open_answer(answer(server, device.public(), payload), device, server.public(),
                                  device_id=DEVICE)
    assert opened == payload
    assert (info.kind, info.parcel_id, info.reply_to) == ("answer", ANSWER_ID, PARCEL_ID)
    assert info.expires_at is None
    assert info.created_at == NOW


def test_a_payload_of_many_chunks_and_attachments_round_trip_through_files(
        tmp_path: Path, device: DeviceKeys, server: ServerKeys) -> None:
    payload = os.urandom(3 * pf.CHUNK_BYTES + 17)  # incompressible: several payload chunks
    photo, empty, note = os.urandom(2 * pf.CHUNK_BYTES), b"", "教案附件".encode() * 100
    files = [attachment(photo), attachment(empty), attachment(note)]
    path = tmp_path / "stick" / "fieldbook.parcel"
    path.parent.mkdir()
    with path.open("wb") as out:
        header = pf.write_outgoing(out, payload, device, server.public(), parcel_id=PARCEL_ID, user=USER,
                                   device_id=DEVICE, created_at=NOW, expires_at=LATER, attachments=files)
    assert path.stat().st_size == header.size
    received: dict[str, bytearray] = {}

    def save(info: AttachmentInfo, data: bytes) -> None:
        received.setdefault(info.sha256, bytearray()).extend(data)

    with path.open("rb") as stream:
        info, opened = pf.read_outgoing(stream, server, lookup_for(device), now=NOW, save_attachment=save)
    assert opened == payload
    assert info.attachments == tuple(AttachmentInfo(f.sha256, f.size) for f in files)
    assert bytes(received[files[0].sha256]) == photo and bytes(received[files[2].sha256]) == note
    assert files[1].sha256 not in received  # nothing to receive of an empty file


def test_keys_survive_serialisation(device: DeviceKeys, server: ServerKeys) -> None:
    again = DeviceKeys.from_bytes(device.to_bytes())
    server_again = ServerKeys.from_bytes(server.to_bytes())
    public = ServerPublicKeys.from_bytes(server.public().to_bytes())
    registered = DevicePublicKeys.from_bytes(device.public().to_bytes())
    sealed = seal(again, public)
    info, _payload = pf.open_outgoing(sealed, server_again, lambda _u, _d: registered, now=NOW)
    assert info.parcel_id == PARCEL_ID
    assert registered.fingerprint() == device.public().fingerprint()


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1], lambda b: b + b"\0", lambda b: b"X" + b[1:], lambda b: b"",
])
def test_damaged_or_mixed_up_key_bytes_are_refused(
        device: DeviceKeys, damage: Callable[[bytes], bytes]) -> None:
    with pytest.raises(ParcelKeyInvalid):
        DeviceKeys.from_bytes(damage(device.to_bytes()))
    with pytest.raises(ParcelKeyInvalid):
        ServerKeys.from_bytes(device.to_bytes())  # a device's key where the server's belongs
    with pytest.raises(ParcelKeyInvalid):
        ServerPublicKeys.from_bytes(device.public().to_bytes())


def test_delivering_twice_opens_to_the_same_parcel_id(device: DeviceKeys, server: ServerKeys) -> None:
    """A replay is the server's business, by the parcel id this returns."""
    sealed = seal(device, server.public())
    first = pf.open_outgoing(sealed, server, lookup_for(device), now=NOW)
    second = pf.open_outgoing(sealed, server, lookup_for(device), now=NOW + dt.timedelta(days=1))
    assert first == second


# --- refusals --------------------------------------------------------------------------


def test_every_flipped_byte_of_an_outgoing_parcel_is_refused(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = seal(device, server.public(), f'{{"title":"{SECRET_TEXT}"}}'.encode())
    for position in range(len(sealed)):
        for mask in (0x01, 0x80):
            damaged = bytearray(sealed)
            damaged[position] ^= mask
            with pytest.raises(ParcelError) as refused:
                pf.open_outgoing(bytes(damaged), server, lookup_for(device), now=NOW)
            assert not isinstance(refused.value, ParcelExpired), position
            if position >= pf.HEADER_BYTES:
                assert isinstance(refused.value, ParcelTampered | ParcelTruncated), position


def test_every_flipped_byte_of_an_attachment_is_refused(device: DeviceKeys, server: ServerKeys) -> None:
    note = attachment("教研组意见".encode())
    sealed = seal(device, server.public(), attachments=[note])
    start = len(seal(device, server.public())) - 85  # where the attachment chunk begins, about
    for position in range(start - 100, len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x10
        with pytest.raises((ParcelTampered, ParcelTruncated)):
            pf.open_outgoing(bytes(damaged), server, lookup_for(device), now=NOW)


class Trickle:
    """A stream that hands out at most 1000 bytes a read, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int, /) -> bytes:
        return self._data.read(min(size, 1000))


def test_streams_that_hand_out_little_at_a_time_are_read_whole(
        device: DeviceKeys, server: ServerKeys) -> None:
    photo = os.urandom(pf.CHUNK_BYTES + 5000)
    source = AttachmentSource(hashlib.sha256(photo).hexdigest(), len(photo),
                              lambda: contextlib.nullcontext(Trickle(photo)))
    sealed = seal(device, server.public(), os.urandom(pf.CHUNK_BYTES * 2), attachments=[source])
    received = bytearray()
    info, _payload = pf.read_outgoing(Trickle(sealed), server, lookup_for(device), now=NOW,
                                      save_attachment=lambda _info, data: received.extend(data))
    assert bytes(received) == photo and info.attachments[0].size == len(photo)


def test_every_flipped_byte_of_an_answer_is_refused(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = answer(server, device.public())
    for position in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x04
        with pytest.raises(ParcelError):
            pf.open_answer(bytes(damaged), device, server.public(), device_id=DEVICE)


def test_every_truncation_of_a_small_parcel_is_refused_as_truncated(
        device: DeviceKeys, server: ServerKeys) -> None:
    sealed = seal(device, server.public())
    for length in range(len(sealed)):
        expected = NotAParcel if length == 0 else ParcelTruncated
        with pytest.raises(expected):
            pf.open_outgoing(sealed[:length], server, lookup_for(device), now=NOW)


def test_truncations_around_every_chunk_boundary_are_refused(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = seal(device, server.public(), os.urandom(pf.CHUNK_BYTES + 100))
    second_chunk = pf.HEADER_BYTES + 400 + pf.CHUNK_BYTES  # (the envelope is under 400 bytes)
    cuts = [*range(pf.HEADER_BYTES, 600), *range(second_chunk - 500, second_chunk + 200),
            *range(len(sealed) - 300, len(sealed))]
    for length in sorted(set(cuts)):
        expected = NotAParcel if length == 0 else ParcelTruncated
        with pytest.raises(expected):
            pf.open_outgoing(sealed[:length], server, lookup_for(device), now=NOW)


def test_every_truncation_of_a_small_answer_is_refused(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = answer(server, device.public())
    for length in range(1, len(sealed)):
        with pytest.raises(ParcelTruncated):
            pf.open_answer(sealed[:length], device, server.public(), device_id=DEVICE)


def test_bytes_appended_after_the_end_are_refused(device: DeviceKeys, server: ServerKeys) -> None:
    with pytest.raises(ParcelTampered):
        pf.open_outgoing(seal(device, server.public()) + b"\n", server, lookup_for(device), now=NOW)


def test_a_parcel_of_another_device_key_is_foreign(
        device: DeviceKeys, other_device: DeviceKeys, server: ServerKeys) -> None:
    """Another device (or a courier with keys of its own) claiming this
    user and device id is refused: its key is not the one registered."""
    sealed = seal(other_device, server.public())
    with pytest.raises(ParcelForeign, match="does not know"):
        pf.open_outgoing(sealed, server, lookup_for(device), now=NOW)
    with pytest.raises(ParcelForeign):
        pf.open_outgoing(seal(device, server.public(), device_id="device-b"), server, lookup_for(device),
                         now=NOW)


def test_a_forged_signature_under_the_registered_name_is_tampered(
        device: DeviceKeys, other_device: DeviceKeys, server: ServerKeys) -> None:
    """The envelope names the registered key but another key signed it."""
    envelope = {"user": USER, "device_id": DEVICE, "server": server.public().fingerprint(),
                "signer": device.public().fingerprint(), "created_at": NOW.isoformat(),
                "expires_at": LATER.isoformat()}
    out = io.BytesIO()
    pf._write(out, "outgoing", PARCEL_ID, server.public().agreement, other_device.signing, envelope,
              b"{}", ())
    with pytest.raises(ParcelTampered):
        pf.open_outgoing(out.getvalue(), server, lookup_for(device), now=NOW)


def test_a_sender_is_refused_before_its_attachments_are_read(
        other_device: DeviceKeys, device: DeviceKeys, server: ServerKeys) -> None:
    """Anyone who knows the server's public key can seal a parcel for it:
    an unknown sender's attachments never reach the staging sink."""
    sealed = seal(other_device, server.public(), attachments=[attachment(b"x" * 1000)])
    staged: list[bytes] = []
    with pytest.raises(ParcelForeign):
        pf.read_outgoing(io.BytesIO(sealed), server, lookup_for(device), now=NOW,
                         save_attachment=lambda _info, data: staged.append(data))
    assert staged == []


@pytest.mark.parametrize("envelope", [
    {"device_id": DEVICE},  # no user
    {"user": USER, "device_id": 7},
    {"user": [USER], "device_id": DEVICE},
])
def test_a_malformed_sealed_envelope_is_refused_as_damaged(
        envelope: dict[str, Any], device: DeviceKeys, server: ServerKeys) -> None:
    """Sealed with the server's public key like any parcel, but not as
    Fieldbook writes them: refused before anyone is looked up."""
    out = io.BytesIO()
    pf._write(out, "outgoing", PARCEL_ID, server.public().agreement, device.signing, envelope, b"{}", ())
    with pytest.raises(ParcelTampered):
        pf.open_outgoing(out.getvalue(), server, lookup_for(device), now=NOW)


def test_a_parcel_for_another_server_is_foreign(device: DeviceKeys, server: ServerKeys) -> None:
    other = ServerKeys.generate()
    with pytest.raises(ParcelForeign):
        pf.open_outgoing(seal(device, other.public()), server, lookup_for(device), now=NOW)


def test_an_answer_for_device_a_cannot_be_opened_by_device_b(
        device: DeviceKeys, other_device: DeviceKeys, server: ServerKeys) -> None:
    sealed = answer(server, device.public())
    with pytest.raises(ParcelForeign):
        pf.open_answer(sealed, other_device, server.public(), device_id=DEVICE)
    with pytest.raises(ParcelForeign, match="another device"):
        pf.open_answer(sealed, device, server.public(), device_id="device-b")


def test_an_answer_signed_by_another_server_is_foreign(device: DeviceKeys, server: ServerKeys) -> None:
    impostor = ServerKeys.generate()  # knows the device's public keys, not the server's secret
    with pytest.raises(ParcelForeign, match="another server"):
        pf.open_answer(answer(impostor, device.public()), device, server.public(), device_id=DEVICE)


def test_an_expired_parcel_is_refused_by_the_servers_clock(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = seal(device, server.public())
    assert pf.open_outgoing(sealed, server, lookup_for(device), now=LATER)[0].expires_at == LATER
    with pytest.raises(ParcelExpired):
        pf.open_outgoing(sealed, server, lookup_for(device), now=LATER + dt.timedelta(seconds=1))


def test_the_wrong_direction_is_not_a_parcel_of_that_kind(device: DeviceKeys, server: ServerKeys) -> None:
    with pytest.raises(NotAParcel, match="answer parcel"):
        pf.open_outgoing(answer(server, device.public()), server, lookup_for(device), now=NOW)
    with pytest.raises(NotAParcel, match="outgoing parcel"):
        pf.open_answer(seal(device, server.public()), device, server.public(), device_id=DEVICE)


def test_other_files_are_not_parcels(tmp_path: Path, device: DeviceKeys, server: ServerKeys) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    for data in (db.read_bytes(), gzip.compress(b"{}"), b"%PDF-1.7\n", os.urandom(200), b"\x89FBPARX\n" * 20):
        with pytest.raises(NotAParcel):
            pf.open_outgoing(data, server, lookup_for(device), now=NOW)


def test_a_newer_format_version_is_refused_as_too_new(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = bytearray(seal(device, server.public()))
    sealed[8:10] = (pf.FORMAT_VERSION + 1).to_bytes(2, "big")
    with pytest.raises(ParcelTooNew):
        pf.open_outgoing(bytes(sealed), server, lookup_for(device), now=NOW)
    with pytest.raises(ParcelTruncated):
        pf.peek(bytes(sealed[:7]))  # a prefix of the magic is a parcel cut short


def test_a_payload_that_inflates_past_the_limit_is_refused(device: DeviceKeys, server: ServerKeys) -> None:
    sealed = seal(device, server.public(), b"0" * 1_000_000)
    assert len(sealed) < 3000
    with pytest.raises(ParcelTooLarge):
        pf.open_outgoing(sealed, server, lookup_for(device), now=NOW, max_payload=999_999)


def test_an_attachment_whose_bytes_do_not_match_its_address_is_refused(
        device: DeviceKeys, server: ServerKeys) -> None:
    lie = AttachmentSource("0" * 64, 5, lambda: io.BytesIO(b"hello"))
    with pytest.raises(ParcelTampered):
        pf.open_outgoing(seal(device, server.public(), attachments=[lie]), server, lookup_for(device),
                         now=NOW)


def test_an_attachment_shorter_than_declared_is_not_written(device: DeviceKeys, server: ServerKeys) -> None:
    short = AttachmentSource(hashlib.sha256(b"hello").hexdigest(), 50, lambda: io.BytesIO(b"hello"))
    with pytest.raises(ValueError, match="ended"):
        seal(device, server.public(), attachments=[short])


# --- what a courier sees ---------------------------------------------------------------


def test_the_courier_sees_only_kind_id_and_size(device: DeviceKeys, server: ServerKeys) -> None:
    payload = json.dumps({"title": SECRET_TEXT, "author": USER}, ensure_ascii=False).encode()
    sealed = seal(device, server.public(), payload)
    header = pf.peek(sealed)
    assert (header.kind, header.parcel_id, header.size) == ("outgoing", PARCEL_ID, len(sealed))
    secrets = [USER, DEVICE, SECRET_TEXT, "认识分数", "fractions", device.public().fingerprint(),
               server.public().fingerprint(), NOW.isoformat()[:10]]
    for secret in secrets:
        for encoding in ("utf-8", "utf-16-le", "gb18030"):
            assert secret.encode(encoding) not in sealed, secret
    assert gzip.compress(payload, mtime=0)[10:40] not in sealed  # not even compressed in the clear
    for key in (device.public().to_bytes()[2:34], device.public().to_bytes()[34:],
                server.public().to_bytes()[34:]):
        assert key not in sealed


def test_two_parcels_of_the_same_content_share_nothing_a_courier_could_link(
        device: DeviceKeys, server: ServerKeys) -> None:
    first = seal(device, server.public())
    second = seal(device, server.public(), parcel_id=pf.new_parcel_id())
    assert len(first) == len(second)
    # Beyond the magic, version, kind and the sizes, no run of 16 bytes in common.
    body_first, body_second = first[pf.HEADER_BYTES:], second[pf.HEADER_BYTES:]
    runs = {body_first[i:i + 16] for i in range(len(body_first) - 16)}
    assert not any(body_second[i:i + 16] in runs for i in range(len(body_second) - 16))
    assert first[28:68] != second[28:68]  # the ephemeral key and the recipient hint


def test_the_size_is_deterministic_and_close_to_the_gzip_floor(
        store: Store, device: DeviceKeys, server: ServerKeys) -> None:
    load(store, generate_items(60, seed=5))
    payload = outgoing_payload(store)
    sizes = {len(seal(device, server.public(), payload, parcel_id=pf.new_parcel_id())) for _ in range(3)}
    assert len(sizes) == 1
    floor = len(gzip.compress(payload, compresslevel=9, mtime=0))
    chunks = -(-floor // pf.CHUNK_BYTES)
    envelope = 350  # who, for whom, when: a fixed few hundred bytes
    assert sizes.pop() <= floor + pf.HEADER_BYTES + envelope + 21 * (chunks + 2) + 64
