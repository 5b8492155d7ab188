"""No public endpoint leaks a sealed order: the walk covers every operation OpenAPI documents
as readable without a token, with a sealed and an open order in the data.

What must never reach a reader without a token: the sealed order's authority, legal basis,
reference, document URL, the notes of its decisions, and its id. The walk takes its operations
from the app's own OpenAPI document, so an endpoint added later is walked too; a parameter it
does not know how to fill fails the test (teach ``VALUES`` about it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.tokens import AUTH

SECRET = "Zq9x"
SEALED_ORDER: dict[str, Any] = {
    "country": "IN",
    "authority": f"SEALED-AUTHORITY-{SECRET}",
    "legal_basis": f"SEALED-BASIS-{SECRET}",
    "reference": f"SEALED-REF-{SECRET}",
    "received_at": "2021-02-01T09:30:00Z",
    "document_url": f"https://sealed.example/SEALED-DOC-{SECRET}",
    "sealed": True,
}
OPEN_ORDER: dict[str, Any] = {
    **SEALED_ORDER,
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0042",
    "document_url": "https://lumendatabase.org/notices/12345",
    "sealed": False,
}
WITHHELD, GLOBAL, DECLINED, OPEN = "1356000000000000001", "1356000000000000002", "13", "14"
SEALED_POST, OPEN_POST = "1357000000000000001", "1357000000000000002"
# Hashtags: restricted by the sealed order (one in its country, one everywhere), declined by it,
# and restricted by the open one.
TAG_SEALED, TAG_GLOBAL, TAG_DECLINED, TAG_OPEN = "sealedtag", "globaltag", "declinedtag", "opentag"
NOW = datetime.now(UTC)
# Values for every parameter a public operation may take; each list is tried in turn.
VALUES: dict[str, list[str]] = {
    "account": [WITHHELD, GLOBAL, DECLINED, OPEN],
    "post": [SEALED_POST, OPEN_POST],
    "hashtag": [TAG_SEALED, TAG_GLOBAL, TAG_DECLINED, TAG_OPEN],
    "country": ["IN"],
    "include_lifted": ["true"],
    "explain": ["true"],
    "at": [(NOW + timedelta(seconds=-1)).isoformat()],
    "min_revision": ["0"],
    "after": ["0"],
    "limit": ["500"],
    "cursor": ["0"],
    "authority": [SEALED_ORDER["authority"], OPEN_ORDER["authority"]],
    "from": ["2020-01-01T00:00:00Z"],
    "to": [(NOW + timedelta(days=1)).isoformat()],
}
BODIES: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("post", "/visible"): [
        {"country": "IN", "accounts": [WITHHELD, GLOBAL, DECLINED, OPEN]},
        {
            "country": "IN",
            "posts": [
                {"post": SEALED_POST, "account": WITHHELD},
                {"post": OPEN_POST, "account": OPEN},
            ],
        },
    ],
    ("post", "/hashtags/eligible"): [
        {"country": "IN", "hashtags": [TAG_SEALED, TAG_GLOBAL, TAG_DECLINED, TAG_OPEN]}
    ],
}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def sealed_world(client: TestClient) -> dict[str, str]:
    """A sealed and an open order, each with decisions carrying notes, and a lift."""
    sealed = _ok(client.post("/orders", json=SEALED_ORDER, headers=AUTH), 201)["id"]
    opened = _ok(client.post("/orders", json=OPEN_ORDER, headers=AUTH), 201)["id"]
    decisions = [
        {"account": WITHHELD, "action": "withhold", "note": f"SEALED-NOTE-1-{SECRET}"},
        {"account": GLOBAL, "action": "withhold_global", "note": f"SEALED-NOTE-2-{SECRET}"},
        {
            "account": WITHHELD,
            "post": SEALED_POST,
            "action": "withhold",
            "note": f"SEALED-NOTE-4-{SECRET}",
        },
        {
            "account": DECLINED,
            "action": "decline",
            "category": "journalist",
            "note": f"SEALED-NOTE-3-{SECRET}",
        },
        {"hashtag": TAG_SEALED, "action": "restrict", "note": f"SEALED-NOTE-4-{SECRET}"},
        {"hashtag": TAG_GLOBAL, "action": "restrict_global", "note": f"SEALED-NOTE-5-{SECRET}"},
        {
            "hashtag": TAG_DECLINED,
            "action": "decline",
            "category": "activist",
            "note": f"SEALED-NOTE-6-{SECRET}",
        },
    ]
    _ok(
        client.post(f"/orders/{sealed}/decisions", json={"decisions": decisions}, headers=AUTH),
        201,
    )
    _ok(
        client.post(
            f"/orders/{opened}/decisions",
            json={
                "decisions": [
                    {"account": OPEN, "action": "withhold", "note": "open note"},
                    {"account": OPEN, "post": OPEN_POST, "action": "withhold"},
                    {"hashtag": TAG_OPEN, "action": "restrict", "note": "open note"},
                ]
            },
            headers=AUTH,
        ),
        201,
    )
    # A second, lifted rule of the sealed order shows in histories too.
    client.post(
        f"/orders/{sealed}/decisions",
        json={"decisions": [{"account": OPEN, "action": "withhold_global"}]},
        headers=AUTH,
    )
    lifted = client.request(
        "DELETE", f"/accounts/{OPEN}/withholdings/XX", json={"reason": "review"}, headers=AUTH
    )
    assert lifted.status_code == 204, lifted.text
    # And a lifted restriction of the sealed order, for the hashtags' histories.
    client.post(
        f"/orders/{sealed}/decisions",
        json={"decisions": [{"hashtag": TAG_OPEN, "action": "restrict_global"}]},
        headers=AUTH,
    )
    lifted = client.request(
        "DELETE", f"/hashtags/{TAG_OPEN}/restrictions/XX", json={"reason": "review"}, headers=AUTH
    )
    assert lifted.status_code == 204, lifted.text
    return {"sealed": sealed, "open": opened}


def _public_operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    document = _ok(client.get("/openapi.json"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            if security is None or {} in security:
                yield method, path, operation


def _requests(
    method: str, path: str, operation: dict[str, Any], ids: dict[str, str]
) -> Iterator[tuple[str, dict[str, str], dict[str, Any] | None]]:
    """Every request the walk makes of one operation: each required-parameter combination,
    then each optional parameter alone, then all of them."""
    values = {**VALUES, "id": [ids["sealed"], ids["open"]]}
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        assert parameter["name"] in values, (
            f"{method.upper()} {path}: teach VALUES a value for {parameter['name']!r}"
        )
    required = [p for p in parameters if p.get("required")]
    optional = [p for p in parameters if not p.get("required")]
    bodies: list[dict[str, Any] | None] = [None]
    if "requestBody" in operation:
        assert (method, path) in BODIES, f"{method.upper()} {path}: teach BODIES a body"
        bodies = list(BODIES[(method, path)])

    def combos(params: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
        if not params:
            yield {}
            return
        first, rest = params[0], params[1:]
        for value in values[first["name"]]:
            for tail in combos(rest):
                yield {first["name"]: value, **tail}

    extras: list[dict[str, str]] = [{}]
    extras += [{p["name"]: values[p["name"]][0]} for p in optional]
    if len(optional) > 1:
        extras.append({p["name"]: values[p["name"]][0] for p in optional})
    for base in combos(required):
        for extra in extras:
            chosen = {**base, **extra}
            url = path
            query = {}
            for parameter in parameters:
                name = parameter["name"]
                if name not in chosen:
                    continue
                if parameter["in"] == "path":
                    url = url.replace("{" + name + "}", chosen[name])
                else:
                    query[name] = chosen[name]
            for body in bodies:
                yield url, query, body


def _leaks(payload: Any, sealed_id: str) -> list[str]:
    """Places in a JSON payload that name the sealed order by id."""
    found: list[str] = []
    if isinstance(payload, dict):
        if payload.get("order_id") == sealed_id:
            found.append(f"order_id {sealed_id} in {payload}")
        if payload.get("id") == sealed_id and {"authority", "reference"} & payload.keys():
            found.append(f"order {sealed_id}: {payload}")
        for value in payload.values():
            found += _leaks(value, sealed_id)
    elif isinstance(payload, list):
        for item in payload:
            found += _leaks(item, sealed_id)
    return found


def test_no_public_endpoint_reveals_a_sealed_order(
    client: TestClient, sealed_world: dict[str, str]
) -> None:
    sealed_id = sealed_world["sealed"]
    walked: set[tuple[str, str]] = set()
    requests = 0
    for method, path, operation in _public_operations(client):
        for url, query, body in _requests(method, path, operation, sealed_world):
            response = client.request(method.upper(), url, params=query, json=body)
            requests += 1
            assert response.status_code < 500, (method, url, query, response.text)
            assert SECRET not in response.text, (method, url, query, response.text)
            if response.headers.get("content-type", "").startswith("application/json"):
                assert not _leaks(response.json(), sealed_id), (method, url, query)
            walked.add((method, path))
    assert {("get", "/orders/{id}"), ("get", "/visible"), ("get", "/reports/transparency")} <= (
        walked
    )
    assert {
        ("get", "/hashtags/eligible"),
        ("post", "/hashtags/eligible"),
        ("get", "/hashtags/{hashtag}/restrictions"),
    } <= walked
    assert requests > 40


def test_the_walk_is_not_vacuous_an_admin_sees_the_sealed_order(
    client: TestClient, sealed_world: dict[str, str]
) -> None:
    sealed_id = sealed_world["sealed"]
    assert client.get(f"/orders/{sealed_id}").status_code == 404
    admin_view = _ok(client.get(f"/orders/{sealed_id}", headers=AUTH))
    assert admin_view["authority"] == SEALED_ORDER["authority"]
    rules = _ok(client.get(f"/accounts/{WITHHELD}/withholdings"))["rules"]
    assert [rule["reason"] for rule in rules] == ["sealed legal order"]
    assert rules[0]["order_id"] is None
    entries = _ok(client.get("/audit", params={"account": WITHHELD}, headers=AUTH))["entries"]
    assert any(SECRET in entry["justification"] for entry in entries)
    explained = _ok(
        client.get("/visible", params={"account": WITHHELD, "country": "IN", "explain": "true"})
    )
    assert explained["explanation"]["rules"][0]["order"] == {"sealed": True}
    opened = _ok(
        client.get("/visible", params={"account": OPEN, "country": "IN", "explain": "true"})
    )
    assert opened["explanation"]["rules"][0]["order"]["id"] == sealed_world["open"]
    restrictions = _ok(client.get(f"/hashtags/{TAG_SEALED}/restrictions"))["restrictions"]
    assert [(r["reason"], r["order_id"]) for r in restrictions] == [("sealed legal order", None)]
    entries = _ok(client.get("/audit", params={"hashtag": TAG_SEALED}, headers=AUTH))["entries"]
    assert any(SECRET in entry["justification"] for entry in entries)
    explained_tag = _ok(
        client.get(
            "/hashtags/eligible", params={"hashtag": TAG_SEALED, "country": "IN", "explain": "true"}
        )
    )
    assert explained_tag["explanation"]["restrictions"][0]["order"] == {"sealed": True}
    opened_tag = _ok(
        client.get(
            "/hashtags/eligible", params={"hashtag": TAG_OPEN, "country": "IN", "explain": "true"}
        )
    )
    assert opened_tag["explanation"]["restrictions"][0]["order"]["id"] == sealed_world["open"]
