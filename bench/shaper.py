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
import threading
import time
from dataclasses import dataclass
from types import TracebackType

_RECV = 64 * 1024
_POLL_S = 0.2


@dataclass(frozen=True)
class LinkStats:
    bytes_up: int  # client -> server, at the socket
    bytes_down: int  # server -> client
    connections: int
    exchanges: int  # request/answer turns (HTTP requests)

    def __sub__(self, other: LinkStats) -> LinkStats:
        return LinkStats(self.bytes_up - other.bytes_up, self.bytes_down - other.bytes_down,
                         self.connections - other.connections, self.exchanges - other.exchanges)


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


class _Queue:
    """Segments of one direction of one connection, waiting for their time."""

    def __init__(self, limit: int) -> None:
        self.items: collections.deque[tuple[float, bytes]] = collections.deque()
        self.size = 0
        self.limit = limit
        self.closed = False  # no more segments will come (the sender closed)
        self.cond = threading.Condition()


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
    ) -> None:
        self.target = ("127.0.0.1", target_port)
        self.shaped = bool(rate_bits) or rtt_s > 0
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
            return LinkStats(self._bytes["up"], self._bytes["down"], self._connections, self._exchanges)

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
        state = {"last": "down"}  # which way bytes went last on this connection
        threads = [
            threading.Thread(target=self._pump, args=(client, server, "up", state), daemon=True),
            threading.Thread(target=self._pump, args=(server, client, "down", state), daemon=True),
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

    def _count(self, direction: str, size: int, state: dict[str, str]) -> None:
        with self._lock:
            self._bytes[direction] += size
            if direction == "up" and state["last"] == "down":
                self._exchanges += 1
            state["last"] = direction

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str, state: dict[str, str]) -> None:
        """Read from ``src``; forward to ``dst`` now, or through the pipe."""
        queue = _Queue(self.buffer_bytes) if self.shaped else None
        writer = None
        if queue is not None:
            writer = threading.Thread(target=self._deliver, args=(queue, dst, direction, state), daemon=True)
            writer.start()
        try:
            while not self._stop.is_set():
                try:
                    data = src.recv(_RECV)
                except OSError:
                    break
                if not data:
                    break
                if queue is None:
                    self._count(direction, len(data), state)
                    dst.sendall(data)
                    continue
                pipe = self._pipes[direction]
                for start in range(0, len(data), self.segment):
                    piece = data[start : start + self.segment]
                    with queue.cond:
                        while queue.size >= queue.limit and not self._stop.is_set():
                            queue.cond.wait(_POLL_S)
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

    def _deliver(self, queue: _Queue, dst: socket.socket, direction: str, state: dict[str, str]) -> None:
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
                    queue.items.popleft()
                    queue.size -= len(piece)
                    queue.cond.notify_all()
                self._count(direction, len(piece), state)
                dst.sendall(piece)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


__all__ = ["LinkShaper", "LinkStats"]
