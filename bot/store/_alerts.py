"""The live-alert ledger: each story posted once per channel by live subscriptions (:mod:`bot.alerts`), claimed
before posting, its message recorded, its edits coalesced across processes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store._base import StoreBase, rowcount
from bot.store._convert import from_row
from bot.store._models import LiveAlertRow, SubscriptionRow
from bot.store._types import LiveAlert, LiveAlertState

_FINISHED: frozenset[str] = frozenset({"posted", "summarized"})


def _key(platform: str, channel: str, story_id: str) -> tuple[str, str, str]:
    return (platform, channel, story_id)


class AlertStore(StoreBase):
    """The live-alert ledger of :class:`bot.store.Store`."""

    def claim_alert(
        self,
        sub_id: int,
        platform: str,
        channel: str,
        story_id: str,
        *,
        marker: str,
        by: str,
        now: datetime,
        thread_ref: str | None = None,
        article_count: int = 0,
        outlets: int = 0,
    ) -> bool:
        """Claim a story for a channel before posting it: ``True`` only for the first claimer, in this or any other
        process on the same database (the (platform, channel, story) key decides), committed at once, with the
        ``marker`` its message will carry and the message it will reply to (``thread_ref``), so that a recovery
        knows where to look, and the article and outlet counts the message shows, which a recovery that finds
        it records. ``KeyError`` when there is no such subscription."""
        with self._reads() as session:
            if session.get(SubscriptionRow, sub_id) is None:
                raise KeyError(f"no subscription {sub_id!r}")
        try:
            with self._sessions() as session, session.begin():
                session.add(
                    LiveAlertRow(
                        platform=platform,
                        channel=channel,
                        story_id=story_id,
                        subscription_id=sub_id,
                        state="claimed",
                        marker=marker,
                        claimed_at=now,
                        claimed_by=by,
                        thread_ref=thread_ref,
                        article_count=article_count,
                        outlets=outlets,
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish_alert(
        self,
        platform: str,
        channel: str,
        story_id: str,
        *,
        state: LiveAlertState,
        message_ref: str,
        now: datetime,
        article_count: int = 0,
        outlets: int = 0,
        thread_ref: str | None = None,
    ) -> LiveAlert:
        """Record that a claimed story is on the platform: "posted" as its own message, or "summarized" in an
        overflow summary (``message_ref`` the summary's). ``KeyError`` when it was never claimed; ``ValueError``
        for another state."""
        if state not in _FINISHED:
            raise ValueError(f"finish_alert: state must be posted or summarized, got {state!r}")

        def work(session: Session) -> LiveAlert:
            row = self._alert_row(session, platform, channel, story_id)
            row.state, row.message_ref, row.posted_at, row.thread_ref = state, message_ref, now, thread_ref
            row.article_count, row.outlets = article_count, outlets
            session.flush()
            return from_row(LiveAlert, row)

        return self._run(work)

    @staticmethod
    def _alert_row(session: Session, platform: str, channel: str, story_id: str) -> LiveAlertRow:
        row = session.get(LiveAlertRow, _key(platform, channel, story_id))
        if row is None:
            raise KeyError(f"{platform} {channel}: story {story_id} was never claimed")
        return row

    def release_alert(self, alert: LiveAlert) -> bool:
        """Give a claim up (its story was not posted: it may be claimed again), unless it changed meanwhile
        (finished, or taken over): ``True`` when it was released."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                delete(LiveAlertRow).where(
                    LiveAlertRow.platform == alert.platform,
                    LiveAlertRow.channel == alert.channel,
                    LiveAlertRow.story_id == alert.story_id,
                    LiveAlertRow.state == "claimed",
                    LiveAlertRow.claimed_by == alert.claimed_by,
                    LiveAlertRow.claimed_at == alert.claimed_at,
                )
            )
            return bool(rowcount(result))

    def get_alert(self, platform: str, channel: str, story_id: str) -> LiveAlert | None:
        """The ledger's row of one story in one channel, or ``None``."""
        with self._reads() as session:
            row = session.get(LiveAlertRow, _key(platform, channel, story_id))
            return from_row(LiveAlert, row) if row is not None else None

    def alerts_of(
        self,
        platform: str,
        channel: str,
        story_ids: Iterable[str] | None = None,
        *,
        posted_since: datetime | None = None,
    ) -> dict[str, LiveAlert]:
        """The ledger's rows of a channel (only these stories, when given; only the stories posted on their own at
        or after ``posted_since``, when given): story id -> alert."""
        stmt = select(LiveAlertRow).where(LiveAlertRow.platform == platform, LiveAlertRow.channel == channel)
        if posted_since is not None:
            stmt = stmt.where(LiveAlertRow.state == "posted", LiveAlertRow.posted_at >= posted_since)
        if story_ids is not None:
            ids = sorted(set(story_ids))
            if not ids:
                return {}
            stmt = stmt.where(LiveAlertRow.story_id.in_(ids))
        with self._reads() as session:
            return {row.story_id: from_row(LiveAlert, row) for row in session.scalars(stmt)}

    def alert_messages_since(self, platform: str, channel: str, since: datetime) -> tuple[int, int]:
        """How many messages live alerts put in a channel since ``since``: (stories posted on their own, overflow
        summaries)."""
        with self._reads() as session:
            posted = session.scalar(
                select(func.count()).where(
                    LiveAlertRow.platform == platform,
                    LiveAlertRow.channel == channel,
                    LiveAlertRow.state == "posted",
                    LiveAlertRow.posted_at >= since,
                )
            )
            summaries = session.scalar(
                select(func.count(func.distinct(LiveAlertRow.message_ref))).where(
                    LiveAlertRow.platform == platform,
                    LiveAlertRow.channel == channel,
                    LiveAlertRow.state == "summarized",
                    LiveAlertRow.posted_at >= since,
                )
            )
        return int(posted or 0), int(summaries or 0)

    def in_flight_alerts(self, *, claimed_before: datetime) -> list[LiveAlert]:
        """Claims not finished, made before ``claimed_before`` (their poster died, or is very slow), oldest first."""
        stmt = (
            select(LiveAlertRow)
            .where(LiveAlertRow.state == "claimed", LiveAlertRow.claimed_at < claimed_before)
            .order_by(LiveAlertRow.claimed_at, LiveAlertRow.story_id)
        )
        with self._reads() as session:
            return [from_row(LiveAlert, r) for r in session.scalars(stmt)]

    def reclaim_alert(self, alert: LiveAlert, *, by: str, now: datetime) -> bool:
        """Take an unfinished claim over from its (dead) claimer: ``True`` for exactly one of several processes."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                update(LiveAlertRow)
                .where(
                    LiveAlertRow.platform == alert.platform,
                    LiveAlertRow.channel == alert.channel,
                    LiveAlertRow.story_id == alert.story_id,
                    LiveAlertRow.state == "claimed",
                    LiveAlertRow.claimed_by == alert.claimed_by,
                    LiveAlertRow.claimed_at == alert.claimed_at,
                )
                .values(claimed_by=by, claimed_at=now)
            )
            return bool(rowcount(result))

    def claim_edit(self, platform: str, channel: str, story_id: str, *, now: datetime, last_before: datetime) -> bool:
        """Claim the next edit of a posted story's message: ``True`` for one claimer only, and only when the
        message was last posted or edited at or before ``last_before`` (edits are coalesced: one per story per
        period, whichever process makes it). The edit time is written at once."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                update(LiveAlertRow)
                .where(
                    LiveAlertRow.platform == platform,
                    LiveAlertRow.channel == channel,
                    LiveAlertRow.story_id == story_id,
                    LiveAlertRow.state == "posted",
                    or_(
                        LiveAlertRow.edited_at <= last_before,
                        and_(LiveAlertRow.edited_at.is_(None), LiveAlertRow.posted_at <= last_before),
                    ),
                )
                .values(edited_at=now)
            )
            return bool(rowcount(result))

    def record_edit(self, platform: str, channel: str, story_id: str, *, article_count: int, outlets: int) -> None:
        """Record what the edited message of a posted story shows now. ``KeyError`` when it was never claimed."""

        def work(session: Session) -> None:
            row = self._alert_row(session, platform, channel, story_id)
            row.article_count, row.outlets = article_count, outlets

        self._run(work)
