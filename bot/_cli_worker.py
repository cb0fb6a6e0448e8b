"""CLI ``newsbrief worker`` (run ingestion jobs) and ``newsbrief jobs`` (what the job queue holds).

Both need ``[jobs] engine = "procrastinate"`` (a PostgreSQL store): see docs/scaling.md. An edge: it reads the
clock, creates the one httpx client and opens the store and the job queue, then hands them to :mod:`bot.jobs`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
from procrastinate.exceptions import ConnectorException
from rich.console import Console
from rich.text import Text

from bot import __version__
from bot._cli_common import CommandError, open_store, store_label
from bot.config import ConfigError, Settings
from bot.ingest import extraction_pool, http_client, ingestor_for
from bot.jobs import (
    JOB_STATUSES,
    JobQueue,
    JobReport,
    Worker,
    job_app,
    job_report,
    until_connected,
    worker_store_url,
)
from bot.store import Store, StoreWatch

__all__ = ["cmd_jobs", "cmd_worker"]


def _now() -> datetime:
    return datetime.now(UTC)


def _require_queue(settings: Settings, command: str) -> None:
    if settings.jobs.engine != "procrastinate":
        where = settings.path or "<config>"
        raise ConfigError(
            f'{where}: jobs.engine: `newsbrief {command}` needs engine = "procrastinate" (with a '
            f'PostgreSQL store); with "inline" `newsbrief run` polls the feeds itself'
        )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the queued ingestion jobs until SIGINT or SIGTERM (the jobs running then are given ``[jobs] deadline``
    to finish; the others are taken back by another worker)."""
    _require_queue(settings, "worker")
    # a transaction this worker leaves idle (killed, cut off) is ended by the server, its locks with it
    store_config = settings.store.model_copy(update={"url": worker_store_url(settings.store.url)})
    connecting = settings.model_copy(update={"store": store_config})
    with contextlib.ExitStack() as stack:
        # a worker (re)started while the database is away (restarting, cut off) waits for it, within bounds
        store = until_connected(lambda: stack.enter_context(open_store(connecting, watch=StoreWatch())))
        Console().print(
            Text.assemble(
                (f"newsbrief {__version__} worker", "bold"),
                f" — store {store_label(settings.store.url)}, "
                f"{settings.jobs.concurrency} jobs at a time. Ctrl-C or SIGTERM stops it.",
            )
        )
        try:
            asyncio.run(_work(store, connecting))
        except (ConnectorException, psycopg.Error) as exc:  # the queue's connections failed
            raise CommandError(f"job queue at {store_label(settings.store.url)}: {exc}") from None
    return 0


async def _work(store: Store, settings: Settings) -> None:
    with extraction_pool() as pool, ThreadPoolExecutor(1, thread_name_prefix="newsbrief-store") as store_thread:
        async with http_client(settings) as client:
            ingestor = until_connected(
                lambda: ingestor_for(store, client, settings, _now(), executor=pool, store_thread=store_thread)
            )
            app = job_app(settings)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
                    loop.add_signal_handler(signum, stop.set)
            async with app.open_async():
                await Worker(app, ingestor, _now).serve(stop)


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    """Print the job queue: jobs per status, the oldest wait, the dead-lettered and the retrying jobs with why."""
    _require_queue(settings, "jobs")
    with open_store(settings):  # applies the migrations, which make the queue's tables
        report = asyncio.run(_report(settings))
    if args.json:
        print(json.dumps({"engine": settings.jobs.engine, **report.to_json()}, indent=2, ensure_ascii=False))
        return 0
    console = Console(soft_wrap=True)
    counts = ", ".join(f"{report.counts[status]} {status}" for status in JOB_STATUSES)
    wait = f"; the oldest due job has waited {report.oldest_waiting_s:.0f}s" if report.oldest_waiting_s else ""
    console.print(f"jobs: {counts}{wait}", highlight=False)
    for title, jobs in (("dead (failed every try)", report.dead), ("failing, to be tried again", report.retrying)):
        if jobs:
            console.print(f"{len(jobs)} {title}:", highlight=False)
        for job in jobs:
            when = f", last at {job.failed_at:%Y-%m-%d %H:%M}" if job.failed_at else ""
            console.print(
                f"  job {job.id} {job.task.removeprefix('newsbrief.')} {job.subject} ({job.attempts} "
                f"{'try' if job.attempts == 1 else 'tries'}{when}): {job.error}",
                highlight=False,
                markup=False,
            )
    return 0


async def _report(settings: Settings) -> JobReport:
    try:
        async with JobQueue(settings) as queue:
            return await job_report(queue, _now())
    except (ConnectorException, psycopg.Error) as exc:
        raise CommandError(f"job queue at {store_label(settings.store.url)}: {exc}") from None
