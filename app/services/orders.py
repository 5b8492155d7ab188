"""Legal orders and the decisions taken on them. No HTTP, no commit.

An order is a demand from an authority; each decision says what was done about one account it
named: withheld in the order's country, withheld everywhere (``XX``), or declined with a category;
or about one hashtag: restricted in the order's country, everywhere, or declined.
Rules created for an order carry its id (their provenance) and the terms ``services.disclosure``
gives them: what a reader may learn of a sealed order is decided there, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import (
    AuditAction,
    AuditRecord,
    DecisionAction,
    DeclineCategory,
    OrderNotFoundError,
    WriteResult,
)
from app.iso3166 import ALL_COUNTRIES
from app.models import LegalOrder
from app.repositories import audit, changelog, orders
from app.services import disclosure, hashtags, withholdings
from app.services.disclosure import Reader
from app.services.withholdings import Item, RuleTerms, key_of


@dataclass(frozen=True, slots=True)
class OrderDraft:
    country: str
    authority: str
    legal_basis: str
    reference: str
    received_at: datetime
    document_url: str | None
    sealed: bool


@dataclass(frozen=True, slots=True)
class OrderCreated:
    order: LegalOrder
    result: WriteResult


@dataclass(frozen=True, slots=True)
class OrderListing:
    orders: list[LegalOrder]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    """One decision: about an account, or with ``post``, about that post (by ``account``), or
    with ``hashtag`` (and no account), about that hashtag (normalised)."""

    account: int | None
    action: DecisionAction
    category: DeclineCategory | None
    note: str | None
    post: int | None = None
    hashtag: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionsOutcome:
    order_id: int
    withheld: int
    withheld_global: int
    declined: int
    already_active: int
    result: WriteResult
    restricted: int = 0
    restricted_global: int = 0


def create_order(session: Session, *, draft: OrderDraft, actor: str, now: datetime) -> OrderCreated:
    """Record a legal order. It changes no visibility, but it is a write like any other: it takes
    its turn on the changelog head and is audited."""
    head = changelog.lock_head(session)
    order = orders.insert_order(
        session,
        {
            "country": draft.country,
            "authority": draft.authority,
            "legal_basis": draft.legal_basis,
            "reference": draft.reference,
            "received_at": draft.received_at,
            "document_url": draft.document_url,
            "sealed": draft.sealed,
            "created_at": now,
            "created_by": actor,
        },
    )
    sealed = " (sealed)" if draft.sealed else ""
    audit.append(
        session,
        [
            AuditRecord(
                at=now,
                actor=actor,
                action=AuditAction.ORDER_CREATE,
                country=order.country,
                order_id=order.id,
                justification=f"{draft.authority}, {draft.legal_basis}, "
                f"reference {draft.reference}{sealed}",
            )
        ],
    )
    return OrderCreated(order=order, result=WriteResult(changes=(), revision=head))


def get_order(session: Session, *, order_id: int, reader: Reader) -> LegalOrder:
    """The order, or ``OrderNotFoundError`` — also when ``reader`` may not see it."""
    order = orders.get_by_id(session, order_id)
    if order is None or not disclosure.may_read(order, reader):
        raise OrderNotFoundError(order_id)
    return order


def list_orders(
    session: Session,
    *,
    country: str | None,
    authority: str | None,
    since: datetime | None,
    until: datetime | None,
    reader: Reader,
    cursor: int,
    limit: int,
) -> OrderListing:
    """One page of orders in the order they were recorded; ``next_cursor`` None on the last."""
    found = orders.list_page(
        session,
        country=country,
        authority=authority,
        since=since,
        until=until,
        include_sealed=disclosure.lists_sealed(reader),
        after_id=cursor,
        limit=limit + 1,
    )
    page = found[:limit]
    return OrderListing(orders=page, next_cursor=page[-1].id if len(found) > limit else None)


def _decision_justification(decision: DecisionDraft, reason: str) -> str:
    if decision.action is DecisionAction.DECLINE:
        assert decision.category is not None
        category = decision.category.value
        return f"{category}: {decision.note}" if decision.note else category
    return decision.note or reason


_DECISION_AUDIT = {
    DecisionAction.WITHHOLD: AuditAction.DECISION_WITHHOLD,
    DecisionAction.WITHHOLD_GLOBAL: AuditAction.DECISION_WITHHOLD_GLOBAL,
    DecisionAction.DECLINE: AuditAction.DECISION_DECLINE,
    DecisionAction.RESTRICT: AuditAction.DECISION_RESTRICT,
    DecisionAction.RESTRICT_GLOBAL: AuditAction.DECISION_RESTRICT_GLOBAL,
}
_GLOBAL = frozenset({DecisionAction.WITHHOLD_GLOBAL, DecisionAction.RESTRICT_GLOBAL})


def record_decisions(
    session: Session,
    *,
    order_id: int,
    decisions: Sequence[DecisionDraft],
    actor: str,
    now: datetime,
) -> DecisionsOutcome:
    """Record every decision on an order, all or nothing (the caller's transaction).

    ``withhold`` creates a rule in the order's country, ``withhold_global`` one for ``XX``; an
    already active rule is kept as it is and the decision points at it. ``decline`` records only.
    An account may appear more than once: every decision is kept, a repeated pair finds its rule
    already active. A hashtag's ``restrict`` / ``restrict_global`` do the same with a hashtag
    restriction (``services.hashtags``), under the same disclosed terms.
    """
    head = changelog.lock_head(session)
    order = orders.get_by_id(session, order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    public = disclosure.terms_for_order(order)
    reason = public.reason
    terms = RuleTerms(reason=reason, order_ref=public.order_ref, expires_at=None)

    def country_of(action: DecisionAction) -> str:
        return ALL_COUNTRIES if action in _GLOBAL else order.country

    def item_of(decision: DecisionDraft) -> Item:
        assert decision.account is not None
        return (decision.account, country_of(decision.action), decision.post)

    def tag_key_of(decision: DecisionDraft) -> tuple[str, str]:
        assert decision.hashtag is not None
        return (decision.hashtag, country_of(decision.action))

    acting = [d for d in decisions if d.action is not DecisionAction.DECLINE]
    items = [item_of(d) for d in acting if d.hashtag is None]
    rules = withholdings.withhold_for_order(
        session, head=head, items=items, terms=terms, order_id=order.id, actor=actor, now=now
    )
    tag_keys = [tag_key_of(d) for d in acting if d.hashtag is not None]
    restrictions = hashtags.restrict_for_order(
        session,
        head=rules.result.revision,
        keys=tag_keys,
        terms=terms,
        order_id=order.id,
        actor=actor,
        now=now,
    )
    counts = dict.fromkeys(DecisionAction, 0)
    already_active = 0
    fresh = set(rules.created)
    fresh_tags = set(restrictions.created)
    rows = []
    records = []
    for decision in decisions:
        country = country_of(decision.action)
        rule_id: int | None = None
        restriction_id: int | None = None
        if decision.action is DecisionAction.DECLINE:
            counts[decision.action] += 1
        elif decision.hashtag is not None:
            tag_key = tag_key_of(decision)
            restriction_id = restrictions.restriction_of[tag_key]
            if tag_key in fresh_tags:
                fresh_tags.discard(tag_key)
                counts[decision.action] += 1
            else:
                already_active += 1
        else:
            key = key_of(item_of(decision))
            rule_id = rules.rule_of[key]
            if key in fresh:
                fresh.discard(key)
                counts[decision.action] += 1
            else:
                already_active += 1
        rows.append(
            {
                "order_id": order.id,
                "account_id": decision.account,
                "post_id": decision.post,
                "hashtag": decision.hashtag,
                "action": decision.action.value,
                "category": decision.category.value if decision.category else None,
                "note": decision.note,
                "rule_id": rule_id,
                "restriction_id": restriction_id,
                "created_at": now,
                "created_by": actor,
            }
        )
        records.append(
            AuditRecord(
                at=now,
                actor=actor,
                action=_DECISION_AUDIT[decision.action],
                account=decision.account,
                country=country,
                order_id=order.id,
                justification=_decision_justification(decision, reason),
                post=decision.post,
                hashtag=decision.hashtag,
            )
        )
    orders.insert_decisions(session, rows)
    audit.append(session, records)
    return DecisionsOutcome(
        order_id=order.id,
        withheld=counts[DecisionAction.WITHHOLD],
        withheld_global=counts[DecisionAction.WITHHOLD_GLOBAL],
        declined=counts[DecisionAction.DECLINE],
        already_active=already_active,
        result=WriteResult(
            changes=rules.result.changes + restrictions.result.changes,
            revision=restrictions.result.revision,
        ),
        restricted=counts[DecisionAction.RESTRICT],
        restricted_global=counts[DecisionAction.RESTRICT_GLOBAL],
    )
