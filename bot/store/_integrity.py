"""The integrity check of the database (``newsbrief db check``)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.identity import content_hash
from bot.store._base import BATCH, StoreBase
from bot.store._models import ArticleRow, StoryRow

STORYLESS_SHOWN = 5
"""How many ids of articles without a story :meth:`IntegrityStore.integrity_check` names."""


class IntegrityStore(StoreBase):
    """The integrity check of :class:`bot.store.Store`."""

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
            rows = session.execute(select(ArticleRow.id, ArticleRow.text, ArticleRow.content_hash)).yield_per(BATCH)
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
            first = (
                select(ArticleRow.id)
                .where(ArticleRow.story_id.is_(None))
                .order_by(ArticleRow.first_seen, ArticleRow.pk)
            )
            shown = ", ".join(session.scalars(first.limit(STORYLESS_SHOWN))) if storyless else ""
        if storyless:
            more = ", ..." if storyless > STORYLESS_SHOWN else ""
            which = "article belongs" if storyless == 1 else "articles belong"
            problems.append(f"{storyless} {which} to no story ({shown}{more}): `newsbrief db upgrade` files them")
        return problems
