"""Items mode: each new article matching a subscription's topic posted on its own, as a compact line (issue 16).

For feeds where a channel wants every item (release notes, status pages): ``/brief subscribe TOPIC items`` (or
``mode=items``; ``mode = "items"`` in ``[[subscriptions]]``). Each round (the scheduler's job sync, every minute)
:func:`run_items_round` finds, per items subscription, the eligible articles of its topic first seen since the
subscription was made (within :data:`ITEMS_WINDOW`, from its sources when it has some), oldest first, and posts
each one not posted to the channel before.

Once per channel: an item is claimed in the ledger (:meth:`bot.store.Store.claim_item`) under its keys before it
is posted: its canonical URL, and its title with its outlet (:func:`item_keys`), so the same article carried by
several feeds (stored once) and the same item published under two URLs by one outlet reach a channel once,
whichever subscription of the channel or process gets there first. A post that fails releases the claim (the next
round tries again); a channel that cannot take posts pauses the subscription. A process that dies between claim
and post leaves the item claimed and unposted: it is not posted later (at most once, never twice).
Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.briefing import Item
from bot.commands import source_feeds
from bot.digests import ChannelUnavailable, PostInterrupted
from bot.store import Article, DigestFilter, Store, Subscription

__all__ = [
    "CANDIDATES",
    "ITEMS_WINDOW",
    "MAX_PER_ROUND",
    "ItemChannel",
    "ItemsOutcome",
    "item_keys",
    "item_of",
    "item_ref",
    "new_items",
    "run_items",
    "run_items_round",
]

log = logging.getLogger("newsbrief.items")

ITEMS_WINDOW = timedelta(hours=24)
"""How far back a round looks for new items (and never before the subscription was made)."""
CANDIDATES = 200
"""Search hits considered per subscription and round."""
MAX_PER_ROUND = 20
"""Items posted per subscription and round at most (the oldest first; the rest come in the next rounds)."""

_SPACE = re.compile(r"\s+")


@runtime_checkable
class ItemChannel(Protocol):
    """Where one platform's items go: an adapter with :meth:`post_item`."""

    async def post_item(self, subscription: Subscription, item: Item, ref: str) -> str:
        """Post one item to the subscription's channel; return the message's reference. :class:`bot.digests.
        ChannelUnavailable` when the channel cannot take posts until someone acts; anything else: not posted."""
        ...


@dataclass(frozen=True, slots=True)
class ItemsOutcome:
    """What a round did for one subscription: items posted, items already in the channel (skipped), failures."""

    posted: int = 0
    skipped: int = 0
    failed: int = 0


def _norm(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _key(kind: str, text: str) -> str:
    return f"{kind}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def item_keys(article: Article) -> tuple[str, ...]:
    """The keys an item is known by in a channel's ledger: ``u:`` its canonical URL and, when it has a title,
    ``t:`` its title and outlet (case and spacing aside); hashed, at most 42 characters each."""
    keys = [_key("u", article.canonical_url or article.url)]
    title = _norm(article.title)
    if title:
        keys.append(_key("t", f"{title}\x00{_norm(article.outlet)}"))
    return tuple(keys)


def item_of(article: Article) -> Item:
    """The :class:`bot.briefing.Item` of a stored article."""
    return Item(
        article_id=article.id,
        headline=article.title,
        url=article.url,
        outlet=article.outlet,
        published_at=article.published_at,
        first_seen=article.first_seen,
    )


def item_ref(subscription: Subscription, article_id: str) -> str:
    """The reference an item's message carries: ``item:<subscription id>:<article id>``."""
    return f"item:{subscription.id}:{article_id}"


def new_items(
    store: Store,
    subscription: Subscription,
    *,
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta = ITEMS_WINDOW,
    candidates: int = CANDIDATES,
) -> list[Article]:
    """The eligible articles of the subscription's topic first seen since it was made (and within ``window``),
    from its sources when it has some, oldest first; those already in its channel are the caller's to skip."""
    query = topics.get(subscription.topic)
    if not query:
        return []
    since = max(subscription.created_at, now - window)
    feeds = source_feeds(subscription.sources, store.list_feeds()) if subscription.sources else None
    only = DigestFilter(subscription.id, renewal=1, feeds=feeds)
    hits = store.search(query, seen_since=since, limit=candidates, digest=only)
    articles = [article for article, _score in hits if article.eligible]
    return sorted(articles, key=lambda a: (a.first_seen, a.id))


async def run_items(
    store: Store,
    subscription: Subscription,
    channel: ItemChannel,
    *,
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    window: timedelta = ITEMS_WINDOW,
    limit: int = MAX_PER_ROUND,
) -> ItemsOutcome:
    """Post the subscription's new items (at most ``limit``, oldest first), each claimed in the ledger first so
    that it reaches the channel once (see the module docstring). Failures are logged, never raised; a failed post
    releases its claim and ends the round for this subscription (order kept)."""
    articles = await asyncio.to_thread(new_items, store, subscription, topics=topics, now=now, window=window)
    if not articles:
        return ItemsOutcome()
    platform, where = subscription.platform, subscription.channel
    known = {p.article_id for p in await asyncio.to_thread(store.posted_items, platform, where)}
    posted = skipped = failed = 0
    for article in articles:
        if posted >= limit:
            break
        if article.id in known:
            skipped += 1
            continue
        claimed = await asyncio.to_thread(
            store.claim_item,
            platform,
            where,
            item_keys(article),
            article_id=article.id,
            subscription_id=subscription.id,
            by=by,
            now=now,
        )
        if not claimed:  # the same item by another URL or feed, or another process was first
            skipped += 1
            continue
        try:
            message_ref = await channel.post_item(subscription, item_of(article), item_ref(subscription, article.id))
        except ChannelUnavailable as exc:
            await asyncio.to_thread(store.release_item, platform, where, article.id)
            log.warning(
                "items of subscription %s (%s %s, %s): %s; subscription paused",
                subscription.id,
                platform,
                where,
                subscription.topic,
                exc.reason,
            )
            await asyncio.to_thread(store.pause_subscription, subscription.id, exc.reason, now)
            return ItemsOutcome(posted, skipped, failed + 1)
        except Exception as exc:
            await asyncio.to_thread(store.release_item, platform, where, article.id)
            reason = exc.reason if isinstance(exc, PostInterrupted) else f"{exc.__class__.__name__}: {exc}"
            log.warning(
                "item %s of subscription %s (%s %s): not posted (%s); tried again next round",
                article.id,
                subscription.id,
                platform,
                where,
                " ".join(reason.split())[:300],
            )
            return ItemsOutcome(posted, skipped, failed + 1)
        await asyncio.to_thread(store.finish_item, platform, where, article.id, str(message_ref), now)
        posted += 1
    return ItemsOutcome(posted, skipped, failed)


async def run_items_round(
    store: Store,
    channels: Mapping[str, object],
    *,
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    subscriptions: Sequence[Subscription] | None = None,
    window: timedelta = ITEMS_WINDOW,
    limit: int = MAX_PER_ROUND,
) -> dict[int, ItemsOutcome]:
    """One round of items mode: :func:`run_items` for every unpaused items subscription (``subscriptions``, else
    the store's) whose platform has a channel in ``channels`` that posts items (:class:`ItemChannel`), by id.
    Returns the outcome per subscription id."""
    subs = subscriptions if subscriptions is not None else await asyncio.to_thread(store.list_subscriptions)
    outcomes: dict[int, ItemsOutcome] = {}
    for sub in sorted(subs, key=lambda s: s.id):
        if not sub.items or sub.paused:
            continue
        channel = channels.get(sub.platform)
        if not isinstance(channel, ItemChannel):
            continue
        outcome = await run_items(store, sub, channel, topics=topics, now=now, by=by, window=window, limit=limit)
        outcomes[sub.id] = outcome
        if outcome.posted or outcome.failed:
            log.info(
                "items of subscription %d (%s %s, %s): %d posted, %d failed",
                sub.id,
                sub.platform,
                sub.channel,
                sub.topic,
                outcome.posted,
                outcome.failed,
            )
    return outcomes
