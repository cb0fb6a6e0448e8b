"""The bot's permissions in a channel, and the ones a digest channel needs for exactly-once posting.

Shared by the adapter (a crash check needs Read Message History: without it Discord answers an empty history,
which must not read as "not posted") and ``newsbrief doctor`` (which names what a subscribed channel lacks).
"""

from __future__ import annotations

from typing import Any

import discord

__all__ = ["DIGEST_PERMISSIONS", "FORUM_DIGEST_PERMISSIONS", "bot_permissions", "missing_permissions"]

DIGEST_PERMISSIONS: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}
"""What the bot needs in a text channel it posts digests to (``discord.Permissions`` flag: the name Discord's
settings show): seeing it, posting, embeds, and reading its own messages back after a crash."""
FORUM_DIGEST_PERMISSIONS: dict[str, str] = {
    **DIGEST_PERMISSIONS,
    "send_messages": "Send Messages (Create Posts)",
    "send_messages_in_threads": "Send Messages in Threads",
}
"""The same in a forum channel, where Send Messages opens a post and the rest of a long digest goes into it."""


def missing_permissions(channel: Any, permissions: discord.Permissions) -> list[str]:
    """The names of the permissions a digest channel needs that ``permissions`` lacks, in Discord's words."""
    needed = FORUM_DIGEST_PERMISSIONS if isinstance(channel, discord.ForumChannel) else DIGEST_PERMISSIONS
    return [label for flag, label in needed.items() if not getattr(permissions, flag)]


async def bot_permissions(client: discord.Client, channel: Any) -> discord.Permissions:
    """The bot's permissions in a guild channel: from the gateway's cache when the client is connected (it keeps
    roles and overwrites up to date), else over REST (the guild's roles, the bot's member, the channel)."""
    guild = channel.guild
    me = guild.me if guild is not None else None
    if me is not None:
        cached: discord.Permissions = channel.permissions_for(me)
        return cached
    if client.user is None:
        raise RuntimeError("discord: not logged in")
    fetched = await client.fetch_guild(channel.guild.id, with_counts=False)
    member = await fetched.fetch_member(client.user.id)
    in_guild = await fetched.fetch_channel(channel.id)
    permissions: discord.Permissions = in_guild.permissions_for(member)
    return permissions
