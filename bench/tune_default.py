"""Refit the default ranker's feature weights on the shared CNN/DailyMail dev sets, and cross-validate.

    .venv/bin/python bench/tune_default.py [--shared ../shared] [--splits 4]

Coordinate ascent on mean ROUGE-1 + ROUGE-2 F1 (3 sentences, same selection as ``summarize``) over the
weights of ``DefaultSummarizer.FEATURES``. It prints the in-sample gain of the shipped weights, the
weights a fit on both sets reaches from them, then a split-half cross-validation: fit (from position
alone) on a random half of each set, score the other half against lead-3. The cross-validated gain is
the honest estimate of what fitting does for articles it never saw. (The shipped weights came from a
run of this procedure with a few more features; those that stayed near zero were dropped.)
Reads ../shared at run time; nothing from it is stored.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rouge_score import tokenizers

from summarizer._languages import language_tools
from summarizer._rankers import DefaultSummarizer, jaccard
from summarizer._summarize import _analyze

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
    return 100 * (f1(pred, doc.reference, 1) + f1(pred, doc.reference, 2))


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--splits", type=int, default=4)
    args = parser.parse_args(argv)
    if not (args.shared / "eval" / "summaries").is_dir():
        print(f"error: {args.shared}/eval/summaries not found (pass --shared)", file=sys.stderr)
        return 2
    data = {name: load(args.shared, name) for name in SETS}
    shipped = [DefaultSummarizer(language_tools("english")).weights[k] for k in DefaultSummarizer.FEATURES]
    for name, docs in data.items():
        gain = sum(score(d, shipped) - score(d, lead_weights()) for d in docs) / len(docs)
        print(f"shipped weights, in-sample gain in R-1 + R-2 over lead-3 on {name}: {gain:+.2f}")
    weights = fit([d for name in SETS for d in data[name]], start=shipped)
    print("refitted on both sets:", dict(zip(DefaultSummarizer.FEATURES, weights, strict=True)))
    rng = random.Random(0)
    for split in range(args.splits):
        train, test = [], {}
        for name in SETS:
            docs = list(data[name])
            rng.shuffle(docs)
            half = len(docs) // 2
            train.extend(docs[:half])
            test[name] = docs[half:]
        w = fit(train)
        gains = {
            name: sum(score(d, w) - score(d, lead_weights()) for d in docs) / len(docs) for name, docs in test.items()
        }
        print(f"split {split}: held-out gain in R-1 + R-2 over lead-3:", {k: round(v, 2) for k, v in gains.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
