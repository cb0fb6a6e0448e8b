"""The values a briefing is made of: plain frozen dataclasses, platform-neutral (adapters render them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.briefing._template import FULL, Template


@dataclass(frozen=True, slots=True)
class SourceLink:
    """One outlet's article about a story: where to read it and when it was published (``None``: undated)."""

    outlet: str
    url: str
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuoteRef:
    """A key quote (without quotation marks) and the named person who said it (never a pronoun)."""

    text: str
    speaker: str


@dataclass(frozen=True, slots=True)
class StoryBrief:
    """One story of a briefing: headline, 2-3 sentences, at most one quote, its sources (newest first).

    ``first_seen`` is when the story (its first article) was first seen; ``story_id`` is ``None`` for an
    article that belongs to no story yet (it stands alone); ``outlets``: how many outlets reported it (all its
    articles, also those outside the window the sources come from; see :attr:`outlet_count`); ``follows``: the
    headline of the earlier story of its thread when it is a follow-up (a new event of a running story).
    """

    headline: str
    sentences: tuple[str, ...]
    quote: QuoteRef | None
    sources: tuple[SourceLink, ...]
    first_seen: datetime
    story_id: str | None
    outlets: int = 0
    follows: str | None = None

    @property
    def outlet_count(self) -> int:
        """The outlets that reported the story: :attr:`outlets`, and never fewer than the sources listed."""
        return max(self.outlets, len(self.sources))


@dataclass(frozen=True, slots=True)
class Briefing:
    """The answer to ``/brief``: the top stories for a query, and how many more matched (``more``).

    ``query`` is the text asked for (a topic name or free words), ``topic`` the configured topic it resolved
    to (``None`` for free text), ``window_hours`` how far back was searched. ``template`` says which parts of
    each story the renderers show (a subscription's message template; :data:`bot.briefing.FULL` by default).
    """

    query: str
    generated_at: datetime
    stories: tuple[StoryBrief, ...]
    more: int
    window_hours: float
    topic: str | None = None
    template: Template = FULL


@dataclass(frozen=True, slots=True)
class NoMatch:
    """Nothing matched: the query, the window searched, and configured topic names worth trying instead."""

    query: str
    window_hours: float
    suggestions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """One article of an items-mode subscription, posted on its own as a compact line: its headline linked to
    ``url``, and the outlet. ``article_id`` is the stored article's id."""

    article_id: str
    headline: str
    url: str
    outlet: str
    published_at: datetime | None
    first_seen: datetime
