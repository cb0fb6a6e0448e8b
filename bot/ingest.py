"""One poll round: due feeds -> entries -> pages -> text -> summary -> store -> stories.

The store, the fetcher (with its injected httpx client), the story index, the random source and ``now``
are all passed in. One feed's failure is recorded on that feed and never delays or breaks the others.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from bot.config import Settings
from bot.sources import (
    DEFAULT_USER_AGENT,
    ExtractedPage,
    FeedEntry,
    Fetcher,
    FetchError,
    FetchPolicy,
    GuardedTransport,
    Resolver,
    extract_page_async,
    html_to_text,
    next_backoff,
    parse_feed,
)
from bot.store import Feed, Store
from bot.stories import StoryIndex, content_hash
from summarizer import Summary, detect_language
from summarizer import summarize as default_summarize

__all__ = [
    "FeedResult",
    "Ingestor",
    "entry_text",
    "extraction_pool",
    "fetch_policy",
    "http_client",
    "ingestor_for",
    "load_story_index",
    "sync_config_feeds",
]

log = logging.getLogger("newsbrief.ingest")

# A page whose extracted text is shorter than this (or shorter than the feed's own text) is not used:
# paywalls, consent walls and teaser pages.
MIN_PAGE_CHARS = 400
FEED_TIMEOUT_S = 120.0
FEEDS_PER_FETCH_SLOT = 2
"""A round polls at most this many feeds per ``network.global_limit`` slot at once (the others wait their turn
before their :data:`FEED_TIMEOUT_S` starts), so a feed's timeout bounds its own work, never its wait behind a
thousand other feeds sharing the fetch slots."""


MAX_ENTRIES_PER_POLL = 500
"""Entries read from one feed document (feeds list the newest first); the rest are reported, not read."""


@dataclass
class FeedResult:
    """What one feed's poll did; ``status`` is "ok", "not_modified", "error" or "disabled"."""

    feed_id: int
    url: str
    status: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    error_kind: str | None = None
    """Why the poll failed ("timeout", "http", "parse", ... as :class:`bot.sources.FetchError` kinds), if it did."""


class UnusableEntry(ValueError):
    """A feed entry that cannot be stored as an article (skipped, with the reason in the poll's errors)."""


def entry_text(entry: FeedEntry) -> str:
    """The best text a feed entry carries itself: its content, else its summary, as plain text."""
    for candidate in (entry.content, entry.summary):
        if candidate and candidate.strip():
            return html_to_text(candidate) or ""
    return ""


class Ingestor:
    """Polls feeds into the store. ``summarize`` is the summarizer function (injected for tests)."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        settings: Settings,
        *,
        stories: StoryIndex,
        rng: random.Random,
        summarize: Callable[..., Summary] | None = None,
        extract_executor: Executor | None = None,
    ) -> None:
        self.extract_executor = extract_executor
        self.store = store
        self.fetcher = fetcher
        self.settings = settings
        self.stories = stories
        self.rng = rng
        self.summarize = summarize or default_summarize

    # -- rounds -------------------------------------------------------------------------------------

    async def poll_round(
        self,
        now: datetime,
        *,
        all_feeds: bool = False,
        progress: Callable[[FeedResult], None] | None = None,
    ) -> list[FeedResult]:
        """Poll every due feed (or all enabled feeds) concurrently; one result per feed.

        At most :data:`FEEDS_PER_FETCH_SLOT` x ``network.global_limit`` feeds are in flight at a time.
        """
        feeds = self.store.due_feeds(now, all=all_feeds)
        in_flight = asyncio.Semaphore(max(1, self.settings.network.global_limit) * FEEDS_PER_FETCH_SLOT)

        async def one(feed: Feed) -> FeedResult:
            async with in_flight:
                result = await self.poll_guarded(feed, now)
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(f) for f in feeds)))

    async def poll_guarded(self, feed: Feed, now: datetime) -> FeedResult:
        """:meth:`poll_feed` within :data:`FEED_TIMEOUT_S`; a timeout or any failure is recorded on the feed
        (with its backoff) and returned as an "error" result, never raised."""
        try:
            return await asyncio.wait_for(self.poll_feed(feed, now), FEED_TIMEOUT_S)
        except TimeoutError:
            return self._failure(feed, now, "timeout", f"{feed.url}: poll took longer than {FEED_TIMEOUT_S:.0f}s")
        except Exception as exc:  # a bug or an unforeseen input must not stop the round
            log.exception("poll of %s failed", feed.url)
            return self._failure(feed, now, "internal", f"{feed.url}: {exc.__class__.__name__}: {exc}")

    async def poll_feed(self, feed: Feed, now: datetime) -> FeedResult:
        """Fetch one feed, store its new entries, schedule its next poll."""
        interval = timedelta(seconds=feed.interval_s)
        try:
            fetched = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        except FetchError as exc:
            return self._failure(feed, now, exc.kind, str(exc), retry_after=exc.retry_after)
        if fetched.not_modified:
            self.store.record_poll_success(
                feed.id, etag=fetched.etag or feed.etag, last_modified=fetched.last_modified or feed.last_modified,
                now=now, next_poll_at=now + interval,
            )  # fmt: skip
            return FeedResult(feed.id, feed.url, "not_modified")
        # Parsing a large document takes a while: off the event loop, which must keep answering chat commands.
        parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.final_url, headers=fetched.headers)
        result = FeedResult(feed.id, feed.url, "ok")
        if parsed.error:
            result.errors.append(f"{feed.url}: {parsed.error}")
        entries = list(parsed.entries)
        if len(entries) > MAX_ENTRIES_PER_POLL:
            result.errors.append(f"{feed.url}: {len(entries)} entries; the first {MAX_ENTRIES_PER_POLL} were read")
            entries = entries[:MAX_ENTRIES_PER_POLL]
        if parsed.error and not entries:
            return self._failure(feed, now, "parse", f"{feed.url}: {parsed.error}")
        eligible = self._eligible_flags(feed, entries)
        for entry, is_eligible in zip(entries, eligible, strict=True):
            await asyncio.sleep(0)  # one entry at a time: commands, lease renewals and timeouts run in between
            try:
                status = await self._ingest_entry(feed, entry, now, eligible=is_eligible)
            except UnusableEntry as exc:
                log.warning("%s: entry %s skipped: %s", feed.url, entry.title or "(untitled)", exc)
                result.errors.append(f"entry {(entry.title or '(untitled)')[:80]!r} skipped: {exc}")
                continue
            except Exception as exc:  # one bad entry never loses the others
                log.exception("entry %s of %s failed", entry.link or entry.guid, feed.url)
                result.errors.append(f"{entry.link or entry.guid}: {exc.__class__.__name__}: {exc}")
                continue
            if status == "new":
                result.new += 1
            elif status == "updated":
                result.updated += 1
            else:
                result.unchanged += 1
        self.store.record_poll_success(  # a full response replaces the validators ("" clears a stale one)
            feed.id, etag=fetched.etag or "", last_modified=fetched.last_modified or "", now=now,
            next_poll_at=now + interval, error="; ".join(result.errors)[:1000] or None,
        )  # fmt: skip
        return result

    # -- helpers ------------------------------------------------------------------------------------

    def _eligible_flags(self, feed: Feed, entries: Sequence[FeedEntry]) -> list[bool]:
        """On a feed's first poll only the newest ``poll.backfill`` entries may reach digests."""
        if feed.backfilled:
            return [True] * len(entries)
        dates = [e.published or e.updated for e in entries]
        order = list(range(len(entries)))  # feed order: newest first by convention
        if all(d is not None for d in dates):
            order.sort(key=lambda i: dates[i], reverse=True)  # type: ignore[arg-type,return-value]
        keep = set(order[: self.settings.poll.backfill])
        return [i in keep for i in range(len(entries))]

    async def _ingest_entry(self, feed: Feed, entry: FeedEntry, now: datetime, *, eligible: bool) -> str:
        link = entry.link or ""
        feed_text = entry_text(entry)
        text, source = feed_text, "feed"
        title, author, published = entry.title, entry.author, entry.published
        known = self.store.article_at(link) if link else None
        page: ExtractedPage | None = None
        if link and self.settings.poll.fetch_pages and (known is None or known.text_source == "feed"):
            page = await self._page(link)
            if page is not None and len(page.text) >= max(MIN_PAGE_CHARS, len(feed_text)):
                text, source = page.text, "page"
                author = author or page.author
        title = title or (page.title if page else None)  # an item without a headline: the page's own
        if not text.strip() and not title:
            raise UnusableEntry("it has neither text nor title")
        if not link and not entry.guid and not text.strip():
            # nothing to read and nothing to tell it apart by: a headline alone, often the remains of an item
            # cut short in a malformed or truncated document
            raise UnusableEntry("it has no link, no GUID and no text")
        # Summarize once: an article met again with the same text (or only a feed snippet of a page we
        # already have) keeps its stored summary.
        same = known is not None and (
            known.content_hash == content_hash(text) or (known.text_source == "page" and source == "feed")
        )
        language = self.settings.feed_language(feed.url) or detect_language(f"{title or ''}\n{text}")
        summary = None if same else self.summarize(text, title=title, sentences=3, quotes=2, language=language)
        article, status = self.store.upsert_article(
            feed_id=feed.id, url=link or None, guid=entry.guid, title=title, author=author, published_at=published,
            text=text, text_source=source, summary=summary, eligible=eligible, now=now, language=language,
            outlet=feed.name or (page.site_name if page else None),  # else the host (the store's default)
        )  # fmt: skip
        if status in ("new", "updated"):
            key = self.stories.add(article.id, f"{article.title}\n{article.text}", article.outlet)
            self.store.assign_story(article.id, key, now, minhash=self.stories.signature_of(article.id))
        return status

    async def _page(self, url: str) -> ExtractedPage | None:
        try:
            fetched = await self.fetcher.fetch(url)
        except FetchError as exc:
            log.info("page %s: %s (falling back to the feed's text)", url, exc)
            return None
        return await extract_page_async(
            fetched.body, fetched.final_url, timeout=self.settings.poll.page_timeout, executor=self.extract_executor
        )

    def _failure(
        self, feed: Feed, now: datetime, kind: str, message: str, *, retry_after: float | None = None
    ) -> FeedResult:
        failures = feed.consecutive_failures + 1
        delay = next_backoff(failures, base=feed.interval_s, cap=self.settings.poll.max_backoff, rng=self.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        disabled = self.store.record_poll_failure(
            feed.id, kind=kind, message=message, now=now, next_poll_at=now + timedelta(seconds=delay),
            disable_after=self.settings.poll.disable_after,
        )  # fmt: skip
        log.warning("%s", message)
        return FeedResult(feed.id, feed.url, "disabled" if disabled else "error", errors=[message], error_kind=kind)


# --------------------------------------------------------------------------------------------------
# Wiring from settings (the CLI and the scheduler call these; clients and ``now`` still come in)


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The :class:`FetchPolicy` the ``[network]`` section describes."""
    net = settings.network
    return FetchPolicy(
        connect_timeout=net.connect_timeout,
        read_timeout=net.read_timeout,
        max_bytes=net.max_bytes,
        per_host=net.per_host,
        global_limit=net.global_limit,
        user_agent=net.user_agent or DEFAULT_USER_AGENT,
        allow_private=net.allow_private,
    )


def http_client(settings: Settings, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The one httpx client of a process: redirects are followed by the Fetcher, hop by hop, after the guard;
    every connection goes to an address the guard approved when connecting (:class:`GuardedTransport`, which
    closes DNS rebinding). ``resolver``: the guard's resolver (tests inject one)."""
    net = settings.network
    timeout = httpx.Timeout(net.read_timeout, connect=net.connect_timeout)
    limits = httpx.Limits(max_connections=net.global_limit, max_keepalive_connections=net.global_limit)
    transport = GuardedTransport(fetch_policy(settings), resolver, limits=limits)
    return httpx.AsyncClient(follow_redirects=False, timeout=timeout, transport=transport, trust_env=False)


def load_story_index(store: Store, now: datetime, *, days: int) -> StoryIndex:
    """The story index rebuilt from the signatures stored for the last ``days`` days."""
    since = now - timedelta(days=days)
    rows = store.minhash_signatures(since=since)
    return StoryIndex.rebuild((s.article_id, s.signature, s.outlet, s.story_id) for s in rows)


def sync_config_feeds(store: Store, settings: Settings, now: datetime) -> list[Feed]:
    """Add the config's ``[[feeds]]`` that the store does not have yet; returns the feeds added."""
    added = []
    for feed in settings.feeds:
        if store.get_feed(feed.url) is None:
            interval = int(feed.interval or settings.poll.interval)
            try:
                added.append(store.add_feed(feed.url, name=feed.name, interval_s=interval, tags=feed.tags, now=now))
            except ValueError:
                if store.get_feed(feed.url) is None:
                    raise
                # another process starting on the same database added it first
    return added


@contextmanager
def extraction_pool() -> Iterator[Executor | None]:
    """A one-worker process pool for page extraction on a machine with a spare core, else ``None``.

    Extraction is the largest share of ingest CPU and holds the GIL; a worker process lets it run beside
    fetching, summarizing and storing. Workers are spawned (not forked: the parent has threads).
    """
    if (os.cpu_count() or 1) < 2:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def ingestor_for(
    store: Store, client: httpx.AsyncClient, settings: Settings, now: datetime, *, executor: Executor | None = None
) -> Ingestor:
    """An :class:`Ingestor` wired from settings: a guarded Fetcher on ``client``, the story index of the
    retention window, and optionally a process pool for page extraction."""
    return Ingestor(
        store,
        Fetcher(client, fetch_policy(settings)),
        settings,
        stories=load_story_index(store, now, days=settings.store.retention_days),
        rng=random.Random(),
        extract_executor=executor,
    )
