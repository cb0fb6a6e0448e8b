"""Chat adapters: each turns a platform's messages into :mod:`bot.commands` calls and renders the replies.

:mod:`bot.adapters.console` needs nothing; :mod:`bot.adapters.slack` and :mod:`bot.adapters.discord` need their
extras. :class:`ChatAdapter` is what the runner needs from any of them; :class:`ChatAdapterBase` holds what Slack
and Discord share (the common constructor settings and the loop posting a digest split into parts), and
:class:`Pacer` spaces posts to a channel.
"""

from bot.adapters._base import PART_RETRY_DELAYS_S, ChatAdapter, ChatAdapterBase, Pacer, Sleep

__all__ = ["PART_RETRY_DELAYS_S", "ChatAdapter", "ChatAdapterBase", "Pacer", "Sleep"]
