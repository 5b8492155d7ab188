"""Rules lifted because their ``expires_at`` passed, in three set-based statements.

A mass expiry (100,000 rules due at one instant) must be lifted within 2 s and without holding
up lookups: the writer thread must not build, convert and bind a changelog row and an audit row
per rule in Python while it holds the GIL. Here the database numbers the lifts into the
changelog, writes their audit entries and marks the rules lifted, each in one statement; only
the changes come back, for the index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from app.db import UTCDateTime
from app.domain import AuditAction, ChangeOp, LiftCause

_DUE = (
    "SELECT id FROM withholding"
    " WHERE lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= :now"
    " ORDER BY expires_at, id LIMIT :limit"
)

# The changelog numbers lifts in expiry order, right after the head the caller locked.
_LOG = text(
    "INSERT INTO changelog (revision, op, account_id, country, at, rule_id, post_id)"  # noqa: S608
    " SELECT :head + ROW_NUMBER() OVER (ORDER BY expires_at, id), :op,"
    " account_id, country, expires_at, id, post_id"
    f" FROM withholding WHERE id IN ({_DUE})"
).bindparams(bindparam("now", type_=UTCDateTime()))

# The same justification Python writes: "expired at " + expires_at.isoformat() (an aware UTC
# datetime: microseconds only when there are some, then "+00:00").
_ISOFORMAT = {
    # SQLite holds naive UTC text, always with six digits of microseconds.
    "sqlite": (
        "replace(CASE WHEN substr(w.expires_at, 21, 6) = '000000'"
        " THEN substr(w.expires_at, 1, 19) ELSE w.expires_at END, ' ', 'T') || '+00:00'"
    ),
    "postgresql": (
        "to_char(w.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        " || CASE WHEN to_char(w.expires_at AT TIME ZONE 'UTC', 'US') = '000000' THEN ''"
        " ELSE to_char(w.expires_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
    ),
}


def _audit(dialect: str) -> str:
    return (
        "INSERT INTO audit_entry"  # noqa: S608 - constant SQL, one fragment per dialect
        " (at, actor, action, account_id, country, order_id, justification, post_id)"
        " SELECT :now, :actor, :action, c.account_id, c.country, w.order_id,"
        f" 'expired at ' || {_ISOFORMAT[dialect]}, c.post_id"
        " FROM changelog c JOIN withholding w ON w.id = c.rule_id"
        " WHERE c.revision > :head ORDER BY c.revision"
    )


_LIFT = text(
    "UPDATE withholding SET lifted_at = expires_at, updated_at = expires_at,"
    " lift_reason = :reason, lift_note = NULL, lifted_by = :actor"
    " WHERE id IN (SELECT rule_id FROM changelog WHERE revision > :head)"
)


def lift_due(session: Session, *, head: int, now: datetime, limit: int, actor: str) -> int:
    """Lift up to ``limit`` active rules due at ``now``, each at its own ``expires_at``: their
    lifts become changelog entries ``head + 1 …`` (the caller holds the head and moves it),
    each with an audit entry by ``actor``. Returns how many."""
    logged = session.execute(
        _LOG, {"head": head, "op": ChangeOp.LIFT.value, "now": now, "limit": limit}
    )
    count = int(logged.rowcount)  # type: ignore[attr-defined]
    if not count:
        return 0
    dialect = session.get_bind().dialect.name
    audit = text(_audit(dialect)).bindparams(bindparam("now", type_=UTCDateTime()))
    session.execute(
        audit, {"head": head, "now": now, "actor": actor, "action": AuditAction.EXPIRE.value}
    )
    session.execute(_LIFT, {"head": head, "reason": LiftCause.EXPIRED.value, "actor": actor})
    return count
