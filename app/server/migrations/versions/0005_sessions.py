"""Sessions that end at once: a token version per user, idempotent refresh
retries, sign-in throttling by account and source (docs/sync.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Types are spelled out, as in 0001.

* ``users.token_version``: in every access token; bumping it ends them all.
* ``users.session_notice``: why the user's sessions were ended (a refresh
  token was reused), told on the next sign-in.
* ``refresh_tokens.successor_hash``: the hash of the token a rotation issued,
  so a retry returns that same token and a spent token is told apart from a
  revoked one. The family index gains ``revoked_at``: "is this session
  live?" is asked on every request.
* ``login_failures`` is keyed by (user name, source) instead of the name
  alone. Its rows are short-lived counters, so the table is rebuilt empty in
  both directions rather than converted.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("session_notice", sa.String(length=32), nullable=True))
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("successor_hash", sa.String(length=64), nullable=True))
        batch.drop_index("ix_refresh_tokens_family")
        batch.create_index("ix_refresh_tokens_family_revoked_at", ["family", "revoked_at"])
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", Stamp, nullable=True),
        sa.Column("last_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("username", "source"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("locked_until", Stamp, nullable=True),
        sa.Column("last_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_index("ix_refresh_tokens_family_revoked_at")
        batch.create_index("ix_refresh_tokens_family", ["family"])
        batch.drop_column("successor_hash")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_notice")
        batch.drop_column("token_version")
