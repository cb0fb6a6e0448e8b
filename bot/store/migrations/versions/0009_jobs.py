"""The job queue of ``[jobs] engine = "procrastinate"`` (PostgreSQL only; nothing changes on SQLite).

- procrastinate's own schema (``procrastinate_jobs``, ``procrastinate_events``, ``procrastinate_workers``, ...: its
  tables, types, functions and triggers, as the installed procrastinate ships them), created here so that the
  whole schema comes from migrations and one ``newsbrief db upgrade`` prepares a database for workers. A later
  procrastinate release that changes its schema comes with a migration of ours applying its migration scripts.
- ``job_failures``: why a job failed, one row per job (its last failure), which procrastinate does not record:
  ``newsbrief jobs`` shows it beside the dead-lettered and retrying jobs. Deleted with its job.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Any

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
_PROCRASTINATE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def _driver() -> Any:
    """The psycopg connection under the migration's: procrastinate's script is run as it is (several statements,
    ``%`` signs in its messages), not through SQLAlchemy's parameter handling."""
    return op.get_bind().connection.driver_connection


def upgrade() -> None:
    """Create procrastinate's schema (unless an earlier install made it) and ``job_failures``."""
    if op.get_bind().dialect.name != "postgresql":
        return
    driver = _driver()
    present = driver.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()[0]
    if not present:
        driver.execute(SchemaManager.get_schema())
    driver.execute(
        """
        CREATE TABLE job_failures (
            job_id bigint PRIMARY KEY REFERENCES procrastinate_jobs (id) ON DELETE CASCADE,
            task text NOT NULL,
            subject text NOT NULL,
            attempts integer NOT NULL,
            error text NOT NULL,
            failed_at timestamptz NOT NULL
        )
        """
    )


def downgrade() -> None:
    """Drop ``job_failures`` and procrastinate's tables, types and functions (the queued jobs are lost)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    driver = _driver()
    driver.execute("DROP TABLE IF EXISTS job_failures")
    for table in _PROCRASTINATE_TABLES:
        driver.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for kind in _PROCRASTINATE_TYPES:
        driver.execute(f"DROP TYPE IF EXISTS {kind} CASCADE")
    driver.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';
            END LOOP;
        END $$
        """
    )
