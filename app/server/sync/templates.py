"""教案 templates in push and pull (docs/templates.md).

A template (kind ``lesson_template``) is a record like any other, seen by
whoever sees its owner's records. Besides, a trainer may share theirs
(``shared`` true) with the cohorts they train: a fellow's pull then carries
the shared templates of every trainer of their cohort, and nothing else of
that trainer's. These owners ride in the pull's ``scope`` like visible ones,
so a fellow who leaves the cohort gets them in ``removed`` and drops their
templates.

* A shared template goes out whole whenever it changed after the cursor (a
  template is small, and whole it can never miss an edit made while it was
  unshared).
* An unshared one goes out as its ``shared`` field alone, once, when the
  unsharing is after the cursor: the fellow's store still holds it but no
  longer offers it. Its content is never sent again.
* Only its owner writes a template (an admin neither), only a trainer
  shares one, and a template is never submitted for review.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models.fields import Kind, Status
from app.server.permissions import FELLOW, TRAINER
from app.server.sync.batch import Rec, Rejected
from app.server.tables import CohortMember, User

TEMPLATE: Final = Kind.LESSON_TEMPLATE.value
SHARED: Final = "shared"


def template_sources(session: Session, user: User) -> set[int]:
    """The trainers whose shared templates ``user`` gets: those of the
    cohort a fellow is in (nobody's for a trainer or an admin)."""
    if user.role != FELLOW:
        return set()
    mine = aliased(CohortMember)
    theirs = aliased(CohortMember)
    rows = session.execute(
        select(theirs.user_id)
        .join(mine, mine.cohort_id == theirs.cohort_id)
        .join(User, User.id == theirs.user_id)
        .where(mine.user_id == user.id, User.role == TRAINER, User.active.is_(True))
    )
    return set(rows.scalars())


def check_push(user: User, rec: Rec | None, values: Mapping[str, Any]) -> None:
    """``Rejected`` for a template change the rules refuse (see above)."""
    if rec is not None and rec.owner_id != user.id:
        raise Rejected("You cannot change this template: it belongs to someone else.")
    if values.get(SHARED) is True and user.role != TRAINER:
        raise Rejected("Only a trainer shares templates, with the cohorts they train.", [SHARED])
    status = values.get("status")
    if status is not None and status != Status.DRAFT.value:
        raise Rejected("A template is not submitted for review.", ["status"])


def pulled_fields(raw_fields: str, versions: Mapping[str, list[Any]], *, whole: bool,
                  since: int) -> dict[str, list[Any]]:
    """Which versions of a shared-with-me template a pull sends: all of a
    shared one, ``shared`` alone of one unshared after ``since`` (never to an
    owner sent whole: that store never had it), else nothing."""
    if json.loads(raw_fields).get(SHARED) is True:
        return dict(versions)
    version = versions.get(SHARED)
    if whole or version is None or version[2] <= since:
        return {}
    return {SHARED: version}
