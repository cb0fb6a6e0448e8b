"""Poll rounds end to end on loopback: feed server -> fetch -> extract -> summarize -> store -> stories."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.config import Settings, settings_from_mapping
from bot.ingest import (
    EXTRACTION_NICENESS,
    PAGE_ATTEMPTS,
    Ingestor,
    extraction_pool,
    load_story_index,
    sync_config_feeds,
)
from bot.sources import Fetcher, extract_page
from bot.store import Article, Feed, Store
from bot.stories import StoryDecision, StoryIndex
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.conftest import require

NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)

BARRIER = (
    "The Harbour city council approved a tidal barrier on Tuesday after ten years of winter floods in the old "
    "town. The barrier will cost 40 million pounds and close the river mouth during storm surges. Engineers "
    "said the design protects 3,000 homes and the historic fish market. "
    '"We cannot keep sandbagging the old town every winter," Mayor Ellen Ward told reporters after the vote. '
    "Work on the barrier starts in May and should finish within three years. Opponents said the barrier "
    "would harm the estuary's wildlife and asked for a review, and the council promised a survey first."
)
BARRIER_OTHER_OUTLET = (
    "Harbour's city council approved a tidal barrier on Tuesday after a decade of winter floods in the old "
    "town. The barrier will cost 40 million pounds and will close the river mouth during storm surges. "
    "Engineers said the design protects 3,000 homes and the historic fish market. "
    '"We cannot keep sandbagging the old town every winter," Mayor Ellen Ward said. Work starts in May and '
    "should take three years. Wildlife groups asked for a review of the effects on the estuary."
)
BRIDGE = (
    "The northern rail bridge reopened on Monday after eight months of repairs that cost 12 million pounds. "
    "Commuters said journeys into the city were again down to twenty minutes, and shops on the quay reported "
    'more customers within hours. "It has been a long winter for everyone who lives on the north bank," '
    "rail manager Tom Iles said. The operator will run extra trains at weekends until the end of April, and "
    "a new footpath beside the line opens in the summer."
)


def page(title: str, body: str) -> str:
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in body.split(". ") if s.strip())
    return (
        f"<html><head><title>{title}</title><meta name='author' content='Sam Reed'></head><body>"
        f"<nav>Home | World | Sport</nav><article><h1>{title}</h1>{paragraphs}</article>"
        "<footer>Sign up for our newsletter. Copyright 2025 Harbour Post.</footer></body></html>"
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def settings() -> Settings:
    return settings_from_mapping({"network": {"allow_private": ["127.0.0.1"]}, "poll": {"backfill": 0}})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'nb.db'}")
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as c:
        yield c


def ingestor(store: Store, client: httpx.AsyncClient, settings: Settings, executor: Executor | None = None) -> Ingestor:
    return Ingestor(
        store,
        Fetcher(client, settings.network),
        settings,
        stories=load_story_index(store, NOW, days=30),
        rng=random.Random(0),
        extract_executor=executor,
    )


async def test_first_poll_is_backlog_then_304_then_new_entries_are_eligible(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    server.route("/barrier", page("Council approves tidal barrier", BARRIER))
    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    items = [
        Item("Council approves tidal barrier", server.url("/barrier"), guid="b1", published=NOW - timedelta(hours=2)),
        Item("Rail bridge reopens", server.url("/bridge"), guid="b2", published=NOW - timedelta(hours=1)),
    ]
    server.route("/feed.xml", rss_feed(items), etag='"v1"', headers={"Content-Type": "application/rss+xml"})
    feed = store.add_feed(server.url("/feed.xml"), name="Harbour Post", interval_s=900, now=NOW)

    results = await ingestor(store, client, settings).poll_round(NOW)
    assert [(r.status, r.new) for r in results] == [("ok", 2)]
    articles = store.list_articles(10)
    assert len(articles) == 2
    assert all(not a.eligible for a in articles)  # backfill = 0: a new feed's entries are backlog
    barrier = store.get_article(server.url("/barrier"))
    assert barrier is not None and barrier.text_source == "page"
    assert "40 million pounds" in barrier.text and "Sign up" not in barrier.text
    assert barrier.summary is not None and barrier.summary["sentences"]
    assert any(q["speaker"] == "Ellen Ward" for q in barrier.summary["quotes"])

    # Next round: the feed answers 304 to our conditional request; nothing is fetched again.
    later = NOW + timedelta(minutes=16)
    results = await ingestor(store, client, settings).poll_round(later)
    assert [r.status for r in results] == ["not_modified"]
    assert server.requests_for("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'

    # A new entry appears: it is stored and eligible; the old ones are unchanged and not re-fetched.
    server.route("/harbour-2", page("Barrier survey starts", BARRIER.replace("Tuesday", "Friday") + " More."))
    items.append(Item("Barrier survey starts", server.url("/harbour-2"), guid="b3", published=later))
    server.route("/feed.xml", rss_feed(items), etag='"v2"', headers={"Content-Type": "application/rss+xml"})
    page_fetches = len(server.requests_for("/barrier"))
    results = await ingestor(store, client, settings).poll_round(later + timedelta(minutes=16))
    assert [(r.status, r.new, r.unchanged) for r in results] == [("ok", 1, 2)]
    assert len(server.requests_for("/barrier")) == page_fetches
    fresh = store.get_article(server.url("/harbour-2"))
    assert fresh is not None and fresh.eligible
    assert store.get_feed(feed.id) is not None


async def test_a_failing_feed_is_recorded_backs_off_and_never_stops_the_others(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    settings = settings_from_mapping({"network": {"allow_private": ["127.0.0.1"]}, "poll": {"disable_after": 3}})
    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    server.route("/good.xml", rss_feed([Item("Rail bridge reopens", server.url("/bridge"), guid="g1")]))
    server.route("/bad.xml", "oops", status=500)
    good = store.add_feed(server.url("/good.xml"), interval_s=900, now=NOW)
    bad = store.add_feed(server.url("/bad.xml"), interval_s=900, now=NOW)

    results = {r.feed_id: r for r in await ingestor(store, client, settings).poll_round(NOW)}
    assert results[good.id].status == "ok" and results[good.id].new == 1
    assert results[bad.id].status == "error" and "500" in results[bad.id].errors[0]
    stored_bad = store.get_feed(bad.id)
    assert stored_bad is not None and stored_bad.consecutive_failures == 1 and stored_bad.last_error_kind == "http"
    assert stored_bad.next_poll_at is not None and stored_bad.next_poll_at > NOW

    when = NOW
    for _ in range(2):
        when += timedelta(days=2)  # past any backoff
        await ingestor(store, client, settings).poll_round(when, all_feeds=True)
    stored_bad = store.get_feed(bad.id)
    assert stored_bad is not None and not stored_bad.enabled and stored_bad.disabled_reason
    assert len(store.list_articles(10)) == 1  # nothing stored was lost


async def test_page_failure_falls_back_to_the_feeds_own_text(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    server.route("/gone", "not here", status=404)
    item = Item("Bridge reopens", server.url("/gone"), guid="x1", content=f"<p>{BRIDGE}</p>")
    server.route("/feed.xml", rss_feed([item]))
    store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    results = await ingestor(store, client, settings).poll_round(NOW)
    assert results[0].new == 1
    article = store.get_article(server.url("/gone"))
    assert article is not None and article.text_source == "feed" and "12 million pounds" in article.text


async def test_same_article_in_two_feeds_is_stored_once_and_one_story_spans_outlets(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    server.route("/barrier", page("Council approves tidal barrier", BARRIER))
    server.route("/other/barrier", page("Tidal barrier approved", BARRIER_OTHER_OUTLET))
    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    tracked = server.url("/barrier") + "?utm_source=rss&utm_medium=feed"
    server.route("/a.xml", rss_feed([Item("Council approves tidal barrier", tracked, guid="a1")]))
    server.route(
        "/b.xml",
        rss_feed(
            [
                Item("Council approves tidal barrier", server.url("/barrier"), guid="b1"),
                Item("Rail bridge reopens", server.url("/bridge"), guid="b2"),
            ]
        ),
    )
    # The same story from another outlet (another host name for the loopback server).
    other = server.url("/other/barrier", host="localhost")
    server.route("/c.xml", rss_feed([Item("Tidal barrier approved", other, guid="c1")]))
    settings = settings_from_mapping({"network": {"allow_private": ["127.0.0.1", "localhost"]}})
    for path in ("/a.xml", "/b.xml", "/c.xml"):
        store.add_feed(server.url(path), interval_s=900, now=NOW)

    await ingestor(store, client, settings).poll_round(NOW)
    articles = {a.canonical_url: a for a in store.list_articles(10)}
    assert len(articles) == 3
    barrier = store.get_article(server.url("/barrier"))
    assert barrier is not None and len(barrier.feeds) == 2
    other_article = store.get_article(other)
    bridge = store.get_article(server.url("/bridge"))
    assert other_article is not None and bridge is not None
    assert barrier.story_id is not None and barrier.story_id == other_article.story_id
    assert bridge.story_id != barrier.story_id

    # The index rebuilt from the store (a restart) puts the same story together again.
    index = load_story_index(store, NOW, days=30)
    assert index.story_of(barrier.id) == barrier.story_id


class BrokenIndex(StoryIndex):
    """A story index that fails on articles about the bridge, after it has indexed them."""

    def add(self, article_id: str, title: str, text: str, outlet: str, when: datetime, **kw: Any) -> StoryDecision:
        decided = super().add(article_id, title, text, outlet, when, **kw)
        if "bridge" in title.lower():
            raise RuntimeError("story index broke")
        return decided


async def test_an_entry_whose_story_fails_is_not_stored_and_not_indexed(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    """An article is stored with its story or not at all; the index keeps only what the database has."""
    items = [
        Item("Council approves tidal barrier", server.url("/barrier"), guid="b1", content=f"<p>{BARRIER}</p>"),
        Item("Rail bridge reopens", server.url("/bridge"), guid="b2", content=f"<p>{BRIDGE}</p>"),
    ]
    server.route("/feed.xml", rss_feed(items))
    store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    settings = settings_from_mapping({"network": {"allow_private": ["127.0.0.1"]}, "poll": {"fetch_pages": False}})
    index = BrokenIndex()
    polling = Ingestor(store, Fetcher(client, settings.network), settings, stories=index, rng=random.Random(0))
    result = (await polling.poll_round(NOW))[0]
    assert (result.status, result.new) == ("ok", 1) and "story index broke" in result.errors[0]
    stored = store.list_articles(10)
    assert [a.title for a in stored] == ["Council approves tidal barrier"] and stored[0].story_id is not None
    assert len(index) == 1 and stored[0].id in index
    assert store.integrity_check() == []


def test_config_feeds_are_added_once(store: Store) -> None:
    settings = settings_from_mapping({"feeds": [{"url": "https://example.org/a.xml", "name": "A", "interval": "1h"}]})
    added = sync_config_feeds(store, settings, NOW)
    assert [(f.url, f.name, f.interval_s) for f in added] == [("https://example.org/a.xml", "A", 3600)]
    assert sync_config_feeds(store, settings, NOW) == []


def test_config_feeds_added_meanwhile_by_another_process_are_not_an_error(store: Store) -> None:
    """Two bots starting together sync the same config: the one that loses the race takes the other's feed."""

    class Racing(Store):
        """This process's store; another process adds the feed between our lookup and our insert."""

        def get_feed(self, id_or_url: int | str) -> Feed | None:
            found = super().get_feed(id_or_url)
            if found is None and not raced:
                raced.append(store.add_feed(str(id_or_url), name="B", interval_s=60, now=NOW))
            return found

    raced: list[Feed] = []
    settings = settings_from_mapping({"feeds": [{"url": "https://example.org/a.xml", "name": "A"}]})
    with Racing(store.url) as ours:
        assert sync_config_feeds(ours, settings, NOW) == []
    assert [f.id for f in raced] == [f.id for f in store.list_feeds()]


async def test_date_churn_duplicate_guids_and_broken_xml_lose_nothing(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    server.route("/barrier", page("Council approves tidal barrier", BARRIER))
    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    items = [
        Item("Council approves tidal barrier", server.url("/barrier"), guid="same", published=NOW),
        Item("Rail bridge reopens", server.url("/bridge"), guid="same", published=NOW),  # a reused GUID
    ]
    server.route("/feed.xml", rss_feed(items))
    store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    first = await ingestor(store, client, settings).poll_round(NOW)
    assert first[0].new == 2  # a reused GUID does not make two different articles one
    texts = {a.id: a.text for a in store.list_articles(10)}

    # The feed re-publishes both entries with new dates only: nothing is new, nothing is rewritten.
    churned = [Item(i.title, i.link, guid=i.guid, published=NOW + timedelta(days=1)) for i in items]
    server.route("/feed.xml", rss_feed(churned))
    again = await ingestor(store, client, settings).poll_round(NOW + timedelta(hours=1), all_feeds=True)
    assert (again[0].new, again[0].updated, again[0].unchanged) == (0, 0, 2)
    assert {a.id: a.text for a in store.list_articles(10)} == texts

    # Broken XML after the first item: the entry that parsed is kept, the error is recorded.
    broken = rss_feed(items[:1]).replace("</channel>", "<item><title>cut off")
    server.route("/feed.xml", broken)
    result = (await ingestor(store, client, settings).poll_round(NOW + timedelta(hours=2), all_feeds=True))[0]
    assert result.status == "ok" and result.errors
    assert {a.id: a.text for a in store.list_articles(10)} == texts

    # Cut off after an item's title: the headline alone (no link, GUID or text) is not made an article.
    for headline in ("Gales batter the coast", "Council vote delayed"):
        truncated = rss_feed(items[:1]).replace("</channel>", f"<item><title>{headline}</title>")
        server.route("/feed.xml", truncated)
        result = (await ingestor(store, client, settings).poll_round(NOW + timedelta(hours=3), all_feeds=True))[0]
        assert result.status == "ok" and result.unchanged == 1
        assert f"entry '{headline}' skipped: it has no link, no GUID and no text" in result.errors
    assert {a.id: a.text for a in store.list_articles(10)} == texts


async def test_an_empty_feed_and_a_slow_feed_do_not_hold_up_the_round(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    settings = settings_from_mapping({"network": {"allow_private": ["127.0.0.1"], "read_timeout": "1s"}})
    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    server.route("/good.xml", rss_feed([Item("Rail bridge reopens", server.url("/bridge"), guid="g")]))
    server.route("/empty.xml", rss_feed([]))
    server.route("/slow.xml", rss_feed([]), delay=3.0)
    paths = ("/good.xml", "/empty.xml", "/slow.xml")
    ids = {path: store.add_feed(server.url(path), interval_s=900, now=NOW).id for path in paths}
    results = {r.feed_id: r for r in await ingestor(store, client, settings).poll_round(NOW)}
    assert results[ids["/good.xml"]].new == 1
    assert results[ids["/empty.xml"]].status == "ok" and results[ids["/empty.xml"]].new == 0
    slow = results[ids["/slow.xml"]]
    assert slow.status == "error"
    feed = store.get_feed(ids["/slow.xml"])
    assert feed is not None and feed.last_error_kind == "timeout"


async def test_pages_can_be_extracted_in_a_worker_process(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    server.route("/bridge", page("Rail bridge reopens", BRIDGE))
    server.route("/feed.xml", rss_feed([Item("Rail bridge reopens", server.url("/bridge"), guid="p1")]))
    store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        worker = Ingestor(
            store,
            Fetcher(client, settings.network),
            settings,
            stories=load_story_index(store, NOW, days=30),
            rng=random.Random(0),
            extract_executor=pool,
        )
        results = await worker.poll_round(NOW)
    assert results[0].new == 1
    article = store.get_article(server.url("/bridge"))
    assert article is not None and article.text_source == "page" and "12 million pounds" in article.text


# ---------------------------------------------------------------------------------------------------------
# Slow article pages: a budget per page, retries with backoff, never the feed's failure

TRICKLE = 0.4  # seconds between the pieces of a slow page: about 3 s for a whole page, far beyond the budgets below


@pytest.fixture(scope="module")
def warm_extraction() -> None:
    """The first extractions in a process load parts of trafilatura (half a second for a short page), which would
    count against the first page's tiny budget in these tests."""
    for body in (BRIDGE, "Subscribe to read the whole story"):
        extract_page(page("Warm-up", body), "http://127.0.0.1/warm-up")


def page_settings(**poll: object) -> Settings:
    """Settings with tiny page budgets, so that a slow page costs the test half a second."""
    return settings_from_mapping(
        {"network": {"allow_private": ["127.0.0.1"]}, "poll": {"backfill": 0, "page_budget": "500ms", **poll}}
    )


def slow_and_fast_feed(server: FeedServer, slow: int, fast: int) -> tuple[list[str], list[str]]:
    """A feed whose first ``slow`` entries have trickling pages and the next ``fast`` quick ones; each entry
    carries a snippet of its own in the feed. Returns the slow and the fast page URLs."""
    items: list[Item] = []
    urls: dict[str, list[str]] = {"slow": [], "fast": []}
    for kind, count in (("slow", slow), ("fast", fast)):
        for i in range(count):
            path = f"/{kind}-{i}"
            text = (BARRIER if kind == "slow" else BRIDGE).replace("Tuesday", f"day {i}").replace("Monday", f"day {i}")
            server.route(path, page(f"{kind} story {i}", text), trickle=TRICKLE if kind == "slow" else 0.0)
            urls[kind].append(server.url(path))
            items.append(Item(f"{kind} story {i}", server.url(path), guid=path, summary=f"Snippet of {kind} {i}."))
    server.route("/feed.xml", rss_feed(items))
    return urls["slow"], urls["fast"]


def page_requests(server: FeedServer, urls: list[str]) -> list[int]:
    """How many times the server was asked for each URL."""
    return [len(server.requests_for(urlsplit(url).path)) for url in urls]


def articles_at(store: Store, urls: list[str]) -> list[Article]:
    found = [store.article_at(url) for url in urls]
    assert all(a is not None for a in found), f"not stored: {[u for u, a in zip(urls, found, strict=True) if not a]}"
    return [a for a in found if a is not None]


@pytest.mark.usefixtures("warm_extraction")
async def test_slow_pages_fall_back_to_the_feeds_text_and_are_retried_with_backoff_not_every_poll(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    slow, fast = slow_and_fast_feed(server, slow=3, fast=2)
    feed = store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    settings = page_settings()

    results = await ingestor(store, client, settings).poll_round(NOW)
    assert [(r.status, r.new) for r in results] == [("ok", 5)]  # every entry stored, none lost to the slow pages
    assert any(
        e.startswith("pages: 3 article pages not used") and "no page within 500ms" in e for e in results[0].errors
    )
    stored = store.get_feed(feed.id)
    assert stored is not None and stored.enabled and stored.consecutive_failures == 0
    for article in articles_at(store, slow):
        assert article.text_source == "feed" and article.text.startswith("Snippet of slow")
        assert article.page_attempts == 1 and article.page_error == "no page within 500ms"
        assert article.page_retry_at is not None and article.page_retry_at > NOW + timedelta(seconds=900)
    assert all(a.text_source == "page" for a in articles_at(store, fast))
    assert page_requests(server, slow + fast) == [1] * 5

    # The next poll, one interval later: neither the slow pages (backing off) nor the fast ones are fetched.
    results = await ingestor(store, client, settings).poll_round(NOW + timedelta(seconds=901))
    assert [(r.status, r.unchanged, r.errors) for r in results] == [("ok", 5, [])]
    assert page_requests(server, slow + fast) == [1] * 5

    # Once their retry time has come (the feed is polled then, due or not) the slow pages are fetched again;
    # quick now, their text replaces the snippet.
    for path in ("/slow-0", "/slow-1", "/slow-2"):
        server.routes[path].trickle = 0.0
    retry_at = max(a.page_retry_at for a in articles_at(store, slow) if a.page_retry_at is not None)
    results = await ingestor(store, client, settings).poll_round(retry_at, all_feeds=True)
    assert [(r.status, r.updated, r.unchanged) for r in results] == [("ok", 3, 2)]
    assert page_requests(server, slow + fast) == [2, 2, 2, 1, 1]
    for article in articles_at(store, slow):
        assert article.text_source == "page" and "40 million pounds" in article.text
        assert (article.page_attempts, article.page_retry_at, article.page_error) == (0, None, None)

    # Stored from their pages, no entry's page is fetched again.
    await ingestor(store, client, settings).poll_round(retry_at + timedelta(days=3), all_feeds=True)
    assert page_requests(server, slow + fast) == [2, 2, 2, 1, 1]


@pytest.mark.usefixtures("warm_extraction")
async def test_pages_left_when_the_feeds_time_runs_out_are_fetched_on_the_next_poll(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    slow, _ = slow_and_fast_feed(server, slow=8, fast=0)
    store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)

    # 1.2 s for the whole feed, 0.5 s a page: at most 3 pages are tried, the other entries are stored at once.
    results = await ingestor(store, client, page_settings(feed_timeout="1200ms")).poll_round(NOW)
    assert [(r.status, r.new) for r in results] == [("ok", 8)]
    assert any("pages left for a later poll (the feed's 1.2s ran out)" in e for e in results[0].errors)
    articles = articles_at(store, slow)
    assert all(a.text_source == "feed" for a in articles)
    timed_out = [a.url for a in articles if a.page_error is not None]
    deferred = [a.url for a in articles if a.page_error is None]
    assert 1 <= len(timed_out) <= 2 and len(deferred) >= 6  # a page cut short by the feed's time is not a failure
    assert sum(page_requests(server, slow)) <= 3 and page_requests(server, timed_out) == [1] * len(timed_out)

    # Next poll (the pages are quick now): the deferred pages are fetched, the timed-out ones wait for their retry.
    for i in range(8):
        server.routes[f"/slow-{i}"].trickle = 0.0
    roomy = page_settings(feed_timeout="60s", page_budget="30s")
    results = await ingestor(store, client, roomy).poll_round(NOW + timedelta(seconds=901))
    assert [(r.status, r.updated) for r in results] == [("ok", len(deferred))]
    assert page_requests(server, timed_out) == [1] * len(timed_out)
    assert all(a.text_source == "page" for a in articles_at(store, deferred))
    assert all(a.text_source == "feed" for a in articles_at(store, timed_out))


@pytest.mark.usefixtures("warm_extraction")
async def test_failing_pages_never_disable_their_feed_and_are_given_up_after_a_few_tries(
    server: FeedServer, store: Store, client: httpx.AsyncClient
) -> None:
    server.route("/unavailable", "busy", status=503)
    server.route("/gone", "not here", status=404)
    server.route("/reset", page("Council approves tidal barrier", BARRIER), reset_after=100)
    server.route("/short", page("Teaser", "Subscribe to read the whole story"))
    paths = ("/unavailable", "/gone", "/reset", "/short")
    items = [Item(f"Story {p}", server.url(p), guid=p, summary=f"Snippet {p}.") for p in paths]
    server.route("/feed.xml", rss_feed(items))
    # A feed whose own document is too slow fails, and is disabled after `disable_after` polls in a row.
    server.route("/slow.xml", rss_feed(items[:1]), trickle=1.0)
    feed = store.add_feed(server.url("/feed.xml"), interval_s=900, now=NOW)
    slow_feed = store.add_feed(server.url("/slow.xml"), interval_s=900, now=NOW)
    settings = page_settings(disable_after=3, feed_timeout="600ms")

    when = NOW
    for _ in range(PAGE_ATTEMPTS + 1):
        results = {r.feed_id: r for r in await ingestor(store, client, settings).poll_round(when, all_feeds=True)}
        assert results[feed.id].status == "ok"
        stored = store.get_feed(feed.id)
        assert stored is not None and stored.enabled and stored.consecutive_failures == 0
        when += timedelta(days=2)  # past any page's backoff
    disabled = store.get_feed(slow_feed.id)
    assert disabled is not None and not disabled.enabled and disabled.last_error_kind == "timeout"
    assert "not fetched and read within 600ms" in (disabled.disabled_reason or "")

    # A server error and a dropped connection are tried PAGE_ATTEMPTS times in all; a missing page and one with
    # too little text are not fetched again. Every entry keeps the feed's text.
    urls = [server.url(p) for p in paths]
    assert page_requests(server, urls) == [PAGE_ATTEMPTS, 1, PAGE_ATTEMPTS, 1]
    articles = articles_at(store, urls)
    assert [a.page_attempts for a in articles] == [PAGE_ATTEMPTS, 1, PAGE_ATTEMPTS, 1]
    assert all(a.page_retry_at is None and a.text_source == "feed" for a in articles)
    assert [a.page_error for a in articles][:2] == ["http: HTTP 503 Service Unavailable", "http: HTTP 404 Not Found"]
    assert (articles[2].page_error or "").startswith("connect: ")
    assert (articles[3].page_error or "").startswith("too little text (")


def site_page(headline: str, body: str, *, site_name: str | None, meta: str = "og:site_name") -> str:
    """An article page with the site's own name in a meta tag, and no ``<title>``: the headline is the ``<h1>``."""
    named = f"<meta property='{meta}' name='{meta}' content='{site_name}'>" if site_name else ""
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in body.split(". ") if s.strip())
    return f"<html><head>{named}</head><body><article><h1>{headline}</h1>{paragraphs}</article></body></html>"


async def test_outlet_is_the_feeds_name_else_the_sites_own_and_a_missing_headline_comes_from_the_page(
    server: FeedServer, store: Store, client: httpx.AsyncClient, settings: Settings
) -> None:
    server.route("/named/bridge", page("Rail bridge reopens", BRIDGE))
    server.route("/named.xml", rss_feed([Item("Rail bridge reopens", server.url("/named/bridge"), guid="n1")]))
    store.add_feed(server.url("/named.xml"), name="The Harbour Post", interval_s=900, now=NOW)
    # A feed added without a name; its item has no headline and carries the whole text itself, so the page
    # (a short teaser) gives only its headline and the site's own name.
    server.route(
        "/plain/barrier", site_page("Council approves tidal barrier", "Read the story", site_name="Coast News")
    )
    server.route(
        "/plain/app", site_page("Ferry fares rise", "Read on", site_name="Ferry Times", meta="application-name")
    )
    server.route("/plain/bare", site_page("Rail bridge reopens again", "More", site_name=None))
    items = [
        Item("", server.url("/plain/barrier"), guid="p1", content=f"<p>{BARRIER}</p>"),
        Item("Ferry fares rise", server.url("/plain/app"), guid="p2", content=f"<p>{BRIDGE} Fares rise.</p>"),
        Item("Bridge again", server.url("/plain/bare"), guid="p3", content=f"<p>{BRIDGE} Again.</p>"),
    ]
    server.route("/plain.xml", rss_feed(items))
    store.add_feed(server.url("/plain.xml"), interval_s=900, now=NOW)

    await ingestor(store, client, settings).poll_round(NOW)
    named = store.get_article(server.url("/named/bridge"))
    barrier = store.get_article(server.url("/plain/barrier"))
    app = store.get_article(server.url("/plain/app"))
    bare = store.get_article(server.url("/plain/bare"))
    assert named is not None and barrier is not None and app is not None and bare is not None
    assert named.outlet == "The Harbour Post"  # the configured name, not the host
    assert barrier.outlet == "Coast News" and app.outlet == "Ferry Times"  # og:site_name, application-name
    assert bare.outlet == "127.0.0.1"  # nothing better known: the host
    assert barrier.text_source == "feed" and "40 million pounds" in barrier.text
    assert barrier.title == "Council approves tidal barrier"  # the item had none: the page's <h1>


GERMAN_ARTICLE = (
    "Die Brücke über die Lahn bleibt bis zum Sommer gesperrt. Bürgermeisterin Anna Keller kündigte am Montag eine "
    "rasche Reparatur an, die Kosten tragen Land und Bund. "
    "„Wir werden die Brücke bis zum Sommer wieder öffnen“, sagte Keller am Montag vor dem Rathaus. "
    "Die Händler in der Altstadt klagen über weniger Kunden, seit die Brücke gesperrt ist. "
    "Eine Umleitung führt über die Nordbrücke und kostet Pendler jeden Tag eine halbe Stunde."
)
FRENCH_ARTICLE = (
    "Le pont sur la Loire restera fermé jusqu'à l'été. Le maire de la ville, Jean Dupont, a annoncé lundi des "
    "travaux rapides pour un coût de deux millions d'euros. "
    "« Nous allons reconstruire le pont avant la fin de l'été », a déclaré le maire, Jean Dupont. "
    "Les commerçants du centre se plaignent d'une baisse de la clientèle depuis la fermeture du pont. "
    "Une déviation passe par le pont du nord et coûte une demi-heure par jour aux habitants."
)


@pytest.mark.parametrize("where", ["in process", "in the extraction process"])
async def test_each_article_is_summarized_in_its_feeds_language_configured_or_detected(
    server: FeedServer, store: Store, client: httpx.AsyncClient, where: str
) -> None:
    """A feed's configured ``language`` wins; without one the article's language is detected; quotes in it get
    their speaker and the language is stored with the article. The same in the extraction process (a worker's
    pages are extracted, and their texts summarized, there)."""
    server.route("/de/bruecke", page("Lahnbrücke bleibt bis zum Sommer gesperrt", GERMAN_ARTICLE))
    server.route("/fr/pont", page("Le pont sur la Loire reste fermé", FRENCH_ARTICLE))
    server.route("/de.xml", rss_feed([Item("Lahnbrücke bleibt gesperrt", server.url("/de/bruecke"), guid="d1")]))
    server.route("/fr.xml", rss_feed([Item("Le pont reste fermé", server.url("/fr/pont"), guid="f1")]))
    settings = settings_from_mapping(
        {
            "network": {"allow_private": ["127.0.0.1"]},
            "feeds": [{"url": server.url("/fr.xml"), "language": "fr"}],  # the German feed has no language
        }
    )
    sync_config_feeds(store, settings, NOW)
    store.add_feed(server.url("/de.xml"), interval_s=900, now=NOW)

    with extraction_pool() as pool:
        await ingestor(store, client, settings, pool if where != "in process" else None).poll_round(NOW)
    german = store.get_article(server.url("/de/bruecke"))
    french = store.get_article(server.url("/fr/pont"))
    assert german is not None and french is not None
    assert german.language == "german" and french.language == "french"
    assert german.summary is not None and french.summary is not None
    assert [q["speaker"] for q in german.summary["quotes"]] == ["Anna Keller"]
    assert [q["speaker"] for q in french.summary["quotes"]] == ["Jean Dupont"]


def test_the_extraction_pool_is_wound_up_when_its_block_ends() -> None:
    """Nothing of the pool outlives its block: a manager thread left running races the interpreter's exit handler
    for its wake-up pipe ("Bad file descriptor" printed as a worker process ends)."""
    with extraction_pool() as pool:
        assert pool.submit(len, "abc").result(timeout=60) == 3
    assert [t for t in threading.enumerate() if type(t).__name__ == "_ExecutorManagerThread"] == []


def test_the_extraction_process_yields_the_cpu_to_the_process_it_serves() -> None:
    """The extraction process runs at a lower CPU priority than its parent: on a shared core, the parent's thread
    that stores articles under the story lock (which every worker waits for) runs as soon as it can."""
    require(hasattr(os, "getpriority"), "process priorities are POSIX")
    with extraction_pool() as pool:
        child = pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=60)
    assert child == min(19, os.getpriority(os.PRIO_PROCESS, 0) + EXTRACTION_NICENESS)


_KILLED_PARENT = """
import os, sys, time
from bot.ingest import extraction_pool

with extraction_pool() as pool:
    print(pool.submit(os.getpid).result(timeout=60), flush=True)
    time.sleep(120)
"""


def test_the_extraction_process_ends_when_its_parent_is_killed() -> None:
    """A process killed outright never shuts its pool down: its extraction process still ends (it would wait for
    work for good, holding the killed process's stdout open: a reader of that output never sees its end)."""
    require(hasattr(signal, "SIGKILL") and Path("/proc").is_dir(), "SIGKILL and /proc are Linux's")
    parent = subprocess.Popen(
        [sys.executable, "-c", _KILLED_PARENT], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{child}").exists(), "the extraction process outlived its killed parent"
        assert parent.stdout.read() == ""  # the output ends: nothing holds it open
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
