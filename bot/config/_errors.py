"""pydantic's validation errors told as newsbrief's one-line config errors: the key path (``feeds[2].url``) and what
was expected (``expected a string, got int 5``), never more than one line, never a secret's value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

__all__ = ["SECRET_VARIABLES", "describe", "key_path"]

SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
)
"""The secrets newsbrief reads, from the environment only."""
_SECRET_KEYS = {
    "slack.bot_token": "SLACK_BOT_TOKEN",
    "slack.token": "SLACK_BOT_TOKEN",
    "slack.app_token": "SLACK_APP_TOKEN",
    "slack.signing_secret": "SLACK_SIGNING_SECRET",
    "slack.client_secret": "SLACK_CLIENT_SECRET",
    "slack.client_id": "SLACK_CLIENT_ID",
    "discord.token": "DISCORD_TOKEN",
    "discord.bot_token": "DISCORD_TOKEN",
}

_KINDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_ARRAYS = {"feeds", "subscriptions"}
"""The sections that are arrays of tables (``[[feeds]]``)."""
_MISSING = {
    "feeds": "every [[feeds]] needs a url",
    "subscriptions": "every [[subscriptions]] needs platform, channel and topic",
}
"""What a missing required key of a section says about it."""


def key_path(loc: Sequence[int | str], at: str = "") -> str:
    """``("feeds", 2, "url")`` as ``feeds[2].url``; ``at`` (a path such as ``mode`` or ``[1]``) is put below."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    if at:
        path += at if at.startswith("[") or not path else f".{at}"
    return path


def _secret(path: str) -> str | None:
    """The refusal of a key that looks like a secret (a token or signing secret): where it belongs instead."""
    lowered = path.lower()
    variable = _SECRET_KEYS.get(lowered) or next((v for v in SECRET_VARIABLES if v.lower() == lowered), None)
    if variable is None and not re.search(r"token|secret|password", lowered):
        return None
    where_to = variable or f"its environment variable ({', '.join(SECRET_VARIABLES)})"
    return f"secrets are not read from the config file; put it in the environment (or a .env file) as {where_to}"


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return f"{type(value).__name__} {value!r}"


def describe(error: ErrorDetails, section: str | None = None) -> tuple[str, str]:
    """The key path and the problem (one line each) of one of pydantic's errors (``section``: the one validated,
    when its name is not the path's first key). A key that looks like a secret's is refused before its value is
    looked at, and never shown."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    loc = tuple(error["loc"])
    if kind in ("unknown_key", "unknown_section"):
        path = key_path(loc, str(ctx["key"]))
        refusal = _secret(path)
        if refusal is not None:
            return path, refusal
        if kind == "unknown_section":
            return path, f"unknown section (known: {ctx['known']})"
        return path, f"unknown key (known keys: {ctx['known']})"
    path = key_path(loc, str(ctx.get("at") or ""))
    if kind == "newsbrief":
        return path, str(ctx["problem"])
    if kind == "missing":
        hint = _MISSING.get(section or (str(loc[0]) if loc else ""))
        return path, f"missing ({hint})" if hint else "missing"
    value = error.get("input")
    if kind in _KINDS:
        if len(loc) == 1 and kind in ("model_type", "dict_type", "tuple_type", "list_type"):
            got = type(value).__name__
            if loc[0] in _ARRAYS:
                return path, f"expected an array of tables ([[{loc[0]}]]), got {got}"
            return path, f"expected a table ([{loc[0]}]), got {got}"
        if kind in ("model_type", "dict_type"):
            return path, f"expected a table, got {type(value).__name__}"
        return path, f"expected {_KINDS[kind]}, got {_got(value)}"
    if kind == "value_error" and "error" in ctx:
        return path, str(ctx["error"])
    return path, " ".join(error["msg"].split())
