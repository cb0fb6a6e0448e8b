"""Feeds: adding, listing and removing them, and their polling and failure state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store._base import StoreBase
from bot.store._convert import from_row
from bot.store._models import FeedArticleRow, FeedRow
from bot.store._types import Feed, NewFeed


class FeedStore(StoreBase):
    """The feeds of :class:`bot.store.Store`."""

    def add_feed(
        self,
        url: str,
        *,
        name: str | None = None,
        interval_s: int = 900,
        tags: Iterable[str] = (),
        now: datetime,
    ) -> Feed:
        """Add a feed, due at once; a URL already added raises ``ValueError`` naming it and its id."""
        (feed,) = self.add_feeds([NewFeed(url, name=name, interval_s=interval_s, tags=tuple(tags))], now=now)
        return feed

    def add_feeds(self, feeds: Sequence[NewFeed], *, now: datetime) -> list[Feed]:
        """Add feeds, each due at once, all in one transaction: when one cannot be added (its URL is empty or
        already added, here or in ``feeds``, or its interval is not positive) ``ValueError`` names it and none is
        added."""
        seen: set[str] = set()
        for feed in feeds:
            url = feed.url.strip()
            if not url:
                raise ValueError("feed url is empty")
            if feed.interval_s <= 0:
                raise ValueError(f"feed {url}: interval must be positive, got {feed.interval_s} s")
            if url in seen:
                raise ValueError(f"feed {url} is given twice")
            seen.add(url)

        def work(session: Session) -> list[Feed]:
            rows: list[FeedRow] = []
            for feed in feeds:
                url = feed.url.strip()
                existing = session.scalar(select(FeedRow).where(FeedRow.url == url))
                if existing is not None:
                    raise ValueError(f"feed {url} is already added (id {existing.id})")
                row = FeedRow(
                    url=url,
                    name=feed.name,
                    interval_s=feed.interval_s,
                    tags=list(feed.tags),
                    consecutive_failures=0,
                    backfilled=False,
                    created_at=now,
                )
                session.add(row)
                rows.append(row)
            session.flush()
            return [from_row(Feed, row) for row in rows]

        try:
            return self._run(work, retries=0)
        except IntegrityError:  # a concurrent writer added one of them first
            which = f"feed {next(iter(seen))}" if len(seen) == 1 else f"one of these {len(seen)} feeds"
            raise ValueError(f"{which} is already added") from None

    @staticmethod
    def _feed_row(session: Session, id_or_url: int | str) -> FeedRow | None:
        if isinstance(id_or_url, int) or id_or_url.strip().isdigit():
            row = session.get(FeedRow, int(id_or_url))
            if row is not None or isinstance(id_or_url, int):
                return row
        return session.scalar(select(FeedRow).where(FeedRow.url == str(id_or_url).strip()))

    def _require_feed(self, session: Session, id_or_url: int | str) -> FeedRow:
        row = self._feed_row(session, id_or_url)
        if row is None:
            raise KeyError(f"no feed {id_or_url!r}")
        return row

    def get_feed(self, id_or_url: int | str) -> Feed | None:
        """The feed with this id or exact URL, or ``None``."""
        with self._reads() as session:
            row = self._feed_row(session, id_or_url)
            return from_row(Feed, row) if row else None

    def list_feeds(self) -> list[Feed]:
        """Every feed, by id."""
        with self._reads() as session:
            return [from_row(Feed, r) for r in session.scalars(select(FeedRow).order_by(FeedRow.id))]

    def remove_feed(self, id_or_url: int | str) -> bool:
        """Remove a feed and its links to articles (the articles stay); ``False`` when there is no such feed."""

        def work(session: Session) -> bool:
            row = self._feed_row(session, id_or_url)
            if row is None:
                return False
            session.execute(delete(FeedArticleRow).where(FeedArticleRow.feed_id == row.id))
            session.delete(row)
            return True

        return self._run(work)

    def due_feeds(self, now: datetime, *, all: bool = False) -> list[Feed]:
        """Enabled feeds whose next poll time has come (never polled counts as due); ``all`` ignores the time.

        Disabled feeds are never returned (see :meth:`enable_feed`). Most overdue first.
        """
        stmt = select(FeedRow).where(FeedRow.disabled_at.is_(None))
        if not all:
            stmt = stmt.where(or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now))
        stmt = stmt.order_by(FeedRow.next_poll_at.asc().nulls_first(), FeedRow.id)
        with self._reads() as session:
            return [from_row(Feed, r) for r in session.scalars(stmt)]

    def record_poll_success(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
        next_poll_at: datetime,
        error: str | None = None,
        error_kind: str = "parse",
    ) -> Feed:
        """Record a successful poll (a 304 counts): reset the failure count, keep the validators, mark backfilled.

        ``etag``/``last_modified`` replace the stored ones when given; ``None`` keeps the stored value (a 304
        often omits them). ``error`` records a non-fatal problem (a malformed feed whose other entries were
        stored) as the last error without counting a failure. A previous error stays on record for
        ``feeds list`` but no longer counts.
        """

        def work(session: Session) -> Feed:
            row = self._require_feed(session, feed_id)
            if etag is not None:
                row.etag = etag
            if last_modified is not None:
                row.last_modified = last_modified
            row.last_polled_at = now
            row.next_poll_at = next_poll_at
            row.consecutive_failures = 0
            row.backfilled = True
            if error:
                row.last_error_kind = error_kind[:64]
                row.last_error = error[:2000]
                row.last_error_at = now
            session.flush()
            return from_row(Feed, row)

        return self._run(work)

    def record_poll_failure(
        self,
        feed_id: int,
        *,
        kind: str,
        message: str,
        now: datetime,
        next_poll_at: datetime,
        disable_after: int = 10,
    ) -> bool:
        """Record a failed poll; disable the feed (with the reason) at ``disable_after`` consecutive failures.

        Returns whether the feed is disabled now.
        """

        def work(session: Session) -> bool:
            session.execute(
                update(FeedRow)
                .where(FeedRow.id == feed_id)
                .values(consecutive_failures=FeedRow.consecutive_failures + 1)
            )
            row = self._require_feed(session, feed_id)
            session.refresh(row)
            row.last_error_kind = kind[:64]
            row.last_error = message[:2000]
            row.last_error_at = now
            row.last_polled_at = now
            row.next_poll_at = next_poll_at
            if row.disabled_at is None and row.consecutive_failures >= disable_after > 0:
                row.disabled_at = now
                row.disabled_reason = f"{row.consecutive_failures} consecutive failures; last: {kind}: {message}"[:2000]
            return row.disabled_at is not None

        return self._run(work)

    def enable_feed(self, id_or_url: int | str) -> Feed:
        """Re-enable a disabled feed: clears the reason and the failure count, due at once."""

        def work(session: Session) -> Feed:
            row = self._require_feed(session, id_or_url)
            row.disabled_at = None
            row.disabled_reason = None
            row.consecutive_failures = 0
            row.next_poll_at = None
            session.flush()
            return from_row(Feed, row)

        return self._run(work)
