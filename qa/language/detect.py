"""Language detection for ru / en / uz (Latin or Cyrillic script), no model needed.

Short questions are the hard case ("IIJ qachon tashkil etilgan?"), so besides
the script we count function words and letter patterns typical of each
language. Anything else Latin-script falls back to ``en``; other scripts get
``und`` (undetermined).
"""

from __future__ import annotations

import re

from qa import language as languages
from qa.language.lexical import words as search_words


_UZ = languages.get("uz")
_UZ_CYRILLIC = set(_UZ["cyrillic_letters"])
_UZ_WORDS = set(_UZ["detect_words"])
_UZ_SUFFIXES = tuple(_UZ["detect_suffixes"])
_UZ_STRONG_SUFFIXES = tuple(_UZ["detect_strong_suffixes"])
_UZ_LONG_SUFFIXES = tuple(s for s in _UZ["detect_suffixes"] if len(s) >= 4)  # "-larni", not "-da" (Russian "когда")
_RU_STOPWORDS = languages.stopwords("ru")
_EN = languages.get("en")
_EN_WORDS = set(_EN["detect_words"])
_EN_PATTERN = re.compile("|".join(_EN["detect_patterns"]))


def _uzbek_in_cyrillic(text: str) -> bool:
    """Uzbek written in Cyrillic without its own letters (ў қ ғ ҳ): more of its words, read in Latin, are Uzbek
    function and question words ("СМТИ директори ким?") than are Russian stopwords ("Кто такой Ким Чен Ын?")."""
    words = search_words(text)
    russian = sum(1 for w in words if w in _RU_STOPWORDS)
    latin = search_words(languages.to_latin("uz", text))
    uzbek = sum(1 for w in latin if len(w) >= 3 and w in _UZ_WORDS)
    uzbek += sum(1 for w in latin if len(w) > 5 and w.endswith(_UZ_LONG_SUFFIXES))
    return uzbek > russian


def detect_language(text: str) -> str:
    """Return ``ru``, ``en``, ``uz`` or ``und``."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "und"
    cyrillic = sum(1 for c in letters if languages.is_cyrillic(c))
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    if cyrillic >= latin:
        if cyrillic == 0:
            return "und"
        return "uz" if any(c in _UZ_CYRILLIC for c in text) or _uzbek_in_cyrillic(text) else "ru"
    if latin < 0.5 * len(letters):
        return "und"
    words = search_words(text)
    if not words:
        return "en"
    uz = en = 0.0
    for w in words:
        if w in _EN_WORDS:
            en += 1.5
        if w in _UZ_WORDS:
            uz += 1.5
        if re.search(r"[og]'", w) or w.startswith(("o'", "g'")):
            uz += 1.5
        if "q" in w and "qu" not in w:
            uz += 0.75
        if w.endswith(_UZ_SUFFIXES) and len(w) > 4:
            uz += 0.4
        if _EN_PATTERN.search(w):
            en += 0.6
        if w.endswith(_UZ_STRONG_SUFFIXES):
            uz += 0.5
    return "uz" if uz > en else "en"


def reading_form(text: str, lang: str | None = None) -> str:
    """The text the stages read: a language written in two scripts is read in its Latin one (Uzbek Cyrillic
    "СМТИ директори ким?" is read as "SMTI direktori kim?"), so its words, question words and vectors are the
    ones the language data and the Latin documents use. Anything else as is."""
    lang = lang or detect_language(text)
    if lang not in languages.codes() or not languages.get(lang).get("from_cyrillic"):
        return text  # a language with one script (Russian, English): no letter to count
    if sum(languages.is_cyrillic(c) for c in text) * 2 > sum(c.isalpha() for c in text):
        return languages.to_latin(lang, text)
    return text
