"""APScheduler triggers for subscriptions and feeds, and the slot a digest run belongs to (pure: ``now`` passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.commands import parse_schedule

__all__ = ["crontab_day_of_week", "digest_trigger", "latest_fire", "poll_trigger", "same_trigger"]

_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LOOKBACK = (timedelta(minutes=2), timedelta(hours=2), timedelta(days=2), timedelta(days=40), timedelta(days=800))


def _day(value: str) -> int:
    lowered = value.lower()
    if lowered in _CRONTAB_DAYS:
        return _CRONTAB_DAYS.index(lowered)
    return int(value) % 7  # crontab: 0 and 7 are both Sunday


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday, 1 = Monday) as APScheduler 3 reads it (names, since its
    numbers start at Monday = 0): ``"1-5"`` -> ``"mon,tue,wed,thu,fri"``, ``"*"`` stays ``"*"``. Ranges that wrap
    past Sunday and steps are expanded to the days they name."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        else:
            start, dash, end = base.partition("-")
            first = _day(start)
            last = (7 if end == "7" else _day(end)) if dash else first
            if dash and last < first:
                last += 7
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(name for name in _APS_ORDER if _CRONTAB_DAYS.index(name) in days)


def digest_trigger(schedule: str, tz: str) -> CronTrigger:
    """The cron trigger of a subscription's schedule ("daily 08:00", "weekdays 07:30", "hourly" or a 5-field
    crontab expression) in its IANA time zone. Day-of-week numbers follow crontab (0 = Sunday)."""
    minute, hour, day, month, day_of_week = parse_schedule(schedule).cron.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(day_of_week),
        timezone=ZoneInfo(tz),
    )


def poll_trigger(interval_s: int, *, jitter_s: int = 0) -> IntervalTrigger:
    """The interval trigger of a feed's polls (``jitter_s`` spreads many feeds of one interval over time)."""
    return IntervalTrigger(seconds=max(1, interval_s), timezone=UTC, jitter=jitter_s or None)


def same_trigger(a: object, b: object) -> bool:
    """Whether two triggers fire at the same times (cron fields and zone, or interval length)."""
    if isinstance(a, CronTrigger) and isinstance(b, CronTrigger):
        return str(a) == str(b) and str(a.timezone) == str(b.timezone)
    if isinstance(a, IntervalTrigger) and isinstance(b, IntervalTrigger):
        return bool(a.interval == b.interval)
    return False


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's latest fire time at or before ``now`` (``None`` if none within about two years): the slot a
    digest running at ``now`` belongs to, also when it runs late after a restart."""
    if now.tzinfo is None:
        raise ValueError("latest_fire: now must be timezone-aware")
    for back in _LOOKBACK:
        fire = trigger.get_next_fire_time(None, now - back)
        latest: datetime | None = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest
    return None
