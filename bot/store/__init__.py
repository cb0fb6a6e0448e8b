"""newsbrief's database: feeds, articles, stories and full-text search (SQLAlchemy 2.x + Alembic).

SQLite (a WAL file) is the embedded default, PostgreSQL (``postgresql+psycopg://``) the multi-process option;
:meth:`Store.upgrade` applies the migrations shipped in ``bot/store/migrations``. The public API returns the
frozen dataclasses below, never ORM objects.
"""

from bot.store._query import Query, Term, parse_query
from bot.store._store import CONTENT_IDENTITY_MIN_CHARS, Store, new_article_id, summary_to_json
from bot.store._types import (
    ArchivedArticle,
    Article,
    DigestFilter,
    DigestSlot,
    Feed,
    Lease,
    SlotOutcome,
    StoredSignature,
    Story,
    Subscription,
    TextSource,
    UpsertStatus,
)

__all__ = [
    "CONTENT_IDENTITY_MIN_CHARS",
    "ArchivedArticle",
    "Article",
    "DigestFilter",
    "DigestSlot",
    "Feed",
    "Lease",
    "Query",
    "SlotOutcome",
    "Store",
    "StoredSignature",
    "Story",
    "Subscription",
    "Term",
    "TextSource",
    "UpsertStatus",
    "new_article_id",
    "parse_query",
    "summary_to_json",
]
