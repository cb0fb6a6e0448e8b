"""Ingestion as procrastinate jobs on the real PostgreSQL: loopback feeds, in-process workers run until the queue is
empty (``wait=False``), and the inline engine as the yardstick."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.__main__ import main
from bot.config import ConfigError, Settings, settings_from_mapping
from bot.ingest import EntryJob, Ingestor, extraction_pool, load_story_index
from bot.jobs import JobQueue, Worker, conninfo_for, job_app, job_report, worker_store_url
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.sources import FeedEntry, Fetcher, FetchResult
from bot.store import Article, Feed, Store, StoryAssignment
from summarizer import Summary
from summarizer import summarize as real_summarize
from testkit.dbproxy import TcpProxy, url_with_port
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.conftest import require
from tests.store.test_store_outage import story_lock_holders
from tests.test_ingest import BARRIER, BARRIER_OTHER_OUTLET, BRIDGE, page

NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/barrier", page("Council approves tidal barrier", BARRIER))
        s.route("/other/barrier", page("Tidal barrier approved", BARRIER_OTHER_OUTLET))
        s.route("/bridge", page("Rail bridge reopens", BRIDGE))
        s.route(
            "/a.xml",
            rss_feed(
                [
                    Item(
                        "Council approves tidal barrier",
                        s.url("/barrier"),
                        guid="a1",
                        published=NOW - timedelta(hours=2),
                    ),
                    Item("Rail bridge reopens", s.url("/bridge"), guid="a2", published=NOW - timedelta(hours=1)),
                ]
            ),
        )
        s.route(
            "/b.xml",
            rss_feed(
                [
                    Item("Tidal barrier approved", s.url("/other/barrier", host="localhost"), guid="b1", published=NOW),
                    Item(
                        "Council approves tidal barrier",
                        s.url("/barrier"),
                        guid="b2",
                        published=NOW - timedelta(hours=2),
                    ),
                ]
            ),
        )
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client: the loopback server is allowed by ``[network] allow_private`` anyway."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as c:
        yield c


def jobs_settings(url: str, **jobs: object) -> Settings:
    return settings_from_mapping(
        {
            "store": {"url": url},
            "network": {"allow_private": ["127.0.0.1", "localhost"]},
            "poll": {"backfill": 10},
            "jobs": {"engine": "procrastinate", "attempts": 3, "retry_wait": 0, "concurrency": 1, **jobs},
        }
    )


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[Store]:
    s = Store(postgres_url)
    s.upgrade()  # procrastinate's tables come with the migrations
    yield s
    s.close()


def make_ingestor(store: Store, client: httpx.AsyncClient, settings: Settings, **kwargs: Any) -> Ingestor:
    """An ingestor with a story index of its own, loaded now (as a worker process loads it at start)."""
    fetcher = kwargs.pop("fetcher", None) or Fetcher(client, settings.network)
    return Ingestor(
        store, fetcher, settings, stories=load_story_index(store, NOW, days=30), rng=random.Random(0), **kwargs
    )


async def drain(ingestor: Ingestor, settings: Settings) -> None:
    """Run one in-process worker until the queue has nothing left to do."""
    app = job_app(settings)
    async with app.open_async():
        await Worker(app, ingestor, lambda: NOW).run(
            wait=False, install_signal_handlers=False, listen_notify=False, recover_every=None
        )


async def queue_due_polls(settings: Settings, store: Store, now: datetime = NOW) -> int:
    async with JobQueue(settings) as queue:
        return await queue.defer_polls(store.due_feeds(now))


def two_feeds(server: FeedServer, store: Store) -> tuple[Settings, Feed, Feed]:
    """The job queue's settings for ``store``, and the loopback server's two feeds in it."""
    a = store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    return jobs_settings(store.url), a, store.add_feed(server.url("/b.xml"), interval_s=900, now=NOW)


def stored(store: Store) -> dict[str, Article]:
    return {a.canonical_url: a for a in store.list_articles(100)}


def story_groups(store: Store) -> set[frozenset[str]]:
    groups: dict[str | None, set[str]] = {}
    for article in store.list_articles(100):
        groups.setdefault(article.story_id, set()).add(article.canonical_url)
    return {frozenset(group) for group in groups.values()}


async def test_a_worker_runs_poll_and_entry_jobs_and_stores_each_entry_once(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings, a, b = two_feeds(server, pg_store)
    assert await queue_due_polls(settings, pg_store) == 2
    assert await queue_due_polls(settings, pg_store) == 0  # a feed's poll is never waiting twice

    await drain(make_ingestor(pg_store, client, settings), settings)

    articles = stored(pg_store)
    assert len(articles) == 3  # the barrier page is in both feeds: one article, linked to both
    barrier = pg_store.get_article(server.url("/barrier"))
    assert barrier is not None and barrier.text_source == "page" and len(barrier.feeds) == 2
    assert all(a.summary and a.summary["sentences"] and a.story_id for a in articles.values())
    assert len(server.requests_for("/barrier")) == 1 and len(server.requests_for("/bridge")) == 1
    for feed_id in (a.id, b.id):
        feed = pg_store.get_feed(feed_id)
        assert feed is not None and feed.next_poll_at == NOW + timedelta(seconds=900) and feed.last_error is None
    async with JobQueue(settings) as queue:
        report = await job_report(queue, NOW)
    assert report.counts["todo"] == report.counts["doing"] == report.counts["failed"] == 0
    assert pg_store.integrity_check() == []


async def test_a_job_delivered_twice_does_no_harm(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    await queue_due_polls(settings, pg_store)
    ingestor = make_ingestor(pg_store, client, settings)
    await drain(ingestor, settings)
    before = stored(pg_store)
    fetches = {path: len(server.requests_for(path)) for path in ("/a.xml", "/barrier", "/bridge")}

    # The same poll job and the same entry job again (a worker died after its work, before acknowledging it).
    async with JobQueue(settings) as queue:
        assert await queue.defer_poll(feed.id)
    entry = FeedEntry(guid="a1", link=server.url("/barrier"), title="Council approves tidal barrier")
    worker = Worker(job_app(settings), ingestor, lambda: NOW)
    async with worker.app.open_async():
        assert await worker.enqueue_entry(EntryJob(feed.id, entry, eligible=True, follow=True))
        assert not await worker.enqueue_entry(EntryJob(feed.id, entry, eligible=True, follow=True))  # waiting already
    await drain(ingestor, settings)

    assert stored(pg_store) == before  # nothing new, nothing changed (same ids, texts, stories)
    assert {path: len(server.requests_for(path)) for path in fetches} == fetches  # the feed was polled moments ago
    async with JobQueue(settings) as queue:
        assert (await job_report(queue, NOW)).counts["failed"] == 0


def broken_summarizer(text: str, **kwargs: Any) -> Summary:
    if "bridge" in text[:200].lower():
        raise RuntimeError("summarizer broke on the bridge")
    return real_summarize(text, **kwargs)


async def cli(*argv: str) -> int:
    """``newsbrief ARGV`` (which runs its own event loop: in a thread beside the test's)."""
    return await asyncio.to_thread(main, list(argv))


def write_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "newsbrief.toml"
    path.write_text(f'[store]\nurl = "{url}"\n[jobs]\nengine = "procrastinate"\n', encoding="utf-8")
    return str(path)


async def test_a_failing_job_is_retried_then_dead_lettered_with_its_reason(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3)
    pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    await queue_due_polls(settings, pg_store)
    summarized: list[str] = []

    def summarize(text: str, **kwargs: Any) -> Summary:
        summarized.append(text[:40])
        return broken_summarizer(text, **kwargs)

    await drain(make_ingestor(pg_store, client, settings, summarize=summarize), settings)

    assert [a.title for a in stored(pg_store).values()] == ["Council approves tidal barrier"]
    assert sum("bridge" in t.lower() for t in summarized) == 3  # tried three times, then given up
    config = write_config(tmp_path, pg_store.url)
    assert await cli("--config", config, "jobs", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["failed"] == 1 and report["counts"]["todo"] == 0 and report["retrying"] == []
    [dead] = report["dead"]
    assert dead["task"] == "newsbrief.ingest_entry" and dead["attempts"] == 3
    assert dead["subject"] == server.url("/bridge")
    assert dead["error"] == "RuntimeError: summarizer broke on the bridge"
    assert await cli("--config", config, "jobs") == 0
    out = capsys.readouterr().out
    assert "1 failed" in out and "summarizer broke on the bridge" in out

    metrics = Metrics()
    async with JobQueue(settings) as queue:
        got = await job_report(queue, NOW)
    metrics.set_jobs(got.counts, got.oldest_waiting_s)
    assert b"newsbrief_jobs_dead_letters 1.0" in metrics.render()[0]


class BrokenFetcher(Fetcher):
    """A fetcher with a bug: every fetch raises something no poll expects."""

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, allow_file: bool = False
    ) -> FetchResult:
        raise RuntimeError(f"fetcher bug on {url}")


async def test_a_feeds_dead_poll_job_is_recorded_on_the_feed(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = jobs_settings(pg_store.url, attempts=2)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    await queue_due_polls(settings, pg_store)
    broken = BrokenFetcher(client, settings.network)
    await drain(make_ingestor(pg_store, client, settings, fetcher=broken), settings)

    after = pg_store.get_feed(feed.id)
    assert after is not None and after.consecutive_failures == 1 and after.last_error_kind == "job"
    assert after.last_error == f"{feed.url}: poll job failed: RuntimeError: fetcher bug on {feed.url}"
    assert after.next_poll_at is not None and after.next_poll_at > NOW  # backing off like any failed poll
    config = write_config(tmp_path, pg_store.url)
    assert await cli("--config", config, "feeds", "list", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["last_error_kind"], listed["last_error"]) == ("job", after.last_error)
    assert await cli("--config", config, "jobs", "--json") == 0
    [dead] = json.loads(capsys.readouterr().out)["dead"]
    assert (dead["task"], dead["attempts"]) == ("newsbrief.poll_feed", 2)
    assert dead["subject"] == f"feed {feed.id} ({feed.url})"


async def test_two_workers_put_two_reports_of_one_event_into_one_story(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings, a, b = two_feeds(server, pg_store)
    # Both workers start (and load their story index) before anything is stored.
    first, second = make_ingestor(pg_store, client, settings), make_ingestor(pg_store, client, settings)
    async with JobQueue(settings) as queue:
        await queue.defer_poll(a.id)
        await drain(first, settings)  # the barrier and the bridge, from one outlet
        await queue.defer_poll(b.id)
        await drain(second, settings)  # the other outlet's report of the barrier: this worker never indexed the first

    barrier = pg_store.get_article(server.url("/barrier"))
    other = pg_store.get_article(server.url("/other/barrier", host="localhost"))
    bridge = pg_store.get_article(server.url("/bridge"))
    assert barrier is not None and other is not None and bridge is not None
    assert barrier.story_id is not None and other.story_id == barrier.story_id
    assert bridge.story_id != barrier.story_id
    assert other.id in second.stories and barrier.id in second.stories  # caught up under the story lock


async def test_the_inline_engine_stores_what_the_job_queue_stores(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = jobs_settings(pg_store.url)
    inline_store = Store(f"sqlite:///{tmp_path / 'inline.db'}")
    inline_store.upgrade()
    try:
        for store in (pg_store, inline_store):
            for path in ("/a.xml", "/b.xml"):
                store.add_feed(server.url(path), interval_s=900, now=NOW)
        inline = settings_from_mapping({**settings.raw, "store": {"url": inline_store.url}, "jobs": {}})
        assert inline.jobs.engine == "inline"
        await make_ingestor(inline_store, client, inline).poll_round(NOW)
        await queue_due_polls(settings, pg_store)
        await drain(make_ingestor(pg_store, client, settings), settings)

        def what(store: Store) -> dict[str, tuple[Any, ...]]:
            return {
                url: (a.title, a.text, a.text_source, a.eligible, a.summary, sorted(a.feeds))
                for url, a in stored(store).items()
            }

        assert what(pg_store) == what(inline_store) and len(what(pg_store)) == 3
        assert story_groups(pg_store) == story_groups(inline_store) and len(story_groups(pg_store)) == 2
    finally:
        inline_store.close()


async def test_the_scheduler_leader_queues_polls_instead_of_polling(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    async with JobQueue(settings) as queue:
        scheduler = Scheduler(
            pg_store,
            settings,
            make_ingestor(pg_store, client, settings),
            channels={},
            clock=lambda: NOW,
            poll=queue.poll,
        )
        assert await scheduler.run_poll(feed.id) is None
        assert await scheduler.run_poll(feed.id) is None  # still due, still one poll waiting
        report = await job_report(queue, NOW)
    assert report.counts["todo"] == 1 and server.requests_for("/a.xml") == []
    await drain(make_ingestor(pg_store, client, settings), settings)
    assert len(server.requests_for("/a.xml")) == 1 and len(stored(pg_store)) == 2


async def test_the_jobs_of_a_dead_worker_are_taken_back(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=2)
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    ingestor = make_ingestor(pg_store, client, settings)
    worker = Worker(job_app(settings), ingestor, lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    manager = worker.app.job_manager

    async def die_running_it() -> None:
        """A worker takes the poll job and is killed: its heartbeat stops, the job stays "doing"."""
        dead_worker = await manager.register_worker()
        taken = await manager.fetch_job(queues=None, worker_id=dead_worker)
        assert taken is not None and taken.task_name == "newsbrief.poll_feed"
        await queue.query(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
            "WHERE id = %(id)s RETURNING id",
            id=dead_worker,
        )

    async with worker.app.open_async():
        await queue.defer_poll(feed.id)
        await die_running_it()
        assert await worker.recover() == 1  # tried again: one try of two used
        assert (await job_report(queue, NOW)).counts["todo"] == 1
        await die_running_it()
        assert await worker.recover() == 1  # that was its last try: dead-lettered with why
        report = await job_report(queue, NOW)
    assert report.counts["failed"] == 1 and "its worker stopped" in report.dead[0].error
    after = pg_store.get_feed(feed.id)
    assert after is not None and after.last_error_kind == "job" and "its worker stopped" in (after.last_error or "")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[jobs]\nengine = "procrastinate"\n', 'jobs.engine: "procrastinate" keeps its jobs in PostgreSQL'),
        ('[jobs]\nengine = "celery"\n', 'jobs.engine: expected "inline" or "procrastinate", got \'celery\''),
        ("[jobs]\nattempts = 0\n", "jobs.attempts: must be at least 1, got 0"),
    ],
)
def test_job_settings_are_checked(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        settings_from_mapping(tomllib.loads(toml), path=tmp_path / "newsbrief.toml")


@pytest.mark.parametrize("command", ["worker", "jobs"])
def test_worker_and_jobs_need_the_job_queue(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "newsbrief.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "nb.db"}"\n', encoding="utf-8")
    assert main(["--config", str(path), command]) == 2
    err = capsys.readouterr().err
    assert f'jobs.engine: `newsbrief {command}` needs engine = "procrastinate"' in err and len(err.splitlines()) == 1


def test_run_queues_the_polls_and_a_worker_process_runs_them(
    server: FeedServer, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``newsbrief run`` (the scheduler leader) queues the due feed's poll; ``newsbrief worker``, a process of its
    own, polls it and stores its entries; SIGTERM stops the worker cleanly."""
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f'[store]\nurl = "{postgres_url}"\n[network]\nallow_private = ["127.0.0.1", "localhost"]\n'
        f'[poll]\nbackfill = 10\n[jobs]\nengine = "procrastinate"\nconcurrency = 2\n'
        f'[[feeds]]\nurl = "{server.url("/a.xml")}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "run"]) == 0  # leads, queues the poll, ends at the end of its input
    assert "Queued 1 feed poll for the workers" in capsys.readouterr().out
    assert server.requests_for("/a.xml") == []

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with Store(postgres_url) as store:
            deadline = time.monotonic() + 60
            while len(store.list_articles(10)) < 2 and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            titles = sorted(a.title for a in store.list_articles(10))
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert titles == ["Council approves tidal barrier", "Rail bridge reopens"], output
    assert worker.returncode == 0 and "worker" in output and "Traceback" not in output, output


def test_a_worker_pinned_to_one_core_extracts_in_a_process_on_that_core() -> None:
    """A worker process pinned to one core still extracts in a process of its own (beside it, extraction would
    hold the GIL against the thread storing articles under the story lock), and that process runs on the same core.
    """
    require(hasattr(os, "sched_setaffinity"), "CPU affinity is Linux's")
    before = os.sched_getaffinity(0)
    core = min(before)
    try:
        os.sched_setaffinity(0, {core})
        with extraction_pool() as pool:
            assert pool.submit(os.getpid).result(timeout=60) != os.getpid()
            assert pool.submit(os.sched_getaffinity, 0).result(timeout=60) == {core}
    finally:
        os.sched_setaffinity(0, before)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for ``condition``, looking every 50 ms."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within 30 s: {what}")


async def test_a_worker_run_that_ends_by_itself_is_started_again_until_stopped(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """``newsbrief worker`` outlives a broken database connection (procrastinate then ends its run): a run that
    ends by itself (here: with nothing left to do) is started again, until the stop signal."""
    settings, a, b = two_feeds(server, pg_store)
    worker = Worker(job_app(settings), make_ingestor(pg_store, client, settings), lambda: NOW)
    queue = JobQueue(settings, app=worker.app)
    stop = asyncio.Event()
    async with worker.app.open_async():
        await queue.defer_poll(a.id)
        serving = asyncio.create_task(
            worker.serve(stop, restart_after=0.05, wait=False, listen_notify=False, recover_every=None)
        )
        await until(lambda: len(stored(pg_store)) == 2, "feed a's two entries stored")
        # the run that stored feed a has ended (its queue was empty) before feed b's poll is queued
        await until(lambda: any("stopped by itself" in r.getMessage() for r in caplog.records), "the first run ended")
        await queue.defer_poll(b.id)
        await until(lambda: len(stored(pg_store)) == 3, "feed b's new entry stored by a later run")
        stop.set()
        runs = await asyncio.wait_for(serving, 30)
    assert runs >= 2


async def test_a_failed_try_waits_its_backoff_and_is_reported_as_retrying(
    server: FeedServer, pg_store: Store, client: httpx.AsyncClient
) -> None:
    settings = jobs_settings(pg_store.url, attempts=3, retry_wait="1h")
    pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    await queue_due_polls(settings, pg_store)
    await drain(make_ingestor(pg_store, client, settings, summarize=broken_summarizer), settings)

    async with JobQueue(settings) as queue:
        report = await job_report(queue, datetime.now(UTC))
    [retrying] = report.retrying  # tried once; the next try is an hour away, so the worker left it waiting
    assert (retrying.task, retrying.status, retrying.attempts) == ("newsbrief.ingest_entry", "todo", 1)
    assert retrying.error == "RuntimeError: summarizer broke on the bridge" and report.dead == []
    assert report.counts["todo"] == 1 and report.oldest_waiting_s is None  # not due yet: nothing waits


def test_workers_do_not_stall_behind_a_story_lock_holder_that_was_cut_off(
    server: FeedServer, pg_store: Store, postgres_server: str
) -> None:
    """The distributed soak's stall: a worker killed (or cut off) while it held the story lock, behind a proxy that
    never told the server, left the lock held; every other worker's entry job then waited for it, its event loop
    (heartbeat, recovery) with it. The server now ends that idle transaction, and the queue empties."""
    settings, a, _b = two_feeds(server, pg_store)
    target = make_url(postgres_server)
    dsn = pg_store.url.replace("postgresql+psycopg://", "postgresql://")
    with (
        TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy,
        Store(url_with_port(pg_store.url, proxy.port)) as cut_off,
    ):
        cut_off.story_lock_idle_s = 0.5

        def cut(article: Article) -> StoryAssignment:
            proxy.partition()  # the worker is gone; its server session, holding the story lock, lives on
            raise RuntimeError("cut off")

        with pytest.raises(Exception):  # noqa: B017 - whatever the driver makes of the dead connection
            cut_off.upsert_article(
                url=server.url("/elsewhere"),
                title="Ferry pier closes",
                text=BRIDGE,
                now=NOW,
                feed_id=a.id,
                assign_story=cut,
            )
        [holder] = story_lock_holders(dsn)

        async def work() -> None:
            await queue_due_polls(settings, pg_store)
            async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as client:
                await drain(make_ingestor(pg_store, client, settings), settings)

        worker = threading.Thread(target=asyncio.run, args=(work(),), daemon=True)
        worker.start()
        worker.join(30)  # a blocked worker cannot time itself out: its event loop waits in the lock
        drained = not worker.is_alive()
        if not drained:  # free the lock so that the test ends (and fails)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
            worker.join(30)
    assert drained, "the workers waited for a story lock held by a worker cut off mid-transaction"
    assert len(stored(pg_store)) == 3 and story_lock_holders(dsn) == []


def test_a_worker_cut_off_mid_transaction_does_not_keep_its_row_locks(
    server: FeedServer, pg_store: Store, postgres_server: str
) -> None:
    """The rest of the stall: transactions of cut-off workers kept their row locks (a job's, a failure's, a
    feed's), so a new worker waited at its start (pruning stalled workers) and recovery waited for good. A worker's
    sessions (store and queue, :func:`worker_store_url`) are ended by the server when left idle in a transaction."""
    feed = pg_store.add_feed(server.url("/a.xml"), interval_s=900, now=NOW)
    target = make_url(postgres_server)
    dsn = pg_store.url.replace("postgresql+psycopg://", "postgresql://")
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        worker = psycopg.connect(conninfo_for(worker_store_url(url_with_port(pg_store.url, proxy.port), 0.5)))
        worker.execute("UPDATE feeds SET name = 'mine' WHERE id = %s", (feed.id,))  # the row is locked until commit
        holder = worker.info.backend_pid
        proxy.partition()  # the worker is gone; its session, in the middle of a transaction, lives on
        done: list[bool] = []
        other = threading.Thread(
            target=lambda: done.append(
                pg_store.record_poll_success(
                    feed.id, etag=None, last_modified=None, now=NOW, next_poll_at=NOW + timedelta(minutes=15)
                )
                is None
            ),
            daemon=True,
        )
        other.start()
        other.join(20)
        freed = not other.is_alive()
        if not freed:  # free the row so that the test ends (and fails)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
            other.join(20)
        with contextlib.suppress(psycopg.Error):
            worker.close()
    assert freed, "a worker's transaction cut off mid-way kept its row lock"
    after = pg_store.get_feed(feed.id)
    assert done and after is not None and after.next_poll_at == NOW + timedelta(minutes=15) and after.name != "mine"


@pytest.mark.parametrize("idle_s", [0.0, 3600.0])
async def test_the_job_queue_checks_a_pooled_connection_that_sat_idle(
    pg_store: Store, postgres_url: str, monkeypatch: pytest.MonkeyPatch, idle_s: float
) -> None:
    """The server ends the session of the job queue's pooled connection: taken again after ``POOL_PING_IDLE_S``
    idle, it is checked and replaced, and the query succeeds; taken again sooner (steady use is not checked) the
    query fails, and the next one gets a new connection."""
    from procrastinate.exceptions import ConnectorException

    import bot.jobs._queue as queue_module

    monkeypatch.setattr(queue_module, "POOL_PING_IDLE_S", idle_s)
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    async with JobQueue(jobs_settings(pg_store.url)) as queue:
        pid = (await queue.query("SELECT pg_backend_pid() AS pid"))[0]["pid"]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        if idle_s:
            with pytest.raises(ConnectorException):
                await queue.query("SELECT 1 AS one")
        assert await queue.query("SELECT 1 AS one") == [{"one": 1}]


@pytest.mark.parametrize("queued", [1, 2_000])
def test_a_worker_takes_the_next_job_without_reading_the_whole_queue(
    pg_store: Store, postgres_url: str, queued: int
) -> None:
    """With the statistics of an empty queue (a queue table is analyzed between bursts, or never), a worker still
    takes the first waiting job by walking the waiting jobs in order and stopping there, not by reading every
    waiting job and sorting them (which made each fetch cost as much as the queue is long)."""
    with psycopg.connect(conninfo_for(postgres_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE procrastinate_jobs")  # the statistics of an empty queue
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args) "
            "SELECT 'default', 'newsbrief.ingest_entry', 'entry:' || g, jsonb_build_object('work', repeat('w ', 300)) "
            "FROM generate_series(1, %s) g",  # an entry job's arguments are a few hundred bytes
            (queued,),
        )
        with conn.transaction():
            taken = conn.execute("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['default']::varchar[], NULL)")
            taken_id = taken.fetchone()
            read = conn.execute(
                "SELECT pg_stat_get_xact_tuples_returned('procrastinate_jobs_priority_idx_v1'::regclass)"
            ).fetchone()
        first = conn.execute("SELECT min(id) FROM procrastinate_jobs").fetchone()
    assert taken_id == first
    assert read is not None and read[0] <= 2, f"the fetch read {read[0] if read else '?'} waiting jobs"
