"""The soak's end checks (bench/soak.py) do not pass on nothing: each has a floor taken from the run's plan.

The checks run against a soak whose bot never started (the peers up, the database made, no process spawned):
every check must fail. No bot process runs here, so this is fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOAK_PATH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


@pytest.fixture(scope="module")
def soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("newsbrief_soak", SOAK_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def idle(soak_module: ModuleType, tmp_path: Path, *, quick: bool) -> Iterator[Any]:
    """A soak whose peers and database are ready but whose bot never ran: it "ended" as it began."""
    args = argparse.Namespace(
        quick=quick, minutes=8.0, feeds=20, seed=soak_module.SEED, keep=False, verbose=False, distributed=False
    )
    soak = soak_module.Soak(args, tmp_path)
    try:
        soak.start_peers()
        soak.write_config()
        soak.end_at = time.time()
        yield soak
    finally:
        soak.close()


@pytest.fixture(params=["quick", "full"])
def idle_soak(request: pytest.FixtureRequest, soak_module: ModuleType, tmp_path: Path) -> Iterator[Any]:
    with idle(soak_module, tmp_path, quick=request.param == "quick") as soak:
        yield soak


def test_every_check_fails_when_the_bot_does_nothing(soak_module: ModuleType, idle_soak: Any) -> None:
    results = soak_module.Verifier(idle_soak).run()
    names = [c.name for c in results.checks]
    assert len(names) >= 17, names  # a check left out would pass unseen
    passed = [f"{c.name}: {c.detail}" for c in results.checks if c.ok]
    assert passed == []
    details = {c.name: c.detail for c in results.checks}
    assert "floor 3)" in details["no crash; clean SIGTERM exits"]
    assert "(floor" in details["every stored article has a story"]
    assert "(floor" in details["live alerts: each story posted once per channel"]
    assert "(floor" in details["live alerts: every edit applied to the recorded message, none lost"]


def test_one_post_ledger_kill_of_two_planned_fails(soak_module: ModuleType, tmp_path: Path) -> None:
    """The full plan kills once after a Slack post and once after a Discord post: one of them is not enough."""
    kinds = ["uniform", "post:slack", "uniform", "uniform", "boundary", "uniform"]
    with idle(soak_module, tmp_path, quick=False) as soak:
        for n, kind in enumerate(kinds):
            ref = "sub:4:2025-06-01T12:01Z" if kind == "post:slack" else None
            soak.kills.append(soak_module.KillRecord(float(n), f"bot{n + 1}", kind, ref=ref, in_flight_after=True))
        checks = {c.name: c for c in soak_module.Verifier(soak).run().checks}
    assert not checks["kills"].ok
    assert "floor: slack, discord" in checks["kills"].detail
    assert not checks["post/ledger kills recovered"].ok
    assert "no discord post/ledger kill" in checks["post/ledger kills recovered"].detail


def test_live_alert_checks_catch_doubles_orphans_lost_edits_and_unrecovered_kills(
    soak_module: ModuleType, tmp_path: Path
) -> None:
    """A story's alert twice in a channel, a message no ledger row records, a ledger row whose message is not there,
    a message showing other outlets than the ledger's last edit, an alert kill whose claim was not in flight."""
    from datetime import UTC, datetime

    from bot.store import Store

    channel = soak_module.LIVE_SLACK_CHANNELS[0]
    metadata = {"event_type": "newsbrief_live", "event_payload": {"ref": "live:s_twice"}}
    with idle(soak_module, tmp_path, quick=True) as soak:
        for _ in range(2):
            soak.slack.seed_message(channel, "rail: live", metadata=metadata)
        shown = soak.slack.seed_message(
            channel,
            "rail: live",
            metadata={"event_type": "newsbrief_live", "event_payload": {"ref": "live:s_edited"}},
            blocks=[{"type": "context", "elements": [{"type": "mrkdwn", "text": "2 outlets: a, b"}]}],
        )
        now = datetime.now(UTC)
        with Store(soak.db_url) as store:
            sub = next(s for s in store.list_subscriptions() if s.channel == channel)
            for story, ref, outlets in (
                ("s_gone", "slack:C0LIVE1:1.000001", 1),
                ("s_edited", f"slack:{channel}:{shown}", 3),
            ):
                assert store.claim_alert(sub.id, "slack", channel, story, marker=f"live:{story}", by="t", now=now)
                store.finish_alert("slack", channel, story, state="posted", message_ref=ref, now=now, outlets=outlets)
        soak.kills.append(
            soak_module.KillRecord(
                1.0, "bot1", "alert:slack", ref="live:s_lost", in_flight_after=False, channel=channel, key="9.9"
            )
        )
        checks = {c.name: c for c in soak_module.Verifier(soak).run().checks}
    once = checks["live alerts: each story posted once per channel"]
    assert not once.ok and f"slack {channel}: live:s_twice x2" in once.detail
    there = checks["live alerts: every ledger row's message is on the platform"]
    assert not there.ok and "slack:C0LIVE1:1.000001 (posted s_gone): not on slack" in there.detail
    edits = checks["live alerts: every edit applied to the recorded message, none lost"]
    assert not edits.ok and "(s_edited): shows 2 outlets, the ledger 3" in edits.detail
    orphans = checks["live alerts: no message without a ledger row"]
    assert not orphans.ok and "(live:s_twice): no ledger row records it" in orphans.detail
    kills = checks["alert post/ledger kills recovered"]
    assert not kills.ok and "slack live:s_lost: in flight after the kill: False; at the end no claim" in kills.detail


def test_a_story_again_needs_new_articles_the_first_digest_did_not_have(
    soak_module: ModuleType, tmp_path: Path
) -> None:
    """An article first seen just before a slot but stored after that digest read its story (of an outlet the
    digest did not cite) counts towards the story's renewal; one the digest cited does not."""
    from datetime import UTC, datetime, timedelta

    from bot.store import Store

    slot1 = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)
    slot2 = slot1 + timedelta(minutes=1)
    ref1, ref2 = "sub:4:2026-06-01T12:01Z", "sub:4:2026-06-01T12:02Z"
    with idle(soak_module, tmp_path, quick=True) as soak, Store(soak.db_url) as store:

        def article(story: str, n: int, when: datetime, *, cited: bool) -> str:
            url = f"https://outlet{n}.example/news/{story}{n}"
            stored, _ = store.upsert_article(
                url=url, title=f"{story} {n}", outlet=f"outlet{n}.example", now=when, text=f"Report {n}."
            )
            store.assign_story(stored.id, story, when)
            if cited:
                store.cite(stored.id, ref1, now=slot1)
            return url

        stories: dict[str, list[str]] = {}
        for story, late_cited in (("s_late", False), ("s_shown", True)):
            stories[story] = [
                article(story, 1, slot1 - timedelta(minutes=5), cited=True),
                article(story, 2, slot1 - timedelta(seconds=1), cited=late_cited),  # its poll began before
                article(story, 3, slot1 + timedelta(seconds=20), cited=False),
            ]
        posts = [
            soak_module.Post("slack", "C0SOAK1", ref, "0", key, when.timestamp() + 1, list(stories.values()))
            for ref, key, when in ((ref1, "1.1", slot1), (ref2, "2.2", slot2))
        ]
        verifier = soak_module.Verifier(soak)
        verifier.check_stories(store, posts, store.list_subscriptions())
    [check] = [c for c in verifier.results.checks if c.name == "no story posted twice to a channel"]
    assert not check.ok
    assert "story s_shown in sub:4:2026-06-01T12:01Z and again in sub:4:2026-06-01T12:02Z with 1 new" in check.detail
    assert "s_late" not in check.detail


class _CutAt(random.Random):
    """The feed server's random source, steered: every roll a malformed (cut) document, cut at ``fraction``."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return 0.0

    def uniform(self, a: float, b: float) -> float:
        return self.fraction


def test_the_replay_reads_a_cut_document_as_the_bot_does(
    soak_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed document cut inside its newest item's text: the bot reads that item's headline from it (no
    text), so the single-process replay, which the soak's stories are compared with, must read it too."""
    with idle(soak_module, tmp_path, quick=True) as soak:
        sim = soak.sim
        feed = next(f for f in sim.feeds if not f.atom)
        newest = feed.entries[-1]
        whole = sim._document(feed, churn=False, duplicate=False, now=time.time(), readable=False)
        at = whole.index(b"<description>", whole.index(b"<item>"))  # the newest item's text (newest first)
        monkeypatch.setattr(sim, "_fault", lambda: "malformed XML")
        monkeypatch.setattr(sim, "rng", _CutAt((at + 0.5) / len(whole)))
        reply = sim.respond(feed.id, None)
        assert reply.body == whole[:at] and sim.served == {}  # served whole, and no readable entry
        replay_url = f"sqlite:///{tmp_path / 'replay.db'}"
        with soak_module.Store(replay_url) as replay:
            replay.upgrade()
            statuses = asyncio.run(soak_module.replay_served(soak, replay))
            stored = replay.get_article(newest.link)
    assert statuses["documents"] == 1 and statuses["new"] == 1
    assert stored is not None and stored.title == newest.title and stored.text == ""
