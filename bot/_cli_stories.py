"""``newsbrief stories rebuild [--dry-run]``: regroup the archive's retention window with the current story
algorithm (after an upgrade changed it), keeping the ids of stories whose articles stay together."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from bot._cli_common import open_store
from bot.config import Settings
from bot.store import Store
from bot.stories import Regrouping, StoredArticle, StoryFacts, regroup, story_time

__all__ = ["cmd_stories", "rebuild_report"]

SHOWN = 20
"""Merges and splits listed one per line (the rest are counted)."""


def _archive(store: Store, since: datetime) -> Iterator[StoredArticle]:
    for a in store.archived_articles(since=since):
        when = story_time(a.published_at, a.first_seen)
        yield StoredArticle(a.article_id, a.title, a.text, a.outlet, when, a.story_id, a.terms)


def plan_rebuild(store: Store, now: datetime, *, days: int) -> Regrouping:
    """The regrouping of the articles first seen in the last ``days`` days (nothing written)."""
    stories = store.stories()
    facts = {story_id: StoryFacts(s.first_seen, s.article_count) for story_id, s in stories.items()}
    reserved = set(stories) | set(store.story_aliases())
    return regroup(_archive(store, now - timedelta(days=days)), facts, reserved=reserved)


def _listed(lines: Sequence[str]) -> list[str]:
    shown = [f"  {line}" for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(f"  … and {len(lines) - SHOWN} more")
    return shown


def rebuild_report(plan: Regrouping, *, days: int, dry_run: bool) -> str:
    """What a rebuild moves (or would move): articles, stories merged, split and new, terms rewritten."""
    articles = len(plan.story_of)
    lines = [
        f"stories rebuild{' (dry run)' if dry_run else ''}: {articles} articles of the last {days} days regrouped",
        f"articles moved: {plan.moved}",
        f"stories: {plan.before} before, {plan.after} after: {len(plan.created)} new, {len(plan.merged)} merged "
        f"into others, {len(plan.split)} split",
        f"story terms rewritten: {len(plan.terms)} ({plan.converted} from an older format or missing)",
    ]
    if plan.merged:
        lines.append("merged (recorded as aliases):")
        lines.extend(_listed([f"{old} -> {into}" for old, into in sorted(plan.merged.items())]))
    if plan.split:
        lines.append("split:")
        lines.extend(_listed([f"{old} -> {', '.join(parts)}" for old, parts in sorted(plan.split.items())]))
    return "\n".join(lines)


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.store.retention_days
    with open_store(settings) as store:
        now = datetime.now(UTC)
        plan = plan_rebuild(store, now, days=days)
        print(rebuild_report(plan, days=days, dry_run=args.dry_run))
        if args.dry_run:
            print("dry run: nothing was written")
            return 0
        moved = store.regroup_stories(
            plan.story_of, terms=plan.terms, follows=plan.follows, aliases=plan.merged, now=now
        )
    print(
        f"written in one transaction ({moved} articles moved); restart running newsbrief processes so their "
        "story index is rebuilt from it"
    )
    return 0
