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
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from app.sync.errors import (
    AuthRequired,
    BadResponse,
    BadServerAddress,
    ClientTooOld,
    InvalidCredentials,
    Offline,
    RequestRejected,
    SecureConnectionFailed,
    ServerUnavailable,
    StoreRolledBack,
    SyncError,
    Throttled,
)
from app.sync.protocol import (
    API_PREFIX,
    MAX_INFLATED_BYTES,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    encode,
)

log = logging.getLogger("fieldbook.sync")

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
_REFRESH_MARGIN_S = 30.0  # refresh a little before the access token runs out
_READ_CHUNK = 64 * 1024


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

    @classmethod
    def from_json(cls, data: Any) -> Tokens:
        try:
            return cls(str(data["access_token"]), str(data["refresh_token"]),
                       float(data.get("expires_in") or 0), UserInfo.from_json(data["user"]))
        except (TypeError, KeyError, ValueError):
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
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.user: UserInfo | None = None
        self._access_deadline = 0.0  # time.monotonic() after which the access token is stale
        self._lock = threading.RLock()

    # --- plumbing ------------------------------------------------------------

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def reset_connections(self) -> None:
        """Drop pooled connections: after a network change (a hotspot that
        came back) an old keep-alive connection may be dead without anyone
        having said so, and would only fail after the read timeout."""
        for adapter in self._session.adapters.values():
            adapter.close()

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _send(self, method: str, path: str, payload: Any = None, *, token: str | None = None) -> _Answer:
        headers = {
            PROTOCOL_HEADER: str(self.protocol_version),
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
        }
        body: bytes | None = None
        if payload is not None:
            body, body_headers = encode(payload)
            headers.update(body_headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self._url(path)
        sent = _estimate_request(method, url, headers, body)
        try:
            response = self._session.request(
                method, url, data=body, headers=headers, timeout=self.timeout, stream=True,
                allow_redirects=False,
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            self.traffic.add(requests=1, sent=sent)
            log.info("%s %s failed: %s", method, path, exc)
            raise _map_exception(exc) from exc
        try:
            sent = _request_size(response.request, body) or sent
            data = self._read_body(response)
        except SyncError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.info("%s %s: the answer was cut off: %s", method, path, exc)
            raise _map_exception(exc) from exc
        finally:
            self.traffic.add(requests=1, sent=sent, received=_response_size(response))
            response.close()
        return _Answer(response.status_code, response.headers, data)

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

    def login(self, username: str, password: str) -> Tokens:
        answer = self._send("POST", f"{API_PREFIX}/auth/login",
                            {"username": username, "password": password})
        if answer.status in (401, 422):
            code, message = answer.error()
            if code == "account_disabled":
                raise InvalidCredentials(message)
            raise InvalidCredentials()
        return self._take(Tokens.from_json(self._ok(answer)))

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

    def logout(self, refresh_token: str | None = None) -> None:
        """Revoke the refresh token on the server (this device's sign-in)."""
        token = refresh_token or self.refresh_token
        self.forget_tokens()
        if token:
            self._ok(self._send("POST", f"{API_PREFIX}/auth/logout", {"refresh_token": token}))

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

    def _authorized(self, method: str, path: str, payload: Any = None) -> _Answer:
        """Send with the access token; on a 401 for the token, refresh once and resend."""
        self.ensure_access()
        answer = self._send(method, path, payload, token=self.access_token)
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
        answer = self._send(method, path, payload, token=self.access_token)
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

    def push(self, request: PushRequest) -> PushResponse:
        data = self._ok(self._authorized("POST", f"{API_PREFIX}/sync/push", request))
        if not isinstance(data, dict) or not isinstance(data.get("results"), list) \
                or not isinstance(data.get("last_seq"), int):
            raise BadResponse()
        return cast(PushResponse, data)

    def pull(self, request: PullRequest) -> PullResponse:
        data = self._ok(self._authorized("POST", f"{API_PREFIX}/sync/pull", request))
        if not isinstance(data, dict) or not isinstance(data.get("cursor"), int) \
                or not isinstance(data.get("records"), list) or not isinstance(data.get("devices"), list):
            raise BadResponse()
        for key in ("conflicts", "notices", "scope", "removed"):
            data.setdefault(key, [])
        data.setdefault("more", False)
        return cast(PullResponse, data)


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
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "Tokens",
    "Traffic",
    "TrafficCounter",
    "UserInfo",
    "normalize_server_url",
]
