"""Tests of the Slack Block Kit renderers (bot/adapters/slack/render.py) and of config/slack-manifest.yml."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.slack.render import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_LINK_URL,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    MAX_TEXT_MESSAGES,
    SlackMessage,
    briefing_title,
    digest_messages,
    escape,
    fit,
    item_message,
    link,
    reply_messages,
    safe_url,
    text_messages,
)
from bot.briefing import (
    BUILTIN_TEMPLATES,
    COMPACT,
    HEADLINES,
    LINK_STYLES,
    MAX_SENTENCES,
    Briefing,
    Item,
    NoMatch,
    QuoteRef,
    SourceLink,
    StoryBrief,
    Template,
)
from bot.commands import USAGE, Reply
from testkit.chat_helpers import BRIEFED_AT as NOW
from testkit.chat_helpers import BRIEFING, hostile_story, story, story_strategy, utf16
from tests.conftest import require_module

MANIFEST = Path(__file__).resolve().parents[3] / "config" / "slack-manifest.yml"

INJECTIONS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C1>",
    "<http://evil.example|click>",
    "<!subteam^S1>",
    "&lt;!channel&gt;",
    "<https://evil.example>",
)
OUR_LINK = re.compile(r"<(https?://[^\s<>|]+)\|([^<>]*)>")
ENTITY = re.compile(r"&(amp|lt|gt);")


# ------------------------------------------------------------------------------------------------- helpers


def text_fields(node: Any) -> Iterator[tuple[str, str]]:
    """Every ``"text"`` string in a message, with the type of the object holding it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield str(node.get("type", "fallback")), value
            else:
                yield from text_fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_fields(item)


def assert_safe(messages: list[SlackMessage]) -> None:
    """No live mention, channel link or foreign link anywhere; entities whole; links only to http(s)."""
    json.dumps(messages)  # JSON-able
    for kind, text in (pair for m in messages for pair in text_fields(m)):
        for url, _label in OUR_LINK.findall(text):
            assert not re.search(r"[\s<>|\"]", url)
            assert re.fullmatch(r"https?://\S+", url, flags=re.IGNORECASE)
        outside = OUR_LINK.sub("", text)
        for bad in ("<!", "<@", "<#", "<http"):
            assert bad not in outside, (kind, text)
        assert "<" not in outside, (kind, text)
        # ">" only as our own block-quote marker at the start of a line
        assert ">" not in re.sub(r"(?m)^> ", "", outside), (kind, text)
        assert "&" not in ENTITY.sub("", text), (kind, text)  # every & starts a whole entity


def assert_within_limits(messages: list[SlackMessage]) -> None:
    assert messages
    for message in messages:
        blocks = message["blocks"]
        assert 1 <= len(blocks) <= MAX_BLOCKS
        assert 1 <= utf16(message["text"]) <= MAX_FALLBACK_TEXT
        total = 0
        for block in blocks:
            if block["type"] == "header":
                assert block["text"]["type"] == "plain_text"
                assert 1 <= utf16(block["text"]["text"]) <= MAX_HEADER_TEXT
                total += utf16(block["text"]["text"])
            elif block["type"] == "section":
                assert block["text"]["type"] == "mrkdwn"
                assert 1 <= utf16(block["text"]["text"]) <= MAX_SECTION_TEXT
                total += utf16(block["text"]["text"])
            elif block["type"] == "context":
                assert 1 <= len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
                for element in block["elements"]:
                    assert 1 <= utf16(element["text"]) <= MAX_CONTEXT_TEXT
                    total += utf16(element["text"])
            else:
                assert block == {"type": "divider"}
        assert total <= MAX_MESSAGE_TEXT


def section_texts(messages: list[SlackMessage]) -> list[str]:
    return [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section"]


def story_numbers(messages: list[SlackMessage]) -> list[int]:
    """The numbers of the stories in order (each story's first section starts with ``*N. ``)."""
    return [int(m.group(1)) for t in section_texts(messages) if (m := re.match(r"\*(\d+)\. ", t))]


# ------------------------------------------------------------------------------------------------- escaping


def test_escape_replaces_the_three_control_characters() -> None:
    assert escape("Tom & Jerry <!channel> a>b") == "Tom &amp; Jerry &lt;!channel&gt; a&gt;b"
    assert escape("&lt;") == "&amp;lt;"  # an entity in article text stays text, never turns into "<"
    assert escape("plain | * _ ~") == "plain | * _ ~"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a?x=1&y=2", "<https://news.example/a?x=1&amp;y=2|Label>"),
        ("HTTP://News.example/a", "<HTTP://News.example/a|Label>"),
        ('https://news.example/a b|c<d>e"f', "<https://news.example/a%20b%7Cc%3Cd%3Ee%22f|Label>"),
        ("https://news.example/x|<!channel>", "<https://news.example/x%7C%3C!channel%3E|Label>"),
        ("  https://news.example/trimmed  ", "<https://news.example/trimmed|Label>"),
        ("https://news.example/\u2028x", "<https://news.example/%E2%80%A8x|Label>"),
        ("javascript:alert(1)", "Label"),
        ("ftp://news.example/file", "Label"),
        ("mailto:someone@example.org", "Label"),
        ("//news.example/no-scheme", "Label"),
        ("http:///no-host", "Label"),
        ("ht\ntp://news.example/", "Label"),
        ("", "Label"),
        ("https://news.example/" + "a" * MAX_LINK_URL, "Label"),
    ],
)
def test_link_only_links_safe_http_urls(url: str, expected: str) -> None:
    assert link(url, "Label") == expected


def test_link_escapes_the_label_and_falls_back_to_the_url() -> None:
    assert link("https://x.example/", "<!here> & <@U1>") == "<https://x.example/|&lt;!here&gt; &amp; &lt;@U1&gt;>"
    assert link("https://x.example/", "") == "<https://x.example/|https://x.example/>"
    assert link("javascript:alert(1)", "") == "javascript:alert(1)"
    assert link("https://x.example/", "a\nb\tc") == "<https://x.example/|a b c>"
    assert safe_url("https://x.example/a>b") == "https://x.example/a%3Eb"
    assert safe_url("data:text/html,hi") is None


def test_fit_cuts_at_a_word_boundary_and_never_inside_an_entity() -> None:
    assert fit("alpha beta gamma", 100) == "alpha beta gamma"
    assert fit("alpha beta gamma", 12) == "alpha beta…"
    assert fit("alpha beta gamma", 11) == "alpha beta…"
    assert fit("x" * 20, 6) == "xxxxx…"
    assert fit("&" * 100, 12) == "&amp;&amp;…"
    assert fit("&" * 100, 10) == "&amp;…"
    assert fit("<<<<", 7) == "&lt;…"
    assert fit("😀" * 10, 5) == "😀😀…"  # counted in UTF-16 code units: 2 each
    assert fit("anything", 0) == ""
    for limit in range(1, 40):
        cut = fit("Tom & Jerry <!channel> meet > the <@U123> crew", limit)
        assert utf16(cut) <= limit
        assert "&" not in ENTITY.sub("", cut) and "<" not in cut


def test_every_injection_is_shown_as_text_in_every_field() -> None:
    evil = " ".join(INJECTIONS)
    sources = (
        SourceLink(f"Outlet {evil}", "https://ok.example/a|<!channel>", NOW),
        SourceLink(evil, "javascript:alert('<!here>')", None),
        SourceLink("", "https://ok.example/b?<@U123>", None),
    )
    bad_story = hostile_story(evil, sources, first=f"First {evil}.")
    b = Briefing(query=f"q {evil}", generated_at=NOW, stories=(bad_story,), more=3, window_hours=24, topic=f"t {evil}")
    for messages in (
        digest_messages(b, title=f"Digest {evil}"),
        reply_messages(Reply(kind="briefing", text=f"summary {evil}", briefing=b)),
        reply_messages(Reply(kind="briefing", text=evil, briefing=NoMatch(evil, 72, (evil,)))),
        reply_messages(Reply(kind="text", text=f"line {evil}\n  indented {evil}")),
        reply_messages(Reply(kind="text", text=f"one line {evil}")),
        reply_messages(Reply(kind="error", text=f"error {evil}")),
    ):
        assert_within_limits(messages)
        assert_safe(messages)
        dumped = json.dumps(messages, ensure_ascii=False)
        assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped


# ------------------------------------------------------------------------------------------------- digests


def test_a_normal_digest_has_header_story_quote_and_sources() -> None:
    messages = digest_messages(BRIEFING, title="Digest: rail")

    assert messages == [
        {
            "text": "Digest: rail\n1. Kestrel Bay rail line to reopen after landslide repairs",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Digest: rail"}},
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "*1. <https://gazette.example/rail?id=1&amp;page=2|Kestrel Bay rail line to reopen "
                        "after landslide repairs>*\n• The coastal railway reopens on Saturday.\n"
                        "• Crews removed 40,000 tonnes of rock.",
                        "verbatim": True,
                    },
                },
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": "> “We have rebuilt this line to be safer” — Maren Holt",
                        "verbatim": True,
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": "2 outlets: <https://gazette.example/rail?id=1&amp;page=2|harbour-gazette>, "
                            "<https://courier.example/rail|valley-courier>",
                            "verbatim": True,
                        },
                        {"type": "mrkdwn", "text": "First seen 2024-05-01 05:00 UTC", "verbatim": True},
                    ],
                },
            ],
        }
    ]


def test_stories_are_numbered_and_divided_and_more_ends_the_digest() -> None:
    b = Briefing(query="q", generated_at=NOW, stories=(story(1), story(2), story(3)), more=4, window_hours=72)
    [message] = digest_messages(b, title="Digest")
    kinds = [block["type"] for block in message["blocks"]]

    assert kinds == [
        "header",
        "section",
        "context",
        "divider",
        "section",
        "context",
        "divider",
        "section",
        "context",
        "context",
    ]
    assert story_numbers([message]) == [1, 2, 3]
    assert message["blocks"][-1]["elements"][0]["text"] == "…and 4 more stories"
    assert message["text"] == "Digest\n1. Headline 1\n2. Headline 2\n3. Headline 3\n…and 4 more stories"


def test_more_line_singular_and_absent() -> None:
    one_more = Briefing(query="q", generated_at=NOW, stories=(story(1),), more=1, window_hours=72)
    none_more = Briefing(query="q", generated_at=NOW, stories=(story(1),), more=0, window_hours=72)

    assert digest_messages(one_more, title="T")[0]["blocks"][-1]["elements"][0]["text"] == "…and 1 more story"
    assert "more stor" not in json.dumps(digest_messages(none_more, title="T"))


def test_sources_list_five_outlets_then_counts_the_rest() -> None:
    sources = tuple(SourceLink(f"outlet-{i}", f"https://news.example/{i}", NOW) for i in range(8))
    [message] = digest_messages(
        Briefing(query="q", generated_at=NOW, stories=(story(1, sources=sources),), more=0, window_hours=72),
        title="T",
    )
    context = message["blocks"][-1]["elements"][0]["text"]

    assert context.startswith("8 outlets: <https://news.example/0|outlet-0>, <https://news.example/1|outlet-1>")
    assert context.count("<https://") == 5
    assert context.endswith("<https://news.example/4|outlet-4> and 3 more")


def test_each_story_says_how_many_outlets_reported_it() -> None:
    two = (SourceLink("a", "https://a.example/1", NOW), SourceLink("b", "https://b.example/1", NOW))
    stories = (story(1), story(2, sources=two, outlets=6), story(3, sources=(), outlets=4))
    [message] = digest_messages(Briefing("q", NOW, stories, 0, 72), title="T")
    contexts = [b["elements"][0]["text"] for b in message["blocks"] if b["type"] == "context"]

    assert contexts[0] == "1 outlet: <https://news.example/1|outlet-1>"  # one outlet says so
    assert contexts[1] == "6 outlets: <https://a.example/1|a>, <https://b.example/1|b> and 4 more"  # not all listed
    assert contexts[2].startswith("First seen")  # nothing to link: no outlet line
    assert_within_limits([message])


def test_a_follow_up_names_the_earlier_story_escaped_and_cut() -> None:
    follow = story(1, follows="Talks <!channel> open & stall")
    long = story(2, follows="word " * 400)
    [message] = digest_messages(Briefing("q", NOW, (follow, long, story(3)), 0, 72), title="T")
    contexts = [b["elements"] for b in message["blocks"] if b["type"] == "context"]
    assert contexts[0][-1]["text"] == "Follow-up of: Talks &lt;!channel&gt; open &amp; stall"
    assert contexts[1][-1]["text"].startswith("Follow-up of: word word") and contexts[1][-1]["text"].endswith("…")
    assert all("Follow-up" not in e["text"] for e in contexts[2])
    assert_within_limits([message])
    assert_safe([message])


def test_outlets_whose_links_do_not_fit_are_counted() -> None:
    huge = tuple(SourceLink("o" * 90, f"https://news.example/{'x' * 970}{i}", NOW) for i in range(5))
    [message] = digest_messages(Briefing("q", NOW, (story(1, sources=huge, outlets=9),), 0, 72), title="T")
    context = message["blocks"][-1]["elements"][0]["text"]
    assert context.startswith("9 outlets: <https://news.example/") and context.endswith(" more")
    shown = context.count("<https://")
    assert 0 < shown < 5 and context.endswith(f" and {9 - shown} more")
    assert_within_limits([message])


def test_story_without_sources_quote_or_sentences_still_renders() -> None:
    bare = story(1, headline="", sentences=(), sources=(), quote=QuoteRef(text=" ", speaker="X"))
    [message] = digest_messages(Briefing("q", NOW, (bare,), 0, 72), title="")

    assert [b["type"] for b in message["blocks"]] == ["header", "section", "context"]
    assert message["blocks"][0]["text"]["text"] == "Briefing"
    assert message["blocks"][1]["text"]["text"] == "*1. (untitled)*"
    assert message["blocks"][2]["elements"] == [
        {"type": "mrkdwn", "text": "First seen 2024-05-01 08:00 UTC", "verbatim": True}
    ]


def test_empty_briefing_says_so() -> None:
    [message] = digest_messages(Briefing("q", NOW, (), 0, 72), title="Digest")
    assert message["blocks"][1]["elements"][0]["text"] == "No stories."
    assert_within_limits([message])


def test_long_title_is_cut_for_the_header() -> None:
    [message] = digest_messages(BRIEFING, title="Digest " + "word " * 100)
    header = message["blocks"][0]["text"]["text"]
    assert utf16(header) <= MAX_HEADER_TEXT and header.endswith("word…")


@pytest.mark.parametrize("filler", ["lorem ipsum ", "&<>", "😀 é "])
def test_limits_at_the_edges_split_the_digest_at_story_boundaries(filler: str) -> None:
    long_sentence = (filler * 5000)[:5000]
    many_sources = tuple(
        SourceLink(f"outlet {i} " * 3, f"https://news.example/{i}/" + "p" * 200, NOW) for i in range(25)
    )
    stories = tuple(
        story(
            n,
            headline=f"H{n} " + (filler * 500)[:500],
            sentences=(long_sentence, long_sentence, f"short {n}"),
            quote=QuoteRef(text=long_sentence, speaker=(filler * 300)[:300]) if n % 2 else None,
            sources=many_sources,
        )
        for n in range(1, 41)
    )
    b = Briefing(query="q", generated_at=NOW, stories=stories, more=7, window_hours=72)

    messages = digest_messages(b, title="Digest: " + (filler * 100)[:200])

    assert len(messages) > 1
    assert_within_limits(messages)
    assert_safe(messages)
    assert story_numbers(messages) == list(range(1, 41))  # every story exactly once, in order
    for part, message in enumerate(messages, 1):
        assert message["blocks"][0]["text"]["text"].endswith(f" ({part}/{len(messages)})")
        assert message["text"].startswith(message["blocks"][0]["text"]["text"])
        assert message["blocks"][-1]["type"] != "divider"
    assert "…and 7 more stories" in json.dumps(messages[-1], ensure_ascii=False)
    assert all("more stories" not in json.dumps(m, ensure_ascii=False) for m in messages[:-1])
    for text in section_texts(messages):
        if text.startswith("*"):
            assert text.count("\n• ") == 3  # all three sentences keep a (cut) bullet


def test_fifty_block_limit_alone_splits_a_long_digest() -> None:
    stories = tuple(story(n, quote=QuoteRef(text="Short quote", speaker="A. Person")) for n in range(1, 30))
    messages = digest_messages(Briefing("q", NOW, stories, 0, 72), title="Digest")

    # header + 12 stories x (section, quote, context) + 11 dividers = 48; a 13th story would need 52
    assert [len(m["blocks"]) for m in messages] == [48, 48, 20]
    assert story_numbers(messages) == list(range(1, 30))
    assert_within_limits(messages)


# ------------------------------------------------------------------------------------------------- replies


def test_briefing_reply_uses_the_briefing_title_unless_given_one() -> None:
    reply = Reply(kind="briefing", text="Briefing on rail: 1 story", briefing=BRIEFING)

    [default] = reply_messages(reply)
    [titled] = reply_messages(reply, title="Rail now")

    assert briefing_title(BRIEFING) == "Briefing: rail (topic) — 1 story, last 72 h"
    assert default["blocks"][0]["text"]["text"] == "Briefing: rail (topic) — 1 story, last 72 h"
    assert titled["blocks"][0]["text"]["text"] == "Rail now"
    assert default["blocks"][1:] == titled["blocks"][1:]


def test_no_match_reply_is_its_helpful_text() -> None:
    n = NoMatch(query="kestrel <b>", window_hours=72, suggestions=("rail", "ukraine"))
    [message] = reply_messages(Reply(kind="briefing", text="nothing", briefing=n, ephemeral=True))

    expected = "Nothing found for “kestrel &lt;b&gt;” in the last 72 h. Try a topic: rail, ukraine (or other words)."
    assert message == {
        "text": expected,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": expected, "verbatim": True}}],
    }


def test_text_replies_plain_or_preformatted_and_errors_flagged() -> None:
    [plain] = reply_messages(Reply(kind="text", text="Subscribed this channel to rail: daily 08:00 (UTC), #3."))
    [usage] = reply_messages(Reply(kind="text", text=USAGE, ephemeral=True))
    [error] = reply_messages(Reply(kind="error", text="Unknown topic 'x <y>'"))

    assert plain["blocks"][0]["text"]["text"] == "Subscribed this channel to rail: daily 08:00 (UTC), #3."
    usage_text = usage["blocks"][0]["text"]["text"]
    assert usage_text.startswith("```\nUsage:\n  /brief &lt;topic or words&gt;") and usage_text.endswith("\n```")
    assert error["blocks"][0]["text"]["text"] == ":warning: Unknown topic 'x &lt;y&gt;'"
    assert error["text"] == ":warning: Unknown topic 'x &lt;y&gt;'"
    for message in (plain, usage, error):
        assert_within_limits([message])
        assert_safe([message])


def test_long_text_replies_split_into_sections_then_messages_and_stop() -> None:
    lines = "\n".join(f"  line {i}: " + "x" * 90 for i in range(200))
    long = text_messages("Header\n" + lines)
    huge = text_messages("Header\n" + "\n".join([lines] * 40))
    [blank] = text_messages("  \n ")

    assert len(long) == 2 and sum(len(m["blocks"]) for m in long) >= 7
    assert all(
        b["text"]["text"].startswith("```\nline")
        or b["text"]["text"].startswith("```\n  line")
        or b["text"]["text"].startswith("```\nHeader")
        for m in long
        for b in m["blocks"]
    )
    assert long[0]["text"].startswith("Header line 0: xxx") and long[1]["text"] == "… (2/2)"
    assert len(huge) == MAX_TEXT_MESSAGES and huge[-1]["blocks"][-1]["text"]["text"] == "```\n…\n```"
    assert blank["blocks"][0]["text"]["text"] == "…" and blank["text"] == "…"
    assert_within_limits([*long, *huge, blank])
    assert_safe([*long, *huge, blank])


# ------------------------------------------------------------------------------------------------- properties

_ALPHABET = st.one_of(st.sampled_from("<>&|*_`~ \n!@#:/"), st.characters())
_TEXT = st.text(_ALPHABET, max_size=60)
_LONG = st.builds(lambda t, k: t * k, st.text(_ALPHABET, max_size=300), st.integers(1, 25))
_STORY = story_strategy(
    _TEXT, _LONG, quote_text=_LONG, odd_urls=["javascript:alert(1)", "https://news.example/a|<!channel>", ""]
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(stories=st.lists(_STORY, max_size=24), more=st.integers(0, 3), title=st.one_of(_TEXT, _LONG), query=_TEXT)
def test_random_briefings_stay_within_limits_and_never_inject(
    stories: list[StoryBrief], more: int, title: str, query: str
) -> None:
    b = Briefing(query=query, generated_at=NOW, stories=tuple(stories), more=more, window_hours=72, topic=query)

    for messages in (digest_messages(b, title=title), reply_messages(Reply(kind="briefing", text="", briefing=b))):
        assert_within_limits(messages)
        assert_safe(messages)
        assert story_numbers(messages) == list(range(1, len(stories) + 1))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(text=st.one_of(_TEXT, _LONG), kind=st.sampled_from(["text", "error"]))
def test_random_text_replies_stay_within_limits_and_never_inject(text: str, kind: str) -> None:
    messages = reply_messages(Reply(kind="error" if kind == "error" else "text", text=text))
    assert_within_limits(messages)
    assert_safe(messages)


# ------------------------------------------------------------------------------------------------- manifest


def test_manifest_declares_the_command_scopes_and_socket_mode() -> None:
    yaml = require_module("yaml", "the manifest is parsed with PyYAML (the dev extra installs it)")
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))

    assert manifest["display_information"]["name"] == "newsbrief"
    assert manifest["features"]["bot_user"]["display_name"] == "newsbrief"
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/brief"
    assert command["usage_hint"] == "ukraine | subscribe ukraine daily 08:00 | list | help"
    assert command["should_escape"] is False
    assert command["description"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:join",
        "channels:history",
        "groups:history",
        "users:read",
    }
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is False
    assert manifest["settings"]["org_deploy_enabled"] is False


def test_manifest_text_names_the_command_and_scopes() -> None:
    """The same facts without a YAML parser (so they are checked where PyYAML is missing)."""
    text = MANIFEST.read_text(encoding="utf-8")
    assert re.search(r"(?m)^\s*- command: /brief$", text)
    for scope in (
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:join",
        "channels:history",
        "groups:history",
        "users:read",
    ):
        assert re.search(rf"(?m)^\s*- {re.escape(scope)}\s*(#.*)?$", text), scope
    assert re.search(r"(?m)^\s*socket_mode_enabled: true$", text)


# ------------------------------------------------------------------------------------------------- templates

_TEMPLATE = st.one_of(
    st.sampled_from(list(BUILTIN_TEMPLATES.values())),
    st.builds(
        Template,
        name=st.just("mine"),
        headline=st.booleans(),
        sentences=st.integers(0, MAX_SENTENCES),
        quote=st.booleans(),
        sources=st.booleans(),
        first_seen=st.booleans(),
        link=st.sampled_from(LINK_STYLES),
    ).filter(lambda t: t.headline or t.sentences > 0),
)


def _numbers(messages: list[SlackMessage]) -> list[int]:
    return [int(m.group(1)) for t in section_texts(messages) if (m := re.match(r"\*(\d+)\.[ *]", t))]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(stories=st.lists(_STORY, max_size=24), more=st.integers(0, 3), template=_TEMPLATE)
def test_random_briefings_under_any_template_stay_within_limits_and_never_inject(
    stories: list[StoryBrief], more: int, template: Template
) -> None:
    b = Briefing(query="q", generated_at=NOW, stories=tuple(stories), more=more, window_hours=72, template=template)

    messages = digest_messages(b, title="digest")

    assert_within_limits(messages)
    assert_safe(messages)
    assert _numbers(messages) == list(range(1, len(stories) + 1))


def test_the_headlines_template_shows_the_linked_headline_only() -> None:
    b = Briefing(query="rail", generated_at=NOW, stories=(BRIEFING.stories[0],), more=0, window_hours=72)

    [message] = digest_messages(dataclasses.replace(b, template=HEADLINES), title="rail digest")

    header, section = message["blocks"]  # no quote section, no context
    assert header["type"] == "header"
    assert section["text"]["text"] == (
        "*1. <https://gazette.example/rail?id=1&amp;page=2|Kestrel Bay rail line to reopen after landslide repairs>*"
    )
    [full] = digest_messages(b, title="rail digest")
    assert len(full["blocks"]) == 4  # header, story, quote, context: the full template as before


def test_the_compact_template_shows_one_sentence_and_the_sources() -> None:
    b = dataclasses.replace(BRIEFING, template=COMPACT)

    [message] = digest_messages(b, title="rail digest")

    texts = [t for _kind, t in text_fields(message["blocks"])]
    story_text = texts[1]
    assert "• The coastal railway reopens on Saturday." in story_text
    assert "40,000" not in story_text
    assert not any("Maren Holt" in t for t in texts)  # no quote
    [context] = [b for b in message["blocks"] if b["type"] == "context"]
    assert [e["text"] for e in context["elements"]] == [
        "2 outlets: <https://gazette.example/rail?id=1&amp;page=2|harbour-gazette>, "
        "<https://courier.example/rail|valley-courier>"
    ]  # no "First seen"


@pytest.mark.parametrize(
    ("link_style", "head"),
    [
        (
            "url",
            "*1. Kestrel Bay rail line to reopen after landslide repairs*\n<https://gazette.example/rail?id=1&amp;page=2>",
        ),
        ("none", "*1. Kestrel Bay rail line to reopen after landslide repairs*"),
    ],
)
def test_link_styles_put_the_url_on_its_own_line_or_leave_it_out(link_style: str, head: str) -> None:
    template = Template(name="mine", sentences=0, quote=False, sources=False, first_seen=False, link=link_style)  # type: ignore[arg-type]

    [message] = digest_messages(dataclasses.replace(BRIEFING, template=template), title="rail digest")

    assert section_texts([message]) == [head]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    headline=st.one_of(_TEXT, _LONG),
    outlet=_TEXT,
    url=st.one_of(_TEXT, st.builds(lambda t: "https://x.example/" + t, _TEXT)),
)
def test_an_item_is_one_safe_line_within_limits(headline: str, outlet: str, url: str) -> None:
    item = Item(article_id="a_1", headline=headline, url=url, outlet=outlet, published_at=None, first_seen=NOW)

    message = item_message(item)

    assert_within_limits([message])
    assert_safe([message])
    assert len(message["blocks"]) == 1


def test_an_item_links_its_headline_and_names_the_outlet() -> None:
    item = Item("a_1", "Release 2.1 <!channel>", "https://status.example/r/2.1", "Status", None, NOW)

    message = item_message(item)

    assert message["blocks"][0]["text"]["text"] == (
        "• <https://status.example/r/2.1|Release 2.1 &lt;!channel&gt;> — Status"
    )
    assert message["text"] == "Release 2.1 &lt;!channel&gt; — Status"
