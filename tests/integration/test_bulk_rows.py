"""Rows written a table at a time (``app/repositories/_bulk.py``) hold what the ORM's own
writes hold: the same instants, and on SQLite the same text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app.db import Database
from app.domain import LiftCause
from app.models import Withholding
from app.services import withholdings as service
from app.services.withholdings import RuleTerms


@pytest.mark.parametrize("microsecond", [0, 1, 999_999])
def test_bulk_rows_store_an_instant_as_the_orm_does(db: Database, microsecond: int) -> None:
    now = datetime(2026, 12, 3, 17, 0, 5, microsecond, tzinfo=UTC)
    terms = RuleTerms(reason="r", order_ref=None, expires_at=None)
    with db.writing() as session:  # the rule's row through the driver's executemany
        service.bulk_withhold(session, items=[(7, "IN", None)], terms=terms, actor="alice", now=now)
    with db.writing() as session:  # its lift through the ORM's UPDATE
        service.lift(
            session, account=7, country="IN", reason=LiftCause.REVIEW, actor="alice", now=now
        )
    with db.reading() as session:
        rule = session.execute(select(Withholding)).scalar_one()
        assert rule.created_at == rule.lifted_at == now
        if db.url.get_backend_name() == "sqlite":
            stored = session.execute(text("SELECT created_at, lifted_at FROM withholding")).one()
            # SQLAlchemy's format, microseconds always written: text compares as time does
            assert stored[0] == stored[1] == now.strftime("%Y-%m-%d %H:%M:%S.%f")
