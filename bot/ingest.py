"""One poll round: due feeds -> entries -> pages -> text -> summary -> store -> stories.

The store, the fetcher (with its injected httpx client), the story index, the random source and ``now``
are all passed in. One feed's failure is recorded on that feed and never delays or breaks the others. The
database going away is no feed's failure: the feeds it interrupts are left due, and the round starts no more.

The two units of work are :meth:`Ingestor.poll_job` (poll one feed: fetch, parse, and store or hand on its entries)
and :meth:`Ingestor.entry_job` (fetch, extract, summarize and store one entry, its story decided in the same
transaction). In one process (``[jobs] engine = "inline"``) a poll stores its entries itself, one after another
within the feed's time; with a job queue (:mod:`bot.jobs`) it hands each entry that needs a page or a summary to
``enqueue`` as an :class:`EntryJob`, which a worker runs later through :meth:`Ingestor.entry_job`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.config import Settings, StoreConfig, duration_text
from bot.sources import (
    ExtractedPage,
    FeedEntry,
    Fetcher,
    FetchError,
    GuardedTransport,
    Resolver,
    RobotsCache,
    extract_page_async,
    html_to_text,
    is_file_url,
    linked_url_refusal,
    next_backoff,
    parse_feed,
)
from bot.store import (
    Article,
    ArticleInput,
    Feed,
    Store,
    StoredSignature,
    StoreUnavailable,
    StoryAssignment,
    UpsertStatus,
)
from bot.stories import StoryIndex, content_hash, story_time
from summarizer import Summary, detect_language
from summarizer import summarize as default_summarize

__all__ = [
    "EntryJob",
    "EntrySink",
    "FeedResult",
    "IndexedAssignment",
    "Ingestor",
    "assign_missing_stories",
    "catch_up_stories",
    "entry_text",
    "extraction_pool",
    "http_client",
    "ingestor_for",
    "load_story_index",
    "sync_config_feeds",
]

log = logging.getLogger("newsbrief.ingest")

# A page whose extracted text is shorter than this (or shorter than the feed's own text) is not used:
# paywalls, consent walls and teaser pages.
MIN_PAGE_CHARS = 400
FEEDS_PER_FETCH_SLOT = 2
"""A round polls at most this many feeds per ``network.global_limit`` slot at once (the others wait their turn
before their ``poll.feed_timeout`` starts), so a feed's timeout bounds its own work, never its wait behind a
thousand other feeds sharing the fetch slots."""

PAGE_ATTEMPTS = 5
"""Failed tries (timeouts, connection failures, HTTP 408/429/5xx) after which an article's page is given up."""

POLL_EARLY = timedelta(seconds=1)
"""A poll job may start a moment before its feed's time is reached on this clock (two clocks): the feed is due."""

ROBOTS_RETRY_S = 3600.0
"""A page robots.txt forbids (or whose site cannot serve its robots.txt) is asked about again after this."""


MAX_ENTRIES_PER_POLL = 500
"""Entries read from one feed document (feeds list the newest first); the rest are reported, not read."""


@dataclass
class FeedResult:
    """What one feed's poll did; ``status`` is "ok", "not_modified", "error" or "disabled", or, when the database
    went away, "unavailable" (the poll was cut short) or "not_polled" (the round never started it): those two are
    no failure of the feed, which is left due."""

    feed_id: int
    url: str
    status: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    error_kind: str | None = None
    """Why the poll failed ("timeout", "http", "parse", ... as :class:`bot.sources.FetchError` kinds), if it did."""
    queued: int = 0
    """Entries handed on as :class:`EntryJob` (a poll with a job queue), to be stored by a worker."""


@dataclass(frozen=True)
class EntryJob:
    """One feed entry to fetch, extract, summarize and store: the payload of an entry job (see :meth:`to_json`).

    ``follow``: whether its link may be fetched (:meth:`Ingestor._vet_link` said so when the feed was read);
    ``eligible``: whether it may reach digests (a new feed's backlog may not)."""

    feed_id: int
    entry: FeedEntry
    eligible: bool
    follow: bool

    def to_json(self) -> dict[str, Any]:
        """The job as JSON values (dates as ISO 8601), for a job queue."""
        e = self.entry
        return {
            "feed_id": self.feed_id,
            "eligible": self.eligible,
            "follow": self.follow,
            "entry": {
                "guid": e.guid,
                "link": e.link,
                "title": e.title,
                "author": e.author,
                "summary": e.summary,
                "content": e.content,
                "published": _iso(e.published),
                "updated": _iso(e.updated),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntryJob:
        """The job :meth:`to_json` gave (``ValueError``/``KeyError`` for anything else)."""
        e = data["entry"]
        entry = FeedEntry(
            guid=e["guid"],
            link=e["link"],
            title=e["title"],
            author=e["author"],
            summary=e["summary"],
            content=e["content"],
            published=_date(e["published"]),
            updated=_date(e["updated"]),
        )
        return cls(int(data["feed_id"]), entry, bool(data["eligible"]), bool(data["follow"]))

    @property
    def key(self) -> str:
        """What tells this entry apart within its feed (its link, else its GUID, else its title and text)."""
        e = self.entry
        return e.link or e.guid or f"{e.title or ''}\n{entry_text(e)}"


EntrySink = Callable[[Sequence[EntryJob]], Awaitable[int]]
"""Where a poll hands the entries that need work, all at once: queues their jobs (or gives an entry's waiting job
this newer version); returns how many were queued (not those whose same work is already waiting)."""


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _date(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class UnusableEntry(ValueError):
    """A feed entry that cannot be stored as an article (skipped, with the reason in the poll's errors)."""


@dataclass(frozen=True)
class _PageFailure:
    """Why an article's page was not used; ``retry``: it may work later (a timeout, a server error)."""

    reason: str
    retry: bool
    retry_after: float | None = None
    noted: bool = True
    """Whether it goes into the poll's errors (a page that was read but had too little text does not)."""


@dataclass
class _PagePhase:
    """The pages of one feed's poll: fetched until ``deadline`` (event-loop time), and how they went."""

    deadline: float
    failed: list[str] = field(default_factory=list)
    deferred: int = 0

    def note(self, feed_timeout: timedelta) -> str | None:
        """One short line for the poll's errors, ``None`` when every page was fine."""
        parts = []
        if self.failed:
            more = f" and {len(self.failed) - 1} more" if len(self.failed) > 1 else ""
            parts.append(
                f"{len(self.failed)} article pages not used ({self.failed[0]}{more}), their entries "
                "stored from the feed's text"
            )
        if self.deferred:
            ran_out = f"the feed's {duration_text(feed_timeout)} ran out"
            parts.append(f"{self.deferred} pages left for a later poll ({ran_out})")
        return "pages: " + "; ".join(parts) if parts else None


def _language_and_summary(
    text: str,
    title: str | None,
    language: str | None,
    wanted: bool,
    summarize: Callable[..., Summary] = default_summarize,
) -> tuple[str | None, Summary | None]:
    """The language of an entry's text (``language`` when the feed's config sets it) and its summary (``None``
    when not ``wanted``)."""
    language = language or detect_language(f"{title or ''}\n{text}")
    summary = summarize(text, title=title, sentences=3, quotes=2, language=language) if wanted else None
    return language, summary


def _page_wanted(known: Article | None, now: datetime) -> bool:
    """Whether an entry's page is fetched: a new article; or one stored from its feed's text whose page has not
    failed, or failed and is due for another try (never once its text is the page's, or its page was given up)."""
    if known is None:
        return True
    if known.text_source != "feed":
        return False
    return known.page_error is None or (known.page_retry_at is not None and known.page_retry_at <= now)


def _retryable(exc: FetchError) -> bool:
    """A page fetch that may work later: a timeout, a refused connection, HTTP 408, 425, 429 or 5xx."""
    if exc.kind in ("timeout", "connect"):
        return True
    return exc.kind == "http" and (exc.status is None or exc.status in (408, 425, 429) or exc.status >= 500)


def _same_text(known: Article, text: str, source: str) -> bool:
    """Whether ``text`` (from the "page" or the "feed") leaves ``known`` as it is: the same text, or only a feed
    snippet of a page already stored."""
    return known.content_hash == content_hash(text) or (known.text_source == "page" and source == "feed")


def entry_text(entry: FeedEntry) -> str:
    """The best text a feed entry carries itself: its content, else its summary, as plain text."""
    for candidate in (entry.content, entry.summary):
        if candidate and candidate.strip():
            return html_to_text(candidate) or ""
    return ""


class Ingestor:
    """Polls feeds into the store. ``summarize`` is the summarizer function (injected for tests).

    Every feed in the store was configured by the operator (the config file, ``newsbrief feeds add``), so a
    ``file:`` feed URL is read; the URLs a feed names are followed only as :func:`linked_url_refusal` allows.
    ``robots`` answers whether a page may be fetched (by default a :class:`RobotsCache` on ``fetcher`` when
    ``[poll] respect_robots`` is on; robots.txt is not consulted when it is off).

    ``extract_executor`` (:func:`extraction_pool`) extracts pages and, with the default ``summarize``, detects the
    language of each text and summarizes it; ``None``: in this process.

    ``store_thread``: one thread (a one-worker executor) in which every article is stored with its story, so the
    event loop fetches, extracts and summarizes other entries meanwhile (a job worker's waits for the story lock
    and the database are long); the story index is then used from that thread alone. ``None``: on the event loop.
    """

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
        store_thread: Executor | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.extract_executor = extract_executor
        self.store_thread = store_thread
        self._store_queue: _StoreQueue | None = None
        if settings.poll.respect_robots:
            self.robots: RobotsCache | None = robots or RobotsCache(fetcher)
        else:
            self.robots = None
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

        At most :data:`FEEDS_PER_FETCH_SLOT` x ``network.global_limit`` feeds are in flight at a time. Once the
        database is unavailable no further feed is started (each is returned as "not_polled", left due); the
        feeds in flight end as they can. :class:`StoreUnavailable` is raised only when the due feeds cannot be read.
        """
        feeds = self.store.due_feeds(now, all=all_feeds)
        in_flight = asyncio.Semaphore(max(1, self.settings.network.global_limit) * FEEDS_PER_FETCH_SLOT)
        store_down = False

        async def one(feed: Feed) -> FeedResult:
            nonlocal store_down
            async with in_flight:
                if store_down:
                    result = FeedResult(feed.id, feed.url, "not_polled")
                else:
                    result = await self.poll_guarded(feed, now)
                    store_down = store_down or result.status == "unavailable"
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(f) for f in feeds)))

    async def poll_guarded(self, feed: Feed, now: datetime) -> FeedResult:
        """:meth:`poll_feed`, with any failure recorded on the feed (with its backoff) and returned as an "error"
        result, never raised. The database going away is returned as an "unavailable" result, logged on one line:
        nothing is recorded (nothing could be), the feed stays due."""
        try:
            try:
                return await self.poll_feed(feed, now)
            except StoreUnavailable:
                raise
            except Exception as exc:  # a bug or an unforeseen input must not stop the round
                log.exception("poll of %s failed", feed.url)
                return self._failure(feed, now, "internal", f"{feed.url}: {exc.__class__.__name__}: {exc}")
        except StoreUnavailable as exc:
            log.info("%s: poll cut short, the feed stays due: database unavailable: %s", feed.url, exc)
            return FeedResult(feed.id, feed.url, "unavailable", errors=[f"database unavailable: {exc}"])

    async def poll_job(self, feed_id: int, now: datetime, *, enqueue: EntrySink | None = None) -> FeedResult | None:
        """The poll job: :meth:`poll_feed` of the feed ``feed_id`` if it is due at ``now``; ``None`` (nothing done)
        for a feed that is not due (polled moments ago: a job delivered twice polls once), disabled or removed.
        Failures other than the feed's own (recorded on it) are raised, for the job queue to retry."""
        feed = self.store.get_feed(feed_id)
        if feed is None or not feed.enabled:
            return None
        if feed.next_poll_at is not None and feed.next_poll_at > now + POLL_EARLY:
            return None
        return await self.poll_feed(feed, now, enqueue=enqueue)

    def poll_job_failed(self, feed_id: int, now: datetime, reason: str) -> None:
        """A feed's poll job failed for good (dead-lettered): record it on the feed, as a failed poll of kind "job"
        (``feeds list`` shows it; the feed backs off and is disabled after ``poll.disable_after`` of them)."""
        feed = self.store.get_feed(feed_id)
        if feed is not None:
            self._failure(feed, now, "job", f"{feed.url}: poll job failed: {reason}")

    async def entry_job(self, job: EntryJob, now: datetime) -> str:
        """The entry job: fetch the entry's page (within ``poll.page_budget``), extract, summarize and store it with
        its story; returns "new", "updated", "unchanged", or "skipped" (an entry that cannot be an article, or of
        a feed removed meanwhile). Running it again stores nothing twice (the store knows the article by its URL,
        GUID or text). Other failures are raised, for the job queue to retry."""
        feed = self.store.get_feed(job.feed_id)
        if feed is None:
            log.info("entry %s: its feed %d was removed; not stored", job.key[:200], job.feed_id)
            return "skipped"
        pages = _PagePhase(asyncio.get_running_loop().time() + self.settings.poll.page_budget.total_seconds())
        try:
            return await self._ingest_entry(feed, job.entry, now, eligible=job.eligible, pages=pages, follow=job.follow)
        except UnusableEntry as exc:
            log.warning("%s: entry %s skipped: %s", feed.url, job.entry.title or "(untitled)", exc)
            return "skipped"

    async def poll_feed(self, feed: Feed, now: datetime, *, enqueue: EntrySink | None = None) -> FeedResult:
        """Fetch one feed, store its new entries, schedule its next poll.

        The feed's document must be fetched and parsed within ``poll.feed_timeout``, else the poll failed (a
        "timeout", counted towards disabling the feed). The entries' pages are fetched while that time lasts,
        each within ``poll.page_budget``; every entry is stored whatever its page did (from the feed's text when
        the page is slow, fails, or the time ran out), and page failures never count against the feed.

        With ``enqueue`` an entry whose page is to be fetched or whose text is new is handed to it as an
        :class:`EntryJob` instead, all in one call once the others are stored (counted in ``queued``); the others
        (met before, nothing to fetch or summarize) are stored here.
        """
        interval = timedelta(seconds=feed.interval_s)
        timeout = self.settings.poll.feed_timeout
        deadline = asyncio.get_running_loop().time() + timeout.total_seconds()
        try:
            async with asyncio.timeout_at(deadline):
                # a feed in the store is the operator's (config, local CLI): a local file may be read
                fetched = await self.fetcher.fetch(
                    feed.url, etag=feed.etag, last_modified=feed.last_modified, allow_file=True
                )
                if fetched.not_modified:
                    parsed = None
                else:  # a large document takes a while: off the event loop, which must keep answering commands
                    parsed = await asyncio.to_thread(
                        parse_feed, fetched.body, fetched.final_url, headers=fetched.headers
                    )
        except FetchError as exc:
            return self._failure(feed, now, exc.kind, str(exc), retry_after=exc.retry_after)
        except TimeoutError:
            message = f"{feed.url}: feed not fetched and read within {duration_text(timeout)}"
            return self._failure(feed, now, "timeout", message)
        if parsed is None:
            self.store.record_poll_success(
                feed.id,
                etag=fetched.etag or feed.etag,
                last_modified=fetched.last_modified or feed.last_modified,
                now=now,
                next_poll_at=now + interval,
            )
            return FeedResult(feed.id, feed.url, "not_modified")
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
        pages = _PagePhase(deadline)
        jobs: list[EntryJob] = []
        for entry, is_eligible in zip(entries, eligible, strict=True):
            await asyncio.sleep(0)  # one entry at a time: commands, lease renewals and timeouts run in between
            entry, follow, refused = self._vet_link(entry, fetched.final_url)
            if refused is not None:
                log.warning("%s: %s", feed.url, refused)
                result.errors.append(refused)
            if enqueue is not None and self._work_needed(entry, now, follow):
                jobs.append(EntryJob(feed.id, entry, is_eligible, follow))
                continue
            try:
                status = await self._ingest_entry(feed, entry, now, eligible=is_eligible, pages=pages, follow=follow)
            except UnusableEntry as exc:
                log.warning("%s: entry %s skipped: %s", feed.url, entry.title or "(untitled)", exc)
                result.errors.append(f"entry {(entry.title or '(untitled)')[:80]!r} skipped: {exc}")
                continue
            except StoreUnavailable:  # no entry can be stored now: the feed's poll ends here
                raise
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
        if jobs and enqueue is not None:
            # raised when the queue fails: the poll is not recorded, so its entries are read again next time
            result.queued += await enqueue(jobs)
        kind = "parse" if result.errors else "page"
        page_note = pages.note(timeout)
        if page_note:
            result.errors.append(page_note)
        self.store.record_poll_success(  # a full response replaces the validators ("" clears a stale one)
            feed.id,
            etag=fetched.etag or "",
            last_modified=fetched.last_modified or "",
            now=now,
            next_poll_at=now + interval,
            error="; ".join(result.errors)[:1000] or None,
            error_kind=kind,
        )
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

    @staticmethod
    def _vet_link(entry: FeedEntry, base_url: str) -> tuple[FeedEntry, bool, str | None]:
        """(the entry, whether its link may be fetched, the poll error when its link was dropped).

        A ``file:`` link the feed may not name (:func:`linked_url_refusal`) is dropped: the entry is kept from
        its feed text, without that link. Other links that are not followed (``urn:``, ``mailto:``...) stay
        the article's identity; they are simply never fetched.
        """
        if not entry.link:
            return entry, False, None
        refusal = linked_url_refusal(entry.link, base_url)
        if refusal is None:
            return entry, True, None
        if not is_file_url(entry.link):
            return entry, False, None
        shown = " ".join(entry.link.split())[:200]
        note = f"entry {(entry.title or '(untitled)')[:80]!r}: link {shown} refused: {refusal}"
        return replace(entry, link=None), False, note

    def _wants_page(self, entry: FeedEntry, known: Article | None, now: datetime, follow: bool) -> bool:
        return bool(entry.link and follow and self.settings.poll.fetch_pages and _page_wanted(known, now))

    def _work_needed(self, entry: FeedEntry, now: datetime, follow: bool) -> bool:
        """Whether storing ``entry`` fetches its page or summarizes its text (else it is a quick update of an
        article met before)."""
        known = self.store.article_at(entry.link) if entry.link else None
        if known is None or self._wants_page(entry, known, now, follow):
            return True
        return not _same_text(known, entry_text(entry), "feed")

    async def _ingest_entry(
        self, feed: Feed, entry: FeedEntry, now: datetime, *, eligible: bool, pages: _PagePhase, follow: bool
    ) -> str:
        link = entry.link or ""
        feed_text = entry_text(entry)
        text, source = feed_text, "feed"
        title, author, published = entry.title, entry.author, entry.published
        known = self.store.article_at(link) if link else None
        failure: _PageFailure | None = None
        page: ExtractedPage | None = None
        if self._wants_page(entry, known, now, follow):
            got = await self._page(link, now, pages)
            if isinstance(got, _PageFailure):
                failure = got
            else:
                page = got
            if page is not None and len(page.text) >= max(MIN_PAGE_CHARS, len(feed_text)):
                text, source = page.text, "page"
                author = author or page.author
            elif page is not None:
                failure = _PageFailure(f"too little text ({len(page.text)} characters)", retry=False, noted=False)
        title = title or (page.title if page else None)  # an item without a headline: the page's own
        if not text.strip() and not title:
            raise UnusableEntry("it has neither text nor title")
        if not link and not entry.guid and not text.strip():
            # nothing to read and nothing to tell it apart by: a headline alone, often the remains of an item
            # cut short in a malformed or truncated document
            raise UnusableEntry("it has no link, no GUID and no text")
        # Summarize once: an article met again with the same text (or only a feed snippet of a page we
        # already have) keeps its stored summary.
        same = known is not None and _same_text(known, text, source)
        language = self.settings.feed_language(feed.url)
        if self.extract_executor is not None and self.summarize is default_summarize:  # in the extraction process
            language, summary = await asyncio.get_running_loop().run_in_executor(
                self.extract_executor, _language_and_summary, text, title, language, not same
            )
        else:
            language, summary = _language_and_summary(text, title, language, not same, self.summarize)

        item = ArticleInput(
            feed_id=feed.id,
            url=link or None,
            guid=entry.guid,
            title=title,
            author=author,
            published_at=published,
            text=text,
            text_source=source,
            summary=summary,
            eligible=eligible,
            now=now,
            language=language,
            outlet=feed.name or (page.site_name if page else None),  # else the host
        )
        if self.store_thread is None:
            stored = self._store_articles([item])[0]
            if isinstance(stored, Exception):
                raise stored
            article, status = stored
        else:  # the event loop goes on with other entries while this one waits for the story lock and the database
            if self._store_queue is None:
                self._store_queue = _StoreQueue(self.store_thread, self._store_articles)
            article, status = await self._store_queue.store(item)
        if failure is not None and article.text_source == "feed":
            self._page_failed(feed, article, failure, now, pages)
        return status

    def _store_articles(self, items: list[ArticleInput]) -> list[tuple[Article, UpsertStatus] | Exception]:
        """Store ``items``, each in the story the index decides for it, in one transaction (one hold of the story
        lock); should that fail, each in its own, so that one article's failure (returned in its place) is not
        the others'. Each article and its story are stored together or not at all, and the index keeps only
        what was stored."""
        assignment = IndexedAssignment(
            self.stories, self.store, several=len(items) > 1, days=self.settings.store.retention_days
        )
        try:
            return list(self.store.upsert_articles(items, assign_story=assignment))
        except Exception as exc:
            assignment.undo()
            if len(items) == 1 or isinstance(exc, StoreUnavailable):  # the database is away: no use trying each
                return [exc] * len(items)
            log.info("storing %d articles together failed (%s); storing them one by one", len(items), exc)
        except BaseException:
            assignment.undo()
            raise
        return [stored for item in items for stored in self._store_articles([item])]

    async def _page(self, url: str, now: datetime, pages: _PagePhase) -> ExtractedPage | _PageFailure | None:
        """The page at ``url`` (a link :func:`linked_url_refusal` allowed, so a ``file:`` one lies beside the
        operator's local feed) fetched and extracted within ``poll.page_budget``, or why not; ``None`` when the
        feed's time ran out first (the page is left for a later poll, counted in ``pages.deferred``).

        A page robots.txt forbids is not fetched and asked about again later (the answer is cached per site). A
        page without main text (including one whose extraction overran ``poll.page_timeout``) is not retried:
        the same page would most likely end the same way."""
        if self.robots is not None:
            refusal = await self.robots.refusal(url, now)
            if refusal is not None:
                log.info("page %s: %s (using the feed's text)", url, refusal)
                return _PageFailure(refusal, retry=True, retry_after=ROBOTS_RETRY_S, noted=False)
        budget = self.settings.poll.page_budget
        left = pages.deadline - asyncio.get_running_loop().time()  # seconds
        if left <= 0:
            pages.deferred += 1
            return None
        try:
            async with asyncio.timeout(min(budget.total_seconds(), left)):
                fetched = await self.fetcher.fetch(url, allow_file=is_file_url(url))
                page = await extract_page_async(
                    fetched.body,
                    fetched.final_url,
                    timeout=self.settings.poll.page_timeout.total_seconds(),
                    executor=self.extract_executor,
                )
        except TimeoutError:
            if left < budget.total_seconds():  # cut short by the feed's deadline, not slow by itself: try next poll
                pages.deferred += 1
                return None
            return _PageFailure(f"no page within {duration_text(budget)}", retry=True)
        except FetchError as exc:
            return _PageFailure(f"{exc.kind}: {exc.message}", retry=_retryable(exc), retry_after=exc.retry_after)
        except Exception as exc:  # a bug or a hostile page: the entry is still stored from the feed's text
            log.exception("page %s failed", url)
            return _PageFailure(f"{exc.__class__.__name__}: {exc}", retry=True)
        if page is None:
            return _PageFailure("no main text found", retry=False, noted=False)
        return page

    def _page_failed(
        self, feed: Feed, article: Article, failure: _PageFailure, now: datetime, pages: _PagePhase
    ) -> None:
        """Record a page that was not used on its article: retried after more than the feed's interval (so not on
        the next poll) plus a jittered backoff growing with each attempt up to ``poll.max_backoff``; given up for
        good after :data:`PAGE_ATTEMPTS` attempts, or at once when it cannot work later (HTTP 404, blocked, too
        large, too little text)."""
        attempts = article.page_attempts + 1
        retry_at = None
        if failure.retry and attempts < PAGE_ATTEMPTS:
            cap = self.settings.poll.max_backoff.total_seconds()
            delay = feed.interval_s + next_backoff(attempts, base=feed.interval_s, cap=cap, rng=self.rng)
            retry_at = now + timedelta(seconds=max(delay, failure.retry_after or 0.0))
        self.store.record_page_failure(article.id, error=failure.reason, retry_at=retry_at)
        when = f"retry after {retry_at:%Y-%m-%d %H:%M}" if retry_at else "not tried again"
        log.info("page %s: %s (stored from the feed's text; %s)", article.url, failure.reason, when)
        if failure.noted:
            pages.failed.append(f"{article.url}: {failure.reason}")

    def _failure(
        self, feed: Feed, now: datetime, kind: str, message: str, *, retry_after: float | None = None
    ) -> FeedResult:
        failures = feed.consecutive_failures + 1
        cap = self.settings.poll.max_backoff.total_seconds()
        delay = next_backoff(failures, base=feed.interval_s, cap=cap, rng=self.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        disabled = self.store.record_poll_failure(
            feed.id,
            kind=kind,
            message=message,
            now=now,
            next_poll_at=now + timedelta(seconds=delay),
            disable_after=self.settings.poll.disable_after,
        )
        log.warning("%s", message)
        return FeedResult(feed.id, feed.url, "disabled" if disabled else "error", errors=[message], error_kind=kind)


class IndexedAssignment:
    """A story-assignment callback for :meth:`bot.store.Store.upsert_article` backed by a :class:`StoryIndex`.

    The store calls it inside the transaction that stores the article, under the story lock: the index first
    catches up with what other processes stored (:func:`catch_up_stories`), so every process decides on the same
    stories, then the article is added to it (which decides its story), and :meth:`undo` takes that back when the
    transaction did not commit, so the index never keeps an article the database does not. A merge of two
    stories that the article made cannot be taken back in memory: the index is then marked stale and rebuilt from
    the store (the last ``days`` of it: ``[store] retention_days``) before it decides again, so it never keeps
    a merge the database does not either.

    The store calls it again when it retries the transaction (the earlier attempt rolled back): the earlier
    addition is taken back first. With ``several``, it serves :meth:`bot.store.Store.upsert_articles` storing
    several articles in one transaction, which is not retried: it is called once for each, catches up before the
    first alone (no other process decides a story while the lock is held), and :meth:`undo` takes back every
    addition. One instance serves one store call; use it from the index's one thread.
    """

    def __init__(
        self, index: StoryIndex, store: Store, *, several: bool = False, days: int = StoreConfig().retention_days
    ) -> None:
        self.index = index
        self.store = store
        self.several = several
        self.days = days
        self._undo: list[Callable[[], None]] = []
        self._merged = False

    def __call__(self, article: Article) -> StoryAssignment:
        """Index ``article`` and return its story (and the stories it joined together), terms and thread."""
        if not (self.several and self._undo):  # a new transaction
            self.undo()
            if self.index.stale:  # it holds a merge the store did not record: the store's stories, again
                log.info("story index: rebuilding it from the store (a merge of stories was not stored)")
                self.index.take(load_story_index(self.store, article.first_seen, days=self.days))
            catch_up_stories(self.index, self.store)
        when = story_time(article.published_at, article.first_seen)
        self._undo.append(self._taking_back(article, when))
        decided = self.index.add(article.id, article.title, article.text, article.outlet, when)
        self._merged = self._merged or bool(decided.merged)
        return StoryAssignment(decided.story_key, decided.terms, decided.merged, decided.follows)

    def _taking_back(self, article: Article, when: datetime) -> Callable[[], None]:
        index, article_id = self.index, article.id
        if article_id not in index:
            return lambda: index.remove(article_id)
        terms, key = index.terms_of(article_id), index.story_of(article_id)
        assert key is not None
        return lambda: index.restore(article_id, terms, article.outlet, when, key)

    def undo(self) -> None:
        """Take the additions back, the last first (a no-op when there are none). A merge of stories they made
        cannot be taken back: the index is then marked :attr:`~bot.stories.StoryIndex.stale`, and the next call
        (of any assignment over it) rebuilds it from the store before deciding."""
        undo, self._undo = self._undo, []
        for take_back in reversed(undo):
            take_back()
        if self._merged:
            self.index.stale = True
            self._merged = False


_Stored = tuple[Article, UpsertStatus]

STORE_BATCH = 16
"""At most this many articles a worker stores in one transaction (:class:`_StoreQueue`)."""


class _StoreQueue:
    """The articles a job worker's entries wait to store, stored by its one store thread a batch at a time: those
    that came while the thread was busy (when several workers ingest, mostly waiting for the story lock) are
    stored together, under one hold of the lock, which then pays its hand-over between workers, the index's
    catch-up and the commit once for up to :data:`STORE_BATCH` articles, not once for each. An entry alone is
    stored at once, as before."""

    def __init__(self, thread: Executor, store: Callable[[list[ArticleInput]], list[_Stored | Exception]]) -> None:
        self._thread = thread
        self._store = store
        self._waiting: list[tuple[ArticleInput, asyncio.Future[_Stored]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def store(self, item: ArticleInput) -> _Stored:
        """Store ``item`` with the others waiting, and return what was stored (or raise why it was not)."""
        stored: asyncio.Future[_Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, stored))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await stored

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[tuple[ArticleInput, asyncio.Future[_Stored]]] = []
        try:
            while self._waiting:
                batch = [(item, f) for item, f in self._waiting[:STORE_BATCH] if not f.done()]  # not cancelled
                del self._waiting[:STORE_BATCH]
                if not batch:
                    continue
                try:
                    results = await loop.run_in_executor(self._thread, self._store, [item for item, _ in batch])
                except Exception as exc:  # the thread is gone (shut down)
                    results = [exc] * len(batch)
                for (_, stored), result in zip(batch, results, strict=True):
                    if stored.done():
                        continue
                    if isinstance(result, Exception):
                        stored.set_exception(result)
                    else:
                        stored.set_result(result)
        except BaseException:  # cancelled with the loop: nobody waits forever for a result that will not come
            for _, stored in [*batch, *self._waiting]:
                stored.cancel()
            raise
        finally:
            self._draining = None


def assign_missing_stories(store: Store, stories: StoryIndex, now: datetime) -> int:
    """Give every stored article without a story (left so by a process killed between storing an article and its
    story, before the two became one transaction) the story ``stories`` finds for it, as ingest would have;
    oldest first. Returns how many got one."""
    filed = 0
    for article_id in store.storyless_articles():
        assignment = IndexedAssignment(stories, store)
        try:
            filed += store.file_storyless(article_id, assignment, now=now)
        except BaseException:
            assignment.undo()
            raise
    return filed


# --------------------------------------------------------------------------------------------------
# Wiring from settings (the CLI and the scheduler call these; clients and ``now`` still come in)


def http_client(settings: Settings, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """The one httpx client of a process: redirects are followed by the Fetcher, hop by hop, after the guard;
    every connection goes to an address the guard approved when connecting (:class:`GuardedTransport`, which
    closes DNS rebinding). ``resolver``: the guard's resolver (tests inject one)."""
    net = settings.network
    timeout = httpx.Timeout(net.read_timeout.total_seconds(), connect=net.connect_timeout.total_seconds())
    limits = httpx.Limits(max_connections=net.global_limit, max_keepalive_connections=net.global_limit)
    transport = GuardedTransport(settings.network, resolver, limits=limits)
    return httpx.AsyncClient(follow_redirects=False, timeout=timeout, transport=transport, trust_env=False)


def _story_rows(rows: Sequence[StoredSignature]) -> Iterator[tuple[str, bytes, str, datetime, str | None, int]]:
    for s in rows:
        first_seen = s.first_seen or s.published_at or datetime.min.replace(tzinfo=UTC)
        yield s.article_id, s.signature, s.outlet, story_time(s.published_at, first_seen), s.story_id, s.row


CATCH_UP_OVERLAP = timedelta(minutes=10)
"""How far back before the latest store time it has seen an index looks for the articles other processes updated
and the stories they merged (:func:`catch_up_stories`): those times are the writers' ``now``, taken when their
job began, so a write may commit well after the time it records (a job's run, then its wait for the story lock)."""


def _seen(index: StoryIndex, rows: Sequence[StoredSignature]) -> None:
    """Advance ``index.seen_until`` to the latest time among ``rows`` (stored, or their text changed)."""
    times = [t for row in rows for t in (row.updated_at, row.first_seen) if t is not None]
    if times:
        latest = max(times)
        index.seen_until = latest if index.seen_until is None else max(index.seen_until, latest)


def load_story_index(store: Store, now: datetime, *, days: int) -> StoryIndex:
    """The story index rebuilt from the story terms stored for the last ``days`` days."""
    since = now - timedelta(days=days)
    rows = store.minhash_signatures(since=since)
    index, skipped = StoryIndex.rebuild(_story_rows(rows))
    for alias, story_id in sorted(store.story_aliases().items()):
        index.alias(alias, story_id)
    index.seen_until = now
    _seen(index, rows)
    if skipped:
        log.warning("%d stored articles have story terms of an older version; run 'newsbrief stories rebuild'", skipped)
    return index


def catch_up_stories(index: StoryIndex, store: Store, *, overlap: timedelta = CATCH_UP_OVERLAP) -> None:
    """Bring ``index`` up to date with what other processes wrote since it last looked: the articles stored after
    its :attr:`~bot.stories.StoryIndex.watermark` row, those whose text (and terms) changed, and the stories
    merged (aliases), the last two since its ``seen_until`` less ``overlap`` (read again and passed over when
    the index has them already)."""
    since = index.seen_until - overlap if index.seen_until is not None else None
    changes = store.story_changes(after_row=index.watermark, since=since)
    index.catch_up(_story_rows(changes.signatures))
    # another process may have merged stories meanwhile (the merged stories' articles keep their rows): its
    # aliases count here too, before this index decides anything
    for alias, story_id in sorted(changes.aliases.items()):
        index.alias(alias, story_id)
    _seen(index, changes.signatures)


def sync_config_feeds(store: Store, settings: Settings, now: datetime) -> list[Feed]:
    """Add the config's ``[[feeds]]`` that the store does not have yet; returns the feeds added."""
    added = []
    for feed in settings.feeds:
        if store.get_feed(feed.url) is None:
            interval_s = int((feed.interval or settings.poll.interval).total_seconds())  # the store keeps seconds
            try:
                added.append(store.add_feed(feed.url, name=feed.name, interval_s=interval_s, tags=feed.tags, now=now))
            except ValueError:
                if store.get_feed(feed.url) is None:
                    raise
                # another process starting on the same database added it first
    return added


PARENT_CHECK_S = 1.0
"""How often the extraction process looks whether the process that started it still runs."""


EXTRACTION_NICENESS = 10
"""How much lower the extraction process's CPU priority is than its parent's (``nice``)."""


def _start_extraction_process(parent: int) -> None:
    """The extraction process's start: it yields the CPU to its parent (:data:`EXTRACTION_NICENESS`), and it ends
    within :data:`PARENT_CHECK_S` of its parent's end.

    Sharing a core with its parent (a worker pinned to one), it would otherwise get half of it while the parent's
    thread storing an article holds the story lock, which every worker waits for: the ingest bench saw the lock
    held about twice as long per article (docs/scaling.md). The extraction work loses nothing it needs: it runs
    whenever the parent waits (for pages, for the database, for the lock). In ``newsbrief run`` the chat
    commands are answered first too.

    A parent killed (SIGKILL, the OOM killer) never shuts its pool down, and the process, holding its own end of
    the pool's queue, would wait for work for good (holding the parent's stdout and stderr open, too)."""
    with contextlib.suppress(AttributeError, OSError):  # no os.nice (Windows), or not allowed: the same priority
        os.nice(EXTRACTION_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="newsbrief-parent-watch", daemon=True).start()


@contextmanager
def extraction_pool() -> Iterator[Executor]:
    """A one-worker process pool for the CPU-heavy part of ingestion: page extraction, language detection and
    summarizing (:class:`Ingestor`'s ``extract_executor``).

    That work holds the GIL for milliseconds at a time (much of it in C: lxml, regular expressions); beside it in
    one process, each database round trip of the thread storing articles waits for the GIL again, and the story
    lock, which every worker shares, is held that much longer. A process of its own is scheduled by the operating
    system instead, on the same cores (even on one: a worker pinned to one core, ``taskset``, systemd's
    ``CPUAffinity=``), at a lower priority (:func:`_start_extraction_process`). Workers are spawned (not forked:
    the parent has threads), on first use.
    """
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_extraction_process,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    finally:
        # waits for the one extraction running, if any (the pool's worker ends after it): left running, the pool's
        # manager thread closes its wake-up pipe while the interpreter's exit handler writes to it, which prints
        # "OSError: [Errno 9] Bad file descriptor" as the process ends
        pool.shutdown(wait=True, cancel_futures=True)


def ingestor_for(
    store: Store,
    client: httpx.AsyncClient,
    settings: Settings,
    now: datetime,
    *,
    executor: Executor | None = None,
    store_thread: Executor | None = None,
) -> Ingestor:
    """An :class:`Ingestor` wired from settings: a guarded Fetcher on ``client``, the story index of the
    retention window, and optionally a process pool for page extraction and the one thread that stores articles
    with their stories (:class:`Ingestor`)."""
    return Ingestor(
        store,
        Fetcher(client, settings.network),
        settings,
        stories=load_story_index(store, now, days=settings.store.retention_days),
        rng=random.Random(),
        extract_executor=executor,
        store_thread=store_thread,
    )
