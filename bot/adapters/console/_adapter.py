"""The console loop: prompt, read a line, answer it through :mod:`bot.commands`, print the rendered reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.text import Text

from bot.adapters.console._render import render_reply
from bot.commands import RateLimiter, Reply, UsageError, answer, parse_command
from bot.config import Settings
from bot.store import Store

__all__ = ["PROMPT", "QUIT_WORDS", "ConsoleAdapter", "console_replier"]

log = logging.getLogger("newsbrief.console")

PROMPT = "newsbrief> "
QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit"})
CONSOLE_ID = "console"
"""The user and channel id of everything typed at the console."""


def console_replier(
    store: Store, settings: Settings, limiter: RateLimiter, *, now: Callable[[], datetime]
) -> Callable[[str], Reply]:
    """A reply function for the console: parses what was typed and answers it as user and channel "console"
    at ``now()``; bad usage becomes an error reply carrying the usage text."""

    def reply(text: str) -> Reply:
        try:
            command = parse_command(text)
        except UsageError as exc:
            return Reply(kind="error", text=exc.reply_text(), ephemeral=True)
        return answer(
            command, store=store, settings=settings, user=CONSOLE_ID, channel=CONSOLE_ID, now=now(), limiter=limiter,
            platform="console", is_manager=True,
        )

    return reply


class ConsoleAdapter:
    """Reads commands from ``stream`` and prints the replies on ``console`` until quit, exit or end of input.

    ``echo`` prints each line read after the prompt (for piped input, which a terminal does not echo). A
    failure while answering is printed in red as one line and the loop goes on: never a traceback.
    """

    def __init__(self, stream: TextIO, console: Console, reply: Callable[[str], Reply], *, echo: bool = False) -> None:
        """An adapter reading ``stream``, printing on ``console`` and answering through ``reply``."""
        self.stream = stream
        self.console = console
        self.reply = reply
        self.echo = echo

    def run(self) -> int:
        """Run the loop until quit/exit/EOF (or Ctrl-C); returns how many commands were answered."""
        answered = 0
        while True:
            self.console.print(PROMPT, end="", style="bold green", markup=False, highlight=False)
            try:
                line = self.stream.readline()
            except KeyboardInterrupt:
                line = ""
            if not line:  # end of input
                self.console.print()
                return answered
            text = line.strip()
            if self.echo:
                self.console.print(text, markup=False, highlight=False)
            if not text:
                continue
            if text.lower() in QUIT_WORDS:
                return answered
            self.handle(text)
            answered += 1

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
