"""Statements for exporting rules (streamed: an export may hold millions of rows)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Withholding


def stream_active(session: Session, *, batch: int = 10_000) -> Iterator[Withholding]:
    stmt = (
        select(Withholding)
        .where(Withholding.lifted_at.is_(None))
        .order_by(Withholding.account_id, Withholding.country)
        .execution_options(yield_per=batch)
    )
    yield from session.scalars(stmt)
