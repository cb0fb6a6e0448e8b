"""Article identity (canonical URL, content hash) and story grouping."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.stories import (
    StoryDecision,
    StoryIndex,
    Terms,
    _index,
    article_terms,
    canonical_url,
    content_hash,
    outlet_of,
    signature,
    story_key_for,
    story_time,
)
from testkit.story_pairs import DIFFERENT_STORY, ECB_A, ECB_B, QUAKE_A, QUAKE_B, SAME_OUTLET_BOILERPLATE, SAME_STORY

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Item", "https://www.example.com/News/Item"),  # path case kept
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://example.com/a"),
        (
            "https://example.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&igshid=5&ref=tw&cmpid=6&ocid=7",
            "https://example.com/a",
        ),
        ("https://example.com/a?b=2&a=1&utm_term=x", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?id=2&id=1", "https://example.com/a?id=1&id=2"),
        ("https://example.com/a?amp", "https://example.com/a?amp"),
        ("https://example.com/a?amp=", "https://example.com/a?amp"),
        ("https://example.com/a?q=caf%C3%A9+bar", "https://example.com/a?q=caf%C3%A9%20bar"),
        ("https://example.com/news/item/", "https://example.com/news/item"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("file:///srv/feeds/a.xml", "file:///srv/feeds/a.xml"),
        ("not a url", "not a url"),
        ("urn:newsbrief:sha256:abc", "urn:newsbrief:sha256:abc"),
        ("http://example.com:99999/a", "http://example.com:99999/a"),  # invalid port: returned as given
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(canonical_url(url)) == canonical_url(url)  # idempotent


def test_canonical_url_equates_variants_of_one_article() -> None:
    variants = [
        "https://news.example/world/2024/05/quake-taiwan/?utm_source=twitter&utm_medium=social",
        "HTTPS://NEWS.EXAMPLE:443/world/2024/05/quake-taiwan?fbclid=IwAR0abc#top",
        "https://news.example/world/2024/05/quake-taiwan?ref=homepage",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


def test_content_hash() -> None:
    assert content_hash("Hello  World\n") == content_hash("hello world")
    assert content_hash("Ｈｅｌｌｏ world") == content_hash("hello world")  # NFKC
    assert content_hash("hello world") != content_hash("hello, world")
    assert len(content_hash("")) == 64


def test_outlet_of() -> None:
    assert outlet_of("https://www.bbc.co.uk/news/x") == "bbc.co.uk"
    assert outlet_of("https://m.example.com/a") == "example.com"
    assert outlet_of("https://example.com/a") == "example.com"
    assert outlet_of("not a url") == ""
    # file URLs have no host: the folder holding the file names the outlet (one folder per local outlet)
    assert outlet_of("file:///srv/demo/harbour-gazette/ferry.html") == "harbour-gazette"
    assert outlet_of("file:///ferry.html") == ""


def _split(text: str) -> tuple[str, str]:
    title, _, body = text.partition("\n")
    return title, body


def _background(index: StoryIndex, *, exclude: tuple[str, ...]) -> None:
    """Every other hand-written article, two days earlier, one outlet each: an archive the IDF is counted from."""
    texts = [t for pair in SAME_STORY + DIFFERENT_STORY for t in pair[1:] if t not in exclude]
    for i, text in enumerate(dict.fromkeys(texts)):
        index.add(f"a_bg{i:03d}", *_split(text), f"bg{i}.example", T0 - timedelta(days=2, minutes=i))


def _add(index: StoryIndex, article_id: str, text: str, outlet: str, when: datetime) -> str:
    return index.add(article_id, *_split(text), outlet, when).story_key


@pytest.mark.parametrize(("name", "a", "b"), SAME_STORY, ids=[p[0] for p in SAME_STORY])
def test_same_event_reports_of_two_outlets_group(name: str, a: str, b: str) -> None:
    index = StoryIndex()
    _background(index, exclude=(a, b))
    first = _add(index, "a_000000000001", a, "outlet-one.example", T0)
    assert first == story_key_for("a_000000000001") == "s_000000000001"
    assert _add(index, "a_000000000002", b, "outlet-two.example", T0 + timedelta(hours=5)) == first, name


_TINY_ARCHIVE = pytest.mark.xfail(
    strict=True, reason="known limitation: with a 20-article archive the IDF is too weak at the tuned threshold"
)


@pytest.mark.parametrize(
    ("name", "a", "b"),
    [pytest.param(*p, marks=_TINY_ARCHIVE) if p[0] == "two earthquakes" else p for p in DIFFERENT_STORY],
    ids=[p[0] for p in DIFFERENT_STORY],
)
def test_different_events_sharing_topic_words_stay_apart(name: str, a: str, b: str) -> None:
    index = StoryIndex()
    _background(index, exclude=(a, b))
    first = _add(index, "a_000000000001", a, "outlet-one.example", T0)
    assert _add(index, "a_000000000002", b, "outlet-two.example", T0 + timedelta(hours=5)) != first, name


@pytest.mark.xfail(strict=True, reason="known limitation: an outlet's boilerplate still outweighs SAME_OUTLET_FACTOR")
def test_same_outlet_boilerplate_does_not_merge() -> None:
    a, b = SAME_OUTLET_BOILERPLATE
    index = StoryIndex()
    _background(index, exclude=())
    assert _add(index, "a_1", a, "courier.example", T0) != _add(index, "a_2", b, "courier.example", T0)


def test_same_event_days_apart_does_not_group() -> None:
    _, a, b = SAME_STORY[0]
    index = StoryIndex()
    _background(index, exclude=(a, b))
    first = _add(index, "a_1", a, "one.example", T0)
    assert _add(index, "a_2", b, "two.example", T0 + timedelta(days=10)) != first


@pytest.mark.parametrize("link_k", [1, 2])
def test_an_article_bridging_two_events_does_not_merge_them(link_k: int) -> None:
    """A story of two quake reports and one of two rate-decision reports; then an article telling both (a
    news round-up: both headlines, half of each report) is close enough to join either. It joins one, and the
    two events stay apart: their stories are not that close to each other (whatever the link's k)."""
    quake, ecb = QUAKE_A.split("\n"), ECB_A.split("\n")
    roundup = f"{quake[0]}; {ecb[0]}\n" + "\n".join(quake[1:3] + ecb[1:3])
    index = StoryIndex(link_k=link_k)
    _background(index, exclude=(QUAKE_A, QUAKE_B, ECB_A, ECB_B))
    quakes = _add(index, "a_q1", QUAKE_A, "one.example", T0)
    assert _add(index, "a_q2", QUAKE_B, "two.example", T0 + timedelta(hours=1)) == quakes
    rates = _add(index, "a_e1", ECB_A, "three.example", T0 + timedelta(hours=2))
    assert _add(index, "a_e2", ECB_B, "four.example", T0 + timedelta(hours=3)) == rates != quakes
    bridge = index.add("a_r", *_split(roundup), "five.example", T0 + timedelta(hours=4))
    assert bridge.story_key in (quakes, rates) and bridge.merged == ()
    assert index.story_of("a_q1") == index.story_of("a_q2") == quakes
    assert index.story_of("a_e1") == index.story_of("a_e2") == rates


def test_story_grows_and_keys_are_stable_on_update() -> None:
    _, a, b = SAME_STORY[0]
    index = StoryIndex()
    _background(index, exclude=(a, b))
    key = _add(index, "a_1", a, "one.example", T0)
    assert _add(index, "a_2", b, "two.example", T0) == key
    assert _add(index, "a_3", b + "\nUpdated with the latest figures.", "three.example", T0) == key
    assert _add(index, "a_1", a + " More.", "one.example", T0) == key  # re-adding (an update) keeps the key
    assert "a_1" in index
    count = len(index)
    index.remove("a_3")
    index.remove("a_3")  # no-op
    assert len(index) == count - 1 and index.story_of("a_3") is None


def _stream() -> list[tuple[str, str, str, datetime]]:
    rows = []
    for i, (_, a, b) in enumerate(SAME_STORY + DIFFERENT_STORY):
        rows.append((f"a_{2 * i:012x}", a, f"left{i % 3}.example", T0 + timedelta(hours=3 * i)))
        rows.append((f"a_{2 * i + 1:012x}", b, f"right{i % 2}.example", T0 + timedelta(hours=3 * i + 1)))
    return rows


def test_same_input_gives_the_same_ids_twice_and_after_a_rebuild() -> None:
    stream = _stream()
    runs = []
    for _ in range(2):
        index = StoryIndex()
        runs.append([_add(index, aid, text, outlet, when) for aid, text, outlet, when in stream])
    assert runs[0] == runs[1]
    # restart half way: restore the first half from what the store keeps, then add the rest
    original = StoryIndex()
    stored = []
    for row, (aid, text, outlet, when) in enumerate(stream[:10], 1):
        result = original.add(aid, *_split(text), outlet, when)
        stored.append((aid, result.terms, outlet, when, result.story_key, row))
    rebuilt, skipped = StoryIndex.rebuild(stored)
    assert skipped == 0 and rebuilt.watermark == 10
    later_original = [_add(original, aid, text, outlet, when) for aid, text, outlet, when in stream[10:]]
    later_rebuilt = [_add(rebuilt, aid, text, outlet, when) for aid, text, outlet, when in stream[10:]]
    assert later_original == later_rebuilt == runs[0][10:]


def test_terms_round_trip_and_old_signatures_are_skipped() -> None:
    _, a, _b = SAME_STORY[1]
    terms = article_terms(*_split(a))
    assert Terms.from_bytes(terms.to_bytes()) == terms
    assert signature(a) == terms.to_bytes() == signature(_split(a)[1], _split(a)[0])
    index = StoryIndex()
    key = index.add("a_1", "", "", "one.example", T0, terms=terms.to_bytes()).story_key
    assert index.terms_of("a_1") == terms.to_bytes()
    assert index.story_of("a_1") == key
    with pytest.raises(ValueError):
        index.restore("a_3", b"\x01" + b"\x00" * 512, "x", T0, "s_x")
    _, skipped = StoryIndex.rebuild([("a_9", b"\x01" + b"\x00" * 512, "x", T0, None, 3)])
    assert skipped == 1
    with pytest.raises(ValueError):
        StoryIndex(threshold=0)


def test_empty_text_never_merges() -> None:
    index = StoryIndex()
    assert _add(index, "a_1", "", "one.example", T0) == "s_1"
    assert _add(index, "a_2", "", "two.example", T0) == "s_2"


def test_rebuild_gives_a_story_key_to_rows_without_one() -> None:
    _, a, _ = SAME_STORY[0]
    index, _ = StoryIndex.rebuild([("a_9", signature(a), "one.example", T0, None, 1)])
    assert index.story_of("a_9") == "s_9"


def test_story_time_prefers_a_plausible_publication_time() -> None:
    assert story_time(T0 - timedelta(hours=2), T0) == T0 - timedelta(hours=2)
    assert story_time(T0 + timedelta(days=1), T0) == T0  # a date in the future is not believed
    assert story_time(None, T0) == T0


def _synthetic_stream(count: int, days: int, seed: int) -> list[tuple[str, str, str, str, datetime]]:
    """Seeded events of 1-3 reports (shared names, numbers and words) spread over ``days``."""
    rng = random.Random(seed)
    words = [f"word{i}" for i in range(400)]
    rows: list[tuple[str, str, str, str, datetime]] = []
    while len(rows) < count:
        when = T0 + timedelta(days=days) * (len(rows) / count)
        names = [f"Name{rng.randrange(300)}" for _ in range(3)] + [str(rng.randrange(500))]
        core = rng.sample(words, 12)
        for _ in range(rng.randint(1, 3)):
            body = " ".join(rng.sample(core, 8) + rng.sample(words, 20) + names)
            rows.append((f"a_{len(rows):012x}", " ".join([*names[:2], *core[:3]]), body, f"o{rng.randrange(9)}", when))
            when += timedelta(minutes=rng.randint(5, 300))
    return rows


def _replay(
    index: StoryIndex, stream: list[tuple[str, str, str, str, datetime]], *, merge_every: int = 0
) -> tuple[list[tuple[str, StoryDecision]], int]:
    """Add ``stream`` to ``index`` with removals and updates of earlier articles in between, and (``merge_every``)
    merges of two recent stories made elsewhere; returns every decision and the number of those merges."""
    decisions, merges = [], 0
    for n, (aid, title, text, outlet, when) in enumerate(stream):
        decisions.append((aid, index.add(aid, title, text, outlet, when)))
        if n % 7 == 3:
            index.remove(stream[n - 2][0])
        if n % 11 == 5:  # an update of an earlier article
            old = stream[n - 4]
            decisions.append((old[0], index.add(old[0], old[1], old[2] + " updated", old[3], old[4])))
        if merge_every and n % merge_every == merge_every - 1:  # two recent stories' chains joined
            one, other = index.story_of(stream[n][0]), index.story_of(stream[n - 12][0])
            if one is not None and other is not None and one != other:
                index.alias(one, other)
                merges += 1
    return decisions, merges


def test_members_read_from_story_chains_or_by_a_pass_give_the_same_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """An article's candidate stories have their members read from the stories' chains (few members beside the
    window) or by a pass over every slot: the decisions are the same either way, through removals (dead slots in
    the chains), compactions, updates and merges (chains joined)."""
    stream = _synthetic_stream(700, 90, seed=5)

    def run(share: int) -> list[tuple[str, StoryDecision]]:
        monkeypatch.setattr(_index, "CHAIN_WALK_SHARE", share)
        monkeypatch.setattr(_index, "COMPACT_MIN", 64)
        decisions, merges = _replay(StoryIndex(), stream, merge_every=25)
        merged.append(merges)
        return decisions

    merged: list[int] = []
    chains, passes = run(0), run(10**9)  # 0: always the chains; 10**9: always the pass
    assert chains == passes
    assert sum(1 for aid, d in chains if d.story_key != story_key_for(aid)) > 100
    assert merged[0] == merged[1] > 10  # stories merged, their chains joined


def test_packing_never_changes_a_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index packs its postings and drops removed articles in bulk; whenever that happens, every decision,
    story and stored term is the same (here: packing after every article vs never), across evictions (90 days
    through a 30-day window), removals and updates."""
    stream = _synthetic_stream(700, 90, seed=3)

    def run(often: bool) -> tuple[list[tuple[str, StoryDecision]], dict[str, str | None], dict[str, bytes], int]:
        monkeypatch.setattr(_index, "FREEZE_MIN", 0 if often else 10**9)
        monkeypatch.setattr(_index, "FREEZE_EVERY", 10**9)
        monkeypatch.setattr(_index, "COMPACT_MIN", 0 if often else 10**9)
        index = StoryIndex()
        decisions, _ = _replay(index, stream)
        stories = {aid: index.story_of(aid) for aid, *_ in stream}
        terms = {aid: index.terms_of(aid) for aid, *_ in stream if aid in index}
        return decisions, stories, terms, len(index)

    often, never = run(often=True), run(often=False)
    assert often == never
    decisions, stories, _terms, count = often
    assert 0 < count < 300  # most of the stream left the window
    assert sum(1 for aid, d in decisions if d.story_key != story_key_for(aid)) > 100  # articles joined stories
    assert len(set(stories.values())) > 50
