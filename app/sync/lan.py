"""Parcels "in the same room": mDNS discovery and a tiny exchange over a hotspot.

A fellow's laptop (``Announcer``) advertises ``_fieldbook._tcp.local.`` and
serves its outgoing parcel; a trainer's laptop (``Browser``) finds it, fetches
the parcel and later pushes an answer. Parcels sign and seal themselves
(docs/parcels.md), so this transport only has to keep strangers on the same
network from pulling or pushing files: every request carries an HMAC made with
the 6-digit pairing code shown on the fellow's screen. No Qt here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ifaddr
from zeroconf import ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

from app.errors import EnvironmentFault

log = logging.getLogger(__name__)

SERVICE_TYPE = "_fieldbook._tcp.local."
PROTOCOL_VERSION = "1"
ROLE_OUTGOING = "outgoing"
AUTH_HEADER = "X-Fieldbook-Auth"
MAX_BODY_BYTES = 16 * 1024 * 1024
SOCKET_TIMEOUT_S = 20.0
# Wrong pairing codes a session takes before it stops sharing: a person
# mistyping a few times is fine, a stranger trying codes gets ten of the
# million and then nothing (the fellow starts sharing again for a new code).
MAX_WRONG_CODES = 10
LOCKED_MESSAGE = b"too many wrong pairing codes: sharing stopped"
SESSION_PATH = "/session"
LOOPBACK = "127.0.0.1"  # sharing here reaches only this laptop

ParcelSource = Callable[[], bytes]
AnswerSink = Callable[[bytes], bytes]
Hello = Callable[[bytes], bytes]


def _no_hello(_body: bytes) -> bytes:
    raise LanError("this laptop does not introduce itself")


class LanError(EnvironmentFault):
    """A LAN exchange failed; ``str()`` says why in words a person can act on.
    ``status`` is the other laptop's HTTP status (403 wrong code, 503 not
    sharing, 409 busy), None when it could not be reached at all."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def new_pairing_code() -> str:
    """Six random digits, shown on the fellow's screen for the trainer to type."""
    return f"{secrets.randbelow(1_000_000):06d}"


def request_mac(code: str, session_id: str, method: str, path: str, body: bytes) -> str:
    """HMAC-SHA256 over the request, keyed by the pairing code and session id."""
    key = f"{session_id}:{code}".encode()
    message = b"\n".join([method.encode(), path.encode(), hashlib.sha256(body).digest()])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server: _ExchangeServer
    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: object) -> None:
        log.debug("lan exchange: " + format, *args)

    def do_GET(self) -> None:
        self._exchange("GET")

    def do_PUT(self) -> None:
        self._exchange("PUT")

    def _exchange(self, method: str) -> None:
        owner = self.server.owner
        if not owner.sharing:
            return self._reply(503, LOCKED_MESSAGE if owner.locked else b"sharing is off")
        if method == "GET" and self.path == SESSION_PATH:
            # What mDNS tells everyone anyway, for a laptop that typed the address
            # because the network drops multicast: no code needed, nothing else said.
            return self._reply(200, session_text(owner.session_id), "application/json")
        body = self._read_body()
        if body is None:
            return None
        expected = request_mac(owner.pairing_code, owner.session_id, method, self.path, body)
        if not owner.check_code(hmac.compare_digest(expected, self.headers.get(AUTH_HEADER, ""))):
            return self._reply(403, b"wrong pairing code")
        if not owner.exchange_lock.acquire(blocking=False):
            return self._reply(409, b"another exchange is in progress")
        try:
            status, reply, ctype = self._dispatch(method, body)
        finally:
            # Released before the reply is written: the asking laptop's next
            # request may arrive the moment it has read this one.
            owner.exchange_lock.release()
        return self._reply(status, reply, ctype)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._reply(400, b"bad Content-Length")
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self._reply(413, b"body too large")
            return None
        return self.rfile.read(length)

    def _dispatch(self, method: str, body: bytes) -> tuple[int, bytes, str]:
        """(status, body, content type) of the answer to one request."""
        owner = self.server.owner
        binary = "application/octet-stream"
        try:
            if method == "GET" and self.path == "/parcel":
                return 200, owner.parcel_source(), binary
            if method == "PUT" and self.path == "/answer":
                return 200, owner.answer_sink(body), "application/json"
            if method == "PUT" and self.path == "/hello":
                return 200, owner.hello(body), binary
            return 404, b"no such endpoint", binary
        except Exception:  # the callback's failure must not kill the server
            log.exception("lan exchange callback failed")
            return 500, b"the laptop could not handle the parcel", binary

    def _reply(self, status: int, body: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _ExchangeServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: Announcer


class Announcer:
    """A fellow's laptop sharing its outgoing parcel while sharing is on.

    TXT records carry only a random per-session id, the protocol version and
    the role: anyone on the hotspot sees mDNS, so no name, school or device id.
    """

    def __init__(
        self,
        parcel_source: ParcelSource,
        answer_sink: AnswerSink,
        interface: str = LOOPBACK,
        on_locked: Callable[[], None] = lambda: None,
        hello: Hello = _no_hello,
    ) -> None:
        self.parcel_source = parcel_source
        self.answer_sink = answer_sink
        self.hello = hello  # PUT /hello: the trainer's one-time key in, this laptop's sealed certificate out
        self.interface = interface
        self.on_locked = on_locked  # called once, on the exchange's thread, when sharing stops
        self.locked = False
        self._wrong = 0
        self._wrong_lock = threading.Lock()
        self.session_id = secrets.token_hex(8)
        self.pairing_code = new_pairing_code()
        self.exchange_lock = threading.Lock()
        self.sharing = False
        self._http: _ExchangeServer | None = None
        self._thread: threading.Thread | None = None
        self._zeroconf: Zeroconf | None = None
        self._info: ServiceInfo | None = None

    def check_code(self, right: bool) -> bool:
        """Count a request's pairing code; after MAX_WRONG_CODES wrong ones in
        a row sharing stops (every later request: 503) and ``on_locked`` says so."""
        with self._wrong_lock:
            if right:
                self._wrong = 0
                return True
            self._wrong += 1
            locking = self._wrong >= MAX_WRONG_CODES and not self.locked
            if locking:
                self.locked, self.sharing = True, False
        if locking:
            log.warning("Sharing stopped after %d wrong pairing codes", MAX_WRONG_CODES)
            self.on_locked()
        return False

    @property
    def port(self) -> int:
        assert self._http is not None, "start() first"
        return int(self._http.server_address[1])

    def start(self) -> None:
        """Open the exchange server, then announce it by mDNS."""
        self._http = _ExchangeServer((self.interface, 0), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(target=self._http.serve_forever, name="lan-exchange", daemon=True)
        self._thread.start()
        self.sharing = True
        self._info = ServiceInfo(
            SERVICE_TYPE,
            f"fieldbook-{self.session_id}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(self.interface)],
            port=self.port,
            properties={"id": self.session_id, "v": PROTOCOL_VERSION, "role": ROLE_OUTGOING},
        )
        self._zeroconf = Zeroconf(interfaces=[self.interface])
        self._zeroconf.register_service(self._info)

    def close(self) -> None:
        """Stop sharing: refuse requests, unannounce, free the socket. Idempotent."""
        self.sharing = False
        if self._zeroconf is not None:
            if self._info is not None:
                self._zeroconf.unregister_service(self._info)
            self._zeroconf.close()
            self._zeroconf = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def local_address() -> str:
    """The address to share on: this laptop's first IPv4 address on a
    private network (a hotspot or a school's Wi-Fi), else loopback (sharing
    then reaches only this laptop, and the dialog says there is no network)."""
    private: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                address = ipaddress.IPv4Address(ip.ip)
                if address.is_private and not address.is_loopback and not address.is_link_local:
                    private.append(ip.ip)
    return private[0] if private else LOOPBACK


@dataclass(frozen=True)
class Peer:
    """An announcer seen nearby."""

    name: str
    session_id: str
    host: str
    port: int


class _Listener(ServiceListener):
    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None or not info.parsed_addresses():
            return
        props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
        if props.get("v") != PROTOCOL_VERSION or props.get("role") != ROLE_OUTGOING:
            return
        peer = Peer(name, props.get("id", ""), info.parsed_addresses()[0], int(info.port or 0))
        self._browser.peers[name] = peer
        self._browser.on_added(peer)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        peer = self._browser.peers.pop(name, None)
        if peer is not None:
            self._browser.on_removed(peer)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        return None


class Browser:
    """A trainer's laptop: lists announcers nearby, fetches and answers parcels."""

    def __init__(
        self,
        on_added: Callable[[Peer], None],
        on_removed: Callable[[Peer], None],
        interface: str | None = LOOPBACK,
    ) -> None:
        """``interface`` None: listen on every network this laptop is on."""
        self.on_added = on_added
        self.on_removed = on_removed
        self.peers: dict[str, Peer] = {}
        self._zeroconf: Zeroconf | None = (Zeroconf() if interface is None
                                          else Zeroconf(interfaces=[interface]))
        self._browser = ServiceBrowser(self._zeroconf, SERVICE_TYPE, _Listener(self))

    def hello(self, peer: Peer, code: str, key: bytes) -> bytes:
        return hello(peer, code, key)

    def fetch_parcel(self, peer: Peer, code: str) -> bytes:
        return fetch_parcel(peer, code)

    def push_answer(self, peer: Peer, code: str, answer: bytes) -> bytes:
        return push_answer(peer, code, answer)

    def close(self) -> None:
        """Stop browsing and free the mDNS socket. Idempotent."""
        if self._zeroconf is not None:
            self._browser.cancel()
            self._zeroconf.close()
            self._zeroconf = None


def session_text(session_id: str) -> bytes:
    return json.dumps({"id": session_id, "v": PROTOCOL_VERSION, "role": ROLE_OUTGOING}).encode()


def parse_address(text: str) -> tuple[str, int]:
    """``"192.168.43.27:53211"`` as the sharing laptop shows it → (host, port);
    ValueError in words if it is not an IPv4 address and a port."""
    host, sep, port = text.strip().rpartition(":")
    try:
        if not sep:
            raise ValueError
        address = ipaddress.IPv4Address(host)
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise ValueError(f"not an address and port like 192.168.43.27:53211: {text!r}") from None
    return str(address), number


def peer_at(host: str, port: int) -> Peer:
    """The sharing laptop at a typed address, for networks where mDNS does
    not get through. Raises ``LanError`` when nothing there is sharing."""
    try:
        found = json.loads(_request(Peer("", "", host, port), None, "GET", SESSION_PATH, b""))
    except ValueError as error:
        raise LanError("that address is not a Fieldbook laptop sharing") from error
    if (not isinstance(found, dict) or found.get("v") != PROTOCOL_VERSION
            or found.get("role") != ROLE_OUTGOING or not isinstance(found.get("id"), str)):
        raise LanError("that address is not a Fieldbook laptop sharing")
    return Peer(f"{host}:{port}", found["id"], host, port)


def hello(peer: Peer, code: str, key: bytes) -> bytes:
    """PUT a one-time public key; the fellow's laptop answers with its
    certificate sealed for it (app/protocol/peer_parcels.py)."""
    return _request(peer, code, "PUT", "/hello", key)


def fetch_parcel(peer: Peer, code: str) -> bytes:
    """GET the fellow's outgoing parcel, authenticated by the pairing code."""
    return _request(peer, code, "GET", "/parcel", b"")


def push_answer(peer: Peer, code: str, answer: bytes) -> bytes:
    """PUT an answer (or local) parcel; returns the fellow's import result (JSON bytes)."""
    return _request(peer, code, "PUT", "/answer", answer)


def _request(peer: Peer, code: str | None, method: str, path: str, body: bytes) -> bytes:
    """One request to a sharing laptop, authenticated by the pairing code
    (``None`` only for ``/session``, which needs none)."""
    url = f"http://{peer.host}:{peer.port}{path}"
    request = urllib.request.Request(url, data=body if method == "PUT" else None, method=method)
    if code is not None:
        request.add_header(AUTH_HEADER, request_mac(code, peer.session_id, method, path, body))
    try:
        with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_S) as response:
            data = bytes(response.read(MAX_BODY_BYTES + 1))
    except urllib.error.HTTPError as error:
        reason = error.read().decode(errors="replace") or error.reason
        raise LanError(f"{error.code}: {reason}", error.code) from error
    except OSError as error:
        raise LanError(f"could not reach the laptop: {error}") from error
    if len(data) > MAX_BODY_BYTES:
        raise LanError("413: parcel too large", 413)
    return data
