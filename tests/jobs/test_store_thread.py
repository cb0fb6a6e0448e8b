"""A job worker stores articles in one thread of its own: an article waiting for the story lock (held by another
process) or the database leaves the worker's event loop free for its other jobs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from bot.ingest import EntryJob, Ingestor
from bot.sources import FeedEntry
from bot.store import STORY_LOCK_KEY, Store
from summarizer import Summary, summarize
from testkit.feedserver import FeedServer
from tests.jobs.test_entry_versions import FIRST, client, pg_store, server
from tests.jobs.test_jobs import NOW, jobs_settings, make_ingestor
from tests.test_ingest import BARRIER, BRIDGE

__all__ = ["client", "pg_store", "server"]  # fixtures

FERRY = (
    "The island ferry company froze its fares for another year on Wednesday, after residents complained that the "
    "crossing had doubled in price since the harbour was sold. The company's director said fuel costs had fallen "
    "and the winter timetable would keep its six daily sailings. Islanders welcomed the decision but asked for a "
    "cheaper season ticket for students who cross to the mainland college every day of the week."
)
RELEASE_AFTER_S = 10.0  # the lock is let go by then whatever happens, so a blocked event loop fails, not hangs


@pytest.fixture
def story_lock(postgres_url: str) -> Iterator[psycopg.Connection]:
    """Another process's session holding the story lock (in an open transaction) until the test lets it go."""
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (STORY_LOCK_KEY,))
        yield conn


def waiting_for_advisory_lock(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_an_article_waiting_for_the_story_lock_leaves_the_event_loop_free(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, story_lock: psycopg.Connection
) -> None:
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    dsn = pg_store.url.replace("postgresql+psycopg://", "postgresql://")
    release = threading.Timer(RELEASE_AFTER_S, story_lock.commit)
    release.start()
    try:
        with ThreadPoolExecutor(1) as store_thread:
            ingestor = make_ingestor(pg_store, client, settings, store_thread=store_thread)
            poll = asyncio.create_task(ingestor.poll_feed(feed, NOW))
            seen_waiting = False
            for _ in range(int(RELEASE_AFTER_S / 0.05)):  # the event loop runs this while the article waits
                if await asyncio.to_thread(waiting_for_advisory_lock, dsn):
                    seen_waiting = True
                    break
                await asyncio.sleep(0.05)
            assert seen_waiting, "the event loop did not run while the article waited for the story lock"
            assert not poll.done()
            release.cancel()
            story_lock.commit()  # the other process is done: the article is stored, with its story
            result = await asyncio.wait_for(poll, 10)
    finally:
        release.cancel()
    assert (result.status, result.new) == ("ok", 1)
    [article] = pg_store.list_articles(5)
    assert article.title == FIRST and article.story_id is not None


def xmins(store: Store) -> list[int]:
    """How many of the stored articles each transaction wrote (PostgreSQL's xmin: the writing transaction)."""
    dsn = store.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT count(*) FROM articles GROUP BY xmin::text::bigint").fetchall()
    return sorted(int(n) for (n,) in rows)


async def store_while_locked(
    pg_store: Store,
    client: httpx.AsyncClient,
    story_lock: psycopg.Connection,
    *,
    remove_feed_of: int | None = None,
    first_alone: bool = False,
    cancel: int | None = None,
) -> tuple[list[str | BaseException], Ingestor]:
    """Run an entry job for each of three entries (each of a feed of its own) while another process holds the
    story lock (``first_alone``: the second and third only once the first waits for the lock in the store
    thread); once all three wait to be stored, remove the feed of entry ``remove_feed_of`` and cancel the job of
    entry ``cancel`` if asked, and let the lock go. Returns what each job returned or raised."""
    settings = jobs_settings(pg_store.url)
    dsn = pg_store.url.replace("postgresql+psycopg://", "postgresql://")
    texts = {"Council approves tidal barrier": BARRIER, "Rail bridge reopens": BRIDGE, "Ferry fares frozen": FERRY}
    feeds = [pg_store.add_feed(f"https://outlet{i}.example/rss", now=NOW) for i in range(3)]
    summarized: list[str] = []

    def counting(text: str, **kwargs: Any) -> Summary:
        summarized.append(text)  # the entry is handed to the store thread next, with no wait between
        return summarize(text, **kwargs)

    async def until(condition: Callable[[], Awaitable[bool]]) -> None:
        for _ in range(int(RELEASE_AFTER_S / 0.05)):
            if await condition():
                return
            await asyncio.sleep(0.05)

    async def summarized_and_waiting(count: int) -> bool:
        return len(summarized) == count and bool(await asyncio.to_thread(waiting_for_advisory_lock, dsn))

    release = threading.Timer(RELEASE_AFTER_S, story_lock.commit)
    release.start()
    try:
        with ThreadPoolExecutor(1) as store_thread:
            ingestor = make_ingestor(pg_store, client, settings, store_thread=store_thread, summarize=counting)
            jobs = [
                EntryJob(
                    feed.id,
                    FeedEntry(guid=title, link=f"https://outlet{i}.example/{i}", title=title, content=body),
                    True,
                    False,
                )
                for i, (feed, (title, body)) in enumerate(zip(feeds, texts.items(), strict=True))
            ]
            tasks = [asyncio.create_task(ingestor.entry_job(jobs[0], NOW))]
            if first_alone:
                await until(lambda: summarized_and_waiting(1))
                assert len(summarized) == 1, "the first entry did not reach the store"
            tasks += [asyncio.create_task(ingestor.entry_job(job, NOW)) for job in jobs[1:]]
            await until(lambda: summarized_and_waiting(3))
            assert len(summarized) == 3, "the entries did not all reach the store"
            if remove_feed_of is not None:
                assert pg_store.remove_feed(feeds[remove_feed_of].id)
            if cancel is not None:
                tasks[cancel].cancel()
            release.cancel()
            story_lock.commit()
            results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    finally:
        release.cancel()
    return list(results), ingestor


async def test_articles_that_waited_for_the_story_lock_are_stored_together(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, story_lock: psycopg.Connection
) -> None:
    """The entries waiting to be stored while another process holds the lock are stored in one transaction (one
    hold of the lock, one catch-up of the index, one commit), each in its story."""
    results, ingestor = await store_while_locked(pg_store, client, story_lock)
    assert results == ["new", "new", "new"]
    assert xmins(pg_store) == [3]
    articles = pg_store.list_articles(10)
    assert len({a.story_id for a in articles}) == 3 and all(a.story_id for a in articles)
    assert len(ingestor.stories) == 3 and pg_store.integrity_check() == []


async def test_an_article_that_fails_among_those_stored_together_fails_alone(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, story_lock: psycopg.Connection
) -> None:
    """The feed of one waiting entry is removed before the lock comes free: that entry's job fails (to be retried
    by the queue, which then skips it), the others are stored, and the story index keeps only what was stored."""
    results, ingestor = await store_while_locked(pg_store, client, story_lock, remove_feed_of=2)
    assert results[:2] == ["new", "new"]
    assert isinstance(results[2], KeyError) and "no feed" in str(results[2])
    stored = pg_store.list_articles(10)
    assert sorted(a.title for a in stored) == ["Council approves tidal barrier", "Rail bridge reopens"]
    assert sorted(ingestor.stories.story_of(a.id) or "" for a in stored) == sorted(a.story_id or "" for a in stored)
    assert len(ingestor.stories) == 2 and pg_store.integrity_check() == []


async def test_an_article_whose_job_was_cancelled_while_it_waited_to_be_stored_is_not_stored(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, story_lock: psycopg.Connection
) -> None:
    """The first entry waits for the lock alone; the two that come meanwhile wait for the next transaction, and
    the one whose job is cancelled then (its deadline passed, its worker stopping) is left out of it: the job
    will run again, and nothing of the cancelled try is stored."""
    results, ingestor = await store_while_locked(pg_store, client, story_lock, first_alone=True, cancel=2)
    assert results[:2] == ["new", "new"] and isinstance(results[2], asyncio.CancelledError)
    assert xmins(pg_store) == [1, 1]
    assert sorted(a.title for a in pg_store.list_articles(10)) == [
        "Council approves tidal barrier",
        "Rail bridge reopens",
    ]
    assert len(ingestor.stories) == 2 and pg_store.integrity_check() == []
