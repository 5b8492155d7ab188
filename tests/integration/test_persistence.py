"""State lives in the database, not in the process: restarts keep it, a fresh database is migrated
on start, and several apps on one database agree (within 1 s, or at once with ``min_revision``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from tests.support.apps import ClientFactory, make_settings, running_app
from tests.support.http import (
    current_revision,
    history,
    is_visible,
    lift,
    ok,
    revision_of,
    withhold,
)
from tests.support.times import in_future, instant
from tests.support.tokens import AUTH
from tests.support.waiting import wait_until

ACCOUNTS = ("12", "34", "56", "78", "9223372036854775807")
COUNTRIES = ("IN", "US", "DE")
PROPAGATION_BOUND_S = 1.0


def observe(client: TestClient) -> dict[str, Any]:
    """Everything the API says about the accounts these tests write to."""
    ready = client.get("/readyz").json()
    return {
        "revision": ready["revision"],
        "pairs": ready["pairs"],
        "histories": [history(client, a, include_lifted=True) for a in ACCOUNTS],
        "visibility": {(a, c): is_visible(client, a, c) for a in ACCOUNTS for c in COUNTRIES},
    }


def write_some_history(client: TestClient) -> None:
    ok(withhold(client, "12", "IN", order_ref="A-1", expires_at="2099-01-01T00:00:00Z"), 201)
    ok(withhold(client, "34", "XX"), 201)
    lifted = lift(client, "34", "XX", {"reason": "court_ruling", "note": "overturned"})
    assert lifted.status_code == 204, lifted.text
    ok(withhold(client, "34", "DE", reason="second order"), 201)
    bulk = client.post(
        "/withholdings/bulk",
        json={
            "reason": "bulk",
            "items": [
                {"account": "56", "country": "US"},
                {"account": "9223372036854775807", "country": "IN"},
            ],
        },
        headers=AUTH,
    )
    assert bulk.status_code == 201, bulk.text
    assert withhold(client, "12", "IN", reason="terms updated").status_code == 200


# -- restarts -------------------------------------------------------------------------------------


def test_restart_keeps_visibility_and_rule_history(
    database_url: str, make_client: ClientFactory
) -> None:
    with running_app(database_url) as first:
        write_some_history(first)
        before = observe(first)

    restarted = make_client()

    assert observe(restarted) == before
    assert not is_visible(restarted, "12", "IN")
    assert is_visible(restarted, "34", "IN")
    assert not is_visible(restarted, "34", "DE")
    (lifted,) = [
        r for r in history(restarted, "34", include_lifted=True)["rules"] if r["lifted_at"]
    ]
    assert (lifted["country"], lifted["lift_reason"]) == ("XX", "court_ruling")


def test_revisions_keep_increasing_across_a_restart(
    database_url: str, make_client: ClientFactory
) -> None:
    with running_app(database_url) as first:
        last = revision_of(withhold(first, "12", "IN"))

    restarted = make_client()
    assert revision_of(restarted.get("/healthz")) == last
    after_restart = withhold(restarted, "12", "US")

    assert revision_of(after_restart) > last


def test_fresh_empty_database_is_migrated_on_start(make_client: ClientFactory) -> None:
    client = make_client()

    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert ready.json()["pairs"] == 0
    assert history(client, "12", include_lifted=True)["rules"] == []
    ok(withhold(client, "12", "IN"), 201)
    assert not is_visible(client, "12", "IN")


def test_starting_again_on_a_migrated_database_needs_no_manual_step(
    database_url: str, make_client: ClientFactory
) -> None:
    for _ in range(2):
        with running_app(database_url) as client:
            assert client.get("/readyz").status_code == 200

    client = make_client()
    ok(withhold(client, "12", "IN"), 201)


def test_rule_that_expired_while_no_app_ran_is_lifted_after_restart(
    database_url: str, make_client: ClientFactory
) -> None:
    with running_app(database_url) as first:
        rule = ok(withhold(first, "12", "IN", expires_at=in_future(1.0)), 201)
    expires_at = instant(rule["expires_at"])
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.1)

    restarted = make_client()
    wait_until(lambda: is_visible(restarted, "12", "IN"), timeout=2.0)

    (expired,) = history(restarted, "12", include_lifted=True)["rules"]
    assert expired["lift_reason"] == "expired"
    assert instant(expired["lifted_at"]) == expires_at


# -- two apps on one database ---------------------------------------------------------------------


def test_write_through_one_app_is_visible_through_another_within_a_second(
    make_client: ClientFactory,
) -> None:
    writer, reader = make_client(), make_client()
    assert is_visible(reader, "12", "IN")

    ok(withhold(writer, "12", "IN"), 201)
    wait_until(lambda: not is_visible(reader, "12", "IN"), timeout=PROPAGATION_BOUND_S)

    assert lift(reader, "12", "IN").status_code == 204
    wait_until(lambda: is_visible(writer, "12", "IN"), timeout=PROPAGATION_BOUND_S)

    bulk = writer.post(
        "/withholdings/bulk",
        json={"reason": "r", "items": [{"account": "56", "country": "XX"}]},
        headers=AUTH,
    )
    assert bulk.status_code == 201, bulk.text
    wait_until(lambda: not is_visible(reader, "56", "BR"), timeout=PROPAGATION_BOUND_S)


def test_history_written_through_one_app_is_read_through_another_at_once(
    make_client: ClientFactory,
) -> None:
    writer, reader = make_client(), make_client()

    rule = ok(withhold(writer, "12", "IN", order_ref="A-1"), 201)

    assert history(reader, "12") == history(writer, "12")
    assert [r["id"] for r in history(reader, "12")["rules"]] == [rule["id"]]


SEND_WITH_MIN_REVISION: list[Any] = [
    lambda c, rev: c.get(f"/visible?account=12&country=IN&min_revision={rev}"),
    lambda c, rev: c.get(f"/visible?account=12&country=%49N&min_revision={rev}"),
    lambda c, rev: c.post(
        f"/visible?min_revision={rev}", json={"country": "IN", "accounts": ["12"]}
    ),
]


def visible_at(client: TestClient, revision: int) -> list[bool]:
    """Visibility of 12 in India, asked every way with ``min_revision``."""
    answers: list[bool] = []
    for send in SEND_WITH_MIN_REVISION:
        response: httpx.Response = send(client, revision)
        assert response.status_code == 200, response.text
        assert revision_of(response) >= revision
        body = response.json()
        answers.append(body["visible"] if "visible" in body else body["results"][0]["visible"])
    return answers


def test_min_revision_of_a_write_reads_it_at_once_through_another_app(
    make_client: ClientFactory, database_url: str
) -> None:
    writer = make_client()
    # A reader that would not poll for an hour (beyond what the settings allow), so that only
    # min_revision can bring it up to date: without it each read below is a 503 after 1 s.
    settings = make_settings(database_url).model_copy(update={"poll_interval_s": 3600.0})
    with TestClient(create_app(settings), raise_server_exceptions=False) as reader:
        assert is_visible(reader, "12", "IN")

        withheld = withhold(writer, "12", "IN")
        ok(withheld, 201)
        if database_url.startswith("sqlite"):
            # Nothing else wakes it here (PostgreSQL's NOTIFY would): it is still behind.
            assert is_visible(reader, "12", "IN")
        assert visible_at(reader, revision_of(withheld)) == [False, False, False]

        lifted = lift(writer, "12", "IN")
        assert lifted.status_code == 204
        assert visible_at(reader, revision_of(lifted)) == [True, True, True]


def test_revisions_increase_across_apps_sharing_a_database(make_client: ClientFactory) -> None:
    first, second = make_client(), make_client()

    revisions = [
        revision_of(withhold(first, "12", "IN")),
        revision_of(withhold(second, "12", "US")),
        revision_of(lift(first, "12", "US")),
        revision_of(withhold(second, "34", "XX")),
    ]

    assert revisions == sorted(set(revisions))
    wait_until(
        lambda: current_revision(first) == current_revision(second) == revisions[-1],
        timeout=PROPAGATION_BOUND_S,
    )


def test_expiry_with_two_apps_is_recorded_once(make_client: ClientFactory) -> None:
    first, second = make_client(), make_client()
    rule = ok(withhold(first, "12", "IN", expires_at=in_future(1.0)), 201)
    expires_at = instant(rule["expires_at"])
    deadline_s = (expires_at - datetime.now(UTC) + timedelta(seconds=2)).total_seconds()

    wait_until(
        lambda: is_visible(first, "12", "IN") and is_visible(second, "12", "IN"),
        timeout=deadline_s,
    )

    rules = history(second, "12", include_lifted=True)["rules"]
    assert len(rules) == 1
    assert rules[0]["lift_reason"] == "expired"
    assert instant(rules[0]["lifted_at"]) == expires_at
    wait_until(
        lambda: current_revision(first) == current_revision(second),
        timeout=PROPAGATION_BOUND_S,
    )
