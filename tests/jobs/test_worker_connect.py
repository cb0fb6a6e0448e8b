"""A worker and its database connections: at its start it keeps trying to reach a database that refuses it (a
restart, a network cut), within bounds; its connections give up connecting after a timeout and use TCP
keepalives, so a connection cut off without a word is noticed."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bot.jobs import connection_refused, conninfo_for, until_connected, worker_store_url
from bot.store import Store
from testkit.dbproxy import CutProxy, url_with_port


class FakeTime:
    """A clock that only the waits move."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []
        self.on_wait: Callable[[], None] | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        if self.on_wait is not None:
            self.on_wait()


def _failing(times: int, exc: Exception) -> Callable[[], str]:
    calls = 0

    def connect() -> str:
        nonlocal calls
        calls += 1
        if calls <= times:
            raise exc
        return f"connected at call {calls}"

    return connect


def test_until_connected_tries_again_with_growing_bounded_waits() -> None:
    time = FakeTime()
    refused = ConnectionRefusedError(111, "Connection refused")
    result = until_connected(
        _failing(6, refused), first_wait=0.5, max_wait=4.0, retry_for=60, clock=time.clock, sleep=time.sleep
    )
    assert result == "connected at call 7"
    assert time.waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_until_connected_gives_up_after_its_time() -> None:
    time = FakeTime()
    with pytest.raises(ConnectionRefusedError):
        until_connected(
            _failing(1000, ConnectionRefusedError(111, "Connection refused")),
            first_wait=1.0,
            max_wait=8.0,
            retry_for=30,
            clock=time.clock,
            sleep=time.sleep,
        )
    assert sum(time.waits) <= 30
    assert time.waits[:4] == [1.0, 2.0, 4.0, 8.0]


def test_until_connected_does_not_retry_other_errors() -> None:
    time = FakeTime()
    with pytest.raises(ValueError):
        until_connected(_failing(1, ValueError("bad config")), clock=time.clock, sleep=time.sleep)
    with pytest.raises(psycopg.OperationalError):
        until_connected(
            _failing(1, psycopg.OperationalError('FATAL: password authentication failed for user "bot"')),
            clock=time.clock,
            sleep=time.sleep,
        )
    assert time.waits == []


def test_connection_refused_looks_through_the_exceptions_raised_from_it() -> None:
    try:
        try:
            raise psycopg.OperationalError("connection failed: Connection refused")
        except psycopg.OperationalError:
            raise RuntimeError("store 127.0.0.1: cannot open") from None
    except RuntimeError as exc:
        assert connection_refused(exc)
    assert not connection_refused(RuntimeError("no"))


def test_worker_store_url_sets_a_connect_timeout_and_keepalives(postgres_url: str) -> None:
    url = worker_store_url(postgres_url)
    with psycopg.connect(conninfo_for(url)) as conn:
        params = conn.info.get_parameters()
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("15s",)
        assert conn.execute("SHOW search_path").fetchone() != ('"$user", public',)  # the URL's own options kept
    assert params["connect_timeout"] == "10"
    assert params["keepalives"] == "1"
    assert params["keepalives_idle"] == "10"
    assert params["keepalives_interval"] == "5"
    assert params["keepalives_count"] == "3"
    assert params["tcp_user_timeout"] == "30000"
    # a value the store URL sets itself is kept
    own = worker_store_url(f"{postgres_url}&connect_timeout=3&keepalives_idle=60")
    with psycopg.connect(conninfo_for(own)) as conn:
        params = conn.info.get_parameters()
    assert (params["connect_timeout"], params["keepalives_idle"]) == ("3", "60")
    assert worker_store_url("sqlite:///var/x.db") == "sqlite:///var/x.db"


def test_a_worker_store_opens_once_the_database_stops_refusing(postgres_url: str) -> None:
    """The database refuses the worker (a cut through the proxy) until the worker's second wait: the store is
    opened at the third try, with its migrations applied."""
    time = FakeTime()
    target = make_url(postgres_url)
    with CutProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        url = worker_store_url(url_with_port(postgres_url, proxy.port))
        proxy.cut(refuse_for=3600)

        def restore() -> None:
            if len(time.waits) == 2:
                proxy.refuse_until = 0.0

        time.on_wait = restore

        def connect() -> Store:
            store = Store(url)
            try:
                store.upgrade()
            except BaseException:
                store.close()
                raise
            return store

        store = until_connected(connect, clock=time.clock, sleep=time.sleep)
        try:
            assert time.waits == [0.5, 1.0]
            assert proxy.refused >= 2
            assert store.current_revision() == store.head_revision()
        finally:
            store.close()
