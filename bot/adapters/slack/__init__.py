"""The Slack adapter (Socket Mode or HTTP Events API): ``/brief`` through :mod:`bot.commands`, digests rendered
as Block Kit. The only package that imports slack_bolt and slack_sdk."""

from bot.adapters.slack._adapter import (
    DIGEST_EVENT,
    LIVE_EVENT,
    PAUSING_ERRORS,
    POST_INTERVAL_S,
    SlackAdapter,
    SlackSetupError,
)
from bot.adapters.slack._doctor import REQUIRED_SCOPES, check_slack
from bot.adapters.slack.render import SlackMessage, digest_messages, escape, reply_messages

__all__ = [
    "DIGEST_EVENT",
    "LIVE_EVENT",
    "PAUSING_ERRORS",
    "POST_INTERVAL_S",
    "REQUIRED_SCOPES",
    "SlackAdapter",
    "SlackMessage",
    "SlackSetupError",
    "check_slack",
    "digest_messages",
    "escape",
    "reply_messages",
]
