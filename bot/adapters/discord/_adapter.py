"""The Discord adapter: a ``discord.Client`` with app commands; digests go out with ``channel.send``.

The only module that talks to Discord. It converts at the edge: an interaction becomes a :mod:`bot.commands`
command answered as Discord user and channel ids; a :class:`~bot.commands.Reply` or a digest's
:class:`~bot.briefing.Briefing` becomes embeds (:mod:`._render`).

- Commands: ``/brief topic:`` (autocomplete from the configured topics), ``/brief-subscribe topic: schedule:
  tz:``, ``/brief-unsubscribe topic:``, ``/brief-list``; synced at start to ``[discord] guilds`` (instant) or
  globally. Same grammar and answers as everywhere (``bot.commands``).
- Every interaction is answered within Discord's 3 s: briefings are deferred, then sent as a follow-up.
- Subscribing needs Manage Channels: the commands carry ``default_member_permissions`` and the permission is
  checked again when the command runs.
- Digests: ``channel.send`` with a nonce derived from the slot (``enforce_nonce``: a retry within minutes cannot
  post twice) and the slot's reference in every embed footer, so that after a crash between posting and
  recording, :meth:`DiscordAdapter.find_digest` finds it in the channel history (in a forum channel, which gets
  a new post per digest, among the forum's active posts). ``allowed_mentions`` is none on every message: article
  text never pings.
- Forbidden (missing access or permissions) and NotFound (deleted channel) pause the subscription with the
  reason (:class:`bot.digests.ChannelUnavailable`); 429s are waited out by discord.py; a server error after its
  retries, a timeout or a dropped connection interrupts the digest (:class:`bot.digests.PostInterrupted`): it is
  looked for and tried again later. The gateway reconnects by itself and due digests are posted by the scheduler
  regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import aiohttp
import discord
import discord.gateway
import yarl
from aiohttp import web
from discord import app_commands

from bot.adapters.discord._render import DiscordMessage, digest_messages, reply_messages
from bot.briefing import Briefing
from bot.commands import RateLimiter, Reply, UsageError, answer, command_name, parse_command
from bot.config import DiscordConfig, Settings
from bot.digests import ChannelUnavailable, PostInterrupted
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

__all__ = ["DiscordAdapter", "digest_nonce"]

log = logging.getLogger("newsbrief.discord")

NO_MENTIONS = discord.AllowedMentions.none()
DEFAULT_API = DiscordConfig().api_url
HISTORY_LIMIT = 200
"""How many recent messages a crash check reads at most."""
PART_RETRY_DELAYS_S = (2.0, 5.0)
"""The waits before sending a later message of a split digest again after a server error or a dropped
connection (the messages before it are in the channel already, so the rest is completed in place). The retry
carries the same nonce: should the failed attempt have got there, Discord does not post it twice."""
READY_TIMEOUT_S = 60.0


def _interrupted(exc: BaseException) -> bool:
    """Whether a failed send may pass by itself: a server error or a rate limit that discord.py gave up on (it
    retries 429s and most 5xx itself, five tries), a timeout, a dropped connection."""
    if isinstance(exc, discord.HTTPException) and not isinstance(exc, discord.Forbidden | discord.NotFound):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, discord.RateLimited | aiohttp.ClientError | OSError | TimeoutError)


async def _no_setup() -> None:
    """A ``setup_hook`` that does nothing (posting from the CLI syncs no commands)."""


def digest_nonce(ref: str, part: int) -> str:
    """The nonce of one message of a digest: the same for every retry of that message, at most 25 characters
    (Discord's limit), different for every slot and part."""
    return "nb" + hashlib.sha256(f"{ref}#{part}".encode()).hexdigest()[:23]


class DiscordAdapter:
    """Discord for newsbrief: app commands through :mod:`bot.commands`, digests as a
    :class:`bot.digests.DigestChannel`. ``store`` is handed to :func:`bot.commands.answer` only; ``clock`` is
    the time source; ``observe`` is told each command's name and how long answering took."""

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
        feeds: FeedFinder | None = None,
    ) -> None:
        """An adapter (not connected yet: see :meth:`start`). ``guild_ready_timeout``: how long discord.py waits
        for more guilds to arrive after the last one before it is ready. ``part_retry_delays``: see
        :data:`PART_RETRY_DELAYS_S`."""
        self._part_retry_delays = tuple(part_retry_delays)
        self.config: DiscordConfig = settings.discord
        self.settings = settings
        self.store = store
        self.limiter = limiter
        self.clock = clock
        self.observe = observe
        self.feeds = feeds  # for /brief feeds add (bot.commands.answer)
        self._token = token
        intents = discord.Intents.none()
        intents.guilds = True
        self.client = discord.Client(intents=intents, allowed_mentions=NO_MENTIONS,
                                     guild_ready_timeout=guild_ready_timeout)  # fmt: skip
        self.tree = app_commands.CommandTree(self.client)
        self._register()
        self.client.setup_hook = self._sync_commands  # type: ignore[method-assign]
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def login(self, *, sync: bool = True) -> None:
        """Log in over REST (enough to post digests: ``newsbrief digest``); ``sync`` also syncs the commands."""
        discord.http.Route.BASE = self.config.api_url
        if not sync:
            self.client.setup_hook = _no_setup  # type: ignore[method-assign]
        await self.client.login(self._token)

    async def start(self) -> None:
        """Log in, connect to the gateway (reconnecting by itself from then on) and wait until ready; the
        commands are synced on the way (``setup_hook``)."""
        await self.login()
        if self.config.api_url != DEFAULT_API:  # a stand-in Discord: its gateway is wherever it says
            _, url, _ = await self.client.http.get_bot_gateway()
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="newsbrief-discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait({ready, self._task}, timeout=READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()  # the gateway connection failed: raise its error
            raise TimeoutError(f"Discord gateway not ready within {READY_TIMEOUT_S:.0f} s")
        log.info("discord: connected as %s", self.client.user)

    def routes(self) -> list[web.RouteDef]:
        """Discord needs no HTTP route (interactions come over the gateway)."""
        return []

    async def close(self) -> None:
        """Disconnect."""
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

    def _register(self) -> None:
        async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            wanted = current.strip().lower()
            names = [name for name in sorted(self.settings.topics) if wanted in name.lower()]
            return [app_commands.Choice(name=name, value=name) for name in names[:25]]

        @self.tree.command(name="brief", description="A briefing now: a topic, or any words to search")
        @app_commands.describe(topic="a configured topic, words, \"a phrase\", a OR b, -excluded; or help")
        @app_commands.autocomplete(topic=topics)
        async def brief(interaction: discord.Interaction, topic: str) -> None:
            await self.handle(interaction, f"/brief {topic}")

        @self.tree.command(name="brief-subscribe", description="Post a digest of a topic in this channel")
        @app_commands.describe(topic="a configured topic", schedule="daily 08:00, weekdays 07:30, hourly or cron",
                               tz="a time zone such as Europe/Berlin (default UTC)")  # fmt: skip
        @app_commands.autocomplete(topic=topics)
        @app_commands.default_permissions(manage_channels=True)
        @app_commands.guild_only()
        async def subscribe(interaction: discord.Interaction, topic: str, schedule: str | None = None,
                            tz: str | None = None) -> None:  # fmt: skip
            text = f"/brief subscribe {topic}" + (f" {schedule}" if schedule else "") + (f" tz={tz}" if tz else "")
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
        """Answer one command: parse it, check the rights subscribing needs, defer briefings (they can take
        longer than Discord's 3 s), answer through :func:`bot.commands.answer` in a worker thread, send the
        reply (help, lists and errors only to the asker)."""
        started = time.perf_counter()
        name = "error"
        user = str(interaction.user.id)
        channel = str(interaction.channel_id or "")
        try:
            parsed = parse_command(text)
        except UsageError as exc:
            await self._send(interaction, Reply(kind="error", text=exc.reply_text(), ephemeral=True))
            self._observe(name, started)
            return
        name = command_name(parsed)
        manager = bool(interaction.permissions.manage_channels) if interaction.guild_id else False
        slow = name in ("brief", "feeds")  # a briefing, or a feed fetched: may take longer than 3 s
        if slow:
            await interaction.response.defer(thinking=True)
        try:
            reply = await asyncio.to_thread(
                answer, parsed, store=self.store, settings=self.settings, user=user, channel=channel,
                now=self.clock(), limiter=self.limiter, platform="discord", is_manager=manager, feeds=self.feeds,
            )  # fmt: skip
        except Exception as exc:
            log.exception("discord: %r failed", text)
            reply = Reply(kind="error", text=f"Sorry, that failed ({exc.__class__.__name__}).", ephemeral=True)
        await self._send(interaction, reply)
        self._observe(name, started)

    def _observe(self, name: str, started: float) -> None:
        if self.observe is not None:
            self.observe(name, time.perf_counter() - started)

    async def _send(self, interaction: discord.Interaction, reply: Reply) -> None:
        messages = reply_messages(reply)
        private = reply.ephemeral or reply.kind != "briefing"
        for message in messages:
            kwargs = message.send_kwargs()
            if interaction.response.is_done():
                await interaction.followup.send(**kwargs, ephemeral=private)
            else:
                await interaction.response.send_message(**kwargs, ephemeral=private)

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

    async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
        """Post a digest (several messages when it does not fit in one; a new post in a forum channel), each
        with a nonce derived from ``ref`` and ``ref`` in its embed footers; returns
        ``discord:<channel>:<first message id>``. :class:`ChannelUnavailable` when the bot may not post there."""
        title = f"{subscription.topic} digest"
        messages = digest_messages(briefing, title=title, ref=ref)
        channel = await self._channel(subscription.channel)
        first: int | None = None
        try:
            if isinstance(channel, discord.ForumChannel):
                head, rest = messages[0], messages[1:]
                created = await channel.create_thread(name=title[:100], **head.send_kwargs())
                first = created.message.id
                target: Any = created.thread
            else:
                rest, target = messages, channel
            for part, message in enumerate(rest, 1 if first is None else 2):
                delays = self._part_retry_delays if first is not None else ()
                for attempt in range(len(delays) + 1):
                    try:
                        sent = await self._send_message(target, message, digest_nonce(ref, part))
                        break
                    except Exception as exc:
                        if attempt == len(delays) or not _interrupted(exc):
                            raise
                        log.warning("digest %s part %d: %s; sending it again", ref, part, exc.__class__.__name__)
                        await asyncio.sleep(delays[attempt])
                first = first if first is not None else sent.id
        except discord.Forbidden as exc:
            raise ChannelUnavailable(f"discord: missing access or permissions in channel {subscription.channel} "
                                     f"(code {exc.code}: {exc.text})") from None  # fmt: skip
        except discord.NotFound as exc:
            raise ChannelUnavailable(f"discord: unknown channel {subscription.channel} (code {exc.code})") from None
        except Exception as exc:
            if not _interrupted(exc):
                raise
            if isinstance(exc, discord.HTTPException):  # after discord.py's own retries
                raise PostInterrupted(f"discord: HTTP {exc.status} from Discord ({exc.text or 'no text'})") from None
            raise PostInterrupted(f"discord: {exc.__class__.__name__}: {exc}") from None
        return f"discord:{subscription.channel}:{first}"

    @staticmethod
    async def _send_message(target: Any, message: DiscordMessage, nonce: str) -> discord.Message:
        sent: discord.Message = await target.send(**message.send_kwargs(), nonce=nonce)
        return sent

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """A digest message of ours carrying ``ref`` in an embed footer, posted in the channel since ``since``
        (in a forum: the first message of one of our active posts made since then); ``None`` when there is none."""
        try:
            channel = await self._channel(subscription.channel)
        except ChannelUnavailable:
            return None
        if isinstance(channel, discord.ForumChannel):
            return await self._find_forum_post(channel, ref, since)
        if not isinstance(channel, discord.abc.Messageable):
            return None
        me = self.client.user
        try:
            async for message in channel.history(limit=HISTORY_LIMIT, after=since, oldest_first=False):
                if me is not None and message.author.id != me.id:
                    continue
                if any(ref in (embed.footer.text or "") for embed in message.embeds):
                    return f"discord:{subscription.channel}:{message.id}"
        except (discord.Forbidden, discord.NotFound):
            return None
        return None

    async def _find_forum_post(self, forum: discord.ForumChannel, ref: str, since: datetime) -> str | None:
        """Our post in ``forum`` whose first message carries ``ref``: the forum's active threads (the gateway
        sends them with the guild; a digest post stays active for days, far beyond the misfire grace time)."""
        me = self.client.user
        for thread in forum.threads:
            if me is not None and thread.owner_id != me.id:
                continue
            if thread.created_at is not None and thread.created_at < since:
                continue
            try:
                first = thread.starter_message or await thread.fetch_message(thread.id)
            except (discord.Forbidden, discord.NotFound):
                continue
            if any(ref in (embed.footer.text or "") for embed in first.embeds):
                return f"discord:{forum.id}:{first.id}"
        return None
