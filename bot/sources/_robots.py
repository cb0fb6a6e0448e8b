"""robots.txt: whether a site lets newsbrief fetch a page, read through the Fetcher and cached per site."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from bot.sources._errors import FetchError
from bot.sources._fetch import Fetcher

log = logging.getLogger(__name__)

ROBOTS_TTL = timedelta(hours=24)
"""How long a site's robots.txt (or its absence) is trusted before it is fetched again."""
ROBOTS_RETRY = timedelta(hours=1)
"""How long a site whose robots.txt could not be read (5xx, 429, timeout, no connection) is left alone."""
MAX_SITES = 4096
"""Sites remembered at once; beyond this the entries expiring first are forgotten."""

Site = tuple[str, str, int]


@dataclass(frozen=True)
class _Rules:
    """What one site's robots.txt says: ``parser`` (None: no rules), or ``closed`` (fetch nothing for now)."""

    parser: RobotFileParser | None
    expires: datetime
    closed: str | None = None


def _site(url: str) -> tuple[Site, str] | None:
    """((scheme, host, port), robots.txt URL) of an http(s) ``url``; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    return (scheme, host, port or (443 if scheme == "https" else 80)), f"{scheme}://{netloc}/robots.txt"


class RobotsCache:
    """Answers "may this page be fetched?" from each site's robots.txt, fetched through ``fetcher`` (so the
    private-address guard, the size cap and the timeouts apply) and cached per (scheme, host, port).

    The rules are those of ``agent`` (the product token of the User-Agent sent, ``newsbrief`` by default). A
    robots.txt is trusted for ``ttl``. A 4xx answer other than 429 means the site has no rules: everything may be
    fetched. A 5xx or 429 answer, a timeout or a failed connection means the site cannot say: its pages are not
    fetched for ``retry`` (rules read earlier are kept meanwhile), then robots.txt is asked again. Time is the
    ``now`` each call passes in. Only page fetches ask; feeds are published to be polled.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        agent: str | None = None,
        ttl: timedelta = ROBOTS_TTL,
        retry: timedelta = ROBOTS_RETRY,
        max_sites: int = MAX_SITES,
    ) -> None:
        self.fetcher = fetcher
        self.agent = agent or fetcher.user_agent
        self.ttl = ttl
        self.retry = retry
        self.max_sites = max(1, max_sites)
        self._rules: dict[Site, _Rules] = {}
        self._loading: dict[Site, asyncio.Future[_Rules]] = {}

    async def refusal(self, url: str, now: datetime) -> str | None:
        """Why the site's robots.txt forbids fetching ``url`` at ``now``; None when it may be fetched (and for
        URLs that are not http or https, which have no robots.txt)."""
        site = _site(url)
        if site is None:
            return None
        key, robots_url = site
        rules = self._rules.get(key)
        if rules is None or rules.expires <= now:
            loading = self._loading.get(key)
            if loading is None:  # one fetch per site however many pages ask at once
                loading = asyncio.ensure_future(self._load(key, robots_url, now, rules))
                self._loading[key] = loading
                loading.add_done_callback(lambda _done: self._loading.pop(key, None))
            rules = await asyncio.shield(loading)
        if rules.closed is not None:
            return rules.closed
        if rules.parser is not None and not rules.parser.can_fetch(self.agent, url):
            return f"disallowed by {robots_url}"
        return None

    async def _load(self, key: Site, robots_url: str, now: datetime, previous: _Rules | None) -> _Rules:
        try:
            fetched = await self.fetcher.fetch(robots_url)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                rules = _Rules(None, now + self.ttl)  # no robots.txt: no rules
            elif previous is not None and previous.closed is None:
                log.info("%s: %s; keeping the rules read before for now", robots_url, exc.message)
                rules = _Rules(previous.parser, now + self.retry)
            else:
                log.info("%s: %s; no pages fetched from this site for now", robots_url, exc.message)
                wait = int(self.retry.total_seconds() // 60)
                rules = _Rules(
                    None,
                    now + self.retry,
                    closed=f"{robots_url} unavailable ({exc.message}); asking again in {wait} min",
                )
        else:
            parser = RobotFileParser(robots_url)
            parser.parse(fetched.body.decode("utf-8-sig", errors="replace").splitlines())
            parser.modified()  # can_fetch() answers only once the rules count as read
            rules = _Rules(parser, now + self.ttl)
        self._remember(key, rules)
        return rules

    def _remember(self, key: Site, rules: _Rules) -> None:
        self._rules[key] = rules
        if len(self._rules) > self.max_sites:
            for old in sorted(self._rules, key=lambda k: self._rules[k].expires)[: len(self._rules) - self.max_sites]:
                del self._rules[old]
