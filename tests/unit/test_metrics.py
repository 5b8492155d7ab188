"""The hot path's latency recorder counts exactly as ``RequestStats.observe`` does."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.edge.metrics import LATENCY_BOUNDS, RequestStats

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
    assert stats.to_json() == {"requests": [], "latency": [], "db_errors": []}
