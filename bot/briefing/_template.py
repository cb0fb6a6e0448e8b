"""Message templates: which parts of a story a subscription's messages show (issue 16, "message templates").

Three built-in templates, and the user's own under ``[templates.NAME]`` in the config:

- ``full``: headline (linked), up to 3 sentences, the key quote, the sources and first sight (the default);
- ``compact``: headline (linked), 1 sentence and the sources;
- ``headlines``: the headline and its link only.

A user template starts from ``full`` (or from the template named by ``base``) and changes the keys it gives::

    [templates.terse]
    base = "compact"        # full | compact | headlines (default full)
    headline = true         # show the headline
    sentences = 2           # 0..4
    quote = false           # the key quote
    sources = true          # the outlets, linked
    first_seen = false      # when the story was first seen
    link = "headline"       # headline: the headline is the link | url: the URL on a line of its own | none

:func:`parse_templates` validates the ``[templates]`` table (one-line :class:`TemplateError` naming the file and the
key); the config calls it at load (:attr:`bot.config.Settings.templates`). Renderers take the :class:`Template` a
briefing carries (:attr:`bot.briefing.Briefing.template`) and stay within their platform's limits whatever it says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = [
    "BUILTIN_TEMPLATES",
    "COMPACT",
    "FULL",
    "HEADLINES",
    "LINK_STYLES",
    "MAX_SENTENCES",
    "Template",
    "TemplateError",
    "parse_templates",
    "resolve_template",
    "template_names",
]

LinkStyle = Literal["headline", "url", "none"]
LINK_STYLES: tuple[LinkStyle, ...] = ("headline", "url", "none")
"""How a story links to its newest source: the headline is the link, the URL on a line of its own, or no link."""
MAX_SENTENCES = 4
"""The most sentences a template may show (a story brief has at most this many)."""


class TemplateError(ValueError):
    """A ``[templates]`` entry that is not valid; ``str(error)`` is one line naming the file and the key."""


@dataclass(frozen=True, slots=True)
class Template:
    """What each story of a message shows. ``sentences``: at most this many (0..:data:`MAX_SENTENCES`)."""

    name: str = "full"
    headline: bool = True
    sentences: int = 3
    quote: bool = True
    sources: bool = True
    first_seen: bool = True
    link: LinkStyle = "headline"


FULL = Template()
"""Today's rendering: headline, sentences, quote, sources, first sight."""
COMPACT = Template(name="compact", sentences=1, quote=False, first_seen=False)
"""Headline, one sentence and the sources."""
HEADLINES = Template(name="headlines", sentences=0, quote=False, sources=False, first_seen=False)
"""The headline and its link only."""
BUILTIN_TEMPLATES: Mapping[str, Template] = {t.name: t for t in (FULL, COMPACT, HEADLINES)}
"""The templates every deployment has, by name."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_BOOLS = ("headline", "quote", "sources", "first_seen")
_KEYS = frozenset({"base", "sentences", "link", *_BOOLS})


def _check_name(name: object) -> str | None:
    """Why ``name`` is not a template name (``None``: it is one)."""
    if not isinstance(name, str) or not _NAME.match(name):
        return "a template name is 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit"
    return None


def _template(name: str, table: Mapping[str, Any], fail: Any) -> Template:
    for key in table:
        if key not in _KEYS:
            fail(key, f"unknown key (known keys: {', '.join(sorted(_KEYS))})")
    base_name = table.get("base", "full")
    if base_name not in BUILTIN_TEMPLATES:
        fail("base", f"expected one of {', '.join(BUILTIN_TEMPLATES)}, got {base_name!r}")
    values: dict[str, Any] = {}
    for key in _BOOLS:
        if key in table:
            if not isinstance(table[key], bool):
                fail(key, f"expected true or false, got {table[key]!r}")
            values[key] = table[key]
    if "sentences" in table:
        count = table["sentences"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SENTENCES:
            fail("sentences", f"expected a whole number from 0 to {MAX_SENTENCES}, got {count!r}")
        values["sentences"] = count
    if "link" in table:
        if table["link"] not in LINK_STYLES:
            fail("link", f"expected one of {', '.join(LINK_STYLES)}, got {table['link']!r}")
        values["link"] = table["link"]
    template = replace(BUILTIN_TEMPLATES[base_name], name=name, **values)
    if not template.headline and template.sentences == 0:
        fail("headline", "a template without the headline needs sentences (1 or more), or it shows nothing")
    return template


def parse_templates(table: object, *, where: str = "<config>") -> dict[str, Template]:
    """The user templates of the config's ``[templates]`` table (``where``: the config file, for errors), by name.

    Each ``[templates.NAME]`` is checked: a valid name that is not a built-in one, known keys only, booleans for
    ``headline``/``quote``/``sources``/``first_seen``, ``sentences`` 0..4, ``link`` one of :data:`LINK_STYLES`,
    ``base`` a built-in template; :class:`TemplateError` (``"FILE: templates.NAME.KEY: problem"``) otherwise."""
    if not isinstance(table, Mapping):
        raise TemplateError(f"{where}: templates: expected a table ([templates.NAME]), got {type(table).__name__}")
    found: dict[str, Template] = {}
    for name, entry in table.items():
        problem = _check_name(name)
        if problem is not None:
            raise TemplateError(f"{where}: templates.{name}: {problem}")
        if name in BUILTIN_TEMPLATES:
            raise TemplateError(f"{where}: templates.{name}: {name!r} is a built-in template; give yours another name")
        if not isinstance(entry, Mapping):
            raise TemplateError(f"{where}: templates.{name}: expected a table, got {type(entry).__name__}")

        def fail(key: str, problem: str, name: str = name) -> None:
            raise TemplateError(f"{where}: templates.{name}.{key}: {problem}")

        found[name] = _template(name, entry, fail)
    return found


def template_names(user: Mapping[str, Template]) -> list[str]:
    """The names a subscription may use: the built-in ones, then the user's (sorted)."""
    return [*BUILTIN_TEMPLATES, *sorted(n for n in user if n not in BUILTIN_TEMPLATES)]


def resolve_template(name: str | None, user: Mapping[str, Template]) -> Template | None:
    """The template called ``name`` (``None``: :data:`FULL`), built-in or the user's; ``None`` when there is none."""
    if name is None:
        return FULL
    key = name.strip().lower()
    return BUILTIN_TEMPLATES.get(key) or user.get(key)
