"""Article identity (canonical URL, content hash) and story clustering thresholds."""

from __future__ import annotations

import pytest

from bot.stories import (
    MERGE_THRESHOLD,
    SAME_OUTLET_THRESHOLD,
    StoryIndex,
    canonical_url,
    content_hash,
    outlet_of,
    signature,
    similarity,
    story_key_for,
)
from tests.story_pairs import DIFFERENT_STORY, SAME_OUTLET_BOILERPLATE, SAME_STORY


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


@pytest.mark.parametrize(("name", "a", "b"), SAME_STORY, ids=[p[0] for p in SAME_STORY])
def test_same_story_pairs_merge(name: str, a: str, b: str) -> None:
    assert similarity(signature(a), signature(b)) >= MERGE_THRESHOLD + 0.05, name  # with a margin
    index = StoryIndex()
    first = index.add("a_000000000001", a, "outlet-one.example")
    second = index.add("a_000000000002", b, "outlet-two.example")
    assert first == story_key_for("a_000000000001") == "s_000000000001"
    assert second == first
    assert index.find(b) == ["a_000000000001", "a_000000000002"] or set(index.find(b)) == {
        "a_000000000001",
        "a_000000000002",
    }


@pytest.mark.parametrize(("name", "a", "b"), DIFFERENT_STORY, ids=[p[0] for p in DIFFERENT_STORY])
def test_different_story_pairs_stay_apart(name: str, a: str, b: str) -> None:
    assert similarity(signature(a), signature(b)) <= MERGE_THRESHOLD - 0.05, name  # with a margin
    index = StoryIndex()
    first = index.add("a_000000000001", a, "outlet-one.example")
    second = index.add("a_000000000002", b, "outlet-two.example")
    assert first != second
    assert index.find(b) == ["a_000000000002"]


def test_same_outlet_boilerplate_does_not_merge() -> None:
    a, b = SAME_OUTLET_BOILERPLATE
    # The shared footer makes these look alike, far above the cross-outlet threshold...
    assert similarity(signature(a), signature(b)) > MERGE_THRESHOLD
    # ...so articles of one outlet need a near-verbatim match.
    assert similarity(signature(a), signature(b)) < SAME_OUTLET_THRESHOLD
    index = StoryIndex()
    assert index.add("a_1", a, "courier.example") != index.add("a_2", b, "courier.example")
    assert index.find(b, outlet="courier.example") == ["a_2"]


def test_same_outlet_republished_copy_merges() -> None:
    _, a, _ = SAME_STORY[0]
    index = StoryIndex()
    key = index.add("a_1", a, "one.example")
    assert index.add("a_2", a.replace("officials said", "officials said on Wednesday"), "one.example") == key


def test_story_grows_across_three_outlets_and_keys_are_stable() -> None:
    _, a, b = SAME_STORY[0]
    index = StoryIndex()
    key = index.add("a_1", a, "one.example")
    assert index.add("a_2", b, "two.example") == key
    assert index.add("a_3", b + "\nUpdated with the latest figures.", "three.example") == key
    assert index.add("a_4", DIFFERENT_STORY[1][2], "four.example") == "s_4"
    assert index.add("a_1", a + " More.", "one.example") == key  # re-adding (an update) keeps the key
    assert len(index) == 4 and "a_1" in index
    index.remove("a_4")
    index.remove("a_4")  # no-op
    assert len(index) == 3 and index.story_of("a_4") is None


def test_index_rebuilt_from_stored_signatures_gives_the_same_answers() -> None:
    texts = {f"a_{i:012x}": text for i, text in enumerate(t for pair in SAME_STORY for t in pair[1:])}
    outlets = {article_id: f"outlet{i % 2}.example" for i, article_id in enumerate(texts)}
    original = StoryIndex()
    keys = {article_id: original.add(article_id, text, outlets[article_id]) for article_id, text in texts.items()}
    stored = [(aid, original.signature_of(aid), outlets[aid], keys[aid]) for aid in texts]
    rebuilt = StoryIndex.rebuild(stored)
    probes = [pair[1] for pair in DIFFERENT_STORY] + [pair[2] for pair in SAME_STORY]
    for probe in probes:
        assert rebuilt.find(probe) == original.find(probe)
        assert rebuilt.find(probe, outlet="outlet0.example") == original.find(probe, outlet="outlet0.example")
    for article_id in texts:
        assert rebuilt.story_of(article_id) == original.story_of(article_id)
    # New articles land in the same stories as they would have before the restart.
    for probe_id, probe in (("a_new1", SAME_STORY[2][2] + " Update."), ("a_new2", DIFFERENT_STORY[2][1])):
        assert rebuilt.add(probe_id, probe, "third.example") == original.add(probe_id, probe, "third.example")


def test_signature_is_deterministic_and_precomputed_signature_is_accepted() -> None:
    _, a, b = SAME_STORY[1]
    assert signature(a) == signature(a) and len(signature(a)) == 513
    index = StoryIndex()
    key = index.add("a_1", "", "one.example", signature=signature(a))
    assert index.add("a_2", b, "two.example") == key
    assert index.signature_of("a_1") == signature(a)
    with pytest.raises(ValueError):
        index.restore("a_3", b"\x00" * 10, "x", "s_x")
    with pytest.raises(ValueError):
        StoryIndex(threshold=0)


def test_empty_text_never_merges() -> None:
    index = StoryIndex()
    assert index.add("a_1", "", "one.example") == "s_1"
    assert index.add("a_2", "", "two.example") == "s_2"
    assert index.find("") == []


def test_rebuild_gives_a_story_key_to_rows_without_one() -> None:
    _, a, _ = SAME_STORY[0]
    index = StoryIndex.rebuild([("a_9", signature(a), "one.example", None)])
    assert index.story_of("a_9") == "s_9"
