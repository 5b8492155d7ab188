"""The background loops' quick reads agree with the ORM reads, and never wait on a lock."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.config import Settings
from app.db import Database
from app.migrate import upgrade_to_head
from app.replication.follower import ChangelogFollower
from app.replication.quick_reads import QuickReads
from app.replication.replica import Replica
from app.repositories import changelog, withholdings
from app.services import withholdings as service
from app.services.withholdings import RuleTerms


def _withhold(db: Database, account: int, expires_at: datetime | None = None) -> None:
    with db.writing() as session:
        service.withhold(
            session,
            account=account,
            country="IN",
            terms=RuleTerms(reason="r", order_ref=None, expires_at=expires_at),
            actor="t",
            now=datetime.now(UTC),
        )


def _orm_head_and_next_expiry(db: Database) -> tuple[int, datetime | None]:
    with db.reading() as session:
        return changelog.read_head(session), withholdings.next_expiry(session)


def test_quick_reads_agree_with_the_orm_reads(db: Database) -> None:
    quick = QuickReads(db)
    now = datetime.now(UTC)
    try:
        if not db.is_sqlite:  # PostgreSQL: always "unknown", so the loops read as before
            assert quick.head() is None
            assert quick.expiry_may_be_due(now)
            return
        assert (quick.head(), quick.expiry_may_be_due(now)) == (0, False)
        _withhold(db, 1)
        _withhold(db, 2, expires_at=now + timedelta(hours=2))
        _withhold(db, 3, expires_at=now + timedelta(hours=1, microseconds=7))
        head, next_expiry = _orm_head_and_next_expiry(db)
        assert quick.head() == head == 3
        assert next_expiry == now + timedelta(hours=1, microseconds=7)
        assert not quick.expiry_may_be_due(next_expiry - timedelta(microseconds=1))
        assert quick.expiry_may_be_due(next_expiry)
        assert quick.expiry_may_be_due(next_expiry + timedelta(days=1))
    finally:
        quick.close()


def test_a_locked_database_is_unknown_at_once_not_waited_for(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('locked') / 'w.db'}"
    db = Database.from_url(url)
    upgrade_to_head(db.engine)
    _withhold(db, 1)
    quick = QuickReads(db)
    assert quick.head() == 1
    quick.close()
    db.dispose()  # the pool's connections would keep the lock below from being taken
    # A connection in exclusive locking mode that has written keeps every other reader out.
    locker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE changelog_head SET revision = revision WHERE id = 1")
    try:
        started = time.perf_counter()
        assert quick.head() is None
        assert quick.expiry_may_be_due(datetime.now(UTC))
        assert time.perf_counter() - started < 0.5  # busy_timeout 0: no wait
    finally:
        locker.rollback()
        locker.close()
    assert quick.head() == 1  # reconnects once the lock is gone
    quick.close()


@pytest.mark.anyio
async def test_the_follower_still_sees_every_write_when_polls_are_quick(db: Database) -> None:
    replica = Replica()
    follower = ChangelogFollower(
        db, replica, Settings(database_url="sqlite://", poll_interval_s=0.02)
    )
    await follower.load()
    follower.start()
    try:
        for account in range(1, 6):
            _withhold(db, account)
            assert await replica.wait_for(account, timeout_s=5)
            assert replica.index.is_withheld(account, "IN")
        assert replica.head_seen == 5
    finally:
        await follower.stop()
