"""FastAPI dependencies, typed once and used as annotations:

    def endpoint(session: SessionDep, user: CurrentUser, settings: SettingsDep): ...

``CurrentUser`` checks the bearer access token *and* loads the user row on
every request, so a deactivated user is refused at once (401), whatever
tokens they still hold; so is a token from before a password change or reset
(its version is behind the user's) or from a session that has ended (its
device signed out, or its refresh token was reused): every sign-out takes
effect on the next request. Role and cohort changes need nothing more: the
role is read from this row and ``permissions.visible_owner_ids`` asks the
database on every request.

``SourceDep`` is where a request comes from, for sign-in throttling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from app.server.config import Settings
from app.server.errors import ApiError
from app.server.security import TokenError, decode_access_token, session_is_live
from app.server.tables import User

_bearer = HTTPBearer(auto_error=False, description="The access token from /api/v1/auth/login")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
SOURCE_MAX = 64  # characters of a source address kept (an IPv6 address has at most 45)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; endpoints commit what they change, anything
    left uncommitted is rolled back when the request ends."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def request_source(request: Request, settings: SettingsDep) -> str:
    """The address a request comes from: the connection's peer, or, when the
    peer is a trusted reverse proxy (``FIELDBOOK_SERVER_TRUSTED_PROXIES``),
    the nearest address in ``X-Forwarded-For`` that is not one of them.
    Behind a proxy not listed there, every request seems to come from the
    proxy, and the throttle's per-source limits act on everyone at once."""
    peer = request.client.host if request.client is not None else ""
    trusted = settings.trusted_proxy_addresses
    if peer in trusted:
        hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
        for hop in reversed(hops):
            if hop and hop not in trusted:
                peer = hop
                break
    return peer[:SOURCE_MAX] or "unknown"


SourceDep = Annotated[str, Depends(request_source)]


def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "not_authenticated", "Please sign in.", _CHALLENGE)
    try:
        claims = decode_access_token(settings, credentials.credentials)
    except TokenError as exc:
        raise ApiError(401, "invalid_token", str(exc), _CHALLENGE) from None
    user = session.get(User, claims.user_id)
    if user is None:
        raise ApiError(401, "invalid_token", "The access token is not valid.", _CHALLENGE)
    if not user.active:
        raise ApiError(401, "account_disabled", "This account has been disabled.", _CHALLENGE)
    if claims.version != user.token_version or (
        claims.session_id is not None and not session_is_live(session, user.id, claims.session_id)
    ):
        raise ApiError(401, "session_ended", "You were signed out. Please sign in again.", _CHALLENGE)
    # End the read transaction: its connection goes back to the pool before
    # the endpoint waits for a worker thread of its own. Held across that
    # wait, a burst of requests (a classroom syncing at once) deadlocked:
    # every worker waiting for a connection, every connection held by a
    # request waiting for a worker, until the pool timed out with 500s.
    # (expire_on_commit=False: ``user`` stays loaded.)
    session.commit()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
