"""Hashtag restrictions, end to end on each database: the contract of issue #15, row by row.

A restricted hashtag may not trend nor be suggested in that country (``XX``: anywhere); posts using
it stay visible, so ``/visible`` never changes.
"""

# Full-width spellings are the point here.
# ruff: noqa: RUF001

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.hashtags import eligible
from tests.support.tokens import AUTH

ORDER: dict[str, Any] = {
    "country": "IN",
    "authority": "MeitY",
    "legal_basis": "IT Act s.69A",
    "reference": "MEITY/69A/2021/0099",
    "received_at": "2021-02-01T09:30:00Z",
    "sealed": False,
}


def _path(hashtag: str, country: str | None = None) -> str:
    base = f"/hashtags/{quote(hashtag, safe='')}/restrictions"
    return base if country is None else f"{base}/{country}"


def restrict(client: TestClient, hashtag: str, country: str, **body: Any) -> httpx.Response:
    response: httpx.Response = client.put(
        _path(hashtag, country), json={"reason": "harmful", **body}, headers=AUTH
    )
    return response


def lift(client: TestClient, hashtag: str, country: str, **body: Any) -> httpx.Response:
    response: httpx.Response = client.request(
        "DELETE", _path(hashtag, country), json=body or None, headers=AUTH
    )
    return response


def batch(client: TestClient, country: str, hashtags: list[Any]) -> httpx.Response:
    response: httpx.Response = client.post(
        "/hashtags/eligible", json={"country": country, "hashtags": hashtags}
    )
    return response


def listing(client: TestClient, hashtag: str, **params: str) -> dict[str, Any]:
    response = client.get(_path(hashtag), params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# -- PUT / DELETE / GET restrictions ---------------------------------------------------------------


def test_restrict_creates_then_updates_the_active_restriction(client: TestClient) -> None:
    created = ok(restrict(client, "#FarmersProtest", "IN", order_ref="MEITY/1"), 201)
    assert created["hashtag"] == "farmersprotest"
    assert created["country"] == "IN"
    assert (created["reason"], created["order_ref"]) == ("harmful", "MEITY/1")
    assert created["lifted_at"] is None
    assert created["order_id"] is None
    assert {"created_at", "expires_at"} <= created.keys()
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    updated = ok(restrict(client, "ＦａｒｍｅｒｓＰｒｏｔｅｓｔ", "in", expires_at=expires), 200)
    assert updated["created_at"] == created["created_at"]
    assert updated["order_ref"] is None
    assert updated["expires_at"] is not None
    assert len(listing(client, "farmersprotest")["restrictions"]) == 1


def test_a_write_carries_the_revision_it_leaves(client: TestClient) -> None:
    first = restrict(client, "a", "IN")
    second = restrict(client, "b", "IN")
    assert (
        int(second.headers["x-withheld-revision"]) == int(first.headers["x-withheld-revision"]) + 1
    )


def test_lift_keeps_the_restriction_in_history_and_a_second_lift_is_404(
    client: TestClient,
) -> None:
    ok(restrict(client, "Straße", "DE"), 201)
    assert not eligible(client, "STRASSE", "DE")
    lifted = lift(client, "strasse", "DE", reason="court_ruling", note="overturned")
    assert lifted.status_code == 204, lifted.text
    assert eligible(client, "STRASSE", "DE")
    again = lift(client, "strasse", "DE")
    assert again.status_code == 404
    assert "detail" in again.json()
    found = listing(client, "STRASSE", include_lifted="true")
    assert found["restricted_in_countries"] == []
    (old,) = found["restrictions"]
    assert (old["lift_reason"], old["lift_note"]) == ("court_ruling", "overturned")
    assert old["lifted_at"] is not None
    assert listing(client, "strasse")["restrictions"] == []


def test_lift_without_a_body_defaults_the_reason(client: TestClient) -> None:
    ok(restrict(client, "a", "IN"), 201)
    assert client.request("DELETE", _path("a", "IN"), headers=AUTH).status_code == 204
    (old,) = listing(client, "a", include_lifted="true")["restrictions"]
    assert old["lift_reason"] == "other"


def test_listing_sorts_countries_and_answers_in_normalised_form(client: TestClient) -> None:
    for country in ("US", "IN", "XX", "DE"):
        ok(restrict(client, "#किसान_आंदोलन", country), 201)
    found = listing(client, "किसान_आंदोलन")
    assert found["hashtag"] == "किसान_आंदोलन"
    assert found["restricted_in_countries"] == ["DE", "IN", "US", "XX"]
    assert [r["country"] for r in found["restrictions"]] == ["DE", "IN", "US", "XX"]
    assert listing(client, "never") == {
        "hashtag": "never",
        "restricted_in_countries": [],
        "restrictions": [],
    }


def test_writes_need_a_token(client: TestClient) -> None:
    assert client.put(_path("a", "IN"), json={"reason": "r"}).status_code == 401
    assert client.request("DELETE", _path("a", "IN")).status_code == 401


# -- eligibility -------------------------------------------------------------------------------


def test_eligible_is_false_where_restricted_and_everywhere_under_xx(client: TestClient) -> None:
    ok(restrict(client, "FarmersProtest", "IN"), 201)
    assert not eligible(client, "#FarmersProtest", "IN")
    assert eligible(client, "#FarmersProtest", "US")
    answer = ok(
        client.get("/hashtags/eligible", params={"hashtag": "#FarmersProtest", "country": "in"})
    )
    assert answer == {"hashtag": "farmersprotest", "country": "IN", "eligible": False}
    ok(restrict(client, "everywhere", "XX"), 201)
    assert not eligible(client, "Everywhere", "US")
    assert not eligible(client, "Everywhere", "BR")


def test_batch_answers_in_request_order_with_duplicates_as_given(client: TestClient) -> None:
    ok(restrict(client, "farmersprotest", "IN"), 201)
    ok(restrict(client, "strasse", "XX"), 201)
    given = [
        "#FarmersProtest",
        "cricket",
        "ＦａｒｍｅｒｓＰｒｏｔｅｓｔ",
        "Straße",
        "किसान_आंदोलन",
        "cricket",
    ]
    answer = ok(batch(client, "in", given))
    assert answer["country"] == "IN"
    assert answer["results"] == [
        {"hashtag": "#FarmersProtest", "normalized": "farmersprotest", "eligible": False},
        {"hashtag": "cricket", "normalized": "cricket", "eligible": True},
        {
            "hashtag": "ＦａｒｍｅｒｓＰｒｏｔｅｓｔ",
            "normalized": "farmersprotest",
            "eligible": False,
        },
        {"hashtag": "Straße", "normalized": "strasse", "eligible": False},
        {"hashtag": "किसान_आंदोलन", "normalized": "किसान_आंदोलन", "eligible": True},
        {"hashtag": "cricket", "normalized": "cricket", "eligible": True},
    ]
    elsewhere = ok(batch(client, "US", given))["results"]
    assert [item["eligible"] for item in elsewhere] == [True, True, True, False, True, True]


def test_batch_of_a_thousand_is_accepted(client: TestClient) -> None:
    tags = [f"tag_{n}" for n in range(1000)]
    ok(restrict(client, "tag_7", "IN"), 201)
    results = ok(batch(client, "IN", tags))["results"]
    assert len(results) == 1000
    assert [n for n, item in enumerate(results) if not item["eligible"]] == [7]


def test_a_hashtag_restriction_never_hides_content(client: TestClient) -> None:
    ok(restrict(client, "12", "IN"), 422)  # an all-digit tag is not a hashtag
    ok(restrict(client, "farmersprotest", "XX"), 201)
    assert ok(client.get("/visible", params={"account": "12", "country": "IN"}))["visible"]
    assert ok(client.post("/visible", json={"country": "IN", "accounts": ["12", "13"]}))[
        "results"
    ] == [{"account": "12", "visible": True}, {"account": "13", "visible": True}]
    assert ok(client.get("/readyz"))["pairs"] >= 0


def test_min_revision_ahead_answers_503_and_a_reached_one_answers(client: TestClient) -> None:
    revision = int(restrict(client, "a", "IN").headers["x-withheld-revision"])
    assert not eligible(client, "a", "IN", min_revision=str(revision))
    ahead = client.get(
        "/hashtags/eligible",
        params={"hashtag": "a", "country": "IN", "min_revision": str(revision + 1000)},
    )
    assert ahead.status_code == 503
    assert ahead.headers["retry-after"] == "1"
    behind = client.post(
        "/hashtags/eligible",
        params={"min_revision": str(revision + 1000)},
        json={"country": "IN", "hashtags": ["a"]},
    )
    assert behind.status_code == 503


def test_explain_names_the_restrictions_and_their_order(client: TestClient) -> None:
    order = ok(client.post("/orders", json=ORDER, headers=AUTH), 201)
    ok(
        client.post(
            f"/orders/{order['id']}/decisions",
            json={"decisions": [{"hashtag": "#FarmersProtest", "action": "restrict"}]},
            headers=AUTH,
        ),
        201,
    )
    ok(restrict(client, "farmersprotest", "XX"), 201)
    answer = ok(
        client.get(
            "/hashtags/eligible",
            params={"hashtag": "FarmersProtest", "country": "IN", "explain": "true"},
        )
    )
    assert answer["eligible"] is False
    explained = answer["explanation"]["restrictions"]
    assert [item["country"] for item in explained] == ["IN", "XX"]
    assert explained[0]["order"]["id"] == order["id"]
    assert explained[1]["order"] is None
    assert "farmersprotest" in answer["explanation"]["message"]
    plain = ok(
        client.get(
            "/hashtags/eligible", params={"hashtag": "cricket", "country": "IN", "explain": "true"}
        )
    )
    assert plain["eligible"] is True
    assert plain["explanation"]["restrictions"] == []


def test_as_of_answers_from_the_history(client: TestClient) -> None:
    before = datetime.now(UTC)
    time.sleep(0.01)
    ok(restrict(client, "farmersprotest", "IN"), 201)
    time.sleep(0.01)
    during = datetime.now(UTC)
    time.sleep(0.01)
    assert lift(client, "farmersprotest", "IN").status_code == 204
    time.sleep(0.01)
    after = datetime.now(UTC)

    def at(instant: datetime) -> dict[str, Any]:
        found: dict[str, Any] = ok(
            client.get(
                "/hashtags/eligible",
                params={"hashtag": "FarmersProtest", "country": "IN", "at": instant.isoformat()},
            )
        )
        return found

    assert at(before)["eligible"] is True
    assert at(during)["eligible"] is False
    assert at(during)["at"] is not None
    assert at(after)["eligible"] is True
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    refused = client.get(
        "/hashtags/eligible", params={"hashtag": "a", "country": "IN", "at": future}
    )
    assert refused.status_code == 422


def test_a_restriction_expires_within_two_seconds_without_a_request_to_it(
    client: TestClient,
) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    ok(restrict(client, "brief", "IN", expires_at=expires.isoformat()), 201)
    ok(restrict(client, "brief", "US"), 201)
    deadline = expires + timedelta(seconds=2)
    while not eligible(client, "brief", "IN"):
        assert datetime.now(UTC) <= deadline, "still restricted 2 s after expires_at"
        time.sleep(0.05)
    assert datetime.now(UTC) >= expires, "lifted before expires_at"
    assert not eligible(client, "brief", "US")
    found = listing(client, "brief", include_lifted="true")
    assert found["restricted_in_countries"] == ["US"]
    (expired,) = [r for r in found["restrictions"] if r["lifted_at"]]
    assert expired["lift_reason"] == "expired"
    assert datetime.fromisoformat(expired["lifted_at"]) == expires
    assert lift(client, "brief", "IN").status_code == 404
    entries = ok(client.get("/audit", params={"hashtag": "brief"}, headers=AUTH))["entries"]
    assert [e["action"] for e in entries][-1] == "expire"
    assert entries[-1]["actor"] == "system:expiry"


# -- audit, changes, decisions, report -------------------------------------------------------------


def test_every_write_is_audited_with_its_hashtag(client: TestClient) -> None:
    ok(restrict(client, "#FarmersProtest", "IN"), 201)
    ok(restrict(client, "farmersprotest", "IN", reason="again"), 200)
    assert lift(client, "farmersprotest", "IN", reason="review", note="n").status_code == 204
    ok(restrict(client, "other", "IN"), 201)
    entries = ok(
        client.get("/audit", params={"hashtag": "ＦａｒｍｅｒｓＰｒｏｔｅｓｔ"}, headers=AUTH)
    )["entries"]
    assert [(e["action"], e["hashtag"], e["country"], e["actor"]) for e in entries] == [
        ("restrict", "farmersprotest", "IN", "alice"),
        ("update", "farmersprotest", "IN", "alice"),
        ("lift", "farmersprotest", "IN", "alice"),
    ]
    assert entries[2]["justification"] == "review: n"
    assert all("account" not in e for e in entries)


def test_the_change_feed_says_restrict_and_lift_with_the_hashtag(client: TestClient) -> None:
    ok(restrict(client, "#FarmersProtest", "IN"), 201)
    ok(client.put("/accounts/12/withholdings/IN", json={"reason": "r"}, headers=AUTH), 201)
    assert lift(client, "farmersprotest", "IN").status_code == 204
    changes = ok(client.get("/changes"))["changes"]
    assert [(c["op"], c.get("hashtag"), c.get("account"), c["country"]) for c in changes] == [
        ("restrict", "farmersprotest", None, "IN"),
        ("withhold", None, "12", "IN"),
        ("lift", "farmersprotest", None, "IN"),
    ]
    assert [c["revision"] for c in changes] == [1, 2, 3]
    assert all("at" in c for c in changes)


def test_decisions_restrict_in_the_order_country_and_everywhere(client: TestClient) -> None:
    order = ok(client.post("/orders", json=ORDER, headers=AUTH), 201)
    answer = ok(
        client.post(
            f"/orders/{order['id']}/decisions",
            json={
                "decisions": [
                    {"hashtag": "#FarmersProtest", "action": "restrict", "note": "n"},
                    {"hashtag": "Straße", "action": "restrict_global"},
                    {"hashtag": "cricket", "action": "decline", "category": "other"},
                    {"account": "12", "action": "withhold"},
                    {"hashtag": "farmersprotest", "action": "restrict"},
                ]
            },
            headers=AUTH,
        ),
        201,
    )
    assert (answer["restricted"], answer["restricted_global"]) == (1, 1)
    assert (answer["withheld"], answer["declined"], answer["already_active"]) == (1, 1, 1)
    assert listing(client, "farmersprotest")["restricted_in_countries"] == ["IN"]
    assert listing(client, "strasse")["restricted_in_countries"] == ["XX"]
    assert listing(client, "cricket")["restricted_in_countries"] == []
    (made,) = listing(client, "farmersprotest")["restrictions"]
    assert made["order_id"] == order["id"]
    assert made["order_ref"] == ORDER["reference"]
    assert not eligible(client, "farmersprotest", "IN")
    assert not eligible(client, "strasse", "US")
    assert not ok(client.get("/visible", params={"account": "12", "country": "IN"}))["visible"]
    actions = [
        e["action"] for e in ok(client.get("/audit", headers=AUTH))["entries"] if e.get("hashtag")
    ]
    assert actions == [
        "decision_restrict",
        "decision_restrict_global",
        "decision_decline",
        "decision_restrict",
    ]


@pytest.mark.parametrize(
    "decision",
    [
        {"account": "12", "hashtag": "a", "action": "decline", "category": "other"},
        {"action": "decline", "category": "other"},
        {"hashtag": "a", "action": "withhold"},
        {"hashtag": "a", "action": "withhold_global"},
        {"account": "12", "action": "restrict"},
        {"hashtag": "a", "post": "5", "action": "restrict"},
        {"hashtag": "a b", "action": "restrict"},
        {"hashtag": "a", "action": "decline"},
    ],
)
def test_a_decision_names_an_account_or_a_hashtag_with_its_own_actions(
    client: TestClient, decision: dict[str, Any]
) -> None:
    order = ok(client.post("/orders", json=ORDER, headers=AUTH), 201)
    good = {"hashtag": "fine", "action": "restrict"}
    refused = client.post(
        f"/orders/{order['id']}/decisions", json={"decisions": [good, decision]}, headers=AUTH
    )
    assert refused.status_code == 422, refused.text
    assert any(issue["loc"][:3] == ["body", "decisions", 1] for issue in refused.json()["detail"])
    assert listing(client, "fine")["restrictions"] == []
    assert ok(client.get("/changes"))["changes"] == []


def test_the_report_counts_hashtags_specified_and_restricted(client: TestClient) -> None:
    order = ok(client.post("/orders", json=ORDER, headers=AUTH), 201)
    ok(
        client.post(
            f"/orders/{order['id']}/decisions",
            json={
                "decisions": [
                    {"hashtag": "a", "action": "restrict"},
                    {"hashtag": "#A", "action": "restrict_global"},
                    {"hashtag": "b", "action": "decline", "category": "activist"},
                    {"hashtag": "c", "action": "restrict"},
                    {"account": "12", "action": "decline", "category": "journalist"},
                ]
            },
            headers=AUTH,
        ),
        201,
    )
    report = ok(
        client.get(
            "/reports/transparency",
            params={"from": "2021-01-01T00:00:00Z", "to": "2021-03-01T00:00:00Z"},
        )
    )
    (row,) = report["rows"]
    assert (row["hashtags_specified"], row["hashtags_restricted"]) == (3, 2)
    assert row["accounts_specified"] == 1
    assert row["declined"]["journalist"] == 1
    assert row["declined"]["activist"] == 0  # a declined hashtag is not a declined account
    as_csv = client.get(
        "/reports/transparency",
        params={"from": "2021-01-01T00:00:00Z", "to": "2021-03-01T00:00:00Z"},
        headers={"Accept": "text/csv"},
    )
    header, line = as_csv.text.splitlines()[:2]
    assert header.endswith("hashtags_specified,hashtags_restricted")
    assert line.endswith(",3,2")


def test_a_sealed_order_is_not_disclosed_by_a_restriction(client: TestClient) -> None:
    sealed = ok(
        client.post(
            "/orders",
            json={**ORDER, "authority": "Secret-Q", "reference": "SEALED-Q", "sealed": True},
            headers=AUTH,
        ),
        201,
    )
    ok(
        client.post(
            f"/orders/{sealed['id']}/decisions",
            json={"decisions": [{"hashtag": "hidden", "action": "restrict", "note": "Secret-N"}]},
            headers=AUTH,
        ),
        201,
    )
    (made,) = listing(client, "hidden")["restrictions"]
    assert (made["reason"], made["order_ref"], made["order_id"]) == (
        "sealed legal order",
        None,
        None,
    )
    explained = ok(
        client.get(
            "/hashtags/eligible", params={"hashtag": "hidden", "country": "IN", "explain": "true"}
        )
    )
    assert explained["explanation"]["restrictions"][0]["order"] == {"sealed": True}
    assert "Secret" not in explained["explanation"]["message"]
    report = ok(
        client.get(
            "/reports/transparency",
            params={"from": "2021-01-01T00:00:00Z", "to": "2021-03-01T00:00:00Z"},
        )
    )
    (row,) = report["rows"]
    assert row["authority"] is None
    assert (row["hashtags_specified"], row["hashtags_restricted"]) == (1, 1)


# -- bad input: 4xx naming the field, nothing written ---------------------------------------------

INVALID = ["farmers protest", "farmers-protest", "12345", "🌾", "tag#tag", "a\x00b", "a" * 101]


@pytest.mark.parametrize("raw", INVALID)
def test_an_invalid_hashtag_is_refused_everywhere_and_nothing_is_written(
    client: TestClient, raw: str
) -> None:
    def names_hashtag(response: httpx.Response, loc: list[str | int]) -> None:
        assert response.status_code == 422, response.text
        assert loc in [issue["loc"] for issue in response.json()["detail"]], response.text

    names_hashtag(restrict(client, raw, "IN"), ["path", "hashtag"])
    names_hashtag(lift(client, raw, "IN"), ["path", "hashtag"])
    names_hashtag(client.get(_path(raw)), ["path", "hashtag"])
    names_hashtag(
        client.get("/hashtags/eligible", params={"hashtag": raw, "country": "IN"}),
        ["query", "hashtag"],
    )
    names_hashtag(batch(client, "IN", ["ok", raw]), ["body", "hashtags", 1])
    assert ok(client.get("/changes"))["changes"] == []


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"country": "IN", "hashtags": []}, ["body", "hashtags"]),
        ({"country": "IN", "hashtags": ["a"] * 1001}, ["body", "hashtags"]),
        ({"country": "IN", "hashtags": ["a", None]}, ["body", "hashtags", 1]),
        ({"country": "IN", "hashtags": ["a", 5]}, ["body", "hashtags", 1]),
        ({"country": "IN", "hashtags": ["", "b"]}, ["body", "hashtags", 0]),
        ({"country": "IN", "hashtags": "a"}, ["body", "hashtags"]),
        ({"country": "IN"}, ["body", "hashtags"]),
        ({"country": "XX", "hashtags": ["a"]}, ["body", "country"]),
        ({"country": "ZZ", "hashtags": ["a"]}, ["body", "country"]),
        ({"hashtags": ["a"]}, ["body", "country"]),
        ({"country": "IN", "hashtags": ["a"], "extra": 1}, ["body", "extra"]),
    ],
)
def test_a_bad_batch_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], loc: list[str | int]
) -> None:
    response = client.post("/hashtags/eligible", json=body)
    assert response.status_code == 422, response.text
    issues = response.json()["detail"]
    assert loc in [issue["loc"] for issue in issues]
    assert all({"loc", "msg", "type"} == issue.keys() for issue in issues)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"x"', b"\xff\xfe", b""])
def test_a_malformed_batch_body_is_refused(client: TestClient, raw: bytes) -> None:
    response = client.post(
        "/hashtags/eligible", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("country", ["XX", "ZZ", "india", ""])
def test_a_lookup_country_must_be_a_real_one(client: TestClient, country: str) -> None:
    response = client.get("/hashtags/eligible", params={"hashtag": "a", "country": country})
    assert response.status_code == 422
    assert ["query", "country"] in [issue["loc"] for issue in response.json()["detail"]]


def test_a_restriction_country_may_be_xx_but_not_zz(client: TestClient) -> None:
    refused = restrict(client, "a", "ZZ")
    assert refused.status_code == 422
    assert ["path", "country"] in [issue["loc"] for issue in refused.json()["detail"]]
    ok(restrict(client, "a", "XX"), 201)


def test_bad_terms_are_refused_and_nothing_written(client: TestClient) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for body in ({"reason": ""}, {"reason": "r", "expires_at": past}, {}, {"reason": "r", "x": 1}):
        response = client.put(_path("a", "IN"), json=body, headers=AUTH)
        assert response.status_code == 422, (body, response.text)
    assert ok(client.get("/changes"))["changes"] == []
