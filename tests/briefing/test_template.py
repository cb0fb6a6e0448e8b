"""Message templates: the [templates] table's validation, resolving names, and the plain-text rendering."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.briefing import (
    COMPACT,
    FULL,
    HEADLINES,
    Briefing,
    QuoteRef,
    SourceLink,
    StoryBrief,
    Template,
    TemplateError,
    format_briefing,
    parse_templates,
    resolve_template,
    template_names,
)

AT = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
STORY = StoryBrief(
    headline="Rail line reopens",
    sentences=("The line reopens on Saturday.", "Crews removed rock.", "Trains run hourly."),
    quote=QuoteRef(text="It is safer now", speaker="Maren Holt"),
    sources=(
        SourceLink("gazette", "https://gazette.example/rail", AT),
        SourceLink("courier", "https://c.example/r", None),
    ),
    first_seen=AT,
    story_id="s1",
)
BRIEFING = Briefing(query="rail", generated_at=AT, stories=(STORY,), more=0, window_hours=24, topic="rail")


def test_user_templates_start_from_full_or_their_base() -> None:
    found = parse_templates(
        {
            "terse": {"base": "compact", "sources": False, "link": "url"},
            "long_4": {"sentences": 4, "quote": False},
        }
    )

    assert found == {
        "terse": Template(name="terse", sentences=1, quote=False, sources=False, first_seen=False, link="url"),
        "long_4": Template(name="long_4", sentences=4, quote=False),
    }
    assert template_names(found) == ["full", "compact", "headlines", "long_4", "terse"]
    assert resolve_template(None, found) is FULL
    assert resolve_template("Compact", found) is COMPACT
    assert resolve_template("terse", found) == found["terse"]
    assert resolve_template("fancy", found) is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"t": {"sentences": 5}}, "f.toml: templates.t.sentences: expected a whole number from 0 to 4, got 5"),
        ({"t": {"sentences": True}}, "templates.t.sentences: expected a whole number from 0 to 4, got True"),
        ({"t": {"quote": "yes"}}, "f.toml: templates.t.quote: expected true or false, got 'yes'"),
        ({"t": {"link": "button"}}, "templates.t.link: expected one of headline, url, none, got 'button'"),
        ({"t": {"base": "fancy"}}, "templates.t.base: expected one of full, compact, headlines, got 'fancy'"),
        ({"t": {"colour": "red"}}, "templates.t.colour: unknown key (known keys: base, first_seen, headline"),
        ({"t": {"headline": False, "sentences": 0}}, "templates.t.headline: a template without the headline needs"),
        ({"compact": {"sentences": 2}}, "f.toml: templates.compact: 'compact' is a built-in template"),
        ({"Bad Name": {}}, "f.toml: templates.Bad Name: a template name is 1-32 lower-case letters"),
        ({"t": "compact"}, "f.toml: templates.t: expected a table, got str"),
    ],
)
def test_bad_templates_are_one_line_errors_naming_the_file_and_key(table: dict[str, object], problem: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_templates(table, where="f.toml")

    assert problem in str(info.value)
    assert str(info.value).startswith("f.toml: templates")
    assert "\n" not in str(info.value)


def test_the_plain_text_rendering_shows_only_the_templates_parts() -> None:
    full = format_briefing(BRIEFING).splitlines()
    compact = format_briefing(dataclasses.replace(BRIEFING, template=COMPACT)).splitlines()
    headlines = format_briefing(dataclasses.replace(BRIEFING, template=HEADLINES)).splitlines()
    url_style = Template(name="u", sentences=0, quote=False, sources=False, first_seen=False, link="url")

    assert full[2:] == [
        "1. Rail line reopens",
        "   - The line reopens on Saturday.",
        "   - Crews removed rock.",
        "   - Trains run hourly.",
        "   “It is safer now” — Maren Holt",
        "   2 outlets:",
        "   gazette: https://gazette.example/rail (2024-05-01 08:00 UTC)",
        "   courier: https://c.example/r (undated)",
        "   first seen 2024-05-01 08:00 UTC",
    ]
    assert compact[2:] == [
        "1. Rail line reopens",
        "   - The line reopens on Saturday.",
        "   2 outlets:",
        "   gazette: https://gazette.example/rail (2024-05-01 08:00 UTC)",
        "   courier: https://c.example/r (undated)",
    ]
    assert headlines[2:] == ["1. Rail line reopens <https://gazette.example/rail>"]
    assert format_briefing(dataclasses.replace(BRIEFING, template=url_style)).splitlines()[2:] == [
        "1. Rail line reopens",
        "   https://gazette.example/rail",
    ]
