"""newsbrief's database: feeds, articles, stories and full-text search (SQLAlchemy 2.x + Alembic).

SQLite (a WAL file) is the embedded default, PostgreSQL (``postgresql+psycopg://``) the multi-process option;
:meth:`Store.upgrade` applies the migrations shipped in ``bot/store/migrations``. The public API returns the
frozen dataclasses below, never ORM objects. A database that cannot be reached raises :class:`StoreUnavailable`
from any method; a :class:`StoreWatch` logs its going away and coming back once each.
"""

from bot.store._errors import StoreUnavailable, StoreWatch
from bot.store._query import Query, Term, parse_query
from bot.store._store import CONTENT_IDENTITY_MIN_CHARS, STORY_LOCK_KEY, Store, new_article_id, summary_to_json
from bot.store._types import (
    ArchivedArticle,
    Article,
    ArticleInput,
    DigestFilter,
    DigestSlot,
    Feed,
    Lease,
    LiveAlert,
    LiveAlertState,
    NewFeed,
    PostedItem,
    SlotOutcome,
    StoredSignature,
    Story,
    StoryAssigner,
    StoryAssignment,
    StoryChanges,
    Subscription,
    TextSource,
    UpsertStatus,
)

__all__ = [
    "CONTENT_IDENTITY_MIN_CHARS",
    "STORY_LOCK_KEY",
    "ArchivedArticle",
    "Article",
    "ArticleInput",
    "DigestFilter",
    "DigestSlot",
    "Feed",
    "Lease",
    "LiveAlert",
    "LiveAlertState",
    "NewFeed",
    "PostedItem",
    "Query",
    "SlotOutcome",
    "Store",
    "StoreUnavailable",
    "StoreWatch",
    "StoredSignature",
    "Story",
    "StoryAssigner",
    "StoryAssignment",
    "StoryChanges",
    "Subscription",
    "Term",
    "TextSource",
    "UpsertStatus",
    "new_article_id",
    "parse_query",
    "summary_to_json",
]
