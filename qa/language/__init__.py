"""Language knowledge as data: one JSON file per language (``en.json``, ``ru.json``, ``uz.json``).

Each file holds what the pipeline knows about its language: stopwords, the words that mark a
count or a date question, month names and date units, ordinal suffixes and words, anaphora for
follow-ups, abbreviations that do not end a sentence, letters for the cross-script keys, and the cues
language detection uses. Adding a fourth language is one new file here plus its messages in ``prompts/messages.json``.

Everything is read once; the rest of the code asks this module, never the files.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
ORDER = ("en", "ru", "uz")  # the bundled languages, in the order their patterns are combined


@lru_cache(maxsize=1)
def languages() -> dict[str, dict]:
    """Every language file, keyed by its code; the bundled ones first, in ``ORDER``."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(_HERE.glob("*.json"))}
    return {
        code: found[code] for code in sorted(found, key=lambda c: (ORDER.index(c) if c in ORDER else len(ORDER), c))
    }


def codes() -> tuple[str, ...]:
    return tuple(languages())


def get(code: str) -> dict:
    return languages().get(code) or languages()["en"]


def union(key: str) -> list:
    """The ``key`` lists of every language, concatenated in language order (duplicates kept once)."""
    out: list = []
    for data in languages().values():
        for value in data.get(key, []):
            if value not in out:
                out.append(value)
    return out


@lru_cache(maxsize=None)
def stopwords(code: str) -> frozenset[str]:
    return frozenset(get(code).get("stopwords", []))


@lru_cache(maxsize=1)
def all_stopwords() -> frozenset[str]:
    return frozenset(union("stopwords"))


@lru_cache(maxsize=1)
def transliteration() -> dict[str, str]:
    """Cyrillic letters of every language to Latin, for the cross-script keys."""
    table: dict[str, str] = {}
    for data in languages().values():
        table.update(data.get("transliteration", {}))
    return table


_CYRILLIC_FIRST, _CYRILLIC_LAST = "\u0400", "\u04ff"  # the Cyrillic block: the one test of "is this Cyrillic"
_CYRILLIC_WORD = re.compile(f"[{_CYRILLIC_FIRST}-{_CYRILLIC_LAST}]+")


def is_cyrillic(char: str) -> bool:
    return _CYRILLIC_FIRST <= char <= _CYRILLIC_LAST


def cyrillic_share(text: str) -> tuple[int, int]:
    """(Cyrillic letters, all letters) of ``text``."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if is_cyrillic(c)), len(letters)


def to_latin(code: str, text: str) -> str:
    """``text`` in the Latin script of a language written in both (``from_cyrillic`` in its file), else as is.

    Uzbek: "Йўл харитаси нималарни назарда тутади?" -> "Yo‘l xaritasi nimalarni nazarda tutadi?".
    A word in capitals stays in capitals ("ШАВКАТ" -> "SHAVKAT").
    """
    table = get(code).get("from_cyrillic") if code in languages() else None
    if not table:
        return text
    letters, special, vowels = table["letters"], table.get("after_vowel_or_initial", {}), table.get("vowels", "")

    def word(match) -> str:
        w = match.group(0)
        out = []
        for i, ch in enumerate(w):
            if ch in special and (i == 0 or w[i - 1].lower() in vowels):
                out.append(special[ch])
            else:
                out.append(letters.get(ch, ch))
        latin = "".join(out)
        return latin.upper() if len(w) > 1 and w.isupper() else latin

    return _CYRILLIC_WORD.sub(word, text)
