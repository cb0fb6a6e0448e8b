"""Polite crawling: robots.txt for page fetches (cached per site, with an expiry on the injected clock), and an
honest User-Agent carrying the operator's contact. All against the loopback FeedServer."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot import __version__
from bot.config import NetworkConfig, Settings, settings_from_mapping
from bot.ingest import Ingestor, load_story_index
from bot.sources import Fetcher, RobotsCache
from bot.store import Store
from testkit.feedserver import FeedServer, Item, rss_feed
from tests import test_ingest
from tests.test_ingest import BARRIER, BRIDGE, page

NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
CONTACT = "https://ops.example/newsbrief-contact"
PRIVATE_ONLY = "User-agent: *\nDisallow: /private/\n"
POLICY = NetworkConfig(
    connect_timeout=timedelta(seconds=2),
    read_timeout=timedelta(seconds=2),
    allow_private=("127.0.0.1", "localhost"),
    total_timeout=timedelta(seconds=10),
)


server = test_ingest.server
client = test_ingest.client
store = test_ingest.store


def settings(**poll: Any) -> Settings:
    return settings_from_mapping({"network": {"allow_private": ["127.0.0.1"], "contact": CONTACT}, "poll": poll})


def robots_requests(server: FeedServer) -> int:
    return len(server.requests_for("/robots.txt"))


async def poll_two_pages(server: FeedServer, store: Store, client: httpx.AsyncClient, conf: Settings) -> None:
    server.route("/private/barrier", page("Council approves tidal barrier", BARRIER))
    server.route("/public/bridge", page("Rail bridge reopens", BRIDGE))
    items = [
        Item(
            "Council approves tidal barrier",
            server.url("/private/barrier"),
            guid="b1",
            summary="The council approved a tidal barrier.",
        ),
        Item("Rail bridge reopens", server.url("/public/bridge"), guid="b2", summary="The rail bridge reopened."),
    ]
    server.route("/feed.xml", rss_feed(items), headers={"Content-Type": "application/rss+xml"})
    feed = store.add_feed(server.url("/feed.xml"), name="Harbour Post", interval_s=900, now=NOW)
    ingestor = Ingestor(
        store,
        Fetcher(client, conf.network),
        conf,
        stories=load_story_index(store, NOW, days=30),
        rng=random.Random(0),
    )
    result = await ingestor.poll_feed(feed, NOW)
    assert (result.status, result.new, result.errors) == ("ok", 2, []), result


async def test_a_page_robots_txt_disallows_is_not_fetched_and_the_feed_text_is_kept(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    server.route("/robots.txt", PRIVATE_ONLY, headers={"Content-Type": "text/plain"})
    await poll_two_pages(server, store, client, settings())
    assert server.requests_for("/private/barrier") == []
    assert len(server.requests_for("/public/bridge")) == 1
    assert robots_requests(server) == 1  # once for the site, not once per page
    barrier = store.get_article(server.url("/private/barrier"))
    bridge = store.get_article(server.url("/public/bridge"))
    assert (
        barrier is not None
        and barrier.text_source == "feed"
        and barrier.text == "The council approved a tidal barrier."
    )
    assert bridge is not None and bridge.text_source == "page" and "north bank" in bridge.text
    agents = {r.headers["user-agent"] for r in server.requests}
    assert agents == {f"newsbrief/{__version__} (+{CONTACT})"}


async def test_with_respect_robots_off_robots_txt_is_never_read(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    server.route("/robots.txt", "User-agent: *\nDisallow: /\n")
    await poll_two_pages(server, store, client, settings(respect_robots=False))
    assert robots_requests(server) == 0
    assert len(server.requests_for("/private/barrier")) == 1
    barrier = store.get_article(server.url("/private/barrier"))
    assert barrier is not None and barrier.text_source == "page"


async def test_rules_for_newsbrief_by_name_apply(server: FeedServer, client: httpx.AsyncClient) -> None:
    server.route("/robots.txt", "User-agent: otherbot\nDisallow:\n\nUser-agent: newsbrief\nDisallow: /news/\n")
    robots = RobotsCache(Fetcher(client, POLICY))
    refusal = await robots.refusal(server.url("/news/a"), NOW)
    assert refusal == f"disallowed by {server.url('/robots.txt')}"
    assert await robots.refusal(server.url("/sport/a"), NOW) is None


async def test_no_robots_txt_allows_everything_and_is_remembered(server: FeedServer, client: httpx.AsyncClient) -> None:
    robots = RobotsCache(Fetcher(client, POLICY))
    for path in ("/a", "/private/b", "/c?x=1"):
        assert await robots.refusal(server.url(path), NOW) is None
    assert robots_requests(server) == 1  # the 404 is cached like a robots.txt


async def test_the_cache_expires_on_the_injected_clock(server: FeedServer, client: httpx.AsyncClient) -> None:
    server.route("/robots.txt", "User-agent: *\nDisallow: /\n")
    robots = RobotsCache(Fetcher(client, POLICY), ttl=timedelta(hours=24))
    url = server.url("/story")
    assert await robots.refusal(url, NOW) is not None
    server.route("/robots.txt", "User-agent: *\nAllow: /\n")
    assert await robots.refusal(url, NOW + timedelta(hours=23)) is not None  # still the cached rules
    assert robots_requests(server) == 1
    assert await robots.refusal(url, NOW + timedelta(hours=24)) is None  # expired: read again
    assert robots_requests(server) == 2


async def test_an_unavailable_robots_txt_holds_pages_back_for_a_while(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    server.route("/robots.txt", "busy", status=503)
    robots = RobotsCache(Fetcher(client, POLICY), retry=timedelta(hours=1))
    url = server.url("/public/story")
    refusal = await robots.refusal(url, NOW)
    assert refusal is not None and "unavailable" in refusal and "503" in refusal
    server.route("/robots.txt", PRIVATE_ONLY)
    assert await robots.refusal(url, NOW + timedelta(minutes=59)) is not None
    assert await robots.refusal(url, NOW + timedelta(hours=1)) is None
    assert await robots.refusal(server.url("/private/x"), NOW + timedelta(hours=1)) is not None
    # the rules are due again after a day; a server error then keeps the rules read before, for a while
    server.route("/robots.txt", "busy", status=500)
    later = NOW + timedelta(hours=25, minutes=1)
    assert await robots.refusal(url, later) is None
    assert await robots.refusal(server.url("/private/x"), later) is not None
    assert robots_requests(server) == 3


async def test_sites_are_told_apart_by_scheme_host_and_port(client: httpx.AsyncClient) -> None:
    with FeedServer() as one, FeedServer() as two:
        one.route("/robots.txt", "User-agent: *\nDisallow: /\n")
        robots = RobotsCache(Fetcher(client, POLICY))
        assert await robots.refusal(one.url("/a"), NOW) is not None
        assert await robots.refusal(two.url("/a"), NOW) is None
        assert await robots.refusal(one.url("/a", host="localhost"), NOW) is not None
        assert (robots_requests(one), robots_requests(two)) == (2, 1)


async def test_pages_asking_at_once_share_one_fetch(server: FeedServer, client: httpx.AsyncClient) -> None:
    server.route("/robots.txt", PRIVATE_ONLY, delay=0.05)
    robots = RobotsCache(Fetcher(client, POLICY))
    answers = await asyncio.gather(*(robots.refusal(server.url(f"/private/{i}"), NOW) for i in range(5)))
    assert all(a is not None for a in answers)
    assert robots_requests(server) == 1


async def test_only_http_pages_have_a_robots_txt(client: httpx.AsyncClient) -> None:
    robots = RobotsCache(Fetcher(client, POLICY))
    for url in ("file:///srv/demo/page.html", "urn:x:1", "mailto:a@b.example", "http://[::1:bad/"):
        assert await robots.refusal(url, NOW) is None


def test_the_user_agent_names_the_contact() -> None:
    assert settings().network.agent == f"newsbrief/{__version__} (+{CONTACT})"
    plain = settings_from_mapping({}).network
    assert plain.agent.startswith(f"newsbrief/{__version__} (+https://")
    mail = settings_from_mapping({"network": {"contact": "mailto:ops@example.org"}})
    assert mail.network.agent.endswith("(+mailto:ops@example.org)")
    own = settings_from_mapping({"network": {"contact": CONTACT, "user_agent": "HarbourBot/2.0"}})
    assert own.network.agent == "HarbourBot/2.0"  # a user_agent of one's own replaces it whole
    assert settings_from_mapping({}).poll.respect_robots is True
