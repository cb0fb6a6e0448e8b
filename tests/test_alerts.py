"""Live story alerts (bot/alerts.py) through the console adapter, on SQLite and PostgreSQL: posted once after the
settle time, edited in place as the story grows (coalesced), follow-ups as thread replies, quiet hours, the hourly
cap with one overflow summary, exactly once across two stores, crash recovery by looking; the grammar and [live]."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.adapters.console import ConsoleAdapter
from bot.alerts import (
    AlertMessage,
    AlertsReport,
    LiveSettings,
    alert_marker,
    in_quiet_hours,
    is_live,
    run_alerts,
)
from bot.commands import SubscribeCommand, UsageError, parse_command, parse_schedule
from bot.config import ConfigError, settings_from_mapping
from bot.digests import PostInterrupted, parse_subscriptions
from bot.store import Store, Subscription

T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {"ukraine": "ukraine OR kyiv", "floods": "flood OR dam"}
LIVE = LiveSettings()


def article(store: Store, n: int, story: str, when: datetime, *, follows: str | None = None, title: str = "") -> str:
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/{story}/{n}",
        title=title or f"Talks resume in Kyiv ({story})",
        outlet=f"outlet{n}.example",
        now=when,
        text=f"Negotiators met in Kyiv on Thursday, report {n} of {story}. The meeting lasted six hours.",
        summary={"sentences": [f"Negotiators met in Kyiv (report {n} of {story})."], "quotes": []},
    )
    store.assign_story(stored.id, story, when, follows=follows)
    return stored.id


def live_sub(store: Store, schedule: str = "live", channel: str = "console") -> Subscription:
    return store.add_subscription(
        "console", channel, "ukraine", schedule=schedule, tz="UTC", now=T0 - timedelta(hours=1), by="U1"
    )


class Screen:
    """A console adapter printing into a buffer."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.adapter = ConsoleAdapter(io.StringIO(), Console(file=self.buffer, width=400), lambda _t: None)  # type: ignore[arg-type,return-value]

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


def rnd(store: Store, screen: Screen, now: datetime, *, live: LiveSettings = LIVE, by: str = "p1") -> AlertsReport:
    return asyncio.run(run_alerts(store, {"console": screen.adapter}, topics=TOPICS, now=now, by=by, live=live))


# ---------------------------------------------------------------------------------------------- grammar


def test_live_schedule_grammar() -> None:
    command = parse_command("/brief subscribe ukraine live quiet=22:00-7:00 tz=Europe/Kyiv")
    assert isinstance(command, SubscribeCommand)
    assert command.schedule is not None and command.schedule.live
    assert command.schedule.text == "live quiet=22:00-07:00" and command.schedule.quiet == ((22, 0), (7, 0))
    assert command.tz == "Europe/Kyiv"
    assert parse_schedule("live").text == "live" and parse_schedule("LIVE").quiet is None
    for bad, why in (
        ("live quiet=25:00-07:00", "not a time of day"),
        ("live quiet=22:00", "HH:MM-HH:MM"),
        ("live quiet=07:00-07:00", "same time"),
        ("live hourly", "only quiet="),
        ("daily 08:00 quiet=22:00-07:00", "live subscription only"),
    ):
        with pytest.raises(UsageError, match=why):
            parse_schedule(bad)


def test_live_subscription_from_chat_and_list(store: Store) -> None:
    from bot.commands import RateLimiter, answer

    settings = settings_from_mapping({"topics": TOPICS})
    command = parse_command("subscribe ukraine live quiet=23:00-06:30")
    reply = answer(
        command,
        store=store,
        settings=settings,
        user="U1",
        channel="C1",
        now=T0,
        limiter=RateLimiter(),
        platform="slack",
        is_manager=True,
    )
    assert "live quiet=23:00-06:30" in reply.text and "posted here once as it breaks" in reply.text
    (sub,) = store.list_subscriptions()
    assert is_live(sub) and sub.schedule == "live quiet=23:00-06:30"
    listing = answer(
        parse_command("list"),
        store=store,
        settings=settings,
        user="U1",
        channel="C1",
        now=T0,
        limiter=RateLimiter(),
        platform="slack",
        is_manager=True,
    )
    assert f"#{sub.id} ukraine: live quiet=23:00-06:30 (UTC)" in listing.text


def test_config_live_subscriptions_and_section(tmp_path: object) -> None:
    settings = settings_from_mapping(
        {
            "topics": TOPICS,
            "subscriptions": [{"platform": "slack", "channel": "C1", "topic": "ukraine", "schedule": "live"}],
            "live": {"settle": "90s", "edit_every": "10m", "per_hour": 3, "quiet_hours": "22:00-07:00"},
        }
    )
    (entry,) = parse_subscriptions(settings)
    assert entry.schedule == "live"
    assert settings.live == LiveSettings(
        settle=timedelta(seconds=90), edit_every=timedelta(minutes=10), per_hour=3, quiet_hours=((22, 0), (7, 0))
    )
    assert settings_from_mapping({}).live == LiveSettings()
    for raw, key in (
        ({"per_hour": 0}, "live.per_hour"),
        ({"per_hour": True}, "live.per_hour"),
        ({"settle": "soon"}, "live.settle"),
        ({"quiet_hours": "22-7"}, "live.quiet_hours"),
        ({"quiet_hours": 5}, "live.quiet_hours"),
        ({"loud": 1}, "live.loud: unknown key"),
    ):
        with pytest.raises(ConfigError, match=rf"^bot\.toml: {key}"):
            settings_from_mapping({"live": raw}, path=Path("bot.toml"))
    with pytest.raises(ConfigError, match=r"subscriptions\[0\]\.schedule: live takes only quiet="):  # at load
        settings_from_mapping(
            {
                "topics": TOPICS,
                "subscriptions": [{"platform": "slack", "channel": "C1", "topic": "ukraine", "schedule": "live x"}],
            }
        )


def test_quiet_hours_wrap_midnight_in_the_time_zone() -> None:
    quiet = ((22, 0), (7, 0))
    assert in_quiet_hours(quiet, "UTC", datetime(2024, 5, 10, 23, 30, tzinfo=UTC))
    assert in_quiet_hours(quiet, "UTC", datetime(2024, 5, 10, 6, 59, tzinfo=UTC))
    assert not in_quiet_hours(quiet, "UTC", datetime(2024, 5, 10, 7, 0, tzinfo=UTC))
    # 20:30 UTC is 23:30 in Kyiv (UTC+3 in May)
    assert in_quiet_hours(quiet, "Europe/Kyiv", datetime(2024, 5, 10, 20, 30, tzinfo=UTC))
    assert not in_quiet_hours(None, "UTC", T0)


# ---------------------------------------------------------------------------------------------- rounds


def test_posted_once_after_the_settle_time(store: Store) -> None:
    sub = live_sub(store)
    article(store, 1, "s-talks", T0)
    screen = Screen()
    assert rnd(store, screen, T0 + timedelta(minutes=1)).posted == []  # not settled: early outlets join first
    article(store, 2, "s-talks", T0 + timedelta(minutes=1))
    report = rnd(store, screen, T0 + timedelta(minutes=2))
    assert report.posted == ["s-talks"]
    assert rnd(store, screen, T0 + timedelta(minutes=3)).posted == []
    assert screen.text.count("Talks resume in Kyiv (s-talks)") == 1 and "2 outlets" in screen.text
    alert = store.get_alert("console", "console", "s-talks")
    assert alert is not None and alert.state == "posted" and alert.subscription_id == sub.id
    assert (alert.message_ref, alert.article_count, alert.outlets) == ("console:console:1", 2, 2)


def test_story_from_before_the_subscription_is_not_posted(store: Store) -> None:
    article(store, 1, "s-old", T0 - timedelta(hours=2))
    live_sub(store)
    assert rnd(store, Screen(), T0).posted == []


def test_growth_edits_in_place_at_most_once_per_edit_every(store: Store) -> None:
    live_sub(store)
    article(store, 1, "s-talks", T0)
    screen = Screen()
    assert rnd(store, screen, T0 + timedelta(minutes=2)).posted == ["s-talks"]
    article(store, 2, "s-talks", T0 + timedelta(minutes=3))
    assert rnd(store, screen, T0 + timedelta(minutes=4)).edited == []  # posted 2 minutes ago: coalesced
    article(store, 3, "s-talks", T0 + timedelta(minutes=5))
    report = rnd(store, screen, T0 + timedelta(minutes=7))
    assert report.edited == ["s-talks"] and report.posted == []
    assert screen.text.count("edited console:console:1") == 1 and "3 outlets" in screen.text
    article(store, 4, "s-talks", T0 + timedelta(minutes=8))
    assert rnd(store, screen, T0 + timedelta(minutes=9)).edited == []  # edited 2 minutes ago
    assert rnd(store, screen, T0 + timedelta(minutes=12)).edited == ["s-talks"]
    assert rnd(store, screen, T0 + timedelta(minutes=30)).edited == []  # no growth, no edit
    alert = store.get_alert("console", "console", "s-talks")
    assert alert is not None and (alert.article_count, alert.outlets) == (4, 4)
    assert screen.text.count("edited ") == 2


def test_a_posted_story_merged_into_another_is_edited_not_posted_again(store: Store) -> None:
    live_sub(store)
    article(store, 1, "s-a", T0)
    screen = Screen()
    assert rnd(store, screen, T0 + timedelta(minutes=2)).posted == ["s-a"]
    article(store, 2, "s-b", T0 + timedelta(minutes=1))
    store.merge_stories("s-a", "s-b", T0 + timedelta(minutes=3))  # the two were one event after all
    article(store, 3, "s-b", T0 + timedelta(minutes=4))
    report = rnd(store, screen, T0 + timedelta(minutes=10))
    assert report.posted == [] and report.edited == ["s-b"]
    assert "edited console:console:1" in screen.text
    alert = store.get_alert("console", "console", "s-a")
    assert alert is not None and alert.article_count == 3


def test_follow_up_is_a_thread_reply(store: Store) -> None:
    live_sub(store)
    article(store, 1, "s-talks", T0)
    screen = Screen()
    rnd(store, screen, T0 + timedelta(minutes=2))
    article(store, 2, "s-talks-2", T0 + timedelta(minutes=10), follows="s-talks", title="Kyiv talks end in a deal")
    report = rnd(store, screen, T0 + timedelta(minutes=12))
    assert report.posted == report.replies == ["s-talks-2"]
    assert "↳ reply to console:console:1: ukraine: follow-up — Kyiv talks end in a deal" in screen.text
    reply = store.get_alert("console", "console", "s-talks-2")
    assert reply is not None and reply.thread_ref == "console:console:1"


def test_quiet_hours_hold_new_stories_until_they_end(store: Store) -> None:
    live_sub(store, schedule="live quiet=12:00-13:00")
    article(store, 1, "s-talks", T0)
    screen = Screen()
    report = rnd(store, screen, T0 + timedelta(minutes=30))
    assert report.posted == [] and report.held == ["s-talks"] and screen.text == ""
    assert rnd(store, screen, T0 + timedelta(hours=1)).posted == ["s-talks"]


def test_default_quiet_hours_of_the_live_section(store: Store) -> None:
    live_sub(store)
    article(store, 1, "s-talks", T0)
    quiet = LiveSettings(quiet_hours=((11, 0), (12, 5)))
    assert rnd(store, Screen(), T0 + timedelta(minutes=3), live=quiet).held == ["s-talks"]
    assert rnd(store, Screen(), T0 + timedelta(minutes=5), live=quiet).posted == ["s-talks"]


def test_hourly_cap_with_one_overflow_summary(store: Store) -> None:
    live_sub(store)
    for n in range(5):
        article(store, n, f"s{n}", T0 + timedelta(seconds=n))
    screen = Screen()
    capped = LiveSettings(per_hour=2)
    report = rnd(store, screen, T0 + timedelta(minutes=3), live=capped)
    assert report.posted == ["s0", "s1"] and report.summarized == ["s2", "s3", "s4"]
    assert "3 more ukraine stories: Talks resume in Kyiv (s2); Talks resume in Kyiv (s3)" in screen.text
    summary_refs = {store.get_alert("console", "console", f"s{n}").message_ref for n in (2, 3, 4)}  # type: ignore[union-attr]
    assert summary_refs == {"console:console:3"}
    # more news in the same hour: no room, and the hour's summary is out: it waits
    article(store, 9, "s9", T0 + timedelta(minutes=10))
    held = rnd(store, screen, T0 + timedelta(minutes=15), live=capped)
    assert held.posted == [] and held.summarized == [] and held.held == ["s9"]
    assert rnd(store, screen, T0 + timedelta(minutes=64), live=capped).posted == ["s9"]


def test_exactly_once_across_two_stores(store: Store, store_url: str) -> None:
    live_sub(store)
    for n in range(3):
        article(store, n, f"s{n}", T0)
    first, second = Screen(), Screen()
    now = T0 + timedelta(minutes=3)
    with Store(store_url) as other:  # a second process on the same database

        async def both() -> tuple[AlertsReport, AlertsReport]:
            return await asyncio.gather(
                run_alerts(store, {"console": first.adapter}, topics=TOPICS, now=now, by="p1"),
                run_alerts(other, {"console": second.adapter}, topics=TOPICS, now=now, by="p2"),
            )

        a, b = asyncio.run(both())
        assert sorted(a.posted + b.posted) == ["s0", "s1", "s2"]
        assert rnd(other, second, now + timedelta(minutes=1), by="p2").posted == []
    for n in range(3):
        assert (first.text + second.text).count(f"(s{n})") == 1


def test_crash_after_posting_is_recovered_by_looking(store: Store) -> None:
    sub = live_sub(store)
    article(store, 1, "s-talks", T0)
    screen = Screen()
    now = T0 + timedelta(minutes=3)
    # a process claimed the story and posted it, then died before recording it
    marker = alert_marker("s-talks")
    assert store.claim_alert(sub.id, "console", "console", "s-talks", marker=marker, by="dead", now=now)
    posted = asyncio.run(screen.adapter.post_alert(sub, AlertMessage(topic="ukraine", marker=marker)))
    assert rnd(store, screen, now + timedelta(minutes=1)).posted == []  # in flight: not its turn yet
    report = rnd(store, screen, now + LIVE.recover_after + timedelta(minutes=1))
    assert report.recovered == ["s-talks"] and report.posted == []
    alert = store.get_alert("console", "console", "s-talks")
    assert alert is not None and alert.state == "posted" and alert.message_ref == posted


class CutAfterPosting:
    """A channel whose connection drops as its alert is posted: the message is there, the poster cannot tell."""

    def __init__(self, inner: ConsoleAdapter) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def post_alert(self, subscription: Subscription, message: AlertMessage) -> str:
        await self.inner.post_alert(subscription, message)
        raise PostInterrupted("the connection dropped before the answer")


def test_a_recovered_alert_records_what_its_message_shows(store: Store) -> None:
    """The claim carries the counts of the message about to be posted; a recovery that finds the message records
    them, so the ledger describes the message (and a story that did not grow is not edited for nothing)."""
    live_sub(store)
    article(store, 1, "s-talks", T0)
    article(store, 2, "s-talks", T0 + timedelta(minutes=1))  # another outlet
    screen = Screen()
    now = T0 + timedelta(minutes=3)
    cut = asyncio.run(
        run_alerts(store, {"console": CutAfterPosting(screen.adapter)}, topics=TOPICS, now=now, by="p1", live=LIVE)
    )
    assert cut.failed == ["s-talks"] and screen.text.count("(s-talks)") == 1  # there, but not recorded
    claim = store.get_alert("console", "console", "s-talks")
    assert claim is not None and (claim.state, claim.article_count, claim.outlets) == ("claimed", 2, 2)

    later = now + LIVE.recover_after + timedelta(minutes=1)
    assert rnd(store, screen, later).recovered == ["s-talks"]
    alert = store.get_alert("console", "console", "s-talks")
    assert alert is not None and (alert.state, alert.article_count, alert.outlets) == ("posted", 2, 2)
    assert rnd(store, screen, later + LIVE.edit_every + timedelta(minutes=1)).edited == []
    assert screen.text.count("(s-talks)") == 1


def test_crash_before_posting_releases_the_claim(store: Store) -> None:
    sub = live_sub(store)
    article(store, 1, "s-talks", T0)
    now = T0 + timedelta(minutes=3)
    assert store.claim_alert(
        sub.id, "console", "console", "s-talks", marker=alert_marker("s-talks"), by="dead", now=now
    )
    screen = Screen()
    report = rnd(store, screen, now + LIVE.recover_after + timedelta(minutes=1))
    assert report.released == ["s-talks"] and report.posted == ["s-talks"]
    assert screen.text.count("(s-talks)") == 1


def test_an_alert_shows_what_the_subscriptions_template_shows(store: Store) -> None:
    sub = live_sub(store)
    store.update_subscription_options(sub.id, template="headlines", mode="digest")
    article(store, 1, "s-talks", T0)
    article(store, 2, "s-talks", T0 + timedelta(minutes=1))
    screen = Screen()

    report = asyncio.run(
        run_alerts(
            store,
            {"console": screen.adapter},
            topics=TOPICS,
            now=T0 + timedelta(minutes=2),
            by="p1",
            live=LIVE,
            templates={},
        )
    )

    assert report.posted == ["s-talks"]
    assert "Talks resume in Kyiv (s-talks)" in screen.text
    assert "outlets" not in screen.text and "Negotiators met" not in screen.text  # headline (and link) only


def test_a_posted_story_out_of_the_topic_search_is_still_edited(store: Store) -> None:
    live_sub(store)
    article(store, 1, "s-talks", T0)
    screen = Screen()
    assert rnd(store, screen, T0 + timedelta(minutes=2)).posted == ["s-talks"]
    # 110 stories (from before the subscription: never posted) that match the topic better push it out of the
    # search's best 100 hits ...
    for n in range(110):
        stored, _ = store.upsert_article(
            url=f"https://wire{n}.example/kyiv/{n}",
            title=f"Kyiv, Ukraine: Kyiv and Ukraine update {n}",
            outlet=f"wire{n}.example",
            now=T0 - timedelta(hours=2),
            text=f"Kyiv Ukraine Kyiv Ukraine Kyiv. Ukraine Kyiv update {n}.",
        )
        store.assign_story(stored.id, f"s-wire{n}", T0 - timedelta(hours=2))
    # ... and it grows: its message is edited all the same
    article(store, 2, "s-talks", T0 + timedelta(minutes=5))
    report = rnd(store, screen, T0 + timedelta(minutes=10))
    assert report.edited == ["s-talks"] and report.posted == []
    assert screen.text.count("edited console:console:1") == 1 and "2 outlets" in screen.text
    alert = store.get_alert("console", "console", "s-talks")
    assert alert is not None and (alert.article_count, alert.outlets) == (2, 2)
    # the ledger's posted stories of a channel since a time (what the round takes besides the search)
    assert list(store.alerts_of("console", "console", posted_since=T0 + timedelta(minutes=2))) == ["s-talks"]
    assert store.alerts_of("console", "console", posted_since=T0 + timedelta(minutes=3)) == {}
