"""The story lock's cap: how fast one process stores articles with their stories on PostgreSQL (``make bench``).

    .venv/bin/python bench/store_bench.py [--postgres URL] [--articles FILE] [--repeat 2]

Every article is stored with its story under one lock (:meth:`bot.store.Store.upsert_articles`), so however many
job workers ingest, together they store no faster than one process does holding that lock. This bench measures
that stage alone, with nothing else on the machine's cores: real news articles (``--articles``, by default
``../shared/eval/stories/allsides-dev.jsonl``: 731 reports of 252 events, so the stories have realistic sizes),
summarized before the clock starts, stored in order into a fresh schema with a :class:`bot.ingest.IndexedAssignment`
over the story index, as a job worker stores them:

- one article per transaction (a worker whose articles do not wait for the lock: the lock is seldom contended);
- ``BATCH`` articles per transaction (a worker's articles that waited for the lock together: with ``[jobs]
  concurrency = 8``, at most 8 of them).

Prints, for each, articles/s, the milliseconds per article the store call took, of those how many the story lock
was held (from its grant until the connection went back to the pool after the commit: what all workers together
wait on, so 1000 / that is the cap), and this process's CPU per article; the two alternate ``--repeat`` times and
the median is the figure. Needs PostgreSQL (``$NEWSBRIEF_TEST_POSTGRES`` or the local test database); says so and
exits 0 without.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ingest import IndexedAssignment, load_story_index
from bot.store import ArticleInput, NewFeed, Store
from summarizer import summarize

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT.parent / "shared" / "eval" / "stories" / "allsides-dev.jsonl"
POSTGRES = os.environ.get("NEWSBRIEF_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 8
FEEDS = 20
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def load(path: Path) -> list[ArticleInput]:
    """The articles of ``path`` (one JSON object per line: title, text, optionally outlet), each summarized, one
    a second from :data:`START`, spread over :data:`FEEDS` feeds (ids 1..FEEDS of a fresh schema)."""
    items = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        title, text = record.get("title") or "", record["text"]
        items.append(
            ArticleInput(
                url=f"https://outlet{i % FEEDS}.example/{i}",
                title=title,
                text=text,
                now=START + timedelta(seconds=i),
                feed_id=1 + i % FEEDS,
                outlet=record.get("outlet") or f"outlet{i % FEEDS}.example",
                summary=summarize(text, title=title),
            )
        )
    return items


class LockClock:
    """How long this process held the story lock: from the statement that took it (its grant) until its connection
    went back to the pool, after the commit that released it (SQLAlchemy's engine and pool events)."""

    def __init__(self) -> None:
        self.held = 0.0
        self._since: dict[int, float] = {}  # by DBAPI connection: the store reads on others meanwhile

    def _executed(self, conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        if "pg_advisory_xact_lock" in statement:
            self._since[id(conn.connection.dbapi_connection)] = time.perf_counter()

    def _checked_in(self, dbapi_connection: object, _record: object) -> None:
        since = self._since.pop(id(dbapi_connection), None)
        if since is not None:
            self.held += time.perf_counter() - since

    def __enter__(self) -> LockClock:
        event.listen(Engine, "after_cursor_execute", self._executed)
        event.listen(Pool, "checkin", self._checked_in)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(Engine, "after_cursor_execute", self._executed)
        event.remove(Pool, "checkin", self._checked_in)


def run(postgres: str, items: list[ArticleInput], batch: int, tag: str) -> tuple[float, float, float, float]:
    """Store ``items`` ``batch`` at a time into a fresh schema; returns (articles/s, ms per article in the store
    calls, ms per article the story lock was held, ms of this process's CPU per article)."""
    dsn = postgres.replace("postgresql+psycopg://", "postgresql://")
    schema = f"store_bench_{os.getpid()}_{tag}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        store = Store(f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}")
        try:
            store.upgrade()
            store.add_feeds([NewFeed(f"https://outlet{i}.example/rss") for i in range(FEEDS)], now=START)
            index = load_story_index(store, START, days=30)
            with LockClock() as lock:
                wall, cpu = time.perf_counter(), time.process_time()
                for k in range(0, len(items), batch):
                    part = items[k : k + batch]
                    store.upsert_articles(part, assign_story=IndexedAssignment(index, store, several=len(part) > 1))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            store.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    n = len(items)
    return n / wall, 1000 * wall / n, 1000 * lock.held / n, 1000 * cpu / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--articles", type=Path, default=ARTICLES)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not args.articles.exists():
        print(f"store bench: skipped ({args.articles} not found)")
        return 0
    try:
        psycopg.connect(args.postgres.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        print(f"store bench: skipped (no PostgreSQL at {args.postgres}: {str(exc).strip().splitlines()[0]})")
        return 0
    items = load(args.articles)
    print(f"Storing {len(items)} articles with their stories on PostgreSQL, one process ({args.articles.name}):")
    results: dict[int, list[tuple[float, float, float, float]]] = {1: [], BATCH: []}
    for round_ in range(args.repeat):
        for batch in results:
            results[batch].append(run(args.postgres, items, batch, f"{batch}_{round_}"))
    head = f"{'articles per transaction':<26}{'articles/s':>12}{'ms/article':>12}{'lock ms/art':>12}{'cap/s':>8}"
    print(f"{head}{'CPU ms/art':>12}   runs (articles/s)")
    for batch, runs in results.items():
        rate, ms, held, cpu = (statistics.median(r[i] for r in runs) for i in range(4))
        cap = 1000 / held if held else 0.0
        line = f"{batch:<26}{rate:>12.1f}{ms:>12.2f}{held:>12.2f}{cap:>8.0f}{cpu:>12.2f}"
        print(f"{line}   {', '.join(f'{r[0]:.1f}' for r in runs)}")
    one, several = (statistics.median(r[0] for r in results[b]) for b in (1, BATCH))
    print(f"{BATCH} per transaction over 1: {several / one:.2f}x (what all workers together store at most, lock busy)")
    print("(cap/s: 1000 / lock ms per article, the most all workers together store while the lock is held that long)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
