"""``python -m testkit.bot_on_fake_discord ARGS``: ``newsbrief ARGS`` with discord.py pointed at the fake Discord
that the config's ``[discord] api_url`` names (``--config PATH`` among ARGS).

For the tests and the soak, which run the bot as a process of its own: discord.py's REST base and gateway are
globals of the library, which the bot never changes (it only checks that they match ``api_url``), so the process
that stands in for a deployment sets them first, as the in-process tests do with ``FakeDiscord.patch_discord_py``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from bot.__main__ import main
from testkit.fakediscord import discord_py_pointed_at


def _api_url(args: list[str]) -> str | None:
    if "--config" not in args or args.index("--config") + 1 >= len(args):
        return None
    with Path(args[args.index("--config") + 1]).open("rb") as file:
        section = tomllib.load(file).get("discord", {})
    url = section.get("api_url") if isinstance(section, dict) else None
    return url if isinstance(url, str) else None


def run(args: list[str]) -> int:
    api_url = _api_url(args)
    if api_url is None:
        return main(args)
    with discord_py_pointed_at(api_url):
        return main(args)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
