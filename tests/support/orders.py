"""Legal orders, their decisions and the audit log, through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.http import ok
from tests.support.tokens import AUTH

ORDER: dict[str, Any] = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0042",
    "received_at": "2021-02-01T09:30:00Z",
    "document_url": "https://lumendatabase.org/notices/12345",
}


def create_order(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    """A new order: ``ORDER`` with ``fields`` changed."""
    body: dict[str, Any] = ok(client.post("/orders", json={**ORDER, **fields}, headers=AUTH), 201)
    return body


def decide(client: httpx.Client, order_id: str, *decisions: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/orders/{order_id}/decisions", json={"decisions": list(decisions)}, headers=AUTH
    )
    return response


def audit_entries(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
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
