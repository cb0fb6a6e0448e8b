"""The reference point: plain TF-IDF cosine with online single-link (each article joins the story of its most
similar earlier article when the cosine reaches :data:`BASELINE_THRESHOLD`)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

from bot.stories._index import _STOPWORDS, story_key_for
from bot.stories.eval._data import EvalArticle

BASELINE_THRESHOLD = 0.26
"""Tuned on the dev sets with bench/tune_stories.py (the best single threshold over both, cross-validated)."""

_WORD = re.compile(r"\w+")


def _counts(article: EvalArticle) -> Counter[str]:
    text = unicodedata.normalize("NFKC", f"{article.title}\n{article.text}").casefold()
    return Counter(w for w in _WORD.findall(text) if w not in _STOPWORDS and (len(w) > 1 or w.isdigit()))


def baseline_group(articles: Sequence[EvalArticle], *, threshold: float = BASELINE_THRESHOLD) -> dict[str, str]:
    """Article id -> story key, articles taken in the given order; IDF counts the articles seen so far."""
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, article in enumerate(articles):
        for word, count in _counts(article).items():
            rows.append(i)
            cols.append(vocab.setdefault(word, len(vocab)))
            vals.append(1.0 + math.log(count))
    tf = sparse.csr_matrix((vals, (rows, cols)), shape=(len(articles), max(1, len(vocab))))
    present = tf.copy()
    present.data[:] = 1.0
    df = np.zeros(tf.shape[1])
    keys: list[str] = []
    for i, article in enumerate(articles):
        df += present.getrow(i).toarray().ravel()
        key = story_key_for(article.id)
        if i:
            idf = np.log((i + 2.0) / (df + 1.0)) + 1.0
            weighted = tf[: i + 1].multiply(idf).tocsr()
            norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            sims = (weighted[:i] @ weighted[i].T).toarray().ravel() / (norms[:i] * norms[i])
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                key = keys[best]
        keys.append(key)
    return {article.id: key for article, key in zip(articles, keys, strict=True)}
