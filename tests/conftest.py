"""Shared fixtures: services (PostgreSQL), the loopback-only network tripwire, the shared data folder."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
POSTGRES_URL = os.environ.get("NEWSBRIEF_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def services_required() -> bool:
    """CI sets NEWSBRIEF_REQUIRE_SERVICES=1: a missing service fails instead of skipping."""
    return os.environ.get("NEWSBRIEF_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (NEWSBRIEF_REQUIRE_SERVICES=1 makes this a failure, not a skip)")
    pytest.skip(reason)


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
    if problem:
        _unavailable(problem)
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
    """../shared (read-only data beside the project); skips where a fresh clone has none."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside the project (a user's fresh clone has no shared data)")
    return SHARED


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
