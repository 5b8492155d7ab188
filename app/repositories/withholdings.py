"""Every statement on ``withholding``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from app.models import Withholding

# Keeps IN (...) lists well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 5000


def get_active(session: Session, *, account: int, country: str) -> Withholding | None:
    stmt = select(Withholding).where(
        Withholding.account_id == account,
        Withholding.country == country,
        Withholding.lifted_at.is_(None),
    )
    return session.execute(stmt).scalar_one_or_none()


def list_for_account(session: Session, *, account: int, include_lifted: bool) -> list[Withholding]:
    stmt = select(Withholding).where(Withholding.account_id == account)
    if not include_lifted:
        stmt = stmt.where(Withholding.lifted_at.is_(None))
    stmt = stmt.order_by(Withholding.country, Withholding.created_at, Withholding.id)
    return list(session.execute(stmt).scalars())


def list_active_among(
    session: Session, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Withholding]:
    """The active rules among ``pairs``, keyed by (account, country)."""
    found: dict[tuple[int, str], Withholding] = {}
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        stmt = select(Withholding).where(
            Withholding.lifted_at.is_(None),
            tuple_(Withholding.account_id, Withholding.country).in_(chunk),
        )
        for rule in session.execute(stmt).scalars():
            found[(rule.account_id, rule.country)] = rule
    return found


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rules and return their ids in the order given."""
    if not rows:
        return []
    stmt = insert(Withholding).returning(Withholding.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, list(rows)))


def update_terms(session: Session, rule_ids: Iterable[int], *, values: dict[str, Any]) -> None:
    ids = list(rule_ids)
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(Withholding)
            .where(Withholding.id.in_(ids[start : start + _CHUNK]))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def list_due(session: Session, *, now: datetime, limit: int) -> list[Withholding]:
    stmt = (
        select(Withholding)
        .where(
            Withholding.lifted_at.is_(None),
            Withholding.expires_at.is_not(None),
            Withholding.expires_at <= now,
        )
        .order_by(Withholding.expires_at, Withholding.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def next_expiry(session: Session) -> datetime | None:
    stmt = (
        select(Withholding.expires_at)
        .where(Withholding.lifted_at.is_(None), Withholding.expires_at.is_not(None))
        .order_by(Withholding.expires_at)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def load_active_pairs(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Every active (account, country) as two arrays, for building the index."""
    stmt = select(Withholding.account_id, Withholding.country).where(
        Withholding.lifted_at.is_(None)
    )
    rows = session.execute(stmt).all()
    accounts = np.fromiter((row[0] for row in rows), dtype=np.uint64, count=len(rows))
    countries = np.array([row[1] for row in rows], dtype="S2") if rows else np.empty(0, "S2")
    return accounts, countries
