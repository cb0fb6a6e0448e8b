"""The :class:`Store`: feeds, articles, stories and search on SQLite (embedded) or PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    Engine,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.store._errors import StoreUnavailable, StoreWatch, unavailable_reason
from bot.store._models import (
    ArticleRow,
    DigestCitationRow,
    DigestMessageRow,
    DigestSlotRow,
    FeedArticleRow,
    FeedRow,
    LeaseRow,
    PostedStoryRow,
    StoryAliasRow,
    StoryRow,
    SubscriptionRow,
    UTCDateTime,
)
from bot.store._query import parse_query, to_fts5, to_tsquery_sql
from bot.store._types import (
    ArchivedArticle,
    Article,
    DigestFilter,
    DigestSlot,
    Feed,
    Lease,
    NewFeed,
    SlotOutcome,
    StoredSignature,
    Story,
    StoryAssigner,
    StoryAssignment,
    Subscription,
    TextSource,
    UpsertStatus,
)
from bot.stories import canonical_url, content_hash, normalize_text, outlet_of, story_key_for

if TYPE_CHECKING:
    from alembic.config import Config

    from summarizer import Summary

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
CONTENT_IDENTITY_MIN_CHARS = 300
"""Texts shorter than this (normalized) never identify an article by content hash alone: short feed snippets
("Read more...", a one-line teaser) are shared by unrelated entries."""
TITLE_WEIGHT = 10.0
"""bm25 weight of the title column against 1.0 for the text (SQLite); PostgreSQL weighs title A, text B."""
STORY_LOCK_KEY = 7101537120260002
"""The PostgreSQL advisory lock (transaction-scoped) under which stories are assigned: one process at a time decides
an article's story, seeing every decision committed before (the migrations lock is ...0001)."""
STORY_LOCK_IDLE_S = 15.0
"""How long a transaction holding the story lock may sit idle (no statement running) before PostgreSQL ends its
session (``idle_in_transaction_session_timeout``, set for that transaction only), releasing the lock: a process
killed or cut off mid-transaction behind a proxy or a broken network path that the server never hears of would
otherwise hold it forever, and every other process's article would wait for it. Deciding an article's story
takes milliseconds; this is far below the 30 s after which a job worker's silence counts as death."""
STORYLESS_SHOWN = 5
"""How many ids of articles without a story :meth:`Store.integrity_check` names."""
_BATCH = 500
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
        return create_engine(parsed, pool_pre_ping=True)
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


def _feed(row: FeedRow) -> Feed:
    return Feed(
        id=row.id,
        url=row.url,
        name=row.name,
        interval_s=row.interval_s,
        tags=tuple(row.tags or ()),
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        next_poll_at=row.next_poll_at,
        consecutive_failures=row.consecutive_failures,
        last_error_kind=row.last_error_kind,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        backfilled=row.backfilled,
        created_at=row.created_at,
    )


def _article(row: ArticleRow, feeds: Sequence[str]) -> Article:
    return Article(
        id=row.id,
        url=row.url,
        canonical_url=row.canonical_url,
        guid=row.guid,
        title=row.title,
        author=row.author,
        outlet=row.outlet,
        published_at=row.published_at,
        first_seen=row.first_seen,
        updated_at=row.updated_at,
        text=row.text,
        text_source=row.text_source,
        content_hash=row.content_hash,
        summary=row.summary_json,
        story_id=row.story_id,
        eligible=row.eligible,
        language=row.language,
        feeds=tuple(sorted(feeds)),
        page_attempts=row.page_attempts or 0,
        page_retry_at=row.page_retry_at,
        page_error=row.page_error,
    )


def _story(row: StoryRow) -> Story:
    return Story(
        id=row.id,
        first_seen=row.first_seen,
        updated_at=row.updated_at,
        article_count=row.article_count,
        outlets=tuple(row.outlets or ()),
        follows=row.follows,
    )


def _subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        platform=row.platform,
        channel=row.channel,
        topic=row.topic,
        schedule=row.schedule,
        tz=row.tz,
        created_at=row.created_at,
        created_by=row.created_by,
        paused_at=row.paused_at,
        paused_reason=row.paused_reason,
        sources=tuple(row.sources or ()),
        team=row.team,
    )


def _slot(row: DigestSlotRow) -> DigestSlot:
    outcome: SlotOutcome | None = row.outcome  # type: ignore[assignment]  # the CHECK constraint guarantees it
    return DigestSlot(
        subscription_id=row.subscription_id,
        slot=row.slot,
        claimed_at=row.claimed_at,
        claimed_by=row.claimed_by,
        outcome=outcome,
        message_ref=row.message_ref,
        finished_at=row.finished_at,
        planned={str(k): int(v) for k, v in row.planned.items()} if row.planned else None,
        note=row.note,
    )


_OUTCOMES: frozenset[str] = frozenset({"posted", "empty", "failed"})


def _chunks(items: Sequence[_T], size: int = _BATCH) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rowcount(result: Any) -> int:
    """Rows an UPDATE/DELETE matched (``Session.execute`` returns a ``CursorResult`` for those)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _urn_for(feed_id: int | None, guid: str | None, title: str, text_: str, chash: str) -> str:
    """The identity URL of an entry without a link: its GUID when that is a URL, else a ``urn:newsbrief:``: of
    the GUID within its feed; with no GUID, of the text's hash when the text is long enough to identify it
    (:data:`CONTENT_IDENTITY_MIN_CHARS`), else of the title and text together (an empty or one-line text must
    not make every such entry, of any feed, one article)."""
    if guid and guid.strip().lower().startswith(("http://", "https://")):
        return guid.strip()
    if guid and guid.strip():
        return f"urn:newsbrief:feed:{feed_id}:guid:{guid.strip()}"
    if len(normalize_text(text_)) >= CONTENT_IDENTITY_MIN_CHARS:
        return f"urn:newsbrief:sha256:{chash}"
    return f"urn:newsbrief:sha256:{content_hash(title + chr(10) + text_)}"


def summary_to_json(summary: Summary | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored form of a summary: ``{"sentences": [...], "quotes": [{"text", "speaker", "cue", "role",
    "start", "end", "speaker_start", "speaker_end"}], "algorithm": ...}`` (a mapping is stored as given)."""
    if summary is None:
        return None
    if not isinstance(summary, Mapping):  # a summarizer.Summary (not imported here: the store loads without it)
        return {
            "sentences": list(summary.sentences),
            "quotes": [
                {
                    "text": q.text,
                    "speaker": q.speaker,
                    "cue": q.cue,
                    "role": q.role,
                    "start": q.start,
                    "end": q.end,
                    "speaker_start": q.speaker_start,
                    "speaker_end": q.speaker_end,
                }
                for q in summary.quotes
            ],
            "algorithm": summary.algorithm,
            "language": summary.language,
        }
    return dict(summary)


def new_article_id() -> str:
    """A fresh public article id: ``a_`` and 12 random hex digits."""
    return f"a_{secrets.token_hex(6)}"


class Store:
    """The database behind newsbrief: SQLite file (WAL) by default, PostgreSQL for several processes.

    Every method opens its own short session and returns plain frozen dataclasses, so a ``Store`` can be shared
    by threads (the asyncio scheduler calls it through ``asyncio.to_thread``). Nothing here reads the clock:
    methods that stamp or compare times take ``now``. No method deletes or overwrites article data except
    :meth:`upsert_article` (an update of the same article) and :meth:`prune`.
    """

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

    def __enter__(self) -> Store:
        """Use as a context manager that closes the store."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the store."""
        self.close()

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

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

    # ------------------------------------------------------------------ feeds

    def add_feed(
        self,
        url: str,
        *,
        name: str | None = None,
        interval_s: int = 900,
        tags: Iterable[str] = (),
        now: datetime,
    ) -> Feed:
        """Add a feed, due at once; a URL already added raises ``ValueError`` naming it and its id."""
        (feed,) = self.add_feeds([NewFeed(url, name=name, interval_s=interval_s, tags=tuple(tags))], now=now)
        return feed

    def add_feeds(self, feeds: Sequence[NewFeed], *, now: datetime) -> list[Feed]:
        """Add feeds, each due at once, all in one transaction: when one cannot be added (its URL is empty or
        already added, here or in ``feeds``, or its interval is not positive) ``ValueError`` names it and none is
        added."""
        seen: set[str] = set()
        for feed in feeds:
            url = feed.url.strip()
            if not url:
                raise ValueError("feed url is empty")
            if feed.interval_s <= 0:
                raise ValueError(f"feed {url}: interval must be positive, got {feed.interval_s} s")
            if url in seen:
                raise ValueError(f"feed {url} is given twice")
            seen.add(url)

        def work(session: Session) -> list[Feed]:
            rows: list[FeedRow] = []
            for feed in feeds:
                url = feed.url.strip()
                existing = session.scalar(select(FeedRow).where(FeedRow.url == url))
                if existing is not None:
                    raise ValueError(f"feed {url} is already added (id {existing.id})")
                row = FeedRow(
                    url=url,
                    name=feed.name,
                    interval_s=feed.interval_s,
                    tags=list(feed.tags),
                    consecutive_failures=0,
                    backfilled=False,
                    created_at=now,
                )
                session.add(row)
                rows.append(row)
            session.flush()
            return [_feed(row) for row in rows]

        try:
            return self._run(work, retries=0)
        except IntegrityError:  # a concurrent writer added one of them first
            which = f"feed {next(iter(seen))}" if len(seen) == 1 else f"one of these {len(seen)} feeds"
            raise ValueError(f"{which} is already added") from None

    @staticmethod
    def _feed_row(session: Session, id_or_url: int | str) -> FeedRow | None:
        if isinstance(id_or_url, int) or id_or_url.strip().isdigit():
            row = session.get(FeedRow, int(id_or_url))
            if row is not None or isinstance(id_or_url, int):
                return row
        return session.scalar(select(FeedRow).where(FeedRow.url == str(id_or_url).strip()))

    def _require_feed(self, session: Session, id_or_url: int | str) -> FeedRow:
        row = self._feed_row(session, id_or_url)
        if row is None:
            raise KeyError(f"no feed {id_or_url!r}")
        return row

    def get_feed(self, id_or_url: int | str) -> Feed | None:
        """The feed with this id or exact URL, or ``None``."""
        with self._sessions() as session:
            row = self._feed_row(session, id_or_url)
            return _feed(row) if row else None

    def list_feeds(self) -> list[Feed]:
        """Every feed, by id."""
        with self._sessions() as session:
            return [_feed(r) for r in session.scalars(select(FeedRow).order_by(FeedRow.id))]

    def remove_feed(self, id_or_url: int | str) -> bool:
        """Remove a feed and its links to articles (the articles stay); ``False`` when there is no such feed."""

        def work(session: Session) -> bool:
            row = self._feed_row(session, id_or_url)
            if row is None:
                return False
            session.execute(delete(FeedArticleRow).where(FeedArticleRow.feed_id == row.id))
            session.delete(row)
            return True

        return self._run(work)

    def due_feeds(self, now: datetime, *, all: bool = False) -> list[Feed]:
        """Enabled feeds whose next poll time has come (never polled counts as due); ``all`` ignores the time.

        Disabled feeds are never returned (see :meth:`enable_feed`). Most overdue first.
        """
        stmt = select(FeedRow).where(FeedRow.disabled_at.is_(None))
        if not all:
            stmt = stmt.where(or_(FeedRow.next_poll_at.is_(None), FeedRow.next_poll_at <= now))
        stmt = stmt.order_by(FeedRow.next_poll_at.asc().nulls_first(), FeedRow.id)
        with self._sessions() as session:
            return [_feed(r) for r in session.scalars(stmt)]

    def record_poll_success(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
        next_poll_at: datetime,
        error: str | None = None,
        error_kind: str = "parse",
    ) -> Feed:
        """Record a successful poll (a 304 counts): reset the failure count, keep the validators, mark backfilled.

        ``etag``/``last_modified`` replace the stored ones when given; ``None`` keeps the stored value (a 304
        often omits them). ``error`` records a non-fatal problem (a malformed feed whose other entries were
        stored) as the last error without counting a failure. A previous error stays on record for
        ``feeds list`` but no longer counts.
        """

        def work(session: Session) -> Feed:
            row = self._require_feed(session, feed_id)
            if etag is not None:
                row.etag = etag
            if last_modified is not None:
                row.last_modified = last_modified
            row.last_polled_at = now
            row.next_poll_at = next_poll_at
            row.consecutive_failures = 0
            row.backfilled = True
            if error:
                row.last_error_kind = error_kind[:64]
                row.last_error = error[:2000]
                row.last_error_at = now
            session.flush()
            return _feed(row)

        return self._run(work)

    def record_poll_failure(
        self,
        feed_id: int,
        *,
        kind: str,
        message: str,
        now: datetime,
        next_poll_at: datetime,
        disable_after: int = 10,
    ) -> bool:
        """Record a failed poll; disable the feed (with the reason) at ``disable_after`` consecutive failures.

        Returns whether the feed is disabled now.
        """

        def work(session: Session) -> bool:
            session.execute(
                update(FeedRow)
                .where(FeedRow.id == feed_id)
                .values(consecutive_failures=FeedRow.consecutive_failures + 1)
            )
            row = self._require_feed(session, feed_id)
            session.refresh(row)
            row.last_error_kind = kind[:64]
            row.last_error = message[:2000]
            row.last_error_at = now
            row.last_polled_at = now
            row.next_poll_at = next_poll_at
            if row.disabled_at is None and row.consecutive_failures >= disable_after > 0:
                row.disabled_at = now
                row.disabled_reason = f"{row.consecutive_failures} consecutive failures; last: {kind}: {message}"[:2000]
            return row.disabled_at is not None

        return self._run(work)

    def enable_feed(self, id_or_url: int | str) -> Feed:
        """Re-enable a disabled feed: clears the reason and the failure count, due at once."""

        def work(session: Session) -> Feed:
            row = self._require_feed(session, id_or_url)
            row.disabled_at = None
            row.disabled_reason = None
            row.consecutive_failures = 0
            row.next_poll_at = None
            session.flush()
            return _feed(row)

        return self._run(work)

    # ------------------------------------------------------------------ articles

    @staticmethod
    def _feeds_of(session: Session, article_ids: Sequence[str]) -> dict[str, list[str]]:
        feeds: dict[str, list[str]] = {article_id: [] for article_id in article_ids}
        for chunk in _chunks(list(article_ids)):
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
        return [_article(r, feeds[r.id]) for r in rows]

    @staticmethod
    def _find_existing(
        session: Session, canon: str, guid: str | None, feed_id: int | None, title: str, chash: str, text_: str
    ) -> ArticleRow | None:
        # One query for the canonical URL and (a long text's) content hash: the canonical match, else the oldest
        # article with the same content, which the GUID match below still takes precedence over.
        by_content = len(normalize_text(text_)) >= CONTENT_IDENTITY_MIN_CHARS
        same_url = ArticleRow.canonical_url == canon
        first = session.scalar(
            select(ArticleRow)
            .where(or_(same_url, ArticleRow.content_hash == chash) if by_content else same_url)
            .order_by(case((same_url, 0), else_=1), ArticleRow.pk)
            .limit(1)
        )
        if first is not None and first.canonical_url == canon:
            return first
        if guid and feed_id is not None:
            row = session.scalar(
                select(ArticleRow)
                .join(FeedArticleRow, FeedArticleRow.article_id == ArticleRow.id)
                .where(FeedArticleRow.feed_id == feed_id, FeedArticleRow.guid == guid)
                .order_by(ArticleRow.pk)
                .limit(1)
            )
            # A GUID reused for a different entry (a broken feed) must not overwrite the first one: a GUID match
            # under a new URL is the same article only when its title or its text is the same too.
            if row is not None and (row.content_hash == chash or normalize_text(row.title) == normalize_text(title)):
                return row
        return first

    def upsert_article(
        self,
        *,
        url: str | None,
        title: str | None,
        text: str,
        now: datetime,
        feed_id: int | None = None,
        guid: str | None = None,
        author: str | None = None,
        published_at: datetime | None = None,
        text_source: str = "feed",
        summary: Summary | Mapping[str, Any] | None = None,
        language: str | None = None,
        eligible: bool = True,
        outlet: str | None = None,
        minhash: bytes | None = None,
        assign_story: StoryAssigner | None = None,
    ) -> tuple[Article, UpsertStatus]:
        """Store an article met in a feed (or alone), linked to ``feed_id``; return it and what happened.

        Identity, in order: the canonical URL; the entry GUID within the same feed (when the title or text also
        matches, so a feed that reuses GUIDs loses nothing); the content hash (texts of at least
        :data:`CONTENT_IDENTITY_MIN_CHARS` characters). An article already stored is linked to this feed too and:

        - ``"unchanged"`` when its text and title are the same (a re-published entry with only a new date keeps
          its first ``published_at``), when the new text is empty, or when a feed snippet would replace text
          taken from the page; missing fields (guid, author, dates, summary, signature) are filled in;
        - ``"updated"`` when the text or title changed: same id and story; text, title, source, summary and
          signature are replaced (the old summary and signature describe the old text).

        ``eligible=False`` stores backlog (a new feed's first poll), which digests skip; ``outlet`` defaults to
        the URL's host. ``summary`` is a :class:`summarizer.Summary` or its JSON form (:func:`summary_to_json`).
        An entry without a link gets the URL ``urn:newsbrief:...`` (its GUID when that is a URL), so it still
        has an identity; ``text_source`` is ``"page"`` or ``"feed"``.

        ``assign_story`` decides the article's story in the same transaction: it is called (under the story lock,
        see :meth:`_lock_stories`) with the article as written when it is new or its text changed, and the story
        it returns is created or joined and the signature stored before the one commit, so an article is never
        stored without its story. Should it raise, nothing of the call is stored and the error propagates. It may
        be called again when the transaction is retried after losing a race for the same new article. Without
        it the article's story is left as it is (none for a new article: see :meth:`assign_story`).
        """
        if text_source not in ("page", "feed"):
            raise ValueError(f"text_source must be 'page' or 'feed', got {text_source!r}")
        source: TextSource = "page" if text_source == "page" else "feed"
        title = title or ""
        chash = content_hash(text)
        url = (url or "").strip() or _urn_for(feed_id, guid, title, text, chash)
        canon = canonical_url(url)
        summary_json = summary_to_json(summary)

        def work(session: Session) -> tuple[Article, UpsertStatus]:
            if assign_story is not None:
                self._lock_stories(session)
            row = self._find_existing(session, canon, guid, feed_id, title, chash, text)
            status: UpsertStatus
            feeds: list[str] | None = None
            if row is None:
                row = ArticleRow(
                    id=new_article_id(),
                    url=url,
                    canonical_url=canon,
                    guid=guid,
                    title=title,
                    author=author,
                    outlet=outlet if outlet is not None else outlet_of(url),
                    published_at=published_at,
                    first_seen=now,
                    updated_at=now,
                    text=text,
                    text_source=source,
                    content_hash=chash,
                    summary_json=summary_json,
                    minhash=minhash,
                    eligible=eligible,
                    language=language,
                )
                session.add(row)
                session.flush()
                status = "new"
                feeds = []
                if feed_id is not None:  # a new article has no feed links yet: skip looking for one
                    feed = session.get(FeedRow, feed_id)
                    if feed is None:
                        raise KeyError(f"no feed {feed_id!r}")
                    session.add(FeedArticleRow(feed_id=feed_id, article_id=row.id, guid=guid, first_seen=now))
                    feeds = [feed.url]
            else:
                status = self._update(row, title, text, chash, source, now)
                if status == "updated":
                    row.summary_json = summary_json
                    row.minhash = minhash
                    row.author = author or row.author
                    row.language = language or row.language
                else:
                    row.summary_json = row.summary_json if row.summary_json is not None else summary_json
                    row.minhash = row.minhash if row.minhash is not None else minhash
                    row.author = row.author or author
                    row.language = row.language or language
                row.guid = row.guid or guid
                row.published_at = row.published_at or published_at
                if feed_id is not None and session.get(FeedArticleRow, (feed_id, row.id)) is None:
                    if session.get(FeedRow, feed_id) is None:
                        raise KeyError(f"no feed {feed_id!r}")
                    session.add(FeedArticleRow(feed_id=feed_id, article_id=row.id, guid=guid, first_seen=now))
            session.flush()
            if feeds is None:
                feeds = self._feeds_of(session, [row.id])[row.id]
            if assign_story is not None and status != "unchanged":
                self._put_in_story(session, row, assign_story(_article(row, feeds)), now)
            return _article(row, feeds), status

        return self._run(work)

    @staticmethod
    def _update(row: ArticleRow, title: str, text_: str, chash: str, source: TextSource, now: datetime) -> UpsertStatus:
        if not text_.strip() or (row.text_source == "page" and source == "feed"):
            return "unchanged"
        if source == "page":  # the page was used: its earlier failures no longer matter
            row.page_attempts, row.page_retry_at, row.page_error = 0, None, None
        same_text = row.content_hash == chash
        same_title = not title.strip() or normalize_text(title) == normalize_text(row.title)
        if same_text and same_title:
            if row.text_source == "feed" and source == "page":
                row.text_source = "page"
            return "unchanged"
        row.text = text_
        row.title = title if title.strip() else row.title
        row.content_hash = chash
        row.text_source = source
        row.updated_at = now
        return "updated"

    def record_page_failure(self, article_id: str, *, error: str, retry_at: datetime | None) -> Article:
        """Note that the page of an article stored from its feed's text was not used (``error``: why, one line):
        one more page attempt, and the page is not fetched again before ``retry_at`` (``None``: never).

        An article whose text is already its page's is left as it is. Raises ``KeyError`` for an unknown id.
        """

        def work(session: Session) -> Article:
            session.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id, ArticleRow.text_source == "feed")
                .values(
                    page_attempts=ArticleRow.page_attempts + 1,
                    page_retry_at=retry_at,
                    page_error=" ".join(error.split())[:1000],
                )
            )
            row = session.scalar(select(ArticleRow).where(ArticleRow.id == article_id))
            if row is None:
                raise KeyError(f"no article {article_id!r}")
            return self._articles(session, [row])[0]

        return self._run(work)

    def get_article(self, id_or_url: str) -> Article | None:
        """The article with this id, URL or canonical URL (the canonical form of the given URL), or ``None``."""
        key = id_or_url.strip()
        with self._sessions() as session:
            row = session.scalar(select(ArticleRow).where(ArticleRow.id == key))
            if row is None:
                row = session.scalar(select(ArticleRow).where(ArticleRow.url == key).order_by(ArticleRow.pk).limit(1))
            if row is None:
                row = session.scalar(select(ArticleRow).where(ArticleRow.canonical_url == canonical_url(key)))
            return self._articles(session, [row])[0] if row else None

    def article_at(self, url: str) -> Article | None:
        """The article stored under ``url``'s canonical form (the identity :meth:`upsert_article` matches first),
        or ``None``: one indexed lookup, for the ingest path that asks this of every feed entry (:meth:`get_article`
        also tries ids and the exact ``url`` column, which has no index)."""
        with self._sessions() as session:
            row = session.scalar(select(ArticleRow).where(ArticleRow.canonical_url == canonical_url(url)))
            return self._articles(session, [row])[0] if row else None

    def list_articles(
        self,
        limit: int = 50,
        *,
        offset: int = 0,
        feed_id: int | None = None,
        story_id: str | None = None,
        since: datetime | None = None,
        eligible: bool | None = None,
    ) -> list[Article]:
        """Articles, newest first-seen first, optionally of one feed or story, first seen since a time."""
        stmt = select(ArticleRow)
        if feed_id is not None:
            stmt = stmt.join(FeedArticleRow, FeedArticleRow.article_id == ArticleRow.id).where(
                FeedArticleRow.feed_id == feed_id
            )
        if story_id is not None:
            stmt = stmt.where(ArticleRow.story_id == story_id)
        if since is not None:
            stmt = stmt.where(ArticleRow.first_seen >= since)
        if eligible is not None:
            stmt = stmt.where(ArticleRow.eligible.is_(eligible))
        stmt = stmt.order_by(ArticleRow.first_seen.desc(), ArticleRow.pk.desc()).offset(offset).limit(limit)
        with self._sessions() as session:
            return self._articles(session, list(session.scalars(stmt)))

    def search(
        self,
        query: str,
        *,
        since: datetime | None = None,
        limit: int = 20,
        seen_since: datetime | None = None,
        digest: DigestFilter | None = None,
    ) -> list[tuple[Article, float]]:
        """Full-text search over titles and texts, best first, with the backend's relevance score (higher = better).

        Query syntax (see :mod:`bot.store._query`): words (all required), ``"phrases"``, ``OR`` between terms,
        ``-word``/``-"phrase"`` to exclude. Any user text is safe: it is reduced to quoted words, never passed
        as backend syntax. ``since`` keeps articles published (or, without a date, first seen) at or after it;
        ``seen_since`` keeps articles first seen at or after it, and lets the backend skip older rows by index
        (a briefing's window: :meth:`_first_pk_seen_since`); ``digest`` keeps only what a subscription's digest
        may carry (:class:`DigestFilter`), in the query, so before ``limit``. PostgreSQL combines one
        ``websearch_to_tsquery`` per term (:func:`bot.store._query.to_tsquery_sql`). Ranking: SQLite FTS5 bm25
        (title weighted :data:`TITLE_WEIGHT`), PostgreSQL ``ts_rank`` (title A, text B); both stem English words.
        """
        parsed = parse_query(query)
        if parsed.empty or limit <= 0:
            return []
        where: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            where.append("AND coalesce(a.published_at, a.first_seen) >= :since")
            params["since"] = since
        if seen_since is not None:
            where.append("AND a.first_seen >= :seen_since")
            params["seen_since"] = seen_since
        with self._sessions() as session:
            if digest is not None:
                where.append(self._digest_condition(session, digest, params))
            if self.dialect == "sqlite":
                if seen_since is not None:
                    first_pk = self._first_pk_seen_since(session, seen_since)
                    if first_pk is None:
                        return []
                    # FTS5 seeks its doclists to a rowid bound, so bm25 is computed for the window's rows only.
                    where.append("AND articles_fts.rowid >= :first_pk")
                    params["first_pk"] = first_pk
                sql = (
                    f"SELECT a.pk, -bm25(articles_fts, {TITLE_WEIGHT}, 1.0) AS score FROM articles_fts "
                    f"JOIN articles a ON a.pk = articles_fts.rowid WHERE articles_fts MATCH :q {' '.join(where)} "
                    f"ORDER BY score DESC, a.first_seen DESC, a.pk DESC LIMIT :limit"
                )
                params["q"] = to_fts5(parsed)
            else:
                # With first_seen bounded, PostgreSQL ANDs the GIN bitmap with the first_seen index's and ranks
                # the window's rows only.
                tsquery, terms = to_tsquery_sql(parsed)
                sql = (
                    f"SELECT a.pk, ts_rank(a.search, q.query) AS score FROM articles a, (SELECT {tsquery} AS query) "
                    f"AS q WHERE a.search @@ q.query {' '.join(where)} "
                    f"ORDER BY score DESC, a.first_seen DESC, a.pk DESC LIMIT :limit"
                )
                params.update(terms)
            stamps = [bindparam(name, type_=UTCDateTime()) for name in ("since", "seen_since") if name in params]
            stmt = text(sql).bindparams(*stamps)
            hits = [(int(pk), float(score)) for pk, score in session.execute(stmt, params)]
            if not hits:
                return []
            rows = {r.pk: r for r in session.scalars(select(ArticleRow).where(ArticleRow.pk.in_([p for p, _ in hits])))}
            articles = {a.id: a for a in self._articles(session, list(rows.values()))}
            return [(articles[rows[pk].id], score) for pk, score in hits if pk in rows]

    @staticmethod
    def _digest_condition(session: Session, digest: DigestFilter, params: dict[str, Any]) -> str:
        """The search condition (on ``articles a``) of a :class:`DigestFilter`; its parameters go into ``params``.

        The posted ledger is read in the query (a subscription's grows with every digest); the few stories of
        digests in flight are weighed here against their article counts now and left out by key.
        """
        params["digest_sub"], params["renewal"] = digest.subscription_id, digest.renewal
        key = "coalesce(a.story_id, a.id)"
        count = "coalesce((SELECT s.article_count FROM stories s WHERE s.id = a.story_id), 1)"
        condition = (
            f"AND a.eligible AND NOT EXISTS (SELECT 1 FROM posted_stories p WHERE p.subscription_id = :digest_sub "
            f"AND p.story_id = {key} AND p.article_count_at_post > {count} - :renewal)"
        )
        if digest.feeds is not None:
            params.update({f"digest_feed{i}": feed_id for i, feed_id in enumerate(sorted(digest.feeds))})
            names = ", ".join(f":digest_feed{i}" for i in range(len(digest.feeds)))
            condition += (
                f" AND EXISTS (SELECT 1 FROM feed_articles fa WHERE fa.article_id = a.id AND fa.feed_id IN ({names}))"
                if names
                else " AND 1 = 0"
            )
        if digest.in_flight:
            stmt = select(StoryRow.id, StoryRow.article_count).where(StoryRow.id.in_(list(digest.in_flight)))
            counts = {story_id: int(n) for story_id, n in session.execute(stmt)}
            blocked = sorted(k for k, then in digest.in_flight.items() if then > counts.get(k, 1) - digest.renewal)
            params.update({f"in_flight{i}": k for i, k in enumerate(blocked)})
            if blocked:
                condition += f" AND {key} NOT IN ({', '.join(f':in_flight{i}' for i in range(len(blocked)))})"
        return condition

    @staticmethod
    def _first_pk_seen_since(session: Session, when: datetime) -> int | None:
        """The smallest ``pk`` of the articles first seen at or after ``when`` (``None``: there are none).

        Every such article has a ``pk`` at least this, so it bounds an FTS5 rowid range exactly; articles are
        stored as they are first seen, so the bound is tight. Read through the ``first_seen`` index, which
        ``ORDER BY pk LIMIT 1`` makes SQLite use (``min(pk)`` would walk the whole table by rowid).
        """
        stmt = text("SELECT pk FROM articles WHERE first_seen >= :when ORDER BY pk LIMIT 1").bindparams(
            bindparam("when", type_=UTCDateTime())
        )
        found = session.execute(stmt, {"when": when}).scalar()
        return None if found is None else int(found)

    def story_members(
        self, story_ids: Iterable[str], *, since: datetime, limit: int, exclude: Iterable[str] = ()
    ) -> dict[str, tuple[Story, list[Article]]]:
        """What a briefing reads of the stories its search hits belong to, in one session: each story, with its
        newest ``limit`` articles first seen at or after ``since`` (newest first), leaving out the articles whose
        ids are in ``exclude`` (the hits already read). A story that does not exist is missing from the result.
        """
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        left_out = sorted(set(exclude))
        with self._sessions() as session:
            found: dict[str, tuple[Story, list[Article]]] = {
                row.id: (_story(row), []) for row in session.scalars(select(StoryRow).where(StoryRow.id.in_(ids)))
            }
            if limit <= 0 or not found:
                return found
            newest = (ArticleRow.first_seen.desc(), ArticleRow.pk.desc())
            numbered = select(
                ArticleRow.pk, func.row_number().over(partition_by=ArticleRow.story_id, order_by=newest).label("n")
            ).where(ArticleRow.story_id.in_(list(found)), ArticleRow.first_seen >= since)
            if left_out:
                numbered = numbered.where(ArticleRow.id.not_in(left_out))
            ranked = numbered.subquery()
            rows = session.scalars(
                select(ArticleRow)
                .join(ranked, ranked.c.pk == ArticleRow.pk)
                .where(ranked.c.n <= limit)
                .order_by(*newest)
            )
            for article in self._articles(session, list(rows)):
                if article.story_id in found:
                    found[article.story_id][1].append(article)
        return found

    def cite(self, article_id: str, digest_ref: str, *, now: datetime) -> None:
        """Record that a posted digest (``digest_ref``) cites an article, which :meth:`prune` then keeps."""

        def work(session: Session) -> None:
            if session.scalar(select(ArticleRow.pk).where(ArticleRow.id == article_id)) is None:
                raise KeyError(f"no article {article_id!r}")
            session.add(DigestCitationRow(article_id=article_id, digest_ref=digest_ref, cited_at=now))

        self._run(work)

    def prune(self, older_than_days: int, now: datetime) -> int:
        """Delete articles first seen more than ``older_than_days`` days before ``now``, except those a posted
        digest cites; their feed links and search entries go with them, and stories left empty are dropped.
        Returns how many articles were deleted."""
        if older_than_days < 0:
            raise ValueError(f"prune: older_than_days must be >= 0, got {older_than_days}")
        cutoff = now - timedelta(days=older_than_days)

        def work(session: Session) -> int:
            victims = session.execute(
                select(ArticleRow.id, ArticleRow.story_id).where(
                    ArticleRow.first_seen < cutoff,
                    ArticleRow.id.not_in(select(DigestCitationRow.article_id)),
                )
            ).all()
            ids = [article_id for article_id, _ in victims]
            stories = {story_id for _, story_id in victims if story_id is not None}
            for chunk in _chunks(ids):
                session.execute(delete(FeedArticleRow).where(FeedArticleRow.article_id.in_(chunk)))
                session.execute(delete(ArticleRow).where(ArticleRow.id.in_(chunk)))
            for story_id in sorted(stories):
                self._refresh_story(session, story_id, None)
            return len(ids)

        return self._run(work)

    # ------------------------------------------------------------------ stories

    @staticmethod
    def _refresh_story(session: Session, story_id: str, now: datetime | None) -> StoryRow | None:
        story = session.get(StoryRow, story_id)
        if story is None:
            return None
        outlets = session.execute(
            select(ArticleRow.outlet, func.min(ArticleRow.first_seen).label("first"), func.count())
            .where(ArticleRow.story_id == story_id)
            .group_by(ArticleRow.outlet)
            .order_by("first", ArticleRow.outlet)
        ).all()
        count = sum(int(n) for _, _, n in outlets)
        if count == 0:
            session.delete(story)
            return None
        story.article_count = count
        story.outlets = [outlet for outlet, _, _ in outlets if outlet]
        if now is not None:
            story.updated_at = now
        return story

    def _lock_stories(self, session: Session, *, idle_bound: bool = True) -> None:
        """Take the story-assignment lock for the rest of the session's transaction, before anything else is read:
        PostgreSQL's advisory lock :data:`STORY_LOCK_KEY`; on SQLite the write lock (``BEGIN IMMEDIATE``; the
        driver would otherwise begin the transaction only at its first write, after the reads). Whoever decides a
        story under it sees every story decided before, and no other decision lands until the commit.

        On PostgreSQL the transaction may then sit idle at most :attr:`story_lock_idle_s` (``idle_bound``; not
        for a rebuild of the whole archive), so a holder that vanished cannot keep the lock."""
        if self.dialect == "postgresql":
            if idle_bound:
                session.execute(
                    text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"),
                    {"ms": str(max(1, round(self.story_lock_idle_s * 1000)))},
                )
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})
            return
        connection = session.connection()
        driver: Any = connection.connection.dbapi_connection  # sqlite3.Connection
        if not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _put_in_story(self, session: Session, row: ArticleRow, placed: StoryAssignment, now: datetime) -> StoryRow:
        """Put the article of ``row`` into the story ``placed`` names (an alias means the story it was merged
        into; created when new: first seen = the article's first sight, ``follows`` = the earlier story of its
        thread), after merging ``placed.merged`` into it, and store its signature (``None`` keeps it); the story's
        count and outlets are recomputed, and a story it left is dropped when empty."""
        story_id = self._resolve_story(session, placed.story_id)
        for alias in placed.merged:  # the article joined these stories to this one: the older keeps its id
            self._merge_stories(session, alias, story_id, now)
        story = session.get(StoryRow, story_id)
        previous = row.story_id
        if placed.signature is not None:
            row.minhash = placed.signature
        if story is None and previous is None:  # a new story of this one article: nothing to count
            follows = self._resolve_story(session, placed.follows) if placed.follows else None
            story = StoryRow(
                id=story_id,
                first_seen=row.first_seen,
                updated_at=now,
                article_count=1,
                outlets=[row.outlet] if row.outlet else [],
                follows=follows,
            )
            session.add(story)
            session.flush()
            row.story_id = story_id
            session.flush()
            return story
        if story is None:
            story = StoryRow(id=story_id, first_seen=row.first_seen, updated_at=now, article_count=0, outlets=[])
            session.add(story)
            session.flush()
        elif row.first_seen < story.first_seen:
            story.first_seen = row.first_seen
        row.story_id = story_id
        session.flush()
        if previous is not None and previous != story_id:
            self._refresh_story(session, previous, now)
        if previous is None and self._joins_in_order(session, story, row):
            # a new article counted in place: no GROUP BY over the story's articles
            story.article_count += 1
            if row.outlet and row.outlet not in story.outlets:
                story.outlets = [*story.outlets, row.outlet]
            story.updated_at = now
            session.flush()
            return story
        refreshed = self._refresh_story(session, story_id, now)
        assert refreshed is not None
        session.flush()
        return refreshed

    @staticmethod
    def _joins_in_order(session: Session, story: StoryRow, row: ArticleRow) -> bool:
        """Whether the article of ``row``, new to ``story``, leaves its outlets' order (by first sight, then name)
        as it is, but for its outlet added at the end: its outlet is there already with an article first seen no
        later, or it is a new outlet and every other article of the story was first seen before it."""
        others = select(ArticleRow.pk).where(ArticleRow.story_id == story.id, ArticleRow.pk != row.pk).limit(1)
        if not row.outlet:
            return True
        if row.outlet in story.outlets:
            earlier = others.where(ArticleRow.outlet == row.outlet, ArticleRow.first_seen <= row.first_seen)
            return session.scalar(earlier) is not None
        return session.scalar(others.where(ArticleRow.first_seen >= row.first_seen)) is None

    def assign_story(
        self, article_id: str, story_id: str, now: datetime, *, minhash: bytes | None = None, follows: str | None = None
    ) -> Story:
        """Put a stored article into a story (created when new: first seen = the article's first sight; ``follows``:
        the earlier story of its thread; an alias means the story it was merged into) and store its signature
        (``minhash``); the story's article count and outlets are recomputed, and a story it left is dropped when
        empty. Returns the story. (Ingest decides a new article's story as it stores it: ``upsert_article``'s
        ``assign_story``; this moves an article later, or files one stored without a story.)"""

        def work(session: Session) -> Story:
            self._lock_stories(session)
            row = session.scalar(select(ArticleRow).where(ArticleRow.id == article_id))
            if row is None:
                raise KeyError(f"no article {article_id!r}")
            return _story(self._put_in_story(session, row, StoryAssignment(story_id, minhash, follows=follows), now))

        return self._run(work)

    def storyless_articles(self, *, limit: int | None = None) -> list[str]:
        """Ids of the articles that belong to no story, first seen first (at most ``limit``)."""
        stmt = select(ArticleRow.id).where(ArticleRow.story_id.is_(None)).order_by(ArticleRow.first_seen, ArticleRow.pk)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._sessions() as session:
            return list(session.scalars(stmt))

    def file_storyless(self, article_id: str, assign_story: StoryAssigner | None = None, *, now: datetime) -> bool:
        """Give an article without a story one, in one transaction under the story lock: the story
        ``assign_story`` decides (as in :meth:`upsert_article`), else a new story of its own
        (:func:`bot.stories.story_key_for` its id). ``False`` when there is no such article or it has a story
        by now (another process filed it first)."""

        def work(session: Session) -> bool:
            self._lock_stories(session)
            row = session.scalar(select(ArticleRow).where(ArticleRow.id == article_id))
            if row is None or row.story_id is not None:
                return False
            if assign_story is None:
                placed = StoryAssignment(story_key_for(row.id))
            else:
                placed = assign_story(self._articles(session, [row])[0])
            self._put_in_story(session, row, placed, now)
            return True

        return self._run(work)

    @staticmethod
    def _resolve_story(session: Session, story_id: str) -> str:
        alias = session.get(StoryAliasRow, story_id)
        return alias.story_id if alias is not None else story_id

    def get_story(self, story_id: str) -> Story | None:
        """The story with this id (or the story it was merged into, for an alias), or ``None``."""
        with self._sessions() as session:
            row = session.get(StoryRow, self._resolve_story(session, story_id))
            return _story(row) if row else None

    def merge_stories(self, alias: str, into: str, now: datetime) -> Story | None:
        """Merge story ``alias`` into story ``into`` (which keeps its id): its articles move over, ``alias`` is
        recorded as an alias of ``into`` (and so are the aliases it had). A subscription that posted either story
        records the merged one as posted with its article count now, so no digest posts it again because of the
        merge. Returns the merged story (``None`` when neither exists); merging a story into itself is a no-op."""

        def work(session: Session) -> Story | None:
            self._lock_stories(session)
            merged = self._merge_stories(session, alias, into, now)
            return _story(merged) if merged is not None else None

        return self._run(work)

    def stories(self) -> dict[str, Story]:
        """Every story, by id."""
        with self._sessions() as session:
            return {row.id: _story(row) for row in session.scalars(select(StoryRow))}

    def archived_articles(self, *, since: datetime, batch: int = 500) -> Iterator[ArchivedArticle]:
        """The articles first seen since ``since``, in row order, with what regrouping them into stories reads
        (title, text, outlet, times, story, stored terms); read ``batch`` rows at a time, never all texts at once."""
        stmt = (
            select(
                ArticleRow.id,
                ArticleRow.title,
                ArticleRow.text,
                ArticleRow.outlet,
                ArticleRow.published_at,
                ArticleRow.first_seen,
                ArticleRow.story_id,
                ArticleRow.minhash,
            )
            .where(ArticleRow.first_seen >= since)
            .order_by(ArticleRow.pk)
            .execution_options(yield_per=batch)
        )
        with self._sessions() as session:
            for row in session.execute(stmt):
                article_id, title, text_, outlet, published, first_seen, story_id, terms = row
                yield ArchivedArticle(
                    article_id,
                    title or "",
                    text_ or "",
                    outlet or "",
                    published,
                    first_seen,
                    story_id,
                    bytes(terms) if terms is not None else None,
                )

    def regroup_stories(
        self,
        story_of: Mapping[str, str],
        *,
        terms: Mapping[str, bytes],
        follows: Mapping[str, str | None],
        aliases: Mapping[str, str],
        now: datetime,
    ) -> int:
        """Apply a regrouping of the archive (``newsbrief stories rebuild``) in one transaction: every article of
        ``story_of`` moves to its story (created when new), ``terms`` replace stored story terms, ``follows`` sets
        each story's follow-up link, and each story of ``aliases`` is merged into the one it names (recorded as an
        alias, as :meth:`merge_stories` does, so no digest posts it again). The stories that changed get their
        counts, outlets and first sight recomputed; those left empty are dropped. An article pruned meanwhile is
        skipped. Returns how many articles moved."""

        def work(session: Session) -> int:
            self._lock_stories(session, idle_bound=False)
            found: dict[str, tuple[int, str | None, datetime]] = {}
            for chunk in _chunks(sorted(set(story_of) | set(terms))):
                query = select(ArticleRow.id, ArticleRow.pk, ArticleRow.story_id, ArticleRow.first_seen)
                for article_id, pk, story_id, first_seen in session.execute(query.where(ArticleRow.id.in_(chunk))):
                    found[article_id] = (pk, story_id, first_seen)
            moves = {a: s for a, s in story_of.items() if a in found and found[a][1] != s}
            touched = set(moves.values()) | {old for a in moves if (old := found[a][1]) is not None}
            firsts: dict[str, datetime] = {}
            for article_id, story_id in moves.items():
                first_seen = found[article_id][2]
                firsts[story_id] = min(firsts.get(story_id, first_seen), first_seen)
            rows: dict[str, StoryRow] = {}
            for chunk in _chunks(sorted(set(follows) | set(firsts))):
                rows.update((row.id, row) for row in session.scalars(select(StoryRow).where(StoryRow.id.in_(chunk))))
            for story_id in sorted(set(firsts) - set(rows)):
                rows[story_id] = StoryRow(
                    id=story_id, first_seen=firsts[story_id], updated_at=now, article_count=0, outlets=[]
                )
                session.add(rows[story_id])
            for story_id, earlier in follows.items():
                if story_id in rows and rows[story_id].follows != earlier:
                    rows[story_id].follows = earlier
            session.flush()
            if moves:
                session.execute(update(ArticleRow), [{"pk": found[a][0], "story_id": s} for a, s in moves.items()])
            changed = [{"pk": found[a][0], "minhash": blob} for a, blob in terms.items() if a in found]
            if changed:
                session.execute(update(ArticleRow), changed)
            session.flush()
            for alias, into in sorted(aliases.items()):
                self._merge_stories(session, alias, into, now)
            for story_id in sorted(touched):
                story = self._refresh_story(session, story_id, now)
                if story is not None:  # it began with its first article now
                    first = select(func.min(ArticleRow.first_seen)).where(ArticleRow.story_id == story_id)
                    story.first_seen = session.scalar(first) or story.first_seen
            session.flush()
            return len(moves)

        return self._run(work)

    def _merge_stories(self, session: Session, alias: str, into: str, now: datetime) -> StoryRow | None:
        """:meth:`merge_stories` within ``session``'s transaction."""
        source, target = self._resolve_story(session, alias), self._resolve_story(session, into)
        if source == target:
            return session.get(StoryRow, target)
        session.execute(update(ArticleRow).where(ArticleRow.story_id == source).values(story_id=target))
        session.execute(update(StoryAliasRow).where(StoryAliasRow.story_id == source).values(story_id=target))
        if session.get(StoryAliasRow, source) is None:
            session.add(StoryAliasRow(alias=source, story_id=target, merged_at=now))
        old = session.get(StoryRow, source)
        story = session.get(StoryRow, target)
        if story is None and old is not None:
            story = StoryRow(id=target, first_seen=old.first_seen, updated_at=now, article_count=0, outlets=[])
            session.add(story)
        elif story is not None and old is not None and old.first_seen < story.first_seen:
            story.first_seen = old.first_seen
        if old is not None:
            session.delete(old)
        session.flush()
        merged = self._refresh_story(session, target, now)
        if merged is None:
            return None
        posted = session.scalars(select(PostedStoryRow).where(PostedStoryRow.story_id.in_([source, target])))
        for sub_id in sorted({row.subscription_id for row in posted}):
            for story_key in (source, target):
                existing = session.get(PostedStoryRow, (sub_id, story_key))
                if existing is None:
                    session.add(
                        PostedStoryRow(
                            subscription_id=sub_id,
                            story_id=story_key,
                            posted_at=now,
                            article_count_at_post=merged.article_count,
                        )
                    )
                else:
                    existing.article_count_at_post = max(existing.article_count_at_post, merged.article_count)
        session.flush()
        return merged

    def story_aliases(self) -> dict[str, str]:
        """Every alias with the story it leads to now."""
        with self._sessions() as session:
            return {
                alias: story for alias, story in session.execute(select(StoryAliasRow.alias, StoryAliasRow.story_id))
            }

    def story_headlines(self, story_ids: Iterable[str]) -> dict[str, str]:
        """The headline of each story (an alias means the story it was merged into): the title of its first titled
        article, first seen first. A story without one (or no longer stored) is missing from the result."""
        with self._sessions() as session:
            resolved = {story_id: self._resolve_story(session, story_id) for story_id in sorted(set(story_ids))}
            if not resolved:
                return {}
            stmt = (
                select(ArticleRow.story_id, ArticleRow.title)
                .where(ArticleRow.story_id.in_(sorted(set(resolved.values()))), ArticleRow.title != "")
                .order_by(ArticleRow.first_seen.desc(), ArticleRow.pk.desc())
            )
            titles = {story_id: title for story_id, title in session.execute(stmt)}  # the earliest comes last
        return {asked: titles[story_id] for asked, story_id in resolved.items() if story_id in titles}

    def story_articles(self, story_id: str) -> list[Article]:
        """A story's articles, first seen first."""
        stmt = select(ArticleRow).where(ArticleRow.story_id == story_id).order_by(ArticleRow.first_seen, ArticleRow.pk)
        with self._sessions() as session:
            return self._articles(session, list(session.scalars(stmt)))

    def minhash_signatures(
        self, *, since: datetime | None = None, after_row: int | None = None
    ) -> list[StoredSignature]:
        """Stored story terms of the articles first seen since ``since`` (and stored after row ``after_row``: what
        other processes added since an index last looked), in row order, to rebuild or catch up the index."""
        stmt = select(
            ArticleRow.id,
            ArticleRow.minhash,
            ArticleRow.outlet,
            ArticleRow.story_id,
            ArticleRow.published_at,
            ArticleRow.first_seen,
            ArticleRow.pk,
        ).where(ArticleRow.minhash.is_not(None))
        if since is not None:
            stmt = stmt.where(ArticleRow.first_seen >= since)
        if after_row is not None:
            stmt = stmt.where(ArticleRow.pk > after_row)
        stmt = stmt.order_by(ArticleRow.pk)
        with self._sessions() as session:
            return [
                StoredSignature(article_id, bytes(sig), outlet, story_id, published, first_seen, pk)
                for article_id, sig, outlet, story_id, published, first_seen, pk in session.execute(stmt)
                if sig is not None
            ]

    # ------------------------------------------------------------------ subscriptions and digests

    def add_subscription(
        self,
        platform: str,
        channel: str,
        topic: str,
        *,
        schedule: str,
        tz: str,
        now: datetime,
        by: str | None = None,
        sources: Sequence[str] = (),
        team: str | None = None,
    ) -> Subscription:
        """Subscribe a channel to a topic (``schedule``, ``tz`` and ``sources``, feed ids and ``tag:NAME``, already
        validated by the caller; no ``sources``: the whole archive). ``team``: the Slack workspace of the channel
        (OAuth installs).

        The same platform, channel and topic twice raises ``ValueError`` naming the existing subscription.
        """
        platform, channel, topic = platform.strip(), channel.strip(), topic.strip()
        if not platform or not channel or not topic:
            raise ValueError("a subscription needs a platform, a channel and a topic")

        def duplicate(existing: SubscriptionRow | None) -> ValueError:
            which = f" (id {existing.id}, {existing.schedule} {existing.tz})" if existing is not None else ""
            return ValueError(f"{platform} channel {channel} is already subscribed to {topic}{which}")

        def work(session: Session) -> Subscription:
            existing = session.scalar(
                select(SubscriptionRow).where(
                    SubscriptionRow.platform == platform,
                    SubscriptionRow.channel == channel,
                    SubscriptionRow.topic == topic,
                )
            )
            if existing is not None:
                raise duplicate(existing)
            row = SubscriptionRow(
                platform=platform,
                channel=channel,
                topic=topic,
                schedule=schedule,
                tz=tz,
                created_at=now,
                created_by=by,
                sources=list(sources) or None,
                team=team,
            )
            session.add(row)
            session.flush()
            return _subscription(row)

        try:
            return self._run(work, retries=0)
        except IntegrityError:  # a concurrent writer added the same subscription first
            raise duplicate(None) from None

    def get_subscription(self, sub_id: int) -> Subscription | None:
        """The subscription with this id, or ``None``."""
        with self._sessions() as session:
            row = session.get(SubscriptionRow, sub_id)
            return _subscription(row) if row else None

    def list_subscriptions(self, *, platform: str | None = None, channel: str | None = None) -> list[Subscription]:
        """Subscriptions (optionally of one platform and/or channel), by id."""
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.id)
        if platform is not None:
            stmt = stmt.where(SubscriptionRow.platform == platform)
        if channel is not None:
            stmt = stmt.where(SubscriptionRow.channel == channel)
        with self._sessions() as session:
            return [_subscription(r) for r in session.scalars(stmt)]

    def remove_subscription(self, sub_id: int) -> bool:
        """Remove a subscription with its slot claims, digest messages and posted-story records; ``False`` when
        there is none."""

        def work(session: Session) -> bool:
            row = session.get(SubscriptionRow, sub_id)
            if row is None:
                return False
            session.execute(delete(DigestMessageRow).where(DigestMessageRow.subscription_id == sub_id))
            session.execute(delete(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id))
            session.execute(delete(PostedStoryRow).where(PostedStoryRow.subscription_id == sub_id))
            session.delete(row)
            return True

        return self._run(work)

    def _change_subscription(self, sub_id: int, **fields: Any) -> Subscription:
        """Set columns of one subscription (``KeyError`` when there is no such subscription)."""

        def work(session: Session) -> Subscription:
            row = session.get(SubscriptionRow, sub_id)
            if row is None:
                raise KeyError(f"no subscription {sub_id!r}")
            for name, value in fields.items():
                setattr(row, name, value)
            session.flush()
            return _subscription(row)

        return self._run(work)

    def update_subscription_schedule(
        self, sub_id: int, *, schedule: str, tz: str, sources: Sequence[str] | None = None
    ) -> Subscription:
        """Change a subscription's schedule and time zone, and its sources unless ``sources`` is ``None`` (``()``:
        the whole archive); ``KeyError`` when there is no such subscription."""
        if sources is None:
            return self._change_subscription(sub_id, schedule=schedule, tz=tz)
        return self._change_subscription(sub_id, schedule=schedule, tz=tz, sources=list(sources) or None)

    def pause_subscription(self, sub_id: int, reason: str, now: datetime) -> Subscription:
        """Pause a subscription's digests, recording why (``KeyError`` when there is no such subscription)."""
        return self._change_subscription(sub_id, paused_at=now, paused_reason=reason)

    def pause_team_subscriptions(self, platform: str, team: str, reason: str, now: datetime) -> list[Subscription]:
        """Pause every running subscription of one workspace (``team``) of ``platform``, recording why (e.g. the
        app was uninstalled there); returns those it paused."""

        def work(session: Session) -> list[Subscription]:
            rows = list(
                session.scalars(
                    select(SubscriptionRow)
                    .where(
                        SubscriptionRow.platform == platform,
                        SubscriptionRow.team == team,
                        SubscriptionRow.paused_at.is_(None),
                    )
                    .order_by(SubscriptionRow.id)
                )
            )
            for row in rows:
                row.paused_at, row.paused_reason = now, reason
            session.flush()
            return [_subscription(row) for row in rows]

        return self._run(work)

    def resume_subscription(self, sub_id: int) -> Subscription:
        """Resume a paused subscription (``KeyError`` when there is no such subscription)."""
        return self._change_subscription(sub_id, paused_at=None, paused_reason=None)

    def claim_slot(self, sub_id: int, slot: str, *, by: str, now: datetime) -> bool:
        """Claim a subscription's digest slot before posting: ``True`` only for the first claimer, in this or any
        other process on the same database (the unique (subscription, slot) key decides; a violation means
        another claimer has it). The claim is committed at once, in its own transaction, so a lost race never
        leaves a session in a failed state. ``KeyError`` when there is no such subscription."""
        if self.get_subscription(sub_id) is None:
            raise KeyError(f"no subscription {sub_id!r}")
        try:
            with self._sessions() as session, session.begin():
                session.add(DigestSlotRow(subscription_id=sub_id, slot=slot, claimed_at=now, claimed_by=by))
        except IntegrityError:
            return False
        return True

    def finish_slot(
        self, sub_id: int, slot: str, outcome: SlotOutcome, message_ref: str | None, now: datetime
    ) -> DigestSlot:
        """Record how a claimed slot ended ("posted" with the message's reference, "empty" or "failed").

        ``KeyError`` when the slot was never claimed; ``ValueError`` for an unknown outcome.
        """
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown digest outcome {outcome!r} (expected posted, empty or failed)")

        def work(session: Session) -> DigestSlot:
            row = self._claimed(session, sub_id, slot)
            row.outcome, row.message_ref, row.finished_at, row.note = outcome, message_ref, now, None
            session.flush()
            return _slot(row)

        return self._run(work)

    def in_flight_slots(self, *, claimed_before: datetime) -> list[DigestSlot]:
        """Claims with no outcome yet, made before ``claimed_before``: digests whose poster died between claiming
        (or posting) and recording the outcome. Oldest first."""
        stmt = (
            select(DigestSlotRow)
            .where(DigestSlotRow.outcome.is_(None), DigestSlotRow.claimed_at < claimed_before)
            .order_by(DigestSlotRow.claimed_at, DigestSlotRow.id)
        )
        with self._sessions() as session:
            return [_slot(r) for r in session.scalars(stmt)]

    def reclaim_slot(self, claim: DigestSlot, *, by: str, now: datetime) -> bool:
        """Take an in-flight claim over from its (dead) claimer: ``True`` for exactly one of several processes
        trying at once, ``False`` when the claim changed meanwhile (finished, or taken over by another)."""
        with self._sessions() as session, session.begin():
            result = session.execute(
                update(DigestSlotRow)
                .where(
                    DigestSlotRow.subscription_id == claim.subscription_id,
                    DigestSlotRow.slot == claim.slot,
                    DigestSlotRow.outcome.is_(None),
                    DigestSlotRow.claimed_by == claim.claimed_by,
                    DigestSlotRow.claimed_at == claim.claimed_at,
                )
                .values(claimed_by=by, claimed_at=now)
            )
            return bool(_rowcount(result))

    def plan_slot(self, sub_id: int, slot: str, stories: Mapping[str, int]) -> None:
        """Write down the stories (key -> article count) a claimed slot's digest is about to post, before it is
        posted: they count as posted for the subscription's next digests until the outcome is recorded, and a
        process finishing the slot after a crash records these. ``KeyError`` when the slot was never claimed."""

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot).planned = {str(k): int(v) for k, v in stories.items()}

        self._run(work)

    def _claimed(self, session: Session, sub_id: int, slot: str) -> DigestSlotRow:
        row = session.scalar(
            select(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id, DigestSlotRow.slot == slot)
        )
        if row is None:
            raise KeyError(f"subscription {sub_id}: slot {slot} was never claimed")
        return row

    def note_slot(self, sub_id: int, slot: str, note: str | None) -> None:
        """Write down (``None``: clear) why a claim in flight could not be checked yet, e.g. "the bot cannot read
        the channel's history"; :meth:`finish_slot` clears it. ``KeyError`` when the slot was never claimed."""

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot).note = note

        self._run(work)

    def record_digest_message(self, sub_id: int, slot: str, part: int, message_ref: str, *, now: datetime) -> None:
        """Record that part ``part`` (from 1) of a slot's digest is on the platform as ``message_ref``, as soon as
        the platform said so (before the slot is finished). Recording a part again replaces its reference.
        ``KeyError`` when the slot was never claimed; ``ValueError`` for a part below 1."""
        if part < 1:
            raise ValueError(f"record_digest_message: part must be at least 1, got {part}")

        def work(session: Session) -> None:
            self._claimed(session, sub_id, slot)
            row = session.get(DigestMessageRow, (sub_id, slot, part))
            if row is None:
                session.add(
                    DigestMessageRow(
                        subscription_id=sub_id, slot=slot, part=part, message_ref=message_ref, posted_at=now
                    )
                )
            else:
                row.message_ref, row.posted_at = message_ref, now

        self._run(work)

    def digest_messages(self, sub_id: int, slot: str) -> dict[int, str]:
        """The recorded messages of a slot's digest: part -> the platform's reference, in part order."""
        stmt = (
            select(DigestMessageRow.part, DigestMessageRow.message_ref)
            .where(DigestMessageRow.subscription_id == sub_id, DigestMessageRow.slot == slot)
            .order_by(DigestMessageRow.part)
        )
        with self._sessions() as session:
            return {int(part): str(ref) for part, ref in session.execute(stmt)}

    def planned_story_counts(self, sub_id: int, *, except_slot: str | None = None) -> dict[str, int]:
        """The stories planned by the subscription's digests still in flight (claimed, not finished), but the
        one of ``except_slot``."""
        stmt = select(DigestSlotRow.planned).where(
            DigestSlotRow.subscription_id == sub_id, DigestSlotRow.outcome.is_(None), DigestSlotRow.planned.is_not(None)
        )
        if except_slot is not None:
            stmt = stmt.where(DigestSlotRow.slot != except_slot)
        counts: dict[str, int] = {}
        with self._sessions() as session:
            for (planned,) in session.execute(stmt):
                for key, count in (planned or {}).items():
                    counts[str(key)] = max(counts.get(str(key), 0), int(count))
        return counts

    def get_slot(self, sub_id: int, slot: str) -> DigestSlot | None:
        """A subscription's claim of one slot with its outcome, or ``None`` when unclaimed."""
        with self._sessions() as session:
            row = session.scalar(
                select(DigestSlotRow).where(DigestSlotRow.subscription_id == sub_id, DigestSlotRow.slot == slot)
            )
            return _slot(row) if row else None

    def list_slots(self, sub_id: int) -> list[DigestSlot]:
        """A subscription's claimed slots, oldest claim first."""
        stmt = (
            select(DigestSlotRow)
            .where(DigestSlotRow.subscription_id == sub_id)
            .order_by(DigestSlotRow.claimed_at, DigestSlotRow.id)
        )
        with self._sessions() as session:
            return [_slot(r) for r in session.scalars(stmt)]

    def record_posted(self, sub_id: int, story_ids_with_counts: Mapping[str, int], now: datetime) -> None:
        """Record that a digest of the subscription carried these stories, each with its article count at the
        time. A story posted before keeps the higher count: an older digest recorded late (finished after a crash)
        must not make a story look new again."""

        def work(session: Session) -> None:
            for story_id, count in sorted(story_ids_with_counts.items()):
                row = session.get(PostedStoryRow, (sub_id, story_id))
                if row is None:
                    session.add(
                        PostedStoryRow(
                            subscription_id=sub_id, story_id=story_id, posted_at=now, article_count_at_post=count
                        )
                    )
                elif count >= row.article_count_at_post:
                    row.posted_at, row.article_count_at_post = now, count

        self._run(work)

    def posted_story_times(self, sub_id: int, story_ids: Iterable[str]) -> dict[str, datetime]:
        """When a digest of the subscription last carried each of these stories (those it never carried are
        missing)."""
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        stmt = select(PostedStoryRow.story_id, PostedStoryRow.posted_at).where(
            PostedStoryRow.subscription_id == sub_id, PostedStoryRow.story_id.in_(ids)
        )
        with self._sessions() as session:
            return {story_id: posted_at for story_id, posted_at in session.execute(stmt)}

    def posted_story_counts(self, sub_id: int) -> dict[str, int]:
        """The stories a subscription has carried, each with its article count when last posted."""
        stmt = select(PostedStoryRow.story_id, PostedStoryRow.article_count_at_post).where(
            PostedStoryRow.subscription_id == sub_id
        )
        with self._sessions() as session:
            return {story_id: int(count) for story_id, count in session.execute(stmt)}

    # ------------------------------------------------------------------ leases

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for the scheduler's APScheduler job store, kept in the same database)."""
        return self._engine

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``: ``True`` when ``holder`` holds it
        now (it was free, expired, or already ``holder``'s), ``False`` when another holder's lease is still
        running. Atomic across processes: a conditional UPDATE, else an INSERT that the primary key lets only
        one process win."""
        if ttl <= timedelta(0):
            raise ValueError(f"lease ttl must be positive, got {ttl}")
        expires = now + ttl
        with self._sessions() as session, session.begin():
            renewed = session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder)
                .values(renewed_at=now, expires_at=expires)
            )
            if _rowcount(renewed):
                return True
            taken = session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.expires_at <= now)
                .values(holder=holder, acquired_at=now, renewed_at=now, expires_at=expires)
            )
            if _rowcount(taken):
                return True
        try:
            with self._sessions() as session, session.begin():
                session.add(LeaseRow(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires))
        except IntegrityError:  # someone holds it (or won the race to insert it)
            return False
        return True

    def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if ``holder`` holds it (so another process can take over at once); whether it did."""
        with self._sessions() as session, session.begin():
            result = session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
            return bool(_rowcount(result))

    def get_lease(self, name: str) -> Lease | None:
        """The lease ``name`` as stored (it may have expired: compare ``expires_at`` with the time), or ``None``."""
        with self._sessions() as session:
            row = session.get(LeaseRow, name)
            if row is None:
                return None
            return Lease(
                name=row.name,
                holder=row.holder,
                acquired_at=row.acquired_at,
                renewed_at=row.renewed_at,
                expires_at=row.expires_at,
            )

    # ------------------------------------------------------------------ checks

    def integrity_check(self) -> list[str]:
        """Problems found in the database (empty when healthy): the engine's own checks (SQLite
        ``integrity_check``, foreign keys, the FTS5 index against its content), the migration revision, content
        hashes against texts, story counts against their articles, and articles that belong to no story."""
        from alembic.runtime.migration import MigrationContext

        problems: list[str] = []
        with self._engine.connect() as connection:
            if self.dialect == "sqlite":
                for (line,) in connection.exec_driver_sql("PRAGMA integrity_check"):
                    if line != "ok":
                        problems.append(f"sqlite integrity_check: {line}")
                for table, rowid, parent, _ in connection.exec_driver_sql("PRAGMA foreign_key_check"):
                    problems.append(f"foreign key: {table} row {rowid} points to a missing {parent} row")
                try:
                    connection.exec_driver_sql(
                        "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
                    )
                except Exception as exc:
                    problems.append(f"full-text index does not match the articles: {exc}")
                connection.rollback()
            revision = MigrationContext.configure(connection).get_current_revision()
        head = self.head_revision()
        if revision != head:
            problems.append(f"schema at migration {revision}, code expects {head}: run `newsbrief db upgrade`")
            return problems
        with self._sessions() as session:
            rows = session.execute(select(ArticleRow.id, ArticleRow.text, ArticleRow.content_hash)).yield_per(_BATCH)
            for article_id, body, stored in rows:
                if content_hash(body) != stored:
                    problems.append(f"article {article_id}: content hash does not match its text")
            counts = session.execute(
                select(StoryRow.id, StoryRow.article_count, func.count(ArticleRow.pk))
                .outerjoin(ArticleRow, ArticleRow.story_id == StoryRow.id)
                .group_by(StoryRow.id, StoryRow.article_count)
            )
            for story_id, recorded, actual in counts:
                if recorded != actual:
                    problems.append(f"story {story_id}: article_count {recorded}, but {actual} articles")
            storyless = session.scalar(
                select(func.count()).select_from(ArticleRow).where(ArticleRow.story_id.is_(None))
            )
        if storyless:
            shown = ", ".join(self.storyless_articles(limit=STORYLESS_SHOWN))
            more = ", ..." if storyless > STORYLESS_SHOWN else ""
            which = "article belongs" if storyless == 1 else "articles belong"
            problems.append(f"{storyless} {which} to no story ({shown}{more}): `newsbrief db upgrade` files them")
        return problems
