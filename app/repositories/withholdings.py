"""Every statement on ``withholding``: account rules (``post_id`` NULL) and post rules alike.
A rule's key is (subject, id, country): account rules are found by ``account_id`` among rows
without a post, post rules by ``post_id``."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from app.domain import RuleKey, Subject
from app.models import Withholding
from app.repositories._bulk import insert_rows

# Keeps IN (...) lists well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 5000
_BIGINT_ARRAY = ARRAY(BigInteger)


def _of(subject: Subject, subject_id: int) -> ColumnElement[bool]:
    """The rows of one account's own rules, or of one post's."""
    if subject is Subject.POST:
        return Withholding.post_id == subject_id
    return (Withholding.account_id == subject_id) & Withholding.post_id.is_(None)


def get_active(session: Session, key: RuleKey) -> Withholding | None:
    subject, subject_id, country = key
    stmt = select(Withholding).where(
        _of(subject, subject_id),
        Withholding.country == country,
        Withholding.lifted_at.is_(None),
    )
    return session.execute(stmt).scalar_one_or_none()


def list_for(
    session: Session, *, subject: Subject, subject_id: int, include_lifted: bool
) -> list[Withholding]:
    stmt = select(Withholding).where(_of(subject, subject_id))
    if not include_lifted:
        stmt = stmt.where(Withholding.lifted_at.is_(None))
    stmt = stmt.order_by(Withholding.country, Withholding.created_at, Withholding.id)
    return list(session.execute(stmt).scalars())


def authors_of(session: Session, posts: Iterable[int]) -> dict[int, int]:
    """The author each post's rules (active or lifted) name, for the posts that have any."""
    wanted = sorted(set(posts))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        stmt = (
            select(Withholding.post_id, Withholding.account_id)
            .where(Withholding.post_id.in_(wanted[start : start + _CHUNK]))
            .distinct()
        )
        for post, account in session.execute(stmt):
            assert post is not None
            found[post] = account
    return found


def list_active_in(
    session: Session, *, subject: Subject, subject_id: int, countries: Sequence[str]
) -> list[Withholding]:
    """The subject's active rules in any of ``countries``."""
    stmt = (
        select(Withholding)
        .where(
            _of(subject, subject_id),
            Withholding.country.in_(countries),
            Withholding.lifted_at.is_(None),
        )
        .order_by(Withholding.country, Withholding.id)
    )
    return list(session.execute(stmt).scalars())


def list_in_force_at(
    session: Session, *, subject: Subject, subject_id: int, countries: Sequence[str], at: datetime
) -> list[Withholding]:
    """The subject's rules in any of ``countries`` that withheld it at instant ``at``: created
    by then, not lifted by then, not expired by then (an expiry takes effect at ``expires_at``
    even before the expiry task records it)."""
    stmt = (
        select(Withholding)
        .where(
            _of(subject, subject_id),
            Withholding.country.in_(countries),
            Withholding.created_at <= at,
            or_(Withholding.lifted_at.is_(None), Withholding.lifted_at > at),
            or_(Withholding.expires_at.is_(None), Withholding.expires_at > at),
        )
        .order_by(Withholding.country, Withholding.id)
    )
    return list(session.execute(stmt).scalars())


def list_active_among(session: Session, keys: Sequence[RuleKey]) -> dict[RuleKey, Withholding]:
    """The active rules among ``keys``, by key.

    Looks subjects up by id (indexed) and filters the keys here: PostgreSQL plans a 5,000-pair
    row-value ``IN`` as a scan of the table.
    """
    wanted = set(keys)
    found: dict[RuleKey, Withholding] = {}
    postgresql = session.get_bind().dialect.name == "postgresql"
    for subject, column in (
        (Subject.ACCOUNT, Withholding.account_id),
        (Subject.POST, Withholding.post_id),
    ):
        # Unsorted: one sort of 100,000 ids holds the GIL (and so the event loop) for tens of
        # milliseconds; neither database needs the ids in order.
        ids = list({subject_id for kind, subject_id, _ in wanted if kind is subject})
        if not ids:
            continue
        posts = subject is Subject.POST
        stmt = select(Withholding).where(
            Withholding.lifted_at.is_(None),
            Withholding.post_id.is_not(None) if posts else Withholding.post_id.is_(None),
        )
        if postgresql:
            # One bigint[] parameter for every id: the driver sends it in one piece, where an
            # expanded IN costs SQLAlchemy and psycopg a bind parameter per id.
            chunks = [ids]
            stmt = stmt.where(column == any_(bindparam("ids", type_=_BIGINT_ARRAY)))
        else:
            chunks = [ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK)]
            stmt = stmt.where(column.in_(bindparam("ids", expanding=True)))
        for chunk in chunks:
            for rule in session.execute(stmt, {"ids": chunk}).scalars():
                subject_id = rule.post_id if posts else rule.account_id
                assert subject_id is not None
                key = (subject, subject_id, rule.country)
                if key in wanted:
                    found[key] = rule
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
    names = list(rows[0])
    values_of = operator.itemgetter(*names)
    insert_rows(
        session,
        Withholding.__table__,
        ["id", *names],
        [(rule_id, *values_of(row)) for rule_id, row in zip(ids, rows, strict=True)],
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
