"""Tune the story grouping settings on the dev sets, with cross-validation by time.

    .venv/bin/python bench/tune_stories.py [--shared ../shared] [--folds 5] [--quick]

Each data set's events are split by time (the event's first article) into ``--folds`` consecutive folds. Every
setting of a grid (merge threshold, link k, same-outlet factor, time decay, and the term weights) is run once
over each whole stream, exactly as ingestion groups; its scores are then taken per fold. For each held-out fold,
the setting with the best mean of (B-cubed F1 + pairwise F1) over the *other* folds of both sets is chosen, and
its assignments on the held-out fold are kept. The figures printed are those out-of-sample assignments, with a
95% bootstrap interval over events, for the project and for the TF-IDF single-link baseline (its threshold
chosen the same way), and the paired bootstrap interval of the difference. The grid's single best setting over
all folds is printed last: that is what ships as the defaults (its in-sample figures are not reported).
Reads ../shared at run time; nothing from it is stored.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.stories import _index
from bot.stories.eval import EvalArticle, baseline_group, load_articles, scores
from bot.stories.eval._run import group, ordered

SETS = ("allsides-dev", "basil-dev")
RESAMPLES = 1000


@dataclass(frozen=True)
class Setting:
    threshold: float
    link_k: int
    same_outlet: float
    decay_days: float
    title_boost: float
    name_boost: float

    def run(self, articles: Sequence[EvalArticle]) -> dict[str, str]:
        _index.TITLE_BOOST = self.title_boost
        _index.NAME_BOOST = self.name_boost
        index = _index.StoryIndex(
            threshold=self.threshold,
            link_k=self.link_k,
            same_outlet_factor=self.same_outlet,
            decay_days=self.decay_days,
            window=timedelta(days=3),
        )
        return group(articles, index)


def folds_of(articles: Sequence[EvalArticle], k: int) -> dict[str, int]:
    """Event -> fold: events ordered by their first article's time, cut into ``k`` consecutive folds."""
    first: dict[str, Any] = {}
    for a in ordered(articles):
        first.setdefault(a.event or a.id, a.published)
    events = sorted(first, key=lambda e: (first[e], e))
    return {event: i * k // len(events) for i, event in enumerate(events)}


def objective(pred: dict[str, str], gold: dict[str, str]) -> float:
    s = scores(pred, gold)
    return s.b3_f1 + s.pair_f1


def contributions(pred: dict[str, str], gold: dict[str, str]) -> dict[str, np.ndarray[Any, Any]]:
    """Per event, the sums over its articles of B-cubed precision and recall, pairs found together, pairs
    predicted and gold pairs (a clustered bootstrap resamples whole events and adds these up)."""
    pred_members: dict[str, set[str]] = {}
    gold_members: dict[str, set[str]] = {}
    for item in gold:
        pred_members.setdefault(pred[item], set()).add(item)
        gold_members.setdefault(gold[item], set()).add(item)
    rows: dict[str, np.ndarray[Any, Any]] = {}
    for event, members in gold_members.items():
        total = np.zeros(6)
        for item in members:
            p = pred_members[pred[item]]
            both = len(p & members)
            total += (both / len(p), both / len(members), both - 1, len(p) - 1, len(members) - 1, 1)
        rows[event] = total
    return rows


def resampled(rows: dict[str, np.ndarray[Any, Any]], drawn: np.ndarray[Any, Any]) -> tuple[float, float]:
    """B-cubed and pairwise F1 over the drawn events (indexes into the sorted events)."""
    events = sorted(rows)
    t = sum((rows[events[i]] for i in drawn), np.zeros(6))
    bp, br = t[0] / t[5], t[1] / t[5]
    pp = t[2] / t[3] if t[3] else 1.0
    pr = t[2] / t[4] if t[4] else 1.0
    f = lambda a, b: 2 * a * b / (a + b) if a + b else 0.0  # noqa: E731
    return f(bp, br), f(pp, pr)


def interval(values: Sequence[float]) -> str:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return f"[{lo:.3f}, {hi:.3f}]"


def cross_validate(
    runs: dict[Any, dict[str, dict[str, str]]], data: dict[str, list[EvalArticle]], k: int
) -> tuple[dict[str, dict[str, str]], list[Any]]:
    """Out-of-sample assignments per data set (each fold's from the setting best on the other folds)."""
    folds = {name: folds_of(arts, k) for name, arts in data.items()}
    gold = {name: {a.id: a.event or a.id for a in arts} for name, arts in data.items()}
    fold_gold = {
        (name, f): {i: e for i, e in gold[name].items() if folds[name][e] == f} for name in data for f in range(k)
    }
    table = {
        setting: {(name, f): objective(runs[setting][name], fold_gold[(name, f)]) for name in data for f in range(k)}
        for setting in runs
    }
    chosen: list[Any] = []
    out: dict[str, dict[str, str]] = {name: {} for name in data}
    for f in range(k):
        best = max(
            runs,
            key=lambda s: (sum(v for (name, g), v in table[s].items() if g != f), str(s)),
        )
        chosen.append(best)
        for name in data:
            for item in fold_gold[(name, f)]:
                out[name][item] = f"{f}:{runs[best][name][item]}"
    return out, chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a small grid (for a smoke run)")
    args = parser.parse_args()
    data = {name: load_articles(args.shared / "eval" / "stories" / f"{name}.jsonl") for name in SETS}
    gold = {name: {a.id: a.event or a.id for a in arts} for name, arts in data.items()}

    if args.quick:
        grid = [Setting(t, 2, 0.6, 6.0, 2.5, 1.0) for t in (0.16, 0.18, 0.2)]
    else:
        grid = [
            Setting(t, lk, so, dd, tb, nb)
            for t, lk, so, dd, tb, nb in itertools.product(
                (0.14, 0.16, 0.18, 0.2, 0.22, 0.24, 0.26, 0.28, 0.3),
                (1, 2),
                (0.3, 0.6),
                (2.0, 6.0),
                (1.5, 2.5),
                (1.0, 1.6),
            )
        ]
    runs: dict[Any, dict[str, dict[str, str]]] = {}
    for n, setting in enumerate(grid, 1):
        runs[setting] = {name: setting.run(arts) for name, arts in data.items()}
        if sys.stderr.isatty():
            print(f"\r{n}/{len(grid)} settings", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    base_runs = {
        round(t, 2): {name: baseline_group(ordered(arts), threshold=t) for name, arts in data.items()}
        for t in np.arange(0.1, 0.62, 0.04)
    }
    ours, chosen = cross_validate(runs, data, args.folds)
    theirs, base_chosen = cross_validate(base_runs, data, args.folds)
    print(f"{args.folds}-fold cross-validation by time (out-of-sample; 95% bootstrap over events, {RESAMPLES}x)")
    for name in SETS:
        s, b = scores(ours[name], gold[name]), scores(theirs[name], gold[name])
        rng = np.random.default_rng(0)
        mine, base = contributions(ours[name], gold[name]), contributions(theirs[name], gold[name])
        ours_bs, theirs_bs, diff_b3, diff_pair = [], [], [], []
        for _ in range(RESAMPLES):
            drawn = rng.integers(0, len(mine), len(mine))  # the same events for both systems (paired)
            o, t = resampled(mine, drawn), resampled(base, drawn)
            ours_bs.append(o)
            theirs_bs.append(t)
            diff_b3.append(o[0] - t[0])
            diff_pair.append(o[1] - t[1])
        print(
            f"{name}: newsbrief B3 F1 {s.b3_f1:.3f} {interval([x[0] for x in ours_bs])}  "
            f"pair F1 {s.pair_f1:.3f} {interval([x[1] for x in ours_bs])}"
        )
        print(
            f"{name}: baseline  B3 F1 {b.b3_f1:.3f} {interval([x[0] for x in theirs_bs])}  "
            f"pair F1 {b.pair_f1:.3f} {interval([x[1] for x in theirs_bs])}"
        )
        print(
            f"{name}: difference B3 F1 {s.b3_f1 - b.b3_f1:+.3f} {interval(diff_b3)}  "
            f"pair F1 {s.pair_f1 - b.pair_f1:+.3f} {interval(diff_pair)}"
        )
    print("settings chosen per fold:", *chosen, sep="\n  ")
    print("baseline thresholds chosen per fold:", base_chosen)
    overall = max(runs, key=lambda s: (sum(objective(runs[s][n], gold[n]) for n in SETS), str(s)))
    base_overall = max(base_runs, key=lambda t: sum(objective(base_runs[t][n], gold[n]) for n in SETS))
    print("best setting on all dev data (ship as defaults):", overall, "baseline threshold:", base_overall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
