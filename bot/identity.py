"""Article identity: canonical URLs, content hashes, outlets and story keys (pure functions, no I/O).

A leaf module below both the store (which deduplicates articles by these keys) and the story clustering (which
re-exports them as part of :mod:`bot.stories`): it imports nothing from ``bot``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only track where a click came from; they never select different content.
# Matched case-insensitively; every parameter starting with one of TRACKING_PREFIXES is dropped too.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ocid",
        "icid",
        "ncid",
        "smid",
        "s_cid",
        "sr_share",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "spm",
        "vero_id",
        "wt_mc",
        "cid_src",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "oly_")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_PCT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_WHITESPACE = re.compile(r"\s+")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The identity form of an article URL; two URLs of the same article map to the same string.

    Rules (the result is an identity key, never fetched; the original URL is kept for fetching):

    - surrounding whitespace is stripped; the scheme and host are lowercased (an IDN host is IDNA-encoded);
    - the default port of the scheme (``:80`` for http, ``:443`` for https) is dropped;
    - the fragment is dropped;
    - tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mc_cid``, ``ref`` ... see :data:`TRACKING_PARAMS`
      and :data:`TRACKING_PREFIXES`) are removed and the remaining parameters are sorted by name, then value;
      blank values are kept (``?amp`` stays), a query left empty disappears with its ``?``;
    - an empty path becomes ``/``; a trailing ``/`` is stripped from every other path (``/a/b/`` -> ``/a/b``):
      news sites serve both forms as the same page, and a false merge of ``/x`` and ``/x/`` is far less likely
      than a missed duplicate;
    - percent-escapes are uppercased (``%2f`` -> ``%2F``); the path is otherwise kept as written (case matters).

    A string that is not an absolute URL (no scheme or no host) is returned stripped but otherwise unchanged.
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return raw
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = host.lower()
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username if parts.password is None else f"{parts.username}:{parts.password}"
        netloc = f"{userinfo}@{netloc}"

    path = _PCT_ESCAPE.sub(lambda m: m.group(0).upper(), parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    pairs.sort()
    query = urlencode(pairs, quote_via=quote, safe="/:@!$'()*,;~")
    query = re.sub(r"=(?=&|$)", "", query) if query else ""  # "?amp=" and "?amp" are the same parameter
    return urlunsplit((scheme, netloc, path, query, ""))


def normalize_text(text: str) -> str:
    """Text as compared by :func:`content_hash`: NFKC, case-folded, whitespace runs collapsed, stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    """SHA-256 (hex) of :func:`normalize_text` of ``text``: equal for texts differing only in case or spacing."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def outlet_of(url: str) -> str:
    """A default outlet name for an article URL: its host without ``www.``/``m.``/``amp.`` (``""`` if none).

    A ``file://`` URL has no host: its outlet is the name of the folder holding the file (local feeds, such as
    the bundled demo, keep one folder per outlet).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return ""
    if parts.scheme.lower() == "file" and not host:
        return unquote(parts.path).rstrip("/").rsplit("/", 2)[-2] if parts.path.count("/") >= 2 else ""
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    return host


def story_key_for(article_id: str) -> str:
    """The key of the story an article starts: ``a_<hex>`` gives ``s_<hex>``, any other id ``s_<id>``."""
    return f"s_{article_id[2:]}" if article_id.startswith("a_") else f"s_{article_id}"
