"""SQLAlchemy 2.x ORM models of the store (internal: the public API returns the dataclasses of ``_types``).

The migrations in ``migrations/versions`` create these tables (plus the dialect-specific full-text search
objects, which are not mapped); a change here needs a new migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (UTC).

    Naive datetimes passed in are taken as UTC. SQLite has no time zones: values are written as naive UTC, so
    text comparison in SQL orders them correctly; PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive for SQLite)."""
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the store's models."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class FeedRow(Base):
    """A polled feed with its conditional-GET validators and failure state."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    interval_s: Mapped[int] = mapped_column(Integer, default=900)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_kind: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class StoryRow(Base):
    """A cluster of near-duplicate articles from one or more outlets."""

    __tablename__ = "stories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_seen: Mapped[datetime]
    updated_at: Mapped[datetime]
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    outlets: Mapped[list[str]] = mapped_column(JSON, default=list)
    follows: Mapped[str | None] = mapped_column(String(40))


class StoryAliasRow(Base):
    """The key of a story merged into another (``story_id``, the older, which kept its key)."""

    __tablename__ = "story_aliases"

    alias: Mapped[str] = mapped_column(String(40), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(40), index=True)
    merged_at: Mapped[datetime] = mapped_column(index=True)  # migration 0013


class ArticleRow(Base):
    """One article, stored once however many feeds carry it.

    ``pk`` is an integer surrogate used only as the rowid of the SQLite FTS5 index (a rowid that VACUUM never
    renumbers); ``id`` (``a_<12 hex>``) is the public identifier.
    """

    __tablename__ = "articles"
    # the articles whose text changed, by when (migration 0013): what a story index catching up reads
    __table_args__ = (
        Index(
            "ix_articles_updated",
            "updated_at",
            postgresql_where=text("updated_at <> first_seen"),
            sqlite_where=text("updated_at <> first_seen"),
        ),
        # a story's articles by first sight and outlet (migration 0014): what an article joining a story asks
        Index("ix_articles_story", "story_id", "first_seen", "outlet"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    guid: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    first_seen: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")
    text_source: Mapped[str] = mapped_column(String(8), default="feed")
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    summary_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    story_id: Mapped[str | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    eligible: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(32))
    # The failures to use the article's page while its text is the feed's (migration 0005).
    page_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    page_retry_at: Mapped[datetime | None]
    page_error: Mapped[str | None] = mapped_column(Text)


class FeedArticleRow(Base):
    """The link between a feed and an article it carried, with the entry's GUID in that feed."""

    __tablename__ = "feed_articles"
    __table_args__ = (Index("ix_feed_articles_feed_guid", "feed_id", "guid"),)

    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True)
    guid: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime]


class DigestCitationRow(Base):
    """An article cited by a posted digest (such articles survive ``prune``); extended by the briefing issue."""

    __tablename__ = "digest_citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("articles.id", ondelete="RESTRICT"), index=True)
    digest_ref: Mapped[str] = mapped_column(Text)
    cited_at: Mapped[datetime]


class SubscriptionRow(Base):
    """A channel's digest of one configured topic, on a schedule in a time zone (migration 0002)."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("platform", "channel", "topic", name="uq_subscriptions_platform_channel_topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    schedule: Mapped[str] = mapped_column(Text)
    tz: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(Text)
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str] | None] = mapped_column(JSON)  # feed ids and "tag:NAME"; NULL: all (migration 0008)
    team: Mapped[str | None] = mapped_column(String(32))  # the Slack workspace (OAuth installs; migration 0010)
    template: Mapped[str | None] = mapped_column(String(32))  # message template; NULL: full (migration 0012)
    mode: Mapped[str | None] = mapped_column(String(8))  # "digest" or "items"; NULL: digest (migration 0012)


class DigestSlotRow(Base):
    """The claim of one scheduled digest slot (inserted before posting; unique per subscription and slot)."""

    __tablename__ = "digest_slots"
    __table_args__ = (UniqueConstraint("subscription_id", "slot", name="uq_digest_slots_subscription_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(8))
    message_ref: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    planned: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class DigestMessageRow(Base):
    """One message of a digest (part 1, 2, ... of a slot), recorded as soon as the platform returned its id."""

    __tablename__ = "digest_messages"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_ref: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime]


class PostedStoryRow(Base):
    """A story a subscription has carried, with the story's article count when it was posted."""

    __tablename__ = "posted_stories"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    posted_at: Mapped[datetime]
    article_count_at_post: Mapped[int] = mapped_column(Integer)


class PostedItemRow(Base):
    """One key of an item (an article) posted, or being posted, to a channel in items mode (migration 0012): the
    primary key lets an item reach a channel once, whichever feed, subscription or process carries it."""

    __tablename__ = "posted_items"
    __table_args__ = (Index("ix_posted_items_article", "platform", "channel", "article_id"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_id: Mapped[str] = mapped_column(String(40))
    subscription_id: Mapped[int] = mapped_column(Integer)
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime | None]
    message_ref: Mapped[str | None] = mapped_column(Text)


class LeaseRow(Base):
    """A named lease held by one process until ``expires_at`` (the scheduler lock: one leader per deployment)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LiveAlertRow(Base):
    """One story of a live subscription in one channel: claimed, then posted (its own message) or summarized (a
    line of an overflow summary); ``edited_at`` and ``article_count`` coalesce the edits of a posted one."""

    __tablename__ = "live_alerts"
    __table_args__ = (Index("ix_live_alerts_channel_posted", "platform", "channel", "posted_at"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    marker: Mapped[str] = mapped_column(String(120))
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(200))
    message_ref: Mapped[str | None] = mapped_column(Text, default=None)
    thread_ref: Mapped[str | None] = mapped_column(Text, default=None)
    posted_at: Mapped[datetime | None] = mapped_column(default=None)
    edited_at: Mapped[datetime | None] = mapped_column(default=None)
    article_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    outlets: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
