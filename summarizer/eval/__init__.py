"""Evaluation of the summarizer: ``python -m summarizer.eval rouge|quotes FILE.jsonl ...``.

``rouge`` scores every method of :data:`summarizer.ALGORITHMS` against reference summaries (ROUGE-1/2/L F1
x 100, rouge-score with Porter stemming), times each, and gives a paired bootstrap 95% interval of
default minus lead; ``quotes`` scores :func:`summarizer.extract_quotes` and its speakers on
attribution-annotated news. The output formats are fixed by ../shared/SPEC.md, "Evaluation commands".
"""

from summarizer.eval._cli import main

__all__ = ["main"]
