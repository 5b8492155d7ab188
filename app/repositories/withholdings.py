"""Every statement on ``withholding``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, any_, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from app.models import Withholding
from app.repositories._bulk import insert_rows

# Keeps IN (...) lists well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 5000
_BIGINT_ARRAY = ARRAY(BigInteger)


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


def list_active_in(
    session: Session, *, account: int, countries: Sequence[str]
) -> list[Withholding]:
    """The account's active rules in any of ``countries``."""
    stmt = (
        select(Withholding)
        .where(
            Withholding.account_id == account,
            Withholding.country.in_(countries),
            Withholding.lifted_at.is_(None),
        )
        .order_by(Withholding.country, Withholding.id)
    )
    return list(session.execute(stmt).scalars())


def list_in_force_at(
    session: Session, *, account: int, countries: Sequence[str], at: datetime
) -> list[Withholding]:
    """The account's rules in any of ``countries`` that withheld it at instant ``at``: created
    by then, not lifted by then, not expired by then (an expiry takes effect at ``expires_at``
    even before the expiry task records it)."""
    stmt = (
        select(Withholding)
        .where(
            Withholding.account_id == account,
            Withholding.country.in_(countries),
            Withholding.created_at <= at,
            or_(Withholding.lifted_at.is_(None), Withholding.lifted_at > at),
            or_(Withholding.expires_at.is_(None), Withholding.expires_at > at),
        )
        .order_by(Withholding.country, Withholding.id)
    )
    return list(session.execute(stmt).scalars())


def list_active_among(
    session: Session, pairs: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], Withholding]:
    """The active rules among ``pairs``, keyed by (account, country).

    Looks accounts up by ``account_id`` (indexed) and filters the pairs here: PostgreSQL plans a
    5,000-pair row-value ``IN`` as a scan of the table (74 s for 100k pairs against 100k rules).
    """
    wanted = set(pairs)
    accounts = sorted({account for account, _ in wanted})
    found: dict[tuple[int, str], Withholding] = {}
    if session.get_bind().dialect.name == "postgresql":
        # One bigint[] parameter for every account: the driver sends it in one piece, where an
        # expanded IN costs SQLAlchemy and psycopg a bind parameter per id (2.7 s per 100k).
        chunks = [accounts]
        condition = Withholding.account_id == any_(bindparam("accounts", type_=_BIGINT_ARRAY))
    else:
        chunks = [accounts[start : start + _CHUNK] for start in range(0, len(accounts), _CHUNK)]
        condition = Withholding.account_id.in_(bindparam("accounts", expanding=True))
    stmt = select(Withholding).where(Withholding.lifted_at.is_(None), condition)
    for chunk in chunks:
        for rule in session.execute(stmt, {"accounts": chunk}).scalars():
            pair = (rule.account_id, rule.country)
            if pair in wanted:
                found[pair] = rule
    return found


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rules and return their ids in the order given.

    The caller holds the changelog head lock (writers take turns), so ids can be handed out
    here and the rows written through the driver: PostgreSQL draws them from the column's own
    sequence; SQLite continues after the largest rowid, as it would itself.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = sorted(
            session.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('withholding', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(rows)},
            ).scalars()
        )
    else:
        session.flush()
        last = session.execute(select(func.coalesce(func.max(Withholding.id), 0))).scalar_one()
        ids = list(range(last + 1, last + 1 + len(rows)))
    columns = ["id", *rows[0]]
    insert_rows(
        session,
        Withholding.__table__,
        columns,
        [
            (rule_id, *(row[name] for name in columns[1:]))
            for rule_id, row in zip(ids, rows, strict=True)
        ],
    )
    return ids


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


NEXT_EXPIRY_SQL = (
    "SELECT expires_at FROM withholding WHERE lifted_at IS NULL AND expires_at IS NOT NULL"
    " ORDER BY expires_at LIMIT 1"
)
"""``next_expiry`` in plain SQL for a raw connection (``replication.quick_reads``); tested equal."""


def next_expiry(session: Session) -> datetime | None:
    stmt = (
        select(Withholding.expires_at)
        .where(Withholding.lifted_at.is_(None), Withholding.expires_at.is_not(None))
        .order_by(Withholding.expires_at)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()
