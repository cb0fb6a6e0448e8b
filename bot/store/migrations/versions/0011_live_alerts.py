"""``live_alerts``: the ledger of live story alerts (issue 16), one row per story and channel.

A live subscription posts a new story of its topic once per channel as it breaks, then edits that message as the
story grows. Each row is claimed (``state`` "claimed", committed before anything is posted, so another process or a
restart finds it taken), then finished: "posted" (its own message, ``message_ref``) or "summarized" (one line of an
overflow summary, ``message_ref`` the summary's). ``marker`` is what the message carries on the platform so that a
claim whose poster died before recording it is found by looking, not posted again. ``edited_at`` and
``article_count`` coalesce the edits; ``thread_ref`` is the message a follow-up was posted under.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table (no alert was posted before)."""
    op.create_table(
        "live_alerts",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("marker", sa.String(120), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("message_ref", sa.Text),
        sa.Column("thread_ref", sa.Text),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("edited_at", sa.DateTime(timezone=True)),
        sa.Column("article_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outlets", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_live_alerts_channel_posted", "live_alerts", ["platform", "channel", "posted_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index("ix_live_alerts_channel_posted", table_name="live_alerts")
    op.drop_table("live_alerts")
