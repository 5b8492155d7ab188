"""Why an account is (or was) hidden: the rules behind an answer, their orders, and the text a
viewer sees. These read the database; the plain lookup never does (``app.edge.fast_path``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.iso3166 import ALL_COUNTRIES, COUNTRY_NAMES
from app.models import LegalOrder, Withholding
from app.repositories import orders, withholdings
from app.services import disclosure
from app.services.disclosure import Sealed


@dataclass(frozen=True, slots=True)
class RuleWithOrder:
    """A rule behind an answer and its order as an explanation may show it."""

    rule: Withholding
    order: LegalOrder | Sealed | None


def _with_orders(session: Session, rules: list[Withholding]) -> list[RuleWithOrder]:
    found = orders.get_many(session, [r.order_id for r in rules if r.order_id is not None])
    return [
        RuleWithOrder(
            rule,
            disclosure.explained_order(
                found.get(rule.order_id) if rule.order_id is not None else None
            ),
        )
        for rule in rules
    ]


def active_rules(session: Session, *, account: int, country: str) -> list[RuleWithOrder]:
    """The active rules hiding ``account`` from a viewer in ``country`` (its own and ``XX``)."""
    rules = withholdings.list_active_in(
        session, account=account, countries=[country, ALL_COUNTRIES]
    )
    return _with_orders(session, rules)


def rules_at(session: Session, *, account: int, country: str, at: datetime) -> list[RuleWithOrder]:
    """The rules that hid ``account`` from a viewer in ``country`` at the instant ``at``, from the
    history: a rule counts from ``created_at`` until it was lifted or expired."""
    rules = withholdings.list_in_force_at(
        session, account=account, countries=[country, ALL_COUNTRIES], at=at
    )
    return _with_orders(session, rules)


def viewer_message(country: str, *, visible: bool, rules: list[RuleWithOrder]) -> str:
    """The viewer-facing sentence (Twitter's wording for withheld content)."""
    name = COUNTRY_NAMES.get(country, country)
    if visible:
        return f"This account is visible in {name}."
    if any(item.rule.country == ALL_COUNTRIES for item in rules):
        return "This account has been withheld in all countries."
    # A rule created for an order, or naming one (order_ref), answers a legal demand.
    if any(item.rule.order_id is not None or item.rule.order_ref for item in rules):
        return f"This account has been withheld in {name} in response to a legal demand."
    return f"This account has been withheld in {name}."
