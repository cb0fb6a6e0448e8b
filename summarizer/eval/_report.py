"""Plain-text tables for the evaluation commands (the ``--json`` output is built elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from summarizer.eval._bootstrap import LEVEL, RESAMPLES
from summarizer.eval._rouge import METRICS, RougeResult

_QUOTE_METRICS = ("quote_precision", "quote_recall", "e2e_precision", "e2e_recall", "pronoun_speakers")
_METRIC_LABELS = {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L"}
#: Data sets the default ranker's weights were fitted on: its scores there are in-sample.
FITTED_ON = frozenset({"cnndm-realsumm", "cnndm-frank-dev"})


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to a common width: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])


def rouge_report(results: Sequence[RougeResult], sentences: int) -> str:
    """One block per data set: a method table, then default minus lead with its bootstrap interval."""
    blocks: list[str] = []
    for result in results:
        header = ["method", *(_METRIC_LABELS[m] for m in METRICS), "docs/s", "ms/doc"]
        rows = [
            [
                method,
                *(f"{mr.means[metric]:.2f}" for metric in METRICS),
                f"{mr.docs_per_s:.1f}",
                f"{1000.0 / mr.docs_per_s:.2f}",
            ]
            for method, mr in result.methods.items()
        ]
        lines = [
            f"{result.name}: {result.docs} docs, {sentences} sentences, ROUGE F1 x 100 (stemmed)",
            table(header, rows),
        ]
        if result.default_vs_lead is not None:
            lines.append(f"default - lead, paired bootstrap {LEVEL:.0%} interval ({RESAMPLES} resamples, seed 0):")
            for metric, iv in result.default_vs_lead.items():
                lines.append(f"  {_METRIC_LABELS[metric]}  {iv.delta:+.2f}  [{iv.low:+.2f}, {iv.high:+.2f}]")
            if result.name in FITTED_ON:
                lines.append(
                    "  (in-sample: default's weights were fitted on this set; out-of-sample figures by k-fold "
                    "cross-validation: bench/tune_default.py)"
                )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def quotes_report(datasets: dict[str, dict[str, Any]]) -> str:
    """One row per data set with the counts and the quote metrics."""
    header = ["dataset", "docs", "gold", "predicted", "quote P", "quote R", "e2e P", "e2e R", "pronoun spk"]
    rows = [
        [
            name,
            str(m["docs"]),
            str(m["gold"]),
            str(m["predicted"]),
            *(f"{m[key]:.3f}" for key in _QUOTE_METRICS),
        ]
        for name, m in datasets.items()
    ]
    return table(header, rows)


def reader_report(datasets: dict[str, dict[str, Any]]) -> str:
    """The reader checks: one row per data set (shares as percentages; the quote columns are of key quotes)."""

    def pct(value: float) -> str:
        return f"{100.0 * value:.1f}%"

    header = ["dataset", "docs", "repeated", "unbalanced", "bullets", "quoted", "fragments", "q words"]
    header += ["spk full", "spk surname", "spk role", "spk none"]
    rows = [
        [
            name,
            str(m["docs"]),
            *(pct(m[key]) for key in ("repeated", "unbalanced", "bullets", "quoted", "fragments")),
            f"{m['quote_words_mean']:.1f}/{m['quote_words_max']}",
            *(pct(m["speakers"][kind]) for kind in ("full", "surname", "role", "none")),
        ]
        for name, m in datasets.items()
    ]
    note = (
        "reader checks: share of briefs (headline + sentences + key quote) with a repeated 8-gram between parts, "
        "unbalanced quote marks, a leaked bullet, a key quote; of key quotes: fragments, words mean/max, speakers"
    )
    return f"{note}\n{table(header, rows)}"
