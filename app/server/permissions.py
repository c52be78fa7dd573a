"""Who sees and who writes whose records.

* A fellow sees and writes only their own records.
* A trainer sees their own records and those of the fellows in their cohorts
  (``cohort_members``), and writes only their own.
* An admin sees and writes everything.

Trainers do not edit fellows' content: review (approve/return) will come as
its own workflow, not as a content write.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.server.tables import CohortMember, User

ADMIN = "admin"
TRAINER = "trainer"
FELLOW = "fellow"


def visible_owner_ids(session: Session, user: User) -> set[int] | None:
    """The owners whose records ``user`` may see; ``None`` means everyone."""
    if user.role == ADMIN:
        return None
    owners = {user.id}
    if user.role == TRAINER:
        mine = aliased(CohortMember)
        theirs = aliased(CohortMember)
        rows = session.execute(
            select(theirs.user_id)
            .join(mine, mine.cohort_id == theirs.cohort_id)
            .join(User, User.id == theirs.user_id)
            .where(mine.user_id == user.id, User.role == FELLOW)
        )
        owners.update(rows.scalars())
    return owners


def can_write_content(user: User, owner_id: int) -> bool:
    """Only a record's owner edits it (and admins, who may edit anything)."""
    return user.role == ADMIN or user.id == owner_id
