"""Snapshot stall: how long does the event loop stop while a replica takes its index snapshot?

Builds the index of the suite's workload (plus ``--delta`` new accounts in its write delta), then,
while a ticker coroutine records the longest gap between its 1 ms wake-ups: once the whole
encoding on the event loop (the baseline: ``Indexes.to_bytes``, what a server did before
``snapshot_later``), once the way the service takes it (the copies on the loop, the encoding in a
worker thread). The process is tuned as a server is (``app.process.tune_for_serving``). Pin it to
one core to match a pinned server.

Then the snapshot is stored, ``--stores`` times each way, alternating: into a throw-away SQLite
file bound as one value (the baseline) and in pieces (``snapshot_store.save``); into a throw-away
PostgreSQL database (if one answers at 127.0.0.1:5432) from a worker thread here (the baseline)
and by the write process.

    taskset -c 1 .venv/bin/python -m bench.snapshot_stall --pairs 10000000
    .venv/bin/python -m bench.snapshot_stall --pairs 10000000  # both cores: the child has one
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert as insert_statement

from app.db import Database
from app.index import VisibilityIndex
from app.migrate import upgrade_to_head
from app.models import IndexSnapshot
from app.process import tune_for_serving
from app.replication import snapshot_store
from app.replication.indexes import Indexes
from app.write_process import WriteProcess
from bench import bench_index
from bench._data import postgres_version, throwaway_postgres
from bench._ticker import loop_gaps

SEED = 20_240_601


async def _measure(indexes: Indexes, stores: int) -> dict[str, dict[str, float]]:
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
        **await _store(memoryview(whole), stores),
    }


async def _store(data: memoryview, stores: int) -> dict[str, dict[str, float]]:
    """The longest loop gap while ``data`` is stored, the median of ``stores`` each, alternating:
    SQLite bound as one value (the baseline) and in pieces (the service); PostgreSQL from a
    thread here (the baseline) and by the write process (the service)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="withheld-snapshot-stall-") as folder:
        ways = {
            "sqlite_one_value": _one_value,
            "sqlite_in_pieces": snapshot_store.save,
        }
        url = f"sqlite:///{Path(folder) / 'store.db'}"
        rows |= await _alternate(url, ways, data, stores, child=False)
    if postgres_version() == "unreachable":
        return _medians(rows)
    with throwaway_postgres() as url:
        ways = {"postgresql_thread": snapshot_store.save, "postgresql_child": snapshot_store.save}
        rows |= await _alternate(url, ways, data, stores, child=True)
    return _medians(rows)


Way = Callable[..., Awaitable[bool]]


async def _one_value(
    writer: WriteProcess, data: memoryview, *, revision: int, pairs: int, now: datetime
) -> bool:
    """The SQLite store before pieces: the snapshot bound as one value, from a thread."""

    def insert() -> None:
        with writer.db.writing_once() as session:
            session.execute(
                insert_statement(IndexSnapshot),
                {"revision": revision, "pairs": pairs, "data": data, "created_at": now},
            )

    await asyncio.to_thread(insert)
    return True


async def _alternate(
    url: str, ways: Mapping[str, Way], data: memoryview, stores: int, *, child: bool
) -> dict[str, list[tuple[float, float]]]:
    db = Database.from_url(url, timeout_s=30)
    await asyncio.to_thread(upgrade_to_head, db.engine)
    names = list(ways)
    # The second way of a pair runs through a write process when ``child``.
    writers = [WriteProcess(db, enabled=False, timeout_s=30)] * 2
    if child:
        writers[1] = WriteProcess(db, enabled=True, timeout_s=30)
        writers[1].start_soon()
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    try:
        for revision in range(1, 2 * stores + 1):
            which = (revision - 1) % 2
            async with loop_gaps() as gaps:
                started = time.perf_counter()
                await ways[names[which]](
                    writers[which], data, revision=revision, pairs=0, now=datetime.now(UTC)
                )
                took_ms = (time.perf_counter() - started) * 1000
            rows[names[which]].append((took_ms, gaps.longest_ms))
    finally:
        await writers[1].close()
        db.dispose()
    return rows


def _medians(rows: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "snapshot_ms": float(np.median([took for took, _ in runs])),
            "longest_gap_ms": float(np.median([gap for _, gap in runs])),
        }
        for name, runs in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--delta", type=int, default=100_000, help="new accounts in the delta")
    parser.add_argument("--stores", type=int, default=3, help="stores of each kind")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    work = bench_index.make_workload(args.pairs, SEED)
    index = VisibilityIndex.from_arrays(work.accounts, work.countries)
    del work
    for account in np.random.default_rng(SEED + 1).integers(1, 2**62, args.delta).tolist():
        index.add(account, "IN")
    tune_for_serving()
    figures = asyncio.run(_measure(Indexes(accounts=index), args.stores))
    if args.json:
        print(json.dumps({"pairs": args.pairs, "delta": args.delta, **figures}))
        return
    size = figures["megabytes"]["bytes"]
    print(f"{args.pairs:,} pairs, {args.delta:,} in the delta, a snapshot of {size:.0f} MB")
    print(f"{'snapshot':<32}{'takes ms':>10}{'longest event-loop gap ms':>28}")
    rows = (
        ("encoded on the event loop (base)", "on_loop"),
        ("copies here, encoded aside", "worker_thread"),
        ("SQLite, one value (base)", "sqlite_one_value"),
        ("SQLite, in pieces", "sqlite_in_pieces"),
        ("PostgreSQL, thread here (base)", "postgresql_thread"),
        ("PostgreSQL, write process", "postgresql_child"),
    )
    for label, key in rows:
        if key not in figures:
            print(f"{label:<32}{'PostgreSQL unreachable: not measured':>38}")
            continue
        row = figures[key]
        print(f"{label:<32}{row['snapshot_ms']:>10.0f}{row['longest_gap_ms']:>28.1f}")


if __name__ == "__main__":
    main()
