"""Rich renderings of briefings and replies (pure: values in, renderables out; no I/O, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from bot.briefing import FULL, Briefing, Item, NoMatch, SourceLink, StoryBrief, Template, no_match_text, outlets_text
from bot.commands import Reply

__all__ = ["render_briefing", "render_digest", "render_item", "render_reply"]

MAX_SOURCES = 5
"""Outlets listed per story; the rest are counted ("and 2 more")."""


def _when(when: datetime) -> str:
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return f"{when:%Y-%m-%d %H:%M} UTC"


def _hours(hours: float) -> str:
    return f"{hours:g} h" if hours >= 1 else f"{hours * 60:g} min"


def _source(source: SourceLink) -> Text:
    """``Outlet <url> (time)``: the link is printed, not only attached (many terminals hide hyperlinks)."""
    text = Text(source.outlet or source.url, style=Style(link=source.url) if source.url else "")
    if source.outlet and source.url:
        text.append(f" <{source.url}>", style=Style(link=source.url))
    if source.published_at is not None:
        text.append(f" ({_when(source.published_at)})", style="dim")
    return text


def _sources_line(story: StoryBrief, template: Template = FULL) -> Text | None:
    """``3 outlets: A (time), B (time), C (time) · first seen …`` (outlets linked; "1 outlet" for one), as far as
    the template shows sources and first sight; ``None`` when it shows neither."""
    shown = story.sources[:MAX_SOURCES] if template.sources else ()
    if not shown and not template.first_seen:
        return None
    line = Text(f"   {outlets_text(story)}: " if shown else "   ", style="dim")
    for i, source in enumerate(shown):
        if i:
            line.append(", ")
        line.append_text(_source(source))
    rest = story.outlet_count - len(shown)
    if shown and rest > 0:
        line.append(f", and {rest} more", style="dim")
    if template.first_seen:
        line.append(f"{' · ' if shown else ''}first seen {_when(story.first_seen)}", style="dim")
    return line


def _story(number: int, story: StoryBrief, template: Template = FULL) -> list[RenderableType]:
    url = story.sources[0].url if story.sources else ""
    head = Text.assemble((f"{number}. ", "bold"), (story.headline if template.headline else "", "bold cyan"))
    if template.link == "headline" and url and not template.sources:
        head.append(f" <{url}>", style=Style(link=url))
    parts: list[RenderableType] = [head]
    if template.link == "url" and url:
        parts.append(Text(f"   {url}", style=Style(link=url)))
    if story.follows and template.headline:
        parts.append(Text(f"   Follow-up of: {story.follows}", style="italic"))
    parts.extend(Text(f"   • {sentence}") for sentence in story.sentences[: template.sentences])
    if story.quote is not None and template.quote:
        parts.append(Text.assemble("   ", (f"“{story.quote.text}”", "italic"), f" — {story.quote.speaker}"))
    sources = _sources_line(story, template)
    if sources is not None:
        parts.append(sources)
    return parts


def render_briefing(b: Briefing | NoMatch) -> RenderableType:
    """A briefing as rich text: a title line, then per story the headline (and "Follow-up of: …" the earlier
    story's headline for a follow-up), its sentences, the quote as
    ``“…” — speaker`` and a sources line ("N outlets", then the outlets linked to their articles, with times);
    "N more" at the end; each story only with the parts the briefing's template shows.
    A :class:`NoMatch` renders as the helpful no-match text."""
    if isinstance(b, NoMatch):
        return Text(no_match_text(b), style="yellow")
    label = f"{b.query} (topic)" if b.topic else b.query
    count = len(b.stories)
    parts: list[RenderableType] = [
        Text.assemble(
            ("Briefing: ", "bold"),
            (label, "bold magenta"),
            f" — {count} {'story' if count == 1 else 'stories'}, last {_hours(b.window_hours)}",
        )
    ]
    if not b.stories:
        parts.append(Text(f"Nothing new in the last {_hours(b.window_hours)}.", style="dim"))
    for number, story in enumerate(b.stories, 1):
        parts.append(Text(""))
        parts.extend(_story(number, story, b.template))
    if b.more:
        parts.append(Text(""))
        parts.append(Text(f"…and {b.more} more {'story' if b.more == 1 else 'stories'}.", style="dim"))
    return Group(*parts)


def render_reply(reply: Reply) -> RenderableType:
    """Any reply: a briefing (or no-match hint), plain text, or an error in red."""
    if reply.kind == "briefing" and reply.briefing is not None:
        return render_briefing(reply.briefing)
    if reply.kind == "error":
        return Text(reply.text, style="red")
    return Text(reply.text)


def render_digest(channel: str, topic: str, briefing: Briefing) -> RenderableType:
    """A subscription's digest: a "Digest" rule line naming the topic, the channel and the time, then the
    briefing."""
    title = Text.assemble(
        ("Digest: ", "bold"), (topic, "bold magenta"), f" → {channel} · {_when(briefing.generated_at)}"
    )
    return Group(title, render_briefing(briefing))


def render_item(channel: str, topic: str, item: Item) -> RenderableType:
    """An item (items mode) as one line: ``[topic → channel] • headline — Outlet <url>``."""
    line = Text.assemble((f"[{topic} → {channel}] ", "dim"), "• ", (item.headline or item.url, "bold cyan"))
    if item.outlet:
        line.append(f" — {item.outlet}")
    if item.url:
        line.append(f" <{item.url}>", style=Style(link=item.url))
    return line
