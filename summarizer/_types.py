"""Value types returned by the summarizer's public API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Quote:
    """A direct quotation found in an article.

    ``start``/``end`` are offsets of the quoted words (quotation marks excluded) in the exact string
    the caller passed in; for a quote split by an attribution (``"A," he said, "B."``) they span from
    the first to the last quoted character and ``text`` joins the parts with a space.
    ``speaker_start``/``speaker_end`` point at the mention the speaker was taken from (a name or a
    pronoun), or are ``None`` when no speaker was found. ``speaker`` is the display name: the fullest
    name the article gives, with a role when one is stated ("Kremlin spokesman Dmitry Peskov"), or
    ``None`` when the speaker could not be resolved to a name.
    """

    text: str
    start: int
    end: int
    speaker: str | None = None
    cue: str | None = None
    speaker_start: int | None = None
    speaker_end: int | None = None
    role: str | None = None
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Summary:
    """An extractive summary of one article."""

    sentences: tuple[str, ...]
    quotes: tuple[Quote, ...]
    algorithm: str
    language: str = "english"


@dataclass(frozen=True, slots=True)
class Article:
    """One outlet's article, the input of :func:`summarizer.brief_story`."""

    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published_at: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    """An outlet that carried a story."""

    outlet: str | None
    url: str | None
    title: str | None = None
    published_at: str | None = None


@dataclass(frozen=True, slots=True)
class StoryBrief:
    """A story told by one or more outlets, condensed."""

    headline: str | None
    sentences: tuple[str, ...]
    quotes: tuple[Quote, ...]
    sources: tuple[SourceRef, ...] = field(default_factory=tuple)
