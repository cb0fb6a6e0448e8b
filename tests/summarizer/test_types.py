"""The summarizer's values own their JSON form: every field round-trips, old stored JSON still reads."""

from __future__ import annotations

import json

import pytest

from summarizer import Quote, Summary


def test_summary_round_trips_every_field() -> None:
    quote = Quote("Q", 1, 2, speaker="S", cue="said", speaker_start=5, speaker_end=6, role="mayor", score=0.5)
    summary = Summary(("one.", "two."), (quote, Quote("R", 7, 8)), "lexrank", "german")
    data = summary.to_dict()
    assert data["quotes"][0]["score"] == 0.5 and data["language"] == "german"
    assert Summary.from_dict(json.loads(json.dumps(data))) == summary
    assert Quote.from_dict(quote.to_dict()) == quote


def test_json_stored_without_newer_fields_reads_with_defaults() -> None:
    summary = Summary.from_dict({"sentences": ["one."], "quotes": [{"text": "Q", "start": 1, "end": 2}]})
    assert summary == Summary(("one.",), (Quote("Q", 1, 2),), "", "english")
    assert Summary.from_dict({}) == Summary((), (), "", "english")


def test_a_quote_without_its_text_is_refused() -> None:
    with pytest.raises(KeyError, match="text"):
        Quote.from_dict({"start": 1, "end": 2})
