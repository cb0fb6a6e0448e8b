"""Ingestion as jobs on procrastinate, PostgreSQL's own job queue (``[jobs] engine = "procrastinate"``).

The scheduler leader queues a poll job per due feed (:class:`JobQueue`); ``newsbrief worker`` processes run them
(:class:`Worker`), and the entry jobs the polls queue, through :class:`bot.ingest.Ingestor`'s units of work, the
same code a single process runs in-line (engine "inline", the default). :func:`job_report` says what the queue
holds (``newsbrief jobs``, ``/metrics``). See docs/scaling.md.
"""

from bot.jobs._queue import (
    ENTRY_TASK,
    POLL_TASK,
    JobQueue,
    Worker,
    connection_refused,
    conninfo_for,
    job_app,
    retry_strategy,
    until_connected,
    worker_store_url,
)
from bot.jobs._report import JOB_STATUSES, FailedJob, JobReport, export_job_stats, job_report

__all__ = [
    "ENTRY_TASK",
    "JOB_STATUSES",
    "POLL_TASK",
    "FailedJob",
    "JobQueue",
    "JobReport",
    "Worker",
    "connection_refused",
    "conninfo_for",
    "export_job_stats",
    "job_app",
    "job_report",
    "retry_strategy",
    "until_connected",
    "worker_store_url",
]
