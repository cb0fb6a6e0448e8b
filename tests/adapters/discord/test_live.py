"""Live story alerts on Discord (bot/alerts.py through the Discord adapter and the real discord.py against the
loopback fake Discord): posted once with its marker in the embed footer, edited in place (message PATCH),
follow-ups as replies (message_reference), and a crash between send and ledger recovered by looking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import discord
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.alerts import AlertMessage, AlertsReport, LiveSettings, alert_marker, run_alerts
from bot.commands import RateLimiter
from bot.config import settings_from_mapping
from bot.store import Store, Subscription
from testkit import chat_helpers
from testkit.chat_helpers import NOW, TOPICS, texts
from testkit.fakediscord import MESSAGE_REPLY, FakeDiscord

store = chat_helpers.store  # the fixture: a fresh SQLite store
GUILD, TEXT = "1100000000000000001", "1100000000000000002"
LIVE = LiveSettings()


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=500) as server:
        server.add_guild(GUILD)
        server.add_channel(TEXT, GUILD, "news")
        with server.patch_discord_py():
            yield server


@pytest.fixture
async def connected(fake: FakeDiscord, store: Store) -> AsyncIterator[DiscordAdapter]:
    settings = settings_from_mapping({"topics": TOPICS, "discord": {"api_url": fake.api_url, "guilds": [int(GUILD)]}})
    adapter = DiscordAdapter(
        store=store,
        clock=lambda: NOW,
        token="discord-test-token",
        guild_ready_timeout=0.05,
        settings=settings,
        limiter=RateLimiter(10),
    )
    await adapter.start()
    yield adapter
    await adapter.close()


def report(store: Store, n: int, story: str, when: datetime, *, follows: str | None = None, title: str = "") -> None:
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/{story}/{n}",
        title=title or "Talks on Ukraine resume in Geneva",
        outlet=f"outlet{n}.example",
        now=when,
        text=f"Negotiators from Kyiv met in Geneva (report {n}). The talks lasted six hours.",
        summary={"sentences": [f"Negotiators from Kyiv met in Geneva (report {n})."], "quotes": []},
    )
    store.assign_story(stored.id, story, when, follows=follows)


def live_sub(store: Store) -> Subscription:
    return store.add_subscription(
        "discord", TEXT, "ukraine", schedule="live", tz="UTC", now=NOW - timedelta(hours=2), by="U1"
    )


async def round_at(store: Store, adapter: DiscordAdapter, now: datetime) -> AlertsReport:
    return await run_alerts(store, {"discord": adapter}, topics=TOPICS, now=now, by="p1", live=LIVE)


async def test_posted_once_then_edited_in_place(fake: FakeDiscord, store: Store, connected: DiscordAdapter) -> None:
    live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    assert (await round_at(store, connected, NOW)).posted == ["s-talks"]
    assert (await round_at(store, connected, NOW + timedelta(minutes=1))).posted == []
    (message,) = fake.messages(TEXT)
    assert message["allowed_mentions"]["parse"] == [] and message["edited_timestamp"] is None
    assert "live:s-talks" in message["embeds"][0]["footer"]["text"].split(" · ")
    report(store, 2, "s-talks", NOW + timedelta(minutes=1))
    assert (await round_at(store, connected, NOW + timedelta(minutes=2))).edited == []  # coalesced
    assert (await round_at(store, connected, NOW + timedelta(minutes=6))).edited == ["s-talks"]
    (edited,) = fake.messages(TEXT)
    assert edited["id"] == message["id"] and edited["edited_timestamp"] is not None
    assert any("2 outlets" in t for t in texts(edited["embeds"]))
    assert len(fake.calls_to("PATCH", f"/api/v10/channels/{TEXT}/messages/{message['id']}")) == 1


async def test_a_follow_up_is_a_reply_to_its_storys_message(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    await round_at(store, connected, NOW)
    report(store, 2, "s-deal", NOW, follows="s-talks", title="Kyiv talks in Geneva end in a deal")
    assert (await round_at(store, connected, NOW + timedelta(minutes=3))).replies == ["s-deal"]
    parent, reply = fake.messages(TEXT)
    assert reply["type"] == MESSAGE_REPLY
    assert reply["message_reference"]["message_id"] == parent["id"]
    assert reply["referenced_message"]["id"] == parent["id"]


async def test_a_reply_to_an_unknown_message_is_refused_as_documented(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    sub = live_sub(store)
    channel = await connected.client.fetch_channel(int(TEXT))
    with pytest.raises(Exception, match="Unknown message"):
        await channel.send(  # type: ignore[union-attr]
            "hi", reference=discord.MessageReference(message_id=1100000000000000999, channel_id=int(TEXT))
        )
    # fail_if_not_exists=False (as the adapter sends it): posted as a plain message
    posted = await connected.post_alert(
        sub,
        AlertMessage(
            topic="ukraine", marker="live-more:x", headlines=("a",), thread_ref="discord:1:1100000000000000999"
        ),
    )
    (message,) = fake.messages(TEXT)
    assert posted.endswith(message["id"]) and "message_reference" not in message


async def test_a_crash_between_send_and_ledger_is_recovered_by_looking(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    sub = live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    report(store, 1, "s-talks1", NOW - timedelta(minutes=10), title="Kyiv talks: a second story")
    at = NOW + timedelta(minutes=3)
    marker = alert_marker("s-talks")
    assert store.claim_alert(sub.id, "discord", TEXT, "s-talks", marker=marker, by="dead", now=at)
    posted = await connected.post_alert(sub, AlertMessage(topic="ukraine", marker=marker))  # then the process died
    result = await round_at(store, connected, at + LIVE.recover_after + timedelta(seconds=1))
    assert result.recovered == ["s-talks"] and result.posted == ["s-talks1"]
    assert len(fake.messages(TEXT)) == 2  # the recovered one was not posted again
    alert = store.get_alert("discord", TEXT, "s-talks")
    assert alert is not None and alert.state == "posted" and alert.message_ref == posted
