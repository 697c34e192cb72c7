"""One text analysis: a text in a language turned once into everything the stages compare.

The question is analysed once (``Query.analysis``, and ``Query.resolved`` for the resolved follow-up) and each
candidate sentence once (``Candidate.analysis``); retrieval, the candidate features and the decision read these
instead of tokenising again. The word shapes and the Cyrillic test used everywhere live here.

- ``written``: the words as written, case, hyphens and apostrophes kept ("O‘zbekiston", "Nyu-York", "IIJni"):
  what names, roles and capitals are read from.
- ``words``: the search words (``qa.language.lexical.words``): folded, apostrophes folded, compounds split,
  numbers kept.
- ``stems``: the content words' stems (stopwords dropped), what BM25 and the overlaps compare; ``all_stems``
  with the stopwords kept.
- ``keys``: the cross-script consonant keys of the content words (Воронков / Voronkov).
- ``terms``: per written word, its stems and the keys long enough to identify a name: how a name of the
  question is found in a sentence of any language or script.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from qa.language.lexical import ALL_STOPWORDS, skeleton, skeleton_tokens, tokenize, words
from qa.language.text import written_words

MIN_NAME_KEY = 4  # cross-script keys of 3 consonants collide too often to identify a name


@dataclass(frozen=True)
class Analysis:
    text: str
    language: str
    stems: tuple[str, ...]
    keys: tuple[str, ...]

    # Computed when first read (most candidates never need them), then kept.

    @cached_property
    def written(self) -> tuple[str, ...]:
        """The words as written: case, hyphens and apostrophes kept."""
        return tuple(written_words(self.text))

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The search words: folded, compounds split, numbers kept."""
        return tuple(words(self.text))

    @cached_property
    def all_stems(self) -> frozenset[str]:
        """The stems of every word, stopwords kept."""
        return frozenset(tokenize(self.text, self.language, drop_stopwords=False))

    @cached_property
    def terms(self) -> tuple[frozenset[str], ...]:
        """One per ``written`` word: its stems and the keys long enough to identify a name."""
        return tuple(word_terms(w, self.language) for w in self.written)

    @cached_property
    def content_words(self) -> list[str]:
        """The search words that carry content: not a stopword, not a number, at least 4 letters."""
        return [w for w in self.words if w not in ALL_STOPWORDS and len(w) >= 4 and not w.isdigit()]

    @property
    def has_content(self) -> bool:
        return any(not w.isdigit() and w not in ALL_STOPWORDS for w in self.words)

    @cached_property
    def content_keys(self) -> list[tuple[str, str, str]]:
        """(word, its first stem, its cross-script key) of each content word: what tells whether the documents
        know it."""
        out = []
        for w in self.content_words:
            stems = tokenize(w, self.language, drop_stopwords=False)
            out.append((w, stems[0] if stems else w, skeleton(w)))
        return out

    def terms_of(self, word: str) -> frozenset[str]:
        """The terms of one of its written words (computed, for a word it does not hold)."""
        for w, t in zip(self.written, self.terms):
            if w == word:
                return t
        return word_terms(word, self.language)


def analyse(text: str, language: str) -> Analysis:
    """``text`` (already in its reading form: Uzbek Cyrillic read in Latin) analysed for ``language``."""
    return Analysis(
        text=text,
        language=language,
        stems=tuple(tokenize(text, language)),
        keys=tuple(skeleton_tokens(text)),
    )


@lru_cache(maxsize=65536)
def word_stems(word: str, language: str) -> frozenset[str]:
    """A word's stems (a hyphenated or apostrophised word may have more than one), stopwords kept."""
    return frozenset(tokenize(word, language, drop_stopwords=False))


@lru_cache(maxsize=65536)
def word_terms(word: str, language: str) -> frozenset[str]:
    """A word's stems and its cross-script keys long enough to identify it."""
    keys = {skeleton(w) for w in words(word)} | set(skeleton_tokens(word))
    return word_stems(word, language) | frozenset(k for k in keys if len(k) >= MIN_NAME_KEY)
