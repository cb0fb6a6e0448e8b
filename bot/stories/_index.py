"""Story grouping: weighted term vectors (TF-IDF with IDF kept from the archive), an inverted index over them, and
an online average-link assignment of each new article to a story within a few days of it.

The decision is pure and deterministic: the same articles added in the same order give the same story keys, in
any process, and an index restored from what the store keeps (:meth:`StoryIndex.terms_of` beside each article,
its outlet, time and story id) answers exactly as the index it was saved from.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
import zlib
from array import array
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

# -- settings (tuned with bench/tune_stories.py on the dev sets, cross-validated; see the README) -------------

MERGE_THRESHOLD = 0.18
"""Average-link cosine (see :class:`StoryIndex`) at or above which an article joins a story."""
THREAD_THRESHOLD = 0.1
"""A story this close (but below :data:`MERGE_THRESHOLD`) and older is recorded as the one it follows up."""
LINK_K = 2
"""A story's link to an article is the mean of its ``LINK_K`` most similar members (a guard against chaining)."""
SAME_OUTLET_FACTOR = 0.6
"""Similarity to an article of the same outlet is scaled by this (an outlet rarely reports one event twice)."""
EVENT_WINDOW = timedelta(days=3)
"""Only articles at most this far apart in time can share a story."""
DECAY_DAYS = 6.0
"""Similarity is scaled by ``exp(-days apart / DECAY_DAYS)``."""
IDF_WINDOW = timedelta(days=30)
"""Articles older than this (behind the newest one) leave the index and its document frequencies."""
TITLE_BOOST = 2.5
"""Weight of a title word against a body word."""
NAME_BOOST = 1.0
"""Extra weight of a capitalised word inside a sentence (a name) and of a number."""
LEAD_WORDS = 120
"""Only the first ``LEAD_WORDS`` content words of the text count: a full page and a feed's lead stay comparable."""
MAX_TERMS = 64
"""Terms kept per article (the heaviest)."""
MIN_TERMS = 4
"""An article with fewer terms (a bare headline, an empty entry) is too little evidence: it starts its own story."""
QUERY_TERMS = 16
"""Candidates come from the postings of an article's ``QUERY_TERMS`` heaviest terms..."""
POSTINGS_SCAN = 400
"""...the most recent ``POSTINGS_SCAN`` articles of each."""
MAX_CANDIDATES = 64
"""At most this many candidate articles (the ones sharing most query terms) are scored exactly."""

_FORMAT = 2
"""Stored terms: version byte, uint16 count, count x uint32 term hashes, count x float16 weights (little-endian)."""

_TOKEN = re.compile(r"\w+")
_SENTENCE_END = frozenset('.!?:"\u201c\u201d')
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say told according new one two may might must shall year years week weeks day
days monday tuesday wednesday thursday friday saturday sunday mr mrs ms dr get got make made like
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def story_key_for(article_id: str) -> str:
    """The key of the story an article starts: ``a_<hex>`` gives ``s_<hex>``, any other id ``s_<id>``."""
    return f"s_{article_id[2:]}" if article_id.startswith("a_") else f"s_{article_id}"


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-3] + "y" if word.endswith("ies") else word[:-1]
    return word


def _weigh(text: str, boost: float, counts: dict[str, float], limit: int | None) -> None:
    taken = 0
    prev_end = -1
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        lowered = token.casefold()
        start = match.start()
        sentence_start = prev_end < 0 or text[prev_end:start].strip()[-1:] in _SENTENCE_END
        prev_end = match.end()
        if lowered in _STOPWORDS or (len(lowered) < 2 and not lowered.isdigit()):
            continue
        weight = boost
        if lowered.isdigit() or (token[:1].isupper() and not sentence_start):
            weight *= NAME_BOOST
        stem = _stem(lowered)
        counts[stem] = counts.get(stem, 0.0) + weight
        taken += 1
        if limit is not None and taken >= limit:
            break


def term_hash(term: str) -> int:
    """A term's stored id: CRC-32 of its UTF-8 form (the same in every process, unlike ``hash``)."""
    return zlib.crc32(term.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Terms:
    """An article's weighted terms (hashes and raw weights, before IDF), heaviest first."""

    hashes: tuple[int, ...]
    weights: tuple[float, ...]

    def to_bytes(self) -> bytes:
        """The stored form (see :data:`_FORMAT`)."""
        n = len(self.hashes)
        return (
            struct.pack("<BH", _FORMAT, n)
            + np.asarray(self.hashes, dtype="<u4").tobytes()
            + np.asarray(self.weights, dtype="<f2").tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Terms:
        """Read the stored form back; ValueError when ``data`` is not one (e.g. an old MinHash signature)."""
        if len(data) < 3 or data[0] != _FORMAT:
            raise ValueError("not a version-2 story terms record")
        (n,) = struct.unpack_from("<H", data, 1)
        if len(data) != 3 + 6 * n:
            raise ValueError(f"story terms record of {len(data)} bytes, {3 + 6 * n} expected")
        hashes = np.frombuffer(data, dtype="<u4", count=n, offset=3)
        weights = np.frombuffer(data, dtype="<f2", count=n, offset=3 + 4 * n)
        return cls(tuple(int(h) for h in hashes), tuple(float(w) for w in weights))


def article_terms(title: str, text: str) -> Terms:
    """The weighted terms of an article: title words (x :data:`TITLE_BOOST`) and the first :data:`LEAD_WORDS`
    content words of the text, names and numbers weighted up, stopwords dropped, plurals folded; each term's
    weight is ``1 + log(summed boosts)``; the :data:`MAX_TERMS` heaviest are kept (ties by hash)."""
    counts: dict[str, float] = {}
    _weigh(unicodedata.normalize("NFKC", title), TITLE_BOOST, counts, None)
    _weigh(unicodedata.normalize("NFKC", text), 1.0, counts, LEAD_WORDS)
    merged: dict[int, float] = {}
    for term, total in counts.items():
        h = term_hash(term)
        merged[h] = merged.get(h, 0.0) + total
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:MAX_TERMS]
    # float16 on the way through, so a fresh article and one restored from the store weigh exactly the same
    weights = np.asarray([1.0 + math.log(total) if total > 1.0 else 1.0 for _, total in ranked], dtype="<f2")
    return Terms(tuple(h for h, _ in ranked), tuple(float(w) for w in weights))


def signature(text: str, title: str = "") -> bytes:
    """The stored terms of an article (``title`` apart, or ``text`` alone with the title as its first line)."""
    if not title and "\n" in text:
        title, text = text.split("\n", 1)
    return article_terms(title, text).to_bytes()


@dataclass(frozen=True, slots=True)
class StoryDecision:
    """What :meth:`StoryIndex.add` decided for an article.

    ``story_key``: its story; ``merged``: other stories this article joined together into ``story_key`` (the
    older keeps its key; these become aliases of it); ``follows``: the earlier story this one is a follow-up
    of, when the article started a story close to one; ``terms``: what to store beside the article.
    """

    story_key: str
    terms: bytes
    merged: tuple[str, ...] = ()
    follows: str | None = None


@dataclass(slots=True)
class _Doc:
    article_id: str
    ids: np.ndarray[Any, Any]  # dense term ids (int32)
    weights: np.ndarray[Any, Any]  # raw weights (float32)
    when: float  # POSIX seconds
    outlet: str
    story_key: str
    alive: bool = True


@dataclass(slots=True)
class _Story:
    first: float
    members: list[int] = field(default_factory=list)


def _seconds(when: datetime) -> float:
    return when.timestamp()


def story_time(published_at: datetime | None, first_seen: datetime) -> datetime:
    """The time an article counts at for grouping: its publication time, unless it has none or claims one after
    it was first seen (a wrong or future date), then the time it was first seen."""
    return published_at if published_at is not None and published_at <= first_seen else first_seen


class StoryIndex:
    """The stories of the articles of the last :data:`IDF_WINDOW`, and the decision for a new one.

    An article joins the story with the highest *link*: the mean of its :data:`LINK_K` best similarities to
    the story's members (all of them when fewer), at least :data:`MERGE_THRESHOLD`. Similarity is the cosine of
    TF-IDF vectors (IDF from the articles in the index, as they are when the article arrives), scaled by time
    decay, zero beyond :data:`EVENT_WINDOW`, and scaled down between two articles of one outlet. When two stories
    both pass, the article joins them: the story first seen earlier keeps its key, the other becomes its alias.
    Otherwise it starts a story keyed :func:`story_key_for` its id, noting the closest older story above
    :data:`THREAD_THRESHOLD` as the one it follows up.

    Not thread-safe: use it from one thread or task (across processes, under the store's story lock).
    """

    def __init__(
        self,
        *,
        threshold: float = MERGE_THRESHOLD,
        thread_threshold: float = THREAD_THRESHOLD,
        link_k: int = LINK_K,
        same_outlet_factor: float = SAME_OUTLET_FACTOR,
        window: timedelta = EVENT_WINDOW,
        decay_days: float = DECAY_DAYS,
        merge_stories: bool = True,
    ) -> None:
        """An empty index; ``threshold`` lies in (0, 1]."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError("story threshold must lie in (0, 1]")
        self.threshold = threshold
        self.thread_threshold = thread_threshold
        self.link_k = max(1, link_k)
        self.same_outlet_factor = same_outlet_factor
        self.window = window.total_seconds()
        self.decay = decay_days * 86400.0
        self.merge_stories = merge_stories
        self.watermark = 0
        """The highest store row number restored or added (for :meth:`catch_up`-style reads of the store)."""
        self._vocab: dict[int, int] = {}
        self._df = np.zeros(1024, dtype=np.float64)
        self._docs: list[_Doc] = []
        self._slot: dict[str, int] = {}
        self._postings: dict[int, array[int]] = {}
        self._stories: dict[str, _Story] = {}
        self._alias: dict[str, str] = {}
        self._order: deque[int] = deque()
        self._latest = -math.inf
        self._count = 0

    # -- inspection ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        """The number of indexed articles."""
        return self._count

    def __contains__(self, article_id: object) -> bool:
        """Whether ``article_id`` is indexed."""
        return article_id in self._slot

    def story_of(self, article_id: str) -> str | None:
        """The story key of an indexed article, or ``None``."""
        slot = self._slot.get(article_id)
        return None if slot is None else self._docs[slot].story_key

    def resolve(self, story_key: str) -> str:
        """The key a story is known by now (a merged story's key leads to the one it was merged into)."""
        while story_key in self._alias:
            story_key = self._alias[story_key]
        return story_key

    def terms_of(self, article_id: str) -> bytes:
        """The stored form of an indexed article's terms (KeyError when it is not indexed)."""
        doc = self._docs[self._slot[article_id]]
        inverse = {dense: h for h, dense in self._vocab.items()} if len(doc.ids) else {}
        return Terms(tuple(inverse[int(i)] for i in doc.ids), tuple(float(w) for w in doc.weights)).to_bytes()

    signature_of = terms_of

    # -- changes ------------------------------------------------------------------------------------

    def add(
        self,
        article_id: str,
        title: str,
        text: str,
        outlet: str,
        when: datetime,
        *,
        terms: bytes | None = None,
        row: int | None = None,
    ) -> StoryDecision:
        """Decide the story of an article and index it. Re-adding an indexed article (an update) keeps its story.

        ``terms``: its stored terms when already computed (``title`` and ``text`` are then not read); ``row``:
        its store row number, which advances :attr:`watermark`.
        """
        parsed = Terms.from_bytes(terms) if terms is not None else article_terms(title, text)
        blob = terms if terms is not None else parsed.to_bytes()
        if row is not None:
            self.watermark = max(self.watermark, row)
        old = self._slot.get(article_id)
        if old is not None:
            key = self.resolve(self._docs[old].story_key)
            self.remove(article_id)
            self._insert(article_id, parsed, outlet, _seconds(when), key)
            return StoryDecision(key, blob)
        decision = self._decide(parsed, outlet, _seconds(when), article_id)
        for alias in decision.merged:
            self._merge(alias, decision.story_key)
        self._insert(article_id, parsed, outlet, _seconds(when), decision.story_key)
        return StoryDecision(decision.story_key, blob, decision.merged, decision.follows)

    def restore(
        self, article_id: str, terms: bytes, outlet: str, when: datetime, story_key: str, *, row: int | None = None
    ) -> None:
        """Put back an article saved earlier (its stored terms, outlet, time and story key) without deciding."""
        if row is not None:
            self.watermark = max(self.watermark, row)
        if article_id in self._slot:
            self.remove(article_id)
        self._insert(article_id, Terms.from_bytes(terms), outlet, _seconds(when), self.resolve(story_key))

    @classmethod
    def rebuild(
        cls, rows: Iterable[tuple[str, bytes, str, datetime, str | None, int]], **settings: Any
    ) -> tuple[StoryIndex, int]:
        """A new index restored from ``(article_id, terms, outlet, time, story_key, row)`` rows in row order (a
        row without a story key gets :func:`story_key_for` its id); also returns how many rows were skipped
        because their terms are not in the current format (an older version's: ``stories rebuild`` redoes them)."""
        index = cls(**settings)
        skipped = index.catch_up(rows)
        return index, skipped

    def catch_up(self, rows: Iterable[tuple[str, bytes, str, datetime, str | None, int]]) -> int:
        """Restore the rows stored since :attr:`watermark` (by other processes, or before a restart); returns how
        many were skipped (terms in an older format)."""
        skipped = 0
        for article_id, terms, outlet, when, story_key, row in rows:
            known = self.story_of(article_id)
            if known is not None and known == self.resolve(story_key or story_key_for(article_id)):
                self.watermark = max(self.watermark, row)  # this index added it itself
                continue
            try:
                self.restore(article_id, terms, outlet, when, story_key or story_key_for(article_id), row=row)
            except ValueError:
                skipped += 1
                self.watermark = max(self.watermark, row)
        return skipped

    def alias(self, old_key: str, new_key: str) -> None:
        """Record that story ``old_key`` is now ``new_key`` (a merge made elsewhere, read back from the store)."""
        if self.resolve(new_key) != old_key:
            self._merge(old_key, self.resolve(new_key))

    def remove(self, article_id: str) -> None:
        """Forget an article (a no-op when it is not indexed), e.g. after the store pruned it."""
        slot = self._slot.pop(article_id, None)
        if slot is None:
            return
        doc = self._docs[slot]
        doc.alive = False
        self._df[doc.ids] -= 1.0
        self._count -= 1
        story = self._stories.get(doc.story_key)
        if story is not None and slot in story.members:
            story.members.remove(slot)
            if not story.members:
                del self._stories[doc.story_key]

    # -- internals ----------------------------------------------------------------------------------

    def _dense(self, hashes: Iterable[int]) -> np.ndarray[Any, Any]:
        ids = []
        for h in hashes:
            dense = self._vocab.get(h)
            if dense is None:
                dense = self._vocab[h] = len(self._vocab)
                if dense >= len(self._df):
                    self._df = np.concatenate([self._df, np.zeros(len(self._df), dtype=np.float64)])
            ids.append(dense)
        return np.asarray(ids, dtype=np.int32)

    def _insert(self, article_id: str, terms: Terms, outlet: str, when: float, story_key: str) -> None:
        ids = self._dense(terms.hashes)
        slot = len(self._docs)
        self._docs.append(_Doc(article_id, ids, np.asarray(terms.weights, dtype=np.float32), when, outlet, story_key))
        self._slot[article_id] = slot
        self._df[ids] += 1.0
        self._count += 1
        for dense in ids.tolist():
            postings = self._postings.get(dense)
            if postings is None:
                postings = self._postings[dense] = array("i")
            postings.append(slot)
        story = self._stories.get(story_key)
        if story is None:
            story = self._stories[story_key] = _Story(when)
        story.first = min(story.first, when)
        story.members.append(slot)
        self._order.append(slot)
        if when > self._latest:
            self._latest = when
            self._evict()

    def _evict(self) -> None:
        cutoff = self._latest - IDF_WINDOW.total_seconds()
        while self._order:
            doc = self._docs[self._order[0]]
            if doc.alive and doc.when >= cutoff:
                break
            self._order.popleft()
            if doc.alive:
                self.remove(doc.article_id)

    def _merge(self, alias: str, into: str) -> None:
        if alias == into:
            return
        self._alias[alias] = into
        moved = self._stories.pop(alias, None)
        if moved is None:
            return
        target = self._stories.setdefault(into, _Story(moved.first))
        target.first = min(target.first, moved.first)
        for slot in moved.members:
            self._docs[slot].story_key = into
        target.members.extend(moved.members)

    def _idf(self, ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        n = float(self._count)
        result: np.ndarray[Any, Any] = np.log((n + 1.0) / (self._df[ids] + 1.0)) + 1.0
        return result

    def _candidates(self, q_ids: np.ndarray[Any, Any], q_w: np.ndarray[Any, Any], when: float) -> list[int]:
        top = np.argsort(-q_w, kind="stable")[:QUERY_TERMS]
        found: list[int] = []
        for dense in q_ids[top].tolist():
            postings = self._postings.get(dense)
            if postings is not None:
                found.extend(postings[-POSTINGS_SCAN:])
        if not found:
            return []
        slots, hits = np.unique(np.asarray(found, dtype=np.int64), return_counts=True)
        order = np.lexsort((slots, -hits))
        chosen: list[int] = []
        for slot in slots[order].tolist():
            doc = self._docs[slot]
            if doc.alive and abs(doc.when - when) <= self.window:
                chosen.append(slot)
                if len(chosen) >= MAX_CANDIDATES:
                    break
        return chosen

    def _similarities(
        self, q_ids: np.ndarray[Any, Any], q_vec: np.ndarray[Any, Any], outlet: str, when: float, slots: list[int]
    ) -> dict[int, float]:
        query = dict(zip(q_ids.tolist(), q_vec.tolist(), strict=True))
        sims: dict[int, float] = {}
        for slot in slots:
            doc = self._docs[slot]
            vec = doc.weights * self._idf(doc.ids)
            norm = float(np.sqrt(np.dot(vec, vec)))
            if norm == 0.0:
                continue
            dot = sum(query.get(i, 0.0) * v for i, v in zip(doc.ids.tolist(), vec.tolist(), strict=True))
            sim = dot / norm
            if doc.outlet == outlet:
                sim *= self.same_outlet_factor
            sims[slot] = sim * math.exp(-abs(doc.when - when) / self.decay)
        return sims

    def _decide(self, terms: Terms, outlet: str, when: float, article_id: str) -> _Decision:
        own = story_key_for(article_id)
        if len(terms.hashes) < MIN_TERMS or self._count == 0:
            return _Decision(own)
        known = [self._vocab.get(h, -1) for h in terms.hashes]
        q_ids = np.asarray([k for k in known if k >= 0], dtype=np.int32)
        if len(q_ids) == 0:
            return _Decision(own)
        q_raw = np.asarray([w for k, w in zip(known, terms.weights, strict=True) if k >= 0], dtype=np.float64)
        # the query's norm counts its unseen terms too (at the highest IDF), so rare words still dilute it
        n = float(self._count)
        unseen = np.asarray([w for k, w in zip(known, terms.weights, strict=True) if k < 0], dtype=np.float64)
        q_vec = q_raw * self._idf(q_ids)
        q_norm = math.sqrt(float(np.dot(q_vec, q_vec)) + float(np.dot(unseen, unseen)) * (math.log(n + 1.0) + 1) ** 2)
        q_vec = q_vec / q_norm
        slots = self._candidates(q_ids, q_vec, when)
        sims = self._similarities(q_ids, q_vec, outlet, when, slots)
        if not sims:
            return _Decision(own)
        # every story a candidate belongs to, with all its members in the window scored
        stories = sorted({self._docs[slot].story_key for slot in sims})
        links: list[tuple[float, str]] = []
        for key in stories:
            members = [m for m in self._stories[key].members if abs(self._docs[m].when - when) <= self.window]
            missing = [m for m in members if m not in sims]
            if missing:
                sims.update(self._similarities(q_ids, q_vec, outlet, when, missing))
            best = sorted((sims.get(m, 0.0) for m in members), reverse=True)[: self.link_k]
            if best:
                links.append((sum(best) / len(best), key))
        links.sort(key=lambda item: (-item[0], item[1]))
        passing = [key for link, key in links if link >= self.threshold]
        if not passing:
            older = [(link, key) for link, key in links if link >= self.thread_threshold]
            return _Decision(own, follows=older[0][1] if older else None)
        if not self.merge_stories or len(passing) == 1:
            return _Decision(passing[0])
        ordered = sorted(passing, key=lambda key: (self._stories[key].first, key))
        return _Decision(ordered[0], merged=tuple(ordered[1:]))


@dataclass(frozen=True, slots=True)
class _Decision:
    story_key: str
    merged: tuple[str, ...] = ()
    follows: str | None = None
