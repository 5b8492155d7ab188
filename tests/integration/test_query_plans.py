"""SQLite's plans for reads that must not scan: by the subject's own index, never by reading every
account row through an index on ``post_id`` or ``hashtag`` (``post_id IS NULL`` looks like an
equality to SQLite's planner, which has no statistics to say it matches nearly every row; those
indexes hold only the rows where the column is set, migration 0006)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.db import Database
from app.domain import DecisionAction, Subject
from app.migrate import upgrade_to_head
from app.repositories import audit, withholdings
from app.services import orders, transparency
from app.services import withholdings as service
from app.services.orders import DecisionDraft, OrderDraft
from app.services.withholdings import RuleTerms

TERMS = RuleTerms(reason="r", order_ref=None, expires_at=None)
NOW = datetime(2026, 12, 3, tzinfo=UTC)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'plans.db'}", timeout_s=5)
    upgrade_to_head(db.engine)
    yield db
    db.dispose()


def plans_of(db: Database, read: Callable[[Session], Any]) -> dict[str, str]:
    """SQLite's plan of each statement ``read`` executes, by statement."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.reading() as session:
            read(session)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    plans = {}
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans[statement] = " | ".join(row[3] for row in rows)
    assert plans
    return plans


def test_active_rules_among_many_accounts_are_read_by_account(sqlite_db: Database) -> None:
    with sqlite_db.writing() as session:
        service.bulk_withhold(
            session,
            items=[(1, "IN", None), (2, "IN", None), (1, "FR", 70)],  # 70: a post by account 1
            terms=TERMS,
            actor="t",
            now=NOW,
        )
    # Many accounts, as a bulk's chunk has: the planner weighs a long IN list as unselective.
    keys = [(Subject.ACCOUNT, account, "IN") for account in range(1, 301)]
    keys += [(Subject.ACCOUNT, 1, "FR"), (Subject.POST, 70, "FR")]
    found: dict[Any, Any] = {}
    plans = plans_of(sqlite_db, lambda s: found.update(withholdings.list_active_among(s, keys)))

    # The account's own rule, the post's rule; not the post's rule taken for the account's.
    assert set(found) == {
        (Subject.ACCOUNT, 1, "IN"),
        (Subject.ACCOUNT, 2, "IN"),
        (Subject.POST, 70, "FR"),
    }
    assert found[(Subject.POST, 70, "FR")].post_id == 70
    by_account = [plan for statement, plan in plans.items() if "account_id IN" in statement]
    assert by_account
    for plan in by_account:
        assert "(account_id=?)" in plan, plan


def test_the_reports_account_counts_read_only_the_periods_decisions(sqlite_db: Database) -> None:
    with sqlite_db.writing() as session:
        for day in range(3):
            draft = OrderDraft(
                "IN", "MeitY", "69A", f"r{day}", NOW - timedelta(days=day), None, False
            )
            order = orders.create_order(session, draft=draft, actor="t", now=NOW).order
            decisions = [
                DecisionDraft(account, DecisionAction.WITHHOLD, None, None)
                for account in range(day * 100 + 1, day * 100 + 51)
            ]
            decisions.append(DecisionDraft(1, DecisionAction.WITHHOLD, None, None, post=5 + day))
            orders.record_decisions(
                session, order_id=order.id, decisions=decisions, actor="t", now=NOW
            )
    report = plans_of(
        sqlite_db,
        lambda s: transparency.build_report(
            s, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1), country=None
        ),
    )
    for statement, plan in report.items():
        if "decision" in statement:
            # From the period's orders to their decisions, never every decision of the table.
            assert "SEARCH decision USING INDEX ix_decision_order_id (order_id=?)" in plan, plan
            assert "ix_decision_post_id" not in plan, plan


def test_lookups_by_post_or_hashtag_use_their_index(sqlite_db: Database) -> None:
    with sqlite_db.writing() as session:
        service.bulk_withhold(
            session, items=[(1, "IN", None), (1, "FR", 70)], terms=TERMS, actor="t", now=NOW
        )

    def read(session: Session) -> None:
        withholdings.authors_of(session, [70, 71])
        withholdings.list_for(session, subject=Subject.POST, subject_id=70, include_lifted=True)
        for post, hashtag in ((70, None), (None, "farmersprotest")):
            audit.list_page(
                session,
                account=None,
                actor=None,
                action=None,
                since=None,
                until=None,
                after_id=0,
                limit=10,
                post=post,
                hashtag=hashtag,
            )

    plans = list(plans_of(sqlite_db, read).values())
    assert len(plans) == 4
    assert "ix_withholding_post_id (post_id=?)" in plans[0], plans[0]
    assert "ix_withholding_post_id (post_id=?)" in plans[1], plans[1]
    assert "USING INDEX ix_audit_entry_post_id (post_id=?" in plans[2], plans[2]
    assert "USING INDEX ix_audit_entry_hashtag (hashtag=?" in plans[3], plans[3]
