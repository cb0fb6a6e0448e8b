"""Slack for many workspaces (``[slack] mode = "oauth"``): the install flow over loopback HTTP against the fake
Slack, installations in our database (SQLite and PostgreSQL) through slack_sdk's SQLAlchemy stores, subscriptions
per workspace posted with each workspace's own bot token, and ``app_uninstalled`` pausing only that workspace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.adapters.slack import SlackAdapter, SlackSetupError
from bot.briefing import Briefing
from bot.commands import RateLimiter
from bot.config import ConfigError, Settings, settings_from_mapping
from bot.digests import ChannelUnavailable, digest_ref, run_digest, slot_key
from bot.metrics import Metrics
from bot.store import Store, Subscription
from bot.web import WebServer
from testkit.chat_helpers import NOW, TOPICS, article
from testkit.fakeslack import FakeSlack, signed_headers

SECRET = "signing-secret-for-tests"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=int(NOW.timestamp())) as fake:
        fake.add_team("T2", name="Two")
        fake.add_team("T3", name="Three")
        yield fake


def oauth_settings(slack: FakeSlack) -> Settings:
    return settings_from_mapping(
        {
            "topics": TOPICS,
            "slack": {
                "mode": "oauth",
                "api_url": slack.api_url,
                "authorize_url": slack.authorize_url,
                "managers": ["UADMIN1"],
            },
        }
    )


def oauth_adapter(slack: FakeSlack, store: Store, **kwargs: Any) -> SlackAdapter:
    options: dict[str, Any] = {
        "client_id": slack.client_id,
        "client_secret": slack.client_secret,
        "signing_secret": SECRET,
        **kwargs,
    }
    return SlackAdapter(
        settings=oauth_settings(slack),
        store=store,
        limiter=RateLimiter(10),
        clock=lambda: NOW,
        bot_token=None,
        **options,
    )


@pytest.fixture
async def served(slack: FakeSlack, store: Store) -> AsyncIterator[tuple[SlackAdapter, httpx.AsyncClient]]:
    """The adapter in OAuth mode on a loopback ``[http] listen`` server, and a client of that server."""
    adapter = oauth_adapter(slack, store)
    await adapter.start()
    server = WebServer("127.0.0.1:0", Metrics(), lambda: {"status": "ok"}, extra_routes=adapter.routes())
    await server.start()
    slack.redirect_uri = f"{server.url}/slack/oauth_redirect"
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield adapter, client
    finally:
        await server.close()
        await adapter.close()


async def install(client: httpx.AsyncClient, slack: FakeSlack, team: str) -> httpx.Response:
    """An admin of ``team`` installs the app: /slack/install -> Slack's authorize page -> /slack/oauth_redirect,
    carrying the state cookie as a browser does."""
    slack.installing_team = team
    start = await client.get("/slack/install")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(slack.authorize_url + "?")
    cookie = start.headers["set-cookie"].split(";", 1)[0]
    async with httpx.AsyncClient() as browser:
        approved = await browser.get(location)
    assert approved.status_code == 302
    back = approved.headers["location"]
    assert back.startswith(f"{client.base_url}/slack/oauth_redirect?")
    return await client.get(back, headers={"Cookie": cookie})


def bots(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT team_id, bot_token, bot_user_id FROM slack_bots ORDER BY team_id"))
        return [dict(row._mapping) for row in rows]


async def paused_soon(store: Store, sub_id: int) -> Subscription:
    """The subscription once paused (waiting for the event's listener, at most 5 s)."""
    for _ in range(500):
        sub = store.get_subscription(sub_id)
        if sub is not None and sub.paused:
            return sub
        await asyncio.sleep(0.01)
    raise AssertionError(f"subscription {sub_id} was not paused")


async def command(client: httpx.AsyncClient, slack: FakeSlack, text: str, *, team: str, channel: str) -> None:
    body = slack.slash_command_form(text, team_id=team, channel_id=channel, user_id="UADMIN1")
    answered = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    assert answered.status_code == 200, answered.text


async def test_install_flow_stores_the_workspace_installation_in_our_database(
    slack: FakeSlack, store: Store, served: tuple[SlackAdapter, httpx.AsyncClient]
) -> None:
    """GET /slack/install redirects to Slack's authorize page with our client id, scopes and a state; Slack sends
    the installer back to /slack/oauth_redirect with a code, which becomes the workspace's bot token, stored in
    slack_sdk's tables of our database (either backend). The state is good once only."""
    _, client = served
    done = await install(client, slack, "T2")
    assert done.status_code == 200, done.text
    (asked,) = slack.authorize_requests
    assert asked["client_id"] == slack.client_id and asked["state"]
    assert set(asked["scope"].split(",")) >= {"commands", "chat:write", "channels:history", "users:read"}
    (exchange,) = slack.calls_to("oauth.v2.access")
    assert exchange.error is None
    assert bots(store) == [{"team_id": "T2", "bot_token": slack.team_token("T2"), "bot_user_id": "UT2BOT"}]

    replayed = await client.get(f"/slack/oauth_redirect?code=again&state={asked['state']}")
    assert replayed.status_code != 200  # no cookie, and the state was consumed
    assert len(slack.calls_to("oauth.v2.access")) == 1


async def test_two_workspaces_subscribe_and_get_their_digests_with_their_own_tokens(
    slack: FakeSlack, store: Store, served: tuple[SlackAdapter, httpx.AsyncClient]
) -> None:
    adapter, client = served
    for team in ("T2", "T3"):
        assert (await install(client, slack, team)).status_code == 200
    article(store, 1)
    await command(client, slack, "subscribe ukraine hourly", team="T2", channel="C2")
    await command(client, slack, "subscribe ukraine hourly", team="T3", channel="C3")
    await slack.wait_responses_async(2)
    subs = {s.channel: s for s in store.list_subscriptions(platform="slack")}
    assert {c: s.team for c, s in subs.items()} == {"C2": "T2", "C3": "T3"}

    slot = slot_key(NOW)
    for sub in subs.values():
        ref = digest_ref(sub, slot)

        async def post(briefing: Any, sub: Any = sub, ref: str = ref) -> str:
            return await adapter.post_digest(sub, briefing, ref)

        assert await run_digest(store, sub, slot, post=post, topics=TOPICS, now=NOW, by="test") == "posted"
        found = await adapter.find_digest(sub, ref, NOW - timedelta(hours=1))
        (message,) = slack.messages(sub.channel)
        assert found == f"slack:{sub.channel}:{message['ts']}"
        assert message["team"] == sub.team and message["user"] == f"U{sub.team}BOT"
    posts = {c.params["channel"]: c.token for c in slack.calls_to("chat.postMessage")}
    assert posts == {"C2": slack.team_token("T2"), "C3": slack.team_token("T3")}
    # users.info (manager check) was not needed: UADMIN1 is a manager; answers went to each command's response_url
    assert all(r.text and "Subscribed" in r.text for r in slack.responses)


async def test_app_uninstalled_pauses_only_that_workspaces_subscriptions(
    slack: FakeSlack, store: Store, served: tuple[SlackAdapter, httpx.AsyncClient]
) -> None:
    adapter, client = served
    for team in ("T2", "T3"):
        assert (await install(client, slack, team)).status_code == 200
    two = store.add_subscription("slack", "C2", "ukraine", schedule="hourly", tz="UTC", now=NOW, team="T2")
    three = store.add_subscription("slack", "C3", "ukraine", schedule="hourly", tz="UTC", now=NOW, team="T3")

    slack.revoke_team("T2")
    body = slack.event_body({"type": "app_uninstalled"}, team_id="T2")
    event = await client.post(
        "/slack/events", content=body, headers=signed_headers(SECRET, body, content_type="application/json")
    )
    assert event.status_code == 200, event.text

    paused = await paused_soon(store, two.id)  # Bolt acks an event first, then runs its listener
    assert "uninstalled" in (paused.paused_reason or "") and "/slack/install" in (paused.paused_reason or "")
    running = store.get_subscription(three.id)
    assert running is not None and not running.paused
    assert [b["team_id"] for b in bots(store)] == ["T3"]
    with pytest.raises(ChannelUnavailable, match="not installed in workspace T2"):
        await adapter.post_digest(two, _empty_briefing(), "ref")
    assert not [c for c in slack.calls_to("chat.postMessage") if c.token == slack.team_token("T2")]


async def test_tokens_revoked_for_the_bot_pauses_that_workspace(
    slack: FakeSlack, store: Store, served: tuple[SlackAdapter, httpx.AsyncClient]
) -> None:
    _, client = served
    assert (await install(client, slack, "T2")).status_code == 200
    sub = store.add_subscription("slack", "C2", "ukraine", schedule="hourly", tz="UTC", now=NOW, team="T2")
    body = slack.event_body({"type": "tokens_revoked", "tokens": {"bot": ["UT2BOT"]}}, team_id="T2")
    event = await client.post(
        "/slack/events", content=body, headers=signed_headers(SECRET, body, content_type="application/json")
    )
    assert event.status_code == 200, event.text
    paused = await paused_soon(store, sub.id)
    assert "revoked" in (paused.paused_reason or "")
    assert bots(store) == []


def test_oauth_mode_names_the_missing_secrets_and_refuses_them_in_the_config(slack: FakeSlack, store: Store) -> None:
    with pytest.raises(SlackSetupError, match="SLACK_CLIENT_SECRET"):
        oauth_adapter(slack, store, client_secret=None)
    with pytest.raises(ConfigError, match="SLACK_CLIENT_SECRET"):
        settings_from_mapping({"slack": {"mode": "oauth", "client_secret": "x"}})


def _empty_briefing() -> Briefing:
    return Briefing(query="ukraine", generated_at=NOW, stories=(), more=0, window_hours=24.0)
