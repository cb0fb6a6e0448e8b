"""A sumy tokenizer object built on nupunkt: works offline, no NLTK data download."""

from __future__ import annotations

from summarizer._languages import language_tools
from summarizer._text import normalize, split_sentences, word_tokens

__all__ = ["OfflineTokenizer"]


class OfflineTokenizer:
    """Duck-types ``sumy.nlp.tokenizers.Tokenizer``: ``language``, ``to_sentences``, ``to_words``.

    Sentences come from nupunkt (never across a paragraph break); words are runs of letters and
    digits. Usable with sumy's own parsers, e.g. ``PlaintextParser.from_string(text, OfflineTokenizer())``.
    """

    def __init__(self, language: str = "english") -> None:
        self._language = language_tools(language).name

    @property
    def language(self) -> str:
        return self._language

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.text for s in split_sentences(normalize(paragraph).text))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(word_tokens(sentence))
