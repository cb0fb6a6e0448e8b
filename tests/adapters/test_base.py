"""The parts every chat adapter shares: :class:`bot.adapters.Pacer` and :meth:`bot.adapters.ChatAdapterBase.post_parts`
(the loop posting a digest split into several messages), on an injected clock: nothing here really waits."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.adapters import ChatAdapterBase, Pacer
from bot.commands import RateLimiter
from bot.config import settings_from_mapping
from bot.store import Store
from testkit import chat_helpers
from testkit.chat_helpers import NOW, FakeTime


class Interrupted(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel:
    """A channel that fails the sends it is told to (``fail``: part -> how many times; ``lands``: the failed send
    got there all the same)."""

    def __init__(
        self, fail: dict[int, int] | None = None, *, lands: bool = False, error: type[Exception] = Interrupted
    ):
        self.fail = dict(fail or {})
        self.lands = lands
        self.error = error
        self.posted: dict[int, str] = {}
        self.sends: list[int] = []
        self.looks: list[int] = []
        self.reported: list[tuple[int, str]] = []

    async def send(self, part: int, message: str) -> str:
        self.sends.append(part)
        if self.fail.get(part, 0) > 0:
            self.fail[part] -= 1
            if self.lands:
                self.posted[part] = f"ref-{message}"
            raise self.error("HTTP 503")
        self.posted[part] = f"ref-{message}"
        return self.posted[part]

    async def look(self, part: int) -> str | None:
        self.looks.append(part)
        return self.posted.get(part)

    async def on_part(self, part: int, ref: str) -> None:
        self.reported.append((part, ref))


store = chat_helpers.store


def adapter(store: Store, time_: FakeTime, delays: Sequence[float] = (2.0, 5.0)) -> ChatAdapterBase:
    return ChatAdapterBase(
        settings=settings_from_mapping({}),
        store=store,
        limiter=RateLimiter(10),
        clock=lambda: NOW,
        part_retry_delays=delays,
        sleep=time_.sleep,
    )


async def post(base: ChatAdapterBase, channel: Channel, messages: Sequence[str], **kwargs: object) -> str:
    return await base.post_parts(
        "sub:1:s1",
        messages,
        channel.send,
        interrupted=lambda exc: isinstance(exc, Interrupted),
        look=channel.look,
        on_part=channel.on_part,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_parts_posted_in_order_each_reported_first_returned(store: Store) -> None:
    time_, channel = FakeTime(), Channel()
    first = await post(adapter(store, time_), channel, ["a", "b", "c"])
    assert first == "ref-a"
    assert channel.reported == [(1, "ref-a"), (2, "ref-b"), (3, "ref-c")]
    assert channel.sends == [1, 2, 3] and channel.looks == [] and time_.waits == []


async def test_a_later_part_interrupted_is_looked_for_then_sent_again_after_the_delays(store: Store) -> None:
    time_, channel = FakeTime(), Channel({2: 2})
    assert await post(adapter(store, time_), channel, ["a", "b"]) == "ref-a"
    assert channel.sends == [1, 2, 2, 2] and channel.looks == [2, 2]
    assert time_.waits == [2.0, 5.0]
    assert channel.reported == [(1, "ref-a"), (2, "ref-b")]


async def test_a_later_part_that_got_there_is_found_not_sent_again(store: Store) -> None:
    time_, channel = FakeTime(), Channel({2: 1}, lands=True)
    await post(adapter(store, time_), channel, ["a", "b", "c"])
    assert channel.sends == [1, 2, 3] and channel.looks == [2]
    assert channel.reported == [(1, "ref-a"), (2, "ref-b"), (3, "ref-c")]


async def test_the_last_failure_of_a_later_part_propagates(store: Store) -> None:
    time_, channel = FakeTime(), Channel({2: 3})
    with pytest.raises(Interrupted):
        await post(adapter(store, time_), channel, ["a", "b"])
    assert channel.sends == [1, 2, 2, 2] and channel.reported == [(1, "ref-a")]


async def test_the_first_part_and_other_errors_are_not_tried_again(store: Store) -> None:
    time_, channel = FakeTime(), Channel({1: 1})
    with pytest.raises(Interrupted):  # nothing is in the channel yet: recovery looks for it and posts it
        await post(adapter(store, time_), channel, ["a", "b"])
    assert channel.sends == [1] and time_.waits == []
    channel = Channel({2: 1}, error=ValueError)
    with pytest.raises(ValueError):
        await post(adapter(store, time_), channel, ["a", "b"])
    assert channel.sends == [1, 2] and time_.waits == []


async def test_parts_after_one_posted_before_continue_its_numbering(store: Store) -> None:
    """A forum post's opening message was posted by the adapter itself: the rest are parts 2, 3 ... and are tried
    again in place at once, since the digest is already in the channel."""
    time_, channel = FakeTime(), Channel({2: 1})
    first = await post(adapter(store, time_), channel, ["b", "c"], first_part=2, first="ref-head")
    assert first == "ref-head"
    assert channel.reported == [(2, "ref-b"), (3, "ref-c")] and time_.waits == [2.0]


async def test_nothing_to_post_is_an_error(store: Store) -> None:
    with pytest.raises(ValueError, match="no message"):
        await post(adapter(store, FakeTime()), Channel(), [])


async def test_the_pacer_spaces_posts_per_key_and_forgets_keys_past_the_interval() -> None:
    time_ = FakeTime()
    pacer = Pacer(1.0, clock=time_.clock, sleep=time_.sleep)
    await pacer.wait("C1")
    await pacer.wait("C2")
    assert time_.waits == []  # different channels do not wait for each other
    time_.now += 0.4
    await pacer.wait("C1")
    assert time_.waits == [pytest.approx(0.6)]
    assert len(pacer) == 2
    time_.now += 10.0
    await pacer.wait("C3")
    assert time_.waits == [pytest.approx(0.6)] and len(pacer) == 1  # C1 and C2 are long past: forgotten
