"""Lexical side of retrieval: a tokenizer made for ru / en / uz and a BM25 index.

bm25s's own tokenizer keeps ASCII-ish ``\\w\\w+`` runs and cuts Uzbek words at
apostrophes (O‘zbekiston -> ``zbekiston``), so we tokenise ourselves:
Unicode words, case folding, every apostrophe variant folded to ``'``, and
stemming by script and language (Snowball for Russian and English, a
finite-state lemmatizer for Uzbek).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from qa import language as languages
from qa.language.text import SEARCH_WORD, fold_apostrophes

TOKENIZER_VERSION = "tok-v3"  # v3: the chunks of Uzbek Cyrillic documents are stemmed and keyed in Latin


# Words that carry no content in questions or passages: per language, in ``qa/language``.
STOPWORDS = {code: set(languages.stopwords(code)) for code in languages.codes()}
ALL_STOPWORDS = languages.all_stopwords()


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(language)


@lru_cache(maxsize=65536)
def _stem(word: str, script: str, lang: str) -> str:
    if word.isdigit() or len(word) <= 3:
        return word
    if script == "cyrillic":
        return _stemmer("russian").stemWord(word)
    if lang == "uz":
        import lemmauz

        lemma = lemmauz.fsm_lemmatize(word)
        return lemma or word
    return _stemmer("english").stemWord(word)


def script(word: str) -> str:
    """ "cyrillic" or "latin"."""
    return "cyrillic" if any(languages.is_cyrillic(c) for c in word) else "latin"


def words(text: str) -> list[str]:
    """Unicode words, case-folded, apostrophes folded, hyphenated compounds split."""
    return SEARCH_WORD.findall(fold_apostrophes(text).casefold())


def tokenize(text: str, lang: str, drop_stopwords: bool = True) -> list[str]:
    """Stems for BM25. ``lang`` picks the stemmer for Latin-script words."""
    out = []
    for w in words(text):
        if drop_stopwords and w in ALL_STOPWORDS:
            continue
        w = w.strip("'")
        if not w:
            continue
        out.append(_stem(w, script(w), lang))
    return out


# BM25 as bm25s scores it (method "lucene", k1 1.5, b 0.75, float32 scores): the stored index computes it at
# question time from the listed rows, and a test holds the two equal.
K1 = 1.5
B = 0.75


def idf_of(df: int, size: int) -> float:
    """BM25's (Lucene's) inverse document frequency of a term held by ``df`` of ``size`` rows."""
    return math.log(1 + (size - df + 0.5) / (df + 0.5))


def bm25_scores(tf: np.ndarray, lengths: np.ndarray, df: int, size: int, average: float) -> np.ndarray:
    """Each posting's BM25 score for one term (float32, as bm25s stores them): the term's idf (float32) times
    ``tf / (tf + k1 (1 - b + b length / average))``, in the same order of operations."""
    idf = np.float32(idf_of(df, size))
    norm = K1 * ((1 - B) + B * lengths.astype(np.float64) / np.float64(average))
    return (idf * (tf / (norm + tf))).astype(np.float32)


class LexicalIndex(Protocol):
    """A BM25 index over the chunks' terms, as the answering stages read it (``qa.index.lexicon.ListedIndex``)."""

    size: int

    def knows(self, term: str) -> bool: ...

    def idf(self, term: str) -> float: ...

    def rows_with(self, terms) -> set[int]: ...

    def terms_with_name_key(self, key: str) -> tuple[list[str], list[str]]: ...

    def search(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]: ...


# -- cross-script keys --------------------------------------------------------------------------
# Names and international words are the only lexical bridge between the languages
# (Воронков / Voronkov, Ташкент / Toshkent / Tashkent, семинар / seminar). A key made of
# the transliterated consonants lets BM25 match them across scripts and spellings.

_CYR_TO_LAT = str.maketrans(languages.transliteration())
_LATIN_RULES = (
    ("sh", "s"),
    ("ch", "c"),
    ("zh", "j"),
    ("kh", "h"),
    ("ts", "s"),
    ("x", "h"),
    ("q", "k"),
    ("w", "v"),
    ("c", "s"),
    ("'", ""),
)
SKELETON_VERSION = "skel-v1"


def skeleton(word: str, length: int = 5) -> str:
    """Consonant key of a word, the same for its Cyrillic and Latin spellings (``воронков`` -> ``vrnkv``)."""
    w = word.casefold().translate(_CYR_TO_LAT)
    for a, b in _LATIN_RULES:
        w = w.replace(a, b)
    w = w.replace("h", "")
    consonants = [c for c in w if c.isalpha() and c not in "aeiouy"]
    out: list[str] = []
    for c in consonants:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out[:length])


def normalised_spelling(word: str) -> str:
    """A word in Latin letters with the spelling variants of _LATIN_RULES folded, vowels kept, anything not a
    letter dropped (``Воронкове`` -> ``voronkove``, ``Toshkent`` -> ``toskent``)."""
    w = fold_apostrophes(word).casefold().translate(_CYR_TO_LAT)
    for a, b in _LATIN_RULES:
        w = w.replace(a, b)
    return "".join(c for c in w if c.isalpha())


@lru_cache(maxsize=None)
def name_endings(language: str) -> tuple[str, ...]:
    """The endings a name takes in ``language`` (``name_endings`` in its file: Мальт-е, Toshkent-da, IIJ-ni),
    apostrophes folded, longest first."""
    found = {fold_apostrophes(e).casefold() for e in languages.get(language).get("name_endings", [])}
    return tuple(sorted(found, key=len, reverse=True))


NAME_KEY_LENGTH = 6


def name_key(word: str, minimum: int = NAME_KEY_LENGTH - 1) -> str:
    """A key a person's or place's name keeps in every script and case form, or "" for a short word:
    transliterated, the spelling variants of _LATIN_RULES folded, ``h`` and ``y`` dropped, every vowel made
    ``a``, doubled letters made one, cut to its first NAME_KEY_LENGTH letters (``Ахмедов``, ``Akhmedov``,
    ``Axmedov`` -> ``amadav``; ``Комиловым``, ``Komilovga`` -> ``kamala``; ``Валлетте``, ``Vallettada`` ->
    ``valata``). ``minimum``: the shortest key kept (a stem may have lost the end of a name: ``валлетт``)."""
    w = fold_apostrophes(word).casefold().translate(_CYR_TO_LAT)
    for a, b in _LATIN_RULES:
        w = w.replace(a, b)
    out: list[str] = []
    for c in w:
        if not c.isalpha() or c in "hy":
            continue
        c = "a" if c in "aeiou" else c
        if not out or out[-1] != c:
            out.append(c)
    key = "".join(out[:NAME_KEY_LENGTH])
    return key if len(key) >= minimum and not word.isdigit() else ""


def skeleton_tokens(text: str) -> list[str]:
    keys = []
    for w in words(text):
        if w in ALL_STOPWORDS or len(w) < 4 or w.isdigit():
            continue
        key = skeleton(w)
        if len(key) >= 3:
            keys.append(key)
    return keys
