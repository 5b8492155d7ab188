"""ORM tables. ``withholding`` (and ``hashtag_restriction``) is the truth; ``changelog`` is its
ordered history, written in the same transaction as every rule change; ``changelog_head`` is the
single row writers lock. ``legal_order`` and ``decision`` say why a rule exists; ``audit_entry``
records every write, and is append-only (nothing updates or deletes it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

ACTIVE = text("lifted_at IS NULL")
ACCOUNT_RULE_ACTIVE = text("lifted_at IS NULL AND post_id IS NULL")
POST_RULE_ACTIVE = text("lifted_at IS NULL AND post_id IS NOT NULL")
# Most rows are about an account: a post's or a hashtag's index holds only the rows that have
# one (migration 0006 says why).
POST_SET = text("post_id IS NOT NULL")
HASHTAG_SET = text("hashtag IS NOT NULL")
# A changelog entry is of a rule or of a hashtag restriction; a decision names an account or a
# hashtag (migration 0005 writes the same text).
HASHTAG_OR_RULE = (
    "(hashtag IS NULL AND restriction_id IS NULL"
    " AND account_id IS NOT NULL AND rule_id IS NOT NULL)"
    " OR (hashtag IS NOT NULL AND restriction_id IS NOT NULL AND account_id IS NULL"
    " AND rule_id IS NULL AND post_id IS NULL)"
)
DECISION_ACTIONS = (
    "action IN ('withhold', 'withhold_global', 'decline', 'restrict', 'restrict_global')"
)
DECISION_SUBJECT = (
    "(hashtag IS NULL AND account_id IS NOT NULL AND action NOT IN ('restrict', 'restrict_global'))"
    " OR (hashtag IS NOT NULL AND account_id IS NULL AND post_id IS NULL AND rule_id IS NULL"
    " AND action NOT IN ('withhold', 'withhold_global'))"
)
# SQLite only aliases ROWID (and so autoincrements) for a column typed exactly INTEGER.
ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class LegalOrder(Base):
    """A legal demand received from an authority: the provenance of the rules it led to.

    A ``sealed`` order is never named in public views: it only counts in the transparency report.
    """

    __tablename__ = "legal_order"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    authority: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    document_url: Mapped[str | None] = mapped_column(String(2000))
    sealed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("length(country) = 2", name="country_length"),
        Index("ix_legal_order_country", "country"),
        Index("ix_legal_order_authority", "authority"),
        Index("ix_legal_order_received_at", "received_at"),
    )


class Withholding(Base):
    """One rule: ``account`` withheld in ``country`` (``XX`` = everywhere) until lifted; with
    ``post_id``, only that post (whose author is ``account``) is withheld.

    Rules are never deleted: lifting sets ``lifted_at``; withholding again creates a new row.
    At most one active account rule per (account, country) and one active post rule per
    (post, country), enforced by partial unique indexes.
    """

    __tablename__ = "withholding"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    country: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("legal_order.id"))
    lift_note: Mapped[str | None] = mapped_column(Text)
    post_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("account_id > 0", name="account_positive"),
        CheckConstraint("length(country) = 2", name="country_length"),
        Index(
            "uq_withholding_active",
            "account_id",
            "country",
            unique=True,
            sqlite_where=ACCOUNT_RULE_ACTIVE,
            postgresql_where=ACCOUNT_RULE_ACTIVE,
        ),
        Index(
            "uq_withholding_post_active",
            "post_id",
            "country",
            unique=True,
            sqlite_where=POST_RULE_ACTIVE,
            postgresql_where=POST_RULE_ACTIVE,
        ),
        Index("ix_withholding_account_id", "account_id"),
        Index(
            "ix_withholding_post_id", "post_id", sqlite_where=POST_SET, postgresql_where=POST_SET
        ),
        Index("ix_withholding_order_id", "order_id"),
        Index(
            "ix_withholding_expiring",
            "expires_at",
            sqlite_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
            postgresql_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
        ),
    )


class ChangelogEntry(Base):
    """One visibility change, numbered in commit order (revisions come from ``changelog_head``):
    of a rule (``account_id``, ``rule_id``), or of a hashtag restriction (``hashtag``,
    ``restriction_id``; ``op`` ``withhold`` is a restriction)."""

    __tablename__ = "changelog"

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    op: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    country: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    rule_id: Mapped[int | None] = mapped_column(ROW_ID, ForeignKey("withholding.id"))
    post_id: Mapped[int | None] = mapped_column(BigInteger)
    hashtag: Mapped[str | None] = mapped_column(String(100))
    restriction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hashtag_restriction.id")
    )

    __table_args__ = (
        CheckConstraint("op IN ('withhold', 'lift')", name="op_known"),
        CheckConstraint(HASHTAG_OR_RULE, name="rule_or_restriction"),
    )


class ChangelogHead(Base):
    """Exactly one row (id = 1): the last revision handed out. Writers lock it first."""

    __tablename__ = "changelog_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class IndexSnapshot(Base):
    """The whole index, serialized (``VisibilityIndex.to_bytes``), as of ``revision``.

    A starting process loads the newest one and replays only the changelog after it.
    """

    __tablename__ = "index_snapshot"

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pairs: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Decision(Base):
    """What was done about one account (or hashtag) named in an order; ``rule_id`` (or
    ``restriction_id``) is the rule it created or found already active (none for a decline)."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("legal_order.id"))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    rule_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("withholding.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    post_id: Mapped[int | None] = mapped_column(BigInteger)
    hashtag: Mapped[str | None] = mapped_column(String(100))
    restriction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("hashtag_restriction.id")
    )

    __table_args__ = (
        CheckConstraint("account_id > 0", name="account_positive"),
        CheckConstraint(DECISION_ACTIONS, name="action_known"),
        CheckConstraint(DECISION_SUBJECT, name="account_or_hashtag"),
        CheckConstraint(
            "category IS NULL OR category IN "
            "('news_media', 'journalist', 'activist', 'politician', 'other')",
            name="category_known",
        ),
        CheckConstraint("action <> 'decline' OR category IS NOT NULL", name="decline_has_category"),
        Index("ix_decision_order_id", "order_id"),
        Index("ix_decision_account_id", "account_id"),
        Index("ix_decision_post_id", "post_id", sqlite_where=POST_SET, postgresql_where=POST_SET),
        Index(
            "ix_decision_hashtag", "hashtag", sqlite_where=HASHTAG_SET, postgresql_where=HASHTAG_SET
        ),
    )


class AuditEntry(Base):
    """One write, as the audit log keeps it: append-only, in the order written."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    country: Mapped[str | None] = mapped_column(String(2))
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("legal_order.id"))
    justification: Mapped[str] = mapped_column(Text)
    post_id: Mapped[int | None] = mapped_column(BigInteger)
    hashtag: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_audit_entry_at", "at"),
        Index("ix_audit_entry_actor", "actor"),
        Index("ix_audit_entry_account_id", "account_id"),
        Index("ix_audit_entry_action", "action"),
        Index(
            "ix_audit_entry_post_id", "post_id", sqlite_where=POST_SET, postgresql_where=POST_SET
        ),
        Index(
            "ix_audit_entry_hashtag",
            "hashtag",
            sqlite_where=HASHTAG_SET,
            postgresql_where=HASHTAG_SET,
        ),
    )


class HashtagRestriction(Base):
    """One hashtag restricted in ``country`` (``XX`` = everywhere): it may not trend nor be
    suggested there. Posts using it stay visible: this restricts where it is promoted.

    Like a rule, never deleted (lifting sets ``lifted_at``), at most one active per (hashtag,
    country) by a partial unique index; ``hashtag`` is normalised (``identifiers``).
    """

    __tablename__ = "hashtag_restriction"

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    hashtag: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lift_reason: Mapped[str | None] = mapped_column(String(32))
    lift_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("legal_order.id"))

    __table_args__ = (
        CheckConstraint("length(country) = 2", name="country_length"),
        CheckConstraint("length(hashtag) BETWEEN 1 AND 100", name="hashtag_length"),
        Index(
            "uq_hashtag_restriction_active",
            "hashtag",
            "country",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index("ix_hashtag_restriction_order_id", "order_id"),
        Index(
            "ix_hashtag_restriction_expiring",
            "expires_at",
            sqlite_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
            postgresql_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
        ),
    )
