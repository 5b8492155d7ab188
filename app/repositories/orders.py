"""Every statement on ``legal_order`` and ``decision``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.models import Decision, LegalOrder

_CHUNK = 5000


def insert_order(session: Session, values: dict[str, Any]) -> LegalOrder:
    order = LegalOrder(**values)
    session.add(order)
    session.flush()
    return order


def get_by_id(session: Session, order_id: int) -> LegalOrder | None:
    return session.get(LegalOrder, order_id)


def get_many(session: Session, order_ids: Iterable[int]) -> dict[int, LegalOrder]:
    ids = sorted(set(order_ids))
    found: dict[int, LegalOrder] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = select(LegalOrder).where(LegalOrder.id.in_(ids[start : start + _CHUNK]))
        for order in session.execute(stmt).scalars():
            found[order.id] = order
    return found


def list_page(
    session: Session,
    *,
    country: str | None,
    authority: str | None,
    since: datetime | None,
    until: datetime | None,
    include_sealed: bool,
    after_id: int,
    limit: int,
) -> list[LegalOrder]:
    """Orders matching the filters with ``id > after_id``, in id (= recording) order."""
    stmt = select(LegalOrder).where(LegalOrder.id > after_id)
    if country is not None:
        stmt = stmt.where(LegalOrder.country == country)
    if authority is not None:
        stmt = stmt.where(LegalOrder.authority == authority)
    if since is not None:
        stmt = stmt.where(LegalOrder.received_at >= since)
    if until is not None:
        stmt = stmt.where(LegalOrder.received_at < until)
    if not include_sealed:
        stmt = stmt.where(LegalOrder.sealed.is_(False))
    stmt = stmt.order_by(LegalOrder.id).limit(limit)
    return list(session.execute(stmt).scalars())


def insert_decisions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Decision), list(rows))
