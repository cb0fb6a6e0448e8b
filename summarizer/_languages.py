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
    """A language's name, a memoizing stemmer and its stop words."""

    name: str
    stem: Callable[[str], str]
    stop_words: frozenset[str]


def _normalize_name(language: str) -> str:
    if not isinstance(language, str):
        raise ValueError(f"language must be a string, got {type(language).__name__}")
    key = language.strip().lower()
    return _ALIASES.get(key, key)


@cache
def _tools(name: str) -> LanguageTools:
    stemmer = Stemmer(name)
    cache: dict[str, str] = {}

    def stem(word: str) -> str:
        found = cache.get(word)
        if found is None:
            found = stemmer(word.lower())
            if len(cache) < _STEM_CACHE_LIMIT:
                cache[word] = found
        return found

    return LanguageTools(name=name, stem=stem, stop_words=frozenset(get_stop_words(name)))


def language_tools(language: str) -> LanguageTools:
    """Return the stemmer and stop words of ``language`` (a name such as "english" or a code such as "de").

    Raises ``ValueError`` naming the supported languages when ``language`` is not one of them.
    """
    name = _normalize_name(language)
    if name not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    return _tools(name)
