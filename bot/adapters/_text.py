"""Text helpers the Slack and Discord renderers share (pure; platform-neutral).

Lengths are counted in UTF-16 code units (:func:`text_size`), never fewer than the characters a platform counts.
What differs between the platforms is passed in: ``escape`` (how untrusted text is made inert in the platform's
markup) and ``control`` (the characters that never reach a message as they are).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from bot.briefing import Briefing, SourceLink, StoryBrief, outlets_text

__all__ = [
    "ELLIPSIS",
    "briefing_title",
    "chunks",
    "clean",
    "fit_escaped",
    "hostname",
    "hours_text",
    "http_scheme",
    "linked_outlets",
    "more_stories",
    "one_line",
    "pack",
    "preformatted",
    "quote_line",
    "shares",
    "text_size",
    "tidy_lines",
    "utc",
    "when_text",
]

T = TypeVar("T")
Escape = Callable[[str], str]

ELLIPSIS = "…"

_SPACE = re.compile(r"\s")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


# ------------------------------------------------------------------------------------------------- sizes and cuts


def text_size(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (a character outside the BMP, e.g. most emoji, counts 2): the
    measure every limit here is checked with."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """``text`` without the characters no message may carry as they are: the bidirectional embeddings, overrides
    and isolates (U+202A-U+202E, U+2066-U+2069: they would reorder what follows them, e.g. turn a link label or
    a number around) and lone surrogates (not encodable, a platform refuses the whole message). A surrogate pair
    becomes the character it stands for."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return _BIDI.sub("", text)


def one_line(text: str, control: re.Pattern[str]) -> str:
    """Runs of whitespace and ``control`` characters as single spaces (so article text cannot start a block quote,
    a list or a code block on a line of its own), without what :func:`clean` strips."""
    return " ".join(control.sub(" ", clean(text)).split())


def tidy_lines(text: str, control: re.Pattern[str]) -> str:
    """``text`` with its line layout kept: ``control`` characters as spaces, except newlines and tabs; tabs as four
    spaces; without what :func:`clean` strips."""
    return control.sub(lambda m: m.group() if m.group() in "\n\t" else " ", clean(text)).replace("\t", "    ")


def fit_escaped(text: str, limit: int, escape: Escape) -> str:
    """``escape(text)`` and, when that is longer than ``limit`` (UTF-16 code units), cut at a word boundary with
    "…" to fit; ``""`` when ``limit < 1``. The cut is made in the raw text, so no escape is ever split or separated
    from what it escapes. ``escape`` must never make a longer prefix shorter, nor give less than one code unit per
    character. What :func:`clean` strips is left out first."""
    text = clean(text)
    escaped = escape(text)
    if text_size(escaped) <= limit:
        return escaped
    if limit < 1:
        return ""
    budget = limit - 1  # the ellipsis
    # the longest prefix whose escaped form fits
    low, high = 0, min(len(text), budget)
    while low < high:
        middle = (low + high + 1) // 2
        if text_size(escape(text[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    at_boundary = low < len(text) and text[low].isspace()
    boundary = max((m.start() for m in _SPACE.finditer(cut)), default=-1)
    if not at_boundary and boundary >= max(low // 2, 1):  # a word boundary, unless that loses over half the room
        cut = cut[:boundary]
    return escape(cut.rstrip()) + ELLIPSIS


def shares(texts: Sequence[str], budget: int, escape: Escape) -> list[str]:
    """Each text escaped and fitted so that together they take at most ``budget``: an equal share each, a short
    text's unused share going to the longer ones."""
    out = [""] * len(texts)
    remaining = max(budget, 0)
    order = sorted(range(len(texts)), key=lambda i: text_size(escape(texts[i])))
    for k, i in enumerate(order):
        out[i] = fit_escaped(texts[i], remaining // (len(texts) - k), escape)
        remaining -= text_size(out[i])
    return out


def quote_line(text: str, speaker: str, limit: int, *, speaker_limit: int, escape: Escape) -> str | None:
    """``> “text” — speaker`` (a block quote line in Slack mrkdwn and Discord markdown alike) in at most ``limit``,
    the speaker cut to ``speaker_limit``; ``None`` when there is no text to quote. ``text`` and ``speaker`` are
    single lines (:func:`one_line`)."""
    if not text:
        return None
    speaker = fit_escaped(speaker, speaker_limit, escape)
    tail = f"” — {speaker}" if speaker else "”"
    body = fit_escaped(text, limit - 3 - text_size(tail), escape)
    return f"> “{body}{tail}" if body else None


# ------------------------------------------------------------------------------------------------- replies


def preformatted(text: str) -> bool:
    """Texts laid out in columns (usage, lists: indented lines after the first) keep their layout in a code
    block."""
    return any(line[:1].isspace() for line in text.splitlines()[1:])


def chunks(lines: Sequence[str], limit: int) -> list[str]:
    """Lines packed into chunks of at most ``limit`` (joined by newlines; a line longer than ``limit`` alone makes
    a chunk of its own)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        grown = size + text_size(line) + (1 if current else 0)
        if current and grown > limit:
            out.append("\n".join(current))
            current, grown = [], text_size(line)
        current.append(line)
        size = grown
    if current:
        out.append("\n".join(current))
    return out


def pack(items: Sequence[T], size: Callable[[T], int], *, max_items: int, max_size: int) -> list[list[T]]:
    """``items`` in order, split into groups (messages) of at most ``max_items`` whose sizes add up to at most
    ``max_size`` (an item too large alone gets a group of its own). Always at least one group."""
    groups: list[list[T]] = [[]]
    used = 0
    for item in items:
        item_size = size(item)
        if groups[-1] and (len(groups[-1]) >= max_items or used + item_size > max_size):
            groups.append([])
            used = 0
        groups[-1].append(item)
        used += item_size
    return groups


# ------------------------------------------------------------------------------------------------- URLs


def http_scheme(url: str, parts: SplitResult) -> str | None:
    """The scheme of ``url`` (split as ``parts``), lower-cased, when it is ``http``/``https`` written out in full
    (``scheme://``); else ``None``."""
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or url[: len(scheme) + 3].lower() != f"{scheme}://":
        return None
    return scheme


def hostname(url: str) -> str:
    """The host of ``url``, or ``""`` when it has none (or does not parse)."""
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


# ------------------------------------------------------------------------------------------------- briefings


def utc(when: datetime) -> datetime:
    """``when`` in UTC (a naive datetime is taken to be UTC already)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def when_text(when: datetime) -> str:
    """``2024-05-01 08:00 UTC``."""
    return f"{utc(when):%Y-%m-%d %H:%M} UTC"


def hours_text(hours: float) -> str:
    """``72 h``, or ``30 min`` below an hour."""
    return f"{hours:g} h" if hours >= 1 else f"{hours * 60:g} min"


def _stories(n: int) -> str:
    return f"{n} {'story' if n == 1 else 'stories'}"


def more_stories(n: int) -> str:
    """``…and 3 more stories`` (the line that says a briefing held back ``n`` stories)."""
    return f"{ELLIPSIS}and {n} more {'story' if n == 1 else 'stories'}"


def briefing_title(briefing: Briefing) -> str:
    """The default title of a ``/brief`` answer, as the console shows it: "Briefing: rail (topic) — 3 stories,
    last 72 h"."""
    label = f"{briefing.query} (topic)" if briefing.topic else briefing.query
    return f"Briefing: {label} — {_stories(len(briefing.stories))}, last {hours_text(briefing.window_hours)}"


def linked_outlets(
    story: StoryBrief,
    link: Callable[[SourceLink, int | None], str],
    *,
    limit: int,
    max_links: int,
    head: str = "",
) -> str | None:
    """A story's outlets as ``head`` then links joined by ", ", then " and N more" for the outlets not linked: at
    most ``max_links`` links, all within ``limit`` (:func:`text_size`, room kept for the count). ``link(source,
    fit)`` makes one link; ``fit`` is the room the first link may be shortened to (``None`` for the later ones,
    which go in whole or not at all). No link fits: :func:`bot.briefing.outlets_text` alone ("3 outlets").
    ``None`` for a story without sources."""
    if not story.sources:
        return None
    reserve = len(f" and {story.outlet_count} more")
    text, shown = head, 0
    for source in story.sources[:max_links]:
        separator = ", " if shown else ""
        room = limit - reserve - text_size(text) - len(separator)
        piece = link(source, None if shown else room)
        if not piece or text_size(piece) > room:
            break
        text, shown = f"{text}{separator}{piece}", shown + 1
    if not shown:
        return outlets_text(story)
    rest = story.outlet_count - shown
    return f"{text} and {rest} more" if rest > 0 else text
