"""The expiry loop's quick read sees hashtag restrictions' expiries too, and agrees with the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.db import Database
from app.replication.quick_reads import QuickReads
from app.repositories import hashtags
from app.services import hashtags as service
from app.services.withholdings import RuleTerms


def _restrict(db: Database, tag: str, expires_at: datetime | None = None) -> None:
    with db.writing() as session:
        service.restrict(
            session,
            hashtag=tag,
            country="IN",
            terms=RuleTerms(reason="r", order_ref=None, expires_at=expires_at),
            actor="t",
            now=datetime.now(UTC),
        )


def test_the_raw_next_expiry_sql_agrees_with_its_orm_twin(db: Database) -> None:
    now = datetime.now(UTC)
    _restrict(db, "a")
    _restrict(db, "b", now + timedelta(hours=2))
    _restrict(db, "c", now + timedelta(hours=1, microseconds=7))
    with db.reading() as session:
        orm = hashtags.next_expiry(session)
        raw: object = session.connection().exec_driver_sql(hashtags.NEXT_EXPIRY_SQL).scalar_one()
    assert orm == now + timedelta(hours=1, microseconds=7)
    if db.is_sqlite:  # stored as naive UTC text
        raw = datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
    assert raw == orm


def test_quick_reads_see_a_hashtag_restriction_due(db: Database) -> None:
    quick = QuickReads(db)
    now = datetime.now(UTC)
    try:
        if not db.is_sqlite:
            assert quick.expiry_may_be_due(now)  # PostgreSQL: always "unknown"
            return
        assert not quick.expiry_may_be_due(now)
        expires = now + timedelta(hours=1)
        _restrict(db, "a", expires)
        assert not quick.expiry_may_be_due(expires - timedelta(microseconds=1))
        assert quick.expiry_may_be_due(expires)
    finally:
        quick.close()


def test_expiring_lifts_the_hashtag_restriction_at_its_instant(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with db.writing() as session:
        created = service.restrict(
            session,
            hashtag="a",
            country="IN",
            terms=RuleTerms(reason="r", order_ref=None, expires_at=None),
            actor="t",
            now=past - timedelta(seconds=1),
        ).restriction
        created.expires_at = past  # as if it had been written with that expiry
    with db.writing() as session:
        result = service.expire_due(session, now=datetime.now(UTC))
    assert [(c.op.value, c.hashtag, c.account) for c in result.changes] == [("lift", "a", None)]
    with db.reading() as session:
        (lifted,) = hashtags.list_for(session, hashtag="a", include_lifted=True)
    assert lifted.lifted_at == past
    assert lifted.lift_reason == "expired"
