"""Managing users and cohorts: the functions behind ``fieldbook-server``'s
commands (and the tests' fixtures).

Each function commits its change, or raises ``AdminError`` with a message for
the person at the command line and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.server.security import (
    USERNAME_MAX,
    clear_lockouts,
    current_lockouts,
    end_all_sessions,
    hash_password,
    is_valid_username,
    normalize_username,
)
from app.server.tables import Cohort, CohortMember, LoginFailure, User, utcnow

log = logging.getLogger("fieldbook.server")

ROLES: Final = ("fellow", "trainer", "admin")
PASSWORD_MIN: Final = 8
PASSWORD_MAX: Final = 256
NAME_MAX: Final = 100
DEMO_COHORT: Final = "示范班 Demo cohort"
# The demo fellows teach at two schools, so a trainer's filters by school
# have something to show.
DEMO_USERS: Final = (
    ("trainer", "trainer", "示范培训师 Demo trainer", ""),
    ("fellow1", "fellow", "示范老师一 Demo fellow 1", "红星小学"),
    ("fellow2", "fellow", "示范老师二 Demo fellow 2", "青山小学"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to misread (l/1, o/0)


class AdminError(Exception):
    """A request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    display_name: str


def generate_password() -> str:
    """Easy to read out and type: ``k7m2-pq4x-9hzt`` (about 70 bits)."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


def _check_name(what: str, value: str, limit: int) -> str:
    value = " ".join(value.split())
    if not value:
        raise AdminError(f"The {what} must not be empty.")
    if len(value) > limit:
        raise AdminError(f"The {what} is too long ({len(value)} characters, at most {limit}).")
    if _CONTROL.search(value):
        raise AdminError(f"The {what} contains characters that are not allowed.")
    return value


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise AdminError(f"The password is too short: at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise AdminError(f"The password is too long: at most {PASSWORD_MAX} characters.")
    if _CONTROL.search(password):
        raise AdminError("The password contains characters that are not allowed.")


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == normalize_username(username))).one_or_none()
    if user is None:
        raise AdminError(f"There is no user named {username!r}.")
    return user


def get_cohort(session: Session, name: str) -> Cohort:
    cohort = session.scalars(select(Cohort).where(Cohort.name == " ".join(name.split()))).one_or_none()
    if cohort is None:
        raise AdminError(f"There is no cohort named {name!r}.")
    return cohort


def _add_unique(session: Session, row: User | Cohort, taken: str) -> None:
    """Add and commit ``row``; a unique clash (someone created the same name
    since we looked) becomes ``AdminError(taken)``."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AdminError(taken) from None


def create_user(
    session: Session, username: str, password: str, role: str, display_name: str = "", school: str = ""
) -> User:
    name = normalize_username(username)
    if not is_valid_username(name):
        raise AdminError(
            f"{username!r} cannot be a user name: use 1 to {USERNAME_MAX} letters a-z, digits "
            "and . _ - @, starting with a letter or digit."
        )
    if role not in ROLES:
        raise AdminError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.")
    check_password(password)
    display = _check_name("display name", display_name, NAME_MAX) if display_name.strip() else ""
    school = _check_name("school", school, NAME_MAX) if school.strip() else ""
    taken = f"A user named {name!r} already exists."
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise AdminError(taken)
    user = User(
        username=name,
        display_name=display or name,
        school=school,
        role=role,
        password_hash=hash_password(password),
        active=True,
        created_at=utcnow(),
    )
    _add_unique(session, user, taken)
    log.info("Created %s %s", role, name)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """A new password (e.g. one the user forgot); signs out all their devices
    at once: their access tokens are refused on the next request."""
    user = get_user(session, username)
    check_password(password)
    user.password_hash = hash_password(password)
    end_all_sessions(session, user, utcnow())
    session.commit()
    return user


def create_cohort(session: Session, name: str) -> Cohort:
    name = _check_name("cohort name", name, NAME_MAX)
    taken = f"A cohort named {name!r} already exists."
    if session.scalars(select(Cohort.id).where(Cohort.name == name)).first() is not None:
        raise AdminError(taken)
    cohort = Cohort(name=name, created_at=utcnow())
    _add_unique(session, cohort, taken)
    log.info("Created cohort %s", name)
    return cohort


def cohorts_of(session: Session, user: User) -> list[Cohort]:
    return list(
        session.scalars(
            select(Cohort).join(CohortMember).where(CohortMember.user_id == user.id).order_by(Cohort.name)
        )
    )


def assign(session: Session, username: str, cohort_name: str) -> list[Cohort]:
    """Put a user in a cohort. A fellow is in one cohort at most, so assigning
    moves them; a trainer can be in many. Returns the cohorts the user left."""
    user = get_user(session, username)
    cohort = get_cohort(session, cohort_name)
    if user.role == "admin":
        raise AdminError(f"{user.username!r} is an admin and sees every cohort; admins are not assigned.")
    left: list[Cohort] = []
    if user.role == "fellow":
        left = [c for c in cohorts_of(session, user) if c.id != cohort.id]
        if left:
            session.execute(
                delete(CohortMember).where(
                    CohortMember.user_id == user.id, CohortMember.cohort_id != cohort.id
                )
            )
    if session.get(CohortMember, (cohort.id, user.id)) is None:
        session.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
    session.commit()
    log.info("Assigned %s to %s", user.username, cohort.name)
    return left


def unassign(session: Session, username: str, cohort_name: str) -> None:
    user = get_user(session, username)
    cohort = get_cohort(session, cohort_name)
    member = session.get(CohortMember, (cohort.id, user.id))
    if member is None:
        raise AdminError(f"{user.username!r} is not in the cohort {cohort.name!r}.")
    session.delete(member)
    session.commit()
    log.info("Removed %s from %s", user.username, cohort.name)


def deactivate_user(session: Session, username: str) -> User:
    """Lock a user out at once: their access tokens stop working on the next
    request and their refresh tokens are revoked. Their records stay."""
    user = get_user(session, username)
    user.active = False
    end_all_sessions(session, user, utcnow())
    session.commit()
    log.info("Deactivated %s", user.username)
    return user


def lockouts(session: Session, now: dt.datetime | None = None) -> list[LoginFailure]:
    """Who cannot sign in right now, and from where (``username`` or
    ``source`` empty: every name from that source, or the name from every
    source that failed on it)."""
    return current_lockouts(session, now or utcnow())


def unlock(session: Session, username: str) -> int:
    """Let a user (or a name nobody has) be tried again from everywhere;
    returns how many failure counters were cleared."""
    name = normalize_username(username)
    cleared = clear_lockouts(session, name)
    session.commit()
    log.info("Cleared %d sign-in failure counters of %s", cleared, name)
    return cleared


def demo(session: Session) -> list[Login]:
    """A demo cohort with a trainer and two fellows, each with a new password.

    Running it again gives the demo users new passwords (and reactivates them)."""
    cohort = session.scalars(select(Cohort).where(Cohort.name == DEMO_COHORT)).one_or_none()
    if cohort is None:
        cohort = create_cohort(session, DEMO_COHORT)
    logins = []
    for username, role, display, school in DEMO_USERS:
        password = generate_password()
        existing = session.scalars(select(User).where(User.username == username)).one_or_none()
        if existing is None:
            create_user(session, username, password, role, display, school)
        else:
            if existing.role != role:
                raise AdminError(f"A user named {username!r} exists as a {existing.role}; not changing it.")
            existing.active = True
            existing.school = school
            set_password(session, username, password)
        assign(session, username, cohort.name)
        logins.append(Login(username, password, role, display))
    return logins
