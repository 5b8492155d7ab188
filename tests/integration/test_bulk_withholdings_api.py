"""POST /withholdings/bulk: many withholdings under one set of terms, counted."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.support.http import current_revision, history, is_visible, ok, revision_of, withhold
from tests.support.times import instant
from tests.support.tokens import AUTH


def test_bulk_withhold_creates_rules_and_counts_duplicates(client: TestClient) -> None:
    response = client.post(
        "/withholdings/bulk",
        json={
            "reason": "bulk order",
            "order_ref": "BULK-1",
            "items": [
                {"account": "12", "country": "IN"},
                {"account": "34", "country": "xx"},
                {"account": "12", "country": "in"},
                {"account": "56", "country": "US"},
            ],
        },
        headers=AUTH,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "created": 3,
        "already_active": 0,
        "duplicates": 1,
        "revision": revision_of(response),
    }
    assert not is_visible(client, "12", "IN")
    assert not is_visible(client, "34", "BR")
    assert not is_visible(client, "56", "US")
    assert is_visible(client, "56", "IN")
    (rule,) = history(client, "12")["rules"]
    assert (rule["reason"], rule["order_ref"]) == ("bulk order", "BULK-1")


def test_bulk_of_only_active_pairs_is_200_and_updates_their_terms(client: TestClient) -> None:
    existing = ok(withhold(client, "12", "IN", reason="old"), 201)
    items = [{"account": "12", "country": "IN"}]
    revision = current_revision(client)

    response = client.post(
        "/withholdings/bulk",
        json={"reason": "new", "expires_at": "2032-01-01T00:00:00Z", "items": items},
        headers=AUTH,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["already_active"], body["duplicates"]) == (0, 1, 0)
    assert body["revision"] == revision
    (rule,) = history(client, "12", include_lifted=True)["rules"]
    assert rule["id"] == existing["id"]
    assert rule["reason"] == "new"
    assert instant(rule["expires_at"]) == datetime(2032, 1, 1, tzinfo=UTC)


def test_bulk_mixing_new_and_active_pairs_is_201(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)

    response = client.post(
        "/withholdings/bulk",
        json={
            "reason": "r",
            "items": [{"account": "12", "country": "IN"}, {"account": "13", "country": "IN"}],
        },
        headers=AUTH,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["created"], body["already_active"], body["duplicates"]) == (1, 1, 0)
    assert not is_visible(client, "13", "IN")


def test_bulk_accepts_one_hundred_thousand_items(client: TestClient) -> None:
    # 1,000 distinct pairs repeated: the item limit is what is under test, not insert speed.
    items = [{"account": str(n % 1000 + 1), "country": "IN"} for n in range(100_000)]

    response = client.post(
        "/withholdings/bulk", json={"reason": "mass order", "items": items}, headers=AUTH
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["created"], body["already_active"], body["duplicates"]) == (1000, 0, 99_000)
    assert not is_visible(client, "1", "IN")
    assert not is_visible(client, "1000", "IN")
    assert is_visible(client, "1001", "IN")
    assert client.get("/readyz").json()["pairs"] == 1000
