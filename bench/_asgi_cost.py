"""What the ASGI callables cost per request in-process, with no server and no socket in between.

The HTTP figures of the suite move with a noisy machine; these do far less, and they split a
throughput ratio into its parts: a server spends ``1e6 / bare_rps`` µs per request on HTTP and
the bare app, the service adds ``app_us - bare_us`` to that. Run pinned, in its own process
(``bench.run`` does ``taskset -c 1 python -m bench._asgi_cost --rules N``); prints one JSON line.

The index is built with ``VisibilityIndex.from_arrays`` (its state after a start from the
database) and handed to the service's replica; the lifespan does not run, so no database is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import bench_index
from bench._data import batch_body, lookup_paths
from bench.bare_app import Message, Receive, Scope, Send
from bench.bare_app import app as bare_app

ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


def _scope(method: str, target: str) -> Scope:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _per_call(app: ASGI, scopes: list[Scope], body: bytes, calls: int) -> float:
    """Seconds per call over ``calls`` calls, rotating through ``scopes``."""
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for i in range(calls):
        await app(scopes[i % len(scopes)], receive, send)
    took = (time.perf_counter() - started) / calls
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}")
    return took


async def measure(rules: int, seed: int, repeats: int) -> dict[str, Any]:
    from app.config import Settings
    from app.index import VisibilityIndex
    from app.main import create_app

    work = bench_index.make_workload(rules, seed)
    with tempfile.TemporaryDirectory() as folder:
        service = create_app(Settings(database_url=f"sqlite:///{Path(folder) / 'unused.db'}"))
        service.replica.load(VisibilityIndex.from_arrays(work.accounts, work.countries), 1)
        served = service.asgi  # what a server calls (app.main:app)
        gets = [_scope("GET", path) for path, _ in lookup_paths(work)]
        post = [_scope("POST", "/visible")]
        body = batch_body(work, bench_index.BATCH_COUNTRY)
        figures: dict[str, list[float]] = {
            "get_app": [],
            "get_bare": [],
            "post_app": [],
            "post_bare": [],
        }
        await _per_call(served, gets, b"", 2_000)  # warm-up
        await _per_call(served, post, body, 3)
        for _ in range(repeats):
            figures["get_bare"].append(await _per_call(bare_app, gets, b"", 20_000) * 1e6)
            figures["get_app"].append(await _per_call(served, gets, b"", 20_000) * 1e6)
            figures["post_bare"].append(await _per_call(bare_app, post, body, 10) * 1e3)
            figures["post_app"].append(await _per_call(served, post, body, 10) * 1e3)
    return {
        "rules": rules,
        "get_app_us": statistics.median(figures["get_app"]),
        "get_bare_us": statistics.median(figures["get_bare"]),
        "post_app_ms": statistics.median(figures["post_app"]),
        "post_bare_ms": statistics.median(figures["post_bare"]),
        "runs": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.rules, args.seed, args.repeats))))


if __name__ == "__main__":
    main()
