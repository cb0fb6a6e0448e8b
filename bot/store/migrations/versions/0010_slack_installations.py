"""Slack for many workspaces (``[slack] mode = "oauth"``): slack_sdk's installation and OAuth state tables, and
the workspace of a subscription.

- ``slack_installations``, ``slack_bots`` and ``slack_oauth_states``: the tables of slack_sdk's
  ``SQLAlchemyInstallationStore`` and ``SQLAlchemyOAuthStateStore`` (slack_sdk 3.x's schema, written out here:
  importing slack_sdk's module needs SQLAlchemy's asyncio extra, which a migration must not), in our database
  and under our migrations (no token table of our own); tests/adapters/slack/test_slack_oauth.py runs the stores
  on them. They hold bot tokens: secrets.
- ``subscriptions.team``: the Slack workspace (team id) of a subscription's channel; NULL for every subscription
  made before, as for the one workspace of SLACK_BOT_TOKEN.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_S = sa.String


def _bot_columns() -> list[sa.Column[Any]]:
    """The columns slack_sdk's bots and installations tables share."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", _S(32), nullable=False),
        sa.Column("app_id", _S(32), nullable=False),
        sa.Column("enterprise_id", _S(32)),
        sa.Column("enterprise_name", _S(200)),
    ]


def _team_bot_columns() -> list[sa.Column[Any]]:
    """The workspace and bot columns both tables have."""
    return [
        sa.Column("team_id", _S(32)),
        sa.Column("team_name", _S(200)),
        sa.Column("bot_token", _S(200)),
        sa.Column("bot_id", _S(32)),
        sa.Column("bot_user_id", _S(32)),
        sa.Column("bot_scopes", _S(1000)),
        sa.Column("bot_refresh_token", _S(200)),
        sa.Column("bot_token_expires_at", sa.DateTime),
    ]


def _slack_metadata() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "slack_installations",
        metadata,
        *_bot_columns(),
        sa.Column("enterprise_url", _S(200)),
        *_team_bot_columns(),
        sa.Column("user_id", _S(32), nullable=False),
        sa.Column("user_token", _S(200)),
        sa.Column("user_scopes", _S(1000)),
        sa.Column("user_refresh_token", _S(200)),
        sa.Column("user_token_expires_at", sa.DateTime),
        sa.Column("incoming_webhook_url", _S(200)),
        sa.Column("incoming_webhook_channel", _S(200)),
        sa.Column("incoming_webhook_channel_id", _S(200)),
        sa.Column("incoming_webhook_configuration_url", _S(200)),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False),
        sa.Column("token_type", _S(32)),
        sa.Column("installed_at", sa.DateTime, nullable=False),
        sa.Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
    )
    sa.Table(
        "slack_bots",
        metadata,
        *_bot_columns(),
        *_team_bot_columns(),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False),
        sa.Column("installed_at", sa.DateTime, nullable=False),
        sa.Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )
    sa.Table(
        "slack_oauth_states",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", _S(200), nullable=False),
        sa.Column("expire_at", sa.DateTime, nullable=False),
    )
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
