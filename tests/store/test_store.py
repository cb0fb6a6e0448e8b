"""The store, run on every backend: SQLite (a file in tmp_path) and PostgreSQL (a private schema per test)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from bot.ingest import IndexedAssignment, assign_missing_stories, load_story_index
from bot.store import (
    STORY_LOCK_KEY,
    Article,
    ArticleInput,
    Store,
    StoryAssignment,
    UpsertStatus,
    parse_query,
    summary_to_json,
)
from bot.store._query import to_fts5, to_tsquery_sql
from bot.stories import StoryIndex, signature, story_key_for
from summarizer import summarize
from tests.test_ingest import BARRIER, BARRIER_OTHER_OUTLET, BRIDGE

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

LONG_TEXT = (
    "The city council approved a new budget on Tuesday after a six-hour debate over funding for public transport, "
    "libraries and road repairs. The budget raises spending on buses by twelve percent and freezes property taxes "
    "for a second year, the mayor said at a press conference after the vote. Opposition members had proposed "
    "cuts to the parks department, which were rejected."
)


def add(
    store: Store,
    feed_id: int | None = None,
    *,
    url: str,
    title: str = "Title",
    text: str = LONG_TEXT,
    now: datetime = NOW,
    **kw: Any,
) -> tuple[Article, UpsertStatus]:
    """Upsert with defaults for the fields a test does not care about."""
    return store.upsert_article(url=url, title=title, text=text, now=now, feed_id=feed_id, **kw)


def own_story(article: Article) -> StoryAssignment:
    """A story-assignment callback: every article starts a story of its own."""
    return StoryAssignment(story_key_for(article.id))


# ---------------------------------------------------------------------------------------------- schema


def test_upgrade_is_idempotent_and_creates_tables(store: Store, store_url: str) -> None:
    store.upgrade()
    store.upgrade()
    assert store.current_revision() == store.head_revision() == "0016"
    engine = create_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "feeds",
        "articles",
        "feed_articles",
        "stories",
        "digest_citations",
        "subscriptions",
        "digest_slots",
        "posted_stories",
        "digest_messages",
        "posted_items",
        "alembic_version",
    } <= tables
    assert ({"procrastinate_jobs", "job_failures"} <= tables) == (store.dialect == "postgresql")  # the job queue
    assert store.integrity_check() == []


def test_processes_starting_together_on_a_new_database_upgrade_one_after_another(store_url: str) -> None:
    """Two bots started at once on an empty database: each runs the migrations; neither may fail on tables the
    other just created (SQLite runs DDL outside the transaction, so a lock file serializes it there)."""
    stores = [Store(store_url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def upgrade(s: Store) -> None:
        start.wait()
        try:
            s.upgrade()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert all(s.current_revision() == s.head_revision() for s in stores)
        assert stores[0].integrity_check() == []
    finally:
        for s in stores:
            s.close()


def test_sqlite_file_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "db.sqlite"
    with Store(f"sqlite:///{path}") as s:
        s.upgrade()
        assert path.exists()
        with s._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="only sqlite"):
        Store("mysql://localhost/x")


def test_integrity_check_reports_a_missing_migration(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path}/db.sqlite") as s:
        assert any("db upgrade" in p for p in s.integrity_check())


# ---------------------------------------------------------------------------------------------- feeds


def test_feed_crud_and_duplicate(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", name="Example", interval_s=600, tags=["world", "tech"], now=NOW)
    assert feed.id > 0 and feed.name == "Example" and feed.tags == ("world", "tech") and feed.enabled
    assert feed.created_at == NOW and not feed.backfilled
    with pytest.raises(ValueError, match=r"https://example.com/rss is already added \(id \d+\)"):
        store.add_feed("https://example.com/rss", now=NOW)
    assert store.get_feed(feed.id) == feed
    assert store.get_feed(str(feed.id)) == feed
    assert store.get_feed("https://example.com/rss") == feed
    assert store.get_feed(999) is None
    other = store.add_feed("https://other.example/atom", now=NOW)
    assert [f.id for f in store.list_feeds()] == [feed.id, other.id]
    assert store.remove_feed(feed.id) is True
    assert store.remove_feed(feed.id) is False
    assert [f.url for f in store.list_feeds()] == ["https://other.example/atom"]


def test_remove_feed_keeps_its_articles(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    article, _ = add(store, feed.id, url="https://example.com/a")
    store.remove_feed(feed.id)
    kept = store.get_article(article.id)
    assert kept is not None and kept.text == LONG_TEXT and kept.feeds == ()


def test_due_feeds(store: Store) -> None:
    a = store.add_feed("https://a.example/rss", now=NOW)
    b = store.add_feed("https://b.example/rss", now=NOW)
    c = store.add_feed("https://c.example/rss", now=NOW)
    assert [f.id for f in store.due_feeds(NOW)] == [a.id, b.id, c.id]  # never polled: due
    store.record_poll_success(
        a.id,
        etag='"v1"',
        last_modified="Wed, 01 May 2024 10:00:00 GMT",
        now=NOW,
        next_poll_at=NOW + timedelta(minutes=15),
    )
    store.record_poll_success(b.id, etag=None, last_modified=None, now=NOW, next_poll_at=NOW + timedelta(minutes=5))
    assert [f.id for f in store.due_feeds(NOW)] == [c.id]
    assert [f.id for f in store.due_feeds(NOW + timedelta(minutes=5))] == [c.id, b.id]
    assert [f.id for f in store.due_feeds(NOW + timedelta(minutes=15))] == [c.id, b.id, a.id]
    assert {f.id for f in store.due_feeds(NOW, all=True)} == {a.id, b.id, c.id}
    polled = store.get_feed(a.id)
    assert polled is not None and polled.etag == '"v1"' and polled.backfilled and polled.last_polled_at == NOW
    # A 304 without validators keeps the stored ones.
    store.record_poll_success(a.id, etag=None, last_modified=None, now=NOW, next_poll_at=NOW)
    again = store.get_feed(a.id)
    assert again is not None and again.etag == '"v1"' and again.last_modified == "Wed, 01 May 2024 10:00:00 GMT"


def test_failures_count_and_disable_with_reason(store: Store) -> None:
    feed = store.add_feed("https://broken.example/rss", now=NOW)
    for i in range(1, 3):
        assert not store.record_poll_failure(
            feed.id, kind="http", message="HTTP 500", now=NOW, next_poll_at=NOW + timedelta(minutes=i), disable_after=3
        )
    state = store.get_feed(feed.id)
    assert state is not None and state.consecutive_failures == 2 and state.last_error_kind == "http"
    assert state.last_error == "HTTP 500" and state.last_error_at == NOW and state.enabled
    # A success resets the count.
    store.record_poll_success(feed.id, etag=None, last_modified=None, now=NOW, next_poll_at=NOW)
    assert store.get_feed(feed.id).consecutive_failures == 0  # type: ignore[union-attr]
    for _ in range(2):
        assert not store.record_poll_failure(
            feed.id, kind="timeout", message="read timeout", now=NOW, next_poll_at=NOW, disable_after=3
        )
    assert store.record_poll_failure(
        feed.id, kind="timeout", message="read timeout", now=NOW, next_poll_at=NOW, disable_after=3
    )
    disabled = store.get_feed(feed.id)
    assert disabled is not None and not disabled.enabled and disabled.disabled_at == NOW
    assert disabled.disabled_reason == "3 consecutive failures; last: timeout: read timeout"
    assert feed.id not in {f.id for f in store.due_feeds(NOW + timedelta(days=1), all=True)}
    enabled = store.enable_feed(feed.id)
    assert enabled.enabled and enabled.consecutive_failures == 0 and enabled.disabled_reason is None
    assert feed.id in {f.id for f in store.due_feeds(NOW)}


def test_success_with_a_parse_error_records_it_without_counting(store: Store) -> None:
    feed = store.add_feed("https://half.example/rss", now=NOW)
    state = store.record_poll_success(
        feed.id,
        etag=None,
        last_modified=None,
        now=NOW,
        next_poll_at=NOW,
        error="not well-formed (invalid token): line 40",
    )
    assert state.consecutive_failures == 0 and state.last_error_kind == "parse" and state.enabled


def test_feed_operations_on_a_missing_feed(store: Store) -> None:
    with pytest.raises(KeyError):
        store.record_poll_success(42, etag=None, last_modified=None, now=NOW, next_poll_at=NOW)
    with pytest.raises(KeyError):
        store.enable_feed(42)


# ---------------------------------------------------------------------------------------------- articles


def test_upsert_new_unchanged_updated(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    first, status = add(
        store,
        feed.id,
        url="https://Example.com/news/budget/?utm_source=rss#top",
        guid="g-1",
        title="Council approves budget",
        published_at=NOW - timedelta(hours=1),
        author="Jane Roe",
        summary={"sentences": ["s1"], "quotes": []},
    )
    assert status == "new" and first.id.startswith("a_") and len(first.id) == 14
    assert first.canonical_url == "https://example.com/news/budget"
    assert first.feeds == ("https://example.com/rss",) and first.first_seen == NOW and first.eligible
    assert first.outlet == "example.com" and first.summary == {"sentences": ["s1"], "quotes": []}

    # Re-published with only a new date (and tracking parameters): unchanged, first date kept.
    later = NOW + timedelta(hours=2)
    again, status = add(
        store,
        feed.id,
        url="https://example.com/news/budget?utm_campaign=x",
        guid="g-1",
        title="Council approves budget",
        published_at=NOW + timedelta(hours=2),
        now=later,
    )
    assert status == "unchanged" and again.id == first.id
    assert again.published_at == NOW - timedelta(hours=1) and again.updated_at == NOW
    # Whitespace/case-only differences are no change either.
    _, status = add(
        store,
        feed.id,
        url="https://example.com/news/budget",
        title="Council approves budget",
        text="  " + LONG_TEXT.upper().replace(" ", "\n  "),
        now=later,
    )
    assert status == "unchanged"

    # Changed text: same id, text replaced, summary replaced.
    new_text = LONG_TEXT + " Opposition members said they would challenge the vote in court."
    updated, status = add(
        store,
        feed.id,
        url="https://example.com/news/budget",
        title="Council approves budget",
        text=new_text,
        now=later,
        summary={"sentences": ["s2"], "quotes": []},
    )
    assert status == "updated" and updated.id == first.id and updated.text == new_text
    assert updated.updated_at == later and updated.summary == {"sentences": ["s2"], "quotes": []}
    assert updated.first_seen == NOW and updated.author == "Jane Roe"
    assert len(store.list_articles(10)) == 1


def test_same_article_in_two_feeds_is_stored_once_and_linked_to_both(store: Store) -> None:
    world = store.add_feed("https://example.com/world.rss", now=NOW)
    top = store.add_feed("https://example.com/top.rss", now=NOW)
    a, s1 = add(store, world.id, url="https://example.com/story?utm_medium=world")
    b, s2 = add(store, top.id, url="https://www.example.com/story?fbclid=abc".replace("www.", ""))
    assert (s1, s2) == ("new", "unchanged") and a.id == b.id
    assert b.feeds == ("https://example.com/top.rss", "https://example.com/world.rss")
    assert [x.id for x in store.list_articles(10, feed_id=top.id)] == [a.id]
    assert [x.id for x in store.list_articles(10, feed_id=world.id)] == [a.id]


def test_identity_by_guid_within_feed_and_by_content_hash(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    other = store.add_feed("https://mirror.example/rss", now=NOW)
    a, _ = add(store, feed.id, url="https://example.com/old-slug", guid="urn:1", title="Budget passes")
    # Same GUID in the same feed, a new URL (slug changed), same title: the same article.
    b, status = add(store, feed.id, url="https://example.com/new-slug", guid="urn:1", title="Budget passes")
    assert b.id == a.id and status == "unchanged"
    # Same text under another URL in another feed: the same article, linked to both feeds.
    c, status = add(store, other.id, url="https://mirror.example/copy", title="Budget passes")
    assert c.id == a.id and status == "unchanged" and len(c.feeds) == 2
    # A feed that reuses a GUID for a different entry loses nothing.
    d, status = add(
        store,
        feed.id,
        url="https://example.com/another",
        guid="urn:1",
        title="Storm warning",
        text="A storm warning was issued for the coast on Friday.",
    )
    assert status == "new" and d.id != a.id
    assert store.get_article(a.id).text == LONG_TEXT  # type: ignore[union-attr]
    # Short identical snippets are not an identity.
    e, _ = add(store, feed.id, url="https://example.com/e", text="Read more on our website.")
    f, _ = add(store, feed.id, url="https://example.com/f", text="Read more on our website.")
    assert e.id != f.id


def test_page_text_is_not_replaced_by_a_feed_snippet_nor_by_empty_text(store: Store) -> None:
    a, _ = add(store, url="https://example.com/p", text_source="page")
    _, status = add(store, url="https://example.com/p", text="Short teaser.", text_source="feed")
    assert status == "unchanged"
    _, status = add(store, url="https://example.com/p", text="   ", text_source="page")
    assert status == "unchanged"
    kept = store.get_article(a.id)
    assert kept is not None and kept.text == LONG_TEXT and kept.text_source == "page"


def test_page_failures_are_recorded_on_the_article_until_its_page_is_used(store: Store) -> None:
    a, _ = add(store, url="https://example.com/slow", text="A feed snippet of the story.", text_source="feed")
    assert (a.page_attempts, a.page_retry_at, a.page_error) == (0, None, None)
    later = NOW + timedelta(hours=1)
    failed = store.record_page_failure(a.id, error="timeout:\n no page within 20s", retry_at=later)
    assert (failed.page_attempts, failed.page_retry_at, failed.page_error) == (1, later, "timeout: no page within 20s")
    failed = store.record_page_failure(a.id, error="http: HTTP 404 Not Found", retry_at=None)  # given up
    assert (failed.page_attempts, failed.page_retry_at, failed.page_error) == (2, None, "http: HTTP 404 Not Found")
    assert store.article_at("https://example.com/slow") == failed

    used, status = add(store, url="https://example.com/slow", text_source="page")
    assert status == "updated" and (used.page_attempts, used.page_retry_at, used.page_error) == (0, None, None)
    kept = store.record_page_failure(a.id, error="timeout", retry_at=later)  # its text is the page's now
    assert kept.page_attempts == 0 and kept.page_error is None and kept.text_source == "page"
    with pytest.raises(KeyError, match="a_000000000000"):
        store.record_page_failure("a_000000000000", error="timeout", retry_at=None)


def test_entry_without_link_and_summary_object(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    s = summarize(LONG_TEXT, title="Budget")
    a, status = store.upsert_article(
        url=None, title=None, text=LONG_TEXT, guid="tag:example.com,2024:1", feed_id=feed.id, now=NOW, summary=s
    )
    assert status == "new" and a.url.startswith("urn:newsbrief:") and a.title == ""
    assert a.summary == summary_to_json(s) and a.summary is not None and a.summary["sentences"]
    again, status = store.upsert_article(
        url=None, title=None, text=LONG_TEXT, guid="tag:example.com,2024:1", feed_id=feed.id, now=NOW
    )
    assert again.id == a.id and status == "unchanged"
    with pytest.raises(ValueError):
        store.upsert_article(url="https://x.example/", title="t", text="t", now=NOW, text_source="html")


def test_entries_with_no_link_no_guid_and_little_text_are_told_apart_by_title(store: Store) -> None:
    """Headline-only entries (no link, no GUID, no description) in two feeds: each is its own article, and each
    is found again when polled again; a long text alone still identifies an entry across feeds."""
    feeds = [store.add_feed(f"https://example.com/{n}.xml", now=NOW) for n in (1, 2)]
    gales, _ = store.upsert_article(url=None, title="Gales batter the coast", text="", feed_id=feeds[0].id, now=NOW)
    vote, status = store.upsert_article(url=None, title="Council vote delayed", text="", feed_id=feeds[1].id, now=NOW)
    assert status == "new" and vote.id != gales.id and vote.title == "Council vote delayed"
    again, status = store.upsert_article(
        url=None, title="Gales batter the coast", text="", feed_id=feeds[0].id, now=NOW
    )
    assert again.id == gales.id and status == "unchanged"
    long1, _ = store.upsert_article(url=None, title="Budget", text=LONG_TEXT, feed_id=feeds[0].id, now=NOW)
    long2, _ = store.upsert_article(url=None, title="Budget passes", text=LONG_TEXT, feed_id=feeds[1].id, now=NOW)
    assert long2.id == long1.id
    assert len(store.list_articles(10)) == 3


def test_get_article_by_id_url_and_canonical_url(store: Store) -> None:
    url = "https://Example.com:443/world/item/?utm_source=feed&id=7#comments"
    a, _ = add(store, url=url)
    for key in (a.id, url, a.canonical_url, "https://example.com/world/item?id=7&gclid=1"):
        found = store.get_article(key)
        assert found is not None and found.id == a.id, key
    assert store.get_article("a_000000000000") is None
    assert store.get_article("https://example.com/nothing") is None


def test_list_articles_order_and_filters(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    ids = []
    for i in range(5):
        a, _ = add(
            store,
            feed.id if i % 2 == 0 else None,
            url=f"https://example.com/{i}",
            text=f"text {i}",
            now=NOW + timedelta(minutes=i),
            eligible=i != 4,
        )
        ids.append(a.id)
    assert [a.id for a in store.list_articles(3)] == ids[::-1][:3]
    assert [a.id for a in store.list_articles(10, offset=3)] == ids[::-1][3:]
    assert [a.id for a in store.list_articles(10, feed_id=feed.id)] == [ids[4], ids[2], ids[0]]
    assert [a.id for a in store.list_articles(10, since=NOW + timedelta(minutes=3))] == [ids[4], ids[3]]
    assert [a.id for a in store.list_articles(10, eligible=False)] == [ids[4]]


# ---------------------------------------------------------------------------------------------- search

DOCS = {
    "quake": ("Earthquake hits Taiwan", "A strong earthquake struck eastern Taiwan near Hualien, officials said."),
    "quake_japan": ("Tremor in Japan", "An earthquake shook central Japan; there was no tsunami warning."),
    "ecb": ("ECB cuts rates", "The European Central Bank lowered interest rates as inflation eased in the euro zone."),
    "fed": ("Fed holds rates", "The Federal Reserve kept interest rates unchanged, citing sticky inflation."),
    "budget": ("Council passes budget", "The city council approved the budget after debate about Taiwan trade ties."),
}


@pytest.fixture
def corpus(store: Store) -> dict[str, str]:
    ids = {}
    for i, (key, (title, body)) in enumerate(DOCS.items()):
        a, _ = add(
            store,
            url=f"https://news.example/{key}",
            title=title,
            text=body,
            now=NOW + timedelta(minutes=i),
            published_at=NOW - timedelta(days=i),
            assign_story=own_story,
        )
        ids[a.id] = key
    return ids


def keys(store: Store, ids: dict[str, str], query: str, **kw: Any) -> list[str]:
    return [ids[a.id] for a, _ in store.search(query, **kw)]


def test_search_words_rank_title_matches_first(store: Store, corpus: dict[str, str]) -> None:
    hits = store.search("taiwan", limit=10)
    assert [corpus[a.id] for a, _ in hits] == ["quake", "budget"]  # title + text beats text only
    assert hits[0][1] > hits[1][1]
    assert keys(store, corpus, "earthquake") == ["quake", "quake_japan"] or set(keys(store, corpus, "earthquake")) == {
        "quake",
        "quake_japan",
    }
    assert keys(store, corpus, "Taiwan earthquake") == ["quake"]  # all words required
    assert keys(store, corpus, "earthquakes") != []  # stemming on both backends


def test_search_phrase_or_and_exclusion(store: Store, corpus: dict[str, str]) -> None:
    assert keys(store, corpus, '"interest rates"', limit=10) != []
    assert set(keys(store, corpus, '"interest rates"')) == {"ecb", "fed"}
    assert keys(store, corpus, '"rates interest"') == []
    assert set(keys(store, corpus, "ECB OR Federal")) == {"ecb", "fed"}
    assert set(keys(store, corpus, "rates -inflation")) == set()
    assert set(keys(store, corpus, "rates -euro")) == {"fed"}
    assert set(keys(store, corpus, 'earthquake -"no tsunami"')) == {"quake"}
    assert set(keys(store, corpus, "taiwan OR japan earthquake")) == {"quake", "quake_japan"}


def test_search_since_and_limit(store: Store, corpus: dict[str, str]) -> None:
    assert keys(store, corpus, "rates", since=NOW - timedelta(days=2, hours=1)) == ["ecb"]
    assert len(store.search("rates", limit=1)) == 1
    assert store.search("rates", limit=0) == []


HOSTILE = [
    '"unbalanced',
    "AND OR NOT",
    "*",
    "title:",
    "'; DROP TABLE articles; --",
    "NEAR(a b)",
    "a AND",
    "OR",
    "-",
    '""',
    "^start",
    "text:taiwan",
    "(taiwan",
    "taiwan)",
    "\\",
    "%_",
    "tai*",
    "-taiwan",
    "\x00",
    "  ",
    "é ü 北京",
    "OR OR taiwan OR",
    "- -taiwan",
    '"a" OR "',
    "col:val OR x:y",
    "{title text}: taiwan",
    "the",
    "rates -the",
    "the OR a",
    "x" * 5000,
    " ".join(["word"] * 200),
    "'" * 10,
]


def test_hostile_queries_never_raise(store: Store, corpus: dict[str, str]) -> None:
    for query in HOSTILE:
        store.search(query)
        store.search(query, since=NOW)
    assert len(store.list_articles(100)) == len(DOCS)  # nothing dropped
    assert store.integrity_check() == []


def test_hostile_queries_still_find_words(store: Store, corpus: dict[str, str]) -> None:
    assert keys(store, corpus, "title:taiwan") == keys(store, corpus, "title taiwan")
    assert "quake" in keys(store, corpus, '"taiwan')


def test_search_follows_updates_and_deletes(store: Store) -> None:
    a, _ = add(
        store, url="https://news.example/x", title="Storm", text="A storm hit the coast.", assign_story=own_story
    )
    assert [h.id for h, _ in store.search("storm")] == [a.id]
    add(
        store,
        url="https://news.example/x",
        title="Flood",
        text="Floods followed the storm surge.",
        now=NOW,
        assign_story=own_story,
    )
    assert store.search("coast") == [] and [h.id for h, _ in store.search("flood")] == [a.id]
    assert store.prune(0, NOW + timedelta(seconds=1)) == 1
    assert store.search("flood") == []
    assert store.integrity_check() == []


def test_query_translation() -> None:
    q = parse_query('taiwan OR japan "big quake" -tsunami -"no damage" title: *')
    assert to_fts5(q) == '(("taiwan" OR "japan") AND "big quake" AND "title") NOT "tsunami" NOT "no damage"'
    sql, params = to_tsquery_sql(q)
    assert sql == (
        "((websearch_to_tsquery('english', :t0) || websearch_to_tsquery('english', :t1)) && "
        "websearch_to_tsquery('english', :t2) && websearch_to_tsquery('english', :t3) && "
        "!!websearch_to_tsquery('english', :t4) && !!websearch_to_tsquery('english', :t5))"
    )
    assert params == {
        "t0": "taiwan",
        "t1": "japan",
        "t2": '"big quake"',
        "t3": "title",
        "t4": "tsunami",
        "t5": '"no damage"',
    }
    assert parse_query("-only -negatives").empty
    assert parse_query("AND OR NOT").groups == parse_query("and OR not").groups
    assert len(parse_query("AND OR NOT").groups) == 1


# ---------------------------------------------------------------------------------------------- prune


def test_prune_keeps_cited_and_recent_articles(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    old, _ = add(store, feed.id, url="https://example.com/old", text="old one", now=NOW - timedelta(days=40))
    cited, _ = add(store, feed.id, url="https://example.com/cited", text="old cited", now=NOW - timedelta(days=40))
    recent, _ = add(
        store,
        feed.id,
        url="https://example.com/recent",
        text="recent",
        now=NOW - timedelta(days=5),
        assign_story=own_story,
    )
    store.cite(cited.id, "digest:sub-1:2024-03-22T08:00", now=NOW - timedelta(days=39))
    store.assign_story(old.id, "s_old", NOW - timedelta(days=40))
    store.assign_story(cited.id, "s_old", NOW - timedelta(days=40))
    assert store.prune(30, NOW) == 1
    assert store.get_article(old.id) is None
    assert store.get_article(cited.id) is not None and store.get_article(recent.id) is not None
    story = store.get_story("s_old")
    assert story is not None and story.article_count == 1
    assert [a.id for a in store.list_articles(10, feed_id=feed.id)] == [recent.id, cited.id]
    assert store.prune(30, NOW) == 0
    assert store.integrity_check() == []
    with pytest.raises(ValueError):
        store.prune(-1, NOW)
    with pytest.raises(KeyError):
        store.cite("a_missing00000", "d", now=NOW)


# ---------------------------------------------------------------------------------------------- stories


def test_story_assignment_and_signatures(store: Store) -> None:
    a, _ = add(store, url="https://one.example/quake", text="Quake in Taiwan " * 30, now=NOW)
    b, _ = add(store, url="https://two.example/quake", text="Taiwan quake report " * 30, now=NOW + timedelta(hours=1))
    c, _ = add(store, url="https://three.example/rates", text="Rates " * 40, now=NOW + timedelta(hours=2))
    index = StoryIndex()
    for art in (a, b, c):
        result = index.add(art.id, art.title, art.text, art.outlet, art.first_seen)
        story = store.assign_story(art.id, result.story_key, NOW + timedelta(hours=3), minhash=result.terms)
        assert story.id == result.story_key
    sa = store.get_story(index.story_of(a.id) or "")
    assert sa is not None and sa.first_seen == NOW
    if index.story_of(a.id) == index.story_of(b.id):
        assert sa.article_count == 2 and sa.outlets == ("one.example", "two.example")
        assert [x.id for x in store.story_articles(sa.id)] == [a.id, b.id]
    sigs = store.minhash_signatures()
    assert [s.article_id for s in sigs] == [a.id, b.id, c.id]
    assert sigs[0].signature == index.terms_of(a.id) == signature(a.text, "Title")
    assert sigs[0].first_seen == NOW and sigs[0].row < sigs[1].row < sigs[2].row
    assert store.minhash_signatures(since=NOW + timedelta(minutes=30))[0].article_id == b.id
    changes = store.story_changes(after_row=sigs[0].row, since=None)
    assert [s.article_id for s in changes.signatures] == [b.id, c.id] and changes.aliases == {}
    # Moving an article to another story updates both; an emptied story is dropped.
    store.assign_story(c.id, "s_manual", NOW)
    store.assign_story(c.id, index.story_of(a.id) or "", NOW)
    assert store.get_story("s_manual") is None
    assert store.integrity_check() == []
    with pytest.raises(KeyError):
        store.assign_story("a_missing00000", "s_x", NOW)


def test_merged_story_keeps_the_older_id_and_records_an_alias(store: Store) -> None:
    later = NOW + timedelta(hours=1)
    a, _ = add(store, url="https://one.example/a", text="Story A " * 20, now=NOW)
    b, _ = add(store, url="https://two.example/b", text="Story B " * 20, now=later)
    c, _ = add(store, url="https://three.example/c", text="Story C " * 20, now=later)
    store.assign_story(a.id, "s_old", NOW)
    store.assign_story(b.id, "s_new", later)
    store.assign_story(c.id, "s_newer", later, follows="s_new")
    assert store.get_story("s_newer").follows == "s_new"  # type: ignore[union-attr]
    sub = store.add_subscription("console", "#news", "world", schedule="daily 08:00", tz="UTC", now=NOW)
    store.record_posted(sub.id, {"s_new": 1}, later)
    merged = store.merge_stories("s_new", "s_old", later + timedelta(minutes=5))
    assert merged is not None and merged.id == "s_old" and merged.first_seen == NOW
    assert merged.article_count == 2 and merged.outlets == ("one.example", "two.example")
    assert store.story_aliases() == {"s_new": "s_old"}
    assert store.get_story("s_new") == store.get_story("s_old")  # an alias leads to the merged story
    assert store.get_article(b.id).story_id == "s_old"  # type: ignore[union-attr]
    # the merged story counts as posted where either part was, so no digest posts it again
    assert store.posted_story_counts(sub.id)["s_old"] == 2
    # a later article assigned under the alias (by a process that had not seen the merge) joins the merged story
    d, _ = add(store, url="https://four.example/d", text="Story D " * 20, now=later)
    assert store.assign_story(d.id, "s_new", later).id == "s_old"
    # merging the merged story on: aliases follow, and a story's follow-up link is kept
    store.merge_stories("s_old", "s_newer", later)
    assert store.story_aliases() == {"s_new": "s_newer", "s_old": "s_newer"}
    newer = store.get_story("s_new")
    assert newer is not None and newer.id == "s_newer" and newer.article_count == 4
    assert store.merge_stories("s_old", "s_newer", later) == newer  # merging into itself: nothing changes


def test_a_story_decision_that_fails_stores_nothing_of_the_article(store: Store) -> None:
    """The article and its story are one transaction: the story callback raising rolls the article back too
    (before, the article was committed first and a kill or an error before its story left it without one)."""
    feed = store.add_feed("https://example.com/rss", now=NOW)

    def broken(article: Article) -> StoryAssignment:
        raise RuntimeError("the story index broke")

    with pytest.raises(RuntimeError, match="story index broke"):
        add(store, feed.id, url="https://example.com/a", assign_story=broken)
    assert store.get_article("https://example.com/a") is None
    assert store.list_articles(10) == [] and store.list_articles(10, feed_id=feed.id) == []
    # a changed text whose story decision fails leaves the stored article as it was
    a, _ = add(store, feed.id, url="https://example.com/a", assign_story=own_story)
    with pytest.raises(RuntimeError):
        add(store, feed.id, url="https://example.com/a", text=LONG_TEXT + " Corrected.", assign_story=broken)
    kept = store.get_article(a.id)
    assert kept is not None and kept.text == LONG_TEXT and kept.story_id == story_key_for(a.id)
    assert store.integrity_check() == []


def test_an_article_and_its_story_are_stored_together(store: Store) -> None:
    feed = store.add_feed("https://example.com/rss", now=NOW)
    seen: list[tuple[str, str, str | None]] = []

    def decide(article: Article) -> StoryAssignment:
        seen.append((article.id, article.title, article.story_id))
        return StoryAssignment("s_budget", signature(f"{article.title}\n{article.text}"))

    a, status = add(store, feed.id, url="https://example.com/a", assign_story=decide)
    assert status == "new" and a.story_id == "s_budget" and seen == [(a.id, "Title", None)]
    story = store.get_story("s_budget")
    assert story is not None and story.article_count == 1 and story.outlets == ("example.com",)
    assert [s.signature for s in store.minhash_signatures()] == [signature(f"Title\n{LONG_TEXT}")]
    b, _ = add(
        store,
        url="https://other.example/b",
        text=LONG_TEXT + " Also.",
        assign_story=decide,
        now=NOW + timedelta(hours=1),
    )
    story = store.get_story("s_budget")
    assert b.story_id == "s_budget" and story is not None and story.article_count == 2
    assert story.outlets == ("example.com", "other.example")
    # met again unchanged: no decision; its text changed: decided again
    assert add(store, feed.id, url="https://example.com/a", assign_story=decide)[1] == "unchanged"
    assert len(seen) == 2
    assert add(store, feed.id, url="https://example.com/a", text=LONG_TEXT + " Updated.", assign_story=decide)[1] == (
        "updated"
    )
    assert len(seen) == 3 and [x.id for x in store.story_articles("s_budget")] == [a.id, b.id]
    assert store.integrity_check() == []


def test_several_articles_are_stored_in_one_transaction_each_decision_seeing_the_ones_before(
    store: Store, store_url: str
) -> None:
    """upsert_articles: one hold of the story lock and one commit for several articles (what a job worker does
    with the articles that waited for the lock together); each story decision sees those made before it in the
    same call, and the call's articles appear together."""
    a_feed = store.add_feed("https://example.com/rss", now=NOW)
    b_feed = store.add_feed("https://other.example/rss", now=NOW)
    seen: list[tuple[str, str | None, bool, bool]] = []
    first_id: list[str] = []  # the first outlet's article, whose story the second outlet's report joins

    def decide(article: Article) -> StoryAssignment:
        others = store.list_articles(10)  # another session: nothing of this call is committed yet
        seen.append((article.title, article.story_id, not story_lock_is_free(store_url), others == []))
        if article.outlet == "other.example":  # the second outlet's report joins the first's story
            return StoryAssignment(story_key_for(first_id[0]))
        first_id.append(article.id)
        return StoryAssignment(story_key_for(article.id))

    later = NOW + timedelta(minutes=5)
    items = [
        ArticleInput(url="https://example.com/a", title="Budget passes", text=LONG_TEXT, now=NOW, feed_id=a_feed.id),
        ArticleInput(url="https://other.example/b", title="Budget", text=LONG_TEXT + " B.", now=NOW, feed_id=b_feed.id),
        # the first article again, from the second feed, with its text corrected: the same article, decided again
        ArticleInput(
            url="https://example.com/a", title="Budget passes", text=LONG_TEXT + " Fixed.", now=later, feed_id=b_feed.id
        ),
    ]
    stored = store.upsert_articles(items, assign_story=decide)
    (a, a_status), (b, b_status), (a2, a2_status) = stored
    assert (a_status, b_status, a2_status) == ("new", "new", "updated")
    assert a2.id == a.id and a2.feeds == ("https://example.com/rss", "https://other.example/rss")
    assert seen == [
        ("Budget passes", None, True, True),
        ("Budget", None, True, True),
        ("Budget passes", story_key_for(a.id), True, True),
    ]
    story = store.get_story(story_key_for(a.id))
    assert story is not None and story.article_count == 2 and story.outlets == ("example.com", "other.example")
    assert b.story_id == story.id and store.integrity_check() == []


def test_several_articles_stored_together_are_stored_all_or_none(store: Store) -> None:
    """A failure while storing one of them stores none (the caller may then store them one by one)."""
    store.add_feed("https://example.com/rss", now=NOW)
    decided: list[str] = []

    def decide(article: Article) -> StoryAssignment:
        if article.title == "Broken":
            raise RuntimeError("the story index broke")
        decided.append(article.id)
        return StoryAssignment(story_key_for(article.id))

    items = [
        ArticleInput(url=f"https://example.com/{name}", title=name, text=f"{LONG_TEXT} {name}.", now=NOW)
        for name in ("First", "Broken", "Third")
    ]
    with pytest.raises(RuntimeError, match="story index broke"):
        store.upsert_articles(items, assign_story=decide)
    assert len(decided) == 1 and store.list_articles(10) == [] and store.stories() == {}
    # without the broken one, both are stored, each with its story
    first, third = store.upsert_articles([items[0], items[2]], assign_story=decide)
    assert [s for _, s in (first, third)] == ["new", "new"] and first[0].story_id == story_key_for(first[0].id)


def story_lock_is_free(store_url: str) -> bool:
    """Whether another connection could take the story-assignment lock at once (without waiting for it)."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(str(url.database), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked: a writer holds it
            return False
        finally:
            other.close()
        return True
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY}).scalar())
    finally:
        engine.dispose()


def test_a_story_is_decided_under_the_story_lock(store: Store, store_url: str) -> None:
    """While the callback decides, no other process can decide a story (or, on SQLite, write at all): it will
    see this decision once it gets the lock."""
    held: list[bool] = []

    def decide(article: Article) -> StoryAssignment:
        held.append(not story_lock_is_free(store_url))
        return StoryAssignment("s_x")

    add(store, url="https://example.com/a", assign_story=decide)
    assert held == [True]
    assert story_lock_is_free(store_url)  # released with the commit


def test_integrity_check_reports_articles_without_a_story_and_they_are_filed(store: Store) -> None:
    a, _ = add(store, url="https://example.com/a", assign_story=own_story)
    b, _ = add(store, url="https://example.com/b", text=LONG_TEXT + " B.", assign_story=own_story)
    assert store.integrity_check() == [] and store.storyless_articles() == []
    with store.engine.begin() as conn:  # what a kill between the two writes of an older version left behind
        conn.execute(text("UPDATE articles SET story_id = NULL WHERE id = :id"), {"id": b.id})
        conn.execute(text("DELETE FROM stories WHERE id = :id"), {"id": story_key_for(b.id)})
    assert store.integrity_check() == [f"1 article belongs to no story ({b.id}): `newsbrief db upgrade` files them"]
    assert store.storyless_articles() == [b.id]
    assert store.file_storyless(b.id, now=NOW)  # without a decider: a story of its own
    assert not store.file_storyless(b.id, now=NOW)  # filed already
    assert not store.file_storyless("a_missing00000", now=NOW)
    filed = store.get_article(b.id)
    assert filed is not None and filed.story_id == story_key_for(b.id)
    assert store.integrity_check() == []
    assert a.story_id == story_key_for(a.id)


def test_an_article_joining_a_story_is_counted_in_place_and_outlets_stay_in_order(store: Store) -> None:
    """A new article joining a story (a new outlet seen last, or an outlet already there) updates its count and
    outlets without a GROUP BY over the story's articles; a tie or an earlier sight recomputes them, in order."""
    feed = store.add_feed("https://example.com/rss", now=NOW)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def join(article: Article) -> StoryAssignment:
        return StoryAssignment("s_one")

    def put(i: int, outlet: str, now: datetime) -> None:
        add(
            store,
            feed.id,
            url=f"https://example.com/{i}",
            text=f"{LONG_TEXT} {i}",
            now=now,
            outlet=outlet,
            assign_story=join,
        )

    put(0, "Beta", NOW)
    event.listen(store._engine, "before_cursor_execute", seen)
    try:
        put(1, "Alpha", NOW + timedelta(hours=1))  # a new outlet, seen after all others
        put(2, "Beta", NOW + timedelta(hours=2))  # an outlet already there
        put(3, "Delta", NOW + timedelta(hours=2))  # a new outlet tied with the last sight, named after it
    finally:
        event.remove(store._engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "GROUP BY" in s.upper()]
    story = store.get_story("s_one")
    assert story is not None
    assert (story.article_count, story.outlets) == (4, ("Beta", "Alpha", "Delta"))
    put(4, "Aardvark", NOW + timedelta(hours=2))  # a tie with the last article, named before it
    put(5, "Gamma", NOW - timedelta(hours=1))  # first seen before all others
    put(6, "Aardvark", NOW + timedelta(minutes=30))  # its outlet seen earlier than before
    story = store.get_story("s_one")
    assert story is not None
    assert (story.article_count, story.outlets) == (7, ("Gamma", "Beta", "Aardvark", "Alpha", "Delta"))


def test_articles_joining_a_story_in_one_call_are_counted_as_in_separate_calls(store: Store) -> None:
    """Stored together in one transaction, articles joining a story leave the same count and outlets as stored one
    by one: each is counted from what the one before it wrote, in place or recomputed."""
    feed = store.add_feed("https://example.com/rss", now=NOW)
    sights = [
        ("Beta", NOW),
        ("Alpha", NOW + timedelta(hours=1)),
        ("Gamma", NOW - timedelta(hours=1)),  # first seen before all others: recomputed
        ("Beta", NOW + timedelta(hours=2)),
        ("Delta", NOW + timedelta(hours=2)),
        ("Aardvark", NOW + timedelta(hours=2)),  # a tie, named before the last: recomputed
        ("Epsilon", NOW + timedelta(hours=3)),  # in order again, after a recount
        ("Alpha", NOW + timedelta(hours=4)),  # in order, counted from the count the one before wrote
    ]
    items = [
        ArticleInput(
            url=f"https://example.com/{i}",
            title=f"Report {i}",
            text=f"{LONG_TEXT} {i}",
            now=now,
            feed_id=feed.id,
            outlet=outlet,
        )
        for i, (outlet, now) in enumerate(sights)
    ]
    stored = store.upsert_articles(items, assign_story=lambda article: StoryAssignment("s_one"))
    assert [status for _, status in stored] == ["new"] * len(sights)
    story = store.get_story("s_one")
    assert story is not None
    assert (story.article_count, story.outlets) == (8, ("Gamma", "Beta", "Alpha", "Aardvark", "Delta", "Epsilon"))
    assert story.updated_at == NOW + timedelta(hours=4) and store.integrity_check() == []


def test_a_new_article_is_written_once_with_its_story(store: Store) -> None:
    """A new article is inserted with its story and signature (not inserted, then updated), its story created
    first; an article joining a story is inserted with it too."""
    feed = store.add_feed("https://example.com/rss", now=NOW)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()[:3]).upper())

    def decide(article: Article) -> StoryAssignment:
        return StoryAssignment("s_one", signature(article.text))

    event.listen(store._engine, "before_cursor_execute", seen)
    try:
        a, _ = add(store, feed.id, url="https://example.com/a", assign_story=decide)
        b, _ = add(store, feed.id, url="https://example.com/b", text=LONG_TEXT + " B.", assign_story=decide)
    finally:
        event.remove(store._engine, "before_cursor_execute", seen)
    writes = [s for s in statements if s.startswith(("INSERT INTO ARTICLES", "UPDATE ARTICLES"))]
    assert writes == ["INSERT INTO ARTICLES"] * 2
    assert statements.index("INSERT INTO STORIES") < statements.index("INSERT INTO ARTICLES")
    assert (a.story_id, b.story_id) == ("s_one", "s_one")
    assert [s.signature for s in store.minhash_signatures()] == [signature(LONG_TEXT), signature(LONG_TEXT + " B.")]
    story = store.get_story("s_one")
    assert story is not None and story.article_count == 2
    assert store.integrity_check() == []


def test_articles_stored_with_their_stories_are_searched_as_any_other(store: Store, store_url: str) -> None:
    """Ingest's articles (stored with their stories; on PostgreSQL their search vectors computed before the story
    lock is taken) are found as articles stored any other way, and an edit of their text is searched as edited."""
    feed = store.add_feed("https://example.com/rss", now=NOW)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    written = [("Harbour wall breached", "Storm surge breached the harbour wall overnight, flooding the quay.")] * 2
    items = [
        ArticleInput(url=f"https://example.com/{i}", title=title, text=body, now=NOW, feed_id=feed.id)
        for i, (title, body) in enumerate(written)
    ]
    event.listen(store._engine, "before_cursor_execute", seen)
    try:
        (ingested, _), _ = store.upsert_articles(items, assign_story=lambda article: StoryAssignment("s_one"))
    finally:
        event.remove(store._engine, "before_cursor_execute", seen)
    plain, _ = add(store, feed.id, url="https://example.com/plain", title=written[0][0], text=written[0][1])
    store.assign_story(plain.id, "s_two", NOW)  # stored without a story: its vector was the triggers'
    if store.dialect == "postgresql":
        lock = next(i for i, s in enumerate(statements) if "pg_advisory_xact_lock" in s)
        assert "to_tsvector" in statements[lock - 1]  # the vectors, one statement, just before the lock
        assert not any("to_tsvector" in s for s in statements[lock:])
        inserts = [s for s in statements if s.startswith("INSERT INTO articles")]
        assert len(inserts) == 2 and all("search" in s for s in inserts)
        engine = create_engine(store_url)
        try:
            with engine.connect() as conn:
                query = text("SELECT id, search::text FROM articles ORDER BY pk")
                vectors = {str(k): str(v) for k, v in conn.execute(query)}
        finally:
            engine.dispose()
        assert vectors[ingested.id] == vectors[plain.id] != ""  # the same as the triggers compute
    scores = [score for _, score in store.search("harbour flooding")]
    assert len(scores) == 3 and scores == pytest.approx([scores[0]] * 3)  # the two ingested and the plain one
    edited = ArticleInput(
        url="https://example.com/0", title="Harbour reopens", text="Cranes worked again by noon.", now=NOW
    )
    ((_, status),) = store.upsert_articles([edited], assign_story=lambda article: StoryAssignment("s_one"))
    assert status == "updated"
    assert ingested.id not in {hit.id for hit, _ in store.search("flooding")}
    assert [hit.id for hit, _ in store.search("cranes")] == [ingested.id]
    assert store.integrity_check() == []


def test_articles_left_without_a_story_are_filed_as_ingest_would(store: Store) -> None:
    index = StoryIndex()
    first, _ = add(
        store,
        url="https://one.example/barrier",
        title="Council approves tidal barrier",
        text=BARRIER,
        assign_story=IndexedAssignment(index, store),
    )
    # stored by an older version that was killed before it wrote their stories: no story, no signature
    same, _ = add(
        store,
        url="https://two.example/barrier",
        title="Tidal barrier approved",
        text=BARRIER_OTHER_OUTLET,
        now=NOW + timedelta(hours=1),
    )
    other, _ = add(
        store, url="https://two.example/bridge", title="Rail bridge reopens", text=BRIDGE, now=NOW + timedelta(hours=2)
    )
    problems = store.integrity_check()
    assert len(problems) == 1 and problems[0].startswith(f"2 articles belong to no story ({same.id}, {other.id})")
    restarted = load_story_index(store, NOW, days=30)
    assert assign_missing_stories(store, restarted, NOW + timedelta(hours=3)) == 2
    assert assign_missing_stories(store, restarted, NOW + timedelta(hours=3)) == 0
    filed = {a.id: a.story_id for a in store.list_articles(10)}
    assert first.story_id is not None and filed[same.id] == first.story_id  # joins the story, as ingest would have
    assert filed[other.id] == story_key_for(other.id)
    assert restarted.story_of(same.id) == first.story_id and other.id in restarted
    story = store.get_story(first.story_id)
    assert story is not None and story.article_count == 2
    assert store.integrity_check() == []


def test_store_is_usable_from_threads(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    feed = store.add_feed("https://example.com/rss", now=NOW)

    def put(i: int) -> str:
        article, _ = add(store, feed.id, url=f"https://example.com/t/{i % 10}", text=f"thread text {i % 10}")
        return article.id

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(put, range(40)))
    assert len(set(ids)) == 10 and len(store.list_articles(100)) == 10


def test_integrity_check_finds_tampering(store: Store) -> None:
    a, _ = add(store, url="https://example.com/a")
    with store._engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE articles SET content_hash = 'x' WHERE id = '{a.id}'")
    assert any("content hash" in p for p in store.integrity_check())


def test_integrity_check_finds_a_stale_sqlite_search_index(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path}/db.sqlite") as s:
        s.upgrade()
        a, _ = add(s, url="https://example.com/a")
        with s._engine.begin() as conn:
            pk = conn.exec_driver_sql(f"SELECT pk FROM articles WHERE id = '{a.id}'").scalar()
            conn.exec_driver_sql(
                "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
                f"VALUES ('delete', {pk}, 'Title', 'unrelated words')"
            )
        assert any("full-text index" in p for p in s.integrity_check())
