"""Story grouping when some articles first arrive as a bare headline (title, no text), as from a cut feed document
or a feed without text: their text comes as an update ``--delay`` hours later, or never (``--delay never``).

    .venv/bin/python bench/headline_first.py [--shared ../shared] [--share 0.25] [--delay 1] [--draws 5]

Each dev set's articles are fed in order of (published, id) through a :class:`StoryIndex` as ingestion feeds
them; each article is a headline first with probability ``--share`` (seeded draws). Prints pairwise and B-cubed
F1 against the event labels: the mean over ``--draws`` draws and their range. With ``--share 0`` it is the direct
evaluation (``python -m bot.stories.eval``). In-sample on the dev sets (nothing is tuned here); run it on two
checkouts to compare two versions of the grouping. Reads ../shared at run time; nothing from it is stored.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.stories import StoryIndex
from bot.stories.eval import EvalArticle, load_articles, scores
from bot.stories.eval._run import ordered

SETS = ("allsides-dev", "basil-dev")


def run(articles: list[EvalArticle], share: float, delay: timedelta | None, seed: int) -> dict[str, str]:
    """Article id -> story key after feeding ``articles`` with a ``share`` of them headline first."""
    rng = random.Random(seed)
    index = StoryIndex()
    keys: dict[str, str] = {}
    pending: list[tuple[datetime, EvalArticle]] = []

    def add(article: EvalArticle, text: str) -> None:
        decision = index.add(article.id, article.title, text, article.source, article.published)
        keys[article.id] = decision.story_key

    for article in ordered(articles):
        while pending and pending[0][0] <= article.published:
            late = pending.pop(0)[1]
            add(late, late.text)  # its text comes: an update
        if rng.random() < share:
            add(article, "")
            if delay is not None:
                pending.append((article.published + delay, article))
                pending.sort(key=lambda item: (item[0], item[1].id))
        else:
            add(article, article.text)
    for _, late in pending:
        add(late, late.text)
    return {article_id: index.resolve(key) for article_id, key in keys.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parent.parent.parent / "shared"))
    parser.add_argument("--share", type=float, default=0.25)
    parser.add_argument("--delay", default="1", help="hours until the text comes, or 'never'")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    delay = None if args.delay == "never" else timedelta(hours=float(args.delay))
    print(f"headline first: {args.share:.0%} of the articles, text after {args.delay} h; {args.draws} draws")
    for name in SETS:
        articles = load_articles(Path(args.shared) / "eval" / "stories" / f"{name}.jsonl")
        gold = {a.id: a.event for a in articles if a.event is not None}
        results = [scores(run(articles, args.share, delay, seed), gold) for seed in range(args.draws)]
        pair = [r.pair_f1 for r in results]
        b3 = [r.b3_f1 for r in results]
        print(
            f"{name}: pair F1 {sum(pair) / len(pair):.3f} [{min(pair):.3f}, {max(pair):.3f}]  "
            f"B3 F1 {sum(b3) / len(b3):.3f} [{min(b3):.3f}, {max(b3):.3f}]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
