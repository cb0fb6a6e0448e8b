"""Languages: sumy's stemmers and stop words, behind one validated entry point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sumy.nlp.stemmers import Stemmer
from sumy.utils import get_stop_words

__all__ = ["LANGUAGES", "LanguageTools", "language_tools"]

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
    "cs": "czech", "ces": "czech", "cze": "czech",
    "en": "english", "eng": "english",
    "fr": "french", "fra": "french", "fre": "french",
    "de": "german", "deu": "german", "ger": "german",
    "el": "greek", "ell": "greek", "gre": "greek",
    "it": "italian", "ita": "italian",
    "pl": "polish", "pol": "polish",
    "pt": "portuguese", "por": "portuguese",
    "sk": "slovak", "slk": "slovak", "slo": "slovak",
    "es": "spanish", "spa": "spanish",
    "sv": "swedish", "swe": "swedish",
    "uk": "ukrainian", "ukr": "ukrainian",
}  # fmt: skip

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
    name = _normalize_name(language)
    if name not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    return _tools(name)
