"""Push: a device's batch of change groups and review entries, applied all
or nothing in one transaction (docs/sync.md "Push").

What is here is what makes a push safe to send again and again: the
device's high-water mark (groups at or below it are replays and change
nothing; a replay that does not match what was stored means the device's
store is older than what it pushed), retries after a lost race, the
validation of every pushed value and the ownership check of every group.
The merge itself is ``merge.py``, the review workflow ``review_rules.py``,
the writing ``batch.py``; the HTTP layer is ``app/server/routers/sync.py``.

``push`` commits its own transaction (it has to: the seq counter's row lock
must be held until the commit so that seq order equals commit order).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.models.fields import Kind, Status, kind_spec
from app.models.validation import check_field, cross_field_problems, to_json
from app.protocol.sync import (
    PROTOCOL_VERSION,
    SERVER_DEVICE,
    HeldVersion,
    PushChange,
    PushRequest,
    PushResponse,
    PushResult,
    PushReview,
    version_key,
)
from app.server import reviews
from app.server.permissions import can_write_content
from app.server.reviews import REVISION_FIELDS
from app.server.sync import templates
from app.server.sync.batch import (
    META,
    Batch,
    Rec,
    Rejected,
    author_name,
    dialect_insert,
    load_records,
    store_batch,
)
from app.server.sync.merge import merge_fields
from app.server.sync.review_rules import (
    REVIEW_STATUSES,
    apply_reviews,
    check_revision_root,
    guard_status,
    revise,
    revision_problem,
    status_entry,
    with_note,
    without_revision_fields,
)
from app.server.tables import Device, User, utcnow

log = logging.getLogger("fieldbook.server")

_PUSH_ATTEMPTS: Final = 3  # a push that lost a race (same new record, deadlock) is retried
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_REASON_FIELDS_MAX: Final = 5  # problems named in one rejection reason
_WRITABLE_STATUSES: Final = frozenset({Status.DRAFT.value, Status.SUBMITTED.value})
_KINDS: Final = frozenset(k.value for k in Kind)


class PushGap(Exception):
    """A batch sent to follow one the server does not hold (yet): the one
    before it failed, or is still on its way. Nothing is applied; the client
    sends it again once the one before is confirmed."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(last_seq)
        self.last_seq = last_seq


class DeviceRolledBack(Exception):
    """A batch reuses seqs this device already pushed for different changes:
    the client's store is older than what it sent (restored from a copy, or a
    power cut on a disk that lied about having written). Applying nothing,
    the answer tells the client to push as a new device."""


def push(session: Session, user: User, request: PushRequest) -> PushResponse:
    """Apply a batch of change groups, then its review entries, all or
    nothing, and commit.

    Groups at or below the device's ``last_seq`` are replays and change
    nothing; a review entry whose id is stored already is answered with its
    stored outcome. The answer lists the groups that were merged, conflicted
    or rejected (everything else was applied) and, when the request had
    review entries, one outcome for each.
    """
    device = request["device_id"]
    if device == SERVER_DEVICE:
        raise ValueError("a client cannot use the server's device id")
    started = time.perf_counter()
    for attempt in range(1, _PUSH_ATTEMPTS + 1):
        try:
            response = _push_once(session, user, device, request["changes"], request.get("reviews"),
                                  after=request.get("after"))
            session.commit()
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if attempt == _PUSH_ATTEMPTS or not _retryable(exc):
                raise
            log.info("Push from %s/%s lost a race (%s); retrying", user.id, device, type(exc).__name__)
            continue
        except BaseException:
            session.rollback()
            raise
        log.info(
            "Push user=%s device=%s groups=%d reviews=%d results=%d last_seq=%d in %.0f ms",
            user.id,
            device,
            len(request["changes"]),
            len(request.get("reviews") or ()),
            len(response["results"]),
            response["last_seq"],
            (time.perf_counter() - started) * 1000,
        )
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def _retryable(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # two pushes created the same record or device row at once
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def _push_once(
    session: Session,
    user: User,
    device_id: str,
    changes: Sequence[PushChange],
    entries: Sequence[PushReview] | None = None,
    *,
    after: int | None = None,
) -> PushResponse:
    # The device row, locked: a second push of the same device waits here. On
    # SQLite this INSERT also takes the database's write lock up front.
    session.execute(
        dialect_insert(session)(Device)
        .values(user_id=user.id, device_id=device_id, last_seq=0, last_seen=utcnow())
        .on_conflict_do_nothing()
    )
    last_seq = session.execute(
        select(Device.last_seq)
        .where(Device.user_id == user.id, Device.device_id == device_id)
        .with_for_update()
    ).scalar_one()
    if after is not None and last_seq < after:
        raise PushGap(last_seq)
    groups = [c for c in changes if c["seq"] > last_seq]
    replays = [c for c in changes if c["seq"] <= last_seq]
    response: PushResponse = {"protocol": PROTOCOL_VERSION, "last_seq": last_seq, "results": []}
    if not changes and not entries:
        if entries is not None:
            response["reviews"] = []
        return response

    records = load_records(
        session, {g["record_id"] for g in changes} | {e["record_id"] for e in entries or ()}
    )
    if not all(_is_replay(records.get(g["record_id"]), g, device_id) for g in replays):
        log.warning("Push of %s/%s reuses seqs up to %d for changes the server never had: the "
                    "device's store is older than what it pushed", user.id, device_id, last_seq)
        raise DeviceRolledBack(device_id)

    batch = Batch(session, user, device_id, records)
    response["results"] = _apply_groups(batch, groups)
    if entries is not None:
        # After the groups: a comment may be on a record created just now.
        response["reviews"] = apply_reviews(batch, entries)
    if groups:
        response["last_seq"] = max(last_seq, *(g["seq"] for g in groups))
        # The device row first (it is this device's alone): ``store_batch`` takes the
        # counter's lock, which every push waits for, so as little as possible
        # happens between it and the commit.
        session.execute(
            update(Device)
            .where(Device.user_id == user.id, Device.device_id == device_id)
            .values(last_seq=response["last_seq"], last_seen=utcnow())
        )
    store_batch(batch)
    return response


def _apply_groups(batch: Batch, groups: Sequence[PushChange]) -> list[PushResult]:
    """Each group's outcome, where it is not simply "applied"."""
    results: list[PushResult] = []
    for group in groups:
        try:
            result = _apply_group(batch, group)
        except Rejected as rejected:
            result = {"seq": group["seq"], "outcome": "rejected", "reason": rejected.reason}
            if rejected.fields:
                result["fields"] = rejected.fields
            current = _current_versions(batch, group)
            if current is not None:
                result["current"] = current
        if result is not None:
            results.append(result)
    return results


def _current_versions(batch: Batch, group: PushChange) -> dict[str, HeldVersion | None] | None:
    """What the server holds of a refused group's fields, ``[value, clock,
    device]`` each (``None`` for a field it has no version of), so the pushing
    laptop can put its copy back: without it, the refused value would stay
    there for good (its version beats the server's, and pulls send only
    what changed). Only for a record the user may see; ``None`` otherwise."""
    rec = batch.records.get(group["record_id"])
    if rec is None or rec.kind != group["kind"] or not (
        batch.sees(rec.owner_id) or _shared_with(batch, rec)
    ):
        return None
    current: dict[str, HeldVersion | None] = {}
    for name in group["fields"]:
        version = rec.versions.get(name)
        current[name] = None if version is None else (rec.fields.get(name), version[0], version[1])
    return current


def _shared_with(batch: Batch, rec: Rec) -> bool:
    """A template the pushing fellow gets from a trainer of their cohort."""
    return (rec.kind == templates.TEMPLATE and rec.fields.get(templates.SHARED) is True
            and rec.owner_id in templates.template_sources(batch.session, batch.user))


def _is_replay(rec: Rec | None, group: PushChange, device_id: str) -> bool:
    """Whether a group at or below the device's ``last_seq`` can be the one
    the server applied under that seq: every field it carries is stored at
    its version or a newer one. (A group the server refused, or a record it
    gave away since, fails this too; pushing as a new device is safe then.)"""
    if rec is None:
        return False
    incoming = version_key(group["clock"], device_id)
    for name in group["fields"]:
        stored = rec.versions.get(name)
        if stored is None or version_key(stored[0], stored[1]) < incoming:
            return False
    return True


def _apply_group(batch: Batch, group: PushChange) -> PushResult | None:
    user = batch.user
    if group["kind"] not in _KINDS:
        raise Rejected(f"Unknown kind of record: {group['kind']!r}.")
    rec = batch.records.get(group["record_id"])
    if rec is None:
        owner_id = user.id
    else:
        if rec.kind != group["kind"]:
            raise Rejected(
                f"This record already exists as a {kind_spec(rec.kind).singular.lower()}, "
                f"not a {kind_spec(group['kind']).singular.lower()}."
            )
        if not can_write_content(user, rec.owner_id):
            raise Rejected("You cannot change this record: it belongs to someone else.")
        owner_id = rec.owner_id
    values = _validate(group["kind"], group["fields"], is_owner=owner_id == user.id)
    if group["kind"] == templates.TEMPLATE:
        templates.check_push(user, rec, values)
    if rec is None:
        check_revision_root(batch, group["record_id"], values)
    else:
        values = without_revision_fields(rec, values)
    if not values:
        return None
    if rec is not None and rec.fields.get("status") == reviews.APPROVED and any(
        name not in META for name in values
    ):
        return revise(batch, rec, group, values)
    note = guard_status(batch, rec, group, values) if rec is not None and "status" in values else None
    if rec is None:
        rec = Rec(group["record_id"], group["kind"], user.id, author_name(user), {}, {}, True)
        batch.records[rec.id] = rec
    old_status = rec.fields.get("status")
    result = merge_fields(batch, rec, group, values) if values else None
    status_entry(batch, rec, group, old_status)
    return with_note(group, result, note)


# --------------------------------------------------------------------------- validation


def _validate(kind: str, values: Mapping[str, Any], *, is_owner: bool) -> dict[str, Any]:
    """The group's values in canonical JSON form, or ``Rejected`` naming every
    bad field. Cross-field rules count only between the group's own fields: a
    merge of two valid concurrent edits may break one, and refusing it then
    would lose an edit (the editors show the problem instead)."""
    spec = kind_spec(kind)
    problems: dict[str, str] = {}  # field -> a sentence naming it
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name in META:
            continue
        fspec = spec.by_name.get(name)
        if fspec is None:
            problems[name] = f"There is no field {name} in a {spec.singular.lower()}."
        elif not _is_text_safe(value):
            problems[name] = f"Invalid value for {name}: it contains characters that are not text."
        else:
            canonical, problem = check_field(fspec, value)
            if problem is None:
                clean[name] = canonical
            else:
                problems[name] = f"Invalid value for {name}: {problem.english()}"
    if len(clean) > 1:
        for name, problem in cross_field_problems(spec, clean).items():
            if problem.blocking:
                problems.setdefault(name, f"Invalid value for {name}: {problem.english()}")
    out = {name: to_json(spec.by_name[name], value) for name, value in clean.items() if name not in problems}
    if "deleted" in values and "deleted" not in problems:
        if isinstance(values["deleted"], bool):
            out["deleted"] = values["deleted"]
        else:
            problems["deleted"] = "Invalid value for deleted: must be true or false."
    if "status" in values and "status" not in problems:
        status = values["status"]
        if isinstance(status, str) and status in REVIEW_STATUSES:
            problems["status"] = (
                f"The status cannot be set to {status} by an edit: a trainer's review decides it."
            )
        elif not isinstance(status, str) or status not in _WRITABLE_STATUSES:
            problems["status"] = "Invalid value for status: must be draft or submitted."
        elif not is_owner:
            problems["status"] = "Only the record's owner can change its status."
        else:
            out["status"] = status
    for name in REVISION_FIELDS:
        if name in values:
            revision_issue = revision_problem(name, values[name])
            if revision_issue is None:
                out[name] = values[name]
            else:
                problems[name] = revision_issue
    if problems:
        names = list(problems)
        reason = " ".join(problems[name] for name in names[:_REASON_FIELDS_MAX])
        if len(names) > _REASON_FIELDS_MAX:
            reason += f" (and {len(names) - _REASON_FIELDS_MAX} more)"
        raise Rejected(reason, names)
    return out


def _unsafe_str(text: str) -> bool:
    """A NUL, or half of a surrogate pair (which UTF-8 cannot encode)."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_text_safe(value: Any) -> bool:
    """No NUL and no lone surrogate anywhere in a JSON value (neither can be
    stored in PostgreSQL nor encoded as UTF-8), nor nesting deeper than 8.
    A loop over a stack rather than a call per item: this sees every pushed
    value."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _unsafe_str(item):
                return False
            continue
        if isinstance(item, list | dict):
            if depth > 8:
                return False
            children = item.values() if isinstance(item, dict) else item
            for child in children:
                if isinstance(child, str):
                    if _unsafe_str(child):
                        return False
                elif isinstance(child, list | dict):
                    stack.append((child, depth + 1))
            if isinstance(item, dict):
                for key in item:
                    if isinstance(key, str) and _unsafe_str(key):
                        return False
    return True
