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


class LexicalIndex:
    """BM25 (bm25s) over pre-tokenised texts, plus per-term idf for overlap scores."""

    def __init__(self, token_lists: list[list[str]]):
        import bm25s

        self.size = len(token_lists)
        self._df: dict[str, int] = {}
        for tokens in token_lists:
            for t in set(tokens):
                self._df[t] = self._df.get(t, 0) + 1
        self._vocab = {t: i for i, t in enumerate(sorted(self._df))}
        self._bm25 = bm25s.BM25()
        if self.size:
            ids = [[self._vocab[t] for t in tokens] for tokens in token_lists]
            self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=self._vocab), show_progress=False)

    def knows(self, term: str) -> bool:
        return term in self._df

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def rows_with(self, terms) -> set[int]:
        """The rows holding any of ``terms``."""
        known = [self._vocab[t] for t in set(terms) if t in self._vocab]
        if not known or not self.size:
            return set()
        import numpy as np

        found: set[int] = set()
        for term in known:  # one term at a time: a row's BM25 score for a term it holds is above 0
            found.update(int(i) for i in np.flatnonzero(self._bm25.get_scores([term])))
        return found

    def terms_with_name_key(self, key: str) -> tuple[list[str], list[str]]:
        """The terms whose ``name_key`` is ``key``, and those whose shorter key begins it (stemming cut them
        short: ``валлетт`` for ``Valletta``); the vocabulary is keyed once, when first asked."""
        by_key = getattr(self, "_by_name_key", None)
        if by_key is None:
            by_key = {}
            for term in self._df:
                k = name_key(term)
                if k:
                    by_key.setdefault(k, []).append(term)
            self._by_name_key = by_key
        if not key:
            return [], []
        shorter = [t for n in range(NAME_KEY_LENGTH - 1, len(key)) for t in by_key.get(key[:n], [])]
        return list(by_key.get(key, [])), shorter

    def search(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """(row, score) best first; rows with score 0 are left out."""
        known = [self._vocab[t] for t in query_tokens if t in self._vocab]
        if not known or not self.size:
            return []
        import numpy as np

        scores = self._bm25.get_scores(known)
        k = min(k, self.size)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


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
