"""newsbrief's one exception hierarchy (a leaf module: it imports nothing of newsbrief's, nothing heavy).

Every error newsbrief raises on purpose derives from :class:`NewsbriefError`, whose ``exit_status`` is what the
``newsbrief`` command line exits with when the error ends a command (``bot.__main__.main`` catches it once and
prints its one-line message)::

    NewsbriefError                  1  a runtime failure
    ├── UsageError                  2  what was typed or configured is not usable
    │   ├── ConfigError             2  the configuration (file, environment) is wrong
    │   └── SetupError              2  a configured platform cannot start (a token missing for its mode...)
    └── CommandError                1  a failure while running a command

The other modules' errors derive from these: :class:`bot.sources.FetchError` (1), :class:`bot.store.StoreUnavailable`
(1), :class:`bot.schedules.ScheduleError` (a :class:`UsageError`), :class:`bot.adapters.slack.SlackSetupError` and
:class:`bot.adapters.discord.DiscordSetupError` (:class:`SetupError`), ...
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "CommandError",
    "ConfigError",
    "NewsbriefError",
    "SetupError",
    "UsageError",
]

EXIT_FAILURE = 1
"""The exit status of a runtime failure."""
EXIT_USAGE = 2
"""The exit status of a usage or configuration error."""


class NewsbriefError(Exception):
    """The root of newsbrief's errors; ``str(error)`` is one line. ``exit_status``: what ``newsbrief`` exits with
    when this error ends a command."""

    exit_status: ClassVar[int] = EXIT_FAILURE


class UsageError(NewsbriefError):
    """What was typed (a chat command, a command-line argument) or configured is not usable; ``problem`` says
    what is wrong, in one line."""

    exit_status: ClassVar[int] = EXIT_USAGE

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class ConfigError(UsageError):
    """A configuration problem; the message is one line naming the file and key at fault."""


class SetupError(UsageError):
    """A configured platform cannot start in this process (a token missing for its mode, settings that do not fit
    the process): one line for the operator."""


class CommandError(NewsbriefError):
    """A failure while running a command (exit status 1); the message is one line."""
