"""``newsbrief doctor``'s Discord check: log in with the token, name the bot and print the invite URL."""

from __future__ import annotations

import discord

from bot.adapters.discord._render import invite_url
from bot.config import Settings

__all__ = ["check_discord"]


async def check_discord(settings: Settings, token: str) -> tuple[bool, list[str]]:
    """Check the bot token against Discord: ``(ok, lines to print)``; the lines end with the invite URL carrying
    exactly the permissions newsbrief needs. The token itself is never in the lines."""
    discord.http.Route.BASE = settings.discord.api_url
    intents = discord.Intents.none()
    intents.guilds = True  # without it discord.py warns, although the check never opens the gateway
    client = discord.Client(intents=intents)
    try:
        await client.login(token)
        app = await client.application_info()
    except discord.LoginFailure:
        return False, ["discord: the token was refused (DISCORD_TOKEN): reset it in the Developer Portal"]
    except discord.HTTPException as exc:
        return False, [f"discord: cannot check the token: HTTP {exc.status}: {exc.text}"]
    except Exception as exc:
        return False, [f"discord: cannot reach {settings.discord.api_url}: {exc.__class__.__name__}: {exc}"]
    finally:
        await client.close()
    lines = [f"discord: token ok: bot {client.user} (application {app.id})",
             f"discord: invite the bot with: {invite_url(app.id)}"]  # fmt: skip
    if settings.discord.guilds:
        lines.append(f"discord: commands sync to guilds {', '.join(map(str, settings.discord.guilds))} at start")
    return True, lines
