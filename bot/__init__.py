"""newsbrief's bot: command line, scheduler and chat adapters around the ``summarizer`` library.

Run it with the ``newsbrief`` console script or ``python -m bot``; see :func:`bot.__main__.main`. The errors it
raises on purpose derive from :class:`NewsbriefError` (:mod:`bot.errors`, exported here).
"""

from importlib.metadata import PackageNotFoundError, version

from bot.errors import CommandError, ConfigError, NewsbriefError, SetupError, UsageError

try:
    __version__ = version("newsbrief")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["CommandError", "ConfigError", "NewsbriefError", "SetupError", "UsageError", "__version__"]
