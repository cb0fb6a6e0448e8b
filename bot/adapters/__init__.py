"""Chat adapters: each turns a platform's messages into :mod:`bot.commands` calls and renders the replies.

The adapters: :mod:`bot.adapters.console`, :mod:`bot.adapters.slack` and :mod:`bot.adapters.discord`.
"""
