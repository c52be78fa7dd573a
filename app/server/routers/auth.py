"""Sign-in, token refresh, sign-out and password change (``/api/v1/auth``).

The session rules (what ends a session, retries, reuse, throttling) are in
``app/server/security.py`` and docs/sync.md.
"""

from __future__ import annotations

import logging
from base64 import b64decode, b64encode

from fastapi import APIRouter, Response
from sqlalchemy import delete, select

from app.errors import ParcelKeyInvalid
from app.protocol.parcel_format import DevicePublicKeys
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
    hash_refresh_token,
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
from app.server.sync.parcels import device_certificate, register_device_keys
from app.server.tables import DeviceKeys, RefreshToken, User

log = logging.getLogger("fieldbook.server")

router = APIRouter(prefix="/auth", tags=["auth"])

INVALID_CREDENTIALS = "The user name or password is not correct."


def _tokens(settings: Settings, issued: SessionTokens, notice: str | None = None, *,
            registered: tuple[str, str] | None = None) -> TokenResponse:
    """``registered``: (device id, base64 keys) this sign-in registered, which
    the answer then certifies for the laptops in the room."""
    user = issued.user
    certificate = None if registered is None else device_certificate(
        settings, user, registered[0], DevicePublicKeys.from_bytes(b64decode(registered[1])))
    return TokenResponse(
        access_token=create_access_token(
            settings, user.id, version=user.token_version, session_id=issued.session_id
        ),
        refresh_token=issued.refresh_token,
        expires_in=settings.access_token_minutes * 60,
        user=user_out(user),
        notice="session_revoked_reuse" if notice == NOTICE_REUSE else None,
        server_parcel_keys=b64encode(settings.server_keys().public().to_bytes()).decode("ascii"),
        server_time=settings.now().isoformat(),
        parcel_keys_registered=registered is not None,
        device_certificate=certificate,
    )


def _device_keys(body: LoginRequest) -> str | None:
    """The device's public parcel keys, checked (base64 as sent), or None
    when the client sent none (an older client)."""
    if body.parcel_keys is None:
        return None
    if body.device_id is None:
        raise ApiError(422, "invalid_parcel_keys", "Parcel keys need the device id they belong to.")
    try:
        DevicePublicKeys.from_bytes(b64decode(body.parcel_keys, validate=True))
    except (ValueError, ParcelKeyInvalid):
        raise ApiError(422, "invalid_parcel_keys", "These are not a device's public parcel keys.") from None
    return body.parcel_keys


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
    keys = _device_keys(body)
    issued = start_session(session, settings, user)
    notice = take_session_notice(user)
    if keys is not None and body.device_id is not None:
        register_device_keys(session, settings, user, body.device_id, keys)
    session.commit()
    log.info("User %s signed in%s", user.username, "" if keys is None else f" on device {body.device_id}")
    registered = (body.device_id, keys) if keys is not None and body.device_id is not None else None
    return _tokens(settings, issued, notice, registered=registered)


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
    if body.device_id is not None:
        # Only the holder of a live refresh token of that user drops the key.
        user_id = session.scalars(
            select(RefreshToken.user_id).where(
                RefreshToken.token_hash == hash_refresh_token(body.refresh_token),
                RefreshToken.revoked_at.is_(None),
            )
        ).one_or_none()
        if user_id is not None:
            session.execute(delete(DeviceKeys).where(DeviceKeys.user_id == user_id,
                                                     DeviceKeys.device_id == body.device_id))
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
