"""Live story alerts on Slack (bot/alerts.py through the Slack adapter and the real slack_sdk against the loopback
fake Slack): posted once with its marker in the metadata, edited in place with chat.update, follow-ups in the
story's thread (thread_ts), and a crash between post and ledger recovered by looking (history and replies)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.slack import LIVE_EVENT, SlackAdapter
from bot.alerts import AlertMessage, AlertsReport, LiveSettings, alert_marker, run_alerts
from bot.commands import RateLimiter
from bot.config import settings_from_mapping
from bot.store import Store, Subscription
from testkit import chat_helpers
from testkit.chat_helpers import NOW, TOPICS, texts
from testkit.fakeslack import FakeSlack

store = chat_helpers.store  # the fixture: a fresh SQLite store
LIVE = LiveSettings()


@pytest.fixture
def slack() -> Any:
    with FakeSlack(ts_base=int(NOW.timestamp())) as fake:
        yield fake


def adapter_for(slack: FakeSlack, store: Store) -> SlackAdapter:
    settings = settings_from_mapping({"topics": TOPICS, "slack": {"api_url": slack.api_url}})
    return SlackAdapter(
        settings=settings,
        store=store,
        limiter=RateLimiter(10),
        clock=lambda: NOW,
        bot_token="xoxb-test",
        app_token="xapp-test",
        signing_secret="s",
    )


async def round_at(store: Store, adapter: SlackAdapter, now: datetime) -> AlertsReport:
    return await run_alerts(store, {"slack": adapter}, topics=TOPICS, now=now, by="p1", live=LIVE)


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
        "slack", "C1", "ukraine", schedule="live", tz="UTC", now=NOW - timedelta(hours=2), by="U1"
    )


async def test_posted_once_then_edited_in_place_with_chat_update(slack: FakeSlack, store: Store) -> None:
    live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    adapter = adapter_for(slack, store)
    assert (await round_at(store, adapter, NOW)).posted == ["s-talks"]
    assert (await round_at(store, adapter, NOW + timedelta(minutes=1))).posted == []
    (message,) = slack.messages("C1")
    assert message["metadata"] == {"event_type": LIVE_EVENT, "event_payload": {"ref": "live:s-talks"}}
    assert any("1 outlet" in t for t in texts(message["blocks"]))
    report(store, 2, "s-talks", NOW + timedelta(minutes=1))
    report(store, 3, "s-talks", NOW + timedelta(minutes=2))
    assert (await round_at(store, adapter, NOW + timedelta(minutes=3))).edited == []  # coalesced
    assert (await round_at(store, adapter, NOW + timedelta(minutes=6))).edited == ["s-talks"]
    (edited,) = slack.messages("C1")  # the same message, changed
    assert edited["ts"] == message["ts"] and "edited" in edited
    assert any("3 outlets" in t for t in texts(edited["blocks"]))
    assert edited["metadata"]["event_payload"]["ref"] == "live:s-talks"
    (update,) = slack.calls_to("chat.update")
    assert update.params["ts"] == message["ts"] and update.params["channel"] == "C1"


async def test_a_follow_up_is_posted_in_the_storys_thread(slack: FakeSlack, store: Store) -> None:
    live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    adapter = adapter_for(slack, store)
    await round_at(store, adapter, NOW)
    report(store, 2, "s-deal", NOW, follows="s-talks", title="Kyiv talks in Geneva end in a deal")
    result = await round_at(store, adapter, NOW + timedelta(minutes=3))
    assert result.replies == ["s-deal"]
    parent, reply = slack.messages("C1")
    assert reply["thread_ts"] == parent["ts"] and parent["reply_count"] == 1
    assert any("follow-up" in t for t in texts(reply["blocks"]))


async def test_chat_update_refuses_what_is_not_the_bots(slack: FakeSlack, store: Store) -> None:
    theirs = slack.seed_message("C1", "hello", user="U0ANA1")
    sub = live_sub(store)
    adapter = adapter_for(slack, store)
    with pytest.raises(Exception, match="cant_update_message"):
        await adapter.edit_alert(sub, f"slack:C1:{theirs}", AlertMessage(topic="ukraine", marker="m"))
    assert slack.messages("C1")[0]["text"] == "hello" and "edited" not in slack.messages("C1")[0]
    with pytest.raises(Exception, match="message_not_found"):
        await adapter.edit_alert(sub, "slack:C1:1.000001", AlertMessage(topic="ukraine", marker="m"))


@pytest.mark.parametrize("in_thread", [False, True])
async def test_a_crash_between_post_and_ledger_is_recovered_by_looking(
    slack: FakeSlack, store: Store, in_thread: bool
) -> None:
    sub = live_sub(store)
    report(store, 1, "s-talks", NOW - timedelta(minutes=10))
    adapter = adapter_for(slack, store)
    thread: str | None = None
    if in_thread:
        await round_at(store, adapter, NOW)
        thread = store.get_alert("slack", "C1", "s-talks").message_ref  # type: ignore[union-attr]
        report(store, 2, "s-deal", NOW, follows="s-talks", title="Kyiv talks in Geneva end in a deal")
    story = "s-deal" if in_thread else "s-talks"
    marker = alert_marker(story)
    # a process claims the story and posts it, then dies before writing the message down
    at = NOW + timedelta(minutes=3)
    assert store.claim_alert(sub.id, "slack", "C1", story, marker=marker, by="dead", now=at, thread_ref=thread)
    posted = await adapter.post_alert(sub, AlertMessage(topic="ukraine", marker=marker, thread_ref=thread))
    before = len(slack.messages("C1"))
    result = await round_at(store, adapter, at + LIVE.recover_after + timedelta(seconds=1))
    assert result.recovered == [story] and result.posted == [] and len(slack.messages("C1")) == before
    alert = store.get_alert("slack", "C1", story)
    assert alert is not None and alert.state == "posted" and alert.message_ref == posted
    assert bool(slack.calls_to("conversations.replies")) == in_thread
