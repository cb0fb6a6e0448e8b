"""Near-duplicate story clustering: MinHash signatures over word features, an LSH index over them."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from datasketch import MinHash

NUM_PERM = 128
"""Permutations per signature."""
SCHEME = "affine32"
"""datasketch's hashing scheme (datasketch >= 2.0); part of the stored format, like the seed."""
_FORMAT = b"\x01"
"""Stored signature = this version byte + ``NUM_PERM`` little-endian uint32 hash values (513 bytes)."""
SEED = 1
"""MinHash seed: fixed, so signatures computed in different processes and runs are comparable."""
LEAD_WORDS = 200
"""Only the title and the first ``LEAD_WORDS`` content words of the text are hashed (see :func:`features`)."""
MERGE_THRESHOLD = 0.2
"""Estimated Jaccard similarity at or above which two articles of *different* outlets are one story."""
MIN_FEATURES = 12
"""A text with fewer features (a bare headline, an empty entry) is too little evidence: it starts its own story."""
SAME_OUTLET_THRESHOLD = 0.9
"""Similarity needed between two articles of the *same* outlet: only a near-verbatim copy (an outlet's own
boilerplate, repeated around short items, can make unrelated articles 0.6-0.7 similar)."""

_WORD = re.compile(r"\w+")
# Function words and newsroom filler: shared by any two English news texts, so they say nothing about the story.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say told according new one two may might must shall year years week weeks day
days monday tuesday wednesday thursday friday saturday sunday mr mrs ms dr
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def features(text: str) -> set[str]:
    """The feature set a signature is computed from: content words and adjacent content-word pairs.

    The text is NFKC-normalized and case-folded; words are ``\\w+`` runs; stopwords and one-letter words are
    dropped (digits are kept: figures such as casualty counts or magnitudes identify events). Only the first
    :data:`LEAD_WORDS` content words count, so a long page and a short feed summary of the same story stay
    comparable and trailing boilerplate (newsletter prompts, related links) weighs little. Pairs ("bigrams")
    reward shared names and phrasing over a shared topic vocabulary.
    """
    words = [
        w
        for w in _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())
    ][:LEAD_WORDS]
    feats = set(words)
    feats.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return feats


def _datasketch() -> Any:
    """datasketch, imported on first use: it pulls in scipy (half a second), which CLI commands such as
    ``feeds list`` that only touch the store should not pay for."""
    import datasketch

    return datasketch


def _minhash(feats: Iterable[str]) -> MinHash:
    mh: MinHash = _datasketch().MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    encoded = [f.encode("utf-8") for f in feats]
    if encoded:
        mh.update_batch(encoded)
    return mh


def signature(text: str) -> bytes:
    """The MinHash signature of ``text`` (title and body joined) as bytes, for storing beside the article."""
    return _to_bytes(_minhash(features(text)))


def _values(mh: MinHash) -> np.ndarray[Any, Any]:
    return np.asarray(mh.hashvalues, dtype="<u4")


def _to_bytes(mh: MinHash) -> bytes:
    return _FORMAT + bytes(_values(mh).tobytes())


def _from_bytes(data: bytes) -> MinHash:
    if len(data) != 1 + NUM_PERM * 4 or data[:1] != _FORMAT:
        raise ValueError(f"not a version-1 story signature ({1 + NUM_PERM * 4} bytes expected, got {len(data)})")
    values = np.frombuffer(data, dtype="<u4", offset=1).astype(np.uint64)
    mh: MinHash = _datasketch().MinHash(num_perm=NUM_PERM, seed=SEED, hashvalues=values, scheme=SCHEME)
    return mh


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two stored signatures (0.0-1.0)."""
    return float(_from_bytes(a).jaccard(_from_bytes(b)))


def story_key_for(article_id: str) -> str:
    """The key of the story an article starts: ``a_<hex>`` gives ``s_<hex>``, any other id ``s_<id>``."""
    return f"s_{article_id[2:]}" if article_id.startswith("a_") else f"s_{article_id}"


@dataclass(frozen=True, slots=True)
class _Entry:
    values: np.ndarray[Any, Any]  # the signature's hash values: a MinHash object would keep 4x the memory
    outlet: str
    story_key: str


class StoryIndex:
    """An in-memory LSH index of article signatures that assigns each added article to a story.

    An article joins the story of its most similar indexed article when the estimated Jaccard similarity of their
    :func:`features` is at least ``threshold`` (articles of different outlets) or ``same_outlet_threshold``
    (articles of one outlet, so that an outlet's shared boilerplate never glues its unrelated articles together);
    otherwise it starts a new story keyed :func:`story_key_for` its id. Stories are never merged afterwards, so
    a story key, once given, is stable.

    Persistence: the store keeps each article's signature bytes (:meth:`signature_of`) and story id; on start
    :meth:`restore` (or :meth:`rebuild`) refills an index from them without re-reading any text, and it then
    answers exactly as the index it was saved from. Not thread-safe: use it from one thread or task.
    """

    def __init__(
        self, *, threshold: float = MERGE_THRESHOLD, same_outlet_threshold: float = SAME_OUTLET_THRESHOLD
    ) -> None:
        """An empty index; thresholds are estimated-Jaccard values in (0, 1]."""
        if not 0.0 < threshold <= 1.0 or not 0.0 < same_outlet_threshold <= 1.0:
            raise ValueError("story thresholds must lie in (0, 1]")
        self.threshold = threshold
        self.same_outlet_threshold = same_outlet_threshold
        # Missing a true pair is worse than checking a few extra candidates (each is verified against the
        # threshold), so the band layout favours recall: 64 bands of 2 rows at the default threshold.
        self._lsh = _datasketch().MinHashLSH(
            threshold=min(threshold, same_outlet_threshold), num_perm=NUM_PERM, weights=(0.1, 0.9)
        )
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        """The number of indexed articles."""
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        """Whether ``article_id`` is indexed."""
        return article_id in self._entries

    def _ranked(self, mh: MinHash, outlet: str | None) -> list[tuple[float, str]]:
        ranked: list[tuple[float, str]] = []
        if mh.is_empty():
            return ranked
        values = _values(mh)
        for candidate in self._lsh.query(mh):
            entry = self._entries[candidate]
            score = float(np.count_nonzero(values == entry.values)) / NUM_PERM  # MinHash.jaccard, minus its checks
            needed = self.same_outlet_threshold if outlet is not None and entry.outlet == outlet else self.threshold
            if score >= needed:
                ranked.append((score, candidate))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return ranked

    def find(self, text: str, *, outlet: str | None = None) -> list[str]:
        """Ids of indexed articles similar enough to ``text`` to share its story, most similar first.

        With ``outlet`` given, articles of that outlet must pass the stricter same-outlet threshold.
        """
        feats = features(text)
        if len(feats) < MIN_FEATURES:
            return []
        return [article_id for _, article_id in self._ranked(_minhash(feats), outlet)]

    def add(self, article_id: str, text: str, outlet: str, *, signature: bytes | None = None) -> str:
        """Index an article (title and body joined in ``text``) and return its story key.

        The key is that of the most similar indexed article when one passes the threshold, else a new key
        (:func:`story_key_for` ``article_id``). Adding an id again re-indexes it (its story key is kept).
        A precomputed ``signature`` (from :func:`signature` of the same text) skips hashing. A text of fewer
        than :data:`MIN_FEATURES` features never joins a story (but later, longer articles may join its story).
        """
        feats = features(text)
        mh = _from_bytes(signature) if signature is not None else _minhash(feats)
        previous = self._entries.get(article_id)
        if previous is not None:
            self.remove(article_id)
            return self._insert(article_id, mh, outlet, previous.story_key)
        too_short = signature is None and len(feats) < MIN_FEATURES
        ranked = [] if too_short else self._ranked(mh, outlet)
        key = self._entries[ranked[0][1]].story_key if ranked else story_key_for(article_id)
        return self._insert(article_id, mh, outlet, key)

    def restore(self, article_id: str, signature: bytes, outlet: str, story_key: str) -> None:
        """Put back an article saved earlier (its stored signature, outlet and story id) without re-clustering."""
        if article_id in self._entries:
            self.remove(article_id)
        self._insert(article_id, _from_bytes(signature), outlet, story_key)

    @classmethod
    def rebuild(
        cls,
        rows: Iterable[tuple[str, bytes, str, str | None]],
        *,
        threshold: float = MERGE_THRESHOLD,
        same_outlet_threshold: float = SAME_OUTLET_THRESHOLD,
    ) -> StoryIndex:
        """A new index restored from ``(article_id, signature, outlet, story_key)`` rows (e.g. the store's
        :class:`~bot.store.StoredSignature` values); a row without a story key gets :func:`story_key_for` its id."""
        index = cls(threshold=threshold, same_outlet_threshold=same_outlet_threshold)
        for article_id, sig, outlet, story_key in rows:
            index.restore(article_id, sig, outlet, story_key or story_key_for(article_id))
        return index

    def remove(self, article_id: str) -> None:
        """Forget an article (a no-op when it is not indexed), e.g. after the store pruned it."""
        if self._entries.pop(article_id, None) is not None:
            self._lsh.remove(article_id)

    def signature_of(self, article_id: str) -> bytes:
        """The stored form of an indexed article's signature (KeyError when it is not indexed)."""
        return _FORMAT + self._entries[article_id].values.tobytes()

    def story_of(self, article_id: str) -> str | None:
        """The story key of an indexed article, or ``None``."""
        entry = self._entries.get(article_id)
        return entry.story_key if entry else None

    def _insert(self, article_id: str, mh: MinHash, outlet: str, story_key: str) -> str:
        self._lsh.insert(article_id, mh)
        self._entries[article_id] = _Entry(_values(mh), outlet, story_key)
        return story_key
