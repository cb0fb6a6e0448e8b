"""A loopback HTTP server for tests: configurable routes, faults and generated feeds.

Usage::

    with FeedServer() as server:
        server.route("/feed.xml", rss_feed(items), headers={"Content-Type": "application/rss+xml"}, etag='"v1"')
        url = server.url("/feed.xml")
        ...
        assert server.requests[0].headers["user-agent"].startswith("newsbrief/")

It binds 127.0.0.1 on a free port and never talks to anything else. Each request runs in its own thread;
``server.max_active`` records the highest number of requests handled at the same time.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

__all__ = [
    "FeedServer",
    "Item",
    "RequestRecord",
    "Route",
    "atom_feed",
    "bomb_stream",
    "encode",
    "gzip_bomb",
    "json_feed",
    "rss091_feed",
    "rss1_feed",
    "rss_feed",
]


TRICKLE_BYTES = 256
"""How much of the body a ``trickle`` route sends at a time."""


@dataclass
class RequestRecord:
    """One request the server received (header names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    """What the server answers on one path.

    ``etag``/``last_modified`` make the route answer 304 to a matching conditional request. ``gzip`` compresses
    ``body`` unless ``body`` is already compressed (``precompressed``). ``delay`` sleeps before the status line;
    ``reset_after`` sends that many body bytes and then resets the connection; ``chunked`` omits
    Content-Length; ``gate`` holds the response until the event is set (for concurrency tests); ``trickle``
    sends the body :data:`TRICKLE_BYTES` at a time, that many seconds apart (a slow page that never stalls long
    enough for a read timeout).
    ``handler`` replaces all of this: it gets the request and returns (status, headers, body).
    """

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    precompressed: bool = False
    delay: float = 0.0
    reset_after: int | None = None
    chunked: bool = False
    gate: threading.Event | None = None
    trickle: float = 0.0
    handler: Callable[[RequestRecord], tuple[int, dict[str, str], bytes]] | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
        return

    def do_GET(self) -> None:
        owner = self.server.owner
        record = RequestRecord("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
        with owner.lock:
            owner.requests.append(record)
            owner.active += 1
            owner.max_active = max(owner.max_active, owner.active)
        try:
            self._answer(owner, record)
        finally:
            with owner.lock:
                owner.active -= 1

    def _answer(self, owner: FeedServer, record: RequestRecord) -> None:
        route = owner.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.gate is not None:
            route.gate.wait(10)
        if route.delay:
            time.sleep(route.delay)
        if route.handler is not None:
            status, headers, body = route.handler(record)
            self._send(status, headers, body)
            return
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if (route.etag and record.headers.get("if-none-match") == route.etag) or (
            route.last_modified and record.headers.get("if-modified-since") == route.last_modified
        ):
            self._send(304, headers, b"")
            return
        body = route.body
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
            if not route.precompressed:
                body = gzip_module.compress(body)
        if route.reset_after is not None:
            self._reset(route.status, headers, body, route.reset_after)
            return
        if route.trickle:
            self._trickle(route.status, headers, body, route.trickle)
            return
        self._send(route.status, headers, body, chunked=route.chunked)

    def _send(self, status: int, headers: Mapping[str, str], body: bytes, *, chunked: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status == 304 or status < 200:
            self.end_headers()
            return
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 64 * 1024
            try:
                for start in range(0, len(body), step):
                    piece = body[start : start + step]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                self.close_connection = True  # the client gave up (size cap): fine
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _trickle(self, status: int, headers: Mapping[str, str], body: bytes, pause: float) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), TRICKLE_BYTES):
                self.wfile.write(body[start : start + TRICKLE_BYTES])
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            self.close_connection = True  # the client gave up waiting: fine

    def _reset(self, status: int, headers: Mapping[str, str], body: bytes, after: int) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(max(len(body), after + 1)))
        self.end_headers()
        self.wfile.write(body[:after])
        self.wfile.flush()
        # SO_LINGER with a zero timeout turns close() into a TCP reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up early (size caps, timeouts, resets) are expected here: keep the output quiet.
        return


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 with test-configured routes and a request log."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RequestRecord] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FeedServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="feedserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for route in self.routes.values():
            if route.gate is not None:
                route.gate.set()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # configuration
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """The absolute URL of ``path`` on this server (``host`` may name another loopback address)."""
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", **options: Any) -> Route:
        """Serve ``body`` on ``path``; ``options`` are :class:`Route` fields."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(body=data, **options)
        self.routes[path] = route
        return route

    def redirect(self, path: str, location: str, status: int = 302) -> Route:
        """Answer ``path`` with a redirect to ``location``."""
        return self.route(path, b"", status=status, headers={"Location": location})

    def requests_for(self, path: str) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]


# ---------------------------------------------------------------------------------------------------------
# Generated feeds


@dataclass
class Item:
    """A feed item for the generators below."""

    title: str
    link: str
    guid: str | None = None
    published: datetime | None = None
    summary: str | None = None
    content: str | None = None
    author: str | None = None


def _rfc822(when: datetime | None) -> str:
    return email.utils.format_datetime((when or datetime(2024, 1, 1, tzinfo=UTC)).astimezone(UTC), usegmt=True)


def _iso(when: datetime | None) -> str:
    return (when or datetime(2024, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def rss_feed(items: Iterable[Item], *, title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """An RSS 2.0 document."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link><description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        parts.append(f"<pubDate>{_rfc822(item.published)}</pubDate>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        if item.content:
            parts.append(f"<content:encoded><![CDATA[{item.content}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def atom_feed(items: Iterable[Item], *, title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """An Atom 1.0 document."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{escape(title)}</title><link href="{escape(link)}"/><id>urn:test:feed</id>',
        "<updated>2024-01-01T00:00:00Z</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f'<title>{escape(item.title)}</title><link rel="alternate" href="{escape(item.link)}"/>')
        guid = item.guid or item.link
        parts.append(f"<id>{escape(guid if ':' in guid else 'tag:127.0.0.1,2024:' + guid)}</id>")
        parts.append(f"<published>{_iso(item.published)}</published><updated>{_iso(item.published)}</updated>")
        if item.author:
            parts.append(f"<author><name>{escape(item.author)}</name></author>")
        if item.summary:
            parts.append(f"<summary>{escape(item.summary)}</summary>")
        if item.content:
            parts.append(f'<content type="html">{escape(item.content)}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts)


def rss1_feed(items: Iterable[Item], *, title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """An RSS 1.0 (RDF) document."""
    items = list(items)
    seq = "".join(f'<rdf:li rdf:resource="{escape(i.link)}"/>' for i in items)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'<channel rdf:about="{escape(link)}"><title>{escape(title)}</title><link>{escape(link)}</link>',
        f"<description>test</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>",
    ]
    for item in items:
        parts.append(f'<item rdf:about="{escape(item.link)}"><title>{escape(item.title)}</title>')
        parts.append(f"<link>{escape(item.link)}</link><dc:date>{_iso(item.published)}</dc:date>")
        if item.author:
            parts.append(f"<dc:creator>{escape(item.author)}</dc:creator>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        parts.append("</item>")
    parts.append("</rdf:RDF>")
    return "\n".join(parts)


def rss091_feed(items: Iterable[Item], *, title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """An RSS 0.91 (Netscape) document: no dates, no GUIDs."""
    parts = [
        '<?xml version="1.0" encoding="ISO-8859-1"?>',
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        f'<rss version="0.91"><channel><title>{escape(title)}</title><link>{escape(link)}</link>',
        "<description>test</description><language>en</language>",
    ]
    for item in items:
        parts.append(f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


def json_feed(items: Iterable[Item], *, title: str = "Test feed", link: str = "http://127.0.0.1/") -> str:
    """A JSON Feed 1.1 document."""
    doc: dict[str, Any] = {"version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": link}
    doc["items"] = [
        {
            k: v
            for k, v in {
                "id": item.guid or item.link,
                "url": item.link,
                "title": item.title,
                "date_published": _iso(item.published),
                "summary": item.summary,
                "content_html": item.content,
                "authors": [{"name": item.author}] if item.author else None,
            }.items()
            if v is not None
        }
        for item in items
    ]
    return json.dumps(doc)


_WBITS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
    "raw-deflate": -zlib.MAX_WBITS,
}


def encode(data: bytes, codings: str) -> bytes:
    """``data`` compressed with each of ``codings`` in turn ("gzip", "x-gzip", "deflate" (zlib-wrapped),
    "raw-deflate" or "identity", comma-separated). Send "raw-deflate" as ``Content-Encoding: deflate``."""
    for coding in codings.split(","):
        coding = coding.strip()
        if coding != "identity":
            compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[coding])
            data = compressor.compress(data) + compressor.flush()
    return data


def bomb_stream(coding: str, decompressed_size: int) -> Iterator[bytes]:
    """``decompressed_size`` zero bytes compressed with one coding of :func:`encode`, produced a block at a time
    (a 1 GiB bomb is about 1 MB; the zeros are never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[coding])
    block = bytes(1 << 20)
    whole, rest = divmod(decompressed_size, len(block))
    for size in [len(block)] * whole + [rest]:
        out = compressor.compress(block[:size] if size < len(block) else block)
        if out:
            yield out
    yield compressor.flush()


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(decompressed_size: int = 50_000_000) -> bytes:
    """A gzip stream of ``decompressed_size`` zero bytes (a few tens of KB compressed)."""
    if decompressed_size not in _BOMB_CACHE:
        _BOMB_CACHE[decompressed_size] = b"".join(bomb_stream("gzip", decompressed_size))
    return _BOMB_CACHE[decompressed_size]
