"""The HTTP contract of withheld, pinned black-box on real SQLite and PostgreSQL databases.

Every test talks to a started app (lifespan included) through ``TestClient`` and looks only at
status codes, headers and JSON bodies, never at the app's internals.

Tests that write get a fresh database each (``client``). Tests that only read, or whose point is
that nothing gets written, share one seeded database per backend for the module (``shared``):
starting the app migrates its database, which costs ~0.3 s on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.apps import running_app
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.http import (
    assert_json_error,
    chunks_of,
    current_revision,
    history,
    is_visible,
    lift,
    ok,
    revision_of,
    withhold,
)
from tests.support.times import in_future, instant
from tests.support.tokens import ADMIN_TOKEN, AUTH, OTHER_TOKEN

MAX_ID = "9223372036854775807"
MANUAL_LIFT_REASONS = {"order_revoked", "review", "court_ruling", "other"}
RULE_FIELDS = {
    "id",
    "account",
    "country",
    "reason",
    "order_ref",
    "created_at",
    "updated_at",
    "expires_at",
    "lifted_at",
    "lift_reason",
}
SMALL_RESPONSE_BYTES = 4096


# -- apps shared by a module ----------------------------------------------------------------------


# In the shared database: 12 is withheld in India, 34 everywhere; no other account has rules.
SHARED_WITHHELD_IN_INDIA = "12"
SHARED_WITHHELD_EVERYWHERE = "34"
SHARED_NEVER_WITHHELD = "13"


@pytest.fixture(scope="module", params=BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return fresh_database_url(request, tmp_path_factory)


@pytest.fixture(scope="module")
def shared(shared_url: str) -> Iterator[TestClient]:
    with running_app(shared_url) as client:
        ok(withhold(client, SHARED_WITHHELD_IN_INDIA, "IN", reason="original"), 201)
        ok(withhold(client, SHARED_WITHHELD_EVERYWHERE, "XX", reason="original"), 201)
        yield client


@pytest.fixture(scope="module")
def tokenless(shared_url: str, shared: TestClient) -> Iterator[TestClient]:
    """A second app on the shared database, configured with no admin token at all."""
    with running_app(shared_url, admin_tokens="") as client:
        yield client


LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small_limit(shared_url: str, shared: TestClient) -> Iterator[TestClient]:
    """A second app on the shared database, accepting request bodies up to ``LIMIT`` bytes."""
    with running_app(shared_url, max_body_bytes=LIMIT) as client:
        yield client


# -- lookups --------------------------------------------------------------------------------------


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


def test_rule_country_is_case_insensitive_in_and_upper_case_out(client: TestClient) -> None:
    rule = ok(withhold(client, "12", "iN"), 201)

    assert rule["country"] == "IN"
    assert history(client, "12")["withheld_in_countries"] == ["IN"]
    assert withhold(client, "12", "in").status_code == 200


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


# -- rules ----------------------------------------------------------------------------------------


def test_withhold_creates_a_rule_with_201_and_returns_its_terms(client: TestClient) -> None:
    before = datetime.now(UTC)

    response = client.put(
        "/accounts/12/withholdings/in",
        json={
            "reason": "MeitY order under IT Act s.69A",
            "order_ref": "MEITY/69A/2021/0042",
            "expires_at": "2030-01-31T00:00:00+05:30",
        },
        headers=AUTH,
    )

    rule = ok(response, 201)
    assert set(rule) >= RULE_FIELDS
    assert rule["account"] == "12"
    assert rule["country"] == "IN"
    assert rule["reason"] == "MeitY order under IT Act s.69A"
    assert rule["order_ref"] == "MEITY/69A/2021/0042"
    assert instant(rule["expires_at"]) == datetime(2030, 1, 30, 18, 30, tzinfo=UTC)
    assert rule["lifted_at"] is None
    assert rule["lift_reason"] is None
    created_at = instant(rule["created_at"])
    assert before - timedelta(seconds=1) <= created_at <= datetime.now(UTC) + timedelta(seconds=1)


def test_withhold_without_optional_terms_leaves_them_null(client: TestClient) -> None:
    rule = ok(withhold(client, "12", "IN", reason="r"), 201)

    assert rule["order_ref"] is None
    assert rule["expires_at"] is None


def test_withhold_again_is_idempotent_with_200_and_updates_terms(client: TestClient) -> None:
    first = ok(withhold(client, "12", "IN", reason="first", order_ref="A-1"), 201)
    first_revision = current_revision(client)

    again = withhold(
        client, "12", "in", reason="second", order_ref="B-2", expires_at="2031-06-01T12:00:00Z"
    )

    assert again.status_code == 200, again.text
    rule = again.json()
    assert rule["id"] == first["id"]
    assert rule["reason"] == "second"
    assert rule["order_ref"] == "B-2"
    assert instant(rule["expires_at"]) == datetime(2031, 6, 1, 12, tzinfo=UTC)
    assert revision_of(again) == first_revision
    listed = history(client, "12", include_lifted=True)
    assert len(listed["rules"]) == 1
    assert listed["rules"][0]["reason"] == "second"
    assert listed["rules"][0]["order_ref"] == "B-2"
    assert not is_visible(client, "12", "IN")


def test_lift_restores_visibility_in_that_country_only(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "12", "DE"), 201)

    response = lift(client, "12", "IN")

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert is_visible(client, "12", "IN")
    assert not is_visible(client, "12", "DE")
    assert history(client, "12")["withheld_in_countries"] == ["DE"]


def test_lift_of_an_xx_rule_restores_visibility_everywhere(client: TestClient) -> None:
    ok(withhold(client, "12", "XX"), 201)

    assert lift(client, "12", "xx").status_code == 204

    assert is_visible(client, "12", "IN")
    assert is_visible(client, "12", "US")


@pytest.mark.parametrize("reason", sorted(MANUAL_LIFT_REASONS))
def test_lift_keeps_the_rule_in_history_with_lifted_at_and_reason(
    client: TestClient, reason: str
) -> None:
    rule = ok(withhold(client, "12", "IN"), 201)
    before = datetime.now(UTC)

    response = lift(client, "12", "IN", {"reason": reason, "note": "see ticket 42"})

    assert response.status_code == 204, response.text
    assert history(client, "12") == {"account": "12", "withheld_in_countries": [], "rules": []}
    (lifted,) = history(client, "12", include_lifted=True)["rules"]
    assert lifted["id"] == rule["id"]
    assert lifted["lift_reason"] == reason
    lifted_at = instant(lifted["lifted_at"])
    assert before - timedelta(seconds=1) <= lifted_at <= datetime.now(UTC) + timedelta(seconds=1)


def test_lift_without_a_body_records_a_manual_reason(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)

    response = client.delete("/accounts/12/withholdings/IN", headers=AUTH)

    assert response.status_code == 204, response.text
    (lifted,) = history(client, "12", include_lifted=True)["rules"]
    assert lifted["lifted_at"] is not None
    assert lifted["lift_reason"] in MANUAL_LIFT_REASONS


def test_lift_without_an_active_rule_is_404(client: TestClient) -> None:
    assert_json_error(lift(client, "12", "IN"), 404)

    ok(withhold(client, "12", "IN"), 201)
    assert lift(client, "12", "IN").status_code == 204
    assert_json_error(lift(client, "12", "IN"), 404)
    assert_json_error(lift(client, "12", "US"), 404)
    assert len(history(client, "12", include_lifted=True)["rules"]) == 1


def test_rewithholding_after_a_lift_creates_a_new_rule_and_history_keeps_both(
    client: TestClient,
) -> None:
    first = ok(withhold(client, "12", "IN", reason="first order"), 201)
    assert lift(client, "12", "IN", {"reason": "review"}).status_code == 204

    second = ok(withhold(client, "12", "IN", reason="second order"), 201)

    assert second["id"] != first["id"]
    assert second["lifted_at"] is None
    assert not is_visible(client, "12", "IN")
    listed = history(client, "12", include_lifted=True)
    assert listed["withheld_in_countries"] == ["IN"]
    by_id = {r["id"]: r for r in listed["rules"]}
    assert set(by_id) == {first["id"], second["id"]}
    assert by_id[first["id"]]["lifted_at"] is not None
    assert by_id[first["id"]]["lift_reason"] == "review"
    assert by_id[second["id"]]["lifted_at"] is None
    assert [r["id"] for r in history(client, "12")["rules"]] == [second["id"]]


def test_withheld_in_countries_is_sorted_and_only_lists_active_rules(client: TestClient) -> None:
    for country in ("US", "xx", "in", "DE", "BR"):
        ok(withhold(client, "12", country), 201)
    assert lift(client, "12", "BR").status_code == 204

    listed = history(client, "12")

    assert listed["withheld_in_countries"] == ["DE", "IN", "US", "XX"]
    assert sorted(r["country"] for r in listed["rules"]) == ["DE", "IN", "US", "XX"]
    assert all(r["lifted_at"] is None for r in listed["rules"])
    lifted = [r for r in history(client, "12", include_lifted=True)["rules"] if r["lifted_at"]]
    assert [r["country"] for r in lifted] == ["BR"]


def test_account_without_rules_has_an_empty_history(shared: TestClient) -> None:
    assert history(shared, "5", include_lifted=True) == {
        "account": "5",
        "withheld_in_countries": [],
        "rules": [],
    }


def test_rules_of_one_account_do_not_leak_into_another(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)

    assert history(client, "120", include_lifted=True)["rules"] == []
    assert history(client, "1", include_lifted=True)["rules"] == []


# -- bulk -----------------------------------------------------------------------------------------


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


# -- health ---------------------------------------------------------------------------------------


def test_healthz_answers_200(shared: TestClient) -> None:
    response = shared.get("/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


def test_readyz_reports_loaded_index_database_revision_and_pairs(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "12", "XX"), 201)
    write = withhold(client, "34", "US")
    ok(write, 201)
    assert lift(client, "12", "IN").status_code == 204

    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["index_loaded"] is True
    assert body["database"] == "ok"
    assert body["pairs"] == 2
    assert body["revision"] == revision_of(response)
    assert body["revision"] > revision_of(write)


# -- errors ---------------------------------------------------------------------------------------


HUGE = "9" * 2_000_000
# httpx refuses URLs over 64 KiB, so inputs in the URL are as large as a URL may be.
HUGE_IN_URL = "9" * 60_000

HUGE_INVALID_INPUTS: list[Any] = [
    pytest.param(
        "GET", "/visible", {"params": {"account": HUGE_IN_URL, "country": "IN"}}, id="query"
    ),
    pytest.param(
        "POST", "/visible", {"json": {"country": "IN", "accounts": ["12", HUGE]}}, id="batch"
    ),
    pytest.param("GET", f"/accounts/{HUGE_IN_URL}/withholdings", {}, id="path"),
    pytest.param(
        "PUT",
        "/accounts/12/withholdings/IN",
        {"json": {"reason": HUGE}, "headers": AUTH},
        id="reason",
    ),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"json": {"reason": "r", "items": [{"account": HUGE, "country": "IN"}]}, "headers": AUTH},
        id="bulk-item",
    ),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), HUGE_INVALID_INPUTS)
def test_validation_error_never_echoes_a_huge_input(
    shared: TestClient, method: str, url: str, kwargs: dict[str, Any]
) -> None:
    revision = current_revision(shared)

    response = shared.request(method, url, **kwargs)

    assert_json_error(response, 422)
    assert len(response.content) < SMALL_RESPONSE_BYTES
    assert "9" * 100 not in response.text
    assert current_revision(shared) == revision


def test_validation_error_names_the_field(shared: TestClient) -> None:
    response = shared.post("/visible", json={"country": "IN", "accounts": ["12", "34", "x"]})

    detail = assert_json_error(response, 422)
    assert ["body", "accounts", 2] in [issue["loc"] for issue in detail]
    assert all({"loc", "msg", "type"} <= set(issue) for issue in detail)


OVERSIZED_WRITES: list[Any] = [
    pytest.param("POST", "/visible", id="batch-lookup"),
    pytest.param("PUT", "/accounts/12/withholdings/IN", id="withhold"),
    pytest.param("POST", "/withholdings/bulk", id="bulk"),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", id="lift"),
]


def oversized_body(url: str, size: int) -> bytes:
    """Valid JSON for ``url``, padded with whitespace to exactly ``size`` bytes."""
    if url == "/visible":
        payload = b'{"country":"IN","accounts":["12"]}'
    elif url == "/withholdings/bulk":
        payload = b'{"reason":"r","items":[{"account":"12","country":"IN"}]}'
    else:
        payload = b'{"reason":"r"}'
    assert len(payload) < size
    return payload + b" " * (size - len(payload))


def snapshot(client: TestClient) -> tuple[Any, ...]:
    """What a stray write to the shared database would change."""
    return (
        current_revision(client),
        client.get("/readyz").json()["pairs"],
        history(client, "12", include_lifted=True),
        history(client, "56", include_lifted=True),
        is_visible(client, "12", "IN"),
        is_visible(client, "56", "US"),
    )


@pytest.mark.parametrize(("method", "url"), OVERSIZED_WRITES)
def test_body_over_the_limit_is_413_with_content_length(
    small_limit: TestClient, method: str, url: str
) -> None:
    before = snapshot(small_limit)

    response = small_limit.request(
        method,
        url,
        content=oversized_body(url, LIMIT + 1),
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.request.headers["content-length"] == str(LIMIT + 1)
    assert_json_error(response, 413)
    assert snapshot(small_limit) == before


@pytest.mark.parametrize(("method", "url"), OVERSIZED_WRITES)
def test_body_over_the_limit_is_413_when_streamed_without_content_length(
    small_limit: TestClient, method: str, url: str
) -> None:
    before = snapshot(small_limit)

    response = small_limit.request(
        method,
        url,
        content=chunks_of(oversized_body(url, LIMIT * 3), 4096),
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_json_error(response, 413)
    assert snapshot(small_limit) == before


def test_body_at_the_limit_is_accepted(small_limit: TestClient) -> None:
    headers = {"Content-Type": "application/json"}

    with_length = small_limit.post(
        "/visible", content=oversized_body("/visible", LIMIT), headers=headers
    )
    streamed = small_limit.post(
        "/visible", content=chunks_of(oversized_body("/visible", LIMIT), 4096), headers=headers
    )

    assert with_length.status_code == 200, with_length.text
    assert streamed.status_code == 200, streamed.text


def test_default_body_limit_is_eight_mebibytes(shared: TestClient) -> None:
    limit = 8 * 1024 * 1024
    headers = {"Content-Type": "application/json"}

    at_limit = shared.post("/visible", content=oversized_body("/visible", limit), headers=headers)
    over = shared.post("/visible", content=oversized_body("/visible", limit + 1), headers=headers)
    over_in_bulk = shared.post(
        "/withholdings/bulk",
        content=oversized_body("/withholdings/bulk", limit + 1),
        headers={**AUTH, **headers},
    )

    assert at_limit.status_code == 200, at_limit.text
    assert_json_error(over, 413)
    assert_json_error(over_in_bulk, 413)


# -- auth -----------------------------------------------------------------------------------------


BAD_CREDENTIALS = [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": "Bearer wrong-token-000000000000"}, id="wrong-token"),
    pytest.param({"Authorization": f"Bearer {ADMIN_TOKEN}x"}, id="token-with-suffix"),
    pytest.param({"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}, id="token-prefix"),
    pytest.param({"Authorization": "Bearer "}, id="empty-bearer"),
    pytest.param({"Authorization": f"Basic {ADMIN_TOKEN}"}, id="basic-scheme"),
    pytest.param({"Authorization": f"Token {ADMIN_TOKEN}"}, id="token-scheme"),
    pytest.param({"Authorization": ADMIN_TOKEN}, id="no-scheme"),
    pytest.param({"X-Admin-Token": ADMIN_TOKEN}, id="other-header"),
]

WRITES: list[Any] = [
    pytest.param("PUT", "/accounts/56/withholdings/US", {"reason": "r"}, id="withhold-new-pair"),
    pytest.param(
        "PUT", "/accounts/12/withholdings/IN", {"reason": "hijacked"}, id="withhold-active-pair"
    ),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", {"reason": "review"}, id="lift"),
    pytest.param("DELETE", "/accounts/12/withholdings/IN", None, id="lift-without-body"),
    pytest.param(
        "POST",
        "/withholdings/bulk",
        {"reason": "r", "items": [{"account": "56", "country": "US"}]},
        id="bulk",
    ),
]


@pytest.mark.parametrize("headers", BAD_CREDENTIALS)
@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_without_a_valid_bearer_token_are_401_and_write_nothing(
    shared: TestClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    before = snapshot(shared)

    response = shared.request(method, url, json=body, headers=headers)

    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(shared) == before


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_writes_are_refused_with_401_when_no_token_is_configured(
    tokenless: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    before = snapshot(tokenless)

    response = tokenless.request(method, url, json=body, headers=AUTH)

    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(tokenless) == before


def test_every_configured_token_may_write(client: TestClient) -> None:
    response = client.put(
        "/accounts/12/withholdings/IN",
        json={"reason": "r"},
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    )

    ok(response, 201)
    assert not is_visible(client, "12", "IN")


def test_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    response = client.put(
        "/accounts/12/withholdings/IN",
        json={"reason": "r"},
        headers={"Authorization": f"bearer {ADMIN_TOKEN}"},
    )

    ok(response, 201)


READS: list[Any] = [
    pytest.param("GET", "/visible?account=12&country=IN", None, id="fast-lookup"),
    pytest.param("GET", "/visible?account=12&country=%49N", None, id="routed-lookup"),
    pytest.param("POST", "/visible", {"country": "IN", "accounts": ["12"]}, id="batch-lookup"),
    pytest.param("GET", "/accounts/12/withholdings", None, id="rules"),
    pytest.param("GET", "/accounts/12/withholdings?include_lifted=true", None, id="history"),
    pytest.param("GET", "/healthz", None, id="healthz"),
    pytest.param("GET", "/readyz", None, id="readyz"),
]


@pytest.mark.parametrize("configured", [True, False], ids=["tokens-configured", "no-tokens"])
@pytest.mark.parametrize(("method", "url", "body"), READS)
def test_reads_never_need_auth(
    shared: TestClient,
    tokenless: TestClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    configured: bool,
) -> None:
    client = shared if configured else tokenless

    response = client.request(method, url, json=body)

    assert response.status_code == 200, response.text


# -- revisions ------------------------------------------------------------------------------------


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


# -- expiry ---------------------------------------------------------------------------------------


def test_rule_stops_withholding_when_it_expires_without_a_request_to_it(
    client: TestClient,
) -> None:
    rule = ok(withhold(client, "12", "IN", expires_at=in_future(1.5)), 201)
    ok(withhold(client, "12", "US"), 201)
    expires_at = instant(rule["expires_at"])
    deadline = expires_at + timedelta(seconds=2)

    while not is_visible(client, "12", "IN"):
        assert datetime.now(UTC) <= deadline, "still withheld 2 s after expires_at"
        time.sleep(0.05)
    assert datetime.now(UTC) >= expires_at, "lifted before expires_at"

    assert not is_visible(client, "12", "US")
    assert history(client, "12")["withheld_in_countries"] == ["US"]
    expired = [r for r in history(client, "12", include_lifted=True)["rules"] if r["lifted_at"]]
    assert len(expired) == 1
    assert expired[0]["id"] == rule["id"]
    assert expired[0]["lift_reason"] == "expired"
    assert instant(expired[0]["lifted_at"]) == expires_at
    assert lift(client, "12", "IN").status_code == 404
