"""``newsbrief doctor``'s Discord check: log in with the token, name the bot, check the permissions the bot holds
in each subscribed channel, and print the invite URL."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.adapters.discord._adapter import DiscordSetupError, check_api_base
from bot.adapters.discord._permissions import bot_permissions, missing_permissions
from bot.adapters.discord.render import invite_url
from bot.config import Settings

__all__ = ["check_discord"]


async def check_discord(settings: Settings, token: str, channels: Sequence[str] = ()) -> tuple[bool, list[str]]:
    """Check the bot token against Discord and the bot's permissions in ``channels`` (the subscribed ones):
    ``(ok, lines to print)``; the lines end with the invite URL carrying exactly the permissions newsbrief needs.
    A channel lacking one of them is not ok: without Read Message History in particular a digest there cannot be
    checked after a crash (it is then not posted again). The token itself is never in the lines."""
    try:
        check_api_base(settings.discord)
    except DiscordSetupError as exc:
        return False, [f"discord: {exc}"]
    intents = discord.Intents.none()
    intents.guilds = True  # without it discord.py warns, although the check never opens the gateway
    client = discord.Client(intents=intents)
    try:
        await client.login(token)
        app = await client.application_info()
        channels_ok, channel_lines = await _check_channels(client, channels)
    except discord.LoginFailure:
        return False, ["discord: the token was refused (DISCORD_TOKEN): reset it in the Developer Portal"]
    except discord.HTTPException as exc:
        return False, [f"discord: cannot check the token: HTTP {exc.status}: {exc.text}"]
    except Exception as exc:
        return False, [f"discord: cannot reach {settings.discord.api_url}: {exc.__class__.__name__}: {exc}"]
    finally:
        await client.close()
    lines = [
        f"discord: token ok: bot {client.user} (application {app.id})",
        *channel_lines,
        f"discord: invite the bot with: {invite_url(app.id)}",
    ]
    if settings.discord.guilds:
        lines.insert(1, f"discord: commands sync to guilds {', '.join(map(str, settings.discord.guilds))} at start")
    return channels_ok, lines


async def _check_channels(client: discord.Client, channels: Sequence[str]) -> tuple[bool, list[str]]:
    ok, lines = True, []
    for channel_id in dict.fromkeys(channels):
        problem = await _channel_problem(client, channel_id)
        if problem is None:
            lines.append(f"discord: channel {channel_id}: permissions ok")
        else:
            ok = False
            lines.append(f"discord: channel {channel_id}: {problem}")
    return ok, lines


async def _channel_problem(client: discord.Client, channel_id: str) -> str | None:
    if not channel_id.isdigit():
        return "not a channel id"
    try:
        channel = await client.fetch_channel(int(channel_id))
        permissions = await bot_permissions(client, channel)
    except discord.NotFound:
        return "unknown channel (deleted, or a wrong id)"
    except discord.Forbidden:
        return "missing access: the bot cannot see the channel (View Channel)"
    missing = missing_permissions(channel, permissions)
    if not missing:
        return None
    text = f"#{getattr(channel, 'name', channel_id)}: missing {', '.join(missing)}"
    if not permissions.read_message_history:
        text += (
            "; without Read Message History a digest there cannot be checked after a crash, so it is not posted again"
        )
    return text
