"""SQLite's plans for the bulk write's reads: by the subject's own index, never by scanning all
account rules through the index on ``post_id`` (``post_id IS NULL`` looks like an equality to
SQLite's planner, which has no statistics to say it matches nearly every row)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from app.db import Database
from app.domain import Subject
from app.migrate import upgrade_to_head
from app.repositories import withholdings
from app.services import withholdings as service
from app.services.withholdings import RuleTerms

TERMS = RuleTerms(reason="r", order_ref=None, expires_at=None)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'plans.db'}", timeout_s=5)
    upgrade_to_head(db.engine)
    yield db
    db.dispose()


def test_active_rules_among_many_accounts_are_read_by_account(sqlite_db: Database) -> None:
    with sqlite_db.writing() as session:
        service.bulk_withhold(
            session,
            items=[(1, "IN", None), (2, "IN", None), (1, "FR", 70)],  # 70: a post by account 1
            terms=TERMS,
            actor="t",
            now=datetime.now(UTC),
        )
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    # Many accounts, as a bulk's chunk has: the planner weighs a long IN list as unselective.
    keys = [(Subject.ACCOUNT, account, "IN") for account in range(1, 301)]
    keys += [(Subject.ACCOUNT, 1, "FR"), (Subject.POST, 70, "FR")]
    event.listen(sqlite_db.engine, "before_cursor_execute", record)
    try:
        with sqlite_db.reading() as session:
            found = withholdings.list_active_among(session, keys)
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", record)

    # The account's own rule, the post's rule; not the post's rule taken for the account's.
    assert set(found) == {
        (Subject.ACCOUNT, 1, "IN"),
        (Subject.ACCOUNT, 2, "IN"),
        (Subject.POST, 70, "FR"),
    }
    assert found[(Subject.POST, 70, "FR")].post_id == 70
    assert statements
    plans = {}
    with sqlite_db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        for statement, parameters in statements:
            rows = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans[statement] = " ".join(row[3] for row in rows)
    by_account = [plan for statement, plan in plans.items() if "account_id IN" in statement]
    assert by_account
    for plan in by_account:
        assert "(account_id=?)" in plan, plan
