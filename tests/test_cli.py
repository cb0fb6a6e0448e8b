"""Tests of the ``newsbrief`` command line (bot/__main__.py); ``run`` on the demo config is in test_console.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.__main__ import main


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient config or chat tokens, a working directory without newsbrief.toml, and empty stdin."""
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def write_config(folder: Path) -> Path:
    """A config with one topic (``marker``) and no feeds; returns its path."""
    config = folder / "newsbrief.toml"
    config.write_text(f"[store]\nurl = 'sqlite:///{folder}/nb.db'\n[topics]\nmarker = 'zzzmarker'\n", encoding="utf-8")
    return config


def assert_ran_with_config(output: str) -> None:
    assert "Feeds are polled once at start for now" in output
    assert "Nothing new on marker." in output


def test_config_option_before_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(write_config(tmp_path)), "run"]) == 0

    assert_ran_with_config(capsys.readouterr().out)


def test_config_option_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(write_config(tmp_path))]) == 0

    assert_ran_with_config(capsys.readouterr().out)


def test_config_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBRIEF_CONFIG", str(write_config(tmp_path)))

    assert main(["run"]) == 0

    assert_ran_with_config(capsys.readouterr().out)


def test_newsbrief_toml_in_working_directory_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    write_config(Path.cwd())

    assert main(["run"]) == 0

    assert_ran_with_config(capsys.readouterr().out)


def test_run_without_config_uses_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 0

    out = capsys.readouterr().out
    assert "sqlite:///var/newsbrief.db" in out
    assert "No feeds configured" in out
    assert "Slack" not in out
    assert (Path.cwd() / "var" / "newsbrief.db").is_file()


def test_run_says_chat_adapters_are_not_started_when_tokens_are_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token")

    assert main(["run"]) == 0

    out = capsys.readouterr().out
    assert "adapters are not started yet" in out
    assert "not-a-real-token" not in out


def test_missing_config_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-config.toml"

    assert main(["--config", str(missing), "run"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert str(missing) in err
    assert len(err.strip().splitlines()) == 1


def test_invalid_toml_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('[topics]\nx = "unterminated\n', encoding="utf-8")

    assert main(["--config", str(config), "run"]) == 2

    err = capsys.readouterr().err
    assert str(config) in err
    assert "TOML" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["feeds"], ["brief"], ["run", "--bogus"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2

    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["feeds", "add", "--help"]])
def test_help_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0

    assert "usage: newsbrief" in capsys.readouterr().out
