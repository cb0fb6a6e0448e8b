"""newsbrief's bot: command line, scheduler and chat adapters around the ``summarizer`` library.

Run it with the ``newsbrief`` console script or ``python -m bot``; see :func:`bot.__main__.main`. The errors it
raises on purpose derive from :class:`NewsbriefError` (:mod:`bot.errors`, exported here).
"""

from bot.errors import CommandError, ConfigError, NewsbriefError, SetupError, UsageError


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed distribution when first asked for (importlib.metadata costs a
    few tens of milliseconds, which every command but ``--version`` would otherwise pay)."""
    if name != "__version__":
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("newsbrief")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found


__all__ = ["CommandError", "ConfigError", "NewsbriefError", "SetupError", "UsageError", "__version__"]
