"""Compaction stall: how long does the event loop stop while the index folds its write delta in?

Builds the index of the suite's workload, lets the replica apply new accounts until the delta is
ten short of its limit, then applies the ten that trip a compaction while a ticker coroutine
(1 ms sleeps) records the longest gap between its wake-ups. Once with the compaction on the event
loop (the baseline: what ``VisibilityIndex.compact`` alone costs a server), once in the worker
thread the service uses, in the same process. Pin it to one core to match a pinned server.

    taskset -c 1 .venv/bin/python -m bench.compaction_stall --pairs 10000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import numpy as np

from app.domain import Change, ChangeOp
from app.index import VisibilityIndex
from app.replication.replica import Replica
from bench import bench_index
from bench._ticker import loop_gaps

SEED = 20_240_601


def _withholds(first_revision: int, accounts: list[int]) -> list[Change]:
    return [
        Change(revision=first_revision + i, op=ChangeOp.WITHHOLD, account=account, country="IN")
        for i, account in enumerate(accounts)
    ]


async def _measure(work: bench_index.Workload, *, on_loop: bool) -> dict[str, float]:
    replica = Replica()
    index = VisibilityIndex.from_arrays(work.accounts, work.countries)
    replica.load(index, 0)
    index.defer_compaction = not on_loop
    limit = index._delta_limit()
    new = np.random.default_rng(SEED + 1).integers(1, 2**62, limit + 10, dtype=np.uint64).tolist()
    replica.apply(_withholds(1, new[:-10]))  # the delta ten short of its limit
    async with loop_gaps() as gaps:
        started = time.perf_counter()
        replica.apply(_withholds(len(new) - 9, new[-10:]))
        await replica.settle()
        took = time.perf_counter() - started
    if index._ordinals.delta_size >= limit:
        raise RuntimeError("no compaction happened")
    return {"delta": limit, "compaction_ms": took * 1000, "longest_gap_ms": gaps.longest_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    work = bench_index.make_workload(args.pairs, SEED)
    on_loop = asyncio.run(_measure(work, on_loop=True))
    aside = asyncio.run(_measure(work, on_loop=False))
    if args.json:
        print(json.dumps({"pairs": args.pairs, "on_loop": on_loop, "worker_thread": aside}))
        return
    print(f"{args.pairs:,} pairs, a write delta of {aside['delta']:,.0f} new accounts")
    print(f"{'compaction':<28}{'takes ms':>10}{'longest event-loop gap ms':>28}")
    for label, figures in (("on the event loop (base)", on_loop), ("in a worker thread", aside)):
        print(f"{label:<28}{figures['compaction_ms']:>10.0f}{figures['longest_gap_ms']:>28.1f}")


if __name__ == "__main__":
    main()
