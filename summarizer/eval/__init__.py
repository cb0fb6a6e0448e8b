"""Evaluation of the summarizer: ``python -m summarizer.eval rouge|quotes FILE.jsonl ...``.

``rouge`` scores every method of :data:`summarizer.ALGORITHMS` against reference summaries (ROUGE-1/2/L F1
x 100, rouge-score with Porter stemming), times each, and gives a paired bootstrap 95% interval of
default minus lead; ``quotes`` scores :func:`summarizer.extract_quotes` and its speakers on
attribution-annotated news. The output formats are fixed by ../shared/SPEC.md, "Evaluation commands".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["EXTRA_MISSING", "main"]

EXTRA_MISSING = "python -m summarizer.eval needs the [eval] extra: pip install 'newsbrief[eval]'"
"""The one line printed (exit status 2) when rouge-score, which only the [eval] extra installs, is missing."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation command line (:func:`summarizer.eval._cli.main`); without the [eval] extra (rouge-score)
    print :data:`EXTRA_MISSING` on stderr and return 2."""
    try:
        from summarizer.eval._cli import main as run
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] != "rouge_score":
            raise
        print(f"error: {EXTRA_MISSING}", file=sys.stderr)
        return 2
    return run(argv)
