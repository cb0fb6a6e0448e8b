"""A loopback TCP proxy that a test puts in front of PostgreSQL to make the database go away and come back.

Usage::

    with TcpProxy("127.0.0.1", 5432) as proxy:
        store = Store(url_with_port(postgres_url, proxy.port))
        ...
        proxy.cut()  # every open connection is dropped; new ones are reset as soon as they are accepted
        ...
        proxy.restore()  # connections are forwarded again
        proxy.partition()  # like cut(), but the server is told nothing: its side of each connection stays open

It binds 127.0.0.1 on a free port and connects only to the target given (a loopback address in the tests).
Each forwarded connection is served by two threads, one per direction.

:class:`CutProxy` is the soak's (``bench/soak.py --distributed``) kind: :meth:`CutProxy.cut` resets every
connection, both sides, and refuses new ones for a while (a network partition, a database failover).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType

from sqlalchemy.engine import make_url

__all__ = ["CutProxy", "TcpProxy", "url_with_port"]


def url_with_port(url: str, port: int) -> str:
    """``url`` (a database URL) pointing at 127.0.0.1:``port`` instead of its own host and port."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def _close(sock: socket.socket, *, reset: bool = False) -> None:
    try:
        if reset:  # an RST instead of a FIN: the peer sees a refused / reset connection at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv() on it
    except OSError:
        pass
    sock.close()


class TcpProxy:
    """Forwards connections from 127.0.0.1:``port`` to ``target``; :meth:`cut` and :meth:`restore` the link."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._lock = threading.Lock()
        self._open = True
        self._links: set[socket.socket] = set()
        self._upstreams: set[socket.socket] = set()
        self._stranded: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.accepted = 0
        """Connections accepted so far (refused ones included)."""

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept_forever, listener)

    def stop(self) -> None:
        """Stop accepting, drop every connection and join the threads (idempotent)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        self.cut()
        with self._lock:
            stranded, self._stranded = self._stranded, set()
        for sock in stranded:
            _close(sock)
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()

    @property
    def port(self) -> int:
        assert self._listener is not None, "the proxy is not started"
        return int(self._listener.getsockname()[1])

    # ---------------------------------------------------------------- the outage

    def cut(self) -> None:
        """Drop every open connection and reset new ones until :meth:`restore`."""
        with self._lock:
            self._open = False
            links, self._links = self._links, set()
        for sock in links:
            _close(sock)

    def partition(self) -> None:
        """A network path that went away without a word to the server (a dead NAT or proxy): every open
        connection is dropped on the client's side only; the server's side stays open, so its session (and any
        lock it holds) lives on until the server ends it itself or :meth:`stop`. New connections are reset until
        :meth:`restore`."""
        with self._lock:
            self._open = False
            links, self._links = self._links, set()
            self._stranded |= links & self._upstreams
        for sock in links - self._stranded:
            _close(sock)

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._open = True

    # ---------------------------------------------------------------- forwarding

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name="dbproxy", daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_forever(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # the listener was closed: stop
                return
            self.accepted += 1
            with self._lock:
                refuse = not self._open
            if refuse:
                _close(client, reset=True)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client, reset=True)
                continue
            with self._lock:
                if not self._open:  # cut meanwhile
                    _close(client, reset=True)
                    _close(upstream)
                    continue
                self._links.update((client, upstream))
                self._upstreams.add(upstream)
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._links.discard(source)
                self._links.discard(sink)
                kept = self._stranded
            for sock in (source, sink):
                if sock not in kept:
                    _close(sock)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a dropped network path looks to the peer. The socket is shut down
    first: a thread blocked in ``recv()``/``accept()`` on it is woken, so the socket is really released (a bare
    ``close()`` would leave it open under that thread, the peer told nothing: a stranded connection)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class CutProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target`` (PostgreSQL): :meth:`cut` resets both sides of every
    connection through it (the client and the server each see theirs reset) and refuses new ones for a while;
    :meth:`close` stops it and resets every connection the same way. ``connections``: forwarded so far;
    ``refused``: reset at once because a cut was on."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.refuse_until = 0.0
        self.refused = 0
        self.connections = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept, name="pg-proxy")

    def __enter__(self) -> CutProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _spawn(self, target: object, *args: object, name: str = "pg-proxy-pump") -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _refusing(self) -> bool:
        return self._closed or time.time() < self.refuse_until

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._refusing():
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self.lock:
                refuse = self._refusing()  # a cut (or close) while connecting: this one is cut too
                if not refuse:
                    self.pairs.add(pair)
                    self.connections += 1
            if refuse:
                self.refused += 1
                _reset(client)
                _reset(upstream)
                continue
            for src, dst in (pair, pair[::-1]):
                self._spawn(self._pump, src, dst, pair)

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        self._drop(pair)

    def _drop(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self.lock:
            if pair not in self.pairs:
                return
            self.pairs.discard(pair)
        for sock in pair:
            _reset(sock)

    def cut(self, refuse_for: float) -> int:
        """Reset both sides of every connection and refuse new ones for ``refuse_for`` seconds; returns how many
        were cut."""
        with self.lock:
            self.refuse_until = max(self.refuse_until, time.time() + refuse_for)
            pairs = list(self.pairs)
        for pair in pairs:
            self._drop(pair)
        return len(pairs)

    def open_connections(self) -> int:
        """Connections being forwarded now."""
        with self.lock:
            return len(self.pairs)

    def close(self, join_s: float = 5.0) -> None:
        """Stop accepting, reset both sides of every connection and join the threads (idempotent)."""
        with self.lock:
            self._closed = True
        _reset(self.listener)  # wakes the accept thread
        self.cut(0)
        with self.lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(join_s)
