"""Reader checks: the defects a reader of a brief would notice, counted over whole data sets.

The brief of an article is what ingest stores and a briefing shows for it: the headline (the data set's
``title`` when it has one), the sentences of ``summarize(text, title=title, sentences=k, quotes=1)`` and its
key quote. Per data set (shares are of briefs unless said otherwise):

    repeated      two parts of the brief (headline, each sentence, the quote) share a run of
                  :data:`~summarizer._quotes.REPEAT_NGRAM` (8) words (lower-cased, apostrophes folded)
    unbalanced    a sentence or the quote whose double quotation marks do not pair up
    bullets       a sentence or the quote that starts with a list bullet (``-``, ``*``, ``•``)
    quoted        the brief has a key quote
    fragments     share of key quotes that do not stand alone: a lower-case start or an opener that points
                  back ("And ...", "But ...", "That's ...")
    quote words   mean and maximum words of the key quotes
    speakers      share of key quotes whose displayed speaker is a full name (two or more words), a single
                  word (a surname or a one-word organisation), only a role (no name), or missing

``repeated``, ``unbalanced``, ``bullets``, ``fragments``, ``role`` and ``none`` should all be 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from summarizer import Quote, summarize
from summarizer._quotes import ngrams, stands_alone
from summarizer.eval._data import ArticleDoc, Dataset

Progress = Callable[[str], None]

SPEAKER_KINDS = ("full", "surname", "role", "none")
_WORDS_RE = re.compile(r"\w+(?:['’]\w+)*")
_BULLET_RE = re.compile(r"\s*[-*•·▪‣◦–—]\s")
_DOUBLE_MARKS = str.maketrans(dict.fromkeys("“”„‟«»″", '"'))


def balanced(text: str) -> bool:
    """Whether the double quotation marks of ``text`` pair up: curly, low, guillemets, ``tokenised'' and
    ''doubled single'' marks count as straight ones; single marks are left alone (they double as apostrophes)."""
    text = text.replace("``", '"').replace("''", '"')
    return text.translate(_DOUBLE_MARKS).count('"') % 2 == 0


def has_bullet(text: str) -> bool:
    """Whether ``text`` starts with a list bullet ("- Now, ...", "• ...")."""
    return _BULLET_RE.match(text) is not None


def repeats(parts: Sequence[str]) -> bool:
    """Whether two of ``parts`` share a run of 8 words (case and apostrophe style ignored)."""
    grams = [ngrams(part) for part in parts]
    return any(not a.isdisjoint(b) for a, b in combinations(grams, 2))


def speaker_kind(quote: Quote) -> str:
    """``full`` (a name of two or more words), ``surname`` (one word), ``role`` (no name, a role) or ``none``."""
    if quote.speaker and quote.speaker.strip():
        return "full" if len(_WORDS_RE.findall(quote.speaker)) >= 2 else "surname"
    return "role" if quote.role else "none"


@dataclass(slots=True)
class ReaderCounts:
    """Counts behind the reader checks of one data set."""

    docs: int = 0
    repeated: int = 0
    unbalanced: int = 0
    bullets: int = 0
    quoted: int = 0
    fragments: int = 0
    quote_words: list[int] = field(default_factory=list)
    speakers: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPEAKER_KINDS, 0))

    def add(self, headline: str | None, sentences: Sequence[str], quote: Quote | None) -> None:
        """Count one brief."""
        self.docs += 1
        shown = [*sentences, *([quote.text] if quote else [])]
        self.repeated += repeats([*([headline] if headline else []), *shown])
        self.unbalanced += not all(balanced(part) for part in shown)
        self.bullets += any(has_bullet(part) for part in shown)
        if quote is not None:
            self.quoted += 1
            self.fragments += not stands_alone(quote.text)
            self.quote_words.append(len(_WORDS_RE.findall(quote.text)))
            self.speakers[speaker_kind(quote)] += 1

    def metrics(self) -> dict[str, Any]:
        """The ``reader --json`` entry of one data set."""

        def share(part: int, whole: int) -> float:
            return part / whole if whole else 0.0

        words = self.quote_words
        return {
            "docs": self.docs,
            "repeated": share(self.repeated, self.docs),
            "unbalanced": share(self.unbalanced, self.docs),
            "bullets": share(self.bullets, self.docs),
            "quoted": share(self.quoted, self.docs),
            "fragments": share(self.fragments, self.quoted),
            "quote_words_mean": share(sum(words), len(words)),
            "quote_words_max": max(words, default=0),
            "speakers": {kind: share(n, self.quoted) for kind, n in self.speakers.items()},
        }


def brief_parts(doc: ArticleDoc, sentences: int) -> tuple[str | None, tuple[str, ...], Quote | None]:
    """The headline, sentences and key quote a reader is shown for ``doc``."""
    summary = summarize(doc.text, title=doc.title, sentences=sentences, quotes=1)
    return doc.title, summary.sentences, summary.quotes[0] if summary.quotes else None


def evaluate(dataset: Dataset[ArticleDoc], sentences: int = 3, progress: Progress | None = None) -> ReaderCounts:
    """Brief every article of ``dataset`` and count what a reader would notice."""
    if progress is not None:
        progress(f"reader: {dataset.name} ({len(dataset.docs)} docs)")
    counts = ReaderCounts()
    for doc in dataset.docs:
        counts.add(*brief_parts(doc, sentences))
    return counts
