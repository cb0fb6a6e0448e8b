"""The console loop: prompt, read a line, answer it through :mod:`bot.commands`, print the rendered reply."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.text import Text

from bot.adapters.console.render import render_digest, render_item, render_reply
from bot.alerts import AlertMessage
from bot.briefing import Briefing, Item
from bot.commands import RateLimiter, Reply, UsageError, answer, command_name, parse_command
from bot.config import Settings
from bot.feeds import FeedFinder
from bot.store import Store, Subscription

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["PROMPT", "QUIT_WORDS", "ConsoleAdapter", "console_replier"]

log = logging.getLogger("newsbrief.console")

PROMPT = "newsbrief> "
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit"})
CONSOLE_ID = "console"
"""The user and channel id of everything typed at the console."""


def console_replier(
    store: Store,
    settings: Settings,
    limiter: RateLimiter,
    *,
    now: Callable[[], datetime],
    observe: Callable[[str, float], None] | None = None,
    feeds: FeedFinder | None = None,
) -> Callable[[str], Reply]:
    """A reply function for the console: parses what was typed and answers it as user and channel "console"
    at ``now()``; bad usage becomes an error reply carrying the usage text. ``observe`` is told each command's
    name ("error" for bad usage) and how long answering took (seconds, measured with ``time.perf_counter``);
    ``feeds`` finds feeds for ``/brief feeds add`` (:func:`bot.commands.answer`)."""

    def reply(text: str) -> Reply:
        started = time.perf_counter()
        name = "error"
        try:
            command = parse_command(text)
        except UsageError as exc:
            result = Reply(kind="error", text=exc.reply_text(), ephemeral=True)
        else:
            name = command_name(command)
            result = answer(
                command,
                store=store,
                settings=settings,
                user=CONSOLE_ID,
                channel=CONSOLE_ID,
                now=now(),
                limiter=limiter,
                platform="console",
                is_manager=True,
                feeds=feeds,
            )
        if observe is not None:
            observe(name, time.perf_counter() - started)
        return result

    return reply


class ConsoleAdapter:
    """Reads commands from ``stream`` and prints the replies on ``console`` until quit, exit or end of input.

    ``echo`` prints each line read after the prompt (for piped input, which a terminal does not echo). A
    failure while answering is printed in red as one line and the loop goes on: never a traceback.
    """

    platform = "console"

    def __init__(self, stream: TextIO, console: Console, reply: Callable[[str], Reply], *, echo: bool = False) -> None:
        """An adapter reading ``stream``, printing on ``console`` and answering through ``reply``."""
        self.stream = stream
        self.console = console
        self.reply = reply
        self.echo = echo
        self.posted = 0
        self._alerts: dict[str, str] = {}  # marker -> reference of the alerts printed

    def run(self) -> int:
        """Run the loop until quit/exit/EOF (or Ctrl-C); returns how many commands were answered."""
        answered = 0
        while True:
            self.console.print(PROMPT, end="", style="bold green", markup=False, highlight=False)
            try:
                line = self.stream.readline()
            except KeyboardInterrupt:
                line = ""
            text = self._take(line)
            if text is None:
                return answered
            if text:
                self.handle(text)
                answered += 1

    def _take(self, line: str) -> str | None:
        """A line read: the command to answer, "" for nothing, ``None`` to stop (quit, exit, end of input)."""
        if not line:  # end of input
            self.console.print()
            return None
        text = line.strip()
        if self.echo:
            self.console.print(text, markup=False, highlight=False)
        return None if text.lower() in QUIT_WORDS else text

    async def serve(self, stop: asyncio.Event) -> int:
        """The loop of :meth:`run` inside a running bot: lines are read by a daemon thread (a blocked read never
        holds up shutdown) and answered in a worker thread, so scheduled digests print meanwhile. Sets ``stop``
        on quit, exit or end of input; returns how many commands were answered."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            while True:
                try:
                    line = self.stream.readline()
                except (OSError, ValueError, KeyboardInterrupt):
                    line = ""
                loop.call_soon_threadsafe(lines.put_nowait, line)
                if not line:
                    return

        threading.Thread(target=read, name="newsbrief-console-input", daemon=True).start()
        answered = 0
        try:
            while not stop.is_set():
                self.console.print(PROMPT, end="", style="bold green", markup=False, highlight=False)
                text = self._take(await lines.get())
                if text is None:
                    return answered
                if text:
                    await asyncio.to_thread(self.handle, text)
                    answered += 1
            return answered
        finally:
            stop.set()

    async def start(self) -> None:
        """Nothing to connect: the terminal is there (:class:`bot.adapters.ChatAdapter`)."""

    def routes(self) -> list[web.RouteDef]:
        """The console serves no HTTP route."""
        return []

    async def close(self) -> None:
        """Nothing to disconnect."""

    async def post_digest(self, subscription: Subscription, briefing: Briefing, ref: str) -> str:
        """Print a subscription's digest (the console's "channel" is the terminal); returns its reference."""
        self.posted += 1
        self.console.print()
        self.console.print(render_digest(subscription.channel, subscription.topic, briefing))
        self.console.print()
        return f"console:{subscription.channel}:{self.posted}"

    async def post_item(self, subscription: Subscription, item: Item, ref: str) -> str:
        """Print one item of an items-mode subscription as a line; returns its reference."""
        self.posted += 1
        self.console.print(render_item(subscription.channel, subscription.topic, item))
        return f"console:{subscription.channel}:{self.posted}"

    async def find_digest(self, subscription: Subscription, ref: str, since: datetime) -> str | None:
        """A terminal keeps nothing to look in: a digest whose poster died unrecorded is printed again."""
        return None

    # -- live alerts ----------------------------------------------------------------------------------

    async def post_alert(self, subscription: Subscription, alert: AlertMessage) -> str:
        """Print a live alert (a follow-up indented under "↳ reply to <ref>"); returns
        ``console:<channel>:<n>``."""
        self.posted += 1
        ref = f"console:{subscription.channel}:{self.posted}"
        head = f"[{subscription.channel}] " + (f"↳ reply to {alert.thread_ref}: " if alert.thread_ref else "")
        self.console.print(Text(head + alert.text(), style="bold" if alert.story else ""), markup=False)
        self._alerts[alert.marker] = ref
        return ref

    async def edit_alert(self, subscription: Subscription, message_ref: str, alert: AlertMessage) -> None:
        """A terminal cannot change what it printed: the new version is printed as an "edited" line."""
        self.console.print(Text(f"[{subscription.channel}] edited {message_ref}: {alert.text()}"), markup=False)

    async def find_alert(
        self, subscription: Subscription, marker: str, since: datetime, *, thread_ref: str | None = None
    ) -> str | None:
        """The alert printed with ``marker`` by this process (a terminal keeps nothing across restarts)."""
        return self._alerts.get(marker)

    def handle(self, text: str) -> None:
        """Answer one command and print the reply (errors in red)."""
        try:
            reply = self.reply(text)
        except Exception as exc:  # the prompt must survive any failure
            log.debug("console command %r failed", text, exc_info=True)
            self.console.print(Text(f"error: {exc.__class__.__name__}: {exc}", style="red"))
            return
        self.console.print(render_reply(reply))
        self.console.print()
