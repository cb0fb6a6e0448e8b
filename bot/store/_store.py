"""The :class:`Store`: feeds, articles, stories and search on SQLite (embedded) or PostgreSQL.

Each concern lives in its own module, as one part built on :class:`bot.store._base.StoreBase` (engine, sessions,
schema, story lock); ``Store`` puts them together:

- ``_feeds``: feeds and their polling state;
- ``_stories`` and ``_articles``: articles (identity, updates, pruning) and the stories they are put into;
- ``_search``: full-text search;
- ``_subscriptions`` and ``_ledger``: subscriptions, and the digest ledger (slots, planned and posted stories,
  digest messages);
- ``_alerts``: the live-alert ledger (each story posted once per channel, its edits coalesced);
- ``_items``: the items ledger (each article of an items-mode subscription posted once per channel);
- ``_leases`` and ``_integrity``: named leases, and the database's integrity check.
"""

from __future__ import annotations

from bot.store._alerts import AlertStore
from bot.store._articles import CONTENT_IDENTITY_MIN_CHARS, ArticleStore, new_article_id, summary_to_json
from bot.store._base import STORY_LOCK_KEY, shipped_head
from bot.store._feeds import FeedStore
from bot.store._integrity import IntegrityStore
from bot.store._items import ItemStore
from bot.store._leases import LeaseStore
from bot.store._ledger import LedgerStore
from bot.store._search import SearchStore
from bot.store._subscriptions import SubscriptionStore

__all__ = [
    "CONTENT_IDENTITY_MIN_CHARS",
    "STORY_LOCK_KEY",
    "Store",
    "new_article_id",
    "shipped_head",
    "summary_to_json",
]


class Store(
    FeedStore,
    ArticleStore,
    SearchStore,
    SubscriptionStore,
    LedgerStore,
    AlertStore,
    ItemStore,
    LeaseStore,
    IntegrityStore,
):
    """The database behind newsbrief: SQLite file (WAL) by default, PostgreSQL for several processes.

    Every method opens its own short session and returns plain frozen dataclasses, so a ``Store`` can be shared
    by threads (the asyncio scheduler calls it through ``asyncio.to_thread``). Nothing here reads the clock:
    methods that stamp or compare times take ``now``. No method deletes or overwrites article data except
    :meth:`upsert_article` (an update of the same article) and :meth:`prune`.
    """
