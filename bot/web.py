"""The HTTP listener of ``[http] listen``: ``GET /healthz``, ``GET /metrics`` and routes other parts mount.

``/healthz`` answers the runtime's health snapshot as JSON: 200 when its ``status`` is ``"ok"``, else 503 (also
503, with ``{"status": "error", "error": ...}``, when taking the snapshot fails). ``/metrics`` is the Prometheus
exposition of :class:`bot.metrics.Metrics`. Any other path is 404. Requests are not access-logged.

The listen address follows :func:`bot.config.parse_listen` (re-exported here): ``":8080"`` means 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

from aiohttp import web

from bot.config import parse_listen
from bot.metrics import Metrics

__all__ = ["HealthCallback", "WebServer", "WebServerError", "parse_listen"]

log = logging.getLogger("newsbrief.web")

HealthCallback = Callable[[], Mapping[str, object]]
"""A snapshot of the runtime's health, e.g. ``{"status": "ok", "leader": True, "last_poll_at": "...", ...}``."""


class WebServerError(OSError):
    """The listener could not be opened (address in use, no permission, unknown host); the message names the
    listen address. ``errno`` is the underlying error's, when there is one."""


class WebServer:
    """An aiohttp server for ``listen`` (``"HOST:PORT"``; port 0 picks a free port, see :attr:`port`).

    ``extra_routes`` are mounted beside /healthz and /metrics (e.g. Slack's ``/slack/events``). A bad ``listen``
    raises ``ValueError`` here; :meth:`start` raises :class:`WebServerError` when it cannot bind.
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        health: HealthCallback,
        extra_routes: Sequence[web.RouteDef] = (),
    ) -> None:
        self.listen = listen
        self.host, self._port = parse_listen(listen)
        self.metrics = metrics
        self.health = health
        self.extra_routes = tuple(extra_routes)
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve (returns once listening). Raises :class:`WebServerError` naming the address on failure."""
        if self._runner is not None:
            raise RuntimeError(f"web server on {self.listen} is already started")
        app = web.Application()
        app.add_routes([web.get("/healthz", self._healthz), web.get("/metrics", self._metrics), *self.extra_routes])
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = exc.strerror or str(exc) or type(exc).__name__
            error = WebServerError(f"cannot listen on {self.listen} for HTTP: {reason}")
            error.errno = exc.errno
            raise error from exc
        self._runner = runner
        addresses = runner.addresses
        self._bound_port = int(addresses[0][1]) if addresses else self._port
        log.info("HTTP listening on %s", self.url)

    async def close(self) -> None:
        """Stop serving (a no-op when not started or already closed)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The port actually bound (the one the OS chose for port 0); only after :meth:`start`."""
        if self._bound_port is None:
            raise RuntimeError(f"web server on {self.listen} is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the listener (IPv6 hosts in brackets); only after :meth:`start`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- handlers --------------------------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            snapshot = dict(self.health())
            body = json.dumps(snapshot, default=str, sort_keys=True)
        except Exception as exc:
            # The exception's text may hold a database URL or similar: it goes to the log, never to the client.
            log.exception("/healthz: the health snapshot failed")
            body = json.dumps({"status": "error", "error": f"health snapshot failed ({type(exc).__name__})"})
            return web.Response(status=503, text=body, content_type="application/json")
        status = 200 if snapshot.get("status") == "ok" else 503
        return web.Response(status=status, text=body, content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})
