"""Live story alerts on the console (bot/adapters/console): ``subscribe <topic> live`` typed at the prompt, an alert
printed, its edit printed as an "edited" line, a follow-up printed as a reply, and the alert found again in this
process (the console's crash check)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

from rich.console import Console

from bot.adapters.console import ConsoleAdapter, console_replier
from bot.alerts import LiveSettings, run_alerts
from bot.commands import RateLimiter
from bot.config import settings_from_mapping
from bot.store import Store

T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {"ukraine": "ukraine OR kyiv"}


def report(store: Store, n: int, story: str, when: datetime, *, follows: str | None = None, title: str = "") -> None:
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/{story}/{n}",
        title=title or "Talks resume in Kyiv",
        outlet=f"outlet{n}.example",
        now=when,
        text=f"Negotiators met in Kyiv (report {n}). The meeting lasted six hours.",
        summary={"sentences": [f"Negotiators met in Kyiv (report {n})."], "quotes": []},
    )
    store.assign_story(stored.id, story, when, follows=follows)


def test_live_subscription_typed_at_the_console_then_posted_edited_and_replied(store: Store) -> None:
    settings = settings_from_mapping({"topics": TOPICS})
    clock = [T0 - timedelta(hours=1)]
    out = io.StringIO()
    replier = console_replier(store, settings, RateLimiter(10), now=lambda: clock[0])
    adapter = ConsoleAdapter(io.StringIO(), Console(file=out, width=300), replier)
    adapter.handle("subscribe ukraine live quiet=01:00-05:00")
    adapter.handle("list")
    assert "live quiet=01:00-05:00 (UTC)" in out.getvalue()

    def at(now: datetime) -> list[str]:
        done = asyncio.run(
            run_alerts(store, {"console": adapter}, topics=TOPICS, now=now, by="p1", live=LiveSettings())
        )
        return done.posted + [f"edit {s}" for s in done.edited]

    report(store, 1, "s-talks", T0)
    assert at(T0 + timedelta(minutes=2)) == ["s-talks"]
    report(store, 2, "s-talks", T0 + timedelta(minutes=3))
    assert at(T0 + timedelta(minutes=8)) == ["edit s-talks"]
    report(store, 3, "s-deal", T0 + timedelta(minutes=9), follows="s-talks", title="Kyiv talks end in a deal")
    assert at(T0 + timedelta(minutes=12)) == ["s-deal"]
    lines = out.getvalue().splitlines()
    first = next(line for line in lines if "ukraine: live — Talks resume in Kyiv (1 outlet)" in line)
    assert first.startswith("[console] ")
    assert any(
        line.startswith("[console] edited console:console:1: ukraine: live") and "2 outlets" in line for line in lines
    )
    assert any("↳ reply to console:console:1: ukraine: follow-up — Kyiv talks end in a deal" in line for line in lines)
    found = asyncio.run(adapter.find_alert(store.list_subscriptions()[0], "live:s-talks", T0))
    assert found == "console:console:1"
    assert asyncio.run(adapter.find_alert(store.list_subscriptions()[0], "live:s-other", T0)) is None
