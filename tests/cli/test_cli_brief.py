"""``newsbrief brief TEXT... [--json] [--since 72h]`` on a SQLite store in tmp_path (../shared/SPEC.md, "CLI")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.store import Store


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A config with a SQLite store holding two articles of one story (an hour old) and one of 4 days ago."""
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "nb.db"
    path = tmp_path / "newsbrief.toml"
    path.write_text(f"[store]\nurl = \"sqlite:///{db}\"\n[topics]\nharbour = 'harbour OR ferry'\n", encoding="utf-8")
    # The CLI reads the clock, so the archive is placed relative to the real time.
    now = datetime.now(UTC)
    with Store(f"sqlite:///{db}") as store:
        store.upgrade()
        for outlet, hours in (("post.example", 2), ("times.example", 1)):
            article, _ = store.upsert_article(
                url=f"https://{outlet}/ferry",
                title=f"Harbour ferry resumes ({outlet})",
                outlet=outlet,
                text="The harbour ferry resumed service on Monday. Engineers rebuilt the landing stage.",
                now=now - timedelta(hours=hours),
                published_at=now - timedelta(hours=hours),
                summary={
                    "sentences": [
                        "The harbour ferry resumed service on Monday.",
                        "Engineers rebuilt the landing stage.",
                    ],
                    "quotes": [{"text": "Islanders have been patient", "speaker": "Alan Whitcombe"}],
                },
            )
            store.assign_story(article.id, "s-ferry", now)
        store.upsert_article(
            url="https://post.example/old",
            title="Old ferry timetable",
            outlet="post.example",
            text="The old ferry timetable was published.",
            now=now - timedelta(days=4),
        )
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_brief_prints_a_briefing(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--config", config, "brief", "harbour")
    assert status == 0, err
    assert out.startswith("Briefing: harbour (topic) — 1 story, last 72 h")
    assert "Harbour ferry resumes" in out
    assert "“Islanders have been patient” — Alan Whitcombe" in out
    assert "post.example: https://post.example/ferry" in out and "times.example: https://times.example/ferry" in out
    assert "Old ferry timetable" not in out  # 4 days old
    assert err == ""


def test_brief_json_and_since(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--config", config, "brief", "ferry", "timetable", "--json", "--since", "5d")
    assert status == 0
    data = json.loads(out)
    assert set(data) == {"query", "generated_at", "stories", "more"}
    assert data["query"] == "ferry timetable"
    assert [s["headline"] for s in data["stories"]] == ["Old ferry timetable"]
    assert data["more"] == 0

    status, out, _ = run(capsys, "--config", config, "brief", "ferry", "--json")
    data = json.loads(out)
    assert len(data["stories"]) == 1
    assert [s["outlet"] for s in data["stories"][0]["sources"]] == ["times.example", "post.example"]  # newest first


def test_no_match_is_helpful_and_exits_0(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--config", config, "brief", "harbor")
    assert status == 0
    assert out.strip() == "Nothing found for “harbor” in the last 72 h. Try a topic: harbour (or other words)."
    assert err == ""
    status, out, _ = run(capsys, "--config", config, "brief", "volcano", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["stories"] == [] and data["more"] == 0 and data["query"] == "volcano"


def test_every_word_after_brief_is_the_query_dashes_included(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``-timetable`` excludes a word (it is no option): the words keep their order; brief's own options may come
    before, between or after them."""
    status, out, err = run(capsys, "--config", config, "brief", "ferry", "-timetable")
    assert status == 0, err
    assert out.startswith("Briefing: ferry -timetable — 1 story")

    argv = ["--config", config, "brief", "-timetable", "--since", "5d", "ferry", "--json"]
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    data = json.loads(out)
    assert data["query"] == "-timetable ferry"
    assert [s["headline"] for s in data["stories"]] == ["Harbour ferry resumes (times.example)"]
    status, out, _ = run(capsys, "--config", config, "brief", "ferry", "--since", "5d", "-resumes", "--json")
    assert [s["headline"] for s in json.loads(out)["stories"]] == ["Old ferry timetable"]


@pytest.mark.parametrize("since", ["soon", "0h", "-1h"])
def test_bad_since_is_a_usage_error(config: str, since: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "--config", config, "brief", "ferry", f"--since={since}")
    assert status == 2
    assert "--since" in err
