"""``articles.page_attempts``, ``page_retry_at``, ``page_error``: an article page that could not be used.

An article stored from its feed's text because its page timed out, failed or was not usable records why, how many
times, and when its page may be fetched again (``page_retry_at`` NULL after a failure: never), so that a slow page
is retried with backoff instead of on every poll, and a page that can never be used is not fetched again.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns (no failure recorded for the articles stored before)."""
    op.add_column("articles", sa.Column("page_attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column("articles", sa.Column("page_retry_at", sa.DateTime(timezone=True)))
    op.add_column("articles", sa.Column("page_error", sa.Text))


def downgrade() -> None:
    """Drop the columns. Not in a batch: rebuilding ``articles`` on SQLite would drop its full-text triggers
    (SQLite 3.35 and later drop a column in place)."""
    for column in ("page_error", "page_retry_at", "page_attempts"):
        op.drop_column("articles", column)
