"""``summarize`` and ``brief_story``: the public entry points of the summarizer."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sumy.models.dom import ObjectDocumentModel, Paragraph
from sumy.models.dom import Sentence as SumySentence

from summarizer._languages import LanguageTools, language_tools
from summarizer._quotes import extract_quotes, ngrams, rank_quotes
from summarizer._rankers import ALGORITHMS, Budget, DefaultSummarizer, StemCache, build_summarizer, jaccard
from summarizer._text import Sentence, normalize, split_sentences, word_tokens
from summarizer._tokenizer import OfflineTokenizer
from summarizer._types import Article, Quote, SourceRef, StoryBrief, Summary

__all__ = ["ALGORITHMS", "brief_story", "summarize"]

# Quadratic sumy algorithms only see this many sentences, so that no input can make them hang.
_MAX_SENTENCES = 400
# Boilerplate kinds that stay candidates (a photo caption that is a whole sentence often tells the news).
_KEEP = frozenset({"pictured"})
_QUADRATIC = frozenset({"lexrank", "textrank", "lsa", "reduction"})
_CROSS_SOURCE_DUPLICATE = 0.5  # stem Jaccard at which two outlets' sentences state the same fact
_CROSS_SOURCE_CONTAINMENT = 0.6  # ...or the share of the shorter sentence's stems the other one carries
_PER_ARTICLE = 25  # best sentences of each article that compete in a multi-outlet brief


@dataclass(slots=True)
class _Analysis:
    """One article prepared for ranking: its sentences, sumy document and stems."""

    sentences: list[Sentence]  # candidate sentences (boilerplate and repeats dropped), in order
    document: ObjectDocumentModel
    sumy_sentences: list[SumySentence]  # parallel to ``sentences``
    stems: StemCache
    tools: LanguageTools


_QUOTED = re.compile(r'"\s*([^"]*?)\s*"')


def _french_marks(sentence: str) -> str:
    """``" Nous verrons "`` (normalized guillemets with their spaces) as ``"Nous verrons"``: the marks are
    paired in order (a sentence with an odd number of them is never shown)."""
    return _QUOTED.sub(r'"\1"', sentence) if '" ' in sentence or ' "' in sentence else sentence


def _check_count(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _analyze(text: str, title: str | None, tools: LanguageTools, limit: int | None) -> _Analysis:
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a string or None, got {type(title).__name__}")
    tokenizer = OfflineTokenizer(tools.name)
    all_sentences = split_sentences(normalize(text).text)
    if tools.name == "french":  # « guillemets » are set off by spaces: "« Nous »" reads "Nous" once normalized
        all_sentences = [dataclasses.replace(s, text=_french_marks(s.text)) for s in all_sentences]
    candidates = [
        s for s in all_sentences if (s.boilerplate is None or s.boilerplate in _KEEP) and s.text.count('"') % 2 == 0
    ]  # a sentence cut inside a quotation (an odd number of marks) is never shown
    if not candidates:  # nothing but boilerplate-like text: better something than nothing
        candidates = [s for s in all_sentences if s.boilerplate != "empty"]
    paragraphs: list[Paragraph] = []
    if title and title.strip():
        paragraphs.append(Paragraph([SumySentence(normalize(title).text.strip(), tokenizer, is_heading=True)]))
    seen: set[str] = set()
    if title and title.strip():
        # the page's headline repeated as the first line of the body is not a summary sentence
        seen.add(" ".join(SumySentence(normalize(title).text.strip(), tokenizer).words).lower())
    kept: list[Sentence] = []
    sumy_sentences: list[SumySentence] = []
    current: list[SumySentence] = []
    last_paragraph = -1
    for s in candidates:
        node = SumySentence(s.text, tokenizer)
        key = " ".join(node.words).lower()  # a sentence repeated verbatim (a caption restating the lead)
        if not key or key in seen:
            continue
        seen.add(key)
        if s.paragraph != last_paragraph and current:
            paragraphs.append(Paragraph(current))
            current = []
        last_paragraph = s.paragraph
        current.append(node)
        sumy_sentences.append(node)
        kept.append(s)
        if limit is not None and len(kept) >= limit:
            break
    if current:
        paragraphs.append(Paragraph(current))
    return _Analysis(kept, ObjectDocumentModel(paragraphs), sumy_sentences, StemCache(tools), tools)


def _significant_words(analysis: _Analysis, n: int = 10) -> list[str]:
    counts: Counter[str] = Counter()
    for node in analysis.sumy_sentences:
        counts.update(w.lower() for w in node.words if w.lower() not in analysis.tools.stop_words)
    return [w for w, _ in counts.most_common(n)]


def _rank(
    analysis: _Analysis,
    algorithm: str,
    *,
    sentences: int | None,
    max_words: int | None,
    max_chars: int | None,
) -> list[int]:
    """Indices (into ``analysis.sentences``) of the chosen sentences, in article order."""
    if not analysis.sentences or sentences == 0:
        return []
    budget = Budget(analysis.stems, sentences=sentences, max_words=max_words, max_chars=max_chars)
    summarizer = build_summarizer(algorithm, analysis.tools, lambda: _significant_words(analysis), stems=analysis.stems)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # sumy's LSA warns on tiny documents and LexRank divides by zero on degenerate ones.
            warnings.simplefilter("ignore")
            chosen = summarizer(analysis.document, budget)
    except (ValueError, ZeroDivisionError, IndexError, np.linalg.LinAlgError):
        # Degenerate documents (one sentence, no content words) defeat some sumy algorithms: take the lead.
        lead = build_summarizer("lead", analysis.tools)
        chosen = lead(analysis.document, budget)
    position = {id(node): i for i, node in enumerate(analysis.sumy_sentences)}
    return sorted(position[id(node)] for node in chosen if id(node) in position)


def summarize(
    text: str,
    *,
    title: str | None = None,
    sentences: int = 3,
    quotes: int = 2,
    algorithm: str = "default",
    language: str = "english",
    max_words: int | None = None,
    max_chars: int | None = None,
) -> Summary:
    """Summarize one article extractively.

    ``sentences`` caps the number of sentences; ``max_words`` / ``max_chars`` optionally cap the
    summary's length as well (the first sentence chosen is always kept). Sentences come back in
    article order, normalized (straight quotes, single spaces), never two near-duplicates.
    ``quotes`` is how many key quotes to return: quotes attributed to a named speaker, most important
    first. ``algorithm`` is one of :data:`ALGORITHMS`.

    Raises ``ValueError`` for a non-string text, an unknown algorithm, an unsupported language or a
    negative budget. Empty or unusable text gives an empty summary, not an error.
    """
    _check_count("sentences", sentences)
    _check_count("quotes", quotes)
    _check_count("max_words", max_words, allow_none=True)
    _check_count("max_chars", max_chars, allow_none=True)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of: {', '.join(ALGORITHMS)}")
    tools = language_tools(language)
    limit = _MAX_SENTENCES if algorithm in _QUADRATIC else None
    analysis = _analyze(text, title, tools, limit)
    chosen = _rank(analysis, algorithm, sentences=sentences, max_words=max_words, max_chars=max_chars)
    picked = tuple(analysis.sentences[i].text for i in chosen)
    key_quotes: tuple[Quote, ...] = ()
    if quotes:
        story_words = {w.lower() for s in picked for w in word_tokens(s)}
        if title:
            story_words.update(w.lower() for w in word_tokens(title))
        shown = (title, *picked) if title else picked
        found = extract_quotes(text, tools.name, title=title)
        key_quotes = rank_quotes(found, text, story_words, limit=quotes, shown=shown, language=tools.name)
    return Summary(sentences=picked, quotes=key_quotes, algorithm=algorithm, language=tools.name)


# --------------------------------------------------------------------------------------------------
# Several outlets, one story

_SPACE_RE = re.compile(r"\s+")


def _as_article(item: Article | Mapping[str, Any] | str, index: int) -> Article:
    if isinstance(item, Article):
        return item
    if isinstance(item, str):
        return Article(text=item)
    if isinstance(item, Mapping):
        text = item.get("text")
        if not isinstance(text, str):
            raise ValueError(f"articles[{index}] has no text")
        return Article(
            text=text,
            title=item.get("title"),
            outlet=item.get("outlet"),
            url=item.get("url"),
            published_at=item.get("published_at"),
        )
    raise ValueError(f"articles[{index}] must be an Article, a mapping or a string, got {type(item).__name__}")


def _same_fact(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sentences (content stems) say the same thing, as outlets rewording one report do."""
    if jaccard(a, b) >= _CROSS_SOURCE_DUPLICATE:
        return True
    smaller = min(len(a), len(b))
    return smaller >= 5 and len(a & b) / smaller >= _CROSS_SOURCE_CONTAINMENT


def _quote_key(q: Quote) -> frozenset[str]:
    return frozenset(w.lower() for w in word_tokens(q.text))


def brief_story(
    articles: Iterable[Article | Mapping[str, Any] | str],
    *,
    sentences: int = 3,
    quotes: int = 1,
    language: str = "english",
) -> StoryBrief:
    """Condense one story told by several outlets.

    Sentences are ranked within each article by the default ranker, a sentence carried by several
    outlets gains weight and appears once, and key quotes are deduplicated across outlets.
    ``articles`` are :class:`Article` objects (or mappings with the same keys, or plain texts), the
    most relevant first. Raises ``ValueError`` for bad items or budgets.
    """
    _check_count("sentences", sentences)
    _check_count("quotes", quotes)
    tools = language_tools(language)
    items = [_as_article(a, i) for i, a in enumerate(articles)]

    # (score, article index, sentence index, text, stems)
    pool: list[tuple[float, int, int, str, frozenset[str]]] = []
    for a_index, art in enumerate(items):
        analysis = _analyze(art.text, art.title, tools, _MAX_SENTENCES)
        ratings = DefaultSummarizer(tools, stems=analysis.stems).rate_sentences(analysis.document)
        best = sorted(range(len(analysis.sumy_sentences)), key=lambda i: -ratings[analysis.sumy_sentences[i]])
        for s_index in sorted(best[:_PER_ARTICLE]):
            node = analysis.sumy_sentences[s_index]
            pool.append((ratings[node], a_index, s_index, analysis.sentences[s_index].text, analysis.stems(node)))

    # Corroboration: a sentence that other outlets also carry is more likely the core of the story.
    boosted: list[tuple[float, int, int, str, frozenset[str]]] = []
    for entry in pool:
        others = {o[1] for o in pool if o[1] != entry[1] and _same_fact(entry[4], o[4])}
        boosted.append((entry[0] + 0.3 * len(others), *entry[1:]))
    boosted.sort(key=lambda e: (-e[0], e[1], e[2]))

    chosen: list[tuple[float, int, int, str, frozenset[str]]] = []
    chosen_grams: set[tuple[str, ...]] = set()
    for entry in boosted:
        if len(chosen) >= sentences:
            break
        grams = ngrams(entry[3])
        if any(_same_fact(entry[4], c[4]) for c in chosen) or not chosen_grams.isdisjoint(grams):
            continue  # the same fact, or the same 8 words, told twice
        chosen.append(entry)
        chosen_grams |= grams
    chosen.sort(key=lambda e: (e[2], e[1]))  # leads first: position in its article, then outlet order

    key_quotes: list[Quote] = []
    if quotes:
        story_words = {w.lower() for c in chosen for w in word_tokens(c[3])}
        ranked: list[Quote] = []
        shown = tuple(c[3] for c in chosen) + tuple(a.title for a in items[:1] if a.title)
        for art in items:
            found = extract_quotes(art.text, tools.name, title=art.title)
            ranked.extend(rank_quotes(found, art.text, story_words, shown=shown, language=tools.name))
        ranked.sort(key=lambda q: -q.score)
        seen: list[frozenset[str]] = []
        for q in ranked:
            key = _quote_key(q)
            if any(jaccard(key, k) >= 0.6 for k in seen):
                continue
            seen.append(key)
            key_quotes.append(q)
            if len(key_quotes) >= quotes:
                break

    sources: list[SourceRef] = []
    seen_urls: set[str] = set()
    for art in items:
        if art.url and art.url in seen_urls:
            continue
        if art.url:
            seen_urls.add(art.url)
        sources.append(SourceRef(outlet=art.outlet, url=art.url, title=art.title, published_at=art.published_at))

    headline = next((_SPACE_RE.sub(" ", a.title).strip() for a in items if a.title and a.title.strip()), None)
    return StoryBrief(
        headline=headline,
        sentences=tuple(c[3] for c in chosen),
        quotes=tuple(key_quotes),
        sources=tuple(sources),
    )
