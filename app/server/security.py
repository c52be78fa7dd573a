"""Passwords, tokens and sign-in throttling.

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).
* Access tokens: JWT HS256 ``{sub: user id, type: "access", iat, exp}``,
  short-lived, checked against the user row on every request.
* Refresh tokens: 32 random bytes, kept only as a SHA-256 hash. Each refresh
  revokes the token it used and issues a new one in the same *family* (one
  sign-in on one device). Presenting a revoked token again means it was
  copied: the whole family is revoked.
* Throttling: after ``throttle_after`` failures for one user name the name is
  locked, 30 s at first and doubling up to 15 min; a success resets it.

All times come from ``settings.now()`` so tests can move the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import re
import secrets
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
from app.server.db import LoginFailure, RefreshToken, User

log = logging.getLogger("fieldbook.server")

JWT_ALGORITHM = "HS256"
ACCESS = "access"
REFRESH_TOKEN_BYTES = 32
USERNAME_MAX = 64
# User names: letters, digits and . _ - @ (stored lower-case).
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
FAILURE_MEMORY = dt.timedelta(hours=1)  # failures older than this are forgotten
# A rotated refresh token presented again this soon, while its sign-in is
# still live, is a retry whose answer the hotspot dropped, not a stolen copy.
REUSE_GRACE = dt.timedelta(seconds=60)

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


def create_access_token(settings: Settings, user_id: int) -> str:
    now = settings.now()
    payload = {
        "sub": str(user_id),
        "type": ACCESS,
        "iat": int(now.timestamp()),
        "exp": int((now + settings.access_token_ttl).timestamp()),
    }
    return jwt.encode(payload, settings.secret, algorithm=JWT_ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> int:
    """The user id in a valid, unexpired access token, else ``TokenError``."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            settings.secret,
            algorithms=[JWT_ALGORITHM],
            # Expiry is checked below against settings.now(), the server's clock.
            options={"require": ["exp", "sub", "type"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise TokenError("The access token is not valid.") from None
    exp, sub = payload.get("exp"), payload.get("sub")
    if payload.get("type") != ACCESS or not isinstance(exp, int | float) or not isinstance(sub, str):
        raise TokenError("The access token is not valid.")
    if exp <= settings.now().timestamp():
        raise TokenError("The access token has expired.")
    if not (sub.isascii() and sub.isdigit() and len(sub) <= 10 and 0 < int(sub) < 2**31):
        raise TokenError("The access token is not valid.")
    return int(sub)


# --- refresh tokens ----------------------------------------------------------


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_refresh_token(session: Session, settings: Settings, user: User, family: str | None = None) -> str:
    """A new refresh token for ``user`` (a new family unless given); the caller commits."""
    now = settings.now()
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_refresh_token(token),
            family=family or secrets.token_hex(16),
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
    return token


class RefreshError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def rotate_refresh_token(session: Session, settings: Settings, token: str) -> tuple[User, str]:
    """Spend ``token`` and return its user and the new token of the same family.

    Raises ``RefreshError``. The caller commits in either case: reuse
    detection revokes the family even though the request fails."""
    now = settings.now()
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
    ).one_or_none()
    if row is None or as_utc(row.expires_at) <= now:
        raise RefreshError("invalid_token", "The session has expired. Please sign in again.")
    # Spend it atomically: of two requests racing with one token, one wins.
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        if _is_lost_answer_retry(session, row, now):
            log.info("Refresh retried for user %s after a lost answer; reissued", row.user_id)
            revoke_family(session, row.family, now)  # the token whose answer was lost
            user = session.get(User, row.user_id)
            if user is not None and user.active:
                return user, issue_refresh_token(session, settings, user, family=row.family)
        revoke_family(session, row.family, now)
        log.warning("Refresh token reused for user %s; signed out that device", row.user_id)
        raise RefreshError("token_reused", "This session was ended for safety. Please sign in again.")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        revoke_family(session, row.family, now)
        raise RefreshError("account_disabled", "This account has been disabled.")
    return user, issue_refresh_token(session, settings, user, family=row.family)


def _is_lost_answer_retry(session: Session, row: RefreshToken, now: dt.datetime) -> bool:
    """The token was rotated moments ago and its family still has a live
    token: the client never got the answer of the rotation and tries again."""
    if row.revoked_at is None or now - as_utc(row.revoked_at) > REUSE_GRACE:
        return False
    live = session.scalars(
        select(RefreshToken.id).where(
            RefreshToken.family == row.family,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.created_at >= row.revoked_at,
        )
    ).first()
    return live is not None


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
    """Sign out the device holding ``token`` (its family); unknown tokens are ignored."""
    family = session.scalars(
        select(RefreshToken.family).where(RefreshToken.token_hash == hash_refresh_token(token))
    ).one_or_none()
    if family is not None:
        revoke_family(session, family, settings.now())


def revoke_user_tokens(session: Session, user_id: int, now: dt.datetime) -> None:
    _revoke_where(session, RefreshToken.user_id == user_id, now)


# --- throttling --------------------------------------------------------------


class Locked(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"locked for {retry_after} s")
        self.retry_after = retry_after  # whole seconds


def check_throttle(session: Session, settings: Settings, username: str) -> None:
    """Raise ``Locked`` while ``username`` is locked after repeated failures."""
    row = session.get(LoginFailure, username)
    if row is None or row.locked_until is None:
        return
    remaining = (as_utc(row.locked_until) - settings.now()).total_seconds()
    if remaining > 0:
        raise Locked(max(1, math.ceil(remaining)))


def record_failure(session: Session, settings: Settings, username: str) -> int | None:
    """Count a failed sign-in; returns the lock in seconds if this failure set one.
    The caller commits."""
    now = settings.now()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginFailure)
        .values(username=username, count=0, locked_until=None, last_at=now)
        .on_conflict_do_nothing(index_elements=["username"])
    )
    row = session.scalars(
        select(LoginFailure)
        .where(LoginFailure.username == username)
        .with_for_update()
        .execution_options(populate_existing=True)  # not the copy check_throttle read
    ).one()
    if (
        row.count
        and as_utc(row.last_at) < now - FAILURE_MEMORY
        and (row.locked_until is None or as_utc(row.locked_until) <= now)
    ):
        row.count = 0
    row.count += 1
    row.last_at = now
    lock: int | None = None
    if row.count >= settings.throttle_after:
        doublings = min(row.count - settings.throttle_after, 30)
        lock = min(settings.throttle_base_seconds * 2**doublings, settings.throttle_max_seconds)
        row.locked_until = now + dt.timedelta(seconds=lock)
        log.warning("Sign-in for %r locked for %d s after %d failures", username, lock, row.count)
    # Keep the table small: forget names with no recent failure and no lock.
    session.execute(
        delete(LoginFailure)
        .where(
            LoginFailure.last_at < now - FAILURE_MEMORY - dt.timedelta(seconds=settings.throttle_max_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return lock


def reset_failures(session: Session, username: str) -> None:
    session.execute(
        delete(LoginFailure)
        .where(LoginFailure.username == username)
        .execution_options(synchronize_session=False)
    )
