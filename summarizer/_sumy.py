"""The parts of sumy that import nltk (its stemmers, and its summarizers through them), imported in one place.

sumy's stemmers are nltk's. Importing nltk runs its whole package ``__init__``, which also imports
``scipy.stats`` when scipy is installed: 60+ MB of memory and most of a second, for association measures, a
parser and an aligner of nltk's own that sumy and newsbrief never use (nltk falls back to stubs when scipy is
missing). So nltk is imported here as if scipy were not installed, unless scipy is already loaded; ``import
scipy`` works as usual afterwards. Everything else about nltk (the Snowball stemmers) is unchanged.

Likewise ``sumy.utils`` imports ``requests`` (for sumy's own URL fetching, which newsbrief never uses): a quarter
of the import time of the whole summarizer. ``requests`` is bound lazily (:class:`importlib.util.LazyLoader`, the
standard library's deferred import) unless it is already loaded: it is executed the first time anything uses it.
"""

# ruff: noqa: E402  (nltk must be imported before sumy, by _import_nltk)

from __future__ import annotations

import importlib
import importlib.util
import sys


def _import_nltk() -> None:
    if "nltk" in sys.modules or "scipy" in sys.modules:
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]  # `import scipy...` raises ImportError meanwhile
    try:
        importlib.import_module("nltk")
    finally:
        if "scipy" in sys.modules and sys.modules["scipy"] is None:
            del sys.modules["scipy"]


def _defer_requests() -> None:
    if "requests" in sys.modules:
        return
    spec = importlib.util.find_spec("requests")
    if spec is None or spec.loader is None:
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["requests"] = module
    spec.loader.exec_module(module)


_import_nltk()
_defer_requests()

from sumy.nlp.stemmers import Stemmer
from sumy.summarizers._summarizer import AbstractSummarizer
from sumy.summarizers.edmundson import EdmundsonSummarizer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

__all__ = [
    "AbstractSummarizer",
    "EdmundsonSummarizer",
    "KLSummarizer",
    "LexRankSummarizer",
    "LsaSummarizer",
    "LuhnSummarizer",
    "ReductionSummarizer",
    "Stemmer",
    "SumBasicSummarizer",
    "TextRankSummarizer",
    "get_stop_words",
]
