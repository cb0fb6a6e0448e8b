"""Command line of ``python -m bot.stories.eval`` (see ../shared/SPEC.md, "Story grouping evaluation")."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.stories.eval._briefs import BriefScores, briefs_json, briefs_report, load_references, score_briefs
from bot.stories.eval._data import DataError, load_articles
from bot.stories.eval._poll import evaluate_through_poll
from bot.stories.eval._run import evaluate

EXIT_OK = 0
EXIT_USAGE = 2
_COLUMNS = ("pair_precision", "pair_recall", "pair_f1", "b3_precision", "b3_recall", "b3_f1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.stories.eval",
        description="Group each file's articles into stories as ingestion does and score the grouping against "
        "the files' event labels, beside a TF-IDF single-link baseline; the data set's name is the file stem.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE.jsonl")
    parser.add_argument("--json", action="store_true", help="print JSON (with every assignment) instead of a table")
    parser.add_argument(
        "--briefs",
        metavar="FILE.jsonl",
        help="also score multi-outlet briefs of this file's events "
        "(brief_story over each event's articles vs lead-3 of its first article; needs --refs)",
    )
    parser.add_argument("--refs", metavar="REFS.jsonl", help="the reference summary of each event, for --briefs")
    parser.add_argument(
        "--through-poll",
        action="store_true",
        help="end to end instead: serve each file's articles as RSS feeds and pages on 127.0.0.1, poll them day by "
        "day into a temporary SQLite store as 'newsbrief poll --all' does, and score the stored stories "
        "(beside the direct evaluation)",
    )
    return parser


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


_SYSTEMS = (("newsbrief", None), ("baseline", "baseline"))
_POLL_SYSTEMS = (("through poll", None), ("direct", "direct"))


def report(datasets: dict[str, dict[str, Any]], systems: Sequence[tuple[str, str | None]] = _SYSTEMS) -> str:
    """A plain-text table: one row per system per data set (``systems``: name, and the key of its results in a
    data set's, ``None`` for the data set's own: by default the project and the baseline)."""
    header = [
        "data set",
        "system",
        "articles",
        "stories",
        "singletons",
        "pair P",
        "pair R",
        "pair F1",
        "B3 P",
        "B3 R",
        "B3 F1",
    ]
    rows = []
    for name, result in datasets.items():
        for system, key in systems:
            values = result if key is None else result[key]
            rows.append([name, system, *(_cell(values[k]) for k in ("articles", "stories", "singletons", *_COLUMNS))])
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if col < 2 else cell.rjust(w) for col, (cell, w) in enumerate(zip(row, widths, strict=False))
        )
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _poll_notes(name: str, result: dict[str, Any]) -> str:
    errors = result["poll_errors"]
    lines = [
        f"{name} through poll: {result['rounds']} daily poll rounds, {result['page_texts']} of "
        f"{result['articles']} articles stored with their page's text, {result['missing']} not stored, "
        f"{len(errors)} poll errors"
    ]
    lines += [f"  {error}" for error in errors[:5]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate every file of ``argv`` (default: ``sys.argv[1:]``); return the exit status (2 on bad usage or an
    unreadable file, with one line on stderr naming the file and line; 0 otherwise)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors itself, with status 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if (not args.files and not args.briefs) or (args.briefs is None) != (args.refs is None):
        print(f"{parser.prog}: error: give FILE.jsonl ..., or --briefs FILE.jsonl --refs REFS.jsonl", file=sys.stderr)
        return EXIT_USAGE
    datasets: dict[str, dict[str, Any]] = {}
    briefs: dict[str, BriefScores] = {}
    try:
        for file in args.files:
            run = evaluate_through_poll if args.through_poll else evaluate
            datasets[Path(file).stem] = run(load_articles(file))
        if args.briefs:
            articles, references = load_articles(args.briefs), load_references(args.refs)
            briefs[Path(args.briefs).stem] = score_briefs(articles, references, source=f"{args.briefs} ({args.refs})")
    except DataError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        out: dict[str, Any] = {"datasets": datasets}
        if briefs:
            out["briefs"] = {name: briefs_json(name, result) for name, result in briefs.items()}
        print(json.dumps(out, indent=2))
    else:
        blocks = [report(datasets, _POLL_SYSTEMS if args.through_poll else _SYSTEMS)] if datasets else []
        if args.through_poll:
            blocks += [_poll_notes(name, result) for name, result in datasets.items()]
        blocks += [briefs_report(name, result) for name, result in briefs.items()]
        print("\n\n".join(blocks))
    return EXIT_OK
