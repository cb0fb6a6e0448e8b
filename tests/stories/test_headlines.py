"""Bare headlines (an entry without text, e.g. the head of a cut feed document): headlines of one kind of news share
most of their words, so a headline alone must not put an article into another event's story, nor make it a bridge
that draws that event's reports in; when its text comes, its story is decided as for a new article."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest import IndexedAssignment, load_story_index
from bot.store import ArticleInput, Store
from bot.stories import MIN_TERMS, StoryIndex, Terms, article_terms
from testkit.story_pairs import DIFFERENT_STORY, SAME_STORY

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

NORTH_A = """Rail strike halts trains across Northfield as drivers walk out over pay
Train drivers in Northfield walked out for 48 hours on Tuesday over pay, cancelling 340 services on the Kelby line,
the rail operator Northern Link said. Union leader Maria Okafor said drivers had rejected an offer of 3 per cent.
Replacement buses ran between Northfield and Ashby, and ticket offices at Ashby were closed."""
NORTH_B = """Northfield rail strike: 340 services cancelled as drivers walk out
Drivers at Northern Link began a 48-hour walkout in Northfield on Tuesday, with 340 services on the Kelby line
cancelled. Maria Okafor of the drivers' union said the 3 per cent offer was rejected. Buses replaced trains
between Northfield and Ashby."""
SOUTH_A = """Southport stations shut as staff stop work after talks collapse
Station staff in Southport stopped work on Wednesday after talks with Harbour Link collapsed, closing 12 stations
on the coast route. The staff association said 81 of every 100 members had backed action over staffing cuts.
Harbour Link chief Tomasz Lindqvist called the stoppage unnecessary."""
SOUTH_B = """Twelve Southport stations closed in staffing dispute
Twelve stations on Southport's coast route were shut on Wednesday when staff stopped work after failed talks with
Harbour Link. Members had backed action over staffing cuts, the staff association said. Tomasz
Lindqvist, who runs Harbour Link, called the stoppage unnecessary."""
HEADLINE = "Rail strike halts trains across Southport"
"""Another outlet's report of the Southport event: first its headline alone, then with :data:`HEADLINE_TEXT`."""
HEADLINE_TEXT = SOUTH_B.split("\n", 1)[1].replace("Twelve stations", "A dozen stations")
LONE_HEADLINE = "Commuters stranded tonight, angry passengers wait"
"""A headline close to no story."""


def _split(text: str) -> tuple[str, str]:
    title, _, body = text.partition("\n")
    return title, body


_EARLIER_STRIKES = (
    ("Ashby", "Guards on the Ashby branch stopped work over new rosters; the operator ran a reduced timetable."),
    ("Kelso", "Signallers at Kelso walked out after a row about overtime, closing the junction for a day."),
    ("Tarnwick", "Cleaners at Tarnwick depot held a one-day stoppage over sick pay, backed by 64 of 80 members."),
    ("Dunmouth", "Ticket inspectors in Dunmouth refused shifts after an assault on a colleague last month."),
    ("Halbury", "Engineers on the Halbury viaduct downed tools in a dispute over safety checks."),
    ("Fenley", "Catering crews on Fenley services stopped work; passengers were told to bring their own food."),
)
"""Earlier rail strikes elsewhere, under the same kind of headline: what a real archive has plenty of."""


def _background() -> list[tuple[str, str, str, datetime]]:
    """An archive for the IDF: the other hand-written reports two days earlier, and earlier rail strikes five
    days earlier (beyond :data:`bot.stories.EVENT_WINDOW`): (title, text, outlet, time)."""
    texts = dict.fromkeys(t for pair in SAME_STORY + DIFFERENT_STORY for t in pair[1:])
    rows = [(*_split(text), f"bg{i}.example", T0 - timedelta(days=2, minutes=i)) for i, text in enumerate(texts)]
    rows += [
        (f"Rail strike halts trains across {place}", text, f"rail{i}.example", T0 - timedelta(days=5, hours=i))
        for i, (place, text) in enumerate(_EARLIER_STRIKES)
    ]
    return rows


def _index() -> StoryIndex:
    index = StoryIndex()
    for i, (title, text, outlet, when) in enumerate(_background()):
        index.add(f"a_bg{i:03d}", title, text, outlet, when)
    return index


def _north(index: StoryIndex) -> str:
    key = index.add("a_n1", *_split(NORTH_A), "one.example", T0).story_key
    assert index.add("a_n2", *_split(NORTH_B), "two.example", T0 + timedelta(hours=1)).story_key == key
    return key


def test_a_bare_headline_is_marked_in_its_terms() -> None:
    bare = article_terms(HEADLINE, "")
    assert bare.headline and len(bare.hashes) >= MIN_TERMS  # its headline's words, marked
    assert article_terms(HEADLINE, "Comments (12)").headline  # fewer content words than MIN_TERMS
    assert not article_terms(HEADLINE, HEADLINE_TEXT).headline
    assert Terms.from_bytes(bare.to_bytes()) == bare
    assert bare.to_bytes()[0] == 3 and article_terms(HEADLINE, HEADLINE_TEXT).to_bytes()[0] == 2
    index = StoryIndex()
    index.add("a_1", HEADLINE, "", "one.example", T0)
    assert index.terms_of("a_1") == bare.to_bytes()  # kept as stored, so a restored index knows it too


def test_a_bare_headline_draws_no_report_with_text_into_another_events_story() -> None:
    """The headline joins the other event's story on its words; a report of its own event, under a headline of
    the same kind, is not drawn in after it (the story has reports with text: those are what it is linked by)."""
    index = _index()
    north = _north(index)
    assert index.add("a_h", HEADLINE, "", "three.example", T0 + timedelta(hours=2)).story_key == north
    title = "Rail strike halts trains across Southport after talks collapse"
    south = index.add("a_s1", title, _split(SOUTH_A)[1], "four.example", T0 + timedelta(hours=3))
    assert south.story_key == "s_s1" and south.merged == ()


def test_a_headline_leaves_the_story_it_joined_when_its_text_disagrees() -> None:
    index = _index()
    north = _north(index)
    assert index.add("a_h", HEADLINE, "", "three.example", T0 + timedelta(hours=2)).story_key == north
    south = index.add("a_s1", *_split(SOUTH_A), "four.example", T0 + timedelta(hours=3)).story_key
    assert index.add("a_s2", *_split(SOUTH_B), "five.example", T0 + timedelta(hours=4)).story_key == south != north
    updated = index.add("a_h", HEADLINE, HEADLINE_TEXT, "three.example", T0 + timedelta(hours=2))
    assert (updated.story_key, updated.merged) == (south, ())
    assert {index.story_of(a) for a in ("a_n1", "a_n2")} == {north}
    # an update once decided keeps its story, as any other update does
    again = index.add("a_h", HEADLINE, HEADLINE_TEXT + " More.", "three.example", T0 + timedelta(hours=2))
    assert (again.story_key, again.merged) == (south, ())


def test_a_headline_with_its_text_chains_no_two_events() -> None:
    """The chain seen in the soak: the text comes (the next poll) before the other reports of its event, which
    join it, not the other event's story its headline resembled."""
    index = _index()
    north = _north(index)
    index.add("a_h", HEADLINE, "", "three.example", T0 + timedelta(hours=2))
    assert index.add("a_h", HEADLINE, HEADLINE_TEXT, "three.example", T0 + timedelta(hours=2)).story_key == "s_h"
    assert index.add("a_s1", *_split(SOUTH_A), "four.example", T0 + timedelta(hours=3)).story_key == "s_h"
    assert index.add("a_s2", *_split(SOUTH_B), "five.example", T0 + timedelta(hours=4)).story_key == "s_h"
    assert {index.story_of(a) for a in ("a_n1", "a_n2")} == {north}


def test_a_lone_headline_decided_again_joins_its_story_to_the_one_it_is_decided_into() -> None:
    index = _index()
    _north(index)
    assert index.add("a_h", LONE_HEADLINE, "", "three.example", T0 + timedelta(hours=2)).story_key == "s_h"
    south = index.add("a_s1", *_split(SOUTH_A), "four.example", T0 + timedelta(hours=3)).story_key
    assert south == "s_s1"
    updated = index.add("a_h", LONE_HEADLINE, HEADLINE_TEXT, "three.example", T0 + timedelta(hours=2))
    assert (updated.story_key, updated.merged) == ("s_h", ("s_s1",))  # the older story keeps its key
    assert index.story_of("a_s1") == "s_h" and index.resolve("s_s1") == "s_h"


def test_a_short_article_is_decided_again_only_while_alone() -> None:
    """Fewer than MIN_TERMS terms (one word four times: a text, not a bare headline) is too little to decide on."""
    short = "Southport Southport Southport Southport"
    assert not article_terms("", short).headline and len(article_terms("", short).hashes) < MIN_TERMS
    index = _index()
    south = index.add("a_s1", *_split(SOUTH_A), "four.example", T0).story_key
    assert index.add("a_1", "", short, "one.example", T0 + timedelta(hours=1)).story_key == "s_1"
    updated = index.add("a_1", *_split(SOUTH_B), "one.example", T0 + timedelta(hours=1))
    assert (updated.story_key, updated.merged) == (south, ("s_1",))  # the older story keeps its key
    crowded = StoryIndex()
    crowded.add("a_1", "", short, "one.example", T0)
    crowded.restore("a_2", article_terms(*_split(SOUTH_A)).to_bytes(), "two.example", T0, "s_1")
    assert crowded.add("a_1", *_split(SOUTH_B), "one.example", T0).story_key == "s_1"


@pytest.fixture
def stored(store: Store) -> Iterator[tuple[Store, StoryIndex]]:
    index = StoryIndex()
    for i, (title, text, outlet, when) in enumerate(_background()):
        _put(store, index, f"bg/{i}", title, text, outlet, when)
    yield store, index


def _put(store: Store, index: StoryIndex, path: str, title: str, text: str, outlet: str, now: datetime) -> str:
    article, _ = store.upsert_article(
        url=f"https://{outlet}/{path}",
        title=title,
        text=text,
        now=now,
        outlet=outlet,
        assign_story=IndexedAssignment(index, store),
    )
    found = store.get_article(article.id)
    assert found is not None and found.story_id is not None
    return found.story_id


def test_a_stored_headline_decided_again_changes_stories_in_the_store(stored: tuple[Store, StoryIndex]) -> None:
    store, index = stored
    north = _put(store, index, "n1", *_split(NORTH_A), "one.example", T0)
    assert _put(store, index, "n2", *_split(NORTH_B), "two.example", T0 + timedelta(hours=1)) == north
    assert _put(store, index, "h", HEADLINE, "", "three.example", T0 + timedelta(hours=2)) == north
    lone = _put(store, index, "l", LONE_HEADLINE, "", "six.example", T0 + timedelta(minutes=90))
    south = _put(store, index, "s1", *_split(SOUTH_A), "four.example", T0 + timedelta(hours=3))
    assert len({north, lone, south}) == 3
    assert store.get_story(north).article_count == 3  # type: ignore[union-attr]
    # the headline that joined on its words leaves when its text comes; the lone one's story and the one its text
    # belongs to become one (the older keeps its key)
    assert _put(store, index, "h", HEADLINE, HEADLINE_TEXT, "three.example", T0 + timedelta(hours=5)) == south
    assert _put(store, index, "l", LONE_HEADLINE, HEADLINE_TEXT, "six.example", T0 + timedelta(hours=5)) == lone
    assert store.story_aliases()[south] == lone
    assert {a.url for a in store.story_articles(north)} == {"https://one.example/n1", "https://two.example/n2"}
    assert store.get_story(north).article_count == 2  # type: ignore[union-attr]
    members = {a.url for a in store.story_articles(lone)}
    assert members == {"https://three.example/h", "https://six.example/l", "https://four.example/s1"}
    # another process, started now, sees the same stories and decides the next report as this one does
    other = load_story_index(store, T0 + timedelta(hours=6), days=30)
    for url in members:
        assert other.story_of(store.get_article(url).id) == lone  # type: ignore[union-attr]
    later = article_terms(*_split(SOUTH_B)).to_bytes()
    assert (
        other.add("a_next", "", "", "five.example", T0 + timedelta(hours=6), terms=later).story_key
        == index.add("a_next", "", "", "five.example", T0 + timedelta(hours=6), terms=later).story_key
        == lone
    )


def test_a_merge_whose_transaction_failed_is_not_kept_by_the_index(stored: tuple[Store, StoryIndex]) -> None:
    """An article's decision merged two stories, but its transaction failed (here: the other article stored with
    it names a feed removed meanwhile). The database keeps the two stories apart, and so must the index from its
    next decision on: a merge cannot be taken back in memory, so the index is rebuilt from the store first."""
    store, index = stored
    lone = _put(store, index, "l", LONE_HEADLINE, "", "six.example", T0 + timedelta(minutes=90))
    south = _put(store, index, "s1", *_split(SOUTH_A), "four.example", T0 + timedelta(hours=3))
    later = T0 + timedelta(hours=5)
    items = [
        ArticleInput(url="https://six.example/l", title=LONE_HEADLINE, text=HEADLINE_TEXT, now=later),
        ArticleInput(url="https://gone.example/x", title="Gone", text=NORTH_A, now=later, feed_id=999),
    ]
    assignment = IndexedAssignment(index, store, several=True)
    with pytest.raises(KeyError, match="no feed 999"):
        store.upsert_articles(items, assign_story=assignment)
    assignment.undo()
    assert index.resolve(south) == lone and index.stale  # the merge the store did not record, held in memory
    assert store.story_aliases() == {}

    _put(store, index, "n1", *_split(NORTH_A), "one.example", T0 + timedelta(hours=6))

    assert not index.stale and index.resolve(south) == south
    for path, story in (("six.example/l", lone), ("four.example/s1", south)):
        article = store.get_article(f"https://{path}")
        assert article is not None and article.story_id == story and index.story_of(article.id) == story
