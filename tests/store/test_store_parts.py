"""The store's parts put together, through the public ``bot.store`` API on every backend: each kind of value read
back whole (the one generic row converter), a summary round trip, and the layering of the modules."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import NewFeed, Store, StoryAssignment, summary_to_json
from summarizer import Quote, Summary

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TEXT = (
    "The harbour authority closed the northern pier on Monday after inspectors found cracks in two of its "
    "supports. Ferries to the islands will leave from the southern terminal until repairs are finished, which "
    "the authority expects to take three weeks. Fishermen said the closure came at the worst time of the season."
)


def _summary() -> Summary:
    return Summary(
        sentences=("The harbour authority closed the northern pier.", "Ferries leave from the south."),
        quotes=(
            Quote(
                text="We had no choice",
                start=10,
                end=26,
                speaker="harbour master Ana Ruiz",
                cue="said",
                speaker_start=40,
                speaker_end=48,
                role="harbour master",
                score=0.75,
            ),
            Quote(text="worst time of the season", start=300, end=324),
        ),
        algorithm="textrank",
        language="english",
    )


def test_summary_round_trips_through_the_store_with_every_field(store: Store) -> None:
    summary = _summary()
    stored, _ = store.upsert_article(url="https://example.com/pier", title="Pier", text=TEXT, now=NOW, summary=summary)
    again = store.get_article(stored.id)
    assert again is not None and again.summary is not None
    assert again.summary["quotes"][0]["score"] == 0.75  # once dropped on the way in
    assert Summary.from_dict(again.summary) == summary
    assert Summary.from_dict(json.loads(json.dumps(again.summary))) == summary


def test_summary_stored_before_quotes_had_a_score_still_reads(store: Store) -> None:
    old = {
        "sentences": ["The pier closed."],
        "quotes": [
            {"text": "No choice", "speaker": "Ana Ruiz", "cue": "said", "role": None, "start": 3, "end": 12},
        ],
        "algorithm": "textrank",
    }
    stored, _ = store.upsert_article(url="https://example.com/old", title="Old", text=TEXT, now=NOW, summary=old)
    assert stored.summary == old == summary_to_json(old)  # a mapping is stored as given
    read = Summary.from_dict(stored.summary)
    assert read.quotes == (Quote(text="No choice", start=3, end=12, speaker="Ana Ruiz", cue="said"),)
    assert (read.quotes[0].score, read.language) == (0.0, "english")


def _complete(value: Any) -> None:
    """Every field of a value read from the store is set, and tuple fields are tuples (not JSON lists)."""
    for spec in fields(value):
        got = getattr(value, spec.name)
        if "tuple" in str(spec.type):
            assert isinstance(got, tuple), (type(value).__name__, spec.name, got)


def test_every_value_is_read_back_whole(store: Store) -> None:
    feed, bare = store.add_feeds(
        [NewFeed("https://example.com/rss", name="Ex", interval_s=60, tags=("world", "ports")), NewFeed("https://b/")],
        now=NOW,
    )
    assert (feed.tags, bare.tags, feed.name, feed.interval_s, feed.enabled) == (("world", "ports"), (), "Ex", 60, True)
    assert store.get_feed(feed.id) == feed and store.list_feeds() == [feed, bare]
    polled = store.record_poll_success(feed.id, etag='"e1"', last_modified=None, now=NOW, next_poll_at=NOW)
    assert (polled.etag, polled.backfilled, polled.last_polled_at) == ('"e1"', True, NOW)

    article, _ = store.upsert_article(
        url="https://example.com/pier",
        title="Pier",
        text=TEXT,
        now=NOW,
        feed_id=feed.id,
        summary=_summary(),
        assign_story=lambda a: StoryAssignment("s_pier", b"terms"),
    )
    assert article.feeds == ("https://example.com/rss",) and article.story_id == "s_pier"
    assert (article.page_attempts, article.page_retry_at, article.page_error) == (0, None, None)
    assert store.get_article(article.id) == article == store.list_articles()[0]
    story = store.get_story("s_pier")
    assert story is not None and (story.article_count, story.outlets, story.follows) == (1, ("example.com",), None)
    (sig,) = store.minhash_signatures()
    assert (sig.article_id, sig.signature, sig.outlet, sig.story_id, sig.first_seen) == (
        article.id,
        b"terms",
        "example.com",
        "s_pier",
        NOW,
    )
    assert sig.row > 0
    (archived,) = store.archived_articles(since=NOW - timedelta(days=1))
    assert (archived.article_id, archived.title, archived.text, archived.terms) == (article.id, "Pier", TEXT, b"terms")

    sub = store.add_subscription("console", "#news", "ports", schedule="hourly", tz="UTC", now=NOW, by="me")
    assert (sub.sources, sub.team, sub.created_by, sub.paused) == ((), None, "me", False)
    limited = store.add_subscription("slack", "C1", "world", schedule="hourly", tz="UTC", now=NOW, sources=["1"])
    assert limited.sources == ("1",) and store.list_subscriptions(platform="slack") == [limited]
    assert store.claim_slot(sub.id, "2024-05-01T13", by="w1", now=NOW)
    store.plan_slot(sub.id, "2024-05-01T13", {"s_pier": 1})
    slot = store.get_slot(sub.id, "2024-05-01T13")
    assert slot is not None and (slot.planned, slot.outcome, slot.claimed_by) == ({"s_pier": 1}, None, "w1")
    done = store.finish_slot(sub.id, "2024-05-01T13", "posted", "m1", NOW)
    assert (done.outcome, done.message_ref, done.finished_at, done.note) == ("posted", "m1", NOW, None)

    assert store.acquire_lease("scheduler", "host-1", now=NOW, ttl=timedelta(seconds=30))
    lease = store.get_lease("scheduler")
    assert lease is not None and (lease.holder, lease.acquired_at, lease.expires_at) == (
        "host-1",
        NOW,
        NOW + timedelta(seconds=30),
    )
    for value in (feed, article, story, sig, archived, sub, slot, lease):
        _complete(value)
    assert store.integrity_check() == []


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_the_store_does_not_import_the_stories_or_the_summarizer() -> None:
    loaded = _modules_after("import bot.store")
    assert not {m for m in loaded if m.startswith(("bot.stories", "summarizer"))}
    # the package itself brings its error hierarchy (bot.errors, a leaf): nothing else of bot
    assert {m for m in _modules_after("import bot.identity") if m.startswith("bot")} == {
        "bot",
        "bot.errors",
        "bot.identity",
    }


def test_stories_re_exports_the_identity_helpers() -> None:
    import bot.identity
    import bot.stories

    for name in ("canonical_url", "content_hash", "normalize_text", "outlet_of", "story_key_for", "TRACKING_PARAMS"):
        assert getattr(bot.stories, name) is getattr(bot.identity, name)
