"""``newsbrief stories rebuild``: regrouping the archive with the current algorithm, on SQLite and PostgreSQL
(the store's plan and its one-transaction write) and through the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot._cli_stories import plan_rebuild, rebuild_report
from bot.ingest import load_story_index
from bot.store import Article, Store
from bot.stories import StoredArticle, StoryFacts, StoryIndex, regroup
from testkit.story_pairs import DIFFERENT_STORY, ECB_A, ECB_B, MERGER_A, MERGER_B, QUAKE_A, QUAKE_B, SAME_STORY

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
OLD_FORMAT = b"\x01" + b"\x00" * 512  # a MinHash signature of an earlier version


def put(store: Store, slug: str, text: str, *, outlet: str, hours_ago: float) -> Article:
    title, _, body = text.partition("\n")
    when = NOW - timedelta(hours=hours_ago)
    article, status = store.upsert_article(
        url=f"https://{outlet}/{slug}", title=title, text=body, now=when, published_at=when, outlet=outlet
    )
    assert status == "new"
    return article


def archive(store: Store) -> dict[str, Article]:
    """Articles grouped the way the old near-duplicate index left them: the two quake reports apart (the later
    one posted), the two ECB reports together with an unrelated merger report, background articles alone; some
    with terms of the old format, some without terms."""
    a: dict[str, Article] = {}
    texts = [t for pair in SAME_STORY + DIFFERENT_STORY for t in pair[1:]]
    background = [t for t in dict.fromkeys(texts) if t not in (QUAKE_A, QUAKE_B, ECB_A, ECB_B, MERGER_A, MERGER_B)]
    for i, text in enumerate(background):  # two days earlier: the archive the IDF is counted from
        a[f"bg{i}"] = put(store, f"bg{i}", text, outlet=f"bg{i}.example", hours_ago=60 + i)
        store.assign_story(a[f"bg{i}"].id, f"s_bg{i}", NOW, minhash=OLD_FORMAT if i % 2 else None)
    a["quake_a"] = put(store, "quake-a", QUAKE_A, outlet="one.example", hours_ago=10)
    a["quake_b"] = put(store, "quake-b", QUAKE_B, outlet="two.example", hours_ago=9)
    a["ecb_a"] = put(store, "ecb-a", ECB_A, outlet="one.example", hours_ago=8)
    a["ecb_b"] = put(store, "ecb-b", ECB_B, outlet="two.example", hours_ago=7)
    a["merger"] = put(store, "merger", MERGER_A, outlet="three.example", hours_ago=6)
    store.assign_story(a["quake_a"].id, "s_quake_a", NOW, minhash=OLD_FORMAT)
    store.assign_story(a["quake_b"].id, "s_quake_b", NOW, minhash=OLD_FORMAT)
    for key in ("ecb_a", "ecb_b", "merger"):
        store.assign_story(a[key].id, "s_mixed", NOW, minhash=OLD_FORMAT)
    return a


def test_rebuild_plans_then_writes_in_one_go_keeping_posted_ids(store: Store) -> None:
    a = archive(store)
    sub = store.add_subscription("console", "#news", "world", schedule="daily 08:00", tz="UTC", now=NOW)
    store.record_posted(sub.id, {"s_quake_b": 1, "s_mixed": 3}, NOW)
    stored_before = {s.article_id: (s.story_id, s.signature) for s in store.minhash_signatures()}

    plan = plan_rebuild(store, NOW, days=30)
    # the two quake reports become one story under the older id; the later one's id is its alias
    assert plan.story_of[a["quake_a"].id] == plan.story_of[a["quake_b"].id] == "s_quake_a"
    # (so do the background's two same-event pairs, wildfire and cup final: the older, bg1 and bg3, keep theirs)
    assert plan.merged == {"s_quake_b": "s_quake_a", "s_bg0": "s_bg1", "s_bg2": "s_bg3"}
    # the mixed story keeps its id for the ECB reports and lets the merger report go
    assert plan.story_of[a["ecb_a"].id] == plan.story_of[a["ecb_b"].id] == "s_mixed"
    assert plan.story_of[a["merger"].id] == "s_" + a["merger"].id[2:]
    assert plan.split == {"s_mixed": ("s_" + a["merger"].id[2:], "s_mixed")}
    assert plan.created == ("s_" + a["merger"].id[2:],)
    assert plan.moved == 4  # quake_b, merger, and one of each background pair
    assert plan.converted == len(a)  # every article had old-format terms or none
    report = rebuild_report(plan, days=30, dry_run=True)
    assert "articles moved: 4" in report and "s_quake_b -> s_quake_a" in report and "split:" in report
    # planning wrote nothing
    assert {s.article_id: (s.story_id, s.signature) for s in store.minhash_signatures()} == stored_before

    moved = store.regroup_stories(
        plan.story_of, terms=plan.terms, follows=plan.follows, aliases=plan.merged, now=NOW + timedelta(minutes=1)
    )
    assert moved == 4
    assert store.get_article(a["quake_b"].id).story_id == "s_quake_a"  # type: ignore[union-attr]
    quake = store.get_story("s_quake_b")  # the alias leads to the merged story
    assert quake is not None and quake.id == "s_quake_a" and quake.article_count == 2
    assert quake.outlets == ("one.example", "two.example") and quake.first_seen == a["quake_a"].first_seen
    assert store.story_aliases() == plan.merged
    assert store.posted_story_counts(sub.id)["s_quake_a"] == 2  # posted as s_quake_b: not posted again
    mixed = store.get_story("s_mixed")
    assert mixed is not None and mixed.article_count == 2 and mixed.first_seen == a["ecb_a"].first_seen
    merger = store.get_story("s_" + a["merger"].id[2:])
    assert merger is not None and merger.article_count == 1 and merger.outlets == ("three.example",)
    # every article's terms are in the current format now: a restart indexes all of them
    rows = store.minhash_signatures()
    index, skipped = StoryIndex.rebuild((r.article_id, r.signature, r.outlet, NOW, r.story_id, r.row) for r in rows)
    assert skipped == 0 and len(index) == len(a)
    assert load_story_index(store, NOW, days=30).story_of(a["quake_b"].id) == "s_quake_a"
    assert store.integrity_check() == []

    again = plan_rebuild(store, NOW, days=30)  # a second rebuild finds nothing to do
    assert (again.moved, again.merged, again.split, again.created, again.terms) == (0, {}, {}, (), {})


def test_rebuild_only_regroups_the_window_and_keeps_older_articles_in_their_stories(store: Store) -> None:
    old = put(store, "quake-old", QUAKE_A, outlet="one.example", hours_ago=24 * 40)
    new = put(store, "quake-new", QUAKE_B, outlet="two.example", hours_ago=2)
    store.assign_story(old.id, "s_long", NOW, minhash=OLD_FORMAT)
    store.assign_story(new.id, "s_long", NOW, minhash=OLD_FORMAT)
    plan = plan_rebuild(store, NOW, days=30)
    assert list(plan.story_of) == [new.id]
    # the story keeps its id for the article in the window; the older article stays with it
    assert plan.story_of[new.id] == "s_long" and plan.moved == 0 and not plan.merged and not plan.split
    store.regroup_stories(plan.story_of, terms=plan.terms, follows=plan.follows, aliases=plan.merged, now=NOW)
    story = store.get_story("s_long")
    assert story is not None and story.article_count == 2
    assert store.get_article(old.id).story_id == "s_long"  # type: ignore[union-attr]


def test_stories_rebuild_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NEWSBRIEF_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "nb.db"
    config = tmp_path / "newsbrief.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    now = datetime.now(UTC)  # the command reads the clock: the articles lie within its retention window
    with Store(f"sqlite:///{db}") as store:
        store.upgrade()
        quake_a, _ = store.upsert_article(
            url="https://one.example/q",
            title=QUAKE_A.split("\n", 1)[0],
            text=QUAKE_A.split("\n", 1)[1],
            now=now - timedelta(hours=3),
            outlet="one.example",
        )
        quake_b, _ = store.upsert_article(
            url="https://two.example/q",
            title=QUAKE_B.split("\n", 1)[0],
            text=QUAKE_B.split("\n", 1)[1],
            now=now - timedelta(hours=2),
            outlet="two.example",
        )
        store.assign_story(quake_a.id, "s_first", now, minhash=OLD_FORMAT)
        store.assign_story(quake_b.id, "s_second", now, minhash=OLD_FORMAT)

    assert main(["--config", str(config), "stories", "rebuild", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "stories rebuild (dry run): 2 articles of the last 30 days regrouped" in out
    assert "articles moved: 1" in out and "s_second -> s_first" in out and "nothing was written" in out
    with Store(f"sqlite:///{db}") as store:
        assert store.get_article(quake_b.id).story_id == "s_second"  # type: ignore[union-attr]

    assert main(["--config", str(config), "stories", "rebuild"]) == 0
    out = capsys.readouterr().out
    assert "articles moved: 1" in out and "written in one transaction (1 articles moved)" in out
    with Store(f"sqlite:///{db}") as store:
        assert store.get_article(quake_b.id).story_id == "s_first"  # type: ignore[union-attr]
        assert store.story_aliases() == {"s_second": "s_first"}

    assert main(["--config", str(config), "stories", "rebuild", "--dry-run"]) == 0
    assert "articles moved: 0" in capsys.readouterr().out


def test_regroup_names_groups_oldest_id_first_and_never_reuses_a_taken_id() -> None:
    def stored(article_id: str, text: str, hours: int, story_id: str | None) -> StoredArticle:
        title, _, body = text.partition("\n")
        return StoredArticle(
            article_id, title, body, f"{article_id}.example", NOW + timedelta(hours=hours), story_id, None
        )

    texts = [t for pair in SAME_STORY[2:] + DIFFERENT_STORY for t in pair[1:] if t not in (QUAKE_A, QUAKE_B, ECB_A)]
    background = [stored(f"a_bg{i}", t, -60 - i, None) for i, t in enumerate(dict.fromkeys(texts))]
    articles = [
        stored("a_1", QUAKE_A, 0, "s_young"),
        stored("a_2", ECB_A, 1, "s_young"),
        stored("a_3", QUAKE_B, 2, "s_old"),
        stored("a_4", ECB_B, 3, "s_young"),
    ]
    facts = {"s_old": StoryFacts(NOW - timedelta(days=1), 1), "s_young": StoryFacts(NOW, 3)}
    plan = regroup(background + articles, facts, reserved={"s_2"})
    # the quake group had both stories: the older one's id wins, even over the story of its first article
    assert plan.story_of["a_1"] == plan.story_of["a_3"] == "s_old"
    # the ECB group had only s_young, which the quake group left: its id is kept (oldest id still free)
    assert plan.story_of["a_2"] == plan.story_of["a_4"] == "s_young"
    assert plan.split == {"s_young": ("s_old", "s_young")} and plan.merged == {}
    # the same with s_young taken by the quake group first: the ECB group needs a new id, and s_2 is taken
    facts["s_young"] = StoryFacts(NOW - timedelta(days=2), 3)
    plan = regroup(background + articles, facts, reserved={"s_2"})
    assert plan.story_of["a_1"] == "s_young" and plan.story_of["a_2"] == plan.story_of["a_4"] == "s_4"
    assert plan.merged == {"s_old": "s_young"} and plan.created[-1] == "s_4"
