"""``GET /api/v1/me``: who the access token belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from app.server.deps import CurrentUser
from app.server.schemas import UserOut, error_responses

router = APIRouter(tags=["auth"])


def user_out(user: object) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/me", response_model=UserOut, responses=error_responses(401))
def me(user: CurrentUser) -> UserOut:
    return user_out(user)
