"""newsbrief's summarizer: extractive briefings with attributed key quotes.

A pure library: no network, disk or clock, and nothing imported from ``bot``.

The names below are loaded on first use (``summarizer.summarize`` imports sumy, nltk and numpy; ``import
summarizer`` and :func:`language_name` do not), so that a program importing the package for its types or to
validate a language name starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarizer._languages import LANGUAGES, detect_language, language_name
    from summarizer._quotes import extract_quotes
    from summarizer._rankers import DefaultSummarizer
    from summarizer._summarize import ALGORITHMS, brief_story, summarize
    from summarizer._tokenizer import OfflineTokenizer
    from summarizer._types import Article, Quote, SourceRef, StoryBrief, Summary

__all__ = [
    "ALGORITHMS",
    "LANGUAGES",
    "Article",
    "DefaultSummarizer",
    "OfflineTokenizer",
    "Quote",
    "SourceRef",
    "StoryBrief",
    "Summary",
    "brief_story",
    "detect_language",
    "extract_quotes",
    "language_name",
    "summarize",
]

_HOMES = {
    "LANGUAGES": "_languages",
    "detect_language": "_languages",
    "language_name": "_languages",
    "extract_quotes": "_quotes",
    "DefaultSummarizer": "_rankers",
    "ALGORITHMS": "_summarize",
    "brief_story": "_summarize",
    "summarize": "_summarize",
    "OfflineTokenizer": "_tokenizer",
    "Article": "_types",
    "Quote": "_types",
    "SourceRef": "_types",
    "StoryBrief": "_types",
    "Summary": "_types",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next look-up is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
