"""Every statement on ``index_snapshot``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from app.models import IndexSnapshot


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
    # The values as parameters, not in the statement: the engine caches a compiled statement
    # with the statement it compiled, and a value inside would keep its hundreds of MB alive.
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
