"""Configuration: TOML files validated into typed settings; secrets only from the environment.

Every error names the file, the key path and what is wrong, in one line (:class:`ConfigError`).
Unknown keys are errors too (config/newsbrief.example.toml documents every key), so that a typo never silently
does nothing.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.request import url2pathname

from bot import __version__
from bot.errors import ConfigError, UsageError
from bot.schedules import DEFAULT_SCHEDULE, DEFAULT_TZ, ScheduleError, check_tz, parse_schedule
from summarizer import language_name

if TYPE_CHECKING:
    from bot.briefing import Template

__all__ = [
    "CONFIG_ENV",
    "PLATFORMS",
    "PROJECT_URL",
    "ConfigError",
    "DiscordConfig",
    "FeedConfig",
    "JobsConfig",
    "NetworkConfig",
    "PollConfig",
    "SchedulerConfig",
    "Settings",
    "SlackConfig",
    "StoreConfig",
    "SubscriptionConfig",
    "SubscriptionError",
    "check_subscription",
    "load_settings",
    "parse_duration",
    "parse_listen",
    "parse_sources",
    "resolve_file_url",
    "user_agent",
]

CONFIG_ENV = "NEWSBRIEF_CONFIG"
DEFAULT_STORE_URL = "sqlite:///var/newsbrief.db"


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


_LISTEN_EXAMPLES = "'127.0.0.1:8080', '[::1]:8080' or ':8080'"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
DEFAULT_LISTEN_HOST = "127.0.0.1"


def parse_listen(text: str) -> tuple[str, int]:
    """``(host, port)`` of an ``[http] listen`` address: ``"HOST:PORT"``, ``"[IPv6]:PORT"`` or ``":PORT"``.

    An empty host (``":8080"``) means 127.0.0.1 (loopback only): listening on every interface must be asked
    for explicitly (``"0.0.0.0:8080"``, ``"[::]:8080"``). HOST is an IPv4 address, a bracketed IPv6 address
    or a host name; PORT is 0..65535, 0 meaning any free port. Anything else raises ``ValueError`` with a
    one-line message quoting the value.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a string HOST:PORT such as {_LISTEN_EXAMPLES}, got {type(text).__name__}")
    bad = f"expected HOST:PORT such as {_LISTEN_EXAMPLES}, got {text!r}"
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueError(bad)
    if not re.fullmatch(r"[0-9]{1,5}", port_text):
        raise ValueError(f"{bad} (the port must be a number from 0 to 65535)")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"{bad} (the port must be a number from 0 to 65535)")
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{bad} ({host} is not an IPv6 address)") from None
        return str(address), port
    if not host:
        return DEFAULT_LISTEN_HOST, port
    if ":" in host:
        raise ValueError(f"{bad} (write an IPv6 address in brackets, e.g. '[::1]:8080')")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            return str(ipaddress.IPv4Address(host)), port
        except ValueError:
            raise ValueError(f"{bad} ({host} is not an IPv4 address)") from None
    if not _HOSTNAME_RE.fullmatch(host):
        raise ValueError(f"{bad} ({host!r} is not a host name or IP address)")
    return host, port


def parse_duration(value: object) -> float:
    """Seconds in ``"15m"``, ``"2h"``, ``"30s"``, ``"1d"``, ``"500ms"`` or a bare number of seconds.

    Raises ``ValueError`` with a readable message for anything else (negative, empty, "soon").
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '15m', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ValueError(f"expected a duration such as '15m', '2h', '30s' or '1d', got {value!r}")


@dataclass(frozen=True)
class StoreConfig:
    url: str = DEFAULT_STORE_URL
    retention_days: int = 30


PROJECT_URL = "https://github.com/newsbrief/newsbrief"


def user_agent(contact: str | None = None) -> str:
    """The User-Agent newsbrief sends: ``newsbrief/VERSION (+CONTACT)``, the contact being where a site's
    operator can reach whoever runs this bot (``[network] contact``; the project's page when unset)."""
    return f"newsbrief/{__version__} (+{contact or PROJECT_URL})"


@dataclass(frozen=True)
class NetworkConfig:
    """``[network]``: the limits of every fetch (:class:`bot.sources.Fetcher` takes it as it is).

    Timeouts are in seconds (``read_timeout`` bounds each wait for bytes; ``total_timeout`` bounds a whole fetch
    including redirects, so a server dripping one byte at a time cannot hold a slot forever). ``max_bytes`` caps
    the *decompressed* body. ``allow_private`` lists host names, IPs or CIDR blocks exempt from the
    private-address guard. ``max_redirects`` and ``total_timeout`` are not read from the file."""

    allow_private: tuple[str, ...] = ()
    user_agent: str | None = None
    """A User-Agent of one's own, replacing newsbrief's whole (``None``: :attr:`agent` is :func:`user_agent`'s)."""
    contact: str | None = None  # where site operators reach whoever runs the bot; goes into the User-Agent
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_bytes: int = 5_000_000
    per_host: int = 2
    global_limit: int = 16
    max_redirects: int = 5
    total_timeout: float = 60.0

    @property
    def agent(self) -> str:
        """The User-Agent sent: ``user_agent`` when set, else newsbrief's with ``contact``."""
        return self.user_agent or user_agent(self.contact)


@dataclass(frozen=True)
class PollConfig:
    interval: float = 900.0  # default per-feed interval
    backfill: int = 0  # entries of a new feed's first poll that are eligible for digests
    disable_after: int = 10  # consecutive failures before a feed is disabled
    max_backoff: float = 86_400.0
    fetch_pages: bool = True
    page_timeout: float = 10.0  # extracting one page's text
    feed_timeout: float = 120.0  # one feed's poll: its document, then the pages of its entries while time is left
    page_budget: float = 20.0  # one article page: fetching and extracting it (less than feed_timeout)
    respect_robots: bool = True  # page fetches follow each site's robots.txt


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str | None = None
    interval: float | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    """The feed's language (a name sumy supports, e.g. "german"); ``None``: detected per article."""


@dataclass(frozen=True)
class SchedulerConfig:
    """The scheduler's timing (:class:`bot.scheduler.Scheduler` takes it as it is). ``[scheduler]``: ``lease`` is
    how long a leader's lock lasts unless renewed (renewed every third of it; a killed leader is replaced after at
    most this long), ``misfire_grace`` how late a digest may still be posted, ``sync_every`` how often jobs are
    brought in line with the store, ``poll_jitter`` spreads polls; ``[digests]``: how far back a digest looks
    (``window``), how many stories (``max_stories``), and whether one with nothing new is posted (``post_empty``)."""

    lease: timedelta = timedelta(seconds=30)
    misfire_grace: timedelta = timedelta(hours=1)
    sync_every: timedelta = timedelta(minutes=1)
    poll_jitter: timedelta = timedelta(0)
    digest_window: timedelta = timedelta(hours=24)
    digest_max_stories: int = 5
    digest_post_empty: bool = False
    recover_after: timedelta = timedelta(minutes=2)
    """A digest claim still without an outcome this long after (and at least two lease times) is taken to be
    abandoned by a process that died, and is finished by :func:`bot.digests.recover_digest` (not configurable)."""


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


@dataclass(frozen=True)
class SlackConfig:
    """``[slack]``: Socket Mode (default; needs SLACK_APP_TOKEN), HTTP mode (Events API on ``[http] listen``,
    needs SLACK_SIGNING_SECRET) or OAuth mode (HTTP mode for many workspaces, each installing the app through
    ``/slack/install``: needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET); ``managers`` are
    user ids allowed to subscribe besides workspace admins and owners; ``in_channel``: briefings answer in the
    channel (``False``: only to the asker); ``api_url`` is the Web API base (tests point it at a local fake)."""

    mode: str = "socket"
    managers: tuple[str, ...] = ()
    in_channel: bool = True
    api_url: str = "https://slack.com/api/"
    scopes: tuple[str, ...] = SLACK_SCOPES
    """``mode = "oauth"``: the bot scopes asked for when a workspace installs the app (config/slack-manifest.yml)."""
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    """``mode = "oauth"``: where ``/slack/install`` sends the installer (tests point it at a local fake)."""


@dataclass(frozen=True)
class DiscordConfig:
    """``[discord]``: ``guilds`` to sync the commands to at once (global commands take up to an hour to show);
    ``api_url`` is the REST base discord.py must be using: the bot never changes discord.py's globals, so a test
    that sets it to a local fake points discord.py there first (``testkit/fakediscord.py``). ``shard_count``: the
    shards the bot is split into across all processes; ``shards``: the ones this process connects (``None``: all of
    ``shard_count``, or as many as Discord recommends when ``shard_count`` is ``None`` too)."""

    guilds: tuple[int, ...] = ()
    api_url: str = "https://discord.com/api/v10"
    shards: tuple[int, ...] | None = None
    shard_count: int | None = None


JOB_ENGINES = ("inline", "procrastinate")
"""``[jobs] engine``: "inline" runs ingestion inside ``newsbrief run`` (the embedded default); "procrastinate" queues
it as jobs in PostgreSQL for ``newsbrief worker`` processes (see docs/scaling.md)."""


@dataclass(frozen=True)
class JobsConfig:
    """``[jobs]``: how ingestion runs. ``engine`` is one of :data:`JOB_ENGINES`; with "procrastinate" a job is tried
    ``attempts`` times in all (the k-th retry waits ``retry_wait`` ** k seconds) before it is dead-lettered; each try
    may take ``deadline`` seconds; a worker runs ``concurrency`` jobs at once."""

    engine: str = "inline"
    attempts: int = 5
    retry_wait: int = 4
    deadline: float = 300.0
    concurrency: int = 8


@dataclass(frozen=True)
class Settings:
    """The whole configuration. ``path`` is the file it came from (``None``: built-in defaults)."""

    path: Path | None = None
    store: StoreConfig = field(default_factory=StoreConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    feeds: tuple[FeedConfig, ...] = ()
    topics: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)  # the parsed file, for sections read elsewhere
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    http_listen: str | None = None  # [http] listen, checked by parse_listen; None: no HTTP server
    demo_seed_article: bool = False  # [demo] seed_article: `run` stores ../shared's seed article when present
    jobs: JobsConfig = field(default_factory=JobsConfig)
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    """``[[subscriptions]]``, validated (:func:`check_subscription`)."""
    templates: Mapping[str, Template] = field(default_factory=dict)
    """The user's message templates, ``[templates.NAME]`` (:func:`bot.briefing.parse_templates`), by name; the
    built-in ones (:data:`bot.briefing.BUILTIN_TEMPLATES`) are not among them."""

    @cached_property
    def _feed_languages(self) -> dict[str, str]:
        return {feed.url: feed.language for feed in self.feeds if feed.language}

    def feed_language(self, url: str) -> str | None:
        """The ``language`` the config gives the feed at ``url`` (``None``: not configured, or no language)."""
        return self._feed_languages.get(url)

    def secret(self, name: str) -> str | None:
        """A secret from the environment (never from the file); empty counts as unset."""
        return os.environ.get(name) or None


# Sections and the keys each may hold; None: the section's keys are checked where it is read ([topics] names any
# topic, [[subscriptions]] is read by bot.digests).
_SECTIONS: dict[str, set[str] | None] = {
    "store": {"url", "retention_days"},
    "network": {
        "allow_private",
        "user_agent",
        "contact",
        "connect_timeout",
        "read_timeout",
        "max_bytes",
        "per_host",
        "global_limit",
    },
    "poll": {
        "interval",
        "backfill",
        "disable_after",
        "max_backoff",
        "fetch_pages",
        "page_timeout",
        "feed_timeout",
        "page_budget",
        "respect_robots",
    },
    "feeds": {"url", "name", "interval", "tags", "language"},
    "topics": None,
    "subscriptions": None,
    "templates": None,  # message templates: validated by bot.briefing.parse_templates
    "slack": {"mode", "managers", "in_channel", "api_url", "scopes", "authorize_url"},
    "discord": {"guilds", "api_url", "shards", "shard_count"},
    "http": {"listen"},
    "demo": {"seed_article"},
    "scheduler": {"lease", "misfire_grace", "sync_every", "poll_jitter"},
    "digests": {"window", "max_stories", "post_empty"},
    "jobs": {"engine", "attempts", "retry_wait", "deadline", "concurrency"},
    "live": None,  # live story alerts: validated by bot.alerts.live_settings
}


SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
)
"""The secrets newsbrief reads, from the environment only."""
_SECRET_KEYS = {
    "slack.bot_token": "SLACK_BOT_TOKEN",
    "slack.token": "SLACK_BOT_TOKEN",
    "slack.app_token": "SLACK_APP_TOKEN",
    "slack.signing_secret": "SLACK_SIGNING_SECRET",
    "slack.client_secret": "SLACK_CLIENT_SECRET",
    "slack.client_id": "SLACK_CLIENT_ID",
    "discord.token": "DISCORD_TOKEN",
    "discord.bot_token": "DISCORD_TOKEN",
}


def _refuse_secret(where: str, key_path: str) -> None:
    """A key that looks like a secret (a token or signing secret) is refused with a pointer to the environment
    variable that holds it; the value is never shown."""
    lowered = key_path.lower()
    variable = _SECRET_KEYS.get(lowered) or next((v for v in SECRET_VARIABLES if v.lower() == lowered), None)
    if variable is None and not re.search(r"token|secret|password", lowered):
        return
    where_to = variable or f"its environment variable ({', '.join(SECRET_VARIABLES)})"
    raise ConfigError(
        f"{where}: {key_path}: secrets are not read from the config file; put it in the environment "
        f"(or a .env file) as {where_to}"
    )


class _Reader:
    """Typed access to one table of the TOML document, with errors that name file and key path."""

    def __init__(self, where: str, table: Mapping[str, Any], prefix: str, allowed: set[str] | None) -> None:
        self.where = where
        self.table = table
        self.prefix = prefix
        if allowed is not None:
            for key in table:
                if key not in allowed:
                    _refuse_secret(where, f"{prefix}{key}")
                    choices = ", ".join(sorted(allowed))
                    self.fail(key, f"unknown key (known keys: {choices})")

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"{self.where}: {self.prefix}{key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if isinstance(value, bool) and kind is not bool and (not isinstance(kind, tuple) or bool not in kind):
            self.fail(key, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            self.fail(key, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        return value

    def duration(self, key: str, default: float | None, *, allow_zero: bool = False) -> float | None:
        if key not in self.table:
            return default
        try:
            seconds = parse_duration(self.table[key])
        except ValueError as exc:
            self.fail(key, str(exc))
        if seconds < 0 or (seconds == 0 and not allow_zero):
            self.fail(key, "must be longer than zero")
        return seconds

    def positive_int(self, key: str, default: int, *, minimum: int = 1) -> int:
        value: int = self.get(key, int, default)
        if value < minimum:
            self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, list, [])
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{key}[{i}]", f"expected a string, got {type(item).__name__} {item!r}")
        return tuple(value)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_allow_private(reader: _Reader, entries: tuple[str, ...]) -> None:
    for i, entry in enumerate(entries):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", entry):
                reader.fail(f"allow_private[{i}]", f"expected a host name, IP address or CIDR, got {entry!r}")


def _language(reader: _Reader) -> str | None:
    """A feed's ``language``: one the summarizer supports (a name or a code: "german", "de"), as its name."""
    value: str | None = reader.get("language", str, None)
    if value is None:
        return None
    try:
        return language_name(value)
    except ValueError as exc:
        reader.fail("language", str(exc))
        raise  # pragma: no cover - fail() raises


def _check_url(reader: _Reader, key: str, url: str) -> None:
    if not re.match(r"^(?:https?|file)://\S+$", url):
        reader.fail(key, f"expected an http(s):// or file:// URL, got {url!r}")


def _contact(reader: _Reader, contact: str | None) -> str | None:
    if contact is not None and not re.fullmatch(r"(?:https?://[^\s()]+|mailto:[^\s()@]+@[^\s()]+)", contact):
        reader.fail(
            "contact",
            f"expected an https:// URL or a mailto: address where site operators can reach you, got {contact!r}",
        )
    return contact


def resolve_file_url(url: str, base: Path) -> str:
    """A relative file URL (``file:demo/feed.xml``, no ``//``) as an absolute ``file://`` URL, taken relative to
    ``base`` (the config file's folder); any other URL is returned unchanged."""
    if not url.lower().startswith("file:") or url[5:].startswith("//"):
        return url
    return (base / url2pathname(url[5:])).resolve().as_uri()


def settings_from_mapping(data: Mapping[str, Any], *, path: Path | None = None) -> Settings:
    """Validate a parsed TOML document into :class:`Settings` (raises :class:`ConfigError`)."""
    where = str(path) if path is not None else "<config>"
    for key, value in data.items():
        if key not in _SECTIONS:
            _refuse_secret(where, key)
            raise ConfigError(f"{where}: {key}: unknown section (known: {', '.join(sorted(_SECTIONS))})")
        if key not in ("feeds", "subscriptions") and not isinstance(value, dict):
            raise ConfigError(f"{where}: {key}: expected a table ([{key}]), got {type(value).__name__}")

    store_r = _Reader(where, data.get("store", {}), "store.", _SECTIONS["store"])
    store = StoreConfig(
        url=store_r.get("url", str, DEFAULT_STORE_URL),
        retention_days=store_r.positive_int("retention_days", 30),
    )
    if not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", store.url):
        shown = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", store.url)
        store_r.fail("url", f"expected sqlite:///PATH or postgresql+psycopg://..., got {shown!r}")

    net_r = _Reader(where, data.get("network", {}), "network.", _SECTIONS["network"])
    allow = net_r.strings("allow_private")
    _check_allow_private(net_r, allow)
    network = NetworkConfig(
        allow_private=allow,
        user_agent=net_r.get("user_agent", str, None),
        contact=_contact(net_r, net_r.get("contact", str, None)),
        connect_timeout=net_r.duration("connect_timeout", 5.0) or 5.0,
        read_timeout=net_r.duration("read_timeout", 15.0) or 15.0,
        max_bytes=net_r.positive_int("max_bytes", 5_000_000, minimum=1024),
        per_host=net_r.positive_int("per_host", 2),
        global_limit=net_r.positive_int("global_limit", 16),
    )

    poll_r = _Reader(where, data.get("poll", {}), "poll.", _SECTIONS["poll"])
    feed_timeout = poll_r.duration("feed_timeout", 120.0) or 120.0
    poll = PollConfig(
        interval=poll_r.duration("interval", 900.0) or 900.0,
        backfill=poll_r.positive_int("backfill", 0, minimum=0),
        disable_after=poll_r.positive_int("disable_after", 10),
        max_backoff=poll_r.duration("max_backoff", 86_400.0) or 86_400.0,
        fetch_pages=poll_r.get("fetch_pages", bool, True),
        page_timeout=poll_r.duration("page_timeout", 10.0) or 10.0,
        feed_timeout=feed_timeout,
        page_budget=poll_r.duration("page_budget", min(20.0, feed_timeout / 2)) or 20.0,
        respect_robots=poll_r.get("respect_robots", bool, True),
    )
    if poll.page_budget >= poll.feed_timeout:
        poll_r.fail(
            "page_budget", f"must be shorter than poll.feed_timeout ({poll.feed_timeout:g}s), got {poll.page_budget:g}s"
        )

    raw_feeds = data.get("feeds", [])
    if not isinstance(raw_feeds, list):
        raise ConfigError(f"{where}: feeds: expected an array of tables ([[feeds]]), got {type(raw_feeds).__name__}")
    feeds: list[FeedConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_feeds):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: feeds[{i}]: expected a table, got {type(item).__name__}")
        r = _Reader(where, item, f"feeds[{i}].", _SECTIONS["feeds"])
        url = r.get("url", str, None)
        if url is None:
            r.fail("url", "missing (every [[feeds]] needs a url)")
        url = resolve_file_url(url, path.parent if path is not None else Path.cwd())
        _check_url(r, "url", url)
        if url in seen:
            r.fail("url", f"duplicate feed {url!r}")
        seen.add(url)
        feeds.append(
            FeedConfig(
                url=url,
                name=r.get("name", str, None),
                interval=r.duration("interval", None),
                tags=r.strings("tags"),
                language=_language(r),
            )
        )

    topics_r = _Reader(where, data.get("topics", {}), "topics.", None)
    topics: dict[str, str] = {}
    for name in topics_r.table:
        query = topics_r.get(name, str, "")
        if not query.strip():
            topics_r.fail(name, "a topic needs a query, e.g. 'ukraine OR kyiv'")
        topics[name] = query

    templates = _templates(data.get("templates", {}), where)

    http_r = _Reader(where, data.get("http", {}), "http.", _SECTIONS["http"])
    http_listen: str | None = http_r.get("listen", str, None)
    if http_listen is not None:
        try:
            parse_listen(http_listen)
        except ValueError as exc:
            http_r.fail("listen", str(exc))

    demo_r = _Reader(where, data.get("demo", {}), "demo.", _SECTIONS["demo"])
    sched_r = _Reader(where, data.get("scheduler", {}), "scheduler.", _SECTIONS["scheduler"])
    digest_r = _Reader(where, data.get("digests", {}), "digests.", _SECTIONS["digests"])
    lease = sched_r.duration("lease", 30.0) or 30.0
    if lease < 1:
        sched_r.fail("lease", f"expected at least 1s, got {lease:g}s")
    scheduler = SchedulerConfig(
        lease=timedelta(seconds=lease),
        misfire_grace=timedelta(seconds=sched_r.duration("misfire_grace", 3600.0) or 3600.0),
        sync_every=timedelta(seconds=max(1.0, sched_r.duration("sync_every", 60.0) or 60.0)),
        poll_jitter=timedelta(seconds=sched_r.duration("poll_jitter", 0.0, allow_zero=True) or 0.0),
        digest_window=timedelta(seconds=digest_r.duration("window", 86_400.0) or 86_400.0),
        digest_max_stories=digest_r.positive_int("max_stories", 5),
        digest_post_empty=digest_r.get("post_empty", bool, False),
    )
    slack_r = _Reader(where, data.get("slack", {}), "slack.", _SECTIONS["slack"])
    mode = slack_r.get("mode", str, "socket")
    if mode not in ("socket", "http", "oauth"):
        slack_r.fail("mode", f'expected "socket", "http" or "oauth", got {mode!r}')
    managers = slack_r.strings("managers")
    for i, user in enumerate(managers):
        if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
            slack_r.fail(f"managers[{i}]", f"expected a Slack user id such as U0123ABCD, got {user!r}")
    api_url = slack_r.get("api_url", str, "https://slack.com/api/")
    if not re.match(r"^https?://\S+/$", api_url):
        slack_r.fail("api_url", f"expected an http(s) URL ending in /, got {api_url!r}")
    if mode == "http" and http_listen is None:
        slack_r.fail("mode", '"http" needs [http] listen, the address Slack\'s request URL reaches (/slack/events)')
    scopes = slack_r.strings("scopes") if "scopes" in slack_r.table else SLACK_SCOPES
    for i, scope in enumerate(scopes):
        if not re.fullmatch(r"[a-z]+(?:[:.][a-z_]+)*", scope):
            slack_r.fail(f"scopes[{i}]", f"expected a Slack scope such as chat:write, got {scope!r}")
    authorize_url = slack_r.get("authorize_url", str, SlackConfig.authorize_url)
    if not re.match(r"^https?://\S+$", authorize_url):
        slack_r.fail("authorize_url", f"expected an http(s) URL, got {authorize_url!r}")
    slack = SlackConfig(
        mode=mode,
        managers=managers,
        in_channel=slack_r.get("in_channel", bool, True),
        api_url=api_url,
        scopes=scopes,
        authorize_url=authorize_url,
    )
    discord_r = _Reader(where, data.get("discord", {}), "discord.", _SECTIONS["discord"])
    guilds_raw = discord_r.get("guilds", list, [])
    guilds: list[int] = []
    for i, guild in enumerate(guilds_raw):
        if isinstance(guild, str) and guild.isdigit():
            guild = int(guild)
        if isinstance(guild, bool) or not isinstance(guild, int) or guild <= 0:
            discord_r.fail(f"guilds[{i}]", f"expected a guild id (a number such as 123456789012345678), got {guild!r}")
        guilds.append(guild)
    discord_api = discord_r.get("api_url", str, "https://discord.com/api/v10")
    if not re.match(r"^https?://\S+[^/]$", discord_api):
        discord_r.fail("api_url", f"expected an http(s) URL without a trailing /, got {discord_api!r}")
    shards, shard_count = _shards(discord_r)
    discord_config = DiscordConfig(guilds=tuple(guilds), api_url=discord_api, shards=shards, shard_count=shard_count)
    return Settings(
        path=path,
        store=store,
        network=network,
        poll=poll,
        feeds=tuple(feeds),
        topics=topics,
        raw=data,
        scheduler=scheduler,
        slack=slack,
        discord=discord_config,
        http_listen=http_listen,
        demo_seed_article=demo_r.get("seed_article", bool, False),
        jobs=_jobs(_Reader(where, data.get("jobs", {}), "jobs.", _SECTIONS["jobs"]), store),
        subscriptions=_subscriptions(where, data.get("subscriptions", []), topics, templates),
        templates=templates,
    )


def _templates(table: object, where: str) -> dict[str, Template]:
    """``[templates.NAME]`` parsed and validated by :func:`bot.briefing.parse_templates` (imported here: the briefing
    package imports the store, which must not load with the config)."""
    from bot.briefing._template import TemplateError, parse_templates

    try:
        return parse_templates(table, where=where)
    except TemplateError as exc:
        raise ConfigError(str(exc)) from None


# ------------------------------------------------------------------------------------------------- subscriptions

PLATFORMS = frozenset({"console", "slack", "discord"})
"""Where a subscription can post."""


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """One validated ``[[subscriptions]]`` entry (``schedule`` normalized, e.g. "daily 08:00"; ``sources`` as
    :func:`parse_sources` gives them, empty: the whole archive)."""

    platform: str
    channel: str
    topic: str
    schedule: str
    tz: str
    sources: tuple[str, ...] = ()
    template: str | None = None
    """The message template's name (``None``: full)."""
    mode: Literal["digest", "items"] = "digest"
    """``items``: each new matching article posted on its own (:mod:`bot.items`) instead of digests."""


_SUBSCRIPTION_KEYS = ("platform", "channel", "topic", "schedule", "tz", "template", "mode")
_ALL_SUBSCRIPTION_KEYS = (*_SUBSCRIPTION_KEYS, "sources")


class SubscriptionError(UsageError, ValueError):
    """A subscription field that is not valid: ``key`` names it ("platform", "topic", "schedule"...), ``problem``
    says what is wrong (one line). The config names it as a key path, the CLI as an option."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def parse_sources(text: str) -> tuple[str, ...]:
    """The sources of ``sources=``: comma-separated feed ids (``3``, ``#3``) and ``tag:NAME``, as ``("3",
    "tag:NAME")``, each once; :class:`bot.errors.UsageError` otherwise. Whether they exist is
    :func:`bot.commands.unknown_sources`'s."""
    sources: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part.lower().startswith("tag:") and part[4:].strip():
            source = f"tag:{part[4:].strip()}"
        elif part.lstrip("#").isdigit() and int(part.lstrip("#")) > 0:
            source = str(int(part.lstrip("#")))
        else:
            raise UsageError(f"sources: {part!r} is neither a feed id (see /brief feeds) nor tag:NAME")
        if source not in sources:
            sources.append(source)
    return tuple(sources)


def check_subscription(
    settings: Settings,
    *,
    platform: str,
    channel: str,
    topic: str,
    schedule: str | None = None,
    tz: str | None = None,
    sources: str | None = None,
    template: str | None = None,
    mode: str | None = None,
) -> SubscriptionConfig:
    """One subscription validated the same way wherever it comes from (``[[subscriptions]]``, ``newsbrief subs
    add``): a known platform, a channel, a configured topic (matched case-insensitively, as in chat, and given its
    configured name), a schedule of the chat grammar (default :data:`bot.schedules.DEFAULT_SCHEDULE`, normalized)
    and an IANA time zone (default :data:`bot.schedules.DEFAULT_TZ`), and ``sources`` as in chat (``3,7`` or
    ``tag:world``; whether they name feeds is the caller's to check, against the store), ``template`` a built-in
    template or one of the config's ``[templates]`` (:attr:`Settings.templates`), ``mode`` "digest" (default) or
    "items" (which takes no schedule). :class:`SubscriptionError` names the field at fault."""
    return _check_subscription(
        settings.topics,
        settings.templates,
        platform=platform,
        channel=channel,
        topic=topic,
        schedule=schedule,
        tz=tz,
        sources=sources,
        template=template,
        mode=mode,
    )


def _check_subscription(
    topics: Mapping[str, str],
    templates: Mapping[str, Template],
    *,
    platform: str,
    channel: str,
    topic: str,
    schedule: str | None = None,
    tz: str | None = None,
    sources: str | None = None,
    template: str | None = None,
    mode: str | None = None,
) -> SubscriptionConfig:
    from bot.briefing._template import resolve_template, template_names  # see _templates

    platform, channel, topic = platform.strip(), channel.strip(), topic.strip()
    if platform not in PLATFORMS:
        raise SubscriptionError("platform", f"expected one of {', '.join(sorted(PLATFORMS))}, got {platform!r}")
    if not channel:
        raise SubscriptionError("channel", "expected a channel id")
    name = next((known for known in topics if known.casefold() == topic.casefold()), None)
    if name is None:
        known = ", ".join(sorted(topics)) or "none configured"
        raise SubscriptionError("topic", f"unknown topic {topic!r} (topics: {known})")
    try:
        schedule_text = parse_schedule(schedule if schedule is not None else DEFAULT_SCHEDULE).text
    except ScheduleError as exc:
        raise SubscriptionError("schedule", exc.problem) from None
    try:
        tz = check_tz((tz if tz is not None else DEFAULT_TZ).strip())
    except ScheduleError as exc:
        raise SubscriptionError("tz", exc.problem) from None
    try:
        chosen = parse_sources(sources) if sources is not None else ()
    except UsageError as exc:
        raise SubscriptionError("sources", exc.problem.removeprefix("sources: ")) from None
    chosen_mode: Literal["digest", "items"] = "digest"
    if mode is not None:
        if mode.strip().lower() not in ("digest", "items"):
            raise SubscriptionError("mode", f"expected digest or items, got {mode!r}")
        chosen_mode = "items" if mode.strip().lower() == "items" else "digest"
        if chosen_mode == "items" and schedule is not None:
            raise SubscriptionError("schedule", "items mode posts each article as it comes: it takes no schedule")
    template_name: str | None = None
    if template is not None:
        template_name = template.strip().lower()
        if resolve_template(template_name, templates) is None:
            names = ", ".join(template_names(templates))
            raise SubscriptionError("template", f"unknown template {template!r} (templates: {names})")
    return SubscriptionConfig(
        platform=platform,
        channel=channel,
        topic=name,
        schedule=schedule_text,
        tz=tz,
        sources=chosen,
        template=template_name,
        mode=chosen_mode,
    )


def _subscriptions(
    where: str, raw: object, topics: Mapping[str, str], templates: Mapping[str, Template]
) -> tuple[SubscriptionConfig, ...]:
    """Validate ``[[subscriptions]]``; :class:`ConfigError` naming the file and the key path
    (``subscriptions[0].schedule``) otherwise. Each entry is checked by :func:`check_subscription`."""
    if not isinstance(raw, list):
        raise ConfigError(
            f"{where}: subscriptions: expected an array of tables ([[subscriptions]]), got {type(raw).__name__}"
        )
    parsed: list[SubscriptionConfig] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, item in enumerate(raw):
        prefix = f"subscriptions[{i}]"

        def fail(key: str, problem: str, prefix: str = prefix) -> ConfigError:
            return ConfigError(f"{where}: {prefix}.{key}: {problem}")

        if not isinstance(item, dict):
            raise ConfigError(f"{where}: {prefix}: expected a table, got {type(item).__name__}")
        for key in item:
            if key not in _ALL_SUBSCRIPTION_KEYS:
                raise fail(key, f"unknown key (known keys: {', '.join(sorted(_ALL_SUBSCRIPTION_KEYS))})")
        values: dict[str, str] = {}
        for key in _SUBSCRIPTION_KEYS:
            value: Any = item.get(key)
            if value is None:
                if key in ("platform", "channel", "topic"):
                    raise fail(key, "missing (every [[subscriptions]] needs platform, channel and topic)")
                continue
            if not isinstance(value, str) or not value.strip():
                raise fail(key, f"expected a non-empty string, got {value!r}")
            values[key] = value.strip()
        sources = item.get("sources")
        if sources is not None and (
            not isinstance(sources, list)
            or not sources
            or any(isinstance(s, bool) for s in sources)
            or not all(isinstance(s, int | str) for s in sources)
        ):
            raise fail(
                "sources",
                f'expected a list of feed ids and "tag:NAME" such as [3, 7] or ["tag:world"], got {sources!r}',
            )
        try:
            entry = _check_subscription(
                topics,
                templates,
                platform=values["platform"],
                channel=values["channel"],
                topic=values["topic"],
                schedule=values.get("schedule"),
                tz=values.get("tz"),
                sources=",".join(str(s) for s in sources) if sources else None,
                template=values.get("template"),
                mode=values.get("mode"),
            )
        except SubscriptionError as exc:
            raise fail(exc.key, exc.problem) from None
        identity = (entry.platform, entry.channel, entry.topic)
        if identity in seen:
            raise fail("topic", f"duplicate of subscriptions[{seen[identity]}] (same platform, channel and topic)")
        seen[identity] = i
        parsed.append(entry)
    return tuple(parsed)


_SHARDS_RE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def _shards(reader: _Reader) -> tuple[tuple[int, ...] | None, int | None]:
    """``[discord] shards`` ("0-3", "5" or a list of shard ids) and ``shard_count``: each shard id in
    [0, shard_count), none twice; ``shards`` needs ``shard_count`` (the total over every process)."""
    count: int | None = reader.positive_int("shard_count", 1) if "shard_count" in reader.table else None
    raw = reader.get("shards", (str, list), None)
    if raw is None:
        return None, count
    ids: list[int] = []
    if isinstance(raw, str):
        m = _SHARDS_RE.fullmatch(raw)
        first, last = (int(m[1]), int(m[2] or m[1])) if m is not None else (0, -1)
        if last < first:
            reader.fail("shards", f'expected a range such as "0-3", a shard id or a list of ids, got {raw!r}')
        ids = list(range(first, last + 1))
    else:
        for i, item in enumerate(raw):
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                reader.fail(f"shards[{i}]", f"expected a shard id (a number from 0), got {item!r}")
            if item in ids:
                reader.fail(f"shards[{i}]", f"shard {item} is listed twice")
            ids.append(item)
        if not ids:
            reader.fail("shards", "expected at least one shard id")
    if count is None:
        reader.fail("shards", "needs discord.shard_count (how many shards all processes together run)")
        return None, None  # pragma: no cover - fail() raises
    outside = [i for i in ids if i >= count]
    if outside:
        reader.fail("shards", f"shard {outside[0]} is outside 0-{count - 1} (shard_count = {count})")
    return tuple(ids), count


def _jobs(reader: _Reader, store: StoreConfig) -> JobsConfig:
    """``[jobs]``; the "procrastinate" engine keeps its jobs in the store's database, so it needs PostgreSQL."""
    engine = reader.get("engine", str, "inline")
    if engine not in JOB_ENGINES:
        reader.fail("engine", f'expected "inline" or "procrastinate", got {engine!r}')
    if engine == "procrastinate" and not store.url.startswith("postgresql"):
        reader.fail(
            "engine",
            f'"procrastinate" keeps its jobs in PostgreSQL: set [store] url to a '
            f"postgresql+psycopg:// database (the store is {store.url})",
        )
    retry_wait = reader.duration("retry_wait", 4.0, allow_zero=True)
    return JobsConfig(
        engine=engine,
        attempts=reader.positive_int("attempts", 5),
        retry_wait=int(retry_wait or 0),
        deadline=reader.duration("deadline", 300.0) or 300.0,
        concurrency=reader.positive_int("concurrency", 8),
    )


def read_config_file(path: Path, *, origin: str | None = None) -> dict[str, Any]:
    """The parsed TOML at ``path``; a missing, unreadable or invalid file is a one-line :class:`ConfigError`.

    ``origin`` says where the path came from ("--config", "$NEWSBRIEF_CONFIG") for the not-found message.
    """
    if not path.exists():
        given = f" (given by {origin})" if origin else ""
        raise ConfigError(f"{path}: config file not found{given}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc


def load_settings(path: Path | None) -> Settings:
    """Read and validate the TOML file at ``path`` (``None``: built-in defaults)."""
    if path is None:
        return Settings()
    return settings_from_mapping(read_config_file(path), path=path)
