"""Paired bootstrap confidence interval for a difference of means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    """``delta`` = mean(a - b); ``[low, high]`` its percentile bootstrap interval."""

    delta: float
    low: float
    high: float


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """Percentile interval of mean(a - b) over documents resampled with replacement.

    ``a[i]`` and ``b[i]`` are two systems' scores on the same document ``i``; each resample draws the
    same documents for both (paired). The generator is ``numpy.random.default_rng(seed)``, fresh on every
    call, so the same inputs always give the same interval, and two metrics of one data set scored with
    the same ``seed`` are resampled with the same document draws.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} != {len(b)}")
    if not a:
        raise ValueError("paired bootstrap needs at least one pair")
    if resamples < 1 or not 0.0 < level < 1.0:
        raise ValueError("resamples must be >= 1 and level in (0, 1)")
    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(diffs), size=(resamples, len(diffs)))
    means = diffs[draws].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Interval(delta=float(diffs.mean()), low=float(low), high=float(high))
