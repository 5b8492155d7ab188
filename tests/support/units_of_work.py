"""Units of work for ``app.write_process`` tests: module-level, so the write process can unpickle
them (it imports this module by name)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass

from sqlalchemy.orm import Session

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
