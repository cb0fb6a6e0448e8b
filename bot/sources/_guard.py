"""The private-address (SSRF) guard: refuse URLs whose host is or resolves to a non-public address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.sources._errors import FetchError

if TYPE_CHECKING:
    from bot.sources._fetch import FetchPolicy

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


async def check_url(url: str, policy: FetchPolicy, resolver: Resolver | None = None) -> None:
    """Refuse ``url`` unless it is safe to fetch; return None when it is.

    Raises :class:`FetchError` with kind ``"invalid_url"`` for a malformed URL or a scheme other than
    http/https/file, and kind ``"blocked"`` when the host is an IP literal, or resolves to any address, that is
    loopback, private, link-local, multicast, reserved or unspecified, unless the host name or the addresses are
    listed in ``policy.allow_private`` (host names exactly, IPs, or CIDR blocks). A name that does not resolve
    gives kind ``"connect"``. No connection is ever attempted here; only the resolver is called.
    """
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
        return
    if not hostname:
        raise FetchError("invalid_url", "URL has no host", url=url)
    host = hostname.lower().rstrip(".")
    literal = _parse_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        if any(entry.strip().lower().rstrip(".") == host for entry in policy.allow_private):
            return
        try:
            resolved = await (resolver or system_resolver)(host)
        except (OSError, UnicodeError) as exc:
            raise FetchError("connect", f"cannot resolve host {host!r} ({exc})", url=url) from None
        addresses = [a for a in (_parse_ip(r) for r in resolved) if a is not None]
        if not addresses:
            raise FetchError("connect", f"host {host!r} resolved to no usable address", url=url)
    private = [a for a in addresses if not is_public(a)]
    if private and not _allowed(host, private, policy.allow_private):
        shown = ", ".join(str(a) for a in private[:3])
        raise FetchError(
            "blocked",
            f"host {host!r} is or resolves to a non-public address ({shown}); "
            "list it in network.allow_private to allow it",
            url=url,
        )
