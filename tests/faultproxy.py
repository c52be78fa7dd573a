"""A TCP proxy that breaks the connection on purpose, for the sync tests.

Why: Fieldbook syncs over phone hotspots (2G/3G, round trips of 300 ms and
more, connections that drop in the middle of a request or of an answer).
Mocking the HTTP client cannot show that an edit survives *those* failures:
the bytes have to stop at a real offset on a real socket while a real server
is reading or writing them. ``FaultProxy`` sits between the client and the
test server on loopback and does what a bad network does, on command:

* ``cut_after_upstream_bytes(n)`` / ``cut_after_downstream_bytes(n)``: let
  ``n`` more bytes through in that direction, then drop the connection
  (both sides, with a reset). ``after=b"POST /api/v1/sync/push"`` counts from
  that marker in the request stream instead (for downstream cuts: from the
  first answer byte after it), so a test can cut *the push* at byte 300 or
  *its answer* at byte 0. ``every=True`` cuts again every ``n`` bytes.
* ``delay(ms)``: latency added to every chunk (``per="chunk"``) or once when
  a connection opens (``per="connection"``).
* ``throttle(bytes_per_second)``: a slow link, each way.
* ``refuse()``: new connections are reset at once (``existing=True``: the
  open ones too). ``stall()``: connections are accepted but nothing moves, so
  the client's read timeout is what ends the request.
* Counters: bytes forwarded each way, connections, cuts, and a log of
  request/answer *exchanges* (a turn of upstream bytes followed by downstream
  bytes on one connection: one HTTP request and its answer), so a test can
  check e.g. that a resumed pull did not download applied pages again.

Plain threads, loopback only, bounded (``max_connections``) and
self-stopping (``lifetime_s``): a test that forgets to close it cannot leave
it running. Use it as a context manager::

    with FaultProxy(server_port) as proxy:
        client = ApiClient(proxy.url, timeout=(2, 5))
        proxy.cut_after_downstream_bytes(0, after=b"POST /api/v1/sync/push")
        ...
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

log = logging.getLogger("tests.faultproxy")

Direction = Literal["up", "down"]
_RECV = 64 * 1024
_POLL_S = 0.1  # how often blocked threads look at the stop flag
_HEAD_BYTES = 256  # bytes of each exchange kept for matching


@dataclass
class Exchange:
    """One request and its answer on one connection, as the proxy forwarded them."""

    connection: int
    head: bytes  # the first bytes of the request (request line and headers)
    up: int = 0  # request bytes forwarded
    down: int = 0  # answer bytes forwarded
    cut: bool = False  # the proxy dropped the connection during this exchange
    captured: bytearray | None = None  # every request byte received, when capturing

    def startswith(self, marker: bytes) -> bool:
        return self.head.startswith(marker)


@dataclass(frozen=True)
class Stats:
    connections: int  # accepted (refused ones included)
    refused: int
    cuts: int
    bytes_up: int  # forwarded to the server
    bytes_down: int  # forwarded to the client


@dataclass
class _Rule:
    """A cut: after ``n`` counted bytes in ``direction``, drop the connection."""

    direction: Direction
    n: int
    every: bool
    after: bytes | None
    skip: int = 0  # occurrences of ``after`` to let through first
    remaining: int = 0
    connection: int | None = None  # bound to one connection (marker rules)

    def __post_init__(self) -> None:
        self.remaining = self.n


@dataclass
class _Conn:
    id: int
    client: socket.socket
    server: socket.socket | None = None
    closed: bool = False
    ended: set[str] = field(default_factory=set)  # directions that saw EOF
    tail: bytes = b""  # the end of the last request chunk, for markers split over two
    current: Exchange | None = None


class _Bucket:
    """A token bucket shared by every connection in one direction."""

    def __init__(self) -> None:
        self.rate: float | None = None
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self, size: int) -> float:
        """When ``size`` bytes may go (``time.monotonic()``)."""
        with self._lock:
            if not self.rate:
                return 0.0
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + size / self.rate
            return start


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port`` (see the module doc)."""

    def __init__(
        self,
        target_port: int,
        target_host: str = "127.0.0.1",
        *,
        max_connections: int = 64,
        lifetime_s: float = 600.0,
        capture_limit: int = 8 * 1024 * 1024,
    ) -> None:
        if target_host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fault proxy forwards to loopback only")
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.lifetime_s = lifetime_s
        self.capture_limit = capture_limit
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._conns: dict[int, _Conn] = {}
        self._rules: list[_Rule] = []
        self._buckets: dict[Direction, _Bucket] = {"up": _Bucket(), "down": _Bucket()}
        self._chunk_delay: dict[str, float] = {"up": 0.0, "down": 0.0}
        self._connect_delay = 0.0
        # The kernel buffer towards the client, when set: what a cut can
        # destroy in flight is then bounded by it, not by TCP autotuning (MBs
        # on loopback) and the moment the client thread last read.
        self.send_buffer: int | None = None
        self._refusing = False
        self._stalled = False
        self._capture = False
        self._captured_total = 0
        self._next_id = 0
        self._connections = self._refused = self._cuts = 0
        self._bytes = {"up": 0, "down": 0}
        self.exchanges: list[Exchange] = []
        self._started = False

    # --- life ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        if self._started:
            return self
        self._started = True
        self._spawn(self._accept_loop, "faultproxy-accept")
        return self

    def close(self) -> None:
        """Stop accepting, drop every connection, wait for the threads (bounded)."""
        self._stop.set()
        with self._lock:
            conns = list(self._conns.values())
            self._changed.notify_all()
        for conn in conns:
            self._drop(conn, reset=False)
        with contextlib.suppress(OSError):
            self._listener.close()
        deadline = time.monotonic() + 5
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- faults --------------------------------------------------------------

    def cut_after_upstream_bytes(
        self, n: int, *, every: bool = False, after: bytes | None = None, skip: int = 0
    ) -> None:
        """Drop the connection after ``n`` more request bytes (counted from the
        start of ``after`` in the request stream, if given; its first ``skip``
        occurrences pass untouched): bytes up to ``n`` pass, and the connection
        is reset when byte ``n + 1`` would. Once, unless ``every``."""
        self._add_rule(_Rule("up", n, every, after, skip=skip))

    def cut_after_downstream_bytes(
        self, n: int, *, every: bool = False, after: bytes | None = None, skip: int = 0
    ) -> None:
        """Drop the connection after ``n`` more answer bytes (if ``after`` is
        given: of the answer to the request that starts with it, after ``skip``
        such requests went through). ``n=0`` loses the whole answer, after the
        server has done the work."""
        self._add_rule(_Rule("down", n, every, after, skip=skip))

    def _add_rule(self, rule: _Rule) -> None:
        if rule.n < 0 or (rule.every and rule.n == 0):
            raise ValueError("cut after a positive number of bytes (0 only once)")
        with self._lock:
            self._rules.append(rule)

    def delay(
        self, ms: float, *, per: Literal["chunk", "connection"] = "chunk",
        direction: Literal["up", "down", "both"] = "both",
    ) -> None:
        """Latency: ``ms`` before each chunk is passed on (in ``direction``), or
        once before a new connection reaches the server (``per="connection"``)."""
        with self._lock:
            if per == "connection":
                self._connect_delay = ms / 1000
                return
            for way in ("up", "down"):
                if direction in (way, "both"):
                    self._chunk_delay[way] = ms / 1000

    def throttle(self, bytes_per_second: float | None) -> None:
        """Limit each direction to ``bytes_per_second`` (``None``: no limit)."""
        for bucket in self._buckets.values():
            bucket.rate = bytes_per_second

    def refuse(self, on: bool = True, *, existing: bool = False) -> None:
        """Reset new connections at once (and the open ones with ``existing``)."""
        with self._lock:
            self._refusing = on
            conns = list(self._conns.values()) if on and existing else []
        for conn in conns:
            self._drop(conn, reset=True)

    def stall(self, on: bool = True) -> None:
        """Hold every byte (connections stay open) until ``stall(False)``."""
        with self._lock:
            self._stalled = on
            self._changed.notify_all()

    def capture(self, on: bool = True) -> None:
        """Keep every request byte in ``Exchange.captured`` (up to ``capture_limit`` in all)."""
        with self._lock:
            self._capture = on

    def heal(self) -> None:
        """No more faults (counters and the exchange log stay)."""
        with self._lock:
            self._rules.clear()
            self._chunk_delay = {"up": 0.0, "down": 0.0}
            self._connect_delay = 0.0
            self._refusing = self._stalled = False
            self._changed.notify_all()
        self.throttle(None)

    def drop_all(self) -> None:
        """Reset every open connection now (a hotspot that went away)."""
        with self._lock:
            conns = list(self._conns.values())
        for conn in conns:
            self._drop(conn, reset=True)

    # --- what happened -------------------------------------------------------

    def stats(self) -> Stats:
        with self._lock:
            return Stats(self._connections, self._refused, self._cuts, self._bytes["up"], self._bytes["down"])

    @property
    def bytes_up(self) -> int:
        return self.stats().bytes_up

    @property
    def bytes_down(self) -> int:
        return self.stats().bytes_down

    @property
    def connections(self) -> int:
        return self.stats().connections

    @property
    def cuts(self) -> int:
        return self.stats().cuts

    def open_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def pending_rules(self) -> int:
        """Cuts armed and not yet done (``every`` rules always count)."""
        with self._lock:
            return len(self._rules)

    def exchanges_of(self, marker: bytes, since: int = 0) -> list[Exchange]:
        """Exchanges from index ``since`` whose request starts with ``marker``."""
        with self._lock:
            return [e for e in self.exchanges[since:] if e.startswith(marker)]

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> None:
        """Wait until ``condition()`` (checked whenever bytes move); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the proxy did not see the condition within {timeout} s")
                self._changed.wait(min(left, _POLL_S))

    # --- machinery -----------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        ends = time.monotonic() + self.lifetime_s
        while not self._stop.is_set():
            if time.monotonic() > ends:
                log.warning("Fault proxy on port %d stops itself after %.0f s", self.port, self.lifetime_s)
                self._spawn(self.close, "faultproxy-close")
                return
            try:
                ready, _, _ = select.select([self._listener], [], [], _POLL_S)
                if not ready:
                    continue
                client, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections += 1
                refuse = self._refusing or len(self._conns) >= self.max_connections
                if refuse:
                    self._refused += 1
                self._changed.notify_all()
            if refuse:
                _reset(client)
                continue
            self._spawn(self._open, "faultproxy-conn", client)

    def _open(self, client: socket.socket) -> None:
        with self._lock:
            self._next_id += 1
            conn = _Conn(self._next_id, client)
            self._conns[conn.id] = conn
            connect_delay = self._connect_delay
        if connect_delay and self._stop.wait(connect_delay):
            self._drop(conn, reset=True)
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            self._drop(conn, reset=True)  # the server is down: the client sees a reset
            return
        for sock in (client, server):
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.send_buffer is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        with self._lock:
            if conn.closed or self._stop.is_set():
                _reset(server)
                return
            conn.server = server
        self._spawn(self._pump, "faultproxy-down", conn, "down")
        self._pump(conn, "up")

    def _pump(self, conn: _Conn, direction: Direction) -> None:
        assert conn.server is not None
        src, dst = (conn.client, conn.server) if direction == "up" else (conn.server, conn.client)
        try:
            while not conn.closed and not self._stop.is_set():
                ready, _, _ = select.select([src], [], [], _POLL_S)
                if not ready:
                    continue
                data = src.recv(_RECV)
                if not data:
                    self._half_close(conn, direction, dst)
                    return
                if not self._forward(conn, direction, dst, data):
                    return
        except (OSError, ValueError):
            self._drop(conn, reset=True)

    def _forward(self, conn: _Conn, direction: Direction, dst: socket.socket, data: bytes) -> bool:
        """Send ``data`` on, with the faults of the moment. False if the connection was cut."""
        with self._lock:
            delay = self._chunk_delay[direction]
            if direction == "up":
                self._note_request(conn, data)
        if delay and self._stop.wait(delay):
            return False
        with self._lock:
            while self._stalled and not conn.closed and not self._stop.is_set():
                self._changed.wait(_POLL_S)
            if conn.closed or self._stop.is_set():
                return False
            allowed = self._allowed(conn, direction, data)
        to_send = data if allowed is None else data[:allowed]
        bucket = self._buckets[direction]
        step = max(256, int((bucket.rate or 0) / 20)) if bucket.rate else len(to_send) or 1
        for start in range(0, len(to_send), step):
            piece = to_send[start : start + step]
            at = bucket.reserve(len(piece))
            wait = at - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return False
            if conn.closed:
                return False
            # Counted before sending: the answer to a request must be on the
            # books before the client can send its next request.
            with self._lock:
                self._bytes[direction] += len(piece)
                if conn.current is not None:
                    if direction == "up":
                        conn.current.up += len(piece)
                    else:
                        conn.current.down += len(piece)
                self._changed.notify_all()
            dst.sendall(piece)
        if allowed is not None:
            with self._lock:
                self._cuts += 1
                if conn.current is not None:
                    conn.current.cut = True
            log.info("Fault proxy: cut connection %d after %d bytes %s", conn.id, allowed, direction)
            self._drop(conn, reset=True)
            return False
        return True

    def _note_request(self, conn: _Conn, data: bytes) -> None:
        """Start a new exchange when a request follows an answer; bind marker rules."""
        current = conn.current
        if current is None or current.down > 0:
            current = Exchange(conn.id, data[:_HEAD_BYTES])
            conn.current = current
            self.exchanges.append(current)
            if len(self.exchanges) > 100_000:
                del self.exchanges[:50_000]
            conn.tail = b""
        elif len(current.head) < _HEAD_BYTES:
            current.head += data[: _HEAD_BYTES - len(current.head)]
        if self._capture and self._captured_total + len(data) <= self.capture_limit:
            if current.captured is None:
                current.captured = bytearray()
            current.captured += data
            self._captured_total += len(data)
        # Marker rules waiting for a request that starts here. ``tail`` keeps
        # too few bytes to hold a whole marker: none is counted twice.
        window = conn.tail + data
        longest = 1
        for rule in self._rules:
            longest = max(longest, len(rule.after or b""))
            if rule.after is None or rule.connection is not None:
                continue
            at = window.find(rule.after)
            if at < 0:
                continue
            if rule.skip:
                rule.skip -= 1
                continue
            rule.connection = conn.id
            rule.remaining = rule.n
            if rule.direction == "up":
                # Bytes of this chunk before the marker do not count.
                rule.remaining += max(0, at - len(conn.tail))
        conn.tail = window[-(longest - 1) :] if longest > 1 else b""

    def _allowed(self, conn: _Conn, direction: Direction, data: bytes) -> int | None:
        """How many bytes of ``data`` may pass before a cut, or None for all."""
        cut: int | None = None
        for rule in list(self._rules):
            if rule.direction != direction:
                continue
            if rule.after is not None and rule.connection != conn.id:
                continue
            if rule.remaining >= len(data):
                rule.remaining -= len(data)
                continue
            at = rule.remaining
            cut = at if cut is None else min(cut, at)
            if rule.every:
                rule.remaining = rule.n
                rule.connection = None
            else:
                self._rules.remove(rule)
        return cut

    def _half_close(self, conn: _Conn, direction: Direction, dst: socket.socket) -> None:
        with self._lock:
            conn.ended.add(direction)
            both = conn.ended == {"up", "down"}
        if both or direction == "down":
            # The server closed (or both did): the connection is over.
            self._drop(conn, reset=False)
        else:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def _drop(self, conn: _Conn, *, reset: bool) -> None:
        with self._lock:
            if conn.closed:
                return
            conn.closed = True
            self._conns.pop(conn.id, None)
            self._changed.notify_all()
        for sock in (conn.client, conn.server):
            if sock is None:
                continue
            if reset:
                _reset(sock)
            else:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (what a dropped mobile link looks like to the other end)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


__all__ = ["Exchange", "FaultProxy", "Stats"]
