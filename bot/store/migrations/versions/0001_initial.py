"""Initial schema: feeds, articles, feed_articles, stories, digest_citations and full-text search.

Full-text search is dialect-specific:

- SQLite: an FTS5 external-content table ``articles_fts(title, text)`` over ``articles`` (rowid = ``articles.pk``),
  kept in sync by insert/update/delete triggers; porter stemming over unicode61 tokens; ranked with bm25.
- PostgreSQL: a stored generated ``tsvector`` column ``articles.search`` (title weight A, text weight B, English
  configuration) with a GIN index; ranked with ts_rank.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# tsvector is limited to 1 MB; the text part is cut well below that so a huge page never fails an insert.
_PG_SEARCH = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, left(coalesce(text, ''), 200000)), 'B')"
)


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table, index and search object."""
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_polled_at", _ts()),
        sa.Column("next_poll_at", _ts()),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_error_kind", sa.String(64)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", _ts()),
        sa.Column("disabled_at", _ts()),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("backfilled", sa.Boolean, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.UniqueConstraint("url", name="uq_feeds_url"),
    )
    op.create_index("ix_feeds_next_poll_at", "feeds", ["next_poll_at"])

    op.create_table(
        "stories",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("article_count", sa.Integer, nullable=False),
        sa.Column("outlets", sa.JSON, nullable=False),
    )

    op.create_table(
        "articles",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.Text, nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("outlet", sa.Text, nullable=False),
        sa.Column("published_at", _ts()),
        sa.Column("first_seen", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_source", sa.String(8), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("summary_json", sa.JSON),
        sa.Column("story_id", sa.String(40), sa.ForeignKey("stories.id", ondelete="SET NULL")),
        sa.Column("minhash", sa.LargeBinary),
        sa.Column("eligible", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(32)),
        sa.UniqueConstraint("id", name="uq_articles_id"),
        sa.UniqueConstraint("canonical_url", name="uq_articles_canonical_url"),
        sa.CheckConstraint("text_source IN ('page', 'feed')", name="ck_articles_text_source"),
    )
    op.create_index("ix_articles_first_seen", "articles", ["first_seen"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_story_id", "articles", ["story_id"])

    op.create_table(
        "feed_articles",
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("article_id", sa.String(40), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("guid", sa.Text),
        sa.Column("first_seen", _ts(), nullable=False),
    )
    op.create_index("ix_feed_articles_article_id", "feed_articles", ["article_id"])
    op.create_index("ix_feed_articles_feed_guid", "feed_articles", ["feed_id", "guid"])

    op.create_table(
        "digest_citations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.String(40), sa.ForeignKey("articles.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("digest_ref", sa.Text, nullable=False),
        sa.Column("cited_at", _ts(), nullable=False),
    )
    op.create_index("ix_digest_citations_article_id", "digest_citations", ["article_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE articles_fts USING fts5("
            "title, text, content='articles', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
            "INSERT INTO articles_fts(rowid, title, text) VALUES (new.pk, new.title, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
            "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.pk, old.title, old.text);"
            " END"
        )
        op.execute(
            "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN "
            "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.pk, old.title, old.text);"
            " INSERT INTO articles_fts(rowid, title, text) VALUES (new.pk, new.title, new.text); END"
        )
    elif dialect == "postgresql":
        op.execute(f"ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({_PG_SEARCH}) STORED")
        op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")
    else:  # pragma: no cover - the store accepts only these two
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    """Drop everything (development only: the data goes with it)."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    for table in ("digest_citations", "feed_articles", "articles", "stories", "feeds"):
        op.drop_table(table)
