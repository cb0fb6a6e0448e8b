"""CLI ``newsbrief run``: the bot. The scheduler polls feeds and posts digests; the Slack and Discord adapters
start when their tokens are in the environment, and without them the console adapter answers commands typed at
the prompt. ``console`` subscriptions print their digests in every case.

An edge: it reads the clock, creates the one httpx client, opens the store and handles SIGINT/SIGTERM. Of
several processes on one database only the lease holder runs the scheduler (see :mod:`bot.scheduler`); the
others answer commands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from bot import __version__
from bot._cli_common import CommandError, open_store, require_extra, store_label
from bot.adapters import ChatAdapter
from bot.adapters.console import ConsoleAdapter, console_replier, render_briefing
from bot.briefing import NoMatch, make_briefing
from bot.commands import RateLimiter
from bot.config import ConfigError, Settings
from bot.digests import sync_config_subscriptions
from bot.feeds import FeedFinder, feed_finder_on
from bot.ingest import (
    FeedResult,
    assign_missing_stories,
    extraction_pool,
    http_client,
    ingestor_for,
    sync_config_feeds,
)
from bot.metrics import Metrics
from bot.scheduler import LEASE_NAME, Scheduler
from bot.sources import Fetcher
from bot.store import Store, StoreUnavailable, StoreWatch, StoryAssignment, Subscription
from bot.stories import story_key_for

if TYPE_CHECKING:  # the chat SDKs and aiohttp's server are imported only when a platform or [http] is configured
    from aiohttp import web

    from bot.jobs import JobQueue
    from bot.web import WebServer

__all__ = ["SEED_ARTICLE", "SEED_URL", "cmd_run", "read_article", "store_seed_article"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: the parent of the ``bot`` package directory (meaningful in a source checkout)."""
SEED_ARTICLE = REPO_ROOT.parent / "shared" / "fixtures" / "seed-article.txt"
SEED_URL = "urn:newsbrief:demo:seed"
PROGRESS_MIN_FEEDS = 20
"""A first poll of at least this many feeds shows a progress bar (in a terminal)."""
JOB_STATS_EVERY_S = 15.0
"""How often the job queue's gauges on /metrics are refreshed ([jobs] engine = "procrastinate")."""
log = logging.getLogger("newsbrief.run")


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
        url=SEED_URL,
        title=title,
        text=body,
        text_source="feed",
        summary=summary,
        now=now,
        outlet="seed article",
        assign_story=lambda article: StoryAssignment(story_key_for(article.id)),
    )
    return True


def _poll_summary(results: list[FeedResult]) -> list[Text]:
    new = sum(r.new for r in results)
    updated = sum(r.updated for r in results)
    unchanged = sum(r.unchanged for r in results)
    failed = [r for r in results if r.status in ("error", "disabled")]
    left = [r for r in results if r.status in ("unavailable", "not_polled")]
    lines = [
        Text(
            f"Polled {len(results)} {'feed' if len(results) == 1 else 'feeds'}: {new} new, {updated} updated, "
            f"{unchanged} unchanged articles" + (f"; {len(failed)} failed" if failed else "") + "."
        )
    ]
    for r in results:
        if r not in left:
            for error in r.errors[:1]:
                lines.append(Text(f"  {error[:200]}", style="red" if r in failed else "yellow"))
    if left:
        lines.append(
            Text(
                f"  Database unavailable: {len(left)} {'feed' if len(left) == 1 else 'feeds'} not polled (left due).",
                style="red",
            )
        )
    return lines


def _progress_poll(console: Console, total: int) -> tuple[Progress | None, Callable[[FeedResult], None]]:
    if total < PROGRESS_MIN_FEEDS or not console.is_terminal:
        return None, lambda _result: None
    progress = Progress(TextColumn("polling feeds"), BarColumn(), MofNCompleteColumn(), console=console, transient=True)
    task = progress.add_task("poll", total=total)
    return progress, lambda _result: progress.advance(task)


def cmd_run(args: argparse.Namespace, settings: Settings, *, stdin: TextIO | None = None) -> int:
    """Run the bot: sync the config's feeds and subscriptions into the store, then (as the leader) poll every due
    feed once, print a briefing per topic, and keep polling and posting digests on schedule while the console
    adapter answers commands, until quit, end of input, SIGINT or SIGTERM."""
    stream = stdin if stdin is not None else sys.stdin
    console = Console()
    console.print(
        Text.assemble(
            (f"newsbrief {__version__}", "bold"), f" — console adapter, store {store_label(settings.store.url)}."
        )
    )
    with open_store(settings, watch=StoreWatch()) as store:
        now = _now()
        sync_config_feeds(store, settings, now)
        sync_config_subscriptions(store, settings, now=now)
        if settings.demo_seed_article and SEED_ARTICLE.is_file():
            store_seed_article(store, SEED_ARTICLE, now)
        return asyncio.run(_serve(store, settings, console, stream))


async def _serve(store: Store, settings: Settings, console: Console, stream: TextIO) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            loop.add_signal_handler(signum, stop.set)
    metrics = Metrics()

    def observe(name: str, seconds: float) -> None:
        metrics.observe_command(name, "console", seconds)

    def polled(result: FeedResult) -> None:
        if result.status == "not_polled":
            return
        metrics.feed_polled(result.status)
        if result.error_kind is not None:
            metrics.fetch_error(result.error_kind)
        metrics.articles_stored("new", result.new)
        metrics.articles_stored("updated", result.updated)

    with extraction_pool() as pool:
        async with http_client(settings) as client, _job_queue(settings) as queue:
            ingestor = ingestor_for(store, client, settings, _now(), executor=pool)
            # /brief feeds add fetches on this loop through this client, from the threads commands are answered in
            feeds = feed_finder_on(loop, Fetcher(client, settings.network))
            replier = console_replier(store, settings, RateLimiter(10), now=_now, observe=observe, feeds=feeds)
            adapter = ConsoleAdapter(stream, console, replier, echo=not stream.isatty())
            # A platform whose token is set must be able to start: checked before anything runs (ConfigError: exit 2)
            factories = _chat_factories(store, settings, console, metrics, feeds)
            try:  # articles left by a process killed between an article and its story (before they were one write)
                filed = assign_missing_stories(store, ingestor.stories, _now())
            except StoreUnavailable:  # the store's watch said so; the next start files them
                filed = 0
            if filed:
                log.warning("gave %d stored articles without a story a story", filed)

            briefed = False

            async def startup_briefings() -> None:
                """A briefing per topic, once, before the scheduler's jobs start: a digest due at once is printed
                after them, never in their midst."""
                nonlocal briefed
                if not briefed:
                    briefed = True
                    await asyncio.to_thread(_print_topic_briefings, store, settings, console)
                    console.print()

            async def first_poll() -> None:
                """Poll every due feed at once, with a progress bar for many feeds."""
                now = _now()
                due = await asyncio.to_thread(store.due_feeds, now)
                if not due:
                    if not store.list_feeds():
                        console.print(
                            "No feeds configured: add [[feeds]] to the config (or `newsbrief feeds add URL`).",
                            markup=False,
                        )
                    return
                if queue is not None:  # the workers poll
                    queued = await queue.defer_polls(due)
                    console.print(
                        f"Queued {queued} feed {'poll' if queued == 1 else 'polls'} for the workers "
                        "(`newsbrief worker`)."
                    )
                    return
                progress, advance = _progress_poll(console, len(due))
                if progress is None:
                    with console.status("polling feeds…"):
                        results = await ingestor.poll_round(now)
                else:
                    with progress:
                        results = await ingestor.poll_round(now, progress=advance)
                scheduler.last_poll_at = now  # /healthz: this round is the scheduler's first poll
                for result in results:
                    polled(result)
                for line in _poll_summary(results):
                    console.print(line)

            async def first_round() -> None:
                """On winning the lease (before the scheduler's jobs start): the first poll, then the start-up
                briefings on what it found."""
                await first_poll()
                await startup_briefings()

            quiet: set[int] = set()  # console subscriptions told "nothing new" since their last digest
            notes: set[asyncio.Task[None]] = set()

            async def nothing_new(sub: Subscription) -> None:
                try:
                    last = await asyncio.to_thread(_last_posted, store, sub.id)
                except StoreUnavailable:  # logged by the store's watch
                    return
                since = f"since the last digest (posted at {last:%Y-%m-%d %H:%M} UTC)" if last else "to post yet"
                console.print()
                console.print(Text(f"{sub.topic} → {sub.channel}: nothing new {since}.", style="dim"))

            def digested(sub: Subscription, outcome: str) -> None:
                """Count each digest; a console subscription with nothing new says so, once until it posts again
                (a digest posted by an earlier run is not posted twice, and silence would look like a fault)."""
                metrics.digest(sub.platform, outcome)
                if sub.platform != "console" or outcome not in ("posted", "empty"):
                    return
                if outcome == "posted":
                    quiet.discard(sub.id)
                elif sub.id not in quiet:
                    quiet.add(sub.id)
                    note = asyncio.ensure_future(nothing_new(sub))
                    notes.add(note)
                    note.add_done_callback(notes.discard)

            started = False

            def leadership(leading: bool) -> None:
                metrics.set_leader(leading)
                if started:
                    console.print(
                        "Scheduler: this process took over the scheduler."
                        if leading
                        else "Scheduler: another process took the scheduler over; answering commands only."
                    )

            chat: dict[str, ChatAdapter] = {}
            for platform, make in factories.items():
                connected = await _connect(platform, make, settings, console)
                if connected is not None:
                    chat[platform] = connected
            scheduler = Scheduler(
                store,
                settings,
                ingestor,
                channels={"console": adapter, **chat},
                clock=_now,
                on_lead=first_round,
                on_leader=leadership,
                on_poll=polled,
                poll=queue.poll if queue is not None else None,
                on_digest=digested,
                live=settings.live,
            )
            web: WebServer | None = None

            def joined(platform: str, chat_adapter: ChatAdapter) -> None:
                chat[platform] = chat_adapter
                scheduler.channels[platform] = chat_adapter  # its digests are scheduled with the next sync

            retries = [
                asyncio.create_task(_keep_connecting(platform, make, settings, console, joined))
                for platform, make in factories.items()
                if platform not in chat
            ]
            if queue is not None:  # the queue's gauges on /metrics (cancelled with the retries)
                from bot.jobs import export_job_stats

                retries.append(
                    asyncio.create_task(
                        export_job_stats(
                            queue,
                            lambda report: metrics.set_jobs(report.counts, report.oldest_waiting_s),
                            _now,
                            every=JOB_STATS_EVERY_S,
                        )
                    )
                )
            try:
                leading = await scheduler.start()
                started = True
                routes = [route for chat_adapter in chat.values() for route in chat_adapter.routes()]
                if settings.http_listen is not None:  # Slack HTTP mode without it is refused by the config
                    web = await _start_web(settings.http_listen, metrics, store, scheduler, console, routes)
                if leading:
                    console.print(f"Scheduler: this process leads ({_jobs_line(scheduler)}).")
                else:
                    lease = await asyncio.to_thread(store.get_lease, LEASE_NAME)
                    holder = lease.holder if lease is not None else "another process"
                    console.print(
                        f"Scheduler: {holder} runs the scheduler on this database; this process answers "
                        "commands and takes over if that one stops."
                    )
                await startup_briefings()  # printed already when this process leads
                # Everything made so far lives as long as the process: keep it out of the collector's full passes,
                # which otherwise stall a /brief for 100-200 ms now and then (see bench/brief_bench.py).
                gc.freeze()
                reader: asyncio.Task[int] | None = None
                if factories:  # a service: the chat platforms bring the commands; stdin is not read
                    console.print("Running until stopped (Ctrl-C or SIGTERM).")
                else:
                    console.print("Type /brief <topic or words>, /brief help, or quit (end of input also quits).")
                    reader = asyncio.create_task(adapter.serve(stop), name="newsbrief-console")
                await stop.wait()
                if reader is not None:
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
            finally:
                for retry in retries:
                    retry.cancel()
                for chat_adapter in chat.values():
                    with contextlib.suppress(Exception):
                        await chat_adapter.close()
                if web is not None:
                    await web.close()
                await scheduler.stop()
    return 0


@contextlib.asynccontextmanager
async def _job_queue(settings: Settings) -> AsyncIterator[JobQueue | None]:
    """The job queue the scheduler fills with feed polls ([jobs] engine = "procrastinate"), else ``None``: polls
    run here."""
    if settings.jobs.engine != "procrastinate":
        yield None
        return
    from bot.jobs import JobQueue  # procrastinate: only for the job engine

    async with JobQueue(settings) as queue:
        yield queue


CONNECT_TIMEOUT_S = 30.0
"""How long one try to connect a chat platform may take."""
RECONNECT_DELAYS_S = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
"""Waits between tries to connect a chat platform that could not be reached at start (the last one repeats)."""


async def _connect(
    platform: str, make: Callable[[], ChatAdapter], settings: Settings, console: Console, *, quiet: bool = False
) -> ChatAdapter | None:
    """One try: a new adapter from ``make``, connected; ``None`` (reported unless ``quiet``) when it fails."""
    chat_adapter = make()
    try:
        # slack_sdk's Socket Mode client keeps retrying an unreachable Slack by itself: bound the wait
        await asyncio.wait_for(chat_adapter.start(), CONNECT_TIMEOUT_S)
    except Exception as exc:
        if not quiet:
            console.print(
                Text(
                    f"{platform.capitalize()}: cannot connect: {exc.__class__.__name__}: {exc}; "
                    "trying again in the background.",
                    style="red",
                )
            )
        with contextlib.suppress(Exception):
            await chat_adapter.close()
        return None
    how = f" ({settings.slack.mode} mode)" if platform == "slack" else ""
    console.print(f"{platform.capitalize()}: connected{how}.")
    return chat_adapter


async def _keep_connecting(
    platform: str,
    make: Callable[[], ChatAdapter],
    settings: Settings,
    console: Console,
    joined: Callable[[str, ChatAdapter], None],
    *,
    delays: Sequence[float] = RECONNECT_DELAYS_S,
) -> None:
    """Try again, with growing waits, until the platform can be reached; then hand the adapter to ``joined``."""
    for attempt in itertools.count():
        await asyncio.sleep(delays[min(attempt, len(delays) - 1)])
        chat_adapter = await _connect(platform, make, settings, console, quiet=True)
        if chat_adapter is not None:
            joined(platform, chat_adapter)
            return


def _chat_factories(
    store: Store, settings: Settings, console: Console, metrics: Metrics, feeds: FeedFinder | None = None
) -> dict[str, Callable[[], ChatAdapter]]:
    """How to make each chat adapter whose tokens are in the environment (a fresh one for every try). Each has
    its own per-user ``/brief`` rate limit; ``feeds`` finds feeds for ``/brief feeds add``. A platform whose token
    is set but which can never start (its extra is not installed, another token its mode needs is missing, a
    setting no retry mends) is a :class:`ConfigError`: the bot does not run without it (falling back to the
    console would look like a healthy service)."""
    factories: dict[str, Callable[[], ChatAdapter]] = {}

    def observer(platform: str) -> Callable[[str, float], None]:
        def observe(name: str, seconds: float) -> None:
            metrics.observe_command(name, platform, seconds)

        return observe

    slack_token, discord_token = settings.secret("SLACK_BOT_TOKEN"), settings.secret("DISCORD_TOKEN")
    if slack_token or settings.slack.mode == "oauth":  # OAuth: each workspace's token from its installation
        require_extra("slack")
        from bot.adapters.slack import SlackAdapter, SlackSetupError

        def slack() -> ChatAdapter:
            return SlackAdapter(
                settings=settings,
                store=store,
                limiter=RateLimiter(10),
                clock=_now,
                bot_token=slack_token,
                app_token=settings.secret("SLACK_APP_TOKEN"),
                signing_secret=settings.secret("SLACK_SIGNING_SECRET"),
                client_id=settings.secret("SLACK_CLIENT_ID"),
                client_secret=settings.secret("SLACK_CLIENT_SECRET"),
                observe=observer("slack"),
                feeds=feeds,
            )

        try:
            slack()  # the tokens the mode needs are checked here, once
        except SlackSetupError as exc:
            raise ConfigError(f"Slack cannot start (SLACK_BOT_TOKEN is set): {exc}") from None
        factories["slack"] = slack
    if discord_token:
        require_extra("discord")
        from bot.adapters.discord import DiscordAdapter, DiscordSetupError, check_api_base

        def discord() -> ChatAdapter:
            assert discord_token is not None
            return DiscordAdapter(
                settings=settings,
                store=store,
                limiter=RateLimiter(10),
                clock=_now,
                token=discord_token,
                observe=observer("discord"),
                feeds=feeds,
            )

        try:
            check_api_base(settings.discord)  # a setting that no retry mends: checked once
        except DiscordSetupError as exc:
            raise ConfigError(f"Discord cannot start (DISCORD_TOKEN is set): {exc}") from None
        factories["discord"] = discord
    return factories


async def _start_web(
    listen: str,
    metrics: Metrics,
    store: Store,
    scheduler: Scheduler,
    console: Console,
    routes: Sequence[web.RouteDef] = (),
) -> WebServer | None:
    """Serve /healthz and /metrics (and ``routes``) on ``listen``; a failure to bind is reported and the bot runs on
    without, unless Slack's HTTP mode needs the server (``routes``): then it is a :class:`CommandError` (exit 1, a
    service manager may try again later)."""
    from bot.web import WebServer

    head = store.head_revision()  # read from the migration scripts once, not on every request

    def health() -> dict[str, object]:
        snapshot: dict[str, object] = {"status": "ok", **scheduler.health()}
        try:
            revision = store.current_revision()
        except Exception as exc:
            snapshot.update(status="error", store=f"unreachable: {exc.__class__.__name__}")
        else:
            snapshot["store"] = "ok" if revision == head else f"schema at {revision}, needs upgrade"
            if snapshot["store"] != "ok":
                snapshot["status"] = "error"
        return snapshot

    server = WebServer(listen, metrics, health, extra_routes=routes)
    try:
        await server.start()
    except OSError as exc:
        if routes:  # Slack HTTP mode receives its events here: without the server Slack is not connected
            raise CommandError(
                f"HTTP: cannot listen on {listen}: {exc}; Slack HTTP mode receives its events there"
            ) from None
        console.print(Text(f"HTTP: {exc}; running without /healthz and /metrics.", style="yellow"))
        return None
    console.print(f"HTTP: /healthz and /metrics on {server.url}")
    return server


def _last_posted(store: Store, sub_id: int) -> datetime | None:
    """When the subscription's last digest was posted (``None``: never)."""
    posted = [slot.finished_at for slot in store.list_slots(sub_id) if slot.outcome == "posted" and slot.finished_at]
    return max(posted, default=None)


def _jobs_line(scheduler: Scheduler) -> str:
    jobs = scheduler.jobs()
    polls = sum(1 for job in jobs if job.id.startswith("poll:"))
    digests = sum(1 for job in jobs if job.id.startswith("digest:"))
    return f"{polls} feed {'poll' if polls == 1 else 'polls'}, {digests} {'digest' if digests == 1 else 'digests'}"


def _print_topic_briefings(store: Store, settings: Settings, console: Console) -> None:
    now = _now()
    for name in settings.topics:
        result = make_briefing(store, name, topics=settings.topics, now=now)
        console.print()
        if isinstance(result, NoMatch):
            console.print(Text(f"Nothing new on {name}.", style="dim"))
        else:
            console.print(render_briefing(result))
