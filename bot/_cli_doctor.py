"""``newsbrief doctor``: validate the config, open the store, check every feed once, report the tokens (and the
bot's permissions in each subscribed Discord channel).

Token values are never printed: only whether each variable is set. Exit status 0 when everything checked is
fine, 1 when a feed or the store has a problem (the config itself, every section of it, ``[[subscriptions]]``,
``[templates.NAME]`` and ``[live]`` included, was validated when it was loaded, before this runs: a bad config is
refused with the same line as ``newsbrief run``'s).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from bot._cli_common import open_store, plural, require_extra, store_label
from bot.config import Settings
from bot.ingest import http_client, sync_config_feeds
from bot.sources import Fetcher, FetchError, parse_feed

__all__ = ["TOKENS", "cmd_doctor"]

TOKENS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")


async def _check_feeds(urls: list[str], settings: Settings) -> list[tuple[str, bool, str]]:
    async with http_client(settings) as client:
        fetcher = Fetcher(client, settings.network)

        async def one(url: str) -> tuple[str, bool, str]:
            try:
                fetched = await fetcher.fetch(url, allow_file=True)  # the configured feeds: the operator's URLs
            except FetchError as exc:
                return url, False, str(exc)
            parsed = parse_feed(fetched.body, fetched.final_url, headers=fetched.headers)
            if parsed.error and not parsed.entries:
                return url, False, parsed.error
            note = plural(len(parsed.entries), "entry", "entries") + (
                f" (warning: {parsed.error})" if parsed.error else ""
            )
            return url, True, note

        return list(await asyncio.gather(*(one(u) for u in urls)))


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(soft_wrap=True)
    where = settings.path or "built-in defaults"
    console.print(f"config: {where}: valid", highlight=False)
    with open_store(settings) as store:
        console.print(
            f"store: {store_label(settings.store.url)}: schema at revision {store.current_revision()}", highlight=False
        )
        sync_config_feeds(store, settings, datetime.now(UTC))
        urls = [f.url for f in store.list_feeds() if f.enabled]
        disabled = [f for f in store.list_feeds() if not f.enabled]
        subs = {s.id: s for s in store.list_subscriptions()}
        slack_channels = [s.channel for s in subs.values() if s.platform == "slack" and not s.paused]
        discord_channels = [s.channel for s in subs.values() if s.platform == "discord"]
        unconfirmed = [c for c in store.in_flight_slots(claimed_before=datetime.now(UTC)) if c.note]
    discord_channels += [c.channel for c in settings.subscriptions if c.platform == "discord"]
    results = asyncio.run(_check_feeds(urls, settings)) if urls else []
    table = Table(title=f"feeds: {len(urls)} enabled, {len(disabled)} disabled")
    for column in ("feed", "check", "detail"):
        table.add_column(column)
    for url, ok, detail in results:
        table.add_row(url, "ok" if ok else "FAILED", detail[:140])
    for feed in disabled:
        table.add_row(feed.url, "disabled", (feed.disabled_reason or "")[:140])
    console.print(table)
    for name in TOKENS:
        state = "set" if settings.secret(name) else "not set"
        console.print(f"{name}: {state}", highlight=False)
    healthy = all(ok for _, ok, _ in results)
    for claim in unconfirmed:  # a digest in flight that could not be checked: see `newsbrief subs list`
        sub = subs.get(claim.subscription_id)
        where = f"{sub.platform} {sub.channel}, {sub.topic}" if sub is not None else "removed"
        console.print(
            f"digest of subscription {claim.subscription_id} ({where}) for {claim.slot} not confirmed "
            f"yet: {claim.note}",
            style="yellow",
            highlight=False,
            markup=False,
        )
    slack_token = settings.secret("SLACK_BOT_TOKEN")
    if slack_token:
        require_extra("slack")
        from bot.adapters.slack import check_slack

        slack_ok, lines = asyncio.run(check_slack(settings, slack_token, slack_channels))
        for line in lines:
            console.print(line, style=None if slack_ok else "red", highlight=False)
        healthy = healthy and slack_ok
        if settings.slack.mode == "socket" and not settings.secret("SLACK_APP_TOKEN"):
            console.print(
                "slack: Socket Mode needs SLACK_APP_TOKEN (an app-level token with connections:write)",
                style="red",
                highlight=False,
            )
            healthy = False
        if settings.slack.mode == "http" and not settings.secret("SLACK_SIGNING_SECRET"):
            console.print("slack: HTTP mode needs SLACK_SIGNING_SECRET", style="red", highlight=False)
            healthy = False
    discord_token = settings.secret("DISCORD_TOKEN")
    if discord_token:
        require_extra("discord")
        from bot.adapters.discord import check_discord

        discord_ok, lines = asyncio.run(check_discord(settings, discord_token, discord_channels))
        for line in lines:
            console.print(line, style=None if discord_ok else "red", highlight=False, soft_wrap=True)
        healthy = healthy and discord_ok
    return 0 if healthy else 1
