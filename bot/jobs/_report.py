"""What the job queue holds: jobs per status, how long the oldest due one has waited, the dead and the retrying
ones with their reasons (``newsbrief jobs``, and the ``/metrics`` gauges of the scheduler leader)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.jobs._queue import JobQueue

__all__ = ["JOB_STATUSES", "FailedJob", "JobReport", "export_job_stats", "job_report"]

log = logging.getLogger("newsbrief.jobs")

JOB_STATUSES = ("todo", "doing", "failed", "succeeded", "cancelled", "aborted")
"""procrastinate's job statuses: waiting, running, dead-lettered (failed for good), done (deleted at once by
newsbrief's workers), cancelled, aborted."""


@dataclass(frozen=True)
class FailedJob:
    """A job that failed: dead (``status`` "failed": no try left) or to be tried again ("todo")."""

    id: int
    task: str
    status: str
    attempts: int
    subject: str
    error: str
    failed_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "attempts": self.attempts,
            "subject": self.subject,
            "error": self.error,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
        }


@dataclass(frozen=True)
class JobReport:
    """``counts`` has every status of :data:`JOB_STATUSES`; ``oldest_waiting_s``: how long the longest-waiting due job
    has waited (``None``: none waits); ``dead``/``retrying``: the newest first, at most the report's limit each."""

    counts: dict[str, int]
    oldest_waiting_s: float | None
    dead: list[FailedJob]
    retrying: list[FailedJob]

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "oldest_waiting_s": self.oldest_waiting_s,
            "dead": [j.to_json() for j in self.dead],
            "retrying": [j.to_json() for j in self.retrying],
        }


_COUNTS = "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs GROUP BY status"
_OLDEST = """
    SELECT min(COALESCE(j.scheduled_at, e.at)) AS since
      FROM procrastinate_jobs j
      LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
     WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= %(now)s)
"""
_FAILED = """
    SELECT j.id, j.task_name, j.status::text AS status, j.attempts, f.subject, f.error, f.failed_at
      FROM procrastinate_jobs j
      LEFT JOIN job_failures f ON f.job_id = j.id
     WHERE j.status = %(status)s AND (j.status = 'failed' OR f.job_id IS NOT NULL)
     ORDER BY j.id DESC
     LIMIT %(limit)s
"""


async def job_report(queue: JobQueue, now: datetime, *, limit: int = 50) -> JobReport:
    """The queue's state at ``now`` (one short read of the queue's tables)."""
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for row in await queue.query(_COUNTS):
        if row["status"] in counts:
            counts[row["status"]] = int(row["n"])
    since = (await queue.query(_OLDEST, now=now))[0]["since"]
    oldest = max(0.0, (now - since).total_seconds()) if since is not None else None

    async def failed(status: str) -> list[FailedJob]:
        rows = await queue.query(_FAILED, status=status, limit=limit)
        return [
            FailedJob(
                id=r["id"],
                task=r["task_name"],
                status=r["status"],
                attempts=r["attempts"],
                subject=r["subject"] or "",
                error=r["error"] or "(no reason recorded)",
                failed_at=r["failed_at"],
            )
            for r in rows
        ]

    return JobReport(counts, oldest, await failed("failed"), await failed("todo"))


async def export_job_stats(
    queue: JobQueue, show: Callable[[JobReport], None], clock: Callable[[], datetime], *, every: float
) -> None:
    """Every ``every`` seconds hand the queue's report to ``show`` (the ``/metrics`` gauges), until cancelled."""
    while True:
        try:
            show(await job_report(queue, clock(), limit=0))
        except Exception as exc:  # the database away: the gauges keep their last values
            log.info("jobs: queue statistics not read: %s", exc)
        await asyncio.sleep(every)
