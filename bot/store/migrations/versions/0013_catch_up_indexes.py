"""Indexes for a story index catching up with other processes: ``ix_articles_updated`` (the articles whose text
changed, by when: a partial index of those with ``updated_at <> first_seen``) and ``ix_story_aliases_merged_at``.

Job workers (``[jobs] engine = "procrastinate"``) each keep a story index and, under the story lock, read what the
others wrote since they last looked: the new articles by row number, and these two by time
(``bot.ingest.catch_up_stories``), on every article stored; without the indexes each read would scan the tables.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_CHANGED = sa.text("updated_at <> first_seen")


def upgrade() -> None:
    """Create the two indexes."""
    op.create_index("ix_articles_updated", "articles", ["updated_at"], postgresql_where=_CHANGED, sqlite_where=_CHANGED)
    op.create_index("ix_story_aliases_merged_at", "story_aliases", ["merged_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_story_aliases_merged_at", table_name="story_aliases")
    op.drop_index("ix_articles_updated", table_name="articles")
