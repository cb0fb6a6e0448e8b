"""Briefings: the answer to ``/brief <topic or words>``.

:func:`make_briefing` searches the store within a time window, groups the hits by story, ranks the stories
(relevance, outlets covering them, recency: :func:`story_score`) and condenses each into a :class:`StoryBrief`
from the summaries stored at ingest. Nothing matched: a :class:`NoMatch` with nearby topics, not an error.
:func:`briefing_json` is the SPEC's ``brief --json`` object, :func:`format_briefing` the plain-text rendering.
Pure over the store: no clock (``now`` is passed in), no network.
"""

from bot.briefing._make import (
    BRIEF_ARTICLES,
    CANDIDATES,
    DEFAULT_WINDOW,
    HALF_LIFE,
    STORY_ARTICLES,
    make_briefing,
    reported_at,
    resolve_topic,
    story_score,
    suggest_topics,
)
from bot.briefing._render import briefing_json, format_briefing, iso, no_match_text, outlets_text
from bot.briefing._types import Briefing, NoMatch, QuoteRef, SourceLink, StoryBrief

__all__ = [
    "BRIEF_ARTICLES",
    "CANDIDATES",
    "DEFAULT_WINDOW",
    "HALF_LIFE",
    "STORY_ARTICLES",
    "Briefing",
    "NoMatch",
    "QuoteRef",
    "SourceLink",
    "StoryBrief",
    "briefing_json",
    "format_briefing",
    "iso",
    "make_briefing",
    "no_match_text",
    "outlets_text",
    "reported_at",
    "resolve_topic",
    "story_score",
    "suggest_topics",
]
