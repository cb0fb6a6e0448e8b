"""Value types returned by the summarizer's public API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        """The quote as plain JSON values (every field, by name); :meth:`from_dict` reads it back."""
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "speaker": self.speaker,
            "cue": self.cue,
            "speaker_start": self.speaker_start,
            "speaker_end": self.speaker_end,
            "role": self.role,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quote:
        """The quote of :meth:`to_dict`'s form. A field missing (JSON stored before it existed) takes its default;
        ``text``, ``start`` and ``end`` are required (``KeyError`` names the one missing)."""
        return cls(
            text=str(data["text"]),
            start=int(data["start"]),
            end=int(data["end"]),
            speaker=_optional_str(data.get("speaker")),
            cue=_optional_str(data.get("cue")),
            speaker_start=_optional_int(data.get("speaker_start")),
            speaker_end=_optional_int(data.get("speaker_end")),
            role=_optional_str(data.get("role")),
            score=float(data.get("score") or 0.0),
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """An extractive summary of one article."""

    sentences: tuple[str, ...]
    quotes: tuple[Quote, ...]
    algorithm: str
    language: str = "english"

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values: ``{"sentences": [...], "quotes": [Quote.to_dict(), ...],
        "algorithm": ..., "language": ...}``; :meth:`from_dict` reads it back."""
        return {
            "sentences": list(self.sentences),
            "quotes": [quote.to_dict() for quote in self.quotes],
            "algorithm": self.algorithm,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """The summary of :meth:`to_dict`'s form (also as stored before a field existed: a missing field takes
        its default, a missing algorithm is ``""``)."""
        return cls(
            sentences=tuple(str(s) for s in data.get("sentences") or ()),
            quotes=tuple(Quote.from_dict(q) for q in data.get("quotes") or ()),
            algorithm=str(data.get("algorithm") or ""),
            language=str(data.get("language") or "english"),
        )


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


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
