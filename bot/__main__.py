"""The ``newsbrief`` command line (../shared/SPEC.md, "CLI").

``run`` is the bot: the scheduler polls feeds and posts digests, the Slack and Discord adapters answer commands
when their tokens are in the environment (the console adapter without them); the other commands: ``poll``, ``brief``,
``digest``, ``feeds``, ``subs``, ``doctor``, ``db``, ``articles`` and ``stories``; ``worker`` and ``jobs`` run and
show the ingestion jobs of ``[jobs] engine = "procrastinate"`` (docs/scaling.md). Environment variables may come from a
``.env`` file (``$NEWSBRIEF_ENV_FILE``, else ``./.env``); the real environment wins.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import load_dotenv
from dotenv.parser import parse_stream

import bot
from bot._logging import configure_logging
from bot.errors import EXIT_FAILURE, EXIT_USAGE, ConfigError, NewsbriefError

if TYPE_CHECKING:  # the config package (and pydantic) load once a command reads the config: not for --version
    from bot.config import Settings

EXIT_OK = 0

CONFIG_ENV = "NEWSBRIEF_CONFIG"
DEFAULT_CONFIG = Path("newsbrief.toml")

# The repository root: the parent of the ``bot`` package directory (meaningful in a source checkout).
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    """The loaded configuration: the parsed TOML and where it came from (``None`` = built-in defaults)."""

    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def settings(self) -> Settings:
        """The validated settings (raises :class:`ConfigError` naming the file and key at fault)."""
        from bot.config import settings_from_mapping

        return settings_from_mapping(self.data, path=self.path)


def load_config(explicit: str | None) -> Config:
    """Find and parse the configuration.

    ``explicit`` (``--config``) wins, then ``$NEWSBRIEF_CONFIG``, then ``./newsbrief.toml`` when present,
    else the built-in defaults. A file named explicitly or by the environment must exist.
    """
    if explicit is not None:
        return _read_config(Path(explicit), origin="--config")
    env = os.environ.get(CONFIG_ENV)
    if env:
        return _read_config(Path(env), origin=f"${CONFIG_ENV}")
    if DEFAULT_CONFIG.is_file():
        return _read_config(DEFAULT_CONFIG, origin="default")
    return Config()


def _read_config(path: Path, *, origin: str) -> Config:
    from bot.config import read_config_file

    return Config(data=read_config_file(path, origin=origin), path=path)


def _with_settings(command: str) -> Callable[[argparse.Namespace, Config], int]:
    """The handler of ``command`` (``"bot._cli_run:cmd_run"``): its module is imported only when the command runs,
    so that each command imports what it needs and no more (``--version`` and ``--help`` import none of them)."""
    module, name = command.split(":")

    def handler(args: argparse.Namespace, config: Config) -> int:
        settings = config.settings
        run: Callable[[argparse.Namespace, Settings], int] = getattr(importlib.import_module(module), name)
        return run(args, settings)

    return handler


def _arguments(parser: argparse.ArgumentParser) -> str:
    """The positional arguments of a command, as its usage names them ("SUB_ID", "TEXT...")."""
    names = []
    for action in parser._actions:  # argparse keeps no public list of a parser's arguments
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        names.append(f"{name}..." if action.nargs in ("+", "*") else name)
    return " ".join(names)


def command_lines(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, str]]:
    """Every command of ``parser`` with its arguments and its one-line help, subcommands spelt out ("feeds add
    URL"), in the order they were added."""
    lines: list[tuple[str, str]] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, command in action.choices.items():
            nested = command_lines(command, f"{prefix}{name} ")
            if nested:
                lines.extend(nested)
            else:
                usage = f"{prefix}{name} {_arguments(command)}".strip()
                lines.append((usage, helps.get(name) or command.description or ""))
    return lines


def _commands_epilog(parser: argparse.ArgumentParser) -> str:
    lines = command_lines(parser)
    width = max(len(usage) for usage, _ in lines) + 2
    listing = "\n".join(f"  {usage:<{width}}{help_text}" for usage, help_text in lines)
    return f"commands (newsbrief COMMAND --help shows its options):\n{listing}"


class _VersionAction(argparse.Action):
    """``--version``: argparse's own action, but the version is looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parser.exit(message=f"{parser.prog} {bot.__version__}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbrief",
        usage="%(prog)s [-h] [--config PATH] [--version] COMMAND ...",
        description="Self-hosted news briefing bot for Slack and Discord.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the command list below, one line a command
    )
    config_help = f"config file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG} if present, else built-in defaults)"
    parser.add_argument("--config", metavar="PATH", help=config_help)
    parser.add_argument("--version", action=_VersionAction)
    # --config is also accepted after the command (``newsbrief run --config FILE``); SUPPRESS keeps a
    # subcommand from resetting a value given before it.
    config_after = argparse.ArgumentParser(add_help=False)
    config_after.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=config_help)
    common = [config_after]
    # The commands are listed by the epilog (every subcommand on its own line), not by argparse's own list.
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS, prog="newsbrief"
    )

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=common)
        return p

    p = add("run", "the bot: scheduler (polls, digests), Slack/Discord if their tokens are set, else the console")
    p.set_defaults(handler=_with_settings("bot._cli_run:cmd_run"))

    add("worker", 'run queued ingestion jobs ([jobs] engine = "procrastinate")').set_defaults(
        handler=_with_settings("bot._cli_worker:cmd_worker")
    )
    p = add("jobs", "the job queue: jobs per status, dead and retrying jobs with their reasons")
    p.set_defaults(handler=_with_settings("bot._cli_worker:cmd_jobs"))
    p.add_argument("--json", action="store_true", help="JSON output")

    p = add("poll", "one poll round of the due feeds (--all: every feed); exit 1 when a feed failed")
    p.set_defaults(handler=_with_settings("bot._cli_store:cmd_poll"))
    p.add_argument("--all", action="store_true", help="poll every feed, not only the due ones")
    p.add_argument("--ignore-failures", action="store_true", help="exit 0 even when feeds failed")

    p = add("brief", "print one briefing: a topic name or words ('-word' leaves a word out)")
    p.set_defaults(handler=_with_settings("bot._cli_brief:cmd_brief"))
    query_help = "topic name or free-text query: every word after `brief`, '-word' (excluded) included"
    p.add_argument("text", nargs="+", metavar="TEXT", help=query_help)
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--since", metavar="AGE", default="72h", help="only stories newer than this (default 72h)")

    p = add("digest", "post one subscription's digest now (--dry-run: print it instead)")
    p.set_defaults(handler=_with_settings("bot._cli_digest:cmd_digest"))
    p.add_argument("sub_id", metavar="SUB_ID")
    p.add_argument("--dry-run", action="store_true", help="print instead of posting")

    feeds_parser = add("feeds", "manage feeds")
    feeds_parser.set_defaults(handler=_with_settings("bot._cli_store:cmd_feeds"))
    feeds = feeds_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = feeds.add_parser("add", help="add a feed (or the feed a web page links to)", parents=common)
    p.add_argument("url", metavar="URL")
    p.add_argument("--name", metavar="N")
    p.add_argument("--interval", metavar="INTERVAL", default="15m")
    p = feeds.add_parser(
        "import",
        help="add the feeds of an OPML file: all or none, without fetching them (each is polled at the next round)",
        parents=common,
    )
    p.add_argument("file", metavar="FILE.opml")
    p.add_argument("--interval", metavar="INTERVAL", default="15m")
    p = feeds.add_parser("export", help="write the feeds as OPML 2.0 (to stdout by default)", parents=common)
    p.add_argument("file", metavar="FILE", nargs="?")
    p = feeds.add_parser("list", help="list feeds: state, failures, why disabled", parents=common)
    p.add_argument("--json", action="store_true")
    p = feeds.add_parser("remove", help="remove a feed", parents=common)
    p.add_argument("id", metavar="ID")
    p = feeds.add_parser("enable", help="re-enable a disabled feed (failures reset, polled next)", parents=common)
    p.add_argument("id", metavar="ID")
    p = feeds.add_parser("check", help="fetch a feed once and report", parents=common)
    p.add_argument("url", metavar="URL_OR_ID")

    subs_parser = add("subs", "subscriptions")
    subs_parser.set_defaults(handler=_with_settings("bot._cli_digest:cmd_subs"))
    subs = subs_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = subs.add_parser("list", help="list subscriptions", parents=common)
    p.add_argument("--json", action="store_true")
    p = subs.add_parser("add", help="subscribe a channel to a configured topic", parents=common)
    p.add_argument("platform", metavar="PLATFORM", help="console, slack or discord")
    p.add_argument("channel", metavar="CHANNEL", help="the channel id (Slack C0123..., Discord 1234...)")
    p.add_argument("topic", metavar="TOPIC", help="a topic of [topics]")
    p.add_argument("--schedule", metavar="SCHEDULE", help='"daily 08:00" (default), "weekdays 07:30", "hourly" or cron')
    p.add_argument("--tz", metavar="AREA/CITY", help="time zone of the schedule (default UTC)")
    p.add_argument("--sources", metavar="ID,ID|tag:NAME", help="only these feeds (default: every feed)")
    p.add_argument(
        "--template", metavar="NAME", help="message template: full (default), compact, headlines or [templates.NAME]"
    )
    p.add_argument(
        "--mode", metavar="MODE", help="digest (default) or items: each new article posted on its own, no schedule"
    )
    p = subs.add_parser("remove", help="remove a subscription (with its digest history)", parents=common)
    p.add_argument("sub_id", metavar="SUB_ID")
    p = subs.add_parser("pause", help="pause a subscription's digests", parents=common)
    p.add_argument("sub_id", metavar="SUB_ID")
    p.add_argument("--reason", metavar="TEXT", help="why (shown by `subs list`)")
    p = subs.add_parser("resume", help="resume a paused subscription (after fixing what paused it)", parents=common)
    p.add_argument("sub_id", metavar="SUB_ID")

    add("doctor", "validate config, check feeds once, tokens present, invite URLs").set_defaults(
        handler=_with_settings("bot._cli_doctor:cmd_doctor")
    )

    db_parser = add("db", "database maintenance")
    db_parser.set_defaults(handler=_with_settings("bot._cli_store:cmd_db"))
    db = db_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    db.add_parser("upgrade", help="apply schema migrations", parents=common)
    db.add_parser("prune", help="delete old articles", parents=common)

    articles = add("articles", "stored articles")
    articles.set_defaults(handler=_with_settings("bot._cli_store:cmd_articles"))
    articles_sub = articles.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = articles_sub.add_parser("list", help="list articles", parents=common)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", metavar="N", type=int)
    p = articles_sub.add_parser("show", help="show one article", parents=common)
    p.add_argument("id_or_url", metavar="ID_OR_URL")
    p.add_argument("--json", action="store_true")

    stories_parser = add("stories", "story grouping maintenance")
    stories_parser.set_defaults(handler=_with_settings("bot._cli_stories:cmd_stories"))
    stories_sub = stories_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = stories_sub.add_parser(
        "rebuild",
        help="regroup the retention window's articles with the current algorithm (story ids of articles that "
        "stay together are kept)",
        parents=common,
    )
    p.add_argument("--dry-run", action="store_true", help="print what would move, write nothing")

    parser.epilog = _commands_epilog(parser)
    return parser


ENV_FILE_ENV = "NEWSBRIEF_ENV_FILE"
DEFAULT_ENV_FILE = Path(".env")
LOG_LEVEL_ENV = "NEWSBRIEF_LOG_LEVEL"
DEFAULT_LOG_LEVEL = "WARNING"


def _load_env_file() -> list[str]:
    """Set variables from ``$NEWSBRIEF_ENV_FILE`` (which must exist), else from ``./.env`` when present.

    The real environment wins over the file. Returns one warning per line that is not ``KEY=VALUE`` (naming the
    file and line number, never the line: it may hold a secret); raises :class:`ConfigError` when the file
    named by ``$NEWSBRIEF_ENV_FILE`` is missing or a file cannot be read.
    """
    explicit = os.environ.get(ENV_FILE_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            problem = "is not a file" if path.exists() else "env file not found"
            raise ConfigError(f"{path}: {problem} (given by ${ENV_FILE_ENV})")
    elif DEFAULT_ENV_FILE.is_file():
        path = DEFAULT_ENV_FILE
    else:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read env file: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read env file: {exc.strerror or type(exc).__name__}") from None
    bad_lines = [binding.original.line for binding in parse_stream(io.StringIO(text)) if binding.error]

    def mute(record: logging.LogRecord) -> bool:  # python-dotenv's own warning names no file
        return False

    dotenv_log = logging.getLogger("dotenv.main")
    dotenv_log.addFilter(mute)
    try:
        load_dotenv(stream=io.StringIO(text), override=False)
    finally:
        dotenv_log.removeFilter(mute)
    return [f"{path}: line {line}: not a KEY=VALUE line, ignored" for line in bad_lines]


BRIEF_VALUE_OPTIONS = ("--since", "--config")
"""The options of ``brief`` that take a value (the words of its query are everything else)."""


def brief_words_last(argv: Sequence[str]) -> list[str]:
    """``argv`` with the words of a ``brief`` query after ``--``, so that argparse reads ``-florida`` (a word
    excluded from the search) as a word and not as an unknown option. ``brief``'s own options (``--json``,
    ``--since AGE``, ``--config PATH``, ``-h``), before or after the words, stay options; anything else is a word,
    in the order typed. Other commands are returned unchanged."""
    args = list(argv)
    i = 0
    while i < len(args) and args[i].startswith("-"):  # the options before the command
        i += 2 if args[i] == "--config" else 1
    if i >= len(args) or args[i] != "brief":
        return args
    options: list[str] = []
    words: list[str] = []
    rest = iter(args[i + 1 :])
    for arg in rest:
        if arg == "--":
            words.extend(rest)
        elif arg.startswith("--") or arg == "-h":
            options.append(arg)
            if "=" not in arg and any(option.startswith(arg) for option in BRIEF_VALUE_OPTIONS):  # --since AGE
                value = next(rest, None)
                if value is not None:
                    options.append(value)
        else:
            words.append(arg)
    return [*args[: i + 1], *options, "--", *words] if words else args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``newsbrief`` command line; returns the exit status (0 ok, 1 failure, 2 usage/config).

    Before the config is read, environment variables are loaded from ``$NEWSBRIEF_ENV_FILE`` or ``./.env``
    (the real environment wins), then logging goes to stderr at ``$NEWSBRIEF_LOG_LEVEL`` (default WARNING)
    with the chat tokens redacted. Output cut short by its reader (``newsbrief feeds list | head``) ends the
    command quietly, with status 1.
    """
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        # Nothing more can be shown; point stdout at /dev/null so that the interpreter's last flush fails quietly.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _main(argv: Sequence[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(brief_words_last(argv))
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    try:
        env_warnings = _load_env_file()
        try:
            configure_logging(os.environ.get(LOG_LEVEL_ENV) or DEFAULT_LOG_LEVEL)
        except ValueError as exc:
            raise ConfigError(f"${LOG_LEVEL_ENV}: {exc}") from None
        for warning in env_warnings:
            logging.getLogger("newsbrief").warning("%s", warning)
        config = load_config(args.config)
        status: int = args.handler(args, config)
        return status
    except NewsbriefError as exc:  # usage and config errors exit 2, runtime failures 1 (bot.errors)
        print(f"newsbrief: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_status


def _one_line(error: BaseException) -> str:
    """The error's message on one line (an error's text should be one line already; this makes sure)."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__


if __name__ == "__main__":
    raise SystemExit(main())
