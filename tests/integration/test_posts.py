"""Post rules: withhold one post in a country, and answer for a post (with its author) in one
lookup — on a real SQLite file and a real PostgreSQL (the ``client`` fixture runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.apps import ClientFactory
from tests.support.tokens import AUTH
from tests.support.waiting import wait_until

AUTHOR, OTHER = "1356948273645182976", "12"
POST, POST2 = "1357000000000000042", "1357000000000000043"
BOUND_S = 1.0


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _withhold_post(
    client: TestClient, post: str, country: str, account: str = AUTHOR, **terms: Any
) -> httpx.Response:
    body = {"account": account, "reason": "MeitY order", **terms}
    response: httpx.Response = client.put(
        f"/posts/{post}/withholdings/{country}", json=body, headers=AUTH
    )
    return response


def _lift_post(client: TestClient, post: str, country: str, **body: Any) -> httpx.Response:
    response: httpx.Response = client.request(
        "DELETE", f"/posts/{post}/withholdings/{country}", json=body or None, headers=AUTH
    )
    return response


def _visible(client: TestClient, post: str, country: str, account: str = AUTHOR) -> Any:
    return _ok(
        client.get("/visible", params={"account": account, "post": post, "country": country})
    )


def _head(client: TestClient) -> int:
    return int(client.get("/healthz").headers["x-withheld-revision"])


# -- rules ----------------------------------------------------------------------------------------


def test_withholding_a_post_answers_201_then_200_with_terms_updated(client: TestClient) -> None:
    created = _ok(_withhold_post(client, POST, "in", order_ref="MEITY/1"), 201)
    assert (created["post"], created["account"], created["country"]) == (POST, AUTHOR, "IN")
    assert created["reason"] == "MeitY order"
    assert created["order_ref"] == "MEITY/1"
    assert created["lifted_at"] is None
    assert created["order_id"] is None
    again = _ok(_withhold_post(client, POST, "IN", reason="updated"), 200)
    assert again["id"] == created["id"]
    assert again["reason"] == "updated"


def test_a_post_named_with_another_author_is_409_and_nothing_is_written(
    client: TestClient,
) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    assert _lift_post(client, POST, "IN").status_code == 204
    head = _head(client)
    # Its rules are lifted, but they still name the author.
    conflict = _withhold_post(client, POST, "FR", account=OTHER)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["detail"].startswith("account:")
    bulk = client.post(
        "/withholdings/bulk",
        json={
            "reason": "r",
            "items": [
                {"account": "5", "country": "IN"},
                {"account": OTHER, "post": POST, "country": "DE"},
            ],
        },
        headers=AUTH,
    )
    assert bulk.status_code == 409, bulk.text
    assert _head(client) == head
    assert _visible(client, POST, "FR", account=OTHER)["visible"]
    assert _ok(client.get("/accounts/5/withholdings"))["withheld_in_countries"] == []


def test_one_request_naming_two_authors_for_a_post_is_409(client: TestClient) -> None:
    bulk = client.post(
        "/withholdings/bulk",
        json={
            "reason": "r",
            "items": [
                {"account": AUTHOR, "post": POST, "country": "IN"},
                {"account": OTHER, "post": POST, "country": "DE"},
            ],
        },
        headers=AUTH,
    )
    assert bulk.status_code == 409
    assert _ok(client.get(f"/posts/{POST}/withholdings"))["account"] is None


def test_lifting_keeps_history_and_a_second_lift_is_404(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    assert (
        _lift_post(client, POST, "IN", reason="court_ruling", note="W.P. 1/2021").status_code == 204
    )
    missing = _lift_post(client, POST, "IN")
    assert missing.status_code == 404
    assert POST in missing.json()["detail"]
    listed = _ok(client.get(f"/posts/{POST}/withholdings", params={"include_lifted": "true"}))
    (rule,) = listed["rules"]
    assert (rule["lift_reason"], rule["lift_note"]) == ("court_ruling", "W.P. 1/2021")
    assert listed["withheld_in_countries"] == []
    assert _ok(client.get(f"/posts/{POST}/withholdings"))["rules"] == []


def test_a_post_never_withheld_has_no_author_and_countries_are_sorted(client: TestClient) -> None:
    assert _ok(client.get(f"/posts/{POST}/withholdings")) == {
        "post": POST,
        "account": None,
        "withheld_in_countries": [],
        "rules": [],
    }
    for country in ("IN", "DE", "XX"):
        _ok(_withhold_post(client, POST, country), 201)
    listed = _ok(client.get(f"/posts/{POST}/withholdings"))
    assert listed["account"] == AUTHOR
    assert listed["withheld_in_countries"] == ["DE", "IN", "XX"]


def test_post_rules_do_not_show_among_the_accounts_rules(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    assert _ok(client.get(f"/accounts/{AUTHOR}/withholdings"))["rules"] == []
    account = client.get("/visible", params={"account": AUTHOR, "country": "IN"})
    assert account.json() == {"account": AUTHOR, "country": "IN", "visible": True}


# -- lookups --------------------------------------------------------------------------------------


def test_a_post_lookup_says_which_scope_hides_it(client: TestClient) -> None:
    assert _visible(client, POST, "IN") == {
        "account": AUTHOR,
        "post": POST,
        "country": "IN",
        "visible": True,
    }
    _ok(_withhold_post(client, POST, "IN"), 201)
    assert _visible(client, POST, "IN") == {
        "account": AUTHOR,
        "post": POST,
        "country": "IN",
        "visible": False,
        "scope": "post",
    }
    assert _visible(client, POST, "US")["visible"] is True
    assert _visible(client, POST2, "IN")["visible"] is True
    # The author's scope wins, in that country or everywhere.
    put = client.put(f"/accounts/{AUTHOR}/withholdings/IN", json={"reason": "r"}, headers=AUTH)
    assert put.status_code == 201
    assert _visible(client, POST, "IN")["scope"] == "account"
    assert _visible(client, POST2, "IN")["scope"] == "account"
    assert _visible(client, POST2, "US")["visible"] is True
    put = client.put(f"/accounts/{AUTHOR}/withholdings/XX", json={"reason": "r"}, headers=AUTH)
    assert _visible(client, POST2, "US")["scope"] == "account"


def test_a_post_withheld_everywhere_is_hidden_in_every_country(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "XX"), 201)
    for country in ("IN", "US", "BR"):
        assert _visible(client, POST, country)["scope"] == "post"


def test_the_account_lookup_still_answers_exactly_its_three_keys(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    response = client.get("/visible", params={"account": AUTHOR, "country": "IN"})
    assert response.json() == {"account": AUTHOR, "country": "IN", "visible": True}


def test_explain_names_the_post_rule_and_at_answers_from_history(client: TestClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    _ok(_withhold_post(client, POST, "IN"), 201)
    explained = _ok(
        client.get(
            "/visible",
            params={"account": AUTHOR, "post": POST, "country": "IN", "explain": "true"},
        )
    )
    assert (explained["visible"], explained["scope"]) == (False, "post")
    (rule,) = explained["explanation"]["rules"]
    assert rule["country"] == "IN"
    assert explained["explanation"]["message"] == "This post has been withheld in India."
    past = _ok(
        client.get(
            "/visible",
            params={"account": AUTHOR, "post": POST, "country": "IN", "at": before.isoformat()},
        )
    )
    assert past["visible"] is True
    assert "scope" not in past
    assert past["at"] is not None
    now = datetime.now(UTC).isoformat()
    present = _ok(
        client.get("/visible", params={"account": AUTHOR, "post": POST, "country": "IN", "at": now})
    )
    assert (present["visible"], present["scope"]) == (False, "post")


def test_a_write_revision_as_min_revision_answers_at_once(client: TestClient) -> None:
    response = _withhold_post(client, POST, "IN")
    revision = response.headers["x-withheld-revision"]
    answer = client.get(
        "/visible",
        params={"account": AUTHOR, "post": POST, "country": "IN", "min_revision": revision},
    )
    assert answer.json()["visible"] is False


def test_a_post_lookup_needs_the_account_and_a_valid_post(client: TestClient) -> None:
    missing = client.get("/visible", params={"post": POST, "country": "IN"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["query", "account"]
    for bad in ("abc", "0", "-5", "1e5", "9223372036854775808", "", "012"):
        response = client.get("/visible", params={"account": AUTHOR, "post": bad, "country": "IN"})
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["query", "post"], bad


def test_a_batch_of_posts_answers_in_request_order_with_duplicates(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    client.put(f"/accounts/{OTHER}/withholdings/XX", json={"reason": "r"}, headers=AUTH)
    items = [
        {"post": POST, "account": AUTHOR},
        {"post": POST2, "account": AUTHOR},
        {"post": "7", "account": OTHER},
        {"post": POST, "account": AUTHOR},
    ]
    answer = _ok(client.post("/visible", json={"country": "in", "posts": items}))
    assert answer == {
        "country": "IN",
        "results": [
            {"post": POST, "account": AUTHOR, "visible": False, "scope": "post"},
            {"post": POST2, "account": AUTHOR, "visible": True},
            {"post": "7", "account": OTHER, "visible": False, "scope": "account"},
            {"post": POST, "account": AUTHOR, "visible": False, "scope": "post"},
        ],
    }


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"country": "IN", "posts": [{"post": POST}]}, ["body", "posts", 0, "account"]),
        ({"country": "IN", "posts": [None]}, ["body", "posts", 0]),
        ({"country": "IN", "posts": []}, ["body", "posts"]),
        (
            {"country": "IN", "posts": [{"post": "1", "account": "2"}] * 10_001},
            ["body", "posts"],
        ),
        (
            {"country": "IN", "posts": [{"post": "abc", "account": "2"}]},
            ["body", "posts", 0, "post"],
        ),
        ({"country": "IN", "accounts": ["1"], "posts": [{"post": "1", "account": "2"}]}, ["body"]),
        ({"country": "IN"}, ["body", "accounts"]),
    ],
)
def test_bad_post_batches_are_422_naming_the_field(
    client: TestClient, body: dict[str, Any], where: list[object]
) -> None:
    response = client.post("/visible", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(where)] == where


# -- bulk, decisions, feed, report, audit ---------------------------------------------------------


def test_bulk_mixes_post_and_account_items_all_or_nothing(client: TestClient) -> None:
    good = {"account": AUTHOR, "post": POST, "country": "IN"}
    bad = client.post(
        "/withholdings/bulk",
        json={"reason": "r", "items": [good, {"account": AUTHOR, "post": "x1", "country": "IN"}]},
        headers=AUTH,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "items", 1, "post"]
    assert _visible(client, POST, "IN")["visible"] is True
    done = _ok(
        client.post(
            "/withholdings/bulk",
            json={"reason": "r", "items": [good, {"account": AUTHOR, "country": "DE"}, good]},
            headers=AUTH,
        ),
        201,
    )
    assert (done["created"], done["duplicates"]) == (2, 1)
    assert _visible(client, POST, "IN")["scope"] == "post"
    assert _visible(client, POST2, "DE")["scope"] == "account"


def _order(client: TestClient) -> str:
    body = {
        "country": "IN",
        "authority": "MeitY",
        "legal_basis": "IT Act s.69A",
        "reference": "MEITY/69A/2021/0042",
        "received_at": "2021-02-01T09:30:00Z",
    }
    order_id: str = _ok(client.post("/orders", json=body, headers=AUTH), 201)["id"]
    return order_id


def test_decisions_on_posts_create_post_rules_with_the_order_as_provenance(
    client: TestClient,
) -> None:
    order_id = _order(client)
    decisions = [
        {"account": AUTHOR, "post": POST, "action": "withhold"},
        {"account": AUTHOR, "post": POST2, "action": "withhold_global"},
        {"account": OTHER, "post": "77", "action": "decline", "category": "journalist"},
    ]
    recorded = _ok(
        client.post(f"/orders/{order_id}/decisions", json={"decisions": decisions}, headers=AUTH),
        201,
    )
    assert (recorded["withheld"], recorded["withheld_global"], recorded["declined"]) == (1, 1, 1)
    (rule,) = _ok(client.get(f"/posts/{POST}/withholdings"))["rules"]
    assert (rule["country"], rule["order_id"]) == ("IN", order_id)
    assert _visible(client, POST2, "US")["scope"] == "post"
    assert _visible(client, "77", "IN", account=OTHER)["visible"] is True
    report = _ok(
        client.get(
            "/reports/transparency",
            params={"from": "2021-01-01T00:00:00Z", "to": "2022-01-01T00:00:00Z"},
        )
    )
    (row,) = report["rows"]
    assert (row["posts_specified"], row["posts_withheld"]) == (3, 2)
    assert (row["accounts_specified"], row["withheld"]) == (0, 0)
    entries = _ok(client.get("/audit", params={"post": POST}, headers=AUTH))["entries"]
    assert [(e["action"], e["post"], e["account"]) for e in entries] == [
        ("decision_withhold", POST, AUTHOR)
    ]


def test_the_change_feed_carries_the_post_and_its_author(client: TestClient) -> None:
    _ok(_withhold_post(client, POST, "IN"), 201)
    client.put(f"/accounts/{OTHER}/withholdings/IN", json={"reason": "r"}, headers=AUTH)
    assert _lift_post(client, POST, "IN").status_code == 204
    changes = _ok(client.get("/changes"))["changes"]
    assert [(c["op"], c["account"], c.get("post"), c["country"]) for c in changes] == [
        ("withhold", AUTHOR, POST, "IN"),
        ("withhold", OTHER, None, "IN"),
        ("lift", AUTHOR, POST, "IN"),
    ]
    assert "post" not in changes[1]


def test_a_post_rule_expires_within_two_seconds(client: TestClient) -> None:
    expires_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    _ok(_withhold_post(client, POST, "IN", expires_at=expires_at), 201)
    assert _visible(client, POST, "IN")["visible"] is False
    wait_until(lambda: _visible(client, POST, "IN")["visible"], timeout=1 + 2)
    (rule,) = _ok(client.get(f"/posts/{POST}/withholdings", params={"include_lifted": "true"}))[
        "rules"
    ]
    assert rule["lift_reason"] == "expired"


# -- replicas and restarts ------------------------------------------------------------------------


def test_a_second_replica_sees_a_post_rule_within_a_second_and_a_restart_keeps_it(
    make_client: ClientFactory,
) -> None:
    writer, reader = make_client(), make_client()
    _ok(_withhold_post(writer, POST, "IN"), 201)
    wait_until(lambda: not _visible(reader, POST, "IN")["visible"], timeout=BOUND_S)
    batch = {"country": "IN", "posts": [{"post": POST, "account": AUTHOR}]}
    assert _ok(reader.post("/visible", json=batch))["results"][0]["scope"] == "post"
    assert _lift_post(reader, POST, "IN").status_code == 204
    wait_until(lambda: _visible(writer, POST, "IN")["visible"], timeout=BOUND_S)
    _ok(_withhold_post(reader, POST2, "DE"), 201)
    restarted = make_client()
    assert _visible(restarted, POST2, "DE")["scope"] == "post"
    assert _visible(restarted, POST, "IN")["visible"] is True
