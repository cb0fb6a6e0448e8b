"""The search query language and its safe translation to SQLite FTS5 and PostgreSQL tsquery.

Grammar (the same on both backends): words are required (AND); ``"a phrase"`` matches those words in order;
``OR`` (upper case) between two terms makes either suffice; a leading ``-`` excludes a word or phrase. Every
other character is punctuation: terms are cut into ``\\w+`` words, so no user text can reach the backend's own
syntax (FTS5 column filters, ``*``, ``NEAR``, ``^``, quotes, SQL) — each word is double-quoted (FTS5) or
passed as a bound parameter (PostgreSQL). An unbalanced quote runs to the end of the query. A query with no
positive word matches nothing. ``OR`` binds tighter than the implicit AND: ``a OR b c`` is ``(a OR b) AND c``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
MAX_TERMS = 32
"""At most this many groups, terms per group and exclusions are used (a longer query is cut, never refused)."""
_TOKEN = re.compile(r'(-?)"([^"]*)(?:"|$)|(\S+)')


@dataclass(frozen=True, slots=True)
class Term:
    """One word (``len(words) == 1``) or phrase, possibly excluded."""

    words: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every group must match (each group is an OR of terms); no excluded term may match."""

    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]

    @property
    def empty(self) -> bool:
        """True when nothing positive is asked for (such a query returns no results)."""
        return not self.groups


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in _WORD.findall(unicodedata.normalize("NFKC", text)))


def parse_query(text: str) -> Query:
    """Parse user text into a :class:`Query`; never fails."""
    items: list[Term | str] = []
    for match in _TOKEN.finditer(text):
        minus, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare == "OR":
                items.append("OR")
                continue
            negated = bare.startswith("-") and len(bare) > 1
            words = _words(bare[1:] if negated else bare)
        else:
            negated = minus == "-"
            words = _words(phrase)
        if words:
            items.append(Term(words, negated))

    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for item in items:
        if item == "OR":
            join_next = bool(groups)
            continue
        assert isinstance(item, Term)
        if item.negated:
            excluded.append(item)
            join_next = False
        elif join_next and groups:
            groups[-1].append(item)
            join_next = False
        else:
            groups.append([item])
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


def _fts_term(term: Term) -> str:
    # Words are \w+ runs: they hold no double quote, but escape anyway in case the word pattern ever widens.
    return '"' + " ".join(w.replace('"', '""') for w in term.words) + '"'


def to_fts5(query: Query) -> str:
    """The FTS5 MATCH expression of a non-empty query (every word double-quoted)."""
    parts = []
    for group in query.groups[:MAX_TERMS]:
        inner = " OR ".join(_fts_term(t) for t in group[:MAX_TERMS])
        parts.append(f"({inner})" if len(group) > 1 else inner)
    expression = " AND ".join(parts)
    if query.excluded:
        expression = f"({expression})" + "".join(f" NOT {_fts_term(t)}" for t in query.excluded[:MAX_TERMS])
    return expression


def _web_term(term: Term) -> str:
    if len(term.words) > 1:
        return '"' + " ".join(term.words) + '"'
    # A bare "or" would be read as the operator; it is a stop word in PostgreSQL anyway, so quote it away.
    return f'"{term.words[0]}"' if term.words[0] == "or" else term.words[0]


def to_tsquery_sql(query: Query, config: str = "english") -> tuple[str, dict[str, str]]:
    """A PostgreSQL ``tsquery`` expression of a non-empty query, and its bound parameters.

    Each term is its own ``websearch_to_tsquery`` of clean words (a quoted phrase or one word) passed as a
    parameter; terms are combined with the tsquery operators ``||`` (OR), ``&&`` (AND) and ``!!`` (NOT) so the
    grouping is exactly the one FTS5 gets (websearch text alone would bind ``a OR b c`` as ``a | (b & c)``).
    """
    if config not in ("english", "simple"):
        raise ValueError(f"unsupported text search configuration {config!r}")
    params: dict[str, str] = {}

    def term_sql(term: Term) -> str:
        name = f"t{len(params)}"
        params[name] = _web_term(term)
        return f"websearch_to_tsquery('{config}', :{name})"

    parts = []
    for group in query.groups[:MAX_TERMS]:
        inner = " || ".join(term_sql(t) for t in group[:MAX_TERMS])
        parts.append(f"({inner})" if len(group) > 1 else inner)
    parts.extend(f"!!{term_sql(t)}" for t in query.excluded[:MAX_TERMS])
    return "(" + " && ".join(parts) + ")", params
