"""Slack Block Kit renderings of briefings and replies (pure: values in, JSON-able dicts out; no I/O, no clock).

Every renderer returns :class:`SlackMessage` dicts, ``{"text": fallback, "blocks": [...]}``, ready to be passed as
keyword arguments to ``chat.postMessage``/``chat.postEphemeral`` (plus ``channel``, and ``user`` for ephemeral).

Safety. Article text is untrusted: :func:`escape` turns ``&``, ``<`` and ``>`` into entities everywhere (block
text, header, fallback text), so ``<!channel>``, ``<@U123>``, ``<#C1>`` or ``<http://evil|click>`` in a headline
show as text and never ping or link. Every ``mrkdwn`` text object is sent with ``verbatim: true`` so that Slack
does not auto-link bare URLs, channel names or mentions in article text either; only links built here by
:func:`link` (http(s) URLs, made safe by :func:`safe_url`) are live. Post with the default ``parse`` ("none") and
without ``link_names``.

Limits (Slack's documented Block Kit limits, constants below). Lengths are counted in UTF-16 code units, which is
never less than the number of characters, so a text within a limit here is within it however Slack counts.
Over-long text is cut at a word boundary and ends with "…"; cutting happens before escaping, so it never splits an
entity such as ``&amp;``, and links are built whole or not at all. A digest that does not fit one message is split
at story boundaries into several complete messages, each with its own header ("Title (2/3)") and fallback text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypedDict
from urllib.parse import urlsplit

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
    "MAX_BLOCKS",
    "MAX_CONTEXT_ELEMENTS",
    "MAX_CONTEXT_TEXT",
    "MAX_FALLBACK_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_HEADLINE",
    "MAX_LINK_URL",
    "MAX_MESSAGE_TEXT",
    "MAX_SECTION_TEXT",
    "MAX_SOURCES",
    "MAX_TEXT_MESSAGES",
    "SlackMessage",
    "briefing_title",
    "digest_messages",
    "escape",
    "fit",
    "item_message",
    "link",
    "reply_messages",
    "safe_url",
    "text_messages",
    "text_size",
]

# ------------------------------------------------------------------------------------------------- limits

MAX_BLOCKS = 50
"""Blocks per message: "You can include up to 50 blocks in each message" (docs.slack.dev/reference/block-kit/blocks)."""
MAX_SECTION_TEXT = 3000
"""Section block ``text``: "Maximum length for the text in this field is 3000 characters" (section block
reference; the text object reference gives the same 3000 maximum)."""
MAX_HEADER_TEXT = 150
"""Header block ``text`` (plain_text only): "Maximum length for the text in this field is 150 characters"
(docs.slack.dev/reference/block-kit/blocks/header-block)."""
MAX_CONTEXT_ELEMENTS = 10
"""Context block ``elements``: "An array of image elements and text objects. Maximum number of items is 10"
(docs.slack.dev/reference/block-kit/blocks/context-block)."""
MAX_CONTEXT_TEXT = 3000
"""Each text object in a context block: "The minimum length is 1 and maximum length is 3000 characters"
(docs.slack.dev/reference/block-kit/composition-objects/text-object)."""
MAX_FALLBACK_TEXT = 4000
"""Our cap on a message's top-level ``text`` (the notification / screen-reader fallback). Slack truncates that
field beyond 40,000 characters (api.slack.com changelog "Truncating really long messages", 2018) and used to ask
for messages under 4,000; the fallback only needs the title and the headlines."""
MAX_MESSAGE_TEXT = 12_000
"""Our budget for the text of all blocks of one message. Not a documented Block Kit limit: Slack has rejected
payloads with ``msg_blocks_too_long`` while every block was within its own limit (slackapi/bolt-js#2509, at about
13,000 characters), so a digest splits into another message before its blocks carry more than this."""
MAX_TEXT_MESSAGES = 5
"""A text reply longer than this many messages (each within :data:`MAX_BLOCKS` and :data:`MAX_MESSAGE_TEXT`) is
cut with "…"."""
MAX_SOURCES = 5
"""Outlets linked per story; the rest are counted ("and 3 more")."""
MAX_HEADLINE = 300
"""Headline label length (escaped) in a story's section; a longer headline is cut with "…"."""
MAX_LINK_URL = 1000
"""A longer URL is not linked (its label shows as plain text): it would crowd the story's text out of its
section."""

_OUTLET_LABEL = 100
_SPEAKER = 200
_FALLBACK_LINE = 300
_MORE_RESERVE = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_URL_UNSAFE = re.compile(r"[\s<>|\"`\x00-\x1f\x7f-\x9f]")


class SlackMessage(TypedDict):
    """One message: ``text`` is the escaped plain fallback (notifications, screen readers), ``blocks`` the Block
    Kit layout (JSON-able dicts)."""

    text: str
    blocks: list[dict[str, Any]]


# ------------------------------------------------------------------------------------------------- text


def escape(text: str) -> str:
    """``text`` with Slack's control characters as entities: ``&`` -> ``&amp;``, ``<`` -> ``&lt;``,
    ``>`` -> ``&gt;`` (so it can never mention, ping or link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    """Runs of whitespace and control characters as single spaces (so article text cannot start a block quote,
    a list or a code block on a line of its own)."""
    return _text.one_line(text, _CONTROL)


def fit(text: str, limit: int) -> str:
    """``text`` escaped and, when that is longer than ``limit`` (UTF-16 code units), cut at a word boundary with
    "…" to fit. The cut is made in the raw text, so no entity is ever split; ``""`` when ``limit < 1``."""
    return _text.fit_escaped(text, limit, escape)


def safe_url(url: str) -> str | None:
    """``url`` ready for ``<url|label>``, or ``None`` when it must not be linked: only ``http``/``https`` URLs with
    a host, at most :data:`MAX_LINK_URL` long. ``<``, ``>``, ``|``, quotes, whitespace and control characters are
    percent-encoded and ``&`` becomes ``&amp;`` (Slack decodes it back), so the URL cannot end the link early or
    relabel it; bidirectional controls and lone surrogates are left out (:func:`bot.adapters._text.clean`)."""
    raw = _text.clean(url.strip())
    encoded = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), raw)
    try:
        parts = urlsplit(encoded)
    except ValueError:
        return None
    if _text.http_scheme(encoded, parts) is None or not parts.netloc:
        return None
    encoded = encoded.replace("&", "&amp;")
    if text_size(encoded) > MAX_LINK_URL:
        return None
    return encoded


def link(url: str, label: str, *, limit: int = MAX_SECTION_TEXT, label_limit: int | None = None) -> str:
    """``<url|label>`` in at most ``limit`` characters: the label on one line, escaped and cut to fit (and to
    ``label_limit`` when given), the URL made safe by :func:`safe_url`. A URL that cannot be linked (or leaves no
    room) gives just the escaped label; an empty label shows the URL."""
    shown = _one_line(label) or _one_line(url)
    cap = limit if label_limit is None else min(limit, label_limit)
    safe = safe_url(url)
    room = limit - text_size(safe) - 3 if safe is not None else 0  # "<", "|", ">"
    if safe is None or room < 1:
        return fit(shown, cap)
    return f"<{safe}|{fit(shown, min(room, cap))}>"


# ------------------------------------------------------------------------------------------------- blocks

_DIVIDER: dict[str, Any] = {"type": "divider"}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: Sequence[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def _header(title: str, part: int, parts: int) -> dict[str, Any]:
    suffix = f" ({part}/{parts})" if parts > 1 else ""
    text = fit(_one_line(title) or "Briefing", MAX_HEADER_TEXT - len(suffix)) + suffix
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _block_size(block: dict[str, Any]) -> int:
    """Text carried by one block (UTF-16 code units)."""
    size = 0
    text = block.get("text")
    if isinstance(text, dict):
        size += text_size(str(text.get("text", "")))
    for element in block.get("elements", ()):
        size += text_size(str(element.get("text", "")))
    return size


def _story_text(number: int, story: StoryBrief, template: Template = FULL) -> str:
    """``*N. <url|headline>*`` (linked to the newest source, as the template's ``link`` says: or the URL on a line
    of its own, or no link) then one ``• sentence`` line each (at most the template's ``sentences``), within
    :data:`MAX_SECTION_TEXT`."""
    headline = _one_line(story.headline) or "(untitled)"
    url = story.sources[0].url if story.sources else ""
    if not template.headline:
        head = f"*{number}.*"
    elif template.link == "headline":
        head = f"*{number}. {link(url, headline, label_limit=MAX_HEADLINE)}*"
    else:
        head = f"*{number}. {fit(headline, MAX_HEADLINE)}*"
    if template.link == "url" and url and (safe := safe_url(url)) is not None:
        head += f"\n<{safe}>"
    sentences = [s for s in (_one_line(s) for s in story.sentences[: template.sentences]) if s]
    bullet = "\n• "
    budget = MAX_SECTION_TEXT - text_size(head) - text_size(bullet) * len(sentences)
    return head + "".join(f"{bullet}{s}" for s in _text.shares(sentences, budget, escape) if s)


def _quote_text(quote: QuoteRef) -> str | None:
    """``> “quote” — speaker`` (a mrkdwn block quote), within :data:`MAX_SECTION_TEXT`."""
    text, speaker = _one_line(quote.text), _one_line(quote.speaker)
    return _text.quote_line(text, speaker, MAX_SECTION_TEXT, speaker_limit=_SPEAKER, escape=escape)


def _sources_text(story: StoryBrief) -> str | None:
    """``3 outlets: <u1|Outlet>, <u2|Outlet> and N more`` ("1 outlet: …" for one): at most :data:`MAX_SOURCES`
    links within :data:`MAX_CONTEXT_TEXT` (the outlets not linked, or not listed, are counted)."""

    def outlet(source: SourceLink, _fit: int | None) -> str:
        label = _one_line(source.outlet) or _text.hostname(source.url) or source.url or "source"
        return link(source.url, label, label_limit=_OUTLET_LABEL)

    return _text.linked_outlets(
        story, outlet, limit=MAX_CONTEXT_TEXT, max_links=MAX_SOURCES, head=f"{outlets_text(story)}: "
    )


def _story_blocks(number: int, story: StoryBrief, template: Template = FULL) -> list[dict[str, Any]]:
    """A story's blocks, as far as the template shows them: the headline-and-sentences section, the quote section
    (if any), the context: outlets, first sight and, for a follow-up, the headline of the story it follows up."""
    blocks = [_section(_story_text(number, story, template))]
    quote = _quote_text(story.quote) if story.quote is not None and template.quote else None
    if quote:
        blocks.append(_section(quote))
    sources = _sources_text(story) if template.sources else None
    context = [sources] if sources else []
    if template.first_seen:
        context.append(f"First seen {_text.when_text(story.first_seen)}")
    earlier = _one_line(story.follows or "")
    if earlier and template.headline:
        context.append(f"Follow-up of: {fit(earlier, MAX_HEADLINE)}")
    if context:
        blocks.append(_context(context))
    return blocks


def _fallback(lines: Sequence[str]) -> str:
    """The (escaped) lines joined; lines that would pass :data:`MAX_FALLBACK_TEXT` become one "…" line. The first
    line, a header text, is short."""
    text = lines[0]
    for line in lines[1:]:
        if text_size(text) + 1 + text_size(line) > MAX_FALLBACK_TEXT - 2:
            return f"{text}\n{ELLIPSIS}"
        text = f"{text}\n{line}"
    return text


# ------------------------------------------------------------------------------------------------- digests


def digest_messages(briefing: Briefing, *, title: str) -> list[SlackMessage]:
    """A briefing as one or more Block Kit messages (post them in order).

    Each message: a header (``title``, plain text, cut to :data:`MAX_HEADER_TEXT`; "title (2/3)" when split), then
    per story a section ``*N. <url|headline>*`` with the sentences as ``•`` bullets, the key quote as a block quote
    ``> “…” — speaker``, and a context with the linked outlets (at most :data:`MAX_SOURCES`, then "and N more")
    and "First seen 2024-05-01 08:00 UTC"; a divider between stories. The last message ends with "…and N more
    stories" when ``briefing.more``. Stories are numbered across messages and each appears in exactly one.

    The briefing's template (:attr:`bot.briefing.Briefing.template`) says which of these parts each story shows
    (``headline``, ``sentences``, ``quote``, ``sources``, ``first_seen``, ``link`` style); the limits hold
    whatever it says.

    A digest splits at story boundaries when :data:`MAX_BLOCKS` or :data:`MAX_MESSAGE_TEXT` would be passed.
    ``text`` is the escaped fallback: the header text and one line per story headline.
    """
    groups = [_story_blocks(n, s, briefing.template) for n, s in enumerate(briefing.stories, 1)]
    more = _text.more_stories(briefing.more)
    reserve_blocks = 1 if briefing.more else 0
    reserve_text = MAX_HEADER_TEXT + (_MORE_RESERVE if briefing.more else 0)

    parts: list[list[int]] = [[]]
    blocks_used, text_used = 1, reserve_text  # the header
    for index, group in enumerate(groups):
        need = len(group) + (1 if parts[-1] else 0)  # a divider before all but the first story
        size = sum(_block_size(b) for b in group)
        if parts[-1] and (blocks_used + need + reserve_blocks > MAX_BLOCKS or text_used + size > MAX_MESSAGE_TEXT):
            parts.append([])
            blocks_used, text_used = 1, reserve_text
            need = len(group)
        parts[-1].append(index)
        blocks_used += need
        text_used += size

    messages: list[SlackMessage] = []
    for number, indexes in enumerate(parts, 1):
        header = _header(title, number, len(parts))
        blocks: list[dict[str, Any]] = [header]
        lines = [str(header["text"]["text"])]
        for k, index in enumerate(indexes):
            if k:
                blocks.append(dict(_DIVIDER))
            blocks.extend(groups[index])
            story = briefing.stories[index]
            lines.append(f"{index + 1}. {fit(_one_line(story.headline) or '(untitled)', _FALLBACK_LINE)}")
        if not briefing.stories:
            blocks.append(_context(["No stories."]))
            lines.append("No stories.")
        if briefing.more and number == len(parts):
            blocks.append(_context([more]))
            lines.append(more)
        messages.append(SlackMessage(text=_fallback(lines), blocks=blocks))
    return messages


# ------------------------------------------------------------------------------------------------- items


def item_message(item: Item) -> SlackMessage:
    """An item (items mode) as one compact message: a section ``• <url|headline> — Outlet`` (the headline cut to
    :data:`MAX_HEADLINE`, the outlet to 100; unlinked when the URL cannot be linked), the fallback the same
    line in plain text."""
    headline = _one_line(item.headline) or _one_line(item.url) or "(untitled)"
    outlet = _one_line(item.outlet) or _text.hostname(item.url)
    tail = f" — {fit(outlet, _OUTLET_LABEL)}" if outlet else ""
    line = f"• {link(item.url, headline, label_limit=MAX_HEADLINE)}{tail}"
    fallback = f"{fit(headline, _FALLBACK_LINE)}{tail}"
    return SlackMessage(text=fallback, blocks=[_section(line)])


# ------------------------------------------------------------------------------------------------- replies


def text_messages(text: str, *, error: bool = False) -> list[SlackMessage]:
    """Plain text (a reply, help, usage, an error) as messages to post in order, normally one: escaped mrkdwn
    sections, or code blocks when the text is laid out in columns (indented lines, as in the usage text). Text
    longer than :data:`MAX_SECTION_TEXT` splits into sections at line boundaries, and into further messages past
    :data:`MAX_BLOCKS` or :data:`MAX_MESSAGE_TEXT` (at most :data:`MAX_TEXT_MESSAGES`, the rest cut with "…").
    ``error`` prefixes a :warning: emoji. The first message's fallback is the whole text on one line (cut to
    :data:`MAX_FALLBACK_TEXT`); later ones say "… (2/3)"."""
    cleaned = _text.tidy_lines(text, _CONTROL)
    prefix = ":warning: " if error else ""
    fallback = prefix + fit(" ".join(cleaned.split()) or ELLIPSIS, MAX_FALLBACK_TEXT - len(prefix))
    if not cleaned.strip():
        return [SlackMessage(text=fallback, blocks=[_section(prefix + ELLIPSIS)])]
    lines = [line.rstrip() for line in cleaned.strip("\n").splitlines()]
    wrap = "{}"
    if _text.preformatted(cleaned):
        lines = [line.replace("```", "`\u200b`\u200b`") for line in lines]  # cannot close the code block
        wrap = "```\n{}\n```"
    limit = MAX_SECTION_TEXT - text_size(wrap.format("")) - text_size(prefix)
    sections = [
        _section((prefix if i == 0 else "") + wrap.format(chunk))
        for i, chunk in enumerate(_text.chunks([fit(line, limit) for line in lines], limit))
    ]
    groups = _text.pack(sections, _block_size, max_items=MAX_BLOCKS, max_size=MAX_MESSAGE_TEXT)
    if len(groups) > MAX_TEXT_MESSAGES:
        groups = groups[:MAX_TEXT_MESSAGES]
        groups[-1][-1] = _section(wrap.format(ELLIPSIS))
    return [
        SlackMessage(text=fallback if part == 1 else f"{ELLIPSIS} ({part}/{len(groups)})", blocks=blocks)
        for part, blocks in enumerate(groups, 1)
    ]


def reply_messages(reply: Reply, *, title: str | None = None) -> list[SlackMessage]:
    """A command reply as messages to post in order, normally one (more only when a briefing or a very long text
    splits). A :class:`Briefing`: :func:`digest_messages` titled ``title`` or :func:`briefing_title`. A
    :class:`NoMatch`: its helpful text (:func:`bot.briefing.no_match_text`). Text replies (help, usage, lists,
    confirmations) and errors: :func:`text_messages` (errors flagged). Whether to post ephemerally is the caller's
    call (``reply.ephemeral``)."""
    if reply.kind == "briefing" and isinstance(reply.briefing, Briefing):
        return digest_messages(reply.briefing, title=title or briefing_title(reply.briefing))
    if reply.kind == "briefing" and isinstance(reply.briefing, NoMatch):
        return text_messages(no_match_text(reply.briefing))
    return text_messages(reply.text, error=reply.kind == "error")
