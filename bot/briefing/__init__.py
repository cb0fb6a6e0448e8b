"""Briefings: the answer to ``/brief <topic or words>``.

:func:`make_briefing` searches the store within a time window, groups the hits by story, ranks the stories
(relevance, outlets covering them, recency: :func:`story_score`) and condenses each into a :class:`StoryBrief`
from the summaries stored at ingest. Nothing matched: a :class:`NoMatch` with nearby topics, not an error.
:func:`brief_story` briefs one story by its id, without a search. :func:`briefing_json` is the SPEC's
``brief --json`` object, :func:`format_briefing` the plain-text rendering.
Pure over the store: no clock (``now`` is passed in), no network.
"""

from bot.briefing._make import (
    BRIEF_ARTICLES,
    CANDIDATES,
    DEFAULT_WINDOW,
    HALF_LIFE,
    STORY_ARTICLES,
    brief_story,
    make_briefing,
    reported_at,
    resolve_topic,
    story_score,
    suggest_topics,
)
from bot.briefing._render import briefing_json, format_briefing, iso, no_match_text, outlets_text
from bot.briefing._template import (
    BUILTIN_TEMPLATES,
    COMPACT,
    FULL,
    HEADLINES,
    LINK_STYLES,
    MAX_SENTENCES,
    Template,
    TemplateError,
    parse_templates,
    resolve_template,
    template_names,
)
from bot.briefing._types import Briefing, Item, NoMatch, QuoteRef, SourceLink, StoryBrief

__all__ = [
    "BRIEF_ARTICLES",
    "BUILTIN_TEMPLATES",
    "CANDIDATES",
    "COMPACT",
    "DEFAULT_WINDOW",
    "FULL",
    "HALF_LIFE",
    "HEADLINES",
    "LINK_STYLES",
    "MAX_SENTENCES",
    "STORY_ARTICLES",
    "Briefing",
    "Item",
    "NoMatch",
    "QuoteRef",
    "SourceLink",
    "StoryBrief",
    "Template",
    "TemplateError",
    "brief_story",
    "briefing_json",
    "format_briefing",
    "iso",
    "make_briefing",
    "no_match_text",
    "outlets_text",
    "parse_templates",
    "reported_at",
    "resolve_template",
    "resolve_topic",
    "story_score",
    "suggest_topics",
    "template_names",
]
