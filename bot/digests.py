"""Digests: per subscription, the stories of its topic not yet posted to its channel.

:func:`build_digest` makes the briefing of a subscription's topic over the digest window without backlog and
without the stories already posted to that subscription, unless they gained at least ``renewal`` articles since
(substantial new reporting): these are left out in the search, before ranking and the ``limit`` cut
(:class:`bot.store.DigestFilter`); nothing left means no digest (``None``): an empty digest is not posted.

:func:`run_digest` is exactly-once per subscription and slot: it first claims the slot (a row with a unique
(subscription, slot) key, committed before anything is posted, so a restart or a second process on the same
database finds it taken), then builds, posts through the injected ``post`` callable (the chat adapter), and
records the outcome, the stories posted and the cited articles. A failure is recorded, never raised; an
interruption that may pass (:class:`PostInterrupted`: the platform's server error, a timeout) leaves the claim in
flight, and :func:`recover_digest` later asks the platform whether it got there and posts it if not.

The ledger of messages: an adapter that reports parts (:class:`ReportsParts`) tells each message's reference as
soon as the platform returned it, and :func:`digest_poster` records it with the claim
(:meth:`bot.store.Store.record_digest_message`); :func:`recover_digest` consults these first, and asks the
platform only when none was recorded (the answer was lost, or the process died before recording). A platform
that cannot be asked (e.g. the bot may not read the channel's history: :class:`HistoryUnreadable`) leaves the
claim in flight, never "not there": the reason is written on the claim once (``subs list`` and ``doctor``
show it) and logged once.

:func:`sync_config_subscriptions` adds ``[[subscriptions]]`` of the config (validated with it:
:attr:`bot.config.Settings.subscriptions`) to the store.
Nothing here reads the clock: ``now`` is passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

from bot.briefing import FULL, Briefing, StoryBrief, Template, make_briefing, resolve_template
from bot.commands import source_feeds
from bot.config import PLATFORMS, Settings, SubscriptionConfig, SubscriptionError, check_subscription
from bot.schedules import DEFAULT_SCHEDULE, DEFAULT_TZ
from bot.store import Article, DigestFilter, DigestSlot, Store, Subscription

__all__ = [
    "DEFAULT_SCHEDULE",
    "DEFAULT_TZ",
    "DIGEST_WINDOW",
    "PLATFORMS",
    "RENEWAL",
    "SEARCH_MARGIN",
    "BuildLocks",
    "ChannelUnavailable",
    "DigestChannel",
    "DigestOutcome",
    "HistoryUnreadable",
    "PartPosted",
    "PostInterrupted",
    "ReportsParts",
    "SubscriptionConfig",
    "SubscriptionError",
    "build_digest",
    "check_subscription",
    "digest_poster",
    "digest_ref",
    "parse_subscriptions",
    "part_recorder",
    "recover_digest",
    "run_digest",
    "search_from",
    "slot_key",
    "slot_time",
    "story_refs",
    "sync_config_subscriptions",
]

log = logging.getLogger("newsbrief.digests")

DIGEST_WINDOW = timedelta(hours=24)
"""How far back a digest looks."""
RENEWAL = 2
"""A story already posted returns when it gained at least this many articles since."""
CONFIG_CREATOR = "config"
"""``created_by`` of the subscriptions synced from ``[[subscriptions]]``."""
SEARCH_MARGIN = timedelta(minutes=5)
"""How far before a slot's claim the platform is searched for its digest (clocks differ a little)."""


class ChannelUnavailable(Exception):
    """Raised by an adapter when a subscription's channel cannot take posts until someone acts (the bot was
    removed from it, it was deleted or archived, the token was revoked): the subscription is paused with
    ``reason``, shown by ``newsbrief subs list``, instead of failing on every slot."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PostInterrupted(Exception):
    """Raised by an adapter when posting failed in a way that may pass by itself and leaves it unknown whether
    the message got there (the platform answered a server error, timed out, or the connection dropped): the
    claim stays in flight ("retry"), and the next recovery pass asks the platform (:meth:`DigestChannel.
    find_digest`) and posts the digest only if it is not there, until the misfire grace time is over."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HistoryUnreadable(Exception):
    """Raised by an adapter's :meth:`DigestChannel.find_digest` when it cannot tell whether a digest is in a
    channel because it may not read the channel (e.g. Slack ``not_in_channel`` on ``conversations.history`` for a
    bot that may post there but is no member; Discord without Read Message History): never "not there". The
    claim stays in flight with ``reason`` written on it, until someone fixes the permission."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


PartPosted = Callable[[int, str], Awaitable[None]]
"""Told by an adapter as soon as the platform returned a digest message it posted: the part number (1, 2, ... of
a digest split over several messages) and the message's reference (as :meth:`DigestChannel.post_digest` returns
for the first part)."""


class DigestChannel(Protocol):
    """Where one platform's digests go: the adapter's side of the scheduler."""

    async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
        """Post the digest to the subscription's channel; return the message's reference. ``ref``
        (:func:`digest_ref`: subscription and slot) goes with the message where the platform can keep it, so
        that :meth:`find_digest` can find it after a crash."""
        ...

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """The reference of a digest posted with ``ref`` since ``since``, if the platform has it; ``None`` when it
        was not posted. :class:`HistoryUnreadable` (or another exception) when the platform cannot tell: then it
        is not posted again, the claim stays in flight."""
        ...


@runtime_checkable
class ReportsParts(Protocol):
    """A :class:`DigestChannel` that reports each message of a digest as soon as the platform returned it
    (``reports_parts`` true): its ``post_digest`` takes ``on_part`` (:data:`PartPosted`), awaited once per part
    posted (or found on the platform when a part is tried again). :func:`digest_poster` passes the ledger's
    recorder; a channel without it is posted to as a plain :class:`DigestChannel`."""

    reports_parts: bool

    async def post_digest(
        self, subscription: Subscription, briefing: Briefing, ref: str, *, on_part: PartPosted | None = None
    ) -> str:
        """As :meth:`DigestChannel.post_digest`, telling ``on_part`` of each message posted."""
        ...

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """As :meth:`DigestChannel.find_digest`."""
        ...


DigestOutcome = Literal["posted", "empty", "failed", "skipped", "retry"]
"""What :func:`run_digest` did: posted, nothing new (not posted), posting failed, the slot was already
claimed (by this or another process), or posting was interrupted (:class:`PostInterrupted`: the claim stays in
flight for :func:`recover_digest`)."""


def part_recorder(store: Store, subscription: Subscription, slot: str, *, now: datetime) -> PartPosted:
    """The :data:`PartPosted` that records each message of a slot's digest in the ledger
    (:meth:`bot.store.Store.record_digest_message`) as ``now``. A failure to record is logged, never raised: the
    message is on the platform, and the search of its history still finds it."""

    async def record(part: int, message_ref: str) -> None:
        try:
            await asyncio.to_thread(store.record_digest_message, subscription.id, slot, part, message_ref, now=now)
        except Exception as exc:
            log.warning(
                "digest of subscription %s for slot %s: part %d (%s) could not be written down: %s: %s",
                subscription.id,
                slot,
                part,
                message_ref,
                exc.__class__.__name__,
                str(exc)[:200],
            )

    return record


def digest_poster(
    store: Store, channel: DigestChannel, subscription: Subscription, slot: str, *, now: datetime
) -> Callable[[Briefing], Awaitable[str]]:
    """The ``post`` of :func:`run_digest` and :func:`recover_digest` for a slot's digest on ``channel``: tagged
    with :func:`digest_ref`; a channel that reports parts (:class:`ReportsParts`) has each message recorded in
    the ledger as soon as the platform returned it (:func:`part_recorder`)."""
    ref = digest_ref(subscription, slot)
    if isinstance(channel, ReportsParts) and channel.reports_parts:
        reporting = channel
        on_part = part_recorder(store, subscription, slot, now=now)

        async def post_reporting(briefing: Briefing) -> str:
            return await reporting.post_digest(subscription, briefing, ref, on_part=on_part)

        return post_reporting

    async def post(briefing: Briefing) -> str:
        return await channel.post_digest(subscription, briefing, ref)

    return post


def slot_key(scheduled: datetime) -> str:
    """The key of a digest slot: the scheduled time's UTC minute in ISO form, e.g. ``2024-05-01T08:00Z``."""
    if scheduled.tzinfo is None:
        raise ValueError("slot_key: the scheduled time must be timezone-aware")
    return scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def digest_ref(subscription: Subscription, slot: str) -> str:
    """The reference a digest's article citations carry: ``sub:<id>:<slot>``."""
    return f"sub:{subscription.id}:{slot}"


@dataclass(frozen=True, slots=True)
class StoryRef:
    """What a digest records of one story: its key in ``posted_stories`` (the story id, or the article id of a
    story-less article), its article count now, and the stored articles its sources link to."""

    key: str
    article_count: int
    articles: tuple[Article, ...]


def story_refs(store: Store, brief: StoryBrief) -> StoryRef | None:
    """The :class:`StoryRef` of a briefed story (``None`` when none of its sources is stored any more)."""
    articles: list[Article] = []
    for source in brief.sources:
        article = store.get_article(source.url)
        if article is not None and all(a.id != article.id for a in articles):
            articles.append(article)
    if brief.story_id is not None:
        story = store.get_story(brief.story_id)
        count = story.article_count if story is not None else len(articles)
        return StoryRef(key=brief.story_id, article_count=count, articles=tuple(articles))
    if not articles:
        return None
    return StoryRef(key=articles[0].id, article_count=1, articles=tuple(articles))


def _digest(
    store: Store,
    subscription: Subscription,
    *,
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta,
    limit: int,
    renewal: int,
    templates: Mapping[str, Template] | None = None,
    slot: str | None = None,
) -> tuple[Briefing, list[StoryRef]] | None:
    # Filter first, then rank and cut: the search itself leaves out backlog and the stories already posted (or on
    # their way in this subscription's digests still in flight) unless renewed, so they take no place in the digest.
    in_flight = store.planned_story_counts(subscription.id, except_slot=slot)
    feeds = source_feeds(subscription.sources, store.list_feeds()) if subscription.sources else None
    only = DigestFilter(subscription.id, renewal, in_flight=in_flight, feeds=feeds)
    result = make_briefing(store, subscription.topic, topics=topics, now=now, window=window, limit=limit, digest=only)
    if not isinstance(result, Briefing):
        return None
    chosen = [(brief, ref) for brief in result.stories if (ref := story_refs(store, brief)) is not None]
    if not chosen:
        return None
    template = subscription_template(subscription, templates or {})
    briefing = replace(result, stories=tuple(b for b, _ in chosen), template=template)
    return briefing, [r for _, r in chosen]


_UNKNOWN_TEMPLATE_LOGGED: set[tuple[int, str]] = set()


def subscription_template(subscription: Subscription, templates: Mapping[str, Template]) -> Template:
    """The message template of a subscription: its ``template`` among the built-in ones and ``templates`` (the
    config's), :data:`bot.briefing.FULL` when it names none; a name no longer configured falls back to the full
    template (logged once)."""
    found = resolve_template(subscription.template, templates)
    if found is not None:
        return found
    key = (subscription.id, subscription.template or "")
    if key not in _UNKNOWN_TEMPLATE_LOGGED:
        _UNKNOWN_TEMPLATE_LOGGED.add(key)
        log.warning(
            "subscription %s: template %r is not configured (any more); its messages use the full template",
            subscription.id,
            subscription.template,
        )
    return FULL


class BuildLocks:
    """One lock per subscription around building a digest and writing its stories down (:meth:`hold`), owned by
    whoever runs digests concurrently (the scheduler: a slot's own run and the recovery of an earlier slot). A
    subscription's lock is kept only while someone holds or waits for it, so the map never outgrows the digests
    being built at the moment."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, tuple[threading.Lock, int]] = {}

    def __len__(self) -> int:
        """How many subscriptions have a lock now (held or waited for)."""
        with self._guard:
            return len(self._locks)

    @contextlib.contextmanager
    def hold(self, subscription_id: int) -> Iterator[None]:
        """Hold the subscription's lock (blocking: call it in a worker thread)."""
        with self._guard:
            lock, users = self._locks.get(subscription_id, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._locks[subscription_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users = self._locks[subscription_id][1]
                if users <= 1:
                    del self._locks[subscription_id]
                else:
                    self._locks[subscription_id] = (lock, users - 1)


def _build_and_plan(
    store: Store,
    subscription: Subscription,
    *,
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta,
    limit: int,
    renewal: int,
    templates: Mapping[str, Template] | None = None,
    slot: str,
    locks: BuildLocks | None = None,
) -> tuple[Briefing, list[StoryRef]] | None:
    """Build a slot's digest and write its stories down (:meth:`Store.plan_slot`) before posting, as one step per
    subscription when ``locks`` are given: two digests of one subscription built at once (a slot's own run and
    the recovery of an earlier slot) would otherwise both pick the same new stories, each before the other had
    written them down. Without ``locks`` (a one-off run) nothing is locked."""
    with locks.hold(subscription.id) if locks is not None else contextlib.nullcontext():
        built = _digest(
            store,
            subscription,
            topics=topics,
            now=now,
            window=window,
            limit=limit,
            renewal=renewal,
            templates=templates,
            slot=slot,
        )
        if built is not None and built[1]:
            store.plan_slot(subscription.id, slot, {r.key: r.article_count for r in built[1]})
        return built


def build_digest(
    store: Store,
    subscription: Subscription,
    *,
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta = DIGEST_WINDOW,
    limit: int = 5,
    renewal: int = RENEWAL,
    templates: Mapping[str, Template] | None = None,
) -> Briefing | None:
    """The digest of a subscription as of ``now``: the briefing of its topic over ``window``, without the stories
    already posted to it unless they gained at least ``renewal`` articles since, at most ``limit`` stories
    (``more`` counts the rest). ``None`` when nothing is left: an empty digest is not posted."""
    if renewal < 1:
        raise ValueError(f"build_digest: renewal must be at least 1, got {renewal}")
    built = _digest(
        store, subscription, topics=topics, now=now, window=window, limit=limit, renewal=renewal, templates=templates
    )
    return built[0] if built is not None else None


async def run_digest(
    store: Store,
    subscription: Subscription,
    slot: str,
    *,
    post: Callable[[Briefing], Awaitable[str]],
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    window: timedelta = DIGEST_WINDOW,
    limit: int = 5,
    renewal: int = RENEWAL,
    templates: Mapping[str, Template] | None = None,
    post_empty: bool = False,
    retry_later: bool = True,
    locks: BuildLocks | None = None,
) -> DigestOutcome:
    """Post a subscription's digest for one slot, at most once across restarts and processes.

    Claims the slot first (already claimed: "skipped", nothing else happens), builds the digest (nothing new:
    "empty" recorded, nothing posted; with ``post_empty`` a digest of no stories is posted instead), posts it
    through ``post`` (which returns the message's reference), then records the stories posted, the cited
    articles and the outcome "posted". An exception while building or
    posting is logged and recorded as "failed" (no story is marked posted), never raised. ``by`` names the
    claiming process. Store calls run in a worker thread. A claimer that dies between claiming and recording
    leaves the claim in flight: :func:`recover_digest` finishes it. So does a :class:`PostInterrupted` from
    ``post`` ("retry"), unless ``retry_later`` is false (a one-off run with no scheduler to come back: "failed").
    ``locks``: see :class:`BuildLocks` (whoever may build one subscription's digests concurrently passes its own).
    """
    claimed = await asyncio.to_thread(store.claim_slot, subscription.id, slot, by=by, now=now)
    if not claimed:
        return "skipped"
    return await _post_claimed(
        store,
        subscription,
        slot,
        post=post,
        topics=topics,
        now=now,
        window=window,
        limit=limit,
        renewal=renewal,
        templates=templates,
        post_empty=post_empty,
        retry_later=retry_later,
        locks=locks,
    )


async def _post_claimed(
    store: Store,
    subscription: Subscription,
    slot: str,
    *,
    post: Callable[[Briefing], Awaitable[str]],
    topics: Mapping[str, str],
    now: datetime,
    window: timedelta,
    limit: int,
    renewal: int,
    templates: Mapping[str, Template] | None = None,
    post_empty: bool = False,
    retry_later: bool = True,
    locks: BuildLocks | None = None,
) -> DigestOutcome:
    try:
        built = await asyncio.to_thread(
            _build_and_plan,
            store,
            subscription,
            topics=topics,
            now=now,
            window=window,
            limit=limit,
            renewal=renewal,
            templates=templates,
            slot=slot,
            locks=locks,
        )
    except Exception:
        log.exception(
            "digest of subscription %s (%s) for slot %s: building failed", subscription.id, subscription.topic, slot
        )
        await asyncio.to_thread(store.finish_slot, subscription.id, slot, "failed", None, now)
        return "failed"
    if built is None and not post_empty:
        await asyncio.to_thread(store.finish_slot, subscription.id, slot, "empty", None, now)
        return "empty"
    if built is None:  # [digests] post_empty: say so rather than stay silent
        nothing = Briefing(
            query=subscription.topic,
            generated_at=now,
            stories=(),
            more=0,
            window_hours=window.total_seconds() / 3600,
            topic=subscription.topic,
            template=subscription_template(subscription, templates or {}),
        )
        built = (nothing, [])
    briefing, refs = built
    try:
        message_ref = await post(briefing)
    except ChannelUnavailable as exc:
        log.warning(
            "digest of subscription %s (%s %s, %s) for slot %s: %s; subscription paused",
            subscription.id,
            subscription.platform,
            subscription.channel,
            subscription.topic,
            slot,
            exc.reason,
        )
        await asyncio.to_thread(store.finish_slot, subscription.id, slot, "failed", None, now)
        await asyncio.to_thread(store.pause_subscription, subscription.id, exc.reason, now)
        return "failed"
    except PostInterrupted as exc:
        if retry_later:
            # Left in flight with its planned stories: the next recovery pass looks for it on the platform and
            # posts it only if it is not there.
            log.warning(
                "digest of subscription %s (%s) for slot %s: %s; it will be looked for and tried again",
                subscription.id,
                subscription.topic,
                slot,
                exc.reason,
            )
            with contextlib.suppress(Exception):  # only a note for the operator
                await asyncio.to_thread(store.note_slot, subscription.id, slot, _one_line(exc.reason))
            return "retry"
        log.warning(
            "digest of subscription %s (%s) for slot %s: posting failed: %s",
            subscription.id,
            subscription.topic,
            slot,
            exc.reason,
        )
        await asyncio.to_thread(store.finish_slot, subscription.id, slot, "failed", None, now)
        return "failed"
    except Exception:
        log.exception(
            "digest of subscription %s (%s) for slot %s: posting failed", subscription.id, subscription.topic, slot
        )
        await asyncio.to_thread(store.finish_slot, subscription.id, slot, "failed", None, now)
        return "failed"
    await asyncio.to_thread(_record, store, subscription, slot, refs, message_ref, now)
    return "posted"


def slot_time(slot: str) -> datetime:
    """The scheduled time a slot key (:func:`slot_key`) stands for."""
    return datetime.strptime(slot, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def search_from(claim: DigestSlot) -> datetime:
    """Where the search of the platform for a claim's digest starts: :data:`SEARCH_MARGIN` before the slot was
    first claimed. A recovery pass moves ``claimed_at`` forward (it takes the claim over), but the digest was
    posted after the slot's time: the earlier of the two is used, so a claim checked again and again never loses
    sight of a digest posted before the first pass."""
    start = claim.claimed_at
    with contextlib.suppress(ValueError):
        start = min(start, slot_time(claim.slot))
    return start - SEARCH_MARGIN


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


async def recover_digest(
    store: Store,
    subscription: Subscription,
    claim: DigestSlot,
    *,
    post: Callable[[Briefing], Awaitable[str]],
    find: Callable[[datetime], Awaitable[str | None]],
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    grace: timedelta,
    window: timedelta = DIGEST_WINDOW,
    limit: int = 5,
    renewal: int = RENEWAL,
    templates: Mapping[str, Template] | None = None,
    locks: BuildLocks | None = None,
) -> DigestOutcome:
    """Finish a claim whose claimer died before recording the outcome, exactly once.

    Takes the claim over (another process did first: "skipped"), then looks for the digest: in the ledger first
    (a message recorded for the slot: :meth:`bot.store.Store.digest_messages`, the first part's reference), else
    on the platform (``find(since)``: the message's reference, searched from :func:`search_from`). Found, it is
    recorded as posted, with the stories the digest set out to post; not found, it is posted now if the slot is
    still within ``grace`` (else recorded "failed"). When the platform cannot be asked (``find`` raises, e.g.
    :class:`HistoryUnreadable`), nothing is posted and the claim stays in flight for a later try ("skipped"),
    its reason written on the claim and logged as a warning once (then at debug level while it stays the same);
    so it stays when posting is interrupted again ("retry").
    """
    if not await asyncio.to_thread(store.reclaim_slot, claim, by=by, now=now):
        return "skipped"
    recorded = await asyncio.to_thread(store.digest_messages, subscription.id, claim.slot)
    if recorded:
        found: str | None = recorded[min(recorded)]
    else:
        try:
            found = await find(search_from(claim))
        except Exception as exc:  # the platform's trouble is expected now and then: one line, no traceback
            reason = exc.reason if isinstance(exc, HistoryUnreadable) else f"{exc.__class__.__name__}: {exc}"
            reason = _one_line(reason)
            new = claim.note != reason
            log.log(
                logging.WARNING if new else logging.DEBUG,
                "digest of subscription %s for slot %s: cannot check "
                "whether it was posted (%s); it is not posted again until it can be",
                subscription.id,
                claim.slot,
                reason,
            )
            log.debug("the check's error in full", exc_info=True)
            if new:
                await asyncio.to_thread(store.note_slot, subscription.id, claim.slot, reason)
            return "skipped"
    if found is not None and claim.planned is not None:  # record the stories it set out to post
        await asyncio.to_thread(_record_planned, store, subscription, claim.slot, claim.planned, found, now)
        log.info(
            "digest of subscription %s for slot %s was posted before a crash (%s); recorded",
            subscription.id,
            claim.slot,
            found,
        )
        return "posted"
    if found is not None:
        built = await asyncio.to_thread(
            _digest,
            store,
            subscription,
            topics=topics,
            now=now,
            window=window,
            limit=limit,
            renewal=renewal,
            templates=templates,
            slot=claim.slot,
        )
        await asyncio.to_thread(_record, store, subscription, claim.slot, built[1] if built else [], found, now)
        log.info(
            "digest of subscription %s for slot %s was posted before a crash (%s); recorded",
            subscription.id,
            claim.slot,
            found,
        )
        return "posted"
    if now - slot_time(claim.slot) > grace:
        log.warning(
            "digest of subscription %s for slot %s was never posted and is now too late; recorded as failed",
            subscription.id,
            claim.slot,
        )
        await asyncio.to_thread(store.finish_slot, subscription.id, claim.slot, "failed", None, now)
        return "failed"
    return await _post_claimed(
        store,
        subscription,
        claim.slot,
        post=post,
        topics=topics,
        now=now,
        window=window,
        limit=limit,
        renewal=renewal,
        templates=templates,
        locks=locks,
    )


def _record_planned(
    store: Store, subscription: Subscription, slot: str, planned: Mapping[str, int], message_ref: str, now: datetime
) -> None:
    store.record_posted(subscription.id, planned, now)
    store.finish_slot(subscription.id, slot, "posted", message_ref, now)


def _record(
    store: Store, subscription: Subscription, slot: str, refs: Sequence[StoryRef], message_ref: str, now: datetime
) -> None:
    store.record_posted(subscription.id, {r.key: r.article_count for r in refs}, now)
    reference = digest_ref(subscription, slot)
    for ref in refs:
        for article in ref.articles:
            with contextlib.suppress(KeyError):  # pruned between building and recording: nothing to keep
                store.cite(article.id, reference, now=now)
    store.finish_slot(subscription.id, slot, "posted", str(message_ref), now)


# ------------------------------------------------------------------------------------------------- config


def parse_subscriptions(settings: Settings) -> list[SubscriptionConfig]:
    """The config's ``[[subscriptions]]``, validated when the config was loaded (:attr:`bot.config.Settings.
    subscriptions`)."""
    return list(settings.subscriptions)


def sync_config_subscriptions(store: Store, settings: Settings, *, now: datetime) -> list[Subscription]:
    """Add the config's ``[[subscriptions]]`` to the store (validated with the config); one
    already stored takes the config's schedule, time zone, sources, template and mode. Subscriptions made in chat,
    and stored ones no longer in the config, are left alone. Returns the config's subscriptions as stored."""
    wanted = settings.subscriptions
    stored = {(s.platform, s.channel, s.topic): s for s in store.list_subscriptions()}
    result: list[Subscription] = []
    for entry in wanted:
        existing = stored.get((entry.platform, entry.channel, entry.topic))
        if existing is None:
            try:
                existing = store.add_subscription(
                    entry.platform,
                    entry.channel,
                    entry.topic,
                    schedule=entry.schedule,
                    tz=entry.tz,
                    now=now,
                    by=CONFIG_CREATOR,
                    sources=entry.sources,
                    template=entry.template,
                    mode=entry.mode,
                )
            except ValueError:  # another process synced it first
                again = store.list_subscriptions(platform=entry.platform, channel=entry.channel)
                existing = next(s for s in again if s.topic == entry.topic)
        if (existing.schedule, existing.tz, existing.sources) != (entry.schedule, entry.tz, entry.sources):
            existing = store.update_subscription_schedule(
                existing.id, schedule=entry.schedule, tz=entry.tz, sources=entry.sources
            )
        if (existing.template, existing.mode) != (entry.template, entry.mode):
            existing = store.update_subscription_options(existing.id, template=entry.template, mode=entry.mode)
        result.append(existing)
    return result
