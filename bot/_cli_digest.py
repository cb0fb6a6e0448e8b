"""CLI ``newsbrief subs list [--json]`` and ``newsbrief digest SUB_ID [--dry-run]``
(../shared/SPEC.md, "CLI").

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
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from bot._cli_common import CommandError, open_store, plural, require_extra
from bot.briefing import Briefing, format_briefing
from bot.commands import RateLimiter, unknown_sources
from bot.config import ConfigError, Settings
from bot.digests import (
    SubscriptionError,
    build_digest,
    check_subscription,
    digest_ref,
    part_recorder,
    run_digest,
    slot_key,
    sync_config_subscriptions,
)
from bot.ingest import sync_config_feeds
from bot.store import DigestSlot, Store, Subscription

__all__ = ["CLI_CREATOR", "cmd_digest", "cmd_subs"]

CLI_CREATOR = "cli"
"""``created_by`` of the subscriptions added with ``newsbrief subs add``."""


def _state(sub: Subscription, unconfirmed: Sequence[DigestSlot] = ()) -> str:
    state = f"paused: {sub.paused_reason or 'no reason recorded'}" if sub.paused else "active"
    notes = [f"digest for {c.slot} not confirmed yet: {c.note}" for c in unconfirmed]
    return "; ".join([state, *notes])


def _unconfirmed(store: Store) -> dict[int, list[DigestSlot]]:
    """The digests in flight that could not be checked yet (with the reason noted), by subscription."""
    by_sub: dict[int, list[DigestSlot]] = {}
    for claim in store.in_flight_slots(claimed_before=datetime.now(UTC)):
        if claim.note:
            by_sub.setdefault(claim.subscription_id, []).append(claim)
    return by_sub


def _sub_json(sub: Subscription, unconfirmed: Sequence[DigestSlot] = ()) -> dict[str, Any]:
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
        "unconfirmed": [{"slot": c.slot, "note": c.note} for c in unconfirmed],
        "sources": list(sub.sources),
        "template": sub.template or "full",
        "mode": sub.mode,
    }


def _sub_id(raw: object, command: str) -> int:
    text = str(raw).strip().lstrip("#")
    if not text.isdigit():
        raise CommandError(f"{command}: SUB_ID must be a subscription id (see `newsbrief subs list`), got {raw!r}")
    return int(text)


def cmd_subs(args: argparse.Namespace, settings: Settings) -> int:
    """``subs list [--json]``: every subscription (the config's synced first) with its state; ``subs add PLATFORM
    CHANNEL TOPIC [--schedule S] [--tz TZ]``; ``subs remove|pause|resume SUB_ID``."""
    if args.action == "add":
        return _subs_add(args, settings)
    if args.action in ("remove", "pause", "resume"):
        return _subs_change(args, settings)
    with open_store(settings) as store:
        sync_config_subscriptions(store, settings, now=datetime.now(UTC))
        subs = store.list_subscriptions()
        unconfirmed = _unconfirmed(store)
    if args.json:
        print(json.dumps([_sub_json(s, unconfirmed.get(s.id, ())) for s in subs], indent=2, ensure_ascii=False))
        return 0
    if not subs:
        print("No subscriptions. Add [[subscriptions]] to the config, or type /brief subscribe <topic> in a channel.")
        return 0
    table = Table(title=plural(len(subs), "subscription"))
    limited = any(s.sources for s in subs)  # the sources column only when some subscription is limited
    shaped = any(s.template or s.items for s in subs)  # mode and template only when some subscription sets them
    extra = (("sources",) if limited else ()) + (("mode", "template") if shaped else ())
    for column in ("id", "platform", "channel", "topic", "schedule", "tz", *extra, "state"):
        table.add_column(column, overflow="fold")
    for s in subs:
        sources = (",".join(s.sources) or "all",) if limited else ()
        shape = (s.mode, s.template or "full") if shaped else ()
        schedule = "-" if s.items else s.schedule
        table.add_row(
            str(s.id),
            s.platform,
            s.channel,
            s.topic,
            schedule,
            s.tz,
            *sources,
            *shape,
            _state(s, unconfirmed.get(s.id, ())),
        )
    Console(soft_wrap=True).print(table)
    return 0


_OPTION = {
    "platform": "PLATFORM",
    "channel": "CHANNEL",
    "topic": "TOPIC",
    "schedule": "--schedule",
    "tz": "--tz",
    "sources": "--sources",
    "template": "--template",
    "mode": "--mode",
}


def _subs_add(args: argparse.Namespace, settings: Settings) -> int:
    """Validated as ``[[subscriptions]]`` are (:func:`bot.digests.check_subscription`); a bad field is a usage
    error naming the argument, a subscription already there a failure naming it."""
    try:
        entry = check_subscription(
            settings,
            platform=args.platform,
            channel=args.channel,
            topic=args.topic,
            schedule=args.schedule,
            tz=args.tz,
            sources=args.sources,
            template=args.template,
            mode=args.mode,
        )
    except SubscriptionError as exc:
        raise ConfigError(f"subs add: {_OPTION[exc.key]}: {exc.problem}") from None
    with open_store(settings) as store:
        sync_config_feeds(store, settings, datetime.now(UTC))  # a tag may be on the config's feeds only so far
        problem = unknown_sources(entry.sources, store.list_feeds()) if entry.sources else None
        if problem is not None:
            raise CommandError(f"subs add: --sources: {problem.replace('/brief feeds', '`newsbrief feeds list`')}")
        try:
            sub = store.add_subscription(
                entry.platform,
                entry.channel,
                entry.topic,
                schedule=entry.schedule,
                tz=entry.tz,
                now=datetime.now(UTC),
                by=CLI_CREATOR,
                sources=entry.sources,
                template=entry.template,
                mode=entry.mode,
            )
        except ValueError as exc:
            raise CommandError(f"subs add: {exc}") from None
    only = f", only from sources={','.join(sub.sources)}" if sub.sources else ""
    shape = f", template={sub.template}" if sub.template else ""
    when = "items (each new article)" if sub.items else f"{sub.schedule} ({sub.tz})"
    print(
        f"Subscription {sub.id} added: {sub.platform} {sub.channel}, {sub.topic}, {when}{only}{shape}. "
        "The running bot picks it up within a minute."
    )
    return 0


def _subs_change(args: argparse.Namespace, settings: Settings) -> int:
    """``remove``, ``pause`` or ``resume`` one subscription. One of ``[[subscriptions]]`` is not removed here:
    the config would add it back at the next start, so the config is where it goes."""
    command = f"subs {args.action}"
    sub_id = _sub_id(args.sub_id, command)
    with open_store(settings) as store:
        sub = store.get_subscription(sub_id)
        if sub is None:
            raise CommandError(f"{command}: no subscription {sub_id} (see `newsbrief subs list`)")
        label = f"Subscription {sub_id} ({sub.platform} {sub.channel}, {sub.topic})"
        if args.action == "remove":
            configured = [(c.platform, c.channel, c.topic) for c in settings.subscriptions]
            if (sub.platform, sub.channel, sub.topic) in configured:
                where = settings.path or "the config"
                raise CommandError(
                    f"{command}: subscription {sub_id} is in [[subscriptions]] of {where} "
                    f"(subscriptions[{configured.index((sub.platform, sub.channel, sub.topic))}]): "
                    "remove it there, or pause it"
                )
            store.remove_subscription(sub_id)
            print(f"{label} removed.")
            return 0
        if args.action == "pause":
            if sub.paused:
                print(f"{label} is already paused: {sub.paused_reason}.")
                return 0
            store.pause_subscription(sub_id, args.reason or "paused with `newsbrief subs pause`", datetime.now(UTC))
            print(f"{label} paused. Resume it with `newsbrief subs resume {sub_id}`.")
            return 0
        if not sub.paused:
            print(f"{label} is not paused.")
            return 0
        store.resume_subscription(sub_id)
    print(f"{label} resumed; it was paused because: {sub.paused_reason}. The running bot picks it up within a minute.")
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
        if sub.items:
            raise CommandError(
                f"digest: subscription {sub.id} is in items mode: the running bot posts its new articles one by one"
            )
        if args.dry_run:
            briefing = build_digest(store, sub, topics=settings.topics, now=now, templates=settings.templates)
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

            slack = SlackAdapter(
                settings=settings,
                store=store,
                limiter=RateLimiter(10),
                clock=lambda: now,
                bot_token=token,
                post_only=True,
            )
            ref = digest_ref(sub, slot)
            on_part = part_recorder(store, sub, slot, now=now)  # each message written down as soon as posted

            async def post(briefing: Briefing) -> str:
                return await slack.post_digest(sub, briefing, ref, on_part=on_part)

        elif sub.platform == "discord":
            token = settings.secret("DISCORD_TOKEN")
            if not token:
                raise CommandError(f"digest: subscription {sub.id} posts to Discord: set DISCORD_TOKEN")
            require_extra("discord")
            from bot.adapters.discord import DiscordAdapter

            discord_bot = DiscordAdapter(
                settings=settings, store=store, limiter=RateLimiter(10), clock=lambda: now, token=token
            )
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
            raise CommandError(
                f"digest: subscription {sub.id} posts to {sub.platform}, which has no adapter yet; "
                "use --dry-run to preview it"
            )

        outcome = asyncio.run(
            run_digest(
                store,
                sub,
                slot,
                post=post,
                topics=settings.topics,
                now=now,
                by=f"cli:{socket.gethostname()}:{os.getpid()}",
                retry_later=False,
                templates=settings.templates,
            )
        )
        after = store.get_subscription(sub.id)
    if outcome == "skipped":
        print(f"Subscription {sub.id} ({sub.topic}): already posted for this slot ({slot}).")
    elif outcome == "empty":
        print(f"Nothing new for subscription {sub.id} ({sub.topic}): nothing posted.")
    elif outcome == "failed":
        paused = after.paused_reason if after is not None and after.paused else None
        raise CommandError(
            f"digest: posting subscription {sub.id} failed (recorded for slot {slot})"
            + (f"; subscription paused: {paused}" if paused else "")
        )
    return 0
