"""Units of work for ``app.write_process`` tests: module-level, so the write process can unpickle
them (it imports this module by name)."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import core_turns
from app.db import Database
from app.domain import AuthorConflictError, Change, ChangeOp, OrderNotFoundError, WriteResult
from app.repositories import changelog


@dataclass(frozen=True, slots=True)
class Ran:
    pid: int
    result: WriteResult


def where_it_ran(session: Session) -> Ran:
    """Reports its process, and a result with a change, as a service's write would."""
    head = changelog.lock_head(session)
    change = Change(head + 1, ChangeOp.WITHHOLD, 1, "IN")
    return Ran(os.getpid(), WriteResult((change,), head + 1))


def conflicting(session: Session) -> Ran:
    raise AuthorConflictError(post=7, author=1, named=2)


def not_found(session: Session) -> Ran:
    raise OrderNotFoundError(99)


def unreachable(session: Session) -> Ran:
    raise sqlite3.OperationalError("database is locked")


def dying(session: Session) -> Ran:
    os._exit(3)  # as a process killed for its memory would end


def where_it_runs(db: Database) -> tuple[int, str]:
    """A task for ``WriteProcess.run``: its process and the database it was given."""
    return os.getpid(), db.describe()


def its_cpus(db: Database) -> frozenset[int]:
    """A task for ``WriteProcess.run``: the CPUs its process may run on."""
    return frozenset(os.sched_getaffinity(0))


@dataclass(frozen=True, slots=True)
class Offers:
    """How often the write process offered the core during ~20 ms of each kind of work."""

    in_python: int
    in_a_statement: int  # SQLite's; PostgreSQL's run in its server, not here


def offers_while_busy(db: Database) -> Offers:
    """A task for ``WriteProcess.run``: Python, then a SQL statement, each busy for a while."""
    start, started = core_turns.offers, time.thread_time()
    while time.thread_time() - started < 0.02:
        pass
    in_python = core_turns.offers - start
    start = core_turns.offers
    with db.reading() as session:
        counted: int = session.execute(text(_COUNT_TO_A_MILLION)).scalar_one()
    assert counted == 1_000_000
    return Offers(in_python, core_turns.offers - start)


_COUNT_TO_A_MILLION = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000) "
    "SELECT count(*) FROM n"
)
