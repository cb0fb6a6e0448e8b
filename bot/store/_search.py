"""Full-text search over the articles (SQLite FTS5, PostgreSQL tsvector), with a digest's filter in the query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from bot.store._base import StoreBase
from bot.store._models import ArticleRow, StoryRow, UTCDateTime
from bot.store._query import parse_query, to_fts5, to_tsquery_sql
from bot.store._types import Article, DigestFilter

TITLE_WEIGHT = 10.0
"""bm25 weight of the title column against 1.0 for the text (SQLite); PostgreSQL weighs title A, text B."""

_VECTORS = text(
    "SELECT CASE WHEN EXISTS (SELECT FROM articles WHERE articles.canonical_url = written.canonical_url) THEN NULL"
    " ELSE (setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||"
    " setweight(to_tsvector('english'::regconfig, left(coalesce(body, ''), 200000)), 'B'))::text END"
    " FROM unnest(:canonical_urls, :titles, :texts) WITH ORDINALITY AS written(canonical_url, title, body, n)"
    " ORDER BY n"
).bindparams(*(bindparam(name, type_=ARRAY(Text)) for name in ("canonical_urls", "titles", "texts")))
"""PostgreSQL: for each article of canonical URL, title and text (``:canonical_urls``, ``:titles``, ``:texts``),
in order, its search vector as text; none for a URL stored already. The expression is the one the articles
table's triggers compute for a row written without a vector (migrations 0001 and 0016; a test holds the two
equal)."""


def search_vectors(session: Session, written: Sequence[tuple[str, str, str]]) -> list[str | None]:
    """The PostgreSQL search vectors of the articles of (canonical URL, title, text) ``written`` that are new by
    their URL (``None`` for the others: met again, mostly unchanged), in one statement. The ingest path computes
    them before it takes the story lock and inserts them with the rows, so the lock is not held while PostgreSQL
    runs ``to_tsvector`` over each text, most of a new article's INSERT. (An article stored meanwhile by another
    process, or new under another URL, is only computed for nothing.)"""
    if not written:
        return []
    urls, titles, texts = (list(column) for column in zip(*written, strict=True))
    return list(session.scalars(_VECTORS, {"canonical_urls": urls, "titles": titles, "texts": texts}))


class SearchStore(StoreBase):
    """The search of :class:`bot.store.Store`."""

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
        with self._reads() as session:
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
