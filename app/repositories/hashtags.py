"""Every statement on ``hashtag_restriction``. A restriction's key is (hashtag, country), the
hashtag normalised; at most one active per key (a partial unique index)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from app.models import HashtagRestriction

RestrictionKey = tuple[str, str]
"""(normalised hashtag, country)."""

# Keeps IN (...) lists well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 2000


def get_active(session: Session, key: RestrictionKey) -> HashtagRestriction | None:
    hashtag, country = key
    stmt = select(HashtagRestriction).where(
        HashtagRestriction.hashtag == hashtag,
        HashtagRestriction.country == country,
        HashtagRestriction.lifted_at.is_(None),
    )
    return session.execute(stmt).scalar_one_or_none()


def list_active_among(
    session: Session, keys: Iterable[RestrictionKey]
) -> dict[RestrictionKey, HashtagRestriction]:
    """The active restrictions among ``keys``, by key (an order names hundreds, not millions)."""
    wanted = sorted(set(keys))
    found: dict[RestrictionKey, HashtagRestriction] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = select(HashtagRestriction).where(
            HashtagRestriction.lifted_at.is_(None),
            tuple_(HashtagRestriction.hashtag, HashtagRestriction.country).in_(chunk),
        )
        for restriction in session.execute(stmt).scalars():
            found[(restriction.hashtag, restriction.country)] = restriction
    return found


def insert_one(session: Session, values: dict[str, Any]) -> HashtagRestriction:
    restriction = HashtagRestriction(**values)
    session.add(restriction)
    session.flush()
    return restriction


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> list[HashtagRestriction]:
    """Insert restrictions and return them in the order given (an order's decisions: few)."""
    created = [HashtagRestriction(**row) for row in rows]
    session.add_all(created)
    session.flush()
    return created


def list_for(session: Session, *, hashtag: str, include_lifted: bool) -> list[HashtagRestriction]:
    stmt = select(HashtagRestriction).where(HashtagRestriction.hashtag == hashtag)
    if not include_lifted:
        stmt = stmt.where(HashtagRestriction.lifted_at.is_(None))
    stmt = stmt.order_by(
        HashtagRestriction.country, HashtagRestriction.created_at, HashtagRestriction.id
    )
    return list(session.execute(stmt).scalars())


def list_active_in(
    session: Session, *, hashtag: str, countries: Sequence[str]
) -> list[HashtagRestriction]:
    """The hashtag's active restrictions in any of ``countries``."""
    stmt = (
        select(HashtagRestriction)
        .where(
            HashtagRestriction.hashtag == hashtag,
            HashtagRestriction.country.in_(countries),
            HashtagRestriction.lifted_at.is_(None),
        )
        .order_by(HashtagRestriction.country, HashtagRestriction.id)
    )
    return list(session.execute(stmt).scalars())


def list_in_force_at(
    session: Session, *, hashtag: str, countries: Sequence[str], at: datetime
) -> list[HashtagRestriction]:
    """The hashtag's restrictions in any of ``countries`` in force at instant ``at``: created by
    then, not lifted by then, not expired by then (an expiry takes effect at ``expires_at``
    even before the expiry task records it)."""
    stmt = (
        select(HashtagRestriction)
        .where(
            HashtagRestriction.hashtag == hashtag,
            HashtagRestriction.country.in_(countries),
            HashtagRestriction.created_at <= at,
            or_(HashtagRestriction.lifted_at.is_(None), HashtagRestriction.lifted_at > at),
            or_(HashtagRestriction.expires_at.is_(None), HashtagRestriction.expires_at > at),
        )
        .order_by(HashtagRestriction.country, HashtagRestriction.id)
    )
    return list(session.execute(stmt).scalars())


def list_all_active(session: Session) -> list[tuple[str, str]]:
    """Every active (hashtag, country): the cold-start read (thousands, not millions)."""
    stmt = select(HashtagRestriction.hashtag, HashtagRestriction.country).where(
        HashtagRestriction.lifted_at.is_(None)
    )
    return [(hashtag, country) for hashtag, country in session.execute(stmt)]


def list_due(session: Session, *, now: datetime, limit: int) -> list[HashtagRestriction]:
    stmt = (
        select(HashtagRestriction)
        .where(
            HashtagRestriction.lifted_at.is_(None),
            HashtagRestriction.expires_at.is_not(None),
            HashtagRestriction.expires_at <= now,
        )
        .order_by(HashtagRestriction.expires_at, HashtagRestriction.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


NEXT_EXPIRY_SQL = (
    "SELECT expires_at FROM hashtag_restriction WHERE lifted_at IS NULL"
    " AND expires_at IS NOT NULL ORDER BY expires_at LIMIT 1"
)
"""``next_expiry`` in plain SQL for a raw connection (``replication.quick_reads``); tested equal."""


def next_expiry(session: Session) -> datetime | None:
    stmt = (
        select(HashtagRestriction.expires_at)
        .where(HashtagRestriction.lifted_at.is_(None), HashtagRestriction.expires_at.is_not(None))
        .order_by(HashtagRestriction.expires_at)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()
