"""Everything between a URL and parsed content: the only place in newsbrief that does outbound HTTP.

- :class:`Fetcher` fetches feeds and pages through an injected ``httpx.AsyncClient`` under a
  :class:`bot.config.NetworkConfig` (timeouts, size cap, redirects, concurrency limits, private-address guard);
  failures raise :class:`FetchError` with a ``kind``.
- :func:`check_url` is the private-address (SSRF) guard on its own (:func:`check_url_offline`: the same without
  resolving names, for URLs stored now and fetched later); :class:`GuardedTransport` (an httpx
  transport on :class:`PinnedBackend`) applies it again when connecting and connects to the very addresses it
  approved, so DNS rebinding cannot slip a private address in between.
- :func:`parse_feed` reads RSS, Atom and JSON Feed documents; :func:`discover_feeds` finds a page's feeds;
  :func:`find_feed` fetches what someone gave as a feed URL (`feeds add`, `/brief feeds add`) and finds its feed.
- :func:`linked_url_refusal` decides which URLs a fetched document may make newsbrief fetch (http and https
  only, plus files beside an operator's local feed); :class:`Fetcher` reads ``file:`` URLs only when told
  (``allow_file=True``) that the URL is the operator's.
- :class:`RobotsCache` answers whether a site's robots.txt lets newsbrief fetch a page (cached per site).
- :func:`extract_page` / :func:`extract_page_async` pull an article's main text and metadata.
- :func:`next_backoff` spaces out retries of failing feeds.
"""

from bot.config import user_agent
from bot.sources._backoff import next_backoff
from bot.sources._errors import FETCH_ERROR_KINDS, FetchError
from bot.sources._extract import ExtractedPage, clean_text, extract_page, extract_page_async, is_boilerplate
from bot.sources._feeds import FeedEntry, ParsedFeed, discover_feeds, html_to_text, parse_feed
from bot.sources._fetch import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchResult,
    parse_retry_after,
)
from bot.sources._find import FoundFeed, find_feed
from bot.sources._guard import (
    GuardedTransport,
    PinnedBackend,
    Resolver,
    check_url,
    check_url_offline,
    is_public,
    system_resolver,
    vetted_addresses,
)
from bot.sources._links import is_file_url, linked_url_refusal
from bot.sources._robots import RobotsCache

__all__ = [
    "DEFAULT_USER_AGENT",
    "FETCH_ERROR_KINDS",
    "ExtractedPage",
    "FeedEntry",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "FoundFeed",
    "GuardedTransport",
    "ParsedFeed",
    "PinnedBackend",
    "Resolver",
    "RobotsCache",
    "check_url",
    "check_url_offline",
    "clean_text",
    "discover_feeds",
    "extract_page",
    "extract_page_async",
    "find_feed",
    "html_to_text",
    "is_boilerplate",
    "is_file_url",
    "is_public",
    "linked_url_refusal",
    "next_backoff",
    "parse_feed",
    "parse_retry_after",
    "system_resolver",
    "user_agent",
    "vetted_addresses",
]
