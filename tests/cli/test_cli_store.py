"""The store commands of the CLI (feeds, poll, articles, db) on a loopback feed server and a SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.store import Store
from testkit.fakeslack import FakeSlack
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.test_ingest import BARRIER, BRIDGE, page

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        s.route("/barrier", page("Council approves tidal barrier", BARRIER))
        s.route("/bridge", page("Rail bridge reopens", BRIDGE))
        items = [
            Item("Council approves tidal barrier", s.url("/barrier"), guid="b1"),
            Item("Rail bridge reopens", s.url("/bridge"), guid="b2"),
        ]
        s.route("/feed.xml", rss_feed(items, title="Harbour Post"), headers={"Content-Type": "application/rss+xml"})
        s.route(
            "/home",
            f'<html><head><link rel="alternate" type="application/rss+xml" href="{s.url("/feed.xml")}"></head>'
            "<body>Welcome</body></html>",
            headers={"Content-Type": "text/html"},
        )
        yield s


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()  # only ./var is created by newsbrief
    path = tmp_path / "newsbrief.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "data" / "nb.db"}"\n[network]\nallow_private = ["127.0.0.1"]\n',
        encoding="utf-8",
    )
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_add_poll_list_and_show(server: FeedServer, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--config", config, "feeds", "add", server.url("/home"), "--interval", "30m")
    assert status == 0, out
    assert f"added feed 1: {server.url('/feed.xml')} (discovered on {server.url('/home')})" in out

    status, out, err = run(capsys, "--config", config, "feeds", "add", server.url("/feed.xml"))
    assert status == 1 and "already" in err

    status, out, _ = run(capsys, "--config", config, "feeds", "list", "--json")
    feeds = json.loads(out)
    assert [(f["id"], f["name"], f["interval_s"], f["enabled"]) for f in feeds] == [(1, "Harbour Post", 1800, True)]

    status, out, _ = run(capsys, "--config", config, "poll")
    assert status == 0 and "feed.xml" in out and "ok" in out

    status, out, _ = run(capsys, "--config", config, "articles", "list", "--json")
    listed = json.loads(out)
    assert len(listed) == 2 and all("text" not in a for a in listed)

    status, out, _ = run(capsys, "--config", config, "articles", "show", server.url("/barrier"), "--json")
    shown = json.loads(out)
    assert set(shown) == {
        "id",
        "url",
        "canonical_url",
        "feeds",
        "title",
        "author",
        "published_at",
        "first_seen",
        "text",
        "text_source",
        "story_id",
        "summary",
    }
    assert shown["feeds"] == [server.url("/feed.xml")]
    assert shown["text_source"] == "page" and "40 million pounds" in shown["text"]
    assert shown["summary"]["sentences"] and set(shown["summary"]["quotes"][0]) == {"text", "speaker"}
    status, out, _ = run(capsys, "--config", config, "articles", "show", shown["id"], "--json")
    assert status == 0 and json.loads(out)["url"] == shown["url"]

    status, out, _ = run(capsys, "--config", config, "articles", "show", shown["id"])
    assert status == 0 and "Council approves tidal barrier" in out

    status, _, err = run(capsys, "--config", config, "articles", "show", "a_nothere")
    assert status == 1 and "a_nothere" in err


def test_feeds_check_remove_and_db(server: FeedServer, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--config", config, "feeds", "check", server.url("/feed.xml"))
    assert status == 0 and "2 entries" in out and "Rail bridge reopens" in out
    assert run(capsys, "--config", config, "feeds", "add", server.url("/feed.xml"))[0] == 0
    assert run(capsys, "--config", config, "db", "upgrade")[0] == 0
    status, out, _ = run(capsys, "--config", config, "db", "prune")
    assert status == 0 and "pruned 0 articles" in out
    from bot.store import Store

    with Store(f"sqlite:///{Path(config).parent / 'data' / 'nb.db'}") as store:  # ten failures disable the feed
        for _ in range(10):
            store.record_poll_failure(1, kind="http", message="HTTP 503", now=NOW, next_poll_at=NOW)
    status, out, _ = run(capsys, "--config", config, "feeds", "list")
    assert "disabled" in out
    status, out, _ = run(capsys, "--config", config, "feeds", "enable", "1")
    assert status == 0 and "enabled, due now; it was disabled because: 10 consecutive failures" in out
    with Store(f"sqlite:///{Path(config).parent / 'data' / 'nb.db'}") as store:
        feed = store.get_feed(1)
        assert feed is not None and feed.enabled and feed.consecutive_failures == 0
    assert run(capsys, "--config", config, "feeds", "enable", "9")[0] == 1
    status, out, _ = run(capsys, "--config", config, "feeds", "remove", "1")
    assert status == 0
    status, _, err = run(capsys, "--config", config, "feeds", "remove", "1")
    assert status == 1 and "no feed" in err


def test_poll_exits_1_when_a_feed_failed_unless_told_to_ignore_it(
    server: FeedServer, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """cron and scripts see the exit status only: a failed feed must show in it."""
    with open(config, "a", encoding="utf-8") as file:
        file.write(f"[[feeds]]\nurl = '{server.url('/feed.xml')}'\n[[feeds]]\nurl = '{server.url('/gone.xml')}'\n")
    status, out, err = run(capsys, "--config", config, "poll", "--all")
    assert status == 1 and "HTTP 404" in out
    assert err.strip().splitlines()[-1] == (
        "newsbrief: poll: 1 of 2 feeds failed (see the table above; --ignore-failures exits 0 all the same)"
    )
    status, out, err = run(capsys, "--config", config, "poll", "--all", "--ignore-failures")
    assert status == 0 and "HTTP 404" in out and "failed" not in err


def test_feeds_check_takes_a_feed_id_and_counts_in_words(
    server: FeedServer, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.route(
        "/one.xml",
        rss_feed([Item("Ferry timetable", server.url("/bridge"), guid="t1")], title="One"),
        headers={"Content-Type": "application/rss+xml"},
    )
    assert run(capsys, "--config", config, "feeds", "add", server.url("/one.xml"))[0] == 0
    status, out, _ = run(capsys, "--config", config, "feeds", "list")
    assert status == 0 and "1 feed\n" in out and "1 feeds" not in out
    status, out, err = run(capsys, "--config", config, "feeds", "check", "1")
    assert status == 0, err
    assert out.startswith(f"{server.url('/one.xml')}: One: 1 entry\n")
    status, _, err = run(capsys, "--config", config, "feeds", "check", "7")
    assert status == 1 and "no feed 7 (see `newsbrief feeds list`)" in err


def test_a_url_without_a_scheme_gets_the_url_it_probably_means(
    config: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "--config", config, "feeds", "add", "example.org/rss")
    assert status == 1 and "unsupported scheme" not in err
    assert "'example.org/rss' is not a URL: did you mean https://example.org/rss ?" in err
    (tmp_path / "local.xml").write_text(rss_feed([]), encoding="utf-8")
    status, _, err = run(capsys, "--config", config, "feeds", "check", "local.xml")  # the cwd is tmp_path
    assert status == 1 and f"did you mean {(tmp_path / 'local.xml').as_uri()} ?" in err


def test_a_missing_sqlite_folder_is_named_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in [store] url must not create directories: only ./var, the default database's, is created."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "newsbrief.toml"
    for url in ("sqlite:///dta/nb.db", f"sqlite:///{tmp_path}/srv/newsbrief/nb.db"):
        path.write_text(f"[store]\nurl = '{url}'\n", encoding="utf-8")
        status, _, err = run(capsys, "--config", str(path), "feeds", "list")
        folder = tmp_path / url.removeprefix("sqlite:///").removeprefix(f"{tmp_path}/").split("/")[0]
        assert status == 1 and "does not exist" in err and len(err.strip().splitlines()) == 1
        assert not folder.exists(), url
    assert f"the folder {tmp_path / 'srv' / 'newsbrief'} does not exist" in err
    path.write_text("[store]\nurl = 'sqlite:///var/nb.db'\n", encoding="utf-8")
    assert run(capsys, "--config", str(path), "feeds", "list")[0] == 0
    assert (tmp_path / "var" / "nb.db").is_file()


def test_db_upgrade_gives_articles_without_a_story_one(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Articles an older version stored without their story (killed between the two writes) are filed."""
    with Store(f"sqlite:///{tmp_path / 'data' / 'nb.db'}") as store:
        store.upgrade()
        for path, text in (("/barrier", BARRIER), ("/bridge", BRIDGE)):
            store.upsert_article(url=f"https://harbour.example{path}", title=path[1:], text=text, now=NOW)
        assert len(store.integrity_check()) == 1
    status, out, _ = run(capsys, "--config", config, "db", "upgrade")
    assert status == 0 and "gave 2 articles without a story a story" in out
    with Store(f"sqlite:///{tmp_path / 'data' / 'nb.db'}") as store:
        assert store.integrity_check() == [] and all(a.story_id for a in store.list_articles(10))
    status, out, _ = run(capsys, "--config", config, "db", "upgrade")
    assert status == 0 and "without a story" not in out


def test_a_private_address_is_refused_without_a_connection(
    tripwire: list[str], server: FeedServer, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/feed.xml", host="127.0.0.2")
    status, _, err = run(capsys, "--config", config, "feeds", "add", url)
    assert status == 1 and "127.0.0.2" in err
    assert server.requests_for("/feed.xml") == []
    assert tripwire == []


def test_bad_interval_and_bad_config_exit_2(config: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "--config", config, "feeds", "add", "http://127.0.0.1:9/x", "--interval", "soon")
    assert status == 2 and "--interval" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[poll]\ninterval = 'never'\n", encoding="utf-8")
    status, _, err = run(capsys, "--config", str(bad), "poll")
    assert status == 2 and "poll.interval" in err and str(bad) in err


def test_doctor_checks_feeds_once_and_never_prints_a_token(
    server: FeedServer,
    config: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value-123")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-secret-value-456")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    slack = FakeSlack()
    slack.start()
    request.addfinalizer(slack.stop)
    with open(config, "a", encoding="utf-8") as file:
        file.write(f"[slack]\napi_url = '{slack.api_url}'\n")
    server.route("/gone.xml", "no", status=404)
    assert run(capsys, "--config", config, "feeds", "add", server.url("/feed.xml"))[0] == 0
    status, out, err = run(capsys, "--config", config, "doctor")
    assert status == 0 and "valid" in out and "revision" in out and "2 entries" in out
    assert "SLACK_BOT_TOKEN: set" in out and "DISCORD_TOKEN: not set" in out
    assert "xoxb-secret-value-123" not in out + err and "xapp-secret-value-456" not in out + err
    assert "slack: token ok" in out and "slack: scopes ok" in out

    # A feed that fails its check makes doctor exit 1 and names it; the other feeds are still checked.
    from bot.store import Store

    path = Path(config).parent / "data" / "nb.db"
    with Store(f"sqlite:///{path}") as store:
        from datetime import UTC, datetime

        store.add_feed(server.url("/gone.xml"), interval_s=900, now=datetime(2025, 1, 1, tzinfo=UTC))
    status, out, _ = run(capsys, "--config", config, "doctor")
    assert status == 1 and "FAILED" in out and "404" in out and "2 entries" in out
