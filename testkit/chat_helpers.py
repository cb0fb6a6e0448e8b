"""Helpers the Slack and Discord tests share: adapter tests (a store with articles, a new leader's scheduler pass,
a CLI config) and renderer tests (briefings, stories, random stories for property tests).

The ``store`` fixture is a fresh SQLite store (the adapter tests need no PostgreSQL run, unlike conftest's
``store``); a test module takes it with ``store = chat_helpers.store``.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from bot.briefing import Briefing, QuoteRef, SourceLink, StoryBrief
from bot.config import SchedulerConfig, Settings
from bot.digests import DigestChannel, slot_key
from bot.ingest import Ingestor, load_story_index
from bot.scheduler import Scheduler
from bot.sources import Fetcher
from bot.store import Store, Subscription

# ------------------------------------------------------------------------------------------------- adapter tests

NOW = datetime.now(UTC).replace(microsecond=0)
"""The adapter tests' clock (near the real time, so the fakes' message timestamps are near it, as on the platforms)."""
TOPICS = {"ukraine": "ukraine OR kyiv"}


class FakeTime:
    """A monotonic clock that moves only when slept on: ``sleep`` records each wait and advances the clock by it,
    so an adapter's pacing and retry waits take no real time and can be asserted (``waits``)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += max(0.0, seconds)


@contextlib.contextmanager
def sqlite_store(path: Path) -> Iterator[Store]:
    """A SQLite store at ``path``, upgraded; closed on exit."""
    with Store(f"sqlite:///{path}") as s:
        s.upgrade()
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with sqlite_store(tmp_path / "nb.db") as s:
        yield s


def article(store: Store, n: int, *, title: str = "Talks on Ukraine resume in Geneva", story: str = "s-talks") -> None:
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/talks/{n}",
        title=title,
        outlet=f"outlet{n}.example",
        now=NOW - timedelta(hours=1),
        text=f"Negotiators from Kyiv met in Geneva (report {n}). The talks lasted six hours.",
        summary={"sentences": [f"Negotiators from Kyiv met in Geneva (report {n})."], "quotes": []},
    )
    store.assign_story(stored.id, story, NOW - timedelta(hours=1))


def daily_digest_due(store: Store, platform: str, channel: str) -> tuple[Subscription, datetime, str]:
    """A daily subscription whose slot was ten minutes ago (made two hours before it) and article 1: returns
    the subscription, the slot's time and its key."""
    slot = (NOW - timedelta(minutes=10)).replace(second=0)
    sub = store.add_subscription(
        platform,
        channel,
        "ukraine",
        schedule=f"{slot.minute} {slot.hour} * * *",
        tz="UTC",
        now=slot - timedelta(hours=2),
        by="test",
    )
    article(store, 1)
    return sub, slot, slot_key(slot)


def texts(value: Any) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


async def new_leader_pass(
    store: Store, settings: Settings, channels: Mapping[str, DigestChannel], config: SchedulerConfig
) -> None:
    """Start a scheduler as "new-leader" (it takes over digests left in flight) and stop it again."""
    async with httpx.AsyncClient() as client:
        ingestor = Ingestor(
            store,
            Fetcher(client, settings.network),
            settings,
            stories=load_story_index(store, NOW, days=30),
            rng=random.Random(0),
        )
        scheduler = Scheduler(
            store, settings, ingestor, channels=channels, clock=lambda: NOW, holder="new-leader", config=config
        )
        try:
            await scheduler.start()
        finally:
            await scheduler.stop()


@contextlib.contextmanager
def cli_setup(tmp_path: Path, platform: str, api_url: str) -> Iterator[tuple[Path, Store]]:
    """A config file for ``newsbrief --config`` (a SQLite store in ``tmp_path``, the test topics, the platform's
    ``api_url``) and its store, upgraded and holding article 1; the store is closed on exit."""
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f"[store]\nurl = 'sqlite:///{tmp_path / 'cli.db'}'\n[topics]\nukraine = 'ukraine OR kyiv'\n"
        f"[{platform}]\napi_url = '{api_url}'\n",
        encoding="utf-8",
    )
    with sqlite_store(tmp_path / "cli.db") as store:
        article(store, 1)
        yield config, store


# ------------------------------------------------------------------------------------------------- renderer tests

BRIEFED_AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
"""The renderer tests' fixed time (briefings generated, stories first seen)."""

STORY = StoryBrief(
    headline="Kestrel Bay rail line to reopen after landslide repairs",
    sentences=("The coastal railway reopens on Saturday.", "Crews removed 40,000 tonnes of rock."),
    quote=QuoteRef(text="We have rebuilt this line to be safer", speaker="Maren Holt"),
    sources=(
        SourceLink("harbour-gazette", "https://gazette.example/rail?id=1&page=2", BRIEFED_AT - timedelta(hours=2)),
        SourceLink("valley-courier", "https://courier.example/rail", None),
    ),
    first_seen=BRIEFED_AT - timedelta(hours=3),
    story_id="s1",
)
BRIEFING = Briefing(query="rail", generated_at=BRIEFED_AT, stories=(STORY,), more=0, window_hours=72, topic="rail")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def story(n: int, **changes: Any) -> StoryBrief:
    values: dict[str, Any] = {
        "headline": f"Headline {n}",
        "sentences": (f"Sentence one of story {n}.", f"Sentence two of story {n}."),
        "quote": None,
        "sources": (SourceLink(f"outlet-{n}", f"https://news.example/{n}", BRIEFED_AT),),
        "first_seen": BRIEFED_AT,
        "story_id": f"s{n}",
    }
    values.update(changes)
    return StoryBrief(**values)


def hostile_story(evil: str, sources: tuple[SourceLink, ...], *, first: str) -> StoryBrief:
    """A story with ``evil`` (the platform's injection attempts) in every text field: headline, the sentences
    ``first``, a block quote and a code fence, the quote and its speaker; ``sources`` carry the link attacks."""
    return StoryBrief(
        headline=f"Headline {evil}",
        sentences=(first, f"> Second\n> {evil}", f"```{evil}```"),
        quote=QuoteRef(text=f"Quote {evil}", speaker=f"Speaker {evil}"),
        sources=sources,
        first_seen=BRIEFED_AT,
        story_id="x",
    )


def story_strategy(
    text: st.SearchStrategy[str],
    long: st.SearchStrategy[str],
    *,
    quote_text: st.SearchStrategy[str],
    odd_urls: Sequence[str],
) -> st.SearchStrategy[StoryBrief]:
    """Random stories for the property tests: headlines, sentences, outlets and URLs from ``text``/``long``, URLs
    also https/http ones around ``text`` and the given ``odd_urls``."""
    url = st.one_of(
        st.builds(lambda t: "https://news.example/" + t, text),
        st.builds(lambda t: "http://" + t, text),
        text,
        st.sampled_from(list(odd_urls)),
    )
    source = st.builds(SourceLink, outlet=text, url=url, published_at=st.none())
    return st.builds(
        StoryBrief,
        headline=st.one_of(text, long),
        sentences=st.lists(st.one_of(text, long), max_size=3).map(tuple),
        quote=st.one_of(st.none(), st.builds(QuoteRef, text=quote_text, speaker=text)),
        sources=st.lists(source, max_size=12).map(tuple),
        first_seen=st.just(BRIEFED_AT),
        story_id=st.none(),
    )
