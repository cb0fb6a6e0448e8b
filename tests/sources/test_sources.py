"""bot.sources: fetching faults, the private-address guard, feed parsing, discovery and page extraction.

Everything runs against the loopback FeedServer (testkit/feedserver.py); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import NetworkConfig
from bot.sources import (
    ExtractedPage,
    Fetcher,
    FetchError,
    FetchResult,
    GuardedTransport,
    Resolver,
    check_url,
    clean_text,
    discover_feeds,
    extract_page,
    extract_page_async,
    is_boilerplate,
    is_public,
    next_backoff,
    parse_feed,
    parse_retry_after,
)
from testkit.feedserver import (
    FeedServer,
    Item,
    atom_feed,
    bomb_stream,
    encode,
    gzip_bomb,
    json_feed,
    rss091_feed,
    rss1_feed,
    rss_feed,
)

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
POLICY = NetworkConfig(
    connect_timeout=timedelta(seconds=2),
    read_timeout=timedelta(milliseconds=500),
    max_bytes=1_000_000,
    allow_private=("127.0.0.1",),
    total_timeout=timedelta(seconds=10),
)


def items(n: int = 3, base: str = "http://127.0.0.1/a/") -> list[Item]:
    return [
        Item(
            title=f"Story {i}",
            link=f"{base}{i}",
            guid=f"guid-{i}",
            published=datetime(2024, 3, 1, 12, 0, tzinfo=UTC) + timedelta(days=i),
            summary=f"<p>Summary <b>{i}</b></p>",
            content=f"<p>Full text {i}</p>",
            author="Jane Doe",
        )
        for i in range(n)
    ]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5.0) as http:
        yield http


@pytest.fixture
def fetcher(client: httpx.AsyncClient) -> Fetcher:
    return Fetcher(client, POLICY)


async def fetch_error(fetcher: Fetcher, url: str, *, allow_file: bool = False) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(url, allow_file=allow_file)
    error = info.value
    assert url in str(error) and "\n" not in str(error)
    return error


# ---------------------------------------------------------------------------------------------------------
# Fetching: success paths


async def test_fetch_ok_sends_user_agent_and_reports_headers(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed", rss_feed(items()), headers=RSS, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    result = await fetcher.fetch(server.url("/feed"))
    assert isinstance(result, FetchResult)
    assert result.status == 200 and not result.not_modified
    assert result.etag == '"v1"' and result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.content_type == "application/rss+xml" and result.charset == "utf-8"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert b"<rss" in result.body
    agent = server.requests[0].headers["user-agent"]
    assert agent == POLICY.agent and agent.startswith("newsbrief/")


async def test_conditional_get_gives_not_modified(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed", rss_feed(items()), headers=RSS, etag='"v7"', last_modified="Tue, 02 Jan 2024 10:00:00 GMT")
    first = await fetcher.fetch(server.url("/feed"))
    again = await fetcher.fetch(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.status == 304 and again.body == b""
    sent = server.requests[-1].headers
    assert sent["if-none-match"] == '"v7"' and sent["if-modified-since"] == "Tue, 02 Jan 2024 10:00:00 GMT"
    changed = await fetcher.fetch(server.url("/feed"), etag='"v6"')
    assert not changed.not_modified and changed.status == 200


async def test_gzip_body_is_decoded(server: FeedServer, fetcher: Fetcher) -> None:
    document = rss_feed(items(20))
    server.route("/feed", document, headers=RSS, gzip=True)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.body == document.encode()
    assert "gzip" in server.requests[0].headers["accept-encoding"]


async def test_redirect_chain_is_followed(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/a", "/b", 301)
    server.redirect("/b", server.url("/c"), 307)
    server.route("/c", "done")
    result = await fetcher.fetch(server.url("/a"))
    assert result.body == b"done" and result.url == server.url("/a") and result.final_url == server.url("/c")


async def test_file_url_feed(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "demo.xml"
    path.write_text(rss_feed(items(2)), encoding="utf-8")
    result = await fetcher.fetch(path.as_uri(), allow_file=True)  # as for a feed the operator configured
    feed = parse_feed(result.body, result.final_url, headers=result.headers)
    assert [e.title for e in feed.entries] == ["Story 0", "Story 1"] and feed.error is None
    again = await fetcher.fetch(path.as_uri(), last_modified=result.last_modified, allow_file=True)
    assert again.not_modified


async def test_file_url_missing_and_oversized(tmp_path: Path, client: httpx.AsyncClient) -> None:
    small = Fetcher(client, NetworkConfig(max_bytes=10))
    assert (await fetch_error(small, (tmp_path / "nope.xml").as_uri(), allow_file=True)).kind == "connect"
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 11)
    assert (await fetch_error(small, big.as_uri(), allow_file=True)).kind == "too_large"


# ---------------------------------------------------------------------------------------------------------
# Fetching: faults


@pytest.mark.parametrize("status", [404, 500])
async def test_http_errors(server: FeedServer, fetcher: Fetcher, status: int) -> None:
    server.route("/x", "nope", status=status)
    error = await fetch_error(fetcher, server.url("/x"))
    assert error.kind == "http" and error.status == status and error.retry_after is None
    assert str(status) in str(error)


async def test_429_with_retry_after_seconds(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/x", "slow down", status=429, headers={"Retry-After": "120"})
    error = await fetch_error(fetcher, server.url("/x"))
    assert (error.kind, error.status, error.retry_after) == ("http", 429, 120.0)


async def test_503_with_retry_after_date(server: FeedServer, client: httpx.AsyncClient) -> None:
    """An HTTP-date Retry-After counts from the fetcher's clock, not the machine's."""
    fetcher = Fetcher(client, POLICY, clock=lambda: datetime(2099, 10, 21, 7, 0, 0, tzinfo=UTC))
    server.route("/x", "busy", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    error = await fetch_error(fetcher, server.url("/x"))
    assert (error.kind, error.status, error.retry_after) == ("http", 503, 28 * 60.0)


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


async def test_response_slower_than_read_timeout(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/slow", "late", delay=POLICY.read_timeout.total_seconds() * 3)
    error = await fetch_error(fetcher, server.url("/slow"))
    assert error.kind == "timeout"


async def test_connection_reset_mid_body(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/reset", rss_feed(items(50)), headers=RSS, reset_after=200)
    error = await fetch_error(fetcher, server.url("/reset"))
    assert error.kind == "connect"


async def test_connection_refused(server: FeedServer, fetcher: Fetcher) -> None:
    closed = server.url("/x")
    server.stop()
    error = await fetch_error(fetcher, closed)
    assert error.kind == "connect"


async def test_redirect_loop(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    error = await fetch_error(fetcher, server.url("/a"))
    assert error.kind == "redirects"
    assert len(server.requests) == 2


async def test_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    for i in range(POLICY.max_redirects + 1):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.route(f"/r{POLICY.max_redirects + 1}", "never reached")
    error = await fetch_error(fetcher, server.url("/r0"))
    assert error.kind == "redirects"
    assert len(server.requests) == POLICY.max_redirects + 1


async def test_oversized_body_with_content_length(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/big", b"x" * (POLICY.max_bytes + 1))
    error = await fetch_error(fetcher, server.url("/big"))
    assert error.kind == "too_large"


async def test_oversized_body_streamed_without_length(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/big", b"x" * (POLICY.max_bytes * 3), chunked=True)
    error = await fetch_error(fetcher, server.url("/big"))
    assert error.kind == "too_large"


async def test_gzip_bomb_is_stopped(server: FeedServer, fetcher: Fetcher) -> None:
    bomb = gzip_bomb(20_000_000)
    assert len(bomb) < POLICY.max_bytes // 10
    server.route("/bomb", bomb, headers=RSS, gzip=True, precompressed=True)
    error = await fetch_error(fetcher, server.url("/bomb"))
    assert error.kind == "too_large" and "decompressed" in error.message


@pytest.mark.parametrize(
    ("sent_as", "codings"),
    [("gzip", "gzip"), ("x-gzip", "x-gzip"), ("deflate", "deflate"), ("deflate", "raw-deflate"), ("gzip, gzip", "")],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate", "gzip-of-gzip"],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_a_bomb_in_any_encoding_is_too_large(
    server: FeedServer, fetcher: Fetcher, sent_as: str, codings: str, chunked: bool
) -> None:
    if codings:
        body = b"".join(bomb_stream(codings, 20_000_000))
    else:  # gzip of a 20 MB gzip bomb
        body = encode(gzip_bomb(20_000_000), "gzip")
    assert len(body) < POLICY.max_bytes // 10
    server.route("/bomb", body, headers={**RSS, "Content-Encoding": sent_as}, chunked=chunked)
    error = await fetch_error(fetcher, server.url("/bomb"))
    assert error.kind == "too_large" and f"exceeds {POLICY.max_bytes} bytes (decompressed)" in error.message


async def test_a_bomb_never_holds_much_more_than_the_cap(server: FeedServer, fetcher: Fetcher) -> None:
    """Memory is bounded as the bytes are produced: Python's allocations while a 50 MB bomb is fetched under the
    1 MB cap peak under 3 MB. Through httpx's own decoding one 64 KiB network chunk became one 60 MB piece."""
    bomb = gzip_bomb(50_000_000)
    server.route("/bomb", bomb, headers=RSS, gzip=True, precompressed=True)
    url = server.url("/bomb")
    tracemalloc.start()
    try:
        error = await fetch_error(fetcher, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large"
    assert peak < 3 * POLICY.max_bytes, f"peak of traced allocations {peak:,} bytes"


@pytest.mark.parametrize(
    ("sent_as", "codings"),
    [
        ("gzip", "gzip"),
        ("x-gzip", "x-gzip"),
        ("deflate", "deflate"),
        ("deflate", "raw-deflate"),
        ("gzip, gzip", "gzip, gzip"),
        ("deflate, gzip", "deflate, gzip"),
        ("identity", "identity"),
    ],
)
async def test_a_normal_body_decodes_in_every_encoding(
    server: FeedServer, fetcher: Fetcher, sent_as: str, codings: str
) -> None:
    document = rss_feed(items(200)).encode()
    server.route("/feed", encode(document, codings), headers={**RSS, "Content-Encoding": sent_as}, chunked=True)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.body == document and result.headers["content-encoding"] == sent_as


async def test_every_member_of_a_multi_member_gzip_body_is_read(server: FeedServer, fetcher: Fetcher) -> None:
    document = rss_feed(items(50)).encode()
    middle = len(document) // 2
    body = encode(document[:middle], "gzip") + encode(document[middle:], "gzip")
    server.route("/feed", body, headers=RSS, gzip=True, precompressed=True)
    result = await fetcher.fetch(server.url("/feed"))
    assert result.body == document


async def test_an_unsupported_encoding_is_a_decode_error_naming_it(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed", b"\x1b\x00\x00", headers={**RSS, "Content-Encoding": "br"})
    error = await fetch_error(fetcher, server.url("/feed"))
    assert error.kind == "decode" and "unsupported Content-Encoding 'br'" in error.message
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def waits_for_a_limit(task: asyncio.Task[Any]) -> bool:
    """``task`` is parked in a semaphore's ``acquire`` (the fetcher's per-host or global limit): somewhere down the
    chain of coroutines it awaits."""
    coro: Any = task.get_coro()
    while coro is not None and hasattr(coro, "cr_code"):
        if coro.cr_code.co_name == "acquire" and Path(coro.cr_code.co_filename).match("asyncio/locks.py"):
            return True
        coro = coro.cr_await
    return False


async def settled(server: FeedServer, tasks: list[asyncio.Task[Any]]) -> None:
    """Wait (up to 5 s) until every fetch is either held by the server or parked at a limit: from then on nothing
    moves until the gate opens, so ``server.active`` is all the fetcher let through."""
    for _ in range(500):
        if server.active + sum(waits_for_a_limit(t) for t in tasks) == len(tasks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not settled within 5 s: {server.active} held, tasks {tasks}")


async def test_per_host_limit(server: FeedServer, client: httpx.AsyncClient) -> None:
    gate = threading.Event()
    server.route("/held", "ok", gate=gate)
    fetcher = Fetcher(client, NetworkConfig(per_host=2, global_limit=16, allow_private=("127.0.0.1",)))
    tasks = [asyncio.create_task(fetcher.fetch(server.url(f"/held?n={i}"))) for i in range(6)]
    try:
        await settled(server, tasks)
        assert server.active == 2
    finally:
        gate.set()
    results = await asyncio.gather(*tasks)
    assert all(r.body == b"ok" for r in results)
    assert server.max_active == 2 and len(server.requests) == 6


async def test_global_limit(server: FeedServer, client: httpx.AsyncClient) -> None:
    gate = threading.Event()
    server.route("/held", "ok", gate=gate)
    policy = NetworkConfig(per_host=10, global_limit=3, allow_private=("127.0.0.1", "localhost"))
    fetcher = Fetcher(client, policy)
    hosts = ["127.0.0.1", "localhost"]
    urls = [server.url(f"/held?n={i}", host=hosts[i % 2]) for i in range(8)]
    tasks = [asyncio.create_task(fetcher.fetch(u)) for u in urls]
    try:
        await settled(server, tasks)
        assert server.active == 3
    finally:
        gate.set()
    await asyncio.gather(*tasks)
    assert server.max_active == 3


# ---------------------------------------------------------------------------------------------------------
# The private-address guard (under the tripwire: a broken guard fails the test before any packet leaves)


async def test_redirect_to_other_loopback_address_is_blocked(
    server: FeedServer, fetcher: Fetcher, tripwire: list[str]
) -> None:
    server.redirect("/go", server.url("/target", host="127.0.0.2"))
    server.route("/target", "must not be fetched")
    error = await fetch_error(fetcher, server.url("/go"))
    assert error.kind == "blocked" and "127.0.0.2" in error.message
    assert [r.path for r in server.requests] == ["/go"] and tripwire == []


async def test_redirect_to_file_url_is_blocked(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/go", "file:///etc/passwd")
    error = await fetch_error(fetcher, server.url("/go"))
    assert error.kind == "blocked"


async def test_redirect_to_private_name_is_blocked(
    server: FeedServer, client: httpx.AsyncClient, tripwire: list[str]
) -> None:
    async def resolver(host: str) -> list[str]:
        return {"metadata.internal.test": ["169.254.169.254"]}[host]

    fetcher = Fetcher(client, POLICY, resolver=resolver)
    server.redirect("/go", "http://metadata.internal.test/latest/meta-data/")
    error = await fetch_error(fetcher, server.url("/go"))
    assert error.kind == "blocked" and tripwire == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/feed.xml",
        "http://[::1]:8080/feed",
        "https://[::ffff:10.0.0.1]/feed",
        "http://127.0.0.2:9/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
async def test_private_ip_literals_refused_without_connecting(
    url: str, client: httpx.AsyncClient, tripwire: list[str]
) -> None:
    calls: list[str] = []

    async def resolver(host: str) -> list[str]:
        calls.append(host)
        return []

    fetcher = Fetcher(client, POLICY, resolver=resolver)
    error = await fetch_error(fetcher, url)
    assert error.kind == "blocked"
    assert calls == [] and tripwire == []


@pytest.mark.parametrize(
    ("answer", "blocked"),
    [
        (["169.254.169.254"], True),
        (["10.0.0.1"], True),
        (["::1"], True),
        (["192.0.2.10"], True),  # TEST-NET: reserved for documentation, never global
        (["fd00::1"], True),
    ],
)
async def test_names_resolving_to_private_addresses_refused(
    answer: list[str], blocked: bool, client: httpx.AsyncClient, tripwire: list[str]
) -> None:
    async def resolver(host: str) -> list[str]:
        assert host == "news.example.test"
        return answer

    fetcher = Fetcher(client, POLICY, resolver=resolver)
    error = await fetch_error(fetcher, "http://news.example.test/feed.xml")
    assert error.kind == "blocked" and tripwire == []


def pinned_client(policy: NetworkConfig, resolver: Resolver) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=0)
    return httpx.AsyncClient(transport=GuardedTransport(policy, resolver, limits=limits), follow_redirects=False)


async def test_dns_rebinding_is_stopped_at_the_connection(server: FeedServer, tripwire: list[str]) -> None:
    """The name resolves to a public address for the guard's check, then to loopback for the connection: the
    pinned transport vets the second answer too, and connects to nothing."""
    server.route("/feed.xml", rss_feed(items()))
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(host: str) -> list[str]:
        assert host == "rebind.example.test"
        return next(answers)

    strict = NetworkConfig(allow_private=())
    async with pinned_client(strict, rebinding) as client:
        error = await fetch_error(
            Fetcher(client, strict, resolver=rebinding), f"http://rebind.example.test:{server.port}/feed.xml"
        )
    assert error.kind == "blocked" and "127.0.0.1" in error.message
    assert server.requests_for("/feed.xml") == [] and tripwire == []


async def test_the_pinned_transport_connects_to_the_vetted_address(server: FeedServer, tripwire: list[str]) -> None:
    """A name that exists only in the guard's resolver is fetched: the connection went to the address the guard
    approved (allowed here), not to a second lookup of the name."""
    server.route("/feed.xml", rss_feed(items()))

    async def resolver(host: str) -> list[str]:
        return ["127.0.0.1"]

    policy = NetworkConfig(allow_private=("127.0.0.1",))
    async with pinned_client(policy, resolver) as client:
        result = await Fetcher(client, policy, resolver=resolver).fetch(f"http://intranet.test:{server.port}/feed.xml")
    assert result.status == 200 and len(server.requests_for("/feed.xml")) == 1
    assert server.requests_for("/feed.xml")[0].headers.get("host", "").startswith("intranet.test")
    assert tripwire == []


async def test_allow_private_entries(tripwire: list[str]) -> None:
    async def resolver(host: str) -> list[str]:
        return {"intranet.test": ["10.1.2.3"], "both.test": ["10.1.2.3", "169.254.1.1"]}[host]

    by_cidr = NetworkConfig(allow_private=("10.0.0.0/8",))
    await check_url("http://intranet.test/feed", by_cidr, resolver)
    await check_url("http://10.9.9.9/feed", by_cidr, resolver)
    with pytest.raises(FetchError) as info:
        await check_url("http://both.test/feed", by_cidr, resolver)  # one address is outside the CIDR
    assert info.value.kind == "blocked"
    by_name = NetworkConfig(allow_private=("intranet.test",))
    await check_url("http://intranet.test/feed", by_name, resolver)
    await check_url("http://127.0.0.1:8000/x", POLICY, resolver)
    assert tripwire == []


async def test_resolution_failure_and_bad_urls(tripwire: list[str]) -> None:
    async def resolver(host: str) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(FetchError) as info:
        await check_url("http://unknown.test/", POLICY, resolver)
    assert info.value.kind == "connect"
    for bad in ("ftp://127.0.0.1/feed", "gopher://x/", "not a url", "http:///nohost", "http://127.0.0.1:99999/"):
        with pytest.raises(FetchError) as info:
            await check_url(bad, POLICY, resolver)
        assert info.value.kind == "invalid_url", bad
    assert tripwire == []


def test_is_public() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert is_public(ipaddress.ip_address("2001:4860:4860::8888"))
    for private in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1"):
        assert not is_public(ipaddress.ip_address(private)), private


# ---------------------------------------------------------------------------------------------------------
# Feed parsing


def test_rss2() -> None:
    feed = parse_feed(rss_feed(items(3), title="Wire").encode(), "http://127.0.0.1/feed")
    assert feed.error is None and feed.title == "Wire"
    first = feed.entries[0]
    assert (first.guid, first.link, first.title, first.author) == (
        "guid-0",
        "http://127.0.0.1/a/0",
        "Story 0",
        "Jane Doe",
    )
    assert first.published == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert first.summary == "Summary 0"
    assert first.content is not None and "Full text 0" in first.content


def test_atom() -> None:
    feed = parse_feed(atom_feed(items(2)).encode(), "http://127.0.0.1/atom")
    assert feed.error is None and len(feed.entries) == 2
    entry = feed.entries[1]
    assert (
        entry.link == "http://127.0.0.1/a/1"
        and entry.guid == "tag:127.0.0.1,2024:guid-1"
        and entry.author == "Jane Doe"
    )
    assert entry.published == datetime(2024, 3, 2, 12, 0, tzinfo=UTC) == entry.updated
    assert entry.content is not None and "Full text 1" in entry.content


def test_rss1_rdf() -> None:
    feed = parse_feed(rss1_feed(items(2)).encode(), "http://127.0.0.1/rdf")
    assert feed.error is None and [e.link for e in feed.entries] == ["http://127.0.0.1/a/0", "http://127.0.0.1/a/1"]
    assert feed.entries[0].published is not None and feed.entries[0].published.tzinfo is not None


def test_rss091() -> None:
    body = rss091_feed(items(2)).encode("iso-8859-1")
    feed = parse_feed(body, "http://127.0.0.1/old")
    assert feed.error is None and [e.title for e in feed.entries] == ["Story 0", "Story 1"]
    assert feed.entries[0].published is None and feed.entries[0].guid is None


def test_json_feed() -> None:
    feed = parse_feed(json_feed(items(2), title="JSON wire").encode(), "http://127.0.0.1/feed.json")
    assert feed.error is None and feed.title == "JSON wire"
    entry = feed.entries[0]
    assert (entry.guid, entry.link, entry.title, entry.author) == (
        "guid-0",
        "http://127.0.0.1/a/0",
        "Story 0",
        "Jane Doe",
    )
    assert entry.published == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert entry.summary == "Summary 0" and entry.content == "<p>Full text 0</p>"


def test_json_feed_relative_links_and_bad_items() -> None:
    doc = {"version": "https://jsonfeed.org/version/1", "items": [{"id": 7, "url": "/p/7"}, "junk"]}
    feed = parse_feed(json.dumps(doc).encode(), "http://127.0.0.1/f.json")
    assert [(e.guid, e.link) for e in feed.entries] == [("7", "http://127.0.0.1/p/7")]
    assert feed.error is not None
    assert parse_feed(b'{"hello": 1}', "http://127.0.0.1/x").error is not None


def test_empty_feed_and_empty_document() -> None:
    feed = parse_feed(rss_feed([]).encode(), "http://127.0.0.1/feed")
    assert feed.entries == [] and feed.error is None and feed.title == "Test feed"
    for body in (b"", b"   \n"):
        assert parse_feed(body, "http://127.0.0.1/feed").error == "empty document"


def test_invalid_xml_keeps_parsed_entries() -> None:
    document = rss_feed(items(3))
    broken = document.replace("</item>\n<item>", "</item>\n<item><title>Broken & bad <b></title>", 1)
    broken = broken[: broken.rfind("</channel>")]  # truncated too
    feed = parse_feed(broken.encode(), "http://127.0.0.1/feed")
    assert feed.error
    assert len(feed.entries) >= 2
    assert "Story 0" in [e.title for e in feed.entries]


def test_garbage_is_not_a_feed() -> None:
    for body in (b"\x00\xff\xfe garbage \x81", b"<html><body>Hello</body></html>", b"{not json"):
        feed = parse_feed(body, "http://127.0.0.1/feed")
        assert feed.entries == [] and feed.error, body


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>http://127.0.0.1/a</link><description>&lol9;</description></item>
</channel></rss>"""


def test_billion_laughs_is_refused() -> None:
    feed = parse_feed(BILLION_LAUGHS, "http://127.0.0.1/feed")
    assert feed.entries == [] and feed.error is not None and "entit" in feed.error
    utf16 = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
    feed = parse_feed(utf16.encode("utf-16"), "http://127.0.0.1/feed")
    assert feed.entries == [] and feed.error is not None


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>&x;</title></item></channel></rss>'
    ).encode()
    feed = parse_feed(body, "http://127.0.0.1/feed")
    assert feed.entries == [] and feed.error
    assert all("TOP-SECRET" not in (e.title or "") for e in feed.entries)


def test_entity_text_in_content_is_not_refused() -> None:
    """Only a DOCTYPE before the root element counts: an article about XML may quote one."""
    item = Item(title="About XML", link="http://127.0.0.1/x", content="Use <!DOCTYPE x [<!ENTITY a 'b'>]> with care")
    feed = parse_feed(rss_feed([item]).encode(), "http://127.0.0.1/feed")
    assert feed.error is None and len(feed.entries) == 1


def test_wrong_or_missing_charset() -> None:
    text = rss_feed([Item(title="Café déjà vu – “quoted”", link="http://127.0.0.1/x")])
    utf8 = text.encode("utf-8")
    # declared Latin-1 by the server but really UTF-8
    feed = parse_feed(utf8, "http://127.0.0.1/f", headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    assert len(feed.entries) == 1 and feed.entries[0].title
    # no charset anywhere, and bytes that are not valid UTF-8 (Latin-1 document claiming UTF-8)
    latin = text.replace("“quoted”", "quoted").replace("–", "-").encode("iso-8859-1")
    for headers in (None, {"Content-Type": "text/xml"}, {"Content-Type": "application/xml; charset=bogus-42"}):
        feed = parse_feed(latin, "http://127.0.0.1/f", headers=headers)
        assert len(feed.entries) == 1 and feed.entries[0].title and "Caf" in feed.entries[0].title


async def test_feed_served_and_parsed_end_to_end(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/atom", atom_feed(items(4)), headers={"Content-Type": "application/atom+xml"}, gzip=True)
    result = await fetcher.fetch(server.url("/atom"))
    feed = parse_feed(result.body, result.final_url, headers=result.headers)
    assert len(feed.entries) == 4 and feed.error is None


# ---------------------------------------------------------------------------------------------------------
# Feed discovery


def test_discover_feeds() -> None:
    html = b"""<html><head>
      <link rel="alternate" type="application/rss+xml" href="/rss.xml" title="RSS">
      <link rel="Alternate" type="application/atom+xml" href="https://127.0.0.1/atom">
      <link rel="alternate" type="application/feed+json" href="feed.json">
      <link rel="alternate" type="application/json" href="/feed.json2">
      <link rel="alternate" type="text/html" href="/fr/" hreflang="fr">
      <link rel="stylesheet" type="text/css" href="/s.css">
      <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    </head><body></body></html>"""
    assert discover_feeds(html, "http://127.0.0.1/news/page.html") == [
        "http://127.0.0.1/rss.xml",
        "https://127.0.0.1/atom",
        "http://127.0.0.1/news/feed.json",
        "http://127.0.0.1/feed.json2",
    ]
    assert discover_feeds(b"", "http://127.0.0.1/") == []
    assert discover_feeds(b"<html><body>no feeds</body></html>", "http://127.0.0.1/") == []


def test_discover_feeds_honours_base() -> None:
    html = (
        b'<html><head><base href="/sub/"><link rel="alternate" type="application/rss+xml" href="f.xml"></head></html>'
    )
    assert discover_feeds(html, "http://127.0.0.1/a/b") == ["http://127.0.0.1/sub/f.xml"]


# ---------------------------------------------------------------------------------------------------------
# Backoff


def test_next_backoff() -> None:
    rng = random.Random(7)
    assert next_backoff(0, rng=rng) == 0.0
    for failures in range(1, 40):
        delay = next_backoff(failures, rng=rng)
        assert 0.0 <= delay <= min(86_400.0, 60.0 * 2 ** (failures - 1))
    assert next_backoff(10_000, rng=rng) <= 86_400.0
    a = [next_backoff(5, rng=random.Random(1)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    spread = {round(next_backoff(8, rng=rng)) for _ in range(50)}
    assert len(spread) > 40  # jitter spreads retries out
    assert next_backoff(3, base=10.0, cap=15.0, rng=rng) <= 15.0


# ---------------------------------------------------------------------------------------------------------
# Page extraction


def test_boilerplate_rules_are_general() -> None:
    prompts = [
        "Was this article helpful?",
        "We want to hear what you think about this article. Submit a letter to the editor.",
        "Sign up for our daily newsletter",
        "Get the best stories delivered straight to your inbox.",
        "Our standards: The Thomson Reuters Trust Principles.",
        "Follow us on Twitter and Facebook",
        "Read more: Ten things to know about the vote",
        "© 2024 Example Media Ltd. All rights reserved.",
        "Share this article",
        "Advertisement",
    ]
    for prompt in prompts:
        assert is_boilerplate(prompt), prompt
    keep = [
        "The minister said the newsletter had been sent to every household before the vote.",
        "Readers were asked to share their views, and more than 4,000 did so within a day, the paper reported.",
        "He will follow the guidance, he said.",
        "Sharing economy firms have grown quickly since 2010, according to the report published on Monday.",
        " ".join(["Subscribe to our newsletter is what the banner said, but the story is longer."] * 6),
    ]
    for paragraph in keep:
        assert not is_boilerplate(paragraph), paragraph
    assert clean_text("First paragraph.\n\nWas this article helpful?\nSecond paragraph.") == (
        "First paragraph.\nSecond paragraph."
    )


def test_extract_page_small_document() -> None:
    body = " ".join(["The council approved the new budget after a long debate on Tuesday."] * 12)
    html = f"""<html><head><title>Budget passes | Daily Example</title>
      <meta property="og:title" content="Budget passes">
      <meta name="author" content="Ann Writer">
      <meta property="article:published_time" content="2024-02-03T10:00:00Z"></head>
      <body><article><h1>Budget passes</h1><p>{body}</p><p>{body}</p>
      <p>Sign up for our newsletter</p><p>Was this article helpful?</p></article></body></html>"""
    page = extract_page(html, "http://127.0.0.1/budget")
    assert isinstance(page, ExtractedPage)
    assert page.title == "Budget passes" and page.author == "Ann Writer" and page.date == "2024-02-03"
    assert "approved the new budget" in page.text
    assert "newsletter" not in page.text and "helpful" not in page.text


def test_extract_page_site_name_and_headline_fallbacks() -> None:
    body = "<p>" + "The ferry company raised fares by ten percent on Monday, citing fuel costs. " * 8 + "</p>"
    og = f"""<html><head><title>Fares rise | Coast News</title><meta property="og:site_name" content="Coast News">
      <meta name="application-name" content="CoastNewsApp"></head><body><article>{body}</article></body></html>"""
    page = extract_page(og, "http://127.0.0.1/fares")
    assert page is not None and page.site_name == "Coast News"  # og:site_name wins over application-name
    app = f"""<html><head><meta name="application-name" content="Ferry Times"></head>
      <body><article><h1>Ferry fares rise by a tenth</h1>{body}</article></body></html>"""
    page = extract_page(app, "http://127.0.0.1/fares")
    assert page is not None and page.site_name == "Ferry Times" and page.title == "Ferry fares rise by a tenth"
    bare = f"<html><body><article>{body}</article></body></html>"
    page = extract_page(bare, "http://127.0.0.1/fares")
    assert page is not None and page.site_name is None  # never the host


def test_extract_page_nothing_to_extract() -> None:
    assert extract_page(b"", "http://127.0.0.1/") is None
    assert extract_page("<html><body></body></html>", "http://127.0.0.1/") is None


async def test_extract_page_async_time_budget(caplog: pytest.LogCaptureFixture) -> None:
    html = "<html><body><article><p>" + "Words here. " * 200 + "</p></article></body></html>"
    assert await extract_page_async(html, "http://127.0.0.1/x", timeout=0) is None
    assert "took longer" in caplog.text
    page = await extract_page_async(html, "http://127.0.0.1/x", timeout=30)
    assert page is not None and "Words here." in page.text


def _key(text: str | None) -> str:
    return re.sub(r"[\W_]+", " ", (text or "").casefold()).strip()


def _loose_equal(got: str | None, want: str) -> bool:
    a, b = _key(got), _key(want)
    return bool(a) and (a == b or a in b or b in a)


def page_problems(page: ExtractedPage | None, expected: dict[str, object]) -> list[str]:
    """Why one saved page fails the bar (empty when it passes)."""
    if page is None:
        return ["nothing extracted"]
    problems = [f"missing {s!r}" for s in expected["with"] if s not in page.text]  # type: ignore[attr-defined]
    problems += [f"contains {s!r}" for s in expected["without"] if s in page.text]  # type: ignore[attr-defined]
    for name in ("title", "author"):
        want = expected.get(name)
        if isinstance(want, str) and want and not _loose_equal(getattr(page, name), want):
            problems.append(f"{name} {getattr(page, name)!r} != {want!r}")
    want_date = expected.get("date")
    if isinstance(want_date, str) and want_date and want_date[:10] not in (page.date, page.updated):
        problems.append(f"date {page.date!r} (updated {page.updated!r}) != {want_date!r}")
    return problems


async def test_saved_news_pages_over_loopback(shared_dir: Path, server: FeedServer, client: httpx.AsyncClient) -> None:
    """At least 12 of the 15 saved real pages: every `with` snippet, no `without` snippet, metadata matching."""
    fetcher = Fetcher(client, NetworkConfig(allow_private=("127.0.0.1",)))  # default 5 MB cap: real pages are big
    pages = shared_dir / "fixtures" / "news-pages"
    expected: dict[str, dict[str, object]] = json.loads((pages / "expected.json").read_text(encoding="utf-8"))
    assert len(expected) == 15
    paths = {}
    for n, (original, spec) in enumerate(expected.items()):
        path = f"/page/{n}"
        paths[original] = path
        server.route(
            path, (pages / str(spec["file"])).read_bytes(), headers={"Content-Type": "text/html"}, gzip=n % 2 == 0
        )

    started = time.monotonic()

    async def one(original: str) -> tuple[str, list[str]]:
        result = await fetcher.fetch(server.url(paths[original]))
        page = await extract_page_async(result.body, original, timeout=60)
        return original, page_problems(page, expected[original])

    outcomes = await asyncio.gather(*(one(u) for u in expected))
    failed = {url: problems for url, problems in outcomes if problems}
    report = "\n".join(f"  {expected[u]['file']}: {'; '.join(p)}" for u, p in failed.items())
    print(f"\nextraction: {15 - len(failed)}/15 pages pass in {time.monotonic() - started:.1f} s\n{report}")
    assert 15 - len(failed) >= 12, f"only {15 - len(failed)}/15 saved pages pass:\n{report}"


async def test_corrupt_gzip_is_a_decode_error(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/bad", b"this is not gzip at all", gzip=True, precompressed=True)
    error = await fetch_error(fetcher, server.url("/bad"))
    assert error.kind == "decode"


RELATIVE_RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Demo</title><link>index.html</link>
<item><title>A</title><link>articles/a.html</link><guid isPermaLink="false">a1</guid></item>
<item><title>B</title><link>../b.html</link><guid isPermaLink="false">b1</guid></item>
<item><title>C</title><link>https://elsewhere.example/c</link><guid isPermaLink="false">c1</guid></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("feed_url", "expected"),
    [
        (
            "file:///srv/demo/feed.xml",
            ["file:///srv/demo/articles/a.html", "file:///srv/b.html", "https://elsewhere.example/c"],
        ),
        (
            "https://news.example/demo/feed.xml",
            ["https://news.example/demo/articles/a.html", "https://news.example/b.html", "https://elsewhere.example/c"],
        ),
    ],
)
def test_relative_entry_links_are_resolved_against_the_feed_url(feed_url: str, expected: list[str]) -> None:
    parsed = parse_feed(RELATIVE_RSS, feed_url)
    assert parsed.error is None
    assert [e.link for e in parsed.entries] == expected
    assert parsed.link == feed_url.rsplit("/", 1)[0] + "/index.html"
