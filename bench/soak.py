"""Soak test (``make soak``): the real ``newsbrief run`` under feed faults, chat faults, crashes and a handover.

Run as ``python bench/soak.py`` (default 8 minutes of soak, under 10 minutes in all), ``--minutes N`` (3 to 9) or
``--quick`` (a 2-minute smoke run with fewer kills). Everything it talks to is on 127.0.0.1, in this process:

- a feed server with ``--feeds`` (200) RSS and Atom feeds. A publisher thread (seeded RNG) writes news events
  that several outlets cover (so stories group across feeds), publishes ~1.2 new entries a second and updates
  older ones (title and text). Every response may be a fault: 5xx, 429 with Retry-After, a timeout (no answer
  within the bot's read timeout), a body cut off by a connection reset, malformed XML (a cut document or a
  stray ``&``), an item duplicated in the document, or date churn (every item re-dated); some new entries reuse
  an older entry's GUID. The server logs every entry it put in a response;
- FakeSlack (Web API + Socket Mode) and FakeDiscord (REST + gateway) from ``tests/``, each injecting 429s and
  5xx on digest posts and channel history, and dropping the Socket Mode and gateway connections now and then;
  every 5-15 s one fault is queued for the next live alert edit (Slack ``chat.update``, Discord message
  ``PATCH``), once an edit came since the last one: a 429, or a 500/503, which three times in ten the platform
  applied before answering it.

The bot runs as subprocesses (``python -m bot --config CFG run``, SQLite in a temp dir, Slack and Discord
tokens in the environment, so it runs as a service), with a 3 s scheduler lease, jobs synced every 5 s, each
feed polled every 20-30 s, and nine digest subscriptions (three each on the console, Slack and Discord) made
before the first start, with the schedule ``* * * * *``, and five live ones (``live``, issue 16: two channels each
on Slack and Discord, one on the console, each its own channel and one topic; ``[live]`` settle 10 s, edit_every
30 s, per_hour 60, which no channel reaches): each new story of the topic is posted once, then edited in place
as more outlets report it (the publisher spreads each event over outlets for three minutes). Feed texts come from
the feeds (``fetch_pages = false``: entry links point at ``*.example`` hosts, one per outlet, never fetched); all
feeds share one host, so ``network.per_host`` is raised to 16; ``read_timeout`` is 3 s and ``max_backoff`` 90 s
so that failing feeds come back within the run. The timeline:

1. crash phase: one process at a time; it is killed with SIGKILL at random moments (some uniform, some just
   after a minute boundary while digests go out, one right after a Slack digest reached FakeSlack and one right
   after a Discord digest reached FakeDiscord, i.e. between the post and its ledger write: the fake kills the
   poster before it answers; --quick: the Slack one only), likewise one right after a story's live alert reached
   FakeSlack and one after one reached FakeDiscord (--quick: Slack), and restarted 0.5-4 s later; a post/ledger
   kill that saw no digest (alert) within 65 s is tried again after the planned kills (not in --quick);
2. handover: a second process (L) starts as a standby, the leader is stopped with SIGTERM, L must take over at
   once; a third process then runs beside L as a standby to the end. L lives to the end unkilled: its RSS is
   sampled every 2 s and compared between its minute 2 and its last sample;
3. drain (last 60 s): no new entries, no faults, so that every healthy feed is polled once more;
4. both processes are stopped with SIGTERM, and everything is checked against what the servers logged.

Checks (each PASS/FAIL; the exit status is 1 on any FAIL). None passes on nothing: each has a floor derived
from the plan (``Floors``: minutes, feeds, subscriptions, planned kills, publish rate) with a wide margin, and
prints it ("30 posted (floor 12)"); with M whole minutes and F feeds:

- kills: at least 5 SIGKILLs (1 in --quick), including a post/ledger kill on Slack AND on Discord (Slack only
  in --quick); each such slot was still in flight in the database right after the kill, and ends up posted
  exactly once (the restart found the message by its metadata/footer instead of posting it again);
- handover: the standby printed "took over" within lease + 5 s of the leader's stop, and claimed the slots of
  all but one of the slot times after it;
- exactly once (Slack, Discord): every slot whose database outcome is "posted" has exactly one digest on the
  platform (Slack: message metadata ``event_payload.ref`` = ``sub:<id>:<slot>``, one per part; Discord: the ref in
  the embed footers, one message per nonce); no platform digest carries a slot the database lacks or has as
  not posted; a claim still in flight at the end is accepted only when it is younger than the recovery delay;
  at least 3 x (M - 4) digests posted per platform (1 in --quick);
- console: digests printed on the processes' stdout per channel: posted <= printed <= posted + recovered + in
  flight (claims finished by recovery after their process died, or still waiting for it): a terminal has no
  history to look in, so by design a digest whose poster died unrecorded may have been printed once more; at
  least 3 x (M - 4) posted (1 in --quick);
- slots: every minute between a subscription's creation and the end has a claim row; a slot without one is
  "lost", excused only when it was coalesced (two slot times in one stretch without a leader); at least
  9 x (M - 2) claimed (9 in --quick) and 9 x (M - 3) finished (3 in --quick);
- stories: no story appears in two digests of one channel unless it gained at least ``RENEWAL`` articles
  between the first slot time and the second post (counted generously from the articles' first-seen times, plus
  the articles first seen before the slot of outlets the first digest did not cite: stored after it read the
  story, their poll having begun before the slot);
  every story the ledger (``posted_stories``) records as posted to a channel is in one of its digests; at least
  twice the per-platform digest floor of (channel, story) pairs shown, and of stories recorded;
- leadership: no live leader lost its lease (the leader changes only when the soak kills or stops it), and
  every process meant to lead did (the first, each one started after a kill, and L);
- entries: every entry the feed server put in a response is stored (by its link, linked to its feed), unless
  its feed has a recorded error at the end (failing, disabled, or its last poll recorded a parse error); at
  least the backlog (2 x F) and half the entries the publisher is expected to write are served and stored; for
  healthy feeds (at least 75% of F) the stored title is the latest version served, over at least a quarter of
  the updates expected (none required in --quick, where few feeds have entries to update);
- articles: every stored article has a story (and they fall into at least F / 20 stories);
- live alerts (Slack and Discord; the console's are counted, a terminal keeps no messages to check), with
  ``live_floor`` = max(2, M) and ``edit_floor`` = max(1, M // 2): a figure row "N messages (stories / summaries /
  replies), M edited (Slack / Discord)";
  - each story posted once per channel: no marker (``live:<story>``, in the Slack metadata or the Discord embed
    footer) twice in one channel; at least ``live_floor`` story alerts per platform;
  - every ledger row's message is on the platform: each posted or summarized row's ``message_ref`` names a
    message there carrying the row's marker; a claim still unfinished is accepted only when younger than the
    alert recovery delay (2 min) plus a margin; at least 2 x ``live_floor`` finished rows;
  - every edit applied to the recorded message, none lost: each edit the fakes answered 200 targets a message
    the ledger records as posted; each posted message shows the outlet count the ledger last recorded (unless
    its last edit was claimed within ``edit_every`` + 2 x sync + 15 s of the end: in flight); no posted story
    grew (more articles than the ledger's row) longer than that before the end without its message being edited
    (excused: a story merged into another one posted there on its own); at least ``edit_floor`` edited messages
    per platform;
  - no alert message without a ledger row (orphan): each one is some row's ``message_ref``, or its story's claim
    is still within the recovery delay; at least 2 x ``live_floor`` messages;
  - alert post/ledger kills recovered: each such kill (required: Slack and Discord, --quick Slack) left the claim
    in flight right after it, and its story ends up posted with the very message the fake got, one copy in the
    channel (or its claim still within the recovery delay);
- the database passes ``Store.integrity_check()``;
- RSS of L grew less than 20% between its minute 2 (mid-life in --quick) and its last sample, from at least
  half the samples of the drain;
- no bot process exited unless the soak killed or stopped it, and every SIGTERM (at least 3) ended with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

from bot.alerts import LiveSettings  # noqa: E402
from bot.config import SchedulerConfig  # noqa: E402
from bot.digests import RENEWAL  # noqa: E402
from bot.store import Article, DigestSlot, Feed, LiveAlert, Store, Subscription  # noqa: E402
from testkit.dbproxy import CutProxy  # noqa: E402
from testkit.fakediscord import FakeDiscord  # noqa: E402
from testkit.fakeslack import FakeSlack  # noqa: E402
from testkit.feedserver import Item, atom_feed, rss_feed  # noqa: E402

SEED = 20250601
FEEDS = 200
DEFAULT_MINUTES = 8
LEASE_S = 3
SYNC_S = 5
READ_TIMEOUT_S = 3
MAX_BACKOFF_S = 90
RECOVER_AFTER_S = max(SchedulerConfig().recover_after.total_seconds(), 2 * LEASE_S)
"""A claim left in flight by a dead process is finished by the leader this long after it was made."""
RSS_GROWTH_LIMIT = 0.20
RSS_EVERY_S = 2.0
PUBLISH_RATE = 1.2  # new entries a second, over all feeds
UPDATE_RATE = 0.15  # entry updates a second
NEW_EVENT_RATE = 0.12  # news events a second

LEADS = "Scheduler: this process leads"
TOOK_OVER = "Scheduler: this process took over the scheduler."
STANDBY = "runs the scheduler on this database"
RUNNING = "Running until stopped"
LEASE_LOST = "scheduler: lost the lease to another process"
SLACK_CHANNELS = ("C0SOAK1", "C0SOAK2", "C0SOAK3")
DISCORD_GUILD = "1100000000000000001"
DISCORD_CHANNELS = ("1100000000000000011", "1100000000000000012", "1100000000000000013")
CONSOLE_CHANNELS = ("desk-1", "desk-2", "desk-3")
LIVE_SLACK_CHANNELS = ("C0LIVE1", "C0LIVE2")
LIVE_DISCORD_CHANNELS = ("1100000000000000021", "1100000000000000022")
LIVE_CONSOLE_CHANNEL = "desk-live"
LIVE_SETTLE_S = 10
LIVE_EDIT_EVERY_S = 30
LIVE_PER_HOUR = 60  # no channel reaches it in a soak: stories keep being posted (and killed) all through
ALERT_RECOVER_S = LiveSettings().recover_after.total_seconds()
"""An alert claim left unfinished by a dead process is looked for on the platform this long after it was made."""
ALERT_PENDING_S = ALERT_RECOVER_S + 2 * SYNC_S + 20
"""An alert claim (or an edit) still unfinished at the end is accepted when it is younger than this."""
REF = re.compile(r"sub:(\d+):(\d{4}-\d\d-\d\dT\d\d:\d\dZ)")
LIVE_MARKER = re.compile(r"(?<![\w-])(live(?:-more)?:[^\s·]+)")
OUTLETS = re.compile(r"\b(\d+) outlets?\b")
RECOVERED = re.compile(r"digest of subscription (\d+) for slot \S+, left unfinished by \S+: (posted|empty|failed)")

# --------------------------------------------------------------------------------------------------------------
# Generated news: events covered by several outlets (shared core sentences, so they group into stories).


@dataclass(frozen=True)
class Theme:
    """A topic's query and the phrase pools its events are written from ({place}, {n}... are event facts)."""

    query: str
    heads: tuple[str, ...]
    subjects: tuple[str, ...]
    actions: tuple[str, ...]
    details: tuple[str, ...]


THEMES: dict[str, Theme] = {
    "rail": Theme(
        "rail OR train OR strike",
        ("Rail strike halts trains across {place}", "Train drivers in {place} walk out over pay"),
        ("Train drivers", "The rail operator", "Commuters", "The transport union", "Ministers", "Station staff"),
        (
            "walked out for {n} hours over pay",
            "cancelled {m} services on the {line} line",
            "offered a rise of {k} per cent over two years",
            "rejected the latest offer from management",
            "ran replacement buses between {place} and {place2}",
            "called for talks to resume in {month}",
            "closed the ticket offices at {place2}",
            "blamed the signalling contractor for delays",
        ),
        (
            "in the third stoppage since the spring",
            "leaving platforms empty during the morning rush",
            "as negotiators met behind closed doors",
            "while freight trains kept running overnight",
            "after a vote of {k} per cent in favour",
            "despite an appeal from {org}",
        ),
    ),
    "storm": Theme(
        "storm OR flood OR gale",
        ("Storm leaves {n} homes without power in {place}", "Gales and flood water batter {place}"),
        ("Repair crews", "The weather service", "Emergency services", "Power companies", "Schools", "Farmers"),
        (
            "restored power to {m} homes overnight",
            "issued an amber warning for wind and rain",
            "rescued {n} people from cars caught in floodwater",
            "closed the coast road near {place2}",
            "reported gusts of {k} miles an hour on the hills",
            "opened rest centres in two halls",
            "moved cattle away from the flooded {line} meadows",
            "asked {org} for sandbags",
        ),
        (
            "as fallen trees blocked several roads",
            "with more rain forecast for {month}",
            "after the river burst its banks upstream",
            "while ferries stayed in port",
            "in the worst storm since {year}",
            "before the tide turned at dawn",
        ),
    ),
    "court": Theme(
        "court OR trial OR jury",
        ("Fraud trial opens in {place} court", "Jury hears evidence in {place} fraud trial"),
        ("Prosecutors", "The jury", "Defence lawyers", "The judge", "A former accountant", "Investigators"),
        (
            "told the court that {m} thousand pounds had gone missing",
            "played recordings of phone calls",
            "argued that the invoices from {org} were genuine",
            "adjourned the hearing until {month}",
            "heard from {n} witnesses in the first week",
            "rejected a request to dismiss the case",
            "examined ledgers seized at {place2}",
            "questioned the auditors about the {line} accounts",
        ),
        (
            "in a trial expected to last {k} weeks",
            "as relatives watched from the public gallery",
            "after a two-year investigation",
            "under reporting restrictions lifted in {month}",
            "in the largest case the court has heard since {year}",
            "while the defendant took notes",
        ),
    ),
    "vote": Theme(
        "election OR ballot OR vote",
        ("{place} votes in tight mayoral election", "Polls open in {place} election after bitter campaign"),
        ("Voters", "The candidates", "Election officials", "Party activists", "Observers", "Students"),
        (
            "queued outside polling stations before dawn",
            "counted {m} postal ballots overnight",
            "promised cheaper bus fares and {n} hundred homes",
            "traded accusations in a final debate",
            "expected turnout of about {k} per cent",
            "declared the result shortly after midnight",
            "complained about missing ballot papers at {place2}",
            "hired {org} to run the count",
        ),
        (
            "in a race seen as a test for the government",
            "after a campaign dominated by housing",
            "with the two leading candidates level in the polls",
            "as rain kept some voters at home",
            "for the first time since {year}",
            "in the {line} ward",
        ),
    ),
}
_ORG_KINDS = ("Building Society", "Water Board", "Housing Trust", "Port Authority", "Credit Union", "Foundation")
_ROLES = ("a spokeswoman for", "the chair of", "a lawyer for", "the director of", "a volunteer with")
_MONTHS = ("January", "March", "April", "June", "August", "October", "November")
_QUOTES = (
    '"We have waited {k} years for this, and {place2} will not wait any longer," {person} said.',
    '"Nobody in {place} should have to live like this," {person} told reporters.',
    '"I have lived in {place2} for {n} years and never seen anything like it," said {person}.',
    '"The figures from {month} speak for themselves," {person} added.',
    '"Give us the money and {place} will do the rest," {person} said at a meeting.',
    '"{org} knew about this in {month}," said {person}, {role} the campaign.',
    '"It is a {month} we will remember," {person} told {org}.',
    '"Ask anyone on the {line} estate," {person} said.',
)
SUBSCRIPTIONS = (
    ("console", CONSOLE_CHANNELS[0], "court"),
    ("console", CONSOLE_CHANNELS[1], "vote"),
    ("console", CONSOLE_CHANNELS[2], "rail"),
    ("slack", SLACK_CHANNELS[0], "rail"),
    ("slack", SLACK_CHANNELS[1], "storm"),
    ("slack", SLACK_CHANNELS[2], "court"),
    ("discord", DISCORD_CHANNELS[0], "vote"),
    ("discord", DISCORD_CHANNELS[1], "rail"),
    ("discord", DISCORD_CHANNELS[2], "storm"),
)
LIVE_SUBSCRIPTIONS = (  # schedule "live": each new story posted once as it breaks, edited in place as it grows
    ("slack", LIVE_SLACK_CHANNELS[0], "rail"),
    ("slack", LIVE_SLACK_CHANNELS[1], "storm"),
    ("discord", LIVE_DISCORD_CHANNELS[0], "court"),
    ("discord", LIVE_DISCORD_CHANNELS[1], "vote"),
    ("console", LIVE_CONSOLE_CHANNEL, "rail"),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Maria Ellen John Aiko Pedro Fatima Oleg Grace Samuel Lena Ahmed Chloe Ravi Tomasz Ingrid Kwame Sofia Daniel Mei "
    "Hamid Nadia Lucas Priya Jonas Amara Viktor Elena Mateo Yusuf Hannah Kenji Beatriz"
)
_LAST = _words(
    "Alvarez Okafor Lindqvist Tanaka Moreau Kowalski Haddad Brennan Costa Iyer Novak Fischer Mensah Romano Larsen "
    "Abebe Duarte Nakamura Petrov Castillo Weber Adeyemi Sato Bianchi Hughes Rahman Jansen"
)
_PLACE_A = _words("Ash Bram Cal Dun Elm Fen Glen Hal Ivy Kel Lang Mar Nor Pen Ros Sel Tarn Vay Wick Yar Zell")
_PLACE_B = _words("ford bury wick ton field mouth bridge ley stead combe haven dale thorpe minster worth")
_SCENES = ("chaotic", "calm", "tense", "cheerful", "sombre", "crowded", "quiet")


_SYLLABLES = _words("ka lo mi ren tu sa vel dor an is ber ga no pe rim sol ta ul ve zor")


def _coined(rng: random.Random) -> str:
    """A made-up word (a few thousand possibilities), so that names rarely repeat across events."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def _place(rng: random.Random) -> str:
    return rng.choice((rng.choice(_PLACE_A), _coined(rng))) + rng.choice(_PLACE_B)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice((rng.choice(_LAST), _coined(rng)))}"


@dataclass
class Event:
    """One news event: its theme and the core sentences every outlet's article about it shares. The facts
    (names, places, figures) are the event's own, so two events of one theme share little beyond the topic."""

    id: int
    theme: str
    facts: dict[str, str]
    core: tuple[str, ...]
    started: float
    outlets: set[int] = field(default_factory=set)

    @classmethod
    def make(cls, id: int, rng: random.Random, now: float) -> Event:
        name = sorted(THEMES)[id % len(THEMES)]
        theme = THEMES[name]
        facts = {
            "place": _place(rng),
            "place2": _place(rng),
            "line": _place(rng),
            "person": _name(rng),
            "org": f"{_place(rng)} {rng.choice(_ORG_KINDS)}",
            "role": rng.choice(_ROLES),
            "n": str(rng.randint(3, 90)),
            "m": str(rng.randint(10, 900)),
            "k": str(rng.randint(2, 40)),
            "month": rng.choice(_MONTHS),
            "year": str(rng.randint(1950, 2015)),
        }
        core = [
            f"{rng.choice(theme.subjects)} in {{place}} {rng.choice(theme.actions)} {rng.choice(theme.details)}.",
            rng.choice(_QUOTES),
        ]
        for _ in range(3):  # the event's own cast: names and places no other event shares
            names = [f"{_coined(rng)} {_coined(rng)}" for _ in range(4)] + [_coined(rng) for _ in range(3)]
            core.append(
                f"{names[0]} and {names[1]} from {names[4]} joined {names[2]} near {names[5]} and "
                f"{names[6]}, where {names[3]} counted {rng.randint(100, 9999)}."
            )
        return cls(id, name, facts, tuple(c.format(**facts) for c in core), now)

    def article(self, rng: random.Random, outlet: str, serial: int) -> tuple[str, str]:
        """A title and a text for one outlet: the event's core, then a line only this article has."""
        title = rng.choice(THEMES[self.theme].heads).format(**self.facts)
        own = f"{_name(rng)} ({outlet}, {_place(rng)}, {rng.choice(_SCENES)}, report {serial})."
        return title, " ".join(self.core) + " " + own


# --------------------------------------------------------------------------------------------------------------
# The feed server: feeds that publish and update entries, faults on every response, a log of what was served.


@dataclass
class Entry:
    feed: int
    serial: int
    guid: str
    link: str
    title: str
    text: str
    published: datetime
    backlog: bool
    version: int = 1
    first_served: float | None = None  # time.time() of the first response that carried it


@dataclass
class SimFeed:
    id: int
    host: str
    atom: bool
    interval_s: int
    entries: list[Entry] = field(default_factory=list)
    version: int = 0

    @property
    def path(self) -> str:
        return f"/feed/{self.id}.xml"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    delay: float = 0.0
    hang: bool = False  # send nothing (after ``delay``) and close: a timeout for the client
    reset_after: int | None = None  # send this many body bytes, then reset the connection


FEED_FAULTS = (  # kind, probability per request (checked in this order)
    ("5xx", 0.04),
    ("429 Retry-After", 0.02),
    ("timeout", 0.015),
    ("truncated body (reset)", 0.02),
    ("malformed XML", 0.025),
    ("duplicated item", 0.02),
    ("date churn", 0.03),
)


class FeedSim:
    """The feeds' content and the fault decisions (one lock: handler threads and the publisher share it)."""

    def __init__(self, count: int, rng: random.Random) -> None:
        self.rng = rng
        self.lock = threading.Lock()
        self.faults_on = True
        self.publishing = True
        self.faults: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.events: list[Event] = []
        self.published = 0
        self.updates = 0
        self._serial = 0
        self.served: dict[tuple[str, int], tuple[float, int, Item]] = {}
        """(link, version) -> (when, feed, item as in the document) of the first readable response carrying it
        (``when`` nudged by a microsecond per entry logged, so that the log's order is the order served)."""
        self.documents: list[tuple[float, int, bytes]] = []
        """(when, feed, body) of every document served whole (readable or malformed: the bot reads what it can of
        a broken one), in the order served; what the replay stores (:func:`replay_served`)."""
        self.feeds = [
            SimFeed(i, f"outlet{i:03d}.example", atom=i % 5 == 0, interval_s=rng.randint(20, 30)) for i in range(count)
        ]
        now = time.time()
        for _ in range(max(4, count // 10)):
            self._new_event(now - rng.uniform(600, 3600))
        for feed in self.feeds:  # backlog: two older entries each (stored as backlog at the first poll)
            for _ in range(2):
                self._publish(feed, self.rng.choice(self.events), now, backlog=True)

    # -- content ----------------------------------------------------------------------------------------------

    def _new_event(self, now: float) -> Event:
        event = Event.make(len(self.events), self.rng, now)
        self.events.append(event)
        return event

    def _publish(self, feed: SimFeed, event: Event, now: float, *, backlog: bool = False) -> Entry:
        self._serial += 1
        title, text = event.article(self.rng, feed.host, self._serial)
        guid = f"urn:soak:{feed.id}:{self._serial}"
        if not backlog and feed.entries and self.rng.random() < 0.03:
            guid = self.rng.choice(feed.entries).guid  # a broken feed reusing a GUID for a new entry
            self.faults["GUID reused by a new entry"] += 1
        published = datetime.fromtimestamp(now - (self.rng.uniform(3600, 7200) if backlog else 0), UTC)
        entry = Entry(
            feed.id, self._serial, guid, f"https://{feed.host}/news/{self._serial}", title, text, published, backlog
        )
        feed.entries.append(entry)
        feed.version += 1
        event.outlets.add(feed.id)
        self.published += 1
        return entry

    def tick(self, seconds: float) -> None:
        """Publish and update for ``seconds`` of time (the publisher thread calls this every second)."""
        with self.lock:
            if not self.publishing:
                return
            now = time.time()
            if self.rng.random() < NEW_EVENT_RATE * seconds:
                self._new_event(now)
            live = [e for e in self.events if now - e.started < 180] or self.events[-3:]
            for _ in range(_poisson(self.rng, PUBLISH_RATE * seconds)):
                event = self.rng.choice(live)
                choices = [f for f in self.feeds if f.id not in event.outlets] or self.feeds
                self._publish(self.rng.choice(choices), event, now)
            for _ in range(_poisson(self.rng, UPDATE_RATE * seconds)):
                feed = self.rng.choice(self.feeds)
                fresh = [e for e in feed.entries if not e.backlog]
                if fresh:
                    entry = self.rng.choice(fresh)
                    entry.version += 1
                    entry.title = f"{entry.title.split(' (update')[0]} (update {entry.version - 1})"
                    entry.text = f"{entry.text} Update {entry.version - 1}: officials gave new figures at {now:.0f}."
                    feed.version += 1
                    self.updates += 1

    # -- responses --------------------------------------------------------------------------------------------

    def respond(self, feed_id: int, if_none_match: str | None) -> Reply:
        with self.lock:
            feed = self.feeds[feed_id]
            etag = f'"{feed.id}-{feed.version}"'
            fault = self._fault() if self.faults_on else None
            if fault == "5xx":
                status = self.rng.choice((500, 502, 503))
                return self._count(fault, Reply(status, {"Content-Type": "text/plain"}, b"upstream trouble"))
            if fault == "429 Retry-After":
                retry = str(self.rng.randint(5, 20))
                return self._count(fault, Reply(429, {"Retry-After": retry, "Content-Type": "text/plain"}, b"slow"))
            if fault == "timeout":
                return self._count(fault, Reply(200, {}, delay=READ_TIMEOUT_S + 1.5, hang=True))
            if fault is None and if_none_match == etag:
                self.responses["304"] += 1
                return Reply(304, {"ETag": etag})
            now = time.time()
            churn, duplicate = fault == "date churn", fault == "duplicated item"
            readable = fault not in ("truncated body (reset)", "malformed XML")
            body = self._document(feed, churn=churn, duplicate=duplicate, now=now, readable=readable)
            headers = {"Content-Type": "application/atom+xml" if feed.atom else "application/rss+xml"}
            for entry in feed.entries:
                entry.first_served = entry.first_served or now
            if fault == "truncated body (reset)":
                cut = int(len(body) * self.rng.uniform(0.2, 0.8))
                return self._count(fault, Reply(200, headers, body, reset_after=cut))
            if fault == "malformed XML":  # a broken version of the feed (its own ETag), fixed by the next one
                if self.rng.random() < 0.5:
                    body = body[: int(len(body) * self.rng.uniform(0.3, 0.9))]  # a cut document, served whole
                else:
                    at = body.find(b"<title>", len(body) // 2)
                    body = body[:at] + b"<title>Tom & Jerry <b>unclosed" + body[at:] if at > 0 else body + b"<"
                feed.version += 2
                self.documents.append((now, feed.id, body))
                return self._count(fault, Reply(200, {**headers, "ETag": f'"{feed.id}-{feed.version - 1}"'}, body))
            self.documents.append((now, feed.id, body))
            if churn or duplicate:
                return self._count(fault or "", Reply(200, headers, body))  # no ETag: the next poll gets it all
            self.responses["200"] += 1
            return Reply(200, {**headers, "ETag": etag}, body)

    def _fault(self) -> str | None:
        roll = self.rng.random()
        for kind, probability in FEED_FAULTS:
            if roll < probability:
                return kind
            roll -= probability
        return None

    def _count(self, kind: str, reply: Reply) -> Reply:
        self.faults[kind] += 1
        self.responses["fault"] += 1
        return reply

    def _document(self, feed: SimFeed, *, churn: bool, duplicate: bool, now: float, readable: bool) -> bytes:
        items = [
            Item(
                title=e.title,
                link=e.link,
                guid=e.guid,
                summary=e.text,
                published=datetime.fromtimestamp(now - self.rng.uniform(0, 900), UTC) if churn else e.published,
            )
            for e in reversed(feed.entries)
        ]
        if readable:  # oldest first, as the publisher wrote them (the order among entries of one response)
            for entry, item in zip(feed.entries, reversed(items), strict=True):
                self.served.setdefault((entry.link, entry.version), (now + len(self.served) * 1e-6, feed.id, item))
        if duplicate and items:
            items.insert(self.rng.randrange(len(items) + 1), self.rng.choice(items))
        make = atom_feed if feed.atom else rss_feed
        return make(items, title=f"Outlet {feed.id}", link=f"https://{feed.host}/").encode("utf-8")


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FeedHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        found = re.fullmatch(r"/feed/(\d+)\.xml", self.path)
        sim = self.server.sim
        if found is None or int(found.group(1)) >= len(sim.feeds):
            self._send(Reply(404, {"Content-Type": "text/plain"}, b"not found"))
            return
        self._send(sim.respond(int(found.group(1)), self.headers.get("If-None-Match")))

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.hang:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.status == 304:
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        try:
            if reply.reset_after is None:
                self.wfile.write(reply.body)
                return
            self.wfile.write(reply.body[: reply.reset_after])
            self.wfile.flush()
            # SO_LINGER with a zero timeout turns close() into a TCP reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        except OSError:
            self.close_connection = True


class _FeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sim: FeedSim

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients giving up (timeouts) are expected


# --------------------------------------------------------------------------------------------------------------
# Chat fakes that note when each digest message arrived, and can kill its poster before answering.


class PostWatch:
    """Digest and live alert arrivals on the fakes (wall time per message) and an armed "kill the poster now"
    trap: armed with a platform ("slack") it fires on a digest, with "alert:<platform>" on a story's live alert."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[tuple[str, str], float] = {}
        self.armed: str | None = None
        self.victim: int | None = None
        self.fired = threading.Event()
        self.fired_ref: str | None = None
        self.fired_channel: str | None = None
        self.fired_key: str | None = None
        self.fired_at = 0.0

    def arm(self, what: str, pid: int) -> None:
        with self.lock:
            self.armed, self.victim, self.fired_ref, self.fired_channel = what, pid, None, None
            self.fired.clear()

    def disarm(self) -> None:
        with self.lock:
            self.armed = None

    def arrived(self, platform: str, key: str, ref: str | None, channel: str | None = None) -> None:
        now = time.time()
        what = f"alert:{platform}" if ref and ref.startswith("live:") else platform
        with self.lock:
            self.arrivals[(platform, key)] = now
            if self.armed == what and ref and self.victim is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.victim, signal.SIGKILL)  # before the fake answers: the post is in, its ledger not
                self.armed, self.fired_ref, self.fired_at = None, ref, now
                self.fired_channel, self.fired_key = channel, key
                self.fired.set()


class SoakSlack(FakeSlack):
    def __init__(self, watch: PostWatch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.watch = watch
        self._last_ts = 0.0
        original = self._methods["chat.postMessage"]

        def post(params: dict[str, Any], token: str | None) -> tuple[dict[str, Any], dict[str, str]]:
            body, headers = original(params, token)
            metadata = (body.get("message") or {}).get("metadata") or {}
            ref = (metadata.get("event_payload") or {}).get("ref")
            channel = str(body.get("channel"))
            self.watch.arrived("slack", str(body.get("ts")), ref if isinstance(ref, str) else None, channel)
            return body, headers

        self._methods["chat.postMessage"] = post

    def _next_ts(self) -> str:
        """Message timestamps from the clock (the fake counts up from a fixed base, so after a few minutes a crash
        check that reads the history "since the claim minus 5 minutes" would miss every message)."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"


class SoakDiscord(FakeDiscord):
    def __init__(self, watch: PostWatch, **kwargs: Any) -> None:
        self.watch = watch
        super().__init__(**kwargs)

    def _post_message(self, req: Any) -> tuple[int, Any]:
        status, message = super()._post_message(req)
        if isinstance(message, dict):
            footers = _footers(message)
            found = REF.search(footers) or LIVE_MARKER.search(footers)
            channel = str(message.get("channel_id"))
            self.watch.arrived("discord", str(message.get("id")), found.group(0) if found else None, channel)
        return status, message


# --------------------------------------------------------------------------------------------------------------
# Bot processes


class BotProcess:
    """One ``newsbrief run`` subprocess; stdout and stderr go to a log file that is scanned for markers."""

    def __init__(
        self,
        name: str,
        config: Path,
        workdir: Path,
        env: dict[str, str],
        logs: Path,
        command: tuple[str, ...] = ("-m", "testkit.bot_on_fake_discord"),
        role: str = "run",
    ) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("wb")
        # testkit.bot_on_fake_discord: discord.py pointed at the fake Discord first (the bot never changes its globals)
        env = {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)}
        self.popen = subprocess.Popen(
            [sys.executable, *command, "--config", str(config), role],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.popen.pid
        self.started = time.time()
        self.ended: float | None = None
        self.expected_exit = False  # set before the soak kills or stops it
        self.rss: list[tuple[float, int]] = []  # (seconds since start, VmRSS kB)
        self.lease_lost_at: list[float] = []  # when "lost the lease" was first seen in its output
        self._text = ""
        self._offset = 0
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """Everything it printed so far (read on from where the last call stopped)."""
        with self._lock, self.log_path.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
            cut = chunk.rfind(b"\n") + 1  # whole lines only
            self._offset += cut
            new = chunk[:cut].decode("utf-8", "replace")
            self._text += new
            self.lease_lost_at += [time.time()] * new.count(LEASE_LOST)
            return self._text

    def wait_for(self, *markers: str, timeout: float) -> str | None:
        """The first of ``markers`` printed within ``timeout`` (None: not printed, or the process ended)."""
        deadline = time.time() + timeout
        while True:
            text = self.output()
            for marker in markers:
                if marker in text:
                    return marker
            if not self.alive or time.time() > deadline:
                return None
            time.sleep(0.1)

    def sample_rss(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.rss.append((time.time() - self.started, int(line.split()[1])))

    def kill(self) -> None:
        self.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.ended = self.ended or time.time()

    def terminate(self) -> int:
        self.expected_exit = True
        self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait(timeout=30)
        self.ended = time.time()
        return code

    def close(self) -> None:
        if self.alive:
            self.expected_exit = True
            self.popen.kill()
            self.popen.wait(timeout=30)
        self._log.close()


# --------------------------------------------------------------------------------------------------------------
# --distributed: a database of its own on PostgreSQL, job workers, and a proxy that cuts their connections

PG_ADMIN = os.environ.get("NEWSBRIEF_SOAK_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
WORKERS = 3
WORKER_CONCURRENCY = 4  # per worker; 3 workers and 2-3 `run` processes stay well below max_connections (100)
JOB_RETRY_WAIT_S = 2  # retries after 2, 4, 8, 16 s: within the run
JOB_DEADLINE_S = 30
WORKER_RECOVERY_S = 30 + 60  # a dead worker's jobs: silent 30 s, then the next check of another worker (every 60 s)
WORKER_DRAIN_S = 150  # after the `run` processes stop, the workers may take this long to empty the queue


class PgDatabase:
    """A fresh PostgreSQL database for one soak, created and dropped through the admin connection ``PG_ADMIN``."""

    def __init__(self, admin: str = PG_ADMIN) -> None:
        from sqlalchemy.engine import make_url

        self.admin = admin
        self.name = f"newsbrief_soak_{os.getpid()}"
        url = make_url(admin)
        self.host, self.port = url.host or "127.0.0.1", url.port or 5432
        self.user = url.username or "postgres"

    def url(self, port: int | None = None) -> str:
        """The store URL of the database, directly or through a proxy on ``port`` (127.0.0.1)."""
        host = "127.0.0.1" if port else self.host
        return f"postgresql+psycopg://{self.user}@{host}:{port or self.port}/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


@dataclass
class WorkerFault:
    at: float  # seconds since the start
    kind: str  # "SIGKILL wN" or "cut"
    detail: str


# --------------------------------------------------------------------------------------------------------------
# The soak


@dataclass
class Plan:
    total_s: float
    crash_until: float  # no new kill cycle starts after this (seconds since the start)
    drain_s: float
    kills: list[str]  # "uniform", "boundary", "post:slack", "post:discord", "alert:slack", "alert:discord"
    required_kills: int
    required_post: tuple[str, ...]  # platforms whose post/ledger kill must happen (tried again if it did not)
    retry_s: float  # after ``crash_until``, missing kills may still start this long
    quick: bool
    required_alert: tuple[str, ...] = ()  # platforms whose live alert post/ledger kill must happen (tried again)

    @classmethod
    def make(cls, minutes: float, quick: bool) -> Plan:
        total = minutes * 60
        if quick:  # the alert kill first (stories break within a minute), then the digest one (up to a minute)
            kills = ["alert:slack", "post:slack", "uniform", "uniform"]
            return cls(total, 0.5 * total, 30, kills, 1, ("slack",), 0, True, ("slack",))
        kills = [
            "uniform",
            "alert:slack",
            "post:slack",
            "uniform",
            "alert:discord",
            "post:discord",
            "uniform",
            "boundary",
            "uniform",
        ]
        return cls(total, min(0.45 * total, 230), 60, kills, 5, ("slack", "discord"), 45, False, ("slack", "discord"))

    def missing_post_kills(self, kills: list[KillRecord]) -> list[str]:
        """The required post/ledger kills that have not happened (a post kill with no digest in time is not one)."""
        done = {k.kind for k in kills if k.ref}
        return [p for p in self.required_post if f"post:{p}" not in done]

    def missing_alert_kills(self, kills: list[KillRecord]) -> list[str]:
        """The required live alert post/ledger kills that have not happened."""
        done = {k.kind for k in kills if k.ref}
        return [p for p in self.required_alert if f"alert:{p}" not in done]


@dataclass(frozen=True)
class Floors:
    """The least each check must have seen, derived from the plan with a wide margin: a run where the bot does
    nothing, or a phase did not happen, fails; a slow run on a busy machine does not."""

    kills: int  # SIGKILLs of the leader
    post_kills: tuple[str, ...]  # platforms with a kill between a post and its ledger write
    sigterms: int  # the leader at the handover, then S and L at the end
    claimed: int  # claimed slots: every subscription, every whole minute but the first and the last
    finished: int  # slots with an outcome: allow the last minute, claims of killed processes and one more minute
    posted: int  # digests posted per platform (three subscriptions each): half the minutes may be empty or late
    shown: int  # (channel, story) pairs on Slack+Discord, and stories the ledger records: one per posted digest
    served: int  # entries served: the backlog and half of what the publisher is expected to write
    updated: int  # updated entries checked on healthy feeds: a quarter of the updates expected
    healthy: int  # feeds polled and healthy at the end
    stories: int  # stories: half the news events written before the start
    rss_samples: int  # RSS samples of L: half of those in the drain alone
    alert_kills: tuple[str, ...]  # platforms with a kill between a live alert's post and its ledger write
    alerts: int  # story alerts per platform (two live channels each, new stories every minute): one a minute
    edited: int  # alert messages edited per platform: one every other minute

    @classmethod
    def of(cls, plan: Plan, feeds: int) -> Floors:
        subs = len(SUBSCRIPTIONS)
        per_platform = subs // 3
        minutes = int(plan.total_s // 60)
        publishing = plan.total_s - plan.drain_s
        posted = max(1, per_platform * (minutes - 4))
        # updates pick a random feed and touch it only when it has new entries: the chance grows as they spread
        spread = 1 - (1 - math.exp(-PUBLISH_RATE * publishing / feeds)) * feeds / (PUBLISH_RATE * publishing)
        return cls(
            kills=plan.required_kills,
            post_kills=plan.required_post,
            sigterms=3,
            claimed=subs * max(1, minutes - 2),
            finished=max(per_platform, subs * (minutes - 3)),
            posted=posted,
            shown=2 * posted,
            served=2 * feeds + int(PUBLISH_RATE * publishing / 2),
            updated=int(UPDATE_RATE * publishing * spread / 4),
            healthy=math.ceil(0.75 * feeds),
            stories=max(2, feeds // 20),
            rss_samples=int(plan.drain_s / RSS_EVERY_S / 2),
            alert_kills=plan.required_alert,
            alerts=max(2, minutes),
            edited=max(1, minutes // 2),
        )


@dataclass
class KillRecord:
    at: float
    process: str
    kind: str
    ref: str | None = None
    in_flight_after: bool | None = None  # the slot (or alert claim) of a post/ledger kill, right after the kill
    channel: str | None = None  # an alert kill's channel
    key: str | None = None  # an alert kill's message (Slack ts, Discord message id)


@dataclass
class Window:
    """A stretch without a leader: from a kill or stop until the next process leads."""

    start: float
    end: float | None
    why: str


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.plan = Plan.make(2 if args.quick else args.minutes, args.quick)
        self.rng = random.Random(args.seed)
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.db_url = f"sqlite:///{workdir / 'soak.db'}"
        self.config = workdir / "newsbrief.toml"
        # --distributed: PostgreSQL, `[jobs] engine = "procrastinate"`, WORKERS `newsbrief worker` processes
        self.pg = PgDatabase() if args.distributed else None
        self.proxy: CutProxy | None = None
        self.worker_config = workdir / "worker.toml"
        self.workers: list[BotProcess] = []
        self.worker_faults: list[WorkerFault] = []
        self.jobs_json: dict[str, Any] | None = None
        self.jobs_error = ""
        self.worker_drain_s = 0.0
        self.sim = FeedSim(args.feeds, random.Random(args.seed + 1))
        self.watch = PostWatch()
        self.slack = SoakSlack(self.watch, ts_base=int(time.time()))
        self.discord = SoakDiscord(self.watch, heartbeat_interval_ms=5000)
        self.http: _FeedHTTPServer | None = None
        self.processes: list[BotProcess] = []
        self.kills: list[KillRecord] = []
        self.windows: list[Window] = []
        self.timeline: list[tuple[float, str]] = []
        self.handover: dict[str, Any] = {}
        self.chat_faults: Counter[str] = Counter()
        self.crashes: list[str] = []
        self.exit_codes: dict[str, int] = {}
        self.t0 = time.time()
        self.end_at = 0.0
        self.long_lived: BotProcess | None = None
        self._stop = threading.Event()
        self._chat_faults_on = threading.Event()
        self._chat_faults_on.set()
        self._edits_at_fault: dict[str, int] = {}  # edit requests a platform had when its last edit fault was queued
        self._spawned = 0

    # -- set-up -----------------------------------------------------------------------------------------------

    def start_peers(self) -> None:
        if self.pg is not None:
            self.pg.create()
            self.db_url = self.pg.url()
            self.proxy = CutProxy((self.pg.host, self.pg.port))
        self.http = _FeedHTTPServer(("127.0.0.1", 0), _FeedHandler)
        self.http.sim = self.sim
        threading.Thread(target=self.http.serve_forever, args=(0.2,), name="feeds", daemon=True).start()
        self.slack.start()
        self.discord.start()
        for channel in DISCORD_CHANNELS + LIVE_DISCORD_CHANNELS:
            self.discord.add_channel(channel, DISCORD_GUILD, f"news-{channel[-2:]}")

    def write_config(self) -> None:
        assert self.http is not None
        port = self.http.server_address[1]
        feeds = "".join(
            f'[[feeds]]\nurl = "http://127.0.0.1:{port}{f.path}"\nname = "Outlet {f.id}"\n'
            f'interval = "{f.interval_s}s"\n'
            for f in self.sim.feeds
        )
        topics = "".join(f"{name} = '{theme.query}'\n" for name, theme in THEMES.items())
        jobs = (
            f'[jobs]\nengine = "procrastinate"\nretry_wait = "{JOB_RETRY_WAIT_S}s"\n'
            f'deadline = "{JOB_DEADLINE_S}s"\nconcurrency = {WORKER_CONCURRENCY}\n'
            if self.pg is not None
            else ""
        )
        self.config.write_text(
            f"""[store]
url = "{self.db_url}"
{jobs}[network]
allow_private = ["127.0.0.1"]
read_timeout = "{READ_TIMEOUT_S}s"
connect_timeout = "2s"
per_host = 16
[poll]
backfill = 0
fetch_pages = false
max_backoff = "{MAX_BACKOFF_S}s"
[scheduler]
lease = "{LEASE_S}s"
sync_every = "{SYNC_S}s"
[live]
settle = "{LIVE_SETTLE_S}s"
edit_every = "{LIVE_EDIT_EVERY_S}s"
per_hour = {LIVE_PER_HOUR}
[slack]
api_url = "{self.slack.api_url}"
[discord]
api_url = "{self.discord.api_url}"
guilds = [{DISCORD_GUILD}]
[topics]
{topics}
{feeds}""",
            encoding="utf-8",
        )
        if self.proxy is not None and self.pg is not None:  # the workers reach the database through the proxy
            text = self.config.read_text(encoding="utf-8")
            self.worker_config.write_text(text.replace(self.db_url, self.pg.url(self.proxy.port), 1), encoding="utf-8")
        now = datetime.now(UTC)
        with Store(self.db_url) as store:
            store.upgrade()
            for platform, channel, topic in SUBSCRIPTIONS:
                store.add_subscription(platform, channel, topic, schedule="* * * * *", tz="UTC", now=now, by="soak")
            for platform, channel, topic in LIVE_SUBSCRIPTIONS:
                store.add_subscription(platform, channel, topic, schedule="live", tz="UTC", now=now, by="soak")

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "COLUMNS": "200",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
            "NEWSBRIEF_LOG_LEVEL": "INFO",
            "SLACK_BOT_TOKEN": "xoxb-soak-bot-token",
            "SLACK_APP_TOKEN": "xapp-soak-app-token",
            "DISCORD_TOKEN": "soak-discord-token",
        }
        for name in (
            "NEWSBRIEF_CONFIG",
            "NEWSBRIEF_ENV_FILE",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ):
            env.pop(name, None)
        return env

    # -- background threads -----------------------------------------------------------------------------------

    def _publisher(self) -> None:
        while not self._stop.wait(1.0):
            self.sim.tick(1.0)

    def _sampler(self) -> None:
        while not self._stop.wait(RSS_EVERY_S):
            for process in list(self.processes):
                if process.alive:
                    process.sample_rss()
                    process.output()  # notes when a live leader loses its lease

    def _chat_fault_injector(self) -> None:
        """Before each minute's digests: maybe a 429 or a 5xx queued per platform; now and then a dropped
        connection or a failing history read (what crash recovery asks)."""
        rng = random.Random(self.args.seed + 2)
        edit_rng = random.Random(self.args.seed + 4)
        next_drop = time.time() + rng.uniform(20, 50)
        next_edit_fault = time.time() + edit_rng.uniform(5, 15)
        while not self._stop.wait(0.5):
            if not self._chat_faults_on.is_set():
                continue
            now = time.time()
            if now > next_edit_fault:
                next_edit_fault = now + edit_rng.uniform(5, 15)
                self._queue_edit_fault(edit_rng)
            if 49.5 <= now % 60 < 50.0:
                self._queue_chat_faults(rng)
                time.sleep(0.6)
            if now > next_drop:
                next_drop = now + rng.uniform(30, 70)
                if rng.random() < 0.5:
                    self.chat_faults["slack: Socket Mode connections dropped"] += self.slack.drop_connections()
                else:
                    self.chat_faults["discord: gateway connections dropped"] += self.discord.drop_connections(
                        abrupt=True
                    )

    def _queue_edit_fault(self, rng: random.Random) -> None:
        """A fault on the next edit of a live alert, Slack (``chat.update``) or Discord (message ``PATCH``): a 429
        (retried by the client), or a 5xx, sometimes after the platform applied the edit (the answer was lost).
        A platform gets a new one only after an edit came since its last one (faults never pile up)."""
        roll, applied, slack = rng.random(), rng.random() < 0.3, rng.random() < 0.5
        edits = len(self.slack.calls_to("chat.update") if slack else self.discord.calls_to("PATCH", "/channels"))
        platform = "slack" if slack else "discord"
        if edits <= self._edits_at_fault.get(platform, -1):
            return
        self._edits_at_fault[platform] = edits
        if slack:
            if roll < 0.4:
                self.slack.fail_next("chat.update", "ratelimited", status=429, retry_after=1)
            else:
                status = rng.choice((500, 503))
                self.slack.fail_next("chat.update", "internal_error", status=status, retry_after=None, applied=applied)
        else:
            path = f"/channels/{rng.choice(LIVE_DISCORD_CHANNELS)}/messages"
            if roll < 0.4:
                self.discord.fail_next("PATCH", path, 429, retry_after=0.5)
            else:
                self.discord.fail_next("PATCH", path, rng.choice((500, 503)), applied=applied)

    def _queue_chat_faults(self, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.35:
            self.slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
        elif roll < 0.55:
            self.slack.fail_next("chat.postMessage", "internal_error", status=rng.choice((500, 503)), retry_after=None)
        if rng.random() < 0.2:
            self.slack.fail_next("conversations.history", "internal_error", status=500, retry_after=None)
        channel = rng.choice(DISCORD_CHANNELS)
        roll = rng.random()
        if roll < 0.35:
            self.discord.fail_next("POST", f"/channels/{channel}/messages", 429, retry_after=0.5)
        elif roll < 0.55:
            self.discord.fail_next("POST", f"/channels/{channel}/messages", 500)  # retried by discord.py
        elif roll < 0.65:
            self.discord.fail_next("POST", f"/channels/{channel}/messages", 503)  # raised: posted again by recovery
        if rng.random() < 0.2:
            self.discord.fail_next("GET", f"/channels/{rng.choice(DISCORD_CHANNELS)}/messages", 500)

    # -- process control --------------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.time() - self.t0

    def note(self, text: str) -> None:
        self.timeline.append((self.elapsed(), text))
        if self.args.verbose:
            print(f"[{self.elapsed():6.1f}s] {text}", flush=True)

    def spawn(self, name: str | None = None) -> BotProcess:
        self._spawned += 1
        process = BotProcess(name or f"bot{self._spawned}", self.config, self.workdir, self.env(), self.logs)
        self.processes.append(process)
        self.note(f"started {process.name} (pid {process.pid})")
        return process

    def spawn_worker(self) -> BotProcess:
        self._spawned += 1
        worker = BotProcess(
            f"w{self._spawned}",
            self.worker_config,
            self.workdir,
            self.env(),
            self.logs,
            command=("-m", "bot"),
            role="worker",
        )
        self.processes.append(worker)
        self.workers.append(worker)
        self.note(f"started worker {worker.name} (pid {worker.pid})")
        return worker

    def jobs_doing(self) -> int:
        assert self.pg is not None
        try:
            return int(self.pg.query("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'")[0][0])
        except Exception:
            return -1

    def _worker_fault_injector(self) -> None:
        """SIGKILL a random worker every 15-35 s, when jobs are running (restarted 0.5-4 s later), and cut every
        worker connection to the database three times (new ones refused for 2-5 s); all of it early enough for the
        killed workers' jobs to be taken back before the drain ends."""
        assert self.proxy is not None
        rng = random.Random(self.args.seed + 3)
        until = self.plan.total_s - self.plan.drain_s - WORKER_RECOVERY_S
        cuts = sorted(rng.uniform(40, max(41, until - 10)) for _ in range(3))
        next_kill = rng.uniform(15, 30)
        while not self._stop.wait(0.2) and self.elapsed() < until:
            if cuts and self.elapsed() >= cuts[0]:
                cuts.pop(0)
                refuse = rng.uniform(2, 5)
                cut = self.proxy.cut(refuse)
                fault = WorkerFault(self.elapsed(), "cut", f"{cut} connections, refused {refuse:.1f}s")
                self.worker_faults.append(fault)
                self.note(f"proxy: cut {cut} worker connections, refusing new ones for {refuse:.1f}s")
            if self.elapsed() < next_kill:
                continue
            next_kill = self.elapsed() + rng.uniform(15, 35)
            live = [w for w in self.workers if w.alive and not w.expected_exit]
            if not live:
                continue
            victim = rng.choice(live)
            doing = self.jobs_doing()
            for _ in range(25):  # mid-job: wait (up to 5 s) for a running job
                if doing > 0 or self._stop.is_set():
                    break
                time.sleep(0.2)
                doing = self.jobs_doing()
            victim.kill()
            self.worker_faults.append(WorkerFault(self.elapsed(), f"SIGKILL {victim.name}", f"{doing} jobs running"))
            self.note(f"SIGKILL worker {victim.name} ({doing} jobs running)")
            if self._stop.wait(rng.uniform(0.5, 4.0)):
                break
            self.spawn_worker()

    def drain_workers(self) -> None:
        """After the `run` processes stopped: let the workers empty the queue (bounded), read `newsbrief jobs
        --json`, then stop the workers with SIGTERM."""
        assert self.pg is not None
        started = time.time()
        while time.time() - started < WORKER_DRAIN_S:
            self.watch_processes()
            with contextlib.suppress(Exception):
                left = self.pg.query("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
                if int(left[0][0]) == 0:
                    break
            time.sleep(1.0)
        self.worker_drain_s = time.time() - started
        self.note(f"workers drained the queue in {self.worker_drain_s:.0f}s")
        env = {**self.env(), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(self.config), "jobs", "--json"],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        try:
            self.jobs_json = json.loads(done.stdout)
        except ValueError:
            self.jobs_error = f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[-400:]}"
        for worker in self.workers:
            if worker.alive:
                self.exit_codes[worker.name] = worker.terminate()
                self.note(f"SIGTERM worker {worker.name}: exit {self.exit_codes[worker.name]}")

    def sleep_until(self, when: float) -> None:
        """Sleep until ``when`` (elapsed seconds), watching for processes that die on their own."""
        while self.elapsed() < when:
            self.watch_processes()
            time.sleep(min(0.2, max(0.0, when - self.elapsed())))

    def watch_processes(self) -> None:
        for process in self.processes:
            if not process.alive and not process.expected_exit and process.ended is None:
                process.ended = time.time()
                tail = " | ".join(process.output().strip().splitlines()[-5:])
                self.crashes.append(
                    f"{process.name} (pid {process.pid}) exited with {process.popen.returncode} "
                    f"at {self.elapsed():.0f}s: {tail[-600:]}"
                )
                self.note(f"{process.name} exited on its own ({process.popen.returncode})")

    def wait_leading(self, process: BotProcess, timeout: float = 90) -> bool:
        marker = process.wait_for(LEADS, TOOK_OVER, timeout=timeout)
        if marker is None:
            self.watch_processes()
            if process.alive:
                self.crashes.append(f"{process.name} (pid {process.pid}) did not take the lead within {timeout:.0f}s")
            self.note(f"{process.name} did not lead within {timeout:.0f}s")
            return False
        self.close_window()
        self.note(f"{process.name} leads")
        return True

    def open_window(self, why: str) -> None:
        self.windows.append(Window(time.time(), None, why))

    def close_window(self) -> None:
        for window in self.windows:
            if window.end is None:
                window.end = time.time()

    def next_boundary(self, margin: float = 5.0) -> float:
        """Elapsed seconds of the next minute boundary at least ``margin`` seconds away."""
        now = time.time()
        boundary = (math.floor(now / 60) + 1) * 60
        if boundary - now < margin:
            boundary += 60
        return boundary - self.t0

    def kill_cycle(self, leader: BotProcess, kind: str) -> BotProcess:
        """Kill the leader one way, then start its successor after a random pause; returns the successor."""
        record = KillRecord(0.0, leader.name, kind)
        if kind.startswith(("post:", "alert:")):
            alert = kind.startswith("alert:")
            platform = kind.split(":", 1)[1]
            self.watch.arm(kind if alert else platform, leader.pid)
            limit = min(80.0, max(65.0, self.plan.crash_until + 30 - self.elapsed()))  # a minute's digests at least
            deadline = self.elapsed() + limit
            while self.elapsed() < deadline and not self.watch.fired.is_set():
                self.watch_processes()
                self.watch.fired.wait(0.2)
            self.watch.disarm()
            if self.watch.fired.is_set():
                record.ref = self.watch.fired_ref
                record.channel, record.key = self.watch.fired_channel, self.watch.fired_key
                leader.expected_exit = True
                leader.popen.wait(timeout=30)
                leader.ended = self.watch.fired_at
                if alert:
                    record.in_flight_after = self.alert_in_flight(platform, record.channel, record.ref)
                else:
                    record.in_flight_after = self.slot_in_flight(record.ref)
            else:
                record.kind = f"uniform (no {platform} {'alert' if alert else 'digest'} within {limit:.0f}s)"
                leader.kill()
        else:
            if kind == "boundary":
                self.sleep_until(self.next_boundary() + self.rng.uniform(0.0, 2.5))
            else:
                self.sleep_until(self.elapsed() + self.rng.uniform(3.0, 18.0))
            leader.kill()
        record.at = (leader.ended or time.time()) - self.t0
        self.kills.append(record)
        self.open_window(f"SIGKILL {leader.name} ({record.kind})")
        self.note(
            f"SIGKILL {leader.name}: {record.kind}" + (f" after {record.ref} reached the fake" if record.ref else "")
        )
        self.sleep_until(self.elapsed() + self.rng.uniform(0.5, 4.0))
        successor = self.spawn()
        self.wait_leading(successor)
        return successor

    def slot_in_flight(self, ref: str | None) -> bool | None:
        found = REF.fullmatch(ref or "")
        if found is None:
            return None
        with Store(self.db_url) as store:
            slot = store.get_slot(int(found.group(1)), found.group(2))
        return slot is not None and slot.outcome is None

    def alert_in_flight(self, platform: str, channel: str | None, marker: str | None) -> bool | None:
        """Whether the live alert of ``marker`` (``live:<story>``) is claimed but not recorded in ``channel``."""
        if channel is None or marker is None or not marker.startswith("live:"):
            return None
        with Store(self.db_url) as store:
            alert = store.get_alert(platform, channel, marker.removeprefix("live:"))
        return alert is not None and alert.state == "claimed"

    # -- the run ----------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.start_peers()
        self.write_config()
        self.t0 = time.time()
        threads = [
            threading.Thread(target=t, daemon=True) for t in (self._publisher, self._sampler, self._chat_fault_injector)
        ]
        if self.proxy is not None:
            for _ in range(WORKERS):
                self.spawn_worker()
            threads.append(threading.Thread(target=self._worker_fault_injector, daemon=True))
        for thread in threads:
            thread.start()
        plan = self.plan
        self.open_window("first start")
        leader = self.spawn()
        self.wait_leading(leader, timeout=120)
        # 1. crash phase: the leader is killed again and again.
        for kind in plan.kills:
            targeted = kind.startswith(("post:", "alert:"))
            platform = kind.split(":", 1)[-1]
            required = (kind.startswith("post:") and platform in plan.required_post) or (
                kind.startswith("alert:") and platform in plan.required_alert
            )
            if self.elapsed() > plan.crash_until or (
                targeted and not required and self.elapsed() > plan.crash_until - 20
            ):
                continue
            leader = self.kill_cycle(leader, kind)
        # a required post/ledger kill that found no digest (alert) in time is tried again, then the count is made up
        while self.elapsed() < plan.crash_until + plan.retry_s:
            missing = [f"post:{p}" for p in plan.missing_post_kills(self.kills)]
            missing += [f"alert:{p}" for p in plan.missing_alert_kills(self.kills)]
            if missing:
                leader = self.kill_cycle(leader, missing[0])
            elif len(self.kills) < plan.required_kills:
                leader = self.kill_cycle(leader, "uniform")
            else:
                break
        # 2. handover: L starts as a standby; the leader is stopped; L must take over at once.
        standby = self.spawn("L")
        self.long_lived = standby
        standby.wait_for(RUNNING, timeout=90)
        self.sleep_until(self.elapsed() + 5)
        self.open_window(f"SIGTERM {leader.name} (handover)")
        stopped_at = time.time()
        self.exit_codes[leader.name] = leader.terminate()
        took_over = standby.wait_for(TOOK_OVER, timeout=LEASE_S + 30)
        self.handover = {
            "from": leader.name,
            "at": stopped_at,
            "took_over": took_over is not None,
            "latency": time.time() - stopped_at,
        }
        if took_over:
            self.close_window()
        self.note(
            f"SIGTERM {leader.name} (exit {self.exit_codes[leader.name]}); L took over: {took_over is not None}"
            f" after {self.handover['latency']:.1f}s"
        )
        self.sleep_until(self.elapsed() + 10)
        second = self.spawn("S")  # a second process on the database again, as a standby, to the end
        # 3. drain: no new entries, no faults.
        drain_at = plan.total_s - plan.drain_s
        self.sleep_until(drain_at)
        with self.sim.lock:
            self.sim.faults_on = False
            self.sim.publishing = False
        self._chat_faults_on.clear()
        self.slack.clear_faults()
        self.discord.clear_faults()
        self.note("drain: publishing and faults stopped")
        self.sleep_until(plan.total_s)
        # 4. stop: S first, then L (whichever leads, the other one may take over for a moment: harmless).
        self.end_at = time.time()
        for process in (second, standby):
            if process.alive:
                self.exit_codes[process.name] = process.terminate()
                self.note(f"SIGTERM {process.name}: exit {self.exit_codes[process.name]}")
        self._stop.set()
        if self.pg is not None:
            self.drain_workers()
        self.watch_processes()

    def close(self) -> None:
        self._stop.set()
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.close()
        with contextlib.suppress(Exception):
            self.slack.stop()
        with contextlib.suppress(Exception):
            self.discord.stop()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self.proxy is not None:
            self.proxy.close()
        if self.pg is not None:
            try:
                self.pg.drop()
            except Exception as exc:
                print(f"soak: could not drop the database {self.pg.name}: {exc}", file=sys.stderr)


# --------------------------------------------------------------------------------------------------------------
# What the platforms hold


@dataclass
class Post:
    """One digest message on a platform; ``stories`` holds each story's source links, headline link first."""

    platform: str
    channel: str
    ref: str
    part: str  # Slack: metadata part; Discord: the nonce
    key: str  # Slack ts, Discord message id
    arrived: float | None
    stories: list[list[str]]


_ARTICLE_URL = re.compile(r"https://outlet\d+\.example/news/\d+")
_SLACK_STORY = re.compile(r"^\*\d+\. ")


def _links(value: Any) -> list[str]:
    found: list[str] = []
    for url in _ARTICLE_URL.findall(json.dumps(value)):
        if url not in found:
            found.append(url)
    return found


def slack_posts(slack: FakeSlack, watch: PostWatch) -> list[Post]:
    posts = []
    for channel in SLACK_CHANNELS:
        for message in slack.messages(channel):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") != "newsbrief_digest" or not isinstance(payload.get("ref"), str):
                continue
            stories: list[list[str]] = []
            for block in message.get("blocks") or []:  # a story starts with its "*N. <url|headline>*" section
                text = str((block.get("text") or {}).get("text", "")) if block.get("type") == "section" else ""
                if _SLACK_STORY.match(text):
                    stories.append([])
                if stories:
                    stories[-1] += [u for u in _links(block) if u not in stories[-1]]
            ts = str(message.get("ts"))
            posts.append(
                Post(
                    "slack",
                    channel,
                    payload["ref"],
                    str(payload.get("part")),
                    ts,
                    watch.arrivals.get(("slack", ts)),
                    [s for s in stories if s],
                )
            )
    return posts


def _footers(message: dict[str, Any]) -> str:
    """The footer texts of a Discord message's embeds, joined."""
    return " ".join(str((e.get("footer") or {}).get("text", "")) for e in message.get("embeds") or [])


def _discord_marked(
    discord: FakeDiscord, channels: Iterable[str], pattern: re.Pattern[str]
) -> Iterator[tuple[str, dict[str, Any], re.Match[str]]]:
    """(channel, message, match) of every message of ``channels`` whose embed footers match ``pattern``."""
    for channel in channels:
        for message in discord.messages(channel):
            found = pattern.search(_footers(message))
            if found is not None:
                yield channel, message, found


def discord_posts(discord: FakeDiscord, watch: PostWatch) -> list[Post]:
    posts = []
    for channel, message, found in _discord_marked(discord, DISCORD_CHANNELS, REF):
        key = str(message.get("id"))
        stories = [_links({"url": e.get("url"), "rest": e}) for e in message.get("embeds") or []]  # one per story
        posts.append(
            Post(
                "discord",
                channel,
                found.group(0),
                str(message.get("nonce")),
                key,
                watch.arrivals.get(("discord", key)),
                [s for s in stories if s],
            )
        )
    return posts


@dataclass
class AlertPost:
    """One live alert message on a platform as it is at the end: its marker (``live:<story>``, or ``live-more:...``
    for an overflow summary), the outlet count it shows (``None``: none shown), whether it was edited and whether it
    replies to another (a follow-up in its story's thread)."""

    platform: str
    channel: str
    ref: str  # as the ledger records it: slack:<channel>:<ts>, discord:<channel>:<message id>
    marker: str
    outlets: int | None
    edited: bool
    reply: bool


def _outlets_shown(value: Any) -> int | None:
    found = OUTLETS.search(json.dumps(value, ensure_ascii=False))
    return int(found.group(1)) if found else None


def alert_posts(slack: FakeSlack, discord: FakeDiscord) -> list[AlertPost]:
    """The live alert messages on FakeSlack (``newsbrief_live`` metadata) and FakeDiscord (marker in a footer)."""
    posts = []
    for channel in LIVE_SLACK_CHANNELS:
        for message in slack.messages(channel):
            metadata = message.get("metadata") or {}
            marker = (metadata.get("event_payload") or {}).get("ref")
            if metadata.get("event_type") != "newsbrief_live" or not isinstance(marker, str):
                continue
            ts, thread = str(message.get("ts")), message.get("thread_ts")
            blocks = message.get("blocks") or message.get("text")
            reply = thread is not None and thread != ts
            edited = bool(message.get("edited"))
            posts.append(
                AlertPost("slack", channel, f"slack:{channel}:{ts}", marker, _outlets_shown(blocks), edited, reply)
            )
    for channel, message, found in _discord_marked(discord, LIVE_DISCORD_CHANNELS, LIVE_MARKER):
        ref = f"discord:{channel}:{message.get('id')}"
        edited, reply = message.get("edited_timestamp") is not None, bool(message.get("message_reference"))
        shown = _outlets_shown(message.get("embeds") or [])
        posts.append(AlertPost("discord", channel, ref, found.group(1), shown, edited, reply))
    return posts


def alert_edits(slack: FakeSlack, discord: FakeDiscord) -> list[tuple[str, str, int]]:
    """Every edit request of a live alert the fakes received: (platform, message reference, HTTP status)."""
    edits = [
        (
            "slack",
            f"slack:{c.params.get('channel')}:{c.params.get('ts')}",
            c.status if c.status != 200 or not c.error else 0,
        )
        for c in slack.calls_to("chat.update")
    ]
    for call in discord.calls_to("PATCH", "/channels"):
        found = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", call.path)
        if found is not None:
            edits.append(("discord", f"discord:{found.group(1)}:{found.group(2)}", call.status))
    return edits


# --------------------------------------------------------------------------------------------------------------
# Checks


def _ts(when: datetime) -> float:
    """Seconds since the epoch of a stored time (SQLite may hand back naive UTC)."""
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when).timestamp()


def _slot_dt(slot: str) -> datetime:
    return datetime.strptime(slot, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def _short(items: Iterable[str], limit: int = 4) -> str:
    items = list(items)
    text = "; ".join(items[:limit])
    return text + (f"; … {len(items) - limit} more" if len(items) > limit else "")


@dataclass
class Results:
    checks: list[Check] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def figure(self, name: str, value: object) -> None:
        self.figures.append((name, str(value)))


class Verifier:
    """Compares the database with what the feed server, FakeSlack, FakeDiscord and the bots' output logged."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.results = Results()
        self.logs = {p.name: p.output() for p in soak.processes}
        self.pid_names = {p.pid: p.name for p in soak.processes}
        self.floors = Floors.of(soak.plan, soak.args.feeds)

    def holder_name(self, holder: str) -> str:
        parts = holder.split(":")
        pid = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else -1
        return self.pid_names.get(pid, holder)

    def run(self) -> Results:
        soak, r = self.soak, self.results
        with Store(soak.db_url) as store:
            everything = store.list_subscriptions()
            subs = [s for s in everything if s.schedule != "live"]  # digests; the live ones: check_alerts
            slots = {s.id: store.list_slots(s.id) for s in subs}
            feeds = {f.url: f for f in store.list_feeds()}
            self.check_run(subs, slots)
            posts = slack_posts(soak.slack, soak.watch) + discord_posts(soak.discord, soak.watch)
            self.check_slots(subs, slots)
            self.check_platforms(subs, slots, posts)
            self.check_console(subs, slots)
            self.check_stories(store, posts, subs)
            self.check_post_kills(slots, posts)
            self.check_alerts(store, [s for s in everything if s.schedule == "live"])
            self.check_entries(store, feeds)
            articles = self.check_stories_of_articles(store)
            problems = store.integrity_check()
            r.check(
                "database integrity_check",
                not problems and articles >= self.floors.served,
                f"no problems in {articles} articles (floor {self.floors.served})"
                if not problems
                else _short(problems),
            )
            if soak.pg is not None:
                self.check_distributed(store)
        self.check_rss()
        self.check_faults()
        return r

    # -- the run itself ---------------------------------------------------------------------------------------

    def check_run(self, subs: list[Subscription], slots: dict[int, list[DigestSlot]]) -> None:
        soak, r = self.soak, self.results
        r.figure("minutes run", f"{(soak.end_at - soak.t0) / 60:.1f}")
        r.figure("bot processes started", len(soak.processes))
        kills = soak.kills
        targeted = [k for k in kills if k.ref and k.kind.startswith("post:")]
        r.figure(
            "SIGKILLs (random / boundary / digest post-ledger / alert post-ledger)",
            f"{len(kills)} ({sum(k.kind.startswith('uniform') for k in kills)} / "
            f"{sum(k.kind == 'boundary' for k in kills)} / {len(targeted)} / "
            f"{sum(1 for k in kills if k.ref and k.kind.startswith('alert:'))})",
        )
        r.figure("restarts after a kill", len(kills))
        r.figure("handovers (SIGTERM of the leader)", 1 if soak.handover else 0)
        windows = [w for w in soak.windows if w.end is not None and w.why != "first start"]
        if windows:
            r.figure(
                "leaderless after a kill/stop (s, mean / max)",
                f"{sum(w.end - w.start for w in windows if w.end) / len(windows):.1f} / "
                f"{max(w.end - w.start for w in windows if w.end):.1f}",
            )
        floors = self.floors
        missing = soak.plan.missing_post_kills(kills)
        r.check(
            "kills",
            len(kills) >= floors.kills and not missing,
            f"{len(kills)} SIGKILLs of the leader (floor {floors.kills}); between a post and its ledger write: "
            f"{', '.join(k.kind.split(':')[1] for k in targeted) or 'none'} (floor: "
            f"{', '.join(floors.post_kills) or 'none'})",
        )
        exits = [f"{name}: {code}" for name, code in soak.exit_codes.items() if code != 0]
        sigterms = len(soak.exit_codes)
        r.check(
            "no crash; clean SIGTERM exits",
            not soak.crashes and not exits and sigterms >= floors.sigterms,
            _short(soak.crashes + exits)
            if soak.crashes or exits
            else f"{sigterms} SIGTERMs (floor {floors.sigterms}), all exit 0; no unexpected exit",
        )
        hand = soak.handover
        if hand:
            long_lived = soak.long_lived
            later = [
                s
                for sub in subs
                for s in slots[sub.id]
                if long_lived is not None
                and f":{long_lived.pid}:" in f":{s.claimed_by}:"
                and _slot_dt(s.slot).timestamp() > hand["at"]
            ]
            due_after = list(range(math.ceil(hand["at"] / 60) * 60, int(soak.end_at) - 10, 60))
            floor = len(subs) * max(0, len(due_after) - 1)  # L leads to the end: all but one minute's slots
            ok = bool(hand["took_over"]) and hand["latency"] <= LEASE_S + 5 and len(later) >= floor
            r.check(
                "scheduler handover",
                ok,
                f"{hand['from']} stopped, L printed 'took over' after "
                f"{hand['latency']:.1f}s; L then claimed {len(later)} slots (floor {floor}: {len(due_after)} "
                "slot times per subscription came after the handover)",
            )
        else:
            r.check("scheduler handover", False, "no handover happened")
        lost = [f"{p.name} at +{t - soak.t0:.0f}s" for p in soak.processes for t in p.lease_lost_at]
        led = sum(1 for text in self.logs.values() if LEADS in text or TOOK_OVER in text)
        floor = 2 + len(kills)  # the first process, each one started after a kill, and L
        r.check(
            "leader changed only when killed or stopped",
            not lost and led >= floor,
            f"{led} processes led (floor {floor}), none lost the lease while alive"
            if not lost
            else "a live leader lost its lease to the standby: " + _short(lost),
        )
        recoveries: Counter[str] = Counter()
        for text in self.logs.values():
            recoveries.update(m.group(1) for m in re.finditer(r", left unfinished by \S+: (\w+)", text))
        r.figure(
            "claims finished by recovery: posted / empty / failed / retry later",
            f"{recoveries['posted']} / {recoveries['empty']} / {recoveries['failed']} / "
            f"{recoveries['skipped'] + recoveries['retry']}",
        )

    # -- slots ------------------------------------------------------------------------------------------------

    def due_slots(self, sub: Subscription) -> list[str]:
        first = math.ceil(_ts(sub.created_at) / 60) * 60
        last = math.floor((self.soak.end_at - 10) / 60) * 60
        return [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%MZ") for t in range(first, last + 1, 60)]

    def coalesced(self, slot: str) -> bool:
        """A slot time inside a leaderless stretch that also holds a later slot time (the scheduler runs a
        missed job once, for the latest slot)."""
        at = _slot_dt(slot).timestamp()
        for window in self.soak.windows:
            end = window.end or self.soak.end_at
            if window.start <= at <= end and at + 60 <= end:
                return True
        return False

    def check_slots(self, subs: list[Subscription], slots: dict[int, list[DigestSlot]]) -> None:
        r = self.results
        due = claimed = lost_excused = 0
        outcomes: Counter[str] = Counter()
        lost: list[str] = []
        stale: list[str] = []
        pending = 0
        for sub in subs:
            have = {s.slot: s for s in slots[sub.id]}
            for slot in self.due_slots(sub):
                due += 1
                if slot in have:
                    claimed += 1
                elif self.coalesced(slot):
                    lost_excused += 1
                else:
                    lost.append(f"sub {sub.id} ({sub.platform}) {slot}{self.context(slot)}")
            for s in slots[sub.id]:
                outcomes[s.outcome or "in flight"] += 1
                if s.outcome is None:
                    age = self.soak.end_at - _ts(s.claimed_at)
                    if age > RECOVER_AFTER_S + 2 * SYNC_S + 20:
                        stale.append(
                            f"sub {sub.id} {s.slot} claimed by {self.holder_name(s.claimed_by)} "
                            f"{age:.0f}s before the end"
                        )
                    else:
                        pending += 1
        r.figure("slots due / claimed", f"{due} / {claimed}")
        r.figure(
            "slots posted / empty / failed / in flight",
            f"{outcomes['posted']} / {outcomes['empty']} / {outcomes['failed']} / {outcomes['in flight']}",
        )
        r.figure("slots lost (no claim) / excused as coalesced", f"{len(lost)} / {lost_excused}")
        late = [
            s
            for sub in subs
            for s in slots[sub.id]
            if s.finished_at is not None and _ts(s.finished_at) - _slot_dt(s.slot).timestamp() > 60
        ]
        r.figure("slots finished more than 60 s after their time", len(late))
        floors = self.floors
        r.check(
            "every due slot claimed",
            not lost and claimed >= floors.claimed,
            f"{claimed} of {due} due slots claimed (floor {floors.claimed}), {lost_excused} coalesced, none lost"
            if not lost
            else "LOST: " + _short(lost),
        )
        finished = sum(outcomes.values()) - outcomes["in flight"]
        r.check(
            "no claim left in flight",
            not stale and finished >= floors.finished,
            f"{finished} claims finished (floor {floors.finished}), {pending} recent claim(s) still within the "
            "recovery delay"
            if not stale
            else "never finished: " + _short(stale),
        )

    def context(self, slot: str) -> str:
        at = _slot_dt(slot).timestamp()
        near = [
            f"{w.why} {w.start - at:+.1f}s..{(w.end or self.soak.end_at) - at:+.1f}s"
            for w in self.soak.windows
            if w.start - 60 <= at <= (w.end or self.soak.end_at) + 60
        ]
        return f" [near: {', '.join(near)}]" if near else " [no downtime near it]"

    # -- exactly once on Slack and Discord --------------------------------------------------------------------

    def check_platforms(self, subs: list[Subscription], slots: dict[int, list[DigestSlot]], posts: list[Post]) -> None:
        r = self.results
        by_sub = {s.id: s for s in subs}
        for platform in ("slack", "discord"):
            mine = [p for p in posts if p.platform == platform]
            copies: Counter[tuple[str, str]] = Counter((p.ref, p.part) for p in mine)
            refs = {p.ref for p in mine}
            doubled = [f"{ref} part {part} x{n}" for (ref, part), n in copies.items() if n > 1]
            db: dict[str, DigestSlot] = {}
            for sub in subs:
                if sub.platform == platform:
                    for s in slots[sub.id]:
                        db[f"sub:{sub.id}:{s.slot}"] = s
            missing = [
                f"{ref} ({self.holder_name(s.claimed_by)})"
                for ref, s in db.items()
                if s.outcome == "posted" and ref not in refs
            ]
            orphans = []
            for ref in sorted(refs):
                claim = db.get(ref)
                found = REF.fullmatch(ref)
                if found is None or int(found.group(1)) not in by_sub:
                    orphans.append(f"{ref}: unknown subscription")
                elif claim is None:
                    orphans.append(f"{ref}: no claim in the database")
                elif claim.outcome is None:
                    age = self.soak.end_at - _ts(claim.claimed_at)
                    if age > RECOVER_AFTER_S + 2 * SYNC_S + 20:
                        orphans.append(f"{ref}: still in flight {age:.0f}s after its claim")
                elif claim.outcome != "posted":
                    orphans.append(f"{ref}: database outcome {claim.outcome}")
            posted = sum(1 for s in db.values() if s.outcome == "posted")
            r.figure(f"{platform} digests: on the platform / posted in the database", f"{len(refs)} / {posted}")
            problems = [f"doubled {d}" for d in doubled] + [f"missing {m}" for m in missing] + orphans
            floor = self.floors.posted
            r.check(
                f"{platform}: exactly one digest per posted slot",
                not problems and posted >= floor,
                f"{posted} posted (floor {floor}), each once on {platform}" if not problems else _short(problems),
            )

    def check_console(self, subs: list[Subscription], slots: dict[int, list[DigestSlot]]) -> None:
        r = self.results
        printed: Counter[str] = Counter()
        for text in self.logs.values():
            for found in re.finditer(r"Digest: (\S+) → (\S+) · \d{4}-\d\d-\d\d \d\d:\d\d UTC", text):
                printed[found.group(2)] += 1
        recovered: Counter[int] = Counter()
        for text in self.logs.values():
            for found in RECOVERED.finditer(text):
                recovered[int(found.group(1))] += 1
        problems, total_printed, total_posted = [], 0, 0
        for sub in subs:
            if sub.platform != "console":
                continue
            posted = sum(1 for s in slots[sub.id] if s.outcome == "posted")
            # a claim its dead process left in flight (recovery still to come) may have been printed already
            unfinished = sum(1 for s in slots[sub.id] if s.outcome is None)
            shown = printed[sub.channel]
            total_printed, total_posted = total_printed + shown, total_posted + posted
            if not posted <= shown <= posted + recovered[sub.id] + unfinished:
                problems.append(
                    f"{sub.channel}: printed {shown}, posted {posted}, recovered {recovered[sub.id]}, "
                    f"in flight {unfinished}"
                )
        r.figure("console digests: printed / posted in the database", f"{total_printed} / {total_posted}")
        floor = self.floors.posted
        r.check(
            "console: posted <= printed <= posted + recovered + in flight",
            not problems and total_posted >= floor,
            f"{total_posted} posted (floor {floor}), {total_printed} printed" if not problems else _short(problems),
        )

    # -- stories ----------------------------------------------------------------------------------------------

    def check_stories(self, store: Store, posts: list[Post], subs: list[Subscription]) -> None:
        """No story twice in one channel without new reporting; every story the ledger records as posted to a
        channel is in one of that channel's digests."""
        r = self.results
        article_cache: dict[str, Article | None] = {}
        members: dict[str, list[Article]] = {}

        def story_of(url: str) -> str | None:
            if url not in article_cache:
                article_cache[url] = store.get_article(url)
            article = article_cache[url]
            return article.story_id if article is not None else None

        # Stories merged after they were posted (an article joined two of them): both now lead to the older id, so
        # two stories shown apart may read as one story shown twice. Such a pair is excused when a merge into that
        # story came after the first of the two posts; the ledger's keys are read through the aliases too.
        with store.engine.connect() as connection:
            merges = connection.exec_driver_sql("SELECT alias, story_id, merged_at FROM story_aliases").all()
            citations = connection.exec_driver_sql("SELECT digest_ref, article_id FROM digest_citations").all()
        cited: dict[str, set[str]] = defaultdict(set)  # digest ref -> the articles it cites: its stories' sources
        for digest, article_id in citations:
            cited[digest].add(article_id)
        alias_of = {alias: story for alias, story, _ in merges}
        merged_at: dict[str, list[float]] = defaultdict(list)
        for _, story_id, when in merges:  # a raw SQLite row gives the time as text
            merged_at[story_id].append(_ts(datetime.fromisoformat(when) if isinstance(when, str) else when))

        def merged_since(story: str, since: float) -> bool:
            return any(when >= since for when in merged_at.get(story, ()))

        appearances: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
        shown: dict[str, set[str]] = defaultdict(set)  # channel -> stories of every source link shown there
        unknown = renewed = excused = 0
        problems: list[str] = []
        for post in posts:
            seen: set[str] = set()
            slot_at = _slot_dt(REF.fullmatch(post.ref).group(2)).timestamp()  # type: ignore[union-attr]
            for links in post.stories:
                shown[post.channel].update(filter(None, (story_of(u) for u in links)))
                story = story_of(links[0])
                if story is None:
                    unknown += 1
                    continue
                if story in seen:
                    if merged_since(story, slot_at):
                        excused += 1
                    else:
                        problems.append(f"{post.ref}: story {story} twice in one digest")
                seen.add(story)
                appearances[(post.channel, story)].append((slot_at, post.arrived or slot_at + 60, post.ref))
        for (channel, story), seen_at in appearances.items():
            # in the order the digests arrived: a missed slot caught up later is posted after newer slots
            seen_at.sort(key=lambda item: (item[1], item[0]))
            distinct: list[tuple[float, float, str]] = []
            for item in seen_at:
                if not distinct or distinct[-1][2] != item[2]:
                    distinct.append(item)
            for (slot1, _, ref1), (_, arrived2, ref2) in itertools.pairwise(distinct):
                if story not in members:
                    members[story] = store.story_articles(story)
                articles = members[story]
                gained = sum(1 for a in articles if slot1 < _ts(a.first_seen) <= arrived2)
                # An article's time is its poll's start, so one first seen just before the slot may have been
                # stored after the first digest read the story: not in it. The digest cites one source per outlet
                # of the story it read; an earlier article of an outlet it did not cite was not there yet.
                in_first = {a.id for a in articles} & cited.get(ref1, set())
                outlets = {a.outlet for a in articles if a.id in in_first}
                late = sum(1 for a in articles if in_first and _ts(a.first_seen) <= slot1 and a.outlet not in outlets)
                gained += late
                if gained >= RENEWAL:
                    renewed += 1
                elif merged_since(story, slot1):
                    excused += 1
                else:
                    problems.append(
                        f"{channel}: story {story} in {ref1} and again in {ref2} with {gained} new "
                        f"article(s) in between ({late} stored after the first read it; renewal needs {RENEWAL})"
                    )
        r.figure(
            "story appearances on Slack+Discord (channel, story) / renewed / stories merged after posting",
            f"{len(appearances)} / {renewed} / {excused}",
        )
        if unknown:
            r.notes.append(f"{unknown} headline link(s) in digests matched no stored article")
        floor = self.floors.shown
        r.check(
            "no story posted twice to a channel",
            not problems and len(appearances) >= floor,
            f"{len(appearances)} (channel, story) pairs shown on Slack+Discord (floor {floor}), {renewed} again "
            "after renewal"
            if not problems
            else _short(problems, 3),
        )
        never: list[str] = []
        recorded_total = 0
        for sub in subs:
            if sub.platform in ("slack", "discord"):
                recorded = store.posted_story_counts(sub.id)
                recorded_total += len(recorded)
                channel_shown = shown[sub.channel]
                never += [
                    f"sub {sub.id} ({sub.channel}): {story}"
                    for story in recorded
                    if story not in channel_shown and alias_of.get(story) not in channel_shown
                ]
        r.figure(
            "stories the ledger records as posted (Slack+Discord) / never shown", f"{recorded_total} / {len(never)}"
        )
        r.check(
            "ledger's posted stories were shown",
            not never and recorded_total >= floor,
            f"{recorded_total} recorded (floor {floor}), all shown"
            if not never
            else f"{len(never)} recorded as posted but in no digest of the channel: " + _short(never, 3),
        )

    def check_post_kills(self, slots: dict[int, list[DigestSlot]], posts: list[Post]) -> None:
        """Each kill between a post and its ledger write: the slot was in flight right after it, and it ends up
        "posted" with exactly one copy on the platform (found by recovery, not posted again)."""
        r = self.results
        targeted = [k for k in self.soak.kills if k.ref and k.kind.startswith("post:")]
        missing = self.soak.plan.missing_post_kills(self.soak.kills)
        floor = f"floor: {', '.join(self.floors.post_kills) or 'none'}"
        if not targeted:
            r.check(
                "post/ledger kills recovered",
                not missing,
                f"no kill landed between a post and its ledger write ({floor})",
            )
            return
        problems, details = [f"no {platform} post/ledger kill ({floor})" for platform in missing], []
        for kill in targeted:
            found = REF.fullmatch(kill.ref or "")
            assert found is not None
            claim = next((s for s in slots.get(int(found.group(1)), []) if s.slot == found.group(2)), None)
            copies = Counter(p.part for p in posts if p.ref == kill.ref)
            outcome = (claim.outcome or "in flight") if claim is not None else "no claim"
            # a recovery that could not ask the platform leaves the claim in flight, re-stamped, for a later try
            pending = (
                claim is not None
                and claim.outcome is None
                and (self.soak.end_at - _ts(claim.claimed_at) <= RECOVER_AFTER_S + 2 * SYNC_S + 20)
            )
            details.append(
                f"{kill.ref}: in flight after the kill: {kill.in_flight_after}; at the end "
                f"{outcome}{' (recovery pending)' if pending else ''}, {sum(copies.values())} "
                f"message(s)"
            )
            bad_copies = not copies or any(n != 1 for n in copies.values())
            if not kill.in_flight_after or bad_copies or (outcome != "posted" and not pending):
                problems.append(details[-1])
        r.check(
            "post/ledger kills recovered",
            not problems,
            _short(problems if problems else [f"{len(targeted)} kill(s) ({floor})", *details], 3),
        )

    # -- live alerts ------------------------------------------------------------------------------------------

    def check_alerts(self, store: Store, live: list[Subscription]) -> None:
        """Live alerts on Slack and Discord against the ledger: each story once per channel, every ledger row's
        message there, every edit on a recorded message and the last one recorded shown, no orphan message, the
        alert post/ledger kills recovered by looking."""
        soak, r, floors = self.soak, self.results, self.floors
        end = soak.end_at
        posts = alert_posts(soak.slack, soak.discord)
        by_ref = {p.ref: p for p in posts}
        rows: list[LiveAlert] = []
        for sub in live:
            if sub.platform in ("slack", "discord"):
                rows += store.alerts_of(sub.platform, sub.channel).values()

        def young(when: datetime | None, limit: float) -> bool:
            return when is not None and end - _ts(when) <= limit

        stories = [p for p in posts if p.marker.startswith("live:")]
        per_platform = Counter(p.platform for p in stories)
        edited = Counter(p.platform for p in posts if p.edited)
        r.figure(
            "live alerts: messages (stories / summaries / replies), edited (Slack / Discord)",
            f"{len(posts)} messages ({len(stories)} / {len(posts) - len(stories)} / {sum(p.reply for p in posts)}), "
            f"{sum(edited.values())} edited ({edited['slack']} / {edited['discord']})",
        )
        edits = alert_edits(soak.slack, soak.discord)
        r.figure(
            "live alert edit requests: answered 200 / 429 / 5xx (Slack+Discord)",
            f"{sum(s == 200 for _, _, s in edits)} / {sum(s == 429 for _, _, s in edits)} / "
            f"{sum(s >= 500 for _, _, s in edits)}",
        )
        states = Counter(row.state for row in rows)
        r.figure(
            "live alert ledger (Slack+Discord): posted / summarized / in flight",
            f"{states['posted']} / {states['summarized']} / {states['claimed']}",
        )
        printed = edits_printed = 0
        for text in self.logs.values():
            printed += len(re.findall(rf"^\[{LIVE_CONSOLE_CHANNEL}\] (?!edited )", text, re.MULTILINE))
            edits_printed += len(re.findall(rf"^\[{LIVE_CONSOLE_CHANNEL}\] edited ", text, re.MULTILINE))
        r.figure("console live alerts: printed / edits printed", f"{printed} / {edits_printed}")

        # each story once per channel
        copies = Counter((p.platform, p.channel, p.marker) for p in posts)
        doubled = [f"{platform} {channel}: {marker} x{n}" for (platform, channel, marker), n in copies.items() if n > 1]
        least = min(per_platform["slack"], per_platform["discord"])
        r.check(
            "live alerts: each story posted once per channel",
            not doubled and least >= floors.alerts,
            f"{per_platform['slack']} Slack / {per_platform['discord']} Discord story alerts (floor {floors.alerts} "
            "each), every marker once in its channel"
            if not doubled
            else _short(doubled),
        )

        # every ledger row's message is on the platform
        missing: list[str] = []
        finished = pending = 0
        for row in rows:
            if row.state == "claimed":
                if young(row.claimed_at, ALERT_PENDING_S):
                    pending += 1
                else:
                    missing.append(f"{row.platform} {row.channel} {row.story_id}: claimed, never finished")
                continue
            finished += 1
            message = by_ref.get(row.message_ref or "")
            if message is None:
                missing.append(f"{row.message_ref} ({row.state} {row.story_id}): not on {row.platform}")
            elif message.marker != row.marker:
                missing.append(f"{row.message_ref}: carries {message.marker}, the ledger {row.marker}")
        r.check(
            "live alerts: every ledger row's message is on the platform",
            not missing and finished >= 2 * floors.alerts,
            f"{finished} finished rows (floor {2 * floors.alerts}), each message there with its marker; {pending} "
            "claim(s) still within the recovery delay"
            if not missing
            else _short(missing),
        )

        # every edit on a recorded message; the last recorded one shown; no growth left unedited
        posted = {row.message_ref: row for row in rows if row.state == "posted"}
        problems = [
            f"{platform}: edit of {ref}, which the ledger does not record"
            for platform, ref, status in edits
            if status == 200 and ref not in posted
        ]
        in_flight_edits = merged = 0
        settle = LIVE_EDIT_EVERY_S + 2 * SYNC_S + 15  # an edit's turn comes within this after the growth
        own = {(row.platform, row.channel, row.story_id) for row in rows}
        for ref, row in posted.items():
            message = by_ref.get(ref)
            if message is None:
                continue  # reported above
            if message.outlets != row.outlets:
                if young(row.edited_at, settle):
                    in_flight_edits += 1  # edited (or killed while editing) just before the end: not recorded yet
                else:
                    problems.append(
                        f"{ref} ({row.story_id}): shows {message.outlets} outlets, the ledger {row.outlets}"
                    )
            story = store.get_story(row.story_id)
            if story is None or story.article_count <= row.article_count or young(story.updated_at, settle):
                continue
            if story.id != row.story_id and (row.platform, row.channel, story.id) in own:
                merged += 1  # merged into a story posted there on its own: that one's message is edited
                continue
            problems.append(
                f"{ref} ({row.story_id}): the story grew to {story.article_count} articles "
                f"{end - _ts(story.updated_at):.0f}s before the end, the message shows {row.article_count}"
            )
        least = min(edited["slack"], edited["discord"])
        r.check(
            "live alerts: every edit applied to the recorded message, none lost",
            not problems and least >= floors.edited,
            f"{edited['slack']} Slack / {edited['discord']} Discord messages edited (floor {floors.edited} each), "
            f"all on recorded messages; {len(posted)} messages show the ledger's last outlet count, every grown story "
            f"edited ({in_flight_edits} edit(s) in flight at the end, {merged} merged into a posted story)"
            if not problems
            else _short(problems, 3),
        )

        # no alert message without its ledger row
        claimed = {(row.platform, row.channel, row.marker): row for row in rows if row.state == "claimed"}
        recorded = {row.message_ref for row in rows if row.state != "claimed"}
        orphans = []
        for post in posts:
            if post.ref in recorded:
                continue
            claim = claimed.get((post.platform, post.channel, post.marker))
            if claim is None or not young(claim.claimed_at, ALERT_PENDING_S):
                orphans.append(f"{post.ref} ({post.marker}): no ledger row records it")
        r.check(
            "live alerts: no message without a ledger row",
            not orphans and len(posts) >= 2 * floors.alerts,
            f"{len(posts)} alert messages (floor {2 * floors.alerts}), each recorded or its claim pending"
            if not orphans
            else _short(orphans),
        )
        self.check_alert_kills(store, posts)

    def check_alert_kills(self, store: Store, posts: list[AlertPost]) -> None:
        """Each kill between a live alert's post and its ledger write: the claim was in flight right after it, and
        ends up posted with the very message the fake got (found by looking, not posted again)."""
        soak, r = self.soak, self.results
        floor = f"floor: {', '.join(self.floors.alert_kills) or 'none'}"
        kills = [k for k in soak.kills if k.ref and k.kind.startswith("alert:")]
        problems = [f"no {p} alert post/ledger kill ({floor})" for p in soak.plan.missing_alert_kills(soak.kills)]
        details = []
        for kill in kills:
            platform = kill.kind.split(":", 1)[1]
            story = (kill.ref or "").removeprefix("live:")
            row = store.get_alert(platform, kill.channel or "", story)
            ref = f"{platform}:{kill.channel}:{kill.key}"
            copies = sum(1 for p in posts if (p.platform, p.channel, p.marker) == (platform, kill.channel, kill.ref))
            outcome = "no claim" if row is None else row.state
            pending = (
                row is not None and row.state == "claimed" and soak.end_at - _ts(row.claimed_at) <= ALERT_PENDING_S
            )
            same = row is not None and row.message_ref == ref
            details.append(
                f"{platform} {kill.ref}: in flight after the kill: {kill.in_flight_after}; at the end {outcome}"
                f"{' (recovery pending)' if pending else ''}{' with that message' if same else ''}, {copies} message(s)"
            )
            if not kill.in_flight_after or copies != 1 or not (pending or (outcome == "posted" and same)):
                problems.append(details[-1])
        r.check(
            "alert post/ledger kills recovered",
            bool(kills) and not problems,
            _short(problems if problems else [f"{len(kills)} kill(s) ({floor})", *details], 3),
        )

    # -- entries ----------------------------------------------------------------------------------------------

    def check_entries(self, store: Store, feeds: dict[str, Feed]) -> None:
        r, sim = self.results, self.soak.sim
        assert self.soak.http is not None
        port = self.soak.http.server_address[1]
        served = stored = excused = updated = healthy = 0
        failing_feeds = 0
        problems: list[str] = []
        stale: list[str] = []
        latest_served: dict[str, tuple[int, str]] = {}  # link -> (version, title) of the last version served
        for (link, version), (_, _, item) in sim.served.items():
            if version > latest_served.get(link, (0, ""))[0]:
                latest_served[link] = (version, item.title or "")
        for feed in sim.feeds:
            db = feeds.get(f"http://127.0.0.1:{port}{feed.path}")
            if db is None:
                problems.append(f"feed {feed.id} not in the store")
                continue
            polled = _ts(db.last_polled_at) if db.last_polled_at is not None else None
            error_at = _ts(db.last_error_at) if db.last_error_at is not None else None
            failing = (
                not db.enabled
                or db.consecutive_failures > 0
                or (error_at is not None and polled is not None and error_at >= polled)
            )
            failing_feeds += int(failing)
            healthy += int(not failing and polled is not None)
            for entry in feed.entries:
                if entry.first_served is None:
                    continue
                served += 1
                article = store.get_article(entry.link)
                if article is not None and db.url in article.feeds:
                    stored += 1
                    # an update made after the feed's last readable response was never served: not expected
                    version, title = latest_served.get(entry.link, (entry.version, entry.title))
                    if not failing and article.title != title:
                        stale.append(f"{entry.link}: stored {article.title!r}, latest served {title!r}")
                    elif not failing and version > 1:
                        updated += 1
                elif failing:
                    excused += 1
                else:
                    problems.append(
                        f"{entry.link} (feed {feed.id}, first served at +{entry.first_served - self.soak.t0:.0f}s)"
                    )
        r.figure("feeds / failing at the end (recorded error)", f"{len(sim.feeds)} / {failing_feeds}")
        r.figure("entries published (backlog + new) / updates", f"{sim.published} / {sim.updates}")
        r.figure("entries served / stored / excused by a recorded error", f"{served} / {stored} / {excused}")
        r.figure(
            "feed responses: 200 / 304 / faulty",
            f"{sim.responses['200']} / {sim.responses['304']} / {sim.responses['fault']}",
        )
        floors = self.floors
        r.check(
            "every served entry stored or its feed in error",
            not problems and stored >= floors.served,
            f"{served} served (floor {floors.served}), {stored} stored, {excused} excused"
            if not problems
            else f"{len(problems)} missing: " + _short(problems),
        )
        r.check(
            "healthy feeds: latest version stored",
            not stale and healthy >= floors.healthy and updated >= floors.updated,
            f"{healthy} healthy feeds (floor {floors.healthy}), {updated} updated entries at their latest "
            f"version (floor {floors.updated})"
            if not stale
            else _short(stale, 3),
        )

    def check_stories_of_articles(self, store: Store) -> int:
        """Every stored article belongs to a story (a story-less article is never briefed or digested); returns
        the number of articles."""
        r, floors = self.results, self.floors
        with store.engine.connect() as connection:
            articles = connection.exec_driver_sql("SELECT COUNT(*) FROM articles").scalar_one()
            stories = connection.exec_driver_sql("SELECT COUNT(*) FROM stories").scalar_one()
            orphans = connection.exec_driver_sql(
                "SELECT a.id, a.url, a.story_id FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
                "WHERE s.id IS NULL ORDER BY a.first_seen"
            ).all()
        r.figure("articles / stories in the database", f"{articles} / {stories}")
        problems = [
            f"{id} ({url}): " + (f"story {story} missing" if story else "no story") for id, url, story in orphans
        ]
        ok = not problems and articles >= floors.served and stories >= floors.stories
        r.check(
            "every stored article has a story",
            ok,
            f"{articles} articles (floor {floors.served}) in {stories} stories (floor {floors.stories})"
            if not problems
            else f"{len(problems)} without a story: " + _short(problems),
        )
        return int(articles)

    # -- --distributed: duplicates, the job queue, worker faults, the single-process replay ---------------------

    def check_distributed(self, store: Store) -> None:
        r, soak, floors = self.results, self.soak, self.floors
        with store.engine.connect() as connection:
            doubled = connection.exec_driver_sql(
                "SELECT url, COUNT(*) FROM articles WHERE url IS NOT NULL GROUP BY url HAVING COUNT(*) > 1"
            ).all()
        r.check(
            "every entry stored once (no two articles with one link)",
            not doubled,
            "no link stored twice" if not doubled else _short(f"{u} x{n}" for u, n in doubled),
        )
        kills = [f for f in soak.worker_faults if f.kind.startswith("SIGKILL")]
        cuts = [f for f in soak.worker_faults if f.kind == "cut"]
        mid_job = sum(1 for f in kills if not f.detail.startswith(("0 ", "-1 ")))
        until = soak.plan.total_s - soak.plan.drain_s - WORKER_RECOVERY_S
        kill_floor = max(2, int(until // 70))  # one every 15-35 s is planned: half of that
        r.figure(
            "worker SIGKILLs (with jobs running) / connection cuts (connections cut)",
            f"{len(kills)} ({mid_job}) / {len(cuts)} ({sum(int(f.detail.split()[0]) for f in cuts)})",
        )
        proxy = soak.proxy
        r.figure(
            "workers started / proxy connections / refused",
            f"{len(soak.workers)} / {proxy.connections if proxy else 0} / {proxy.refused if proxy else 0}",
        )
        r.check(
            "worker faults",
            len(kills) >= kill_floor and mid_job >= kill_floor and len(cuts) >= 3,
            f"{len(kills)} workers killed, {mid_job} while jobs ran (floor {kill_floor}); {len(cuts)} cuts of "
            "their database connections (floor 3)",
        )
        report = soak.jobs_json
        if report is None:
            r.check(
                "every job finished or dead-lettered with a reason", False, f"newsbrief jobs --json: {soak.jobs_error}"
            )
        else:
            counts = report.get("counts", {})
            dead = report.get("dead", [])
            silent = [f"job {j.get('id')}" for j in dead if not j.get("error")]
            r.figure(
                "jobs at the end (newsbrief jobs --json)", ", ".join(f"{n} {status}" for status, n in counts.items())
            )
            r.figure("queue drained by the workers after the stop (s)", f"{soak.worker_drain_s:.0f}")
            for job in dead[:5]:
                r.notes.append(f"dead job {job.get('id')} {job.get('task')} {job.get('subject')}: {job.get('error')}")
            left = counts.get("todo", 0) + counts.get("doing", 0)
            r.check(
                "every job finished or dead-lettered with a reason",
                left == 0 and not silent,
                f"0 todo, 0 doing after a drain of {soak.worker_drain_s:.0f}s; {counts.get('failed', 0)} dead, "
                "each with its reason"
                if left == 0 and not silent
                else f"{counts.get('todo', 0)} todo, {counts.get('doing', 0)} doing; dead without a reason: "
                + (_short(silent) or "none"),
            )
        self.check_replay(store, floors.served)

    def check_replay(self, store: Store, floor: int) -> None:
        """The stories of the soak's database against those of one process storing the same documents (every one
        served whole, malformed ones too, read by the bot's feed parser) through an inline Ingestor into a fresh
        SQLite store, its new articles in the order the soak's database stored them (the workers take entries in
        their own order, and the grouping depends on the order); every entry of a readable document must be in the
        replay. A replay in the order served is reported beside it, as a figure."""
        r, soak = self.results, self.soak
        multi = story_partition(store)
        with store.engine.connect() as connection:
            created = dict(connection.exec_driver_sql("SELECT url, pk FROM articles WHERE url IS NOT NULL").all())
        for name, order in (("replay-served.db", None), ("replay.db", created)):
            started = time.time()
            with Store(f"sqlite:///{soak.workdir / name}") as replay:
                replay.upgrade()
                statuses = asyncio.run(replay_served(soak, replay, created=order))
                single = story_partition(replay)
            documents = statuses.pop("documents", 0)
            kind = "in the order served" if order is None else "new entries in the database's order"
            r.figure(
                f"replay (single process, {kind}): documents / entries read / stories / took (s)",
                f"{documents} / {sum(statuses.values())} "
                f"({', '.join(f'{n} {k}' for k, n in sorted(statuses.items()))}) / {len(set(single.values()))} / "
                f"{time.time() - started:.0f}",
            )
            if order is None:
                apart = sum(1 for u in set(multi) & set(single) if multi[u] != single[u])
                r.figure("articles grouped differently by the replay in the order served", apart)
        unreplayed = sorted({link for link, _ in soak.sim.served} - set(single))
        if unreplayed:
            r.notes.append(f"{len(unreplayed)} readable served entries not in the replay: {_short(unreplayed)}")
        common = set(multi) & set(single)
        only = sorted(set(multi) ^ set(single))
        differ = sorted(u for u in common if multi[u] & common != single[u] & common)
        groups = {multi[u] for u in common}
        r.figure(
            "articles / stories: soak database / replay",
            f"{len(multi)} / {len(set(multi.values()))}; {len(single)} / {len(set(single.values()))}",
        )
        r.check(
            "same stories as a single-process run",
            not differ and not only and not unreplayed and len(common) >= floor,
            f"{len(common)} articles (floor {floor}) in {len(groups)} stories, the same partition"
            if not differ and not only and not unreplayed
            else f"{len(differ)} article(s) grouped differently, {len(only)} in one store only, "
            f"{len(unreplayed)} readable served entries not replayed: "
            + _short(
                [
                    *(f"{u}: {sorted(multi[u] & common)} vs {sorted(single[u] & common)}" for u in differ),
                    *only,
                    *unreplayed,
                ],
                3,
            ),
        )

    # -- memory and faults ------------------------------------------------------------------------------------

    def check_rss(self) -> None:
        r, process = self.results, self.soak.long_lived
        floor = self.floors.rss_samples
        if process is None or len(process.rss) < max(2, floor):
            r.check(
                "RSS growth < 20%",
                False,
                f"{len(process.rss) if process else 0} samples of the long-lived process (floor {floor})",
            )
            return
        life = process.rss[-1][0]
        mark = 120.0 if life >= 200 else life / 2
        base = min(process.rss, key=lambda s: abs(s[0] - mark))
        last = process.rss[-1]
        growth = (last[1] - base[1]) / base[1]
        r.figure(
            f"RSS of L at {base[0]:.0f}s / at {last[0]:.0f}s (end) / growth",
            f"{base[1] / 1024:.1f} MB / {last[1] / 1024:.1f} MB / {growth * 100:+.1f}%",
        )
        peak = max(kb for _, kb in process.rss)
        r.figure("RSS of L: peak", f"{peak / 1024:.1f} MB")
        label = "minute 2" if mark == 120.0 else f"mid-life ({mark:.0f}s, --quick)"
        r.check(
            "RSS growth < 20%",
            growth < RSS_GROWTH_LIMIT,
            f"{growth * 100:+.1f}% from {label} to the end ({len(process.rss)} samples, floor {floor})",
        )

    def check_faults(self) -> None:
        r, soak = self.results, self.soak
        faults = Counter(soak.sim.faults)
        for call in soak.slack.calls:
            if call.status == 429 or call.status >= 500:
                faults[f"slack {call.method}: HTTP {call.status}"] += 1
        for dcall in soak.discord.calls:
            if dcall.status == 429 or dcall.status >= 500:
                faults[f"discord {dcall.method} {re.sub(r'/[0-9]+', '/ID', dcall.path)}: HTTP {dcall.status}"] += 1
        faults.update(soak.chat_faults)
        for kind, count in sorted(faults.items()):
            r.figure(f"fault: {kind}", count)


_Occurrence = tuple[float, int, Any]
"""An entry in a served document: (time served, feed id in the store, :class:`bot.sources.FeedEntry`)."""


def story_partition(store: Store) -> dict[str, frozenset[str]]:
    """Each stored article's link -> the links of every article in its story (merged stories read as one)."""
    aliases = store.story_aliases()
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT url, story_id FROM articles WHERE url IS NOT NULL").all()
    groups: dict[str, set[str]] = defaultdict(set)
    story_of: dict[str, str] = {}
    for url, story in rows:
        seen: set[str] = set()
        while story in aliases and story not in seen:
            seen.add(story)
            story = aliases[story]
        story_of[url] = str(story)
        groups[str(story)].add(url)
    frozen = {story: frozenset(urls) for story, urls in groups.items()}
    return {url: frozen[story] for url, story in story_of.items()}


def _in_creation_order(occurrences: list[_Occurrence], created: dict[str, int]) -> list[_Occurrence]:
    """``occurrences`` (served order) with the first ones of each link in the order ``created`` gives (the soak
    database's row numbers: the order its articles were stored, under the story lock, whichever worker stored
    them), each in the place of one first occurrence; a later occurrence of a link waits for its first one."""
    seen: set[str] = set()
    firsts: list[int] = []
    for i, (_, _, entry) in enumerate(occurrences):
        if entry.link and entry.link not in seen:
            seen.add(entry.link)
            firsts.append(i)
    moved = list(occurrences)
    ranked = sorted(firsts, key=lambda i: (created.get(occurrences[i][2].link or "", math.inf), i))
    for slot, source in zip(firsts, ranked, strict=True):
        moved[slot] = occurrences[source]
    ordered: list[_Occurrence] = []
    made: set[str] = set()
    waiting: dict[str, list[_Occurrence]] = defaultdict(list)
    firsts_set = {id(occurrences[i]) for i in firsts}
    for occurrence in moved:
        link = occurrence[2].link or ""
        if id(occurrence) in firsts_set:
            made.add(link)
            ordered += [occurrence, *waiting.pop(link, [])]
        elif link and link not in made:
            waiting[link].append(occurrence)
        else:
            ordered.append(occurrence)
    return ordered


async def replay_served(soak: Soak, store: Store, *, created: dict[str, int] | None = None) -> Counter[str]:
    """Store what one process would have stored from the documents the feed server served whole (its log,
    ``FeedSim.documents``): each read with the bot's feed parser (a malformed one too: the entries it can read of
    it, e.g. the title-only head of a cut document), its entries stored in document order with one inline
    :class:`bot.ingest.Ingestor` at the time it was served. With ``created`` (link -> row number in the soak's
    database), new entries are stored in that order instead (:func:`_in_creation_order`). Returns the entries'
    statuses, and "documents"."""
    from bot.config import read_config_file, settings_from_mapping
    from bot.ingest import EntryJob, http_client, ingestor_for, sync_config_feeds
    from bot.sources import parse_feed

    mapping = read_config_file(soak.config)
    mapping["store"] = {"url": str(store.engine.url)}
    mapping.pop("jobs", None)
    settings = settings_from_mapping(mapping, path=soak.config)
    documents = list(soak.sim.documents)
    start = datetime.fromtimestamp(documents[0][0] if documents else time.time(), UTC)
    sync_config_feeds(store, settings, start)
    assert soak.http is not None
    port = soak.http.server_address[1]
    feed_ids = {f.url: f.id for f in store.list_feeds()}
    occurrences: list[_Occurrence] = []
    for when, feed_id, body in documents:
        url = f"http://127.0.0.1:{port}{soak.sim.feeds[feed_id].path}"
        # none when it could not be read at all
        occurrences += [(when, feed_ids[url], entry) for entry in parse_feed(body, url).entries]
    if created is not None:
        occurrences = _in_creation_order(occurrences, created)
    statuses: Counter[str] = Counter(documents=len(documents))
    async with http_client(settings) as client:
        ingestor = ingestor_for(store, client, settings, start)
        for when, feed_id, entry in occurrences:
            job = EntryJob(feed_id, entry, eligible=True, follow=False)
            statuses[await ingestor.entry_job(job, datetime.fromtimestamp(when, UTC))] += 1
    return statuses


# --------------------------------------------------------------------------------------------------------------
# Report


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def report(soak: Soak, results: Results) -> None:
    print()
    print(
        f"Soak: {len(soak.sim.feeds)} feeds, {len(SUBSCRIPTIONS)} subscriptions (console, Slack, Discord) every "
        f"minute and {len(LIVE_SUBSCRIPTIONS)} live; lease {LEASE_S}s, sync every {SYNC_S}s; seed {soak.args.seed}; "
        f"logs in {soak.logs}"
    )
    print()
    print(_table(["figure", "value"], [[name, value] for name, value in results.figures]))
    print()
    print("timeline: " + "; ".join(f"+{t:.0f}s {text}" for t, text in soak.timeline))
    print()
    rows = [[c.name, "PASS" if c.ok else "FAIL", c.detail] for c in results.checks]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, verdict, detail in rows:
        print(f"{name.ljust(widths[0])}  {verdict.ljust(widths[1])}  {detail}")
    for note in results.notes:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="soak length, 3 to 9 (default 8)")
    parser.add_argument("--quick", action="store_true", help="a 2-minute smoke run (fewer kills)")
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, config, logs) on success too")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the timeline as it happens")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help=f"PostgreSQL, the procrastinate job engine, {WORKERS} workers killed and cut off",
    )
    args = parser.parse_args(argv)
    if not args.quick and not 3 <= args.minutes <= 9:
        parser.error("--minutes must be between 3 and 9 (the whole run stays under 10 minutes)")
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="newsbrief-soak-"))
    soak = Soak(args, tmp)
    try:
        print(f"soak: {'quick, 2' if args.quick else f'{args.minutes:g}'} minutes in {tmp} ...", flush=True)
        soak.run()
        results = Verifier(soak).run()
    finally:
        soak.close()
    report(soak, results)
    failed = [c for c in results.checks if not c.ok]
    print(
        f"\nsoak finished in {time.time() - started:.0f} s: "
        f"{'all checks passed' if not failed else f'{len(failed)} check(s) FAILED'}"
    )
    if not args.keep and not failed:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
