"""Refit the default ranker's feature weights on the shared CNN/DailyMail dev sets, and cross-validate.

    .venv/bin/python bench/tune_default.py [--shared ../shared] [--folds 5] [--seed 0]

Coordinate ascent on mean ROUGE-1 + ROUGE-2 F1 (3 sentences, same selection as ``summarize``) over the
weights of ``DefaultSummarizer.FEATURES``. It prints the in-sample gain of the shipped weights (for
reference only: they were fitted on these very articles), then a k-fold cross-validation: each data set
is shuffled (seeded) and cut into k folds; for each fold the weights are fitted (from position alone) on
the other k-1 folds of both sets and the held-out fold is scored against lead-3. Every article is thus
scored exactly once by weights that never saw it. Reported: the out-of-sample gain in ROUGE-1 and
ROUGE-2 per set, its spread across folds (mean, min, max, a t interval over the k fold means) and a
paired bootstrap interval over the held-out articles. These are the honest figures.
Reads ../shared at run time; nothing from it is stored.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import tokenizers

from summarizer._languages import language_tools
from summarizer._rankers import DefaultSummarizer, jaccard
from summarizer._summarize import _analyze
from summarizer.eval._bootstrap import paired_bootstrap

SETS = ("cnndm-realsumm", "cnndm-frank-dev")
STEPS = (1.0, 0.5, 0.25, 0.1)


@dataclass
class Doc:
    features: list[list[float]]
    tokens: list[list[str]]
    stems: list[frozenset[str]]
    reference: list[str]


def load(shared: Path, name: str) -> list[Doc]:
    tools = language_tools("english")
    tokenizer = tokenizers.DefaultTokenizer(use_stemmer=True)
    docs = []
    with (shared / "eval" / "summaries" / f"{name}.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            analysis = _analyze(row["text"], row.get("title"), tools, None)
            ranker = DefaultSummarizer(tools, stems=analysis.stems)
            features = [[f[k] for k in DefaultSummarizer.FEATURES] for f in ranker.features(analysis.document)]
            docs.append(
                Doc(
                    features=features,
                    tokens=[tokenizer.tokenize(s.text) for s in analysis.sentences],
                    stems=[analysis.stems(node) for node in analysis.sumy_sentences],
                    reference=tokenizer.tokenize(row["summary"]),
                )
            )
    return docs


def f1(pred: Sequence[str], ref: Sequence[str], n: int) -> float:
    p = Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
    r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    overlap = sum((p & r).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(r.values())
    return 2 * precision * recall / (precision + recall)


def score(doc: Doc, weights: Sequence[float], k: int = 3) -> float:
    """ROUGE-1 + ROUGE-2 F1 x 100 of the sentences ``weights`` select (as Budget selects them)."""
    r1, r2 = score_parts(doc, weights, k)
    return r1 + r2


def score_parts(doc: Doc, weights: Sequence[float], k: int = 3) -> tuple[float, float]:
    """(ROUGE-1, ROUGE-2) F1 x 100 of the sentences ``weights`` select (as Budget selects them)."""
    rated = sorted(
        range(len(doc.features)),
        key=lambda i: -sum(w * v for w, v in zip(weights, doc.features[i], strict=True)),
    )
    chosen: list[int] = []
    for i in rated:
        if len(chosen) >= k:
            break
        if any(jaccard(doc.stems[i], doc.stems[j]) >= 0.6 for j in chosen):
            continue
        chosen.append(i)
    pred = [t for i in sorted(chosen) for t in doc.tokens[i]]
    return 100 * f1(pred, doc.reference, 1), 100 * f1(pred, doc.reference, 2)


def lead_weights() -> list[float]:
    return [1.0 if k == "position" else 0.0 for k in DefaultSummarizer.FEATURES]


def fit(docs: Sequence[Doc], start: Sequence[float] | None = None) -> list[float]:
    weights = list(start) if start is not None else lead_weights()
    best = sum(score(d, weights) for d in docs)
    movable = [i for i, k in enumerate(DefaultSummarizer.FEATURES) if k != "position"]
    for step in STEPS:
        improved = True
        while improved:
            improved = False
            for j in movable:
                for delta in (step, -step):
                    trial = list(weights)
                    trial[j] = round(trial[j] + delta, 3)
                    total = sum(score(d, trial) for d in docs)
                    if total > best + 1e-9:
                        best, weights, improved = total, trial, True
    return weights


# Two-sided 97.5% points of Student's t for k - 1 degrees of freedom (k folds), for the across-fold interval.
_T975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def folds_of(count: int, k: int, rng: random.Random) -> list[int]:
    """A fold number (0..k-1) for each of ``count`` items: shuffled, sizes differing by at most one."""
    order = list(range(count))
    rng.shuffle(order)
    fold = [0] * count
    for rank, item in enumerate(order):
        fold[item] = rank % k
    return fold


def cross_validate(data: dict[str, list[Doc]], k: int, seed: int) -> dict[str, list[tuple[int, float, float]]]:
    """Out-of-fold (fold, R-1 gain, R-2 gain) over lead-3 of every article, per data set (see the docstring)."""
    rng = random.Random(seed)
    assignment = {name: folds_of(len(docs), k, rng) for name, docs in data.items()}
    lead = lead_weights()
    out: dict[str, list[tuple[int, float, float]]] = {name: [(0, 0.0, 0.0)] * len(docs) for name, docs in data.items()}
    for fold in range(k):
        train = [d for name, docs in data.items() for d, f in zip(docs, assignment[name], strict=True) if f != fold]
        weights = fit(train)
        print(
            f"fold {fold}: weights fitted on {len(train)} articles:",
            dict(zip(DefaultSummarizer.FEATURES, weights, strict=True)),
        )
        for name, docs in data.items():
            for i, (doc, f) in enumerate(zip(docs, assignment[name], strict=True)):
                if f == fold:
                    (a1, a2), (b1, b2) = score_parts(doc, weights), score_parts(doc, lead)
                    out[name][i] = (fold, a1 - b1, a2 - b2)
    return out


def report(name: str, rows: Sequence[tuple[int, float, float]], k: int) -> None:
    """Print the out-of-sample gain of one data set: across folds and by a paired bootstrap over articles."""
    for column, label in ((1, "R-1"), (2, "R-2")):
        gains = [row[column] for row in rows]
        per_fold = [statistics.fmean(row[column] for row in rows if row[0] == f) for f in range(k)]
        mean = statistics.fmean(gains)
        half = _T975.get(k - 1, 2.0) * statistics.stdev(per_fold) / math.sqrt(k) if k > 1 else 0.0
        boot = paired_bootstrap(gains, [0.0] * len(gains))
        print(
            f"{name} ({len(rows)}) {label}: out-of-sample gain over lead-3 {mean:+.2f}; "
            f"fold means {min(per_fold):+.2f} .. {max(per_fold):+.2f}, "
            f"t interval across folds [{mean - half:+.2f}, {mean + half:+.2f}]; "
            f"bootstrap over articles [{boot.low:+.2f}, {boot.high:+.2f}]"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.shared / "eval" / "summaries").is_dir():
        print(f"error: {args.shared}/eval/summaries not found (pass --shared)", file=sys.stderr)
        return 2
    if args.folds < 2:
        print(f"error: --folds must be at least 2, got {args.folds}", file=sys.stderr)
        return 2
    data = {name: load(args.shared, name) for name in SETS}
    shipped = [DefaultSummarizer(language_tools("english")).weights[k] for k in DefaultSummarizer.FEATURES]
    for name, docs in data.items():
        gain = sum(score(d, shipped) - score(d, lead_weights()) for d in docs) / len(docs)
        print(f"shipped weights, IN-SAMPLE gain in R-1 + R-2 over lead-3 on {name}: {gain:+.2f} (not an estimate)")
    out = cross_validate(data, args.folds, args.seed)
    print(f"{args.folds}-fold cross-validation (seed {args.seed}), every article scored by weights fitted without it:")
    for name, rows in out.items():
        report(name, rows, args.folds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
