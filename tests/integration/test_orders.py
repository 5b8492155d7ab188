"""Legal orders and the decisions on them, black-box over HTTP on SQLite and PostgreSQL; the
all-or-nothing rule also at the unit of work; the migration against the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, inspect, select, text, update

from app.db import Base, Database
from app.domain import DecisionAction, DeclineCategory
from app.migrate import alembic_config, upgrade_to_head
from app.models import AuditEntry, ChangelogEntry, Decision, LegalOrder, Withholding
from app.repositories import orders as order_repository
from app.services import orders as order_service
from tests.support.apps import ClientFactory
from tests.support.http import is_visible, lift, ok, rules_of, withheld_in, withhold
from tests.support.orders import ORDER, audit_entries, create_order, decide
from tests.support.tokens import AUTH, OTHER_TOKEN


def _error_locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [issue["loc"] for issue in response.json()["detail"]]


# -- orders -------------------------------------------------------------------------------------


def test_create_order_answers_201_with_the_order_and_a_string_id(client: TestClient) -> None:
    response = client.post("/orders", json={**ORDER, "country": "in"}, headers=AUTH)
    order = ok(response, 201)
    assert isinstance(order["id"], str)
    assert order["id"].isdigit()
    assert order["country"] == "IN"
    assert {k: order[k] for k in ("authority", "legal_basis", "reference", "document_url")} == {
        k: ORDER[k] for k in ("authority", "legal_basis", "reference", "document_url")
    }
    assert order["received_at"] == "2021-02-01T09:30:00Z"
    assert order["sealed"] is False
    assert response.headers["X-Withheld-Revision"].isdigit()
    assert ok(client.get(f"/orders/{order['id']}")) == order


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"country": "XX"}, "country", id="xx-is-not-a-country"),
        pytest.param({"country": "ZZ"}, "country", id="unassigned-country"),
        pytest.param({"authority": ""}, "authority", id="empty-authority"),
        pytest.param({"authority": "a" * 201}, "authority", id="long-authority"),
        pytest.param({"legal_basis": "x" * 501}, "legal_basis", id="long-legal-basis"),
        pytest.param({"reference": "bad\x00ref"}, "reference", id="control-character"),
        pytest.param({"received_at": "2099-01-01T00:00:00Z"}, "received_at", id="future"),
        pytest.param({"received_at": "2021-02-01T09:30:00"}, "received_at", id="no-offset"),
        pytest.param({"received_at": 1612171800}, "received_at", id="unix-time"),
        pytest.param({"document_url": "ftp://example.org/x"}, "document_url", id="ftp-url"),
        pytest.param({"document_url": "https://"}, "document_url", id="no-host"),
        pytest.param({"sealed": "true"}, "sealed", id="sealed-as-string"),
        pytest.param({"sealed": 1}, "sealed", id="sealed-as-number"),
        pytest.param({"surprise": 1}, "surprise", id="unknown-field"),
    ],
)
def test_create_order_rejects_invalid_fields_with_422_naming_them(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    response = client.post("/orders", json={**ORDER, **change}, headers=AUTH)
    assert ["body", field] in _error_locs(response)
    assert ok(client.get("/orders", headers=AUTH))["orders"] == []


def test_create_order_without_required_fields_is_422(client: TestClient) -> None:
    locs = _error_locs(client.post("/orders", json={"country": "IN"}, headers=AUTH))
    assert {tuple(loc) for loc in locs} >= {
        ("body", "authority"),
        ("body", "legal_basis"),
        ("body", "reference"),
        ("body", "received_at"),
    }


def test_writes_on_orders_need_a_valid_bearer_token(client: TestClient) -> None:
    order = create_order(client)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
        assert client.post("/orders", json=ORDER, headers=headers).status_code == 401
        response = client.post(
            f"/orders/{order['id']}/decisions",
            json={"decisions": [{"account": "1", "action": "withhold"}]},
            headers=headers,
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert withheld_in(client, "1") == []


def test_list_orders_filters_by_country_authority_and_received_range(client: TestClient) -> None:
    a = create_order(client, received_at="2021-01-10T00:00:00Z")
    b = create_order(client, received_at="2021-02-10T00:00:00Z", authority="DoT")
    c = create_order(client, received_at="2021-03-10T00:00:00Z", country="TR", authority="BTK")
    d = create_order(client, received_at="2021-04-10T00:00:00+05:30")

    def ids(**params: str) -> list[str]:
        return [order["id"] for order in ok(client.get("/orders", params=params))["orders"]]

    assert ids() == [a["id"], b["id"], c["id"], d["id"]]
    assert ids(country="in") == [a["id"], b["id"], d["id"]]
    assert ids(authority="MeitY") == [a["id"], d["id"]]
    assert ids(authority="meity") == []
    assert ids(**{"from": "2021-02-10T00:00:00Z"}) == [b["id"], c["id"], d["id"]]
    assert ids(to="2021-02-10T00:00:00Z") == [a["id"]]
    assert ids(**{"from": "2021-02-01T00:00:00Z", "to": "2021-04-01T00:00:00Z"}) == [
        b["id"],
        c["id"],
    ]
    assert ids(country="IN", authority="MeitY", **{"from": "2021-03-01T00:00:00Z"}) == [d["id"]]


def test_list_orders_pages_with_an_opaque_cursor_until_next_is_null(client: TestClient) -> None:
    created = [create_order(client, reference=f"R-{i}")["id"] for i in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = ok(client.get("/orders", params=params))
        assert len(page["orders"]) <= 3
        seen.extend(order["id"] for order in page["orders"])
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert seen == created
    assert pages == 3


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "cursor=-1", "cursor=abc", "country=XX", "from=yesterday"],
)
def test_list_orders_rejects_bad_parameters_with_422(client: TestClient, query: str) -> None:
    name = query.split("=")[0]
    assert ["query", name] in _error_locs(client.get(f"/orders?{query}"))


def test_get_order_unknown_is_404_and_malformed_id_is_422(client: TestClient) -> None:
    assert client.get("/orders/424242").status_code == 404
    assert client.get("/orders/424242", headers=AUTH).status_code == 404
    for bad in ("0", "01", "-3", "abc", "9223372036854775808"):
        assert ["path", "id"] in _error_locs(client.get(f"/orders/{bad}"))


SECRETS = ("Secret Tribunal", "SEALED/REF/7", "https://sealed.example/doc")


def _sealed_order(client: TestClient) -> dict[str, Any]:
    authority, reference, url = SECRETS
    return create_order(
        client, authority=authority, reference=reference, document_url=url, sealed=True
    )


def test_a_sealed_order_is_hidden_from_the_public_and_shown_to_an_admin(
    client: TestClient,
) -> None:
    public = create_order(client)
    sealed = _sealed_order(client)
    assert sealed["sealed"] is True

    listed = client.get("/orders")
    assert [o["id"] for o in ok(listed)["orders"]] == [public["id"]]
    assert client.get(f"/orders/{sealed['id']}").status_code == 404
    for secret in SECRETS:
        assert secret not in listed.text

    for token in (AUTH, {"Authorization": f"Bearer {OTHER_TOKEN}"}):
        as_admin = ok(client.get("/orders", headers=token))["orders"]
        assert [o["id"] for o in as_admin] == [public["id"], sealed["id"]]
        assert ok(client.get(f"/orders/{sealed['id']}", headers=token)) == sealed


def test_reading_orders_with_an_invalid_token_is_401_not_a_public_view(
    client: TestClient,
) -> None:
    create_order(client)
    bad = {"Authorization": "Bearer not-a-valid-token-000000"}
    assert client.get("/orders", headers=bad).status_code == 401
    assert client.get("/orders/1", headers=bad).status_code == 401


# -- decisions ----------------------------------------------------------------------------------


def test_decisions_withhold_in_the_country_suspend_everywhere_and_record_declines(
    client: TestClient,
) -> None:
    order = create_order(client)
    response = decide(
        client,
        order["id"],
        {"account": "101", "action": "withhold"},
        {"account": "102", "action": "withhold_global", "note": "platform manipulation"},
        {"account": "103", "action": "decline", "category": "journalist"},
        {"account": "104", "action": "decline", "category": "news_media", "note": "press"},
    )
    body = ok(response, 201)
    assert body == {
        "order_id": order["id"],
        "withheld": 1,
        "withheld_global": 1,
        "declined": 2,
        "already_active": 0,
        "revision": int(response.headers["X-Withheld-Revision"]),
    }
    assert not is_visible(client, "101", "IN")
    assert is_visible(client, "101", "US")
    assert not is_visible(client, "102", "US")
    assert is_visible(client, "103", "IN")
    assert is_visible(client, "104", "IN")
    assert withheld_in(client, "103") == []

    (in_rule,) = rules_of(client, "101")
    assert in_rule["country"] == "IN"
    assert in_rule["order_id"] == order["id"]
    assert in_rule["order_ref"] == ORDER["reference"]
    assert in_rule["reason"] == "legal order MEITY/69A/2021/0042 (MeitY, IT Act s.69A)"
    (xx_rule,) = rules_of(client, "102")
    assert (xx_rule["country"], xx_rule["order_id"]) == ("XX", order["id"])


def test_withhold_of_an_already_active_rule_keeps_it_as_it_was(client: TestClient) -> None:
    before = ok(withhold(client, "7", "IN", reason="earlier court order"), 201)
    order = create_order(client)
    body = ok(
        decide(
            client,
            order["id"],
            {"account": "7", "action": "withhold"},
            {"account": "8", "action": "withhold"},
            {"account": "8", "action": "withhold"},
        ),
        201,
    )
    assert (body["withheld"], body["already_active"]) == (1, 2)
    (kept,) = rules_of(client, "7")
    assert kept == {**before, "lift_note": None, "order_id": None}
    assert len(rules_of(client, "8")) == 1


def test_decisions_on_an_unknown_order_are_404_and_write_nothing(client: TestClient) -> None:
    response = decide(client, "999", {"account": "5", "action": "withhold"})
    assert response.status_code == 404
    assert "detail" in response.json()
    assert withheld_in(client, "5") == []
    assert audit_entries(client) == []


def test_a_decline_without_category_is_422_naming_its_index(client: TestClient) -> None:
    order = create_order(client)
    response = decide(
        client,
        order["id"],
        {"account": "1", "action": "withhold"},
        {"account": "2", "action": "decline", "category": "activist"},
        {"account": "3", "action": "decline"},
    )
    locs = _error_locs(response)
    assert all(loc[:3] == ["body", "decisions", 2] for loc in locs), locs
    assert any("category" in loc for loc in locs)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"account": "0", "action": "withhold"}, id="account-zero"),
        pytest.param({"account": 5, "action": "withhold"}, id="account-as-number"),
        pytest.param({"account": "5", "action": "suspend"}, id="unknown-action"),
        pytest.param({"account": "5"}, id="no-action"),
        pytest.param({"account": "5", "action": "decline", "category": "celebrity"}, id="cat"),
        pytest.param({"account": "5", "action": "withhold", "note": "a\x07b"}, id="control"),
        pytest.param({"account": "5", "action": "withhold", "extra": True}, id="unknown-field"),
    ],
)
def test_one_invalid_decision_among_many_writes_nothing_at_all(
    client: TestClient, bad: dict[str, Any]
) -> None:
    order = create_order(client)
    revision = int(client.get("/readyz").json()["revision"])
    audited = len(audit_entries(client))
    items: list[dict[str, Any]] = [
        {"account": str(1000 + i), "action": "withhold" if i % 2 else "withhold_global"}
        for i in range(120)
    ]
    items[57] = bad
    locs = _error_locs(decide(client, order["id"], *items))
    assert all(loc[:3] == ["body", "decisions", 57] for loc in locs), locs

    assert int(client.get("/readyz").json()["revision"]) == revision
    assert ok(client.get("/changes"))["changes"] == []
    assert len(audit_entries(client)) == audited
    for account in ("1000", "1001", "1119"):
        assert rules_of(client, account) == []
        assert is_visible(client, account, "IN")


def test_decisions_accept_ten_thousand_items_and_refuse_more(client: TestClient) -> None:
    order = create_order(client)
    items = [{"account": str(i), "action": "withhold"} for i in range(1, 10_001)]
    body = ok(decide(client, order["id"], *items), 201)
    assert body["withheld"] == 10_000
    assert not is_visible(client, "10000", "IN")
    too_many = [*items, {"account": "10001", "action": "withhold"}]
    assert ["body", "decisions"] in _error_locs(decide(client, order["id"], *too_many))
    assert ["body", "decisions"] in _error_locs(decide(client, order["id"]))


def test_a_failure_after_rules_were_written_rolls_everything_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or nothing at the unit of work: rules, changelog, decisions, audit go together."""
    now = datetime.now(UTC)
    draft = order_service.OrderDraft(
        country="IN",
        authority="MeitY",
        legal_basis="IT Act s.69A",
        reference="R",
        received_at=now - timedelta(days=1),
        document_url=None,
        sealed=False,
    )
    with db.writing() as session:
        order_id = order_service.create_order(session, draft=draft, actor="t", now=now).order.id

    def refuse(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(order_repository, "insert_decisions", refuse)
    decisions = [
        order_service.DecisionDraft(account=a, action=action, category=category, note=None)
        for a, action, category in [
            (1, DecisionAction.WITHHOLD, None),
            (2, DecisionAction.WITHHOLD_GLOBAL, None),
            (3, DecisionAction.DECLINE, DeclineCategory.POLITICIAN),
        ]
    ]
    with pytest.raises(RuntimeError, match="disk full"), db.writing() as session:
        order_service.record_decisions(
            session, order_id=order_id, decisions=decisions, actor="t", now=now
        )
    with db.reading() as session:
        for table in (Withholding, ChangelogEntry, Decision):
            assert session.execute(select(func.count()).select_from(table)).scalar_one() == 0
        actions = session.execute(select(AuditEntry.action)).scalars().all()
        assert actions == ["order_create"]


def test_rules_for_a_sealed_order_never_name_it(client: TestClient) -> None:
    sealed = _sealed_order(client)
    ok(decide(client, sealed["id"], {"account": "77", "action": "withhold"}), 201)
    response = client.get("/accounts/77/withholdings", params={"include_lifted": "true"})
    (rule,) = ok(response)["rules"]
    assert rule["reason"] == "sealed legal order"
    assert rule["order_ref"] is None
    assert rule["order_id"] is None
    for secret in SECRETS:
        assert secret not in response.text
    assert not is_visible(client, "77", "IN")


def test_lift_records_its_reason_and_note(client: TestClient) -> None:
    order = create_order(client)
    ok(decide(client, order["id"], {"account": "55", "action": "withhold"}), 201)
    body = {"reason": "review", "note": "restored after review"}
    assert lift(client, "55", "IN", body).status_code == 204
    (rule,) = rules_of(client, "55")
    assert (rule["lift_reason"], rule["lift_note"]) == ("review", "restored after review")
    assert rule["order_id"] == order["id"]
    (entry,) = audit_entries(client, action="lift")
    assert entry["justification"] == "review: restored after review"
    assert (entry["account"], entry["country"], entry["order_id"]) == ("55", "IN", order["id"])


def test_orders_survive_a_restart(make_client: ClientFactory) -> None:
    first = make_client()
    order = create_order(first)
    ok(decide(first, order["id"], {"account": "9", "action": "withhold"}), 201)
    second = make_client()
    assert ok(second.get(f"/orders/{order['id']}")) == order
    assert not is_visible(second, "9", "IN")


# -- schema -------------------------------------------------------------------------------------


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migration_0003_reverses_with_rules_in_place(db: Database) -> None:
    now = datetime.now(UTC)
    with db.writing() as session:
        order = order_repository.insert_order(
            session,
            {
                "country": "IN",
                "authority": "a",
                "legal_basis": "b",
                "reference": "c",
                "received_at": now,
                "document_url": None,
                "sealed": False,
                "created_at": now,
                "created_by": "t",
            },
        )
        order_service.record_decisions(
            session,
            order_id=order.id,
            decisions=[
                order_service.DecisionDraft(
                    account=1, action=DecisionAction.WITHHOLD, category=None, note=None
                )
            ],
            actor="t",
            now=now,
        )
    cfg = alembic_config()
    with db.engine.begin() as conn:
        # A downgrade drops orders, decisions and the audit log: empty them first, as an
        # operator would after exporting them.
        conn.execute(delete(Decision))
        conn.execute(delete(AuditEntry))
        conn.execute(update(Withholding).values(order_id=None))
        conn.execute(delete(LegalOrder))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    inspector = inspect(db.engine)
    assert "legal_order" not in inspector.get_table_names()
    columns = {column["name"] for column in inspector.get_columns("withholding")}
    assert not columns & {"order_id", "lift_note"}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM withholding")).scalar_one() == 1
    upgrade_to_head(db.engine)
    with db.reading() as session:
        (rule,) = session.execute(select(Withholding)).scalars().all()
        assert (rule.account_id, rule.country, rule.order_id) == (1, "IN", None)
