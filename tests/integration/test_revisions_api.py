"""Revisions: every response says which one it reflects, writes that change visibility move it,
and ``min_revision`` waits for one (a bounded time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    assert_json_error,
    chunks_of,
    current_revision,
    lift,
    ok,
    revision_of,
    withhold,
)
from tests.support.tokens import AUTH

Request = Callable[[TestClient], httpx.Response]

EVERY_KIND_OF_RESPONSE: list[Any] = [
    pytest.param(lambda c: c.get("/visible?account=12&country=IN"), id="fast-lookup"),
    pytest.param(lambda c: c.get("/visible?account=12&country=%49N"), id="routed-lookup"),
    pytest.param(
        lambda c: c.post("/visible", json={"country": "IN", "accounts": ["12"]}), id="batch"
    ),
    pytest.param(lambda c: c.get("/accounts/12/withholdings"), id="rules"),
    pytest.param(lambda c: c.get("/healthz"), id="healthz"),
    pytest.param(lambda c: c.get("/readyz"), id="readyz"),
    pytest.param(lambda c: c.get("/openapi.json"), id="openapi"),
    pytest.param(lambda c: c.get("/visible?account=x&country=IN"), id="422-query"),
    pytest.param(lambda c: c.post("/visible", json={"country": "IN"}), id="422-body"),
    pytest.param(lambda c: c.get("/no/such/path"), id="404-path"),
    pytest.param(lambda c: c.delete("/accounts/99/withholdings/IN", headers=AUTH), id="404-rule"),
    pytest.param(lambda c: c.put("/accounts/12/withholdings/IN", json={}), id="401"),
    pytest.param(lambda c: c.patch("/visible"), id="405"),
    pytest.param(
        lambda c: c.post("/visible", content=b" " * (9 * 1024 * 1024)), id="413-content-length"
    ),
    pytest.param(
        lambda c: c.post("/visible", content=chunks_of(b" " * (9 * 1024 * 1024), 1 << 20)),
        id="413-streamed",
    ),
]


@pytest.mark.parametrize("send", EVERY_KIND_OF_RESPONSE)
def test_every_response_carries_the_current_revision(shared: TestClient, send: Request) -> None:
    revision = current_revision(shared)
    assert revision > 0

    response = send(shared)

    assert revision_of(response) == revision


def test_each_visibility_changing_write_answers_with_its_own_higher_revision(
    client: TestClient,
) -> None:
    start = current_revision(client)

    first = withhold(client, "12", "IN")
    ok(first, 201)
    second = withhold(client, "12", "US")
    ok(second, 201)
    lifted = lift(client, "12", "IN")
    bulk = client.post(
        "/withholdings/bulk",
        json={"reason": "r", "items": [{"account": "34", "country": "IN"}]},
        headers=AUTH,
    )

    assert lifted.status_code == 204
    assert bulk.status_code == 201
    revisions = [revision_of(r) for r in (first, second, lifted, bulk)]
    assert start < revisions[0] < revisions[1] < revisions[2] < revisions[3]
    assert bulk.json()["revision"] == revisions[3]
    assert current_revision(client) == revisions[3]
    assert revision_of(client.get("/visible?account=34&country=IN")) == revisions[3]


def test_a_write_that_changes_no_visibility_keeps_the_revision(client: TestClient) -> None:
    created = withhold(client, "12", "IN")
    ok(created, 201)

    updated = withhold(client, "12", "IN", reason="new terms")
    not_found = lift(client, "99", "IN")

    assert updated.status_code == 200
    assert revision_of(updated) == revision_of(created)
    assert revision_of(not_found) == revision_of(created)


@pytest.mark.parametrize("offset", [0, -1, "all"], ids=["current", "below", "zero"])
def test_min_revision_at_or_below_the_current_revision_answers_at_once(
    shared: TestClient, offset: int | str
) -> None:
    current = current_revision(shared)
    wanted = 0 if offset == "all" else current + int(offset)
    started = time.monotonic()

    single = shared.get(f"/visible?account=12&country=IN&min_revision={wanted}")
    routed = shared.get(f"/visible?account=12&country=%49N&min_revision={wanted}")
    batch = shared.post(
        f"/visible?min_revision={wanted}", json={"country": "IN", "accounts": ["12", "56"]}
    )

    assert time.monotonic() - started < 0.5
    assert single.status_code == routed.status_code == batch.status_code == 200
    assert single.json()["visible"] is False
    assert routed.json()["visible"] is False
    assert [r["visible"] for r in batch.json()["results"]] == [False, True]


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(
            lambda c, rev: c.get(f"/visible?account=12&country=IN&min_revision={rev}"), id="get"
        ),
        pytest.param(
            lambda c, rev: c.post(
                f"/visible?min_revision={rev}", json={"country": "IN", "accounts": ["12"]}
            ),
            id="post",
        ),
    ],
)
def test_min_revision_far_ahead_is_503_with_retry_after_after_about_a_second(
    shared: TestClient, send: Callable[[TestClient, int], httpx.Response]
) -> None:
    far_ahead = current_revision(shared) + 1_000_000
    started = time.monotonic()

    response = send(shared, far_ahead)

    elapsed = time.monotonic() - started
    assert_json_error(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert 0.8 <= elapsed <= 3.0
