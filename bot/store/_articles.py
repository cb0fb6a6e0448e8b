"""Articles: storing them (identity, updates, their story decided in the same transaction), reading, citing and
pruning them."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from bot.identity import canonical_url, content_hash, normalize_text, outlet_of
from bot.store._base import chunks
from bot.store._convert import article_of
from bot.store._models import ArticleRow, Base, DigestCitationRow, FeedArticleRow, FeedRow
from bot.store._search import search_vectors
from bot.store._stories import StoryStore
from bot.store._types import Article, ArticleInput, StoryAssigner, TextSource, UpsertStatus

if TYPE_CHECKING:
    from summarizer import Summary

_INSERT_FEED_ARTICLE = insert(Base.metadata.tables[FeedArticleRow.__tablename__])

CONTENT_IDENTITY_MIN_CHARS = 300
"""Texts shorter than this (normalized) never identify an article by content hash alone: short feed snippets
("Read more...", a one-line teaser) are shared by unrelated entries."""


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


def _addresses(item: ArticleInput, chash: str | None = None) -> tuple[str, str]:
    """The URL an article of ``item`` is stored under (its link, else :func:`_urn_for`) and its canonical form
    (``chash``: its text's :func:`content_hash`, when known)."""
    url = (item.url or "").strip()
    if not url:
        url = _urn_for(item.feed_id, item.guid, item.title or "", item.text, chash or content_hash(item.text))
    return url, canonical_url(url)


def summary_to_json(summary: Summary | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored form of a summary: :meth:`summarizer.Summary.to_dict` (every field of the summary and of each
    quote, which :meth:`summarizer.Summary.from_dict` reads back); a mapping is stored as given."""
    if summary is None:
        return None
    if isinstance(summary, Mapping):
        return dict(summary)
    return summary.to_dict()  # a summarizer.Summary (not imported here: the store loads without it)


def new_article_id() -> str:
    """A fresh public article id: ``a_`` and 12 random hex digits."""
    return f"a_{secrets.token_hex(6)}"


def _identities() -> Select[*tuple[Any, ...]]:
    """The statement that finds an entry's article by each of its identities and its feed's URL: each identity an
    indexed look-up of one primary key (a scalar subquery; NULL when nothing matches, or when its parameter is
    NULL), joined to the rows they name. Built once: the ingest path runs it for every entry stored."""
    by_url = select(ArticleRow.pk).where(ArticleRow.canonical_url == bindparam("canon"))
    by_guid = (
        select(ArticleRow.pk)
        .join(FeedArticleRow, FeedArticleRow.article_id == ArticleRow.id)
        .where(FeedArticleRow.feed_id == bindparam("feed"), FeedArticleRow.guid == bindparam("guid"))
        .order_by(ArticleRow.pk)
        .limit(1)
    )
    by_content = (
        select(ArticleRow.pk).where(ArticleRow.content_hash == bindparam("hash")).order_by(ArticleRow.pk).limit(1)
    )
    wanted = select(
        by_url.scalar_subquery().label("url"),
        by_guid.scalar_subquery().label("guid"),
        by_content.scalar_subquery().label("content"),
        select(FeedRow.url).where(FeedRow.id == bindparam("feed")).scalar_subquery().label("feed"),
    ).subquery()
    return (
        select(ArticleRow, wanted.c.url, wanted.c.guid, wanted.c.content, wanted.c.feed)
        .select_from(wanted)
        .outerjoin(ArticleRow, ArticleRow.pk.in_([wanted.c.url, wanted.c.guid, wanted.c.content]))
    )


_IDENTITIES = _identities()


class ArticleStore(StoryStore):
    """The articles of :class:`bot.store.Store` (an article's story is decided as it is stored, so this part
    builds on the stories')."""

    @staticmethod
    def _identify(
        session: Session, canon: str, guid: str | None, feed_id: int | None, title: str, chash: str, text_: str
    ) -> tuple[ArticleRow | None, str | None]:
        """The stored article an entry is (``None``: a new one) and the URL of feed ``feed_id`` (``None``: no such
        feed), read with one statement (:data:`_IDENTITIES`).

        The canonical URL wins; then the oldest article with the same GUID in this feed, when its title or text is
        the same too (a feed that reuses a GUID for another entry must not overwrite the first one); then the
        oldest article with the same content (the hash of a text of at least
        :data:`CONTENT_IDENTITY_MIN_CHARS` characters)."""
        by_content = len(normalize_text(text_)) >= CONTENT_IDENTITY_MIN_CHARS
        found = session.execute(
            _IDENTITIES,
            {"canon": canon, "guid": guid or None, "feed": feed_id, "hash": chash if by_content else None},
        ).all()
        rows = {row.pk: row for row, *_ in found if row is not None}
        _, url_pk, guid_pk, content_pk, feed_url = found[0]
        if url_pk is not None:
            return rows[url_pk], feed_url
        same_guid = rows.get(guid_pk)
        if same_guid is not None and (
            same_guid.content_hash == chash or normalize_text(same_guid.title) == normalize_text(title)
        ):
            return same_guid, feed_url
        return rows.get(content_pk), feed_url

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
        item = ArticleInput(
            url=url,
            title=title,
            text=text,
            now=now,
            feed_id=feed_id,
            guid=guid,
            author=author,
            published_at=published_at,
            text_source=text_source,
            summary=summary,
            language=language,
            eligible=eligible,
            outlet=outlet,
            minhash=minhash,
        )
        return self.upsert_articles([item], assign_story=assign_story)[0]

    def upsert_articles(
        self, items: Sequence[ArticleInput], *, assign_story: StoryAssigner | None = None
    ) -> list[tuple[Article, UpsertStatus]]:
        """Store several articles as :meth:`upsert_article` stores one, in order, in one transaction: with
        ``assign_story``, under one hold of the story lock, which a job worker takes once for the articles its
        jobs finished while it waited for the lock, not once for each.

        ``assign_story`` is called for each article that is new or whose text changed, in order, each call seeing
        the stories the ones before decided. Should anything raise, nothing of the call is stored and the error
        propagates. One article's transaction is retried after losing a race for the same new article (calling
        ``assign_story`` again for it); several articles' is not: the caller may store them one by one instead,
        so that one article's failure stays its own.
        """
        for item in items:
            if item.text_source not in ("page", "feed"):
                raise ValueError(f"text_source must be 'page' or 'feed', got {item.text_source!r}")

        def work(session: Session) -> list[tuple[Article, UpsertStatus]]:
            searches: Sequence[str | None] = [None] * len(items)
            if assign_story is not None:
                if self.dialect == "postgresql":  # before the lock: most of a new article's INSERT
                    written = [(_addresses(item)[1], item.title or "", item.text) for item in items]
                    searches = search_vectors(session, written)
                self._lock_stories(session)
            return [
                self._upsert(session, item, assign_story, search) for item, search in zip(items, searches, strict=True)
            ]

        return self._run(work, retries=2 if len(items) == 1 else 0)

    def _upsert(
        self, session: Session, item: ArticleInput, assign_story: StoryAssigner | None, search: str | None = None
    ) -> tuple[Article, UpsertStatus]:
        """Store ``item`` in the transaction of ``session`` (holding the story lock when ``assign_story`` is
        given): :meth:`upsert_article`'s work. ``search``: its search vector when it is new, computed beforehand
        (PostgreSQL; else the database computes it as it inserts the row)."""
        source: TextSource = "page" if item.text_source == "page" else "feed"
        title, text, now, feed_id, guid = item.title or "", item.text, item.now, item.feed_id, item.guid
        chash = content_hash(text)
        url, canon = _addresses(item, chash)
        summary_json = summary_to_json(item.summary)
        row, feed_url = self._identify(session, canon, guid, feed_id, title, chash, text)
        if feed_id is not None and feed_url is None:
            raise KeyError(f"no feed {feed_id!r}")
        status: UpsertStatus
        if row is None:
            row = ArticleRow(
                id=new_article_id(),
                url=url,
                canonical_url=canon,
                guid=guid,
                title=title,
                author=item.author,
                outlet=item.outlet if item.outlet is not None else outlet_of(url),
                published_at=item.published_at,
                first_seen=now,
                updated_at=now,
                text=text,
                text_source=source,
                content_hash=chash,
                summary_json=summary_json,
                minhash=item.minhash,
                eligible=item.eligible,
                language=item.language,
                page_attempts=0,
            )
            feeds = [feed_url] if feed_url is not None else []
            if assign_story is not None:  # the new article is inserted with its story: no UPDATE after
                self._insert_in_story(session, row, assign_story(article_of(row, feeds)), now, search)
            else:
                session.add(row)
                session.flush()
            if feed_id is not None:  # after the article, which the link names
                session.execute(
                    _INSERT_FEED_ARTICLE, {"feed_id": feed_id, "article_id": row.id, "guid": guid, "first_seen": now}
                )
            return article_of(row, feeds), "new"
        status = self._update(row, title, text, chash, source, now)
        if status == "updated":
            row.summary_json = summary_json
            row.minhash = item.minhash
            row.author = item.author or row.author
            row.language = item.language or row.language
        else:
            row.summary_json = row.summary_json if row.summary_json is not None else summary_json
            row.minhash = row.minhash if row.minhash is not None else item.minhash
            row.author = row.author or item.author
            row.language = row.language or item.language
        row.guid = row.guid or guid
        row.published_at = row.published_at or item.published_at
        if feed_id is not None and session.get(FeedArticleRow, (feed_id, row.id)) is None:
            session.add(FeedArticleRow(feed_id=feed_id, article_id=row.id, guid=guid, first_seen=now))
        session.flush()
        feeds = self._feeds_of(session, [row.id])[row.id]
        if assign_story is not None and status != "unchanged":
            self._put_in_story(session, row, assign_story(article_of(row, feeds)), now)
        return article_of(row, feeds), status

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
        with self._reads() as session:
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
        with self._reads() as session:
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
        with self._reads() as session:
            return self._articles(session, list(session.scalars(stmt)))

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
            for chunk in chunks(ids):
                session.execute(delete(FeedArticleRow).where(FeedArticleRow.article_id.in_(chunk)))
                session.execute(delete(ArticleRow).where(ArticleRow.id.in_(chunk)))
            for story_id in sorted(stories):
                self._refresh_story(session, story_id, None)
            return len(ids)

        return self._run(work)
