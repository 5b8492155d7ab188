"""ORM tables. ``withholding`` is the truth; ``changelog`` is its ordered history, written in the
same transaction as every rule change; ``changelog_head`` is the single row writers lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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


class Withholding(Base):
    """One rule: ``account`` withheld in ``country`` (``XX`` = everywhere) until lifted.

    Rules are never deleted: lifting sets ``lifted_at``; withholding again creates a new row.
    At most one active row per (account, country), enforced by a partial unique index.
    """

    __tablename__ = "withholding"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
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

    __table_args__ = (
        CheckConstraint("account_id > 0", name="account_positive"),
        CheckConstraint("length(country) = 2", name="country_length"),
        Index(
            "uq_withholding_active",
            "account_id",
            "country",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index("ix_withholding_account_id", "account_id"),
        Index(
            "ix_withholding_expiring",
            "expires_at",
            sqlite_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
            postgresql_where=text("lifted_at IS NULL AND expires_at IS NOT NULL"),
        ),
    )


class ChangelogEntry(Base):
    """One visibility change, numbered in commit order (revisions come from ``changelog_head``)."""

    __tablename__ = "changelog"

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    op: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(BigInteger)
    country: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    rule_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("withholding.id")
    )

    __table_args__ = (CheckConstraint("op IN ('withhold', 'lift')", name="op_known"),)


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
