"""The reference point: plain TF-IDF cosine with online single-link (each article joins the story of its most
similar earlier article when the cosine reaches :data:`BASELINE_THRESHOLD`)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from bot.identity import story_key_for
from bot.stories._index import _STOPWORDS
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
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, article in enumerate(articles):
        for word, count in _counts(article).items():
            rows.append(i)
            cols.append(vocab.setdefault(word, len(vocab)))
            vals.append(1.0 + math.log(count))
    # the term-frequency matrix as coordinate arrays, row by row (rows ascending, as built)
    row = np.asarray(rows, dtype=np.int64)
    col = np.asarray(cols, dtype=np.int64)
    tf = np.asarray(vals, dtype=np.float64)
    ends = np.searchsorted(row, np.arange(len(articles)), side="right")
    df = np.zeros(max(1, len(vocab)))
    keys: list[str] = []
    for i, article in enumerate(articles):
        start, end = (ends[i - 1] if i else 0), ends[i]
        df[col[start:end]] += 1.0
        key = story_key_for(article.id)
        if i:
            idf = np.log((i + 2.0) / (df + 1.0)) + 1.0
            weighted = tf[:end] * idf[col[:end]]
            norms = np.sqrt(np.bincount(row[:end], weights=weighted * weighted, minlength=i + 1))
            norms[norms == 0] = 1.0
            query = np.zeros(len(df))
            query[col[start:end]] = weighted[start:end]
            dots = np.bincount(row[:start], weights=weighted[:start] * query[col[:start]], minlength=i)
            sims = dots / (norms[:i] * norms[i])
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                key = keys[best]
        keys.append(key)
    return {article.id: key for article, key in zip(articles, keys, strict=True)}
