"""The scheduler (APScheduler 3.11): feed polls and subscription digests, run by one leading process.

See :class:`Scheduler`. Triggers: :func:`digest_trigger` (a subscription's schedule in its time zone),
:func:`poll_trigger`; :func:`latest_fire` gives the slot a digest run belongs to.
"""

from bot.scheduler._scheduler import (
    JOBS_TABLE,
    LEASE_NAME,
    Scheduler,
    alerts_job,
    digest_job,
    new_holder_id,
    poll_job,
    sync_job,
)
from bot.scheduler._triggers import crontab_day_of_week, digest_trigger, latest_fire, poll_trigger, same_trigger

__all__ = [
    "JOBS_TABLE",
    "LEASE_NAME",
    "Scheduler",
    "alerts_job",
    "crontab_day_of_week",
    "digest_job",
    "digest_trigger",
    "latest_fire",
    "new_holder_id",
    "poll_job",
    "poll_trigger",
    "same_trigger",
    "sync_job",
]
