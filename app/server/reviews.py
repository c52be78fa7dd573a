"""Review threads, revisions and people (docs/review.md): the parts of the
rules that need no push batch.

``app/server/sync/review_rules.py`` applies review entries inside a push (they share its
transaction and seq counter); this module checks an entry on its own, names
the ids the server makes itself, words the reasons a user reads, and builds
what a pull sends: the entries of a page and the ``people`` list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from app.protocol.sync import MAX_REVIEW_BODY, Person, PushReview, RemoteReview, ReviewAction, Role
from app.server.database import as_utc
from app.server.tables import Cohort, CohortMember, Review, SyncRecord, User

REVISED: Final = "revised"  # notice kind: an edit of an approved record became a new revision
APPROVED: Final = "approved"
RETURNED: Final = "returned"
SUBMITTED: Final = "submitted"
DRAFT: Final = "draft"
ACCEPTED: Final = "accepted"
SUPERSEDED: Final = "superseded"
# The decision a client pushes -> the status the server then writes.
DECISIONS: Final = {"approve": APPROVED, "return": RETURNED}
CLIENT_ACTIONS: Final = frozenset({"approve", "return", "comment"})
SERVER_ACTIONS: Final = frozenset({"submit", "withdraw"})
# Meta fields of the revision chain, set only by the group that creates a
# record (mirrors app.models.fields.REVISION_FIELDS).
REVISION_FIELDS: Final = ("revision_of", "revision")
REVISION_MAX: Final = 10_000

NOT_VISIBLE: Final = "This record does not exist, or you may not see it."
OWN_RECORD: Final = "You cannot approve or return your own record."
NOT_REVIEWER: Final = "Only a trainer of the author's cohort can approve or return this record."
RETURN_NEEDS_BODY: Final = "Say what to change: returning a record needs a comment."
REVISED_REASON: Final = (
    "This record was approved meanwhile; your changes were saved as a new revision."
)
WITHDRAWN_REASON: Final = "The author took this record back to edit it."
DELETED_REASON: Final = "The author deleted this record."
RESUBMITTED_REASON: Final = (
    "The author changed this record and submitted it again after you opened it; "
    "please look at the new submission."
)
NOT_SUBMITTED_REASON: Final = "This record is not submitted for review."


def status_entry_id(record_id: str, action: str, clock: int, device: str) -> str:
    """The id of a ``submit``/``withdraw`` entry the server writes for an
    owner's status change: the same write always gives the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldbook:{record_id}:{action}:{clock}:{device}"))


def revision_id(record_id: str, approval_seq: int, device: str) -> str:
    """The id of the revision an offline edit of an approved record becomes:
    every such group of one device lands in the same one, a replay finds it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldbook:revision:{record_id}:{approval_seq}:{device}"))


def _is_text(value: str) -> bool:
    """No NUL and no lone surrogate: both cannot be stored (PostgreSQL, UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_basis(basis: list[Any]) -> bool:
    """``[clock, device]``, the shape of a field version."""
    return (
        len(basis) == 2
        and isinstance(basis[0], int)
        and not isinstance(basis[0], bool)
        and isinstance(basis[1], str)
    )


def entry_problem(entry: PushReview) -> str | None:
    """Why an entry is refused whatever its record says, or None. The
    request's schema checked the types already; these are the rules a user
    can read about (an entry refused here is not stored, the rest of the push
    applies)."""
    action = entry["action"]
    if action in SERVER_ACTIONS:
        return f"A {action} entry is written by the server when the status changes; it cannot be sent."
    if action not in CLIENT_ACTIONS:
        return f"Unknown review action {action[:32]!r}: use approve, return or comment."
    body = entry["body"]
    if len(body) > MAX_REVIEW_BODY:
        return f"The comment is too long ({len(body)} characters, at most {MAX_REVIEW_BODY})."
    if not _is_text(body):
        return "The comment contains characters that are not text."
    if not _is_iso_time(entry["written_at"]):
        return "The time the entry was written is not an ISO 8601 date and time."
    if action in DECISIONS and not is_basis(entry["basis"]):
        return "A decision needs the version of the submission it was made on ([clock, device])."
    if action == "return" and not body.strip():
        return RETURN_NEEDS_BODY
    return None


def _is_iso_time(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def decided_reason(status: str, decider: str | None) -> str:
    """Why a decision came too late: someone decided first."""
    verb = APPROVED if status == APPROVED else RETURNED
    if decider:
        return f"{decider} already {verb} this record."
    return f"This record was already {verb}."


def superseded_reason(status: Any, deleted: bool, decider: str | None) -> str:
    """Plain words for a decision that did not apply, from the record's
    stored state."""
    if deleted:
        return DELETED_REASON
    if status in (APPROVED, RETURNED):
        return decided_reason(str(status), decider)
    if status == DRAFT:
        return WITHDRAWN_REASON
    if status == SUBMITTED:
        return RESUBMITTED_REASON
    return NOT_SUBMITTED_REASON


def stored_entries(session: Session, ids: Iterable[str]) -> dict[str, tuple[int, str, str]]:
    """Entries already stored, by id: ``(author_id, outcome, reason)``."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Review.id, Review.author_id, Review.outcome, Review.reason).where(Review.id.in_(wanted))
    )
    return {rid: (author, outcome, reason) for rid, author, outcome, reason in rows}


def last_decider(session: Session, record_id: str) -> str | None:
    """Who made the latest accepted decision on a record (its display name)."""
    return session.execute(
        select(Review.author)
        .where(Review.record_id == record_id, Review.outcome == ACCEPTED,
               Review.action.in_(sorted(DECISIONS)))
        .order_by(Review.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def approval_seq(session: Session, record_id: str) -> int | None:
    """The seq of a record's latest accepted approval entry."""
    value = session.execute(
        select(func.max(Review.seq)).where(
            Review.record_id == record_id, Review.action == "approve", Review.outcome == ACCEPTED
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def chain_top(session: Session, owner_id: int, root: str) -> int:
    """The highest ``revision`` number stored in a revision chain (1 if none)."""
    table = cast(Table, SyncRecord.__table__)
    fields = table.c.fields  # JSON on both databases: json_extract / ->>
    top = session.execute(
        select(func.max(fields["revision"].as_integer())).where(
            table.c.owner_id == owner_id,
            or_(table.c.id == root, fields["revision_of"].as_string() == root),
        )
    ).scalar_one_or_none()
    return max(1, int(top or 1))


# --------------------------------------------------------------------------- pull


def page_entries(session: Session, where: list[ColumnElement[bool]]) -> list[RemoteReview]:
    """The entries matching any of ``where``, in seq order, as a pull sends them."""
    if not where:
        return []
    rows = session.execute(select(Review).where(or_(*where)).order_by(Review.seq)).scalars()
    return [
        {
            "id": r.id,
            "record_id": r.record_id,
            "author_id": r.author_id,
            "author": r.author,
            "action": cast(ReviewAction, r.action),
            "body": r.body,
            "outcome": "superseded" if r.outcome == SUPERSEDED else "accepted",
            "reason": r.reason,
            "at": as_utc(r.at).isoformat(),
            "seq": r.seq,
        }
        for r in rows
    ]


def owners_between(owners: AbstractSet[int] | None, low: int | None, high: int) -> ColumnElement[bool]:
    """Entries of ``owners`` (every owner for None) with ``low < seq <= high``
    (no lower bound for None)."""
    parts: list[ColumnElement[bool]] = [Review.seq <= high]
    if owners is not None:
        parts.append(Review.owner_id.in_(sorted(owners)))
    if low is not None:
        parts.append(Review.seq > low)
    return and_(*parts)


def people(session: Session, user: User, visible: set[int] | None) -> list[Person]:
    """The users whose records ``user`` sees, and ``user`` (everyone for an
    admin), by id, with their cohorts' names."""
    query = select(User).order_by(User.id)
    if visible is not None:
        query = query.where(User.id.in_(sorted(visible | {user.id})))
    users = list(session.execute(query).scalars())
    cohorts: dict[int, list[str]] = {}
    member_rows = session.execute(
        select(CohortMember.user_id, Cohort.name)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.user_id.in_([u.id for u in users]))
        .order_by(Cohort.name)
    )
    for user_id, name in member_rows:
        cohorts.setdefault(user_id, []).append(name)
    return [
        {
            "id": u.id,
            "name": u.display_name or u.username,
            "role": cast(Role, u.role),
            "school": u.school or "",
            "cohorts": cohorts.get(u.id, []),
        }
        for u in users
    ]


def people_hash(persons: list[Person]) -> str:
    """The first 16 hex digits of the sha256 of the canonical JSON of the
    list (sorted keys, no spaces, UTF-8): equal lists give equal hashes on
    every server. 64 bits tell one people list from the next; the full
    digest would add 96 bytes to every sync, a no-op one included."""
    canonical = json.dumps(persons, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
