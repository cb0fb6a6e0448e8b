"""Story grouping speed and memory with a full window (``make bench``).

    .venv/bin/python bench/stories_bench.py [--window 100000] [--new 2000]

Synthetic articles (Zipf-distributed words from a 60,000-word vocabulary, events of 1-4 reports sharing
names and numbers) spread over 25 days: ``--window`` of them are restored into a :class:`StoryIndex` as on a
restart (the memory it takes is measured with tracemalloc), then ``--new`` more are grouped one by one through
:meth:`StoryIndex.add`, exactly as ingestion does. Prints articles/s and bytes per indexed article, each with
PASS or FAIL against its budget (>= 500 articles/s on one core with 100,000 articles in the window, <= 2 KB per
article; the defaults are that case); exits 1 when one fails. Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.stories import StoryIndex, article_terms

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=25)


def _words(rng: random.Random, vocab: list[str], cumulative: list[float], n: int) -> list[str]:
    return rng.choices(vocab, cum_weights=cumulative, k=n)


def articles(count: int, seed: int) -> list[tuple[str, str, str, str, datetime]]:
    """(id, title, text, outlet, time), time ascending; events of 1-4 reports within a day."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(60_000)]
    weights = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(vocab))))
    out: list[tuple[str, str, str, str, datetime]] = []
    n = 0
    while len(out) < count:
        when = START + SPAN * (len(out) / count)
        names = [f"Name{rng.randrange(200_000)}" for _ in range(3)] + [str(rng.randrange(10_000))]
        core = _words(rng, vocab, weights, 30)
        for _ in range(rng.randint(1, 4)):
            body = core[:20] + _words(rng, vocab, weights, 60) + names
            rng.shuffle(body)
            title = " ".join([*names[:2], *core[:4]])
            out.append((f"a_{n:012x}", title, " ".join(body), f"outlet{rng.randrange(150)}.example", when))
            when += timedelta(minutes=rng.randint(5, 600))
            n += 1
    out.sort(key=lambda a: (a[4], a[0]))
    return out[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=2_000)
    args = parser.parse_args()
    data = articles(args.window + args.new, seed=7)
    old, new = data[: args.window], data[args.window :]
    stored = [(aid, article_terms(title, text).to_bytes(), outlet, when) for aid, title, text, outlet, when in old]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = StoryIndex()
    for row, (aid, terms, outlet, when) in enumerate(stored, 1):
        index.restore(aid, terms, outlet, when, f"s_{aid[2:]}", row=row)
    restored = len(index)
    per_article = (tracemalloc.get_traced_memory()[0] - before) / max(1, restored)
    tracemalloc.stop()
    started = time.perf_counter()
    for aid, title, text, outlet, when in new:
        index.add(aid, title, text, outlet, when)
    elapsed = time.perf_counter() - started
    rate = len(new) / elapsed
    checks = [
        (
            f"story index: {restored} articles in the window, {per_article:.0f} bytes per article",
            "budget <= 2048",
            per_article <= 2048,
        ),
        (f"story grouping: {rate:.0f} articles/s over {len(new)} new articles", "budget >= 500", rate >= 500),
    ]
    for line, budget, ok in checks:
        print(f"{line} ({budget}): {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
