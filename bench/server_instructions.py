"""Instructions per ``GET /visible`` on a uvicorn server's event-loop thread, beside the bare app.

    .venv/bin/python -m bench.server_instructions [--requests 2000] [--rules 100000] [--idle 10]

``bench.instruction_count`` counts the ASGI callable alone; this counts everything the server's
event-loop thread does per request: HTTP parsing, uvicorn, the app, writing the response (user
space only: callgrind does not see the kernel, nor the cache misses that make an instruction
slow). Each server runs under ``valgrind --tool=callgrind --separate-threads=yes``, pinned to CPU
1, with instrumentation off; one keep-alive connection warms every path, then instrumentation is
on for ``--requests`` requests. The service also runs timers (its polls), and under valgrind the
same requests take ~50x longer, so each server is counted a second time for ``--idle`` seconds
without requests, and that idle rate over the measured run's duration is subtracted. Needs
valgrind (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench import bench_index
from bench._callgrind import VALGRIND, require_valgrind, total_instructions
from bench._data import load_sqlite, lookup_paths
from tests.support.servers import ROOT, free_port, poll_readyz, server_command

TARGETS = {"bare": "bench.bare_app:app", "app": "app.main:app"}
SEED = 20_240_601


def _count(
    target: str, env: dict[str, str], paths: list[str], requests: int, idle_s: float, out: Path
) -> tuple[int, float]:
    """Event-loop-thread instructions over ``requests`` requests then ``idle_s`` seconds, and
    how long that took."""
    port = free_port()
    valgrind = [*VALGRIND, "--separate-threads=yes", f"--callgrind-out-file={out}"]
    command = server_command(target, port=port, cpu=1)
    command[3:3] = valgrind  # after "taskset -c 1"
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not poll_readyz(process, url, deadline=time.perf_counter() + 600, poll_s=0.5, log=str):
            raise RuntimeError(f"{target} not ready under valgrind")
        with httpx.Client(base_url=url, timeout=60) as http:
            for path in paths * 3:  # every path, specialised by the interpreter
                http.get(path).raise_for_status()
            subprocess.run(
                ["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True
            )
            started = time.perf_counter()
            for i in range(requests):
                http.get(paths[i % len(paths)]).raise_for_status()
            time.sleep(idle_s)
            elapsed = time.perf_counter() - started
            subprocess.run(
                ["callgrind_control", "-i", "off", str(process.pid)],
                check=True,
                capture_output=True,
            )
    finally:
        process.terminate()
        process.wait(timeout=60)
    return total_instructions(Path(f"{out}-01")), elapsed  # thread 1: the event loop


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds counted without requests")
    args = parser.parse_args()
    require_valgrind()
    work = bench_index.make_workload(args.rules, SEED)
    paths = [path for path, _ in lookup_paths(work)]
    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "rules.db"
        load_sqlite(database, work.accounts, work.countries)
        env = {
            **os.environ,
            "WITHHELD_DATABASE_URL": f"sqlite:///{database}",
            "WITHHELD_LOG_LEVEL": "WARNING",
        }
        for name, target in TARGETS.items():
            idle, idle_s = _count(target, env, paths, 0, args.idle, Path(folder) / f"{name}.idle")
            busy, busy_s = _count(
                target, env, paths, args.requests, 0, Path(folder) / f"{name}.busy"
            )
            per_request[name] = (busy - idle / idle_s * busy_s) / args.requests
            print(
                f"  {name}: {busy / args.requests:,.0f} per request as counted, idle rate "
                f"{idle / idle_s:,.0f}/s over the {busy_s:.1f} s of the run"
            )
    print(
        f"GET /visible under uvicorn, {args.rules:,} rules, {args.requests:,} requests, "
        "event-loop thread"
    )
    print(f"  bare app : {per_request['bare']:>9,.0f} instructions per request")
    print(f"  service  : {per_request['app']:>9,.0f} instructions per request")
    print(f"  ratio    : {per_request['bare'] / per_request['app']:.3f} (bare / service)")


if __name__ == "__main__":
    main()
