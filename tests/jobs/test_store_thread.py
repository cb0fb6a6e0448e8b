"""A job worker stores articles in one thread of its own: an article waiting for the story lock (held by another
process) or the database leaves the worker's event loop free for its other jobs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from bot.store import STORY_LOCK_KEY, Store
from testkit.feedserver import FeedServer
from tests.jobs.test_entry_versions import FIRST, client, pg_store, server
from tests.jobs.test_jobs import NOW, jobs_settings, make_ingestor

__all__ = ["client", "pg_store", "server"]  # fixtures

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
