"""Discord renderings of briefings and replies (pure: values in, ``discord.Embed`` objects out; no I/O, no clock).

Every renderer returns :class:`DiscordMessage` values (``content`` and a tuple of ``discord.Embed``), to be sent in
order with ``channel.send(content=..., embeds=[...], allowed_mentions=discord.AllowedMentions.none())`` (or as an
interaction response / follow-up); :meth:`DiscordMessage.send_kwargs` builds exactly those keyword arguments.

Safety. Article text is untrusted. Besides ``AllowedMentions.none()`` (which the sender must pass), the text itself
is neutralised by :func:`escape`: Discord markdown is escaped with ``discord.utils.escape_markdown`` (every ``*``,
``_``, ``~``, ``|``, backtick and backslash gets a backslash; ``[`` and ``]`` too, so no masked link can be formed),
``<`` is escaped so ``<@123>``, ``<@&123>``, ``<#123>``, ``<t:…>`` or ``</cmd:1>`` show as text, and a zero-width
space follows the ``@`` of ``@everyone``/``@here``. Article text is put on one line, so it can never start a
block quote, list or heading of its own. Only links built here are masked links, and only to http(s) URLs made safe
by :func:`safe_url` (``(``, ``)``, ``<``, ``>``, whitespace and other risky characters percent-encoded).
Footers are plain text on Discord (no markdown, no mentions) and carry only our own text.

Limits (Discord's documented limits, constants below). Lengths are counted in UTF-16 code units, never fewer than
the characters (code points) Discord counts, so text within a limit here is within it however it is counted.
Over-long text is cut at a word boundary and ends with "…"; cutting happens before escaping, so an escape is never
split from the character it escapes. A digest that does not fit one message (:data:`MAX_EMBEDS` embeds,
:data:`MAX_TOTAL_EMBED_CHARS` characters in all of its embeds) is split at story boundaries into several complete
messages, each with its own first line ("Title (2/3)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.adapters import _text
from bot.adapters._text import ELLIPSIS, briefing_title, text_size
from bot.briefing import (
    FULL,
    Briefing,
    Item,
    NoMatch,
    QuoteRef,
    SourceLink,
    StoryBrief,
    Template,
    no_match_text,
    outlets_text,
)
from bot.commands import Reply

__all__ = [
    "ELLIPSIS",
    "EMBED_COLOUR",
    "FOOTER_PREFIX",
    "MAX_AUTHOR_NAME",
    "MAX_CONTENT",
    "MAX_DESCRIPTION",
    "MAX_EMBEDS",
    "MAX_FIELDS",
    "MAX_FIELD_NAME",
    "MAX_FIELD_VALUE",
    "MAX_FOOTER_TEXT",
    "MAX_LINK_URL",
    "MAX_REF",
    "MAX_SOURCES",
    "MAX_STORY_DESCRIPTION",
    "MAX_TEXT_MESSAGES",
    "MAX_TITLE",
    "MAX_TOTAL_EMBED_CHARS",
    "PERMISSION_REASONS",
    "REQUIRED_PERMISSIONS",
    "SCOPES",
    "DiscordMessage",
    "briefing_title",
    "digest_messages",
    "embed_ref",
    "embed_size",
    "escape",
    "fit",
    "invite_url",
    "item_message",
    "link",
    "reply_messages",
    "safe_url",
    "text_messages",
    "text_size",
]

# ------------------------------------------------------------------------------------------------- limits
# Discord developer documentation, "Message Resource" (discord.com/developers/docs/resources/message):
# the "Embed Limits" table and the Create Message JSON parameters.

MAX_TITLE = 256
"""Embed ``title``: 256 characters (Embed Limits)."""
MAX_DESCRIPTION = 4096
"""Embed ``description``: 4096 characters (Embed Limits)."""
MAX_FIELDS = 25
"""Embed ``fields``: up to 25 field objects (Embed Limits)."""
MAX_FIELD_NAME = 256
"""Embed field ``name``: 256 characters (Embed Limits)."""
MAX_FIELD_VALUE = 1024
"""Embed field ``value``: 1024 characters (Embed Limits)."""
MAX_FOOTER_TEXT = 2048
"""Embed ``footer.text``: 2048 characters (Embed Limits)."""
MAX_AUTHOR_NAME = 256
"""Embed ``author.name``: 256 characters (Embed Limits; no author is set here)."""
MAX_TOTAL_EMBED_CHARS = 6000
"""The characters of ``title``, ``description``, field names and values, ``footer.text`` and ``author.name``
across all embeds of one message together: 6000 (Embed Limits)."""
MAX_EMBEDS = 10
"""Embeds per message: up to 10 rich embeds (Create Message, ``embeds``)."""
MAX_CONTENT = 2000
"""Message ``content``: up to 2000 characters (Create Message, ``content``)."""

MAX_STORY_DESCRIPTION = 2000
"""Our cap on a story embed's description (sentences and quote), below :data:`MAX_DESCRIPTION`: a briefing is
short, and a few stories should share a message's :data:`MAX_TOTAL_EMBED_CHARS`."""
MAX_SOURCES = 5
"""Outlets linked per story; the rest are counted ("and 3 more")."""
MAX_LINK_URL = 1000
"""A longer URL is not linked (embed ``url`` left out, outlet shown as plain text)."""
MAX_REF = 200
"""Longest digest slot reference :func:`digest_messages` accepts (it goes whole into every footer)."""
MAX_TEXT_MESSAGES = 5
"""A text reply longer than this many messages is cut with "…"."""
FOOTER_PREFIX = "newsbrief · "
"""Footers of digest embeds start with this, then the slot reference (see :func:`embed_ref`)."""
EMBED_COLOUR = 0x2B6CB0
"""The colour bar of story embeds."""

_FIRST_SEEN = "first seen"
_OUTLET_LABEL = 80
_FOLLOWS = 300
_SPEAKER = 120
_QUOTE_SHARE = 700
_CONTENT_TITLE = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # controls, and lone surrogates (not encodable)
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDERS = re.compile("[\ue000\ue001]")
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_CODE_MENTION = re.compile(r"<(?=[@#:/]|[at]:)")
_URL_UNSAFE = re.compile(r"[^\x21-\x7e]|[<>()\"'`\\^{}|@]")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::[0-9]{1,5})?")

# ------------------------------------------------------------------------------------------------- permissions

PERMISSION_REASONS: dict[str, str] = {
    "view_channel": "see the channels it posts digests to",
    "send_messages": "post digests and answers",
    "send_messages_in_threads": "post the rest of a digest inside a forum post",
    "create_public_threads": "open a forum post (a thread) for each digest in a forum channel",
    "embed_links": "show stories as embeds with linked headlines and outlets",
    "read_message_history": "find its own digests in the channel after a crash, so none is posted twice",
}
"""The bot permissions newsbrief asks for (``discord.Permissions`` flag names) and why; nothing else."""
REQUIRED_PERMISSIONS: int = discord.Permissions(**dict.fromkeys(PERMISSION_REASONS, True)).value
"""The permission integer of the invite URL: View Channels (1 << 10), Send Messages (1 << 11), Embed Links
(1 << 14), Read Message History (1 << 16), Create Public Threads (1 << 35), Send Messages in Threads (1 << 38)
(discord.com/developers/docs/topics/permissions, "Bitwise Permission Flags"). ``discord.Permissions(value)``
gives the flags object."""
SCOPES = ("bot", "applications.commands")
"""OAuth2 scopes of the invite: the bot user, and its slash commands."""


def invite_url(application_id: int | str) -> str:
    """The URL that adds the bot to a server with :data:`REQUIRED_PERMISSIONS` and :data:`SCOPES`."""
    return discord.utils.oauth_url(application_id, permissions=discord.Permissions(REQUIRED_PERMISSIONS), scopes=SCOPES)


# ------------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message: ``content`` (plain message text, never empty) and up to :data:`MAX_EMBEDS` embeds."""

    content: str
    embeds: tuple[discord.Embed, ...] = ()

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send``, ``InteractionResponse.send_message`` or
        ``Webhook.send`` (interaction follow-ups): ``content``, ``embeds`` (when any) and
        ``allowed_mentions=AllowedMentions.none()``."""
        kwargs: dict[str, Any] = {"content": self.content, "allowed_mentions": discord.AllowedMentions.none()}
        if self.embeds:
            kwargs["embeds"] = list(self.embeds)
        return kwargs


# ------------------------------------------------------------------------------------------------- text


def _one_line(text: str) -> str:
    """Runs of whitespace and control characters (lone surrogates included) as single spaces."""
    return _text.one_line(text, _CONTROL)


def escape(text: str) -> str:
    """``text`` safe to show in Discord markdown (content, embed title, description, field value): markdown
    escaped (``discord.utils.escape_markdown``, plus ``[`` and ``]``), then ``<`` escaped (no mention, channel,
    role, timestamp or command can form) and a zero-width space after the ``@`` of ``@everyone``/``@here``."""
    # escape_markdown turns a whole "[label](url)" into "\[label](url)", leaving the label unescaped: so brackets
    # stand aside as private-use placeholders meanwhile, and are escaped here.
    text = _PLACEHOLDERS.sub("\ufffd", text).replace("[", _OPEN).replace("]", _CLOSE)
    escaped = discord.utils.escape_markdown(text, ignore_links=False)
    escaped = escaped.replace("<", "\\<").replace(_OPEN, "\\[").replace(_CLOSE, "\\]")
    return _EVERYONE.sub("@\u200b", escaped)


def fit(text: str, limit: int) -> str:
    """``text`` escaped (:func:`escape`) and, when that is longer than ``limit`` (UTF-16 code units), cut at a word
    boundary with "…" to fit. The cut is made in the raw text, so no escape is separated from what it escapes;
    ``""`` when ``limit < 1``."""
    return _text.fit_escaped(text, limit, escape)


def _encode(part: str) -> str:
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), part)


def safe_url(url: str) -> str | None:
    """``url`` ready for an embed ``url`` or a masked link ``[label](url)``, or ``None`` when it must not be
    linked: only ``http``/``https`` URLs with a plain host (IDNA-encoded when not ASCII; no user info), at most
    :data:`MAX_LINK_URL` long. Whitespace, non-ASCII and control characters and ``<>()"'`\\^{}|@`` in path,
    query and fragment are percent-encoded, so the URL cannot end a masked link early, break out of it or carry a
    mention."""
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    scheme = _text.http_scheme(raw, parts)
    if scheme is None:
        return None
    host = parts.hostname or ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    netloc = host if port is None else f"{host}:{port}"
    if not host or "@" in parts.netloc or not _HOST.fullmatch(netloc):
        return None
    safe = f"{scheme}://{netloc}{_encode(parts.path)}"
    if parts.query:
        safe += f"?{_encode(parts.query)}"
    if parts.fragment:
        safe += f"#{_encode(parts.fragment)}"
    return safe if text_size(safe) <= MAX_LINK_URL else None


def link(url: str, label: str, *, limit: int = MAX_FIELD_VALUE, label_limit: int = _OUTLET_LABEL) -> str:
    """``[label](url)`` in at most ``limit`` characters: the label on one line, escaped, without brackets and cut
    to ``label_limit``; the URL made safe by :func:`safe_url`. A URL that cannot be linked (or leaves no room)
    gives just the escaped label; an empty label shows the URL's host."""
    shown = _one_line(label) or _text.hostname(url) or "source"
    shown = shown.replace("[", "(").replace("]", ")")  # a bracket inside a label would unmake the link
    safe = safe_url(url)
    room = limit - text_size(safe) - 4 if safe is not None else 0  # "[", "](", ")"
    if safe is None or room < 1:
        return fit(shown, min(limit, label_limit))
    return f"[{fit(shown, min(room, label_limit))}]({safe})"


# ------------------------------------------------------------------------------------------------- embeds


def embed_size(embed: discord.Embed) -> int:
    """The characters of ``embed`` that count towards :data:`MAX_TOTAL_EMBED_CHARS` (title, description, field
    names and values, footer text, author name), in UTF-16 code units."""
    data = embed.to_dict()
    size = text_size(str(data.get("title", ""))) + text_size(str(data.get("description", "")))
    for field in data.get("fields", ()):
        size += text_size(str(field.get("name", ""))) + text_size(str(field.get("value", "")))
    size += text_size(str(data.get("footer", {}).get("text", "")))
    size += text_size(str(data.get("author", {}).get("name", "")))
    return size


def embed_ref(embed: discord.Embed) -> str | None:
    """The digest slot reference in ``embed``'s footer (``"newsbrief · <ref> · first seen"``), or ``None`` when
    the embed is not one of our digest embeds."""
    text = embed.footer.text or ""
    if not text.startswith(FOOTER_PREFIX):
        return None
    ref = text[len(FOOTER_PREFIX) :].removesuffix(f" · {_FIRST_SEEN}")
    return ref or None


def _quote_line(quote: QuoteRef, limit: int) -> str | None:
    """``> “quote” — speaker`` (a block quote line) in at most ``limit``."""
    text, speaker = _one_line(quote.text), _one_line(quote.speaker)
    return _text.quote_line(text, speaker, limit, speaker_limit=_SPEAKER, escape=escape)


def _description(story: StoryBrief, template: Template = FULL) -> str | None:
    """The story's URL on a line of its own (the template's ``link`` "url"), the sentences as ``• `` bullets (at
    most the template's ``sentences``), then the key quote as a block quote (when the template shows it), within
    :data:`MAX_STORY_DESCRIPTION`."""
    quote = _quote_line(story.quote, _QUOTE_SHARE) if story.quote is not None and template.quote else None
    safe = safe_url(story.sources[0].url) if template.link == "url" and story.sources else None
    head = [f"<{safe}>"] if safe else []
    sentences = [s for s in (_one_line(s) for s in story.sentences[: template.sentences]) if s]
    bullet = "• "
    budget = (
        MAX_STORY_DESCRIPTION
        - (text_size(quote) + 1 if quote else 0)
        - sum(text_size(h) + 1 for h in head)
        - (text_size(bullet) + 1) * len(sentences)
    )
    lines = [*head, *(f"{bullet}{s}" for s in _text.shares(sentences, budget, escape) if s)]
    if quote:
        lines.append(quote)
    return "\n".join(lines) or None


def _sources_value(story: StoryBrief) -> str | None:
    """``[Outlet](url), [Outlet](url) and N more``: at most :data:`MAX_SOURCES` links within
    :data:`MAX_FIELD_VALUE` (the outlets not linked, or not listed, are counted)."""

    def outlet(source: SourceLink, fit: int | None) -> str:  # only the first may be shortened
        return link(source.url, source.outlet, limit=MAX_FIELD_VALUE if fit is None else fit)

    return _text.linked_outlets(story, outlet, limit=MAX_FIELD_VALUE, max_links=MAX_SOURCES)


def _story_embed(number: int, story: StoryBrief, ref: str | None, template: Template = FULL) -> discord.Embed:
    prefix = f"{number}. "
    headline = fit(_one_line(story.headline) or "(untitled)", MAX_TITLE - len(prefix))
    url = safe_url(story.sources[0].url) if story.sources and template.link == "headline" else None
    embed = discord.Embed(
        title=prefix + headline if template.headline else prefix.strip(),
        url=url,
        description=_description(story, template),
        timestamp=_text.utc(story.first_seen) if template.first_seen else None,
        colour=EMBED_COLOUR,
    )
    earlier = _one_line(story.follows or "")
    if earlier and template.headline:
        embed.add_field(name="Follow-up of", value=fit(earlier, _FOLLOWS), inline=False)
    sources = _sources_value(story) if template.sources else None
    if sources:
        embed.add_field(name=outlets_text(story), value=sources, inline=False)
    seen = _FIRST_SEEN if template.first_seen else ""
    if ref:  # the slot reference stays in the footer whatever the template: a digest is found again by it
        embed.set_footer(text=f"{FOOTER_PREFIX}{ref} · {_FIRST_SEEN}")
    elif seen:
        embed.set_footer(text=seen.capitalize())
    return embed


def _empty_embed(briefing: Briefing, ref: str | None) -> discord.Embed:
    description = f"No stories in the last {_text.hours_text(briefing.window_hours)}."
    embed = discord.Embed(description=description, colour=EMBED_COLOUR)
    if ref:
        embed.set_footer(text=f"{FOOTER_PREFIX}{ref}")
    return embed


def _check_ref(ref: str | None) -> str | None:
    if ref is None:
        return None
    if not ref or ref != _one_line(ref) or text_size(ref) > MAX_REF:
        raise ValueError(f"digest reference must be one line of 1 to {MAX_REF} characters: {ref!r}")
    return ref


# ------------------------------------------------------------------------------------------------- digests


def digest_messages(briefing: Briefing, *, title: str, ref: str | None = None) -> list[DiscordMessage]:
    """A briefing as one or more messages (send them in order).

    ``content`` is the digest's name, ``**title**`` (escaped, one line; "title (2/3)" when split); the last
    message adds "…and N more stories" when ``briefing.more``. One embed per story: the title ``N. headline``
    linked (embed ``url``) to the newest source when that is an http(s) URL; the description the sentences as
    ``•`` bullets and the key quote as a block quote ``> “…” — speaker``; for a follow-up, a "Follow-up of" field
    with the earlier story's headline; a field named "N outlets" ("1 outlet") with the outlets as masked links
    (at most :data:`MAX_SOURCES`, then "and N more"); the timestamp the story's first sighting, with footer
    "First seen" — or, given ``ref`` (a digest slot reference such as ``"sub:3:2024-05-01T08:00Z"``),
    ``"newsbrief · <ref> · first seen"`` so the digest can be found again in the channel history
    (:func:`embed_ref`). A briefing without stories gets one embed saying so (with ``ref`` in its footer).

    The briefing's template (:attr:`bot.briefing.Briefing.template`) says which of these parts each story shows;
    the slot reference stays in the footer whatever it says (``link`` "url": the URL heads the description).

    Stories are numbered across messages and each appears in exactly one; a message is split off before it would
    hold more than :data:`MAX_EMBEDS` embeds or :data:`MAX_TOTAL_EMBED_CHARS` characters of embeds. ``ref`` must
    be one line of at most :data:`MAX_REF` characters (``ValueError`` otherwise).
    """
    ref = _check_ref(ref)
    embeds = [_story_embed(n, s, ref, briefing.template) for n, s in enumerate(briefing.stories, 1)] or [
        _empty_embed(briefing, ref)
    ]
    parts = _text.pack(embeds, embed_size, max_items=MAX_EMBEDS, max_size=MAX_TOTAL_EMBED_CHARS)
    name = _one_line(title) or "Briefing"
    more = _text.more_stories(briefing.more)
    messages: list[DiscordMessage] = []
    for number, part in enumerate(parts, 1):
        suffix = f" ({number}/{len(parts)})" if len(parts) > 1 else ""
        content = f"**{fit(name, _CONTENT_TITLE)}{suffix}**"
        if briefing.more and number == len(parts):
            content += f"\n{more}"
        messages.append(DiscordMessage(content=content, embeds=tuple(part)))
    return messages


# ------------------------------------------------------------------------------------------------- items


def item_message(item: Item) -> DiscordMessage:
    """An item (items mode) as one compact message without embeds: ``• [headline](url) — Outlet`` in ``content``
    (the headline cut to :data:`MAX_TITLE`, the outlet to 80; unlinked when the URL cannot be linked), within
    :data:`MAX_CONTENT`."""
    headline = _one_line(item.headline) or _text.hostname(item.url) or "(untitled)"
    outlet = _one_line(item.outlet) or _text.hostname(item.url)
    tail = f" — {fit(outlet, _OUTLET_LABEL)}" if outlet else ""
    line = f"• {link(item.url, headline, limit=MAX_CONTENT - 2 - text_size(tail), label_limit=MAX_TITLE)}{tail}"
    return DiscordMessage(content=line)


# ------------------------------------------------------------------------------------------------- replies


def _code_line(line: str, limit: int) -> str:
    """A line for a code block (where backslashes are shown, not escapes): no fence can close the block, no
    mention or ``@everyone`` forms (zero-width spaces), cut with "…" to ``limit``."""
    line = _EVERYONE.sub("@\u200b", _CODE_MENTION.sub("<\u200b", line.replace("`", "`\u200b")))
    if text_size(line) <= limit:
        return line
    used = end = 0
    for i, ch in enumerate(line):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit - 1:  # room for the ellipsis
            break
        end = i + 1
    return line[:end] + ELLIPSIS


def text_messages(text: str, *, error: bool = False) -> list[DiscordMessage]:
    """Plain text (a reply, help, usage, an error) as messages to send in order, normally one, without embeds:
    escaped markdown in ``content``, or a code block when the text is laid out in columns (indented lines, as in
    the usage text). Text longer than :data:`MAX_CONTENT` splits at line boundaries into further messages (at
    most :data:`MAX_TEXT_MESSAGES`, the rest cut with "…"); a line too long alone is cut with "…". ``error``
    prefixes a warning sign."""
    cleaned = _text.tidy_lines(text, _CONTROL)
    prefix = "⚠️ " if error else ""
    lines = [line.rstrip() for line in cleaned.strip("\n").splitlines()]
    if not any(lines):
        return [DiscordMessage(content=prefix + ELLIPSIS)]
    if _text.preformatted(cleaned):
        wrap = "```\n{}\n```"
        prefix = prefix.rstrip() + "\n" if prefix else ""
        limit = MAX_CONTENT - text_size(wrap.format("")) - text_size(prefix)
        chunks = _text.chunks([_code_line(line, limit) for line in lines], limit)
    else:
        wrap = "{}"
        limit = MAX_CONTENT - text_size(prefix)
        chunks = _text.chunks([fit(line.strip(), limit) for line in lines], limit)
    if len(chunks) > MAX_TEXT_MESSAGES:
        chunks = [*chunks[: MAX_TEXT_MESSAGES - 1], ELLIPSIS]
    return [DiscordMessage(content=(prefix if i == 0 else "") + wrap.format(c)) for i, c in enumerate(chunks)]


def reply_messages(reply: Reply, *, title: str | None = None) -> list[DiscordMessage]:
    """A command reply as messages to send in order, normally one (more only when a briefing or a very long text
    splits). A :class:`Briefing`: :func:`digest_messages` titled ``title`` or :func:`briefing_title`, without a
    slot reference. A :class:`NoMatch`: its helpful text (:func:`bot.briefing.no_match_text`) as content. Text
    replies (help, usage, lists, confirmations) and errors: :func:`text_messages` (errors flagged). Whether to
    answer ephemerally is the caller's call (``reply.ephemeral``)."""
    if reply.kind == "briefing" and isinstance(reply.briefing, Briefing):
        return digest_messages(reply.briefing, title=title or briefing_title(reply.briefing))
    if reply.kind == "briefing" and isinstance(reply.briefing, NoMatch):
        return text_messages(_one_line(no_match_text(reply.briefing)))
    return text_messages(reply.text, error=reply.kind == "error")
