"""``newsbrief doctor``'s Slack check: ``auth.test`` with the bot token, and the scopes the app was granted."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

__all__ = ["REQUIRED_SCOPES", "check_slack"]

REQUIRED_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "users:read")
"""Bot scopes newsbrief uses (config/slack-manifest.yml): the command, posting, finding its own digests after a
crash (public and private channels), and telling workspace admins from other users."""


async def check_slack(settings: Settings, token: str) -> tuple[bool, list[str]]:
    """Check the bot token against Slack: ``(ok, lines to print)``. The token itself is never in the lines."""
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
        lines.append(f"slack: missing scopes: {', '.join(missing)} (add them from config/slack-manifest.yml and "
                     "reinstall the app)")  # fmt: skip
        return False, lines
    lines.append(f"slack: scopes ok ({', '.join(REQUIRED_SCOPES)})")
    return True, lines
