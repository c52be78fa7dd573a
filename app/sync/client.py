"""The HTTP client of the sync API: one method per endpoint, typed errors.

``ApiClient`` speaks JSON over HTTP with gzip both ways (see docs/sync.md).
It keeps the access token in memory and refreshes it once, with the
rotating refresh token, when the server says it expired; every new pair of
tokens is handed to ``on_tokens`` at once so the caller can store the new
refresh token before anything else can go wrong.

Every failure reaches the caller as an :mod:`app.sync.errors` type; no
``requests`` or ``urllib3`` exception escapes. The client never retries a
request on its own (except the one retry after refreshing an expired access
token, which the server refused before doing anything): whether to send a
push again is the engine's decision.

Timeouts are ``(connect, read)`` in seconds. No wall clock is involved
anywhere: token lifetimes are counted with ``time.monotonic`` from the
server's ``expires_in``, so a laptop whose date is wrong still works.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from pydantic import TypeAdapter

from app.protocol.blobs import (
    BLOB_STATUS,
    BLOBS_PATH,
    OFFSET_HEADER,
    SIZE_HEADER,
    TYPE_HEADER,
    BlobStatus,
    is_sha256,
)
from app.protocol.peer_parcels import CERTIFICATE_RESPONSE, CertificateResponse
from app.protocol.sync import (
    API_PREFIX,
    MAX_INFLATED_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PULL_RESPONSE,
    PUSH_RESPONSE,
    MalformedMessage,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    encode,
    read,
)
from app.sync.errors import (
    AuthRequired,
    BadResponse,
    BadServerAddress,
    BlobOffsetMismatch,
    ClientTooOld,
    FileRefused,
    InvalidCredentials,
    NotAvailableYet,
    Offline,
    RequestRejected,
    SecureConnectionFailed,
    ServerUnavailable,
    StoreRolledBack,
    SyncError,
    Throttled,
)

log = logging.getLogger("fieldbook.sync")
_Message = TypeVar("_Message")

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
PARCELS_DELIVER_PATH = f"{API_PREFIX}/parcels/deliver"
# Blob requests: a 4 MB piece over a 2G link takes minutes to go out, and the
# server answers only once it has it all.
BLOB_TIMEOUT: tuple[float, float] = (10.0, 300.0)
# What the server answers when it will not keep a file (docs/attachments.md).
_FILE_REFUSALS = frozenset({413, 415, 422})
_REFRESH_MARGIN_S = 30.0  # refresh a little before the access token runs out
_READ_CHUNK = 64 * 1024
# A link with no failed request for this long counts as healthy (see link_is_healthy).
LINK_QUIET_S = 300.0
# A sign-in's notice: a session of the user was ended because its refresh
# token was used twice (a copy of it was elsewhere). docs/sync.md.
NOTICE_SESSION_REVOKED_REUSE = "session_revoked_reuse"


def normalize_server_url(text: str) -> str:
    """``https://host[:port][/path]`` without a trailing slash; a bare host
    name gets ``https://``. Raises ``BadServerAddress``."""
    text = text.strip()
    if text and "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadServerAddress() from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BadServerAddress()
    return text.rstrip("/")


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str

    @classmethod
    def from_json(cls, data: Any) -> UserInfo:
        try:
            return cls(int(data["id"]), str(data["username"]), str(data.get("display_name") or ""),
                       str(data["role"]))
        except (TypeError, KeyError, ValueError):
            raise BadResponse() from None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: float  # seconds the access token is valid, from when it was received
    user: UserInfo
    # Sign-in only: why the server ended one of this user's sessions
    # (NOTICE_SESSION_REVOKED_REUSE), told once.
    notice: str | None = None
    # Sync parcels (docs/parcels.md): the server's public parcel keys (base64),
    # its clock when it answered, and whether it registered this device's keys.
    server_parcel_keys: str | None = None
    server_time: str | None = None
    parcel_keys_registered: bool = False
    device_certificate: str | None = None  # the server's certificate of this device's keys

    @classmethod
    def from_json(cls, data: Any) -> Tokens:
        try:
            notice = data.get("notice")
            keys, when = data.get("server_parcel_keys"), data.get("server_time")
            certificate = data.get("device_certificate")
            return cls(str(data["access_token"]), str(data["refresh_token"]),
                       float(data.get("expires_in") or 0), UserInfo.from_json(data["user"]),
                       notice if isinstance(notice, str) and notice else None,
                       keys if isinstance(keys, str) and keys else None,
                       when if isinstance(when, str) and when else None,
                       data.get("parcel_keys_registered") is True,
                       certificate if isinstance(certificate, str) and certificate else None)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise BadResponse() from None


@dataclass(frozen=True)
class Traffic:
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(self.requests - other.requests, self.bytes_sent - other.bytes_sent,
                       self.bytes_received - other.bytes_received)


class TrafficCounter:
    """Requests and bytes on the wire (bodies as sent, i.e. compressed, plus
    the request and status lines and headers; TCP/TLS overhead not included).
    Thread-safe; benchmarks read :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._sent = 0
        self._received = 0

    def add(self, *, requests: int = 0, sent: int = 0, received: int = 0) -> None:
        with self._lock:
            self._requests += requests
            self._sent += sent
            self._received += received

    def snapshot(self) -> Traffic:
        with self._lock:
            return Traffic(self._requests, self._sent, self._received)

    @property
    def requests(self) -> int:
        return self.snapshot().requests

    @property
    def bytes_sent(self) -> int:
        return self.snapshot().bytes_sent

    @property
    def bytes_received(self) -> int:
        return self.snapshot().bytes_received

    def reset(self) -> None:
        with self._lock:
            self._requests = self._sent = self._received = 0


@dataclass(frozen=True)
class _Raw:
    """How a blob request differs from a JSON one."""

    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Given a 2xx answer's status and headers, returns what receives its body.
    sink: Callable[[int, Mapping[str, str]], Callable[[bytes], None]] | None = None
    timeout: tuple[float, float] | None = BLOB_TIMEOUT


@dataclass(frozen=True)
class BlobRange:
    """What a blob download got: its bytes from ``start`` (0 when the server
    sent the whole file) of a file of ``total`` bytes (None when unknown)."""

    start: int
    total: int | None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise BadResponse() from None

    def error(self) -> tuple[str, str | None]:
        """``(code, message)`` of an error body, or a code made from the status."""
        try:
            err = json.loads(self.body)["error"]
            return str(err["code"]), str(err.get("message") or "") or None
        except (ValueError, UnicodeDecodeError, TypeError, KeyError):
            return f"http_{self.status}", None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: we do not trust the local clock to read it


def _map_exception(exc: BaseException) -> SyncError:
    """A transport failure as the error the user can act on."""
    if isinstance(exc, requests.exceptions.SSLError | urllib3.exceptions.SSLError):
        return SecureConnectionFailed()
    if isinstance(exc, requests.exceptions.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError):
        return Offline("The server could not be reached (the connection timed out).")
    if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return ServerUnavailable("The server took too long to answer. Fieldbook will try again later.")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                  | requests.exceptions.InvalidSchema | requests.exceptions.URLRequired):
        return BadServerAddress()
    if isinstance(exc, requests.exceptions.ContentDecodingError | urllib3.exceptions.DecodeError):
        return BadResponse()
    if isinstance(exc, requests.exceptions.ProxyError):
        return Offline("The proxy server did not let Fieldbook through.")
    # Connection refused, DNS failure, reset, dropped mid-answer...
    return Offline()


class ApiClient:
    """One server. Not for concurrent use from several threads at once
    (the sync engine runs one sync at a time)."""

    protocol_version: int = PROTOCOL_VERSION

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        traffic: TrafficCounter | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> None:
        self.base_url = normalize_server_url(base_url)
        self.timeout = timeout
        self._session = session or requests.Session()
        self._own_session = session is None
        self.traffic = traffic or TrafficCounter()
        self.on_tokens = on_tokens
        self.server_parcel_keys: str | None = None  # as the last token answer said (docs/parcels.md)
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.user: UserInfo | None = None
        self._access_deadline = 0.0  # time.monotonic() after which the access token is stale
        # time.monotonic() of the last request the connection failed (None: none yet).
        self.last_failure: float | None = None
        self._sign_in_notice: str | None = None  # from the last login, until taken
        self._lock = threading.RLock()

    # --- plumbing ------------------------------------------------------------

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def link_is_healthy(self, quiet_s: float = LINK_QUIET_S) -> bool:
        """Whether no request failed on the connection for ``quiet_s`` seconds.
        On a link that drops, each request in flight at a cut is lost, so the
        engine sends one push at a time there."""
        failed = self.last_failure
        return failed is None or time.monotonic() - failed > quiet_s

    def reset_connections(self) -> None:
        """Drop pooled connections: after a network change (a hotspot that
        came back) an old keep-alive connection may be dead without anyone
        having said so, and would only fail after the read timeout."""
        for adapter in self._session.adapters.values():
            adapter.close()

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _send(
        self, method: str, path: str, payload: Any = None, *, token: str | None = None,
        raw: _Raw | None = None,
    ) -> _Answer:
        """One request. ``payload`` goes as (gzipped) JSON; ``raw`` instead
        sends bytes as they are and/or hands a 2xx answer's body to a sink
        as it arrives (blobs: docs/attachments.md)."""
        headers = {
            PROTOCOL_HEADER: str(self.protocol_version),
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }
        body: bytes | None = None
        if payload is not None:
            body, body_headers = encode(payload)
            headers.update(body_headers)
        if raw is not None:
            headers.update(raw.headers)
            body = raw.body if raw.body is not None else body
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self._url(path)
        sent = _estimate_request(method, url, headers, body)
        timeout = raw.timeout if raw is not None and raw.timeout is not None else self.timeout
        try:
            response = self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, stream=True,
                allow_redirects=False,
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            self.traffic.add(requests=1, sent=sent)
            self.last_failure = time.monotonic()
            log.info("%s %s failed: %s", method, path, exc)
            raise _map_exception(exc) from exc
        try:
            sent = _request_size(response.request, body) or sent
            if raw is not None and raw.sink is not None and 200 <= response.status_code < 300:
                data = self._pour_body(response, raw.sink(response.status_code, response.headers))
            else:
                data = self._read_body(response)
        except SyncError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            self.last_failure = time.monotonic()
            log.info("%s %s: the answer was cut off: %s", method, path, exc)
            raise _map_exception(exc) from exc
        finally:
            self.traffic.add(requests=1, sent=sent, received=_response_size(response))
            response.close()
        return _Answer(response.status_code, response.headers, data)

    @staticmethod
    def _pour_body(response: requests.Response, sink: Callable[[bytes], None]) -> bytes:
        """Hand the body to ``sink`` as it arrives (a blob far larger than any
        JSON answer; what arrived before a cut is kept by the sink). ``read1``
        hands over what the socket has; ``stream`` would wait to fill each
        64 KB chunk and lose the part of one that a cut interrupts."""
        read1 = getattr(response.raw, "read1", None)  # urllib3 2
        if read1 is None:
            for chunk in response.raw.stream(_READ_CHUNK, decode_content=True):
                sink(chunk)
            return b""
        while chunk := read1(_READ_CHUNK, decode_content=True):
            sink(chunk)
        return b""

    @staticmethod
    def _read_body(response: requests.Response) -> bytes:
        """The decompressed body, refusing to hold more than the protocol allows."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.raw.stream(_READ_CHUNK, decode_content=True):
            size += len(chunk)
            if size > MAX_INFLATED_BYTES:
                raise BadResponse("The server's answer is too large.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _fail(self, answer: _Answer) -> SyncError:
        """The error for a non-2xx answer (401 is handled by the callers)."""
        code, message = answer.error()
        status = answer.status
        if status == 426 or code == "client_too_old":
            return ClientTooOld(message)
        if status == 429:
            return Throttled(_retry_after(answer.headers), message)
        if status == 401:
            return AuthRequired(message)
        if status == 409 and code == "device_rolled_back":
            return StoreRolledBack()
        if status >= 500:
            return ServerUnavailable(message if message and status < 600 else None, status=status)
        if 300 <= status < 400:
            # A hotspot login page or a misconfigured proxy redirecting us.
            return BadResponse("The server address redirects elsewhere; check the address.")
        return RequestRejected(code, message, status=status)

    def _ok(self, answer: _Answer) -> Any:
        if not 200 <= answer.status < 300:
            raise self._fail(answer)
        if answer.status == 204 or not answer.body:
            return None
        return answer.json()

    # --- tokens --------------------------------------------------------------

    def _take(self, tokens: Tokens) -> Tokens:
        with self._lock:
            self.access_token = tokens.access_token
            self.refresh_token = tokens.refresh_token
            self.user = tokens.user
            if tokens.server_parcel_keys:  # every sign-in and refresh says the server's current keys
                self.server_parcel_keys = tokens.server_parcel_keys
            margin = min(_REFRESH_MARGIN_S, tokens.expires_in / 4)
            self._access_deadline = time.monotonic() + tokens.expires_in - margin
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    def set_refresh_token(self, token: str | None) -> None:
        """Use a stored refresh token (the access token is fetched when needed)."""
        with self._lock:
            self.refresh_token = token
            self.access_token = None

    def forget_tokens(self) -> None:
        with self._lock:
            self.access_token = self.refresh_token = None
            self.user = None

    @property
    def has_valid_access_token(self) -> bool:
        return self.access_token is not None and time.monotonic() < self._access_deadline

    def login(self, username: str, password: str, *, device_id: str | None = None,
              parcel_keys: str | None = None) -> Tokens:
        """Sign in. ``device_id`` and ``parcel_keys`` (base64 of the store's
        public parcel keys) register the device for parcels (docs/parcels.md)."""
        body: dict[str, str] = {"username": username, "password": password}
        if device_id is not None and parcel_keys is not None:
            body.update(device_id=device_id, parcel_keys=parcel_keys)
        answer = self._send("POST", f"{API_PREFIX}/auth/login", body)
        if answer.status in (401, 422):
            code, message = answer.error()
            if code == "account_disabled":
                raise InvalidCredentials(message)
            raise InvalidCredentials()
        tokens = self._take(Tokens.from_json(self._ok(answer)))
        with self._lock:
            self._sign_in_notice = tokens.notice
        return tokens

    def take_sign_in_notice(self) -> str | None:
        """What the last sign-in's answer asked to tell the user, once."""
        with self._lock:
            notice, self._sign_in_notice = self._sign_in_notice, None
        return notice

    def refresh(self, refresh_token: str | None = None) -> Tokens:
        """Trade the refresh token for new tokens (the old one is then spent)."""
        with self._lock:
            token = refresh_token or self.refresh_token
            if not token:
                raise AuthRequired()
            answer = self._send("POST", f"{API_PREFIX}/auth/refresh", {"refresh_token": token})
            if answer.status in (401, 422):
                code, message = answer.error()
                log.info("The server refused the refresh token (%s)", code)
                self.forget_tokens()
                raise AuthRequired(message)
            return self._take(Tokens.from_json(self._ok(answer)))

    def ensure_access(self) -> None:
        """Make sure a fresh access token is at hand (refreshing if needed)."""
        with self._lock:
            if not self.has_valid_access_token:
                self.refresh()

    def logout(self, refresh_token: str | None = None, *, device_id: str | None = None) -> None:
        """Revoke the refresh token on the server (this device's sign-in);
        with ``device_id``, the server drops that device's parcel keys too."""
        token = refresh_token or self.refresh_token
        self.forget_tokens()
        if token:
            body = {"refresh_token": token} if device_id is None else {"refresh_token": token,
                                                                        "device_id": device_id}
            self._ok(self._send("POST", f"{API_PREFIX}/auth/logout", body))

    def change_password(self, old_password: str, new_password: str) -> Tokens:
        """Change the password. The server then ends every sign-in of the
        user, so this signs in again with the new password and returns the
        new tokens."""
        user = self.user
        answer = self._authorized("POST", f"{API_PREFIX}/auth/password",
                                  {"old_password": old_password, "new_password": new_password})
        self._ok(answer)
        if user is None:
            self.forget_tokens()
            raise AuthRequired()
        return self.login(user.username, new_password)

    def _authorized(
        self, method: str, path: str, payload: Any = None, *, raw: _Raw | None = None
    ) -> _Answer:
        """Send with the access token; on a 401 for the token, refresh once and resend."""
        self.ensure_access()
        answer = self._send(method, path, payload, token=self.access_token, raw=raw)
        if answer.status != 401:
            return answer
        code, message = answer.error()
        if code == "invalid_credentials":
            raise InvalidCredentials(message)
        if code == "account_disabled":
            self.forget_tokens()
            raise AuthRequired(message)
        log.info("The access token was refused (%s); refreshing it", code)
        self.refresh()
        answer = self._send(method, path, payload, token=self.access_token, raw=raw)
        if answer.status == 401:
            self.forget_tokens()
            raise AuthRequired(answer.error()[1])
        return answer

    # --- endpoints -----------------------------------------------------------

    def me(self) -> UserInfo:
        user = UserInfo.from_json(self._ok(self._authorized("GET", f"{API_PREFIX}/me")))
        self.user = user
        return user

    def health(self) -> dict[str, Any]:
        data = self._ok(self._send("GET", "/health"))
        if not isinstance(data, dict):
            raise BadResponse()
        return data

    def parcel_certificate(self, device_id: str) -> CertificateResponse:
        """The server's certificate of this device's parcel keys (docs/parcels.md)."""
        answer = self._authorized("POST", f"{API_PREFIX}/parcels/certificate", {"device_id": device_id})
        return _message(self._answered(answer), CERTIFICATE_RESPONSE)

    def push(self, request: PushRequest) -> PushResponse:
        answer = self._authorized("POST", f"{API_PREFIX}/sync/push", request)
        return _message(self._answered(answer), PUSH_RESPONSE)

    def pull(self, request: PullRequest) -> PullResponse:
        answer = self._authorized("POST", f"{API_PREFIX}/sync/pull", request)
        return _message(self._answered(answer), PULL_RESPONSE)

    def _answered(self, answer: _Answer) -> _Answer:
        if not 200 <= answer.status < 300:
            raise self._fail(answer)
        return answer

    # --- parcels (docs/parcels.md) ------------------------------------------

    def deliver_parcel(self, parcel: bytes, *, timeout: tuple[float, float] | None = None
                       ) -> tuple[bytes, bool]:
        """Hand an outgoing parcel to the server (no sign-in needed: it
        authenticates itself): the answer parcel's bytes, and whether the
        server had the parcel already (it applied nothing twice). A refusal
        comes back as ``RequestRejected`` with the server's code and message."""
        answer = self._send("POST", PARCELS_DELIVER_PATH, raw=_Raw(
            body=parcel, headers={"Content-Type": "application/octet-stream",
                                  "Accept": "application/octet-stream, application/json"},
            timeout=timeout or BLOB_TIMEOUT))
        if not 200 <= answer.status < 300:
            raise self._fail(answer)
        return answer.body, answer.headers.get("Fieldbook-Parcel-Again") == "1"

    # --- blobs (docs/attachments.md) -----------------------------------------

    def _blob_path(self, sha256: str, suffix: str = "") -> str:
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return f"{API_PREFIX}{BLOBS_PATH}/{sha256}{suffix}"

    def _blob_fail(self, answer: _Answer) -> SyncError:
        """A refused file is final (``FileRefused``); the rest as usual."""
        if answer.status in _FILE_REFUSALS:
            code, message = answer.error()
            return FileRefused(code, message, status=answer.status)
        return self._fail(answer)

    def blob_status(self, sha256: str) -> BlobStatus:
        """What the server holds of a blob (``complete`` from anyone: nothing to send)."""
        answer = self._authorized("GET", self._blob_path(sha256, "/status"), raw=_Raw())
        if not 200 <= answer.status < 300:
            raise self._blob_fail(answer)
        return _message(answer, BLOB_STATUS)

    def put_blob(
        self, sha256: str, *, size: int, media_type: str, offset: int, body: bytes
    ) -> BlobStatus:
        """Send one piece of a blob, starting at ``offset``. The server keeps
        what arrives even if the connection drops mid-body; an offset other
        than the one it holds raises ``BlobOffsetMismatch`` with its status."""
        headers = {
            SIZE_HEADER: str(size), TYPE_HEADER: media_type, OFFSET_HEADER: str(offset),
            "Content-Type": "application/octet-stream",
        }
        answer = self._authorized("PUT", self._blob_path(sha256), raw=_Raw(body=body, headers=headers))
        if answer.status == 409:
            held = _conflict_status(answer)
            if held is not None:
                raise BlobOffsetMismatch(held, answer.error()[0])
        if not 200 <= answer.status < 300:
            raise self._blob_fail(answer)
        return _message(answer, BLOB_STATUS)

    def get_blob(
        self, sha256: str, open_sink: Callable[[BlobRange], Callable[[bytes], None]], *,
        start: int = 0,
    ) -> BlobRange:
        """Fetch a blob from ``start``. ``open_sink`` learns what is coming
        (the server may send the whole file instead of the range: then its
        ``start`` is 0) and returns what receives the bytes as they arrive;
        those before a dropped connection are the caller's to keep.
        ``NotAvailableYet`` for a 404."""
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}  # photos do not gzip
        if start > 0:
            headers["Range"] = f"bytes={start}-"
        got: list[BlobRange] = []

        def sink(status: int, answer_headers: Mapping[str, str]) -> Callable[[bytes], None]:
            got.append(_blob_range(status, answer_headers))
            return open_sink(got[0])

        answer = self._authorized("GET", self._blob_path(sha256), raw=_Raw(headers=headers, sink=sink))
        if answer.status == 404:
            code, message = answer.error()
            raise NotAvailableYet(None if code.startswith("http_") else message)
        if not 200 <= answer.status < 300:
            raise self._blob_fail(answer)
        return got[0] if got else _blob_range(answer.status, answer.headers)


def _message(answer: _Answer, adapter: TypeAdapter[_Message]) -> _Message:
    """The answer's body as the protocol message it must be, checked as
    strictly as the server checks requests: anything else is a bad answer
    (a proxy's page, a broken server), and none of it reaches the store."""
    try:
        return read(adapter, answer.body)
    except MalformedMessage as problem:
        log.warning("The server's answer is not what the protocol says: %s", problem)
        raise BadResponse() from None


def _blob_status(data: Any) -> BlobStatus:
    try:
        return read(BLOB_STATUS, json.dumps(data))
    except (MalformedMessage, TypeError, ValueError):
        raise BadResponse() from None


def _conflict_status(answer: _Answer) -> BlobStatus | None:
    """The server's ``BlobStatus`` in a 409's error body (``error.status``,
    or beside ``error``), or None when it is another conflict."""
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    held = error.get("status") if isinstance(error, dict) else None
    held = held if held is not None else data.get("status")
    if not isinstance(held, dict):
        return None
    try:
        return _blob_status(held)
    except BadResponse:
        return None


def _blob_range(status: int, headers: Mapping[str, str]) -> BlobRange:
    """Where the body starts, from ``Content-Range: bytes a-b/total``."""
    if status != 206:
        length = headers.get("Content-Length")
        return BlobRange(0, int(length) if length and length.isdigit() else None)
    raw = headers.get("Content-Range", "")
    try:
        unit, _, rest = raw.partition(" ")
        span, _, total = rest.partition("/")
        first = int(span.split("-", 1)[0])
        if unit != "bytes":
            raise ValueError(raw)
    except ValueError:
        raise BadResponse() from None
    return BlobRange(first, int(total) if total.isdigit() else None)


# --- wire sizes ---------------------------------------------------------------


def _head_size(first_line: str, headers: Mapping[str, str]) -> int:
    return len(first_line) + 2 + sum(len(k) + len(str(v)) + 4 for k, v in headers.items()) + 2


def _estimate_request(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> int:
    parts = urlsplit(url)
    extra = {"Host": parts.netloc, "Content-Length": str(len(body or b""))}
    return _head_size(f"{method} {parts.path} HTTP/1.1", {**headers, **extra}) + len(body or b"")


def _request_size(request: requests.PreparedRequest, body: bytes | None) -> int:
    """The request as it went out: request line, headers (with the Host line
    http.client adds) and body."""
    if request.url is None or request.method is None:
        return 0
    headers = {str(k): str(v) for k, v in request.headers.items()}
    headers["Host"] = urlsplit(request.url).netloc
    return _head_size(f"{request.method} {request.path_url} HTTP/1.1", headers) + len(body or b"")


def _response_size(response: requests.Response) -> int:
    """Status line, headers and the body bytes read off the wire (compressed)."""
    head = _head_size(f"HTTP/1.1 {response.status_code} {response.reason or ''}", response.headers)
    try:
        return head + int(response.raw.tell())
    except (AttributeError, TypeError, ValueError):
        return head


__all__ = [
    "BLOB_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "BlobRange",
    "Tokens",
    "Traffic",
    "TrafficCounter",
    "UserInfo",
    "normalize_server_url",
]
