"""Regrouping stored articles with the current algorithm (``newsbrief stories rebuild``): pure, no database.

:func:`regroup` feeds the articles, in order of (time, id), through a fresh :class:`StoryIndex` exactly as
ingestion does (their terms recomputed from title and text, which also replaces terms stored in an older format),
then names each new group after the stories its articles were in: the oldest of them keeps its id (so a story
already posted keeps its id when its articles stay together), the others become aliases of it, and a group that
had none gets a new id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.identity import story_key_for
from bot.stories._index import StoryIndex, _parse, article_terms

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """What :func:`regroup` reads of a stored article: ``when`` is its grouping time (:func:`story_time`),
    ``story_id`` its story now, ``terms`` its stored story terms (``None`` when it has none)."""

    article_id: str
    title: str
    text: str
    outlet: str
    when: datetime
    story_id: str | None
    terms: bytes | None


@dataclass(frozen=True, slots=True)
class StoryFacts:
    """What :func:`regroup` needs to know of an existing story: when it was first seen, how many articles it
    has (also outside the articles regrouped)."""

    first_seen: datetime
    article_count: int


@dataclass(frozen=True, slots=True)
class Regrouping:
    """The outcome of :func:`regroup`.

    ``story_of``: every article's story id; ``terms``: the articles whose stored terms change, with the new ones;
    ``follows``: for every story, the story it follows up (``None``: none); ``merged``: stories whose articles all
    joined another story (``old id -> id``, to record as aliases); ``split``: stories whose articles now lie in
    several stories (``old id -> those ids``); ``created``: ids of new stories; ``moved``: articles whose story
    changes; ``converted``: articles whose stored terms were missing or in an older format; ``before`` and
    ``after``: the stories the articles were in, and are in now.
    """

    story_of: dict[str, str]
    terms: dict[str, bytes]
    follows: dict[str, str | None]
    merged: dict[str, str]
    split: dict[str, tuple[str, ...]]
    created: tuple[str, ...]
    moved: int
    converted: int
    before: int
    after: int


def _current(terms: bytes | None) -> bool:
    if terms is None:
        return False
    try:
        _parse(terms)
    except ValueError:
        return False
    return True


def _fresh_id(members: list[str], taken: Collection[str]) -> str:
    """A new story's id: :func:`story_key_for` its first article that is not taken, else one from a hash."""
    for article_id in members:
        key = story_key_for(article_id)
        if key not in taken:
            return key
    return "s_" + hashlib.sha256("\n".join(members).encode("utf-8")).hexdigest()[:16]


def regroup(
    articles: Iterable[StoredArticle],
    stories: Mapping[str, StoryFacts],
    *,
    reserved: Collection[str] = (),
    index: StoryIndex | None = None,
) -> Regrouping:
    """Regroup ``articles`` with the current algorithm (``index``: default, a :class:`StoryIndex` with the
    settings ingestion uses). ``stories``: the existing stories (also ones without an article here);
    ``reserved``: ids a new story must not take (every story id and alias in the store)."""
    rows: list[tuple[datetime, str, bytes, str, str | None]] = []
    terms: dict[str, bytes] = {}
    converted = 0
    for article in articles:
        new = article_terms(article.title, article.text).to_bytes()
        if new != article.terms:
            terms[article.article_id] = new
            converted += not _current(article.terms)
        rows.append((article.when, article.article_id, new, article.outlet, article.story_id))
    rows.sort(key=lambda row: (row[0], row[1]))
    index = index if index is not None else StoryIndex()
    keys: dict[str, str] = {}
    follows_key: dict[str, str] = {}
    for when, article_id, blob, outlet, _ in rows:
        decision = index.add(article_id, "", "", outlet, when, terms=blob)
        keys[article_id] = decision.story_key
        if decision.follows is not None:
            follows_key[decision.story_key] = decision.follows
    groups: dict[str, list[str]] = {}
    old_of: dict[str, str | None] = {}
    for _, article_id, _, _, story_id in rows:
        groups.setdefault(index.resolve(keys[article_id]), []).append(article_id)
        old_of[article_id] = story_id

    # name the groups, the one starting first choosing first: the oldest story among its articles' stories
    def age(story_id: str) -> tuple[datetime, str]:
        facts = stories.get(story_id)
        return (facts.first_seen if facts is not None else _NEVER, story_id)

    taken = set(reserved) | set(stories)
    named: dict[str, str] = {}
    used: set[str] = set()
    for key, members in groups.items():
        olds = sorted({s for m in members if (s := old_of[m]) is not None}, key=age)
        chosen = next((s for s in olds if s not in used), None)
        if chosen is None:
            chosen = _fresh_id(members, taken | used)
        named[key] = chosen
        used.add(chosen)
    story_of = {m: named[key] for key, members in groups.items() for m in members}

    # what became of each story the articles were in
    destinations: dict[str, Counter[str]] = {}
    for article_id, old in old_of.items():
        if old is not None:
            destinations.setdefault(old, Counter())[story_of[article_id]] += 1
    merged: dict[str, str] = {}
    split: dict[str, tuple[str, ...]] = {}
    for old, where in destinations.items():
        facts = stories.get(old)
        keeps_others = facts is not None and facts.article_count > sum(where.values())  # articles not regrouped
        places = set(where) | ({old} if keeps_others else set())
        if len(places) > 1:
            split[old] = tuple(sorted(places))
        if old not in used and not keeps_others:
            merged[old] = where.most_common(1)[0][0]  # ties: the story that starts first
    follows: dict[str, str | None] = {}
    for key, name in named.items():
        earlier = follows_key.get(key)
        target = named.get(index.resolve(earlier)) if earlier is not None else None
        follows[name] = target if target != name else None
    return Regrouping(
        story_of=story_of,
        terms=terms,
        follows=follows,
        merged=merged,
        split=split,
        created=tuple(name for name in named.values() if name not in stories),
        moved=sum(1 for article_id, old in old_of.items() if story_of[article_id] != old),
        converted=converted,
        before=len(destinations),
        after=len(groups),
    )
