"""The chat command layer (bot/commands.py): grammar, rate limit, answers and the plain-text rendering."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing import COMPACT, Briefing, NoMatch
from bot.commands import (
    USAGE,
    BriefCommand,
    Command,
    HelpCommand,
    ListCommand,
    RateLimiter,
    Reply,
    Schedule,
    SourcesCommand,
    SubscribeCommand,
    TopicsCommand,
    UnsubscribeCommand,
    UsageError,
    answer,
    parse_command,
    parse_schedule,
    render_text,
)
from bot.config import Settings
from bot.store import Store

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
SETTINGS = Settings(topics={"ukraine": "ukraine OR kyiv", "floods": "flood OR dam"})

# ---------------------------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/brief ukraine", BriefCommand("ukraine")),
        ("ukraine", BriefCommand("ukraine")),
        ("  /BRIEF   climate   talks ", BriefCommand("climate talks")),
        ('/brief "central bank" -rates', BriefCommand('"central bank" -rates')),
        ("/brief kyiv OR zelensky", BriefCommand("kyiv OR zelensky")),
        ("/brief list", ListCommand()),
        ("/brief topics", TopicsCommand()),
        ("SOURCES", SourcesCommand()),
        ("/brief help", HelpCommand()),
        ("/brief sources of funding", BriefCommand("sources of funding")),  # a keyword only when alone
        ("/brief unsubscribe ukraine", UnsubscribeCommand("ukraine")),
        ("/brief subscribe ukraine", SubscribeCommand("ukraine")),
        ("/briefing", BriefCommand("/briefing")),  # not the prefix
    ],
)
def test_parse_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


def test_parse_subscribe_with_schedules_and_time_zone() -> None:
    cmd = parse_command("/brief subscribe ukraine daily 08:00 tz=Europe/Berlin")
    assert cmd == SubscribeCommand("ukraine", Schedule("daily", "0 8 * * *", "daily 08:00"), "Europe/Berlin")
    cmd = parse_command("subscribe floods weekdays 7:30")
    assert isinstance(cmd, SubscribeCommand)
    assert cmd.schedule == Schedule("weekdays", "30 7 * * mon-fri", "weekdays 07:30")
    assert cmd.tz is None
    cmd = parse_command("/brief subscribe floods tz=UTC hourly")
    assert cmd == SubscribeCommand("floods", Schedule("hourly", "0 * * * *", "hourly"), "UTC")
    cmd = parse_command('/brief subscribe floods "30 6 * * 1-5"')
    assert isinstance(cmd, SubscribeCommand)
    assert cmd.schedule == Schedule("cron", "30 6 * * 1-5", "30 6 * * 1-5")
    cmd = parse_command("/brief subscribe floods “daily 09:15”")  # quotes a chat client curled
    assert isinstance(cmd, SubscribeCommand)
    assert cmd.schedule is not None and cmd.schedule.cron == "15 9 * * *"


@pytest.mark.parametrize(
    "cron",
    ["*/15 * * * *", "0 8 * * mon-fri", "0 0 1 jan,jul *", "5,35 9-17/2 * * 0", "0 12 31 12 7", "5/10 * * * *"],
)
def test_valid_cron_expressions(cron: str) -> None:
    assert parse_schedule(cron) == Schedule("cron", cron, cron)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "topic or some words"),
        ("/brief", "topic or some words"),
        ("   ", "topic or some words"),
        ("/brief subscribe", "needs a topic"),
        ("/brief subscribe tz=UTC", "topic before tz="),
        ("/brief unsubscribe", "exactly one topic"),
        ("/brief unsubscribe a b", "exactly one topic"),
        ("/brief subscribe ukraine daily", "needs one time"),
        ("/brief subscribe ukraine daily 24:00", "not a time of day"),
        ("/brief subscribe ukraine daily 08:60", "not a time of day"),
        ("/brief subscribe ukraine daily 8am", "expected a time"),
        ("/brief subscribe ukraine weekdays 25:00", "not a time of day"),
        ("/brief subscribe ukraine hourly 10:00", "hourly takes no time"),
        ("/brief subscribe ukraine fortnightly", "unknown schedule"),
        ("/brief subscribe ukraine 0 8 * *", "unknown schedule"),
        ("/brief subscribe ukraine 0 24 * * *", "hour: 24 is out of range"),
        ("/brief subscribe ukraine 60 8 * * *", "minute: 60 is out of range"),
        ("/brief subscribe ukraine 0 8 0 * *", "day of month: 0 is out of range"),
        ("/brief subscribe ukraine 0 8 * 13 *", "month: 13 is out of range"),
        ("/brief subscribe ukraine 0 8 * * 8", "day of week: 8 is out of range"),
        ("/brief subscribe ukraine 0 8 * * fri-mon", "runs backwards"),
        ("/brief subscribe ukraine */0 * * * *", "step"),
        ("/brief subscribe ukraine 0 x * * *", "not a number"),
        ("/brief subscribe ukraine daily 08:00 tz=Mars/Olympus", "unknown time zone"),
        ("/brief subscribe ukraine daily 08:00 tz=../../etc/passwd", "unknown time zone"),
        ("/brief subscribe ukraine tz=", "tz= needs a time zone"),
        ("/brief subscribe ukraine tz=UTC tz=UTC", "tz= given twice"),
    ],
)
def test_bad_usage_raises_with_the_usage_text(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(text)
    assert problem in str(caught.value)
    assert caught.value.usage == USAGE
    assert "/brief subscribe <topic>" in caught.value.reply_text()


# ---------------------------------------------------------------------------------------------- rate limit


def test_rate_limiter_sliding_window() -> None:
    limiter = RateLimiter(per_minute=3)
    for seconds in (0, 10, 20):
        assert limiter.acquire("ann", NOW + timedelta(seconds=seconds)) is None
    assert limiter.acquire("ann", NOW + timedelta(seconds=30)) == timedelta(seconds=30)
    assert limiter.acquire("bob", NOW + timedelta(seconds=30)) is None  # per user
    assert limiter.acquire("ann", NOW + timedelta(seconds=59)) == timedelta(seconds=1)
    assert limiter.acquire("ann", NOW + timedelta(seconds=60)) is None  # the first call left the window
    assert limiter.acquire("ann", NOW + timedelta(seconds=61)) == timedelta(seconds=9)
    assert limiter.acquire("ann", NOW + timedelta(seconds=200)) is None


def test_rate_limiter_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)


# ---------------------------------------------------------------------------------------------- answers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path}/newsbrief.db")
    s.upgrade()
    yield s
    s.close()


def ask(store: Store, text: str, *, limiter: RateLimiter | None = None, user: str = "U1", now: datetime = NOW) -> Reply:
    return answer(
        parse_command(text),
        store=store,
        settings=SETTINGS,
        user=user,
        channel="C1",
        now=now,
        limiter=limiter or RateLimiter(),
    )


def test_answer_brief(store: Store) -> None:
    store.upsert_article(
        url="https://wire.example/kyiv",
        title="Talks resume in Kyiv",
        outlet="wire.example",
        text="Negotiators met in Kyiv on Thursday. The meeting lasted six hours.",
        now=NOW - timedelta(hours=3),
        summary={
            "sentences": ["Negotiators met in Kyiv on Thursday.", "The meeting lasted six hours."],
            "quotes": [{"text": "We made progress", "speaker": "Olena Petrova"}],
        },
    )
    reply = ask(store, "/brief Ukraine")
    assert reply.kind == "briefing"
    assert not reply.ephemeral
    assert isinstance(reply.briefing, Briefing)
    assert reply.briefing.topic == "ukraine"
    assert reply.text == "Briefing on Ukraine: 1 story"
    text = render_text(reply)
    assert "Talks resume in Kyiv" in text
    assert "- Negotiators met in Kyiv on Thursday." in text
    assert "“We made progress” — Olena Petrova" in text
    assert "wire.example: https://wire.example/kyiv" in text


def test_answer_no_match_is_helpful_not_an_error(store: Store) -> None:
    reply = ask(store, "/brief ukrain")
    assert reply.kind == "briefing"
    assert reply.ephemeral
    assert isinstance(reply.briefing, NoMatch)
    text = render_text(reply)
    assert "Nothing found for “ukrain” in the last 72 h" in text
    assert "ukraine" in text


def test_brief_is_rate_limited_per_user(store: Store) -> None:
    limiter = RateLimiter(per_minute=2)
    assert ask(store, "ukraine", limiter=limiter).kind == "briefing"
    assert ask(store, "ukraine", limiter=limiter, now=NOW + timedelta(seconds=15)).kind == "briefing"
    limited = ask(store, "ukraine", limiter=limiter, now=NOW + timedelta(seconds=20))
    assert limited.kind == "error"
    assert limited.ephemeral
    assert limited.briefing is None
    assert "at most 2 a minute" in limited.text and "in 40 s" in limited.text
    assert render_text(limited) == limited.text
    assert ask(store, "ukraine", limiter=limiter, user="U2", now=NOW + timedelta(seconds=20)).kind == "briefing"
    assert ask(store, "topics", limiter=limiter, now=NOW + timedelta(seconds=20)).kind == "text"  # only /brief
    assert ask(store, "ukraine", limiter=limiter, now=NOW + timedelta(seconds=61)).kind == "briefing"


def test_answer_topics(store: Store) -> None:
    reply = ask(store, "/brief topics")
    assert reply.kind == "text"
    expected = ["Topics (/brief <topic>):", "  floods: flood OR dam", "  ukraine: ukraine OR kyiv"]
    assert reply.text.splitlines() == expected
    empty = answer(
        TopicsCommand(), store=store, settings=Settings(), user="U", channel="C", now=NOW, limiter=RateLimiter()
    )
    assert "No topics are configured" in empty.text


def test_answer_sources_with_their_state(store: Store) -> None:
    assert "No feeds yet" in ask(store, "sources").text
    ok = store.add_feed("https://ok.example/rss", name="OK News", now=NOW)
    store.record_poll_success(ok.id, etag=None, last_modified=None, now=NOW, next_poll_at=NOW)
    failing = store.add_feed("https://failing.example/rss", now=NOW)
    store.record_poll_failure(failing.id, kind="http", message="HTTP 503", now=NOW, next_poll_at=NOW)
    dead = store.add_feed("https://dead.example/rss", now=NOW)
    store.record_poll_failure(dead.id, kind="dns", message="no such host", now=NOW, next_poll_at=NOW, disable_after=1)
    store.add_feed("https://new.example/rss", now=NOW)
    lines = ask(store, "/brief sources").text.splitlines()
    assert lines[0] == "Sources (4 feeds):"
    assert lines[1].startswith("  OK News (https://ok.example/rss): ok; last polled 2024-05-10 12:00 UTC")
    assert "failing (1x, http): HTTP 503" in lines[2]
    assert "https://dead.example/rss: disabled: 1 consecutive failures" in lines[3]
    assert "not polled yet; last polled never" in lines[4]


def test_answer_help(store: Store) -> None:
    help_reply = ask(store, "help")
    assert help_reply.kind == "text"
    assert help_reply.text == USAGE


def manage(store: Store, text: str, *, channel: str = "C1", is_manager: bool = True) -> Reply:
    return answer(
        parse_command(text),
        store=store,
        settings=SETTINGS,
        user="U1",
        channel=channel,
        now=NOW,
        limiter=RateLimiter(),
        platform="slack",
        is_manager=is_manager,
    )


def test_subscribe_needs_manager_rights(store: Store) -> None:
    for text in ("/brief subscribe ukraine daily 08:00", "/brief unsubscribe ukraine"):
        reply = ask(store, text)  # is_manager defaults to False
        assert reply.kind == "error"
        assert reply.ephemeral
        assert "channel-manager rights" in reply.text
    assert store.list_subscriptions() == []


def test_subscribe_list_unsubscribe(store: Store) -> None:
    assert "No subscriptions in this channel" in manage(store, "/brief list", is_manager=False).text
    reply = manage(store, "/brief subscribe Ukraine weekdays 7:30 tz=Europe/Berlin")
    assert reply.kind == "text"
    assert "Subscribed this channel to ukraine: weekdays 07:30 (Europe/Berlin)" in reply.text
    (sub,) = store.list_subscriptions()
    assert (sub.platform, sub.channel, sub.topic, sub.schedule, sub.tz, sub.created_by) == (
        "slack",
        "C1",
        "ukraine",
        "weekdays 07:30",
        "Europe/Berlin",
        "U1",
    )
    floods = manage(store, "/brief subscribe floods").text
    assert floods.startswith("Subscribed this channel to floods: daily 08:00 (UTC)")
    again = manage(store, "/brief subscribe ukraine hourly")
    assert again.kind == "error" and "already subscribed to ukraine" in again.text
    unknown = manage(store, "/brief subscribe volcanoes")
    assert unknown.kind == "error" and "Unknown topic" in unknown.text and "floods, ukraine" in unknown.text
    listed = manage(store, "/brief list", is_manager=False).text.splitlines()
    assert listed == [
        "Subscriptions in this channel:",
        f"  #{sub.id} ukraine: weekdays 07:30 (Europe/Berlin)",
        f"  #{sub.id + 1} floods: daily 08:00 (UTC)",
    ]
    assert "No subscriptions" in manage(store, "/brief list", channel="C2").text
    assert "No subscriptions" in ask(store, "/brief list").text  # another platform (console), same channel name
    assert manage(store, "/brief unsubscribe UKRAINE").text == "Unsubscribed this channel from ukraine."
    missing = manage(store, "/brief unsubscribe ukraine")
    assert missing.kind == "error" and "not subscribed to ukraine" in missing.text
    assert [s.topic for s in store.list_subscriptions()] == ["floods"]


def test_an_overlong_command_is_a_usage_error_not_a_slow_answer() -> None:
    from bot.commands import MAX_COMMAND_CHARS

    with pytest.raises(UsageError, match="at most 1,000"):
        parse_command("/brief " + "kyiv " * MAX_COMMAND_CHARS)
    assert parse_command("/brief " + "k" * (MAX_COMMAND_CHARS - 1)).query == "k" * (MAX_COMMAND_CHARS - 1)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------- templates and items


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/brief subscribe ukraine template=Compact", SubscribeCommand("ukraine", template="compact")),
        ("/brief subscribe ukraine items", SubscribeCommand("ukraine", mode="items")),
        ("/brief subscribe ukraine mode=items", SubscribeCommand("ukraine", mode="items")),
        (
            "/brief subscribe ukraine mode=digest hourly",
            SubscribeCommand("ukraine", Schedule("hourly", "0 * * * *", "hourly")),
        ),
        (
            "/brief subscribe ukraine items sources=3,tag:status template=headlines",
            SubscribeCommand("ukraine", sources=("3", "tag:status"), template="headlines", mode="items"),
        ),
        (
            "/brief subscribe ukraine daily 08:00 template=terse tz=UTC",
            SubscribeCommand("ukraine", Schedule("daily", "0 8 * * *", "daily 08:00"), "UTC", template="terse"),
        ),
    ],
)
def test_parse_subscribe_with_template_and_items(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/brief subscribe ukraine items daily 08:00", "items posts each article as it comes: it takes no schedule"),
        ("/brief subscribe ukraine mode=stream", "mode=: expected items or digest"),
        ("/brief subscribe ukraine items mode=items", "given twice"),
        ("/brief subscribe ukraine template=a template=b", "template= given twice"),
        ("/brief subscribe ukraine template=", "template= needs a name"),
        ("/brief subscribe template=compact", "needs a topic before template="),
    ],
)
def test_parse_subscribe_template_and_items_errors(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_command(text)


def test_subscribe_with_template_and_items_is_stored_and_listed(store: Store) -> None:
    settings = Settings(topics=SETTINGS.topics, templates={"terse": replace(COMPACT, name="terse", sources=False)})

    def run(text: str) -> Reply:
        return answer(
            parse_command(text),
            store=store,
            settings=settings,
            user="U1",
            channel="C1",
            now=NOW,
            limiter=RateLimiter(),
            platform="slack",
            is_manager=True,
        )

    first = run("/brief subscribe ukraine weekdays 07:30 template=terse")
    assert first.kind == "text" and "weekdays 07:30 (UTC), template=terse" in first.text
    items = run("/brief subscribe floods items template=headlines")
    assert items.kind == "text"
    assert "floods: items, template=headlines" in items.text and "once" in items.text
    unknown = run("/brief subscribe floods template=fancy")
    assert unknown.kind == "error"
    assert unknown.text == "Unknown template 'fancy': use one of full, compact, headlines, terse."
    ukraine, floods = store.list_subscriptions()
    assert (ukraine.template, ukraine.mode, floods.template, floods.mode) == ("terse", "digest", "headlines", "items")
    assert run("/brief list").text.splitlines() == [
        "Subscriptions in this channel:",
        f"  #{ukraine.id} ukraine: weekdays 07:30 (UTC); template=terse",
        f"  #{floods.id} floods: items (each new article); template=headlines",
    ]
