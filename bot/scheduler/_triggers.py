"""APScheduler triggers for subscriptions and feeds, and the slot a digest run belongs to (pure: ``now`` passed in).

A subscription's trigger is :mod:`bot.schedules`' (:func:`digest_trigger`, re-exported here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.schedules import crontab_day_of_week, digest_trigger

__all__ = ["crontab_day_of_week", "digest_trigger", "latest_fire", "poll_trigger", "same_trigger"]

_LOOKBACK = (timedelta(minutes=2), timedelta(hours=2), timedelta(days=2), timedelta(days=40), timedelta(days=800))


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
