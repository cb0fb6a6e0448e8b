"""Live story alerts (issue 16): a ``live`` subscription posts each new story of its topic once, as it breaks,
and edits that message in place as the story grows.

After each poll round the scheduler calls :func:`run_alerts`. For every unpaused live subscription (schedule
``live [quiet=HH:MM-HH:MM]``, see :func:`bot.commands.parse_schedule`) it briefs the topic and, per channel:

- a story whose first article is at least ``settle`` old (so that the first wave of outlets joins first) and that
  was not posted in the channel before is posted once, as its brief; a follow-up of a story posted there (the
  story's ``follows``) is posted as a reply in that story's thread (Slack ``thread_ts``, Discord message reply);
- a posted story that grew (more articles or outlets) has its message edited in place, at most once per
  ``edit_every`` per story, whichever process gets to it (coalesced); the stories posted within ``window`` are
  taken from the ledger too (and briefed by id: :func:`bot.briefing.brief_story`), so a story is edited even when
  it is no longer among its topic's best search hits;
- during the subscription's quiet hours nothing new is posted: the stories wait, and go out after;
- at most ``per_hour`` stories are posted per channel per hour; the overflow goes out as one message ("N more
  stories: ..."), at most one such summary per channel per hour (the rest wait for room).

Exactly once per story and channel across crashes and processes, with the discipline of the digest ledger: the
story is claimed in the store (:meth:`bot.store.Store.claim_alert`) before it is posted, the message's reference
recorded after. A claim left unfinished (the poster died, or posting was interrupted) is recovered by looking:
the message carries a marker (:func:`alert_marker`), and the adapter searches the channel's recent history
for it (:meth:`AlertChannel.find_alert`); found, it is recorded, not found, the claim is released and the story
posted by a later round. Nothing here reads the clock: ``now`` is passed in.

``[live]`` of the config (settle, edit_every, per_hour, quiet_hours) is :class:`bot.config.LiveSettings`, validated
at load (:attr:`bot.config.Settings.live`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.briefing import FULL, Briefing, StoryBrief, Template, brief_story, make_briefing, resolve_template
from bot.commands import UsageError, parse_schedule, source_feeds
from bot.config import LiveSettings
from bot.digests import ChannelUnavailable, HistoryUnreadable, PostInterrupted
from bot.store import DigestFilter, LiveAlert, LiveAlertState, Store, Story, Subscription

__all__ = [
    "AlertChannel",
    "AlertMessage",
    "AlertsReport",
    "LiveSettings",
    "alert_marker",
    "in_quiet_hours",
    "is_live",
    "run_alerts",
    "summary_marker",
]

log = logging.getLogger("newsbrief.alerts")

Quiet = tuple[tuple[int, int], tuple[int, int]]
_HOUR = timedelta(hours=1)
SEARCH_MARGIN = timedelta(minutes=5)
"""How long before a claim the channel is searched for its message (clocks differ a little)."""
_NEVER_RENEWED = 1_000_000_000
"""A digest filter's renewal that no story reaches: live subscriptions use the filter for sources and backlog only."""


def is_live(subscription: Subscription) -> bool:
    """Whether a subscription posts stories as they break (schedule ``live ...``) rather than digests."""
    return subscription.schedule.split(maxsplit=1)[0:1] == ["live"]


def _quiet_of(subscription: Subscription, default: Quiet | None) -> Quiet | None:
    try:
        own = parse_schedule(subscription.schedule).quiet
    except UsageError:
        return default
    return own if own is not None else default


def in_quiet_hours(quiet: Quiet | None, tz: str, now: datetime) -> bool:
    """Whether ``now`` falls in the quiet hours ``quiet`` (start inclusive, end exclusive; may wrap past midnight)
    of the time zone ``tz``."""
    if quiet is None:
        return False
    local = now.astimezone(ZoneInfo(tz)).time().replace(second=0, microsecond=0)
    start, end = time(*quiet[0]), time(*quiet[1])
    if start < end:
        return start <= local < end
    return local >= start or local < end


def alert_marker(story_id: str) -> str:
    """What the message of a story's alert carries so that it can be found after a crash: ``live:<story>``."""
    return f"live:{story_id}"


def summary_marker(story_ids: Sequence[str]) -> str:
    """The marker of an overflow summary of these stories: ``live-more:<first story>``."""
    return f"live-more:{min(story_ids)}"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One alert message as the adapters render it: a story's brief (``story``), or an overflow summary
    (``headlines``, ``story`` ``None``). ``marker`` goes with the message (metadata, embed footer) so that
    :meth:`AlertChannel.find_alert` can find it; ``thread_ref`` is the message a follow-up replies to."""

    topic: str
    marker: str
    story: StoryBrief | None = None
    headlines: tuple[str, ...] = ()
    thread_ref: str | None = None
    template: Template = FULL
    """The subscription's message template (what the story's message shows)."""

    @property
    def title(self) -> str:
        """The message's title: "<topic>: live" (a follow-up: "<topic>: follow-up")."""
        return f"{self.topic}: {'follow-up' if self.thread_ref else 'live'}"

    def briefing(self, now: datetime) -> Briefing:
        """The story as a one-story :class:`Briefing` (for the digest renderers)."""
        stories = (self.story,) if self.story is not None else ()
        return Briefing(
            query=self.topic,
            generated_at=now,
            stories=stories,
            more=0,
            window_hours=24.0,
            topic=self.topic,
            template=self.template,
        )

    def summary_text(self) -> str:
        """An overflow summary as text: "N more stories: headline; headline; ..."."""
        count = len(self.headlines)
        noun = "story" if count == 1 else "stories"
        return f"{count} more {self.topic} {noun}: " + "; ".join(self.headlines)

    def text(self) -> str:
        """Plain text of the message (the console's rendering, and a fallback), as far as its template shows the
        parts: the outlet count with the sources, the sentences, the link (unless ``link`` is "none")."""
        if self.story is None:
            return self.summary_text()
        t = self.template
        outlets = self.story.outlet_count
        count = f" ({outlets} outlet{'s' if outlets != 1 else ''})" if t.sources else ""
        lines = [f"{self.title} — {self.story.headline}{count}"]
        lines += [f"  • {s}" for s in self.story.sentences[: t.sentences]]
        if self.story.sources and t.link != "none":
            lines.append(f"  {self.story.sources[0].url}")
        return "\n".join(lines)


class AlertChannel(Protocol):
    """Where one platform's live alerts go: the adapter's side of :func:`run_alerts`."""

    async def post_alert(self, subscription: Subscription, alert: AlertMessage) -> str:
        """Post an alert (a reply to ``alert.thread_ref`` when set) carrying ``alert.marker``; return the
        message's reference. :class:`bot.digests.ChannelUnavailable` when the channel takes no posts,
        :class:`bot.digests.PostInterrupted` when it is unknown whether it got there."""
        ...

    async def edit_alert(self, subscription: Subscription, message_ref: str, alert: AlertMessage) -> None:
        """Replace the message ``message_ref`` (an alert posted before) by ``alert``."""
        ...

    async def find_alert(
        self, subscription: Subscription, marker: str, since: datetime, *, thread_ref: str | None = None
    ) -> str | None:
        """The reference of this bot's message carrying ``marker`` posted since ``since`` (in the thread of
        ``thread_ref`` when given), ``None`` when there is none; :class:`bot.digests.HistoryUnreadable` when the
        channel cannot be read (never "not there")."""
        ...


@dataclass(slots=True)
class AlertsReport:
    """What one :func:`run_alerts` round did: story ids posted (``replies`` of them as thread replies), edited,
    summarized (in overflow summaries), held back (quiet hours, or no room this hour), claims recovered (found
    on the platform) and released (not found: posted again later)."""

    posted: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    summarized: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Candidate:
    subscription: Subscription
    brief: StoryBrief
    story: Story

    @property
    def story_id(self) -> str:
        return self.story.id


def _candidates(
    store: Store, subscription: Subscription, *, topics: Mapping[str, str], now: datetime, live: LiveSettings
) -> list[_Candidate]:
    """The stories of a live subscription's topic within the window, first seen since it was made."""
    feeds = source_feeds(subscription.sources, store.list_feeds()) if subscription.sources else None
    only = DigestFilter(subscription.id, _NEVER_RENEWED, feeds=feeds)
    result = make_briefing(
        store, subscription.topic, topics=topics, now=now, window=live.window, limit=live.candidates, digest=only
    )
    if not isinstance(result, Briefing):
        return []
    found: list[_Candidate] = []
    for brief in result.stories:
        if brief.story_id is None:
            continue
        story = store.get_story(brief.story_id)
        if story is None or story.first_seen < subscription.created_at:
            continue
        found.append(_Candidate(subscription, brief, story))
    return found


def _posted_candidates(
    store: Store, platform: str, channel_id: str, members: Sequence[Subscription], *, now: datetime, live: LiveSettings
) -> list[_Candidate]:
    """The stories the live subscriptions ``members`` posted in a channel within the window that grew since, briefed
    by id: a story is edited even when it is no longer among its topic's best hits (its search found others)."""
    subs = {sub.id: sub for sub in members}
    found: list[_Candidate] = []
    for alert in store.alerts_of(platform, channel_id, posted_since=now - live.window).values():
        sub = subs.get(alert.subscription_id)
        story = store.get_story(alert.story_id)  # an alias: the story it was merged into
        if sub is None or story is None:
            continue
        if story.article_count <= alert.article_count and len(story.outlets) <= alert.outlets:
            continue  # not grown: nothing to brief
        brief = brief_story(store, story.id, now=now, window=live.window)
        if brief is not None:
            found.append(_Candidate(sub, brief, story))
    return found


def _grew(candidate: _Candidate, alert: LiveAlert) -> bool:
    return candidate.story.article_count > alert.article_count or candidate.brief.outlet_count > alert.outlets


async def run_alerts(
    store: Store,
    channels: Mapping[str, AlertChannel],
    *,
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    live: LiveSettings | None = None,
    templates: Mapping[str, Template] | None = None,
) -> AlertsReport:
    """One round of live alerts at ``now`` (see the module docstring): unfinished claims of dead posters are
    recovered first, then every unpaused live subscription of a platform in ``channels`` posts its new settled
    stories, edits the grown ones and summarizes the overflow. ``by`` names this process in its claims. Store
    calls run in a worker thread; an adapter's failure is logged, never raised. ``templates``: the config's
    message templates (a subscription's ``template`` shapes its alerts; unknown or none: the full one)."""
    live = live or LiveSettings()
    report = AlertsReport()
    await recover_alerts(store, channels, now=now, by=by, live=live, report=report)
    subs = await asyncio.to_thread(store.list_subscriptions)
    groups: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in subs:
        if is_live(sub) and not sub.paused and sub.platform in channels:
            groups[(sub.platform, sub.channel)].append(sub)
    for (platform, channel_id), members in sorted(groups.items()):
        try:
            await _channel_round(
                store, channels[platform], platform, channel_id, members, topics, now, by, live, report, templates or {}
            )
        except Exception:
            log.exception("live alerts for %s %s: the round failed", platform, channel_id)
    return report


async def _channel_round(
    store: Store,
    channel: AlertChannel,
    platform: str,
    channel_id: str,
    members: list[Subscription],
    topics: Mapping[str, str],
    now: datetime,
    by: str,
    live: LiveSettings,
    report: AlertsReport,
    templates: Mapping[str, Template],
) -> None:
    seen: dict[str, _Candidate] = {}
    for sub in members:
        for candidate in await asyncio.to_thread(_candidates, store, sub, topics=topics, now=now, live=live):
            seen.setdefault(candidate.story_id, candidate)
    for candidate in await asyncio.to_thread(
        _posted_candidates, store, platform, channel_id, members, now=now, live=live
    ):
        seen.setdefault(candidate.story_id, candidate)
    if not seen:
        return
    # A story posted here and since merged into another (an alias of it) is that story's message: edited, never
    # posted again under the new key.
    earlier: dict[str, list[str]] = defaultdict(list)
    for alias, into in (await asyncio.to_thread(store.story_aliases)).items():
        if into in seen:
            earlier[into].append(alias)
    keys = [*seen, *(a for aliases in earlier.values() for a in aliases)]
    rows = await asyncio.to_thread(store.alerts_of, platform, channel_id, keys)
    ledger: dict[str, LiveAlert] = {}
    for story_id in seen:
        row = rows.get(story_id) or next((rows[a] for a in sorted(earlier[story_id]) if a in rows), None)
        if row is not None:
            ledger[story_id] = row
    # Edits: a posted story that grew, at most once per edit_every (whoever claims the edit makes it).
    for story_id, candidate in seen.items():
        alert = ledger.get(story_id)
        if alert is None or alert.state != "posted" or alert.message_ref is None or not _grew(candidate, alert):
            continue
        claimed = await asyncio.to_thread(
            store.claim_edit, platform, channel_id, alert.story_id, now=now, last_before=now - live.edit_every
        )
        if not claimed:
            continue
        message = AlertMessage(
            topic=candidate.subscription.topic,
            marker=alert.marker,
            story=candidate.brief,
            thread_ref=alert.thread_ref,
            template=_template(candidate.subscription, templates),
        )
        try:
            await channel.edit_alert(candidate.subscription, alert.message_ref, message)
        except Exception as exc:
            log.warning("live alert %s in %s %s: edit failed: %s", story_id, platform, channel_id, _why(exc))
            report.failed.append(story_id)
            continue
        await asyncio.to_thread(
            store.record_edit,
            platform,
            channel_id,
            alert.story_id,
            article_count=candidate.story.article_count,
            outlets=candidate.brief.outlet_count,
        )
        report.edited.append(story_id)
    # New stories: settled, never claimed here, outside their subscription's quiet hours; oldest first.
    fresh: list[_Candidate] = []
    for story_id, candidate in seen.items():
        if story_id in ledger or now - candidate.story.first_seen < live.settle:
            continue
        sub = candidate.subscription
        if in_quiet_hours(_quiet_of(sub, live.quiet_hours), sub.tz, now):
            report.held.append(story_id)
            continue
        fresh.append(candidate)
    if not fresh:
        return
    fresh.sort(key=lambda c: (c.story.first_seen, c.story_id))
    posted, summaries = await asyncio.to_thread(store.alert_messages_since, platform, channel_id, now - _HOUR)
    room = max(0, live.per_hour - posted)
    alone, overflow = fresh[:room], fresh[room:]
    for candidate in alone:
        await _post_one(store, channel, platform, channel_id, candidate, now, by, report, templates)
    if overflow and summaries == 0:
        await _post_summary(store, channel, platform, channel_id, overflow, now, by, report)
    elif overflow:
        report.held.extend(c.story_id for c in overflow)


def _template(subscription: Subscription, templates: Mapping[str, Template]) -> Template:
    """A subscription's message template (the full one when it names none, or one no longer configured)."""
    return resolve_template(subscription.template, templates) or FULL


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else f"{exc.__class__.__name__}: {exc}"[:300]


async def _thread_of(store: Store, platform: str, channel_id: str, story: Story) -> str | None:
    """The message a follow-up replies to: the thread's root message of the story it follows, when posted here."""
    if story.follows is None:
        return None
    parent = await asyncio.to_thread(store.get_alert, platform, channel_id, story.follows)
    if parent is None or parent.state != "posted" or parent.message_ref is None:
        return None
    return parent.thread_ref or parent.message_ref


async def _post_one(
    store: Store,
    channel: AlertChannel,
    platform: str,
    channel_id: str,
    candidate: _Candidate,
    now: datetime,
    by: str,
    report: AlertsReport,
    templates: Mapping[str, Template],
) -> None:
    sub, story_id = candidate.subscription, candidate.story_id
    thread_ref = await _thread_of(store, platform, channel_id, candidate.story)
    marker = alert_marker(story_id)
    claimed = await asyncio.to_thread(
        store.claim_alert,
        sub.id,
        platform,
        channel_id,
        story_id,
        marker=marker,
        by=by,
        now=now,
        thread_ref=thread_ref,
        article_count=candidate.story.article_count,  # what the message shows, for a recovery that finds it
        outlets=candidate.brief.outlet_count,
    )
    if not claimed:
        return
    message = AlertMessage(
        topic=sub.topic,
        marker=marker,
        story=candidate.brief,
        thread_ref=thread_ref,
        template=_template(sub, templates),
    )
    claim = await asyncio.to_thread(store.get_alert, platform, channel_id, story_id)
    try:
        ref = await channel.post_alert(sub, message)
    except PostInterrupted as exc:  # left claimed: the recovery looks for it before anything is posted again
        log.warning("live alert %s in %s %s: %s; it will be looked for", story_id, platform, channel_id, exc.reason)
        report.failed.append(story_id)
        return
    except Exception as exc:
        log.warning("live alert %s in %s %s: posting failed: %s", story_id, platform, channel_id, _why(exc))
        if claim is not None:
            await asyncio.to_thread(store.release_alert, claim)
        if isinstance(exc, ChannelUnavailable):
            await asyncio.to_thread(store.pause_subscription, sub.id, exc.reason, now)
        report.failed.append(story_id)
        return
    await asyncio.to_thread(
        store.finish_alert,
        platform,
        channel_id,
        story_id,
        state="posted",
        message_ref=ref,
        now=now,
        article_count=candidate.story.article_count,
        outlets=candidate.brief.outlet_count,
        thread_ref=thread_ref,
    )
    report.posted.append(story_id)
    if thread_ref is not None:
        report.replies.append(story_id)


async def _post_summary(
    store: Store,
    channel: AlertChannel,
    platform: str,
    channel_id: str,
    overflow: list[_Candidate],
    now: datetime,
    by: str,
    report: AlertsReport,
) -> None:
    marker = summary_marker([c.story_id for c in overflow])
    won: list[_Candidate] = []
    for candidate in overflow:
        if await asyncio.to_thread(
            store.claim_alert,
            candidate.subscription.id,
            platform,
            channel_id,
            candidate.story_id,
            marker=marker,
            by=by,
            now=now,
        ):
            won.append(candidate)
    if not won:
        return
    sub = won[0].subscription
    message = AlertMessage(topic=sub.topic, marker=marker, headlines=tuple(c.brief.headline for c in won))
    try:
        ref = await channel.post_alert(sub, message)
    except PostInterrupted as exc:
        log.warning("live summary %s in %s %s: %s; it will be looked for", marker, platform, channel_id, exc.reason)
        report.failed.extend(c.story_id for c in won)
        return
    except Exception as exc:
        log.warning("live summary %s in %s %s: posting failed: %s", marker, platform, channel_id, _why(exc))
        claims = await asyncio.to_thread(store.alerts_of, platform, channel_id, [c.story_id for c in won])
        for claim in claims.values():
            await asyncio.to_thread(store.release_alert, claim)
        report.failed.extend(c.story_id for c in won)
        return
    for candidate in won:
        await asyncio.to_thread(
            store.finish_alert,
            platform,
            channel_id,
            candidate.story_id,
            state="summarized",
            message_ref=ref,
            now=now,
            article_count=candidate.story.article_count,
            outlets=candidate.brief.outlet_count,
        )
        report.summarized.append(candidate.story_id)


async def recover_alerts(
    store: Store,
    channels: Mapping[str, AlertChannel],
    *,
    now: datetime,
    by: str,
    live: LiveSettings,
    report: AlertsReport | None = None,
) -> AlertsReport:
    """Finish the claims left unfinished for ``live.recover_after`` (their poster died between claiming and
    recording, or posting was interrupted), by looking: each message's marker is searched in its channel
    (:meth:`AlertChannel.find_alert`); found, the claim is recorded with that message; not found, it is released
    (a later round posts the story). A channel that cannot be read leaves the claim as it is (never reposted
    blindly). Each claim is taken over first, so only one process handles it."""
    report = report if report is not None else AlertsReport()
    stale = await asyncio.to_thread(store.in_flight_alerts, claimed_before=now - live.recover_after)
    by_marker: dict[tuple[str, str, str], list[LiveAlert]] = defaultdict(list)
    for claim in stale:
        by_marker[(claim.platform, claim.channel, claim.marker)].append(claim)
    for (platform, channel_id, marker), claims in by_marker.items():
        channel = channels.get(platform)
        sub = await asyncio.to_thread(store.get_subscription, claims[0].subscription_id)
        if channel is None or sub is None:
            continue
        taken = [
            replace(c, claimed_by=by, claimed_at=now)
            for c in claims
            if await asyncio.to_thread(store.reclaim_alert, c, by=by, now=now)
        ]
        if not taken:
            continue
        since = min(c.claimed_at for c in claims) - SEARCH_MARGIN
        try:
            found = await channel.find_alert(sub, marker, since, thread_ref=claims[0].thread_ref)
        except Exception as exc:
            reason = exc.reason if isinstance(exc, HistoryUnreadable) else _why(exc)
            log.warning(
                "live alert %s in %s %s: cannot check whether it was posted: %s", marker, platform, channel_id, reason
            )
            continue
        for claim in taken:
            if found is not None:
                state: LiveAlertState = "posted" if marker == alert_marker(claim.story_id) else "summarized"
                await asyncio.to_thread(
                    store.finish_alert,
                    platform,
                    channel_id,
                    claim.story_id,
                    state=state,
                    message_ref=found,
                    now=now,
                    article_count=claim.article_count,  # what the message shows, recorded with the claim
                    outlets=claim.outlets,
                    thread_ref=claim.thread_ref,
                )
                report.recovered.append(claim.story_id)
            elif await asyncio.to_thread(store.release_alert, claim):
                report.released.append(claim.story_id)
        log.warning(
            "live alert %s in %s %s, left unfinished: %s",
            marker,
            platform,
            channel_id,
            f"found ({found}), recorded" if found else "not there, released to be posted again",
        )
    return report
