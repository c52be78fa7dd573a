"""Sync over a bad network, with killed laptops, restarted servers and wrong
clocks: no edit is ever lost or applied twice.

A real server on loopback (``live_server``), real stores in temporary folders,
and between them a :class:`~tests.faultproxy.FaultProxy` that cuts, delays,
throttles, stalls or refuses connections. After every fault the invariant is
checked against the server's own database: every replica holds exactly the
server's records (ids, every field value, deleted flags and versions), every
edit made is there once, and the server's write counter moved exactly as far
as the edits that reached it (a replay that applied anything again would move
it further).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from app.models.store import Store
from app.paths import store_path
from app.protocol.sync import API_PREFIX, PROTOCOL_HEADER, PROTOCOL_VERSION, encode
from app.sync import replica
from app.sync.client import ApiClient
from app.sync.engine import SyncReport, sign_in
from app.sync.errors import (
    BadResponse,
    Offline,
    ServerReset,
    ServerUnavailable,
    SyncError,
)
from app.sync.tokens import TokenStore
from tests.e2e.conftest import (
    Machine,
    ServerState,
    assert_replica_equals_server,
    kill_server,
    local_view,
    server_state,
)
from tests.faultproxy import FaultProxy
from tests.sync.conftest import ROOT, Laptop, LiveServer

pytestmark = pytest.mark.slow

MakeMachine = Callable[..., Machine]
PUSH = b"POST /api/v1/sync/push"
PULL = b"POST /api/v1/sync/pull"


def words(rng: random.Random, n: int) -> str:
    """``n`` random Chinese characters: text that gzip cannot shrink to nothing."""
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def lesson(rng: random.Random, label: str, size: int = 200) -> dict[str, Any]:
    return {"title": f"{label} {words(rng, 6)}", "subject": "math", "grade": rng.randint(1, 9),
            "objectives": words(rng, size)}


def push_body(store: Store) -> tuple[int, int, int]:
    """The next push batch as the engine will send it: (gzip body bytes,
    groups, records touched)."""
    batch = replica.pending_groups(store)
    body, _ = encode({"protocol": PROTOCOL_VERSION, "device_id": store.device_id, "changes": batch})
    return len(body), len(batch), len({g["record_id"] for g in batch})


def last_change_seq(store: Store) -> int:
    """The newest seq the store gave out (confirmed rows leave the change log;
    AUTOINCREMENT remembers the highest in sqlite_sequence)."""
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
    return int(row[0]) if row else 0


def converged(server: LiveServer, *laptops: Laptop) -> ServerState:
    """Every laptop holds exactly what the server holds for its user."""
    state = server_state(server)
    for i, one in enumerate(laptops):
        assert_replica_equals_server(one.store, state, one.username, f"{one.username}#{i}")
    return state


def live_titles(state: ServerState) -> list[str]:
    return [rec[3]["title"] for rec in state.view.values() if not rec[2]]


# --- the proxy itself ------------------------------------------------------------------


@contextlib.contextmanager
def echo_server(received: bytearray) -> Iterator[int]:
    """A loopback TCP echo server (for testing the proxy without HTTP);
    whatever reaches it is added to ``received``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                received.extend(data)
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_the_proxy_forwards_counts_cuts_throttles_and_refuses() -> None:
    received = bytearray()
    with echo_server(received) as port, FaultProxy(port) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
            proxy.cut_after_upstream_bytes(3, after=b"MARK")
            sock.sendall(b"xxMARKyyzz")
            with contextlib.suppress(OSError):
                sock.recv(100)  # some of the echo, or nothing: the connection is reset
        # "xx" comes before the marker; the marker's first 3 bytes pass, then the cut.
        proxy.wait_for(lambda: proxy.cuts == 1, 30)
        deadline = time.monotonic() + 30  # bounds a hang only
        while bytes(received) != b"helloxxMAR" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert bytes(received) == b"helloxxMAR"
        stats = proxy.stats()
        assert (stats.connections, stats.cuts, stats.bytes_up) == (1, 1, 10)
        assert [e.head for e in proxy.exchanges] == [b"hello", b"xxMARKyyzz"]
        assert proxy.exchanges[1].cut

        proxy.throttle(20_000)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            began = time.monotonic()
            sock.sendall(b"z" * 10_000)
            assert recv_exactly(sock, 10_000) == b"z" * 10_000
            # Both ways at once (the echo answers as bytes arrive): about half a second.
            assert time.monotonic() - began >= 0.4, "10 KB at 20 KB/s"
        proxy.heal()

        proxy.refuse()
        # The reset can come while connecting, while sending or while reading.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", proxy.port), 5) as sock:
            sock.sendall(b"anyone?")
            assert sock.recv(10) == b""
        proxy.wait_for(lambda: proxy.stats().refused == 1, 30)
        assert received.endswith(b"z" * 10), "nothing of a refused connection reaches the server"
        proxy.refuse(False)

        proxy.stall()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(b"wait")
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(10)
            proxy.stall(False)
            sock.settimeout(5)
            assert recv_exactly(sock, 4) == b"wait"


# --- 1. the connection drops in the middle of a push ----------------------------------------


def test_a_push_cut_mid_request_applies_nothing_and_the_retry_applies_it_once(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(1)
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"准备 {i}"), author="李老师").id for i in range(4)]
    body, _, _ = push_body(a.store)
    start = len(a.proxy.exchanges)
    a.laptop.sync()
    [first] = a.proxy.exchanges_of(PUSH, start)
    head = first.up - body  # request line and headers of a push from this client

    offsets: dict[str, Callable[[int], int]] = {
        "before the first byte": lambda size: 0,
        "in the request line": lambda size: 10,
        "in the headers": lambda size: head // 2,
        "just into the body": lambda size: head + 3,
        "halfway through the body": lambda size: head + size // 2,
        "all but the last byte": lambda size: head + size - 1,
    }
    for round_, (where, offset) in enumerate(offsets.items()):
        for i in range(2):
            ids.append(a.store.create("lesson_plan", lesson(rng, f"第{round_}轮 {i}"), author="李老师").id)
        a.store.update(rng.choice(ids[-6:-2]), {"objectives": words(rng, 150), "grade": rng.randint(1, 9)})
        if round_ % 2:
            a.store.delete(ids[round_ // 2])
        size, groups, touched = push_body(a.store)
        before = server_state(live_server)
        pushed = replica.sync_meta(a.store).pushed_seq

        a.proxy.cut_after_upstream_bytes(offset(size), after=PUSH)
        with pytest.raises(Offline):
            a.laptop.sync()
        assert a.proxy.pending_rules() == 0, f"{where}: the cut did not happen"
        assert server_state(live_server) == before, f"{where}: a partial push changed the server"
        assert replica.sync_meta(a.store).pushed_seq == pushed

        start = len(a.proxy.exchanges)
        report = a.laptop.sync()
        [retry] = a.proxy.exchanges_of(PUSH, start)
        assert retry.up == head + size, f"{where}: the offsets assumed another request size"
        assert report.pushed == groups and report.rejections == []
        after = server_state(live_server)
        assert after.seq == before.seq + touched, f"{where}: the server applied a change twice"
        assert after.devices[a.store.device_id] == last_change_seq(a.store)

    b.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert sorted(state.view) == sorted(ids), "every record once, no other"
    assert len(set(live_titles(state))) == len(live_titles(state))
    assert state.conflicts == [] and state.notices == []


# --- 2. the answer is lost ------------------------------------------------------------------


def test_a_lost_push_answer_is_resent_and_applied_once(machine: MakeMachine, live_server: LiveServer) -> None:
    rng = random.Random(2)
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"课 {i}"), author="李老师").id for i in range(3)]
    start = len(a.proxy.exchanges)
    a.laptop.sync()
    [first] = a.proxy.exchanges_of(PUSH, start)
    answer = first.down

    for n in (0, 12, answer // 2, answer - 1):
        ids.append(a.store.create("lesson_plan", lesson(rng, f"新 {n}"), author="李老师").id)
        a.store.update(rng.choice(ids[:-1]), {"homework": words(rng, 40)})
        _, groups, touched = push_body(a.store)
        before = server_state(live_server)
        pushed = replica.sync_meta(a.store).pushed_seq

        start = len(a.proxy.exchanges)
        a.proxy.cut_after_downstream_bytes(n, after=PUSH)
        with pytest.raises((Offline, BadResponse)):
            a.laptop.sync()
        [lost] = a.proxy.exchanges_of(PUSH, start)
        assert lost.cut and lost.down == n
        applied = server_state(live_server)
        assert applied.seq == before.seq + touched, "the server applied the batch"
        assert applied.devices[a.store.device_id] == last_change_seq(a.store)
        assert replica.sync_meta(a.store).pushed_seq == pushed, "but the client never heard so"

        start = len(a.proxy.exchanges)
        report = a.laptop.sync()
        [resent] = a.proxy.exchanges_of(PUSH, start)
        assert resent.up == lost.up, "the same batch was sent again"
        assert report.pushed == groups
        assert server_state(live_server) == applied, "the replay changed nothing on the server"
        assert replica.pending_count(a.store) == 0

    b.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert sorted(state.view) == sorted(ids)
    assert state.conflicts == []


def test_a_lost_pull_page_resumes_without_downloading_applied_pages_again(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(3)
    a = machine("li")
    for i in range(40):
        a.store.create("lesson_plan", lesson(rng, f"页 {i}"), author="李老师")
    a.laptop.sync()

    # A laptop that pulls it all without trouble: five pages of eight.
    whole = machine("li")
    start = len(whole.proxy.exchanges)
    assert whole.laptop.sync(pull_limit=8).pull_pages == 5
    pages = whole.proxy.exchanges_of(PULL, start)
    full_bytes = sum(e.down for e in pages)

    b = machine("li")
    b.proxy.capture()
    b.proxy.cut_after_downstream_bytes(pages[2].down // 2, after=PULL, skip=2)
    with pytest.raises((Offline, BadResponse)):
        b.laptop.sync(pull_limit=8)
    meta = replica.sync_meta(b.store)
    assert b.laptop.live() == 16, "two pages applied, the cut third one not at all"
    assert meta.resume is not None and meta.last_synced_at is None

    start = len(b.proxy.exchanges)
    report = b.laptop.sync(pull_limit=8)
    pulls = b.proxy.exchanges_of(PULL, start)
    assert report.pull_pages == 3 and report.pulled == 24 and report.created == 24
    assert len(pulls) == 3, "only the pages not yet applied were asked for"
    assert pulls[0].captured is not None and meta.resume.encode() in bytes(pulls[0].captured)
    assert sum(e.down for e in pulls) < 0.75 * full_bytes
    state = converged(live_server, a.laptop, whole.laptop, b.laptop)
    assert len(state.view) == 40


def test_a_link_that_drops_every_few_kilobytes_still_gets_everything_through(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(4)
    a, b = machine("li"), machine("li")
    for i in range(40):
        a.store.create("lesson_plan", lesson(rng, f"断 {i}", size=300), author="李老师")
    batch_size, _, _ = push_body(a.store)
    # Batches of five groups: each fits between two cuts, the whole push does not.
    a.proxy.cut_after_upstream_bytes(max(batch_size // 4, 3000), every=True)
    attempts = 0
    while True:
        attempts += 1
        assert attempts <= 20, "no progress through a flaky link"
        try:
            a.laptop.sync(batch_groups=5)
            break
        except (Offline, BadResponse):
            continue
    assert attempts > 2 and a.proxy.cuts >= 2

    b.proxy.cut_after_downstream_bytes(max(batch_size // 4, 3000), every=True)
    attempts = 0
    while True:
        attempts += 1
        assert attempts <= 20, "no progress through a flaky link"
        try:
            b.laptop.sync(pull_limit=5)
            break
        except (Offline, BadResponse):
            continue
    assert attempts > 2 and b.proxy.cuts >= 2
    state = converged(live_server, a.laptop, b.laptop)
    assert len(state.view) == 40 and state.seq == 40, "each record written once"


# --- 3. a slow, laggy link --------------------------------------------------------------------


def test_a_slow_laggy_link_completes_a_multi_page_sync(machine: MakeMachine, live_server: LiveServer) -> None:
    rng = random.Random(5)
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"慢 {i}"), author="李老师").id for i in range(24)]
    for one in (a, b):
        one.proxy.delay(300)
        one.proxy.throttle(32 * 1024)
    report = a.laptop.sync(batch_groups=10)
    assert report.push_batches == 3
    assert report.duration_s > 3 * 0.6, "every exchange paid the latency"
    report = b.laptop.sync(pull_limit=10)
    assert report.pull_pages == 3 and report.created == 24
    for one in (a, b):
        one.proxy.heal()
    b.store.update(ids[0], {"title": "慢慢来"})
    b.laptop.sync()
    a.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert sorted(state.view) == sorted(ids) and state.seq == 25


def test_a_stalled_or_refusing_link_fails_in_time_and_changes_nothing(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(6)
    a = machine("li", timeout=(2.0, 2.0))
    for i in range(3):
        a.store.create("lesson_plan", lesson(rng, f"等 {i}"), author="李老师")
    before = server_state(live_server)
    a.proxy.refuse()
    with pytest.raises(Offline):
        a.laptop.sync()
    a.proxy.refuse(False)
    assert server_state(live_server) == before

    a.proxy.stall()
    began = time.monotonic()
    with pytest.raises(ServerUnavailable, match="too long"):
        a.laptop.sync()
    # The link stalls for ever: the client's timeouts end the sync. The bound
    # is far above them (2 s each), so only a sync that hangs can fail it.
    assert time.monotonic() - began < 60
    # The held request may still reach the server once the link comes back
    # (a late packet); either way the next sync applies everything once.
    a.proxy.heal()
    a.laptop.sync()
    b = machine("li")
    b.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert len(state.view) == 3 and state.seq == 3


# --- 4. the app is killed in the middle of a sync -------------------------------------------


def device_last_seq(server: LiveServer, device_id: str) -> int:
    """The server's high-water mark for one device (0 before its first push)."""
    with contextlib.closing(sqlite3.connect(f"file:{server.db}?mode=ro", uri=True, timeout=5)) as conn:
        row = conn.execute("SELECT last_seq FROM devices WHERE device_id = ?", (device_id,)).fetchone()
    return int(row[0]) if row else 0


def start_cli(url: str, data: Path, user: str, password: str, *extra: str) -> subprocess.Popen[bytes]:
    """``python -m app sync`` in its own process, as a teacher would run it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "sync", "--server", url, "--user", user, "--password-stdin",
         "--data-dir", str(data), "--retries", "0", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None
    process.stdin.write((password + "\n").encode())
    process.stdin.close()
    process.stdin = None  # communicate() must not flush it again
    return process


def finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, (out + err).decode(errors="replace")


def run_cli(url: str, data: Path, user: str, password: str, *extra: str) -> tuple[int, str]:
    return finish(start_cli(url, data, user, password, *extra))


def kill(process: subprocess.Popen[bytes]) -> str:
    """SIGKILL (no chance to clean up); its exit code and what it said last."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    code, said = finish(process, 30)
    last = said.strip().splitlines()[-1:] or [""]
    return f"exit {code} {last[0][:200]}"


class Expected:
    """What the server must end up with: every record made and the last value
    written to each field (edits that nobody else touches)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()

    def created(self, record_id: str, values: dict[str, Any]) -> None:
        self.values[record_id] = dict(values)

    def edited(self, record_id: str, values: dict[str, Any]) -> None:
        self.values[record_id].update(values)

    def check(self, state: ServerState) -> None:
        assert sorted(state.view) == sorted(self.values), "exactly the records made, each once"
        for rid, values in self.values.items():
            fields = state.view[rid][3]
            assert {k: fields[k] for k in values} == values, f"record {rid}: an edit is missing"
            assert state.view[rid][2] == (rid in self.deleted)


def local_edits(store: Store, rng: random.Random, expected: Expected, mine: list[str], label: str,
                creates: int = 3) -> None:
    """A few creations, edits and maybe a delete, as a teacher would make between syncs."""
    for i in range(creates):
        values = lesson(rng, f"{label}-{i}", size=300)
        rid = store.create("lesson_plan", values, author="李老师").id
        mine.append(rid)
        expected.created(rid, values)
    live = [rid for rid in mine if rid not in expected.deleted]
    for rid in rng.sample(live, min(2, len(live))):
        change = {"homework": f"{label} {words(rng, 30)}", "grade": rng.randint(1, 9)}
        store.update(rid, change)
        expected.edited(rid, change)
    if rng.random() < 0.4 and len(live) > 4:
        victim = rng.choice(live)
        store.delete(victim)
        expected.deleted.add(victim)


def test_a_sync_killed_at_any_moment_converges_with_every_edit_once(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> None:
    rng = random.Random(20240607)
    password = live_server.users["li"]
    other = machine("li")  # li's second laptop, syncing normally
    expected = Expected()
    theirs: list[str] = []
    local_edits(other.store, rng, expected, theirs, "另一台", creates=20)
    other.laptop.sync()

    data = tmp_path / "killed-laptop"
    store = Store.open(store_path(data))
    device = store.device_id
    mine: list[str] = []
    local_edits(store, rng, expected, mine, "本机", creates=20)
    store.close()

    # When to kill: a condition on the traffic of this round (from exchange
    # number ``since`` on), or a number of seconds after the start.
    def push_sent(proxy: FaultProxy, enough: int) -> Callable[[int], bool]:
        return lambda since: any(e.up >= enough for e in proxy.exchanges_of(PUSH, since))

    def pull_received(proxy: FaultProxy, enough: int) -> Callable[[int], bool]:
        return lambda since: any(e.down >= enough for e in proxy.exchanges_of(PULL, since))

    def kill_now(trigger: Callable[[int], bool], process: subprocess.Popen[bytes], since: int) -> bool:
        return trigger(since) or process.poll() is not None

    def push_applied(since: int) -> bool:
        return device_last_seq(live_server, device) >= newest_change

    with FaultProxy(live_server.port) as proxy:
        plans: list[tuple[str, Callable[[int], bool] | float]] = [
            ("while downloading the first pull page", pull_received(proxy, 3000)),
            ("as a push starts to go out", push_sent(proxy, 600)),
            ("after the server applied the push, before its answer arrived", push_applied),
            *((f"at a random moment ({t:.2f} s)", t) for t in (rng.uniform(0.3, 4.0) for _ in range(4))),
        ]
        what_happened: list[str] = []
        newest_change = 0
        for round_, (when, trigger) in enumerate(plans):
            proxy.heal()
            proxy.throttle(12_000)
            if trigger is push_applied:
                proxy.delay(1500, direction="down")
            if round_:
                store = Store.open(store_path(data))
                local_edits(store, rng, expected, mine, f"第{round_}轮")
                newest_change = last_change_seq(store)
                store.close()
                local_edits(other.store, rng, expected, theirs, f"另一台{round_}", creates=1)
                other.laptop.sync()
            since = len(proxy.exchanges)
            process = start_cli(proxy.url, data, "li", password)
            try:
                if isinstance(trigger, float):
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=trigger)
                else:
                    proxy.wait_for(partial(kill_now, trigger, process, since), 30)
            finally:
                said = kill(process)
            last = proxy.exchanges[-1] if len(proxy.exchanges) > since else None
            doing = f"{last.head[:23]!r} {last.up} B up, {last.down} B down" if last else "nothing sent"
            what_happened.append(f"{when}: {said} [{doing}]")
            # Bytes the dead laptop had already sent still arrive (as on a
            # real network); let them settle before the next round.
            proxy.heal()
            proxy.wait_for(lambda: proxy.open_connections() == 0, 30)
            store = Store.open(store_path(data))  # opens cleanly after a kill
            store.close()
        print("\n".join(what_happened))  # shown when the test fails, and with -s
        assert sum("exit -9" in line for line in what_happened) >= 4, "\n".join(what_happened)

        proxy.heal()
        code, said = run_cli(proxy.url, data, "li", password)
        assert code == 0, said + "\n" + "\n".join(what_happened)
        code, said = run_cli(proxy.url, data, "li", password)
        assert code == 0 and "sent 0 change(s)" in said, said

    other.laptop.sync()
    state = server_state(live_server)
    expected.check(state)
    assert state.conflicts == [], "nobody edited a record concurrently: a conflict means a double"
    store = Store.open(store_path(data))
    try:
        assert_replica_equals_server(store, state, "li", "killed laptop")
        assert state.devices[device] == last_change_seq(store)
        assert replica.pending_count(store) == 0
    finally:
        store.close()
    assert_replica_equals_server(other.store, state, "li", "other laptop")


# --- 5. the server restarts in the middle of a sync -------------------------------------------


@pytest.mark.parametrize("during", ["push", "pull"])
@pytest.mark.parametrize("how", ["restart", "crash"])
def test_a_server_restart_mid_sync_fails_or_finishes_and_the_next_sync_converges(
    machine: MakeMachine, live_server: LiveServer, how: str, during: str
) -> None:
    rng = random.Random(f"{how}-{during}")
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"重启 {i}", size=300), author="李老师").id
           for i in range(30)]
    if during == "pull":
        a.laptop.sync()
        syncing, marker = b, PULL
    else:
        syncing, marker = a, PUSH
    syncing.proxy.throttle(16_000)
    outcome: list[SyncReport | SyncError] = []

    def run() -> None:
        try:  # several batches and pages, so that the restart falls between two
            outcome.append(syncing.laptop.sync(batch_groups=10, pull_limit=10))
        except SyncError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        syncing.proxy.wait_for(
            lambda: any(e.up + e.down >= 3000 for e in syncing.proxy.exchanges_of(marker)), 30)
        if how == "crash":
            kill_server(live_server)
            live_server.start()
        else:
            live_server.restart()
    finally:
        thread.join(60)
    assert not thread.is_alive()
    [result] = outcome
    syncing.proxy.heal()
    for one in (a, b, a):
        one.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert sorted(state.view) == sorted(ids)
    assert state.seq == 30, f"each record written once (the interrupted sync: {result!r})"
    assert state.conflicts == []
    if how == "crash" and during == "push":
        assert isinstance(result, Offline | ServerUnavailable), "the batch being sent was lost"


# --- 6. replayed pushes -----------------------------------------------------------------------


def raw_http(port: int, request: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send raw bytes as captured on the wire; the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection without an answer"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines
                      if line.lower().startswith("content-length:"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return int(lines[0].split()[1]), body


def test_a_replayed_push_captured_on_the_wire_applies_nothing(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(6)
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"重放 {i}"), author="李老师").id for i in range(5)]
    a.proxy.capture()
    a.laptop.sync()
    [push] = a.proxy.exchanges_of(PUSH)
    assert push.captured is not None
    captured = bytes(push.captured)
    applied = server_state(live_server)

    status, body = raw_http(live_server.port, captured)
    assert status == 200 and b'"results":[]' in body
    assert server_state(live_server) == applied, "a replay wrote something"

    # Newer edits of the same fields; then the old batch comes again (a
    # delayed duplicate): it must not bring the old values back.
    for rid in ids:
        a.store.update(rid, {"title": f"改过 {rid[:8]}", "objectives": words(rng, 50)})
    a.laptop.sync()
    newer = server_state(live_server)
    status, _ = raw_http(live_server.port, captured)
    assert status == 200
    assert server_state(live_server) == newer
    live_server.restart()
    status, _ = raw_http(live_server.port, captured)  # the high-water mark survives a restart
    assert status == 200
    assert server_state(live_server) == newer
    b.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert all(state.view[rid][3]["title"] == f"改过 {rid[:8]}" for rid in ids)


def test_the_same_push_sent_concurrently_is_applied_once(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    rng = random.Random(7)
    a, b = machine("li"), machine("li")
    ids = [a.store.create("lesson_plan", lesson(rng, f"并发 {i}"), author="李老师").id for i in range(6)]
    a.store.update(ids[0], {"homework": "先做这个"})
    batch = replica.pending_groups(a.store)
    body, headers = encode({"protocol": PROTOCOL_VERSION, "device_id": a.store.device_id, "changes": batch})
    headers.update({PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                    "Authorization": f"Bearer {a.laptop.client.access_token}"})
    before = server_state(live_server)
    barrier = threading.Barrier(5)
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        barrier.wait(10)
        response = requests.post(f"{live_server.url}{API_PREFIX}/sync/push", data=body, headers=headers,
                                 timeout=30)
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [status for status, _ in answers] == [200] * 5
    assert {answer["last_seq"] for _, answer in answers} == {batch[-1]["seq"]}
    after = server_state(live_server)
    assert after.seq == before.seq + len(ids), "one write per record, however many copies arrived"

    report = a.laptop.sync()  # the engine's own push of the same batch: one more replay
    assert report.pushed == len(batch)
    assert server_state(live_server).seq == after.seq
    b.laptop.sync()
    state = converged(live_server, a.laptop, b.laptop)
    assert sorted(state.view) == sorted(ids) and state.conflicts == []


# --- 7. wrong clocks --------------------------------------------------------------------------


@contextlib.contextmanager
def wall_clock(days: int) -> Iterator[None]:
    """This process's idea of the date, ``days`` off (what the store and the
    engine stamp on records and syncs)."""
    from app.models import orm
    from app.models import store as store_module
    from app.sync import engine as engine_module

    def shifted() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)

    with pytest.MonkeyPatch.context() as patch:
        for module in (orm, store_module, replica, engine_module):
            patch.setattr(module, "utcnow", shifted)
        yield


KINDS: dict[str, tuple[dict[str, Any], str, str]] = {
    # kind: (values to create with, a long text field, the title field)
    "lesson_plan": ({"title": "认识分数", "subject": "math", "grade": 3}, "objectives", "title"),
    "training": ({"title": "国培计划", "hours": 24.0, "online": True}, "takeaways", "title"),
    "exchange": ({"partner_school": "城关一小", "teacher_count": 4}, "observations", "partner_school"),
}


def version(store: Store, record_id: str, name: str) -> tuple[int, str]:
    return local_view(store)[record_id][4][name]


def test_laptops_a_year_ahead_and_a_year_behind_merge_by_the_logical_clock(
    machine: MakeMachine, live_server: LiveServer
) -> None:
    ahead, behind, trainer = machine("li"), machine("li"), machine("zhao")
    AHEAD, BEHIND = 365, -365
    for kind, (values, text, title) in KINDS.items():
        with wall_clock(AHEAD):
            r1 = ahead.store.create(kind, values, author="李老师").id
            r2 = ahead.store.create(kind, values, author="李老师").id
            ahead.laptop.sync()
        with wall_clock(BEHIND):
            behind.laptop.sync()
            # Made "a year before" the record was created, by its wall clock,
            # but after it in fact: it must win.
            behind.store.update(r1, {text: "后来的修改"})
            behind.laptop.sync()
        with wall_clock(AHEAD):
            ahead.laptop.sync()
            assert ahead.store.get(r1).values[text] == "后来的修改", kind

        # The same field on both laptops without syncing in between.
        with wall_clock(AHEAD):
            ahead.store.update(r1, {title: "快一年的标题"})
        with wall_clock(BEHIND):
            behind.store.update(r1, {title: "慢一年的标题"})
        winner = max((version(ahead.store, r1, title), "快一年的标题"),
                     (version(behind.store, r1, title), "慢一年的标题"))
        loser = "慢一年的标题" if winner[1] == "快一年的标题" else "快一年的标题"
        # A delete on one laptop against an edit on the other: the edit wins.
        with wall_clock(AHEAD):
            ahead.store.delete(r2)
        with wall_clock(BEHIND):
            behind.store.update(r2, {text: "删不掉的修改"})
        for laptop_, days in ((ahead, AHEAD), (behind, BEHIND), (ahead, AHEAD)):
            with wall_clock(days):
                laptop_.laptop.sync()
        state = server_state(live_server)
        assert state.view[r1][3][title] == winner[1], f"{kind}: the higher logical version wins"
        assert (r1, title, loser) in {(c[0], c[1], c[2]) for c in state.conflicts}, "the loser is kept"
        assert not state.view[r2][2] and state.view[r2][3][text] == "删不掉的修改"
        assert (r2, "restored_after_delete") in state.notices

        # A clock put back by two years between two edits on one laptop.
        with wall_clock(BEHIND):
            ahead.store.update(r1, {text: "时钟回拨以后"})
            ahead.laptop.sync()
        with wall_clock(BEHIND):
            behind.laptop.sync()
        assert behind.store.get(r1).values[text] == "时钟回拨以后", kind

    trainer.laptop.sync()
    converged(live_server, ahead.laptop, behind.laptop, trainer.laptop)
    meta = replica.sync_meta(behind.store)
    assert meta.last_synced_at is not None and meta.last_synced_at.year < dt.datetime.now(dt.UTC).year


# --- 8. the server is reset under a laptop full of records ------------------------------------


def reset_server(server: LiveServer, template: Path) -> None:
    """The same address, a brand-new database (the accounts made again, no records)."""
    server.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(str(server.db) + suffix).unlink(missing_ok=True)
        source = Path(str(template) + suffix)
        if source.exists():
            source_bytes = source.read_bytes()
            Path(str(server.db) + suffix).write_bytes(source_bytes)
    server.start()


def test_a_reset_server_stops_the_sync_and_nothing_is_removed(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path, _server_template: Any
) -> None:
    rng = random.Random(8)
    li, wang = machine("li"), machine("wang")
    for i in range(24):
        li.store.create("lesson_plan", lesson(rng, f"李 {i}"), author="李老师")
    for i in range(4):
        wang.store.create("lesson_plan", lesson(rng, f"王 {i}"), author="王老师")
    li.laptop.sync()
    wang.laptop.sync()
    trainer_data = tmp_path / "trainer"
    trainer_pw = live_server.users["zhao"]
    code, said = run_cli(live_server.url, trainer_data, "zhao", trainer_pw)
    assert code == 0, said

    def trainer_view() -> tuple[Any, ...]:
        store = Store.open(store_path(trainer_data))
        try:
            meta = replica.sync_meta(store)
            return local_view(store), meta.pull_cursor, meta.scope
        finally:
            store.close()

    trainer_before = trainer_view()
    li_before = local_view(li.store)
    assert sum(not r[2] for r in trainer_before[0].values()) == 28

    # The server comes back empty, and the admin has not yet put li back in
    # the cohort: to the trainer it looks as if li's records went away.
    reset_server(live_server, _server_template.db)
    live_server.cli("unassign", "li", "一班")

    for extra in ((), ("--yes-mass-delete",)):
        code, said = run_cli(live_server.url, trainer_data, "zhao", trainer_pw, *extra)
        assert code == 1 and "reset or restored" in said, said
        assert trainer_view() == trainer_before, "the trainer's store is untouched"

    # li's laptop: signing in works (the same account), syncing stops.
    sign_in(li.store, li.laptop.client, li.laptop.tokens, li.proxy.url, "li", live_server.users["li"])
    with pytest.raises(ServerReset):
        li.laptop.sync()
    with pytest.raises(ServerReset):
        li.laptop.sync()
    assert local_view(li.store) == li_before
    assert replica.sync_meta(li.store).last_synced_at is not None
    assert server_state(live_server).view == {}, "nothing half-uploaded to the new server"


def test_the_mass_delete_guard_asks_before_a_sync_removes_most_records(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> None:
    """The guard end to end, through the CLI: li leaves the cohort on a running
    server, so the trainer's next sync would drop most of what it holds."""
    rng = random.Random(9)
    li, wang = machine("li"), machine("wang")
    for i in range(24):
        li.store.create("lesson_plan", lesson(rng, f"李 {i}"), author="李老师")
    for i in range(4):
        wang.store.create("lesson_plan", lesson(rng, f"王 {i}"), author="王老师")
    li.laptop.sync()
    wang.laptop.sync()
    data = tmp_path / "trainer"
    pw = live_server.users["zhao"]
    with FaultProxy(live_server.port) as proxy:
        assert run_cli(proxy.url, data, "zhao", pw)[0] == 0
        live_server.cli("unassign", "li", "一班")
        for _ in range(2):
            code, said = run_cli(proxy.url, data, "zhao", pw)
            assert code == 3 and "24 of your 28" in said and "--yes-mass-delete" in said, said
            store = Store.open(store_path(data))
            assert sum(store.counts().values()) == 28, "nothing removed without a yes"
            store.close()
        code, said = run_cli(proxy.url, data, "zhao", pw, "--yes-mass-delete")
        assert code == 0, said
    store = Store.open(store_path(data))
    try:
        assert sum(store.counts().values()) == 4
        assert_replica_equals_server(store, server_state(live_server), "zhao")
    finally:
        store.close()


# --- 9. a store file older than what it pushed -------------------------------------------------


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a store file (what a backup on a USB stick holds)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def rolled_back_laptop(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> tuple[Machine, Laptop]:
    """li's laptop syncs, is copied, syncs three more records; then its disk
    comes back with the copy (a restore by hand, or a power cut on a disk that
    lied about having written): same device id, fewer changes than the server
    has from it. Returns the laptop as it was and the rolled-back one."""
    rng = random.Random(10)
    a = machine("li")
    for i in range(3):
        a.store.create("lesson_plan", lesson(rng, f"早 {i}"), author="李老师")
    a.laptop.sync()
    copy = tmp_path / "rolled-back" / "fieldbook.db"
    copy_store(a.store.path, copy)
    for i in range(3):
        a.store.create("lesson_plan", lesson(rng, f"晚 {i}"), author="李老师")
    a.laptop.sync()
    store = Store.open(copy)
    assert store.device_id == a.store.device_id
    client = ApiClient(a.proxy.url, timeout=(3, 10))
    old = Laptop("li", store, client, TokenStore())
    sign_in(store, client, old.tokens, a.proxy.url, "li", live_server.users["li"])
    return a, old


def test_a_store_older_than_what_it_pushed_becomes_a_new_device_and_loses_nothing(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> None:
    """One new edit on the copy: its seq is one the server has from the
    device already, for another change (the engine's own check: the answer
    names seqs this store never made; and the server's: the "replay" is not
    what it stored)."""
    a, old = rolled_back_laptop(machine, live_server, tmp_path)
    try:
        first_id = old.store.device_id
        rid = old.store.create("lesson_plan", {"title": "恢复以后写的"}, author="李老师").id
        report = old.sync()
        assert report.new_device and old.store.device_id != first_id
        assert replica.pending_count(old.store) == 0
        state = server_state(live_server)
        assert state.view[rid][3]["title"] == "恢复以后写的"
        # The three records the copy never had came back (its own writes, sent back to it).
        assert sum(old.store.counts().values()) == 7
        a.laptop.sync()
        converged(live_server, a.laptop, old)
        assert old.sync().new_device is False, "a new device once, not on every sync"
    finally:
        old.client.close()
        old.store.close()


def test_a_store_older_than_what_it_pushed_gets_its_own_lost_records_back_without_new_edits(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> None:
    """Nothing to push, so nothing shows the rollback on the way up: the pull
    says what the store knows confirmed, and the server sends its own writes too."""
    a, old = rolled_back_laptop(machine, live_server, tmp_path)
    try:
        assert sum(old.store.counts().values()) == 3
        report = old.sync()
        assert not report.new_device and report.created == 3
        converged(live_server, a.laptop, old)
    finally:
        old.client.close()
        old.store.close()


def test_a_store_older_than_what_it_pushed_loses_no_edit_and_gets_its_records_back(
    machine: MakeMachine, live_server: LiveServer, tmp_path: Path
) -> None:
    a, old = rolled_back_laptop(machine, live_server, tmp_path)
    try:
        # More new edits than the server has beyond the copy: the batch reaches past its mark.
        made = [old.store.create("lesson_plan", {"title": f"恢复以后 {i}"}, author="李老师").id
                for i in range(10)]
        assert old.sync().new_device
        state = server_state(live_server)
        missing = [rid for rid in made if rid not in state.view]
        assert not missing, f"{len(missing)} of 10 new records never reached the server"
        a.laptop.sync()
        converged(live_server, a.laptop, old)
    finally:
        old.client.close()
        old.store.close()
