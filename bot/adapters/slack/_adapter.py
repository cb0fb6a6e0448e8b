"""The Slack adapter: slack-bolt's ``AsyncApp`` answers ``/brief``; digests go out with ``chat.postMessage``.

The only module that talks to Slack. It converts at the edge: a slash command becomes a :mod:`bot.commands`
command answered as user and channel ids of Slack, a :class:`~bot.commands.Reply` or a digest's
:class:`~bot.briefing.Briefing` becomes Block Kit (:mod:`._render`).

- Socket Mode by default (no public URL: the app dials out with SLACK_APP_TOKEN); HTTP mode mounts
  ``POST /slack/events`` on the ``[http] listen`` server, with Slack's request signature verified by Bolt
  (SLACK_SIGNING_SECRET; a bad signature or a stale timestamp is answered 401).
- ``/brief`` is acknowledged at once (well inside Slack's 3 s), then answered through ``response_url``:
  briefings in the channel (``[slack] in_channel``), help, lists and errors only to the asker.
- Subscribing needs workspace admin/owner rights (``users.info``) or a place on ``[slack] managers``.
- Digests: each message carries message metadata (event type ``newsbrief_digest`` with the slot's reference),
  so that after a crash between posting and recording, :meth:`SlackAdapter.find_digest` finds it with
  ``conversations.history`` and it is not posted twice. At most one message a second per channel; slack_sdk's
  retry handlers wait out 429s (Retry-After) and retry connection errors. Errors that need a person
  (``not_in_channel``, ``channel_not_found``, ``is_archived``, ``invalid_auth`` ...) pause the subscription with
  the reason (:class:`bot.digests.ChannelUnavailable`); server errors, timeouts and dropped connections
  interrupt the digest (:class:`bot.digests.PostInterrupted`): it is looked for and tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack._render import digest_messages, reply_messages
from bot.briefing import Briefing
from bot.commands import (
    RateLimiter,
    Reply,
    UsageError,
    answer,
    command_name,
    needs_manager,
    parse_command,
)
from bot.config import Settings, SlackConfig
from bot.digests import ChannelUnavailable, PostInterrupted
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

__all__ = ["DIGEST_EVENT", "PAUSING_ERRORS", "TRANSIENT_ERRORS", "SlackAdapter", "SlackSetupError"]

log = logging.getLogger("newsbrief.slack")

DIGEST_EVENT = "newsbrief_digest"
"""The message metadata event type of digest messages."""
PAUSING_ERRORS: Mapping[str, str] = {
    "not_in_channel": "the bot is not in the channel: invite it with /invite @newsbrief",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "is_archived": "the channel is archived",
    "invalid_auth": "the bot token is not valid (SLACK_BOT_TOKEN)",
    "account_inactive": "the bot's token belongs to a deactivated account",
    "token_revoked": "the bot token was revoked",
    "not_authed": "no bot token was sent",
    "missing_scope": "the app lacks a scope it needs (see config/slack-manifest.yml)",
    "restricted_action": "the workspace does not allow the bot to post in this channel",
    "ekm_access_denied": "the workspace's key management denies access",
}
"""Slack errors after which a subscription cannot succeed until someone acts: it is paused with the reason."""
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})
"""Slack errors that may pass by themselves (as do HTTP 5xx answers, timeouts and dropped connections): a digest
interrupted by one is looked for and tried again later (:class:`bot.digests.PostInterrupted`)."""
PART_RETRY_DELAYS_S = (2.0, 5.0)
"""The waits before trying a later part of a split digest again when posting it was interrupted: the parts
before it are in the channel already, so the rest is completed in place (after looking for the part, which may
have got there) rather than left to recovery, which finds the first part and counts the digest as posted."""
POST_INTERVAL_S = 1.0
"""At most one message a second per channel (Slack's posting limit)."""
HISTORY_PAGES = 5
"""How many pages of ``conversations.history`` a crash check reads at most."""


class _QuietTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client we pass (same token, our base URL and retry
    handlers) wins over it: true and expected, so not shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOG = logging.getLogger("newsbrief.slack.bolt")
_BOLT_LOG.addFilter(_QuietTokenWarning())


class SlackSetupError(Exception):
    """The Slack adapter cannot start: a token is missing for the configured mode."""


class SlackAdapter:
    """Slack for newsbrief: ``/brief`` through :mod:`bot.commands`, digests as a
    :class:`bot.digests.DigestChannel`. ``store`` is handed to :func:`bot.commands.answer` only; ``clock`` is
    the time source; ``observe`` is told each command's name and how long answering took."""

    platform = "slack"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        limiter: RateLimiter,
        clock: Callable[[], datetime],
        bot_token: str,
        app_token: str | None = None,
        signing_secret: str | None = None,
        observe: Callable[[str, float], None] | None = None,
        post_only: bool = False,
        part_retry_delays: Sequence[float] = PART_RETRY_DELAYS_S,
        feeds: FeedFinder | None = None,
    ) -> None:
        """An adapter (not connected yet: see :meth:`start`). ``post_only``: for posting digests from the CLI,
        which needs neither Socket Mode's app token nor HTTP mode's signing secret. ``part_retry_delays``: see
        :data:`PART_RETRY_DELAYS_S`."""
        self._part_retry_delays = tuple(part_retry_delays)
        self.config: SlackConfig = settings.slack
        if post_only:
            pass
        elif self.config.mode == "socket" and not app_token:
            raise SlackSetupError("Slack Socket Mode needs SLACK_APP_TOKEN (an app-level token, xapp-...) in the "
                                  "environment, or [slack] mode = \"http\" with SLACK_SIGNING_SECRET")  # fmt: skip
        elif self.config.mode == "http" and not signing_secret:
            raise SlackSetupError("Slack HTTP mode needs SLACK_SIGNING_SECRET in the environment")
        self.settings = settings
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.observe = observe
        self.feeds = feeds  # for /brief feeds add (bot.commands.answer)
        self._app_token = app_token
        self.client = AsyncWebClient(
            token=bot_token,
            base_url=self.config.api_url,
            retry_handlers=[
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
            ],
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "",
            request_verification_enabled=self.config.mode == "http",
            logger=_BOLT_LOG,
        )
        self.app.command("/brief")(self._on_brief)
        self._handler: AsyncSocketModeHandler | None = None
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._last_post: dict[str, float] = {}
        self._admins: dict[str, tuple[bool, float]] = {}

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect: Socket Mode dials Slack; HTTP mode has nothing to do (mount :meth:`routes` on the web
        server)."""
        if self.config.mode == "socket":
            assert self._app_token is not None
            self._handler = AsyncSocketModeHandler(self.app, self._app_token)
            await self._handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode")

    def routes(self) -> list[web.RouteDef]:
        """The HTTP-mode route (``POST /slack/events``), for :class:`bot.web.WebServer`'s ``extra_routes``."""
        return [web.post("/slack/events", self._http)] if self.config.mode == "http" else []

    async def _http(self, request: web.Request) -> web.Response:
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            # Bolt would call int() on it and answer 500 with a logged traceback: refuse it as a bad signature
            return web.json_response({"error": "invalid request"}, status=401)
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def close(self) -> None:
        """Disconnect."""
        if self._handler is not None:
            await self._handler.close_async()  # type: ignore[no-untyped-call]
            self._handler = None

    # -- commands ----------------------------------------------------------------------------------------

    async def _on_brief(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()  # first, whatever follows: Slack shows an error after 3 s without it
        started = time.perf_counter()
        text = str(command.get("text") or "")
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        name = "error"
        try:
            parsed = parse_command("/brief " + text)
        except UsageError as exc:
            reply = Reply(kind="error", text=exc.reply_text(), ephemeral=True)
        else:
            name = command_name(parsed)
            manager = True
            if needs_manager(parsed):
                manager = await self.is_manager(user)
            try:
                reply = await asyncio.to_thread(
                    answer, parsed, store=self.store, settings=self.settings, user=user, channel=channel,
                    now=self.clock(), limiter=self.limiter, platform="slack", is_manager=manager, feeds=self.feeds,
                )  # fmt: skip
            except Exception as exc:
                log.exception("slack: /brief %r failed", text)
                reply = Reply(kind="error", text=f"Sorry, that failed ({exc.__class__.__name__}).", ephemeral=True)
        public = reply.kind == "briefing" and not reply.ephemeral and self.config.in_channel
        for message in reply_messages(reply):
            await respond(text=message["text"], blocks=message["blocks"],
                          response_type="in_channel" if public else "ephemeral")  # fmt: skip
        if self.observe is not None:
            self.observe(name, time.perf_counter() - started)

    async def is_manager(self, user: str) -> bool:
        """Whether ``user`` may subscribe channels: on ``[slack] managers``, or a workspace admin or owner
        (``users.info``, remembered for 5 minutes). A failed lookup counts as no."""
        if user in self.config.managers:
            return True
        cached = self._admins.get(user)
        if cached is not None and time.monotonic() - cached[1] < 300:
            return cached[0]
        try:
            info = await self.client.users_info(user=user)
        except SlackApiError as exc:
            log.warning("slack: users.info for %s failed: %s", user, exc.response.get("error"))
            return False
        profile = info.get("user") or {}
        allowed = bool(profile.get("is_admin") or profile.get("is_owner") or profile.get("is_primary_owner"))
        self._admins[user] = (allowed, time.monotonic())
        return allowed

    # -- digests -----------------------------------------------------------------------------------------

    async def _pace(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None:
            wait = POST_INTERVAL_S - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_post[channel] = time.monotonic()

    async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
        """Post a digest (several messages when it does not fit in one), each tagged with ``ref`` and its part
        number in its metadata; returns ``slack:<channel>:<ts of the first message>``. :class:`ChannelUnavailable`
        for errors that need a person, :class:`PostInterrupted` for those that may pass (a later part is first
        tried again in place: :data:`PART_RETRY_DELAYS_S`); other Slack errors propagate (recorded as failed)."""
        messages = digest_messages(briefing, title=f"{subscription.topic} digest")
        lock = self._channel_locks.setdefault(subscription.channel, asyncio.Lock())
        first: str | None = None
        async with lock:
            for part, message in enumerate(messages, 1):
                delays = self._part_retry_delays if first is not None else ()
                for attempt in range(len(delays) + 1):
                    if attempt:
                        await asyncio.sleep(delays[attempt - 1])
                        since = self.clock() - timedelta(minutes=5)
                        try:
                            found = await self._find(subscription, ref, since, part=part)
                        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                            raise PostInterrupted(f"slack: cannot tell whether part {part} of the digest got "
                                                  f"there: {exc.__class__.__name__}") from None  # fmt: skip
                        if found is not None:  # the interrupted attempt got there after all
                            break
                    await self._pace(subscription.channel)
                    try:
                        found = await self._post_part(subscription, message, ref, part, len(messages))
                        break
                    except PostInterrupted as exc:
                        if attempt == len(delays):
                            raise
                        log.warning("digest %s part %d of %d: %s; trying again", ref, part, len(messages),
                                    exc.reason)  # fmt: skip
                first = first or found
        return f"slack:{subscription.channel}:{first}"

    async def _post_part(self, subscription: Subscription, message: Any, ref: str, part: int, parts: int) -> str:
        """One message of a digest; returns its ts."""
        try:
            response = await self.client.chat_postMessage(
                channel=subscription.channel, text=message["text"], blocks=message["blocks"],
                metadata={"event_type": DIGEST_EVENT, "event_payload": {"ref": ref, "part": part, "parts": parts}},
                unfurl_links=False, unfurl_media=False,
            )  # fmt: skip
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in PAUSING_ERRORS:
                raise ChannelUnavailable(f"slack: {error}: {PAUSING_ERRORS[error]}") from None
            if error in TRANSIENT_ERRORS or exc.response.status_code >= 500:
                raise PostInterrupted(f"slack: chat.postMessage answered HTTP {exc.response.status_code} "
                                      f"{error or '(no error code)'}") from None  # fmt: skip
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:  # after the connection-error retries
            raise PostInterrupted(f"slack: chat.postMessage: {exc.__class__.__name__}: {exc}") from None
        return str(response.get("ts"))

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """The digest message tagged ``ref`` in the channel since ``since`` (``conversations.history`` with
        metadata), as ``slack:<channel>:<ts>``; ``None`` when it is not there."""
        ts = await self._find(subscription, ref, since)
        return f"slack:{subscription.channel}:{ts}" if ts is not None else None

    async def _find(
        self, subscription: Subscription, ref: str, since: datetime, *, part: int | None = None
    ) -> str | None:
        """The ts of a message of ours tagged ``ref`` (and ``part``, when given) posted since ``since``."""
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                page = await self.client.conversations_history(
                    channel=subscription.channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True,
                    limit=200, cursor=cursor,
                )  # fmt: skip
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in PAUSING_ERRORS:
                    return None  # nothing can have been posted there; posting again pauses the subscription
                raise
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (metadata.get("event_type") == DIGEST_EVENT and payload.get("ref") == ref
                        and (part is None or payload.get("part") == part)):  # fmt: skip
                    return str(message.get("ts"))
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if not page.get("has_more") or not cursor:
                return None
        return None
