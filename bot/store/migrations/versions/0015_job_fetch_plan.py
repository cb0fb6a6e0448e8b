"""procrastinate's job fetch reads the queue in order whatever the table's statistics (PostgreSQL only).

A worker takes its next job with ``procrastinate_fetch_job_v2``: the first waiting job by priority and id that no
earlier job's lock holds back. The right plan for that is always the same one: walk the partial index of waiting
jobs (``procrastinate_jobs_priority_idx_v1``) in order and stop at the first job that can be taken. But the
planner picks it only when the table's statistics say many jobs wait. A queue table is mostly analyzed while it
is nearly empty (never, on a server with autovacuum off; or between bursts), and with such statistics the planner
estimates one or two waiting jobs and chooses a bitmap scan of every waiting job, the lock check on each, and a
sort: each fetch then reads the whole queue. With 5,000 entry jobs queued by a round of polls, fetches took 3 ms
of the database's CPU each, half of all its work per article stored (procrastinate issue #1242).

The function is given planner settings of its own, which PostgreSQL applies while it runs: no bitmap scans and
no sequential scans (a plan that needs one is still used when nothing else answers the query). Nothing else
changes, and the function's code stays procrastinate's. A later procrastinate release that replaces the function
drops these settings; the migration of ours that applies its scripts puts them back.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

FETCH_JOB = "procrastinate_fetch_job_v2(character varying[], bigint)"
"""The function a procrastinate 3 worker takes its next job with."""


def _fetch_job_present() -> bool:
    return bool(op.get_bind().exec_driver_sql(f"SELECT to_regprocedure('{FETCH_JOB}') IS NOT NULL").scalar())


def upgrade() -> None:
    """Give the fetch function its planner settings."""
    if op.get_bind().dialect.name != "postgresql" or not _fetch_job_present():
        return
    op.execute(f"ALTER FUNCTION {FETCH_JOB} SET enable_bitmapscan = off SET enable_seqscan = off")


def downgrade() -> None:
    """Take them away."""
    if op.get_bind().dialect.name != "postgresql" or not _fetch_job_present():
        return
    op.execute(f"ALTER FUNCTION {FETCH_JOB} RESET enable_bitmapscan RESET enable_seqscan")
