"""Whether to answer, and why: one function, one place.

The rules, in order (the first that applies declines):

1. ``no_content``: the question names nothing to look for ("?", "🙂", "12345").
2. ``no_passages``: nothing was retrieved (an empty index, or a language filter with no documents).
3. ``unknown_words``: (almost) none of the question's content words occur in the documents, in any language.
4. ``missing_focus``: the question asks for an attribute (a mayor, an area, a birth date, a price ...) of
   something, and no candidate sentence speaks of that attribute in any language, or the thing it is asked
   of is named nowhere in the documents, or in no sentence that speaks of the attribute (nor in the sentence
   before it: "... a seminar in Tashkent. The event was organised by ..."). A place's name is looked for as each
   language writes it (``qa.language.places``: Kazakhstan, Казахстан, Qozogʻiston), so a sentence of another
   language is held to it like one of the question's own, and a place is a name even as the question's first
   word ("Qozog'iston ... qachon qo'shilgan?"; rule ``places``), and so is a people's word ("the Uzbek side":
   Uzbekistan, Узбекистан, Oʻzbekiston; rule ``peoples``) and an international body's short name
   (``qa.language.bodies``: UN / ООН / BMT; rule ``bodies``), also where a document spells it out ("EU" in
   "the European Union project", «Европейского союза»; rule ``spelt_out``). A month's name is a date, not a
   name a document must hold ("on 13 May"; rule ``month_names``): whether a library holds some word of its stem
   says nothing of the question's subject. A place the question names that no document names, as any language
   writes it, is something the documents do not know ("Who represented Saudi Arabia at the seminar?"; rule
   ``unknown_places``). A role bound to another name does not count ("the President of Uzbekistan" for "Who is
   the president of Malta?"; the holder stands after the role in English and Russian, before it in Uzbek).
   Names that a sentence's language cannot show (translated ones) are not held against it (a rule that had such
   a sentence take its translation's verdict was removed on 2026-12-07: on no held-out part or library did it
   earn an answer or a decline, and it cost three); they are, when the attribute stands beside a Latin name that
   documents of two languages write alike and the question does not give ("IIJ был основан ..." is the IIJ's
   founding, not YEXHT's); a follow-up's earlier names need only be in the sentence's document. Where some
   sentences show the attribute and the names together, only those may be quoted. A question that asks no
   attribute still needs every name it gives that the document's language can show in the sentence's document
   ("... in Valletta?" is not answered from a document about Tashkent). A numbered thing the question asks of (an
   ordinal above one, in words or digits: "the second meeting", «81-й сессии») must be numbered so in the
   sentence's document, in any language: a document on the first meeting does not speak of the second. So
   must a number the question gives in digits ("Who won the 2022 World Cup?", "... 14-may kuni ...?"): digits
   read alike in every language (rule ``numbers``).
5. ``names_apart``: the question puts together names that no document mentions together ("When did Timur
   Akhmedov meet Vladimir Voronkov?" where one document names Akhmedov and others Voronkov). Names are
   compared across scripts and case forms by ``qa.language.lexical.name_key``. A name the documents of the question's
   language do not hold, or that documents of another language write alike (Тимур / Timur, IIJ), is a name
   written alike everywhere: every document is held to it. One found only in the question's language may be
   translated in the others (Council / Совет), so their documents are not held to it, unless it is a person's
   name: one of two names side by side, neither a title nor a word of a body's name ("Supreme Court"), neither
   ever written in lower case ("Kaxa Imnadze" is spelt, not translated, in any language). Month names are dates.
   A capitalised word the documents also write in lower case ("Central", "Regional") is a word of the language,
   which another may translate (*Markaziy*) whatever cognate a third writes (центральный; rule ``common_names``).
6. ``count_missing`` / ``wrong_answer_type``: no candidate that speaks of the attribute can hold the kind
   of answer asked for (a count for "how many", a date for "when", a name the question does not give for
   "who" / "where"). A count must be of what is asked: a candidate in the question's language must name
   the counted word ("players" in "How many players ..."; ``counted_noun`` in the language files); a span of days
   within a month ("1-2 октября", "October 1-2") holds how many days (rule ``day_span``). A dateline
   (names and a date only: "Toshkent/Nyu-York/Vena, 2024-yil 10-may.") holds no answer of any kind: it dates
   the text it heads. Nor does a question ("Где вход на сцену?", a heading "How will the project be promoted?"):
   it asks.
7. ``nothing_shared``: no candidate left comes from a document that shares a word, name or number with the
   question (or the turns it follows), in any language or script: a content word's stem or cross-script key,
   a place's name as any language writes it, the first four consonants of a key (a word borrowed across
   languages: Regional / Регионального, conferences / konferensiyalar), or an acronym read in Latin letters
   (RES / РЭС). Similarity alone quotes "Va yetimlarga o‘z mollarini bering." for "Как приготовить плов?" once a
   library holds enough text.
8. ``low_coverage``: no candidate left in the question's language says enough of what the question asks: its
   sentence (with the one before) holds less than ``Tuning.min_coverage`` (0.2) of the question's content words,
   each weighed by its rarity (idf; a word no document holds weighs most), by stem, cross-script key or borrowed
   form (rule 7's four consonants). "Как зовут президента Франции?" is not answered by a sentence that names a
   president and nothing else the question asks. A candidate in another language is not held to it: its words are
   another language's.
9. ``low_evidence``: the best remaining candidate scores below the calibrated threshold.

Only candidates that pass 4, 6, 7 and 8 may be quoted. The decision is taken on the first-stage candidate
scores, whose threshold is calibrated on the tuning part of the evaluation set; a reranker or a
language-model reader only changes what is said, never whether.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qa import language as languages
from qa.language.analysis import Analysis, word_stems
from qa.language.answer_types import (
    acronym,
    asks,
    attributes,
    can_hold,
    counted_things,
    dateline,
    day_span,
    fold,
    given_numbers,
    months,
    names_attribute,
    names_counted,
    numbers_in,
    ordinals,
    role_attributes,
)
from qa.answering.candidates import Candidate
from qa.language.detect import reading_form
from qa.language import bodies, places
from qa.language.lexical import ALL_STOPWORDS, normalised_spelling, script, skeleton
from qa.answering.query import Query
from qa.index.snapshot import Snapshot
from qa.answering.tuning import Tuning
from qa.errors import ConfigError

ANSWERED = "answered"
NO_CONTENT = "no_content"
NO_PASSAGES = "no_passages"
UNKNOWN_WORDS = "unknown_words"
MISSING_FOCUS = "missing_focus"
NAMES_APART = "names_apart"
COUNT_MISSING = "count_missing"
WRONG_ANSWER_TYPE = "wrong_answer_type"
NOTHING_SHARED = "nothing_shared"
LOW_COVERAGE = "low_coverage"
LOW_EVIDENCE = "low_evidence"
REASONS = (
    ANSWERED,
    NO_CONTENT,
    NO_PASSAGES,
    UNKNOWN_WORDS,
    MISSING_FOCUS,
    NAMES_APART,
    COUNT_MISSING,
    WRONG_ANSWER_TYPE,
    NOTHING_SHARED,
    LOW_COVERAGE,
    LOW_EVIDENCE,
)


@dataclass
class Decision:
    answer: bool
    reason: str
    confidence: float = 0.0
    novelty: float = 0.0
    eligible: list[Candidate] = field(default_factory=list)  # the candidates that may be quoted, best first
    names: list[str] = field(default_factory=list)  # names_apart: the question's names the documents hold, as asked
    lift: dict[str, float] = field(default_factory=dict)  # coverage_rank: what each eligible sentence's rank adds


HOLDER_REACH = 12  # content words within which a long name's short form (an acronym) may still follow
ACRONYM = 5  # the longest word read as an acronym that a key may miss
COGNATE = 4  # leading consonants of a cross-script key that tell a word borrowed across languages
_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxz")
_HARD_C = re.compile(r"c(?![eiyh])")  # c before a, o, u or a consonant: k


def _institution_word(word: str) -> bool:
    """A word of a body's name (court, council, суд, kengash ...: ``institution_words`` in the language files)."""
    folded = fold(word)
    return any(folded.startswith(w) for w in languages.union("institution_words"))


def _content_beside(words_: Sequence[str], i: int, side: str) -> list[int]:
    """The positions of the content words after word ``i`` (``side`` "after") or before it ("before"), nearest
    first."""
    span = range(i + 1, len(words_)) if side == "after" else range(i - 1, -1, -1)
    return [j for j in span if fold(words_[j]) not in ALL_STOPWORDS]


def novelty(snapshot: Snapshot, query: Query) -> float:
    """Share of the question's content words found nowhere in the documents, in any language or script.

    1.0 means nothing the question asks about is in the documents ("What is the capital of Australia?").
    """
    content = query.analysis.content_keys
    if not content:
        return 0.0
    unknown = sum(
        1 for _, stem, key in content if not snapshot.lexical.knows(stem) and not snapshot.skeleton.knows(key)
    )
    return unknown / len(content)


class _Focus:
    """The attribute a question asks for and the names it asks it of, checked against candidate evidence."""

    def __init__(
        self,
        snapshot: Snapshot,
        query: Query,
        with_places: bool = True,
        with_bodies: bool = True,
        with_lowercase: bool = True,
        with_months: bool = True,
        with_peoples: bool = True,
        with_common: bool = True,
        with_spelt_out: bool = True,
        with_short_keys: bool = True,
    ):
        self.snapshot = snapshot
        self.language = query.language
        self.with_common = with_common
        self.attributes = query.focus
        # A place's name is also looked for as the other languages write it (Qozogʻiston / Казахстан / Kazakhstan),
        # and so is a body's short name (UN / ООН / BMT).
        written = query.analysis.written
        # Typed without capitals ("whats the name of uzbekistans president"): a place's name is still a name.
        lowercase = with_lowercase and len(written) > 1 and not any(w[:1].isupper() for w in written)
        spelt = (
            places.equivalents(written, query.language, lowercase=lowercase, peoples=with_peoples)
            if with_places
            else {}
        )
        self._places = frozenset(spelt)  # the question's words that are part of a place's name
        self._spelt_places = frozenset(w for w, terms in spelt.items() if terms)  # ... that the table spells
        if with_bodies:
            for word, terms in bodies.equivalents(written, query.language, spelt=with_spelt_out).items():
                spelt[word] = spelt.get(word, frozenset()) | terms
        asked = list(query.names)
        if with_months:  # "on 13 May": a date, not a name the documents must hold (rule ``month_names``)
            asked = [n for n in asked if not months(n)]
        first = written[:1]
        if first and spelt.get(first[0]) and first[0] not in asked and fold(first[0]) not in ALL_STOPWORDS:
            asked.insert(0, first[0])  # a place is a name at the start of a question too ("Qozog'iston ... ?")
        if lowercase:
            asked += [w for w in written if spelt.get(w) and w not in asked and fold(w) not in ALL_STOPWORDS]
        self.names = {name: query.analysis.terms_of(name) | spelt.get(name, frozenset()) for name in asked}
        # Rule ``short_keys``: the terms that show a name in documents of another language than the question's;
        # not its own cross-script key of three consonants or fewer, which common words share (SMTI, «смета» and
        # "summit" are all *smt*), but a form the tables spell (BMT for the UN) still does.
        self._elsewhere = {
            name: frozenset(t for t in terms if not _short_key(t)) | spelt.get(name, frozenset())
            if with_short_keys
            else terms
            for name, terms in self.names.items()
        }
        words_ = self._question_words = list(written)
        # Two names side by side ("Kaxa Imnadze", «Бахтиёр Мустафаев»): perhaps a person's first and last name.
        # Not a title ("President Mirziyoyev") nor a body ("Supreme Court"): a word that names an attribute or
        # begins like one of the language files' institution words is not part of a person's name.
        person = [w in self.names and not attributes(w) and not _institution_word(w) for w in words_]
        self.paired = {w for i in range(len(words_) - 1) if person[i] and person[i + 1] for w in words_[i : i + 2]}
        # Known: its stem, or a cross-script key long enough to identify a name (3 consonants collide).
        self.known_names = {
            n for n, t in self.names.items() if any(snapshot.lexical.knows(x) or snapshot.skeleton.knows(x) for x in t)
        }
        # Names of the earlier turn a follow-up rests on: welcome in the evidence, not required.
        self.context_names = {
            name: query.resolved.terms_of(name) for name in query.context_names if name not in self.names
        }
        # The names a role is asked of in the question itself ("президентом Мальты", "Malta prezidenti").
        self.role_holders = self._role_holders(query)
        self._alike: dict[str, bool] = {}  # a sentence's word -> written alike in two languages' documents

    def _role_holders(self, query: Query) -> list[frozenset[str]]:
        """The terms of each capitalised word among the three content words beside the role ("Верховный" and
        "Узбекистана" in "возглавляет Верховный суд Узбекистана")."""
        roles = self.attributes & role_attributes()
        if not roles:
            return []
        words_ = query.analysis.written
        side = languages.get(query.language).get("holder_side", "after")
        holders: list[frozenset[str]] = []
        for i, w in enumerate(words_):
            if names_attribute(w, roles):
                near = _content_beside(words_, i, side)[:3]
                # Capitalised even at the start of the question: "Malta prezidenti kim?"
                for j in near:
                    if words_[j][:1].isupper():
                        holders.append(query.analysis.terms[j])
        return holders

    def names_apart(self, language: str) -> list[str]:
        """The question's names the documents hold, when no document mentions them all (see rule 5 above), else
        an empty list; ``language``: the question's."""
        if len(self.names) < 2:
            return []
        language_of = self.snapshot.hash_languages
        together, known = None, []
        for name, terms in self.names.items():
            if months(name):  # "in September": a date, not a name
                continue
            naming = self.snapshot.documents_naming(terms, name)
            if self._elsewhere[name] != terms:  # rule ``short_keys``
                elsewhere = self.snapshot.documents_naming(self._elsewhere[name], name)
                naming = {
                    d: elsewhere.get(d, v)
                    for d, v in naming.items()
                    if language_of.get(d) == language or d in elsewhere
                }
            holding = {d for d in naming if d in language_of}
            if not holding:
                continue  # a name the documents do not know: not this rule's business
            known.append(name)
            alike_elsewhere = any(naming[d] and language_of[d] != language for d in holding)
            in_own_language = any(language_of[d] == language for d in holding)
            # Perhaps translated in the other languages ("Council" / «Совет»), unless it is a person's name: one of
            # two names side by side, neither ever written in lower case ("Kaxa Imnadze" is spelt, not translated).
            # A place the table spells in the other languages is looked for so, whatever lower-case words its
            # stem begins (*toshkentlik*, a person from Tashkent): rule ``common_names`` is for other words
            # ("Central" of Central Asia, which the table spells as a whole).
            if alike_elsewhere and in_own_language and self.with_common and name not in self._spelt_places:
                alike_elsewhere = not self._common_word(name, language)
            if in_own_language and not alike_elsewhere and self._translatable(name, language):
                for other in self.snapshot.languages:
                    if other != language:
                        holding |= self.snapshot.active_set(other)
            together = holding if together is None else together & holding
        return known if together is not None and not together else []

    def _common_word(self, name: str, language: str) -> bool:
        """A capitalised word of a name that the documents also write in lower case ("Central Asia": the central
        bank; "Regional Expert Council": regional): a word of the language, which another language may translate
        (*Markaziy*), whatever cognate a third writes (центральный). Not an acronym, with or without an ending
        (UN: *un*, *under*; "RES's": *result*): its first two characters are capital letters."""
        if not name[:1].isupper() or acronym(name):
            return False
        return self.snapshot.written_lowercase(set(word_stems(name, language)))

    def _translatable(self, name: str, language: str) -> bool:
        """Not a person's name: not paired, or it or a name beside it is written in lower case somewhere (the
        chunk scan runs only for names that need it)."""
        if name not in self.paired:
            return True
        words_ = self._question_words
        beside = [
            w
            for i, w in enumerate(words_)
            if w in self.paired and any(words_[j] == name for j in (i - 1, i, i + 1) if 0 <= j < len(words_))
        ]
        return any(self.snapshot.written_lowercase(set(word_stems(n, language))) for n in beside)

    @property
    def unknown_places(self) -> list[str]:
        """The places the question names that no document names, as any language writes it ("Saudi Arabia",
        «Китай», *Afgʻoniston* where no document speaks of them): the question is about something the documents
        do not know (rule ``unknown_places``)."""
        return [n for n in self.names if n in self._places and n not in self.known_names]

    @property
    def subject_absent(self) -> bool:
        """An attribute is asked of names none of which the documents mention (UNODC's founding date)."""
        return bool(self.attributes) and bool(self.names) and not self.known_names

    def strength(self, c: Candidate, before: Analysis | None = None) -> int:
        """0: the sentence does not speak of the asked-for attribute of the asked-about names; 1: it speaks of
        the attribute, and the names cannot be checked in its language (translated names); 2: attribute and
        names are both there (or no attribute is asked for)."""
        if not self.attributes:
            return self._names_in_document(c)
        words_ = c.analysis.written
        at = [i for i, w in enumerate(words_) if names_attribute(w, self.attributes)]
        if not at:
            return 0
        term_sets = c.analysis.terms
        if self.role_holders and len(self.attributes & role_attributes()) == len(self.attributes):
            # A role bound to another name ("Президенте Республики Узбекистан" for the president of Malta)
            # is not the role asked about.
            # Every holder word the sentence's language can show must be there ("Республики Узбекистан" is not
            # "Верховный суд Узбекистана"); where it can show none (translated names), any one will do.
            shown = self.snapshot.language_terms(c.language)
            holders = [h for h in self.role_holders if h & shown]
            need_all = bool(holders)
            holder_of = [[bool(t & h) for h in (holders or self.role_holders)] for t in term_sets]
            side = languages.get(c.language).get("holder_side", "after")
            at = [i for i in at if not self._bound_elsewhere(words_, holder_of, i, side, need_all)]
            if not at:
                return 0
        context = set().union(*self.context_names.values()) if self.context_names else set()
        # The earlier turn's names need only be in the sentence's document: the answer to "А кто его организовал?"
        # after a question on a seminar in Tashkent may follow the sentence that names Tashkent.
        in_context = not context or bool(context & self.snapshot.document_terms(c.doc_hash))
        if not self.known_names:
            return 2 if in_context else 1
        name_terms = set().union(*(self.names[n] for n in self.known_names))
        # The names may stand in the sentence before ("... a seminar in Tashkent. The event was organised by ...").
        if any(t & name_terms for t in term_sets) or (before and any(t & name_terms for t in before.terms)):
            return 2 if in_context else 1
        checkable = any(self._shown(n, c.language) for n in self.known_names)
        if checkable or self._held_by_another(words_, term_sets, at, c.language):
            return 0
        return 1

    def _shown(self, name: str, language: str) -> bool:
        """Whether documents of ``language`` write the name, so that a sentence in it can be held to it; in another
        language than the question's, by the terms of rule ``short_keys``."""
        terms = self.names[name] if language == self.language else self._elsewhere[name]
        return bool(terms & self.snapshot.language_terms(language))

    def _held_by_another(
        self, words_: tuple[str, ...], term_sets: tuple[frozenset[str], ...], at: list[int], language: str
    ) -> bool:
        """Each attribute word of a sentence whose language cannot show the question's names stands beside a name
        written alike in the documents of two languages (a Latin name or acronym: "IIJ был основан ..."), which
        the question, written in any of them, would have given as it is: the attribute is that name's ("When
        was the OSCE founded?" is not answered by the IIJ's founding). Within two content words either side."""
        question_terms = set().union(*self.names.values()) if self.names else set()
        for i in at:
            near = _content_beside(words_, i, "before")[:2] + _content_beside(words_, i, "after")[:2]
            if not any(self._alike_name(words_[j], j, language) and not term_sets[j] & question_terms for j in near):
                return False
        return bool(at)

    def _alike_name(self, word: str, position: int, language: str) -> bool:
        """A name (capitalised, not only for starting the sentence; or an acronym) in Latin letters whose stem
        documents of two or more languages hold."""
        if not word[:1].isupper() or script(word) != "latin" or (position == 0 and not word.isupper()):
            return False
        if word not in self._alike:
            stems = word_stems(word, language)
            rows = self.snapshot.lexical.rows_with(stems) if stems else set()
            self._alike[word] = len(self.snapshot.row_languages(sorted(rows))) >= 2
        return self._alike[word]

    def _names_in_document(self, c: Candidate) -> int:
        """For a question with no attribute: every name it gives that the document's language can show must be
        in the sentence's document ("... in Valletta?" is not answered from a document about Tashkent)."""
        if not self.known_names:
            return 2
        checkable = [n for n in self.known_names if self._shown(n, c.language)]
        terms = self.snapshot.document_terms(c.doc_hash)
        if not checkable:
            return 2 if any(self.names[n] & terms for n in self.known_names) else 1
        return 2 if all(self.names[n] & terms for n in checkable) else 0

    @staticmethod
    def _bound_elsewhere(words_: Sequence[str], holder_of: list[list[bool]], i: int, side: str, need_all: bool) -> bool:
        """The role at word ``i`` is followed (or in Uzbek preceded) by another name, and the name asked
        about does not follow within a long name's reach ("руководством Международного института ... (IIJ)")."""
        content = _content_beside(words_, i, side)
        capitalised = [j for j in content[:3] if words_[j][:1].isupper()]
        near = content[:HOLDER_REACH]
        found = [any(holder_of[j][h] for j in near) for h in range(len(holder_of[i]))]
        return bool(capitalised) and not (all(found) if need_all else any(found))


def _short_key(term: str) -> bool:
    """A cross-script key of three consonants or fewer (SMTI: *smt*), which common words of any language share."""
    return len(term) <= 3 and _CONSONANTS.issuperset(term)


def _hold_to_documents(
    snapshot: Snapshot, candidates: list[Candidate], strength: dict, holds: Callable[[str, str], bool]
) -> None:
    """Set to 0 the strength of each candidate whose document fails ``holds(text, language)``, asked once per
    document."""
    verdict: dict[str, bool] = {}
    for c in candidates:
        if c.source not in verdict:
            verdict[c.source] = holds(snapshot.text(c.source), c.language)
        if not verdict[c.source]:
            strength[c.id] = 0


def _hold_to_ordinals(snapshot: Snapshot, query: Query, candidates: list[Candidate], strength: dict) -> None:
    """A candidate whose document never names the question's ordinal ("the second meeting": 2, as "second",
    «второе», "ikkinchi", "2nd" ...) does not speak of the thing asked. The first needs no number: a document
    may speak of a first meeting without calling it so."""
    asked = {n for n in query.ordinals if n > 1}
    if asked:
        _hold_to_documents(
            snapshot, candidates, strength, lambda text, language: bool(ordinals(reading_form(text, language)) & asked)
        )


def _hold_to_numbers(snapshot: Snapshot, query: Query, candidates: list[Candidate], strength: dict) -> None:
    """A candidate whose document never writes a number the question gives ("Who won the 2022 World Cup?",
    "... on 14 May?") does not speak of the thing asked (rule ``numbers``). Digits read alike in every language;
    ordinals ("the 80th session") are rule ``ordinals``'s."""
    asked = given_numbers(query.text)
    if asked:
        _hold_to_documents(snapshot, candidates, strength, lambda text, _language: asked <= numbers_in(text))


def _counts(query: Query, c: Candidate) -> bool:
    """A count question's candidate in the question's language must name what is counted ("800 check-ups" does
    not say how many players). One in another language must name it in its own words when the language files
    know the kind of thing counted ("150 спортсменов" does not say how many experts); else it cannot be held to it."""
    if not query.counted:
        return True
    if c.language != query.language:
        things = counted_things(query.counted)
        return not things or names_counted(c.reading, things)
    return bool(word_stems(query.counted, query.language) & c.analysis.all_stems)


def _cognates(terms) -> set[str]:
    """The first ``COGNATE`` consonants of each cross-script key among ``terms`` (keys are consonants only), and of
    each Latin stem read with a hard c as k: the keys read every c as s, so English "competence", "conference" and
    Uzbek *kompetensiya*, *konferensiya* had no key in common."""
    out = {t[:COGNATE] for t in terms if len(t) >= COGNATE and _CONSONANTS.issuperset(t)}
    for t in terms:
        if "c" in t and script(t) == "latin":
            key = skeleton(_HARD_C.sub("k", t))
            if len(key) >= COGNATE:
                out.add(key[:COGNATE])
    return out


class _Shared:
    """Whether a candidate's document shares anything with the question (rule 7)."""

    def __init__(self, snapshot: Snapshot, query: Query, focus: _Focus):
        self.snapshot = snapshot
        asked: set[str] = set()
        for a in (query.analysis, query.resolved):
            asked |= set(a.stems) | set(a.keys)
        for terms in (*focus.names.values(), *focus.context_names.values()):
            asked |= terms
        self.asked = asked
        self.cognates = _cognates(asked)
        # An acronym, read in Latin letters: too short for a key (RES / РЭС).
        written = {*query.analysis.written, *query.resolved.written}
        self.acronyms = {normalised_spelling(w) for w in written if 2 <= len(w) <= ACRONYM and w.isupper()}
        self._of: dict[str, bool] = {}

    def __call__(self, c: Candidate) -> bool:
        if c.doc_hash not in self._of:
            terms = self.snapshot.document_terms(c.doc_hash)
            self._of[c.doc_hash] = (
                bool(self.asked & terms)
                or bool(self.cognates & _cognates(terms))
                or bool(self.acronyms and self.acronyms & {normalised_spelling(t) for t in terms if len(t) <= ACRONYM})
            )
        return self._of[c.doc_hash]


def _coverage(snapshot: Snapshot, query: Query, focus: _Focus) -> Callable[[Candidate, Analysis | None], float]:
    """The share of the question's content words (idf-weighed) a candidate's sentence, with the one before it,
    holds (rule 8)."""
    asked = []
    for word, stem, key in query.analysis.content_keys:
        terms = {stem, key} | set(focus.names.get(word, ()))
        weight = max(snapshot.lexical.idf(stem), snapshot.skeleton.idf(key), 0.0)
        asked.append((terms, _cognates(terms), weight))
    total = sum(w for _, _, w in asked)

    def share(c: Candidate, before: Analysis | None) -> float:
        if not total:
            return 1.0
        held = set(c.analysis.stems) | set(c.analysis.keys)
        if before is not None:
            held |= set(before.stems) | set(before.keys)
        cognates = _cognates(held)
        return sum(w for terms, cog, w in asked if terms & held or cog & cognates) / total

    return share


# The rules ``qa eval --ablate RULE`` can turn off, one at a time, to measure what each earns (README: "Every rule
# earns its place"). ``no_content`` and ``no_passages`` are not rules but facts, and stay.
RULES = {
    "unknown_words": "3: decline when (almost) none of the question's content words are in the documents",
    "missing_focus": "4: decline when the thing an attribute is asked of is named nowhere in the documents",
    "names_apart": "5: decline when the question's names are in no document together",
    "focus": "4: quote only sentences that speak of the asked-for attribute of the asked-about names",
    "spelt_out": "4, 5, 7: a body's short name is found where a document spells the name out (EU: European Union)",
    "short_keys": "4: a key of three consonants shows a name only in the question's language (SMTI: summit, смета)",
    "ordinals": "4: the second meeting must be numbered so in the sentence's document",
    "numbers": "4: a number the question gives (the 2022 World Cup, 14 May) must be in the sentence's document",
    "places": "4, 5, 7: a place's name is looked for as each language writes it (qa.language.places)",
    "lowercase_places": "4, 5, 7: in a question typed without capitals, a place's name is still a name",
    "unknown_places": "4: decline when the question names a place no document names, in any language",
    "peoples": "4, 5, 7: a people's word names its country (the Uzbek side: Uzbekistan, Узбекистан, Oʻzbekiston)",
    "common_names": "5: a capitalised word the documents also write in lower case (Central, Regional) may be translated elsewhere",
    "month_names": "4: a month's name is a date, not a name the sentence's document must hold (\"on 13 May\")",
    "bodies": "4, 5, 7: a body's short name is looked for as each language writes it (UN / ООН / BMT; qa.language.bodies)",
    "answer_type": "6: quote only sentences that can hold the kind of answer asked for",
    "asked_for": '6: an attribute sets the kind of answer only when asked for (not "Which ministry dealing with employment")',
    "counted_word": "6: a count must be of the counted word",
    "day_span": "6: a span of days (1-2 октября) holds how many days",
    "dateline": "6: a dateline holds no answer",
    "question": "6: a question holds no answer",
    "shared": "7: quote only sentences whose document shares a word, name or number with the question",
    "coverage": "8: quote a sentence in the question's language only if it holds a fifth of what the question asks",
    "coverage_rank": "8: of eligible sentences in the question's language, one holding more of what is asked ranks higher",
    "low_evidence": "9: decline below the calibrated threshold",
    "disagreement": "show a disagreeing sentence of another document beside the answer (qa.answering.disagreement)",
}


def check_rules(names) -> frozenset[str]:
    """The rule names to turn off, checked against ``RULES``."""
    off = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(off - set(RULES))
    if unknown:
        raise ConfigError(f"no decision rule named {', '.join(unknown)}; the rules are: {', '.join(RULES)}")
    return off


def decide(
    snapshot: Snapshot, query: Query, candidates: list[Candidate], tuning: Tuning, off: frozenset[str] = frozenset()
) -> Decision:
    """Answer or decline, and why. ``off``: rules turned off (``RULES``; only ``qa eval --ablate`` does so)."""
    if not query.has_content:
        return Decision(False, NO_CONTENT)
    if not candidates:
        return Decision(False, NO_PASSAGES)
    share_unknown = novelty(snapshot, query)
    if share_unknown >= tuning.max_novelty and "unknown_words" not in off:
        return Decision(False, UNKNOWN_WORDS, candidates[0].score, share_unknown)
    focus = _Focus(
        snapshot,
        query,
        with_places="places" not in off,
        with_bodies="bodies" not in off,
        with_lowercase="lowercase_places" not in off,
        with_months="month_names" not in off,
        with_peoples="peoples" not in off,
        with_common="common_names" not in off,
        with_spelt_out="spelt_out" not in off,
        with_short_keys="short_keys" not in off,
    )
    if focus.subject_absent and "missing_focus" not in off:
        return Decision(False, MISSING_FOCUS, candidates[0].score, share_unknown)
    if "unknown_places" not in off and focus.unknown_places:
        return Decision(False, MISSING_FOCUS, candidates[0].score, share_unknown)
    apart = focus.names_apart(query.language)
    if apart and "names_apart" not in off:
        return Decision(False, NAMES_APART, candidates[0].score, share_unknown, names=apart)
    question_keys = set(query.tokens) | set(query.keys) | set(query.resolved.words)
    days = "day_span" not in off and query.counted is not None and "days" in counted_things(query.counted)
    typed = [
        c
        for c in candidates
        if (
            ("answer_type" in off or can_hold(query.answer_type, c.reading, question_keys))
            and ("counted_word" in off or _counts(query, c))
            or (days and day_span(c.reading))  # "how many days": "1-2 октября"
        )
        and ("dateline" in off or not dateline(c.reading))
        and ("question" in off or not asks(c.reading))
    ]
    analysis_at = {(c.doc_hash, c.position): c.analysis for c in candidates}
    if "focus" in off:
        strength = {c.id: 2 for c in candidates}
    else:
        strength = {c.id: focus.strength(c, analysis_at.get((c.doc_hash, c.position - 1))) for c in candidates}
    if "ordinals" not in off:
        _hold_to_ordinals(snapshot, query, candidates, strength)
    if "numbers" not in off:
        _hold_to_numbers(snapshot, query, candidates, strength)
    if not typed or not any(strength[c.id] for c in typed):
        if not any(strength.values()):
            return Decision(False, MISSING_FOCUS, candidates[0].score, share_unknown)
        reason = COUNT_MISSING if query.answer_type == "count" else WRONG_ANSWER_TYPE
        return Decision(False, reason, candidates[0].score, share_unknown)
    # Where some sentences show the attribute with the names it is asked of, only those may be quoted.
    best_strength = max(strength[c.id] for c in typed)
    eligible = [c for c in typed if strength[c.id] == best_strength]
    if "shared" not in off:
        shared = _Shared(snapshot, query, focus)
        eligible = [c for c in eligible if shared(c)]
        if not eligible:
            return Decision(False, NOTHING_SHARED, candidates[0].score, share_unknown)
    covered = _coverage(snapshot, query, focus)

    def share(c: Candidate) -> float:
        return covered(c, analysis_at.get((c.doc_hash, c.position - 1)))

    if "coverage" not in off:
        eligible = [c for c in eligible if c.language != query.language or share(c) >= tuning.min_coverage]
        if not eligible:
            return Decision(False, LOW_COVERAGE, candidates[0].score, share_unknown)
    confidence = eligible[0].score - tuning.novelty_weight * share_unknown
    if confidence < tuning.found_threshold and "low_evidence" not in off:
        return Decision(False, LOW_EVIDENCE, confidence, share_unknown)
    lift: dict[str, float] = {}
    if "coverage_rank" not in off and tuning.coverage_rank:
        eligible, lift = _rank_by_coverage(eligible, query, share, tuning.coverage_rank)
    return Decision(True, ANSWERED, confidence, share_unknown, eligible, lift=lift)


def _rank_by_coverage(
    eligible: list[Candidate], query: Query, share: Callable[[Candidate], float], weight: float
) -> tuple[list[Candidate], dict[str, float]]:
    """Rule ``coverage_rank``: when the best eligible sentence is in the question's language, the one of that
    language that holds more of what the question asks (rule 8's share) ranks higher: its rank is its score plus
    ``weight`` times that share. A sentence that scores high on what it shares with the question's wording, but
    misses the asked-about words, is the kind a large library brings in. As rule 8, the share judges sentences in
    the question's language only (a translation holds the names, not the words), so no other is lifted. The
    decision's confidence stays the best score: this changes which eligible sentence is quoted, never whether the
    question is answered."""
    if eligible[0].language != query.language:
        return eligible, {}
    lift = {c.id: weight * share(c) for c in eligible if c.language == query.language}
    return sorted(eligible, key=lambda c: c.score + lift.get(c.id, 0.0), reverse=True), lift
