"""Posts: a rule may withhold one post (by its author) instead of a whole account.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A post rule is a ``withholding`` row with ``post_id`` set and ``account_id`` its author, so every
rule keeps one home (expiry, lifting, history, provenance, the changelog's foreign key). The
active-rule uniqueness splits in two partial indexes: one account rule per (account, country),
one post rule per (post, country). ``changelog``, ``decision`` and ``audit_entry`` gain a nullable
``post_id``. Plain ``ADD COLUMN`` and ``DROP COLUMN`` on both databases, never a batch copy (see
0003).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "lifted_at IS NULL"
ACCOUNT_RULE_ACTIVE = sa.text("lifted_at IS NULL AND post_id IS NULL")
POST_RULE_ACTIVE = sa.text("lifted_at IS NULL AND post_id IS NOT NULL")
TABLES = ("withholding", "changelog", "decision", "audit_entry")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.add_column(sa.Column("post_id", sa.BigInteger(), nullable=True))
    op.drop_index("uq_withholding_active", table_name="withholding")
    op.create_index(
        "uq_withholding_active",
        "withholding",
        ["account_id", "country"],
        unique=True,
        sqlite_where=ACCOUNT_RULE_ACTIVE,
        postgresql_where=ACCOUNT_RULE_ACTIVE,
    )
    op.create_index(
        "uq_withholding_post_active",
        "withholding",
        ["post_id", "country"],
        unique=True,
        sqlite_where=POST_RULE_ACTIVE,
        postgresql_where=POST_RULE_ACTIVE,
    )
    op.create_index("ix_withholding_post_id", "withholding", ["post_id"])
    op.create_index("ix_decision_post_id", "decision", ["post_id"])
    op.create_index("ix_audit_entry_post_id", "audit_entry", ["post_id"])


def downgrade() -> None:
    # Post rules cannot be represented before this revision: they go with their column.
    op.execute("DELETE FROM changelog WHERE post_id IS NOT NULL")
    op.execute("UPDATE decision SET rule_id = NULL WHERE post_id IS NOT NULL")
    op.execute("DELETE FROM decision WHERE post_id IS NOT NULL")
    op.execute("DELETE FROM withholding WHERE post_id IS NOT NULL")
    op.drop_index("ix_audit_entry_post_id", table_name="audit_entry")
    op.drop_index("ix_decision_post_id", table_name="decision")
    op.drop_index("ix_withholding_post_id", table_name="withholding")
    op.drop_index("uq_withholding_post_active", table_name="withholding")
    op.drop_index("uq_withholding_active", table_name="withholding")
    op.create_index(
        "uq_withholding_active",
        "withholding",
        ["account_id", "country"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    for table in reversed(TABLES):
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("post_id")
