"""Machine instructions per ``GET /visible`` call, in-process: the service beside the bare app.

Throughput on a shared 2-core VM moves by several percent from run to run; instruction counts
do not (callgrind counts them, whatever else the machine is doing). This is the figure to
watch when changing the hot path: it changes only when the code does.

    .venv/bin/python -m bench.instruction_count [--calls 2000] [--rules 100000]

Each target runs in its own process under ``valgrind --tool=callgrind`` with instrumentation
off; after the index is built and the calls warmed up, the process switches it on
(``callgrind_control -i on``) for ``--calls`` calls through what a server calls
(``app.main:app``, i.e. ``service.asgi``; ``bench.bare_app:app``) and off again. Needs valgrind
(``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import bench_index
from bench._asgi_cost import ASGI, _scope
from bench._callgrind import VALGRIND, instrument, require_valgrind, total_instructions
from bench._data import lookup_paths
from bench.bare_app import Message, Scope
from tests.support.servers import ROOT

TARGETS = ("bare", "app")


async def _calls(app: ASGI, scopes: list[Scope], calls: int) -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    for i in range(calls):
        await app(scopes[i % len(scopes)], receive, send)


async def _warm_then_count(app: ASGI, scopes: list[Scope], calls: int) -> None:
    await _calls(app, scopes, 3 * len(scopes))  # every path, specialised by the interpreter
    instrument(os.getpid(), "on")
    await _calls(app, scopes, calls)
    instrument(os.getpid(), "off")


def _child(target: str, rules: int, calls: int) -> None:
    """Runs under callgrind: build, warm up, count ``calls`` calls."""
    from app.config import Settings
    from app.index import VisibilityIndex
    from app.main import create_app
    from bench.bare_app import app as bare_app

    work = bench_index.make_workload(rules, 20_240_601)
    scopes = [_scope("GET", path) for path, _ in lookup_paths(work)]
    app: ASGI = bare_app
    with tempfile.TemporaryDirectory() as folder:
        if target == "app":
            service = create_app(Settings(database_url=f"sqlite:///{Path(folder) / 'unused.db'}"))
            service.replica.load(VisibilityIndex.from_arrays(work.accounts, work.countries), 1)
            app = service.asgi
        asyncio.run(_warm_then_count(app, scopes, calls))


def _count(target: str, rules: int, calls: int, folder: Path) -> int:
    out = folder / f"callgrind.{target}"
    command = [
        *VALGRIND,
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instruction_count",
        "--child",
        target,
        "--rules",
        str(rules),
        "--calls",
        str(calls),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{target}: valgrind exited {done.returncode}: {done.stderr[-2000:]}")
    return total_instructions(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.rules, args.calls)
        return
    require_valgrind()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        counts = {target: _count(target, args.rules, args.calls, work) for target in TARGETS}
    per_call = {target: count / args.calls for target, count in counts.items()}
    print(f"GET /visible in-process, {args.rules:,} rules, {args.calls:,} calls under callgrind")
    print(f"  bare app : {per_call['bare']:>9,.0f} instructions per call")
    print(f"  service  : {per_call['app']:>9,.0f} instructions per call")
    print(f"  service adds {per_call['app'] - per_call['bare']:,.0f} per call")


if __name__ == "__main__":
    main()
