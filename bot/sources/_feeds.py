"""Feed parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed) and feed discovery in HTML pages."""

from __future__ import annotations

import calendar
import io
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html  # type: ignore[import-untyped]
from lxml import etree

from bot.sources._links import linked_url_refusal

# feedparser's "bozo" notices that do not mean the feed is broken: it parsed, only the declared encoding or
# media type was off. They are reported as warnings, not errors.
_BENIGN_BOZO = ("CharacterEncodingOverride", "NonXMLContentType")

_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    }
)
_ELEMENT_START = re.compile(rb"<[A-Za-z_:]")


@dataclass
class FeedEntry:
    """One feed item. ``summary`` is plain text; ``content`` is the entry's full content as given (often HTML).

    Dates are timezone-aware UTC. ``published`` falls back on ``updated`` when the feed gives only one date
    (RSS 1.0's dc:date, Atom entries without <published>).
    """

    guid: str | None
    link: str | None
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str | None = None
    content: str | None = None


@dataclass
class ParsedFeed:
    """A parsed feed: whatever entries could be read, and ``error`` when the document was broken or refused."""

    title: str | None
    link: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def html_to_text(fragment: str | None) -> str | None:
    """Plain text of an HTML fragment (block elements become line breaks); None for empty input."""
    if fragment is None:
        return None
    if "<" not in fragment and "&" not in fragment:
        text = fragment
    else:
        try:
            root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        except (etree.ParserError, ValueError):
            text = re.sub(r"<[^>]+>", " ", fragment)
        else:
            for br in root.iter("br"):
                br.tail = "\n" + (br.tail or "")
            for block in root.iter("p", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
                block.tail = "\n" + (block.tail or "")
            text = root.text_content()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    cleaned = "\n".join(line for line in lines if line)
    return cleaned or None


def _declares_entities(body: bytes) -> bool:
    """True when the XML prolog (before the root element) declares entities in a DOCTYPE internal subset.

    Real feeds never need them; entity declarations are how "billion laughs" and external-entity attacks
    start, so such documents are refused before any parser sees them. NUL bytes are dropped first so that a
    UTF-16 document cannot hide its declarations.
    """
    probe = body.replace(b"\x00", b"")
    match = _ELEMENT_START.search(probe)
    prolog = probe[: match.start()] if match else probe
    return b"<!ENTITY" in prolog.upper() and b"<!DOCTYPE" in prolog.upper()


def _struct_to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _iso_to_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _looks_like_json(body: bytes) -> bool:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head in (b"{", b"[")


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed | None:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1); None when ``body`` is not one."""
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not (
        "jsonfeed.org" in str(data.get("version", "")) or isinstance(data.get("items"), list)
    ):
        return None
    home = data.get("home_page_url")
    feed = ParsedFeed(
        title=_clean(data.get("title")),
        link=urljoin(url, home) if isinstance(home, str) and home else None,
    )
    items = data.get("items")
    if not isinstance(items, list):
        feed.error = "JSON Feed has no 'items' list"
        return feed
    skipped = 0
    for item in items:
        if not isinstance(item, dict):
            skipped += 1
            continue
        link = item.get("url") or item.get("external_url")
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        names = [str(a["name"]) for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
        content = item.get("content_html") if isinstance(item.get("content_html"), str) else None
        if content is None and isinstance(item.get("content_text"), str):
            content = item["content_text"]
        summary = item.get("summary") if isinstance(item.get("summary"), str) else None
        guid = item.get("id")
        feed.entries.append(
            FeedEntry(
                guid=str(guid) if isinstance(guid, (str, int)) and str(guid) else None,
                link=urljoin(url, link) if isinstance(link, str) and link else None,
                title=_clean(item.get("title")),
                author=", ".join(names) or None,
                published=_iso_to_datetime(item.get("date_published")),
                updated=_iso_to_datetime(item.get("date_modified")),
                summary=html_to_text(summary),
                content=content,
            )
        )
    if skipped:
        feed.error = f"JSON Feed: {skipped} item(s) were not objects and were skipped"
    return feed


def _absolute(url: str, link: Any) -> str | None:
    """``link`` made absolute against the feed's ``url`` (already absolute links are kept); None when empty."""
    if not isinstance(link, str) or not link.strip():
        return None
    return urljoin(url, link.strip())


def _entry_from_feedparser(entry: Any, url: str) -> FeedEntry:
    content = None
    contents = entry.get("content")
    if isinstance(contents, list) and contents:
        value = contents[0].get("value")
        content = value if isinstance(value, str) and value.strip() else None
    summary = entry.get("summary")
    guid = entry.get("id")
    link = entry.get("link")
    # dict.get: feedparser's own get() maps a missing "updated" onto "published" (with a warning).
    updated = _struct_to_datetime(dict.get(entry, "updated_parsed"))
    published = _struct_to_datetime(dict.get(entry, "published_parsed"))
    return FeedEntry(
        guid=guid if isinstance(guid, str) and guid.strip() else None,
        link=_absolute(url, link),
        title=_clean(entry.get("title")),
        author=_clean(entry.get("author")),
        # RSS 1.0's dc:date (and Atom entries with only <updated>) arrive as "updated": the best date there is.
        published=published or updated,
        updated=updated,
        summary=html_to_text(summary) if isinstance(summary, str) else None,
        content=content,
    )


def parse_feed(body: bytes, url: str, *, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse an RSS, Atom or JSON Feed document; never raises.

    Broken documents keep whatever entries could be read and set ``error``; a document that is not a feed at
    all (or is refused, such as one declaring XML entities) gives no entries and an ``error``. ``headers`` are
    the HTTP response headers, used for the declared charset; a wrong or missing charset is tolerated.
    """
    if not body or not body.strip():
        return ParsedFeed(title=None, link=None, error="empty document")
    if _looks_like_json(body):
        parsed = _parse_json_feed(body, url)
        if parsed is not None:
            return parsed
        return ParsedFeed(title=None, link=None, error="not a feed: JSON that is not a JSON Feed")
    if _declares_entities(body):
        return ParsedFeed(
            title=None,
            link=None,
            error="refused: the document declares XML entities (entity expansion is not allowed)",
        )
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if urlsplit(url).scheme.lower() != "file":
        # feedparser resolves relative links against this base itself, but it mangles file:///a/b into
        # file://a/b; for file URLs the links are resolved below (_absolute) instead.
        response_headers.setdefault("content-location", url)
    try:
        # A stream, never the bytes themselves: feedparser opens a bytes or str argument as a local path when
        # one exists by that name, so a remote "feed" consisting of a path would be read from disk.
        result = feedparser.parse(io.BytesIO(body), response_headers=response_headers, resolve_relative_uris=True)
    except Exception as exc:  # feedparser is forgiving; this is a last line of defence
        return ParsedFeed(title=None, link=None, error=f"feed parser failed: {type(exc).__name__}: {exc}")
    meta = result.get("feed", {})
    feed = ParsedFeed(title=_clean(meta.get("title")), link=_absolute(url, _clean(meta.get("link"))))
    for entry in result.get("entries", []):
        feed.entries.append(_entry_from_feedparser(entry, url))
    version = result.get("version") or ""
    if result.get("bozo"):
        problem = result.get("bozo_exception")
        message = f"{type(problem).__name__}: {problem}" if problem is not None else "malformed feed"
        message = " ".join(message.split())
        if type(problem).__name__ in _BENIGN_BOZO and version:
            feed.warnings.append(message)
        else:
            feed.error = message
    if not version and not feed.entries:
        feed.error = feed.error or "not a feed (no RSS, Atom or JSON Feed document found)"
        if "not a feed" not in feed.error:
            feed.error = f"not a feed: {feed.error}"
    return feed


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds an HTML page advertises with ``<link rel="alternate" type=...>``; only those
    the page may make newsbrief fetch (:func:`linked_url_refusal`: no ``file:`` URL from a page on the web)."""
    if not html or not html.strip():
        return []
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for base_el in root.iter("base"):
        href = base_el.get("href")
        if href:
            base = urljoin(base_url, href.strip())
            break
    found: list[str] = []
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in _FEED_TYPES and href:
            absolute = urljoin(base, href)
            if absolute not in found and linked_url_refusal(absolute, base_url) is None:
                found.append(absolute)
    return found
