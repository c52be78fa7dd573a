"""Lesson-plan templates a trainer shares with the cohorts they train (docs/documents.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Types are spelled out, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401  (used once the tables are filled in)
from alembic import op  # noqa: F401

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
