"""Briefings as the SPEC's ``brief --json`` object and as plain text (the fallback every adapter can post)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.briefing._types import Briefing, NoMatch, StoryBrief

MAX_TEXT_SOURCES = 5
"""Sources listed per story in the plain-text rendering (JSON lists them all)."""


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC (a naive time is taken as UTC); ``None`` stays ``None``."""
    if when is None:
        return None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat()


def _story_json(story: StoryBrief) -> dict[str, Any]:
    return {
        "headline": story.headline,
        "sentences": list(story.sentences),
        "quote": {"text": story.quote.text, "speaker": story.quote.speaker} if story.quote else None,
        "sources": [{"outlet": s.outlet, "url": s.url, "published_at": iso(s.published_at)} for s in story.sources],
        "first_seen": iso(story.first_seen),
    }


def briefing_json(b: Briefing) -> dict[str, Any]:
    """The SPEC's ``brief --json`` object: ``{"query", "generated_at", "stories": [{"headline", "sentences",
    "quote": {"text", "speaker"} | null, "sources": [{"outlet", "url", "published_at"}], "first_seen"}],
    "more"}`` (nothing else)."""
    return {
        "query": b.query,
        "generated_at": iso(b.generated_at),
        "stories": [_story_json(s) for s in b.stories],
        "more": b.more,
    }


def outlets_text(story: StoryBrief) -> str:
    """How many outlets reported a story: "3 outlets", "1 outlet" (:attr:`StoryBrief.outlet_count`)."""
    count = story.outlet_count
    return f"{count} {'outlet' if count == 1 else 'outlets'}"


def _hours(hours: float) -> str:
    return f"{hours:g} h" if hours >= 1 else f"{hours * 60:g} min"


def _when(when: datetime | None) -> str:
    if when is None:
        return "undated"
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return f"{when:%Y-%m-%d %H:%M} UTC"


def no_match_text(n: NoMatch) -> str:
    """A helpful reply when nothing matched: the window searched and topics worth trying."""
    line = f"Nothing found for “{n.query}” in the last {_hours(n.window_hours)}."
    if n.suggestions:
        return f"{line} Try a topic: {', '.join(n.suggestions)} (or other words)."
    return f"{line} Try other words, or fewer of them."


def format_briefing(b: Briefing | NoMatch) -> str:
    """The plain-text rendering: numbered stories (with the story each follows up) with bullet sentences, the
    quote, "N outlets" and their links (sources), and first sight; only the parts the briefing's template shows
    (:attr:`Briefing.template`: a headline without sources gets its link after it, unless ``link`` is "none")."""
    if isinstance(b, NoMatch):
        return no_match_text(b)
    label = f"{b.query} (topic)" if b.topic else b.query
    count = len(b.stories)
    lines = [f"Briefing: {label} — {count} {'story' if count == 1 else 'stories'}, last {_hours(b.window_hours)}"]
    t = b.template
    for i, story in enumerate(b.stories, 1):
        lines.append("")
        url = story.sources[0].url if story.sources else ""
        head = f"{i}. {story.headline}" if t.headline else f"{i}."
        if t.link == "headline" and url and not t.sources:
            head += f" <{url}>"
        lines.append(head)
        if t.link == "url" and url:
            lines.append(f"   {url}")
        if story.follows and t.headline:
            lines.append(f"   Follow-up of: {story.follows}")
        lines.extend(f"   - {sentence}" for sentence in story.sentences[: t.sentences])
        if story.quote and t.quote:
            lines.append(f"   “{story.quote.text}” — {story.quote.speaker}")
        shown = story.sources[:MAX_TEXT_SOURCES] if t.sources else ()
        if shown:
            lines.append(f"   {outlets_text(story)}:")
        for source in shown:
            lines.append(f"   {source.outlet}: {source.url} ({_when(source.published_at)})")
        rest = story.outlet_count - len(shown)
        if shown and rest > 0:
            lines.append(f"   and {rest} more {'outlet' if rest == 1 else 'outlets'}")
        if t.first_seen:
            lines.append(f"   first seen {_when(story.first_seen)}")
    if b.more:
        lines.append("")
        lines.append(f"…and {b.more} more {'story' if b.more == 1 else 'stories'}.")
    return "\n".join(lines)
