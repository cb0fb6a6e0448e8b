"""Normalization, offsets, sentence splitting, boilerplate and the sumy tokenizer object."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sumy.parsers.plaintext import PlaintextParser

from summarizer import OfflineTokenizer
from summarizer._text import boilerplate_kind, normalize, split_sentences, word_tokens


def test_normalize_quotes_dashes_entities_and_whitespace() -> None:
    n = normalize("“Yes,” she said \u2014 it&#39;s &amp; done.\u00a0 Next\u200b line")
    assert n.text == '"Yes," she said - it\'s & done. Next line'


def test_paragraph_breaks_collapse_to_one_newline() -> None:
    assert normalize("One.\r\n\r\n\r\n  Two.\n\tThree.").text == "One.\nTwo.\nThree."


def test_html_tags_and_scripts_are_removed() -> None:
    n = normalize("<p>Hello <b>world</b>.</p><script>var x = '<p>';</script><p>Bye.</p>")
    assert n.text == "Hello world.\nBye.\n"


def test_offsets_map_back_to_the_callers_string() -> None:
    original = "<p>The &ldquo;plan&rdquo; &mdash; approved.</p>  Next   sentence."
    n = normalize(original)
    start = n.text.index("plan")
    a, b = n.span_to_original(start, start + 4)
    assert original[a:b] == "plan"
    s = n.text.index("Next")
    a, b = n.span_to_original(s, s + len("Next sentence."))
    assert original[a:b] == "Next   sentence."


def test_replaced_pieces_map_to_their_whole_source() -> None:
    original = "a &amp; b"
    n = normalize(original)
    assert n.text == "a & b"
    a, b = n.span_to_original(2, 3)
    assert original[a:b] == "&amp;"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_offsets_always_inside_the_text(text: str) -> None:
    n = normalize(text)
    for s in split_sentences(n.text):
        a, b = n.span_to_original(s.start, s.end)
        assert 0 <= a <= b <= len(text)
        assert n.text[s.start : s.end] == s.text


def test_sentences_never_cross_paragraphs() -> None:
    sentences = split_sentences(normalize("First part without stop\nSecond paragraph. Third one.").text)
    assert [s.text for s in sentences] == ["First part without stop", "Second paragraph.", "Third one."]
    assert [s.paragraph for s in sentences] == [0, 1, 1]


def test_abbreviations_do_not_split() -> None:
    sentences = split_sentences("Mr. Smith met U.S. officials on Monday. They agreed.")
    assert [s.text for s in sentences] == ["Mr. Smith met U.S. officials on Monday.", "They agreed."]


def test_daily_mail_byline_and_stamps_are_one_boilerplate_sentence() -> None:
    text = (
        "By . Jane Doe . PUBLISHED: . 12:01 EST, 1 May 2014 . | . UPDATED: . 13:20 EST, 1 May 2014 . "
        "The council voted on Tuesday. It was close."
    )
    sentences = split_sentences(normalize(text).text)
    assert sentences[0].boilerplate == "byline"
    assert [s.text for s in sentences[1:]] == ["The council voted on Tuesday.", "It was close."]
    assert all(s.boilerplate is None for s in sentences[1:])


def test_lower_cased_byline_is_found_but_by_the_time_is_prose() -> None:
    lower = split_sentences("by . daily mail reporter . the cat sat on the mat .")
    assert lower[0].boilerplate == "byline"
    prose = split_sentences("by the time the match ended, the crowd had left.")
    assert prose[0].boilerplate is None


def test_boilerplate_kinds() -> None:
    assert boilerplate_kind("Read more: Council budget row") == "prompt"
    assert boilerplate_kind("Advertisement") == "prompt"
    assert boilerplate_kind("Sign up for our newsletter") == "prompt"
    assert boilerplate_kind("Share this article") == "prompt"
    assert boilerplate_kind("0 Comments") == "prompt"
    assert boilerplate_kind("Photo: Getty Images") == "credit"
    assert boilerplate_kind("The mayor waves to the crowd (pictured) on Monday.") == "pictured"
    assert boilerplate_kind("The mayor waves to the crowd outside the town hall on Monday") == "caption"
    assert boilerplate_kind("TALKS?") == "heading"
    assert boilerplate_kind("The mayor said the plan was approved.") is None


def test_scroll_down_prompt_is_cut_from_the_text_it_is_glued_to() -> None:
    sentences = split_sentences("Scroll down for video The mayor opened the bridge on Monday.")
    assert [(s.text, s.boilerplate) for s in sentences] == [
        ("Scroll down for video", "prompt"),
        ("The mayor opened the bridge on Monday.", None),
    ]


def test_text_without_punctuation_is_cut_into_bounded_pieces() -> None:
    text = " ".join(["word"] * 30_000)
    sentences = split_sentences(text)
    assert len(sentences) > 10
    assert max(len(s.text) for s in sentences) <= 2_000


def test_word_tokens_keep_inner_apostrophes_and_hyphens() -> None:
    assert word_tokens("Putin's long-range U.S. plan, 2024!") == ["Putin's", "long-range", "U.S", "plan", "2024"]


def test_tokenizer_object_works_with_sumys_own_parser() -> None:
    tokenizer = OfflineTokenizer("english")
    assert tokenizer.language == "english"
    parser = PlaintextParser.from_string("First sentence here. Second one follows.\n\nNew paragraph.", tokenizer)
    assert [str(s) for s in parser.document.sentences] == [
        "First sentence here.",
        "Second one follows.",
        "New paragraph.",
    ]
    assert tokenizer.to_words("Hello, world!") == ("Hello", "world")


@pytest.mark.parametrize(
    ("text", "dateline", "first"),
    [
        ("(CNN)They may be close. Yes.", "(CNN)", "They may be close."),
        ("LONDON (Reuters) - The bank raised rates.", "LONDON (Reuters) -", "The bank raised rates."),
        ("Reuters, December 2, Moscow - The Kremlin spoke.", "Reuters, December 2, Moscow -", "The Kremlin spoke."),
        ("Washington (CNN) -- The senate voted.", "Washington (CNN) --", "The senate voted."),
    ],
)
def test_datelines_are_cut_from_the_first_sentence(text: str, dateline: str, first: str) -> None:
    sentences = split_sentences(text)
    assert (sentences[0].text, sentences[0].boilerplate) == (dateline, "dateline")
    assert (sentences[1].text, sentences[1].boilerplate) == (first, None)


def test_a_capitalised_word_and_a_dash_inside_prose_is_not_a_dateline() -> None:
    assert [s.boilerplate for s in split_sentences("US officials said - again - no.")] == [None]
