"""``GET /visible`` with ``explain=true`` (why, on whose order, in the viewer's words) and with
``at`` (as of a past instant, lifts and expiries honoured). The plain lookup stays in memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.services import withholdings as service
from app.services.withholdings import RuleTerms
from tests.support.http import lift, ok, rules_of, withhold
from tests.support.orders import ORDER, create_order, decide
from tests.support.times import instant, rfc3339
from tests.support.tokens import AUTH
from tests.support.waiting import wait_until

MICROSECOND = timedelta(microseconds=1)


def explain(client: TestClient, account: str, country: str, **params: Any) -> dict[str, Any]:
    query = {"account": account, "country": country, "explain": "true", **params}
    body: dict[str, Any] = ok(client.get("/visible", params=query))
    return body


def as_of(client: TestClient, account: str, country: str, at: datetime) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        client.get("/visible", params={"account": account, "country": country, "at": rfc3339(at)})
    )
    assert instant(body["at"]) == at
    assert set(body) == {"account", "country", "visible", "at"}
    return body


# -- explain ------------------------------------------------------------------------------------


def test_explain_names_the_rule_its_order_and_the_viewer_message(client: TestClient) -> None:
    order = create_order(client)
    ok(decide(client, order["id"], {"account": "101", "action": "withhold"}), 201)
    body = explain(client, "101", "in")
    assert (body["account"], body["country"], body["visible"]) == ("101", "IN", False)
    assert body["explanation"]["message"] == (
        "This account has been withheld in India in response to a legal demand."
    )
    (rule,) = body["explanation"]["rules"]
    assert rule["country"] == "IN"
    assert rule["reason"] == "legal order MEITY/69A/2021/0042 (MeitY, IT Act s.69A)"
    assert rule["order"] == order
    assert rule["id"] == rules_of(client, "101")[0]["id"]


def test_explain_of_a_global_rule_says_all_countries(client: TestClient) -> None:
    order = create_order(client)
    ok(
        decide(
            client,
            order["id"],
            {"account": "5", "action": "withhold"},
            {"account": "5", "action": "withhold_global"},
        ),
        201,
    )
    in_india = explain(client, "5", "IN")
    assert sorted(r["country"] for r in in_india["explanation"]["rules"]) == ["IN", "XX"]
    assert in_india["explanation"]["message"] == "This account has been withheld in all countries."
    in_france = explain(client, "5", "FR")
    assert [r["country"] for r in in_france["explanation"]["rules"]] == ["XX"]
    assert in_france["visible"] is False


def test_explain_of_a_visible_account_says_so(client: TestClient) -> None:
    ok(withhold(client, "5", "DE"), 201)
    body = explain(client, "5", "IN")
    assert body["visible"] is True
    assert body["explanation"] == {"rules": [], "message": "This account is visible in India."}


def test_explain_of_a_rule_without_an_order(client: TestClient) -> None:
    ok(withhold(client, "5", "TR"), 201)
    ok(withhold(client, "6", "TR", order_ref="BTK-2021-7"), 201)
    plain = explain(client, "5", "TR")["explanation"]
    assert plain["message"] == "This account has been withheld in Türkiye."
    assert plain["rules"][0]["order"] is None
    assert explain(client, "6", "TR")["explanation"]["message"] == (
        "This account has been withheld in Türkiye in response to a legal demand."
    )


def test_explain_shows_a_sealed_order_only_as_sealed(client: TestClient) -> None:
    sealed = create_order(
        client,
        authority="Secret Tribunal",
        reference="SEALED/77",
        document_url="https://sealed.example/77",
        sealed=True,
    )
    ok(decide(client, sealed["id"], {"account": "77", "action": "withhold"}), 201)
    response = client.get("/visible", params={"account": "77", "country": "IN", "explain": "1"})
    (rule,) = ok(response)["explanation"]["rules"]
    assert rule["order"] == {"sealed": True}
    assert rule["order_ref"] is None
    for secret in ("Secret Tribunal", "SEALED/77", "sealed.example", ORDER["legal_basis"]):
        assert secret not in response.text


def test_explain_gives_the_same_answer_as_the_plain_lookup(client: TestClient) -> None:
    ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "13", "XX"), 201)
    for account in ("12", "13", "14"):
        for country in ("IN", "US"):
            plain = ok(client.get("/visible", params={"account": account, "country": country}))
            explained = explain(client, account, country)
            assert {k: explained[k] for k in plain} == plain
            assert set(explained) == {"account", "country", "visible", "explanation"}
            not_explained = client.get(
                "/visible", params={"account": account, "country": country, "explain": "false"}
            )
            assert not_explained.json() == plain


@contextmanager
def database_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    runtime = client.app.api.state.runtime  # type: ignore[attr-defined]
    calls: list[str] = []

    @contextmanager
    def unreachable(**_: object) -> Iterator[None]:
        calls.append("reading")
        raise OperationalError("SELECT", {}, ConnectionRefusedError("database down"))
        yield  # pragma: no cover

    with monkeypatch.context() as patch:
        patch.setattr(runtime.db, "reading", unreachable)
        patch.setattr(runtime.db, "writing", unreachable)
        yield
    assert calls, "the database was never asked for"


def test_plain_lookups_never_touch_the_database_explain_does(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(withhold(client, "12", "IN"), 201)
    with database_down(client, monkeypatch):
        for query in (
            "account=12&country=IN",
            "country=IN&account=12",
            "account=12&country=in&explain=false",
            "account=12&country=IN&min_revision=0",
        ):
            assert ok(client.get(f"/visible?{query}"))["visible"] is False, query
        batch = client.post("/visible", json={"country": "IN", "accounts": ["12", "13"]})
        assert [r["visible"] for r in ok(batch)["results"]] == [False, True]
        for query in ("explain=true", "at=2021-01-01T00:00:00Z"):
            response = client.get(f"/visible?account=12&country=IN&{query}")
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "1"


# -- as of a past instant -----------------------------------------------------------------------


def test_as_of_around_a_lift(client: TestClient) -> None:
    rule = ok(withhold(client, "12", "IN"), 201)
    ok(withhold(client, "12", "XX"), 201)
    assert lift(client, "12", "XX").status_code == 204
    assert lift(client, "12", "IN", {"reason": "review"}).status_code == 204
    by_country = {r["country"]: r for r in rules_of(client, "12")}
    created, lifted = instant(rule["created_at"]), instant(by_country["IN"]["lifted_at"])
    xx_created = instant(by_country["XX"]["created_at"])
    xx_lifted = instant(by_country["XX"]["lifted_at"])
    assert created < xx_created < xx_lifted < lifted

    assert as_of(client, "12", "IN", created - MICROSECOND)["visible"] is True
    assert as_of(client, "12", "IN", created)["visible"] is False
    assert as_of(client, "12", "IN", created + (lifted - created) / 2)["visible"] is False
    assert as_of(client, "12", "IN", lifted - MICROSECOND)["visible"] is False
    assert as_of(client, "12", "IN", lifted)["visible"] is True
    assert as_of(client, "12", "IN", datetime.now(UTC))["visible"] is True
    assert as_of(client, "12", "FR", xx_created - MICROSECOND)["visible"] is True
    assert as_of(client, "12", "FR", xx_created)["visible"] is False
    assert as_of(client, "12", "FR", xx_lifted)["visible"] is True
    assert as_of(client, "99", "IN", created)["visible"] is True


def test_as_of_with_explain_shows_the_rules_of_that_instant(client: TestClient) -> None:
    order = create_order(client)
    ok(decide(client, order["id"], {"account": "12", "action": "withhold"}), 201)
    assert lift(client, "12", "IN", {"reason": "court_ruling"}).status_code == 204
    (rule,) = rules_of(client, "12")
    middle = (
        instant(rule["created_at"]) + (instant(rule["lifted_at"]) - instant(rule["created_at"])) / 2
    )
    then = explain(client, "12", "IN", at=rfc3339(middle))
    assert then["visible"] is False
    assert [r["id"] for r in then["explanation"]["rules"]] == [rule["id"]]
    assert then["explanation"]["rules"][0]["order"] == order
    assert instant(then["at"]) == middle
    now = explain(client, "12", "IN")
    assert now["visible"] is True
    assert now["explanation"]["rules"] == []


def test_as_of_around_an_expiry_recorded_by_the_service(client: TestClient) -> None:
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    rule = ok(withhold(client, "12", "IN", expires_at=rfc3339(expires_at)), 201)
    wait_until(
        lambda: rules_of(client, "12")[0]["lifted_at"],
        timeout=10,
        interval=0.05,
        message="not expired",
    )
    (expired,) = rules_of(client, "12")
    assert expired["lift_reason"] == "expired"
    assert instant(expired["lifted_at"]) == expires_at
    assert as_of(client, "12", "IN", instant(rule["created_at"]))["visible"] is False
    assert as_of(client, "12", "IN", expires_at - MICROSECOND)["visible"] is False
    assert as_of(client, "12", "IN", expires_at)["visible"] is True


def test_as_of_honours_an_expiry_not_yet_recorded(db: Database, client: TestClient) -> None:
    """Between ``expires_at`` and the expiry task's lift, the history already says visible."""
    created = datetime(2021, 2, 1, 10, tzinfo=UTC)
    expires_at = datetime(2021, 2, 1, 16, tzinfo=UTC)
    terms = RuleTerms(reason="r", order_ref=None, expires_at=expires_at)
    with db.writing() as session:
        service.withhold(session, account=7, country="IN", terms=terms, actor="t", now=created)
    # The rule is due but not lifted yet (the running service would lift it within a second).
    assert as_of(client, "7", "IN", created)["visible"] is False
    assert as_of(client, "7", "IN", expires_at - MICROSECOND)["visible"] is False
    assert as_of(client, "7", "IN", expires_at)["visible"] is True
    assert as_of(client, "7", "IN", created - MICROSECOND)["visible"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("at=2999-01-01T00:00:00Z", "at"),
        (f"at={rfc3339(datetime.now(UTC) + timedelta(days=1))}", "at"),
        ("at=2021-02-01", "at"),
        ("at=2021-02-01T00:00:00", "at"),
        ("at=1612137600", "at"),
        ("explain=maybe", "explain"),
    ],
)
def test_as_of_rejects_a_future_or_malformed_instant_with_422(
    client: TestClient, query: str, field: str
) -> None:
    response = client.get(f"/visible?account=12&country=IN&{query.replace('+', '%2B')}")
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_as_of_answers_need_no_auth(client: TestClient) -> None:
    ok(client.put("/accounts/1/withholdings/IN", json={"reason": "r"}, headers=AUTH), 201)
    assert as_of(client, "1", "IN", datetime.now(UTC))["visible"] is False
