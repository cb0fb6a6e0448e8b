"""The value types the section models share: durations (read as :class:`~datetime.timedelta`, written for people
by :func:`duration_text`), whole numbers with a floor, checked strings, and the errors they raise (:func:`fail`,
whose ``at`` names the key below the value's own place, so that a cross-field check can point at the key it is
about)."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

from pydantic import AfterValidator, BeforeValidator, StrictBool, StrictStr
from pydantic_core import PydanticCustomError

import bot

__all__ = [
    "PROJECT_URL",
    "Duration",
    "DurationOrZero",
    "Flag",
    "Text",
    "at_least",
    "duration",
    "duration_text",
    "fail",
    "matching",
    "parse_duration",
    "parse_listen",
    "resolve_file_url",
    "user_agent",
]

PROJECT_URL = "https://github.com/newsbrief/newsbrief"

Text = StrictStr
Flag = StrictBool


def fail(problem: str, at: str = "") -> NoReturn:
    """Reject the value being validated: ``problem`` is the one-line text of the error, ``at`` the key path below
    the value's place ("mode", "shards[1]", "[0].url"); see :func:`bot.config._load.config_error`."""
    raise PydanticCustomError("newsbrief", "{problem}", {"problem": problem, "at": at})


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


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


_MAX_DAYS = timedelta.max.days - 1
"""The longest duration taken, in days (nearly :attr:`timedelta.max`, whose float of seconds is not exact)."""


def duration(value: object, *, allow_zero: bool = False) -> timedelta:
    """A configured duration (:func:`parse_duration`'s inputs, or a :class:`timedelta` given in code, taken as it
    is) as a :class:`timedelta`; a validation error when it is not one, or zero where zero is not allowed."""
    given = value if isinstance(value, timedelta) else None
    try:
        seconds = parse_duration(given.total_seconds() if given is not None else value)
    except ValueError as exc:
        fail(str(exc))
    if not math.isfinite(seconds) or seconds > _MAX_DAYS * 86_400:
        fail(f"expected a duration of at most {_MAX_DAYS} days, got {value!r}")
    if seconds == 0 and not allow_zero:
        fail("must be longer than zero")
    return given if given is not None else timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(duration)]
"""A duration longer than zero (``"15m"``, ``"30s"``, ``45`` in the file; a :class:`timedelta` in code)."""
DurationOrZero = Annotated[timedelta, BeforeValidator(lambda value: duration(value, allow_zero=True))]
"""A duration of zero or more."""

_TEXT_UNITS = (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000))
_SECONDS_UP_TO = 600_000_000
"""Shorter than this many microseconds (ten minutes), a duration is told in seconds ("120s", "1.5s")."""


def _decimal(microseconds: int, per_unit: int) -> str:
    """``microseconds / per_unit`` written exactly, without trailing zeros or an exponent."""
    whole, rest = divmod(microseconds, per_unit)
    if not rest:
        return str(whole)
    digits = len(str(per_unit)) - 1
    return f"{whole}.{rest * 10**digits // per_unit:0{digits}d}".rstrip("0")


def duration_text(td: timedelta) -> str:
    """A duration as people (and the config file) write it, compactly: ``"500ms"`` below a second, seconds below
    ten minutes (``"1.5s"``, ``"120s"``), else the largest of days, hours and minutes it is a whole number of
    (``"15m"``, ``"2h"``, ``"1d"``; ``"601s"`` when none). :func:`parse_duration` reads it back to the same
    duration; a negative one is written with a ``-``."""
    micro = (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds
    if micro < 0:
        return "-" + duration_text(-td)
    if micro == 0:
        return "0s"
    if micro < 1_000_000:
        return f"{_decimal(micro, 1000)}ms"
    if micro >= _SECONDS_UP_TO:
        for unit, per_unit in _TEXT_UNITS:
            if micro % per_unit == 0:
                return f"{micro // per_unit}{unit}"
    return f"{_decimal(micro, 1_000_000)}s"


def at_least(minimum: int) -> AfterValidator:
    """Of an integer: at least ``minimum`` (``Annotated[StrictInt, at_least(1)]``)."""

    def check(value: int) -> int:
        if value < minimum:
            fail(f"must be at least {minimum}, got {value}")
        return value

    return AfterValidator(check)


def matching(pattern: str, expected: str, *, show: Callable[[str], str] = repr) -> AfterValidator:
    """Of a string: matching ``pattern`` (:func:`re.match`); otherwise "expected {expected}, got {show(value)}"."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            fail(f"expected {expected}, got {show(value)}")
        return value

    return AfterValidator(check)


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


def user_agent(contact: str | None = None) -> str:
    """The User-Agent newsbrief sends: ``newsbrief/VERSION (+CONTACT)``, the contact being where a site's
    operator can reach whoever runs this bot (``[network] contact``; the project's page when unset)."""
    return f"newsbrief/{bot.__version__} (+{contact or PROJECT_URL})"


def resolve_file_url(url: str, base: Path) -> str:
    """A relative file URL (``file:demo/feed.xml``, no ``//``) as an absolute ``file://`` URL, taken relative to
    ``base`` (the config file's folder); any other URL is returned unchanged."""
    if not url.lower().startswith("file:") or url[5:].startswith("//"):
        return url
    from urllib.request import url2pathname  # urllib.request is slow to import, and seldom needed here

    return (base / url2pathname(url[5:])).resolve().as_uri()
