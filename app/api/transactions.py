"""How handlers reach the database: every write goes through :func:`write` (or, when it is
heavy, :func:`write_heavy`), every read of the store through :func:`read`, each one unit of work
off the event loop.

A write is a unit of work (a service call) run in a worker thread, committed by
``Database.writing()`` (services never commit), then absorbed into this process's replica before
the handler answers, so the next request here already sees it (read-your-writes), and stamped
with the revision it leaves behind (``X-Withheld-Revision``: pass it as ``min_revision`` to any
other replica).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from fastapi import Response
from sqlalchemy.orm import Session

from app.process import in_thread
from app.runtime import Runtime
from app.write_process import Outcome, UnitOfWork, commit

REVISION_HEADER = "X-Withheld-Revision"


Found = TypeVar("Found")


async def read(
    runtime: Runtime, work: Callable[[Session], Found], *, snapshot: bool = False
) -> Found:
    """Run ``work`` in a read-only transaction (rolled back at the end); ``snapshot``: every
    statement sees one consistent state (see ``Database.reading``)."""

    def unit_of_work() -> Found:
        with runtime.db.reading(snapshot=snapshot) as session:
            return work(session)

    return await in_thread(unit_of_work)


async def write(runtime: Runtime, work: UnitOfWork[Outcome], response: Response) -> Outcome:
    """Run ``work`` in one committed transaction, apply it here, stamp ``response``.

    An exception inside ``work`` rolls everything back and propagates (the error handlers
    shape it): a write is all or nothing.
    """

    outcome = await in_thread(partial(commit, runtime.db, work))
    await runtime.follower.absorb(outcome.result)
    response.headers[REVISION_HEADER] = str(outcome.result.revision)
    return outcome


async def write_heavy(runtime: Runtime, work: UnitOfWork[Outcome], response: Response) -> Outcome:
    """``write`` for a unit of work of up to 100,000 items: it runs in the write process
    (``app/write_process.py``), and this replica then follows the changelog to its revision, so
    the answer still reads its own write. ``work`` must pickle (a module-level function, or a
    ``partial`` of one, with plain arguments); a large list of items goes as
    ``write_process.pickled`` slices, made in a worker thread (one pickle call over 100k items
    holds the GIL for tens of milliseconds)."""
    outcome = await runtime.writer.commit(work)
    await runtime.follower.follow_to(outcome.result)
    response.headers[REVISION_HEADER] = str(outcome.result.revision)
    return outcome
