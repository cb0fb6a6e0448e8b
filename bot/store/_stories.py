"""Stories: putting articles into stories under the story lock, merging them (aliases), and reading them back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    Select,
    String,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    select,
    table,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.identity import story_key_for
from bot.store._base import StoreBase, chunks
from bot.store._convert import from_row
from bot.store._models import ArticleRow, Base, PostedStoryRow, StoryAliasRow, StoryRow
from bot.store._types import (
    ArchivedArticle,
    Article,
    StoredSignature,
    Story,
    StoryAssigner,
    StoryAssignment,
    StoryChanges,
)

CATCH_UP_PAGE = 1000
"""How many rows a story index's catch-up reads at a time (:meth:`StoryStore.story_changes`)."""


_SIGNATURE_COLUMNS = (
    ArticleRow.id.label("article_id"),
    ArticleRow.minhash.label("signature"),
    ArticleRow.outlet,
    ArticleRow.story_id,
    ArticleRow.published_at,
    ArticleRow.first_seen,
    ArticleRow.pk.label("row"),
    ArticleRow.updated_at,
)
"""What a story index reads of an article (:class:`StoredSignature`)."""


def _story_at() -> Select[*tuple[Any, ...]]:
    """The statement that resolves a story key (itself, or the story it was merged into) and reads that story's
    row (NULLs when none), built once: the ingest path runs it for every article stored. Beside them, what
    :meth:`StoryStore._story_at` needs to know whether the article of (``:first_seen``, ``:outlet``, row ``:pk``)
    joins the story's outlets in order: whether another article of the story from that outlet was first seen no
    later, and whether the story's latest other article sorts after it by (first sight, outlet). Each is a few
    entries of ix_articles_story, read from the end (a plan PostgreSQL's generic plan keeps: "first_seen >= :t"
    alone was answered from ix_articles_first_seen, a scan when most articles are recent)."""
    wanted = select(bindparam("key", type_=String).label("key")).subquery()
    target = func.coalesce(StoryAliasRow.story_id, wanted.c.key)
    first_seen, outlet = bindparam("first_seen", type_=ArticleRow.first_seen.type), bindparam("outlet", type_=String)
    others = (ArticleRow.story_id == target, ArticleRow.pk != bindparam("pk", type_=Integer))
    same_outlet_no_later = exists().where(*others, ArticleRow.outlet == outlet, ArticleRow.first_seen <= first_seen)
    latest_sorts_after = (
        select(tuple_(ArticleRow.first_seen, ArticleRow.outlet) > tuple_(first_seen, outlet))
        .where(*others)
        .order_by(ArticleRow.first_seen.desc(), ArticleRow.outlet.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(target, StoryRow, same_outlet_no_later, latest_sorts_after)
        .select_from(wanted)
        .outerjoin(StoryAliasRow, StoryAliasRow.alias == wanted.c.key)
        .outerjoin(StoryRow, StoryRow.id == target)
    )


_TEXT_CHANGED = ArticleRow.updated_at != ArticleRow.first_seen
"""The articles whose text changed after they were stored (the rows of the partial index ix_articles_updated)."""


def _catch_up() -> Select[*tuple[Any, ...]]:
    """The statement of a story index's usual catch-up (:meth:`StoryStore.story_changes`), built once: the first
    page of rows after row ``:after`` beside the latest change of an article's text and the latest merge of a
    story, which ix_articles_updated and ix_story_aliases_merged_at answer from their ends."""
    marks = select(
        select(func.max(ArticleRow.updated_at)).where(_TEXT_CHANGED).scalar_subquery().label("changed_at"),
        select(func.max(StoryAliasRow.merged_at)).scalar_subquery().label("merged_at"),
    ).subquery()
    page = (
        select(*_SIGNATURE_COLUMNS)
        .where(ArticleRow.minhash.is_not(None), ArticleRow.pk > bindparam("after"))
        .order_by(ArticleRow.pk)
        .limit(bindparam("page", type_=Integer))
        .subquery()
    )
    return select(marks, page).select_from(marks).outerjoin(page, true()).order_by(page.c.row)


_STORY_AT = _story_at()
_CATCH_UP = _catch_up()

_STORIES, _ARTICLES = Base.metadata.tables[StoryRow.__tablename__], Base.metadata.tables[ArticleRow.__tablename__]
_INSERT_STORY = insert(_STORIES)
_INSERT_ARTICLE = insert(_ARTICLES)
_ARTICLE_COLUMNS = tuple(c.key for c in _ARTICLES.columns if c.key != "pk")
_INSERT_ARTICLE_SEARCHED = insert(
    table(_ARTICLES.name, *(column(c.name, c.type) for c in _ARTICLES.columns), column("search", TSVECTOR))
).values(search=cast(bindparam("search", type_=Text), TSVECTOR))
"""PostgreSQL: :data:`_INSERT_ARTICLE` with the article's search vector ``:search`` computed beforehand
(:func:`bot.store._search.search_vectors`; the column is not mapped: the triggers of migration 0016 fill it in
when a writer gives none)."""
_COUNTED = (
    update(_STORIES)
    .where(_STORIES.c.id == bindparam("story"))
    .values(
        article_count=bindparam("count"),
        outlets=bindparam("story_outlets"),
        first_seen=bindparam("first"),
        updated_at=bindparam("now"),
    )
)
"""Story ``:story``'s count, outlets, first sight and time of change, as counted."""
_OUTLETS_OF = (
    select(ArticleRow.outlet, func.min(ArticleRow.first_seen).label("first"), func.count())
    .where(ArticleRow.story_id == bindparam("story", type_=String))
    .group_by(ArticleRow.outlet)
    .order_by("first", ArticleRow.outlet)
)
"""Each outlet of story ``:story`` with its first sight and its number of articles, by first sight then name."""


def _outlets_of(session: Session, story_id: str) -> tuple[int, list[str]]:
    """The number of articles of story ``story_id`` and its outlets in order (:data:`_OUTLETS_OF`)."""
    outlets = session.execute(_OUTLETS_OF, {"story": story_id}).all()
    return sum(int(n) for _, _, n in outlets), [outlet for outlet, _, _ in outlets if outlet]


def _counted_in_order(story: StoryRow, row: ArticleRow) -> tuple[int, list[str]]:
    """The count and outlets of ``story`` with the article of ``row``, which joins its outlets in order: one
    article more, its outlet at the end when new to the story (no GROUP BY over the story's articles)."""
    if row.outlet and row.outlet not in story.outlets:
        return story.article_count + 1, [*story.outlets, row.outlet]
    return story.article_count + 1, list(story.outlets)


def _article_values(row: ArticleRow) -> dict[str, Any]:
    """The column values of a new article's ``row`` (its ``pk`` left to the database), for :data:`_INSERT_ARTICLE`."""
    return {key: getattr(row, key) for key in _ARTICLE_COLUMNS}


def _insert_article(session: Session, row: ArticleRow, search: str | None) -> None:
    """INSERT the new article of ``row`` (:data:`_INSERT_ARTICLE`), with its search vector ``search`` when it was
    computed beforehand (:data:`_INSERT_ARTICLE_SEARCHED`)."""
    if search is None:
        session.execute(_INSERT_ARTICLE, _article_values(row))
    else:
        session.execute(_INSERT_ARTICLE_SEARCHED, {**_article_values(row), "search": search})


_ALIASES = select(StoryAliasRow.alias, StoryAliasRow.story_id)
_ALIASES_SINCE = _ALIASES.where(StoryAliasRow.merged_at >= bindparam("since", type_=StoryAliasRow.merged_at.type))
"""The aliases merged at or after ``:since``, built once: a story index's catch-up asks under the story lock."""


def _aliases(session: Session, *, merged_since: datetime | None) -> dict[str, str]:
    """Every alias with the story it leads to (``merged_since``: of the stories merged at or after then)."""
    if merged_since is None:
        return {alias: story for alias, story in session.execute(_ALIASES)}
    return {alias: story for alias, story in session.execute(_ALIASES_SINCE, {"since": merged_since})}


class StoryStore(StoreBase):
    """The stories of :class:`bot.store.Store`."""

    @staticmethod
    def _refresh_story(session: Session, story_id: str, now: datetime | None) -> StoryRow | None:
        story = session.get(StoryRow, story_id)
        if story is None:
            return None
        count, outlets = _outlets_of(session, story_id)
        if count == 0:
            session.delete(story)
            return None
        story.article_count, story.outlets = count, outlets
        if now is not None:
            story.updated_at = now
        return story

    def _put_in_story(self, session: Session, row: ArticleRow, placed: StoryAssignment, now: datetime) -> StoryRow:
        """Put the article of ``row`` into the story ``placed`` names (an alias means the story it was merged
        into; created when new: first seen = the article's first sight, ``follows`` = the earlier story of its
        thread), after merging ``placed.merged`` into it, and store its signature (``None`` keeps it); the story's
        count and outlets are recomputed, and a story it left is dropped when empty. (A new article is inserted
        with its story by :meth:`_insert_in_story`.)"""
        for alias in placed.merged:  # the article joined these stories to this one: the older keeps its id
            self._merge_stories(session, alias, placed.story_id, now)
        story_id, story, in_order = self._story_at(session, placed.story_id, row)
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
            session.flush()  # the story before the article that names it
            row.story_id = story_id
            session.add(row)
            session.flush()
            return story
        if story is None:
            story = StoryRow(id=story_id, first_seen=row.first_seen, updated_at=now, article_count=0, outlets=[])
            session.add(story)
            session.flush()
        elif row.first_seen < story.first_seen:
            story.first_seen = row.first_seen
        row.story_id = story_id
        session.add(row)
        session.flush()
        if previous is not None and previous != story_id:
            self._refresh_story(session, previous, now)
        if previous is None and in_order:  # counted in place: no GROUP BY over the story's articles
            story.article_count, story.outlets = _counted_in_order(story, row)
            story.updated_at = now
            session.flush()
            return story
        refreshed = self._refresh_story(session, story_id, now)
        assert refreshed is not None
        session.flush()
        return refreshed

    def _insert_in_story(
        self, session: Session, row: ArticleRow, placed: StoryAssignment, now: datetime, search: str | None = None
    ) -> None:
        """Insert the new article of ``row`` (not in the session) with the story ``placed`` names, as
        :meth:`_put_in_story` puts a stored one: one INSERT of the article, which names its story; a new story's
        row first, else the story's count and outlets updated in place when the article joins them in order.

        This is the ingest path, run for every new article under the story lock, so it writes with Core statements
        built once (:data:`_INSERT_STORY`, :data:`_INSERT_ARTICLE`, :data:`_COUNTED`): the ORM's unit of work
        cost more than the statements themselves (the store bench: 8.45 against 7.58 ms per article). ``search``:
        the article's search vector, computed before the lock (PostgreSQL; else the database computes it)."""
        for alias in placed.merged:
            self._merge_stories(session, alias, placed.story_id, now)
        story_id, story, in_order = self._story_at(session, placed.story_id, row)
        if placed.signature is not None:
            row.minhash = placed.signature
        row.story_id = story_id
        if story is None:  # a new story of this one article: nothing to count
            follows = self._resolve_story(session, placed.follows) if placed.follows else None
            session.execute(
                _INSERT_STORY,
                {
                    "id": story_id,
                    "first_seen": row.first_seen,
                    "updated_at": now,
                    "article_count": 1,
                    "outlets": [row.outlet] if row.outlet else [],
                    "follows": follows,
                },
            )
            _insert_article(session, row, search)
            return
        _insert_article(session, row, search)
        count, outlets = _counted_in_order(story, row) if in_order else _outlets_of(session, story_id)
        first = min(story.first_seen, row.first_seen)
        session.execute(
            _COUNTED, {"story": story_id, "count": count, "story_outlets": outlets, "first": first, "now": now}
        )
        counted = {"article_count": count, "outlets": outlets, "first_seen": first, "updated_at": now}
        for key, value in counted.items():
            set_committed_value(story, key, value)  # as written: the session has nothing to flush

    @staticmethod
    def _story_at(session: Session, key: str, row: ArticleRow) -> tuple[str, StoryRow | None, bool]:
        """The key ``key`` leads to (itself, or the story it was merged into), that story's row (``None``: none
        yet) and whether the article of ``row``, new to it, joins its outlets in order, with one statement
        (:data:`_STORY_AT`). In order: the order of the story's outlets (by first sight, then name) stays as it
        is, but for the article's outlet added at the end. So its outlet is there already with an article first
        seen no later, or it is a new outlet and no other article of the story sorts after it by (first sight,
        outlet): none seen later, none seen at the same time from an outlet named after it (the articles of one
        poll share a time). ``row`` may be stored already (it is left out) or not yet."""
        values = {"key": key, "first_seen": row.first_seen, "outlet": row.outlet or "", "pk": row.pk or 0}
        resolved, story, same_outlet_no_later, latest_sorts_after = session.execute(_STORY_AT, values).one()
        outlets = story.outlets if story is not None else []
        if not row.outlet:
            in_order = True
        elif row.outlet in outlets:
            in_order = bool(same_outlet_no_later)
        else:
            in_order = not latest_sorts_after
        return str(resolved), story, in_order

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
            placed = StoryAssignment(story_id, minhash, follows=follows)
            return from_row(Story, self._put_in_story(session, row, placed, now))

        return self._run(work)

    def storyless_articles(self, *, limit: int | None = None) -> list[str]:
        """Ids of the articles that belong to no story, first seen first (at most ``limit``)."""
        stmt = select(ArticleRow.id).where(ArticleRow.story_id.is_(None)).order_by(ArticleRow.first_seen, ArticleRow.pk)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reads() as session:
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
        with self._reads() as session:
            row = session.get(StoryRow, self._resolve_story(session, story_id))
            return from_row(Story, row) if row else None

    def merge_stories(self, alias: str, into: str, now: datetime) -> Story | None:
        """Merge story ``alias`` into story ``into`` (which keeps its id): its articles move over, ``alias`` is
        recorded as an alias of ``into`` (and so are the aliases it had). A subscription that posted either story
        records the merged one as posted with its article count now, so no digest posts it again because of the
        merge. Returns the merged story (``None`` when neither exists); merging a story into itself is a no-op."""

        def work(session: Session) -> Story | None:
            self._lock_stories(session)
            merged = self._merge_stories(session, alias, into, now)
            return from_row(Story, merged) if merged is not None else None

        return self._run(work)

    def stories(self) -> dict[str, Story]:
        """Every story, by id."""
        with self._reads() as session:
            return {row.id: from_row(Story, row) for row in session.scalars(select(StoryRow))}

    def archived_articles(self, *, since: datetime, batch: int = 500) -> Iterator[ArchivedArticle]:
        """The articles first seen since ``since``, in row order, with what regrouping them into stories reads
        (title, text, outlet, times, story, stored terms); read ``batch`` rows at a time, never all texts at once."""
        stmt = (
            select(
                ArticleRow.id.label("article_id"),
                ArticleRow.title,
                ArticleRow.text,
                ArticleRow.outlet,
                ArticleRow.published_at,
                ArticleRow.first_seen,
                ArticleRow.story_id,
                ArticleRow.minhash.label("terms"),
            )
            .where(ArticleRow.first_seen >= since)
            .order_by(ArticleRow.pk)
            .execution_options(yield_per=batch)
        )
        with self._sessions() as session:
            for row in session.execute(stmt).mappings():
                terms = row["terms"]
                yield from_row(
                    ArchivedArticle,
                    row,
                    title=row["title"] or "",
                    text=row["text"] or "",
                    outlet=row["outlet"] or "",
                    terms=bytes(terms) if terms is not None else None,
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
            for chunk in chunks(sorted(set(story_of) | set(terms))):
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
            for chunk in chunks(sorted(set(follows) | set(firsts))):
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

    def story_aliases(self, *, merged_since: datetime | None = None) -> dict[str, str]:
        """Every alias with the story it leads to now (``merged_since``: only the stories merged at or after
        then, what another process merged since an index last looked)."""
        with self._reads() as session:
            return _aliases(session, merged_since=merged_since)

    def story_headlines(self, story_ids: Iterable[str]) -> dict[str, str]:
        """The headline of each story (an alias means the story it was merged into): the title of its first titled
        article, first seen first. A story without one (or no longer stored) is missing from the result."""
        with self._reads() as session:
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
        with self._reads() as session:
            return self._articles(session, list(session.scalars(stmt)))

    def minhash_signatures(self, *, since: datetime | None = None) -> list[StoredSignature]:
        """Stored story terms of the articles first seen since ``since`` (all without it), in row order, to rebuild
        a story index."""
        stmt = select(*_SIGNATURE_COLUMNS).where(ArticleRow.minhash.is_not(None))
        if since is not None:
            stmt = stmt.where(ArticleRow.first_seen >= since)
        with self._reads() as session:
            return self._signatures(session.execute(stmt.order_by(ArticleRow.pk)).mappings())

    def story_changes(self, *, after_row: int, since: datetime | None) -> StoryChanges:
        """What other processes wrote since a story index last looked, for it to catch up before it decides a
        story: the story terms of the articles stored after row ``after_row``, and of those whose text changed at
        or after ``since`` (an update keeps the article's row but replaces its terms); the stories merged at or
        after ``since`` (every alias when ``since`` is ``None``).

        Every entry job of every worker asks this under the story lock, so the usual answer (fewer new rows than
        a page, nothing changed or merged lately) takes one statement: the first page of new rows beside the
        latest change and the latest merge, which the indexes answer from their ends."""
        base = select(*_SIGNATURE_COLUMNS).where(ArticleRow.minhash.is_not(None))

        # The new rows a page at a time by primary key: a plan that fits a few new rows whatever the table's size
        # (PostgreSQL's generic plan of a bare "pk > :row" is a scan of the whole table).
        def newer(last: StoredSignature | None) -> Select[*tuple[Any, ...]]:
            return base.where(ArticleRow.pk > (last.row if last else after_row)).order_by(ArticleRow.pk)

        # The changed rows by their own index, from the latest change (PostgreSQL cannot estimate
        # "updated_at <> first_seen" and, when most articles are recent, would read the whole table for them).
        with self._reads() as session:
            first = session.execute(_CATCH_UP, {"after": after_row, "page": CATCH_UP_PAGE}).mappings().all()
            new = self._signatures(row for row in first if row["row"] is not None)
            found = {row.row: row for row in new}
            if len(new) == CATCH_UP_PAGE:
                found.update((row.row, row) for row in self._pages(session, newer, new[-1]))
            changed_at, merged_at = first[0]["changed_at"], first[0]["merged_at"]
            if since is not None and changed_at is not None and changed_at >= since:
                changes = base.where(ArticleRow.updated_at >= since, _TEXT_CHANGED)

                def changed_after(last: StoredSignature | None) -> Select[*tuple[Any, ...]]:
                    key = tuple_(ArticleRow.updated_at, ArticleRow.pk)
                    after = key > (last.updated_at, last.row) if last else true()
                    return changes.where(after).order_by(ArticleRow.updated_at, ArticleRow.pk)  # as its index has them

                found.update((row.row, row) for row in self._pages(session, changed_after))
            aliases: dict[str, str] = {}
            if merged_at is not None and (since is None or merged_at >= since):  # in the same session
                aliases = _aliases(session, merged_since=since)
        return StoryChanges([found[row] for row in sorted(found)], aliases)

    def _pages(
        self,
        session: Session,
        page_after: Callable[[StoredSignature | None], Select[*tuple[Any, ...]]],
        last: StoredSignature | None = None,
    ) -> Iterator[StoredSignature]:
        """The rows of ``page_after(last)``, then of ``page_after(last row read)``, :data:`CATCH_UP_PAGE` at a
        time, until a page comes back short."""
        while True:
            rows = self._signatures(session.execute(page_after(last).limit(CATCH_UP_PAGE)).mappings())
            yield from rows
            if len(rows) < CATCH_UP_PAGE:
                return
            last = rows[-1]

    @staticmethod
    def _signatures(rows: Iterable[RowMapping]) -> list[StoredSignature]:
        return [
            from_row(StoredSignature, row, signature=bytes(row["signature"]))
            for row in rows
            if row["signature"] is not None
        ]

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
        with self._reads() as session:
            stories = session.scalars(select(StoryRow).where(StoryRow.id.in_(ids)))
            found: dict[str, tuple[Story, list[Article]]] = {row.id: (from_row(Story, row), []) for row in stories}
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
