"""Command-line startup benchmark: what an operator waits for and what the bot holds while it waits.

Run as ``python bench/cli_bench.py`` (``make bench``). Each command runs as the operator runs it: the
``newsbrief`` console script beside this Python (``python -m bot`` when there is none), with this checkout first
on ``PYTHONPATH``, in a scratch working directory, on the demo config (``config/demo.toml``: its SQLite database
is ``var/demo.db`` of the working directory). Goals:

- ``newsbrief --version``: median wall time of :data:`RUNS` runs (after one untimed run) <= 0.3 s;
- ``newsbrief brief rail`` on a warm database (the demo feeds polled once by ``newsbrief poll`` first): median
  wall time <= 1.0 s. The rail story is told by both demo outlets, so the summarizer condenses it: the slowest
  brief of the demo;
- idle ``newsbrief run``: its resident memory (``VmRSS``) once it has started, polled, printed the start-up
  briefings and waits for commands on a pipe that stays open (sampled :data:`SETTLE_S` seconds after the
  prompt, the highest of a few samples) <= 150 MB. The page-extraction worker process is shown apart.

Prints one row per goal with PASS or FAIL; exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo.toml"
RUNS = 5
SETTLE_S = 3.0
SAMPLES = 6
VERSION_GOAL_S = 0.3
BRIEF_GOAL_S = 1.0
RSS_GOAL_MB = 150.0
READY_LINE = "Type /brief"
"""What ``run`` prints once it waits for commands."""
START_TIMEOUT_S = 180.0


def newsbrief_command() -> list[str]:
    """The console script beside this interpreter, else ``python -m bot``."""
    script = shutil.which("newsbrief", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "bot"]


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    for name in ("NEWSBRIEF_CONFIG", "NEWSBRIEF_ENV_FILE", "SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        env.pop(name, None)  # the demo: the console adapter only
    return env


def wall_times(argv: Sequence[str], cwd: Path, runs: int = RUNS) -> list[float]:
    """Wall seconds of ``runs`` runs of ``argv`` after one untimed run (which fills the OS file cache)."""
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=environment(), capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        if attempt:
            times.append(elapsed)
    return times


def rss_mb(pid: int) -> float | None:
    """The resident memory of process ``pid`` in MB (``None`` when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def idle_run_rss(base: list[str], cwd: Path) -> tuple[float, float]:
    """(MB of the ``run`` process, MB of its child processes) once it waits for commands on an open pipe."""
    process = subprocess.Popen(
        [*base, "--config", str(DEMO_CONFIG), "run"],
        cwd=cwd,
        env=environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        seen: list[str] = []
        for line in process.stdout:
            seen.append(line)
            if READY_LINE in line:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"run did not get ready within {START_TIMEOUT_S:g} s")
        else:
            raise SystemExit(f"run ended before it was ready: {''.join(seen)[-1000:]}")
        time.sleep(SETTLE_S)
        main, kids = 0.0, 0.0
        for _ in range(SAMPLES):
            main = max(main, rss_mb(process.pid) or 0.0)
            kids = max(kids, sum(rss_mb(child) or 0.0 for child in children(process.pid)))
            time.sleep(0.5)
        return main, kids
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()  # end of input: run quits
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs of each command (default {RUNS})")
    args = parser.parse_args(argv)
    base = newsbrief_command()
    rows: list[tuple[str, str, str, bool]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="newsbrief-cli-bench-") as folder:
        cwd = Path(folder)
        version = statistics.median(wall_times([*base, "--version"], cwd, args.runs))
        rows.append(("newsbrief --version", f"{version:.2f} s", f"<= {VERSION_GOAL_S:g} s", version <= VERSION_GOAL_S))
        wall_times([*base, "--config", str(DEMO_CONFIG), "poll"], cwd, runs=0)  # the warm database
        brief = statistics.median(wall_times([*base, "--config", str(DEMO_CONFIG), "brief", "rail"], cwd, args.runs))
        rows.append(
            ("newsbrief brief rail (warm database)", f"{brief:.2f} s", f"<= {BRIEF_GOAL_S:g} s", brief <= BRIEF_GOAL_S)
        )
        main_mb, kids_mb = idle_run_rss(base, cwd)
        rows.append(
            (
                f"idle newsbrief run RSS (+ {kids_mb:.0f} MB in worker processes)",
                f"{main_mb:.0f} MB",
                f"<= {RSS_GOAL_MB:g} MB",
                main_mb <= RSS_GOAL_MB,
            )
        )
    print(f"newsbrief startup ({' '.join(Path(part).name for part in base)}; median of {args.runs} runs)")
    width = max(len(row[0]) for row in rows)
    for name, value, goal, ok in rows:
        print(f"  {name:<{width}}  {value:>8}  goal {goal:<10}  {'PASS' if ok else 'FAIL'}")
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
