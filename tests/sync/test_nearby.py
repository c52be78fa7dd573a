"""Parcels in the same room (app/sync/nearby.py) against a real server on
loopback and real exchange sockets: a trainer's laptop collects a fellow's
parcel, hands back its own comments at once and the server's answer on the
next visit; the fellow's laptop never connects."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import threading
import uuid
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from sqlalchemy import delete

from app.errors import ParcelForeign, ParcelNotReady, ParcelTampered
from app.models import reviews
from app.models.orm import Meta
from app.models.store import Store
from app.protocol.peer_parcels import seal_local
from app.sync import lan, nearby, parcel_keys, replica
from app.sync.engine import sign_out
from tests.sync.conftest import Laptop, LiveServer

MakeLaptop = Callable[..., Laptop]
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}
HANG_BOUND_S = 30.0


def submitted_lesson(fellow: Laptop, trainer: Laptop) -> str:
    """A lesson the fellow submitted and the trainer has pulled, before the village."""
    record = fellow.store.create("lesson_plan", LESSON, author="李")
    reviews.submit(fellow.store, record.id)
    fellow.sync()
    trainer.sync()
    return record.id


def sharing(fellow: Laptop, events: list[nearby.SharingEvent]) -> nearby.Sharing:
    share = nearby.Sharing(fellow.store, events.append, interface="127.0.0.1")
    share.start()
    return share


@pytest.mark.slow
def test_a_village_visit_and_the_next_one(live_server: LiveServer, laptop: MakeLaptop) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    record = submitted_lesson(li, zhao)
    # In the village: li writes three more plans, zhao approves the first.
    made = [li.store.create("lesson_plan", {**LESSON, "title": f"第{i}课"}, author="李").id for i in range(3)]
    reviews.decide(zhao.store, record, "approve", "很好，下周试讲")
    reviews.add_comment(zhao.store, record, "板书可以再清楚些")
    events: list[nearby.SharingEvent] = []
    share = sharing(li, events)
    courier = nearby.Courier(zhao.store)
    try:
        code = share.pairing_code
        assert code is not None
        with pytest.raises(lan.LanError, match="403"):
            courier.exchange(share.peer(), "000000" if code != "000000" else "111111")
        first = courier.exchange(share.peer(), code)
    finally:
        share.close()
    assert first.fellow == "li 老师" and first.collected and first.reviews == 2 and not first.refused
    assert courier.counts() == (1, 0)
    assert [e.kind for e in events] == ["collected", "comments"] and events[1].person == "zhao 老师"
    # The fellow sees the comments before the trainer leaves, marked as not yet confirmed;
    # her record is as it was (only the server changes its status).
    thread = reviews.thread(li.store, record)
    handed = [e for e in thread if e.provisional]
    assert sorted(e.action for e in handed) == ["approve", "comment"]
    assert all(e.author == "zhao 老师" for e in handed)
    assert li.store.get(record).status == "submitted"
    assert replica.pending_count(li.store) == 3  # nothing of hers confirmed yet

    # In town: zhao syncs (his decisions reach the server from his own outbox) and delivers.
    zhao.sync()
    delivered = courier.deliver_all(zhao.client)
    assert delivered.delivered == 1 and not delivered.refused and courier.counts() == (0, 1)

    # Next visit: the answer goes back; nothing of zhao's is still waiting.
    events.clear()
    share = sharing(li, events)
    try:
        code = share.pairing_code
        assert code is not None
        second = courier.exchange(share.peer(), code)
    finally:
        share.close()
    assert second.answers == 1 and second.reviews == 0 and courier.counts() == (1, 0)
    assert [e.kind for e in events] == ["collected", "answer"]
    assert replica.pending_count(li.store) == 0 and set(made) <= set(li.snapshot())
    assert li.store.get(record).status == "approved"
    thread = reviews.thread(li.store, record)
    assert not [e for e in thread if e.provisional]
    # The server's copies replaced the handed ones (same ids), not doubled them.
    assert sorted((e.action, e.outcome) for e in thread if e.action in ("approve", "comment")) == \
        [("approve", "accepted"), ("comment", "accepted")]


@pytest.mark.slow
def test_entries_the_server_refused_are_withdrawn_at_the_next_meeting(
    live_server: LiveServer, laptop: MakeLaptop
) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    record = submitted_lesson(li, zhao)
    entry = reviews.add_comment(zhao.store, record, "先看这里")
    courier = nearby.Courier(zhao.store)
    share = sharing(li, [])
    try:
        code = share.pairing_code
        assert code is not None
        assert courier.exchange(share.peer(), code).reviews == 1
        assert reviews.provisional_count(li.store) == 1
        # The server refuses it when zhao syncs (as replica does with a "rejected" answer).
        sent = replica.pending_reviews(zhao.store)
        replica.mark_reviews_sent(zhao.store, sent, [{"id": entry.id, "outcome": "rejected"}])
        again = courier.exchange(share.peer(), code)
    finally:
        share.close()
    assert again.reviews == 0 and again.withdrawn == 1
    assert reviews.provisional_count(li.store) == 0


@pytest.mark.slow
def test_what_nobody_vouched_for_is_refused(live_server: LiveServer, laptop: MakeLaptop,
                                            tmp_path: Path) -> None:
    li, wang, chen, zhao = laptop("li"), laptop("wang"), laptop("chen"), laptop("zhao")
    record = submitted_lesson(li, zhao)
    share = sharing(li, [])
    try:
        code = share.pairing_code
        assert code is not None
        # chen sees nothing of li's: nothing of his is handed, and nothing changes.
        assert nearby.Courier(chen.store).exchange(share.peer(), code).reviews == 0
        # A laptop never signed in has no certificate: it cannot even start.
        stranger = Store.open(tmp_path / "stranger" / "fieldbook.db")
        try:
            with pytest.raises(ParcelNotReady):
                nearby.Courier(stranger).exchange(share.peer(), code)
            with pytest.raises(ParcelNotReady):
                nearby.Sharing(stranger, interface="127.0.0.1").start()
        finally:
            stranger.close()
    finally:
        share.close()
    # A fellow's laptop vouched for by the server may hand a comment, but a
    # decision shows only once the server has checked it.
    li_keys = parcel_keys.device_keys(li.store).public()
    wang_cert = parcel_keys.certificate(wang.store)
    assert wang_cert is not None
    entries: list[dict[str, object]] = [
        {"id": str(uuid.uuid4()), "record_id": record, "action": action, "body": "我觉得可以",
         "basis": [], "written_at": "2026-12-07T08:00:00+00:00"} for action in ("approve", "comment")]
    local = seal_local(json.dumps({"reviews": entries, "withdrawn": []}).encode(),
                       parcel_keys.device_keys(wang.store), wang_cert, li_keys.agreement,
                       created_at=dt.datetime.now(dt.UTC))
    assert nearby.import_local(li.store, local) == (1, 0, "wang 老师")
    assert [e.action for e in reviews.thread(li.store, record) if e.provisional] == ["comment"]
    # Handed twice: kept once.
    assert nearby.import_local(li.store, local) == (0, 0, "wang 老师")
    # Sealed for li's laptop: chen's refuses it, whoever carries it.
    with pytest.raises(ParcelForeign):
        nearby.import_local(chen.store, local)
    # Signed out: the certificate is gone with the registration.
    sign_out(li.store, li.client, li.tokens)
    assert parcel_keys.certificate(li.store) is None


# --- two processes: discovery by mDNS, then a real exchange ---------------------------


def _fellow_process(store_path: str, info: Queue[object], stop: Event) -> None:
    store = Store.open(Path(store_path))
    events: list[str] = []
    share = nearby.Sharing(store, lambda e: events.append(e.kind), interface="127.0.0.1")
    code = share.start()
    info.put((share.peer().session_id, code))
    stop.wait(HANG_BOUND_S * 4)
    share.close()
    info.put(events)
    store.close()


@pytest.mark.slow
def test_discovered_and_exchanged_between_two_processes(live_server: LiveServer, laptop: MakeLaptop) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    record = submitted_lesson(li, zhao)
    li.store.create("lesson_plan", {**LESSON, "title": "村小第一课"}, author="李")
    reviews.add_comment(zhao.store, record, "辛苦了")
    path = li.store.path
    li.store.close()
    ctx = mp.get_context("spawn")
    info: Queue[object] = ctx.Queue()
    stop = ctx.Event()
    process = ctx.Process(target=_fellow_process, args=(str(path), info, stop))
    process.start()
    found: dict[str, lan.Peer] = {}
    changed = threading.Condition()

    def added(peer: lan.Peer) -> None:
        with changed:
            found[peer.session_id] = peer
            changed.notify_all()

    browser = lan.Browser(added, lambda _p: None)
    try:
        started = info.get(timeout=HANG_BOUND_S)
        assert isinstance(started, tuple)
        session_id, code = str(started[0]), str(started[1])
        with changed:
            assert changed.wait_for(lambda: session_id in found, HANG_BOUND_S), "not discovered"
        report = nearby.Courier(zhao.store).exchange(found[session_id], code)
    finally:
        browser.close()
        stop.set()
    events = info.get(timeout=HANG_BOUND_S)
    process.join(HANG_BOUND_S)
    assert process.exitcode == 0
    assert report.collected and report.reviews == 1 and events == ["collected", "comments"]
    li.store = Store.open(path)
    assert [e.body for e in reviews.thread(li.store, record) if e.provisional] == ["辛苦了"]


@pytest.mark.slow
def test_a_laptop_without_a_certificate_gets_one_at_its_next_sync(live_server: LiveServer,
                                                                   laptop: MakeLaptop) -> None:
    li = laptop("li")
    li.sync()
    baseline = li.sync().requests  # nothing to do, a certificate at hand
    with li.store.writing() as work:  # as a laptop signed in before certificates existed
        work.session.execute(delete(Meta).where(Meta.key == parcel_keys.CERTIFICATE))
    assert parcel_keys.certificate(li.store) is None
    with pytest.raises(ParcelNotReady):
        nearby.Sharing(li.store, interface="127.0.0.1").start()
    assert li.sync().requests == baseline + 1
    certificate = parcel_keys.certificate(li.store)
    assert certificate is not None and certificate.device_id == li.store.device_id
    assert li.sync().requests == baseline  # asked once, not at every sync


@pytest.mark.slow
def test_the_command_line_shows_and_delivers_what_is_carried(
    live_server: LiveServer, laptop: MakeLaptop, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.sync.test_cli import run

    li, zhao = laptop("li"), laptop("zhao")
    record = submitted_lesson(li, zhao)
    reviews.add_comment(zhao.store, record, "好")
    share = sharing(li, [])
    try:
        code = share.pairing_code
        assert code is not None
        nearby.Courier(zhao.store).exchange(share.peer(), code)
    finally:
        share.close()
    li_data, zhao_data = str(li.store.path.parent), str(zhao.store.path.parent)
    li.store.close()
    zhao.store.close()  # the command line opens the stores itself
    status, out, _ = run(monkeypatch, capsys, "parcel", "status", "--data-dir", li_data)
    assert status == 0 and "1 comment(s) handed over by a trainer" in out
    status, out, _ = run(monkeypatch, capsys, "parcel", "status", "--data-dir", zhao_data)
    assert status == 0 and "1 parcel(s) of laptops met nearby to deliver" in out
    status, out, err = run(monkeypatch, capsys, "sync", "--server", live_server.url, "--user", "zhao",
                           "--password-stdin", "--data-dir", zhao_data,
                           stdin=live_server.users["zhao"] + "\n")
    assert status == 0, err
    assert "Carried parcels: delivered 1" in out
    status, out, _ = run(monkeypatch, capsys, "parcel", "status", "--data-dir", zhao_data)
    assert "0 parcel(s) of laptops met nearby to deliver" in out and "1 answer(s) to hand back" in out


@pytest.mark.slow
def test_a_damaged_answer_is_refused_there_and_dropped_here(live_server: LiveServer,
                                                            laptop: MakeLaptop) -> None:
    li, zhao = laptop("li"), laptop("zhao")
    li.store.create("lesson_plan", LESSON, author="李")
    courier = nearby.Courier(zhao.store)
    events: list[nearby.SharingEvent] = []
    share = sharing(li, events)
    try:
        code = share.pairing_code
        assert code is not None
        courier.exchange(share.peer(), code)
        assert courier.deliver_all(zhao.client).delivered == 1
        [answer] = list(courier.answers.iterdir())
        data = bytearray(answer.read_bytes())
        data[-40] ^= 0x20  # inside the sealed body: the hint still names li's laptop
        answer.write_bytes(bytes(data))
        report = courier.exchange(share.peer(), code)
    finally:
        share.close()
    assert report.answers == 0 and report.refused == [ParcelTampered.default_message]
    assert not list(courier.answers.iterdir())  # useless: not carried again
    assert replica.pending_count(li.store) == 1  # nothing applied there
    assert [e.kind for e in events][-1] == "refused"
