"""The digest ledger: claimed slots and their outcomes, planned and posted stories, and the messages of each
digest, which keep a digest from being posted twice or carrying a story again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store._base import StoreBase, rowcount
from bot.store._convert import slot_of
from bot.store._models import DigestMessageRow, DigestSlotRow, PostedStoryRow, SubscriptionRow
from bot.store._types import DigestSlot, SlotOutcome

_OUTCOMES: frozenset[str] = frozenset({"posted", "empty", "failed"})


class LedgerStore(StoreBase):
    """The digest ledger of :class:`bot.store.Store`."""

    def claim_slot(self, sub_id: int, slot: str, *, by: str, now: datetime) -> bool:
        """Claim a subscription's digest slot before posting: ``True`` only for the first claimer, in this or any
        other process on the same database (the unique (subscription, slot) key decides; a violation means
        another claimer has it). The claim is committed at once, in its own transaction, so a lost race never
        leaves a session in a failed state. ``KeyError`` when there is no such subscription."""
        with self._reads() as session:
            if session.get(SubscriptionRow, sub_id) is None:
                raise KeyError(f"no subscription {sub_id!r}")
        try:
            with self._sessions() as session, session.begin():
                session.add(DigestSlotRow(subscription_id=sub_id, slot=slot, claimed_at=now, claimed_by=by))
        except IntegrityError:
            return False
        return True

    def finish_slot(
        self, sub_id: int, slot: str, outcome: SlotOutcome, message_ref: str | None, now: datetime
    ) -> DigestSlot:
        """Record how a claimed slot ended ("posted" with the message's reference, "empty" or "failed").

        ``KeyError`` when the slot was never claimed; ``ValueError`` for an unknown outcome.
        """
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown digest outcome {outcome!r} (expected posted, empty or failed)")

        def work(session: Session) -> DigestSlot:
            row = self._claimed(session, sub_id, slot)
            row.outcome, row.message_ref, row.finished_at, row.note = outcome, message_ref, now, None
            session.flush()
            return slot_of(row)

        return self._run(work)

    def in_flight_slots(self, *, claimed_before: datetime) -> list[DigestSlot]:
        """Claims with no outcome yet, made before ``claimed_before``: digests whose poster died between claiming
        (or posting) and recording the outcome. Oldest first."""
        stmt = (
            select(DigestSlotRow)
            .where(DigestSlotRow.outcome.is_(None), DigestSlotRow.claimed_at < claimed_before)
            .order_by(DigestSlotRow.claimed_at, DigestSlotRow.id)
        )
        with self._reads() as session:
            return [slot_of(r) for r in session.scalars(stmt)]

    def reclaim_slot(self, claim: DigestSlot, *, by: str, now: datetime) -> bool:
        """Take an in-flight claim over from its (dead) claimer: ``True`` for exactly one of several processes
        trying at once, ``False`` when the claim changed meanwhile (finished, or taken over by another)."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                update(DigestSlotRow)
                .where(
                    DigestSlotRow.subscription_id == claim.subscription_id,
                    DigestSlotRow.slot == claim.slot,
                    DigestSlotRow.outcome.is_(None),
                    DigestSlotRow.claimed_by == claim.claimed_by,
                    DigestSlotRow.claimed_at == claim.claimed_at,
                )
                .values(claimed_by=by, claimed_at=now)
            )
            return bool(rowcount(result))

    def plan_slot(self, sub_id: int, slot: str, stories: Mapping[str, int]) -> None:
        """Write down the stories (key -> article count) a claimed slot's digest is about to post, before it is
        posted: they count as posted for the subscription's next digests until the outcome is recorded, and a
        process finishing the slot after a crash records these. ``KeyError`` when the slot was never claimed."""

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot).planned = {str(k): int(v) for k, v in stories.items()}

        self._run(work)

    @staticmethod
    def _claimed(session: Session, sub_id: int, slot: str) -> DigestSlotRow:
        row = session.scalar(
            select(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id, DigestSlotRow.slot == slot)
        )
        if row is None:
            raise KeyError(f"subscription {sub_id}: slot {slot} was never claimed")
        return row

    def note_slot(self, sub_id: int, slot: str, note: str | None) -> None:
        """Write down (``None``: clear) why a claim in flight could not be checked yet, e.g. "the bot cannot read
        the channel's history"; :meth:`finish_slot` clears it. ``KeyError`` when the slot was never claimed."""

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot).note = note

        self._run(work)

    def record_digest_message(self, sub_id: int, slot: str, part: int, message_ref: str, *, now: datetime) -> None:
        """Record that part ``part`` (from 1) of a slot's digest is on the platform as ``message_ref``, as soon as
        the platform said so (before the slot is finished). Recording a part again replaces its reference.
        ``KeyError`` when the slot was never claimed; ``ValueError`` for a part below 1."""
        if part < 1:
            raise ValueError(f"record_digest_message: part must be at least 1, got {part}")

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot)
            row = session.get(DigestMessageRow, (sub_id, slot, part))
            if row is None:
                session.add(
                    DigestMessageRow(
                        subscription_id=sub_id, slot=slot, part=part, message_ref=message_ref, posted_at=now
                    )
                )
            else:
                row.message_ref, row.posted_at = message_ref, now

        self._run(work)

    def digest_messages(self, sub_id: int, slot: str) -> dict[int, str]:
        """The recorded messages of a slot's digest: part -> the platform's reference, in part order."""
        stmt = (
            select(DigestMessageRow.part, DigestMessageRow.message_ref)
            .where(DigestMessageRow.subscription_id == sub_id, DigestMessageRow.slot == slot)
            .order_by(DigestMessageRow.part)
        )
        with self._reads() as session:
            return {int(part): str(ref) for part, ref in session.execute(stmt)}

    def planned_story_counts(self, sub_id: int, *, except_slot: str | None = None) -> dict[str, int]:
        """The stories planned by the subscription's digests still in flight (claimed, not finished), but the
        one of ``except_slot``."""
        stmt = select(DigestSlotRow.planned).where(
            DigestSlotRow.subscription_id == sub_id, DigestSlotRow.outcome.is_(None), DigestSlotRow.planned.is_not(None)
        )
        if except_slot is not None:
            stmt = stmt.where(DigestSlotRow.slot != except_slot)
        counts: dict[str, int] = {}
        with self._reads() as session:
            for (planned,) in session.execute(stmt):
                for key, count in (planned or {}).items():
                    counts[str(key)] = max(counts.get(str(key), 0), int(count))
        return counts

    def get_slot(self, sub_id: int, slot: str) -> DigestSlot | None:
        """A subscription's claim of one slot with its outcome, or ``None`` when unclaimed."""
        with self._reads() as session:
            row = session.scalar(
                select(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id, DigestSlotRow.slot == slot)
            )
            return slot_of(row) if row else None

    def list_slots(self, sub_id: int) -> list[DigestSlot]:
        """A subscription's claimed slots, oldest claim first."""
        stmt = (
            select(DigestSlotRow)
            .where(DigestSlotRow.subscription_id == sub_id)
            .order_by(DigestSlotRow.claimed_at, DigestSlotRow.id)
        )
        with self._reads() as session:
            return [slot_of(r) for r in session.scalars(stmt)]

    def record_posted(self, sub_id: int, story_ids_with_counts: Mapping[str, int], now: datetime) -> None:
        """Record that a digest of the subscription carried these stories, each with its article count at the
        time. A story posted before keeps the higher count: an older digest recorded late (finished after a crash)
        must not make a story look new again."""

        def work(session: Session) -> None:
            for story_id, count in sorted(story_ids_with_counts.items()):
                row = session.get(PostedStoryRow, (sub_id, story_id))
                if row is None:
                    session.add(
                        PostedStoryRow(
                            subscription_id=sub_id, story_id=story_id, posted_at=now, article_count_at_post=count
                        )
                    )
                elif count >= row.article_count_at_post:
                    row.posted_at, row.article_count_at_post = now, count

        self._run(work)

    def posted_story_times(self, sub_id: int, story_ids: Iterable[str]) -> dict[str, datetime]:
        """When a digest of the subscription last carried each of these stories (those it never carried are
        missing)."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        stmt = select(PostedStoryRow.story_id, PostedStoryRow.posted_at).where(
            PostedStoryRow.subscription_id == sub_id, PostedStoryRow.story_id.in_(ids)
        )
        with self._reads() as session:
            return {story_id: posted_at for story_id, posted_at in session.execute(stmt)}

    def posted_story_counts(self, sub_id: int) -> dict[str, int]:
        """The stories a subscription has carried, each with its article count when last posted."""
        stmt = select(PostedStoryRow.story_id, PostedStoryRow.article_count_at_post).where(
            PostedStoryRow.subscription_id == sub_id
        )
        with self._reads() as session:
            return {story_id: int(count) for story_id, count in session.execute(stmt)}
