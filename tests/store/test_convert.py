"""The one generic conversion of stored rows to the store's dataclasses (a helper, tested on its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from bot.store._convert import from_row


@dataclass(frozen=True, slots=True)
class Value:
    id: int
    tags: tuple[str, ...]
    note: str | None
    count: int = 0
    names: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict)


def test_fields_are_read_by_name_from_an_object_or_a_mapping() -> None:
    row = SimpleNamespace(id=1, tags=["a", "b"], note="n", count=3, names=["x"], extra={"k": 1}, unused="ignored")
    expected = Value(1, ("a", "b"), "n", 3, ("x",), {"k": 1})
    assert from_row(Value, row) == expected
    assert from_row(Value, vars(row)) == expected


def test_null_and_missing_take_the_default_and_tuples_take_any_sequence() -> None:
    got = from_row(Value, {"id": 2, "tags": None, "note": None, "count": None})
    assert got == Value(2, (), None, 0, (), {})
    assert got.extra is not from_row(Value, {"id": 3, "tags": (), "note": None}).extra  # a fresh default each time


def test_given_values_win_over_the_row() -> None:
    got = from_row(Value, {"id": 4, "tags": ["a"], "note": "row"}, note="given", names=("z",))
    assert (got.note, got.names) == ("given", ("z",))


def test_a_field_neither_in_the_row_nor_given_is_named() -> None:
    with pytest.raises(TypeError, match=r"Value\.note: not in the dict row"):
        from_row(Value, {"id": 5, "tags": []})
