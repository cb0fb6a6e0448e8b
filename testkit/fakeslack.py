"""A loopback fake of slack.com that the real ``slack_sdk`` / ``slack_bolt`` clients can talk to.

Usage::

    with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        ...                                     # Web API: POST/GET {api_url}<method>
        handler = AsyncSocketModeHandler(app, "xapp-test")   # app's client uses base_url=slack.api_url
        await handler.connect_async()           # apps.connections.open -> ws://127.0.0.1:PORT/link/?ticket=...
        env = await slack.slash_command_async("top stories")   # or slack.slash_command(...) from a plain thread
        assert env.acked
        [resp] = await slack.wait_responses_async(1)          # what the app posted to the response_url
        assert resp.text == "pong"

The server is an aiohttp application running in its own thread with its own event loop, bound to 127.0.0.1 on a
free port, so it serves sync tests, async tests (whose loop is another one) and subprocesses alike. Everything it
records (``calls``, ``responses``, ``envelopes``, ``frames``, channel messages) is kept under one lock and handed out
as snapshots; the blocking helpers wait on conditions with timeouts, never by sleeping.

Blocking helpers (``slash_command``, ``wait_connected``, ``wait_responses``, ...) block the calling thread. Called
from a coroutine whose event loop also runs the app under test they would starve the app: there, use the ``*_async``
twins, which run the blocking helper in a worker thread.

Wire formats follow Slack's documentation: Web API answers ``{"ok": true, ...}`` / ``{"ok": false, "error": ...}``
(HTTP 200), the details of an ``invalid_blocks`` in ``response_metadata.messages`` as ``[ERROR] ...`` lines (an
empty text is refused too: "must be more than 0 characters"); rate limits are HTTP 429 with ``Retry-After``;
Socket Mode greets with a ``hello`` frame, sends envelopes ``{"envelope_id", "type", "payload",
"accepts_response_payload"}`` and expects ``{"envelope_id", "payload"?}`` acknowledgements; ``response_url`` takes
JSON posts and answers ``ok``; HTTP-mode requests are signed with the v0 scheme (``sign``); Slack's SSL check is
an unsigned form ``ssl_check=1`` (``ssl_check_form``).

Many workspaces (OAuth): ``add_team`` makes another workspace with its own bot user and bot token; the authorize
page ``GET /oauth/v2/authorize`` (``authorize_url``) approves at once for ``installing_team`` (or the ``team``
query parameter) and redirects to ``redirect_uri`` with a one-time code and the app's state; ``oauth.v2.access``
(client id and secret as HTTP basic auth, as slack_sdk sends them) trades the code for that workspace's bot token.
Calls made with a workspace's token are answered as that workspace (``auth.test``, the author of posts).
``event_body`` is an HTTP-mode Events API request (e.g. ``app_uninstalled``).

Channels and membership: the bot is a member of every channel unless ``leave_channel`` says otherwise. A public
channel it is not in takes its posts only with the ``chat:write.public`` scope, never shows it its history
(``not_in_channel`` on ``conversations.history``: "may post but may not read"), and can be joined with
``conversations.join`` given ``channels:join``; a private one is ``channel_not_found`` to it and cannot be joined.
Faults (``fail_next``) can be carried out before the answer goes wrong (``applied``) and can drop the connection
instead of answering (``drop``): the client sees the connection close after Slack acted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from testkit.loopback import LoopbackAioServer

__all__ = [
    "Call",
    "Envelope",
    "FakeSlack",
    "Gate",
    "Response",
    "sign",
    "signed_headers",
]

JSON = dict[str, Any]

_MAX_BLOCKS = 50
_MAX_TEXT = 40_000
_RESPONSE_URL_USES = 5  # Slack: a response_url may be used up to 5 times (within 30 minutes).


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Call:
    """One Web API request the fake received (recorded whatever it answered)."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() on arrival
    http_method: str = "POST"
    content_type: str = ""
    status: int = 200  # HTTP status answered
    error: str | None = None  # the "error" of an {"ok": false} answer


@dataclass(frozen=True)
class Response:
    """One post to a response_url."""

    response_id: str
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival
    envelope_id: str | None = None  # the Socket Mode envelope whose payload carried this response_url

    @property
    def text(self) -> str | None:
        value = self.body.get("text")
        return value if isinstance(value, str) else None

    @property
    def blocks(self) -> list[Any] | None:
        value = self.body.get("blocks")
        return value if isinstance(value, list) else None

    @property
    def response_type(self) -> str:
        """``ephemeral`` unless the app said ``in_channel`` (Slack's default)."""
        value = self.body.get("response_type")
        return value if isinstance(value, str) else "ephemeral"


@dataclass
class Envelope:
    """A Socket Mode envelope sent to the app, and the app's acknowledgement once it arrives."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    response_id: str | None = None
    response_url: str | None = None
    sent_at: float | None = None  # time.monotonic() when written to the websocket
    acked_at: float | None = None  # time.monotonic() when the ack frame arrived
    ack: dict[str, Any] | None = None  # the whole ack frame
    _acked: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def acked(self) -> bool:
        return self._acked.is_set()

    @property
    def ack_payload(self) -> dict[str, Any] | None:
        """The ``payload`` of the ack frame (None for a bare ``{"envelope_id": ...}`` ack)."""
        if self.ack is None:
            return None
        payload = self.ack.get("payload")
        return payload if isinstance(payload, dict) else None

    @property
    def ack_latency(self) -> float | None:
        if self.acked_at is None or self.sent_at is None:
            return None
        return self.acked_at - self.sent_at

    def wait_acked(self, timeout: float = 5.0) -> bool:
        return self._acked.wait(timeout)

    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            frame["retry_attempt"] = 0
            frame["retry_reason"] = ""
        return frame


class Gate:
    """Holds Web API calls to one method until released (deterministic "Slack is slow" tests).

    ``arrived`` counts held calls; ``wait_arrived(n)`` blocks until n calls are being (or were) held.
    """

    def __init__(self, method: str) -> None:
        self.method = method
        self._cond = threading.Condition()
        self._arrived = 0
        self._released = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def arrived(self) -> int:
        with self._cond:
            return self._arrived

    def wait_arrived(self, n: int = 1, timeout: float = 5.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._arrived >= n, timeout):
                raise TimeoutError(f"{self._arrived} call(s) to {self.method} arrived, waited for {n}")

    def release(self) -> None:
        with self._cond:
            self._released = True
            loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def _hold(self) -> None:
        with self._cond:
            self._arrived += 1
            self._cond.notify_all()
            if self._released:
                return
            if self._event is None:
                self._loop = asyncio.get_running_loop()
                self._event = asyncio.Event()
            event = self._event
        await event.wait()


@dataclass
class _Fault:
    status: int
    error: str
    retry_after: int | None
    times: int
    after: int = 0  # calls answered normally before the fault starts
    applied: bool = False  # carry the call out, then answer the error (the answer was lost, not the call)
    drop: bool = False  # close the connection instead of answering


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    number: int
    ticket: str
    opened_at: float


@dataclass
class _ResponseUrl:
    envelope_id: str | None
    uses: int = 0


class _ApiError(Exception):
    def __init__(self, error: str, *, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []  # response_metadata.messages: "[ERROR] ..." lines
        self.extra = extra


# --------------------------------------------------------------------------------------------------
# HTTP-mode helpers


def sign(signing_secret: str, timestamp: int, body: bytes) -> str:
    """Slack's v0 request signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` (X-Slack-Signature)."""
    base = b"v0:" + str(int(timestamp)).encode("ascii") + b":" + body
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(
    signing_secret: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """The headers Slack sends with an HTTP-mode request: timestamp, signature and content type."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(signing_secret, ts, body),
    }


# --------------------------------------------------------------------------------------------------
# Small parsing helpers


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in ("1", "true", "yes")


def _ts_value(value: Any, error: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _ApiError(error) from None


def _maybe_json(value: Any, error: str) -> Any:
    """Form-encoded bodies carry blocks/metadata/attachments as JSON strings; JSON bodies as values."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise _ApiError(error) from None
    return value


def _text_len(obj: Any) -> int:
    if isinstance(obj, dict):
        text = obj.get("text")
        return len(text) if isinstance(text, str) else 0
    return 0


def _empty_text(obj: Any) -> bool:
    """A text object whose ``text`` is missing or empty (Slack: "must be more than 0 characters")."""
    return isinstance(obj, dict) and not (isinstance(obj.get("text"), str) and obj["text"])


def _block_errors(blocks: Any) -> list[str]:
    """The documented Block Kit limits a briefing is most likely to hit (not a full schema check)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    errors: list[str] = []
    if len(blocks) > _MAX_BLOCKS:
        errors.append(f"no more than {_MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type {where}")
            continue
        kind = block["type"]
        too_short = f"must be more than 0 characters [json-pointer:/blocks/{i}/text/text]"
        if kind == "section":
            fields = block.get("fields")
            if "text" not in block and not fields:
                errors.append(f"must provide text or fields {where}")
            elif "text" in block and _empty_text(block["text"]):
                errors.append(too_short)
            if _text_len(block.get("text")) > 3000:
                errors.append(f"must be less than 3001 characters [json-pointer:/blocks/{i}/text/text]")
            if isinstance(fields, list):
                if len(fields) > 10:
                    errors.append(f"no more than 10 items allowed [json-pointer:/blocks/{i}/fields]")
                for j, f in enumerate(fields):
                    if _text_len(f) > 2000:
                        errors.append(f"must be less than 2001 characters [json-pointer:/blocks/{i}/fields/{j}/text]")
        elif kind == "header":
            if _empty_text(block.get("text")):
                errors.append(too_short)
            if _text_len(block.get("text")) > 150:
                errors.append(f"must be less than 151 characters [json-pointer:/blocks/{i}/text/text]")
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errors.append(f"must have between 1 and 10 elements [json-pointer:/blocks/{i}/elements]")
            else:
                for j, element in enumerate(elements):
                    if element.get("type") != "image" and _empty_text(element):
                        errors.append(f"must be more than 0 characters [json-pointer:/blocks/{i}/elements/{j}/text]")
    return errors


# --------------------------------------------------------------------------------------------------
# The fake


class FakeSlack(LoopbackAioServer):
    """A loopback stand-in for slack.com: Web API, Socket Mode, response_url.

    Configuration (plain attributes, set them before the app acts):

    * ``valid_tokens`` — bot/user tokens the Web API accepts; ``None`` (default) accepts any ``xoxb-`` token.
    * ``valid_app_tokens`` — app-level tokens for ``apps.connections.open``; ``None`` accepts any ``xapp-`` token.
    * ``channels`` — known channel ids; ``None`` (default) means every channel exists.
    * ``users`` — ``users.info`` data by user id (partial dicts are completed with defaults); see ``add_user``.
    * ``scopes`` — what ``auth.test`` reports in its ``X-OAuth-Scopes`` header.
    * ``validate_blocks`` — reject blocks over Slack's documented limits with ``invalid_blocks``.
    * ``response_url_error`` — ``(status, body)`` every response_url post is refused with (e.g. ``(404,
      "expired_url")``); ``None`` (default) takes them.
    """

    def __init__(
        self,
        *,
        team_id: str = "T1",
        team: str = "Newsbrief Test",
        team_domain: str = "newsbrief-test",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "newsbrief",
        app_id: str = "A0NEWSBRIEF",
        ts_base: int = 1_700_000_000,
    ) -> None:
        super().__init__("FakeSlack")
        self.team_id = team_id
        self.team = team
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.verification_token = "fake-verification-token"
        self.valid_tokens: set[str] | None = None
        self.valid_app_tokens: set[str] | None = None
        self.channels: set[str] | None = None
        self.users: dict[str, dict[str, Any]] = {}
        self.scopes: list[str] = [
            "channels:history",
            "channels:join",
            "chat:write",
            "chat:write.public",
            "commands",
            "groups:history",
            "users:read",
        ]
        self.validate_blocks = True
        self.client_id = "1111.2222"
        self.client_secret = "fake-client-secret"
        self.redirect_uri: str | None = None  # where the authorize page sends the installer (the app's setting)
        self.installing_team: str = team_id
        self.authorize_requests: list[dict[str, str]] = []
        self._teams: dict[str, JSON] = {}  # team id -> {"team_id", "team", "bot_user_id", "bot_id", "token"}
        self._codes: dict[str, str] = {}  # unused OAuth code -> team id

        self._ts_base = ts_base
        self._ts_counter = itertools.count(1)
        self._ids = itertools.count(1)
        self._calls: list[Call] = []
        self._messages: dict[str, list[JSON]] = {}
        self._channel_errors: dict[str, str] = {}
        self._outside: set[str] = set()  # channels the bot is not a member of
        self._private: set[str] = set()
        self._ephemeral: dict[str, list[JSON]] = {}
        self.response_url_error: tuple[int, str] | None = None
        self._faults: dict[str, list[_Fault]] = {}
        self._gates: dict[str, Gate] = {}
        self._tickets: set[str] = set()
        self._conns: list[_Connection] = []
        self._connections_opened = 0
        self._envelopes: list[Envelope] = []
        self._pending: dict[str, Envelope] = {}
        self._frames: list[JSON] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._responses: list[Response] = []
        self._methods: dict[str, Callable[[dict[str, Any], str | None], tuple[JSON, dict[str, str]]]] = {
            "auth.test": self._auth_test,
            "oauth.v2.access": self._oauth_v2_access,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "conversations.history": self._conversations_history,
            "conversations.join": self._conversations_join,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
        }

    # ---------------------------------------------------------------- lifecycle

    def _before_stop(self) -> None:
        with self._cond:
            gates = list(self._gates.values())
        for gate in gates:
            gate.release()

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/api/{method}", self._handle_api)
        router.add_get("/link/", self._handle_link)
        router.add_post("/respond/{response_id}", self._handle_respond)
        router.add_get("/oauth/v2/authorize", self._handle_authorize)

    async def _shutdown(self) -> None:
        await self._close_connections(WSCloseCode.GOING_AWAY)
        await super()._shutdown()

    # ---------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/"

    @property
    def authorize_url(self) -> str:
        """Slack's OAuth authorize page of this fake (``[slack] authorize_url``)."""
        return f"http://127.0.0.1:{self._port}/oauth/v2/authorize"

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``AsyncWebClient``/``WebClient`` (ends with a slash)."""
        return f"http://127.0.0.1:{self._port}/api/"

    # ---------------------------------------------------------------- recorded state (snapshots)

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if c.method == method]

    @property
    def responses(self) -> list[Response]:
        with self._cond:
            return list(self._responses)

    def responses_for(self, envelope: Envelope) -> list[Response]:
        with self._cond:
            return [r for r in self._responses if r.response_id == envelope.response_id]

    @property
    def envelopes(self) -> list[Envelope]:
        with self._cond:
            return list(self._envelopes)

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Every text frame the apps sent over Socket Mode (acks included), parsed."""
        with self._cond:
            return list(self._frames)

    @property
    def connections(self) -> int:
        """Open Socket Mode connections."""
        with self._cond:
            return len(self._conns)

    @property
    def connections_opened(self) -> int:
        """Socket Mode connections accepted since start (reconnects count)."""
        with self._cond:
            return self._connections_opened

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages oldest first, replies included, metadata included (copies)."""
        with self._cond:
            return [json.loads(json.dumps(m)) for m in self._messages.get(channel, [])]

    def ephemerals(self, channel: str) -> list[dict[str, Any]]:
        """The ephemeral messages posted in a channel (``chat.postEphemeral``: not in its history), oldest first."""
        with self._cond:
            return [json.loads(json.dumps(m)) for m in self._ephemeral.get(channel, [])]

    def is_member(self, channel: str) -> bool:
        with self._cond:
            return channel not in self._outside

    # ---------------------------------------------------------------- configuration helpers

    def add_user(
        self, user_id: str, name: str, *, is_admin: bool = False, is_owner: bool = False, **extra: Any
    ) -> None:
        with self._cond:
            self.users[user_id] = {"id": user_id, "name": name, "is_admin": is_admin, "is_owner": is_owner, **extra}

    def add_team(self, team_id: str, *, name: str | None = None) -> str:
        """Another workspace the app can be installed in, with its own bot user (``U<team>``), bot (``B<team>``)
        and bot token (returned; ``oauth.v2.access`` hands it out)."""
        token = f"xoxb-{team_id}-{secrets.token_hex(8)}"
        with self._cond:
            self._teams[team_id] = {
                "team_id": team_id,
                "team": name or f"Workspace {team_id}",
                "bot_user_id": f"U{team_id}BOT",
                "bot_id": f"B{team_id}",
                "token": token,
            }
        return token

    def team_token(self, team_id: str) -> str:
        """The bot token of a workspace made with ``add_team``."""
        with self._cond:
            return str(self._teams[team_id]["token"])

    def revoke_team(self, team_id: str) -> None:
        """The workspace uninstalled the app: its bot token is refused from now on (``token_revoked``)."""
        with self._cond:
            self._teams[team_id]["revoked"] = True

    def event_body(self, event: dict[str, Any], *, team_id: str | None = None) -> bytes:
        """The JSON body Slack POSTs to an HTTP-mode app for an Events API event; sign it with ``signed_headers``
        (``content_type="application/json"``)."""
        return json.dumps(self._event_payload(event, team_id or self.team_id)).encode("utf-8")

    def _event_payload(self, event: dict[str, Any], team: str) -> JSON:
        """An ``event_callback`` of ``team`` carrying ``event`` (authorized for that workspace's bot user)."""
        with self._cond:
            bot_user = self._teams.get(team, {}).get("bot_user_id", self.bot_user_id)
        return {
            "token": self.verification_token,
            "team_id": team,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    def _identity(self, token: str | None) -> JSON:
        """Who a token speaks for: a workspace of ``add_team``, else the default one."""
        for team in self._teams.values():
            if team["token"] == token:
                return team
        return {"team_id": self.team_id, "team": self.team, "bot_user_id": self.bot_user_id, "bot_id": self.bot_id}

    async def _handle_authorize(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        with self._cond:
            self.authorize_requests.append(query)
            team = query.get("team") or self.installing_team
            if query.get("client_id") != self.client_id or team not in self._teams:
                return web.Response(status=400, text="invalid_client_id or unknown team")
            code = f"code-{secrets.token_hex(8)}"
            self._codes[code] = team
        target = query.get("redirect_uri") or self.redirect_uri
        if not target:
            return web.Response(status=400, text="no redirect_uri")
        sep = "&" if "?" in target else "?"
        location = f"{target}{sep}{urllib.parse.urlencode({'code': code, 'state': query.get('state', '')})}"
        raise web.HTTPFound(location)

    def _oauth_v2_access(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            raise _ApiError("invalid_client")
        team_id = self._codes.pop(str(params.get("code") or ""), None)
        if team_id is None:
            raise _ApiError("invalid_code")
        team = self._teams[team_id]
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": "U1"},
            "scope": ",".join(self.scopes),
            "token_type": "bot",
            "access_token": team["token"],
            "bot_user_id": team["bot_user_id"],
            "team": {"id": team_id, "name": team["team"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }, {}

    def add_channel(self, channel: str) -> None:
        """Make ``channel`` known (turns ``channels`` from "everything exists" into an explicit set)."""
        with self._cond:
            if self.channels is None:
                self.channels = set()
            self.channels.add(channel)

    def mark_channel(self, channel: str, error: str | None) -> None:
        """Make posting to ``channel`` fail with ``not_in_channel`` / ``is_archived`` (None clears)."""
        if error not in (None, "not_in_channel", "is_archived"):
            raise ValueError(f"unsupported channel state {error!r}")
        with self._cond:
            if error is None:
                self._channel_errors.pop(channel, None)
            else:
                self._channel_errors[channel] = error

    def leave_channel(self, channel: str, *, private: bool = False) -> None:
        """The bot is not a member of ``channel`` (a public one unless ``private``): see the module's docstring."""
        with self._cond:
            self._outside.add(channel)
            if private:
                self._private.add(channel)

    def seed_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U1",
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        blocks: list[Any] | None = None,
    ) -> str:
        """Put a message in a channel's history as if a person had posted it; returns its ts."""
        message: JSON = {"type": "message", "user": user, "text": text, "team": self.team_id}
        if blocks is not None:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        with self._cond:
            return self._store(channel, message, thread_ts=thread_ts, broadcast=False)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        after: int = 0,
        applied: bool = False,
        drop: bool = False,
    ) -> None:
        """The next ``times`` calls to ``method`` ("*" = any) answer HTTP ``status`` with ``{"ok": false, "error"}``.

        With 429 (the default) a ``Retry-After: retry_after`` header is sent, as Slack does; use ``status=500``/
        ``503`` for server errors. ``after``: that many calls are answered normally first. ``applied``: the call
        is carried out (a message is stored) and only its answer is the error, as when Slack fails after acting.
        ``drop``: no answer at all, the connection is closed (with ``applied``, after Slack acted: the client
        sees a dropped connection for a message that was posted). Faults are consumed in the order they were added.
        """
        fault = _Fault(status, error, retry_after, times, after, applied, drop)
        with self._cond:
            self._faults.setdefault(method, []).append(fault)

    def drop_next(self, method: str, *, applied: bool = True, times: int = 1, after: int = 0) -> None:
        """The next ``times`` calls to ``method`` are carried out (unless not ``applied``), then the connection is
        closed without an answer (recorded with status 0)."""
        self.fail_next(
            method,
            "connection_dropped",
            status=0,
            retry_after=None,
            times=times,
            after=after,
            applied=applied,
            drop=True,
        )

    def error_next(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` ("*" = any) answer HTTP 200 ``{"ok": false, "error": error}``."""
        self.fail_next(method, error, status=200, retry_after=None, times=times)

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def hold(self, method: str) -> Gate:
        """Hold every call to ``method`` (before answering) until ``gate.release()``."""
        gate = Gate(method)
        with self._cond:
            self._gates[method] = gate
        return gate

    # ---------------------------------------------------------------- Socket Mode helpers (blocking)

    def wait_connected(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Block until at least ``count`` Socket Mode connections are open (each was sent ``hello``)."""
        self._wait_until(
            lambda: len(self._conns) >= count,
            timeout,
            lambda: f"{len(self._conns)} Socket Mode connection(s) open after {timeout} s, wanted {count}",
        )

    def wait_connections_opened(self, n: int, timeout: float = 5.0) -> None:
        """Block until ``n`` connections were accepted in total (e.g. 2 after a reconnect)."""
        self._wait_until(
            lambda: self._connections_opened >= n,
            timeout,
            lambda: f"{self._connections_opened} Socket Mode connection(s) opened, waited for {n}",
        )

    def drop_connections(self, timeout: float = 5.0) -> int:
        """Close every Socket Mode websocket from the server side (as a Slack restart does); returns how many."""
        return self._run(lambda: self._close_connections(WSCloseCode.GOING_AWAY), timeout)

    def request_disconnect(self, reason: str = "refresh_requested", timeout: float = 5.0) -> int:
        """Send Slack's ``disconnect`` message on every open connection (the client should reconnect)."""
        frame = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        return self._run(lambda: self._broadcast(frame), timeout)

    def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        response_id: str | None = None,
        timeout: float = 5.0,
    ) -> Envelope:
        """Send one envelope on the newest open connection (waiting for one) without waiting for the ack."""
        envelope = Envelope(
            envelope_id=str(uuid.uuid4()),
            type=type,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
            response_id=response_id,
            response_url=self._respond_url(response_id) if response_id else None,
        )
        with self._cond:
            self._envelopes.append(envelope)
            self._pending[envelope.envelope_id] = envelope
            if response_id is not None:
                self._response_urls[response_id] = _ResponseUrl(envelope.envelope_id)
        self.wait_connected(timeout)
        self._run(lambda: self._send_frame(envelope), timeout)
        return envelope

    def slash_command(
        self,
        text: str,
        *,
        command: str = "/brief",
        user_id: str = "U1",
        user_name: str = "ana",
        channel_id: str = "C1",
        channel_name: str = "general",
        team_id: str | None = None,
        timeout: float = 5.0,
    ) -> Envelope:
        """Send a ``slash_commands`` envelope and block until the app acks it (TimeoutError otherwise)."""
        deadline = time.monotonic() + timeout
        response_id = self._new_response_id()
        payload = self._slash_payload(
            text,
            command=command,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            team_id=team_id or self.team_id,
            response_url=self._respond_url(response_id),
        )
        envelope = self.send_envelope(
            "slash_commands", payload, accepts_response_payload=True, response_id=response_id, timeout=timeout
        )
        if not envelope.wait_acked(max(0.0, deadline - time.monotonic())):
            hint = ""
            try:
                asyncio.get_running_loop()
                hint = " (called from a running event loop: if the app runs on it, use slash_command_async)"
            except RuntimeError:
                pass
            raise TimeoutError(
                f"envelope {envelope.envelope_id} ({command} {text!r}) not acked within {timeout} s{hint}"
            )
        return envelope

    def event(self, event: dict[str, Any], *, team_id: str | None = None, timeout: float = 5.0) -> Envelope:
        """Send an ``events_api`` envelope (an ``event_callback`` carrying ``event``) and block until acked."""
        deadline = time.monotonic() + timeout
        payload = self._event_payload(event, team_id or self.team_id)
        envelope = self.send_envelope("events_api", payload, timeout=timeout)
        if not envelope.wait_acked(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"events_api envelope {envelope.envelope_id} not acked within {timeout} s")
        return envelope

    def wait_responses(self, n: int = 1, timeout: float = 5.0) -> list[Response]:
        """Block until at least ``n`` response_url posts arrived; returns all of them."""
        with self._cond:
            self._wait_until(
                lambda: len(self._responses) >= n,
                timeout,
                lambda: f"{len(self._responses)} response_url post(s) arrived, waited for {n}",
            )
            return list(self._responses)

    def wait_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least ``n`` calls to ``method`` were answered; returns them."""
        with self._cond:
            self._wait_until(
                lambda: len(self.calls_to(method)) >= n,
                timeout,
                lambda: f"{len(self.calls_to(method))} call(s) to {method}, waited for {n}",
            )
            return self.calls_to(method)

    # ---------------------------------------------------------------- async twins (run the blocking ones in a thread)

    async def wait_connected_async(self, timeout: float = 5.0, *, count: int = 1) -> None:
        await asyncio.to_thread(self.wait_connected, timeout, count=count)

    async def wait_connections_opened_async(self, n: int, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.wait_connections_opened, n, timeout)

    async def slash_command_async(self, text: str, **kwargs: Any) -> Envelope:
        return await asyncio.to_thread(lambda: self.slash_command(text, **kwargs))

    async def event_async(self, event: dict[str, Any], **kwargs: Any) -> Envelope:
        return await asyncio.to_thread(lambda: self.event(event, **kwargs))

    async def wait_responses_async(self, n: int = 1, timeout: float = 5.0) -> list[Response]:
        return await asyncio.to_thread(self.wait_responses, n, timeout)

    async def wait_calls_async(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        return await asyncio.to_thread(self.wait_calls, method, n, timeout)

    async def drop_connections_async(self, timeout: float = 5.0) -> int:
        return await asyncio.to_thread(self.drop_connections, timeout)

    # ---------------------------------------------------------------- HTTP mode

    def slash_command_form(
        self,
        text: str,
        *,
        command: str = "/brief",
        user_id: str = "U1",
        user_name: str = "ana",
        channel_id: str = "C1",
        channel_name: str = "general",
        team_id: str | None = None,
    ) -> bytes:
        """The form-encoded body Slack POSTs to an HTTP-mode app for a slash command.

        Its ``response_url`` points at this fake (posts show up in ``responses``). Sign it with ``signed_headers``.
        """
        response_id = self._new_response_id()
        with self._cond:
            self._response_urls[response_id] = _ResponseUrl(None)
        payload = self._slash_payload(
            text,
            command=command,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            team_id=team_id or self.team_id,
            response_url=self._respond_url(response_id),
        )
        return urllib.parse.urlencode(payload).encode("ascii")

    def ssl_check_form(self) -> bytes:
        """The unsigned form body of Slack's SSL check of an HTTP-mode request URL (answer it 200)."""
        return urllib.parse.urlencode({"ssl_check": "1", "token": self.verification_token}).encode("ascii")

    # ---------------------------------------------------------------- internals: ids and payloads

    def _new_response_id(self) -> str:
        return f"{self.team_id}-{next(self._ids)}-{secrets.token_hex(8)}"

    def _respond_url(self, response_id: str) -> str:
        return f"http://127.0.0.1:{self._port}/respond/{response_id}"

    def _slash_payload(
        self,
        text: str,
        *,
        command: str,
        user_id: str,
        user_name: str,
        channel_id: str,
        channel_name: str,
        team_id: str,
        response_url: str,
    ) -> dict[str, str]:
        n = next(self._ids)
        return {
            "token": self.verification_token,
            "team_id": team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{n}.{n * 7919}.{secrets.token_hex(16)}",
        }

    def _next_ts(self) -> str:
        n = next(self._ts_counter)
        return f"{self._ts_base + n // 10_000}.{(n % 10_000) * 100:06d}"

    def _store(self, channel: str, message: JSON, *, thread_ts: str | None, broadcast: bool) -> str:
        """Append a message (caller holds the lock); keeps Slack's thread bookkeeping on the parent."""
        ts = self._next_ts()
        message["ts"] = ts
        history = self._messages.setdefault(channel, [])
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            if broadcast:
                message["subtype"] = "thread_broadcast"
            for parent in history:
                if parent["ts"] == thread_ts:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
                    parent["latest_reply"] = ts
                    users = parent.setdefault("reply_users", [])
                    author = message.get("user")
                    if author and author not in users:
                        users.append(author)
                    parent["reply_users_count"] = len(users)
                    break
        history.append(message)
        return ts

    # ---------------------------------------------------------------- internals: Web API

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except json.JSONDecodeError:
                    raise _ApiError("invalid_json") from None
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json")
                params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                return fault
        return None

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if method == "oauth.v2.access":
            return None  # the app's client credentials, checked by the method
        if any(team["token"] == token and team.get("revoked") for team in self._teams.values()):
            return "token_revoked"
        if not token:
            return "not_authed"
        is_app = token.startswith("xapp-")
        if method == "apps.connections.open":
            if self.valid_app_tokens is not None:
                if token in self.valid_app_tokens:
                    return None
                return "invalid_auth" if is_app else "not_allowed_token_type"
            return None if is_app else "not_allowed_token_type"
        if self.valid_tokens is not None:
            return None if token in self.valid_tokens else ("not_allowed_token_type" if is_app else "invalid_auth")
        if token.startswith("xoxb-"):
            return None
        return "not_allowed_token_type" if is_app else "invalid_auth"

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        method = request.match_info["method"]
        status = 200
        headers: dict[str, str] = {}
        params: dict[str, Any] = {}
        token: str | None = None
        content_type = request.content_type if request.body_exists else ""
        try:
            params = await self._read_params(request)
            auth = request.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.startswith("Bearer ") else None
            if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
                params.setdefault("client_id", client_id)
                params.setdefault("client_secret", client_secret)
            form_token = params.pop("token", None)
            if token is None and isinstance(form_token, str):
                token = form_token
            with self._cond:
                gate = self._gates.get(method)
            if gate is not None:
                await gate._hold()
            with self._cond:
                fault = self._take_fault(method)
                if fault is not None and fault.applied and (handler := self._methods.get(method)) is not None:
                    with contextlib.suppress(_ApiError):
                        handler(params, token)
                if fault is not None and fault.drop:
                    self._calls.append(Call(method, params, token, at, request.method, content_type, 0, fault.error))
                    self._cond.notify_all()
                    if request.transport is not None:
                        request.transport.abort()  # the client sees the connection close, no answer
                    return web.Response()
                if fault is not None:
                    status = fault.status
                    body: JSON = {"ok": False, "error": fault.error}
                    if fault.retry_after is not None and status == 429:
                        headers["Retry-After"] = str(fault.retry_after)
                else:
                    handler = self._methods.get(method)
                    if handler is None:
                        body = {"ok": False, "error": "unknown_method", "req_method": method}
                    elif (error := self._auth_error(method, token)) is not None:
                        body = {"ok": False, "error": error}
                    else:
                        try:
                            body, headers = handler(params, token)
                        except _ApiError as exc:
                            body = {"ok": False, "error": exc.error, **exc.extra}
                            if exc.messages:
                                body["response_metadata"] = {"messages": list(exc.messages)}
        except _ApiError as exc:
            body = {"ok": False, "error": exc.error}
        error = body.get("error") if not body.get("ok") else None
        call = Call(
            method=method,
            params=params,
            token=token,
            at=at,
            http_method=request.method,
            content_type=content_type,
            status=status,
            error=error if isinstance(error, str) else None,
        )
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return web.json_response(body, status=status, headers=headers)

    def _channel_check(self, channel: Any, *, posting: bool, public_post: bool = False) -> str:
        """``channel`` when the bot may act there: post (``posting``; ``public_post``: chat.postMessage, which
        ``chat:write.public`` lets into a public channel the bot is not in) or read (not ``posting``)."""
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        if self.channels is not None and channel not in self.channels:
            raise _ApiError("channel_not_found")
        error = self._channel_errors.get(channel)
        if error == "not_in_channel" or (error == "is_archived" and posting):
            raise _ApiError(error)
        if channel in self._outside:
            if channel in self._private:
                raise _ApiError("channel_not_found")  # a private channel is invisible to a bot not in it
            if not (public_post and "chat:write.public" in self.scopes):
                raise _ApiError("not_in_channel")
        return channel

    def _auth_test(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        who = self._identity(token)
        body = {
            "ok": True,
            "url": self.url,
            "team": who["team"],
            "user": self.bot_name,
            "team_id": who["team_id"],
            "user_id": who["bot_user_id"],
            "bot_id": who["bot_id"],
            "is_enterprise_install": False,
        }
        return body, {"X-OAuth-Scopes": ",".join(self.scopes)}

    def _apps_connections_open(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://127.0.0.1:{self._port}/link/?ticket={ticket}&app_id={self.app_id}"}, {}

    def _chat_post_message(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        channel = self._channel_check(params.get("channel"), posting=True, public_post=True)
        message = self._message(params, token)
        thread_ts = params.get("thread_ts")
        ts = self._store(
            channel,
            message,
            thread_ts=str(thread_ts) if thread_ts else None,
            broadcast=_truthy(params.get("reply_broadcast")),
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": json.loads(json.dumps(message))}, {}

    def _chat_update(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        """chat.update as documented: the message ``ts`` of ``channel`` gets the new text, blocks (and metadata,
        when given); only the app's own messages (``cant_update_message``); ``message_not_found`` for an unknown
        ts. The message keeps its ts and thread, and is marked ``edited``."""
        channel = self._channel_check(params.get("channel"), posting=True)
        ts = params.get("ts")
        if not isinstance(ts, str) or not ts:
            raise _ApiError("message_not_found")
        target = next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)
        if target is None:
            raise _ApiError("message_not_found")
        who = self._identity(token)
        if target.get("bot_id") != who["bot_id"]:
            raise _ApiError("cant_update_message")
        update = self._message(params, token)
        for key in ("blocks", "attachments"):
            if key in update:
                target[key] = update[key]
            elif key in params:
                target.pop(key, None)
        target["text"] = update["text"]
        if "metadata" in update:
            target["metadata"] = update["metadata"]
        target["edited"] = {"user": who["bot_user_id"], "ts": self._next_ts()}
        body = {"ok": True, "channel": channel, "ts": ts, "text": target["text"]}
        body["message"] = json.loads(json.dumps(target))
        return body, {}

    def _chat_post_ephemeral(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        channel = self._channel_check(params.get("channel"), posting=True)  # no chat:write.public here
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_in_channel")
        message = self._message(params, token)
        message["user_shown"] = user
        message["ts"] = self._next_ts()
        self._ephemeral.setdefault(channel, []).append(message)
        return {"ok": True, "message_ts": message["ts"]}, {}

    def _conversations_join(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        channel = params.get("channel")
        if "channels:join" not in self.scopes:
            raise _ApiError("missing_scope", needed="channels:join", provided=",".join(self.scopes))
        if not isinstance(channel, str) or not channel or (self.channels is not None and channel not in self.channels):
            raise _ApiError("channel_not_found")
        if channel in self._private:
            raise _ApiError("method_not_supported_for_channel_type")
        if self._channel_errors.get(channel) == "is_archived":
            raise _ApiError("is_archived")
        info: JSON = {"id": channel, "is_channel": True, "is_private": False, "is_member": True}
        if channel not in self._outside:
            warning = "already_in_channel"
            return {"ok": True, "channel": info, "warning": warning, "response_metadata": {"warnings": [warning]}}, {}
        self._outside.discard(channel)
        if self._channel_errors.get(channel) == "not_in_channel":
            self._channel_errors.pop(channel)
        return {"ok": True, "channel": info}, {}

    def _message(self, params: dict[str, Any], token: str | None = None) -> JSON:
        """The message a chat.postMessage / chat.postEphemeral would post (validated; no ts yet)."""
        text = params.get("text")
        blocks = _maybe_json(params.get("blocks"), "invalid_blocks_format") if "blocks" in params else None
        attachments = _maybe_json(params.get("attachments"), "invalid_attachments") if "attachments" in params else None
        metadata = _maybe_json(params.get("metadata"), "invalid_metadata_format") if "metadata" in params else None
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > _MAX_TEXT:
            raise _ApiError("msg_too_long")
        if blocks is not None and self.validate_blocks and (errors := _block_errors(blocks)):
            raise _ApiError("invalid_blocks", messages=[f"[ERROR] {e}" for e in errors])
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise _ApiError("invalid_metadata_format")
        who = self._identity(token)
        message: JSON = {
            "type": "message",
            "user": who["bot_user_id"],
            "bot_id": who["bot_id"],
            "app_id": self.app_id,
            "team": who["team_id"],
            "text": text if isinstance(text, str) else "",
        }
        if blocks:
            message["blocks"] = blocks
        if attachments:
            message["attachments"] = attachments
        if metadata is not None:
            message["metadata"] = {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}
        return message

    def _public(self, message: JSON, include_metadata: bool) -> JSON:
        out: JSON = json.loads(json.dumps(message))
        if not include_metadata:
            out.pop("metadata", None)
        return out

    def _conversations_history(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        channel = self._channel_check(params.get("channel"), posting=False)
        inclusive = _truthy(params.get("inclusive"))
        oldest = _ts_value(params["oldest"], "invalid_ts_oldest") if params.get("oldest") not in (None, "") else None
        latest = _ts_value(params["latest"], "invalid_ts_latest") if params.get("latest") not in (None, "") else None
        try:
            limit = int(params.get("limit") or 100)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        limit = max(1, min(limit, 999))
        cursor_ts: Decimal | None = None
        if params.get("cursor"):
            try:
                decoded = base64.b64decode(str(params["cursor"])).decode("ascii")
                cursor_ts = Decimal(decoded.removeprefix("next_ts:"))
            except (ValueError, InvalidOperation):
                raise _ApiError("invalid_cursor") from None
        include_metadata = _truthy(params.get("include_all_metadata"))
        selected: list[JSON] = []
        for message in reversed(self._messages.get(channel, [])):
            if message.get("thread_ts") not in (None, message["ts"]) and message.get("subtype") != "thread_broadcast":
                continue  # thread replies live in conversations.replies, not in the history
            ts = Decimal(message["ts"])
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            if cursor_ts is not None and ts > cursor_ts:
                continue
            selected.append(message)
        page = selected[:limit]
        body: JSON = {
            "ok": True,
            "messages": [self._public(m, include_metadata) for m in page],
            "has_more": len(selected) > limit,
            "pin_count": 0,
        }
        if len(selected) > limit:
            next_ts = selected[limit]["ts"]
            body["response_metadata"] = {"next_cursor": base64.b64encode(f"next_ts:{next_ts}".encode()).decode()}
        return body, {}

    def _conversations_replies(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        channel = self._channel_check(params.get("channel"), posting=False)
        ts = params.get("ts")
        history = self._messages.get(channel, [])
        parent = next((m for m in history if m["ts"] == ts), None)
        if parent is None:
            raise _ApiError("thread_not_found")
        include_metadata = _truthy(params.get("include_all_metadata"))
        thread = [parent] + [m for m in history if m.get("thread_ts") == ts and m is not parent]
        return {
            "ok": True,
            "messages": [self._public(m, include_metadata) for m in thread],
            "has_more": False,
        }, {}

    def _users_info(self, params: dict[str, Any], token: str | None) -> tuple[JSON, dict[str, str]]:
        user_id = params.get("user")
        data = self.users.get(user_id) if isinstance(user_id, str) else None
        if data is None:
            raise _ApiError("user_not_found")
        name = str(data.get("name", user_id))
        user: JSON = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "Etc/UTC",
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "profile": {"real_name": name, "display_name": name, "team": self.team_id},
        }
        user.update(json.loads(json.dumps(data)))
        return {"ok": True, "user": user}, {}

    # ---------------------------------------------------------------- internals: Socket Mode

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._cond:
            known = ticket in self._tickets
        if not known:
            return web.Response(status=401, text="invalid or missing ticket")
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        with self._cond:
            self._connections_opened += 1
            conn = _Connection(ws=ws, number=self._connections_opened, ticket=ticket, opened_at=time.monotonic())
            num = len(self._conns) + 1
        hello = {
            "type": "hello",
            "num_connections": num,
            "debug_info": {
                "host": f"applink-fake-{conn.number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await ws.send_json(hello)
        except ConnectionError:
            return ws  # the client left before the greeting
        with self._cond:
            self._conns.append(conn)  # only now: nothing may overtake the hello
            self._cond.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_frame(msg.data)
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._cond.notify_all()
        return ws

    def _on_frame(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except json.JSONDecodeError:
            frame = {"_unparsed": data}
        if not isinstance(frame, dict):
            frame = {"_unparsed": data}
        now = time.monotonic()
        with self._cond:
            self._frames.append(frame)
            envelope = self._pending.pop(str(frame.get("envelope_id")), None)
            if envelope is not None:
                envelope.acked_at = now
                envelope.ack = frame
                envelope._acked.set()
            self._cond.notify_all()

    async def _send_frame(self, envelope: Envelope) -> None:
        with self._cond:
            open_conns = [c for c in self._conns if not c.ws.closed]
        if not open_conns:
            raise ConnectionError("no open Socket Mode connection")
        conn = open_conns[-1]  # the newest: after a refresh the old one is on its way out
        envelope.sent_at = time.monotonic()
        await conn.ws.send_str(json.dumps(envelope.frame()))

    async def _broadcast(self, frame: dict[str, Any]) -> int:
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            await conn.ws.send_json(frame)
        return len(conns)

    async def _close_connections(self, code: int) -> int:
        with self._cond:
            conns = list(self._conns)
            self._conns.clear()
            self._cond.notify_all()
        for conn in conns:
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(conn.ws.close(code=code, message=b"fake slack closing"), 2.0)
        return len(conns)

    # ---------------------------------------------------------------- internals: response_url

    async def _handle_respond(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        response_id = request.match_info["response_id"]
        raw = await request.read()
        body: Any
        try:
            if request.content_type == "application/json":
                body = json.loads(raw)
            else:
                form = urllib.parse.parse_qs(raw.decode("utf-8"))
                body = json.loads(form["payload"][0])
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError):
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        with self._cond:
            entry = self._response_urls.get(response_id)
            if self.response_url_error is not None:
                status, text = self.response_url_error
                return web.Response(status=status, text=text)
            if entry is None:
                return web.Response(status=404, text="expired_url")
            if entry.uses >= _RESPONSE_URL_USES:
                return web.Response(status=404, text="used_url")
            if not (body.get("text") or body.get("blocks") or body.get("attachments") or body.get("delete_original")):
                return web.Response(status=400, text="no_text")
            entry.uses += 1
            self._responses.append(Response(response_id, body, at, entry.envelope_id))
            self._cond.notify_all()
        return web.Response(status=200, text="ok")
