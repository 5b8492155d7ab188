"""Storing an index snapshot without holding up this process's lookups.

Bound as one value, a snapshot is copied by the driver in one call that holds the GIL, a pause
every lookup of the process waits out: tens of milliseconds for the 73 MB of 10M pairs
(``docs/performance.md``), stored after every ``snapshot_every_changes``.

- SQLite: the repository writes the bytes through the blob API a megabyte at a time, from a
  worker thread here.
- PostgreSQL: psycopg has no such API for a bytea value, so with a write process this process
  writes the bytes to a temporary file (a ``write(2)`` that releases the GIL) and the child
  reads them back and inserts them, holding only its own GIL. That helps where the child has a
  core of its own; on the same core the two processes share it.

A smaller snapshot, or any without a write process, is inserted from a worker thread here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from app.db import Database
from app.process import in_thread
from app.repositories import snapshots
from app.write_process import WriteProcess

KEEP = 2  # snapshots kept: the newest, and the one before in case it is being read
# Bytes from which a PostgreSQL snapshot is stored by the write process (about 2M pairs).
THROUGH_WRITER_FROM = 16 * 2**20


async def save(
    writer: WriteProcess, data: memoryview, *, revision: int, pairs: int, now: datetime
) -> bool:
    """Store ``data`` as the snapshot at ``revision`` unless one is there (another process
    won the race); True if this call stored it."""
    if writer.db.is_sqlite or not writer.enabled or len(data) < THROUGH_WRITER_FROM:
        here = partial(_insert, writer.db, data=data, revision=revision, pairs=pairs, now=now)
        return await in_thread(here)
    path = await in_thread(partial(_spill, data))
    try:
        return await writer.run(
            partial(_insert_from, path=path, revision=revision, pairs=pairs, now=now)
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _spill(data: memoryview) -> str:
    descriptor, path = tempfile.mkstemp(prefix="withheld-snapshot-", suffix=".bin")
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return path


def _insert_from(db: Database, *, path: str, revision: int, pairs: int, now: datetime) -> bool:
    data = Path(path).read_bytes()
    return _insert(db, data=memoryview(data), revision=revision, pairs=pairs, now=now)


def _insert(db: Database, *, data: memoryview, revision: int, pairs: int, now: datetime) -> bool:
    try:
        with db.writing_once() as session:
            return snapshots.save(
                session, revision=revision, pairs=pairs, data=data, now=now, keep=KEEP
            )
    except IntegrityError:
        return False
