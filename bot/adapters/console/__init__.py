"""The console adapter: briefings rendered with rich, commands read at a ``newsbrief>`` prompt.

The whole bot is usable with no Slack or Discord account, and end-to-end tests drive it with an
:class:`io.StringIO` as input and ``Console(file=StringIO())`` as output.
"""

from bot.adapters.console._adapter import PROMPT, QUIT_WORDS, ConsoleAdapter, console_replier
from bot.adapters.console.render import render_briefing, render_digest, render_reply

__all__ = [
    "PROMPT",
    "QUIT_WORDS",
    "ConsoleAdapter",
    "console_replier",
    "render_briefing",
    "render_digest",
    "render_reply",
]
