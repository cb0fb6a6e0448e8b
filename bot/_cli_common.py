"""What every CLI command shares, kept light: ``bot.__main__`` imports this module for every command (even
``--version``), so SQLAlchemy and the store are imported inside the functions that open one.

:class:`CommandError` is a failure while running a command (exit status 1); :func:`open_store` opens the
configured store with its migrations applied; :func:`require_extra` names the pip extra a missing optional
dependency comes from.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.errors import CommandError, ConfigError

if TYPE_CHECKING:
    from bot.store import Store, StoreWatch

__all__ = ["EXTRAS", "CommandError", "ExtraMissing", "open_store", "plural", "require_extra", "store_label"]


EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "slack": ("Slack support", ("slack_bolt", "slack_sdk")),
    "discord": ("Discord support", ("discord",)),
    "postgres": ("PostgreSQL support", ("psycopg",)),
}
"""Each optional extra of pyproject.toml: what it gives, and the modules it installs."""


class ExtraMissing(ConfigError):
    """A configured feature needs an extra that is not installed (exit status 2, like any configuration error)."""


def require_extra(extra: str) -> None:
    """Raise :class:`ExtraMissing` (one line, with the pip command) unless the modules of ``extra`` are installed.

    Only looks the modules up; importing them is left to whoever uses them."""
    what, modules = EXTRAS[extra]
    missing = [name for name in modules if not _installed(name)]
    if missing:
        raise ExtraMissing(
            f"{what} needs the '{extra}' extra ({', '.join(missing)} not installed): pip install 'newsbrief[{extra}]'"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a module set to None in sys.modules
        return False


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 feed"``, ``"2 feeds"``; ``nouns`` is the plural when it is not ``noun + "s"`` ("entry", "entries")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def store_label(url: str) -> str:
    """The store URL to show: any password in it replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _one_line(error: BaseException, url: str) -> str:
    from sqlalchemy.engine import make_url

    first = (str(error).strip().splitlines() or [""])[0]
    password = make_url(url).password if "://" in url else None
    if password:
        first = first.replace(str(password), "***")
    return first[:300]


DEFAULT_SQLITE_FOLDER = Path("var")
"""The folder of the default SQLite database (``sqlite:///var/newsbrief.db``, relative to the working directory):
the only one :func:`open_store` creates."""


def _sqlite_folder(url: str) -> None:
    """Make sure the folder of an SQLite database file exists: ``./var`` is created when missing, any other missing
    folder is a :class:`CommandError` naming it (a typo in ``[store] url`` must not create directories)."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().parent
    if folder.is_dir():
        return
    if folder == DEFAULT_SQLITE_FOLDER:
        try:
            folder.mkdir()
        except OSError as exc:
            raise CommandError(f"store {store_label(url)}: cannot create {folder.resolve()}: {exc.strerror}") from None
        return
    raise CommandError(
        f"store {store_label(url)}: the folder {folder.resolve()} does not exist (create it, or fix "
        "[store] url; only ./var is created by newsbrief)"
    )


@contextmanager
def open_store(settings: Settings, *, watch: StoreWatch | None = None) -> Iterator[Store]:
    """The configured store with its migrations applied (a relative SQLite path is relative to the working
    directory, and only ``./var`` is created when missing); ``watch`` logs the database going away and coming back
    (see :class:`bot.store.StoreWatch`)."""
    from bot.store import Store

    url = settings.store.url
    if url.startswith("postgresql"):
        require_extra("postgres")
    if url.startswith("sqlite:"):
        _sqlite_folder(url)
    try:
        store = Store(url, watch=watch)
        store.upgrade()
    except Exception as exc:
        raise CommandError(
            f"store {store_label(url)}: cannot open: {exc.__class__.__name__}: {_one_line(exc, url)}"
        ) from None
    try:
        yield store
    finally:
        store.close()
