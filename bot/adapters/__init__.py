"""Chat adapters: each turns a platform's messages into :mod:`bot.commands` calls and renders the replies.

Only :mod:`bot.adapters.console` exists so far; Slack and Discord come with later issues.
"""
