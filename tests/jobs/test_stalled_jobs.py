"""Jobs left "doing" that nothing will end: those of dead workers (procrastinate's stalled jobs: their worker's
heartbeat gone), and those of live workers whose try started longer ago than the job deadline allows (the outcome
lost on a cut connection). Either is tried again, or, when the same job was queued again meanwhile (its queueing
lock), aborted so that the waiting copy runs, or dead-lettered after its last try; never left "doing" for good."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from bot.jobs import JobQueue, Worker, job_app, job_report
from bot.store import Store
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.jobs.test_jobs import NOW, drain, jobs_settings, make_ingestor, stored
from tests.test_ingest import BARRIER, BRIDGE, page


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/barrier", page("Council approves tidal barrier", BARRIER))
        s.route("/bridge", page("Rail bridge reopens", BRIDGE))
        items = [
            Item("Council approves tidal barrier", s.url("/barrier"), guid="a1", published=NOW - timedelta(hours=2)),
            Item("Rail bridge reopens", s.url("/bridge"), guid="a2", published=NOW - timedelta(hours=1)),
        ]
        s.route("/a.xml", rss_feed(items))
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


async def _die_running_the_next_job(worker: Worker, queue: JobQueue) -> int:
    """A worker takes the next job and is killed: its heartbeat stops, the job stays "doing". Returns its id."""
    manager = worker.app.job_manager
    dead_worker = await manager.register_worker()
    taken = await manager.fetch_job(queues=None, worker_id=dead_worker)
    assert taken is not None and taken.id is not None
    await queue.query(
        "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %(id)s RETURNING id",
        id=dead_worker,
    )
    return taken.id


async def _status(queue: JobQueue, job_id: int) -> str:
    rows = await queue.query("SELECT status::text AS status FROM procrastinate_jobs WHERE id = %(id)s", id=job_id)
    return str(rows[0]["status"])


async def test_a_dead_workers_job_waiting_again_is_aborted_and_its_copy_runs(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        assert await queue.defer_poll(feed.id)
        orphan = await _die_running_the_next_job(worker, queue)
        assert await queue.defer_poll(feed.id)  # the feed is due again: a copy waits (its queueing lock is free)
        assert not await queue.defer_poll(feed.id)

        assert await worker.recover() == 0  # not queued again: the copy will poll the feed

        assert await _status(queue, orphan) == "aborted"
        counts = (await job_report(queue, NOW)).counts
        assert (counts["doing"], counts["todo"], counts["aborted"]) == (0, 1, 1)
        assert await worker.recover() == 0  # nothing stalled any more
    # the copy is not held back by the orphan's lock (a feed's polls never run at once): it runs
    await drain(make_ingestor(pg_store, client, settings), settings)
    async with JobQueue(settings) as queue:
        counts = (await job_report(queue, NOW)).counts
    assert (counts["doing"], counts["todo"]) == (0, 0)
    assert len(server.requests_for("/a.xml")) == 1 and len(stored(pg_store)) == 2


async def test_a_dead_workers_job_is_tried_again_when_no_copy_waits(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        orphan = await _die_running_the_next_job(worker, queue)
        assert await worker.recover() == 1
        assert await _status(queue, orphan) == "todo"
    await drain(make_ingestor(pg_store, client, settings), settings)
    assert len(server.requests_for("/a.xml")) == 1 and len(stored(pg_store)) == 2


DEADLINE_S = 60.0
LOST_REASON = "its try ended without its outcome being recorded"


async def _lose_the_outcome_of_the_next_job(worker: Worker, queue: JobQueue, started_ago: float) -> int:
    """A live worker (its heartbeat fresh) takes the next job and started it ``started_ago`` seconds ago, and its
    end was never recorded (its connection cut at that moment): the job stays "doing". Returns its id."""
    manager = worker.app.job_manager
    live_worker = await manager.register_worker()
    taken = await manager.fetch_job(queues=None, worker_id=live_worker)
    assert taken is not None and taken.id is not None
    await queue.query(
        "UPDATE procrastinate_events SET at = now() - make_interval(secs => %(ago)s) "
        "WHERE job_id = %(id)s AND type = 'started' RETURNING id",
        id=taken.id,
        ago=started_ago,
    )
    return taken.id


async def test_a_job_doing_past_its_deadline_under_a_live_worker_is_tried_again(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3, deadline=DEADLINE_S)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        lost = await _lose_the_outcome_of_the_next_job(worker, queue, started_ago=DEADLINE_S + 31)

        assert await worker.recover() == 1

        assert await _status(queue, lost) == "todo"
        report = await job_report(queue, NOW)
        assert [(j.id, j.error, j.attempts) for j in report.retrying] == [(lost, LOST_REASON, 1)]
        assert await worker.recover() == 0
    await drain(make_ingestor(pg_store, client, settings), settings)
    assert len(server.requests_for("/a.xml")) == 1 and len(stored(pg_store)) == 2


async def test_a_job_doing_past_its_deadline_is_aborted_when_a_copy_waits(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3, deadline=DEADLINE_S)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        lost = await _lose_the_outcome_of_the_next_job(worker, queue, started_ago=DEADLINE_S + 31)
        assert await queue.defer_poll(feed.id)  # the feed's next poll waits, behind the lost job's lock

        assert await worker.recover() == 0  # not queued again: the copy polls the feed

        assert await _status(queue, lost) == "aborted"
        counts = (await job_report(queue, NOW)).counts
        assert (counts["doing"], counts["todo"], counts["aborted"]) == (0, 1, 1)
    await drain(make_ingestor(pg_store, client, settings), settings)
    assert len(server.requests_for("/a.xml")) == 1 and len(stored(pg_store)) == 2


async def test_a_job_doing_past_its_deadline_on_its_last_try_is_dead_lettered(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=1, deadline=DEADLINE_S)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        lost = await _lose_the_outcome_of_the_next_job(worker, queue, started_ago=DEADLINE_S + 31)

        assert await worker.recover() == 1

        report = await job_report(queue, NOW)
        assert [(j.id, j.status, j.error) for j in report.dead] == [(lost, "failed", LOST_REASON)]
        assert report.counts["doing"] == 0
        assert await queue.defer_poll(feed.id)  # the feed's polls are not held back
    after = pg_store.get_feed(feed.id)
    assert after is not None and after.last_error_kind == "job" and LOST_REASON in (after.last_error or "")


async def test_a_job_doing_for_less_than_its_deadline_is_left_alone(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3, deadline=DEADLINE_S)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        running = await _lose_the_outcome_of_the_next_job(worker, queue, started_ago=DEADLINE_S - 5)

        assert await worker.recover() == 0

        assert await _status(queue, running) == "doing"
        report = await job_report(queue, NOW)
        assert (report.dead, report.retrying) == ([], [])
