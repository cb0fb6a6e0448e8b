"""CLI ``newsbrief subs list [--json]`` and ``newsbrief digest SUB_ID [--dry-run]`` (SPEC.md, "CLI").

An edge: it reads the clock and opens the store, syncs ``[[subscriptions]]`` of the config into it, then hands
over to :mod:`bot.digests`. Until the chat adapters exist, ``digest`` posts a console subscription's digest by
printing it; the slot is the current UTC minute, so a second run in the same minute posts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from bot._cli_common import CommandError, open_store, plural, require_extra
from bot.briefing import Briefing, format_briefing
from bot.commands import RateLimiter
from bot.config import Settings
from bot.digests import build_digest, digest_ref, run_digest, slot_key, sync_config_subscriptions
from bot.store import Subscription

__all__ = ["cmd_digest", "cmd_subs"]


def _state(sub: Subscription) -> str:
    return f"paused: {sub.paused_reason or 'no reason recorded'}" if sub.paused else "active"


def _sub_json(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "platform": sub.platform,
        "channel": sub.channel,
        "topic": sub.topic,
        "schedule": sub.schedule,
        "tz": sub.tz,
        "state": "paused" if sub.paused else "active",
        "paused_reason": sub.paused_reason,
        "paused_at": sub.paused_at.isoformat() if sub.paused_at else None,
        "created_by": sub.created_by,
        "created_at": sub.created_at.isoformat(),
    }


def _sub_id(raw: object, command: str) -> int:
    text = str(raw).strip().lstrip("#")
    if not text.isdigit():
        raise CommandError(f"{command}: SUB_ID must be a subscription id (see `newsbrief subs list`), got {raw!r}")
    return int(text)


def cmd_subs(args: argparse.Namespace, settings: Settings) -> int:
    """``subs list [--json]``: every subscription (the config's synced first) with its state; ``subs resume
    SUB_ID``: resume a paused one."""
    if args.action == "resume":
        sub_id = _sub_id(args.sub_id, "subs resume")
        with open_store(settings) as store:
            sub = store.get_subscription(sub_id)
            if sub is None:
                raise CommandError(f"subs resume: no subscription {sub_id} (see `newsbrief subs list`)")
            if not sub.paused:
                print(f"Subscription {sub_id} ({sub.platform} {sub.channel}, {sub.topic}) is not paused.")
                return 0
            store.resume_subscription(sub_id)
        print(f"Subscription {sub_id} ({sub.platform} {sub.channel}, {sub.topic}) resumed; it was paused because: "
              f"{sub.paused_reason}. The running bot picks it up within a minute.")  # fmt: skip
        return 0
    with open_store(settings) as store:
        sync_config_subscriptions(store, settings, now=datetime.now(UTC))
        subs = store.list_subscriptions()
    if args.json:
        print(json.dumps([_sub_json(s) for s in subs], indent=2, ensure_ascii=False))
        return 0
    if not subs:
        print("No subscriptions. Add [[subscriptions]] to the config, or type /brief subscribe <topic> in a channel.")
        return 0
    table = Table(title=plural(len(subs), "subscription"))
    for column in ("id", "platform", "channel", "topic", "schedule", "tz", "state"):
        table.add_column(column, overflow="fold")
    for s in subs:
        table.add_row(str(s.id), s.platform, s.channel, s.topic, s.schedule, s.tz, _state(s))
    Console(soft_wrap=True).print(table)
    return 0


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    """``digest SUB_ID [--dry-run]``: preview a subscription's digest, or post it (console: printed) once for
    the current minute's slot."""
    raw_id = _sub_id(args.sub_id, "digest")
    with open_store(settings) as store:
        now = datetime.now(UTC)
        sync_config_subscriptions(store, settings, now=now)
        sub = store.get_subscription(raw_id)
        if sub is None:
            raise CommandError(f"digest: no subscription {raw_id} (see `newsbrief subs list`)")
        if args.dry_run:
            briefing = build_digest(store, sub, topics=settings.topics, now=now)
            if briefing is None:
                print(f"Nothing new for subscription {sub.id} ({sub.topic}): no digest would be posted.")
            else:
                print(format_briefing(briefing))
            return 0
        slot = slot_key(now.replace(second=0, microsecond=0))
        if sub.platform == "slack":
            token = settings.secret("SLACK_BOT_TOKEN")
            if not token:
                raise CommandError(f"digest: subscription {sub.id} posts to Slack: set SLACK_BOT_TOKEN")
            require_extra("slack")
            from bot.adapters.slack import SlackAdapter

            slack = SlackAdapter(settings=settings, store=store, limiter=RateLimiter(10), clock=lambda: now,
                                 bot_token=token, post_only=True)  # fmt: skip
            ref = digest_ref(sub, slot)

            async def post(briefing: Briefing) -> str:
                return await slack.post_digest(sub, briefing, ref)

        elif sub.platform == "discord":
            token = settings.secret("DISCORD_TOKEN")
            if not token:
                raise CommandError(f"digest: subscription {sub.id} posts to Discord: set DISCORD_TOKEN")
            require_extra("discord")
            from bot.adapters.discord import DiscordAdapter

            discord_bot = DiscordAdapter(settings=settings, store=store, limiter=RateLimiter(10), clock=lambda: now,
                                         token=token)  # fmt: skip
            ref = digest_ref(sub, slot)

            async def post(briefing: Briefing) -> str:
                await discord_bot.login(sync=False)
                try:
                    return await discord_bot.post_digest(sub, briefing, ref)
                finally:
                    await discord_bot.close()

        elif sub.platform == "console":

            async def post(briefing: Briefing) -> str:
                print(format_briefing(briefing))
                return f"console:{sub.channel}:{slot}"

        else:
            raise CommandError(f"digest: subscription {sub.id} posts to {sub.platform}, which has no adapter yet; "
                               "use --dry-run to preview it")  # fmt: skip

        outcome = asyncio.run(run_digest(store, sub, slot, post=post, topics=settings.topics, now=now,
                                         by=f"cli:{socket.gethostname()}:{os.getpid()}",
                                         retry_later=False))  # fmt: skip
        after = store.get_subscription(sub.id)
    if outcome == "skipped":
        print(f"Subscription {sub.id} ({sub.topic}): already posted for this slot ({slot}).")
    elif outcome == "empty":
        print(f"Nothing new for subscription {sub.id} ({sub.topic}): nothing posted.")
    elif outcome == "failed":
        paused = after.paused_reason if after is not None and after.paused else None
        raise CommandError(f"digest: posting subscription {sub.id} failed (recorded for slot {slot})"
                           + (f"; subscription paused: {paused}" if paused else ""))  # fmt: skip
    return 0
