"""The scheduler: APScheduler 3 polls every feed and posts every subscription's digests, in one process only.

One process of a deployment is the leader: it holds the "scheduler" lease in the database (renewed every third
of its time to live) and runs an ``AsyncIOScheduler`` whose jobs live in the same database (APScheduler's
``SQLAlchemyJobStore``). Every other process on that database serves commands only, and tries the lease on each
tick, so it takes over once the leader is gone (stopped: at once; killed: when its lease expires).

Jobs (stable ids, kept across restarts):

- ``poll:<feed id>``: an interval trigger of the feed's interval. It polls only when the store says the feed is
  due (its backoff is honoured: the job moves to the feed's next poll time) and is removed for a disabled or
  deleted feed. Never too late to run: a poll due during downtime runs once (coalesced) at start.
- ``digest:<subscription id>``: a cron trigger of the subscription's schedule in its time zone. The run posts
  the digest of the slot it belongs to (the trigger's latest fire time) through ``bot.digests.run_digest``,
  which claims the slot in the database first: exactly one digest per slot across restarts and processes. A
  digest due while no process ran is posted once when one comes back, within the misfire grace time (1 h). So
  is a slot whose job was fired (APScheduler moves the stored job on to its next fire time first) by a leader
  killed before the run claimed the slot, or a slot the stored job was paused over: a sync finding the job past
  an unclaimed slot moves it back to that slot, unless a run of this leader (in its current term) has begun
  for it.
- ``alerts`` (in memory, not stored): every ``sync_every``, one round of live story alerts
  (:func:`bot.alerts.run_alerts`) through the adapters that post them; live subscriptions get no digest job.
- ``sync`` (in memory, not stored): every minute, the jobs are brought in line with the store, so feeds and
  subscriptions added by another process or the CLI are picked up; paused subscriptions lose their job. Each sync
  also runs a round of items mode (:func:`bot.items.run_items_round`): subscriptions in items mode have no digest
  job, their new articles are posted one by one, each once per channel.

The database going away (:class:`bot.store.StoreUnavailable`) is no job's error: a job it interrupts ends
quietly (the store's :class:`bot.store.StoreWatch` logs the outage once; a feed stays due, a digest is tried
again :data:`DIGEST_RETRY` later), and APScheduler's reads of its job table wait for the database to return.

A job is a module-level coroutine named by reference (so the job store can keep it); the scheduler that runs it
is handed to it by the scheduler's own executor (or passed explicitly: ``scheduler=``), never looked up in a
registry. Nothing reads the wall clock but the injected ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts import AlertChannel, AlertsReport, LiveSettings, is_live, run_alerts
from bot.briefing import Template
from bot.config import SchedulerConfig, Settings
from bot.digests import (
    BuildLocks,
    DigestChannel,
    DigestOutcome,
    digest_poster,
    digest_ref,
    recover_digest,
    run_digest,
    slot_key,
)
from bot.ingest import FeedResult, Ingestor
from bot.items import ItemsOutcome, run_items_round
from bot.scheduler._triggers import digest_trigger, latest_fire, poll_trigger, same_trigger
from bot.store import Feed, Store, StoreUnavailable, Subscription

__all__ = [
    "JOBS_TABLE",
    "LEASE_NAME",
    "Scheduler",
    "digest_job",
    "new_holder_id",
    "poll_job",
    "sync_job",
]

log = logging.getLogger("newsbrief.scheduler")

LEASE_NAME = "scheduler"
"""The lease the leader holds."""
JOBS_TABLE = "apscheduler_jobs"
"""APScheduler's job table (created by migration 0003)."""
_POLL = "poll:"
_DIGEST = "digest:"
_DIGEST_RETRY = "digest-retry:"
_SYNC = "sync"
_ALERTS = "alerts"
DIGEST_RETRY = timedelta(seconds=30)
"""How soon a digest job the database going away interrupted runs again (for the same slot, within its grace)."""
JOBSTORE_RETRY = timedelta(seconds=10)
"""How soon APScheduler looks at its job table again after finding the database unavailable."""
STOP_GRACE_S = 20.0
"""How long :meth:`Scheduler.stop` waits for digests being posted to be recorded."""
_LATE = timedelta(seconds=1)
"""A job may start a moment before its time is reached on our clock (two clocks): it still belongs to that slot."""

FeedObserver = Callable[[FeedResult], None]
FeedPoller = Callable[[Feed, datetime], Awaitable[FeedResult | None]]
"""How a due feed is polled: by default here (:meth:`bot.ingest.Ingestor.poll_guarded`); with a job queue its poll
is queued for a worker (:meth:`bot.jobs.JobQueue.poll`, ``None``: nothing polled here)."""
DigestObserver = Callable[[Subscription, DigestOutcome], None]

_JOB_SCHEDULER: contextvars.ContextVar[Scheduler | None] = contextvars.ContextVar(
    "newsbrief_job_scheduler", default=None
)
"""The scheduler running the current job: set by :class:`_SchedulerExecutor` in the job's own context only."""


class _SchedulerExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """APScheduler's asyncio executor, running each job with the :class:`Scheduler` that owns it in the job's
    context (:data:`_JOB_SCHEDULER`): the job functions are stored by reference, so the scheduler cannot be one of
    their stored arguments."""

    def __init__(self, owner: Scheduler) -> None:
        super().__init__()
        self._owner = owner

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if job.func is digest_job and job.args:
            self._owner._note_digest_run(job.args[0])
        context = contextvars.copy_context()
        context.run(_JOB_SCHEDULER.set, self._owner)
        context.run(super()._do_submit_job, job, run_times)  # the job's task is created in (a copy of) context


class _SharedEngineJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's SQLAlchemy job store on the store's engine, which it must not dispose of on shutdown.

    While the database is unavailable the scheduler's own bookkeeping waits instead of failing: no job is due,
    the next look comes :data:`JOBSTORE_RETRY` later (by ``clock``), and a job's new run time is not written
    (the job then comes due again; its run checks the store first). APScheduler would otherwise log a warning
    at every look, or stop waking up when writing a run time fails.
    """

    def __init__(self, *, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock

    def get_due_jobs(self, now: datetime) -> list[Job]:
        try:
            jobs: list[Job] = super().get_due_jobs(now)
        except StoreUnavailable:
            return []
        return jobs

    def get_next_run_time(self) -> datetime | None:
        try:
            when: datetime | None = super().get_next_run_time()
        except StoreUnavailable:
            return self._clock() + JOBSTORE_RETRY
        return when

    def update_job(self, job: Job) -> None:
        with contextlib.suppress(StoreUnavailable):
            super().update_job(job)

    def shutdown(self) -> None:
        """Leave the engine to its owner, the :class:`bot.store.Store`."""


def new_holder_id() -> str:
    """A lease holder id naming this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Scheduler:
    """Leader election plus the APScheduler that polls feeds and posts digests (see the module docstring).

    ``channels`` maps a platform ("console", "slack", "discord") to the adapter that posts its digests;
    subscriptions of other platforms are not scheduled here (logged once). ``poll`` polls a due feed (by default
    ``ingestor.poll_guarded``; a job queue's poll queues it instead). ``clock`` is the only source of time. Call
    :meth:`start` inside the running event loop, :meth:`stop` to end (the lease is released, so a standby
    process takes over at once). ``config`` is the timing (default: ``settings.scheduler``).
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        ingestor: Ingestor,
        *,
        channels: Mapping[str, DigestChannel],
        clock: Callable[[], datetime],
        holder: str | None = None,
        config: SchedulerConfig | None = None,
        on_poll: FeedObserver | None = None,
        on_digest: DigestObserver | None = None,
        on_leader: Callable[[bool], None] | None = None,
        on_lead: Callable[[], Awaitable[None]] | None = None,
        poll: FeedPoller | None = None,
        live: LiveSettings | None = None,
    ) -> None:
        """A scheduler for ``store`` (not started). ``live``: the live story alerts' settings (default: the
        ``[live]`` section, ``settings.live``)."""
        self.store = store
        self.settings = settings
        self.ingestor = ingestor
        self._poll = poll or ingestor.poll_guarded
        self.channels = dict(channels)
        self.clock = clock
        self.holder = holder or new_holder_id()
        self.config = config or settings.scheduler
        self._on_poll = on_poll
        self._on_digest = on_digest
        self._on_leader = on_leader
        self._on_lead = on_lead
        self.live = live or settings.live
        self._alerting = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._warned: set[int] = set()
        self._standby_logged: str | None = None
        self._held = False
        self._lead_task: asyncio.Task[None] | None = None
        self._in_flight: dict[tuple[int, str], asyncio.Future[DigestOutcome]] = {}
        self._runs: dict[int, datetime] = {}  # subscription id -> when this leader's latest digest run began
        self.build_locks = BuildLocks()  # a slot's run and a recovery building one subscription's digest at once
        # Lease calls get a thread of their own: behind digest builds in the shared pool a renewal can come too
        # late and lose the lease while this process is perfectly alive.
        self._lease_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbrief-lease")
        self.last_poll_at: datetime | None = None
        self.last_tick_at: datetime | None = None
        self.templates: Mapping[str, Template] = settings.templates
        """The config's message templates (parsed at load)."""

    # -- leadership -------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether this process holds the scheduler lease (and so runs, or is starting, the scheduler)."""
        return self._held

    async def start(self) -> bool:
        """Try to lead at once, then keep trying (as a standby) or renewing (as the leader) in the background.
        When this process leads, returns after ``on_lead`` and the first job sync. Returns whether it leads.

        The renewals start before ``on_lead`` is waited for: a first poll and start-up briefings longer than the
        lease must not let a standby take the lease from a live leader."""
        await self.tick(wait=False)
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="newsbrief-scheduler-lease")
        await self._until_led()
        return self._held

    async def _tick_forever(self) -> None:
        every = max(self.config.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                await self.tick(wait=False)
            except StoreUnavailable as exc:  # logged by the store's watch; the lease is tried again next time
                log.debug("scheduler: lease check: database unavailable: %s", exc)
            except Exception:  # a database hiccup must not end leadership checks for good
                log.exception("scheduler: lease check failed; trying again in %.0f s", every)

    async def tick(self, *, wait: bool = True) -> bool:
        """One lease check at ``clock()``: take or renew the lease; start leading when it was won (``wait``:
        until ``on_lead`` and the first sync are done), stop the scheduler when it was lost. Renewals go on
        while a long ``on_lead`` runs (the background ticker does not wait). Returns whether this process leads."""
        now = self.clock()
        self.last_tick_at = now
        loop = asyncio.get_running_loop()
        before = (
            None if self._held else await loop.run_in_executor(self._lease_thread, self.store.get_lease, LEASE_NAME)
        )
        held = await loop.run_in_executor(
            self._lease_thread,
            functools.partial(self.store.acquire_lease, LEASE_NAME, self.holder, now=now, ttl=self.config.lease),
        )
        if held and not self._held:
            self._held = True
            self._standby_logged = None
            self._runs.clear()  # a new term: the runs of an earlier one were cancelled or have claimed by now
            if before is not None and before.holder != self.holder:
                log.warning(
                    "scheduler: took over from %s (its lease expired at %s)",
                    before.holder,
                    f"{before.expires_at:%Y-%m-%d %H:%M:%S} UTC",
                )
            self._lead_task = asyncio.create_task(self._lead(), name="newsbrief-scheduler-lead")
        elif not held and self._held:
            log.warning("scheduler: lost the lease to another process; now serving commands only")
            self._halt(lost=True)
        elif not held and self._standby_logged is None and before is not None:
            self._standby_logged = before.holder
            log.warning(
                "scheduler: %s holds the scheduler lease; this process serves commands only and takes "
                "over if that one stops",
                before.holder,
            )
        if wait:
            await self._until_led()
        return self._held

    async def _until_led(self) -> None:
        """Wait until this term's ``on_lead`` and first sync are done (or the term ended)."""
        if self._lead_task is not None and not self._lead_task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._lead_task)

    async def _lead(self) -> None:
        if self._on_lead is not None:
            try:
                await self._on_lead()
            except StoreUnavailable as exc:  # logged by the store's watch; the jobs poll the feeds left due
                log.debug("scheduler: the start-of-leadership work stopped: database unavailable: %s", exc)
            except Exception:
                log.exception("scheduler: the start-of-leadership work failed; scheduling anyway")
        aps = AsyncIOScheduler(
            executors={"default": _SchedulerExecutor(self)},
            jobstores={
                "default": _SharedEngineJobStore(engine=self.store.engine, tablename=JOBS_TABLE, clock=self.clock),
                "local": MemoryJobStore(),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(self.config.misfire_grace.total_seconds()),
            },
            timezone=UTC,
        )
        aps.start(paused=True)
        self._aps = aps
        try:
            await self.sync()
        except StoreUnavailable as exc:
            log.debug("scheduler: first job sync: database unavailable: %s", exc)
        except Exception:
            log.exception("scheduler: first job sync failed; retrying with the next sync")
        aps.add_job(
            sync_job,
            IntervalTrigger(seconds=max(1.0, self.config.sync_every.total_seconds())),
            id=_SYNC,
            jobstore="local",
            replace_existing=True,
            misfire_grace_time=None,
        )
        aps.add_job(
            alerts_job,
            IntervalTrigger(seconds=max(1.0, self.config.sync_every.total_seconds())),
            id=_ALERTS,
            jobstore="local",
            replace_existing=True,
            misfire_grace_time=None,
        )
        aps.resume()
        if self._on_leader is not None:
            self._on_leader(True)
        log.info("scheduler: leading (%d jobs)", len(aps.get_jobs()))

    def _halt(self, *, lost: bool = False) -> None:
        self._held = False
        task, self._lead_task = self._lead_task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        aps, self._aps = self._aps, None
        if aps is not None:
            with contextlib.suppress(Exception):
                aps.shutdown(wait=False)
        if lost and self._on_leader is not None:
            self._on_leader(False)

    async def stop(self, *, release: bool = True) -> None:
        """Stop leading and checking the lease; ``release`` gives the lease up so another process takes over at
        once (``False`` leaves it to expire, as a killed process would)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._in_flight:  # let digests between claim and ledger finish (bounded)
            log.info("Stopping: waiting (up to %g s) for %d digest(s) being posted", STOP_GRACE_S, len(self._in_flight))
            await asyncio.wait(list(self._in_flight.values()), timeout=STOP_GRACE_S)
        was_leader = self._held
        self._halt()
        if release and was_leader:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.release_lease, LEASE_NAME, self.holder)
        self._lease_thread.shutdown(wait=False)

    # -- jobs -------------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The scheduled jobs (empty unless leading)."""
        return list(self._aps.get_jobs()) if self._aps is not None else []

    async def sync(self) -> None:
        """Bring the jobs in line with the store: one poll job per enabled feed, one digest job per unpaused
        subscription of a platform with a poster; jobs of anything else are removed. A kept job keeps its next
        run time (so a run missed during downtime still happens); a new or changed one starts fresh, except that
        a digest slot missed since the subscription was made (within the grace time, unclaimed) runs at once. A
        kept digest job already past (or paused over) such a slot runs it at once too, unless this leader began a
        run of that slot itself (it claims the slot, or is about to)."""
        aps = self._aps
        if aps is None:
            return
        now = self.clock()
        feeds, subs = await asyncio.to_thread(lambda: (self.store.list_feeds(), self.store.list_subscriptions()))
        stored: dict[str, Job] = {job.id: job for job in aps.get_jobs(jobstore="default")}
        wanted: set[str] = set()
        for feed in feeds:
            if feed.enabled:
                wanted.add(self._ensure_poll(aps, feed, stored.get(f"{_POLL}{feed.id}"), now))
        for sub in subs:
            if sub.paused or sub.items or is_live(sub):  # items: the items round; live: the alerts job
                continue
            if sub.platform not in self.channels:
                if sub.id not in self._warned:
                    self._warned.add(sub.id)
                    log.warning(
                        "subscription %d (%s %s, topic %s): the %s adapter is not running here, so its "
                        "digests are not scheduled",
                        sub.id,
                        sub.platform,
                        sub.channel,
                        sub.topic,
                        sub.platform,
                    )
                continue
            job_id = await self._ensure_digest(aps, sub, stored.get(f"{_DIGEST}{sub.id}"), now)
            if job_id is not None:
                wanted.add(job_id)
        for job_id in stored.keys() - wanted:
            with contextlib.suppress(JobLookupError):
                aps.remove_job(job_id, jobstore="default")
        await self.recover(now)
        await self.post_items(now, subs)

    async def post_items(self, now: datetime, subs: list[Subscription] | None = None) -> dict[int, ItemsOutcome]:
        """A round of items mode (:func:`bot.items.run_items_round`) for the items subscriptions of the
        platforms with a channel here; each new article is posted once per channel. Failures are logged."""
        try:
            return await run_items_round(
                self.store,
                self.channels,
                topics=self.settings.topics,
                now=now,
                by=self.holder,
                subscriptions=subs,
            )
        except StoreUnavailable:
            raise
        except Exception:
            log.exception("scheduler: the items round failed; trying again with the next sync")
            return {}

    async def recover(self, now: datetime) -> list[DigestOutcome]:
        """Finish the digests other processes claimed and never recorded (they died meanwhile): each is looked
        for on its platform and recorded if it got there, else posted now within the grace time."""
        stale = max(self.config.recover_after, self.config.lease * 2)
        claims = await asyncio.to_thread(self.store.in_flight_slots, claimed_before=now - stale)
        outcomes: list[DigestOutcome] = []
        for claim in claims:
            if (claim.subscription_id, claim.slot) in self._in_flight:
                continue  # still being posted by this very process
            sub = await asyncio.to_thread(self.store.get_subscription, claim.subscription_id)
            channel = self.channels.get(sub.platform) if sub is not None else None
            if sub is None or sub.paused or channel is None:
                continue
            ref = digest_ref(sub, claim.slot)
            post = digest_poster(self.store, channel, sub, claim.slot, now=now)

            async def find(
                since: datetime, sub: Subscription = sub, channel: DigestChannel = channel, ref: str = ref
            ) -> str | None:
                return await channel.find_digest(sub, ref, since)

            outcome = await recover_digest(
                self.store,
                sub,
                claim,
                post=post,
                find=find,
                topics=self.settings.topics,
                now=now,
                by=self.holder,
                grace=self.config.misfire_grace,
                window=self.settings.digests.window,
                limit=self.settings.digests.max_stories,
                locks=self.build_locks,
                templates=self.templates,
            )
            # "skipped": taken over meanwhile, or not checkable yet (recover_digest says why, once)
            log.log(
                logging.DEBUG if outcome == "skipped" else logging.WARNING,
                "digest of subscription %d for slot %s, left unfinished by %s: %s",
                sub.id,
                claim.slot,
                claim.claimed_by,
                outcome,
            )
            outcomes.append(outcome)
            if outcome != "skipped" and self._on_digest is not None:
                self._on_digest(sub, outcome)
        return outcomes

    def _ensure_poll(self, aps: AsyncIOScheduler, feed: Feed, job: Job | None, now: datetime) -> str:
        job_id = f"{_POLL}{feed.id}"
        trigger = poll_trigger(feed.interval_s, jitter_s=int(self.config.poll_jitter.total_seconds()))
        if job is not None and same_trigger(job.trigger, trigger):
            return job_id
        first = feed.next_poll_at if feed.next_poll_at is not None and feed.next_poll_at > now else now
        aps.add_job(
            poll_job,
            trigger,
            args=(feed.id,),
            id=job_id,
            name=f"poll {feed.url}",
            jobstore="default",
            replace_existing=True,
            next_run_time=first,
            misfire_grace_time=None,
        )
        return job_id

    async def _ensure_digest(
        self, aps: AsyncIOScheduler, sub: Subscription, job: Job | None, now: datetime
    ) -> str | None:
        job_id = f"{_DIGEST}{sub.id}"
        try:
            trigger = digest_trigger(sub.schedule, sub.tz)
        except Exception as exc:  # stored by an older version, or edited by hand
            log.error("subscription %d: schedule %r (%s) cannot be scheduled: %s", sub.id, sub.schedule, sub.tz, exc)
            return None
        missed = latest_fire(trigger, now)
        if missed is not None and (missed < sub.created_at or now - missed > self.config.misfire_grace):
            missed = None
        if job is not None and same_trigger(job.trigger, trigger):
            # A kept job's next run time can be past a slot nobody claimed: the leader that fired it died before
            # its run claimed the slot (APScheduler moves a job on before running it), or the job was paused.
            if (
                missed is not None
                and (job.next_run_time is None or job.next_run_time > missed)
                and not self._ran_here(sub.id, missed)
                and await self._unclaimed(sub.id, missed)
            ):
                log.warning(
                    "digest of subscription %d: the stored job is past the slot %s, which nobody claimed (fired by "
                    "a leader that stopped before claiming it, or paused over it): running it now",
                    sub.id,
                    slot_key(missed),
                )
                aps.modify_job(job_id, jobstore="default", next_run_time=missed)
            return job_id
        first = trigger.get_next_fire_time(None, now)
        if missed is not None and await self._unclaimed(sub.id, missed):
            first = missed
        aps.add_job(
            digest_job,
            trigger,
            args=(sub.id,),
            id=job_id,
            name=f"digest {sub.platform} {sub.channel} {sub.topic}",
            jobstore="default",
            replace_existing=True,
            next_run_time=first,
        )
        return job_id

    async def _unclaimed(self, sub_id: int, slot_time: datetime) -> bool:
        return await asyncio.to_thread(self.store.get_slot, sub_id, slot_key(slot_time)) is None

    def _note_digest_run(self, sub_id: int) -> None:
        """Remember that a digest run of ``sub_id`` begins now (submitted by this leader's APScheduler, or called
        directly): it claims the slot of :meth:`run_digest`, so until it does, no sync runs that slot again."""
        now = self.clock()
        began = self._runs.get(sub_id)
        if began is None or now > began:
            self._runs[sub_id] = now

    def _ran_here(self, sub_id: int, slot_time: datetime) -> bool:
        """Whether a digest run this leader began in its current term belongs to ``slot_time`` or a later slot
        (it claimed that slot, is about to, or found it not due), or a run of that slot is being posted here."""
        if (sub_id, slot_key(slot_time)) in self._in_flight:
            return True
        began = self._runs.get(sub_id)
        return began is not None and slot_time <= began + _LATE

    def _move(self, job_id: str, when: datetime) -> None:
        if self._aps is None:
            return
        with contextlib.suppress(JobLookupError):
            job = self._aps.get_job(job_id)
            if job is not None and job.next_run_time is not None and when > job.next_run_time:
                self._aps.modify_job(job_id, next_run_time=when)

    def _drop(self, job_id: str) -> None:
        if self._aps is not None:
            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(job_id)

    def retry_digest(self, sub_id: int) -> None:
        """Run the subscription's digest job once more :data:`DIGEST_RETRY` from now (in memory): the database went
        away during its run, which posted nothing. The retry posts the same slot unless that slot's time is past."""
        if self._aps is None:
            return
        self._aps.add_job(
            digest_job,
            DateTrigger(self.clock() + DIGEST_RETRY),
            args=(sub_id,),
            id=f"{_DIGEST_RETRY}{sub_id}",
            jobstore="local",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def run_poll(self, feed_id: int) -> FeedResult | None:
        """The body of a poll job: poll the feed if it is due now (else move the job to its next poll time);
        a disabled or deleted feed loses its job. Returns the poll's result, ``None`` when nothing was polled (here:
        a queued poll is a worker's)."""
        now = self.clock()
        job_id = f"{_POLL}{feed_id}"
        feed = await asyncio.to_thread(self.store.get_feed, feed_id)
        if feed is None or not feed.enabled:
            self._drop(job_id)
            return None
        if feed.next_poll_at is not None and feed.next_poll_at > now + _LATE:
            self._move(job_id, feed.next_poll_at)  # backing off after failures, or polled by `newsbrief poll`
            return None
        result = await self._poll(feed, now)
        self.last_poll_at = now
        if self._on_poll is not None and result is not None:
            self._on_poll(result)
        after = await asyncio.to_thread(self.store.get_feed, feed_id)
        if after is None or not after.enabled:
            if after is not None:
                log.warning("feed %s disabled: %s", after.url, after.disabled_reason)
            self._drop(job_id)
        elif after.next_poll_at is not None:
            self._move(job_id, after.next_poll_at)
        return result

    async def run_digest(self, sub_id: int) -> DigestOutcome | None:
        """The body of a digest job: post the digest of the slot this run belongs to (the schedule's latest fire
        time at ``clock()``), exactly once. ``None`` when nothing was due (no such subscription, paused, no
        poster, a slot from before the subscription, or later than the grace time)."""
        now = self.clock()
        self._note_digest_run(sub_id)
        sub = await asyncio.to_thread(self.store.get_subscription, sub_id)
        if sub is None or sub.paused or sub.items or is_live(sub):
            self._drop(f"{_DIGEST}{sub_id}")
            return None
        channel = self.channels.get(sub.platform)
        if channel is None:
            return None
        slot_time = latest_fire(digest_trigger(sub.schedule, sub.tz), now + _LATE)
        if slot_time is None or slot_time < sub.created_at or now - slot_time > self.config.misfire_grace:
            return None

        slot = slot_key(slot_time)
        post = digest_poster(self.store, channel, sub, slot, now=now)

        # Shielded: a stop or a lost lease cancels the job, not a digest between its claim and its ledger entry
        # (stop() waits for these; a claim is exclusive whoever leads).
        key = (sub.id, slot)
        work = asyncio.ensure_future(
            run_digest(
                self.store,
                sub,
                slot,
                post=post,
                topics=self.settings.topics,
                now=now,
                by=self.holder,
                window=self.settings.digests.window,
                limit=self.settings.digests.max_stories,
                post_empty=self.settings.digests.post_empty,
                locks=self.build_locks,
                templates=self.templates,
            )
        )
        self._in_flight[key] = work
        work.add_done_callback(lambda _done: self._in_flight.pop(key, None))
        outcome = await asyncio.shield(work)
        log.info(
            "digest of subscription %d (%s %s, %s) for %s: %s",
            sub.id,
            sub.platform,
            sub.channel,
            sub.topic,
            slot_key(slot_time),
            outcome,
        )
        if self._on_digest is not None:
            self._on_digest(sub, outcome)
        return outcome

    async def run_alerts(self) -> AlertsReport:
        """One round of live story alerts at ``clock()`` through the adapters that post them (those with
        ``post_alert``); rounds never overlap in this process (the ledger keeps other processes' apart)."""
        alerting: dict[str, AlertChannel] = {
            platform: channel  # type: ignore[misc]
            for platform, channel in self.channels.items()
            if callable(getattr(channel, "post_alert", None))
        }
        async with self._alerting:
            return await run_alerts(
                self.store,
                alerting,
                topics=self.settings.topics,
                now=self.clock(),
                by=self.holder,
                live=self.live,
                templates=self.templates,
            )

    def health(self) -> dict[str, Any]:
        """A snapshot for ``/healthz`` (``jobs`` is ``None`` while the database is unavailable)."""
        try:
            jobs: int | None = len(self.jobs())
        except StoreUnavailable:
            jobs = None
        return {
            "leader": self.is_leader,
            "holder": self.holder,
            "jobs": jobs,
            "last_poll_at": self.last_poll_at.isoformat() if self.last_poll_at else None,
            "last_lease_check_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
        }


def _current(scheduler: Scheduler | None) -> Scheduler | None:
    """``scheduler`` when given, else the one whose executor runs this job."""
    scheduler = scheduler if scheduler is not None else _JOB_SCHEDULER.get()
    if scheduler is None:
        log.warning("scheduler job ran outside a scheduler's executor and was given none; skipped")
    return scheduler


async def poll_job(feed_id: int, *, scheduler: Scheduler | None = None) -> None:
    """Job: poll one feed (see :meth:`Scheduler.run_poll`); the database going away leaves it due. ``scheduler``:
    the one to run it on (default: the one whose executor runs the job)."""
    scheduler = _current(scheduler)
    if scheduler is not None:
        try:
            await scheduler.run_poll(feed_id)
        except StoreUnavailable as exc:
            log.debug("poll of feed %d: database unavailable: %s", feed_id, exc)


async def digest_job(sub_id: int, *, scheduler: Scheduler | None = None) -> None:
    """Job: post one subscription's digest (see :meth:`Scheduler.run_digest`); the database going away before
    the digest was claimed makes it run again a little later (:meth:`Scheduler.retry_digest`). ``scheduler``: as
    for :func:`poll_job`."""
    scheduler = _current(scheduler)
    if scheduler is not None:
        try:
            await scheduler.run_digest(sub_id)
        except StoreUnavailable as exc:
            log.debug("digest of subscription %d: database unavailable: %s; trying again", sub_id, exc)
            scheduler.retry_digest(sub_id)


async def alerts_job(*, scheduler: Scheduler | None = None) -> None:
    """Job: one round of live story alerts (see :meth:`Scheduler.run_alerts`). ``scheduler``: as for
    :func:`poll_job`."""
    scheduler = _current(scheduler)
    if scheduler is not None:
        try:
            await scheduler.run_alerts()
        except StoreUnavailable as exc:
            log.debug("live alerts: database unavailable: %s", exc)
        except Exception:
            log.exception("live alerts: the round failed; trying again with the next one")


async def sync_job(*, scheduler: Scheduler | None = None) -> None:
    """Job: bring the jobs in line with the store (see :meth:`Scheduler.sync`). ``scheduler``: as for
    :func:`poll_job`."""
    scheduler = _current(scheduler)
    if scheduler is not None:
        try:
            await scheduler.sync()
        except StoreUnavailable as exc:
            log.debug("scheduler: job sync: database unavailable: %s", exc)
        except Exception:
            log.exception("scheduler: job sync failed; trying again with the next sync")
