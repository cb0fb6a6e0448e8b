"""Decompression-bomb benchmark: peak RSS with every fetch slot serving a 1 GiB gzip bomb (issue 11).

Run as ``python bench/bomb_bench.py`` (``make bench``). A FeedServer in a separate (spawned) process serves, on
127.0.0.1 only, ``network.global_limit`` (16) URLs of one gzip bomb: 1 GiB of zeros, about 1 MB compressed,
generated a block at a time (the zeros are never held whole), and as many normal pages (RSS documents of
about 200 KB, gzip-compressed). Each measurement runs in a fresh spawned process that fetches all of its URLs
at once through the real :class:`bot.sources.Fetcher` on ``bot.ingest.http_client``, with the default
``[network]`` settings except ``allow_private = ["127.0.0.1"]`` and ``per_host`` raised to the global limit (all
URLs share one host here; with the default of 2 only two bombs would be in flight). The figure is that process's
peak RSS (``ru_maxrss``).

Target: peak(bombs) <= peak(normal) x 1.1 + slots x cap (``network.max_bytes``, 5 MB): each fetch may hold up
to its cap, nothing more. Exits 1 when it is not met or a fetch ends otherwise than expected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import resource
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

BOMB_BYTES = 1 << 30
NORMAL_ITEMS = 300  # entries of each normal page (about 200 KB of RSS)


def _serve(conn: Connection) -> None:
    """Child process: serve ``slots`` bombs at /bomb/N and normal pages at /page/N until told to stop."""
    from testkit.feedserver import FeedServer, Item, bomb_stream, rss_feed

    slots = conn.recv()
    bomb = b"".join(bomb_stream("gzip", BOMB_BYTES))
    server = FeedServer().start()
    rss = {"Content-Type": "application/rss+xml; charset=utf-8"}
    for n in range(slots):
        server.route(f"/bomb/{n}", bomb, headers=rss, gzip=True, precompressed=True)
        items = [
            Item(f"Story {n}.{i}", f"http://127.0.0.1/a/{n}/{i}", guid=f"{n}-{i}", summary=f"Summary {i} " * 40)
            for i in range(NORMAL_ITEMS)
        ]
        server.route(f"/page/{n}", rss_feed(items, title=f"Outlet {n}"), headers=rss, gzip=True)
    conn.send((server.port, len(bomb)))
    try:
        conn.recv()
    finally:
        server.stop()


def _fetch_all(conn: Connection) -> None:
    """Child process: fetch every URL sent at once; answer the outcomes and this process's peak RSS (MB)."""
    from bot.config import settings_from_mapping
    from bot.ingest import http_client
    from bot.sources import Fetcher, FetchError

    urls, slots = conn.recv()
    settings = settings_from_mapping(
        {"network": {"allow_private": ["127.0.0.1"], "per_host": slots, "global_limit": slots}}
    )

    async def run() -> tuple[list[str], int]:
        async with http_client(settings) as client:
            fetcher = Fetcher(client, settings.network)
            results = await asyncio.gather(*(fetcher.fetch(url) for url in urls), return_exceptions=True)
        outcomes = []
        for result in results:
            if isinstance(result, FetchError):
                outcomes.append(result.kind)
            elif isinstance(result, BaseException):
                outcomes.append(type(result).__name__)
            else:
                outcomes.append("ok")
        return outcomes, settings.network.max_bytes

    outcomes, cap = asyncio.run(run())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.send((outcomes, cap, peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024))


def _measure(urls: list[str], slots: int) -> tuple[Counter[str], int, float]:
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    process = ctx.Process(target=_fetch_all, args=(child,), name="bomb-bench-fetch", daemon=True)
    process.start()
    try:
        conn.send((urls, slots))
        outcomes, cap, peak = conn.recv()
    finally:
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join(5)
    return Counter(outcomes), cap, peak


def run(slots: int) -> int:
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child,), name="bomb-bench-server", daemon=True)
    server.start()
    try:
        conn.send(slots)
        port, bomb_size = conn.recv()
        base = f"http://127.0.0.1:{port}"
        normal, _, normal_peak = _measure([f"{base}/page/{n}" for n in range(slots)], slots)
        bombs, cap, bomb_peak = _measure([f"{base}/bomb/{n}" for n in range(slots)], slots)
    finally:
        with contextlib.suppress(OSError):
            conn.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
            server.join(5)

    cap_mb = cap / 1_000_000
    limit = normal_peak * 1.1 + slots * cap_mb
    expected = normal == Counter(ok=slots) and bombs == Counter(too_large=slots)
    verdict = "PASS" if bomb_peak <= limit and expected else "FAIL"
    print(f"Decompression bombs: {slots} fetches at once (network.global_limit), each of a {BOMB_BYTES >> 30} GiB gzip")
    print(f"bomb ({bomb_size / 1e6:.1f} MB compressed) on a loopback server in another process; cap {cap_mb:g} MB.")
    print(f"outcomes: normal {dict(normal)}, bombs {dict(bombs)}")
    print(
        f"bombs: peak RSS {bomb_peak:.0f} MB, normal {normal_peak:.0f} MB, "
        f"limit {normal_peak:.0f}*1.1 + {slots}*{cap_mb:g} MB = {limit:.0f} MB: {verdict}"
    )
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0 if verdict == "PASS" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, help="fetches at once (default: network.global_limit, 16)")
    args = parser.parse_args()
    if args.slots is None:
        from bot.config import settings_from_mapping

        args.slots = settings_from_mapping({}).network.global_limit
    return run(args.slots)


if __name__ == "__main__":
    sys.exit(main())
