"""This process's copy of the truth: the visibility index and the changelog revision it reflects.

All mutation happens on the event loop thread, in synchronous stretches (``apply`` never awaits),
so a request handler running on the same loop sees the index exactly as the changelog up to
``revision`` leaves it, never a change half applied: no locks on the hot path. A long batch (a
large bulk) is applied in slices (``apply_in_slices``) with the loop free in between, so
lookups go on meanwhile; each slice moves ``revision`` on, as another replica following the
changelog page by page would. The one heavy update, compacting the index (long at 10M pairs:
``docs/performance.md``), runs in a worker thread on copies; its result is swapped in on the loop
(see ``VisibilityIndex``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence

from app.domain import Change
from app.index import Compacted, HashtagIndex, VisibilityIndex
from app.memory import release_free_memory
from app.process import in_thread
from app.replication.indexes import Indexes

log = logging.getLogger("withheld.replica")

# Changes applied in one synchronous stretch, short enough that no lookup notices the wait.
APPLY_SLICE = 500
# Entries of a compacted-away dict delta (no compiled DeltaMap) freed in one stretch (all at
# once: tens of ms at 10M pairs).
FORGET_SLICE = 4_096


class Replica:
    def __init__(self) -> None:
        self.indexes = Indexes()
        self.revision = 0
        self.head_seen = 0  # newest changelog revision the database has shown us
        self.loaded = False
        self.db_available = False
        self.last_db_contact = 0.0  # time.monotonic() of the last successful database round trip
        self.last_error: str | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._compaction: asyncio.Task[None] | None = None

    @property
    def index(self) -> VisibilityIndex:
        """The accounts' index (what the fast path reads)."""
        return self.indexes.accounts

    @property
    def posts(self) -> VisibilityIndex:
        return self.indexes.posts

    @property
    def hashtags(self) -> HashtagIndex:
        return self.indexes.hashtags

    def load(self, indexes: Indexes | VisibilityIndex, revision: int) -> None:
        """Adopt ``indexes`` (or an account index alone: no post rules) at ``revision``."""
        if isinstance(indexes, VisibilityIndex):
            indexes = Indexes(accounts=indexes)
        self.indexes = indexes
        self.revision = revision
        self.head_seen = max(self.head_seen, revision)
        self.loaded = True
        self._release_waiters()

    def apply(self, changes: Iterable[Change]) -> bool:
        """Apply changes in revision order, skipping any already applied.

        Returns False, applying nothing past it, at the first gap: the caller must fetch the missing
        revisions from the changelog first.
        """
        applied, complete = self.indexes.apply(changes, after=self.revision)
        self.head_seen = max(self.head_seen, applied)
        if applied != self.revision:
            self.revision = applied
            self._release_waiters()
        for index in self.indexes.all():
            if index.compaction_due():
                self._compact(index)
        return complete

    async def apply_in_slices(self, changes: Sequence[Change]) -> bool:
        """``apply``, ``APPLY_SLICE`` changes at a time, yielding to the loop between slices
        (no request waits longer than a slice)."""
        for start in range(0, len(changes), APPLY_SLICE):
            if start:
                await asyncio.sleep(0)
            if not self.apply(changes[start : start + APPLY_SLICE]):
                return False
        return True

    def _compact(self, index: VisibilityIndex) -> None:
        """Compact ``index`` in a worker thread; inline when no event loop runs (tools)."""
        if self._compaction is not None and not self._compaction.done():
            return  # one at a time; the other is still due when the next change lands
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            index.compact()
            return

        async def compact_aside(work: Callable[[], Compacted]) -> None:
            try:
                compacted = await in_thread(work)
            except Exception:
                index.abandon_compaction()
                log.exception("index compaction failed; the index stays as it was")
                return
            except BaseException:
                index.abandon_compaction()
                raise
            # Unless a reload replaced the index meanwhile.
            current = index in self.indexes.all()
            retired = index.finish_compaction(compacted) if current else None
            del compacted, work  # the build's temporaries and copies
            if retired is not None:
                for _ in range(0, len(retired.delta), FORGET_SLICE):
                    retired.forget_delta(FORGET_SLICE)
                    if not retired.delta:
                        break
                    await asyncio.sleep(0)
            del retired
            await in_thread(release_free_memory)

        self._compaction = loop.create_task(
            compact_aside(index.begin_compaction()), name="withheld-compact"
        )

    async def settle(self) -> None:
        """Wait for a background compaction to end (before shutting down)."""
        if self._compaction is not None:
            await asyncio.wait([self._compaction])
            self._compaction = None

    def gauges(self) -> dict[str, object]:
        """What the metrics endpoint reports about this process."""
        return {
            "revision": self.revision,
            "head": self.head_seen,
            "lag_revisions": max(0, self.head_seen - self.revision),
            "since_sync": time.monotonic() - self.last_db_contact if self.last_db_contact else -1,
            "db_up": 1 if self.db_available else 0,
            "pairs": self.index.country_sizes(),
            "index_bytes": self.index.memory_bytes(),
        }

    def mark_db_ok(self) -> None:
        self.db_available = True
        self.last_db_contact = time.monotonic()
        self.last_error = None

    def mark_db_failed(self, error: BaseException) -> None:
        self.db_available = False
        self.last_error = f"{type(error).__name__}: {error}".splitlines()[0][:300]

    async def wait_for(self, revision: int, timeout_s: float) -> bool:
        """Wait until this replica reflects ``revision``; False on timeout."""
        if self.revision >= revision:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (revision, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return self.revision >= revision
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
        return True

    def _release_waiters(self) -> None:
        if not self._waiters:
            return
        remaining = []
        for revision, future in self._waiters:
            if revision <= self.revision:
                if not future.done():
                    future.set_result(None)
            else:
                remaining.append((revision, future))
        self._waiters = remaining
