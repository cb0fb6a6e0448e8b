"""End-to-end grouping evaluation (``python -m bot.stories.eval --through-poll``): feeds -> ``poll`` -> stored stories.

The articles of a file are published as RSS feeds (one per ``source`` outlet) by a small HTTP server on
127.0.0.1; each item carries only a title, a one-sentence teaser and a link to a page holding the full text (the
article's ``url`` rewritten to that server), so the text reaches the store the realistic way: fetched and
extracted by the real ingest. A temporary config (the feeds, a SQLite store in a temporary directory, loopback
allowed) is read as ``newsbrief --config`` reads it, then the articles are published day by day (by their
``published`` time) and after each day every feed is polled once, as ``newsbrief poll --all`` does, with ``now``
the end of that day. The stored articles and their stories (``articles list --json``'s ``url`` and ``story_id``)
are then scored against the ``event`` labels with the same metrics as the direct evaluation, beside that direct
evaluation (the story index fed the same articles in memory). Nothing but 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from bot.stories.eval._data import EvalArticle
from bot.stories.eval._run import _metrics, group, ordered

if TYPE_CHECKING:  # the ingest stack is imported when a run starts: the direct evaluation does without it
    from bot.config import Settings
    from bot.ingest import FeedResult
    from bot.store import Store

FEED_ITEMS = 20
"""Items a feed lists (the newest first), and never fewer than the items of the day just published."""

# A poll of the evaluation's few feeds does all their pages in one go whatever the machine's load: the grouping is
# measured here, not the fetching speed (``make bench`` does that).
_POLL_SETTINGS = {"feed_timeout": 600, "page_budget": 300, "page_timeout": 120}


class _Site:
    """Feeds and pages served from memory on 127.0.0.1 (an ``http.server`` in a thread)."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[str, bytes]] = {}
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site._lock:
                    found = site._routes.get(urlsplit(self.path).path)
                content_type, body = found or ("text/plain; charset=utf-8", b"not found\n")
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="eval-feeds", daemon=True)
        self.put("/robots.txt", "text/plain; charset=utf-8", "User-agent: *\nDisallow:\n")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def put(self, path: str, content_type: str, body: str) -> None:
        with self._lock:
            self._routes[path] = (content_type, body.encode("utf-8"))

    @contextmanager
    def running(self) -> Iterator[_Site]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "outlet"


def _page_paths(articles: Sequence[EvalArticle]) -> dict[str, str]:
    """Article id -> the path of its page: its ``url``'s host and path (``/articles/ID`` when that is taken)."""
    paths: dict[str, str] = {}
    taken: set[str] = set()
    for article in articles:
        parts = urlsplit(article.url)
        path = quote(f"/{parts.netloc}{parts.path}", safe="/-._~") if parts.netloc else ""
        if not path or path in taken:
            path = f"/articles/{quote(article.id, safe='-._~')}"
        taken.add(path)
        paths[article.id] = path
    return paths


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def _teaser(text: str) -> str:
    first = " ".join(text.split())[:300]
    end = first.find(". ")
    return first[: end + 1] if end > 0 else first


def page_html(article: EvalArticle, url: str) -> str:
    """An article page as news sites write one: navigation, headline, byline and date, the text's paragraphs,
    related links and a footer."""
    outlet, title, stamp = escape(article.source), escape(article.title), article.published.isoformat()
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in _paragraphs(article.text))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title} | {outlet}</title><link rel='canonical' href='{escape(url)}'>"
        f"<meta property='og:title' content='{title}'><meta property='article:published_time' content='{stamp}'>"
        f"</head><body><header><a href='/'>{outlet}</a><nav><ul><li><a href='/politics'>Politics</a></li>"
        "<li><a href='/world'>World</a></li><li><a href='/business'>Business</a></li></ul></nav></header>"
        f"<main><article><h1>{title}</h1><p class='byline'>{outlet}, "
        f"<time datetime='{stamp}'>{article.published:%d %B %Y}</time></p>"
        f"<div class='article-body'>{body}</div></article>"
        "<aside><h2>Most read</h2><ul><li><a href='/popular/1'>Sign up for the newsletter</a></li></ul></aside>"
        f"</main><footer><p>Copyright {outlet}. All rights reserved.</p></footer></body></html>"
    )


def rss(outlet: str, link: str, items: Sequence[tuple[EvalArticle, str]]) -> str:
    """An RSS 2.0 document of ``items`` (article, page URL): title, link, GUID, date and a one-sentence teaser."""
    entries = "".join(
        f"<item><title>{xml_escape(a.title)}</title><link>{xml_escape(url)}</link>"
        f"<guid isPermaLink='false'>{xml_escape(a.id)}</guid>"
        f"<pubDate>{format_datetime(a.published.astimezone(UTC), usegmt=True)}</pubDate>"
        f"<description>{xml_escape(_teaser(a.text))}</description></item>"
        for a, url in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{xml_escape(outlet)}</title><link>{xml_escape(link)}</link>"
        f"<description>{xml_escape(outlet)}</description>{entries}</channel></rss>"
    )


def _toml(value: object) -> str:
    if isinstance(value, str):  # a TOML basic string: JSON's escapes are TOML's
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def write_config(path: Path, db: Path, feeds: dict[str, str]) -> Path:
    """A config file: the feeds (URL -> name), a SQLite store at ``db``, 127.0.0.1 allowed."""
    lines = [
        "[store]",
        f"url = {_toml(f'sqlite:///{db}')}",
        "",
        "[network]",
        'allow_private = ["127.0.0.1"]',
        "",
        "[poll]",
        *(f"{k} = {v}" for k, v in _POLL_SETTINGS.items()),
    ]
    for url, name in feeds.items():
        lines += ["", "[[feeds]]", f"url = {_toml(url)}", f"name = {_toml(name)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _poll_all(store: Store, settings: Settings, now: datetime) -> list[FeedResult]:
    """One ``newsbrief poll --all`` round at ``now`` (its code path for fewer feeds than an extraction pool needs)."""
    from bot.ingest import http_client, ingestor_for, sync_config_feeds

    sync_config_feeds(store, settings, now)
    async with http_client(settings) as client:
        return await ingestor_for(store, client, settings, now).poll_round(now, all_feeds=True)


def _day_end(when: datetime) -> datetime:
    day = when.astimezone(UTC).date()
    return datetime.combine(day, time(), tzinfo=UTC) + timedelta(days=1)


def run_through_poll(articles: Sequence[EvalArticle]) -> dict[str, Any]:
    """Publish ``articles`` day by day on a loopback site, poll after each day, and read the stored stories.

    Returns ``assignments`` (article id -> stored story id; an article not found in the store is a story of its
    own, ``missing:ID``), ``rounds``, ``page_texts`` (stored articles whose text came from their page),
    ``missing`` and ``poll_errors`` (the feed and entry errors the rounds reported)."""
    from bot.config import load_settings
    from bot.store import Store

    feed_order = ordered(articles)
    paths = _page_paths(feed_order)
    outlets: dict[str, str] = {}  # source -> feed path
    for article in feed_order:
        if article.source not in outlets:
            slug, n = _slug(article.source), 2
            while f"/feeds/{slug}.xml" in outlets.values():
                slug, n = f"{_slug(article.source)}-{n}", n + 1
            outlets[article.source] = f"/feeds/{slug}.xml"
    site = _Site()
    published: dict[str, list[tuple[EvalArticle, str]]] = {source: [] for source in outlets}
    errors: list[str] = []
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="newsbrief-eval-") as tmp, site.running():
        config = write_config(
            Path(tmp) / "newsbrief.toml",
            Path(tmp) / "newsbrief.db",
            {site.url(path): source for source, path in outlets.items()},
        )
        settings = load_settings(config)
        store = Store(settings.store.url)
        try:
            store.upgrade()
            for day, batch in groupby(feed_order, key=lambda a: _day_end(a.published)):
                fresh = list(batch)
                for article in fresh:
                    url = site.url(paths[article.id])
                    site.put(paths[article.id], "text/html; charset=utf-8", page_html(article, url))
                    published[article.source].insert(0, (article, url))
                for source, path in outlets.items():
                    today = sum(1 for a in fresh if a.source == source)
                    items = published[source][: max(FEED_ITEMS, today)]
                    site.put(path, "application/rss+xml; charset=utf-8", rss(source, site.url("/"), items))
                results = asyncio.run(_poll_all(store, settings, day))
                rounds += 1
                errors += [e for r in results for e in r.errors]
            stored = store.list_articles(limit=max(1, 2 * len(articles)))
        finally:
            store.close()
    by_url = {site.url(path): article_id for article_id, path in paths.items()}
    assignments: dict[str, str] = {}
    for row in stored:
        article_id = by_url.get(row.url or "") or by_url.get(row.canonical_url or "")
        if article_id is not None and row.story_id is not None:
            assignments[article_id] = row.story_id
    missing = [a.id for a in articles if a.id not in assignments]
    assignments.update({article_id: f"missing:{article_id}" for article_id in missing})
    return {
        "assignments": {a.id: assignments[a.id] for a in articles},
        "rounds": rounds,
        "page_texts": sum(1 for row in stored if row.text_source == "page"),
        "missing": len(missing),
        "poll_errors": errors,
    }


def evaluate_through_poll(articles: Sequence[EvalArticle]) -> dict[str, Any]:
    """Per file: counts and scores of the stories stored through ``poll`` (``None`` without labels), the direct
    evaluation's (``direct``: the story index fed the same articles in memory), the assignments, and what the
    run did (``rounds``, ``page_texts``, ``missing``, ``poll_errors``)."""
    labelled = [a for a in articles if a.event is not None]
    gold = {a.id: a.event for a in labelled if a.event is not None} if labelled else None
    run = run_through_poll(articles)
    result = _metrics(run["assignments"], gold)
    result["direct"] = _metrics(group(articles), gold)
    result.update(run)
    return result
