"""Reading the TOML file and validating it into :class:`~bot.config.Settings`, pydantic's errors told as one line:
the file, the key path and what was expected (:class:`ConfigError`)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config._errors import describe
from bot.config._models import Settings
from bot.errors import ConfigError

__all__ = ["config_error", "load_settings", "read_config_file", "settings_from_mapping"]


def config_error(error: ValidationError, where: str) -> ConfigError:
    """The first of pydantic's errors as newsbrief's one line: ``FILE: KEY.PATH: problem``."""
    details = error.errors()[0]
    if details["type"] == "newsbrief_line":  # already a whole line naming the file (a template's)
        return ConfigError(" ".join(str((details.get("ctx") or {})["line"]).split()))
    path, problem = describe(details)
    return ConfigError(" ".join(f"{where}: {path}: {problem}".split()))


def settings_from_mapping(data: Mapping[str, Any], *, path: Path | None = None) -> Settings:
    """Validate a parsed TOML document into :class:`Settings` (raises :class:`ConfigError`)."""
    where = str(path) if path is not None else "<config>"
    context = {"where": where, "path": path, "base": path.parent if path is not None else Path.cwd()}
    try:
        return Settings.model_validate(data, context=context)
    except ValidationError as exc:
        raise config_error(exc, where) from None


def read_config_file(path: Path, *, origin: str | None = None) -> dict[str, Any]:
    """The parsed TOML at ``path``; a missing, unreadable or invalid file is a one-line :class:`ConfigError`.

    ``origin`` says where the path came from ("--config", "$NEWSBRIEF_CONFIG") for the not-found message.
    """
    if not path.exists():
        given = f" (given by {origin})" if origin else ""
        raise ConfigError(f"{path}: config file not found{given}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc


def load_settings(path: Path | None) -> Settings:
    """Read and validate the TOML file at ``path`` (``None``: built-in defaults)."""
    if path is None:
        return Settings()
    return settings_from_mapping(read_config_file(path), path=path)
