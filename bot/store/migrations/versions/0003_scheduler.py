"""The scheduler's tables: ``leases`` (the leader lock) and ``apscheduler_jobs`` (APScheduler's job store).

- ``leases``: one row per named lease; a process holds it while ``expires_at`` is in the future and renews it
  well before then. Only the holder of the "scheduler" lease runs the scheduler; another process on the same
  database serves commands and takes the lease over once it expires.
- ``apscheduler_jobs``: the table APScheduler 3's ``SQLAlchemyJobStore`` uses (same columns it would create
  itself), created here so that the whole schema comes from migrations.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the two tables."""
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("acquired_at", _ts(), nullable=False),
        sa.Column("renewed_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
    )
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_table("apscheduler_jobs")
    op.drop_table("leases")
