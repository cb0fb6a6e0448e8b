"""Quote evaluation on attribution-annotated news (PolNeAR-style data).

Gold direct quotes
    An attribution is a *direct quote* when one of its ``content`` spans, widened by ``WIDEN`` (2)
    characters each side (clipped to the text), wholly contains a quotation-marked segment whose inner
    text has at least ``MIN_WORDS`` (6) words. A *word* is a whitespace-separated token holding at least
    one letter or digit (so the tokenised ``, . --`` of CNN/DM-style text do not count).

Quotation-marked segments (:func:`quoted_segments`)
    The window is scanned left to right. At each position an opening mark is tried, in this order,
    with its closing mark:

        ``  ... ''    PTB/LaTeX style (two backticks, two straight single marks), tokenised CNN/DM text
        ''  ... ''    two straight single marks on both sides (old New York Times text)      strict
        “   ... ”     curly double marks: the first ” after the opening mark
        "   ... "     straight double marks: the next "
        ‘   ... ’     curly single marks                                                    strict
        '   ... '     straight single marks                                                 strict

    Single marks double as apostrophes, so the *strict* pairs obey extra rules: the opening mark is not
    preceded by a letter or digit and is followed by a non-space; the closing mark is preceded by a
    non-space and not followed by a letter or digit ("Clinton’s", "don't" never close a quote). A
    straight ' that is half of '' is never a one-character mark. The segment runs from the opening to the
    closing mark; scanning resumes after the closing mark, so a quote nested inside another is part of
    the outer segment. An opening mark without a closing mark in the window is skipped. Context (the
    character before or after a mark) is read from the whole text, not just the window.

Scoring (:func:`score_document`)
    A prediction is every :class:`~summarizer.Quote` of ``extract_quotes(text)``. It is *matched* to the
    attribution (any attribution, direct or not) whose content spans hold most of its characters
    ``[q.start, q.end)``; ties prefer a gold direct quote, then one whose speaker is right. It is
    *correct* when that overlap is at least half its characters (an empty quote is never correct). Its
    *speaker is correct* when ``[speaker_start, speaker_end)`` overlaps one of the matched attribution's
    ``source`` spans. A gold direct quote is *found* when a correct prediction is matched to it, and
    *found end to end* when a correct prediction with a correct speaker is.

    quote_precision = correct / predicted;  quote_recall = found / gold;
    e2e_precision = correct with correct speaker / predicted;  e2e_recall = found end to end / gold;
    pronoun_speakers = predictions whose displayed ``speaker`` is a bare pronoun / predicted.
    Every ratio with a zero denominator is 0.0. Counts are summed over the documents of a file (micro
    averages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from summarizer import Quote, extract_quotes
from summarizer.eval._data import Attribution, Dataset, QuoteDoc, Span

WIDEN = 2
MIN_WORDS = 6

#: Bare pronouns (compared case-insensitively, surrounding punctuation ignored).
PRONOUNS = frozenset(
    {
        *("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"),
        *("you", "your", "yours", "yourself", "yourselves"),
        *("he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself"),
        *("they", "them", "their", "theirs", "themselves"),
    }
)

#: (opening, closing, strict) in the order they are tried; strict marks follow the apostrophe-safe rules.
_PAIRS: tuple[tuple[str, str, bool], ...] = (
    ("``", "''", False),
    ("''", "''", True),
    ("“", "”", False),
    ('"', '"', False),
    ("‘", "’", True),
    ("'", "'", True),
)

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Segment:
    """A quotation-marked segment: ``[start, end)`` includes the marks, ``[inner_start, inner_end)`` not."""

    start: int
    end: int
    inner_start: int
    inner_end: int


def _alnum_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


def _half_of_pair(text: str, index: int, mark: str) -> bool:
    """Whether a one-character straight ``'`` at ``index`` is half of a ``''`` mark."""
    if mark != "'":
        return False
    return (index + 1 < len(text) and text[index + 1] == "'") or (index > 0 and text[index - 1] == "'")


def _opens(text: str, index: int, mark: str, strict: bool, stop: int) -> bool:
    if not text.startswith(mark, index) or _half_of_pair(text, index, mark):
        return False
    if not strict:
        return True
    after = index + len(mark)
    return not _alnum_at(text, index - 1) and after < stop and not text[after].isspace()


def _closer(text: str, mark: str, strict: bool, begin: int, stop: int) -> int | None:
    """Where the closing ``mark`` of a segment whose inner text starts at ``begin`` is, if in the window."""
    index = text.find(mark, begin, stop - len(mark) + 1)
    while index != -1:
        if not strict:
            return index
        if (
            index > begin
            and not text[index - 1].isspace()
            and not _alnum_at(text, index + len(mark))
            and not _half_of_pair(text, index, mark)
        ):
            return index
        index = text.find(mark, index + 1, stop - len(mark) + 1)
    return None


def quoted_segments(text: str, start: int = 0, end: int | None = None) -> list[Segment]:
    """The quotation-marked segments lying wholly in ``text[start:end]`` (rules in the module docstring)."""
    stop = len(text) if end is None else min(end, len(text))
    segments: list[Segment] = []
    index = max(start, 0)
    while index < stop:
        found: Segment | None = None
        skip = 1
        for opening, closing, strict in _PAIRS:
            if _opens(text, index, opening, strict, stop):
                skip = len(opening)
                inner = index + len(opening)
                close = _closer(text, closing, strict, inner, stop)
                if close is not None:
                    found = Segment(index, close + len(closing), inner, close)
                break
        if found is None:
            index += skip
        else:
            segments.append(found)
            index = found.end
    return segments


def count_words(text: str) -> int:
    """Whitespace-separated tokens that hold at least one letter or digit."""
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def is_direct_quote(text: str, attribution: Attribution) -> bool:
    """Whether ``attribution`` is a gold direct quote of ``text`` (see the module docstring)."""
    for begin, finish in attribution.content:
        window_start, window_end = max(0, begin - WIDEN), min(len(text), finish + WIDEN)
        for segment in quoted_segments(text, window_start, window_end):
            if count_words(text[segment.inner_start : segment.inner_end]) >= MIN_WORDS:
                return True
    return False


def is_pronoun(speaker: str | None) -> bool:
    """Whether a displayed speaker is a bare pronoun ("he", "They", "it" ...)."""
    if speaker is None:
        return False
    return speaker.strip().strip(".,;:!?\"'“”‘’()").lower() in PRONOUNS


def _overlap(begin: int, end: int, spans: Iterable[Span]) -> int:
    return sum(max(0, min(end, span_end) - max(begin, span_start)) for span_start, span_end in spans)


@dataclass(slots=True)
class QuoteCounts:
    """Counts behind the quote metrics; add them up over documents."""

    docs: int = 0
    gold: int = 0
    predicted: int = 0
    correct: int = 0
    correct_speaker: int = 0
    found: int = 0
    found_e2e: int = 0
    pronouns: int = 0

    def add(self, other: QuoteCounts) -> None:
        """Add ``other``'s counts to these."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def metrics(self) -> dict[str, Any]:
        """The ``quotes --json`` entry of one data set."""

        def ratio(part: int, whole: int) -> float:
            return part / whole if whole else 0.0

        return {
            "docs": self.docs,
            "gold": self.gold,
            "predicted": self.predicted,
            "quote_precision": ratio(self.correct, self.predicted),
            "quote_recall": ratio(self.found, self.gold),
            "e2e_precision": ratio(self.correct_speaker, self.predicted),
            "e2e_recall": ratio(self.found_e2e, self.gold),
            "pronoun_speakers": ratio(self.pronouns, self.predicted),
        }


def score_document(text: str, attributions: Sequence[Attribution], predictions: Sequence[Quote]) -> QuoteCounts:
    """Score one document's predicted quotes against its attribution annotations."""
    gold = [is_direct_quote(text, attribution) for attribution in attributions]
    counts = QuoteCounts(docs=1, gold=sum(gold), predicted=len(predictions))
    found: set[int] = set()
    found_e2e: set[int] = set()
    for quote in predictions:
        if is_pronoun(quote.speaker):
            counts.pronouns += 1
        length = quote.end - quote.start
        if length <= 0 or not attributions:
            continue
        speaker: Span | None = None
        if quote.speaker_start is not None and quote.speaker_end is not None:
            speaker = (quote.speaker_start, quote.speaker_end)

        def speaker_ok(attribution: Attribution, speaker: Span | None = speaker) -> bool:
            return speaker is not None and any(max(speaker[0], s) < min(speaker[1], e) for s, e in attribution.source)

        best = max(
            range(len(attributions)),
            key=lambda i: (
                _overlap(quote.start, quote.end, attributions[i].content),
                gold[i],
                speaker_ok(attributions[i]),
            ),
        )
        if 2 * _overlap(quote.start, quote.end, attributions[best].content) < length:
            continue
        counts.correct += 1
        right_speaker = speaker_ok(attributions[best])
        counts.correct_speaker += int(right_speaker)
        if gold[best]:
            found.add(best)
            if right_speaker:
                found_e2e.add(best)
    counts.found = len(found)
    counts.found_e2e = len(found_e2e)
    return counts


def evaluate(dataset: Dataset[QuoteDoc], progress: Progress | None = None) -> QuoteCounts:
    """Run ``extract_quotes`` on every document of ``dataset`` and add up the counts."""
    if progress is not None:
        progress(f"quotes: {dataset.name} ({len(dataset.docs)} docs)")
    total = QuoteCounts()
    for doc in dataset.docs:
        total.add(score_document(doc.text, doc.attributions, extract_quotes(doc.text)))
    return total
