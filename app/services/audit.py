"""Reading the audit log (``services.withholdings`` and ``services.orders`` write it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import AuditAction
from app.models import AuditEntry
from app.repositories import audit


@dataclass(frozen=True, slots=True)
class AuditListing:
    entries: list[AuditEntry]
    next_cursor: int | None


def list_entries(
    session: Session,
    *,
    account: int | None,
    actor: str | None,
    action: AuditAction | None,
    since: datetime | None,
    until: datetime | None,
    cursor: int,
    limit: int,
    post: int | None = None,
    hashtag: str | None = None,
) -> AuditListing:
    """One page of entries in the order they were written; ``next_cursor`` None on the last."""
    found = audit.list_page(
        session,
        account=account,
        post=post,
        hashtag=hashtag,
        actor=actor,
        action=action.value if action is not None else None,
        since=since,
        until=until,
        after_id=cursor,
        limit=limit + 1,
    )
    page = found[:limit]
    return AuditListing(entries=page, next_cursor=page[-1].id if len(found) > limit else None)
