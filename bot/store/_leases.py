"""Named leases (the scheduler lock: one leader per deployment)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from bot.store._base import StoreBase, rowcount
from bot.store._convert import from_row
from bot.store._models import LeaseRow
from bot.store._types import Lease


class LeaseStore(StoreBase):
    """The leases of :class:`bot.store.Store`."""

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``: ``True`` when ``holder`` holds it
        now (it was free, expired, or already ``holder``'s), ``False`` when another holder's lease is still
        running. Atomic across processes: a conditional UPDATE, else an INSERT that the primary key lets only
        one process win."""
        if ttl <= timedelta(0):
            raise ValueError(f"lease ttl must be positive, got {ttl}")
        expires = now + ttl
        with self._sessions() as session, session.begin():
            renewed = session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder)
                .values(renewed_at=now, expires_at=expires)
            )
            if rowcount(renewed):
                return True
            taken = session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.expires_at <= now)
                .values(holder=holder, acquired_at=now, renewed_at=now, expires_at=expires)
            )
            if rowcount(taken):
                return True
        try:
            with self._sessions() as session, session.begin():
                session.add(LeaseRow(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires))
        except IntegrityError:  # someone holds it (or won the race to insert it)
            return False
        return True

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` holds it (so another process can take over at once); whether it did."""
        with self._sessions() as session, session.begin():
            result = session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
            return bool(rowcount(result))

    def get_lease(self, name: str) -> Lease | None:
        """The lease ``name`` as stored (it may have expired: compare ``expires_at`` with the time), or ``None``."""
        with self._reads() as session:
            row = session.get(LeaseRow, name)
            return from_row(Lease, row) if row is not None else None
