"""``newsbrief doctor``'s Slack check: ``auth.test`` with the bot token, the scopes the app was granted, and
whether the bot can read the history of each subscribed channel (what a crash check needs)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

__all__ = ["JOIN_SCOPE", "REQUIRED_SCOPES", "check_slack"]

REQUIRED_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "users:read")
"""Bot scopes newsbrief uses (config/slack-manifest.yml): the command, posting, finding its own digests after a
crash (public and private channels), and telling workspace admins from other users."""
JOIN_SCOPE = "channels:join"
"""Lets the bot join a public channel before its first digest there, so that it can read the channel's history
(needed with ``chat:write.public``, which lets it post in public channels it is no member of)."""


async def check_slack(settings: Settings, token: str, channels: Sequence[str] = ()) -> tuple[bool, list[str]]:
    """Check the bot token against Slack: ``(ok, lines to print)``; then, for each of ``channels`` (the Slack
    subscriptions' channels), that the bot can read its history (``conversations.history``, one message), or
    will join it first. The token itself is never in the lines."""
    client = AsyncWebClient(token=token, base_url=settings.slack.api_url, timeout=10)
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return False, [f"slack: auth.test failed: {exc.response.get('error')}"]
    except Exception as exc:
        return False, [f"slack: cannot reach {settings.slack.api_url}: {exc.__class__.__name__}: {exc}"]
    lines = [f"slack: token ok: bot {response.get('user')} ({response.get('user_id')}) in {response.get('team')}"]
    header = {k.lower(): v for k, v in (response.headers or {}).items()}.get("x-oauth-scopes")
    granted_text = header[0] if isinstance(header, list) and header else header
    if not isinstance(granted_text, str):
        lines.append("slack: Slack did not report the granted scopes")
        return True, lines
    granted = {scope.strip() for scope in granted_text.split(",") if scope.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if missing:
        lines.append(
            f"slack: missing scopes: {', '.join(missing)} (add them from config/slack-manifest.yml and "
            "reinstall the app)"
        )
        return False, lines
    lines.append(f"slack: scopes ok ({', '.join(REQUIRED_SCOPES)})")
    if "chat:write.public" in granted and JOIN_SCOPE not in granted:
        lines.append(
            f"slack: chat:write.public without {JOIN_SCOPE}: the bot can post in public channels it was "
            "not invited to, but cannot read them to check a digest after a crash; add "
            f"{JOIN_SCOPE} (config/slack-manifest.yml) or invite it to every subscribed channel"
        )
    ok = True
    for channel in dict.fromkeys(channels):
        problem = await _history_problem(client, channel, can_join=JOIN_SCOPE in granted)
        if problem is not None:
            ok = False
            lines.append(f"slack: channel {channel}: {problem}")
    if channels and ok:
        lines.append(f"slack: history readable in the {len(set(channels))} subscribed channel(s)")
    return ok, lines


async def _history_problem(client: AsyncWebClient, channel: str, *, can_join: bool) -> str | None:
    """Why the bot could not check ``channel`` for a digest after a crash, or ``None``."""
    try:
        await client.conversations_history(channel=channel, limit=1)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error == "not_in_channel" and can_join:
            return None  # the bot joins it before its next digest (and before checking it)
        if error == "not_in_channel":
            return (
                "the bot may post there but cannot read its history (not_in_channel): a digest interrupted "
                "there cannot be checked, so it is not posted again; invite the bot (/invite @newsbrief) or "
                f"add the {JOIN_SCOPE} scope"
            )
        return f"conversations.history failed: {error or exc.response.status_code}"
    except Exception as exc:
        return f"cannot check its history: {exc.__class__.__name__}: {exc}"
    return None
