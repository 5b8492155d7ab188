"""Every statement behind the transparency report: aggregates over legal orders received in a
period, grouped by (country, the window's authority expression): the disclosure policy decides
what that expression shows of a sealed order (``services.disclosure.report_authority``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.orm import Session

from app.models import Decision, LegalOrder, Withholding

RowKey = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Window:
    """Orders received in ``[since, until)``, of ``country`` when given."""

    since: datetime
    until: datetime
    country: str | None
    authority: ColumnElement[Any]
    """What each row's authority is: an expression over ``LegalOrder``."""


def _in_window(window: Window) -> ColumnElement[bool]:
    condition = and_(LegalOrder.received_at >= window.since, LegalOrder.received_at < window.until)
    if window.country is not None:
        condition = and_(condition, LegalOrder.country == window.country)
    return condition


def count_orders(session: Session, window: Window) -> dict[RowKey, tuple[int, int]]:
    """(orders, sealed orders) per row."""
    key = window.authority
    stmt = (
        select(
            LegalOrder.country,
            key,
            func.count(LegalOrder.id),
            func.sum(case((LegalOrder.sealed, 1), else_=0)),
        )
        .where(_in_window(window))
        .group_by(LegalOrder.country, key)
    )
    return {
        (row[0], row[1]): (int(row[2]), int(row[3] or 0)) for row in session.execute(stmt).all()
    }


def count_accounts_named(session: Session, window: Window) -> dict[RowKey, int]:
    """Distinct accounts named in any decision about an account on the row's orders."""
    key = window.authority
    stmt = (
        select(LegalOrder.country, key, func.count(distinct(Decision.account_id)))
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(_in_window(window), Decision.post_id.is_(None))
        .group_by(LegalOrder.country, key)
    )
    return {(row[0], row[1]): int(row[2]) for row in session.execute(stmt).all()}


def count_accounts_by_action(session: Session, window: Window) -> Sequence[tuple[RowKey, str, int]]:
    """Distinct accounts per row and decision action (decisions about accounts)."""
    key = window.authority
    stmt = (
        select(LegalOrder.country, key, Decision.action, func.count(distinct(Decision.account_id)))
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(_in_window(window), Decision.post_id.is_(None))
        .group_by(LegalOrder.country, key, Decision.action)
    )
    return [((row[0], row[1]), row[2], int(row[3])) for row in session.execute(stmt).all()]


def count_declined_by_category(
    session: Session, window: Window
) -> Sequence[tuple[RowKey, str, int]]:
    """Distinct accounts declined per row and category."""
    key = window.authority
    stmt = (
        select(
            LegalOrder.country, key, Decision.category, func.count(distinct(Decision.account_id))
        )
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(_in_window(window), Decision.action == "decline", Decision.post_id.is_(None))
        .group_by(LegalOrder.country, key, Decision.category)
    )
    return [((row[0], row[1]), row[2], int(row[3])) for row in session.execute(stmt).all()]


def count_posts_named(session: Session, window: Window) -> dict[RowKey, int]:
    """Distinct posts named in any decision on the row's orders."""
    key = window.authority
    stmt = (
        select(LegalOrder.country, key, func.count(distinct(Decision.post_id)))
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(_in_window(window), Decision.post_id.is_not(None))
        .group_by(LegalOrder.country, key)
    )
    return {(row[0], row[1]): int(row[2]) for row in session.execute(stmt).all()}


def count_posts_withheld(session: Session, window: Window) -> dict[RowKey, int]:
    """Distinct posts with a ``withhold`` or ``withhold_global`` decision on the row's orders."""
    key = window.authority
    stmt = (
        select(LegalOrder.country, key, func.count(distinct(Decision.post_id)))
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(
            _in_window(window),
            Decision.post_id.is_not(None),
            Decision.action.in_(("withhold", "withhold_global")),
        )
        .group_by(LegalOrder.country, key)
    )
    return {(row[0], row[1]): int(row[2]) for row in session.execute(stmt).all()}


def count_rules_lifted(session: Session, window: Window) -> dict[RowKey, int]:
    """Rules created for the row's orders that were lifted (any reason) before ``until``."""
    key = window.authority
    stmt = (
        select(LegalOrder.country, key, func.count(Withholding.id))
        .join(Withholding, Withholding.order_id == LegalOrder.id)
        .where(
            _in_window(window),
            Withholding.lifted_at.is_not(None),
            Withholding.lifted_at < window.until,
        )
        .group_by(LegalOrder.country, key)
    )
    return {(row[0], row[1]): int(row[2]) for row in session.execute(stmt).all()}


def count_hashtags(session: Session, window: Window) -> dict[RowKey, tuple[int, int]]:
    """(distinct hashtags named, distinct hashtags restricted) per row."""
    key = window.authority
    restricted = case(
        (Decision.action.in_(("restrict", "restrict_global")), Decision.hashtag), else_=None
    )
    stmt = (
        select(
            LegalOrder.country,
            key,
            func.count(distinct(Decision.hashtag)),
            func.count(distinct(restricted)),
        )
        .join(Decision, Decision.order_id == LegalOrder.id)
        .where(_in_window(window), Decision.hashtag.is_not(None))
        .group_by(LegalOrder.country, key)
    )
    return {(row[0], row[1]): (int(row[2]), int(row[3])) for row in session.execute(stmt).all()}
