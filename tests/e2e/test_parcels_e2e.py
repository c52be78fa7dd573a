"""Sync parcels end to end (docs/parcels.md): a real server process on
loopback, laptops with their own stores, parcel files carried by a second
laptop. A fellow who never connects (after signing in once) syncs a week of
work and gets the trainer's comments back through parcels; direct syncs mix
in; every fault a stick and a courier can cause is refused or harmless; and
a seeded randomized run mixing parcels, exchanges with the trainer's laptop
in the same room (real LAN sockets on loopback) and direct syncs, with the
fellow's clock a year off, converges with every edit and every comment
accounted for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.errors import NotAParcel, ParcelError, ParcelForeign
from app.models import reviews
from app.protocol import parcel_format as pf
from app.server import tables as server_tables
from app.server.database import make_engine, make_sessionmaker
from app.sync import nearby, parcel_keys, parcels, replica
from app.sync.client import ApiClient
from app.sync.errors import RequestRejected
from tests.e2e.conftest import Machine, assert_replica_equals_server, server_state
from tests.e2e.test_convergence import FIELDS, REQUIRED, Laptop, Model, _records, _versions, check
from tests.sync.conftest import LiveServer

pytestmark = pytest.mark.slow

MakeMachine = Callable[..., Machine]
LESSON = {"title": "认识分数", "subject": "math", "grade": 3}


class Stick:
    """A USB stick: numbered parcel files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def export(self, machine: Machine, **options: Any) -> Path:
        self.count += 1
        path = self.folder / f"p{self.count}.fbparcel"
        parcels.export_parcel(machine.store, path, **options)
        return path


def carry(courier: Machine, parcel: Path, answer: Path | None = None) -> Path:
    """The courier, in town, hands the parcel to the server (no sign-in used)."""
    plain = ApiClient(courier.laptop.client.base_url)
    try:
        return parcels.deliver_parcel(plain, parcel, answer).answer_path
    finally:
        plain.close()


def server_reviews(live_server: LiveServer) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{live_server.db}")
    try:
        with make_sessionmaker(engine)() as session:
            return [(r.id, r.body) for r in session.scalars(select(server_tables.Review))]
    finally:
        engine.dispose()


def server_count(live_server: LiveServer, table: Any) -> int:
    engine = make_engine(f"sqlite:///{live_server.db}")
    try:
        with make_sessionmaker(engine)() as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_a_week_of_work_and_the_trainers_comments_travel_by_parcel(
    live_server: LiveServer, machine: MakeMachine, tmp_path: Path
) -> None:
    li, zhao = machine("li"), machine("zhao")  # li signs in once, then never connects
    stick = Stick(tmp_path / "stick")
    made: list[str] = []
    answers: list[Path] = []
    for day in range(7):
        for n in range(3):
            made.append(li.store.create("lesson_plan", {**LESSON, "title": f"第{day}天第{n}课"},
                                        author="李").id)
        li.store.update(made[0], {"homework": f"第{day}天的作业"})
        if day == 2:
            reviews.submit(li.store, made[1])
        if answers:  # yesterday's answer, carried back by the trainer
            parcels.import_answer(li.store, answers[-1])
        answers.append(carry(zhao, stick.export(li)))
        # The trainer, with a connection in town, reads and comments.
        zhao.laptop.sync()
        if day == 3:
            reviews.add_comment(zhao.store, made[0], "作业布置得很好。")
            reviews.decide(zhao.store, made[1], "return", "请补充评价方式。")
            zhao.laptop.sync()
    parcels.import_answer(li.store, answers[-1])
    # One more round: the answer to the last parcel brings what came after it.
    parcels.import_answer(li.store, carry(zhao, stick.export(li)))
    state = server_state(live_server)
    assert set(made) <= set(state.view)
    assert replica.pending_count(li.store) == 0
    assert_replica_equals_server(li.store, state, "li")
    bodies = [e.body for e in reviews.thread(li.store, made[0])]
    assert "作业布置得很好。" in bodies
    assert li.store.get(made[1]).status == "returned"
    status = parcels.parcel_status(li.store)
    assert status.waiting == [] and status.synced_by_parcel_at is not None
    zhao.laptop.sync()
    assert_replica_equals_server(zhao.store, server_state(live_server), "zhao")


def test_faults_delivered_twice_out_of_order_after_a_direct_sync_cut_flipped_and_foreign(
    live_server: LiveServer, machine: MakeMachine, tmp_path: Path
) -> None:
    li, zhao, wang = machine("li"), machine("zhao"), machine("wang")
    stick = Stick(tmp_path / "stick")
    rng = random.Random(14)
    first = li.store.create("lesson_plan", {**LESSON, "title": "一"}, author="李").id
    p1 = stick.export(li)
    li.store.update(first, {"title": "一改"})
    second = li.store.create("lesson_plan", {**LESSON, "title": "二"}, author="李").id
    p2 = stick.export(li)  # before p1's answer: holds p1's changes too

    # Out of order and twice: p2 first, then p1, then p2 again.
    a2 = carry(zhao, p2, tmp_path / "a2.fbparcel")
    seq = server_state(live_server).seq
    a1 = carry(zhao, p1, tmp_path / "a1.fbparcel")
    a2b = carry(zhao, p2, tmp_path / "a2b.fbparcel")
    assert server_state(live_server).seq == seq, "a replayed or older parcel applied something"
    assert server_count(live_server, server_tables.DeliveredParcel) == 2
    # The old answer first, then the newer, then the old again: nothing rolls back.
    for answer in (a1, a2, a1, a2b):
        parcels.import_answer(li.store, answer)
    assert li.store.get(first).values["title"] == "一改"
    assert replica.pending_count(li.store) == 0

    # A parcel delivered after a direct sync: its seqs are replays.
    li.store.update(second, {"title": "二改"})
    p3 = stick.export(li)
    li.laptop.sync()
    seq = server_state(live_server).seq
    a3 = carry(zhao, p3)
    assert server_state(live_server).seq == seq
    li.store.update(second, {"homework": "新作业"})
    parcels.import_answer(li.store, a3)  # older than the store now: nothing newer rolls back
    assert li.store.get(second).values["homework"] == "新作业"
    assert replica.pending_count(li.store) == 1
    li.laptop.sync()

    # Cut at random byte counts, single bytes flipped: refused both ways, nothing changed.
    p4 = stick.export(li)
    data = p4.read_bytes()
    answer_bytes = carry(zhao, stick.export(li)).read_bytes()
    before, seq = li.laptop.snapshot(), server_state(live_server).seq
    broken = tmp_path / "broken.fbparcel"
    plain = ApiClient(live_server.url)
    try:
        for _ in range(12):
            size = rng.randrange(0, len(data))
            broken.write_bytes(data[:size])
            with pytest.raises((RequestRejected, ParcelError)):
                parcels.deliver_parcel(plain, broken)
            flipped = bytearray(data)
            flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            broken.write_bytes(bytes(flipped))
            with pytest.raises((RequestRejected, ParcelError)):
                parcels.deliver_parcel(plain, broken)
            size = rng.randrange(0, len(answer_bytes))
            broken.write_bytes(answer_bytes[:size])
            with pytest.raises(ParcelError):
                parcels.import_answer(li.store, broken)
            flipped = bytearray(answer_bytes)
            flipped[rng.randrange(len(answer_bytes))] ^= 1 << rng.randrange(8)
            broken.write_bytes(bytes(flipped))
            with pytest.raises(ParcelError):
                parcels.import_answer(li.store, broken)

        # Signed by another device: li's account and device id, another store's key.
        user_id = replica.sync_meta(li.store).user_id
        server = parcel_keys.server_public(li.store)
        assert server is not None
        now = dt.datetime.now(dt.UTC)
        forged = pf.seal_outgoing(b'{"push":[],"pull":{"protocol":1,"cursor":0,"scope":null}}',
                                  parcel_keys.device_keys(wang.store), server,
                                  parcel_id=pf.new_parcel_id(), user=str(user_id),
                                  device_id=li.store.device_id, created_at=now,
                                  expires_at=now + dt.timedelta(days=1))
        with pytest.raises(RequestRejected) as refused:
            plain.deliver_parcel(forged)
        assert refused.value.code == "parcel_foreign"
    finally:
        plain.close()
    # Replayed to another account: li's answer imported on wang's laptop.
    with pytest.raises(ParcelForeign):
        parcels.import_answer(wang.store, a2)
    with pytest.raises(NotAParcel):
        parcels.import_answer(wang.store, p4)
    assert li.laptop.snapshot() == before and server_state(live_server).seq == seq


# --- seeded randomized run -------------------------------------------------------------------


@pytest.fixture
def clock_a_year_behind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every laptop's wall clock a year behind the server's (Lamport clocks
    order the edits; a parcel's expiry comes from the server's clock as seen)."""
    from app.models import orm

    real = orm.utcnow

    def behind() -> dt.datetime:
        return real() - dt.timedelta(days=365)

    for module in (parcel_keys, replica):
        monkeypatch.setattr(module, "utcnow", behind)
    monkeypatch.setattr("app.sync.engine.utcnow", behind)
    yield


CASES = 220


def test_random_parcels_and_direct_syncs_converge(
    live_server: LiveServer, machine: MakeMachine, tmp_path: Path, clock_a_year_behind: None
) -> None:
    seed = 1414
    rng = random.Random(seed)
    model = Model()
    # A: li's laptop in the village (parcels, sometimes a direct sync in town);
    # B: li's other laptop and T: the trainer, both direct; T carries A's parcels.
    laptops = {name: Laptop(name, machine(user, device_id=f"p-{name}-{seed}"))
               for name, user in (("A", "li"), ("B", "li"), ("T", "zhao"))}
    stick = Stick(tmp_path / "stick")
    outgoing: list[Path] = []
    answers: list[Path] = []
    courier = nearby.Courier(laptops["T"].store, tmp_path / "carried")
    comments: list[str] = []  # ids of T's comments on li's records
    counter = 0

    def meet(step: int) -> None:
        """T's laptop in the room with A's: collect, hand back answers and comments."""
        share = nearby.Sharing(laptops["A"].store, interface="127.0.0.1")
        code = share.start()
        try:
            report = courier.exchange(share.peer(), code)
        finally:
            share.close()
        model.log.append(f"{step}: A meets T nearby: {report.summary()}")

    def label() -> str:
        nonlocal counter
        counter += 1
        return f"r{seed}-{counter}"

    try:
        for step in range(CASES):
            name = rng.choices(["A", "B", "T"], [0.5, 0.3, 0.2])[0]
            laptop = laptops[name]
            op = rng.choices(["create", "edit", "delete", "restore", "sync", "export", "deliver", "import",
                              "nearby", "comment", "courier"],
                             [0.13, 0.27, 0.04, 0.03, 0.13, 0.09, 0.09, 0.08, 0.07, 0.04, 0.03])[0]
            if op in ("export", "deliver", "import", "nearby"):
                laptop = laptops["A"]
            elif op in ("comment", "courier"):
                laptop = laptops["T"]
            live = _records(laptop.store, laptop.user_id, deleted=False)
            if op == "create" or (op == "edit" and not live):
                kind = rng.choice(list(FIELDS))
                values = {REQUIRED[kind]: label()}
                for field in rng.sample(list(FIELDS[kind]), 2):
                    values[field] = FIELDS[kind][field](rng, label())
                rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                laptop.store.create(kind, values, author=laptop.name, record_id=rid)
                model.created[rid] = (laptop.machine.username, kind)
                laptop.record_writes(model, step, rid, {}, {**values, "status": "draft"})
                model.log.append(f"{step}: {laptop.name} creates {rid[:8]}")
            elif op == "edit":
                rid, kind = rng.choice(live)
                names = rng.sample(list(FIELDS[kind]), rng.randint(1, 2))
                values = {n: FIELDS[kind][n](rng, label()) for n in names}
                before = _versions(laptop.store, rid)
                laptop.store.update(rid, values)
                laptop.record_writes(model, step, rid, before, values)
                model.log.append(f"{step}: {laptop.name} edits {rid[:8]} {sorted(values)}")
            elif op == "delete" and live:
                laptop.delete_one(model, step, rng, live)
            elif op == "restore":
                laptop.restore_one(model, step, rng)
            elif op == "sync" and (name != "A" or rng.random() < 0.25):
                report = laptop.machine.laptop.sync(confirm_mass_delete=lambda c, t: True)
                model.log.append(f"{step}: {laptop.name} syncs directly: {report.summary()}")
            elif op == "export":
                outgoing.append(stick.export(laptop.machine))
                model.log.append(f"{step}: A exports {outgoing[-1].name}")
            elif op == "deliver" and outgoing:
                parcel = rng.choice(outgoing[-3:])  # the newest, or an older one again
                answers.append(carry(laptops["T"].machine, parcel,
                                     tmp_path / f"answer-{step}.fbparcel"))
                model.log.append(f"{step}: T delivers {parcel.name}")
            elif op == "nearby":
                meet(step)
            elif op == "comment":
                theirs = _owned_by(laptop.store, laptops["A"].user_id)
                if not theirs:  # nothing of li's here yet: T syncs in town first
                    laptop.machine.laptop.sync(confirm_mass_delete=lambda c, t: True)
                    theirs = _owned_by(laptop.store, laptops["A"].user_id)
                if theirs:
                    rid, _kind = rng.choice(theirs)
                    comments.append(reviews.add_comment(laptop.store, rid, f"评语 {label()}").id)
                    model.log.append(f"{step}: T comments on {rid[:8]}")
            elif op == "courier":
                round_ = courier.deliver_all(ApiClient(laptop.machine.laptop.client.base_url))
                model.log.append(f"{step}: T delivers {round_.delivered} carried parcel(s), "
                                 f"{len(round_.refused)} refused")
            elif op == "import" and answers:
                answer = rng.choice(answers[-3:])
                imported = parcels.import_answer(laptop.store, answer, confirm_mass_delete=lambda c, t: True)
                model.log.append(f"{step}: A imports {answer.name}: {imported.summary()}")

        # Settle: the village laptop by parcels only, the others directly.
        for _ in range(2):
            for other in ("B", "T"):
                laptops[other].machine.laptop.sync(confirm_mass_delete=lambda c, t: True)
            answer = carry(laptops["T"].machine, stick.export(laptops["A"].machine))
            parcels.import_answer(laptops["A"].store, answer, confirm_mass_delete=lambda c, t: True)
        for other in ("B", "T"):
            laptops[other].machine.laptop.sync(confirm_mass_delete=lambda c, t: True)
        # ...and once more through the room: what T carries goes back, nothing stays provisional.
        meet(CASES)
        courier.deliver_all(ApiClient(laptops["T"].machine.laptop.client.base_url))
        meet(CASES + 1)
        state = server_state(live_server)
        check(_seen_twins_accounted(model), list(laptops.values()), state)
        on_server = [rid for rid, _body in server_reviews(live_server)]
        # Every comment T made is on the server once, unless the server refused it
        # (its record deleted meanwhile: gone from T's store too); the village
        # laptop holds none still waiting, and none the server does not have.
        kept = set(_review_ids(laptops["T"].store)) & set(comments)
        assert kept <= set(on_server) and len(on_server) == len(set(on_server))
        assert not (set(comments) - kept) & set(on_server)
        village = [e for rid in _owned_by(laptops["A"].store, laptops["A"].user_id)
                   for e in reviews.thread(laptops["A"].store, rid[0])]
        assert not [e for e in village if e.provisional], "a handed comment never confirmed"
        assert {e.id for e in village if e.action == "comment"} <= set(on_server)
        # Nothing applied twice: each device's high-water mark is its own newest change.
        for laptop in laptops.values():
            assert state.devices.get(laptop.store.device_id, 0) <= _newest(laptop)
        assert sum("exports" in line for line in model.log) >= 10
        assert sum("imports" in line for line in model.log) >= 10
        assert sum("meets T nearby" in line for line in model.log) >= 10
        assert sum("T comments" in line for line in model.log) >= 5
    except AssertionError as exc:
        raise AssertionError(f"seed={seed}: {exc}\nlast steps:\n{model.tail(400)}") from exc


def _seen_twins_accounted(model: Model) -> Model:
    """test_convergence's rule 5 (an equal value written concurrently is no
    conflict) one step further: a write equal in value to another write of
    its field that a later write knowingly replaced (two laptops deleted a
    record at once, then one restored it) was seen and replaced too."""
    bases = {(w.record_id, w.field, w.base) for w in model.writes if w.base is not None}
    seen = {(w.record_id, w.field, json.dumps(w.value, sort_keys=True)): w.version for w in model.writes
            if (w.record_id, w.field, w.version) in bases}
    kept = []
    for w in model.writes:
        twin = seen.get((w.record_id, w.field, json.dumps(w.value, sort_keys=True)))
        replaced = (w.record_id, w.field, w.version) in bases
        kept.append(w if twin is None or replaced else dataclasses.replace(w, version=twin))
    return Model(created=model.created, writes=kept, log=model.log)


def _newest(laptop: Laptop) -> int:
    from app.sync.engine import newest_change

    return newest_change(laptop.store)


def _owned_by(store: Any, owner: int | None) -> list[tuple[str, str]]:
    """(id, kind) of the live records of ``owner`` on this laptop."""
    from app.models.orm import Record

    with store.reading() as session:
        rows = session.execute(select(Record.id, Record.kind).where(
            Record.deleted.is_(False), Record.owner_id == owner).order_by(Record.id)).all()
    return [(rid, kind) for rid, kind in rows]


def _review_ids(store: Any) -> list[str]:
    from app.models.orm import Review

    with store.reading() as session:
        return list(session.scalars(select(Review.id)))
