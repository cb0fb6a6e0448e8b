"""One exception hierarchy (``bot.errors``): every error newsbrief raises on purpose is a ``NewsbriefError`` whose
``exit_status`` is what ``newsbrief`` exits with, and each is still importable from where it always was."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
import bot.errors
from bot.__main__ import main
from bot.adapters.discord import DiscordSetupError
from bot.adapters.slack import SlackSetupError
from bot.commands import UsageError as ChatUsageError
from bot.config import ConfigError, SubscriptionError
from bot.digests import SubscriptionError as DigestsSubscriptionError
from bot.errors import CommandError, NewsbriefError, SetupError, UsageError
from bot.schedules import ScheduleError
from bot.sources import FetchError
from bot.store import StoreUnavailable


@pytest.mark.parametrize(
    ("error", "base", "status"),
    [
        (UsageError("x"), UsageError, 2),
        (ConfigError("nb.toml: store.url: bad"), UsageError, 2),
        (SetupError("x"), UsageError, 2),
        (SlackSetupError("Slack HTTP mode needs SLACK_SIGNING_SECRET"), SetupError, 2),
        (DiscordSetupError("x"), SetupError, 2),
        (ChatUsageError("unsubscribe needs exactly one topic"), UsageError, 2),
        (ScheduleError("empty schedule"), UsageError, 2),
        (SubscriptionError("tz", "unknown time zone"), UsageError, 2),
        (CommandError("store: cannot open"), NewsbriefError, 1),
        (FetchError("timeout", "no answer", url="https://example.org/feed"), NewsbriefError, 1),
        (StoreUnavailable("database is locked"), NewsbriefError, 1),
    ],
)
def test_each_error_is_a_node_of_the_one_hierarchy(error: Exception, base: type[Exception], status: int) -> None:
    assert isinstance(error, base) and isinstance(error, NewsbriefError)
    assert isinstance(error, NewsbriefError) and error.exit_status == status
    assert "\n" not in str(error)


def test_the_old_names_are_the_same_classes() -> None:
    assert bot.ConfigError is ConfigError is bot.errors.ConfigError
    assert bot.NewsbriefError is NewsbriefError and bot.UsageError is UsageError
    assert DigestsSubscriptionError is SubscriptionError
    # what callers caught before still catches them
    assert issubclass(ChatUsageError, ValueError) and issubclass(ScheduleError, ValueError)
    assert issubclass(SubscriptionError, ValueError)
    assert ChatUsageError("x").usage.startswith("Usage:")


def test_main_maps_exit_status_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A usage error (a bad config) exits 2, a runtime failure (a store that cannot be opened) 1: one line each."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[store]\nurl = 'mysql://x'\n", encoding="utf-8")
    assert main(["--config", str(bad), "doctor"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"newsbrief: {bad}: store.url: ") and err.count("\n") == 1

    unreachable = tmp_path / "unreachable.toml"
    unreachable.write_text(f"[store]\nurl = 'sqlite:///{tmp_path}/no/such/folder/nb.db'\n", encoding="utf-8")
    assert main(["--config", str(unreachable), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("newsbrief: store ") and "does not exist" in err and err.count("\n") == 1
