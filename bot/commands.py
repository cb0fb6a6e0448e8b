"""The chat command grammar (../shared/SPEC.md), parsed and answered the same way for every adapter.

``parse_command`` turns what a user typed into a :data:`Command` (or raises :class:`UsageError` carrying the usage
text); ``answer`` turns a command into a platform-neutral :class:`Reply`; ``render_text`` is the plain-text
rendering every adapter can fall back to. Nothing here reads the clock (``now`` is passed in) or knows a platform.

Grammar (the leading ``/brief`` is optional)::

    /brief <topic or words>
    /brief subscribe <topic> [schedule] [tz=Area/City] [sources=ID,ID|tag:NAME] [template=NAME]
    /brief subscribe <topic> live [quiet=HH:MM-HH:MM] [tz=Area/City] [sources=...]
    /brief subscribe <topic> items [sources=ID,ID|tag:NAME] [template=NAME]
    /brief unsubscribe <topic>
    /brief list | topics | sources | help
    /brief feeds [list] | feeds add <url> | feeds remove <id>

``list``, ``topics``, ``sources`` and ``help`` are commands only when alone (``/brief sources of funding`` is a
briefing on those words); ``subscribe``/``unsubscribe`` always are; ``feeds`` is when alone or followed by
``list``, ``add`` or ``remove``. ``sources=`` limits a subscription's digests to chosen feeds (ids from
``/brief feeds``, or ``tag:NAME`` for the feeds tagged so). A schedule is ``daily HH:MM``,
``weekdays HH:MM``, ``hourly`` or a 5-field cron expression (``minute hour day month weekday``), or ``live``:
each new story of the topic is posted as it breaks and its message edited as it grows (:mod:`bot.alerts`), with
optional quiet hours ``quiet=HH:MM-HH:MM`` in the subscription's time zone.
``template=`` picks the message template (``full``, ``compact``, ``headlines`` or a ``[templates.NAME]`` of the
config); ``items`` (or ``mode=items``) posts each new matching article as a compact line instead of digests
(:mod:`bot.items`), so it takes no schedule.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import errors, schedules
from bot.briefing import (
    Briefing,
    NoMatch,
    format_briefing,
    make_briefing,
    resolve_template,
    template_names,
)
from bot.config import Settings, duration_text
from bot.config import parse_sources as _parse_sources
from bot.feeds import FeedFinder, add_feed
from bot.schedules import DEFAULT_SCHEDULE, DEFAULT_TZ, Schedule
from bot.sources import FetchError, is_file_url
from bot.store import Feed, Store

__all__ = [
    "DEFAULT_SCHEDULE",
    "DEFAULT_TZ",
    "MAX_COMMAND_CHARS",
    "USAGE",
    "BriefCommand",
    "Command",
    "FeedsCommand",
    "HelpCommand",
    "ListCommand",
    "RateLimiter",
    "Reply",
    "Schedule",
    "SourcesCommand",
    "SubscribeCommand",
    "TopicsCommand",
    "UnsubscribeCommand",
    "UsageError",
    "answer",
    "check_tz",
    "command_name",
    "needs_manager",
    "parse_command",
    "parse_quiet",
    "parse_schedule",
    "parse_sources",
    "render_text",
    "source_feeds",
    "unknown_sources",
]

USAGE = """\
Usage:
  /brief <topic or words>                       a briefing now (a configured topic, or words to search:
                                                "a phrase", a OR b, -excluded)
  /brief subscribe <topic> [schedule] [tz=Area/City] [sources=ID,ID|tag:NAME]
                                                schedule: daily 08:00 | weekdays 07:30 | hourly | a cron
                                                expression such as "0 8 * * 1-5"; sources: only these
                                                feeds (ids from /brief feeds) or the feeds of a tag
  /brief subscribe <topic> live [quiet=22:00-07:00] each new story as it breaks, edited as it grows
  /brief subscribe <topic> items [sources=...]   each new matching article as a line of its own
                                                template=NAME (either form): full | compact | headlines
                                                or a template of the config
  /brief unsubscribe <topic>
  /brief list                                   this channel's subscriptions
  /brief topics | sources | help
  /brief feeds [list]                           the feeds, with their ids
  /brief feeds add <url>                        add a feed, or the feed a page links to (channel managers)
  /brief feeds remove <id>                      remove a feed; its articles stay (channel managers)"""

MAX_COMMAND_CHARS = 1000
"""The longest command answered (a query is capped at 32 terms anyway; a 1 MB one only costs time)."""
NOT_A_MANAGER = "Subscribing and unsubscribing need channel-manager rights in this channel."
NOT_A_FEED_MANAGER = "Adding and removing feeds needs channel-manager rights in this channel."
FILE_FROM_CHAT = (
    "file: URLs are never accepted from chat: a local feed is the operator's to add (the config's "
    "[[feeds]], or `newsbrief feeds add` on the bot's machine)."
)


class UsageError(errors.UsageError, ValueError):
    """What the user typed is not a command; ``str(error)`` says what is wrong, ``usage`` is the usage text."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.usage = USAGE

    @classmethod
    @contextmanager
    def told_in_chat(cls) -> Iterator[None]:
        """Any other :class:`bot.errors.UsageError` raised inside (a schedule's, a time zone's, sources') becomes
        this one, with the chat's usage text."""
        try:
            yield
        except UsageError:
            raise
        except errors.UsageError as exc:
            raise cls(exc.problem) from None

    def reply_text(self) -> str:
        """The problem, then the usage text."""
        return f"{self.problem}\n\n{self.usage}"


def parse_schedule(text: str) -> Schedule:
    """:func:`bot.schedules.parse_schedule`, its errors told as a chat :class:`UsageError` (with the usage text)."""
    with UsageError.told_in_chat():
        return schedules.parse_schedule(text)


def parse_quiet(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """:func:`bot.schedules.parse_quiet`, its errors told as a chat :class:`UsageError`."""
    with UsageError.told_in_chat():
        return schedules.parse_quiet(text)


def check_tz(name: str) -> str:
    """:func:`bot.schedules.check_tz`, its errors told as a chat :class:`UsageError`."""
    with UsageError.told_in_chat():
        return schedules.check_tz(name)


def parse_sources(text: str) -> tuple[str, ...]:
    """:func:`bot.config.parse_sources`, its errors told as a chat :class:`UsageError`."""
    with UsageError.told_in_chat():
        return _parse_sources(text)


# ------------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class BriefCommand:
    """``/brief <topic or words>``."""

    query: str


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    """``/brief subscribe <topic> [schedule|items] [tz=...] [sources=...] [template=...]``; ``None`` means the
    configured default, no ``sources`` the whole archive, no ``template`` the full one; ``mode`` "items": each new
    article on its own (no schedule)."""

    topic: str
    schedule: Schedule | None = None
    tz: str | None = None
    sources: tuple[str, ...] = ()
    template: str | None = None
    mode: Literal["digest", "items"] = "digest"


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    """``/brief unsubscribe <topic>``."""

    topic: str


@dataclass(frozen=True, slots=True)
class ListCommand:
    """``/brief list``: this channel's subscriptions."""


@dataclass(frozen=True, slots=True)
class TopicsCommand:
    """``/brief topics``: the configured topics."""


@dataclass(frozen=True, slots=True)
class SourcesCommand:
    """``/brief sources``: the feeds and their state."""


@dataclass(frozen=True, slots=True)
class HelpCommand:
    """``/brief help``."""


@dataclass(frozen=True, slots=True)
class FeedsCommand:
    """``/brief feeds [list]``, ``/brief feeds add <url>`` (``argument``: the URL), ``/brief feeds remove <id>``
    (``argument``: the feed id)."""

    action: Literal["list", "add", "remove"]
    argument: str | None = None


Command = (
    BriefCommand
    | SubscribeCommand
    | UnsubscribeCommand
    | ListCommand
    | TopicsCommand
    | SourcesCommand
    | HelpCommand
    | FeedsCommand
)
"""Any parsed command."""

_NAMES: dict[type, str] = {
    BriefCommand: "brief",
    SubscribeCommand: "subscribe",
    UnsubscribeCommand: "unsubscribe",
    ListCommand: "list",
    TopicsCommand: "topics",
    SourcesCommand: "sources",
    HelpCommand: "help",
    FeedsCommand: "feeds",
}


def command_name(command: Command) -> str:
    """The command's name for metrics and logs: "brief", "subscribe", "unsubscribe", "list", "topics",
    "sources", "help" or "feeds"."""
    return _NAMES[type(command)]


def needs_manager(command: Command) -> bool:
    """Whether answering ``command`` needs channel-manager rights (the adapter finds out whether the user has
    them): subscribing, unsubscribing, adding and removing feeds."""
    if isinstance(command, FeedsCommand):
        return command.action != "list"
    return isinstance(command, SubscribeCommand | UnsubscribeCommand)


_PREFIX = re.compile(r"^/brief(?:\s+|$)", re.IGNORECASE)
_ALONE: dict[str, Command] = {
    "list": ListCommand(),
    "topics": TopicsCommand(),
    "sources": SourcesCommand(),
    "help": HelpCommand(),
}


def source_feeds(sources: Sequence[str], feeds: Sequence[Feed]) -> frozenset[int]:
    """The ids of the ``feeds`` that ``sources`` (:func:`parse_sources`) name: by id, or carrying a tag (compared
    case-insensitively)."""
    ids = {int(s) for s in sources if s.isdigit()}
    tags = {s[4:].casefold() for s in sources if s.startswith("tag:")}
    return frozenset(f.id for f in feeds if f.id in ids or any(t.casefold() in tags for t in f.tags))


def unknown_sources(sources: Sequence[str], feeds: Sequence[Feed]) -> str | None:
    """What in ``sources`` names no feed of ``feeds`` (an id that is not one, a tag no feed has), as one line; None
    when each names a feed."""
    known = {str(f.id) for f in feeds}
    tags = {t.casefold() for f in feeds for t in f.tags}
    missing = [s for s in sources if (s not in known if s.isdigit() else s[4:].casefold() not in tags)]
    if not missing:
        return None
    return f"no feed is {', '.join(missing)} (see /brief feeds for the ids and tags)"


def _subscribe(args: list[str]) -> SubscribeCommand:
    if not args:
        raise UsageError("subscribe needs a topic: /brief subscribe <topic> [schedule] [tz=Area/City]")
    topic, rest = args[0], args[1:]
    if topic.lower().startswith(("tz=", "sources=", "template=", "mode=")):
        raise UsageError(f"subscribe needs a topic before {topic.split('=')[0]}=")
    tz: str | None = None
    sources: tuple[str, ...] | None = None
    template: str | None = None
    mode: Literal["digest", "items"] | None = None
    schedule_words: list[str] = []
    for word in rest:
        lowered = word.lower()
        if lowered == "items" or lowered.startswith("mode="):
            wanted = lowered.removeprefix("mode=")
            if wanted not in ("items", "digest"):
                raise UsageError(f"mode=: expected items or digest, got {word[5:]!r}")
            if mode is not None:
                raise UsageError("the mode (items, mode=) given twice")
            mode = "items" if wanted == "items" else "digest"
        elif lowered.startswith("template="):
            if template is not None:
                raise UsageError("template= given twice")
            template = word[9:].strip().lower()
            if not template:
                raise UsageError("template= needs a name: full, compact, headlines or one of the config")
        elif word.lower().startswith("tz="):
            if tz is not None:
                raise UsageError("tz= given twice")
            tz = check_tz(word[3:])
        elif word.lower().startswith("sources="):
            if sources is not None:
                raise UsageError("sources= given twice")
            sources = parse_sources(word[8:])
        else:
            schedule_words.append(word)
    if mode == "items" and schedule_words:
        raise UsageError(
            f"items posts each article as it comes: it takes no schedule, got {' '.join(schedule_words)!r}"
        )
    schedule = parse_schedule(" ".join(schedule_words)) if schedule_words else None
    return SubscribeCommand(
        topic=topic, schedule=schedule, tz=tz, sources=sources or (), template=template, mode=mode or "digest"
    )


def _chat_url(word: str) -> str:
    """A URL as chat delivers it: Slack may wrap it as ``<url>`` or ``<url|label>``, Discord users write ``<url>``
    to keep it from unfurling."""
    if word.startswith("<") and word.endswith(">"):
        word = word[1:-1].split("|", 1)[0]
    return word


def _feeds(args: list[str]) -> Command | None:
    """``feeds`` followed by ``args``; ``None`` when it is not a feeds command (a briefing on those words)."""
    action = args[0].lower() if args else "list"
    if action == "list" and len(args) <= 1:
        return FeedsCommand("list")
    if action == "add":
        if len(args) != 2:
            raise UsageError("feeds add needs one URL: /brief feeds add <url>")
        return FeedsCommand("add", _chat_url(args[1]))
    if action == "remove":
        if len(args) != 2 or not args[1].lstrip("#").isdigit():
            raise UsageError("feeds remove needs a feed id (see /brief feeds list): /brief feeds remove <id>")
        return FeedsCommand("remove", args[1].lstrip("#"))
    return None


def parse_command(text: str) -> Command:
    """Parse what a user typed (with or without the leading ``/brief``); :class:`UsageError` on bad usage."""
    rest = _PREFIX.sub("", text.strip(), count=1).strip()
    if not rest:
        raise UsageError("what should the briefing be about? Give a topic or some words")
    if len(rest) > MAX_COMMAND_CHARS:
        raise UsageError(f"that is {len(rest):,} characters; a command has at most {MAX_COMMAND_CHARS:,}")
    words = rest.split()
    keyword = words[0].lower()
    if keyword in _ALONE and len(words) == 1:
        return _ALONE[keyword]
    if keyword == "subscribe":
        return _subscribe(words[1:])
    if keyword == "unsubscribe":
        if len(words) != 2:
            raise UsageError("unsubscribe needs exactly one topic: /brief unsubscribe <topic>")
        return UnsubscribeCommand(topic=words[1])
    if keyword == "feeds" and (feeds := _feeds(words[1:])) is not None:
        return feeds
    return BriefCommand(query=" ".join(words))


# ------------------------------------------------------------------------------------------------- rate limit


class RateLimiter:
    """At most ``per_minute`` calls per key (user) in any sliding 60-second window; thread-safe, no clock.

    :meth:`acquire` records a call when allowed; a refused call is not recorded (it does not extend the wait).
    """

    WINDOW = timedelta(minutes=1)
    _PURGE_AT = 10_000

    def __init__(self, per_minute: int = 10) -> None:
        """A limiter allowing ``per_minute`` calls per key a minute (at least 1)."""
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {per_minute}")
        self.per_minute = per_minute
        self._calls: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, now: datetime) -> timedelta | None:
        """``None`` when the call is allowed (and counted); else how long until the next one would be."""
        with self._lock:
            if len(self._calls) >= self._PURGE_AT:
                self._purge(now)
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.WINDOW:
                calls.popleft()
            if len(calls) < self.per_minute:
                calls.append(now)
                return None
            return max(calls[0] + self.WINDOW - now, timedelta(0))

    def _purge(self, now: datetime) -> None:
        for key in [k for k, calls in self._calls.items() if not calls or calls[-1] <= now - self.WINDOW]:
            del self._calls[key]


# ------------------------------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Reply:
    """What to post back, platform-neutral.

    ``kind`` "briefing" carries a :class:`Briefing` or :class:`NoMatch` in ``briefing`` (``text`` is a one-line
    summary, e.g. for notifications); "text" and "error" carry ``text`` only. ``ephemeral`` replies are shown
    to the asking user alone where the platform allows it.
    """

    kind: Literal["briefing", "text", "error"]
    text: str
    briefing: Briefing | NoMatch | None = None
    ephemeral: bool = False


def _seconds(wait: timedelta) -> int:
    return max(1, int(-(-wait.total_seconds() // 1)))


def _topics_text(settings: Settings) -> str:
    if not settings.topics:
        return "No topics are configured. Add some under [topics] in the config, or ask /brief <any words>."
    lines = ["Topics (/brief <topic>):"]
    lines.extend(f"  {name}: {query}" for name, query in sorted(settings.topics.items()))
    return "\n".join(lines)


def _when(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else "never"


def _feed_state(feed: Feed) -> str:
    if not feed.enabled:
        state = f"disabled: {feed.disabled_reason or 'no reason recorded'}"
    elif feed.consecutive_failures:
        state = f"failing ({feed.consecutive_failures}x, {feed.last_error_kind}): {feed.last_error}"
    elif feed.last_polled_at is None:
        state = "not polled yet"
    else:
        state = "ok"
    return f"{state[:200]}; last polled {_when(feed.last_polled_at)}"


def _sources_text(store: Store, *, ids: bool = False) -> str:
    feeds = store.list_feeds()
    if not feeds:
        return (
            "No feeds yet. Add some under [[feeds]] in the config, with `newsbrief feeds add URL`, or (channel "
            "managers) with /brief feeds add <url>."
        )
    lines = [f"{'Feeds' if ids else 'Sources'} ({len(feeds)} {'feed' if len(feeds) == 1 else 'feeds'}):"]
    for feed in feeds:
        label = f"{feed.name} ({feed.url})" if feed.name else feed.url
        if ids:
            tags = f" [tags: {', '.join(feed.tags)}]" if feed.tags else ""
            label = f"#{feed.id} {label}{tags}"
        lines.append(f"  {label}: {_feed_state(feed)}")
    return "\n".join(lines)


def _brief(
    command: BriefCommand, *, store: Store, settings: Settings, user: str, now: datetime, limiter: RateLimiter
) -> Reply:
    wait = limiter.acquire(user, now)
    if wait is not None:
        return Reply(
            kind="error",
            text=f"Too many briefings: at most {limiter.per_minute} a minute. Try again in {_seconds(wait)} s.",
            ephemeral=True,
        )
    result = make_briefing(store, command.query, topics=settings.topics, now=now)
    if isinstance(result, NoMatch):
        return Reply(kind="briefing", text=format_briefing(result), briefing=result, ephemeral=True)
    count = len(result.stories) + result.more
    summary = f"Briefing on {result.query}: {count} {'story' if count == 1 else 'stories'}"
    return Reply(kind="briefing", text=summary, briefing=result, ephemeral=False)


def _list_text(store: Store, platform: str, channel: str) -> str:
    subs = store.list_subscriptions(platform=platform, channel=channel)
    if not subs:
        return "No subscriptions in this channel. Subscribe with /brief subscribe <topic> [schedule]."
    lines = ["Subscriptions in this channel:"]
    for sub in subs:
        state = f"; paused: {sub.paused_reason or 'no reason recorded'}" if sub.paused else ""
        only = f"; sources={','.join(sub.sources)}" if sub.sources else ""
        shape = f"; template={sub.template}" if sub.template else ""
        when = "items (each new article)" if sub.items else f"{sub.schedule} ({sub.tz})"
        lines.append(f"  #{sub.id} {sub.topic}: {when}{only}{shape}{state}")
    return "\n".join(lines)


def _topic_name(wanted: str, settings: Settings) -> str | None:
    return next((name for name in settings.topics if name.casefold() == wanted.casefold()), None)


def _subscribe_reply(
    command: SubscribeCommand,
    *,
    store: Store,
    settings: Settings,
    user: str,
    platform: str,
    channel: str,
    now: datetime,
    team: str | None = None,
) -> Reply:
    topic = _topic_name(command.topic, settings)
    if topic is None:
        known = ", ".join(sorted(settings.topics)) or "none are configured"
        return Reply(
            kind="error",
            text=f"Unknown topic {command.topic!r}: subscribe to a configured topic ({known}).",
            ephemeral=True,
        )
    schedule = command.schedule.text if command.schedule is not None else DEFAULT_SCHEDULE
    tz = command.tz or DEFAULT_TZ
    problem = unknown_sources(command.sources, store.list_feeds()) if command.sources else None
    if problem is not None:
        return Reply(kind="error", text=f"Cannot subscribe to {topic} with those sources: {problem}.", ephemeral=True)
    if command.template is not None and resolve_template(command.template, settings.templates) is None:
        names = ", ".join(template_names(settings.templates))
        return Reply(kind="error", text=f"Unknown template {command.template!r}: use one of {names}.", ephemeral=True)
    try:
        sub = store.add_subscription(
            platform,
            channel,
            topic,
            schedule=schedule,
            tz=tz,
            now=now,
            by=user,
            sources=command.sources,
            team=team,
            template=command.template,
            mode=command.mode,
        )
    except ValueError:
        existing = next(s for s in store.list_subscriptions(platform=platform, channel=channel) if s.topic == topic)
        return Reply(
            kind="error",
            text=f"This channel is already subscribed to {topic} (#{existing.id}: {existing.schedule}, {existing.tz}).",
            ephemeral=True,
        )
    only = f", only from sources={','.join(sub.sources)}" if sub.sources else ""
    shape = f", template={sub.template}" if sub.template else ""
    if sub.items:
        return Reply(
            kind="text",
            text=f"Subscribed this channel to {topic}: items{only}{shape}, #{sub.id}. Each new article is posted "
            "here once as a line of its own, however many feeds carry it.",
        )
    return Reply(
        kind="text",
        text=f"Subscribed this channel to {topic}: {sub.schedule} ({sub.tz}){only}{shape}, "
        f"#{sub.id}. "
        + (
            "Each new story is posted here once as it breaks, and its message updated as it grows."
            if sub.schedule.startswith("live")
            else "A digest carries only stories not posted here before."
        ),
    )


def _unsubscribe_reply(command: UnsubscribeCommand, *, store: Store, platform: str, channel: str) -> Reply:
    subs = store.list_subscriptions(platform=platform, channel=channel)
    sub = next((s for s in subs if s.topic.casefold() == command.topic.casefold()), None)
    if sub is None or not store.remove_subscription(sub.id):
        return Reply(kind="error", text=f"This channel is not subscribed to {command.topic}.", ephemeral=True)
    return Reply(kind="text", text=f"Unsubscribed this channel from {sub.topic}.")


def _feeds_reply(
    command: FeedsCommand,
    *,
    store: Store,
    settings: Settings,
    feeds: FeedFinder | None,
    user: str,
    now: datetime,
    limiter: RateLimiter,
) -> Reply:
    if command.action == "remove":
        feed = store.get_feed(int(command.argument or 0))
        if feed is None:
            return Reply(kind="error", text=f"No feed #{command.argument} (see /brief feeds list).", ephemeral=True)
        if any(configured.url == feed.url for configured in settings.feeds):
            return Reply(
                kind="error",
                text=f"Feed #{feed.id} ({feed.url}) is in the config's [[feeds]]: the operator removes it there.",
                ephemeral=True,
            )
        store.remove_feed(feed.id)
        label = f"{feed.name} ({feed.url})" if feed.name else feed.url
        return Reply(kind="text", text=f"Removed feed #{feed.id}: {label}. Its articles stay in the archive.")
    url = command.argument or ""
    if is_file_url(url):
        return Reply(kind="error", text=FILE_FROM_CHAT, ephemeral=True)
    if feeds is None:
        return Reply(
            kind="error",
            text="Feeds cannot be added from chat here: the operator adds them (`newsbrief feeds add URL`).",
            ephemeral=True,
        )
    wait = limiter.acquire(user, now)
    if wait is not None:
        return Reply(
            kind="error",
            text=f"Too many requests: at most {limiter.per_minute} a minute. Try again in {_seconds(wait)} s.",
            ephemeral=True,
        )
    try:
        added = add_feed(store, feeds, url, interval=settings.poll.interval, now=now)
    except FetchError as exc:
        return Reply(kind="error", text=f"Cannot add {url}: {exc.kind}: {exc.message}", ephemeral=True)
    except ValueError as exc:
        return Reply(kind="error", text=f"Cannot add {url}: {exc}.", ephemeral=True)
    feed, found = added.feed, added.found
    where = f", discovered on {found.discovered_on}" if found.discovered_on else ""
    entries = f"{found.entries} {'entry' if found.entries == 1 else 'entries'}"
    return Reply(
        kind="text",
        text=f"Added feed #{feed.id}: {found.title or '(untitled)'} ({feed.url}{where}), "
        f"{entries} now; polled every {duration_text(timedelta(seconds=feed.interval_s))} from the next round.",
    )


def answer(
    command: Command,
    *,
    store: Store,
    settings: Settings,
    user: str,
    channel: str,
    now: datetime,
    limiter: RateLimiter,
    platform: str = "console",
    is_manager: bool = False,
    feeds: FeedFinder | None = None,
    team: str | None = None,
) -> Reply:
    """Answer a parsed command for ``user`` in ``channel`` of ``platform`` as of ``now`` (``/brief`` and ``feeds
    add`` are rate-limited). What :func:`needs_manager` says needs ``is_manager`` (the adapter decides:
    channel-manager rights; the console is always a manager); anyone may list a channel's subscriptions and the
    feeds. ``feeds`` finds the feed at a URL for ``feeds add`` (through :mod:`bot.sources`; never a ``file:``
    URL); without it feeds are not added from chat. ``team``: the workspace a Slack subscription is made in (many
    workspaces, OAuth)."""
    if isinstance(command, BriefCommand):
        return _brief(command, store=store, settings=settings, user=user, now=now, limiter=limiter)
    if isinstance(command, TopicsCommand):
        return Reply(kind="text", text=_topics_text(settings), ephemeral=True)
    if isinstance(command, SourcesCommand):
        return Reply(kind="text", text=_sources_text(store), ephemeral=True)
    if isinstance(command, HelpCommand):
        return Reply(kind="text", text=USAGE, ephemeral=True)
    if isinstance(command, ListCommand):
        return Reply(kind="text", text=_list_text(store, platform, channel), ephemeral=True)
    if isinstance(command, FeedsCommand) and command.action == "list":
        return Reply(kind="text", text=_sources_text(store, ids=True), ephemeral=True)
    if not is_manager:
        return Reply(
            kind="error",
            text=NOT_A_FEED_MANAGER if isinstance(command, FeedsCommand) else NOT_A_MANAGER,
            ephemeral=True,
        )
    if isinstance(command, FeedsCommand):
        return _feeds_reply(command, store=store, settings=settings, feeds=feeds, user=user, now=now, limiter=limiter)
    if isinstance(command, SubscribeCommand):
        return _subscribe_reply(
            command, store=store, settings=settings, user=user, platform=platform, channel=channel, now=now, team=team
        )
    return _unsubscribe_reply(command, store=store, platform=platform, channel=channel)


def render_text(reply: Reply) -> str:
    """Plain text for any reply: the full briefing (or the no-match hint), else the reply's text."""
    if reply.kind == "briefing" and reply.briefing is not None:
        return format_briefing(reply.briefing)
    return reply.text
