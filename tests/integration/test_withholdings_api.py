"""An account's withholdings: PUT one in a country, DELETE (lift) it, GET the account's rules and
history; rules that expire lift themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    assert_json_error,
    current_revision,
    history,
    is_visible,
    lift,
    ok,
    revision_of,
    withhold,
)
from tests.support.times import in_future, instant
from tests.support.tokens import AUTH
from tests.support.waiting import wait_until

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


def test_rule_country_is_case_insensitive_in_and_upper_case_out(client: TestClient) -> None:
    rule = ok(withhold(client, "12", "iN"), 201)

    assert rule["country"] == "IN"
    assert history(client, "12")["withheld_in_countries"] == ["IN"]
    assert withhold(client, "12", "in").status_code == 200


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


def test_rule_stops_withholding_when_it_expires_without_a_request_to_it(
    client: TestClient,
) -> None:
    rule = ok(withhold(client, "12", "IN", expires_at=in_future(1.5)), 201)
    ok(withhold(client, "12", "US"), 201)
    expires_at = instant(rule["expires_at"])
    deadline = expires_at + timedelta(seconds=2)

    wait_until(
        lambda: is_visible(client, "12", "IN"),
        timeout=(deadline - datetime.now(UTC)).total_seconds(),
        interval=0.05,
        message="still withheld 2 s after expires_at",
    )
    assert datetime.now(UTC) >= expires_at, "lifted before expires_at"

    assert not is_visible(client, "12", "US")
    assert history(client, "12")["withheld_in_countries"] == ["US"]
    expired = [r for r in history(client, "12", include_lifted=True)["rules"] if r["lifted_at"]]
    assert len(expired) == 1
    assert expired[0]["id"] == rule["id"]
    assert expired[0]["lift_reason"] == "expired"
    assert instant(expired[0]["lifted_at"]) == expires_at
    assert lift(client, "12", "IN").status_code == 404
