"""OPML, the feed list every feed reader exports and imports: read (:func:`parse_opml`) and write (:func:`write_opml`).

Pure: bytes in, feeds out, and feeds in, text out (no network, disk or clock). Reading uses the standard
library's expat parser with the safety of defusedxml: a document that declares XML entities is refused when the
parser meets the declaration, before anything could be expanded, and external entities and DTDs are never
loaded. Every problem names the line it is on (:class:`OpmlError`).

Mapping: an ``<outline>`` with an ``xmlUrl`` is a feed, named by its ``title`` (else its ``text``); an outline
without one that holds outlines is a folder. A feed's tags are its ``category`` attribute (comma-separated, each
``/a/b`` path giving ``a`` and ``b``) and the folders it is in, as slugs: lower case, spaces as ``-``
("Tech News" -> ``tech-news``: a tag is one word in ``sources=tag:...``). Written OPML is 2.0, one flat list,
the tags as ``category``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from bot.store import Feed

__all__ = ["MAX_OPML_BYTES", "OpmlError", "OpmlFeed", "parse_opml", "tag_slug", "write_opml"]

MAX_OPML_BYTES = 10_000_000
"""The largest OPML document read (a list of 10,000 feeds is about 2 MB)."""


class OpmlError(ValueError):
    """An OPML document that cannot be imported; ``line`` is where (``None``: the document as a whole)."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(f"line {line}: {problem}" if line is not None else problem)
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline: its ``xmlUrl``, name, tags (:func:`tag_slug` of its categories and folders) and line."""

    url: str
    name: str | None
    tags: tuple[str, ...]
    line: int


@dataclass
class _Node:
    name: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)


def tag_slug(text: str) -> str:
    """A tag from a folder or category name: trimmed, lower case, each run of spaces, commas or slashes one ``-``."""
    return re.sub(r"[\s,/]+", "-", text.strip()).lower()


def _tree(data: bytes) -> _Node:
    """The element tree of ``data`` with the line of each element; :class:`OpmlError` for a document that is not
    well-formed XML or that declares entities."""
    parser = expat.ParserCreate()
    root = _Node("", {}, 0)
    stack = [root]

    def start(name: str, attrs: dict[str, str]) -> None:
        node = _Node(name, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(_name: str) -> None:
        stack.pop()

    def entity(*_args: Any) -> None:
        raise OpmlError(
            parser.CurrentLineNumber, "refused: the document declares XML entities (entity expansion is not allowed)"
        )

    def external(*_args: Any) -> int:
        raise OpmlError(parser.CurrentLineNumber, "refused: the document refers to an external entity")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        problem = f"not well-formed XML ({expat.ErrorString(exc.code)}, column {exc.offset + 1})"
        raise OpmlError(exc.lineno, problem) from None
    if not root.children:
        raise OpmlError(None, "not an XML document")
    return root.children[0]


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order (the same URL may appear more than once: in several
    folders). :class:`OpmlError` naming the line for anything that cannot be imported: not XML, entity
    declarations, a root other than ``<opml>``, no ``<body>``, an outline that has neither an ``xmlUrl`` nor
    outlines inside it."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(None, f"{len(data):,} bytes: larger than the {MAX_OPML_BYTES:,} an OPML file may have")
    root = _tree(data)
    if root.name != "opml":
        raise OpmlError(root.line, f"not an OPML document: the root element is <{root.name}>, not <opml>")
    body = next((child for child in root.children if child.name == "body"), None)
    if body is None:
        raise OpmlError(root.line, "no <body> element: an OPML document lists its feeds in <body>")
    feeds: list[OpmlFeed] = []
    _walk(body, (), feeds)
    return feeds


def _walk(parent: _Node, folders: tuple[str, ...], feeds: list[OpmlFeed]) -> None:
    for node in parent.children:
        if node.name != "outline":
            continue  # OPML allows nothing else in <body> and <outline>; other elements carry no feeds
        label = (node.attrs.get("title") or node.attrs.get("text") or "").strip()
        url = node.attrs.get("xmlUrl", "").strip()
        inner = [child for child in node.children if child.name == "outline"]
        if url:
            tags: list[str] = []
            for category in node.attrs.get("category", "").split(","):
                tags.extend(tag_slug(part) for part in category.split("/") if part.strip())
            tags.extend(folders)
            feeds.append(OpmlFeed(url=url, name=label or None, tags=tuple(dict.fromkeys(tags)), line=node.line))
        elif not inner:
            what = f"outline {label!r}" if label else "an outline"
            raise OpmlError(node.line, f"{what} has no xmlUrl (a feed needs one) and no outlines inside it")
        if inner:
            _walk(node, (*folders, tag_slug(label)) if label and not url else folders, feeds)


def write_opml(feeds: Iterable[Feed], *, title: str, created: datetime) -> str:
    """An OPML 2.0 document listing ``feeds`` (one ``type="rss"`` outline each: name as ``text`` and ``title``,
    URL as ``xmlUrl``, tags as a comma-separated ``category``), ``created`` as its ``dateCreated``."""
    opml = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(opml, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ElementTree.SubElement(opml, "body")
    for feed in feeds:
        name = feed.name or feed.url
        outline = ElementTree.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
        if feed.tags:
            outline.set("category", ",".join(feed.tags))
    ElementTree.indent(opml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(opml, encoding="unicode") + "\n"
