"""The HTTP listener (bot/web.py) and the metrics it serves (bot/metrics.py), on a real server on 127.0.0.1."""

from __future__ import annotations

import errno
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Mapping

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot import __version__
from bot.config import parse_listen as config_parse_listen
from bot.metrics import FETCH_ERROR_KINDS, OTHER, Metrics
from bot.sources import FETCH_ERROR_KINDS as SOURCE_ERROR_KINDS
from bot.web import WebServer, WebServerError, parse_listen
from tests.conftest import require

SECRET_ISH = "postgresql://newsbrief:hunter2-password@db/newsbrief"


def ok_health() -> Mapping[str, object]:
    return {"status": "ok", "leader": True, "last_poll_at": "2025-01-02T03:04:05+00:00", "store": "ok"}


@pytest.fixture
async def client(tripwire: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as c:
        yield c


async def serve(
    health: Callable[[], Mapping[str, object]] = ok_health, metrics: Metrics | None = None, **kwargs: object
) -> WebServer:
    server = WebServer("127.0.0.1:0", metrics or Metrics(), health, **kwargs)  # type: ignore[arg-type]
    await server.start()
    return server


# -- /healthz --------------------------------------------------------------------------------------------------


async def test_healthz_is_200_with_the_snapshot_when_ok(client: httpx.AsyncClient) -> None:
    async with WebServer("127.0.0.1:0", Metrics(), ok_health) as server:
        assert server.port > 0
        response = await client.get(f"{server.url}/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == ok_health()


async def test_healthz_is_503_when_the_status_is_not_ok(client: httpx.AsyncClient) -> None:
    def degraded() -> Mapping[str, object]:
        return {"status": "degraded", "store": "unreachable", "leader": False}

    async with WebServer("127.0.0.1:0", Metrics(), degraded) as server:
        response = await client.get(f"{server.url}/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "store": "unreachable", "leader": False}


async def test_healthz_is_503_without_details_when_the_snapshot_fails(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Mapping[str, object]:
        raise RuntimeError(f"cannot connect to {SECRET_ISH}")

    async with WebServer("127.0.0.1:0", Metrics(), broken) as server:
        response = await client.get(f"{server.url}/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and "RuntimeError" in body["error"]
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert any(r.name == "newsbrief.web" and r.exc_info for r in caplog.records)  # logged, with the traceback


# -- /metrics --------------------------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_shows_what_was_counted(client: httpx.AsyncClient) -> None:
    metrics = Metrics()
    metrics.feed_polled("ok")
    metrics.feed_polled("ok")
    metrics.feed_polled("not_modified")
    metrics.fetch_error("timeout")
    metrics.fetch_error("gremlins")  # unknown kinds are "other"
    metrics.articles_stored("new", 3)
    metrics.articles_stored("updated")
    metrics.digest("slack", "posted")
    metrics.observe_command("brief", "discord", 0.02)
    metrics.observe_command("brief", "discord", 3.0)
    metrics.set_leader(True)

    async with WebServer("127.0.0.1:0", metrics, ok_health) as server:
        response = await client.get(f"{server.url}/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("newsbrief_feeds_polled_total", (("status", "ok"),))] == 2
    assert got[("newsbrief_feeds_polled_total", (("status", "not_modified"),))] == 1
    assert got[("newsbrief_feeds_polled_total", (("status", "error"),))] == 0  # known values exist from the start
    assert got[("newsbrief_fetch_errors_total", (("kind", "timeout"),))] == 1
    assert got[("newsbrief_fetch_errors_total", (("kind", "other"),))] == 1
    assert not any(labels == (("kind", "gremlins"),) for _, labels in got)
    assert got[("newsbrief_articles_stored_total", (("status", "new"),))] == 3
    assert got[("newsbrief_articles_stored_total", (("status", "updated"),))] == 1
    assert got[("newsbrief_digests_total", (("outcome", "posted"), ("platform", "slack")))] == 1
    latency = (("command", "brief"), ("platform", "discord"))
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in got.items()
        if name == "newsbrief_command_latency_seconds_bucket" and ("command", "brief") in labels
    }
    assert got[("newsbrief_command_latency_seconds_count", latency)] == 2
    assert buckets["0.005"] == 0 and buckets["0.025"] == 1 and buckets["5.0"] == 2 and buckets["10.0"] == 2
    assert got[("newsbrief_scheduler_leader", ())] == 1
    assert got[("newsbrief_build_info", (("version", __version__),))] == 1


def test_unknown_label_values_are_counted_as_other() -> None:
    metrics = Metrics()
    metrics.feed_polled("exploded")
    metrics.articles_stored("deleted", 2)
    metrics.digest("irc", "vanished")
    metrics.observe_command("/brief rm -rf", "telegram", -1.0)  # a negative duration counts as 0
    metrics.set_leader(True)
    metrics.set_leader(False)

    body, content_type = metrics.render()
    got = samples(body.decode())
    assert content_type.startswith("text/plain")
    assert got[("newsbrief_feeds_polled_total", (("status", OTHER),))] == 1
    assert got[("newsbrief_articles_stored_total", (("status", OTHER),))] == 2
    assert got[("newsbrief_digests_total", (("outcome", OTHER), ("platform", OTHER)))] == 1
    assert got[("newsbrief_command_latency_seconds_sum", (("command", OTHER), ("platform", OTHER)))] == 0
    assert got[("newsbrief_scheduler_leader", ())] == 0
    with pytest.raises(ValueError, match="count"):
        metrics.articles_stored("new", -1)


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # would raise "Duplicated timeseries" on a shared registry
    first.feed_polled("ok")

    assert samples(second.render()[0].decode())[("newsbrief_feeds_polled_total", (("status", "ok"),))] == 0


def test_fetch_error_kinds_match_the_sources_package() -> None:
    metrics_kinds = set(FETCH_ERROR_KINDS)
    assert metrics_kinds == {*SOURCE_ERROR_KINDS, OTHER}


# -- routing, logging, lifecycle -----------------------------------------------------------------------------------


async def test_other_paths_are_404_and_requests_are_not_access_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    async with WebServer("127.0.0.1:0", Metrics(), ok_health) as server:
        missing = await client.get(f"{server.url}/")
        other = await client.get(f"{server.url}/healthz/extra")
        await client.get(f"{server.url}/healthz")

    assert missing.status_code == 404 and other.status_code == 404
    assert not [r for r in caplog.records if r.name == "aiohttp.access"]


async def test_extra_routes_share_the_listener(client: httpx.AsyncClient) -> None:
    async def events(request: web.Request) -> web.Response:
        return web.json_response({"echo": json.loads(await request.text())})

    server = await serve(extra_routes=[web.post("/slack/events", events)])
    try:
        response = await client.post(f"{server.url}/slack/events", json={"type": "url_verification"})
        health = await client.get(f"{server.url}/healthz")
    finally:
        await server.close()

    assert response.status_code == 200 and response.json() == {"echo": {"type": "url_verification"}}
    assert health.status_code == 200


async def test_a_port_in_use_is_a_clear_oserror() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        listen = f"127.0.0.1:{port}"
        server = WebServer(listen, Metrics(), ok_health)

        with pytest.raises(OSError) as info:
            await server.start()

    assert isinstance(info.value, WebServerError)
    assert info.value.errno == errno.EADDRINUSE
    message = str(info.value)
    assert message.startswith(f"cannot listen on {listen}") and "\n" not in message
    await server.close()  # nothing to close: a no-op


async def test_close_stops_serving_and_port_needs_a_start(client: httpx.AsyncClient) -> None:
    server = WebServer("127.0.0.1:0", Metrics(), ok_health)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    await server.start()
    url = server.url
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()
    await server.close()
    await server.close()

    with pytest.raises(httpx.ConnectError):
        await client.get(f"{url}/healthz")


async def test_ipv6_loopback(client: httpx.AsyncClient) -> None:
    require(socket.has_ipv6, "no IPv6 on this host")
    try:
        server = await WebServer("[::1]:0", Metrics(), ok_health).__aenter__()
    except WebServerError as exc:
        require(False, f"cannot bind ::1 here: {exc}")
    try:
        assert server.url == f"http://[::1]:{server.port}"
        assert (await client.get(f"{server.url}/healthz")).status_code == 200
    finally:
        await server.close()


# -- parse_listen ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::]:9090", ("::", 9090)),
        (":8080", ("127.0.0.1", 8080)),  # no host: loopback only
        ("localhost:0", ("localhost", 0)),
        ("metrics.internal.example:65535", ("metrics.internal.example", 65535)),
    ],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected HOST:PORT"),
        ("8080", "expected HOST:PORT"),
        ("127.0.0.1", "expected HOST:PORT"),
        ("127.0.0.1:", "the port must be a number"),
        ("127.0.0.1:http", "the port must be a number"),
        ("127.0.0.1:65536", "the port must be a number"),
        ("127.0.0.1:-1", "the port must be a number"),
        ("::1:8080", "IPv6 address in brackets"),
        ("[not-ipv6]:8080", "is not an IPv6 address"),
        ("300.1.2.3:80", "is not an IPv4 address"),
        ("bad host:80", "is not a host name"),
        ("under_score:80", "is not a host name"),
    ],
)
def test_parse_listen_rejects(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_listen(text)
    message = str(info.value)
    assert problem in message and repr(text) in message and "\n" not in message


def test_web_and_config_share_parse_listen() -> None:
    assert parse_listen is config_parse_listen
