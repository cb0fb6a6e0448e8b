"""newsbrief's summarizer: extractive briefings with attributed key quotes.

A pure library: no network, disk or clock, and nothing imported from ``bot``.
"""

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
