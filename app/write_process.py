"""A child process for the heavy writes, so that their CPU time is not spent holding this
process's GIL.

A 100,000-item bulk keeps its writer busy for seconds. In a worker thread of the serving process
it holds the GIL in 1 ms turns (``app/process.py``), and every lookup waits for the event loop to
get the GIL back between turns. A child process has an interpreter of its own: the kernel shares
the core between it and the loop's thread, and, pinned to one core together, the two take
turns of half a millisecond (``app/core_turns.py``), not of the kernel's 4 ms tick.
The child commits; this process then follows the changelog to the write's revision before it
answers, as a replica follows another replica's writes (``transactions.write_heavy``).

The heavy writes: bulks, an order's decisions, mass expiries (``commit``), and storing a large
index snapshot (``run``, ``app/replication/snapshot_store.py``). The child is spawned on the
first of them (a process that never takes one never has one) and runs one at a time. A
commit's outcome comes back without the write's changes: this process reads them back from
the changelog in slices, where unpickling 100k of them would hold its loop. Errors come back
as the API answers them (404, 409, 503): an exception carrying rows
or a driver's state would not survive the trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, Final, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from app import core_turns
from app.db import UNAVAILABLE_ERRORS, Database
from app.domain import ConflictError, NotFoundError, WriteResult
from app.memory import limit_malloc_arenas, release_in_slices
from app.process import in_thread, tune_for_serving


class DatabaseUnavailableError(Exception):
    """The write could not reach or lock the database (503, as the same error in process)."""


class Committed(Protocol):
    """What a service's write returns: at least what it changed and the revision after it."""

    @property
    def result(self) -> WriteResult: ...


Outcome = TypeVar("Outcome", bound=Committed)
UnitOfWork = Callable[[Session], Outcome]
Done = TypeVar("Done")
Task = Callable[[Database], Done]  # given the database of the process it runs in

_database: Database | None = None  # the child's own
log = logging.getLogger("withheld.write_process")


# Items pickled by one ``pickle.dumps`` call: one call over 100,000 holds the GIL for tens of
# milliseconds (the switch interval cannot interrupt a C call), this many for about one.
PICKLE_SLICE: Final = 2_000


def pickled(items: Sequence[Any]) -> list[bytes]:
    """``items`` for a unit of work bound for the child, pickled a slice at a time (call it in a
    worker thread): the executor would pickle them in one call, holding the GIL throughout."""
    return [
        pickle.dumps(items[start : start + PICKLE_SLICE], protocol=pickle.HIGHEST_PROTOCOL)
        for start in range(0, len(items), PICKLE_SLICE)
    ]


def pickled_from(source: list[Any], convert: Callable[[Any], Any]) -> list[bytes]:
    """``pickled`` of each of ``source`` converted, in a worker thread, for a request's items
    that are done with: ``source`` and the converted items are freed a slice at a time
    (``memory.release_in_slices``), not in one call that holds the GIL."""
    items = [convert(item) for item in source]
    release_in_slices(source)
    try:
        return pickled(items)
    finally:
        release_in_slices(items)


def unpickled(slices: Sequence[bytes]) -> list[Any]:
    """What ``pickled`` was given (in the unit of work)."""
    return [item for piece in slices for item in pickle.loads(piece)]  # noqa: S301 (ours)


def commit(db: Database, work: UnitOfWork[Outcome]) -> Outcome:
    """``work`` in one committed transaction of ``db`` (rolled back on any error)."""
    with db.writing() as session:
        return work(session)


def _start_child(database_url: str, timeout_s: float, cpus: frozenset[int] | None) -> None:
    # Ctrl-C reaches the whole process group; the server stops this child through its pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_malloc_arenas()
    if cpus is not None:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError as error:  # e.g. outside the container's cpuset: write where we are
            log.warning("write process: cannot run on CPUs %s (%s)", sorted(cpus), error)
    global _database
    _database = Database.from_url(database_url, timeout_s=timeout_s)
    if _database.is_sqlite:  # its statements run here; PostgreSQL's in its own processes
        event.listen(
            _database.engine,
            "connect",
            lambda connection, _record: core_turns.take_turns_in_statements(connection),
        )
    tune_for_serving()  # the collector's thresholds matter as much to a bulk here


def _nothing() -> None:
    """Submitted to have the pool spawn its child."""


def _in_child(task: Task[Done]) -> Done:
    assert _database is not None, "the pool's initializer opens the database"
    core_turns.start_turns()
    try:
        return task(_database)
    except NotFoundError as error:
        raise NotFoundError(error.detail) from None
    except ConflictError as error:
        raise ConflictError(error.detail) from None
    except UNAVAILABLE_ERRORS as error:  # exactly what the API answers 503 for
        raise DatabaseUnavailableError(type(error).__name__) from None
    finally:
        core_turns.stop_turns()


def _commit_stripped(work: UnitOfWork[Outcome], db: Database) -> Outcome:
    outcome = commit(db, work)
    revision = outcome.result.revision
    stripped: Outcome = dataclasses.replace(outcome, result=WriteResult((), revision))  # type: ignore[type-var]
    return stripped


class WriteProcess:
    """Runs units of work in a child process (``enabled``), else in a worker thread here."""

    def __init__(
        self,
        db: Database,
        *,
        enabled: bool,
        timeout_s: float,
        cpus: frozenset[int] | None = None,
        take_turns: bool | None = None,
    ) -> None:
        """``take_turns``: whether the child and the loop share the core in short turns
        (``app/core_turns.py``); None: where they share one core."""
        self.db = db
        self.enabled = enabled
        self._timeout_s = timeout_s
        self._cpus = cpus  # the child's CPU affinity; None: its parent's
        self._pool: ProcessPoolExecutor | None = None
        self._started: Future[None] | None = None  # done once the child is up
        self._closed = False
        if take_turns is None:
            take_turns = core_turns.shares_one_core(cpus)
        self._turns = core_turns.LoopTurns(enabled=take_turns)

    async def commit(self, work: UnitOfWork[Outcome]) -> Outcome:
        """``work``'s outcome, committed; from the child, its result carries no changes."""
        if not self.enabled:
            return await in_thread(partial(commit, self.db, work))
        return await self._in_child(partial(_commit_stripped, work))

    async def commit_soonest(self, work: UnitOfWork[Outcome]) -> Outcome:
        """``commit``, but in a worker thread here (its result keeping the changes) while the
        child is not up yet, which it is then told to become: for a write that must not wait
        the second a spawn takes (rules already due when a process starts)."""
        if self.enabled and not self._closed and not self.ready:
            self.start_soon()
            return await in_thread(partial(commit, self.db, work))
        return await self.commit(work)

    @property
    def ready(self) -> bool:
        """The child is up (spawned, its database opened)."""
        started = self._started
        return self._pool is not None and started is not None and started.done()

    async def run(self, task: Task[Done]) -> Done:
        """``task(database)``, in the child (with its own connection) or, when not
        ``enabled``, in a worker thread here. ``task`` commits what it writes itself."""
        if not self.enabled:
            return await in_thread(partial(task, self.db))
        return await self._in_child(task)

    async def _in_child(self, task: Task[Done]) -> Done:
        if self._closed:
            raise DatabaseUnavailableError("the write process is stopping")
        pool = self._pool or self._start()
        try:
            with self._turns:
                return await asyncio.get_running_loop().run_in_executor(pool, _in_child, task)
        except BrokenProcessPool:
            # The child died (killed, out of memory): whether it committed, the changelog
            # tells; the next heavy write gets a new child.
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise DatabaseUnavailableError("the write process ended") from None

    def start_soon(self) -> None:
        """Spawn the child now, without waiting for it, so that a write expected soon does not
        wait for its start."""
        if self.enabled and not self._closed and self._pool is None:
            self._start()

    def _start(self) -> ProcessPoolExecutor:
        url = self.db.url.render_as_string(hide_password=False)
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=core_turns.child_initializer,
            initargs=(
                self._turns.enabled,
                f"{__name__}:_start_child",
                url,
                self._timeout_s,
                self._cpus,
            ),
        )
        self._started = self._pool.submit(_nothing)
        self._take_turns_until(self._started)
        return self._pool

    def _take_turns_until(self, started: Future[None]) -> None:
        """The loop takes turns with the child while it starts (its imports take a second)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not started from a loop (tools): nothing to share
        self._turns.begin()

        def started_up(_: Future[None]) -> None:  # in the pool's thread
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._turns.end)

        started.add_done_callback(started_up)

    async def close(self) -> None:
        """Stop the child, after the unit of work it is in; later units of work are refused."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            shutdown: Any = pool.shutdown
            await in_thread(shutdown)
