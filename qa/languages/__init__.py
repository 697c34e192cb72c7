"""Language knowledge as data: one JSON file per language (``en.json``, ``ru.json``, ``uz.json``).

Each file holds what the pipeline knows about its language: stopwords, the words that mark a
count or a date question, month names and date units, ordinal suffixes and words, anaphora for
follow-ups, abbreviations that do not end a sentence, letters for the cross-script keys, and the cues
language detection uses. Adding a fourth language is one new file here plus its messages in ``prompts/messages.json``.

Everything is read once; the rest of the code asks this module, never the files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
ORDER = ("en", "ru", "uz")  # the bundled languages, in the order their patterns are combined


@lru_cache(maxsize=1)
def languages() -> dict[str, dict]:
    """Every language file, keyed by its code; the bundled ones first, in ``ORDER``."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(_HERE.glob("*.json"))}
    return {code: found[code] for code in sorted(found, key=lambda c: (ORDER.index(c) if c in ORDER else len(ORDER), c))}


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
