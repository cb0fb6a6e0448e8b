"""Digest schedules: ``daily HH:MM``, ``weekdays HH:MM``, ``hourly`` or a 5-field cron expression (``minute hour
day month weekday``), in an IANA time zone; or ``live [quiet=HH:MM-HH:MM]``: each new story posted as it breaks
(:mod:`bot.alerts`), with optional quiet hours in the subscription's time zone.

:func:`parse_schedule` reads one (:class:`ScheduleError` otherwise), :func:`check_tz` a time zone, and
:func:`digest_trigger` gives the APScheduler ``CronTrigger`` that fires on it. The trigger is built in one place
(:func:`cron_trigger`), and that is also how a schedule is validated: APScheduler decides what a field may hold;
its complaints are told in the words of the field at fault. Day-of-week numbers follow crontab (0 and 7 =
Sunday), remapped to APScheduler 3's names (:func:`crontab_day_of_week`, since its numbers start at Monday = 0).

A leaf module: APScheduler is imported only when a cron expression is checked or a trigger built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UsageError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "DEFAULT_SCHEDULE",
    "DEFAULT_TZ",
    "Schedule",
    "ScheduleError",
    "check_tz",
    "cron_trigger",
    "crontab_day_of_week",
    "digest_trigger",
    "parse_quiet",
    "parse_schedule",
]

DEFAULT_SCHEDULE = "daily 08:00"
"""The schedule of a subscription that names none."""
DEFAULT_TZ = "UTC"
"""The time zone of a subscription that names none."""


class ScheduleError(UsageError, ValueError):
    """A schedule or time zone that is not usable; ``problem`` says what is wrong (one line)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A digest schedule: ``kind`` is "daily", "weekdays", "hourly" or "cron"; :attr:`cron` is always set
    (the 5-field crontab equivalent, e.g. "30 7 * * mon-fri" for "weekdays 07:30")."""

    kind: Literal["daily", "weekdays", "hourly", "cron", "live"]
    cron: str
    text: str
    quiet: tuple[tuple[int, int], tuple[int, int]] | None = None
    """Quiet hours of a live schedule ((start hour, minute), (end hour, minute)), in the subscription's time zone;
    ``None``: none (the ``[live]`` section's default applies)."""

    @property
    def live(self) -> bool:
        """Whether stories are posted as they break (:mod:`bot.alerts`) instead of in scheduled digests."""
        return self.kind == "live"


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
"""APScheduler's names of the five crontab fields, in crontab's order."""
_FIELD_NAMES = {
    "minute": "minute",
    "hour": "hour",
    "day": "day of month",
    "month": "month",
    "day_of_week": "day of week",
}
_CRONTAB_RANGES = {"minute": (0, 59), "hour": (0, 23), "day": (1, 31), "month": (1, 12), "day_of_week": (0, 7)}
_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock(value: str, kind: str) -> tuple[int, int]:
    m = _CLOCK.match(value)
    if not m:
        raise ScheduleError(f"{kind}: expected a time such as 08:00, got {value!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{kind}: {value!r} is not a time of day (hours 0-23, minutes 0-59)")
    return hour, minute


def parse_quiet(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Quiet hours ``HH:MM-HH:MM`` (may wrap past midnight, e.g. ``22:00-07:00``); :class:`ScheduleError`
    otherwise."""
    start, dash, end = text.strip().partition("-")
    if not dash:
        raise ScheduleError(f"quiet=: expected HH:MM-HH:MM such as 22:00-07:00, got {text!r}")
    first, last = _clock(start.strip(), "quiet="), _clock(end.strip(), "quiet=")
    if first == last:
        raise ScheduleError(f"quiet=: {text!r} starts and ends at the same time")
    return first, last


def _live(words: list[str], text: str) -> Schedule:
    quiet: tuple[tuple[int, int], tuple[int, int]] | None = None
    for word in words[1:]:
        if not word.lower().startswith("quiet="):
            raise ScheduleError(f"live takes only quiet=HH:MM-HH:MM, got {word!r} in {text.strip()!r}")
        if quiet is not None:
            raise ScheduleError("quiet= given twice")
        quiet = parse_quiet(word[6:])
    if quiet is None:
        return Schedule("live", "", "live")
    (h1, m1), (h2, m2) = quiet
    return Schedule("live", "", f"live quiet={h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}", quiet)


def parse_schedule(text: str) -> Schedule:
    """``daily HH:MM``, ``weekdays HH:MM``, ``hourly``, a 5-field cron expression (checked by building its
    trigger), or ``live [quiet=HH:MM-HH:MM]`` (stories posted as they break; :attr:`Schedule.cron` is empty);
    :class:`ScheduleError` otherwise."""
    schedule = _read(text)
    if schedule.kind == "cron":
        cron_trigger(schedule.cron, DEFAULT_TZ)
    return schedule


def _read(text: str) -> Schedule:
    """The schedule ``text`` stands for; a cron expression is only split into its five fields here."""
    words = text.strip().strip("\"'“”‘’").split()
    if not words:
        raise ScheduleError("empty schedule")
    kind = words[0].lower()
    if kind == "live":
        return _live(words, text)
    if any(w.lower().startswith("quiet=") for w in words):
        raise ScheduleError(
            "quiet= goes with a live subscription only: /brief subscribe <topic> live quiet=22:00-07:00"
        )
    if kind == "hourly":
        if len(words) != 1:
            raise ScheduleError(f"hourly takes no time, got {text!r}")
        return Schedule("hourly", "0 * * * *", "hourly")
    if kind in ("daily", "weekdays"):
        if len(words) != 2:
            raise ScheduleError(f"{kind} needs one time such as 08:00, got {text!r}")
        hour, minute = _clock(words[1], kind)
        if kind == "daily":
            return Schedule("daily", f"{minute} {hour} * * *", f"daily {hour:02d}:{minute:02d}")
        return Schedule("weekdays", f"{minute} {hour} * * mon-fri", f"weekdays {hour:02d}:{minute:02d}")
    if len(words) != 5:
        raise ScheduleError(
            f"unknown schedule {text.strip()!r}: use daily 08:00, weekdays 07:30, hourly, or a 5-field cron expression"
        )
    expression = " ".join(words)
    return Schedule("cron", expression, expression)


def check_tz(name: str) -> str:
    """``name`` when it is an IANA time zone; :class:`ScheduleError` otherwise."""
    if not name:
        raise ScheduleError("tz= needs a time zone such as tz=Europe/Berlin")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin or UTC)") from None
    return name


def _day(value: str) -> int:
    """A crontab weekday (a name, or 0-7 with 0 and 7 Sunday) as 0-7."""
    lowered = value.lower()
    if lowered in _CRONTAB_DAYS:
        return _CRONTAB_DAYS.index(lowered)
    if not value.isdigit():
        raise ScheduleError(f"cron day of week: {value!r} is not a number")
    number = int(value)
    if number > 7:
        raise ScheduleError(f"cron day of week: {number} is out of range (0-7)")
    return number


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, 1 = Monday) as APScheduler 3 reads it (names, since its
    numbers start at Monday = 0): ``"1-5"`` -> ``"mon,tue,wed,thu,fri"``, ``"*"`` stays ``"*"``. Steps are expanded
    to the days they name; a range that runs backwards (``fri-mon``) is a :class:`ScheduleError`."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) < 1):
            raise ScheduleError(f"cron day of week: step {step_text!r} must be a positive number")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = 0, 6
        else:
            start, dash, end = base.partition("-")
            if not start:
                raise ScheduleError(f"cron day of week: {part!r} is not a value, range or list")
            first = _day(start)
            last = _day(end) if dash else first
            if last < first:
                raise ScheduleError(f"cron day of week: range {base!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(name for name in _APS_ORDER if _CRONTAB_DAYS.index(name) in days)


def cron_trigger(cron: str, tz: str) -> CronTrigger:
    """The APScheduler trigger of a 5-field crontab expression in the IANA zone ``tz``: the one place a cron
    expression is read. :class:`ScheduleError` naming the field at fault when APScheduler refuses it."""
    from apscheduler.triggers.cron import CronTrigger

    values = dict(zip(_CRON_FIELDS, cron.split(), strict=True))
    values["day_of_week"] = crontab_day_of_week(values["day_of_week"])
    try:
        return CronTrigger(**values, timezone=ZoneInfo(tz))
    except ValueError as exc:
        for name in _CRON_FIELDS:  # which field: APScheduler's message does not always say
            try:
                CronTrigger(**{name: values[name]}, timezone=ZoneInfo(tz))
            except ValueError as field_exc:
                raise ScheduleError(f"cron {_FIELD_NAMES[name]}: {_problem(name, values[name], field_exc)}") from None
        raise ScheduleError(f"cron: {exc}") from None


def _problem(field: str, value: str, error: ValueError) -> str:
    """APScheduler's complaint about a field, in crontab's words."""
    message = str(error)
    low, high = _CRONTAB_RANGES[field]
    if m := re.search(r"value \((\d+)\) is (?:higher|lower) than the (?:maximum|minimum)", message):
        return f"{m.group(1)} is out of range ({low}-{high})"
    if "must not be higher than the maximum" in message:
        backwards = next((p.partition("/")[0] for p in value.split(",") if "-" in p), value)
        return f"range {backwards!r} runs backwards"
    if "Increment" in message:
        step = next((p.partition("/")[2] for p in value.split(",") if "/" in p), value)
        return f"step {step!r} must be a positive number"
    if m := re.match(r'Unrecognized expression "([^"]*)"', message):
        return f"{m.group(1)!r} is not a number"
    return message


def digest_trigger(schedule: str, tz: str) -> CronTrigger:
    """The cron trigger of a subscription's schedule ("daily 08:00", "weekdays 07:30", "hourly" or a 5-field
    crontab expression) in its IANA time zone. Day-of-week numbers follow crontab (0 = Sunday)."""
    return cron_trigger(_read(schedule).cron, tz)
