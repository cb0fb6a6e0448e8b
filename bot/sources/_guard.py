"""The private-address (SSRF) guard: refuse URLs whose host is or resolves to a non-public address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx

from bot.sources._errors import FetchError

if TYPE_CHECKING:
    from bot.config import NetworkConfig

Resolver = Callable[[str], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https", "file"})


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` to its IP addresses with the system resolver (getaddrinfo in a worker thread)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def _parse_ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return mapped
    return address


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a global unicast address (not loopback, private, link-local, multicast...)."""
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _allowed(host: str, addresses: Iterable[IPAddress], allow: Iterable[str]) -> bool:
    """True when ``host`` or every one of ``addresses`` is covered by an ``allow_private`` entry."""
    host = host.lower().rstrip(".")
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in allow:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry == host:
            return True
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            continue  # a host name that is not this host
    addresses = list(addresses)
    return bool(addresses) and all(any(a in net for net in networks) for a in addresses)


def _host_to_vet(url: str, policy: NetworkConfig) -> str | None:
    """The checks of :func:`check_url` that need no resolver: the host name still to vet, or ``None`` when there is
    nothing left to check (a ``file:`` URL on this machine, a name listed in ``allow_private``)."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise FetchError("invalid_url", f"malformed URL ({exc})", url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise FetchError("invalid_url", f"unsupported scheme {scheme or '(none)'!r}", url=url)
    if scheme == "file":
        if hostname not in (None, "", "localhost"):
            raise FetchError("invalid_url", "file URLs must not name a remote host", url=url)
        return None
    if not hostname:
        raise FetchError("invalid_url", "URL has no host", url=url)
    host = hostname.lower().rstrip(".")
    if _parse_ip(host) is None and any(entry.strip().lower().rstrip(".") == host for entry in policy.allow_private):
        return None  # an allowed name needs no lookup here (the connection resolves it: see vetted_addresses)
    return hostname


async def check_url(url: str, policy: NetworkConfig, resolver: Resolver | None = None) -> None:
    """Refuse ``url`` unless it is safe to fetch; return None when it is.

    Raises :class:`FetchError` with kind ``"invalid_url"`` for a malformed URL or a scheme other than
    http/https/file, and kind ``"blocked"`` when the host is an IP literal, or resolves to any address, that is
    loopback, private, link-local, multicast, reserved or unspecified, unless the host name or the addresses are
    listed in ``policy.allow_private`` (host names exactly, IPs, or CIDR blocks). A name that does not resolve
    gives kind ``"connect"``. No connection is ever attempted here; only the resolver is called.
    """
    hostname = _host_to_vet(url, policy)
    if hostname is not None:
        await vetted_addresses(hostname, policy, resolver, url=url)


LOOPBACK_NAMES = ("localhost", ".localhost")
"""Names that are loopback by definition (RFC 6761), whatever a resolver says."""


def check_url_offline(url: str, policy: NetworkConfig) -> None:
    """:func:`check_url` without a resolver, for URLs stored now and fetched later (an OPML import): the same
    :class:`FetchError` for a malformed URL, a scheme other than http/https/file, and a host that is a non-public
    IP literal or a ``localhost`` name (unless ``allow_private`` lists it). Any other name is not looked up here:
    every fetch vets its addresses (:func:`check_url`, :class:`PinnedBackend`)."""
    hostname = _host_to_vet(url, policy)
    if hostname is None:
        return
    host = hostname.lower().rstrip(".").strip("[]")
    literal = _parse_ip(host)
    if literal is not None:
        _refuse_private(host, [literal], policy, url)
    elif host == LOOPBACK_NAMES[0] or host.endswith(LOOPBACK_NAMES[1]):
        _refuse_private(host, [ipaddress.ip_address("127.0.0.1")], policy, url)


def _refuse_private(host: str, addresses: list[IPAddress], policy: NetworkConfig, where: str) -> None:
    """:class:`FetchError` "blocked" when any of ``addresses`` (those of ``host``) is not public and
    ``allow_private`` does not cover it."""
    private = [a for a in addresses if not is_public(a)]
    if private and not _allowed(host, private, policy.allow_private):
        shown = ", ".join(str(a) for a in private[:3])
        raise FetchError(
            "blocked",
            f"host {host!r} is or resolves to a non-public address ({shown}); "
            "list it in network.allow_private to allow it",
            url=where,
        )


async def vetted_addresses(
    hostname: str, policy: NetworkConfig, resolver: Resolver | None = None, *, url: str | None = None
) -> list[str]:
    """The addresses of ``hostname`` that may be connected to: all of them when every one is public (or covered
    by ``allow_private``), else :class:`FetchError` "blocked" (any non-public one blocks the host). An IP literal
    is its own address; a name listed in ``allow_private`` is resolved and allowed as it is."""
    host = hostname.lower().rstrip(".").strip("[]")
    literal = _parse_ip(host)
    where = url if url is not None else host
    if literal is not None:
        addresses = [literal]
        texts = [host]
    else:
        try:
            resolved = await (resolver or system_resolver)(host)
        except (OSError, UnicodeError) as exc:
            raise FetchError("connect", f"cannot resolve host {host!r} ({exc})", url=where) from None
        pairs = [(a, r) for a, r in ((_parse_ip(r), r) for r in resolved) if a is not None]
        if not pairs:
            raise FetchError("connect", f"host {host!r} resolved to no usable address", url=where)
        if any(entry.strip().lower().rstrip(".") == host for entry in policy.allow_private):
            return [r for _, r in pairs]
        addresses = [a for a, _ in pairs]
        texts = [r for _, r in pairs]
    _refuse_private(host, addresses, policy, where)
    return texts


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the guard approved.

    It resolves each host itself (with the guard's resolver), vets the addresses (:func:`vetted_addresses`) and
    connects to those very addresses, so a name cannot resolve to a public address for the check and to a
    private one for the connection (DNS rebinding). TLS still verifies the certificate against the host name.
    """

    def __init__(self, policy: NetworkConfig, resolver: Resolver | None = None) -> None:
        """A backend for ``policy`` (its ``allow_private``), resolving with ``resolver`` (default: the system)."""
        self.policy = policy
        self.resolver = resolver
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first vetted address of ``host`` that accepts (FetchError "blocked" when none may)."""
        addresses = await vetted_addresses(host, self.policy, self.resolver)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Never used: newsbrief fetches over TCP only."""
        raise httpcore.ConnectError("unix sockets are not fetched from")

    async def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retries use it)."""
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a :class:`PinnedBackend`: every connection goes to an
    address the private-address guard approved at connect time."""

    def __init__(self, policy: NetworkConfig, resolver: Resolver | None = None, *, limits: httpx.Limits) -> None:
        """A transport under ``policy``'s guard with ``limits`` (connections, keep-alive)."""
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy, resolver),
        )
