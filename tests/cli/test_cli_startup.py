"""What each ``newsbrief`` command imports: only what it needs (a fast start and a small process), and a clear
error naming the pip extra when a configured platform's SDK or PostgreSQL's driver is not installed.

Each case runs ``bot.__main__.main`` in a fresh Python (the test process has imported everything already) and
reads the modules it ended with; a missing extra is simulated by an import hook that refuses its modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]

_DRIVER = """
import json, sys

blocked, argv, modules_file = set(json.loads(sys.argv[1])), json.loads(sys.argv[2]), sys.argv[3]


class Uninstalled:
    \"\"\"Modules of an extra that is not installed: every import of them fails as for a missing package.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
try:
    if argv and argv[0] == "--summarize":
        from summarizer import summarize

        summarize("The council approved the budget on Tuesday. The mayor said it was fair. Critics disagreed.")
        status = 0
    else:
        from bot.__main__ import main

        status = main(argv)
finally:
    with open(modules_file, "w", encoding="utf-8") as out:
        json.dump(sorted(sys.modules), out)
sys.exit(status)
"""

CHAT_SDKS = {"slack_bolt", "slack_sdk", "discord"}
HEAVY = {
    "sumy",
    "nltk",
    "scipy",
    "numpy",
    "trafilatura",
    "lxml",
    "feedparser",
    "httpx",
    "aiohttp",
    "apscheduler",
    "prometheus_client",
    "rich",
    "sqlalchemy",
    "alembic",
    *CHAT_SDKS,
}


@dataclass
class Ran:
    status: int
    out: str
    err: str
    modules: set[str]

    @property
    def packages(self) -> set[str]:
        return {name.partition(".")[0] for name in self.modules}


def newsbrief(
    argv: Sequence[str],
    cwd: Path,
    *,
    uninstalled: Sequence[str] = (),
    env: dict[str, str] | None = None,
    stdin: str = "",
) -> Ran:
    """``main(argv)`` in a fresh interpreter in ``cwd``, with the modules of ``uninstalled`` refused."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBRIEF_", "SLACK_", "DISCORD_"))}
    environment.update(env or {})
    environment["PYTHONPATH"] = str(ROOT)
    modules_file = cwd / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(list(uninstalled)), json.dumps(list(argv)), str(modules_file)],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr, set(json.loads(modules_file.read_text(encoding="utf-8"))))


def config(folder: Path, extra: str = "") -> Path:
    path = folder / "newsbrief.toml"
    path.write_text(
        f"[store]\nurl = 'sqlite:///{folder}/nb.db'\n[topics]\nmarker = 'zzzmarker'\n{extra}", encoding="utf-8"
    )
    return path


def test_version_and_help_import_no_command(tmp_path: Path) -> None:
    for argv in (["--version"], ["--help"]):
        ran = newsbrief(argv, tmp_path)

        assert ran.status == 0, ran.err
        assert ran.packages & {*HEAVY, "pydantic", "pydantic_core"} == set()  # nor the config's models
        assert {m for m in ran.modules if m.startswith("bot.")} <= {
            "bot.__main__",
            "bot._cli_common",
            "bot._logging",
            "bot.errors",  # leaves: neither imports anything heavy (APScheduler only when a schedule is read)
            "bot.schedules",
        }


def test_brief_on_a_migrated_database_loads_no_chat_sdk_fetcher_or_migrations(tmp_path: Path) -> None:
    path = config(tmp_path)
    with Store(f"sqlite:///{tmp_path}/nb.db") as store:
        store.upgrade()

    ran = newsbrief(["--config", str(path), "brief", "ferry", "timetable"], tmp_path)

    assert ran.status == 0, ran.err
    assert "Nothing found" in ran.out
    assert "sqlalchemy" in ran.packages
    unwanted = {
        "alembic",
        "sumy",
        "nltk",
        "scipy",
        "trafilatura",
        "feedparser",
        "httpx",
        "aiohttp",
        "apscheduler",
        "rich",
        *CHAT_SDKS,
    }
    assert ran.packages & unwanted == set()


def test_run_without_chat_tokens_loads_no_chat_sdk(tmp_path: Path) -> None:
    ran = newsbrief(["--config", str(config(tmp_path)), "run"], tmp_path)

    assert ran.status == 0, ran.err
    assert "Nothing new on marker." in ran.out
    assert ran.packages & (CHAT_SDKS | {"aiohttp", "scipy"}) == set()


def test_run_refuses_a_bad_live_section_in_one_line_naming_the_key(tmp_path: Path) -> None:
    path = config(tmp_path, "[live]\nper_hour = 0\n")

    ran = newsbrief(["--config", str(path), "run"], tmp_path)

    assert ran.status == 2, ran.out + ran.err
    assert "Traceback" not in ran.err and f"{path}: live.per_hour: expected a whole number" in ran.err


def test_the_summarizer_loads_nltk_without_scipy(tmp_path: Path) -> None:
    """nltk's package import would load scipy.stats (60+ MB) for statistics sumy never uses."""
    ran = newsbrief(["--summarize"], tmp_path)

    assert ran.status == 0, ran.err
    assert {"sumy", "nltk", "numpy"} <= ran.packages
    assert "scipy" not in ran.packages


def test_scipy_still_imports_after_the_summarizer(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from summarizer import summarize; summarize('One sentence here. And another one.'); "
            "import scipy.stats; print(scipy.stats.fisher_exact([[1, 2], [3, 4]])[1] > 0)",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr


@pytest.mark.parametrize(
    ("extra", "modules", "env", "toml"),
    [
        ("slack", ["slack_bolt", "slack_sdk"], {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_APP_TOKEN": "xapp-t"}, ""),
        ("discord", ["discord"], {"DISCORD_TOKEN": "discord-test-token"}, ""),
        ("postgres", ["psycopg"], {}, "postgresql+psycopg://newsbrief@127.0.0.1:9/newsbrief"),
    ],
)
def test_a_missing_extra_is_named_with_its_pip_command(
    tmp_path: Path, extra: str, modules: list[str], env: dict[str, str], toml: str
) -> None:
    path = config(tmp_path)
    if toml:
        path.write_text(f"[store]\nurl = '{toml}'\n", encoding="utf-8")

    ran = newsbrief(["--config", str(path), "run"], tmp_path, uninstalled=modules, env=env)

    assert ran.status == 2, ran.out + ran.err
    assert "Traceback" not in ran.err
    assert f"needs the '{extra}' extra" in ran.err and f"pip install 'newsbrief[{extra}]'" in ran.err
    assert len(ran.err.strip().splitlines()) == 1
