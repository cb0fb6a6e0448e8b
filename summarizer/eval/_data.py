"""Reading the evaluation sets: one JSON object a line, validated up front.

Every problem (a file that cannot be read, a line that is not JSON, a missing field) is raised as a
:class:`DataError` whose message names the file and, where it applies, the line, so the command line can
print it as one readable line and exit with status 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

Span = tuple[int, int]
T = TypeVar("T")


class DataError(Exception):
    """An evaluation file that cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class SummaryDoc:
    """One article with its reference summary."""

    id: str
    text: str
    summary: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ArticleDoc:
    """One article as a reader gets it: the text and, when the data set has one, its headline."""

    id: str
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Attribution:
    """One annotated attribution: who (``source``) said (``cue``) what (``content``), as character spans."""

    source: tuple[Span, ...]
    cue: tuple[Span, ...]
    content: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class QuoteDoc:
    """One article with its attribution annotations."""

    id: str
    text: str
    attributions: tuple[Attribution, ...]


@dataclass(frozen=True, slots=True)
class Dataset(Generic[T]):
    """The documents of one file; ``name`` is the file's stem (``cnndm-realsumm``)."""

    name: str
    path: str
    docs: tuple[T, ...]


def _rows(path: str) -> list[tuple[int, dict[str, Any]]]:
    """The non-blank lines of a JSON-lines file, parsed, with their 1-based line numbers."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DataError(f"{path}: cannot read file: {reason}") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(value, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(value).__name__}")
        rows.append((number, value))
    if not rows:
        raise DataError(f"{path}: no documents in file")
    return rows


def _string(row: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str | None:
    value = row.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} must be a string")
    return value


def _spans(value: Any, key: str, where: str, limit: int) -> tuple[Span, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DataError(f"{where}: attribution field {key!r} must be a list of [start, end] spans")
    spans: list[Span] = []
    for item in value:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in item)
            or not 0 <= item[0] <= item[1] <= limit
        ):
            raise DataError(f"{where}: bad {key!r} span {item!r} (need [start, end] within the text)")
        spans.append((item[0], item[1]))
    return tuple(spans)


def _names(paths: Sequence[str]) -> list[str]:
    """Dataset names: file stems, made unique with ``#2``, ``#3`` ... when two files share a stem."""
    seen: dict[str, int] = {}
    names: list[str] = []
    for path in paths:
        stem = Path(path).stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}#{seen[stem]}")
    return names


def _load(paths: Sequence[str], read: Callable[[dict[str, Any], str, int], T]) -> list[Dataset[T]]:
    """Each file as a data set named by :func:`_names`; ``read(row, where, line number)`` makes one document."""
    sets: list[Dataset[T]] = []
    for path, name in zip(paths, _names(paths), strict=True):
        docs = tuple(read(row, f"{path}:{number}", number) for number, row in _rows(path))
        sets.append(Dataset(name=name, path=path, docs=docs))
    return sets


def _summary_doc(row: dict[str, Any], where: str, number: int) -> SummaryDoc:
    return SummaryDoc(
        id=str(row.get("id", number)),
        text=_string(row, "text", where) or "",
        summary=_string(row, "summary", where) or "",
        title=_string(row, "title", where, optional=True),
    )


def _quote_doc(row: dict[str, Any], where: str, number: int) -> QuoteDoc:
    text = _string(row, "text", where) or ""
    raw = row.get("attributions")
    if not isinstance(raw, list):
        raise DataError(f"{where}: field 'attributions' must be a list")
    attributions: list[Attribution] = []
    for item in raw:
        if not isinstance(item, dict):
            raise DataError(f"{where}: each attribution must be an object")
        attributions.append(
            Attribution(
                source=_spans(item.get("source"), "source", where, len(text)),
                cue=_spans(item.get("cue"), "cue", where, len(text)),
                content=_spans(item.get("content"), "content", where, len(text)),
            )
        )
    return QuoteDoc(id=str(row.get("id", number)), text=text, attributions=tuple(attributions))


def _article_doc(row: dict[str, Any], where: str, number: int) -> ArticleDoc:
    return ArticleDoc(
        id=str(row.get("id", number)),
        text=_string(row, "text", where) or "",
        title=_string(row, "title", where, optional=True),
    )


def load_summary_sets(paths: Sequence[str]) -> list[Dataset[SummaryDoc]]:
    """Read reference-summary files (fields ``text``, ``summary``, optional ``id`` and ``title``)."""
    return _load(paths, _summary_doc)


def load_quote_sets(paths: Sequence[str]) -> list[Dataset[QuoteDoc]]:
    """Read attribution-annotated files (fields ``text``, ``attributions``, optional ``id``)."""
    return _load(paths, _quote_doc)


def load_article_sets(paths: Sequence[str]) -> list[Dataset[ArticleDoc]]:
    """Read articles from any evaluation file (field ``text``, optional ``id`` and ``title``; others ignored)."""
    return _load(paths, _article_doc)
