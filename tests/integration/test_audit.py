"""The audit log: every write, by whom (the token's name, never the token), when and why;
append-only; filtered and paged with a cursor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection

from app.db import Database
from app.domain import ChangeOp, LiftCause
from app.models import AuditEntry, Withholding
from app.services import withholdings as service
from app.services.withholdings import RuleTerms
from tests.support.http import lift, ok, withhold
from tests.support.orders import audit_entries, create_order, decide
from tests.support.times import instant, rfc3339
from tests.support.tokens import ADMIN_TOKEN, AUTH, OTHER_TOKEN
from tests.support.waiting import wait_until

BOB = {"Authorization": f"Bearer {OTHER_TOKEN}"}
ENTRY_FIELDS = {"at", "actor", "action", "account", "country", "order_id", "justification"}


def _summary(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["actor"], e["action"], e.get("account"), e.get("country"), e["justification"])
        for e in entries
    ]


def test_every_kind_of_write_is_audited_with_actor_action_and_justification(
    client: TestClient,
) -> None:
    started = datetime.now(UTC)
    ok(withhold(client, "12", "IN", reason="court order 1"), 201)
    ok(client.put("/accounts/12/withholdings/IN", json={"reason": "amended"}, headers=BOB))
    assert lift(client, "12", "IN", {"reason": "court_ruling", "note": "W.P. 13710"}).status_code
    bulk = {"reason": "bulk order", "items": [{"account": "5", "country": "DE"}] * 2}
    ok(client.post("/withholdings/bulk", json=bulk, headers=AUTH), 201)
    order = create_order(client)
    ok(
        decide(
            client,
            order["id"],
            {"account": "21", "action": "withhold", "note": "named in annex A"},
            {"account": "22", "action": "withhold_global"},
            {"account": "23", "action": "decline", "category": "politician", "note": "MP"},
        ),
        201,
    )
    entries = audit_entries(client)
    reason = "legal order MEITY/69A/2021/0042 (MeitY, IT Act s.69A)"
    assert _summary(entries) == [
        ("alice", "withhold", "12", "IN", "court order 1"),
        ("bob", "update", "12", "IN", "amended"),
        ("alice", "lift", "12", "IN", "court_ruling: W.P. 13710"),
        ("alice", "withhold", "5", "DE", "bulk order"),
        ("alice", "order_create", None, "IN", "MeitY, IT Act s.69A, reference MEITY/69A/2021/0042"),
        ("alice", "decision_withhold", "21", "IN", "named in annex A"),
        ("alice", "decision_withhold_global", "22", "XX", reason),
        ("alice", "decision_decline", "23", "IN", "politician: MP"),
    ]
    for entry in entries:
        assert set(entry) <= ENTRY_FIELDS
        assert started - timedelta(seconds=1) <= instant(entry["at"]) <= datetime.now(UTC)
    assert [e.get("order_id") for e in entries[4:]] == [order["id"]] * 4
    assert all("order_id" not in e for e in entries[:4])


def test_bulk_again_audits_one_update_per_distinct_pair(client: TestClient) -> None:
    items = [{"account": str(a), "country": "FR"} for a in (1, 2, 3, 2)]
    ok(client.post("/withholdings/bulk", json={"reason": "r1", "items": items}, headers=AUTH), 201)
    ok(client.post("/withholdings/bulk", json={"reason": "r2", "items": items}, headers=AUTH))
    assert [(e["action"], e["account"]) for e in audit_entries(client)] == [
        ("withhold", "1"),
        ("withhold", "2"),
        ("withhold", "3"),
        ("update", "1"),
        ("update", "2"),
        ("update", "3"),
    ]


def test_expiry_is_audited_as_system_expiry(db: Database) -> None:
    now = datetime.now(UTC)
    terms = RuleTerms(reason="r", order_ref=None, expires_at=now + timedelta(seconds=1))
    with db.writing() as session:
        service.withhold(session, account=1, country="IN", terms=terms, actor="alice", now=now)
        service.withhold(session, account=2, country="IN", terms=terms, actor="alice", now=now)
    later = now + timedelta(seconds=5)
    with db.writing() as session:
        service.expire_due(session, now=later)
    with db.writing() as session:  # a rule found due by a write is expired, and audited, too
        service.lift(
            session, account=2, country="IN", reason=LiftCause.REVIEW, actor="bob", now=later
        )
    with db.reading() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert [(r.actor, r.action, r.account_id) for r in rows] == [
        ("alice", "withhold", 1),
        ("alice", "withhold", 2),
        ("system:expiry", "expire", 1),
        ("system:expiry", "expire", 2),
    ]
    assert rows[2].at == later
    assert rows[2].justification == f"expired at {(now + timedelta(seconds=1)).isoformat()}"


@pytest.mark.parametrize("microsecond", [0, 1, 250_000, 999_999])
def test_an_expiry_is_justified_by_its_isoformat(db: Database, microsecond: int) -> None:
    """The database writes the justification of a mass expiry: exactly Python's isoformat."""
    now = datetime.now(UTC).replace(microsecond=microsecond)
    terms = RuleTerms(reason="r", order_ref=None, expires_at=now + timedelta(seconds=1))
    with db.writing() as session:
        service.withhold(session, account=7, country="IN", terms=terms, actor="alice", now=now)
        service.withhold(
            session, account=7, post=70, country="FR", terms=terms, actor="alice", now=now
        )
    with db.writing() as session:
        result = service.expire_due(session, now=now + timedelta(seconds=2))
    assert [(c.op, c.account, c.post, c.country) for c in result.changes] == [
        (ChangeOp.LIFT, 7, None, "IN"),
        (ChangeOp.LIFT, 7, 70, "FR"),
    ]
    with db.reading() as session:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == "expire").order_by(AuditEntry.id)
        ).scalars()
        audited = [(r.account_id, r.post_id, r.country, r.justification) for r in rows]
        rules = session.execute(select(Withholding).order_by(Withholding.id)).scalars().all()
        lifted = [(r.lifted_at, r.lift_reason, r.lifted_by) for r in rules]
    justification = f"expired at {(now + timedelta(seconds=1)).isoformat()}"
    assert audited == [(7, None, "IN", justification), (7, 70, "FR", justification)]
    assert lifted == [(now + timedelta(seconds=1), "expired", "system:expiry")] * 2


def test_expiry_by_the_running_service_is_audited(client: TestClient) -> None:
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    ok(withhold(client, "12", "IN", expires_at=rfc3339(expires_at)), 201)
    wait_until(
        lambda: audit_entries(client, action="expire"),
        timeout=10,
        interval=0.05,
        message="no expire entry 9 s after expires_at",
    )
    (entry,) = audit_entries(client, action="expire")
    assert (entry["actor"], entry["account"], entry["country"]) == ("system:expiry", "12", "IN")


def test_the_audit_log_never_contains_a_token(client: TestClient, db: Database) -> None:
    for headers in (AUTH, BOB):
        response = client.put("/accounts/1/withholdings/IN", json={"reason": "r"}, headers=headers)
        assert response.status_code in {200, 201}
        order = ok(
            client.post(
                "/orders",
                json={
                    "country": "IN",
                    "authority": "a",
                    "legal_basis": "b",
                    "reference": "c",
                    "received_at": "2021-01-01T00:00:00Z",
                },
                headers=headers,
            ),
            201,
        )
        ok(decide(client, order["id"], {"account": "2", "action": "withhold"}), 201)
    assert lift(client, "1", "IN").status_code == 204
    response = client.get("/audit", headers=AUTH)
    assert {e["actor"] for e in ok(response)["entries"]} == {"alice", "bob"}
    with db.reading() as session:
        dump = repr(session.execute(text("SELECT * FROM audit_entry")).all())
    for token in (ADMIN_TOKEN, OTHER_TOKEN):
        assert token not in response.text
        assert token not in dump


def test_audit_is_append_only(client: TestClient, db: Database) -> None:
    """Across every kind of write, what the log held before is an unchanged prefix of what it
    holds after, and no UPDATE or DELETE statement ever names it."""
    statements: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lower())

    def snapshot() -> list[tuple[Any, ...]]:
        with db.reading() as session:
            rows = session.execute(text("SELECT * FROM audit_entry ORDER BY id")).all()
        return [tuple(row) for row in rows]

    def expired() -> None:
        wait_until(
            lambda: audit_entries(client, action="expire"),
            timeout=10,
            interval=0.05,
            message="not expired 9 s after expires_at",
        )

    soon = rfc3339(datetime.now(UTC) + timedelta(seconds=1))
    order: dict[str, Any] = {}
    steps: list[Callable[[], object]] = [
        lambda: ok(withhold(client, "12", "IN", expires_at=soon), 201),
        lambda: ok(withhold(client, "12", "IN", reason="amended", expires_at=soon)),
        expired,
        lambda: ok(withhold(client, "12", "IN", reason="again"), 201),
        lambda: lift(client, "12", "IN", {"reason": "review", "note": "n"}),
        lambda: order.update(create_order(client)),
        lambda: ok(decide(client, order["id"], {"account": "3", "action": "withhold"}), 201),
        lambda: ok(
            client.post(
                "/withholdings/bulk",
                json={"reason": "b", "items": [{"account": "4", "country": "US"}]},
                headers=AUTH,
            ),
            201,
        ),
    ]
    engine = client.app.api.state.runtime.db.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", record)
    try:
        before = snapshot()
        for step in steps:
            step()
            after = snapshot()
            assert after[: len(before)] == before
            assert len(after) > len(before)
            before = after
    finally:
        event.remove(engine, "before_cursor_execute", record)
    changing = ("update", "delete")
    assert [s for s in statements if "audit_entry" in s and s.lstrip().startswith(changing)] == []


@pytest.fixture
def history(client: TestClient) -> TestClient:
    """alice and bob write about accounts 1-3 in IN and US, one second apart in time order."""
    for account, country, headers in [
        ("1", "IN", AUTH),
        ("2", "IN", BOB),
        ("1", "US", BOB),
        ("3", "IN", AUTH),
        ("2", "US", AUTH),
    ]:
        ok(
            client.put(
                f"/accounts/{account}/withholdings/{country}", json={"reason": "r"}, headers=headers
            ),
            201,
        )
    assert lift(client, "1", "IN", {"reason": "review"}).status_code == 204
    return client


def test_audit_filters_by_account_actor_action_and_time(history: TestClient) -> None:
    everything = audit_entries(history)
    assert len(everything) == 6

    def pairs(**params: Any) -> list[tuple[str, str, str]]:
        return [(e["account"], e["country"], e["action"]) for e in audit_entries(history, **params)]

    assert pairs(account="1") == [
        ("1", "IN", "withhold"),
        ("1", "US", "withhold"),
        ("1", "IN", "lift"),
    ]
    assert pairs(actor="bob") == [("2", "IN", "withhold"), ("1", "US", "withhold")]
    assert pairs(action="lift") == [("1", "IN", "lift")]
    assert pairs(account="2", actor="alice") == [("2", "US", "withhold")]
    assert pairs(actor="nobody") == []
    middle = instant(everything[2]["at"])
    summary = [(e["account"], e["country"], e["action"], instant(e["at"])) for e in everything]
    assert pairs(**{"from": rfc3339(middle)}) == [s[:3] for s in summary if s[3] >= middle]
    assert pairs(to=rfc3339(middle)) == [s[:3] for s in summary if s[3] < middle]
    assert pairs(**{"from": rfc3339(middle), "to": rfc3339(middle)}) == []


def test_audit_pages_with_a_cursor_in_write_order(history: TestClient) -> None:
    everything = ok(history.get("/audit", headers=AUTH))["entries"]
    collected: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = ok(history.get("/audit", params=params, headers=AUTH))
        collected.extend(page["entries"])
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert (collected, pages) == (everything, 2)
    by_bob = ok(history.get("/audit", params={"actor": "bob", "limit": 1}, headers=AUTH))
    assert len(by_bob["entries"]) == 1
    params = {"actor": "bob", "cursor": by_bob["next"]}
    rest = ok(history.get("/audit", params=params, headers=AUTH))
    assert [e["actor"] for e in rest["entries"]] == ["bob"]
    assert rest["next"] is None


def test_audit_needs_a_bearer_token(client: TestClient) -> None:
    assert client.get("/audit").status_code == 401
    wrong = {"Authorization": "Bearer nope-nope-nope-nope"}
    response = client.get("/audit", headers=wrong)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "query",
    ["account=0", "action=delete", "limit=0", "limit=1001", "cursor=x", "from=2021-01-01"],
)
def test_audit_rejects_bad_filters_with_422(client: TestClient, query: str) -> None:
    response = client.get(f"/audit?{query}", headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", query.split("=")[0]]


def test_a_hundred_thousand_item_bulk_write_makes_one_entry_per_pair(
    client: TestClient, db: Database
) -> None:
    items = [{"account": str(a), "country": "IN"} for a in range(1, 100_001)]
    started = datetime.now(UTC)
    ok(client.post("/withholdings/bulk", json={"reason": "r", "items": items}, headers=AUTH), 201)
    assert datetime.now(UTC) - started < timedelta(seconds=120)
    with db.reading() as session:
        count, low, high = session.execute(
            text("SELECT count(*), min(account_id), max(account_id) FROM audit_entry")
        ).one()
    assert (count, low, high) == (100_000, 1, 100_000)
    page = ok(client.get("/audit", params={"account": "99999"}, headers=AUTH))
    assert _summary(page["entries"]) == [("alice", "withhold", "99999", "IN", "r")]
