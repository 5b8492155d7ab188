"""The follower: catches up in order, reloads when far behind, expires rules once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from app.config import Settings
from app.db import Database
from app.domain import LiftCause, Subject
from app.replication import follower as sync
from app.replication import snapshot_store
from app.replication.cold_start import load_state
from app.replication.follower import ChangelogFollower
from app.replication.indexes import Indexes
from app.replication.replica import Replica
from app.repositories import active_pairs, changelog, snapshots, withholdings
from app.services import withholdings as service
from app.services.withholdings import RuleTerms
from app.write_process import WriteProcess

TERMS = RuleTerms(reason="r", order_ref=None, expires_at=None)


def _withhold(db: Database, accounts: range, country: str = "IN") -> None:
    with db.writing() as session:
        service.bulk_withhold(
            session,
            items=[(a, country, None) for a in accounts],
            terms=TERMS,
            actor="t",
            now=datetime.now(UTC),
        )


@pytest.mark.anyio
async def test_catch_up_applies_changes_after_the_loaded_revision(db: Database) -> None:
    _withhold(db, range(1, 6))
    replica = Replica()
    follower = ChangelogFollower(db, replica, Settings(database_url="sqlite://"))
    await follower.load()
    assert replica.revision == 5
    _withhold(db, range(6, 9), country="XX")
    await follower.catch_up()
    assert replica.revision == 8
    assert replica.index == load_state(db)[0].accounts
    assert replica.index.is_withheld(7, "FR")


@pytest.mark.anyio
async def test_far_behind_reloads_the_rules_instead_of_replaying(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = Replica()
    follower = ChangelogFollower(db, replica, Settings(database_url="sqlite://"))
    await follower.load()
    _withhold(db, range(1, 51))
    monkeypatch.setattr(sync, "RELOAD_AFTER", 10)
    loads = []
    original = follower.load

    async def counting_load() -> None:
        loads.append(1)
        await original()

    monkeypatch.setattr(follower, "load", counting_load)
    await follower.catch_up()
    assert loads == [1]
    assert replica.revision == 50
    assert len(replica.index) == 50


@pytest.mark.anyio
async def test_a_follower_hands_free_heap_pages_back_after_many_changes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    releases: list[int] = []
    replica = Replica()
    monkeypatch.setattr(sync, "RELEASE_EVERY_CHANGES", 10)
    monkeypatch.setattr(sync, "release_free_memory", lambda: releases.append(replica.revision))
    settings = Settings(database_url="sqlite://", poll_interval_s=0.01, snapshot_check_s=3600)
    follower = ChangelogFollower(db, replica, settings)
    await follower.load()
    releases.clear()  # the load's own
    follower.start()
    try:

        async def reaches(revision: int) -> None:
            for _ in range(400):  # at most 20 s
                if replica.revision >= revision and releases[-1:] == [revision]:
                    return
                await anyio.sleep(0.05)
            raise AssertionError(f"no release at revision {revision}: {releases}")

        _withhold(db, range(1, 13))  # 12 changes: one release
        await reaches(12)
        _withhold(db, range(13, 18))  # 5 more: fewer than 10 since
        for _ in range(400):
            if replica.revision >= 17:
                break
            await anyio.sleep(0.05)
        _withhold(db, range(18, 23))  # 10 since the release
        await reaches(22)
        assert releases == [12, 22]
    finally:
        await follower.stop()


def test_expiry_lifts_due_rules_once_even_when_several_processes_try(db: Database) -> None:
    now = datetime.now(UTC)
    with db.writing() as session:
        service.withhold(
            session,
            account=1,
            country="IN",
            actor="t",
            now=now,
            terms=RuleTerms(reason="r", order_ref=None, expires_at=now + timedelta(seconds=1)),
        )
    later = now + timedelta(seconds=2)
    with db.writing() as session:
        first = service.expire_due(session, now=later)
    with db.writing() as session:
        second = service.expire_due(session, now=later)
    assert [c.op.value for c in first.changes] == ["lift"]
    assert second.changes == ()
    with db.reading() as session:
        (rule,) = withholdings.list_for(
            session, subject=Subject.ACCOUNT, subject_id=1, include_lifted=True
        )
    assert rule.lift_reason == "expired"
    assert rule.lifted_at == rule.expires_at


@pytest.mark.anyio
async def test_a_process_that_read_every_rule_stores_a_snapshot_at_once(db: Database) -> None:
    _withhold(db, range(1, 41))
    settings = Settings(database_url="sqlite://", snapshot_every_changes=10, snapshot_check_s=60)
    follower = ChangelogFollower(db, Replica(), settings)
    await follower.load()
    follower.start()
    try:
        for _ in range(100):  # the first check does not wait for snapshot_check_s
            with db.reading() as session:
                if snapshots.latest_revision(session) is not None:
                    break
            await anyio.sleep(0.05)
        with db.reading() as session:
            assert snapshots.latest_revision(session) == 40
    finally:
        await follower.stop()


@pytest.mark.anyio
async def test_start_loads_the_newest_snapshot_and_replays_only_what_follows(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(database_url="sqlite://", snapshot_every_changes=10)
    writer = ChangelogFollower(db, Replica(), settings)
    await writer.load()
    _withhold(db, range(1, 31))
    await writer.catch_up()
    assert await writer.snapshot_if_due()
    assert not await writer.snapshot_if_due()  # nothing new since
    _withhold(db, range(31, 36), country="XX")
    with db.writing() as session:
        service.lift(
            session,
            account=3,
            country="IN",
            reason=LiftCause.REVIEW,
            actor="t",
            now=datetime.now(UTC),
        )
    expected, head = load_state(db)

    def no_full_load(*_: object) -> None:
        raise AssertionError("the rules table was read: the snapshot should have served")

    monkeypatch.setattr(active_pairs, "load_active_pairs", no_full_load)
    indexes, revision = load_state(db)
    assert revision == head == 36
    assert indexes == expected
    assert not indexes.accounts.is_withheld(3, "IN")
    assert indexes.accounts.is_withheld(33, "BR")


@pytest.mark.parametrize("pages_per_slice", [1, 10**9], ids=["sliced", "whole"])
def test_full_load_reads_one_snapshot_however_it_is_split(
    db: Database, monkeypatch: pytest.MonkeyPatch, pages_per_slice: int
) -> None:
    # PostgreSQL reads a big table in page slices on several connections, SQLite in ranges of
    # rule ids: each must see the reader's snapshot (a rule committed after it started stays
    # out), and together exactly the active pairs the plain row-by-row read sees.
    monkeypatch.setattr(active_pairs, "_PG_PAGES_PER_SLICE", pages_per_slice)
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    # SQLite: one aggregate, or (past its value limit) chunks of the index in order.
    monkeypatch.setattr(active_pairs, "_SQLITE_CHUNK", 700)
    _withhold(db, range(1, 2001))
    _withhold(db, range(1, 501), country="XX")
    with db.writing() as session:
        for account in (7, 1500):
            service.lift(
                session,
                account=account,
                country="IN",
                reason=LiftCause.REVIEW,
                actor="t",
                now=datetime.now(UTC),
            )
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE withholding")  # relpages > 0: more than one slice
    with db.reading(snapshot=True) as session:
        head = changelog.read_head(session)  # the snapshot starts here
        if db.is_sqlite and pages_per_slice == 1:  # a value limit the whole aggregate exceeds
            dbapi = session.connection().connection.dbapi_connection
            dbapi.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 20_000)  # type: ignore[union-attr]
        _withhold(db, range(5000, 5003))  # committed after it
        accounts, countries = active_pairs.load_active_pairs(session)
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            by_rows = active_pairs._row_by_row(cursor)
        finally:
            cursor.close()
    pairs = set(zip(accounts.tolist(), countries.tolist(), strict=True))
    assert len(pairs) == len(accounts) == 2498
    assert pairs == set(zip(by_rows[0].tolist(), by_rows[1].tolist(), strict=True))
    assert (7, b"IN") not in pairs
    assert (5000, b"IN") not in pairs
    assert (1, b"XX") in pairs
    assert head == 2502


@pytest.mark.anyio
async def test_expiry_lifts_in_the_write_process_and_the_follower_reads_the_lifts_back(
    db: Database,
) -> None:
    settings = Settings(database_url="sqlite://", poll_interval_s=0.05, expiry_interval_s=0.05)
    writer = WriteProcess(db, enabled=True, timeout_s=2.0)
    replica = Replica()
    follower = ChangelogFollower(db, replica, settings, writer=writer)
    expires_at = datetime.now(UTC) + timedelta(seconds=1)
    with db.writing() as session:
        for account in (1, 2):
            service.withhold(
                session,
                account=account,
                country="IN",
                actor="t",
                now=datetime.now(UTC),
                terms=RuleTerms(reason="r", order_ref=None, expires_at=expires_at),
            )
    before = set(multiprocessing.active_children())
    await follower.load()
    follower.start()
    try:
        # Started ahead of the expiry, so the lift does not wait for a child to spawn.
        for _ in range(200):
            if set(multiprocessing.active_children()) - before:
                break
            await anyio.sleep(0.05)
        assert datetime.now(UTC) < expires_at, "the child was not started ahead"
        assert await replica.wait_for(4, timeout_s=10)
        assert not replica.index.is_withheld(1, "IN")
        assert not replica.index.is_withheld(2, "IN")
        (child,) = set(multiprocessing.active_children()) - before
        with db.reading() as session:
            lifted = withholdings.list_for(
                session, subject=Subject.ACCOUNT, subject_id=1, include_lifted=True
            )
        assert [rule.lift_reason for rule in lifted] == ["expired"]
        assert child.is_alive()
    finally:
        await follower.stop()
        await writer.close()


@pytest.mark.anyio
async def test_a_large_snapshot_is_stored_by_the_write_process_through_a_file_then_removed(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite stores a snapshot a piece at a time from this process instead")
    _withhold(db, range(1, 41))
    monkeypatch.setattr(snapshot_store, "THROUGH_WRITER_FROM", 0)  # every snapshot is large
    spilled: list[str] = []
    spill = snapshot_store._spill

    def recorded(data: memoryview) -> str:
        spilled.append(spill(data))
        return spilled[-1]

    monkeypatch.setattr(snapshot_store, "_spill", recorded)
    writer = WriteProcess(db, enabled=True, timeout_s=2.0)
    settings = Settings(database_url="sqlite://", snapshot_every_changes=10)
    follower = ChangelogFollower(db, Replica(), settings, writer=writer)
    try:
        await follower.load()
        assert await follower.snapshot_if_due()
    finally:
        await writer.close()

    assert len(spilled) == 1
    assert not await anyio.Path(spilled[0]).exists()
    expected, head = load_state(db)
    with db.reading() as session:
        stored = snapshots.latest(session)
    assert stored is not None
    assert stored[0] == head == 40
    assert Indexes.from_bytes(stored[1]).accounts == expected.accounts


@pytest.mark.anyio
async def test_sqlite_stores_a_snapshot_in_pieces_from_this_process(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL binds the snapshot as one value")
    _withhold(db, range(1, 41))
    monkeypatch.setattr(snapshot_store, "THROUGH_WRITER_FROM", 0)
    monkeypatch.setattr(snapshots, "PIECE", 7)  # many pieces, the last one short
    writer = WriteProcess(db, enabled=True, timeout_s=2.0)
    settings = Settings(database_url="sqlite://", snapshot_every_changes=10)
    follower = ChangelogFollower(db, Replica(), settings, writer=writer)
    before = set(multiprocessing.active_children())
    try:
        await follower.load()
        assert await follower.snapshot_if_due()
        assert set(multiprocessing.active_children()) == before, "no child for SQLite"
    finally:
        await writer.close()

    expected, head = load_state(db)
    with db.reading() as session:
        stored = snapshots.latest(session)
    assert stored is not None
    assert stored[0] == head
    assert stored[1] == expected.to_bytes()
