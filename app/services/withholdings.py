"""The rules of withholding, for accounts and posts alike: create, update, lift, expire. A post
rule withholds one post and names its author (``account``); a post has one author, so a rule
naming another is refused (:class:`AuthorConflictError`). No HTTP here, and no commit: the caller's
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

from app.domain import (
    AuditAction,
    AuditRecord,
    AuthorConflictError,
    Change,
    ChangeOp,
    LiftCause,
    LogEntry,
    RuleKey,
    Subject,
    WriteResult,
)
from app.models import Withholding
from app.repositories import audit, changelog, expiries, withholdings
from app.services import disclosure
from app.services.disclosure import DisclosedRule

SYSTEM_EXPIRY_ACTOR = "system:expiry"

Item = tuple[int, str, int | None]
"""What a write asks to withhold: (account, country, post); ``post`` None withholds the whole
account, else that post, whose author is ``account``."""


def key_of(item: Item) -> RuleKey:
    account, country, post = item
    return (
        (Subject.POST, post, country) if post is not None else (Subject.ACCOUNT, account, country)
    )


def subject_key(country: str, *, account: int | None = None, post: int | None = None) -> RuleKey:
    """The key of a post's rule when ``post`` is given, else of the account's own."""
    if post is not None:
        return (Subject.POST, post, country)
    if account is None:
        raise TypeError("an account or a post is required")
    return (Subject.ACCOUNT, account, country)


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

    rule_of: dict[RuleKey, int]
    created: frozenset[RuleKey]
    result: WriteResult


@dataclass(frozen=True, slots=True)
class SubjectRules:
    """An account's or a post's rules as anyone may read them; ``account`` is a post's author
    (None for a post never withheld)."""

    account: int | None
    withheld_in_countries: list[str]
    rules: list[DisclosedRule]


@dataclass
class _Write:
    """One write transaction in the making: its changelog entries and its audit records."""

    head: int
    now: datetime
    entries: list[LogEntry] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)

    def expire(self, rule: Withholding) -> None:
        """Lift ``rule`` (loaded, due) at its ``expires_at``, on the object."""
        assert rule.expires_at is not None
        expires_at = rule.expires_at
        _mark_lifted(rule, at=expires_at, reason=LiftCause.EXPIRED, actor=SYSTEM_EXPIRY_ACTOR)
        self.entries.append(
            LogEntry(
                ChangeOp.LIFT, rule.account_id, rule.country, rule.id, expires_at, post=rule.post_id
            )
        )
        self.audits.append(
            AuditRecord(
                at=self.now,
                actor=SYSTEM_EXPIRY_ACTOR,
                action=AuditAction.EXPIRE,
                account=rule.account_id,
                country=rule.country,
                order_id=rule.order_id,
                justification=f"expired at {expires_at.isoformat()}",  # as expiries.py
                post=rule.post_id,
            )
        )

    def record(
        self,
        actor: str,
        action: AuditAction,
        item: Item,
        justification: str,
        order_id: int | None = None,
    ) -> None:
        account, country, post = item
        self.audits.append(
            AuditRecord(
                at=self.now,
                actor=actor,
                action=action,
                account=account,
                country=country,
                order_id=order_id,
                justification=justification,
                post=post,
            )
        )

    def withheld(self, item: Item, rule_id: int) -> None:
        account, country, post = item
        self.entries.append(
            LogEntry(ChangeOp.WITHHOLD, account, country, rule_id, self.now, post=post)
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
) -> LogEntry:
    rule.lifted_at = at
    rule.lift_reason = reason.value
    rule.lift_note = note
    rule.lifted_by = actor
    rule.updated_at = at
    return LogEntry(ChangeOp.LIFT, rule.account_id, rule.country, rule.id, at, post=rule.post_id)


def _check_authors(session: Session, items: Sequence[Item]) -> None:
    """Every post in ``items`` is named with the author its rules (active or lifted) name, and
    with one author throughout; else :class:`AuthorConflictError`, before anything is written."""
    named: dict[int, int] = {}
    for account, _, post in items:
        if post is None:
            continue
        earlier = named.setdefault(post, account)
        if earlier != account:
            raise AuthorConflictError(post, earlier, account)
    if not named:
        return
    for post, author in withholdings.authors_of(session, named).items():
        if author != named[post]:
            raise AuthorConflictError(post, author, named[post])


def _new_rule_row(
    item: Item,
    terms: RuleTerms,
    *,
    actor: str,
    now: datetime,
    order_id: int | None = None,
) -> dict[str, Any]:
    account, country, post = item
    return {
        "account_id": account,
        "country": country,
        "post_id": post,
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
    post: int | None = None,
) -> WithholdOutcome:
    """Withhold ``account`` in ``country`` (with ``post``: only that post, by ``account``); on an
    already active rule, update its terms."""
    item: Item = (account, country, post)
    write = _Write(changelog.lock_head(session), now)
    _check_authors(session, [item])
    rule = withholdings.get_active(session, key_of(item))
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
        write.record(actor, AuditAction.UPDATE, item, terms.reason, rule.order_id)
        return WithholdOutcome(rule=rule, created=False, result=write.flush_to(session))
    (rule_id,) = withholdings.insert_many(
        session, [_new_rule_row(item, terms, actor=actor, now=now)]
    )
    write.withheld(item, rule_id)
    write.record(actor, AuditAction.WITHHOLD, item, terms.reason)
    result = write.flush_to(session)
    created = session.get_one(Withholding, rule_id)
    return WithholdOutcome(rule=created, created=True, result=result)


def lift(
    session: Session,
    *,
    country: str,
    reason: LiftCause,
    actor: str,
    now: datetime,
    account: int | None = None,
    post: int | None = None,
    note: str | None = None,
) -> LiftOutcome:
    """Lift the active rule of ``account`` (or of ``post``) in ``country``, keeping ``reason``
    and ``note``. A rule found already past its expiry is recorded as expired instead, and the
    outcome has no rule: there was nothing left to lift."""
    write = _Write(changelog.lock_head(session), now)
    rule = withholdings.get_active(session, subject_key(country, account=account, post=post))
    if rule is None:
        return LiftOutcome(rule=None, result=WriteResult(changes=(), revision=write.head))
    if _is_due(rule, now):
        write.expire(rule)
        return LiftOutcome(rule=None, result=write.flush_to(session))
    write.entries.append(_mark_lifted(rule, at=now, reason=reason, actor=actor, note=note))
    item = (rule.account_id, rule.country, rule.post_id)
    write.record(actor, AuditAction.LIFT, item, lift_justification(reason, note), rule.order_id)
    return LiftOutcome(rule=rule, result=write.flush_to(session))


def _withhold_items(
    session: Session,
    write: _Write,
    terms_of: dict[Item, RuleTerms],
    *,
    actor: str,
    update_active: bool,
    order_id: int | None = None,
) -> tuple[dict[RuleKey, Withholding], dict[RuleKey, int]]:
    """Create a rule for every item not already active (expiring due ones first); replace the
    terms of active ones when ``update_active``. Returns (active before, created ids), by key."""
    now = write.now
    _check_authors(session, list(terms_of))
    item_of = {key_of(item): item for item in terms_of}
    active = withholdings.list_active_among(session, list(item_of))
    for rule in active.values():
        if _is_due(rule, now):
            write.expire(rule)
    session.flush()
    active = {key: rule for key, rule in active.items() if rule.lifted_at is None}
    if update_active:
        by_terms: dict[RuleTerms, list[int]] = {}
        for key, rule in active.items():
            by_terms.setdefault(terms_of[item_of[key]], []).append(rule.id)
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
    new_keys = [key for key in item_of if key not in active]
    created_ids = withholdings.insert_many(
        session,
        [
            _new_rule_row(
                item_of[key], terms_of[item_of[key]], actor=actor, now=now, order_id=order_id
            )
            for key in new_keys
        ],
    )
    created = dict(zip(new_keys, created_ids, strict=True))
    for key, rule_id in created.items():
        write.withheld(item_of[key], rule_id)
    return active, created


def bulk_withhold(
    session: Session,
    *,
    items: Sequence[Item],
    terms: RuleTerms | Sequence[RuleTerms],
    actor: str,
    now: datetime,
) -> BulkOutcome:
    """Withhold every item in one transaction; active ones get the new terms.

    ``terms`` is one set for every item, or one per item (a CSV import); when an item repeats,
    its last terms win. The audit log gets one entry per distinct item (``withhold`` or
    ``update``).
    """
    write = _Write(changelog.lock_head(session), now)
    if isinstance(terms, RuleTerms):
        terms_of = dict.fromkeys(items, terms)
    else:
        terms_of = dict(zip(items, terms, strict=True))
    active, created = _withhold_items(session, write, terms_of, actor=actor, update_active=True)
    for item, item_terms in terms_of.items():
        existing = active.get(key_of(item))
        if existing is not None:
            write.record(actor, AuditAction.UPDATE, item, item_terms.reason, existing.order_id)
        else:
            write.record(actor, AuditAction.WITHHOLD, item, item_terms.reason)
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
    items: Sequence[Item],
    terms: RuleTerms,
    order_id: int,
    actor: str,
    now: datetime,
) -> OrderRules:
    """Rules for an order's decisions: new ones carry ``order_id``; an already active rule is
    kept as it is (its own terms and provenance). The caller holds the changelog head (``head``)
    and audits the decisions; only expiries found on the way are audited here."""
    write = _Write(head, now)
    terms_of = dict.fromkeys(items, terms)
    active, created = _withhold_items(
        session, write, terms_of, actor=actor, update_active=False, order_id=order_id
    )
    rule_of = {key: rule.id for key, rule in active.items()}
    rule_of.update(created)
    return OrderRules(rule_of=rule_of, created=frozenset(created), result=write.flush_to(session))


def expire_due(session: Session, *, now: datetime, limit: int = 5000) -> WriteResult:
    """Lift every rule whose ``expires_at`` has passed, recording the lift at that instant."""
    head = changelog.lock_head(session)
    count = expiries.lift_due(session, head=head, now=now, limit=limit, actor=SYSTEM_EXPIRY_ACTOR)
    if not count:
        return WriteResult(changes=(), revision=head)
    changelog.advance_head(session, head + count)
    changes = changelog.list_after(session, head, limit=count)
    return WriteResult(changes=tuple(changes), revision=head + count)


def rules_of(
    session: Session, *, subject: Subject, subject_id: int, include_lifted: bool
) -> SubjectRules:
    """An account's or a post's rules as anyone may read them, and where it is withheld now."""
    rules = withholdings.list_for(
        session, subject=subject, subject_id=subject_id, include_lifted=include_lifted
    )
    if subject is Subject.POST:
        authors = withholdings.authors_of(session, [subject_id])
        account = authors.get(subject_id)
    else:
        account = subject_id
    return SubjectRules(
        account=account,
        withheld_in_countries=sorted({rule.country for rule in rules if rule.lifted_at is None}),
        rules=disclosure.disclosed_rules(session, rules),
    )
