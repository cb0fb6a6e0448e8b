"""Rows to the store's dataclasses, in one generic place: a value's fields are read by name from an ORM row or a
row mapping (``Result.mappings()``), so a column added to a table and to its dataclass needs no converter."""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from bot.store._models import ArticleRow, DigestSlotRow
from bot.store._types import Article, DigestSlot

_T = TypeVar("_T")
_ABSENT: Any = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    is_tuple: bool
    default: Callable[[], Any] | None
    """Makes the field's default (``None``: the field has none)."""


@functools.cache
def _fields(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for spec in dataclasses.fields(cls):
        default: Callable[[], Any] | None = None
        if spec.default is not dataclasses.MISSING:
            default = functools.partial(lambda value: value, spec.default)
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory
        found.append(_Field(spec.name, typing.get_origin(hints[spec.name]) is tuple, default))
    return tuple(found)


def from_row(cls: type[_T], row: object, /, **given: Any) -> _T:
    """The dataclass ``cls`` of ``row`` (an ORM object, or a mapping such as a ``RowMapping``): each field is the
    keyword of its name when given, else the row's value of that name. A value missing from the row, or ``NULL``,
    takes the field's default (when it has one); a tuple field takes any sequence (``NULL``: empty).

    A field with neither a value nor a default raises ``TypeError`` naming it (a dataclass that gained a field the
    row does not hold)."""
    mapping = row if isinstance(row, Mapping) else None
    values: dict[str, Any] = {}
    for field in _fields(typing.cast(type, cls)):
        if field.name in given:
            value = given[field.name]
        elif mapping is not None:
            value = mapping.get(field.name, _ABSENT)
        else:
            value = getattr(row, field.name, _ABSENT)
        if (value is _ABSENT or value is None) and field.default is not None:
            value = field.default()
        if value is _ABSENT:
            raise TypeError(f"{cls.__name__}.{field.name}: not in the {type(row).__name__} row and not given")
        if field.is_tuple and not isinstance(value, tuple):
            value = tuple(value or ())
        values[field.name] = value
    return cls(**values)


def article_of(row: ArticleRow, feeds: Sequence[str]) -> Article:
    """The :class:`Article` of a row, with the URLs of the feeds that carried it (sorted); its ``summary`` is the
    stored JSON."""
    return from_row(Article, row, summary=row.summary_json, feeds=tuple(sorted(feeds)))


def slot_of(row: DigestSlotRow) -> DigestSlot:
    """The :class:`DigestSlot` of a row (its planned counts as ``str -> int``)."""
    planned = {str(k): int(v) for k, v in row.planned.items()} if row.planned else None
    return from_row(DigestSlot, row, planned=planned)
