"""Article identity and story clustering (pure: no database, network or clock).

- :func:`canonical_url` and :func:`content_hash`: the keys the store deduplicates articles by;
- :class:`StoryIndex`: groups reports of one event from different outlets into stories (TF-IDF vectors, IDF
  from the archive, average link within days), rebuilt on start from the terms the store keeps
  (:func:`article_terms`, :func:`signature`); ``python -m bot.stories.eval`` measures it;
- :func:`regroup`: the archive regrouped with the current algorithm (``newsbrief stories rebuild``).
"""

from bot.identity import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    content_hash,
    normalize_text,
    outlet_of,
    story_key_for,
)
from bot.stories._index import (
    EVENT_WINDOW,
    LINK_K,
    MERGE_THRESHOLD,
    MIN_TERMS,
    SAME_OUTLET_FACTOR,
    THREAD_THRESHOLD,
    StoryDecision,
    StoryIndex,
    Terms,
    article_terms,
    signature,
    story_time,
)
from bot.stories._regroup import Regrouping, StoredArticle, StoryFacts, regroup

__all__ = [
    "EVENT_WINDOW",
    "LINK_K",
    "MERGE_THRESHOLD",
    "MIN_TERMS",
    "SAME_OUTLET_FACTOR",
    "THREAD_THRESHOLD",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "Regrouping",
    "StoredArticle",
    "StoryDecision",
    "StoryFacts",
    "StoryIndex",
    "Terms",
    "article_terms",
    "canonical_url",
    "content_hash",
    "normalize_text",
    "outlet_of",
    "regroup",
    "signature",
    "story_key_for",
    "story_time",
]
