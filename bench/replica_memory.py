"""Memory a replica really holds: RSS of a server started on N pairs, less an empty one's.

    .venv/bin/python -m bench.replica_memory [--pairs 10000000] [--posts 0]

Loads ``--pairs`` account rules (and ``--posts`` post rules) straight into a SQLite file, then on
CPU 1: an empty server (the baseline), a first start on the rules (no snapshot: it reads every
rule, then stores a snapshot one second after it is ready) and a restart (from that snapshot).
Each server's RSS is read from /proc once it has been ready for ``--settle`` seconds. Prints the
figures and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import bench_index
from bench._data import load_sqlite
from bench._servers import APP, Server

SEED = 20_240_601
CPU = 1


def _rss_bytes(server: Server) -> int:
    """The server's resident set (its one process: uvicorn without --workers)."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _measure(url: str, folder: Path, settle_s: float) -> tuple[float, int]:
    env = {"WITHHELD_DATABASE_URL": url, "WITHHELD_LOG_LEVEL": "WARNING"}
    server = Server(APP, cpu=CPU, env=env, log_dir=folder)
    try:
        ready = server.wait_ready(600)
        time.sleep(settle_s)
        return ready, _rss_bytes(server)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--posts", type=int, default=0)
    parser.add_argument("--settle", type=float, default=5.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="withheld-memory-") as name:
        folder = Path(name)
        empty = folder / "empty.db"
        load_sqlite(empty, np.empty(0, dtype=np.uint64), np.empty(0, dtype="<U2"))
        _, empty_rss = _measure(f"sqlite:///{empty}", folder, options.settle)
        database = folder / "rules.db"
        accounts = bench_index.make_workload(options.pairs, SEED)
        posts = None if not options.posts else _arrays(options.posts, SEED + 1)
        load_sqlite(database, accounts.accounts, accounts.countries, posts)
        del accounts
        url = f"sqlite:///{database}"
        first_s, first_rss = _measure(url, folder, options.settle)
        stored = sqlite3.connect(database).execute("SELECT count(*) FROM index_snapshot")
        snapshots = stored.fetchone()[0]
        again_s, again_rss = _measure(url, folder, options.settle)
    pairs = options.pairs + options.posts
    figures = {
        "pairs": pairs,
        "empty_rss_mb": round(empty_rss / 2**20, 1),
        "first_start_s": round(first_s, 2),
        "first_rss_mb": round(first_rss / 2**20, 1),
        "first_bytes_per_pair": round((first_rss - empty_rss) / pairs, 2),
        "snapshots_stored": snapshots,
        "restart_s": round(again_s, 2),
        "restart_rss_mb": round(again_rss / 2**20, 1),
        "restart_bytes_per_pair": round((again_rss - empty_rss) / pairs, 2),
        "target_bytes_per_pair": 12,
    }
    print(f"replica RSS at {pairs:,} pairs (server on CPU {CPU}, {options.settle:g} s after ready)")
    print(f"  empty server          {figures['empty_rss_mb']:>8} MB")
    print(
        f"  first start ({first_s:.1f} s)  {figures['first_rss_mb']:>8} MB  "
        f"{figures['first_bytes_per_pair']} B/pair"
    )
    print(
        f"  restart ({again_s:.1f} s)      {figures['restart_rss_mb']:>8} MB  "
        f"{figures['restart_bytes_per_pair']} B/pair   (target ≤ 12 B/pair)"
    )
    print(json.dumps(figures))


def _arrays(count: int, seed: int) -> tuple[bench_index.U64, np.ndarray]:
    work = bench_index.make_workload(count, seed)
    return work.accounts, work.countries


if __name__ == "__main__":
    main()
