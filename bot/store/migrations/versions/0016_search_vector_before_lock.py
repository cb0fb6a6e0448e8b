"""An article's search vector may be computed before the story lock is taken (PostgreSQL only).

``articles.search`` was a generated column: PostgreSQL computed it in the article's INSERT, which ingest runs under
the story lock, and ``to_tsvector`` over a news article's text is most of that INSERT (about 1 ms of 1.6 for 4.5 KB
of text). The column becomes a plain one kept by triggers that compute the same expression when the writer gives
no value: an INSERT without ``search``, an UPDATE of ``title`` or ``text`` that leaves ``search`` as it was. The
ingest path computes the vectors of its articles with one statement before it takes the lock
(:meth:`bot.store.Store.upsert_articles`) and inserts them with the rows; every other writer is served by the
triggers. The values stored so far stay as they are (they are the same expression's).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SEARCH = (
    "setweight(to_tsvector('english'::regconfig, coalesce({row}title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, left(coalesce({row}text, ''), 200000)), 'B')"
)
"""0001's expression, over the columns of ``{row}``: ``NEW.`` in a trigger, nothing in a generated column."""
_SEARCH_OF_NEW = _SEARCH.format(row="NEW.")


def upgrade() -> None:
    """Turn the generated column into one kept by triggers."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE articles ALTER COLUMN search DROP EXPRESSION")
    op.execute(
        "CREATE FUNCTION newsbrief_articles_search() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_OP = 'INSERT' THEN\n"
        "    IF NEW.search IS NULL THEN\n"
        f"      NEW.search := {_SEARCH_OF_NEW};\n"
        "    END IF;\n"
        "  ELSIF NEW.search IS NOT DISTINCT FROM OLD.search THEN\n"
        f"    NEW.search := {_SEARCH_OF_NEW};\n"
        "  END IF;\n"
        "  RETURN NEW;\n"
        "END\n"
        "$$"
    )
    op.execute(
        "CREATE TRIGGER articles_search_bi BEFORE INSERT ON articles"
        " FOR EACH ROW EXECUTE FUNCTION newsbrief_articles_search()"
    )
    # only an UPDATE that names title or text: moving articles between stories does not recompute
    op.execute(
        "CREATE TRIGGER articles_search_bu BEFORE UPDATE OF title, text ON articles"
        " FOR EACH ROW EXECUTE FUNCTION newsbrief_articles_search()"
    )


def downgrade() -> None:
    """Back to the generated column (recomputed for every article, and its index rebuilt)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER articles_search_bu ON articles")
    op.execute("DROP TRIGGER articles_search_bi ON articles")
    op.execute("DROP FUNCTION newsbrief_articles_search()")
    op.execute("ALTER TABLE articles DROP COLUMN search")
    op.execute(f"ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({_SEARCH.format(row='')}) STORED")
    op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")
