"""Tests of the evaluation package on tiny inline data (no ../shared needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from summarizer import ALGORITHMS, Quote
from summarizer.eval import main
from summarizer.eval._bootstrap import paired_bootstrap
from summarizer.eval._cli import _selected
from summarizer.eval._data import Attribution
from summarizer.eval._quotes import count_words, is_direct_quote, is_pronoun, quoted_segments, score_document

# --- bootstrap -------------------------------------------------------------------------------------------


def test_bootstrap_constant_difference_gives_zero_width_interval() -> None:
    a = [1.0, 2.0, 5.0, 7.5, 10.25, 3.0]
    b = [x - 2.5 for x in a]
    interval = paired_bootstrap(a, b)
    assert interval.delta == pytest.approx(2.5)
    assert interval.low == pytest.approx(2.5)
    assert interval.high == pytest.approx(2.5)


def test_bootstrap_is_reproducible_and_seeded() -> None:
    rng = np.random.default_rng(42)
    a = list(rng.normal(40.0, 5.0, size=50))
    b = list(rng.normal(39.0, 5.0, size=50))
    first, second = paired_bootstrap(a, b), paired_bootstrap(a, b)
    assert first == second
    assert first.low < first.delta < first.high
    assert first.delta == pytest.approx(float(np.mean(np.subtract(a, b))))
    assert paired_bootstrap(a, b, seed=1) != first


def test_bootstrap_rejects_unpaired_input() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired_bootstrap([], [])


# --- gold direct quotes ----------------------------------------------------------------------------------


def _content(text: str, inner: str, left: int = 0, right: int = 0) -> Attribution:
    """An attribution whose content is ``inner``'s span in ``text``, shrunk by ``left``/``right`` chars."""
    start = text.index(inner)
    return Attribution(source=(), cue=(), content=((start + left, start + len(inner) - right),))


def test_direct_quote_needs_six_words() -> None:
    six = 'She said "one two three four five six" today.'
    five = 'She said "one two three four five" today.'
    assert is_direct_quote(six, _content(six, "one two three four five six"))
    assert not is_direct_quote(five, _content(five, "one two three four five"))


def test_direct_quote_widening_is_two_characters() -> None:
    text = 'She said "one two three four five six" today.'
    inner = "one two three four five six"
    # The marks sit 1 character outside the content: still inside the window widened by 2.
    assert is_direct_quote(text, _content(text, inner, left=1))
    assert is_direct_quote(text, _content(text, inner, right=1))
    # 2 characters in on one side puts that mark 3 characters out: no quotation-marked segment.
    assert not is_direct_quote(text, _content(text, inner, left=2))
    assert not is_direct_quote(text, _content(text, inner, right=2))
    # Content reaching past the closing mark still contains the segment.
    assert is_direct_quote(text, _content(text, '"one two three four five six" today'))


def test_direct_quote_any_content_span() -> None:
    text = '"Short one," he said. "And then a second part with many words."'
    first = text.index("Short one,")
    second = text.index("And then")
    spans = (
        (first, first + len("Short one,")),
        (second, second + len("And then a second part with many words.")),
    )
    assert is_direct_quote(text, Attribution(source=(), cue=(), content=spans))
    assert not is_direct_quote(text, Attribution(source=(), cue=(), content=spans[:1]))


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("He said “we will win this one, believe me” loudly", ["we will win this one, believe me"]),
        (
            "He said ``we are suffering with rain , strong wind '' .",
            ["we are suffering with rain , strong wind "],
        ),
        ("a priority ''is increasing the tax liability,'' Mr. X said", ["is increasing the tax liability,"]),
        ("He said 'It is what it is, you know' again", ["It is what it is, you know"]),
        ("Its ‘quite a long quote with words’ too", ["quite a long quote with words"]),
        ("Clinton’s team said it’s a long night, and don't worry", []),
        ('"a" and "b c"', ["a", "b c"]),
        ('an "unclosed quote here', []),
    ],
)
def test_quoted_segments(text: str, quoted: list[str]) -> None:
    assert [text[s.inner_start : s.inner_end] for s in quoted_segments(text)] == quoted


def test_count_words_ignores_bare_punctuation() -> None:
    assert count_words("a , b . c -- d '' e") == 5
    assert count_words("it's well-known, isn't it?") == 4


def test_is_pronoun() -> None:
    assert is_pronoun("he") and is_pronoun(" They ") and is_pronoun("I") and is_pronoun("him,")
    assert not is_pronoun("Dmitry Peskov") and not is_pronoun(None) and not is_pronoun("Hearst")


# --- quote scorer ----------------------------------------------------------------------------------------


def _span(text: str, part: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(part, start + 1)
    return start, start + len(part)


def _quote(text: str, part: str, speaker: tuple[int, int] | None, name: str | None = None) -> Quote:
    start, end = _span(text, part)
    return Quote(
        text=part,
        start=start,
        end=end,
        speaker=name,
        speaker_start=None if speaker is None else speaker[0],
        speaker_end=None if speaker is None else speaker[1],
    )


def test_quote_scorer_two_documents() -> None:
    doc1 = 'Smith said: "We will win this race by a wide margin." Jones said "no way at all".'
    smith, jones = _span(doc1, "Smith"), _span(doc1, "Jones")
    a1 = Attribution(source=(smith,), cue=(), content=(_span(doc1, "We will win this race by a wide margin."),))
    a2 = Attribution(source=(jones,), cue=(), content=(_span(doc1, "no way at all"),))
    p1 = _quote(doc1, "We will win this race by a wide margin.", smith, "Smith")  # right, right speaker
    p2 = _quote(doc1, "no way at all", smith, "He")  # right quote (not a gold one), wrong speaker, pronoun
    p3 = _quote(doc1, "Smith said:", smith, "Smith")  # not in any content: wrong
    counts1 = score_document(doc1, [a1, a2], [p1, p2, p3])

    doc2 = (
        'Lee told reporters, "The budget is balanced and the books are closed." '
        'Later, Lee added: "Nobody here has ever seen anything like this week."'
    )
    lee1, lee2 = _span(doc2, "Lee"), _span(doc2, "Lee", 1)
    b1 = Attribution(source=(lee1,), cue=(), content=(_span(doc2, "The budget is balanced and the books are closed."),))
    b2 = Attribution(
        source=(lee2,), cue=(), content=(_span(doc2, "Nobody here has ever seen anything like this week."),)
    )
    p4 = _quote(doc2, "The budget is balanced and the books are closed.", None)  # right, no speaker
    counts2 = score_document(doc2, [b1, b2], [p4])

    counts1.add(counts2)
    assert counts1.metrics() == {
        "docs": 2,
        "gold": 3,
        "predicted": 4,
        "quote_precision": pytest.approx(3 / 4),
        "quote_recall": pytest.approx(2 / 3),
        "e2e_precision": pytest.approx(1 / 4),
        "e2e_recall": pytest.approx(1 / 3),
        "pronoun_speakers": pytest.approx(1 / 4),
    }


def test_quote_scorer_half_overlap_and_split_content() -> None:
    text = "x" * 40
    attribution = Attribution(source=((0, 3),), cue=(), content=((10, 20),))
    half = Quote(text="", start=15, end=25, speaker_start=1, speaker_end=2)  # 5 of 10 characters inside
    under = Quote(text="", start=16, end=26)  # 4 of 10
    assert score_document(text, [attribution], [half]).correct_speaker == 1
    assert score_document(text, [attribution], [under]).correct == 0
    split = Attribution(source=(), cue=(), content=((10, 18), (22, 30)))  # neither span holds half alone
    assert score_document(text, [split], [Quote(text="", start=10, end=30)]).correct == 1  # 16 of 20
    assert score_document(text, [split], [Quote(text="", start=0, end=40)]).correct == 0  # 16 of 40


def test_quote_scorer_without_predictions_or_gold() -> None:
    metrics = score_document("Nothing quoted here.", [], []).metrics()
    assert metrics["predicted"] == 0 and metrics["gold"] == 0
    assert metrics["quote_precision"] == metrics["quote_recall"] == metrics["pronoun_speakers"] == 0.0


# --- command line ----------------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


SUMMARY_ROWS = [
    {
        "id": "a",
        "title": "Rain falls",
        "text": "Rain fell on the town today. The river rose by a metre. Schools closed early. "
        "Shops stayed open. The mayor thanked volunteers.",
        "summary": "Rain fell on the town.\nThe river rose.",
    },
    {
        "id": "b",
        "text": "The team won the cup. Fans celebrated in the square. The coach praised the defence. "
        "The captain lifted the trophy.",
        "summary": "The team won the cup.\nThe captain lifted the trophy.",
    },
]


def test_rouge_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_jsonl(tmp_path / "tiny-set.jsonl", SUMMARY_ROWS)
    assert main(["rouge", str(path), "--json", "--sentences", "2", "--methods", "lead"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["datasets"]["tiny-set"]
    assert entry["docs"] == 2
    assert set(entry["methods"]) == {"default", "lead"}
    for scores in entry["methods"].values():
        assert set(scores) == {"rouge1", "rouge2", "rougeL", "docs_per_s"}
        assert all(0.0 <= scores[m] <= 100.0 for m in ("rouge1", "rouge2", "rougeL"))
        assert scores["docs_per_s"] > 0
    assert set(entry["default_vs_lead"]) == {"rouge1", "rouge2", "rougeL"}
    for metric, iv in entry["default_vs_lead"].items():
        assert set(iv) == {"delta", "ci_low", "ci_high"}
        assert iv["ci_low"] <= iv["delta"] <= iv["ci_high"] or iv["ci_low"] == pytest.approx(iv["ci_high"])
        expected = entry["methods"]["default"][metric] - entry["methods"]["lead"][metric]
        assert iv["delta"] == pytest.approx(expected)


def test_rouge_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_jsonl(tmp_path / "tiny-set.jsonl", SUMMARY_ROWS)
    assert main(["rouge", str(path), "--methods", "lead"]) == 0
    out = capsys.readouterr().out
    assert "tiny-set" in out and "default" in out and "lead" in out and "R-1" in out


def test_rouge_scores_every_algorithm_by_default() -> None:
    assert _selected(None) == list(ALGORITHMS)
    assert _selected(["lead"]) == [name for name in ALGORITHMS if name in {"default", "lead"}]


def test_quotes_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = 'Smith said: "We will win this race by a wide margin," and left.'
    start = text.index("We will")
    row = {
        "id": "q1",
        "text": text,
        "attributions": [
            {
                "source": [[0, 5]],
                "cue": [[6, 10]],
                "content": [[start, start + len("We will win this race by a wide margin,")]],
            }
        ],
    }
    path = _write_jsonl(tmp_path / "quotes-tiny.jsonl", [row])
    assert main(["quotes", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["datasets"]["quotes-tiny"]
    assert set(entry) == {
        "docs",
        "gold",
        "predicted",
        "quote_precision",
        "quote_recall",
        "e2e_precision",
        "e2e_recall",
        "pronoun_speakers",
    }
    assert entry["docs"] == 1 and entry["gold"] == 1
    assert all(0.0 <= entry[key] <= 1.0 for key in entry if key not in {"docs", "gold", "predicted"})
    assert main(["quotes", str(path)]) == 0
    assert "quotes-tiny" in capsys.readouterr().out


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.jsonl"
    for command in ("rouge", "quotes"):
        assert main([command, str(missing), "--json"]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert str(missing) in captured.err and len(captured.err.strip().splitlines()) == 1


def test_bad_json_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(SUMMARY_ROWS[0]) + "\n{not json\n", encoding="utf-8")
    assert main(["rouge", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and len(err.strip().splitlines()) == 1


def test_missing_field_and_bad_usage_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_jsonl(tmp_path / "nosummary.jsonl", [{"id": "x", "text": "Some text."}])
    assert main(["rouge", str(path)]) == 2
    assert f"{path}:1:" in capsys.readouterr().err
    assert main(["quotes", str(path)]) == 2  # no attributions
    assert main(["rouge", str(path), "--methods", "nosuchmethod"]) == 2
    assert main(["rouge", str(path), "--sentences", "0"]) == 2


def test_caching_tokenizer_scores_like_rouge_score() -> None:
    from rouge_score import rouge_scorer

    from summarizer.eval._rouge import METRICS, scorer

    plain = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    reference = "The runners were running quickly.\nOfficials announced closures."
    for prediction in ("Runners ran quickly; officials announce closure.", "", "the the the", reference):
        assert scorer().score(reference, prediction) == plain.score(reference, prediction)
        assert scorer().score(reference, prediction) == plain.score(reference, prediction)  # cached path


# --- reader checks ---------------------------------------------------------------------------------------


def test_reader_checks_count_each_defect() -> None:
    from summarizer.eval._reader import ReaderCounts

    counts = ReaderCounts()
    fine = Quote(text="We will rebuild the harbour wall before the winter storms", start=0, end=1, speaker="Ann Lee")
    counts.add("Harbour wall to be rebuilt", ["The council approved the plan.", "Work starts in May."], fine)
    # sentence 2 repeats eight words of sentence 1; the quote opens with "And" and has one speaker word
    counts.add(
        None,
        [
            "The council approved the plan to rebuild the harbour wall on Monday morning.",
            "Crews began to rebuild the harbour wall on Monday morning in the rain.",
        ],
        Quote(text="And that is why we acted quickly on the wall", start=0, end=1, speaker="Lee"),
    )
    counts.add("Storm", ['He called it "a disgrace.', "- Now, the wall is gone."], None)  # unbalanced, bullet
    counts.add("Storm", ["The wall fell."], Quote(text="the wall fell down in the night", start=0, end=1, role="aide"))
    m = counts.metrics()
    assert m["docs"] == 4
    assert m["repeated"] == 0.25 and m["unbalanced"] == 0.25 and m["bullets"] == 0.25
    assert m["quoted"] == 0.75 and m["fragments"] == pytest.approx(2 / 3)
    assert m["quote_words_max"] == 10 and m["quote_words_mean"] == pytest.approx(27 / 3)
    assert m["speakers"] == pytest.approx({"full": 1 / 3, "surname": 1 / 3, "role": 1 / 3, "none": 0.0})


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('He said "yes" and "no".', True),
        ('He said "yes and left.', False),
        ("„Wir schaffen das“, sagte sie.", True),
        ("« Nous verrons », a déclaré le maire.", True),
        ("``We won,'' he said.", True),
        ("''This isn't reform,'' said Smith.", True),
        ("``We won, he said.", False),
        ("It's the parents' house.", True),
    ],
)
def test_reader_balanced_marks(text: str, ok: bool) -> None:
    from summarizer.eval._reader import balanced

    assert balanced(text) is ok


def test_repeats_fold_apostrophes() -> None:
    from summarizer.eval._reader import repeats

    assert repeats(["We don’t want a wall that falls down again", "we don't want a wall that falls down again."])
    assert not repeats(["We want a wall that stands", "We want a wall that stands."])  # under eight words


def test_reader_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summaries = _write_jsonl(tmp_path / "tiny-set.jsonl", SUMMARY_ROWS)
    text = (
        "The harbour wall at Kestrel Bay collapsed in Sunday's storm, flooding twelve shops.\n\n"
        "The council will spend two million pounds on repairs, it said on Monday.\n\n"
        "Engineers expect the work to take about four months.\n\n"
        'Mayor Ann Lee said: "We will rebuild the harbour wall before the winter storms arrive."'
    )
    quotes = _write_jsonl(tmp_path / "quotes-tiny.jsonl", [{"id": "q", "text": text, "attributions": []}])
    assert main(["reader", str(summaries), str(quotes), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["datasets"]
    assert set(data) == {"tiny-set", "quotes-tiny"}
    keys = {
        "docs",
        "repeated",
        "unbalanced",
        "bullets",
        "quoted",
        "fragments",
        "quote_words_mean",
        "quote_words_max",
        "speakers",
    }
    assert all(set(entry) == keys for entry in data.values())
    assert data["tiny-set"]["docs"] == 2 and data["tiny-set"]["repeated"] == 0.0
    assert data["quotes-tiny"]["quoted"] == 1.0 and data["quotes-tiny"]["speakers"]["full"] == 1.0
    assert main(["reader", str(summaries)]) == 0
    out = capsys.readouterr().out
    assert "reader checks" in out and "tiny-set" in out and "repeated" in out
    assert main(["reader", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl" in capsys.readouterr().err


# --- the [eval] extra ------------------------------------------------------------------------------------


def test_without_rouge_score_the_command_says_which_extra_it_needs(tmp_path: Path) -> None:
    """rouge-score comes with the [eval] extra only: without it ``python -m summarizer.eval`` prints one line
    naming the extra and exits 2 (no traceback)."""
    import subprocess
    import sys

    blocker = (
        "import runpy, sys; sys.modules['rouge_score'] = None; runpy.run_module('summarizer.eval', run_name='__main__')"
    )
    data = tmp_path / "tiny.jsonl"
    data.write_text("", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", blocker, "rouge", str(data)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: python -m summarizer.eval needs the [eval] extra: pip install 'newsbrief[eval]'"
    ]
