"""Key-quote extraction: find direct quotations, attribute them to speakers, rank them.

The extractor is rule based and linear in the length of the text:

1. quotation marks are paired paragraph by paragraph (straight, curly, single marks used as quote
   marks, guillemets, „low-high“ marks and the ``tokenised'' marks of the CNN/DM data), including
   quotes that run over paragraphs (an open mark without a close, the next paragraph reopening);
2. each quote is attributed from its own sentence (``"...," he said``, ``X said: "..."``,
   ``"...", according to X``, a partial quote inside reported speech), else from the neighbouring
   quote of a split quote, an earlier attribution in the same paragraph, or - for a paragraph that is
   entirely a quote - the last speaker named in the previous paragraph;
3. pronouns and surname-only mentions are resolved to the fullest name the article gives, keeping a
   stated role apart ("Kremlin spokesman" / "Dmitry Peskov").

``extract_quotes`` deliberately leaves out *scare quotes*: quoted segments of fewer than
:data:`MIN_QUOTE_WORDS` words ("barbaric", "the new areas") unless they are the short part of a split
quote. They are words the writer borrowed, not statements; everything longer is returned.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from summarizer._cues import CUE_LANGUAGES, ForeignAttributor
from summarizer._languages import language_tools
from summarizer._names import (
    PRONOUNS,
    ROLE_WORDS,
    NameIndex,
    is_abbreviation,
    pronoun_gender,
    split_role,
    strip_possessive,
)
from summarizer._names import wordset as _wordset
from summarizer._types import Quote

__all__ = [
    "KEY_MAX_WORDS",
    "MIN_QUOTE_WORDS",
    "REPEAT_NGRAM",
    "extract_quotes",
    "ngrams",
    "rank_quotes",
    "stands_alone",
]

MIN_QUOTE_WORDS = 6
"""Quoted segments shorter than this many words are scare quotes (dropped unless part of a split quote)."""

_KEY_MIN_WORDS = 5
"""A key quote (``rank_quotes``) needs at least this many words."""

_WINDOW = 320
"""Maximum characters of context looked at on either side of a quote for its attribution."""

_CUES: frozenset[str] = _wordset(
    """
    said says say saying told tells telling tell added adds adding warned warns warning wrote writes
    writing tweeted tweets tweeting insisted insists insisting explained explains explaining noted
    notes noting argued argues arguing stated states claimed claims claiming responded responds
    responding replied replies replying asked asks asking continued continues continuing declared
    declares declaring acknowledged acknowledges admitted admits admitting announced announces
    conceded concedes recalled recalls recalling remarked remarks suggested suggests suggesting
    observed observes complained complains complaining stressed stresses emphasized emphasised
    emphasizes emphasises joked jokes joking quipped quips predicted predicts vowed vows vowing
    pledged pledges promised promises promising urged urges urging countered counters concluded
    concludes confirmed confirms reported reports posted posts cautioned cautions boasted boasts
    bragged mused muses proclaimed proclaims lamented laments charged contended contends maintained
    maintains recounted recounts testified thundered shouted yelled exclaimed cried whispered agreed
    agrees disagreed reacted wondered pondered marveled marvelled cracked demanded pleaded implored
    repeated echoed scolded chided sighed laughed interjected questioned told texted emailed wrote
    tweet posting announced reiterated reiterates retorted snapped scoffed sniped opined answered
    answers commented comments explained elaborated stated stating acknowledging conceding adding
    warn urge insist argue claim declare admit concede predict vow pledge complain
    """
)
"""Speech verbs ("cue verbs") that attribute a quote to its subject."""

_WEAK_CUES: frozenset[str] = _wordset(
    """
    called calls calling described describes describing dubbed branded labeled labelled accused
    accuses blasted slammed praised criticized criticised dismissed denied denies believes believed
    thinks thought wants wanted hopes hoped read reads chanted chant promised vowed insisted pointed
    referred referring mocked touted touting framed characterized characterised put puts summed sums
    """
)
"""Verbs that attribute a partial quote inside the speaker's own sentence ("X called it "...")."""

_AUX: frozenset[str] = _wordset(
    """
    also later then has had have previously once recently reportedly repeatedly simply just would
    will is was were are be been being further flatly bluntly quickly publicly privately initially
    originally subsequently again often frequently never not did does do had earlier since still may
    might could should can must even only
    """
)
"""Adverbs and auxiliaries that may stand between a subject and its speech verb."""

_SUBJECT_PRONOUNS = frozenset({"he", "she", "they", "we", "i", "it", "you"})
_DETERMINERS = _wordset(
    """
    a an the one another two three four several some many other his her their its our my your this
    that these those both each every few most no any
    """
)
_SPEAKER_NOUNS: frozenset[str] = _wordset(
    """
    source sources official officials spokesman spokeswoman spokesperson spokespeople aide aides
    adviser advisers advisor advisors campaign statement release report reports lawyer lawyers
    attorney attorneys analyst analysts expert experts critics critic supporters supporter people
    witnesses witness police authorities residents resident voter voters protesters protester
    organizers organiser organisers organizer observers observer candidate nominee president
    governor senator congressman congresswoman leader leaders chairman chairwoman director manager
    strategist strategists pollster economist economists professor researchers researcher scientist
    scientists author authors writer editor editorial website story article memo letter document
    documents email emails post tweet ad advertisement commercial study survey poll group groups
    committee agency department ministry administration team company firm party members member
    delegates delegate democrats republicans activists activist woman man mother father wife husband
    son daughter friend friends neighbor neighbour neighbors officer officers prosecutor prosecutors
    judge court justice minister secretary ambassador representative representatives spokesmen
    staffer staffers insider insiders veteran veterans student students worker workers owner founder
    executive executives ceo chief host hosts anchor commentator columnist reporter reporters
    correspondent sign banner message note filing complaint lawsuit suit indictment government
    kremlin white house
    """
)
"""Head nouns of descriptions that can speak ("a source", "the campaign", "officials")."""

_VERBISH: frozenset[str] = _wordset(
    """
    is are was were be been being am will would can could should shall must may might have has had
    do does did don't doesn't didn't isn't aren't wasn't weren't won't can't cannot couldn't
    wouldn't shouldn't it's that's there's we're they're i'm you're he's she's we've i've they've
    we'll i'll they'll not get got go going want need think know said says make made take
    """
)
_STOP: frozenset[str] = _wordset(
    """
    the a an and or but of to in on at for with by from that this these those is are was were be
    been it its as we i you he she they them his her their our my your not no so if than then there
    here will would can could should have has had do does did just about what which who whom when
    where why how all any some more most very also into over out up down one
    """
)

# Quotation marks. ``''`` / ```` are the marks of tokenised (PTB-style) text.
_MARK_RE = re.compile(r"``|''|[\"“”„«»‘’'‹›]")
_DOUBLE = frozenset({'"', "“", "”", "„", "«", "»", "``", "''"})
_CLOSE_PUNCT = frozenset(".,;:!?)]}—–-…")
_OPEN_PUNCT = frozenset("([{—–-/:;,…")
_ELISIONS = re.compile(r"(?:\d0s|em\b|n\b|til\b|cause\b|twas\b|tis\b)", re.IGNORECASE)
_SENT_END_RE = re.compile(r"[.!?…]+[\"”’'»“«)\]]*(?=\s)")
_WORD_RE = re.compile(r"\w+(?:[’'.\-&]\w+)*\.?|[^\w\s]")
_PARA_RE = re.compile(r"[^\n]+")
_WORDS_RE = re.compile(r"\w+(?:[’']\w+)*")
_LOWER_WORD_RE = re.compile(r"(?<![\w’'])[a-z]+(?![\w’'])")
_LABEL_RE = re.compile(r"([A-Z][A-Z’'.\-]{1,30}(?: [A-Z][A-Z’'.\-]{1,30}){0,2}): ")


@dataclass
class _Raw:
    """A quoted segment before attribution."""

    mark_start: int
    start: int
    end: int
    mark_end: int
    para: int
    open_ended: bool = False
    continued: bool = False
    """True when this quote continues an open-ended quote of the previous paragraph."""


@dataclass
class _Mention:
    """A speaker mention: where it is and what kind."""

    start: int
    end: int
    kind: str  # "name", "pronoun", "desc"
    text: str
    role: str | None = None


@dataclass
class _Attr:
    """A quote's attribution: speaker mention and cue verb."""

    mention: _Mention
    cue: str
    speaker: str | None = None
    role: str | None = None
    how: str = ""
    """Which rule found it ("label", "strong_left", "right", "left", "weak_left", "inherited", ...)."""


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


def _scan_quotes(text: str, language: str) -> list[_Raw]:
    """Pair quotation marks paragraph by paragraph; linear in ``len(text)``."""
    tokenised = "``" in text
    # single marks double as apostrophes; they are read as quote marks only in English prose
    singles = not tokenised and language.lower() in {"english", "en"}
    out: list[_Raw] = []
    paras = [(m.start(), m.end()) for m in _PARA_RE.finditer(text)]
    prev_open_ended = False
    for pi, (ps, pe) in enumerate(paras):
        state: str | None = None  # "d" or "s"
        q_mark = q_start = 0
        at_para_start = False
        first_in_para = True
        line = text[ps:pe]
        first_ns = ps + len(line) - len(line.lstrip())
        this_open_ended = False
        for m in _MARK_RE.finditer(text, ps, pe):
            mark = m.group()
            i, j = m.start(), m.end()
            prev = text[i - 1] if i > ps else "\n"
            nxt = text[j] if j < pe else "\n"
            left_open = prev.isspace() or prev in _OPEN_PUNCT or prev in "\"“‘'«„`("
            right_close = nxt.isspace() or nxt in _CLOSE_PUNCT or nxt in "\"”’'»"
            is_double = mark in _DOUBLE
            if tokenised and mark in ("'", "’", "‘"):
                continue
            if state is None:
                opens = False
                if is_double:
                    if mark in ("“", "„", "``", "«"):
                        opens = not nxt.isspace() or mark in ("``", "«")
                    elif mark == "''":
                        # New York Times style: '' opens and closes (in tokenised text it only closes)
                        opens = not tokenised and left_open and not nxt.isspace()
                    elif mark == '"':
                        opens = not (nxt.isspace() and not left_open) and nxt != "\n"
                    elif mark in ("”", "»"):
                        opens = left_open and nxt != "\n"
                    state_kind = "d"
                elif singles:
                    if mark == "‘" or mark == "‹":
                        opens = not nxt.isspace() and not (_is_word_char(prev) and _is_word_char(nxt))
                    elif mark in ("'", "’"):
                        opens = (
                            left_open
                            and (nxt.isalnum() or nxt in '"“…')
                            and not _ELISIONS.match(text, j, min(pe, j + 6))
                        )
                    state_kind = "s"
                else:
                    continue
                if opens:
                    state = state_kind
                    q_mark, q_start = i, j
                    at_para_start = i <= first_ns
                    continue
                continue
            if state == "d":
                if not is_double:
                    continue
                reopens = mark == "“" and left_open and not nxt.isspace() and i > q_start and not right_close
                if reopens:
                    # an opener while a quote is open: the previous quote was never closed
                    initial = at_para_start and first_in_para
                    _emit(text, out, q_mark, q_start, i, i, pi, initial, prev_open_ended)
                    first_in_para = False
                    q_mark, q_start = i, j
                    at_para_start = False
                    continue
                _emit(text, out, q_mark, q_start, i, j, pi, at_para_start and first_in_para, prev_open_ended)
                first_in_para = False
                state = None
                continue
            # state == "s"
            if is_double:
                opens = mark in ("“", "„", "``", "«") or (mark == '"' and left_open and not nxt.isspace())
                if opens:
                    state = "d"
                    q_mark, q_start = i, j
                    at_para_start = i <= first_ns
                continue
            if mark in ("’", "'", "›") and not prev.isspace():
                if _is_word_char(prev) and _is_word_char(nxt):
                    continue  # apostrophe inside a word
                if prev in "sS" and nxt == " " and j + 1 < pe and text[j + 1].islower():
                    continue  # plural possessive ("the parents' house")
                if not right_close and nxt.isalnum():
                    continue
                _emit(text, out, q_mark, q_start, i, j, pi, at_para_start and first_in_para, prev_open_ended)
                first_in_para = False
                state = None
        if state is not None and (state == "d" or at_para_start):
            _emit(
                text,
                out,
                q_mark,
                q_start,
                pe,
                pe,
                pi,
                at_para_start and first_in_para,
                prev_open_ended,
                open_ended=True,
            )
            this_open_ended = True
        prev_open_ended = this_open_ended
    return out


def _emit(
    text: str,
    out: list[_Raw],
    mark_start: int,
    start: int,
    end: int,
    mark_end: int,
    para: int,
    para_initial: bool,
    prev_open_ended: bool,
    *,
    open_ended: bool = False,
) -> None:
    """Append the trimmed quote ``text[start:end]`` to ``out`` unless it is empty."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start or not any(ch.isalnum() for ch in text[start : min(end, start + 200)]):
        return
    out.append(
        _Raw(mark_start, start, end, mark_end, para, open_ended=open_ended, continued=para_initial and prev_open_ended)
    )


class _Sentences:
    """Sentence-end offsets of a text (abbreviation aware), for bisecting."""

    def __init__(self, text: str) -> None:
        ends: list[int] = []
        for m in _SENT_END_RE.finditer(text):
            s = m.start()
            if text[s] == ".":
                k = s
                while k > 0 and not text[k - 1].isspace() and s - k < 12:
                    k -= 1
                if is_abbreviation(text[k : s + 1]):
                    continue
            ends.append(m.end())
        self.ends = ends

    def start_of(self, pos: int, floor: int) -> int:
        """Start of the sentence containing ``pos`` (not before ``floor``)."""
        i = bisect_right(self.ends, pos) - 1
        return max(floor, self.ends[i]) if i >= 0 else floor

    def end_after(self, pos: int, ceil: int) -> int:
        """First sentence end strictly after ``pos`` (not after ``ceil``)."""
        i = bisect_right(self.ends, pos)
        return min(ceil, self.ends[i]) if i < len(self.ends) else ceil


def _tokens(text: str, a: int, b: int) -> list[tuple[int, int, str]]:
    """Word and punctuation tokens of ``text[a:b]`` with absolute offsets."""
    return [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(text, a, b)]


def _bare(tok: str) -> str:
    return tok.rstrip(".").lower()


def _is_cap(tok: str) -> bool:
    return tok[:1].isupper()


_SENTENCE_INITIAL_CUES = frozenset({"said", "says", "according", "asked", "added", "wrote", "told"})
_PARTICLES = frozenset({"de", "van", "von", "der", "bin", "al", "la", "du", "di", "ibn"})
_CONJ = frozenset({"and", "but", "or", "so", "then", "yet", "also", "later", "when", "while", "as"})

Tok = tuple[int, int, str]


def _cue_at(toks: list[Tok], k: int, weak: bool) -> tuple[str, int] | None:
    """The cue starting at token ``k``: (cue text, index of its last token), or None.

    Cue verbs must be written in lower case (a capitalised "States" is not the verb), except
    sentence-initial "According to" / "Said".
    """
    tok = toks[k][2]
    if tok[:1].isupper() and _bare(tok) not in _SENTENCE_INITIAL_CUES:
        return None
    w = _bare(tok)
    if w == "according" and k + 1 < len(toks) and _bare(toks[k + 1][2]) == "to":
        return "according to", k + 1
    if w == "went" and k + 1 < len(toks) and _bare(toks[k + 1][2]) == "on":
        return "went on", k + 1
    if w in _CUES or (weak and w in _WEAK_CUES):
        return w, k
    return None


def _skip_back(toks: list[Tok], i: int, lo: int) -> int:
    """Step back over adverbs, auxiliaries and a parenthetical ("(D-N.Y.)") before a verb."""
    while i >= lo:
        t = toks[i][2]
        if _bare(t) in _AUX or (t.endswith("ly") and t.islower()):
            i -= 1
            continue
        if t == ")":
            j = i - 1
            while j >= lo and i - j < 10 and toks[j][2] != "(":
                j -= 1
            if j >= lo and toks[j][2] == "(":
                i = j - 1
                continue
        break
    return i


def _np_backward(toks: list[Tok], i: int, lo: int) -> _Mention | None:
    """The noun phrase (name, pronoun or speaker description) ending at token ``i`` (>= ``lo``)."""
    i = _skip_back(toks, i, lo)
    if i < lo:
        return None
    s, e, tok = toks[i]
    low = _bare(tok)
    if low in _SUBJECT_PRONOUNS and tok not in ("US", "I."):
        return _Mention(s, e, "pronoun", tok)
    if _is_cap(tok):
        j = i
        while j - 1 >= lo:
            p = toks[j - 1][2]
            if p in {",", "."} or (p.endswith(".") and not is_abbreviation(p)):
                break
            if _is_cap(p) or p.lower() in _PARTICLES or (p.lower() in ROLE_WORDS and p.islower()):
                j -= 1
                continue
            break
        return _name_mention(toks, j, i)
    if tok[:1].isalpha() and tok.islower() and low not in _STOP and low not in _CUES:
        j = i
        determined = False
        while j - 1 >= lo and i - j < 6 and toks[j - 1][2][:1].isalnum():
            prev = _bare(toks[j - 1][2])
            if prev in _DETERMINERS:
                j -= 1
                determined = True
                break
            if prev in _CUES or prev in _AUX or prev in _STOP:
                break
            j -= 1
        if low in _SPEAKER_NOUNS or (determined and low.endswith(("er", "or", "ist", "ian", "s"))):
            phrase = " ".join(t for _, _, t in toks[j : i + 1])
            return _Mention(toks[j][0], e, "desc", phrase)
    return None


def _name_mention(toks: list[Tok], j: int, i: int) -> _Mention | None:
    """A name mention from tokens ``j..i`` (role words split off), or None."""
    words = [t for _, _, t in toks[j : i + 1]]
    while words and words[0].rstrip(".").lower() in _LEADING_STOP_Q:
        words = words[1:]
        j += 1
    if not words:
        return None
    role, name = split_role(words)
    if not name or not _is_cap(name[0]):
        return None
    if len(name) >= 2 and all(w.isupper() for w in name) and any(len(w) > 4 for w in name):
        return None  # a shouted headline, not a name
    k = j + len(role)
    s = toks[k][0]
    e = toks[i][1]
    last = toks[i][2]
    if last.endswith(".") and not is_abbreviation(last):
        e -= 1
    display = " ".join(name)
    if display.endswith(".") and not is_abbreviation(name[-1]):
        display = display[:-1]
    if display.lower() in PRONOUNS:
        return _Mention(s, e, "pronoun", display)
    return _Mention(s, e, "name", display, " ".join(role) if role else None)


_INTRO = _wordset(
    """
    on in at after before during when while earlier later last since as with without despite like
    speaking asked then now meanwhile still yet but and in addition
    """
)

_LEADING_STOP_Q = _wordset(
    """
    among amid amidst despite through across against around toward towards within without via per upon
    including
    a an the but and or so yet if when while as after before since because though although in on at
    of for to from by with about then now also still even just however meanwhile instead indeed this
    that there here asked speaking like during last next
    """
)


def _np_forward(toks: list[Tok], i: int, hi: int) -> tuple[_Mention, int] | None:
    """The noun phrase starting at token ``i`` (< ``hi``) and the index after it."""
    if i >= hi:
        return None
    s, e, tok = toks[i]
    low = _bare(tok)
    if low in _SUBJECT_PRONOUNS and tok != "US":
        return _Mention(s, e, "pronoun", tok.rstrip(".")), i + 1
    j = i + 1 if low in _DETERMINERS else i
    # a capitalised name, possibly after role words ("Kremlin spokesman Dmitry Peskov")
    k = j
    while k < hi and (
        _is_cap(toks[k][2])
        or (toks[k][2].islower() and toks[k][2] in ROLE_WORDS)
        or (k > j and toks[k][2] in _PARTICLES)
    ):
        if k > j and toks[k - 1][2].endswith(".") and not is_abbreviation(toks[k - 1][2]):
            break
        k += 1
    while k > j and not _is_cap(toks[k - 1][2]):
        k -= 1
    if k > j and j > i and k < hi and _desc_word(toks[k][2]):
        # "the Gawker employee", "the Florida senator": a description with a proper modifier
        k2 = _desc_end(toks, k, hi)
        head = _bare(toks[k2 - 1][2])
        if head not in _STOP:
            return _Mention(s, toks[k2 - 1][1], "desc", " ".join(t for _, _, t in toks[i:k2])), k2
    if k > j:
        m = _name_mention(toks, j, k - 1)
        if m is not None:
            role = _appositive(toks, k, hi)
            if role and not m.role:
                m.role = role
            return m, k
    # a description: "said a campaign spokesman", "the moderator said"
    k = _desc_end(toks, j, hi)
    r = k
    while r > j and _is_cap(toks[r - 1][2]):
        r -= 1
    if j < r < k:
        # "super PAC spokeswoman Kellyanne Conway": a name after lower-case role words
        named = _name_mention(toks, r, k - 1)
        if named is not None and named.kind == "name":
            prefix = " ".join(t for _, _, t in toks[j:r])
            named.role = f"{prefix} {named.role}" if named.role else prefix
            return named, k
    if k > j:
        head = _bare(toks[k - 1][2])
        if head in _SPEAKER_NOUNS or (j > i and head not in _STOP):
            phrase = " ".join(t for _, _, t in toks[i:k])
            return _Mention(s, toks[k - 1][1], "desc", phrase), k
    return None


_PREPOSITIONS = frozenset({"to", "for", "from", "with", "at", "against", "about", "toward", "towards", "by", "of"})
_ADDRESS_CUES = _wordset(
    """
    told tells tell warned warns warn urged urges urge asked asks ask reminded reminds remind
    assured assures promised promises pleaded implored
    """
)
"""Cue verbs whose object is the person addressed ("warns Mr Pelham: ..."), never the speaker."""


def _after_preposition(toks: list[Tok], start: int) -> bool:
    """Whether the noun phrase starting at offset ``start`` follows a preposition ("to the minister")."""
    for i, (s, _, _) in enumerate(toks):
        if s >= start:
            j = i - 1
            while j >= 0 and _bare(toks[j][2]) in _DETERMINERS:
                j -= 1
            return j >= 0 and j < i and _bare(toks[j][2]) in _PREPOSITIONS
    return False


def _desc_word(tok: str) -> bool:
    """A lower-case word that can be part of a description noun phrase."""
    low = _bare(tok)
    return (
        tok[:1].isalnum()
        and not tok[:1].isupper()
        and low not in _CUES
        and low not in _AUX
        and low not in {"that", "who", "which", "and", "or", "of", "in", "on", "at", "to", "for", "with"}
    )


def _desc_end(toks: list[Tok], k: int, hi: int) -> int:
    """End index of a description's words starting at ``k`` ("senator and Republican candidate")."""
    start = k
    while k < hi and k - start < 8:
        t = toks[k][2]
        if _desc_word(t) or (k > start and _is_cap(t)):
            k += 1
            continue
        follows = k + 1 < hi and (_desc_word(toks[k + 1][2]) or _is_cap(toks[k + 1][2]))
        if t == "and" and k > start and follows:
            k += 1
            continue
        break
    while k > start and toks[k - 1][2] == "and":
        k -= 1
    return k


def _appositive(toks: list[Tok], i: int, hi: int) -> str | None:
    """A role given in apposition after a name: ", the White House press secretary,"."""
    if i >= hi or toks[i][2] != ",":
        return None
    k = i + 1
    words: list[str] = []
    while k < hi and len(words) < 10 and toks[k][2] not in {",", ".", ";", ":", "—", "–"}:
        words.append(toks[k][2])
        k += 1
    if not words:
        return None
    if words[0].lower() in {"the", "a", "an"}:
        words = words[1:]
    elif not (words[0].lower() in ROLE_WORDS or words[0].lower() == "former"):
        return None
    if not words or len(words) > 8 or any(w.lower() in {"who", "which", "that"} for w in words):
        return None
    if not any(w.lower().rstrip(".") in ROLE_WORDS for w in words):
        return None
    if not all(_is_cap(w) or w.lower().rstrip(".") in ROLE_WORDS or w in _ROLE_GLUE for w in words):
        return None
    return " ".join(words).rstrip(".")


_ROLE_GLUE = frozenset({"of", "for", "the", "and", "former", "then", "'s", "’s"})


def _after_np(toks: list[Tok], k: int, hi: int) -> int:
    """Skip, after a noun phrase, an appositive/relative clause and a parenthetical; adverbs."""
    if k < hi and toks[k][2] == "(":
        j = k + 1
        while j < hi and j - k < 10 and toks[j][2] != ")":
            j += 1
        if j < hi and toks[j][2] == ")":
            k = j + 1
    if k < hi and toks[k][2] == ",":
        j = k + 1
        while j < hi and j - k < 25 and toks[j][2] not in {",", ".", ";"}:
            j += 1
        if j < hi and toks[j][2] == ",":
            k = j + 1
    while k < hi and (_bare(toks[k][2]) in _AUX or (toks[k][2].endswith("ly") and toks[k][2].islower())):
        k += 1
    return k


class _Attributor:
    """Finds the speaker of each quote of one text."""

    def __init__(self, text: str, raws: list[_Raw], title: str | None = None) -> None:
        self.text = text
        self.raws = raws
        self.sents = _Sentences(text)
        self.paras = [(m.start(), m.end()) for m in _PARA_RE.finditer(text)]
        self.para_first = [a + len(text[a:b]) - len(text[a:b].lstrip()) for a, b in self.paras]
        self.index = NameIndex(text, [(r.mark_start, r.mark_end) for r in raws])
        self.raw_starts = [r.mark_start for r in raws]
        self.lower_words = frozenset(_LOWER_WORD_RE.findall(text))
        # Most recent speakers, for pronoun resolution: (position, quote index, display name)
        self.recent: list[tuple[int, int, str]] = []
        self.headline_end = _headline_end(text, self.paras)
        headline = f"{title or ''} {text[: self.headline_end]}"
        self.headline_words = frozenset(w.lower() for w in _WORDS_RE.findall(headline))

    # -- context windows -------------------------------------------------------------------------

    def _left_bounds(self, idx: int) -> tuple[int, int]:
        r = self.raws[idx]
        ps = self.paras[r.para][0]
        floor = max(ps, r.mark_start - _WINDOW)
        if idx > 0 and self.raws[idx - 1].para == r.para:
            floor = max(floor, self.raws[idx - 1].mark_end)
        return self.sents.start_of(r.mark_start, floor), r.mark_start

    def _right_bounds(self, idx: int) -> tuple[int, int]:
        r = self.raws[idx]
        pe = self.paras[r.para][1]
        ceil = min(pe, r.mark_end + _WINDOW)
        if idx + 1 < len(self.raws) and self.raws[idx + 1].para == r.para:
            ceil = min(ceil, self.raws[idx + 1].mark_start)
        return r.mark_end, self.sents.end_after(r.mark_end, ceil)

    # -- attribution patterns ---------------------------------------------------------------------

    def _right(self, idx: int, ends_sentence: bool) -> _Attr | None:
        """``"...," he said`` / ``"...," said X`` / ``"...", according to X``."""
        a, b = self._right_bounds(idx)
        toks = _tokens(self.text, a, b)
        lead = 0
        while lead < len(toks) and not toks[lead][2][:1].isalnum():
            lead += 1
        if lead >= len(toks) or lead > 3:
            return None
        found_at = self._right_at(toks, lead, ends_sentence)
        if found_at is not None or ends_sentence:
            return found_at
        # "...", the deal, which ..., Smith said at a rally, "...": a later ", NP cue" / ", cue NP"
        for c in range(lead, min(len(toks) - 1, lead + 30)):
            if toks[c][2] == ",":
                found_at = self._right_at(toks, c + 1, ends_sentence)
                if found_at is not None:
                    return found_at
        return None

    def _right_at(self, toks: list[Tok], lead: int, ends_sentence: bool) -> _Attr | None:
        """``cue NP`` or ``NP cue`` starting at token ``lead`` of a right context."""
        cue = _cue_at(toks, lead, weak=True)
        if cue is not None:
            word, last = cue
            found = _np_forward(toks, last + 1, len(toks))
            if found is None:
                # "said master of ceremonies Asab Al-Tabchi": the first name after the cue
                for j in range(last + 1, min(len(toks), last + 7)):
                    if not toks[j][2][:1].isalnum():
                        break
                    if _is_cap(toks[j][2]):
                        found = _np_forward(toks, j, len(toks))
                        break
            if found is None:
                return None
            if (
                ends_sentence
                and word != "according to"
                and found[1] < len(toks)
                and (_bare(toks[found[1]][2]) == "that")
            ):
                return None
            return _Attr(found[0], word)
        found = _np_forward(toks, lead, len(toks))
        if found is None:
            return None
        m, k = found
        k = _after_np(toks, k, len(toks))
        if k >= len(toks):
            return None
        cue = _cue_at(toks, k, weak=True)
        if cue is None:
            return None
        word, last = cue
        if ends_sentence and last + 1 < len(toks) and _bare(toks[last + 1][2]) == "that":
            return None
        return _Attr(m, word)

    def _subject_for(self, toks: list[Tok], k: int, word: str, last: int, depth: int = 0) -> _Mention | None:
        """The speaker of the cue ``word`` at tokens ``k..last`` of a left context."""
        if word == "according to":
            f = _np_forward(toks, last + 1, len(toks))
            return f[0] if f else None
        if word.endswith("ing") and depth == 0:
            # "X said ..., adding "..."": the subject of the main clause's verb
            for j in range(k - 1, -1, -1):
                cue = _cue_at(toks, j, weak=True)
                if cue is not None and not cue[0].endswith("ing"):
                    m = self._subject_for(toks, j, cue[0], cue[1], depth + 1)
                    if m is not None:
                        return m
            return self._clause_subject(toks, 0, k)
        m = _np_backward(toks, k - 1, 0)
        if m is not None and _after_preposition(toks, m.start):
            return None  # "the letter to the minister warns": the minister is addressed, not speaking
        if m is None and k > 0 and toks[k - 1][2] == ",":
            m = self._before_apposition(toks, k - 1)
        if m is None and k > 0 and _bare(toks[k - 1][2]) in _CONJ:
            m = self._clause_subject(toks, 0, k)
        if m is None and (k == 0 or toks[k - 1][2] in {",", "—", "–", ":"}):
            f = _np_forward(toks, last + 1, len(toks))
            if f is not None and word in _ADDRESS_CUES and (f[1] >= len(toks) or toks[f[1]][2] in {":", "that"}):
                return None  # "..., warns Mr Pelham: '...'": the one warned is not the one speaking
            m = f[0] if f else None
        return m

    def _left(self, idx: int, weak: bool) -> _Attr | None:
        """``X said: "..."`` / ``X said the deal would "..."`` / ``According to X, "..."``."""
        a, b = self._left_bounds(idx)
        toks = _tokens(self.text, a, b)
        if not toks:
            return None
        if toks[-1][2] == ":" and not weak:
            colon = self._colon(toks)
            if colon is not None:
                return colon
        for k in range(len(toks) - 1, -1, -1):
            cue = _cue_at(toks, k, weak)
            if cue is None:
                continue
            word, last = cue
            m = self._subject_for(toks, k, word, last)
            if m is not None:
                return _Attr(m, word)
        if weak and sum(1 for t in toks if t[2][:1].isalnum()) >= 3:
            m = self._clause_subject(toks, 0, len(toks))
            if m is not None:
                return _Attr(m, "")
        return None

    def _colon(self, toks: list[Tok]) -> _Attr | None:
        """``Smith went on: "..."`` / ``Michael Smith: "..."``: the clause before a colon."""
        end = len(toks) - 1
        start = end
        while start > 0 and toks[start - 1][2] not in {",", ";", "."}:
            start -= 1
        for k in range(end - 1, start - 1, -1):
            cue = _cue_at(toks, k, weak=True)
            if cue is not None:
                m = self._subject_for(toks, k, cue[0], cue[1])
                if m is not None:
                    return _Attr(m, cue[0])
        if end > 0 and _is_cap(toks[end - 1][2]):
            m = _np_backward(toks, end - 1, start)
            if m is not None and m.kind == "name" and m.start <= toks[start][0] + 4:
                return _Attr(m, ":")
        m = self._clause_subject(toks, 0, end)
        return _Attr(m, ":") if m is not None else None

    def _before_apposition(self, toks: list[Tok], comma: int) -> _Mention | None:
        """``Smith, the campaign manager, said`` -> Smith (with the role)."""
        k = comma - 1
        while k >= 0 and comma - k < 25 and toks[k][2] != ",":
            k -= 1
        if k <= 0 or toks[k][2] != ",":
            return None
        m = _np_backward(toks, k - 1, 0)
        if m is not None and m.kind == "name" and not m.role:
            m.role = _appositive(toks, k, comma + 1)
        return m

    def _clause_subject(self, toks: list[Tok], lo: int, hi: int) -> _Mention | None:
        """The first noun phrase of ``toks[lo:hi]`` (skipping conjunctions and an opening phrase)."""
        k = lo
        # skip an introductory phrase ending with a comma ("On Tuesday, ...")
        for j in range(lo, min(hi, lo + 12)):
            if toks[j][2] == ",":
                head = _np_forward(toks, lo, hi)
                if head is None or (head[1] >= j and _bare(toks[lo][2]) in _INTRO):
                    k = j + 1
                break
        while k < hi and (not toks[k][2][:1].isalnum() or _bare(toks[k][2]) in _CONJ):
            k += 1
        if k >= hi:
            return None
        f = _np_forward(toks, k, hi)
        if f is None:
            return None
        m, after = f
        if m.text.endswith(("’s", "'s", "’", "'")):
            return None
        after = _after_np(toks, after, hi)
        # the phrase must be followed by a verb-like word, not by more noun phrase
        if after < hi and toks[after][2][:1].isupper():
            return None
        return m

    def _has_cue(self, a: int, b: int) -> bool:
        """Whether ``text[a:b]`` contains a cue verb."""
        return any(_bare(w) in _CUES or _bare(w) == "according" for w in _WORDS_RE.findall(self.text, a, b))

    def _paragraph_speaker(self, para: int, before: int) -> _Attr | None:
        """The last attribution made in ``text[paragraph start:before]`` outside quotations."""
        ps = self.paras[para][0]
        a = max(ps, before - 3 * _WINDOW)
        lo = bisect_left(self.raw_starts, a)
        hi = bisect_left(self.raw_starts, before)
        if hi - lo > 12:  # a wall of quotations: look no further back than the last dozen
            lo = hi - 12
            a = max(a, self.raws[lo - 1].mark_end)
        # tokenise only the text between the quotations
        toks: list[Tok] = []
        pos = a
        for r in self.raws[lo:hi]:
            toks.extend(_tokens(self.text, pos, max(pos, r.mark_start)))
            pos = max(pos, r.mark_end)
        toks.extend(_tokens(self.text, pos, max(pos, before)))
        if lo > 0 and self.raws[lo - 1].mark_end > a:
            toks = [t for t in toks if t[0] >= self.raws[lo - 1].mark_end]
        if toks and toks[-1][2] == ":":
            sent = len(toks) - 1
            while sent > 0 and not (
                toks[sent - 1][2] in {".", "!", "?"}
                or (toks[sent - 1][2].endswith(".") and not is_abbreviation(toks[sent - 1][2]))
            ):
                sent -= 1
            colon = self._colon(toks[sent:])
            if colon is not None:
                return colon
        for k in range(len(toks) - 1, -1, -1):
            cue = _cue_at(toks, k, weak=False)
            if cue is None:
                continue
            m = self._subject_for(toks, k, cue[0], cue[1])
            if m is not None:
                return _Attr(m, cue[0])
        return None

    def _ok(self, attr: _Attr | None, how: str = "") -> _Attr | None:
        """``attr`` (tagged with ``how``) unless its mention is a capitalised common word taken for a name."""
        if attr is not None:
            attr.how = how
        if attr is None or attr.mention.kind != "name" or " " in attr.mention.text:
            return attr
        m = attr.mention
        word = strip_possessive(m.text)
        k = m.start - 1
        while k >= 0 and self.text[k] in " \t\u00a0":
            k -= 1
        initial = k < 0 or self.text[k] in ".!?\n:—("
        if not initial and self.text[k] in "\"“”'‘’":
            before = self.text[k - 1] if k > 0 else "\n"
            initial = before in ".!?" or before.isspace()
        if initial and word.lower() in self.lower_words and not self.index.is_surname(word):
            return None
        return attr

    def _label(self, idx: int) -> _Attr | None:
        """A transcript quote that starts with its speaker's label: ``"PENCE: Well, ..."``."""
        r = self.raws[idx]
        m = _LABEL_RE.match(self.text, r.start, r.end)
        if m is None:
            return None
        return _Attr(_Mention(m.start(1), m.end(1), "name", m.group(1).title()), ":")

    def _strong_left(self, idx: int) -> _Attr | None:
        """A cue just before the opening mark: ``X said: "..."``, ``X said, "..."``."""
        a, b = self._left_bounds(idx)
        toks = _tokens(self.text, a, b)
        k = len(toks) - 1
        while k >= 0 and toks[k][2] in {",", ":", "—", "–"}:
            k -= 1
        if k >= 0 and _bare(toks[k][2]) == "that":
            k -= 1
        if k < 0 or k < len(toks) - 3:
            return None
        cue = _cue_at(toks, k, weak=False)
        if cue is None:
            if toks[-1][2] in {":"}:
                return self._colon(toks)
            return None
        m = self._subject_for(toks, k, cue[0], cue[1])
        return _Attr(m, cue[0]) if m is not None else None

    # -- resolution -------------------------------------------------------------------------------

    def _resolve(self, attr: _Attr) -> None:
        """Fill in ``attr.speaker`` / ``attr.role`` from its mention."""
        m = attr.mention
        if m.kind == "name":
            person = self.index.resolve(m.text)
            attr.speaker = person.name if person else strip_possessive(m.text)
            attr.role = m.role or (person.role if person else None)
        elif m.kind == "pronoun":
            gender = pronoun_gender(m.text)
            if gender is None:
                return
            target = self.index.person_before(m.start, gender, floor=self.headline_end)
            if target is not None and self._headline_fragment(target.name):
                target = None  # "Towering Northern radio dish ...": a headline's words, not a person
            recent = self._recent_speaker(m.start, gender)
            name = recent if recent is not None else (self.index.full_name(target.name) if target else None)
            if target is not None and recent is not None:
                para_start = self._para_start(m.start)
                if target.start >= para_start and self.index.full_name(target.name) != recent:
                    name = self.index.full_name(target.name)
            if name is not None:
                person = self.index.resolve(name)
                attr.speaker = person.name if person else name
                attr.role = person.role if person else None
        else:
            words = m.text.split()
            if words and words[0].lower() == "the" and len(words) >= 2:
                name = self.index.by_role(_bare(words[-1]))
                if name is not None:
                    attr.speaker = name
                    attr.role = " ".join(words[1:])
                    return
            attr.role = " ".join(w for w in words if w.lower() not in _DETERMINERS) or None
        if attr.speaker is not None and attr.speaker.lower() in PRONOUNS:
            attr.speaker = None

    def _para_start(self, pos: int) -> int:
        i = bisect_right(self.paras, (pos, len(self.text) + 1)) - 1
        return self.paras[i][0] if i >= 0 else 0

    def _recent_speaker(self, pos: int, gender: str) -> str | None:
        """The latest quote speaker before ``pos`` (within ~two paragraphs) of a compatible gender."""
        for at, _, name in reversed(self.recent[-6:]):
            if pos - at > 1200:
                break
            person = self.index.resolve(name)
            if person is not None and person.is_org:
                continue
            if person is None or person.gender in (None, gender):
                return name
        return None

    # -- trust ------------------------------------------------------------------------------------

    def trusted(self, idx: int, attr: _Attr) -> bool:
        """Whether ``attr`` is sure enough to show: a wrong speaker is worse than no quote.

        Left out: attributions found only by the weakest rules (a clause subject with no speech verb,
        a speaker carried over from the previous paragraph or from the next part, a transcript label),
        a speaker named only in the headline, and a "name" that is not a person's (a weekday, a
        place abbreviation, a capitalised common word, a possessive: "Trump's comments").
        """
        m = attr.mention
        if attr.how in _UNTRUSTED_RULES or (attr.how in _NAMED_ONLY_RULES and m.kind != "name"):
            return False
        if attr.how == "weak_left" and not attr.cue:
            return False  # a clause subject with no verb of saying
        if attr.how == "prev_para" and not (
            self._ends_with_colon(idx) or (attr.cue == "according to" and m.kind == "name")
        ):
            return False  # a paragraph's speaker carries over only after "X said:" or "According to X, ..."
        if m.kind != "name":
            return True
        if m.start < self.headline_end:
            return False
        return self._person_like(m.text)

    def _headline_fragment(self, name: str) -> bool:
        """Whether ``name`` is only words of the headline, for a person with no known gender or role."""
        person = self.index.resolve(name)
        if person is not None and (person.gender is not None or person.role):
            return False
        words = [w.lower() for w in _WORDS_RE.findall(self.index.full_name(name))]
        return bool(words) and all(w in self.headline_words for w in words)

    def _ends_with_colon(self, idx: int) -> bool:
        """Whether the paragraph before quote ``idx``'s paragraph introduces it with a colon."""
        para = self.raws[idx].para
        if para == 0:
            return False
        start, end = self.paras[para - 1]
        return self.text[start:end].rstrip().endswith(":")

    def _person_like(self, mention: str) -> bool:
        """Whether a name mention reads as a person's (or an organisation's) name."""
        if mention.endswith(("’s", "'s", "’", "s'")):
            return False  # a possessor ("Trump's comments"), not the speaker
        words = mention.split()
        if len(words) == 1:
            word = words[0].rstrip(".,")
            if word.lower() in _NOT_NAMES or (words[0].endswith(".") and is_abbreviation(words[0])):
                return False
            if word.isupper() and len(word) > 4:
                return False
            if word.lower() in self.lower_words and not self.index.is_surname(word):
                return False
        return True

    # -- driver -----------------------------------------------------------------------------------

    def run(self, wanted: list[bool]) -> list[_Attr | None]:
        """Attribute the ``wanted`` quotes; returns one attribution (or None) per raw quote."""
        attrs: list[_Attr | None] = [None] * len(self.raws)
        for idx, r in enumerate(self.raws):
            if not wanted[idx]:
                continue
            qtext = self.text[r.start : r.end].rstrip()
            ends_sentence = qtext.endswith((".", "!", "?", "…")) and not qtext.endswith(("..", "…"))
            ok = self._ok
            attr = ok(self._label(idx), "label") or ok(self._strong_left(idx), "strong_left")
            if attr is None and (not ends_sentence or qtext.endswith(("?", "!"))):
                attr = ok(self._right(idx, ends_sentence), "right") or ok(self._left(idx, weak=False), "left")
            elif attr is None:
                attr = ok(self._left(idx, weak=False), "left") or ok(self._right(idx, True), "right")
            if attr is None:
                attr = ok(self._left(idx, weak=True), "weak_left")
            attrs[idx] = attr
        # Second pass: inheritance for quotes without an attribution of their own.
        memo: tuple[int, _Attr | None] = (-1, None)
        for idx, r in enumerate(self.raws):
            if attrs[idx] is not None or not wanted[idx]:
                continue
            inherited: _Attr | None = None
            how = ""
            if idx + 1 < len(self.raws):
                nxt = self.raws[idx + 1]
                gap = self.text[r.mark_end : nxt.mark_start]
                if (nxt.para == r.para and not any(c.isalpha() for c in gap)) or (r.open_ended and nxt.continued):
                    inherited = attrs[idx + 1]
                    how = "next_paragraph" if r.open_ended and nxt.continued else "next_part"
            if inherited is None and idx > 0:
                prv = self.raws[idx - 1]
                if prv.para == r.para or (r.continued and prv.para == r.para - 1) or (r.continued and prv.open_ended):
                    inherited = attrs[idx - 1]
                    how = "prev_part"
            if inherited is None:
                prv_idx = memo[0]
                if (
                    prv_idx >= 0
                    and self.raws[prv_idx].para == r.para
                    and not self._has_cue(self.raws[prv_idx].mark_end, r.mark_start)
                ):
                    inherited = memo[1]  # nothing new said since the previous look-up
                else:
                    inherited = self._paragraph_speaker(r.para, r.mark_start)
                memo = (idx, inherited)
                how = "paragraph"
            para_initial = r.mark_start <= self.para_first[r.para]
            if inherited is None and para_initial and r.para > 0:
                prev_para = r.para - 1
                pe = self.paras[prev_para][1]
                how = "prev_para_quote"
                if idx > 0 and self.raws[idx - 1].para == prev_para:
                    inherited = attrs[idx - 1]
                if inherited is None:
                    how = "prev_para"
                    inherited = self._paragraph_speaker(prev_para, pe)
            if inherited is not None:
                attrs[idx] = dataclasses.replace(inherited, speaker=None, role=None, how=how)
        for idx, attr in enumerate(attrs):
            if attr is None:
                continue
            self._resolve(attr)
            if attr.speaker is not None:
                self.recent.append((self.raws[idx].mark_start, idx, attr.speaker))
        return attrs


_UNTRUSTED_RULES = frozenset({"next_part", "label"})
"""Attribution rules too often wrong to show a quote on their word alone (measured on polnear-train)."""
_NAMED_ONLY_RULES = frozenset({"paragraph"})
"""Rules trusted only when they lead to a name (a carried-over pronoun or description often misleads)."""

_NOT_NAMES = _wordset(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april june july
    august september october november december why how what when where who earlier later hours
    shortly likewise back signs estimates name names appearing continuing reprising asked speaking
    """
)
"""Capitalised words that head a clause but are never a speaker's name."""


def _headline_end(text: str, paras: Sequence[tuple[int, int]]) -> int:
    """End of a headline-like first paragraph (short, no closing full stop), else 0.

    A name in a headline ("Gigantic Chinese Telescope ...") is no speaker and no pronoun's antecedent.
    """
    if len(paras) < 2:
        return 0
    start, end = paras[0]
    line = text[start:end].strip()
    if not line or len(line.split()) > 25 or line.rstrip("\"”’'»)").endswith((".", "!", "?", "…", ":")):
        return 0
    return end


def _word_count(text: str) -> int:
    return len(_WORDS_RE.findall(text))


def _split_part(text: str, raws: list[_Raw], long_enough: list[bool], i: int) -> bool:
    """Whether quote ``i`` is worth attributing: long enough, or a short part of a split quote."""
    if long_enough[i]:
        return True
    r = raws[i]
    for j in (i - 1, i + 1):
        if 0 <= j < len(raws) and long_enough[j] and raws[j].para == r.para:
            a, b = (raws[j].mark_end, r.mark_start) if j < i else (r.mark_end, raws[j].mark_start)
            if 0 < b - a <= 80 and any(
                _bare(w) in _CUES or _bare(w) == "according" for w in _WORDS_RE.findall(text, a, b)
            ):
                return True
    return False


def extract_quotes(text: str, language: str = "english", *, title: str | None = None) -> tuple[Quote, ...]:
    """Every direct quotation of ``text``, in text order: quoted words the article attributes to a source.

    ``q.text == text[q.start:q.end]`` (quotation marks excluded) for every quote; the parts of a
    split quote (``"A," he said, "B."``) and the paragraphs of a quote running over paragraphs are
    separate quotes sharing the speaker. ``speaker`` is the fullest name the article gives for the
    mention at ``[speaker_start, speaker_end)`` (which may be a pronoun or a surname), or ``None``
    when the mention does not resolve to a name (a pronoun without antecedent, "a source"); a
    stated role goes to ``role``.

    Quotation-marked text with no source in the article (a book title, a slogan, a headline) is not a
    quote of anyone and is left out. Scare quotes are left out too: a quoted segment of fewer than
    :data:`MIN_QUOTE_WORDS` words ("barbaric", "special military operation") is a borrowed phrase,
    not a statement, and is returned only when it is an attributed part of a split quote
    (``"No," she said, "we will ..."``).
    German, French and Spanish quotes (marks „...“, »...«, « ... », «...», “...”) are attributed with those
    languages' cue verbs and "according to" words (:mod:`summarizer._cues`); in the other languages quotes
    are found by their marks but not attributed.

    When the attribution is uncertain the quote is left out (a wrong speaker is worse than none):
    a speaker found with no verb of saying, or carried over from an earlier paragraph, a "name" that
    is a headline's words (``title`` or a headline-like first paragraph), a weekday or a possessor,
    and the person a cue addresses (``the letter warns Mr Pelham: "..."``) are never speakers.
    """
    raws = _scan_quotes(text, language)
    if not raws:
        return ()
    english = language.lower() in {"english", "en"}
    try:
        canonical = language_tools(language).name
    except ValueError:
        canonical = language
    if canonical in CUE_LANGUAGES:
        return _foreign_quotes(text, raws, canonical)
    if not english:
        return tuple(
            Quote(text=text[r.start : r.end], start=r.start, end=r.end)
            for r in raws
            if _word_count(text[r.start : r.end]) >= MIN_QUOTE_WORDS
        )
    long_enough = [_word_count(text[r.start : min(r.end, r.start + 200)]) >= MIN_QUOTE_WORDS for r in raws]
    wanted = [_split_part(text, raws, long_enough, i) for i in range(len(raws))]
    attributor = _Attributor(text, raws, title)
    attrs = attributor.run(wanted)
    quotes: list[Quote] = []
    for i, (r, attr, want) in enumerate(zip(raws, attrs, wanted, strict=True)):
        if not want or attr is None:
            continue  # quoted text nobody is said to have said: a title, a slogan, a headline
        if not attributor.trusted(i, attr):
            continue  # when attribution is uncertain, show no quote
        quotes.append(_quote(text, r, attr.speaker, attr.role, attr.cue, (attr.mention.start, attr.mention.end)))
    return tuple(quotes)


def _quote(text: str, r: _Raw, speaker: str | None, role: str | None, cue: str, mention: tuple[int, int]) -> Quote:
    """The :class:`Quote` of the quoted segment ``r``, said by ``speaker`` (mentioned at ``mention``)."""
    return Quote(
        text=text[r.start : r.end],
        start=r.start,
        end=r.end,
        speaker=speaker,
        cue=cue,
        speaker_start=mention[0],
        speaker_end=mention[1],
        role=role,
    )


def _foreign_quotes(text: str, raws: list[_Raw], language: str) -> tuple[Quote, ...]:
    """The quotes of a German, French or Spanish text that someone is said to have said (see ``_cues``)."""
    sents = _Sentences(text)
    paras = [(m.start(), m.end()) for m in _PARA_RE.finditer(text)]
    spans = [(r.mark_start, r.mark_end) for r in raws]
    attributor = ForeignAttributor(text, language, spans, _headline_end(text, paras))
    quotes: list[Quote] = []
    for i, r in enumerate(raws):
        inner = text[r.start : r.end]
        if _word_count(inner[:200]) < MIN_QUOTE_WORDS:
            continue  # scare quotes
        ps, pe = paras[r.para]
        floor = max(ps, raws[i - 1].mark_end) if i > 0 and raws[i - 1].para == r.para else ps
        ceil = min(pe, raws[i + 1].mark_start) if i + 1 < len(raws) and raws[i + 1].para == r.para else pe
        bounds = (sents.start_of(r.mark_start, floor), sents.end_after(r.mark_end, ceil))
        ends_sentence = inner.rstrip().endswith((".", "!", "?", "…"))
        attr = attributor.attribute(r.mark_start, r.mark_end, bounds, ends_sentence)
        if attr is None:
            continue  # quoted text nobody is said to have said
        quotes.append(_quote(text, r, attr.speaker, attr.role, attr.cue, (attr.start, attr.end)))
    return tuple(quotes)


def _is_statement(text: str, english: bool = True) -> bool:
    """A full statement rather than a scare-quoted word or phrase (verb-like words are checked in English)."""
    words = [w.lower() for w in _WORDS_RE.findall(text)]
    if len(words) < _KEY_MIN_WORDS:
        return False
    if len(words) >= 9:
        return True
    caps = sum(1 for w in _WORDS_RE.findall(text) if w[:1].isupper())
    if caps >= len(words) - 1:
        return False  # a title: "Make America Great Again Now"
    return not english or any(w in _VERBISH or w.endswith(("ed", "ing", "n't")) for w in words)


def _merge_parts(quotes: Sequence[Quote], text: str) -> list[Quote]:
    """Join the parts of split quotes (same speaker, separated only by the attribution)."""
    merged: list[Quote] = []
    for q in sorted(quotes, key=lambda q: q.start):
        if merged:
            last = merged[-1]
            gap = text[last.end : q.start]
            if (
                last.speaker == q.speaker
                and q.speaker is not None
                and 0 <= len(gap) <= 120
                and "\n" not in gap
                # "A," he said, "B." -- the attribution ends with a comma; after a full stop the next
                # quotation is a new statement, not the rest of this one.
                and gap.rstrip(" \"'“”‘’`").endswith(",")
            ):
                merged[-1] = dataclasses.replace(last, text=f"{last.text} {q.text}", end=q.end)
                continue
        merged.append(q)
    return merged


KEY_MAX_WORDS = 40
"""A key quote longer than this is cut at its last sentence end within the limit (or not shown)."""

REPEAT_NGRAM = 8
"""Two parts of a brief that share a run of this many words repeat each other."""

_DEPENDENT_OPENERS: dict[str, frozenset[str]] = {
    "english": frozenset({"and", "but", "or", "so", "because", "which", "that", "that's", "also", "yet"}),
    "german": frozenset({"und", "aber", "oder", "denn", "doch", "dass", "weil", "deshalb", "darum"}),
    "french": frozenset({"et", "mais", "ou", "donc", "car", "que", "parce"}),
    "spanish": frozenset({"y", "pero", "o", "pues", "que", "porque", "sino"}),
}
"""First words of a quote that lean on what came before ("And ...", "That's why ...", "Aber ...", "Mais ...")."""


def ngrams(text: str, n: int = REPEAT_NGRAM) -> set[tuple[str, ...]]:
    """The lower-cased word ``n``-grams of ``text`` (for redundancy checks between parts of a brief).

    Curly and straight apostrophes are the same ("don’t" = "don't"): summary sentences are normalized, quotes not.
    """
    words = [w.lower() for w in _WORDS_RE.findall(text.replace("’", "'"))]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _words_in(quote: str, part: str) -> bool:
    """Whether every word of ``quote``, in order, is a run of words of ``part`` (case and apostrophes ignored)."""
    words = [w.lower() for w in _WORDS_RE.findall(quote.replace("’", "'"))]
    within = [w.lower() for w in _WORDS_RE.findall(part.replace("’", "'"))]
    return bool(words) and f" {' '.join(words)} " in f" {' '.join(within)} "


def stands_alone(quote: str, language: str = "english") -> bool:
    """Whether a quote reads on its own: starts with a capital and not with a word pointing back (in English,
    German, French or Spanish: "And", "Aber", "Mais", "Pero" ...)."""
    words = _WORDS_RE.findall(quote)
    if not words or not words[0][:1].isupper():
        return False
    openers = _DEPENDENT_OPENERS.get(language, frozenset()) | _DEPENDENT_OPENERS["english"]
    return words[0].lower().replace("’", "'") not in openers


def _trim(q: Quote, text: str) -> Quote | None:
    """``q`` cut at its last sentence end within :data:`KEY_MAX_WORDS` words; None when it cannot be."""
    if _word_count(q.text) <= KEY_MAX_WORDS:
        return q
    cut = 0
    for m in _SENT_END_RE.finditer(q.text + " "):
        if _word_count(q.text[: m.end()]) > KEY_MAX_WORDS:
            break
        cut = m.end()
    if cut == 0 or _word_count(q.text[:cut]) < _KEY_MIN_WORDS:
        return None
    short = q.text[:cut].rstrip()
    end = q.start + len(short) if text[q.start : q.start + len(short)] == short else q.end
    return dataclasses.replace(q, text=short, end=end)


def rank_quotes(
    quotes: Sequence[Quote],
    text: str,
    story_words: Collection[str] | None = None,
    limit: int | None = None,
    shown: Sequence[str] = (),
    language: str = "english",
) -> tuple[Quote, ...]:
    """The key quotes for display, most important first, with ``score`` set.

    Only quotes attributed to a resolved name are kept, and only full statements (at least
    five words; in English with verb-like content) that stand alone (a capital first letter, not opening with a word
    that points back: "And ...", "That's why ..."): scare-quoted words and phrases never make it. Parts
    of a split quote are joined (``text`` = the parts joined by a space, ``start``/``end`` from the first
    to the last quoted character); a quote over :data:`KEY_MAX_WORDS` words is cut at a sentence end.
    A quote sharing a run of :data:`REPEAT_NGRAM` words with one of ``shown`` (the headline and summary
    sentences) repeats the brief and is left out. The score mixes statement length, the speaker's
    salience (how often the article names and quotes them), overlap with ``story_words`` (lower-case
    words of the summary, including whether the speaker is named there) and position; near-identical
    quotes are kept once.
    """
    named = [q for q in quotes if q.speaker and q.speaker.lower() not in PRONOUNS]
    language = language.lower()
    english = language in {"english", "en"}
    seen_grams: set[tuple[str, ...]] = set()
    for part in shown:
        seen_grams |= ngrams(part)
    merged = []
    for whole in _merge_parts(named, text):
        q = _trim(whole, text)
        if q is None or not _is_statement(q.text, english) or not stands_alone(q.text, language):
            continue
        if seen_grams and not seen_grams.isdisjoint(ngrams(q.text)):
            continue
        if any(_words_in(q.text, part) for part in shown):
            continue  # a quote shorter than 8 words, said word for word in the summary
        merged.append(q)
    if not merged:
        return ()
    lowered = text.lower()
    speaker_quotes = Counter(q.speaker for q in merged)
    mentions: dict[str, int] = {}
    for sp in speaker_quotes:
        assert sp is not None
        last = sp.split()[-1].lower()
        mentions[sp] = lowered.count(last) if len(last) > 2 else 1
    top_mentions = max(mentions.values()) or 1
    top_quotes = max(speaker_quotes.values())
    story = {w.lower() for w in story_words} if story_words else set()
    n = max(len(text), 1)
    scored: list[Quote] = []
    for q in merged:
        words = [w.lower() for w in _WORDS_RE.findall(q.text)]
        nwords = len(words)
        length = min(nwords, 35) / 35 - (0.15 if nwords > 90 else 0.0)
        assert q.speaker is not None
        salience = 0.6 * mentions[q.speaker] / top_mentions + 0.4 * speaker_quotes[q.speaker] / top_quotes
        content = [w for w in words if w not in _STOP and len(w) > 2]
        overlap = sum(1 for w in content if w in story) / len(content) if story and content else 0.0
        position = 1.0 - q.start / n
        named_in_story = 1.0 if story and any(w.lower() in story for w in q.speaker.split()) else 0.0
        score = 0.3 * length + 0.25 * salience + 0.3 * overlap + 0.1 * position + 0.15 * named_in_story
        scored.append(dataclasses.replace(q, score=round(score, 6)))
    scored.sort(key=lambda q: (-q.score, q.start))
    kept: list[Quote] = []
    seen: list[set[str]] = []
    for q in scored:
        ws = set(_WORDS_RE.findall(q.text.lower()))
        if any(len(ws & s) >= 0.8 * min(len(ws), len(s)) for s in seen):
            continue
        kept.append(q)
        seen.append(ws)
        if limit is not None and len(kept) >= limit:
            break
    return tuple(kept)
