"""Retry scheduling for failing feeds: exponential backoff with full jitter."""

from __future__ import annotations

import random


def next_backoff(failures: int, *, base: float = 60.0, cap: float = 86_400.0, rng: random.Random) -> float:
    """Seconds to wait before the next attempt after ``failures`` consecutive failures.

    Full jitter: a uniform draw in ``[0, min(cap, base * 2 ** (failures - 1))]``, so that many feeds failing
    together spread out instead of retrying in lockstep. ``failures <= 0`` gives 0; the result never exceeds
    ``cap`` (24 hours by default). ``rng`` is injected so that callers and tests stay deterministic.
    """
    if failures <= 0:
        return 0.0
    if base <= 0 or cap <= 0:
        return 0.0
    # Cap the exponent first: 2 ** 10_000 would overflow a float.
    exponent = min(failures - 1, 64)
    ceiling = min(cap, base * (2.0**exponent))
    return rng.uniform(0.0, ceiling)
