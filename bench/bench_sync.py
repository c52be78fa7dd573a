"""Sync performance: a real server, real stores, bytes counted at the socket.

    python -m bench.bench_sync [--count 10000] [--seed 42] [--runs 3] [--shaped-runs 3]
                               [--clients 200] [--rounds 3] [--skip-shaped] [--skip-load] [--no-write]

What it measures (each case ``--runs`` times, figures are medians):

1. the initial push of ``count`` records (``generate_records(count, seed)``,
   the three kinds mixed) from a client store to an empty server;
2. the initial pull of them into a fresh client;
3. 100 edits and 100 new records pushed by that client and pulled by the
   second one;
4. a sync with nothing to do;
5. the initial pull again over a shaped link (256 kbit/s each way, 300 ms
   round trip: ``bench/shaper.py``) against its floor, the floor's bytes at
   that rate plus one round trip;
6. ``--clients`` clients syncing at once (a small push and a pull each)
   against PostgreSQL, ``--rounds`` times.

Cases 1-5 run against ``python -m app.server.cli serve`` on SQLite, case 6 on
a fresh PostgreSQL database (``$FIELDBOOK_BENCH_PG``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; created and
dropped here). Every client talks to the server through ``LinkShaper``, a
TCP proxy on loopback that counts the bytes each way at its sockets (HTTP
request lines, headers and compressed bodies) and the requests; on loopback
it only forwards. The floor of a case is the ``gzip -9`` size of the same
records exported by ``fieldbook export --format json`` (the real CLI, on the
client store).

Writes the sync section of ``docs/benchmarks.md`` (between
``<!-- bench:sync:start -->`` and ``<!-- bench:sync:end -->``) with the notes
of ``bench/sync_notes.md``, and the raw figures to
``bench/.data/sync-DATE.json``. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.doc import DOC, write_section
from bench.generate import DATA_DIR, DEFAULT_SEED, generate_records
from bench.shaper import LinkShaper, LinkStats

ROOT = Path(__file__).resolve().parent.parent
NOTES_FILE = Path(__file__).resolve().parent / "sync_notes.md"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

USER = "bench"
PASSWORD = "bench-password-2026"
AUTHOR = "李老师"
START_TIMEOUT_S = 60.0

SHAPED_RATE_BITS = 256_000  # each way
SHAPED_RTT_S = 0.300

TARGET_INITIAL_S = 2.0
TARGET_FLOOR_RATIO = 1.3
TARGET_NOOP_BYTES = 1024
TARGET_SHAPED_RATIO = 1.4
TARGET_LOAD_P95_S = 1.0


# --- plumbing -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scratch() -> Path:
    """Temporary files under bench/.data/ (ignored by git)."""
    path = DATA_DIR / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _env(db_url: str, data_dir: Path, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBOOK_SERVER_")}
    env.update(
        FIELDBOOK_SERVER_DATABASE_URL=db_url,
        FIELDBOOK_SERVER_SECRET=secret,
        FIELDBOOK_SERVER_DATA_DIR=str(data_dir),
        FIELDBOOK_SERVER_ACCESS_TOKEN_MINUTES="120",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def server_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.server.cli", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=ROOT, timeout=300, check=False,
    )
    if done.returncode:
        raise RuntimeError(f"server cli {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Server:
    """``python -m app.server.cli serve`` on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = _free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.server.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the server did not start")

    def __exit__(self, *_exc: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@dataclass
class Laptop:
    """A Fieldbook installation: a store and a client, signed in through ``link``."""

    folder: Path
    link: LinkShaper
    store: Any = None
    client: Any = None
    tokens: Any = None

    def open(self, template: Path | None = None) -> Laptop:
        import keyring.backends.null

        from app.models.store import Store
        from app.sync.client import ApiClient
        from app.sync.engine import sign_in
        from app.sync.tokens import TokenStore

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "fieldbook.db"
        if template is not None:
            shutil.copyfile(template, path)
        self.store = Store.open(path)
        self.client = ApiClient(self.link.url, timeout=(10, 300))
        self.tokens = TokenStore(keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]  # in memory
        sign_in(self.store, self.client, self.tokens, self.link.url, USER, PASSWORD)
        return self

    def sync(self, **options: Any) -> tuple[Any, float, LinkStats]:
        """One engine run: its report, wall seconds and the link's counts."""
        from app.sync.engine import SyncEngine

        engine = SyncEngine(self.store, self.client, tokens=self.tokens, index_search=False, **options)
        before = self.link.stats()
        began = time.perf_counter()
        report = engine.run()
        wall = time.perf_counter() - began
        return report, wall, self.link.stats() - before

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.store is not None:
            self.store.close()


def _quiet_logs() -> None:
    import logging

    logging.getLogger("fieldbook").setLevel(logging.ERROR)


def build_client_store(path: Path, count: int, seed: int) -> float:
    """The pushing client's store: ``count`` generated records, in batches of
    2000 through ``Store.create_many``. Returns the seconds it took."""
    from app.models.store import Store

    began = time.perf_counter()
    store = Store.open(path)
    try:
        batch: list[tuple[str, dict[str, Any]]] = []
        for item in generate_records(count, seed):
            batch.append(item)
            if len(batch) == 2000:
                store.create_many(batch, author=AUTHOR)
                batch = []
        if batch:
            store.create_many(batch, author=AUTHOR)
    finally:
        store.close()
    return time.perf_counter() - began


def export_json(store_dir: Path, out: Path) -> None:
    """The real CLI export: ``python -m app export --format json``."""
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    subprocess.run(
        [sys.executable, "-m", "app", "export", "--format", "json", "--data-dir", str(store_dir),
         "--output", str(out)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=600,
    )


def gzip9_size(data: bytes) -> int:
    """Bytes of ``gzip -9`` (the gzip program when there is one)."""
    gz = shutil.which("gzip")
    if gz:
        done = subprocess.run([gz, "-9", "-c"], input=data, capture_output=True, check=True)
        return len(done.stdout)
    return len(gzip.compress(data, 9))


def export_text(records: Sequence[dict[str, Any]]) -> bytes:
    """Records in the export's own layout (as ``fieldbook export`` writes them)."""
    if not records:
        return b"]\n"
    body = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n"
    return body.encode()


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))])


def machine() -> dict[str, str]:
    def read(path: str, key: str) -> str:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
        return "unknown"

    import sqlalchemy
    import starlette
    import uvicorn

    mem = read("/proc/meminfo", "MemTotal")
    try:
        memory = f"{int(mem.split()[0]) / 1024 / 1024:.1f} GiB"
    except (ValueError, IndexError):
        memory = mem
    pg = "unknown"
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(_libpq_url(os.environ.get("FIELDBOOK_BENCH_PG", DEFAULT_PG)),
                             connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else "unknown"
    return {
        "cpu": f"{read('/proc/cpuinfo', 'model name')}, {os.cpu_count()} logical CPUs",
        "memory": memory,
        "os": f"{read('/etc/os-release', 'PRETTY_NAME')} (kernel {platform.release()})",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "versions": f"SQLAlchemy {sqlalchemy.__version__}, uvicorn {uvicorn.__version__}, "
                    f"Starlette {starlette.__version__}",
    }


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- cases 1-4: loopback, SQLite ---------------------------------------------------


@dataclass
class Floors:
    full_bytes: int  # gzip -9 of the export of every record
    raw_bytes: int  # the export itself
    small_bytes: int = 0  # gzip -9 of the export of case 3's 200 records


def edit_hundred(store: Any, count: int) -> tuple[list[str], list[str]]:
    """Case 3's work on the pushing client: 100 edits (a paragraph added to a
    long text of an existing record) and 100 new records. Returns both ids."""
    from sqlalchemy import select

    from app.models.fields import kind_spec
    from app.models.orm import Record

    field_of = {"lesson_plan": "reflection", "training": "takeaways", "exchange": "observations"}
    with store.reading() as session:
        rows = session.execute(select(Record.id, Record.kind).order_by(Record.id)).all()
    step = max(1, len(rows) // 100)
    edited: list[str] = []
    for record_id, kind in rows[::step][:100]:
        name = field_of[kind]
        limit = kind_spec(kind).field(name).max_length or 10_000
        old = store.get(record_id).values[name] or ""
        store.update(record_id, {name: (old + " 课后与同组老师交流后，调整了小组活动的时间分配。")[:limit]})
        edited.append(record_id)
    created = store.create_many(list(generate_records(100, 4242)), author=AUTHOR)
    return edited, created


def loopback_runs(work: Path, template: Path, count: int, runs: int, snapshot: Path) -> dict[str, Any]:
    """Cases 1-4, ``runs`` times, each on a fresh server; also the floors."""
    out: dict[str, Any] = {"runs": []}
    secret = secrets.token_urlsafe(48)
    server_dir = work / "server-template"
    server_dir.mkdir()
    env = _env(f"sqlite:///{server_dir / 'server.db'}", server_dir, secret)
    server_cli(env, "create-user", USER, "--role", "fellow", "--display-name", AUTHOR, "--password-stdin",
               stdin=PASSWORD + "\n")

    for run in range(runs):
        print(f"  run {run + 1}/{runs}: push, pull, 100+100, no-op…", flush=True)
        folder = work / f"run-{run}"
        (folder / "server").mkdir(parents=True)
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(server_dir / "server.db") + suffix)
            if source.exists():
                shutil.copyfile(source, folder / "server" / source.name)
        run_env = _env(f"sqlite:///{folder / 'server' / 'server.db'}", folder / "server", secret)
        figures: dict[str, Any] = {}
        with Server(run_env, folder / "server.log") as server, LinkShaper(server.port) as link:
            a = Laptop(folder / "a", link).open(template)
            b = Laptop(folder / "b", link)
            try:
                # 1. Initial push.
                report, wall, stats = a.sync()
                assert report.pushed == count and not report.rejections, report.summary()
                figures["push"] = _figures(report, wall, stats)
                if run == 0:
                    snapshot_sqlite(folder / "server" / "server.db", snapshot)
                # 2. Initial pull into a fresh client, then its search entries.
                b.open()
                report, wall, stats = b.sync()
                figures["pull"] = _figures(report, wall, stats)
                assert sum(b.store.counts().values()) == count
                began = time.perf_counter()
                indexed = 0
                while batch := b.store.index_pending(500):
                    indexed += batch
                figures["index"] = {"records": indexed, "wall_s": time.perf_counter() - began}
                probe = "分数"
                hits = (len(a.store.search(probe, limit=100_000)), len(b.store.search(probe, limit=100_000)))
                assert hits[0] == hits[1], f"search differs after the pull: {hits}"
                figures["search_check"] = {"query": probe, "hits": hits[0]}
                # 3. 100 edits + 100 new records: A pushes, B pulls.
                edited, created = edit_hundred(a.store, count)
                report, wall, stats = a.sync()
                figures["small_push"] = _figures(report, wall, stats)
                report, wall, stats = b.sync()
                figures["small_pull"] = _figures(report, wall, stats)
                assert report.pulled == 200, report.summary()
                # 4. Nothing to do.
                report, wall, stats = b.sync()
                figures["noop"] = _figures(report, wall, stats)
                if run == 0:
                    out["floors"] = _floors(folder / "a", set(edited) | set(created), work)
            finally:
                a.close()
                b.close()
        out["runs"].append(figures)
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _figures(report: Any, wall: float, stats: LinkStats) -> dict[str, Any]:
    return {
        "wall_s": wall,
        "requests": stats.exchanges,
        "bytes_up": stats.bytes_up,
        "bytes_down": stats.bytes_down,
        "push_batches": report.push_batches,
        "pull_pages": report.pull_pages,
        "pushed": report.pushed,
        "pulled": report.pulled,
        # The client's own count, to compare with the socket's.
        "client_requests": report.requests,
        "client_bytes_up": report.bytes_sent,
        "client_bytes_down": report.bytes_received,
    }


def _floors(store_dir: Path, small_ids: set[str], work: Path) -> dict[str, Any]:
    """Case 3's floor: gzip -9 of its 200 records as ``fieldbook export
    --format json`` writes them (the export of the client store, cut down to
    those records)."""
    out_file = work / "export-case3.json"
    export_json(store_dir, out_file)
    small = [r for r in json.loads(out_file.read_bytes()) if r["id"] in small_ids]
    return {
        "small_records": len(small),
        "small_raw_bytes": len(export_text(small)),
        "small_gzip9_bytes": gzip9_size(export_text(small)),
    }


def full_floor(template: Path, work: Path) -> Floors:
    folder = work / "floor"
    folder.mkdir()
    shutil.copyfile(template, folder / "fieldbook.db")
    out_file = work / "export-full.json"
    export_json(folder, out_file)
    data = out_file.read_bytes()
    return Floors(full_bytes=gzip9_size(data), raw_bytes=len(data))


# --- case 5: the pull over a shaped link -------------------------------------------------


def shaped_runs(work: Path, snapshot: Path, count: int, runs: int) -> list[dict[str, Any]]:
    """The initial pull of the server after case 1's push, into a fresh client
    over the shaped link (the sign-in goes over it too, and is not timed)."""
    results = []
    secret = secrets.token_urlsafe(48)
    for run in range(runs):
        print(f"  shaped run {run + 1}/{runs} (about a minute)…", flush=True)
        folder = work / f"shaped-{run}"
        (folder / "server").mkdir(parents=True)
        shutil.copyfile(snapshot, folder / "server" / "server.db")
        env = _env(f"sqlite:///{folder / 'server' / 'server.db'}", folder / "server", secret)
        with Server(env, folder / "server.log") as server, \
                LinkShaper(server.port, rate_bits=SHAPED_RATE_BITS, rtt_s=SHAPED_RTT_S,
                           lifetime_s=1200) as link:
            c = Laptop(folder / "c", link)
            try:
                c.open()
                report, wall, stats = c.sync()
                assert report.pulled == count, report.summary()
                results.append(_figures(report, wall, stats))
            finally:
                c.close()
        shutil.rmtree(folder, ignore_errors=True)
    return results


# --- case 6: many clients at once, PostgreSQL ------------------------------------------------


@dataclass
class LoadClient:
    """A light replica driving the real HTTP API: a device of one user,
    pushing a few records and pulling what it may see."""

    base_url: str
    token: str
    device: str
    pool: Sequence[tuple[str, dict[str, Any]]]
    session: requests.Session = field(default_factory=requests.Session)
    seq: int = 0
    clock: int = 0
    cursor: int = 0
    scope: list[int] | None = None
    mine: list[tuple[str, str]] = field(default_factory=list)  # (id, kind)
    taken: int = 0

    def _post(self, path: str, payload: Any) -> Any:
        from app.protocol.sync import API_PREFIX, PROTOCOL_HEADER, PROTOCOL_VERSION, encode

        body, headers = encode(payload)
        headers.update({"Authorization": f"Bearer {self.token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION),
                        "Accept-Encoding": "gzip"})
        answer = self.session.post(self.base_url + API_PREFIX + path, data=body, headers=headers,
                                   timeout=(10, 120))
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {answer.status_code}: {answer.text[:200]}")
        return answer.json()

    def push(self, new: int, edits: int) -> None:
        import uuid

        from app.models.fields import kind_spec
        from app.models.validation import to_json

        changes = []
        for _ in range(new):
            kind, values = self.pool[self.taken % len(self.pool)]
            self.taken += 1
            spec = kind_spec(kind)
            record_id = str(uuid.uuid4())
            self.clock += 1
            self.seq += 1
            fields = {"status": "draft", **{k: to_json(spec.field(k), v) for k, v in values.items()}}
            changes.append({"seq": self.seq, "record_id": record_id, "kind": kind, "clock": self.clock,
                            "known": self.cursor, "fields": fields})
            self.mine.append((record_id, kind))
        for record_id, kind in self.mine[-edits - new:-new or None][:edits]:
            name = kind_spec(kind).title_field
            self.clock += 1
            self.seq += 1
            changes.append({"seq": self.seq, "record_id": record_id, "kind": kind, "clock": self.clock,
                            "known": self.cursor, "fields": {name: f"修订 {self.clock}"}})
        answer = self._post("/sync/push", {"protocol": 1, "device_id": self.device, "changes": changes})
        rejected = [r for r in answer["results"] if r["outcome"] == "rejected"]
        if rejected:
            raise RuntimeError(f"push rejected: {rejected[:2]}")

    def pull(self) -> int:
        received = 0
        resume = None
        while True:
            request: dict[str, Any] = {"protocol": 1, "cursor": self.cursor, "scope": self.scope,
                                       "device_id": self.device}
            if resume:
                request["resume"] = resume
            page = self._post("/sync/pull", request)
            received += len(page["records"])
            self.cursor, self.scope, resume = page["cursor"], page["scope"], page.get("resume")
            if not page["more"]:
                return received

    def sync(self, new: int = 3, edits: int = 2) -> None:
        # As the engine does at the start of a run: no pooled connection the
        # server may have closed meanwhile (its keep-alive is 5 s).
        self.session.close()
        self.push(new, edits)
        self.pull()


def load_test(work: Path, clients: int, rounds: int, secret: str) -> dict[str, Any]:
    """``clients`` light replicas syncing at once against PostgreSQL."""
    import psycopg
    from argon2 import PasswordHasher
    from sqlalchemy.orm import Session

    from app.server import admin, security
    from app.server.config import Settings
    from app.server.database import make_engine, run_migrations

    base = os.environ.get("FIELDBOOK_BENCH_PG", DEFAULT_PG)
    name = f"fieldbook_bench_{secrets.token_hex(4)}"
    admin_url = _libpq_url(base)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = base.rsplit("/", 1)[0] + "/" + name
    try:
        run_migrations(db_url)
        # Users straight into the database (cheap password hashes: sign-in
        # is not what is measured) and access tokens minted with the secret.
        previous = security.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        engine = make_engine(db_url)
        try:
            with Session(engine) as session:
                cohorts = max(1, clients // 10)
                for c in range(cohorts):
                    admin.create_cohort(session, f"班{c}")
                users: list[tuple[int, str]] = []
                for i in range(clients):
                    trainer = i % 10 == 0
                    user = admin.create_user(session, f"u{i}", PASSWORD, "trainer" if trainer else "fellow")
                    admin.assign(session, user.username, f"班{(i // 10) % cohorts}")
                    users.append((user.id, "trainer" if trainer else "fellow"))
                session.commit()
        finally:
            engine.dispose()
            security.set_password_hasher(previous)
        settings = Settings(database_url=db_url, secret=secret)
        tokens = [security.create_access_token(settings, uid) for uid, _role in users]
        env = _env(db_url, work / "pg-server", secret)
        (work / "pg-server").mkdir(exist_ok=True)
        pool = list(generate_records(500, 777))
        # Straight to the server (no counting proxy: bytes are not what this
        # case measures, and the proxy's threads would load the CPUs too).
        with Server(env, work / "pg-server.log") as server:
            assert server.process is not None
            pid = server.process.pid
            replicas = [LoadClient(server.url, tokens[i], f"load-{i}", pool) for i in range(clients)]
            print(f"  warm-up round ({clients} clients)…", flush=True)
            warm = _round(replicas)
            timed = []
            for r in range(rounds):
                print(f"  round {r + 1}/{rounds}…", flush=True)
                cpu = _process_cpu(pid)
                result = _round(replicas)
                result["server_cpu_ms_per_sync"] = (_process_cpu(pid) - cpu) * 1000 / max(1, result["syncs"])
                timed.append(result)
        return {"clients": clients, "trainers": sum(1 for _u, role in users if role == "trainer"),
                "warmup": warm, "rounds": timed, "database": "PostgreSQL (fresh database, dropped after)"}
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _round(replicas: Sequence[LoadClient]) -> dict[str, Any]:
    """Every replica syncs once, all released together; per-sync latency."""
    start = threading.Barrier(len(replicas) + 1)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(replica: LoadClient) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            replica.sync()
        except Exception as exc:  # counted, reported
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        with lock:
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=work, args=(r,), daemon=True) for r in replicas]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    deadline = began + 600
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    wall = time.perf_counter() - began
    unfinished = sum(t.is_alive() for t in threads)
    return {
        "wall_s": wall, "syncs": len(latencies), "errors": len(errors) + unfinished,
        "error_samples": errors[:5], "throughput": len(latencies) / wall if wall else 0.0,
        "p50_s": median(latencies), "p95_s": p95(latencies), "max_s": max(latencies, default=float("nan")),
    }


# --- report ------------------------------------------------------------------------------------


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MB"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


@dataclass
class Report:
    date: str
    count: int
    seed: int
    runs: int
    machine: dict[str, str]
    load_avg: tuple[float, float]
    floors: Floors
    loop: dict[str, Any]
    shaped: list[dict[str, Any]]
    load: dict[str, Any] | None
    build_s: float
    command: str

    def med(self, case: str, key: str) -> float:
        return median([run[case][key] for run in self.loop["runs"]])

    def rows(self) -> list[tuple[str, str, str, bool | None]]:
        floor = self.floors.full_bytes
        rows: list[tuple[str, str, str, bool | None]] = []
        push_wall, push_up = self.med("push", "wall_s"), self.med("push", "bytes_up")
        rows.append((
            f"1. Initial push, {self.count:,} records (loopback)",
            f"{push_wall:.2f} s, {self.med('push', 'requests'):.0f} requests "
            f"({self.med('push', 'push_batches'):.0f} push + {self.med('push', 'pull_pages'):.0f} pull), "
            f"up {_kb(push_up)} = {push_up / floor:.2f}× floor, down {_kb(self.med('push', 'bytes_down'))}",
            f"≤ {TARGET_INITIAL_S:.0f} s, ≤ {TARGET_FLOOR_RATIO}× floor",
            push_wall <= TARGET_INITIAL_S and push_up <= TARGET_FLOOR_RATIO * floor,
        ))
        pull_wall, pull_down = self.med("pull", "wall_s"), self.med("pull", "bytes_down")
        rows.append((
            f"2. Initial pull, {self.count:,} records into a fresh client (loopback)",
            f"{pull_wall:.2f} s, {self.med('pull', 'requests'):.0f} requests, down {_kb(pull_down)} = "
            f"{pull_down / floor:.2f}× floor, up {_kb(self.med('pull', 'bytes_up'))}",
            f"≤ {TARGET_INITIAL_S:.0f} s, ≤ {TARGET_FLOOR_RATIO}× floor",
            pull_wall <= TARGET_INITIAL_S and pull_down <= TARGET_FLOOR_RATIO * floor,
        ))
        index = median([run["index"]["wall_s"] for run in self.loop["runs"]])
        rows.append((
            "2b. … then search entries for the pulled records (Store.index_pending, background)",
            f"{index:.2f} s ({index / self.count * 1000:.2f} ms a record)", "—", None,
        ))
        small_floor = self.loop["floors"]["small_gzip9_bytes"]
        sp_req = self.med("small_push", "push_batches")
        sl_req = self.med("small_pull", "requests")
        rows.append((
            "3. 100 edits + 100 new records: pushed by A",
            f"{self.med('small_push', 'wall_s'):.2f} s, {sp_req:.0f} push request + "
            f"{self.med('small_push', 'pull_pages'):.0f} pull; "
            f"up {_kb(self.med('small_push', 'bytes_up'))} = "
            f"{self.med('small_push', 'bytes_up') / small_floor:.2f}× floor",
            "1 request each way", sp_req == 1,
        ))
        rows.append((
            "3. … pulled by B",
            f"{self.med('small_pull', 'wall_s'):.2f} s, {sl_req:.0f} request; down "
            f"{_kb(self.med('small_pull', 'bytes_down'))} = "
            f"{self.med('small_pull', 'bytes_down') / small_floor:.2f}× floor",
            "1 request each way", sl_req == 1,
        ))
        noop_bytes = self.med("noop", "bytes_up") + self.med("noop", "bytes_down")
        noop_req = self.med("noop", "requests")
        rows.append((
            "4. Sync with nothing to do",
            f"{self.med('noop', 'wall_s') * 1000:.0f} ms, {noop_req:.0f} request, "
            f"{noop_bytes:.0f} bytes ({self.med('noop', 'bytes_up'):.0f} up + "
            f"{self.med('noop', 'bytes_down'):.0f} down)",
            "1 request, < 1 KB", noop_req == 1 and noop_bytes < TARGET_NOOP_BYTES,
        ))
        if self.shaped:
            wall = median([r["wall_s"] for r in self.shaped])
            down = median([r["bytes_down"] for r in self.shaped])
            floor_s = floor * 8 / SHAPED_RATE_BITS + SHAPED_RTT_S
            rows.append((
                "5. Initial pull over 256 kbit/s each way, 300 ms round trip",
                f"{wall:.1f} s = {wall / floor_s:.2f}× floor ({floor_s:.1f} s); "
                f"{median([r['requests'] for r in self.shaped]):.0f} requests, down {_kb(down)}",
                f"≤ {TARGET_SHAPED_RATIO}× floor", wall <= TARGET_SHAPED_RATIO * floor_s,
            ))
        if self.load:
            rounds = self.load["rounds"]
            thr = median([r["throughput"] for r in rounds])
            q95 = median([r["p95_s"] for r in rounds])
            errs = sum(r["errors"] for r in rounds)
            rows.append((
                f"6. {self.load['clients']} clients syncing at once (push + pull each), PostgreSQL",
                f"{thr:.0f} syncs/s, p95 {q95:.2f} s (p50 {median([r['p50_s'] for r in rounds]):.2f} s), "
                f"{errs} errors in {len(rounds)} rounds",
                f"no errors, p95 < {TARGET_LOAD_P95_S:.0f} s", errs == 0 and q95 < TARGET_LOAD_P95_S,
            ))
        return rows

    def markdown(self, notes: str) -> str:
        m = self.machine
        floor = self.floors
        out = [
            "## Sync (issue 3)",
            "",
            f"Measured {self.date} with {self.count:,} generated records "
            f"(`generate_records({self.count}, {self.seed})`: ≈60 % lesson plans, 20 % training records, "
            "20 % exchange logs, mostly Chinese; all drafts).",
            "",
            f"- Machine: {m['cpu']}, {m['memory']} RAM, {m['os']}; shared with other work "
            f"(1-minute load average {self.load_avg[0]:.1f} before, {self.load_avg[1]:.1f} after)",
            f"- Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}; {m['versions']}",
            "- Server: `python -m app.server.cli serve` (one uvicorn process) on 127.0.0.1, SQLite for "
            "cases 1-5, a fresh PostgreSQL database for case 6; client and server share the 2 CPUs.",
            "- Client: the real `SyncEngine` on real stores (`index_search=False`: the search catch-up "
            "is timed on its own, row 2b).",
            "- Bytes and requests: counted at the sockets of a TCP proxy between client and server "
            "(`bench/shaper.py`; on loopback it only forwards): request lines, headers and gzip "
            "bodies, each way. The client's own `TrafficCounter` agrees within a few bytes a request.",
            f"- Floor: `gzip -9` of `fieldbook export --format json` of the same records, run on the "
            f"client store: {floor.raw_bytes / 1e6:.1f} MB → **{floor.full_bytes:,} bytes** for the "
            f"{self.count:,}; {self.loop['floors']['small_gzip9_bytes']:,} bytes for case 3's 200 records.",
            f"- Figures are medians of {self.runs} runs (each on a fresh server), "
            f"{len(self.shaped)} for the shaped link; the load test: median of "
            f"{len(self.load['rounds']) if self.load else 0} timed rounds after a warm-up round.",
            "",
            "Reproduce:",
            "",
            "```sh",
            "make bench                            # = python -m bench.run_all (client, then sync)",
            f"{self.command}",
            "```",
            "",
            "| Case | Figure (median) | Target | |",
            "|---|---|---|---|",
        ]
        out += [f"| {n} | {f} | {t} | {_verdict(ok)} |" for n, f, t, ok in self.rows()]
        out += ["", "### All runs", "", "| Run | Push s / req / up | Pull s / req / down | Index s | "
                "100+100 push req / pull req | No-op req / bytes |", "|---|---|---|---|---|---|"]
        for i, run in enumerate(self.loop["runs"], 1):
            push, pull = run["push"], run["pull"]
            out.append(
                f"| {i} | {push['wall_s']:.2f} / {push['requests']} / {_kb(push['bytes_up'])}"
                f" | {pull['wall_s']:.2f} / {pull['requests']} / {_kb(pull['bytes_down'])}"
                f" | {run['index']['wall_s']:.2f} | {run['small_push']['requests']} / "
                f"{run['small_pull']['requests']} | {run['noop']['requests']} / "
                f"{run['noop']['bytes_up'] + run['noop']['bytes_down']} |"
            )
        if self.shaped:
            out += ["", "Shaped pulls: " + ", ".join(
                f"{r['wall_s']:.1f} s ({r['requests']} requests, {_kb(r['bytes_down'])} down)"
                for r in self.shaped) + "."]
        if self.load:
            out += ["", f"Load test ({self.load['clients']} clients: {self.load['trainers']} trainers who "
                    "see their cohort's records, the others fellows; each sync pushes 3 new records and "
                    "2 edits in one request, then pulls): "]
            for i, r in enumerate(self.load["rounds"], 1):
                out.append(f"- round {i}: {r['syncs']} syncs in {r['wall_s']:.2f} s = "
                           f"{r['throughput']:.0f}/s, "
                           f"p50 {r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s, max {r['max_s']:.2f} s, "
                           f"server CPU {r.get('server_cpu_ms_per_sync', float('nan')):.0f} ms a sync, "
                           f"{r['errors']} errors" + (f" ({'; '.join(r['error_samples'])})"
                                                        if r["error_samples"] else ""))
        if notes.strip():
            out += ["", notes.strip()]
        return "\n".join(out) + "\n"


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the sync section of ``docs/benchmarks.md``; keep the rest."""
    write_section("sync", section, doc)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="sync-", dir=_scratch()) as tmp:
        yield Path(tmp)


def run(
    count: int = 10_000,
    seed: int = DEFAULT_SEED,
    runs: int = 3,
    shaped: int = 3,
    clients: int = 200,
    rounds: int = 3,
    *,
    write: bool = True,
    skip_shaped: bool = False,
    skip_load: bool = False,
    command: str = "python -m bench.bench_sync --runs 3",
    progress: Callable[[str], None] = print,
) -> Report:
    _quiet_logs()
    load_before = os.getloadavg()[0]
    with _workdir() as work:
        template = work / "client-template.db"
        progress(f"Client store: {count:,} generated records…")
        build_s = build_client_store(template, count, seed)
        floors = full_floor(template, work)
        progress(f"  built in {build_s:.0f} s; floor (gzip -9 of the export) {floors.full_bytes:,} bytes")
        snapshot = work / "server-after-push.db"
        progress(f"Cases 1-4 on loopback, {runs} runs…")
        loop = loopback_runs(work, template, count, runs, snapshot)
        shaped_results: list[dict[str, Any]] = []
        if not skip_shaped and shaped:
            progress(f"Case 5: the pull over 256 kbit/s, 300 ms, {shaped} runs…")
            shaped_results = shaped_runs(work, snapshot, count, shaped)
        load = None
        if not skip_load and clients:
            progress(f"Case 6: {clients} clients at once against PostgreSQL, {rounds} rounds…")
            load = load_test(work, clients, rounds, secrets.token_urlsafe(48))
    report = Report(
        date=dt.date.today().isoformat(), count=count, seed=seed, runs=runs, machine=machine(),
        load_avg=(load_before, os.getloadavg()[0]), floors=floors, loop=loop, shaped=shaped_results,
        load=load, build_s=build_s, command=command,
    )
    for name, figure, target, ok in report.rows():
        progress(f"{name:<86} {figure}  [{target}: {_verdict(ok).strip('*')}]")
    raw = DATA_DIR / f"sync-{report.date}.json"
    raw.write_text(json.dumps({"floors": floors.__dict__, "loop": loop, "shaped": shaped_results,
                               "load": load, "machine": report.machine}, indent=1, default=str), "utf-8")
    progress(f"Raw figures: {raw}")
    if write:
        notes = NOTES_FILE.read_text("utf-8") if NOTES_FILE.exists() else ""
        write_doc(report.markdown(notes))
        progress(f"Wrote the sync section of {DOC.relative_to(ROOT)}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sync benchmarks (see the module docstring).")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--runs", type=int, default=3, help="runs of cases 1-4 (median)")
    parser.add_argument("--shaped-runs", type=int, default=3, help="runs of case 5 (about a minute each)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of case 6")
    parser.add_argument("--skip-shaped", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    command = (f"python -m bench.bench_sync --count {args.count} --seed {args.seed} --runs {args.runs} "
               f"--shaped-runs {args.shaped_runs} --clients {args.clients} --rounds {args.rounds}")
    run(args.count, args.seed, args.runs, args.shaped_runs, args.clients, args.rounds,
        write=not args.no_write, skip_shaped=args.skip_shaped, skip_load=args.skip_load, command=command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
