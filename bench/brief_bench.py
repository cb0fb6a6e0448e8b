"""``/brief`` latency benchmark: p50/p95 over a generated archive of 100,000 articles, on SQLite and PostgreSQL.

Run as ``python bench/brief_bench.py`` (``make bench``); ``--quick`` is a small smoke run, ``--articles N`` sets
the archive size, ``--backend`` picks one backend, ``--profile PREFIX`` writes a cProfile of the timed queries.

The archive is generated with seeded RNGs, so every run sees the same data: news-like articles on 18 themes
(war, markets, weather, elections, courts, sport ...) from 40 outlets, grouped into stories (about half told by
one outlet, most others by 2-9, a few running stories by 25-70), spread over :data:`DAYS` days before
:data:`NOW` and stored in order of first sight, as ingest stores them. Each article has a title, a few
paragraphs with attributed quotes, a feed, a story id and the stored summary JSON ingest writes
(:func:`bot.store.summary_to_json`: three sentences, key quotes with speakers and offsets), so briefing takes
its normal path. Rows are bulk-inserted with the store's own models into a migrated store; search covers them
because the SQLite FTS5 index is kept by triggers and the PostgreSQL ``tsvector`` is a generated column.

- SQLite: a file under ``var/bench/``, kept as a cache keyed by :data:`GENERATOR_VERSION`, the size and the
  schema revision (articles are written by worker processes while this one inserts them);
- PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (``$NEWSBRIEF_BENCH_POSTGRES``), a private
  schema filled from the SQLite archive with ``COPY`` and dropped at the end; a server that cannot be reached
  gives a "skipped" row.

Each backend is measured in a fresh process (spawned): ``/brief <query>`` through the command layer
(:func:`bot.commands.parse_command` + :func:`bot.commands.answer`, as the console adapter calls them) for the
100 :data:`QUERIES` (configured topics, free words, phrases, ``OR``, ``-exclusion`` and queries that match
nothing), each timed once after untimed warm-up queries (other words); ``now`` is fixed at the end of the
generated range. Reported: p50, p95 and max in ms against the target (p95 <= 150 ms), the measuring process's
peak RSS (``ru_maxrss``), and how long building the archive took.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

GENERATOR_VERSION = 1
"""Bump when the generated archive changes: the cached SQLite file is keyed by it."""
SEED = 20250602
ARTICLES = 100_000
QUICK_ARTICLES = 3_000
DAYS = 30
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
"""The end of the generated range and the ``now`` of every briefing."""
TARGET_P95_MS = 150.0
CACHE_DIR = ROOT / "var" / "bench"
POSTGRES_URL = os.environ.get("NEWSBRIEF_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 2_000

_T = TypeVar("_T")

# --- the bench's configuration ------------------------------------------------------------------------------

TOPICS: dict[str, str] = {
    "ukraine": "ukraine OR kyiv OR zelensky OR kremlin",
    "middle-east": "gaza OR israel OR ceasefire OR hostages",
    "markets": '"central bank" OR inflation OR stocks OR "interest rates"',
    "weather": "flood OR storm OR heatwave OR wildfire OR drought",
    "elections": "election OR ballot OR candidate",
    "tech": '"artificial intelligence" OR chipmaker OR semiconductor',
    "health": "hospital OR vaccine OR outbreak",
    "courts": "trial OR jury OR court -football",
    "strikes": "strike OR walkout OR union -football",
    "football": '"cup final" OR striker OR league',
    "energy": '"oil prices" OR opec OR pipeline OR "wind farm"',
    "trade": 'tariffs OR "trade talks" OR exports',
}

# The timed /brief queries by kind; topic names are given in mixed case as users type them.
_TOPIC_QUERIES = (
    "ukraine",
    "Middle-East",
    "markets",
    "Weather",
    "elections",
    "tech",
    "health",
    "courts",
    "STRIKES",
    "football",
    "energy",
    "trade",
)
_WORD_QUERIES = (
    "kharkiv",
    "drones",
    "rafah aid",
    "inflation",
    "bond yields",
    "flood",
    "wildfire evacuation",
    "turnout",
    "chipmaker",
    "data centre",
    "measles",
    "nurses pay",
    "fraud trial",
    "jury",
    "rail strike",
    "airport",
    "striker",
    "goalkeeper",
    "opec",
    "pipeline gas",
    "tariffs",
    "exports cars",
    "telescope",
    "rents",
    "teachers",
    "museum",
    "festival",
    "layoffs",
    "merger shares",
    "asylum",
    "council",
    "government budget",
    "minister",
    "police",
    "residents",
    "zelensky kremlin",
)
_PHRASE_QUERIES = (
    '"central bank"',
    '"interest rates"',
    '"front line"',
    '"cup final"',
    '"oil prices"',
    '"trade talks"',
    '"artificial intelligence"',
    '"wind farm"',
    '"rail strike"',
    '"data centre"',
    '"air defence"',
    '"heavy rain"',
    '"chief executive"',
    '"polling stations"',
)
_OR_QUERIES = (
    "gaza OR ukraine",
    "flood OR drought",
    "tariffs OR exports",
    "vaccine OR outbreak",
    "jury OR judge",
    "striker OR goalkeeper",
    "rents OR mortgage",
    "rocket OR telescope",
    "museum OR festival",
    "migrants OR asylum",
    "strike OR walkout",
    "layoffs OR merger",
    "kyiv OR odesa OR kharkiv",
    '"central bank" OR inflation',
)
_EXCLUSION_QUERIES = (
    "storm -flood",
    "election -president",
    "court -fraud",
    "ukraine -drones",
    "shares -merger",
    "hospital -nurses",
    'strike -"rail strike"',
    "gaza -hostages",
    "airport -strike",
    "league -final",
    'inflation -"central bank"',
    "council -budget",
)
_NO_MATCH_QUERIES = (
    "zyxwvut",
    "quasar unicorn",
    "ukrane",
    '"kyiv cup final"',
    "flood -flood",
    "-everything",
    "xylophone OR zeppelin",
    "marmalade",
    "kharkiv tariffs goalkeeper",
    '"the of and"',
    "antarctica penguins",
    "sputnik",
)
QUERIES: tuple[tuple[str, str], ...] = tuple(
    (kind, query)
    for kind, queries in (
        ("topic", _TOPIC_QUERIES),
        ("words", _WORD_QUERIES),
        ("phrase", _PHRASE_QUERIES),
        ("or", _OR_QUERIES),
        ("exclusion", _EXCLUSION_QUERIES),
        ("no match", _NO_MATCH_QUERIES),
    )
    for query in queries
)
"""(kind, query) of every timed ``/brief``."""
WARMUP: tuple[str, ...] = (
    "Ukraine",
    "weather",
    "police budget",
    '"prime minister"',
    "gaza OR israel",
    "storm -rain",
    "nothingmatcheshere",
    "markets",
    "court",
    "museum",
)

# --- generated news -----------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Maria Ellen John Aiko Pedro Fatima Oleg Grace Samuel Lena Ahmed Chloe Ravi Tomasz Ingrid Kwame Sofia Daniel "
    "Mei Hamid Nadia Lucas Priya Jonas Amara Viktor Elena Mateo Yusuf Hannah Kenji Beatriz Liam Zainab Marta "
    "Andrei Leila Patrick Anouk Diego Sunita Felix Rosa Emeka Clara Ibrahim Greta Hugo Olena Taras Yael Omar"
)
_LAST = _words(
    "Alvarez Okafor Lindqvist Tanaka Moreau Kowalski Haddad Brennan Costa Iyer Novak Fischer Mensah Romano "
    "Larsen Abebe Duarte Nakamura Petrov Castillo Weber Adeyemi Sato Bianchi Hughes Rahman Jansen Ferreira "
    "Kaplan Morales Nilsen Osei Varga Whitfield Yilmaz Zhou Baptiste Delgado Eriksen Farouk Shevchenko Bondar"
)
_PLACE_HEADS = _words("Ash Bram Cal Dun Elm Fen Glen Hal Ivy Kel Lang Mar Nor Old Pen Ros Sel Tarn Vay Wick Yar")
_PLACE_TAILS = _words("ford bury wick ton field mouth bridge ley stead haven dale thorpe minster worth port well")
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
_DAYS_OF_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CUES = ("said", "told reporters", "added", "warned", "said in a statement", "told a news conference")
_OUTLET_HEADS = _words("daily north metro global city evening morning capital coast valley harbour national")
_OUTLET_TAILS = _words("herald post times courier gazette wire news chronicle tribune observer")
_GENERIC = (
    "Officials did not respond to a request for comment.",
    "The government said it was monitoring the situation closely.",
    "More details are expected later in the week.",
    "Local media reported similar figures on {d}.",
    "The council will publish a full report in {m}.",
    "Police said there was no wider threat to the public.",
    "Residents were told to follow official advice.",
    "The minister is due to make a statement to parliament on {d}.",
    "Critics said the response had been too slow.",
    "The figures could not be independently verified.",
    "A government budget review is due in {m}.",
)

# A theme: weight, places, headlines, the subjects/actions/details facts are made of, speakers' roles, and what
# they say. {p} is a place, {n} a number, {m} a month, {d} a weekday.
_THEMES: tuple[dict[str, Any], ...] = (
    {
        "weight": 7,
        "places": ["Kyiv", "Kharkiv", "Odesa", "Dnipro", "Zaporizhzhia", "Lviv", "Sumy", "Kherson"],
        "head": [
            "Russian drones strike {p} overnight",
            "Zelensky visits front line near {p}",
            "Kremlin rejects Ukraine ceasefire proposal",
            "Ukraine says it repelled {n} attacks near {p}",
        ],
        "subj": [
            "Ukrainian forces",
            "The Kremlin",
            "President Zelensky",
            "Russian troops",
            "Air defence units",
            "The governor of the {p} region",
            "Ukraine's military",
        ],
        "act": [
            "shot down {n} drones over {p}",
            "said Russian shelling hit a power station near {p}",
            "rejected the proposal as a stunt",
            "reported heavy fighting along the front line",
            "asked allies for more air defence systems",
            "evacuated {n} civilians from villages near {p}",
            "restored electricity to {n} homes in Kyiv",
            "accused Moscow of targeting the grid",
        ],
        "det": [
            "as talks on a ceasefire stalled",
            "after a night of air raid sirens in Kyiv",
            "according to the Ukrainian military",
            "while European leaders met in Brussels",
            "despite warnings from the Kremlin",
        ],
        "roles": [
            "Ukraine's foreign minister",
            "a Kremlin spokesman",
            "the head of the regional military administration",
            "a Ukrainian army commander",
        ],
        "say": [
            "we need more air defence and we need it now",
            "the front line is holding but the pressure is enormous",
            "nobody in Kyiv slept last night",
            "this proposal is not serious",
        ],
    },
    {
        "weight": 5,
        "places": ["Gaza", "Rafah", "Jerusalem", "Tel Aviv", "Cairo", "Doha", "Khan Younis"],
        "head": [
            "Gaza ceasefire talks resume in {p}",
            "Aid convoys reach {p} as hostages deal nears",
            "Israel and Hamas trade blame as talks stall",
        ],
        "subj": [
            "Israeli officials",
            "Hamas negotiators",
            "Mediators from Qatar and Egypt",
            "Aid agencies",
            "The United Nations",
            "Families of the hostages",
        ],
        "act": [
            "said {n} aid trucks crossed into Gaza",
            "proposed a six-week ceasefire",
            "demanded the release of all hostages",
            "warned of famine in northern Gaza",
            "met in {p} for a new round of talks",
            "reported {n} people killed in strikes on {p}",
        ],
        "det": [
            "as pressure grew on both sides",
            "after weeks of deadlock",
            "according to the Gaza health ministry",
            "under a deal brokered by Egypt",
        ],
        "roles": [
            "an Israeli government spokesman",
            "a senior Hamas official",
            "a UN aid coordinator",
            "Qatar's foreign ministry spokesman",
        ],
        "say": [
            "every day without a deal costs lives",
            "we are closer than we have been for weeks",
            "the hostages must come home",
            "aid is still not getting through fast enough",
        ],
    },
    {
        "weight": 8,
        "places": ["Frankfurt", "London", "New York", "Tokyo", "Zurich", "Washington"],
        "head": [
            "Central bank holds interest rates as inflation cools",
            "Stocks fall in {p} after inflation data",
            "Bond yields climb as traders bet on rate cuts",
            "Inflation slows to {n} per cent",
        ],
        "subj": [
            "The central bank",
            "Investors",
            "Traders in {p}",
            "Economists",
            "The finance ministry",
            "Bond markets",
        ],
        "act": [
            "held interest rates at {n} per cent",
            "said inflation had slowed for a third month",
            "sold shares in banks and carmakers",
            "pushed bond yields to their highest since {m}",
            "expected two rate cuts before the end of the year",
            "cut its growth forecast to {n} per cent",
            "sent stocks in {p} to a record high",
        ],
        "det": [
            "as the labour market cooled",
            "after stronger than expected retail sales",
            "in a unanimous vote",
            "amid worries about government debt",
        ],
        "roles": [
            "the central bank's governor",
            "a chief economist at a {p} bank",
            "the finance minister",
            "a fund manager in {p}",
        ],
        "say": [
            "inflation is coming down but the job is not done",
            "markets have got ahead of themselves",
            "we will not cut rates too early",
            "the economy is more resilient than we thought",
        ],
    },
    {
        "weight": 8,
        "places": ["Harbourton", "Elmford", "Glenmouth", "Tarnbury", "Valencia", "Porto", "Ashdale"],
        "head": [
            "Flood warnings in {p} as heavy rain continues",
            "Wildfire forces evacuation near {p}",
            "Heatwave brings record temperatures to {p}",
            "Storm leaves {n} homes without power in {p}",
            "Drought ration for farms around {p}",
        ],
        "subj": [
            "Firefighters",
            "The weather service",
            "Emergency services",
            "Residents of {p}",
            "Farmers",
            "The environment agency",
        ],
        "act": [
            "issued flood warnings for {n} rivers",
            "evacuated {n} homes as the wildfire spread",
            "recorded {n} degrees, a record for {m}",
            "restored power to {n} homes after the storm",
            "rescued {n} people from cars caught in floodwater",
            "banned hosepipes during the drought",
            "warned of more heavy rain over the weekend",
        ],
        "det": [
            "as the river burst its banks upstream",
            "after the driest spring on record",
            "with more storms forecast",
            "while smoke drifted over {p}",
        ],
        "roles": [
            "the fire service's chief officer",
            "a meteorologist at the weather service",
            "the mayor of {p}",
            "a farmer near {p}",
        ],
        "say": [
            "we have never seen water this high",
            "the heat is relentless and people must take care",
            "the fire moved faster than anyone expected",
            "this drought will hit every harvest",
        ],
    },
    {
        "weight": 6,
        "places": ["Lisbon", "Warsaw", "Ottawa", "Canberra", "Dublin", "Seoul", "Mexico City"],
        "head": [
            "Voters in {p} head to the polls",
            "Election count under way in {p}",
            "Opposition candidate leads in {p} election",
            "Turnout high as {p} votes",
        ],
        "subj": [
            "Voters",
            "The election commission",
            "The opposition candidate",
            "The president",
            "Party activists",
            "International observers",
        ],
        "act": [
            "queued outside polling stations before dawn",
            "counted {n} thousand postal ballots overnight",
            "promised cheaper housing and lower taxes",
            "conceded defeat shortly after midnight",
            "reported turnout of {n} per cent",
            "called the election a test for the government",
        ],
        "det": [
            "in a tight race",
            "after a bitter campaign",
            "as rain kept some voters at home",
            "with results expected on {d}",
        ],
        "roles": [
            "the opposition candidate",
            "the head of the election commission",
            "a political analyst",
            "the president's campaign manager",
        ],
        "say": [
            "every vote will be counted",
            "people want change and they voted for it",
            "this was a fair and peaceful election",
            "the result is too close to call",
        ],
    },
    {
        "weight": 7,
        "places": ["San Francisco", "Seoul", "Taipei", "Dublin", "Bangalore", "Eindhoven"],
        "head": [
            "Chipmaker unveils new artificial intelligence processor",
            "Regulators in {p} probe tech giant",
            "Data centre boom strains the grid in {p}",
            "Start-up in {p} raises {n} million",
        ],
        "subj": [
            "The chipmaker",
            "Regulators",
            "Software engineers",
            "The start-up",
            "Cloud providers",
            "Semiconductor suppliers",
        ],
        "act": [
            "unveiled an artificial intelligence chip",
            "opened an investigation into app store fees",
            "raised {n} million in a funding round",
            "planned a data centre outside {p}",
            "warned of a shortage of semiconductor parts",
            "cut {n} jobs in its software unit",
        ],
        "det": [
            "as demand for artificial intelligence soared",
            "despite export controls",
            "in the largest deal of its kind this year",
            "amid concerns about energy use",
        ],
        "roles": [
            "the company's chief executive",
            "a competition regulator",
            "a technology analyst",
            "the start-up's founder",
        ],
        "say": [
            "demand for computing power is unlike anything we have seen",
            "we will cooperate fully",
            "this chip changes what is possible",
            "the grid was not built for this",
        ],
    },
    {
        "weight": 6,
        "places": ["Manchester", "Glasgow", "Leeds", "Bristol", "Cardiff", "Belfast"],
        "head": [
            "Hospital waiting lists in {p} reach record",
            "Measles outbreak spreads in {p}",
            "Nurses in {p} vote on pay offer",
            "Vaccine campaign launched in {p}",
        ],
        "subj": ["Hospital managers", "Nurses", "The health ministry", "Doctors", "Public health officials"],
        "act": [
            "reported {n} cases of measles",
            "opened a vaccine clinic in {p}",
            "cancelled {n} planned operations",
            "voted on a pay offer of {n} per cent",
            "declared an outbreak at a school in {p}",
            "asked for emergency funding for the hospital",
        ],
        "det": [
            "as flu cases rose",
            "ahead of the winter peak",
            "with ambulances queuing outside",
            "after vaccination rates fell",
        ],
        "roles": [
            "the hospital's medical director",
            "a public health doctor",
            "the nurses' union leader",
            "the health minister",
        ],
        "say": [
            "staff are exhausted",
            "the vaccine is safe and it works",
            "patients are waiting far too long",
            "we are doing everything we can",
        ],
    },
    {
        "weight": 6,
        "places": ["London", "Paris", "Chicago", "Madrid", "Melbourne"],
        "head": [
            "Jury hears evidence in {p} fraud trial",
            "Former banker denies fraud in {p} court",
            "Judge adjourns trial in {p}",
        ],
        "subj": ["Prosecutors", "The jury", "Defence lawyers", "The judge", "A former accountant"],
        "act": [
            "told the court that {n} million had gone missing",
            "played recordings of phone calls",
            "argued that the invoices were genuine",
            "adjourned the trial until {m}",
            "heard from {n} witnesses in the first week",
            "rejected a request to dismiss the case",
        ],
        "det": [
            "in a trial expected to last six weeks",
            "as relatives watched from the public gallery",
            "after a two-year investigation",
            "under reporting restrictions",
        ],
        "roles": ["the lead prosecutor", "a defence lawyer", "the judge", "a former employee"],
        "say": [
            "the evidence will show a pattern of deceit",
            "my client is innocent",
            "the jury must decide on the evidence alone",
            "I was told to keep quiet",
        ],
    },
    {
        "weight": 6,
        "places": ["Berlin", "Paris", "London", "Milan", "Brussels", "Birmingham"],
        "head": [
            "Rail strike halts trains across {p}",
            "Airport workers in {p} stage walkout",
            "Union calls new strike over pay",
        ],
        "subj": ["Train drivers", "The rail operator", "Commuters", "The transport union", "Airport staff"],
        "act": [
            "walked out for {n} hours over pay",
            "cancelled {n} trains and flights",
            "rejected a pay offer of {n} per cent",
            "called a second strike for {d}",
            "ran replacement buses from {p}",
            "queued for hours at the airport",
        ],
        "det": [
            "in the third strike since the spring",
            "as talks broke down",
            "leaving platforms empty during the rush hour",
            "while the union consulted members",
        ],
        "roles": [
            "the union's general secretary",
            "a spokesman for the rail operator",
            "the transport minister",
            "a commuter from {p}",
        ],
        "say": [
            "nobody wants to strike but we have no choice",
            "this walkout is unnecessary",
            "the offer is an insult",
            "passengers deserve better",
        ],
    },
    {
        "weight": 6,
        "places": ["Manchester", "Madrid", "Milan", "Munich", "Lisbon", "Glasgow"],
        "head": ["{p} reach the cup final", "Late goal sends {p} top of the league", "Striker's hat-trick sinks {p}"],
        "subj": ["The striker", "The coach", "Supporters", "The goalkeeper", "The home side"],
        "act": [
            "scored twice in the second half",
            "won {n}-1 after extra time",
            "reached the cup final for the first time since {m}",
            "moved top of the league",
            "saved a penalty in stoppage time",
            "sold {n} thousand tickets in an hour",
        ],
        "det": [
            "in front of a sell-out crowd",
            "after trailing at half-time",
            "despite two injuries",
            "in a tense league match",
        ],
        "roles": ["the coach", "the club captain", "the goalkeeper", "a supporter from {p}"],
        "say": [
            "the players never stopped believing",
            "we deserve to be in the final",
            "this league is tougher than ever",
            "it was the best night of my career",
        ],
    },
    {
        "weight": 5,
        "places": ["Vienna", "Riyadh", "Houston", "Aberdeen", "Rotterdam"],
        "head": ["Oil prices jump after OPEC cuts output", "Pipeline to {p} delayed", "Wind farm approved off {p}"],
        "subj": ["OPEC ministers", "Energy companies", "The grid operator", "Oil traders", "Engineers"],
        "act": [
            "agreed to cut output by {n} thousand barrels a day",
            "pushed oil prices above {n} dollars",
            "approved a wind farm off the coast of {p}",
            "delayed a gas pipeline to {p}",
            "warned of higher energy bills in {m}",
        ],
        "det": [
            "as demand recovered",
            "after a meeting in Vienna",
            "despite climate targets",
            "while gas storage stayed high",
        ],
        "roles": ["an OPEC delegate", "the energy minister", "an oil analyst in {p}", "the grid operator's chief"],
        "say": [
            "the market is well supplied",
            "bills will stay high this winter",
            "this wind farm will power a million homes",
            "we cannot keep relying on imported gas",
        ],
    },
    {
        "weight": 5,
        "places": ["Washington", "Beijing", "Brussels", "Ottawa", "New Delhi"],
        "head": [
            "Tariffs on steel and cars take effect",
            "Trade talks resume in {p}",
            "Exports fall for a third month",
        ],
        "subj": ["Trade negotiators", "Exporters", "Customs officials", "Carmakers", "The commerce ministry"],
        "act": [
            "imposed tariffs of {n} per cent on steel",
            "resumed trade talks in {p}",
            "reported exports down {n} per cent",
            "warned of higher prices for cars",
            "filed a complaint with the trade organisation",
        ],
        "det": [
            "as tensions rose",
            "ahead of a summit in {m}",
            "after months of threats",
            "despite appeals from business groups",
        ],
        "roles": [
            "the trade representative",
            "the head of an exporters' group",
            "a trade economist",
            "the commerce minister",
        ],
        "say": [
            "tariffs are a tax on consumers",
            "we want a fair deal, not a trade war",
            "exporters are already losing orders",
            "the talks were constructive",
        ],
    },
    {
        "weight": 4,
        "places": ["Houston", "Kourou", "Tanegashima", "Pasadena"],
        "head": ["Rocket launch from {p} delayed", "Telescope spots distant galaxy", "Astronauts return to Earth"],
        "subj": ["The space agency", "Astronomers", "Astronauts", "Engineers", "The rocket company"],
        "act": [
            "delayed the rocket launch by {n} days",
            "photographed a galaxy with the new telescope",
            "returned after {n} days in orbit",
            "tested a new engine at {p}",
            "published findings in a journal",
        ],
        "det": ["because of high winds", "after a fuel leak", "under clear skies", "in a record mission"],
        "roles": ["the mission director", "an astronomer", "the astronaut", "the launch manager"],
        "say": [
            "space is hard and we will fly when it is safe",
            "this image is breathtaking",
            "it is good to be home",
            "the data exceeded our hopes",
        ],
    },
    {
        "weight": 4,
        "places": ["Dublin", "Toronto", "Sydney", "Amsterdam", "Berlin"],
        "head": ["Rents in {p} rise {n} per cent", "Mortgage approvals fall", "Housing plan for {p} unveiled"],
        "subj": ["Tenants", "Landlords", "The housing minister", "Builders", "Mortgage lenders"],
        "act": [
            "faced rents up {n} per cent in a year",
            "approved {n} new homes in {p}",
            "cut mortgage rates for first-time buyers",
            "protested outside the housing ministry",
        ],
        "det": ["as the housing shortage deepened", "after interest rates rose", "despite new rent controls"],
        "roles": ["the housing minister", "a tenants' campaigner", "a mortgage broker", "a builder in {p}"],
        "say": [
            "young people cannot afford to live here",
            "we need to build far more homes",
            "rent controls have not worked",
            "buyers are coming back",
        ],
    },
    {
        "weight": 4,
        "places": ["Leeds", "Lyon", "Boston", "Auckland"],
        "head": ["Teachers in {p} vote to strike", "University in {p} cuts courses", "Schools reopen after repairs"],
        "subj": ["Teachers", "The university", "Parents", "Students", "The education ministry"],
        "act": [
            "voted to strike over workload",
            "cut {n} courses to save money",
            "reopened {n} schools",
            "protested against tuition fees",
            "promised {n} million for school repairs",
        ],
        "det": ["as the new term began", "after inspectors found crumbling concrete", "despite record applications"],
        "roles": [
            "the teachers' union leader",
            "the university's vice-chancellor",
            "a parent in {p}",
            "the education minister",
        ],
        "say": [
            "teachers are at breaking point",
            "these cuts will hurt students",
            "our children deserve safe schools",
            "we have no choice but to save money",
        ],
    },
    {
        "weight": 4,
        "places": ["Edinburgh", "Venice", "Cannes", "Salzburg", "Avignon"],
        "head": [
            "Festival in {p} opens to record crowds",
            "Museum in {p} returns looted bronzes",
            "Film premiere lights up {p}",
        ],
        "subj": ["The festival", "Curators", "The museum", "Critics", "The orchestra"],
        "act": [
            "sold {n} thousand tickets",
            "returned {n} bronzes to their country of origin",
            "premiered a new film",
            "opened an exhibition of early photographs",
        ],
        "det": ["in a ceremony attended by the ambassador", "after years of negotiations", "to standing ovations"],
        "roles": ["the festival director", "the museum's curator", "a film critic", "the conductor"],
        "say": [
            "art belongs to everyone",
            "returning these objects is the right thing to do",
            "the audience was extraordinary",
            "this is the best festival in years",
        ],
    },
    {
        "weight": 5,
        "places": ["Detroit", "Stuttgart", "Seattle", "Osaka", "Basel"],
        "head": ["Carmaker to cut {n} jobs", "Shares soar on merger news", "Profits beat forecasts at {p} firm"],
        "subj": ["The company", "Shareholders", "Workers", "The board", "Analysts"],
        "act": [
            "announced {n} layoffs",
            "agreed a merger worth {n} billion",
            "reported earnings above forecasts",
            "sent shares up {n} per cent",
            "closed a plant in {p}",
        ],
        "det": ["after sales slowed", "in a deal expected to close in {m}", "as costs rose"],
        "roles": ["the company's chief executive", "a union official", "an industry analyst", "the chairman"],
        "say": [
            "these decisions are never easy",
            "the merger creates a stronger company",
            "workers are paying the price",
            "the results speak for themselves",
        ],
    },
    {
        "weight": 4,
        "places": ["Lampedusa", "Calais", "Dover", "El Paso", "Ceuta"],
        "head": ["Migrants rescued off {p}", "Asylum rules tightened", "Border crossings rise near {p}"],
        "subj": ["Coastguards", "Border officials", "Aid groups", "The interior ministry", "Asylum seekers"],
        "act": [
            "rescued {n} migrants at sea",
            "tightened asylum rules",
            "reported {n} border crossings in {m}",
            "opened a reception centre near {p}",
        ],
        "det": ["after a boat capsized", "as arrivals rose", "despite new border controls"],
        "roles": ["the interior minister", "a coastguard officer", "an aid worker", "a border official"],
        "say": [
            "people are dying at sea",
            "the border must be controlled",
            "we need safe routes",
            "our staff are overwhelmed",
        ],
    },
)


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    """``rng.choice``, three times as fast (generation makes millions of picks)."""
    return items[int(rng.random() * len(items))]


def _place(rng: random.Random) -> str:
    return _pick(rng, _PLACE_HEADS) + _pick(rng, _PLACE_TAILS)


def _fill(rng: random.Random, pattern: str, place: str) -> str:
    if "{" not in pattern:
        return pattern
    r = rng.random
    return pattern.format(p=place, n=2 + int(r() * 94), m=_MONTHS[int(r() * 12)], d=_DAYS_OF_WEEK[int(r() * 7)])


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class _Piece:
    """A sentence of an article; a quote carries its offsets relative to the sentence."""

    text: str
    quote: dict[str, Any] | None = None
    fact: bool = False


@dataclass(frozen=True, slots=True)
class _Story:
    """What every article of one story draws on: its theme, place, people, headline, facts and quotes."""

    theme: dict[str, Any]
    place: str
    cast: list[tuple[str, str]]
    headline: str
    facts: list[str]
    quotes: list[str]


def _outlets() -> list[str]:
    rng = random.Random(f"{SEED}:outlets")
    names = sorted({f"{h}{t}.example" for h in _OUTLET_HEADS for t in _OUTLET_TAILS})
    return rng.sample(names, 40)


def _story_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.004:
        return rng.randint(25, 70)  # an ongoing big story many outlets keep updating
    if roll < 0.45:
        return 1
    if roll < 0.65:
        return 2
    if roll < 0.78:
        return 3
    return rng.randint(4, 9)


def _fact(rng: random.Random, theme: dict[str, Any], place: str, cast: list[tuple[str, str]]) -> str:
    r = rng.random
    subject = _pick(rng, cast)[0] if r() < 0.2 else _fill(rng, _pick(rng, theme["subj"]), place)
    core = f"{subject} {_fill(rng, _pick(rng, theme['act']), place)}"
    roll = r()
    if roll < 0.55:
        core += f" {_fill(rng, _pick(rng, theme['det']), place)}"
    elif roll < 0.75:
        core += f" on {_pick(rng, _DAYS_OF_WEEK)}"
    return _cap(core) + "."


def _story(number: int, theme_index: int) -> _Story:
    """The content of story ``number`` (its own seeded RNG: any process can make it, in any order)."""
    rng = random.Random(f"{SEED}:{GENERATOR_VERSION}:story:{number}")
    theme = _THEMES[theme_index]
    place = _pick(rng, theme["places"]) if rng.random() < 0.7 else _place(rng)
    cast = [
        (f"{_pick(rng, _FIRST)} {_pick(rng, _LAST)}", _fill(rng, _pick(rng, theme["roles"]), place)) for _ in range(3)
    ]
    headline = _cap(_fill(rng, _pick(rng, theme["head"]), place))
    facts = [_fact(rng, theme, place, cast) for _ in range(8)]
    quotes = [_pick(rng, theme["say"]) for _ in range(3)]
    return _Story(theme, place, cast, headline, facts, quotes)


def _quote_piece(rng: random.Random, speaker: tuple[str, str], words: str) -> _Piece:
    """A quote sentence with offsets (relative to the sentence) of the quotation and of the speaker's name."""
    name, role = speaker
    cue = _pick(rng, _CUES)
    said = _cap(words)
    pattern = rng.randrange(3)
    if pattern == 0:
        text = f'"{said}," {name}, {role}, {cue}.'
        q_start, sp_start = 1, len(said) + 4
    elif pattern == 1:
        lead = f"{name}, {role}, {cue}: "
        text = f'{lead}"{said}."'
        q_start, sp_start = len(lead) + 1, 0
    else:
        cue = cue.split()[0]  # "said Maria Alvarez", never "said in a statement Maria Alvarez"
        text = f'"{said}," {cue} {name}.'
        q_start, sp_start = 1, len(said) + 4 + len(cue) + 1
    resolved = rng.random() > 0.1  # now and then the summarizer could not name the speaker
    quote = {
        "text": said,
        "speaker": name if resolved else None,
        "cue": cue.split()[0],
        "role": role if resolved and pattern != 2 else None,
        "start": q_start,
        "end": q_start + len(said),
        "speaker_start": sp_start if resolved else None,
        "speaker_end": sp_start + len(name) if resolved else None,
    }
    return _Piece(text, quote)


def _article_text(rng: random.Random, story: _Story) -> tuple[str, str, dict[str, Any]]:
    """(title, text, stored summary JSON) of one outlet's article about ``story``."""
    theme, place = story.theme, story.place
    title = story.headline if rng.random() < 0.6 else _cap(_fill(rng, _pick(rng, theme["head"]), place))
    lead = 0 if rng.random() < 0.7 else 1
    lead_fact, others = story.facts[lead], story.facts[:lead] + story.facts[lead + 1 :]
    body: list[_Piece] = [_Piece(f, fact=True) for f in rng.sample(others, rng.randint(3, 6))]
    body += [_Piece(_fact(rng, theme, place, story.cast), fact=True) for _ in range(rng.randint(3, 7))]
    body += [_Piece(_fill(rng, _pick(rng, _GENERIC), place)) for _ in range(rng.randint(1, 2))]
    rng.shuffle(body)
    for _ in range(rng.randint(1, 3)):
        quote = _quote_piece(rng, _pick(rng, story.cast), _pick(rng, story.quotes))
        body.insert(rng.randint(1, len(body)), quote)
    pieces = [_Piece(lead_fact, fact=True), *body]

    parts: list[str] = []
    offset = 0
    quotes: list[dict[str, Any]] = []
    facts: list[str] = []
    index = 0
    while index < len(pieces):
        group = pieces[index : index + (1 if index == 0 else rng.randint(1, 3))]
        index += len(group)
        if parts:
            parts.append("\n\n")
            offset += 2
        for n, piece in enumerate(group):
            if n:
                parts.append(" ")
                offset += 1
            if piece.quote is not None:
                q = dict(piece.quote)
                for key in ("start", "end", "speaker_start", "speaker_end"):
                    if q[key] is not None:
                        q[key] += offset
                quotes.append(q)
            elif piece.fact:
                facts.append(piece.text)
            parts.append(piece.text)
            offset += len(piece.text)
    text = "".join(parts)
    # What the default summarizer keeps of such an article: the lead and two more reported facts, in order;
    # key quotes: those with a named speaker first.
    picked = [facts[0], *sorted(rng.sample(facts[1:6], 2), key=facts.index)]
    quotes.sort(key=lambda q: q["speaker"] is None)
    summary = {"sentences": picked, "quotes": quotes[:2], "algorithm": "default", "language": "english"}
    return title, text, summary


def _article_id(n: int) -> str:
    # An odd multiplier is a bijection modulo 2**48: distinct, random-looking ids, the same on every run.
    return f"a_{(n * 0x9E3779B97F4B + 0x5DEECE66D) % (1 << 48):012x}"


@dataclass(frozen=True, slots=True)
class _Slot:
    """One article to write: its place in time order (which gives its id), its story, outlet and times."""

    position: int
    story: int
    theme: int
    number: int  # the article's number within its story
    outlet: str
    when: datetime
    story_id: str | None


@dataclass
class Plan:
    """The archive's skeleton, cheap to make: every article's slot in time order, and the story rows."""

    slots: list[_Slot]
    stories: list[dict[str, Any]]
    outlets: list[str]


def plan(total: int) -> Plan:
    """Stories (theme, size, when each article was first seen, by which outlet) until ``total`` articles, then
    every article in order of first sight: ingest stores articles as it meets them, so ``pk`` follows time."""
    rng = random.Random(f"{SEED}:{GENERATOR_VERSION}")
    outlets = _outlets()
    weights = [t["weight"] for t in _THEMES]
    drafts: list[tuple[datetime, int, int, int, str]] = []  # (first seen, story, number, theme, outlet)
    in_story: list[bool] = []
    count = 0
    while count < total:
        number = len(in_story)
        theme = rng.choices(range(len(_THEMES)), weights=weights)[0]
        size = min(_story_size(rng), total - count)
        spread_h = rng.uniform(48, 240) if size > 20 else rng.expovariate(1 / 10)
        start = NOW - timedelta(days=DAYS) + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        times = [start + timedelta(hours=rng.uniform(0, spread_h)) for _ in range(size)]
        times = sorted(t if t <= NOW else NOW - timedelta(minutes=rng.uniform(1, 120)) for t in times)
        drafts.extend((when, number, n, theme, _pick(rng, outlets)) for n, when in enumerate(times))
        # A lone article is now and then in no story yet (stored before the story index saw it).
        in_story.append(size > 1 or rng.random() < 0.9)
        count += size
    drafts.sort()
    story_ids: dict[int, str] = {}
    slots: list[_Slot] = []
    rows: dict[str, dict[str, Any]] = {}
    for position, (when, number, n, theme, outlet) in enumerate(drafts):
        story_id = None
        if in_story[number]:
            story_id = story_ids.setdefault(number, f"s_{_article_id(position)[2:]}")  # from its first article
            row = rows.setdefault(
                story_id, {"id": story_id, "first_seen": when, "updated_at": when, "article_count": 0, "outlets": []}
            )
            row["updated_at"] = when
            row["article_count"] += 1
            if outlet not in row["outlets"]:
                row["outlets"].append(outlet)
        slots.append(_Slot(position, number, theme, n, outlet, when, story_id))
    return Plan(slots, list(rows.values()), outlets)


_STORIES: dict[int, _Story] = {}


def write(slots: Sequence[_Slot]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The article rows and feed-link rows of ``slots`` (run in worker processes)."""
    from bot.stories import canonical_url, content_hash

    feed_of = {o: i + 1 for i, o in enumerate(_outlets())}
    rows: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for slot in slots:
        story = _STORIES.get(slot.story)
        if story is None:
            story = _STORIES[slot.story] = _story(slot.story, slot.theme)
        rng = random.Random(f"{SEED}:{GENERATOR_VERSION}:article:{slot.story}:{slot.number}")
        title, text, summary = _article_text(rng, story)
        when = slot.when
        article_id = _article_id(slot.position)
        slug = "-".join(w.lower() for w in title.split()[:6] if w.isalnum())
        url = f"https://{slot.outlet}/{when:%Y/%m/%d}/{slug}-{slot.position}"
        published = None if rng.random() < 0.04 else when - timedelta(minutes=rng.uniform(0, 90))
        rows.append(
            {
                "id": article_id,
                "url": url,
                "canonical_url": canonical_url(url),
                "guid": url,
                "title": title,
                "author": f"{_pick(rng, _FIRST)} {_pick(rng, _LAST)}",
                "outlet": slot.outlet,
                "published_at": published,
                "first_seen": when,
                "updated_at": when,
                "text": text,
                "text_source": "page",
                "content_hash": content_hash(text),
                "summary_json": summary,
                "story_id": slot.story_id,
                "minhash": None,
                "eligible": True,
                "language": "english",
            }
        )
        links.append({"feed_id": feed_of[slot.outlet], "article_id": article_id, "guid": url, "first_seen": when})
    return rows, links


def _generated(skeleton: Plan) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Article and link rows in time order, in batches, written by worker processes while the caller inserts."""
    chunks = [skeleton.slots[i : i + BATCH] for i in range(0, len(skeleton.slots), BATCH)]
    workers = max(1, min(2, (os.cpu_count() or 1)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(write, chunks)


def build(url: str, total: int) -> dict[str, Any]:
    """Create and fill a store at ``url`` with the generated archive of ``total`` articles (run in a child
    process; worker processes write the articles while this one inserts them). Returns what was stored and how
    long it took."""
    from sqlalchemy import insert

    from bot.store import Store
    from bot.store._models import ArticleRow, FeedArticleRow, FeedRow, StoryRow

    started = time.perf_counter()
    store = Store(url)
    store.upgrade()
    skeleton = plan(total)
    feeds = [
        {
            "url": f"https://{o}/rss.xml",
            "name": o.split(".")[0].title(),
            "interval_s": 900,
            "tags": [],
            "consecutive_failures": 0,
            "backfilled": True,
            "created_at": NOW - timedelta(days=DAYS + 1),
            "last_polled_at": NOW,
            "next_poll_at": NOW + timedelta(minutes=15),
        }
        for o in skeleton.outlets
    ]
    with store._engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous = OFF")
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
        conn.execute(insert(FeedRow), feeds)
        for chunk in _chunked(skeleton.stories, BATCH):
            conn.execute(insert(StoryRow), chunk)
        for rows, links in _generated(skeleton):
            conn.execute(insert(ArticleRow), rows)
            conn.execute(insert(FeedArticleRow), links)
    return _finish(store, started)


def _finish(store: Any, started: float) -> dict[str, Any]:
    """PostgreSQL: planner statistics, which a live database gets from autovacuum (a SQLite store is never
    analyzed, so neither is the bench's). Returns what was stored."""
    with store._engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if store.dialect == "postgresql":
            conn.exec_driver_sql("VACUUM ANALYZE")
        counts = [
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in ("articles", "stories", "feeds")
        ]
    store.close()
    return {"articles": counts[0], "stories": counts[1], "outlets": counts[2], "total_s": time.perf_counter() - started}


def copy_to_postgres(url: str, archive: str) -> dict[str, Any]:
    """Fill a migrated PostgreSQL store at ``url`` with the SQLite ``archive`` (a file path), row for row (same
    ``pk``s), with ``COPY`` (run in a child process). The generated ``tsvector`` column is computed as rows
    arrive, by two connections at once (it is most of the work); the GIN index is dropped for the load and
    re-created with the migration's own definition (one build over the loaded rows makes the same index, many
    times faster than 100,000 single inserts)."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import Boolean

    from bot.store import Store
    from bot.store._models import Base, UTCDateTime

    started = time.perf_counter()
    store = Store(url)
    store.upgrade()

    def load(table: str, where: str = "") -> None:
        """COPY one table (or the part of it ``where`` selects) in its own transaction."""
        columns = Base.metadata.tables[table].columns
        names = [c.name for c in columns]
        stamps = [i for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)]
        flags = [i for i, c in enumerate(columns) if isinstance(c.type, Boolean)]
        source = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
        pooled = store._engine.raw_connection()
        try:
            raw = pooled.driver_connection
            assert raw is not None
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {', '.join(names)} FROM {table} {where} ORDER BY rowid"):
                    values = list(row)
                    for i in stamps:  # SQLite holds naive UTC
                        values[i] = None if values[i] is None else f"{values[i]}+00"
                    for i in flags:
                        values[i] = None if values[i] is None else bool(values[i])
                    copy.write_row(values)
            raw.commit()
        finally:
            pooled.close()
            source.close()

    with store._engine.begin() as conn:
        gin = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'articles' AND indexdef LIKE '%%USING gin%%'"
        ).all()
        for name, _ in gin:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    load("feeds")
    load("stories")
    middle = int(
        sqlite3.connect(f"file:{archive}?mode=ro", uri=True).execute("SELECT max(pk) / 2 FROM articles").fetchone()[0]
        or 0
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        halves = [
            pool.submit(load, "articles", f"WHERE pk <= {middle}"),
            pool.submit(load, "articles", f"WHERE pk > {middle}"),
        ]
        for half in halves:
            half.result()
    load("feed_articles")
    with store._engine.begin() as conn:
        for _, definition in gin:
            conn.exec_driver_sql(definition)
        for table, key in (("feeds", "id"), ("articles", "pk")):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), (SELECT max({key}) FROM {table}))"
            )
    return _finish(store, started)


def _chunked(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- measuring (a fresh process per backend) ----------------------------------------------------------------


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def measure(url: str, profile: str | None = None) -> dict[str, Any]:
    """Answer the warm-up queries (untimed), then time every query of :data:`QUERIES` once (run in a fresh
    process); returns the timings in ms, what each answer was, and the process's peak RSS."""
    from bot.briefing import Briefing
    from bot.commands import RateLimiter, Reply, answer, parse_command
    from bot.config import settings_from_mapping
    from bot.store import Store

    settings = settings_from_mapping({"store": {"url": url}, "topics": TOPICS})
    store = Store(url)
    store.upgrade()  # what the bot does on start (a no-op here)
    limiter = RateLimiter(per_minute=1_000_000)  # the bench is one very busy user

    def brief(query: str) -> Reply:
        command = parse_command(f"/brief {query}")
        return answer(
            command,
            store=store,
            settings=settings,
            user="bench",
            channel="bench",
            now=NOW,
            limiter=limiter,
            platform="console",
            is_manager=True,
        )

    for query in WARMUP:
        brief(query)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    results: list[dict[str, Any]] = []
    for kind, query in QUERIES:
        t0 = time.perf_counter()
        reply = brief(query)
        elapsed = (time.perf_counter() - t0) * 1000.0
        found = reply.briefing
        results.append(
            {
                "kind": kind,
                "query": query,
                "ms": elapsed,
                "stories": len(found.stories) + found.more if isinstance(found, Briefing) else 0,
                "briefed": len(found.stories) if isinstance(found, Briefing) else 0,
                "multi": sum(len(s.sources) > 1 for s in found.stories) if isinstance(found, Briefing) else 0,
            }
        )
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    store.close()
    return {"results": results, "rss_mb": _peak_rss_mb()}


def _in_fresh_process(fn: Callable[..., _T], *args: Any) -> _T:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# --- backends -----------------------------------------------------------------------------------------------


def _sqlite(total: int, rebuild: bool) -> tuple[str, dict[str, Any], bool]:
    """The cached SQLite archive (built when missing): (url, generation info, whether it came from the cache)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    from bot.store import Store

    head = Store("sqlite://").head_revision()
    key = hashlib.sha256(f"{GENERATOR_VERSION}:{SEED}:{total}:{head}".encode()).hexdigest()[:10]
    path = CACHE_DIR / f"brief-{total}-v{GENERATOR_VERSION}-{key}.db"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        return f"sqlite:///{path}", json.loads(meta_path.read_text()), True
    for stale in (path, meta_path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    building = path.with_name(f"building-{uuid.uuid4().hex[:8]}.db")
    try:
        meta = _in_fresh_process(build, f"sqlite:///{building}", total)
        building.rename(path)
        for suffix in ("-wal", "-shm"):
            building.with_name(building.name + suffix).unlink(missing_ok=True)
    finally:
        for leftover in (building, *(building.with_name(building.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    meta_path.write_text(json.dumps(meta))
    return f"sqlite:///{path}", meta, False


def _postgres_problem(base: str) -> str | None:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed: {exc}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL is not reachable at {dsn}: {exc.__class__.__name__}: {' '.join(str(exc).split())}"


@dataclass
class Row:
    """One backend's outcome."""

    backend: str
    skipped: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    measured: dict[str, Any] = field(default_factory=dict)


def run_sqlite(url: str, meta: dict[str, Any], cached: bool, profile: str | None) -> Row:
    measured = _in_fresh_process(measure, url, f"{profile}-sqlite.prof" if profile else None)
    return Row("sqlite", meta=meta, cached=cached, measured=measured)


def run_postgres(archive: str, profile: str | None) -> Row:
    """Copy the generated archive into a private schema, measure, drop the schema."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        meta = _in_fresh_process(copy_to_postgres, url, archive.removeprefix("sqlite:///"))
        measured = _in_fresh_process(measure, url, f"{profile}-postgresql.prof" if profile else None)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return Row("postgresql", meta=meta, measured=measured)


# --- report -------------------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def report(rows: list[Row], total: int) -> None:
    kinds = Counter(kind for kind, _ in QUERIES)
    print(
        f"/brief latency: {total:,} generated articles (seed {SEED}, generator v{GENERATOR_VERSION}) over {DAYS} "
        f"days before {NOW:%Y-%m-%d %H:%M} UTC (the fixed `now`);"
    )
    print(f"{len(QUERIES)} queries (" + ", ".join(f"{n} {k}" for k, n in kinds.items()) + "), each timed once")
    print(
        f"through bot.commands (parse_command + answer) in a fresh process per backend, after {len(WARMUP)} "
        f"untimed warm-up queries; {os.cpu_count() or 1} CPU core(s)."
    )
    print()
    header = [
        "backend",
        "articles",
        "stories",
        "build s",
        "p50 ms",
        "p95 ms",
        "max ms",
        "target",
        "",
        "briefings",
        "peak RSS MB",
    ]
    table: list[list[str]] = []
    measured = [r for r in rows if not r.skipped]
    for row in measured:
        times = [r["ms"] for r in row.measured["results"]]
        p95 = _pct(times, 0.95)
        answered = sum(r["stories"] > 0 for r in row.measured["results"])
        built = f"{row.meta['total_s']:.1f}" + (" (cached)" if row.cached else "")
        table.append(
            [
                row.backend,
                f"{row.meta['articles']:,}",
                f"{row.meta['stories']:,}",
                built,
                f"{statistics.median(times):.1f}",
                f"{p95:.1f}",
                f"{max(times):.1f}",
                f"p95 <= {TARGET_P95_MS:g} ms",
                "PASS" if p95 <= TARGET_P95_MS else "MISS",
                f"{answered}/{len(times)}",
                f"{row.measured['rss_mb']:,.0f}",
            ]
        )
    if table:
        print(_table(header, table))
    width = max((len(r.backend) for r in rows), default=0)
    for row in rows:
        if row.skipped:
            print(f"{row.backend.ljust(width)}  skipped: {row.skipped}")
    if not measured:
        return
    print()
    by_kind_header = ["query kind", "queries", *[f"{r.backend} p50 / p95 / max ms" for r in measured]]
    by_kind: list[list[str]] = []
    for kind in kinds:
        cells = [kind, str(kinds[kind])]
        for r in measured:
            ms = [x["ms"] for x in r.measured["results"] if x["kind"] == kind]
            cells.append(f"{statistics.median(ms):.1f} / {_pct(ms, 0.95):.1f} / {max(ms):.1f}")
        by_kind.append(cells)
    print(_table(by_kind_header, by_kind))
    print()
    for r in measured:
        results = r.measured["results"]
        slowest = max(results, key=lambda x: x["ms"])
        print(
            f"{r.backend}: {sum(x['briefed'] for x in results)} stories briefed, "
            f"{sum(x['multi'] for x in results)} of them from several outlets (brief_story); "
            f"slowest {slowest['query']!r} ({slowest['ms']:.1f} ms)"
        )
    print(
        "build s: generate and bulk-insert the SQLite archive (cached: when it was built), or COPY it into "
        "PostgreSQL with the GIN index and VACUUM ANALYZE"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=ARTICLES, help=f"archive size (default {ARTICLES:,})")
    parser.add_argument("--quick", action="store_true", help=f"a small smoke run ({QUICK_ARTICLES:,} articles)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached SQLite archive")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile the timed queries into PREFIX-<backend>.prof")
    args = parser.parse_args()
    total = QUICK_ARTICLES if args.quick else args.articles
    if total < 1:
        parser.error("--articles must be at least 1")
    started = time.perf_counter()
    problem = _postgres_problem(POSTGRES_URL) if args.backend != "sqlite" else None
    rows: list[Row] = []
    if args.backend != "postgresql" or problem is None:
        archive, meta, cached = _sqlite(total, args.rebuild)  # PostgreSQL copies this archive
        if args.backend != "postgresql":
            rows.append(run_sqlite(archive, meta, cached, args.profile))
        if args.backend != "sqlite" and problem is None:
            rows.append(run_postgres(archive, args.profile))
    if problem is not None:
        rows.append(Row("postgresql", skipped=problem))
    report(rows, total)
    print(f"\nbench finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
