"""Logging set-up of the ``newsbrief`` process: one concise stderr handler whose output never shows a secret.

:func:`configure_logging` installs (or, called again, updates) the handler on the root logger; its
:class:`RedactSecrets` filter replaces every secret value in the formatted message, the exception text and the
stack text of each record with ``[redacted]``. The secrets are the values of :data:`SECRET_ENV_VARS` at
configure time plus any given explicitly; values shorter than :data:`MIN_SECRET_LENGTH` are ignored (they
would redact ordinary words).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

__all__ = [
    "FORMAT",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_ENV_VARS",
    "RedactSecrets",
    "configure_logging",
]

SECRET_ENV_VARS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")
REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6
FORMAT = "%(levelname)s %(name)s: %(message)s"

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMATTER = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's message, exception text and stack text with ``[redacted]``.

    The message is formatted here (``msg % args``), so a secret passed as an argument is caught too; the
    record is changed in place and always let through.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        unique = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # Longest first: a secret that contains another is replaced whole.
        self.secrets: tuple[str, ...] = tuple(sorted(unique, key=lambda s: (-len(s), s)))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception as exc:  # a bad format string: show what there is, still redacted, instead of failing
            message = f"{record.msg!r} (could not format the log message: {type(exc).__name__})"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be replaced, e.g. by tests)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _level(level: int | str) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        name = level.strip().upper()
        if name in _LEVELS:
            return int(getattr(logging, name))
        if name.isdigit():
            return int(name)
    raise ValueError(f"unknown log level {level!r} (expected one of {', '.join(_LEVELS)})")


def configure_logging(level: int | str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    """Log records of ``level`` and above to stderr, with every secret redacted.

    Idempotent: a second call updates the level and re-reads the secrets instead of adding a handler.
    ``level`` is a number or a name ("debug", "INFO", ...); an unknown name raises ``ValueError``.
    """
    numeric = _level(level)
    values = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
    redact = RedactSecrets([*values, *secrets])
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
        handler.removeFilter(old)
    handler.addFilter(redact)
    root.setLevel(numeric)
