"""Text preparation: normalization with an offset map, offline sentence splitting, boilerplate.

Everything here is linear in the length of the text: one regular-expression pass normalizes, nupunkt
splits each paragraph into sentences, and a handful of anchored patterns flag boilerplate.
"""

from __future__ import annotations

import heapq
import html
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nupunkt

__all__ = [
    "NormalizedText",
    "Sentence",
    "normalize",
    "split_sentences",
    "word_tokens",
]

# --------------------------------------------------------------------------------------------------
# Normalization

_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_CONTROL = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\x7f"

# Length-preserving replacements run first with str.translate (offsets do not move); the regular
# expression then handles only what changes length.
_ONE_TO_ONE_MAP: dict[str, str] = {
    **dict.fromkeys(_SINGLE_QUOTES, "'"),
    **dict.fromkeys(_DOUBLE_QUOTES, '"'),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_SPACES + "\r", " "),
}
_ONE_TO_ONE = str.maketrans(_ONE_TO_ONE_MAP)
_ONE_TO_ONE_RE = re.compile("[" + re.escape("".join(_ONE_TO_ONE_MAP)) + "]")


def _one_to_one(text: str) -> str:
    """Replace quotes, dashes and odd spaces character for character (offsets stay put)."""
    if _ONE_TO_ONE_RE.search(text) is None:
        return text
    return _ONE_TO_ONE_RE.sub(lambda m: _ONE_TO_ONE_MAP[m.group()], text)


_CHAR_MAP: dict[str, str] = dict.fromkeys(_INVISIBLE + _CONTROL + "\ufffd", "")
_CHAR_MAP["\u2026"] = "..."

_BLOCK_TAGS = "p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|blockquote|figure|figcaption|aside"
_CHANGES = (
    r"(?P<newline> +\n\s*|\n\s+)"
    r"|(?P<space> {2,})"
    r"|(?P<char>[" + re.escape("".join(_CHAR_MAP)) + r"])"
)
_PLAIN_RE = re.compile(_CHANGES)
# Text without newlines or markup (the common case for feed summaries) needs only these two, and
# scanning for each alone lets the regex engine skip ahead on its literal prefix.
_SPACE_RUN_RE = re.compile(r"(?P<space>  +)")
_CHAR_RE = re.compile(r"(?P<char>[" + re.escape("".join(_CHAR_MAP)) + r"])")
_NORMALIZE_RE = re.compile(
    r"(?P<drop><(?:script|style|noscript)\b[^>]*>.*?</(?:script|style|noscript)\s*>|<!--.*?-->)"
    rf"|(?P<block></?(?:{_BLOCK_TAGS})\b[^<>]{{0,2000}}>)"
    r"|(?P<tag></?[a-zA-Z][a-zA-Z0-9:-]*(?:\s[^<>]{0,2000})?/?>)"
    r"|(?P<entity>&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});)|" + _CHANGES,
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalized text plus the map from its offsets back to the caller's string."""

    text: str
    original: str
    # Piecewise map: piece i starts at _norm[i] in ``text`` and _orig[i] in ``original``;
    # _verbatim[i] tells whether the piece was copied unchanged (offsets then map one to one).
    _norm: tuple[int, ...]
    _orig: tuple[int, ...]
    _olen: tuple[int, ...]
    _verbatim: tuple[bool, ...]

    def to_original(self, index: int) -> int:
        """Map an offset in :attr:`text` to the caller's string (inside a replaced piece: its start)."""
        if index <= 0:
            return 0
        if index >= len(self.text):
            return len(self.original)
        i = bisect_right(self._norm, index) - 1
        if self._verbatim[i]:
            return self._orig[i] + (index - self._norm[i])
        return self._orig[i]

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of :attr:`text` to the span of the caller's string it came from."""
        a = self.to_original(start)
        if end <= start:
            return a, a
        last = min(end, len(self.text)) - 1
        if last < 0:
            return a, a
        i = bisect_right(self._norm, last) - 1
        if self._verbatim[i]:
            b = self._orig[i] + (last - self._norm[i]) + 1
        else:
            b = self._orig[i] + self._olen[i]
        return a, max(a, b)


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup
    token = match.group()
    if kind == "drop" or kind == "tag":
        return ""
    if kind == "block" or kind == "newline":
        return "\n"
    if kind == "entity":
        value = html.unescape(token)
        if value == token:
            return token
        return "".join(_CHAR_MAP.get(c, c) for c in value.translate(_ONE_TO_ONE))
    if kind == "space":
        return " "
    return _CHAR_MAP.get(token, token)


def normalize(text: str) -> NormalizedText:
    """Normalize quotes, dashes, whitespace, HTML tags and entities, keeping an offset map.

    Paragraph breaks become a single ``"\\n"``; other whitespace runs become one space; curly quotes
    become straight ones; dashes become ``-``; invisible and control characters disappear.
    """
    out: list[str] = []
    norm: list[int] = []
    orig: list[int] = []
    olen: list[int] = []
    verbatim: list[bool] = []
    npos = 0
    last = 0
    tail_is_break = True  # no paragraph break at the very start
    original = text
    text = _one_to_one(text)
    matches: Iterable[re.Match[str]]
    if "<" in text or "&" in text:
        matches = _NORMALIZE_RE.finditer(text)
    elif "\n" in text:
        matches = _PLAIN_RE.finditer(text)
    else:
        matches = heapq.merge(_SPACE_RUN_RE.finditer(text), _CHAR_RE.finditer(text), key=lambda m: m.start())
    for match in matches:
        s, e = match.span()
        rep = _replacement(match)
        if s > last:
            tail_is_break = text[s - 1] == "\n"
        if rep == "\n" and tail_is_break:
            rep = ""  # adjacent block tags and blank lines make one paragraph break
        if rep == match.group():
            tail_is_break = rep.endswith("\n") if rep else tail_is_break
            continue
        if s > last:
            norm.append(npos)
            orig.append(last)
            olen.append(s - last)
            verbatim.append(True)
            out.append(text[last:s])
            npos += s - last
        if rep:
            tail_is_break = rep.endswith("\n")
        norm.append(npos)
        orig.append(s)
        olen.append(e - s)
        verbatim.append(False)
        out.append(rep)
        npos += len(rep)
        last = e
    if last < len(text) or not norm:
        norm.append(npos)
        orig.append(last)
        olen.append(len(text) - last)
        verbatim.append(True)
        out.append(text[last:])
    return NormalizedText(
        text="".join(out),
        original=original,
        _norm=tuple(norm),
        _orig=tuple(orig),
        _olen=tuple(olen),
        _verbatim=tuple(verbatim),
    )


# --------------------------------------------------------------------------------------------------
# Sentences


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of the normalized text.

    ``start``/``end`` are offsets into the normalized text; ``paragraph`` counts paragraphs from 0 and
    ``index`` counts sentences from 0 over the whole text. ``boilerplate`` names why the sentence is
    not article prose ("byline", "caption", ...) or is ``None``.
    """

    text: str
    start: int
    end: int
    paragraph: int
    index: int
    boilerplate: str | None = None


@lru_cache(maxsize=1)
def _punkt() -> Any:
    return nupunkt.load_default_model()


# A prompt glued to the text after it: "Scroll down for video Gordon Brown, pictured ..."
_PROMPT_PREFIX_RE = re.compile(r"\s*(?:scroll down for (?:video|more)|read more:?|advertisement)\s*\.?\s*", re.I)
_MAX_PARAGRAPH = 20_000


def _split_long(text: str, start: int) -> list[tuple[int, int]]:
    """Split pathological text (no punctuation, huge paragraphs) into bounded chunks at spaces."""
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        end = min(n, pos + 400)
        if end < n:
            cut = text.rfind(" ", pos + 1, end)
            if cut > pos:
                end = cut
        spans.append((start + pos, start + end))
        pos = end
    return spans


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


_BULLETS = frozenset("-*•·▪–—")


def split_sentences(text: str) -> list[Sentence]:
    """Split normalized text into sentences, never across a paragraph break, and flag boilerplate."""
    model = _punkt()
    sentences: list[Sentence] = []
    for p_index, (p_start, p_end) in enumerate(_paragraph_spans(text)):
        paragraph = text[p_start:p_end]
        raw: list[tuple[int, int]] = []
        prefix: dict[int, str] = {}  # start of a cut-off prefix -> its boilerplate kind
        lead = _leading_boilerplate(paragraph)
        if lead:
            raw.append((0, lead))
            prefix[0] = "byline"
        dateline = _DATELINE_RE.match(paragraph, lead)
        if dateline and dateline.end() < len(paragraph):
            raw.append((lead, dateline.end()))
            prefix[lead] = "dateline"
            lead = dateline.end()
        for _, (s, e) in model.tokenize_with_spans(paragraph[lead:_MAX_PARAGRAPH]):
            raw.extend(_refine(paragraph, lead + s, lead + e))
        if len(paragraph) > _MAX_PARAGRAPH:
            raw.extend(_split_long(paragraph[_MAX_PARAGRAPH:], _MAX_PARAGRAPH))
        for s, e in raw:
            while s < e and paragraph[s].isspace():
                s += 1
            while s + 1 < e and paragraph[s] in _BULLETS and paragraph[s + 1].isspace():
                s += 2  # list bullets ("- - Now, ...") are layout, not text
                while s < e and paragraph[s].isspace():
                    s += 1
            while e > s and paragraph[e - 1].isspace():
                e -= 1
            if e <= s:
                continue
            body = paragraph[s:e]
            kind = prefix[s] if s < lead and s in prefix else boilerplate_kind(body)
            sentences.append(
                Sentence(
                    text=body,
                    start=p_start + s,
                    end=p_start + e,
                    paragraph=p_index,
                    index=len(sentences),
                    boilerplate=kind,
                )
            )
    return sentences


def _refine(paragraph: str, start: int, end: int) -> list[tuple[int, int]]:
    """Break a splitter sentence further at glued caption labels and at pathological lengths."""
    pieces = [(start, end)]
    m = _PROMPT_PREFIX_RE.match(paragraph, start, end)
    if m and m.end() < end:
        pieces = [(start, m.end()), (m.end(), end)]
    out: list[tuple[int, int]] = []
    for s, e in pieces:
        if e - s > 2_000:
            out.extend(_split_long(paragraph[s:e], s))
        else:
            out.append((s, e))
    return out


# --------------------------------------------------------------------------------------------------
# Boilerplate

_BOILERPLATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # A sentence that is only a byline: "By Jane Doe", "By . Jane Doe .", "by . jane doe ."
    ("byline", re.compile(r"^[Bb]y\s*\.?\s+(?:[A-Z][\w'-]*\.?\s+(?:and\s+)?){0,5}[A-Z][\w'-]*\s*\.?$")),
    ("byline", re.compile(r"^by \. (?:[a-z][\w'-]* ){1,5}\.$")),
    ("byline", re.compile(r"^by\s+[\w.' -]{0,60}(?:reporter|correspondent|editor|staff)\b", re.IGNORECASE)),
    ("dateline", re.compile(r"^\W*(?:published|updated|last updated|posted)\s*:?\s*\.?\s*\d", re.IGNORECASE)),
    ("dateline", re.compile(r"\|\s*\.?\s*updated\s*:", re.IGNORECASE)),
    (
        "credit",
        re.compile(
            r"^\W*(?:photo|picture|image|photograph|credit|source|video)s?\s*(?:copyright|credit)?\s*:",
            re.IGNORECASE,
        ),
    ),
    ("credit", re.compile(r"^\W*image (?:copyright|caption)\b", re.IGNORECASE)),
    (
        "prompt",
        re.compile(
            r"^\W*(?:read more|more:|related:|see also|sign up|subscribe|advertisement|share this|"
            r"share on|share or comment|click here|scroll down|follow us|follow @|like us on|"
            r"join the conversation|comments?\b|\d+ comments?|email\b|print\b|watch:|video:|"
            r"listen:|this article is more than|we use cookies|all rights reserved|copyright\b|©)",
            re.IGNORECASE,
        ),
    ),
    ("prompt", re.compile(r"^\W*(?:tweet|share|whatsapp|facebook|twitter|pinterest|linkedin)\W*$", re.I)),
    (
        "pictured",
        re.compile(
            r"\(\s*(?:pictured|picture|file|file image|file photo|left|right|centre|center|above|below|"
            r"top|bottom|inset|main|second left|second right|far left|far right|"
            r"left to right|from left|clockwise)[^()]{0,40}\)",
            re.IGNORECASE,
        ),
    ),
)

# A byline and its publication stamps at the start of a paragraph, e.g.
# "By . Jane Doe . PUBLISHED: . 12:01 EST, 1 May 2014 . | . UPDATED: . 13:20 EST, 1 May 2014 ."
_STAMP = (
    r"(?:(?:published|updated|last updated|posted)\s*:?\s*\.?\s*"
    r"[\d:.]+\s*(?:[ap]\.?m\.?\s*)?(?:[a-z]{2,4}\s*)?,?\s*(?:\d{1,2}\s+[a-z]+|[a-z]+\s+\d{1,2}),?\s+\d{4}"
    r"\s*\.?\s*(?:\|\s*\.?\s*)?)"
)
_LEADING_BOILERPLATE_RE = re.compile(
    r"(?:by\s*\.\s+(?:[^\W\d_][\w'-]*\s*(?:and\s+|,\s*)?){1,6}\.\s*"
    r"(?:(?:and|in|for)\s+[^\W\d_][\w' -]{0,40}?\s*\.\s*)?(?:\|\s*\.?\s*)?)?"
    rf"{_STAMP}*",
    re.IGNORECASE,
)
_STAMPS_RE = re.compile(rf"\s*{_STAMP}*", re.IGNORECASE)
_CAPITAL_BYLINE_RE = re.compile(
    r"By\s+(?:[A-Z][\w'-]+\s+){1,3}[A-Z][\w'-]+(?:\s+(?:and|&)\s+(?:[A-Z][\w'-]+\s+){1,3}[A-Z][\w'-]+)?"
    r"(?:\s*,\s*[A-Z][\w ]{0,40})?\s*(?:\.\s*|$|(?=\s+(?:PUBLISHED|Published|UPDATED|Updated)))"
)


# A dateline before the first sentence: "(CNN)", "LONDON (Reuters) - ", "Reuters, December 2, Moscow - ".
_AGENCY = r"(?:Reuters|AP|AFP|CNN|Bloomberg|PA|dpa|UPI)"
_DATELINE_RE = re.compile(
    r"\s*(?:"
    r"\(\s*(?i:cnn)\s*\)\s*(?:-{1,2}|—|–)?"
    rf"|[A-Z][A-Z.'-]+(?:[ ,]+[A-Z][A-Z.'-]+){{0,3}}(?:,? [A-Z][a-z]+)?(?:\s*\({_AGENCY}\))?\s*(?:-{{1,2}}|—|–)"
    rf"|[A-Z][a-z]+(?:[ ,]+[A-Z][a-z]+){{0,2}}\s*\({_AGENCY}\)\s*(?:-{{1,2}}|—|–)?"
    rf"|{_AGENCY},\s+[A-Z][a-z]+\.?\s+\d{{1,2}},\s+[A-Z][a-z]+(?:,? [A-Z][a-z]+)?\s*(?:-{{1,2}}|—|–)"
    # any wire or paper named in brackets after a capitalised place: "MOSCOW (Example Wire) -"
    r"|[A-Z][A-Z.'-]+(?:[ ,]+[A-Z][A-Z.'-]+){0,3}\s*\([A-Z][\w.&' ]{1,40}\)\s*(?:-{1,2}|—|–)"
    r")\s*"
)


def _leading_boilerplate(paragraph: str) -> int:
    """Length of a byline/publication-stamp prefix of ``paragraph`` (0 when there is none)."""
    m = _LEADING_BOILERPLATE_RE.match(paragraph)
    end = m.end() if m else 0
    if end == 0:
        c = _CAPITAL_BYLINE_RE.match(paragraph)
        if c:
            end = c.end()
            s = _STAMPS_RE.match(paragraph, end)
            end = s.end() if s else end
    return end


_CREDIT_TAIL_RE = re.compile(r"(?:getty images|afp/getty|reuters/|ap photo|/ap\b|shutterstock)\W*$", re.I)
_FINAL_PUNCT = frozenset(".!?\"')]:;")


def _combine(patterns: list[tuple[str, re.Pattern[str]]]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex that tries several patterns at once; group ``b<i>`` names pattern ``i``'s kind."""
    parts: list[str] = []
    kinds: dict[str, str] = {}
    for i, (kind, pattern) in enumerate(patterns):
        source = pattern.pattern.removeprefix("^")
        flags = "i" if pattern.flags & re.IGNORECASE else ""
        body = f"(?{flags}:{source})" if flags else f"(?:{source})"
        parts.append(f"(?P<b{i}>{body})")
        kinds[f"b{i}"] = kind
    return re.compile("|".join(parts)), kinds


# Anchored patterns are tried with one ``match`` at the start, the others with one ``search``.
_ANCHORED_RE, _ANCHORED_KINDS = _combine([(k, p) for k, p in _BOILERPLATE_PATTERNS if p.pattern.startswith("^")])
_ANYWHERE_RE, _ANYWHERE_KINDS = _combine([(k, p) for k, p in _BOILERPLATE_PATTERNS if not p.pattern.startswith("^")])


def boilerplate_kind(sentence: str) -> str | None:
    """Name the kind of boilerplate ``sentence`` is ("byline", "caption", ...), or ``None``."""
    stripped = sentence.strip()
    if not stripped:
        return "empty"
    m = _ANCHORED_RE.match(stripped)
    if m and m.lastgroup:
        return _ANCHORED_KINDS[m.lastgroup]
    m = _ANYWHERE_RE.search(stripped) if ("(" in stripped or "|" in stripped) else None
    if m and m.lastgroup:
        return _ANYWHERE_KINDS[m.lastgroup]
    if _CREDIT_TAIL_RE.search(stripped[-40:]):
        return "credit"
    if len(stripped) <= 40 and stripped.upper() == stripped and sum(c.isupper() for c in stripped) >= 2:
        return "heading"  # a section heading in capitals: "TALKS?"
    if stripped[-1] not in _FINAL_PUNCT and stripped.count(" ") >= 7:
        return "caption"
    return None


# --------------------------------------------------------------------------------------------------
# Words

_WORD_RE = re.compile(r"\w+(?:['’.-]\w+)*")


def word_tokens(sentence: str) -> list[str]:
    """The words of a sentence (letters and digits, keeping inner apostrophes, dots and hyphens)."""
    return _WORD_RE.findall(sentence)
