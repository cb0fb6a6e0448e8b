"""Subscriptions and digest bookkeeping: subscriptions, digest_slots (the exactly-once claim), posted_stories.

- ``subscriptions``: a channel's digest of one topic on a schedule (the normalized schedule text, e.g.
  "daily 08:00" or a cron expression) in a time zone; unique per (platform, channel, topic).
- ``digest_slots``: one row per subscription and scheduled slot (the slot's UTC minute, ``2024-05-01T08:00Z``),
  inserted *before* posting; the unique (subscription_id, slot) makes a digest exactly-once across restarts and
  processes. ``outcome`` ("posted", "empty", "failed"; NULL while in flight) is recorded after.
- ``posted_stories``: which stories a subscription has carried, with the story's article count at the time, so a
  story returns only when it gained substantial new reporting.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("paused_at", _ts()),
        sa.Column("paused_reason", sa.Text),
        sa.UniqueConstraint("platform", "channel", "topic", name="uq_subscriptions_platform_channel_topic"),
    )
    op.create_table(
        "digest_slots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("claimed_at", _ts(), nullable=False),
        sa.Column("claimed_by", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(8)),
        sa.Column("message_ref", sa.Text),
        sa.Column("finished_at", _ts()),
        sa.UniqueConstraint("subscription_id", "slot", name="uq_digest_slots_subscription_slot"),
        sa.CheckConstraint("outcome IN ('posted', 'empty', 'failed')", name="ck_digest_slots_outcome"),
    )
    op.create_table(
        "posted_stories",
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("story_id", sa.String(40), primary_key=True),
        sa.Column("posted_at", _ts(), nullable=False),
        sa.Column("article_count_at_post", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop the three tables."""
    for table in ("posted_stories", "digest_slots", "subscriptions"):
        op.drop_table(table)
