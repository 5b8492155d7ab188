"""Keeps this process's replica in step with the database.

Three loops per process:
- *follow*: every ``poll_interval_s`` (and at once when woken) read the changelog after the
  replica's revision and apply it. Because writers take turns on the changelog head, revisions
  commit in order and ``revision > cursor`` never skips a late commit. This poll alone bounds the
  staleness; everything else only makes it shorter.
- *listen* (PostgreSQL): LISTEN on a dedicated connection; a NOTIFY wakes the follower. NOTIFYs
  sent while we were disconnected are lost, so every reconnect is followed by a catch-up.
- *expire*: lifts rules and hashtag restrictions whose ``expires_at`` has passed (recorded in
  the changelog like any lift). The lifting is a heavy write (100k rules may be due at one
  instant), so it runs where bulks do (``app/write_process.py``) and this process follows it.
  Every process runs it; the changelog head lock makes the processes take turns, and the second
  finds nothing left to do.
A process too far behind (or starting) loads its state afresh (``cold_start``) instead of
replaying the changelog from zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain import Change, WriteResult
from app.memory import release_free_memory
from app.process import in_thread
from app.replication import snapshot_store
from app.replication.cold_start import RELOAD_AFTER, load_state
from app.replication.indexes import Indexes
from app.replication.quick_reads import QuickReads
from app.replication.replica import Replica
from app.repositories import changelog, hashtags, snapshots, withholdings
from app.services import hashtags as hashtag_service
from app.services import withholdings as withholding_service
from app.write_process import DatabaseUnavailableError, WriteProcess

log = logging.getLogger("withheld.sync")

FETCH_LIMIT = 10_000
# Changes applied between two hand-backs of the heap's free pages (``_release_after_churn``).
RELEASE_EVERY_CHANGES = 50_000
# Rules (and hashtag restrictions) lifted by one expiry transaction.
EXPIRE_BATCH = 5_000
# The write process is started this long before the next expiry is due.
WARM_AHEAD_S = 30.0
MAX_BACKOFF_S = 1.0
FIRST_SNAPSHOT_CHECK_S = 1.0
DB_ERRORS = (SQLAlchemyError, psycopg.Error, OSError, DatabaseUnavailableError)


@dataclass(frozen=True)
class Expired:
    result: WriteResult  # without its changes when the write process lifted them
    lifted: int


def expire_due(session: Session, *, now: datetime) -> Expired:
    """A unit of work: lift up to a batch of the rules and restrictions due at ``now``."""
    rules = withholding_service.expire_due(session, now=now, limit=EXPIRE_BATCH)
    restrictions = hashtag_service.expire_due(session, now=now, limit=EXPIRE_BATCH)
    changes = rules.changes + restrictions.changes
    return Expired(WriteResult(changes, restrictions.revision), lifted=len(changes))


def _load_lean(db: Database) -> tuple[Indexes, int]:
    """The start state, with the load's temporaries handed back to the OS."""
    state = load_state(db)
    release_free_memory()
    return state


class ChangelogFollower:
    def __init__(
        self,
        db: Database,
        replica: Replica,
        settings: Settings,
        *,
        writer: WriteProcess | None = None,
        on_db_error: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self._on_db_error = on_db_error
        self.replica = replica
        self.settings = settings
        # Where expiry lifts rules; without one, in a worker thread of this process.
        self._writer = writer or WriteProcess(db, enabled=False, timeout_s=settings.db_timeout_s)
        self._wake = asyncio.Event()
        self._catch_up_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.listener_connected = False
        # Polls that find nothing new ask on the event loop (SQLite), not in a worker thread.
        self._quick = QuickReads(db)
        self._released_at = 0  # the revision at which free heap pages were last released

    # -- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        indexes, revision = await in_thread(partial(_load_lean, self.db))
        self.replica.load(indexes, revision)
        self.replica.mark_db_ok()
        self._released_at = revision

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._follow_loop(), name="withheld-follow"))
        self._tasks.append(asyncio.create_task(self._expire_loop(), name="withheld-expire"))
        self._tasks.append(asyncio.create_task(self._snapshot_loop(), name="withheld-snapshot"))
        if not self.db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen_loop(), name="withheld-listen"))

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loops cooperatively: each finishes the database call it is in (a task
        cancelled while a worker thread holds a connection would leave that connection to
        a pool about to be disposed), then returns. The LISTEN loop, which only awaits its
        own async connection, is cancelled."""
        self._stopping.set()
        self._wake.set()
        for task in self._tasks:
            if task.get_name() == "withheld-listen":
                task.cancel()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in late:
                log.warning("%s did not stop within %.0f s; cancelling", task.get_name(), timeout_s)
                task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("%s ended with an error", task.get_name())
        self._tasks.clear()
        self._quick.close()

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False once the follower is stopping."""
        if self._stopping.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return not self._stopping.is_set()

    def wake(self) -> None:
        self._wake.set()

    # -- catching up -------------------------------------------------------------------------

    async def catch_up(self) -> None:
        """Apply everything committed so far; raises on database errors."""
        async with self._catch_up_lock:
            known_head = self._quick.head()
            if known_head is not None and known_head <= self.replica.revision:
                self.replica.mark_db_ok()  # what nearly every poll learns, cheaply
                self.replica.head_seen = max(self.replica.head_seen, known_head)
                return
            while True:
                after = self.replica.revision
                head, changes = await in_thread(partial(self._fetch, after))
                self.replica.mark_db_ok()
                self.replica.head_seen = max(self.replica.head_seen, head)
                if head - after > RELOAD_AFTER:
                    log.info("%d revisions behind: reloading the rules", head - after)
                    await self.load()
                    continue
                if changes:
                    await self.replica.apply_in_slices(changes)
                if len(changes) < FETCH_LIMIT or self.replica.revision >= head:
                    return
                if self._stopping.is_set():
                    return

    def _fetch(self, after: int) -> tuple[int, list[Change]]:
        with self.db.reading() as session:
            head = changelog.read_head(session)
            if head <= after or head - after > RELOAD_AFTER:
                return head, []
            return head, changelog.list_after(session, after, limit=FETCH_LIMIT)

    async def absorb(self, result: WriteResult) -> None:
        """After a write committed by this process: make the next request see it.

        Applies the write's own changes when they follow on directly; otherwise (another process
        wrote in between) catches up from the changelog, waiting at most the configured bound.
        """
        if result.changes:
            # Under the catch-up lock: the follower, seeing the head move, would otherwise read
            # the same changes back from the database while these are applied.
            async with self._catch_up_lock:
                applied = await self.replica.apply_in_slices(result.changes)
            if applied:
                return
        if self.replica.revision >= result.revision:
            return
        self.wake()
        await self.replica.wait_for(result.revision, self.settings.min_revision_wait_s)

    async def follow_to(self, result: WriteResult) -> None:
        """After a write committed elsewhere for this process (its changes not at hand): catch
        up until the replica reflects it, however many changes that is; raises on database
        errors. With the changes at hand, :meth:`absorb` applies them instead."""
        if result.changes:
            await self.absorb(result)
            return
        while self.replica.revision < result.revision:
            await self.catch_up()

    async def ensure_revision(self, revision: int) -> bool:
        """Read-your-writes: wait (bounded) until the replica reflects ``revision``."""
        if self.replica.revision >= revision:
            return True
        self.wake()
        return await self.replica.wait_for(revision, self.settings.min_revision_wait_s)

    # -- loops -------------------------------------------------------------------------------

    async def _follow_loop(self) -> None:
        interval = self.settings.poll_interval_s
        while not self._stopping.is_set():
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await self.catch_up()
            except DB_ERRORS as error:
                self._report_failure("changelog poll", error)
                interval = min(interval * 2, MAX_BACKOFF_S)
            except Exception:
                # A bug must not stop this process from following the truth: say so, go on.
                log.exception("changelog poll failed unexpectedly; retrying")
                interval = MAX_BACKOFF_S
            else:
                interval = self.settings.poll_interval_s
                await self._release_after_churn()

    async def _release_after_churn(self) -> None:
        """Hand the heap's free pages back to the OS once ``RELEASE_EVERY_CHANGES`` more
        changes have been applied: what reading and applying them allocated is freed by then,
        but the C library keeps the pages (much of it in worker threads' arenas), and a
        replica that only follows would hold them for good."""
        if self.replica.revision - self._released_at >= RELEASE_EVERY_CHANGES:
            self._released_at = self.replica.revision
            await in_thread(release_free_memory)

    async def _expire_loop(self) -> None:
        while await self._pause(self.settings.expiry_interval_s):
            # A backlog (100k rules due at one instant) is lifted batch after batch, not one
            # batch per interval: each rule must be lifted within 2 s of its expiry.
            while not self._stopping.is_set():
                now = datetime.now(UTC)
                soon = now + timedelta(seconds=WARM_AHEAD_S)
                try:
                    if not self._quick.expiry_may_be_due(soon):
                        break
                    next_expiry = await in_thread(self._next_expiry)
                    if next_expiry is None or next_expiry > soon:
                        break
                    if next_expiry > now:
                        # Spawning the write process takes about a second: not then.
                        self._writer.start_soon()
                        break
                    expired = await self._writer.commit_soonest(partial(expire_due, now=now))
                except DB_ERRORS as error:
                    self._report_failure("expiry", error)
                    break
                except Exception:
                    log.exception("expiry failed unexpectedly; retrying")
                    break
                if not expired.lifted:
                    break
                log.info("expired %d rule(s)", expired.lifted)
                if expired.result.changes:
                    await self.absorb(expired.result)
                else:
                    # Lifted by the write process: the follow loop reads the lifts back in
                    # slices while the next batch is lifted; nobody waits on this process.
                    self.wake()
                if expired.lifted < EXPIRE_BATCH:
                    break

    def _next_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of an active rule or hashtag restriction."""
        with self.db.reading() as session:
            due = (withholdings.next_expiry(session), hashtags.next_expiry(session))
        return min((expiry for expiry in due if expiry is not None), default=None)

    async def _snapshot_loop(self) -> None:
        # The first check comes soon after start (once readiness probes have had their answer:
        # the bytes are taken on the event loop): a process that just read every rule (no
        # snapshot yet, or one far behind) stores its index then, so the next start is fast.
        if not await self._pause(min(FIRST_SNAPSHOT_CHECK_S, self.settings.snapshot_check_s)):
            return
        while True:
            try:
                await self.snapshot_if_due()
            except DB_ERRORS as error:
                self._report_failure("snapshot", error)
            except Exception:
                log.exception("snapshot failed unexpectedly; retrying later")
            if not await self._pause(self.settings.snapshot_check_s):
                return

    async def snapshot_if_due(self) -> bool:
        """Store this process's index when the newest snapshot is far enough behind.

        The state is copied on the event loop, so it is exactly the state at ``revision``;
        encoding the copies happens in a thread (encoding 10M pairs on the loop held every
        lookup up for over 100 ms), storing them in the write process when they are large
        (``snapshot_store``). Several processes may race: one wins, the
        others' insert is a no-op or a conflict we ignore.
        """
        latest = await in_thread(self._latest_snapshot_revision)
        revision = self.replica.revision
        if revision - (latest or 0) < self.settings.snapshot_every_changes:
            return False
        encode = self.replica.indexes.snapshot_later()
        pairs = self.replica.indexes.pairs()
        data = await in_thread(encode)
        del encode  # its copies

        size = len(data)
        saved = await snapshot_store.save(
            self._writer, data, revision=revision, pairs=pairs, now=datetime.now(UTC)
        )
        del data  # hundreds of MB at 10M pairs: give them back
        await in_thread(release_free_memory)
        if saved:
            log.info(
                "stored index snapshot at revision %d (%d pairs, %d bytes)",
                revision,
                pairs,
                size,
            )
        return saved

    def _latest_snapshot_revision(self) -> int | None:
        with self.db.reading() as session:
            return snapshots.latest_revision(session)

    async def _listen_loop(self) -> None:
        conninfo = self.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo,
                    autocommit=True,
                    connect_timeout=max(1, round(self.settings.db_timeout_s)),
                    application_name="withheld-listener",
                ) as conn:
                    await conn.execute(f"LISTEN {changelog.NOTIFY_CHANNEL}")
                    self.listener_connected = True
                    backoff = 0.1
                    self.wake()  # anything sent while we were away was lost: catch up
                    async for _ in conn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as error:
                if self.listener_connected:
                    log.warning(
                        "LISTEN connection lost (%s); polling meanwhile", type(error).__name__
                    )
            except Exception:
                log.exception("LISTEN loop failed unexpectedly; reconnecting")
            self.listener_connected = False
            if not await self._pause(backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF_S * 5)

    def _report_failure(self, what: str, error: BaseException) -> None:
        if self._on_db_error is not None:
            self._on_db_error(what)
        was_available = self.replica.db_available
        self.replica.mark_db_failed(error)
        if was_available:
            log.warning(
                "database unavailable during %s: %s; answering from memory",
                what,
                self.replica.last_error,
            )

    def seconds_since_db_contact(self) -> float:
        return time.monotonic() - self.replica.last_db_contact
