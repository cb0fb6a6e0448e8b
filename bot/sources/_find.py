"""Finding the feed behind a URL someone gives: the feed itself, or the first feed the page advertises."""

from __future__ import annotations

from dataclasses import dataclass

from bot.sources._errors import FetchError
from bot.sources._feeds import discover_feeds, parse_feed
from bot.sources._fetch import Fetcher
from bot.sources._links import is_file_url


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """The feed found for a URL: where it is (after redirects), its title, how many entries it has now, and the
    page it was discovered on (``None`` when the URL was the feed itself)."""

    url: str
    title: str | None
    entries: int
    discovered_on: str | None = None


async def find_feed(fetcher: Fetcher, url: str, *, allow_file: bool) -> FoundFeed:
    """The feed at ``url``: a feed itself, or a page whose first advertised feed (:func:`discover_feeds`) is
    fetched and read. Every fetch goes through ``fetcher`` (the private-address guard, caps, timeouts);
    ``allow_file`` reads a ``file:`` URL, for a URL the operator typed on the local command line only (a feed a
    local page advertises may then be a file beside it). :class:`FetchError` when nothing readable is found
    (kind "parse": neither a feed nor a page that links to one)."""
    fetched = await fetcher.fetch(url, allow_file=allow_file)
    parsed = parse_feed(fetched.body, fetched.final_url, headers=fetched.headers)
    if parsed.entries or not parsed.error:
        return FoundFeed(fetched.final_url, parsed.title, len(parsed.entries))
    candidates = discover_feeds(fetched.body, fetched.final_url)
    if not candidates:
        raise FetchError("parse", f"neither a feed ({parsed.error}) nor a page that links to one", url=url)
    found = await fetcher.fetch(candidates[0], allow_file=allow_file and is_file_url(candidates[0]))
    parsed = parse_feed(found.body, found.final_url, headers=found.headers)
    if parsed.error and not parsed.entries:
        raise FetchError("parse", f"not a readable feed (discovered on {url}): {parsed.error}", url=candidates[0])
    return FoundFeed(found.final_url, parsed.title, len(parsed.entries), discovered_on=url)
