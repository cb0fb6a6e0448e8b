"""Adding a feed someone names by URL: the one code path of ``newsbrief feeds add`` and ``/brief feeds add``.

:func:`add_feed` finds the feed (the URL itself, or the feed its page advertises) through a :data:`FeedFinder`
and stores it. The finder does the fetching, through :mod:`bot.sources` (the private-address guard, caps,
timeouts); it is made at the edge and passed in: :func:`feed_finder` runs each search on an event loop and
client of its own (the command line), :func:`feed_finder_on` hands it to the running bot's loop and client (chat
commands, answered in worker threads). ``file:`` URLs are read only by a finder made with ``allow_file=True``,
which only the local command line does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.ingest import http_client
from bot.sources import Fetcher, FoundFeed, Resolver, find_feed
from bot.store import Feed, Store

__all__ = ["AddedFeed", "FeedFinder", "add_feed", "feed_finder", "feed_finder_on"]

FeedFinder = Callable[[str], FoundFeed]
"""Finds the feed at a URL (blocking; :class:`bot.sources.FetchError` when there is none it may read)."""


@dataclass(frozen=True, slots=True)
class AddedFeed:
    """A feed just added, with what was found at its URL (title, entry count, the page it was discovered on)."""

    feed: Feed
    found: FoundFeed


def add_feed(
    store: Store,
    find: FeedFinder,
    url: str,
    *,
    name: str | None = None,
    interval: timedelta,
    tags: Iterable[str] = (),
    now: datetime,
) -> AddedFeed:
    """Find the feed at ``url`` with ``find`` and add it (named ``name``, else its title, polled every ``interval``,
    kept in whole seconds), due at once.
    :class:`bot.sources.FetchError` when no readable feed is there (refused by the guard, unreachable, not a
    feed nor a page that links to one); ``ValueError`` when it is already added."""
    found = find(url.strip())
    interval_s = int(interval.total_seconds())
    feed = store.add_feed(found.url, name=name or found.title, interval_s=interval_s, tags=tags, now=now)
    return AddedFeed(feed, found)


def feed_finder(settings: Settings, *, allow_file: bool, resolver: Resolver | None = None) -> FeedFinder:
    """A finder that runs each search on a new event loop with a client of its own (``[network]`` of
    ``settings``); not for a thread that runs an event loop. ``resolver``: the guard's (tests inject one)."""

    async def search(url: str) -> FoundFeed:
        async with http_client(settings, resolver) as client:
            return await find_feed(Fetcher(client, settings.network, resolver), url, allow_file=allow_file)

    def find(url: str) -> FoundFeed:
        return asyncio.run(search(url))

    return find


def feed_finder_on(loop: asyncio.AbstractEventLoop, fetcher: Fetcher) -> FeedFinder:
    """A finder for code running in worker threads beside ``loop`` (the bot's): each search runs on ``loop``
    through ``fetcher`` (its client) and the calling thread waits for it. Never reads ``file:`` URLs (chat)."""

    def find(url: str) -> FoundFeed:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("feed_finder_on: called on the loop's own thread; call it from a worker thread")
        return asyncio.run_coroutine_threadsafe(find_feed(fetcher, url, allow_file=False), loop).result()

    return find
