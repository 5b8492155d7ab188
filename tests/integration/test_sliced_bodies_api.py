"""A bulk and an order's decisions are read in slices (``app/api/sliced_bodies.py``): a valid
body never reaches FastAPI's one-go parse, and an invalid one still gets FastAPI's own 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from tests.support.tokens import AUTH

ORDER = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "SLICED/1",
    "received_at": "2021-02-01T09:30:00Z",
}


@pytest.fixture
def no_whole_parse(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[bytes]]:
    """Fails any request whose body Starlette's ``Request.json`` parses (FastAPI's way); one
    parsed already (``_json`` set, as the sliced route does) is handed over as it is."""
    parsed: list[bytes] = []

    async def only_parsed_already(request: Request) -> Any:
        if hasattr(request, "_json"):
            return request._json
        parsed.append(await request.body())
        raise AssertionError("the body was parsed in one go")

    def start() -> list[bytes]:
        monkeypatch.setattr(Request, "json", only_parsed_already)
        return parsed

    return start


def test_a_valid_bulk_is_read_in_slices(
    client: TestClient, no_whole_parse: Callable[[], list[bytes]]
) -> None:
    parsed = no_whole_parse()
    items = [{"account": str(n), "country": "IN"} for n in range(1, 3001)]
    items.append({"account": "7", "country": "XX", "post": "70"})
    answer = client.post(
        "/withholdings/bulk", json={"reason": "sliced", "items": items}, headers=AUTH
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["created"] == 3001
    assert not parsed
    assert client.get("/visible?account=2999&country=IN").json()["visible"] is False
    assert client.get("/visible?account=7&post=70&country=FR").json()["visible"] is False


def test_valid_decisions_are_read_in_slices(
    client: TestClient, no_whole_parse: Callable[[], list[bytes]]
) -> None:
    order = client.post("/orders", json=ORDER, headers=AUTH).json()
    parsed = no_whole_parse()
    decisions = [{"account": str(n), "action": "withhold"} for n in range(1, 1201)]
    decisions.append({"hashtag": "#Farmers", "action": "restrict"})
    answer = client.post(
        f"/orders/{order['id']}/decisions", json={"decisions": decisions}, headers=AUTH
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["withheld"] == 1200
    assert not parsed


def test_an_invalid_item_gets_fastapis_own_error(client: TestClient) -> None:
    items = [{"account": str(n), "country": "IN"} for n in range(1, 1001)]
    items[600] = {"account": "012", "country": "IN"}
    answer = client.post("/withholdings/bulk", json={"reason": "x", "items": items}, headers=AUTH)
    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [
        ["body", "items", 600, "account"]
    ]
    assert client.get("/visible?account=1&country=IN").json()["visible"] is True
