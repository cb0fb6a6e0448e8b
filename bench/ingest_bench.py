"""Ingestion benchmark: poll rounds over 1,000 loopback feeds, measured against the targets of issue 3.

Run as ``python bench/ingest_bench.py`` (``make bench``). A feed server runs in a separate process (spawned,
so the measured process is only the bot) on 127.0.0.1; nothing else is ever contacted. It serves ``FEEDS``
RSS feeds with ETags (an unchanged feed answers 304), and every entry links to a generated article page:
varied news-like HTML (several paragraphs, quotes, names, figures; about 3-6 KB of text) made with a seeded
RNG, so every run sees the same inputs. The bot side is the real thing: a SQLite store in a temporary
directory, :class:`bot.ingest.Ingestor` with :class:`bot.sources.Fetcher` over ``http_client(settings)``,
trafilatura extraction, the summarizer and the story index.

Rounds, each timed:

0. backfill (warm-up): the first poll of every feed stores its ``BACKLOG`` entries as backlog;
1. (a) nothing changed: every feed answers 304;
2. (b) ``NEW`` new entries per feed, each with a page: fetch + extract + summarize + store (articles/s).

(c) is the peak RSS of this process (``ru_maxrss``) at the end. All feeds live on one host, so
``network.per_host`` is raised to the global limit: with the default of 2 a single host would cap the whole
round at two requests in flight, which measures the politeness limit rather than the bot.

``--workers N`` measures ingestion as jobs instead (``[jobs] engine = "procrastinate"``, issue 17): for 1 and
then N worker processes, each pinned to one core (``os.sched_setaffinity``) and running :class:`bot.jobs.Worker`
on a fresh PostgreSQL schema (``--postgres``, default ``$NEWSBRIEF_TEST_POSTGRES`` or the local test database),
every feed's poll is queued at once and timed until the queue is empty: the first poll of each feed with ``--new``
entries, each page fetched, extracted, summarized and stored with its story. It reports new articles/s per row,
the CPU per article of the workers, of PostgreSQL and of the feed server, and the speed-up of N workers over 1
(the goal: >= 1.7x for 2), with what bounds it on this machine: the ceiling the measured CPU per article allows,
how the workers' CPU per article grows with every core busy (their extraction processes apart, whose work per
article does not change), and how many times the work of one core all cores do together (a calibration before
the runs). On a server with autovacuum off (this machine's CI configuration) the bench vacuums and analyzes its
tables every minute itself, as autovacuum would.

``--scale`` measures how an unchanged round grows with the number of feeds (issue 17: "10,000 unchanged feeds in
one round within 2x the time of 1,000 x 10"): after a backfill of ``SCALE_LARGE`` feeds (one entry each, feed text
only), ten rounds over 1,000 of them and then one round over all 10,000 (fresh SQLite stores, every feed
answering 304) are timed; it prints both times and PASS when the big round took at most twice the ten small ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import resource
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html import escape
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

SEED = 20250304
FEEDS = 1_000
BACKLOG = 2  # entries per feed at the first poll (stored as backlog; kept small to bound the run)
NEW = 5  # new entries per feed for round (b)
GLOBAL_LIMIT = 16  # network.global_limit (the default); per_host is raised to it
INTERVAL_S = 900
NOW = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)

TARGET_304_S = 10.0
TARGET_RATE = 30.0
TARGET_RSS_MB = 250.0  # the bot process alone; its page-extraction worker is reported beside it

# --- generated news ------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Maria Ellen John Aiko Pedro Fatima Oleg Grace Samuel Lena Ahmed Chloe Ravi Tomasz Ingrid Kwame Sofia Daniel "
    "Mei Hamid Nadia Lucas Priya Jonas Amara Viktor Elena Mateo Yusuf Hannah Kenji Beatriz Liam Zainab Marta "
    "Andrei Leila Patrick Anouk Diego Sunita Felix Rosa Emeka Clara Ibrahim Greta Hugo"
)
_LAST = _words(
    "Alvarez Okafor Lindqvist Tanaka Moreau Kowalski Haddad Brennan Costa Iyer Novak Fischer Mensah Romano "
    "Larsen Abebe Duarte Nakamura O'Connell Petrov Castillo Weber Adeyemi Sato Bianchi Hughes Rahman Jansen "
    "Ferreira Kaplan Morales Nilsen Osei Varga Whitfield Yilmaz Zhou Baptiste Delgado Eriksen Farouk"
)
_ROLES = (
    "the city's mayor",
    "a spokeswoman for the ministry",
    "an economist at the central bank",
    "the union leader",
    "a senior official",
    "the company's chief executive",
    "a local resident",
    "the head of the regional council",
    "a lawyer for the families",
    "the hospital's medical director",
    "a professor of public policy",
    "the opposition leader",
    "the fire service's chief officer",
    "a shop owner on the high street",
)
_CUES = ("said", "told reporters", "added", "warned", "argued", "said in a statement", "told the BBC")
_OPENERS = (
    "We know that",
    "Nobody expected that",
    "It is clear that",
    "I think",
    "Frankly,",
    "The truth is that",
    "For once,",
    "As far as I can tell,",
    "Honestly,",
    "Let me be clear:",
    "Everyone here knows",
    "It matters that",
)

# Each topic: a headline pattern, subjects, actions and details; {p} is a place, {n} a number, {m} a month.
_TOPICS: list[dict[str, Any]] = [
    {
        "head": ["{p} council approves {n} million budget for flood defences", "Flood barrier plan for {p} faces vote"],
        "subj": ["The council", "Engineers", "Residents of the old town", "The environment agency", "Councillors"],
        "act": [
            "approved a {n} million plan to raise the river walls",
            "warned that winter storms were getting worse",
            "asked for a public inquiry into the barrier",
            "published a survey of {n} homes at risk",
            "delayed the vote on the tidal gates until {m}",
            "criticised the cost of the pumping station",
        ],
        "det": [
            "after three winters of flooding in the lower streets",
            "despite objections from wildlife groups",
            "with work due to start in {m}",
            "as insurers raised premiums in the valley",
        ],
    },
    {
        "head": ["Rail strike halts trains across {p}", "Drivers in {p} walk out over pay and hours"],
        "subj": ["Train drivers", "The rail operator", "Commuters", "The transport union", "Ministers"],
        "act": [
            "walked out for {n} hours over pay",
            "cancelled {n} services on the coastal line",
            "offered a rise of {n} per cent over two years",
            "rejected the latest offer from management",
            "ran replacement buses between {p} and the airport",
            "called for talks to resume in {m}",
        ],
        "det": [
            "in the third stoppage since the spring",
            "leaving platforms empty during the morning rush",
            "as negotiators met behind closed doors",
            "while freight trains kept running overnight",
        ],
    },
    {
        "head": ["Storm leaves {n} homes without power in {p}", "Gales and heavy rain batter {p}"],
        "subj": ["Repair crews", "The weather service", "Emergency services", "Power companies", "Schools"],
        "act": [
            "restored power to {n} homes overnight",
            "issued an amber warning for wind and rain",
            "rescued {n} people from cars caught in floodwater",
            "closed the coast road near {p}",
            "reported gusts of {n} miles an hour on the hills",
            "opened rest centres in two schools",
        ],
        "det": [
            "as fallen trees blocked several roads",
            "with more rain forecast for the weekend",
            "after the river burst its banks upstream",
            "while ferries stayed in port",
        ],
    },
    {
        "head": ["Court hears evidence in {p} fraud trial", "Former director of {p} firm denies fraud"],
        "subj": ["Prosecutors", "The jury", "Defence lawyers", "The judge", "A former accountant"],
        "act": [
            "told the court that {n} million pounds had gone missing",
            "played recordings of phone calls",
            "argued that the invoices were genuine",
            "adjourned the hearing until {m}",
            "heard from {n} witnesses in the first week",
            "rejected a request to dismiss the case",
        ],
        "det": [
            "in a trial expected to last six weeks",
            "as relatives watched from the public gallery",
            "after a two-year investigation by the fraud office",
            "under reporting restrictions lifted on Monday",
        ],
    },
    {
        "head": ["{p} hospital waiting lists reach record {n}", "Nurses in {p} warn of winter pressure"],
        "subj": ["Hospital managers", "Nurses", "The health board", "Patients' groups", "Doctors"],
        "act": [
            "reported {n} patients waiting more than a year",
            "opened a new ward for elderly patients",
            "asked the government for emergency funding",
            "cancelled {n} planned operations",
            "recruited staff from overseas to fill vacancies",
            "published figures for the month of {m}",
        ],
        "det": [
            "as flu cases rose across the region",
            "despite a new diagnostic centre opening in the spring",
            "with ambulances queuing outside the emergency department",
            "ahead of the winter peak",
        ],
    },
    {
        "head": ["{p} factory to cut {n} jobs", "Carmaker confirms closure of {p} plant"],
        "subj": ["The company", "Workers", "The local MP", "Union officials", "Suppliers"],
        "act": [
            "confirmed plans to cut {n} jobs by {m}",
            "blamed high energy costs and weak demand",
            "held a meeting with staff at the gates",
            "called for government support for the site",
            "said production would move abroad",
            "offered voluntary redundancy to {n} staff",
        ],
        "det": [
            "in a blow to a town built around the factory",
            "after sales fell for a third year",
            "as shares rose on the news",
            "weeks after the firm reported a record profit",
        ],
    },
    {
        "head": ["{p} votes in tight mayoral race", "Polls open in {p} after bitter campaign"],
        "subj": ["Voters", "The candidates", "Election officials", "Party activists", "Observers"],
        "act": [
            "queued outside polling stations before dawn",
            "counted {n} postal votes overnight",
            "promised cheaper bus fares and more housing",
            "traded accusations in a final debate",
            "expected turnout of about {n} per cent",
            "declared the result shortly after midnight",
        ],
        "det": [
            "in a race seen as a test for the government",
            "after a campaign dominated by housing",
            "with the two leading candidates level in the polls",
            "as rain kept some voters at home",
        ],
    },
    {
        "head": ["{p} United reach cup final", "Late goal sends {p} into the final"],
        "subj": ["The players", "The manager", "Supporters", "The club", "The home side"],
        "act": [
            "won {g}-1 after extra time",
            "celebrated with fans on the pitch",
            "sold {n} tickets within an hour",
            "praised the young goalkeeper",
            "will face the champions in {m}",
            "dedicated the win to a former captain",
        ],
        "det": [
            "in front of a sell-out crowd",
            "after trailing at half-time",
            "for the first time in forty years",
            "despite losing two players to injury",
        ],
    },
    {
        "head": ["School building programme in {p} delayed", "Parents protest over {p} school closures"],
        "subj": ["Parents", "The education authority", "Head teachers", "Pupils", "Builders"],
        "act": [
            "marched to the town hall with banners",
            "postponed the opening of {n} new classrooms",
            "found crumbling concrete in {n} schools",
            "moved lessons into temporary cabins",
            "asked for a timetable for the repairs",
            "promised the work would finish by {m}",
        ],
        "det": [
            "as the new term approached",
            "after inspectors raised safety concerns",
            "with some pupils taught in the sports hall",
            "while the contractor blamed supply problems",
        ],
    },
    {
        "head": ["{p} airport expansion approved", "Night flights row as {p} airport grows"],
        "subj": ["The airport", "Planning inspectors", "Campaigners", "Airlines", "Nearby residents"],
        "act": [
            "won approval for a second terminal",
            "promised {n} new jobs over ten years",
            "vowed to challenge the decision in court",
            "added {n} routes for the summer",
            "complained about noise from early flights",
            "agreed a cap on night departures from {m}",
        ],
        "det": [
            "after a public inquiry lasting eight months",
            "despite the region's climate targets",
            "as passenger numbers passed their pre-pandemic peak",
            "with a noise insulation scheme for homes",
        ],
    },
    {
        "head": ["Wildfire forces evacuation near {p}", "Crews battle heath fire above {p}"],
        "subj": ["Firefighters", "Forestry rangers", "Helicopter pilots", "Evacuated families", "Farmers"],
        "act": [
            "fought flames across {n} hectares of moorland",
            "evacuated {n} caravans from the holiday park",
            "dropped water scooped from the reservoir",
            "blamed a disposable barbecue for the blaze",
            "moved sheep away from the burning slopes",
            "reopened the mountain pass by {m}",
        ],
        "det": [
            "as dry easterly winds fanned the fire",
            "under a thick plume visible from the motorway",
            "after the driest spring on record",
            "while smoke drifted over the estuary",
        ],
    },
    {
        "head": ["Museum in {p} returns looted bronzes", "{p} gallery unveils restored altarpiece"],
        "subj": ["Curators", "The museum's trustees", "Art historians", "Descendants of the sculptors", "Conservators"],
        "act": [
            "handed back {n} bronze plaques",
            "spent {n} months cleaning the gilded panels",
            "traced the carvings to a colonial expedition",
            "signed a loan agreement with the palace",
            "discovered hidden pigment beneath the varnish",
            "will display the altarpiece until {m}",
        ],
        "det": [
            "in a ceremony attended by the ambassador",
            "after decades of restitution claims",
            "using infrared scans and microscopes",
            "before the collection tours abroad",
        ],
    },
    {
        "head": ["Drought ration on farms around {p}", "Reservoirs near {p} fall to {n} per cent"],
        "subj": ["Growers", "The water company", "Hydrologists", "Irrigation engineers", "Market traders"],
        "act": [
            "banned hosepipes for {n} thousand customers",
            "ploughed under wilting potato crops",
            "trucked drinking water to hilltop hamlets",
            "measured groundwater at its lowest since records began",
            "raised vegetable prices at the covered market",
            "applied for abstraction licences before {m}",
        ],
        "det": [
            "amid a heatwave stretching into its fifth week",
            "with boreholes running dry",
            "while lawns turned brown across the suburbs",
            "despite a leaking mains network",
        ],
    },
    {
        "head": ["Tech start-up in {p} raises {n} million", "Battery maker picks {p} for gigafactory"],
        "subj": ["Founders", "Venture investors", "Software engineers", "The chancellor", "Chip designers"],
        "act": [
            "raised {n} million in a funding round",
            "hired graduates from the polytechnic",
            "unveiled a prototype solid-state cell",
            "leased a disused aircraft hangar",
            "licensed its algorithm to insurers",
            "expects revenue to triple by {m}",
        ],
        "det": [
            "in the largest deal of its kind this year",
            "backed by a sovereign wealth fund",
            "despite a slump in listings",
            "as rivals shed staff",
        ],
    },
    {
        "head": ["Landslide blocks railway outside {p}", "Cliff collapse closes beach at {p}"],
        "subj": ["Geologists", "Coastguards", "Track workers", "Holidaymakers", "Surveyors"],
        "act": [
            "cleared {n} tonnes of mud from the cutting",
            "cordoned off the promenade",
            "installed sensors along the crumbling headland",
            "rerouted freight via the inland loop",
            "photographed fossils exposed by the rockfall",
            "warned walkers to avoid the footpath until {m}",
        ],
        "det": [
            "after torrential overnight downpours",
            "where erosion has accelerated for years",
            "with drones mapping the slip",
            "as tides undercut the chalk",
        ],
    },
    {
        "head": ["Scientists in {p} sequence ancient wheat", "Telescope at {p} spots distant comet"],
        "subj": ["Researchers", "Astronomers", "Geneticists", "Doctoral students", "The observatory"],
        "act": [
            "sequenced grains recovered from a Bronze Age pit",
            "photographed a comet with a glowing tail",
            "published findings in a peer-reviewed journal",
            "calibrated the mirror with laser pulses",
            "crossed heritage varieties with modern strains",
            "will share raw data with colleagues in {m}",
        ],
        "det": [
            "using a spectrograph built in the basement",
            "with funding from a charitable endowment",
            "after a decade of painstaking fieldwork",
            "under unusually clear skies",
        ],
    },
]
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_LINKERS = (
    "Meanwhile,",
    "Earlier,",
    "On Monday,",
    "Later that day,",
    "In a separate development,",
    "Last year,",
    "According to official figures,",
    "Separately,",
)


def _fill(rng: random.Random, pattern: str, place: str) -> str:
    return pattern.format(p=place, n=rng.randint(2, 950), m=rng.choice(_MONTHS), g=rng.randint(2, 5))


_PLACE_HEADS = _words(
    "Ash Bram Cal Dun Elm Fen Glen Hal Ivy Kel Lang Mar Nor Old Pen Quen Ros Sel Tarn Ulls Vay Wick Yar Zell Bally "
    "Carr Dray Esk Fal Gor Holm Ince Kirk Lyd Mel Ness Orm Pol Rath Stav"
)
_PLACE_TAILS = _words(
    "ford bury wick ton field mouth bridge ley stead combe haven dale thorpe by minster worth hurst cliff wood "
    "mere gate holm ness port well"
)
_ORG_KINDS = (
    "Building Society",
    "Water Board",
    "Housing Trust",
    "Port Authority",
    "Steelworks",
    "Foundation",
    "Chamber of Commerce",
    "Bus Company",
    "Energy Cooperative",
    "Teaching Hospital",
    "Rugby Club",
    "Freight Terminal",
    "Credit Union",
    "Arts Festival",
)
_STREETS = ("Road", "Street", "Lane", "Avenue", "Quay", "Square", "Hill", "Parade", "Row", "Crescent")


def _place(rng: random.Random) -> str:
    return rng.choice(_PLACE_HEADS) + rng.choice(_PLACE_TAILS)


class _Writer:
    """One generated article: a topic, a place and a cast of named people and bodies, from a seeded RNG.

    Generated place, street and organisation names and full personal names recur through the article, as
    named entities do in real news; they keep unrelated articles of one topic about as dissimilar as real
    ones are, so that stories do not all merge (and the story index is not flooded with candidates).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.topic = rng.choice(_TOPICS)
        self.place = _place(rng)
        self.people = [(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", rng.choice(_ROLES)) for _ in range(4)]
        self.orgs = [f"{_place(rng)} {rng.choice(_ORG_KINDS)}" for _ in range(2)]
        self.streets = [f"{_place(rng)} {rng.choice(_STREETS)}" for _ in range(2)]
        self.title = _fill(rng, rng.choice(self.topic["head"]), self.place)
        self.author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"

    def _subject(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            name, role = rng.choice(self.people)
            return f"{name}, {role}," if rng.random() < 0.3 else name
        if roll < 0.45:
            return f"The {rng.choice(self.orgs)}"
        return str(rng.choice(self.topic["subj"]))

    def sentence(self) -> str:
        rng, topic = self.rng, self.topic
        core = f"{self._subject()} {_fill(rng, rng.choice(topic['act']), self.place)}"
        roll = rng.random()
        if roll < 0.45:
            core += f" {_fill(rng, rng.choice(topic['det']), self.place)}"
        elif roll < 0.7:
            where = rng.choice((*self.streets, self.place, f"the {rng.choice(self.orgs)}"))
            core += f" {rng.choice(('near', 'on', 'outside', 'beside', 'at'))} {where}"
        if rng.random() < 0.1:
            core = f"{rng.choice(_LINKERS)} {core[0].lower()}{core[1:]}"
        if rng.random() < 0.08:
            core += f", {rng.choice(('officials said', 'a report found', 'local media reported', 'records show'))}"
        return core + "."

    def quote(self) -> str:
        rng = self.rng
        name, role = rng.choice(self.people)
        words = self.sentence().rstrip(".")
        words = words[0].lower() + words[1:]
        pattern = rng.randrange(3)
        if pattern == 0:
            return f'"{words[0].upper()}{words[1:]}," {name}, {role}, {rng.choice(_CUES)}.'
        if pattern == 1:
            return f'{name}, {role}, {rng.choice(_CUES)}: "{rng.choice(_OPENERS)} {words}."'
        return f'"{rng.choice(_OPENERS)} {words}," {rng.choice(_CUES)} {name}.'

    def paragraphs(self, min_chars: int, max_chars: int) -> list[str]:
        target = self.rng.randint(min_chars, max_chars)
        out: list[str] = []
        size = 0
        quotes = 0
        while size < target:
            parts = [self.sentence() for _ in range(self.rng.randint(2, 4))]
            if quotes < 3 and (self.rng.random() < 0.4 or (len(out) == 2 and quotes == 0)):
                parts.insert(self.rng.randrange(len(parts) + 1), self.quote())
                quotes += 1
            paragraph = " ".join(parts)
            out.append(paragraph)
            size += len(paragraph) + 1
        return out


def article_html(feed: int, entry: int, published: datetime) -> tuple[str, str, str]:
    """(title, teaser, html) of one generated article page, the same on every run."""
    rng = random.Random(f"{SEED}:{feed}:{entry}")
    writer = _Writer(rng)
    paragraphs = writer.paragraphs(3_000, 6_000)
    outlet = f"The {_place(rng)} {rng.choice(('Post', 'Herald', 'Courier', 'Gazette', 'Chronicle'))}"
    related = "".join(f'<li><a href="/f{feed}/r{i}.html">{escape(_Writer(rng).title)}</a></li>' for i in range(4))
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    stamp = published.isoformat()
    html = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(writer.title)} | {escape(outlet)}</title>"
        f"<meta name='author' content='{escape(writer.author)}'>"
        f"<meta property='og:title' content='{escape(writer.title)}'>"
        f"<meta property='article:published_time' content='{stamp}'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='stylesheet' href='/static/site.css'></head><body>"
        f"<header><a href='/'>{escape(outlet)}</a><nav><ul><li><a href='/news'>News</a></li>"
        "<li><a href='/sport'>Sport</a></li><li><a href='/business'>Business</a></li>"
        "<li><a href='/weather'>Weather</a></li></ul></nav></header>"
        f"<main><article><h1>{escape(writer.title)}</h1>"
        f"<p class='byline'>By <span class='author'>{escape(writer.author)}</span>, "
        f"<time datetime='{stamp}'>{published:%d %B %Y}</time></p>"
        f"<div class='article-body'>{body}</div></article>"
        f"<aside><h2>Related stories</h2><ul>{related}</ul></aside></main>"
        "<footer><p>Sign up for our morning newsletter, delivered to your inbox.</p>"
        f"<p>Copyright 2025 {escape(outlet)}. All rights reserved.</p></footer></body></html>"
    )
    return writer.title, paragraphs[0].split(". ")[0] + ".", html


# --- the feed server (its own process) -----------------------------------------------------------------------


def _serve(conn: Connection) -> None:
    """Child process: serve generated feeds and pages on 127.0.0.1 until told to stop.

    Commands on ``conn``: ``("publish", count)`` adds ``count`` entries to every feed (new ETag, pages
    generated before the reply); ``("stats",)`` answers request counts; ``("stop",)`` ends the process.
    """
    from testkit.feedserver import FeedServer, Item, rss_feed

    n_feeds = conn.recv()
    server = FeedServer().start()
    items: list[list[Item]] = [[] for _ in range(n_feeds)]
    versions = [0] * n_feeds
    base = NOW - timedelta(days=2)
    rss = {"Content-Type": "application/rss+xml; charset=utf-8"}
    html_headers = {"Content-Type": "text/html; charset=utf-8"}

    def publish(count: int) -> None:
        for feed in range(n_feeds):
            for _ in range(count):
                entry = len(items[feed])
                published = base + timedelta(minutes=37 * entry + feed % 60)
                title, teaser, html = article_html(feed, entry, published)
                path = f"/f{feed}/a{entry}.html"
                server.route(path, html, headers=html_headers)
                items[feed].insert(
                    0,
                    Item(
                        title,
                        server.url(path),
                        guid=f"f{feed}-a{entry}",
                        published=published,
                        summary=teaser,
                        author=None,
                    ),
                )
            versions[feed] += 1
            body = rss_feed(items[feed][:20], title=f"Outlet {feed}", link=server.url(f"/f{feed}/"))
            server.route(f"/f{feed}/rss.xml", body, headers=rss, etag=f'"f{feed}-v{versions[feed]}"')

    conn.send(server.port)
    try:
        while True:
            command = conn.recv()
            if command[0] == "publish":
                publish(int(command[1]))
                conn.send("ok")
            elif command[0] == "stats":
                with server.lock:
                    conn.send(len(server.requests))
            else:
                break
    finally:
        server.stop()


class FeedProcess:
    """The feed server's process, driven over a pipe."""

    def __init__(self, n_feeds: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), name="ingest-bench-feeds", daemon=True)
        self.process.start()
        self.conn.send(n_feeds)
        self.port: int = self.conn.recv()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def publish(self, count: int) -> None:
        self.conn.send(("publish", count))
        assert self.conn.recv() == "ok"

    def requests(self) -> int:
        self.conn.send(("stats",))
        return int(self.conn.recv())

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("stop",))
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


# --- the bot (this process) ----------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _worker_peak_rss_mb(pool: Any) -> float:
    """Peak RSS (VmHWM) of the extraction worker processes, read from /proc while they still run."""
    total = 0.0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from /proc; ``None`` when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of process ``pid`` and of its descendants (a worker's extraction process), by pid."""
    used: dict[int, float] = {}
    own = _cpu_s(pid)
    if own is not None:
        used[pid] = own
    with contextlib.suppress(OSError):
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            for child in children.read_text().split():
                used.update(_tree_cpu(int(child)))
    return used


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process on this machine, by pid (empty where /proc is not there)."""
    used: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if (entry / "comm").read_text().strip() == "postgres":
                        seconds = _cpu_s(int(entry.name))
                        if seconds is not None:
                            used[int(entry.name)] = seconds
    return used


def _postgres_cpu_since(before: dict[int, float]) -> float:
    """PostgreSQL's CPU seconds since ``before`` (a process started since counts whole; one that ended, not)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in _postgres_cpu().items())


def _progress(total: int, label: str) -> Callable[[Any], None] | None:
    if not sys.stderr.isatty():
        return None
    done = 0

    def tick(_result: Any) -> None:
        nonlocal done
        done += 1
        if done % 50 == 0 or done == total:
            print(f"\r  {label}: {done}/{total} feeds", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)

    return tick


async def run(feeds: int, backlog: int, new: int, global_limit: int, profile: str | None) -> int:
    from bot.config import settings_from_mapping
    from bot.ingest import Ingestor, extraction_pool, http_client, load_story_index
    from bot.sources import Fetcher
    from bot.store import Store

    started = time.perf_counter()
    server = FeedProcess(feeds)
    try:
        server.publish(backlog)
        settings = settings_from_mapping(
            {
                "network": {"allow_private": ["127.0.0.1"], "per_host": global_limit, "global_limit": global_limit},
                "poll": {"backfill": 0},
            }
        )
        with tempfile.TemporaryDirectory(prefix="newsbrief-bench-") as tmp, extraction_pool() as pool:
            db = Path(tmp) / "bench.db"
            store = Store(f"sqlite:///{db}")
            store.upgrade()
            for i in range(feeds):
                store.add_feed(
                    f"http://127.0.0.1:{server.port}/f{i}/rss.xml", name=f"Outlet {i}", interval_s=INTERVAL_S, now=NOW
                )
            async with http_client(settings) as client:
                ingestor = Ingestor(
                    store,
                    Fetcher(client, settings.network),
                    settings,
                    stories=load_story_index(store, NOW, days=30),
                    rng=random.Random(SEED),
                    extract_executor=pool,
                )
                rounds: list[tuple[str, float, float, Counter[str], int]] = []

                async def poll(label: str, when: datetime, profile_as: str | None = None) -> None:
                    profiler = None
                    if profile and profile_as:
                        import cProfile

                        profiler = cProfile.Profile()
                        profiler.enable()
                    t0, cpu0 = time.perf_counter(), time.process_time()
                    results = await ingestor.poll_round(when, progress=_progress(feeds, label))
                    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                    if profiler is not None:
                        profiler.disable()
                        profiler.dump_stats(f"{profile}-{profile_as}.prof")
                    statuses = Counter(r.status for r in results)
                    errors = sum(len(r.errors) for r in results)
                    for r in results:
                        statuses["_new"] += r.new
                    rounds.append((label, elapsed, cpu, statuses, errors))

                await poll("backfill", NOW)
                await poll("unchanged", NOW + timedelta(minutes=16), "a")
                server.publish(new)
                await poll("new entries", NOW + timedelta(minutes=32), "b")
            store.close()
            peak = _peak_rss_mb()
            worker_peak = _worker_peak_rss_mb(pool)
            with sqlite3.connect(db) as con:
                n_articles, n_page, n_eligible, n_summarized = con.execute(
                    "SELECT count(*), sum(text_source = 'page'), sum(eligible), sum(summary_json IS NOT NULL) "
                    "FROM articles"
                ).fetchone()
                n_stories = con.execute("SELECT count(*) FROM stories").fetchone()[0]
                avg_chars = con.execute("SELECT avg(length(text)) FROM articles").fetchone()[0] or 0
            requests = server.requests()
    finally:
        server.stop()

    cores = os.cpu_count() or 1
    print(f"Ingestion: {feeds:,} RSS feeds on a loopback server in a separate process (127.0.0.1:{server.port}),")
    print(f"{backlog} backlog + {new} new entries per feed, each linking to a generated article page (seed {SEED});")
    print(f"SQLite store in a temp dir; {cores} CPU core(s). network.global_limit = {global_limit}, and")
    print(f"network.per_host raised from 2 to {global_limit}: all {feeds:,} feeds share one host here.")
    print()
    rows = []
    for label, elapsed, cpu, statuses, errors in rounds:
        new_count = statuses["_new"]
        rate_text = f"{new_count / elapsed:,.1f}" if new_count else "-"
        rows.append(
            [
                label,
                f"{elapsed:.2f}",
                f"{cpu:.2f}",
                str(statuses["ok"]),
                str(statuses["not_modified"]),
                str(statuses["error"] + statuses["disabled"]),
                str(new_count),
                rate_text,
                str(errors),
            ]
        )
    header = ["round", "wall s", "bot cpu s", "200", "304", "failed", "new articles", "articles/s", "entry errors"]
    print(_table(header, rows))
    print()
    _, unchanged_s, _, unchanged_st, _ = rounds[1]
    _, new_s, _, new_st, _ = rounds[2]
    rate = new_st["_new"] / new_s if new_s else 0.0
    all_304 = unchanged_st["not_modified"] == feeds
    checks = [
        [
            "(a) nothing changed (all 304)",
            f"{unchanged_s:.2f} s",
            f"<= {TARGET_304_S:g} s",
            "met" if unchanged_s <= TARGET_304_S and all_304 else "NOT met",
        ],
        [
            f"(b) {new} new entries x {feeds:,} feeds",
            f"{rate:,.1f} articles/s",
            f">= {TARGET_RATE:g} articles/s",
            "met" if rate >= TARGET_RATE and new_st["_new"] == new * feeds else "NOT met",
        ],
        [
            "(c) peak RSS of the bot process",
            f"{peak:,.0f} MB",
            f"<= {TARGET_RSS_MB:g} MB",
            "met" if peak <= TARGET_RSS_MB else "NOT met",
        ],
        ["    + its page-extraction worker", f"{worker_peak:,.0f} MB", "(reported, not in the target)", ""],
    ]
    print(_table(["measure", "figure", "target", ""], checks))
    print()
    print(
        f"store: {n_articles:,} articles ({n_page or 0:,} text from the page, {n_summarized or 0:,} summarized, "
        f"{n_eligible or 0:,} eligible), {n_stories:,} stories, {avg_chars:,.0f} chars of text on average; "
        f"the server answered {requests:,} requests"
    )
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0


# --- ingestion as jobs: worker processes on PostgreSQL ------------------------------------------------------

TARGET_SPEEDUP = 1.7
_UNFINISHED = "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
AUTOVACUUM_EVERY_S = 60.0
"""On a server with autovacuum off (this machine's CI configuration), how often the bench vacuums and analyzes its
tables itself while the workers run: autovacuum's default naptime, as a stock server would (without it the job
queue's dead rows pile up and every table keeps the statistics of its empty start)."""
WORKER_CONCURRENCY = 8  # jobs in flight per worker: page fetches overlap, the CPU work runs one at a time


def _bench_worker(conn: Connection, mapping: dict[str, Any], core: int) -> None:
    """Child process: one job worker pinned to ``core`` on the store ``mapping`` names, until SIGTERM."""
    os.sched_setaffinity(0, {core})
    from bot.config import settings_from_mapping
    from bot.ingest import extraction_pool, http_client, ingestor_for
    from bot.jobs import Worker, job_app
    from bot.store import Store

    settings = settings_from_mapping(mapping)
    now = NOW + timedelta(minutes=1)

    async def work() -> None:
        with (
            Store(settings.store.url) as store,
            extraction_pool() as pool,  # its process pinned to the worker's core too
            ThreadPoolExecutor(1, thread_name_prefix="newsbrief-store") as store_thread,
        ):
            async with http_client(settings) as client:
                ingestor = ingestor_for(store, client, settings, now, executor=pool, store_thread=store_thread)
                app = job_app(settings)
                async with app.open_async():
                    conn.send("ready")
                    await Worker(app, ingestor, lambda: now).run(recover_every=None)

    asyncio.run(work())


async def _vacuum_analyze(dsn: str, schema: str) -> None:
    """What autovacuum does to a queue's tables, for a server that has it off: ``VACUUM (ANALYZE)`` of the bench
    schema's tables (their dead job rows reclaimed, their statistics those of their size now)."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        tables = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        for (table,) in await tables.fetchall():
            await conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')


LOCK_SAMPLE_S = 0.02
"""How often the bench looks whether the story lock is held (:class:`_LockWatch`)."""


class _LockWatch:
    """From a thread of its own, looks every :data:`LOCK_SAMPLE_S` whether a session holds the story lock
    (``pg_locks``): the share of looks that found it held is the share of the time it was held. Every article's
    story is decided under it, so it bounds ingestion however many workers run: 1 / (time held per article)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.looks = 0
        self.held = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="story-lock-watch", daemon=True)

    def _watch(self) -> None:
        import psycopg

        from bot.store import STORY_LOCK_KEY

        query = (
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s AND objid = %s)"
        )
        key = (STORY_LOCK_KEY >> 32, STORY_LOCK_KEY & 0xFFFFFFFF)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(LOCK_SAMPLE_S):
                row = conn.execute(query, key).fetchone()
                self.looks += 1
                self.held += bool(row and row[0])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def share(self) -> float:
        return self.held / self.looks if self.looks else 0.0


CAPACITY_PAGES = 200
"""Generated pages each process extracts and summarizes in :func:`_core_capacity` (a few seconds of work)."""


def _capacity_worker(conn: Connection, core: int, pages: int) -> None:
    """Child process: on ``core``, extract and summarize ``pages`` generated pages when told to; send the seconds."""
    os.sched_setaffinity(0, {core})
    from bot.sources import extract_page
    from summarizer import summarize

    htmls = [article_html(90_000 + i, 0, NOW)[2] for i in range(pages)]
    summarize("Warm-up. The summarizer loads its models once.", sentences=1)
    conn.send("ready")
    conn.recv()
    started = time.perf_counter()
    for i, html in enumerate(htmls):
        page = extract_page(html, f"http://127.0.0.1/capacity/{i}.html")
        if page is not None:
            summarize(page.text, title=page.title, sentences=3, quotes=2, language="en")
    conn.send(time.perf_counter() - started)


def _core_capacity(cores: list[int], pages: int = CAPACITY_PAGES) -> float:
    """How many times the work of one core ``cores`` do together, on this machine as it is now: the workers' CPU
    work (extraction and summarizing of the bench's pages) run by one process pinned to the first core, then by
    one process on each core at once. Cores of a virtual machine may share physical cores on its host (SMT
    siblings): then two busy cores do well under twice the work of one, whatever the program. The median of three
    tries."""
    ctx = multiprocessing.get_context("spawn")

    def seconds(on: list[int]) -> list[float]:
        pipes, children = [], []
        for core in on:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_capacity_worker, args=(child, core, pages), name=f"capacity-{core}")
            process.start()
            pipes.append(parent)
            children.append(process)
        for parent in pipes:
            assert parent.recv() == "ready"
        for parent in pipes:
            parent.send("go")
        took = [float(parent.recv()) for parent in pipes]
        for process in children:
            process.join(30)
        return took

    ratios = []
    for _ in range(3):  # the median of three: a virtual machine's cores are not always as fast
        alone = seconds(cores[:1])[0]
        ratios.append(len(cores) * alone / max(seconds(cores)))
    return sorted(ratios)[1]


async def run_workers(feeds: int, new: int, global_limit: int, most: int, postgres: str) -> int:
    import psycopg

    from bot.config import settings_from_mapping
    from bot.jobs import JobQueue, job_report
    from bot.store import Store

    cores = sorted(os.sched_getaffinity(0))
    started = time.perf_counter()
    rows: list[list[str]] = []
    rates: dict[int, float] = {}
    cpu_ms: dict[int, float] = {}
    worker_ms: dict[int, float] = {}
    extraction_ms: dict[int, float] = {}
    lock_ms: dict[int, float] = {}
    dsn = postgres.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        autovacuum_off = conn.execute("SHOW autovacuum").fetchone() == ("off",)
    capacity = _core_capacity(cores) if most > 1 and len(cores) > 1 else None  # printed with the speed-up only
    for count in sorted({1, most}):
        schema = f"bench_{os.getpid()}_{count}"
        server = FeedProcess(feeds)
        children: list[multiprocessing.process.BaseProcess] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            server.publish(new)
            url = f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}"
            mapping = {
                "store": {"url": url},
                "network": {"allow_private": ["127.0.0.1"], "per_host": global_limit, "global_limit": global_limit},
                "poll": {"backfill": 0},
                "jobs": {"engine": "procrastinate", "concurrency": WORKER_CONCURRENCY},
            }
            settings = settings_from_mapping(mapping)
            with Store(url) as store:
                store.upgrade()
                for i in range(feeds):
                    store.add_feed(
                        f"http://127.0.0.1:{server.port}/f{i}/rss.xml",
                        name=f"Outlet {i}",
                        interval_s=INTERVAL_S,
                        now=NOW,
                    )
                ctx = multiprocessing.get_context("spawn")
                pipes = []
                for i in range(count):
                    parent, child = ctx.Pipe()
                    process = ctx.Process(
                        target=_bench_worker,
                        args=(child, mapping, cores[i % len(cores)]),
                        name=f"ingest-bench-worker-{i}",
                        daemon=False,  # a worker may start its extraction process
                    )
                    process.start()
                    children.append(process)
                    pipes.append(parent)
                for parent in pipes:
                    assert parent.recv() == "ready"
                pg_before = _postgres_cpu()
                worker_before = {pid: s for p in children if p.pid for pid, s in _tree_cpu(p.pid).items()}
                server_before = _cpu_s(server.pid) or 0.0
                t0 = time.perf_counter()
                lock_watch = _LockWatch(dsn)
                lock_watch.start()
                async with JobQueue(settings) as queue:
                    await queue.defer_polls(store.due_feeds(NOW + timedelta(minutes=1)))
                    vacuumed = time.perf_counter()
                    # a light look, twice a second: this process shares the cores with the workers it measures
                    while (await queue.query(_UNFINISHED))[0]["n"]:
                        await asyncio.sleep(0.5)
                        if autovacuum_off and time.perf_counter() - vacuumed >= AUTOVACUUM_EVERY_S:
                            await _vacuum_analyze(dsn, schema)
                            vacuumed = time.perf_counter()
                    elapsed = time.perf_counter() - t0
                    lock_watch.stop()
                    # a process started since (the extraction process starts with the first page) counts whole
                    used_by = {p.pid: _tree_cpu(p.pid) for p in children if p.pid}
                    worker_cpu = sum(
                        used - worker_before.get(pid, 0.0) for tree in used_by.values() for pid, used in tree.items()
                    )
                    extraction_cpu = sum(  # a worker's extraction process: its child
                        used - worker_before.get(pid, 0.0)
                        for worker, tree in used_by.items()
                        for pid, used in tree.items()
                        if pid != worker
                    )
                    pg_cpu = _postgres_cpu_since(pg_before)
                    server_cpu = (_cpu_s(server.pid) or 0.0) - server_before
                    report = await job_report(queue, NOW, limit=0)
                stored = len(store.list_articles(feeds * new + 1))
        finally:
            for process in children:
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
            for process in children:
                process.join(30)
            server.stop()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        rates[count] = stored / elapsed if elapsed else 0.0
        per_article = 1000 / stored if stored else 0.0
        cpu_ms[count] = (worker_cpu + pg_cpu + server_cpu) * per_article
        worker_ms[count] = worker_cpu * per_article
        lock_ms[count] = lock_watch.share * elapsed * per_article
        extraction_ms[count] = extraction_cpu * per_article
        rows.append(
            [
                str(count),
                ", ".join(str(cores[i % len(cores)]) for i in range(count)),
                f"{elapsed:.2f}",
                str(stored),
                str(report.counts["failed"]),
                f"{rates[count]:,.1f}",
                f"{worker_cpu * per_article:.1f}",
                f"{pg_cpu * per_article:.1f}",
                f"{server_cpu * per_article:.1f}",
            ]
        )
    print(f"Ingestion as jobs: {feeds:,} feeds x {new} new entries, each linking to a generated page (seed {SEED}),")
    print(f"on a loopback server in a separate process; procrastinate on PostgreSQL ({len(cores)} usable cores);")
    print(f"each worker pinned to one core, {WORKER_CONCURRENCY} jobs in flight; every feed's poll queued at once.")
    if autovacuum_off:
        every = f"{AUTOVACUUM_EVERY_S:g} s"
        print(f"autovacuum is off on this server: the bench runs VACUUM (ANALYZE) on its tables every {every},")
        print("autovacuum's default naptime, as a stock server would.")
    print()
    header = ["workers", "cores", "wall s", "new articles", "dead jobs", "articles/s", "worker ms/art", "pg ms/art"]
    print(_table([*header, "feeds ms/art"], rows))
    print("(CPU per article stored: of the workers with their extraction processes, of every PostgreSQL process and")
    print("of the feed server, on this machine)")
    speedup = rates[most] / rates[1] if rates.get(1) else 0.0
    if most > 1:
        verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
        print(f"\nspeed-up of {most} workers over 1: {speedup:.2f}x (goal >= {TARGET_SPEEDUP:g}x for 2: {verdict})")
        if cpu_ms.get(most) and rates.get(1) and len(cores) <= most:
            # every core runs a worker: PostgreSQL (and the feed server) now take their CPU from the workers'
            # cores, while beside one worker they had a core of their own
            ceiling = len(cores) * 1000 / cpu_ms[most] / rates[1]
            print(
                f"ceiling on these {len(cores)} cores, shared with PostgreSQL and the feed server: {ceiling:.2f}x "
                f"({len(cores)} cores / {cpu_ms[most]:.1f} ms of CPU per article)"
            )
        if worker_ms.get(1) and extraction_ms.get(1) and worker_ms.get(most) and extraction_ms.get(most):
            # the extraction processes do the same work per article however many workers run: what their CPU per
            # article gains is the machine running slower with every core busy
            main = {n: worker_ms[n] - extraction_ms[n] for n in (1, most)}
            print(
                f"workers' CPU per article, 1 -> {most} workers: extraction processes {extraction_ms[1]:.1f} -> "
                f"{extraction_ms[most]:.1f} ms ({extraction_ms[most] / extraction_ms[1] - 1:+.0%}, the same work), "
                f"the rest {main[1]:.1f} -> {main[most]:.1f} ms ({main[most] / main[1] - 1:+.0%})"
            )
        if capacity is not None:
            print(
                f"this machine's {len(cores)} cores together do {capacity:.2f}x the work of one (the workers' "
                "extraction and summarizing, on one core and then on every core at once, before the runs)"
            )
    held = [
        f"{lock_ms[n]:.1f} ms with {n} worker{'s' if n > 1 else ''} (alone a cap of {1000 / lock_ms[n]:.0f}/s)"
        for n in sorted(lock_ms)
        if lock_ms[n]
    ]
    every = f"{LOCK_SAMPLE_S * 1000:g} ms"
    print(f"story lock held per article stored (pg_locks sampled every {every}): {', '.join(held) or 'never seen'}")
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0


# --- scale: one round over 10,000 unchanged feeds against ten rounds over 1,000 ---------------------------------

SCALE_SMALL = 1_000
SCALE_LARGE = 10_000
SCALE_LIMIT = 2.0  # the big round may take this many times the small rounds together


async def _unchanged_rounds(port: int, feeds: int, rounds: int, global_limit: int) -> tuple[float, Counter[str]]:
    """A fresh SQLite store with ``feeds`` of the server's feeds, backfilled (untimed); then ``rounds`` rounds over
    them, every feed due and unchanged: their wall time together and the statuses of the timed polls."""
    from bot.config import settings_from_mapping
    from bot.ingest import Ingestor, http_client, load_story_index
    from bot.sources import Fetcher
    from bot.store import Store

    settings = settings_from_mapping(
        {
            "network": {"allow_private": ["127.0.0.1"], "per_host": global_limit, "global_limit": global_limit},
            "poll": {"backfill": 0, "fetch_pages": False},
        }
    )
    with tempfile.TemporaryDirectory(prefix="newsbrief-bench-") as tmp, Store(f"sqlite:///{tmp}/scale.db") as store:
        store.upgrade()
        for i in range(feeds):
            store.add_feed(f"http://127.0.0.1:{port}/f{i}/rss.xml", name=f"Outlet {i}", interval_s=INTERVAL_S, now=NOW)
        async with http_client(settings) as client:
            ingestor = Ingestor(
                store,
                Fetcher(client, settings.network),
                settings,
                stories=load_story_index(store, NOW, days=30),
                rng=random.Random(SEED),
            )
            await ingestor.poll_round(NOW, progress=_progress(feeds, f"backfill {feeds:,}"))
            statuses: Counter[str] = Counter()
            elapsed = 0.0
            for k in range(1, rounds + 1):
                when = NOW + timedelta(seconds=(INTERVAL_S + 60) * k)
                t0 = time.perf_counter()
                results = await ingestor.poll_round(when, progress=_progress(feeds, f"unchanged {feeds:,} #{k}"))
                elapsed += time.perf_counter() - t0
                statuses.update(r.status for r in results)
    return elapsed, statuses


async def run_scale(small: int, large: int, global_limit: int) -> int:
    started = time.perf_counter()
    server = FeedProcess(large)
    try:
        server.publish(1)
        rounds = large // small
        small_s, small_st = await _unchanged_rounds(server.port, small, rounds, global_limit)
        large_s, large_st = await _unchanged_rounds(server.port, large, 1, global_limit)
    finally:
        server.stop()
    print("Scale: unchanged rounds (every feed answers 304) on a loopback server in a separate process; SQLite,")
    print(f"network.global_limit = per_host = {global_limit}; {os.cpu_count() or 1} CPU core(s).")
    print()
    rows = [
        [
            f"{rounds} rounds x {small:,} feeds",
            f"{small_s:.2f}",
            f"{small_s / rounds:.2f}",
            str(small_st["not_modified"]),
            str(sum(small_st.values()) - small_st["not_modified"]),
        ],
        [
            f"1 round x {large:,} feeds",
            f"{large_s:.2f}",
            f"{large_s:.2f}",
            str(large_st["not_modified"]),
            str(sum(large_st.values()) - large_st["not_modified"]),
        ],
    ]
    print(_table(["rounds", "wall s", "s per round", "304", "other"], rows))
    all_304 = small_st["not_modified"] == small * rounds and large_st["not_modified"] == large
    ok = all_304 and large_s <= SCALE_LIMIT * small_s
    print(
        f"\n{large:,} feeds in one round: {large_s:.2f} s; {small:,} x {rounds}: {small_s:.2f} s; ratio "
        f"{large_s / small_s if small_s else float('inf'):.2f} (limit {SCALE_LIMIT:g}x, all 304: {all_304}): "
        f"{'PASS' if ok else 'FAIL'}"
    )
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--backlog", type=int, default=BACKLOG)
    parser.add_argument("--new", type=int, default=NEW)
    parser.add_argument("--global-limit", type=int, default=GLOBAL_LIMIT)
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile rounds (a) and (b) into PREFIX-a/-b.prof")
    parser.add_argument("--workers", type=int, metavar="N", help="ingestion as jobs: 1, then N pinned workers")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="PostgreSQL for --workers (a schema of its own, dropped)",
        default=os.environ.get("NEWSBRIEF_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help=f"one round over {SCALE_LARGE:,} unchanged feeds against {SCALE_SMALL:,} x 10",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if args.workers is not None:
        if args.workers < 1:
            parser.error("--workers: at least 1")
        return asyncio.run(run_workers(args.feeds, args.new, args.global_limit, args.workers, args.postgres))
    if args.scale:
        return asyncio.run(run_scale(SCALE_SMALL, SCALE_LARGE, args.global_limit))
    return asyncio.run(run(args.feeds, args.backlog, args.new, args.global_limit, args.profile))


if __name__ == "__main__":
    sys.exit(main())
