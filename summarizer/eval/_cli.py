"""Command line of ``python -m summarizer.eval`` (see ../shared/SPEC.md, "Evaluation commands")."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from summarizer import ALGORITHMS
from summarizer.eval import _quotes, _reader, _rouge
from summarizer.eval._data import DataError, load_article_sets, load_quote_sets, load_summary_sets
from summarizer.eval._report import quotes_report, reader_report, rouge_report

EXIT_OK = 0
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m summarizer.eval",
        description="Evaluate newsbrief's summarizer: ROUGE of every method, or quote extraction.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{rouge,quotes,reader}")
    rouge = commands.add_parser(
        "rouge",
        help="ROUGE-1/2/L F1 x 100 of every method against reference summaries",
        description="Score every summarization method (or those of --methods, always with default and "
        "lead) on each JSON-lines file of reference summaries; the data set's name is the file stem.",
    )
    rouge.add_argument("files", nargs="+", metavar="FILE.jsonl")
    rouge.add_argument("--sentences", type=_positive, default=3, help="sentence budget k (default 3)")
    rouge.add_argument(
        "--methods",
        type=_methods,
        default=None,
        help="comma-separated methods to score (default: all of ALGORITHMS); default and lead are always scored too",
    )
    rouge.add_argument("--json", action="store_true", help="print JSON instead of a table")
    quotes = commands.add_parser(
        "quotes",
        help="precision/recall of extract_quotes on attribution-annotated news",
        description="Score extract_quotes() and its speakers on each JSON-lines file of attributions.",
    )
    quotes.add_argument("files", nargs="+", metavar="FILE.jsonl")
    quotes.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reader = commands.add_parser(
        "reader",
        help="reader checks of the briefs: repeated text, unbalanced marks, fragment quotes, speakers",
        description="Brief every article (field text, optional title) of each JSON-lines file as ingest does "
        "and count what a reader would notice: parts repeating each other (a shared 8-gram), unbalanced "
        "quotation marks, leaked bullets, fragment quotes, quote length and speaker kinds.",
    )
    reader.add_argument("files", nargs="+", metavar="FILE.jsonl")
    reader.add_argument("--sentences", type=_positive, default=3, help="sentence budget k (default 3)")
    reader.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value!r}")
    return number


def _methods(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALGORITHMS)}")
    return names


def _progress(message: str) -> None:
    """Progress on stderr, only for a person watching a terminal (stdout stays clean either way)."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def _selected(methods: list[str] | None) -> list[str]:
    """Methods to score, in ALGORITHMS order; default and lead always included (they are compared)."""
    wanted = set(ALGORITHMS if methods is None else methods) | {_rouge.SYSTEM, _rouge.BASELINE}
    return [name for name in ALGORITHMS if name in wanted]


def _run_rouge(args: argparse.Namespace) -> int:
    datasets = load_summary_sets(args.files)
    methods = _selected(args.methods)
    results = [_rouge.evaluate(dataset, methods, args.sentences, _progress) for dataset in datasets]
    if args.json:
        print(json.dumps(_rouge.to_json(results), indent=2))
    else:
        print(rouge_report(results, args.sentences))
    return EXIT_OK


def _run_quotes(args: argparse.Namespace) -> int:
    datasets = load_quote_sets(args.files)
    metrics = {dataset.name: _quotes.evaluate(dataset, _progress).metrics() for dataset in datasets}
    if args.json:
        print(json.dumps({"datasets": metrics}, indent=2))
    else:
        print(quotes_report(metrics))
    return EXIT_OK


def _run_reader(args: argparse.Namespace) -> int:
    datasets = load_article_sets(args.files)
    metrics = {dataset.name: _reader.evaluate(dataset, args.sentences, _progress).metrics() for dataset in datasets}
    if args.json:
        print(json.dumps({"datasets": metrics}, indent=2))
    else:
        print(reader_report(metrics))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rouge``, ``quotes`` or ``reader`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Status 2 on bad usage or on an input file that cannot be read or parsed (one line on stderr naming
    the file and line); 0 otherwise.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors itself, with status 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "rouge":
            return _run_rouge(args)
        if args.command == "reader":
            return _run_reader(args)
        return _run_quotes(args)
    except DataError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
