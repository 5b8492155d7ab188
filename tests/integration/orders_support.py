"""Helpers shared by the tests of legal orders, decisions, audit, explain, the change feed and
the transparency report (HTTP through ``TestClient``; a direct ``Database`` where a test needs to
choose the instants itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import AUTH

ORDER: dict[str, Any] = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0042",
    "received_at": "2021-02-01T09:30:00Z",
    "document_url": "https://lumendatabase.org/notices/12345",
}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def create_order(client: TestClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.post("/orders", json={**ORDER, **fields}, headers=AUTH), 201)
    return body


def decide(client: TestClient, order_id: str, *decisions: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/orders/{order_id}/decisions", json={"decisions": list(decisions)}, headers=AUTH
    )
    return response


def lift(
    client: TestClient, account: str, country: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    response: httpx.Response = client.request(
        "DELETE", f"/accounts/{account}/withholdings/{country}", json=body, headers=AUTH
    )
    return response


def withhold(client: TestClient, account: str, country: str, **terms: Any) -> httpx.Response:
    response: httpx.Response = client.put(
        f"/accounts/{account}/withholdings/{country}",
        json={"reason": "court order", **terms},
        headers=AUTH,
    )
    return response


def rules_of(client: TestClient, account: str) -> list[dict[str, Any]]:
    body = ok(client.get(f"/accounts/{account}/withholdings", params={"include_lifted": "true"}))
    rules: list[dict[str, Any]] = body["rules"]
    return rules


def withheld_in(client: TestClient, account: str) -> list[str]:
    countries: list[str] = ok(client.get(f"/accounts/{account}/withholdings"))[
        "withheld_in_countries"
    ]
    return countries


def is_visible(client: TestClient, account: str, country: str) -> bool:
    visible: bool = ok(client.get("/visible", params={"account": account, "country": country}))[
        "visible"
    ]
    return visible


def audit_entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Every audit entry matching ``params``, following the cursor."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get("/audit", params=query, headers=AUTH))
        entries.extend(page["entries"])
        cursor = page["next"]
        if cursor is None:
            return entries


def instant(raw: str) -> datetime:
    value = datetime.fromisoformat(raw)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
