"""Article pages: main text and metadata with trafilatura, then a general news-boilerplate filter."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from typing import Any

import lxml.html  # type: ignore[import-untyped]
import trafilatura
from lxml import etree
from trafilatura.utils import decode_file, repair_faulty_html

log = logging.getLogger(__name__)

# When trafilatura finds less main text than this, the page's schema.org ``articleBody`` (if longer) is used.
MIN_TEXT_CHARS = 500
# Boilerplate rules only ever remove short paragraphs: a real paragraph that mentions a newsletter stays.
_MAX_BOILERPLATE_WORDS = 40

# Paragraph-level patterns that hold for news sites in general: reader feedback prompts, newsletter and
# subscription pitches, social "follow/share" calls, cross-links, trust-principle and copyright footers,
# advertising labels. Matched case-insensitively against a whole (short) paragraph.
_BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # feedback prompts
        r"^(was|is|did you find) this (article|story|page|information) (helpful|useful)",
        r"\bwe (want|would love|'d love|’d love) to hear (what you think|from you)",
        r"\b(tell|let) us what you think\b",
        r"\bsubmit a letter to the editor\b",
        r"^(have|got) (a|any) (news )?tips?\b.*\b(contact|email|reach)\b",
        r"^(send|share) (us )?(your )?(feedback|comments?)\b",
        # newsletters, subscriptions, registration
        r"\b(sign up|signup|subscribe|register)\b.{0,60}\b(newsletter|briefing|inbox|updates|alerts)\b",
        r"\b(newsletter|briefing)\b.{0,60}\b(sign up|subscribe|inbox)\b",
        r"\bdelivered (straight |directly )?to your inbox\b",
        r"\benter your email( address)?\b",
        r"^subscribe (now|today|to|for)\b",
        r"\bby (registering|signing up|subscribing), you agree\b",
        r"\bsupport (our|independent) journalism\b",
        # trust principles and editorial standards footers
        r"^our standards\s*:",
        r"\btrust principles\b",
        # social and sharing prompts
        r"^follow (us|@?\w+ on)\b",
        r"^(share|share this|share on|share via)\b.{0,40}$",
        r"^(click|tap) (here|to) (to )?(share|subscribe|sign up|read more|follow)",
        # cross-links
        r"^(read more|more on this|related|see also|also read|read next|recommended|most read|most popular)\b"
        r"\s*[:.…-]?.{0,120}$",
        # legal footers
        r"^(©|\(c\)|copyright\b)",
        r"\ball rights reserved\b",
        # advertising labels
        r"^(advertisement|sponsored( content)?|paid content|story continues (below|after) (the )?advert\w*)$",
    )
]


@dataclass
class ExtractedPage:
    """The main content of an article page. ``date`` is the publication date (ISO ``YYYY-MM-DD``); ``updated``
    the last-modified date the page declares, when it declares one; ``site_name`` the site's own name
    (``og:site_name``, else ``application-name``), when the page gives one."""

    title: str | None
    author: str | None
    date: str | None
    text: str
    updated: str | None = None
    site_name: str | None = None


def is_boilerplate(paragraph: str) -> bool:
    """True when ``paragraph`` is a generic news-site prompt or footer rather than article text."""
    text = " ".join(paragraph.split()).strip(" -–—•*|")
    if not text or len(text.split()) > _MAX_BOILERPLATE_WORDS:
        return False
    return any(rule.search(text) for rule in _BOILERPLATE)


def clean_text(text: str) -> str:
    """Drop boilerplate paragraphs (one per line) and collapse blank lines."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip() and not is_boilerplate(line)]
    return "\n".join(kept)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _walk_json(data: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            found.append(item)
            stack.extend(v for v in item.values() if isinstance(v, (list, dict)))
    return found


class _PageMeta:
    """Headline and date hints read from the page before trafilatura rewrites the tree."""

    def __init__(self, root: lxml.html.HtmlElement) -> None:
        self.headlines: list[str] = []
        self.article_bodies: list[str] = []
        self.modified: list[str] = []
        self.site_names: dict[str, str] = {}
        self.title: str | None = None
        self.h1: list[str] = [_norm(h.text_content()) for h in root.iter("h1")]
        for script in root.xpath('//script[@type="application/ld+json"]'):
            try:
                data = json.loads(script.text_content())
            except (ValueError, RecursionError):
                continue
            for obj in _walk_json(data):
                for key in ("headline", "alternativeHeadline"):
                    value = obj.get(key)
                    if isinstance(value, str) and value.strip():
                        self.headlines.append(_norm(value))
                body = obj.get("articleBody")
                if isinstance(body, str) and body.strip():
                    self.article_bodies.append(body.strip())
                modified = obj.get("dateModified")
                if isinstance(modified, str):
                    self.modified.append(modified)
        for meta in root.iter("meta"):
            name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
            content = meta.get("content")
            if not content:
                continue
            if name in ("og:title", "twitter:title", "title", "headline", "alternativeheadline"):
                self.headlines.append(_norm(content))
            elif name in ("article:modified_time", "og:updated_time", "datemodified", "last-modified"):
                self.modified.append(content)
            elif name in ("og:site_name", "application-name") and _norm(content):
                self.site_names.setdefault(name, _norm(content))
        for title in root.iter("title"):
            full = _norm(title.text_content())
            self.title = full or None
            if full:
                self.headlines.append(full)
                # "Headline | Site name" and "Headline - Site name"
                for sep in (" | ", " - ", " – ", " — "):
                    if sep in full:
                        self.headlines.append(full.rsplit(sep, 1)[0].strip())
                        self.headlines.append(full.split(sep, 1)[0].strip())
            break

    def headline(self, fallback: str | None) -> str | None:
        """The visible ``<h1>`` when the page's metadata confirms it as the headline, else ``fallback``; with no
        ``fallback`` either, the first ``<h1>``, else the ``<title>`` without a trailing site name."""
        known = {_key(h) for h in self.headlines if h}
        if fallback:
            known.add(_key(fallback))
        for h1 in self.h1:
            if len(h1.split()) >= 3 and _key(h1) in known:
                return h1
        if fallback:
            return fallback
        return next((h1 for h1 in self.h1 if h1), None) or self._bare_title()

    def _bare_title(self) -> str | None:
        """``<title>`` without a trailing "| Site name" when the site's name is known."""
        if not self.title:
            return None
        for sep in (" | ", " - ", " – ", " — "):
            head, _, tail = self.title.rpartition(sep)
            if head and _key(tail) in {_key(n) for n in self.site_names.values()}:
                return head.strip()
        return self.title

    def site_name(self) -> str | None:
        """The site's own name: ``og:site_name``, else ``application-name``."""
        return self.site_names.get("og:site_name") or self.site_names.get("application-name")

    def updated(self) -> str | None:
        for value in self.modified:
            match = re.match(r"\s*(\d{4}-\d{2}-\d{2})", value)
            if match:
                return match.group(1)
        return None


_local = threading.local()


def _parser() -> lxml.html.HTMLParser:
    """This thread's HTML parser.

    lxml parsers must not be used by two threads at once, and trees from one parser share its string
    dictionary: trafilatura's module-level parser, used from several extraction threads, crashes the
    interpreter (segmentation fault). Every worker thread therefore parses with a parser of its own and hands
    trafilatura the finished tree.
    """
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = lxml.html.HTMLParser(
            collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
        )
        _local.parser = parser
    return parser


def _load(html: bytes | str) -> lxml.html.HtmlElement | None:
    text = decode_file(html) if isinstance(html, bytes) else html
    if not text.strip():
        return None
    text = repair_faulty_html(text, text[:50].lower())
    try:
        tree = lxml.html.fromstring(text, parser=_parser())
    except ValueError:  # a str with an XML encoding declaration: hand lxml bytes instead
        try:
            tree = lxml.html.fromstring(text.encode("utf-8", "surrogatepass"), parser=_parser())
        except (ValueError, etree.ParserError):
            return None
    except etree.ParserError:
        return None
    return tree if isinstance(tree, lxml.html.HtmlElement) and len(tree) else None


def _join_drop_caps(tree: lxml.html.HtmlElement) -> None:
    """Join a drop-cap initial kept in its own element to the word it starts ("<span>T</span>urkey").

    Otherwise the extractor loses the letter or leaves it apart ("urkey, Poland and ...").
    """
    for element in list(tree.iter()):
        if not isinstance(element.tag, str) or len(element) or element.getparent() is None:
            continue
        letter = (element.text or "").strip()
        if len(letter) != 1 or not letter.isupper():
            continue
        tail = element.tail or ""
        if tail[:1].islower():  # inline: <span class="dropcap">T</span>urkey
            element.drop_tag()
            continue
        following = element.getnext()
        if not tail.strip() and following is not None and (following.text or "")[:1].islower():
            following.text = letter + (following.text or "")  # a block of its own before the paragraph
            element.drop_tree()


def extract_page(html: bytes | str, url: str) -> ExtractedPage | None:
    """Title, author, date and main text of an article page; None when no main text is found.

    trafilatura does the extraction (comments and tables left out); then paragraphs that are generic news
    boilerplate are dropped, the visible headline is preferred when the metadata confirms it, and a page whose
    visible text is too short falls back on its schema.org ``articleBody``.
    """
    tree = _load(html)
    if tree is None:
        return None
    meta = _PageMeta(tree)
    _join_drop_caps(tree)
    try:
        doc = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=False,
            with_metadata=True,
        )
    except Exception as exc:  # trafilatura on hostile HTML: report, do not crash ingestion
        log.warning("extraction failed for %s: %s: %s", url, type(exc).__name__, exc)
        return None
    text = getattr(doc, "text", None) or "" if doc is not None else ""
    text = clean_text(text)
    if len(text) < MIN_TEXT_CHARS and meta.article_bodies:
        body = max(meta.article_bodies, key=len)
        if len(body) > len(text):
            text = clean_text(body)
    if not text.strip():
        return None
    title = _norm(getattr(doc, "title", None)) or None
    author = _norm(getattr(doc, "author", None)) or None
    date = getattr(doc, "date", None)
    return ExtractedPage(
        title=meta.headline(title),
        author=author,
        date=date if isinstance(date, str) and date else None,
        text=text,
        updated=meta.updated(),
        site_name=meta.site_name(),
    )


async def extract_page_async(
    html: bytes | str, url: str, *, timeout: float = 10.0, executor: Executor | None = None
) -> ExtractedPage | None:
    """:func:`extract_page` off the event loop, given at most ``timeout`` seconds; None (and a warning) after.

    ``executor`` is where it runs: a process pool puts extraction (lxml and trafilatura, mostly
    GIL-bound Python) on another core; without one it runs in a worker thread. Neither can be interrupted:
    a late extraction finishes in the background, but the caller moves on. A broken process pool (a crashed
    worker) falls back to a thread for this page.
    """
    loop = asyncio.get_running_loop()
    try:
        if executor is not None:
            try:
                return await asyncio.wait_for(loop.run_in_executor(executor, extract_page, html, url), timeout)
            except BrokenExecutor:
                log.warning("extraction worker pool is broken; extracting %s in a thread", url)
        return await asyncio.wait_for(asyncio.to_thread(extract_page, html, url), timeout)
    except TimeoutError:
        log.warning("extraction of %s took longer than %g s; skipped", url, timeout)
        return None
