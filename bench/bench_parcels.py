"""Sync parcels: the size of an outgoing parcel of 500 changed records
against the gzip floor of those records, and the time to seal and open it.

    .venv/bin/python -m bench.bench_parcels [--records 500] [--runs 5] [--no-write]

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
from app.sync import replica
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
    ])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    figures = measure(args.records, args.runs)
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
