"""ROUGE evaluation of every summarization method on reference-summary data sets."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rouge_score import rouge_scorer, tokenize, tokenizers

from summarizer import summarize
from summarizer.eval._bootstrap import Interval, paired_bootstrap
from summarizer.eval._data import Dataset, SummaryDoc

METRICS = ("rouge1", "rouge2", "rougeL")
BASELINE = "lead"
SYSTEM = "default"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One method on one data set: mean F1 x 100 per metric, per-document F1 x 100, throughput."""

    means: dict[str, float]
    per_doc: dict[str, list[float]]
    docs_per_s: float


@dataclass(frozen=True, slots=True)
class RougeResult:
    """One data set: every method's scores and the paired default-minus-lead intervals."""

    name: str
    docs: int
    methods: dict[str, MethodResult]
    default_vs_lead: dict[str, Interval] | None


class _MemoStemmer:
    """NLTK's Porter stemmer (what rouge-score's ``use_stemmer=True`` uses) with a per-word memo."""

    def __init__(self) -> None:
        # The very class rouge-score's DefaultTokenizer uses (NLTK's), so the tokens are identical.
        self._stemmer: Any = tokenizers.porter.PorterStemmer()
        self._stems: dict[str, str] = {}

    def stem(self, word: str) -> str:
        """The stem of ``word``, computed once per distinct word."""
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = str(self._stemmer.stem(word))
        return stem


class CachingTokenizer:
    """rouge-score's default tokenization with Porter stemming, remembering the texts it has seen.

    Gives exactly the tokens of ``RougeScorer(..., use_stemmer=True)``; each reference is then tokenized
    once for all methods instead of once per method, and each distinct word is stemmed once.
    """

    def __init__(self, max_texts: int = 20_000) -> None:
        self._stemmer = _MemoStemmer()
        self._texts: dict[str, list[str]] = {}
        self._max_texts = max_texts

    def tokenize(self, text: str) -> list[str]:
        """The lower-cased, stemmed alphanumeric tokens of ``text``."""
        tokens = self._texts.get(text)
        if tokens is None:
            if len(self._texts) >= self._max_texts:
                self._texts.clear()
            tokens = self._texts[text] = list(tokenize.tokenize(text, self._stemmer))
        return list(tokens)


_scorer: Any = None


def scorer() -> Any:
    """The shared ``RougeScorer`` (ROUGE-1/2/L, Porter stemming), built once with a caching tokenizer."""
    global _scorer
    if _scorer is None:
        _scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True, tokenizer=CachingTokenizer())
    return _scorer


REPEAT_PASSES = 5
REPEAT_BUDGET_S = 1.0


def _predict(doc: SummaryDoc, method: str, sentences: int) -> tuple[str, float]:
    """The method's summary of ``doc`` (sentences joined by newlines) and the seconds summarize() took."""
    started = time.perf_counter()
    summary = summarize(doc.text, title=doc.title, sentences=sentences, quotes=0, algorithm=method)
    elapsed = time.perf_counter() - started
    return "\n".join(summary.sentences), elapsed


def score_method(dataset: Dataset[SummaryDoc], method: str, sentences: int) -> MethodResult:
    """Summarize every document of ``dataset`` with ``method`` and score it against the references."""
    rouge = scorer()
    per_doc: dict[str, list[float]] = {metric: [] for metric in METRICS}
    seconds = 0.0
    for doc in dataset.docs:
        prediction, elapsed = _predict(doc, method, sentences)
        seconds += elapsed
        scores = rouge.score(doc.summary, prediction)
        for metric in METRICS:
            per_doc[metric].append(float(scores[metric].fmeasure) * 100.0)
    # Fast methods finish a pass in a fraction of a second, where scheduler noise is a large share:
    # time further passes (up to REPEAT_PASSES, within REPEAT_BUDGET_S) and keep the fastest.
    spent, passes = seconds, 1
    while spent < REPEAT_BUDGET_S and passes < REPEAT_PASSES:
        again = sum(_predict(doc, method, sentences)[1] for doc in dataset.docs)
        seconds = min(seconds, again)
        spent += again
        passes += 1
    count = len(dataset.docs)
    means = {metric: sum(values) / count for metric, values in per_doc.items()}
    docs_per_s = count / max(seconds, 1e-9)  # finite, so the JSON stays valid
    return MethodResult(means=means, per_doc=per_doc, docs_per_s=docs_per_s)


def evaluate(
    dataset: Dataset[SummaryDoc],
    methods: Sequence[str],
    sentences: int,
    progress: Progress | None = None,
) -> RougeResult:
    """Score each of ``methods`` on ``dataset``; compare ``default`` with ``lead`` when both are scored."""
    results: dict[str, MethodResult] = {}
    # One untimed pass first, so that no method is timed while the process-wide caches (stems, the
    # sentence splitter's decisions) are still cold and the next method profits from its work.
    for doc in dataset.docs:
        summarize(doc.text, title=doc.title, sentences=sentences, quotes=0, algorithm=SYSTEM)
    for method in methods:
        if progress is not None:
            progress(f"rouge: {dataset.name}: {method} ({len(dataset.docs)} docs)")
        results[method] = score_method(dataset, method, sentences)
    comparison: dict[str, Interval] | None = None
    if SYSTEM in results and BASELINE in results:
        comparison = {
            metric: paired_bootstrap(results[SYSTEM].per_doc[metric], results[BASELINE].per_doc[metric])
            for metric in METRICS
        }
    return RougeResult(name=dataset.name, docs=len(dataset.docs), methods=results, default_vs_lead=comparison)


def to_json(results: Sequence[RougeResult]) -> dict[str, Any]:
    """The ``rouge --json`` document of ../shared/SPEC.md."""
    datasets: dict[str, Any] = {}
    for result in results:
        entry: dict[str, Any] = {
            "docs": result.docs,
            "methods": {
                method: {**{metric: mr.means[metric] for metric in METRICS}, "docs_per_s": mr.docs_per_s}
                for method, mr in result.methods.items()
            },
        }
        if result.default_vs_lead is not None:
            entry["default_vs_lead"] = {
                metric: {"delta": iv.delta, "ci_low": iv.low, "ci_high": iv.high}
                for metric, iv in result.default_vs_lead.items()
            }
        datasets[result.name] = entry
    return {"datasets": datasets}
