"""OPML import and export: ``newsbrief feeds import FILE.opml`` and ``feeds export [FILE]``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.opml import OpmlError, OpmlFeed, parse_opml, write_opml
from bot.store import NewFeed, Store

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

READER_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World News" title="World News">
      <outline type="rss" text="Harbour Post" title="The Harbour Post" xmlUrl="https://harbour.example/rss"
               htmlUrl="https://harbour.example/"/>
      <outline text="Europe">
        <outline type="rss" text="Kyiv Wire" xmlUrl="https://kyiv.example/feed.xml" category="/Ukraine/Politics"/>
      </outline>
    </outline>
    <outline type="rss" text="Status page" xmlUrl="https://status.example/history.atom"/>
    <outline text="Tech">
      <outline type="rss" text="Harbour Post (again)" xmlUrl="https://harbour.example/rss"/>
    </outline>
  </body>
</opml>
"""


def test_parse_maps_titles_categories_and_folders() -> None:
    feeds = parse_opml(READER_EXPORT.encode())
    assert feeds == [
        OpmlFeed("https://harbour.example/rss", "The Harbour Post", ("world-news",), 6),
        OpmlFeed("https://kyiv.example/feed.xml", "Kyiv Wire", ("ukraine", "politics", "world-news", "europe"), 9),
        OpmlFeed("https://status.example/history.atom", "Status page", (), 12),
        OpmlFeed("https://harbour.example/rss", "Harbour Post (again)", ("tech",), 14),
    ]


@pytest.mark.parametrize(
    ("document", "line", "problem"),
    [
        ("this is not XML at all", 1, "not well-formed XML (syntax error, column 1)"),
        (
            '<opml version="2.0">\n<head/>\n<body>\n<outline text="x" xmlUrl="https://a.example/"/>\n',
            5,
            "not well-formed XML",
        ),
        ('<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', 2, "the root element is <rss>, not <opml>"),
        ('<opml version="2.0">\n  <head><title>t</title></head>\n</opml>', 1, "no <body> element"),
        (
            '<opml version="2.0"><body>\n<outline text="Folder">\n<outline text="Broken" htmlUrl="https://b.example/"/>'
            "\n</outline></body></opml>",
            3,
            "outline 'Broken' has no xmlUrl",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE opml [\n <!ENTITY lol "lol">\n <!ENTITY lol2 "&lol;&lol;&lol;">\n]>\n'
            '<opml><body><outline text="&lol2;" xmlUrl="https://a.example/"/></body></opml>',
            3,
            "refused: the document declares XML entities",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE opml [\n<!ENTITY secret SYSTEM "file:///etc/passwd">\n]>\n'
            '<opml><body><outline text="&secret;" xmlUrl="https://a.example/"/></body></opml>',
            3,
            "refused: the document declares XML entities",
        ),
        (
            '<opml version="2.0"><body><outline text="&nbsp;" xmlUrl="https://a.example/"/></body></opml>',
            1,
            "not well-formed XML (undefined entity",
        ),
    ],
)
def test_bad_opml_names_the_line(document: str, line: int, problem: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(document.encode())
    assert caught.value.line == line
    assert problem in str(caught.value) and str(caught.value).startswith(f"line {line}: ")


# ---------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "newsbrief.toml"
    path.write_text(f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n", encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> tuple[int, str, str]:
    status = main(["--config", config, "feeds", *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def stored(capsys: pytest.CaptureFixture[str], config: str) -> list[tuple[str, str | None, list[str], int]]:
    status, out, _ = run(capsys, config, "list", "--json")
    assert status == 0
    return [(f["url"], f["name"], f["tags"], f["interval_s"]) for f in json.loads(out)]


def test_import_without_fetching_then_export_round_trip(
    tripwire: list[str], config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reader.opml").write_text(READER_EXPORT, encoding="utf-8")
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        store.upgrade()
        store.add_feed("https://status.example/history.atom", name="Status", now=NOW)
    status, out, err = run(capsys, config, "import", str(tmp_path / "reader.opml"), "--interval", "1h")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"imported 2 feeds from {tmp_path / 'reader.opml'}, every 1h (not fetched now")
    assert sorted(lines[1:]) == [
        "  line 12: https://status.example/history.atom: already added (id 1), left as it is",
        "  line 14: https://harbour.example/rss: also on line 6 (tags merged)",
    ]
    assert tripwire == []  # neither fetched nor even resolved
    assert stored(capsys, config) == [
        ("https://status.example/history.atom", "Status", [], 900),
        ("https://harbour.example/rss", "The Harbour Post", ["world-news", "tech"], 3600),
        ("https://kyiv.example/feed.xml", "Kyiv Wire", ["ukraine", "politics", "world-news", "europe"], 3600),
    ]
    assert run(capsys, config, "import", str(tmp_path / "reader.opml"))[1].startswith("imported 0 feeds")

    status, out, _ = run(capsys, config, "export")
    assert status == 0 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert [(f.url, f.name, f.tags) for f in parse_opml(out.encode())] == [
        (url, name, tuple(tags)) for url, name, tags, _ in stored(capsys, config)
    ]
    exported = tmp_path / "export.opml"
    assert run(capsys, config, "export", str(exported)) == (0, f"exported 3 feeds to {exported}\n", "")

    other = tmp_path / "other"
    other.mkdir()
    second = other / "newsbrief.toml"
    second.write_text(f"[store]\nurl = 'sqlite:///{other}/nb.db'\n", encoding="utf-8")
    assert run(capsys, str(second), "import", str(exported))[0] == 0
    assert [(u, n, t) for u, n, t, _ in stored(capsys, str(second))] == [
        (u, n, t) for u, n, t, _ in stored(capsys, config)
    ]


def opml(*outlines: str) -> str:
    return '<?xml version="1.0"?>\n<opml version="2.0">\n<head/>\n<body>\n' + "\n".join(outlines) + "\n</body></opml>"


GOOD = '<outline text="Good" xmlUrl="https://good.example/rss"/>'


@pytest.mark.parametrize(
    ("outline", "problem"),
    [
        ('<outline text="Local" xmlUrl="file:///etc/passwd"/>', "file:///etc/passwd: file: URLs are not imported"),
        ('<outline text="Router" xmlUrl="http://192.168.1.1/rss"/>', "blocked: host '192.168.1.1' is or resolves"),
        ('<outline text="Metadata" xmlUrl="http://[::ffff:169.254.169.254]/"/>', "blocked: host"),
        ('<outline text="Here" xmlUrl="http://localhost:8080/feed"/>', "blocked: host 'localhost'"),
        ('<outline text="Here" xmlUrl="http://admin.localhost/feed"/>', "blocked: host 'admin.localhost'"),
        ('<outline text="FTP" xmlUrl="ftp://files.example/rss"/>', "invalid_url: unsupported scheme 'ftp'"),
        ('<outline text="Port" xmlUrl="https://bad.example:99999/rss"/>', "invalid_url: malformed URL"),
    ],
)
def test_a_refused_url_imports_nothing(
    tripwire: list[str], config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], outline: str, problem: str
) -> None:
    path = tmp_path / "feeds.opml"
    path.write_text(opml(GOOD, outline), encoding="utf-8")
    status, out, err = run(capsys, config, "import", str(path))
    assert status == 1 and out == ""
    assert err.startswith(f"newsbrief: {path}: line 6: ") and problem in err and err.endswith("; nothing imported\n")
    assert stored(capsys, config) == []
    assert tripwire == []


def test_bad_opml_imports_nothing_and_says_where(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feeds.opml"
    path.write_text(opml(GOOD, '<outline text="No URL"/>', GOOD.replace("good", "bad")), encoding="utf-8")
    status, _, err = run(capsys, config, "import", str(path))
    assert status == 1
    assert (
        err == f"newsbrief: {path}: line 6: outline 'No URL' has no xmlUrl (a feed needs one) and no outlines "
        "inside it; nothing imported\n"
    )
    path.write_text(opml(GOOD, '<outline xmlUrl="http://10.1.2.3/"/>', '<outline xmlUrl="file:/x"/>'), "utf-8")
    err = run(capsys, config, "import", str(path))[2]
    assert "line 6: http://10.1.2.3/: blocked" in err and "(and 1 more); nothing imported" in err
    status, _, err = run(capsys, config, "import", str(tmp_path / "missing.opml"))
    assert status == 1 and err.startswith(f"newsbrief: {tmp_path / 'missing.opml'}: cannot read OPML file:")
    assert stored(capsys, config) == []


def test_allow_private_lets_a_listed_host_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "newsbrief.toml"
    config.write_text(f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n[network]\nallow_private = ['10.0.0.0/8']\n")
    path = tmp_path / "feeds.opml"
    path.write_text(opml('<outline text="Intranet" xmlUrl="http://10.1.2.3/rss"/>'), encoding="utf-8")
    assert run(capsys, str(config), "import", str(path))[0] == 0
    assert [url for url, *_ in stored(capsys, str(config))] == ["http://10.1.2.3/rss"]


def test_export_leaves_local_feeds_out(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        store.upgrade()
        store.add_feed("file:///srv/feeds/local.xml", now=NOW)
        store.add_feed("https://a.example/rss", tags=("world", "daily"), now=NOW)
    status, out, err = run(capsys, config, "export", "-")
    assert status == 0 and err == "left out 1 local file: feed\n"
    assert '<outline type="rss" text="https://a.example/rss" title="https://a.example/rss" ' in out
    assert 'xmlUrl="https://a.example/rss" category="world,daily" />' in out


def test_write_opml_escapes_names() -> None:
    with Store("sqlite://") as store:
        store.upgrade()
        feed = store.add_feed("https://a.example/rss?x=1&y=2", name='Q&A "<live>"', now=NOW)
    text = write_opml([feed], title="t", created=NOW)
    assert "<dateCreated>Sat, 01 Mar 2025 09:30:00 +0000</dateCreated>" in text
    assert parse_opml(text.encode()) == [OpmlFeed("https://a.example/rss?x=1&y=2", 'Q&A "<live>"', (), 8)]


# ---------------------------------------------------------------------------------------------- store


def test_add_feeds_is_all_or_nothing(store: Store) -> None:
    store.add_feed("https://b.example/rss", now=NOW)
    batch = [NewFeed("https://a.example/rss", name="A", tags=("x",)), NewFeed("https://b.example/rss")]
    with pytest.raises(ValueError, match=r"feed https://b.example/rss is already added \(id 1\)"):
        store.add_feeds(batch, now=NOW)
    with pytest.raises(ValueError, match="given twice"):
        store.add_feeds([NewFeed("https://c.example/"), NewFeed("https://c.example/")], now=NOW)
    assert [f.url for f in store.list_feeds()] == ["https://b.example/rss"]
    added = store.add_feeds([NewFeed("https://a.example/rss", name="A", interval_s=60, tags=("x",))], now=NOW)
    assert [(f.url, f.name, f.interval_s, f.tags) for f in added] == [("https://a.example/rss", "A", 60, ("x",))]
    assert store.add_feeds([], now=NOW) == []
