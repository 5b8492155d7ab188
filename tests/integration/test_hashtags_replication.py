"""Hashtag restrictions across processes and restarts, on each database: another replica sees a
write within 1 s (at once with ``min_revision``), a restart keeps every restriction and its
history, and a snapshot carries them (a start from it, plus the changelog after it, agrees)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.db import Database
from app.main import create_app
from app.replication.indexes import Indexes
from app.repositories import snapshots
from tests.support.apps import ClientFactory, make_settings
from tests.support.hashtags import eligible
from tests.support.servers import running
from tests.support.tokens import ADMIN_TOKEN, AUTH
from tests.support.waiting import wait_until

PROPAGATION_BOUND_S = 1.0


@contextmanager
def app_on(database_url: str, **overrides: object) -> Iterator[TestClient]:
    with TestClient(
        create_app(make_settings(database_url, **overrides)), raise_server_exceptions=False
    ) as client:
        yield client


def restrict(client: TestClient, hashtag: str, country: str, **body: Any) -> httpx.Response:
    response: httpx.Response = client.put(
        f"/hashtags/{hashtag}/restrictions/{country}",
        json={"reason": "harmful", **body},
        headers=AUTH,
    )
    return response


def lift(client: TestClient, hashtag: str, country: str) -> httpx.Response:
    response: httpx.Response = client.request(
        "DELETE", f"/hashtags/{hashtag}/restrictions/{country}", headers=AUTH
    )
    return response


def batch_flags(client: TestClient, country: str, hashtags: list[str]) -> list[bool]:
    response = client.post("/hashtags/eligible", json={"country": country, "hashtags": hashtags})
    assert response.status_code == 200, response.text
    return [item["eligible"] for item in response.json()["results"]]


def everything(client: TestClient, hashtags: list[str]) -> dict[str, Any]:
    """What the API says about these hashtags: histories and eligibility."""
    return {
        "histories": [
            client.get(f"/hashtags/{tag}/restrictions", params={"include_lifted": "true"}).json()
            for tag in hashtags
        ],
        "eligible": {
            country: batch_flags(client, country, hashtags) for country in ("IN", "US", "DE")
        },
        "revision": client.get("/readyz").json()["revision"],
    }


# -- two apps on one database ---------------------------------------------------------------------


def test_a_restriction_through_one_app_reaches_another_within_a_second(
    make_client: ClientFactory,
) -> None:
    writer, reader = make_client(), make_client()
    assert eligible(reader, "farmersprotest", "IN")
    assert restrict(writer, "%23FarmersProtest", "IN").status_code == 201
    wait_until(lambda: not eligible(reader, "farmersprotest", "IN"), timeout=PROPAGATION_BOUND_S)
    assert batch_flags(reader, "IN", ["FarmersProtest", "x"]) == [False, True]
    assert lift(reader, "farmersprotest", "IN").status_code == 204
    wait_until(lambda: eligible(writer, "farmersprotest", "IN"), timeout=PROPAGATION_BOUND_S)
    assert restrict(writer, "everywhere", "XX").status_code == 201
    wait_until(lambda: not eligible(reader, "everywhere", "BR"), timeout=PROPAGATION_BOUND_S)


def test_min_revision_of_a_restriction_reads_it_at_once_through_another_app(
    make_client: ClientFactory,
) -> None:
    writer, reader = make_client(), make_client(poll_interval_s=1.0)
    response = restrict(writer, "farmersprotest", "IN")
    revision = response.headers["x-withheld-revision"]
    assert not eligible(reader, "farmersprotest", "IN", min_revision=revision)
    answer = reader.post(
        "/hashtags/eligible",
        params={"min_revision": revision},
        json={"country": "IN", "hashtags": ["farmersprotest"]},
    )
    assert answer.json()["results"][0]["eligible"] is False


def test_an_expiry_with_two_apps_is_recorded_once(make_client: ClientFactory) -> None:
    first, second = make_client(), make_client()
    expires = datetime.now(UTC) + timedelta(seconds=1)
    written = restrict(first, "brief", "IN", expires_at=expires.isoformat())
    assert written.status_code == 201
    # The second app has the restriction before the wait for its expiry: without this, a second
    # app not caught up yet looks "expired" at once, and the first is then given too little time.
    revision = written.headers["x-withheld-revision"]
    eligible(second, "brief", "IN", min_revision=revision)
    wait_until(lambda: eligible(second, "brief", "IN"), timeout=3.0)
    wait_until(lambda: eligible(first, "brief", "IN"), timeout=PROPAGATION_BOUND_S)
    changes = first.get("/changes").json()["changes"]
    assert [(c["op"], c["hashtag"]) for c in changes] == [("restrict", "brief"), ("lift", "brief")]


@pytest.mark.slow
def test_a_restriction_reaches_every_worker_of_another_server_within_a_second(
    database_url: str,
) -> None:
    env = {"WITHHELD_ADMIN_TOKENS": f"alice:{ADMIN_TOKEN}"}
    with running(database_url, workers=[1, 2], env=env) as (one, two):
        written = httpx.put(
            f"{one.url}/hashtags/%23FarmersProtest/restrictions/IN",
            json={"reason": "harmful"},
            headers=AUTH,
            timeout=10,
        )
        assert written.status_code == 201, written.text
        started = time.monotonic()

        def restricted_on_both_workers() -> bool:
            answers = [
                httpx.get(
                    f"{two.url}/hashtags/eligible",
                    params={"hashtag": "farmersprotest", "country": "IN"},
                    timeout=5,
                ).json()["eligible"]
                for _ in range(10)  # the second server's two workers both answer
            ]
            return answers == [False] * 10

        while not restricted_on_both_workers():
            assert time.monotonic() - started <= PROPAGATION_BOUND_S + 0.5, "not within 1 s"
            time.sleep(0.02)
        # Every worker keeps answering so, and other countries are untouched.
        for _ in range(20):
            answer = httpx.post(
                f"{two.url}/hashtags/eligible",
                json={"country": "IN", "hashtags": ["FarmersProtest", "cricket"]},
                timeout=5,
            ).json()
            assert [r["eligible"] for r in answer["results"]] == [False, True]
        other = httpx.get(
            f"{two.url}/hashtags/eligible",
            params={"hashtag": "farmersprotest", "country": "US"},
            timeout=5,
        )
        assert other.json()["eligible"] is True


# -- restarts and snapshots ---------------------------------------------------------------------

TAGS = ["farmersprotest", "strasse", "later", "gone"]


def write_some_history(client: TestClient) -> None:
    assert restrict(client, "%23FarmersProtest", "IN").status_code == 201
    assert restrict(client, "Stra%C3%9Fe", "XX", order_ref="A-1").status_code == 201
    assert restrict(client, "gone", "DE").status_code == 201
    assert lift(client, "gone", "DE").status_code == 204
    far = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert restrict(client, "later", "US", expires_at=far).status_code == 201


def test_a_restart_keeps_restrictions_and_their_history(database_url: str) -> None:
    with app_on(database_url) as first:
        write_some_history(first)
        before = everything(first, TAGS)
    with app_on(database_url) as restarted:
        assert everything(restarted, TAGS) == before
        assert before["eligible"]["IN"] == [False, False, True, True]
        assert before["eligible"]["US"] == [True, False, False, True]
        again = restrict(restarted, "another", "IN")
        assert int(again.headers["x-withheld-revision"]) == before["revision"] + 1


def test_a_restriction_that_expired_while_no_app_ran_is_lifted_after_restart(
    database_url: str,
) -> None:
    with app_on(database_url) as first:
        expires = datetime.now(UTC) + timedelta(seconds=1)
        assert restrict(first, "brief", "IN", expires_at=expires.isoformat()).status_code == 201
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    with app_on(database_url) as restarted:
        wait_until(lambda: eligible(restarted, "brief", "IN"), timeout=2.0)
        (expired,) = restarted.get(
            "/hashtags/brief/restrictions", params={"include_lifted": "true"}
        ).json()["restrictions"]
        assert expired["lift_reason"] == "expired"
        assert datetime.fromisoformat(expired["lifted_at"]) == expires


def test_a_snapshot_carries_restrictions_and_a_start_from_it_agrees(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        with app_on(database_url, snapshot_every_changes=1, snapshot_check_s=0.05) as first:
            write_some_history(first)
            head = first.get("/readyz").json()["revision"]

            def latest() -> tuple[int, bytes] | None:
                with db.reading() as session:
                    return snapshots.latest(session)

            wait_until(lambda: (latest() or (0, b""))[0] >= head, timeout=5.0)
            stored = latest()
            assert stored is not None
            indexes = Indexes.from_bytes(stored[1])
            assert set(indexes.hashtags.pairs()) == {
                ("farmersprotest", "IN"),
                ("strasse", "XX"),
                ("later", "US"),
            }
            before = everything(first, TAGS)
        # Written after the snapshot: a start replays it from the changelog.
        with app_on(database_url) as second:
            assert lift(second, "farmersprotest", "IN").status_code == 204
            after = everything(second, TAGS)
        with app_on(database_url) as restarted:
            assert everything(restarted, TAGS) == after
            assert after["eligible"]["IN"] == [True, False, True, True]
            assert after["revision"] == before["revision"] + 1
    finally:
        db.dispose()
