"""The soak's database proxy (:class:`testkit.dbproxy.CutProxy`): a cut, and closing it, end both sides of every
connection, even while a thread of the proxy is blocked reading each side (nothing stranded)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from testkit.dbproxy import CutProxy

WAIT_S = 5.0


class Upstream:
    """A loopback server that keeps the connections it accepts, to read from them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()
        self.accepted: list[socket.socket] = []
        self.clients: list[socket.socket] = []
        """The tests' own client sockets, closed by :meth:`close`."""
        self.arrived = threading.Semaphore(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(sock)
            self.arrived.release()

    def next_connection(self) -> socket.socket:
        assert self.arrived.acquire(timeout=WAIT_S), "the proxy forwarded no connection"
        sock = self.accepted[-1]
        sock.settimeout(WAIT_S)
        return sock

    def close(self) -> None:
        self.listener.close()
        for sock in [*self.accepted, *self.clients]:
            sock.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


def _ended(sock: socket.socket) -> bool:
    """Whether the peer ended the connection (EOF or a reset) rather than leaving it open (a timeout)."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def _refused(port: int) -> bool:
    """Whether a new connection to ``port`` is reset (at its connect, or at its first read) or refused."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    except (ConnectionError, TimeoutError):
        return True
    with sock:
        return _ended(sock)


def _linked(proxy: CutProxy, upstream: Upstream) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT_S)
    upstream.clients.append(client)  # closed with the upstream, after the test
    server = upstream.next_connection()
    client.sendall(b"ping")
    assert server.recv(4) == b"ping"
    server.sendall(b"pong")
    assert client.recv(4) == b"pong"
    return client, server


def test_a_cut_ends_both_sides_of_every_connection(upstream: Upstream) -> None:
    with CutProxy(upstream.address) as proxy:
        links = [_linked(proxy, upstream) for _ in range(3)]
        assert proxy.open_connections() == 3

        assert proxy.cut(refuse_for=60) == 3

        for client, server in links:
            assert _ended(server), "the server's side of a cut connection was left open"
            assert _ended(client), "the client's side of a cut connection was left open"
        assert proxy.open_connections() == 0
        # while the cut lasts, a new connection is reset at once and never reaches the server
        assert _refused(proxy.port)
        assert proxy.refused == 1
        assert not upstream.arrived.acquire(timeout=0.2)


def test_connections_work_again_after_the_cut(upstream: Upstream) -> None:
    with CutProxy(upstream.address) as proxy:
        _linked(proxy, upstream)
        proxy.cut(refuse_for=0)
        client, server = _linked(proxy, upstream)
        assert proxy.connections == 2
        assert proxy.open_connections() == 1
        client.sendall(b"again")
        assert server.recv(5) == b"again"


def test_closing_the_proxy_ends_both_sides_and_stops_accepting(upstream: Upstream) -> None:
    proxy = CutProxy(upstream.address)
    client, server = _linked(proxy, upstream)
    port = proxy.port

    proxy.close()

    assert _ended(server)
    assert _ended(client)
    assert proxy.open_connections() == 0
    assert _refused(port)
