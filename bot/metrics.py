"""Prometheus metrics of one newsbrief process, in a registry of its own (served by :mod:`bot.web` at /metrics).

Every label takes its values from a closed set; anything else is counted as ``"other"``, so a bug or an
unexpected value can never create an unbounded number of time series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from bot import __version__

__all__ = [
    "COMMANDS",
    "COMMAND_BUCKETS",
    "DIGEST_OUTCOMES",
    "FEED_STATUSES",
    "FETCH_ERROR_KINDS",
    "JOB_STATUSES",
    "OTHER",
    "PLATFORMS",
    "STORED_STATUSES",
    "Metrics",
]

OTHER = "other"
"""The label value standing in for any value outside a label's known set."""

FEED_STATUSES = frozenset({"ok", "not_modified", "error", "disabled", "unavailable"})
FETCH_ERROR_KINDS = frozenset(
    {"timeout", "connect", "http", "too_large", "redirects", "blocked", "decode", "parse", "invalid_url", OTHER}
)
STORED_STATUSES = frozenset({"new", "updated"})
PLATFORMS = frozenset({"console", "slack", "discord"})
DIGEST_OUTCOMES = frozenset({"posted", "empty", "failed", "skipped", "retry"})
JOB_STATUSES = frozenset({"todo", "doing", "failed", "succeeded", "cancelled", "aborted"})
COMMANDS = frozenset({"brief", "subscribe", "unsubscribe", "list", "topics", "sources", "help", "error"})

COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Command latency buckets (seconds): 5 ms .. 10 s, then +Inf."""


def _known(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


class Metrics:
    """The process's counters, histogram and gauges, registered in :attr:`registry` (never the global one)."""

    def __init__(self, *, version: str = __version__) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._feeds_polled = Counter("newsbrief_feeds_polled", "Feed polls, by outcome.", ["status"], registry=r)
        self._fetch_errors = Counter(
            "newsbrief_fetch_errors", "Failed feed or page fetches, by kind of error.", ["kind"], registry=r
        )
        self._articles_stored = Counter(
            "newsbrief_articles_stored", "Articles stored, new or updated.", ["status"], registry=r
        )
        self._digests = Counter(
            "newsbrief_digests", "Digest runs, by platform and outcome.", ["platform", "outcome"], registry=r
        )
        self._command_latency = Histogram(
            "newsbrief_command_latency_seconds",
            "Time to answer a chat command, by command and platform.",
            ["command", "platform"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self._leader = Gauge(
            "newsbrief_scheduler_leader", "1 when this process runs the scheduler, else 0.", registry=r
        )
        self._jobs = Gauge(
            "newsbrief_jobs", "Jobs in the queue ([jobs] engine procrastinate), by status.", ["status"], registry=r
        )
        self._jobs_dead = Gauge(
            "newsbrief_jobs_dead_letters", "Jobs that failed every try and were given up (status failed).", registry=r
        )
        self._jobs_wait = Gauge(
            "newsbrief_jobs_oldest_wait_seconds",
            "How long the longest-waiting due job has waited (0: none).",
            registry=r,
        )
        self._build = Info("newsbrief_build", "The newsbrief version of this process.", registry=r)
        self._build.info({"version": version})
        # Series of the closed single-label sets exist from the start (at 0), so that rate() sees the first event.
        _touch(self._feeds_polled, FEED_STATUSES)
        _touch(self._fetch_errors, FETCH_ERROR_KINDS)
        _touch(self._articles_stored, STORED_STATUSES)

    def feed_polled(self, status: str) -> None:
        """One feed poll ended with ``status`` ("ok", "not_modified", "error" or "disabled")."""
        self._feeds_polled.labels(_known(status, FEED_STATUSES)).inc()

    def fetch_error(self, kind: str) -> None:
        """One fetch failed; ``kind`` is a :class:`bot.sources.FetchError` kind (unknown kinds count as "other")."""
        self._fetch_errors.labels(_known(kind, FETCH_ERROR_KINDS)).inc()

    def articles_stored(self, status: str, count: int = 1) -> None:
        """``count`` articles were stored as ``status`` ("new" or "updated")."""
        if count < 0:
            raise ValueError(f"articles_stored: count must not be negative, got {count}")
        self._articles_stored.labels(_known(status, STORED_STATUSES)).inc(count)

    def digest(self, platform: str, outcome: str) -> None:
        """One digest run on ``platform`` ended with ``outcome`` ("posted", "empty", "failed", "skipped" or
        "retry")."""
        self._digests.labels(_known(platform, PLATFORMS), _known(outcome, DIGEST_OUTCOMES)).inc()

    def observe_command(self, command: str, platform: str, seconds: float) -> None:
        """A chat command of kind ``command`` ("brief", "subscribe", ..., "error") took ``seconds`` to answer."""
        self._command_latency.labels(_known(command, COMMANDS), _known(platform, PLATFORMS)).observe(max(0.0, seconds))

    def set_leader(self, leader: bool) -> None:
        """Whether this process runs the scheduler (several processes may share one database)."""
        self._leader.set(1 if leader else 0)

    def set_jobs(self, counts: Mapping[str, int], oldest_wait_s: float | None) -> None:
        """The job queue's state: jobs per status (see :data:`JOB_STATUSES`; "failed" are the dead letters) and how
        long the longest-waiting due job has waited (``None``: no job waits)."""
        for status in sorted(JOB_STATUSES):
            self._jobs.labels(status).set(counts.get(status, 0))
        self._jobs_dead.set(counts.get("failed", 0))
        self._jobs_wait.set(oldest_wait_s or 0.0)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _touch(counter: Counter, values: Iterable[str]) -> None:
    for value in sorted(values):
        counter.labels(value)
