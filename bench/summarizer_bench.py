"""Summarizer benchmark: throughput of every algorithm, and how time grows with text size.

Run as ``python bench/summarizer_bench.py`` (``make bench``). The articles are those of
``../shared/eval/summaries/*.jsonl`` (read at run time, beside the project's root); without ``../shared``
they are synthetic news-like articles generated with a seeded RNG. The scaling table times
``summarize(..., algorithm="default", quotes=2)`` and ``extract_quotes`` on generated texts of 10 KB,
100 KB and 1 MB; a flat µs/KB column means time grows linearly. The whole run is bounded (about a
minute, two at most): each algorithm stops after ``MAX_ARTICLES`` articles or ``ALGORITHM_BUDGET_S``
seconds, and the 1 MB case is skipped when the 100 KB case projects it past ``SCALING_BUDGET_S``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

from summarizer import ALGORITHMS, extract_quotes, summarize  # noqa: E402

SHARED_SUMMARIES = ROOT.parent / "shared" / "eval" / "summaries"
MAX_ARTICLES = 150
ALGORITHM_BUDGET_S = 5.0
SIZES = (10_000, 100_000, 1_000_000)
REPEATS = {10_000: 5, 100_000: 2, 1_000_000: 1}
SCALING_BUDGET_S = 30.0
TARGET_RATIO = 5.0
SEED = 20240601

# --- synthetic news-like text ------------------------------------------------------------------------------

_FIRST = (
    "Maria",
    "John",
    "Aiko",
    "Pedro",
    "Fatima",
    "Oleg",
    "Grace",
    "Samuel",
    "Lena",
    "Ahmed",
    "Chloe",
    "Ravi",
)
_LAST = (
    "Alvarez",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Kowalski",
    "Haddad",
    "Brennan",
    "Costa",
    "Iyer",
)
_ROLES = (
    "the city's mayor",
    "a spokesman for the ministry",
    "an economist at the central bank",
    "the union leader",
    "a senior official",
    "the company's chief executive",
    "a local resident",
)
_SUBJECTS = (
    "The council",
    "Investors",
    "The government",
    "Officials",
    "The committee",
    "Residents",
    "The central bank",
    "Negotiators",
    "Prosecutors",
    "The airline",
    "Doctors",
    "Farmers",
)
_VERBS = (
    "approved",
    "rejected",
    "delayed",
    "announced",
    "criticised",
    "welcomed",
    "questioned",
    "extended",
    "postponed",
    "defended",
    "reviewed",
    "expanded",
)
_OBJECTS = (
    "the new budget",
    "a plan to rebuild the bridge",
    "the trade agreement",
    "higher interest rates",
    "the proposed merger",
    "emergency funding for hospitals",
    "the election timetable",
    "a ban on night flights",
    "the water reform",
    "talks with the neighbouring state",
)
_TAILS = (
    "on Tuesday",
    "after a long debate",
    "despite protests outside",
    "for the second time this year",
    "by a narrow margin",
    "in a statement",
    "late on Friday",
    "according to officials",
)
_CUES = ("said", "told reporters", "added", "warned", "argued")


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."


def _quote_sentence(rng: random.Random) -> str:
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    said = _sentence(rng)
    words = said[0].lower() + said[1:-1]
    pattern = rng.randrange(3)
    if pattern == 0:
        return f'"We believe that {words}, and we will keep going," {name}, {rng.choice(_ROLES)}, said.'
    if pattern == 1:
        return f'{name} {rng.choice(_CUES)}: "Nobody expected that {words}. It changes everything."'
    return f'"It is clear that {words}," {rng.choice(_CUES)} {name}. "We are ready for what comes next."'


def _paragraph(rng: random.Random) -> str:
    parts = [_sentence(rng) for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.45:
        parts.insert(rng.randrange(len(parts) + 1), _quote_sentence(rng))
    return " ".join(parts)


def synthetic_text(size: int, rng: random.Random, pool: int = 200) -> str:
    """About ``size`` characters: varied generated paragraphs, repeated in shuffled order."""
    paragraphs = [_paragraph(rng) for _ in range(pool)]
    chunks: list[str] = [f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"]
    length = len(chunks[0])
    while length < size:
        rng.shuffle(paragraphs)
        for paragraph in paragraphs:
            chunks.append(paragraph)
            length += len(paragraph) + 2
            if length >= size:
                break
    return "\n\n".join(chunks)


# --- articles ----------------------------------------------------------------------------------------------


def _shared_articles() -> list[str]:
    """Article texts of the shared eval sets, interleaved across files, or [] when ../shared is absent."""
    per_file: list[list[str]] = []
    for path in sorted(SHARED_SUMMARIES.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            per_file.append([json.loads(line)["text"] for line in handle if line.strip()])
    interleaved: list[str] = []
    for row in range(max((len(texts) for texts in per_file), default=0)):
        interleaved.extend(texts[row] for texts in per_file if row < len(texts))
    return interleaved[:MAX_ARTICLES]


def articles() -> tuple[str, list[str]]:
    """The benchmark articles and a description of where they came from."""
    shared = _shared_articles()
    if shared:
        return f"{len(shared)} articles from {SHARED_SUMMARIES}", shared
    rng = random.Random(SEED)
    generated = [synthetic_text(rng.randint(2_000, 6_000), rng, pool=12) for _ in range(MAX_ARTICLES)]
    return f"{len(generated)} synthetic articles (../shared absent; seed {SEED})", generated


# --- measurements ------------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _timed_runs(texts: list[str], algorithm: str) -> Iterator[float]:
    for text in texts:
        started = time.perf_counter()
        summarize(text, sentences=3, quotes=0, algorithm=algorithm)
        yield time.perf_counter() - started


def throughput(texts: list[str]) -> dict[str, tuple[int, float]]:
    """Per algorithm: (articles summarized, seconds inside summarize()), within the time budget."""
    results: dict[str, tuple[int, float]] = {}
    # One untimed pass warms the process-wide caches (stems, the splitter's decisions) as a running bot
    # has them, so that the first algorithm timed does not pay for the others.
    for text in texts:
        summarize(text, sentences=3, quotes=0, algorithm="default")
    for algorithm in ALGORITHMS:
        summarize(texts[0], sentences=3, quotes=0, algorithm=algorithm)  # warm-up: lazy set-up
        count, seconds = 0, 0.0
        for elapsed in _timed_runs(texts, algorithm):
            count += 1
            seconds += elapsed
            if seconds > ALGORITHM_BUDGET_S:
                break
        results[algorithm] = (count, seconds)
        if sys.stderr.isatty():
            print(f"  {algorithm}: {count} articles", file=sys.stderr, flush=True)
    return results


def _best_of(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    """The fastest of ``repeats`` timed calls of ``run`` and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def _label(size: int) -> str:
    return f"{size // 1_000_000} MB" if size >= 1_000_000 else f"{size // 1000} KB"


def scaling() -> tuple[list[list[str]], dict[str, list[float]]]:
    """Rows of the scaling table (size, seconds and µs/KB of each function) and µs/KB per function."""
    rng = random.Random(SEED + 1)
    rows: list[list[str]] = []
    per_kb: dict[str, list[float]] = {"summarize": [], "extract_quotes": []}
    spent: dict[int, float] = {}
    for size in SIZES:
        text = synthetic_text(size, rng)
        kilobytes = len(text) / 1000.0
        previous = max((s for s in spent if s < size), default=None)
        if previous is not None and spent[previous] * size / previous > SCALING_BUDGET_S:
            rows.append([_label(size), "skipped: projected past the time budget", "", "", "", ""])
            continue
        brief, _ = _best_of(REPEATS[size], partial(summarize, text, algorithm="default", quotes=2))
        found, quotes = _best_of(REPEATS[size], partial(extract_quotes, text))
        spent[size] = brief + found
        per_kb["summarize"].append(brief * 1e6 / kilobytes)
        per_kb["extract_quotes"].append(found * 1e6 / kilobytes)
        count = len(quotes) if isinstance(quotes, tuple) else 0
        rows.append(
            [
                _label(size),
                f"{brief:.3f}",
                f"{brief * 1e6 / kilobytes:,.0f}",
                f"{found:.3f}",
                f"{found * 1e6 / kilobytes:,.0f}",
                str(count),
            ]
        )
    return rows, per_kb


def main() -> int:
    """Print the throughput and scaling tables."""
    started = time.perf_counter()
    source, texts = articles()
    print(f"Throughput: summarize(text, sentences=3, quotes=0, algorithm=...) on {source}")
    results = throughput(texts)
    rows = [
        [name, str(count), f"{count / seconds:,.1f}", f"{seconds * 1000 / count:.2f}"]
        for name, (count, seconds) in results.items()
    ]
    print(_table(["algorithm", "articles", "articles/s", "ms/article"], rows))
    if "default" in results and "lexrank" in results:
        rate = {name: count / seconds for name, (count, seconds) in results.items()}
        ratio = rate["default"] / rate["lexrank"]
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"default / lexrank speed: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x: {verdict})")
    print()
    print('Scaling: summarize(text, algorithm="default", quotes=2) and extract_quotes(text), best of repeats')
    header = ["text", "summarize s", "µs/KB", "extract_quotes s", "µs/KB", "quotes"]
    rows, per_kb = scaling()
    print(_table(header, rows))
    for name, values in per_kb.items():
        if len(values) > 1:
            print(f"{name}: µs/KB at the largest size / at 10 KB = {values[-1] / values[0]:.2f} (1.0 = linear)")
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
