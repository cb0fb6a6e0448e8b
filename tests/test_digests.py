"""Digests (bot/digests.py) and the subscription store, on SQLite and PostgreSQL; the ``subs``/``digest`` CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.briefing import FULL, Briefing, make_briefing, parse_templates
from bot.config import ConfigError, Settings, settings_from_mapping
from bot.digests import (
    SEARCH_MARGIN,
    BuildLocks,
    ChannelUnavailable,
    HistoryUnreadable,
    PartPosted,
    PostInterrupted,
    build_digest,
    digest_poster,
    digest_ref,
    parse_subscriptions,
    run_digest,
    slot_key,
    sync_config_subscriptions,
)
from bot.store import DigestFilter, Store, Subscription

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {"ukraine": "ukraine OR kyiv", "floods": "flood OR dam"}
SLOT = slot_key(NOW)


@pytest.fixture
def sub(store: Store) -> Subscription:
    return store.add_subscription("slack", "C1", "ukraine", schedule="daily 08:00", tz="UTC", now=NOW, by="U1")


def article(
    store: Store,
    n: int,
    story: str,
    *,
    title: str = "Talks resume in Kyiv",
    hours_ago: float = 2,
    eligible: bool = True,
) -> str:
    when = NOW - timedelta(hours=hours_ago)
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/{story}/{n}",
        title=title,
        outlet=f"outlet{n}.example",
        now=when,
        text=f"Negotiators met in Kyiv on Thursday, report {n} of {story}. The meeting lasted six hours.",
        summary={"sentences": [f"Negotiators met in Kyiv (report {n})."], "quotes": []},
        eligible=eligible,
    )
    store.assign_story(stored.id, story, when)
    return stored.id


class Poster:
    """A post callable that records what it posted (or fails)."""

    def __init__(self, *, fail: bool = False, gone: str | None = None, interrupted: int = 0) -> None:
        self.posted: list[Briefing] = []
        self.fail = fail
        self.gone = gone
        self.interrupted = interrupted  # the next this many posts are interrupted (a 5xx, a timeout)

    async def __call__(self, briefing: Briefing) -> str:
        if self.gone is not None:
            raise ChannelUnavailable(self.gone)
        if self.interrupted:
            self.interrupted -= 1
            raise PostInterrupted("slack: chat.postMessage answered HTTP 500 internal_error")
        if self.fail:
            raise RuntimeError("chat platform is down")
        self.posted.append(briefing)
        return f"msg-{len(self.posted)}"


def run(
    store: Store, sub: Subscription, poster: Poster, *, slot: str = SLOT, now: datetime = NOW, limit: int = 5
) -> str:
    return asyncio.run(run_digest(store, sub, slot, post=poster, topics=TOPICS, now=now, by="test", limit=limit))


# ---------------------------------------------------------------------------------------------- store


def test_subscriptions_crud_and_duplicates(store: Store, sub: Subscription) -> None:
    assert store.get_subscription(sub.id) == sub
    assert not sub.paused and sub.created_by == "U1"
    with pytest.raises(ValueError, match="already subscribed to ukraine"):
        store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW)
    other = store.add_subscription("discord", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW)
    assert [s.id for s in store.list_subscriptions()] == [sub.id, other.id]
    assert store.list_subscriptions(platform="discord") == [other]
    paused = store.pause_subscription(sub.id, "channel archived", NOW)
    assert paused.paused and paused.paused_reason == "channel archived"
    assert not store.resume_subscription(sub.id).paused
    assert store.remove_subscription(other.id) and not store.remove_subscription(other.id)
    assert store.get_subscription(other.id) is None


def test_claim_slot_exactly_once_across_stores(store: Store, store_url: str, sub: Subscription) -> None:
    assert store.claim_slot(sub.id, SLOT, by="p1", now=NOW)
    assert not store.claim_slot(sub.id, SLOT, by="p1", now=NOW)
    with Store(store_url) as second:  # a second process on the same database
        assert not second.claim_slot(sub.id, SLOT, by="p2", now=NOW)
        assert second.claim_slot(sub.id, slot_key(NOW + timedelta(days=1)), by="p2", now=NOW)
        assert second.get_subscription(sub.id) == sub  # the lost race left nothing broken
    store.finish_slot(sub.id, SLOT, "posted", "msg-1", NOW)
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and (slot.claimed_by, slot.outcome, slot.message_ref) == ("p1", "posted", "msg-1")
    with pytest.raises(KeyError):
        store.finish_slot(sub.id, "never", "empty", None, NOW)
    with pytest.raises(KeyError):
        store.claim_slot(9999, SLOT, by="p1", now=NOW)


def test_record_posted(store: Store, sub: Subscription) -> None:
    assert store.posted_story_counts(sub.id) == {}
    store.record_posted(sub.id, {"s_1": 2, "s_2": 1}, NOW)
    store.record_posted(sub.id, {"s_1": 5}, NOW)
    assert store.posted_story_counts(sub.id) == {"s_1": 5, "s_2": 1}
    # an older digest finished late (after a crash) does not make s_1 look new again
    store.record_posted(sub.id, {"s_1": 3}, NOW)
    assert store.posted_story_counts(sub.id) == {"s_1": 5, "s_2": 1}


# ---------------------------------------------------------------------------------------------- digests


def test_empty_digest_is_not_posted(store: Store, sub: Subscription) -> None:
    poster = Poster()
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is None
    assert run(store, sub, poster) == "empty"
    assert poster.posted == []
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and slot.outcome == "empty"


def test_digest_posted_once_and_stories_not_reposted(store: Store, store_url: str, sub: Subscription) -> None:
    first = article(store, 1, "s_talks")
    poster = Poster()
    assert run(store, sub, poster) == "posted"
    assert [b.stories[0].headline for b in poster.posted] == ["Talks resume in Kyiv"]
    assert run(store, sub, poster) == "skipped"  # same slot
    with Store(store_url) as second:
        assert asyncio.run(run_digest(second, sub, SLOT, post=poster, topics=TOPICS, now=NOW, by="p2")) == "skipped"
    assert len(poster.posted) == 1
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and (slot.outcome, slot.message_ref) == ("posted", "msg-1")
    assert store.posted_story_counts(sub.id) == {"s_talks": 1}
    assert store.prune(0, NOW + timedelta(days=1)) == 0  # cited, so kept
    assert store.get_article(first) is not None

    later = NOW + timedelta(hours=1)
    article(store, 2, "s_talks", hours_ago=0.5)  # one new article: not substantial
    assert run(store, sub, poster, slot=slot_key(later), now=later) == "empty"
    article(store, 3, "s_dam", title="Dam breaks near Kyiv", hours_ago=0.5)
    assert run(store, sub, poster, slot=slot_key(later + timedelta(hours=1)), now=later) == "posted"
    assert [s.headline for s in poster.posted[-1].stories] == ["Dam breaks near Kyiv"]


def test_story_returns_after_renewal_new_articles(store: Store, sub: Subscription) -> None:
    article(store, 1, "s_talks")
    poster = Poster()
    assert run(store, sub, poster) == "posted"
    article(store, 2, "s_talks", hours_ago=1)
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is None
    article(store, 3, "s_talks", hours_ago=1)
    digest = build_digest(store, sub, topics=TOPICS, now=NOW)
    assert digest is not None and [s.story_id for s in digest.stories] == ["s_talks"]
    assert build_digest(store, sub, topics=TOPICS, now=NOW, renewal=3) is None
    assert run(store, sub, poster, slot="next") == "posted"
    assert store.posted_story_counts(sub.id) == {"s_talks": 3}


def test_post_failure_is_recorded_and_nothing_marked_posted(store: Store, sub: Subscription) -> None:
    article(store, 1, "s_talks")
    assert run(store, sub, Poster(fail=True)) == "failed"
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and slot.outcome == "failed" and slot.message_ref is None
    assert store.posted_story_counts(sub.id) == {}
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is not None  # still new for the next slot


def test_an_interrupted_post_is_looked_for_and_tried_again_within_the_grace_time(
    store: Store, sub: Subscription
) -> None:
    """A 5xx or a timeout leaves it unknown whether the digest got there: the claim stays in flight with its
    stories; recovery asks the platform first, posts only if the digest is not there, gives up after the grace."""
    from bot.digests import recover_digest

    article(store, 1, "s_talks")
    poster = Poster(interrupted=2)
    assert run(store, sub, poster) == "retry"
    claim = store.get_slot(sub.id, SLOT)
    assert claim is not None and claim.outcome is None and claim.planned == {"s_talks": 1}
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is None  # maybe posted: not offered again meanwhile
    asked: list[datetime] = []

    async def not_there(since: datetime) -> str | None:
        asked.append(since)
        return None

    def recover(claim: object, now: datetime) -> str:
        assert claim is not None
        return asyncio.run(
            recover_digest(
                store,
                sub,
                claim,
                post=poster,
                find=not_there,  # type: ignore[arg-type]
                topics=TOPICS,
                now=now,
                by="test",
                grace=timedelta(hours=1),
            )
        )

    assert recover(claim, NOW + timedelta(minutes=3)) == "retry"  # interrupted again: still in flight
    assert recover(store.get_slot(sub.id, SLOT), NOW + timedelta(minutes=6)) == "posted"
    assert len(asked) == 2 and len(poster.posted) == 1
    done = store.get_slot(sub.id, SLOT)
    assert done is not None and done.outcome == "posted" and done.message_ref == "msg-1"
    assert store.posted_story_counts(sub.id) == {"s_talks": 1}

    # Interrupted, then the grace time passes with the platform never showing it: recorded as failed.
    article(store, 2, "s_power", title="Kyiv restores power", hours_ago=-22)  # the next day
    next_slot = slot_key(NOW + timedelta(days=1))
    assert run(store, sub, Poster(interrupted=1), slot=next_slot, now=NOW + timedelta(days=1)) == "retry"
    assert recover(store.get_slot(sub.id, next_slot), NOW + timedelta(days=1, hours=2)) == "failed"
    assert store.posted_story_counts(sub.id) == {"s_talks": 1} and store.planned_story_counts(sub.id) == {}


@pytest.mark.parametrize("locked", [True, False], ids=["build-locks", "no-locks"])
def test_two_digests_of_one_subscription_built_at_once_do_not_share_a_story(
    store: Store, sub: Subscription, locked: bool
) -> None:
    """A slot's own run and the recovery of an earlier slot can build the same subscription's digest at the same
    moment: with the runner's :class:`BuildLocks` each sees the other's stories as taken (found by the soak: one
    story in two digests). Without locks (a one-off run, which builds nothing else meanwhile) both pick the same
    story; the locks are kept only while a build holds or waits for them."""
    locks = BuildLocks() if locked else None
    article(store, 1, "s_talks")
    article(store, 2, "s_power", title="Kyiv restores power")
    together = threading.Barrier(2)

    class Racing(Store):
        """Each builder pauses after reading which stories are on their way, until the other has read them too
        (or a second has passed: builders that take turns never meet)."""

        def planned_story_counts(self, sub_id: int, *, except_slot: str | None = None) -> dict[str, int]:
            counts = super().planned_story_counts(sub_id, except_slot=except_slot)
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=1.0)
            return counts

    async def both(racing: Store) -> list[Poster]:
        posters = [Poster(), Poster()]
        await asyncio.gather(
            *(
                run_digest(racing, sub, slot, post=poster, topics=TOPICS, now=NOW, by="test", limit=1, locks=locks)
                for slot, poster in zip(("s1", "s2"), posters, strict=True)
            )
        )
        return posters

    with Racing(store.url) as racing:
        posters = asyncio.run(both(racing))
    headlines = [story.headline for poster in posters for briefing in poster.posted for story in briefing.stories]
    if locked:
        assert sorted(headlines) == ["Kyiv restores power", "Talks resume in Kyiv"]
        assert locks is not None and len(locks) == 0  # nothing kept once the builds are done
    else:
        assert len(headlines) == 2 and len(set(headlines)) == 1


def test_build_locks_exclude_per_subscription_and_forget_released_ones() -> None:
    locks = BuildLocks()
    entered = threading.Event()
    order: list[str] = []

    def second() -> None:
        with locks.hold(1):
            order.append("second")

    with locks.hold(1):
        with locks.hold(2):  # another subscription is not held up
            assert len(locks) == 2
        waiter = threading.Thread(target=lambda: (entered.set(), second()))
        waiter.start()
        entered.wait()
        order.append("first")
    waiter.join(timeout=5)
    assert order == ["first", "second"]
    assert len(locks) == 0


def test_a_one_off_run_records_an_interrupted_post_as_failed(store: Store, sub: Subscription) -> None:
    article(store, 1, "s_talks")
    outcome = asyncio.run(
        run_digest(store, sub, SLOT, post=Poster(interrupted=1), topics=TOPICS, now=NOW, by="cli", retry_later=False)
    )
    assert outcome == "failed"
    claim = store.get_slot(sub.id, SLOT)
    assert claim is not None and claim.outcome == "failed" and store.planned_story_counts(sub.id) == {}


def test_post_empty_posts_a_digest_saying_nothing_is_new(store: Store, sub: Subscription) -> None:
    poster = Poster()
    outcome = asyncio.run(run_digest(store, sub, SLOT, post=poster, topics=TOPICS, now=NOW, by="test", post_empty=True))
    assert outcome == "posted" and len(poster.posted) == 1
    assert poster.posted[0].stories == () and poster.posted[0].window_hours == 24
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and slot.outcome == "posted" and store.posted_story_counts(sub.id) == {}


def test_a_channel_that_cannot_take_posts_pauses_the_subscription(store: Store, sub: Subscription) -> None:
    article(store, 1, "s_talks")
    assert run(store, sub, Poster(gone="slack: not_in_channel (invite the bot to the channel)")) == "failed"
    paused = store.get_subscription(sub.id)
    assert paused is not None and paused.paused and paused.paused_reason is not None
    assert "not_in_channel" in paused.paused_reason
    slot = store.get_slot(sub.id, SLOT)
    assert slot is not None and slot.outcome == "failed"


def test_backlog_articles_never_make_a_digest(store: Store, sub: Subscription) -> None:
    store.upsert_article(
        url="https://old.example/kyiv",
        title="Kyiv backlog",
        text="Kyiv news from the backlog.",
        now=NOW - timedelta(hours=1),
        eligible=False,
    )
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is None


def crowd_above(store: Store, sub: Subscription) -> None:
    """Four backlog stories and four stories already posted to ``sub``, each told by three outlets, newer and
    matching the topic more often than any single-outlet story: all rank above those."""
    loud = "Kyiv and Ukraine: Kyiv talks, Ukraine news"
    for i in range(4):
        for n in range(3):
            article(store, n, f"s_backlog{i}", title=loud, hours_ago=1, eligible=False)
            article(store, n, f"s_posted{i}", title=loud, hours_ago=1)
    store.record_posted(sub.id, {f"s_posted{i}": 3 for i in range(4)}, NOW)


@pytest.mark.parametrize("new", [2, 5])
def test_backlog_and_posted_stories_ranked_higher_do_not_crowd_out_new_ones(
    store: Store, sub: Subscription, new: int
) -> None:
    """Backlog and already posted stories were once ranked before being filtered out, so they took the
    ``limit`` places and the new stories below them were never posted. A digest holds min(limit, new) of the
    new stories; the next one holds the rest; /brief still ranks every story."""
    crowd_above(store, sub)
    for i in range(new):
        article(store, 10 + i, f"s_new{i}", hours_ago=20 - i)
    expected = {f"s_new{i}" for i in range(new)}
    everything = make_briefing(store, "ukraine", topics=TOPICS, now=NOW, window=timedelta(hours=24), limit=3)
    assert isinstance(everything, Briefing)
    assert all(not (s.story_id or "").startswith("s_new") for s in everything.stories)  # /brief: no filter
    poster = Poster()
    assert run(store, sub, poster, slot="d1", limit=3) == "posted"
    first = {s.story_id for s in poster.posted[0].stories}
    assert len(first) == min(new, 3) and first <= expected
    if new > 3:
        assert poster.posted[0].more == new - 3
        assert run(store, sub, poster, slot="d2", limit=3) == "posted"
        assert {s.story_id for s in poster.posted[1].stories} == expected - first
    assert run(store, sub, poster, slot="d3", limit=3) == "empty"
    posted = store.posted_story_counts(sub.id)
    assert {key for key in posted if key.startswith("s_new")} == expected
    assert not any(key.startswith("s_backlog") for key in posted)


def test_digest_search_leaves_out_backlog_and_posted_stories_before_its_limit(store: Store, sub: Subscription) -> None:
    """The store's search for a digest filters in the query, so the candidate rows are eligible new ones only
    (a limit of 2 is not used up by the 24 higher ranked hits)."""
    crowd_above(store, sub)
    fresh = [article(store, 10 + i, f"s_new{i}", hours_ago=20) for i in range(2)]
    article(store, 12, "s_renewed", hours_ago=20)
    store.record_posted(sub.id, {"s_renewed": 1}, NOW)
    hits = store.search("ukraine OR kyiv", limit=2, digest=DigestFilter(sub.id, renewal=2))
    assert sorted(a.id for a, _ in hits) == sorted(fresh)
    in_flight = DigestFilter(sub.id, renewal=2, in_flight={"s_new0": 1})  # planned by a digest on its way
    assert [a.id for a, _ in store.search("kyiv", limit=5, digest=in_flight)] == [fresh[1]]
    article(store, 13, "s_renewed", hours_ago=20)
    assert [a.id for a, _ in store.search("kyiv", limit=5, digest=in_flight)] == [fresh[1]]
    article(store, 14, "s_renewed", hours_ago=20)  # two articles since it was posted: new again
    renewed = {a.story_id for a, _ in store.search("kyiv", limit=5, digest=in_flight)}
    assert renewed == {"s_new1", "s_renewed"}
    assert len(store.search("kyiv", limit=50)) == 12 + 12 + 2 + 3  # no filter: everything


# ---------------------------------------------------------------------------------------------- config


def settings(*subs: dict[str, object]) -> Settings:
    return settings_from_mapping({"topics": TOPICS, "subscriptions": list(subs)}, path=Path("nb.toml"))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"platform": "irc", "channel": "C", "topic": "ukraine"}, "subscriptions[0].platform: expected one of"),
        ({"platform": "slack", "channel": "C", "topic": "volcanoes"}, "subscriptions[0].topic: unknown topic"),
        (
            {"platform": "slack", "channel": "C", "topic": "ukraine", "schedule": "daily 25:00"},
            "subscriptions[0].schedule: daily: '25:00' is not a time of day",
        ),
        (
            {"platform": "slack", "channel": "C", "topic": "ukraine", "tz": "Mars/Base"},
            "subscriptions[0].tz: unknown time zone 'Mars/Base'",
        ),
        ({"platform": "slack", "topic": "ukraine"}, "subscriptions[0].channel: missing"),
        ({"platform": "slack", "channel": "C", "topic": "ukraine", "when": "x"}, "subscriptions[0].when: unknown key"),
        ({"platform": "slack", "channel": 5, "topic": "ukraine"}, "subscriptions[0].channel: expected a non-empty"),
    ],
)
def test_config_subscription_errors_name_the_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(settings(entry))
    assert str(caught.value).startswith("nb.toml: ")
    assert message in str(caught.value)


def test_sync_config_subscriptions(store: Store) -> None:
    entry = {"platform": "console", "channel": "console", "topic": "floods", "schedule": "weekdays 7:30"}
    (synced,) = sync_config_subscriptions(store, settings(entry), now=NOW)
    assert (synced.topic, synced.schedule, synced.tz) == ("floods", "weekdays 07:30", "UTC")
    assert synced.created_by == "config"
    changed = sync_config_subscriptions(store, settings({**entry, "tz": "Europe/Berlin"}), now=NOW)
    assert [(s.id, s.tz) for s in changed] == [(synced.id, "Europe/Berlin")]
    assert len(store.list_subscriptions()) == 1


# ---------------------------------------------------------------------------------------------- CLI


def write_config(folder: Path) -> Path:
    config = folder / "newsbrief.toml"
    config.write_text(
        f"[store]\nurl = 'sqlite:///{folder}/nb.db'\n[topics]\nukraine = 'ukraine OR kyiv'\n"
        "[[subscriptions]]\nplatform = 'console'\nchannel = 'console'\ntopic = 'ukraine'\n"
        "[[subscriptions]]\nplatform = 'slack'\nchannel = 'C0123'\ntopic = 'ukraine'\nschedule = 'hourly'\n",
        encoding="utf-8",
    )
    return config


def test_cli_subs_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path))
    with Store(f"sqlite:///{tmp_path}/nb.db") as s:
        s.upgrade()
        chat = s.add_subscription("discord", "D1", "ukraine", schedule="hourly", tz="UTC", now=NOW, by="U9")
        s.pause_subscription(chat.id, "missing permissions", NOW)
    assert main(["--config", config, "subs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["platform"], s["channel"], s["schedule"], s["state"]) for s in listed] == [
        ("discord", "D1", "hourly", "paused"),
        ("console", "console", "daily 08:00", "active"),
        ("slack", "C0123", "hourly", "active"),
    ]
    assert listed[0]["paused_reason"] == "missing permissions"
    assert main(["--config", config, "subs", "list"]) == 0
    out = capsys.readouterr().out
    assert "C0123" in out and "paused:" in out and "permissions" in out  # rich may fold the column
    assert main(["--config", config, "subs", "resume", str(chat.id)]) == 0
    assert "resumed; it was paused because: missing permissions" in capsys.readouterr().out
    assert main(["--config", config, "subs", "resume", str(chat.id)]) == 0
    assert "is not paused" in capsys.readouterr().out
    assert main(["--config", config, "subs", "resume", "x1"]) == 1
    assert "SUB_ID must be a subscription id" in capsys.readouterr().err
    assert main(["--config", config, "subs", "resume", "999"]) == 1


def test_cli_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path))
    now = datetime.now(UTC)
    with Store(f"sqlite:///{tmp_path}/nb.db") as s:
        s.upgrade()
        s.upsert_article(
            url="https://wire.example/kyiv",
            title="Talks resume in Kyiv",
            outlet="wire.example",
            text="Negotiators met in Kyiv on Thursday. The meeting lasted six hours.",
            now=now - timedelta(hours=1),
        )
    assert main(["--config", config, "digest", "1", "--dry-run"]) == 0
    assert "Talks resume in Kyiv" in capsys.readouterr().out
    assert main(["--config", config, "digest", "1"]) == 0
    assert "Talks resume in Kyiv" in capsys.readouterr().out
    second = main(["--config", config, "digest", "1"])  # same minute, or the next: never posted twice
    out = capsys.readouterr().out
    assert second == 0 and "Talks resume in Kyiv" not in out
    assert "already posted for this slot" in out or "Nothing new" in out
    assert main(["--config", config, "digest", "2"]) == 1  # slack, with no token in the environment
    assert "posts to Slack: set SLACK_BOT_TOKEN" in capsys.readouterr().err
    assert main(["--config", config, "digest", "99", "--dry-run"]) == 1
    assert "no subscription 99" in capsys.readouterr().err


def test_stories_of_a_digest_in_flight_are_not_posted_again_and_are_what_recovery_records(
    store: Store, sub: Subscription
) -> None:
    """A digest's stories are written down with its claim before posting: the next digest leaves them out while
    the first is unrecorded (its poster died), and finishing the first records exactly those stories."""
    from bot.digests import recover_digest

    article(store, 1, "s_talks")
    assert store.claim_slot(sub.id, "s1", by="dead", now=NOW)
    store.plan_slot(sub.id, "s1", {"s_talks": 1})
    assert store.get_slot(sub.id, "s1").planned == {"s_talks": 1}  # type: ignore[union-attr]
    assert build_digest(store, sub, topics=TOPICS, now=NOW) is None  # s_talks is on its way already
    article(store, 2, "s_power", title="Kyiv restores power")
    later = build_digest(store, sub, topics=TOPICS, now=NOW)
    assert later is not None and [s.headline for s in later.stories] == ["Kyiv restores power"]
    claim = store.get_slot(sub.id, "s1")
    assert claim is not None

    async def found(_since: datetime) -> str | None:
        return "msg-before-crash"

    outcome = asyncio.run(
        recover_digest(
            store, sub, claim, post=Poster(), find=found, topics=TOPICS, now=NOW, by="alive", grace=timedelta(hours=1)
        )
    )
    assert outcome == "posted"
    assert store.posted_story_counts(sub.id) == {"s_talks": 1}  # what it set out to post, not a rebuilt digest
    assert store.planned_story_counts(sub.id) == {}


# ---------------------------------------------------------------------------------------------- the ledger


def test_digest_messages_and_notes_are_kept_per_slot(store: Store, sub: Subscription) -> None:
    """Each message of a digest is written down with its claim as soon as the platform returned it; a note says why
    a claim in flight could not be checked, until the slot is finished."""
    assert store.claim_slot(sub.id, SLOT, by="p1", now=NOW)
    assert store.digest_messages(sub.id, SLOT) == {}
    store.record_digest_message(sub.id, SLOT, 2, "slack:C1:2.0", now=NOW)
    store.record_digest_message(sub.id, SLOT, 1, "slack:C1:1.0", now=NOW)
    store.record_digest_message(sub.id, SLOT, 2, "slack:C1:2.5", now=NOW)  # told again: the newer reference
    assert list(store.digest_messages(sub.id, SLOT).items()) == [(1, "slack:C1:1.0"), (2, "slack:C1:2.5")]
    with pytest.raises(KeyError, match="never claimed"):
        store.record_digest_message(sub.id, "never", 1, "slack:C1:3.0", now=NOW)
    with pytest.raises(ValueError, match="part must be at least 1"):
        store.record_digest_message(sub.id, SLOT, 0, "slack:C1:3.0", now=NOW)

    store.note_slot(sub.id, SLOT, "slack: cannot read the history of C1")
    assert store.get_slot(sub.id, SLOT).note == "slack: cannot read the history of C1"  # type: ignore[union-attr]
    assert [c.note for c in store.in_flight_slots(claimed_before=NOW + timedelta(seconds=1))] == [
        "slack: cannot read the history of C1"
    ]
    store.finish_slot(sub.id, SLOT, "posted", "slack:C1:1.0", NOW)
    assert store.get_slot(sub.id, SLOT).note is None  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        store.note_slot(sub.id, "never", "x")
    assert store.remove_subscription(sub.id)
    assert store.digest_messages(sub.id, SLOT) == {}


class Reporting:
    """A chat channel that reports each message as it posts it (bot.digests.ReportsParts), then loses the answer
    to the last one (the connection dropped): the digest is in the channel, its outcome unknown to the poster."""

    reports_parts = True

    def __init__(self) -> None:
        self.finds = 0

    async def post_digest(
        self, subscription: Subscription, briefing: Briefing, ref: str, *, on_part: PartPosted | None = None
    ) -> str:
        assert on_part is not None
        await on_part(1, f"chat:{ref}:1")
        await on_part(2, f"chat:{ref}:2")
        raise PostInterrupted("chat: the connection dropped after posting")

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        self.finds += 1
        return None


def test_recovery_finds_the_messages_the_ledger_recorded_without_asking_the_platform(
    store: Store, sub: Subscription
) -> None:
    from bot.digests import recover_digest

    article(store, 1, "s_talks")
    channel = Reporting()
    post = digest_poster(store, channel, sub, SLOT, now=NOW)
    assert asyncio.run(run_digest(store, sub, SLOT, post=post, topics=TOPICS, now=NOW, by="p1")) == "retry"
    ref = digest_ref(sub, SLOT)
    assert store.digest_messages(sub.id, SLOT) == {1: f"chat:{ref}:1", 2: f"chat:{ref}:2"}
    claim = store.get_slot(sub.id, SLOT)
    assert claim is not None and claim.outcome is None and claim.note is not None and "dropped" in claim.note

    async def find(since: datetime) -> str | None:
        return await channel.find_digest(sub, ref, since)

    later = NOW + timedelta(minutes=3)
    outcome = asyncio.run(
        recover_digest(
            store, sub, claim, post=post, find=find, topics=TOPICS, now=later, by="p2", grace=timedelta(hours=1)
        )
    )
    assert outcome == "posted" and channel.finds == 0  # the ledger answered: no search, no second post
    done = store.get_slot(sub.id, SLOT)
    assert done is not None and done.message_ref == f"chat:{ref}:1" and done.note is None  # the first part
    assert store.posted_story_counts(sub.id) == {"s_talks": 1}


def test_a_plain_channel_is_posted_to_without_a_ledger(store: Store, sub: Subscription) -> None:
    class Plain:
        async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
            return f"plain:{ref}"

        async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
            return None

    article(store, 1, "s_talks")
    post = digest_poster(store, Plain(), sub, SLOT, now=NOW)
    assert asyncio.run(run_digest(store, sub, SLOT, post=post, topics=TOPICS, now=NOW, by="p1")) == "posted"
    assert store.get_slot(sub.id, SLOT).message_ref == f"plain:{digest_ref(sub, SLOT)}"  # type: ignore[union-attr]
    assert store.digest_messages(sub.id, SLOT) == {}


def test_a_claim_that_cannot_be_checked_stays_in_flight_noted_once_and_searched_from_its_slot(
    store: Store, sub: Subscription, caplog: pytest.LogCaptureFixture
) -> None:
    """The platform cannot tell (the bot may post in the channel but not read it): never "not there". The claim
    stays in flight past the grace time, its reason noted and logged once; every pass searches from before the
    slot's first claim, although each pass takes the claim over (and so moves its claim time)."""
    from bot.digests import recover_digest

    article(store, 1, "s_talks")
    poster = Poster(interrupted=1)
    assert run(store, sub, poster) == "retry"
    asked: list[datetime] = []
    readable = False

    async def find(since: datetime) -> str | None:
        asked.append(since)
        if not readable:
            raise HistoryUnreadable("chat: cannot read the history of C1 (not_in_channel)")
        return "msg-found"

    def recover(minutes: int) -> str:
        claim = store.get_slot(sub.id, SLOT)
        assert claim is not None
        return asyncio.run(
            recover_digest(
                store,
                sub,
                claim,
                post=poster,
                find=find,
                topics=TOPICS,
                now=NOW + timedelta(minutes=minutes),
                by="p2",
                grace=timedelta(hours=1),
            )
        )

    with caplog.at_level("DEBUG", logger="newsbrief.digests"):
        assert [recover(m) for m in (3, 20, 40, 90)] == ["skipped"] * 4
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "cannot check" in r.getMessage()]
    assert len(warned) == 1 and "not_in_channel" in warned[0].getMessage()
    claim = store.get_slot(sub.id, SLOT)
    assert claim is not None and claim.outcome is None
    assert claim.note == "chat: cannot read the history of C1 (not_in_channel)"
    assert poster.posted == [] and store.posted_story_counts(sub.id) == {}

    readable = True  # the bot was invited: the digest posted before the first pass is found, not posted again
    assert recover(120) == "posted" and poster.posted == []
    assert asked == [NOW - SEARCH_MARGIN] * 5


# ---------------------------------------------------------------------------------------------- templates and mode


def test_a_digest_carries_its_subscriptions_template(store: Store) -> None:
    article(store, 1, "s_talks")
    terse = parse_templates({"terse": {"base": "headlines"}})
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="daily 08:00", tz="UTC", now=NOW - timedelta(days=1), template="terse"
    )
    poster = Poster()

    outcome = asyncio.run(run_digest(store, sub, SLOT, post=poster, topics=TOPICS, now=NOW, by="test", templates=terse))

    assert outcome == "posted"
    [posted] = poster.posted
    assert posted.template == terse["terse"]
    gone = store.update_subscription_options(sub.id, template="removed-from-config", mode="digest")
    article(store, 2, "s_other")
    previewed = build_digest(store, gone, topics=TOPICS, now=NOW, templates=terse)
    assert previewed is not None and previewed.template == FULL  # a template no longer configured: the full one


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"template": "fancy"},
            "subscriptions[0].template: unknown template 'fancy' (templates: full, compact, headlines)",
        ),
        ({"mode": "stream"}, "subscriptions[0].mode: expected digest or items, got 'stream'"),
        (
            {"mode": "items", "schedule": "hourly"},
            "subscriptions[0].schedule: items mode posts each article as it comes",
        ),
    ],
)
def test_config_subscription_template_and_mode_errors_name_the_key(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(settings({"platform": "slack", "channel": "C", "topic": "ukraine", **entry}))
    assert str(caught.value).startswith("nb.toml: ")
    assert message in str(caught.value)


def test_sync_config_subscriptions_takes_the_template_and_mode(store: Store) -> None:
    entry: dict[str, object] = {"platform": "console", "channel": "console", "topic": "floods", "template": "Compact"}
    (synced,) = sync_config_subscriptions(store, settings(entry), now=NOW)
    assert (synced.template, synced.mode) == ("compact", "digest")
    items: dict[str, object] = {"platform": "console", "channel": "console", "topic": "floods", "mode": "items"}
    (changed,) = sync_config_subscriptions(store, settings(items), now=NOW)
    assert (changed.id, changed.template, changed.mode, changed.items) == (synced.id, None, "items", True)
