"""Reading the evaluation files: one JSON object per line (``id``, ``title``, ``text``, ``source``,
``published``, ``url``; ``event`` optional)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """An input file that cannot be read or parsed (the message names the file and line)."""


@dataclass(frozen=True, slots=True)
class EvalArticle:
    """One article of an evaluation file."""

    id: str
    title: str
    text: str
    source: str
    published: datetime
    url: str
    event: str | None


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise DataError(f"{where}: 'published' must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DataError(f"{where}: 'published' is not ISO 8601: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def read_rows(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each non-blank line of a JSON-lines file as an object, with where it is (``FILE:LINE``); DataError (naming
    the file and line) when the file cannot be read or a line is not a JSON object."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: not a JSON object")
        yield where, row


def load_articles(path: str | Path) -> list[EvalArticle]:
    """The articles of one file, in file order; DataError (naming file and line) on anything unreadable."""
    articles: list[EvalArticle] = []
    seen: set[str] = set()
    for where, row in read_rows(path):
        article_id = row.get("id")
        if not isinstance(article_id, str) or not article_id:
            raise DataError(f"{where}: missing 'id'")
        if article_id in seen:
            raise DataError(f"{where}: duplicate id {article_id!r}")
        seen.add(article_id)
        fields = {}
        for name in ("title", "text", "source", "url"):
            value = row.get(name, "")
            if not isinstance(value, str):
                raise DataError(f"{where}: {name!r} must be a string")
            fields[name] = value
        event = row.get("event")
        articles.append(
            EvalArticle(
                id=article_id,
                title=fields["title"],
                text=fields["text"],
                source=fields["source"],
                published=_time(row.get("published"), where),
                url=fields["url"],
                event=str(event) if event is not None else None,
            )
        )
    return articles
