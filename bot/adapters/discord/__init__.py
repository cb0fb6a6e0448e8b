"""The Discord adapter (discord.py): app commands through :mod:`bot.commands`, digests rendered as embeds. The
only package that imports discord."""

from bot.adapters.discord._adapter import (
    ANSWER_WITHIN_S,
    IDENTIFY_SPACING_S,
    DiscordAdapter,
    DiscordSetupError,
    check_api_base,
    digest_nonce,
)
from bot.adapters.discord._doctor import check_discord
from bot.adapters.discord._permissions import DIGEST_PERMISSIONS, FORUM_DIGEST_PERMISSIONS
from bot.adapters.discord.render import (
    REQUIRED_PERMISSIONS,
    DiscordMessage,
    digest_messages,
    escape,
    invite_url,
    reply_messages,
)

__all__ = [
    "ANSWER_WITHIN_S",
    "DIGEST_PERMISSIONS",
    "FORUM_DIGEST_PERMISSIONS",
    "IDENTIFY_SPACING_S",
    "REQUIRED_PERMISSIONS",
    "DiscordAdapter",
    "DiscordMessage",
    "DiscordSetupError",
    "check_api_base",
    "check_discord",
    "digest_messages",
    "digest_nonce",
    "escape",
    "invite_url",
    "reply_messages",
]
