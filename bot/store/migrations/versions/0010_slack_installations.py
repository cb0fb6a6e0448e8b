"""Slack for many workspaces (``[slack] mode = "oauth"``): slack_sdk's installation and OAuth state tables, and
the workspace of a subscription.

- ``slack_installations``, ``slack_bots`` and ``slack_oauth_states``: the tables of slack_sdk's
  ``SQLAlchemyInstallationStore`` and ``SQLAlchemyOAuthStateStore``, built here with those classes' own table
  builders (``build_installations_table`` ...), so they are exactly what the stores read and write, in our
  database and under our migrations (no token table of our own). They hold bot tokens: secrets.
- ``subscriptions.team``: the Slack workspace (team id) of a subscription's channel; NULL for every subscription
  made before, as for the one workspace of SLACK_BOT_TOKEN.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INSTALLATIONS = SQLAlchemyInstallationStore.default_installations_table_name
BOTS = SQLAlchemyInstallationStore.default_bots_table_name
STATES = SQLAlchemyOAuthStateStore.default_table_name


def _slack_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, STATES)
    return metadata


def upgrade() -> None:
    """Create slack_sdk's tables and add ``subscriptions.team`` (NULL: the single workspace)."""
    _slack_metadata().create_all(op.get_bind())
    op.add_column("subscriptions", sa.Column("team", sa.String(32)))


def downgrade() -> None:
    """Drop the column and slack_sdk's tables (the installations, with their tokens, are gone)."""
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("team")
    _slack_metadata().drop_all(op.get_bind())
