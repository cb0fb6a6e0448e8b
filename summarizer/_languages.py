"""Languages: sumy's stemmers and stop words, behind one validated entry point."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

__all__ = ["LANGUAGES", "LanguageTools", "detect_language", "language_name", "language_tools"]

# Languages for which sumy ships stop words and a stemmer that needs no extra package, and whose words
# are separated by spaces (our offline tokenizer splits on word characters).
LANGUAGES: tuple[str, ...] = (
    "czech",
    "english",
    "french",
    "german",
    "greek",
    "italian",
    "polish",
    "portuguese",
    "slovak",
    "spanish",
    "swedish",
    "ukrainian",
)

_ALIASES = {
    "cs": "czech",
    "ces": "czech",
    "cze": "czech",
    "en": "english",
    "eng": "english",
    "fr": "french",
    "fra": "french",
    "fre": "french",
    "de": "german",
    "deu": "german",
    "ger": "german",
    "el": "greek",
    "ell": "greek",
    "gre": "greek",
    "it": "italian",
    "ita": "italian",
    "pl": "polish",
    "pol": "polish",
    "pt": "portuguese",
    "por": "portuguese",
    "sk": "slovak",
    "slk": "slovak",
    "slo": "slovak",
    "es": "spanish",
    "spa": "spanish",
    "sv": "swedish",
    "swe": "swedish",
    "uk": "ukrainian",
    "ukr": "ukrainian",
}

_STEM_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class LanguageTools:
    """A language's name, a memoizing stemmer, its stop words and a memoized content-word stemmer.

    ``content_stem(word)`` is the stem of the lower-cased word, or ``""`` for a stop word or a
    one-character word: one dictionary look-up per word on the hot path.
    """

    name: str
    stem: Callable[[str], str]
    stop_words: frozenset[str]
    content_stem: Callable[[str], str]


def _normalize_name(language: str) -> str:
    if not isinstance(language, str):
        raise ValueError(f"language must be a string, got {type(language).__name__}")
    key = language.strip().lower()
    return _ALIASES.get(key, key)


class _Memo(dict[str, str]):
    """A bounded memo whose misses are computed by ``compute``: hits cost one C-level dict look-up."""

    def __init__(self, compute: Callable[[str], str]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, word: str) -> str:
        found = self._compute(word)
        if len(self) < _STEM_CACHE_LIMIT:
            self[word] = found
        return found


@cache
def _tools(name: str) -> LanguageTools:
    # sumy (and through it nltk) is imported here, when a language's tools are first needed: naming or validating
    # a language stays cheap
    from summarizer._sumy import Stemmer, get_stop_words

    stemmer = Stemmer(name)
    stems = _Memo(lambda word: str(stemmer(word.lower())))
    stop_words = frozenset(get_stop_words(name))

    def content(word: str) -> str:
        lower = word.lower()
        return "" if len(lower) < 2 or lower in stop_words else stems[lower]

    return LanguageTools(
        name=name,
        stem=stems.__getitem__,
        stop_words=stop_words,
        content_stem=_Memo(content).__getitem__,
    )


def language_tools(language: str) -> LanguageTools:
    """Return the stemmer and stop words of ``language`` (a name such as "english" or a code such as "de").

    Raises ``ValueError`` naming the supported languages when ``language`` is not one of them.
    """
    return _tools(language_name(language))


def language_name(language: str) -> str:
    """The supported language ``language`` names ("de" -> "german"); ``ValueError`` naming the supported ones.

    Cheap: it loads no stemmer or stop words."""
    name = _normalize_name(language)
    if name not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    return name


_LETTERS_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
DETECT_CHARS = 5_000
""":func:`detect_language` reads at most this many characters."""
MIN_DETECT_WORDS = 8
MIN_STOP_SHARE = 0.12


_MISSING_STOP_WORDS: dict[str, frozenset[str]] = {
    "spanish": frozenset(["de", "del", "y", "a", "que", "se", "este", "al", "le", "más", "no", "son"]),
    "french": frozenset(["de", "un", "une", "a", "aux", "cette", "ne", "plus", "se"]),
}
"""The most frequent function words that sumy's lists lack (its Spanish list has no "de", "y" or "que")."""


@cache
def _detection_words(name: str) -> frozenset[str]:
    return _tools(name).stop_words | _MISSING_STOP_WORDS.get(name, frozenset())


def detect_language(text: str, default: str = "english", candidates: Sequence[str] = LANGUAGES) -> str:
    """The language of ``text``: the one among ``candidates`` whose stop words (sumy's lists) make up the largest
    share of its words, that share divided by the logarithm of the list's length (long lists match more words by
    chance); ``default`` for a text under 8 words or when that language's share is under 12%.

    Cheap (one pass over at most :data:`DETECT_CHARS` characters) and without a model: enough to tell the
    languages sumy supports apart on a news article, not to classify a sentence.
    """
    words = [w.lower().replace("’", "'") for w in _LETTERS_RE.findall(text[:DETECT_CHARS])]
    if len(words) < MIN_DETECT_WORDS:
        return language_name(default)
    counts = Counter(words)
    best, best_score, best_share = language_name(default), 0.0, 0.0
    for name in candidates:
        stops = _detection_words(language_name(name))
        share = sum(n for w, n in counts.items() if w in stops) / len(words)
        score = share / math.log(max(len(stops), 2))  # long lists (English, Italian: ~600 words) match more by chance
        if score > best_score:
            best, best_score, best_share = language_tools(name).name, score, share
    return best if best_share >= MIN_STOP_SHARE else language_name(default)
