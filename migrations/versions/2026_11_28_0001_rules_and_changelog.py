"""Rules, their changelog and the changelog head.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("lifted_at IS NULL")
EXPIRING = sa.text("lifted_at IS NULL AND expires_at IS NOT NULL")
# SQLite only aliases ROWID (and so autoincrements) for a column typed exactly INTEGER.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "withholding",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("order_ref", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("lifted_by", sa.String(200), nullable=True),
        sa.CheckConstraint("account_id > 0", name=op.f("ck_withholding_account_positive")),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_withholding_country_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withholding")),
    )
    op.create_index(
        "uq_withholding_active",
        "withholding",
        ["account_id", "country"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_withholding_account_id", "withholding", ["account_id"])
    op.create_index(
        "ix_withholding_expiring",
        "withholding",
        ["expires_at"],
        sqlite_where=EXPIRING,
        postgresql_where=EXPIRING,
    )

    op.create_table(
        "changelog",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", ROW_ID, nullable=False),
        sa.CheckConstraint("op IN ('withhold', 'lift')", name=op.f("ck_changelog_op_known")),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["withholding.id"], name=op.f("fk_changelog_rule_id_withholding")
        ),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_changelog")),
    )

    op.create_table(
        "changelog_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_changelog_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changelog_head")),
    )
    op.execute("INSERT INTO changelog_head (id, revision) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("changelog_head")
    op.drop_table("changelog")
    op.drop_index("ix_withholding_expiring", table_name="withholding")
    op.drop_index("ix_withholding_account_id", table_name="withholding")
    op.drop_index("uq_withholding_active", table_name="withholding")
    op.drop_table("withholding")
