"""The machinery the loopback fakes (``FakeSlack``, ``FakeDiscord``) share: an aiohttp server in its own thread.

A subclass adds its routes (``_add_routes``) and, when it holds connections, closes them in ``_shutdown`` before
calling ``super()._shutdown()``. The server runs in a daemon thread with its own event loop, bound to 127.0.0.1
on a free port, so it serves sync tests, async tests (whose loop is another one) and subprocesses alike.

Everything a fake records is kept under ``self._cond`` (a condition over a re-entrant lock): readers take
snapshots under it, handlers ``notify_all`` after recording, and the blocking helpers wait on it with a timeout
(``_wait_until``), never by sleeping. ``_run`` runs a coroutine on the fake's loop from another thread and waits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

__all__ = ["LoopbackAioServer"]

T = TypeVar("T")


class LoopbackAioServer:
    """Start/stop an aiohttp application on 127.0.0.1 (a free port) in a thread with its own event loop.

    ``name`` is what errors and the thread are called after (``"FakeSlack"`` -> thread ``fakeslack``).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._cond = threading.Condition(threading.RLock())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._port = 0

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._started.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._serve, name=self._name.lower(), daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError(f"{self._name} did not start within 10 s")
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"{self._name} failed to start: {self._start_error!r}") from self._start_error

    def stop(self) -> None:
        """Close the connections, stop the server and its loop, join the thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._before_stop()
        if not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(15)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        self._thread = None
        self._loop = None

    def _before_stop(self) -> None:
        """Called by ``stop`` (on the caller's thread) before the server shuts down, when it is running."""

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._startup())
            except BaseException as exc:
                self._start_error = exc
                return
            finally:
                self._started.set()
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    async def _startup(self) -> None:
        app = web.Application()
        self._add_routes(app.router)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        addresses = runner.addresses
        assert addresses, "the site has no listening socket"
        self._port = int(addresses[0][1])
        self._runner = runner

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- helpers for the fakes

    @property
    def port(self) -> int:
        return self._port

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError(f"{self._name} is not started")
        if threading.current_thread() is self._thread:
            raise RuntimeError(f"blocking {self._name} helpers cannot run on the fake's own thread")
        return loop

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
        """Run ``make()`` on the fake's loop and wait for its result (from any thread but the fake's own)."""
        loop = self._require_loop()
        return asyncio.run_coroutine_threadsafe(make(), loop).result(timeout)

    def _wait_until(self, predicate: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
        """Block until ``predicate()`` holds (checked under the lock), else raise ``TimeoutError(describe())``.

        The lock is re-entrant: a caller that holds it to take a snapshot afterwards keeps it across the wait.
        """
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(describe())
