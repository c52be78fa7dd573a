"""Sign-in, token refresh, sign-out and password change (``/api/v1/auth``).

The session rules (what ends a session, retries, reuse, throttling) are in
``app/server/security.py`` and docs/sync.md.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from sqlalchemy import select

from app.server.config import Settings
from app.server.deps import CurrentUser, SessionDep, SettingsDep, SourceDep
from app.server.errors import ApiError
from app.server.routers.me import user_out
from app.server.schemas import (
    BODY_ERRORS,
    LoginRequest,
    LogoutRequest,
    PasswordChangeRequest,
    RefreshRequest,
    TokenResponse,
    error_responses,
)
from app.server.security import (
    NOTICE_REUSE,
    Locked,
    RefreshError,
    SessionTokens,
    burn_password_check,
    check_throttle,
    create_access_token,
    end_all_sessions,
    hash_password,
    is_valid_username,
    needs_rehash,
    normalize_username,
    record_failure,
    reset_failures,
    revoke_refresh_token,
    rotate_refresh_token,
    start_session,
    take_session_notice,
    verify_password,
)
from app.server.tables import User

log = logging.getLogger("fieldbook.server")

router = APIRouter(prefix="/auth", tags=["auth"])

INVALID_CREDENTIALS = "The user name or password is not correct."


def _tokens(settings: Settings, issued: SessionTokens, notice: str | None = None) -> TokenResponse:
    user = issued.user
    return TokenResponse(
        access_token=create_access_token(
            settings, user.id, version=user.token_version, session_id=issued.session_id
        ),
        refresh_token=issued.refresh_token,
        expires_in=settings.access_token_minutes * 60,
        user=user_out(user),
        notice="session_revoked_reuse" if notice == NOTICE_REUSE else None,
    )


def _locked(exc: Locked) -> ApiError:
    return ApiError(
        429,
        "too_many_attempts",
        f"Too many failed sign-ins. Please wait {exc.retry_after} seconds and try again.",
        {"Retry-After": str(exc.retry_after)},
    )


@router.post("/login", response_model=TokenResponse, responses=error_responses(*BODY_ERRORS, 401, 429))
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep, source: SourceDep) -> TokenResponse:
    username = normalize_username(body.username)
    if not is_valid_username(username):
        # No such user can exist: answer like a wrong password, touch nothing.
        burn_password_check(body.password)
        raise ApiError(401, "invalid_credentials", INVALID_CREDENTIALS)
    try:
        check_throttle(session, settings, username, source)
    except Locked as exc:
        raise _locked(exc) from None
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        burn_password_check(body.password)
        ok = False
    else:
        ok = verify_password(user.password_hash, body.password)
    if not ok:
        lock = record_failure(session, settings, username, source)
        session.commit()
        if lock is not None:
            raise _locked(Locked(lock))
        raise ApiError(401, "invalid_credentials", INVALID_CREDENTIALS)
    assert user is not None
    if not user.active:
        raise ApiError(401, "account_disabled", "This account has been disabled.")
    reset_failures(session, username, source)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(body.password)
    issued = start_session(session, settings, user)
    notice = take_session_notice(user)
    session.commit()
    log.info("User %s signed in", user.username)
    return _tokens(settings, issued, notice)


@router.post("/refresh", response_model=TokenResponse, responses=error_responses(*BODY_ERRORS, 401))
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    try:
        issued = rotate_refresh_token(session, settings, body.refresh_token)
    except RefreshError as exc:
        session.commit()  # keep a family revoked on reuse
        raise ApiError(401, exc.code, exc.message) from None
    session.commit()
    return _tokens(settings, issued)


@router.post("/logout", status_code=204, responses=error_responses(*BODY_ERRORS))
def logout(body: LogoutRequest, session: SessionDep, settings: SettingsDep) -> Response:
    revoke_refresh_token(session, settings, body.refresh_token)
    session.commit()
    return Response(status_code=204)


@router.post("/password", status_code=204, responses=error_responses(*BODY_ERRORS, 401, 429))
def change_password(
    body: PasswordChangeRequest, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    source: SourceDep,
) -> Response:
    """Every session of the user ends, this one too: the client signs in
    again with the new password."""
    try:
        check_throttle(session, settings, user.username, source)
    except Locked as exc:
        raise _locked(exc) from None
    if not verify_password(user.password_hash, body.old_password):
        lock = record_failure(session, settings, user.username, source)
        session.commit()
        if lock is not None:
            raise _locked(Locked(lock))
        raise ApiError(401, "invalid_credentials", "The current password is not correct.")
    user.password_hash = hash_password(body.new_password)
    end_all_sessions(session, user, settings.now())
    session.commit()
    log.info("User %s changed their password", user.username)
    return Response(status_code=204)
