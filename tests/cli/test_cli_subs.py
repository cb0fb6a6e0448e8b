"""``newsbrief subs add|remove|pause|resume``: subscriptions from the command line, validated as the config's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.store import Store


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    path = tmp_path / "newsbrief.toml"
    path.write_text(
        f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n[topics]\nukraine = 'ukraine OR kyiv'\nfloods = 'flood'\n"
        "[[subscriptions]]\nplatform = 'slack'\nchannel = 'C0123'\ntopic = 'ukraine'\n",
        encoding="utf-8",
    )
    return str(path)


def run(capsys: pytest.CaptureFixture[str], config: str, *argv: str) -> tuple[int, str, str]:
    status = main(["--config", config, "subs", *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def listed(capsys: pytest.CaptureFixture[str], config: str) -> list[dict[str, object]]:
    status, out, _ = run(capsys, config, "list", "--json")
    assert status == 0
    result: list[dict[str, object]] = json.loads(out)
    return result


def test_subs_add_pause_resume_remove(config: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(
        capsys, config, "add", "discord", "123456", "Floods", "--schedule", "weekdays 7:30", "--tz", "Europe/Berlin"
    )
    assert status == 0, err
    assert "Subscription 1 added: discord 123456, floods, weekdays 07:30 (Europe/Berlin)" in out
    status, out, err = run(capsys, config, "add", "discord", "123456", "floods")
    assert status == 1 and "already subscribed to floods (id 1" in err
    status, out, _ = run(capsys, config, "add", "console", "console", "ukraine")
    assert status == 0 and "daily 08:00 (UTC)" in out
    subs = {s["id"]: s for s in listed(capsys, config)}
    assert subs[1]["created_by"] == "cli" and subs[1]["schedule"] == "weekdays 07:30"

    status, out, _ = run(capsys, config, "pause", "1", "--reason", "holidays")
    assert status == 0 and "Subscription 1 (discord 123456, floods) paused" in out
    assert run(capsys, config, "pause", "#1")[1].endswith("is already paused: holidays.\n")
    paused = {s["id"]: s for s in listed(capsys, config)}[1]  # listing syncs the config: still paused
    assert (paused["state"], paused["paused_reason"]) == ("paused", "holidays")
    status, out, _ = run(capsys, config, "resume", "1")
    assert status == 0 and "resumed; it was paused because: holidays" in out

    status, out, _ = run(capsys, config, "remove", "1")
    assert status == 0 and out == "Subscription 1 (discord 123456, floods) removed.\n"
    status, _, err = run(capsys, config, "remove", "1")
    assert status == 1 and "no subscription 1" in err
    configured = next(s for s in listed(capsys, config) if s["channel"] == "C0123")
    status, _, err = run(capsys, config, "remove", str(configured["id"]))
    assert status == 1
    assert f"is in [[subscriptions]] of {config} (subscriptions[0]): remove it there, or pause it" in err
    assert run(capsys, config, "pause", str(configured["id"]))[0] == 0
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        assert [(s.channel, s.paused) for s in store.list_subscriptions()] == [("console", False), ("C0123", True)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["irc", "C1", "ukraine"], "subs add: PLATFORM: expected one of console, discord, slack, got 'irc'"),
        (["slack", "C1", "volcanoes"], "subs add: TOPIC: unknown topic 'volcanoes' (topics: floods, ukraine)"),
        (
            ["slack", "C1", "ukraine", "--schedule", "daily 25:00"],
            "subs add: --schedule: daily: '25:00' is not a time of day",
        ),
        (["slack", "C1", "ukraine", "--schedule", "every tuesday"], "subs add: --schedule: unknown schedule"),
        (["slack", "C1", "ukraine", "--tz", "Mars/Base"], "subs add: --tz: unknown time zone 'Mars/Base'"),
        (["slack", " ", "ukraine"], "subs add: CHANNEL: expected a channel id"),
    ],
)
def test_subs_add_refuses_what_the_config_and_chat_refuse(
    config: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, config, "add", *argv)
    assert status == 2
    assert err.startswith(f"newsbrief: {message}") and err.count("\n") == 1
    assert [s["channel"] for s in listed(capsys, config)] == ["C0123"]  # nothing added


def test_subs_ids_are_checked(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("remove", "pause", "resume"):
        status, _, err = run(capsys, config, action, "x1")
        assert status == 1 and "SUB_ID must be a subscription id" in err
        status, _, err = run(capsys, config, action, "99")
        assert status == 1 and f"subs {action}: no subscription 99" in err


def test_subs_add_with_template_and_items_mode(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, config, "add", "slack", "C9", "floods", "--mode", "items", "--template", "Headlines")
    assert status == 0, err
    assert "added: slack C9, floods, items (each new article), template=headlines." in out
    status, out, err = run(capsys, config, "add", "slack", "C9", "ukraine", "--template", "compact")
    assert status == 0, err
    added = {(s["channel"], s["topic"]): s for s in listed(capsys, config)}
    assert (added["C9", "floods"]["mode"], added["C9", "floods"]["template"]) == ("items", "headlines")
    ukraine = added["C9", "ukraine"]
    assert (ukraine["mode"], ukraine["template"], ukraine["schedule"]) == ("digest", "compact", "daily 08:00")
    assert added["C0123", "ukraine"]["template"] == "full"  # the config's, synced


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (
            ("--template", "fancy"),
            "subs add: --template: unknown template 'fancy' (templates: full, compact, headlines)",
        ),
        (("--mode", "stream"), "subs add: --mode: expected digest or items, got 'stream'"),
        (
            ("--mode", "items", "--schedule", "hourly"),
            "subs add: --schedule: items mode posts each article as it comes",
        ),
    ],
)
def test_subs_add_refuses_bad_templates_and_modes(
    config: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], problem: str
) -> None:
    status, _, err = run(capsys, config, "add", "slack", "C9", "floods", *argv)
    assert status == 2
    assert problem in err


def test_subs_list_shows_mode_and_template_and_digest_refuses_items(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal: the table's headers whole
    status, out, err = run(capsys, config, "add", "console", "console", "floods", "--mode", "items")
    assert status == 0, err
    status, out, _ = run(capsys, config, "list")
    assert status == 0
    header = next(line for line in out.splitlines() if "platform" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][-3:] == ["mode", "template", "state"]
    row = next(line for line in out.splitlines() if "floods" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")][4:8] == ["-", "UTC", "items", "full"]
    status = main(["--config", config, "digest", "1"])
    err = capsys.readouterr().err
    assert status == 1 and "subscription 1 is in items mode" in err


def refused_by_doctor_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> tuple[Path, str]:
    """The config ``text`` written to ./newsbrief.toml; the one error line that ``doctor`` and ``run`` both exit with
    (status 2, "valid" never printed, no store opened), with the config's path."""
    for variable in ("NEWSBRIEF_CONFIG", "NEWSBRIEF_ENV_FILE", "SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "newsbrief.toml"
    path.write_text(f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n{text}", encoding="utf-8")
    errors: dict[str, str] = {}
    for command in ("doctor", "run"):
        status = main(["--config", str(path), command])
        out = capsys.readouterr()
        assert status == 2, (command, out.err)
        assert "valid" not in out.out
        errors[command] = out.err
    assert errors["doctor"] == errors["run"]
    assert errors["doctor"].count("\n") == 1
    assert not (tmp_path / "nb.db").exists()  # refused before the store was opened
    return path, errors["doctor"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "platform = 'slack'\nchannel = 'C0123'\ntopic = 'ukraine'\nschedule = 'daily 25:00'\n",
            "subscriptions[0].schedule: daily: '25:00' is not a time of day (hours 0-23, minutes 0-59)",
        ),
        (
            "platform = 'slack'\nchannel = 'C0123'\ntopic = 'ukraine'\nschedule = '0 8 * * fri-mon'\n",
            "subscriptions[0].schedule: cron day of week: range 'fri-mon' runs backwards",
        ),
        (
            "platform = 'irc'\nchannel = '#news'\ntopic = 'ukraine'\n",
            "subscriptions[0].platform: expected one of console, discord, slack, got 'irc'",
        ),
        ("platform = 'slack'\nchannel = ''\ntopic = 'ukraine'\n", "subscriptions[0].channel: expected a non-empty"),
        ("platform = 'slack'\nchannel = 'C0123'\ntopic = 'sports'\n", "subscriptions[0].topic: unknown topic 'sports'"),
    ],
)
def test_doctor_fails_on_a_bad_subscription_with_runs_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], entry: str, message: str
) -> None:
    """``[[subscriptions]]`` are part of the config: ``doctor`` refuses a bad one before anything else (no "valid",
    no store opened), with the very line ``run`` exits with."""
    text = f"[topics]\nukraine = 'ukraine OR kyiv'\n[[subscriptions]]\n{entry}"
    path, error = refused_by_doctor_and_run(tmp_path, monkeypatch, capsys, text)
    assert error.startswith(f"newsbrief: {path}: {message}")


def test_doctor_fails_on_a_bad_live_section_as_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, error = refused_by_doctor_and_run(tmp_path, monkeypatch, capsys, "[live]\nper_hour = 0\n")
    assert error.startswith(f"newsbrief: {path}: live.per_hour: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[[subscriptions]]\nplatform = 'slack'\nchannel = 'C1'\ntopic = 'ukraine'\nsources = ['tag:']\n",
            "subscriptions[0].sources: 'tag:' is neither a feed id (see /brief feeds) nor tag:NAME",
        ),
        (
            "[[subscriptions]]\nplatform = 'slack'\nchannel = 'C1'\ntopic = 'ukraine'\nsources = 'tag:world'\n",
            'subscriptions[0].sources: expected a list of feed ids and "tag:NAME"',
        ),
        (
            "[[subscriptions]]\nplatform = 'slack'\nchannel = 'C1'\ntopic = 'ukraine'\nmode = 'items'\n"
            "schedule = 'hourly'\n",
            "subscriptions[0].schedule: items mode posts each article as it comes: it takes no schedule",
        ),
        ("[templates.terse]\nsentences = 9\n", "templates.terse.sentences: expected a whole number from 0 to 4, got 9"),
        ("[templates.terse]\ncolour = 'red'\n", "templates.terse.colour: unknown key"),
        ("[live]\nquiet_hours = '22-7'\n", "live.quiet_hours: expected a time such as 08:00, got '22'"),
        ("[live]\nsettle = 'soon'\n", "live.settle: expected a duration such as '15m'"),
        ("[live]\nwindow = '1h'\n", "live.window: unknown key (known keys: edit_every, per_hour, quiet_hours, settle)"),
        ("[scheduler]\nrecover_after = '1h'\n", "scheduler.recover_after: unknown key"),
        ("[digests]\nwindow = 0\n", "digests.window: must be longer than zero"),
        ("[jobs]\nengine = 'procrastinate'\n", 'jobs.engine: "procrastinate" keeps its jobs in PostgreSQL'),
        ("[discord]\nguilds = ['general']\n", "discord.guilds[0]: expected a guild id"),
        ("[slack]\nmanagers = ['bob']\n", "slack.managers[0]: expected a Slack user id such as U0123ABCD, got 'bob'"),
        ("[[feeds]]\nurl = 'https://a.example/rss'\ninterval = 'often'\n", "feeds[0].interval: expected a duration"),
    ],
)
def test_doctor_refuses_what_run_refuses_in_every_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """The whole config is validated at load, every section: ``doctor`` never calls "valid" a config ``run``
    refuses, and both say the same one line naming the file, the key path and what was expected."""
    path, error = refused_by_doctor_and_run(tmp_path, monkeypatch, capsys, f"[topics]\nukraine = 'ukraine'\n{text}")
    assert error.startswith(f"newsbrief: {path}: {message}")
