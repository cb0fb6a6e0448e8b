"""The Discord adapter: a ``discord.Client`` with app commands; digests go out with ``channel.send``.

The only module that talks to Discord. It converts at the edge: an interaction becomes a :mod:`bot.commands`
command answered as Discord user and channel ids; a :class:`~bot.commands.Reply` or a digest's
:class:`~bot.briefing.Briefing` becomes embeds (:mod:`.render`).

- Commands: ``/brief topic:`` (autocomplete from the configured topics), ``/brief-subscribe topic: schedule:
  tz:``, ``/brief-unsubscribe topic:``, ``/brief-list``; synced at start to ``[discord] guilds`` (instant) or
  globally. Same grammar and answers as everywhere (``bot.commands``).
- Every interaction is answered within Discord's 3 s: an answer ready within :data:`ANSWER_WITHIN_S` goes out
  at once, shown to the channel (a briefing) or to the asker alone (help, lists, confirmations, errors, a search
  that matched nothing, a rate limit); a slower one is deferred, publicly for ``/brief`` (it is most likely a
  briefing) and privately for every other command, then followed up. Discord shows the first follow-up after a
  public deferral to everyone whatever its flags say: an answer for the asker alone that comes after one is
  sent as a second, ephemeral follow-up and the public placeholder is deleted.
- Subscribing needs Manage Channels: the commands carry ``default_member_permissions`` and the permission is
  checked again when the command runs.
- Digests: ``channel.send`` with a nonce derived from the slot (``enforce_nonce``: a retry within minutes cannot
  post twice) and the slot's reference in every embed footer, so that after a crash between posting and
  recording, :meth:`DiscordAdapter.find_digest` finds it in the channel history (in a forum channel, which gets
  a new post per digest, among the guild's active posts). Nonces are only remembered for minutes: after a longer
  crash the history search alone prevents a second copy, so it reads everything since the slot was claimed
  (paginated, however busy the channel), and a channel whose history the bot may not read (Discord then answers
  an empty history) is not taken for one without the digest (:class:`HistoryUnreadable`: the claim stays in
  flight). ``allowed_mentions`` is none on every message: article text never pings.
- Creating a forum post carries no nonce, so it is sent once: a server error in answer is not retried by
  discord.py (which retries 5xx by itself) but interrupts the digest, and recovery looks for the post before
  posting again.
- Forbidden (missing access or permissions) and NotFound (deleted channel) pause the subscription with the
  reason (:class:`bot.digests.ChannelUnavailable`); 429s are waited out by discord.py; a server error after its
  retries, a timeout or a dropped connection interrupts the digest (:class:`bot.digests.PostInterrupted`): it is
  looked for and tried again later. The gateway reconnects by itself and due digests are posted by the scheduler
  regardless.
- Sharding: the client is discord.py's ``AutoShardedClient``, always. Without shard settings it asks Discord
  (``GET /gateway/bot``) how many shards the bot needs and connects them all (one shard for most bots, which is
  a single gateway connection as before); with ``[discord] shards`` / ``shard_count`` this process connects only
  those shards of ``shard_count``, so several processes split the servers. A guild's commands arrive on the shard
  holding it (``(guild_id >> 22) % shard_count``); digests go over REST (``fetch_channel`` for a channel not in
  this process's cache), so any process posts to any channel. Shards IDENTIFY :data:`IDENTIFY_SPACING_S` apart
  within each of Discord's ``max_concurrency`` buckets (``shard_id % max_concurrency``).
- discord.py's REST base and gateway URL are globals of the library: the adapter never changes them (tests point
  them at a fake); ``[discord] api_url`` must name the REST base discord.py uses (:func:`check_api_base`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
from aiohttp import web
from discord import app_commands

from bot.adapters._base import PART_RETRY_DELAYS_S, ChatAdapterBase, Sleep
from bot.adapters.discord._permissions import bot_permissions
from bot.adapters.discord.render import (
    EMBED_COLOUR,
    FOOTER_PREFIX,
    MAX_STORY_DESCRIPTION,
    DiscordMessage,
    digest_messages,
    escape,
    fit,
    item_message,
    reply_messages,
)
from bot.alerts import AlertMessage
from bot.briefing import Briefing, Item
from bot.commands import Command, RateLimiter, Reply, UsageError, answer, command_name, parse_command
from bot.config import DiscordConfig, Settings
from bot.digests import ChannelUnavailable, HistoryUnreadable, PartPosted, PostInterrupted
from bot.errors import SetupError
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

__all__ = [
    "ANSWER_WITHIN_S",
    "IDENTIFY_SPACING_S",
    "DiscordAdapter",
    "DiscordSetupError",
    "check_api_base",
    "digest_nonce",
]

log = logging.getLogger("newsbrief.discord")


class _NoVoiceWarning(logging.Filter):
    """discord.py warns once that PyNaCl and davey are not installed, "voice will NOT be supported": newsbrief has
    no voice, so it is not shown (it would be the only warning of a healthy start)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


logging.getLogger("discord.client").addFilter(_NoVoiceWarning())

NO_MENTIONS = discord.AllowedMentions.none()
ANSWER_WITHIN_S = 1.5
"""How long a command may take to be answered directly; a slower one is deferred first (Discord drops an
interaction not answered within 3 s of its creation, which includes the trip over the gateway)."""
PRIVATE_NOTE = "Answered privately."
"""What a public deferral shows for a moment when the answer turns out to be for the asker alone."""
MAX_CHOICES = 25
MAX_CHOICE_TEXT = 100
"""Discord's limits for autocomplete results: 25 choices, names and string values of 1 to 100 characters."""
READY_TIMEOUT_S = 60.0
IDENTIFY_SPACING_S = 5.0
"""Discord allows one IDENTIFY per ``max_concurrency`` bucket every 5 s; a shard identifying again (a session that
could not be resumed) waits this long too, as discord.py does."""

_SEND_ONCE: contextvars.ContextVar[bool] = contextvars.ContextVar("newsbrief_discord_send_once", default=False)
"""Set around a request that must not be sent twice (it carries no nonce): see :func:`_send_once_trace`."""


class DiscordSetupError(SetupError):
    """The Discord settings do not fit the process: one line for the operator."""


class NotSentTwice(Exception):
    """A server error (or a dropped connection) in answer to a request that carries no nonce, such as creating a
    forum post: discord.py would send it again by itself; the adapter stops at the first answer instead, since
    Discord may have carried it out. Not an ``OSError``, so discord.py does not retry it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _first_answer_only(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
) -> None:
    if _SEND_ONCE.get() and params.response.status >= 500:
        reason = f"HTTP {params.response.status} {params.response.reason or ''}".strip()
        params.response.close()
        raise NotSentTwice(reason)


async def _no_resend_on_reset(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
) -> None:
    if _SEND_ONCE.get() and isinstance(params.exception, OSError):
        raise NotSentTwice(f"{params.exception.__class__.__name__}: {params.exception}") from params.exception


def _send_once_trace() -> aiohttp.TraceConfig:
    """An aiohttp trace for the client's session (``discord.Client(http_trace=...)``, per client): within
    ``_SEND_ONCE`` a 5xx answer or a connection error raises :class:`NotSentTwice` before discord.py can retry."""
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_first_answer_only)
    trace.on_request_exception.append(_no_resend_on_reset)
    return trace


def check_api_base(config: DiscordConfig) -> None:
    """``[discord] api_url`` must be where discord.py sends its requests. discord.py keeps its REST base in a
    global of the library, which newsbrief never changes: a test points it at a fake before starting the bot, and
    a config naming a stand-in Discord never talks to the real one by mistake. :class:`DiscordSetupError` if not."""
    base = discord.http.Route.BASE
    if base != config.api_url:
        raise DiscordSetupError(
            f"[discord] api_url is {config.api_url}, but discord.py sends its requests to {base} "
            "(api_url is for tests, which point discord.py at their stand-in first)"
        )


def _interrupted(exc: BaseException) -> bool:
    """Whether a failed send may pass by itself: a server error or a rate limit that discord.py gave up on (it
    retries 429s and most 5xx itself, five tries), a timeout, a dropped connection."""
    if isinstance(exc, discord.HTTPException) and not isinstance(exc, discord.Forbidden | discord.NotFound):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, NotSentTwice | discord.RateLimited | aiohttp.ClientError | OSError | TimeoutError)


def digest_nonce(ref: str, part: int) -> str:
    """The nonce of one message of a digest: the same for every retry of that message, at most 25 characters
    (Discord's limit), different for every slot and part."""
    return "nb" + hashlib.sha256(f"{ref}#{part}".encode()).hexdigest()[:23]


def _has_ref(message: discord.Message, ref: str) -> bool:
    return any(ref in (embed.footer.text or "") for embed in message.embeds)


class _Client(discord.AutoShardedClient):
    """``AutoShardedClient`` whose ``setup_hook`` (run once by ``login``) syncs the app commands, unless the adapter
    only posts (``newsbrief digest``), and whose IDENTIFYs are paced per ``max_concurrency`` bucket (discord.py's
    own hook waits 5 s before every shard but the first, however many Discord allows at once)."""

    def __init__(self, sync: Callable[[], Awaitable[None]], *, identify_spacing: float, **options: Any) -> None:
        super().__init__(**options)
        self._sync = sync
        self.sync_commands = True
        self.identify_spacing = identify_spacing
        self.max_concurrency = 1  # set from Discord's session start limits before connecting
        self._identified_at: dict[int, float] = {}  # max_concurrency bucket -> loop time of its last IDENTIFY
        self._identified: set[int] = set()  # shards that identified before

    async def setup_hook(self) -> None:
        if self.sync_commands:
            await self._sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        shard = shard_id or 0
        bucket = shard % max(1, self.max_concurrency)
        loop = asyncio.get_running_loop()
        earliest = self._identified_at.get(bucket, -math.inf) + self.identify_spacing
        if shard in self._identified:  # identifying anew after a session was lost
            earliest = max(earliest, loop.time() + self.identify_spacing)
        if earliest > loop.time():
            await asyncio.sleep(earliest - loop.time())
        self._identified_at[bucket] = loop.time()
        self._identified.add(shard)


class DiscordAdapter(ChatAdapterBase):
    """Discord for newsbrief: app commands through :mod:`bot.commands`, digests as a
    :class:`bot.digests.DigestChannel` (:class:`~bot.adapters.ChatAdapterBase`: ``store``, ``clock``,
    ``observe`` ...); :meth:`post_digest` reports each message as soon as Discord returned it."""

    platform = "discord"

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        limiter: RateLimiter,
        clock: Callable[[], datetime],
        token: str,
        observe: Callable[[str, float], None] | None = None,
        guild_ready_timeout: float = 2.0,
        part_retry_delays: Sequence[float] = PART_RETRY_DELAYS_S,
        answer_within: float = ANSWER_WITHIN_S,
        feeds: FeedFinder | None = None,
        identify_spacing: float = IDENTIFY_SPACING_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """An adapter (not connected yet: see :meth:`start`). ``guild_ready_timeout``: how long discord.py waits
        for more guilds to arrive after the last one before it is ready. ``part_retry_delays``: see
        :data:`PART_RETRY_DELAYS_S` (waited out with ``sleep``). ``answer_within``: see :data:`ANSWER_WITHIN_S`.
        ``identify_spacing``: see :data:`IDENTIFY_SPACING_S`."""
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
        self._answer_within = answer_within
        self.config: DiscordConfig = settings.discord
        self._token = token
        intents = discord.Intents.none()
        intents.guilds = True
        shards = list(self.config.shards) if self.config.shards else None
        self.client = _Client(
            self._sync_commands,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
            http_trace=_send_once_trace(),
            shard_ids=shards,
            shard_count=self.config.shard_count,
            identify_spacing=identify_spacing,
        )
        self.tree = app_commands.CommandTree(self.client)
        self._register()
        self._task: asyncio.Task[None] | None = None
        self._logged_in = False

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def login(self, *, sync: bool = True) -> None:
        """Log in over REST (enough to post digests: ``newsbrief digest``); ``sync`` also syncs the commands."""
        check_api_base(self.config)
        self.client.sync_commands = sync
        self._logged_in = True
        await self.client.login(self._token)

    async def start(self) -> None:
        """Log in, connect to the gateway (reconnecting by itself from then on) and wait until ready; the
        commands are synced on the way (``setup_hook``)."""
        await self.login()
        limits = await self.client.fetch_session_start_limits()  # GET /gateway/bot
        self.client.max_concurrency = limits.max_concurrency
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="newsbrief-discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait({ready, self._task}, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()  # the gateway connection failed: raise its error
            raise TimeoutError(f"Discord gateway not ready within {READY_TIMEOUT_S:.0f} s")
        log.info(
            "discord: connected as %s (shards %s of %s)",
            self.client.user,
            ",".join(str(i) for i in sorted(self.client.shards)),
            self.client.shard_count,
        )

    def routes(self) -> list[web.RouteDef]:
        """Discord needs no HTTP route (interactions come over the gateway)."""
        return []

    async def close(self) -> None:
        """Disconnect."""
        if self._logged_in:  # AutoShardedClient.close() fails on a client that never began to log in
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _sync_commands(self) -> None:
        if self.config.guilds:
            for guild_id in self.config.guilds:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    # -- commands ----------------------------------------------------------------------------------------

    def topic_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """The configured topics containing ``current``, as autocomplete choices within Discord's limits: at most
        25, and none whose name is longer than 100 characters (it could not be the choice's value; such a topic
        is typed instead)."""
        wanted = current.strip().lower()
        names = [n for n in sorted(self.settings.topics) if wanted in n.lower() and len(n) <= MAX_CHOICE_TEXT]
        return [app_commands.Choice(name=name, value=name) for name in names[:MAX_CHOICES]]

    def _register(self) -> None:
        async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return self.topic_choices(current)

        @self.tree.command(name="brief", description="A briefing now: a topic, or any words to search")
        @app_commands.describe(topic='a configured topic, words, "a phrase", a OR b, -excluded; or help')
        @app_commands.autocomplete(topic=topics)
        async def brief(interaction: discord.Interaction, topic: str) -> None:
            await self.handle(interaction, f"/brief {topic}")

        @self.tree.command(name="brief-subscribe", description="Post a digest of a topic in this channel")
        @app_commands.describe(
            topic="a configured topic",
            schedule="daily 08:00, weekdays 07:30, hourly, cron, live [quiet=22:00-07:00], or items",
            tz="a time zone such as Europe/Berlin (default UTC)",
            template="full (default), compact, headlines or a template of the config",
        )
        @app_commands.autocomplete(topic=topics)
        @app_commands.default_permissions(manage_channels=True)
        @app_commands.guild_only()
        async def subscribe(
            interaction: discord.Interaction,
            topic: str,
            schedule: str | None = None,
            tz: str | None = None,
            template: str | None = None,
        ) -> None:
            text = f"/brief subscribe {topic}" + (f" {schedule}" if schedule else "") + (f" tz={tz}" if tz else "")
            text += f" template={template}" if template else ""
            await self.handle(interaction, text)

        @self.tree.command(name="brief-unsubscribe", description="Stop this channel's digest of a topic")
        @app_commands.describe(topic="the subscribed topic")
        @app_commands.autocomplete(topic=topics)
        @app_commands.default_permissions(manage_channels=True)
        @app_commands.guild_only()
        async def unsubscribe(interaction: discord.Interaction, topic: str) -> None:
            await self.handle(interaction, f"/brief unsubscribe {topic}")

        @self.tree.command(name="brief-list", description="This channel's digests")
        async def listing(interaction: discord.Interaction) -> None:
            await self.handle(interaction, "/brief list")

    async def handle(self, interaction: discord.Interaction, text: str) -> None:
        """Answer one command: parse it (a usage error is answered at once, to the asker), then answer it through
        :func:`bot.commands.answer` in a worker thread. Ready within :data:`ANSWER_WITHIN_S`, the answer goes
        out directly with its own visibility; else the interaction is deferred (publicly for a briefing, privately
        for everything else) and the answer follows (see :meth:`_follow_up`)."""
        started = time.perf_counter()
        try:
            parsed = parse_command(text)
        except UsageError as exc:
            await self._respond(interaction, Reply(kind="error", text=exc.reply_text(), ephemeral=True))
            self._observe("error", started)
            return
        name = command_name(parsed)
        manager = bool(interaction.permissions.manage_channels) if interaction.guild_id else False
        work = asyncio.ensure_future(asyncio.to_thread(self._answer, parsed, text, interaction, manager))
        done, _ = await asyncio.wait({work}, timeout=self._answer_within)
        if work in done:
            await self._respond(interaction, work.result())
        else:
            public = name == "brief"  # most likely a briefing, which the channel sees; every other answer is private
            await interaction.response.defer(thinking=True, ephemeral=not public)
            await self._follow_up(interaction, await work, public=public)
        self._observe(name, started)

    def _answer(self, parsed: Command, text: str, interaction: discord.Interaction, manager: bool) -> Reply:
        try:
            return answer(
                parsed,
                store=self.store,
                settings=self.settings,
                user=str(interaction.user.id),
                channel=str(interaction.channel_id or ""),
                now=self.clock(),
                limiter=self.limiter,
                platform="discord",
                is_manager=manager,
                feeds=self.feeds,
            )
        except Exception as exc:
            log.exception("discord: %r failed", text)
            return Reply(kind="error", text=f"Sorry, that failed ({exc.__class__.__name__}).", ephemeral=True)

    def _observe(self, name: str, started: float) -> None:
        if self.observe is not None:
            self.observe(name, time.perf_counter() - started)

    @staticmethod
    def _private(reply: Reply) -> bool:
        return reply.ephemeral or reply.kind != "briefing"

    async def _respond(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer an interaction not deferred: the first message is the response, the rest follow-ups, all with
        the reply's visibility (follow-ups after a message response keep their own flags)."""
        private = self._private(reply)
        for message in reply_messages(reply):
            if interaction.response.is_done():
                await interaction.followup.send(**message.send_kwargs(), ephemeral=private)
            else:
                await interaction.response.send_message(**message.send_kwargs(), ephemeral=private)

    async def _follow_up(self, interaction: discord.Interaction, reply: Reply, *, public: bool) -> None:
        """Answer a deferred interaction. Discord turns the first follow-up after a deferral into the deferred
        response, keeping the deferral's visibility whatever the follow-up's flags say; so after a public deferral
        an answer for the asker alone first fills the placeholder with :data:`PRIVATE_NOTE`, then goes out as
        ephemeral follow-ups, and the placeholder is deleted."""
        private = self._private(reply)
        if public and private:
            await interaction.edit_original_response(content=PRIVATE_NOTE, allowed_mentions=NO_MENTIONS)
        for message in reply_messages(reply):
            await interaction.followup.send(**message.send_kwargs(), ephemeral=private)
        if public and private:
            try:
                await interaction.delete_original_response()
            except discord.HTTPException as exc:
                log.warning("discord: cannot delete the placeholder of a private answer (HTTP %s)", exc.status)

    # -- digests -----------------------------------------------------------------------------------------

    async def _channel(self, channel_id: str) -> Any:
        try:
            number = int(channel_id)
        except ValueError:
            raise ChannelUnavailable(f"discord: {channel_id!r} is not a channel id") from None
        channel = self.client.get_channel(number)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(number)
            except discord.NotFound:
                raise ChannelUnavailable(f"discord: unknown channel {channel_id} (deleted?)") from None
            except discord.Forbidden as exc:
                raise ChannelUnavailable(f"discord: missing access to channel {channel_id} ({exc.text})") from None
        return channel

    async def post_digest(
        self, subscription: Subscription, briefing: Briefing, ref: str, *, on_part: PartPosted | None = None
    ) -> str:
        """Post a digest (several messages when it does not fit in one; a new post in a forum channel), each
        with a nonce derived from ``ref`` and ``ref`` in its embed footers; returns
        ``discord:<channel>:<first message id>``. ``on_part`` is told each message as soon as Discord returned it
        (the scheduler writes it down with the claim). :class:`ChannelUnavailable` when the bot may not post
        there."""
        title = f"{subscription.topic} digest"
        messages = digest_messages(briefing, title=title, ref=ref)
        channel = await self._channel(subscription.channel)
        first: str | None = None

        async def send(part: int, message: DiscordMessage) -> str:
            sent = await self._send_message(target, message, digest_nonce(ref, part))
            return f"discord:{subscription.channel}:{sent.id}"

        try:
            if isinstance(channel, discord.ForumChannel):
                head, rest = messages[0], messages[1:]
                sending_once = _SEND_ONCE.set(True)  # a forum post carries no nonce: never sent twice
                try:
                    created = await channel.create_thread(name=title[:100], **head.send_kwargs())
                finally:
                    _SEND_ONCE.reset(sending_once)
                first = f"discord:{subscription.channel}:{created.message.id}"
                if on_part is not None:
                    await on_part(1, first)
                target: Any = created.thread
            else:
                rest, target = messages, channel
            # a retry carries the same nonce: should the failed attempt have got there, it is not posted twice
            return await self.post_parts(
                ref,
                rest,
                send,
                interrupted=_interrupted,
                on_part=on_part,
                first_part=1 if first is None else 2,
                first=first,
            )
        except discord.Forbidden as exc:
            raise ChannelUnavailable(
                f"discord: missing access or permissions in channel {subscription.channel} "
                f"(code {exc.code}: {exc.text})"
            ) from None
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"discord: unknown channel {subscription.channel} (code {exc.code})") from None
        except Exception as exc:
            if not _interrupted(exc):
                raise
            if isinstance(exc, NotSentTwice):
                raise PostInterrupted(
                    f"discord: {exc.reason} creating the forum post, not sent again (Discord may "
                    "have created it): it is looked for first"
                ) from None
            if isinstance(exc, discord.HTTPException):  # after discord.py's own retries
                raise PostInterrupted(f"discord: HTTP {exc.status} from Discord ({exc.text or 'no text'})") from None
            raise PostInterrupted(f"discord: {exc.__class__.__name__}: {exc}") from None

    async def post_item(self, subscription: Subscription, item: Item, ref: str) -> str:
        """Post one item of an items-mode subscription as a compact line (:func:`item_message`; in a forum
        channel, a post of its own), with a nonce derived from ``ref``; returns ``discord:<channel>:<message
        id>``. :class:`ChannelUnavailable` when the bot may not post there, :class:`PostInterrupted` when it may
        pass."""
        message = item_message(item)
        channel = await self._channel(subscription.channel)
        try:
            if isinstance(channel, discord.ForumChannel):
                created = await channel.create_thread(name=(item.headline or "item")[:100], **message.send_kwargs())
                return f"discord:{subscription.channel}:{created.message.id}"
            sent = await self._send_message(channel, message, digest_nonce(ref, 1))
        except discord.Forbidden as exc:
            raise ChannelUnavailable(
                f"discord: missing access or permissions in channel {subscription.channel} "
                f"(code {exc.code}: {exc.text})"
            ) from None
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"discord: unknown channel {subscription.channel} (code {exc.code})") from None
        except discord.HTTPException as exc:
            raise PostInterrupted(f"discord: HTTP {exc.status} from Discord ({exc.text or 'no text'})") from None
        return f"discord:{subscription.channel}:{sent.id}"

    @staticmethod
    async def _send_message(target: Any, message: DiscordMessage, nonce: str) -> discord.Message:
        sent: discord.Message = await target.send(**message.send_kwargs(), nonce=nonce)
        return sent

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """The first message of our digest carrying ``ref`` in an embed footer, posted in the channel since
        ``since`` (in a forum: the opening message of our post made since then); ``None`` when there is none.

        Everything since ``since`` is read, oldest first and page by page, however busy the channel. Raises
        :class:`HistoryUnreadable` when the bot may not read the channel's history (Discord would answer an
        empty one): not knowing is not "not posted"."""
        try:
            channel = await self._channel(subscription.channel)
        except ChannelUnavailable:
            return None  # posting fails too, and pauses the subscription with the reason
        permissions = await bot_permissions(self.client, channel)
        if not permissions.read_message_history:
            raise HistoryUnreadable(
                f"discord: the bot may not read the history of channel {subscription.channel} "
                "(Read Message History), so it cannot tell whether the digest is there; it is "
                "not posted again: grant the permission (see newsbrief doctor)"
            )
        try:
            if isinstance(channel, discord.ForumChannel):
                return await self._find_forum_post(channel, ref, since)
            if not isinstance(channel, discord.abc.Messageable):
                return None
            me = self.client.user
            after = discord.Object(id=discord.utils.time_snowflake(since))
            async for message in channel.history(limit=None, after=after, oldest_first=True):
                if (me is None or message.author.id == me.id) and _has_ref(message, ref):
                    return f"discord:{subscription.channel}:{message.id}"
        except discord.NotFound:
            return None
        except discord.Forbidden as exc:
            raise HistoryUnreadable(
                f"discord: cannot read the history of channel {subscription.channel} (code "
                f"{exc.code}: {exc.text}), so it cannot tell whether the digest is there; it is "
                "not posted again"
            ) from None
        return None

    async def _find_forum_post(self, forum: discord.ForumChannel, ref: str, since: datetime) -> str | None:
        """Our post in ``forum`` made since ``since`` whose opening message carries ``ref``: among the guild's
        active threads, asked over REST (the gateway may not have told of a post made just before a crash; a
        digest post stays active for days, far beyond the misfire grace time)."""
        me = self.client.user
        after = discord.utils.time_snowflake(since)
        threads = await forum.guild.active_threads()
        for thread in sorted(threads, key=lambda t: t.id):
            if thread.parent_id != forum.id or thread.id < after or (me is not None and thread.owner_id != me.id):
                continue
            try:
                first = await thread.fetch_message(thread.id)  # a post's opening message shares its id
            except discord.NotFound:
                continue
            if _has_ref(first, ref):
                return f"discord:{forum.id}:{first.id}"
        return None

    # -- live alerts -------------------------------------------------------------------------------------

    def _alert_message(self, alert: AlertMessage) -> DiscordMessage:
        """An alert as one message: the story's embed (as in a digest) with ``alert.marker`` in its footer, or an
        overflow summary's embed."""
        if alert.story is not None:
            return digest_messages(alert.briefing(self.clock()), title=alert.title, ref=alert.marker)[0]
        embed = discord.Embed(description=fit(escape(alert.summary_text()), MAX_STORY_DESCRIPTION), colour=EMBED_COLOUR)
        embed.set_footer(text=f"{FOOTER_PREFIX}{alert.marker}")
        return DiscordMessage(content=f"**{fit(escape(alert.topic), 200)}: more stories**", embeds=(embed,))

    async def post_alert(self, subscription: Subscription, alert: AlertMessage) -> str:
        """Post a live alert (a follow-up as a reply to its story's message: ``message_reference``) with a nonce
        derived from its marker and the marker in its embed footer; returns ``discord:<channel>:<message id>``.
        :class:`ChannelUnavailable` when the bot may not post there, :class:`PostInterrupted` when it is unknown
        whether the message got there."""
        channel = await self._channel(subscription.channel)
        if not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable(f"discord: channel {subscription.channel} takes no messages (a forum?)")
        kwargs = self._alert_message(alert).send_kwargs()
        if alert.thread_ref:
            kwargs["reference"] = discord.MessageReference(
                message_id=int(_id_of(alert.thread_ref)), channel_id=int(subscription.channel), fail_if_not_exists=False
            )
        try:
            sent: discord.Message = await channel.send(**kwargs, nonce=digest_nonce(alert.marker, 1))
        except discord.Forbidden as exc:
            raise ChannelUnavailable(
                f"discord: missing access or permissions in channel {subscription.channel} "
                f"(code {exc.code}: {exc.text})"
            ) from None
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"discord: unknown channel {subscription.channel} (code {exc.code})") from None
        except Exception as exc:
            if not _interrupted(exc):
                raise
            raise PostInterrupted(f"discord: {exc.__class__.__name__}: {exc}") from None
        return f"discord:{subscription.channel}:{sent.id}"

    async def edit_alert(self, subscription: Subscription, message_ref: str, alert: AlertMessage) -> None:
        """Replace a posted alert in place (message edit: ``PATCH`` of the message), keeping its marker."""
        channel = await self._channel(subscription.channel)
        if not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable(f"discord: channel {subscription.channel} takes no messages (a forum?)")
        message = channel.get_partial_message(int(_id_of(message_ref)))  # type: ignore[attr-defined]
        await message.edit(**self._alert_message(alert).send_kwargs())

    async def find_alert(
        self, subscription: Subscription, marker: str, since: datetime, *, thread_ref: str | None = None
    ) -> str | None:
        """This bot's alert carrying ``marker`` in an embed footer, posted in the channel since ``since`` (replies
        are in the channel's history too); ``None`` when there is none. :class:`HistoryUnreadable` when the bot
        may not read the history."""
        try:
            channel = await self._channel(subscription.channel)
        except ChannelUnavailable:
            return None
        if not isinstance(channel, discord.abc.Messageable):
            return None
        permissions = await bot_permissions(self.client, channel)
        if not permissions.read_message_history:
            raise HistoryUnreadable(
                f"discord: the bot may not read the history of channel {subscription.channel} (Read Message "
                "History), so it cannot tell whether a live alert is there; it is not posted again"
            )
        me = self.client.user
        after = discord.Object(id=discord.utils.time_snowflake(since))
        try:
            async for message in channel.history(limit=None, after=after, oldest_first=True):
                if (me is None or message.author.id == me.id) and any(
                    marker in (embed.footer.text or "").split(" · ") for embed in message.embeds
                ):
                    return f"discord:{subscription.channel}:{message.id}"
        except discord.NotFound:
            return None
        except discord.Forbidden as exc:
            raise HistoryUnreadable(
                f"discord: cannot read the history of channel {subscription.channel} (code {exc.code}: {exc.text})"
            ) from None
        return None


def _id_of(message_ref: str) -> str:
    """The message id of a reference ``discord:<channel>:<message id>``."""
    return message_ref.rsplit(":", 1)[-1]
