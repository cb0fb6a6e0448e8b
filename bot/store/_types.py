"""Plain frozen values returned by :class:`bot.store.Store` (never ORM objects, so no session leaks out)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from summarizer import Summary

UpsertStatus = Literal["new", "updated", "unchanged"]
"""What :meth:`bot.store.Store.upsert_article` did: stored a new article, replaced its text, or nothing."""

TextSource = Literal["page", "feed"]
"""Where an article's text came from: the fetched page, or the feed's own content/summary."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed as stored, with its polling and failure state."""

    id: int
    url: str
    name: str | None
    interval_s: int
    tags: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    consecutive_failures: int
    last_error_kind: str | None
    last_error: str | None
    last_error_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    backfilled: bool
    created_at: datetime

    @property
    def enabled(self) -> bool:
        """Whether the feed is polled (not disabled)."""
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed to add (:meth:`bot.store.Store.add_feeds`): its URL, name, poll interval in seconds and tags."""

    url: str
    name: str | None = None
    interval_s: int = 900
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleInput:
    """An article to store as it was met in a feed (or alone): what :meth:`bot.store.Store.upsert_article` takes
    as keywords, as one value for :meth:`bot.store.Store.upsert_articles`. ``summary`` is a
    :class:`summarizer.Summary` or its JSON form; ``text_source`` is ``"page"`` or ``"feed"``."""

    url: str | None
    title: str | None
    text: str
    now: datetime
    feed_id: int | None = None
    guid: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    text_source: str = "feed"
    summary: Summary | Mapping[str, Any] | None = None
    language: str | None = None
    eligible: bool = True
    outlet: str | None = None
    minhash: bytes | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An article as stored. ``feeds`` are the URLs of every feed that carried it (sorted).

    ``summary`` is the JSON stored at ingest, :meth:`summarizer.Summary.to_dict`'s form (``{"sentences": [...],
    "quotes": [{"text", "start", "end", "speaker", ...}, ...], ...}``, read back by ``Summary.from_dict``), or
    ``None`` before summarizing. ``eligible`` is false for backlog entries (a new feed's first poll), which digests
    skip.

    While the text is the feed's, ``page_error`` is why the article's page was not used (``None``: no failure
    yet), ``page_attempts`` how many times that happened, and ``page_retry_at`` when the page may be fetched
    again (``None`` after a failure: never, the page was given up); text taken from the page clears all three.
    """

    id: str
    url: str
    canonical_url: str
    guid: str | None
    title: str
    author: str | None
    outlet: str
    published_at: datetime | None
    first_seen: datetime
    updated_at: datetime
    text: str
    text_source: str
    content_hash: str
    summary: dict[str, Any] | None
    story_id: str | None
    eligible: bool
    language: str | None
    feeds: tuple[str, ...] = field(default=())
    page_attempts: int = 0
    page_retry_at: datetime | None = None
    page_error: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """A cluster of articles about one event: when it was first seen, how many articles, which outlets."""

    id: str
    first_seen: datetime
    updated_at: datetime
    article_count: int
    outlets: tuple[str, ...]
    follows: str | None = None
    """The earlier story of the same thread this one follows up (a new event of a running story), if any."""


@dataclass(frozen=True, slots=True)
class StoryAssignment:
    """The story an article belongs to, as a story-assignment callback of :meth:`bot.store.Store.upsert_article`
    decides it: the story's key (created when new), the article's signature to store (``None`` keeps it), the
    stories the article joined together into this one (``merged``: they become aliases of it) and, for a new
    story, the earlier story it follows up (``follows``)."""

    story_id: str
    signature: bytes | None = None
    merged: tuple[str, ...] = ()
    follows: str | None = None


StoryAssigner = Callable[[Article], StoryAssignment]
"""Decides an article's story inside the transaction that stores it (see :meth:`bot.store.Store.upsert_article`)."""


@dataclass(frozen=True, slots=True)
class StoryChanges:
    """What other processes wrote since a story index last looked (:meth:`bot.store.Store.story_changes`): the
    story terms of the articles stored or changed (in row order) and the stories merged (alias -> story now)."""

    signatures: list[StoredSignature]
    aliases: dict[str, str]


@dataclass(frozen=True, slots=True)
class ArchivedArticle:
    """What regrouping the archive into stories reads of an article (``newsbrief stories rebuild``): ``terms``
    are its stored story terms (``None`` when it has none)."""

    article_id: str
    title: str
    text: str
    outlet: str
    published_at: datetime | None
    first_seen: datetime
    story_id: str | None
    terms: bytes | None


@dataclass(frozen=True, slots=True)
class StoredSignature:
    """What :class:`bot.stories.StoryIndex` needs to restore one article on start (``signature``: its stored
    story terms; ``row``: its row number, increasing with every article stored; ``updated_at``: when it was
    stored, or its text last changed)."""

    article_id: str
    signature: bytes
    outlet: str
    story_id: str | None
    published_at: datetime | None = None
    first_seen: datetime | None = None
    row: int = 0
    updated_at: datetime | None = None


SlotOutcome = Literal["posted", "empty", "failed"]
"""How a claimed digest slot ended: a digest was posted, there was nothing new, or posting failed."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's digest of one topic: ``schedule`` is the normalized schedule text ("daily 08:00", "hourly",
    a cron expression), ``tz`` an IANA time zone name; a paused subscription posts nothing."""

    id: int
    platform: str
    channel: str
    topic: str
    schedule: str
    tz: str
    created_at: datetime
    created_by: str | None
    paused_at: datetime | None
    paused_reason: str | None
    sources: tuple[str, ...] = ()
    """The feeds its digests draw on: feed ids ("3") and feed tags ("tag:world"); empty: the whole archive."""
    team: str | None = None
    """The Slack workspace (team id) of the channel when the app is installed in many workspaces (OAuth);
    ``None``: the one workspace of SLACK_BOT_TOKEN."""
    template: str | None = None
    """The message template its messages use (``full``, ``compact``, ``headlines`` or a config template's name);
    ``None``: ``full``."""
    mode: str = "digest"
    """``digest``: scheduled digests; ``items``: each new matching article posted as a compact line."""

    @property
    def items(self) -> bool:
        """Whether each new matching article is posted on its own (items mode) instead of in digests."""
        return self.mode == "items"

    @property
    def paused(self) -> bool:
        """Whether digests are paused."""
        return self.paused_at is not None


@dataclass(frozen=True, slots=True)
class DigestSlot:
    """The claim of one scheduled digest slot and (once finished) its outcome."""

    subscription_id: int
    slot: str
    claimed_at: datetime
    claimed_by: str
    outcome: SlotOutcome | None
    message_ref: str | None
    finished_at: datetime | None
    planned: dict[str, int] | None = None
    """The stories (key -> article count) the digest set out to post, once built (see ``Store.plan_slot``)."""
    note: str | None = None
    """Why the claim, still in flight, could not be checked yet (see ``Store.note_slot``); cleared when finished."""


@dataclass(frozen=True, slots=True)
class DigestFilter:
    """What a subscription's digest may carry, applied by :meth:`bot.store.Store.search` in the query itself (so
    the rows left out never use up its ``limit``, nor a briefing's cut): eligible articles only (no backlog), and
    none of a story already posted to the subscription (``posted_stories``) or planned by its digests in flight
    (``in_flight``: key -> article count then), unless the story has gained at least ``renewal`` articles since.
    A story's key is its id; an article without a story is its own story, keyed by its id, of one article. With
    ``feeds``, only articles that one of those feeds carried match (so a story is in when one of them reported it)."""

    subscription_id: int
    renewal: int
    in_flight: Mapping[str, int] = field(default_factory=dict)
    feeds: frozenset[int] | None = None
    """Only articles of these feeds (a subscription limited to chosen sources); ``None``: any feed."""


@dataclass(frozen=True, slots=True)
class PostedItem:
    """An item (article) claimed for, and once posted, in a channel (items mode): ``message_ref`` and
    ``posted_at`` are ``None`` while it is being posted (or when its poster died before recording it)."""

    platform: str
    channel: str
    article_id: str
    subscription_id: int
    claimed_at: datetime
    claimed_by: str
    posted_at: datetime | None
    message_ref: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    """A named lease: who holds it, since when, and until when (unless renewed)."""

    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


LiveAlertState = Literal["claimed", "posted", "summarized"]
"""Where a live alert stands: claimed (being posted, or its poster died before recording it), posted as its own
message, or summarized (a line of one overflow summary message)."""


@dataclass(frozen=True, slots=True)
class LiveAlert:
    """A story of a live subscription in one channel (the ledger of :mod:`bot.alerts`): claimed once per
    (platform, channel, story), then posted or summarized. ``marker`` is what the message carries on the platform
    (so a crash between posting and recording is recovered by looking); ``message_ref`` the platform's reference
    of the message (the summary's, for a summarized story); ``thread_ref`` the message a follow-up replied to;
    ``article_count``/``outlets`` what the message shows; ``edited_at`` its last edit."""

    platform: str
    channel: str
    story_id: str
    subscription_id: int
    state: LiveAlertState
    marker: str
    claimed_at: datetime
    claimed_by: str
    message_ref: str | None = None
    thread_ref: str | None = None
    posted_at: datetime | None = None
    edited_at: datetime | None = None
    article_count: int = 0
    outlets: int = 0
