"""Tests of the console adapter (bot/adapters/console) and of ``newsbrief run`` on the demo config."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.__main__ import REPO_ROOT, main
from bot.adapters import ChatAdapter
from bot.adapters.console import ConsoleAdapter, console_replier, render_briefing, render_reply
from bot.briefing import Briefing, NoMatch, QuoteRef, SourceLink, StoryBrief
from bot.commands import RateLimiter, Reply
from bot.config import Settings, StoreConfig
from bot.store import Store

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
SEED = REPO_ROOT.parent / "shared" / "fixtures" / "seed-article.txt"

STORY = StoryBrief(
    headline="Kestrel Bay rail line to reopen after landslide repairs",
    sentences=("The coastal railway reopens on Saturday.", "Crews removed 40,000 tonnes of rock."),
    quote=QuoteRef(text="We have rebuilt this line to be safer", speaker="Maren Holt"),
    sources=(
        SourceLink("harbour-gazette", "https://gazette.example/rail", NOW - timedelta(hours=2)),
        SourceLink("valley-courier", "https://courier.example/rail", None),
    ),
    first_seen=NOW - timedelta(hours=3),
    story_id="s1",
)
BRIEFING = Briefing(query="rail", generated_at=NOW, stories=(STORY,), more=2, window_hours=72, topic="rail")


def rendered(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def flat(text: str) -> str:
    return " ".join(text.split())


def test_render_briefing_shows_headline_sentences_quote_and_sources() -> None:
    out = flat(rendered(render_briefing(BRIEFING)))

    assert "Briefing: rail (topic) — 1 story, last 72 h" in out
    assert "1. Kestrel Bay rail line to reopen after landslide repairs" in out
    assert "• The coastal railway reopens on Saturday." in out
    assert "• Crews removed 40,000 tonnes of rock." in out
    assert "“We have rebuilt this line to be safer” — Maren Holt" in out
    assert (
        "2 outlets: harbour-gazette <https://gazette.example/rail> (2025-03-04 10:00 UTC), "
        "valley-courier <https://courier.example/rail>"
    ) in out  # each article's link is printed, not only attached (terminals may hide hyperlinks)
    assert "first seen 2025-03-04 09:00 UTC" in out
    assert "…and 2 more stories." in out


def test_outlets_are_counted_one_outlet_says_so_and_unlisted_ones_are_counted() -> None:
    one = replace(STORY, sources=STORY.sources[:1], outlets=1)
    many = replace(STORY, outlets=7)
    out = flat(rendered(render_briefing(replace(BRIEFING, stories=(one, many)))))
    assert "1 outlet: harbour-gazette <https://gazette.example/rail> (2025-03-04 10:00 UTC) · first seen" in out
    assert (
        "7 outlets: harbour-gazette <https://gazette.example/rail> (2025-03-04 10:00 UTC), "
        "valley-courier <https://courier.example/rail>, and 5 more · first seen"
    ) in out
    bare = flat(rendered(render_briefing(replace(BRIEFING, stories=(replace(STORY, sources=()),)))))
    assert "outlet" not in bare and "first seen 2025-03-04 09:00 UTC" in bare


def test_a_follow_up_names_the_earlier_story() -> None:
    out = flat(rendered(render_briefing(replace(BRIEFING, stories=(replace(STORY, follows="Landslide shuts line"),)))))
    assert "1. Kestrel Bay rail line to reopen after landslide repairs Follow-up of: Landslide shuts line •" in out
    assert "Follow-up" not in flat(rendered(render_briefing(BRIEFING)))


def test_render_no_match_and_error_replies() -> None:
    out = flat(rendered(render_briefing(NoMatch(query="zebras", window_hours=72, suggestions=("rail",)))))
    assert "Nothing found for “zebras” in the last 72 h" in out
    assert "rail" in out
    assert "[boom]" in rendered(render_reply(Reply(kind="error", text="[boom]")))  # never parsed as markup


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'console.db'}")
    s.upgrade()
    yield s
    s.close()


def seeded(store: Store) -> Store:
    store.upsert_article(
        url="https://gazette.example/ukraine",
        title="Kremlin says Putin open to talks on Ukraine",
        text=(
            "The Kremlin said on Friday that President Vladimir Putin is open to talks on Ukraine. "
            '"We remain open to negotiations," Kremlin spokesman Dmitry Peskov told reporters in Moscow. '
            "Officials in Kyiv said they had seen no sign of a change in Russia's position."
        ),
        now=NOW - timedelta(hours=1),
    )
    return store


def run_adapter(store: Store, text: str) -> tuple[str, int]:
    settings = Settings(store=StoreConfig(url="sqlite://"), topics={"ukraine": "ukraine OR kyiv OR kremlin"})
    console = Console(file=io.StringIO(), width=100, color_system=None)
    reply = console_replier(store, settings, RateLimiter(10), now=lambda: NOW)
    answered = ConsoleAdapter(io.StringIO(text), console, reply, echo=True).run()
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out, answered


def test_adapter_loop_answers_until_quit(store: Store) -> None:
    out, answered = run_adapter(
        seeded(store), "/brief ukraine\n\n/brief help\nnonsense command here\n/brief\nquit\n/brief ukraine\n"
    )

    assert answered == 4  # the empty line is skipped; nothing after quit is read
    assert out.count("newsbrief> ") == 6
    assert "Briefing: ukraine (topic)" in out
    assert "Kremlin says Putin open to talks on Ukraine" in out
    assert "/brief unsubscribe <topic>" in out  # /brief help
    assert "Nothing found for “nonsense command here”" in out
    assert "what should the briefing be about?" in out  # bad usage: the problem, then the usage text
    assert out.count("/brief unsubscribe <topic>") == 2
    assert "Traceback" not in out


def test_adapter_stops_at_end_of_input_and_on_exit(store: Store) -> None:
    assert run_adapter(store, "/brief topics\n")[1] == 1
    assert run_adapter(store, "exit\n/brief topics\n")[1] == 0
    assert run_adapter(store, "")[1] == 0


def test_a_failing_reply_is_one_red_line_not_a_traceback() -> None:
    def broken(_text: str) -> Reply:
        raise RuntimeError("database is on fire")

    console = Console(file=io.StringIO(), width=100, color_system=None)
    ConsoleAdapter(io.StringIO("/brief ukraine\nquit\n"), console, broken).run()
    out = console.file.getvalue()  # type: ignore[attr-defined]

    assert "error: RuntimeError: database is on fire" in out
    assert "Traceback" not in out


async def test_the_console_is_a_chat_adapter_printing_digests(store: Store) -> None:
    """The runner drives the console like any chat adapter (:class:`bot.adapters.ChatAdapter`): nothing to
    connect or serve, digests printed in the terminal with a reference of their own, none found after a crash."""
    console = Console(file=io.StringIO(), width=100, color_system=None)
    adapter: ChatAdapter = ConsoleAdapter(io.StringIO(""), console, lambda _text: Reply(kind="help", text=""))
    sub = store.add_subscription("console", "console", "rail", schedule="hourly", tz="UTC", now=NOW, by="test")
    await adapter.start()
    assert adapter.platform == "console" and adapter.routes() == []
    assert await adapter.post_digest(sub, BRIEFING, "sub:1:s1") == "console:console:1"
    assert await adapter.post_digest(sub, BRIEFING, "sub:1:s2") == "console:console:2"
    assert await adapter.find_digest(sub, "sub:1:s1", NOW) is None
    await adapter.close()
    out = flat(console.file.getvalue())  # type: ignore[attr-defined]
    assert out.count("Kestrel Bay rail line to reopen") == 2


def test_newsbrief_run_on_the_demo_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make run, in process: poll the bundled file:// feeds, brief each topic, answer typed commands."""
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("/brief rail\n/brief ukraine\n"))

    assert main(["run", "--config", str(REPO_ROOT / "config" / "demo.toml")]) == 0

    out = flat(capsys.readouterr().out)
    assert (tmp_path / "var" / "demo.db").is_file()
    assert "Scheduler: this process leads (2 feed polls, 1 digest)." in out
    assert "Polled 2 feeds: 6 new, 0 updated, 0 unchanged articles." in out
    assert "Slack" not in out
    assert "Briefing: rail (topic) — 1 story" in out
    assert "Kestrel Bay rail line to reopen after landslide repairs" in out or "Trains return to Kestrel Bay" in out
    assert "Maren Holt" in out
    # one story, two outlets: the names the config gives the feeds (not folder slugs), each with its link
    assert "2 outlets: " in out and "The Harbour Gazette <file:///" in out and "The Valley Courier <file:///" in out
    assert "harbour-gazette <" not in out and "valley-courier <" not in out
    assert "Briefing: buses (topic) — 1 story" in out
    typed = out.split("newsbrief> /brief rail", 1)[1]
    assert "Briefing: rail (topic)" in typed
    if SEED.is_file():
        assert "Briefing: ukraine (topic) — 1 story" in typed
        assert "Dmitry Peskov" in typed
    else:
        assert "Nothing new on ukraine." in out


def test_demo_feeds_use_relative_file_urls() -> None:
    """The demo config names its feeds relative to itself; they resolve into absolute file:// URLs."""
    from bot.config import load_settings

    settings = load_settings(REPO_ROOT / "config" / "demo.toml")
    for feed in settings.feeds:
        assert feed.url.startswith("file:///")
        assert Path(feed.url.removeprefix("file://")).is_file()
