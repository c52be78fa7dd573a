"""Parcels: each device's public keys, registered at sign-in, and delivered parcels (docs/parcels.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Types are spelled out, as in 0001.

* ``device_keys``: the public keys (DevicePublicKeys.to_bytes(), base64) a
  device registers at sign-in, so the server can check a parcel's signature
  and seal the answer for that device alone.
* ``delivered_parcels``: each parcel the server has applied, with the push
  answers it gave, so a parcel delivered twice gets the same answer and is
  never applied twice. Rows are dropped once the parcel has expired.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "device_keys",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("registered_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "device_id"),
    )
    op.create_table(
        "delivered_parcels",
        sa.Column("parcel_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("push_responses", JSONType, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("parcel_id"),
    )
    op.create_index("ix_delivered_parcels_expires_at", "delivered_parcels", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_delivered_parcels_expires_at", table_name="delivered_parcels")
    op.drop_table("delivered_parcels")
    op.drop_table("device_keys")
