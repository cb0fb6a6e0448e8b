"""Who said a quote, in German, French and Spanish: cue verbs, "according to" words and speaker names.

The English extractor (:mod:`summarizer._quotes`) has a large rule set tuned on annotated news; these languages
get a smaller, stricter one that covers the way news agencies write attributions:

- after the quote: ``„...“, sagte Bürgermeisterin Anna Keller`` / ``„...“, so Keller`` / ``„...“, sagte sie``;
  ``« ... », a déclaré le maire, Jean Dupont`` / ``« ... », a-t-il ajouté`` / ``« ... », selon Dupont``;
  ``«...», dijo la alcaldesa Ana García`` / ``«...», según García``; the name may also come first
  (``„...“, Keller sagte``);
- before the quote: ``Anna Keller sagte: „...“`` / ``Am Montag sagte Keller: „...“``,
  ``Jean Dupont a déclaré : « ... »``, ``Ana García afirmó: «...»``, ``Selon Jean Dupont, « ... »``.

A speaker is a capitalised name (role words such as "Bürgermeisterin", "le maire" or "la alcaldesa" are split
off as its role), a surname is resolved to the fullest form of the name the article gives, and a pronoun to
the last named speaker of a compatible gender quoted shortly before. Anything else (a Spanish cue with no
subject, a pronoun with nobody to refer to, a name in the headline) leaves the quote without a speaker: a
wrong name is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from summarizer._languages import language_tools
from summarizer._names import wordset

__all__ = ["CUE_LANGUAGES", "Attribution", "ForeignAttributor"]


@dataclass(frozen=True)
class _Profile:
    cues: frozenset[str]
    """Speech verbs (lower case, every form accepted): "sagte", "a déclaré" is aux "a" + "déclaré"."""
    according: frozenset[str]
    """Words for "according to" that stand before the speaker ("selon", "según", "laut", German "so")."""
    aux: frozenset[str]
    """Auxiliaries and adverbs that may stand between a subject and its cue verb ("a", "hat", "ha", "auch")."""
    pronouns: dict[str, str | None]
    """Subject pronouns and their gender ("m", "f", or None when unknown)."""
    roles: frozenset[str]
    """Role words (lower case) that stand before or after a name ("bürgermeisterin", "maire", "alcaldesa")."""
    role_suffixes: tuple[str, ...] = ()
    """Endings of compound role words ("Regierungssprecher", "Innenministerin")."""
    honorifics: dict[str, str | None] | None = None
    """Honorifics dropped from a name, with the gender they tell ("Herr": m, "Mme": f)."""
    particles: frozenset[str] = frozenset()
    """Lower-case words inside names ("von", "de", "del")."""
    feminine_roles: tuple[str, ...] = ()
    """Endings of role words that tell a woman ("-in", "-esa", "ministra")."""


_PROFILES: dict[str, _Profile] = {
    "german": _Profile(
        cues=wordset(
            """
            sagte sagt sagten sagen gesagt erklärte erklärt erklärten betonte betont betonten meinte meint
            fügte ergänzte ergänzt warnte warnt schrieb schreibt kündigte kritisierte kritisiert forderte
            fordert sagte, räumte versicherte versichert unterstrich bekräftigte stellte teilte teilt
            antwortete antwortet berichtete erläuterte erläutert bestätigte bestätigt rief mahnte
            """
        ),
        according=wordset("so laut"),
        aux=wordset("hat haben auch noch dann bereits zudem außerdem weiter später am"),
        pronouns={"er": "m", "sie": "f"},
        roles=wordset(
            """
            bürgermeister bürgermeisterin minister ministerin sprecher sprecherin kanzler kanzlerin präsident
            präsidentin chef chefin leiter leiterin direktor direktorin vorsitzende vorsitzender senator
            senatorin abgeordnete abgeordneter professor professorin richter richterin polizeisprecher
            polizeisprecherin dr. dr prof. prof
            """
        ),
        role_suffixes=(
            "sprecher",
            "sprecherin",
            "minister",
            "ministerin",
            "präsident",
            "präsidentin",
            "kanzler",
            "kanzlerin",
            "meister",
            "meisterin",
            "chef",
            "chefin",
            "leiter",
            "leiterin",
            "direktor",
            "direktorin",
            "vorsitzende",
            "vorsitzender",
        ),
        honorifics={"herr": "m", "frau": "f"},
        particles=wordset("von van der de zu"),
        feminine_roles=("in",),
    ),
    "french": _Profile(
        cues=wordset(
            """
            déclaré déclare déclarait dit dit-il affirmé affirme expliqué explique ajouté ajoute souligné
            souligne assuré assure estimé estime précisé précise indiqué indique insisté insiste averti
            avertit martelé martèle confié confie lancé lance répondu répond reconnu reconnaît
            """
        ),
        according=wordset("selon"),
        aux=wordset("a ont avait avaient aussi encore alors également ensuite lundi mardi mercredi jeudi vendredi"),
        pronouns={"il": "m", "elle": "f"},
        roles=wordset(
            """
            maire ministre président présidente porte-parole directeur directrice secrétaire préfet préfète
            député députée sénateur sénatrice chef responsable juge procureur procureure professeur
            professeure avocat avocate général générale adjoint adjointe
            """
        ),
        honorifics={"m.": "m", "mme": "f", "monsieur": "m", "madame": "f", "mlle": "f"},
        particles=wordset("de du des la le d'"),
        feminine_roles=(
            "présidente",
            "directrice",
            "préfète",
            "députée",
            "sénatrice",
            "procureure",
            "professeure",
            "avocate",
            "générale",
            "adjointe",
        ),
    ),
    "spanish": _Profile(
        cues=wordset(
            """
            dijo dice afirmó afirma declaró declara explicó explica aseguró asegura señaló señala añadió
            añade indicó indica advirtió advierte subrayó subraya insistió insiste manifestó manifiesta
            sostuvo sostiene precisó precisa destacó destaca respondió responde reconoció reconoce
            """
        ),
        according=wordset("según"),
        aux=wordset("ha han había habían también además luego"),
        pronouns={"él": "m", "ella": "f"},
        roles=wordset(
            """
            alcalde alcaldesa ministro ministra presidente presidenta portavoz director directora secretario
            secretaria diputado diputada senador senadora jefe jefa juez jueza fiscal consejero consejera
            gobernador gobernadora delegado delegada profesor profesora
            """
        ),
        honorifics={"sr.": "m", "sra.": "f", "señor": "m", "señora": "f", "don": "m", "doña": "f"},
        particles=wordset("de del la las los y"),
        feminine_roles=(
            "alcaldesa",
            "ministra",
            "presidenta",
            "directora",
            "secretaria",
            "diputada",
            "senadora",
            "jefa",
            "jueza",
            "consejera",
            "gobernadora",
            "delegada",
            "profesora",
        ),
    ),
}

CUE_LANGUAGES: tuple[str, ...] = tuple(_PROFILES)
"""Languages (besides English) whose quotes are attributed to speakers."""

_TOKEN_RE = re.compile(r"\w+(?:[’'\-]\w+)*\.?|[^\w\s]")
_INVERTED_RE = re.compile(r"^(?P<verb>\w+)(?:-t)?-(?P<pronoun>il|elle)$")
"""French inversion after a quote: "a-t-il", "déclare-t-elle", "dit-il"."""
_MAX_CONTEXT = 240


@dataclass(frozen=True, slots=True)
class Attribution:
    """A quote's speaker: the mention's span, the display name (None when unresolved), role and cue verb."""

    start: int
    end: int
    speaker: str | None
    role: str | None
    cue: str


@dataclass(slots=True)
class _Mention:
    """A speaker mention: a name (with its role), a pronoun, or a role alone ("le maire")."""

    start: int
    end: int
    kind: str  # "name", "pronoun" or "desc"
    name: str | None = None
    role: str | None = None
    gender: str | None = None


Tok = tuple[int, int, str]


def _tokens(text: str, a: int, b: int) -> list[Tok]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text, a, b)]


@cache
def _stop_words(language: str) -> frozenset[str]:
    return language_tools(language).stop_words


_PUNCT = frozenset({",", ".", ":", ";", "!", "?"})


class ForeignAttributor:
    """Finds the speakers of the quotes of one German, French or Spanish text (see the module docstring)."""

    def __init__(self, text: str, language: str, quotes: Sequence[tuple[int, int]], headline_end: int = 0) -> None:
        self.text = text
        self.profile = _PROFILES[language]
        self.stop = _stop_words(language)
        self.quotes = sorted(quotes)
        self.headline_end = headline_end
        self.recent: list[tuple[int, str, str | None]] = []  # (position, speaker, gender) of named speakers
        self._people: list[_Mention] | None = None

    # -- words ------------------------------------------------------------------------------------

    def _is_cue(self, tok: str) -> bool:
        return tok.islower() and tok.rstrip(".") in self.profile.cues

    def _is_aux(self, tok: str) -> bool:
        return tok.islower() and tok in self.profile.aux

    def _is_role(self, tok: str) -> bool:
        low = tok.lower()
        if low in self.profile.roles:
            return True
        return any(low.endswith(s) and len(low) > len(s) + 2 for s in self.profile.role_suffixes)

    def _is_honorific(self, tok: str) -> bool:
        return bool(self.profile.honorifics) and tok.lower() in (self.profile.honorifics or {})

    def _is_name_word(self, tok: str) -> bool:
        low = tok.rstrip(".").lower()
        return (
            tok[:1].isupper()
            and low not in self.stop
            and low not in self.profile.according
            and not self._is_role(tok)
            and not self._is_honorific(tok)
        )

    def _role_gender(self, role: str | None) -> str | None:
        if not role:
            return None
        head = role.split()[-1].lower()
        if self._is_role(head) and any(head.endswith(s) for s in self.profile.feminine_roles):
            return "f"
        return None

    # -- noun phrases -----------------------------------------------------------------------------

    def _name_end(self, toks: list[Tok], i: int) -> int:
        """The end index of the name (capitalised words, inner particles) starting at token ``i`` (== i: none)."""
        j = i
        while j < len(toks):
            tok = toks[j][2]
            inner = j > i and tok.lower() in self.profile.particles and j + 1 < len(toks)
            if self._is_name_word(tok) or (inner and toks[j + 1][2][:1].isupper()):
                j += 1
                if tok.endswith(".") and len(tok) > 2:
                    break  # "García." ends a sentence, and the name
                continue
            break
        while j > i and toks[j - 1][2].lower() in self.profile.particles:
            j -= 1
        return j

    def _named(self, toks: list[Tok], i: int, role: list[str]) -> tuple[_Mention, int] | None:
        """A name at token ``i`` (after an optional honorific), with ``role`` words stated before it."""
        gender = None
        if i < len(toks) and self._is_honorific(toks[i][2]):
            gender = (self.profile.honorifics or {}).get(toks[i][2].lower())
            i += 1
        end = self._name_end(toks, i)
        if end == i:
            return None
        words = [t[:-1] if t.endswith(".") and len(t) > 2 else t for _, _, t in toks[i:end]]
        role_text = " ".join(role) or None
        mention = _Mention(toks[i][0], toks[end - 1][1], "name", " ".join(words), role_text)
        mention.gender = gender or self._role_gender(role_text)
        return mention, end

    def _np_forward(self, toks: list[Tok], i: int) -> tuple[_Mention, int] | None:
        """The speaker phrase starting at token ``i``: a pronoun, or [det] [role words] [,] name, or [det] role."""
        if i >= len(toks):
            return None
        tok = toks[i][2]
        if tok.islower() and tok.rstrip(".") in self.profile.pronouns:  # "sagte er.", "dijo él"
            end = toks[i][1] - tok.endswith(".")
            return _Mention(toks[i][0], end, "pronoun", gender=self.profile.pronouns[tok.rstrip(".")]), i + 1
        j = i + 1 if tok.lower() in self.stop and not self._is_role(tok) else i  # "der", "le", "la"
        k = j
        while k < len(toks) and k - j < 6 and toks[k][2] not in _PUNCT:
            word = toks[k][2]
            if self._is_role(word):
                k += 1
            elif k > j and self._is_role(toks[k - 1][2]) and (self._is_name_word(word) or self._is_honorific(word)):
                break  # "Bürgermeisterin Anna Keller": the name starts here
            elif k > j and not self._is_cue(word) and not self._is_aux(word) and word[:1].isalpha():
                k += 1  # a complement of the role: "der Sprecher des Ministeriums", "le maire de la ville"
            else:
                break
        role = [t for _, _, t in toks[j:k]]
        if any(self._is_role(t) for t in role) and k < len(toks) and toks[k][2] == ",":
            named = self._named(toks, k + 1, role)  # "le maire, Jean Dupont", "der Sprecher des Bauamts, Jonas Brandt"
            if named is not None and (" " in (named[0].name or "") or named[0].gender):
                return named
        while role and not self._is_role(role[-1]):
            role.pop()
            k -= 1
        if not role:
            return self._named(toks, j, [])
        named = self._named(toks, k, role)
        if named is not None:
            return named
        desc = _Mention(toks[j][0], toks[k - 1][1], "desc", role=" ".join(role))
        desc.gender = self._role_gender(desc.role)
        return desc, k

    def _np_backward(self, toks: list[Tok], k: int) -> _Mention | None:
        """The speaker phrase ending at token ``k`` (a pronoun, a name with role words before it, a role)."""
        if k < 0:
            return None
        tok = toks[k][2]
        if tok.lower() in self.profile.pronouns and (tok.islower() or k == 0 or toks[k - 1][2] in _PUNCT):
            return _Mention(toks[k][0], toks[k][1], "pronoun", gender=self.profile.pronouns[tok.lower()])
        if tok == ",":  # "Der Sprecher des Bauamts, Jonas Brandt, sagte"
            k -= 1
        j = k
        commas = 0
        while j > 0 and k - j < 10 and (toks[j - 1][2] not in _PUNCT or (toks[j - 1][2] == "," and commas == 0)):
            commas += toks[j - 1][2] == ","
            j -= 1
        for start in range(j, k + 1):
            found = self._np_forward(toks, start)
            if found is not None and found[1] == k + 1:
                return found[0]
        return None

    # -- patterns ---------------------------------------------------------------------------------

    def _skip_aux(self, toks: list[Tok], k: int) -> int:
        while k < len(toks) and self._is_aux(toks[k][2]):
            k += 1
        return k

    def _right(self, mark_end: int, limit: int) -> tuple[_Mention, str] | None:
        """``„...“, sagte X`` / ``« ... », a déclaré X`` / ``„...“, so X`` / ``„...“, X sagte``."""
        toks = _tokens(self.text, mark_end, min(limit, mark_end + _MAX_CONTEXT))
        i = 0
        while i < len(toks) and toks[i][2] in {",", "—", "–", "-"}:
            i += 1
        if i >= len(toks) or i > 2:
            return None
        tok = toks[i][2]
        inverted = _INVERTED_RE.match(tok)
        if inverted is not None:  # "a-t-il déclaré", "déclare-t-elle", "dit-il"
            verb = inverted.group("verb")
            if self._is_aux(verb) and i + 1 < len(toks) and self._is_cue(toks[i + 1][2]):
                verb = toks[i + 1][2].rstrip(".")
            if not self._is_cue(verb):
                return None
            pronoun = inverted.group("pronoun")
            return _Mention(toks[i][0], toks[i][1], "pronoun", gender=self.profile.pronouns.get(pronoun)), verb
        if tok.islower() and tok in self.profile.according:  # "so Keller", "selon Dupont", "según García"
            found = self._np_forward(toks, i + 1)
            return (found[0], tok) if found is not None and found[0].kind != "pronoun" else None
        k = self._skip_aux(toks, i)
        if k < len(toks) and self._is_cue(toks[k][2]):
            found = self._np_forward(toks, k + 1)
            return (found[0], toks[k][2].rstrip(".")) if found is not None else None
        found = self._np_forward(toks, i)  # "„...“, Keller sagte"
        if found is None:
            return None
        k = self._skip_aux(toks, found[1])
        return (found[0], toks[k][2].rstrip(".")) if k < len(toks) and self._is_cue(toks[k][2]) else None

    def _left(self, start: int, mark_start: int) -> tuple[_Mention, str] | None:
        """``X sagte: „...“`` / ``Am Montag sagte X: „...“`` / ``Selon X, « ... »``."""
        toks = _tokens(self.text, max(start, mark_start - _MAX_CONTEXT), mark_start)
        while toks and toks[-1][2] in {":", ",", "—", "–"}:
            toks.pop()
        if not toks:
            return None
        last = len(toks) - 1
        if toks[0][2].lower() in self.profile.according and toks[0][2].lower() != "so":  # "Selon Dupont, « ... »"
            found = self._np_forward(toks, 1)
            if found is not None and found[1] == len(toks) and found[0].kind != "pronoun":
                return found[0], toks[0][2].lower()
        if self._is_cue(toks[last][2]):  # "Anna Keller sagte:", "Jean Dupont a déclaré :"
            k = last - 1
            while k >= 0 and self._is_aux(toks[k][2]):
                k -= 1
            subject = self._np_backward(toks, k)
            return (subject, toks[last][2]) if subject is not None else None
        for c in range(last - 1, max(-1, last - 8), -1):  # "Am Montag sagte Keller:": the subject after the verb
            if self._is_cue(toks[c][2]):
                found = self._np_forward(toks, c + 1)
                if found is not None and found[1] == len(toks):
                    return found[0], toks[c][2]
                break
        return None

    # -- resolution -------------------------------------------------------------------------------

    def _people_mentions(self) -> list[_Mention]:
        """Every name mentioned outside quotations, in text order (with the role stated beside it)."""
        if self._people is None:
            people: list[_Mention] = []
            pos = 0
            for qs, qe in [*self.quotes, (len(self.text), len(self.text))]:
                toks = _tokens(self.text, pos, max(pos, qs))
                i = 0
                while i < len(toks):
                    word = toks[i][2]
                    found = self._np_forward(toks, i) if word[:1].isupper() or self._is_role(word) else None
                    if found is not None and found[0].kind == "name":
                        people.append(found[0])
                        i = found[1]
                    else:
                        i += 1
                pos = max(pos, qe)
            self._people = people
        return self._people

    def _full_name(self, name: str) -> tuple[str, str | None, str | None]:
        """The fullest form of ``name`` in the article, with a role and gender stated for it anywhere."""
        last = name.split()[-1].lower()
        forms = [m for m in self._people_mentions() if m.name and m.name.split()[-1].lower() == last]
        full = max((m.name or name for m in forms), key=lambda n: (len(n.split()), n), default=name)
        if len(name.split()) > 1 and not full.endswith(name):
            full = name
        role = next((m.role for m in forms if m.role), None)
        gender = next((m.gender for m in forms if m.gender), None)
        return full, role, gender

    def _antecedent(self, position: int, gender: str | None) -> str | None:
        """Who a pronoun at ``position`` refers to: the last named speaker shortly before, else the nearest name
        introduced with a role or honorific in the 600 characters before; of a compatible gender."""
        for at, name, known in reversed(self.recent):
            if position - at > 1200:
                break
            if known is None or gender is None or known == gender:
                return name
        for m in reversed(self._people_mentions()):
            if m.start >= position:
                continue
            if position - m.start > 600 or m.start < self.headline_end:
                break
            if m.name and (m.role or m.gender) and (m.gender is None or gender is None or m.gender == gender):
                return self._full_name(m.name)[0]
        return None

    def attribute(
        self, mark_start: int, mark_end: int, sentence: tuple[int, int], ends_sentence: bool
    ) -> Attribution | None:
        """The speaker of the quote between the marks at ``mark_start`` and ``mark_end`` (``sentence``: the
        bounds of the text around it that may hold the attribution), or None when there is no attribution."""
        left = self._left(sentence[0], mark_start)
        right = None if ends_sentence and left is not None else self._right(mark_end, sentence[1])
        found = right or left
        if found is None:
            return None
        mention, cue = found
        if mention.kind == "pronoun":
            speaker = self._antecedent(mark_start, mention.gender)
            role = self._full_name(speaker)[1] if speaker else None
            return Attribution(mention.start, mention.end, speaker, role, cue)
        if mention.kind == "desc" or mention.name is None:
            return Attribution(mention.start, mention.end, None, mention.role, cue)
        if mention.start < self.headline_end:
            return None  # a name in the headline is no speaker
        name, role, gender = self._full_name(mention.name)
        self.recent.append((mark_start, name, mention.gender or gender))
        return Attribution(mention.start, mention.end, name, mention.role or role, cue)
