"""Story aliases and threads: ``story_aliases`` maps the key of a story merged into another (the older one,
which kept its key) to that story; ``stories.follows`` names the earlier story of a running thread this story
follows up.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the alias table; add the column (NULL for the stories made before)."""
    op.create_table(
        "story_aliases",
        sa.Column("alias", sa.String(40), primary_key=True),
        sa.Column("story_id", sa.String(40), nullable=False, index=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("stories", sa.Column("follows", sa.String(40)))


def downgrade() -> None:
    """Drop both."""
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("follows")
    op.drop_table("story_aliases")
