"""Sync parcels on the laptop (app/sync/parcels.py) and ``fieldbook parcel``,
against a real server on loopback: the laptop signs in once, then syncs only
through files a courier carries; every bad file is refused with one line and
changes nothing."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from app import cli
from app.errors import NotAParcel, ParcelForeign, ParcelNotReady, ParcelTampered, ParcelTruncated
from app.models.orm import Meta
from app.models.store import Store
from app.sync import parcel_keys, parcels, replica
from app.sync.client import ApiClient
from app.sync.engine import sign_out
from tests.sync.conftest import Laptop, LiveServer

MakeLaptop = Callable[..., Laptop]
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


def courier_round_trip(laptop: Laptop, live_server: LiveServer, folder: Path) -> parcels.ImportReport:
    """Export on the laptop, deliver from another machine, import the answer."""
    out = folder / "li.fbparcel"
    parcels.export_parcel(laptop.store, out)
    courier = ApiClient(live_server.url)
    try:
        delivered = parcels.deliver_parcel(courier, out)
    finally:
        courier.close()
    assert delivered.answer_path == folder / "li.answer.fbparcel"
    assert not delivered.again
    return parcels.import_answer(laptop.store, delivered.answer_path)


def meta(store: Store) -> dict[str, str]:
    with store.reading() as session:
        return dict(session.execute(select(Meta.key, Meta.value)).all())


@pytest.mark.slow
def test_sign_in_registers_the_keys_and_a_round_trip_syncs(
    live_server: LiveServer, laptop: MakeLaptop, tmp_path: Path
) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    assert parcel_keys.registered_device(li.store) == li.store.device_id
    assert parcel_keys.server_public(li.store) is not None
    made = [li.store.create("lesson_plan", {**LESSON, "title": f"第{i}课"}, author="李").id for i in range(5)]
    zhao.store.create("lesson_plan", {**LESSON, "title": "赵的课"}, author="赵")
    zhao.sync()
    status = parcels.parcel_status(li.store)
    assert status.ready and status.synced_by_parcel_at is None and status.pending == 5

    report = courier_round_trip(li, live_server, tmp_path)
    assert report.pushed == 5 and report.moved_position
    assert replica.pending_count(li.store) == 0
    assert set(made) <= set(li.snapshot())
    status = parcels.parcel_status(li.store)
    assert status.synced_by_parcel_at == report.created_at and status.waiting == []
    # The cohort's trainer sees the parcel's records after a direct sync.
    zhao.sync()
    assert set(made) <= set(zhao.snapshot())

    # Importing the same answer again changes nothing.
    before = li.snapshot(), meta(li.store)
    again = parcels.import_answer(li.store, tmp_path / "li.answer.fbparcel")
    assert again.already and again.pushed == 0
    assert li.snapshot() == before[0]
    assert {k: v for k, v in meta(li.store).items() if k != "server_clock_offset"} == \
        {k: v for k, v in before[1].items() if k != "server_clock_offset"}


@pytest.mark.slow
def test_bad_files_are_refused_and_change_nothing(
    live_server: LiveServer, laptop: MakeLaptop, tmp_path: Path
) -> None:
    li, chen = laptop("li"), laptop("chen")
    li.store.create("lesson_plan", LESSON, author="李")
    out = tmp_path / "li.fbparcel"
    parcels.export_parcel(li.store, out)
    courier = ApiClient(live_server.url)
    try:
        answer = parcels.deliver_parcel(courier, out).answer_path
        assert parcels.deliver_parcel(courier, out, tmp_path / "again.fbparcel").again
        with pytest.raises(NotAParcel):
            parcels.deliver_parcel(courier, answer)  # an answer is not delivered
    finally:
        courier.close()
    before = li.snapshot(), meta(li.store)
    with pytest.raises(NotAParcel):
        parcels.import_answer(li.store, out)  # an outgoing parcel is not imported
    data = answer.read_bytes()
    cut, flipped = tmp_path / "cut.fbparcel", tmp_path / "flipped.fbparcel"
    cut.write_bytes(data[: len(data) - 7])
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x40
    flipped.write_bytes(bytes(changed))
    with pytest.raises(ParcelTruncated):
        parcels.import_answer(li.store, cut)
    with pytest.raises(ParcelTampered):
        parcels.import_answer(li.store, flipped)
    with pytest.raises(ParcelForeign):
        parcels.import_answer(chen.store, answer)  # sealed for li's laptop alone
    assert li.snapshot() == before[0] and meta(li.store) == before[1]
    # Signed out: the server dropped the key, and the laptop makes no parcel.
    sign_out(li.store, li.client, li.tokens)
    with pytest.raises(ParcelNotReady):
        parcels.export_parcel(li.store, tmp_path / "after.fbparcel")


def test_a_store_never_signed_in_makes_no_parcel(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "fieldbook.db")
    try:
        with pytest.raises(ParcelNotReady):
            parcels.export_parcel(store, tmp_path / "x.fbparcel")
        assert not (tmp_path / "x.fbparcel").exists()
    finally:
        store.close()


# --- the command line -----------------------------------------------------------------


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
        ) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_fieldbook_parcel_round_trip_on_the_command_line(
    live_server: LiveServer, laptop: MakeLaptop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    li = laptop("li")
    li.store.create("lesson_plan", LESSON, author="李")
    data = str(li.store.path.parent)
    li.store.close()  # the CLI opens the store itself
    parcel = tmp_path / "stick" / "li.fbparcel"
    parcel.parent.mkdir()
    code, out, err = run(monkeypatch, capsys, "parcel", "export", "-o", str(parcel), "--data-dir", data)
    assert code == 0, err
    assert "1 change(s)" in out and parcel.exists()
    code, out, _ = run(monkeypatch, capsys, "parcel", "status", "--data-dir", data)
    assert code == 0 and "no answer yet" in out
    # The courier's computer: an empty Fieldbook, only the server's address.
    courier = tmp_path / "courier"
    code, out, err = run(monkeypatch, capsys, "parcel", "deliver", str(parcel), "--server", live_server.url,
                         "--data-dir", str(courier))
    assert code == 0, err
    answer = parcel.with_name("li.answer.fbparcel")
    assert answer.exists() and str(answer) in out
    code, out, err = run(monkeypatch, capsys, "parcel", "import", str(answer), "--data-dir", data)
    assert code == 0, err
    assert "Synced by parcel" in out and "confirmed 1 change(s)" in out
    code, out, _ = run(monkeypatch, capsys, "parcel", "status", "--data-dir", data)
    assert "Synced by parcel at" in out and "0 change(s) not yet confirmed" in out

    # Bad input: one line, exit 1, nothing changed.
    store = Store.open(li.store.path)
    before = meta(store)
    store.close()
    junk = tmp_path / "junk.fbparcel"
    junk.write_bytes(b"not a parcel at all")
    for argv in (("parcel", "import", str(tmp_path / "missing.fbparcel")),
                 ("parcel", "import", str(parcel)),
                 ("parcel", "import", str(junk)),
                 ("parcel", "deliver", str(answer), "--server", live_server.url)):
        code, out, err = run(monkeypatch, capsys, *argv, "--data-dir", data)
        assert code == 1, (argv, out, err)
        assert err.startswith("fieldbook: ") and err.count("\n") == 1, err
    store = Store.open(li.store.path)
    assert meta(store) == before
    store.close()
    code, _, err = run(monkeypatch, capsys, "parcel", "export", "-o", str(tmp_path / "no" / "such" / "x"),
                       "--data-dir", data)
    assert code == 1 and err.count("\n") == 1


@pytest.mark.slow
def test_the_servers_keys_rotate_without_losing_a_parcel(
    live_server: LiveServer, laptop: MakeLaptop, tmp_path: Path
) -> None:
    from app.sync import nearby
    from app.sync.errors import RequestRejected

    li, zhao, wang = laptop("li"), laptop("zhao"), laptop("wang")
    first = parcel_keys.server_public(li.store)
    li.store.create("lesson_plan", {**LESSON, "title": "轮换前"}, author="李")
    before = tmp_path / "before.fbparcel"
    parcels.export_parcel(li.store, before)  # sealed for the keys the server is about to replace

    assert "New parcel keys" in live_server.cli("rotate-parcel-keys")
    live_server.restart()
    courier = ApiClient(live_server.url)
    try:
        answer = parcels.deliver_parcel(courier, before).answer_path
    finally:
        courier.close()
    report = parcels.import_answer(li.store, answer)  # signed with the keys li knows
    assert report.pushed == 1
    second = parcel_keys.server_public(li.store)
    assert second is not None and second != first  # learnt from the answer
    assert parcel_keys.server_key_ring(li.store) == (second, first)
    assert parcel_keys.certificate(li.store, current_only=True) is not None
    # Her next parcel is sealed for the new keys.
    li.store.create("lesson_plan", {**LESSON, "title": "轮换后"}, author="李")
    assert courier_round_trip(li, live_server, tmp_path).pushed == 1

    # A trainer who has not been in contact since knows only the old keys: he
    # cannot check her new certificate yet; his next sync (a token refresh)
    # teaches him the new keys and fetches his own new certificate.
    share = nearby.Sharing(li.store, interface="127.0.0.1")
    code = share.start()
    try:
        with pytest.raises(ParcelForeign):
            nearby.Courier(zhao.store).exchange(share.peer(), code)
        zhao.client.refresh()
        zhao.sync()
        assert parcel_keys.server_public(zhao.store) == second
        assert parcel_keys.certificate(zhao.store, current_only=True) is not None
        assert nearby.Courier(zhao.store).exchange(share.peer(), code).collected
    finally:
        share.close()

    # After a second rotation, a parcel still sealed for the first keys is refused.
    wang.store.create("lesson_plan", {**LESSON, "title": "很久没联系"}, author="王")
    stale = tmp_path / "stale.fbparcel"
    parcels.export_parcel(wang.store, stale)
    live_server.cli("rotate-parcel-keys")
    live_server.restart()
    courier = ApiClient(live_server.url)
    try:
        with pytest.raises(RequestRejected) as refused:
            parcels.deliver_parcel(courier, stale)
    finally:
        courier.close()
    assert refused.value.code == "parcel_foreign"
    assert replica.pending_count(wang.store) == 1  # nothing lost: it waits for the next sync
    wang.client.refresh()
    wang.sync()
    assert replica.pending_count(wang.store) == 0


@pytest.mark.slow
def test_a_restored_laptop_becomes_a_new_device_by_parcel_alone(
    live_server: LiveServer, laptop: MakeLaptop, tmp_path: Path
) -> None:
    import shutil

    li = laptop("li")
    first = li.store.create("lesson_plan", {**LESSON, "title": "备份里有"}, author="李").id
    path = li.store.path
    li.store.close()
    backup = tmp_path / "backup.db"
    shutil.copy2(path, backup)  # the copy the laptop is later restored from
    li.store = Store.open(path)
    lost = li.store.create("lesson_plan", {**LESSON, "title": "备份之后"}, author="李").id
    (tmp_path / "one").mkdir()
    courier_round_trip(li, live_server, tmp_path / "one")  # the server now holds both
    li.store.close()
    shutil.copy2(backup, path)  # a power cut, a restore: the store is older than what it sent
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    li.store = Store.open(path)
    old_device = li.store.device_id
    later = li.store.create("lesson_plan", {**LESSON, "title": "恢复之后"}, author="李").id
    (tmp_path / "two").mkdir()
    report = courier_round_trip(li, live_server, tmp_path / "two")
    assert report.new_device and li.store.device_id != old_device
    # No sign-in with a connection: the next parcel, as the new device, is taken,
    # its keys moved to the new id, and the laptop learns so from the answer.
    (tmp_path / "three").mkdir()
    report = courier_round_trip(li, live_server, tmp_path / "three")
    assert report.pushed >= 1 and not report.new_device
    assert parcel_keys.registered_device(li.store) == li.store.device_id
    assert replica.pending_count(li.store) == 0
    assert {first, lost, later} <= set(li.snapshot())  # nothing lost, the lost edit back from the server
