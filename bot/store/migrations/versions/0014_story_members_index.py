"""A story's articles by first sight and outlet: ``ix_articles_story`` (story_id, first_seen, outlet) replaces
``ix_articles_story_id`` (story_id alone), which it serves too.

Each article joining a story asks, under the story lock, whether it leaves the story's outlets in order (an
article of its outlet seen no later; no article seen after it): with the story's key alone each answer read every
article of the story, so a story of thousands of articles held the lock for milliseconds per article. The
story's outlets recomputed (``GROUP BY outlet``) read the index alone.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the index."""
    op.create_index("ix_articles_story", "articles", ["story_id", "first_seen", "outlet"])
    op.drop_index("ix_articles_story_id", table_name="articles")


def downgrade() -> None:
    """Put the old index back."""
    op.create_index("ix_articles_story_id", "articles", ["story_id"])
    op.drop_index("ix_articles_story", table_name="articles")
