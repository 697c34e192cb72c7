"""International bodies across languages: UN = ООН = BMT, OSCE = ОБСЕ = YEXHT.

A body's short name is made from its name in each language, so no stem or cross-script key ties the three
(``qa.language.places`` does the same for places, whose names CLDR gives). A question naming the UN holds a
document to it (``qa.answering.decision``: rules 4, 5 and 7); without this table an Uzbek document on the BMT's
meeting in Tashkent did not name the UN, and "Which UN office organised the Tashkent conference?" was declined as
naming things no document holds together once other documents wrote "UN".

The table (``data/bodies.json``) is written by hand; ``python -m qa.language.bodies FOLDER`` counts each form in
the text files of a folder by their language (the real-text library of ``qa eval --distractors``, kept in the
evaluation home's ``distractors/``), the check that each is how that language writes the body.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa.language.analysis import word_terms
from qa.language.lexical import name_endings
from qa.language.text import fold_apostrophes, written_words

BODIES_FILE = Path(__file__).resolve().parent / "data" / "bodies.json"
LANGUAGES = ("en", "ru", "uz")


@lru_cache(maxsize=1)
def bodies() -> list[dict[str, Any]]:
    """Every body: language code -> its short names there; ``spelt``: language code -> the telling word of its full
    name there."""
    return json.loads(BODIES_FILE.read_text(encoding="utf-8"))["bodies"]


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, dict[str, int]], list[dict[str, frozenset[str]]]]:
    """(language -> short name, case folded -> body; per body, language -> the terms its documents show it by)."""
    forms: dict[str, dict[str, int]] = {lang: {} for lang in LANGUAGES}
    shown = []
    for i, entry in enumerate(bodies()):
        shown.append(
            {lang: frozenset().union(*(word_terms(f, lang) for f in entry.get(lang, ()))) for lang in LANGUAGES}
        )
        for lang in LANGUAGES:
            for form in entry.get(lang, ()):
                forms[lang][form.casefold()] = i
    return forms, shown


@lru_cache(maxsize=None)
def _endings(language: str) -> frozenset[str]:
    return frozenset(name_endings(language))


def _match(word: str, language: str) -> tuple[int, str] | None:
    """(body, its short name as matched, case folded) for a word naming one in ``language``; else None."""
    if language not in LANGUAGES:
        return None
    forms, _ = _index()
    letters = fold_apostrophes(word)
    for n in range(len(letters), 1, -1):
        head, rest = letters[:n], letters[n:]
        if head != head.upper() or head.casefold() not in forms[language]:
            continue
        if not rest or rest.casefold() in _endings(language):
            return forms[language][head.casefold()], head.casefold()
    return None


def body(word: str, language: str) -> int | None:
    """The body ``word`` names in ``language``: its short name in capitals, alone or with a case ending (BMTning,
    UN's); None for any other word ("who" is not the WHO)."""
    found = _match(word, language)
    return found[0] if found else None


def equivalents(written: Sequence[str], language: str, spelt: bool = True) -> dict[str, frozenset[str]]:
    """For each word of ``written`` (a question's words as written, in ``language``) that names a body, the terms
    by which the other languages' documents show it, and with ``spelt`` those by which a document of any language
    that spells the name out shows it (rule ``spelt_out``: "EU" in a document writing "European Union")."""
    out: dict[str, frozenset[str]] = {}
    for word in written:
        i = body(word, language)
        if i is not None:
            shown = _index()[1][i]
            terms = frozenset().union(*(shown[lang] for lang in LANGUAGES if lang != language))
            out[word] = terms | _spelt(i) if spelt else terms
    return out


@lru_cache(maxsize=None)
def _spelt(i: int) -> frozenset[str]:
    """The terms of the telling word of body ``i``'s full name, in every language (``spelt`` in the table)."""
    spelt: dict[str, list[str]] = bodies()[i].get("spelt", {})
    return frozenset().union(*(word_terms(f, lang) for lang in LANGUAGES for f in spelt.get(lang, ())))


def count(folder: Path) -> dict[tuple[str, str], int]:
    """How often each short name occurs in the text files of ``folder``, counted in the files of its language."""
    from qa.language.detect import detect_language, reading_form  # only for the count

    counts: Counter = Counter()
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        language = detect_language(text)
        if language not in LANGUAGES:
            continue
        for word in written_words(reading_form(text, language)):
            found = _match(word, language)
            if found is not None:
                counts[(language, found[1])] += 1
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m qa.language.bodies FOLDER  (counts each short name in FOLDER's text files)")
        return 2
    found = count(Path(argv[0]))
    for entry in bodies():
        cells = [
            f"{form} {found.get((lang, form.casefold()), 0)}" for lang in LANGUAGES for form in entry.get(lang, ())
        ]
        print(" | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
