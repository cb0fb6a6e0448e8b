"""Reader defects: a page set of our own writing (fictional text) with each defect class a reader saw.

Each page is served on loopback (testkit/feedserver.py), fetched over real HTTP, run through
``extract_page`` and ``summarize`` as ingestion and briefing do, and the brief is checked for the defect.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.sources import extract_page
from summarizer import Summary, summarize
from summarizer._quotes import ngrams
from testkit.feedserver import FeedServer

_FILLER = (
    "<p>The harbour office keeps a log of every crossing, and the log for this year runs to four thick volumes.</p>"
    "<p>Residents of the bay have relied on the boats for groceries, school runs and hospital visits.</p>"
)


def _page(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title} | Valley Courier</title></head><body><article>"
        f"<h1>{title}</h1>{body}{_FILLER}</article></body></html>"
    )


PAGES = {
    "/letter.html": _page(
        "Ferry captains write to the minister",
        "<p>Transport minister Tom Pelham wants cheaper ferries on every route in the bay.</p>"
        "<p>In the letter, the captains warn Mr Pelham: 'Let's not start a race to the bottom on safety, "
        "which would hurt the crews who keep the ferries running.'</p>"
        "<p>The minister's office said it had received the letter and would reply within a week.</p>",
    ),
    "/pronoun.html": _page(
        "Towering Northern radio dish awaits its review",
        "<p>Towering Northern radio dish was built over nine years on a windy plateau above the valley.</p>"
        '<p>"A successful review will certainly help us win the next grant," he says.</p>'
        "<p>The review panel will visit the site in the spring and report before the summer.</p>",
    ),
    "/dropcap.html": _page(
        "Envoys gather for lakeside talks",
        '<div class="initial">W</div><p>hen the envoys arrived, the hall by the lake was already full of '
        "reporters and local families.</p>"
        "<p>Three neighbouring states sent delegations to the talks, which are due to last a week.</p>",
    ),
    "/list.html": _page(
        "Winter timetable for the bay ferries",
        "<p>The operator published its winter timetable on Monday after a month of consultation.</p>"
        "<ul><li>- Now, the first boat leaves at seven instead of six in the morning.</li>"
        "<li>- The last boat leaves at nine in the evening on weekdays.</li></ul>",
    ),
    "/dateline.html": _page(
        "Ferry season ends early",
        "<p>KESTREL BAY (Example Wire) - The last ferry of the season will leave the harbour at dawn on "
        "Sunday, the operator said.</p>"
        "<p>Passenger numbers rose by a third this summer, according to the harbour office.</p>",
    ),
    "/repeat.html": _page(
        "Bridge to stay closed",
        "<p>Mayor Ines Calder said the bridge will stay closed until the engineers say it is safe again.</p>"
        '<p>Calder said: "The bridge will stay closed until the engineers say it is safe again."</p>'
        "<p>The ferry will carry commuters free of charge while the bridge is shut, the council said.</p>",
    ),
}


@pytest.fixture(scope="module")
def briefs() -> Iterator[dict[str, tuple[str, Summary]]]:
    with FeedServer() as server:
        for path, html in PAGES.items():
            server.route(path, html, headers={"Content-Type": "text/html; charset=utf-8"})
        out: dict[str, tuple[str, Summary]] = {}
        with httpx.Client(timeout=5.0) as client:
            for path in PAGES:
                url = server.url(path)
                page = extract_page(client.get(url).content, url)
                assert page is not None, path
                out[path] = (page.text, summarize(page.text, title=page.title, sentences=3, quotes=2))
        yield out


def _parts(summary: Summary) -> list[str]:
    return [*summary.sentences, *(q.text for q in summary.quotes)]


def test_letter_addressee_is_not_quoted_as_speaker(briefs: dict[str, tuple[str, Summary]]) -> None:
    _, s = briefs["/letter.html"]
    assert all(q.speaker != "Tom Pelham" for q in s.quotes)


def test_pronoun_after_headline_gets_no_headline_speaker(briefs: dict[str, tuple[str, Summary]]) -> None:
    _, s = briefs["/pronoun.html"]
    assert all("Towering" not in (q.speaker or "") for q in s.quotes)


def test_drop_cap_initial_is_joined(briefs: dict[str, tuple[str, Summary]]) -> None:
    text, s = briefs["/dropcap.html"]
    assert "When the envoys arrived" in text
    assert not any(sentence.startswith("hen ") for sentence in s.sentences)


def test_list_bullets_do_not_leak(briefs: dict[str, tuple[str, Summary]]) -> None:
    _, s = briefs["/list.html"]
    assert s.sentences
    assert not any(sentence.lstrip().startswith(("-", "*", "•")) for sentence in s.sentences)


def test_dateline_is_dropped(briefs: dict[str, tuple[str, Summary]]) -> None:
    _, s = briefs["/dateline.html"]
    assert any("last ferry of the season" in sentence for sentence in s.sentences)
    assert not any("Example Wire" in sentence for sentence in s.sentences)


def test_no_part_repeats_another(briefs: dict[str, tuple[str, Summary]]) -> None:
    for path, (_, s) in briefs.items():
        parts = _parts(s)
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                assert ngrams(a).isdisjoint(ngrams(b)), (path, a, b)
        assert all(part.count('"') % 2 == 0 for part in s.sentences), path
