"""Clustering scores: pairwise and B-cubed precision, recall and F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and F1, over article pairs and B-cubed (per article, averaged)."""

    pair_precision: float
    pair_recall: float
    pair_f1: float
    b3_precision: float
    b3_recall: float
    b3_f1: float


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _pairs(sizes: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def scores(predicted: Mapping[str, str], gold: Mapping[str, str]) -> Scores:
    """Scores of ``predicted`` (article -> story) against ``gold`` (article -> event), over the gold articles.

    A precision with nothing predicted together (or a recall with nothing to find) is 1.0.
    """
    items = [item for item in gold if item in predicted]
    pred_sizes: Counter[object] = Counter(predicted[i] for i in items)
    gold_sizes: Counter[object] = Counter(gold[i] for i in items)
    both: Counter[object] = Counter((predicted[i], gold[i]) for i in items)
    together = _pairs(both)
    pred_pairs, gold_pairs = _pairs(pred_sizes), _pairs(gold_sizes)
    pp = together / pred_pairs if pred_pairs else 1.0
    pr = together / gold_pairs if gold_pairs else 1.0
    if items:
        bp = sum(both[(predicted[i], gold[i])] / pred_sizes[predicted[i]] for i in items) / len(items)
        br = sum(both[(predicted[i], gold[i])] / gold_sizes[gold[i]] for i in items) / len(items)
    else:
        bp = br = 1.0
    return Scores(pp, pr, _f1(pp, pr), bp, br, _f1(bp, br))
