"""The Slack adapter: slack-bolt's ``AsyncApp`` answers ``/brief``; digests go out with ``chat.postMessage``.

The only module that talks to Slack. It converts at the edge: a slash command becomes a :mod:`bot.commands`
command answered as user and channel ids of Slack, a :class:`~bot.commands.Reply` or a digest's
:class:`~bot.briefing.Briefing` becomes Block Kit (:mod:`.render`).

- Socket Mode by default (no public URL: the app dials out with SLACK_APP_TOKEN); HTTP mode mounts
  ``POST /slack/events`` on the ``[http] listen`` server, with Slack's request signature verified by Bolt
  (SLACK_SIGNING_SECRET; a bad signature or a stale timestamp is answered 401).
- The bot is authorized once at :meth:`SlackAdapter.start` (``auth.test``), before any event is accepted, so
  not even the first ``/brief`` waits for it. ``/brief`` is acknowledged at once (well inside Slack's 3 s), then
  answered through ``response_url``: briefings in the channel (``[slack] in_channel``), help, lists and errors
  only to the asker. An answer ``response_url`` refuses (expired, used up) is logged and posted instead with
  ``chat.postMessage`` (a public answer) or ``chat.postEphemeral`` (one for the asker alone). Slack's unsigned
  ``ssl_check`` of an HTTP-mode request URL is answered 200, as Bolt does.
- Subscribing needs workspace admin/owner rights (``users.info``) or a place on ``[slack] managers``.
- Digests: each message carries message metadata (event type ``newsbrief_digest`` with the slot's reference),
  and its ts is reported as soon as Slack returns it (``on_part``: the scheduler writes it down with the claim).
  After a crash between posting and recording, :meth:`SlackAdapter.find_digest` finds a digest with
  ``conversations.history``, from a little before the slot's claim on, every page of it, counting only messages
  of this bot user, so it is not posted twice. Before its first digest to a public channel the bot joins it
  (``conversations.join``, with ``channels:join``): ``chat:write.public`` lets it post where it is no member,
  but then it could not read the history. A history it cannot read is never taken for "not posted"
  (:class:`bot.digests.HistoryUnreadable`: the claim stays in flight and the reason is shown to the operator).
- At most one message a second per channel; slack_sdk's retry handlers wait out 429s (Retry-After) and retry
  connection errors, but never of a post (``chat.postMessage`` is not idempotent: a connection dropped after
  Slack posted would post it twice). Errors that need a person (``not_in_channel``, ``channel_not_found``,
  ``is_archived``, ``invalid_auth`` ...) pause the subscription with the reason
  (:class:`bot.digests.ChannelUnavailable`); server errors, timeouts and dropped connections interrupt the
  digest (:class:`bot.digests.PostInterrupted`): it is looked for and tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.adapters._base import PART_RETRY_DELAYS_S, ChatAdapterBase, Pacer, Sleep
from bot.adapters.slack.render import SlackMessage, digest_messages, item_message, reply_messages, text_messages
from bot.alerts import AlertMessage
from bot.briefing import Briefing, Item
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
from bot.digests import SEARCH_MARGIN, ChannelUnavailable, HistoryUnreadable, PartPosted, PostInterrupted
from bot.errors import SetupError
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

if TYPE_CHECKING:
    from bot.adapters.slack._oauth import ThreadedInstallationStore

__all__ = [
    "DIGEST_EVENT",
    "LIVE_EVENT",
    "NOT_RETRIED",
    "PAUSING_ERRORS",
    "POST_INTERVAL_S",
    "TRANSIENT_ERRORS",
    "SlackAdapter",
    "SlackSetupError",
]

log = logging.getLogger("newsbrief.slack")

DIGEST_EVENT = "newsbrief_digest"
"""The message metadata event type of digest messages."""
LIVE_EVENT = "newsbrief_live"
"""The message metadata event type of live alerts (payload ``{"ref": <marker>}``)."""
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
POST_INTERVAL_S = 1.0
"""At most one message a second per channel (Slack's posting limit)."""
HISTORY_PAGE = 200
"""Messages per ``conversations.history`` page of a crash check (it reads every page since the claim)."""
HISTORY_PAGES_MAX = 2_000
"""A crash check that would read more pages than this (400,000 messages since the claim) gives up and says it
cannot tell (never "not posted")."""
NOT_RETRIED = ("chat.postMessage", "chat.postEphemeral")
"""Methods slack_sdk never retries after a connection error: Slack may have posted before the connection
dropped. A digest post goes through :class:`bot.digests.PostInterrupted` (looked for before posting again)."""
UNREADABLE_ERRORS: Mapping[str, str] = {
    "not_in_channel": "the bot may post there (chat:write.public) but is no member, so it cannot read the history; "
    "invite it (/invite @newsbrief) or add the channels:join scope (config/slack-manifest.yml)",
    "missing_scope": "the app lacks channels:history / groups:history (see config/slack-manifest.yml)",
}
"""``conversations.history`` errors that mean "cannot tell", never "not there"."""


class _QuietTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client we pass (same token, our base URL and retry
    handlers) wins over it, and that the authorization done at start wins over the token: true and expected, so
    not shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "`token` will be unused" not in message and "will be ignored" not in message


class _ConnectionRetries(AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry of connection errors, except for the methods of :data:`NOT_RETRIED`."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.split("?", 1)[0].rsplit("/", 1)[-1] in NOT_RETRIED:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


_BOLT_LOG = logging.getLogger("newsbrief.slack.bolt")
_BOLT_LOG.addFilter(_QuietTokenWarning())
_TOKEN_EXCHANGE_LOG = logging.getLogger("newsbrief.slack.oauth.exchange")
_TOKEN_EXCHANGE_LOG.setLevel(logging.INFO)  # never slack_sdk's DEBUG lines, which show the answers (tokens)


class SlackSetupError(SetupError):
    """The Slack adapter cannot start: a token is missing for the configured mode."""


class SlackAdapter(ChatAdapterBase):
    """Slack for newsbrief: ``/brief`` through :mod:`bot.commands`, digests as a
    :class:`bot.digests.DigestChannel` (:class:`~bot.adapters.ChatAdapterBase`: ``store``, ``clock``,
    ``observe`` ...). :meth:`post_digest` reports each message's ts as soon as Slack returns it
    (:class:`bot.digests.ReportsParts`)."""

    platform = "slack"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        limiter: RateLimiter,
        clock: Callable[[], datetime],
        bot_token: str | None,
        app_token: str | None = None,
        signing_secret: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        observe: Callable[[str, float], None] | None = None,
        post_only: bool = False,
        part_retry_delays: Sequence[float] = PART_RETRY_DELAYS_S,
        feeds: FeedFinder | None = None,
        pacer: Pacer | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """An adapter (not connected yet: see :meth:`start`). ``post_only``: for posting digests from the CLI,
        which needs neither Socket Mode's app token nor HTTP mode's signing secret. ``part_retry_delays``: see
        :data:`PART_RETRY_DELAYS_S`. ``pacer`` spaces the posts to each channel (default: one a second,
        :data:`POST_INTERVAL_S`). OAuth mode (many workspaces) takes no ``bot_token``: each workspace's comes
        from its installation (``client_id``: SLACK_CLIENT_ID), kept in the store's database."""
        super().__init__(
            settings=settings,
            store=store,
            limiter=limiter,
            clock=clock,
            observe=observe,
            feeds=feeds,
            part_retry_delays=part_retry_delays,
            sleep=sleep,
        )
        self.pacer = pacer if pacer is not None else Pacer(POST_INTERVAL_S)
        self.config: SlackConfig = settings.slack
        if post_only:
            pass
        elif self.config.mode == "socket" and not app_token:
            raise SlackSetupError(
                "Slack Socket Mode needs SLACK_APP_TOKEN (an app-level token, xapp-...) in the "
                'environment, or [slack] mode = "http" with SLACK_SIGNING_SECRET'
            )
        elif self.config.mode == "http" and not signing_secret:
            raise SlackSetupError("Slack HTTP mode needs SLACK_SIGNING_SECRET in the environment")
        elif self.config.mode == "oauth":
            missing = [
                name
                for name, value in (
                    ("SLACK_CLIENT_ID", client_id),
                    ("SLACK_CLIENT_SECRET", client_secret),
                    ("SLACK_SIGNING_SECRET", signing_secret),
                )
                if not value
            ]
            if missing:
                raise SlackSetupError(f"Slack OAuth mode needs {' and '.join(missing)} in the environment")
        if self.config.mode != "oauth" and not bot_token:
            raise SlackSetupError(f"Slack {self.config.mode} mode needs SLACK_BOT_TOKEN (xoxb-...) in the environment")
        self._installations: ThreadedInstallationStore | None = None
        if self.config.mode == "oauth" and client_id:
            from bot.adapters.slack._oauth import ThreadedInstallationStore  # needs sqlalchemy[asyncio] (greenlet)

            self._installations = ThreadedInstallationStore(client_id, store.engine)
        self._workspaces: dict[str, SlackAdapter] = {}
        self._app_token = app_token
        self.client = AsyncWebClient(
            token=bot_token,
            base_url=self.config.api_url,
            retry_handlers=[
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                _ConnectionRetries(max_retry_count=2),
            ],
        )

        async def authorized() -> AuthorizeResult:  # a plain function: Bolt passes arguments by their names
            return await self.authorize()

        if self._installations is not None and client_secret and not post_only:
            # each request is authorized with its workspace's installation (Bolt's installation store authorize)
            from bot.adapters.slack._oauth import oauth_settings

            settings_ = oauth_settings(
                self.config,
                client_id=client_id or "",
                client_secret=client_secret,
                installations=self._installations,
                engine=store.engine,
            )
            # its own client: slack_sdk logs answers at DEBUG, and oauth.v2.access answers with the bot token
            flow_client = AsyncWebClient(base_url=self.config.api_url, logger=_TOKEN_EXCHANGE_LOG)
            flow = AsyncOAuthFlow(client=flow_client, logger=_BOLT_LOG, settings=settings_)
            self.app = AsyncApp(
                client=self.client, signing_secret=signing_secret or "", logger=_BOLT_LOG, oauth_flow=flow
            )
            self.app.event("app_uninstalled")(self._on_uninstalled)
            self.app.event("tokens_revoked")(self._on_tokens_revoked)
        else:
            self.app = AsyncApp(
                client=self.client,
                signing_secret=signing_secret or "",
                request_verification_enabled=self.config.mode == "http",
                logger=_BOLT_LOG,
                authorize=authorized,  # the result of start()'s auth.test: no auth.test on a request
            )
        self.app.command("/brief")(self._on_brief)
        self._handler: AsyncSocketModeHandler | None = None
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._admins: dict[str, tuple[bool, float]] = {}
        self._auth: AuthorizeResult | None = None
        self._scopes: frozenset[str] | None = None
        self._auth_lock = asyncio.Lock()
        self._tried_join: set[str] = set()
        self._unreadable_logged: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Authorize (``auth.test``: who the bot is, which scopes it has), then connect: Socket Mode dials Slack;
        HTTP mode has nothing more to do (mount :meth:`routes` on the web server). Authorizing first means no
        event waits for it: Bolt would call ``auth.test`` on the first request, which may take longer than Slack's
        3 s to acknowledge a command. OAuth mode authorizes each workspace when it is first needed."""
        if self._installations is not None:
            return
        await self.authorize()
        if self.config.mode == "socket":
            assert self._app_token is not None
            self._handler = AsyncSocketModeHandler(self.app, self._app_token)
            await self._handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode")

    async def authorize(self) -> AuthorizeResult:
        """Who the bot is (``auth.test``, once; :class:`SlackApiError` when Slack refuses the token)."""
        async with self._auth_lock:
            if self._auth is None:
                response = await self.client.auth_test()
                header = {k.lower(): v for k, v in (response.headers or {}).items()}.get("x-oauth-scopes")
                granted = header[0] if isinstance(header, list) and header else header
                if isinstance(granted, str):
                    self._scopes = frozenset(s.strip() for s in granted.split(",") if s.strip())
                self._auth = AuthorizeResult.from_auth_test_response(
                    bot_token=self.client.token, bot_scopes=sorted(self._scopes or ()), auth_test_response=response
                )
            return self._auth

    def routes(self) -> list[web.RouteDef]:
        """The HTTP-mode route (``POST /slack/events``), for :class:`bot.web.WebServer`'s ``extra_routes``; OAuth
        mode adds the install flow (``GET /slack/install``, ``GET /slack/oauth_redirect``)."""
        if self.config.mode == "oauth":
            return [
                web.post("/slack/events", self._http),
                web.get("/slack/install", self._install),
                web.get("/slack/oauth_redirect", self._install),
            ]
        return [web.post("/slack/events", self._http)] if self.config.mode == "http" else []

    async def _http(self, request: web.Request) -> web.Response:
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        if stamp is not None and not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            # Bolt would call int() on it and answer 500 with a logged traceback: refuse it as a bad signature.
            # None goes on to Bolt: Slack's ssl_check is unsigned (answered 200); anything else fails its check.
            return web.json_response({"error": "invalid request"}, status=401)
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def _install(self, request: web.Request) -> web.Response:
        """The install flow (Bolt's OAuth flow): ``/slack/install`` sends the installer to Slack with a new state;
        ``/slack/oauth_redirect`` checks the state, trades the code for the workspace's token and stores it."""
        flow = self.app.oauth_flow
        if flow is None:
            return web.Response(status=404)
        bolt_request = await to_bolt_request(request)
        if request.path == flow.install_path:
            response = await flow.handle_installation(bolt_request)
        else:
            response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(response)

    async def close(self) -> None:
        """Disconnect."""
        if self._handler is not None:
            await self._handler.close_async()  # type: ignore[no-untyped-call]
            self._handler = None

    # -- many workspaces (OAuth) -------------------------------------------------------------------------

    async def _workspace(self, team: str | None) -> SlackAdapter:
        """The adapter that talks to ``team`` with its own bot token: this one with a single workspace; in OAuth
        mode one per installed workspace (its token from the installation store). :class:`ChannelUnavailable`
        when the workspace has no installation (never installed, or uninstalled since)."""
        if self._installations is None:
            return self
        if not team:
            raise ChannelUnavailable(
                "slack: the subscription names no workspace: subscribe again with /brief subscribe in the channel"
            )
        bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            self._workspaces.pop(team, None)
            raise ChannelUnavailable(
                f"slack: the app is not installed in workspace {team} (uninstalled?): install it "
                "again through /slack/install and resume the subscription"
            )
        current = self._workspaces.get(team)
        if current is None or current.client.token != bot.bot_token:
            single = self.settings.model_copy(update={"slack": self.config.model_copy(update={"mode": "http"})})
            current = SlackAdapter(
                settings=single,
                store=self.store,
                limiter=self.limiter,
                clock=self.clock,
                bot_token=bot.bot_token,
                post_only=True,
                part_retry_delays=self._part_retry_delays,
                feeds=self.feeds,
                pacer=self.pacer,
                sleep=self._sleep,
            )
            self._workspaces[team] = current
        return current

    async def _on_uninstalled(self, context: Any) -> None:
        """``app_uninstalled``: the workspace's installation is deleted and its subscriptions paused."""
        assert self._installations is not None
        await self._installations.async_delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        await self._pause_team(context.team_id, "the app was uninstalled from the workspace")

    async def _on_tokens_revoked(self, event: dict[str, Any], context: Any) -> None:
        """``tokens_revoked``: the revoked installations are deleted; a revoked bot token pauses the workspace's
        subscriptions."""
        assert self._installations is not None
        tokens = event.get("tokens") or {}
        for user_id in tokens.get("oauth") or []:
            await self._installations.async_delete_installation(
                enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
            )
        if tokens.get("bot"):
            await self._installations.async_delete_bot(enterprise_id=context.enterprise_id, team_id=context.team_id)
            await self._pause_team(context.team_id, "the bot token was revoked")

    async def _pause_team(self, team: str | None, why: str) -> None:
        if not team:
            return
        self._workspaces.pop(team, None)
        reason = f"slack: {why} ({team}): install it again through /slack/install, then resume the subscription"
        paused = await asyncio.to_thread(self.store.pause_team_subscriptions, "slack", team, reason, self.clock())
        log.warning("slack: %s %s; %d subscription(s) paused", why, team, len(paused))

    # -- commands ----------------------------------------------------------------------------------------

    async def _on_brief(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()  # first, whatever follows: Slack shows an error after 3 s without it
        started = time.perf_counter()
        text = str(command.get("text") or "")
        user = str(command.get("user_id") or "")
        channel = str(command.get("channel_id") or "")
        team = str(command.get("team_id") or "") or None
        workspace = await self._workspace(team) if self._installations is not None else self
        name = "error"
        try:
            parsed = parse_command("/brief " + text)
        except UsageError as exc:
            reply = Reply(kind="error", text=exc.reply_text(), ephemeral=True)
        else:
            name = command_name(parsed)
            manager = True
            if needs_manager(parsed):
                manager = await workspace.is_manager(user)
            try:
                reply = await asyncio.to_thread(
                    answer,
                    parsed,
                    store=self.store,
                    settings=self.settings,
                    user=user,
                    channel=channel,
                    now=self.clock(),
                    limiter=self.limiter,
                    platform="slack",
                    is_manager=manager,
                    feeds=self.feeds,
                    team=team if self._installations is not None else None,
                )
            except Exception as exc:
                log.exception("slack: /brief %r failed", text)
                reply = Reply(kind="error", text=f"Sorry, that failed ({exc.__class__.__name__}).", ephemeral=True)
        public = reply.kind == "briefing" and not reply.ephemeral and self.config.in_channel
        by_url = True
        for message in reply_messages(reply):
            if by_url:
                by_url = await self._respond(respond, message, public=public, channel=channel, user=user)
            if not by_url:
                await workspace._post_answer(message, public=public, channel=channel, user=user)
        if self.observe is not None:
            self.observe(name, time.perf_counter() - started)

    async def _respond(self, respond: Any, message: Any, *, public: bool, channel: str, user: str) -> bool:
        """Answer through ``response_url``; ``False`` (logged) when it refused the answer or could not be
        reached."""
        try:
            answer = await respond(
                text=message["text"], blocks=message["blocks"], response_type="in_channel" if public else "ephemeral"
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{exc.__class__.__name__}: {exc}"
        else:
            if answer.status_code == 200:
                return True
            problem = f"HTTP {answer.status_code} {str(answer.body or '')[:100]}".strip()
        how = "chat.postMessage" if public else "chat.postEphemeral"
        log.warning(
            "slack: response_url refused the answer to /brief in %s for %s (%s); posting it with %s instead",
            channel,
            user,
            problem,
            how,
        )
        return False

    async def _post_answer(self, message: Any, *, public: bool, channel: str, user: str) -> None:
        """Post an answer ``response_url`` refused: in the channel when it was meant for the channel, else to the
        asker alone (``chat.postEphemeral``, which needs the bot in the channel); logged when Slack refuses."""
        try:
            if public:
                await self.client.chat_postMessage(
                    channel=channel,
                    text=message["text"],
                    blocks=message["blocks"],
                    unfurl_links=False,
                    unfurl_media=False,
                )
            else:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=message["text"], blocks=message["blocks"]
                )
        except SlackApiError as exc:
            log.warning(
                "slack: the answer to /brief in %s for %s is lost: Slack refused it too (%s)",
                channel,
                user,
                exc.response.get("error"),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "slack: the answer to /brief in %s for %s is lost: %s: %s", channel, user, exc.__class__.__name__, exc
            )

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

    async def post_digest(
        self, subscription: Subscription, briefing: Briefing, ref: str, *, on_part: PartPosted | None = None
    ) -> str:
        """Post a digest (several messages when it does not fit in one), each tagged with ``ref`` and its part
        number in its metadata; returns ``slack:<channel>:<ts of the first message>``. ``on_part`` is told each
        message (part number, ``slack:<channel>:<ts>``) as soon as Slack returned it. Before the first digest to
        a channel the bot joins it when it may (:meth:`_join`). :class:`ChannelUnavailable` for errors that need
        a person, :class:`PostInterrupted` for those that may pass (a later part is first tried again in place:
        :data:`PART_RETRY_DELAYS_S`); other Slack errors propagate (recorded as failed). In OAuth mode it goes out
        with the bot token of the subscription's workspace."""
        if self._installations is not None:
            workspace = await self._workspace(subscription.team)
            return await workspace.post_digest(subscription, briefing, ref, on_part=on_part)
        messages = digest_messages(briefing, title=f"{subscription.topic} digest")
        channel = subscription.channel
        lock = self._channel_locks.setdefault(channel, asyncio.Lock())

        async def send(part: int, message: SlackMessage) -> str:
            await self.pacer.wait(channel)
            ts = await self._post_part(subscription, message, ref, part, len(messages))
            return f"slack:{channel}:{ts}"

        async def look(part: int) -> str | None:
            try:
                found = await self._find(subscription, ref, self.clock() - SEARCH_MARGIN, part=part)
            except HistoryUnreadable as exc:
                raise PostInterrupted(
                    f"cannot tell whether part {part} of the digest got there: {exc.reason}"
                ) from None
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                raise PostInterrupted(
                    f"slack: cannot tell whether part {part} of the digest got there: {exc.__class__.__name__}"
                ) from None
            return f"slack:{channel}:{found}" if found is not None else None

        async with lock:
            if channel not in self._tried_join:
                await self._join(channel)
            return await self.post_parts(
                ref,
                messages,
                send,
                interrupted=lambda exc: isinstance(exc, PostInterrupted),
                look=look,
                on_part=on_part,
            )

    async def post_item(self, subscription: Subscription, item: Item, ref: str) -> str:
        """Post one item of an items-mode subscription as a compact message (:func:`item_message`, tagged with
        ``ref`` in its metadata); returns ``slack:<channel>:<ts>``. Errors as for :meth:`post_digest`."""
        if self._installations is not None:
            workspace = await self._workspace(subscription.team)
            return await workspace.post_item(subscription, item, ref)
        channel = subscription.channel
        lock = self._channel_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            if channel not in self._tried_join:
                await self._join(channel)
            await self.pacer.wait(channel)
            ts = await self._post_part(subscription, item_message(item), ref, 1, 1)
        return f"slack:{channel}:{ts}"

    async def _join(self, channel: str) -> bool:
        """Join a public channel (``conversations.join``) so that its history can be read: ``chat:write.public``
        lets the bot post where it is no member, but a crash check there could not tell whether a digest got
        there. Tried once per channel (again when the history turns out unreadable); without ``channels:join``
        it is not tried. ``True`` when the bot is a member now (or was already)."""
        self._tried_join.add(channel)
        await self._authorized_quietly()
        if self._scopes is not None and "channels:join" not in self._scopes:
            return False
        try:
            response = await self.client.conversations_join(channel=channel)
        except SlackApiError as exc:
            # private channels (method_not_supported_for_channel_type) need an invitation anyway; the others
            # (channel_not_found, is_archived ...) show when posting, which pauses the subscription
            log.debug("slack: conversations.join %s: %s", channel, exc.response.get("error"))
            return False
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._tried_join.discard(channel)
            log.debug("slack: conversations.join %s: %s", channel, exc.__class__.__name__)
            return False
        if response.get("warning") != "already_in_channel":
            log.info("slack: joined channel %s, so that its digests can be checked after a crash", channel)
        return True

    async def _authorized_quietly(self) -> AuthorizeResult | None:
        """:meth:`authorize`, or ``None`` when Slack cannot be asked now (then nothing is assumed)."""
        try:
            return await self.authorize()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.debug("slack: auth.test failed: %s", exc.__class__.__name__)
            return None

    async def _post_part(self, subscription: Subscription, message: Any, ref: str, part: int, parts: int) -> str:
        """One message of a digest; returns its ts."""
        try:
            response = await self.client.chat_postMessage(
                channel=subscription.channel,
                text=message["text"],
                blocks=message["blocks"],
                metadata={"event_type": DIGEST_EVENT, "event_payload": {"ref": ref, "part": part, "parts": parts}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in PAUSING_ERRORS:
                raise ChannelUnavailable(f"slack: {error}: {PAUSING_ERRORS[error]}") from None
            if error in TRANSIENT_ERRORS or exc.response.status_code >= 500:
                raise PostInterrupted(
                    f"slack: chat.postMessage answered HTTP {exc.response.status_code} {error or '(no error code)'}"
                ) from None
            details = (exc.response.get("response_metadata") or {}).get("messages") or []
            if details:  # e.g. invalid_blocks: Slack says which block and why
                log.error(
                    "slack: chat.postMessage refused %s part %d: %s: %s",
                    ref,
                    part,
                    error,
                    "; ".join(str(d) for d in details[:5]),
                )
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:  # never retried by slack_sdk: see NOT_RETRIED
            raise PostInterrupted(f"slack: chat.postMessage: {exc.__class__.__name__}: {exc}") from None
        return str(response.get("ts"))

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """The digest tagged ``ref`` that this bot posted in the channel since ``since`` (``conversations.history``
        with metadata, every page), as ``slack:<channel>:<ts of its first part>``; ``None`` when it is not there.
        :class:`HistoryUnreadable` when the bot may not read the channel (never "not there")."""
        if self._installations is not None:
            return await (await self._workspace(subscription.team)).find_digest(subscription, ref, since)
        ts = await self._find(subscription, ref, since)
        return f"slack:{subscription.channel}:{ts}" if ts is not None else None

    async def _find(
        self, subscription: Subscription, ref: str, since: datetime, *, part: int | None = None
    ) -> str | None:
        """The ts of a message of this bot tagged ``ref`` (and ``part``, when given; else of the lowest part
        found) posted since ``since``."""
        auth = await self.authorize()
        channel = subscription.channel
        cursor: str | None = None
        best: tuple[int, str] | None = None
        joined = False
        pages = 0
        while True:
            try:
                page = await self._history(channel, since, cursor)
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error == "not_in_channel" and not joined and await self._join(channel):
                    joined = True
                    continue  # a member now: read it
                if error in UNREADABLE_ERRORS:
                    raise self._unreadable(channel, error) from None
                if error in PAUSING_ERRORS:
                    return None  # nothing can have been posted there; posting again pauses the subscription
                raise
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") != DIGEST_EVENT or payload.get("ref") != ref:
                    continue
                if not _from_bot(message, auth):
                    continue  # another app (or a copy) carrying our metadata
                raw = payload.get("part")
                number = raw if isinstance(raw, int) else 1
                if part is not None and number != part:
                    continue
                if number == (part or 1):
                    return str(message.get("ts"))
                if best is None or number < best[0]:
                    best = (number, str(message.get("ts")))
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if not page.get("has_more") or not cursor:
                return best[1] if best is not None else None
            pages += 1
            if pages >= HISTORY_PAGES_MAX:
                raise HistoryUnreadable(
                    f"slack: more than {pages * HISTORY_PAGE} messages in {channel} since "
                    f"{since:%Y-%m-%d %H:%M} UTC: cannot tell whether the digest is there"
                )

    async def _history(self, channel: str, since: datetime, cursor: str | None) -> AsyncSlackResponse:
        return await self.client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp():.6f}",
            include_all_metadata=True,
            limit=HISTORY_PAGE,
            cursor=cursor,
        )

    def _unreadable(self, channel: str, error: str) -> HistoryUnreadable:
        """The error saying the history cannot be read (logged once per channel)."""
        reason = f"slack: cannot read the history of channel {channel} ({error}): {UNREADABLE_ERRORS[error]}"
        if channel not in self._unreadable_logged:
            self._unreadable_logged.add(channel)
            log.warning("%s; a digest interrupted there is not posted again until it can be checked", reason)
        return HistoryUnreadable(reason)

    # -- live alerts -------------------------------------------------------------------------------------

    def _alert_message(self, alert: AlertMessage) -> SlackMessage:
        if alert.story is None:
            return text_messages(alert.summary_text())[0]
        return digest_messages(alert.briefing(self.clock()), title=alert.title)[0]

    async def post_alert(self, subscription: Subscription, alert: AlertMessage) -> str:
        """Post a live alert (``chat.postMessage``; a follow-up with ``thread_ts`` in its story's thread) tagged
        with ``alert.marker`` in its metadata; returns ``slack:<channel>:<ts>``. :class:`ChannelUnavailable` and
        :class:`PostInterrupted` as for digests."""
        if self._installations is not None:
            return await (await self._workspace(subscription.team)).post_alert(subscription, alert)
        channel = subscription.channel
        message = self._alert_message(alert)
        extra: dict[str, Any] = {"thread_ts": _ts_of(alert.thread_ref)} if alert.thread_ref else {}
        await self.pacer.wait(channel)
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                text=message["text"],
                blocks=message["blocks"],
                metadata={"event_type": LIVE_EVENT, "event_payload": {"ref": alert.marker}},
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except SlackApiError as exc:
            raise _posting_error(exc, "chat.postMessage") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostInterrupted(f"slack: chat.postMessage: {exc.__class__.__name__}: {exc}") from None
        return f"slack:{channel}:{response.get('ts')}"

    async def edit_alert(self, subscription: Subscription, message_ref: str, alert: AlertMessage) -> None:
        """Replace a posted alert in place (``chat.update`` of its ts), keeping its marker."""
        if self._installations is not None:
            await (await self._workspace(subscription.team)).edit_alert(subscription, message_ref, alert)
            return
        message = self._alert_message(alert)
        await self.pacer.wait(subscription.channel)
        try:
            await self.client.chat_update(
                channel=subscription.channel,
                ts=_ts_of(message_ref),
                text=message["text"],
                blocks=message["blocks"],
                metadata={"event_type": LIVE_EVENT, "event_payload": {"ref": alert.marker}},
            )
        except SlackApiError as exc:
            raise _posting_error(exc, "chat.update") from None

    async def find_alert(
        self, subscription: Subscription, marker: str, since: datetime, *, thread_ref: str | None = None
    ) -> str | None:
        """This bot's alert tagged ``marker`` posted since ``since``: in the channel's history, or among the
        replies of ``thread_ref`` (replies are not in the history); ``slack:<channel>:<ts>`` or ``None``.
        :class:`HistoryUnreadable` when the bot may not read the channel."""
        if self._installations is not None:
            workspace = await self._workspace(subscription.team)
            return await workspace.find_alert(subscription, marker, since, thread_ref=thread_ref)
        auth = await self.authorize()
        channel = subscription.channel
        cursor: str | None = None
        for _ in range(HISTORY_PAGES_MAX):
            try:
                if thread_ref is not None:
                    page = await self.client.conversations_replies(
                        channel=channel,
                        ts=_ts_of(thread_ref),
                        oldest=f"{since.timestamp():.6f}",
                        include_all_metadata=True,
                        limit=HISTORY_PAGE,
                        cursor=cursor,
                    )
                else:
                    page = await self._history(channel, since, cursor)
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "")
                if error in UNREADABLE_ERRORS:
                    raise self._unreadable(channel, error) from None
                if error in PAUSING_ERRORS or error == "thread_not_found":
                    return None
                raise
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == LIVE_EVENT
                    and payload.get("ref") == marker
                    and _from_bot(message, auth)
                    and float(message.get("ts") or 0) >= since.timestamp()
                ):
                    return f"slack:{channel}:{message.get('ts')}"
            cursor = ((page.get("response_metadata") or {}).get("next_cursor")) or None
            if not page.get("has_more") or not cursor:
                return None
        raise HistoryUnreadable(f"slack: too many messages in {channel} since {since:%Y-%m-%d %H:%M} UTC to tell")


def _ts_of(message_ref: str) -> str:
    """The ts of a message reference ``slack:<channel>:<ts>``."""
    return message_ref.rsplit(":", 1)[-1]


def _posting_error(exc: SlackApiError, method: str) -> Exception:
    """What a Slack error while posting or editing means: the channel needs a person, it may pass, or neither."""
    error = str(exc.response.get("error") or "")
    if error in PAUSING_ERRORS:
        return ChannelUnavailable(f"slack: {error}: {PAUSING_ERRORS[error]}")
    if error in TRANSIENT_ERRORS or exc.response.status_code >= 500:
        return PostInterrupted(f"slack: {method} answered HTTP {exc.response.status_code} {error or '(no error code)'}")
    return exc


def _from_bot(message: Mapping[str, Any], auth: AuthorizeResult) -> bool:
    """Whether a history message was posted by this bot (its bot id, or its bot user)."""
    return bool(
        (auth.bot_id and message.get("bot_id") == auth.bot_id)
        or (auth.bot_user_id and message.get("user") == auth.bot_user_id)
    )
