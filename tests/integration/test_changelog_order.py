"""Revisions commit in order, so a follower reading ``revision > cursor`` never skips one.

Reproduces the trap measured on PostgreSQL 15: with sequence-assigned positions, a transaction that
starts first but commits last is skipped for good by a poller that already moved past the later
one. Here the second writer must wait for the first (the changelog head lock); remove that lock
and ``test_an_overlapping_writer_waits_for_the_first_to_commit`` fails.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from app.db import Database
from app.repositories import changelog
from app.services import withholdings as service
from app.services.withholdings import RuleTerms

TERMS = RuleTerms(reason="order", order_ref=None, expires_at=None)


def _committed(db: Database) -> list[tuple[int, int | None]]:
    with db.reading() as session:
        return [(c.revision, c.account) for c in changelog.list_after(session, 0, limit=100)]


def test_an_overlapping_writer_waits_for_the_first_to_commit(db: Database) -> None:
    first_wrote = threading.Event()
    release_first = threading.Event()
    second_done = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.writing() as session:
                service.withhold(
                    session, account=1, country="IN", terms=TERMS, actor="t", now=datetime.now(UTC)
                )
                first_wrote.set()
                release_first.wait(10)
        except BaseException as error:  # surfaced below
            errors.append(error)

    def second() -> None:
        try:
            first_wrote.wait(10)
            with db.writing() as session:
                service.withhold(
                    session, account=2, country="IN", terms=TERMS, actor="t", now=datetime.now(UTC)
                )
            second_done.set()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_wrote.wait(10)
    # Time for the second writer to commit, were it not made to wait: what is checked is that
    # something does not happen, so there is no event to wait for instead.
    time.sleep(0.5)
    # The follower's view while the first transaction is still open: nothing, not revision 2.
    seen_while_open = _committed(db)
    second_finished_early = second_done.is_set()
    release_first.set()
    for thread in threads:
        thread.join(15)
    assert errors == []
    assert not second_finished_early, "the second writer committed before the first"
    assert seen_while_open == []
    assert _committed(db) == [(1, 1), (2, 2)]


def test_a_poller_sees_every_revision_exactly_once_under_concurrent_writers(db: Database) -> None:
    stop = threading.Event()
    applied: list[int] = []

    def poll() -> None:
        cursor = 0
        while not stop.is_set() or cursor < 80:
            with db.reading() as session:
                for change in changelog.list_after(session, cursor, limit=1000):
                    applied.append(change.revision)
                    cursor = change.revision
            time.sleep(0.001)

    def write(worker: int) -> None:
        for n in range(10):
            with db.writing() as session:
                service.withhold(
                    session,
                    account=1000 * worker + n + 1,
                    country="DE",
                    terms=TERMS,
                    actor="t",
                    now=datetime.now(UTC),
                )

    poller = threading.Thread(target=poll)
    poller.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    poller.join(30)
    assert applied == list(range(1, 81))
