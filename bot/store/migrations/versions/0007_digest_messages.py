"""``digest_messages``: each message of a digest, recorded as soon as the platform returned its id; and
``digest_slots.note``: why a digest in flight could not be checked yet.

- ``digest_messages``: one row per subscription, slot and part (1, 2, ... of a digest split over several
  messages) with the platform's reference of the message (e.g. ``slack:C0123:1714550400.000100``), written while
  the digest is being posted. A process finishing the slot after a crash finds the digest here before asking the
  platform, so the ledger, not a search of a busy channel's history, says that it got there.
- ``digest_slots.note``: the one-line reason a claim in flight could not be checked (e.g. the bot may post in a
  channel but not read its history), shown by ``newsbrief subs list`` and ``doctor`` until the slot is finished.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table and add the column (no messages, no note for the slots claimed before)."""
    op.create_table(
        "digest_messages",
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("slot", sa.String(32), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("message_ref", sa.Text, nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("digest_slots", sa.Column("note", sa.Text))


def downgrade() -> None:
    """Drop the column and the table."""
    with op.batch_alter_table("digest_slots") as batch:
        batch.drop_column("note")
    op.drop_table("digest_messages")
