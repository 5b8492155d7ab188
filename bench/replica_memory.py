"""Memory a replica really holds: RSS of a server started on N pairs, less an empty one's.

    .venv/bin/python -m bench.replica_memory [--pairs 10000000] [--posts 0] [--no-churn]

Loads ``--pairs`` account rules (and ``--posts`` post rules) straight into a SQLite file, then on
CPU 1: an empty server (the baseline), a first start on the rules (no snapshot: it reads every
rule, then stores a snapshot one second after it is ready) and a restart (from that snapshot).

Then churn as large as the rule set: a server follows, batch after batch, half that many lifts
of its oldest rules and as many withholds of new accounts, written to the database by another
writer (as a replica sees another replica's writes); its ordinal delta compacts on the way. Its
RSS is compared with a fresh start (snapshots deleted) on the rules that result, and with
that start's restart from its snapshot.

Each server's RSS, and its anonymous part (``RssAnon``: the heaps, where a churn's leftovers
would stay), is read from /proc once it has been ready (or caught up) for ``--settle`` seconds.
Prints the figures and one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bench import bench_index
from bench._data import load_sqlite
from bench._servers import APP, Server

SEED = 20_240_601
CPU = 1
# Changes per transaction of churn: half lifts, half withholds; the follower applies each batch
# before the next (far below the gap at which it would reload instead of follow).
CHURN_BATCH = 100_000


class Rss(NamedTuple):
    """The server's resident set (its one process: uvicorn without --workers), in bytes, and
    its part in anonymous pages (the heaps: what a churn can leave behind)."""

    total: int
    anon: int


def _rss(server: Server) -> Rss:
    fields = {}
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0]) * 1024
    return Rss(fields["VmRSS"], fields["RssAnon"])


def _mb(count: int) -> float:
    return round(count / 2**20, 1)


def _env(url: str) -> dict[str, str]:
    return {"WITHHELD_DATABASE_URL": url, "WITHHELD_LOG_LEVEL": "WARNING"}


def _measure(url: str, folder: Path, settle_s: float) -> tuple[float, Rss]:
    server = Server(APP, cpu=CPU, env=_env(url), log_dir=folder)
    try:
        ready = server.wait_ready(600)
        time.sleep(settle_s)
        return ready, _rss(server)
    finally:
        server.stop()


def _churn(database: Path, folder: Path, pairs: int, settle_s: float) -> tuple[float, Rss, float]:
    """A server follows ``pairs`` changes written by another writer; its RSS after them.

    No snapshot is stored meanwhile (its bytes would be the server's own temporaries)."""
    env = {**_env(f"sqlite:///{database}"), "WITHHELD_SNAPSHOT_CHECK_S": "3600"}
    server = Server(APP, cpu=CPU, env=env, log_dir=folder)
    try:
        server.wait_ready(600)
        started = time.perf_counter()
        conn = sqlite3.connect(database, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            (oldest,) = conn.execute(
                "SELECT min(id) FROM withholding WHERE lifted_at IS NULL"
            ).fetchone()
            (newest,) = conn.execute("SELECT max(id) FROM withholding").fetchone()
            rng = np.random.default_rng(SEED + 2)
            for done in range(0, pairs // 2, CHURN_BATCH // 2):
                half = min(CHURN_BATCH // 2, pairs // 2 - done)
                accounts = rng.integers(2**62, 2**63 - 1, size=half, dtype=np.int64)
                head = _write_churn(conn, oldest, newest, accounts)
                oldest, newest = oldest + half, newest + half
                server.wait_for_revision(head, timeout_s=300)
        finally:
            conn.close()
        took = time.perf_counter() - started
        time.sleep(settle_s)
        return took, _rss(server), server.index_bytes()
    finally:
        server.stop()


def _write_churn(conn: sqlite3.Connection, oldest: int, newest: int, accounts: np.ndarray) -> int:
    """Lift the rules ``oldest …`` and withhold ``accounts`` in IN, with their changelog
    entries, in one transaction; returns the new head."""
    half = len(accounts)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
    conn.execute("BEGIN IMMEDIATE")
    (head,) = conn.execute("SELECT revision FROM changelog_head WHERE id = 1").fetchone()
    lifted = (oldest, oldest + half - 1)
    conn.execute(
        "UPDATE withholding SET lifted_at = ?, updated_at = ?, lift_reason = 'review',"
        " lifted_by = 'bench' WHERE id BETWEEN ? AND ?",
        (now, now, *lifted),
    )
    conn.execute(
        "INSERT INTO changelog (revision, op, account_id, country, at, rule_id, post_id)"
        " SELECT ? + ROW_NUMBER() OVER (ORDER BY id), 'lift', account_id, country, ?, id, post_id"
        " FROM withholding WHERE id BETWEEN ? AND ?",
        (head, now, *lifted),
    )
    conn.executemany(
        "INSERT INTO withholding (id, account_id, country, reason, created_at, updated_at,"
        " created_by) VALUES (?, ?, 'IN', 'bench: churn', ?, ?, 'bench')",
        ((newest + 1 + i, account, now, now) for i, account in enumerate(accounts.tolist())),
    )
    conn.execute(
        "INSERT INTO changelog (revision, op, account_id, country, at, rule_id, post_id)"
        " SELECT ? + ROW_NUMBER() OVER (ORDER BY id), 'withhold', account_id, country, ?, id,"
        " post_id FROM withholding WHERE id BETWEEN ? AND ?",
        (head + half, now, newest + 1, newest + half),
    )
    conn.execute("UPDATE changelog_head SET revision = ? WHERE id = 1", (head + 2 * half,))
    conn.execute("COMMIT")
    return int(head + 2 * half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--posts", type=int, default=0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--no-churn", dest="churn", action="store_false")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="withheld-memory-") as name:
        folder = Path(name)
        empty_db = folder / "empty.db"
        load_sqlite(empty_db, np.empty(0, dtype=np.uint64), np.empty(0, dtype="<U2"))
        _, empty = _measure(f"sqlite:///{empty_db}", folder, options.settle)
        database = folder / "rules.db"
        accounts = bench_index.make_workload(options.pairs, SEED)
        posts = None if not options.posts else _arrays(options.posts, SEED + 1)
        load_sqlite(database, accounts.accounts, accounts.countries, posts)
        del accounts
        url = f"sqlite:///{database}"
        first_s, first = _measure(url, folder, options.settle)
        stored = sqlite3.connect(database).execute("SELECT count(*) FROM index_snapshot")
        snapshots = stored.fetchone()[0]
        again_s, again = _measure(url, folder, options.settle)
        churn = None
        if options.churn:
            churn_s, churned, churned_index = _churn(
                database, folder, options.pairs, options.settle
            )
            with contextlib.closing(sqlite3.connect(database)) as conn, conn:
                conn.execute("DELETE FROM index_snapshot")
            fresh_s, fresh = _measure(url, folder, options.settle)
            # and from the snapshot that first start stored: the leaner of the two
            _, fresh_again = _measure(url, folder, options.settle)
            churn = {
                "churn_changes": options.pairs,
                "churn_s": round(churn_s, 1),
                "churned_rss_mb": _mb(churned.total),
                "churned_anon_mb": _mb(churned.anon),
                "churned_index_mb": _mb(int(churned_index)),
                "fresh_start_s": round(fresh_s, 2),
                "fresh_rss_mb": _mb(fresh.total),
                "fresh_anon_mb": _mb(fresh.anon),
                "fresh_restart_rss_mb": _mb(fresh_again.total),
                "fresh_restart_anon_mb": _mb(fresh_again.anon),
                "churned_over_fresh": round(churned.total / fresh.total, 3),
                "churned_over_fresh_restart": round(churned.total / fresh_again.total, 3),
                # the same less an empty server's RSS: what the rules cost, churned or fresh
                "churned_over_fresh_restart_less_empty": round(
                    (churned.total - empty.total) / (fresh_again.total - empty.total), 3
                ),
                "target_churned_over_fresh": 1.25,
            }
    pairs = options.pairs + options.posts
    figures = {
        "pairs": pairs,
        "empty_rss_mb": _mb(empty.total),
        "empty_anon_mb": _mb(empty.anon),
        "first_start_s": round(first_s, 2),
        "first_rss_mb": _mb(first.total),
        "first_anon_mb": _mb(first.anon),
        "first_bytes_per_pair": round((first.total - empty.total) / pairs, 2),
        "snapshots_stored": snapshots,
        "restart_s": round(again_s, 2),
        "restart_rss_mb": _mb(again.total),
        "restart_anon_mb": _mb(again.anon),
        "restart_bytes_per_pair": round((again.total - empty.total) / pairs, 2),
        "target_bytes_per_pair": 12,
    }
    print(f"replica RSS at {pairs:,} pairs (server on CPU {CPU}, {options.settle:g} s after ready)")
    print(
        f"  empty server          {figures['empty_rss_mb']:>8} MB"
        f"  (anonymous {figures['empty_anon_mb']})"
    )
    print(
        f"  first start ({first_s:.1f} s)  {figures['first_rss_mb']:>8} MB  "
        f"{figures['first_bytes_per_pair']} B/pair  (anonymous {figures['first_anon_mb']})"
    )
    print(
        f"  restart ({again_s:.1f} s)      {figures['restart_rss_mb']:>8} MB  "
        f"{figures['restart_bytes_per_pair']} B/pair   (target ≤ 12 B/pair)"
    )
    if churn is not None:
        figures.update(churn)
        print(
            f"  after {options.pairs:,} changes of churn ({churn['churn_s']} s)"
            f"  {churn['churned_rss_mb']:>8} MB"
            f" (anonymous {churn['churned_anon_mb']}; the index's own count:"
            f" {churn['churned_index_mb']} MB)"
        )
        print(
            f"  fresh start on the result   {churn['fresh_rss_mb']:>8} MB"
            f"  churned/fresh {churn['churned_over_fresh']}   (target ≤ 1.25;"
            f" anonymous {churn['fresh_anon_mb']})"
        )
        print(
            f"  and its restart             {churn['fresh_restart_rss_mb']:>8} MB"
            f"  churned/restart {churn['churned_over_fresh_restart']}"
            f" ({churn['churned_over_fresh_restart_less_empty']} less the empty server's)"
        )
    print(json.dumps(figures))


def _arrays(count: int, seed: int) -> tuple[bench_index.U64, np.ndarray]:
    work = bench_index.make_workload(count, seed)
    return work.accounts, work.countries


if __name__ == "__main__":
    main()
