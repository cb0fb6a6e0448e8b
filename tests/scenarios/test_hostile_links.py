"""Hostile links: a URL that a fetched document names never makes newsbrief read a local file.

Part of the hostile-input suite (tests/scenarios/test_hostile.py has the map). A feed served over HTTP names
``file:`` URLs (every spelling: ``file:///``, ``FILE:``, ``File://localhost/``, ``file:/x``) as entry links in
RSS, Atom and JSON Feed, or links to an HTTP page that redirects to ``file:``; a web page advertises a ``file:``
feed to ``newsbrief feeds add``; an operator's own ``file:`` feed links out of its folder (``..``, a symlink, an
encoded ``..``). Each runs under the loopback tripwire and the ``file_opens`` audit hook: the sentinel file is
never opened, no file outside the test's folder, the project and the Python installation is opened, and the
sentinel's text is nowhere in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.__main__ import main
from bot.config import NetworkConfig, settings_from_mapping
from bot.ingest import FeedResult, http_client, ingestor_for
from bot.sources import Fetcher, FetchError, discover_feeds, linked_url_refusal
from bot.store import Store
from testkit.feedserver import FeedServer, Item, atom_feed, json_feed, rss_feed
from tests import test_ingest
from tests.conftest import FileOpens
from tests.test_ingest import BARRIER, BRIDGE, page

NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
SENTINEL = "SENTINEL-c0ffee-local-secret"
FEED_TEXT = "The harbour ferry returned to service on Monday after a month of repairs to its engines."
REFUSED = "only http and https links are followed from a fetched feed"


server = test_ingest.server


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A local file the bot must never read: outside any feed's folder."""
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "sentinel.html"
    path.write_text(page("Local secret", f"{BARRIER} The code word is {SENTINEL}."), encoding="utf-8")
    return path


@pytest.fixture
def local_feed(secret_file: Path) -> Path:
    """A local feed beside the sentinel, which no web document may make the bot read."""
    path = secret_file.with_name("feed.xml")
    path.write_text(rss_feed([Item(SENTINEL, secret_file.as_uri(), guid="s1", summary=SENTINEL)]), encoding="utf-8")
    return path


SPELLINGS: dict[str, Callable[[Path], str]] = {
    "file:///": lambda path: path.as_uri(),
    "FILE:///": lambda path: "FILE://" + path.as_posix(),
    "File://localhost/": lambda path: "File://localhost" + path.as_posix(),
    "file:/x": lambda path: "file:" + path.as_posix(),
    "fIlE:/x": lambda path: "fIlE:" + path.as_posix(),
}
FORMATS: dict[str, tuple[Callable[..., str], str]] = {
    "rss": (rss_feed, "application/rss+xml"),
    "atom": (atom_feed, "application/atom+xml"),
    "json": (json_feed, "application/feed+json"),
}


async def poll(store: Store, url: str) -> FeedResult:
    """One poll of the feed at ``url`` through the production wiring (pages fetched, robots.txt honoured)."""
    settings = settings_from_mapping({"network": {"allow_private": ["127.0.0.1"]}})
    feed = store.add_feed(url, name=None, interval_s=900, tags=(), now=NOW)
    async with http_client(settings) as client:
        return await ingestor_for(store, client, settings, NOW).poll_guarded(feed, NOW)


def assert_never_read(store: Store, secret_file: Path, opens: FileOpens, result: FeedResult) -> None:
    assert str(secret_file) not in opens.paths
    assert opens.outside() == []
    for article in store.list_articles(50):
        shown = f"{article.title} {article.text} {article.summary} {article.url}"
        assert SENTINEL not in shown
        assert not article.url.lower().startswith("file:") or "/feeds/" in article.url
    assert SENTINEL not in " ".join(result.errors)


@pytest.mark.parametrize("spelling", list(SPELLINGS))
@pytest.mark.parametrize("kind", list(FORMATS))
async def test_a_fetched_feed_cannot_make_the_bot_read_a_local_file(
    kind: str,
    spelling: str,
    server: FeedServer,
    store: Store,
    secret_file: Path,
    file_opens: FileOpens,
    tripwire: list[str],
) -> None:
    """The entry is kept from its feed text, without the file: link, and the poll's errors say why."""
    make, media = FORMATS[kind]
    link = SPELLINGS[spelling](secret_file)
    server.route(
        "/feed",
        make([Item("Harbour ferry returns", link, guid="g1", summary=FEED_TEXT)]),
        headers={"Content-Type": media},
    )
    result = await poll(store, server.url("/feed"))
    assert (result.status, result.new) == ("ok", 1), result
    assert_never_read(store, secret_file, file_opens, result)
    [article] = store.list_articles(10)
    assert article.text_source == "feed" and "harbour ferry returned" in article.text
    assert article.title == "Harbour ferry returns"
    [error] = result.errors
    assert error.startswith("entry 'Harbour ferry returns': link ") and REFUSED in error, error
    assert "\n" not in error
    assert [r.path for r in server.requests] == ["/feed"]
    assert tripwire == []


async def test_a_link_that_redirects_to_a_local_file_is_not_followed(
    server: FeedServer, store: Store, secret_file: Path, file_opens: FileOpens, tripwire: list[str]
) -> None:
    server.redirect("/story", secret_file.as_uri())
    server.route("/feed", rss_feed([Item("Harbour ferry returns", server.url("/story"), guid="g1", summary=FEED_TEXT)]))
    result = await poll(store, server.url("/feed"))
    assert (result.status, result.new) == ("ok", 1), result
    assert_never_read(store, secret_file, file_opens, result)
    [article] = store.list_articles(10)
    assert article.text_source == "feed" and article.url == server.url("/story")
    assert "/story" in [r.path for r in server.requests]
    assert tripwire == []


async def test_a_feed_whose_body_is_a_local_path_is_not_read_from_disk(
    server: FeedServer,
    store: Store,
    secret_file: Path,
    local_feed: Path,
    file_opens: FileOpens,
    tripwire: list[str],
) -> None:
    """feedparser opens a document given as bytes or str as a file when a file by that name exists: a server
    answering with a path must not make the bot parse that local file as the feed."""
    server.route("/feed", str(local_feed), headers={"Content-Type": "application/rss+xml"})
    result = await poll(store, server.url("/feed"))
    assert result.status == "error" and result.error_kind == "parse", result
    assert str(local_feed) not in file_opens.paths
    assert_never_read(store, secret_file, file_opens, result)
    assert store.list_articles(10) == []
    assert tripwire == []


async def test_an_operator_file_feed_reads_its_own_folder_and_nothing_outside_it(
    tmp_path: Path, store: Store, secret_file: Path, file_opens: FileOpens
) -> None:
    """The demo's layout (a local feed whose entries link to pages beside it) keeps working; links out of the
    feed's folder (``..``, an encoded ``..``, a symlink, an absolute path) are refused."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "story.html").write_text(page("Rail line reopens", BRIDGE), encoding="utf-8")
    (folder / "link.html").symlink_to(secret_file)
    entries = {
        "Rail line reopens": "story.html",
        "Up and out": "../outside/sentinel.html",
        "Encoded": "%2e%2e/outside/sentinel.html",
        "Symlinked": "link.html",
        "Absolute": secret_file.as_uri(),
        "Passwd": "file:///etc/passwd",
    }
    items = [Item(title, href, guid=title, summary=FEED_TEXT) for title, href in entries.items()]
    (folder / "feed.xml").write_text(rss_feed(items), encoding="utf-8")
    result = await poll(store, (folder / "feed.xml").as_uri())
    assert (result.status, result.new) == ("ok", 6), result
    assert_never_read(store, secret_file, file_opens, result)
    assert str(folder / "link.html") not in file_opens.paths
    articles = {a.title: a for a in store.list_articles(10)}
    story = articles["Rail line reopens"]
    assert story.text_source == "page" and "north bank" in story.text
    assert story.url == (folder / "story.html").as_uri()
    assert all(articles[t].text_source == "feed" for t in entries if t != "Rail line reopens")
    refused = sorted(e.split("'")[1] for e in result.errors)
    assert refused == sorted(t for t in entries if t != "Rail line reopens"), result.errors
    # (feedparser spells an absolute file:///x link file://x, a host: refused for naming one)
    reasons = ("only files in the feed's own folder", "file URLs must not name a remote host")
    assert all(" refused: " in e and any(r in e for r in reasons) for e in result.errors), result.errors


def test_the_policy_in_one_place() -> None:
    """linked_url_refusal: None when a URL named by a document at the base URL may be followed, else why not."""
    http = "https://news.example/feed.xml"
    assert linked_url_refusal("https://news.example/a", http) is None
    assert linked_url_refusal("HTTP://news.example/a", http) is None
    for link in ("file:///etc/passwd", "FILE:/etc/passwd", "File://localhost/etc/passwd", "file://host/x"):
        refusal = linked_url_refusal(link, http)
        assert refusal is not None and REFUSED in refusal
    for link in ("javascript:alert(1)", "ftp://news.example/a", "urn:x:1", "data:text/html,hi", "/relative"):
        assert linked_url_refusal(link, http) is not None
    assert linked_url_refusal("file:///srv/demo/a/page.html", "file:///srv/demo/a/feed.xml") is None
    assert linked_url_refusal("file://localhost/srv/demo/a/sub/p.html", "file:///srv/demo/a/feed.xml") is None
    for link in (
        "file:///srv/demo/b/page.html",
        "file:///srv/demo/a/../b/p.html",
        "file:///srv/demo/a/%2e%2e/p",
        "file://elsewhere/srv/demo/a/p.html",
    ):
        assert linked_url_refusal(link, "file:///srv/demo/a/feed.xml") is not None, link


async def test_the_fetcher_reads_files_only_when_told_the_url_is_the_operators(
    secret_file: Path, file_opens: FileOpens
) -> None:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        fetcher = Fetcher(client, NetworkConfig())
        for url in (secret_file.as_uri(), "FILE://" + secret_file.as_posix(), "file:" + secret_file.as_posix()):
            with pytest.raises(FetchError) as info:
                await fetcher.fetch(url)
            assert info.value.kind == "blocked" and "operator" in info.value.message
        assert str(secret_file) not in file_opens.paths
        read = await fetcher.fetch(secret_file.as_uri(), allow_file=True)
    assert SENTINEL.encode() in read.body


def test_discovery_never_offers_a_local_file_from_a_web_page() -> None:
    html = b"""<html><head>
      <link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">
      <link rel="alternate" type="application/rss+xml" href="FILE://localhost/srv/feed.xml">
      <link rel="alternate" type="application/atom+xml" href="/atom.xml">
    </head></html>"""
    assert discover_feeds(html, "http://127.0.0.1/news/") == ["http://127.0.0.1/atom.xml"]
    local = b'<html><head><link rel="alternate" type="application/rss+xml" href="feed.xml"></head></html>'
    assert discover_feeds(local, "file:///srv/demo/index.html") == ["file:///srv/demo/feed.xml"]
    up = b'<html><head><link rel="alternate" type="application/rss+xml" href="../feed.xml"></head></html>'
    assert discover_feeds(up, "file:///srv/demo/index.html") == []


def test_feeds_add_does_not_add_a_local_file_a_web_page_points_to(
    server: FeedServer,
    tmp_path: Path,
    secret_file: Path,
    local_feed: Path,
    file_opens: FileOpens,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.route(
        "/home",
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{local_feed.as_uri()}">'
        "</head><body>Welcome</body></html>",
        headers={"Content-Type": "text/html"},
    )
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "nb.db"}"\n[network]\nallow_private = ["127.0.0.1"]\n', encoding="utf-8"
    )
    status = main(["--config", str(config), "feeds", "add", server.url("/home")])
    out = capsys.readouterr()
    assert status == 1 and "neither a feed" in out.err, out
    assert SENTINEL not in out.out + out.err
    assert str(local_feed) not in file_opens.paths and str(secret_file) not in file_opens.paths
    assert main(["--config", str(config), "feeds", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    # the operator naming a local feed on the command line is another matter: that is read
    assert main(["--config", str(config), "feeds", "add", local_feed.as_uri()]) == 0
    assert "added feed 1" in capsys.readouterr().out
