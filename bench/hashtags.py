"""``POST /hashtags/eligible`` with 1,000 hashtags: server time in-process, beside a bare JSON echo.

    .venv/bin/python -m bench.hashtags [--restricted N] [--repeats R] [--calls C]

The service runs in this process (its lifespan on a throw-away SQLite file); its replica holds
``N`` restrictions (default 10,000, over five countries and ``XX``). The request: 1,000 hashtags
in a mix of scripts and spellings (Latin, full-width, ``#``-prefixed, upper case, German ``ß``,
Devanagari, Arabic, Cyrillic, Japanese), a tenth of them restricted in the country asked about.
Each figure is the median over ``R`` runs of the mean of ``C`` calls of the ASGI callable a server
runs (``app.main:app``: every middleware, FastAPI routing, the handler), no socket in between:

- ``app``: the service, normalisations cached (the trends services send the same tags every few
  minutes); ``app, cold cache``: the cache emptied before every call (every tag normalised);
- ``echo``: the baseline, a bare ASGI callable that reads the same body, parses it with orjson
  and answers a JSON body of the same shape and size (no validation, no normalisation, no index);
- ``handler``: the route's own work alone (parse, validate, normalise, look up, render).

Prints the figures side by side, then one JSON line.
"""

# Full-width spellings are part of the mix.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import orjson

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]

COUNTRY = "IN"
BATCH = 1000
TARGET_MS = 2.0
_STEMS = [
    "farmersprotest",
    "FarmersProtest",
    "#Cricket",
    "ＩＰＬ２０２１",
    "Straße",
    "किसान_आंदोलन",
    "#किसानों_के_साथ",
    "مصر_الآن",
    "Москва",
    "東京オリンピック",
    "ＢＴＳ",
    "election_2021",
]


def make_batch(seed: int) -> tuple[list[str], list[tuple[str, str]]]:
    """1,000 candidate tags and the restrictions for the replica (a tenth of the tags, in
    ``COUNTRY`` or ``XX``)."""
    from app.identifiers import parse_hashtag

    rng = random.Random(seed)
    tags = [f"{rng.choice(_STEMS)}_{n}" for n in range(BATCH)]
    chosen = rng.sample(range(BATCH), BATCH // 10)
    restricted = [
        (parse_hashtag(tags[n]), COUNTRY if i % 4 else "XX") for i, n in enumerate(chosen)
    ]
    return tags, restricted


def filler(count: int, seed: int) -> list[tuple[str, str]]:
    """Other restrictions, so the sets are the size a replica really holds."""
    rng = random.Random(seed + 1)
    countries = ["IN", "US", "DE", "TR", "BR", "XX"]
    return [(f"other_{rng.randrange(10**9)}_{n}", rng.choice(countries)) for n in range(count)]


def _scope(path: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The baseline: parse the body, answer the same shape and size, nothing else."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    parsed = orjson.loads(b"".join(chunks))
    body = orjson.dumps(
        {
            "country": parsed["country"],
            "results": [
                {"hashtag": tag, "normalized": tag, "eligible": True} for tag in parsed["hashtags"]
            ],
        }
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def per_call(
    app: ASGI, body: bytes, calls: int, before: Callable[[], None] | None = None
) -> tuple[float, bytes]:
    """Mean seconds per call over ``calls`` calls, and the last response body."""
    scope = _scope("/hashtags/eligible")
    statuses: list[int] = []
    answer: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    spent = 0.0
    for _ in range(calls):
        if before is not None:
            before()
        answer.clear()
        started = time.perf_counter()
        await app(dict(scope), receive, send)
        spent += time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}: {b''.join(answer)!r}")
    return spent / calls, b"".join(answer)


class Lifespan:
    """Runs an ASGI app's lifespan in this event loop (startup, then shutdown)."""

    def __init__(self, app: ASGI) -> None:
        self._app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        await self._app({"type": "lifespan", "asgi": {"version": "3.0"}}, self._receive, self._send)

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        await self._outbox.put(message)

    async def _step(self, event: str) -> None:
        await self._inbox.put({"type": f"lifespan.{event}"})
        reply = await asyncio.wait_for(self._outbox.get(), 60)
        if not str(reply["type"]).endswith(".complete"):
            raise RuntimeError(f"lifespan {event} failed: {reply}")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._step("startup")

    async def shutdown(self) -> None:
        await self._step("shutdown")
        if self._task is not None:
            await self._task


async def measure(restricted: int, seed: int, repeats: int, calls: int) -> dict[str, Any]:
    from app.api.hashtags import parse_batch, render_batch
    from app.config import Settings
    from app.identifiers import normalize_hashtag
    from app.index import HashtagIndex
    from app.main import create_app
    from app.replication.indexes import Indexes

    tags, wanted = make_batch(seed)
    body = orjson.dumps({"country": COUNTRY, "hashtags": tags})
    with tempfile.TemporaryDirectory() as folder:
        service = create_app(
            Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}", log_level="WARNING")
        )
        served: ASGI = service.asgi
        lifespan = Lifespan(served)
        await lifespan.startup()
        try:
            index = HashtagIndex.from_pairs([*wanted, *filler(restricted - len(wanted), seed)])
            service.replica.load(Indexes(hashtags=index), service.replica.revision)
            _, answer = await per_call(served, body, 3)  # warm-up, and the answer checked
            results = orjson.loads(answer)["results"]
            blocked = {tag for tag, _ in wanted}
            correct = len(results) == BATCH and all(
                item["eligible"] is (item["normalized"] not in blocked) for item in results
            )
            replica = service.replica

            def handler_only() -> None:
                country, given, normalized = parse_batch(body)
                eligible = replica.hashtags.eligible_many(normalized, country)
                render_batch(country, given, normalized, eligible)

            figures: dict[str, list[float]] = {"app": [], "cold": [], "echo": [], "handler": []}
            for _ in range(repeats):
                figures["echo"].append((await per_call(echo_app, body, calls))[0] * 1e3)
                figures["app"].append((await per_call(served, body, calls))[0] * 1e3)
                cold = (await per_call(served, body, calls, normalize_hashtag.cache_clear))[0]
                figures["cold"].append(cold * 1e3)
                started = time.perf_counter()
                for _ in range(calls):
                    handler_only()
                figures["handler"].append((time.perf_counter() - started) / calls * 1e3)
        finally:
            await lifespan.shutdown()
    return {
        "batch": BATCH,
        "restricted_in_replica": restricted,
        "restricted_in_batch": sum(1 for item in results if not item["eligible"]),
        "answers_correct": correct,
        "request_bytes": len(body),
        "response_bytes": len(answer),
        **{f"{name}_ms": statistics.median(runs) for name, runs in figures.items()},
        "runs_ms": figures,
        "target_ms": TARGET_MS,
    }


def format_figures(result: dict[str, Any]) -> str:
    echo = result["echo_ms"]
    lines = [
        f"POST /hashtags/eligible, {result['batch']} hashtags "
        f"({result['restricted_in_batch']} restricted), replica holds "
        f"{result['restricted_in_replica']:,} restrictions; answers correct: "
        f"{result['answers_correct']}",
        f"  {'':34}{'median ms':>10}{'× echo':>9}",
    ]
    for key, label in (
        ("app_ms", "service (cache warm)"),
        ("cold_ms", "service (cache emptied each call)"),
        ("handler_ms", "route's own work alone"),
        ("echo_ms", "baseline: bare JSON echo"),
    ):
        lines.append(f"  {label:34}{result[key]:>10.3f}{result[key] / echo:>9.2f}")
    verdict = "PASS" if result["app_ms"] < TARGET_MS and result["answers_correct"] else "MISS"
    lines.append(f"  target: service < {TARGET_MS} ms → {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--restricted", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20_210_210)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(measure(args.restricted, args.seed, args.repeats, args.calls))
    print(format_figures(result))
    print(json.dumps({k: v for k, v in result.items() if k != "runs_ms"}))


if __name__ == "__main__":
    main()
