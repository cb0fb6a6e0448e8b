"""The settings: one pydantic model per section of the TOML file, and :class:`Settings`, the whole file.

Each model is used as it is by whatever the section configures (:class:`NetworkConfig` by the fetcher,
:class:`SchedulerConfig` by the scheduler, :class:`LiveSettings` by live alerts): there are no second copies to
convert to. Validated from a file (``context`` given, see :func:`bot.config.settings_from_mapping`), a model takes
only the keys the file may hold; built in code, it takes its values as they are (a ``timedelta`` for a duration).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.config._errors import describe
from bot.config._subscriptions import SubscriptionConfig, SubscriptionError, check_subscription, sources_text
from bot.config._values import (
    Duration,
    DurationOrZero,
    Flag,
    Text,
    at_least,
    duration,
    duration_text,
    fail,
    matching,
    parse_listen,
    resolve_file_url,
    user_agent,
)
from bot.schedules import ScheduleError, parse_quiet
from summarizer import language_name

if TYPE_CHECKING:
    from bot.briefing import Template

__all__ = [
    "DEFAULT_STORE_URL",
    "JOB_ENGINES",
    "SLACK_SCOPES",
    "DemoConfig",
    "DigestsConfig",
    "DiscordConfig",
    "FeedConfig",
    "HttpConfig",
    "JobsConfig",
    "LiveSettings",
    "NetworkConfig",
    "PollConfig",
    "SchedulerConfig",
    "Settings",
    "SlackConfig",
    "StoreConfig",
    "SubscriptionEntry",
]

DEFAULT_STORE_URL = "sqlite:///var/newsbrief.db"

Positive = Annotated[StrictInt, at_least(1)]
Quiet = tuple[tuple[int, int], tuple[int, int]]


class Section(BaseModel):
    """A table of the file: frozen; read from a file, an unknown key is an error naming the keys it may hold (those
    of :attr:`not_in_file` are set in code only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    not_in_file: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is not None and isinstance(data, Mapping):
            known = sorted(set(cls.model_fields) - cls.not_in_file)
            for key in data:
                if key not in known:
                    context = {"key": key, "known": ", ".join(known)}
                    raise PydanticCustomError("unknown_key", "unknown key {key}", context)
        return data


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


def _relay(error: ValidationError, section: str, at: str) -> None:
    """A nested model's error as one of the value being validated (a ``section``'s), below ``at``."""
    path, problem = describe(error.errors()[0], section)
    fail(problem, at + (path if path.startswith("[") or not path else f".{path}"))


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class StoreConfig(Section):
    """``[store]``: the database (SQLite or PostgreSQL) and how many days articles are kept."""

    url: Annotated[
        str,
        matching(
            r"^(sqlite|postgresql(\+psycopg)?)://",
            "sqlite:///PATH or postgresql+psycopg://...",
            show=lambda url: repr(_hide_password(url)),
        ),
    ] = DEFAULT_STORE_URL
    retention_days: Positive = 30

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The URL's password is not shown (``***``)."""
        for name, value in super().__repr_args__():
            yield name, _hide_password(value) if name == "url" else value


def _allowed_private(entry: str) -> str:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", entry):
            fail(f"expected a host name, IP address or CIDR, got {entry!r}")
    return entry


class NetworkConfig(Section):
    """``[network]``: the limits of every fetch (:class:`bot.sources.Fetcher` takes it as it is).

    ``read_timeout`` bounds each wait for bytes; ``total_timeout`` bounds a whole fetch including redirects, so a
    server dripping one byte at a time cannot hold a slot forever. ``max_bytes`` caps the *decompressed* body.
    ``allow_private`` lists host names, IPs or CIDR blocks exempt from the private-address guard. ``max_redirects``
    and ``total_timeout`` are not read from the file."""

    not_in_file: ClassVar[frozenset[str]] = frozenset({"max_redirects", "total_timeout"})

    allow_private: tuple[Annotated[Text, AfterValidator(_allowed_private)], ...] = ()
    user_agent: Text | None = None
    """A User-Agent of one's own, replacing newsbrief's whole (``None``: :attr:`agent` is :func:`user_agent`'s)."""
    contact: (
        Annotated[
            str,
            matching(
                r"(?:https?://[^\s()]+|mailto:[^\s()@]+@[^\s()]+)\Z",
                "an https:// URL or a mailto: address where site operators can reach you",
            ),
        ]
        | None
    ) = None
    """Where site operators reach whoever runs the bot; goes into the User-Agent."""
    connect_timeout: Duration = timedelta(seconds=5)
    read_timeout: Duration = timedelta(seconds=15)
    max_bytes: Positive = 5_000_000
    """At least 1024 in the file (a test may set less in code)."""
    per_host: Positive = 2
    global_limit: Positive = 16
    max_redirects: int = 5
    total_timeout: Duration = timedelta(seconds=60)

    @field_validator("max_bytes")
    @classmethod
    def _max_bytes(cls, value: int, info: ValidationInfo) -> int:
        if info.context is not None and value < 1024:
            fail(f"must be at least 1024, got {value}")
        return value

    @property
    def agent(self) -> str:
        """The User-Agent sent: ``user_agent`` when set, else newsbrief's with ``contact``."""
        return self.user_agent or user_agent(self.contact)


_DEFAULT_PAGE_BUDGET = timedelta(seconds=20)


def _page_budget(data: Any) -> Any:
    """``[poll] page_budget`` when not given: 20 s, or half the feed timeout when that is shorter."""
    if isinstance(data, Mapping) and "page_budget" not in data and "feed_timeout" in data:
        try:
            feed_timeout = duration(data["feed_timeout"])
        except PydanticCustomError:
            return data  # told by feed_timeout's own check
        return {**data, "page_budget": min(_DEFAULT_PAGE_BUDGET, feed_timeout / 2)}
    return data


class PollConfig(Section):
    """``[poll]``: how feeds are polled."""

    interval: Duration = timedelta(minutes=15)
    """The default per-feed interval."""
    backfill: Annotated[StrictInt, at_least(0)] = 0
    """Entries of a new feed's first poll that are eligible for digests."""
    disable_after: Positive = 10
    """Consecutive failures before a feed is disabled."""
    max_backoff: Duration = timedelta(days=1)
    fetch_pages: Flag = True
    page_timeout: Duration = timedelta(seconds=10)
    """Extracting one page's text."""
    feed_timeout: Duration = timedelta(minutes=2)
    """One feed's poll: its document, then the pages of its entries while time is left."""
    page_budget: Duration = _DEFAULT_PAGE_BUDGET
    """One article page: fetching and extracting it (less than feed_timeout)."""
    respect_robots: Flag = True
    """Page fetches follow each site's robots.txt."""

    _default_budget = model_validator(mode="before")(_page_budget)

    @model_validator(mode="after")
    def _budget_inside_feed_timeout(self) -> PollConfig:
        if self.page_budget >= self.feed_timeout:
            fail(
                f"must be shorter than poll.feed_timeout ({duration_text(self.feed_timeout)}), "
                f"got {duration_text(self.page_budget)}",
                "page_budget",
            )
        return self


def _language(value: str) -> str:
    try:
        return language_name(value)
    except ValueError as exc:
        fail(str(exc))


class FeedConfig(Section):
    """One ``[[feeds]]`` entry; a relative ``file:`` URL is taken relative to the config file's folder."""

    url: Text
    name: Text | None = None
    interval: Duration | None = None
    """How often the feed is polled (``None``: ``[poll] interval``)."""
    tags: tuple[Text, ...] = ()
    language: Annotated[Text, AfterValidator(_language)] | None = None
    """The feed's language (a name sumy supports, e.g. "german"); ``None``: detected per article."""

    @field_validator("url")
    @classmethod
    def _url(cls, url: str, info: ValidationInfo) -> str:
        base = _context(info).get("base")
        if isinstance(base, Path):
            url = resolve_file_url(url, base)
        if not re.match(r"^(?:https?|file)://\S+$", url):
            fail(f"expected an http(s):// or file:// URL, got {url!r}")
        return url


def _lease(value: object) -> timedelta:
    lease = duration(value)
    if lease < timedelta(seconds=1):
        fail(f"expected at least 1s, got {duration_text(lease)}")
    return lease


class SchedulerConfig(Section):
    """``[scheduler]``, the scheduler's timing (:class:`bot.scheduler.Scheduler` takes it as it is): ``lease`` is
    how long a leader's lock lasts unless renewed (renewed every third of it; a killed leader is replaced after at
    most this long), ``misfire_grace`` how late a digest may still be posted, ``sync_every`` how often jobs are
    brought in line with the store (at least a second), ``poll_jitter`` spreads polls."""

    not_in_file: ClassVar[frozenset[str]] = frozenset({"recover_after"})

    lease: Annotated[timedelta, BeforeValidator(_lease)] = timedelta(seconds=30)
    misfire_grace: Duration = timedelta(hours=1)
    sync_every: Annotated[timedelta, BeforeValidator(lambda v: max(timedelta(seconds=1), duration(v)))] = timedelta(
        minutes=1
    )
    poll_jitter: DurationOrZero = timedelta(0)
    recover_after: Duration = timedelta(minutes=2)
    """A digest claim still without an outcome this long after (and at least two lease times) is taken to be
    abandoned by a process that died, and is finished by :func:`bot.digests.recover_digest` (not configurable)."""


class DigestsConfig(Section):
    """``[digests]``: how far back a digest looks (``window``), how many stories (``max_stories``), and whether one
    with nothing new is posted (``post_empty``)."""

    window: Duration = timedelta(hours=24)
    max_stories: Positive = 5
    post_empty: Flag = False


def _per_hour(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(f"expected a whole number of at least 1, got {value!r}")
    return value


def _quiet(value: object) -> object:
    if value in (None, "", "none"):
        return None
    if isinstance(value, tuple):
        return value
    if not isinstance(value, str):
        fail(f'expected "HH:MM-HH:MM" or "none", got {value!r}')
    try:
        return parse_quiet(value)
    except ScheduleError as exc:
        fail(exc.problem.removeprefix("quiet=: "))


class LiveSettings(Section):
    """``[live]``, live story alerts (:mod:`bot.alerts`): ``settle`` how old a story's first article must be before
    it is posted, ``edit_every`` the least time between two edits of one story's message, ``per_hour`` the most
    stories posted per channel per hour, ``quiet_hours`` the default quiet hours of live subscriptions without their
    own (``"22:00-07:00"``, in each subscription's time zone; ``None``: none). Not read from the file: ``window``,
    how far back stories are looked for, ``recover_after``, how old an unfinished claim must be before it is taken
    for a dead poster's, and ``candidates``, the most stories of a topic looked at per round."""

    not_in_file: ClassVar[frozenset[str]] = frozenset({"window", "recover_after", "candidates"})

    settle: Duration = timedelta(minutes=2)
    edit_every: Duration = timedelta(minutes=5)
    per_hour: Annotated[int, BeforeValidator(_per_hour)] = 6
    quiet_hours: Annotated[Quiet | None, BeforeValidator(_quiet)] = None
    window: Duration = timedelta(hours=24)
    recover_after: Duration = timedelta(minutes=2)
    candidates: int = 50


SLACK_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:join",
    "channels:history",
    "groups:history",
    "users:read",
)
"""The bot scopes of config/slack-manifest.yml."""


def _slack_mode(value: str) -> str:
    if value not in ("socket", "http", "oauth"):
        fail(f'expected "socket", "http" or "oauth", got {value!r}')
    return value


class SlackConfig(Section):
    """``[slack]``: Socket Mode (default; needs SLACK_APP_TOKEN), HTTP mode (Events API on ``[http] listen``,
    needs SLACK_SIGNING_SECRET) or OAuth mode (HTTP mode for many workspaces, each installing the app through
    ``/slack/install``: needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET); ``managers`` are
    user ids allowed to subscribe besides workspace admins and owners; ``in_channel``: briefings answer in the
    channel (``False``: only to the asker); ``api_url`` is the Web API base (tests point it at a local fake)."""

    mode: Annotated[Text, AfterValidator(_slack_mode)] = "socket"
    managers: tuple[Annotated[str, matching(r"[UW][A-Z0-9]{2,}\Z", "a Slack user id such as U0123ABCD")], ...] = ()
    in_channel: Flag = True
    api_url: Annotated[str, matching(r"^https?://\S+/$", "an http(s) URL ending in /")] = "https://slack.com/api/"
    scopes: tuple[Annotated[str, matching(r"[a-z]+(?:[:.][a-z_]+)*\Z", "a Slack scope such as chat:write")], ...] = (
        SLACK_SCOPES
    )
    """``mode = "oauth"``: the bot scopes asked for when a workspace installs the app (config/slack-manifest.yml)."""
    authorize_url: Annotated[str, matching(r"^https?://\S+$", "an http(s) URL")] = (
        "https://slack.com/oauth/v2/authorize"
    )
    """``mode = "oauth"``: where ``/slack/install`` sends the installer (tests point it at a local fake)."""


def _guild(value: object) -> object:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        fail(f"expected a guild id (a number such as 123456789012345678), got {value!r}")
    return value


_SHARDS_RE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def _shards(value: object) -> object:
    """``[discord] shards``: "0-3", "5" or a list of shard ids, none twice."""
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, str):
        m = _SHARDS_RE.fullmatch(value)
        first, last = (int(m[1]), int(m[2] or m[1])) if m is not None else (0, -1)
        if last < first:
            fail(f'expected a range such as "0-3", a shard id or a list of ids, got {value!r}')
        return tuple(range(first, last + 1))
    if not isinstance(value, list):
        fail(f"expected a string or a list, got {type(value).__name__} {value!r}")
    ids: list[int] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            fail(f"expected a shard id (a number from 0), got {item!r}", f"[{i}]")
        if item in ids:
            fail(f"shard {item} is listed twice", f"[{i}]")
        ids.append(item)
    if not ids:
        fail("expected at least one shard id")
    return tuple(ids)


class DiscordConfig(Section):
    """``[discord]``: ``guilds`` to sync the commands to at once (global commands take up to an hour to show);
    ``api_url`` is the REST base discord.py must be using: the bot never changes discord.py's globals, so a test
    that sets it to a local fake points discord.py there first (``testkit/fakediscord.py``). ``shard_count``: the
    shards the bot is split into across all processes; ``shards``: the ones this process connects (``None``: all of
    ``shard_count``, or as many as Discord recommends when ``shard_count`` is ``None`` too)."""

    guilds: tuple[Annotated[int, BeforeValidator(_guild)], ...] = ()
    api_url: Annotated[str, matching(r"^https?://\S+[^/]$", "an http(s) URL without a trailing /")] = (
        "https://discord.com/api/v10"
    )
    shards: Annotated[tuple[int, ...] | None, BeforeValidator(_shards)] = None
    shard_count: Positive | None = None

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordConfig:
        if self.shards is None:
            return self
        if self.shard_count is None:
            fail("needs discord.shard_count (how many shards all processes together run)", "shards")
        outside = [i for i in self.shards if i >= self.shard_count]
        if outside:
            fail(f"shard {outside[0]} is outside 0-{self.shard_count - 1} (shard_count = {self.shard_count})", "shards")
        return self


JOB_ENGINES = ("inline", "procrastinate")
"""``[jobs] engine``: "inline" runs ingestion inside ``newsbrief run`` (the embedded default); "procrastinate" queues
it as jobs in PostgreSQL for ``newsbrief worker`` processes (see docs/scaling.md)."""


def _engine(value: str) -> str:
    if value not in JOB_ENGINES:
        fail(f'expected "inline" or "procrastinate", got {value!r}')
    return value


class JobsConfig(Section):
    """``[jobs]``: how ingestion runs. ``engine`` is one of :data:`JOB_ENGINES`; with "procrastinate" a job is tried
    ``attempts`` times in all (the k-th retry waits ``retry_wait`` ** k, in whole seconds: see
    :func:`bot.jobs.retry_strategy`) before it is dead-lettered; each try may take ``deadline``; a worker runs
    ``concurrency`` jobs at once."""

    engine: Annotated[Text, AfterValidator(_engine)] = "inline"
    attempts: Positive = 5
    retry_wait: DurationOrZero = timedelta(seconds=4)
    deadline: Duration = timedelta(minutes=5)
    concurrency: Positive = 8


def _listen(value: str) -> str:
    try:
        parse_listen(value)
    except ValueError as exc:
        fail(str(exc))
    return value


class HttpConfig(Section):
    """``[http]``: ``listen``, the address of the HTTP server (:func:`parse_listen`; ``None``: no HTTP server)."""

    listen: Annotated[Text, AfterValidator(_listen)] | None = None


class DemoConfig(Section):
    """``[demo]``: ``seed_article``, whether ``run`` stores ../shared's seed article when present."""

    seed_article: Flag = False


def _topic_query(query: str) -> str:
    if not query.strip():
        fail("a topic needs a query, e.g. 'ukraine OR kyiv'")
    return query


def _word(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(f"expected a non-empty string, got {value!r}")
    return value.strip()


Word = Annotated[str, BeforeValidator(_word)]


def _sources(value: object) -> object:
    try:
        return sources_text(value)
    except ValueError as exc:
        fail(str(exc))


class SubscriptionEntry(Section):
    """One ``[[subscriptions]]`` table as written; :func:`bot.config.check_subscription`'s checks make it a
    :class:`SubscriptionConfig`."""

    platform: Word
    channel: Word
    topic: Word
    schedule: Word | None = None
    tz: Word | None = None
    template: Word | None = None
    mode: Word | None = None
    sources: Annotated[str | None, BeforeValidator(_sources)] = None


@dataclass(frozen=True)
class _Known:
    topics: Mapping[str, str]
    templates: Mapping[str, Template]


class Settings(Section):
    """The whole configuration, one section a field. ``path`` is the file it came from (``None``: built-in
    defaults), ``raw`` the parsed file."""

    not_in_file: ClassVar[frozenset[str]] = frozenset({"path", "raw"})

    path: Path | None = None
    raw: Mapping[str, Any] = Field(default_factory=dict, repr=False)
    store: StoreConfig = StoreConfig()
    network: NetworkConfig = NetworkConfig()
    poll: PollConfig = PollConfig()
    feeds: tuple[FeedConfig, ...] = ()
    topics: Mapping[Text, Annotated[Text, AfterValidator(_topic_query)]] = Field(default_factory=dict)
    if TYPE_CHECKING:
        templates: Mapping[str, Template] = {}
    else:
        templates: Mapping[str, Any] = Field(default_factory=dict)
    """The user's message templates, ``[templates.NAME]`` (:func:`bot.briefing.parse_templates`), by name; the
    built-in ones (:data:`bot.briefing.BUILTIN_TEMPLATES`) are not among them."""
    http: HttpConfig = HttpConfig()
    demo: DemoConfig = DemoConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    digests: DigestsConfig = DigestsConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    jobs: JobsConfig = JobsConfig()
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    """``[[subscriptions]]``, validated (:func:`bot.config.check_subscription`)."""
    live: LiveSettings = LiveSettings()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any, info: ValidationInfo) -> Any:
        """Read from a file: ``path`` and ``raw`` come from the context, not from the file."""
        context = _context(info)
        if "where" in context and isinstance(data, Mapping):
            for key in data:
                if key not in cls.model_fields or key in cls.not_in_file:
                    known = ", ".join(sorted(set(cls.model_fields) - cls.not_in_file))
                    raise PydanticCustomError("unknown_section", "unknown section {key}", {"key": key, "known": known})
            return {**data, "path": context.get("path"), "raw": dict(data)}
        return data

    @field_validator("feeds")
    @classmethod
    def _distinct_feeds(cls, feeds: tuple[FeedConfig, ...]) -> tuple[FeedConfig, ...]:
        seen: set[str] = set()
        for i, feed in enumerate(feeds):
            if feed.url in seen:
                fail(f"duplicate feed {feed.url!r}", f"[{i}].url")
            seen.add(feed.url)
        return feeds

    @field_validator("templates", mode="plain")
    @classmethod
    def _templates(cls, value: Any, info: ValidationInfo) -> Any:
        """``[templates.NAME]``, parsed by :func:`bot.briefing.parse_templates` (imported here: the briefing package
        imports the store, which must not load with the config)."""
        if isinstance(value, Mapping) and not value:
            return {}
        from bot.briefing._template import Template, TemplateError, parse_templates

        if isinstance(value, Mapping) and all(isinstance(t, Template) for t in value.values()):
            return dict(value)
        try:
            return parse_templates(value, where=str(_context(info).get("where", "<config>")))
        except TemplateError as exc:
            raise PydanticCustomError("newsbrief_line", "{line}", {"line": str(exc)}) from None

    @field_validator("subscriptions", mode="plain")
    @classmethod
    def _subscriptions(cls, value: Any, info: ValidationInfo) -> tuple[SubscriptionConfig, ...]:
        """Each entry checked by :func:`bot.config.check_subscription`, against the topics and templates above it;
        no two for the same platform, channel and topic."""
        if isinstance(value, tuple) and all(isinstance(s, SubscriptionConfig) for s in value):
            return value
        if not isinstance(value, list):
            fail(f"expected an array of tables ([[subscriptions]]), got {type(value).__name__}")
        known = _Known(info.data.get("topics", {}), info.data.get("templates", {}))
        parsed: list[SubscriptionConfig] = []
        seen: dict[tuple[str, str, str], int] = {}
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                fail(f"expected a table, got {type(item).__name__}", f"[{i}]")
            try:
                entry = SubscriptionEntry.model_validate(item, context=info.context or {"where": "<config>"})
            except ValidationError as exc:
                _relay(exc, "subscriptions", f"[{i}]")
                raise  # pragma: no cover - _relay raises
            try:
                config = check_subscription(known, **entry.model_dump())
            except SubscriptionError as exc:
                fail(exc.problem, f"[{i}].{exc.key}")
            identity = (config.platform, config.channel, config.topic)
            if identity in seen:
                fail(f"duplicate of subscriptions[{seen[identity]}] (same platform, channel and topic)", f"[{i}].topic")
            seen[identity] = i
            parsed.append(config)
        return tuple(parsed)

    @model_validator(mode="after")
    def _across_sections(self) -> Settings:
        if self.slack.mode == "http" and self.http.listen is None:
            fail('"http" needs [http] listen, the address Slack\'s request URL reaches (/slack/events)', "slack.mode")
        if self.jobs.engine == "procrastinate" and not self.store.url.startswith("postgresql"):
            fail(
                f'"procrastinate" keeps its jobs in PostgreSQL: set [store] url to a '
                f"postgresql+psycopg:// database (the store is {_hide_password(self.store.url)})",
                "jobs.engine",
            )
        return self

    @property
    def http_listen(self) -> str | None:
        """``[http] listen`` (:attr:`HttpConfig.listen`)."""
        return self.http.listen

    @property
    def demo_seed_article(self) -> bool:
        """``[demo] seed_article`` (:attr:`DemoConfig.seed_article`)."""
        return self.demo.seed_article

    def feed_language(self, url: str) -> str | None:
        """The ``language`` the config gives the feed at ``url`` (``None``: not configured, or no language)."""
        return next((feed.language for feed in self.feeds if feed.url == url), None)

    def secret(self, name: str) -> str | None:
        """A secret from the environment (never from the file); empty counts as unset."""
        return os.environ.get(name) or None
