"""Every statement on ``audit_entry``: inserts and reads only — the log is append-only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import AuditRecord
from app.models import AuditEntry
from app.repositories._bulk import insert_rows

_COLUMNS = (
    "at",
    "actor",
    "action",
    "account_id",
    "country",
    "order_id",
    "justification",
    "post_id",
    "hashtag",
)


def append(session: Session, records: Sequence[AuditRecord]) -> None:
    """Write ``records`` in the caller's transaction, through the driver (see ``_bulk``): a
    100,000-item bulk write makes 100,000 entries in well under a second."""
    insert_rows(session, AuditEntry.__table__, _COLUMNS, [_row(record) for record in records])


def _row(record: AuditRecord) -> tuple[Any, ...]:
    return (
        record.at,
        record.actor,
        record.action.value,
        record.account,
        record.country,
        record.order_id,
        record.justification,
        record.post,
        record.hashtag,
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
    post: int | None = None,
    hashtag: str | None = None,
) -> list[AuditEntry]:
    """Entries matching every given filter with ``id > after_id``, in id (= write) order."""
    stmt = select(AuditEntry).where(AuditEntry.id > after_id)
    if account is not None:
        stmt = stmt.where(AuditEntry.account_id == account)
    if post is not None:
        stmt = stmt.where(AuditEntry.post_id == post)
    if hashtag is not None:
        stmt = stmt.where(AuditEntry.hashtag == hashtag)
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
