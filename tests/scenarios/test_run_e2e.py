"""``newsbrief run`` end to end, as real processes on loopback: feed server -> poll -> digest posted once to the
console adapter -> restart -> not posted again; two processes on one database post one digest between them, and
the standby takes the scheduler over when the leader is killed.

The digest slot is made due ten minutes before the processes start (a subscription whose daily time has just
passed, created two hours earlier), so the test needs no waiting for a schedule: the first leader catches the
missed slot up at once (within the misfire grace time), and nothing else may post it again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.store import Store
from testkit.fakediscord import FakeDiscord
from testkit.fakeslack import FakeSlack
from testkit.feedserver import FeedServer, Item, rss_feed

REPO_ROOT = Path(__file__).resolve().parents[2]
DIGEST = "Digest: ukraine → newsroom"
LEADS = "Scheduler: this process leads"
STANDS_BY = "runs the scheduler on this database"
TOOK_OVER = "Scheduler: this process took over the scheduler."


class Bot:
    """A ``newsbrief run`` process: stdin to type commands, stdout (and stderr) collected by a thread.
    ``on_fake_discord``: run through ``testkit.bot_on_fake_discord``, which points discord.py at the config's
    ``[discord] api_url`` first (the bot itself never changes discord.py's globals)."""

    def __init__(
        self, config: Path, cwd: Path, extra_env: dict[str, str] | None = None, *, on_fake_discord: bool = False
    ) -> None:
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        for name in (
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "DISCORD_TOKEN",
            "NEWSBRIEF_CONFIG",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
        ):
            env.pop(name, None)
        env.update(extra_env or {})
        module = "bot"
        if on_fake_discord:
            module = "testkit.bot_on_fake_discord"
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--config", str(config), "run"],
            cwd=cwd,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            bufsize=1,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self._lines.append(line)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None and text not in self.output:
                self._reader.join(timeout=5)
                if text in self.output:
                    return
                raise AssertionError(f"bot exited ({self.process.returncode}) before printing {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout:.0f}s:\n{self.output}")
            time.sleep(0.05)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def quit(self) -> int:
        self.type("quit")
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=5)
        return code

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes (Popen leaves them open)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):  # unflushed input to a process that is gone
                    pipe.close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.close()


def setup_deployment(tmp_path: Path, server: FeedServer) -> tuple[Path, Callable[[Path], Bot], int, str]:
    """A feed with two Ukraine stories on the loopback server; a config; a subscription whose daily slot passed
    ten minutes ago. Returns the config, a bot starter, the subscription id and the slot's key."""
    now = datetime.now(UTC)
    published = now - timedelta(hours=1)
    server.route(
        "/feed.xml",
        rss_feed(
            [
                Item(
                    title="Talks on Ukraine resume in Geneva",
                    link=server.url("/a/1"),
                    guid="a1",
                    published=published,
                    summary="Negotiators from Kyiv and Moscow met in Geneva on Thursday for the first time in a year. "
                    "The talks on Ukraine lasted six hours and will resume next week, officials said.",
                ),
                Item(
                    title="Kyiv restores power after strikes",
                    link=server.url("/a/2"),
                    guid="a2",
                    published=published,
                    summary="Engineers in Kyiv restored power to most districts on Friday after overnight strikes. "
                    "The city's mayor said heating would be back in every home by Sunday.",
                ),
            ]
        ),
        headers={"Content-Type": "application/rss+xml"},
    )
    slot = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    schedule = f"{slot.minute} {slot.hour} * * *"
    config = tmp_path / "newsbrief.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path / "nb.db"}"
[network]
allow_private = ["127.0.0.1"]
[poll]
backfill = 10
fetch_pages = false
[[feeds]]
url = "{server.url("/feed.xml")}"
name = "Loopback Post"
[topics]
ukraine = 'ukraine OR kyiv'
[[subscriptions]]
platform = "console"
channel = "newsroom"
topic = "ukraine"
schedule = "{schedule}"
tz = "UTC"
[scheduler]
lease = "2s"
[http]
listen = "127.0.0.1:0"
""",
        encoding="utf-8",
    )
    with Store(f"sqlite:///{tmp_path / 'nb.db'}") as store:
        store.upgrade()
        sub = store.add_subscription(
            "console", "newsroom", "ukraine", schedule=schedule, tz="UTC", now=slot - timedelta(hours=2), by="test"
        )
    return config, (lambda cwd: Bot(config, cwd)), sub.id, slot.strftime("%Y-%m-%dT%H:%MZ")


def slots(tmp_path: Path, sub_id: int) -> list[tuple[str, str | None]]:
    with Store(f"sqlite:///{tmp_path / 'nb.db'}") as store:
        return [(s.slot, s.outcome) for s in store.list_slots(sub_id)]


def check_http(output: str) -> None:
    """/healthz and /metrics of the running bot (its port was chosen by the system and printed)."""
    found = re.search(r"HTTP: /healthz and /metrics on (http://127\.0\.0\.1:\d+)", output)
    assert found, output
    with httpx.Client(base_url=found.group(1), timeout=10) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["leader"] is True
        assert health.json()["last_poll_at"] is not None  # the start-up poll counts
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(client.get("/metrics").text)
            for sample in family.samples
        }
    assert samples[("newsbrief_digests_total", (("outcome", "posted"), ("platform", "console")))] == 1
    assert samples[("newsbrief_feeds_polled_total", (("status", "ok"),))] == 1
    assert samples[("newsbrief_articles_stored_total", (("status", "new"),))] == 2
    assert samples[("newsbrief_scheduler_leader", ())] == 1
    assert samples[("newsbrief_command_latency_seconds_count", (("command", "brief"), ("platform", "console")))] == 1


def test_digest_posted_once_then_not_again_after_a_restart(tmp_path: Path, server: FeedServer, bots: list[Bot]) -> None:
    _, start, sub_id, slot = setup_deployment(tmp_path, server)
    first = start(tmp_path)
    bots.append(first)
    first.wait_for(LEADS)
    first.wait_for(DIGEST)
    assert "Talks on Ukraine resume in Geneva" in first.output.split(DIGEST, 1)[1]
    # the start-up briefings come first, whole: the digest due at once is printed after them
    assert first.output.index("Briefing: ukraine (topic)") < first.output.index(DIGEST)
    first.type("/brief kyiv")
    first.wait_for("Briefing: kyiv — 2 stories")
    check_http(first.output)
    assert first.quit() == 0
    assert first.output.count(DIGEST) == 1
    assert slots(tmp_path, sub_id) == [(slot, "posted")]
    assert server.requests_for("/feed.xml")

    second = start(tmp_path)
    bots.append(second)
    second.wait_for(LEADS)
    second.type("/brief ukraine")
    second.wait_for("Briefing: ukraine (topic)")
    assert second.quit() == 0
    assert DIGEST not in second.output
    assert slots(tmp_path, sub_id) == [(slot, "posted")]


def test_a_digest_with_nothing_new_says_so_instead_of_nothing(
    tmp_path: Path, server: FeedServer, bots: list[Bot], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stories went out already (here by `newsbrief digest`; in the demo by an earlier run): the missed slot's
    digest has nothing new, and the console says so once instead of staying silent."""
    from bot.__main__ import main

    config, start, sub_id, slot = setup_deployment(tmp_path, server)
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config), "poll"]) == 0
    assert main(["--config", str(config), "digest", str(sub_id)]) == 0
    (posted,) = slots(tmp_path, sub_id)
    assert posted[1] == "posted"

    bot = start(tmp_path)
    bots.append(bot)
    bot.wait_for(LEADS)
    bot.wait_for("ukraine → newsroom: nothing new since the last digest (posted at ")
    assert bot.quit() == 0
    assert DIGEST not in bot.output
    assert (slot, "empty") in slots(tmp_path, sub_id)
    assert bot.output.count("nothing new since the last digest") == 1


def test_two_processes_post_one_digest_and_the_standby_takes_over(
    tmp_path: Path, server: FeedServer, bots: list[Bot]
) -> None:
    _, start, sub_id, slot = setup_deployment(tmp_path, server)
    pair = [start(tmp_path), start(tmp_path)]
    bots.extend(pair)
    for bot in pair:
        bot.wait_for("Type /brief")
    leaders = [bot for bot in pair if LEADS in bot.output]
    standbys = [bot for bot in pair if STANDS_BY in bot.output]
    assert len(leaders) == 1 and len(standbys) == 1, [bot.output for bot in pair]
    leader, standby = leaders[0], standbys[0]
    leader.wait_for(DIGEST)
    deadline = time.monotonic() + 30  # the outcome is recorded just after posting: kill the leader after that
    while slots(tmp_path, sub_id) != [(slot, "posted")] and time.monotonic() < deadline:
        time.sleep(0.05)
    standby.type("/brief ukraine")  # the standby answers commands
    standby.wait_for("Briefing: ukraine (topic)")

    leader.kill()  # no chance to release the lease: the standby waits for it to expire (2 s)
    standby.wait_for(TOOK_OVER, timeout=30)
    standby.type("/brief topics")
    standby.wait_for("ukraine: ukraine OR kyiv")
    assert standby.quit() == 0
    assert leader.output.count(DIGEST) + standby.output.count(DIGEST) == 1
    assert slots(tmp_path, sub_id) == [(slot, "posted")]


def test_run_with_slack_answers_brief_and_posts_the_digest_there(
    tmp_path: Path, server: FeedServer, bots: list[Bot]
) -> None:
    config, _, sub_id, slot = setup_deployment(tmp_path, server)
    with FakeSlack(ts_base=int(time.time())) as slack:
        text = config.read_text(encoding="utf-8").replace('platform = "console"', 'platform = "slack"')
        text = text.replace('channel = "newsroom"', 'channel = "C0NEWS"')
        config.write_text(text + f"[slack]\napi_url = '{slack.api_url}'\n", encoding="utf-8")
        with Store(f"sqlite:///{tmp_path / 'nb.db'}") as store:  # the subscription made by the setup, moved
            store.remove_subscription(sub_id)
            schedule = next(line.split('"')[1] for line in text.splitlines() if line.startswith("schedule ="))
            slack_sub = store.add_subscription(
                "slack",
                "C0NEWS",
                "ukraine",
                schedule=schedule,
                tz="UTC",
                now=datetime.now(UTC) - timedelta(hours=3),
                by="test",
            )
        bot = Bot(config, tmp_path, {"SLACK_BOT_TOKEN": "xoxb-e2e-secret", "SLACK_APP_TOKEN": "xapp-e2e-secret"})
        bots.append(bot)
        bot.wait_for("Slack: connected (socket mode).")
        bot.wait_for("Running until stopped")
        slack.wait_calls("chat.postMessage", 1, timeout=60)
        (message,) = slack.messages("C0NEWS")
        assert message["metadata"]["event_payload"]["ref"] == f"sub:{slack_sub.id}:{slot}"
        envelope = slack.slash_command("kyiv", channel_id="C0NEWS", timeout=30)
        assert envelope.acked
        (response,) = slack.wait_responses(1, timeout=30)
        assert response.response_type == "in_channel" and "Kyiv restores power" in json.dumps(response.body)
        assert bot.terminate() == 0
    assert slots(tmp_path, slack_sub.id) == [(slot, "posted")]
    assert "xoxb-e2e-secret" not in bot.output and "xapp-e2e-secret" not in bot.output


def test_run_with_discord_answers_brief_and_posts_the_digest_there(
    tmp_path: Path, server: FeedServer, bots: list[Bot]
) -> None:
    config, _, sub_id, slot = setup_deployment(tmp_path, server)
    guild, channel = "1100000000000000001", "1100000000000000002"
    with FakeDiscord(heartbeat_interval_ms=1000) as discord_fake:
        discord_fake.add_channel(channel, guild, "news")
        text = config.read_text(encoding="utf-8").replace('platform = "console"', 'platform = "discord"')
        text = text.replace('channel = "newsroom"', f'channel = "{channel}"')
        config.write_text(
            text + f"[discord]\napi_url = '{discord_fake.api_url}'\nguilds = [{guild}]\n", encoding="utf-8"
        )
        with Store(f"sqlite:///{tmp_path / 'nb.db'}") as store:  # the subscription made by the setup, moved
            store.remove_subscription(sub_id)
            schedule = next(line.split('"')[1] for line in text.splitlines() if line.startswith("schedule ="))
            discord_sub = store.add_subscription(
                "discord",
                channel,
                "ukraine",
                schedule=schedule,
                tz="UTC",
                now=datetime.now(UTC) - timedelta(hours=3),
                by="test",
            )
        bot = Bot(config, tmp_path, {"DISCORD_TOKEN": "discord-e2e-secret-token"}, on_fake_discord=True)
        bots.append(bot)
        bot.wait_for("Discord: connected.")
        bot.wait_for("Running until stopped")
        (message,) = discord_fake.wait_messages(channel, 1, timeout=60)
        assert any(f"sub:{discord_sub.id}:{slot}" in e["footer"]["text"] for e in message["embeds"])
        handle = discord_fake.interaction("brief", {"topic": "kyiv"}, guild_id=guild, channel_id=channel)
        callback = handle.wait_callback(timeout=30)  # the answer at once (4), or deferred (5) and followed up
        answer = callback.data if callback.type == 4 else handle.wait_followups(1, timeout=30)[0].body
        assert "Kyiv restores power" in json.dumps(answer) and not callback.ephemeral
        assert bot.terminate() == 0
    assert slots(tmp_path, discord_sub.id) == [(slot, "posted")]
    assert "discord-e2e-secret-token" not in bot.output


def test_run_keeps_trying_a_platform_it_cannot_reach(tmp_path: Path, server: FeedServer, bots: list[Bot]) -> None:
    """A configured platform that is down at start: the bot runs as a service (stdin is not read), says it keeps
    trying, and stops cleanly on SIGTERM; the token never shows."""
    config, _, _, _ = setup_deployment(tmp_path, server)
    with config.open("a", encoding="utf-8") as file:  # a loopback port nothing listens on
        file.write("[discord]\napi_url = 'http://127.0.0.1:9/api/v10'\n")
    bot = Bot(config, tmp_path, {"DISCORD_TOKEN": "discord-unreachable-secret"}, on_fake_discord=True)
    bots.append(bot)
    bot.wait_for("trying again in the background")
    bot.wait_for("Running until stopped")
    assert bot.terminate() == 0
    assert "Discord: cannot connect" in bot.output and "discord-unreachable-secret" not in bot.output
