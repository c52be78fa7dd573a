"""The local side of sync on real SQLite stores: batches, marks, pulled pages."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from app.errors import RecordNotFound
from app.models.orm import LessonPlan, Record
from app.models.store import Store
from app.protocol.sync import PullResponse, RemoteRecord
from app.sync import replica
from app.sync.replica import Rejection

LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


def page(
    records: list[RemoteRecord] | None = None,
    *,
    cursor: int = 10,
    devices: list[str] | None = None,
    conflicts: list[dict[str, Any]] | None = None,
    notices: list[dict[str, Any]] | None = None,
    scope: list[int] | None = None,
    removed: list[int] | None = None,
    more: bool = False,
) -> PullResponse:
    return {
        "protocol": 1,
        "cursor": cursor,
        "more": more,
        "devices": devices or ["dev-b", "server"],
        "records": records or [],
        "conflicts": conflicts or [],  # type: ignore[typeddict-item]
        "notices": notices or [],  # type: ignore[typeddict-item]
        "scope": scope if scope is not None else [7],
        "removed": removed or [],
    }


def remote(record_id: str, fields: dict[str, list[Any]], *, kind: str = "lesson_plan",
           owner: int = 7) -> RemoteRecord:
    return {
        "id": record_id,
        "kind": kind,
        "owner": owner,
        "author": "王老师",
        "created_at": "2024-09-01T08:00:00+00:00",
        "fields": {name: (v[0], v[1], v[2]) for name, v in fields.items()},  # as received
    }


def versions(store: Store, record_id: str) -> dict[str, Any]:
    with store.reading() as session:
        return dict(session.get_one(Record, record_id).versions)


# --- push side -------------------------------------------------------------


def test_groups_are_per_record_and_transaction_in_seq_order(store: Store) -> None:
    a = store.create("lesson_plan", LESSON, author="a")
    b = store.create("training", {"title": "暑期集训", "hours": 12.5}, author="a")
    store.update(a.id, {"grade": 4, "unit": "第三单元"})

    groups = replica.pending_groups(store)

    assert [(g["record_id"], g["kind"]) for g in groups] == [
        (a.id, "lesson_plan"), (b.id, "training"), (a.id, "lesson_plan")]
    assert groups[0]["fields"] == {"status": "draft", "title": "认识分数", "subject": "math"}
    assert groups[1]["fields"] == {"status": "draft", "title": "暑期集训", "hours": 12.5}
    assert groups[2]["fields"] == {"grade": 4, "unit": "第三单元"}
    seqs = [g["seq"] for g in groups]
    assert seqs == sorted(seqs)
    rows = store.changes_since()
    assert groups[-1]["seq"] == max(c.seq for c in rows)  # a group's seq is its highest
    clocks = [g["clock"] for g in groups]
    assert clocks == sorted(set(clocks))  # one tick per transaction
    assert replica.pending_count(store) == 3


def test_unsent_edits_to_one_field_coalesce_keeping_the_oldest_cursor(store: Store) -> None:
    a = store.create("lesson_plan", LESSON, author="a")  # made over cursor 0
    with store.writing() as work:
        work.session.execute(text("UPDATE meta SET value = '25' WHERE key = 'pull_cursor'"))
    store.update(a.id, {"title": "认识分数（一）"})
    store.update(a.id, {"title": "认识分数（二）", "grade": 5})

    groups = replica.pending_groups(store)

    assert [g["fields"] for g in groups] == [
        {"status": "draft", "subject": "math"},  # title and grade moved to the newest edit
        {"title": "认识分数（二）", "grade": 5},
    ]
    # The coalesced title was first edited over cursor 0: still concurrent
    # with anything the server got after 0.
    assert groups[1]["known"] == 0
    assert groups[0]["known"] == 0


def test_an_unsent_edit_a_pull_overtook_is_not_coalesced_away(store: Store) -> None:
    """A parcel's answer can bring a newer version of a field edited here
    since the parcel left: the edit stays in the log even when the field is
    edited again, so the server keeps it as a conflict instead of it vanishing."""
    a = store.create("lesson_plan", LESSON, author="a")
    store.update(a.id, {"homework": "我的作业"})
    replica.apply_pull_page(store, page([remote(a.id, {"homework": ["他的作业", 1000, 0]})]))
    assert store.get(a.id).values["homework"] == "他的作业"
    store.update(a.id, {"homework": "再改"})
    homework = [g["fields"]["homework"] for g in replica.pending_groups(store) if "homework" in g["fields"]]
    assert homework == ["我的作业", "再改"]


def test_batches_are_bounded_and_marking_moves_on(store: Store) -> None:
    ids = [store.create("lesson_plan", {**LESSON, "title": f"课 {i}"}, author="a").id for i in range(5)]

    first = replica.pending_groups(store, limit_groups=2)
    assert [g["record_id"] for g in first] == ids[:2]
    tiny = replica.pending_groups(store, limit_bytes=1)
    assert len(tiny) == 1, "a batch always holds at least one group"

    replica.mark_pushed(store, first[-1]["seq"])
    rest = replica.pending_groups(store)
    assert [g["record_id"] for g in rest] == ids[2:]
    assert replica.pending_count(store) == 3

    replica.mark_pushed(store, first[0]["seq"])  # an old answer never moves back
    assert replica.sync_meta(store).pushed_seq == first[-1]["seq"]
    replica.mark_pushed(store, rest[-1]["seq"])
    assert replica.pending_groups(store) == []
    assert replica.pending_count(store) == 0


def test_confirmed_changes_leave_the_log_and_seqs_never_repeat(store: Store) -> None:
    """The change log holds what waits to be sent, not the history: it does
    not grow with every edit ever made. Seqs go on from the highest given out."""
    ids = [store.create("lesson_plan", {**LESSON, "title": f"课 {i}"}, author="a").id for i in range(4)]
    first = replica.pending_groups(store, limit_groups=3)
    replica.mark_pushed(store, first[-1]["seq"])
    assert {c.record_id for c in store.changes_since()} == {ids[3]}, "only the unsent remain"

    last = replica.pending_groups(store)[-1]["seq"]
    replica.mark_pushed(store, last)
    assert store.changes_since() == []
    store.update(ids[0], {"grade": 6})
    (row,) = store.changes_since()
    assert row.seq == last + 1, "a seq the server has seen is never given out again"
    assert replica.pending_groups(store)[0]["fields"] == {"grade": 6}


def test_many_changes_are_read_in_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica, "_READ_CHUNK", 3)  # groups straddle chunk borders
    ids = [store.create("lesson_plan", {**LESSON, "title": f"课 {i}"}, author="a").id for i in range(7)]
    groups = replica.pending_groups(store)
    assert [g["record_id"] for g in groups] == ids
    assert all(len(g["fields"]) == 4 for g in groups)


def test_mark_pushed_keeps_rejections_and_claims_new_records(store: Store) -> None:
    mine = store.create("lesson_plan", LESSON, author="a")
    refused = store.create("lesson_plan", LESSON, author="a")
    with store.writing() as work:
        work.session.get_one(Record, refused.id).owner_id = None
    batch = replica.pending_groups(store)

    replica.mark_pushed(
        store,
        batch[-1]["seq"],
        [Rejection(batch[1]["seq"], refused.id, "not yours to edit", ("title",))],
        owner_id=7,
        record_ids=[g["record_id"] for g in batch],
    )

    assert replica.rejections(store, refused.id) == [
        Rejection(batch[1]["seq"], refused.id, "not yours to edit", ("title",))]
    with store.reading() as session:
        assert session.get_one(Record, mine.id).owner_id == 7
        assert session.get_one(Record, refused.id).owner_id is None
    replica.dismiss_rejection(store, batch[1]["seq"])
    assert replica.rejections(store) == []


def test_a_refusal_puts_the_record_back_to_the_servers_copy(store: Store) -> None:
    rid = "0b1c6f0e-0000-4000-8000-0000000000aa"
    replica.apply_pull_page(store, page([remote(rid, {
        "title": ["认识分数", 5, 0], "grade": [3, 5, 0], "deleted": [False, 5, 0]})], devices=["fellow"]))
    store.update(rid, {"title": "改一改", "unit": "第二单元"})
    store.delete(rid)
    [edit, removal] = replica.pending_groups(store)
    # An edit made after the batch was read (still unsent): it gets its own answer.
    with store.writing() as work:
        plan = work.session.get_one(LessonPlan, rid)
        plan.grade = 5
        work.log_change(plan, "grade", 5, work.tick())

    replica.mark_pushed(store, removal["seq"], [
        Rejection(edit["seq"], rid, "not yours", ("title", "unit"),
                  {"title": ["认识分数", 5, "fellow"], "unit": None}),
        Rejection(removal["seq"], rid, "not yours", ("deleted",), {"deleted": [False, 5, "fellow"]}),
    ])

    record = store.get(rid)
    assert (record.title, record.values["unit"], record.values["grade"]) == ("认识分数", "", 5)
    assert versions(store, rid)["title"] == [5, "fellow"] and "unit" not in versions(store, rid)
    assert versions(store, rid)["deleted"] == [5, "fellow"]
    assert [r.id for r in store.search("认识分数")] == [rid] and store.search("改一改") == []
    assert [c.field for c in store.changes_since(removal["seq"])] == ["grade"], "the later edit stays"
    with store.reading() as session:
        clock = int(session.execute(text("SELECT value FROM meta WHERE key = 'clock'")).scalar_one())
    assert clock >= 5
    # A later pull of the server's next version applies as usual.
    replica.apply_pull_page(store, page([remote(rid, {"title": ["认识分数（二）", 9, 0]})],
                                        devices=["fellow"], cursor=20))
    assert store.get(rid).title == "认识分数（二）"


# --- pull side -------------------------------------------------------------


def test_a_new_remote_record_is_created_without_entering_the_change_log(store: Store) -> None:
    rid = "0b1c6f0e-0000-4000-8000-000000000001"
    result = replica.apply_pull_page(store, page([remote(rid, {
        "title": ["植物的一生", 40, 0],
        "subject": ["science", 40, 0],
        "planned_date": ["2024-10-08", 41, 0],
        "tags": [["植物", "观察"], 41, 0],
        "status": ["submitted", 41, 0],
    })], cursor=12))

    assert (result.records, result.created, result.cursor) == (1, 1, 12)
    got = store.get(rid)
    assert got.kind == "lesson_plan"
    assert got.author == "王老师"
    assert got.status == "submitted"
    assert got.values["planned_date"] == dt.date(2024, 10, 8)
    assert got.values["tags"] == ["植物", "观察"]
    assert got.created_at == dt.datetime(2024, 9, 1, 8, tzinfo=dt.UTC)
    assert versions(store, rid)["title"] == [40, "dev-b"]
    with store.reading() as session:
        assert session.get_one(Record, rid).owner_id == 7
    assert store.changes_since() == []
    assert [r.id for r in store.search("植物")] == [rid]
    meta = replica.sync_meta(store)
    assert meta.pull_cursor == 12
    assert meta.scope == [7]
    assert meta.clock >= 41, "the Lamport clock is raised to the highest clock seen"


def test_higher_version_wins_in_both_directions(store: Store) -> None:
    local = store.create("lesson_plan", LESSON, author="a")  # clock 1
    store.update(local.id, {"unit": "第一单元"})  # clock 2
    assert store.device_id < "zzzz" and store.device_id > "0000"  # hex ids

    replica.apply_pull_page(store, page([remote(local.id, {
        "title": ["高的标题", 1, 0],  # same clock: the higher device id wins
        "subject": ["chinese", 1, 1],  # same clock, lower device id: loses
        "unit": ["第二单元", 1, 0],  # older than the local edit
        "grade": [6, 9, 1],  # newer
    })], devices=["zzzz", "0000"]))

    got = store.get(local.id)
    assert got.values["title"] == "高的标题"
    assert got.values["subject"] == "math"
    assert got.values["unit"] == "第一单元"
    assert got.values["grade"] == 6
    assert versions(store, local.id)["grade"] == [9, "0000"]
    assert store.search("高的标题")[0].id == local.id

    # The other direction: a local edit after the pull ticks above everything
    # pulled, so it wins on every replica.
    store.update(local.id, {"grade": 2})
    assert versions(store, local.id)["grade"][0] > 9
    replica.apply_pull_page(store, page([remote(local.id, {"grade": [9, 0, 0]})],
                                        devices=["zzzz"]))
    assert store.get(local.id).values["grade"] == 2


def test_pulled_tombstone_hides_the_record(store: Store) -> None:
    local = store.create("lesson_plan", LESSON, author="a")
    replica.apply_pull_page(store, page([remote(local.id, {"deleted": [True, 50, 0]})]))
    with pytest.raises(RecordNotFound):
        store.get(local.id)
    assert store.search("分数") == []
    assert store.get(local.id, include_deleted=True).deleted
    # ... and a later restore from the server brings it back, searchable.
    replica.apply_pull_page(store, page([remote(local.id, {"deleted": [False, 51, 1]})]))
    assert [r.id for r in store.search("分数")] == [local.id]


def test_an_invalid_remote_value_is_skipped_with_a_warning(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    rid = "0b1c6f0e-0000-4000-8000-000000000002"
    with caplog.at_level(logging.WARNING, "fieldbook.sync"):
        result = replica.apply_pull_page(store, page([
            remote(rid, {"title": ["好的", 3, 0], "grade": [99, 3, 0], "colour": ["red", 3, 0],
                         "status": ["burnt", 3, 0]}),
            remote("other", {"title": ["x", 3, 0]}, kind="spaceship"),
        ]))
    got = store.get(rid)
    assert got.values["title"] == "好的"
    assert got.values["grade"] is None
    assert got.status == "draft"
    assert result.skipped == 4
    assert "grade" not in versions(store, rid)
    assert sum("Skipped" in r.getMessage() for r in caplog.records) == 4


def test_a_page_is_all_or_nothing_with_its_cursor(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = store.create("lesson_plan", LESSON, author="a")
    clock_before = replica.sync_meta(store).clock
    real = replica._apply_record
    calls = 0

    def failing(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("power cut")
        return real(*args)

    monkeypatch.setattr(replica, "_apply_record", failing)
    with pytest.raises(RuntimeError):
        replica.apply_pull_page(store, page([
            remote(existing.id, {"title": ["改了", 90, 0]}),
            remote("new-one", {"title": ["新的", 90, 0]}),
        ], cursor=99, notices=[{"id": 1, "record_id": existing.id, "kind": "k", "message": "m"}]))

    assert store.get(existing.id).values["title"] == "认识分数"
    with pytest.raises(RecordNotFound):
        store.get("new-one")
    meta = replica.sync_meta(store)
    assert meta.pull_cursor == 0
    assert meta.clock == clock_before
    assert replica.unseen_notices(store) == []

    monkeypatch.setattr(replica, "_apply_record", real)
    replica.apply_pull_page(store, page([remote(existing.id, {"title": ["改了", 90, 0]})], cursor=99))
    assert store.get(existing.id).values["title"] == "改了"
    assert replica.sync_meta(store).pull_cursor == 99


def test_records_of_removed_owners_are_dropped_with_unsent_changes(store: Store) -> None:
    theirs = "0b1c6f0e-0000-4000-8000-000000000003"
    replica.apply_pull_page(store, page([remote(theirs, {"title": ["别人的课", 5, 0]}, owner=9)],
                                        scope=[7, 9]))
    store.update(theirs, {"unit": "我改的"})  # a trainer's unsent edit
    mine = store.create("lesson_plan", LESSON, author="a")
    assert {g["record_id"] for g in replica.pending_groups(store)} == {theirs, mine.id}

    result = replica.apply_pull_page(store, page([], cursor=20, scope=[7], removed=[9]))

    assert result.removed == 1
    with pytest.raises(RecordNotFound):
        store.get(theirs, include_deleted=True)
    assert store.search("别人") == []
    assert {g["record_id"] for g in replica.pending_groups(store)} == {mine.id}
    assert replica.sync_meta(store).scope == [7]


def test_conflicts_and_notices_are_upserted_keeping_what_the_user_did(store: Store) -> None:
    rec = store.create("lesson_plan", LESSON, author="a")
    conflict = {"id": 4, "record_id": rec.id, "field": "title", "value": "我的标题", "clock": 3,
                "device": "dev-a", "winner_clock": 4, "winner_device": "dev-b"}
    notice = {"id": 8, "record_id": rec.id, "kind": "restored_after_delete", "message": "回来了"}
    result = replica.apply_pull_page(store, page(conflicts=[conflict], notices=[notice]))
    assert (result.conflicts, result.notices) == (1, 1)

    [info] = replica.conflicts_for(store, rec.id)
    assert (info.field, info.value, info.winner_device) == ("title", "我的标题", "dev-b")
    assert replica.open_conflicts(store) == [info]
    assert [n.id for n in replica.unseen_notices(store)] == [8]

    replica.resolve_conflict(store, 4, restore=False)
    replica.mark_notices_seen(store, [8])
    replica.apply_pull_page(store, page(conflicts=[conflict], notices=[notice], cursor=11))
    assert replica.conflicts_for(store, rec.id) == []
    assert replica.conflicts_for(store, rec.id, include_resolved=True)[0].resolved
    assert replica.unseen_notices(store) == []


def test_restoring_a_conflict_value_is_a_new_local_edit(store: Store) -> None:
    rec = store.create("lesson_plan", LESSON, author="a")
    replica.mark_pushed(store, store.changes_since()[-1].seq)
    replica.apply_pull_page(store, page(
        [remote(rec.id, {"grade": [5, 40, 0]})],
        conflicts=[{"id": 1, "record_id": rec.id, "field": "grade", "value": 3, "clock": 1,
                    "device": store.device_id, "winner_clock": 40, "winner_device": "dev-b"}],
    ))
    assert store.get(rec.id).values["grade"] == 5

    replica.resolve_conflict(store, 1, restore=True)

    assert store.get(rec.id).values["grade"] == 3
    [group] = replica.pending_groups(store)
    assert group["fields"] == {"grade": 3}
    assert group["clock"] > 40
    assert replica.conflicts_for(store, rec.id) == []
    with pytest.raises(RecordNotFound):
        replica.resolve_conflict(store, 404, restore=True)


def test_would_remove_counts_winning_tombstones_and_removed_owners(store: Store) -> None:
    mine = [store.create("lesson_plan", LESSON, author="a").id for _ in range(4)]
    theirs = [f"theirs-{i}" for i in range(3)]
    replica.apply_pull_page(store, page(
        [remote(t, {"title": ["别人的", 5, 0]}, owner=9) for t in theirs], scope=[7, 9]))
    store.delete(mine[3])  # already gone locally: not counted
    store.delete(mine[1])
    store.restore(mine[1])  # "deleted" now has a local version

    count, total = replica.would_remove(store, page(
        [
            remote(mine[0], {"deleted": [True, 80, 0]}),
            remote(mine[1], {"deleted": [True, 1, 0]}),  # loses to the local version
            remote(mine[2], {"title": ["留着", 80, 0]}),
            remote(mine[3], {"deleted": [True, 80, 0]}),
            remote(theirs[0], {"deleted": [True, 80, 0]}),  # also in a removed owner
        ],
        removed=[9],
    ))
    assert (count, total) == (1 + 3, 6)


def test_account_meta_round_trips(store: Store) -> None:
    assert not replica.sync_meta(store).signed_up
    replica.set_account(store, server_url="https://fb.example.org/", username="li", user_id=7,
                        role="fellow", display_name="李老师")
    when = replica.set_last_synced(store, dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC))
    meta = replica.sync_meta(store)
    assert meta.signed_up
    assert (meta.server_url, meta.username, meta.user_id, meta.role, meta.display_name) == (
        "https://fb.example.org", "li", 7, "fellow", "李老师")
    assert meta.last_synced_at == when
    assert not replica.has_synced(store)


def test_two_stores_converge_through_pages(tmp_path: Path) -> None:
    """Changes of one store, turned into a page, make another store equal."""
    a, b = Store.open(tmp_path / "a.db"), Store.open(tmp_path / "b.db")
    try:
        rec = a.create("exchange", {"partner_school": "城关一小", "teacher_count": 4}, author="a")
        a.update(rec.id, {"direction": "we_visited"})
        fields: dict[str, list[Any]] = {}
        for change in a.changes_since():
            fields[change.field] = [change.value, change.clock, 0]
        replica.apply_pull_page(b, page([remote(rec.id, fields, kind="exchange")], devices=[a.device_id]))
        got_a, got_b = a.get(rec.id), b.get(rec.id)
        assert got_a.values == got_b.values
        assert got_a.status == got_b.status
        with a.reading() as sa, b.reading() as sb:
            assert sa.get_one(Record, rec.id).versions == sb.get_one(Record, rec.id).versions
            assert sb.scalars(select(Record.id)).all() == [rec.id]
    finally:
        a.close()
        b.close()
