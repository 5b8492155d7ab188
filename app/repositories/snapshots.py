"""Every statement on ``index_snapshot``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from app.models import IndexSnapshot

# Bytes of a snapshot written to SQLite in one call (each copies its piece holding the GIL).
PIECE = 1 << 18


def latest_revision(session: Session) -> int | None:
    return session.execute(select(func.max(IndexSnapshot.revision))).scalar_one_or_none()


def latest(session: Session) -> tuple[int, bytes] | None:
    stmt = (
        select(IndexSnapshot.revision, IndexSnapshot.data)
        .order_by(IndexSnapshot.revision.desc())
        .limit(1)
    )
    row = session.execute(stmt).one_or_none()
    return (row[0], row[1]) if row is not None else None


def save(
    session: Session,
    *,
    revision: int,
    pairs: int,
    data: bytes | memoryview,
    now: datetime,
    keep: int,
) -> bool:
    """Store a snapshot unless one at that revision exists; keep only the newest ``keep``."""
    exists = session.execute(
        select(IndexSnapshot.revision).where(IndexSnapshot.revision == revision)
    ).first()
    if exists is not None:
        return False
    if session.get_bind().dialect.name == "sqlite":
        _insert_in_pieces(session, revision=revision, pairs=pairs, data=data, now=now)
    else:
        # The values as parameters, not in the statement: the engine caches a compiled
        # statement with the statement it compiled, and a value inside would keep its hundreds
        # of MB alive.
        session.execute(
            insert(IndexSnapshot),
            {"revision": revision, "pairs": pairs, "data": data, "created_at": now},
        )
    keep_from = session.execute(
        select(IndexSnapshot.revision)
        .order_by(IndexSnapshot.revision.desc())
        .offset(keep - 1)
        .limit(1)
    ).scalar_one_or_none()
    if keep_from is not None:
        session.execute(delete(IndexSnapshot).where(IndexSnapshot.revision < keep_from))
    return True


def _insert_in_pieces(
    session: Session, *, revision: int, pairs: int, data: bytes | memoryview, now: datetime
) -> None:
    """SQLite: a row with a zero-filled blob of the size, then the bytes a piece at a time
    through the driver's blob API. Bound as one value, the whole snapshot is copied in one
    call that holds the GIL, and every lookup of this process waits for it."""
    size = len(data)
    session.execute(
        insert(IndexSnapshot).values(
            revision=revision, pairs=pairs, data=func.zeroblob(size), created_at=now
        )
    )
    rowid: int = session.execute(
        text("SELECT rowid FROM index_snapshot WHERE revision = :revision"),
        {"revision": revision},
    ).scalar_one()
    driver = session.connection().connection.driver_connection
    view = memoryview(data).cast("B")
    with driver.blobopen("index_snapshot", "data", rowid) as blob:  # type: ignore[union-attr]
        for start in range(0, size, PIECE):
            blob.write(view[start : start + PIECE])
