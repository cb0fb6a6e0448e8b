"""The database going away: :class:`StoreUnavailable`, what counts as it, and :class:`StoreWatch`, which logs
one line when the database goes away and one when it is back."""

from __future__ import annotations

import logging
import threading

from bot.errors import NewsbriefError

__all__ = ["StoreUnavailable", "StoreWatch", "unavailable_reason"]

_PG_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")
"""PostgreSQL SQLSTATEs of a server shutting down or starting up (class 08, connection exceptions, counts too)."""
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file")
"""SQLite errors that say the file cannot be used now (a lock held past the busy timeout, a missing volume)."""


class StoreUnavailable(NewsbriefError):
    """The database cannot be reached (connection refused, dropped or reset; PostgreSQL shutting down; an SQLite
    file locked past the busy timeout). Raised by every :class:`~bot.store.Store` method instead of the driver's
    error; the message is one line. Nothing was written by the call that raised it, or all of it was (a commit
    whose answer was lost)."""


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0].strip()[:300]


def unavailable_reason(
    error: BaseException, *, dialect: str, is_disconnect: bool, connecting: bool, where: str
) -> str | None:
    """The one-line message of a :class:`StoreUnavailable` for the driver error ``error``, or ``None`` when the
    error is not about reaching the database (a constraint, a syntax error, a deadlock: those stay what they are).

    ``is_disconnect``: SQLAlchemy recognised a dropped connection; ``connecting``: the error came while opening a
    connection; ``where``: the database, for the message (never with a password).
    """
    text = _first_line(error)
    if dialect == "sqlite":
        return f"{where}: {text}" if any(s in str(error) for s in _SQLITE_UNAVAILABLE) else None
    state = str(getattr(error, "sqlstate", None) or "")
    if is_disconnect or connecting or state.startswith("08") or state in _PG_UNAVAILABLE_STATES:
        return f"{where}: {text}"
    return None


class StoreWatch:
    """Whether the database is reachable, as the store last saw it: :meth:`failed` logs one WARNING when it goes
    away, :meth:`succeeded` one INFO line when it is back; repeats in between log nothing. Thread-safe (the store
    is used from several threads). Give one to :class:`~bot.store.Store` (``watch=``) to have it kept up."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logging.getLogger("newsbrief.store")
        self._lock = threading.Lock()
        self._down: str | None = None
        self.outages = 0
        """How many times the database went away while watched."""

    @property
    def available(self) -> bool:
        """``False`` from a failure until the next success."""
        return self._down is None

    def failed(self, reason: str) -> None:
        """The database could not be reached (``reason``: one line); logged only when it was reachable before."""
        with self._lock:
            if self._down is not None:
                return
            self._down = reason
            self.outages += 1
        self.log.warning("database unavailable: %s; retrying with the next use", reason)

    def succeeded(self) -> None:
        """A statement went through; logged only after a failure."""
        if self._down is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._down is None:
                return
            self._down = None
        self.log.info("database available again")
