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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bot.identity import story_key_for

# -- settings (tuned with bench/tune_stories.py on the dev sets, cross-validated; see the README) -------------

MERGE_THRESHOLD = 0.14
"""Average-link cosine (see :class:`StoryIndex`) at or above which an article joins a story."""
THREAD_THRESHOLD = 0.1
"""A story this close (but below :data:`MERGE_THRESHOLD`) and older is recorded as the one it follows up; two
stories an article would join are merged only when they are this close to each other (the chaining guard)."""
LINK_K = 2
"""A story's link to an article is the mean of its ``LINK_K`` most similar members (a guard against chaining)."""
SAME_OUTLET_FACTOR = 0.6
"""Similarity to an article of the same outlet is scaled by this (an outlet rarely reports one event twice)."""
EVENT_WINDOW = timedelta(days=3)
"""Only articles at most this far apart in time can share a story."""
DECAY_DAYS = 2.0
"""Similarity is scaled by ``exp(-days apart / DECAY_DAYS)``."""
IDF_WINDOW = timedelta(days=30)
"""Articles older than this (behind the newest one) leave the index and its document frequencies."""
TITLE_BOOST = 2.5
"""Weight of a title word against a body word."""
NAME_BOOST = 1.6
"""Extra weight of a capitalised word inside a sentence (a name) and of a number."""
LEAD_WORDS = 120
"""Only the first ``LEAD_WORDS`` content words of the text count: a full page and a feed's lead stay comparable."""
MAX_TERMS = 64
"""Terms kept per article (the heaviest)."""
MIN_TERMS = 4
"""An article with fewer terms (a short headline, an empty entry) is too little evidence: it starts its own story.
An article whose text has fewer content words than this is a *bare headline* (e.g. an entry of a cut feed
document, its text to come): see :class:`StoryIndex`."""
QUERY_TERMS = 16
"""Candidates come from the postings of an article's ``QUERY_TERMS`` heaviest terms..."""
POSTINGS_SCAN = 400
"""...the most recent ``POSTINGS_SCAN`` articles of each."""
MAX_CANDIDATES = 64
"""At most this many candidate articles (the ones sharing most query terms) are scored exactly."""

_FORMAT = 2
"""Stored terms: version byte, uint16 count, count x uint32 term hashes, count x float16 weights (little-endian)."""
_HEADLINE_FORMAT = 3
"""The version byte of a bare headline's terms (the same layout)."""

_GAP_TOKEN = re.compile(r"(\W*)(\w+)")
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


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-3] + "y" if word.endswith("ies") else word[:-1]
    return word


def _weigh(text: str, boost: float, counts: dict[str, float], limit: int | None) -> int:
    """Add the content words of ``text`` to ``counts``; returns how many were taken."""
    taken = 0
    first = True
    for match in _GAP_TOKEN.finditer(text):
        gap, token = match.groups()  # the gap: what lies between the previous word and this one
        lowered = token.casefold()
        sentence_start = first or gap.rstrip()[-1:] in _SENTENCE_END
        first = False
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
    return taken


def term_hash(term: str) -> int:
    """A term's stored id: CRC-32 of its UTF-8 form (the same in every process, unlike ``hash``)."""
    return zlib.crc32(term.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Terms:
    """An article's weighted terms (hashes and raw weights, before IDF), heaviest first; ``headline``: those of a
    bare headline (a text of fewer than :data:`MIN_TERMS` content words)."""

    hashes: tuple[int, ...]
    weights: tuple[float, ...]
    headline: bool = False

    def to_bytes(self) -> bytes:
        """The stored form (see :data:`_FORMAT`)."""
        hashes, weights = np.asarray(self.hashes, dtype=np.uint32), np.asarray(self.weights, dtype=np.float16)
        return _pack(hashes, weights, self.headline)

    @classmethod
    def from_bytes(cls, data: bytes) -> Terms:
        """Read the stored form back; ValueError when ``data`` is not one (e.g. an old MinHash signature)."""
        hashes, weights, headline = _parse(data)
        return cls(tuple(hashes.tolist()), tuple(weights.astype(np.float64).tolist()), headline)


def _parse(data: bytes) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], bool]:
    """The term hashes (uint32) and weights (float16) of a stored terms record, and whether they are a bare
    headline's; ValueError when it is not one."""
    if len(data) < 3 or data[0] not in (_FORMAT, _HEADLINE_FORMAT):
        raise ValueError("not a version-2 story terms record")
    (n,) = struct.unpack_from("<H", data, 1)
    if len(data) != 3 + 6 * n:
        raise ValueError(f"story terms record of {len(data)} bytes, {3 + 6 * n} expected")
    hashes = np.frombuffer(data, dtype="<u4", count=n, offset=3).astype(np.uint32)
    weights = np.frombuffer(data, dtype="<f2", count=n, offset=3 + 4 * n).astype(np.float16)
    return hashes, weights, data[0] == _HEADLINE_FORMAT


def _pack(hashes: np.ndarray[Any, Any], weights: np.ndarray[Any, Any], headline: bool) -> bytes:
    head = struct.pack("<BH", _HEADLINE_FORMAT if headline else _FORMAT, len(hashes))
    return head + hashes.astype("<u4").tobytes() + weights.astype("<f2").tobytes()


def article_terms(title: str, text: str) -> Terms:
    """The weighted terms of an article: title words (x :data:`TITLE_BOOST`) and the first :data:`LEAD_WORDS`
    content words of the text, names and numbers weighted up, stopwords dropped, plurals folded; each term's
    weight is ``1 + log(summed boosts)``; the :data:`MAX_TERMS` heaviest are kept (ties by hash). Those of a text
    of fewer than :data:`MIN_TERMS` content words are marked as a bare headline's."""
    hashes, weights, headline = _term_arrays(title, text)
    return Terms(tuple(hashes.tolist()), tuple(weights.astype(np.float64).tolist()), headline)


def _term_arrays(title: str, text: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], bool]:
    """:func:`article_terms` as arrays: term hashes (uint32), weights (float16), whether a bare headline's."""
    counts: dict[str, float] = {}
    _weigh(unicodedata.normalize("NFKC", title), TITLE_BOOST, counts, None)
    headline = _weigh(unicodedata.normalize("NFKC", text), 1.0, counts, LEAD_WORDS) < MIN_TERMS
    merged: dict[int, float] = {}
    for term, total in counts.items():
        h = term_hash(term)
        merged[h] = merged.get(h, 0.0) + total
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:MAX_TERMS]
    hashes = np.asarray([h for h, _ in ranked], dtype=np.uint32)
    # float16 on the way through, so a fresh article and one restored from the store weigh exactly the same
    weights = np.asarray([1.0 + math.log(total) if total > 1.0 else 1.0 for _, total in ranked], dtype=np.float16)
    return hashes, weights, headline


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


def _seconds(when: datetime) -> float:
    return when.timestamp()


def story_time(published_at: datetime | None, first_seen: datetime) -> datetime:
    """The time an article counts at for grouping: its publication time, unless it has none or claims one after
    it was first seen (a wrong or future date), then the time it was first seen."""
    return published_at if published_at is not None and published_at <= first_seen else first_seen


_Array = np.ndarray[Any, Any]

FREEZE_EVERY = 32
"""Postings of new articles go into a small per-term buffer, merged into the packed postings when it holds more
than 1/``FREEZE_EVERY`` of the index (and at least :data:`FREEZE_MIN` articles)."""
FREEZE_MIN = 256
COMPACT_MIN = 4096
"""Removed articles are dropped from the packed arrays once they are more than half the live ones (and at least
this many)."""
CHAIN_WALK_SHARE = 16
"""The members of an article's candidate stories are read from the stories' chains when those stories hold fewer
than 1/``CHAIN_WALK_SHARE`` of the slots, else by a pass over every slot (:meth:`StoryIndex._near_members`)."""


def _grown(array: _Array, need: int) -> _Array:
    """``array`` itself when it holds ``need`` items, else a copy with room for at least that many (x1.5)."""
    if need <= len(array):
        return array
    bigger = np.zeros(max(need, len(array) + len(array) // 2, 64), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


def _spans(starts: _Array, lengths: _Array) -> _Array:
    """The positions ``starts[i]`` to ``starts[i] + lengths[i] - 1`` for every ``i``, one after the other."""
    lengths = lengths.astype(np.int64)
    offsets = np.cumsum(lengths) - lengths
    spans: _Array = np.repeat(starts.astype(np.int64) - offsets, lengths) + np.arange(int(lengths.sum()))
    return spans


class StoryIndex:
    """The stories of the articles of the last :data:`IDF_WINDOW`, and the decision for a new one.

    An article joins the story with the highest *link*: the mean of its :data:`LINK_K` best similarities to
    the story's members (all of them when fewer), at least :data:`MERGE_THRESHOLD`. Similarity is the cosine of
    TF-IDF vectors (IDF from the articles in the index, as they are when the article arrives), scaled by time
    decay, zero beyond :data:`EVENT_WINDOW`, and scaled down between two articles of one outlet. When two stories
    both pass, the article joins them: the story first seen earlier keeps its key, the other becomes its alias.
    Otherwise it starts a story keyed :func:`story_key_for` its id, noting the closest older story above
    :data:`THREAD_THRESHOLD` as the one it follows up.

    A bare headline (see :data:`MIN_TERMS`) is decided on its headline's words, but as weak evidence, since
    headlines of one kind of news share most of their words ("Rail strike halts trains across ..."): it joins at
    most one story (it never merges two), and for an article with text it counts only in a story of bare headlines
    (one that has a member with text is linked through those). When an update brings its text, its story is
    decided again, as for a new article: it may leave the story it joined, and a story it was alone in joins the
    one it is decided into (the older of the two keeps its key, the other is in ``merged``).

    Storage is packed in numpy arrays, about 1 KB per article: every article's term ids (int32, from a
    vocabulary of term hashes) and weights (float16) one after the other, its time, outlet and story in
    per-article arrays, each story's members as a linked list, and postings (term -> articles, in the order
    added) as one CSR array plus a small buffer of the newest. Candidates come from the most recent postings of
    the query's heaviest terms; they are scored together, with numpy.

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
        self.seen_until: datetime | None = None
        """The latest store time (an article stored or changed) that the index has seen; the caller's to keep, for
        reads of what changed since (see :func:`bot.ingest.catch_up_stories`)."""
        self.stale = False
        """Set by the caller when the index holds a decision the store did not record and the index cannot take
        back (a merge of stories, whose transaction failed): it is to be rebuilt from the store (:meth:`take`)
        before it decides again."""
        self._count = 0
        self._latest = -math.inf
        # vocabulary: term hash -> term id (sorted arrays up to the last freeze, a dict since), and per term id
        self._vocab_hashes = np.zeros(0, dtype=np.uint32)
        self._vocab_ids = np.zeros(0, dtype=np.int32)
        self._vocab_new: dict[int, int] = {}
        self._terms = 0
        self._hash = np.zeros(0, dtype=np.uint32)
        self._df = np.zeros(0, dtype=np.float64)
        self._log_df = np.zeros(0, dtype=np.float64)  # log(df + 1), kept with it: the IDF without a log per use
        # articles ("slots", in the order added): their terms one after the other, and per slot
        self._tid = np.zeros(0, dtype=np.int32)
        self._tw = np.zeros(0, dtype=np.float16)
        self._used = 0
        self._slots = 0
        self._start = np.zeros(0, dtype=np.int64)
        self._len = np.zeros(0, dtype=np.int32)
        self._when = np.zeros(0, dtype=np.float64)
        self._outlet = np.zeros(0, dtype=np.int32)
        self._story = np.zeros(0, dtype=np.int32)
        self._next = np.zeros(0, dtype=np.int32)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._headline = np.zeros(0, dtype=np.bool_)
        self._ids: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._front = 0
        self._outlets: dict[str, int] = {}
        # stories: key <-> number, and per number its members' linked list, first time and live members
        self._keys: list[str] = []
        self._number: dict[str, int] = {}
        self._head = np.zeros(0, dtype=np.int32)
        self._tail = np.zeros(0, dtype=np.int32)
        self._first = np.zeros(0, dtype=np.float64)
        self._live = np.zeros(0, dtype=np.int32)
        self._alias: dict[str, str] = {}
        # postings: CSR over the slots below ``_frozen`` (term id -> slots), a per-term buffer for the others
        self._ptr = np.zeros(1, dtype=np.int64)
        self._post = np.zeros(0, dtype=np.int32)
        self._frozen = 0
        self._recent: dict[int, array[int]] = {}
        self._query_scratch = np.zeros(0, dtype=np.float64)

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
        return None if slot is None else self._keys[int(self._story[slot])]

    def resolve(self, story_key: str) -> str:
        """The key a story is known by now (a merged story's key leads to the one it was merged into)."""
        while story_key in self._alias:
            story_key = self._alias[story_key]
        return story_key

    def terms_of(self, article_id: str) -> bytes:
        """The stored form of an indexed article's terms (KeyError when it is not indexed)."""
        slot = self._slot[article_id]
        start, stop = int(self._start[slot]), int(self._start[slot] + self._len[slot])
        return _pack(self._hash[self._tid[start:stop]], self._tw[start:stop], bool(self._headline[slot]))

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
        """Decide the story of an article and index it. Re-adding an indexed article (an update) keeps its story,
        unless the update brings the text of a bare headline, or of an article with fewer than :data:`MIN_TERMS`
        terms that is still alone in its story: then its story is decided again (see :class:`StoryIndex`).

        ``terms``: its stored terms when already computed (``title`` and ``text`` are then not read); ``row``:
        its store row number, which advances :attr:`watermark`.
        """
        hashes, weights, headline = _parse(terms) if terms is not None else _term_arrays(title, text)
        blob = terms if terms is not None else _pack(hashes, weights, headline)
        if row is not None:
            self.watermark = max(self.watermark, row)
        seconds = _seconds(when)
        old = self._slot.get(article_id)
        decided = None if old is None else self._update(old, hashes, weights, headline, outlet, seconds, article_id)
        if old is not None and decided is None:
            key = self.resolve(self._keys[int(self._story[old])])
            self.remove(article_id)
            self._insert(article_id, hashes, weights, headline, outlet, seconds, key)
            return StoryDecision(key, blob)
        decision = decided or self._decide(hashes, weights, headline, outlet, seconds, article_id)
        for alias in decision.merged:
            self._merge(alias, decision.story_key)
        self._insert(article_id, hashes, weights, headline, outlet, seconds, decision.story_key)
        return StoryDecision(decision.story_key, blob, decision.merged, decision.follows)

    def restore(
        self, article_id: str, terms: bytes, outlet: str, when: datetime, story_key: str, *, row: int | None = None
    ) -> None:
        """Put back an article saved earlier (its stored terms, outlet, time and story key) without deciding."""
        hashes, weights, headline = _parse(terms)
        if row is not None:
            self.watermark = max(self.watermark, row)
        if article_id in self._slot:
            self.remove(article_id)
        self._insert(article_id, hashes, weights, headline, outlet, _seconds(when), self.resolve(story_key))

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
            if (
                known is not None
                and known == self.resolve(story_key or story_key_for(article_id))
                and self.terms_of(article_id) == terms
            ):
                self.watermark = max(self.watermark, row)  # this index added it itself, or has it already
                continue
            try:
                self.restore(article_id, terms, outlet, when, story_key or story_key_for(article_id), row=row)
            except ValueError:
                skipped += 1
                self.watermark = max(self.watermark, row)
        return skipped

    def take(self, other: StoryIndex) -> None:
        """Become ``other`` (an index rebuilt from the store), in place, so that every holder of this one has it."""
        state = vars(other)
        vars(self).clear()
        vars(self).update(state)

    def alias(self, old_key: str, new_key: str) -> None:
        """Record that story ``old_key`` is now ``new_key`` (a merge made elsewhere, read back from the store)."""
        if self.resolve(new_key) != old_key:
            self._merge(old_key, self.resolve(new_key))

    def remove(self, article_id: str) -> None:
        """Forget an article (a no-op when it is not indexed), e.g. after the store pruned it."""
        slot = self._slot.pop(article_id, None)
        if slot is None:
            return
        self._alive[slot] = False
        self._ids[slot] = None
        start = int(self._start[slot])
        self._count_terms(self._tid[start : start + int(self._len[slot])], -1.0)
        self._count -= 1
        number = int(self._story[slot])
        self._live[number] -= 1
        if self._live[number] == 0:  # the story is gone with its last article
            self._number.pop(self._keys[number], None)

    # -- internals: storage -------------------------------------------------------------------------

    def _lookup(self, hashes: _Array) -> _Array:
        """The term ids of ``hashes`` (-1 for a term not in the vocabulary)."""
        ids = np.full(len(hashes), -1, dtype=np.int32)
        if len(self._vocab_hashes):
            at = np.minimum(np.searchsorted(self._vocab_hashes, hashes), len(self._vocab_hashes) - 1)
            hit = self._vocab_hashes[at] == hashes
            ids[hit] = self._vocab_ids[at[hit]]
        if self._vocab_new:
            for i in np.flatnonzero(ids < 0).tolist():
                ids[i] = self._vocab_new.get(int(hashes[i]), -1)
        return ids

    def _term_ids(self, hashes: _Array) -> _Array:
        """The term ids of ``hashes``, new ones added to the vocabulary."""
        ids = self._lookup(hashes)
        for i in np.flatnonzero(ids < 0).tolist():
            h = int(hashes[i])
            term = self._vocab_new.get(h)
            if term is None:
                term = self._vocab_new[h] = self._terms
                self._terms += 1
                self._hash = _grown(self._hash, self._terms)
                self._df, self._log_df = _grown(self._df, self._terms), _grown(self._log_df, self._terms)
                self._hash[term] = h
            ids[i] = term
        return ids

    def _story_number(self, key: str, first: float) -> int:
        number = self._number.get(key)
        if number is None:
            number = self._number[key] = len(self._keys)
            self._keys.append(key)
            size = number + 1
            self._head, self._tail = _grown(self._head, size), _grown(self._tail, size)
            self._first, self._live = _grown(self._first, size), _grown(self._live, size)
            self._head[number] = self._tail[number] = -1
            self._first[number] = first
            self._live[number] = 0
        return number

    def _insert(
        self, article_id: str, hashes: _Array, weights: _Array, headline: bool, outlet: str, when: float, story_key: str
    ) -> None:
        if self._slots - self._count > max(COMPACT_MIN, self._count // 2):
            self._compact()
        ids = self._term_ids(hashes)
        n, slot, used = len(ids), self._slots, self._used
        self._tid, self._tw = _grown(self._tid, used + n), _grown(self._tw, used + n)
        self._tid[used : used + n] = ids
        self._tw[used : used + n] = weights
        self._used += n
        if slot >= len(self._start):
            self._start, self._len = _grown(self._start, slot + 1), _grown(self._len, slot + 1)
            self._when, self._outlet = _grown(self._when, slot + 1), _grown(self._outlet, slot + 1)
            self._story, self._next = _grown(self._story, slot + 1), _grown(self._next, slot + 1)
            self._alive, self._headline = _grown(self._alive, slot + 1), _grown(self._headline, slot + 1)
        self._start[slot], self._len[slot], self._when[slot] = used, n, when
        self._outlet[slot] = self._outlets.setdefault(outlet, len(self._outlets))
        self._alive[slot], self._headline[slot] = True, headline
        self._ids.append(article_id)
        self._slot[article_id] = slot
        self._slots += 1
        self._count_terms(ids, 1.0)
        self._count += 1
        for term in ids.tolist():
            postings = self._recent.get(term)
            if postings is None:
                postings = self._recent[term] = array("i")
            postings.append(slot)
        number = self._story_number(story_key, when)
        self._story[slot], self._next[slot] = number, -1
        tail = int(self._tail[number])
        if tail >= 0:
            self._next[tail] = slot
        else:
            self._head[number] = slot
        self._tail[number] = slot
        self._live[number] += 1
        self._first[number] = min(float(self._first[number]), when)
        if when > self._latest:
            self._latest = when
            self._evict()
        if self._slots - self._frozen > max(FREEZE_MIN, self._count // FREEZE_EVERY):
            self._freeze()

    def _evict(self) -> None:
        cutoff = self._latest - IDF_WINDOW.total_seconds()
        while self._front < self._slots:
            slot = self._front
            if self._alive[slot] and self._when[slot] >= cutoff:
                break
            self._front += 1
            article_id = self._ids[slot]
            if article_id is not None:
                self.remove(article_id)

    def _chain(self, number: int) -> Iterator[int]:
        """The slots of story ``number``'s chain, in the order they joined it (removed ones too, until compacted)."""
        slot = int(self._head[number])
        while slot >= 0:
            yield slot
            slot = int(self._next[slot])

    def _members(self, number: int) -> list[int]:
        """The live members of a story, in slot order."""
        live = self._slots
        found: list[int] = np.flatnonzero((self._story[:live] == number) & self._alive[:live]).tolist()
        return found

    def _merge(self, alias: str, into: str) -> None:
        if alias == into:
            return
        self._alias[alias] = into
        moved = self._number.pop(alias, None)
        if moved is None:
            return
        target = self._story_number(into, float(self._first[moved]))
        self._first[target] = min(self._first[target], self._first[moved])
        for slot in self._chain(moved):
            self._story[slot] = target
        if self._tail[target] >= 0:
            self._next[self._tail[target]] = self._head[moved]
        else:
            self._head[target] = self._head[moved]
        self._tail[target] = self._tail[moved]
        self._live[target] += self._live[moved]
        self._live[moved] = 0
        self._head[moved] = self._tail[moved] = -1

    def _freeze(self) -> None:
        """Move the vocabulary's new terms into its sorted arrays and the buffered postings into the CSR."""
        if self._vocab_new:
            hashes = np.fromiter(self._vocab_new.keys(), dtype=np.uint32, count=len(self._vocab_new))
            ids = np.fromiter(self._vocab_new.values(), dtype=np.int32, count=len(self._vocab_new))
            hashes, ids = np.concatenate([self._vocab_hashes, hashes]), np.concatenate([self._vocab_ids, ids])
            order = np.argsort(hashes, kind="stable")
            self._vocab_hashes, self._vocab_ids = hashes[order], ids[order]
            self._vocab_new = {}
        first = self._frozen
        ptr = np.full(self._terms + 1, self._ptr[-1], dtype=np.int64)
        ptr[: len(self._ptr)] = self._ptr
        if first < self._slots:
            terms = self._tid[int(self._start[first]) : self._used]
            slots = np.repeat(np.arange(first, self._slots, dtype=np.int32), self._len[first : self._slots])
            order = np.argsort(terms, kind="stable")  # by term, then slot (the order added)
            # each term's new postings go after its old ones
            self._post = np.insert(self._post, ptr[1:][terms[order]], slots[order])
            ptr[1:] += np.cumsum(np.bincount(terms, minlength=self._terms))
        self._ptr = ptr
        self._frozen = self._slots
        self._recent = {}

    def _compact(self) -> None:
        """Drop removed articles, terms no live article has and stories without articles from the arrays."""
        self._freeze()
        keep = np.flatnonzero(self._alive[: self._slots])
        slot_map = np.full(self._slots, -1, dtype=np.int32)
        slot_map[keep] = np.arange(len(keep), dtype=np.int32)
        live_terms = self._df[: self._terms] > 0
        term_map = np.full(self._terms, -1, dtype=np.int32)
        term_map[live_terms] = np.arange(int(live_terms.sum()), dtype=np.int32)
        # postings: the live ones, in their order
        alive = self._alive[self._post]
        counted = np.zeros(len(alive) + 1, dtype=np.int64)
        np.cumsum(alive, out=counted[1:])
        per_term = counted[self._ptr[1:]] - counted[self._ptr[:-1]]
        self._ptr = np.zeros(int(live_terms.sum()) + 1, dtype=np.int64)
        np.cumsum(per_term[live_terms], out=self._ptr[1:])
        self._post = slot_map[self._post[alive]]
        # terms of the live articles
        lengths = self._len[keep]
        spans = _spans(self._start[keep], lengths)
        self._tid, self._tw = term_map[self._tid[spans]], self._tw[spans]
        self._used = len(spans)
        self._start = np.cumsum(lengths, dtype=np.int64) - lengths
        self._len, self._when, self._outlet = lengths, self._when[keep], self._outlet[keep]
        self._alive, self._headline = np.ones(len(keep), dtype=np.bool_), self._headline[keep]
        self._ids = [self._ids[slot] for slot in keep.tolist()]
        self._slot = {article_id: slot for slot, article_id in enumerate(self._ids) if article_id is not None}
        self._slots = self._frozen = len(keep)
        self._front = 0
        # vocabulary
        self._vocab_ids = term_map[self._vocab_ids]
        found = self._vocab_ids >= 0
        self._vocab_hashes, self._vocab_ids = self._vocab_hashes[found], self._vocab_ids[found]
        self._hash, self._df = self._hash[: self._terms][live_terms], self._df[: self._terms][live_terms]
        self._log_df = self._log_df[: self._terms][live_terms]
        self._terms = len(self._df)
        # stories: renumbered, members linked in the order added
        stories = np.flatnonzero(self._live[: len(self._keys)] > 0)
        story_map = np.full(len(self._keys), -1, dtype=np.int32)
        story_map[stories] = np.arange(len(stories), dtype=np.int32)
        self._keys = [self._keys[number] for number in stories.tolist()]
        self._number = {key: number for number, key in enumerate(self._keys)}
        self._first, self._live = self._first[stories], self._live[stories]
        self._story = story_map[self._story[keep]]
        order = np.argsort(self._story, kind="stable")
        grouped = self._story[order]
        self._next = np.full(len(keep), -1, dtype=np.int32)
        same = grouped[1:] == grouped[:-1]
        self._next[order[:-1][same]] = order[1:][same]
        self._head = np.full(len(stories), -1, dtype=np.int32)
        self._tail = np.full(len(stories), -1, dtype=np.int32)
        if len(order):
            firsts = np.flatnonzero(np.concatenate([[True], ~same]))
            lasts = np.concatenate([firsts[1:], [len(order)]]) - 1
            self._head[grouped[firsts]], self._tail[grouped[lasts]] = order[firsts], order[lasts]

    # -- internals: deciding ------------------------------------------------------------------------

    def _count_terms(self, ids: _Array, change: float) -> None:
        """One article more (``change`` 1) or fewer (-1) with each of the terms ``ids`` (distinct)."""
        self._df[ids] += change
        self._log_df[ids] = np.log(self._df[ids] + 1.0)

    def _idf(self, ids: _Array) -> _Array:
        """log((n + 1) / (df + 1)) + 1 of each term, n the articles indexed: its two logs apart, df's kept."""
        result: _Array = (math.log(self._count + 1.0) + 1.0) - self._log_df[ids]
        return result

    def _candidates(self, q_ids: _Array, q_vec: _Array, when: float) -> _Array:
        """The articles sharing most of the query's heaviest terms, among the latest postings of each."""
        top = np.argsort(-q_vec, kind="stable")[:QUERY_TERMS]
        parts: list[_Array] = []
        frozen_terms = len(self._ptr) - 1
        for term in q_ids[top].tolist():
            have = 0
            recent = self._recent.get(term)
            if recent is not None:
                parts.append(np.frombuffer(recent, dtype=np.int32)[-POSTINGS_SCAN:])
                have = len(parts[-1])
            if have < POSTINGS_SCAN and term < frozen_terms:
                lo, hi = int(self._ptr[term]), int(self._ptr[term + 1])
                parts.append(self._post[max(lo, hi - (POSTINGS_SCAN - have)) : hi])
        if not parts:
            return np.zeros(0, dtype=np.int64)
        slots, hits = np.unique(np.concatenate(parts), return_counts=True)
        slots = slots[np.lexsort((slots, -hits))]
        usable = self._alive[slots] & (np.abs(self._when[slots] - when) <= self.window)
        chosen: _Array = slots[usable][:MAX_CANDIDATES].astype(np.int64)
        return chosen

    def _similarities(self, q_ids: _Array, q_vec: _Array, outlet: int, when: float, slots: _Array) -> _Array:
        """The scaled cosine of the query (``q_ids`` sorted, ``q_vec`` normalised) with each of ``slots``;
        NaN for an article without terms."""
        lengths = self._len[slots]
        spans = _spans(self._start[slots], lengths)
        terms = self._tid[spans]
        vec = self._tw[spans].astype(np.float64) * self._idf(terms)
        dense = self._query_scratch = _grown(self._query_scratch, self._terms)
        dense[q_ids] = q_vec  # the query as a dense vector over the vocabulary (zeroed again below)
        query = dense[terms]
        dense[q_ids] = 0.0
        # each slot's terms are one run of ``spans``: sum the runs (the empty ones are 0)
        squares, dots = np.zeros(len(slots)), np.zeros(len(slots))
        filled = lengths > 0
        if filled.any():
            runs = (np.cumsum(lengths, dtype=np.int64) - lengths)[filled]
            squares[filled] = np.add.reduceat(vec * vec, runs)
            dots[filled] = np.add.reduceat(query * vec, runs)
        norms = np.sqrt(squares)
        sims: _Array = np.full(len(slots), np.nan)
        scored = norms > 0.0
        sims[scored] = dots[scored] / norms[scored]
        sims = np.where(self._outlet[slots] == outlet, sims * self.same_outlet_factor, sims)
        scaled: _Array = sims * np.exp(-np.abs(self._when[slots] - when) / self.decay)
        return scaled

    def _update(
        self, old: int, hashes: _Array, weights: _Array, headline: bool, outlet: str, when: float, article_id: str
    ) -> _Decision | None:
        """The decision for an update of the article in slot ``old`` when its story is to be decided again (it was
        a bare headline, or too short to decide on and alone in its story, and now has text enough), else ``None``.
        The article is then no longer indexed."""
        number = int(self._story[old])
        alone = int(self._live[number]) == 1
        if headline or len(hashes) < MIN_TERMS or not (self._headline[old] or (self._len[old] < MIN_TERMS and alone)):
            return None
        key, first = self.resolve(self._keys[number]), float(self._first[number])
        self.remove(article_id)
        decision = self._decide(hashes, weights, False, outlet, when, article_id)
        if not alone:  # it joined a story on its headline: it stays only when its text agrees
            return decision
        if decision.story_key == story_key_for(article_id) and not decision.merged:
            return _Decision(key)  # alone still: its story as it was
        # its story (without a member in the index now) and the ones it was decided into become one
        firsts = {
            key: first,
            **{k: float(self._first[self._number[k]]) for k in (decision.story_key, *decision.merged)},
        }
        ordered = sorted(firsts, key=lambda k: (firsts[k], k))
        return _Decision(ordered[0], merged=tuple(ordered[1:]))

    def _decide(
        self, hashes: _Array, weights: _Array, headline: bool, outlet: str, when: float, article_id: str
    ) -> _Decision:
        own = story_key_for(article_id)
        if len(hashes) < MIN_TERMS or self._count == 0:
            return _Decision(own)
        known = self._lookup(hashes)
        seen = known >= 0
        q_ids = known[seen]
        if len(q_ids) == 0:
            return _Decision(own)
        raw = weights.astype(np.float64)
        # the query's norm counts its unseen terms too (at the highest IDF), so rare words still dilute it
        n = float(self._count)
        q_vec = raw[seen] * self._idf(q_ids)
        unseen = raw[~seen]
        q_norm = math.sqrt(float(np.dot(q_vec, q_vec)) + float(np.dot(unseen, unseen)) * (math.log(n + 1.0) + 1) ** 2)
        q_vec = q_vec / q_norm
        slots = self._candidates(q_ids, q_vec, when)
        order = np.argsort(q_ids)
        q_ids, q_vec = q_ids[order], q_vec[order]
        outlet_no = self._outlets.get(outlet, -1)
        found = self._similarities(q_ids, q_vec, outlet_no, when, slots)
        scored = ~np.isnan(found)
        if not scored.any():
            return _Decision(own)
        # every story a candidate belongs to, with all its members in the window scored (an article without
        # terms counts as 0; for an article with text, a bare headline only in a story of bare headlines); a
        # member's similarity does not depend on what it is scored with
        numbers = sorted({int(n) for n in self._story[slots[scored]]}, key=lambda number: self._keys[number])
        members = self._near_members(numbers, when, headline)
        member_sims = np.nan_to_num(self._similarities(q_ids, q_vec, outlet_no, when, members), nan=0.0)
        member_story = self._story[members]
        links: list[tuple[float, str]] = []
        for number in numbers:
            own_sims = member_sims[member_story == number]
            if len(own_sims) > self.link_k:
                own_sims = np.partition(own_sims, len(own_sims) - self.link_k)[-self.link_k :]
            best = sorted(own_sims.tolist(), reverse=True)
            if best:
                links.append((sum(best) / len(best), self._keys[number]))
        links.sort(key=lambda item: (-item[0], item[1]))
        passing = [key for link, key in links if link >= self.threshold]
        if not passing:
            older = [(link, key) for link, key in links if link >= self.thread_threshold]
            return _Decision(own, follows=older[0][1] if older else None)
        if not self.merge_stories or len(passing) == 1 or headline:
            return _Decision(passing[0])
        # the chaining guard: an article close to two stories joins the closer one, and brings the other along
        # only when the two stories are themselves that close (a report of both events must not merge them)
        joined = [passing[0]] + [
            key for key in passing[1:] if self._story_link(passing[0], key, when) >= self.thread_threshold
        ]
        ordered = sorted(joined, key=lambda key: (float(self._first[self._number[key]]), key))
        return _Decision(ordered[0], merged=tuple(ordered[1:]))

    def _near_members(self, numbers: list[int], when: float, headline: bool) -> _Array:
        """The live members of stories ``numbers`` within the window of ``when``, in slot order; for an article
        with text (not ``headline``), a bare headline only in a story of bare headlines.

        Read from the stories' chains when they are small beside the window (one article's candidates are mostly
        stories of a few articles), else by one pass over every slot: a slot costs the pass about a twentieth of
        what a step along a chain costs, but with 100,000 articles in the window the pass was most of an ``add``."""
        live = self._slots
        if int(self._live[numbers].sum()) * CHAIN_WALK_SHARE < live:
            chained = [slot for number in numbers for slot in self._chain(number)]
            found = np.sort(np.asarray(chained, dtype=np.int64))
            found = found[self._alive[found] & (np.abs(self._when[found] - when) <= self.window)]
        else:
            near = self._alive[:live] & np.isin(self._story[:live], numbers)
            found = np.flatnonzero(near & (np.abs(self._when[:live] - when) <= self.window))
        if not headline:
            stories, bare = self._story[found], self._headline[found]
            found = found[~bare | ~np.isin(stories, stories[~bare])]
        return found

    def _story_link(self, one: str, other: str, when: float) -> float:
        """The link between two stories: the mean of the :data:`LINK_K` best similarities between a member of one
        and a member of the other (members within the window of ``when``, bare headlines left out)."""
        near = [
            [
                m
                for m in self._members(self._number[key])
                if abs(self._when[m] - when) <= self.window and not self._headline[m]
            ]
            for key in (one, other)
        ]
        if not near[0] or not near[1]:
            return 0.0
        targets = np.asarray(near[0], dtype=np.int64)
        found: list[float] = []
        for slot in near[1]:
            start, stop = int(self._start[slot]), int(self._start[slot] + self._len[slot])
            ids = self._tid[start:stop]
            vec = self._tw[start:stop].astype(np.float64) * self._idf(ids)
            norm = math.sqrt(float(np.dot(vec, vec)))
            if norm == 0.0:
                continue
            order = np.argsort(ids)
            sims = self._similarities(
                ids[order], vec[order] / norm, int(self._outlet[slot]), float(self._when[slot]), targets
            )
            found.extend(v for v in sims.tolist() if not math.isnan(v))
        best = sorted(found, reverse=True)[: self.link_k]
        return sum(best) / len(best) if best else 0.0


@dataclass(frozen=True, slots=True)
class _Decision:
    story_key: str
    merged: tuple[str, ...] = ()
    follows: str | None = None
