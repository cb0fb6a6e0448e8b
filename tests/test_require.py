"""The suite's one way to skip (tests/conftest.py ``require``): a skip on a developer's machine, a failure where
NEWSBRIEF_REQUIRE_SERVICES=1 (CI), so that a CI run never passes by skipping what it was meant to test."""

from __future__ import annotations

import re

import pytest

from tests.conftest import require, require_module, services_required, shared_path

MISSING = "no-such-file-beside-the-project.txt"


@pytest.fixture
def developer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSBRIEF_REQUIRE_SERVICES", raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBRIEF_REQUIRE_SERVICES", "1")


@pytest.mark.parametrize(("value", "required"), [("1", True), ("yes", True), ("0", False), ("", False), ("no", False)])
def test_services_are_required_by_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, required: bool
) -> None:
    monkeypatch.setenv("NEWSBRIEF_REQUIRE_SERVICES", value)
    assert services_required() is required


@pytest.mark.parametrize("value", ["", "1"])
def test_a_condition_that_holds_goes_on_with_or_without_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("NEWSBRIEF_REQUIRE_SERVICES", value)
    require(True, "never shown")
    require("non-empty", "never shown")
    assert require_module("json", "never shown").loads("[1]") == [1]


@pytest.mark.usefixtures("developer")
def test_without_the_variable_a_missing_need_skips_with_its_reason() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"^PostgreSQL is not reachable$"):
        require(False, "PostgreSQL is not reachable")
    with pytest.raises(pytest.skip.Exception, match=r"no_such_module_newsbrief is not importable .*; parses things"):
        require_module("no_such_module_newsbrief", "parses things")
    with pytest.raises(pytest.skip.Exception, match=f"{re.escape(MISSING)} is not beside the project"):
        shared_path(MISSING)


@pytest.mark.usefixtures("ci")
def test_with_the_variable_a_missing_need_fails_naming_it_and_the_variable() -> None:
    for call, reason in [
        (lambda: require(None, "PostgreSQL is not reachable"), "PostgreSQL is not reachable"),
        (lambda: require_module("no_such_module_newsbrief", "parses things"), "no_such_module_newsbrief"),
        (lambda: shared_path(MISSING), MISSING),
    ]:
        with pytest.raises(pytest.fail.Exception) as failed:
            call()
        assert reason in str(failed.value)
        assert "NEWSBRIEF_REQUIRE_SERVICES=1 makes this a failure, not a skip" in str(failed.value)
