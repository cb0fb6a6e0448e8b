"""Briefings (bot/briefing) over a real store: SQLite in tmp_path and PostgreSQL in a private schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.briefing._make as make
from bot.briefing import (
    Briefing,
    NoMatch,
    QuoteRef,
    brief_story,
    briefing_json,
    format_briefing,
    make_briefing,
    story_score,
    suggest_topics,
)
from bot.store import Article, DigestFilter, Store

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {
    "Ukraine": "ukraine OR kyiv OR zelensky",
    "floods": 'flood OR "dam burst"',
    "weather": "tornado OR hailstorm",
    "markets": '"central bank" OR stocks',
}


def summary(sentences: list[str], quotes: list[tuple[str, str | None]]) -> dict[str, Any]:
    """The stored summary JSON of an article (as ingest writes it)."""
    return {
        "sentences": sentences,
        "quotes": [
            {"text": text, "speaker": speaker, "cue": "said", "role": None, "start": 0, "end": len(text)}
            for text, speaker in quotes
        ],
    }


def put(
    store: Store,
    slug: str,
    *,
    outlet: str,
    title: str,
    text: str,
    hours_ago: float,
    story: str | None = None,
    sentences: list[str] | None = None,
    quotes: list[tuple[str, str | None]] | None = None,
    undated: bool = False,
) -> Article:
    """Store an article first seen (and published) ``hours_ago`` before NOW, optionally in a story."""
    when = NOW - timedelta(hours=hours_ago)
    article, status = store.upsert_article(
        url=f"https://{outlet}/{slug}",
        title=title,
        text=text,
        now=when,
        published_at=None if undated else when,
        outlet=outlet,
        summary=summary(sentences if sentences is not None else text.split(". ")[:3], quotes or []),
    )
    assert status == "new"
    if story is not None:
        store.assign_story(article.id, story, when)
    return article


DAM_REUTERS = (
    "A dam burst above the town of Harbourton early on Friday, flooding the lower valley. "
    "Rescue teams evacuated more than two thousand residents from the flood zone before dawn. "
    "Engineers had warned in March that the spillway was cracked. "
    "The regional government declared an emergency and opened schools as shelters."
)
DAM_AP = (
    "Floodwater poured through Harbourton after the dam burst on Friday morning. "
    "More than two thousand residents were evacuated from the flood zone before dawn, rescue teams said. "
    "No deaths have been reported so far. "
    "Mayor Lena Haddad said the town would need months to recover."
)
DAM_BBC = (
    "The Harbourton dam burst on Friday and sent a wall of water through the valley. "
    "Residents described hearing a roar before the flood reached their streets. "
    "The regional government declared an emergency. "
    "Inspectors will examine why warnings about the cracked spillway were not acted on."
)
DAM_REUTERS_UPDATE = (
    "Water levels in Harbourton began to fall on Friday evening after the dam burst that morning. "
    "The flood damaged about four hundred homes, officials said. "
    "Rescue teams continued to search the lower valley."
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store: a SQLite file, or PostgreSQL in a private schema (skipped when unreachable)."""
    url = f"sqlite:///{tmp_path}/newsbrief.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    s = Store(url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store (tests of the rendering need only one backend)."""
    s = Store(f"sqlite:///{tmp_path}/newsbrief.db")
    s.upgrade()
    yield s
    s.close()


def fill(store: Store) -> dict[str, Article]:
    """A small archive: a dam-burst story told by three outlets (four articles), an older lone flood article,
    a flood article outside the 72 h window, a Kyiv story told by two outlets, and a central-bank article."""
    a: dict[str, Article] = {}
    a["reuters"] = put(
        store,
        "dam",
        outlet="reuters.example",
        title="Dam burst floods Harbourton valley",
        text=DAM_REUTERS,
        hours_ago=5,
        story="s-dam",
        quotes=[("We had no warning at all", "he"), ("We will rebuild every street", "Lena Haddad")],
    )
    a["ap"] = put(
        store,
        "harbourton-flood",
        outlet="apnews.example",
        title="Thousands evacuated as Harbourton dam bursts",
        text=DAM_AP,
        hours_ago=4,
        story="s-dam",
        quotes=[("It came so fast", None)],
    )
    a["bbc"] = put(
        store,
        "news/harbourton",
        outlet="bbc.example",
        title="Harbourton: dam burst sends water through valley",
        text=DAM_BBC,
        hours_ago=3,
        story="s-dam",
    )
    a["reuters2"] = put(
        store,
        "dam-update",
        outlet="reuters.example",
        title="Harbourton flood waters recede",
        text=DAM_REUTERS_UPDATE,
        hours_ago=2,
        story="s-dam",
    )
    a["old_flood"] = put(
        store,
        "old-flood",
        outlet="local.example",
        title="Flood flood: river flood warning after dam burst upstream",
        text="A flood warning was issued for the river after a dam burst upstream. The flood is expected to peak "
        "on Wednesday. Flood barriers were put up along the quay.",
        hours_ago=60,
        quotes=[("Stay away from the river", "They")],
    )
    a["ancient_flood"] = put(
        store,
        "ancient-flood",
        outlet="local.example",
        title="Dam burst flood last week",
        text="A dam burst and a flood hit the village last week. Repairs have begun.",
        hours_ago=100,
    )
    a["kyiv"] = put(
        store,
        "kyiv-talks",
        outlet="reuters.example",
        title="Talks resume in Kyiv",
        text="Negotiators met in Kyiv on Thursday for a second round of talks. The meeting lasted six hours.",
        hours_ago=10,
        story="s-talks",
    )
    a["zelensky"] = put(
        store,
        "zelensky-talks",
        outlet="apnews.example",
        title="Zelensky welcomes second round of talks",
        text="President Zelensky welcomed the second round of talks on Thursday. He said progress was slow.",
        hours_ago=9,
        story="s-talks",
        quotes=[("Progress is slow but real", "Volodymyr Zelensky")],
    )
    a["bank"] = put(
        store,
        "rates",
        outlet="ft.example",
        title="Central bank raises rates",
        text="The central bank raised interest rates by a quarter point on Thursday. Markets had expected it.",
        hours_ago=20,
    )
    a["square"] = put(
        store,
        "robbery",
        outlet="local.example",
        title="Robbery on the square",
        text="A bank in the central square was robbed on Thursday night. Police are looking for two men.",
        hours_ago=20,
    )
    return a


def brief(store: Store, query: str, **kw: Any) -> Briefing:
    result = make_briefing(store, query, topics=TOPICS, now=NOW, **kw)
    assert isinstance(result, Briefing), result
    return result


def urls(b: Briefing) -> list[set[str]]:
    return [{s.url for s in story.sources} for story in b.stories]


# ---------------------------------------------------------------------------------------------- search


def test_topic_name_resolves_case_insensitively_to_its_query(store: Store) -> None:
    a = fill(store)
    b = brief(store, "UKRAINE")
    assert b.topic == "Ukraine"
    assert b.query == "UKRAINE"
    assert len(b.stories) == 1  # "kyiv" OR "zelensky": both articles, one story
    assert b.stories[0].story_id == "s-talks"
    assert urls(b) == [{a["kyiv"].url, a["zelensky"].url}]
    assert b.more == 0


def test_free_text_is_searched_as_words(store: Store) -> None:
    a = fill(store)
    b = brief(store, "kyiv negotiators")
    assert b.topic is None
    assert b.stories[0].headline == a["kyiv"].title
    # the story's other article, which does not mention the words, is a source too
    assert urls(b) == [{a["kyiv"].url, a["zelensky"].url}]


def test_phrase_or_and_exclusion(store: Store) -> None:
    a = fill(store)
    assert urls(brief(store, '"central bank"')) == [{a["bank"].url}]
    assert {frozenset(u) for u in urls(brief(store, "central bank"))} == {
        frozenset({a["bank"].url}),
        frozenset({a["square"].url}),
    }
    assert {frozenset(u) for u in urls(brief(store, "robbed OR rates"))} == {
        frozenset({a["bank"].url}),
        frozenset({a["square"].url}),
    }
    assert urls(brief(store, "bank -robbed")) == [{a["bank"].url}]
    markets = brief(store, "markets")  # a topic whose query holds a phrase
    assert markets.topic == "markets"
    assert urls(markets) == [{a["bank"].url}]


# ---------------------------------------------------------------------------------------------- stories


def test_story_groups_outlets_and_lists_each_source_once_newest_first(store: Store) -> None:
    a = fill(store)
    b = brief(store, "dam burst")
    top = b.stories[0]
    assert top.story_id == "s-dam"
    outlets = [s.outlet for s in top.sources]
    assert sorted(outlets) == ["apnews.example", "bbc.example", "reuters.example"]  # reuters once, not twice
    assert len({s.url for s in top.sources}) == len(top.sources)
    published = [s.published_at for s in top.sources]
    assert published == sorted(published, reverse=True)  # type: ignore[type-var]
    assert top.first_seen == a["reuters"].first_seen  # the story's first article
    assert top.headline in {a[k].title for k in ("reuters", "ap", "bbc", "reuters2")}
    # 2-3 sentences, extractive: each one comes from one of the story's articles
    assert 2 <= len(top.sentences) <= 3
    bodies = " ".join(" ".join(t.split()) for t in (DAM_REUTERS, DAM_AP, DAM_BBC, DAM_REUTERS_UPDATE))
    for sentence in top.sentences:
        assert sentence in bodies


def test_brief_story_briefs_one_story_by_its_id_without_a_search(store: Store) -> None:
    a = fill(store)
    top = brief_story(store, "s-dam", now=NOW)
    assert top is not None and top.story_id == "s-dam"
    assert top.outlet_count == 3 and sorted(s.outlet for s in top.sources) == [
        "apnews.example",
        "bbc.example",
        "reuters.example",
    ]
    assert top.headline == a["reuters2"].title  # the newest titled article: no search ranks them
    assert top.first_seen == a["reuters"].first_seen and 2 <= len(top.sentences) <= 3
    # only the window's articles; a merged story's alias briefs the story it was merged into
    assert brief_story(store, "s-dam", now=NOW + timedelta(hours=80)) is None
    assert brief_story(store, "s-none", now=NOW) is None
    store.merge_stories("s-dam", "s-talks", NOW)
    merged = brief_story(store, "s-dam", now=NOW)
    assert merged is not None and merged.story_id == "s-talks"
    with pytest.raises(ValueError, match="timezone-aware"):
        brief_story(store, "s-talks", now=NOW.replace(tzinfo=None))


def test_lone_article_uses_its_stored_summary(store: Store) -> None:
    a = fill(store)
    b = brief(store, '"central bank"')
    story = b.stories[0]
    assert story.story_id is None
    assert story.headline == "Central bank raises rates"
    assert list(story.sentences) == a["bank"].summary["sentences"][:3]  # type: ignore[index]
    assert story.first_seen == a["bank"].first_seen


def test_one_quote_with_a_named_speaker_never_a_pronoun(store: Store) -> None:
    fill(store)
    dam = brief(store, "dam burst").stories[0]
    assert dam.quote == QuoteRef(text="We will rebuild every street", speaker="Lena Haddad")  # "he" is skipped
    lone = [s for s in brief(store, "flood", limit=10).stories if s.story_id is None]
    assert lone and all(s.quote is None for s in lone)  # "They" is no name
    talks = brief(store, "ukraine").stories[0]
    assert talks.quote == QuoteRef(text="Progress is slow but real", speaker="Volodymyr Zelensky")


def test_more_outlets_and_recent_beats_one_old_article(store: Store) -> None:
    a = fill(store)
    hits = dict((art.id, score) for art, score in store.search("flood", since=NOW - timedelta(hours=72)))
    # the lone old article is the most relevant hit on its own...
    assert hits[a["old_flood"].id] == max(hits.values())
    b = brief(store, "flood")
    # ...but the fresh story three outlets carry comes first
    assert [s.story_id for s in b.stories] == ["s-dam", None]
    assert b.stories[1].sources[0].url == a["old_flood"].url


def test_story_score_blend() -> None:
    fresh_wide = story_score(relevance=0.5, outlets=3, age=timedelta(hours=2))
    old_lone = story_score(relevance=1.0, outlets=1, age=timedelta(hours=60))
    assert fresh_wide > old_lone
    assert story_score(relevance=1.0, outlets=1, age=timedelta(0)) == pytest.approx(0.45 + 0.25)
    assert story_score(relevance=0.0, outlets=2, age=timedelta(hours=24)) == pytest.approx(0.15 + 0.125)
    assert story_score(relevance=0.0, outlets=1, age=timedelta(hours=-5)) == pytest.approx(0.25)  # future: fresh


def test_window_excludes_older_articles(store: Store) -> None:
    a = fill(store)
    assert isinstance(make_briefing(store, "village", topics=TOPICS, now=NOW), NoMatch)
    wider = brief(store, "village", window=timedelta(hours=120))
    assert urls(wider) == [{a["ancient_flood"].url}]
    flood = brief(store, "flood", limit=10)
    assert a["ancient_flood"].url not in {u for story in urls(flood) for u in story}
    assert flood.window_hours == 72
    narrow = brief(store, "flood", window=timedelta(hours=24))
    assert [s.story_id for s in narrow.stories] == ["s-dam"]


def test_limit_and_more(store: Store) -> None:
    fill(store)
    b = brief(store, "flood", limit=1)
    assert len(b.stories) == 1
    assert b.more == 1
    assert brief(store, "flood", limit=5).more == 0


def test_undated_article_counts_by_first_sight(store: Store) -> None:
    article = put(
        store,
        "undated",
        outlet="wire.example",
        title="Hailstorm hits orchards",
        text="A hailstorm destroyed apple blossoms across the valley. Growers fear a poor harvest.",
        hours_ago=1,
        undated=True,
    )
    b = brief(store, "weather")
    assert b.topic == "weather"
    assert b.stories[0].sources[0].published_at is None
    assert b.stories[0].first_seen == article.first_seen


def test_story_is_condensed_from_stored_summaries_not_full_texts(store: Store) -> None:
    stored = {
        "wire": [
            "Storm Elsa brought down power lines across Harbourton on Friday.",
            "About nine thousand homes lost power overnight.",
        ],
        "post": [
            "Storm Elsa hit Harbourton with gusts of ninety miles an hour.",
            "Crews restored power to most homes by Saturday morning.",
        ],
    }
    filler = " ".join(f"Unrelated sentence number {n} about storm Elsa and Harbourton." for n in range(30))
    for outlet, sentences in stored.items():
        put(
            store,
            outlet,
            outlet=f"{outlet}.example",
            title=f"Storm Elsa hits Harbourton ({outlet})",
            text=f"{filler} {' '.join(sentences)}",
            hours_ago=3,
            story="s-elsa",
            sentences=sentences,
        )
    story = brief(store, "storm elsa").stories[0]
    assert story.story_id == "s-elsa"
    assert 2 <= len(story.sentences) <= 3
    every = {s for sentences in stored.values() for s in sentences}
    assert set(story.sentences) <= every  # the long texts' other sentences are never read


def test_story_without_stored_summaries_is_condensed_from_its_texts(store: Store) -> None:
    texts = [DAM_REUTERS, DAM_AP]
    for n, text in enumerate(texts):
        article, _ = store.upsert_article(
            url=f"https://o{n}.example/dam",
            title="Harbourton dam bursts",
            text=text,
            now=NOW - timedelta(hours=2),
            outlet=f"o{n}.example",
        )
        store.assign_story(article.id, "s-plain", NOW - timedelta(hours=2))
    story = brief(store, "harbourton").stories[0]
    bodies = " ".join(" ".join(t.split()) for t in texts)
    assert story.sentences and all(sentence in bodies for sentence in story.sentences)


def test_sources_read_at_most_story_articles_further_articles(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(make, "STORY_ARTICLES", 2)
    hit = put(
        store,
        "hit",
        outlet="a.example",
        title="Volcano erupts",
        text="The volcano erupted on Monday.",
        hours_ago=1,
        story="s-volcano",
    )
    others = [
        put(
            store,
            f"other{n}",
            outlet=f"o{n}.example",
            title="Ash cloud spreads",
            text="Ash fell on the villages.",
            hours_ago=10 - n,
            story="s-volcano",
        )
        for n in range(4)
    ]
    story = brief(store, "volcano").stories[0]
    # the hit, then the two newest of the story's other articles in the window
    assert {s.url for s in story.sources} == {hit.url, others[3].url, others[2].url}
    assert story.first_seen == others[0].first_seen  # still the story's first article
    assert story.outlets == 5  # every outlet of the story counts, also the ones not read for sources


def test_outlets_count_the_whole_story_and_a_lone_article_has_one(store: Store) -> None:
    put(
        store,
        "old",
        outlet="a.example",
        title="Strike talks open",
        text="Union and railway met.",
        hours_ago=100,
        story="s-rail",
    )
    for n, outlet in enumerate(("b.example", "c.example", "b.example")):
        put(
            store,
            f"new{n}",
            outlet=outlet,
            title="Rail strike called off",
            text="The strike was called off.",
            hours_ago=2 + n,
            story="s-rail",
        )
    put(store, "lone", outlet="d.example", title="Ferry strike", text="Ferry crews went on strike.", hours_ago=1)
    stories = {s.story_id: s for s in brief(store, "strike").stories}
    rail, lone = stories["s-rail"], stories[None]
    assert sorted(s.outlet for s in rail.sources) == ["b.example", "c.example"]  # in the window, one per outlet
    assert rail.outlets == rail.outlet_count == 3  # a.example reported it too, before the window
    assert lone.outlets == lone.outlet_count == 1


def test_a_follow_up_names_the_story_it_follows(store: Store) -> None:
    first = put(
        store,
        "open",
        outlet="a.example",
        title="Ceasefire talks open in Geneva",
        text="Envoys met in Geneva for ceasefire talks.",
        hours_ago=30,
        story="s-talks",
    )
    put(
        store,
        "day2",
        outlet="b.example",
        title="Ceasefire talks: second day",
        text="The ceasefire talks went into a second day.",
        hours_ago=20,
        story="s-talks",
    )
    deal = put(
        store,
        "deal",
        outlet="c.example",
        title="Ceasefire agreed after Geneva talks",
        text="A ceasefire was agreed in Geneva on Friday.",
        hours_ago=2,
    )
    store.assign_story(deal.id, "s-deal", NOW - timedelta(hours=2), follows="s-talks")
    stories = {s.story_id: s for s in brief(store, "ceasefire").stories}
    assert stories["s-deal"].follows == first.title  # the earlier story's first headline
    assert stories["s-talks"].follows is None
    text = format_briefing(brief(store, "ceasefire agreed"))
    assert "1. Ceasefire agreed after Geneva talks\n   Follow-up of: Ceasefire talks open in Geneva\n" in text


def test_a_digest_tells_what_is_new_since_it_last_carried_a_story(store: Store) -> None:
    old = [
        put(
            store,
            "dam",
            outlet="reuters.example",
            title="Dam burst floods Harbourton valley",
            text=DAM_REUTERS,
            hours_ago=5,
            story="s-dam",
            quotes=[("We will rebuild every street", "Lena Haddad")],
        ),
        put(
            store,
            "harbourton-flood",
            outlet="apnews.example",
            title="Thousands evacuated as Harbourton dam bursts",
            text=DAM_AP,
            hours_ago=4,
            story="s-dam",
        ),
    ]
    sub = store.add_subscription("slack", "C1", "floods", schedule="hourly", tz="UTC", now=NOW - timedelta(hours=6))
    store.record_posted(sub.id, {"s-dam": 2}, NOW - timedelta(hours=3, minutes=30))
    new = [
        put(
            store,
            "news/harbourton",
            outlet="bbc.example",
            title="Harbourton: inspectors to examine the spillway",
            text=DAM_BBC,
            hours_ago=3,
            story="s-dam",
            quotes=[("The spillway was cracked", "Omar Reyes")],
        ),
        put(
            store,
            "dam-update",
            outlet="reuters.example",
            title="Harbourton flood waters recede",
            text=DAM_REUTERS_UPDATE,
            hours_ago=2,
            story="s-dam",
        ),
    ]
    digest = make_briefing(store, "floods", topics=TOPICS, now=NOW, digest=DigestFilter(sub.id, renewal=1))
    assert isinstance(digest, Briefing)
    [story] = [s for s in digest.stories if s.story_id == "s-dam"]
    # what is new since the last digest: headline, sentences and quote come from the two newer articles
    assert story.headline in {a.title for a in new}
    bodies = " ".join(" ".join(t.split()) for t in (DAM_BBC, DAM_REUTERS_UPDATE))
    assert story.sentences and all(sentence in bodies for sentence in story.sentences)
    assert story.quote == QuoteRef(text="The spillway was cracked", speaker="Omar Reyes")
    assert {s.url for s in story.sources} == {a.url for a in old + new} - {old[0].url}  # one per outlet
    # /brief (no digest) tells the whole story, best match first
    whole = next(s for s in brief(store, "floods").stories if s.story_id == "s-dam")
    assert whole.quote == QuoteRef(text="We will rebuild every street", speaker="Lena Haddad")


def test_story_first_seen_before_the_window(store: Store) -> None:
    old = put(
        store,
        "old",
        outlet="a.example",
        title="Strike talks open",
        text="Union and railway met.",
        hours_ago=100,
        story="s-rail",
    )
    new = put(
        store,
        "new",
        outlet="b.example",
        title="Rail strike called off",
        text="The strike was called off.",
        hours_ago=2,
        story="s-rail",
    )
    story = brief(store, "strike").stories[0]
    assert story.story_id == "s-rail"
    assert [s.url for s in story.sources] == [new.url]  # the old article is outside the window...
    assert story.first_seen == old.first_seen  # ...but the story began with it


def test_search_seen_since_keeps_articles_first_seen_since(store: Store) -> None:
    """``seen_since`` bounds first sight (the briefing's window), whatever order articles were stored in."""
    cutoff = NOW - timedelta(hours=10)
    stored = []
    for n, (seen_h, published_h) in enumerate([(2, 2), (20, 1), (5, 30), (30, 30), (1, None), (8, 8)]):
        article, _ = store.upsert_article(
            url=f"https://wire.example/glacier-{n}",
            title=f"Glacier report {n}",
            text="The glacier retreated.",
            now=NOW - timedelta(hours=seen_h),
            outlet="wire.example",
            published_at=None if published_h is None else NOW - timedelta(hours=published_h),
        )
        stored.append(article)
    everything = {a.id for a, _ in store.search("glacier", limit=50)}
    assert everything == {a.id for a in stored}
    seen = {a.id for a, _ in store.search("glacier", seen_since=cutoff, limit=50)}
    assert seen == {a.id for a in stored if a.first_seen >= cutoff}
    both = {a.id for a, _ in store.search("glacier", since=cutoff, seen_since=cutoff, limit=50)}
    assert both == {stored[0].id, stored[4].id, stored[5].id}  # [1] first seen before, [2] published before
    assert store.search("glacier", seen_since=NOW + timedelta(hours=1)) == []
    ranked = store.search("glacier", since=cutoff, seen_since=cutoff, limit=2)
    assert [a.id for a, _ in ranked] == [
        a.id for a, _ in store.search("glacier", since=cutoff, limit=50) if a.first_seen >= cutoff
    ][:2]


def test_story_members_newest_in_window_without_excluded(store: Store) -> None:
    a = fill(store)
    cutoff = NOW - timedelta(hours=72)
    found = store.story_members(["s-dam", "s-talks", "s-missing"], since=cutoff, limit=2, exclude=[a["bbc"].id])
    assert set(found) == {"s-dam", "s-talks"}
    story, members = found["s-dam"]
    assert story.first_seen == a["reuters"].first_seen and story.article_count == 4
    assert [m.id for m in members] == [a["reuters2"].id, a["ap"].id]  # newest first, bbc left out
    assert [m.id for m in found["s-talks"][1]] == [a["zelensky"].id, a["kyiv"].id]
    assert all(m.feeds == () and m.text for m in members)  # whole articles
    assert store.story_members(["s-dam"], since=NOW - timedelta(hours=2.5), limit=10)["s-dam"][1] == [
        store.get_article(a["reuters2"].id)
    ]
    assert store.story_members(["s-dam"], since=cutoff, limit=0)["s-dam"][1] == []
    assert store.story_members([], since=cutoff, limit=5) == {}


# ---------------------------------------------------------------------------------------------- no match


def test_no_match_suggests_nearest_topics_and_names_the_window(store: Store) -> None:
    fill(store)
    result = make_briefing(store, "ukrane", topics=TOPICS, now=NOW)
    assert isinstance(result, NoMatch)
    assert result.query == "ukrane"
    assert result.window_hours == 72
    assert result.suggestions[0] == "Ukraine"
    assert len(result.suggestions) <= 3
    text = format_briefing(result)
    assert "ukrane" in text and "Ukraine" in text and "72 h" in text


def test_suggestions_for_a_query_like_no_topic_are_always_in_name_order() -> None:
    """difflib's similarity of unrelated names is noise: ordered by it, the suggestions changed with every query."""
    topics = {"ukraine": "ukraine OR kyiv", "rail": "rail OR railway", "buses": "eastbrook OR bus"}
    for query in ("zebra crossing", "x", "ferry timetable", "volcano"):
        assert suggest_topics(query, topics) == ("buses", "rail", "ukraine"), query
    assert suggest_topics("rial", topics)[0] == "rail"  # a name alike the query (a typo) comes first
    assert suggest_topics("kyiv", topics)[0] == "ukraine"  # so does a topic whose query has the word


def test_topic_without_news_is_not_suggested_to_itself(store: Store) -> None:
    fill(store)
    result = make_briefing(store, "weather", topics=TOPICS, now=NOW, window=timedelta(hours=24))
    assert isinstance(result, NoMatch)
    assert "weather" not in result.suggestions
    assert result.window_hours == 24


def test_no_match_without_topics_and_for_empty_queries(sqlite_store: Store) -> None:
    for query in ("anything", "", "-only -excluded", '""'):
        result = make_briefing(sqlite_store, query, topics={}, now=NOW)
        assert isinstance(result, NoMatch)
        assert result.suggestions == ()
        assert "Try other words" in format_briefing(result)


def test_bad_arguments_are_refused(sqlite_store: Store) -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_briefing(sqlite_store, "x", topics={}, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="window"):
        make_briefing(sqlite_store, "x", topics={}, now=NOW, window=timedelta(0))
    with pytest.raises(ValueError, match="limit"):
        make_briefing(sqlite_store, "x", topics={}, now=NOW, limit=0)


# ---------------------------------------------------------------------------------------------- output


def test_json_shape_is_exactly_the_spec(sqlite_store: Store) -> None:
    a = fill(sqlite_store)
    b = brief(sqlite_store, "flood", limit=1)
    out = json.loads(json.dumps(briefing_json(b)))
    assert set(out) == {"query", "generated_at", "stories", "more"}
    assert out["query"] == "flood"
    assert out["generated_at"] == "2024-05-10T12:00:00+00:00"
    assert out["more"] == 1
    (story,) = out["stories"]
    assert set(story) == {"headline", "sentences", "quote", "sources", "first_seen"}
    assert isinstance(story["headline"], str) and story["headline"]
    assert all(isinstance(s, str) for s in story["sentences"])
    assert story["quote"] == {"text": "We will rebuild every street", "speaker": "Lena Haddad"}
    assert story["first_seen"] == a["reuters"].first_seen.isoformat()
    for source in story["sources"]:
        assert set(source) == {"outlet", "url", "published_at"}
        datetime.fromisoformat(source["published_at"])
    lone = briefing_json(brief(sqlite_store, '"central bank"'))["stories"][0]
    assert lone["quote"] is None


def test_plain_text_rendering(sqlite_store: Store) -> None:
    fill(sqlite_store)
    text = format_briefing(brief(sqlite_store, "flood", limit=1))
    lines = text.splitlines()
    assert lines[0].startswith("Briefing: flood")
    assert "1. " in text
    assert "“We will rebuild every street” — Lena Haddad" in text
    assert "reuters.example: https://reuters.example/" in text
    assert "   3 outlets:" in lines
    assert text.endswith("…and 1 more story.")
