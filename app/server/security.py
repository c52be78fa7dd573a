"""Passwords, sessions, tokens and sign-in throttling (docs/sync.md, "Sign-in
and sessions").

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).
* Sessions: one sign-in on one device is a refresh-token *family*; its id is
  the session id. A session is live while one of its tokens is not revoked.
* Access tokens: JWT HS256 ``{sub, type: "access", ver, sid, iat, exp}``,
  short-lived. Every request reloads the user and refuses the token unless
  ``ver`` is the user's ``token_version`` (bumped by a password change or
  reset and deactivation: every session ends) and the session ``sid`` is
  still live (one device signed out, or its family revoked after a reuse).
  So every sign-out takes effect on the next request, not when the token
  expires.
* Refresh tokens: 32 random bytes at sign-in, kept only as a SHA-256 hash.
  Each refresh spends the token and issues its *successor*, derived as
  HMAC(secret, token): a retry of a refresh whose answer was lost (within
  ``REUSE_GRACE``, before the successor was used) recomputes and returns the
  same successor, never a second session. Any other reuse of a spent token
  means it was copied: the family is revoked and the user is told on their
  next sign-in (``session_notice``).
* Throttling, by (name, source), by source and by name: see ``check_throttle``.

All times come from ``settings.now()`` so tests can move the clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.server.config import Settings
from app.server.database import as_utc
from app.server.tables import LoginFailure, RefreshToken, User

log = logging.getLogger("fieldbook.server")

JWT_ALGORITHM = "HS256"
ACCESS = "access"
REFRESH_TOKEN_BYTES = 32
USERNAME_MAX = 64
# User names: letters, digits and . _ - @ (stored lower-case).
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
FAILURE_MEMORY = dt.timedelta(hours=1)  # failures older than this are forgotten
# A rotated refresh token presented again this soon, before its successor
# was used, is a retry whose answer the hotspot dropped: it gets the same
# successor back. Any other reuse is treated as theft.
REUSE_GRACE = dt.timedelta(seconds=60)
SESSION_ID_LENGTH = 32  # hex digits of a family id
# users.session_notice: the user's session was ended because its refresh
# token was used twice (told on the next sign-in).
NOTICE_REUSE = "session_revoked_reuse"
_SUCCESSOR_LABEL = b"fieldbook refresh successor\x00"
_HEX_DIGITS = frozenset("0123456789abcdef")

_hasher = PasswordHasher()
_dummy_hash: tuple[PasswordHasher, str] | None = None


# --- passwords ---------------------------------------------------------------


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the hasher (tests use cheaper parameters); returns the old one."""
    global _hasher
    old, _hasher = _hasher, hasher
    return old


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def burn_password_check(password: str) -> None:
    """Spend the time a real check takes, so an unknown user name answers as
    slowly as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None or _dummy_hash[0] is not _hasher:
        _dummy_hash = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    verify_password(_dummy_hash[1], password)


def normalize_username(username: str) -> str:
    return username.strip().lower()


def is_valid_username(username: str) -> bool:
    """Whether a (normalized) name could belong to a user: anything else is
    answered without touching the database."""
    return bool(USERNAME_RE.match(username))


# --- access tokens -----------------------------------------------------------


class TokenError(Exception):
    """A token that must not be accepted; the message is safe to show."""


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says: whose it is, the user's token version
    when it was issued, and its session (``None`` only in tokens minted by
    tooling such as test fixtures: the API always names one)."""

    user_id: int
    version: int
    session_id: str | None


def create_access_token(
    settings: Settings, user_id: int, *, version: int = 0, session_id: str | None = None
) -> str:
    now = settings.now()
    payload: dict[str, Any] = {
        "sub": str(user_id),
        "type": ACCESS,
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + settings.access_token_ttl).timestamp()),
    }
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, settings.secret, algorithm=JWT_ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The claims of a valid, unexpired access token, else ``TokenError``.

    Whether the claims still hold (version, live session) is the caller's
    check against the database (``deps.get_current_user``)."""
    invalid = TokenError("The access token is not valid.")
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            settings.secret,
            algorithms=[JWT_ALGORITHM],
            # Time is checked below against settings.now(), the server's clock
            # (PyJWT would compare "iat" with the system clock).
            options={"require": ["exp", "sub", "type", "ver"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise invalid from None
    exp, sub, ver, sid = payload.get("exp"), payload.get("sub"), payload.get("ver"), payload.get("sid")
    if payload.get("type") != ACCESS or not isinstance(exp, int | float) or not isinstance(sub, str):
        raise invalid
    if exp <= settings.now().timestamp():
        raise TokenError("The access token has expired.")
    if not (sub.isascii() and sub.isdigit() and len(sub) <= 10 and 0 < int(sub) < 2**31):
        raise invalid
    if isinstance(ver, bool) or not isinstance(ver, int) or not 0 <= ver < 2**31:
        raise invalid
    if sid is not None and not is_session_id(sid):
        raise invalid
    return AccessClaims(int(sub), ver, sid)


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == SESSION_ID_LENGTH and set(value) <= _HEX_DIGITS


def session_is_live(session: Session, user_id: int, session_id: str) -> bool:
    """Whether the sign-in ``session_id`` of ``user_id`` has not ended: one
    seek in ``ix_refresh_tokens_family_revoked_at``."""
    # The owner is compared here, not in the query: with it there SQLite's
    # planner picks the user_id index and walks all the user's tokens.
    owner = session.scalars(
        select(RefreshToken.user_id)
        .where(RefreshToken.family == session_id, RefreshToken.revoked_at.is_(None))
        .limit(1)
    ).first()
    return owner is not None and owner == user_id


# --- refresh tokens ----------------------------------------------------------


@dataclass(frozen=True)
class SessionTokens:
    """A user's refresh token and the session (family) it belongs to."""

    user: User
    refresh_token: str
    session_id: str


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def successor_token(settings: Settings, token: str) -> str:
    """The token a refresh with ``token`` issues. Derived, not random, so a
    retry of that refresh gives the same answer while the server keeps only
    hashes; unguessable without the server secret."""
    mac = hmac.new(
        settings.secret.encode("utf-8"),
        _SUCCESSOR_LABEL + token.encode("utf-8", "surrogatepass"),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _add_token(session: Session, settings: Settings, user: User, token: str, family: str) -> None:
    """Store ``token`` (its hash) in ``family``; the caller commits."""
    now = settings.now()
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_refresh_token(token),
            family=family,
            created_at=now,
            expires_at=now + settings.refresh_token_ttl,
        )
    )
    # Forget the user's expired tokens (a reused expired token is refused anyway).
    session.execute(
        delete(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.expires_at < now)
        .execution_options(synchronize_session=False)
    )


def start_session(session: Session, settings: Settings, user: User) -> SessionTokens:
    """A new sign-in (family) for ``user`` with its first refresh token; the caller commits."""
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    family = secrets.token_hex(SESSION_ID_LENGTH // 2)
    _add_token(session, settings, user, token, family)
    return SessionTokens(user, token, family)


class RefreshError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_EXPIRED = "The session has expired. Please sign in again."
_ENDED = "You were signed out. Please sign in again."


def rotate_refresh_token(session: Session, settings: Settings, token: str) -> SessionTokens:
    """Spend ``token`` and return its session's next token.

    Raises ``RefreshError``. The caller commits in either case: reuse
    detection revokes the family even though the request fails."""
    now = settings.now()
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
    ).one_or_none()
    if row is None or as_utc(row.expires_at) <= now:
        raise RefreshError("invalid_token", _EXPIRED)
    successor = successor_token(settings, token)
    # Spend it atomically: of two requests racing with one token, one wins.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, successor_hash=hash_refresh_token(successor))
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        session.refresh(row)  # what the spending (or revoking) request wrote
        return _answer_reuse(session, settings, row, successor, now)
    user = _active_user(session, row, now)
    _add_token(session, settings, user, successor, row.family)
    return SessionTokens(user, successor, row.family)


def _active_user(session: Session, row: RefreshToken, now: dt.datetime) -> User:
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        revoke_family(session, row.family, now)
        raise RefreshError("account_disabled", "This account has been disabled.")
    return user


def _answer_reuse(
    session: Session, settings: Settings, row: RefreshToken, successor: str, now: dt.datetime
) -> SessionTokens:
    """A token that is no longer live was presented: a retry gets the same
    successor; a token of an ended session is simply refused; anything else
    is a copy in someone else's hands."""
    if row.successor_hash is None or not session_is_live(session, row.user_id, row.family):
        # Revoked rather than spent (signed out, new password), or spent in a
        # session that has ended since: nothing left to protect.
        raise RefreshError("invalid_token", _ENDED)
    if _is_lost_answer_retry(session, row, successor, now):
        user = _active_user(session, row, now)
        log.info("Refresh retried for user %s after a lost answer; same token again", row.user_id)
        return SessionTokens(user, successor, row.family)
    revoke_family(session, row.family, now)
    owner = session.get(User, row.user_id)
    if owner is not None:
        owner.session_notice = NOTICE_REUSE
    log.warning("Refresh token reused for user %s; ended that session", row.user_id)
    raise RefreshError("token_reused", "This session was ended for safety. Please sign in again.")


def _is_lost_answer_retry(session: Session, row: RefreshToken, successor: str, now: dt.datetime) -> bool:
    """The token was spent moments ago and its successor was never used: the
    client did not get the answer of that refresh and asks again."""
    successor_hash = hash_refresh_token(successor)
    if row.revoked_at is None or now - as_utc(row.revoked_at) > REUSE_GRACE:
        return False
    if row.successor_hash != successor_hash:  # the secret changed since
        return False
    unused = session.scalars(
        select(RefreshToken.id).where(
            RefreshToken.token_hash == successor_hash, RefreshToken.revoked_at.is_(None)
        )
    ).first()
    return unused is not None


def _revoke_where(session: Session, condition: ColumnElement[bool], now: dt.datetime) -> None:
    """Revoke the live refresh tokens matching ``condition``."""
    session.execute(
        update(RefreshToken)
        .where(condition, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_family(session: Session, family: str, now: dt.datetime) -> None:
    _revoke_where(session, RefreshToken.family == family, now)


def revoke_refresh_token(session: Session, settings: Settings, token: str) -> None:
    """Sign out the device holding ``token`` (its family, and so its access
    tokens on their next request); unknown tokens are ignored."""
    family = session.scalars(
        select(RefreshToken.family).where(RefreshToken.token_hash == hash_refresh_token(token))
    ).one_or_none()
    if family is not None:
        revoke_family(session, family, settings.now())


def revoke_user_tokens(session: Session, user_id: int, now: dt.datetime) -> None:
    _revoke_where(session, RefreshToken.user_id == user_id, now)


def end_all_sessions(session: Session, user: User, now: dt.datetime) -> None:
    """Sign ``user`` out everywhere: their refresh tokens are revoked and,
    with the version bumped, every access token they hold is refused on its
    next request. The caller commits."""
    user.token_version = (user.token_version or 0) + 1
    revoke_user_tokens(session, user.id, now)


def take_session_notice(user: User) -> str | None:
    """The notice waiting for ``user`` (told once, at sign-in); the caller commits."""
    notice, user.session_notice = user.session_notice, None
    return notice


# --- throttling --------------------------------------------------------------
#
# Three counters per failed attempt, each locking for growing times once past
# its threshold (``_lock_seconds``):
#
# * (name, source): the one that normally acts. A guesser at one address
#   slows only themself; the owner at another address is not affected.
# * ("", source): one address failing across many names (password spraying).
# * (name, ""): one name failing from many addresses. Locking it for everyone
#   would let anyone lock the owner out, so it is applied only to sources that
#   have themselves failed on that name; a source with a clean record (the
#   owner's) still has its password checked.

ANY = ""  # the wildcard half of a counter's key


class Locked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after  # whole seconds


def _remaining(row: LoginFailure | None, now: dt.datetime) -> float:
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (as_utc(row.locked_until) - now).total_seconds())


def check_throttle(session: Session, settings: Settings, username: str, source: str) -> None:
    """Raise ``Locked`` while ``username`` may not be tried from ``source``."""
    now = settings.now()
    pair = session.get(LoginFailure, (username, source))
    waits = [_remaining(pair, now), _remaining(session.get(LoginFailure, (ANY, source)), now)]
    if pair is not None and pair.count > 0:
        waits.append(_remaining(session.get(LoginFailure, (username, ANY)), now))
    wait = max(waits)
    if wait > 0:
        raise Locked(max(1, math.ceil(wait)))


def record_failure(session: Session, settings: Settings, username: str, source: str) -> int | None:
    """Count a failed attempt on ``username`` from ``source``; returns the
    seconds this source must now wait, if any. The caller commits."""
    now = settings.now()
    locks = [
        _count(session, settings, (username, source), settings.throttle_after, now),
        _count(session, settings, (ANY, source), settings.throttle_source_after, now),
        # Applies to this source: it has just failed on the name.
        _count(session, settings, (username, ANY), settings.throttle_account_after, now),
    ]
    # Keep the table small: forget counters with no recent failure and no lock.
    session.execute(
        delete(LoginFailure)
        .where(
            LoginFailure.last_at < now - FAILURE_MEMORY - dt.timedelta(seconds=settings.throttle_max_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    lock = max(lock for lock in locks)
    return lock or None


def _count(
    session: Session, settings: Settings, key: tuple[str, str], threshold: int, now: dt.datetime
) -> int:
    """One more failure on the counter ``key``; the lock it sets, in seconds (0: none)."""
    username, source = key
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginFailure)
        .values(username=username, source=source, count=0, locked_until=None, last_at=now)
        .on_conflict_do_nothing(index_elements=["username", "source"])
    )
    row = session.scalars(
        select(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.source == source)
        .with_for_update()
        .execution_options(populate_existing=True)  # not the copy check_throttle read
    ).one()
    if row.count and as_utc(row.last_at) < now - FAILURE_MEMORY and _remaining(row, now) == 0:
        row.count = 0
    row.count += 1
    row.last_at = now
    if row.count < threshold:
        return 0
    lock = _lock_seconds(settings, row.count - threshold)
    row.locked_until = now + dt.timedelta(seconds=lock)
    log.warning(
        "Sign-in locked for %d s after %d failures (name %r, source %r)",
        lock, row.count, username or "*", source or "*",
    )
    return lock


def _lock_seconds(settings: Settings, beyond_threshold: int) -> int:
    """30 s at the threshold, doubling with each further failure, at most 15 min."""
    doublings = min(beyond_threshold, 30)
    return int(min(settings.throttle_base_seconds * 2**doublings, settings.throttle_max_seconds))


def reset_failures(session: Session, username: str, source: str) -> None:
    """A success from ``source`` clears that pair only: the source's and the
    name's counters keep counting (an attacker's own account cannot reset them)."""
    session.execute(
        delete(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.source == source)
        .execution_options(synchronize_session=False)
    )


def current_lockouts(session: Session, now: dt.datetime) -> list[LoginFailure]:
    """The counters locking someone out now, longest lock first (for admins)."""
    return list(
        session.scalars(
            select(LoginFailure)
            .where(LoginFailure.locked_until > now)
            .order_by(LoginFailure.locked_until.desc(), LoginFailure.username, LoginFailure.source)
        )
    )


def clear_lockouts(session: Session, username: str) -> int:
    """Forget every failure counted on ``username`` (an admin unlocking it);
    returns how many counters went. The caller commits."""
    result = session.execute(
        delete(LoginFailure)
        .where(LoginFailure.username == username)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
