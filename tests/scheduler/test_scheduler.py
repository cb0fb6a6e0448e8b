"""The scheduler (bot/scheduler): triggers, the leader lease, job sync, polls with backoff, digests exactly once.

Store-backed cases run on SQLite and PostgreSQL. Cases where APScheduler must actually fire a job use the real
clock (APScheduler keeps its own) and wait for the outcome event, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from apscheduler.job import Job
from rich.console import Console

from bot.adapters.console import ConsoleAdapter
from bot.briefing import Briefing
from bot.briefing import Item as BriefItem
from bot.config import SchedulerConfig, Settings, settings_from_mapping
from bot.digests import DigestOutcome, slot_key
from bot.ingest import FeedResult, Ingestor, load_story_index
from bot.scheduler import (
    LEASE_NAME,
    Scheduler,
    crontab_day_of_week,
    digest_trigger,
    latest_fire,
)
from bot.sources import Fetcher
from bot.store import Store, Subscription
from testkit.feedserver import Item, rss_feed

FAR = datetime(2031, 6, 2, 12, 0, tzinfo=UTC)
"""A clock far ahead of the real time: jobs scheduled from it never come due during a test."""
TOPICS = {"ukraine": "ukraine OR kyiv"}


# ------------------------------------------------------------------------------------------- triggers


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "fri,sat,sun"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*/2", "tue,thu,sat,sun"),
        ("0,3", "wed,sun"),
    ],
)
def test_crontab_day_of_week_means_what_crontab_means(field: str, expected: str) -> None:
    assert crontab_day_of_week(field) == expected


def test_digest_trigger_fires_in_the_subscriptions_time_zone() -> None:
    trigger = digest_trigger("weekdays 07:30", "Europe/Berlin")
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, saturday_noon)
    assert fire == datetime(2026, 11, 30, 7, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # Monday, Berlin time
    # crontab numbers: 1 is Monday (APScheduler 3 alone would read it as Tuesday)
    monday = digest_trigger("0 9 * * 1", "UTC").get_next_fire_time(None, saturday_noon)
    assert monday is not None and monday.weekday() == 0


def test_latest_fire_is_the_slot_a_late_run_belongs_to() -> None:
    daily = digest_trigger("daily 08:00", "UTC")
    assert latest_fire(daily, datetime(2026, 3, 4, 8, 40, tzinfo=UTC)) == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    assert latest_fire(daily, datetime(2026, 3, 4, 7, 59, tzinfo=UTC)) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert latest_fire(daily, datetime(2026, 3, 4, 8, 0, tzinfo=UTC)) == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    every_minute = digest_trigger("* * * * *", "UTC")
    assert latest_fire(every_minute, datetime(2026, 3, 4, 8, 0, 59, tzinfo=UTC)) == datetime(
        2026, 3, 4, 8, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_fire(daily, datetime(2026, 3, 4, 8, 0))


# ---------------------------------------------------------------------------------------------- lease


def test_lease_one_holder_renewal_expiry_and_release(store: Store) -> None:
    ttl = timedelta(seconds=30)
    assert store.acquire_lease(LEASE_NAME, "a", now=FAR, ttl=ttl)
    assert not store.acquire_lease(LEASE_NAME, "b", now=FAR + timedelta(seconds=10), ttl=ttl)
    assert store.acquire_lease(LEASE_NAME, "a", now=FAR + timedelta(seconds=20), ttl=ttl)  # renewed to 50 s
    assert not store.acquire_lease(LEASE_NAME, "b", now=FAR + timedelta(seconds=40), ttl=ttl)
    assert store.acquire_lease(LEASE_NAME, "b", now=FAR + timedelta(seconds=50), ttl=ttl)  # a's lease expired
    lease = store.get_lease(LEASE_NAME)
    assert lease is not None and lease.holder == "b" and lease.expires_at == FAR + timedelta(seconds=80)
    assert not store.release_lease(LEASE_NAME, "a")
    assert store.release_lease(LEASE_NAME, "b")
    assert store.get_lease(LEASE_NAME) is None
    assert store.acquire_lease(LEASE_NAME, "a", now=FAR + timedelta(seconds=51), ttl=ttl)
    with pytest.raises(ValueError, match="positive"):
        store.acquire_lease(LEASE_NAME, "a", now=FAR, ttl=timedelta(0))


def test_lease_race_has_one_winner(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(6)]
    stores[0].upgrade()
    results: dict[int, bool] = {}
    barrier = threading.Barrier(len(stores))

    def contend(i: int) -> None:
        barrier.wait()
        results[i] = stores[i].acquire_lease(LEASE_NAME, f"p{i}", now=FAR, ttl=timedelta(seconds=30))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results.values()) == [False] * 5 + [True]


# ------------------------------------------------------------------------------------------ scheduler


class Recorder:
    """The chat side: posts recorded, outcomes and poll results observed, with events to wait on."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, Briefing]] = []
        self.outcomes: list[tuple[int, DigestOutcome]] = []
        self.polls: list[FeedResult] = []
        self.changed = asyncio.Event()

        self.found: dict[str, str] = {}
        self.refs: list[str] = []

    async def post_digest(self, sub: Subscription, briefing: Briefing, ref: str) -> str:
        self.posts.append((sub.id, briefing))
        self.refs.append(ref)
        return f"console-{len(self.posts)}"

    async def find_digest(self, sub: Subscription, ref: str, since: datetime) -> str | None:
        return self.found.get(ref)

    def on_digest(self, sub: Subscription, outcome: DigestOutcome) -> None:
        self.outcomes.append((sub.id, outcome))
        self.changed.set()

    def on_poll(self, result: FeedResult) -> None:
        self.polls.append(result)
        self.changed.set()

    async def wait(self, done: object, timeout: float = 10.0) -> None:
        async def until() -> None:
            while not callable(done) or not done():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)


@pytest.fixture
def settings() -> Settings:
    return settings_from_mapping({"topics": TOPICS, "poll": {"backfill": 10}})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def make(
    store: Store,
    settings: Settings,
    client: httpx.AsyncClient,
    recorder: Recorder,
    clock: datetime | None,
    *,
    holder: str,
    lease: timedelta = timedelta(seconds=30),
    on_lead: Callable[[], Awaitable[None]] | None = None,
) -> Scheduler:
    ingestor = Ingestor(
        store,
        Fetcher(client, settings.network),
        settings,
        stories=load_story_index(store, FAR, days=30),
        rng=random.Random(0),
    )
    return Scheduler(
        store,
        settings,
        ingestor,
        channels={"console": recorder},
        clock=(lambda: clock) if clock is not None else (lambda: datetime.now(UTC)),
        holder=holder,
        config=SchedulerConfig(lease=lease),
        on_lead=on_lead,
        on_poll=recorder.on_poll,
        on_digest=recorder.on_digest,
    )


def feed_file(tmp_path: Path, name: str, *, when: datetime) -> str:
    path = tmp_path / f"{name}.xml"
    path.write_text(
        rss_feed(
            [
                Item(
                    title="Talks resume in Kyiv",
                    link=f"urn:{name}:1",
                    guid=f"{name}-1",
                    published=when,
                    summary="Negotiators met in Kyiv on Thursday. The meeting on Ukraine lasted six hours.",
                ),
            ]
        ),
        encoding="utf-8",
    )
    return path.as_uri()


async def test_leader_schedules_one_job_per_enabled_feed_and_active_subscription(
    store: Store, settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    live = store.add_feed(feed_file(tmp_path, "live", when=FAR), interval_s=600, now=FAR)
    dead = store.add_feed(feed_file(tmp_path, "dead", when=FAR), now=FAR)
    for _ in range(10):
        store.record_poll_failure(dead.id, kind="http", message="HTTP 500", now=FAR, next_poll_at=FAR)
    daily = store.add_subscription("console", "console", "ukraine", schedule="daily 08:00", tz="UTC", now=FAR, by="t")
    paused = store.add_subscription("console", "ops", "ukraine", schedule="hourly", tz="UTC", now=FAR, by="t")
    store.pause_subscription(paused.id, "test", FAR)
    store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=FAR, by="t")  # no poster here
    store.add_subscription("console", "live", "ukraine", schedule="live", tz="UTC", now=FAR, by="t")  # alerts job
    recorder = Recorder()
    scheduler = make(store, settings, client, recorder, FAR, holder="one")
    try:
        assert await scheduler.start()
        jobs = {job.id: job for job in scheduler.jobs()}
        assert set(jobs) == {f"poll:{live.id}", f"digest:{daily.id}", "sync", "alerts"}
        assert jobs[f"poll:{live.id}"].trigger.interval == timedelta(seconds=600)
        assert jobs[f"digest:{daily.id}"].next_run_time == datetime(2031, 6, 3, 8, 0, tzinfo=UTC)
        assert scheduler.health()["leader"] is True
        # the subscription is removed and the feed disabled elsewhere: the next sync drops their jobs
        store.remove_subscription(daily.id)
        store.remove_feed(live.id)
        await scheduler.sync()
        assert {job.id for job in scheduler.jobs()} == {"sync", "alerts"}
    finally:
        await scheduler.stop()
    assert store.get_lease(LEASE_NAME) is None  # released on stop: a standby takes over at once


async def test_the_alerts_job_posts_live_subscriptions_through_the_adapters_that_can(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    screen = io.StringIO()
    console = ConsoleAdapter(io.StringIO(), Console(file=screen, width=300), lambda _t: None)  # type: ignore[arg-type,return-value]
    sub = store.add_subscription("console", "console", "ukraine", schedule="live", tz="UTC", now=FAR, by="t")
    stored, _ = store.upsert_article(
        url="https://a.example/1", title="Talks resume in Kyiv", outlet="a.example", now=FAR, text="Kyiv talks."
    )
    store.assign_story(stored.id, "s-kyiv", FAR + timedelta(seconds=1))
    later = FAR + timedelta(minutes=5)
    scheduler = Scheduler(
        store,
        settings,
        make(store, settings, client, Recorder(), FAR, holder="x").ingestor,
        channels={"console": console, "slack": Recorder()},  # a Recorder cannot post alerts: left out
        clock=lambda: later,
        holder="one",
    )
    report = await scheduler.run_alerts()
    assert report.posted == ["s-kyiv"] and "Talks resume in Kyiv" in screen.getvalue()
    assert (await scheduler.run_alerts()).posted == []
    assert await scheduler.run_digest(sub.id) is None  # a live subscription has no digests


async def test_standby_serves_commands_only_then_takes_over_from_a_dead_leader(
    store: Store, settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    store.add_feed(feed_file(tmp_path, "live", when=FAR), now=FAR)
    recorder = Recorder()
    now = {"t": FAR}
    first = make(store, settings, client, recorder, None, holder="first")
    first.clock = lambda: now["t"]
    second = make(store, settings, client, recorder, None, holder="second")
    second.clock = lambda: now["t"]
    assert await first.start()
    assert not await second.start()
    assert second.jobs() == [] and not second.is_leader
    await first.stop(release=False)  # killed: its lease stays until it expires
    now["t"] = FAR + timedelta(seconds=29)
    assert not await second.tick()
    now["t"] = FAR + timedelta(seconds=31)
    assert await second.tick()
    assert any(job.id.startswith("poll:") for job in second.jobs())  # the same stored jobs
    # the old leader comes back: it stays a standby
    first_again = make(store, settings, client, recorder, None, holder="first")
    first_again.clock = lambda: now["t"]
    assert not await first_again.start()
    await first_again.stop()
    await second.stop()


async def test_a_leader_renews_its_lease_while_its_start_of_leadership_work_outlasts_it(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    now = {"t": FAR}
    started = asyncio.Event()
    release = asyncio.Event()

    async def first_round() -> None:  # a first poll and start-up briefings longer than the lease
        started.set()
        await release.wait()

    leader = make(
        store, settings, client, Recorder(), None, holder="leader", lease=timedelta(seconds=1), on_lead=first_round
    )
    leader.clock = lambda: now["t"]
    standby = make(store, settings, client, Recorder(), None, holder="standby", lease=timedelta(seconds=1))
    standby.clock = lambda: now["t"]
    starting = asyncio.create_task(leader.start())
    await asyncio.wait_for(started.wait(), 5)
    now["t"] = FAR + timedelta(seconds=10)  # the first term's lease has long expired by this clock

    async def renewed() -> None:
        while (lease := store.get_lease("scheduler")) is None or lease.expires_at <= now["t"]:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(renewed(), 5)  # renewed by the ticker, though on_lead has not returned
    assert not await standby.tick()
    release.set()
    assert await asyncio.wait_for(starting, 5)
    await leader.stop()
    await standby.stop()


async def test_poll_job_honours_backoff_and_drops_disabled_feeds(
    store: Store, settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    feed = store.add_feed(feed_file(tmp_path, "live", when=FAR), interval_s=900, now=FAR)
    recorder = Recorder()
    scheduler = make(store, settings, client, recorder, FAR, holder="one")
    try:
        await scheduler.start()
        result = await scheduler.run_poll(feed.id)
        assert result is not None and result.status == "ok" and result.new == 1
        job = next(j for j in scheduler.jobs() if j.id == f"poll:{feed.id}")
        assert job.next_run_time == FAR + timedelta(seconds=900)  # the feed's next poll time
        # a failure with a long backoff: the job moves to the backoff time and polls nothing before
        backoff = FAR + timedelta(hours=3)
        store.record_poll_failure(feed.id, kind="http", message="HTTP 503", now=FAR, next_poll_at=backoff)
        assert await scheduler.run_poll(feed.id) is None
        job = next(j for j in scheduler.jobs() if j.id == f"poll:{feed.id}")
        assert job.next_run_time == backoff
        for _ in range(10):
            store.record_poll_failure(feed.id, kind="http", message="HTTP 503", now=FAR, next_poll_at=backoff)
        assert await scheduler.run_poll(feed.id) is None
        assert all(j.id != f"poll:{feed.id}" for j in scheduler.jobs())
    finally:
        await scheduler.stop()


def _due_a_while_ago(minutes: int) -> tuple[str, datetime]:
    """A daily schedule whose latest slot was ``minutes`` ago (real time), and that slot."""
    slot = (datetime.now(UTC) - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return f"{slot.minute} {slot.hour} * * *", slot


def _eligible_article(store: Store, now: datetime) -> None:
    stored, _ = store.upsert_article(
        url="https://outlet.example/kyiv/1",
        title="Talks resume in Kyiv",
        outlet="outlet.example",
        now=now,
        text="Negotiators met in Kyiv on Thursday. The meeting lasted six hours.",
        summary={"sentences": ["Negotiators met in Kyiv on Thursday."], "quotes": []},
    )
    store.assign_story(stored.id, "s-kyiv", now)


async def test_a_digest_missed_while_down_is_posted_once_on_start_and_never_again(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    schedule, slot = _due_a_while_ago(10)
    created = slot - timedelta(hours=2)
    sub = store.add_subscription("console", "console", "ukraine", schedule=schedule, tz="UTC", now=created, by="t")
    _eligible_article(store, slot - timedelta(minutes=30))
    recorder = Recorder()
    first = make(store, settings, client, recorder, None, holder="first")
    await first.start()
    await recorder.wait(lambda: recorder.outcomes)
    await first.stop()
    assert recorder.outcomes == [(sub.id, "posted")]
    assert len(recorder.posts) == 1 and recorder.posts[0][1].stories[0].headline == "Talks resume in Kyiv"
    claimed = store.get_slot(sub.id, slot_key(slot))
    assert claimed is not None and claimed.outcome == "posted" and claimed.message_ref == "console-1"
    assert recorder.refs == [f"sub:{sub.id}:{slot_key(slot)}"]  # the adapter gets the slot to tag the message
    # restart: the stored job keeps its next run (tomorrow); nothing is posted again
    second = make(store, settings, client, recorder, None, holder="second")
    await second.start()
    job = next(j for j in second.jobs() if j.id == f"digest:{sub.id}")
    assert job.next_run_time > datetime.now(UTC)
    assert await second.run_digest(sub.id) == "skipped"  # even a stray run finds the slot claimed
    await second.stop()
    assert len(recorder.posts) == 1


@pytest.mark.parametrize(("minutes_ago", "created_minutes_ago"), [(120, 180), (10, 5)])
async def test_no_catch_up_past_the_grace_time_or_before_the_subscription(
    store: Store, settings: Settings, client: httpx.AsyncClient, minutes_ago: int, created_minutes_ago: int
) -> None:
    schedule, slot = _due_a_while_ago(minutes_ago)
    created = datetime.now(UTC) - timedelta(minutes=created_minutes_ago)
    sub = store.add_subscription("console", "console", "ukraine", schedule=schedule, tz="UTC", now=created, by="t")
    _eligible_article(store, slot)
    recorder = Recorder()
    scheduler = make(store, settings, client, recorder, None, holder="one")
    try:
        await scheduler.start()
        job = next(j for j in scheduler.jobs() if j.id == f"digest:{sub.id}")
        assert job.next_run_time > datetime.now(UTC) + timedelta(hours=20)  # the next day's slot
        assert await scheduler.run_digest(sub.id) is None
    finally:
        await scheduler.stop()
    assert recorder.posts == [] and store.get_slot(sub.id, slot_key(slot)) is None


@pytest.mark.parametrize("reached_the_platform", [True, False])
async def test_a_digest_left_in_flight_by_a_dead_process_is_finished_exactly_once(
    store: Store, settings: Settings, client: httpx.AsyncClient, reached_the_platform: bool
) -> None:
    """The claimer died between claiming the slot (and perhaps posting) and recording the outcome."""
    now = datetime.now(UTC)
    slot = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    sub = store.add_subscription(
        "console",
        "console",
        "ukraine",
        schedule=f"{slot.minute} {slot.hour} * * *",
        tz="UTC",
        now=slot - timedelta(hours=2),
        by="t",
    )
    _eligible_article(store, slot - timedelta(minutes=30))
    assert store.claim_slot(sub.id, slot_key(slot), by="dead-process", now=slot)
    recorder = Recorder()
    ref = f"sub:{sub.id}:{slot_key(slot)}"
    if reached_the_platform:
        recorder.found[ref] = "msg-before-crash"
    scheduler = make(store, settings, client, recorder, None, holder="alive")
    standby = make(store, settings, client, recorder, None, holder="standby")
    try:
        await scheduler.start()  # the first sync recovers the claim
        await recorder.wait(lambda: recorder.outcomes)
        assert await standby.recover(datetime.now(UTC)) == []  # nothing left in flight for anyone else
    finally:
        await scheduler.stop()
    claim = store.get_slot(sub.id, slot_key(slot))
    assert claim is not None and claim.outcome == "posted" and claim.claimed_by == "alive"
    assert recorder.outcomes == [(sub.id, "posted")]
    if reached_the_platform:
        assert recorder.posts == [] and claim.message_ref == "msg-before-crash"
    else:
        assert len(recorder.posts) == 1 and recorder.refs == [ref]
    assert store.posted_story_counts(sub.id) == {"s-kyiv": 1}  # its stories are not posted again next time


async def test_an_abandoned_claim_past_the_grace_time_is_recorded_failed(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    sub = store.add_subscription(
        "console", "console", "ukraine", schedule="daily 08:00", tz="UTC", now=FAR - timedelta(days=3), by="t"
    )
    slot = slot_key(FAR - timedelta(days=1))
    assert store.claim_slot(sub.id, slot, by="dead-process", now=FAR - timedelta(days=1))
    recorder = Recorder()
    scheduler = make(store, settings, client, recorder, FAR, holder="alive")
    try:
        await scheduler.start()
    finally:
        await scheduler.stop()
    claim = store.get_slot(sub.id, slot)
    assert claim is not None and claim.outcome == "failed" and recorder.posts == []
    # a fresh claim of this very process, or a young one of another, is left alone
    young = slot_key(FAR - timedelta(seconds=30))
    store.claim_slot(sub.id, young, by="busy-process", now=FAR - timedelta(seconds=30))
    assert await scheduler.recover(FAR) == []


def _digest_job(scheduler: Scheduler, sub: Subscription) -> Job:
    return next(j for j in scheduler.jobs() if j.id == f"digest:{sub.id}")


@pytest.mark.parametrize("left", ["moved on", "paused"])
async def test_a_slot_a_killed_leader_submitted_but_never_claimed_is_posted_once_by_the_next_leader(
    store: Store, settings: Settings, client: httpx.AsyncClient, left: str
) -> None:
    """APScheduler moves a fired job on to its next fire time (committed to the job store) before the run claims
    its slot: a leader killed in between leaves a stored job past a slot nobody claimed."""
    slot = datetime(2031, 6, 2, 8, 0, tzinfo=UTC)
    sub = store.add_subscription(
        "console", "console", "ukraine", schedule="daily 08:00", tz="UTC", now=slot - timedelta(days=3), by="t"
    )
    _eligible_article(store, slot - timedelta(minutes=30))
    recorder = Recorder()
    killed = make(store, settings, client, recorder, slot - timedelta(minutes=1), holder="killed")
    assert await killed.start()
    job = _digest_job(killed, sub)
    assert job.next_run_time == slot
    if left == "moved on":  # fired: the stored job already waits for the next slot
        job.modify(next_run_time=slot + timedelta(days=1))
    else:
        job.pause()
    await killed.stop(release=False)
    assert store.get_slot(sub.id, slot_key(slot)) is None

    nxt = make(store, settings, client, recorder, slot + timedelta(minutes=10), holder="next")
    try:
        assert await nxt.start()  # the killed leader's lease expired meanwhile
        job = _digest_job(nxt, sub)
        assert job.next_run_time == slot  # moved back: APScheduler runs the slot at once
        assert job.trigger.get_next_fire_time(slot, slot + timedelta(minutes=10)) == slot + timedelta(days=1)
        assert await nxt.run_digest(sub.id) == "posted"  # the run APScheduler starts
        job.modify(next_run_time=slot + timedelta(days=1))  # ... having moved the job on first
        await nxt.sync()
        assert _digest_job(nxt, sub).next_run_time == slot + timedelta(days=1)  # claimed: left alone
    finally:
        await nxt.stop(release=False)
    # yet another leader later in the grace time finds the slot claimed: nothing runs again
    last = make(store, settings, client, recorder, slot + timedelta(minutes=40), holder="last")
    try:
        assert await last.start()
        assert _digest_job(last, sub).next_run_time == slot + timedelta(days=1)
    finally:
        await last.stop()
    claim = store.get_slot(sub.id, slot_key(slot))
    assert claim is not None and claim.outcome == "posted" and claim.claimed_by == "next"
    assert recorder.outcomes == [(sub.id, "posted")] and len(recorder.posts) == 1


async def test_a_slot_left_behind_by_a_stored_job_is_fired_by_the_new_leaders_apscheduler(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    schedule, slot = _due_a_while_ago(10)
    sub = store.add_subscription(
        "console", "console", "ukraine", schedule=schedule, tz="UTC", now=slot - timedelta(hours=2), by="t"
    )
    _eligible_article(store, slot - timedelta(minutes=30))
    recorder = Recorder()
    killed = make(store, settings, client, recorder, FAR, holder="killed")  # its jobs never come due
    assert await killed.start()
    tomorrow = slot + timedelta(days=1)
    _digest_job(killed, sub).modify(next_run_time=tomorrow)  # fired the slot, then killed before its claim
    await killed.stop(release=False)
    assert store.release_lease(LEASE_NAME, "killed")  # (its lease expired)

    new = make(store, settings, client, recorder, None, holder="new")
    try:
        assert await new.start()
        await recorder.wait(lambda: recorder.outcomes)  # the new leader's own APScheduler ran the slot
        assert _digest_job(new, sub).next_run_time == tomorrow  # and moved the job on again
        await new.sync()
        assert _digest_job(new, sub).next_run_time == tomorrow
    finally:
        await new.stop()
    claim = store.get_slot(sub.id, slot_key(slot))
    assert claim is not None and claim.outcome == "posted" and claim.claimed_by == "new"
    assert recorder.outcomes == [(sub.id, "posted")] and len(recorder.posts) == 1


class HeldStore(Store):
    """A real store whose next subscription read, once :meth:`hold` is called, waits until ``go`` is set: a
    digest run stopped before it claims its slot."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.held = threading.Event()
        self.go = threading.Event()
        self._hold = False

    def hold(self) -> None:
        self._hold = True

    def get_subscription(self, sub_id: int) -> Subscription | None:
        if self._hold:
            self._hold = False
            self.held.set()
            assert self.go.wait(10)
        return super().get_subscription(sub_id)


async def test_a_leader_leaves_a_slot_alone_while_its_own_run_of_it_has_not_claimed_yet(
    store: Store, store_url: str, settings: Settings, client: httpx.AsyncClient
) -> None:
    slot = datetime(2031, 6, 2, 8, 0, tzinfo=UTC)
    sub = store.add_subscription(
        "console", "console", "ukraine", schedule="daily 08:00", tz="UTC", now=slot - timedelta(days=3), by="t"
    )
    _eligible_article(store, slot - timedelta(minutes=30))
    recorder = Recorder()
    held = HeldStore(store_url)
    leader = make(held, settings, client, recorder, slot + timedelta(minutes=10), holder="one")
    try:
        assert await leader.start()
        job = _digest_job(leader, sub)
        assert job.next_run_time == slot  # first schedule: the missed slot runs at once
        held.hold()
        run = asyncio.create_task(leader.run_digest(sub.id))  # the run APScheduler starts ...
        assert await asyncio.to_thread(held.held.wait, 10)  # ... not claimed yet
        job.modify(next_run_time=slot + timedelta(days=1))  # ... having moved the job on first
        await leader.sync()
        assert _digest_job(leader, sub).next_run_time == slot + timedelta(days=1)  # not run a second time
        held.go.set()
        assert await run == "posted"
        await leader.sync()
        assert _digest_job(leader, sub).next_run_time == slot + timedelta(days=1)
    finally:
        held.go.set()
        await leader.stop()
        held.close()
    assert recorder.outcomes == [(sub.id, "posted")] and len(recorder.posts) == 1


class Logged(logging.Handler):
    """Sets ``seen`` when a record whose message contains ``text`` is logged (on the event loop's thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


async def test_stopping_mid_post_lets_the_digest_be_recorded(
    store: Store, settings: Settings, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop (or a lost lease) cancels the scheduler's jobs, never a digest between its claim and its ledger."""
    schedule, slot = _due_a_while_ago(10)
    sub = store.add_subscription(
        "console", "console", "ukraine", schedule=schedule, tz="UTC", now=slot - timedelta(hours=2), by="t"
    )
    _eligible_article(store, slot - timedelta(minutes=30))
    recorder = Recorder()
    posting, release = asyncio.Event(), asyncio.Event()

    async def slow_post(sub: Subscription, briefing: Briefing, ref: str) -> str:
        posting.set()
        await release.wait()
        return await Recorder.post_digest(recorder, sub, briefing, ref)

    recorder.post_digest = slow_post  # type: ignore[method-assign]
    scheduler = make(store, settings, client, recorder, None, holder="one")
    await scheduler.start()
    await asyncio.wait_for(posting.wait(), 10)
    caplog.set_level(logging.INFO, logger="newsbrief.scheduler")
    waiting = Logged("Stopping: waiting (up to 20 s) for 1 digest(s) being posted")
    logging.getLogger("newsbrief.scheduler").addHandler(waiting)
    try:
        stopping = asyncio.create_task(scheduler.stop())
        await asyncio.wait_for(waiting.seen.wait(), 10)
    finally:
        logging.getLogger("newsbrief.scheduler").removeHandler(waiting)
    assert not stopping.done()  # waiting for the digest in flight
    release.set()
    await asyncio.wait_for(stopping, 10)
    claim = store.get_slot(sub.id, slot_key(slot))
    assert claim is not None and claim.outcome == "posted" and len(recorder.posts) == 1


class ItemRecorder(Recorder):
    """A chat side that also posts items (items mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[int, str]] = []

    async def post_item(self, sub: Subscription, item: BriefItem, ref: str) -> str:
        self.items.append((sub.id, item.headline))
        return f"item-{len(self.items)}"


async def test_items_subscriptions_get_no_digest_job_and_each_sync_posts_their_new_articles_once(
    store: Store, settings: Settings, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    items = store.add_subscription(
        "console", "console", "ukraine", schedule="daily 08:00", tz="UTC", now=now - timedelta(hours=1), mode="items"
    )
    _eligible_article(store, now - timedelta(minutes=5))
    recorder = ItemRecorder()
    scheduler = make(store, settings, client, recorder, now, holder="one")
    try:
        assert await scheduler.start()  # leading: the first sync runs an items round
        assert not [job.id for job in scheduler.jobs() if job.id.startswith("digest")]
        assert recorder.items == [(items.id, "Talks resume in Kyiv")]
        await scheduler.sync()
        assert recorder.items == [(items.id, "Talks resume in Kyiv")]  # once
        assert await scheduler.run_digest(items.id) is None and recorder.posts == []
    finally:
        await scheduler.stop()


async def test_a_job_outside_a_schedulers_executor_and_given_none_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Jobs get their scheduler from the executor that runs them (or explicitly): there is no registry to find
    one in, so a job run anywhere else does nothing and says so."""
    from bot.scheduler import digest_job, poll_job, sync_job

    with caplog.at_level("WARNING", logger="newsbrief.scheduler"):
        await poll_job(1)
        await digest_job(1)
        await sync_job()
    assert [r.getMessage() for r in caplog.records].count(
        "scheduler job ran outside a scheduler's executor and was given none; skipped"
    ) == 3
