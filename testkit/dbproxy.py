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
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

from sqlalchemy.engine import make_url

__all__ = ["TcpProxy", "url_with_port"]


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
