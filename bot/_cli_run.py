"""CLI ``newsbrief run``: poll once, print a briefing per topic, then answer commands at the console prompt.

An edge: it reads the clock, creates the one httpx client and opens the store. The scheduler (polls on
intervals, digests) and the Slack/Discord adapters come with later issues; for now feeds are polled once at
start and the console adapter is the only one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from bot import __version__
from bot._cli_store import CommandError, open_store
from bot.adapters.console import ConsoleAdapter, console_replier, render_briefing
from bot.briefing import NoMatch, make_briefing
from bot.commands import RateLimiter
from bot.config import Settings
from bot.ingest import FeedResult, http_client, ingestor_for, sync_config_feeds
from bot.store import Store

__all__ = ["SEED_ARTICLE", "SEED_URL", "cmd_run", "read_article", "store_seed_article"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: the parent of the ``bot`` package directory (meaningful in a source checkout)."""
SEED_ARTICLE = REPO_ROOT.parent / "shared" / "fixtures" / "seed-article.txt"
SEED_URL = "urn:newsbrief:demo:seed"
CHAT_TOKENS = ("SLACK_BOT_TOKEN", "DISCORD_TOKEN")


def _now() -> datetime:
    return datetime.now(UTC)


def read_article(path: Path) -> tuple[str, str]:
    """Split an article file into (title, body): the first non-blank line is the title, the rest the body."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read article: {exc}") from exc
    lines = raw.lstrip().splitlines()
    if not lines:
        raise CommandError(f"{path}: article file is empty")
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def store_seed_article(store: Store, path: Path, now: datetime) -> bool:
    """Store the article file at ``path`` once, as the demo article :data:`SEED_URL` (summarized here);
    ``True`` when it was stored now, ``False`` when it already was."""
    if store.get_article(SEED_URL) is not None:
        return False
    from summarizer import summarize  # imported lazily: keeps the other commands fast

    title, body = read_article(path)
    summary = summarize(body, title=title, sentences=3, quotes=2)
    store.upsert_article(
        url=SEED_URL, title=title, text=body, text_source="feed", summary=summary, now=now, outlet="seed article"
    )
    return True


async def _poll_all(store: Store, settings: Settings, now: datetime) -> list[FeedResult]:
    async with http_client(settings) as client:
        return await ingestor_for(store, client, settings, now).poll_round(now, all_feeds=True)


def _poll_summary(results: list[FeedResult]) -> list[Text]:
    new = sum(r.new for r in results)
    updated = sum(r.updated for r in results)
    unchanged = sum(r.unchanged for r in results)
    failed = [r for r in results if r.status in ("error", "disabled")]
    lines = [
        Text(
            f"Polled {len(results)} {'feed' if len(results) == 1 else 'feeds'}: {new} new, {updated} updated, "
            f"{unchanged} unchanged articles" + (f"; {len(failed)} failed" if failed else "") + "."
        )
    ]
    for r in results:
        for error in r.errors[:1]:
            lines.append(Text(f"  {error[:200]}", style="red" if r in failed else "yellow"))
    return lines


def cmd_run(args: argparse.Namespace, settings: Settings, *, stdin: TextIO | None = None) -> int:
    """Open the store, poll every feed once, print a briefing per topic, then run the console adapter on stdin
    until quit, exit or end of input."""
    stream = stdin if stdin is not None else sys.stdin
    console = Console()
    console.print(
        Text.assemble(
            (f"newsbrief {__version__}", "bold"),
            f" — console adapter, store {settings.store.url}. Feeds are polled once at start for now "
            "(the scheduler comes later).",
        )
    )
    if any(settings.secret(name) for name in CHAT_TOKENS):
        console.print("Slack/Discord tokens are set, but those adapters are not started yet (later issues).")
    with open_store(settings) as store:
        now = _now()
        sync_config_feeds(store, settings, now)
        if settings.demo_seed_article and SEED_ARTICLE.is_file():
            store_seed_article(store, SEED_ARTICLE, now)
        if store.list_feeds():
            with console.status("polling feeds…"):
                results = asyncio.run(_poll_all(store, settings, now))
            for line in _poll_summary(results):
                console.print(line)
        else:
            console.print("No feeds configured: add [[feeds]] to the config (or `newsbrief feeds add URL`).")
        now = _now()
        for name in settings.topics:
            result = make_briefing(store, name, topics=settings.topics, now=now)
            console.print()
            if isinstance(result, NoMatch):
                console.print(Text(f"Nothing new on {name}.", style="dim"))
            else:
                console.print(render_briefing(result))
        console.print()
        console.print("Type /brief <topic or words>, /brief help, or quit (end of input also quits).")
        reply = console_replier(store, settings, RateLimiter(10), now=_now)
        ConsoleAdapter(stream, console, reply, echo=not stream.isatty()).run()
    return 0
