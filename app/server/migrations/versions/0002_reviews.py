"""Review threads and schools (docs/review.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Adds ``reviews`` (append-only entries of a record's review thread) and
``users.school``. Types are spelled out, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A server default fills the column of existing users (NOT NULL).
    op.add_column(
        "users", sa.Column("school", sa.String(length=100), server_default=sa.text("''"), nullable=False)
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("basis", JSONType, nullable=False),
        sa.Column("written_at", sa.Text(), nullable=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reviews_owner_seq", "reviews", ["owner_id", "seq"])
    op.create_index("ix_reviews_record_seq", "reviews", ["record_id", "seq"])


def downgrade() -> None:
    op.drop_table("reviews")
    # SQLite cannot always drop a column in place: batch mode rebuilds the table.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("school")
