"""Message templates and items mode of subscriptions, and the ledger of items posted (issue 16).

- ``subscriptions.template``: the message template a subscription's messages use (``full``, ``compact``,
  ``headlines`` or a ``[templates.NAME]`` of the config); NULL, as for every subscription made before: ``full``.
- ``subscriptions.mode``: ``digest`` (scheduled digests) or ``items`` (each new matching article posted as a
  compact line); NULL, as before: ``digest``.
- ``posted_items``: each item posted to a channel, under its keys (its URL, and its title and outlet), claimed
  before it is posted: one row per key, so an item reaches a channel once however many feeds or subscriptions
  carry it, and whichever process gets there first.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the two columns (NULL: full template, digest mode) and the items ledger."""
    op.add_column("subscriptions", sa.Column("template", sa.String(32)))
    op.add_column("subscriptions", sa.Column("mode", sa.String(8)))
    op.create_table(
        "posted_items",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("channel", sa.String(255), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("article_id", sa.String(40), nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.Text, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("message_ref", sa.Text),
    )
    op.create_index("ix_posted_items_article", "posted_items", ["platform", "channel", "article_id"])


def downgrade() -> None:
    """Drop the ledger and the columns (every subscription is a full digest again)."""
    op.drop_index("ix_posted_items_article", table_name="posted_items")
    op.drop_table("posted_items")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("mode")
        batch.drop_column("template")
