"""Tests of the ``newsbrief`` command line (bot/__main__.py); ``run`` on the demo config is in test_console.py."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot._logging import REDACTED, configure_logging
from bot.config import load_settings
from testkit.fakediscord import FakeDiscord
from testkit.fakeslack import FakeSlack


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
    assert "Scheduler: this process leads (0 feed polls, 0 digests)." in output
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


def test_run_gives_articles_without_a_story_one_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An article an older version stored without its story (killed between the two writes) is filed at start."""
    from datetime import UTC, datetime

    from bot.store import Store

    config = write_config(tmp_path)
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        store.upgrade()
        store.upsert_article(
            url="https://harbour.example/a",
            title="Ferry",
            text="The ferry runs again.",
            now=datetime(2025, 1, 1, tzinfo=UTC),
        )
        assert store.storyless_articles() != []

    assert main(["--config", str(config), "run"]) == 0

    assert_ran_with_config(capsys.readouterr().out)
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        assert store.storyless_articles() == [] and store.integrity_check() == []


async def test_a_chat_platform_unreachable_at_start_is_connected_later() -> None:
    """The retry loop of `run`: fresh adapters are tried with growing waits until one connects, then joined."""
    from rich.console import Console

    from bot._cli_run import _keep_connecting
    from bot.config import settings_from_mapping

    tries: list[int] = []
    joined: list[str] = []

    class Flaky:
        def __init__(self) -> None:
            tries.append(len(tries))
            self.number = len(tries)

        async def start(self) -> None:
            if self.number < 3:
                raise ConnectionError("not yet")

        async def close(self) -> None:
            pass

    console = Console(file=io.StringIO())
    await _keep_connecting(
        "discord",
        Flaky,
        settings_from_mapping({}),
        console,  # type: ignore[arg-type]
        lambda platform, adapter: joined.append(platform),
        delays=(0.0, 0.01),
    )
    assert len(tries) == 3 and joined == ["discord"]
    assert "Discord: connected." in console.file.getvalue()  # type: ignore[attr-defined]


# -- a platform whose token is set must start: never a silent fallback to the console -------------------------------


@pytest.mark.parametrize(
    ("env", "section", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-half-configured"}, "", "SLACK_APP_TOKEN"),  # Socket Mode without its app token
        (
            {"SLACK_BOT_TOKEN": "xoxb-half-configured"},
            "[slack]\nmode = 'http'\n[http]\nlisten = '127.0.0.1:0'\n",
            "SLACK_SIGNING_SECRET",
        ),
        (
            {"DISCORD_TOKEN": "discord-half-configured"},
            "[discord]\napi_url = 'http://127.0.0.1:9/api/v10'\n",
            "api_url",
        ),
    ],
)
def test_a_platform_that_cannot_start_is_an_error_not_a_console_fallback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    section: str,
    named: str,
) -> None:
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as file:
        file.write(section)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(["--config", str(config), "run"]) == 2

    out, err = capsys.readouterr()
    assert "cannot start" in err and named in err and len(err.strip().splitlines()) == 1
    assert "Type /brief" not in out and "Scheduler:" not in out  # the console did not take over
    assert "half-configured" not in out + err


def test_slack_http_mode_without_a_listener_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    with config.open("a", encoding="utf-8") as file:
        file.write("[slack]\nmode = 'http'\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-http-mode")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-http-mode")

    assert main(["--config", str(config), "run"]) == 2

    out, err = capsys.readouterr()
    assert out == "" and f"{config}: slack.mode:" in err and "[http] listen" in err
    assert len(err.strip().splitlines()) == 1


def test_slack_http_mode_that_cannot_listen_exits_1_not_connected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack's events arrive on [http] listen: when it cannot be bound, Slack is not connected (exit 1: a service
    manager may try again once the port is free)."""
    config = write_config(tmp_path)
    with socket.socket() as taken, FakeSlack() as slack:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with config.open("a", encoding="utf-8") as file:
            file.write(f"[slack]\nmode = 'http'\napi_url = '{slack.api_url}'\n[http]\nlisten = '127.0.0.1:{port}'\n")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-http-mode")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-http-mode")

        assert main(["--config", str(config), "run"]) == 1

    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Slack HTTP mode" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["feeds", "list"], ["brief", "ferry"], ["subs", "list"]])
def test_output_cut_short_by_its_reader_ends_quietly(tmp_path: Path, argv: list[str]) -> None:
    """``newsbrief feeds list | head``: the reader goes away before the output ends; no traceback."""
    config = write_config(tmp_path)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBRIEF_", "SLACK_", "DISCORD_"))}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=120,
            check=False,
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    finally:
        os.close(write)

    assert (done.returncode, done.stderr) == (1, "")


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


def test_help_lists_every_command_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("usage: newsbrief [-h] [--config PATH] [--version] COMMAND ...")
    listing = out.split("commands (newsbrief COMMAND --help shows its options):\n", 1)[1].splitlines()
    usages = [line.strip().split("  ")[0] for line in listing]
    for usage in (
        "run",
        "poll",
        "brief TEXT...",
        "digest SUB_ID",
        "feeds add URL",
        "feeds list",
        "feeds remove ID",
        "feeds enable ID",
        "feeds check URL_OR_ID",
        "subs list",
        "subs resume SUB_ID",
        "doctor",
        "db upgrade",
        "db prune",
        "articles list",
        "articles show ID_OR_URL",
    ):
        assert usage in usages, usage
    for line, usage in zip(listing, usages, strict=True):
        assert line.startswith("  ") and len(line.strip()) > len(usage) + 5, line  # the command, then its help
        words = [word for word in usage.split() if word.islower()]
        assert main([*words, "--help"]) == 0, usage  # every line names a real command
        assert f"usage: newsbrief {' '.join(words)} " in capsys.readouterr().out


# -- .env files and logging ------------------------------------------------------------------------------------

TOKEN_NAMES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")


@pytest.fixture(autouse=True)
def _restore_environment_and_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A .env file writes os.environ directly and main() configures the root logger: both are put back."""
    for name in ("NEWSBRIEF_ENV_FILE", "NEWSBRIEF_LOG_LEVEL", "PYTHON_DOTENV_DISABLED", *TOKEN_NAMES):
        monkeypatch.delenv(name, raising=False)
    environ = dict(os.environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    os.environ.clear()
    os.environ.update(environ)
    root.handlers[:] = handlers
    root.setLevel(level)


def doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``newsbrief doctor`` with Slack's and Discord's APIs on loopback fakes (doctor checks the tokens it finds)."""
    config = write_config(tmp_path)
    os.environ.setdefault("SLACK_APP_TOKEN", "xapp-for-doctor-tests")  # Socket Mode's token (the env is restored)
    with FakeSlack() as slack, FakeDiscord() as discord_api:
        with config.open("a", encoding="utf-8") as file:
            file.write(f"[slack]\napi_url = '{slack.api_url}'\n[discord]\napi_url = '{discord_api.api_url}'\n")
        with discord_api.patch_discord_py():
            status = main(["--config", str(config), "doctor"])
    out, err = capsys.readouterr()
    return status, out, err


def test_dotenv_in_the_working_directory_sets_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path(".env").write_text(
        "# chat tokens\nSLACK_BOT_TOKEN=xoxb-from-dotenv-123\nSLACK_APP_TOKEN=xapp-dotenv-456\n", encoding="utf-8"
    )

    status, out, err = doctor(tmp_path, capsys)

    assert status == 0, err
    assert "SLACK_BOT_TOKEN: set" in out and "DISCORD_TOKEN: not set" in out
    assert "xoxb-from-dotenv-123" not in out + err
    assert load_settings(None).secret("SLACK_BOT_TOKEN") == "xoxb-from-dotenv-123"


def test_the_real_environment_wins_over_dotenv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    Path(".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv-123\nDISCORD_TOKEN=discord-from-dotenv\n")

    assert doctor(tmp_path, capsys)[0] == 0

    settings = load_settings(None)
    assert settings.secret("SLACK_BOT_TOKEN") == "xoxb-from-the-environment"
    assert settings.secret("DISCORD_TOKEN") == "discord-from-dotenv"


def test_newsbrief_env_file_names_the_env_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(".env").write_text("DISCORD_TOKEN=ignored-when-a-file-is-named\n", encoding="utf-8")
    env_file = tmp_path / "secrets" / "newsbrief.env"
    env_file.parent.mkdir()
    # The env file may also choose the config (it is loaded before the config is looked for).
    env_file.write_text(f"export NEWSBRIEF_CONFIG={write_config(tmp_path)}\nSLACK_APP_TOKEN='xapp-1-abcdef'\n")
    monkeypatch.setenv("NEWSBRIEF_ENV_FILE", str(env_file))

    assert main(["run"]) == 0

    assert_ran_with_config(capsys.readouterr().out)
    assert load_settings(None).secret("SLACK_APP_TOKEN") == "xapp-1-abcdef"
    assert load_settings(None).secret("DISCORD_TOKEN") is None


def test_a_missing_named_env_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such.env"
    monkeypatch.setenv("NEWSBRIEF_ENV_FILE", str(missing))

    assert main(["run"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert str(missing) in err and "NEWSBRIEF_ENV_FILE" in err
    assert len(err.strip().splitlines()) == 1


def test_a_malformed_dotenv_line_is_skipped_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-good-line-1234\n'xoxb-leaked-on-a-broken-line\nDISCORD_TOKEN=discord-after-the-break\n",
        encoding="utf-8",
    )

    status, out, err = doctor(tmp_path, capsys)

    assert status == 0, err
    assert ".env: line 2:" in err and len(err.strip().splitlines()) == 1
    assert "xoxb-" not in out + err and "discord-after" not in out + err
    assert "SLACK_BOT_TOKEN: set" in out and "DISCORD_TOKEN: set" in out


def test_an_unknown_log_level_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBRIEF_LOG_LEVEL", "chatty")

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert "$NEWSBRIEF_LOG_LEVEL" in err and "'chatty'" in err and len(err.strip().splitlines()) == 1


def test_logged_secrets_are_redacted(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    token = "xoxb-1111-2222-abcdefSECRET"
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setenv("DISCORD_TOKEN", "short")  # under 6 characters: not treated as a secret
    configure_logging("INFO", secrets=["extra-secret-value"])
    configure_logging("INFO", secrets=["extra-secret-value"])  # idempotent: still one handler
    log = logging.getLogger("newsbrief.test")

    log.info("connecting with %s", token)
    log.warning(f"token in the message itself: {token}; and extra-secret-value; and short")
    try:
        raise RuntimeError(f"auth failed for {token}")
    except RuntimeError:
        log.exception("Slack said no")
    log.debug("not shown at INFO %s", token)

    err = capsys.readouterr().err
    assert token not in err and "extra-secret-value" not in err
    assert err.count(REDACTED) == 4
    assert "INFO newsbrief.test: connecting with [redacted]" in err
    assert "RuntimeError: auth failed for [redacted]" in err and "Traceback" in err
    assert "and short" in err and "not shown" not in err
    assert err.count("Slack said no") == 1  # one handler, not two
