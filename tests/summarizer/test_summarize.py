"""summarize(), the algorithms, budgets, languages, bad input and brief_story()."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer import ALGORITHMS, LANGUAGES, Article, DefaultSummarizer, brief_story, summarize
from tests.conftest import shared_path

ARTICLE = """Harbour council approves tidal barrier after decade of floods

By . Sam Reed . PUBLISHED: . 09:12 GMT, 4 March 2025 . | . UPDATED: . 11:40 GMT, 4 March 2025 .

The Harbour city council approved a tidal barrier on Tuesday after ten years of winter floods in the old town.
The barrier will cost 40 million pounds and close the river mouth during storm surges.
Engineers said the design protects 3,000 homes and the historic fish market.
Residents packed the chamber as the vote was taken.
The mayor waves to residents outside the chamber (pictured) after the vote.
Read more: How the 2016 floods changed the harbour
Work on the barrier starts in May and should finish within three years.
Opponents said the barrier would harm the estuary's wildlife and asked for a review.
The council promised a wildlife survey before building starts.
Advertisement
"""


def body() -> str:
    return ARTICLE.split("\n", 1)[1]


def test_summary_is_in_article_order_and_within_budget() -> None:
    s = summarize(body(), title="Harbour council approves tidal barrier", sentences=3, quotes=0)
    assert len(s.sentences) == 3
    positions = [body().index(x) for x in s.sentences]
    assert positions == sorted(positions)
    assert s.algorithm == "default"


def test_boilerplate_never_reaches_the_summary() -> None:
    for algorithm in ALGORITHMS:
        s = summarize(body(), sentences=6, quotes=0, algorithm=algorithm)
        joined = " ".join(s.sentences)
        assert "PUBLISHED" not in joined, algorithm
        assert "Read more" not in joined, algorithm
        assert "Advertisement" not in joined, algorithm
        assert "Sam Reed" not in joined, algorithm


def test_default_leads_with_the_news() -> None:
    s = summarize(body(), sentences=2, quotes=0)
    assert s.sentences[0].startswith("The Harbour city council approved a tidal barrier")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_runs_and_is_deterministic(algorithm: str) -> None:
    first = summarize(body(), sentences=2, quotes=0, algorithm=algorithm)
    second = summarize(body(), sentences=2, quotes=0, algorithm=algorithm)
    assert first == second
    assert 1 <= len(first.sentences) <= 2
    assert first.algorithm == algorithm


def test_all_sumy_algorithms_are_offered() -> None:
    expected = {
        "default",
        "lead",
        "lexrank",
        "textrank",
        "lsa",
        "luhn",
        "edmundson",
        "kl",
        "sumbasic",
        "reduction",
        "random",
    }
    assert set(ALGORITHMS) == expected


def test_word_and_character_budgets() -> None:
    by_words = summarize(body(), sentences=10, max_words=30, quotes=0)
    assert sum(len(x.split()) for x in by_words.sentences) <= 30 or len(by_words.sentences) == 1
    by_chars = summarize(body(), sentences=10, max_chars=160, quotes=0)
    assert sum(len(x) + 1 for x in by_chars.sentences) <= 160 or len(by_chars.sentences) == 1
    assert len(summarize(body(), sentences=0, quotes=0).sentences) == 0


def test_near_duplicate_sentences_are_not_both_chosen() -> None:
    text = (
        "The bridge reopened on Monday after repairs costing 2 million pounds. "
        "The bridge reopened on Monday after repairs that cost 2 million pounds. "
        "Traffic returned to normal within an hour. Shops on the quay reported more customers."
    )
    for algorithm in ("default", "lead", "lexrank"):
        s = summarize(text, sentences=2, quotes=0, algorithm=algorithm)
        assert sum(x.startswith("The bridge reopened") for x in s.sentences) == 1, algorithm


def test_other_languages_use_their_stemmer_and_stop_words() -> None:
    german = (
        "Der Stadtrat hat am Dienstag den Bau einer Flutmauer beschlossen. "
        "Die Mauer soll die Altstadt vor Hochwasser schützen. "
        "Die Kosten liegen bei vierzig Millionen Euro. "
        "Kritiker fordern eine Prüfung der Folgen für die Natur."
    )
    s = summarize(german, sentences=2, quotes=0, language="german")
    assert s.language == "german" and len(s.sentences) == 2
    assert summarize(german, sentences=1, quotes=0, language="de").language == "german"
    assert "french" in LANGUAGES


def test_unsupported_language_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="unsupported language 'klingon'"):
        summarize("Some text here.", language="klingon")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithm": "magic"}, "unknown algorithm"),
        ({"sentences": -1}, "sentences must be"),
        ({"quotes": -2}, "quotes must be"),
        ({"max_words": -5}, "max_words must be"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize("Some text here.", **kwargs)  # type: ignore[arg-type]


def test_non_string_text_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="text must be a string"):
        summarize(b"bytes are not text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "Only one sentence here.",
        "no punctuation at all just words going on and on " * 50,
        "\x00\x01\x02\ufffd\ufffe garbage \udcff bytes",
        "<html><head><script>var a = 1;</script></head><body><p>The mayor spoke.</p><p>Then left.</p></body></html>",
        'He said "this never closes and goes on. And on. ' * 20,
    ],
)
def test_bad_input_gives_a_sensible_result(text: str) -> None:
    for algorithm in ALGORITHMS:
        s = summarize(text, sentences=3, quotes=2, algorithm=algorithm)
        assert len(s.sentences) <= 3
        assert all(x.strip() for x in s.sentences)
        assert "<" not in "".join(s.sentences)


def test_empty_text_gives_an_empty_summary() -> None:
    s = summarize("")
    assert s.sentences == () and s.quotes == ()


def test_one_megabyte_finishes() -> None:
    """A hang guard only: the speed and its linear growth are measured by `make bench`."""
    paragraph = body().replace("\n", " ")
    large = (paragraph + "\n") * 800  # about 0.8 MB of varied sentences
    t0 = time.perf_counter()
    s = summarize(large, quotes=2)
    assert time.perf_counter() - t0 < 60.0
    assert len(s.sentences) == 3


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=2_000))
def test_never_crashes_on_any_unicode(text: str) -> None:
    s = summarize(text, sentences=2, quotes=2)
    assert len(s.sentences) <= 2


def test_default_summarizer_is_a_sumy_summarizer_class() -> None:
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers._summarizer import AbstractSummarizer

    from summarizer import OfflineTokenizer
    from summarizer._languages import language_tools

    ranker = DefaultSummarizer(language_tools("english"))
    assert isinstance(ranker, AbstractSummarizer)
    parser = PlaintextParser.from_string(body(), OfflineTokenizer("english"))
    picked = ranker(parser.document, 2)
    assert len(picked) == 2


# --------------------------------------------------------------------------------------------------
# brief_story

OUTLET_A = (
    "The Harbour council approved a tidal barrier on Tuesday after a decade of floods. "
    "The barrier will cost 40 million pounds. "
    '"We cannot keep sandbagging the old town every winter," Mayor Ellen Ward said. '
    "Work starts in May."
)
OUTLET_B = (
    "Harbour's council voted on Tuesday to build a tidal barrier after ten years of flooding. "
    "The barrier will cost 40 million pounds. "
    "Environmental groups asked for a review of the effects on the estuary. "
    '"We cannot keep sandbagging the old town every winter," Mayor Ellen Ward told reporters.'
)


def test_brief_story_merges_outlets_without_repeating_sentences_or_quotes() -> None:
    brief = brief_story(
        [
            Article(
                text=OUTLET_A, title="Council backs tidal barrier", outlet="Harbour Post", url="https://a.example/1"
            ),
            Article(text=OUTLET_B, title="Tidal barrier approved", outlet="Coast News", url="https://b.example/2"),
        ],
        sentences=3,
        quotes=2,
    )
    assert brief.headline == "Council backs tidal barrier"
    assert len(brief.sentences) == 3
    assert sum("40 million pounds" in s for s in brief.sentences) <= 1
    assert [s.outlet for s in brief.sources] == ["Harbour Post", "Coast News"]
    sandbag = [q for q in brief.quotes if "sandbagging" in q.text]
    assert len(sandbag) <= 1


def test_brief_story_accepts_mappings_and_plain_text() -> None:
    brief = brief_story([{"text": OUTLET_A, "outlet": "A"}, OUTLET_B], sentences=2, quotes=0)
    assert len(brief.sentences) == 2
    assert brief.sources[0].outlet == "A"


def test_brief_story_rejects_bad_items() -> None:
    with pytest.raises(ValueError, match=r"articles\[0\]"):
        brief_story([42])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"articles\[1\] has no text"):
        brief_story([OUTLET_A, {"title": "no text"}])


def test_brief_story_of_nothing_is_empty() -> None:
    brief = brief_story([])
    assert brief.sentences == () and brief.quotes == () and brief.sources == ()


# --------------------------------------------------------------------------------------------------
# The user's own example


def test_seed_article_briefing_quotes_peskov_and_no_scare_quotes() -> None:
    title, body_text = shared_path("fixtures", "seed-article.txt").read_text(encoding="utf-8").split("\n", 1)
    s = summarize(body_text, title=title, sentences=3, quotes=2)
    assert len(s.sentences) == 3
    assert 1 <= len(s.quotes) <= 2
    peskov = [
        q
        for q in s.quotes
        if q.text.startswith("That's essentially what Biden stated")
        or q.text.startswith("President Putin has, is, and will continue to be open to contacts")
    ]
    assert peskov, [q.text for q in s.quotes]
    assert all(q.speaker == "Dmitry Peskov" for q in peskov)
    for q in s.quotes:
        assert q.speaker and q.speaker.lower() not in {"he", "she", "they"}
        assert body_text[q.start : q.end] == q.text
        assert q.text.lower() not in {"barbaric", "the new areas", "special military operation"}
        assert len(q.text.split()) >= 6


def test_brief_story_drops_a_reworded_sentence_of_another_outlet() -> None:
    a = (
        "The coastal railway between Kestrel Bay and Marrow Point will reopen to passengers on Saturday, eleven "
        "weeks after a landslide buried the track below Gannet Cliff, the regional transport department said. "
        "Crews removed 40,000 tonnes of rock and clay and built a steel catch fence above the line."
    )
    b = (
        "Passenger trains will run again between Kestrel Bay and Marrow Point from Saturday, the regional "
        "transport department announced, ending an eleven-week closure caused by the landslide at Gannet Cliff "
        "last winter. "
        "Season tickets bought before the closure will be extended by three months, the operator said."
    )
    brief = brief_story([Article(text=a, outlet="A"), Article(text=b, outlet="B")], sentences=3, quotes=0)
    assert sum("Kestrel Bay and Marrow Point" in s for s in brief.sentences) == 1
    assert len(brief.sentences) == 3


# Two sentences sharing a run of eight words ("to detain suspects for up to thirty minutes") whose content
# stems overlap too little for the near-duplicate rule: a reader sees the same words twice.
_EIGHT_GRAM_TEXT = (
    "The police union said it strongly opposes giving support officers the power to detain suspects for up to "
    "thirty minutes.\n\n"
    "Officers in six pilot areas can now use reasonable force to detain suspects for up to thirty minutes while "
    "they wait for colleagues.\n\n"
    "The Home Office said the pilot schemes had been a success in cutting street crime.\n\n"
    "Ministers will decide next spring whether to extend the powers across the country."
)


@pytest.mark.parametrize("algorithm", ["default", "lead"])
def test_summary_sentences_never_share_an_eight_word_run(algorithm: str) -> None:
    s = summarize(_EIGHT_GRAM_TEXT, sentences=3, quotes=0, algorithm=algorithm)
    assert len(s.sentences) == 3
    assert sum("detain suspects for up to thirty minutes" in x for x in s.sentences) == 1, s.sentences


def test_brief_story_sentences_never_share_an_eight_word_run() -> None:
    first, second, *rest = _EIGHT_GRAM_TEXT.split("\n\n")
    articles = [Article(text=f"{first}\n\n{rest[0]}", outlet="A"), Article(text=f"{second}\n\n{rest[1]}", outlet="B")]
    brief = brief_story(articles, sentences=3, quotes=0)
    assert sum("detain suspects for up to thirty minutes" in x for x in brief.sentences) == 1, brief.sentences
