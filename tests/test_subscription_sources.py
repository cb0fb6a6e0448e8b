"""Subscriptions limited to chosen sources (``sources=3,7`` or ``sources=tag:world``): stored
with the subscription, shown by ``/brief list`` and ``subs list``, and honoured by digests in the store's search,
before ranking. ``/brief`` still searches the whole archive."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from bot.__main__ import main
from bot.briefing import Briefing, make_briefing
from bot.commands import RateLimiter, Reply, SubscribeCommand, UsageError, answer, parse_command
from bot.config import ConfigError, Settings, settings_from_mapping
from bot.digests import build_digest, parse_subscriptions, sync_config_subscriptions
from bot.store import DigestFilter, Feed, Store

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
TOPICS = {"ukraine": "ukraine OR kyiv"}


def report(store: Store, feed: Feed, n: int, story: str, *, hours_ago: float = 2) -> str:
    """An article about Kyiv carried by ``feed``, in ``story``."""
    when = NOW - timedelta(hours=hours_ago)
    stored, _ = store.upsert_article(
        url=f"https://{feed.name}.example/{story}/{n}",
        title=f"Kyiv talks, report {n}",
        outlet=f"{feed.name}.example",
        text=f"Negotiators met in Kyiv on Thursday, report {n} of {story}. The meeting lasted six hours.",
        summary={"sentences": [f"Negotiators met in Kyiv (report {n})."], "quotes": []},
        now=when,
        feed_id=feed.id,
    )
    store.assign_story(stored.id, story, when)
    return stored.id


@pytest.fixture
def feeds(store: Store) -> tuple[Feed, Feed, Feed]:
    wire = store.add_feed("https://wire.example/rss", name="wire", tags=("world",), now=NOW)
    blog = store.add_feed("https://blog.example/rss", name="blog", now=NOW)
    local = store.add_feed("https://local.example/rss", name="local", tags=("World", "city"), now=NOW)
    return wire, blog, local


def test_the_search_keeps_only_the_chosen_feeds_articles(store: Store, feeds: tuple[Feed, Feed, Feed]) -> None:
    wire, blog, local = feeds
    on_wire = report(store, wire, 1, "s-wire")
    on_blog = report(store, blog, 2, "s-blog")
    on_local = report(store, local, 3, "s-local")
    sub = store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW, sources=["1"])

    def found(feed_ids: frozenset[int] | None) -> set[str]:
        only = DigestFilter(sub.id, 2, feeds=feed_ids)
        return {a.id for a, _ in store.search("kyiv", limit=10, digest=only)}

    assert found(None) == {on_wire, on_blog, on_local}
    assert found(frozenset({wire.id})) == {on_wire}
    assert found(frozenset({wire.id, local.id})) == {on_wire, on_local}
    assert found(frozenset()) == set()  # a tag no feed carries any more: nothing, not everything
    # the same article met in a second feed is that feed's too
    text = "Negotiators met in Kyiv on Thursday, report 2 of s-blog. The meeting lasted six hours."
    store.upsert_article(
        url="https://blog.example/s-blog/2", title="Kyiv talks, report 2", now=NOW, feed_id=wire.id, text=text
    )
    assert found(frozenset({wire.id})) == {on_wire, on_blog}


def test_a_digest_draws_on_its_sources_before_ranking(store: Store, feeds: tuple[Feed, Feed, Feed]) -> None:
    wire, blog, local = feeds
    report(store, wire, 1, "s-old", hours_ago=20)
    for n in range(2, 6):  # the blog's story is bigger and newer: it would win the one place in the digest
        report(store, blog, n, "s-big", hours_ago=1)
    report(store, local, 6, "s-city", hours_ago=3)
    every = store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW)
    by_id = store.add_subscription("slack", "C2", "ukraine", schedule="hourly", tz="UTC", now=NOW, sources=["1"])
    by_tag = store.add_subscription(
        "slack", "C3", "ukraine", schedule="hourly", tz="UTC", now=NOW, sources=["tag:WORLD"]
    )

    def stories(sub_id: int, limit: int = 1) -> list[str | None]:
        sub = store.get_subscription(sub_id)
        assert sub is not None
        digest = build_digest(store, sub, topics=TOPICS, now=NOW, limit=limit)
        return [] if digest is None else [s.story_id for s in digest.stories]

    assert stories(every.id) == ["s-big"]
    assert stories(by_id.id) == ["s-old"]
    assert stories(by_tag.id, limit=5) == ["s-city", "s-old"]
    brief = make_briefing(store, "ukraine", topics=TOPICS, now=NOW)  # /brief: the whole archive
    assert isinstance(brief, Briefing) and {s.story_id for s in brief.stories} == {"s-big", "s-old", "s-city"}


def test_migration_adds_and_drops_the_column(store: Store) -> None:
    store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW, sources=["tag:world"])
    config = store._alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    (sub,) = store.list_subscriptions()
    assert sub.sources == ()  # dropped with the column: the whole archive again


# ---------------------------------------------------------------------------------------------- chat


SETTINGS = Settings(topics=TOPICS)


def manage(store: Store, text: str) -> Reply:
    return answer(
        parse_command(text),
        store=store,
        settings=SETTINGS,
        user="U1",
        channel="C1",
        now=NOW,
        limiter=RateLimiter(),
        platform="slack",
        is_manager=True,
    )


def test_parse_sources() -> None:
    assert parse_command("/brief subscribe ukraine sources=3,#7") == SubscribeCommand("ukraine", sources=("3", "7"))
    parsed = parse_command("/brief subscribe ukraine hourly sources=tag:World,3,3 tz=Europe/Berlin")
    assert isinstance(parsed, SubscribeCommand)
    assert (parsed.sources, parsed.tz, parsed.schedule and parsed.schedule.text) == (
        ("tag:World", "3"),
        "Europe/Berlin",
        "hourly",
    )
    for text, problem in [
        ("/brief subscribe ukraine sources=", "'' is neither a feed id"),
        ("/brief subscribe ukraine sources=bbc", "'bbc' is neither a feed id (see /brief feeds) nor tag:NAME"),
        ("/brief subscribe ukraine sources=0", "'0' is neither"),
        ("/brief subscribe ukraine sources=tag:", "'tag:' is neither"),
        ("/brief subscribe ukraine sources=1 sources=2", "sources= given twice"),
        ("/brief subscribe sources=1", "subscribe needs a topic before sources="),
    ]:
        with pytest.raises(UsageError, match=re.escape(problem)):
            parse_command(text)


def test_subscribe_with_sources_in_chat(store: Store, feeds: tuple[Feed, Feed, Feed]) -> None:
    reply = manage(store, "/brief subscribe ukraine daily 07:00 sources=2,tag:city")
    assert reply.kind == "text", reply.text
    assert reply.text.startswith("Subscribed this channel to ukraine: daily 07:00 (UTC), only from sources=2,tag:city")
    (sub,) = store.list_subscriptions()
    assert sub.sources == ("2", "tag:city")
    assert (
        manage(store, "/brief list").text.splitlines()[1]
        == f"  #{sub.id} ukraine: daily 07:00 (UTC); sources=2,tag:city"
    )
    store.remove_subscription(sub.id)
    for wrong in ("sources=9", "sources=tag:sport", "sources=1,9,tag:sport"):
        refused = manage(store, f"/brief subscribe ukraine {wrong}")
        assert refused.kind == "error" and "with those sources: no feed is" in refused.text
    assert (
        "no feed is 9, tag:sport (see /brief feeds"
        in manage(store, "/brief subscribe ukraine sources=1,9,tag:sport").text
    )
    assert store.list_subscriptions() == []


# ---------------------------------------------------------------------------------------------- config and CLI


def config_settings(*subs: dict[str, object]) -> Settings:
    return settings_from_mapping({"topics": TOPICS, "subscriptions": list(subs)}, path=Path("nb.toml"))


def test_config_sources_are_validated_and_synced(store: Store) -> None:
    entry = {"platform": "slack", "channel": "C1", "topic": "ukraine", "sources": [3, "tag:world"]}
    (parsed,) = parse_subscriptions(config_settings(entry))
    assert parsed.sources == ("3", "tag:world")
    (synced,) = sync_config_subscriptions(store, config_settings(entry), now=NOW)
    assert synced.sources == ("3", "tag:world")
    (changed,) = sync_config_subscriptions(store, config_settings({**entry, "sources": ["tag:city"]}), now=NOW)
    assert (changed.id, changed.sources) == (synced.id, ("tag:city",))
    (everything,) = sync_config_subscriptions(store, config_settings({**entry, "sources": None}), now=NOW)
    assert everything.sources == ()
    for bad, problem in [
        ("tag:world", 'subscriptions[0].sources: expected a list of feed ids and "tag:NAME"'),
        ([], "subscriptions[0].sources: expected a list"),
        ([True], "subscriptions[0].sources: expected a list"),
        (["bbc"], "subscriptions[0].sources: 'bbc' is neither a feed id"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(problem)):
            parse_subscriptions(config_settings({**entry, "sources": bad}))


def test_cli_subs_add_with_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n[topics]\nukraine = 'kyiv'\n"
        "[[feeds]]\nurl = 'https://wire.example/rss'\ntags = ['world']\n",
        encoding="utf-8",
    )
    base = ["--config", str(config), "subs"]
    assert main([*base, "add", "slack", "C1", "ukraine", "--sources", "tag:world"]) == 0
    assert "only from sources=tag:world" in capsys.readouterr().out
    assert main([*base, "add", "slack", "C2", "ukraine", "--sources", "5"]) == 1
    assert (
        "subs add: --sources: no feed is 5 (see `newsbrief feeds list` for the ids and tags)" in capsys.readouterr().err
    )
    assert main([*base, "add", "slack", "C2", "ukraine", "--sources", "world"]) == 2
    assert "subs add: --sources: 'world' is neither a feed id" in capsys.readouterr().err
    assert main([*base, "list", "--json"]) == 0
    assert [(s["channel"], s["sources"]) for s in json.loads(capsys.readouterr().out)] == [("C1", ["tag:world"])]
    assert main([*base, "list"]) == 0
    assert "tag:world" in capsys.readouterr().out
