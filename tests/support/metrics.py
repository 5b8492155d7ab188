"""/metrics of a real server: its samples, what its workers publish, and the traffic whose totals
two workers must add up."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.tokens import AUTH
from tests.support.waiting import wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# Every worker publishes its counters once a second; two and a half seconds see both publish.
PUBLISHED_WITHIN_S = 2.5
GOOD_LOOKUPS, BAD_LOOKUPS = 200, 30  # good ones per round; bad ones once
MAX_ROUNDS = 20


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


def default_folder(supervisor_pid: int) -> Path:
    """Where the workers of the server process ``supervisor_pid`` publish when
    WITHHELD_METRICS_DIR is not set: a folder of their own in the temporary directory."""
    found = list(Path(tempfile.gettempdir()).glob(f"withheld-metrics-{supervisor_pid}-*"))
    assert len(found) == 1, found
    return found[0]


def published(folder: Path) -> list[dict[str, Any]]:
    """The latest counters and gauges each worker published to ``folder``."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def requests_by_worker(folder: Path, route: str, method: str, status: str) -> list[int]:
    """Requests each worker counted, from what the workers published to ``folder``."""
    return [
        sum(count for *key, count in snapshot["requests"] if key == [route, method, status])
        for snapshot in published(folder)
    ]


@dataclass(frozen=True)
class Traffic:
    """What ``send_traffic`` sent: the totals two workers' /metrics must add up to."""

    good: int
    bad: int = BAD_LOOKUPS

    @property
    def lookups(self) -> int:
        return self.good + self.bad


def send_traffic(base: str, folder: Path) -> Traffic:
    """One PUT, then rounds of good lookups, each on a new connection, until both workers have
    answered some (the kernel may hand one worker every accept in a row), then the bad lookups;
    each round waits until both workers have published it to ``folder``."""
    put = httpx.put(
        f"{base}/accounts/5/withholdings/IN", json={"reason": "m"}, headers=AUTH, timeout=10
    )
    assert put.status_code == 201
    good = 0
    with httpx.Client(base_url=base, timeout=10) as http:

        def lookups(account: str, times: int) -> None:
            for _ in range(times):
                http.get(
                    "/visible",
                    params={"account": account, "country": "IN"},
                    headers={"connection": "close"},
                )

        for _ in range(MAX_ROUNDS):
            lookups("5", GOOD_LOOKUPS)
            good += GOOD_LOOKUPS
            _wait_for_publication(folder, Traffic(good, bad=0))
            if all(requests_by_worker(folder, "/visible", "GET", "200")):
                break
        else:
            raise AssertionError(f"one worker answered all {good} lookups in {MAX_ROUNDS} rounds")
        lookups("x", BAD_LOOKUPS)
    traffic = Traffic(good)
    _wait_for_publication(folder, traffic)
    return traffic


def _wait_for_publication(folder: Path, traffic: Traffic) -> None:
    wait_until(
        lambda: _both_published(folder, traffic),
        timeout=PUBLISHED_WITHIN_S,
        message=f"the workers did not publish {traffic} within {PUBLISHED_WITHIN_S} s",
    )


def _both_published(folder: Path, traffic: Traffic) -> bool:
    """Each worker answers /metrics from its own counters and what the others published: once
    both have published every request and the PUT, either one answers the full totals."""
    snapshots = published(folder)

    def total(route: str, method: str, status: str) -> int:
        key = [route, method, status]
        return sum(n for snapshot in snapshots for *k, n in snapshot["requests"] if k == key)

    return (
        len(snapshots) == 2
        and all(
            snapshot["gauges"]["revision"] == 1 and snapshot["gauges"]["pairs"].get("IN") == 1
            for snapshot in snapshots
        )
        and total("/visible", "GET", "200") == traffic.good
        and total("/visible", "GET", "422") == traffic.bad
        and total("/accounts/{account}/withholdings/{country}", "PUT", "201") == 1
    )


def assert_two_worker_totals(base: str, traffic: Traffic) -> None:
    """After ``send_traffic``: whichever worker answers /metrics, the totals are the sums over
    both, and each worker reports its gauges."""
    for _ in range(6):
        _assert_two_worker_totals_in(samples(base), traffic)


def _assert_two_worker_totals_in(scraped: Samples, traffic: Traffic) -> None:
    assert request_count(scraped, "/visible", "GET", "200") == traffic.good
    assert request_count(scraped, "/visible", "GET", "422") == traffic.bad
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
    assert histogram_count == traffic.lookups
