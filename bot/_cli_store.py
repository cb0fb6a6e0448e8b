"""CLI commands over the store and sources: ``poll``, ``feeds``, ``db``, ``articles`` (../shared/SPEC.md, "CLI").

This is an edge: it reads the clock, creates the one httpx client and opens the store, then hands them to
:mod:`bot.ingest` and :mod:`bot.store`. Output is a rich table, or JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot._cli_common import CommandError, open_store, plural, store_label
from bot.config import ConfigError, Settings, duration_text, parse_duration
from bot.feeds import add_feed, feed_finder
from bot.ingest import (
    FeedResult,
    assign_missing_stories,
    extraction_pool,
    http_client,
    ingestor_for,
    load_story_index,
    sync_config_feeds,
)
from bot.opml import OpmlError, OpmlFeed, parse_opml, write_opml
from bot.sources import Fetcher, FetchError, check_url_offline, is_file_url, parse_feed
from bot.store import Article, Feed, NewFeed, Store, StoreUnavailable

__all__ = ["cmd_articles", "cmd_db", "cmd_feeds", "cmd_poll", "file_storyless_articles"]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.isoformat()


def _console() -> Console:
    return Console(soft_wrap=True)


# --------------------------------------------------------------------------------------------------
# poll


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """Poll the due feeds (``--all``: every enabled feed) once and print a table of what each did. The database
    going away ends the command with one line (exit status 1); the feeds it kept from polling stay due. A feed that
    failed makes the exit status 1 too (so that cron and scripts can tell), unless ``--ignore-failures``."""
    with open_store(settings) as store:
        now = _now()
        try:
            sync_config_feeds(store, settings, now)
            results = asyncio.run(_poll(store, settings, now, all_feeds=args.all))
        except StoreUnavailable as exc:
            raise CommandError(f"database unavailable: {exc}; no feeds polled") from None
    table = Table(title=f"poll {now:%Y-%m-%d %H:%M} UTC: {plural(len(results), 'feed')}")
    for column in ("feed", "status", "new", "updated", "unchanged", "error"):
        table.add_column(column, justify="right" if column in ("new", "updated", "unchanged") else "left")
    for r in results:
        table.add_row(r.url, r.status, str(r.new), str(r.updated), str(r.unchanged), (r.errors or [""])[0][:120])
    _console().print(table)
    left = [r for r in results if r.status in ("unavailable", "not_polled")]
    if left:
        reason = next((r.errors[0] for r in left if r.errors), "database unavailable")
        raise CommandError(f"{reason}; {len(left)} {'feed' if len(left) == 1 else 'feeds'} not polled (left due)")
    failed = [r for r in results if r.status in ("error", "disabled")]
    if failed and not args.ignore_failures:
        raise CommandError(
            f"poll: {len(failed)} of {plural(len(results), 'feed')} failed (see the table above; "
            "--ignore-failures exits 0 all the same)"
        )
    return 0


# Below this many due feeds a worker process for page extraction costs more to start than it saves.
POOL_MIN_FEEDS = 20


async def _poll(store: Store, settings: Settings, now: datetime, *, all_feeds: bool) -> list[FeedResult]:
    total = len(store.due_feeds(now, all=all_feeds))
    with extraction_pool() if total >= POOL_MIN_FEEDS else nullcontext() as pool:
        async with http_client(settings) as client:
            ingestor = ingestor_for(store, client, settings, now, executor=pool)
            if total < 5 or not sys.stderr.isatty():
                return await ingestor.poll_round(now, all_feeds=all_feeds)
            columns = (TextColumn("polling feeds"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=Console(stderr=True)) as progress:
                task = progress.add_task("poll", total=total)
                return await ingestor.poll_round(
                    now, all_feeds=all_feeds, progress=lambda _result: progress.advance(task)
                )


# --------------------------------------------------------------------------------------------------
# feeds


def operator_url(url: str, command: str) -> str:
    """``url`` as typed on the command line, checked: without a scheme it is refused with the URL it probably
    means (``https://`` before a host name, ``file://`` for a local file) instead of "unsupported scheme"."""
    if "://" in url or url.lower().startswith("file:"):
        return url
    path = Path(url).expanduser()
    meant = path.resolve().as_uri() if path.exists() else f"https://{url.lstrip('/')}"
    raise CommandError(f"{command}: {url!r} is not a URL: did you mean {meant} ?")


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "check":
        url = args.url
        if url.isdigit() or (url.startswith("#") and url[1:].isdigit()):  # a feed id, as other commands take
            with open_store(settings) as store:
                feed = store.get_feed(int(url.lstrip("#")))
            if feed is None:
                raise CommandError(f"feeds check: no feed {url} (see `newsbrief feeds list`)")
            url = feed.url
        return _feeds_check(operator_url(url, "feeds check"), settings)
    with open_store(settings) as store:
        if args.action == "add":
            return _feeds_add(store, settings, args)
        if args.action == "import":
            return _feeds_import(store, settings, args)
        if args.action == "export":
            return _feeds_export(store, args.file)
        if args.action == "list":
            return _feeds_list(store, as_json=args.json)
        if args.action == "remove":
            key: int | str = int(args.id) if args.id.isdigit() else args.id
            if not store.remove_feed(key):
                raise CommandError(f"feeds remove: no feed {args.id!r}")
            print(f"removed feed {args.id}")
            return 0
        if args.action == "enable":
            key = int(args.id) if args.id.isdigit() else args.id
            before = store.get_feed(key)
            if before is None:
                raise CommandError(f"feeds enable: no feed {args.id!r} (see `newsbrief feeds list`)")
            feed = store.enable_feed(key)
            why = f"; it was disabled because: {before.disabled_reason}" if before.disabled_reason else ""
            print(f"feed {feed.id} ({feed.url}) enabled, due now{why}")
            return 0
    raise CommandError(f"feeds: unknown action {args.action!r}")  # pragma: no cover - argparse prevents it


def _interval(text: str) -> timedelta:
    """``--interval``, in whole seconds (as the store keeps it)."""
    try:
        seconds = int(parse_duration(text))
    except ValueError as exc:
        raise ConfigError(f"--interval: {exc}") from exc
    return timedelta(seconds=seconds)


def _feeds_add(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    """The operator's URL (typed on the local command line, so a ``file:`` URL is read), through the one add path
    chat uses too (:func:`bot.feeds.add_feed`)."""
    interval = _interval(args.interval)
    try:
        added = add_feed(
            store,
            feed_finder(settings, allow_file=True),
            operator_url(args.url, "feeds add"),
            name=args.name,
            interval=interval,
            now=_now(),
        )
    except FetchError as exc:
        raise CommandError(str(exc)) from exc
    except ValueError as exc:
        raise CommandError(f"feeds add {args.url}: {exc}") from exc
    feed, found = added.feed, added.found
    where = f" (discovered on {found.discovered_on})" if found.discovered_on else ""
    print(
        f"added feed {feed.id}: {feed.url}{where}, {plural(found.entries, 'entry', 'entries')}, "
        f"every {duration_text(interval)}"
    )
    return 0


OPML_FILE_REFUSED = "file: URLs are not imported from an OPML file (add a local feed with `newsbrief feeds add`)"


def _feeds_import(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    """Add the feeds of an OPML file, all or none: every URL is checked first (as `feeds add` checks it, but
    without fetching or resolving anything: each is fetched, and its address vetted, when it is polled), then
    the new ones are added in one transaction. Feeds already stored and repeats within the file are reported,
    not errors; anything wrong with the file or one of its URLs imports nothing."""
    interval = _interval(args.interval)
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{path}: cannot read OPML file: {exc.strerror or type(exc).__name__}") from None
    try:
        entries = parse_opml(data)
    except OpmlError as exc:
        raise CommandError(f"{path}: {exc}; nothing imported") from None
    policy = settings.network
    problems: list[str] = []
    notes: list[str] = []
    first: dict[str, OpmlFeed] = {}
    tags: dict[str, list[str]] = {}
    for entry in entries:
        if is_file_url(entry.url):
            problems.append(f"line {entry.line}: {entry.url}: {OPML_FILE_REFUSED}")
            continue
        try:
            check_url_offline(entry.url, policy)
        except FetchError as exc:
            problems.append(f"line {entry.line}: {exc}")
            continue
        if entry.url in first:
            notes.append(f"line {entry.line}: {entry.url}: also on line {first[entry.url].line} (tags merged)")
        first.setdefault(entry.url, entry)
        tags.setdefault(entry.url, []).extend(entry.tags)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CommandError(f"{path}: {problems[0]}{more}; nothing imported")
    stored = {feed.url: feed for feed in store.list_feeds()}
    new: list[NewFeed] = []
    for url, entry in first.items():
        if url in stored:
            notes.append(f"line {entry.line}: {url}: already added (id {stored[url].id}), left as it is")
        else:
            tagged = tuple(dict.fromkeys(tags[url]))
            new.append(NewFeed(url, name=entry.name, interval_s=int(interval.total_seconds()), tags=tagged))
    try:
        added = store.add_feeds(new, now=_now())
    except ValueError as exc:  # another process added one meanwhile
        raise CommandError(f"{path}: {exc}; nothing imported") from None
    print(
        f"imported {len(added)} {'feed' if len(added) == 1 else 'feeds'} from {path}, every {duration_text(interval)} "
        "(not fetched now: each is polled at the next round)"
    )
    for note in notes:
        print(f"  {note}")
    return 0


def _feeds_export(store: Store, file: str | None) -> int:
    """Write the stored feeds as OPML 2.0 to ``file`` (``None`` or ``-``: stdout); local ``file:`` feeds are left
    out (no other reader, nor `feeds import`, can use them) and counted on stderr."""
    feeds = store.list_feeds()
    remote = [feed for feed in feeds if not is_file_url(feed.url)]
    text = write_opml(remote, title="newsbrief feeds", created=_now())
    if file is None or file == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(file).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{file}: cannot write OPML file: {exc.strerror or type(exc).__name__}") from None
        print(f"exported {len(remote)} {'feed' if len(remote) == 1 else 'feeds'} to {file}")
    if len(remote) < len(feeds):
        left = len(feeds) - len(remote)
        print(f"left out {left} local file: {'feed' if left == 1 else 'feeds'}", file=sys.stderr)
    return 0


def _feed_json(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "name": feed.name,
        "interval_s": feed.interval_s,
        "tags": list(feed.tags),
        "last_polled_at": _iso(feed.last_polled_at),
        "next_poll_at": _iso(feed.next_poll_at),
        "consecutive_failures": feed.consecutive_failures,
        "last_error_kind": feed.last_error_kind,
        "last_error": feed.last_error,
        "enabled": feed.enabled,
        "disabled_reason": feed.disabled_reason,
    }


def _feeds_list(store: Store, *, as_json: bool) -> int:
    feeds = store.list_feeds()
    if as_json:
        print(json.dumps([_feed_json(f) for f in feeds], indent=2))
        return 0
    table = Table(title=plural(len(feeds), "feed"))
    for column in ("id", "name", "url", "every", "last polled", "failures", "state"):
        table.add_column(column)
    for f in feeds:
        state = "ok" if f.enabled else f"disabled: {f.disabled_reason}"
        if f.enabled and f.consecutive_failures:
            state = f"failing ({f.last_error_kind}): {f.last_error}"
        polled = f"{f.last_polled_at:%Y-%m-%d %H:%M}" if f.last_polled_at else "never"
        every = duration_text(timedelta(seconds=f.interval_s))
        table.add_row(str(f.id), f.name or "", f.url, every, polled, str(f.consecutive_failures), state[:100])
    _console().print(table)
    return 0


def _feeds_check(url: str, settings: Settings) -> int:
    async def check() -> tuple[str, Any]:
        async with http_client(settings) as client:
            fetched = await Fetcher(client, settings.network).fetch(url, allow_file=True)  # the operator's URL
            return fetched.final_url, parse_feed(fetched.body, fetched.final_url, headers=fetched.headers)

    try:
        final_url, parsed = asyncio.run(check())
    except FetchError as exc:
        raise CommandError(str(exc)) from exc
    print(f"{final_url}: {parsed.title or '(untitled)'}: {plural(len(parsed.entries), 'entry', 'entries')}")
    if parsed.error:
        print(f"  warning: {parsed.error}")
    for entry in parsed.entries[:5]:
        print(f"  - {entry.title or '(untitled)'}  {entry.link or ''}")
    return 0 if parsed.entries or not parsed.error else 1


# --------------------------------------------------------------------------------------------------
# db, articles


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    with open_store(settings) as store:
        if args.action == "upgrade":
            print(f"database at revision {store.current_revision()} ({store_label(settings.store.url)})")
            filed = file_storyless_articles(store, settings, _now())
            if filed:
                print(f"gave {filed} {'article' if filed == 1 else 'articles'} without a story a story")
            return 0
        removed = store.prune(settings.store.retention_days, _now())
        print(f"pruned {plural(removed, 'article')} older than {plural(settings.store.retention_days, 'day')}")
        return 0


def file_storyless_articles(store: Store, settings: Settings, now: datetime) -> int:
    """Give the articles without a story (a process killed between the two writes of an older version left them)
    the story ingest would have: the story index of the retention window is loaded only when there are any."""
    if not store.storyless_articles(limit=1):
        return 0
    stories = load_story_index(store, now, days=settings.store.retention_days)
    return assign_missing_stories(store, stories, now)


def article_json(article: Article, *, with_text: bool) -> dict[str, Any]:
    """The SPEC's ``articles show --json`` object (without ``text`` for ``articles list``)."""
    summary = article.summary or {"sentences": [], "quotes": []}
    out: dict[str, Any] = {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "feeds": list(article.feeds),
        "title": article.title,
        "author": article.author,
        "published_at": _iso(article.published_at),
        "first_seen": _iso(article.first_seen),
        "text": article.text,
        "text_source": article.text_source,
        "story_id": article.story_id,
        "summary": {
            "sentences": list(summary.get("sentences", [])),
            "quotes": [{"text": q.get("text"), "speaker": q.get("speaker")} for q in summary.get("quotes", [])],
        },
    }
    if not with_text:
        del out["text"]
    return out


def cmd_articles(args: argparse.Namespace, settings: Settings) -> int:
    with open_store(settings) as store:
        if args.action == "show":
            article = store.get_article(args.id_or_url)
            if article is None:
                raise CommandError(f"articles show: no article {args.id_or_url!r} (id, URL or canonical URL)")
            if args.json:
                print(json.dumps(article_json(article, with_text=True), indent=2, ensure_ascii=False))
                return 0
            console = _console()
            console.print(f"[bold]{article.title}[/bold]  ({article.id})", highlight=False)
            console.print(
                f"{article.url}  first seen {_iso(article.first_seen)}  text from {article.text_source}",
                highlight=False,
            )
            for sentence in (article.summary or {}).get("sentences", []):
                console.print(f"- {sentence}", highlight=False, markup=False)
            return 0
        limit = args.limit if args.limit is not None else 50
        if limit < 1:
            raise ConfigError(f"--limit: must be at least 1, got {limit}")
        articles = store.list_articles(limit)
        if args.json:
            print(json.dumps([article_json(a, with_text=False) for a in articles], indent=2, ensure_ascii=False))
            return 0
        table = Table(title=plural(len(articles), "article"))
        for column in ("id", "first seen", "outlet", "title"):
            table.add_column(column)
        for a in articles:
            table.add_row(a.id, f"{a.first_seen:%Y-%m-%d %H:%M}", a.outlet, a.title[:90])
        _console().print(table)
        return 0
