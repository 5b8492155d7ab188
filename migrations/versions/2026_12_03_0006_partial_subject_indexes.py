"""Index a post or a hashtag column only where it is set.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Most rules, decisions and audit entries are about an account: their ``post_id`` and ``hashtag``
are NULL. A full index on such a column holds an entry for each of those rows, which every
insert pays for and no query reads. Worse, SQLite's planner has no statistics and takes
``post_id IS NULL`` for an equality on that index: a query for account rows then reads every
account row of the table through it (a bulk's reads, 0004's follow-up; the transparency
report's account counts read every account decision ever made, whatever the period). A partial
index ``WHERE column IS NOT NULL`` serves every lookup by post or hashtag (``column = ?`` and
``column IN (...)`` imply it on both databases) and cannot be chosen for ``IS NULL``.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column): each index was on the one column, for every row.
INDEXES = (
    ("ix_withholding_post_id", "withholding", "post_id"),
    ("ix_decision_post_id", "decision", "post_id"),
    ("ix_decision_hashtag", "decision", "hashtag"),
    ("ix_audit_entry_post_id", "audit_entry", "post_id"),
    ("ix_audit_entry_hashtag", "audit_entry", "hashtag"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        where = text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, table, column in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
