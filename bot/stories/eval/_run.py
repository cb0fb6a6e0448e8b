"""Grouping an evaluation file through the ingestion's story index, and scoring it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from bot.stories._index import StoryIndex
from bot.stories.eval._baseline import baseline_group
from bot.stories.eval._data import EvalArticle
from bot.stories.eval._metrics import scores


def ordered(articles: Sequence[EvalArticle]) -> list[EvalArticle]:
    """Articles in the order they are fed: by (published, id)."""
    return sorted(articles, key=lambda a: (a.published, a.id))


def group(articles: Sequence[EvalArticle], index: StoryIndex | None = None) -> dict[str, str]:
    """Article id -> story key (after any merges), fed in order of (published, id) through ``index``
    (default: a :class:`StoryIndex` with the settings ingestion uses), as ingestion feeds it."""
    index = index if index is not None else StoryIndex()
    keys = {a.id: index.add(a.id, a.title, a.text, a.source, a.published).story_key for a in ordered(articles)}
    return {article_id: index.resolve(key) for article_id, key in keys.items()}


def _counts(assignments: dict[str, str]) -> dict[str, int]:
    sizes = Counter(assignments.values())
    return {"articles": len(assignments), "stories": len(sizes), "singletons": sum(1 for n in sizes.values() if n == 1)}


def _metrics(assignments: dict[str, str], gold: dict[str, str] | None) -> dict[str, Any]:
    result: dict[str, Any] = _counts(assignments)
    if gold is None:
        names = ("pair_precision", "pair_recall", "pair_f1", "b3_precision", "b3_recall", "b3_f1")
        result.update(dict.fromkeys(names))
    else:
        result.update(asdict(scores(assignments, gold)))
    return result


def evaluate(articles: Sequence[EvalArticle]) -> dict[str, Any]:
    """The SPEC's per-file result: counts, scores (``None`` without labels), the baseline's, the assignments."""
    labelled = [a for a in articles if a.event is not None]
    gold = {a.id: a.event for a in labelled if a.event is not None} if labelled else None
    assignments = group(articles)
    result = _metrics(assignments, gold)
    result["baseline"] = _metrics(baseline_group(ordered(articles)), gold)
    result["assignments"] = assignments
    return result
