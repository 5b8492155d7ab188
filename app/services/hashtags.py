"""The rules of hashtag restrictions: restrict, update, lift, expire, read. A restricted hashtag
may not trend nor appear as a suggested search term in that country (``XX``: anywhere); posts
using it stay visible (``/visible`` never looks here). No HTTP, no commit: the caller's unit of
work commits.

A restriction has everything a rule has, through the same machinery: every write first locks the
changelog head (writers take turns) and appends changelog entries (``hashtag`` set, ``withhold``
for a restriction) and audit records in the same transaction; restrictions created for a legal
order carry its id and the terms ``services.disclosure`` gives them; ``expire_due`` is called by
the same expiry loop as the rules'. Hashtags arrive normalised (``identifiers.parse_hashtag``).
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
    Change,
    ChangeOp,
    LiftCause,
    LogEntry,
    WriteResult,
)
from app.iso3166 import ALL_COUNTRIES, COUNTRY_NAMES
from app.models import HashtagRestriction, LegalOrder
from app.repositories import audit, changelog, hashtags, orders
from app.repositories.hashtags import RestrictionKey
from app.services import disclosure
from app.services.disclosure import Disclosed, Sealed
from app.services.withholdings import SYSTEM_EXPIRY_ACTOR, RuleTerms, lift_justification


@dataclass(frozen=True, slots=True)
class RestrictOutcome:
    restriction: HashtagRestriction
    created: bool
    result: WriteResult


@dataclass(frozen=True, slots=True)
class LiftOutcome:
    """``restriction`` is None when nothing was active (possibly because it had just expired)."""

    restriction: HashtagRestriction | None
    result: WriteResult


@dataclass(frozen=True, slots=True)
class OrderRestrictions:
    """The restrictions an order's decisions asked for: each key's restriction id, which are new."""

    restriction_of: dict[RestrictionKey, int]
    created: frozenset[RestrictionKey]
    result: WriteResult


@dataclass(frozen=True, slots=True)
class HashtagRestrictions:
    """A hashtag's restrictions as anyone may read them, and where it is restricted now."""

    hashtag: str
    restricted_in_countries: list[str]
    restrictions: list[Disclosed[HashtagRestriction]]


@dataclass(frozen=True, slots=True)
class RestrictionWithOrder:
    """A restriction behind an answer and its order as an explanation may show it."""

    restriction: HashtagRestriction
    order: LegalOrder | Sealed | None


@dataclass
class _Write:
    """One write transaction in the making: its changelog entries and its audit records."""

    head: int
    now: datetime
    entries: list[LogEntry] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)

    def record(
        self,
        actor: str,
        action: AuditAction,
        key: RestrictionKey,
        justification: str,
        order_id: int | None = None,
    ) -> None:
        hashtag, country = key
        self.audits.append(
            AuditRecord(
                at=self.now,
                actor=actor,
                action=action,
                hashtag=hashtag,
                country=country,
                order_id=order_id,
                justification=justification,
            )
        )

    def restricted(self, restriction: HashtagRestriction) -> None:
        self.entries.append(
            LogEntry(
                ChangeOp.WITHHOLD,
                None,
                restriction.country,
                None,
                self.now,
                hashtag=restriction.hashtag,
                restriction_id=restriction.id,
            )
        )

    def lifted(
        self,
        restriction: HashtagRestriction,
        *,
        at: datetime,
        reason: LiftCause,
        actor: str,
        note: str | None = None,
    ) -> None:
        restriction.lifted_at = at
        restriction.lift_reason = reason.value
        restriction.lift_note = note
        restriction.lifted_by = actor
        restriction.updated_at = at
        self.entries.append(
            LogEntry(
                ChangeOp.LIFT,
                None,
                restriction.country,
                None,
                at,
                hashtag=restriction.hashtag,
                restriction_id=restriction.id,
            )
        )

    def expire(self, restriction: HashtagRestriction) -> None:
        assert restriction.expires_at is not None
        expires_at = restriction.expires_at
        self.lifted(restriction, at=expires_at, reason=LiftCause.EXPIRED, actor=SYSTEM_EXPIRY_ACTOR)
        self.record(
            SYSTEM_EXPIRY_ACTOR,
            AuditAction.EXPIRE,
            (restriction.hashtag, restriction.country),
            f"expired at {expires_at.isoformat()}",
            restriction.order_id,
        )

    def flush_to(self, session: Session) -> WriteResult:
        audit.append(session, self.audits)
        changes: list[Change] = changelog.append(session, head=self.head, entries=self.entries)
        return WriteResult(
            changes=tuple(changes), revision=changes[-1].revision if changes else self.head
        )


def _is_due(restriction: HashtagRestriction, now: datetime) -> bool:
    return restriction.expires_at is not None and restriction.expires_at <= now


def _new_row(
    key: RestrictionKey,
    terms: RuleTerms,
    *,
    actor: str,
    now: datetime,
    order_id: int | None = None,
) -> dict[str, Any]:
    hashtag, country = key
    return {
        "hashtag": hashtag,
        "country": country,
        "reason": terms.reason,
        "order_ref": terms.order_ref,
        "created_at": now,
        "updated_at": now,
        "expires_at": terms.expires_at,
        "created_by": actor,
        "order_id": order_id,
    }


def restrict(
    session: Session,
    *,
    hashtag: str,
    country: str,
    terms: RuleTerms,
    actor: str,
    now: datetime,
) -> RestrictOutcome:
    """Restrict ``hashtag`` in ``country``; on an already active restriction, update its terms."""
    key = (hashtag, country)
    write = _Write(changelog.lock_head(session), now)
    restriction = hashtags.get_active(session, key)
    if restriction is not None and _is_due(restriction, now):
        write.expire(restriction)
        session.flush()  # the partial unique index must see the old one lifted first
        restriction = None
    if restriction is not None:
        restriction.reason = terms.reason
        restriction.order_ref = terms.order_ref
        restriction.expires_at = terms.expires_at
        restriction.updated_at = now
        session.flush()
        write.record(actor, AuditAction.UPDATE, key, terms.reason, restriction.order_id)
        return RestrictOutcome(restriction, created=False, result=write.flush_to(session))
    created = hashtags.insert_one(session, _new_row(key, terms, actor=actor, now=now))
    write.restricted(created)
    write.record(actor, AuditAction.RESTRICT, key, terms.reason)
    return RestrictOutcome(created, created=True, result=write.flush_to(session))


def lift(
    session: Session,
    *,
    hashtag: str,
    country: str,
    reason: LiftCause,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> LiftOutcome:
    """Lift the active restriction of ``hashtag`` in ``country``, keeping ``reason`` and
    ``note``. One found already past its expiry is recorded as expired instead, and the outcome
    has no restriction: there was nothing left to lift."""
    key = (hashtag, country)
    write = _Write(changelog.lock_head(session), now)
    restriction = hashtags.get_active(session, key)
    if restriction is None:
        return LiftOutcome(None, WriteResult(changes=(), revision=write.head))
    if _is_due(restriction, now):
        write.expire(restriction)
        return LiftOutcome(None, write.flush_to(session))
    write.lifted(restriction, at=now, reason=reason, actor=actor, note=note)
    write.record(
        actor, AuditAction.LIFT, key, lift_justification(reason, note), restriction.order_id
    )
    return LiftOutcome(restriction, write.flush_to(session))


def restrict_for_order(
    session: Session,
    *,
    head: int,
    keys: Sequence[RestrictionKey],
    terms: RuleTerms,
    order_id: int,
    actor: str,
    now: datetime,
) -> OrderRestrictions:
    """Restrictions for an order's decisions: new ones carry ``order_id``; an already active one
    is kept as it is (its own terms and provenance). The caller holds the changelog head
    (``head``) and audits the decisions; only expiries found on the way are audited here."""
    write = _Write(head, now)
    wanted = list(dict.fromkeys(keys))
    active = hashtags.list_active_among(session, wanted)
    for restriction in active.values():
        if _is_due(restriction, now):
            write.expire(restriction)
    session.flush()
    active = {key: r for key, r in active.items() if r.lifted_at is None}
    new_keys = [key for key in wanted if key not in active]
    created = hashtags.insert_many(
        session,
        [_new_row(key, terms, actor=actor, now=now, order_id=order_id) for key in new_keys],
    )
    for restriction in created:
        write.restricted(restriction)
    restriction_of = {key: r.id for key, r in active.items()}
    restriction_of.update({key: r.id for key, r in zip(new_keys, created, strict=True)})
    return OrderRestrictions(
        restriction_of=restriction_of,
        created=frozenset(new_keys),
        result=write.flush_to(session),
    )


def expire_due(session: Session, *, now: datetime, limit: int = 5000) -> WriteResult:
    """Lift every restriction whose ``expires_at`` has passed, recorded at that instant."""
    write = _Write(changelog.lock_head(session), now)
    for restriction in hashtags.list_due(session, now=now, limit=limit):
        write.expire(restriction)
    return write.flush_to(session)


def restrictions_of(session: Session, *, hashtag: str, include_lifted: bool) -> HashtagRestrictions:
    """A hashtag's restrictions as anyone may read them, and where it is restricted now."""
    found = hashtags.list_for(session, hashtag=hashtag, include_lifted=include_lifted)
    return HashtagRestrictions(
        hashtag=hashtag,
        restricted_in_countries=sorted({r.country for r in found if r.lifted_at is None}),
        restrictions=disclosure.disclosed(session, found),
    )


def _with_orders(session: Session, found: list[HashtagRestriction]) -> list[RestrictionWithOrder]:
    by_id = orders.get_many(session, [r.order_id for r in found if r.order_id is not None])
    return [
        RestrictionWithOrder(
            r,
            disclosure.explained_order(by_id.get(r.order_id) if r.order_id is not None else None),
        )
        for r in found
    ]


def active_restrictions(
    session: Session, *, hashtag: str, country: str
) -> list[RestrictionWithOrder]:
    """The active restrictions keeping ``hashtag`` from trending in ``country``: its own, XX."""
    found = hashtags.list_active_in(session, hashtag=hashtag, countries=[country, ALL_COUNTRIES])
    return _with_orders(session, found)


def restrictions_at(
    session: Session, *, hashtag: str, country: str, at: datetime
) -> list[RestrictionWithOrder]:
    """The restrictions that kept ``hashtag`` from trending in ``country`` at instant ``at``."""
    found = hashtags.list_in_force_at(
        session, hashtag=hashtag, countries=[country, ALL_COUNTRIES], at=at
    )
    return _with_orders(session, found)


def eligibility_message(
    hashtag: str, country: str, *, eligible: bool, restrictions: list[RestrictionWithOrder]
) -> str:
    """What the answer means, in a sentence (for trust-and-safety tooling, not for viewers)."""
    name = COUNTRY_NAMES.get(country, country)
    if eligible:
        return f"#{hashtag} may trend and be suggested in {name}."
    where = (
        "in all countries"
        if any(item.restriction.country == ALL_COUNTRIES for item in restrictions)
        else f"in {name}"
    )
    legal = any(
        item.restriction.order_id is not None or item.restriction.order_ref for item in restrictions
    )
    why = " in response to a legal demand" if legal else ""
    return f"#{hashtag} is restricted {where}{why}: it may not trend nor be suggested."
