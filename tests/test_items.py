"""Items mode: each new matching article posted once per channel, across feeds, subscriptions and processes, on
every backend; through the console adapter and the Slack loopback fake."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from bot.adapters.console import ConsoleAdapter
from bot.adapters.slack import SlackAdapter
from bot.briefing import Item
from bot.commands import RateLimiter, Reply
from bot.config import settings_from_mapping
from bot.digests import ChannelUnavailable
from bot.items import ItemsOutcome, item_keys, new_items, run_items, run_items_round
from bot.store import Store, Subscription
from testkit.fakeslack import FakeSlack

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {"releases": "release", "floods": "flood"}
CREATED = NOW - timedelta(hours=3)


class Recorder:
    """An item channel that records what it posted (``fail``: the next posts raise it)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.posted: list[tuple[str, str, str]] = []
        self.fail = fail

    async def post_item(self, subscription: Subscription, item: Item, ref: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.posted.append((subscription.channel, item.headline, item.url))
        return f"m{len(self.posted)}"


def release(store: Store, feed_id: int, url: str, title: str, *, hours_ago: float = 1, **kw: Any) -> str:
    stored, _ = store.upsert_article(
        url=url,
        title=title,
        outlet=kw.pop("outlet", "Status"),
        text=f"{title}: the details, from {url}.",
        now=NOW - timedelta(hours=hours_ago),
        feed_id=feed_id,
        **kw,
    )
    return stored.id


def seed(store: Store) -> tuple[int, int]:
    """Two feeds: one release carried by both (one URL), the same release under a mirror URL (same title and
    outlet), a second release, an old one (before the subscriptions), a backlog entry and an unrelated article."""
    a = store.add_feed("https://a.example/feed", now=NOW - timedelta(days=2), tags=("status",))
    b = store.add_feed("https://b.example/feed", now=NOW - timedelta(days=2))
    release(store, a.id, "https://status.example/r/2.1", "Release 2.1 is out", hours_ago=2)
    release(store, b.id, "https://status.example/r/2.1", "Release 2.1 is out", hours_ago=2)
    release(store, b.id, "https://mirror.example/status/2.1", "Release  2.1 is OUT", hours_ago=1.5)
    release(store, a.id, "https://status.example/r/2.2", "Release 2.2 is out", hours_ago=1)
    release(store, a.id, "https://status.example/r/2.0", "Release 2.0 is out", hours_ago=30)
    release(store, b.id, "https://status.example/r/1.9", "Release 1.9 notes", hours_ago=1, eligible=False)
    release(store, a.id, "https://news.example/flood", "Flood warning lifted", outlet="News")
    return a.id, b.id


def items_sub(store: Store, channel: str = "C1", topic: str = "releases", **kw: Any) -> Subscription:
    return store.add_subscription(
        "slack", channel, topic, schedule="daily 08:00", tz="UTC", now=CREATED, mode="items", **kw
    )


def test_keys_are_the_url_and_the_title_with_the_outlet(store: Store) -> None:
    seed(store)
    one = store.get_article("https://status.example/r/2.1")
    mirror = store.get_article("https://mirror.example/status/2.1")
    assert one is not None and mirror is not None
    url_one, title_one = item_keys(one)
    url_mirror, title_mirror = item_keys(mirror)
    assert url_one != url_mirror and title_one == title_mirror  # same title (case, spaces aside) and outlet
    assert all(len(k) <= 64 for k in (*item_keys(one), *item_keys(mirror)))


def test_new_items_are_the_eligible_matches_since_the_subscription_oldest_first(store: Store) -> None:
    seed(store)
    sub = items_sub(store)

    found = new_items(store, sub, topics=TOPICS, now=NOW)

    assert [a.url for a in found] == [
        "https://status.example/r/2.1",
        "https://mirror.example/status/2.1",
        "https://status.example/r/2.2",
    ]


def test_items_are_posted_once_per_channel_across_feeds_subscriptions_and_stores(store_url: str) -> None:
    """Two processes (two stores on one database) run rounds for two items subscriptions of one channel and one of
    another channel: each release reaches each channel once; the mirror of 2.1 never does."""
    with Store(store_url) as one, Store(store_url) as two:
        one.upgrade()
        two.upgrade()
        seed(one)
        first = items_sub(one)
        second = items_sub(two, topic="floods")  # same channel, another topic: its flood item is its own
        other = items_sub(one, channel="C2", sources=("tag:status",))  # only feed a: the mirror is not there
        channel = Recorder()

        async def rounds() -> list[dict[int, ItemsOutcome]]:
            return list(
                await asyncio.gather(
                    run_items_round(one, {"slack": channel}, topics=TOPICS, now=NOW, by="p1"),
                    run_items_round(two, {"slack": channel}, topics=TOPICS, now=NOW, by="p2"),
                )
            )

        asyncio.run(rounds())
        asyncio.run(rounds())  # and again: nothing new

        assert sorted(channel.posted) == [
            ("C1", "Flood warning lifted", "https://news.example/flood"),
            ("C1", "Release 2.1 is out", "https://status.example/r/2.1"),
            ("C1", "Release 2.2 is out", "https://status.example/r/2.2"),
            ("C2", "Release 2.1 is out", "https://status.example/r/2.1"),
            ("C2", "Release 2.2 is out", "https://status.example/r/2.2"),
        ]
        ledger = two.posted_items("slack", "C1")
        assert len(ledger) == 3 and all(p.message_ref and p.posted_at == NOW for p in ledger)
        assert {p.subscription_id for p in ledger} == {first.id, second.id}
        assert {p.subscription_id for p in one.posted_items("slack", "C2")} == {other.id}


def test_a_failed_post_is_tried_again_and_a_gone_channel_pauses(store: Store) -> None:
    seed(store)
    sub = items_sub(store)
    failing = Recorder(fail=RuntimeError("slack is down"))

    outcome = asyncio.run(run_items(store, sub, failing, topics=TOPICS, now=NOW, by="t"))

    assert outcome == ItemsOutcome(posted=0, skipped=0, failed=1)
    assert store.posted_items("slack", "C1") == []  # the claim was released
    working = Recorder()
    assert asyncio.run(run_items(store, sub, working, topics=TOPICS, now=NOW, by="t")).posted == 2
    gone = items_sub(store, channel="C9")
    outcome = asyncio.run(
        run_items(store, gone, Recorder(fail=ChannelUnavailable("channel_not_found")), topics=TOPICS, now=NOW, by="t")
    )
    assert outcome.failed == 1
    paused = store.get_subscription(gone.id)
    assert paused is not None and paused.paused and paused.paused_reason == "channel_not_found"
    assert asyncio.run(run_items_round(store, {"slack": working}, topics=TOPICS, now=NOW, by="t")) == {
        sub.id: ItemsOutcome(skipped=3)
    }  # the paused subscription is left out; the first one's two releases (and 2.1's mirror) are in C1 already


def test_digest_subscriptions_and_channels_without_items_are_left_alone(store: Store) -> None:
    seed(store)
    store.add_subscription("slack", "C1", "releases", schedule="hourly", tz="UTC", now=CREATED)
    items_sub(store, channel="D1")  # an items subscription of a platform without an item channel here

    outcomes = asyncio.run(run_items_round(store, {"discord": object()}, topics=TOPICS, now=NOW, by="t"))

    assert outcomes == {}
    assert store.posted_items("slack", "C1") == []


# ------------------------------------------------------------------------------------------------- adapters


@pytest.fixture
def sqlite(tmp_path: Any) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path}/nb.db") as s:
        s.upgrade()
        yield s


def test_the_console_prints_each_item_once(sqlite: Store) -> None:
    seed(sqlite)
    sub = sqlite.add_subscription(
        "console", "console", "releases", schedule="daily 08:00", tz="UTC", now=CREATED, mode="items"
    )
    out = io.StringIO()
    adapter = ConsoleAdapter(
        io.StringIO(), Console(file=out, width=200, color_system=None), lambda text: Reply(kind="text", text=text)
    )

    for _ in range(2):
        asyncio.run(run_items_round(sqlite, {"console": adapter}, topics=TOPICS, now=NOW, by="t"))

    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines == [
        "[releases → console] • Release 2.1 is out — Status <https://status.example/r/2.1>",
        "[releases → console] • Release 2.2 is out — Status <https://status.example/r/2.2>",
    ]
    assert [p.subscription_id for p in sqlite.posted_items("console", "console")] == [sub.id, sub.id]


def test_slack_gets_each_item_once_as_one_compact_message(sqlite: Store) -> None:
    seed(sqlite)
    items_sub(sqlite)
    with FakeSlack(ts_base=int(datetime.now(UTC).timestamp())) as slack:
        settings = settings_from_mapping({"topics": TOPICS, "slack": {"api_url": slack.api_url}})
        adapter = SlackAdapter(
            settings=settings,
            store=sqlite,
            limiter=RateLimiter(10),
            clock=lambda: NOW,
            bot_token="xoxb-test",
            post_only=True,
        )

        async def twice() -> None:
            for _ in range(2):
                await run_items_round(sqlite, {"slack": adapter}, topics=TOPICS, now=NOW, by="t")

        asyncio.run(twice())
        messages = slack.messages("C1")

    assert [m["blocks"][0]["text"]["text"] for m in messages] == [
        "• <https://status.example/r/2.1|Release 2.1 is out> — Status",
        "• <https://status.example/r/2.2|Release 2.2 is out> — Status",
    ]
    assert [m["text"] for m in messages] == ["Release 2.1 is out — Status", "Release 2.2 is out — Status"]
    assert all(m["metadata"]["event_payload"]["ref"].startswith("item:") for m in messages)
    assert {p.message_ref for p in sqlite.posted_items("slack", "C1")} == {f"slack:C1:{m['ts']}" for m in messages}
