"""Snapshot stall: how long does the event loop stop while a replica takes its index snapshot?

Builds the index of the suite's workload (plus ``--delta`` new accounts in its write delta), then,
while a ticker coroutine records the longest gap between its 1 ms wake-ups: once the whole
encoding on the event loop (the baseline: ``Indexes.to_bytes``, what a server did before
``snapshot_later``), once the way the service takes it (the copies on the loop, the encoding in a
worker thread). The process is tuned as a server is (``app.process.tune_for_serving``). Pin it to
one core to match a pinned server.

    taskset -c 1 .venv/bin/python -m bench.snapshot_stall --pairs 10000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import numpy as np

from app.index import VisibilityIndex
from app.process import tune_for_serving
from app.replication.indexes import Indexes
from bench import bench_index
from bench._ticker import loop_gaps

SEED = 20_240_601


async def _measure(indexes: Indexes) -> dict[str, dict[str, float]]:
    async with loop_gaps() as on_loop:
        started = time.perf_counter()
        whole = indexes.to_bytes()
        on_loop_ms = (time.perf_counter() - started) * 1000
    async with loop_gaps() as aside:
        started = time.perf_counter()
        encode = indexes.snapshot_later()
        copies_ms = (time.perf_counter() - started) * 1000
        data = await asyncio.to_thread(encode)
        aside_ms = (time.perf_counter() - started) * 1000
    if bytes(data) != whole:
        raise RuntimeError("the two snapshots differ")
    return {
        "on_loop": {"snapshot_ms": on_loop_ms, "longest_gap_ms": on_loop.longest_ms},
        "worker_thread": {
            "snapshot_ms": aside_ms,
            "copies_on_loop_ms": copies_ms,
            "longest_gap_ms": aside.longest_ms,
        },
        "megabytes": {"bytes": len(whole) / 2**20},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--delta", type=int, default=100_000, help="new accounts in the delta")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    work = bench_index.make_workload(args.pairs, SEED)
    index = VisibilityIndex.from_arrays(work.accounts, work.countries)
    del work
    for account in np.random.default_rng(SEED + 1).integers(1, 2**62, args.delta).tolist():
        index.add(account, "IN")
    tune_for_serving()
    figures = asyncio.run(_measure(Indexes(accounts=index)))
    if args.json:
        print(json.dumps({"pairs": args.pairs, "delta": args.delta, **figures}))
        return
    size = figures["megabytes"]["bytes"]
    print(f"{args.pairs:,} pairs, {args.delta:,} in the delta, a snapshot of {size:.0f} MB")
    print(f"{'snapshot':<32}{'takes ms':>10}{'longest event-loop gap ms':>28}")
    rows = (
        ("encoded on the event loop (base)", "on_loop"),
        ("copies here, encoded aside", "worker_thread"),
    )
    for label, key in rows:
        row = figures[key]
        print(f"{label:<32}{row['snapshot_ms']:>10.0f}{row['longest_gap_ms']:>28.1f}")


if __name__ == "__main__":
    main()
