"""Why an account is (or was) hidden: the rules behind an answer, their orders, and the text a
viewer sees. These read the database; the plain lookup never does (``app.edge.fast_path``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.domain import Subject
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


def _subjects(account: int, post: int | None) -> list[tuple[Subject, int]]:
    """Whose rules decide a lookup: the account's, and with a post, the post's too."""
    subjects = [(Subject.ACCOUNT, account)]
    if post is not None:
        subjects.append((Subject.POST, post))
    return subjects


def active_rules(
    session: Session, *, account: int, country: str, post: int | None = None
) -> list[RuleWithOrder]:
    """The active rules hiding ``account`` (or its ``post``) from a viewer in ``country``: the
    account's own and ``XX``, then the post's."""
    rules = [
        rule
        for subject, subject_id in _subjects(account, post)
        for rule in withholdings.list_active_in(
            session, subject=subject, subject_id=subject_id, countries=[country, ALL_COUNTRIES]
        )
    ]
    return _with_orders(session, rules)


def rules_at(
    session: Session, *, account: int, country: str, at: datetime, post: int | None = None
) -> list[RuleWithOrder]:
    """The rules that hid ``account`` (or its ``post``) from a viewer in ``country`` at the
    instant ``at``, from the history: a rule counts from ``created_at`` until it was lifted or
    expired."""
    rules = [
        rule
        for subject, subject_id in _subjects(account, post)
        for rule in withholdings.list_in_force_at(
            session,
            subject=subject,
            subject_id=subject_id,
            countries=[country, ALL_COUNTRIES],
            at=at,
        )
    ]
    return _with_orders(session, rules)


def viewer_message(country: str, *, visible: bool, rules: list[RuleWithOrder]) -> str:
    """The viewer-facing sentence (Twitter's wording for withheld content): about the account
    when its own rules hide it (the author's scope wins), else about the post."""
    name = COUNTRY_NAMES.get(country, country)
    account_rules = [item for item in rules if item.rule.post_id is None]
    what = "account" if account_rules or not rules else "post"
    if visible:
        return f"This {what} is visible in {name}."
    deciding = account_rules or rules
    if any(item.rule.country == ALL_COUNTRIES for item in deciding):
        return f"This {what} has been withheld in all countries."
    # A rule created for an order, or naming one (order_ref), answers a legal demand.
    if any(item.rule.order_id is not None or item.rule.order_ref for item in deciding):
        return f"This {what} has been withheld in {name} in response to a legal demand."
    return f"This {what} has been withheld in {name}."
