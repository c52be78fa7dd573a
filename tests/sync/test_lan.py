"""LAN discovery and exchange between two real processes over loopback mDNS."""

from __future__ import annotations

import http.client
import multiprocessing as mp
import queue
import threading
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import pytest

from app.sync import lan

PARCEL = b"FBPARCEL-sealed-bytes\x00\xff" * 100
HANG_BOUND_S = 30.0
Fellow = tuple[tuple[str, str, int], "Queue[object]", "Queue[bytes]", Event, BaseProcess]


def _fellow(info: Queue[object], answers: Queue[bytes], stop: Event) -> None:
    """Child process: a fellow's laptop sharing until told to stop."""

    def sink(answer: bytes) -> bytes:
        answers.put(answer)
        return b'{"applied": 1}'

    announcer = lan.Announcer(lambda: PARCEL, sink)
    announcer.start()
    info.put((announcer.session_id, announcer.pairing_code, announcer.port))
    stop.wait(HANG_BOUND_S * 4)
    announcer.close()
    announcer.close()  # idempotent
    info.put("closed")


@pytest.fixture
def fellow() -> Iterator[Fellow]:
    ctx = mp.get_context("spawn")
    info: Queue[object] = ctx.Queue()
    answers: Queue[bytes] = ctx.Queue()
    stop = ctx.Event()
    process = ctx.Process(target=_fellow, args=(info, answers, stop))
    process.start()
    started = info.get(timeout=HANG_BOUND_S)
    assert isinstance(started, tuple)
    session_id, code, port = started
    yield (str(session_id), str(code), int(port)), info, answers, stop, process
    stop.set()
    process.join(HANG_BOUND_S)
    assert process.exitcode == 0


class _Seen:
    def __init__(self) -> None:
        self.added: dict[str, lan.Peer] = {}
        self.removed: set[str] = set()
        self.changed = threading.Condition()

    def add(self, peer: lan.Peer) -> None:
        with self.changed:
            self.added[peer.session_id] = peer
            self.changed.notify_all()

    def remove(self, peer: lan.Peer) -> None:
        with self.changed:
            self.removed.add(peer.session_id)
            self.changed.notify_all()


def test_discover_fetch_answer_and_stop_sharing(fellow: Fellow) -> None:
    (session_id, code, _port), info, answers, stop, _process = fellow
    seen = _Seen()
    browser = lan.Browser(seen.add, seen.remove)
    try:
        with seen.changed:
            assert seen.changed.wait_for(lambda: session_id in seen.added, HANG_BOUND_S), "not discovered"
        peer = seen.added[session_id]
        assert browser.fetch_parcel(peer, code) == PARCEL

        wrong = "000000" if code != "000000" else "111111"
        with pytest.raises(lan.LanError, match="403: wrong pairing code"):
            browser.fetch_parcel(peer, wrong)

        answer = bytes(range(256)) * 64
        assert browser.push_answer(peer, code, answer) == b'{"applied": 1}'
        assert answers.get(timeout=HANG_BOUND_S) == answer

        stop.set()
        assert info.get(timeout=HANG_BOUND_S) == "closed"
        with seen.changed:
            assert seen.changed.wait_for(lambda: session_id in seen.removed, HANG_BOUND_S), "still listed"
        with pytest.raises(lan.LanError, match="could not reach"):
            browser.fetch_parcel(peer, code)
    finally:
        browser.close()
        browser.close()


def test_oversize_body_refused(fellow: Fellow) -> None:
    (session_id, code, port), _info, answers, _stop, _process = fellow
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_BOUND_S)
    connection.putrequest("PUT", "/answer")
    connection.putheader("Content-Length", str(lan.MAX_BODY_BYTES + 1))
    connection.putheader(lan.AUTH_HEADER, lan.request_mac(code, session_id, "PUT", "/answer", b""))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert response.read() == b"body too large"
    connection.close()
    with pytest.raises(queue.Empty):
        answers.get_nowait()


def test_mac_binds_method_path_and_body() -> None:
    mac = lan.request_mac("123456", "abc", "PUT", "/answer", b"x")
    assert mac != lan.request_mac("123456", "abc", "PUT", "/answer", b"y")
    assert mac != lan.request_mac("123457", "abc", "PUT", "/answer", b"x")
    assert mac != lan.request_mac("123456", "abd", "PUT", "/answer", b"x")
    assert len(lan.new_pairing_code()) == 6


def _get_parcel(announcer: lan.Announcer, code: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", announcer.port, timeout=HANG_BOUND_S)
    try:
        mac = lan.request_mac(code, announcer.session_id, "GET", "/parcel", b"")
        connection.request("GET", "/parcel", headers={lan.AUTH_HEADER: mac})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_sharing_stops_after_too_many_wrong_codes() -> None:
    """A stranger on the hotspot guessing codes gets MAX_WRONG_CODES tries,
    then nothing, not even with the right code; a few typos in between right
    ones do not stop a trainer."""
    locked = threading.Event()
    announcer = lan.Announcer(lambda: PARCEL, lambda _answer: b"{}", on_locked=locked.set)
    announcer.start()
    try:
        code = announcer.pairing_code
        wrong = "000000" if code != "000000" else "111111"
        for _typo in range(lan.MAX_WRONG_CODES - 1):
            assert _get_parcel(announcer, wrong)[0] == 403
        assert _get_parcel(announcer, code) == (200, PARCEL)  # the right one: the count starts again
        for _guess in range(lan.MAX_WRONG_CODES - 1):
            assert _get_parcel(announcer, wrong)[0] == 403
        assert not locked.is_set() and announcer.sharing
        assert _get_parcel(announcer, wrong)[0] == 403  # the tenth in a row
        assert locked.is_set() and announcer.locked and not announcer.sharing
        assert _get_parcel(announcer, code) == (503, lan.LOCKED_MESSAGE)
    finally:
        announcer.close()


def test_a_typed_address_finds_the_sharing_and_nothing_more() -> None:
    """Where a network drops multicast the trainer types the address the
    fellow's screen shows: ``/session`` says what mDNS would (the session id),
    with no code; the parcel still needs the code, and a stopped sharing or
    an address with nothing sharing is refused."""
    announcer = lan.Announcer(lambda: PARCEL, lambda _answer: b'{"ok": true}')
    announcer.start()
    try:
        peer = lan.peer_at("127.0.0.1", announcer.port)
        assert (peer.session_id, peer.host, peer.port) == (announcer.session_id, "127.0.0.1",
                                                           announcer.port)
        assert lan.fetch_parcel(peer, announcer.pairing_code) == PARCEL
        wrong = "000000" if announcer.pairing_code != "000000" else "111111"
        with pytest.raises(lan.LanError) as refused:
            lan.fetch_parcel(peer, wrong)
        assert refused.value.status == 403
        port = announcer.port
    finally:
        announcer.close()
    with pytest.raises(lan.LanError) as gone:
        lan.peer_at("127.0.0.1", port)
    assert gone.value.status is None  # nothing listens there any more


@pytest.mark.parametrize("typed", ["192.168.43", "192.168.43.27", "192.168.43.27:0", "host:53211",
                                   "192.168.43.27:99999", ""])
def test_an_address_that_is_not_one_is_refused_in_words(typed: str) -> None:
    with pytest.raises(ValueError, match=r"like 192\.168\.43\.27:53211"):
        lan.parse_address(typed)


def test_an_address_as_the_screen_shows_it() -> None:
    assert lan.parse_address(" 192.168.43.27:53211 ") == ("192.168.43.27", 53211)
