"""The hot path's latency recorder counts exactly as ``RequestStats.observe`` does; the event
loop's lag is measured and exported."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from app.edge.metrics import LAG_PROBE_INTERVAL_S, LATENCY_BOUNDS, Metrics, RequestStats
from app.edge.stall_trace import StallTracer

# Seconds on, beside and between the bucket bounds, and beyond the last one.
SECONDS = st.one_of(
    st.sampled_from([0.0, *LATENCY_BOUNDS, 7.5]),
    st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
)


def _buckets(report: dict[str, Any]) -> dict[tuple[str, str], list[float]]:
    return {(route, method): buckets for route, method, buckets in report["latency"]}


def _observed(seconds: list[float]) -> dict[str, Any]:
    stats = RequestStats()
    for value in seconds:
        stats.observe("/visible", "GET", 200, value)
    return stats.to_json()


@given(first=st.lists(SECONDS, max_size=50), second=st.lists(SECONDS, max_size=50))
def test_recorded_latencies_count_as_observed_ones_folded_or_not(
    first: list[float], second: list[float]
) -> None:
    stats = RequestStats()
    recorder = stats.bind("/visible", "GET", 200)
    recorder.extend(first)
    stats.fold()
    assert recorder == []
    recorder.extend(second)  # still pending: to_json counts it without folding
    got = stats.to_json()
    assert recorder == second
    want = _observed(first + second)
    assert got["requests"] == want["requests"]
    assert _buckets(got).keys() == _buckets(want).keys()
    for key, buckets in _buckets(got).items():
        wanted = _buckets(want)[key]
        assert buckets[:-1] == wanted[:-1]  # counts per bucket, exactly
        assert abs(buckets[-1] - wanted[-1]) <= 1e-9 * max(1.0, wanted[-1])  # sum of seconds


def test_nothing_recorded_reports_nothing() -> None:
    stats = RequestStats()
    stats.bind("/visible", "GET", 200)
    stats.fold()
    report = stats.to_json()
    assert {key: report[key] for key in ("requests", "latency", "db_errors")} == {
        "requests": [],
        "latency": [],
        "db_errors": [],
    }
    assert report["loop_lag"] == [0.0] * (len(LATENCY_BOUNDS) + 2)
    assert report["loop_lag_max"] == 0.0


def test_a_blocked_event_loop_shows_as_lag() -> None:
    """The lag probe records a stall as long as it was, and /metrics exports it both ways."""
    metrics = Metrics(None, dict)

    async def stall_then_wait() -> None:
        probe = asyncio.create_task(metrics.probe_loop_lag_forever())
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - the stall: nothing else runs on the loop meanwhile
        deadline = time.monotonic() + 5
        # The probe wakes within a tick of the stall's end; bounded, in case it never does.
        while max(metrics.stats.loop_lag_max) < 0.25 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        probe.cancel()

    asyncio.run(stall_then_wait())
    scraped = {
        (sample.name, sample.labels.get("le")): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if family.name.startswith("withheld_event_loop_lag")
    }
    assert scraped[("withheld_event_loop_lag_max_seconds", None)] >= 0.25
    below, at_most = (
        scraped[("withheld_event_loop_lag_seconds_bucket", le)] for le in ("0.25", "0.5")
    )
    assert at_most - below == 1  # the one stall, in its bucket
    assert scraped[("withheld_event_loop_lag_seconds_sum", None)] >= 0.25


def _hold_the_loop() -> None:
    time.sleep(0.3)  # the stall the trace must name


def test_a_stall_trace_names_what_held_the_loop(tmp_path: Path) -> None:
    """With a tracer, a stall longer than its threshold leaves every thread's stack in the file
    (the function that held the loop among them), then a line saying how long it was."""
    trace = tmp_path / "stalls.txt"
    metrics = Metrics(None, dict)
    tracer = StallTracer(trace, threshold_s=0.1, interval_s=LAG_PROBE_INTERVAL_S)

    async def stall_then_wait() -> None:
        probe = asyncio.create_task(metrics.probe_loop_lag_forever(tracer))
        await asyncio.sleep(0.05)
        _hold_the_loop()
        deadline = time.monotonic() + 5
        while "stalled" not in trace.read_text() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        probe.cancel()

    try:
        asyncio.run(stall_then_wait())
    finally:
        tracer.close()
    text = trace.read_text()
    stacks, _, after = text.partition("event loop stalled ")
    assert "Timeout" in stacks, text
    assert "_hold_the_loop" in stacks, text
    held_ms = float(after.split(" ms")[0])
    assert 250 <= held_ms < 5000, text
    assert text.count("_hold_the_loop") == 1, "one stall, one trace"
