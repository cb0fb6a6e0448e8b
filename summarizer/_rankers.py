"""Sentence rankers: every sumy algorithm by name, ``lead``, and our ``default`` (a sumy summarizer class).

All of them rate the sentences of a sumy document; selection goes through sumy's
``_get_best_sentences`` with a :class:`Budget` as the count, which walks the sentences best-first,
skips near-duplicates of sentences already chosen and stops at a sentence, word or character budget.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sumy.models.dom import ObjectDocumentModel
from sumy.models.dom import Sentence as SumySentence
from sumy.summarizers._summarizer import AbstractSummarizer
from sumy.summarizers.edmundson import EdmundsonSummarizer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.random import RandomSummarizer
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

from summarizer._languages import LanguageTools

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


class StemCache:
    """Content stems (no stop words, no one-letter words) of sumy sentences, computed once each."""

    def __init__(self, tools: LanguageTools) -> None:
        self._tools = tools
        self._cache: dict[int, tuple[SumySentence, frozenset[str]]] = {}

    def __call__(self, sentence: SumySentence) -> frozenset[str]:
        hit = self._cache.get(id(sentence))
        if hit is not None and hit[0] is sentence:
            return hit[1]
        stop = self._tools.stop_words
        stem = self._tools.stem
        stems = frozenset(stem(w) for w in (w.lower() for w in sentence.words) if len(w) > 1 and w not in stop)
        self._cache[id(sentence)] = (sentence, stems)
        return stems


class Budget:
    """A sumy "items count": picks sentences best-first within a budget, skipping near-duplicates.

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
        words = chars = 0
        for info in infos:
            if self._sentences is not None and len(chosen) >= self._sentences:
                break
            sentence = info.sentence
            stems = self._stems(sentence)
            if any(jaccard(stems, other) >= self._threshold for other in chosen_stems):
                continue
            text = str(sentence)
            n_words = len(sentence.words)
            if chosen and self._max_words is not None and words + n_words > self._max_words:
                continue
            if chosen and self._max_chars is not None and chars + len(text) + 1 > self._max_chars:
                continue
            chosen.append(info)
            chosen_stems.append(stems)
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
_DANGLING_START = frozenset(
    {
        "he", "she", "it", "they", "this", "that", "these", "those", "but", "and", "so", "his", "her", "their",
        "its", "him", "them", "there", "here", "also", "however", "yet", "then", "which", "who",
    }
)
_DIGIT_RE = re.compile(r"\d")
_PICTURED_RE = re.compile(r"\(\s*(?:pictured|left|right|centre|center|above|below|inset|file)\b", re.IGNORECASE)
_REPORTING_RE = re.compile(r"\b(?:said|says|told|according to|announced|reported)\b", re.IGNORECASE)
_LABEL_RE = re.compile(r"[A-Z][\w'-]*(?: [\w'-]+){0,3}: ")

# Feature weights, tuned on the shared dev sets (see DefaultSummarizer.FEATURES for the names).
_WEIGHTS: dict[str, float] = {
    "position": 1.0,
    "first": 1.0,
    "centrality": 1.0,
    "title": 0.5,
    "short": -1.0,
    "long": -0.5,
    "quote": -0.3,
    "dangling": -0.2,
    "digits": 0.0,
    "pictured": 0.0,
    "label": 0.0,
    "first_overlap": 0.0,
    "words": 0.0,
    "clean_position": 0.0,
    "decay": 0.0,
    "reporting": 0.0,
}


class DefaultSummarizer(AbstractSummarizer):  # type: ignore[misc]
    """newsbrief's ranker: what an editor's highlights take from a news article.

    A linear score over a few features of each sentence: a position prior (the lead carries the news),
    centrality (how much of the article's recurring vocabulary the sentence carries, by stems without
    stop words), overlap with the headline, and penalties for fragments, overlong sentences, direct
    quotations and sentences that open with a dangling reference ("He ...", "But ...").
    Boilerplate (bylines, captions, prompts) never reaches the document: the caller drops it.
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
        """The feature values of each body sentence of ``document``, in order."""
        title_stems: set[str] = set()
        body: list[SumySentence] = []
        for s in document.sentences:
            if s.is_heading:
                title_stems.update(self._stems(s))
            else:
                body.append(s)
        stems = [self._stems(s) for s in body]
        doc_freq: Counter[str] = Counter()
        for st in stems:
            doc_freq.update(st)
        n = len(body)
        out: list[dict[str, float]] = []
        raw_centrality: list[float] = []
        for st in stems:
            raw_centrality.append(sum(doc_freq[w] - 1 for w in st) / (len(st) + 4.0))
        top = max(raw_centrality, default=0.0) or 1.0
        clean_rank = 0
        for i, s in enumerate(body):
            text = str(s)
            words = s.words
            n_words = len(words)
            uniq = stems[i]
            quote_chars = sum(text.count(c) for c in _QUOTE_CHARS)
            first_word = words[0].lower() if words else ""
            out.append(
                {
                    "position": 1.0 / math.sqrt(i + 1.0),
                    "first": 1.0 if i == 0 else 0.0,
                    "centrality": raw_centrality[i] / top,
                    "title": (len(uniq & title_stems) / len(title_stems)) if title_stems else 0.0,
                    "short": max(0.0, 10.0 - n_words) / 10.0,
                    "long": max(0.0, n_words - 35.0) / 35.0,
                    "quote": 1.0 if quote_chars >= 2 or text[:1] in _QUOTE_CHARS else 0.0,
                    "dangling": 1.0 if first_word in _DANGLING_START else 0.0,
                    "digits": 1.0 if _DIGIT_RE.search(text) else 0.0,
                    "pictured": 1.0 if _PICTURED_RE.search(text) else 0.0,
                    "label": 1.0 if _LABEL_RE.match(text) else 0.0,
                    "first_overlap": jaccard(stems[0], uniq) if i else 0.0,
                    "words": min(n_words, 60) / 30.0,
                    "clean_position": 1.0 / math.sqrt(clean_rank + 1.0),
                    "decay": math.exp(-i / 4.0),
                    "reporting": 1.0 if _REPORTING_RE.search(text) else 0.0,
                }
            )
            if not (out[-1]["pictured"] or out[-1]["label"] or out[-1]["short"] > 0.5):
                clean_rank += 1
        del n
        return out

    def rate_sentences(self, document: ObjectDocumentModel) -> dict[SumySentence, float]:
        body = [s for s in document.sentences if not s.is_heading]
        ratings: dict[SumySentence, float] = {}
        w = self.weights
        for s, f in zip(body, self.features(document), strict=True):
            ratings[s] = sum(w[k] * v for k, v in f.items())
        for s in document.sentences:
            if s.is_heading:
                ratings[s] = -math.inf
        return ratings


# --------------------------------------------------------------------------------------------------
# Registry


def _with_stop_words(summarizer: Any, tools: LanguageTools) -> Any:
    summarizer.stop_words = tools.stop_words
    return summarizer


def _edmundson(tools: LanguageTools, significant: Callable[[], Iterable[str]], _: Any) -> Any:
    summarizer = EdmundsonSummarizer(tools.stem, cue_weight=0.0, key_weight=1.0, title_weight=0.0,
                                     location_weight=1.0)
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
del RandomSummarizer  # replaced by the seeded variant above

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
