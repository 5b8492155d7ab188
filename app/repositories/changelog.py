"""Every statement on ``changelog`` and ``changelog_head``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.domain import Change, ChangeOp, LogEntry
from app.models import ChangelogEntry, ChangelogHead
from app.repositories._bulk import insert_rows

NOTIFY_CHANNEL = "withheld_changelog"
_OPS = {op.value: op for op in ChangeOp}
_COLUMNS = (
    "revision",
    "op",
    "account_id",
    "country",
    "at",
    "rule_id",
    "post_id",
    "hashtag",
    "restriction_id",
)


def lock_head(session: Session) -> int:
    """Lock the head row for the rest of the transaction and return the last revision.

    Every write transaction calls this first. The row lock (PostgreSQL) or the write lock that
    ``BEGIN IMMEDIATE`` already holds (SQLite) makes writers take turns, so revisions are handed
    out in commit order.
    """
    stmt = select(ChangelogHead.revision).where(ChangelogHead.id == 1).with_for_update()
    return session.execute(stmt).scalar_one()


HEAD_SQL = "SELECT revision FROM changelog_head WHERE id = 1"
"""``read_head`` in plain SQL, for a raw connection (``replication.quick_reads``); tested equal."""


def read_head(session: Session) -> int:
    return session.execute(select(ChangelogHead.revision).where(ChangelogHead.id == 1)).scalar_one()


def append(
    session: Session,
    *,
    head: int,
    entries: Sequence[LogEntry],
) -> list[Change]:
    """Append ``entries`` after ``head`` (locked by the caller), numbered in order."""
    if not entries:
        return []
    rows = [
        (
            head + offset,
            e.op.value,
            e.account,
            e.country,
            e.at,
            e.rule_id,
            e.post,
            e.hashtag,
            e.restriction_id,
        )
        for offset, e in enumerate(entries, start=1)
    ]
    insert_rows(session, ChangelogEntry.__table__, _COLUMNS, rows)
    advance_head(session, head + len(rows))
    return [
        Change(
            revision=head + offset,
            op=e.op,
            account=e.account,
            country=e.country,
            post=e.post,
            hashtag=e.hashtag,
        )
        for offset, e in enumerate(entries, start=1)
    ]


def advance_head(session: Session, new_head: int) -> None:
    """Move the head (locked by the caller) past entries the transaction appended."""
    session.execute(update(ChangelogHead).where(ChangelogHead.id == 1).values(revision=new_head))
    if session.get_bind().dialect.name == "postgresql":
        # Delivered only if the transaction commits; listeners treat it as a hint to poll.
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": str(new_head)},
        )


# In plain SQL for the driver's own cursor: a follower reads 100,000 of these at a time in a
# worker thread that holds the GIL meanwhile, and SQLAlchemy's row objects cost more than the
# rows (``docs/performance.md``). ``{mark}`` is the driver's parameter marker.
_LIST_AFTER_SQL = (
    "SELECT revision, op, account_id, country, post_id, hashtag FROM changelog "
    "WHERE revision > {mark} ORDER BY revision LIMIT {mark}"
)
_LIST_AFTER = {
    "sqlite": _LIST_AFTER_SQL.format(mark="?"),
    "postgresql": _LIST_AFTER_SQL.format(mark="%s"),
}


def list_after(session: Session, revision: int, *, limit: int) -> list[Change]:
    """Committed changes after ``revision``, in revision order."""
    connection = session.connection()
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_LIST_AFTER[connection.dialect.name], (revision, limit))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    ops = _OPS
    return [
        Change(rev, ops[op], account, country, post, hashtag)
        for rev, op, account, country, post, hashtag in rows
    ]


def list_feed(session: Session, after: int, *, limit: int) -> list[ChangelogEntry]:
    """Committed changelog rows after ``after``, in revision order, with their instants.

    Writers take turns on the head and number revisions in commit order, so what a reader sees
    is always a gap-free prefix: a later page can never reveal a revision below its cursor.
    """
    stmt = (
        select(ChangelogEntry)
        .where(ChangelogEntry.revision > after)
        .order_by(ChangelogEntry.revision)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())
