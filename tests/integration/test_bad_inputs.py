"""Bad input, everywhere it can enter: each gets a 4xx JSON error with ``detail`` naming the field,
never a 500, and changes nothing (the state is captured before and compared after every request).

All tests share one seeded database per backend: none of them may write, and each compares the
state after its request with the state just before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.apps import ClientFactory, running_app
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.http import history, is_visible, revision_of, withhold
from tests.support.tokens import AUTH

# Accounts a mis-parse could land on: "+5", " 5" and "-5" read as 5, "007" as 7, "1e5" as 100000.
WATCHED_ACCOUNTS = ("1", "5", "7", "12", "34", "56", "100000")
ACTIVE_IN_INDIA = ("1", "5", "7", "12", "100000")
SEED_TERMS = {
    "reason": "seeded order",
    "order_ref": "SEED-1",
    "expires_at": "2099-01-01T00:00:00Z",
}
NEW_PAIR = {"account": "56", "country": "IN"}
ACTIVE_PAIR = {"account": "12", "country": "IN"}


@dataclass(frozen=True)
class State:
    """Everything a stray write could change, as the API shows it: any change of visibility moves
    the revision, and only watched accounts have rules whose terms a write could update."""

    revision: int
    histories: tuple[dict[str, Any], ...]
    visibility: tuple[bool, ...]


def capture(client: TestClient) -> State:
    lookups = [
        client.post("/visible", json={"country": country, "accounts": list(WATCHED_ACCOUNTS)})
        for country in ("IN", "US")
    ]
    return State(
        revision=revision_of(lookups[-1]),
        histories=tuple(
            history(client, account, include_lifted=True) for account in WATCHED_ACCOUNTS
        ),
        visibility=tuple(
            result["visible"] for lookup in lookups for result in lookup.json()["results"]
        ),
    )


def seed(client: TestClient) -> State:
    """Active rules in India for every watched account but 34 (XX) and 56 (a lifted US rule)."""
    items = [{"account": account, "country": "IN"} for account in ACTIVE_IN_INDIA]
    items += [{"account": "34", "country": "XX"}, {"account": "56", "country": "US"}]
    bulk = client.post("/withholdings/bulk", json={**SEED_TERMS, "items": items}, headers=AUTH)
    assert bulk.status_code == 201, bulk.text
    lifted = client.request(
        "DELETE", "/accounts/56/withholdings/US", json={"reason": "review"}, headers=AUTH
    )
    assert lifted.status_code == 204, lifted.text
    return capture(client)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with running_app(fresh_database_url(request, tmp_path_factory)) as client:
        seed(client)
        yield client


def assert_refused(
    response: httpx.Response,
    loc: list[str | int] | None = None,
    statuses: tuple[int, ...] = (422,),
) -> None:
    """A 4xx JSON error with ``detail``; ``loc`` (if given) is among the issues' locations."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert "detail" in body, body
    detail = body["detail"]
    if isinstance(detail, list):
        for issue in detail:
            assert {"loc", "msg", "type"} <= set(issue), issue
            assert "input" not in issue, "a validation error must not echo the input"
    if loc is not None:
        assert isinstance(detail, list), detail
        assert loc in [issue["loc"] for issue in detail], detail


def send(client: TestClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = client.request(method, url, **kwargs)
    return response


# -- account --------------------------------------------------------------------------------------

BAD_ACCOUNTS = [
    pytest.param("abc", id="letters"),
    pytest.param("0", id="zero"),
    pytest.param("-5", id="negative"),
    pytest.param("9223372036854775808", id="above-int64"),
    pytest.param("1e5", id="exponent"),
    pytest.param("+5", id="plus-sign"),
    pytest.param("007", id="leading-zeros"),
    pytest.param(" 5", id="leading-space"),
    pytest.param("5 ", id="trailing-space"),
    pytest.param("5.0", id="decimal-point"),
    pytest.param("\u0665", id="arabic-indic-digit"),
]


def _in_path(account: str) -> str:
    return quote(account, safe="")


ACCOUNT_SURFACES: list[Any] = [
    pytest.param(
        lambda v: ("GET", "/visible", {"params": {"account": v, "country": "IN"}}),
        ["query", "account"],
        id="lookup",
    ),
    pytest.param(
        lambda v: ("POST", "/visible", {"json": {"country": "IN", "accounts": ["12", v]}}),
        ["body", "accounts", 1],
        id="batch-lookup",
    ),
    pytest.param(
        lambda v: (
            "PUT",
            f"/accounts/{_in_path(v)}/withholdings/IN",
            {"json": {"reason": "r"}, "headers": AUTH},
        ),
        ["path", "account"],
        id="withhold",
    ),
    pytest.param(
        lambda v: ("DELETE", f"/accounts/{_in_path(v)}/withholdings/IN", {"headers": AUTH}),
        ["path", "account"],
        id="lift",
    ),
    pytest.param(
        lambda v: ("GET", f"/accounts/{_in_path(v)}/withholdings", {}),
        ["path", "account"],
        id="rules",
    ),
    pytest.param(
        lambda v: (
            "POST",
            "/withholdings/bulk",
            {
                "json": {"reason": "r", "items": [NEW_PAIR, {"account": v, "country": "IN"}]},
                "headers": AUTH,
            },
        ),
        ["body", "items", 1, "account"],
        id="bulk",
    ),
]


@pytest.mark.parametrize("account", BAD_ACCOUNTS)
@pytest.mark.parametrize(("request_for", "loc"), ACCOUNT_SURFACES)
def test_invalid_account_is_422_naming_it_and_changes_nothing(
    seeded: TestClient, request_for: Any, loc: list[str | int], account: str
) -> None:
    client, before = seeded, capture(seeded)
    method, url, kwargs = request_for(account)

    response = send(client, method, url, **kwargs)

    assert_refused(response, loc)
    assert capture(client) == before


MISSING_ACCOUNT: list[Any] = [
    pytest.param(
        "GET", "/visible", {"params": {"country": "IN"}}, ["query", "account"], id="lookup"
    ),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"json": {"reason": "r", "items": [NEW_PAIR, {"country": "IN"}]}, "headers": AUTH},
        ["body", "items", 1, "account"],
        id="bulk",
    ),
]


@pytest.mark.parametrize(("method", "url", "kwargs", "loc"), MISSING_ACCOUNT)
def test_missing_account_is_422_naming_it_and_changes_nothing(
    seeded: TestClient,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    loc: list[str | int],
) -> None:
    client, before = seeded, capture(seeded)

    assert_refused(send(client, method, url, **kwargs), loc)
    assert capture(client) == before


NON_STRING_ACCOUNTS = [
    pytest.param(12, id="number"),
    pytest.param(12.0, id="float"),
    pytest.param(False, id="false"),
    pytest.param(True, id="true"),
    pytest.param(None, id="null"),
    pytest.param(["12"], id="list"),
    pytest.param({"id": "12"}, id="object"),
]


@pytest.mark.parametrize("account", NON_STRING_ACCOUNTS)
def test_account_in_a_bulk_item_must_be_a_string(seeded: TestClient, account: object) -> None:
    client, before = seeded, capture(seeded)
    items = [NEW_PAIR, {"account": account, "country": "IN"}]

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items", 1, "account"])
    assert capture(client) == before


# -- country --------------------------------------------------------------------------------------

BAD_COUNTRIES = [
    pytest.param("ZZ", id="unassigned"),
    pytest.param("AA", id="user-assigned"),
    pytest.param("IND", id="alpha-3"),
    pytest.param("I", id="one-letter"),
    pytest.param("1N", id="digit"),
    pytest.param("IN ", id="trailing-space"),
    pytest.param("\u0130N", id="dotted-capital-i"),
    pytest.param("\u0131n", id="dotless-small-i"),
    pytest.param("\uff29\uff2e", id="fullwidth"),
]
BAD_COUNTRIES_BEYOND_THE_PATH = [
    *BAD_COUNTRIES,
    pytest.param("", id="empty"),
]
BAD_VIEWER_COUNTRIES = [
    *BAD_COUNTRIES_BEYOND_THE_PATH,
    pytest.param("XX", id="all-countries-code"),
    pytest.param("xx", id="all-countries-code-lower-case"),
]


@pytest.mark.parametrize("country", BAD_VIEWER_COUNTRIES)
def test_invalid_viewer_country_in_a_lookup_is_422_and_changes_nothing(
    seeded: TestClient, country: str
) -> None:
    client, before = seeded, capture(seeded)

    response = client.get("/visible", params={"account": "12", "country": country})

    assert_refused(response, ["query", "country"])
    assert capture(client) == before


@pytest.mark.parametrize("country", BAD_VIEWER_COUNTRIES)
def test_invalid_viewer_country_in_a_batch_lookup_is_422_and_changes_nothing(
    seeded: TestClient, country: str
) -> None:
    client, before = seeded, capture(seeded)

    response = client.post("/visible", json={"country": country, "accounts": ["12"]})

    assert_refused(response, ["body", "country"])
    assert capture(client) == before


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("PUT", {"reason": "r"}, id="withhold"),
        pytest.param("DELETE", None, id="lift"),
    ],
)
@pytest.mark.parametrize("country", BAD_COUNTRIES)
def test_invalid_rule_country_in_the_path_is_422_and_changes_nothing(
    seeded: TestClient, method: str, body: dict[str, Any] | None, country: str
) -> None:
    client, before = seeded, capture(seeded)

    response = send(
        client,
        method,
        f"/accounts/12/withholdings/{quote(country, safe='')}",
        json=body,
        headers=AUTH,
    )

    assert_refused(response, ["path", "country"])
    assert capture(client) == before


@pytest.mark.parametrize("country", BAD_COUNTRIES_BEYOND_THE_PATH)
def test_invalid_country_in_a_bulk_item_is_422_and_changes_nothing(
    seeded: TestClient, country: str
) -> None:
    client, before = seeded, capture(seeded)
    items = [NEW_PAIR, {"account": "5", "country": country}]

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items", 1, "country"])
    assert capture(client) == before


MISSING_OR_NON_STRING_COUNTRY: list[Any] = [
    pytest.param(
        "GET", "/visible", {"params": {"account": "12"}}, ["query", "country"], id="lookup"
    ),
    pytest.param(
        "POST", "/visible", {"json": {"accounts": ["12"]}}, ["body", "country"], id="batch-missing"
    ),
    pytest.param(
        "POST",
        "/visible",
        {"json": {"country": None, "accounts": ["12"]}},
        ["body", "country"],
        id="batch-null",
    ),
    pytest.param(
        "POST",
        "/visible",
        {"json": {"country": 91, "accounts": ["12"]}},
        ["body", "country"],
        id="batch-number",
    ),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"json": {"reason": "r", "items": [NEW_PAIR, {"account": "5"}]}, "headers": AUTH},
        ["body", "items", 1, "country"],
        id="bulk-missing",
    ),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {
            "json": {"reason": "r", "items": [NEW_PAIR, {"account": "5", "country": None}]},
            "headers": AUTH,
        },
        ["body", "items", 1, "country"],
        id="bulk-null",
    ),
]


@pytest.mark.parametrize(("method", "url", "kwargs", "loc"), MISSING_OR_NON_STRING_COUNTRY)
def test_missing_or_non_string_country_is_422_naming_it_and_changes_nothing(
    seeded: TestClient,
    method: str,
    url: str,
    kwargs: dict[str, Any],
    loc: list[str | int],
) -> None:
    client, before = seeded, capture(seeded)

    assert_refused(send(client, method, url, **kwargs), loc)
    assert capture(client) == before


# -- batch lookup bodies --------------------------------------------------------------------------

BAD_BATCH_BODIES: list[Any] = [
    pytest.param({"country": "IN", "accounts": []}, ["body", "accounts"], id="empty-list"),
    pytest.param({"country": "IN", "accounts": "12"}, ["body", "accounts"], id="string"),
    pytest.param({"country": "IN", "accounts": {}}, ["body", "accounts"], id="object"),
    pytest.param({"country": "IN", "accounts": None}, ["body", "accounts"], id="null"),
    pytest.param({"country": "IN"}, ["body", "accounts"], id="missing"),
    pytest.param({"country": "IN", "accounts": [None]}, ["body", "accounts", 0], id="null-entry"),
    pytest.param(
        {"country": "IN", "accounts": ["12", None]}, ["body", "accounts", 1], id="second-null"
    ),
    pytest.param({"country": "IN", "accounts": [12]}, ["body", "accounts", 0], id="number"),
    pytest.param({"country": "IN", "accounts": [False]}, ["body", "accounts", 0], id="false"),
    pytest.param({"country": "IN", "accounts": [12.5]}, ["body", "accounts", 0], id="float"),
    pytest.param({"country": "IN", "accounts": [["12"]]}, ["body", "accounts", 0], id="nested"),
    pytest.param(
        {"country": "IN", "accounts": ["12"], "colour": "red"}, ["body", "colour"], id="extra-field"
    ),
]


@pytest.mark.parametrize(("body", "loc"), BAD_BATCH_BODIES)
def test_invalid_batch_lookup_body_is_422_naming_the_field(
    seeded: TestClient, body: dict[str, Any], loc: list[str | int]
) -> None:
    client, before = seeded, capture(seeded)

    assert_refused(client.post("/visible", json=body), loc)
    assert capture(client) == before


def test_batch_lookup_of_more_than_ten_thousand_accounts_is_refused(
    seeded: TestClient,
) -> None:
    client, before = seeded, capture(seeded)
    accounts = [str(n) for n in range(1, 10_002)]

    response = client.post("/visible", json={"country": "IN", "accounts": accounts})

    assert_refused(response, statuses=(413, 422))
    if response.status_code == 422:
        assert_refused(response, ["body", "accounts"])
    assert capture(client) == before


MALFORMED_BODIES: list[Any] = [
    pytest.param(b"accounts=12&country=IN", "application/json", id="form-as-json"),
    pytest.param(b'{"country": "IN", "accounts": ["12"]', "application/json", id="truncated"),
    pytest.param(b"", "application/json", id="empty"),
    pytest.param(b"\xff\xfe\x00{", "application/json", id="not-utf-8"),
    pytest.param(b'["12"]', "application/json", id="json-array"),
    pytest.param(b'"12"', "application/json", id="json-string"),
    pytest.param(b"null", "application/json", id="json-null"),
    pytest.param(b"12", "application/json", id="json-number"),
    pytest.param(b"hello", "text/plain", id="plain-text"),
    pytest.param(b"[" * 100_000, "application/json", id="deeply-nested"),
]
ENDPOINTS_WITH_BODIES: list[Any] = [
    pytest.param("POST", "/visible", id="batch-lookup"),
    pytest.param("PUT", "/accounts/56/withholdings/IN", id="withhold"),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", id="lift"),
    pytest.param("POST", "/withholdings/bulk", id="bulk"),
]


MALFORMED_REQUESTS: list[Any] = [
    pytest.param(
        endpoint.values[0],
        endpoint.values[1],
        body.values[0],
        body.values[1],
        id=f"{endpoint.id}-{body.id}",
    )
    for endpoint in ENDPOINTS_WITH_BODIES
    for body in MALFORMED_BODIES
    # An empty body is how a lift without details is sent.
    if not (endpoint.id == "lift" and body.id == "empty")
]


@pytest.mark.parametrize(("method", "url", "raw", "content_type"), MALFORMED_REQUESTS)
def test_body_that_is_not_a_json_object_is_a_4xx_and_changes_nothing(
    seeded: TestClient, method: str, url: str, raw: bytes, content_type: str
) -> None:
    client, before = seeded, capture(seeded)

    response = send(
        client, method, url, content=raw, headers={**AUTH, "Content-Type": content_type}
    )

    assert_refused(response, statuses=(400, 415, 422))
    assert capture(client) == before


# -- rule terms (PUT and bulk) --------------------------------------------------------------------

BAD_TERMS: list[Any] = [
    pytest.param({}, "reason", id="missing-reason"),
    pytest.param({"reason": ""}, "reason", id="empty-reason"),
    pytest.param({"reason": "x" * 5000}, "reason", id="5000-char-reason"),
    pytest.param({"reason": "x" * 1001}, "reason", id="1001-char-reason"),
    pytest.param({"reason": None}, "reason", id="null-reason"),
    pytest.param({"reason": 5}, "reason", id="numeric-reason"),
    pytest.param({"reason": ["r"]}, "reason", id="list-reason"),
    pytest.param({"reason": "r", "colour": "red"}, "colour", id="unknown-field"),
    pytest.param({"reason": "r", "Reason": "r"}, "Reason", id="field-name-in-wrong-case"),
    pytest.param({"reason": "r", "order_ref": 42}, "order_ref", id="numeric-order-ref"),
    pytest.param({"reason": "r", "expires_at": "next tuesday"}, "expires_at", id="unparseable"),
    pytest.param(
        {"reason": "r", "expires_at": "2030-01-01T00:00:00"}, "expires_at", id="no-offset"
    ),
    pytest.param({"reason": "r", "expires_at": "2030-01-01"}, "expires_at", id="date-only"),
    pytest.param(
        {"reason": "r", "expires_at": "2030-13-01T00:00:00Z"}, "expires_at", id="month-13"
    ),
    pytest.param({"reason": "r", "expires_at": 1893456000}, "expires_at", id="unix-number"),
    pytest.param({"reason": "r", "expires_at": "1893456000"}, "expires_at", id="unix-string"),
    pytest.param({"reason": "r", "expires_at": True}, "expires_at", id="boolean"),
    pytest.param(
        {"reason": "r", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at", id="in-the-past"
    ),
    pytest.param(
        {"reason": "r", "expires_at": "1970-01-01T00:00:00+00:00"}, "expires_at", id="epoch"
    ),
]


@pytest.mark.parametrize(("terms", "field"), BAD_TERMS)
def test_invalid_rule_terms_in_a_withhold_are_422_and_change_nothing(
    seeded: TestClient, terms: dict[str, Any], field: str
) -> None:
    client, before = seeded, capture(seeded)

    for target in (ACTIVE_PAIR, NEW_PAIR):
        response = client.put(
            f"/accounts/{target['account']}/withholdings/{target['country']}",
            json=terms,
            headers=AUTH,
        )
        assert_refused(response, ["body", field])

    assert capture(client) == before


@pytest.mark.parametrize(("terms", "field"), BAD_TERMS)
def test_invalid_rule_terms_in_a_bulk_are_422_and_change_nothing(
    seeded: TestClient, terms: dict[str, Any], field: str
) -> None:
    client, before = seeded, capture(seeded)

    response = client.post(
        "/withholdings/bulk", json={**terms, "items": [ACTIVE_PAIR, NEW_PAIR]}, headers=AUTH
    )

    assert_refused(response, ["body", field])
    assert capture(client) == before


# -- lift bodies ----------------------------------------------------------------------------------

BAD_LIFT_BODIES: list[Any] = [
    pytest.param({"reason": "bogus"}, "reason", id="unknown-reason"),
    pytest.param({"reason": "expired"}, "reason", id="expired-is-for-the-system-only"),
    pytest.param({"reason": "REVIEW"}, "reason", id="reason-in-upper-case"),
    pytest.param({"reason": None}, "reason", id="null-reason"),
    pytest.param({"reason": 1}, "reason", id="numeric-reason"),
    pytest.param({"reason": "review", "note": 5}, "note", id="numeric-note"),
    pytest.param({"reason": "review", "colour": "red"}, "colour", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "field"), BAD_LIFT_BODIES)
def test_invalid_lift_body_is_422_and_the_rule_stays_active(
    seeded: TestClient, body: dict[str, Any], field: str
) -> None:
    # Should an earlier case have lifted the rule after all, put it back: each case stands alone.
    assert withhold(seeded, "12", "IN", **SEED_TERMS).status_code in (200, 201)
    client, before = seeded, capture(seeded)

    response = send(client, "DELETE", "/accounts/12/withholdings/IN", json=body, headers=AUTH)

    assert_refused(response, ["body", field])
    assert capture(client) == before
    assert not is_visible(client, "12", "IN")


# -- bulk items -----------------------------------------------------------------------------------

TEN_NEW_PAIRS = [{"account": str(account), "country": "IN"} for account in range(1001, 1011)]

BAD_SEVENTH_ITEMS: list[Any] = [
    pytest.param({"account": "abc", "country": "IN"}, "account", id="letters-account"),
    pytest.param({"account": "0", "country": "IN"}, "account", id="zero-account"),
    pytest.param({"account": 1008, "country": "IN"}, "account", id="numeric-account"),
    pytest.param({"account": "1008", "country": "ZZ"}, "country", id="unassigned-country"),
    pytest.param({"account": "1008"}, "country", id="missing-country"),
    pytest.param({"account": "1008", "country": "IN", "colour": "red"}, "colour", id="extra"),
]


@pytest.mark.parametrize(("item", "field"), BAD_SEVENTH_ITEMS)
def test_bulk_with_one_invalid_item_names_its_index_and_writes_none_of_the_others(
    seeded: TestClient, item: dict[str, Any], field: str
) -> None:
    client, before = seeded, capture(seeded)
    items: list[Any] = list(TEN_NEW_PAIRS)
    items[7] = item

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items", 7, field])
    assert capture(client) == before
    for index, valid in enumerate(TEN_NEW_PAIRS):
        if index == 7:
            continue
        assert is_visible(client, valid["account"], "IN"), valid
        assert history(client, valid["account"], include_lifted=True)["rules"] == []


@pytest.mark.parametrize("item", [None, "1001", 1001, [], ["1001", "IN"]])
def test_bulk_item_that_is_not_an_object_names_its_index(seeded: TestClient, item: object) -> None:
    client, before = seeded, capture(seeded)
    items: list[Any] = [*TEN_NEW_PAIRS[:3], item]

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items", 3])
    assert capture(client) == before


BAD_ITEM_LISTS: list[Any] = [
    pytest.param([], id="empty"),
    pytest.param("1001", id="string"),
    pytest.param({}, id="object"),
    pytest.param(None, id="null"),
]


@pytest.mark.parametrize("items", BAD_ITEM_LISTS)
def test_bulk_items_must_be_a_non_empty_list(seeded: TestClient, items: object) -> None:
    client, before = seeded, capture(seeded)

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items"])
    assert capture(client) == before


def test_bulk_without_items_is_422(seeded: TestClient) -> None:
    client, before = seeded, capture(seeded)

    response = client.post("/withholdings/bulk", json={"reason": "r"}, headers=AUTH)

    assert_refused(response, ["body", "items"])
    assert capture(client) == before


def test_bulk_of_more_than_one_hundred_thousand_items_is_422_and_writes_nothing(
    make_client: ClientFactory,
) -> None:
    # A body limit well above the ~4 MB request, so that the item limit is what refuses it.
    client = make_client(max_body_bytes=64 * 1024 * 1024)
    before = seed(client)
    items = [{"account": str(n), "country": "IN"} for n in range(200_000, 300_001)]

    response = client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH)

    assert_refused(response, ["body", "items"])
    assert capture(client) == before
    for account in ("200000", "250000", "300000"):
        assert is_visible(client, account, "IN")


# -- query parameters -----------------------------------------------------------------------------

BAD_MIN_REVISIONS = [
    pytest.param("-1", id="negative"),
    pytest.param("abc", id="letters"),
    pytest.param("1.5", id="fraction"),
    pytest.param("1e3", id="exponent"),
    pytest.param(str(2**63), id="above-int64"),
    pytest.param("9" * 40, id="forty-digits"),
]


@pytest.mark.parametrize("min_revision", BAD_MIN_REVISIONS)
@pytest.mark.parametrize(
    "method", [pytest.param("GET", id="lookup"), pytest.param("POST", id="batch-lookup")]
)
def test_invalid_min_revision_is_422(seeded: TestClient, method: str, min_revision: str) -> None:
    client, before = seeded, capture(seeded)
    if method == "GET":
        response = client.get(
            "/visible", params={"account": "12", "country": "IN", "min_revision": min_revision}
        )
    else:
        response = client.post(
            "/visible",
            params={"min_revision": min_revision},
            json={"country": "IN", "accounts": ["12"]},
        )

    assert_refused(response, ["query", "min_revision"])
    assert capture(client) == before


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_invalid_include_lifted_is_422(seeded: TestClient, value: str) -> None:
    client, before = seeded, capture(seeded)

    response = client.get("/accounts/12/withholdings", params={"include_lifted": value})

    assert_refused(response, ["query", "include_lifted"])
    assert capture(client) == before
