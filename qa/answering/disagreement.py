"""Sources that disagree are shown, not hidden.

When the sentence quoted as the answer and an eligible sentence of another document both speak of the asked-for
attribute or counted thing (the decision stage let both through with the same strength) and both pass the answer
threshold on their
own, but give different answers of the asked-for kind (another year for "when ... founded", another founder for
"who founded", another count), the answer says that the documents disagree and quotes both, each cited. Real
libraries hold an old and a new release, a rumour and its correction, or a planted sentence: the reader decides,
with both in front of them.

Answers are compared by kind: years for a date, counts (numbers that are not dates) for a count, and for a
person, an organisation or a place the names the question does not give, compared across scripts and case forms
by their consonants. Two sentences disagree only when each holds such an answer and they share none.
"""

from __future__ import annotations

import re

from qa.language.analysis import word_stems
from qa.language.answer_types import fold, has_count, names, names_attribute, patterns
from qa.answering.candidates import Candidate
from qa.language.lexical import ALL_STOPWORDS, skeleton
from qa.answering.query import Query
from qa.answering.tuning import Tuning

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
KINDS = ("date", "count", "person", "organisation", "place")


def _name_key(word: str) -> str:
    """A name's key across scripts and case forms: an acronym as written ("=iij"), else its consonants
    (``qa.language.lexical.skeleton``: Tashkent / Toshkentda / Ташкенте share "tsknt" as a beginning)."""
    if word.isupper() and len(word) <= 6:
        return "=" + word.casefold()
    return skeleton(word, length=12)


def _alike(a: str, b: str) -> bool:
    """One key begins the other (a case ending added: "=iij" / "=iijni", "lvs" / "lvsm")."""
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 2 and longer.startswith(shorter)


def answers(query: Query, c: Candidate) -> set[str]:
    """The answers of the asked-for kind a candidate sentence gives (empty when it gives none)."""
    text = c.reading
    if query.answer_type == "date":
        return set(_YEAR.findall(text))
    if query.answer_type == "count":
        if not has_count(text):
            return set()
        undated = patterns()["date_number"].sub(" ", text)
        return {n.replace(",", ".") for n in _NUMBER.findall(undated)}
    question = names(query.reading + " " + query.retrieval_text, skip_first=False)
    asked = [_name_key(w) for w in question] + ["=" + w.casefold() for w in question]  # IIJ in "IIJni"
    asked += [skeleton(w, length=12) for w in query.analysis.words + query.resolved.words]
    found = set()
    for name in names(text, skip_first=False):
        key = _name_key(name)
        if len(key) >= 2 and not any(_alike(key, a) for a in asked if a):
            found.add(key)
    return found


def _conflict(one: set[str], other: set[str], kind: str | None) -> bool:
    """Both give an answer, and none of one's is one of the other's."""
    if not one or not other:
        return False
    if kind in ("date", "count"):
        return not one & other
    return not any(_alike(a, b) for a in one for b in other)


BOUND_REACH = 3  # content words between the asked-for attribute (or counted thing) and a name the question gives


def _bound(query: Query, c: Candidate) -> bool:
    """Whether the sentence says the asked-for attribute (or counted thing) of a name the question gives, within
    ``BOUND_REACH`` content words ("the IIJ was founded by ..."; not "the IIJ commended the Council ... established in
    2024", which dates another body)."""
    content = [w for w in c.analysis.written if fold(w) not in ALL_STOPWORDS]
    counted = word_stems(query.counted, query.language) if query.counted else frozenset()
    anchors = [
        i
        for i, w in enumerate(content)
        if (query.focus and names_attribute(w, query.focus)) or (counted and word_stems(w, c.language) & counted)
    ]
    question = list(query.names) + [n for n in query.context_names if n not in query.names]
    if not question:
        return False  # nothing to tell whose attribute a sentence gives: not the same focus for sure

    def naming(w: str, name: str) -> bool:  # a name as a name: capitalised ("the project" is not "Project X")
        return w[:1].isupper() and any(
            _alike(k, a) for k in (_name_key(w), "=" + w.casefold()) for a in (_name_key(name), "=" + name.casefold())
        )

    # Every name the question gives is in the sentence, and one of them beside the attribute.
    if not all(any(naming(w, name) for w in content) for name in question):
        return False
    named = [i for i, w in enumerate(content) if any(naming(w, name) for name in question)]
    return any(abs(i - j) <= BOUND_REACH for i in anchors for j in named)


def disagreeing(
    query: Query, eligible: list[Candidate], chosen: list[Candidate], tuning: Tuning, novelty: float = 0.0
) -> Candidate | None:
    """The best eligible sentence of another document that passes the threshold on its own and gives another
    answer than the quoted one (None when there is none, or the question asks no attribute of a kind)."""
    if query.answer_type not in KINDS or not (query.focus or query.counted) or not chosen:
        return None  # no attribute asked (nor a counted thing): sentences of other documents speak of other things
    best = chosen[0]
    said = answers(query, best)
    if not said:
        return None
    for c in eligible:
        if c.score - tuning.novelty_weight * novelty < tuning.found_threshold:
            break  # best first: the rest would not be answered on their own either
        if c.doc_hash == best.doc_hash or c.id == best.id:
            continue
        if _conflict(said, answers(query, c), query.answer_type) and _bound(query, c):
            return c
    return None
