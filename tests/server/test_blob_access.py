"""Who may read a file (docs/attachments.md "Who may read a file"), on SQLite
and PostgreSQL: knowing a SHA-256 grants nothing; a user reads a file they
hold (uploaded, or attached while able to read it) or one a live record they
see uses when its attacher holds it; proof of possession is an upload the
server takes exactly as if it lacked the file; "not yours" reads like
"absent" on every path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, insert, select
from sqlalchemy.orm import Session

from app.protocol.sync import PROTOCOL_VERSION
from app.server import admin, blob_store
from app.server.config import Settings
from app.server.database import downgrade, make_engine, run_migrations
from app.server.tables import Blob, BlobHolder, RecordBlob, User
from tests.server.test_blobs import (
    BLOBS,
    JPEG,
    MAX_FILE,
    PUSH,
    QUOTA,
    Pusher,
    assert_error,
    jpeg,
    put,
    ref,
    sha,
    status,
    upload,
)

MakeUser = Callable[..., User]
Headers = Callable[[User], dict[str, str]]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, max_file_bytes=MAX_FILE, quota_bytes=QUOTA,
                               blob_dir=tmp_path / "blob-store")


@pytest.fixture
def pusher(client: Any, auth_headers: Headers) -> Pusher:
    return Pusher(client, auth_headers)


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, User]:
    return {
        "victim": make_user("fellow", cohort="A", username="victim"),
        "victim_trainer": make_user("trainer", cohort="A", username="trainer_a"),
        "thief": make_user("fellow", cohort="B", username="thief"),
        "thief_trainer": make_user("trainer", cohort="B", username="trainer_b"),
        "admin": make_user("admin", username="root"),
    }


def get(client: Any, headers: dict[str, str], digest: str, **extra: str) -> Any:
    return client.get(f"{BLOBS}/{digest}", headers={**headers, **extra})


def holders(session: Session, digest: str) -> dict[int, str]:
    session.expire_all()
    rows = session.execute(select(BlobHolder.user_id, BlobHolder.how).where(BlobHolder.sha256 == digest))
    return {user_id: how for user_id, how in rows}


def shared(client: Any, pusher: Pusher, victim: User, auth_headers: Headers, size: int = 9_000) -> bytes:
    """A file the victim attached to a record of hers and uploaded."""
    data = jpeg(size)
    pusher.record(victim, data)
    upload(client, auth_headers(victim), data)
    return data


def edit_seen(client: Any, headers: dict[str, str], record_id: str, fields: dict[str, Any]) -> None:
    """An edit made after pulling everything (no conflict), from a laptop of its own."""
    edit_seen.seq += 1  # type: ignore[attr-defined]
    seq = edit_seen.seq  # type: ignore[attr-defined]
    body = {"protocol": PROTOCOL_VERSION, "device_id": f"seen-{seq}", "changes": [
        {"seq": 1, "record_id": record_id, "kind": "lesson_plan", "clock": 100 + seq, "known": 10_000,
         "fields": fields}]}
    response = client.post(PUSH, json=body, headers=headers)
    assert response.status_code == 200 and response.json()["results"] == [], response.text


edit_seen.seq = 0  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- a hash is not a key


def test_knowing_a_hash_grants_nothing(client: Any, session: Session, people: dict[str, User],
                                       pusher: Pusher, auth_headers: Headers) -> None:
    data = shared(client, pusher, people["victim"], auth_headers)
    digest = sha(data)
    # A fellow of another cohort names the hash in a record of her own.
    pusher.record(people["thief"], data, title="偷来的")
    for who in ("thief", "thief_trainer"):
        assert_error(get(client, auth_headers(people[who]), digest), 404, "not_available")
        assert_error(get(client, auth_headers(people[who]), digest, Range="bytes=0-"), 404, "not_available")
    assert status(client, auth_headers(people["thief"]), digest) == {
        "sha256": digest, "state": "missing", "offset": 0, "size": 0}
    assert people["thief"].id not in holders(session, digest)
    # Those who may see the victim's record still read it.
    for who in ("victim", "victim_trainer", "admin"):
        assert get(client, auth_headers(people[who]), digest).content == data, who


def test_absent_and_not_yours_read_the_same_on_every_path(client: Any, people: dict[str, User],
                                                          pusher: Pusher, auth_headers: Headers) -> None:
    data = shared(client, pusher, people["victim"], auth_headers, size=12_000)
    pusher.record(people["thief"], data)
    absent = jpeg(12_000)
    headers = auth_headers(people["thief"])

    def answers(file: bytes) -> list[Any]:
        digest = sha(file)
        seen: list[Any] = []
        for response in (
            client.get(f"{BLOBS}/{digest}/status", headers=headers),
            get(client, headers, digest),
            get(client, headers, digest, Range="bytes=100-"),
            get(client, headers, digest, Range="bytes=999999-"),  # a 416 would tell the size
            client.head(f"{BLOBS}/{digest}", headers=headers),
            client.head(f"{BLOBS}/{digest}/status", headers=headers),
            put(client, headers, file, offset=500),  # a resume of nothing: 409, held 0
        ):
            body = response.content.replace(digest.encode(), b"<sha>")
            seen.append((response.status_code, body, response.headers.get("content-length"),
                         response.headers.get("content-range"), response.headers.get("etag")))
        return seen

    assert answers(data) == answers(absent)
    assert answers(data)[1][0] == 404 and json.loads(answers(data)[1][1])["error"]["code"] == "not_available"


# --------------------------------------------------------------------------- proof of possession


def test_proof_of_possession_is_an_upload_taken_as_for_an_absent_file(
        client: Any, session: Session, settings: Settings, people: dict[str, User], pusher: Pusher,
        auth_headers: Headers, make_user: MakeUser) -> None:
    victim, other = people["victim"], people["thief"]  # ("thief" here had the same photo all along)
    data = shared(client, pusher, victim, auth_headers, size=60_000)
    digest = sha(data)
    pusher.record(other, data)
    headers = auth_headers(other)
    assert status(client, headers, digest)["state"] == "missing"
    first = put(client, headers, data, data[:25_000])
    assert first.json() == {"sha256": digest, "state": "partial", "offset": 25_000, "size": 60_000}
    assert status(client, headers, digest) == {"sha256": digest, "state": "partial", "offset": 25_000,
                                               "size": 60_000}
    assert_error(get(client, headers, digest), 404, "not_available")  # half a file proves nothing
    last = put(client, headers, data, offset=25_000)
    assert last.json() == {"sha256": digest, "state": "complete", "offset": 60_000, "size": 60_000}
    # One copy on disk, the first uploader's row, both hold it.
    assert blob_store.blob_path(settings, digest).read_bytes() == data
    assert not blob_store.partial_path(settings, other.id, digest).exists()
    assert holders(session, digest) == {victim.id: "upload", other.id: "upload"}
    blob = session.get(Blob, digest)
    assert blob is not None and blob.uploader_id == victim.id
    # Her record now grants the file to her trainer.
    assert get(client, auth_headers(people["thief_trainer"]), digest).content == data
    # Counted once, against the first uploader: her 160 KB are still hers.
    assert blob_store.used_bytes(session, other.id) == 0
    upload(client, headers, jpeg(60_000))
    upload(client, headers, jpeg(60_000))
    # A wrong body is no proof.
    stranger = make_user("fellow", cohort="C")
    pusher.record(stranger, data)
    forged = jpeg(60_000)
    put(client, auth_headers(stranger), forged, forged[:20_000], digest=digest)
    wrong = put(client, auth_headers(stranger), forged, offset=20_000, digest=digest)
    assert_error(wrong, 422, "hash_mismatch")
    assert stranger.id not in holders(session, digest)
    assert_error(get(client, auth_headers(stranger), digest), 404, "not_available")


def test_a_lost_file_sent_again_by_its_uploader_is_counted_once(client: Any, session: Session,
                                                               settings: Settings, make_user: MakeUser,
                                                               auth_headers: Headers) -> None:
    user = make_user()
    headers = auth_headers(user)
    lost, other = jpeg(60_000), jpeg(60_000)
    upload(client, headers, lost)
    upload(client, headers, other)
    blob_store.blob_path(settings, sha(lost)).unlink()  # a disk restored from an older copy
    assert status(client, headers, sha(lost))["state"] == "missing"
    upload(client, headers, lost)  # 120 KB of 160: not refused as if it were 180
    assert blob_store.blob_path(settings, sha(lost)).read_bytes() == lost


# --------------------------------------------------------------------------- attaching what one may read


def test_attaching_a_file_one_may_read_makes_one_its_holder(client: Any, session: Session,
                                                            people: dict[str, User], pusher: Pusher,
                                                            auth_headers: Headers) -> None:
    victim, trainer = people["victim"], people["victim_trainer"]
    data = shared(client, pusher, victim, auth_headers)
    digest = sha(data)
    # Her trainer attaches the fellow's photo to a record of his own: he could read it.
    pusher.record(trainer, data, title="示范课")
    assert holders(session, digest) == {victim.id: "upload", trainer.id: "reference"}
    assert status(client, auth_headers(trainer), digest)["state"] == "complete"
    # Moved out of the cohort, he keeps what he attached while he could read it.
    admin.unassign(session, trainer.username, "A")
    assert get(client, auth_headers(trainer), digest).content == data


def test_asking_about_a_file_one_may_read_makes_one_its_holder(client: Any, session: Session,
                                                              people: dict[str, User], pusher: Pusher,
                                                              auth_headers: Headers) -> None:
    """The trainer attached the file before it reached the server (say it
    came by e-mail), so the push could not tell he may read it; his client's
    status question, once it is there, tells, and nothing is sent."""
    victim, trainer = people["victim"], people["victim_trainer"]
    data = jpeg(7_000)
    pusher.record(victim, data)
    pusher.record(trainer, data, title="先附上")
    upload(client, auth_headers(victim), data)
    assert trainer.id not in holders(session, sha(data))
    assert status(client, auth_headers(trainer), sha(data))["state"] == "complete"
    assert holders(session, sha(data))[trainer.id] == "reference"
    admin.unassign(session, trainer.username, "A")
    assert get(client, auth_headers(trainer), sha(data)).content == data


def test_a_trainer_moved_out_keeps_no_access_through_a_hash(client: Any, session: Session,
                                                            people: dict[str, User], pusher: Pusher,
                                                            auth_headers: Headers) -> None:
    victim, trainer = people["victim"], people["victim_trainer"]
    data = shared(client, pusher, victim, auth_headers)
    digest = sha(data)
    assert get(client, auth_headers(trainer), digest).status_code == 200
    admin.unassign(session, trainer.username, "A")
    assert_error(get(client, auth_headers(trainer), digest), 404, "not_available")
    # Naming the hash he remembers in a record of his own gives nothing back.
    pusher.record(trainer, data, title="记下的哈希")
    assert_error(get(client, auth_headers(trainer), digest), 404, "not_available")
    assert trainer.id not in holders(session, digest)


def test_an_admin_attaching_to_a_fellows_record_shares_the_file(client: Any, session: Session,
                                                                people: dict[str, User], pusher: Pusher,
                                                                auth_headers: Headers) -> None:
    victim, root = people["victim"], people["admin"]
    mine, theirs = jpeg(5_000), jpeg(5_000)
    upload(client, auth_headers(root), theirs)
    record_id = pusher.record(victim, mine)
    upload(client, auth_headers(victim), mine)
    edit_seen(client, auth_headers(root), record_id, {"attachments": [ref(mine), ref(theirs, "admin.jpg")]})
    session.expire_all()
    attached = {sha256: by for sha256, by in session.execute(
        select(RecordBlob.sha256, RecordBlob.attached_by).where(RecordBlob.record_id == record_id))}
    assert attached == {sha(mine): victim.id, sha(theirs): root.id}  # each file keeps who attached it
    for who in ("victim", "victim_trainer"):
        assert get(client, auth_headers(people[who]), sha(theirs)).content == theirs, who
    # The fellow's own edit later keeps the admin's file readable.
    edit_seen(client, auth_headers(victim), record_id,
              {"title": "改过", "attachments": [ref(theirs, "admin.jpg")]})
    assert get(client, auth_headers(people["victim_trainer"]), sha(theirs)).status_code == 200
    assert_error(get(client, auth_headers(people["victim_trainer"]), sha(mine)), 404, "not_available")


# --------------------------------------------------------------------------- garbage


def test_gc_takes_the_holders_with_the_blob(client: Any, session: Session, settings: Settings, clock: Any,
                                            people: dict[str, User], pusher: Pusher,
                                            auth_headers: Headers) -> None:
    victim = people["victim"]
    data = shared(client, pusher, victim, auth_headers)
    unused = jpeg(3_000)
    upload(client, auth_headers(victim), unused)
    upload(client, auth_headers(people["thief"]), unused)
    clock.advance(days=2)
    report = blob_store.collect_garbage(session, settings)
    assert (report.blobs, report.blob_bytes) == (1, 3_000)
    assert holders(session, sha(unused)) == {}
    assert holders(session, sha(data)) == {victim.id: "upload"}


# --------------------------------------------------------------------------- the migration


def _insert(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    engine = make_engine(url)
    try:
        meta = MetaData()
        with engine.begin() as conn:
            for name, values in rows.items():
                conn.execute(insert(Table(name, meta, autoload_with=conn)), values)
    finally:
        engine.dispose()


def test_migration_0004_keeps_what_was_shared_and_drops_what_was_named(db_url: str) -> None:
    downgrade(db_url, "0003")
    try:
        now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        users = [(1, "victim", "fellow"), (2, "trainer_a", "trainer"), (3, "thief", "fellow"),
                 (4, "trainer_b", "trainer"), (5, "root", "admin")]
        records = {"r-victim": 1, "r-trainer": 2, "r-thief": 3, "r-trainer-b": 4, "r-admin": 5,
                   "r-orphan": 3}
        x, y = "a" * 64, "b" * 64
        _insert(db_url, {
            "users": [{"id": i, "username": n, "display_name": "", "school": "", "role": r,
                       "password_hash": "x", "active": True, "created_at": now} for i, n, r in users],
            "cohorts": [{"id": 1, "name": "A", "created_at": now}, {"id": 2, "name": "B", "created_at": now}],
            "cohort_members": [{"cohort_id": 1, "user_id": 1}, {"cohort_id": 1, "user_id": 2},
                               {"cohort_id": 2, "user_id": 3}, {"cohort_id": 2, "user_id": 4}],
            "records": [{"id": rid, "kind": "lesson_plan", "owner_id": owner, "author": "", "created_at": now,
                         "fields": {}, "versions": {}, "deleted": False, "seq": n}
                        for n, (rid, owner) in enumerate(records.items(), 1)],
            "blobs": [{"sha256": x, "size": 10, "type": JPEG, "uploader_id": 1, "created_at": now,
                       "complete": True}],
            "record_blobs": [{"record_id": rid, "sha256": x} for rid in records if rid != "r-orphan"]
                            + [{"record_id": "r-orphan", "sha256": y}],
        })
        run_migrations(db_url, "0004")
        engine = make_engine(db_url)
        try:
            with Session(engine) as session:
                got = {user_id: how for user_id, how in session.execute(
                    select(BlobHolder.user_id, BlobHolder.how).where(BlobHolder.sha256 == x))}
                # The uploader; her trainer and the admin could read it through her record.
                assert got == {1: "upload", 2: "reference", 5: "reference"}
                by = {rid: who for rid, who in session.execute(
                    select(RecordBlob.record_id, RecordBlob.attached_by))}
                assert by == records
        finally:
            engine.dispose()
        downgrade(db_url, "0003")  # and back: the references stay
        engine = make_engine(db_url)
        try:
            with engine.connect() as conn:
                kept = conn.execute(Table("record_blobs", MetaData(), autoload_with=conn).select()).all()
                assert len(kept) == len(records)
        finally:
            engine.dispose()
    finally:
        _empty(db_url)  # (later migrations are not this test's subject)
        run_migrations(db_url)


def _empty(url: str) -> None:
    engine = make_engine(url)
    try:
        meta = MetaData()
        with engine.begin() as conn:
            meta.reflect(conn)
            for table in reversed(meta.sorted_tables):
                if table.name not in ("alembic_version", "server_state"):
                    conn.execute(table.delete())
    finally:
        engine.dispose()
