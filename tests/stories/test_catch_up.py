"""Story assignment across processes (job workers) on one PostgreSQL database: each worker keeps its own story
index and catches up, under the story lock, with what the others stored, updated and merged since it last looked.
Two Store instances (two workers) take turns storing articles, step by step; the stories must be those of one
process storing the same articles in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.ingest import IndexedAssignment, catch_up_stories, load_story_index
from bot.store import Article, Store, StoryAssignment, StoryChanges
from bot.stories import StoryIndex
from tests.test_ingest import BARRIER, BARRIER_OTHER_OUTLET, BRIDGE

NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
RETENTION_DAYS = 30


@dataclass
class Worker:
    """One worker process: its own store connections and its own story index, loaded when it starts."""

    store: Store
    index: StoryIndex

    @classmethod
    def start(cls, url: str, now: datetime) -> Worker:
        store = Store(url)
        store.upgrade()
        return cls(store, load_story_index(store, now, days=RETENTION_DAYS))

    def put(self, path: str, text: str, outlet: str, now: datetime) -> Article:
        """Store (or update) an article, its story decided by this worker's index under the story lock."""
        assignment = IndexedAssignment(self.index, self.store)
        try:
            article, _ = self.store.upsert_article(
                url=f"https://{outlet}/{path}",
                title=text.split(".")[0],
                text=text,
                now=now,
                outlet=outlet,
                assign_story=assignment,
            )
        except BaseException:
            assignment.undo()
            raise
        return article


@pytest.fixture
def workers(postgres_url: str) -> Iterator[tuple[Worker, Worker]]:
    first = Worker.start(postgres_url, NOW)
    second = Worker.start(postgres_url, NOW)
    yield first, second
    first.store.close()
    second.store.close()


def _story(store: Store, article: Article) -> str:
    stored = store.get_article(article.id)
    assert stored is not None and stored.story_id is not None
    return stored.story_id


def _single_process(steps: list[tuple[str, str, str, datetime]]) -> dict[str, str]:
    """The story of each article (by URL) when one index stores ``steps`` (path, text, outlet, time) in order."""
    index = StoryIndex()
    ids: dict[str, str] = {}
    for path, text, outlet, when in steps:
        url = f"https://{outlet}/{path}"
        ids.setdefault(url, f"a_{len(ids):012x}")
        index.add(ids[url], text.split(".")[0], text, outlet, when)
    return {url: str(index.story_of(article_id)) for url, article_id in ids.items()}


def _partition(stories: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for url, story in stories.items():
        groups.setdefault(story, set()).add(url)
    return {frozenset(urls) for urls in groups.values()}


def test_an_article_another_worker_stored_after_this_index_loaded_is_caught_up(
    workers: tuple[Worker, Worker],
) -> None:
    first, second = workers
    barrier = second.put("barrier", BARRIER, "one.example", NOW)  # after the first worker loaded its index
    other = first.put("barrier-too", BARRIER_OTHER_OUTLET, "two.example", NOW + timedelta(minutes=1))
    assert _story(first.store, other) == _story(first.store, barrier)
    assert first.index.story_of(barrier.id) == _story(first.store, barrier)


def test_a_story_merge_by_another_worker_is_caught_up(workers: tuple[Worker, Worker]) -> None:
    """The second worker's article joins two stories the first worker made: the first worker's index must count
    them as one story from then on (the alias), as the database does."""
    first, second = workers
    barrier = first.put("barrier", BARRIER, "one.example", NOW)
    bridge = first.put("bridge", BRIDGE, "one.example", NOW + timedelta(minutes=1))
    barrier_story, bridge_story = _story(first.store, barrier), _story(first.store, bridge)
    assert barrier_story != bridge_story
    # the second worker decided that its article merges the bridge's story into the barrier's
    second.store.upsert_article(
        url="https://two.example/both",
        title="Barrier and bridge",
        text=f"{BARRIER} {BRIDGE}",
        now=NOW + timedelta(minutes=2),
        outlet="two.example",
        assign_story=lambda _article: StoryAssignment(barrier_story, merged=(bridge_story,)),
    )
    assert _story(first.store, bridge) == barrier_story

    catch_up_stories(first.index, first.store)

    assert first.index.story_of(bridge.id) == barrier_story
    assert first.index.resolve(bridge_story) == barrier_story


def test_an_update_by_another_worker_is_caught_up(workers: tuple[Worker, Worker]) -> None:
    """The second worker stores a new text for an article the first worker indexed (same row, new terms): the
    first worker must decide with the new terms, as one process would have."""
    first, second = workers
    steps = [
        ("story", BRIDGE, "one.example", NOW),
        ("story", BARRIER, "one.example", NOW + timedelta(minutes=5)),  # the same link, its text rewritten
        ("barrier", BARRIER_OTHER_OUTLET, "two.example", NOW + timedelta(minutes=6)),
    ]
    story = first.put(*steps[0])
    catch_up_stories(second.index, second.store)
    assert second.put(*steps[1]).id == story.id
    assert second.index.terms_of(story.id) != first.index.terms_of(story.id)

    barrier = first.put(*steps[2])

    assert first.index.terms_of(story.id) == second.index.terms_of(story.id)
    assert _story(first.store, barrier) == _story(first.store, story)
    stored = {a.url: _story(first.store, a) for a in (story, barrier)}
    assert _partition(stored) == _partition(_single_process(steps))


def test_interleaved_workers_make_the_stories_of_one_process(workers: tuple[Worker, Worker]) -> None:
    """Stores, an update and a merge from two workers taking turns; then a third worker starting afresh: every
    worker's index, and the database, hold the stories one process makes of the same steps."""
    first, second = workers
    steps = [
        (first, "bridge", BRIDGE, "one.example", NOW),
        (second, "barrier", BARRIER, "two.example", NOW + timedelta(minutes=1)),
        (first, "barrier-too", BARRIER_OTHER_OUTLET, "three.example", NOW + timedelta(minutes=2)),
        (second, "bridge", BARRIER_OTHER_OUTLET + " Updated.", "one.example", NOW + timedelta(minutes=3)),
        (first, "bridge-again", BRIDGE, "four.example", NOW + timedelta(minutes=4)),
    ]
    articles = [worker.put(path, text, outlet, when) for worker, path, text, outlet, when in steps]
    for worker in (first, second):
        catch_up_stories(worker.index, worker.store)

    stored = {a.url: _story(first.store, a) for a in articles}
    assert _partition(stored) == _partition(_single_process([step[1:] for step in steps]))
    fresh = load_story_index(first.store, NOW + timedelta(minutes=5), days=RETENTION_DAYS)
    for index in (first.index, second.index, fresh):
        assert {a.url: index.story_of(a.id) for a in articles} == stored


def test_catching_up_takes_new_terms_of_an_article_the_index_has_in_the_same_story() -> None:
    index = StoryIndex()
    key = index.add("a_1", "Bridge", BRIDGE, "one.example", NOW).story_key
    rewritten = StoryIndex()
    new_terms = rewritten.add("a_1", "Barrier", BARRIER, "one.example", NOW).terms

    index.catch_up([("a_1", new_terms, "one.example", NOW, key, 7)])

    assert index.terms_of("a_1") == new_terms
    assert index.story_of("a_1") == key
    assert index.watermark == 7


def put_with_terms(
    store: Store, path: str, text: str, when: datetime, story: str, merged: tuple[str, ...] = ()
) -> Article:
    """Store (or update) an article of one.example in ``story``, its terms its text's bytes."""
    article, _ = store.upsert_article(
        url=f"https://one.example/{path}",
        title=path,
        text=text,
        now=when,
        outlet="one.example",
        assign_story=lambda _a: StoryAssignment(story, text.encode(), merged=merged),
    )
    return article


def test_the_store_reads_what_changed_since_an_index_last_looked(store: Store) -> None:
    """On every backend: the articles stored after a row, those whose text changed since a time (not those only
    stored then: their rows are read by number), and the stories merged since a time."""

    def put(path: str, text: str, when: datetime, story: str, merged: tuple[str, ...] = ()) -> Article:
        return put_with_terms(store, path, text, when, story, merged)

    first = put("first", "one text", NOW, "s_1")
    second = put("second", "another text", NOW + timedelta(minutes=1), "s_2")
    rows = {s.article_id: s for s in store.minhash_signatures()}
    last_row = max(s.row for s in rows.values())
    assert rows[second.id].updated_at == NOW + timedelta(minutes=1)
    since = NOW + timedelta(minutes=5)
    assert store.story_changes(after_row=last_row, since=since) == StoryChanges([], {})

    put("first", "its text rewritten", NOW + timedelta(minutes=6), "s_1")  # an update: same row, new terms
    third = put("third", "a third text", NOW + timedelta(minutes=7), "s_1", merged=("s_2",))

    changes = store.story_changes(after_row=last_row, since=since)
    assert [(s.article_id, s.signature, s.story_id) for s in changes.signatures] == [
        (first.id, b"its text rewritten", "s_1"),
        (third.id, b"a third text", "s_1"),
    ]
    assert changes.aliases == {"s_2": "s_1"}
    newest = max(s.row for s in store.minhash_signatures())
    only_changed = store.story_changes(after_row=newest, since=since).signatures  # no new rows: the update alone
    assert [s.article_id for s in only_changed] == [first.id]
    later = store.story_changes(after_row=newest, since=NOW + timedelta(minutes=8))
    assert later == StoryChanges([], {})  # neither changed nor merged since then
    assert store.story_changes(after_row=newest, since=None).aliases == {"s_2": "s_1"}  # every alias


def test_a_catch_up_with_nothing_changed_or_merged_lately_is_one_statement(store: Store) -> None:
    """On every backend: what every entry job asks under the story lock (a few new rows, no text changed and no
    story merged since the index last looked) is read with one statement; a change or a merge since then is read
    too, with a statement more each."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    put_with_terms(store, "old", "old text", NOW, "s_1")
    put_with_terms(store, "other", "other text", NOW, "s_2")
    last_row = max(s.row for s in store.minhash_signatures())
    new = [put_with_terms(store, f"new{i}", f"new text {i}", NOW + timedelta(minutes=1), "s_1") for i in range(3)]
    since = NOW + timedelta(minutes=1)
    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        quiet = store.story_changes(after_row=last_row, since=since)
        count_quiet = len(statements)
        put_with_terms(store, "old", "old text rewritten", NOW + timedelta(minutes=2), "s_1", merged=("s_2",))
        statements.clear()
        busy = store.story_changes(after_row=last_row, since=since)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert count_quiet == 1
    assert [s.article_id for s in quiet.signatures] == [a.id for a in new] and quiet.aliases == {}
    assert len(statements) == 3
    assert [s.signature for s in busy.signatures] == [b"old text rewritten"] + [
        f"new text {i}".encode() for i in range(3)
    ]
    assert busy.aliases == {"s_2": "s_1"}


def test_the_store_reads_what_changed_a_page_at_a_time(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """On every backend: more new rows and more changed rows than one page (pages of 2 here) are all read, each
    once, in row order; the changed rows include those whose update times are equal."""
    import bot.store._stories as stories_module

    monkeypatch.setattr(stories_module, "CATCH_UP_PAGE", 2)

    def put(path: str, text: str, when: datetime) -> Article:
        return put_with_terms(store, path, text, when, "s_1")

    old = [put(f"old{i}", f"old text {i}", NOW) for i in range(5)]
    last_row = max(s.row for s in store.minhash_signatures())
    new = [put(f"new{i}", f"new text {i}", NOW + timedelta(minutes=1)) for i in range(5)]
    later = NOW + timedelta(minutes=2)
    for i in (0, 1, 3):  # three updates at one time, one later: keyset pages of (time, row)
        put(f"old{i}", f"old text {i} rewritten", later)
    put("old4", "old text 4 rewritten", later + timedelta(seconds=1))

    read = store.story_changes(after_row=last_row, since=later).signatures

    assert [s.article_id for s in read] == [old[i].id for i in (0, 1, 3, 4)] + [a.id for a in new]
    assert [s.row for s in read] == sorted(s.row for s in read)
    assert read[0].signature == b"old text 0 rewritten"
    assert [s.article_id for s in store.story_changes(after_row=last_row, since=None).signatures] == [a.id for a in new]
