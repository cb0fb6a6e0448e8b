"""The items ledger: each item (article) posted to a channel in items mode, once, under all of its keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store._base import StoreBase, rowcount
from bot.store._models import PostedItemRow
from bot.store._types import PostedItem


class ItemStore(StoreBase):
    """The items ledger of :class:`bot.store.Store` (table ``posted_items``, migration 0012)."""

    def claim_item(
        self,
        platform: str,
        channel: str,
        keys: Sequence[str],
        *,
        article_id: str,
        subscription_id: int,
        by: str,
        now: datetime,
    ) -> bool:
        """Claim an item for a channel before posting it: ``True`` when this caller may post it, ``False`` when
        any of its ``keys`` (e.g. its URL, its title and outlet: at most 64 characters each) was claimed for the
        channel before, by any subscription or process. All keys are written in one transaction, and the primary
        key lets only one writer win a race."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            raise ValueError("an item needs at least one key")

        def work(session: Session) -> bool:
            taken = session.scalar(
                select(PostedItemRow.key).where(
                    PostedItemRow.platform == platform,
                    PostedItemRow.channel == channel,
                    PostedItemRow.key.in_(wanted),
                )
            )
            if taken is not None:
                return False
            for key in wanted:
                session.add(
                    PostedItemRow(
                        platform=platform,
                        channel=channel,
                        key=key,
                        article_id=article_id,
                        subscription_id=subscription_id,
                        claimed_at=now,
                        claimed_by=by,
                    )
                )
            session.flush()
            return True

        try:
            return self._run(work, retries=0)
        except IntegrityError:  # another writer claimed one of the keys first
            return False

    def finish_item(self, platform: str, channel: str, article_id: str, message_ref: str, now: datetime) -> None:
        """Record that a claimed item was posted (the platform's message reference)."""
        with self._sessions() as session, session.begin():
            session.execute(
                update(PostedItemRow)
                .where(
                    PostedItemRow.platform == platform,
                    PostedItemRow.channel == channel,
                    PostedItemRow.article_id == article_id,
                )
                .values(posted_at=now, message_ref=message_ref)
            )

    def release_item(self, platform: str, channel: str, article_id: str) -> bool:
        """Give up the claim of an item that was not posted (posting failed: a later round tries it again); whether
        there was a claim not yet recorded as posted."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                delete(PostedItemRow).where(
                    PostedItemRow.platform == platform,
                    PostedItemRow.channel == channel,
                    PostedItemRow.article_id == article_id,
                    PostedItemRow.posted_at.is_(None),
                )
            )
            return bool(rowcount(result))

    def posted_items(self, platform: str, channel: str) -> list[PostedItem]:
        """The items claimed for a channel (one per item, whatever its number of keys), oldest claim first."""
        stmt = (
            select(PostedItemRow)
            .where(PostedItemRow.platform == platform, PostedItemRow.channel == channel)
            .order_by(PostedItemRow.claimed_at, PostedItemRow.article_id, PostedItemRow.key)
        )
        with self._reads() as session:
            seen: dict[str, PostedItem] = {}
            for row in session.scalars(stmt):
                if row.article_id not in seen:
                    seen[row.article_id] = PostedItem(
                        platform=row.platform,
                        channel=row.channel,
                        article_id=row.article_id,
                        subscription_id=row.subscription_id,
                        claimed_at=row.claimed_at,
                        claimed_by=row.claimed_by,
                        posted_at=row.posted_at,
                        message_ref=row.message_ref,
                    )
            return list(seen.values())
