"""Which URLs a fetched document may make newsbrief fetch: the one place that decides."""

from __future__ import annotations

import os
from urllib.parse import urlsplit
from urllib.request import url2pathname

WEB_SCHEMES = frozenset({"http", "https"})
REMOTE_ONLY = "only http and https links are followed from a fetched feed or page"


def is_file_url(url: str) -> bool:
    """True when ``url`` is a ``file:`` URL, in any spelling (``FILE:``, ``File://localhost/``, ``file:/x``)."""
    try:
        return urlsplit(url.strip()).scheme.lower() == "file"
    except ValueError:
        return False


def linked_url_refusal(url: str, base_url: str) -> str | None:
    """Why ``url``, named by the document read from ``base_url``, may not be fetched; None when it may.

    This covers every URL a document names: entry links, feeds a page advertises, redirect targets. A document
    read over the network may name only http and https URLs (the private-address guard still checks those when
    they are fetched). A document read from a ``file:`` URL, which only the operator configures (the config
    file, ``newsbrief feeds add`` on the local CLI), may also name files inside its own folder, judged after
    ``..``, percent-escapes and symbolic links are resolved. Nothing else is followed.
    """
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
        base_scheme = urlsplit(base_url).scheme.lower()
    except ValueError as exc:
        return f"malformed URL ({exc})"
    if scheme in WEB_SCHEMES:
        return None
    if base_scheme != "file":
        return REMOTE_ONLY
    if scheme != "file":
        return "a local feed may link only to http and https URLs and to files in its own folder"
    return _outside_folder(url.strip(), base_url)


def _outside_folder(url: str, base_url: str) -> str | None:
    """Why the file ``url`` is not inside the folder of the file ``base_url``; None when it is."""
    try:
        parts = urlsplit(url)
        if (parts.hostname or "") not in ("", "localhost"):
            return "file URLs must not name a remote host"
        folder = os.path.realpath(os.path.dirname(url2pathname(urlsplit(base_url).path)))
        target = os.path.realpath(url2pathname(parts.path))
        inside = os.path.commonpath([folder, target]) == folder
    except ValueError as exc:  # a NUL byte, a bad port, paths that cannot be compared
        return f"malformed file URL ({exc})"
    if not inside:
        return f"only files in the feed's own folder ({folder}) are read"
    return None
