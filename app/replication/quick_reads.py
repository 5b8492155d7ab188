"""Two reads the background loops make many times a second, cheap enough for the event loop.

Many times a second the follower asks "has the changelog head moved?" and the expiry loop asks
"is any rule due to expire?". Through a SQLAlchemy session in a worker thread each question
costs ORM work and a thread hand-off, a visible share of a core idle and under load, almost
always to learn "no". On SQLite the same questions on a raw connection cost a small fraction of
that, so they run on the loop, and the worker thread is only used when the answer is "yes" (or
unknown). The figures: ``docs/performance.md``.

The connection never waits: ``busy_timeout`` is 0, so a locked database (a rare WAL recovery or
checkpoint) raises at once, and the answer is "unknown": the caller does the full read in a
thread, as before. PostgreSQL has no such reader (a round trip is not free; LISTEN/NOTIFY already
wakes the follower), so there every answer is "unknown".
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime

from app.db import Database
from app.repositories import hashtags, withholdings
from app.repositories.changelog import HEAD_SQL

log = logging.getLogger("withheld.sync")


class QuickReads:
    """Raw SQLite reads of the changelog head and the next expiry; None means "unknown"."""

    def __init__(self, db: Database) -> None:
        database = db.url.database if db.is_sqlite else None
        # An in-memory database is private to its connection: nothing to share with.
        self._path = database if database and database != ":memory:" else None
        self._connection: sqlite3.Connection | None = None

    def _read(self, sql: str) -> list[tuple[object, ...]] | None:
        """The rows, or None when the database could not be read at once."""
        if self._path is None:
            return None
        try:
            if self._connection is None:
                # Autocommit: each read is its own snapshot, and nothing is left open.
                connection = sqlite3.connect(self._path, timeout=0, isolation_level=None)
                connection.execute("PRAGMA query_only = 1")
                self._connection = connection
            rows: list[tuple[object, ...]] = self._connection.execute(sql).fetchall()
        except sqlite3.Error as error:
            # Busy, or a schema not there yet: the caller reads the slow way, which reports.
            log.debug("quick read failed (%s): reading in a worker thread", error)
            self.close()
            return None
        return rows

    def head(self) -> int | None:
        """The changelog head revision, or None if unknown."""
        rows = self._read(HEAD_SQL)
        return rows[0][0] if rows and isinstance(rows[0][0], int) else None

    def expiry_may_be_due(self, now: datetime) -> bool:
        """False only when no active rule nor hashtag restriction expires at or before ``now``."""
        return any(
            self._may_be_due(sql, now)
            for sql in (withholdings.NEXT_EXPIRY_SQL, hashtags.NEXT_EXPIRY_SQL)
        )

    def _may_be_due(self, sql: str, now: datetime) -> bool:
        rows = self._read(sql)
        if rows is None:
            return True
        if not rows:
            return False
        value = rows[0][0]
        try:  # SQLite stores UTC datetimes naive, as text (app.db.UTCDateTime)
            next_expiry = datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
        except ValueError:
            return True
        return next_expiry <= now

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
