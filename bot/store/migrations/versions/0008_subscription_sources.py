"""``subscriptions.sources``: a subscription limited to chosen feeds.

A JSON list of feed ids (``"3"``) and feed tags (``"tag:world"``); NULL, as for every subscription made before,
means the whole archive. Digests carry only stories that one of these feeds reported.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (NULL: every source, as before)."""
    op.add_column("subscriptions", sa.Column("sources", sa.JSON))


def downgrade() -> None:
    """Drop the column (the subscriptions then follow the whole archive again)."""
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("sources")
