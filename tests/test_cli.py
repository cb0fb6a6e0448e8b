"""Tests of the ``newsbrief`` command line (bot/__main__.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import summarizer
from bot.__main__ import BUNDLED_ARTICLE, REPO_ROOT, main
from summarizer import Quote, Summary

ARTICLE_TITLE = "Harbour ferry service to resume after six-month repair"
ARTICLE_BODY = (
    "The harbour ferry between Northpoint and Kell Island will resume service on Monday after a "
    "six-month repair of its landing stage, the port authority said on Thursday.\n\n"
    "Engineers replaced corroded steel piles and rebuilt the passenger ramp, which had been closed "
    "since a storm damaged it in March.\n\n"
    '"Islanders have been patient, and we are grateful for that," port director Alan Whitcombe said. '
    '"The new ramp should last another forty years," he said.\n\n'
    "Timetables will return to the pre-storm schedule of a crossing every 40 minutes."
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient config: no $NEWSBRIEF_CONFIG, and a working directory without newsbrief.toml."""
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def write_demo(tmp_path: Path, body: str = ARTICLE_BODY) -> Path:
    """An article file and a config naming it (relative to the config); returns the config path."""
    (tmp_path / "article.txt").write_text(f"{ARTICLE_TITLE}\n\n{body}\n", encoding="utf-8")
    config = tmp_path / "newsbrief.toml"
    config.write_text('demo_article = "article.txt"\n', encoding="utf-8")
    return config


def bullets(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("- ")]


def normalized(text: str) -> str:
    return " ".join(text.split())


def test_run_prints_title_and_summary_of_configured_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_demo(tmp_path)

    assert main(["--config", str(config), "run"]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines()[0] == ARTICLE_TITLE
    found = bullets(out)
    assert 1 <= len(found) <= 3
    for sentence in found:  # extractive: every bullet comes from the article body
        assert normalized(sentence) in normalized(ARTICLE_BODY)
    for line in out.splitlines():
        if line.strip().startswith("“"):
            assert "”" in line
    assert err == ""


def test_run_prints_quotes_as_text_and_speaker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_demo(tmp_path)
    calls: list[dict[str, object]] = []

    def fake_summarize(text: str, **kwargs: object) -> Summary:
        calls.append({"text": text, **kwargs})
        start = text.index("Islanders")
        quote_text = "Islanders have been patient, and we are grateful for that,"
        quote = Quote(text=quote_text, start=start, end=start + len(quote_text), speaker="Alan Whitcombe")
        return Summary(sentences=("First sentence.",), quotes=(quote,), algorithm="default")

    monkeypatch.setattr(summarizer, "summarize", fake_summarize)

    assert main(["--config", str(config), "run"]) == 0

    out = capsys.readouterr().out
    assert "- First sentence." in out.splitlines()
    # the article's comma before the attribution is dropped in the rendering
    expected = "  “Islanders have been patient, and we are grateful for that” — Alan Whitcombe"
    assert expected in out.splitlines()
    (call,) = calls
    assert call["title"] == ARTICLE_TITLE
    assert call["text"] == ARTICLE_BODY  # the title line is not part of the body
    assert call["sentences"] == 3
    assert call["quotes"] == 2


def test_config_option_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_demo(tmp_path)

    assert main(["run", "--config", str(config)]) == 0

    assert capsys.readouterr().out.splitlines()[0] == ARTICLE_TITLE


def test_config_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBRIEF_CONFIG", str(write_demo(tmp_path)))

    assert main(["run"]) == 0

    assert capsys.readouterr().out.splitlines()[0] == ARTICLE_TITLE


def test_newsbrief_toml_in_working_directory_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    write_demo(Path.cwd())

    assert main(["run"]) == 0

    assert capsys.readouterr().out.splitlines()[0] == ARTICLE_TITLE


def test_run_without_config_uses_seed_or_bundled_article(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 0

    out = capsys.readouterr().out
    seed = REPO_ROOT.parent / "shared" / "fixtures" / "seed-article.txt"
    article = seed if seed.is_file() else BUNDLED_ARTICLE
    assert out.splitlines()[0] == article.read_text(encoding="utf-8").splitlines()[0].strip()
    assert bullets(out)


def test_shipped_demo_config_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """make run: the seed article when ../shared is beside the project, else our bundled article."""
    assert main(["--config", str(REPO_ROOT / "config" / "demo.toml"), "run"]) == 0

    out = capsys.readouterr().out
    seed = REPO_ROOT.parent / "shared" / "fixtures" / "seed-article.txt"
    article = seed if seed.is_file() else BUNDLED_ARTICLE
    assert out.splitlines()[0] == article.read_text(encoding="utf-8").splitlines()[0].strip()
    assert bullets(out)


def test_missing_config_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-config.toml"

    assert main(["--config", str(missing), "run"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert str(missing) in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_toml_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('demo_article = "unterminated\n', encoding="utf-8")

    assert main(["--config", str(config), "run"]) == 2

    err = capsys.readouterr().err
    assert str(config) in err
    assert "TOML" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_demo_article_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "newsbrief.toml"
    config.write_text('demo_article = "gone.txt"\n', encoding="utf-8")

    assert main(["--config", str(config), "run"]) == 2

    err = capsys.readouterr().err
    assert "demo_article" in err
    assert "gone.txt" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["digest", "7", "--dry-run"],
        ["subs", "list", "--json"],
        ["doctor"],
    ],
)
def test_unimplemented_commands_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert "not implemented yet" in err


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["feeds"], ["brief"], ["run", "--bogus"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2

    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["feeds", "add", "--help"]])
def test_help_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0

    assert "usage: newsbrief" in capsys.readouterr().out
