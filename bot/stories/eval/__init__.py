"""Story grouping evaluation (``python -m bot.stories.eval``, see ../shared/SPEC.md, "Story grouping evaluation").

- :func:`load_articles`: a JSON-lines file of labelled (or unlabelled) articles;
- :func:`group`: the story of each article, through :class:`bot.stories.StoryIndex` exactly as ingestion uses it;
- :func:`baseline_group`: plain TF-IDF cosine, online single-link (the reference point);
- :func:`scores`: pairwise and B-cubed precision, recall and F1 against the ``event`` labels;
- :func:`score_briefs`: multi-outlet briefs of the events against reference summaries, beside lead-3 (``--briefs``);
- :func:`evaluate_through_poll`: the same scores end to end, feeds -> ``poll`` -> stored stories (``--through-poll``).
"""

from bot.stories.eval._baseline import BASELINE_THRESHOLD, baseline_group
from bot.stories.eval._briefs import BriefScores, load_references, score_briefs
from bot.stories.eval._cli import main
from bot.stories.eval._data import DataError, EvalArticle, load_articles
from bot.stories.eval._metrics import Scores, scores
from bot.stories.eval._poll import evaluate_through_poll
from bot.stories.eval._run import evaluate, group

__all__ = [
    "BASELINE_THRESHOLD",
    "BriefScores",
    "DataError",
    "EvalArticle",
    "Scores",
    "baseline_group",
    "evaluate",
    "evaluate_through_poll",
    "group",
    "load_articles",
    "load_references",
    "main",
    "score_briefs",
    "scores",
]
