"""Building a :class:`Briefing`: search -> group by story -> rank stories -> one :class:`StoryBrief` each.

Ranking (documented in :func:`story_score`): a blend of relevance, coverage and recency. Per story, the text
comes from the summaries stored at ingest: :func:`summarizer.brief_story` runs only for a story told by several
articles, on the stored summary sentences (and titles) of the (at most :data:`BRIEF_ARTICLES`) most relevant
ones, never on full texts nor on the whole archive. The work per briefing is bounded: at most ``candidates``
search hits (the store searches only the window: ``seen_since``), ``limit`` stories briefed, and at most
:data:`STORY_ARTICLES` further articles read per story.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import summarizer
from bot.briefing._types import Briefing, NoMatch, QuoteRef, SourceLink, StoryBrief
from bot.store import Article, DigestFilter, Store, Story

DEFAULT_WINDOW = timedelta(hours=72)
"""How far back ``/brief`` searches unless told otherwise."""
CANDIDATES = 100
"""Search hits considered per briefing (best first); ``more`` counts stories among these."""
BRIEF_ARTICLES = 3
"""At most this many articles of one story (the most relevant) are condensed by :func:`summarizer.brief_story`."""
STORY_ARTICLES = 30
"""At most this many of a story's other articles in the window (the newest) are read for its sources."""
SENTENCES = 3
"""Sentences per story (2-3 when the articles have that many)."""
HALF_LIFE = timedelta(hours=24)
"""Recency half-life: a story last reported this long ago gets half the recency credit of a fresh one."""
WEIGHT_RELEVANCE = 0.45
WEIGHT_COVERAGE = 0.30
WEIGHT_RECENCY = 0.25
MAX_SUGGESTIONS = 3
ALIKE = 0.6
"""The :mod:`difflib` similarity from which a topic name counts as alike the query (``get_close_matches``' cutoff):
below it the similarity says nothing, and ordering by it would look random."""

PRONOUNS = frozenset(
    {
        "he",
        "she",
        "they",
        "i",
        "we",
        "it",
        "you",
        "him",
        "her",
        "them",
        "us",
        "me",
        "one",
        "his",
        "hers",
        "their",
        "theirs",
        "its",
        "our",
        "ours",
        "my",
        "mine",
        "your",
        "yours",
        "someone",
        "somebody",
        "anyone",
    }
)
"""Words that never count as a named speaker."""

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


@dataclass
class _Group:
    """The hits of one story (or one story-less article), best first."""

    key: str
    story_id: str | None
    hits: list[tuple[Article, float]] = field(default_factory=list)

    @property
    def best(self) -> float:
        return self.hits[0][1]

    @property
    def outlets(self) -> int:
        return len({a.outlet for a, _ in self.hits})

    @property
    def newest(self) -> datetime:
        return max(reported_at(a) for a, _ in self.hits)


def reported_at(article: Article) -> datetime:
    """When an article was reported: its publication date, but never later than when we first saw it (a date in
    the future is a feed's mistake); its first sight when undated."""
    if article.published_at is None:
        return article.first_seen
    return min(article.published_at, article.first_seen)


def story_score(*, relevance: float, outlets: int, age: timedelta) -> float:
    """The rank of a story (higher first), in [0, 1]:

    ``0.45 * relevance + 0.30 * (1 - 1 / outlets) + 0.25 * 0.5 ** (age / 24 h)``

    - ``relevance``: the story's best search score divided by the best score of the whole search (so 1.0 for the
      top hit; bm25 and ``ts_rank`` scales both become comparable);
    - coverage ``1 - 1/outlets``: distinct outlets among the story's matching articles (0 for one outlet, 0.5 for
      two, 0.67 for three: diminishing returns);
    - recency: halves every :data:`HALF_LIFE` since the story's newest matching article (see :func:`reported_at`).
    """
    hours = max(age.total_seconds(), 0.0) / 3600.0
    recency: float = 0.5 ** (hours / (HALF_LIFE.total_seconds() / 3600.0))
    coverage = 1.0 - 1.0 / max(outlets, 1)
    return WEIGHT_RELEVANCE * relevance + WEIGHT_COVERAGE * coverage + WEIGHT_RECENCY * recency


def resolve_topic(query_or_topic: str, topics: Mapping[str, str]) -> tuple[str | None, str]:
    """``(topic name, search query)``: a configured topic (matched case-insensitively) or the free text itself."""
    wanted = query_or_topic.strip()
    for name, query in topics.items():
        if name.casefold() == wanted.casefold():
            return name, query
    return None, wanted


def suggest_topics(query: str, topics: Mapping[str, str], *, exclude: str | None = None) -> tuple[str, ...]:
    """Up to :data:`MAX_SUGGESTIONS` configured topic names closest to ``query``.

    A topic whose own query mentions one of the words asked for comes first; then names alike the query (a typo:
    :mod:`difflib` similarity of at least :data:`ALIKE`), most alike first; then by name, so that the suggestions
    for a query like none of them are always the same. ``exclude`` (the topic just searched) is never suggested.
    """
    asked = {w.casefold() for w in _WORD.findall(query)}
    wanted = query.strip().casefold()
    ranked: list[tuple[int, float, str]] = []
    for name, topic_query in topics.items():
        if exclude is not None and name == exclude:
            continue
        mentions = 1 if asked & {w.casefold() for w in _WORD.findall(f"{name} {topic_query}")} else 0
        ratio = difflib.SequenceMatcher(None, wanted, name.casefold()).ratio()
        ranked.append((mentions, ratio if ratio >= ALIKE else 0.0, name))
    ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
    return tuple(name for _, _, name in ranked[:MAX_SUGGESTIONS])


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _named_speaker(speaker: Any) -> str | None:
    if not isinstance(speaker, str):
        return None
    name = _clean(speaker)
    if not name or not any(ch.isalpha() for ch in name):
        return None
    if name.casefold() in PRONOUNS or all(w.casefold() in PRONOUNS for w in _WORD.findall(name)):
        return None
    return name


def _stored_sentences(article: Article) -> list[str]:
    raw = (article.summary or {}).get("sentences") or []
    return [_clean(s) for s in raw if isinstance(s, str) and s.strip()]


def _key_quote(articles: Iterable[Article]) -> QuoteRef | None:
    """The first stored quote with a named speaker, most relevant article first, most important quote first."""
    for article in articles:
        for quote in (article.summary or {}).get("quotes") or []:
            if not isinstance(quote, Mapping):
                continue
            speaker = _named_speaker(quote.get("speaker"))
            text = _clean(str(quote.get("text") or "")).rstrip(",;:").strip()
            if speaker and text:
                return QuoteRef(text=text, speaker=speaker)
    return None


def _brief_input(article: Article) -> summarizer.Article:
    """What :func:`summarizer.brief_story` reads of an article: its stored summary sentences, one paragraph each
    (the sentences ingest already chose from the full text, so a story is condensed from a dozen sentences,
    not from whole pages), and its title; the full text only when nothing is stored."""
    stored = _stored_sentences(article)
    text = "\n\n".join(stored) if stored else article.text
    return summarizer.Article(text=text, title=article.title or None, outlet=article.outlet, url=article.url)


def _language(article: Article) -> str:
    """The language an article was summarized in at ingest (its feed's, or detected); English when unknown."""
    return article.language or "english"


def _sentences(ranked: Sequence[Article]) -> tuple[str, ...]:
    """2-3 sentences: the stored summary of a lone article; ``brief_story`` over the stored summaries of the best
    few articles of a story."""
    if len(ranked) > 1:
        picked = [a for a in ranked if _stored_sentences(a) or a.text.strip()][:BRIEF_ARTICLES]
        if len(picked) > 1:
            inputs = [_brief_input(a) for a in picked]
            condensed = summarizer.brief_story(inputs, sentences=SENTENCES, quotes=0, language=_language(picked[0]))
            if condensed.sentences:
                return tuple(_clean(s) for s in condensed.sentences)
    for article in ranked:
        stored = _stored_sentences(article)
        if stored:
            return tuple(stored[:SENTENCES])
    # No stored summary (an article stored before summarizing): summarize just this one.
    best = next((a for a in ranked if a.text.strip()), None)
    if best is None:
        return ()
    fresh = summarizer.summarize(
        best.text, title=best.title or None, sentences=SENTENCES, quotes=0, language=_language(best)
    )
    return tuple(_clean(s) for s in fresh.sentences)


def _sources(ranked: Sequence[Article]) -> tuple[SourceLink, ...]:
    """One link per outlet (its most relevant article), newest first; the same URL never twice."""
    chosen: dict[str, Article] = {}
    urls: set[str] = set()
    for article in ranked:
        if article.outlet in chosen or article.canonical_url in urls:
            continue
        chosen[article.outlet] = article
        urls.add(article.canonical_url)
    ordered = sorted(chosen.values(), key=lambda a: (reported_at(a), a.outlet), reverse=True)
    return tuple(SourceLink(outlet=a.outlet, url=a.url, published_at=a.published_at) for a in ordered)


def _story_brief(
    group: _Group,
    members: tuple[Story, list[Article]] | None,
    *,
    follows: str | None = None,
    posted_at: datetime | None = None,
) -> StoryBrief:
    """Brief one group of hits; ``members`` are its story and the story's other articles in the window (ones
    that did not match the words, newest first: :meth:`bot.store.Store.story_members`), which are sources too.
    ``follows``: the headline of the story it follows up; ``posted_at``: when the digest being made last carried
    the story, whose articles since then (what is new) then give the headline, the sentences, the quote and each
    outlet's link."""
    ranked = [a for a, _ in group.hits]
    first_seen = min(a.first_seen for a in ranked)
    outlets = {a.outlet for a in ranked if a.outlet}
    if members is not None:
        story, extra = members
        first_seen = min(first_seen, story.first_seen)  # the story began with its first article, maybe earlier
        ranked.extend(sorted(extra, key=lambda a: (reported_at(a), a.id), reverse=True))
        outlets.update(a.outlet for a in extra if a.outlet)
        outlets.update(story.outlets)  # all its articles', also those before the window
    news = [a for a in ranked if posted_at is not None and a.first_seen > posted_at]
    told = news + [a for a in ranked if a not in news] if news else ranked
    headline = next((_clean(a.title) for a in told if a.title.strip()), "") or "(untitled)"
    return StoryBrief(
        headline=headline,
        sentences=_sentences(news) or _sentences(ranked),
        quote=_key_quote(told),
        sources=_sources(told),
        first_seen=first_seen,
        story_id=group.story_id,
        outlets=len(outlets),
        follows=follows,
    )


def make_briefing(
    store: Store,
    query_or_topic: str,
    *,
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    limit: int = 5,
    candidates: int = CANDIDATES,
    digest: DigestFilter | None = None,
) -> Briefing | NoMatch:
    """The briefing for a configured topic (name matched case-insensitively) or free words, as of ``now``.

    Searches the store (words, ``"phrases"``, ``OR``, ``-exclusion``) for articles reported within ``window``
    before ``now`` (published, or first seen when undated, and first seen, at or after ``now - window``), keeps
    the best ``candidates`` hits, groups them by story (an article without a story stands alone), ranks the
    stories by :func:`story_score` and briefs the top ``limit``; ``more`` is how many further stories matched.
    ``digest`` (a subscription's digest; ``/brief`` has none) leaves out, in the search itself, the articles that
    digest may not carry, so they are neither ranked nor counted. Nothing found: a :class:`NoMatch` naming the
    window and the configured topics closest to the query.
    """
    if now.tzinfo is None:
        raise ValueError("make_briefing: now must be timezone-aware")
    if window <= timedelta(0):
        raise ValueError(f"make_briefing: window must be positive, got {window}")
    if limit < 1:
        raise ValueError(f"make_briefing: limit must be at least 1, got {limit}")
    asked = _clean(query_or_topic)
    topic, query = resolve_topic(asked, topics)
    window_hours = window.total_seconds() / 3600.0
    cutoff = now - window

    # Reported and first seen within the window; the store reads the window's rows only (seen_since).
    hits = store.search(query, since=cutoff, seen_since=cutoff, limit=max(candidates, limit), digest=digest)
    if not hits:
        return NoMatch(query=asked, window_hours=window_hours, suggestions=suggest_topics(asked, topics, exclude=topic))

    groups: dict[str, _Group] = {}
    for article, score in hits:  # best first, so each group's hits are best first too
        key = f"story:{article.story_id}" if article.story_id else f"article:{article.id}"
        groups.setdefault(key, _Group(key=key, story_id=article.story_id)).hits.append((article, score))

    top = max(s for _, s in hits)

    ordered = sorted(groups.values(), key=lambda g: _sort_key(g, top, now))
    chosen = ordered[:limit]
    # One read for every chosen story: at most STORY_ARTICLES further articles each (a story running for weeks
    # can have hundreds).
    members = store.story_members(
        (g.story_id for g in chosen if g.story_id is not None),
        since=cutoff,
        limit=STORY_ARTICLES,
        exclude=(a.id for g in chosen for a, _ in g.hits),
    )
    # threads: the headline of the story each one follows up; in a digest, when it last carried each story
    earlier = {story_id: story.follows for story_id, (story, _) in members.items() if story.follows}
    headlines = store.story_headlines(earlier.values()) if earlier else {}
    ids = [g.story_id for g in chosen if g.story_id is not None]
    posted = store.posted_story_times(digest.subscription_id, ids) if digest is not None and ids else {}
    stories = tuple(
        _story_brief(
            g,
            members.get(g.story_id) if g.story_id else None,
            follows=headlines.get(earlier.get(g.story_id or "", "")),
            posted_at=posted.get(g.story_id or ""),
        )
        for g in chosen
    )
    return Briefing(
        query=asked,
        generated_at=now,
        stories=stories,
        more=max(len(ordered) - limit, 0),
        window_hours=window_hours,
        topic=topic,
    )


def brief_story(store: Store, story_id: str, *, now: datetime, window: timedelta = DEFAULT_WINDOW) -> StoryBrief | None:
    """One story's brief by its id (an alias: the story it was merged into), as :func:`make_briefing` briefs a
    story but without a search: from its newest :data:`STORY_ARTICLES` articles first seen within ``window``
    before ``now`` (newest first: the newest titled one gives the headline). ``None`` when there is no such story
    or none of its articles is in the window. What a live alert's edit shows of a story it no longer finds among
    its topic's best hits."""
    if now.tzinfo is None:
        raise ValueError("brief_story: now must be timezone-aware")
    story = store.get_story(story_id)
    if story is None:
        return None
    found = store.story_members([story.id], since=now - window, limit=STORY_ARTICLES).get(story.id)
    if found is None or not found[1]:
        return None
    current, articles = found
    group = _Group(key=f"story:{current.id}", story_id=current.id, hits=[(a, 0.0) for a in articles])
    headlines = store.story_headlines([current.follows]) if current.follows else {}
    return _story_brief(group, (current, []), follows=headlines.get(current.follows or ""))


def _sort_key(group: _Group, top: float, now: datetime) -> tuple[float, float, str]:
    """Best score first; ties: newest first, then by key (deterministic)."""
    relevance = min(max(group.best / top, 0.0), 1.0) if top > 0 else 1.0
    score = story_score(relevance=relevance, outlets=group.outlets, age=now - group.newest)
    return (-score, -group.newest.timestamp(), group.key)
