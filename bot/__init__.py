"""newsbrief's bot: command line, scheduler and chat adapters around the ``summarizer`` library.

Run it with the ``newsbrief`` console script or ``python -m bot``; see :func:`bot.__main__.main`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("newsbrief")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
