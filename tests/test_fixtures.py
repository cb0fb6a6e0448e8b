"""The shared fixtures themselves: the tripwire blocks before any packet leaves, PostgreSQL is real."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import TripwireError


def test_tripwire_blocks_non_loopback_connect_and_dns(tripwire: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(TripwireError):
        s.connect(("169.254.169.254", 80))
    with pytest.raises(TripwireError):
        socket.getaddrinfo("example.com", 80)
    assert tripwire == ["169.254.169.254", "example.com"]


def test_tripwire_lets_loopback_through(tripwire: list[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.connect(server.getsockname())
    assert tripwire == []


def test_postgres_schema_is_private(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
    assert schema is not None and schema[0].startswith("t_")
