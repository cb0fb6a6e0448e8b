"""Name mentions in news text: finding them, splitting off roles, and resolving short forms.

A small, rule-based toolkit used by the quote extractor. Everything here works on plain strings with
character offsets and runs in time linear in the length of the text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field


def wordset(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words`` as a frozen set (for word lists in source)."""
    return frozenset(words.split())


_wordset = wordset

PRONOUNS: frozenset[str] = frozenset(
    {"he", "she", "they", "i", "we", "it", "you", "him", "her", "them", "us", "me", "one"}
)
"""Bare pronouns: never a displayed speaker."""

_MALE_PRONOUNS = frozenset({"he", "him", "his"})
_FEMALE_PRONOUNS = frozenset({"she", "her", "hers"})

TITLES: frozenset[str] = _wordset(
    """
    mr mrs ms miss dr sen senator rep representative gov governor president vice pres gen general lt
    col colonel capt captain sgt adm admiral maj major prof professor rev reverend judge justice
    secretary minister chancellor speaker leader chairman chairwoman chair mayor ambassador sir dame
    lord lady king queen prince princess pope sheikh ayatollah attorney commissioner director chief
    deputy spokesman spokeswoman spokesperson candidate nominee host anchor correspondent editor
    columnist coach chef officer agent sheriff councilman councilwoman congressman congresswoman
    assemblyman superintendent treasurer comptroller premier emir former then-senator then-president
    first the-then mp mep
    """
)
"""Words that form (part of) a role or honorific standing before a name ("Sen.", "spokesman")."""

ROLE_WORDS: frozenset[str] = TITLES | _wordset(
    """
    kremlin white house press campaign foreign prime executive senior state national security
    democratic republican gop presidential party policy political communications adviser advisor
    aide manager strategist analyst economist pollster lawyer counsel official officer founder ceo
    cfo coo head member chairperson co-chair vice-president co-founder lead top deputy assistant
    staff chief majority minority whip senate house defense defence justice interior finance trade
    health education energy homeland treasury military army navy air force federal u.s. us american
    russian british chinese french german ukrainian israeli iranian european union un nato fbi cia
    doj department ministry spokesperson
    """
)
"""Words that may appear in a role phrase ("Kremlin spokesman", "White House press secretary")."""

_ORG_WORDS = _wordset(
    """
    house department ministry committee party campaign post times news network agency kremlin
    council court university institute association foundation inc corp corporation bank commission
    administration senate congress pentagon government office center centre group company club
    council union league board service services bureau police army navy journal magazine press
    tribune herald review report times guardian reuters ap afp cnn nbc abc cbs fox msnbc npr bbc gop
    fbi cia nato un eu staff team organization organisation fund trust network council city state
    county
    """
)

_LEADING_STOP = _wordset(
    """
    a an the but and or so yet if when while as after before since because though although in on at
    of for to from by with about into over under then now also still even just however meanwhile
    instead indeed why what who how where which this that these those there here it its his her
    their our my your we they he she i you one yes no not asked speaking according like unlike
    during last next every each all some many most both either neither other another such mr
    """
)
"""Capitalised words that start a sentence but are not part of a name."""

_FEMALE_FIRST = _wordset(
    """
    hillary chelsea melania ivanka sarah nancy elizabeth kellyanne michelle jill carly nikki
    condoleezza madeleine susan mary patricia jennifer linda barbara margaret jessica karen lisa
    betty helen sandra donna carol ruth sharon laura kimberly deborah rebecca amy anna angela maria
    emily rachel julia kate katie kathleen christine catherine heather theresa megyn donna debbie
    huma hope kelly tulsi kamala marine angela theresa jane ann anne diane dianne amanda stephanie
    nicole emma olivia sophia isabella victoria natalie ellen joan alice claire lauren samantha
    tiffany teresa cheryl christina dana gloria janet judy julie martha
    """
)
_MALE_FIRST = _wordset(
    """
    donald bill barack joe mike michael john james robert david william richard thomas charles paul
    mark george steven steve kevin brian jeff jeffrey ted marco jeb ben chris christopher bernie tim
    tom rand scott mitch reince newt rudy vladimir dmitry sergei emmanuel boris justin xi andrew
    daniel matthew anthony jason eric ryan jacob gary larry frank peter harry henry jack roger
    dennis jerry walter patrick adam jonathan nicholas stephen josh corey sean rick bobby lindsey
    mitt dick al howard ron jim bob ken dan sam
    """
)

_NAME_TOKEN_RE = re.compile(r"[A-Z][\w’'.\-]*|[A-Z]")
_WORD_RE = re.compile(r"\w+(?:[’'.\-&]\w+)*\.?|[^\w\s]")
"""Word tokens: letters/digits with inner apostrophes, dots or hyphens, and an optional final dot."""

_CAP_RUN_RE = re.compile(
    r"(?<![\w’'])(?:[A-Z][\w’'\-]*\.?|(?:de|da|del|van|von|der|bin|al|la|le|du|di|dos|ibn)(?=\s+[A-Z]))"
    r"(?:[ \t\u00a0]+(?:[A-Z][\w’'\-]*\.?|(?:de|da|del|van|von|der|bin|al|la|le|du|di|dos|ibn)(?=\s+[A-Z])))*"
)
"""A run of capitalised words separated by spaces, allowing name particles ("de", "van")."""

_ABBREVIATIONS = _wordset(
    """
    mr mrs ms dr sen rep gov gen lt col capt sgt adm maj prof rev st jr sr no inc co corp ltd vs mt
    ft pres sec dept u.s u.k u.n a.m p.m e.g i.e jan feb mar apr jun jul aug sep sept oct nov dec
    d.c wash calif fla ill mass mich minn ore pa tenn tex va wis ariz colo conn ga ky la md mo nev
    n.j n.y n.c n.h okla s.c
    """
)


def strip_possessive(word: str) -> str:
    """Drop a trailing possessive ``'s`` / ``’s`` (or bare apostrophe) from ``word``."""
    for suffix in ("’s", "'s", "’", "'"):
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


def is_abbreviation(word: str) -> bool:
    """True when ``word`` (without its final dot) is a known abbreviation or a single initial."""
    bare = word.rstrip(".").lower()
    return bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha())


def is_title(word: str) -> bool:
    """True when ``word`` is an honorific or role word that can stand before a name."""
    return word.rstrip(".").lower() in TITLES


def looks_like_org(name: str) -> bool:
    """Heuristic: the capitalised phrase ``name`` names an organisation rather than a person."""
    words = name.split()
    if not words:
        return False
    if len(words) == 1 and words[0].isupper() and len(words[0]) > 1:
        return True
    return any(w.rstrip(".").lower() in _ORG_WORDS for w in words)


def gender_of_first(first: str) -> str | None:
    """Guess a gender ("m"/"f") from a first name or honorific; None when unknown."""
    low = first.rstrip(".").lower()
    if low in {"mr", "sir", "lord", "king", "prince"}:
        return "m"
    if low in {"mrs", "ms", "miss", "dame", "lady", "queen", "princess"}:
        return "f"
    if low in _FEMALE_FIRST:
        return "f"
    if low in _MALE_FIRST:
        return "m"
    return None


def pronoun_gender(pronoun: str) -> str | None:
    """Gender of a third-person singular pronoun, or None."""
    low = pronoun.lower()
    if low in _MALE_PRONOUNS:
        return "m"
    if low in _FEMALE_PRONOUNS:
        return "f"
    return None


def split_role(words: list[str]) -> tuple[list[str], list[str]]:
    """Split a capitalised phrase into (role words, name words).

    The role is everything up to and including the last title word ("Kremlin spokesman Dmitry
    Peskov" -> (["Kremlin", "spokesman"], ["Dmitry", "Peskov"])); honorifics such as "Mr." are
    dropped from the name but not reported as a role.
    """
    last_title = -1
    for i, w in enumerate(words[:-1]):
        if is_title(w) or (w.lower() in ROLE_WORDS and not w[:1].isupper()):
            last_title = i
    role = words[: last_title + 1]
    name = words[last_title + 1 :]
    return role, name


@dataclass
class Person:
    """Everything the article tells about one named entity."""

    name: str
    count: int = 0
    gender: str | None = None
    role: str | None = None
    is_org: bool = False
    forms: Counter[str] = field(default_factory=Counter)


@dataclass
class NameMention:
    """A capitalised name mention found in the text (role words excluded from the span)."""

    start: int
    end: int
    name: str
    role: str | None
    quoted: bool = False


class NameIndex:
    """All capitalised name mentions of a text, with surname -> fullest-name resolution."""

    def __init__(self, text: str, skip: list[tuple[int, int]] | None = None) -> None:
        """Index ``text``; spans in ``skip`` (e.g. quotations) are not used for coreference targets."""
        self.text = text
        self.mentions: list[NameMention] = []
        self._persons: dict[str, Person] = {}
        self._by_last: dict[str, list[str]] = {}
        self._role_heads: dict[str, str] = {}
        skip_sorted = sorted(skip or [])
        skip_starts = [s for s, _ in skip_sorted]
        for m in _CAP_RUN_RE.finditer(text):
            self._add_run(m.start(), m.group(), skip_sorted, skip_starts)
        self._starts = [m.start for m in self.mentions]
        for person in self._persons.values():
            if person.forms:
                person.name = max(person.forms.items(), key=lambda kv: (len(kv[0].split()), kv[1]))[0]

    def _in_skip(self, pos: int, skip: list[tuple[int, int]], starts: list[int]) -> bool:
        i = bisect_left(starts, pos + 1) - 1
        return i >= 0 and skip[i][0] <= pos < skip[i][1]

    def _add_run(self, start: int, run: str, skip: list[tuple[int, int]], starts: list[int]) -> None:
        tokens = [(t.start() + start, t.group()) for t in re.finditer(r"\S+", run)]
        # Break the run after a token ending a sentence ("Biden. Peskov").
        pieces: list[list[tuple[int, str]]] = [[]]
        for pos, tok in tokens:
            pieces[-1].append((pos, tok))
            if tok.endswith(".") and not is_abbreviation(tok):
                pieces.append([])
        for piece in pieces:
            while piece and piece[0][1].rstrip(".").lower() in _LEADING_STOP:
                piece = piece[1:]
            if piece:
                self._add_piece(piece, skip, starts)

    def _add_piece(self, piece: list[tuple[int, str]], skip: list[tuple[int, int]], starts: list[int]) -> None:
        words = [w for _, w in piece]
        role, name_words = split_role(words)
        if not name_words:
            return
        # Lower-case role words directly before the run ("spokesman Dmitry Peskov").
        first_pos = piece[len(role)][0]
        role_text = " ".join(role) if role else None
        left = self.text[max(0, piece[0][0] - 60) : piece[0][0]]
        lw = left.split()
        extra: list[str] = []
        while lw and lw[-1].lower() in ROLE_WORDS and lw[-1] not in ("the", "a"):
            extra.insert(0, lw.pop())
        while extra and lw and len(extra) < 5:
            # qualifiers of the role: "Water company spokeswoman", "Harbour Authority chairman"
            w = lw[-1]
            qualifier = w.lower() in _ORG_WORDS or (w[:1].isupper() and w.lower() not in _LEADING_STOP)
            if w[-1:].isalnum() and qualifier:
                extra.insert(0, lw.pop())
            else:
                break
        if extra:
            # include a capitalised qualifier just before the role words ("Kremlin spokesman")
            role_text = " ".join(extra + role)
        last_tok = name_words[-1]
        last = strip_possessive(last_tok.rstrip(".,"))
        if last_tok.endswith(".") and not is_abbreviation(last_tok):
            last_tok = last_tok[:-1]
        clean = [w.rstrip(".") if not is_abbreviation(w) else w for w in name_words[:-1]] + [last]
        honorific = role[-1] if role else None
        if honorific and honorific.rstrip(".").lower() in {"mr", "mrs", "ms", "miss", "dr"}:
            role_text = None if not extra else " ".join(extra)
        full = " ".join(clean)
        end = first_pos + len(" ".join(name_words))
        end = first_pos + len(self.text[first_pos:end].rstrip(".,"))
        if full.endswith(("’s", "'s")):
            end -= 2
        quoted = self._in_skip(first_pos, skip, starts)
        self.mentions.append(NameMention(first_pos, end, full, role_text, quoted))
        if quoted:
            return
        key = last.lower()
        candidates = self._by_last.setdefault(key, [])
        person: Person | None = None
        if len(clean) >= 2:
            for cand in candidates:
                p = self._persons[cand]
                pw = p.name.split()
                if pw[0].lower() == clean[0].lower() or len(pw) == 1:
                    person = p
                    break
            if person is None:
                person = Person(name=full)
                self._persons[full] = person
                candidates.append(full)
        elif candidates:
            person = self._persons[max(candidates, key=lambda c: self._persons[c].count)]
        else:
            person = Person(name=full)
            self._persons[full] = person
            candidates.append(full)
        person.count += 1
        person.forms[full] += 1
        if len(person.name.split()) < len(clean):
            person.name = full
        if honorific:
            g = gender_of_first(honorific)
            person.gender = person.gender or g
        if person.gender is None and len(clean) >= 2:
            person.gender = gender_of_first(clean[0])
        if role_text and not person.role:
            person.role = role_text
        person.is_org = person.is_org or looks_like_org(full)
        if role_text:
            head = role_text.split()[-1].rstrip(".").lower()
            if head not in {"mr", "mrs", "ms", "dr", "former"}:
                self._role_heads.setdefault(head, person.name)

    def resolve(self, name: str) -> Person | None:
        """The person/organisation a (possibly short) name form refers to, or None."""
        words = [w for w in name.split() if w]
        if not words:
            return None
        _, name_words = split_role(words)
        if not name_words:
            return None
        last = strip_possessive(name_words[-1].rstrip(".,")).lower()
        cands = self._by_last.get(last)
        if not cands:
            return None
        if len(name_words) >= 2:
            first = name_words[0].rstrip(".").lower()
            for c in cands:
                if self._persons[c].name.split()[0].lower() == first:
                    return self._persons[c]
        return self._persons[max(cands, key=lambda c: self._persons[c].count)]

    def full_name(self, name: str) -> str:
        """The fullest form of ``name`` given by the article (``name`` itself when unknown)."""
        person = self.resolve(name)
        return person.name if person else name

    def is_surname(self, word: str) -> bool:
        """True when ``word`` is the last word of a multi-word name in the article."""
        cands = self._by_last.get(strip_possessive(word).lower(), [])
        return any(len(self._persons[c].name.split()) >= 2 for c in cands)

    def by_role(self, head: str) -> str | None:
        """The name of the person introduced with role head noun ``head`` ("spokesman"), if any."""
        return self._role_heads.get(head.lower())

    def person_before(self, pos: int, gender: str | None, window: int = 1500, floor: int = 0) -> NameMention | None:
        """The nearest person-like name mention starting before ``pos`` (within ``window`` chars).

        Organisations are skipped; when ``gender`` is given, people of the other known gender are
        skipped too. Mentions starting before ``floor`` (a headline) are never taken.
        """
        i = bisect_left(self._starts, pos) - 1
        steps = 0
        while i >= 0 and steps < 60:
            m = self.mentions[i]
            if pos - m.start > window or m.start < floor:
                break
            steps += 1
            i -= 1
            if m.quoted:
                continue
            person = self.resolve(m.name)
            if person is None or person.is_org:
                continue
            if len(person.name.split()) < 2 and person.count < 2:
                continue
            if gender and person.gender and person.gender != gender:
                continue
            return m
        return None
