"""Several real server processes on one database: they agree with it, within the bound.

Each test starts uvicorn processes (one of them with ``--workers 2``) on a fresh SQLite file or a
fresh PostgreSQL database, so every worker and replica holds its own bitmaps.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import PG_ADMIN_URL
from tests.support.db_state import active_pairs
from tests.support.servers import ServerProcess, running
from tests.support.tcp_proxy import CuttableProxy
from tests.support.tokens import AUTH, SERVER_TOKENS_ENV
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

COUNTRIES = ["IN", "US", "DE"]


def withhold(base: str, account: int, country: str) -> httpx.Response:
    return httpx.put(
        f"{base}/accounts/{account}/withholdings/{country}",
        headers=AUTH,
        json={"reason": "test"},
        timeout=10,
    )


def visible(
    base: str, account: int, country: str, *, http: httpx.Client | None = None, **params: int
) -> bool:
    query: dict[str, int | str] = {"account": account, "country": country, **params}
    if http is None:
        response = httpx.get(f"{base}/visible", params=query, timeout=5)
    else:
        response = http.get(f"{base}/visible", params=query)
    assert response.status_code == 200, response.text
    flag: bool = response.json()["visible"]
    return flag


@pytest.fixture
def servers(database_url: str) -> Iterator[list[ServerProcess]]:
    """Two independent servers on one database, the second with two workers."""
    with running(database_url, workers=[1, 2], env=SERVER_TOKENS_ENV) as started:
        yield started


def test_write_through_one_process_reaches_every_worker_within_a_second(
    servers: list[ServerProcess],
) -> None:
    one, two = servers
    response = withhold(one.url, 42, "IN")
    assert response.status_code == 201
    revision = int(response.headers["x-withheld-revision"])
    assert visible(one.url, 42, "IN") is False  # same process: the very next request
    assert visible(two.url, 42, "IN", min_revision=revision) is False  # read-your-writes
    # A new connection per lookup, so the kernel spreads them over both workers; one client,
    # so that a round of 30 costs milliseconds, not the bound itself on a loaded host.
    with httpx.Client(headers={"Connection": "close"}, timeout=5) as http:
        wait_until(
            lambda: [visible(two.url, 42, "IN", http=http) for _ in range(30)] == [False] * 30,
            timeout=1.0,
            message="not withheld on every worker within a second",
        )
    assert visible(two.url, 42, "US") is True


def test_concurrent_writers_across_processes_agree_with_the_database(
    servers: list[ServerProcess], database_url: str
) -> None:
    urls = [server.url for server in servers]
    accounts = [*range(1, 41), 2**63 - 1, 10**18 + 7]
    revisions: list[int] = []
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=20) as http:
            for _ in range(25):
                base = rng.choice(urls)
                account = rng.choice(accounts)
                country = rng.choice([*COUNTRIES, "XX"])
                roll = rng.random()
                if roll < 0.45:
                    response = http.put(
                        f"{base}/accounts/{account}/withholdings/{country}",
                        headers=AUTH,
                        json={"reason": f"w{seed}"},
                    )
                    assert response.status_code in (200, 201), response.text
                elif roll < 0.85:
                    response = http.delete(
                        f"{base}/accounts/{account}/withholdings/{country}", headers=AUTH
                    )
                    assert response.status_code in (204, 404), response.text
                else:
                    items = [
                        {"account": str(rng.choice(accounts)), "country": rng.choice(COUNTRIES)}
                        for _ in range(20)
                    ]
                    response = http.post(
                        f"{base}/withholdings/bulk",
                        headers=AUTH,
                        json={"reason": "bulk", "items": items},
                    )
                    assert response.status_code in (200, 201), response.text
                with lock:
                    revisions.append(int(response.headers["x-withheld-revision"]))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))

    truth = active_pairs(database_url)
    assert truth, "the writers should have left some rules active"
    latest = max(revisions)
    differences = []
    for base in urls:
        for _ in range(4):  # several rounds so both workers of the second server answer
            for country in COUNTRIES:
                response = httpx.post(
                    f"{base}/visible",
                    params={"min_revision": latest},
                    json={"country": country, "accounts": [str(a) for a in accounts]},
                    timeout=10,
                )
                assert response.status_code == 200, response.text
                for result in response.json()["results"]:
                    account = int(result["account"])
                    expected = (account, country) not in truth and (account, "XX") not in truth
                    if result["visible"] != expected:
                        differences.append((base, account, country, result["visible"]))
    assert differences == []


def test_two_servers_with_two_workers_each_start_at_once_on_an_empty_database(
    database_url: str,
) -> None:
    with running(database_url, workers=[2, 2], env=SERVER_TOKENS_ENV) as (one, two):
        response = withhold(one.url, 7, "XX")
        assert response.status_code == 201
        revision = response.headers["x-withheld-revision"]
        for _ in range(10):
            assert visible(two.url, 7, "FR", min_revision=int(revision)) is False


@pytest.mark.postgres
def test_killed_listener_connections_reconnect_and_notify_again(pg_url: str) -> None:
    database_url = pg_url
    # A slow poll (1 s) so that a prompt answer proves the NOTIFY path works again.
    env = {**SERVER_TOKENS_ENV, "WITHHELD_POLL_INTERVAL_S": "1.0"}
    database = database_url.rsplit("/", 1)[1]
    with (
        running(database_url, count=2, env=env) as (one, two),
        psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin,
    ):
        query = (
            "SELECT pid, state, query FROM pg_stat_activity "
            "WHERE application_name = 'withheld-listener' AND datname = %s"
        )

        def listener_connections() -> dict[int, bool]:
            """Each listener connection, and whether its LISTEN has completed."""
            rows = admin.execute(query, (database,)).fetchall()
            return {pid: state == "idle" and text.startswith("LISTEN") for pid, state, text in rows}

        listeners = list(listener_connections())
        assert len(listeners) == 2
        for pid in listeners:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        def reconnected_and_listening() -> bool:
            current = listener_connections()
            return len(current) == 2 and not set(current) & set(listeners) and all(current.values())

        wait_until(
            reconnected_and_listening,
            timeout=10,
            interval=0.1,
            message="listeners did not reconnect and LISTEN again",
        )

        def withheld_on_two(account: int) -> bool:
            return not visible(two.url, account, "IN")

        lags = []
        for account in range(100, 105):
            assert withhold(one.url, account, "IN").status_code == 201
            lag = wait_until(
                partial(withheld_on_two, account),
                timeout=1.0,
                interval=0.005,
                message="not propagated within 1 s",
            )
            lags.append(lag)
        # The 1 s poll alone would average ~0.5 s; NOTIFY makes it prompt.
        assert sorted(lags)[len(lags) // 2] < 0.3, lags


def test_sigkill_during_a_bulk_write_leaves_all_or_nothing(database_url: str) -> None:
    items = [{"account": str(10**17 + n), "country": "IN"} for n in range(100_000)]
    with running(database_url, env=SERVER_TOKENS_ENV) as (server,):
        outcome: dict[str, object] = {}

        def send() -> None:
            try:
                outcome["status"] = httpx.post(
                    f"{server.url}/withholdings/bulk",
                    headers=AUTH,
                    json={"reason": "bulk", "items": items},
                    timeout=60,
                ).status_code
            except httpx.HTTPError as error:
                outcome["error"] = type(error).__name__

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(random.uniform(0.8, 2.0))
        server.kill()
        thread.join(60)
    written = active_pairs(database_url)
    assert len(written) in (0, len(items)), f"partial write: {len(written)} rules"
    if outcome.get("status") == 201:
        assert len(written) == len(items)
    # A new process on the same database loads exactly that state.
    with running(database_url, env=SERVER_TOKENS_ENV) as (server,):
        expected = not written
        assert visible(server.url, 10**17 + 5, "IN") is expected


@pytest.mark.postgres
def test_database_outage_keeps_reads_fails_writes_fast_and_catches_up_after(pg_url: str) -> None:
    url = make_url(pg_url)
    with CuttableProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        with (
            running(proxied, env=SERVER_TOKENS_ENV) as (cut_off,),
            running(pg_url, env=SERVER_TOKENS_ENV) as (direct,),
        ):
            assert withhold(cut_off.url, 1, "IN").status_code == 201
            proxy.cut()
            # Reads keep answering from memory.
            for _ in range(20):
                assert visible(cut_off.url, 1, "IN") is False
                assert visible(cut_off.url, 2, "IN") is True
            # Writes fail fast with a clear 503.
            started = time.monotonic()
            response = withhold(cut_off.url, 3, "IN")
            assert response.status_code == 503, response.text
            assert "database unavailable" in response.json()["detail"]
            assert time.monotonic() - started < 5
            ready = httpx.get(f"{cut_off.url}/readyz", timeout=10)
            assert ready.status_code == 503
            assert ready.json()["status"] == "degraded"
            # Meanwhile another replica writes; its NOTIFY never reaches the cut-off one.
            lifted = httpx.delete(
                f"{direct.url}/accounts/1/withholdings/IN", headers=AUTH, timeout=10
            )
            assert lifted.status_code == 204
            assert withhold(direct.url, 4, "DE").status_code == 201
            assert visible(cut_off.url, 4, "DE") is True  # stale but available
            proxy.restore()
            wait_until(
                lambda: not visible(cut_off.url, 4, "DE") and visible(cut_off.url, 1, "IN"),
                timeout=5,
                interval=0.05,
                message="did not catch up after the outage",
            )
            assert httpx.get(f"{cut_off.url}/readyz", timeout=10).status_code == 200
            assert withhold(cut_off.url, 5, "IN").status_code == 201
