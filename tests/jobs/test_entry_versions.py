"""Versions of one entry as jobs: an entry the feed republished with other content while its job waits gives that
job the newer version (not refused as queued already), and two versions of one entry never run at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from procrastinate.jobs import Status

from bot.jobs import ENTRY_TASK, JobQueue, Worker, job_app
from bot.store import Store
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.jobs.test_jobs import NOW, drain, jobs_settings, make_ingestor, stored
from tests.test_ingest import BARRIER, page

FIRST = "Council approves tidal barrier"
SECOND = "Council approves tidal barrier after a night-long debate"


def serve_version(server: FeedServer, title: str, snippet: str) -> None:
    """The feed's one entry (same link and GUID), as ``title`` with ``snippet``."""
    item = Item(title, server.url("/barrier"), guid="a1", published=NOW - timedelta(hours=2), summary=snippet)
    server.route("/a.xml", rss_feed([item]))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/barrier", page(FIRST, BARRIER))
        serve_version(s, FIRST, "The council voted for the barrier.")
        yield s


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    store = Store(postgres_url)
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as c:
        yield c


async def entry_jobs(queue: JobQueue) -> list[dict[str, Any]]:
    """The entry jobs in the queue, oldest first: id, status, lock and the entry's title."""
    rows = await queue.query(
        "SELECT id, status::text AS status, lock, args FROM procrastinate_jobs WHERE task_name = %(task)s ORDER BY id",
        task=ENTRY_TASK,
    )
    return [
        {"id": r["id"], "status": r["status"], "lock": r["lock"], "title": r["args"]["work"]["entry"]["title"]}
        for r in rows
    ]


async def test_a_newer_version_replaces_the_waiting_one_and_is_stored(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    ingestor = make_ingestor(pg_store, client, settings)
    worker = Worker(job_app(settings), ingestor, lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        first = await ingestor.poll_job(feed.id, NOW, enqueue=worker.enqueue_entries)
        assert first is not None and first.queued == 1

        serve_version(server, SECOND, "The council voted for the barrier after a debate that lasted all night.")
        second = await ingestor.poll_job(feed.id, NOW + timedelta(hours=1), enqueue=worker.enqueue_entries)
        assert second is not None and second.queued == 1  # the waiting job now carries the newer version
        [job] = await entry_jobs(queue)
        assert (job["status"], job["title"]) == ("todo", SECOND)
        assert job["lock"] is None  # no lock while no version runs: locks slow every worker's fetch

        again = await ingestor.poll_job(feed.id, NOW + timedelta(hours=2), enqueue=worker.enqueue_entries)
        assert again is not None and again.queued == 0  # the same version waits already
        assert [j["id"] for j in await entry_jobs(queue)] == [job["id"]]
    await drain(make_ingestor(pg_store, client, settings), settings)
    [article] = stored(pg_store).values()
    assert article.title == SECOND
    assert len(server.requests_for("/barrier")) == 1


async def test_a_version_queued_while_another_runs_waits_for_it(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    ingestor = make_ingestor(pg_store, client, settings)
    worker = Worker(job_app(settings), ingestor, lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await ingestor.poll_job(feed.id, NOW, enqueue=worker.enqueue_entries)
        manager = worker.app.job_manager
        running = await manager.fetch_job(queues=None, worker_id=await manager.register_worker())
        assert running is not None and running.id is not None  # the first version runs (on another worker)

        serve_version(server, SECOND, "The council voted for the barrier after a debate that lasted all night.")
        polled = await ingestor.poll_job(feed.id, NOW + timedelta(hours=1), enqueue=worker.enqueue_entries)
        assert polled is not None and polled.queued == 1  # a new job: none waits
        await drain(make_ingestor(pg_store, client, settings), settings)

        jobs = await entry_jobs(queue)
        assert [(j["status"], j["title"]) for j in jobs] == [("doing", FIRST), ("todo", SECOND)]
        assert jobs[0]["lock"] is not None and jobs[0]["lock"] == jobs[1]["lock"]
        assert stored(pg_store) == {}  # the second version did not run beside the first

        await manager.finish_job_by_id_async(running.id, Status.SUCCEEDED, delete_job=True)
    await drain(make_ingestor(pg_store, client, settings), settings)
    [article] = stored(pg_store).values()
    assert article.title == SECOND


async def test_a_polls_entries_are_queued_together_and_one_waiting_already_is_not_queued_twice(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    """A poll hands its entries to the queue at once: each gets its own job; when one of them waits already (the
    batch is refused as a whole) the others are still queued, and the waiting one is not doubled."""
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    ingestor = make_ingestor(pg_store, client, settings)
    worker = Worker(job_app(settings), ingestor, lambda: NOW)
    queue = JobQueue(settings, app=worker.app)

    def serve(*paths: str) -> None:
        items = [
            Item(f"Report {path}", server.url(f"/{path}"), guid=path, published=NOW - timedelta(hours=2))
            for path in paths
        ]
        server.route("/a.xml", rss_feed(items))

    async with worker.app.open_async():
        serve("barrier")
        first = await ingestor.poll_job(feed.id, NOW, enqueue=worker.enqueue_entries)
        assert first is not None and first.queued == 1

        serve("barrier", "ferry", "library")
        second = await ingestor.poll_job(feed.id, NOW + timedelta(hours=1), enqueue=worker.enqueue_entries)
        assert second is not None and second.queued == 2
        jobs = await entry_jobs(queue)
        assert sorted(j["title"] for j in jobs) == ["Report barrier", "Report ferry", "Report library"]
        assert all(j["status"] == "todo" and j["lock"] is None for j in jobs)

        serve("barrier", "ferry", "library", "pier", "harbour")
        third = await ingestor.poll_job(feed.id, NOW + timedelta(hours=2), enqueue=worker.enqueue_entries)
        assert third is not None and third.queued == 2
        assert len(await entry_jobs(queue)) == 5
