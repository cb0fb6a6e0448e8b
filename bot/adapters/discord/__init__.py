"""The Discord adapter (discord.py): app commands through :mod:`bot.commands`, digests rendered as embeds. The
only package that imports discord."""

from bot.adapters.discord._adapter import DiscordAdapter, digest_nonce
from bot.adapters.discord._doctor import check_discord
from bot.adapters.discord._render import (
    REQUIRED_PERMISSIONS,
    DiscordMessage,
    digest_messages,
    escape,
    invite_url,
    reply_messages,
)

__all__ = [
    "REQUIRED_PERMISSIONS",
    "DiscordAdapter",
    "DiscordMessage",
    "check_discord",
    "digest_messages",
    "digest_nonce",
    "escape",
    "invite_url",
    "reply_messages",
]
