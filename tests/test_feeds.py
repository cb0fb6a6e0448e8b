"""Feeds from chat: ``/brief feeds [list]``, ``feeds add <url>``, ``feeds remove <id>``, through
the command layer, the console, Slack and Discord, against a loopback feed server."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from bot.adapters.console import ConsoleAdapter, console_replier
from bot.adapters.discord import DiscordAdapter
from bot.adapters.slack import SlackAdapter
from bot.commands import (
    FILE_FROM_CHAT,
    BriefCommand,
    FeedsCommand,
    RateLimiter,
    Reply,
    UsageError,
    answer,
    needs_manager,
    parse_command,
)
from bot.config import Settings, settings_from_mapping
from bot.feeds import FeedFinder, feed_finder, feed_finder_on
from bot.ingest import http_client
from bot.sources import Fetcher, FoundFeed
from bot.store import Store
from testkit import chat_helpers
from testkit.chat_helpers import texts
from testkit.fakediscord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from testkit.fakeslack import FakeSlack
from testkit.feedserver import FeedServer, Item, rss_feed

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
TOPICS = {"ukraine": "ukraine OR kyiv"}
store = chat_helpers.store  # the fixture: a fresh SQLite store


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        items = [Item(f"Harbour story {n}", s.url(f"/story/{n}"), guid=f"h{n}") for n in range(3)]
        s.route("/feed.xml", rss_feed(items, title="Harbour Post"), headers={"Content-Type": "application/rss+xml"})
        home = (
            f'<html><head><link rel="alternate" type="application/rss+xml" href="{s.url("/feed.xml")}"></head></html>'
        )
        s.route("/home", home, headers={"Content-Type": "text/html"})
        s.route("/plain", "<html><body>No feed here</body></html>", headers={"Content-Type": "text/html"})
        s.route(
            "/sneaky",
            '<html><head><link rel="alternate" type="application/rss+xml" href="file:///etc/passwd"></head></html>',
            headers={"Content-Type": "text/html"},
        )
        yield s


def settings(*, allow_loopback: bool = True, **extra: Any) -> Settings:
    network = {"allow_private": ["127.0.0.1"]} if allow_loopback else {}
    return settings_from_mapping({"topics": TOPICS, "network": network, "poll": {"interval": "30m"}, **extra})


def ask(
    store: Store,
    text: str,
    *,
    config: Settings | None = None,
    feeds: FeedFinder | None = None,
    manager: bool = True,
    user: str = "U1",
    limiter: RateLimiter | None = None,
) -> Reply:
    config = config or settings()
    finder = feeds if feeds is not None else feed_finder(config, allow_file=False)
    return answer(
        parse_command(text),
        store=store,
        settings=config,
        user=user,
        channel="C1",
        now=NOW,
        limiter=limiter or RateLimiter(),
        platform="slack",
        is_manager=manager,
        feeds=finder,
    )


def never(url: str) -> FoundFeed:
    raise AssertionError(f"nothing may be fetched here, yet {url} was")


# ---------------------------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/brief feeds", FeedsCommand("list")),
        ("/brief feeds LIST", FeedsCommand("list")),
        ("/brief feeds add https://example.org/", FeedsCommand("add", "https://example.org/")),
        ("/brief feeds add <https://example.org/rss|example.org/rss>", FeedsCommand("add", "https://example.org/rss")),
        ("/brief feeds add <https://example.org/rss>", FeedsCommand("add", "https://example.org/rss")),
        ("/brief feeds remove #12", FeedsCommand("remove", "12")),
        ("/brief feeds of migrating birds", BriefCommand("feeds of migrating birds")),
        ("/brief feeds list of 2024", BriefCommand("feeds list of 2024")),
    ],
)
def test_parse_feeds_commands(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/brief feeds add", "feeds add needs one URL"),
        ("/brief feeds add https://a.example/ https://b.example/", "feeds add needs one URL"),
        ("/brief feeds remove", "feeds remove needs a feed id"),
        ("/brief feeds remove harbour", "feeds remove needs a feed id"),
    ],
)
def test_bad_feeds_usage(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as caught:
        parse_command(text)
    assert "/brief feeds add <url>" in caught.value.reply_text()


def test_adding_and_removing_need_a_manager_listing_does_not() -> None:
    assert needs_manager(FeedsCommand("add", "https://a.example/"))
    assert needs_manager(FeedsCommand("remove", "1"))
    assert not needs_manager(FeedsCommand("list"))


# ---------------------------------------------------------------------------------------------- answers


def test_a_manager_adds_a_feed_through_its_page(server: FeedServer, store: Store) -> None:
    reply = ask(store, f"/brief feeds add {server.url('/home')}")
    assert reply.kind == "text", reply.text
    assert reply.text == (
        f"Added feed #1: Harbour Post ({server.url('/feed.xml')}, discovered on {server.url('/home')}), 3 entries "
        "now; polled every 30m from the next round."
    )
    (feed,) = store.list_feeds()
    assert (feed.url, feed.name, feed.interval_s, feed.enabled) == (server.url("/feed.xml"), "Harbour Post", 1800, True)
    again = ask(store, f"/brief feeds add {server.url('/feed.xml')}")
    assert again.kind == "error" and again.ephemeral
    assert (
        again.text == f"Cannot add {server.url('/feed.xml')}: feed {server.url('/feed.xml')} is already added (id 1)."
    )
    listed = ask(store, "/brief feeds", manager=False)
    assert listed.kind == "text" and listed.ephemeral
    assert listed.text.splitlines() == [
        "Feeds (1 feed):",
        f"  #1 Harbour Post ({server.url('/feed.xml')}): not polled yet; last polled never",
    ]


def test_what_is_refused_and_why(tripwire: list[str], server: FeedServer, store: Store) -> None:
    refused = ask(store, f"/brief feeds add {server.url('/feed.xml')}", manager=False, feeds=never)
    assert (
        refused.kind == "error"
        and refused.text == "Adding and removing feeds needs channel-manager rights in this channel."
    )
    for url in ("file:///etc/passwd", "<file:///etc/passwd>", "FILE:/etc/passwd", "file://localhost/srv/feed.xml"):
        reply = ask(store, f"/brief feeds add {url}", feeds=never)
        assert (reply.kind, reply.text) == ("error", FILE_FROM_CHAT)
    blocked = ask(store, f"/brief feeds add {server.url('/feed.xml')}", config=settings(allow_loopback=False))
    assert blocked.kind == "error"
    assert blocked.text.startswith(f"Cannot add {server.url('/feed.xml')}: blocked: host '127.0.0.1' is or resolves")
    assert server.requests == []  # the guard refused it before any connection
    plain = ask(store, f"/brief feeds add {server.url('/plain')}")
    assert (
        plain.kind == "error" and "parse: neither a feed" in plain.text and "nor a page that links to one" in plain.text
    )
    sneaky = ask(store, f"/brief feeds add {server.url('/sneaky')}")  # a page may not make the bot read a file
    assert sneaky.kind == "error" and "neither a feed" in sneaky.text
    ftp = ask(store, "/brief feeds add ftp://files.example/feed.xml")
    assert ftp.kind == "error" and "invalid_url: unsupported scheme 'ftp'" in ftp.text
    unavailable = answer(
        parse_command("/brief feeds add https://a.example/"),
        store=store,
        settings=settings(),
        user="U1",
        channel="C1",
        now=NOW,
        limiter=RateLimiter(),
        is_manager=True,
    )
    assert unavailable.kind == "error" and "cannot be added from chat here" in unavailable.text
    assert store.list_feeds() == []
    assert tripwire == []


def test_adding_is_rate_limited_per_user(server: FeedServer, store: Store) -> None:
    limiter = RateLimiter(per_minute=1)
    assert ask(store, f"/brief feeds add {server.url('/plain')}", limiter=limiter).kind == "error"
    limited = ask(store, f"/brief feeds add {server.url('/feed.xml')}", limiter=limiter, feeds=never)
    assert "at most 1 a minute" in limited.text
    assert ask(store, f"/brief feeds add {server.url('/feed.xml')}", limiter=limiter, user="U2").kind == "text"


def test_removing_a_feed(store: Store) -> None:
    config = settings(feeds=[{"url": "https://configured.example/rss"}])
    configured = store.add_feed("https://configured.example/rss", now=NOW)
    added = store.add_feed("https://chat.example/rss", name="Chat", now=NOW)
    refused = ask(store, f"/brief feeds remove {added.id}", manager=False, config=config)
    assert refused.kind == "error" and "channel-manager rights" in refused.text
    kept = ask(store, f"/brief feeds remove {configured.id}", config=config)
    assert kept.kind == "error" and "is in the config's [[feeds]]: the operator removes it there" in kept.text
    assert ask(store, "/brief feeds remove 99", config=config).text == "No feed #99 (see /brief feeds list)."
    removed = ask(store, f"/brief feeds remove #{added.id}", config=config)
    assert (
        removed.text == f"Removed feed #{added.id}: Chat (https://chat.example/rss). Its articles stay in the archive."
    )
    assert [f.url for f in store.list_feeds()] == ["https://configured.example/rss"]


def test_console_adds_and_lists_feeds(server: FeedServer, store: Store) -> None:
    config = settings()
    console = Console(file=io.StringIO(), width=200, color_system=None)
    replier = console_replier(
        store, config, RateLimiter(10), now=lambda: NOW, feeds=feed_finder(config, allow_file=False)
    )
    lines = f"/brief feeds add {server.url('/feed.xml')}\n/brief feeds list\n/brief feeds add file:///etc/hosts\n"
    assert ConsoleAdapter(io.StringIO(lines), console, replier, echo=True).run() == 3
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert f"Added feed #1: Harbour Post ({server.url('/feed.xml')}), 3 entries now" in out
    assert f"#1 Harbour Post ({server.url('/feed.xml')}): not polled yet" in out
    assert "file: URLs are never accepted from chat" in out
    assert [f.url for f in store.list_feeds()] == [server.url("/feed.xml")]


# ---------------------------------------------------------------------------------------------- platforms


@pytest.fixture
async def bot_fetcher() -> AsyncIterator[Fetcher]:
    """A fetcher on the test's event loop, as ``newsbrief run`` makes one on its own."""
    async with http_client(settings()) as client:
        yield Fetcher(client, settings().network)


async def test_slack_feeds_add_needs_an_admin_and_fetches_on_the_bots_loop(
    server: FeedServer, store: Store, bot_fetcher: Fetcher
) -> None:
    with FakeSlack() as slack:
        slack.add_user("U0ANA1", "ana")
        slack.add_user("U0BO2", "bo", is_admin=True)
        config = settings(slack={"api_url": slack.api_url})
        adapter = SlackAdapter(
            settings=config,
            store=store,
            limiter=RateLimiter(10),
            clock=lambda: NOW,
            bot_token="xoxb-test",
            app_token="xapp-test",
            feeds=feed_finder_on(asyncio.get_running_loop(), bot_fetcher),
        )
        await adapter.start()
        try:
            await slack.slash_command_async(f"feeds add {server.url('/home')}", user_id="U0ANA1")
            await slack.slash_command_async(f"feeds add <{server.url('/home')}>", user_id="U0BO2")
            refused, added = await slack.wait_responses_async(2)
        finally:
            await adapter.close()
    assert refused.response_type == "ephemeral"
    assert any("Adding and removing feeds needs channel-manager rights" in t for t in texts(refused.body))
    assert any(f"Added feed #1: Harbour Post ({server.url('/feed.xml')}" in t for t in texts(added.body))
    assert [f.url for f in store.list_feeds()] == [server.url("/feed.xml")]


async def test_discord_feeds_add_needs_manage_channels_and_is_deferred(server: FeedServer, store: Store) -> None:
    guild, channel = "1100000000000000001", "1100000000000000002"
    with FakeDiscord(heartbeat_interval_ms=500) as fake:
        fake.add_guild(guild)
        fake.add_channel(channel, guild, "news")
        with fake.patch_discord_py():
            config = settings(discord={"api_url": fake.api_url, "guilds": [int(guild)]})
            adapter = DiscordAdapter(
                settings=config,
                store=store,
                limiter=RateLimiter(10),
                clock=lambda: NOW,
                token="discord-test-token",
                guild_ready_timeout=0.05,
                answer_within=0.0,
                feeds=feed_finder(config, allow_file=False),
            )
            await adapter.start()
            try:
                text = f"feeds add {server.url('/feed.xml')}"

                def interaction(permissions: int) -> Any:
                    return fake.interaction(
                        "brief", {"topic": text}, guild_id=guild, channel_id=channel, permissions=permissions
                    )

                refused = await asyncio.to_thread(interaction, MEMBER_PERMISSIONS)
                await asyncio.to_thread(refused.wait_callback)
                (refusal,) = await asyncio.to_thread(refused.wait_followups, 1)
                allowed = await asyncio.to_thread(interaction, MEMBER_PERMISSIONS | MANAGE_CHANNELS)
                callback = await asyncio.to_thread(allowed.wait_callback)
                (followup,) = await asyncio.to_thread(allowed.wait_followups, 1)
            finally:
                await adapter.close()
    assert callback.type == 5  # deferred (answer_within=0: as when the fetch takes longer than Discord's 3 s)
    assert "channel-manager rights" in json.dumps([refusal.content, refusal.embeds])
    assert "Added feed #1: Harbour Post" in json.dumps([followup.content, followup.embeds])
    assert [f.url for f in store.list_feeds()] == [server.url("/feed.xml")]
