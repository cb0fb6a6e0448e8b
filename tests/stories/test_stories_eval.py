"""``python -m bot.stories.eval``: the SPEC's JSON shape, the metrics on a hand-made example, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.stories.eval import main, scores
from testkit.story_pairs import DIFFERENT_STORY, SAME_STORY

KEYS = {
    "articles",
    "stories",
    "singletons",
    "pair_precision",
    "pair_recall",
    "pair_f1",
    "b3_precision",
    "b3_recall",
    "b3_f1",
}


def test_scores_on_a_hand_made_example() -> None:
    # gold: {1,2,3} {4,5}; predicted: {1,2} {3,4,5}
    gold = {"1": "x", "2": "x", "3": "x", "4": "y", "5": "y"}
    pred = {"1": "A", "2": "A", "3": "B", "4": "B", "5": "B"}
    s = scores(pred, gold)
    # pairs: gold 3+1=4, predicted 1+3=4, together {1,2} and {4,5} = 2
    assert (s.pair_precision, s.pair_recall) == (0.5, 0.5) and s.pair_f1 == 0.5
    # B3 precision: 1,2 -> 1; 3 -> 1/3; 4,5 -> 2/3; recall: 1,2 -> 2/3; 3 -> 1/3; 4,5 -> 1
    assert s.b3_precision == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5)
    assert s.b3_recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5)
    alone = scores({i: i for i in gold}, gold)
    assert alone.pair_precision == 1.0 and alone.pair_recall == 0.0 and alone.pair_f1 == 0.0
    assert alone.b3_precision == 1.0


def _write(path: Path, labelled: bool) -> Path:
    rows = []
    texts = [(f"e{i}", t) for i, (_, a, b) in enumerate(SAME_STORY) for t in (a, b)]
    texts += [(f"d{i}{j}", t) for i, (_, a, b) in enumerate(DIFFERENT_STORY[2:4]) for j, t in enumerate((a, b))]
    for n, (event, text) in enumerate(texts):
        title, _, body = text.partition("\n")
        when = f"2024-05-0{1 + n // 6}T{n % 6:02d}:00:00+00:00"
        row = {
            "id": f"x{n:02d}",
            "title": title,
            "text": body,
            "source": f"outlet{n % 3}",
            "published": when,
            "url": f"https://o.example/{n}",
        }
        if labelled:
            row["event"] = event
        rows.append(json.dumps(row))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_json_output_follows_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = _write(tmp_path / "tiny.jsonl", labelled=True)
    unlabelled = _write(tmp_path / "raw.jsonl", labelled=False)
    assert main([str(labelled), str(unlabelled), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    tiny, raw = out["datasets"]["tiny"], out["datasets"]["raw"]
    assert KEYS | {"baseline", "assignments"} == set(tiny)
    assert set(tiny["baseline"]) == KEYS
    assert tiny["articles"] == 14 and len(tiny["assignments"]) == 14
    assert tiny["stories"] == len(set(tiny["assignments"].values()))
    assert all(isinstance(tiny[k], float) for k in KEYS - {"articles", "stories", "singletons"})
    assert raw["assignments"] == tiny["assignments"]  # labels are never read by the grouping
    assert raw["pair_f1"] is None and raw["baseline"]["b3_f1"] is None and raw["stories"] == tiny["stories"]
    # the text table names both systems per data set
    assert main([str(labelled)]) == 0
    table = capsys.readouterr().out
    assert "newsbrief" in table and "baseline" in table and "tiny" in table


def test_bad_input_is_one_line_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "title": "t", "text": "x", "source": "s", "published": "2024-05-01", "url": ""}\n'
        '{"id": "b", "published": "yesterday"}\n',
        encoding="utf-8",
    )
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{bad}:2" in err and "published" in err
    assert main([str(tmp_path / "missing.jsonl")]) == 2


def test_briefs_are_scored_against_references_beside_lead_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = _write(tmp_path / "tiny.jsonl", labelled=True)
    refs = tmp_path / "refs.jsonl"
    references = {f"e{i}": " ".join((a + " " + b).split()[:60]) for i, (_, a, b) in enumerate(SAME_STORY)}
    refs.write_text("\n".join(json.dumps({"event": e, "reference": r}) for e, r in references.items()) + "\n")
    assert main(["--briefs", str(labelled), "--refs", str(refs)]) == 0
    table = capsys.readouterr().out
    assert f"tiny briefs: {len(SAME_STORY)} events with a reference" in table
    assert "brief_story (the event's articles)" in table and "lead-3 (its first article)" in table
    assert "brief_story - lead-3, paired bootstrap 95% interval" in table and "R-1" in table
    assert main([str(labelled), "--briefs", str(labelled), "--refs", str(refs), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    briefs = out["briefs"]["tiny"]
    assert set(out["datasets"]) == {"tiny"} and briefs["events"] == len(SAME_STORY)
    assert set(briefs["brief_story"]) == set(briefs["lead-3"]) == {"rouge1", "rouge2", "rougeL"}
    delta, low, high = briefs["difference"]["rouge1"]
    assert low <= delta <= high
    assert 0.0 < briefs["brief_story"]["rouge1"] <= 100.0


def test_briefs_need_references_and_bad_ones_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = _write(tmp_path / "tiny.jsonl", labelled=True)
    assert main(["--briefs", str(labelled)]) == 2
    assert "--refs" in capsys.readouterr().err
    assert main([]) == 2
    capsys.readouterr()
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"event": "e0", "reference": "A quake."}\n{"event": "e1"}\n', encoding="utf-8")
    assert main(["--briefs", str(labelled), "--refs", str(refs)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{refs}:2" in err and "reference" in err
    refs.write_text('{"event": "elsewhere", "reference": "Nothing here."}\n', encoding="utf-8")
    assert main(["--briefs", str(labelled), "--refs", str(refs)]) == 2
    assert f"{labelled} ({refs}): no event has a reference" in capsys.readouterr().err


# Three events, each told by two outlets in their own words: a ferry fire (day 1), then a port strike and a
# museum theft (day 2). Each text is long enough to be taken from its page rather than the feed's teaser.
TINY = [
    (
        "ferry",
        "Harbour Times",
        "2024-03-11T07:10:00+00:00",
        "Fire on Kestrel Bay ferry forces 212 passengers to lifeboats",
        "All 212 passengers of the Kestrel Bay ferry Morning Wren were taken off in lifeboats on Monday "
        "after a fire broke out in the engine room halfway across the strait, the coastguard said.\n\nThe "
        "blaze started at about 6am and was put out by the crew within an hour. Eleven people were "
        'treated for smoke inhalation at Dunmore General Hospital.\n\n"The crew did everything right," '
        "coastguard commander Aileen Ferris told reporters in Dunmore. The operator, Strait Link, has "
        "suspended the Morning Wren crossings while investigators inspect the engine room.",
    ),
    (
        "ferry",
        "Valley Post",
        "2024-03-11T09:40:00+00:00",
        "Morning Wren evacuated: engine room fire on Kestrel Bay crossing",
        "A fire in the engine room of the ferry Morning Wren led to the evacuation of 212 passengers "
        "into lifeboats in Kestrel Bay on Monday morning.\n\nCoastguard commander Aileen Ferris said the "
        "crew brought the fire under control in under an hour and praised their response. Eleven "
        "passengers were taken to Dunmore General Hospital with smoke inhalation.\n\nStrait Link, which "
        "runs the route, said the Morning Wren would stay in Dunmore harbour until investigators have "
        "finished examining the engine room. Crossings are suspended.",
    ),
    (
        "strike",
        "Harbour Times",
        "2024-03-12T06:30:00+00:00",
        "Dockers at Port Calloway walk out over night-shift pay",
        "Some 1,400 dockers at Port Calloway began a 48-hour strike on Tuesday over night-shift pay, "
        "leaving container ships queuing in the outer anchorage.\n\nThe Calloway Dock Workers Union says "
        "night-shift rates have not risen in six years. Union secretary Tomas Brandt said members would "
        "not return until the port authority made a written offer.\n\nThe Port Calloway Authority called "
        "the strike regrettable and said talks with the union could resume on Thursday. Nineteen "
        "container ships were waiting at anchor by midday.",
    ),
    (
        "strike",
        "Valley Post",
        "2024-03-12T08:15:00+00:00",
        "Container ships stack up as Port Calloway strike begins",
        "Nineteen container ships were left waiting at anchor off Port Calloway on Tuesday as 1,400 "
        "dockers started a 48-hour strike over night-shift pay.\n\nTomas Brandt, secretary of the "
        "Calloway Dock Workers Union, said night rates had been frozen for six years and the union "
        "wanted a written offer before anyone went back.\n\nA spokesman for the Port Calloway Authority "
        "said the walkout was regrettable and that it was ready to resume talks with the union on "
        "Thursday.",
    ),
    (
        "theft",
        "Harbour Times",
        "2024-03-12T10:05:00+00:00",
        "Gold astrolabe stolen from Linden Hall museum overnight",
        "A sixteenth-century gold astrolabe was stolen from the Linden Hall museum in Ashgrove "
        "overnight, police said on Tuesday.\n\nThieves forced a skylight above the east gallery and cut "
        "through a display case without setting off the alarm. The astrolabe, made in Nuremberg in "
        "1568, is insured for 3.2 million.\n\nDetective inspector Rhona Vale of Ashgrove police appealed "
        "for anyone who saw a grey van near the museum after midnight to come forward. Linden Hall will "
        "stay closed on Wednesday.",
    ),
    (
        "theft",
        "Valley Post",
        "2024-03-12T12:20:00+00:00",
        "Police hunt grey van after Linden Hall astrolabe theft",
        "Ashgrove police are looking for a grey van seen near the Linden Hall museum after thieves took "
        "a gold astrolabe made in Nuremberg in 1568.\n\nThe thieves came in through a skylight over the "
        "east gallery and cut open the display case, detective inspector Rhona Vale said, and the alarm "
        "did not go off. The astrolabe is insured for 3.2 million.\n\nThe museum in Ashgrove said it "
        "would remain closed on Wednesday while police examine the east gallery.",
    ),
]


def test_through_poll_stores_the_feeds_stories_and_scores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "id": f"t{n}",
            "event": event,
            "source": source,
            "published": when,
            "title": title,
            "text": text,
            "url": f"https://{source.lower().replace(' ', '')}.example/2024/03/{n}/story",
        }
        for n, (event, source, when, title, text) in enumerate(TINY)
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    assert main(["--through-poll", str(path), "--json"]) == 0
    tiny = json.loads(capsys.readouterr().out)["datasets"]["tiny"]
    # two days, two rounds; every article was stored with its page's text, none lost, nothing failed
    assert (tiny["rounds"], tiny["page_texts"], tiny["missing"], tiny["poll_errors"]) == (2, 6, 0, [])
    assert set(tiny) >= KEYS and set(tiny["direct"]) == KEYS
    assignments = tiny["assignments"]
    assert set(assignments) == {row["id"] for row in rows}
    assert not any(story.startswith("missing:") for story in assignments.values())
    # the stored stories are the events: one story per event, three stories
    assert [assignments[f"t{n}"] == assignments[f"t{n + 1}"] for n in (0, 2, 4)] == [True, True, True]
    assert tiny["stories"] == 3 and tiny["pair_f1"] == 1.0 and tiny["b3_f1"] == 1.0
    assert tiny["direct"]["b3_f1"] == 1.0
    assert main(["--through-poll", str(path)]) == 0
    table = capsys.readouterr().out
    assert "through poll" in table and "direct" in table and "2 daily poll rounds, 6 of 6 articles" in table
