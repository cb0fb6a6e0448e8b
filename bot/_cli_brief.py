"""CLI ``newsbrief brief TEXT... [--json] [--since 72h]``: one briefing from the store, printed
(../shared/SPEC.md, "CLI").

An edge: it reads the clock and opens the store, then hands both to :func:`bot.briefing.make_briefing`.
Nothing found is not a failure: the helpful text (or an empty ``stories`` list with ``--json``), exit 0.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from bot._cli_common import open_store
from bot.briefing import Briefing, NoMatch, briefing_json, format_briefing, make_briefing
from bot.config import ConfigError, Settings, parse_duration

__all__ = ["cmd_brief"]


def cmd_brief(args: argparse.Namespace, settings: Settings) -> int:
    """Print the briefing for ``args.text`` (a topic name or words) over the last ``args.since``."""
    try:
        seconds = parse_duration(args.since)
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from exc
    if seconds <= 0:
        raise ConfigError(f"--since: must be longer than zero, got {args.since!r}")
    query = " ".join(args.text).strip()
    if not query:
        raise ConfigError("brief: give a topic name or some words to search for")
    with open_store(settings) as store:
        now = datetime.now(UTC)
        result = make_briefing(store, query, topics=settings.topics, now=now, window=timedelta(seconds=seconds))
    if args.json:
        if isinstance(result, NoMatch):
            result = Briefing(
                query=result.query, generated_at=now, stories=(), more=0, window_hours=result.window_hours
            )
        print(json.dumps(briefing_json(result), indent=2, ensure_ascii=False))
    else:
        print(format_briefing(result))
    return 0
