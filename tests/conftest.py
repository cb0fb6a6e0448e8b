"""Shared fixtures: services (PostgreSQL), the loopback-only network tripwire, the shared data folder; and the
session-wide scan of every log record for the secret values the tests use (see ``SECRETS`` at the end)."""

from __future__ import annotations

import copy
import importlib
import ipaddress
import logging
import os
import re
import socket
import sys
import sysconfig
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from bot._logging import FORMAT, RedactSecrets
from bot.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
POSTGRES_URL = os.environ.get("NEWSBRIEF_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def services_required() -> bool:
    """CI sets NEWSBRIEF_REQUIRE_SERVICES=1: a missing service fails instead of skipping."""
    return os.environ.get("NEWSBRIEF_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


# --------------------------------------------------------------------------------------------------
# Skips: every skip of the suite goes through ``require`` (grep tests/ and testkit/ for pytest.skip, skipif and
# importorskip: they appear only here). Where NEWSBRIEF_REQUIRE_SERVICES=1 (CI: .ci/run), whatever a test needs
# must be there: the skip becomes a failure, so a CI run can never pass by skipping.


def require(condition: object, reason: str) -> None:
    """Go on when ``condition`` holds; otherwise skip the test with ``reason`` (fail it where
    NEWSBRIEF_REQUIRE_SERVICES=1)."""
    if not condition:
        _unavailable(reason)


def _unavailable(reason: str) -> NoReturn:
    if services_required():
        pytest.fail(f"{reason} (NEWSBRIEF_REQUIRE_SERVICES=1 makes this a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require_module(name: str, why: str) -> Any:
    """The module ``name``, imported; :func:`require` it (``why``: what the test does with it)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        _unavailable(f"{name} is not importable ({exc}); {why}")


def shared_path(*parts: str) -> Path:
    """A file or folder of ../shared (read-only data beside the project), :func:`require`d: a user's fresh clone
    has none."""
    path = SHARED.joinpath(*parts)
    require(path.exists(), f"{path} is not beside the project (a user's fresh clone has no shared data)")
    return path


def _postgres_reachable() -> str | None:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed: {exc}"
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {dsn}: {exc.__class__.__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The base URL of the test PostgreSQL server (skips, or fails in CI, when it is unreachable)."""
    problem = _postgres_reachable()
    require(problem is None, problem or "")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, private schema, dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in postgres_server else "?"
    try:
        yield f"{postgres_server}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One suite, every backend: a SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/data/newsbrief.db"
    url = request.getfixturevalue("postgres_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend (modules may define their own ``store`` instead)."""
    s = Store(store_url)
    s.upgrade()
    yield s
    s.close()


@pytest.fixture
def shared_dir() -> Path:
    """../shared (read-only data beside the project), :func:`require`d."""
    return shared_path()


# --------------------------------------------------------------------------------------------------
# Network tripwire: nothing but loopback, ever.


class TripwireError(AssertionError):
    """A test tried to reach a non-loopback address (or to resolve a name) outside the test resolver."""


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every test runs under the tripwire: no test may reach (or even resolve) anything but loopback."""
    return _install_tripwire(monkeypatch)


@pytest.fixture
def tripwire(_loopback_only: list[str]) -> list[str]:
    """Fail any socket connect or DNS lookup of a non-loopback address before it happens (every test has this
    already; tests of the private-address guard name it to say so, and get the list of blocked attempts).

    Tests of the private-address guard run under this fixture so that even a broken guard can never
    send a packet to 169.254.x, 10.x or any other host.
    """
    return _loopback_only


def _install_tripwire(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    blocked: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
            return  # AF_UNIX path
        if not _is_loopback(host):
            blocked.append(str(host))
            raise TripwireError(f"tripwire: connection to non-loopback address {host!r} attempted")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            blocked.append(str(host))
            raise TripwireError(f"tripwire: DNS lookup of {host!r} attempted")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return blocked


# --------------------------------------------------------------------------------------------------
# File opens: an audit hook (installed once, on first use) records the paths the process opens while a test's
# ``file_opens`` is recording, so a test can show that nothing outside its own folder was read.

PROJECT = Path(__file__).resolve().parents[1]
_RECORDING: list[str] | None = None
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    recording = _RECORDING
    if recording is None or event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, (str, bytes, os.PathLike)):
        recording.append(os.path.abspath(os.fsdecode(path)))


@dataclass
class FileOpens:
    """The absolute paths opened (``open``, ``io.open``, ``os.open``: the "open" audit event) while recording."""

    paths: list[str]
    own: Path

    def outside(self, *extra: Path) -> list[str]:
        """Opened paths outside the test's own folder, the project, the Python installation, the time zone
        database and ``extra``."""
        roots = {self.own, PROJECT, *extra, *(Path(p) for p in zoneinfo.TZPATH)}
        roots |= {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
        roots |= {Path(p) for p in sysconfig.get_paths().values()}
        real = [Path(os.path.realpath(r)) for r in roots]
        return [p for p in self.paths if not any(Path(os.path.realpath(p)).is_relative_to(r) for r in real)]


@pytest.fixture
def file_opens(tmp_path: Path) -> Iterator[FileOpens]:
    """Record every file the process opens during the test (audit hooks cannot be removed, so one is installed
    once per session and records only while a test asks for it)."""
    global _RECORDING, _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    opens = FileOpens([], tmp_path)
    _RECORDING = opens.paths
    try:
        yield opens
    finally:
        _RECORDING = None


# --------------------------------------------------------------------------------------------------
# Secrets in log records: every record logged during the session is checked for the token values the tests
# use; a session in which one shows up fails (exit status 1), naming the record and the test that logged it.

SECRETS: set[str] = {
    # literal token values of the suite (tests/test_*.py); a test may add its own with ``secret(value)``
    "discord-test-token",
    "discord-cli-token",
    "discord-e2e-secret-token",
    "discord-from-dotenv",
    "discord-after-the-break",
    "fake-bot-token",
    "not-a-real-token",
    "ignored-when-a-file-is-named",
    "signing-secret-for-tests",
    "extra-secret-value",
}
"""Secret values the tests use. A record containing one of them, or anything shaped like a Slack token
(:data:`TOKEN_SHAPES`), is a leak."""
TOKEN_SHAPES = re.compile(r"xoxb-[\w-]+|xapp-[\w-]+|[MN][\w-]{23,}\.[\w-]{6}\.[\w-]{27,}")
"""Slack bot and app tokens, and the shape of a real Discord bot token."""
SCANNED_LOGGERS = ("newsbrief", "bot", "slack_bolt", "slack_sdk", "discord")
"""Loggers whose DEBUG records are scanned too (the libraries that hold the tokens, and newsbrief itself)."""
_SCAN_LEVEL = logging.DEBUG - 1
"""The level the scanned loggers get while the session runs: DEBUG records are created (for the scan), and the
level is told apart from a DEBUG a test sets itself."""


def secret(value: str) -> str:
    """Register ``value`` as a secret the log scan looks for (at least 8 characters); returns it."""
    if len(value) < 8:
        raise ValueError(f"a registered secret needs at least 8 characters, got {len(value)}")
    SECRETS.add(value)
    return value


def leaked_secrets(text: str) -> list[str]:
    """The registered secrets and token-shaped strings in ``text``."""
    return sorted({s for s in SECRETS if s in text} | set(TOKEN_SHAPES.findall(text)))


@dataclass(frozen=True)
class Leak:
    """One log record that showed a secret: where it came from and what it said."""

    test: str
    logger: str
    level: str
    secrets: tuple[str, ...]
    text: str


class SecretScan(logging.Handler):
    """A root handler that formats every record as newsbrief would print it and remembers those showing a secret.

    "As printed": through the redaction filters of any handler :func:`bot._logging.configure_logging` installed
    (applied to a copy; the record itself is left alone), with the process's format and the traceback. Records
    below the level a scanned logger would have without the scan go to this handler only (see
    :func:`_call_handlers`), so no other handler — the process's stderr, pytest's capture — sees more than it
    would have.
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter(FORMAT))
        self.records = 0
        self.leaks: list[Leak] = []

    def emit(self, record: logging.LogRecord) -> None:
        shown = copy.copy(record)
        for handler in logging.getLogger().handlers:
            for redact in (f for f in handler.filters if isinstance(f, RedactSecrets)):
                redact.filter(shown)
        try:
            text = self.format(shown)
        except Exception as exc:  # a record that cannot be formatted: scan what there is
            text = f"{record.msg!r} {record.args!r} ({type(exc).__name__})"
        self.records += 1
        found = leaked_secrets(text)
        if found:
            test = os.environ.get("PYTEST_CURRENT_TEST", "(outside any test)")
            self.leaks.append(Leak(test, record.name, record.levelname, tuple(found), text))


_SCAN: SecretScan | None = None
_SAVED_LEVELS: dict[str, int] = {}
_REAL_CALL_HANDLERS = logging.Logger.callHandlers


def _threshold(logger: logging.Logger) -> int:
    """The effective level ``logger`` would have without the scan's :data:`_SCAN_LEVEL`."""
    node: logging.Logger | None = logger
    while node is not None:
        level = _SAVED_LEVELS.get(node.name, node.level) if node.level == _SCAN_LEVEL else node.level
        if level:
            return level
        node = node.parent
    return logging.NOTSET


def _call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
    """``Logger.callHandlers``, except that a record created only because of the scan's level goes to the scan
    alone."""
    if _SCAN is not None and record.levelno < _threshold(self):
        _SCAN.handle(record)
        return
    _REAL_CALL_HANDLERS(self, record)


def pytest_sessionstart(session: pytest.Session) -> None:
    global _SCAN
    _SCAN = SecretScan()
    logging.getLogger().addHandler(_SCAN)
    for name in SCANNED_LOGGERS:
        logger = logging.getLogger(name)
        _SAVED_LEVELS[name] = logger.level
        logger.setLevel(_SCAN_LEVEL)
    logging.Logger.callHandlers = _call_handlers  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _SCAN
    scan, _SCAN = _SCAN, None
    logging.Logger.callHandlers = _REAL_CALL_HANDLERS  # type: ignore[method-assign]
    for name, level in _SAVED_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    if scan is None:
        return
    logging.getLogger().removeHandler(scan)
    session.config.stash[_LEAKS] = (scan.records, scan.leaks)
    if scan.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_LEAKS = pytest.StashKey[tuple[int, list[Leak]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    records, leaks = config.stash.get(_LEAKS, (0, []))
    if not leaks:
        terminalreporter.write_line(f"log scan: {records} log records, none showed a secret value of the tests")
        return
    terminalreporter.section("secrets in log records", sep="!", red=True, bold=True)
    terminalreporter.write_line(f"{len(leaks)} of {records} log records showed a secret value used by the tests:")
    for leak in leaks[:20]:
        shown = leak.text if len(leak.text) <= 500 else leak.text[:500] + "..."
        terminalreporter.write_line(f"  {leak.test}: {leak.level} {leak.logger} showed {', '.join(leak.secrets)}")
        terminalreporter.write_line(f"    {shown!r}")
    if len(leaks) > 20:
        terminalreporter.write_line(f"  ... and {len(leaks) - 20} more")
