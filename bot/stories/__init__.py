"""Article identity and story clustering (pure: no database, network or clock).

- :func:`canonical_url` and :func:`content_hash`: the keys the store deduplicates articles by;
- :class:`StoryIndex`: MinHash/LSH near-duplicate clustering of articles from different outlets into stories,
  rebuilt on start from the signatures the store keeps (:func:`signature`).
"""

from bot.stories._identity import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    content_hash,
    normalize_text,
    outlet_of,
)
from bot.stories._index import (
    MERGE_THRESHOLD,
    MIN_FEATURES,
    NUM_PERM,
    SAME_OUTLET_THRESHOLD,
    StoryIndex,
    features,
    signature,
    similarity,
    story_key_for,
)

__all__ = [
    "MERGE_THRESHOLD",
    "MIN_FEATURES",
    "NUM_PERM",
    "SAME_OUTLET_THRESHOLD",
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "StoryIndex",
    "canonical_url",
    "content_hash",
    "features",
    "normalize_text",
    "outlet_of",
    "signature",
    "similarity",
    "story_key_for",
]
