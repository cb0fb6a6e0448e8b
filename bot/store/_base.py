"""The engine, sessions and schema of the store, and the helpers every part of it shares (:class:`StoreBase`)."""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.store._convert import article_of
from bot.store._errors import StoreUnavailable, StoreWatch, unavailable_reason
from bot.store._models import ArticleRow, FeedArticleRow, FeedRow
from bot.store._types import Article

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
STORY_LOCK_KEY = 7101537120260002
"""The PostgreSQL advisory lock (transaction-scoped) under which stories are assigned: one process at a time decides
an article's story, seeing every decision committed before (the migrations lock is ...0001)."""
STORY_LOCK_IDLE_S = 15.0
"""How long a transaction holding the story lock may sit idle (no statement running) before PostgreSQL ends its
session (``idle_in_transaction_session_timeout``, set for that transaction only), releasing the lock: a process
killed or cut off mid-transaction behind a proxy or a broken network path that the server never hears of would
otherwise hold it forever, and every other process's article would wait for it. Deciding an article's story
takes milliseconds; this is far below the 30 s after which a job worker's silence counts as death."""
PING_IDLE_S = 1.0
"""A pooled PostgreSQL connection left idle this long is pinged as it is taken again (replaced when dead: a database
restart, a cut connection); one in steady use is not (a ping per use doubled the round trips of the store's short
sessions)."""
BATCH = 500
"""Rows per statement when a list of keys is too long for one ``IN (...)``."""
_T = TypeVar("_T")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(engine: Engine, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a pooled connection taken again after :data:`PING_IDLE_S` idle; a dead one is replaced (the pool takes
    ``DisconnectionError`` as "discard it and connect again", as SQLAlchemy's own pre-ping does)."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
        return
    try:
        engine.dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc


def _engine_for(url: str) -> Engine:
    try:
        parsed: URL = make_url(url)
    except Exception as exc:
        raise ValueError(f"store url {url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            engine = create_engine(parsed, connect_args={"check_same_thread": False}, poolclass=StaticPool)
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed)
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", functools.partial(_ping_when_idle, engine))
        return engine
    raise ValueError(f"store url {url!r}: only sqlite:///... and postgresql+psycopg://... are supported")


_REVISION_RE = re.compile(
    r"""^(revision|down_revision)(?:\s*:[^=\n]+)?\s*=\s*(?:"([^"]+)"|'([^']+)'|None)\s*$""", re.MULTILINE
)


@functools.cache
def shipped_head() -> str | None:
    """The newest migration shipped with this code, read from ``migrations/versions`` without importing Alembic:
    the one revision that no other one revises. ``None`` when the files do not tell one (not exactly one newest, a
    merge or a file that does not say its revision plainly); :meth:`Store.head_revision` asks Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        if path.name == "__init__.py":
            continue
        found = {key: plain or quoted for key, plain, quoted in _REVISION_RE.findall(path.read_text(encoding="utf-8"))}
        if "revision" not in found or "down_revision" not in found or not found["revision"]:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def chunks(items: Sequence[_T], size: int = BATCH) -> Iterable[Sequence[_T]]:
    """``items`` in runs of at most ``size`` (one ``IN (...)`` each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rowcount(result: Any) -> int:
    """Rows an UPDATE/DELETE matched (``Session.execute`` returns a ``CursorResult`` for those)."""
    return int(getattr(result, "rowcount", 0) or 0)


class StoreBase:
    """What every part of :class:`bot.store.Store` builds on: the engine (SQLite or PostgreSQL), one short
    session per call (:meth:`_run`: a transaction, retried after a lost unique-key race), the schema and its
    migrations, the story-assignment lock, and reading articles with the feeds that carried them."""

    def __init__(self, url: str, *, watch: StoreWatch | None = None) -> None:
        """Connect lazily to ``url`` (``sqlite:///path.db``, parent directory created, or
        ``postgresql+psycopg://...``); call :meth:`upgrade` before use.

        A database that cannot be reached makes every method raise :class:`StoreUnavailable` (one line, no
        driver traceback); ``watch`` is told of each failure and of the first success after one.
        """
        self.url = url
        self.story_lock_idle_s = STORY_LOCK_IDLE_S
        """See :data:`STORY_LOCK_IDLE_S` (tests make it shorter)."""
        self._engine = _engine_for(url)
        self.dialect = self._engine.dialect.name
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        # reads on PostgreSQL run without a transaction of their own: each statement is one round trip, not three
        # with BEGIN and ROLLBACK (at READ COMMITTED every statement has its own snapshot either way)
        reads = self._engine.execution_options(isolation_level="AUTOCOMMIT") if self.dialect == "postgresql" else None
        self._reads = sessionmaker(reads or self._engine, expire_on_commit=False)
        self.watch = watch
        event.listen(self._engine, "handle_error", self._unavailable)
        if watch is not None:
            event.listen(self._engine, "after_cursor_execute", lambda *_args: watch.succeeded())

    def _where(self) -> str:
        """The database, for messages (no password)."""
        url = self._engine.url
        if self.dialect == "sqlite":
            return f"SQLite {url.database or ':memory:'}"
        return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"

    def _unavailable(self, context: ExceptionContext) -> None:
        """SQLAlchemy's ``handle_error`` hook: a driver error that says the database cannot be reached is raised as
        :class:`StoreUnavailable` instead (after SQLAlchemy's own clean-up: a dropped connection is discarded).
        A failed pre-ping is left alone: the pool replaces that connection by itself."""
        if context.is_pre_ping:
            return
        reason = unavailable_reason(
            context.original_exception,
            dialect=self.dialect,
            is_disconnect=context.is_disconnect,
            connecting=context.connection is None,
            where=self._where(),
        )
        if reason is None:
            return
        if self.watch is not None:
            self.watch.failed(reason)
        raise StoreUnavailable(reason)

    def __enter__(self) -> Self:
        """Use as a context manager that closes the store."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the store."""
        self.close()

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the scheduler's APScheduler job store, kept in the same database)."""
        return self._engine

    # ------------------------------------------------------------------ schema

    def _alembic_config(self) -> Config:
        from alembic.config import Config  # Alembic is imported only when a migration is to run or be looked at

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        return config

    def upgrade(self) -> None:
        """Apply every pending migration (idempotent). Processes starting together on one database upgrade one
        after another: PostgreSQL by an advisory lock, an SQLite file by a lock on ``<database>.lock`` beside it
        (SQLite runs DDL outside the transaction, so its own locking would not serialize the migrations).

        A database already at the newest migration is left as it is without loading Alembic (most commands open
        the store on such a database, and Alembic costs each of them a few hundred milliseconds)."""
        try:
            if self._at_shipped_head():
                return
        except StoreUnavailable:  # another process is migrating this file right now: wait for it under the lock
            pass
        from alembic import command

        config = self._alembic_config()
        with self._sqlite_file_lock(), self._engine.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(7101537120260001)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """An exclusive ``flock`` on ``<database>.lock`` for an SQLite file (a no-op elsewhere, and where the
        platform has no ``fcntl``). The lock file is kept: removing it would let a late process lock a new one."""
        database = self._engine.url.database or ""
        if self.dialect != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
            yield
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        path = Path(database).expanduser()
        with open(path.with_name(path.name + ".lock"), "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _at_shipped_head(self) -> bool:
        """Whether the database records exactly the newest migration of :func:`shipped_head` (``False`` when that
        cannot be told without Alembic: no ``alembic_version`` table yet, or no single newest migration)."""
        head = shipped_head()
        if head is None:
            return False
        with self._engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        return versions == [head]

    def current_revision(self) -> str | None:
        """The migration revision the database is at (``None`` before :meth:`upgrade`)."""
        from alembic.runtime.migration import MigrationContext

        with self._engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        """The newest migration shipped with this code."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def _run(self, work: Callable[[Session], _T], *, retries: int = 2) -> _T:
        """Run ``work`` in one transaction; retry when a concurrent writer won a unique-key race."""
        for attempt in range(retries + 1):
            try:
                with self._sessions() as session, session.begin():
                    return work(session)
            except IntegrityError:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ shared by the parts

    def _lock_stories(self, session: Session, *, idle_bound: bool = True) -> None:
        """Take the story-assignment lock for the rest of the session's transaction, before anything else is read:
        PostgreSQL's advisory lock :data:`STORY_LOCK_KEY`; on SQLite the write lock (``BEGIN IMMEDIATE``; the
        driver would otherwise begin the transaction only at its first write, after the reads). Whoever decides a
        story under it sees every story decided before, and no other decision lands until the commit.

        On PostgreSQL the transaction may then sit idle at most :attr:`story_lock_idle_s` (``idle_bound``; not
        for a rebuild of the whole archive), so a holder that vanished cannot keep the lock."""
        if self.dialect == "postgresql":
            if idle_bound:  # one round trip: the bound holds from the statement's end, the lock's too
                session.execute(
                    text(
                        "SELECT set_config('idle_in_transaction_session_timeout', :ms, true),"
                        " pg_advisory_xact_lock(:key)"
                    ),
                    {"ms": str(max(1, round(self.story_lock_idle_s * 1000))), "key": STORY_LOCK_KEY},
                )
            else:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})
            return
        connection = session.connection()
        driver: Any = connection.connection.dbapi_connection  # sqlite3.Connection
        if not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @staticmethod
    def _feeds_of(session: Session, article_ids: Sequence[str]) -> dict[str, list[str]]:
        feeds: dict[str, list[str]] = {article_id: [] for article_id in article_ids}
        for chunk in chunks(list(article_ids)):
            rows = session.execute(
                select(FeedArticleRow.article_id, FeedRow.url)
                .join(FeedRow, FeedRow.id == FeedArticleRow.feed_id)
                .where(FeedArticleRow.article_id.in_(chunk))
            )
            for article_id, url in rows:
                feeds[article_id].append(url)
        return feeds

    def _articles(self, session: Session, rows: Sequence[ArticleRow]) -> list[Article]:
        feeds = self._feeds_of(session, [r.id for r in rows])
        return [article_of(r, feeds[r.id]) for r in rows]
