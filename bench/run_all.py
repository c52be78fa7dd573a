"""Every benchmark, as ``make bench`` runs it: ``python -m bench.run_all``.

Builds (or reuses) the generated store, then runs the client benchmark,
the sync benchmark (``bench_sync``: 10,000 records, a real server) and the
attachments benchmark (``bench_attachments``: a 20 MB file up and down over
256 kbit/s, 300 ms round trip, the connection cut every 2 MB; about 23
minutes a run), each of which rewrites its own section of
``docs/benchmarks.md``. ``--skip-sync`` / ``--skip-attachments`` leave one out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from bench import bench_attachments, bench_client, bench_sync
from bench.generate import DEFAULT_SEED, build_store, default_path, is_cached


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run all Fieldbook benchmarks.")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--wait-quiet", type=float, default=180, metavar="SECONDS",
                        help="wait up to SECONDS for a quiet machine before measuring (default 180)")
    parser.add_argument("--sync-runs", type=int, default=3, help="runs of each sync case (median)")
    parser.add_argument("--skip-sync", action="store_true", help="leave out the sync benchmark")
    parser.add_argument("--attachments-runs", type=int, default=1,
                        help="runs of the attachments benchmark (median; about 23 minutes each)")
    parser.add_argument("--skip-attachments", action="store_true",
                        help="leave out the attachments benchmark")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    path = default_path(args.count, args.seed)
    if is_cached(path, args.count, args.seed):
        print(f"Store: reusing {path}")
    else:
        print(f"Store: generating {args.count:,} records into {path} (about 2 min for 50,000)…")
        began = time.perf_counter()
        build_store(path, args.count, args.seed)
        print(f"  done in {time.perf_counter() - began:.0f} s")
    bench_client.run(
        args.count, args.seed, args.runs, path, write=not args.no_write, wait_quiet=args.wait_quiet
    )
    if not args.skip_sync:
        print("\nSync benchmark (10,000 records; about 10 minutes)…")
        bench_sync.run(runs=args.sync_runs, shaped=args.sync_runs, write=not args.no_write,
                       command=f"python -m bench.bench_sync --runs {args.sync_runs} "
                               f"--shaped-runs {args.sync_runs}   # the sync section alone")
    if not args.skip_attachments:
        runs = args.attachments_runs
        print(f"\nAttachments benchmark (a 20 MB file up and down over a slow link that drops; "
              f"about {23 * runs} minutes)…")
        bench_attachments.run(runs=runs, write=not args.no_write,
                              command=f"python -m bench.bench_attachments --size-mb 20 --runs {runs}"
                                      "   # the attachments section alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
