"""How handlers reach the database: every write goes through :func:`write`, every read of the
store through :func:`read`, each one unit of work in a worker thread (never on the event loop).

A write is a unit of work (a service call) run in a worker thread, committed by
``Database.writing()`` (services never commit), then absorbed into this process's replica before
the handler answers, so the next request here already sees it (read-your-writes), and stamped
with the revision it leaves behind (``X-Withheld-Revision``: pass it as ``min_revision`` to any
other replica).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from anyio import to_thread
from fastapi import Response
from sqlalchemy.orm import Session

from app.domain import WriteResult
from app.runtime import Runtime

REVISION_HEADER = "X-Withheld-Revision"


class Committed(Protocol):
    """What a service's write returns: at least what it changed and the revision after it."""

    @property
    def result(self) -> WriteResult: ...


Outcome = TypeVar("Outcome", bound=Committed)
Found = TypeVar("Found")


async def read(
    runtime: Runtime, work: Callable[[Session], Found], *, snapshot: bool = False
) -> Found:
    """Run ``work`` in a read-only transaction (rolled back at the end); ``snapshot``: every
    statement sees one consistent state (see ``Database.reading``)."""

    def unit_of_work() -> Found:
        with runtime.db.reading(snapshot=snapshot) as session:
            return work(session)

    return await to_thread.run_sync(unit_of_work)


async def write(
    runtime: Runtime, work: Callable[[Session], Outcome], response: Response
) -> Outcome:
    """Run ``work`` in one committed transaction, apply it here, stamp ``response``.

    An exception inside ``work`` rolls everything back and propagates (the error handlers
    shape it): a write is all or nothing.
    """

    def unit_of_work() -> Outcome:
        with runtime.db.writing() as session:
            return work(session)

    outcome = await to_thread.run_sync(unit_of_work)
    await runtime.follower.absorb(outcome.result)
    response.headers[REVISION_HEADER] = str(outcome.result.revision)
    return outcome
