"""What a reader may learn of legal orders: the one home of the sealed-order rule.

A sealed order (a court's gag order, a demand the authority forbids publishing) is recorded like
any other, and its rules hide content like any other, but a reader without an admin token may not
learn that it exists beyond a count: not its authority, legal basis, reference, document URL, the
notes of its decisions, nor its id. Every endpoint that shows anything derived from an order asks
this module, never decides for itself:

- a rule created for an order gives a reason naming it, or only ``sealed legal order``
  (:func:`terms_for_order`): rules are public;
- a rule's ``order_id`` is shown only for an order that is not sealed (:func:`disclosed_rules`;
  a hashtag restriction's too, :func:`disclosed`);
- an explanation shows a sealed order as ``{"sealed": true}`` (:func:`explained_order`);
- orders are listed and read only when not sealed, or by an admin (:func:`may_read`,
  :func:`lists_sealed`);
- the transparency report counts sealed orders in a row of their own whose authority is null
  (:func:`report_authority`).

Decisions and the audit log are for admins only; the change feed names no order.
``tests/integration/test_disclosure.py`` walks every public endpoint with a sealed order in the
data and fails on any leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import ColumnElement, case, null
from sqlalchemy.orm import Session

from app.models import HashtagRestriction, LegalOrder, Withholding
from app.repositories import orders

SEALED_ORDER_REASON: Final = "sealed legal order"


@dataclass(frozen=True, slots=True)
class Reader:
    """Who asks: ``admin`` when the request carried a valid admin bearer token."""

    admin: bool


PUBLIC: Final = Reader(admin=False)
ADMIN: Final = Reader(admin=True)


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What a rule created for an order says about it, publicly."""

    reason: str
    order_ref: str | None


@dataclass(frozen=True, slots=True)
class DisclosedRule:
    """A rule as a reader may see it: ``order_id`` is None when its order is sealed."""

    rule: Withholding
    order_id: int | None


Provenanced = TypeVar("Provenanced", Withholding, HashtagRestriction)
"""What can be created for an order: a rule, a hashtag restriction."""


@dataclass(frozen=True, slots=True)
class Disclosed(Generic[Provenanced]):
    """``item`` as a reader may see it: ``order_id`` is None when its order is sealed."""

    item: Provenanced
    order_id: int | None


class Sealed:
    """Stands in for a sealed order wherever an order would be shown."""


SEALED: Final = Sealed()


def terms_for_order(order: LegalOrder) -> OrderTerms:
    """The reason and reference a rule created for ``order`` carries (anyone can read rules)."""
    if order.sealed:
        return OrderTerms(reason=SEALED_ORDER_REASON, order_ref=None)
    return OrderTerms(
        reason=f"legal order {order.reference} ({order.authority}, {order.legal_basis})",
        order_ref=order.reference,
    )


def may_read(order: LegalOrder, reader: Reader) -> bool:
    """Whether ``reader`` may see ``order`` at all (else it does not exist for them: 404)."""
    return reader.admin or not order.sealed


def lists_sealed(reader: Reader) -> bool:
    """Whether order listings include sealed orders for ``reader``."""
    return reader.admin


def disclosed_rules(session: Session, rules: Sequence[Withholding]) -> list[DisclosedRule]:
    """``rules`` with the ids of sealed orders withheld (the same for every reader: rule
    listings are public and carry no token)."""
    order_ids = {rule.order_id for rule in rules if rule.order_id is not None}
    found = orders.get_many(session, order_ids) if order_ids else {}
    return [
        DisclosedRule(
            rule=rule,
            order_id=(
                rule.order_id
                if rule.order_id is not None and not found[rule.order_id].sealed
                else None
            ),
        )
        for rule in rules
    ]


def disclosed(session: Session, items: Sequence[Provenanced]) -> list[Disclosed[Provenanced]]:
    """``items`` (rules, hashtag restrictions) with the ids of sealed orders withheld, the same
    for every reader, like :func:`disclosed_rules`."""
    order_ids = {item.order_id for item in items if item.order_id is not None}
    found = orders.get_many(session, order_ids) if order_ids else {}
    return [
        Disclosed(
            item=item,
            order_id=(
                item.order_id
                if item.order_id is not None and not found[item.order_id].sealed
                else None
            ),
        )
        for item in items
    ]


def explained_order(order: LegalOrder | None) -> LegalOrder | Sealed | None:
    """An order as an explanation shows it: whole, or only the fact that it is sealed."""
    if order is not None and order.sealed:
        return SEALED
    return order


def report_authority() -> ColumnElement[Any]:
    """The report's authority column: a sealed order's authority is never named (NULL), so
    every sealed order of a country is counted in one row of its own."""
    return case((LegalOrder.sealed, null()), else_=LegalOrder.authority)
