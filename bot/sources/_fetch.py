"""Outbound HTTP for feeds and article pages: the only place in newsbrief that talks to the network."""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from bot.config import NetworkConfig, duration_text, user_agent
from bot.sources._decode import BodyDecodeError, BodyTooLarge, read_body
from bot.sources._errors import FetchError
from bot.sources._guard import Resolver, check_url
from bot.sources._links import is_file_url, linked_url_refusal

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
FILE_REFUSED = "file: URLs are read only for feeds the operator configured (config file or `newsbrief feeds add`)"


DEFAULT_USER_AGENT = user_agent()


@dataclass
class FetchResult:
    """A successful fetch (2xx, or 304 when ``not_modified``); ``headers`` has lower-case keys."""

    url: str
    final_url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    content_type: str | None = None
    charset: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (counted from ``now``, the time
    the answer came); None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - now).total_seconds()
    return max(0.0, delta)


def _content_type(headers: dict[str, str]) -> tuple[str | None, str | None]:
    raw = headers.get("content-type")
    if not raw:
        return None, None
    parts = [p.strip() for p in raw.split(";")]
    media = parts[0].lower() or None
    charset = None
    for param in parts[1:]:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'").lower()
    return media, charset


def _headers(response: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _reason(response: httpx.Response) -> str:
    phrase = response.reason_phrase or ""
    return f"HTTP {response.status_code} {phrase}".strip()


class _HostLimits:
    """One semaphore per host, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def acquire(self, host: str) -> None:
        sem, users = self._slots.get(host, (None, 0))
        if sem is None:
            sem = asyncio.Semaphore(self._limit)
        self._slots[host] = (sem, users + 1)
        try:
            await sem.acquire()
        except BaseException:
            self._forget(host)
            raise

    def release(self, host: str) -> None:
        sem, _ = self._slots[host]
        sem.release()
        self._forget(host)

    def _forget(self, host: str) -> None:
        sem, users = self._slots[host]
        if users <= 1:
            del self._slots[host]
        else:
            self._slots[host] = (sem, users - 1)


class Fetcher:
    """Fetches feeds and pages through one injected :class:`httpx.AsyncClient`.

    The client must be created with ``follow_redirects=False``: redirects are followed here, hop by hop, so that
    the private-address guard sees every hop. ``resolver`` maps a host name to IP strings for the guard
    (default: the system resolver in a worker thread; tests inject a fake one).

    The guard checks each URL before it is requested; give the client a :class:`GuardedTransport` (as
    :func:`bot.ingest.http_client` does) so that the connection itself goes only to approved addresses: a DNS
    server that answers differently the second time (DNS rebinding) is then stopped too.

    ``clock`` is the time source (an aware datetime): it dates a Retry-After given as an HTTP-date and a local
    file whose modification time cannot be read.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        network: NetworkConfig,
        resolver: Resolver | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.client = client
        self.clock = clock
        self.network = network
        self.user_agent = network.agent
        """The User-Agent sent (:attr:`bot.config.NetworkConfig.agent`)."""
        self.resolver = resolver
        self._hosts = _HostLimits(network.per_host)
        self._global = asyncio.Semaphore(max(1, network.global_limit))

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, allow_file: bool = False
    ) -> FetchResult:
        """GET ``url`` (http or https), conditionally when ``etag``/``last_modified`` are given.

        A ``file:`` URL is read only with ``allow_file=True``, which callers pass for URLs the operator gave (a
        configured feed, the local CLI's argument) or that :func:`linked_url_refusal` let a local feed name;
        otherwise it is refused with kind ``"blocked"`` before anything is read.
        Returns a :class:`FetchResult` (``not_modified=True`` on 304); raises :class:`FetchError` otherwise.
        """
        await check_url(url, self.network, self.resolver)
        if is_file_url(url):
            if not allow_file:
                raise FetchError("blocked", FILE_REFUSED, url=url)
            return await self._read_file(url, last_modified)
        try:
            async with asyncio.timeout(self.network.total_timeout.total_seconds()):
                return await self._fetch_http(url, etag=etag, last_modified=last_modified)
        except TimeoutError:
            raise FetchError(
                "timeout", f"no complete response within {duration_text(self.network.total_timeout)}", url=url
            ) from None

    async def _fetch_http(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = previous = url
        visited = {url}
        for hop in range(self.network.max_redirects + 1):
            if hop:
                refusal = linked_url_refusal(current, previous)
                if refusal is not None:
                    raise FetchError("blocked", f"redirect to {current!r}: {refusal}", url=url)
                try:
                    await check_url(current, self.network, self.resolver)
                except FetchError as exc:
                    raise FetchError(exc.kind, f"redirect to {current}: {exc.message}", url=url) from None
            outcome = await self._one_request(url, current, headers)
            if isinstance(outcome, FetchResult):
                return outcome
            nxt = outcome
            if nxt in visited:
                raise FetchError("redirects", f"redirect loop at {nxt}", url=url)
            visited.add(nxt)
            previous, current = current, nxt
        raise FetchError("redirects", f"more than {self.network.max_redirects} redirects", url=url)

    async def _one_request(self, url: str, current: str, headers: dict[str, str]) -> FetchResult | str:
        """One HTTP exchange: a result, or the absolute URL of the next redirect hop."""
        policy = self.network
        host = (urlsplit(current).hostname or "").lower()
        connect, read = policy.connect_timeout.total_seconds(), policy.read_timeout.total_seconds()
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect + read)
        await self._hosts.acquire(host)
        try:
            async with self._global:
                try:
                    async with self.client.stream("GET", current, headers=headers, timeout=timeout) as response:
                        return await self._handle(url, current, response)
                except FetchError as exc:
                    if exc.url == url:
                        raise
                    # refused by the guard again when connecting (GuardedTransport): name the URL fetched
                    raise FetchError(exc.kind, f"{exc.message} (when connecting to {current})", url=url) from None
                except httpx.TimeoutException as exc:
                    raise FetchError("timeout", f"{type(exc).__name__} from {current}", url=url) from None
                except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                    raise FetchError("invalid_url", str(exc) or type(exc).__name__, url=url) from None
                except (httpx.TransportError, OSError) as exc:
                    detail = str(exc) or type(exc).__name__
                    raise FetchError("connect", f"{detail} ({current})", url=url) from None
        finally:
            self._hosts.release(host)

    async def _handle(self, url: str, current: str, response: httpx.Response) -> FetchResult | str:
        status = response.status_code
        headers = _headers(response)
        if status in REDIRECT_STATUSES:
            location = headers.get("location")
            if not location:
                raise FetchError("http", f"{_reason(response)} without a Location header", url=url, status=status)
            return urljoin(current, location.strip())
        if status == 304:
            return self._result(url, current, response, headers, b"", not_modified=True)
        if status in (429, 503):
            retry = parse_retry_after(headers.get("retry-after"), now=self.clock())
            suffix = f"; retry after {retry:g} s" if retry is not None else ""
            raise FetchError("http", f"{_reason(response)}{suffix}", url=url, status=status, retry_after=retry)
        if status >= 400 or status < 200:
            raise FetchError("http", _reason(response), url=url, status=status)
        limit = self.network.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"Content-Length {declared} exceeds {limit} bytes", url=url, status=status)
        # The raw stream, decoded here a bounded piece at a time: httpx would inflate each network chunk whole
        # (64 KiB of a gzip bomb is about 64 MB) before the cap could be checked.
        try:
            body = await read_body(response.aiter_raw(), headers.get("content-encoding"), limit)
        except BodyTooLarge as exc:
            raise FetchError("too_large", str(exc), url=url, status=status) from None
        except BodyDecodeError as exc:
            raise FetchError("decode", f"cannot decode the body: {exc}", url=url, status=status) from None
        return self._result(url, current, response, headers, body)

    @staticmethod
    def _result(
        url: str,
        current: str,
        response: httpx.Response,
        headers: dict[str, str],
        body: bytes,
        *,
        not_modified: bool = False,
    ) -> FetchResult:
        media, charset = _content_type(headers)
        return FetchResult(
            url=url,
            final_url=current,
            status=response.status_code,
            body=body,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            not_modified=not_modified,
            content_type=media,
            charset=charset,
        )

    async def _read_file(self, url: str, last_modified: str | None = None) -> FetchResult:
        path = Path(url2pathname(urlsplit(url).path))
        limit = self.network.max_bytes

        def read() -> bytes:
            with path.open("rb") as handle:
                return handle.read(limit + 1)

        try:
            body = await asyncio.to_thread(read)
        except OSError as exc:
            raise FetchError("connect", f"cannot read {path}: {exc.strerror or exc}", url=url) from None
        if len(body) > limit:
            raise FetchError("too_large", f"file exceeds {limit} bytes", url=url)
        suffix = path.suffix.lower()
        media = {
            ".json": "application/feed+json",
            ".xml": "application/xml",
            ".rss": "application/rss+xml",
            ".atom": "application/atom+xml",
            ".html": "text/html",
            ".htm": "text/html",
        }.get(suffix)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = self.clock().timestamp()
        stamp = email.utils.formatdate(mtime, usegmt=True)
        headers = {"last-modified": stamp}
        if last_modified == stamp:
            return FetchResult(
                url=url,
                final_url=url,
                status=304,
                body=b"",
                headers=headers,
                last_modified=stamp,
                not_modified=True,
                content_type=media,
            )
        if media:
            headers["content-type"] = media
        return FetchResult(
            url=url,
            final_url=url,
            status=200,
            body=body,
            headers=headers,
            last_modified=stamp,
            content_type=media,
        )
