"""A loopback fake of Discord (REST API v10 and the gateway) that the real ``discord.py`` client can talk to.

Usage::

    with FakeDiscord(heartbeat_interval_ms=250) as fake, fake.patch_discord_py():
        fake.add_channel("20", guild_id="10", name="news")          # a guild with a text channel
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        tree = app_commands.CommandTree(client)
        await client.login("token")                                # GET /users/@me, GET /oauth2/applications/@me
        task = asyncio.create_task(client.connect(reconnect=True)) # ws://127.0.0.1:PORT/gateway
        await client.wait_until_ready()
        await tree.sync()                                          # PUT /applications/{app_id}/commands
        it = await fake.interaction_async("ping", guild_id="10", channel_id="20")
        assert (await it.wait_callback_async()).type == 5          # deferred
        [followup] = await it.wait_followups_async(1)              # POST /webhooks/{app_id}/{token}

``patch_discord_py()`` points ``discord.http.Route.BASE`` at :attr:`FakeDiscord.api_url` *and*
``DiscordWebSocket.DEFAULT_GATEWAY`` at :attr:`FakeDiscord.gateway_url`: a plain ``discord.Client`` never asks
``/gateway/bot`` where the gateway is, it connects to ``wss://gateway.discord.gg/`` (only ``AutoShardedClient``
asks), and after READY it resumes at READY's ``resume_gateway_url``.

The server is an aiohttp application running in its own thread with its own event loop, bound to 127.0.0.1 on a
free port, so it serves sync tests, async tests (whose loop is another one) and subprocesses alike. Everything it
records (``calls``, ``frames``, messages, interactions) is kept under one lock and handed out as snapshots; the
blocking helpers wait on conditions with timeouts, never by sleeping.

Blocking helpers (``interaction``, ``wait_ready``, ``drop_connections``, ``Interaction.wait_callback``, ...) block
the calling thread. Called from a coroutine whose event loop also runs the client under test they would starve
it: there, use the ``*_async`` twins, which run the blocking helper in a worker thread.

What discord.py needs that is easy to miss (all honoured here): it parses a REST body only when ``Content-Type``
is exactly ``application/json`` (with ``; charset=utf-8`` it sees a string); it retries a 429 only when the
answer has a ``Via`` header; every interaction needs ``attachment_size_limit``; RESUMED's ``d`` must be an
object; and it sleeps 5 s (``Client.before_identify_hook``) before every IDENTIFY but the first, so a test of
INVALID_SESSION replaces that hook. It retries 500/502/504/524 after sleeping 1 s and more: a fast
``DiscordServerError`` test uses 503.

Wire formats follow Discord's documentation: REST errors are ``{"message", "code"}`` (``errors`` for 50035
Invalid Form Body); rate limits are HTTP 429 ``{"message", "retry_after", "global"}`` with ``Retry-After`` and the
``X-RateLimit-*`` headers (and ``Via``, without which discord.py treats a 429 as a Cloudflare ban); the gateway
speaks opcodes HELLO 10, HEARTBEAT 1 / HEARTBEAT_ACK 11, IDENTIFY 2, RESUME 6, RECONNECT 7, INVALID_SESSION 9 and
DISPATCH 0 (READY, GUILD_CREATE, RESUMED, INTERACTION_CREATE, ...) with sequence numbers; interactions are answered
at ``/interactions/{id}/{token}/callback`` within 3 s, followed up at ``/webhooks/{app_id}/{token}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import math
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yarl
from aiohttp import WSCloseCode, WSMsgType, web

from testkit.loopback import LoopbackAioServer

__all__ = [
    "ADMINISTRATOR",
    "BOT_PERMISSIONS",
    "EMBED_LINKS",
    "MANAGE_CHANNELS",
    "MANAGE_GUILD",
    "MEMBER_PERMISSIONS",
    "READ_MESSAGE_HISTORY",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "Call",
    "Callback",
    "FakeDiscord",
    "Frame",
    "Interaction",
    "Op",
    "WebhookPost",
    "discord_py_pointed_at",
    "gateway_url_for",
]

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000


class Op:
    """Gateway opcodes (Discord docs: Opcodes and Status Codes)."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


# Permission bits (Discord docs: Permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | ADD_REACTIONS | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
) | USE_APPLICATION_COMMANDS
BOT_PERMISSIONS = MEMBER_PERMISSIONS | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
ALL_PERMISSIONS = (1 << 51) - 1

# Gateway intents (Discord docs: Gateway, List of Intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Channel types.
GUILD_TEXT = 0
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
GUILD_MEDIA = 16
_THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)

# Message flags.
FLAG_EPHEMERAL = 1 << 6
MESSAGE_REPLY = 19
"""The message type of a reply (a message with a ``message_reference``)."""
FLAG_LOADING = 1 << 7

_MAX_CONTENT = 2000
_MAX_EMBEDS = 10
_MAX_NONCE = 25
_MAX_CHOICES = 25  # autocomplete results
_MAX_CHOICE_TEXT = 100  # an autocomplete choice's name, and a string value
_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
_PRIVATE_KEYS = ("allowed_mentions", "enforce_nonce")


def gateway_url_for(api_url: str) -> str:
    """The gateway URL of the fake Discord whose REST base is ``api_url`` (``http://HOST:PORT/api/v10``)."""
    url = yarl.URL(api_url)
    return str(url.with_scheme("wss" if url.scheme == "https" else "ws").with_path("/gateway"))


@contextlib.contextmanager
def discord_py_pointed_at(api_url: str) -> Iterator[None]:
    """Point discord.py's REST base (``Route.BASE``) at ``api_url`` and its default gateway at the fake's gateway
    there; restore both on exit. These are globals of the library, which the bot itself never changes: a test
    (or a process started for one, see ``testkit/bot_on_fake_discord.py``) sets them around the code under test."""
    import discord.gateway
    import discord.http

    route, socket = discord.http.Route, discord.gateway.DiscordWebSocket
    old_base, old_gateway = route.BASE, socket.DEFAULT_GATEWAY
    route.BASE = api_url
    socket.DEFAULT_GATEWAY = yarl.URL(gateway_url_for(api_url))
    try:
        yield
    finally:
        route.BASE = old_base
        socket.DEFAULT_GATEWAY = old_gateway


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Call:
    """One REST request the fake received (recorded whatever it answered)."""

    method: str
    path: str  # after /api/v10, without the query: "/channels/20/messages"
    json: Any  # the parsed JSON body (None without one)
    params: dict[str, str]  # the query string
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int = 200  # HTTP status answered
    code: int | None = None  # Discord's JSON error code, when it answered an error
    files: tuple[str, ...] = ()  # names of the files uploaded (multipart requests; the JSON is payload_json)

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Frame:
    """One gateway frame, received from the client (``direction="in"``) or sent to it (``"out"``)."""

    direction: str
    op: int | None
    d: Any
    s: int | None
    t: str | None
    at: float  # time.monotonic()
    connection: int  # 1 for the first gateway connection, 2 for the next, ...


@dataclass(frozen=True)
class Callback:
    """An interaction response (``POST /interactions/{id}/{token}/callback``)."""

    type: int  # 1 pong, 4 message, 5 deferred message, 6 deferred update, 7 update, 8 autocomplete result, 9 modal
    data: dict[str, Any] | None
    at: float  # time.monotonic() on arrival
    params: dict[str, str]

    @property
    def content(self) -> str | None:
        value = (self.data or {}).get("content")
        return value if isinstance(value, str) else None

    @property
    def flags(self) -> int:
        return int((self.data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        value = (self.data or {}).get("choices")
        return list(value) if isinstance(value, list) else []


@dataclass(frozen=True)
class WebhookPost:
    """A followup message (``kind="followup"``) or an edit of a response message (``kind="edit"``).

    ``body`` is what the app sent (``ephemeral``: what it asked for); ``message_flags`` are the flags of the
    message it made or changed (``shown_ephemeral``: what Discord did, which differs for the first followup after
    a deferral: that one keeps the deferral's visibility)."""

    kind: str
    body: dict[str, Any]
    params: dict[str, str]
    at: float  # time.monotonic() on arrival
    message_id: str | None
    message_flags: int = 0

    @property
    def content(self) -> str | None:
        value = self.body.get("content")
        return value if isinstance(value, str) else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        value = self.body.get("embeds")
        return list(value) if isinstance(value, list) else []

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        value = self.body.get("allowed_mentions")
        return value if isinstance(value, dict) else None

    @property
    def flags(self) -> int:
        return int(self.body.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the app asked for an ephemeral message (the flag in the body)."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def shown_ephemeral(self) -> bool:
        """Whether the message is shown to the asker alone (what Discord made of the request)."""
        return bool(self.message_flags & FLAG_EPHEMERAL)


class Interaction:
    """An interaction the fake dispatched, and what the app answered (read under the fake's lock)."""

    def __init__(self, fake: FakeDiscord, *, id: str, token: str, type: int, name: str, payload: JSON) -> None:
        self._fake = fake
        self.id = id
        self.token = token
        self.type = type  # 2 application command, 4 autocomplete
        self.name = name
        self.payload = payload  # the INTERACTION_CREATE data as dispatched
        self.sent_at: float | None = None  # time.monotonic() when INTERACTION_CREATE was written to the gateway
        self._callback: Callback | None = None
        self._followups: list[WebhookPost] = []
        self._edits: list[WebhookPost] = []
        self._original: JSON | None = None  # the response message (a deferred one is "loading" until answered)

    def __repr__(self) -> str:
        return f"<fake Interaction {self.id} /{self.name} type={self.type}>"

    @property
    def callback(self) -> Callback | None:
        with self._fake._cond:
            return self._callback

    @property
    def followups(self) -> list[WebhookPost]:
        with self._fake._cond:
            return list(self._followups)

    @property
    def edits(self) -> list[WebhookPost]:
        with self._fake._cond:
            return list(self._edits)

    @property
    def original(self) -> dict[str, Any] | None:
        """The response message as it stands (content, embeds, flags), or None before one exists."""
        with self._fake._cond:
            return copy.deepcopy(self._original)

    @property
    def callback_latency(self) -> float | None:
        """Seconds from dispatch to the callback's arrival (Discord allows 3)."""
        with self._fake._cond:
            if self._callback is None or self.sent_at is None:
                return None
            return self._callback.at - self.sent_at

    def wait_callback(self, timeout: float = 5.0) -> Callback:
        with self._fake._cond:
            self._fake._wait_until(
                lambda: self._callback is not None,
                timeout,
                lambda: f"no callback for interaction {self.id} (/{self.name}) within {timeout} s",
            )
            assert self._callback is not None
            return self._callback

    def wait_followups(self, n: int = 1, timeout: float = 5.0) -> list[WebhookPost]:
        with self._fake._cond:
            self._fake._wait_until(
                lambda: len(self._followups) >= n,
                timeout,
                lambda: f"{len(self._followups)} followup(s) for /{self.name}, waited for {n}",
            )
            return list(self._followups)

    def wait_edits(self, n: int = 1, timeout: float = 5.0) -> list[WebhookPost]:
        with self._fake._cond:
            self._fake._wait_until(
                lambda: len(self._edits) >= n,
                timeout,
                lambda: f"{len(self._edits)} edit(s) of /{self.name}'s response, waited for {n}",
            )
            return list(self._edits)

    async def wait_callback_async(self, timeout: float = 5.0) -> Callback:
        return await asyncio.to_thread(self.wait_callback, timeout)

    async def wait_followups_async(self, n: int = 1, timeout: float = 5.0) -> list[WebhookPost]:
        return await asyncio.to_thread(self.wait_followups, n, timeout)

    async def wait_edits_async(self, n: int = 1, timeout: float = 5.0) -> list[WebhookPost]:
        return await asyncio.to_thread(self.wait_edits, n, timeout)


# --------------------------------------------------------------------------------------------------
# Internals


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def _form_error(errors: JSON) -> _ApiError:
    return _ApiError(400, 50035, "Invalid Form Body", errors)


def _field_error(code: str, message: str) -> JSON:
    return {"_errors": [{"code": code, "message": message}]}


def _nest(path: Sequence[str | int], leaf: JSON) -> JSON:
    out = leaf
    for key in reversed(path):
        out = {str(key): out}
    return out


@dataclass
class _Fault:
    method: str
    prefix: str
    status: int
    body: JSON
    headers: dict[str, str]
    times: int
    via: bool = True
    after: int = 0  # matching requests answered normally before the fault starts
    applied: bool = False  # carry the request out, then answer the fault (the answer was lost, not the request)


def _shard_of(guild_id: str, shard_count: int) -> int:
    return (int(guild_id) >> 22) % shard_count


def _valid_shard(shard: Any) -> bool:
    """IDENTIFY's ``shard``: ``[shard_id, num_shards]`` with ``0 <= shard_id < num_shards``."""
    if not isinstance(shard, list) or len(shard) != 2 or not all(type(n) is int for n in shard):
        return False
    return 0 <= shard[0] < shard[1]


@dataclass
class _Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    events: list[JSON] = field(default_factory=list)
    conn: _GatewayConn | None = None
    valid: bool = True

    def holds(self, guild_id: str) -> bool:
        """Whether this session gets the guild's events (every guild when it identified without ``shard``)."""
        return self.shard is None or _shard_of(guild_id, self.shard[1]) == self.shard[0]


@dataclass
class _GatewayConn:
    number: int
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    path: str
    query: dict[str, str]
    opened_at: float
    lock: asyncio.Lock
    compressor: Any = None  # a zlib compress object for compress=zlib-stream
    session: _Session | None = None
    ready: bool = False
    closed: bool = False
    closed_by_server: bool = False
    close_code: int | None = None


@dataclass
class _Request:
    method: str
    path: str
    match: re.Match[str]
    json: Any
    params: dict[str, str]
    at: float
    files: list[tuple[str, int]] = field(default_factory=list)  # (filename, size) of uploaded files
    dispatches: list[tuple[str, JSON]] = field(default_factory=list)


_Handler = Callable[[_Request], tuple[int, Any]]


def _snowflake_str(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    return None


def _infer_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _embed_errors(embeds: Any, path: Sequence[str | int]) -> JSON | None:
    """The documented embed limits (10 embeds, 6000 characters in all, per-field maxima)."""
    if not isinstance(embeds, list):
        return _nest([*path, "embeds"], _field_error("LIST_TYPE_CONVERT", "Must be an array."))
    if len(embeds) > _MAX_EMBEDS:
        return _nest([*path, "embeds"], _field_error("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
    total = 0
    limits = {"title": 256, "description": 4096}
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            return _nest([*path, "embeds", i], _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used."))
        for key, limit in limits.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                return _nest(
                    [*path, "embeds", i, key],
                    _field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."),
                )
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = embed.get(key)
            text = part.get(sub) or "" if isinstance(part, dict) else ""
            total += len(text)
            if len(text) > limit:
                return _nest(
                    [*path, "embeds", i, key, sub],
                    _field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."),
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            return _nest(
                [*path, "embeds", i, "fields"], _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            )
        for j, fld in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                text = str(fld.get(key) or "") if isinstance(fld, dict) else ""
                total += len(text)
                if not text:
                    return _nest(
                        [*path, "embeds", i, "fields", j, key],
                        _field_error("BASE_TYPE_REQUIRED", "This field is required"),
                    )
                if len(text) > limit:
                    return _nest(
                        [*path, "embeds", i, "fields", j, key],
                        _field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."),
                    )
    if total > 6000:
        return _nest(
            [*path, "embeds"], _field_error("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
        )
    return None


# --------------------------------------------------------------------------------------------------
# The fake


class FakeDiscord(LoopbackAioServer):
    """A loopback stand-in for discord.com: REST API v10, the gateway, interactions and their webhooks.

    Configuration (plain attributes; set them before the client acts):

    * ``guilds`` / ``channels`` — by id (strings); see :meth:`add_guild` and :meth:`add_channel`.
    * ``valid_tokens`` — bot tokens accepted (REST ``Authorization: Bot <token>``, IDENTIFY, RESUME); ``None``
      (default) accepts any non-empty token.
    * ``heartbeat_interval_ms`` — what HELLO announces (tests: a short one, e.g. 250).
    * ``ack_heartbeats`` — answer HEARTBEAT with HEARTBEAT_ACK (False simulates a zombied connection).
    * ``allowed_privileged_intents`` — privileged intents enabled "in the developer portal" (default none: an
      IDENTIFY asking for members/presences/message content is closed with 4014, as Discord does).
    * ``compress_gateway`` — honour ``compress=zlib-stream`` with binary zlib frames (default: plain text frames,
      which discord.py accepts as well).
    * ``interaction_ack_deadline`` — seconds an interaction may take to call back (Discord: 3); later callbacks
      get 404 Unknown interaction (10062).
    * ``nonce_window`` — seconds an ``enforce_nonce`` nonce is remembered ("the past few minutes"), on the
      fake's clock: :meth:`advance` moves it (and message ids and timestamps) ahead without waiting.
    * ``bot_permissions`` — the bot's permissions (its role's, and ``app_permissions`` of interactions).
    * ``shard_count`` — the shards ``GET /gateway/bot`` recommends (default 2, so that ``AutoShardedClient``
      connects two). A session IDENTIFYing with ``shard: [id, count]`` holds the guilds whose
      ``(guild_id >> 22) % count == id``, as Discord documents: READY lists only those, and every event of a
      guild (GUILD_CREATE, INTERACTION_CREATE, messages, ...) is dispatched on the session holding it (events of
      no guild on shard 0); a bad shard is closed with 4010. A session without ``shard`` holds every guild.
    * ``max_concurrency`` — ``session_start_limit.max_concurrency`` of ``GET /gateway/bot``: how many shards may
      IDENTIFY per 5 s (default 16, as for large bots, so shards connect at once; 1 spaces them 5 s apart).
    """

    def __init__(
        self,
        *,
        app_id: str = "1200000000000000001",
        bot_user_id: str | None = None,
        bot_name: str = "newsbrief",
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        super().__init__("FakeDiscord")
        self.app_id = app_id
        self.bot_user_id = bot_user_id or app_id  # a bot user shares its application's id
        self.bot_name = bot_name
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_heartbeats = True
        self.allowed_privileged_intents = 0
        self.compress_gateway = False
        self.interaction_ack_deadline = 3.0
        self.nonce_window = 300.0
        self.bot_permissions = BOT_PERMISSIONS
        self.valid_tokens: set[str] | None = None
        self.shard_count = 2
        self.max_concurrency = 16
        self._time_offset = 0.0  # seconds the fake's clock is ahead of the real one (see advance)
        self.guilds: dict[str, JSON] = {}
        self.channels: dict[str, JSON] = {}
        self.users: dict[str, JSON] = {}

        self._last_snowflake = 0
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._channel_errors: dict[str, _ApiError] = {}
        self._messages: dict[str, list[JSON]] = {}  # channel id -> visible messages, oldest first
        self._message_index: dict[str, JSON] = {}  # message id -> message (ephemeral ones too)
        self._nonces: dict[tuple[str, str], tuple[float, str]] = {}  # (author, nonce) -> (at, message id)
        self._commands: dict[str | None, list[JSON]] = {}  # guild id (None: global) -> commands
        self._interactions: dict[str, Interaction] = {}
        self._interactions_by_token: dict[str, Interaction] = {}
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None  # the newest
        self._conns: list[_GatewayConn] = []
        self._connections_opened = 0
        self._ready_count = 0
        self._resume_count = 0
        self._frames: list[Frame] = []
        self._sent_frames: list[Frame] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._routes: list[tuple[str, re.Pattern[str], _Handler, bool]] = []
        self._build_routes()

    # ---------------------------------------------------------------- lifecycle

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/gateway", self._handle_gateway)
        router.add_get("/gateway/", self._handle_gateway)
        router.add_get("/gateway/resume", self._handle_gateway)
        router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._handle_rest)
        router.add_route("*", "/{tail:.*}", self._handle_unknown)

    async def _shutdown(self) -> None:
        await self._close_connections(WSCloseCode.GOING_AWAY, abrupt=False)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await super()._shutdown()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the fake's loop without waiting (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return

        def start() -> None:
            task = loop.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        if threading.current_thread() is self._thread:
            start()
        else:
            loop.call_soon_threadsafe(start)

    # ---------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """For ``discord.http.Route.BASE`` (no trailing slash)."""
        return f"http://127.0.0.1:{self._port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What ``/gateway`` and ``/gateway/bot`` answer; for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """READY's ``resume_gateway_url`` (a different path, so tests can see where a client resumed)."""
        return f"ws://127.0.0.1:{self._port}/gateway/resume"

    def patch_discord_py(self) -> contextlib.AbstractContextManager[None]:
        """Point discord.py's REST base and default gateway at this fake; restore both on exit."""
        return discord_py_pointed_at(self.api_url)

    # ---------------------------------------------------------------- clock

    def advance(self, seconds: float) -> None:
        """Move the fake's clock ``seconds`` ahead, as if that much time had passed on Discord's side: later
        message ids (snowflakes) and timestamps are that much later, and nonces older than :attr:`nonce_window`
        on this clock are forgotten (the same nonce then creates a new message, as on Discord)."""
        with self._cond:
            self._time_offset += seconds

    def _wall(self) -> float:
        """The fake's wall clock (epoch seconds): the real one plus what :meth:`advance` added."""
        return time.time() + self._time_offset

    def _mono(self) -> float:
        """The fake's monotonic clock, for windows such as the nonce's."""
        return time.monotonic() + self._time_offset

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self._wall(), UTC).isoformat()

    # ---------------------------------------------------------------- configuration

    def add_guild(self, guild_id: str | int, name: str = "Newsbrief Test", *, owner_id: str = "1") -> JSON:
        """A guild the bot is in (its @everyone role and the bot's managed role included); returns it."""
        gid = str(guild_id)
        with self._cond:
            if gid in self.guilds:
                return self.guilds[gid]
            guild: JSON = {
                "id": gid,
                "name": name,
                "owner_id": owner_id,
                "bot_role_id": self._snowflake(),
                "joined_at": self._now_iso(),
            }
            self.guilds[gid] = guild
            live = self._session is not None and self._session.valid
        if live:
            self._spawn(self._dispatch_if_session("GUILD_CREATE", self._guild_create_payload(gid), INTENT_GUILDS))
        return guild

    def add_channel(
        self,
        channel_id: str | int,
        guild_id: str | int,
        name: str,
        type: int = GUILD_TEXT,
        *,
        topic: str | None = None,
        **extra: Any,
    ) -> JSON:
        """A text (0), forum (15) or media (16) channel in a guild (the guild is added if new); returns it."""
        cid, gid = str(channel_id), str(guild_id)
        self.add_guild(gid)
        with self._cond:
            position = sum(1 for c in self.channels.values() if c.get("guild_id") == gid)
            channel: JSON = {
                "id": cid,
                "type": type,
                "guild_id": gid,
                "name": name,
                "position": position,
                "permission_overwrites": [],
                "parent_id": None,
                "nsfw": False,
                "topic": topic,
                "rate_limit_per_user": 0,
                "last_message_id": None,
                "default_auto_archive_duration": 4320,
                "flags": 0,
            }
            if type in (GUILD_FORUM, GUILD_MEDIA):
                channel.update(
                    {
                        "available_tags": [],
                        "default_reaction_emoji": None,
                        "default_sort_order": None,
                        "default_forum_layout": 0,
                        "default_thread_rate_limit_per_user": 0,
                    }
                )
            channel.update(extra)
            self.channels[cid] = channel
            live = self._session is not None and self._session.valid
        if live:
            self._spawn(self._dispatch_if_session("CHANNEL_CREATE", self._public(channel), INTENT_GUILDS))
        return channel

    def remove_channel(self, channel_id: str | int) -> None:
        """Delete a channel (later requests to it answer 404 Unknown Channel, 10003)."""
        with self._cond:
            channel = self.channels.pop(str(channel_id), None)
        if channel is not None:
            self._spawn(self._dispatch_if_session("CHANNEL_DELETE", self._public(channel), INTENT_GUILDS))

    def restrict_channel(self, channel_id: str | int, code: int | None = 50013) -> None:
        """Every post to the channel answers 403 (50013 Missing Permissions / 50001 Missing Access); None clears."""
        messages = {50001: "Missing Access", 50013: "Missing Permissions"}
        with self._cond:
            if code is None:
                self._channel_errors.pop(str(channel_id), None)
            else:
                self._channel_errors[str(channel_id)] = _ApiError(403, code, messages.get(code, "Forbidden"))

    def set_overwrite(
        self, channel_id: str | int, target_id: str | int, *, allow: int = 0, deny: int = 0, member: bool = True
    ) -> None:
        """A permission overwrite on a channel (replacing one for the same target): for a member (a user id, e.g.
        :attr:`bot_user_id`) or, with ``member=False``, a role (the guild's id is @everyone). The bot's
        permissions in a channel follow Discord's rules (base role permissions, then the @everyone, role and member
        overwrites; a thread takes its parent's), and the fake enforces them: without View Channel the channel
        answers 403 Missing Access (50001); without Read Message History its message history is empty (as
        Discord documents) and single messages answer 403; without Send Messages (Send Messages in Threads in a
        thread) posting answers 403 Missing Permissions (50013). Connected clients get a CHANNEL_UPDATE."""
        cid, target = str(channel_id), str(target_id)
        with self._cond:
            channel = self.channels[cid]
            overwrites = [o for o in channel.get("permission_overwrites") or [] if o.get("id") != target]
            overwrites.append({"id": target, "type": 1 if member else 0, "allow": str(allow), "deny": str(deny)})
            channel["permission_overwrites"] = overwrites
            live = self._session is not None and self._session.valid
        if live:
            self._spawn(self._dispatch_if_session("CHANNEL_UPDATE", self._public(channel), INTENT_GUILDS))

    def bot_permissions_in(self, channel_id: str | int) -> int:
        """The bot's permissions in a channel (see :meth:`set_overwrite`)."""
        with self._cond:
            return self._permissions_in(self.channels[str(channel_id)])

    def _permissions_in(self, channel: JSON) -> int:
        """The bot's permissions in ``channel`` (caller holds the lock): Discord's computation."""
        guild = self.guilds.get(str(channel.get("guild_id")))
        if guild is None:
            return 0
        if guild["owner_id"] == self.bot_user_id:
            return ALL_PERMISSIONS
        permissions = MEMBER_PERMISSIONS | self.bot_permissions  # @everyone's role and the bot's own
        if permissions & ADMINISTRATOR:
            return ALL_PERMISSIONS
        source = channel
        if channel.get("type") in _THREAD_TYPES:
            source = self.channels.get(str(channel.get("parent_id")), channel)
        overwrites = source.get("permission_overwrites") or []
        targets = (
            lambda o: o.get("id") == guild["id"],
            lambda o: int(o.get("type", 0)) == 0 and o.get("id") == guild["bot_role_id"],
            lambda o: int(o.get("type", 0)) == 1 and o.get("id") == self.bot_user_id,
        )
        for applies in targets:
            for overwrite in (o for o in overwrites if applies(o)):
                permissions = (permissions & ~int(overwrite.get("deny") or 0)) | int(overwrite.get("allow") or 0)
        return permissions if permissions & VIEW_CHANNEL else 0

    def add_user(self, user_id: str | int, username: str, **extra: Any) -> JSON:
        """A user that interactions can come from (any id works; this sets its name)."""
        with self._cond:
            user = {"id": str(user_id), "username": username, **extra}
            self.users[str(user_id)] = user
            return user

    def seed_message(self, channel_id: str | int, content: str, *, author_id: str = "1300000000000000001") -> JSON:
        """Put a message in a channel's history as if a person had posted it; returns it."""
        with self._cond:
            message = self._new_message(str(channel_id), {"content": content}, author=self._user(author_id))
            self._store_message(message)
            return copy.deepcopy(message)

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 429,
        retry_after: float = 0.0,
        times: int = 1,
        *,
        is_global: bool = False,
        scope: str = "user",
        via: bool = True,
        after: int = 0,
        applied: bool = False,
    ) -> None:
        """The next ``times`` requests matching ``method`` ("*": any) and ``path_prefix`` (after /api/v10, matched
        by whole segments) answer HTTP 429 with Discord's body and ``Retry-After`` / ``X-RateLimit-*`` headers.

        ``via=False`` leaves out the ``Via`` header, as a Cloudflare ban would (discord.py then raises instead of
        retrying). A ``status`` other than 429 answers ``{"message": "<status>: ...", "code": 0}`` (a 5xx).
        ``after``: that many matching requests are answered normally first. ``applied``: the request is carried
        out (a message is posted) and only its answer is the fault, as when Discord fails after acting.
        """
        if status == 429:
            body: JSON = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
            reset = time.time() + retry_after
            headers = {
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{reset:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": self._bucket(method, path_prefix),
                "X-RateLimit-Scope": "global" if is_global else scope,
            }
            if is_global:
                headers["X-RateLimit-Global"] = "true"
        else:
            body = {"message": f"{status}: Server Error", "code": 0}
            headers = {}
        self._add_fault(
            _Fault(method.upper(), self._prefix(path_prefix), status, body, headers, times, via, after, applied)
        )

    def error_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        code: int,
        message: str,
        times: int = 1,
        *,
        errors: JSON | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` with ``{"message", "code"}``: e.g. 403 50001
        Missing Access, 403 50013 Missing Permissions, 404 10003 Unknown Channel, 500/502/503 (code 0)."""
        body: JSON = {"message": message, "code": code}
        if errors is not None:
            body["errors"] = errors
        self._add_fault(_Fault(method.upper(), self._prefix(path_prefix), status, body, {}, times))

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._cond:
            self._faults.append(fault)

    @staticmethod
    def _prefix(path_prefix: str) -> str:
        prefix = re.sub(r"^(https?://[^/]+)?/api/v\d+", "", path_prefix)
        return "/" + prefix.strip("/") if prefix.strip("/") else "/"

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.prefix != "/" and path != fault.prefix and not path.startswith(fault.prefix + "/"):
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # ---------------------------------------------------------------- recorded state (snapshots)

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str, path_prefix: str = "/") -> list[Call]:
        """Requests whose method is ``method`` ("*": any) and whose path starts with ``path_prefix`` (by segment)."""
        prefix = self._prefix(path_prefix)
        with self._cond:
            return [c for c in self._calls if self._matches(c, method, prefix)]

    @staticmethod
    def _matches(call: Call, method: str, prefix: str) -> bool:
        if method != "*" and call.method != method.upper():
            return False
        return prefix == "/" or call.path == prefix or call.path.startswith(prefix + "/")

    def wait_calls(self, method: str, path_prefix: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        prefix = self._prefix(path_prefix)
        with self._cond:
            self._wait_until(
                lambda: len(self.calls_to(method, path_prefix)) >= n,
                timeout,
                lambda: f"{len(self.calls_to(method, path_prefix))} {method} {prefix} call(s) arrived, waited for {n}",
            )
            return self.calls_to(method, path_prefix)

    def messages(self, channel_id: str | int) -> list[dict[str, Any]]:
        """A channel's visible messages, oldest first (copies; ``allowed_mentions`` as posted included).

        Interaction responses are there too (type 20): a deferred one (callback type 5) from the moment of the
        callback, empty and flagged LOADING (128) until the first followup or an edit fills it in, as in Discord.
        Ephemeral messages (flag 64) are not in the channel (see ``Interaction.original`` / ``message(id)``).
        """
        with self._cond:
            return copy.deepcopy(self._messages.get(str(channel_id), []))

    def message(self, message_id: str | int) -> dict[str, Any] | None:
        with self._cond:
            found = self._message_index.get(str(message_id))
            return copy.deepcopy(found) if found is not None else None

    def wait_messages(self, channel_id: str | int, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until the channel holds at least ``n`` messages; returns them oldest first."""
        cid = str(channel_id)
        with self._cond:
            self._wait_until(
                lambda: len(self._messages.get(cid, [])) >= n,
                timeout,
                lambda: f"{len(self._messages.get(cid, []))} message(s) in channel {cid}, waited for {n}",
            )
            return copy.deepcopy(self._messages[cid])

    def commands(self, guild_id: str | int | None = None) -> list[dict[str, Any]]:
        """The application commands registered globally (None) or in a guild."""
        with self._cond:
            return copy.deepcopy(self._commands.get(None if guild_id is None else str(guild_id), []))

    @property
    def interactions(self) -> list[Interaction]:
        with self._cond:
            return list(self._interactions.values())

    @property
    def frames(self) -> list[Frame]:
        """Every gateway frame received from clients, parsed (heartbeats, IDENTIFY, RESUME, ...)."""
        with self._cond:
            return list(self._frames)

    @property
    def sent_frames(self) -> list[Frame]:
        with self._cond:
            return list(self._sent_frames)

    def frames_with_op(self, op: int) -> list[Frame]:
        with self._cond:
            return [f for f in self._frames if f.op == op]

    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._conns)

    @property
    def connections_opened(self) -> int:
        with self._cond:
            return self._connections_opened

    @property
    def ready_count(self) -> int:
        """READY events sent (one per IDENTIFY that succeeded)."""
        with self._cond:
            return self._ready_count

    @property
    def resume_count(self) -> int:
        """Sessions resumed (RESUMED sent)."""
        with self._cond:
            return self._resume_count

    @property
    def session_id(self) -> str | None:
        with self._cond:
            return self._session.id if self._session is not None else None

    @property
    def connection_paths(self) -> list[str]:
        """The request paths of the open gateway connections (``/gateway``; ``/gateway/resume`` after a resume)."""
        with self._cond:
            return [c.path for c in self._conns]

    # ---------------------------------------------------------------- gateway helpers (blocking)

    def _ready_conn(self, guild_id: str | None = None) -> _GatewayConn | None:
        """The newest ready connection (``guild_id``: whose session holds that guild)."""
        for conn in reversed(self._conns):
            holds = guild_id is None or (conn.session is not None and conn.session.holds(guild_id))
            if conn.ready and not conn.closed and holds:
                return conn
        return None

    def shard_of(self, guild_id: str | int, shard_count: int | None = None) -> int:
        """The shard holding ``guild_id`` among ``shard_count`` (default :attr:`shard_count`), as Discord
        computes it: ``(guild_id >> 22) % shard_count``."""
        return _shard_of(str(guild_id), shard_count or self.shard_count)

    def wait_guild_ready(self, guild_id: str | int, timeout: float = 5.0) -> None:
        """Block until a ready connection's session holds ``guild_id`` (its shard is connected)."""
        self._wait_until(
            lambda: self._ready_conn(str(guild_id)) is not None,
            timeout,
            lambda: f"no ready gateway connection holds guild {guild_id} after {timeout} s",
        )

    @property
    def shards_ready(self) -> list[list[int] | None]:
        """The ``[id, count]`` of each ready connection's session (``None``: IDENTIFY without ``shard``)."""
        with self._cond:
            return [c.session.shard for c in self._conns if c.ready and not c.closed and c.session is not None]

    def wait_ready(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Block until a gateway connection is ready (READY or RESUMED sent) and READY went out ``count`` times."""
        self._wait_until(
            lambda: self._ready_conn() is not None and self._ready_count >= count,
            timeout,
            lambda: (
                f"no ready gateway connection after {timeout} s ({len(self._conns)} open, "
                f"{self._ready_count} READY sent, wanted {count})"
            ),
        )

    def wait_resumed(self, n: int = 1, timeout: float = 5.0) -> None:
        """Block until ``n`` sessions were resumed in all and a connection is ready."""
        self._wait_until(
            lambda: self._resume_count >= n and self._ready_conn() is not None,
            timeout,
            lambda: f"{self._resume_count} resume(s) after {timeout} s, waited for {n}",
        )

    def wait_connections_opened(self, n: int, timeout: float = 5.0) -> None:
        self._wait_until(
            lambda: self._connections_opened >= n,
            timeout,
            lambda: f"{self._connections_opened} gateway connection(s) opened, waited for {n}",
        )

    def wait_open_connections(self, count: int, timeout: float = 5.0) -> None:
        """Block until exactly ``count`` gateway connections are open (0: every close has been processed)."""
        self._wait_until(
            lambda: len(self._conns) == count,
            timeout,
            lambda: f"{len(self._conns)} gateway connection(s) open after {timeout} s, wanted {count}",
        )

    def wait_frames(self, op: int, n: int = 1, timeout: float = 5.0) -> list[Frame]:
        """Block until ``n`` frames with opcode ``op`` arrived from clients; returns them."""
        with self._cond:
            self._wait_until(
                lambda: len(self.frames_with_op(op)) >= n,
                timeout,
                lambda: f"fewer than {n} op {op} frame(s) after {timeout} s",
            )
            return self.frames_with_op(op)

    def dispatch(self, event: str, data: JSON, timeout: float = 5.0) -> int:
        """Send a DISPATCH on the newest session (buffered for replay if it is disconnected); returns its ``s``."""
        return self._run(lambda: self._dispatch(event, data), timeout)

    def drop_connections(self, code: int = 4000, *, abrupt: bool = False, timeout: float = 5.0) -> int:
        """Close every gateway connection from the server side; returns how many.

        ``code`` 4000 (Unknown error, the default) lets the client resume; 4004 (Authentication failed) and other
        4010-4014 codes are fatal for discord.py. ``abrupt=True`` cuts the TCP connection without a close frame.
        """
        return self._run(lambda: self._close_connections(code, abrupt=abrupt), timeout)

    def send_reconnect(self, timeout: float = 5.0) -> int:
        """Send RECONNECT (op 7) on every open connection: the client should close and RESUME."""
        return self._run(lambda: self._broadcast_op({"op": Op.RECONNECT, "d": None, "s": None, "t": None}), timeout)

    def invalidate_session(self, resumable: bool = False, timeout: float = 5.0) -> int:
        """Send INVALID_SESSION (op 9, ``d`` = resumable); not resumable forgets the session (client re-IDENTIFYs)."""
        if not resumable:
            with self._cond:
                for conn in self._conns:
                    if conn.session is not None:
                        conn.session.valid = False
        frame = {"op": Op.INVALID_SESSION, "d": resumable, "s": None, "t": None}
        return self._run(lambda: self._broadcast_op(frame), timeout)

    async def wait_ready_async(self, timeout: float = 5.0, *, count: int = 1) -> None:
        await asyncio.to_thread(lambda: self.wait_ready(timeout, count=count))

    async def wait_resumed_async(self, n: int = 1, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.wait_resumed, n, timeout)

    async def wait_connections_opened_async(self, n: int, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.wait_connections_opened, n, timeout)

    async def wait_open_connections_async(self, count: int, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.wait_open_connections, count, timeout)

    async def wait_frames_async(self, op: int, n: int = 1, timeout: float = 5.0) -> list[Frame]:
        return await asyncio.to_thread(self.wait_frames, op, n, timeout)

    async def wait_messages_async(self, channel_id: str | int, n: int = 1, timeout: float = 5.0) -> list[JSON]:
        return await asyncio.to_thread(self.wait_messages, channel_id, n, timeout)

    async def wait_calls_async(self, method: str, path_prefix: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        return await asyncio.to_thread(self.wait_calls, method, path_prefix, n, timeout)

    async def dispatch_async(self, event: str, data: JSON, timeout: float = 5.0) -> int:
        return await asyncio.to_thread(self.dispatch, event, data, timeout)

    async def drop_connections_async(self, code: int = 4000, *, abrupt: bool = False, timeout: float = 5.0) -> int:
        return await asyncio.to_thread(lambda: self.drop_connections(code, abrupt=abrupt, timeout=timeout))

    async def send_reconnect_async(self, timeout: float = 5.0) -> int:
        return await asyncio.to_thread(self.send_reconnect, timeout)

    async def invalidate_session_async(self, resumable: bool = False, timeout: float = 5.0) -> int:
        return await asyncio.to_thread(self.invalidate_session, resumable, timeout)

    # ---------------------------------------------------------------- interactions

    def interaction(
        self,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None = None,
        *,
        guild_id: str | int | None = None,
        channel_id: str | int | None = None,
        user_id: str | int = "1300000000000000001",
        permissions: int = MEMBER_PERMISSIONS,
        roles: Sequence[str | int] = (),
        subcommand: str | None = None,
        locale: str = "en-US",
        strict: bool = True,
        timeout: float = 5.0,
    ) -> Interaction:
        """Dispatch an INTERACTION_CREATE for ``/name`` (type 2, APPLICATION_COMMAND) once a connection is ready;
        returns at once (the app's answer: ``wait_callback`` / ``wait_followups`` on the handle).

        ``options`` maps option names to values (types from the registered command, else from the Python value)
        or is a ready list of option objects; ``subcommand`` is ``"sub"`` or ``"group sub"``. ``guild_id`` and
        ``channel_id`` default to the first configured guild and its first channel. With ``strict`` (the
        default) the command must be registered (guild, then global) and the member must hold its
        ``default_member_permissions`` (or ADMINISTRATOR): Discord would not deliver it otherwise.
        """
        return self._send_interaction(
            2,
            name,
            options,
            None,
            guild_id,
            channel_id,
            user_id,
            permissions,
            roles,
            subcommand,
            locale,
            strict,
            timeout,
        )

    def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None = None,
        *,
        focused: str,
        guild_id: str | int | None = None,
        channel_id: str | int | None = None,
        user_id: str | int = "1300000000000000001",
        permissions: int = MEMBER_PERMISSIONS,
        roles: Sequence[str | int] = (),
        subcommand: str | None = None,
        locale: str = "en-US",
        strict: bool = True,
        timeout: float = 5.0,
    ) -> Interaction:
        """Dispatch an APPLICATION_COMMAND_AUTOCOMPLETE (type 4) with ``focused`` marked; the app answers with a
        callback of type 8 whose ``data.choices`` (``Callback.choices``) are the suggestions."""
        return self._send_interaction(
            4,
            name,
            options,
            focused,
            guild_id,
            channel_id,
            user_id,
            permissions,
            roles,
            subcommand,
            locale,
            strict,
            timeout,
        )

    async def interaction_async(self, name: str, options: Any = None, **kwargs: Any) -> Interaction:
        return await asyncio.to_thread(lambda: self.interaction(name, options, **kwargs))

    async def autocomplete_async(self, name: str, options: Any = None, **kwargs: Any) -> Interaction:
        return await asyncio.to_thread(lambda: self.autocomplete(name, options, **kwargs))

    def _send_interaction(
        self,
        itype: int,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None,
        focused: str | None,
        guild_id: str | int | None,
        channel_id: str | int | None,
        user_id: str | int,
        permissions: int,
        roles: Sequence[str | int],
        subcommand: str | None,
        locale: str,
        strict: bool,
        timeout: float,
    ) -> Interaction:
        deadline = time.monotonic() + timeout
        with self._cond:
            gid = str(guild_id) if guild_id is not None else next(iter(self.guilds), None)
            if gid is None:
                raise ValueError("no guild: add_guild/add_channel first (DM interactions are not modelled)")
            if channel_id is not None:
                cid = str(channel_id)
            else:
                cid = next((c["id"] for c in self.channels.values() if c.get("guild_id") == gid), "")
            channel = self.channels.get(cid)
            if channel is None:
                raise ValueError(f"unknown channel {cid!r}: add_channel first")
            command = self._find_command(name, gid)
            if command is None and strict:
                raise LookupError(f"/{name} is not registered globally or in guild {gid} (sync the command tree)")
            if command is not None and strict:
                self._check_command_permissions(command, permissions)
            data = self._command_data(name, command, options, subcommand, focused, strict, cid)
            iid = self._snowflake()
            token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
            user = self._user(str(user_id))
            payload: JSON = {
                "id": iid,
                "application_id": self.app_id,
                "type": itype,
                "data": data,
                "guild": {"id": gid, "locale": "en-US", "features": []},
                "guild_id": gid,
                "guild_locale": "en-US",
                "channel": {**self._public(channel), "permissions": str(permissions)},
                "channel_id": cid,
                "member": {
                    "user": user,
                    "roles": [str(r) for r in roles],
                    "permissions": str(permissions),
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "nick": None,
                    "avatar": None,
                    "premium_since": None,
                    "deaf": False,
                    "mute": False,
                    "pending": False,
                    "flags": 0,
                    "communication_disabled_until": None,
                },
                "token": token,
                "version": 1,
                "app_permissions": str(self.bot_permissions),
                "locale": locale,
                "entitlements": [],
                "entitlement_sku_ids": [],
                "authorizing_integration_owners": {"0": gid},
                "context": 0,
                "attachment_size_limit": _ATTACHMENT_SIZE_LIMIT,
            }
            handle = Interaction(self, id=iid, token=token, type=itype, name=name, payload=copy.deepcopy(payload))
            self._interactions[iid] = handle
            self._interactions_by_token[token] = handle
        self.wait_guild_ready(gid, max(0.0, deadline - time.monotonic()))
        self._run(lambda: self._dispatch("INTERACTION_CREATE", payload, handle), max(0.1, deadline - time.monotonic()))
        return handle

    def _find_command(self, name: str, guild_id: str, ctype: int = 1) -> JSON | None:
        for scope in (guild_id, None):
            for command in self._commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == ctype:
                    return command
        return None

    @staticmethod
    def _check_command_permissions(command: JSON, permissions: int) -> None:
        needed = command.get("default_member_permissions")
        if needed is None or permissions & ADMINISTRATOR:
            return
        need = int(needed)
        if need == 0 or permissions & need != need:
            raise PermissionError(
                f"/{command['name']} needs permissions {need} (default_member_permissions); the member has "
                f"{permissions}: Discord would not offer the command"
            )

    def _command_data(
        self,
        name: str,
        command: JSON | None,
        options: Mapping[str, Any] | list[JSON] | None,
        subcommand: str | None,
        focused: str | None,
        strict: bool,
        channel_id: str,
    ) -> JSON:
        schema: list[JSON] = list(command.get("options") or []) if command else []
        path = subcommand.split() if subcommand else []
        for part in path:
            sub = next((o for o in schema if o.get("name") == part and o.get("type") in (1, 2)), None)
            if sub is None and strict and command is not None:
                raise LookupError(f"/{name} has no subcommand {part!r}")
            schema = list(sub.get("options") or []) if sub else []
        resolved: JSON = {}
        built: list[JSON]
        if isinstance(options, list):
            built = copy.deepcopy(options)
        else:
            built = []
            for key, value in (options or {}).items():
                spec = next((o for o in schema if o.get("name") == key), None)
                if spec is None and strict and command is not None:
                    raise LookupError(f"/{name} has no option {key!r}")
                otype = int(spec["type"]) if spec else _infer_option_type(value)
                if otype in (6, 7, 8, 9, 11):
                    value = str(value)
                option: JSON = {"name": key, "type": otype, "value": value}
                if focused == key:
                    option["focused"] = True
                built.append(option)
                if otype == 7 and value in self.channels:
                    ch = self._public(self.channels[value])
                    resolved.setdefault("channels", {})[value] = {**ch, "permissions": str(self.bot_permissions)}
                if otype == 6:
                    resolved.setdefault("users", {})[value] = self._user(value)
        if focused is not None and not any(o.get("focused") for o in built):
            built.append({"name": focused, "type": 3, "value": "", "focused": True})
        kinds = [2] * (len(path) - 1) + [1] if path else []  # "group sub": a group (2) holding a subcommand (1)
        for part, kind in reversed(list(zip(path, kinds, strict=True))):
            built = [{"name": part, "type": kind, "options": built}]
        data: JSON = {
            "id": command["id"] if command else self._snowflake(),
            "name": name,
            "type": int(command.get("type", 1)) if command else 1,
        }
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    # ---------------------------------------------------------------- ids, users, payloads

    def _snowflake(self) -> str:
        """A Discord snowflake for now (ms since 2015 << 22), strictly increasing."""
        with self._cond:
            value = ((int(self._wall() * 1000) - DISCORD_EPOCH_MS) << 22) | (1 << 17)
            value = max(value, self._last_snowflake + 1)
            self._last_snowflake = value
            return str(value)

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_user_id,
            "username": self.bot_name,
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": True,
            "public_flags": 0,
        }

    def _user(self, user_id: str) -> JSON:
        if user_id == self.bot_user_id:
            return self._bot_user()
        known = self.users.get(user_id, {})
        user = {
            "id": user_id,
            "username": f"user{user_id[-4:]}",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        }
        user.update(known)
        return user

    @staticmethod
    def _public(obj: JSON) -> JSON:
        out = copy.deepcopy(obj)
        for key in _PRIVATE_KEYS:
            out.pop(key, None)
        return out

    def _guild_create_payload(self, guild_id: str) -> JSON:
        with self._cond:
            guild = self.guilds[guild_id]
            channels = [
                {k: v for k, v in self._public(c).items() if k != "guild_id"}
                for c in self.channels.values()
                if c.get("guild_id") == guild_id and c["type"] not in _THREAD_TYPES
            ]
            threads = [
                self._public(c)
                for c in self.channels.values()
                if c.get("guild_id") == guild_id and c["type"] in _THREAD_TYPES
            ]
            roles = [
                {
                    "id": guild_id,
                    "name": "@everyone",
                    "permissions": str(MEMBER_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "icon": None,
                    "unicode_emoji": None,
                    "flags": 0,
                },
                {
                    "id": guild["bot_role_id"],
                    "name": self.bot_name,
                    "permissions": str(self.bot_permissions),
                    "position": 1,
                    "color": 0,
                    "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                    "hoist": False,
                    "managed": True,
                    "mentionable": False,
                    "icon": None,
                    "unicode_emoji": None,
                    "flags": 0,
                    "tags": {"bot_id": self.bot_user_id},
                },
            ]
            me = {
                "user": self._bot_user(),
                "roles": [guild["bot_role_id"]],
                "joined_at": guild["joined_at"],
                "nick": None,
                "avatar": None,
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "pending": False,
                "flags": 0,
                "communication_disabled_until": None,
            }
            return {
                "id": guild_id,
                "name": guild["name"],
                "icon": None,
                "splash": None,
                "discovery_splash": None,
                "banner": None,
                "description": None,
                "owner_id": guild["owner_id"],
                "afk_channel_id": None,
                "afk_timeout": 300,
                "verification_level": 0,
                "default_message_notifications": 1,
                "explicit_content_filter": 0,
                "roles": roles,
                "emojis": [],
                "stickers": [],
                "features": [],
                "mfa_level": 0,
                "application_id": None,
                "system_channel_id": None,
                "system_channel_flags": 0,
                "rules_channel_id": None,
                "public_updates_channel_id": None,
                "safety_alerts_channel_id": None,
                "vanity_url_code": None,
                "premium_tier": 0,
                "premium_subscription_count": 0,
                "preferred_locale": "en-US",
                "nsfw_level": 0,
                "premium_progress_bar_enabled": False,
                "max_members": 500000,
                "max_video_channel_users": 25,
                "joined_at": guild["joined_at"],
                "large": False,
                "unavailable": False,
                "member_count": 2,
                "lazy": True,
                "members": [me],
                "channels": channels,
                "threads": threads,
                "presences": [],
                "voice_states": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }

    def _application(self) -> JSON:
        return {
            "id": self.app_id,
            "name": self.bot_name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": {
                "id": "1000000000000000001",
                "username": "owner",
                "global_name": None,
                "discriminator": "0",
                "avatar": None,
                "public_flags": 0,
            },
            "team": None,
            "bot": self._bot_user(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "integration_types_config": {"0": {}},
        }

    # ---------------------------------------------------------------- messages

    def _new_message(
        self, channel_id: str, body: JSON, *, author: JSON, mtype: int = 0, files: Sequence[tuple[str, int]] = ()
    ) -> JSON:
        """A message object from a create-message body (caller holds the lock; does not store it)."""
        content = body.get("content")
        content = content if isinstance(content, str) else ""
        mentions, roles, everyone = self._mentions(content, body.get("allowed_mentions"))
        message: JSON = {
            "id": self._snowflake(),
            "type": mtype,
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": self._now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": roles,
            "attachments": [self._attachment(channel_id, name, size) for name, size in files],
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "components": copy.deepcopy(body.get("components") or []),
            "pinned": False,
            "flags": int(body.get("flags") or 0),
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if isinstance(body.get("allowed_mentions"), dict):
            message["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        channel = self.channels.get(channel_id)
        if channel is not None and channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
        return message

    def _attachment(self, channel_id: str, filename: str, size: int) -> JSON:
        aid = self._snowflake()
        url = f"{self.url}/attachments/{channel_id}/{aid}/{filename}"
        return {"id": aid, "filename": filename, "size": size, "url": url, "proxy_url": url}

    def _mentions(self, content: str, allowed: Any) -> tuple[list[JSON], list[str], bool]:
        """Who a message pings: parsed from the content, filtered by ``allowed_mentions`` as documented."""
        users = re.findall(r"<@!?(\d+)>", content)
        roles = re.findall(r"<@&(\d+)>", content)
        everyone = "@everyone" in content or "@here" in content
        if isinstance(allowed, dict):
            parse = allowed.get("parse") or []
            allowed_users = {str(u) for u in allowed.get("users") or []}
            allowed_roles = {str(r) for r in allowed.get("roles") or []}
            users = [u for u in users if "users" in parse or u in allowed_users]
            roles = [r for r in roles if "roles" in parse or r in allowed_roles]
            everyone = everyone and "everyone" in parse
        return [self._user(u) for u in dict.fromkeys(users)], list(dict.fromkeys(roles)), everyone

    def _validate_message(self, body: Any, path: Sequence[str | int] = (), *, files: int = 0) -> None:
        if not isinstance(body, dict):
            raise _form_error(_nest(path, _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")))
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            raise _form_error(_nest([*path, "content"], _field_error("STRING_TYPE_CONVERT", "Could not interpret.")))
        parts = ("embeds", "components", "sticker_ids", "poll")
        if not (content or files or any(body.get(k) for k in parts)):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        if isinstance(content, str) and len(content) > _MAX_CONTENT:
            raise _form_error(
                _nest([*path, "content"], _field_error("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."))
            )
        if "embeds" in body and (errors := _embed_errors(body["embeds"], path)) is not None:
            raise _form_error(errors)
        allowed = body.get("allowed_mentions")
        if isinstance(allowed, dict):
            parse = allowed.get("parse") or []
            for kind in ("users", "roles"):
                if kind in parse and allowed.get(kind):
                    raise _form_error(
                        _nest(
                            [*path, "allowed_mentions"],
                            _field_error(
                                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                            ),
                        )
                    )
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > _MAX_NONCE:
            raise _form_error(
                _nest([*path, "nonce"], _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
            )

    def _store_message(self, message: JSON) -> None:
        """Make a message visible in its channel (caller holds the lock)."""
        self._message_index[message["id"]] = message
        if not message.get("flags", 0) & FLAG_EPHEMERAL:
            self._messages.setdefault(message["channel_id"], []).append(message)
            channel = self.channels.get(message["channel_id"])
            if channel is not None:
                channel["last_message_id"] = message["id"]
        self._cond.notify_all()

    def _channel_for_post(self, channel_id: str) -> JSON:
        channel = self._visible_channel(channel_id)
        error = self._channel_errors.get(channel_id) or self._channel_errors.get(str(channel.get("parent_id")))
        if error is not None:
            raise error
        need = SEND_MESSAGES_IN_THREADS if channel["type"] in _THREAD_TYPES else SEND_MESSAGES
        if not self._permissions_in(channel) & need:
            raise _ApiError(403, 50013, "Missing Permissions")
        return channel

    def _visible_channel(self, channel_id: str) -> JSON:
        """A channel the bot can see: 404 Unknown Channel, or 403 Missing Access without View Channel."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _ApiError(404, 10003, "Unknown Channel")
        if channel.get("guild_id") and not self._permissions_in(channel) & VIEW_CHANNEL:
            raise _ApiError(403, 50001, "Missing Access")
        return channel

    # ---------------------------------------------------------------- REST

    def _build_routes(self) -> None:
        snow = r"(?P<{}>\d+)"
        add = self._routes.append
        add(("GET", re.compile(r"^/users/@me$"), self._get_me, True))
        add(("GET", re.compile(r"^/gateway$"), self._get_gateway, False))
        add(("GET", re.compile(r"^/gateway/bot$"), self._get_gateway_bot, True))
        add(("GET", re.compile(r"^/(oauth2/)?applications/@me$"), self._get_application, True))
        commands = r"^/applications/" + snow.format("app") + r"(/guilds/" + snow.format("guild") + r")?/commands$"
        add(("GET", re.compile(commands), self._get_commands, True))
        add(("PUT", re.compile(commands), self._put_commands, True))
        guild = r"^/guilds/" + snow.format("guild")
        add(("GET", re.compile(guild + r"$"), self._get_guild, True))
        add(("GET", re.compile(guild + r"/members/" + snow.format("user") + r"$"), self._get_member, True))
        add(("GET", re.compile(guild + r"/threads/active$"), self._get_active_threads, True))
        channel = r"^/channels/" + snow.format("channel")
        add(("GET", re.compile(channel + r"$"), self._get_channel, True))
        add(("GET", re.compile(channel + r"/messages$"), self._get_messages, True))
        add(("POST", re.compile(channel + r"/messages$"), self._post_message, True))
        message = channel + r"/messages/" + snow.format("message") + r"$"
        add(("GET", re.compile(message), self._get_message, True))
        add(("PATCH", re.compile(message), self._patch_message, True))
        add(("DELETE", re.compile(message), self._delete_message, True))
        add(("POST", re.compile(channel + r"/threads$"), self._post_thread, True))
        add(("POST", re.compile(channel + r"/typing$"), self._post_typing, True))
        add(
            (
                "POST",
                re.compile(r"^/interactions/" + snow.format("id") + r"/(?P<token>[^/]+)/callback$"),
                self._post_callback,
                False,
            )
        )
        webhook = r"^/webhooks/" + snow.format("app") + r"/(?P<token>[^/]+)"
        add(("POST", re.compile(webhook + r"$"), self._post_followup, False))
        for method in ("GET", "PATCH", "DELETE"):
            add((method, re.compile(webhook + r"/messages/(?P<message>@original|\d+)$"), self._webhook_message, False))

    def _auth_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Bot "):
            return False
        token = header[4:].strip()
        return bool(token) and (self.valid_tokens is None or token in self.valid_tokens)

    @staticmethod
    def _bucket(method: str, path: str) -> str:
        shape = re.sub(r"/\d+", "/{id}", path)
        return hashlib.sha1(f"{method.upper()} {shape}".encode()).hexdigest()[:16]

    def _ratelimit_headers(self, method: str, path: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "4",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": self._bucket(method, path),
        }

    async def _handle_unknown(self, request: web.Request) -> web.StreamResponse:
        return await self._handle_rest(request, prefix="")

    async def _handle_rest(self, request: web.Request, prefix: str = "/api/v10") -> web.StreamResponse:
        at = time.monotonic()
        method = request.method.upper()
        path = "/" + request.match_info.get("tail", "").strip("/")
        body: Any = None
        bad_json = False
        files: list[tuple[str, int]] = []
        if request.content_type.startswith("multipart/"):
            # uploads: the JSON is the "payload_json" part, files are "files[n]" parts
            form = await request.post()
            for value in form.values():
                if isinstance(value, web.FileField):
                    files.append((value.filename, len(value.file.read())))
            text = form.get("payload_json")
            try:
                body = json.loads(text) if isinstance(text, str) else {}
            except json.JSONDecodeError:
                bad_json, body = True, {"_raw": text}
        else:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    bad_json = True
                    body = {"_raw": raw.decode("utf-8", "replace")}
        params = dict(request.query)
        headers = dict(request.headers)
        out_headers: dict[str, str] = {"Via": "1.1 google"}
        code: int | None = None
        dispatches: list[tuple[str, JSON]] = []
        status: int
        answer: Any
        with self._cond:
            fault = self._take_fault(method, path) if prefix else None
        if fault is not None and fault.applied and not bad_json:
            with contextlib.suppress(_ApiError):
                _, _, dispatches = self._route(method, path, body, params, headers, at, files)
        if fault is not None:
            status, answer = fault.status, fault.body
            out_headers.update(fault.headers)
            if not fault.via:
                out_headers.pop("Via", None)
            code = answer.get("code") if status != 429 else None
        else:
            try:
                if not prefix:
                    raise _ApiError(404, 0, "404: Not Found")
                if bad_json:
                    raise _ApiError(400, 50109, "The request body contains invalid JSON.")
                status, answer, dispatches = self._route(method, path, body, params, headers, at, files)
                out_headers.update(self._ratelimit_headers(method, path))
            except _ApiError as exc:
                status, answer, code = exc.status, exc.body(), exc.code
        call = Call(method, path, body, params, headers, at, status, code, tuple(name for name, _ in files))
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        for event, data in dispatches:
            self._spawn(self._dispatch_if_session(event, data, self._intent_for(event)))
        if answer is None:
            return web.Response(status=204, headers=out_headers)
        # exactly "application/json", as Discord sends it: discord.py parses a body only with that content type
        out_headers["Content-Type"] = "application/json"
        return web.Response(body=json.dumps(answer).encode(), status=status, headers=out_headers)

    @staticmethod
    def _intent_for(event: str) -> int:
        if event.startswith("MESSAGE_"):
            return INTENT_GUILD_MESSAGES
        return INTENT_GUILDS

    def _route(
        self,
        method: str,
        path: str,
        body: Any,
        params: dict[str, str],
        headers: dict[str, str],
        at: float,
        files: list[tuple[str, int]],
    ) -> tuple[int, Any, list[tuple[str, JSON]]]:
        allowed: list[str] = []
        for route_method, pattern, handler, needs_auth in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            auth = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
            if needs_auth and not self._auth_ok(auth):
                raise _ApiError(401, 0, "401: Unauthorized")
            request = _Request(method, path, match, body, params, at, files)
            with self._cond:
                status, answer = handler(request)
            return status, answer, request.dispatches
        if allowed:
            raise _ApiError(405, 0, "405: Method Not Allowed")
        raise _ApiError(404, 0, "404: Not Found")

    # -- users, gateway, application

    def _get_me(self, req: _Request) -> tuple[int, Any]:
        return 200, {**self._bot_user(), "flags": 0, "mfa_enabled": False, "verified": True, "email": None}

    def _get_gateway(self, req: _Request) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    def _get_gateway_bot(self, req: _Request) -> tuple[int, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": self.max_concurrency}
        return 200, {"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limit}

    def _get_application(self, req: _Request) -> tuple[int, Any]:
        return 200, self._application()

    # -- guilds

    def _guild(self, req: _Request) -> str:
        guild_id = req.match["guild"]
        if guild_id not in self.guilds:
            raise _ApiError(404, 10004, "Unknown Guild")
        return guild_id

    def _get_guild(self, req: _Request) -> tuple[int, Any]:
        """The guild as REST gives it: its roles, no channels or members (those are the gateway's)."""
        payload = self._guild_create_payload(self._guild(req))
        for key in (
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "lazy",
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
        ):
            payload.pop(key, None)
        if req.params.get("with_counts") in ("1", "true", "True"):
            payload.update(approximate_member_count=2, approximate_presence_count=1)
        return 200, payload

    def _get_member(self, req: _Request) -> tuple[int, Any]:
        guild_id = self._guild(req)
        if req.match["user"] != self.bot_user_id:
            raise _ApiError(404, 10007, "Unknown Member")
        (me,) = self._guild_create_payload(guild_id)["members"]
        return 200, me

    def _get_active_threads(self, req: _Request) -> tuple[int, Any]:
        """The guild's threads that are not archived and that the bot can see, with the bot's thread members."""
        guild_id = self._guild(req)
        threads = [
            c
            for c in self.channels.values()
            if c.get("guild_id") == guild_id
            and c["type"] in _THREAD_TYPES
            and not (c.get("thread_metadata") or {}).get("archived")
            and self._permissions_in(c) & VIEW_CHANNEL
        ]
        members = [copy.deepcopy(t["member"]) for t in threads if isinstance(t.get("member"), dict)]
        return 200, {
            "threads": [{k: v for k, v in self._public(t).items() if k != "member"} for t in threads],
            "members": members,
        }

    # -- application commands

    def _command_scope(self, req: _Request) -> str | None:
        if req.match["app"] != self.app_id:
            raise _ApiError(403, 20012, "You are not authorized to perform this action on this application")
        guild_id = req.match["guild"]
        if guild_id is not None and guild_id not in self.guilds:
            raise _ApiError(403, 50001, "Missing Access")
        return guild_id

    def _get_commands(self, req: _Request) -> tuple[int, Any]:
        scope = self._command_scope(req)
        return 200, copy.deepcopy(self._commands.get(scope, []))

    def _put_commands(self, req: _Request) -> tuple[int, Any]:
        """Bulk overwrite: the list replaces every command of the scope; a command keeps its id by name+type."""
        scope = self._command_scope(req)
        payload = req.json
        if not isinstance(payload, list):
            raise _form_error(_field_error("LIST_TYPE_CONVERT", "Must be an array."))
        if len(payload) > 100:
            raise _form_error(_field_error("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."))
        errors: JSON = {}
        seen: set[tuple[int, str]] = set()
        for i, command in enumerate(payload):
            problem = self._command_errors(command)
            if problem is None:
                key = (int(command.get("type", 1)), command["name"])
                if key in seen:
                    problem = _field_error(
                        "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Application command names must be unique: {key[1]}"
                    )
                seen.add(key)
            if problem is not None:
                errors[str(i)] = problem
        if errors:
            raise _form_error(errors)
        old = {(int(c.get("type", 1)), c["name"]): c for c in self._commands.get(scope, [])}
        stored: list[JSON] = []
        for command in payload:
            ctype = int(command.get("type", 1))
            previous = old.get((ctype, command["name"]))
            record: JSON = {
                "id": previous["id"] if previous else self._snowflake(),
                "application_id": self.app_id,
                "version": self._snowflake(),
                "type": ctype,
                "name": command["name"],
                "name_localizations": command.get("name_localizations"),
                "description": command.get("description", ""),
                "description_localizations": command.get("description_localizations"),
                "options": copy.deepcopy(command.get("options") or []),
                "default_member_permissions": (
                    None
                    if command.get("default_member_permissions") is None
                    else str(command["default_member_permissions"])
                ),  # Discord answers the bit set as a string
                "dm_permission": command.get("dm_permission", True),
                "nsfw": bool(command.get("nsfw", False)),
                "integration_types": command.get("integration_types") or [0],
                "contexts": command.get("contexts"),
            }
            if scope is not None:
                record["guild_id"] = scope
            stored.append(record)
        self._commands[scope] = stored
        self._cond.notify_all()
        return 200, copy.deepcopy(stored)

    def _command_errors(self, command: Any) -> JSON | None:
        if not isinstance(command, dict):
            return _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")
        ctype = int(command.get("type", 1))
        name = command.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            return {"name": _field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")}
        if ctype == 1:
            if name != name.lower():
                return {"name": _field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")}
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                return {"description": _field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")}
        return self._options_errors(command.get("options") or [])

    def _options_errors(self, options: Any) -> JSON | None:
        if not isinstance(options, list):
            return {"options": _field_error("LIST_TYPE_CONVERT", "Must be an array.")}
        if len(options) > 25:
            return {"options": _field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}
        optional_seen = False
        for j, option in enumerate(options):
            if not isinstance(option, dict):
                return {"options": {str(j): _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")}}
            name = option.get("name")
            if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
                return {"options": {str(j): {"name": _field_error("APPLICATION_COMMAND_INVALID_NAME", "Invalid")}}}
            description = option.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                return {
                    "options": {
                        str(j): {"description": _field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")}
                    }
                }
            if len(option.get("choices") or []) > 25:
                return {"options": {str(j): {"choices": _field_error("BASE_TYPE_MAX_LENGTH", "25 or fewer.")}}}
            if option.get("type") in (1, 2):
                nested = self._options_errors(option.get("options") or [])
                if nested is not None:
                    return {"options": {str(j): nested}}
                continue
            if option.get("required"):
                if optional_seen:
                    return {
                        "options": {
                            str(j): {
                                "required": _field_error(
                                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                    "Required options must be placed before non-required options",
                                )
                            }
                        }
                    }
            else:
                optional_seen = True
        return None

    # -- channels and messages

    def _get_channel(self, req: _Request) -> tuple[int, Any]:
        return 200, self._public(self._visible_channel(req.match["channel"]))

    def _get_messages(self, req: _Request) -> tuple[int, Any]:
        cid = req.match["channel"]
        channel = self._visible_channel(cid)
        try:
            limit = int(req.params.get("limit", 50))
        except ValueError:
            raise _form_error({"limit": _field_error("NUMBER_TYPE_COERCE", "Value is not int.")}) from None
        if not 1 <= limit <= 100:
            raise _form_error({"limit": _field_error("NUMBER_TYPE_MAX", "int value should be between 1 and 100.")})
        history = self._messages.get(cid, [])  # oldest first
        if not self._permissions_in(channel) & READ_MESSAGE_HISTORY:
            history = []  # Discord: "no messages will be returned" (and no error)
        before, after, around = (self._snowflake_param(req, k) for k in ("before", "after", "around"))
        if around is not None:
            pivot = around
            older = [m for m in history if int(m["id"]) <= pivot][-((limit + 1) // 2) :]
            newer = [m for m in history if int(m["id"]) > pivot][: limit // 2]
            chosen = older + newer
        elif after is not None:
            chosen = [m for m in history if int(m["id"]) > after][:limit]  # the oldest after it
        else:
            candidates = [m for m in history if before is None or int(m["id"]) < before]
            chosen = candidates[-limit:]  # the newest (before it)
        return 200, [self._public(m) for m in reversed(chosen)]  # newest first, as Discord answers

    @staticmethod
    def _snowflake_param(req: _Request, name: str) -> int | None:
        value = req.params.get(name)
        if value is None:
            return None
        if _snowflake_str(value) is None:
            raise _form_error({name: _field_error("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')})
        return int(value)

    def _post_message(self, req: _Request) -> tuple[int, Any]:
        cid = req.match["channel"]
        channel = self._channel_for_post(cid)
        if channel["type"] in (GUILD_FORUM, GUILD_MEDIA):
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        body = req.json
        self._validate_message(body, files=len(req.files))
        assert isinstance(body, dict)
        nonce = body.get("nonce")
        now = self._mono()
        if nonce is not None and body.get("enforce_nonce"):
            key = (self.bot_user_id, str(nonce))
            seen = self._nonces.get(key)
            if seen is not None and now - seen[0] <= self.nonce_window and seen[1] in self._message_index:
                return 200, self._public(self._message_index[seen[1]])  # documented: returned, nothing created
        referenced = self._referenced(cid, body.get("message_reference"))
        message = self._new_message(cid, body, author=self._bot_user(), files=req.files)
        if referenced is not None:  # a reply (type 19), pointing at the message it answers
            message["type"] = MESSAGE_REPLY
            message["message_reference"] = {
                "type": 0,
                "message_id": referenced["id"],
                "channel_id": referenced["channel_id"],
                **({"guild_id": referenced["guild_id"]} if referenced.get("guild_id") else {}),
            }
            message["referenced_message"] = self._public(referenced)
        if body.get("enforce_nonce"):
            message["enforce_nonce"] = True
        if channel["type"] in _THREAD_TYPES:
            channel["message_count"] = int(channel.get("message_count", 0)) + 1
            channel["total_message_sent"] = int(channel.get("total_message_sent", 0)) + 1
            message["position"] = channel["total_message_sent"]
        self._store_message(message)
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(self.bot_user_id, str(nonce))] = (now, message["id"])
        req.dispatches.append(("MESSAGE_CREATE", {**self._public(message), "member": self._bot_member_partial()}))
        return 200, self._public(message)

    def _referenced(self, channel_id: str, reference: Any) -> JSON | None:
        """The message a create-message body's ``message_reference`` replies to, as documented: ``message_id``
        of a message in this channel (``channel_id``, when given, must be this one); unknown, it is a form error
        (``MESSAGE_REFERENCE_UNKNOWN_MESSAGE``) unless ``fail_if_not_exists`` is false, when the message is sent
        as a plain one. ``None`` without a reference."""
        if reference is None:
            return None
        if not isinstance(reference, dict) or _snowflake_str(str(reference.get("message_id", ""))) is None:
            raise _form_error(
                {"message_reference": _field_error("MODEL_TYPE_CONVERT", "Only dictionaries with a message_id.")}
            )
        if reference.get("channel_id") is not None and str(reference["channel_id"]) != channel_id:
            raise _form_error(
                {"message_reference": _field_error("MESSAGE_REFERENCE_INVALID_CHANNEL", "Invalid channel.")}
            )
        found = self._message_index.get(str(reference["message_id"]))
        if found is None or found["channel_id"] != channel_id or found.get("flags", 0) & FLAG_EPHEMERAL:
            if reference.get("fail_if_not_exists", True) is False:
                return None
            raise _form_error(
                {"message_reference": _field_error("MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")}
            )
        return found

    def _bot_member_partial(self) -> JSON:
        return {"roles": [], "joined_at": self._now_iso(), "deaf": False, "mute": False, "flags": 0}

    def _get_message(self, req: _Request) -> tuple[int, Any]:
        if not self._permissions_in(self._visible_channel(req.match["channel"])) & READ_MESSAGE_HISTORY:
            raise _ApiError(403, 50001, "Missing Access")
        message = self._find_message(req.match["channel"], req.match["message"])
        return 200, self._public(message)

    def _find_message(self, channel_id: str, message_id: str) -> JSON:
        self._visible_channel(channel_id)
        message = self._message_index.get(message_id)
        if message is None or message["channel_id"] != channel_id or message.get("flags", 0) & FLAG_EPHEMERAL:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _patch_message(self, req: _Request) -> tuple[int, Any]:
        message = self._find_message(req.match["channel"], req.match["message"])
        if message["author"]["id"] != self.bot_user_id:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = req.json if isinstance(req.json, dict) else {}
        self._apply_edit(message, body, req.files)
        req.dispatches.append(("MESSAGE_UPDATE", self._public(message)))
        return 200, self._public(message)

    def _apply_edit(self, message: JSON, body: JSON, files: Sequence[tuple[str, int]] = ()) -> None:
        merged = {k: message.get(k) for k in ("content", "embeds", "components")}
        merged.update({k: v for k, v in body.items() if k in ("content", "embeds", "components", "allowed_mentions")})
        self._validate_message(merged, files=len(files) + len(message.get("attachments") or []))
        message["attachments"] = list(message.get("attachments") or []) + [
            self._attachment(message["channel_id"], name, size) for name, size in files
        ]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = copy.deepcopy(body[key]) if body[key] is not None else ([] if key != "content" else "")
        if "allowed_mentions" in body:
            message["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        if "flags" in body and body["flags"] is not None:
            # a message's visibility is fixed when it is made: an edit cannot make it ephemeral or public
            message["flags"] = int(message.get("flags", 0)) | (int(body["flags"]) & ~FLAG_EPHEMERAL)
        message["flags"] = int(message.get("flags", 0)) & ~FLAG_LOADING
        mentions, roles, everyone = self._mentions(message["content"], message.get("allowed_mentions"))
        message.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        message["edited_timestamp"] = self._now_iso()
        self._cond.notify_all()

    def _delete_message(self, req: _Request) -> tuple[int, Any]:
        message = self._find_message(req.match["channel"], req.match["message"])
        self._remove_message(message)
        deleted = {"id": message["id"], "channel_id": message["channel_id"], "guild_id": message.get("guild_id")}
        req.dispatches.append(("MESSAGE_DELETE", deleted))
        return 204, None

    def _remove_message(self, message: JSON) -> None:
        history = self._messages.get(message["channel_id"], [])
        if message in history:
            history.remove(message)
        self._message_index.pop(message["id"], None)
        self._cond.notify_all()

    def _post_thread(self, req: _Request) -> tuple[int, Any]:
        """Start a thread; in a forum/media channel that is a post: the thread and its first message."""
        cid = req.match["channel"]
        parent = self._channel_for_post(cid)
        body = req.json if isinstance(req.json, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise _form_error({"name": _field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")})
        is_forum = parent["type"] in (GUILD_FORUM, GUILD_MEDIA)
        if is_forum:
            if "message" not in body:
                raise _form_error({"message": _field_error("BASE_TYPE_REQUIRED", "This field is required")})
            self._validate_message(body["message"], ["message"], files=len(req.files))
        elif parent["type"] in _THREAD_TYPES:
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        now = self._now_iso()
        tid = self._snowflake()
        thread: JSON = {
            "id": tid,
            "type": PUBLIC_THREAD if is_forum else int(body.get("type") or PRIVATE_THREAD),
            "guild_id": parent["guild_id"],
            "parent_id": cid,
            "owner_id": self.bot_user_id,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "flags": 0,
            "total_message_sent": 0,
            "applied_tags": [str(t) for t in body.get("applied_tags") or []],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 4320),
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "member": {"id": tid, "user_id": self.bot_user_id, "join_timestamp": now, "flags": 1},
        }
        self.channels[tid] = thread
        answer = self._public(thread)
        req.dispatches.append(("THREAD_CREATE", {**self._public(thread), "newly_created": True}))
        if is_forum:
            message = self._new_message(tid, body["message"], author=self._bot_user(), files=req.files)
            message["id"] = tid  # a forum post's starter message shares the thread's id
            message["position"] = 0
            self._store_message(message)
            thread.update(last_message_id=tid, message_count=1, total_message_sent=1)
            answer = {**self._public(thread), "message": self._public(message)}
            req.dispatches.append(("MESSAGE_CREATE", {**self._public(message), "member": self._bot_member_partial()}))
        parent["last_message_id"] = tid
        return 201, answer

    def _post_typing(self, req: _Request) -> tuple[int, Any]:
        self._channel_for_post(req.match["channel"])
        return 204, None

    # -- interactions

    def _post_callback(self, req: _Request) -> tuple[int, Any]:
        handle = self._interactions.get(req.match["id"])
        if handle is None or handle.token != req.match["token"]:
            raise _ApiError(404, 10062, "Unknown interaction")
        if handle._callback is not None:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        if handle.sent_at is None or req.at - handle.sent_at > self.interaction_ack_deadline:
            raise _ApiError(404, 10062, "Unknown interaction")
        body = req.json if isinstance(req.json, dict) else {}
        ctype = body.get("type")
        allowed = {2: (4, 5, 9, 12), 4: (8,)}.get(handle.type, (1, 4, 5, 6, 7, 9))
        if ctype not in allowed:
            raise _form_error(
                {"type": _field_error("INTERACTION_RESPONSE_TYPE_INVALID", "Value must be one of the allowed types.")}
            )
        data = body.get("data")
        data = data if isinstance(data, dict) else None
        if ctype == 4:
            self._validate_message(data or {}, ["data"], files=len(req.files))
        if ctype == 8:
            self._validate_choices((data or {}).get("choices"))
        channel_id = handle.payload["channel_id"]
        message: JSON | None = None
        if ctype in (4, 5):
            if ctype == 4:
                source = data or {}
            else:
                source = {"content": "", "flags": (data or {}).get("flags", 0)}
            message = self._new_message(
                channel_id, source, author=self._bot_user(), mtype=20, files=req.files if ctype == 4 else ()
            )
            if ctype == 5:
                message["flags"] = int(message["flags"]) | FLAG_LOADING
            message.update(
                webhook_id=self.app_id,
                application_id=self.app_id,
                interaction_metadata={
                    "id": handle.id,
                    "type": handle.type,
                    "user": handle.payload["member"]["user"],
                    "authorizing_integration_owners": handle.payload["authorizing_integration_owners"],
                },
            )
            handle._original = message
            self._store_message(message)
        handle._callback = Callback(int(ctype), copy.deepcopy(data), req.at, dict(req.params))
        self._cond.notify_all()
        if req.params.get("with_response") not in ("1", "true", "True"):
            return 204, None
        response: JSON = {"interaction": {"id": handle.id, "type": handle.type}}
        if message is not None:
            response["interaction"].update(
                response_message_id=message["id"],
                response_message_loading=ctype == 5,
                response_message_ephemeral=bool(message["flags"] & FLAG_EPHEMERAL),
            )
        resource: JSON = {"type": ctype}
        if message is not None:
            resource["message"] = self._public(message)
        response["resource"] = resource
        return 200, response

    @staticmethod
    def _validate_choices(choices: Any) -> None:
        """Autocomplete results as Discord checks them: at most 25 choices, each a name of 1 to 100 characters
        and a value (a string of at most 100 characters, or a number)."""
        if not isinstance(choices, list) or len(choices) > _MAX_CHOICES:
            raise _form_error(_nest(["data", "choices"], _field_error("BASE_TYPE_MAX_LENGTH", "25 or fewer.")))
        for i, choice in enumerate(choices):
            name = choice.get("name") if isinstance(choice, dict) else None
            value = choice.get("value") if isinstance(choice, dict) else None
            if not isinstance(name, str) or not 1 <= len(name) <= _MAX_CHOICE_TEXT:
                raise _form_error(
                    _nest(
                        ["data", "choices", i, "name"],
                        _field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
                    )
                )
            if isinstance(value, str) and len(value) > _MAX_CHOICE_TEXT:
                raise _form_error(
                    _nest(
                        ["data", "choices", i, "value"],
                        _field_error("BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."),
                    )
                )
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise _form_error(
                    _nest(["data", "choices", i, "value"], _field_error("BASE_TYPE_REQUIRED", "This field is required"))
                )

    def _webhook_interaction(self, req: _Request) -> Interaction:
        handle = self._interactions_by_token.get(req.match["token"])
        if req.match["app"] != self.app_id or handle is None or handle._callback is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        return handle

    def _post_followup(self, req: _Request) -> tuple[int, Any]:
        handle = self._webhook_interaction(req)
        body = req.json if isinstance(req.json, dict) else {}
        self._validate_message(body, files=len(req.files))
        original = handle._original
        if original is not None and original["flags"] & FLAG_LOADING:
            # The first followup after a deferred response is that response (its "thinking" message), edited:
            # Discord ignores the followup's ephemeral flag there and keeps the deferral's visibility.
            self._apply_edit(original, body, req.files)
            message = original
        else:
            message = self._new_message(handle.payload["channel_id"], body, author=self._bot_user(), files=req.files)
            message.update(webhook_id=self.app_id, application_id=self.app_id)
            self._store_message(message)
        handle._followups.append(
            WebhookPost(
                "followup", copy.deepcopy(body), dict(req.params), req.at, message["id"], int(message.get("flags", 0))
            )
        )
        self._cond.notify_all()
        if req.params.get("wait") in ("1", "true", "True"):
            return 200, self._public(message)
        return 204, None

    def _webhook_message(self, req: _Request) -> tuple[int, Any]:
        handle = self._webhook_interaction(req)
        wanted = req.match["message"]
        if wanted == "@original":
            message = handle._original
        else:
            message = self._message_index.get(wanted)
            if message is not None and message.get("webhook_id") != self.app_id:
                message = None
        if message is None:
            raise _ApiError(404, 10008, "Unknown Message")
        if req.method == "GET":
            return 200, self._public(message)
        if req.method == "DELETE":
            self._remove_message(message)
            if message is handle._original:
                handle._original = None
            return 204, None
        body = req.json if isinstance(req.json, dict) else {}
        self._apply_edit(message, body, req.files)
        handle._edits.append(
            WebhookPost(
                "edit", copy.deepcopy(body), dict(req.params), req.at, message["id"], int(message.get("flags", 0))
            )
        )
        self._cond.notify_all()
        return 200, self._public(message)

    # ---------------------------------------------------------------- gateway

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=1.0, autoping=True)
        await ws.prepare(request)
        query = dict(request.query)
        compressor = None
        if self.compress_gateway and query.get("compress") == "zlib-stream":
            compressor = zlib.compressobj()
        with self._cond:
            self._connections_opened += 1
            conn = _GatewayConn(
                number=self._connections_opened,
                ws=ws,
                transport=request.transport,
                path=request.path,
                query=query,
                opened_at=time.monotonic(),
                lock=asyncio.Lock(),
                compressor=compressor,
            )
            self._conns.append(conn)
            self._cond.notify_all()
        try:
            hello = {
                "op": Op.HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ['["fake-gateway",{"micros":0}]']},
                "s": None,
                "t": None,
            }
            async with conn.lock:
                await self._send_frame(conn, hello)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_gateway_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._close_conn(conn, 4002, "Decode error")
        except (ConnectionError, RuntimeError):
            pass
        finally:
            with self._cond:
                conn.closed = True
                conn.ready = False
                conn.close_code = ws.close_code
                if conn in self._conns:
                    self._conns.remove(conn)
                session = conn.session
                if session is not None and session.conn is conn:
                    session.conn = None
                    # a client closing with 1000/1001 ends its session (it cannot be resumed)
                    if not conn.closed_by_server and ws.close_code in (1000, 1001):
                        session.valid = False
                self._cond.notify_all()
        return ws

    async def _send_frame(self, conn: _GatewayConn, frame: JSON) -> bool:
        """Write one frame (caller holds ``conn.lock``); False when the connection is gone."""
        if conn.closed or conn.ws.closed:
            return False
        text = json.dumps(frame, separators=(",", ":"))
        try:
            if conn.compressor is not None:
                data = conn.compressor.compress(text.encode()) + conn.compressor.flush(zlib.Z_SYNC_FLUSH)
                await conn.ws.send_bytes(data)
            else:
                await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return False
        now = time.monotonic()
        record = Frame("out", frame.get("op"), frame.get("d"), frame.get("s"), frame.get("t"), now, conn.number)
        with self._cond:
            self._sent_frames.append(record)
            self._cond.notify_all()
        return True

    async def _close_conn(self, conn: _GatewayConn, code: int, reason: str) -> None:
        conn.closed_by_server = True
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(conn.ws.close(code=code, message=reason.encode()), 2.0)

    async def _on_gateway_text(self, conn: _GatewayConn, text: str) -> None:
        try:
            frame = json.loads(text)
            if not isinstance(frame, dict):
                raise ValueError("not an object")
        except ValueError:
            await self._close_conn(conn, 4002, "Decode error")
            return
        op = frame.get("op")
        record = Frame("in", op, frame.get("d"), frame.get("s"), frame.get("t"), time.monotonic(), conn.number)
        with self._cond:
            self._frames.append(record)
            self._cond.notify_all()
        data = frame.get("d")
        if op == Op.HEARTBEAT:
            if self.ack_heartbeats:
                async with conn.lock:
                    await self._send_frame(conn, {"op": Op.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == Op.IDENTIFY:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == Op.RESUME:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif op in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE, Op.REQUEST_GUILD_MEMBERS):
            if conn.session is None:
                await self._close_conn(conn, 4003, "Not authenticated.")
        else:
            await self._close_conn(conn, 4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str) or not token:
            return False
        token = token.removeprefix("Bot ")
        return self.valid_tokens is None or token in self.valid_tokens

    async def _identify(self, conn: _GatewayConn, data: JSON) -> None:
        if conn.session is not None:
            await self._close_conn(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await self._close_conn(conn, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool) or intents < 0:
            await self._close_conn(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await self._close_conn(conn, 4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and not _valid_shard(shard):
            await self._close_conn(conn, 4010, "Invalid shard.")
            return
        session = _Session(id=secrets.token_hex(16), intents=intents, shard=shard)
        async with conn.lock:
            with self._cond:
                self._sessions[session.id] = session
                self._session = session
                conn.session = session
                session.conn = conn
                guild_ids = [gid for gid in self.guilds if session.holds(gid)]
                ready: JSON = {
                    "v": 10,
                    "user": {**self._bot_user(), "flags": 0, "mfa_enabled": False, "verified": True, "email": None},
                    "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
                    "session_id": session.id,
                    "session_type": "normal",
                    "resume_gateway_url": self.resume_gateway_url,
                    "application": {"id": self.app_id, "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "geo_ordered_rtc_regions": ["fake"],
                    "user_settings": {},
                    "_trace": ['["fake-gateway",{"micros":0}]'],
                }
                if session.shard is not None:
                    ready["shard"] = session.shard
                frames = [self._stamp(session, "READY", ready)]
                if intents & INTENT_GUILDS:
                    frames += [self._stamp(session, "GUILD_CREATE", self._guild_create_payload(g)) for g in guild_ids]
            for frame in frames:
                if not await self._send_frame(conn, frame):
                    return
            with self._cond:
                conn.ready = True
                self._ready_count += 1
                self._cond.notify_all()

    async def _resume(self, conn: _GatewayConn, data: JSON) -> None:
        if conn.session is not None:
            await self._close_conn(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await self._close_conn(conn, 4004, "Authentication failed.")
            return
        seq = data.get("seq")
        async with conn.lock:
            with self._cond:
                session = self._sessions.get(str(data.get("session_id")))
                usable = session is not None and session.valid
                if session is not None and usable and isinstance(seq, int) and seq > session.seq:
                    bad_seq = True
                else:
                    bad_seq = False
                if session is not None and usable and not bad_seq:
                    after = seq if isinstance(seq, int) else 0
                    frames = [f for f in session.events if f["s"] > after]
                    frames.append(self._stamp(session, "RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']}))
                    conn.session = session
                    session.conn = conn
            if bad_seq:
                await self._close_conn(conn, 4007, "Invalid seq.")
                return
            if not usable:
                await self._send_frame(conn, {"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
                return
            for frame in frames:
                if not await self._send_frame(conn, frame):
                    return
            with self._cond:
                conn.ready = True
                self._resume_count += 1
                self._cond.notify_all()

    def _stamp(self, session: _Session, event: str, data: JSON) -> JSON:
        """Number a dispatch in its session and keep it for replay (caller holds the lock)."""
        session.seq += 1
        frame = {"op": Op.DISPATCH, "s": session.seq, "t": event, "d": data}
        session.events.append(frame)
        return frame

    def _session_for(self, event: str, data: JSON) -> _Session | None:
        """The newest valid session holding the event's guild (caller holds the lock): a sharded bot gets a
        guild's events on the shard holding it only, events of no guild on shard 0."""
        guild = data.get("id") if event.startswith("GUILD_") else data.get("guild_id")
        wanted = str(guild) if guild is not None else None
        for session in reversed(self._sessions.values()):
            if not session.valid:
                continue
            if wanted is not None and session.holds(wanted):
                return session
            if wanted is None and (session.shard is None or session.shard[0] == 0):
                return session
        return None

    async def _dispatch(self, event: str, data: JSON, handle: Interaction | None = None) -> int:
        with self._cond:
            session = self._session_for(event, data)
            if session is None:
                raise RuntimeError(f"no gateway session to dispatch {event} on")
            frame = self._stamp(session, event, copy.deepcopy(data))
            conn = session.conn
            if handle is not None:
                handle.sent_at = time.monotonic()
        if conn is not None:
            async with conn.lock:
                await self._send_frame(conn, frame)
        return int(frame["s"])

    async def _dispatch_if_session(self, event: str, data: JSON, intent: int) -> None:
        with self._cond:
            session = self._session_for(event, data)
            if session is None or not session.intents & intent:
                return
        await self._dispatch(event, data)

    async def _broadcast_op(self, frame: JSON) -> int:
        with self._cond:
            conns = [c for c in self._conns if not c.closed]
        for conn in conns:
            async with conn.lock:
                await self._send_frame(conn, frame)
        return len(conns)

    async def _close_connections(self, code: int, *, abrupt: bool) -> int:
        with self._cond:
            conns = list(self._conns)
            for conn in conns:
                conn.closed_by_server = True
                conn.ready = False
            self._cond.notify_all()
        for conn in conns:
            if abrupt and conn.transport is not None:
                conn.transport.abort()
            else:
                await self._close_conn(conn, code, "fake discord closing")
        return len(conns)
