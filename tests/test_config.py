"""Config validation: typed settings, errors that name the file and key path, durations."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.briefing import COMPACT
from bot.config import ConfigError, Settings, duration_text, load_settings, parse_duration, settings_from_mapping


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbrief.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    s = load_settings(None)
    assert s.store.url == "sqlite:///var/newsbrief.db"
    assert s.poll.interval == timedelta(minutes=15) and s.poll.backfill == 0 and s.poll.disable_after == 10
    assert s.network.allow_private == () and s.network.max_bytes == 5_000_000


def test_a_full_file(tmp_path: Path) -> None:
    s = load_settings(
        write(
            tmp_path,
            """
[store]
url = "sqlite:///data/nb.db"
retention_days = 7
[network]
allow_private = ["127.0.0.1", "10.0.0.0/8", "intranet.example"]
read_timeout = "20s"
[poll]
interval = "10m"
backfill = 5
[[feeds]]
url = "https://example.org/feed.xml"
name = "Example"
interval = "1h"
tags = ["world"]
[topics]
ukraine = 'ukraine OR kyiv OR zelensky OR kremlin'
""",
        )
    )
    assert s.store.retention_days == 7
    assert s.network.allow_private == ("127.0.0.1", "10.0.0.0/8", "intranet.example")
    assert s.network.read_timeout == timedelta(seconds=20)
    assert s.poll.interval == timedelta(minutes=10) and s.poll.backfill == 5
    assert s.feeds[0].interval == timedelta(hours=1) and s.feeds[0].tags == ("world",)
    assert s.topics["ukraine"].startswith("ukraine OR")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[store]\nurl = 5\n", "store.url: expected a string, got int 5"),
        ("[store]\nurl = 'mysql://x'\n", "store.url: expected sqlite"),
        ("[poll]\nintervall = '5m'\n", "poll.intervall: unknown key"),
        ("[poll]\ninterval = 'soon'\n", "poll.interval: expected a duration"),
        ("[poll]\ninterval = 0\n", "poll.interval: must be longer than zero"),
        ("[poll]\ninterval = 1e300\n", "poll.interval: expected a duration of at most 999999998 days, got 1e+300"),
        ("[poll]\ninterval = inf\n", "poll.interval: expected a duration of at most 999999998 days, got inf"),
        ("[jobs]\ndeadline = '-1s'\n", "jobs.deadline: expected a duration such as '15m'"),
        ("[poll]\nbackfill = -1\n", "poll.backfill: must be at least 0"),
        ("[poll]\nfetch_pages = 'yes'\n", "poll.fetch_pages: expected true or false"),
        ("[poll]\npage_budget = '2m'\n", "poll.page_budget: must be shorter than poll.feed_timeout (120s), got 120s"),
        ("[poll]\nfeed_timeout = '30s'\npage_budget = '45s'\n", "poll.page_budget: must be shorter than"),
        ("[poll]\nrespect_robots = 'no'\n", "poll.respect_robots: expected true or false"),
        ("[network]\ncontact = 'call me'\n", "network.contact: expected an https:// URL or a mailto: address"),
        ("[network]\ncontact = 3\n", "network.contact: expected a string, got int 3"),
        ("[network]\nallow_private = ['not a host!']\n", "network.allow_private[0]"),
        ("[network]\nper_host = true\n", "network.per_host: expected an integer, got a boolean"),
        ("[[feeds]]\nname = 'x'\n", "feeds[0].url: missing"),
        ("[[feeds]]\nurl = 'ftp://x/y'\n", "feeds[0].url: expected an http(s):// or file:// URL"),
        ("[[feeds]]\nurl = 'https://a/b'\n[[feeds]]\nurl = 'https://a/b'\n", "feeds[1].url: duplicate feed"),
        ("[[feeds]]\nurl = 'https://a/b'\nlanguage = 'klingon'\n", "feeds[0].language: unsupported language 'klingon'"),
        ("[[feeds]]\nurl = 'https://a/b'\nlanguage = 3\n", "feeds[0].language: expected a string"),
        ("[topics]\nukraine = ''\n", "topics.ukraine: a topic needs a query"),
        ("[unknown]\nx = 1\n", "unknown: unknown section"),
        ("store = 3\n", "store: expected a table"),
        ("[http]\nlisten = 8080\n", "http.listen: expected a string, got int 8080"),
        ("[http]\nlisten = 'nowhere'\n", "http.listen: expected HOST:PORT such as"),
        ("[http]\nlisten = '127.0.0.1:99999'\n", "http.listen: expected HOST:PORT such as"),
        ("[http]\nlisten = '::1:8080'\n", "IPv6 address in brackets"),
        ("[http]\nport = 8080\n", "http.port: unknown key (known keys: listen)"),
        ("http = 'x'\n", "http: expected a table"),
        ("[slack]\nmode = 'http'\n", 'slack.mode: "http" needs [http] listen'),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_page_budget_defaults_inside_the_feed_timeout(tmp_path: Path) -> None:
    s = load_settings(None)
    assert (s.poll.feed_timeout, s.poll.page_budget) == (timedelta(minutes=2), timedelta(seconds=20))
    s = load_settings(write(tmp_path, "[poll]\nfeed_timeout = '10s'\n"))
    assert (s.poll.feed_timeout, s.poll.page_budget) == (timedelta(seconds=10), timedelta(seconds=5))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "[store\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("value", "seconds"), [("15m", 900), ("2h", 7200), ("30s", 30), ("1d", 86400), ("500ms", 0.5), (45, 45)]
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "-5m", "5 minutes", True, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_secrets_come_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(None)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert s.secret("SLACK_BOT_TOKEN") is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert s.secret("SLACK_BOT_TOKEN") == "xoxb-test"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    assert s.secret("SLACK_BOT_TOKEN") is None


def test_relative_file_feed_urls_are_resolved_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "newsbrief.toml"
    config.write_text(
        "[[feeds]]\nurl = 'file:demo/feed.xml'\n"
        "[[feeds]]\nurl = 'file:../up.xml'\n"
        "[[feeds]]\nurl = 'file:///abs/feed.xml'\n"
        "[[feeds]]\nurl = 'https://news.example/rss'\n",
        encoding="utf-8",
    )
    urls = [feed.url for feed in load_settings(config).feeds]
    assert urls == [
        (folder / "demo" / "feed.xml").resolve().as_uri(),
        (tmp_path / "up.xml").resolve().as_uri(),
        "file:///abs/feed.xml",
        "https://news.example/rss",
    ]


def test_the_example_config_documents_valid_settings() -> None:
    path = Path(__file__).resolve().parents[1] / "config" / "newsbrief.example.toml"
    s = load_settings(path)
    assert s.store.url == "sqlite:///var/newsbrief.db" and s.store.retention_days == 30
    assert s.poll.interval == timedelta(minutes=15) and s.poll.disable_after == 10
    assert s.network.max_bytes == 5_000_000
    assert s.feeds[0].tags == ("world",) and "ukraine" in s.topics
    # Every default the example states is the built-in default: copying it changes nothing.
    defaults = load_settings(None)
    assert (s.store, s.network, s.poll) == (defaults.store, defaults.network, defaults.poll)
    assert s.scheduler == defaults.scheduler and s.jobs == defaults.jobs


def test_scheduler_and_digest_settings(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, "[scheduler]\nlease = '10s'\npoll_jitter = '2m'\n[digests]\nwindow = '12h'\nmax_stories = 3\n")
    )
    assert (s.scheduler.lease, s.scheduler.poll_jitter, s.scheduler.misfire_grace) == (
        timedelta(seconds=10),
        timedelta(minutes=2),
        timedelta(hours=1),
    )
    assert (s.digests.window, s.digests.max_stories) == (timedelta(hours=12), 3)
    for text, message in [
        ("[scheduler]\nlease = '500ms'\n", "scheduler.lease: expected at least 1s"),
        ("[scheduler]\nmisfire_grace = '0s'\n", "scheduler.misfire_grace: must be longer than zero"),
        ("[scheduler]\nleader = true\n", "scheduler.leader: unknown key"),
        ("[digests]\nmax_stories = 0\n", "digests.max_stories: must be at least 1"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_settings(write(tmp_path, text))


def test_http_listen(tmp_path: Path) -> None:
    assert load_settings(None).http_listen is None  # no [http] listen: no HTTP server
    assert load_settings(write(tmp_path, "[http]\n")).http_listen is None
    assert load_settings(write(tmp_path, "[http]\nlisten = '127.0.0.1:9100'\n")).http_listen == "127.0.0.1:9100"
    assert load_settings(write(tmp_path, "[http]\nlisten = ':0'\n")).http_listen == ":0"


def test_the_example_config_documents_every_chat_setting(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "newsbrief.example.toml"
    text = example.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [[subscriptions]]"))
    # The commented-out sections, switched on, are a valid config naming every [slack] and [discord] key.
    block = "\n".join(line.removeprefix("# ") for line in lines[start:] if line.startswith("# "))
    s = load_settings(write(tmp_path, "[topics]\nukraine = 'ukraine'\n" + block + "\n"))
    assert (s.slack.mode, s.slack.managers, s.slack.in_channel, s.discord.guilds) == ("socket", (), True, ())
    for key in ("mode", "managers", "in_channel"):
        assert f"\n{key} = " in block
    assert "later release" not in text


def test_the_example_config_documents_a_valid_http_listen(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "newsbrief.example.toml"
    lines = example.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# [http]"))
    # The commented-out [http] block, switched on, is a valid config.
    block = "\n".join(line.removeprefix("# ") for line in lines[start:] if line.startswith("# "))
    s = load_settings(write(tmp_path, block + "\n"))
    assert s.http_listen == "127.0.0.1:8080"


def test_feed_language_is_a_supported_name_or_code(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[[feeds]]\nurl = 'https://a.example/rss'\nlanguage = 'de'\n"
        "[[feeds]]\nurl = 'https://b.example/rss'\nlanguage = 'French'\n"
        "[[feeds]]\nurl = 'https://c.example/rss'\n",
    )
    settings = load_settings(path)
    assert [feed.language for feed in settings.feeds] == ["german", "french", None]
    assert settings.feed_language("https://a.example/rss") == "german"
    assert settings.feed_language("https://c.example/rss") is None  # detected per article


def test_discord_shards(tmp_path: Path) -> None:
    """``[discord] shards`` ("0-3", one id or a list) names the shards this process connects, out of
    ``shard_count``; neither set: as many as Discord asks for. Bad values are one-line errors naming the key."""
    assert (load_settings(None).discord.shards, load_settings(None).discord.shard_count) == (None, None)
    for text, shards, count in [
        ("shards = '0-3'\nshard_count = 8\n", (0, 1, 2, 3), 8),
        ("shards = '5'\nshard_count = 8\n", (5,), 8),
        ("shards = [1, 3]\nshard_count = 4\n", (1, 3), 4),
        ("shard_count = 2\n", None, 2),
    ]:
        discord = load_settings(write(tmp_path, "[discord]\n" + text)).discord
        assert (discord.shards, discord.shard_count) == (shards, count)
    for text, message in [
        ("shards = '0-3'\n", "discord.shards: needs discord.shard_count"),
        ("shards = '0-4'\nshard_count = 4\n", r"discord.shards: shard 4 is outside 0-3 \(shard_count = 4\)"),
        ("shards = [0, 2]\nshard_count = 2\n", "discord.shards: shard 2 is outside 0-1"),
        ("shards = '3-1'\nshard_count = 4\n", 'discord.shards: expected a range such as "0-3"'),
        ("shards = 'all'\nshard_count = 4\n", 'discord.shards: expected a range such as "0-3"'),
        ("shards = [0, 0]\nshard_count = 2\n", r"discord.shards\[1\]: shard 0 is listed twice"),
        ("shards = [-1]\nshard_count = 2\n", r"discord.shards\[0\]: expected a shard id"),
        ("shards = []\nshard_count = 2\n", "discord.shards: expected at least one shard id"),
        ("shards = 1\nshard_count = 2\n", "discord.shards: expected a string or a list, got int 1"),
        ("shard_count = 0\n", "discord.shard_count: must be at least 1, got 0"),
    ]:
        path = write(tmp_path, "[discord]\n" + text)
        with pytest.raises(ConfigError, match=message) as info:
            load_settings(path)
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[templates.terse]\nsentences = 9\n", "templates.terse.sentences: expected a whole number from 0 to 4, got 9"),
        ("[templates.terse]\nlink = 'button'\n", "templates.terse.link: expected one of headline, url, none"),
        ("[templates.full]\nquote = false\n", "templates.full: 'full' is a built-in template"),
        ("templates = 'compact'\n", "templates: expected a table"),
    ],
)
def test_template_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_valid_templates_load(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[templates.terse]\nbase = 'compact'\nsources = false\n"))
    assert settings.templates == {"terse": replace(COMPACT, name="terse", sources=False)}  # parsed at load


def test_subscriptions_may_name_the_configs_own_templates_at_load(tmp_path: Path) -> None:
    base = "[topics]\nukraine = 'ukraine'\n[[subscriptions]]\nplatform = 'slack'\nchannel = 'C1'\ntopic = 'ukraine'\n"
    settings = load_settings(write(tmp_path, base + "template = 'Terse'\nmode = 'items'\n[templates.terse]\n"))
    (entry,) = settings.subscriptions
    assert (entry.template, entry.mode) == ("terse", "items")
    with pytest.raises(ConfigError) as info:  # the same name without [templates.terse]
        load_settings(write(tmp_path, base + "template = 'terse'\n"))
    assert "subscriptions[0].template: unknown template 'terse' (templates: full, compact, headlines)" in str(
        info.value
    )


def test_settings_are_one_typed_model_used_as_it_is(tmp_path: Path) -> None:
    """Durations of the scheduler, digests and live alerts are timedeltas; sections are frozen; a store password
    never shows in a repr; what ``[live]`` holds is validated at load like every other section."""
    s = load_settings(
        write(
            tmp_path,
            "[store]\nurl = 'postgresql+psycopg://nb:hunter2@db.example/nb'\n"
            "[live]\nsettle = '90s'\nquiet_hours = '22:00-07:00'\n[digests]\nwindow = '12h'\n",
        )
    )
    assert (s.live.settle, s.live.quiet_hours, s.digests.window) == (
        timedelta(seconds=90),
        ((22, 0), (7, 0)),
        timedelta(hours=12),
    )
    assert "hunter2" not in repr(s) and "nb:***@db.example" in repr(s.store)
    with pytest.raises(ValidationError):
        s.store.url = "sqlite://"  # type: ignore[misc]
    path = write(tmp_path, "[store]\nurl = 'mysql://nb:hunter2@db.example/nb'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == (
        f"{path}: store.url: expected sqlite:///PATH or postgresql+psycopg://..., got 'mysql://nb:***@db.example/nb'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[live]\nper_hour = 0\n", "live.per_hour: expected a whole number of at least 1, got 0"),
        ("[live]\nquiet_hours = 5\n", 'live.quiet_hours: expected "HH:MM-HH:MM" or "none", got 5'),
        ("live = 3\n", "live: expected a table ([live]), got int"),
        ("feeds = 'x'\n", "feeds: expected an array of tables ([[feeds]]), got str"),
        ("feeds = ['x']\n", "feeds[0]: expected a table, got str"),
        ("subscriptions = 'x'\n", "subscriptions: expected an array of tables ([[subscriptions]]), got str"),
        ("[[subscriptions]]\nplatform = 'slack'\n", "subscriptions[0].channel: missing (every [[subscriptions]]"),
        ("[network]\nmax_bytes = 10\n", "network.max_bytes: must be at least 1024, got 10"),
        ("[network]\ntotal_timeout = '5m'\n", "network.total_timeout: unknown key"),
        ("[discord]\nbot_token = 'abc'\n", "discord.bot_token: secrets are not read from the config file"),
        ("[jobs]\nretry_wait = 'soon'\n", "jobs.retry_wait: expected a duration"),
        ("[scheduler]\nlease = 'x'\n", "scheduler.lease: expected a duration"),
        ("path = 'x'\n", "path: unknown section"),
    ],
)
def test_more_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value) and "abc" not in str(info.value)


DURATION_NAME = re.compile(
    r"interval|timeout|backoff|budget|deadline|wait|lease|grace|every|jitter|window|settle|_after$"
)
"""Field names that say they are durations (``disable_after`` is a count of failures, not one)."""
NOT_DURATIONS = {"disable_after"}


def _sections() -> Iterator[tuple[str, type[BaseModel]]]:
    """Every model of the settings, by the key path of its table (``feeds[]`` for an array's entries)."""
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if typing.get_origin(annotation) is tuple:
            annotation, name = typing.get_args(annotation)[0], f"{name}[]"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield name, annotation


def _plain_type(annotation: Any) -> Any:
    """``X`` of ``X``, ``Annotated[X, ...]`` and ``X | None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _plain_type(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return args[0]
    return annotation


def test_every_duration_is_a_timedelta() -> None:
    """Each setting named like a duration is a timedelta, read alike from "90s" and 90 (from the file, or given in
    code for those the file does not hold); and each timedelta setting is named like one."""
    checked = []
    for section, model in _sections():
        for name, field in model.model_fields.items():
            typed = _plain_type(field.annotation)
            is_duration = bool(DURATION_NAME.search(name)) and name not in NOT_DURATIONS
            assert is_duration == (typed is timedelta), f"{section}.{name} is typed {typed}"
            if not is_duration:
                continue
            checked.append(f"{section}.{name}")
            required = {"url": "https://news.example/rss"} if section == "feeds[]" else {}
            in_file = name not in getattr(model, "not_in_file", frozenset())
            for value in ("90s", 90, 90.0, timedelta(seconds=90)):
                if in_file and not isinstance(value, timedelta):
                    table = {**required, name: value}
                    settings = settings_from_mapping({section.removesuffix("[]"): [table] if required else table})
                    loaded = getattr(settings.feeds[0] if required else getattr(settings, section), name)
                else:
                    loaded = getattr(model.model_validate({**required, name: value}), name)
                assert loaded == timedelta(seconds=90), f"{section}.{name} = {value!r}"
                assert type(loaded) is timedelta
    assert {"network.connect_timeout", "poll.max_backoff", "feeds[].interval", "jobs.retry_wait"} <= set(checked)
    assert "jobs.deadline" in checked and "poll.page_budget" in checked and len(checked) >= 20


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=2), "120s"),
        (timedelta(seconds=599.25), "599.25s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=15), "15m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=601), "601s"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=36), "36h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=3, microseconds=1), "259200.000001s"),
        (timedelta(seconds=-90), "-90s"),
    ],
)
def test_duration_text(duration: timedelta, text: str) -> None:
    assert duration_text(duration) == text


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1000)))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_duration_text_reads_back_as_the_same_duration(duration: timedelta) -> None:
    """Exactly, to the microsecond (up to some years: beyond, a float of seconds is not that precise)."""
    text = duration_text(duration)
    assert text == text.strip() and " " not in text and "e" not in text
    assert timedelta(seconds=parse_duration(text)) == duration


def test_errors_tell_durations_as_they_are_written(tmp_path: Path) -> None:
    path = write(tmp_path, "[poll]\nfeed_timeout = '1h'\npage_budget = '90m'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == f"{path}: poll.page_budget: must be shorter than poll.feed_timeout (1h), got 90m"
    with pytest.raises(ConfigError, match=r"scheduler\.lease: expected at least 1s, got 500ms$"):
        load_settings(write(tmp_path, "[scheduler]\nlease = '500ms'\n"))
