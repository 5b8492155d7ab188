"""Prometheus metrics that cost the hot path almost nothing and add up across workers.

Each process counts in plain Python lists and dicts (prometheus_client's multiprocess values take
a lock and write an mmap on every call, which costs the hot path far more than an increment); the
hot path only appends its latencies to a list, sorted into buckets once a second. Once a
second it writes its counters to ``<metrics dir>/<pid>.json``; ``GET /metrics`` on any worker sums
every file in the folder, so counters are correct under ``--workers N``. Files of exited workers
keep counting (counters never go down); gauges come only from live processes, labelled by pid.

The folder: ``WITHHELD_METRICS_DIR`` if set; else, in a worker that a supervisor spawned (uvicorn
``--workers``), one private to that supervisor; else none (a single process serves its own).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from app.edge.layers import ASGIApp, Message, Receive, Scope, Send
from app.edge.stall_trace import StallTracer

LATENCY_BOUNDS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
FLUSH_INTERVAL_S: Final = 1.0
# The loop-lag probe wakes this often: a stall shows as a wake-up that came late by its length.
LAG_PROBE_INTERVAL_S: Final = 0.02


def metrics_dir(configured: Path | None) -> Path | None:
    """Where this worker pools its metrics with its siblings: ``configured``
    (``WITHHELD_METRICS_DIR``), else a folder named after the server's supervisor, else None
    (a single process keeps them in memory)."""
    if configured is not None:
        return configured
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    # The supervisor's pid and start time name a folder no other server shares.
    try:
        started = Path(f"/proc/{parent.pid}/stat").read_text().split()[21]
    except (OSError, IndexError):
        started = "0"
    return Path(tempfile.gettempdir()) / f"withheld-metrics-{parent.pid}-{started}"


_BOUNDS: Final = np.array(LATENCY_BOUNDS)


def _empty_buckets() -> list[float]:
    """A count per bound, one for +Inf, then the sum of the seconds observed."""
    return [0.0] * (len(LATENCY_BOUNDS) + 2)


def _add_to_buckets(buckets: list[float], observed: list[float]) -> None:
    """Count seconds into ``buckets`` as ``observe`` would (``bisect_left``)."""
    if not observed:
        return
    seconds = np.array(observed, dtype=np.float64)
    counts = np.bincount(np.searchsorted(_BOUNDS, seconds, side="left"), minlength=len(_BOUNDS) + 1)
    for i, count in enumerate(counts.tolist()):
        buckets[i] += count
    buckets[-1] += float(seconds.sum())


class RequestStats:
    """Counters and latency buckets of this process, keyed by (route, method, status)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = {}
        # (route, method) -> [bucket counts..., +Inf count], sum of seconds
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.db_errors: dict[str, int] = {}
        # How late the event loop woke the lag probe: buckets as latency's, and the longest in
        # this publishing interval and the one before (a gauge that a scrape cannot miss).
        self.loop_lag = _empty_buckets()
        self.loop_lag_max = [0.0, 0.0]
        # The hot path's recorders (see ``bind``) and the buckets folded out of them.
        self._bound: list[tuple[tuple[str, str, str], list[float], list[float]]] = []

    def bind(self, route: str, method: str, status: int) -> list[float]:
        """A latency recorder for the hot path: it appends the seconds of each request it
        answers with that status (``recorder.append(seconds)``: a list's append is the cheapest
        call there is; ``array('d')`` parses its argument), and the values are sorted into
        buckets later, all at once (:meth:`fold`), instead of per request."""
        recorder: list[float] = []
        self._bound.append(((route, method, str(status)), recorder, _empty_buckets()))
        return recorder

    def fold(self) -> None:
        """Empty the recorders into their buckets. Only on the event loop's thread, where the
        hot path appends: nothing can come in between reading and emptying a recorder."""
        for _, recorder, buckets in self._bound:
            if recorder:
                pending = recorder.copy()
                recorder.clear()
                _add_to_buckets(buckets, pending)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        self.requests[key] = self.requests.get(key, 0) + 1
        buckets = self.latency.get((route, method))
        if buckets is None:
            buckets = self.latency[(route, method)] = _empty_buckets()
        buckets[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1
        buckets[-1] += seconds

    def db_error(self, operation: str) -> None:
        self.db_errors[operation] = self.db_errors.get(operation, 0) + 1

    def observe_loop_lag(self, seconds: float) -> None:
        self.loop_lag[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.loop_lag[-1] += seconds
        if seconds > self.loop_lag_max[-1]:
            self.loop_lag_max[-1] = seconds

    def next_lag_interval(self) -> None:
        self.loop_lag_max = [self.loop_lag_max[-1], 0.0]

    def to_json(self) -> dict[str, object]:
        requests = dict(self.requests)
        latency = {key: list(buckets) for key, buckets in self.latency.items()}
        for (route, method, status), recorder, folded in self._bound:
            # Any thread may publish: read what is not folded yet, leave the recorder as it is.
            bound = list(folded)
            _add_to_buckets(bound, recorder.copy())
            count = int(sum(bound[:-1]))
            if not count:
                continue
            requests[(route, method, status)] = requests.get((route, method, status), 0) + count
            total = latency.setdefault((route, method), [0.0] * len(bound))
            for i, value in enumerate(bound):
                total[i] += value
        return {
            "requests": [[*key, count] for key, count in requests.items()],
            "latency": [[*key, buckets] for key, buckets in latency.items()],
            "db_errors": list(self.db_errors.items()),
            "loop_lag": list(self.loop_lag),
            "loop_lag_max": max(self.loop_lag_max),
        }


class Gauges:
    """Gauges of this process, read when published (see ``app.main``)."""

    def __init__(self, read: Callable[[], dict[str, object]]) -> None:
        self.read = read


class Metrics:
    def __init__(self, folder: Path | None, gauges: Callable[[], dict[str, object]]) -> None:
        self.folder = folder
        self.stats = RequestStats()
        self.gauges = gauges
        self.pid = os.getpid()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    # -- publishing -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        return {"pid": self.pid, "at": time.time(), **self.stats.to_json(), "gauges": self.gauges()}

    def flush(self) -> None:
        if self.folder is None:
            return
        target = self.folder / f"{self.pid}.json"
        temporary = self.folder / f".{self.pid}.json.tmp"
        temporary.write_text(json.dumps(self.snapshot()))
        temporary.replace(target)

    async def publish_forever(self) -> None:
        """Fold the hot path's recorders (bounding them to a second of requests) and publish,
        once a second, on the event loop."""
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.stats.fold()
            with contextlib.suppress(OSError):
                self.flush()
            self.stats.next_lag_interval()

    async def probe_loop_lag_forever(self, tracer: StallTracer | None = None) -> None:
        """Sleep briefly, over and over, and record how late each wake-up came: the longest
        time the event loop spent on something else (a stall every request then waits out).
        ``tracer``, if given, writes down what held the loop whenever a wake-up is late."""
        loop = asyncio.get_running_loop()
        observe = self.stats.observe_loop_lag
        if tracer is not None:
            tracer.arm()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_INTERVAL_S)
            lag = max(0.0, loop.time() - started - LAG_PROBE_INTERVAL_S)
            observe(lag)
            if tracer is not None:
                tracer.tick(lag)

    # -- exposition -------------------------------------------------------------------------

    def _processes(self) -> Iterator[tuple[dict[str, object], bool]]:
        """Every process's latest snapshot (ours live), and whether that process is alive."""
        yield self.snapshot(), True
        if self.folder is None:
            return
        for path in self.folder.glob("*.json"):
            if path.stem == str(self.pid):
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            yield data, _alive(int(data.get("pid", 0)))

    def render(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry)


def _cumulative(buckets: list[float]) -> list[tuple[str, float]]:
    """Prometheus's cumulative buckets from a count per bound (then +Inf, then the sum)."""
    cumulative, running = [], 0.0
    for bound, count in zip([*map(str, LATENCY_BOUNDS), "+Inf"], buckets[:-1], strict=True):
        running += count
        cumulative.append((bound, running))
    return cumulative


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Collector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        requests: dict[tuple[str, ...], float] = {}
        latency: dict[tuple[str, ...], list[float]] = {}
        db_errors: dict[str, float] = {}
        loop_lag = _empty_buckets()
        live: list[dict[str, object]] = []
        for data, alive in self.metrics._processes():
            for *key, count in data.get("requests", []):  # type: ignore[attr-defined]
                requests[tuple(key)] = requests.get(tuple(key), 0) + count
            for *key, buckets in data.get("latency", []):  # type: ignore[attr-defined]
                total = latency.setdefault(tuple(key), [0.0] * len(buckets))
                for i, value in enumerate(buckets):
                    total[i] += value
            for operation, count in data.get("db_errors", []):  # type: ignore[attr-defined]
                db_errors[operation] = db_errors.get(operation, 0) + count
            for i, value in enumerate(data.get("loop_lag", [])):  # type: ignore[arg-type]
                loop_lag[i] += value
            if alive:
                live.append(data)

        counter = CounterMetricFamily(
            "withheld_http_requests",
            "HTTP requests answered.",
            labels=["route", "method", "status"],
        )
        for key, count in sorted(requests.items()):
            counter.add_metric(list(key), count)
        yield counter

        histogram = HistogramMetricFamily(
            "withheld_http_request_duration_seconds",
            "Time to answer, in the application.",
            labels=["route", "method"],
        )
        for key, buckets in sorted(latency.items()):
            histogram.add_metric(list(key), _cumulative(buckets), sum_value=buckets[-1])
        yield histogram

        lag = HistogramMetricFamily(
            "withheld_event_loop_lag_seconds",
            f"How late the event loop woke a probe that sleeps {LAG_PROBE_INTERVAL_S} s: "
            "time every request waited behind other work.",
        )
        lag.add_metric([], _cumulative(loop_lag), sum_value=loop_lag[-1])
        yield lag
        lag_max = GaugeMetricFamily(
            "withheld_event_loop_lag_max_seconds",
            "The longest event loop lag in the last one to two seconds.",
            labels=["pid"],
        )

        errors = CounterMetricFamily(
            "withheld_db_errors", "Database operations that failed.", labels=["operation"]
        )
        for operation, count in sorted(db_errors.items()):
            errors.add_metric([operation], count)
        yield errors

        families = {
            "revision": GaugeMetricFamily(
                "withheld_revision_applied",
                "Changelog revision this process reflects.",
                labels=["pid"],
            ),
            "head": GaugeMetricFamily(
                "withheld_revision_head",
                "Newest changelog revision this process has seen.",
                labels=["pid"],
            ),
            "lag_revisions": GaugeMetricFamily(
                "withheld_sync_lag_revisions", "Head minus applied revision.", labels=["pid"]
            ),
            "since_sync": GaugeMetricFamily(
                "withheld_sync_age_seconds",
                "Seconds since the last successful database sync.",
                labels=["pid"],
            ),
            "db_up": GaugeMetricFamily(
                "withheld_database_up",
                "1 when the last database contact succeeded.",
                labels=["pid"],
            ),
        }
        pairs = GaugeMetricFamily(
            "withheld_index_pairs",
            "Withheld pairs in memory by country.",
            labels=["pid", "country"],
        )
        memory = GaugeMetricFamily(
            "withheld_index_bytes", "Approximate index memory.", labels=["pid"]
        )
        for data in live:
            pid = str(data["pid"])
            gauges = data.get("gauges", {})
            assert isinstance(gauges, dict)
            for name, family in families.items():
                if name in gauges:
                    family.add_metric([pid], float(gauges[name]))
            for country, count in sorted(gauges.get("pairs", {}).items()):
                pairs.add_metric([pid, country], count)
            if "index_bytes" in gauges:
                memory.add_metric([pid], float(gauges["index_bytes"]))
            if "loop_lag_max" in data:
                lag_max.add_metric([pid], float(data["loop_lag_max"]))  # type: ignore[arg-type]
        yield lag_max
        yield from families.values()
        yield pairs
        yield memory


class RequestMetrics:
    """ASGI layer: one observation per HTTP response, by route template and status."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.stats.observe(template, scope["method"], status, time.perf_counter() - started)
