"""The transparency report, checked against counts recomputed from first principles over a
generated history (orders, decisions and lifts at chosen instants, fixed seed); sealed orders
counted but never named; JSON and CSV."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import Database
from app.domain import DecisionAction, DeclineCategory, LiftCause
from app.services import orders as order_service
from app.services import withholdings as withholding_service
from tests.support.apps import ClientFactory
from tests.support.http import lift, ok
from tests.support.orders import create_order, decide
from tests.support.times import rfc3339

AUTHORITIES = {"IN": ["MeitY", "DoT"], "TR": ["BTK"], "DE": ["BfJ", "=cmd|' /C calc'!A0"]}
CATEGORIES = [c.value for c in DeclineCategory]
START = datetime(2021, 1, 1, tzinfo=UTC)


@dataclass
class Order:
    id: int
    country: str
    authority: str
    received_at: datetime
    sealed: bool
    decisions: list[tuple[int, str, str | None]] = field(default_factory=list)


@dataclass
class Rule:
    order_id: int | None
    lifted_at: datetime | None = None


@dataclass
class History:
    """What the generator did, kept in plain Python: the oracle the report is checked against."""

    orders: list[Order] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    active: dict[tuple[int, str], Rule] = field(default_factory=dict)


def _generate(db: Database, seed: int) -> History:
    rng = random.Random(seed)
    history = History()
    events: list[tuple[datetime, int, str]] = []
    for number in range(45):
        country = rng.choice(sorted(AUTHORITIES))
        sealed = rng.random() < 0.25
        authority = f"Sealed court {number}" if sealed else rng.choice(AUTHORITIES[country])
        received_at = START + timedelta(days=rng.randint(0, 700), seconds=rng.randint(0, 86399))
        draft = order_service.OrderDraft(
            country=country,
            authority=authority,
            legal_basis="basis",
            reference=f"REF-{number}",
            received_at=received_at,
            document_url=f"https://example.org/{number}" if sealed else None,
            sealed=sealed,
        )
        with db.writing() as session:
            created = order_service.create_order(session, draft=draft, actor="gen", now=received_at)
        order = Order(created.order.id, country, authority, received_at, sealed)
        history.orders.append(order)
        events.append((received_at + timedelta(hours=rng.randint(1, 72)), 0, str(number)))
    for number in range(40):
        events.append((START + timedelta(days=rng.randint(0, 800), hours=12), 1, str(number)))
    events.sort()
    for at, kind, which in events:
        if kind == 0:
            _decide(db, history, history.orders[int(which)], at, rng)
        elif history.active:
            _lift(db, history, at, rng)
    return history


def _decide(db: Database, history: History, order: Order, at: datetime, rng: random.Random) -> None:
    drafts = []
    for _ in range(rng.randint(0, 14)):
        account = rng.randint(1, 60)  # small pool: accounts recur across and within orders
        action = rng.choice(["withhold", "withhold", "withhold_global", "decline", "decline"])
        category = rng.choice(CATEGORIES) if action == "decline" or rng.random() < 0.2 else None
        order.decisions.append((account, action, category))
        drafts.append(
            order_service.DecisionDraft(
                account=account,
                action=DecisionAction(action),
                category=DeclineCategory(category) if category else None,
                note=None,
            )
        )
        if action != "decline":
            pair = (account, "XX" if action == "withhold_global" else order.country)
            if pair not in history.active:  # an active rule is kept, with its own provenance
                rule = Rule(order_id=order.id)
                history.rules.append(rule)
                history.active[pair] = rule
    if drafts:
        with db.writing() as session:
            order_service.record_decisions(
                session, order_id=order.id, decisions=drafts, actor="gen", now=at
            )


def _lift(db: Database, history: History, at: datetime, rng: random.Random) -> None:
    pair = rng.choice(sorted(history.active))
    rule = history.active.pop(pair)
    rule.lifted_at = at
    with db.writing() as session:
        outcome = withholding_service.lift(
            session,
            account=pair[0],
            country=pair[1],
            reason=rng.choice([LiftCause.REVIEW, LiftCause.ORDER_REVOKED]),
            actor="gen",
            now=at,
        )
    assert outcome.rule is not None


def _expected(
    history: History, since: datetime, until: datetime, country: str | None
) -> list[dict[str, Any]]:
    """The report, from first principles."""
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    named: dict[tuple[str, str | None], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    row_of_order: dict[int, tuple[str, str | None]] = {}
    for order in history.orders:
        if not since <= order.received_at < until or country not in (None, order.country):
            continue
        key = (order.country, None if order.sealed else order.authority)
        row_of_order[order.id] = key
        row = rows.setdefault(
            key,
            {
                "country": key[0],
                "authority": key[1],
                "orders": 0,
                "sealed_orders": 0,
                "lifted": 0,
                # The generated history names accounts only (tests/integration/test_posts.py
                # counts posts).
                "posts_specified": 0,
                "posts_withheld": 0,
            },
        )
        row["orders"] += 1
        row["sealed_orders"] += order.sealed
        for account, action, category in order.decisions:
            named[key]["any"].add(account)
            named[key][action].add(account)
            if action == "decline":
                named[key][f"declined:{category}"].add(account)
    for rule in history.rules:
        if rule.order_id in row_of_order and rule.lifted_at is not None and rule.lifted_at < until:
            rows[row_of_order[rule.order_id]]["lifted"] += 1
    report = []
    for key, row in rows.items():
        sets = named[key]
        report.append(
            {
                **row,
                "accounts_specified": len(sets["any"]),
                "withheld": len(sets["withhold"]),
                "withheld_global": len(sets["withhold_global"]),
                "declined": {c: len(sets[f"declined:{c}"]) for c in CATEGORIES},
                # The generated history names accounts only (hashtags: test_hashtags.py).
                "hashtags_specified": 0,
                "hashtags_restricted": 0,
            }
        )
    return sorted(
        report, key=lambda r: (r["country"], r["authority"] is None, r["authority"] or "")
    )


WINDOWS = [
    pytest.param(
        datetime(2020, 6, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC), None, id="all"
    ),
    pytest.param(START, datetime(2021, 7, 1, tzinfo=UTC), None, id="first-half-2021"),
    pytest.param(
        datetime(2021, 5, 17, 13, tzinfo=UTC), datetime(2022, 3, 2, tzinfo=UTC), None, id="middle"
    ),
    pytest.param(START, datetime(2022, 1, 1, tzinfo=UTC), "IN", id="india-2021"),
    pytest.param(datetime(2019, 1, 1, tzinfo=UTC), START, None, id="before-any-order"),
]


@pytest.fixture
def generated(db: Database, make_client: ClientFactory) -> tuple[History, TestClient]:
    history = _generate(db, seed=20210201)
    assert sum(o.sealed for o in history.orders) >= 5
    assert any(rule.lifted_at for rule in history.rules)
    return history, make_client()


@pytest.mark.parametrize(("since", "until", "country"), WINDOWS)
def test_report_over_a_generated_history_matches_counts_from_first_principles(
    generated: tuple[History, TestClient],
    since: datetime,
    until: datetime,
    country: str | None,
) -> None:
    history, client = generated
    params = {"from": rfc3339(since), "to": rfc3339(until)}
    if country:
        params["country"] = country.lower()
    response = client.get("/reports/transparency", params=params)
    report = ok(response)
    assert report == {
        "from": rfc3339(since),
        "to": rfc3339(until),
        "rows": _expected(history, since, until, country),
    }
    sealed = [o for o in history.orders if o.sealed]
    for order in sealed:
        assert order.authority not in response.text
        assert f"REF-{history.orders.index(order)}" not in response.text

    as_csv = client.get("/reports/transparency", params=params, headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(parsed) == len(report["rows"])
    for line, row in zip(parsed, report["rows"], strict=True):
        authority = row["authority"] or ""
        if authority.startswith("="):
            authority = "'" + authority  # no formula for spreadsheets
        assert line["authority"] == authority
        assert line["country"] == row["country"]
        for name in ("orders", "sealed_orders", "accounts_specified", "withheld", "lifted"):
            assert int(line[name]) == row[name]
        for category in CATEGORIES:
            assert int(line[f"declined_{category}"]) == row["declined"][category]
    for order in sealed:
        assert order.authority not in as_csv.text


def test_lifts_count_only_up_to_the_end_of_the_period(db: Database, client: TestClient) -> None:
    received = datetime(2021, 2, 1, tzinfo=UTC)
    draft = order_service.OrderDraft(
        country="IN",
        authority="MeitY",
        legal_basis="IT Act s.69A",
        reference="R",
        received_at=received,
        document_url=None,
        sealed=False,
    )
    with db.writing() as session:
        order_id = order_service.create_order(
            session, draft=draft, actor="t", now=received
        ).order.id
        order_service.record_decisions(
            session,
            order_id=order_id,
            decisions=[
                order_service.DecisionDraft(a, DecisionAction.WITHHOLD, None, None) for a in (1, 2)
            ],
            actor="t",
            now=received,
        )
    for account, day in ((1, 3), (2, 20)):
        with db.writing() as session:
            withholding_service.lift(
                session,
                account=account,
                country="IN",
                reason=LiftCause.REVIEW,
                actor="t",
                now=received + timedelta(days=day),
            )

    def lifted(until: datetime) -> int:
        params = {"from": rfc3339(received), "to": rfc3339(until)}
        (row,) = ok(client.get("/reports/transparency", params=params))["rows"]
        assert (row["withheld"], row["accounts_specified"]) == (2, 2)
        count: int = row["lifted"]
        return count

    assert lifted(received + timedelta(days=2)) == 0
    assert lifted(received + timedelta(days=3)) == 0  # lifted exactly at `to`: not before it
    assert lifted(received + timedelta(days=3, seconds=1)) == 1
    assert lifted(received + timedelta(days=30)) == 2


def test_a_sealed_order_is_counted_in_a_row_without_authority(client: TestClient) -> None:
    public = create_order(client, received_at="2021-02-01T00:00:00Z")
    sealed = create_order(
        client,
        received_at="2021-02-02T00:00:00Z",
        sealed=True,
        reference="SECRET-REF",
        document_url="https://secret.example/order",
    )
    ok(decide(client, public["id"], {"account": "1", "action": "withhold"}), 201)
    ok(
        decide(
            client,
            sealed["id"],
            {"account": "2", "action": "withhold"},
            {"account": "3", "action": "decline", "category": "activist"},
        ),
        201,
    )
    assert lift(client, "2", "IN", {"reason": "order_revoked"}).status_code == 204
    params = {"from": "2021-01-01T00:00:00Z", "to": rfc3339(datetime.now(UTC) + timedelta(1))}
    response = client.get("/reports/transparency", params=params)
    rows = ok(response)["rows"]
    assert [(r["authority"], r["orders"], r["sealed_orders"]) for r in rows] == [
        ("MeitY", 1, 0),
        (None, 1, 1),
    ]
    assert rows[1]["accounts_specified"] == 2
    assert rows[1]["declined"]["activist"] == 1
    assert rows[1]["lifted"] == 1
    for secret in ("SECRET-REF", "secret.example"):
        assert secret not in response.text


@pytest.mark.parametrize(
    "query",
    [
        "to=2022-01-01T00:00:00Z",
        "from=2021-01-01T00:00:00Z",
        "from=2021-01-01&to=2022-01-01T00:00:00Z",
        "from=2021-01-01T00:00:00Z&to=2022-01-01T00:00:00Z&country=XX",
    ],
)
def test_report_rejects_missing_or_malformed_parameters_with_422(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/reports/transparency?{query}")
    assert response.status_code == 422, response.text


def test_report_is_json_unless_csv_is_preferred(client: TestClient) -> None:
    create_order(client)
    params = {"from": "2021-01-01T00:00:00Z", "to": "2022-01-01T00:00:00Z"}
    for accept, kind in [
        (None, "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv, application/json;q=0.5", "text/csv"),
        ("application/json, text/csv;q=0.9", "application/json"),
        ("text/html", "application/json"),
    ]:
        headers = {"Accept": accept} if accept else {}
        response = client.get("/reports/transparency", params=params, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind), accept
    csv_text = client.get(
        "/reports/transparency", params=params, headers={"Accept": "text/csv"}
    ).text
    assert csv_text.splitlines() == [
        "country,authority,orders,sealed_orders,accounts_specified,withheld,withheld_global,"
        "declined_news_media,declined_journalist,declined_activist,declined_politician,"
        "declined_other,lifted,posts_specified,posts_withheld,hashtags_specified,"
        "hashtags_restricted",
        "IN,MeitY,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
    ]
