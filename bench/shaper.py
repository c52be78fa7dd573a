"""A TCP proxy on loopback that counts bytes and, when asked, behaves like a
slow link: a bandwidth limit each way and a fixed one-way delay.

    with LinkShaper(server_port, rate_bits=256_000, rtt_s=0.3) as link:
        client = ApiClient(link.url)
        ...
        link.stats()  # bytes each way at the socket, connections, requests

The model is a pipe per direction, shared by every connection (one link):
the proxy cuts what it reads into segments of ``segment`` bytes; each leaves
the pipe when the previous one has (``len / rate`` later: serialisation) and
arrives ``rtt_s / 2`` after that (propagation). So a long answer arrives at
the link's rate, pipelined, and a request and its answer cost one round trip
on top; neither is true of a proxy that sleeps before forwarding each chunk.
At most ``buffer_bytes`` wait in each direction of a connection (then the
proxy stops reading, and TCP pushes back on the sender), as in a router's
queue. Without ``rate_bits`` and ``rtt_s`` it only forwards and counts.
With ``connect_rtt`` a new connection also waits one round trip before its
first byte moves (the TCP handshake a real link costs; off by default).

Cuts (off by default): ``cut_every_up`` / ``cut_every_down`` (or
:meth:`LinkShaper.cut_every` while running) drop a connection each time
another ``n`` bytes have crossed the link in that direction, counted over
every connection: bytes up to the ``n``-th arrive, then both ends of the
connection carrying the next byte get a TCP reset (what a dropped mobile
link looks like to them). Segments still queued on the link in either
direction of that connection are lost, and the link time they had reserved
is given back (a link that went down does not keep carrying them).

Counting happens at the proxy's sockets: every byte of the HTTP requests and
answers (request lines, headers, compressed bodies), as they cross the link.
An "exchange" is a turn of upstream bytes followed by downstream bytes on one
connection: one HTTP request and its answer (keep-alive connections carry
several in turn; the sync client never pipelines).

Bounded and self-stopping: loopback only, at most ``max_connections``
connections, and everything closes after ``lifetime_s`` even if the caller
forgets. Plain threads; no dependency beyond the standard library.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

_RECV = 64 * 1024
_POLL_S = 0.2


@dataclass(frozen=True)
class LinkStats:
    bytes_up: int  # client -> server, at the socket
    bytes_down: int  # server -> client
    connections: int
    exchanges: int  # request/answer turns (HTTP requests)
    cuts: int = 0  # connections the proxy dropped on purpose (``cut_every``)

    def __sub__(self, other: LinkStats) -> LinkStats:
        return LinkStats(self.bytes_up - other.bytes_up, self.bytes_down - other.bytes_down,
                         self.connections - other.connections, self.exchanges - other.exchanges,
                         self.cuts - other.cuts)


class _Pipe:
    """One direction of the link: when the next segment may start leaving."""

    def __init__(self, rate_bytes: float | None, delay_s: float) -> None:
        self.rate = rate_bytes
        self.delay = delay_s
        self.free_at = 0.0
        self.lock = threading.Lock()

    def schedule(self, size: int) -> float:
        """The time the segment of ``size`` bytes arrives at the far end."""
        with self.lock:
            now = time.monotonic()
            start = max(now, self.free_at)
            self.free_at = start + (size / self.rate if self.rate else 0.0)
            return self.free_at + self.delay

    def refund(self, size: int) -> None:
        """Segments of ``size`` bytes that were scheduled will never be sent."""
        if not self.rate:
            return
        with self.lock:
            self.free_at = max(time.monotonic(), self.free_at - size / self.rate)


class _Queue:
    """Segments of one direction of one connection, waiting for their time."""

    def __init__(self, limit: int, direction: str) -> None:
        self.items: collections.deque[tuple[float, bytes]] = collections.deque()
        self.size = 0
        self.limit = limit
        self.direction = direction
        self.closed = False  # no more segments will come (the sender closed)
        self.cond = threading.Condition()


@dataclass
class _Conn:
    """One proxied connection: its two sockets and its queues (when shaped)."""

    client: socket.socket
    server: socket.socket
    last: str = "down"  # which way bytes went last (to count exchanges)
    cut: bool = False  # dropped on purpose
    queues: list[_Queue] = field(default_factory=list)


class LinkShaper:
    def __init__(
        self,
        target_port: int,
        *,
        rate_bits: float | None = None,
        rtt_s: float = 0.0,
        segment: int = 1448,
        buffer_bytes: int = 256 * 1024,
        max_connections: int = 256,
        lifetime_s: float = 1800.0,
        connect_rtt: bool = False,
        cut_every_up: int | None = None,
        cut_every_down: int | None = None,
    ) -> None:
        self.target = ("127.0.0.1", target_port)
        self.shaped = bool(rate_bits) or rtt_s > 0
        self.connect_wait_s = rtt_s if connect_rtt else 0.0
        rate = rate_bits / 8 if rate_bits else None
        self._pipes = {"up": _Pipe(rate, rtt_s / 2), "down": _Pipe(rate, rtt_s / 2)}
        self.segment = segment
        self.buffer_bytes = buffer_bytes
        self.max_connections = max_connections
        self.lifetime_s = lifetime_s
        self._lock = threading.Lock()
        self._bytes = {"up": 0, "down": 0}
        self._connections = 0
        self._exchanges = 0
        self._cuts = 0
        self._cut_every: dict[str, int | None] = {"up": None, "down": None}
        self._since_cut = {"up": 0, "down": 0}
        self.cut_every(up=cut_every_up, down=cut_every_down)
        self._stop = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(_POLL_S)
        self.port = int(self._listener.getsockname()[1])
        self._started = time.monotonic()
        self._accepter = threading.Thread(target=self._accept, name="shaper-accept", daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> LinkStats:
        with self._lock:
            return LinkStats(self._bytes["up"], self._bytes["down"], self._connections, self._exchanges,
                             self._cuts)

    def cut_every(self, *, up: int | None = None, down: int | None = None) -> None:
        """From now on, drop a connection each time another ``up`` (``down``)
        bytes have crossed the link that way; None: never (the default).
        The counts start again from zero."""
        for n in (up, down):
            if n is not None and n <= 0:
                raise ValueError("cut after a positive number of bytes")
        with self._lock:
            self._cut_every = {"up": up, "down": down}
            self._since_cut = {"up": 0, "down": 0}

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._accepter.join(timeout=5)

    def __enter__(self) -> LinkShaper:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- plumbing ------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() - self._started > self.lifetime_s:
                self._stop.set()
                break
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._lock:
                refused = self._connections >= self.max_connections
                self._connections += 1
            if refused:
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), name="shaper-conn", daemon=True).start()
        if self._stop.is_set():
            self.close_sockets()

    def close_sockets(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _serve(self, client: socket.socket) -> None:
        if self.connect_wait_s and self._stop.wait(self.connect_wait_s):  # the handshake's round trip
            client.close()
            return
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.update((client, server))
        conn = _Conn(client, server)
        threads = [
            threading.Thread(target=self._pump, args=(client, server, "up", conn), daemon=True),
            threading.Thread(target=self._pump, args=(server, client, "down", conn), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            self._sockets.difference_update((client, server))

    def _count(self, direction: str, size: int, conn: _Conn) -> None:
        with self._lock:
            self._bytes[direction] += size
            if direction == "up" and conn.last == "down":
                self._exchanges += 1
            conn.last = direction

    def _allowed(self, direction: str, size: int) -> tuple[int, bool]:
        """How many of ``size`` bytes may cross now, and whether a cut follows."""
        with self._lock:
            every = self._cut_every[direction]
            if every is None:
                return size, False
            left = every - self._since_cut[direction]
            if size <= left:
                self._since_cut[direction] += size
                return size, False
            self._since_cut[direction] = 0
            return left, True

    def _forward(self, direction: str, data: bytes, dst: socket.socket, conn: _Conn) -> bool:
        """Count and send ``data`` (or the part of it before a cut); False after a cut."""
        allowed, cut = self._allowed(direction, len(data))
        if allowed:
            self._count(direction, allowed, conn)
            dst.sendall(data[:allowed] if cut else data)
        if cut:
            self._cut(conn)
            return False
        return True

    def _cut(self, conn: _Conn) -> None:
        """Drop the connection: what is still queued on the link is lost."""
        with self._lock:
            if conn.cut:
                return
            conn.cut = True
            self._cuts += 1
            queues = list(conn.queues)
        for queue in queues:
            with queue.cond:
                lost = queue.size
                queue.items.clear()
                queue.size = 0
                queue.closed = True
                queue.cond.notify_all()
            self._pipes[queue.direction].refund(lost)
        for sock in (conn.client, conn.server):
            _reset(sock)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str, conn: _Conn) -> None:
        """Read from ``src``; forward to ``dst`` now, or through the pipe."""
        queue = _Queue(self.buffer_bytes, direction) if self.shaped else None
        writer = None
        if queue is not None:
            with self._lock:
                conn.queues.append(queue)
            writer = threading.Thread(target=self._deliver, args=(queue, dst, direction, conn), daemon=True)
            writer.start()
        try:
            while not self._stop.is_set():
                try:
                    data = src.recv(_RECV)
                except OSError:
                    break
                if not data or conn.cut:
                    break
                if queue is None:
                    if not self._forward(direction, data, dst, conn):
                        break
                    continue
                pipe = self._pipes[direction]
                for start in range(0, len(data), self.segment):
                    piece = data[start : start + self.segment]
                    with queue.cond:
                        while queue.size >= queue.limit and not self._stop.is_set() and not conn.cut:
                            queue.cond.wait(_POLL_S)
                        if conn.cut:
                            break
                        queue.items.append((pipe.schedule(len(piece)), piece))
                        queue.size += len(piece)
                        queue.cond.notify_all()
        except OSError:
            pass
        finally:
            if queue is not None and writer is not None:
                with queue.cond:
                    queue.closed = True
                    queue.cond.notify_all()
                writer.join()
            else:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

    def _deliver(self, queue: _Queue, dst: socket.socket, direction: str, conn: _Conn) -> None:
        """Send each segment on at its arrival time."""
        try:
            while not self._stop.is_set():
                with queue.cond:
                    while not queue.items and not queue.closed and not self._stop.is_set():
                        queue.cond.wait(_POLL_S)
                    if not queue.items:
                        if queue.closed or self._stop.is_set():
                            break
                        continue
                    due, piece = queue.items[0]
                wait = due - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                with queue.cond:
                    if not queue.items or queue.items[0][1] is not piece:
                        continue  # dropped by a cut meanwhile
                    queue.items.popleft()
                    queue.size -= len(piece)
                    queue.cond.notify_all()
                if not self._forward(direction, piece, dst, conn):
                    break
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (as ``tests/faultproxy.py`` does)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


__all__ = ["LinkShaper", "LinkStats"]
