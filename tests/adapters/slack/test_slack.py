"""The Slack adapter (bot/adapters/slack) driving the real slack-bolt and slack_sdk against a loopback fake Slack:
``/brief`` acked then answered, permissions, Block Kit digests with metadata, escaping, 429 retries, pausing
errors, exactly once across a crash between post and ledger, and HTTP mode's signature checks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters import Pacer
from bot.adapters.slack import DIGEST_EVENT, POST_INTERVAL_S, SlackAdapter, SlackSetupError, check_slack
from bot.briefing import Briefing
from bot.commands import RateLimiter, answer
from bot.config import SchedulerConfig, Settings, settings_from_mapping
from bot.digests import (
    SEARCH_MARGIN,
    HistoryUnreadable,
    PostInterrupted,
    digest_poster,
    digest_ref,
    run_digest,
    slot_key,
)
from bot.metrics import Metrics
from bot.store import Store, Subscription
from bot.web import WebServer
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
from testkit.fakeslack import FakeSlack, signed_headers

store = chat_helpers.store  # the fixture: a fresh SQLite store
SECRET = "signing-secret-for-tests"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=int(NOW.timestamp())) as fake:  # message ts near "now", as on Slack
        yield fake


def settings_for(slack: FakeSlack, **section: Any) -> Settings:
    http = {"http": {"listen": "127.0.0.1:0"}} if section.get("mode") == "http" else {}  # HTTP mode needs one
    return settings_from_mapping({"topics": TOPICS, "slack": {"api_url": slack.api_url, **section}, **http})


def make_adapter(store: Store, settings: Settings, **kwargs: Any) -> SlackAdapter:
    """An adapter whose pacing runs on a :class:`FakeTime` (one a second per channel, never really waited)."""
    time_ = FakeTime()
    options: dict[str, Any] = {
        "app_token": "xapp-test",
        "signing_secret": SECRET,
        "pacer": Pacer(POST_INTERVAL_S, clock=time_.clock, sleep=time_.sleep),
        "sleep": time_.sleep,
        **kwargs,
    }
    return SlackAdapter(
        settings=settings, store=store, limiter=RateLimiter(10), clock=lambda: NOW, bot_token="xoxb-test", **options
    )


@pytest.fixture
async def connected(slack: FakeSlack, store: Store) -> AsyncIterator[SlackAdapter]:
    adapter = make_adapter(store, settings_for(slack))
    await adapter.start()
    await asyncio.to_thread(slack.wait_connected)
    yield adapter
    await adapter.close()


# ----------------------------------------------------------------------------------------------- /brief


async def test_brief_is_acked_first_then_answered_in_the_channel(
    slack: FakeSlack, store: Store, connected: SlackAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow briefing (here 1.5 s) never holds up the ack: Slack's 3-second deadline is met, the answer follows."""
    article(store, 1)
    article(store, 2)
    from bot.adapters.slack import _adapter

    def slow_answer(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)  # runs in a worker thread, as every answer does
        return answer(*args, **kwargs)

    monkeypatch.setattr(_adapter, "answer", slow_answer)
    envelope = await slack.slash_command_async("ukraine")
    assert envelope.acked and envelope.ack_latency is not None and envelope.ack_latency < 1.2
    (response,) = await slack.wait_responses_async(1)
    assert envelope.acked_at is not None and envelope.acked_at < response.at  # ack before the answer
    assert response.response_type == "in_channel"
    assert any("Talks on Ukraine resume in Geneva" in t for t in texts(response.blocks))
    assert "Talks on Ukraine resume in Geneva" in (response.text or "")


@pytest.mark.parametrize(("text", "expected"), [("help", "/brief subscribe"), ("subscribe", "needs a topic")])
async def test_help_and_usage_errors_are_ephemeral(
    slack: FakeSlack, connected: SlackAdapter, text: str, expected: str
) -> None:
    await slack.slash_command_async(text)
    (response,) = await slack.wait_responses_async(1)
    assert response.response_type == "ephemeral"
    assert any(expected in t for t in texts(response.body))


async def test_subscribing_needs_admin_owner_or_the_allowlist(slack: FakeSlack, store: Store) -> None:
    slack.add_user("U0ANA1", "ana")
    slack.add_user("U0BO2", "bo", is_admin=True)
    adapter = make_adapter(store, settings_for(slack, managers=["U0CAT3"]))
    await adapter.start()
    try:
        await slack.slash_command_async("subscribe ukraine daily 08:00", user_id="U0ANA1", channel_id="C1")
        await slack.slash_command_async("subscribe ukraine hourly", user_id="U0BO2", channel_id="C2")
        await slack.slash_command_async("subscribe ukraine hourly", user_id="U0CAT3", channel_id="C3")
        refused, admin, listed = await slack.wait_responses_async(3)
    finally:
        await adapter.close()
    assert refused.response_type == "ephemeral" and any("channel-manager rights" in t for t in texts(refused.body))
    assert {(s.platform, s.channel) for s in store.list_subscriptions()} == {("slack", "C2"), ("slack", "C3")}
    assert slack.calls_to("users.info")  # admins are asked of Slack; the allowlisted user is not
    assert all(c.params.get("user") != "U0CAT3" for c in slack.calls_to("users.info"))
    assert admin.response_type == listed.response_type == "ephemeral"


# ---------------------------------------------------------------------------------------------- digests


async def test_digest_is_block_kit_with_metadata_escaped_and_found_again(slack: FakeSlack, store: Store) -> None:
    article(store, 1, title="<!channel> Kyiv talks: <@U123> says <http://evil.example|click> & more")
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    adapter = make_adapter(store, settings_for(slack))
    ref = digest_ref(sub, slot_key(NOW))
    outcome = await run_digest(
        store, sub, slot_key(NOW), post=lambda b: adapter.post_digest(sub, b, ref), topics=TOPICS, now=NOW, by="test"
    )
    assert outcome == "posted"
    (message,) = slack.messages("C1")
    assert message["metadata"]["event_type"] == DIGEST_EVENT
    assert message["metadata"]["event_payload"]["ref"] == ref
    assert 0 < len(message["blocks"]) <= 50
    every = [*texts(message["blocks"]), message["text"]]
    assert any("&lt;!channel&gt;" in t for t in every)
    for text in every:
        assert "<!channel>" not in text and "<@U123>" not in text and "<http://evil" not in text
    found = await adapter.find_digest(sub, ref, NOW - timedelta(hours=1))
    assert found == f"slack:C1:{message['ts']}"
    assert await adapter.find_digest(sub, ref + "x", NOW - timedelta(hours=1)) is None
    history = slack.calls_to("conversations.history")[-1]
    assert str(history.params.get("include_all_metadata")).lower() in ("true", "1")


async def test_a_429_is_waited_out_and_retried(slack: FakeSlack, store: Store) -> None:
    article(store, 1)
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=0)
    adapter = make_adapter(store, settings_for(slack))
    outcome = await run_digest(
        store, sub, "s1", post=lambda b: adapter.post_digest(sub, b, "r1"), topics=TOPICS, now=NOW, by="test"
    )
    assert outcome == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 2 and len(slack.messages("C1")) == 1


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived"])
async def test_a_channel_that_cannot_take_posts_pauses_the_subscription(
    slack: FakeSlack, store: Store, error: str
) -> None:
    article(store, 1)
    sub = store.add_subscription(
        "slack", "C9", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    slack.mark_channel("C9", error)
    adapter = make_adapter(store, settings_for(slack))
    outcome = await run_digest(
        store, sub, "s1", post=lambda b: adapter.post_digest(sub, b, "r1"), topics=TOPICS, now=NOW, by="test"
    )
    assert outcome == "failed"
    paused = store.get_subscription(sub.id)
    assert paused is not None and paused.paused and error in (paused.paused_reason or "")


async def test_a_crash_between_post_and_ledger_does_not_post_twice(slack: FakeSlack, store: Store) -> None:
    """The old leader posted the digest and died before recording it: the new leader finds the message by its
    metadata and records it, without a second chat.postMessage."""
    sub, slot, key = daily_digest_due(store, "slack", "C1")
    settings = settings_for(slack)
    adapter = make_adapter(store, settings)
    assert store.claim_slot(sub.id, key, by="dead-leader", now=slot)

    async def crash_after_posting(briefing: Any) -> str:
        await adapter.post_digest(sub, briefing, digest_ref(sub, key))
        raise SystemExit("killed between post and ledger")

    from bot.digests import build_digest

    briefing = build_digest(store, sub, topics=TOPICS, now=NOW)
    assert briefing is not None
    with pytest.raises(SystemExit):
        await crash_after_posting(briefing)
    assert len(slack.messages("C1")) == 1

    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert claim.message_ref == f"slack:C1:{slack.messages('C1')[0]['ts']}"
    assert len(slack.calls_to("chat.postMessage")) == 1  # not posted again
    assert len(slack.messages("C1")) == 1


@pytest.mark.parametrize(("status", "error"), [(500, "internal_error"), (503, "service_unavailable")])
async def test_a_server_error_is_looked_for_then_posted_once_by_recovery(
    slack: FakeSlack, store: Store, status: int, error: str
) -> None:
    """Slack answers chat.postMessage with a 5xx: the slot is not given up ("retry", still in flight); the next
    recovery pass finds no such message in the channel and posts the digest, once."""
    sub, slot, key = daily_digest_due(store, "slack", "C1")
    settings = settings_for(slack)
    adapter = make_adapter(store, settings)
    slack.fail_next("chat.postMessage", error, status=status, retry_after=None)
    outcome = await run_digest(
        store,
        sub,
        key,
        post=lambda b: adapter.post_digest(sub, b, digest_ref(sub, key)),
        topics=TOPICS,
        now=slot,
        by="first-leader",
    )
    assert outcome == "retry" and slack.messages("C1") == []
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome is None

    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(slack.calls_to("conversations.history")) >= 1  # looked for before posting again
    assert len(slack.messages("C1")) == 1 and claim.message_ref == f"slack:C1:{slack.messages('C1')[0]['ts']}"


def long_digest() -> Briefing:
    """A digest of 30 stories: more blocks than one Slack message may hold, so it goes out in two parts."""
    return Briefing(
        query="ukraine",
        generated_at=NOW,
        stories=tuple(story(n) for n in range(1, 31)),
        more=0,
        window_hours=24,
        topic="ukraine",
    )


def parts_in(slack: FakeSlack, channel: str) -> list[int]:
    return [m["metadata"]["event_payload"]["part"] for m in slack.messages(channel)]


@pytest.mark.parametrize("applied", [False, True], ids=["lost", "answer-lost"])
async def test_a_later_part_interrupted_is_completed_in_place_once(
    slack: FakeSlack, store: Store, applied: bool
) -> None:
    """Part 2 of a split digest answered 500 (``answer-lost``: Slack posted it and failed to say so): the part is
    looked for, then posted again only if it is not there; the digest ends up in the channel whole, each part
    once."""
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    adapter = make_adapter(store, settings_for(slack), part_retry_delays=(0.0, 0.0))
    slack.fail_next("chat.postMessage", "internal_error", status=500, retry_after=None, after=1, applied=applied)
    posted = await adapter.post_digest(sub, long_digest(), "sub:1:s1")
    assert parts_in(slack, "C1") == [1, 2]
    assert posted == f"slack:C1:{slack.messages('C1')[0]['ts']}"
    assert len(slack.calls_to("chat.postMessage")) == (2 if applied else 3)
    assert len(slack.calls_to("conversations.history")) == 1


async def test_a_later_part_that_keeps_failing_interrupts_the_digest(slack: FakeSlack, store: Store) -> None:
    """Part 2 answered 503 three times: tried again after 2 s and 5 s (the default delays, on the injected clock:
    no real wait), then the digest is interrupted. The pacing wait of a second before part 2 is not repeated
    for the retries, which come later than that anyway."""
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    time_ = FakeTime()
    adapter = make_adapter(
        store,
        settings_for(slack),
        pacer=Pacer(POST_INTERVAL_S, clock=time_.clock, sleep=time_.sleep),
        sleep=time_.sleep,
    )
    slack.fail_next("chat.postMessage", "service_unavailable", status=503, retry_after=None, after=1, times=3)
    with pytest.raises(PostInterrupted, match="503 service_unavailable"):
        await adapter.post_digest(sub, long_digest(), "sub:1:s1")
    assert parts_in(slack, "C1") == [1]
    assert len(slack.calls_to("chat.postMessage")) == 4  # part 1, then part 2 three times
    assert time_.waits == [POST_INTERVAL_S, 2.0, 5.0]


async def test_messages_to_a_channel_are_paced_one_a_second(slack: FakeSlack, store: Store) -> None:
    """The parts of a digest, and the next digest to the same channel, go out at most one a second (waited on
    the injected clock); another channel is not held up by the first, nor a channel posted to long enough ago."""
    first = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    other = store.add_subscription(
        "slack", "C2", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    time_ = FakeTime()
    adapter = make_adapter(
        store, settings_for(slack), pacer=Pacer(POST_INTERVAL_S, clock=time_.clock, sleep=time_.sleep)
    )
    await adapter.post_digest(first, long_digest(), "sub:1:s1")
    assert parts_in(slack, "C1") == [1, 2] and time_.waits == [POST_INTERVAL_S]
    await adapter.post_digest(other, long_digest(), "sub:2:s1")
    assert time_.waits == [POST_INTERVAL_S, POST_INTERVAL_S]  # C2's first part at once, its second a second later
    time_.now += 0.25
    await adapter.post_digest(other, long_digest(), "sub:2:s2")  # C2's last message was 0.25 s ago
    assert time_.waits[2:] == [pytest.approx(0.75), POST_INTERVAL_S]
    await adapter.post_digest(first, long_digest(), "sub:1:s2")  # C1's last message was long enough ago
    assert time_.waits[4:] == [POST_INTERVAL_S]


async def test_a_first_part_posted_but_answered_500_is_found_by_recovery_not_posted_twice(
    slack: FakeSlack, store: Store
) -> None:
    sub, slot, key = daily_digest_due(store, "slack", "C1")
    settings = settings_for(slack)
    adapter = make_adapter(store, settings)
    slack.fail_next("chat.postMessage", "internal_error", status=500, retry_after=None, applied=True)
    outcome = await run_digest(
        store,
        sub,
        key,
        post=lambda b: adapter.post_digest(sub, b, digest_ref(sub, key)),
        topics=TOPICS,
        now=slot,
        by="first-leader",
    )
    assert outcome == "retry" and len(slack.messages("C1")) == 1
    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 1 and len(slack.messages("C1")) == 1


# ---------------------------------------------------------------------------------------------- HTTP mode


async def test_http_mode_verifies_signatures(slack: FakeSlack, store: Store) -> None:
    article(store, 1)
    adapter = make_adapter(store, settings_for(slack, mode="http"), app_token=None)
    server = WebServer("127.0.0.1:0", Metrics(), lambda: {"status": "ok"}, extra_routes=adapter.routes())
    await server.start()
    try:
        body = slack.slash_command_form("ukraine")
        async with httpx.AsyncClient(base_url=server.url) as client:
            good = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
            forged = await client.post("/slack/events", content=body, headers=signed_headers("not-the-secret", body))
            old = signed_headers(SECRET, body, timestamp=int(time.time()) - 3600)
            stale = await client.post("/slack/events", content=body, headers=old)
        assert good.status_code == 200
        assert forged.status_code == 401 and stale.status_code == 401
        (response,) = await slack.wait_responses_async(1)
        assert response.response_type == "in_channel"
    finally:
        await server.close()


def test_missing_tokens_are_named(slack: FakeSlack, store: Store) -> None:
    with pytest.raises(SlackSetupError, match="SLACK_APP_TOKEN"):
        make_adapter(store, settings_for(slack), app_token=None)
    with pytest.raises(SlackSetupError, match="SLACK_SIGNING_SECRET"):
        make_adapter(store, settings_for(slack, mode="http"), signing_secret=None)


async def test_doctor_check_reports_the_bot_and_missing_scopes(slack: FakeSlack) -> None:
    ok, lines = await check_slack(settings_for(slack), "xoxb-test")
    assert ok and "token ok" in lines[0] and "scopes ok" in lines[-1]
    slack.scopes = ["commands", "chat:write"]
    ok, lines = await check_slack(settings_for(slack), "xoxb-test")
    assert not ok and "missing scopes: channels:history, groups:history, users:read" in lines[-1]
    ok, lines = await check_slack(settings_for(slack), "not-a-bot-token")
    assert not ok and "invalid_auth" in lines[0]
    assert all("xoxb-test" not in line for line in lines)
    assert json.dumps(lines)


def test_cli_digest_posts_a_slack_subscription(
    slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    with cli_setup(tmp_path, "slack", slack.api_url) as (config, store):
        sub = store.add_subscription(
            "slack", "C7", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
        )
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli-secret")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["--config", str(config), "digest", str(sub.id)]) == 0
    (message,) = slack.messages("C7")
    assert message["metadata"]["event_type"] == DIGEST_EVENT
    assert "newsbrief" not in capsys.readouterr().err  # nothing to warn about
    assert main(["--config", str(config), "digest", str(sub.id)]) == 0  # the same slot, or nothing new: no post
    assert len(slack.messages("C7")) == 1


# ------------------------------------------------------------------------ channels the bot may post in but not read


def crash_after_part_one(slack: FakeSlack, how: str) -> None:
    """The first chat.postMessage is carried out by Slack, and its answer is lost: a 500 (``answer-lost``) or a
    connection dropped before the answer (``dropped``)."""
    if how == "dropped":
        slack.drop_next("chat.postMessage")
    else:
        slack.fail_next("chat.postMessage", "internal_error", status=500, retry_after=None, applied=True)


async def post_then_recover(
    slack: FakeSlack, store: Store, channel: str, how: str = "answer-lost"
) -> tuple[Subscription, str, SlackAdapter]:
    """A digest due in ``channel`` is posted by a first leader whose answer gets lost, then a new leader's pass
    finishes the claim; returns the subscription, the slot key and the adapter."""
    sub, slot, key = daily_digest_due(store, "slack", channel)
    settings = settings_for(slack)
    adapter = make_adapter(store, settings)
    crash_after_part_one(slack, how)
    post = digest_poster(store, adapter, sub, key, now=slot)
    outcome = await run_digest(store, sub, key, post=post, topics=TOPICS, now=slot, by="first-leader")
    assert outcome == "retry" and len(slack.messages(channel)) == 1
    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    return sub, key, adapter


async def test_a_public_channel_the_bot_is_not_in_is_joined_before_its_first_digest(
    slack: FakeSlack, store: Store
) -> None:
    """Bug 1: with chat:write.public the bot posts in a public channel it was never invited to, but cannot read its
    history there: the crash check read that as "never posted" and posted again. The bot joins the channel
    (channels:join) before its first digest, so the check finds the digest."""
    slack.leave_channel("C1")
    sub, key, _ = await post_then_recover(slack, store, "C1")
    assert len(slack.messages("C1")) == 1 and len(slack.calls_to("chat.postMessage")) == 1  # not posted again
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert slack.is_member("C1") and len(slack.calls_to("conversations.join")) == 1


async def test_a_history_the_bot_cannot_read_is_never_taken_for_not_posted(
    slack: FakeSlack, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bug 1 without channels:join: the claim stays in flight, the reason is logged once and written on the claim,
    `subs list` and doctor tell the operator; nothing is posted twice."""
    slack.scopes.remove("channels:join")
    slack.leave_channel("C1")
    with caplog.at_level("WARNING"):
        sub, key, adapter = await post_then_recover(slack, store, "C1", "dropped")
    assert len(slack.messages("C1")) == 1 and len(slack.calls_to("chat.postMessage")) == 1
    assert slack.calls_to("conversations.join") == []  # not tried without the scope
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome is None  # still in flight
    assert claim.note is not None and "cannot read the history of channel C1 (not_in_channel)" in claim.note
    unreadable = [r for r in caplog.records if "cannot read the history" in r.getMessage()]
    assert len(unreadable) == 2  # the adapter's warning and recover_digest's, once each
    with pytest.raises(HistoryUnreadable):  # asked again: still "cannot tell", logged no more
        await adapter.find_digest(sub, digest_ref(sub, key), NOW - timedelta(hours=1))
    assert len([r for r in caplog.records if "cannot read the history" in r.getMessage()]) == 2

    ok, lines = await check_slack(settings_for(slack), "xoxb-test", ["C1", "C2"])
    assert not ok
    assert any("chat:write.public without channels:join" in line for line in lines)
    assert any(
        line.startswith("slack: channel C1: the bot may post there but cannot read its history") for line in lines
    )
    assert not any("channel C2" in line for line in lines)

    from bot._cli_digest import _state, _unconfirmed

    state = _state(sub, _unconfirmed(store)[sub.id])
    assert state.startswith("active; digest for ") and "not_in_channel" in state

    slack.scopes.append("channels:join")  # the operator adds the scope: doctor is content, the check works
    ok, lines = await check_slack(settings_for(slack), "xoxb-test", ["C1"])
    assert ok, lines


async def test_a_later_part_in_a_channel_the_bot_cannot_read_is_not_posted_twice(
    slack: FakeSlack, store: Store
) -> None:
    """Bug 1 in place: part 2 of a split digest answered 500 after Slack posted it; the bot cannot read the channel,
    so the part is not posted again (parts [1, 2], not [1, 2, 2]): the digest is left to recovery, whose ledger
    has part 1."""
    slack.scopes.remove("channels:join")
    slack.leave_channel("C1")
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    adapter = make_adapter(store, settings_for(slack), part_retry_delays=(0.0, 0.0))
    slack.fail_next("chat.postMessage", "internal_error", status=500, retry_after=None, after=1, applied=True)
    with pytest.raises(PostInterrupted) as interrupted:
        await adapter.post_digest(sub, long_digest(), "sub:1:s1")
    assert parts_in(slack, "C1") == [1, 2]
    assert "cannot tell whether part 2" in str(interrupted.value) and "not_in_channel" in str(interrupted.value)


# ----------------------------------------------------------------------------------------- dropped connections


async def test_a_connection_dropped_after_slack_posted_is_looked_for_not_sent_again(
    slack: FakeSlack, store: Store
) -> None:
    """Bug 2: slack_sdk's connection-error retry sent chat.postMessage again when the connection dropped after
    Slack had posted. A dropped post interrupts the digest; recovery finds it in the channel."""
    sub, key, _ = await post_then_recover(slack, store, "C1", "dropped")
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(slack.messages("C1")) == 1 and len(slack.calls_to("chat.postMessage")) == 1
    assert claim.message_ref == f"slack:C1:{slack.messages('C1')[0]['ts']}"


async def test_a_later_part_dropped_after_posting_is_found_in_place(slack: FakeSlack, store: Store) -> None:
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    adapter = make_adapter(store, settings_for(slack), part_retry_delays=(0.0,))
    slack.drop_next("chat.postMessage", after=1)
    posted = await adapter.post_digest(sub, long_digest(), "sub:1:s1")
    assert parts_in(slack, "C1") == [1, 2] and len(slack.calls_to("chat.postMessage")) == 2
    assert posted == f"slack:C1:{slack.messages('C1')[0]['ts']}"


# ---------------------------------------------------------------------------------- busy channels and the ledger


async def test_a_busy_channel_is_searched_back_to_the_claim(slack: FakeSlack, store: Store) -> None:
    """1,500 messages after the digest (more than the old 1,000-message cap): the check reads every page since the
    claim and finds it, instead of running out and posting again."""
    sub, slot, key = daily_digest_due(store, "slack", "C1")
    settings = settings_for(slack)
    adapter = make_adapter(store, settings)
    crash_after_part_one(slack, "answer-lost")
    outcome = await run_digest(
        store,
        sub,
        key,
        post=lambda b: adapter.post_digest(sub, b, digest_ref(sub, key)),
        topics=TOPICS,
        now=slot,
        by="first-leader",
    )
    assert outcome == "retry"
    for n in range(1500):
        slack.seed_message("C1", f"chatter {n}")
    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted"
    assert len(slack.calls_to("chat.postMessage")) == 1
    history = slack.calls_to("conversations.history")
    assert len(history) == 8  # 1,501 messages, 200 a page
    assert {c.params.get("oldest") for c in history} == {f"{(slot - SEARCH_MARGIN).timestamp():.6f}"}


async def test_each_message_is_written_down_as_soon_as_slack_returns_it(slack: FakeSlack, store: Store) -> None:
    """Part 1 of a split digest posted, part 2 keeps failing: the ledger holds part 1's ts at once, and recovery
    takes the digest as posted from the ledger, without searching the channel."""
    sub, slot, key = daily_digest_due(store, "slack", "C1")
    settings = settings_for(slack)
    adapter = make_adapter(store, settings, part_retry_delays=(0.0,))
    slack.fail_next("chat.postMessage", "service_unavailable", status=503, retry_after=None, after=1, times=2)
    post = digest_poster(store, adapter, sub, key, now=slot)
    assert store.claim_slot(sub.id, key, by="first-leader", now=slot)
    with pytest.raises(PostInterrupted):
        await post(long_digest())
    first_ts = slack.messages("C1")[0]["ts"]
    assert store.digest_messages(sub.id, key) == {1: f"slack:C1:{first_ts}"}
    searched = len(slack.calls_to("conversations.history"))  # part 2 looked for in place before its retry

    await new_leader_pass(store, settings, {"slack": adapter}, SchedulerConfig(lease=timedelta(seconds=30)))
    claim = store.get_slot(sub.id, key)
    assert claim is not None and claim.outcome == "posted" and claim.message_ref == f"slack:C1:{first_ts}"
    assert len(slack.calls_to("conversations.history")) == searched and parts_in(slack, "C1") == [1]


async def test_find_digest_returns_the_first_part_and_only_messages_of_this_bot(slack: FakeSlack, store: Store) -> None:
    sub = store.add_subscription(
        "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )
    adapter = make_adapter(store, settings_for(slack))
    posted = await adapter.post_digest(sub, long_digest(), "sub:1:s1")
    first = slack.messages("C1")[0]["ts"]
    assert posted == f"slack:C1:{first}"
    assert await adapter.find_digest(sub, "sub:1:s1", NOW - timedelta(hours=1)) == posted  # not the last part

    copied = {"event_type": DIGEST_EVENT, "event_payload": {"ref": "sub:1:s2", "part": 1, "parts": 1}}
    slack.seed_message("C1", "another app's message", user="UOTHER", metadata=copied)
    assert await adapter.find_digest(sub, "sub:1:s2", NOW - timedelta(hours=1)) is None


# ---------------------------------------------------------------------------------------------- commands


async def test_the_first_command_is_acked_without_waiting_for_auth_test(
    slack: FakeSlack, store: Store, connected: SlackAdapter
) -> None:
    """The adapter authorizes at start: the first /brief is acknowledged while auth.test would hang (Bolt used to
    call it on the first request, past Slack's 3 s when it was slow)."""
    gate = slack.hold("auth.test")
    try:
        envelope = await slack.slash_command_async("help", timeout=2.0)
        assert envelope.acked and envelope.ack_latency is not None and envelope.ack_latency < 1.0
        await slack.wait_responses_async(1)
    finally:
        gate.release()
    assert gate.arrived == 0 and len(slack.calls_to("auth.test")) == 1  # the one at start


async def test_an_answer_the_response_url_refuses_is_logged_and_posted_instead(
    slack: FakeSlack, store: Store, connected: SlackAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    article(store, 1)
    slack.response_url_error = (404, "expired_url")
    with caplog.at_level("WARNING", logger="newsbrief.slack"):
        await slack.slash_command_async("ukraine", user_id="U7", channel_id="C5")
        await slack.wait_calls_async("chat.postMessage", 1)
        await slack.slash_command_async("help", user_id="U7", channel_id="C5")
        await slack.wait_calls_async("chat.postEphemeral", 1)
    [public] = slack.messages("C5")
    assert any("Talks on Ukraine resume in Geneva" in t for t in texts(public["blocks"]))
    [private] = slack.ephemerals("C5")
    assert private["user_shown"] == "U7" and any("/brief subscribe" in t for t in texts(private["blocks"]))
    refused = [r.getMessage() for r in caplog.records if "response_url refused" in r.getMessage()]
    assert len(refused) == 2 and "404 expired_url" in refused[0] and "chat.postMessage" in refused[0]
    assert slack.responses == []


async def test_http_mode_answers_slacks_ssl_check(slack: FakeSlack, store: Store) -> None:
    adapter = make_adapter(store, settings_for(slack, mode="http"), app_token=None)
    await adapter.start()
    server = WebServer("127.0.0.1:0", Metrics(), lambda: {"status": "ok"}, extra_routes=adapter.routes())
    await server.start()
    try:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        async with httpx.AsyncClient(base_url=server.url) as client:
            check = await client.post("/slack/events", content=slack.ssl_check_form(), headers=form)
            unsigned = await client.post("/slack/events", content=slack.slash_command_form("x"), headers=form)
        assert check.status_code == 200
        assert unsigned.status_code == 401  # anything else unsigned is still refused
    finally:
        await server.close()
    assert slack.responses == []


UNREADABLE = "slack: cannot read the history of channel C1 (not_in_channel)"


def test_doctor_and_subs_list_tell_the_operator_about_an_unreadable_channel(
    slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    slack.scopes.remove("channels:join")
    slack.leave_channel("C1")
    with cli_setup(tmp_path, "slack", slack.api_url) as (config, store):
        sub = store.add_subscription(
            "slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
        )
        assert store.claim_slot(sub.id, "2024-05-01T08:00Z", by="dead", now=NOW - timedelta(hours=1))
        store.note_slot(sub.id, "2024-05-01T08:00Z", UNREADABLE)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli-secret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-cli-secret")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["--config", str(config), "doctor"]) == 1
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "slack: channel C1: the bot may post there but cannot read its history (not_in_channel)" in out
    assert f"digest of subscription {sub.id} (slack C1, ukraine) for 2024-05-01T08:00Z not confirmed yet" in out
    assert main(["--config", str(config), "subs", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["unconfirmed"] == [{"slot": "2024-05-01T08:00Z", "note": UNREADABLE}]
