"""``app.write_process``: a heavy unit of work runs in a child process and comes back as the API
answers it; the child is replaced when it dies and stopped when the app stops."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import select

from app.api import withholdings as withholdings_api
from app.db import Database
from app.domain import ConflictError, NotFoundError
from app.models import Withholding
from app.services.withholdings import RuleTerms
from app.write_process import DatabaseUnavailableError, WriteProcess, pickled
from tests.support import units_of_work
from tests.support.waiting import wait_until


@pytest.fixture
def writer(db: Database) -> Iterator[WriteProcess]:
    process = WriteProcess(db, enabled=True, timeout_s=2.0)
    yield process
    asyncio.run(process.close())


def test_a_unit_of_work_runs_in_another_process_and_returns_its_revision(
    writer: WriteProcess,
) -> None:
    async def twice() -> tuple[units_of_work.Ran, units_of_work.Ran]:
        first = await writer.commit(units_of_work.where_it_ran)
        return first, await writer.commit(units_of_work.where_it_ran)

    first, second = asyncio.run(twice())

    assert first.pid != os.getpid()
    assert second.pid == first.pid, "one child serves one write after another"
    assert first.result.changes == (), "changes are read back from the changelog, not sent"
    assert second.result.revision == first.result.revision  # neither moved the head


def test_closing_stops_the_child(db: Database) -> None:
    process = WriteProcess(db, enabled=True, timeout_s=2.0)

    async def write_then_close() -> int:
        ran = await process.commit(units_of_work.where_it_ran)
        await process.close()
        return ran.pid

    child = asyncio.run(write_then_close())

    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # exited and reaped by close()


def test_disabled_it_runs_here_and_keeps_the_changes(db: Database) -> None:
    here = WriteProcess(db, enabled=False, timeout_s=2.0)

    ran = asyncio.run(here.commit(units_of_work.where_it_ran))

    assert ran.pid == os.getpid()
    assert len(ran.result.changes) == 1


@pytest.mark.parametrize(
    ("work", "kind", "detail"),
    [
        (units_of_work.conflicting, ConflictError, "account: post 7 is by account 1, not 2"),
        (units_of_work.not_found, NotFoundError, "id: no legal order 99"),
        (units_of_work.unreachable, DatabaseUnavailableError, "OperationalError"),
    ],
)
def test_errors_come_back_as_the_api_answers_them(
    writer: WriteProcess, work: object, kind: type[Exception], detail: str
) -> None:
    with pytest.raises(kind) as raised:
        asyncio.run(writer.commit(work))  # type: ignore[arg-type]

    assert str(raised.value) == detail


def test_a_dead_child_is_a_503_and_the_next_write_gets_a_new_one(writer: WriteProcess) -> None:
    async def die_then_write() -> units_of_work.Ran:
        with pytest.raises(DatabaseUnavailableError):
            await writer.commit(units_of_work.dying)
        return await writer.commit(units_of_work.where_it_ran)

    ran = asyncio.run(die_then_write())

    assert ran.pid != os.getpid()


def test_a_closed_writer_refuses_work_and_spawns_no_child(db: Database) -> None:
    process = WriteProcess(db, enabled=True, timeout_s=2.0)
    before = multiprocessing.active_children()

    async def close_then_write() -> None:
        await process.close()
        process.start_soon()
        await process.commit(units_of_work.where_it_ran)

    with pytest.raises(DatabaseUnavailableError):
        asyncio.run(close_then_write())
    assert multiprocessing.active_children() == before


def test_start_soon_spawns_the_child_before_the_first_write(writer: WriteProcess) -> None:
    before = set(multiprocessing.active_children())
    writer.start_soon()
    writer.start_soon()  # once

    def spawned() -> set[multiprocessing.process.BaseProcess]:
        return set(multiprocessing.active_children()) - before

    wait_until(lambda: len(spawned()) == 1, timeout=30, message="no child spawned")
    (child,) = spawned()
    ran = asyncio.run(writer.commit(units_of_work.where_it_ran))
    assert ran.pid == child.pid


def test_a_task_runs_in_the_child_on_its_own_connection_to_the_same_database(
    writer: WriteProcess, db: Database
) -> None:
    pid, database = asyncio.run(writer.run(units_of_work.where_it_runs))

    assert pid != os.getpid()
    assert database == db.describe()


def test_disabled_a_task_runs_here(db: Database) -> None:
    here = WriteProcess(db, enabled=False, timeout_s=2.0)

    pid, _ = asyncio.run(here.run(units_of_work.where_it_runs))

    assert pid == os.getpid()


def test_commit_soonest_writes_here_until_the_child_is_up_then_there(
    writer: WriteProcess,
) -> None:
    first = asyncio.run(writer.commit_soonest(units_of_work.where_it_ran))

    assert first.pid == os.getpid(), "not waiting for a spawn"
    assert len(first.result.changes) == 1
    wait_until(lambda: writer.ready, timeout=30, message="the child never came up")
    later = asyncio.run(writer.commit_soonest(units_of_work.where_it_ran))
    assert later.pid != os.getpid()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_the_child_runs_on_the_cpus_it_is_given(db: Database) -> None:
    one = {max(os.sched_getaffinity(0))}
    process = WriteProcess(db, enabled=True, timeout_s=2.0, cpus=frozenset(one))
    try:
        cpus = asyncio.run(process.run(units_of_work.its_cpus))
    finally:
        asyncio.run(process.close())

    assert cpus == one


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
def test_cpus_it_may_not_use_leave_it_where_it_is_and_writing(db: Database) -> None:
    # A cpuset the kernel refuses (here: CPUs this machine lacks) must not cost the writes.
    absent = frozenset({(os.cpu_count() or 1) + 64})
    process = WriteProcess(db, enabled=True, timeout_s=2.0, cpus=absent)
    try:
        cpus = asyncio.run(process.run(units_of_work.its_cpus))
        ran = asyncio.run(process.commit(units_of_work.where_it_ran))
    finally:
        asyncio.run(process.close())

    assert cpus == frozenset(os.sched_getaffinity(0))
    assert ran.pid != os.getpid()


def test_taking_turns_the_child_offers_the_core_in_python_and_in_statements(
    db: Database,
) -> None:
    process = WriteProcess(db, enabled=True, timeout_s=2.0, take_turns=True)
    try:
        offers = asyncio.run(process.run(units_of_work.offers_while_busy))
    finally:
        asyncio.run(process.close())

    assert offers.in_python > 0, "the alarm interrupts Python code"
    if db.is_sqlite:
        assert offers.in_a_statement > 0, "the progress handler interrupts a statement"


def test_a_child_not_sharing_its_core_never_offers_it(db: Database) -> None:
    process = WriteProcess(db, enabled=True, timeout_s=2.0, take_turns=False)
    try:
        offers = asyncio.run(process.run(units_of_work.offers_while_busy))
    finally:
        asyncio.run(process.close())

    assert offers == units_of_work.Offers(0, 0)


def test_a_bulk_written_while_taking_turns_is_all_there(db: Database) -> None:
    accounts = range(5_000_000, 5_020_000)
    work = partial(
        withholdings_api._bulk_withhold,
        items=pickled([(account, "IN", None) for account in accounts]),
        terms=RuleTerms(reason="turns", order_ref=None, expires_at=None),
        actor="tests",
        now=datetime.now(UTC),
    )
    process = WriteProcess(db, enabled=True, timeout_s=10.0, take_turns=True)
    try:
        outcome = asyncio.run(process.commit(work))
    finally:
        asyncio.run(process.close())

    assert outcome.created == len(accounts)
    with db.reading() as session:
        stored = session.scalars(
            select(Withholding.account_id).where(Withholding.reason == "turns")
        ).all()
    assert sorted(stored) == list(accounts)
