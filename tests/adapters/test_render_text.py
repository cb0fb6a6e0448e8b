"""The text helper both chat renderers share (bot/adapters/_text.py): what no message may carry as it is, checked
through the pure renderer functions of Slack and Discord alike."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters import _text
from bot.adapters.discord import render as discord_render
from bot.adapters.slack import render as slack_render
from bot.briefing import Briefing, QuoteRef, SourceLink
from bot.commands import Reply
from testkit.chat_helpers import BRIEFED_AT, story, texts

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNSAFE = re.compile("[\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Bidirectional embeddings, overrides and isolates, and (lone) surrogates."""


def hostile_briefing(evil: str) -> Briefing:
    """Every text field of a story, the outlet and the URL carry ``evil``."""
    spoof = story(
        1,
        headline=f"Invoice {evil}fdp.exe",
        sentences=(f"Paid {evil}0001 euros", f"Second {evil} sentence"),
        quote=QuoteRef(text=f"We {evil} agree", speaker=f"Speaker {evil}"),
        sources=(SourceLink(f"outlet {evil}", f"https://news.example/a{evil}b", BRIEFED_AT),),
    )
    return Briefing(
        query=f"q{evil}", generated_at=BRIEFED_AT, stories=(spoof,), more=0, window_hours=24, topic=f"topic{evil}"
    )


def slack_strings(messages: list[slack_render.SlackMessage]) -> list[str]:
    return [text for message in messages for text in texts(dict(message))]


def discord_strings(messages: list[discord_render.DiscordMessage]) -> list[str]:
    out: list[str] = []
    for message in messages:
        out.append(message.content)
        for embed in message.embeds:
            out.extend(texts(embed.to_dict()))
    return out


def assert_clean(strings: list[str]) -> None:
    for text in strings:
        assert not UNSAFE.search(text), repr(text)
        text.encode("utf-8")  # a lone surrogate would raise here: the platform would refuse the message
    json.dumps(strings, ensure_ascii=False).encode("utf-8")


def test_clean_strips_bidi_controls_and_lone_surrogates_and_keeps_pairs() -> None:
    assert _text.clean(f"a{BIDI}b") == "ab"
    assert _text.clean("x\ud800y\udfffz") == "xyz"
    assert _text.clean("smile \ud83d\ude00!") == "smile \U0001f600!"  # a pair written as two code points
    assert _text.clean("plain \U0001f600 \u200f text") == "plain \U0001f600 \u200f text"  # marks stay
    assert _text.one_line(f" a{BIDI}\n b\udc80 ", re.compile(r"[\x00-\x1f]")) == "a b"
    assert _text.fit_escaped("x\u202ey" * 10, 5, lambda t: t) == "xyxy…"


@pytest.mark.parametrize("evil", ["\u202e", "\u2066\u202b", "\ud800", "\udfff\u2069", BIDI + "\udc00"])
def test_slack_renderer_strips_bidi_and_lone_surrogates(evil: str) -> None:
    briefing = hostile_briefing(evil)
    digest = slack_render.digest_messages(briefing, title=f"topic{evil} digest")
    replies = slack_render.reply_messages(Reply(kind="briefing", text="", briefing=briefing))
    errors = slack_render.reply_messages(Reply(kind="error", text=f"bad {evil}input\n  indented {evil}"))
    for messages in (digest, replies, errors):
        assert_clean(slack_strings(messages))
    assert any("fdp.exe" in t for t in slack_strings(digest))  # the text itself is kept, only the controls go
    assert any("https://news.example/ab" in t for t in slack_strings(digest))


@pytest.mark.parametrize("evil", ["\u202e", "\u2066\u202b", "\ud800", "\udfff\u2069", BIDI + "\udc00"])
def test_discord_renderer_strips_bidi_and_lone_surrogates(evil: str) -> None:
    briefing = hostile_briefing(evil)
    digest = discord_render.digest_messages(briefing, title=f"topic{evil} digest", ref="sub:1:2024-05-01T08:00Z")
    replies = discord_render.reply_messages(Reply(kind="briefing", text="", briefing=briefing))
    errors = discord_render.reply_messages(Reply(kind="error", text=f"bad {evil}input\n  indented {evil}"))
    for messages in (digest, replies, errors):
        assert_clean(discord_strings(messages))
    assert any("fdp.exe" in t for t in discord_strings(digest))


_EVIL_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from([*BIDI, "\ud800", "\udbff", "\udc00", "\udfff"]), st.characters()),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(evil=_EVIL_TEXT)
def test_no_renderer_lets_bidi_or_lone_surrogates_through(evil: str) -> None:
    briefing = hostile_briefing(evil)
    slack: Any = slack_render.digest_messages(briefing, title=evil)
    discord: Any = discord_render.digest_messages(briefing, title=evil)
    assert_clean(slack_strings(slack))
    assert_clean(discord_strings(discord))


# ---------------------------------------------------------------------------------------------- linked outlets


def plain(source: SourceLink, fit: int | None) -> str:
    """A link ``[outlet]``; the first may be cut to ``fit`` (as Discord's are)."""
    text = f"[{source.outlet}]"
    return text if fit is None or len(text) <= fit else text[: max(0, fit)]


def outlets_story(count: int, *, outlets: int = 0) -> Any:
    sources = tuple(SourceLink(f"o{i}", f"https://o{i}.example/a", BRIEFED_AT) for i in range(1, count + 1))
    return story(1, sources=sources, outlets=outlets)


def test_linked_outlets_links_up_to_the_maximum_and_counts_the_rest() -> None:
    assert _text.linked_outlets(outlets_story(2), plain, limit=100, max_links=5) == "[o1], [o2]"
    assert _text.linked_outlets(outlets_story(7), plain, limit=100, max_links=5) == (
        "[o1], [o2], [o3], [o4], [o5] and 2 more"
    )
    # outlets that reported it without a source in the window are counted too
    assert _text.linked_outlets(outlets_story(1, outlets=4), plain, limit=100, max_links=5, head="4 outlets: ") == (
        "4 outlets: [o1] and 3 more"
    )
    assert _text.linked_outlets(outlets_story(0), plain, limit=100, max_links=5) is None


def test_linked_outlets_stays_within_the_limit_keeping_room_for_the_count() -> None:
    story_ = outlets_story(4)
    for limit in range(0, 40):
        text = _text.linked_outlets(story_, plain, limit=limit, max_links=5)
        assert text is not None
        assert text == "4 outlets" or len(text) <= limit, (limit, text)
        if text != "4 outlets":
            shown = text.count("[")
            assert text.endswith(f" and {4 - shown} more") or shown == 4
    assert _text.linked_outlets(story_, plain, limit=25, max_links=5) == "[o1], [o2] and 2 more"
    assert _text.linked_outlets(story_, plain, limit=30, max_links=5) == "[o1], [o2], [o3] and 1 more"
    # no room for even a shortened first link: the outlets are only counted
    assert _text.linked_outlets(story_, lambda _s, _f: "", limit=30, max_links=5) == "4 outlets"
