"""``digest_slots.planned``: the stories a digest is about to post, written after its claim and before posting.

Until its outcome is recorded, a digest's stories are known only here: the next digest of the subscription does
not post them again, and a digest finished by another process after a crash records these very stories.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (NULL for the slots claimed before)."""
    op.add_column("digest_slots", sa.Column("planned", sa.JSON))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("digest_slots") as batch:
        batch.drop_column("planned")
