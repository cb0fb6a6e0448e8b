"""The Discord adapter (bot/adapters/discord) driving the real discord.py client against a loopback fake Discord
(REST and gateway): commands synced, ``/brief`` deferred then followed up, Manage Channels for subscribing,
embeds with no mentions allowed, nonces, forum posts, pausing errors, and exactly once across a crash between
send and ledger."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import pytest

from bot.adapters import PART_RETRY_DELAYS_S
from bot.adapters.discord import DiscordAdapter, DiscordSetupError, check_discord
from bot.briefing import Briefing
from bot.commands import RateLimiter
from bot.config import SchedulerConfig, Settings, settings_from_mapping
from bot.digests import digest_poster, digest_ref, run_digest, slot_key
from bot.items import run_items_round
from bot.store import Store, Subscription
from testkit import chat_helpers
from testkit.chat_helpers import (
    NOW,
    TOPICS,
    FakeTime,
    article,
    cli_setup,
    daily_digest_due,
    new_leader_pass,
    story,
    texts,
)
from testkit.fakediscord import (
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES_IN_THREADS,
    FakeDiscord,
    Op,
)

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


def adapter_for(store: Store, fake: FakeDiscord, **options: Any) -> DiscordAdapter:
    options = {"settings": settings_for(fake), "limiter": RateLimiter(10), **options}
    return DiscordAdapter(
        store=store, clock=lambda: NOW, token="discord-test-token", guild_ready_timeout=0.05, **options
    )


@pytest.fixture
async def connected(fake: FakeDiscord, store: Store) -> AsyncIterator[DiscordAdapter]:
    adapter = adapter_for(store, fake)
    await adapter.start()
    yield adapter
    await adapter.close()


def subscription(store: Store, channel: str = TEXT) -> Subscription:
    return store.add_subscription(
        "discord", channel, "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )


# ---------------------------------------------------------------------------------------------- commands


async def test_commands_are_synced_to_the_configured_guild(fake: FakeDiscord, connected: DiscordAdapter) -> None:
    commands = {c["name"]: c for c in fake.commands(GUILD)}
    assert {"brief", "brief-subscribe", "brief-unsubscribe", "brief-list"} <= set(commands)
    assert commands["brief-subscribe"]["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert commands["brief"]["options"][0]["name"] == "topic" and commands["brief"]["options"][0]["autocomplete"]


@pytest.mark.parametrize("answer_within", [0.0, 30.0], ids=["slow-deferred", "fast-answered-at-once"])
async def test_a_briefing_is_shown_to_the_channel_without_mentions(
    fake: FakeDiscord, store: Store, answer_within: float
) -> None:
    """A briefing ready in time is the response itself; a slower one (``answer_within`` 0: every answer is late)
    is deferred publicly, so the 3 s are never missed, then followed up. Either way the channel sees it."""
    article(store, 1, title="@everyone Talks on Ukraine resume <@123456789012345678>")
    article(store, 2, title="Talks on Ukraine resume in Geneva")
    async with _running(adapter_for(store, fake, answer_within=answer_within)):
        handle = await _interaction(fake, "brief", {"topic": "ukraine"})
        callback = await _wait(handle.wait_callback)
        assert callback.type == (5 if answer_within == 0 else 4) and not callback.ephemeral
        assert handle.callback_latency is not None and handle.callback_latency < 3
        if callback.type == 5:
            (followup,) = await _wait(handle.wait_followups, 1)
            body, mentions = followup.body, followup.allowed_mentions
        else:
            body, mentions = callback.data or {}, (callback.data or {}).get("allowed_mentions")
    assert mentions == {"parse": []}
    shown = texts(body)
    assert any("Talks on Ukraine resume" in t for t in shown)
    assert not any("@everyone" in t or "<@123456789012345678>" in t for t in shown)
    (message,) = [m for m in fake.messages(TEXT) if m["type"] == 20]  # in the channel, for everyone
    assert any("Talks on Ukraine resume" in t for t in texts(message["embeds"]))


@pytest.mark.parametrize("case", ["rate-limited", "no-match", "no-match-late", "failure-late"])
async def test_errors_and_hints_are_shown_to_the_asker_only(fake: FakeDiscord, store: Store, case: str) -> None:
    """Discord shows the first follow-up after a public deferral to everyone, whatever its flags say. A rate
    limit or a search that matched nothing, answered in time, is an ephemeral response; one that comes late (after
    the public deferral of a /brief) turns the placeholder into a note, goes to the asker in an ephemeral
    follow-up, and the placeholder is deleted: the channel never shows it."""
    article(store, 1)
    late = case.endswith("-late")
    broken = _BrokenStore(store) if case == "failure-late" else store
    adapter = adapter_for(broken, fake, limiter=RateLimiter(1), answer_within=0.0 if late else 30.0)  # type: ignore[arg-type]
    async with _running(adapter):
        if case == "rate-limited":
            first = await _interaction(fake, "brief", {"topic": "ukraine"})
            assert not (await _wait(first.wait_callback)).ephemeral  # the first briefing: public
        query = "ukraine" if case in ("rate-limited", "failure-late") else "zebra crossings"
        handle = await _interaction(fake, "brief", {"topic": query})
        callback = await _wait(handle.wait_callback)
        if late:
            assert callback.type == 5 and not callback.ephemeral  # deferred publicly: most likely a briefing
            (answer,) = await _wait(handle.wait_followups, 1)
            assert answer.shown_ephemeral
            await _wait(lambda: fake.wait_calls("DELETE", f"/webhooks/{fake.app_id}/{handle.token}/messages"))
            said = json.dumps(answer.body)
        else:
            assert callback.type == 4 and callback.ephemeral
            said = json.dumps(callback.data)
    expected = {"rate-limited": "Too many briefings", "failure-late": "Sorry, that failed"}.get(case, "Nothing found")
    assert expected in said
    public = json.dumps([m for m in fake.messages(TEXT) if m["type"] == 20])  # what the channel shows
    assert expected not in public and "Answered privately" not in public


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
    refused = await _interaction(
        fake, "brief-subscribe", {"topic": "ukraine"}, permissions=MEMBER_PERMISSIONS, strict=False
    )
    callback = await _wait(refused.wait_callback)
    assert callback.ephemeral and "channel-manager rights" in json.dumps(callback.data)
    assert store.list_subscriptions() == []
    allowed = await _interaction(
        fake,
        "brief-subscribe",
        {"topic": "ukraine", "schedule": "daily 08:00", "tz": "Europe/Berlin"},
        permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS,
    )
    await _wait(allowed.wait_callback)
    (sub,) = store.list_subscriptions()
    assert (sub.platform, sub.channel, sub.schedule, sub.tz) == ("discord", TEXT, "daily 08:00", "Europe/Berlin")
    listing = await _interaction(fake, "brief-list")
    assert "daily 08:00" in json.dumps((await _wait(listing.wait_callback)).data)


async def test_topic_autocomplete_offers_the_configured_topics(fake: FakeDiscord, connected: DiscordAdapter) -> None:
    handle = await _autocomplete(fake, "brief", "topic", "uk")
    callback = await _wait(handle.wait_callback)
    assert callback.type == 8 and [c["value"] for c in callback.choices] == ["ukraine"]


async def test_topic_autocomplete_stays_within_discord_limits(fake: FakeDiscord, store: Store) -> None:
    """Discord refuses an autocomplete answer with more than 25 choices or a name (or string value) longer than
    100 characters, and the asker then sees no suggestion at all: 30 topics, one of them named in 120
    characters, give 25 choices, none too long; the long one is typed instead."""
    long_name = "a" * 120
    topics = {long_name: "ukraine", **{f"topic-{n:02}": "ukraine" for n in range(30)}}
    settings = settings_from_mapping({"topics": topics, "discord": {"api_url": fake.api_url}})
    async with _running(adapter_for(store, fake, settings=settings)):
        handle = await _autocomplete(fake, "brief", "topic", "")
        choices = (await _wait(handle.wait_callback)).choices
        assert len(choices) == 25 and all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
        only_long = await _autocomplete(fake, "brief", "topic", "aaaa")
        assert (await _wait(only_long.wait_callback)).choices == []


@pytest.mark.parametrize("command", ["brief-subscribe", "brief-unsubscribe", "brief-list"])
async def test_a_slow_store_is_deferred_privately_then_answered(fake: FakeDiscord, store: Store, command: str) -> None:
    """Every command that touches the store answers within Discord's 3 s: a store taking 4 s (released as soon
    as the deferral is seen) gets the interaction deferred privately first, then the answer as a follow-up for
    the asker alone; nothing expires (10062) while the subscription is stored."""
    if command == "brief-unsubscribe":
        store.add_subscription("discord", TEXT, "ukraine", schedule="hourly", tz="UTC", now=NOW, by="test")
    release = threading.Event()
    slow = _SlowStore(store, release)
    options = {"topic": "ukraine"} if command != "brief-list" else None
    try:
        async with _running(adapter_for(slow, fake, answer_within=0.2)):  # type: ignore[arg-type]
            handle = await _interaction(fake, command, options, permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS)
            callback = await _wait(handle.wait_callback, 2.0)
            release.set()
            assert callback.type == 5 and callback.ephemeral
            assert handle.callback_latency is not None and handle.callback_latency < 3
            (answer,) = await _wait(handle.wait_followups, 1)
    finally:
        release.set()
    assert answer.shown_ephemeral
    expected = {
        "brief-subscribe": "Subscribed this channel to ukraine",
        "brief-list": "No subscriptions",
        "brief-unsubscribe": "Unsubscribed this channel from ukraine",
    }[command]
    assert expected in json.dumps(answer.body, ensure_ascii=False)
    assert len(store.list_subscriptions()) == (1 if command == "brief-subscribe" else 0)


# ----------------------------------------------------------------------------------------------- digests


async def test_digest_is_sent_with_a_nonce_no_mentions_and_found_again(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    article(store, 1)
    sub = subscription(store)
    key = slot_key(NOW)
    ref = digest_ref(sub, key)
    outcome = await run_digest(
        store, sub, key, post=lambda b: connected.post_digest(sub, b, ref), topics=TOPICS, now=NOW, by="test"
    )
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
    assert (
        await run_digest(
            store,
            sub,
            slot_key(NOW),
            post=lambda b: connected.post_digest(sub, b, ref),
            topics=TOPICS,
            now=NOW,
            by="test",
        )
        == "posted"
    )
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
    outcome = await run_digest(
        store, sub, slot_key(NOW), post=lambda b: connected.post_digest(sub, b, "r"), topics=TOPICS, now=NOW, by="test"
    )
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
    await new_leader_pass(store, settings, {"discord": connected}, SchedulerConfig())
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
    outcome = await run_digest(
        store,
        sub,
        key,
        post=lambda b: connected.post_digest(sub, b, digest_ref(sub, key)),
        topics=TOPICS,
        now=slot,
        by="first-leader",
    )
    assert outcome == "retry" and fake.messages(TEXT) == []
    await new_leader_pass(store, settings_for(fake), {"discord": connected}, SchedulerConfig())
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(fake.messages(TEXT)) == 1 and claim.message_ref == f"discord:{TEXT}:{fake.messages(TEXT)[0]['id']}"


@pytest.mark.parametrize("applied", [False, True], ids=["lost", "answer-lost"])
async def test_a_later_message_interrupted_is_sent_again_in_place_once(
    fake: FakeDiscord, store: Store, applied: bool
) -> None:
    """Message 2 of a split digest answered 503 (``answer-lost``: Discord posted it and failed to say so): it is
    sent again with the same nonce after the first retry delay (2 s on the injected clock: not really waited), so
    the digest ends up whole, each message once."""
    sub = subscription(store)
    time_ = FakeTime()
    adapter = DiscordAdapter(
        settings=settings_for(fake),
        store=store,
        limiter=RateLimiter(10),
        clock=lambda: NOW,
        token="discord-test-token",
        guild_ready_timeout=0.05,
        sleep=time_.sleep,
    )
    await adapter.start()
    try:
        digest = Briefing(
            query="ukraine",
            generated_at=NOW,
            stories=tuple(story(n) for n in range(1, 26)),
            more=0,
            window_hours=24,
            topic="ukraine",
        )
        fake.fail_next("POST", f"/channels/{TEXT}/messages", status=503, after=1, applied=applied)
        posted = await adapter.post_digest(sub, digest, "sub:1:s1")
    finally:
        await adapter.close()
    nonces = [m["nonce"] for m in fake.messages(TEXT)]
    assert len(nonces) >= 3 and len(set(nonces)) == len(nonces)  # every part there, once
    assert time_.waits == [PART_RETRY_DELAYS_S[0]]
    assert posted == f"discord:{TEXT}:{fake.messages(TEXT)[0]['id']}"
    assert len(fake.calls_to("POST", f"/channels/{TEXT}/messages")) == len(nonces) + 1


async def test_a_crash_after_a_forum_post_does_not_open_a_second_post(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    sub, slot, key = claimed_by_a_dead_leader(store, FORUM)
    # an older digest post of ours and someone else's post: neither is this slot's
    await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, slot_key(slot - timedelta(days=1))))
    fake.add_channel(
        "1100000000000000009",
        GUILD,
        "chat about the digest",
        type=11,
        parent_id=FORUM,
        owner_id="1100000000000000042",
        message_count=0,
        member_count=1,
        thread_metadata={
            "archived": False,
            "auto_archive_duration": 4320,
            "locked": False,
            "archive_timestamp": "2024-05-01T11:55:00+00:00",
        },
    )
    posted = await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, key))  # then it died
    await connected.close()
    restarted = adapter_for(store, fake)  # the next process: its client learns the forum's posts from the gateway
    await restarted.start()
    try:
        assert await restarted.find_digest(sub, digest_ref(sub, key), slot - timedelta(hours=1)) == posted
        await new_leader_pass(store, settings_for(fake), {"discord": restarted}, SchedulerConfig())
    finally:
        await restarted.close()
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted" and claim.message_ref == posted
    assert len(fake.calls_to("POST", f"/api/v10/channels/{FORUM}/threads")) == 2


@pytest.mark.parametrize("applied", [True, False], ids=["made-then-502", "502-not-made"])
async def test_a_server_error_creating_a_forum_post_is_not_sent_again_blindly(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter, applied: bool
) -> None:
    """Discord answers 502 to creating a forum post (``made-then-502``: after it created it). discord.py would
    send the request again by itself, and a forum post carries no nonce; the adapter sends it once, the slot stays
    in flight, and the recovery pass looks for the post before posting: one post either way."""
    sub, slot, key = daily_digest_due(store, "discord", FORUM)
    threads = f"/channels/{FORUM}/threads"
    fake.fail_next("POST", threads, status=502, applied=applied)
    outcome = await run_digest(
        store,
        sub,
        key,
        post=lambda b: connected.post_digest(sub, b, digest_ref(sub, key)),
        topics=TOPICS,
        now=slot,
        by="first-leader",
    )
    assert outcome == "retry" and len(fake.calls_to("POST", threads)) == 1
    await new_leader_pass(store, settings_for(fake), {"discord": connected}, SchedulerConfig())
    claim = store.get_slot(sub.id, key)
    (post,) = [c for c in fake.channels.values() if c.get("parent_id") == FORUM]
    assert claim is not None and claim.outcome == "posted" and claim.message_ref == f"discord:{FORUM}:{post['id']}"
    assert len(fake.calls_to("POST", threads)) == (1 if applied else 2)


@pytest.mark.parametrize("crash", ["minutes", "longer-than-the-nonce-window"])
async def test_a_busy_channel_is_searched_back_to_the_claim(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter, crash: str
) -> None:
    """The process died between posting and recording, in a busy channel: 150 messages by others since the
    claim before the digest, 250 after it (more than a look at the newest 200 would see). Recovery reads
    everything since the claim, page by page, finds the digest and does not send it again: after a crash longer
    than Discord's nonce window (the fake's clock moved past it) the nonce would not have stopped a second copy."""
    sub, _slot, key = claimed_by_a_dead_leader(store, TEXT)
    for n in range(150):
        fake.seed_message(TEXT, f"chatter {n}")
    posted = await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, key))  # then it died
    for n in range(150, 400):
        fake.seed_message(TEXT, f"chatter {n}")
    if crash != "minutes":
        fake.advance(fake.nonce_window + 60)
    await new_leader_pass(store, settings_for(fake), {"discord": connected}, SchedulerConfig())
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted" and claim.message_ref == posted
    assert len(fake.calls_to("POST", f"/channels/{TEXT}/messages")) == 1
    assert len(fake.calls_to("GET", f"/channels/{TEXT}/messages")) == 2  # the digest is on the second page


async def test_a_split_digest_is_found_by_its_first_message(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    """A digest too long for one message: ``find_digest`` returns the first message, which is what posting
    records (the reference of the digest)."""
    sub, _slot, key = claimed_by_a_dead_leader(store, TEXT)
    digest = Briefing(
        query="ukraine",
        generated_at=NOW,
        stories=tuple(story(n) for n in range(1, 26)),
        more=0,
        window_hours=24,
        topic="ukraine",
    )
    posted = await connected.post_digest(sub, digest, digest_ref(sub, key))
    first, *rest = fake.messages(TEXT)
    assert rest and posted == f"discord:{TEXT}:{first['id']}"
    assert await connected.find_digest(sub, digest_ref(sub, key), NOW - timedelta(hours=1)) == posted


async def test_each_message_is_written_down_as_soon_as_discord_returns_it(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    """A digest split over several messages, posted through the scheduler's poster: the ledger holds every
    message id the moment Discord returned it (a crash after any part finds it there, nonce window or not)."""
    sub, _slot, key = claimed_by_a_dead_leader(store, TEXT)
    digest = Briefing(
        query="ukraine",
        generated_at=NOW,
        stories=tuple(story(n) for n in range(1, 26)),
        more=0,
        window_hours=24,
        topic="ukraine",
    )
    posted = await digest_poster(store, connected, sub, key, now=NOW)(digest)
    ids = [m["id"] for m in fake.messages(TEXT)]
    assert len(ids) > 1 and posted == f"discord:{TEXT}:{ids[0]}"
    assert store.digest_messages(sub.id, key) == {n: f"discord:{TEXT}:{i}" for n, i in enumerate(ids, 1)}


async def test_a_channel_that_denies_read_message_history_keeps_the_claim_in_flight(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    """Without Read Message History Discord answers an empty history, which must not read as "not posted":
    after a crash longer than the nonce window, recovery does not post the digest again; the claim stays in
    flight and the log says why (doctor names the permission too)."""
    sub, _slot, key = claimed_by_a_dead_leader(store, TEXT)
    await connected.post_digest(sub, _briefing_of(store, sub), digest_ref(sub, key))  # then it died
    await connected.close()
    fake.set_overwrite(TEXT, fake.bot_user_id, deny=READ_MESSAGE_HISTORY)
    fake.advance(fake.nonce_window + 60)
    with caplog.at_level(logging.WARNING):
        async with _running(adapter_for(store, fake)) as restarted:
            await new_leader_pass(store, settings_for(fake), {"discord": restarted}, SchedulerConfig())
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome is None  # in flight: looked at again on the next pass
    assert len(fake.messages(TEXT)) == 1 and len(fake.calls_to("POST", f"/channels/{TEXT}/messages")) == 1
    assert any("Read Message History" in r.getMessage() for r in caplog.records)


async def test_doctor_names_the_permissions_a_subscribed_channel_lacks(fake: FakeDiscord) -> None:
    fake.set_overwrite(TEXT, fake.bot_user_id, deny=READ_MESSAGE_HISTORY)
    fake.set_overwrite(FORUM, GUILD, deny=SEND_MESSAGES_IN_THREADS, member=False)  # @everyone's overwrite
    unknown = "1100000000000000077"
    ok, lines = await check_discord(settings_for(fake), "discord-test-token", [TEXT, FORUM, unknown])
    assert not ok
    (text_line,) = [line for line in lines if f"channel {TEXT}" in line]
    assert "missing Read Message History" in text_line and "not posted again" in text_line
    (forum_line,) = [line for line in lines if f"channel {FORUM}" in line]
    assert "missing Send Messages in Threads" in forum_line
    assert any(f"channel {unknown}: unknown channel" in line for line in lines)
    fake.set_overwrite(TEXT, fake.bot_user_id)
    fake.set_overwrite(FORUM, GUILD, member=False)
    ok, lines = await check_discord(settings_for(fake), "discord-test-token", [TEXT, FORUM])
    assert ok and {f"discord: channel {c}: permissions ok" for c in (TEXT, FORUM)} <= set(lines)


async def test_the_adapter_leaves_discord_py_globals_alone(store: Store) -> None:
    """discord.py keeps its REST base and gateway URL in globals of the library; the adapter never changes them
    (tests point them at the fake). Configured for a stand-in Discord that discord.py is not pointed at, it
    refuses to start, having sent nothing anywhere."""
    route, socket = discord.http.Route, discord.gateway.DiscordWebSocket
    base, gateway = route.BASE, socket.DEFAULT_GATEWAY
    with FakeDiscord(heartbeat_interval_ms=500) as fake:
        fake.add_channel(TEXT, GUILD, "news")
        adapter = adapter_for(store, fake)
        try:
            with pytest.raises(DiscordSetupError, match=r"\[discord\] api_url"):
                await adapter.start()
            assert (base, gateway) == (route.BASE, socket.DEFAULT_GATEWAY)
        finally:
            route.BASE, socket.DEFAULT_GATEWAY = base, gateway
            await adapter.close()
        assert fake.calls == []
    assert isinstance(adapter.client, discord.Client) and "setup_hook" not in vars(adapter.client)


async def test_doctor_check_names_the_bot_and_prints_the_invite_url(fake: FakeDiscord) -> None:
    ok, lines = await check_discord(settings_for(fake), "discord-test-token")
    assert ok and "token ok" in lines[0]
    assert any("oauth2/authorize" in line and fake.app_id in line and "applications.commands" in line for line in lines)
    fake.valid_tokens = {"another-token"}
    ok, lines = await check_discord(settings_for(fake), "discord-test-token")
    assert not ok and "refused" in lines[0] and all("discord-test-token" not in line for line in lines)


# ---------------------------------------------------------------------------------------------- sharding

GUILD0, TEXT0 = "1100000000004194305", "1100000000000000010"
"""A guild on shard 0 of 2 ((id >> 22) % 2 == 0); GUILD is on shard 1."""


def sharded_settings(fake: FakeDiscord, **discord_keys: Any) -> Settings:
    fake.add_channel(TEXT0, GUILD0, "news")
    assert (fake.shard_of(GUILD0), fake.shard_of(GUILD)) == (0, 1)
    discord = {"api_url": fake.api_url, "guilds": [int(GUILD), int(GUILD0)], **discord_keys}
    return settings_from_mapping({"topics": TOPICS, "discord": discord})


async def test_the_shards_the_gateway_asks_for_are_connected_and_both_answer(fake: FakeDiscord, store: Store) -> None:
    """With no shard settings the adapter asks Discord (GET /gateway/bot: the fake says 2) and connects every
    shard; each guild's commands arrive on the shard holding it, and both are answered."""
    async with _running(adapter_for(store, fake, settings=sharded_settings(fake))) as adapter:
        assert sorted(map(tuple, fake.shards_ready)) == [(0, 2), (1, 2)]  # type: ignore[arg-type]
        assert adapter.client.shard_count == 2 and fake.calls_to("GET", "/gateway/bot")
        handles = {}
        for guild, channel in ((GUILD0, TEXT0), (GUILD, TEXT)):
            handles[guild] = await asyncio.to_thread(
                lambda g=guild, c=channel: fake.interaction("brief-list", guild_id=g, channel_id=c)
            )
        for handle in handles.values():
            assert (await _wait(handle.wait_callback)).type == 4
    by_shard = _shard_of_connection(fake)
    dispatched = {f.d["guild_id"]: by_shard[f.connection] for f in fake.sent_frames if f.t == "INTERACTION_CREATE"}
    assert dispatched == {GUILD0: 0, GUILD: 1}


async def test_two_processes_split_the_shards_and_each_answers_its_guilds(fake: FakeDiscord, store: Store) -> None:
    """``shards = [0]`` and ``[1]`` of ``shard_count = 2``: each adapter connects its shard only and gets the
    commands of its guilds only."""
    seen: dict[int, list[str]] = {0: [], 1: []}
    answered = {0: asyncio.Event(), 1: asyncio.Event()}

    def observer(shard: int) -> Any:
        def observe(name: str, seconds: float) -> None:
            seen[shard].append(name)
            answered[shard].set()

        return observe

    settings = [sharded_settings(fake, shards=[shard], shard_count=2) for shard in (0, 1)]
    adapters = [adapter_for(store, fake, settings=settings[shard], observe=observer(shard)) for shard in (0, 1)]
    async with _running(adapters[0]), _running(adapters[1]):
        assert [sorted(a.client.shards) for a in adapters] == [[0], [1]]
        assert sorted(map(tuple, fake.shards_ready)) == [(0, 2), (1, 2)]  # type: ignore[arg-type]
        on_0 = await asyncio.to_thread(lambda: fake.interaction("brief-list", guild_id=GUILD0, channel_id=TEXT0))
        on_1 = await asyncio.to_thread(
            lambda: fake.interaction("brief", {"topic": "help"}, guild_id=GUILD, channel_id=TEXT)
        )
        for handle in (on_0, on_1):
            assert (await _wait(handle.wait_callback)).type == 4
        await asyncio.wait_for(asyncio.gather(answered[0].wait(), answered[1].wait()), 5)
    assert seen == {0: ["list"], 1: ["help"]}


async def test_a_digest_to_a_guild_on_another_shard_is_posted_over_rest(fake: FakeDiscord, store: Store) -> None:
    """A process holding shard 0 only posts a digest to a channel of a guild on shard 1 (its gateway never told
    of that guild): the channel is fetched over REST, the digest posted, and found again after a crash."""
    article(store, 1)
    sub = subscription(store, TEXT)  # GUILD: shard 1
    ref = digest_ref(sub, slot_key(NOW))
    settings = sharded_settings(fake, shards="0", shard_count=2)
    async with _running(adapter_for(store, fake, settings=settings)) as adapter:
        assert adapter.client.get_guild(int(GUILD)) is None and adapter.client.get_guild(int(GUILD0)) is not None
        posted = await adapter.post_digest(sub, _briefing_of(store, sub), ref)
        (message,) = fake.messages(TEXT)
        assert posted == f"discord:{TEXT}:{message['id']}"
        assert fake.calls_to("GET", f"/channels/{TEXT}")
        assert await adapter.find_digest(sub, ref, NOW - timedelta(hours=1)) == posted


def _shard_of_connection(fake: FakeDiscord) -> dict[int, int]:
    """Gateway connection number -> the shard it IDENTIFYed as."""
    return {f.connection: f.d["shard"][0] for f in fake.frames if f.op == Op.IDENTIFY}


# ------------------------------------------------------------------------------------------------ helpers


@contextlib.asynccontextmanager
async def _running(adapter: DiscordAdapter) -> AsyncIterator[DiscordAdapter]:
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.close()


class _StoreStandIn:
    """A store that behaves like ``store`` except where a test says otherwise (attributes pass through)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class _BrokenStore(_StoreStandIn):
    """Searches fail, as when the database went away in the middle of a /brief."""

    def search(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")


class _SlowStore(_StoreStandIn):
    """Subscribing and listing take 4 s, unless ``release`` is set sooner (a test sets it once it has seen what
    it waits for, so no test sleeps the whole time)."""

    def __init__(self, store: Store, release: threading.Event) -> None:
        super().__init__(store)
        self._release = release

    def add_subscription(self, *args: Any, **kwargs: Any) -> Any:
        self._release.wait(4.0)
        return self._store.add_subscription(*args, **kwargs)

    def list_subscriptions(self, *args: Any, **kwargs: Any) -> Any:
        self._release.wait(4.0)
        return self._store.list_subscriptions(*args, **kwargs)


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

    return await asyncio.to_thread(
        lambda: fake.autocomplete(name, {option: value}, focused=option, guild_id=GUILD, channel_id=TEXT)
    )


async def _wait(wait: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(wait, *args)


def test_discord_voice_warnings_are_not_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """discord.py warns that PyNaCl and davey (voice) are missing: newsbrief has no voice, a start shows nothing."""
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)  # discord.py warns once a process: again here
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True, raising=False)
    with caplog.at_level(logging.WARNING, logger="discord.client"):
        discord.Client(intents=discord.Intents.none())
    assert [r.getMessage() for r in caplog.records if "voice" in r.getMessage()] == []


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


# ----------------------------------------------------------------------------------------------- items mode


async def test_items_are_sent_once_each_as_a_compact_line(
    fake: FakeDiscord, store: Store, connected: DiscordAdapter
) -> None:
    article(store, 1, title="Talks on Ukraine resume in Geneva @everyone")
    article(store, 2, title="Kyiv reopens its airport", story="s-airport")
    sub = store.add_subscription(
        "discord", TEXT, "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), mode="items"
    )

    for _ in range(2):
        await run_items_round(store, {"discord": connected}, topics=TOPICS, now=NOW, by="test")

    messages = fake.messages(TEXT)
    assert sorted(m["content"] for m in messages) == [
        "• [Kyiv reopens its airport](https://outlet2.example/talks/2) — outlet2.example",
        "• [Talks on Ukraine resume in Geneva @\u200beveryone](https://outlet1.example/talks/1) — outlet1.example",
    ]
    assert all(m["allowed_mentions"]["parse"] == [] and m["nonce"] for m in messages)
    assert {p.message_ref for p in store.posted_items("discord", TEXT)} == {
        f"discord:{TEXT}:{m['id']}" for m in messages
    }
    assert {p.subscription_id for p in store.posted_items("discord", TEXT)} == {sub.id}
