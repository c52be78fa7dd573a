"""Certificates and local parcels (app/protocol/peer_parcels.py): what one
laptop in the room may show or hand another, and every way a forged,
swapped or damaged one is refused."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import pytest

from app.errors import NotAParcel, ParcelError, ParcelForeign, ParcelTampered
from app.protocol.parcel_format import DeviceKeys, ServerKeys, peek, sealed_for
from app.protocol.peer_parcels import (
    DeviceCertificate,
    hello_recipient,
    issue_certificate,
    new_hello_key,
    open_local,
    read_certificate,
    read_local_answer,
    seal_local,
)

NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
SERVER = ServerKeys.generate()
TRAINER, FELLOW = DeviceKeys.generate(), DeviceKeys.generate()


def certify(keys: DeviceKeys, user: str = "7", role: str = "trainer", server: ServerKeys = SERVER,
            device_id: str = "dev-trainer") -> DeviceCertificate:
    text = issue_certificate(server, user=user, name="赵老师", role=role, device_id=device_id,
                             keys=keys.public(), issued_at=NOW)
    return read_certificate(text, server.public())


def test_a_certificate_names_the_device_the_server_vouched_for() -> None:
    cert = certify(TRAINER)
    assert (cert.user, cert.name, cert.role, cert.device_id) == ("7", "赵老师", "trainer", "dev-trainer")
    assert cert.keys == TRAINER.public() and cert.issued_at == NOW


def test_a_certificate_of_another_server_or_changed_is_refused() -> None:
    other = ServerKeys.generate()
    with pytest.raises(ParcelForeign):
        read_certificate(certify(TRAINER, server=other).text, SERVER.public())
    version, body, signature = certify(TRAINER).text.split(".")
    changed = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(ParcelError):
        read_certificate(".".join((version, changed, signature)), SERVER.public())
    for junk in ("", "fbcert1.x", "fbcert2.a.b", "fbcert1.!!.??", "x" * 5000):
        with pytest.raises(ParcelTampered):
            read_certificate(junk, SERVER.public())


def local_for(recipient: DeviceKeys, payload: Mapping[str, object], sender: DeviceKeys = TRAINER,
              cert: DeviceCertificate | None = None) -> bytes:
    return seal_local(json.dumps(payload).encode(), sender, cert or certify(sender),
                      recipient.public().agreement, created_at=NOW)


def test_a_local_parcel_opens_for_its_recipient_only() -> None:
    payload: dict[str, list[str]] = {"reviews": [], "withdrawn": []}
    data = local_for(FELLOW, payload)
    assert peek(data).kind == "local"
    assert sealed_for(data, FELLOW.public().agreement) and not sealed_for(data, TRAINER.public().agreement)
    info, sender, raw = open_local(data, FELLOW.agreement, SERVER.public())
    assert sender.name == "赵老师" and info.user == "7" and info.created_at == NOW
    assert dict(read_local_answer(raw)) == payload
    with pytest.raises(ParcelForeign):
        open_local(data, DeviceKeys.generate().agreement, SERVER.public())
    with pytest.raises(ParcelForeign):  # the certificate is checked with *our* server's key
        open_local(data, FELLOW.agreement, ServerKeys.generate().public())


def test_a_certificate_of_another_key_cannot_sign() -> None:
    with pytest.raises(ValueError):  # the sealing side refuses outright
        local_for(FELLOW, {}, sender=DeviceKeys.generate(), cert=certify(TRAINER))


def test_every_flipped_byte_is_refused() -> None:
    data = local_for(FELLOW, {"reviews": [], "withdrawn": []})
    for index in range(0, len(data), 7):
        changed = bytearray(data)
        changed[index] ^= 0x01
        with pytest.raises(ParcelError):
            open_local(bytes(changed), FELLOW.agreement, SERVER.public())
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(ParcelError):
            open_local(data[:cut], FELLOW.agreement, SERVER.public())


def test_a_local_parcel_is_not_an_answer() -> None:
    from app.protocol.parcel_format import open_answer

    data = local_for(FELLOW, {})
    with pytest.raises(NotAParcel, match="laptop nearby"):
        open_answer(data, FELLOW, SERVER.public(), device_id="dev-fellow")


def test_the_hello_is_sealed_for_a_one_time_key() -> None:
    secret, public = new_hello_key()
    fellow_cert = certify(FELLOW, user="3", role="fellow", device_id="dev-fellow")
    reply = seal_local(b"{}", FELLOW, fellow_cert, hello_recipient(public), created_at=NOW)
    _info, who, _raw = open_local(reply, secret, SERVER.public())
    assert who.keys == FELLOW.public() and who.role == "fellow"
    with pytest.raises(ParcelForeign):
        open_local(reply, new_hello_key()[0], SERVER.public())
    for bad in (b"", b"x" * 31, b"x" * 33):
        with pytest.raises(ParcelTampered):
            hello_recipient(bad)


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b'{"reviews": []}', b'{"reviews": [], "withdrawn": [], "extra": 1}',
    b'{"reviews": [{"id": "x"}], "withdrawn": []}', b'{"reviews": [], "withdrawn": ["not-a-uuid"]}',
])
def test_a_local_answer_of_the_wrong_shape_is_refused(payload: bytes) -> None:
    with pytest.raises(ParcelTampered):
        read_local_answer(payload)
