"""What every chat adapter offers the runner (:class:`ChatAdapter`), and the parts Slack and Discord share
(:class:`ChatAdapterBase`: the constructor's common settings and :meth:`~ChatAdapterBase.post_parts`, the loop
posting a digest split into several messages; :class:`Pacer`, spacing posts to one channel)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.briefing import Briefing
from bot.commands import RateLimiter
from bot.config import Settings
from bot.digests import PartPosted
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["PART_RETRY_DELAYS_S", "ChatAdapter", "ChatAdapterBase", "Pacer", "Sleep"]

log = logging.getLogger("newsbrief.adapters")

M = TypeVar("M")

Sleep = Callable[[float], Awaitable[None]]
"""How an adapter waits (``asyncio.sleep``; tests inject one that only records the waits)."""

PART_RETRY_DELAYS_S = (2.0, 5.0)
"""The waits before trying a later part of a split digest again when posting it was interrupted: the parts
before it are in the channel already, so the rest is completed in place rather than left to recovery, which
finds the first part and counts the digest as posted."""


class ChatAdapter(Protocol):
    """What the runner (``newsbrief run``, ``newsbrief digest``) needs from a chat adapter, the console's
    included: connect and disconnect, the HTTP routes it serves (none for most), and the digest channel of the
    scheduler (:class:`bot.digests.DigestChannel`; Slack and Discord also take ``on_part``:
    :class:`bot.digests.ReportsParts`)."""

    platform: str
    """The platform's name, as subscriptions store it (``"slack"``, ``"discord"``, ``"console"``)."""

    async def start(self) -> None:
        """Connect (and whatever else must happen before the first command or digest)."""
        ...

    def routes(self) -> list[web.RouteDef]:
        """Routes to mount on the ``[http] listen`` server (empty when the platform needs none)."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...

    async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
        """Post a digest; returns the reference of its (first) message."""
        ...

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """The reference of the digest tagged ``ref`` posted since ``since``; ``None`` when it is not there."""
        ...


class Pacer:
    """At most one post per key (a channel) every ``interval`` seconds: :meth:`wait` sleeps out the rest of the
    interval since the key's last post. ``clock`` (monotonic seconds) and ``sleep`` are injected, so tests need not
    wait. Keys whose interval has passed are forgotten (the map holds only channels posted to within the
    interval)."""

    def __init__(
        self, interval: float, *, clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}

    def __len__(self) -> int:
        """How many keys are remembered (those posted to within the interval, at the last :meth:`wait`)."""
        return len(self._last)

    async def wait(self, key: str) -> None:
        """Wait until ``key`` may post again, then count this as its post."""
        now = self.clock()
        self._last = {k: t for k, t in self._last.items() if now - t < self.interval or k == key}
        last = self._last.get(key)
        if last is not None:
            wait = self.interval - (now - last)
            if wait > 0:
                await self.sleep(wait)
        self._last[key] = self.clock()


class ChatAdapterBase:
    """The constructor parts Slack and Discord share, and :meth:`post_parts`. ``store`` is handed to
    :func:`bot.commands.answer` only; ``clock`` is the time source; ``observe`` is told each command's name and
    how long answering took; ``feeds`` finds feeds for ``/brief feeds add``; ``part_retry_delays``: see
    :data:`PART_RETRY_DELAYS_S`; ``sleep`` waits them out."""

    platform: str
    reports_parts = True
    """:meth:`post_digest` reports each message as soon as the platform returned it
    (:class:`bot.digests.ReportsParts`)."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        limiter: RateLimiter,
        clock: Callable[[], datetime],
        observe: Callable[[str, float], None] | None = None,
        feeds: FeedFinder | None = None,
        part_retry_delays: Sequence[float] = PART_RETRY_DELAYS_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.observe = observe
        self.feeds = feeds  # for /brief feeds add (bot.commands.answer)
        self._part_retry_delays = tuple(part_retry_delays)
        self._sleep = sleep

    async def post_parts(
        self,
        ref: str,
        messages: Sequence[M],
        send: Callable[[int, M], Awaitable[str]],
        *,
        interrupted: Callable[[Exception], bool],
        look: Callable[[int], Awaitable[str | None]] | None = None,
        on_part: PartPosted | None = None,
        first_part: int = 1,
        first: str | None = None,
    ) -> str:
        """Post the messages of digest ``ref`` in order, numbered from ``first_part``, with ``send`` (part number,
        message; returns the message's reference); returns the first part's reference (``first`` when it was
        posted before). ``on_part`` is told each part as soon as it is there.

        Once the first part is in the channel, a later part whose sending fails with an exception ``interrupted``
        accepts is tried again in place after each of ``part_retry_delays``; before each new try ``look`` (when
        given) is asked whether the failed try got there after all (its reference, then it is not sent again).
        The last failure, a failure of the first part and any other exception propagate."""
        for part, message in enumerate(messages, first_part):
            delays = self._part_retry_delays if first is not None else ()
            posted: str | None = None
            for attempt in range(len(delays) + 1):
                if attempt:
                    await self._sleep(delays[attempt - 1])
                    if look is not None:
                        posted = await look(part)
                        if posted is not None:  # the interrupted attempt got there after all
                            break
                try:
                    posted = await send(part, message)
                    break
                except Exception as exc:
                    if attempt == len(delays) or not interrupted(exc):
                        raise
                    reason = getattr(exc, "reason", None) or exc.__class__.__name__
                    parts = first_part - 1 + len(messages)
                    log.warning("digest %s part %d of %d: %s; trying again", ref, part, parts, reason)
            assert posted is not None  # every path out of the loop without one raised
            if on_part is not None:
                await on_part(part, posted)
            first = first if first is not None else posted
        if first is None:
            raise ValueError(f"digest {ref}: no message to post")
        return first
