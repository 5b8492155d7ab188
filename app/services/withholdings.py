"""The rules of withholding: create, update, lift, expire. No HTTP here, and no commit: the caller's
unit of work commits. Every write starts by locking the changelog head (see ``app.db``), so the
checks below cannot race another writer.

Every write also records who did it and why in the audit log, in the same transaction: a rule
created (``withhold``), its terms replaced (``update``), lifted (``lift``, with the reason and
note) or expired (``expire``, by ``system:expiry``). Rules created for a legal order keep the order
as their provenance (``order_id``); ``services.orders`` records the decisions behind them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.domain import AuditAction, AuditRecord, Change, ChangeOp, LiftCause, WriteResult
from app.models import Withholding
from app.repositories import audit, changelog, withholdings
from app.services import disclosure
from app.services.disclosure import DisclosedRule

SYSTEM_EXPIRY_ACTOR = "system:expiry"

Pair = tuple[int, str]


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


@dataclass(frozen=True, slots=True)
class OrderRules:
    """The rules an order's decisions asked for: each pair's rule id, and which ones are new."""

    rule_of: dict[Pair, int]
    created: frozenset[Pair]
    result: WriteResult


@dataclass(frozen=True, slots=True)
class AccountRules:
    withheld_in_countries: list[str]
    rules: list[DisclosedRule]


Entry = tuple[ChangeOp, int, str, int, datetime]


@dataclass
class _Write:
    """One write transaction in the making: its changelog entries and its audit records."""

    head: int
    now: datetime
    entries: list[Entry] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)

    def expire(self, rule: Withholding) -> None:
        assert rule.expires_at is not None
        expires_at = rule.expires_at
        self.entries.append(
            _mark_lifted(rule, at=expires_at, reason=LiftCause.EXPIRED, actor=SYSTEM_EXPIRY_ACTOR)
        )
        self.audits.append(
            AuditRecord(
                at=self.now,
                actor=SYSTEM_EXPIRY_ACTOR,
                action=AuditAction.EXPIRE,
                account=rule.account_id,
                country=rule.country,
                order_id=rule.order_id,
                justification=f"expired at {expires_at.isoformat()}",
            )
        )

    def record(
        self,
        actor: str,
        action: AuditAction,
        account: int,
        country: str,
        justification: str,
        order_id: int | None = None,
    ) -> None:
        self.audits.append(
            AuditRecord(
                at=self.now,
                actor=actor,
                action=action,
                account=account,
                country=country,
                order_id=order_id,
                justification=justification,
            )
        )

    def flush_to(self, session: Session) -> WriteResult:
        """Append the audit records and changelog entries to the session (the caller's unit of
        work commits them)."""
        audit.append(session, self.audits)
        changes: list[Change] = changelog.append(session, head=self.head, entries=self.entries)
        return WriteResult(
            changes=tuple(changes), revision=changes[-1].revision if changes else self.head
        )


def _is_due(rule: Withholding, now: datetime) -> bool:
    return rule.expires_at is not None and rule.expires_at <= now


def _mark_lifted(
    rule: Withholding,
    *,
    at: datetime,
    reason: LiftCause,
    actor: str,
    note: str | None = None,
) -> Entry:
    rule.lifted_at = at
    rule.lift_reason = reason.value
    rule.lift_note = note
    rule.lifted_by = actor
    rule.updated_at = at
    return (ChangeOp.LIFT, rule.account_id, rule.country, rule.id, at)


def _new_rule_row(
    account: int,
    country: str,
    terms: RuleTerms,
    *,
    actor: str,
    now: datetime,
    order_id: int | None = None,
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
        "order_id": order_id,
    }


def lift_justification(reason: LiftCause, note: str | None) -> str:
    return f"{reason.value}: {note}" if note else reason.value


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
    write = _Write(changelog.lock_head(session), now)
    rule = withholdings.get_active(session, account=account, country=country)
    if rule is not None and _is_due(rule, now):
        write.expire(rule)
        session.flush()  # the partial unique index must see the old rule lifted first
        rule = None
    if rule is not None:
        rule.reason = terms.reason
        rule.order_ref = terms.order_ref
        rule.expires_at = terms.expires_at
        rule.updated_at = now
        session.flush()
        write.record(actor, AuditAction.UPDATE, account, country, terms.reason, rule.order_id)
        return WithholdOutcome(rule=rule, created=False, result=write.flush_to(session))
    (rule_id,) = withholdings.insert_many(
        session, [_new_rule_row(account, country, terms, actor=actor, now=now)]
    )
    write.entries.append((ChangeOp.WITHHOLD, account, country, rule_id, now))
    write.record(actor, AuditAction.WITHHOLD, account, country, terms.reason)
    result = write.flush_to(session)
    created = session.get_one(Withholding, rule_id)
    return WithholdOutcome(rule=created, created=True, result=result)


def lift(
    session: Session,
    *,
    account: int,
    country: str,
    reason: LiftCause,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> LiftOutcome:
    """Lift the active rule, keeping ``reason`` and ``note``. A rule found already past its expiry
    is recorded as expired instead, and the outcome has no rule: there was nothing left to lift."""
    write = _Write(changelog.lock_head(session), now)
    rule = withholdings.get_active(session, account=account, country=country)
    if rule is None:
        return LiftOutcome(rule=None, result=WriteResult(changes=(), revision=write.head))
    if _is_due(rule, now):
        write.expire(rule)
        return LiftOutcome(rule=None, result=write.flush_to(session))
    write.entries.append(_mark_lifted(rule, at=now, reason=reason, actor=actor, note=note))
    write.record(
        actor, AuditAction.LIFT, account, country, lift_justification(reason, note), rule.order_id
    )
    return LiftOutcome(rule=rule, result=write.flush_to(session))


def _withhold_pairs(
    session: Session,
    write: _Write,
    terms_of: dict[Pair, RuleTerms],
    *,
    actor: str,
    update_active: bool,
    order_id: int | None = None,
) -> tuple[dict[Pair, Withholding], dict[Pair, int]]:
    """Create a rule for every pair not already active (expiring due ones first); replace the
    terms of active ones when ``update_active``. Returns (active before, created ids)."""
    now = write.now
    unique = list(terms_of)
    active = withholdings.list_active_among(session, unique)
    for rule in active.values():
        if _is_due(rule, now):
            write.expire(rule)
    session.flush()
    active = {pair: rule for pair, rule in active.items() if rule.lifted_at is None}
    if update_active:
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
            _new_rule_row(
                account,
                country,
                terms_of[(account, country)],
                actor=actor,
                now=now,
                order_id=order_id,
            )
            for account, country in new_pairs
        ],
    )
    created = dict(zip(new_pairs, created_ids, strict=True))
    write.entries.extend(
        (ChangeOp.WITHHOLD, account, country, rule_id, now)
        for (account, country), rule_id in created.items()
    )
    return active, created


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
    its last terms win. The audit log gets one entry per distinct pair (``withhold`` or
    ``update``).
    """
    write = _Write(changelog.lock_head(session), now)
    if isinstance(terms, RuleTerms):
        terms_of = dict.fromkeys(items, terms)
    else:
        terms_of = dict(zip(items, terms, strict=True))
    active, created = _withhold_pairs(session, write, terms_of, actor=actor, update_active=True)
    for pair, pair_terms in terms_of.items():
        account, country = pair
        existing = active.get(pair)
        if existing is not None:
            write.record(
                actor, AuditAction.UPDATE, account, country, pair_terms.reason, existing.order_id
            )
        else:
            write.record(actor, AuditAction.WITHHOLD, account, country, pair_terms.reason)
    return BulkOutcome(
        created=len(created),
        already_active=len(active),
        duplicates=len(items) - len(terms_of),
        result=write.flush_to(session),
    )


def withhold_for_order(
    session: Session,
    *,
    head: int,
    pairs: Sequence[Pair],
    terms: RuleTerms,
    order_id: int,
    actor: str,
    now: datetime,
) -> OrderRules:
    """Rules for an order's decisions: new ones carry ``order_id``; an already active rule is
    kept as it is (its own terms and provenance). The caller holds the changelog head (``head``)
    and audits the decisions; only expiries found on the way are audited here."""
    write = _Write(head, now)
    terms_of = dict.fromkeys(pairs, terms)
    active, created = _withhold_pairs(
        session, write, terms_of, actor=actor, update_active=False, order_id=order_id
    )
    rule_of = {pair: rule.id for pair, rule in active.items()}
    rule_of.update(created)
    return OrderRules(rule_of=rule_of, created=frozenset(created), result=write.flush_to(session))


def expire_due(session: Session, *, now: datetime, limit: int = 5000) -> WriteResult:
    """Lift every rule whose ``expires_at`` has passed, recording the lift at that instant."""
    write = _Write(changelog.lock_head(session), now)
    for rule in withholdings.list_due(session, now=now, limit=limit):
        write.expire(rule)
    return write.flush_to(session)


def rules_of_account(session: Session, *, account: int, include_lifted: bool) -> AccountRules:
    """An account's rules as anyone may read them, and where it is withheld now."""
    rules = withholdings.list_for_account(session, account=account, include_lifted=include_lifted)
    return AccountRules(
        withheld_in_countries=sorted({rule.country for rule in rules if rule.lifted_at is None}),
        rules=disclosure.disclosed_rules(session, rules),
    )
