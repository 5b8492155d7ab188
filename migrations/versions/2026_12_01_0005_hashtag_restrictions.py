"""Hashtag restrictions: a hashtag may not trend nor be suggested in a country.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

A restriction is a row of its own table, ``hashtag_restriction``, not a ``withholding`` row: it
has no account, and ``withholding`` is never batch-copied (see 0003). Its history lives in the one
``changelog`` (one sequence of revisions for every kind of change, so the follower, the feed and
their coherence guarantees need nothing new): an entry is of a rule (``account_id``, ``rule_id``)
or of a restriction (``hashtag``, ``restriction_id``), a CHECK says which. ``op`` stays
``withhold``/``lift`` (the feed shows a restriction's ``withhold`` as ``restrict``). A decision
names an account or a hashtag (``hashtag``, ``restriction_id``), and the actions widen to
``restrict``/``restrict_global``; ``audit_entry`` gains a nullable ``hashtag``.

That makes ``changelog.account_id``/``rule_id`` and ``decision.account_id`` nullable and changes
two CHECKs, which SQLite can only do by copying the table: ``changelog`` and ``decision`` are
referenced by no other table, so the copy is safe (Alembic's batch mode; the tables as 0004 left
them are spelled out below, not reflected, so the copy is the same on every database). On
PostgreSQL the same operations are plain ``ALTER TABLE``. ``audit_entry`` only gains a column.
Downgrading drops every hashtag row first: they cannot be represented before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only aliases ROWID (and so autoincrements) for a column typed exactly INTEGER.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("lifted_at IS NULL")
EXPIRING = sa.text("lifted_at IS NULL AND expires_at IS NOT NULL")
OLD_ACTIONS = "action IN ('withhold', 'withhold_global', 'decline')"
NEW_ACTIONS = "action IN ('withhold', 'withhold_global', 'decline', 'restrict', 'restrict_global')"
RULE_OR_RESTRICTION = (
    "(hashtag IS NULL AND restriction_id IS NULL"
    " AND account_id IS NOT NULL AND rule_id IS NOT NULL)"
    " OR (hashtag IS NOT NULL AND restriction_id IS NOT NULL AND account_id IS NULL"
    " AND rule_id IS NULL AND post_id IS NULL)"
)
ACCOUNT_OR_HASHTAG = (
    "(hashtag IS NULL AND account_id IS NOT NULL AND action NOT IN ('restrict', 'restrict_global'))"
    " OR (hashtag IS NOT NULL AND account_id IS NULL AND post_id IS NULL AND rule_id IS NULL"
    " AND action NOT IN ('withhold', 'withhold_global'))"
)


def _changelog_0004() -> sa.Table:
    return sa.Table(
        "changelog",
        sa.MetaData(),
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", ROW_ID, nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("op IN ('withhold', 'lift')", name="ck_changelog_op_known"),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["withholding.id"], name="fk_changelog_rule_id_withholding"
        ),
        sa.PrimaryKeyConstraint("revision", name="pk_changelog"),
    )


def _decision_0004() -> sa.Table:
    return sa.Table(
        "decision",
        sa.MetaData(),
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("account_id > 0", name="ck_decision_account_positive"),
        sa.CheckConstraint(OLD_ACTIONS, name="ck_decision_action_known"),
        sa.CheckConstraint(
            "category IS NULL OR category IN "
            "('news_media', 'journalist', 'activist', 'politician', 'other')",
            name="ck_decision_category_known",
        ),
        sa.CheckConstraint(
            "action <> 'decline' OR category IS NOT NULL",
            name="ck_decision_decline_has_category",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["legal_order.id"], name="fk_decision_order_id_legal_order"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["withholding.id"], name="fk_decision_rule_id_withholding"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decision"),
        sa.Index("ix_decision_order_id", "order_id"),
        sa.Index("ix_decision_account_id", "account_id"),
        sa.Index("ix_decision_post_id", "post_id"),
    )


def upgrade() -> None:
    op.create_table(
        "hashtag_restriction",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("hashtag", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("order_ref", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.String(32), nullable=True),
        sa.Column("lift_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("lifted_by", sa.String(200), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "length(country) = 2", name=op.f("ck_hashtag_restriction_country_length")
        ),
        sa.CheckConstraint(
            "length(hashtag) BETWEEN 1 AND 100", name=op.f("ck_hashtag_restriction_hashtag_length")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["legal_order.id"],
            name=op.f("fk_hashtag_restriction_order_id_legal_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hashtag_restriction")),
    )
    op.create_index(
        "uq_hashtag_restriction_active",
        "hashtag_restriction",
        ["hashtag", "country"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index("ix_hashtag_restriction_order_id", "hashtag_restriction", ["order_id"])
    op.create_index(
        "ix_hashtag_restriction_expiring",
        "hashtag_restriction",
        ["expires_at"],
        sqlite_where=EXPIRING,
        postgresql_where=EXPIRING,
    )

    with op.batch_alter_table("changelog", copy_from=_changelog_0004()) as batch:
        batch.alter_column("account_id", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("rule_id", existing_type=ROW_ID, nullable=True)
        batch.add_column(sa.Column("hashtag", sa.String(100), nullable=True))
        batch.add_column(sa.Column("restriction_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_changelog_restriction_id_hashtag_restriction"),
            "hashtag_restriction",
            ["restriction_id"],
            ["id"],
        )
        batch.create_check_constraint(op.f("ck_changelog_rule_or_restriction"), RULE_OR_RESTRICTION)

    with op.batch_alter_table("decision", copy_from=_decision_0004()) as batch:
        batch.alter_column("account_id", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("hashtag", sa.String(100), nullable=True))
        batch.add_column(sa.Column("restriction_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_decision_restriction_id_hashtag_restriction"),
            "hashtag_restriction",
            ["restriction_id"],
            ["id"],
        )
        batch.drop_constraint(op.f("ck_decision_action_known"), type_="check")
        batch.create_check_constraint(op.f("ck_decision_action_known"), NEW_ACTIONS)
        batch.create_check_constraint(op.f("ck_decision_account_or_hashtag"), ACCOUNT_OR_HASHTAG)
    op.create_index("ix_decision_hashtag", "decision", ["hashtag"])

    with op.batch_alter_table("audit_entry", recreate="never") as batch:
        batch.add_column(sa.Column("hashtag", sa.String(100), nullable=True))
    op.create_index("ix_audit_entry_hashtag", "audit_entry", ["hashtag"])


def _changelog_0005() -> sa.Table:
    table = _changelog_0004()
    table.c.account_id.nullable = True
    table.c.rule_id.nullable = True
    table.append_column(sa.Column("hashtag", sa.String(100), nullable=True))
    table.append_column(sa.Column("restriction_id", sa.BigInteger(), nullable=True))
    table.append_constraint(
        sa.ForeignKeyConstraint(
            ["restriction_id"],
            ["hashtag_restriction.id"],
            name="fk_changelog_restriction_id_hashtag_restriction",
        )
    )
    table.append_constraint(
        sa.CheckConstraint(RULE_OR_RESTRICTION, name="ck_changelog_rule_or_restriction")
    )
    return table


def _decision_0005() -> sa.Table:
    table = _decision_0004()
    table.c.account_id.nullable = True
    table.append_column(sa.Column("hashtag", sa.String(100), nullable=True))
    table.append_column(sa.Column("restriction_id", sa.BigInteger(), nullable=True))
    for constraint in list(table.constraints):
        if constraint.name == "ck_decision_action_known":
            table.constraints.discard(constraint)
    table.append_constraint(sa.CheckConstraint(NEW_ACTIONS, name="ck_decision_action_known"))
    table.append_constraint(
        sa.CheckConstraint(ACCOUNT_OR_HASHTAG, name="ck_decision_account_or_hashtag")
    )
    table.append_constraint(
        sa.ForeignKeyConstraint(
            ["restriction_id"],
            ["hashtag_restriction.id"],
            name="fk_decision_restriction_id_hashtag_restriction",
        )
    )
    return table


def downgrade() -> None:
    # Hashtag restrictions cannot be represented before this revision: they go with their rows.
    op.execute("DELETE FROM changelog WHERE hashtag IS NOT NULL")
    op.execute("DELETE FROM decision WHERE hashtag IS NOT NULL")
    op.drop_index("ix_audit_entry_hashtag", table_name="audit_entry")
    with op.batch_alter_table("audit_entry", recreate="never") as batch:
        batch.drop_column("hashtag")

    op.drop_index("ix_decision_hashtag", table_name="decision")
    with op.batch_alter_table("decision", copy_from=_decision_0005()) as batch:
        batch.drop_constraint(op.f("ck_decision_account_or_hashtag"), type_="check")
        batch.drop_constraint(op.f("ck_decision_action_known"), type_="check")
        batch.create_check_constraint(op.f("ck_decision_action_known"), OLD_ACTIONS)
        batch.drop_constraint(
            op.f("fk_decision_restriction_id_hashtag_restriction"), type_="foreignkey"
        )
        batch.drop_column("restriction_id")
        batch.drop_column("hashtag")
        batch.alter_column("account_id", existing_type=sa.BigInteger(), nullable=False)

    with op.batch_alter_table("changelog", copy_from=_changelog_0005()) as batch:
        batch.drop_constraint(op.f("ck_changelog_rule_or_restriction"), type_="check")
        batch.drop_constraint(
            op.f("fk_changelog_restriction_id_hashtag_restriction"), type_="foreignkey"
        )
        batch.drop_column("restriction_id")
        batch.drop_column("hashtag")
        batch.alter_column("account_id", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("rule_id", existing_type=ROW_ID, nullable=False)

    op.drop_index("ix_hashtag_restriction_expiring", table_name="hashtag_restriction")
    op.drop_index("ix_hashtag_restriction_order_id", table_name="hashtag_restriction")
    op.drop_index("uq_hashtag_restriction_active", table_name="hashtag_restriction")
    op.drop_table("hashtag_restriction")
