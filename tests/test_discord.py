"""The Discord adapter (bot/adapters/discord) driving the real discord.py client against a loopback fake Discord
(REST and gateway): commands synced, ``/brief`` deferred then followed up, Manage Channels for subscribing,
embeds with no mentions allowed, nonces, forum posts, pausing errors, and exactly once across a crash between
send and ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord import DiscordAdapter, check_discord
from bot.briefing import Briefing
from bot.commands import RateLimiter
from bot.config import Settings, settings_from_mapping
from bot.digests import digest_ref, run_digest, slot_key
from bot.scheduler import SchedulerOptions
from bot.store import Store, Subscription
from tests import chat_helpers
from tests.chat_helpers import NOW, TOPICS, article, cli_setup, daily_digest_due, new_leader_pass, story, texts
from tests.fakediscord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord

store = chat_helpers.store  # the fixture: a fresh SQLite store
GUILD, TEXT, FORUM = "1100000000000000001", "1100000000000000002", "1100000000000000003"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=500) as server:
        server.add_guild(GUILD)
        server.add_channel(TEXT, GUILD, "news")
        server.add_channel(FORUM, GUILD, "digests", type=15)
        with server.patch_discord_py():  # restores discord.py's REST base and gateway after the test
            yield server


def settings_for(fake: FakeDiscord) -> Settings:
    return settings_from_mapping({"topics": TOPICS, "discord": {"api_url": fake.api_url, "guilds": [int(GUILD)]}})


def adapter_for(store: Store, fake: FakeDiscord) -> DiscordAdapter:
    return DiscordAdapter(settings=settings_for(fake), store=store, limiter=RateLimiter(10), clock=lambda: NOW,
                          token="discord-test-token", guild_ready_timeout=0.05)  # fmt: skip


@pytest.fixture
async def connected(fake: FakeDiscord, store: Store) -> AsyncIterator[DiscordAdapter]:
    adapter = adapter_for(store, fake)
    await adapter.start()
    yield adapter
    await adapter.close()


def subscription(store: Store, channel: str = TEXT) -> Subscription:
    return store.add_subscription("discord", channel, "ukraine", schedule="hourly", tz="UTC",
                                  now=NOW - timedelta(days=1), by="test")  # fmt: skip


# ---------------------------------------------------------------------------------------------- commands


async def test_commands_are_synced_to_the_configured_guild(fake: FakeDiscord, connected: DiscordAdapter) -> None:
    commands = {c["name"]: c for c in fake.commands(GUILD)}
    assert {"brief", "brief-subscribe", "brief-unsubscribe", "brief-list"} <= set(commands)
    assert commands["brief-subscribe"]["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert commands["brief"]["options"][0]["name"] == "topic" and commands["brief"]["options"][0]["autocomplete"]


async def test_brief_is_deferred_then_followed_up_without_mentions(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    article(store, 1, title="@everyone Talks on Ukraine resume <@123456789012345678>")
    article(store, 2, title="Talks on Ukraine resume in Geneva")
    handle = await _interaction(fake, "brief", {"topic": "ukraine"})
    callback = await _wait(handle.wait_callback)
    assert callback.type == 5  # deferred: a slow briefing never misses the 3 s
    assert handle.callback_latency is not None and handle.callback_latency < 3
    (followup,) = await _wait(handle.wait_followups, 1)
    assert followup.allowed_mentions == {"parse": []}
    shown = [*texts(followup.embeds), followup.content or ""]
    assert any("Talks on Ukraine resume" in t for t in shown)
    assert not any("@everyone" in t or "<@123456789012345678>" in t for t in shown)


@pytest.mark.parametrize(("topic", "expected"), [("help", "/brief subscribe"), ("", "Usage")])
async def test_help_and_bad_usage_answer_the_asker_only(
    fake: FakeDiscord, connected: DiscordAdapter, topic: str, expected: str
) -> None:
    handle = await _interaction(fake, "brief", {"topic": topic or " "})
    callback = await _wait(handle.wait_callback)
    assert callback.type == 4 and callback.ephemeral
    assert expected in json.dumps(callback.data)


async def test_subscribing_needs_manage_channels(fake: FakeDiscord, store: Store, connected: DiscordAdapter) -> None:
    # strict=False: a server whose admins opened the command to everyone; the run-time check still refuses
    refused = await _interaction(fake, "brief-subscribe", {"topic": "ukraine"}, permissions=MEMBER_PERMISSIONS,
                                 strict=False)  # fmt: skip
    callback = await _wait(refused.wait_callback)
    assert callback.ephemeral and "channel-manager rights" in json.dumps(callback.data)
    assert store.list_subscriptions() == []
    allowed = await _interaction(fake, "brief-subscribe", {"topic": "ukraine", "schedule": "daily 08:00",
                                                           "tz": "Europe/Berlin"},
                                 permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS)  # fmt: skip
    await _wait(allowed.wait_callback)
    (sub,) = store.list_subscriptions()
    assert (sub.platform, sub.channel, sub.schedule, sub.tz) == ("discord", TEXT, "daily 08:00", "Europe/Berlin")
    listing = await _interaction(fake, "brief-list")
    assert "daily 08:00" in json.dumps((await _wait(listing.wait_callback)).data)


async def test_topic_autocomplete_offers_the_configured_topics(fake: FakeDiscord, connected: DiscordAdapter) -> None:
    handle = await _autocomplete(fake, "brief", "topic", "uk")
    callback = await _wait(handle.wait_callback)
    assert callback.type == 8 and [c["value"] for c in callback.choices] == ["ukraine"]


# ----------------------------------------------------------------------------------------------- digests


async def test_digest_is_sent_with_a_nonce_no_mentions_and_found_again(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    article(store, 1)
    sub = subscription(store)
    key = slot_key(NOW)
    ref = digest_ref(sub, key)
    outcome = await run_digest(store, sub, key, post=lambda b: connected.post_digest(sub, b, ref), topics=TOPICS,
                               now=NOW, by="test")  # fmt: skip
    assert outcome == "posted"
    (message,) = fake.messages(TEXT)
    assert message["nonce"] and len(message["nonce"]) <= 25
    assert message["allowed_mentions"]["parse"] == []
    assert all(ref in e["footer"]["text"] for e in message["embeds"])
    found = await connected.find_digest(sub, ref, NOW - timedelta(hours=1))
    assert found == f"discord:{TEXT}:{message['id']}"
    # a retry of the same message (same slot, same part) is deduplicated by Discord through the nonce
    again = await connected.post_digest(sub, _briefing_of(store, sub), ref)
    assert again == found and len(fake.messages(TEXT)) == 1


async def test_a_forum_channel_gets_a_post_per_digest(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    article(store, 1)
    sub = subscription(store, FORUM)
    ref = digest_ref(sub, slot_key(NOW))
    assert await run_digest(store, sub, slot_key(NOW), post=lambda b: connected.post_digest(sub, b, ref),
                            topics=TOPICS, now=NOW, by="test") == "posted"  # fmt: skip
    threads = [c for c in fake.calls_to("POST", f"/api/v10/channels/{FORUM}/threads")]
    assert len(threads) == 1 and threads[0].json["name"] == "ukraine digest"


@pytest.mark.parametrize("trouble", ["forbidden", "deleted"])
async def test_missing_permissions_or_a_deleted_channel_pause_the_subscription(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter, trouble: str
) -> None:
    article(store, 1)
    sub = subscription(store)
    if trouble == "forbidden":
        fake.restrict_channel(TEXT, 50013)
    else:
        fake.remove_channel(TEXT)
    outcome = await run_digest(store, sub, slot_key(NOW), post=lambda b: connected.post_digest(sub, b, "r"),
                               topics=TOPICS, now=NOW, by="test")  # fmt: skip
    assert outcome == "failed"
    paused = store.get_subscription(sub.id)
    assert paused is not None and paused.paused and "discord:" in (paused.paused_reason or "")


def claimed_by_a_dead_leader(store: Store, channel: str) -> tuple[Subscription, datetime, str]:
    """A daily subscription whose slot ten minutes ago was claimed by a process that then died; one article."""
    sub, slot, key = daily_digest_due(store, "discord", channel)
    assert store.claim_slot(sub.id, key, by="dead-leader", now=slot)
    return sub, slot, key


async def test_a_crash_between_send_and_ledger_does_not_post_twice(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    sub, _slot, key = claimed_by_a_dead_leader(store, TEXT)
    await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, key))  # then the process died
    settings = settings_for(fake)
    await new_leader_pass(store, settings, {"discord": connected}, SchedulerOptions())
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(fake.messages(TEXT)) == 1 and claim.message_ref == f"discord:{TEXT}:{fake.messages(TEXT)[0]['id']}"


@pytest.mark.parametrize(("status", "times"), [(503, 1), (429, 5)], ids=["503", "429-five-times"])
async def test_a_server_error_is_looked_for_then_posted_once_by_recovery(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter, status: int, times: int
) -> None:
    """Discord answers 503 (which discord.py does not retry), or 429 more often than discord.py tries: the slot
    stays in flight ("retry"); the next recovery pass finds no such message in the channel history and posts the
    digest, once."""
    sub, slot, key = daily_digest_due(store, "discord", TEXT)
    fake.fail_next("POST", f"/channels/{TEXT}/messages", status=status, times=times)
    outcome = await run_digest(store, sub, key, post=lambda b: connected.post_digest(sub, b, digest_ref(sub, key)),
                               topics=TOPICS, now=slot, by="first-leader")  # fmt: skip
    assert outcome == "retry" and fake.messages(TEXT) == []
    await new_leader_pass(store, settings_for(fake), {"discord": connected}, SchedulerOptions())
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(fake.messages(TEXT)) == 1 and claim.message_ref == f"discord:{TEXT}:{fake.messages(TEXT)[0]['id']}"


@pytest.mark.parametrize("applied", [False, True], ids=["lost", "answer-lost"])
async def test_a_later_message_interrupted_is_sent_again_in_place_once(
    fake: FakeDiscord, store: Store, applied: bool
) -> None:
    """Message 2 of a split digest answered 503 (``answer-lost``: Discord posted it and failed to say so): it is
    sent again with the same nonce, so the digest ends up whole, each message once."""
    sub = subscription(store)
    adapter = DiscordAdapter(settings=settings_for(fake), store=store, limiter=RateLimiter(10), clock=lambda: NOW,
                             token="discord-test-token", guild_ready_timeout=0.05,
                             part_retry_delays=(0.0, 0.0))  # fmt: skip
    await adapter.start()
    try:
        digest = Briefing(query="ukraine", generated_at=NOW, stories=tuple(story(n) for n in range(1, 26)), more=0,
                          window_hours=24, topic="ukraine")  # fmt: skip
        fake.fail_next("POST", f"/channels/{TEXT}/messages", status=503, after=1, applied=applied)
        posted = await adapter.post_digest(sub, digest, "sub:1:s1")
    finally:
        await adapter.close()
    nonces = [m["nonce"] for m in fake.messages(TEXT)]
    assert len(nonces) >= 3 and len(set(nonces)) == len(nonces)  # every part there, once
    assert posted == f"discord:{TEXT}:{fake.messages(TEXT)[0]['id']}"
    assert len(fake.calls_to("POST", f"/channels/{TEXT}/messages")) == len(nonces) + 1


async def test_a_crash_after_a_forum_post_does_not_open_a_second_post(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    sub, slot, key = claimed_by_a_dead_leader(store, FORUM)
    # an older digest post of ours and someone else's post: neither is this slot's
    await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, slot_key(slot - timedelta(days=1))))
    fake.add_channel("1100000000000000009", GUILD, "chat about the digest", type=11, parent_id=FORUM,
                     owner_id="1100000000000000042", message_count=0, member_count=1,
                     thread_metadata={"archived": False, "auto_archive_duration": 4320, "locked": False,
                                      "archive_timestamp": "2024-05-01T11:55:00+00:00"})  # fmt: skip
    posted = await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, key))  # then it died
    await connected.close()
    restarted = adapter_for(store, fake)  # the next process: its client learns the forum's posts from the gateway
    await restarted.start()
    try:
        assert await restarted.find_digest(sub, digest_ref(sub, key), slot - timedelta(hours=1)) == posted
        await new_leader_pass(store, settings_for(fake), {"discord": restarted}, SchedulerOptions())
    finally:
        await restarted.close()
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted" and claim.message_ref == posted
    assert len(fake.calls_to("POST", f"/api/v10/channels/{FORUM}/threads")) == 2


async def test_doctor_check_names_the_bot_and_prints_the_invite_url(fake: FakeDiscord) -> None:
    ok, lines = await check_discord(settings_for(fake), "discord-test-token")
    assert ok and "token ok" in lines[0]
    assert any("oauth2/authorize" in line and fake.app_id in line and "applications.commands" in line
               for line in lines)  # fmt: skip
    fake.valid_tokens = {"another-token"}
    ok, lines = await check_discord(settings_for(fake), "discord-test-token")
    assert not ok and "refused" in lines[0] and all("discord-test-token" not in line for line in lines)


# ------------------------------------------------------------------------------------------------ helpers


def _briefing_of(store: Store, sub: Subscription) -> Briefing:
    from bot.briefing import make_briefing

    result = make_briefing(store, sub.topic, topics=TOPICS, now=NOW)
    assert isinstance(result, Briefing)
    return result


async def _interaction(fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(lambda: fake.interaction(name, options, guild_id=GUILD, channel_id=TEXT, **kwargs))


async def _autocomplete(fake: FakeDiscord, name: str, option: str, value: str) -> Any:
    import asyncio

    return await asyncio.to_thread(lambda: fake.autocomplete(name, {option: value}, focused=option, guild_id=GUILD,
                                                             channel_id=TEXT))  # fmt: skip


async def _wait(wait: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(wait, *args)


def test_cli_digest_posts_a_discord_subscription(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.__main__ import main

    with cli_setup(tmp_path, "discord", fake.api_url) as (config, store):
        sub = subscription(store)
    monkeypatch.setenv("DISCORD_TOKEN", "discord-cli-token")
    assert main(["--config", str(config), "digest", str(sub.id)]) == 0
    (message,) = fake.messages(TEXT)
    assert any(f"sub:{sub.id}:" in e["footer"]["text"] for e in message["embeds"])
    assert fake.calls_to("PUT", "/applications") == []  # posting from the CLI syncs no commands
