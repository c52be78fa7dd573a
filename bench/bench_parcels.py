"""Sync parcels: the size of an outgoing parcel of 500 changed records
against the gzip floor of those records, the time to seal and open it, and
the time of a whole round trip through a real server: export, deliver,
import (app/sync/parcels.py); and the same through a trainer's laptop in the
room (app/sync/nearby.py over loopback sockets).

    .venv/bin/python -m bench.bench_parcels [--records 500] [--runs 5] [--no-write]

The round trip starts ``python -m app.server.cli serve`` on a free loopback
port with its own SQLite file, one fellow per run (so every run pushes the
same 500 new records and pulls the same), a fresh store per run signed in
through the engine; medians of the runs.

The records come from bench/generate.py into a real store; the payload is
the engine's push batches as ``replica.pending_groups`` reads them (the
request built around them as ``SyncEngine._send_push`` does: changes sorted
by kind) plus the pull request, sealed by app/protocol/parcel_format.py. Writes
its section of docs/benchmarks.md (bench/doc.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.models.store import Store
from app.protocol import parcel_format as pf
from app.protocol.sync import PROTOCOL_VERSION
from app.sync import parcels, replica
from app.sync.client import ApiClient
from app.sync.engine import sign_in
from app.sync.tokens import TokenStore
from bench.doc import write_section
from bench.generate import generate_items, load

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def outgoing_payload(store: Store) -> bytes:
    """The JSON an outgoing parcel carries: every push request the engine
    would send now (``after`` chaining them) and the pull it would start."""
    meta = replica.sync_meta(store)
    pushes: list[dict[str, Any]] = []
    after: int | None = None
    while batch := replica.pending_groups(store, after=after):
        request: dict[str, Any] = {"protocol": PROTOCOL_VERSION, "device_id": meta.device_id,
                                   "changes": sorted(batch, key=lambda group: group["kind"])}
        if after is not None:
            request["after"] = after
        pushes.append(request)
        after = batch[-1]["seq"]
    pull = {"protocol": PROTOCOL_VERSION, "cursor": meta.pull_cursor, "scope": meta.scope,
            "device_id": meta.device_id, "pushed_seq": meta.pushed_seq}
    return json.dumps({"push": pushes, "pull": pull}, ensure_ascii=False, separators=(",", ":")).encode()


def records_floor(store: Store, ids: Sequence[str]) -> tuple[int, int]:
    """(JSON bytes, gzip -9 bytes) of the records themselves: their id, kind
    and the values of every field, one compact JSON array, records of one
    kind side by side (as the engine sends them, which gzip favours) — the
    least any carrier of these edits could hold, short of a better
    compressor."""
    records = sorted(({"id": r.id, "kind": r.kind, **r.values} for r in (store.get(i) for i in ids)),
                     key=lambda record: str(record["kind"]))
    raw = json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))


def best_of(runs: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(records: int, runs: int) -> dict[str, Any]:
    device, server = pf.DeviceKeys.generate(), pf.ServerKeys.generate()
    registered = device.public()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "fieldbook.db")
        try:
            ids = load(store, generate_items(records, seed=14))
            payload = outgoing_payload(store)
            raw, floor = records_floor(store, ids)
            groups = replica.pending_count(store)
        finally:
            store.close()

    def seal() -> bytes:
        return pf.seal_outgoing(payload, device, server.public(), parcel_id=pf.new_parcel_id(), user="li",
                                device_id="bench", created_at=NOW, expires_at=NOW + dt.timedelta(days=30))

    parcel = seal()
    opened = pf.open_outgoing(parcel, server, lambda _user, _device: registered, now=NOW)[1]
    assert opened == payload
    return {
        "records": records, "groups": groups, "records_json": raw, "floor": floor,
        "payload": len(payload), "payload_gzip": len(gzip.compress(payload, compresslevel=9, mtime=0)),
        "parcel": len(parcel),
        "seal_s": best_of(runs, seal),
        "open_s": best_of(runs, lambda: pf.open_outgoing(parcel, server, lambda _u, _d: registered, now=NOW)),
        "runs": runs,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def round_trip(records: int, runs: int) -> dict[str, Any]:
    """Median seconds to export, deliver and import a parcel of ``records``
    new records, with a real server process on loopback."""
    from argon2 import PasswordHasher

    from app.server import admin, security
    from app.server.database import make_engine, make_sessionmaker, run_migrations

    root = Path(__file__).resolve().parents[1]
    times: dict[str, list[float]] = {"export": [], "deliver": [], "import": [],
                                     "meet_collect": [], "carried_deliver": [], "meet_answer": []}
    sizes: dict[str, list[int]] = {"lan_up": [], "lan_answer": []}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        db = base / "server.db"
        run_migrations(f"sqlite:///{db}")
        security.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        engine = make_engine(f"sqlite:///{db}")
        with make_sessionmaker(engine)() as session:
            admin.create_cohort(session, "一班")
            admin.create_user(session, "zhao", "bench-password", "trainer", "赵老师")
            admin.assign(session, "zhao", "一班")
            for run in range(runs):
                for name in (f"li{run}", f"wang{run}"):
                    admin.create_user(session, name, "bench-password", "fellow", name)
                    admin.assign(session, name, "一班")
        engine.dispose()
        port = _free_port()
        env = {**os.environ, "FIELDBOOK_SERVER_DATABASE_URL": f"sqlite:///{db}",
               "FIELDBOOK_SERVER_SECRET": secrets.token_urlsafe(36), "FIELDBOOK_SERVER_DATA_DIR": folder,
               "PYTHONPATH": str(root)}
        server = subprocess.Popen([sys.executable, "-m", "app.server.cli", "serve", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, cwd=root, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            probe = ApiClient(url, timeout=(1, 5))
            for _ in range(600):
                try:
                    probe.health()
                    break
                except Exception:
                    time.sleep(0.1)
            probe.close()
            for run in range(runs):
                store = Store.open(base / f"laptop{run}" / "fieldbook.db")
                client = ApiClient(url)
                try:
                    sign_in(store, client, TokenStore(), url, f"li{run}", "bench-password")
                    load(store, generate_items(records, seed=14 + run))
                    parcel = base / f"p{run}.fbparcel"
                    start = time.perf_counter()
                    parcels.export_parcel(store, parcel)
                    times["export"].append(time.perf_counter() - start)
                    courier = ApiClient(url)
                    start = time.perf_counter()
                    answer = parcels.deliver_parcel(courier, parcel).answer_path
                    times["deliver"].append(time.perf_counter() - start)
                    courier.close()
                    start = time.perf_counter()
                    report = parcels.import_answer(store, answer)
                    times["import"].append(time.perf_counter() - start)
                    assert report.pushed and replica.pending_count(store) == 0
                finally:
                    client.close()
                    store.close()
            trainer = Store.open(base / "trainer" / "fieldbook.db")
            trainer_client = ApiClient(url)
            try:
                sign_in(trainer, trainer_client, TokenStore(), url, "zhao", "bench-password")
                for run in range(runs):
                    in_the_room(base, url, run, records, trainer, times, sizes)
            finally:
                trainer_client.close()
                trainer.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {**{f"{name}_s": statistics.median(values) for name, values in times.items()},
            **{name: statistics.median(values) for name, values in sizes.items()}}


def in_the_room(base: Path, url: str, run: int, records: int, trainer: Store,
                times: dict[str, list[float]], sizes: dict[str, list[int]]) -> None:
    """One fellow's laptop and the trainer's over loopback sockets
    (app/sync/nearby.py): the first meeting collects its parcel, the trainer
    delivers it in town, the second meeting hands the answer back."""
    from app.sync import nearby

    store = Store.open(base / f"room{run}" / "fieldbook.db")
    client = ApiClient(url)
    courier = nearby.Courier(trainer, base / f"carried{run}")
    try:
        sign_in(store, client, TokenStore(), url, f"wang{run}", "bench-password")
        load(store, generate_items(records, seed=14 + run))
        share = nearby.Sharing(store, interface="127.0.0.1")
        code = share.start()
        try:
            start = time.perf_counter()
            courier.exchange(share.peer(), code)
            times["meet_collect"].append(time.perf_counter() - start)
            sizes["lan_up"].append(sum(p.stat().st_size for p in courier.outgoing.iterdir()))
            plain = ApiClient(url)
            start = time.perf_counter()
            courier.deliver_all(plain)
            times["carried_deliver"].append(time.perf_counter() - start)
            plain.close()
            sizes["lan_answer"].append(sum(p.stat().st_size for p in courier.answers.iterdir()))
            start = time.perf_counter()
            report = courier.exchange(share.peer(), code)
            times["meet_answer"].append(time.perf_counter() - start)
            assert report.answers == 1 and replica.pending_count(store) == 0
        finally:
            share.close()
    finally:
        client.close()
        store.close()


def section(figures: dict[str, Any], command: str, load_before: float) -> str:
    f = figures
    kb = 1024
    rows = [
        (f"{f['records']} records as JSON (all fields)", f"{f['records_json'] / kb:.1f} KiB", ""),
        ("gzip -9 floor of those records", f"{f['floor'] / kb:.1f} KiB", "1.00"),
        (f"payload: push bodies ({f['groups']} change groups) + pull request",
         f"{f['payload'] / kb:.1f} KiB", ""),
        ("payload gzip -9 (what the parcel compresses)", f"{f['payload_gzip'] / kb:.1f} KiB",
         f"{f['payload_gzip'] / f['floor']:.2f}"),
        ("**sealed parcel** (header, envelope, chunks, signature)", f"{f['parcel'] / kb:.1f} KiB",
         f"{f['parcel'] / f['floor']:.2f}"),
        ("sealing overhead over the payload's gzip", f"{f['parcel'] - f['payload_gzip']} B", ""),
    ]
    cpu = platform.processor() or platform.machine()
    return "\n".join([
        "## Sync parcels (sync where there is no signal)", "",
        f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}; load average {load_before:.1f} before the run "
        "(the machine is shared, so the times are upper bounds).", "",
        "Reproduce:", "", "```sh", command, "```", "",
        "An outgoing parcel of that many freshly changed records (bench/generate.py, seed 14): the "
        "payload is the engine's push batches (`replica.pending_groups`) and its pull request, as "
        "docs/parcels.md describes; the floor is gzip -9 of the records' own JSON.", "",
        "| What | Size | × floor |", "|---|---|---|",
        *(f"| {what} | {size} | {ratio} |" for what, size, ratio in rows), "",
        f"Seal (gzip -9, X25519 + HKDF, ChaCha20-Poly1305, Ed25519): {f['seal_s'] * 1000:.1f} ms; "
        f"open and verify: {f['open_s'] * 1000:.1f} ms (best of {f['runs']}).", "",
        "A round trip through a real server (`python -m app.server.cli serve`, SQLite, on loopback), "
        f"a fresh store and fellow per run, medians of {f['runs']} runs:", "",
        "| Step | Median |", "|---|---|",
        f"| `export_parcel`: read the change log, seal, write the file | {f['export_s'] * 1000:.0f} ms |",
        f"| `deliver_parcel`: POST, server opens, pushes {f['groups']} groups, pulls "
        "(its own writes are not sent back), seals the answer "
        f"| {f['deliver_s'] * 1000:.0f} ms |",
        f"| `import_answer`: open, confirm the pushes, apply the pull | {f['import_s'] * 1000:.0f} ms |",
        "",
        "In the same room (app/sync/nearby.py): a fellow's laptop sharing on loopback with the same "
        f"{f['records']} new records, the trainer's laptop exchanging with it (real sockets, no mDNS "
        "wait: the peer's address is given), medians of the same runs:", "",
        "| Step | Median |", "|---|---|",
        "| first meeting: hello (certificates), the fellow's laptop exports a fresh parcel, the trainer "
        f"keeps it ({f['lan_up'] / kb:.1f} KiB over the LAN) | {f['meet_collect_s'] * 1000:.0f} ms |",
        f"| in town: `Courier.deliver_all` of that parcel (answer {f['lan_answer'] / kb:.1f} KiB) "
        f"| {f['carried_deliver_s'] * 1000:.0f} ms |",
        "| next meeting: hello, a fresh parcel collected, the answer handed over and imported there "
        f"| {f['meet_answer_s'] * 1000:.0f} ms |",
        "",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    figures = measure(args.records, args.runs)
    figures.update(round_trip(args.records, args.runs))
    command = f".venv/bin/python -m bench.bench_parcels --records {args.records} --runs {args.runs}"
    text = section(figures, command, load_before)
    if args.no_write:
        print(text)
    else:
        write_section("parcels", text)
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
