"""The review workflow inside a push (docs/review.md).

Two halves. The rules of a change group: an approved record is never edited
in place (its edits become a new revision), a trainer's decision beats the
owner's status writes it did not see, a submit or withdraw becomes a thread
entry, the revision fields are set once. And the review entries a push
carries: a decision stands only on the submission it was made on, a late
one is kept as superseded. The queries and wording they share with pulls
and the dashboard live in ``app/server/reviews.py``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import select

from app.models.fields import Status, kind_spec
from app.models.validation import empty_value, to_json
from app.protocol.sync import SERVER_DEVICE, PushChange, PushResult, PushReview, ReviewResult, version_key
from app.server import reviews
from app.server.permissions import ADMIN, TRAINER
from app.server.reviews import DECISIONS, REVISION_FIELDS, REVISION_MAX
from app.server.sync.batch import META, PENDING, Batch, Pending, Rec, Rejected, load_records, top_clock
from app.server.sync.merge import merge_fields
from app.server.tables import SyncRecord, utcnow

log = logging.getLogger("fieldbook.server")

REVIEW_STATUSES: Final = frozenset({Status.APPROVED.value, Status.RETURNED.value})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --------------------------------------------------------------------------- review rules of a group


def revision_problem(name: str, value: Any) -> str | None:
    if name == "revision_of":
        if value is None or (isinstance(value, str) and _UUID.match(value)):
            return None
        return "Invalid value for revision_of: must be the id of a record, or null."
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= REVISION_MAX:
        return None
    return f"Invalid value for revision: must be a whole number from 1 to {REVISION_MAX}."


def check_revision_root(batch: Batch, record_id: str, values: Mapping[str, Any]) -> None:
    """A new record's ``revision_of`` names another record of the pushing
    user (the chain's root), or nothing."""
    root = values.get("revision_of")
    if root is None:
        return
    known = batch.records.get(root)
    owner = known.owner_id if known is not None else batch.session.execute(
        select(SyncRecord.owner_id).where(SyncRecord.id == root)
    ).scalar_one_or_none()
    if root == record_id or owner != batch.user.id:
        raise Rejected("Invalid value for revision_of: it must name another record of yours.",
                        ["revision_of"])


def without_revision_fields(rec: Rec, values: dict[str, Any]) -> dict[str, Any]:
    """The group's values without the revision fields it repeats unchanged
    (a record pushed again as a new device); changing them is refused."""
    for name in REVISION_FIELDS:
        if name in values and values[name] != rec.fields.get(name):
            raise Rejected(f"The {name} of a record is set when it is created and cannot change.", [name])
    return {name: value for name, value in values.items() if name not in REVISION_FIELDS}


def guard_status(batch: Batch, rec: Rec, group: PushChange, values: dict[str, Any]) -> str | None:
    """A trainer's decision beats the owner's status writes it did not see
    (and an approval any status write): such a write is dropped from
    ``values``, not kept as a conflict (it is workflow state, not content),
    and if its clock is higher the decision is stamped again above it so
    the owner's laptop returns to it. The note for the answer, or None."""
    stored = rec.versions.get("status")
    status = rec.fields.get("status")
    if stored is None or stored[1] != SERVER_DEVICE or status not in REVIEW_STATUSES:
        return None
    unseen = stored[2] == PENDING or stored[2] > group["known"]
    if status != reviews.APPROVED and not unseen:
        return None  # the owner saw the return and submits again: applied as usual
    del values["status"]
    if version_key(group["clock"], batch.device) > version_key(stored[0], stored[1]):
        batch.write(rec, "status", status, top_clock(rec, group["clock"]), SERVER_DEVICE)
    return f"A trainer {status} this record meanwhile, so its status stays {status}."


def with_note(group: PushChange, result: PushResult | None, note: str | None) -> PushResult | None:
    if note is None:
        return result
    if result is None:
        return {"seq": group["seq"], "outcome": "merged", "reason": note, "fields": ["status"]}
    result.setdefault("reason", note)
    return result


def status_entry(batch: Batch, rec: Rec, group: PushChange, old: Any) -> None:
    """The thread's ``submit``/``withdraw`` entry when this group's status
    write was applied and changed the status that way."""
    version = rec.versions.get("status")
    new = rec.fields.get("status")
    if version is None or new == old or version[2] != PENDING:
        return
    if version[0] != group["clock"] or version[1] != batch.device:
        return
    if new == reviews.SUBMITTED:
        action = "submit"
    elif old == reviews.SUBMITTED and new == reviews.DRAFT:
        action = "withdraw"
    else:
        return
    entry_id = reviews.status_entry_id(rec.id, action, group["clock"], batch.device)
    batch.entry(rec, entry_id, action, basis=[group["clock"], batch.device], written_at=utcnow().isoformat())


def revise(batch: Batch, approved: Rec, group: PushChange, values: dict[str, Any]) -> PushResult:
    """docs/review.md: an approved record is never edited in place. The
    group's content goes into a new revision; the approved record's fields it
    names are stamped again as the server, so the editor's laptop returns to
    the approved text on its next pull."""
    approval = reviews.approval_seq(batch.session, approved.id)
    if approval is None:  # approved before entries were kept: the status write's seq
        approval = int(approved.versions["status"][2])
    revision_id = reviews.revision_id(approved.id, approval, batch.device)
    revision = batch.records.get(revision_id) or load_records(batch.session, [revision_id]).get(revision_id)
    created = revision is None
    if revision is None:
        revision = _new_revision(batch, approved, revision_id, group["clock"])
    elif revision.owner_id != approved.owner_id or revision.kind != approved.kind:
        log.warning("Push of %s/%s: the revision id %s is taken by another record",
                    batch.user.id, batch.device, revision_id)
        raise Rejected("This record was approved meanwhile, and your changes could not be saved as "
                        "a new revision.")
    content = {name: value for name, value in values.items() if name not in META}
    top = top_clock(revision, group["clock"])
    for name, value in content.items():
        batch.write(revision, name, value, top, SERVER_DEVICE)
    _restamp(batch, approved, [name for name in values if name != "deleted"], group["clock"])
    if "deleted" in values:
        merge_fields(batch, approved, group, {"deleted": values["deleted"]})
    if created:
        _revised_notice(batch, approved, revision)
    return {"seq": group["seq"], "outcome": "merged", "reason": reviews.REVISED_REASON,
            "fields": sorted(content)}


def _new_revision(batch: Batch, approved: Rec, revision_id: str, clock: int) -> Rec:
    """A copy of the approved record's content as the next revision of its
    chain, a draft, written by the server."""
    root = approved.fields.get("revision_of") or approved.id
    in_batch = [int(r.fields.get("revision") or 1) for r in batch.records.values()
                if r.new and r.fields.get("revision_of") == root]
    number = max([reviews.chain_top(batch.session, approved.owner_id, root), *in_batch]) + 1
    revision = Rec(revision_id, approved.kind, approved.owner_id, approved.author, {}, {}, True)
    top = top_clock(approved, clock)
    for name, value in approved.fields.items():
        if name not in META:
            batch.write(revision, name, value, top, SERVER_DEVICE)
    batch.write(revision, "status", reviews.DRAFT, top, SERVER_DEVICE)
    batch.write(revision, "revision_of", root, top, SERVER_DEVICE)
    batch.write(revision, "revision", min(number, REVISION_MAX), top, SERVER_DEVICE)
    batch.records[revision_id] = revision
    return revision


def _restamp(batch: Batch, rec: Rec, names: Iterable[str], clock: int) -> None:
    """Write the stored values of ``names`` again as the server, above every
    clock (a field never set gets its empty value)."""
    top = top_clock(rec, clock)
    spec = kind_spec(rec.kind)
    for name in names:
        if name in rec.fields:
            value = rec.fields[name]
        elif name in spec.by_name:
            value = to_json(spec.by_name[name], empty_value(spec.by_name[name]))
        else:
            continue
        batch.write(rec, name, value, top, SERVER_DEVICE)


def _revised_notice(batch: Batch, approved: Rec, revision: Rec) -> None:
    spec = kind_spec(approved.kind)
    title = str(approved.fields.get(spec.title_field) or "").strip() or "(untitled)"
    batch.notices.append(Pending(revision, {
        "user_id": batch.user.id,
        "record_id": revision.id,
        "kind": reviews.REVISED,
        "message": (
            f'The {spec.singular.lower()} "{title}" was approved while you were changing it, so it '
            f"stays as approved; your changes were saved as revision {revision.fields.get('revision')}."
        ),
    }))


# --------------------------------------------------------------------------- review entries


def apply_reviews(batch: Batch, entries: Sequence[PushReview]) -> list[ReviewResult]:
    """One outcome per entry, in order (docs/review.md "Review entries")."""
    stored = reviews.stored_entries(batch.session, (e["id"] for e in entries))
    results = []
    for entry in entries:
        result = batch.answered.get(entry["id"])
        if result is None:
            result = _review_outcome(batch, entry, stored.get(entry["id"]))
            batch.answered[entry["id"]] = result
        results.append(result)
    return results


def _review_outcome(batch: Batch, entry: PushReview, stored: tuple[int, str, str] | None) -> ReviewResult:
    if stored is not None:  # a replay: the answer it had
        author_id, outcome, reason = stored
        if author_id != batch.user.id:
            log.warning("Push of %s/%s: review id %s is someone else's", batch.user.id, batch.device,
                        entry["id"])
            return {"id": entry["id"], "outcome": "rejected", "reason": "This entry's id is already taken."}
        replayed: ReviewResult = {"id": entry["id"], "outcome": cast(Any, outcome)}
        if reason:
            replayed["reason"] = reason
        return replayed
    try:
        rec = _review_target(batch, entry)
    except Rejected as rejected:
        log.info("Push of %s/%s: review %s rejected: %s", batch.user.id, batch.device, entry["id"],
                 rejected.reason)
        return {"id": entry["id"], "outcome": "rejected", "reason": rejected.reason}
    outcome, reason = _decide(batch, rec, entry) if entry["action"] in DECISIONS else (reviews.ACCEPTED, "")
    batch.entry(rec, entry["id"], entry["action"], body=entry["body"], outcome=outcome, reason=reason,
                basis=list(entry["basis"]), written_at=entry["written_at"])
    result: ReviewResult = {"id": entry["id"], "outcome": cast(Any, outcome)}
    if reason:
        result["reason"] = reason
    return result


def _review_target(batch: Batch, entry: PushReview) -> Rec:
    """The entry's record, or ``Rejected``: a bad entry, a record the user
    may not see (whether it exists is not told), a decision by someone who
    is not its reviewer."""
    problem = reviews.entry_problem(entry)
    if problem is not None:
        raise Rejected(problem)
    rec = batch.records.get(entry["record_id"])
    if rec is None or not batch.sees(rec.owner_id):
        raise Rejected(reviews.NOT_VISIBLE)
    if entry["action"] in DECISIONS:
        if rec.owner_id == batch.user.id:
            raise Rejected(reviews.OWN_RECORD)
        if batch.user.role not in (TRAINER, ADMIN):
            raise Rejected(reviews.NOT_REVIEWER)
    return rec


def _decide(batch: Batch, rec: Rec, entry: PushReview) -> tuple[str, str]:
    """A decision stands only on the submission it was made on: then the
    server writes the status above every clock on the record."""
    status = rec.fields.get("status")
    version = rec.versions.get("status")
    deleted = rec.fields.get("deleted") is True
    if not deleted and status == reviews.SUBMITTED and version is not None and (
        [version[0], version[1]] == list(entry["basis"])
    ):
        batch.write(rec, "status", DECISIONS[entry["action"]], top_clock(rec, 0), SERVER_DEVICE)
        return reviews.ACCEPTED, ""
    decider = _decider(batch, rec) if status in REVIEW_STATUSES else None
    return reviews.SUPERSEDED, reviews.superseded_reason(status, deleted, decider)


def _decider(batch: Batch, rec: Rec) -> str | None:
    """Who made the record's latest accepted decision (this push's first)."""
    for row in reversed(batch.entries):
        if row["record_id"] == rec.id and row["action"] in DECISIONS and row["outcome"] == reviews.ACCEPTED:
            return str(row["author"])
    return reviews.last_decider(batch.session, rec.id)
