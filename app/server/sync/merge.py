"""Field-by-field merge of one pushed group (docs/sync.md "Merge rules").

Each field's winner is the higher ``(clock, device)`` (``version_key``), the
same on every replica; a concurrent loser is kept as a conflict for the
record's owner, never dropped. A delete against a concurrent edit, or an
edit of a record deleted meanwhile, restores the record and tells the
deleter. No wall clock is consulted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select

from app.models.fields import kind_spec
from app.protocol.sync import SERVER_DEVICE, PushChange, PushResult, version_key
from app.server.sync.batch import META, Batch, Pending, Rec
from app.server.tables import Device

log = logging.getLogger("fieldbook.server")

RESTORED_AFTER_DELETE: Final = "restored_after_delete"


def merge_fields(batch: Batch, rec: Rec, group: PushChange, values: dict[str, Any]) -> PushResult | None:
    """docs/sync.md "Merge rules", field by field."""
    clock, known, device = group["clock"], group["known"], batch.device
    incoming = version_key(clock, device)

    def concurrent(version: Sequence[Any]) -> bool:
        # A version of this push has seq PENDING and never counts.
        return bool(version[2] > known and version[1] != device)

    # Rule 4, second half: a delete against a concurrent edit by another device.
    delete_blocked = values.get("deleted") is True and any(
        name not in META and ver[1] != SERVER_DEVICE and concurrent(ver)
        for name, ver in rec.versions.items()
    )
    # Rule 4, first half: an edit of a record deleted by a change the editor had not seen.
    deleted_version = rec.versions.get("deleted")
    deleted_under_edit = (
        rec.fields.get("deleted") is True
        and deleted_version is not None
        and concurrent(deleted_version)
        and any(name not in META for name in values)
    )

    conflicts: list[str] = []
    merged: list[str] = []
    for name, value in values.items():
        if name == "deleted" and delete_blocked:
            continue
        stored = rec.versions.get(name)
        if stored is None:
            batch.write(rec, name, value, clock, device)
            continue
        stored_key = version_key(stored[0], stored[1])
        if stored_key == incoming:
            continue  # this very version is already here
        old = rec.fields.get(name)
        if incoming > stored_key:
            if concurrent(stored):
                if old != value:
                    _conflict(batch, rec, name, old, stored_key, incoming)
                    conflicts.append(name)
                else:
                    merged.append(name)
            batch.write(rec, name, value, clock, device)
        elif old != value:
            # The stored value stays; the incoming one is kept as a conflict.
            # Not concurrent only when the device's clock ran backwards.
            if not concurrent(stored):
                log.warning("Push of %s/%s: %s.%s lost to a version it had seen", batch.user.id, device,
                            rec.id, name)
            _conflict(batch, rec, name, value, incoming, stored_key)
            conflicts.append(name)
        elif concurrent(stored):
            merged.append(name)
    merged += [
        name for name, ver in rec.versions.items() if name not in values and concurrent(ver)
    ]

    if delete_blocked:
        _restore(batch, rec, clock, deleter_id=batch.user.id)
        reason = "This record was edited on another device at the same time, so it was not deleted."
        return {"seq": group["seq"], "outcome": "conflict", "reason": reason,
                "fields": [*conflicts, "deleted"]}
    if deleted_under_edit and rec.fields.get("deleted") is True:
        assert deleted_version is not None
        deleter = _device_owner(batch, rec, str(deleted_version[1]))
        _restore(batch, rec, clock, deleter_id=deleter)
        if not conflicts:
            reason = "This record had been deleted on another device; your edit restored it."
            return {"seq": group["seq"], "outcome": "merged", "reason": reason,
                    "fields": sorted({*merged, "deleted"})}
    if conflicts:
        return {"seq": group["seq"], "outcome": "conflict", "fields": conflicts}
    if merged:
        return {"seq": group["seq"], "outcome": "merged", "fields": sorted(set(merged))}
    return None


def _conflict(
    batch: Batch, rec: Rec, name: str, value: Any, loser: tuple[int, str], winner: tuple[int, str]
) -> None:
    batch.conflicts.append(
        Pending(
            rec,
            {
                "record_id": rec.id,
                "owner_id": rec.owner_id,
                "field": name,
                "value": value,
                "clock": loser[0],
                "device": loser[1],
                "winner_clock": winner[0],
                "winner_device": winner[1],
            },
        )
    )


def _restore(batch: Batch, rec: Rec, clock: int, *, deleter_id: int) -> None:
    """Write ``deleted=false`` as the server, above every clock on the record
    (and the incoming group's), so it beats the delete on every replica."""
    top = max([int(v[0]) for v in rec.versions.values()] + [clock]) + 1
    batch.write(rec, "deleted", False, top, SERVER_DEVICE)
    title = str(rec.fields.get(kind_spec(rec.kind).title_field) or "").strip() or "(untitled)"
    what = kind_spec(rec.kind).singular.lower()
    batch.notices.append(
        Pending(
            rec,
            {
                "user_id": deleter_id,
                "record_id": rec.id,
                "kind": RESTORED_AFTER_DELETE,
                "message": (
                    f'The {what} "{title}" was deleted, but it had been edited on another device '
                    "at the same time, so it has been restored."
                ),
            },
        )
    )


def _device_owner(batch: Batch, rec: Rec, device: str) -> int:
    """The user who pushed from ``device`` (the record's owner if unsure)."""
    users = sorted(
        batch.session.execute(select(Device.user_id).where(Device.device_id == device)).scalars()
    )
    if not users or rec.owner_id in users:
        return rec.owner_id
    return users[0]
