"""PostgreSQL going away and coming back, for real: a loopback proxy in front of the server (testkit/dbproxy.py) is
cut in the middle of a poll round, of a ``newsbrief poll`` and of the scheduler's jobs, then restored.

What must hold: no traceback anywhere, at most one line per feed the outage interrupted, no feed failure counted
because of the database, the feeds not reached still due, nothing stored lost, and the next round completing.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.__main__ import main
from bot.config import Settings, settings_from_mapping
from bot.ingest import FeedResult, Ingestor, load_story_index
from bot.scheduler import JOBS_TABLE, digest_job, poll_job, sync_job
from bot.scheduler._scheduler import JOBSTORE_RETRY, _SharedEngineJobStore
from bot.sources import Fetcher
from bot.store import STORY_LOCK_KEY, Article, Feed, Store, StoreUnavailable, StoreWatch, StoryAssignment
from testkit.dbproxy import TcpProxy, url_with_port
from testkit.feedserver import FeedServer, Item, RequestRecord, rss_feed
from tests.scheduler.test_scheduler import FAR, Recorder, make

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FEEDS = 6
CUT_AT = 2
"""The feed whose document request makes the database go away (feeds are polled in id order, two at a time)."""
TOWNS = ("Harbour", "Millbrook", "Eastwick", "Northgate", "Riverside", "Kestrel Bay")
EVENTS = ("opens a new library", "closes the old ferry pier")


def item_text(feed: int, entry: int) -> str:
    town, event = TOWNS[feed], EVENTS[entry]
    return (
        f"<p>The council of {town} {event} on Monday after a vote of {feed * 7 + entry + 3} to two. "
        f"Residents of {town} said the decision came after years of debate about money and the harbour. "
        f"Work in {town} starts in spring, the mayor of {town} said.</p>"
    )


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[TcpProxy]:
    target = make_url(postgres_server)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as p:
        yield p


@pytest.fixture
def proxied_url(postgres_url: str, proxy: TcpProxy) -> str:
    """The test's private PostgreSQL schema, reached through the proxy."""
    return url_with_port(postgres_url, proxy.port)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as c:
        yield c


SETTINGS = {"network": {"allow_private": ["127.0.0.1"], "global_limit": 1}, "poll": {"fetch_pages": False}}


def serve_feeds(server: FeedServer, store: Store, proxy: TcpProxy) -> list[Feed]:
    """:data:`FEEDS` feeds of two entries each; fetching feed :data:`CUT_AT` cuts the database off (once)."""
    feeds = []
    cuts: list[int] = []
    for i in range(FEEDS):
        items = [
            Item(f"{TOWNS[i]} {EVENTS[j]}", server.url(f"/{i}/{j}"), guid=f"{i}-{j}", content=item_text(i, j))
            for j in range(2)
        ]
        body = rss_feed(items, title=f"{TOWNS[i]} News").encode()

        def answer(
            _request: RequestRecord, body: bytes = body, cut: bool = i == CUT_AT
        ) -> tuple[int, dict[str, str], bytes]:
            if cut and not cuts:
                cuts.append(1)
                proxy.cut()
            return 200, {"Content-Type": "application/rss+xml"}, body

        server.route(f"/{i}.xml", handler=answer)
        feeds.append(store.add_feed(server.url(f"/{i}.xml"), name=f"{TOWNS[i]} News", interval_s=900, now=NOW))
    return feeds


def assert_quiet(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    """No record carries a traceback and nothing printed one."""
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text or r.stack_info] == []
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "Traceback" not in out.out


async def test_a_poll_round_survives_the_database_going_away(
    proxy: TcpProxy,
    proxied_url: str,
    server: FeedServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    settings: Settings = settings_from_mapping(SETTINGS)
    with Store(proxied_url) as store:
        store.upgrade()
        feeds = serve_feeds(server, store, proxy)
        ingestor = Ingestor(
            store,
            Fetcher(client, settings.network),
            settings,
            stories=load_story_index(store, NOW, days=30),
            rng=random.Random(0),
        )

        results = {r.feed_id: r for r in await ingestor.poll_round(NOW)}
        assert_quiet(caplog, capsys)
        statuses = [results[f.id].status for f in feeds]
        assert statuses[CUT_AT] == "unavailable"
        assert statuses[CUT_AT + 2 :] == ["not_polled"] * (FEEDS - CUT_AT - 2)  # never started
        assert "ok" in statuses[:CUT_AT] and set(statuses) <= {"ok", "unavailable", "not_polled"}
        cut_short = [f for f in feeds if results[f.id].status == "unavailable"]
        # one line for each feed the outage cut short, none for the others
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("newsbrief")]
        assert len(lines) == len(cut_short) and all("database unavailable" in line for line in lines)
        assert [sum(f.url in line for line in lines) for f in cut_short] == [1] * len(cut_short)

        proxy.restore()
        polled = [f for f in feeds if results[f.id].status == "ok"]
        for feed in feeds:
            stored = store.get_feed(feed.id)
            assert stored is not None and stored.consecutive_failures == 0 and stored.last_error is None
            # the feeds the outage kept from finishing are due still; those it did not touch are scheduled
            assert stored.next_poll_at == (NOW + timedelta(seconds=900) if feed in polled else None)
        articles = store.list_articles(100)
        assert len(articles) >= 2 * len(polled) and all(a.story_id is not None for a in articles)
        assert store.integrity_check() == []

        later = NOW + timedelta(minutes=1)
        again = {r.feed_id: r for r in await ingestor.poll_round(later)}
        assert set(again) == {f.id for f in feeds if f not in polled}
        assert {r.status for r in again.values()} == {"ok"}
        assert len(store.list_articles(100)) == 2 * FEEDS
        assert all(f.consecutive_failures == 0 and f.next_poll_at is not None for f in store.list_feeds())
        assert store.integrity_check() == []
    assert_quiet(caplog, capsys)


def test_poll_command_says_so_on_one_line_and_fails(
    proxy: TcpProxy,
    proxied_url: str,
    server: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.delenv("NEWSBRIEF_LOG_LEVEL", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f'[store]\nurl = "{proxied_url}"\n[network]\nallow_private = ["127.0.0.1"]\nglobal_limit = 1\n'
        "[poll]\nfetch_pages = false\n",
        encoding="utf-8",
    )
    with Store(proxied_url) as store:
        store.upgrade()
        feeds = serve_feeds(server, store, proxy)

    status = main(["--config", str(config), "poll"])
    out = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out.err and "Traceback" not in out.out
    [line] = out.err.splitlines()
    assert line.startswith("newsbrief: database unavailable: PostgreSQL at 127.0.0.1:")
    proxy.restore()
    with Store(proxied_url) as store:
        due = [f for f in store.list_feeds() if f.next_poll_at is None]
        assert len(due) >= FEEDS - CUT_AT and all(f.consecutive_failures == 0 for f in store.list_feeds())
    assert line.endswith(f"; {len(due)} feeds not polled (left due)")

    assert main(["--config", str(config), "poll"]) == 0  # the next round polls what is left
    out = capsys.readouterr()
    assert out.err == "" and f": {len(due)} feeds" in out.out
    with Store(proxied_url) as store:
        assert len(store.list_articles(100)) == 2 * FEEDS
        assert all(f.consecutive_failures == 0 and f.next_poll_at is not None for f in store.list_feeds())
        assert [f.id for f in store.list_feeds()] == [f.id for f in feeds]


def test_the_watch_logs_one_line_when_the_database_goes_and_one_when_it_is_back(
    proxy: TcpProxy, proxied_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="newsbrief.store")
    watch = StoreWatch()
    with Store(proxied_url, watch=watch) as store:
        store.upgrade()
        store.add_feed("https://example.org/feed.xml", now=NOW)
        proxy.cut()
        for _ in range(3):
            with pytest.raises(StoreUnavailable, match=r"^PostgreSQL at 127\.0\.0\.1:"):
                store.list_feeds()
            with pytest.raises(StoreUnavailable):
                store.add_feed("https://example.org/other.xml", now=NOW)
        assert not watch.available
        proxy.restore()
        assert [f.url for f in store.list_feeds()] == ["https://example.org/feed.xml"]  # nothing lost
        store.list_feeds()
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "newsbrief.store"]
    assert [level for level, _ in logged] == ["WARNING", "INFO"]
    assert logged[0][1].startswith("database unavailable: PostgreSQL at 127.0.0.1:")
    assert logged[1][1] == "database available again"
    assert watch.available and watch.outages == 1


async def test_scheduler_jobs_wait_out_an_outage_without_tracebacks(
    proxy: TcpProxy,
    proxied_url: str,
    server: FeedServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings_from_mapping({**SETTINGS, "topics": {"ukraine": "ukraine OR kyiv"}})
    watch = StoreWatch()
    with Store(proxied_url, watch=watch) as store:
        store.upgrade()
        server.route(
            "/feed.xml", rss_feed([Item("Talks in Kyiv", server.url("/kyiv"), guid="k1", content=item_text(0, 0))])
        )
        feed = store.add_feed(server.url("/feed.xml"), interval_s=900, now=FAR)
        sub = store.add_subscription("console", "console", "ukraine", schedule="hourly", tz="UTC", now=FAR, by="t")
        scheduler = make(store, settings, client, Recorder(), FAR, holder="one")
        try:
            assert await scheduler.start()
            jobstore = _SharedEngineJobStore(engine=store.engine, tablename=JOBS_TABLE, clock=lambda: FAR)
            proxy.cut()
            await poll_job(feed.id, scheduler=scheduler)
            await digest_job(sub.id, scheduler=scheduler)
            await sync_job(scheduler=scheduler)
            assert jobstore.get_due_jobs(FAR) == []  # APScheduler's look at its jobs waits
            assert jobstore.get_next_run_time() == FAR + JOBSTORE_RETRY
            assert scheduler.health()["jobs"] is None
            proxy.restore()
            assert await scheduler.tick()  # still leading
            assert f"digest-retry:{sub.id}" in {job.id for job in scheduler.jobs()}  # the digest is tried again
            result = await scheduler.run_poll(feed.id)
            assert isinstance(result, FeedResult) and (result.status, result.new) == ("ok", 1)
        finally:
            await scheduler.stop()
        stored = store.get_feed(feed.id)
        assert stored is not None and stored.consecutive_failures == 0
    assert_quiet(caplog, capsys)
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(name, level) for name, level, _ in logged] == [("newsbrief.store", "WARNING")]  # the one line: gone
    assert [r.getMessage() for r in caplog.records if r.name == "newsbrief.store"][1:] == ["database available again"]


def story_lock_holders(dsn: str) -> list[int]:
    """The server sessions holding the story lock (PostgreSQL splits a bigint advisory key into two halves)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM "
            "pg_database WHERE datname = current_database()) AND classid = %s AND objid = %s AND objsubid = 1",
            (STORY_LOCK_KEY >> 32, STORY_LOCK_KEY & 0xFFFFFFFF),
        ).fetchall()
    return [pid for (pid,) in rows]


def test_a_story_lock_holder_cut_off_mid_transaction_does_not_hold_the_lock_forever(
    proxy: TcpProxy, proxied_url: str, postgres_url: str
) -> None:
    """A process cut off while it holds the story lock, behind a network path that never tells the server (the
    distributed soak's stall: every worker then waited for the lock, their heartbeats and recovery with them):
    the server ends that idle transaction after ``story_lock_idle_s``, and the next article gets its story."""
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with Store(postgres_url) as direct, Store(proxied_url) as cut_off:
        direct.upgrade()
        feed = direct.add_feed("https://news.example/feed.xml", interval_s=900, now=NOW)
        cut_off.story_lock_idle_s = 0.5
        held: list[int] = []

        def cut_while_holding_the_lock(article: Article) -> StoryAssignment:
            held.extend(story_lock_holders(dsn))
            proxy.partition()  # the process is gone; its server session, holding the lock, is not told
            raise RuntimeError("cut off")

        with pytest.raises(Exception):  # noqa: B017 - whatever the driver makes of the dead connection
            cut_off.upsert_article(
                url="https://news.example/a",
                title="Harbour opens a new library",
                text=item_text(0, 0),
                now=NOW,
                feed_id=feed.id,
                assign_story=cut_while_holding_the_lock,
            )
        assert len(held) == 1

        done: list[Article] = []
        waiter = threading.Thread(
            target=lambda: done.append(
                direct.upsert_article(
                    url="https://news.example/b",
                    title="Millbrook closes the old ferry pier",
                    text=item_text(1, 1),
                    now=NOW,
                    feed_id=feed.id,
                    assign_story=lambda _article: StoryAssignment("story-b"),
                )[0]
            ),
            daemon=True,
        )
        waiter.start()
        waiter.join(20)  # on the server's clock: 0.5 s idle ends the holder's session
        freed = not waiter.is_alive()
        if not freed:  # the lock is still held: free it, so the test ends (and fails)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (held[0],))
            waiter.join(20)
        assert freed, "the story lock stayed held by a session cut off mid-transaction"
        assert done
        assert done[0].story_id == "story-b" and story_lock_holders(dsn) == []
        assert direct.get_article("https://news.example/a") is None  # nothing of the cut-off transaction stored


def test_a_pooled_connection_ended_by_the_server_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends the session of a pooled connection (a restart, an operator's ``pg_terminate_backend``):
    taken again after ``PING_IDLE_S`` idle, it is pinged and replaced, and the call succeeds; taken again sooner
    (a connection in steady use is not pinged) the call fails as unavailable, and the next one succeeds."""
    import bot.store._base as store_base

    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")

    def end_the_pooled_session(store: Store) -> None:
        with store.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    with Store(postgres_url) as store:
        store.upgrade()
        feed = store.add_feed("https://news.example/feed.xml", interval_s=900, now=NOW)

        monkeypatch.setattr(store_base, "PING_IDLE_S", 3600.0)
        end_the_pooled_session(store)
        with pytest.raises(StoreUnavailable):
            store.get_feed(feed.id)
        assert store.get_feed(feed.id) == feed  # the pool let the dead connection go

        monkeypatch.setattr(store_base, "PING_IDLE_S", 0.0)
        end_the_pooled_session(store)
        assert store.get_feed(feed.id) == feed
