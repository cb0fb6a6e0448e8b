"""Multi-outlet briefs against editors' references (``python -m bot.stories.eval --briefs FILE --refs REFS``).

For each event with a reference: :func:`summarizer.brief_story` over the event's articles, and lead-3 of one
article (the event's first by (published, id)), each scored with ROUGE-1/2/L F1 x 100 against the reference by
the summarizer's own evaluation code (:mod:`summarizer.eval`), with the paired bootstrap interval of the
difference. Needs the ``dev`` extra (rouge-score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import summarizer
from bot.stories.eval._data import DataError, EvalArticle, read_rows
from bot.stories.eval._run import ordered

SENTENCES = 3
SYSTEM = "brief_story"
BASELINE = "lead-3"


@dataclass(frozen=True, slots=True)
class BriefScores:
    """ROUGE F1 x 100 of the briefs and of lead-3 per event, and the paired intervals of their difference."""

    events: int
    per_event: dict[str, dict[str, list[float]]]
    means: dict[str, dict[str, float]]
    difference: dict[str, tuple[float, float, float]]


def load_references(path: str | Path) -> dict[str, str]:
    """Event -> reference summary, from a JSON-lines file of ``{"event", "reference", ...}`` objects; DataError
    (naming the file and line) on anything unreadable."""
    references: dict[str, str] = {}
    for where, row in read_rows(path):
        if not isinstance(row.get("event"), str):
            raise DataError(f"{where}: not an object with an 'event'")
        if not isinstance(row.get("reference"), str) or not row["reference"].strip():
            raise DataError(f"{where}: missing 'reference'")
        references[row["event"]] = row["reference"]
    return references


def _brief(articles: Sequence[EvalArticle]) -> str:
    inputs = [summarizer.Article(text=a.text, title=a.title or None, outlet=a.source, url=a.url) for a in articles]
    return "\n".join(summarizer.brief_story(inputs, sentences=SENTENCES, quotes=0).sentences)


def _lead(article: EvalArticle) -> str:
    lead = summarizer.summarize(
        article.text, title=article.title or None, sentences=SENTENCES, quotes=0, algorithm="lead"
    )
    return "\n".join(lead.sentences)


def score_briefs(
    articles: Sequence[EvalArticle], references: dict[str, str], *, source: str = "the articles"
) -> BriefScores:
    """Score the brief of every event of ``articles`` that has a reference (events of one article included);
    DataError when none has (``source`` names the articles in its message)."""
    from summarizer.eval._bootstrap import paired_bootstrap
    from summarizer.eval._rouge import METRICS, scorer

    events: dict[str, list[EvalArticle]] = {}
    for article in ordered(articles):
        if article.event is not None and article.event in references:
            events.setdefault(article.event, []).append(article)
    if not events:
        raise DataError(f"{source}: no event has a reference")
    rouge = scorer()
    per_event: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in (SYSTEM, BASELINE)}
    for event, members in sorted(events.items()):
        for name, prediction in ((SYSTEM, _brief(members)), (BASELINE, _lead(members[0]))):
            result = rouge.score(references[event], prediction)
            for metric in METRICS:
                per_event[name][metric].append(float(result[metric].fmeasure) * 100.0)
    means = {name: {m: sum(v) / len(v) for m, v in scores.items()} for name, scores in per_event.items()}
    difference = {}
    for metric in METRICS:
        interval = paired_bootstrap(per_event[SYSTEM][metric], per_event[BASELINE][metric])
        difference[metric] = (interval.delta, interval.low, interval.high)
    return BriefScores(len(events), per_event, means, difference)


def briefs_json(name: str, result: BriefScores) -> dict[str, Any]:
    """``{"events": N, "brief_story": {metric: mean}, "lead-3": {...}, "difference": {metric: [delta, low,
    high]}}`` for one data set."""
    return {
        "events": result.events,
        SYSTEM: result.means[SYSTEM],
        BASELINE: result.means[BASELINE],
        "difference": {metric: list(values) for metric, values in result.difference.items()},
    }


def briefs_report(name: str, result: BriefScores) -> str:
    """A table of the two systems' mean ROUGE F1 and the difference with its interval."""
    from summarizer.eval._bootstrap import LEVEL, RESAMPLES
    from summarizer.eval._report import _METRIC_LABELS as labels
    from summarizer.eval._report import table

    rows = [
        [f"{SYSTEM} (the event's articles)", *(f"{v:.2f}" for v in result.means[SYSTEM].values())],
        [f"{BASELINE} (its first article)", *(f"{v:.2f}" for v in result.means[BASELINE].values())],
    ]
    lines = [
        f"{name} briefs: {result.events} events with a reference, {SENTENCES} sentences, ROUGE F1 x 100 (stemmed)",
        table(["system", *(labels[m] for m in result.means[SYSTEM])], rows),
        f"{SYSTEM} - {BASELINE}, paired bootstrap {LEVEL:.0%} interval ({RESAMPLES} resamples, seed 0):",
    ]
    for metric, (delta, low, high) in result.difference.items():
        lines.append(f"  {labels[metric]}  {delta:+.2f}  [{low:+.2f}, {high:+.2f}]")
    return "\n".join(lines)
