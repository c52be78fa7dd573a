"""Attachments over a weak link that drops: a real server, a real store, bytes counted at the socket.

    python -m bench.bench_attachments [--size-mb 20] [--runs 3] [--no-write]

What it measures, ``--runs`` times (figures are medians; each run on a fresh
server and fresh client stores):

1. the **upload** of one ``--size-mb`` MB file (MB = 1,048,576 bytes) by
   ``BlobTransfer.upload_pending`` from the store it was attached to;
2. its **download** by ``BlobTransfer.download`` into a second store that
   pulled the record using it; the downloaded file's SHA-256 must be the
   original's, or the run fails.

Both go over one link (``bench/shaper.py``'s ``LinkShaper``, a TCP proxy on
loopback): 256 kbit/s each way, 150 ms each way (a 300 ms round trip, which
a new connection pays once more for its handshake), and, during each
transfer, a TCP reset of the connection each time another 2 MB have crossed
the link in the transfer's direction (upstream for the upload, downstream
for the download; every byte on the wire counts, headers included). Bytes
still queued on the link at a cut are lost, as on a link that went down.

The file is 20 MB of random bytes (nothing to compress) behind a JPEG
header, so both the client's and the server's type sniffing take it as a
photo; it is attached with ``app.models.attachments.attach`` (the store's
own attach: no downscaling, that is the UI's). The record that uses it is
synced (``SyncEngine``) over the same link before the upload, and pulled by
the second store before the download; neither is timed, and no cuts happen
then.

Measured at the proxy for each transfer: wall time, bytes on the wire each
way (request lines, headers, bodies), requests (request/answer turns),
connections opened and cuts. The floor of a transfer is the file's size at
the link's rate (32,000 bytes a second) plus one round trip; the target
(issue: "within 1.3x of the floor") is judged on both the time and the bytes
sent in the transfer's direction (against the file's size).

The server is ``python -m app.server.cli serve`` on SQLite, started as in
``bench/bench_sync.py`` (whose helpers this reuses). Writes the attachments
section of ``docs/benchmarks.md`` (between ``<!-- bench:attachments:start -->``
and ``<!-- bench:attachments:end -->``; appended when absent) and the raw
figures to ``bench/.data/attachments-DATE.json``. Not a test: nothing here
asserts a time. A full run (20 MB, 3 runs) takes about 70 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_sync import (
    AUTHOR,
    PASSWORD,
    SHAPED_RATE_BITS,
    SHAPED_RTT_S,
    USER,
    Laptop,
    Server,
    _env,
    _kb,
    _quiet_logs,
    _scratch,
    _verdict,
    machine,
    median,
    server_cli,
)
from bench.doc import DOC, write_section
from bench.generate import DATA_DIR, DEFAULT_SEED, generate_records
from bench.shaper import LinkShaper, LinkStats

ROOT = Path(__file__).resolve().parent.parent

MB = 1024 * 1024
DEFAULT_SIZE_MB = 20
CUT_EVERY_MB = 2
TARGET_RATIO = 1.3
# A JPEG's start (SOI, then a JFIF APP0 segment): enough for matches_type,
# which looks at the first bytes only.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@dataclass(frozen=True)
class Link:
    """The shaped link of the benchmark."""

    rate_bits: float = SHAPED_RATE_BITS  # each way
    rtt_s: float = SHAPED_RTT_S
    cut_every: int = CUT_EVERY_MB * MB  # bytes in the transfer's direction between cuts

    @property
    def rate_bytes(self) -> float:
        return self.rate_bits / 8

    def floor_s(self, size: int) -> float:
        return size / self.rate_bytes + self.rtt_s

    def describe(self) -> str:
        return (f"{self.rate_bits / 1000:g} kbit/s each way, {self.rtt_s * 1000:.0f} ms round trip, "
                f"cut every {self.cut_every / MB:g} MB")


def make_payload(path: Path, size: int) -> str:
    """``size`` bytes: a JPEG header, then random bytes. Returns the SHA-256."""
    digest = hashlib.sha256()
    left = size
    with path.open("wb") as out:
        head = JPEG_HEAD[:size]
        out.write(head)
        digest.update(head)
        left -= len(head)
        while left > 0:
            chunk = os.urandom(min(left, MB))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


class _Progress:
    """A line every 10 % of a transfer (they take minutes on this link)."""

    def __init__(self, what: str, out: Callable[[str], None]) -> None:
        self.what = what
        self.out = out
        self.began = time.perf_counter()
        self.shown = 0

    def __call__(self, done: int, total: int, _sha: str) -> None:
        if total <= 0:
            return
        tenth = min(10, done * 10 // total)
        if tenth > self.shown:
            self.shown = tenth
            self.out(f"    {self.what}: {tenth * 10:3d} % after {time.perf_counter() - self.began:5.0f} s")


def _transfer_figures(wall: float, stats: LinkStats, size: int, link: Link, direction: str) -> dict[str, Any]:
    floor = link.floor_s(size)
    payload = stats.bytes_up if direction == "up" else stats.bytes_down
    return {
        "wall_s": wall,
        "floor_s": floor,
        "time_ratio": wall / floor,
        "bytes_up": stats.bytes_up,
        "bytes_down": stats.bytes_down,
        "bytes_ratio": payload / size,  # the transfer's direction, against the file's size
        "requests": stats.exchanges,
        "connections": stats.connections,
        "cuts": stats.cuts,
    }


def one_run(work: Path, server_template: Path, secret: str, run: int, payload: Path, sha: str, size: int,
            link: Link, seed: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Upload from store A, download into store B, on a fresh server."""
    from app.models import attachments
    from app.sync.blobs import BlobTransfer

    folder = work / f"run-{run}"
    (folder / "server").mkdir(parents=True)
    for source in server_template.parent.iterdir():
        if source.name.startswith(server_template.name):
            shutil.copyfile(source, folder / "server" / source.name)
    env = _env(f"sqlite:///{folder / 'server' / server_template.name}", folder / "server", secret)
    # Long enough for both transfers at a third of the link's rate.
    lifetime = 600 + 6 * link.floor_s(size)
    figures: dict[str, Any] = {}
    with Server(env, folder / "server.log") as server, \
            LinkShaper(server.port, rate_bits=link.rate_bits, rtt_s=link.rtt_s, connect_rtt=True,
                       lifetime_s=lifetime) as shaper:
        a = Laptop(folder / "a", shaper)
        b = Laptop(folder / "b", shaper)
        try:
            # The record and its attachment, on A; the record goes to the server.
            a.open()
            kind, values = next(iter(generate_records(1, seed)))
            record = a.store.create(kind, values, author=AUTHOR)
            ref = attachments.attach(a.store, record.id, payload, name="课堂照片.jpg")
            if ref["sha256"] != sha or ref["size"] != size or ref["type"] != "image/jpeg":
                raise RuntimeError(f"attach gave {ref}, expected sha {sha[:12]}, {size} bytes, image/jpeg")
            report, _wall, _stats = a.sync()
            if not report.pushed or report.rejections:
                raise RuntimeError(f"the record did not reach the server: {report.summary()}")

            # 1. Upload, cut every N bytes upstream.
            progress(f"  run {run + 1}: upload of {size / MB:g} MB…")
            shaper.cut_every(up=link.cut_every)
            before, began = shaper.stats(), time.perf_counter()
            up = BlobTransfer(a.store, a.client).upload_pending(_Progress("upload", progress))
            wall, stats = time.perf_counter() - began, shaper.stats() - before
            shaper.cut_every()
            info = attachments.blob_info(a.store, sha)
            if up.uploaded != 1 or up.refused or info is None or info.state != attachments.BlobState.UPLOADED:
                raise RuntimeError(f"the upload did not finish: {up.summary()}, state "
                                   f"{info.state if info else None}")
            figures["upload"] = _transfer_figures(wall, stats, size, link, "up")
            figures["upload"]["client_bytes_sent"] = up.bytes_sent

            # 2. Download into B, cut every N bytes downstream.
            b.open()
            report, _wall, _stats = b.sync()
            if report.pulled != 1:
                raise RuntimeError(f"B did not pull the record: {report.summary()}")
            attachments.track_remote(b.store)
            progress(f"  run {run + 1}: download of {size / MB:g} MB…")
            shaper.cut_every(down=link.cut_every)
            before, began = shaper.stats(), time.perf_counter()
            path = BlobTransfer(b.store, b.client).download(sha, _Progress("download", progress))
            wall, stats = time.perf_counter() - began, shaper.stats() - before
            shaper.cut_every()
            got = sha256_of(path)
            if got != sha or path.stat().st_size != size:
                raise RuntimeError(f"the downloaded file differs: sha {got[:12]}…, "
                                   f"{path.stat().st_size} bytes")
            figures["download"] = _transfer_figures(wall, stats, size, link, "down")
            figures["download"]["sha256_ok"] = True
        finally:
            a.close()
            b.close()
    shutil.rmtree(folder, ignore_errors=True)
    for case in ("upload", "download"):
        f = figures[case]
        progress(f"  run {run + 1}: {case} {f['wall_s']:.1f} s = {f['time_ratio']:.2f}× floor "
                 f"({f['floor_s']:.1f} s); up {_kb(f['bytes_up'])}, down {_kb(f['bytes_down'])} "
                 f"({f['bytes_ratio']:.3f}× size); {f['requests']} requests, {f['connections']} connections, "
                 f"{f['cuts']} cuts" + (", SHA-256 verified" if f.get("sha256_ok") else ""))
    return figures


# --- report --------------------------------------------------------------------------


@dataclass
class Report:
    date: str
    size: int
    link: Link
    runs: list[dict[str, Any]]
    machine: dict[str, str]
    load_avg: tuple[float, float]
    command: str

    def med(self, case: str, key: str) -> float:
        return median([run[case][key] for run in self.runs])

    def rows(self) -> list[tuple[str, str, str, bool]]:
        rows = []
        for case, way, label in (("upload", "up", "Upload"), ("download", "down", "Download")):
            wall, floor = self.med(case, "wall_s"), self.med(case, "floor_s")
            sent = self.med(case, f"bytes_{way}")
            other = self.med(case, "bytes_down" if way == "up" else "bytes_up")
            ok = wall <= TARGET_RATIO * floor and sent <= TARGET_RATIO * self.size
            rows.append((
                f"{label} of a {self.size / MB:g} MB file ({self.link.describe()} {way}stream)",
                f"{wall:.1f} s = {wall / floor:.2f}× floor ({floor:.1f} s); {way} {_kb(sent)} = "
                f"{sent / self.size:.3f}× size, {'down' if way == 'up' else 'up'} {_kb(other)}; "
                f"{self.med(case, 'requests'):.0f} requests, {self.med(case, 'connections'):.0f} "
                f"connections, {self.med(case, 'cuts'):.0f} cuts",
                f"≤ {TARGET_RATIO}× floor (time and bytes)",
                ok,
            ))
        return rows

    def markdown(self) -> str:
        m = self.machine
        link = self.link
        out = [
            "## Attachments over a weak link",
            "",
            f"Measured {self.date}: one {self.size / MB:g} MB file ({self.size:,} bytes: random bytes behind "
            "a JPEG header, attached with `attachments.attach`, no downscaling) uploaded by "
            "`BlobTransfer.upload_pending` and downloaded into a second store by `BlobTransfer.download`.",
            "",
            f"- Machine: {m['cpu']}, {m['memory']} RAM, {m['os']}; shared with other work "
            f"(1-minute load average {self.load_avg[0]:.1f} before, {self.load_avg[1]:.1f} after)",
            f"- Python {m['python']}, SQLite {m['sqlite']}; {m['versions']}",
            "- Server: `python -m app.server.cli serve` (one uvicorn process) on 127.0.0.1, SQLite, a fresh "
            "one for each run; the client is the real `BlobTransfer` on real stores (the record using the "
            "file is synced before the upload and pulled before the download, not timed).",
            f"- Link: `bench/shaper.py` (`LinkShaper`), one proxy for everything: {link.rate_bits / 1000:g} "
            f"kbit/s each way, {link.rtt_s / 2 * 1000:.0f} ms each way ({link.rtt_s * 1000:.0f} ms round "
            "trip, paid once more by each new connection for its handshake); during each transfer the "
            f"connection is reset each time another {link.cut_every / MB:g} MB ({link.cut_every:,} bytes) "
            "have crossed the link in the transfer's direction; what was still queued on the link is lost.",
            "- Bytes, requests, connections and cuts: counted at the proxy's sockets (request lines, "
            "headers, bodies), each way.",
            f"- Floor: the file's size at {link.rate_bytes:,.0f} bytes/s plus one round trip "
            f"= {link.floor_s(self.size):.1f} s; for bytes, the file's size. The download's SHA-256 was "
            "checked against the original's in every run.",
            f"- Figures are medians of {len(self.runs)} run(s).",
            "",
            "Reproduce:",
            "",
            "```sh",
            "make bench                            # = python -m bench.run_all (client, sync, attachments)",
            f"{self.command}",
            "```",
            "",
            "| Case | Figure (median) | Target | |",
            "|---|---|---|---|",
        ]
        out += [f"| {n} | {f} | {t} | {_verdict(ok)} |" for n, f, t, ok in self.rows()]
        out += ["", "### All runs", "",
                "| Run | Upload s (× floor) / up / down / requests / connections / cuts "
                "| Download s (× floor) / down / up / requests / connections / cuts | SHA-256 |",
                "|---|---|---|---|"]
        for i, run in enumerate(self.runs, 1):
            u, d = run["upload"], run["download"]
            out.append(
                f"| {i} | {u['wall_s']:.1f} ({u['time_ratio']:.2f}×) / {_kb(u['bytes_up'])} / "
                f"{_kb(u['bytes_down'])} / {u['requests']} / {u['connections']} / {u['cuts']}"
                f" | {d['wall_s']:.1f} ({d['time_ratio']:.2f}×) / {_kb(d['bytes_down'])} / "
                f"{_kb(d['bytes_up'])} / {d['requests']} / {d['connections']} / {d['cuts']}"
                f" | {'verified' if d.get('sha256_ok') else '**differs**'} |"
            )
        return "\n".join(out) + "\n"


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the attachments section of ``docs/benchmarks.md``; keep the rest."""
    write_section("attachments", section, doc)


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="attachments-", dir=_scratch()) as tmp:
        yield Path(tmp)


def run(
    size_mb: float = DEFAULT_SIZE_MB,
    runs: int = 3,
    *,
    link: Link | None = None,
    seed: int = DEFAULT_SEED,
    write: bool = True,
    command: str = "python -m bench.bench_attachments --size-mb 20 --runs 3",
    progress: Callable[[str], None] = print,
) -> Report:
    _quiet_logs()
    link = link or Link()
    size = int(size_mb * MB)
    load_before = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    with _workdir() as work:
        payload = work / "photo.jpg"
        sha = make_payload(payload, size)
        progress(f"Payload: {size:,} bytes (JPEG header + random), SHA-256 {sha[:16]}…; link: "
                 f"{link.describe()}; floor {link.floor_s(size):.1f} s each way")
        secret = secrets.token_urlsafe(48)
        server_dir = work / "server-template"
        server_dir.mkdir()
        env = _env(f"sqlite:///{server_dir / 'server.db'}", server_dir, secret)
        server_cli(env, "create-user", USER, "--role", "fellow", "--display-name", AUTHOR, "--password-stdin",
                   stdin=PASSWORD + "\n")
        for i in range(runs):
            progress(f"Run {i + 1}/{runs} (about {2 * link.floor_s(size) / 60:.0f} minutes)…")
            results.append(one_run(work, server_dir / "server.db", secret, i, payload, sha, size, link, seed,
                                   progress))
    report = Report(date=dt.date.today().isoformat(), size=size, link=link, runs=results, machine=machine(),
                    load_avg=(load_before, os.getloadavg()[0]), command=command)
    for name, figure, target, ok in report.rows():
        progress(f"{name}\n    {figure}  [{target}: {_verdict(ok).strip('*')}]")
    raw = DATA_DIR / f"attachments-{report.date}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"size": size, "link": link.__dict__, "runs": results,
                               "machine": report.machine}, indent=1), "utf-8")
    progress(f"Raw figures: {raw}")
    if write:
        write_doc(report.markdown())
        progress(f"Wrote the attachments section of {DOC.relative_to(ROOT)}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Attachment transfer benchmark (see the module docstring).")
    parser.add_argument("--size-mb", type=float, default=DEFAULT_SIZE_MB,
                        help="the file's size in MB of 1,048,576 bytes (default 20)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs (median); each takes twice the floor, 23 minutes for 20 MB")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="of the record the file is attached to")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.size_mb <= 0 or args.runs < 1:
        parser.error("--size-mb must be positive and --runs at least 1")
    command = f"python -m bench.bench_attachments --size-mb {args.size_mb:g} --runs {args.runs}"
    run(args.size_mb, args.runs, seed=args.seed, write=not args.no_write, command=command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
