"""A realistic load for withheld: timelines asking about authors, now and then a moderator writing.

Mix per simulated client (``FastHttpUser``): ~90% single ``GET /visible`` lookups, ~8% ``POST
/visible`` batches of 10 to 100 ids (a timeline page), ~2% writes — withhold an account in a country
(``PUT``) or lift one this client withheld earlier (``DELETE``) — with the admin token from
``WITHHELD_TOKEN`` (without it the writes are skipped and a warning says so).

Account ids are snowflake-like (41-bit millisecond time since Twitter's epoch, 22 low bits),
drawn from a pool of 100,000 with Zipf-like popularity (exponent 1.1: a few accounts are in most
timelines). At test start the withheld part of the pool is loaded with one ``POST
/withholdings/bulk`` (idempotent): a fifth of the 1,000 most popular accounts and 2% of the rest,
a tenth of them in ``XX``. Viewer countries are weighted (IN, US, BR, ID, JP, DE, TR, …).

Every response is checked (``catch_response``): a lookup must be 200 with the account and
country echoed and a boolean ``visible``; a batch must answer every id in order; a withhold 200 or
201; a lift 204, or 404 when another client lifted it first. Anything else is a failure.

Headless, bounded, failing on any error (server on CPU 1, locust on CPU 0)::

    WITHHELD_TOKEN=<an admin token> taskset -c 0 .venv/bin/locust -f bench/locustfile.py \\
        --headless -u 50 -r 10 -t 60s -H http://127.0.0.1:8000 \\
        --csv /tmp/withheld-locust --only-summary --exit-code-on-error 1

One locust process generates roughly 3k requests/s per core here, less than one server process
answers, so this measures behaviour under a realistic mix, not the ceiling (``bench.run`` uses
wrk for that). ``tests/integration/test_locust_smoke.py`` runs it for 5 s against SQLite and
PostgreSQL.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
from typing import Any, Final

import httpx
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

log = logging.getLogger("withheld.locust")

TOKEN: Final = os.environ.get("WITHHELD_TOKEN", "")
POOL_SIZE: Final = 100_000
ZIPF_EXPONENT: Final = 1.1
SEED: Final = 20_210_201
SNOWFLAKE_EPOCH_MS: Final = 1_288_834_974_657
# Viewer countries weighted roughly by audience size; rules name the same countries (or XX).
VIEWER_COUNTRIES: Final = {
    "IN": 25,
    "US": 20,
    "BR": 10,
    "ID": 8,
    "JP": 8,
    "DE": 6,
    "TR": 6,
    "GB": 5,
    "FR": 4,
    "RU": 3,
    "MX": 3,
    "NG": 2,
}
LIFT_REASONS: Final = ("order_revoked", "review", "court_ruling", "other")


def _snowflake(rng: random.Random) -> int:
    """An id as Twitter mints them: milliseconds since its epoch (2012 to 2025) << 22 | 22 bits."""
    ms = rng.randrange(1_325_376_000_000, 1_735_689_600_000) - SNOWFLAKE_EPOCH_MS
    return (ms << 22) | rng.getrandbits(22)


def _make_pool() -> tuple[list[str], list[float], list[tuple[str, str]]]:
    """Ids by popularity rank, cumulative Zipf weights, and the pairs withheld at start."""
    rng = random.Random(SEED)
    ids = list(dict.fromkeys(_snowflake(rng) for _ in range(POOL_SIZE + 100)))[:POOL_SIZE]
    rng.shuffle(ids)  # popularity has nothing to do with the id
    weights = itertools.accumulate(1 / rank**ZIPF_EXPONENT for rank in range(1, POOL_SIZE + 1))
    countries, country_weights = zip(*VIEWER_COUNTRIES.items(), strict=True)
    withheld: list[tuple[str, str]] = []
    for rank, account in enumerate(ids):
        if rng.random() < (0.2 if rank < 1_000 else 0.02):
            country = "XX" if rng.random() < 0.1 else rng.choices(countries, country_weights)[0]
            withheld.append((str(account), country))
    return [str(account) for account in ids], list(weights), withheld


ACCOUNTS, CUMULATIVE_WEIGHTS, WITHHELD_AT_START = _make_pool()
COUNTRIES: Final = list(VIEWER_COUNTRIES)
COUNTRY_WEIGHTS: Final = list(itertools.accumulate(VIEWER_COUNTRIES.values()))


def withhold_part_of_the_pool(environment: Environment, **_: Any) -> None:
    """Load the withheld accounts once (on the master or the single local runner)."""
    if isinstance(environment.runner, WorkerRunner):
        return
    if not TOKEN:
        log.warning("WITHHELD_TOKEN is not set: no rules loaded at start, writes skipped")
        return
    body = {
        "reason": "locust: synthetic withholding",
        "order_ref": "LOCUST/START",
        "items": [{"account": a, "country": c} for a, c in WITHHELD_AT_START],
    }
    response = httpx.post(
        f"{environment.host}/withholdings/bulk",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"loading rules failed: {response.status_code} {response.text[:300]}")
    log.info("withheld %d pairs of the pool at start", len(WITHHELD_AT_START))


# locust leaves EventHook.add_listener unannotated.
events.test_start.add_listener(withhold_part_of_the_pool)  # type: ignore[no-untyped-call]


class TimelineClient(FastHttpUser):
    """A service rendering timelines for viewers in many countries; rarely, a moderator."""

    wait_time = between(0.0, 0.01)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.mine: list[tuple[str, str]] = []  # pairs this client withheld and may lift later

    def account(self) -> str:
        return self.rng.choices(ACCOUNTS, cum_weights=CUMULATIVE_WEIGHTS)[0]

    def country(self) -> str:
        return self.rng.choices(COUNTRIES, cum_weights=COUNTRY_WEIGHTS)[0]

    @task(90)
    def lookup(self) -> None:
        account, country = self.account(), self.country()
        with self.client.get(
            f"/visible?account={account}&country={country}",
            name="/visible",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text}")
                return
            answer = response.json()
            if (
                answer.get("account") != account
                or answer.get("country") != country
                or not isinstance(answer.get("visible"), bool)
            ):
                response.failure(f"unexpected answer: {response.text}")
            else:
                response.success()

    @task(8)
    def lookup_timeline(self) -> None:
        accounts = [self.account() for _ in range(self.rng.randint(10, 100))]
        country = self.country()
        with self.client.post(
            "/visible",
            json={"country": country, "accounts": accounts},
            name="/visible",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text}")
                return
            results = response.json().get("results", [])
            if [r.get("account") for r in results] != accounts or not all(
                isinstance(r.get("visible"), bool) for r in results
            ):
                response.failure("results do not answer the ids in order")
            else:
                response.success()

    @task(2)
    def moderate(self) -> None:
        if not TOKEN:
            return
        headers = {"Authorization": f"Bearer {TOKEN}"}
        if self.mine and self.rng.random() < 0.5:
            account, country = self.mine.pop(self.rng.randrange(len(self.mine)))
            with self.client.delete(
                f"/accounts/{account}/withholdings/{country}",
                json={"reason": self.rng.choice(LIFT_REASONS)},
                headers=headers,
                name="/accounts/[id]/withholdings/[country]",
                catch_response=True,
            ) as response:
                # 404: another client lifted the same pair first, which is the contract.
                if response.status_code in (204, 404):
                    response.success()
                else:
                    response.failure(f"status {response.status_code}: {response.text}")
            return
        account = self.account()
        country = "XX" if self.rng.random() < 0.05 else self.country()
        with self.client.put(
            f"/accounts/{account}/withholdings/{country}",
            json={"reason": "locust: synthetic order", "order_ref": "LOCUST/1"},
            headers=headers,
            name="/accounts/[id]/withholdings/[country]",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 201):
                self.mine.append((account, country))
                response.success()
            else:
                response.failure(f"status {response.status_code}: {response.text}")
