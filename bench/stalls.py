"""Stalls: GET /visible's p99 and longest answer while a legal order lands.

    .venv/bin/python -m bench.stalls [--only NAME ...] [--rules N] [--compaction-pairs N]
                                     [--stall-trace FILE] [--writer-cpus LIST]

The service runs on SQLite with ``--rules`` account rules (default 100,000), alone on CPU 1;
wrk (``-t1 -c8``, 12 s) asks GET /visible on CPU 0 and, 3 s in, one of these happens:

- ``quiet``: nothing (the baseline, same server, same run);
- ``bulk_here``: a 100,000-item ``POST /withholdings/bulk`` to this server;
- ``bulk_other``: the same to a second server on the same database (CPU 0), which this one only
  follows through the changelog;
- ``decisions``: 10,000 decisions on one order (``POST /orders/{id}/decisions``) to this server;
- ``expiry``: 100,000 rules written beforehand (through the other server) all expire at once;
- ``compaction``: at ``--compaction-pairs`` pairs (default 10M), new accounts through the other
  server until this one's ordinal delta compacts (that server's own first start is not timed);
  a 30 s run, judged only if the compaction has ended (index bytes fell) before wrk stops.

Prints a table (p99, longest, throughput, beside quiet) and one JSON line. ``--stall-trace``
has the measured server write every stall of 15 ms or more to FILE, with every thread's stack
(``WITHHELD_STALL_TRACE_FILE``; a watchdog thread per probe tick: figures taken with it are not
the ones to report).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson

from bench import bench_index
from bench._data import load_sqlite, lookup_paths
from bench._servers import APP, Server
from bench._wrk import parse_result, require_wrk, rotating_script, wrk_command
from tests.support.tokens import ADMIN_TOKEN, AUTH

SEED = 20_240_601
SERVER_CPU, CLIENT_CPU = 1, 0
RUN_S, WRITE_AT_S = 12, 3.0
# A compaction at 10M pairs runs for seconds after its write: a longer run holds all of it.
COMPACTION_RUN_S = 30
CONNECTIONS = 8
BULK_ITEMS = 100_000
DECISIONS = 10_000
EXPIRING = 100_000
TARGET_P99_MS, TARGET_MAX_MS = 5.0, 25.0
SCENARIOS = ("quiet", "bulk_here", "bulk_other", "decisions", "expiry", "compaction")
ENV = {
    "WITHHELD_ADMIN_TOKENS": f"bench:{ADMIN_TOKEN}",
    "WITHHELD_LOG_LEVEL": "WARNING",
    # Snapshots are stored 1 s after a start and then every 50k changes: not what is measured.
    "WITHHELD_SNAPSHOT_CHECK_S": "3600",
}


@dataclass
class Figure:
    scenario: str
    p99_ms: float
    max_ms: float
    rps: float
    errors: int
    write_s: float | None
    note: str = ""
    judged: bool = True  # False when the scenario did not happen as intended


def _fresh_ids(count: int, seed: int) -> list[str]:
    """Account ids no workload uses (above 2**62)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2**62, 2**63 - 1, size=count, dtype=np.int64)
    unique: list[str] = np.unique(ids).astype(str).tolist()
    return unique


def keep_to_client_cpu() -> None:
    """This process (it sends the orders) runs beside wrk, off the measured server's core."""
    os.sched_setaffinity(0, {CLIENT_CPU})


def _bulk_body(accounts: list[str], *, expires_at: str | None = None) -> bytes:
    items = [{"account": account, "country": "IN"} for account in accounts]
    body: dict[str, object] = {"reason": "bench: stalls", "items": items}
    if expires_at is not None:
        body["expires_at"] = expires_at
    return orjson.dumps(body)


def _post(url: str, body: bytes) -> None:
    response = httpx.post(
        url, content=body, headers={**AUTH, "content-type": "application/json"}, timeout=600
    )
    if response.status_code >= 300:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")


class Bench:
    def __init__(
        self, workdir: Path, rules: int, stall_trace: Path | None, writer_cpus: str | None = None
    ) -> None:
        self.dir = workdir
        self.stall_trace = stall_trace
        self.writer_cpus = writer_cpus
        self.rules = rules
        work = bench_index.make_workload(rules, SEED)
        self.work = work
        self.script = rotating_script(
            workdir / "stalls.lua", [path for path, _ in lookup_paths(work)]
        )

    def database(self, name: str, pairs: int) -> str:
        path = self.dir / f"{name}.db"
        work = self.work if pairs == self.rules else bench_index.make_workload(pairs, SEED)
        load_sqlite(path, work.accounts, work.countries)
        return f"sqlite:///{path}"

    def server(self, url: str, cpu: int) -> Server:
        env = {**ENV, "WITHHELD_DATABASE_URL": url}
        if self.stall_trace is not None and cpu == SERVER_CPU:
            env |= {
                "WITHHELD_STALL_TRACE_FILE": str(self.stall_trace),
                "WITHHELD_STALL_TRACE_MS": "15",
            }
        if self.writer_cpus is not None and cpu == SERVER_CPU:
            env["WITHHELD_WRITE_PROCESS_CPUS"] = self.writer_cpus
        server = Server(APP, cpu=cpu, env=env, log_dir=self.dir)
        server.wait_ready(300)
        return server

    def measure(
        self,
        scenario: str,
        server: Server,
        write: Callable[[], None] | None,
        *,
        duration_s: int = RUN_S,
    ) -> Figure:
        """wrk against ``server`` for ``duration_s``; ``write`` runs WRITE_AT_S into it."""
        command = wrk_command(
            server.url,
            self.script,
            duration_s=duration_s,
            connections=CONNECTIONS,
            threads=1,
            cpu=CLIENT_CPU,
        )
        load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        took = None
        try:
            time.sleep(WRITE_AT_S)
            if write is not None:
                started = time.perf_counter()
                write()
                took = time.perf_counter() - started
        finally:
            out, err = load.communicate(timeout=duration_s + 60)
        result = parse_result(out)
        if result is None:
            raise RuntimeError(f"wrk failed: {err.strip()}")
        return Figure(
            scenario,
            round(result.p99_ms, 3),
            round(result.max_ms, 3),
            round(result.rps),
            result.errors + result.non_2xx,
            None if took is None else round(took, 3),
        )


def run(
    only: list[str],
    rules: int,
    compaction_pairs: int,
    stall_trace: Path | None = None,
    writer_cpus: str | None = None,
) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="withheld-stalls-") as folder:
        bench = Bench(Path(folder), rules, stall_trace, writer_cpus)
        url = bench.database("stalls", rules)
        here = bench.server(url, SERVER_CPU)
        other = bench.server(url, CLIENT_CPU)
        try:
            fresh = iter(_fresh_ids(BULK_ITEMS * 3 + DECISIONS + EXPIRING, SEED + 7))
            if "quiet" in only:
                figures.append(bench.measure("quiet", here, None))
            if "bulk_here" in only:
                body = _bulk_body([next(fresh) for _ in range(BULK_ITEMS)])
                figures.append(
                    bench.measure(
                        "bulk_here", here, lambda: _post(f"{here.url}/withholdings/bulk", body)
                    )
                )
            if "bulk_other" in only:
                body = _bulk_body([next(fresh) for _ in range(BULK_ITEMS)])

                def bulk_other() -> None:
                    _post(f"{other.url}/withholdings/bulk", body)

                figures.append(bench.measure("bulk_other", here, bulk_other))
            if "decisions" in only:
                order = httpx.post(
                    f"{here.url}/orders",
                    json={
                        "country": "IN",
                        "authority": "MeitY",
                        "legal_basis": "IT Act s.69A",
                        "reference": "BENCH/STALLS",
                        "received_at": "2021-02-01T09:30:00Z",
                    },
                    headers=AUTH,
                    timeout=30,
                ).json()
                decisions = orjson.dumps(
                    {
                        "decisions": [
                            {"account": next(fresh), "action": "withhold"} for _ in range(DECISIONS)
                        ]
                    }
                )
                figures.append(
                    bench.measure(
                        "decisions",
                        here,
                        lambda: _post(f"{here.url}/orders/{order['id']}/decisions", decisions),
                    )
                )
            if "expiry" in only:
                # Written before the run through the other server, due WRITE_AT_S + 1 s into it.
                expires = datetime.now(UTC) + timedelta(seconds=60)
                body = _bulk_body(
                    [next(fresh) for _ in range(EXPIRING)],
                    expires_at=expires.isoformat().replace("+00:00", "Z"),
                )
                _post(f"{other.url}/withholdings/bulk", body)
                head = other.revision()
                here.wait_for_revision(head)
                delay = (expires - datetime.now(UTC)).total_seconds() - WRITE_AT_S - 1
                time.sleep(max(0.0, delay))

                def all_lifted() -> None:
                    here.wait_for_revision(head + EXPIRING, timeout_s=120)

                figure = bench.measure("expiry", here, all_lifted)
                late = (figure.write_s or 0.0) - 1
                figure.note = (
                    f"expires_at 1 s after the write point; all lifted here {late:.1f} s later"
                )
                figure.write_s = None
                figures.append(figure)
        finally:
            here.stop()
            other.stop()
        if "compaction" in only:
            figures.append(_compaction(bench, compaction_pairs))
    return figures


def _compaction(bench: Bench, pairs: int) -> Figure:
    url = bench.database("compaction", pairs)
    here = bench.server(url, SERVER_CPU)
    other = bench.server(url, CLIENT_CPU)
    try:
        # The delta compacts once it holds more than max(65536, base / 16) new ids: write 1,000
        # short of that first, let this server apply them, then 2,000 more during the run.
        base = len(np.unique(bench_index.make_workload(pairs, SEED).accounts))  # distinct ids
        due = max(65_536, base // 16)
        ids = _fresh_ids(due + 1_000, SEED + 11)
        before = len(ids) - 2_000
        for start in range(0, before, BULK_ITEMS):
            chunk = ids[start : min(start + BULK_ITEMS, before)]
            _post(f"{other.url}/withholdings/bulk", _bulk_body(chunk))
            # Followed chunk by chunk: a server further behind than the reload gap reloads
            # instead, its new ids land in the base, and nothing is left to compact.
            head = other.revision()
            here.wait_for_revision(head, timeout_s=300)
        last = _bulk_body(ids[before:])
        held = here.index_bytes()
        compacted_at: list[float] = []

        def write_then_compact() -> None:
            # The compaction runs in this server's background after the write is applied; the
            # scenario is only measured if it has finished while wrk still runs.
            _post(f"{other.url}/withholdings/bulk", last)
            started = time.perf_counter()
            deadline = started + COMPACTION_RUN_S - WRITE_AT_S - 2
            while time.perf_counter() < deadline:
                if here.index_bytes() < held:
                    compacted_at.append(time.perf_counter() - started)
                    return
                time.sleep(0.1)

        figure = bench.measure("compaction", here, write_then_compact, duration_s=COMPACTION_RUN_S)
        after = here.index_bytes()
        figure.note = (
            f"{pairs:,} pairs ({base:,} accounts); the delta passes max(65536, base/16) = "
            f"{due:,} ids during the run; index {held / 2**20:.0f} MB before, "
            f"{after / 2**20:.0f} MB after; "
            + (
                f"compacted {compacted_at[0]:.1f} s after the write, inside the run"
                if compacted_at
                else "NOT compacted inside the run: not judged"
            )
        )
        figure.judged = bool(compacted_at)
        figure.write_s = None
        return figure
    finally:
        here.stop()
        other.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--compaction-pairs", type=int, default=10_000_000)
    parser.add_argument("--stall-trace", type=Path, help="the measured server's stall trace")
    parser.add_argument(
        "--writer-cpus",
        help="the measured server's WITHHELD_WRITE_PROCESS_CPUS (default: its own CPU, shared)",
    )
    options = parser.parse_args()
    keep_to_client_cpu()
    if require_wrk() is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    only = options.only or list(SCENARIOS)
    if "quiet" not in only:
        only.insert(0, "quiet")
    figures = run(
        only, options.rules, options.compaction_pairs, options.stall_trace, options.writer_cpus
    )
    quiet = figures[0]
    writer = options.writer_cpus or f"{SERVER_CPU} (the server's)"
    print(
        f"GET /visible at {CONNECTIONS} connections, {options.rules:,} rules, "
        f"write process on CPU {writer}, while …"
    )
    print(f"{'scenario':<12} {'p99 ms':>8} {'max ms':>8} {'req/s':>8} {'write s':>8}  result")
    for figure in figures:
        met = figure.p99_ms <= TARGET_P99_MS and figure.max_ms <= TARGET_MAX_MS
        verdict = "—" if figure is quiet or not figure.judged else ("met" if met else "MISS")
        took = "" if figure.write_s is None else f"{figure.write_s:.2f}"
        print(
            f"{figure.scenario:<12} {figure.p99_ms:>8.2f} {figure.max_ms:>8.2f} "
            f"{figure.rps:>8,.0f} {took:>8}  {verdict} {figure.note}"
        )
    print(json.dumps([asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
