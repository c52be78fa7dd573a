"""Who may read a file: proven possession per user (docs/attachments.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Knowing a file's SHA-256 used to be enough to download it: a record naming
the hash granted access. From here on a file is read by who holds it
(``blob_holders``: uploaded the bytes, or referenced the file while already
able to read it) or through a live record whose *attacher*
(``record_blobs.attached_by``) holds it.

Existing data: every complete blob's uploader holds it; each reference is
taken as attached by its record's owner (the only writer but admins); and an
owner who can read the file today through a live record of its uploader
(a trainer of that fellow's cohort, an admin) holds it too, so files shared
inside Fieldbook stay readable. References pushed by someone who never had
the bytes grant nothing any more.

Types are spelled out, as in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)
ATTACHED_BY_FK = "fk_record_blobs_attached_by_users"

# An owner who may read the file now through another owner's live record
# whose owner uploaded it: an admin (sees every record) or a trainer of a
# cohort the uploader is a fellow of (app/server/permissions.py, frozen here).
_HOLDERS_BY_REFERENCE = sa.text("""
INSERT INTO blob_holders (user_id, sha256, since, how)
SELECT DISTINCT r.owner_id, rb.sha256, b.created_at, 'reference'
FROM record_blobs rb
JOIN records r ON r.id = rb.record_id
JOIN users u ON u.id = r.owner_id
JOIN blobs b ON b.sha256 = rb.sha256
WHERE r.deleted = :no AND b.complete = :yes AND u.role IN ('admin', 'trainer')
  AND NOT EXISTS (SELECT 1 FROM blob_holders h WHERE h.user_id = r.owner_id AND h.sha256 = rb.sha256)
  AND EXISTS (
    SELECT 1 FROM record_blobs rb2
    JOIN records r2 ON r2.id = rb2.record_id
    WHERE rb2.sha256 = rb.sha256 AND r2.deleted = :no AND r2.owner_id = b.uploader_id
      AND (u.role = 'admin' OR EXISTS (
        SELECT 1 FROM cohort_members mine
        JOIN cohort_members theirs ON theirs.cohort_id = mine.cohort_id
        JOIN users f ON f.id = theirs.user_id
        WHERE mine.user_id = u.id AND theirs.user_id = r2.owner_id AND f.role = 'fellow'))
  )
""")


def upgrade() -> None:
    op.add_column("record_blobs", sa.Column("attached_by", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE record_blobs SET attached_by = "
        "(SELECT records.owner_id FROM records WHERE records.id = record_blobs.record_id)"
    )
    with op.batch_alter_table("record_blobs") as batch:
        batch.alter_column("attached_by", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(ATTACHED_BY_FK, "users", ["attached_by"], ["id"])
    op.create_table(
        "blob_holders",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("since", Stamp, nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sha256"], ["blobs.sha256"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "sha256"),
    )
    op.create_index("ix_blob_holders_sha256", "blob_holders", ["sha256"])
    op.execute(sa.text(
        "INSERT INTO blob_holders (user_id, sha256, since, how) "
        "SELECT uploader_id, sha256, created_at, 'upload' FROM blobs WHERE complete = :yes"
    ).bindparams(yes=True))
    op.execute(_HOLDERS_BY_REFERENCE.bindparams(yes=True, no=False))


def downgrade() -> None:
    op.drop_index("ix_blob_holders_sha256", table_name="blob_holders")
    op.drop_table("blob_holders")
    with op.batch_alter_table("record_blobs") as batch:
        batch.drop_constraint(ATTACHED_BY_FK, type_="foreignkey")
        batch.drop_column("attached_by")
