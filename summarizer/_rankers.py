"""Sentence rankers: every sumy algorithm by name, ``lead``, and our ``default`` (a sumy summarizer class).

All of them rate the sentences of a sumy document; selection goes through sumy's
``_get_best_sentences`` with a :class:`Budget` as the count, which walks the sentences best-first,
skips near-duplicates of sentences already chosen and stops at a sentence, word or character budget.
"""

from __future__ import annotations

import math
import operator
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sumy.models.dom import ObjectDocumentModel
from sumy.models.dom import Sentence as SumySentence

from summarizer._languages import LanguageTools
from summarizer._quotes import ngrams
from summarizer._sumy import (
    AbstractSummarizer,
    EdmundsonSummarizer,
    KLSummarizer,
    LexRankSummarizer,
    LsaSummarizer,
    LuhnSummarizer,
    ReductionSummarizer,
    SumBasicSummarizer,
    TextRankSummarizer,
)

__all__ = [
    "ALGORITHMS",
    "Budget",
    "DefaultSummarizer",
    "LeadSummarizer",
    "SeededRandomSummarizer",
    "StemCache",
    "build_summarizer",
    "jaccard",
]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two sets (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


_EMPTY = frozenset({""})


class StemCache:
    """Content stems (no stop words, no one-letter words) of sumy sentences, computed once each."""

    def __init__(self, tools: LanguageTools) -> None:
        self._tools = tools
        self._cache: dict[int, tuple[SumySentence, frozenset[str]]] = {}

    def __call__(self, sentence: SumySentence) -> frozenset[str]:
        hit = self._cache.get(id(sentence))
        if hit is not None and hit[0] is sentence:
            return hit[1]
        stems = frozenset(map(self._tools.content_stem, sentence.words))
        stems = stems - _EMPTY if "" in stems else stems
        self._cache[id(sentence)] = (sentence, stems)
        return stems


class Budget:
    """A sumy "items count": picks sentences best-first within a budget, skipping near-duplicates.

    A near-duplicate shares ``duplicate_threshold`` of its content stems (Jaccard) with a sentence already
    chosen, or repeats a run of :data:`~summarizer._quotes.REPEAT_NGRAM` (8) of its words.

    sumy's summarizers call ``count(infos)`` with the sentences sorted by rating, best first.
    """

    def __init__(
        self,
        stems: StemCache,
        *,
        sentences: int | None,
        max_words: int | None = None,
        max_chars: int | None = None,
        duplicate_threshold: float = 0.6,
    ) -> None:
        self._stems = stems
        self._sentences = sentences
        self._max_words = max_words
        self._max_chars = max_chars
        self._threshold = duplicate_threshold

    def __call__(self, infos: Sequence[Any]) -> list[Any]:
        chosen: list[Any] = []
        chosen_stems: list[frozenset[str]] = []
        chosen_grams: set[tuple[str, ...]] = set()
        words = chars = 0
        for info in infos:
            if self._sentences is not None and len(chosen) >= self._sentences:
                break
            sentence = info.sentence
            stems = self._stems(sentence)
            if any(jaccard(stems, other) >= self._threshold for other in chosen_stems):
                continue
            text = str(sentence)
            grams = ngrams(text)
            if not chosen_grams.isdisjoint(grams):
                continue  # two sentences of a brief never repeat each other's words
            n_words = len(sentence.words)
            if chosen and self._max_words is not None and words + n_words > self._max_words:
                continue
            if chosen and self._max_chars is not None and chars + len(text) + 1 > self._max_chars:
                continue
            chosen.append(info)
            chosen_stems.append(stems)
            chosen_grams |= grams
            words += n_words
            chars += len(text) + 1
        return chosen


class LeadSummarizer(AbstractSummarizer):  # type: ignore[misc]
    """The first sentences of the article (after boilerplate is dropped): the classic baseline."""

    def __call__(self, document: ObjectDocumentModel, sentences_count: Any) -> tuple[SumySentence, ...]:
        ratings = {s: -i for i, s in enumerate(document.sentences)}
        return tuple(self._get_best_sentences(document.sentences, sentences_count, ratings))


class SeededRandomSummarizer(AbstractSummarizer):  # type: ignore[misc]
    """sumy's random baseline made reproducible: the seed comes from the text, not the clock."""

    def __call__(self, document: ObjectDocumentModel, sentences_count: Any) -> tuple[SumySentence, ...]:
        sentences = document.sentences
        seed = sum(len(str(s)) * (i + 1) for i, s in enumerate(sentences))
        rng = random.Random(seed)
        ratings = {s: rng.random() for s in sentences}
        return tuple(self._get_best_sentences(sentences, sentences_count, ratings))


# --------------------------------------------------------------------------------------------------
# The default ranker

_QUOTE_CHARS = "\"'`"
_DIGIT_RE = re.compile(r"\d")
# A photo caption that reads as a sentence: "The mayor (pictured) ...", "Smith (left) and ..."
_PICTURED_RE = re.compile(r"\(\s*(?:pictured|left|right|centre|center|above|below|inset|file)\b", re.IGNORECASE)
# A caption label: "Strictly business: ...", "Guilty: ..."
_LABEL_RE = re.compile(r"[A-Z][\w'-]*(?: [\w'-]+){0,3}: ")

# Feature weights, fitted by coordinate ascent on ROUGE-1 + ROUGE-2 F1 of the two shared CNN/DailyMail
# dev sets; every sign matches an editor's rule of thumb. Out of sample (5-fold cross-validation in
# bench/tune_default.py) the ranker is level with lead-3: a lead-based ranker with editing rules.
_WEIGHTS: dict[str, float] = {
    "position": 1.0,  # 1/sqrt(rank): the lead carries the news
    "centrality": 0.1,  # share of the article's recurring vocabulary the sentence carries
    "digits": 0.1,  # figures, dates and counts are what highlights keep
    "short": -2.1,  # fragments under 10 words ("Scroll down.", "It was.")
    "long": -0.2,  # run-ons over 35 words
    "words": -0.1,  # otherwise mildly prefer the shorter of two sentences
    "quote": -0.1,  # direct quotations are for the key quotes, not the summary
    "pictured": -1.0,  # photo captions restate, they do not report
    "label": -0.6,  # "Label: ..." caption style
}


class DefaultSummarizer(AbstractSummarizer):  # type: ignore[misc]
    """newsbrief's ranker: what an editor's highlights take from a news article.

    A linear score over a few cheap features of each sentence: a position prior (the lead carries the
    news), centrality (how much of the article's recurring vocabulary the sentence carries, by stems
    without stop words), figures, and penalties for fragments, run-ons, direct quotations and photo
    captions. Boilerplate (bylines, stamps, prompts, run-on captions) never reaches the document: the
    caller drops it. Built on sumy's document model, stemmer and stop words; usable like any sumy
    summarizer: ``DefaultSummarizer(language_tools("english"))(document, 3)``.
    """

    FEATURES: tuple[str, ...] = tuple(_WEIGHTS)

    def __init__(
        self,
        tools: LanguageTools,
        weights: Mapping[str, float] | None = None,
        stems: StemCache | None = None,
    ) -> None:
        super().__init__(tools.stem)
        self._tools = tools
        self._stems = stems or StemCache(tools)
        self.weights: dict[str, float] = dict(_WEIGHTS)
        if weights:
            unknown = set(weights) - set(_WEIGHTS)
            if unknown:
                raise ValueError(f"unknown feature weights: {sorted(unknown)}")
            self.weights.update(weights)

    def __call__(self, document: ObjectDocumentModel, sentences_count: Any) -> tuple[SumySentence, ...]:
        ratings = self.rate_sentences(document)
        return tuple(self._get_best_sentences(document.sentences, sentences_count, ratings))

    def features(self, document: ObjectDocumentModel) -> list[dict[str, float]]:
        """The feature values of each body (non-heading) sentence of ``document``, in order."""
        body = [s for s in document.sentences if not s.is_heading]
        return [dict(zip(self.FEATURES, row, strict=True)) for row in self._rows(body)]

    def _rows(self, body: list[SumySentence]) -> list[tuple[float, ...]]:
        """Feature rows in :attr:`FEATURES` order (the hot path: no dicts per sentence)."""
        stems = [self._stems(s) for s in body]
        doc_freq: Counter[str] = Counter()
        for st in stems:
            doc_freq.update(st)
        count = doc_freq.__getitem__
        centrality = [(sum(map(count, st)) - len(st)) / (len(st) + 4.0) for st in stems]
        top = max(centrality, default=0.0) or 1.0
        rows: list[tuple[float, ...]] = []
        for i, s in enumerate(body):
            text = str(s)
            n_words = len(s.words)
            quoted = text[:1] in _QUOTE_CHARS or text.count('"') + text.count("'") + text.count("`") >= 2
            rows.append(
                (
                    1.0 / math.sqrt(i + 1.0),  # position
                    centrality[i] / top,  # centrality
                    1.0 if _DIGIT_RE.search(text) else 0.0,  # digits
                    max(0.0, 10.0 - n_words) / 10.0,  # short
                    max(0.0, n_words - 35.0) / 35.0,  # long
                    min(n_words, 60) / 30.0,  # words
                    1.0 if quoted else 0.0,  # quote
                    1.0 if "(" in text and _PICTURED_RE.search(text) else 0.0,  # pictured
                    1.0 if ":" in text and _LABEL_RE.match(text) else 0.0,  # label
                )
            )
        return rows

    def rate_sentences(self, document: ObjectDocumentModel) -> dict[SumySentence, float]:
        """Each sentence's score; headings (the title) score -inf and are never chosen."""
        ratings: dict[SumySentence, float] = {s: -math.inf for s in document.sentences if s.is_heading}
        body = [s for s in document.sentences if not s.is_heading]
        weights = [self.weights[k] for k in self.FEATURES]
        for s, row in zip(body, self._rows(body), strict=True):
            ratings[s] = sum(map(operator.mul, weights, row))
        return ratings


# --------------------------------------------------------------------------------------------------
# Registry


def _with_stop_words(summarizer: Any, tools: LanguageTools) -> Any:
    summarizer.stop_words = tools.stop_words
    return summarizer


def _edmundson(tools: LanguageTools, significant: Callable[[], Iterable[str]], _: Any) -> Any:
    summarizer = EdmundsonSummarizer(tools.stem, cue_weight=0.0, key_weight=1.0, title_weight=0.0, location_weight=1.0)
    words = list(significant()) or ["news"]
    summarizer.bonus_words = words
    summarizer.stigma_words = ["\0"]
    summarizer.null_words = tools.stop_words
    return summarizer


_FACTORIES: dict[str, Callable[[LanguageTools, Callable[[], Iterable[str]], StemCache | None], Any]] = {
    "default": lambda tools, _, stems: DefaultSummarizer(tools, stems=stems),
    "lead": lambda tools, _, __: LeadSummarizer(tools.stem),
    "lexrank": lambda tools, _, __: _with_stop_words(LexRankSummarizer(tools.stem), tools),
    "textrank": lambda tools, _, __: _with_stop_words(TextRankSummarizer(tools.stem), tools),
    "lsa": lambda tools, _, __: _with_stop_words(LsaSummarizer(tools.stem), tools),
    "luhn": lambda tools, _, __: _with_stop_words(LuhnSummarizer(tools.stem), tools),
    "edmundson": _edmundson,
    "kl": lambda tools, _, __: _with_stop_words(KLSummarizer(tools.stem), tools),
    "sumbasic": lambda tools, _, __: _with_stop_words(SumBasicSummarizer(tools.stem), tools),
    "reduction": lambda tools, _, __: _with_stop_words(ReductionSummarizer(tools.stem), tools),
    "random": lambda tools, _, __: SeededRandomSummarizer(tools.stem),
}

ALGORITHMS: tuple[str, ...] = tuple(_FACTORIES)


def build_summarizer(
    name: str,
    tools: LanguageTools,
    significant_words: Callable[[], Iterable[str]] = tuple,
    stems: StemCache | None = None,
) -> Any:
    """A sumy summarizer instance for algorithm ``name`` (one of :data:`ALGORITHMS`).

    ``significant_words`` is called only by algorithms that need them (Edmundson's bonus words);
    ``stems`` lets the default ranker share the stems the caller already computed.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose one of: {', '.join(ALGORITHMS)}") from None
    return factory(tools, significant_words, stems)
