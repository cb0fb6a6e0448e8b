"""Slack for many workspaces: slack-bolt's OAuth settings over slack_sdk's SQLAlchemy installation and state
stores, in newsbrief's own database (tables of migration 0010).

slack_sdk's async SQLAlchemy stores need an asyncio engine (and greenlet), which the store does not use; its sync
stores run on the store's own engine, each call in a worker thread (:class:`ThreadedInstallationStore`,
:class:`ThreadedStateStore`). Bot tokens live in those tables: they are secrets and never logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

from bot.config import SlackConfig

__all__ = ["STATE_EXPIRY_S", "ThreadedInstallationStore", "ThreadedStateStore", "oauth_settings"]

log = logging.getLogger("newsbrief.slack.oauth")

STATE_EXPIRY_S = 600
"""How long an install link's OAuth state is good for (Slack's and Bolt's default: 10 minutes)."""


class ThreadedInstallationStore(AsyncInstallationStore):
    """slack_sdk's :class:`SQLAlchemyInstallationStore` (tables ``slack_installations`` and ``slack_bots``) for
    Bolt's async app: each call runs in a worker thread."""

    def __init__(self, client_id: str, engine: Engine) -> None:
        self.store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_all, enterprise_id=enterprise_id, team_id=team_id)


class ThreadedStateStore(AsyncOAuthStateStore):
    """slack_sdk's :class:`SQLAlchemyOAuthStateStore` (table ``slack_oauth_states``): the state of each install
    link, consumed once by the redirect back from Slack."""

    def __init__(self, engine: Engine, expiration_seconds: int = STATE_EXPIRY_S) -> None:
        self.store = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def oauth_settings(
    config: SlackConfig, *, client_id: str, client_secret: str, installations: ThreadedInstallationStore, engine: Engine
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings: ``/slack/install`` redirects to Slack's authorize page (``[slack] authorize_url``)
    asking for ``[slack] scopes`` with a state kept in the database (and in a cookie of the installer's browser);
    ``/slack/oauth_redirect`` trades the code for the workspace's bot token (``oauth.v2.access``) and saves the
    installation."""
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(config.scopes),
        user_scopes=[],
        install_page_rendering_enabled=False,  # straight to Slack: no page of Bolt's in between
        authorization_url=config.authorize_url,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=ThreadedStateStore(engine),
        state_expiration_seconds=STATE_EXPIRY_S,
        logger=log,
    )
