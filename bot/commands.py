"""The chat command grammar of SPEC.md, parsed and answered the same way for every adapter.

``parse_command`` turns what a user typed into a :data:`Command` (or raises :class:`UsageError` carrying the usage
text); ``answer`` turns a command into a platform-neutral :class:`Reply`; ``render_text`` is the plain-text
rendering every adapter can fall back to. Nothing here reads the clock (``now`` is passed in) or knows a platform.

Grammar (the leading ``/brief`` is optional)::

    /brief <topic or words>
    /brief subscribe <topic> [schedule] [tz=Area/City]
    /brief unsubscribe <topic>
    /brief list | topics | sources | help

``list``, ``topics``, ``sources`` and ``help`` are commands only when alone (``/brief sources of funding`` is a
briefing on those words); ``subscribe``/``unsubscribe`` always are. A schedule is ``daily HH:MM``,
``weekdays HH:MM``, ``hourly`` or a 5-field cron expression (``minute hour day month weekday``).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.briefing import Briefing, NoMatch, format_briefing, make_briefing
from bot.config import Settings
from bot.store import Store

__all__ = [
    "MAX_COMMAND_CHARS",
    "USAGE",
    "BriefCommand",
    "Command",
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
    "command_name",
    "parse_command",
    "parse_schedule",
    "render_text",
]

USAGE = """\
Usage:
  /brief <topic or words>                       a briefing now (a configured topic, or words to search:
                                                "a phrase", a OR b, -excluded)
  /brief subscribe <topic> [schedule] [tz=Area/City]
                                                schedule: daily 08:00 | weekdays 07:30 | hourly | a cron
                                                expression such as "0 8 * * 1-5"
  /brief unsubscribe <topic>
  /brief list                                   this channel's subscriptions
  /brief topics | sources | help"""

MAX_COMMAND_CHARS = 1000
"""The longest command answered (a query is capped at 32 terms anyway; a 1 MB one only costs time)."""
DEFAULT_SCHEDULE = "daily 08:00"
"""The schedule of ``/brief subscribe <topic>`` without one."""
DEFAULT_TZ = "UTC"
"""The time zone of ``/brief subscribe`` without ``tz=``."""
NOT_A_MANAGER = "Subscribing and unsubscribing need channel-manager rights in this channel."


class UsageError(ValueError):
    """What the user typed is not a command; ``str(error)`` says what is wrong, ``usage`` is the usage text."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = USAGE

    def reply_text(self) -> str:
        """The problem, then the usage text."""
        return f"{self.problem}\n\n{self.usage}"


# ------------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Schedule:
    """A digest schedule: ``kind`` is "daily", "weekdays", "hourly" or "cron"; :attr:`cron` is always set
    (the 5-field crontab equivalent, e.g. "30 7 * * mon-fri" for "weekdays 07:30")."""

    kind: Literal["daily", "weekdays", "hourly", "cron"]
    cron: str
    text: str


@dataclass(frozen=True, slots=True)
class BriefCommand:
    """``/brief <topic or words>``."""

    query: str


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    """``/brief subscribe <topic> [schedule] [tz=...]``; ``None`` means the configured default."""

    topic: str
    schedule: Schedule | None = None
    tz: str | None = None


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


Command = (
    BriefCommand | SubscribeCommand | UnsubscribeCommand | ListCommand | TopicsCommand | SourcesCommand | HelpCommand
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
}


def command_name(command: Command) -> str:
    """The command's name for metrics and logs: "brief", "subscribe", "unsubscribe", "list", "topics",
    "sources" or "help"."""
    return _NAMES[type(command)]

_PREFIX = re.compile(r"^/brief(?:\s+|$)", re.IGNORECASE)
_ALONE: dict[str, Command] = {
    "list": ListCommand(),
    "topics": TopicsCommand(),
    "sources": SourcesCommand(),
    "help": HelpCommand(),
}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")

# (name, low, high, names) of the five cron fields
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def _clock(value: str, kind: str) -> tuple[int, int]:
    m = _CLOCK.match(value)
    if not m:
        raise UsageError(f"{kind}: expected a time such as 08:00, got {value!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise UsageError(f"{kind}: {value!r} is not a time of day (hours 0-23, minutes 0-59)")
    return hour, minute


def _cron_value(value: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = value.lower()
    if lowered in names:
        # months are 1-based (jan = 1), weekdays 0-based (sun = 0)
        return names.index(lowered) + low
    if not value.isdigit():
        raise UsageError(f"cron {name}: {value!r} is not a number")
    number = int(value)
    if not low <= number <= high:
        raise UsageError(f"cron {name}: {number} is out of range ({low}-{high})")
    return number


def _check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and (not step.isdigit() or int(step) < 1):
            raise UsageError(f"cron {name}: step {step!r} must be a positive number")
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        if not first:
            raise UsageError(f"cron {name}: {part!r} is not a value, range or list")
        start = _cron_value(first, name, low, high, names)
        if dash:
            end = _cron_value(last, name, low, high, names)
            if end < start:
                raise UsageError(f"cron {name}: range {base!r} runs backwards")


def parse_schedule(text: str) -> Schedule:
    """``daily HH:MM``, ``weekdays HH:MM``, ``hourly`` or a 5-field cron expression; :class:`UsageError` otherwise."""
    words = text.strip().strip("\"'“”‘’").split()
    if not words:
        raise UsageError("empty schedule")
    kind = words[0].lower()
    if kind == "hourly":
        if len(words) != 1:
            raise UsageError(f"hourly takes no time, got {text!r}")
        return Schedule("hourly", "0 * * * *", "hourly")
    if kind in ("daily", "weekdays"):
        if len(words) != 2:
            raise UsageError(f"{kind} needs one time such as 08:00, got {text!r}")
        hour, minute = _clock(words[1], kind)
        if kind == "daily":
            return Schedule("daily", f"{minute} {hour} * * *", f"daily {hour:02d}:{minute:02d}")
        return Schedule("weekdays", f"{minute} {hour} * * mon-fri", f"weekdays {hour:02d}:{minute:02d}")
    if len(words) != 5:
        raise UsageError(
            f"unknown schedule {text.strip()!r}: use daily 08:00, weekdays 07:30, hourly, or a 5-field cron expression"
        )
    for value, (name, low, high, names) in zip(words, _CRON_FIELDS, strict=True):
        _check_cron_field(value, name, low, high, names)
    expression = " ".join(words)
    return Schedule("cron", expression, expression)


def _check_tz(name: str) -> str:
    if not name:
        raise UsageError("tz= needs a time zone such as tz=Europe/Berlin")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin or UTC)") from None
    return name


def _subscribe(args: list[str]) -> SubscribeCommand:
    if not args:
        raise UsageError("subscribe needs a topic: /brief subscribe <topic> [schedule] [tz=Area/City]")
    topic, rest = args[0], args[1:]
    if topic.lower().startswith("tz="):
        raise UsageError("subscribe needs a topic before tz=")
    tz: str | None = None
    schedule_words: list[str] = []
    for word in rest:
        if word.lower().startswith("tz="):
            if tz is not None:
                raise UsageError("tz= given twice")
            tz = _check_tz(word[3:])
        else:
            schedule_words.append(word)
    schedule = parse_schedule(" ".join(schedule_words)) if schedule_words else None
    return SubscribeCommand(topic=topic, schedule=schedule, tz=tz)


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


def _sources_text(store: Store) -> str:
    feeds = store.list_feeds()
    if not feeds:
        return "No feeds yet. Add some under [[feeds]] in the config, or with `newsbrief feeds add URL`."
    lines = [f"Sources ({len(feeds)} {'feed' if len(feeds) == 1 else 'feeds'}):"]
    for feed in feeds:
        if not feed.enabled:
            state = f"disabled: {feed.disabled_reason or 'no reason recorded'}"
        elif feed.consecutive_failures:
            state = f"failing ({feed.consecutive_failures}x, {feed.last_error_kind}): {feed.last_error}"
        elif feed.last_polled_at is None:
            state = "not polled yet"
        else:
            state = "ok"
        label = f"{feed.name} ({feed.url})" if feed.name else feed.url
        lines.append(f"  {label}: {state[:200]}; last polled {_when(feed.last_polled_at)}")
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
        lines.append(f"  #{sub.id} {sub.topic}: {sub.schedule} ({sub.tz}){state}")
    return "\n".join(lines)


def _topic_name(wanted: str, settings: Settings) -> str | None:
    return next((name for name in settings.topics if name.casefold() == wanted.casefold()), None)


def _subscribe_reply(
    command: SubscribeCommand, *, store: Store, settings: Settings, user: str, platform: str, channel: str,
    now: datetime,
) -> Reply:  # fmt: skip
    topic = _topic_name(command.topic, settings)
    if topic is None:
        known = ", ".join(sorted(settings.topics)) or "none are configured"
        return Reply(kind="error", text=f"Unknown topic {command.topic!r}: subscribe to a configured topic "
                                        f"({known}).", ephemeral=True)  # fmt: skip
    schedule = command.schedule.text if command.schedule is not None else DEFAULT_SCHEDULE
    tz = command.tz or DEFAULT_TZ
    try:
        sub = store.add_subscription(platform, channel, topic, schedule=schedule, tz=tz, now=now, by=user)
    except ValueError:
        existing = next(s for s in store.list_subscriptions(platform=platform, channel=channel) if s.topic == topic)
        return Reply(kind="error", text=f"This channel is already subscribed to {topic} (#{existing.id}: "
                                        f"{existing.schedule}, {existing.tz}).", ephemeral=True)  # fmt: skip
    return Reply(kind="text", text=f"Subscribed this channel to {topic}: {sub.schedule} ({sub.tz}), #{sub.id}. "
                                   "A digest carries only stories not posted here before.")  # fmt: skip


def _unsubscribe_reply(command: UnsubscribeCommand, *, store: Store, platform: str, channel: str) -> Reply:
    subs = store.list_subscriptions(platform=platform, channel=channel)
    sub = next((s for s in subs if s.topic.casefold() == command.topic.casefold()), None)
    if sub is None or not store.remove_subscription(sub.id):
        return Reply(kind="error", text=f"This channel is not subscribed to {command.topic}.", ephemeral=True)
    return Reply(kind="text", text=f"Unsubscribed this channel from {sub.topic}.")


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
) -> Reply:
    """Answer a parsed command for ``user`` in ``channel`` of ``platform`` as of ``now`` (only ``/brief`` is
    rate-limited). Subscribing and unsubscribing need ``is_manager`` (the adapter decides: channel-manager
    rights; the console is always a manager); anyone may list a channel's subscriptions."""
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
    if not is_manager:
        return Reply(kind="error", text=NOT_A_MANAGER, ephemeral=True)
    if isinstance(command, SubscribeCommand):
        return _subscribe_reply(command, store=store, settings=settings, user=user, platform=platform,
                                channel=channel, now=now)  # fmt: skip
    return _unsubscribe_reply(command, store=store, platform=platform, channel=channel)


def render_text(reply: Reply) -> str:
    """Plain text for any reply: the full briefing (or the no-match hint), else the reply's text."""
    if reply.kind == "briefing" and reply.briefing is not None:
        return format_briefing(reply.briefing)
    return reply.text
