"""Tests of the Discord embed renderers (bot/adapters/discord/render.py)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.render import (
    MAX_AUTHOR_NAME,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    MAX_FOOTER_TEXT,
    MAX_LINK_URL,
    MAX_REF,
    MAX_SOURCES,
    MAX_TEXT_MESSAGES,
    MAX_TITLE,
    MAX_TOTAL_EMBED_CHARS,
    PERMISSION_REASONS,
    REQUIRED_PERMISSIONS,
    DiscordMessage,
    briefing_title,
    digest_messages,
    embed_ref,
    embed_size,
    escape,
    fit,
    invite_url,
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

REF = "sub:3:2024-05-01T08:00Z"

INJECTIONS = (
    "@everyone",
    "@here",
    "@EVERYONE",
    "<@123456789012345678>",
    "<@!123>",
    "<@&987>",
    "<#555>",
    "<t:1700000000:R>",
    "</brief:1>",
    "**bold**",
    "__under__",
    "||spoiler||",
    "`code`",
    "```block```",
    "~~strike~~",
    "*it*",
    "_it_",
    "[click](https://evil.example)",
    "> quote",
    "# Heading",
    "-# small",
    "\\<@1>",
    "\\*\\*x\\*\\*",
)
EVIL = " ".join(INJECTIONS)
SPECIAL = set("*_~|`[]<\\")
OUR_LINK = re.compile(r"\[((?:\\.|[^\\\[\]])*)\]\((https?://[^\s()<>\\]+)\)")
MENTION = re.compile(r"@(everyone|here)|<[@#:/]|<[at]:", re.IGNORECASE)


# ------------------------------------------------------------------------------------------------- helpers


def check_markdown(text: str, *, links: bool = False) -> None:
    """Every markdown or mention character of ``text`` is escaped by a backslash, except our own masked links
    (``links``), whose labels must be escaped too and whose URLs must be safe. No lone trailing backslash."""
    assert not re.search(r"@(everyone|here)", text, flags=re.IGNORECASE), text
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert i + 1 < len(text), f"lone trailing backslash: {text!r}"
            i += 2
            continue
        if ch == "[" and links and (m := OUR_LINK.match(text, i)):
            check_markdown(m.group(1))
            assert re.fullmatch(r"https?://[\x21-\x7e]+", m.group(2))
            i = m.end()
            continue
        assert ch not in SPECIAL, f"unescaped {ch!r} at {i} in {text!r}"
        i += 1


def check_code_block(body: str) -> None:
    assert "```" not in body
    assert not MENTION.search(body), body


def check_content(message: DiscordMessage) -> None:
    content = message.content
    code = re.fullmatch(r"(⚠️\n)?```\n(.*)\n```", content, flags=re.DOTALL)
    if code:
        check_code_block(code.group(2))
        return
    first, _, rest = content.partition("\n")
    bold = re.fullmatch(r"\*\*(.+)\*\*", first)
    if bold and message.embeds:  # a digest: "**title**" then the "more" line
        check_markdown(bold.group(1))
        check_markdown(rest)
    else:
        check_markdown(content.removeprefix("⚠️ "))


def assert_safe(messages: list[DiscordMessage]) -> None:
    """No live mention, no markdown from article text, links only to safe http(s) URLs, anywhere."""
    for message in messages:
        check_content(message)
        for embed in message.embeds:
            data = embed.to_dict()
            check_markdown(data.get("title", ""))
            if "url" in data:
                assert re.fullmatch(r"https?://[\x21-\x7e]+", data["url"]) and not re.search(r"[()<>]", data["url"])
            description = data.get("description", "")
            for line in description.splitlines():
                if re.fullmatch(r"No stories in the last [0-9.]+ (h|min)\.", line):
                    continue
                if re.fullmatch(r"<https?://[\x21-\x7e]+>", line) and not re.search(r"[()<>]", line[1:-1]):
                    continue  # a template's "url" link style: the safe URL on a line of its own
                if line.startswith("> “"):  # our block quote: “quote” — speaker
                    check_markdown(line[3:])
                else:
                    assert line.startswith("• "), line
                    check_markdown(line[2:])
            for field in data.get("fields", ()):
                check_markdown(field["name"])
                check_markdown(field["value"], links=True)
            assert not MENTION.search(data.get("footer", {}).get("text", ""))


def assert_within_limits(messages: list[DiscordMessage]) -> None:
    """Every documented limit, counted both in code points and in UTF-16 code units."""
    assert messages
    for message in messages:
        assert isinstance(message, DiscordMessage)
        assert message.content and utf16(message.content) <= MAX_CONTENT
        assert len(message.embeds) <= MAX_EMBEDS
        totals = [0, 0]
        for embed in message.embeds:
            assert isinstance(embed, discord.Embed)
            data = embed.to_dict()
            texts: list[tuple[str, int]] = []
            if "title" in data:
                texts.append((data["title"], MAX_TITLE))
            if "description" in data:
                texts.append((data["description"], MAX_DESCRIPTION))
            assert len(data.get("fields", ())) <= MAX_FIELDS
            for field in data.get("fields", ()):
                texts += [(field["name"], MAX_FIELD_NAME), (field["value"], MAX_FIELD_VALUE)]
            if "footer" in data:
                texts.append((data["footer"]["text"], MAX_FOOTER_TEXT))
            if "author" in data:
                texts.append((data["author"]["name"], MAX_AUTHOR_NAME))
            assert texts
            for text, limit in texts:
                assert text and utf16(text) <= limit, (limit, text)
                totals[0] += len(text)
                totals[1] += utf16(text)
            assert embed_size(embed) == sum(utf16(t) for t, _ in texts)
            if "url" in data:
                assert len(data["url"]) <= MAX_LINK_URL
        assert max(totals) <= MAX_TOTAL_EMBED_CHARS


def embeds(messages: list[DiscordMessage]) -> list[dict[str, Any]]:
    return [dict(e.to_dict()) for m in messages for e in m.embeds]


def story_numbers(messages: list[DiscordMessage]) -> list[int]:
    return [int(m.group(1)) for e in embeds(messages) if (m := re.match(r"(\d+)\. ", e.get("title", "")))]


def briefing(*stories: StoryBrief, more: int = 0) -> Briefing:
    return Briefing(query="q", generated_at=NOW, stories=stories, more=more, window_hours=24)


# ------------------------------------------------------------------------------------------------- escaping


def test_escape_neutralises_mentions_and_markdown() -> None:
    assert escape("@everyone and @here") == "@\u200beveryone and @\u200bhere"
    assert escape("<@123> <@&4> <#5>") == "\\<@123> \\<@&4> \\<#5>"
    assert escape("**b** __u__ ||s|| `c` ~~x~~") == "\\*\\*b\\*\\* \\_\\_u\\_\\_ \\|\\|s\\|\\| \\`c\\` \\~\\~x\\~\\~"
    assert escape("[a **b**](https://e.example)") == "\\[a \\*\\*b\\*\\*\\](https://e.example)"
    assert escape("\\<@1>") == "\\\\\\<@1>"  # the backslash is shown, the mention still escaped
    assert escape("> quote") == "\\> quote"
    assert escape("# Heading") == "\\# Heading"
    assert escape("plain text, 40% (ok).") == "plain text, 40% (ok)."
    for text in INJECTIONS:
        check_markdown(escape(text))


def test_fit_cuts_at_a_word_boundary_and_never_splits_an_escape() -> None:
    assert fit("alpha beta gamma", 100) == "alpha beta gamma"
    assert fit("alpha beta gamma", 12) == "alpha beta…"
    assert fit("x" * 20, 6) == "xxxxx…"
    assert fit("*" * 20, 7) == "\\*\\*\\*…"
    assert fit("😀" * 10, 5) == "😀😀…"  # UTF-16: 2 each
    assert fit("anything", 0) == ""
    for limit in range(1, 60):
        cut = fit(EVIL, limit)
        assert utf16(cut) <= limit
        check_markdown(cut)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a?x=1&y=2", "https://news.example/a?x=1&y=2"),
        ("HTTP://News.example:8080/a", "http://news.example:8080/a"),
        ('https://news.example/a b)c(d<e>f"g', "https://news.example/a%20b%29c%28d%3Ce%3Ef%22g"),
        (
            "https://news.example/x) [evil](https://evil.example",
            "https://news.example/x%29%20[evil]%28https://evil.example",
        ),
        ("https://news.example/q?a=<@123>#frag ment", "https://news.example/q?a=%3C%40123%3E#frag%20ment"),
        ("https://news.example/@everyone", "https://news.example/%40everyone"),
        ("  https://news.example/trimmed  ", "https://news.example/trimmed"),
        ("https://news.example/ünï", "https://news.example/%C3%BCn%C3%AF"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("javascript:alert(1)", None),
        ("ftp://news.example/file", None),
        ("mailto:someone@example.org", None),
        ("//news.example/no-scheme", None),
        ("http:///no-host", None),
        ("https://user@news.example/", None),
        ("https://evil.example\\@news.example/", None),
        ("https://[::1]:99999/", None),
        ("https://news.example/" + "a" * MAX_LINK_URL, None),
        ("", None),
    ],
)
def test_safe_url_only_passes_well_formed_http_urls(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_link_escapes_the_label_and_falls_back_to_plain_text() -> None:
    assert link("https://x.example/a(1)", "Gazette") == "[Gazette](https://x.example/a%281%29)"
    assert link("https://x.example/", "**Big** [News] <@1>") == "[\\*\\*Big\\*\\* (News) \\<@1>](https://x.example/)"
    assert link("javascript:alert(1)", "Gazette") == "Gazette"
    assert link("https://x.example/p", "") == "[x.example](https://x.example/p)"
    assert link("https://x.example/", "a\nb\tc") == "[a b c](https://x.example/)"
    assert link("https://x.example/long", "Gazette", limit=10) == "Gazette"  # no room for the URL
    assert link("https://x.example/", "x" * 500, label_limit=20) == f"[{'x' * 19}…](https://x.example/)"


# ------------------------------------------------------------------------------------------------- digests


def test_a_normal_digest_is_one_message_with_one_embed_per_story() -> None:
    [message] = digest_messages(BRIEFING, title="Digest: rail", ref=REF)

    assert message.content == "**Digest: rail**"
    [embed] = message.embeds
    assert embed.to_dict() == {
        "type": "rich",
        "flags": 0,
        "title": "1. Kestrel Bay rail line to reopen after landslide repairs",
        "url": "https://gazette.example/rail?id=1&page=2",
        "description": "• The coastal railway reopens on Saturday.\n• Crews removed 40,000 tonnes of rock.\n"
        "> “We have rebuilt this line to be safer” — Maren Holt",
        "fields": [
            {
                "name": "2 outlets",
                "value": "[harbour-gazette](https://gazette.example/rail?id=1&page=2), "
                "[valley-courier](https://courier.example/rail)",
                "inline": False,
            }
        ],
        "timestamp": "2024-05-01T05:00:00+00:00",
        "color": embed.to_dict()["color"],
        "footer": {"text": f"newsbrief · {REF} · first seen"},
    }
    assert embed_ref(embed) == REF
    assert_within_limits([message])
    assert_safe([message])


def test_without_ref_the_footer_just_labels_the_first_seen_timestamp() -> None:
    naive = story(1, first_seen=datetime(2024, 5, 1, 6, 30))  # naive: taken as UTC, not local time
    [message] = digest_messages(briefing(naive), title="t")
    [embed] = message.embeds
    assert embed.footer.text == "First seen"
    assert embed.timestamp == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    assert embed_ref(embed) is None
    assert embed.to_dict()["fields"][0]["name"] == "1 outlet"


def test_each_story_says_how_many_outlets_reported_it() -> None:
    two = (SourceLink("a", "https://a.example/1", NOW), SourceLink("b", "https://b.example/1", NOW))
    stories = (story(1), story(2, sources=two, outlets=6), story(3, sources=(), outlets=4))
    [message] = digest_messages(briefing(*stories), title="t")
    fields = [e.to_dict().get("fields", []) for e in message.embeds]

    assert fields[0] == [{"name": "1 outlet", "value": "[outlet-1](https://news.example/1)", "inline": False}]
    assert fields[1] == [
        {"name": "6 outlets", "value": "[a](https://a.example/1), [b](https://b.example/1) and 4 more", "inline": False}
    ]
    assert fields[2] == []  # nothing to link: no outlets field
    assert_within_limits([message])
    assert_safe([message])


def test_a_follow_up_names_the_earlier_story_in_a_field() -> None:
    [message] = digest_messages(briefing(story(1, follows="Talks @everyone **open**"), story(2)), title="t")
    first, second = (e.to_dict().get("fields", []) for e in message.embeds)
    assert first[0] == {"name": "Follow-up of", "value": "Talks @\u200beveryone \\*\\*open\\*\\*", "inline": False}
    assert first[1]["name"] == "1 outlet" and [f["name"] for f in second] == ["1 outlet"]
    assert_within_limits([message])
    assert_safe([message])


def test_the_more_line_comes_with_the_last_message() -> None:
    [one] = digest_messages(briefing(story(1), more=1), title="Digest")
    assert one.content == "**Digest**\n…and 1 more story"
    [many] = digest_messages(briefing(story(1), more=7), title="Digest")
    assert many.content == "**Digest**\n…and 7 more stories"

    split = digest_messages(briefing(*(story(n) for n in range(1, 13)), more=3), title="Digest")
    assert [m.content for m in split] == ["**Digest (1/2)**", "**Digest (2/2)**\n…and 3 more stories"]


def test_an_empty_briefing_still_carries_the_ref() -> None:
    [message] = digest_messages(briefing(more=2), title="Digest", ref=REF)
    assert message.content == "**Digest**\n…and 2 more stories"
    [embed] = message.embeds
    assert embed.description == "No stories in the last 24 h."
    assert embed_ref(embed) == REF
    assert_within_limits([message])


@pytest.mark.parametrize("ref", ["", "two\nlines", "x" * (MAX_REF + 1)])
def test_a_bad_ref_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="digest reference"):
        digest_messages(BRIEFING, title="t", ref=ref)


def test_huge_digests_split_within_every_limit_and_keep_every_story_once() -> None:
    long_sentence = "Word " * 1000  # 5,000 characters
    stories = [
        story(
            n,
            headline=("Long headline " * 40)[:500] + f" {n}",
            sentences=(long_sentence, f"Short sentence {n}.", long_sentence),
            quote=QuoteRef(text="Quoted words " * 400, speaker="Speaker " * 40),
            sources=tuple(
                SourceLink(f"Outlet {n}-{k} " * 5, f"https://news.example/{n}/{k}?" + "p=1&" * 20, NOW)
                for k in range(30)
            ),
        )
        for n in range(1, 41)
    ]
    b = briefing(*stories, more=5)
    messages = digest_messages(b, title="Title " * 200, ref=REF)

    assert len(messages) > 1
    assert_within_limits(messages)
    assert_safe(messages)
    assert story_numbers(messages) == list(range(1, 41))
    assert all(embed_ref(e) == REF for m in messages for e in m.embeds)
    assert all(REF in (e.footer.text or "") for m in messages for e in m.embeds)  # the adapter's own check
    assert [m.content.endswith(f"({i}/{len(messages)})**") for i, m in enumerate(messages, 1)][:-1] == [True] * (
        len(messages) - 1
    )
    assert messages[-1].content.endswith("\n…and 5 more stories")
    for e in embeds(messages):
        assert e["title"].endswith("…")
        assert e["fields"][0]["value"].endswith(f"and {30 - MAX_SOURCES} more")
        assert e["fields"][0]["value"].count("](https://") == MAX_SOURCES


def test_sources_with_huge_urls_are_linked_whole_or_counted() -> None:
    url = "https://news.example/" + "a" * 900
    sources = tuple(SourceLink(f"Outlet {k}", f"{url}{k}", NOW) for k in range(8))
    [message] = digest_messages(briefing(story(1, sources=sources)), title="t")
    value = embeds([message])[0]["fields"][0]["value"]
    assert value == f"[Outlet 0]({url}0) and 7 more"
    longest = "https://news.example/" + "b" * (MAX_LINK_URL - 21)
    [message] = digest_messages(briefing(story(1, sources=(SourceLink("Outlet " * 20, longest, NOW),) * 2)), title="t")
    value = embeds([message])[0]["fields"][0]["value"]
    assert value.startswith("[Outlet") and value.endswith(f"…]({longest}) and 1 more")
    assert_within_limits([message])


def test_forty_small_stories_split_by_the_ten_embed_limit() -> None:
    messages = digest_messages(briefing(*(story(n) for n in range(1, 41))), title="Digest", ref=REF)
    assert [len(m.embeds) for m in messages] == [MAX_EMBEDS] * 4
    assert story_numbers(messages) == list(range(1, 41))
    assert_within_limits(messages)


def test_a_story_without_usable_sources_or_text_is_still_shown() -> None:
    unusable = (SourceLink("Feed", "javascript:alert(1)", None), SourceLink("", "not a url", None))
    bare = story(1, headline="", sentences=("", "  "), quote=QuoteRef("", "Nobody"), sources=unusable)
    [message] = digest_messages(briefing(bare, story(2, sources=())), title="")
    first, second = embeds([message])
    assert first["title"] == "1. (untitled)"
    assert "url" not in first and "description" not in first
    assert first["fields"][0]["value"] == "Feed, source"
    assert "fields" not in second
    assert message.content == "**Briefing**"
    assert_within_limits([message])


def test_every_injection_is_neutralised_in_every_field() -> None:
    sources = (
        SourceLink(f"Outlet {EVIL}", "https://ok.example/a) [x](https://evil.example", NOW),
        SourceLink(EVIL, "javascript:alert('@everyone')", None),
        SourceLink("", "https://ok.example/b?<@123>", None),
    )
    bad = hostile_story(EVIL, sources, first=f"First {EVIL}")
    b = Briefing(query=f"q {EVIL}", generated_at=NOW, stories=(bad,), more=3, window_hours=24, topic=f"t {EVIL}")
    for messages in (
        digest_messages(b, title=f"Digest {EVIL}", ref=REF),
        reply_messages(Reply(kind="briefing", text=EVIL, briefing=b)),
        reply_messages(Reply(kind="briefing", text=EVIL, briefing=NoMatch(EVIL, 72, (EVIL,)))),
        reply_messages(Reply(kind="text", text=f"line {EVIL}\n  indented {EVIL}")),
        reply_messages(Reply(kind="text", text=f"one line {EVIL}\nanother {EVIL}")),
        reply_messages(Reply(kind="error", text=f"error {EVIL}")),
        reply_messages(Reply(kind="error", text=f"error {EVIL}\n  indented {EVIL}")),
    ):
        assert_within_limits(messages)
        assert_safe(messages)
    [digest] = digest_messages(b, title="t")
    [embed] = digest.embeds
    assert embed.url == "https://ok.example/a%29%20[x]%28https://evil.example"
    assert embed.description is not None and embed.description.count("\n") == 3  # 3 bullets, 1 quote line


def test_briefing_replies_are_digests_without_ref() -> None:
    messages = reply_messages(Reply(kind="briefing", text="1 story", briefing=BRIEFING))
    assert messages[0].content == f"**{escape(briefing_title(BRIEFING))}**"
    assert briefing_title(BRIEFING) == "Briefing: rail (topic) — 1 story, last 72 h"
    assert all(embed_ref(e) is None for m in messages for e in m.embeds)
    titled = reply_messages(Reply(kind="briefing", text="", briefing=BRIEFING), title="Custom")
    assert titled[0].content == "**Custom**"


# ------------------------------------------------------------------------------------------------- replies


def test_no_match_is_its_helpful_text() -> None:
    [message] = reply_messages(Reply(kind="briefing", text="", briefing=NoMatch("rail_way", 72, ("rail",))))
    assert message.embeds == ()
    assert message.content == "Nothing found for “rail\\_way” in the last 72 h. Try a topic: rail (or other words)."


def test_plain_text_is_escaped_content_and_usage_is_a_code_block() -> None:
    [plain] = reply_messages(Reply(kind="text", text="Subscribed #news to climate_change."))
    assert plain == DiscordMessage(content="Subscribed #news to climate\\_change.")

    [usage] = reply_messages(Reply(kind="text", text=USAGE))
    assert usage.content == f"```\n{USAGE}\n```"

    [error] = reply_messages(Reply(kind="error", text="Unknown topic *x*."))
    assert error.content == "⚠️ Unknown topic \\*x\\*."
    [usage_error] = reply_messages(Reply(kind="error", text=f"No topic given.\n\n{USAGE}"))
    assert usage_error.content == f"⚠️\n```\nNo topic given.\n\n{USAGE}\n```"

    [blank] = text_messages("  \n ")
    assert blank.content == "…"


def test_long_text_splits_under_2000_characters_and_is_capped() -> None:
    lines = [f"  line {i} " + "x" * 80 for i in range(60)]
    messages = text_messages("Header\n" + "\n".join(lines))
    assert len(messages) > 1
    assert_within_limits(messages)
    body = "".join(m.content.removeprefix("```\n").removesuffix("\n```") + "\n" for m in messages)
    assert body.splitlines() == ["Header", *lines]

    huge = text_messages("\n".join("y" * 1500 for _ in range(40)))
    assert len(huge) == MAX_TEXT_MESSAGES
    assert huge[-1].content == "…"
    assert_within_limits(huge)

    [one] = text_messages("z" * 5000)
    assert utf16(one.content) == MAX_CONTENT and one.content.endswith("…")


def test_send_kwargs_never_allow_mentions() -> None:
    [message] = digest_messages(BRIEFING, title="t")
    kwargs = message.send_kwargs()
    assert kwargs["content"] == "**t**"
    assert kwargs["embeds"] == list(message.embeds)
    mentions = kwargs["allowed_mentions"]
    assert isinstance(mentions, discord.AllowedMentions)
    assert dict(mentions.to_dict()) == {"parse": []}
    assert "embeds" not in text_messages("hi")[0].send_kwargs()


# ------------------------------------------------------------------------------------------------- invite


def test_invite_url_asks_for_exactly_the_needed_permissions_and_scopes() -> None:
    bits = {
        "view_channel": 10,
        "send_messages": 11,
        "embed_links": 14,
        "read_message_history": 16,
        "create_public_threads": 35,
        "send_messages_in_threads": 38,
    }
    assert set(PERMISSION_REASONS) == set(bits)
    assert sum(1 << b for b in bits.values()) == REQUIRED_PERMISSIONS == 309237730304
    permissions = discord.Permissions(REQUIRED_PERMISSIONS)
    assert all(getattr(permissions, name) for name in bits)
    assert not permissions.administrator and not permissions.manage_channels and not permissions.mention_everyone

    url = invite_url(1234567890)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    query = parse_qs(parts.query)
    assert query["client_id"] == ["1234567890"]
    assert query["scope"] == ["bot applications.commands"]
    assert query["permissions"] == [str(REQUIRED_PERMISSIONS)]
    assert invite_url("42").startswith("https://discord.com/oauth2/authorize?client_id=42&")


# ------------------------------------------------------------------------------------------------- properties

_CHARS = st.one_of(st.sampled_from("@<>*_|()[]`~\\#-: \n"), st.characters())
_TOKENS = st.lists(
    st.sampled_from(["@everyone", "@here", "<@1>", "<#2>", "<@&3>", "**", "||", "https://", "x"]), max_size=8
).map(" ".join)
_TEXT = st.one_of(st.text(_CHARS, max_size=40), _TOKENS)
_LONG = st.builds(lambda t, k: t * k, st.one_of(st.text(_CHARS, max_size=200), _TOKENS), st.integers(1, 30))
_STORY = story_strategy(
    _TEXT, _LONG, quote_text=st.one_of(_TEXT, _LONG), odd_urls=["javascript:alert(1)", "https://news.example/a)(<>", ""]
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(stories=st.lists(_STORY, max_size=16), more=st.integers(0, 3), title=st.one_of(_TEXT, _LONG), query=_TEXT)
def test_random_briefings_stay_within_limits_and_never_inject(
    stories: list[StoryBrief], more: int, title: str, query: str
) -> None:
    b = Briefing(query=query, generated_at=NOW, stories=tuple(stories), more=more, window_hours=72, topic=query)
    digest = digest_messages(b, title=title, ref=REF)
    reply = reply_messages(Reply(kind="briefing", text="", briefing=b))
    for messages in (digest, reply):
        assert_within_limits(messages)
        assert_safe(messages)
        assert story_numbers(messages) == list(range(1, len(stories) + 1))
    assert all(embed_ref(e) == REF for m in digest for e in m.embeds)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(text=st.one_of(_TEXT, _LONG), kind=st.sampled_from(["text", "error"]))
def test_random_text_replies_stay_within_limits_and_never_inject(text: str, kind: str) -> None:
    messages = reply_messages(Reply(kind="error" if kind == "error" else "text", text=text))
    assert_within_limits(messages)
    assert_safe(messages)


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


@settings(max_examples=60, deadline=None, derandomize=True)
@given(stories=st.lists(_STORY, max_size=16), more=st.integers(0, 3), template=_TEMPLATE)
def test_random_briefings_under_any_template_stay_within_limits_and_never_inject(
    stories: list[StoryBrief], more: int, template: Template
) -> None:
    b = Briefing(query="q", generated_at=NOW, stories=tuple(stories), more=more, window_hours=72, template=template)

    messages = digest_messages(b, title="digest", ref=REF)

    assert_within_limits(messages)
    assert_safe(messages)
    assert [int(e["title"].split(".")[0]) for e in embeds(messages) if "title" in e] == list(range(1, len(stories) + 1))
    assert all(embed_ref(e) == REF for m in messages for e in m.embeds)  # found again whatever the template


def test_the_headlines_template_shows_the_linked_headline_only() -> None:
    [message] = digest_messages(dataclasses.replace(BRIEFING, template=HEADLINES), title="rail", ref=REF)

    [embed] = embeds([message])
    assert embed["title"] == "1. Kestrel Bay rail line to reopen after landslide repairs"
    assert embed["url"] == "https://gazette.example/rail?id=1&page=2"
    assert "description" not in embed and "fields" not in embed and "timestamp" not in embed
    assert embed["footer"]["text"] == f"newsbrief · {REF} · first seen"


def test_the_compact_template_shows_one_sentence_and_the_sources() -> None:
    [message] = digest_messages(dataclasses.replace(BRIEFING, template=COMPACT), title="rail", ref=REF)

    [embed] = embeds([message])
    assert embed["description"] == "• The coastal railway reopens on Saturday."
    assert [f["name"] for f in embed["fields"]] == ["2 outlets"]


def test_the_url_link_style_heads_the_description_and_leaves_the_title_unlinked() -> None:
    template = Template(name="mine", sentences=1, quote=False, sources=False, link="url")

    [message] = digest_messages(dataclasses.replace(BRIEFING, template=template), title="rail", ref=REF)

    [embed] = embeds([message])
    assert "url" not in embed
    assert (
        embed["description"] == "<https://gazette.example/rail?id=1&page=2>\n• The coastal railway reopens on Saturday."
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    headline=st.one_of(_TEXT, _LONG),
    outlet=_TEXT,
    url=st.one_of(_TEXT, st.builds(lambda t: "https://x.example/" + t, _TEXT)),
)
def test_an_item_is_one_safe_line_within_limits(headline: str, outlet: str, url: str) -> None:
    message = item_message(Item("a_1", headline, url, outlet, None, NOW))

    assert_within_limits([message])
    assert not message.embeds
    assert message.content.startswith("• ")
    check_markdown(message.content[2:], links=True)


def test_an_item_links_its_headline_and_names_the_outlet() -> None:
    message = item_message(Item("a_1", "Release 2.1 @everyone", "https://status.example/r/2.1", "Status", None, NOW))

    assert message.content == "• [Release 2.1 @\u200beveryone](https://status.example/r/2.1) — Status"
