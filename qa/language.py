"""Language detection for ru / en / uz (Latin or Cyrillic script), no model needed.

Short questions are the hard case ("IIJ qachon tashkil etilgan?"), so besides
the script we count function words and letter patterns typical of each
language. Anything else Latin-script falls back to ``en``; other scripts get
``und`` (undetermined).
"""

from __future__ import annotations

import re

from .text import fold_apostrophes


_UZ_CYRILLIC = set("ўқғҳЎҚҒҲ")
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

_UZ_WORDS = {
    "va", "bilan", "uchun", "bo'yicha", "kim", "nima", "qachon", "qayerda", "qaysi", "qanday", "necha",
    "nechta", "qancha", "nega", "kuni", "yil", "yilda", "yili", "bu", "shu", "u", "ular", "uning", "esa",
    "ham", "hamda", "bo'lib", "o'tdi", "etildi", "etilgan", "qilish", "qildi", "tomonidan", "haqida",
    "keyin", "oldin", "bor", "yo'q", "emas", "edi", "ekan", "mi", "kimlar", "nimalar", "qayerga",
    "qaerda", "qatnashdi", "o'tkazildi", "tashkil", "boshqarmasi", "respublikasi", "o'zbekiston",
}
_UZ_SUFFIXES = ("ning", "larni", "lari", "lar", "dagi", "gan", "ishi", "ishga", "ligi", "sida", "dan", "da", "ga", "ni")
_EN_WORDS = {
    "the", "of", "and", "to", "in", "is", "was", "were", "are", "who", "what", "when", "where", "which",
    "how", "why", "did", "does", "do", "with", "for", "on", "at", "by", "from", "that", "this", "its",
    "it", "a", "an", "as", "be", "has", "have", "had", "their", "they", "he", "she", "whom", "many",
    "much", "about", "there", "into",
}


def detect_language(text: str) -> str:
    """Return ``ru``, ``en``, ``uz`` or ``und``."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "und"
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    if cyrillic >= latin:
        if cyrillic == 0:
            return "und"
        return "uz" if any(c in _UZ_CYRILLIC for c in text) else "ru"
    if latin < 0.5 * len(letters):
        return "und"
    words = [w.casefold() for w in _WORD_RE.findall(fold_apostrophes(text))]
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
        if re.search(r"(th|wh|ght|tion|ing\b|ed\b|ly\b|ou|ea|ee|oo)", w):
            en += 0.6
        if w.endswith(("lik", "chi", "siya", "moq", "yapti")):
            uz += 0.5
    return "uz" if uz > en else "en"
