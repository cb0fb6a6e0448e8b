"""Subscriptions: a channel's digest of one topic, on a schedule, with its sources; pausing and resuming."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store._base import StoreBase
from bot.store._convert import from_row
from bot.store._models import DigestMessageRow, DigestSlotRow, PostedStoryRow, SubscriptionRow
from bot.store._types import Subscription


class SubscriptionStore(StoreBase):
    """The subscriptions of :class:`bot.store.Store`."""

    def add_subscription(
        self,
        platform: str,
        channel: str,
        topic: str,
        *,
        schedule: str,
        tz: str,
        now: datetime,
        by: str | None = None,
        sources: Sequence[str] = (),
        team: str | None = None,
        template: str | None = None,
        mode: str = "digest",
    ) -> Subscription:
        """Subscribe a channel to a topic (``schedule``, ``tz`` and ``sources``, feed ids and ``tag:NAME``, already
        validated by the caller; no ``sources``: the whole archive). ``team``: the Slack workspace of the channel
        (OAuth installs). ``template``: the message template's name (validated by the caller; ``None``: full);
        ``mode``: "digest" or "items".

        The same platform, channel and topic twice raises ``ValueError`` naming the existing subscription.
        """
        platform, channel, topic = platform.strip(), channel.strip(), topic.strip()
        if not platform or not channel or not topic:
            raise ValueError("a subscription needs a platform, a channel and a topic")

        def duplicate(existing: SubscriptionRow | None) -> ValueError:
            which = f" (id {existing.id}, {existing.schedule} {existing.tz})" if existing is not None else ""
            return ValueError(f"{platform} channel {channel} is already subscribed to {topic}{which}")

        def work(session: Session) -> Subscription:
            existing = session.scalar(
                select(SubscriptionRow).where(
                    SubscriptionRow.platform == platform,
                    SubscriptionRow.channel == channel,
                    SubscriptionRow.topic == topic,
                )
            )
            if existing is not None:
                raise duplicate(existing)
            row = SubscriptionRow(
                platform=platform,
                channel=channel,
                topic=topic,
                schedule=schedule,
                tz=tz,
                created_at=now,
                created_by=by,
                sources=list(sources) or None,
                team=team,
                template=template,
                mode=None if mode == "digest" else mode,
            )
            session.add(row)
            session.flush()
            return from_row(Subscription, row)

        try:
            return self._run(work, retries=0)
        except IntegrityError:  # a concurrent writer added the same subscription first
            raise duplicate(None) from None

    def get_subscription(self, sub_id: int) -> Subscription | None:
        """The subscription with this id, or ``None``."""
        with self._reads() as session:
            row = session.get(SubscriptionRow, sub_id)
            return from_row(Subscription, row) if row else None

    def list_subscriptions(self, *, platform: str | None = None, channel: str | None = None) -> list[Subscription]:
        """Subscriptions (optionally of one platform and/or channel), by id."""
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.id)
        if platform is not None:
            stmt = stmt.where(SubscriptionRow.platform == platform)
        if channel is not None:
            stmt = stmt.where(SubscriptionRow.channel == channel)
        with self._reads() as session:
            return [from_row(Subscription, r) for r in session.scalars(stmt)]

    def remove_subscription(self, sub_id: int) -> bool:
        """Remove a subscription with its slot claims, digest messages and posted-story records; ``False`` when
        there is none."""

        def work(session: Session) -> bool:
            row = session.get(SubscriptionRow, sub_id)
            if row is None:
                return False
            session.execute(delete(DigestMessageRow).where(DigestMessageRow.subscription_id == sub_id))
            session.execute(delete(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id))
            session.execute(delete(PostedStoryRow).where(PostedStoryRow.subscription_id == sub_id))
            session.delete(row)
            return True

        return self._run(work)

    def _change_subscription(self, sub_id: int, **fields: Any) -> Subscription:
        """Set columns of one subscription (``KeyError`` when there is no such subscription)."""

        def work(session: Session) -> Subscription:
            row = session.get(SubscriptionRow, sub_id)
            if row is None:
                raise KeyError(f"no subscription {sub_id!r}")
            for name, value in fields.items():
                setattr(row, name, value)
            session.flush()
            return from_row(Subscription, row)

        return self._run(work)

    def update_subscription_schedule(
        self, sub_id: int, *, schedule: str, tz: str, sources: Sequence[str] | None = None
    ) -> Subscription:
        """Change a subscription's schedule and time zone, and its sources unless ``sources`` is ``None`` (``()``:
        the whole archive); ``KeyError`` when there is no such subscription."""
        if sources is None:
            return self._change_subscription(sub_id, schedule=schedule, tz=tz)
        return self._change_subscription(sub_id, schedule=schedule, tz=tz, sources=list(sources) or None)

    def update_subscription_options(self, sub_id: int, *, template: str | None, mode: str) -> Subscription:
        """Change a subscription's message template (``None``: full) and mode ("digest" or "items"); ``KeyError``
        when there is no such subscription."""
        if mode not in ("digest", "items"):
            raise ValueError(f"mode must be digest or items, got {mode!r}")
        return self._change_subscription(sub_id, template=template, mode=None if mode == "digest" else mode)

    def pause_subscription(self, sub_id: int, reason: str, now: datetime) -> Subscription:
        """Pause a subscription's digests, recording why (``KeyError`` when there is no such subscription)."""
        return self._change_subscription(sub_id, paused_at=now, paused_reason=reason)

    def pause_team_subscriptions(self, platform: str, team: str, reason: str, now: datetime) -> list[Subscription]:
        """Pause every running subscription of one workspace (``team``) of ``platform``, recording why (e.g. the
        app was uninstalled there); returns those it paused."""

        def work(session: Session) -> list[Subscription]:
            rows = list(
                session.scalars(
                    select(SubscriptionRow)
                    .where(
                        SubscriptionRow.platform == platform,
                        SubscriptionRow.team == team,
                        SubscriptionRow.paused_at.is_(None),
                    )
                    .order_by(SubscriptionRow.id)
                )
            )
            for row in rows:
                row.paused_at, row.paused_reason = now, reason
            session.flush()
            return [from_row(Subscription, row) for row in rows]

        return self._run(work)

    def resume_subscription(self, sub_id: int) -> Subscription:
        """Resume a paused subscription (``KeyError`` when there is no such subscription)."""
        return self._change_subscription(sub_id, paused_at=None, paused_reason=None)
