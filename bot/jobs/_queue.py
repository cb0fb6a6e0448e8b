"""Ingestion as procrastinate jobs: the tasks, the queue the scheduler leader fills, and the worker that runs them.

procrastinate keeps its jobs in the store's PostgreSQL database (tables made by the store's migrations): a worker
takes a job with ``SELECT ... FOR UPDATE SKIP LOCKED`` and hears of new ones by ``LISTEN/NOTIFY``. The two tasks
run :class:`bot.ingest.Ingestor`'s units of work, nothing else:

- :data:`POLL_TASK` (``feed_id``): :meth:`~bot.ingest.Ingestor.poll_job`: poll the feed if it is due (a job
  delivered twice polls once) and queue its entries that need a page or a summary;
- :data:`ENTRY_TASK` (``work``: an :class:`~bot.ingest.EntryJob` as JSON): :meth:`~bot.ingest.Ingestor.entry_job`:
  fetch, extract, summarize and store one entry, its story decided in the same transaction under the story lock
  (the worker's own story index catches up with the database first).

A feed has at most one poll job waiting (a queueing lock) and running (a lock); an entry has at most one job
waiting (a queueing lock): an entry met again with other content (the feed republished it) while its job waits
gives that job the newer version instead of being refused, and a version queued while another runs waits for it
(both then take a lock of the queueing lock's name; only then, as locks make procrastinate's fetch slower).
Every try may take ``[jobs] deadline``; a failed try is retried with procrastinate's :class:`RetryStrategy`
(exponential waits) until ``[jobs] attempts`` tries have failed, and then stays ``failed``: dead-lettered, with
its reason in ``job_failures`` (``newsbrief jobs``); a feed's dead poll job is also recorded on the feed (``feeds
list``). A job left ``doing`` that nothing will end is tried again by any worker (:meth:`Worker.recover`): one
whose worker died (no heartbeat), and one whose try started more than the deadline plus a margin ago whatever its
worker's heartbeat (its outcome was lost: the worker's connection cut before the job's end was recorded). Either
is ended as ``aborted`` instead when the same job waits already (queued again under its queueing lock
meanwhile), and dead-lettered after its last try.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Job, Status
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.config import JobsConfig, Settings, duration_text
from bot.ingest import EntryJob, FeedResult, Ingestor
from bot.store import Feed, StoreUnavailable

__all__ = [
    "ENTRY_TASK",
    "POLL_TASK",
    "JobQueue",
    "Worker",
    "connection_refused",
    "conninfo_for",
    "job_app",
    "retry_strategy",
    "until_connected",
    "worker_store_url",
]

log = logging.getLogger("newsbrief.jobs")
_T = TypeVar("_T")

POLL_TASK = "newsbrief.poll_feed"
ENTRY_TASK = "newsbrief.ingest_entry"
_CONTEXT_KEY = "newsbrief"
STALLED_AFTER_S = 30.0
"""A worker silent this long (procrastinate's heartbeat is every 10 s) is taken to be dead: its jobs are retried."""
OVERDUE_MARGIN_S = 30.0
"""A job ``doing`` for longer than ``[jobs] deadline`` plus this is taken back whatever its worker's heartbeat
(:meth:`Worker.recover`): its try ended, cancelled at the deadline if not before, without its outcome recorded."""
DEAD_WORKER_REASON = "its worker stopped while running it (killed, or cut off from the database)"
UNRECORDED_REASON = "its try ended without its outcome being recorded"
RECOVER_EVERY_S = 20.0
"""How often a worker looks for jobs left running, of dead workers or overdue (often enough that a worker
killed, or cut off and started again, every minute or so still looks: a worker's first look comes this long after
its start)."""
RESTART_AFTER_S = 10.0
"""How soon :meth:`Worker.serve` starts a worker run again that ended by itself (its database connection lost)."""
WORKER_IDLE_IN_TRANSACTION_S = 15.0
"""A worker's database sessions are ended by PostgreSQL when a transaction sits idle this long (see
:func:`worker_store_url`); well below :data:`STALLED_AFTER_S`."""


POOL_PING_IDLE_S = 1.0
"""A pooled connection of the job queue left idle this long is checked (an empty query) as it is taken again, and
replaced when dead; one in steady use is not (procrastinate's pool checked every connection it handed out: a round
trip more for each of a job's queries)."""


class _IdleCheck:
    """The check and reset callbacks of a psycopg pool that checks only connections returned at least ``idle_s``
    seconds ago (and those never returned: new ones)."""

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self._returned: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def reset(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()

    async def check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned >= self.idle_s:
            await psycopg_pool.AsyncConnectionPool.check_connection(conn)


def _pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's connection pool, checking only the connections that sat idle (:data:`POOL_PING_IDLE_S`)."""
    idle = _IdleCheck(POOL_PING_IDLE_S)
    kwargs.update(check=idle.check, reset=idle.reset)
    return psycopg_pool.AsyncConnectionPool(**kwargs)


CONNECT_TIMEOUT_S = 10
"""How long a worker's connection attempt may take (libpq ``connect_timeout``)."""
KEEPALIVE_IDLE_S = 10
"""TCP keepalives on a worker's connections: the first probe after this many idle seconds, then every
:data:`KEEPALIVE_INTERVAL_S`; :data:`KEEPALIVE_COUNT` unanswered probes end the connection."""
KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
USER_TIMEOUT_S = 30
"""Data sent on a worker's connection and unacknowledged this long ends it (``tcp_user_timeout``)."""
CONNECT_RETRY_FOR_S = 120.0
"""How long ``newsbrief worker`` keeps trying to reach the database at its start (:func:`until_connected`)."""


def worker_store_url(store_url: str, idle_s: float = WORKER_IDLE_IN_TRANSACTION_S) -> str:
    """The store URL a worker connects with (its store and its job queue): PostgreSQL ends a session whose
    transaction sits idle ``idle_s`` seconds (``idle_in_transaction_session_timeout``). A worker killed or cut off
    mid-transaction, behind a proxy or a network path whose loss the server never notices, would otherwise keep
    that transaction's row locks (a job's row, a feed's, a failure's) for good, and every other worker, and each
    new one at its start, would wait for them. The worker's side notices a cut connection too: a connection
    attempt gives up after :data:`CONNECT_TIMEOUT_S`, and TCP keepalives (and ``tcp_user_timeout``) end a
    connection whose peer went silent, instead of waiting for its answer for good. Parameters the URL sets
    itself are kept; other URLs are returned as they are."""
    url = make_url(store_url)
    if url.get_backend_name() != "postgresql":
        return store_url
    options = url.query.get("options", "")
    options = " ".join(options) if isinstance(options, tuple) else options
    limit = f"-c idle_in_transaction_session_timeout={max(1, round(idle_s * 1000))}"
    params = {
        "connect_timeout": str(CONNECT_TIMEOUT_S),
        "keepalives": "1",
        "keepalives_idle": str(KEEPALIVE_IDLE_S),
        "keepalives_interval": str(KEEPALIVE_INTERVAL_S),
        "keepalives_count": str(KEEPALIVE_COUNT),
        "tcp_user_timeout": str(USER_TIMEOUT_S * 1000),
    }
    params = {key: value for key, value in params.items() if key not in url.query}
    params["options"] = f"{options} {limit}".strip()
    return url.update_query_dict(params).render_as_string(hide_password=False)


def connection_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from, or during) is a failure to reach the database: a
    connection refused, reset or timed out, the server going away. (A wrong password or a missing database are
    not: trying again would not help.)"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError, StoreUnavailable, ConnectorException)):
            return True
        if isinstance(current, (psycopg.OperationalError, psycopg.InterfaceError, OperationalError, InterfaceError)):
            text = str(current).lower()
            if not any(word in text for word in _NOT_REACHABILITY):
                return True
        current = current.__cause__ or current.__context__
    return False


_NOT_REACHABILITY = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")


def until_connected(
    connect: Callable[[], _T],
    *,
    retry_for: float = CONNECT_RETRY_FOR_S,
    first_wait: float = 0.5,
    max_wait: float = 8.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """``connect()``, called again while it fails for want of the database (:func:`connection_refused`: refused
    at a worker's start during a database restart or a network cut), after waits growing from ``first_wait`` to
    ``max_wait`` seconds, for up to ``retry_for`` seconds in all; then, or on any other error, its exception."""
    started = clock()
    wait = first_wait
    while True:
        try:
            return connect()
        except Exception as exc:
            if not connection_refused(exc) or clock() - started + wait > retry_for:
                raise
            log.warning("jobs: the database is not reachable (%s); trying again in %g s", _one_line(exc), wait)
        sleep(wait)
        wait = min(max_wait, wait * 2)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{exc.__class__.__name__}: {exc}".split())[:300]


def conninfo_for(store_url: str) -> str:
    """The libpq connection string of a ``postgresql+psycopg://`` store URL (its options, e.g. a search path, kept)."""
    url = make_url(store_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"the job queue needs a PostgreSQL store, not {url.get_backend_name()}")
    # key=value pairs, not a URI: libpq does not read "+" in a URI's query as a space (options of several words)
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    params.update({key: " ".join(value) if isinstance(value, tuple) else value for key, value in url.query.items()})
    return make_conninfo(**{key: str(value) for key, value in params.items() if value is not None})


def retry_strategy(config: JobsConfig) -> BaseRetryStrategy | None:
    """``[jobs] attempts`` tries in all, the k-th retry ``retry_wait`` ** k seconds after the failure (``retry_wait``
    taken in whole seconds, as procrastinate counts); ``None`` (no retry) for one attempt."""
    if config.attempts <= 1:
        return None
    wait = int(config.retry_wait.total_seconds())
    return RetryStrategy(max_attempts=config.attempts - 1, exponential_wait=wait)


def job_app(settings: Settings, *, conninfo: str | None = None) -> App:
    """A procrastinate app for the store's database (``conninfo`` overrides it) with newsbrief's two tasks.
    Open it (``async with app.open_async()``) before use."""
    jobs = settings.jobs
    connector = PsycopgConnector(
        conninfo=conninfo or conninfo_for(settings.store.url),
        min_size=1,
        max_size=jobs.concurrency + 2,
        pool_factory=_pool,
    )
    app = App(connector=connector)
    retry: BaseRetryStrategy | bool = retry_strategy(jobs) or False
    app.task(name=POLL_TASK, pass_context=True, retry=retry)(_poll_task)
    app.task(name=ENTRY_TASK, pass_context=True, retry=retry)(_entry_task)
    return app


def _lock(*parts: object) -> str:
    """A lock name: the parts, the last one hashed (it may be a long URL)."""
    *head, last = (str(p) for p in parts)
    return ":".join([*head, hashlib.sha256(last.encode()).hexdigest()[:32]])


async def _defer(app: App, task: str, queueing_lock: str, *, lock: str | None = None, **kwargs: Any) -> bool:
    try:
        await app.configure_task(task, queueing_lock=queueing_lock, lock=lock).defer_async(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


class JobQueue:
    """The job queue as the scheduler leader (and the CLI) sees it: poll jobs go in, counts come out.

    ``async with JobQueue(settings):`` opens the connection pool; :meth:`poll` is the scheduler's way to poll a feed
    (see :class:`bot.scheduler.Scheduler`'s ``poll``).
    """

    def __init__(self, settings: Settings, *, app: App | None = None) -> None:
        self.settings = settings
        self.app = app or job_app(settings)

    async def __aenter__(self) -> JobQueue:
        await self.app.open_async()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.app.close_async()

    async def defer_poll(self, feed_id: int) -> bool:
        """Queue a poll of the feed; ``False`` when one is waiting already."""
        return await _defer(self.app, POLL_TASK, f"poll:{feed_id}", lock=f"poll:{feed_id}", feed_id=feed_id)

    async def poll(self, feed: Feed, now: datetime) -> FeedResult | None:
        """Queue the feed's poll for a worker (nothing is polled here: ``None``)."""
        await self.defer_poll(feed.id)
        return None

    async def defer_polls(self, feeds: Iterable[Feed]) -> int:
        """Queue a poll of each feed; returns how many were queued (not waiting already)."""
        queued = 0
        for feed in feeds:
            queued += await self.defer_poll(feed.id)
        return queued

    async def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Rows of one query on the queue's database (``%(name)s`` parameters)."""
        rows: list[dict[str, Any]] = await self.app.connector.execute_query_all_async(sql, **params)
        return rows


@dataclass
class Worker:
    """What a worker process's jobs run with: its ingestor (store, fetcher, its own story index) and clock.

    :meth:`run` runs procrastinate's worker on ``app`` (opened by the caller) until stopped (SIGINT/SIGTERM), or
    with ``wait=False`` until no job is left.
    """

    app: App
    ingestor: Ingestor
    clock: Callable[[], datetime]

    @property
    def config(self) -> JobsConfig:
        return self.ingestor.settings.jobs

    async def run(
        self,
        *,
        wait: bool = True,
        install_signal_handlers: bool = True,
        listen_notify: bool = True,
        recover_every: float | None = RECOVER_EVERY_S,
    ) -> None:
        """Run jobs (``[jobs] concurrency`` at a time); every ``recover_every`` seconds take back the jobs left
        running (:meth:`recover`). A succeeded job is deleted; a dead one stays (``newsbrief jobs``)."""
        recovering = asyncio.create_task(self._recover_forever(recover_every)) if recover_every else None
        try:
            await self.app.run_worker_async(
                name="newsbrief",
                concurrency=self.config.concurrency,
                wait=wait,
                delete_jobs="successful",
                additional_context={_CONTEXT_KEY: self},
                install_signal_handlers=install_signal_handlers,
                listen_notify=listen_notify,
                shutdown_graceful_timeout=self.config.deadline.total_seconds(),
            )
        finally:
            if recovering is not None:
                recovering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovering

    async def serve(self, stop: asyncio.Event, *, restart_after: float = RESTART_AFTER_S, **run: Any) -> int:
        """:meth:`run` until ``stop`` is set (then the running jobs get ``[jobs] deadline`` to finish). A run that
        ends by itself (procrastinate stops a worker whose database connection broke) is started again
        ``restart_after`` seconds later, so a worker outlives a database restart. ``run``: options of :meth:`run`
        (signal handlers are the caller's). Returns how many runs there were."""
        runs = 0
        while not stop.is_set():
            runs += 1
            running = asyncio.create_task(self.run(install_signal_handlers=False, **run))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():  # stopped: procrastinate's worker ends its running jobs on cancellation
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                break
            if running.exception() is not None:
                log.error("jobs: the worker stopped: %s; starting again in %g s", running.exception(), restart_after)
            else:
                log.warning("jobs: the worker stopped by itself; starting again in %g s", restart_after)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), restart_after)
        return runs

    async def _recover_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.recover()
            except Exception:  # the database away, most likely: next time
                log.exception("jobs: looking for jobs left running failed; trying again in %.0f s", every)

    async def recover(self, *, silent_for: float = STALLED_AFTER_S, overdue_after: float | None = None) -> int:
        """Take back the jobs left ``doing`` that nothing will end: those of workers silent for ``silent_for``
        seconds (killed, or cut off), and those whose try started more than ``overdue_after`` seconds ago
        (``[jobs] deadline`` + :data:`OVERDUE_MARGIN_S` by default), whatever their worker's heartbeat: their
        outcome was lost (the worker's connection cut between running the job and recording its end, the worker
        connected again since), as no try outlives the deadline (:meth:`attempt`). Each is tried again, ended as
        ``aborted`` when a copy waits already, or dead-lettered when that was its last try. Returns how many were
        taken back."""
        if overdue_after is None:
            overdue_after = self.config.deadline.total_seconds() + OVERDUE_MARGIN_S
        lost: dict[int, tuple[Job, str]] = {}
        for job in await self.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=silent_for):
            assert job.id is not None
            lost[job.id] = (job, DEAD_WORKER_REASON)
        for job in await self._overdue_jobs(overdue_after):
            assert job.id is not None
            lost.setdefault(job.id, (job, UNRECORDED_REASON))
        taken = 0
        for job_id, (job, reason) in lost.items():
            try:
                if job.attempts + 1 >= self.config.attempts:
                    await self._failed(job, reason, dead=True)
                    await self.app.job_manager.finish_job_by_id_async(job_id, Status.FAILED, delete_job=False)
                    if job.task_name == POLL_TASK:
                        self.ingestor.poll_job_failed(_feed_id(job), self.clock(), reason)
                else:
                    await self._failed(job, reason, dead=False)
                    if not await self._retry_stalled(job):
                        continue
            except Exception as exc:  # another worker took it back first, or the database went away
                log.info("jobs: job %d not taken back (%s): %s", job_id, reason, exc)
                continue
            log.warning("jobs: job %d (%s) taken back: %s", job_id, job.call_string, reason)
            taken += 1
        return taken

    async def _overdue_jobs(self, seconds: float) -> list[Job]:
        """Jobs ``doing`` whose try started (procrastinate's latest "started" event) more than ``seconds`` ago.
        This reads procrastinate's tables directly (``procrastinate_jobs``, ``procrastinate_events``): its own
        query for this is deprecated, and its layout is the one migration 0009 installed."""
        rows = await self.app.connector.execute_query_all_async(
            "SELECT job.id, job.status, job.task_name, job.priority, job.lock, job.queueing_lock, job.args, "
            "job.scheduled_at, job.queue_name, job.attempts, job.worker_id "
            "FROM procrastinate_jobs job WHERE job.status = 'doing' "
            "AND (SELECT max(event.at) FROM procrastinate_events event "
            "WHERE event.job_id = job.id AND event.type = 'started') < now() - make_interval(secs => %(seconds)s)",
            seconds=seconds,
        )
        return [Job.from_row(row) for row in rows]

    async def _retry_stalled(self, job: Job) -> bool:
        """Queue a job taken back (:meth:`recover`) again. When the same job is waiting already (a copy queued under its
        queueing lock while it ran: a feed's next poll, an entry met again) that copy does the work: the stalled
        one is ended as ``aborted`` (kept; procrastinate ends a running job as succeeded, failed or aborted) rather
        than left ``doing`` for good, which would also hold its lock (a feed's polls) against the copy. Returns
        whether it was queued again."""
        assert job.id is not None
        try:
            await self.app.job_manager.retry_job_by_id_async(job.id, retry_at=self.clock())
        except UniqueViolation as exc:
            if exc.constraint_name != QUEUEING_LOCK_CONSTRAINT:
                raise
            await self.app.job_manager.finish_job_by_id_async(job.id, Status.ABORTED, delete_job=False)
            log.warning(
                "jobs: job %d (%s) taken back and aborted: the same job (%s) is waiting already",
                job.id,
                job.call_string,
                job.queueing_lock,
            )
            return False
        return True

    async def attempt(
        self, context: JobContext, work: Callable[[], Awaitable[str]], on_dead: Callable[[str], None] | None = None
    ) -> str:
        """One try of a job within ``[jobs] deadline``: a failure is recorded with its reason (``job_failures``;
        ``on_dead`` is told when no retry is left) and raised for procrastinate to retry or dead-letter."""
        job = context.job
        deadline = self.config.deadline
        try:
            async with asyncio.timeout(deadline.total_seconds()) as window:
                return await work()
        except Exception as exc:
            if isinstance(exc, TimeoutError) and window.expired():
                reason = f"not done within the job deadline of {duration_text(deadline)}"
            else:
                reason = f"{exc.__class__.__name__}: {exc}"
            task = self.app.tasks.get(job.task_name)
            dead = task is None or task.get_retry_exception(exception=exc, job=job) is None
            await self._failed(job, reason, dead=dead)
            if dead and on_dead is not None:
                on_dead(reason)
            raise

    async def _failed(self, job: Job, reason: str, *, dead: bool) -> None:
        """Keep a failure's reason beside its job (the last one wins) and log it."""
        reason = " ".join(reason.split())[:1000]
        tries = job.attempts + 1
        try:
            subject = self._subject(job)
            if dead:
                log.error(
                    "job %s (%s, %s) failed for good after %d tries: %s", job.id, job.task_name, subject, tries, reason
                )
            else:
                log.warning(
                    "job %s (%s, %s) failed (try %d of %d), retried later: %s",
                    job.id,
                    job.task_name,
                    subject,
                    tries,
                    self.config.attempts,
                    reason,
                )
            await self.app.connector.execute_query_async(
                "INSERT INTO job_failures (job_id, task, subject, attempts, error, failed_at) "
                "VALUES (%(id)s, %(task)s, %(subject)s, %(tries)s, %(error)s, %(at)s) "
                "ON CONFLICT (job_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, "
                "failed_at = EXCLUDED.failed_at",
                id=job.id,
                task=job.task_name,
                subject=subject,
                tries=tries,
                error=reason,
                at=self.clock(),
            )
        except Exception as exc:
            log.warning("job %s: its failure (%s) could not be recorded: %s", job.id, reason, exc)

    def _subject(self, job: Job) -> str:
        """What a job is about, for people: its feed's URL or its entry's link."""
        try:
            if job.task_name == POLL_TASK:
                feed = self.ingestor.store.get_feed(_feed_id(job))
                return f"feed {_feed_id(job)}" + (f" ({feed.url})" if feed is not None else " (removed)")
            work = job.task_kwargs["work"]
            assert isinstance(work, dict)
            return EntryJob.from_json(work).key[:500]
        except (AssertionError, KeyError, TypeError, ValueError):
            return str(job.call_string)[:500]

    async def enqueue_entries(self, works: Sequence[EntryJob]) -> int:
        """Queue a poll's entry jobs (the poll job's ``enqueue``); returns how many are queued (new jobs, or waiting
        jobs given a newer version). All go in with one statement (and one look for their running versions) when
        none of them waits already; else each as :meth:`enqueue_entry` queues it."""
        if not works:
            return 0
        names = [_lock("entry", work.feed_id, work.key) for work in works]
        running = await self._lock_running(names)
        jobs = [
            self.app.configure_task(
                ENTRY_TASK, queueing_lock=name, lock=name if name in running else None
            ).make_new_job(work=work.to_json())
            for name, work in zip(names, works, strict=True)
        ]
        try:
            await self.app.job_manager.batch_defer_jobs_async(jobs)
        except AlreadyEnqueued:  # one of them waits already (nothing of the batch was queued): one at a time
            return sum([await self.enqueue_entry(work) for work in works])
        return len(jobs)

    async def enqueue_entry(self, work: EntryJob) -> bool:
        """Queue an entry job (the poll job's ``enqueue``); returns whether ``work`` is queued: a new job, or the
        entry's waiting job given ``work`` instead of an older version of the entry (the feed changed it);
        ``False`` when the entry waits already with this very work. An entry has at most one job waiting (its
        queueing lock), and its versions never run at once: a version queued while another runs takes a lock of
        the same name, which the running job is given first (:meth:`_lock_running`), so it waits for that job.

        Only then: procrastinate checks each waiting job that has a lock against the other jobs when it fetches
        one, so a lock on every entry job would make each fetch scan the whole queue (seconds per job with
        thousands waiting)."""
        name = _lock("entry", work.feed_id, work.key)
        args = {"work": work.to_json()}
        for _ in range(3):  # the waiting job may start between the refusal and the update: queue again then
            lock = name if await self._lock_running([name]) else None
            if await _defer(self.app, ENTRY_TASK, name, lock=lock, **args):
                return True
            replaced = await self._replace_waiting(name, args)
            if replaced is not None:
                return replaced
        return False

    async def _lock_running(self, names: Sequence[str]) -> set[str]:
        """Give the running jobs of the entries queued under ``names`` (their queueing locks, kept by a job that
        started) the lock of the same name; returns the names of those that run. Like :meth:`_replace_waiting`
        this relies on procrastinate's table layout: a job with a lock is not fetched while a ``doing`` job has the
        same lock."""
        rows = await self.app.connector.execute_query_all_async(
            "UPDATE procrastinate_jobs SET lock = queueing_lock"
            " WHERE queueing_lock = ANY(%(names)s) AND status = 'doing' RETURNING queueing_lock",
            names=list(names),
        )
        return {row["queueing_lock"] for row in rows}

    async def _replace_waiting(self, queueing_lock: str, args: dict[str, Any]) -> bool | None:
        """Give the job waiting under ``queueing_lock`` the arguments ``args``: ``True`` when they were others,
        ``False`` when they were these already, ``None`` when no job waits (it started meanwhile). procrastinate
        has no call for this: this relies on its table layout (``procrastinate_jobs``: ``args`` a JSON object of
        the task's arguments, one ``todo`` job at most per ``queueing_lock``). The row is locked, so a worker
        taking the job at that moment takes it either before the update (no job waits) or after it."""
        rows = await self.app.connector.execute_query_all_async(
            "WITH waiting AS ("
            " SELECT id, args = %(args)s AS same FROM procrastinate_jobs"
            " WHERE queueing_lock = %(lock)s AND status = 'todo' FOR UPDATE"
            "), replaced AS ("
            " UPDATE procrastinate_jobs job SET args = %(args)s FROM waiting"
            " WHERE job.id = waiting.id AND NOT waiting.same AND job.status = 'todo' RETURNING job.id"
            ") SELECT waiting.id, waiting.same FROM waiting",
            lock=queueing_lock,
            args=args,
        )
        if not rows:
            return None
        return not rows[0]["same"]


def _feed_id(job: Job) -> int:
    feed_id = job.task_kwargs["feed_id"]
    if not isinstance(feed_id, int):
        raise TypeError(f"feed_id must be an integer, got {feed_id!r}")
    return feed_id


def _worker(context: JobContext) -> Worker:
    worker = context.additional_context.get(_CONTEXT_KEY)
    if not isinstance(worker, Worker):
        raise RuntimeError("a newsbrief job ran outside a newsbrief worker (no ingestor in its context)")
    return worker


async def _poll_task(context: JobContext, feed_id: int) -> str:
    """Task: poll one feed and queue its entries (see :meth:`bot.ingest.Ingestor.poll_job`)."""
    worker = _worker(context)
    now = worker.clock()

    async def poll() -> str:
        result = await worker.ingestor.poll_job(feed_id, now, enqueue=worker.enqueue_entries)
        if result is None:
            return "not due"
        return f"{result.status}: {result.queued} queued, {result.new} new, {result.updated} updated"

    def dead(reason: str) -> None:
        worker.ingestor.poll_job_failed(feed_id, now, reason)

    return await worker.attempt(context, poll, on_dead=dead)


async def _entry_task(context: JobContext, work: dict[str, Any]) -> str:
    """Task: fetch, extract, summarize and store one entry (see :meth:`bot.ingest.Ingestor.entry_job`)."""
    worker = _worker(context)
    job = EntryJob.from_json(work)

    async def ingest() -> str:
        return await worker.ingestor.entry_job(job, worker.clock())

    return await worker.attempt(context, ingest)
