"""Legal orders, decisions on them, rule provenance and the audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

``withholding`` gains two nullable columns with a plain ``ALTER TABLE … ADD COLUMN`` on both
databases, never a batch copy of the table: copying would be slow on a large rule set, and on
SQLite dropping the old table trips the changelog's foreign key to it. ``order_id`` is added with
an inline, named ``REFERENCES`` (the one form both databases accept in ADD COLUMN, and Alembic
cannot add a constraint to an existing SQLite table); ``DROP COLUMN`` takes it away again on both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only aliases ROWID (and so autoincrements) for a column typed exactly INTEGER.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ORDER_FK = "fk_withholding_order_id_legal_order"


def upgrade() -> None:
    op.create_table(
        "legal_order",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("legal_basis", sa.String(500), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_url", sa.String(2000), nullable=True),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_legal_order_country_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_order")),
    )
    op.create_index("ix_legal_order_country", "legal_order", ["country"])
    op.create_index("ix_legal_order_authority", "legal_order", ["authority"])
    op.create_index("ix_legal_order_received_at", "legal_order", ["received_at"])

    op.execute(
        f"ALTER TABLE withholding ADD COLUMN order_id BIGINT "
        f"CONSTRAINT {ORDER_FK} REFERENCES legal_order (id)"
    )
    with op.batch_alter_table("withholding", recreate="never") as batch:
        batch.add_column(sa.Column("lift_note", sa.Text(), nullable=True))
    op.create_index("ix_withholding_order_id", "withholding", ["order_id"])

    op.create_table(
        "decision",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.CheckConstraint("account_id > 0", name=op.f("ck_decision_account_positive")),
        sa.CheckConstraint(
            "action IN ('withhold', 'withhold_global', 'decline')",
            name=op.f("ck_decision_action_known"),
        ),
        sa.CheckConstraint(
            "category IS NULL OR category IN "
            "('news_media', 'journalist', 'activist', 'politician', 'other')",
            name=op.f("ck_decision_category_known"),
        ),
        sa.CheckConstraint(
            "action <> 'decline' OR category IS NOT NULL",
            name=op.f("ck_decision_decline_has_category"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["legal_order.id"], name=op.f("fk_decision_order_id_legal_order")
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["withholding.id"], name=op.f("fk_decision_rule_id_withholding")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    op.create_index("ix_decision_order_id", "decision", ["order_id"])
    op.create_index("ix_decision_account_id", "decision", ["account_id"])

    op.create_table(
        "audit_entry",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["legal_order.id"], name=op.f("fk_audit_entry_order_id_legal_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_index("ix_audit_entry_actor", "audit_entry", ["actor"])
    op.create_index("ix_audit_entry_account_id", "audit_entry", ["account_id"])
    op.create_index("ix_audit_entry_action", "audit_entry", ["action"])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_action", table_name="audit_entry")
    op.drop_index("ix_audit_entry_account_id", table_name="audit_entry")
    op.drop_index("ix_audit_entry_actor", table_name="audit_entry")
    op.drop_index("ix_audit_entry_at", table_name="audit_entry")
    op.drop_table("audit_entry")
    op.drop_index("ix_decision_account_id", table_name="decision")
    op.drop_index("ix_decision_order_id", table_name="decision")
    op.drop_table("decision")
    op.drop_index("ix_withholding_order_id", table_name="withholding")
    with op.batch_alter_table("withholding", recreate="never") as batch:
        batch.drop_column("lift_note")
        batch.drop_column("order_id")
    op.drop_index("ix_legal_order_received_at", table_name="legal_order")
    op.drop_index("ix_legal_order_authority", table_name="legal_order")
    op.drop_index("ix_legal_order_country", table_name="legal_order")
    op.drop_table("legal_order")
