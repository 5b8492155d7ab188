"""The rules of withholding: create, update, lift, expire. No HTTP here, and no commit: the caller's
unit of work commits. Every write starts by locking the changelog head (see ``app.db``), so the
checks below cannot race another writer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.domain import Change, ChangeOp, LiftReason, WriteResult
from app.models import Withholding
from app.repositories import changelog, withholdings

SYSTEM_EXPIRY_ACTOR = "system:expiry"


@dataclass(frozen=True, slots=True)
class RuleTerms:
    reason: str
    order_ref: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class WithholdOutcome:
    rule: Withholding
    created: bool
    result: WriteResult


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    created: int
    already_active: int
    duplicates: int
    result: WriteResult


@dataclass(frozen=True, slots=True)
class LiftOutcome:
    """``rule`` is None when nothing was active (possibly because it had just expired)."""

    rule: Withholding | None
    result: WriteResult


Entry = tuple[ChangeOp, int, str, int, datetime]


def _is_due(rule: Withholding, now: datetime) -> bool:
    return rule.expires_at is not None and rule.expires_at <= now


def _mark_lifted(rule: Withholding, *, at: datetime, reason: LiftReason, actor: str) -> Entry:
    rule.lifted_at = at
    rule.lift_reason = reason.value
    rule.lifted_by = actor
    rule.updated_at = at
    return (ChangeOp.LIFT, rule.account_id, rule.country, rule.id, at)


def _expire(rule: Withholding) -> Entry:
    assert rule.expires_at is not None
    return _mark_lifted(
        rule, at=rule.expires_at, reason=LiftReason.EXPIRED, actor=SYSTEM_EXPIRY_ACTOR
    )


def _new_rule_row(
    account: int, country: str, terms: RuleTerms, *, actor: str, now: datetime
) -> dict[str, Any]:
    return {
        "account_id": account,
        "country": country,
        "reason": terms.reason,
        "order_ref": terms.order_ref,
        "created_at": now,
        "updated_at": now,
        "expires_at": terms.expires_at,
        "created_by": actor,
    }


def _commit_entries(session: Session, head: int, entries: Sequence[Entry]) -> WriteResult:
    changes: list[Change] = changelog.append(session, head=head, entries=entries)
    return WriteResult(changes=tuple(changes), revision=changes[-1].revision if changes else head)


def withhold(
    session: Session,
    *,
    account: int,
    country: str,
    terms: RuleTerms,
    actor: str,
    now: datetime,
) -> WithholdOutcome:
    """Withhold ``account`` in ``country``; on an already active rule, update its terms."""
    head = changelog.lock_head(session)
    entries: list[Entry] = []
    rule = withholdings.get_active(session, account=account, country=country)
    if rule is not None and _is_due(rule, now):
        entries.append(_expire(rule))
        session.flush()  # the partial unique index must see the old rule lifted first
        rule = None
    if rule is not None:
        rule.reason = terms.reason
        rule.order_ref = terms.order_ref
        rule.expires_at = terms.expires_at
        rule.updated_at = now
        session.flush()
        return WithholdOutcome(rule=rule, created=False, result=_commit_entries(session, head, []))
    (rule_id,) = withholdings.insert_many(
        session, [_new_rule_row(account, country, terms, actor=actor, now=now)]
    )
    entries.append((ChangeOp.WITHHOLD, account, country, rule_id, now))
    result = _commit_entries(session, head, entries)
    created = session.get_one(Withholding, rule_id)
    return WithholdOutcome(rule=created, created=True, result=result)


def lift(
    session: Session,
    *,
    account: int,
    country: str,
    reason: LiftReason,
    actor: str,
    now: datetime,
) -> LiftOutcome:
    """Lift the active rule. A rule found already past its expiry is recorded as expired instead,
    and the outcome has no rule: there was nothing left to lift."""
    head = changelog.lock_head(session)
    rule = withholdings.get_active(session, account=account, country=country)
    if rule is None:
        return LiftOutcome(rule=None, result=WriteResult(changes=(), revision=head))
    if _is_due(rule, now):
        return LiftOutcome(rule=None, result=_commit_entries(session, head, [_expire(rule)]))
    entry = _mark_lifted(rule, at=now, reason=reason, actor=actor)
    return LiftOutcome(rule=rule, result=_commit_entries(session, head, [entry]))


def bulk_withhold(
    session: Session,
    *,
    items: Sequence[tuple[int, str]],
    terms: RuleTerms | Sequence[RuleTerms],
    actor: str,
    now: datetime,
) -> BulkOutcome:
    """Withhold every (account, country) in one transaction; active ones get the new terms.

    ``terms`` is one set for every item, or one per item (a CSV import); when an item repeats,
    its last terms win.
    """
    head = changelog.lock_head(session)
    if isinstance(terms, RuleTerms):
        terms_of = dict.fromkeys(items, terms)
    else:
        terms_of = dict(zip(items, terms, strict=True))
    unique = list(terms_of)
    active = withholdings.list_active_among(session, unique)
    entries: list[Entry] = []
    for rule in active.values():
        if _is_due(rule, now):
            entries.append(_expire(rule))
    session.flush()
    active = {pair: rule for pair, rule in active.items() if rule.lifted_at is None}
    by_terms: dict[RuleTerms, list[int]] = {}
    for pair, rule in active.items():
        by_terms.setdefault(terms_of[pair], []).append(rule.id)
    for shared, rule_ids in by_terms.items():
        withholdings.update_terms(
            session,
            rule_ids,
            values={
                "reason": shared.reason,
                "order_ref": shared.order_ref,
                "expires_at": shared.expires_at,
                "updated_at": now,
            },
        )
    new_pairs = [pair for pair in unique if pair not in active]
    created_ids = withholdings.insert_many(
        session,
        [
            _new_rule_row(account, country, terms_of[(account, country)], actor=actor, now=now)
            for account, country in new_pairs
        ],
    )
    entries.extend(
        (ChangeOp.WITHHOLD, account, country, rule_id, now)
        for (account, country), rule_id in zip(new_pairs, created_ids, strict=True)
    )
    return BulkOutcome(
        created=len(new_pairs),
        already_active=len(active),
        duplicates=len(items) - len(unique),
        result=_commit_entries(session, head, entries),
    )


def expire_due(session: Session, *, now: datetime, limit: int = 5000) -> WriteResult:
    """Lift every rule whose ``expires_at`` has passed, recording the lift at that instant."""
    head = changelog.lock_head(session)
    entries = [_expire(rule) for rule in withholdings.list_due(session, now=now, limit=limit)]
    return _commit_entries(session, head, entries)


def rules_of_account(session: Session, *, account: int, include_lifted: bool) -> list[Withholding]:
    return withholdings.list_for_account(session, account=account, include_lifted=include_lifted)
