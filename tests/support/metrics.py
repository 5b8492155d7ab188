"""/metrics of a real server: its samples, and the traffic whose totals two workers must add up."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.tokens import AUTH

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(base: str) -> Samples:
    """Every sample ``base/metrics`` answers, by name and sorted labels."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def request_count(scraped: Samples, route: str, method: str, status: str) -> float:
    key = (
        "withheld_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return scraped.get(key, 0.0)


def send_traffic(base: str) -> None:
    """One PUT, then 200 good and 30 bad lookups, each on a new connection (so every worker
    answers some); then time for every worker to publish its counters."""
    put = httpx.put(
        f"{base}/accounts/5/withholdings/IN", json={"reason": "m"}, headers=AUTH, timeout=10
    )
    assert put.status_code == 201
    with httpx.Client(base_url=base, timeout=10) as http:
        for account, times in (("5", 200), ("x", 30)):
            for _ in range(times):
                http.get(
                    "/visible",
                    params={"account": account, "country": "IN"},
                    headers={"connection": "close"},
                )
    time.sleep(2.5)  # every worker publishes once a second


def assert_two_worker_totals(base: str) -> None:
    """After ``send_traffic``: whichever worker answers /metrics, the totals are the sums over
    both, and each worker reports its gauges."""
    for _ in range(6):
        _assert_two_worker_totals_in(samples(base))


def _assert_two_worker_totals_in(scraped: Samples) -> None:
    assert request_count(scraped, "/visible", "GET", "200") == 200
    assert request_count(scraped, "/visible", "GET", "422") == 30
    assert request_count(scraped, "/accounts/{account}/withholdings/{country}", "PUT", "201") == 1
    pids = {dict(labels)["pid"] for name, labels in scraped if name == "withheld_revision_applied"}
    assert len(pids) == 2
    assert all(
        value == 1 for (name, _), value in scraped.items() if name == "withheld_revision_applied"
    )
    in_india = [
        value
        for (name, labels), value in scraped.items()
        if name == "withheld_index_pairs" and dict(labels)["country"] == "IN"
    ]
    assert in_india == [1.0, 1.0]
    histogram_count = scraped[
        (
            "withheld_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/visible")),
        )
    ]
    assert histogram_count == 230
