"""Every statement on ``audit_entry``: inserts and reads only — the log is append-only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import AuditRecord
from app.models import AuditEntry

_COLUMNS = "at, actor, action, account_id, country, order_id, justification"


def append(session: Session, records: Sequence[AuditRecord]) -> None:
    """Write ``records`` in the caller's transaction, through the driver: ``COPY`` on
    PostgreSQL, one ``executemany`` on SQLite. A 100,000-item bulk write makes 100,000 entries;
    this takes ~0.7 s for them where an ORM insert took 2-3 s."""
    if not records:
        return
    session.flush()  # rows the entries refer to (orders) must be written first
    connection = session.connection()
    dialect = connection.dialect
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY audit_entry ({_COLUMNS}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(_row(record, lambda at: at))
        else:
            to_db: Callable[[Any], Any] = AuditEntry.__table__.c.at.type.bind_processor(
                dialect
            ) or (lambda at: at)
            stored: dict[datetime, Any] = {}

            def instant(at: datetime) -> Any:
                if at not in stored:
                    stored[at] = to_db(at)
                return stored[at]

            cursor.executemany(
                f"INSERT INTO audit_entry ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 (constant)
                [_row(record, instant) for record in records],
            )
    finally:
        cursor.close()


def _row(record: AuditRecord, instant: Callable[[datetime], Any]) -> tuple[Any, ...]:
    return (
        instant(record.at),
        record.actor,
        record.action.value,
        record.account,
        record.country,
        record.order_id,
        record.justification,
    )


def list_page(
    session: Session,
    *,
    account: int | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int,
    limit: int,
) -> list[AuditEntry]:
    """Entries matching every given filter with ``id > after_id``, in id (= write) order."""
    stmt = select(AuditEntry).where(AuditEntry.id > after_id)
    if account is not None:
        stmt = stmt.where(AuditEntry.account_id == account)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    stmt = stmt.order_by(AuditEntry.id).limit(limit)
    return list(session.execute(stmt).scalars())
