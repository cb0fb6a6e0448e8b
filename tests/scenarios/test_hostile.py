"""The hostile-input suite: what an attacker controls, and what newsbrief does with it.

This file holds the cases no other file covers; the map below names where the rest live, so that the whole
hostile surface reads from here. Every test of the whole suite runs under the loopback-only tripwire
(tests/conftest.py ``_loopback_only``): a connect or DNS lookup of anything but loopback fails the test before it
happens, so even a broken guard never lets a packet leave the machine. The SSRF tests here also name
``tripwire`` and check that nothing was even attempted.

- SSRF (feed URLs, redirects, names resolving to private addresses): tests/sources/test_sources.py — IP literals
  (169.254.169.254, 10.0.0.1, [::1], [::ffff:10.0.0.1], 127.0.0.2, 0.0.0.0, 224.0.0.1), names resolving to
  169.254/10/::1/TEST-NET/ULA, a redirect to 127.0.0.2, to a name of 169.254.169.254 and to file:, allow_private by
  CIDR and name (all on a bare httpx client); here — the four targets of the issue as feed URL and as redirect, by
  literal and by name, through the production client (``bot.ingest.http_client``); numeric spellings (2130706434,
  0x7f000002, 0177.0.0.2, 127.2, mapped IPv6, userinfo); mixed public/private answers; DNS rebinding (public for the
  check, private for the connection) both through the system resolver and the injected one; the transport refusing on
  its own.
- Local files named by remote documents: tests/scenarios/test_hostile_links.py — file: entry links in every spelling
  (file:///, FILE:, File://localhost/, file:/x) in RSS, Atom and JSON Feed over HTTP, a link redirecting to file:, a
  feed body that is a local path (feedparser would open it), a page advertising a file: feed to ``feeds add``, an
  operator's local feed linking out of its folder (.., %2e%2e, a symlink); an audit hook shows no file outside the
  test's folder was opened.
- XML entity expansion: tests/sources/test_sources.py — billion laughs (UTF-8 and UTF-16), an external file entity,
  entity-looking text inside content; here — declarations smuggled past the byte check by the encoding (UTF-7,
  EBCDIC), external DTDs and XInclude never fetched (loopback and 169.254.169.254), an entity bomb as an article page,
  and a bomb feed through a whole poll.
- Oversized input: tests/sources/test_sources.py — bodies over the cap with and without Content-Length, decompression
  bombs (gzip, x-gzip, deflate, raw deflate, gzip of gzip; allocations stay near the cap), an oversized file:// feed
  (at a 1 MB cap); tests/sources/test_decode.py — no decoded piece over 64 KiB, the cap within one piece;
  tests/adapters/slack/test_slack_render.py, tests/adapters/discord/test_discord_render.py — texts and digests split
  and cut within every platform limit (hypothesis); here — the default 5 MB cap through a poll, a 1 MB ``/brief``
  through bot.commands, the Slack adapter and the Discord adapter, thousands of entries in one feed, and the event
  loop during a poll of a feed with many entries.
- Mention and link injection: tests/adapters/slack/test_slack_render.py, tests/adapters/discord/test_discord_render.py
  — every renderer field, with hypothesis; tests/adapters/slack/test_slack.py, tests/adapters/discord/test_discord.py
  — one hostile headline end to end; here — the issue's list in titles, sentences, quotes, speakers, outlets and topic
  names (configured and typed), through ``bot.commands.answer`` and both renderers, and end to end through each
  adapter and its fake.
- Subscribing without rights: tests/test_commands.py (``is_manager=False``), tests/adapters/slack/test_slack.py
  (non-admin not on ``[slack] managers``), tests/adapters/discord/test_discord.py (member without Manage Channels,
  ``strict=False``); here — unsubscribing on both platforms, a failed ``users.info`` and a guest account on Slack.
- Forged Slack requests: tests/adapters/slack/test_slack.py — wrong secret and a stale timestamp; here — missing
  headers, a body altered after signing, a replayed old request, a future or malformed timestamp, another signature
  scheme.
- Config: tests/test_config.py — wrong types, unknown keys and sections of the core sections; tests/cli/test_cli.py —
  .env files (a broken line is not shown); here — wrong types and unknown keys of ``[slack]`` and ``[discord]``,
  secrets written in the config file (refused, never echoed), missing secrets named by doctor.
- Secrets in logs: tests/conftest.py scans every log record of the session (DEBUG included for newsbrief, slack_bolt,
  slack_sdk and discord) for the tokens tests use and fails the session when one shows; tests/cli/test_cli.py checks
  the redaction filter itself, tests/scenarios/test_run_e2e.py a real process's output.
"""

from __future__ import annotations

import _socket
import asyncio
import json
import logging
import os
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import httpx
import pytest

from bot.adapters.discord import DiscordAdapter, DiscordMessage
from bot.adapters.discord import digest_messages as discord_digest
from bot.adapters.discord import reply_messages as discord_replies
from bot.adapters.slack import SlackAdapter, SlackMessage
from bot.adapters.slack import digest_messages as slack_digest
from bot.adapters.slack import reply_messages as slack_replies
from bot.briefing import Briefing, make_briefing
from bot.commands import RateLimiter, Reply, answer, parse_command
from bot.config import ConfigError, Settings, load_settings, settings_from_mapping
from bot.digests import digest_ref, slot_key
from bot.ingest import http_client, ingestor_for
from bot.metrics import Metrics
from bot.sources import Fetcher, FetchError, extract_page, parse_feed
from bot.store import Store, Subscription
from bot.web import WebServer
from testkit import chat_helpers
from testkit.fakediscord import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from testkit.fakeslack import FakeSlack, sign, signed_headers
from testkit.feedserver import FeedServer, Item, rss_feed
from tests.adapters.discord import test_discord_render as discord_checks
from tests.adapters.slack import test_slack_render as slack_checks
from tests.conftest import secret
from tests.sources.test_sources import BILLION_LAUGHS

NOW = datetime.now(UTC).replace(microsecond=0)
PUBLIC = "93.184.216.34"
"""A global address (the tripwire fails any attempt to reach it)."""
TARGETS = {"127.0.0.2": "127.0.0.2", "169.254.169.254": "169.254.169.254", "10.0.0.1": "10.0.0.1", "::1": "[::1]"}
"""The private targets of the issue: address -> how a URL spells it."""

SLACK_BOT_TOKEN = secret("xoxb-hostile-suite-bot-token")
SLACK_APP_TOKEN = secret("xapp-hostile-suite-app-token")
SIGNING_SECRET = secret("hostile-suite-signing-secret")
DISCORD_TOKEN = secret("discord-hostile-suite-token")


# ================================================================================================ SSRF


@dataclass
class Dns:
    """A test resolver: name -> its addresses; other names fail like a name that does not exist. ``lookups``
    records every question."""

    zone: dict[str, list[str]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        answer = self.zone.get(host.lower().rstrip("."))
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answer


async def libc_numeric(host: str) -> list[str]:
    """The system resolver restricted to numeric hosts: libc's getaddrinfo with ``AI_NUMERICHOST`` reads
    ``2130706434``, ``0x7f000002``, ``127.2`` ... as the system resolver would, and never asks DNS (so the C
    function is called directly, past the tripwire's ``socket.getaddrinfo``, which would refuse the question)."""
    infos = _socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_settings(*allow: str) -> Settings:
    return settings_from_mapping({"network": {"allow_private": list(allow), "read_timeout": "2s"}})


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


async def fetch_blocked(url: str, resolver: Any, *, allow: tuple[str, ...] = ("127.0.0.1",)) -> FetchError:
    """Fetch ``url`` the way the bot does (``http_client`` + ``Fetcher``, both on ``resolver``); the error."""
    settings = guarded_settings(*allow)
    async with http_client(settings, resolver) as client:
        fetcher = Fetcher(client, settings.network, resolver=resolver)
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(url)
    return info.value


@pytest.mark.parametrize("spelled", ["literal", "name"])
@pytest.mark.parametrize("how", ["feed URL", "redirect"])
@pytest.mark.parametrize("address", list(TARGETS))
async def test_private_targets_are_refused_before_any_connection(
    address: str, how: str, spelled: str, server: FeedServer, tripwire: list[str]
) -> None:
    """127.0.0.2, 169.254.169.254, 10.0.0.1 and [::1], written as such or as a name the resolver maps to them, as
    the feed URL or as a redirect from an allowed host: refused, and never connected to. (127.0.0.2 and ::1 are
    loopback, so the tripwire would let them through: a connection there would show as a "connect" error or a
    request, not "blocked".)"""
    dns = Dns({"internal.example.test": [address]})
    host = TARGETS[address] if spelled == "literal" else "internal.example.test"
    target = f"http://{host}:{server.port}/latest/meta-data/"
    server.route("/latest/meta-data/", "secret instance credentials")
    if how == "redirect":
        server.redirect("/go", target)
        url = server.url("/go")
    else:
        url = target
    error = await fetch_blocked(url, dns)
    assert error.kind == "blocked", error
    assert address in error.message
    assert [r.path for r in server.requests] == (["/go"] if how == "redirect" else [])
    assert tripwire == []
    assert dns.lookups == ([] if spelled == "literal" else ["internal.example.test"])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706434", "127.0.0.2"),
        ("0x7f000002", "127.0.0.2"),
        ("0177.0.0.2", "127.0.0.2"),
        ("127.2", "127.0.0.2"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("169.254.169.254.", "169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
        ("[::ffff:127.0.0.2]", "127.0.0.2"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("public.example@10.0.0.1", "10.0.0.1"),
        ("user:pw@169.254.169.254:80", "169.254.169.254"),
        ("[::]", "::"),
    ],
)
async def test_numeric_and_disguised_spellings_are_refused(host: str, address: str, tripwire: list[str]) -> None:
    """Hosts that are IP addresses in another spelling: libc reads them as the system resolver would (without
    DNS), and the guard refuses the address whatever the spelling."""
    error = await fetch_blocked(f"http://{host}/feed.xml", libc_numeric)
    assert error.kind == "blocked", error
    assert address in error.message
    assert tripwire == []


async def test_a_name_with_one_private_answer_among_public_ones_is_refused(tripwire: list[str]) -> None:
    dns = Dns({"mixed.example.test": [PUBLIC, "10.0.0.1", "2606:2800:220:1::1"]})
    error = await fetch_blocked("http://mixed.example.test/feed.xml", dns)
    assert error.kind == "blocked" and "10.0.0.1" in error.message
    assert tripwire == []


class RebindingDns:
    """A DNS server under an attacker's control: the first answer for ``name`` is a public address, every later
    one ``internal`` (127.0.0.1, where the feed server stands in for an internal service)."""

    def __init__(self, name: str, internal: str = "127.0.0.1") -> None:
        self.name = name
        self.internal = internal
        self.answers: list[str] = []

    def next(self) -> str:
        answer = PUBLIC if not self.answers else self.internal
        self.answers.append(answer)
        return answer

    async def resolver(self, host: str) -> list[str]:
        assert host == self.name
        return [self.next()]


@pytest.mark.parametrize("resolver", ["system", "injected"])
async def test_dns_rebinding_cannot_reach_an_internal_service(
    resolver: str, server: FeedServer, tripwire: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to a public address for the guard's check and to 127.0.0.1 for the connection: the
    connection is vetted again (``bot.sources.GuardedTransport``), so the internal service (the loopback feed
    server) never gets the request. "system": the system resolver asks a rebinding DNS (``socket.getaddrinfo``
    answers the name; every other lookup still goes to the tripwire). "injected": the guard's resolver is the
    rebinding DNS."""
    server.route("/feed.xml", "internal service: must not be reached")
    dns = RebindingDns("rebind.example.test")
    tripwired = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in (dns.name, dns.name.encode()):  # anyio asks with the IDNA-encoded bytes
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (dns.next(), port or 0))]
        return tripwired(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    error = await fetch_blocked(
        f"http://{dns.name}:{server.port}/feed.xml", None if resolver == "system" else dns.resolver, allow=()
    )
    assert error.kind == "blocked" and "127.0.0.1" in error.message
    assert dns.answers[0] == PUBLIC and len(dns.answers) >= 2  # the check saw the public answer
    assert server.requests == []
    assert tripwire == []


async def test_the_transport_refuses_private_addresses_on_its_own(server: FeedServer, tripwire: list[str]) -> None:
    """A second line behind ``check_url``: the production client refuses a private address at connect time even
    when asked directly (a code path that skipped the check, or an httpx redirect)."""
    dns = Dns({"metadata.example.test": ["169.254.169.254"], "internal.example.test": ["127.0.0.2"]})
    server.redirect("/go", "http://metadata.example.test/latest/meta-data/")
    settings = guarded_settings("127.0.0.1")
    async with http_client(settings, dns) as client:
        for url in ("http://169.254.169.254/", "http://internal.example.test/", "http://[::1]:9/"):
            with pytest.raises(FetchError) as info:
                await client.get(url)
            assert info.value.kind == "blocked", url
        with pytest.raises(FetchError) as info:
            await client.get(server.url("/go"), follow_redirects=True)
        assert info.value.kind == "blocked"
    assert [r.path for r in server.requests] == ["/go"]
    assert tripwire == []


# ================================================================================================ XML


def _utf7_smuggled(document: bytes) -> bytes:
    """``document`` declared as UTF-7, with every ``<!`` of its prolog written as UTF-7 (``+ADwAIQ-``), so that
    the bytes never spell ``<!ENTITY``."""
    text = document.decode().replace('<?xml version="1.0"?>', "")
    prolog, root, rest = text.partition("<rss")
    return ('<?xml version="1.0" encoding="utf-7"?>' + prolog.replace("<!", "+ADwAIQ-") + root + rest).encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_utf7_smuggled(BILLION_LAUGHS), id="utf-7"),
        pytest.param(
            BILLION_LAUGHS.decode()
            .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="cp037"?>')
            .encode("cp037"),
            id="ebcdic",
        ),
    ],
)
def test_entity_declarations_hidden_by_the_encoding_are_never_expanded(body: bytes) -> None:
    """The byte check for ``<!ENTITY`` cannot read UTF-7 or EBCDIC; the parser behind it still expands nothing."""
    assert b"<!ENTITY" not in body.replace(b"\x00", b"")
    feed = parse_feed(body, "http://127.0.0.1/feed")
    fields = [v for e in feed.entries for v in (e.title, e.summary, e.content) if v]
    assert all("lollol" not in v and len(v) < 1000 for v in fields), fields


def test_external_dtds_and_xincludes_are_never_fetched(server: FeedServer, tmp_path: Path, tripwire: list[str]) -> None:
    server.route("/evil.dtd", '<!ENTITY stolen "PWNED">')
    server.route("/include.txt", "PWNED")
    local = tmp_path / "secret.txt"
    local.write_text("PWNED")
    for dtd in (server.url("/evil.dtd"), "http://169.254.169.254/evil.dtd", local.as_uri()):
        for doctype in (f'<!DOCTYPE rss SYSTEM "{dtd}">', f'<!DOCTYPE rss PUBLIC "-//evil//DTD//EN" "{dtd}">'):
            body = (
                f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">'
                f"<channel><title>t &stolen;</title><item><title>a &stolen;</title><link>http://127.0.0.1/a</link>"
                f'<description><xi:include href="{server.url("/include.txt")}" parse="text"/></description>'
                f"</item></channel></rss>"
            ).encode()
            feed = parse_feed(body, "http://127.0.0.1/feed")
            shown = json.dumps([vars(e) for e in feed.entries], default=str) + str(feed.title)
            assert "PWNED" not in shown
    assert server.requests == [] and tripwire == []


def test_an_entity_bomb_as_an_article_page_is_not_expanded() -> None:
    words = "The council met on Tuesday and approved the plan after a long debate. " * 12
    page = BILLION_LAUGHS.decode().replace("<rss", f"<html><body><article><p>{words}&lol9;</p></article></body><rss")
    started = time.monotonic()
    extracted = extract_page(page.encode(), "http://127.0.0.1/page")
    assert time.monotonic() - started < 10
    assert extracted is None or "lollol" not in extracted.text


store = chat_helpers.store


async def poll_once(store: Store, url: str, **poll: Any) -> tuple[Any, Any]:
    """One poll of the feed at ``url`` through the production wiring; (result, the feed afterwards)."""
    settings = settings_from_mapping(
        {"network": {"allow_private": ["127.0.0.1"]}, "poll": {"fetch_pages": False, **poll}}
    )
    feed = store.add_feed(url, name=None, interval_s=900, tags=(), now=NOW)
    async with http_client(settings) as client:
        ingestor = ingestor_for(store, client, settings, NOW)
        result = await ingestor.poll_guarded(feed, NOW)
    return result, store.get_feed(feed.id)


async def test_a_feed_with_too_many_entries_is_read_up_to_the_cap(server: FeedServer, store: Store) -> None:
    from bot.ingest import MAX_ENTRIES_PER_POLL

    items = "".join(
        f"<item><title>Entry {i}</title><description>Text {i}.</description><guid>g{i}</guid></item>"
        for i in range(MAX_ENTRIES_PER_POLL + 50)
    )
    server.route(
        "/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    result, _ = await poll_once(store, server.url("/feed.xml"))
    assert result.status == "ok" and result.new == MAX_ENTRIES_PER_POLL
    assert any(f"the first {MAX_ENTRIES_PER_POLL} were read" in error for error in result.errors)


async def test_an_entity_bomb_feed_fails_its_poll_and_stores_nothing(server: FeedServer, store: Store) -> None:
    server.route("/feed.xml", BILLION_LAUGHS, headers={"Content-Type": "application/rss+xml"})
    result, feed = await poll_once(store, server.url("/feed.xml"))
    assert (result.status, result.error_kind) == ("error", "parse")
    assert feed.consecutive_failures == 1 and "entit" in (feed.last_error or "")
    assert store.list_articles(10) == []


# ================================================================================================ oversized


@pytest.mark.parametrize("delivery", ["declared", "chunked", "gzip"])
async def test_a_feed_over_the_default_5_mb_cap_fails_its_poll(server: FeedServer, store: Store, delivery: str) -> None:
    items = [Item(title=f"Story {i}", link=f"http://127.0.0.1/a/{i}", summary="x" * 5000) for i in range(1100)]
    document = rss_feed(items)
    assert len(document) > 5_000_000 == load_settings(None).network.max_bytes
    server.route("/feed.xml", document, chunked=delivery == "chunked", gzip=delivery == "gzip")
    result, feed = await poll_once(store, server.url("/feed.xml"))
    assert (result.status, result.error_kind) == ("error", "too_large")
    assert feed.last_error_kind == "too_large"
    assert store.list_articles(10) == []


def test_a_feed_with_thousands_of_entries_is_read_whole() -> None:
    """No entry cap: 5,000 entries (0.8 MB) are all read; a 5 MB feed of bare items holds about 160,000."""
    document = rss_feed([Item(title=f"T{i}", link=f"http://127.0.0.1/a/{i}", guid=f"g{i}") for i in range(5000)])
    feed = parse_feed(document.encode(), "http://127.0.0.1/feed")
    assert feed.error is None and len(feed.entries) == 5000
    assert feed.entries[-1].link == "http://127.0.0.1/a/4999"


async def test_a_poll_of_a_feed_with_many_entries_leaves_the_event_loop_free(server: FeedServer, store: Store) -> None:
    items = "".join(f"<item><title>Entry {i}</title><link>http://127.0.0.1/e/{i}</link></item>" for i in range(400))
    server.route(
        "/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    beat = asyncio.create_task(heartbeat())
    try:
        result, _ = await poll_once(store, server.url("/feed.xml"))
    finally:
        beat.cancel()
    assert result.status == "ok" and result.new == 400
    assert max(gaps) < 1.0, f"the event loop was held for {max(gaps):.1f} s"


def huge_brief() -> str:
    """A 1 MB ``/brief``: words, OR, an unbalanced quote, exclusions and mentions."""
    return "/brief " + " ".join(["kyiv", "ukraine OR", '"a phrase', "-excluded", "<!here>", "@everyone"] * 19_000)


def command_settings(**extra: Any) -> Settings:
    return settings_from_mapping({"topics": {"ukraine": "ukraine OR kyiv"}, **extra})


def hostile_article(store: Store, n: int, text: str = "", *, title: str | None = None) -> None:
    stored, _ = store.upsert_article(
        url=f"https://outlet{n}.example/kyiv/{n}",
        title=title or f"Kyiv talks resume, report {n} {text}",
        outlet=f"Outlet {n} {text}".strip(),
        now=NOW - timedelta(hours=1),
        text=f"Negotiators from Kyiv met in Geneva (report {n}). {text} The talks lasted six hours.",
        summary={
            "sentences": [f"Negotiators from Kyiv met in Geneva {text} (report {n})."],
            "quotes": [{"text": f"We will meet again {text}", "speaker": f"Olena Example {text}"}],
        },
    )
    store.assign_story(stored.id, "s-kyiv", NOW - timedelta(hours=1))


def test_a_1_mb_brief_through_the_command_layer(store: Store) -> None:
    hostile_article(store, 1)
    text = huge_brief()
    assert len(text) > 1_000_000
    settings = command_settings()
    started = time.monotonic()
    for typed in (text, "/brief subscribe " + text[7:], "/brief unsubscribe " + "x" * 1_000_000):
        try:
            command = parse_command(typed)
        except ValueError as exc:  # UsageError: a bad schedule or too many words
            reply = Reply(kind="error", text=str(exc), ephemeral=True)
        else:
            reply = answer(
                command,
                store=store,
                settings=settings,
                user="U1",
                channel="C1",
                now=NOW,
                limiter=RateLimiter(10),
                platform="slack",
                is_manager=True,
            )
        slack = slack_replies(reply)
        slack_checks.assert_within_limits(slack)
        slack_checks.assert_safe(slack)
        discord_checks.assert_within_limits(discord_replies(reply))
        discord_checks.assert_safe(discord_replies(reply))
    assert time.monotonic() - started < 60
    assert store.list_subscriptions() == []


# ---------------------------------------------------------------------------------------------- Slack fixtures


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(ts_base=int(NOW.timestamp())) as fake:
        yield fake


def slack_adapter(store: Store, settings: Settings, **kwargs: Any) -> SlackAdapter:
    options: dict[str, Any] = {"app_token": SLACK_APP_TOKEN, "signing_secret": SIGNING_SECRET, **kwargs}
    return SlackAdapter(
        settings=settings, store=store, limiter=RateLimiter(10), clock=lambda: NOW, bot_token=SLACK_BOT_TOKEN, **options
    )


def slack_settings(slack: FakeSlack, topics: dict[str, str] | None = None, **section: Any) -> Settings:
    http = {"http": {"listen": "127.0.0.1:0"}} if section.get("mode") == "http" else {}  # HTTP mode needs one
    return settings_from_mapping(
        {"topics": topics or {"ukraine": "ukraine OR kyiv"}, "slack": {"api_url": slack.api_url, **section}, **http}
    )


@pytest.fixture
async def slack_bot(slack: FakeSlack, store: Store) -> AsyncIterator[SlackAdapter]:
    adapter = slack_adapter(store, slack_settings(slack, HOSTILE_TOPICS))
    await adapter.start()
    await asyncio.to_thread(slack.wait_connected)
    yield adapter
    await adapter.close()


def as_slack(body: dict[str, Any]) -> SlackMessage:
    return SlackMessage(text=str(body.get("text") or ""), blocks=list(body.get("blocks") or []))


async def test_a_1_mb_brief_through_the_slack_adapter(slack: FakeSlack, store: Store, slack_bot: SlackAdapter) -> None:
    hostile_article(store, 1)
    envelope = await slack.slash_command_async(huge_brief()[len("/brief ") :], timeout=30)
    assert envelope.acked and envelope.ack_latency is not None and envelope.ack_latency < 3
    responses = await slack.wait_responses_async(1, timeout=60)
    messages = [as_slack(r.body) for r in responses]
    slack_checks.assert_within_limits(messages)
    slack_checks.assert_safe(messages)


# ---------------------------------------------------------------------------------------------- Discord fixtures

GUILD, TEXT = "1100000000000000001", "1100000000000000002"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(heartbeat_interval_ms=500) as server:
        server.add_guild(GUILD)
        server.add_channel(TEXT, GUILD, "news")
        with server.patch_discord_py():
            yield server


@pytest.fixture
async def discord_bot(fake: FakeDiscord, store: Store) -> AsyncIterator[DiscordAdapter]:
    settings = settings_from_mapping(
        {"topics": HOSTILE_TOPICS, "discord": {"api_url": fake.api_url, "guilds": [int(GUILD)]}}
    )
    adapter = DiscordAdapter(
        settings=settings,
        store=store,
        limiter=RateLimiter(10),
        clock=lambda: NOW,
        token=DISCORD_TOKEN,
        guild_ready_timeout=0.05,
    )
    await adapter.start()
    yield adapter
    await adapter.close()


async def interact(fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return await asyncio.to_thread(lambda: fake.interaction(name, options, guild_id=GUILD, channel_id=TEXT, **kwargs))


async def wait(call: Any, *args: Any) -> Any:
    return await asyncio.to_thread(call, *args)


def as_discord(body: dict[str, Any]) -> DiscordMessage:
    embeds = tuple(discord.Embed.from_dict(e) for e in body.get("embeds") or [])
    return DiscordMessage(content=str(body.get("content") or ""), embeds=embeds)


async def test_a_1_mb_brief_through_the_discord_adapter(
    fake: FakeDiscord, store: Store, discord_bot: DiscordAdapter
) -> None:
    """Discord itself caps a string option at 6,000 characters; the adapter copes with far more anyway."""
    hostile_article(store, 1)
    handle = await interact(fake, "brief", {"topic": huge_brief()[len("/brief ") :]})
    callback = await wait(handle.wait_callback, 30)
    assert handle.callback_latency is not None and handle.callback_latency < 3
    bodies = [callback.data] if callback.type == 4 else [f.body for f in await wait(handle.wait_followups, 1, 60)]
    messages = [as_discord(b) for b in bodies if b]
    discord_checks.assert_within_limits(messages)
    discord_checks.assert_safe(messages)


# ================================================================================================ injection

INJECTIONS = (
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<#C1>",
    "<http://evil.example|x>",
    "@everyone",
    "@here",
    "<@123>",
    "<@&123>",
    "[x](http://evil.example)",
    "**bold** __under__ ~~gone~~ `code` ||spoiler|| > quote # big",
)
EVIL = " ".join(INJECTIONS)
HOSTILE_TOPIC = "<!here>@everyone<@&123>[x](http://evil.example)**bold**"
"""A topic name as a config could hold it (one word: it can be typed after /brief)."""
HOSTILE_TOPICS = {"ukraine": "ukraine OR kyiv", HOSTILE_TOPIC: "kyiv OR geneva"}


def injected_replies(store: Store) -> list[tuple[str, Reply | Briefing]]:
    """Every answer that carries article or topic text: a briefing and a digest of hostile articles under the
    hostile topic, the topic list, the channel's subscriptions, and the errors that repeat what was typed."""
    for n in (1, 2):
        hostile_article(store, n, EVIL)
    feed = store.add_feed(
        f"https://evil.example/feed?{EVIL.replace(' ', '')}", name=f"Feed {EVIL}", interval_s=900, tags=(), now=NOW
    )  # a feed name comes from the feed's own title
    store.record_poll_failure(feed.id, kind="http", message=f"HTTP 500 {EVIL}", now=NOW, next_poll_at=NOW)
    settings = command_settings(topics=HOSTILE_TOPICS)

    def ask(text: str) -> Reply:
        return answer(
            parse_command(text),
            store=store,
            settings=settings,
            user="U1",
            channel="C1",
            now=NOW,
            limiter=RateLimiter(10),
            platform="slack",
            is_manager=True,
        )

    subscribed = ask(f"/brief subscribe {HOSTILE_TOPIC} hourly")
    assert subscribed.kind == "text", subscribed.text
    digest = make_briefing(store, HOSTILE_TOPIC, topics=HOSTILE_TOPICS, now=NOW)
    assert isinstance(digest, Briefing) and digest.stories
    return [
        ("brief", ask(f"/brief {HOSTILE_TOPIC}")),
        ("brief words", ask(f"/brief kyiv {EVIL}")),
        ("digest", digest),
        ("subscribed", subscribed),
        ("topics", ask("/brief topics")),
        ("list", ask("/brief list")),
        ("unknown topic", ask(f"/brief subscribe {INJECTIONS[0]}{INJECTIONS[9]}")),
        ("not subscribed", ask("/brief unsubscribe <@U123>@here")),
        ("sources", ask("/brief sources")),
    ]


def test_injected_text_and_topic_names_render_inert_on_slack(store: Store) -> None:
    for name, reply in injected_replies(store):
        if isinstance(reply, Briefing):
            messages = slack_digest(reply, title=f"{HOSTILE_TOPIC} digest")
        else:
            messages = slack_replies(reply)
        slack_checks.assert_within_limits(messages)
        slack_checks.assert_safe(messages)
        shown = json.dumps(messages, ensure_ascii=False)
        assert "&lt;!here&gt;" in shown or "&lt;@U123&gt;" in shown, name  # still there to read, as text


def test_injected_text_and_topic_names_render_inert_on_discord(store: Store) -> None:
    for name, reply in injected_replies(store):
        if isinstance(reply, Briefing):
            messages = discord_digest(reply, title=f"{HOSTILE_TOPIC} digest", ref="sub:1:2024-05-01T08:00Z")
        else:
            messages = discord_replies(reply)
        discord_checks.assert_within_limits(messages)
        discord_checks.assert_safe(messages)
        assert all(m.send_kwargs()["allowed_mentions"].to_dict() == {"parse": []} for m in messages), name


def subscription(store: Store, platform: str, channel: str) -> Subscription:
    return store.add_subscription(
        platform, channel, HOSTILE_TOPIC, schedule="hourly", tz="UTC", now=NOW - timedelta(days=1), by="test"
    )


async def test_injection_end_to_end_on_slack(slack: FakeSlack, store: Store, slack_bot: SlackAdapter) -> None:
    for n in (1, 2):
        hostile_article(store, n, EVIL)
    await slack.slash_command_async(HOSTILE_TOPIC)
    (response,) = await slack.wait_responses_async(1)
    assert response.response_type == "in_channel"
    sub = subscription(store, "slack", "C1")
    briefing = make_briefing(store, HOSTILE_TOPIC, topics=HOSTILE_TOPICS, now=NOW)
    assert isinstance(briefing, Briefing)
    await slack_bot.post_digest(sub, briefing, digest_ref(sub, slot_key(NOW)))
    posted = slack.messages("C1")
    messages = [as_slack(response.body), *(as_slack(m) for m in posted)]
    slack_checks.assert_within_limits(messages)
    slack_checks.assert_safe(messages)
    posts = slack.calls_to("chat.postMessage")
    assert posts and all(str(c.params.get("link_names", "")).lower() not in ("1", "true") for c in posts)
    assert "&lt;!channel&gt;" in json.dumps(posted)


async def test_injection_end_to_end_on_discord(fake: FakeDiscord, store: Store, discord_bot: DiscordAdapter) -> None:
    for n in (1, 2):
        hostile_article(store, n, EVIL)
    handle = await interact(fake, "brief", {"topic": HOSTILE_TOPIC})
    callback = await wait(handle.wait_callback)  # the briefing at once (4), or deferred (5) and followed up
    answer = callback.data or {} if callback.type == 4 else (await wait(handle.wait_followups, 1))[0].body
    sub = subscription(store, "discord", TEXT)
    briefing = make_briefing(store, HOSTILE_TOPIC, topics=HOSTILE_TOPICS, now=NOW)
    assert isinstance(briefing, Briefing)
    await discord_bot.post_digest(sub, briefing, digest_ref(sub, slot_key(NOW)))
    posted = fake.messages(TEXT)
    assert posted and answer["allowed_mentions"] == {"parse": []}
    assert all(m["allowed_mentions"]["parse"] == [] for m in posted)
    messages = [as_discord(answer), *(as_discord(m) for m in posted)]
    discord_checks.assert_within_limits(messages)
    discord_checks.assert_safe(messages)
    assert "\\<@123>" in json.dumps(posted)  # shown, as text


# ================================================================================================ rights


async def test_slack_unsubscribing_and_subscribing_need_rights(slack: FakeSlack, store: Store) -> None:
    slack.add_user("U0ANA1", "ana")
    slack.add_user("U0GUEST", "guest", is_restricted=True, is_ultra_restricted=True)
    adapter = slack_adapter(store, slack_settings(slack))
    existing = store.add_subscription("slack", "C1", "ukraine", schedule="hourly", tz="UTC", now=NOW, by="admin")
    await adapter.start()
    try:
        await slack.slash_command_async("unsubscribe ukraine", user_id="U0ANA1", channel_id="C1")  # not an admin
        await slack.wait_responses_async(1)
        await slack.slash_command_async("subscribe ukraine", user_id="U0GUEST", channel_id="C2")  # a guest
        await slack.wait_responses_async(2)
        slack.error_next("users.info", "user_not_found")
        await slack.slash_command_async("subscribe ukraine", user_id="U0ANA1X", channel_id="C3")  # lookup fails
        responses = await slack.wait_responses_async(3)
    finally:
        await adapter.close()
    for response in responses:
        assert response.response_type == "ephemeral"
        assert "channel-manager rights" in json.dumps(response.body)
    assert store.list_subscriptions() == [existing]


async def test_discord_unsubscribing_needs_manage_channels(
    fake: FakeDiscord, store: Store, discord_bot: DiscordAdapter
) -> None:
    existing = store.add_subscription("discord", TEXT, "ukraine", schedule="hourly", tz="UTC", now=NOW, by="admin")
    refused = await interact(
        fake, "brief-unsubscribe", {"topic": "ukraine"}, permissions=MEMBER_PERMISSIONS, strict=False
    )
    callback = await wait(refused.wait_callback)
    assert callback.ephemeral and "channel-manager rights" in json.dumps(callback.data)
    assert store.list_subscriptions() == [existing]
    allowed = await interact(
        fake, "brief-unsubscribe", {"topic": "ukraine"}, permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS
    )
    await wait(allowed.wait_callback)
    assert store.list_subscriptions() == []


# ================================================================================================ Slack signatures


def forgeries(body: bytes) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Requests that must not pass HTTP mode's signature check: name -> (body, headers)."""
    now = int(time.time())
    good = signed_headers(SIGNING_SECRET, body)
    old = signed_headers(SIGNING_SECRET, body, timestamp=now - 6 * 60)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "wrong secret": (body, signed_headers("not-the-signing-secret", body)),
        "no signature": (body, {**form, "X-Slack-Request-Timestamp": str(now)}),
        "no timestamp": (body, {**form, "X-Slack-Signature": good["X-Slack-Signature"]}),
        "no headers": (body, form),
        "body altered after signing": (body.replace(b"ukraine", b"subscribe+ukraine"), good),
        "replay of an old request": (body, old),
        "old signature, fresh timestamp": (body, {**old, "X-Slack-Request-Timestamp": str(now)}),
        "future timestamp": (body, signed_headers(SIGNING_SECRET, body, timestamp=now + 6 * 60)),
        "timestamp not a number": (
            body,
            {**form, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": sign(SIGNING_SECRET, 0, body)},
        ),
        "another scheme": (body, {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]}),
        "empty signature": (body, {**good, "X-Slack-Signature": ""}),
    }


@pytest.fixture
async def http_mode(slack: FakeSlack, store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The Slack adapter in HTTP mode behind the real web server; a client for it."""
    adapter = slack_adapter(store, slack_settings(slack, mode="http"), app_token=None)
    server = WebServer("127.0.0.1:0", Metrics(), lambda: {"status": "ok"}, extra_routes=adapter.routes())
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield client
    finally:
        await server.close()


async def test_forged_slack_requests_are_refused(slack: FakeSlack, store: Store, http_mode: httpx.AsyncClient) -> None:
    hostile_article(store, 1)
    for name, (body, headers) in forgeries(slack.slash_command_form("ukraine")).items():
        response = await http_mode.post("/slack/events", content=body, headers=headers)
        if name == "timestamp not a number":  # refused, but with a 500: see the test below
            assert response.status_code >= 400, name
        else:
            assert response.status_code == 401, (name, response.status_code, response.text)
    body = slack.slash_command_form("ukraine")
    good = await http_mode.post("/slack/events", content=body, headers=signed_headers(SIGNING_SECRET, body))
    assert good.status_code == 200
    # Only the genuine request was answered: a refused request (its 401 came back before the genuine one was
    # sent) starts no work, so the one answer, at the genuine request's own response_url, is all there will be.
    (response,) = await slack.wait_responses_async(1)
    (genuine_url,) = urllib.parse.parse_qs(body.decode())["response_url"]
    assert genuine_url.endswith(f"/respond/{response.response_id}")
    assert response.response_type == "in_channel"


async def test_a_malformed_slack_timestamp_is_a_401_not_a_logged_error(
    slack: FakeSlack, http_mode: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = slack.slash_command_form("ukraine")
    for stamp in ("soon", "", "1e9", "17000000000000000000000"):
        headers = {**signed_headers(SIGNING_SECRET, body), "X-Slack-Request-Timestamp": stamp}
        response = await http_mode.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401, (stamp, response.status_code)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ================================================================================================ config


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbrief.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[slack]\nmode = 1\n", "slack.mode: expected a string, got int 1"),
        ("[slack]\nmode = 'websocket'\n", 'slack.mode: expected "socket", "http" or "oauth"'),
        ("[slack]\nmanagers = 'U0123ABCD'\n", "slack.managers: expected a list"),
        ("[slack]\nmanagers = [42]\n", "slack.managers[0]: expected a string"),
        ("[slack]\nmanagers = ['ana']\n", "slack.managers[0]: expected a Slack user id"),
        ("[slack]\nin_channel = 'yes'\n", "slack.in_channel: expected true or false"),
        ("[slack]\napi_url = 5\n", "slack.api_url: expected a string"),
        ("[slack]\napi_url = 'https://slack.example/api'\n", "slack.api_url: expected an http(s) URL ending in /"),
        ("[slack]\nmodes = 'http'\n", "slack.modes: unknown key"),
        ("[slack.extra]\nx = 1\n", "slack.extra: unknown key"),
        ("slack = 'socket'\n", "slack: expected a table"),
        ("[discord]\nguilds = 123\n", "discord.guilds: expected a list"),
        ("[discord]\nguilds = [true]\n", "discord.guilds[0]: expected a guild id"),
        ("[discord]\nguilds = ['abc']\n", "discord.guilds[0]: expected a guild id"),
        ("[discord]\nguilds = [-5]\n", "discord.guilds[0]: expected a guild id"),
        ("[discord]\napi_url = 'ftp://discord.example'\n", "discord.api_url: expected an http(s) URL"),
        ("[discord]\nintents = ['all']\n", "discord.intents: unknown key"),
        ("[topics]\nukraine = ['kyiv']\n", "topics.ukraine: expected a string"),
        ("[[subscriptions]]\nplatform = 'slack'\nchannel = ['C1']\ntopic = 'x'\n", "subscriptions[0].channel"),
        ("[tokens]\nslack = 'x'\n", "tokens: secrets are not read from the config file"),
    ],
)
def test_wrong_types_and_unknown_keys_of_the_chat_sections(tmp_path: Path, text: str, message: str) -> None:
    from bot.digests import parse_subscriptions

    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        parse_subscriptions(load_settings(path))
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    assert message in str(info.value)


SECRETS_IN_CONFIG = [
    pytest.param(
        "[slack]\nbot_token = '{}'\n", "xoxb-2024-written-in-the-config-file", "SLACK_BOT_TOKEN", id="slack.bot_token"
    ),
    pytest.param(
        "[slack]\napp_token = '{}'\n", "xapp-1-written-in-the-config-file", "SLACK_APP_TOKEN", id="slack.app_token"
    ),
    pytest.param(
        "[slack]\nsigning_secret = '{}'\n",
        "8f14e45fceea167a5a36dedd4bea2543",
        "SLACK_SIGNING_SECRET",
        id="slack.signing_secret",
    ),
    pytest.param(
        "[discord]\ntoken = '{}'\n",
        "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.written-in-the-config-file-x",
        "DISCORD_TOKEN",
        id="discord.token",
    ),
    pytest.param("SLACK_BOT_TOKEN = '{}'\n", "xoxb-2024-written-at-the-top-level", "SLACK_BOT_TOKEN", id="top-level"),
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``bot.__main__.main`` in a scratch folder; the environment and the root logger are put back after."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "NEWSBRIEF_CONFIG",
        "NEWSBRIEF_ENV_FILE",
        "NEWSBRIEF_LOG_LEVEL",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DISCORD_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    environ = dict(os.environ)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    os.environ.clear()
    os.environ.update(environ)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(("text", "value", "variable"), SECRETS_IN_CONFIG)
def test_a_secret_in_the_config_file_is_refused_and_never_echoed(
    tmp_path: Path, text: str, value: str, variable: str, cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    path = write_config(tmp_path, text.format(secret(value)))
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: ") and value not in str(info.value)
    assert main(["--config", str(path), "doctor"]) == 2
    out, err = capsys.readouterr()
    assert value not in out + err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("text", "value", "variable"), SECRETS_IN_CONFIG)
def test_a_secret_in_the_config_file_is_refused_with_a_pointer_to_the_environment(
    tmp_path: Path, text: str, value: str, variable: str
) -> None:
    path = write_config(tmp_path, text.format(secret(value)))
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert value not in message
    assert variable in message and "environment" in message.lower(), message


@pytest.mark.parametrize(
    ("mode", "env", "missing"),
    [("socket", {}, "SLACK_APP_TOKEN"), ("http", {"SLACK_APP_TOKEN": SLACK_APP_TOKEN}, "SLACK_SIGNING_SECRET")],
)
def test_doctor_names_a_missing_secret_without_showing_the_others(
    tmp_path: Path,
    slack: FakeSlack,
    cli: None,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    env: dict[str, str],
    missing: str,
) -> None:
    from bot.__main__ import main

    listen = "[http]\nlisten = '127.0.0.1:0'\n" if mode == "http" else ""  # HTTP mode needs one
    path = write_config(
        tmp_path,
        f"[store]\nurl = 'sqlite:///{tmp_path}/nb.db'\n[slack]\nmode = '{mode}'\napi_url = '{slack.api_url}'\n{listen}",
    )
    os.environ.update({"SLACK_BOT_TOKEN": SLACK_BOT_TOKEN, **env})
    assert main(["--config", str(path), "doctor"]) == 1
    out, err = capsys.readouterr()
    assert f"{missing}: not set" in out and f"needs {missing}" in out
    assert SLACK_BOT_TOKEN not in out + err and SLACK_APP_TOKEN not in out + err


def test_a_database_password_in_the_store_url_is_never_echoed(
    tmp_path: Path, cli: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    password = secret("hunter2-database-password")
    path = write_config(tmp_path, f"[store]\nurl = 'postgresql+psycopg://newsbrief:{password}@127.0.0.1:1/nb'\n")
    for command in (["db", "upgrade"], ["doctor"]):
        assert main(["--config", str(path), *command]) == 1  # nothing listens on port 1: refused at once
        out, err = capsys.readouterr()
        assert "127.0.0.1" in err and password not in out + err, command


def test_the_secret_registry_is_the_one_the_log_scan_reads() -> None:
    """``secret()`` registers in tests/conftest.py's ``SECRETS`` (the module pytest loaded, not a copy)."""
    import sys

    conftest = sys.modules["tests.conftest"]
    assert SLACK_BOT_TOKEN in conftest.SECRETS and DISCORD_TOKEN in conftest.SECRETS
    assert conftest.leaked_secrets(f"connecting with {DISCORD_TOKEN}") == [DISCORD_TOKEN]
    assert conftest.leaked_secrets("Authorization: Bearer xoxb-1-2-abc") == ["xoxb-1-2-abc"]
    assert conftest.leaked_secrets("nothing to see") == []
    with pytest.raises(ValueError):
        secret("short")
