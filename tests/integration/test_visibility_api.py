"""GET and POST /visible: whether an account may be shown in a country, one or many at a time,
the same on the fast path as through the route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.http import history, is_visible, ok, revision_of, withhold
from tests.support.shared_app import (
    SHARED_NEVER_WITHHELD,
    SHARED_WITHHELD_EVERYWHERE,
    SHARED_WITHHELD_IN_INDIA,
)

MAX_ID = "9223372036854775807"


def test_account_without_rules_is_visible(shared: TestClient) -> None:
    response = shared.get("/visible", params={"account": "13", "country": "IN"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"account": "13", "country": "IN", "visible": True}


@pytest.mark.parametrize("country", ["in", "In", "iN", "IN"])
def test_country_is_case_insensitive_in_and_upper_case_out(
    shared: TestClient, country: str
) -> None:
    single = shared.get("/visible", params={"account": "12", "country": country})
    batch = shared.post("/visible", json={"country": country, "accounts": ["12"]})

    assert single.json() == {"account": "12", "country": "IN", "visible": False}
    assert batch.json() == {"country": "IN", "results": [{"account": "12", "visible": False}]}


def test_withholding_hides_account_only_in_that_country(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)

    assert not is_visible(client, "12", "IN")
    assert is_visible(client, "12", "US")
    assert is_visible(client, "13", "IN")


def test_xx_rule_hides_account_in_every_country(client: TestClient) -> None:
    ok(withhold(client, "12", "XX"), 201)

    for country in ("IN", "US", "DE", "BR", "JP", "ZA", "AQ"):
        assert not is_visible(client, "12", country), country
    assert is_visible(client, "13", "IN")
    batch = client.post("/visible", json={"country": "fr", "accounts": ["12", "13"]})
    assert batch.json()["results"] == [
        {"account": "12", "visible": False},
        {"account": "13", "visible": True},
    ]
    assert history(client, "12")["withheld_in_countries"] == ["XX"]


@pytest.mark.parametrize("account", ["1", MAX_ID], ids=["smallest", "largest"])
def test_account_ids_travel_as_strings_across_the_whole_range(
    client: TestClient, account: str
) -> None:
    rule = ok(withhold(client, account, "IN"), 201)
    assert rule["account"] == account

    single = client.get("/visible", params={"account": account, "country": "IN"})
    assert single.json() == {"account": account, "country": "IN", "visible": False}
    batch = client.post("/visible", json={"country": "IN", "accounts": [account]})
    assert batch.json() == {"country": "IN", "results": [{"account": account, "visible": False}]}
    listed = history(client, account)
    assert listed["account"] == account
    assert [r["account"] for r in listed["rules"]] == [account]


# Variants of the plain query ``account={a}&country=IN``: some stay on the fast path, others
# (percent-encoding, lower case, extra parameters) are answered by the FastAPI route.
FAST_AND_ROUTED_QUERIES = [
    pytest.param("account={a}&country=IN&min_revision=0", id="min_revision-0"),
    pytest.param("min_revision=0&country=IN&account={a}", id="reordered-with-min_revision"),
    pytest.param("account={a}&country=%49N", id="percent-encoded-country"),
    pytest.param("account=%3{a}&country=IN", id="percent-encoded-first-digit"),
    pytest.param("account={a}&country=in", id="lower-case-country"),
    pytest.param("country=IN&account={a}", id="reordered"),
    pytest.param("account={a}&country=IN&min_revision={revision}", id="min_revision-current"),
    pytest.param(
        "account={a}&country=%49N&min_revision={revision}", id="routed-min_revision-current"
    ),
]


@pytest.mark.parametrize(
    "account",
    [
        pytest.param(SHARED_WITHHELD_IN_INDIA, id="withheld"),
        pytest.param(SHARED_WITHHELD_EVERYWHERE, id="withheld-everywhere"),
        pytest.param(SHARED_NEVER_WITHHELD, id="not-withheld"),
    ],
)
@pytest.mark.parametrize("query", FAST_AND_ROUTED_QUERIES)
def test_fast_path_and_route_give_identical_answers(
    shared: TestClient, query: str, account: str
) -> None:
    plain = shared.get(f"/visible?account={account}&country=IN")
    # "%3" + the first digit percent-encodes that digit.
    query = query.format(a=account, revision=revision_of(plain))

    other = shared.get(f"/visible?{query}")

    assert plain.status_code == other.status_code == 200
    assert other.content == plain.content
    assert other.json() == {
        "account": account,
        "country": "IN",
        "visible": account == SHARED_NEVER_WITHHELD,
    }
    assert other.headers["content-type"] == plain.headers["content-type"]
    assert revision_of(other) == revision_of(plain)


# -- batch lookups --------------------------------------------------------------------------------


def test_batch_lookup_answers_in_request_order_with_duplicates_kept(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "34", "XX"), 201)
    ok(withhold(client, "56", "US"), 201)

    response = client.post(
        "/visible", json={"country": "in", "accounts": ["56", "12", "34", "12", "56", "78"]}
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "country": "IN",
        "results": [
            {"account": "56", "visible": True},
            {"account": "12", "visible": False},
            {"account": "34", "visible": False},
            {"account": "12", "visible": False},
            {"account": "56", "visible": True},
            {"account": "78", "visible": True},
        ],
    }


def test_batch_lookup_accepts_ten_thousand_accounts(shared: TestClient) -> None:
    accounts = [str(n) for n in range(10_000, 0, -1)]

    response = shared.post("/visible", json={"country": "IN", "accounts": accounts})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["account"] for r in results] == accounts
    assert {r["account"] for r in results if not r["visible"]} == {
        SHARED_WITHHELD_IN_INDIA,
        SHARED_WITHHELD_EVERYWHERE,
    }


@pytest.mark.parametrize("country", ["IN", "US"])
def test_batch_lookup_matches_single_lookups(shared: TestClient, country: str) -> None:
    accounts = ["12", "34", "13", "12", MAX_ID]

    batch = shared.post("/visible", json={"country": country, "accounts": accounts}).json()

    assert batch["results"] == [
        {"account": account, "visible": is_visible(shared, account, country)}
        for account in accounts
    ]
