"""Place names across languages: Kazakhstan = Казахстан = Qozogʻiston, Vienna = Вена = Vena.

A name the question gives is looked for in a sentence of another language by its stems and cross-script keys
(``qa.language.analysis.word_terms``); that finds a name spelt alike (Воронков / Voronkov, Ташкент / Tashkent)
but not one each language writes its own way (Qozogʻiston, Вена, Yevropa Ittifoqi). The decision then cannot
check such a name in a document of another language, and lets any sentence of that language through
(``qa.answering.decision``, rule 4). This table gives the other languages' spellings of countries, regions and
cities, so that the name can be checked there too.

The table is Unicode CLDR's, as the Babel package ships it: territory names and time-zone exemplar cities in
English, Russian and Uzbek (Latin; Uzbek Cyrillic is read in Latin). ``python -m qa.language.places --write``
makes ``data/places.json`` from an installed Babel (``pip install -e ".[places]"``); answering reads only the file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from qa import language as languages
from qa.language.analysis import word_terms
from qa.language.lexical import name_endings
from qa.language.text import fold_apostrophes, written_words

PLACES_FILE = Path(__file__).resolve().parent / "data" / "places.json"
LANGUAGES = ("en", "ru", "uz")


@lru_cache(maxsize=1)
def places() -> list[dict[str, str]]:
    """Every place: language code -> its name there (each entry has every language of ``LANGUAGES``)."""
    return json.loads(PLACES_FILE.read_text(encoding="utf-8"))["places"]


def _folded(word: str) -> str:
    """A word as place names are compared: case and apostrophes folded away ("Ozbekistondagi" as typed for
    O‘zbekistondagi)."""
    return fold_apostrophes(word).casefold().replace("'", "")


_ADJECTIVE = ("ий", "ый", "ой", "ая", "яя", "ое", "ее")  # Европейский союз: Европейского союза


def _bases(folded: str) -> tuple[str, ...]:
    """What a word of a place's name may be cut to before an ending: itself, less a final vowel (Вен-е for Вена),
    less an adjective's ending (Европейск-ого for Европейский); three letters at least."""
    cut = [folded]
    if folded[-1:] in "aeiouyаеёиоуыэюяь":
        cut.append(folded[:-1])
    if folded[-2:] in _ADJECTIVE:
        cut.append(folded[:-2])
    return tuple(dict.fromkeys(b for b in cut if len(b) >= 3))


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, dict[str, list[tuple[int, list[tuple[str, tuple[str, ...]]]]]]], list[dict]]:
    """(language -> first letter -> [(place, its name's words: each folded, with its bases)]; per place, language
    -> the terms a sentence of that language shows the place by).

    A one-word name is shown by its word. Of a longer name only its capitalised words that no other place's name
    in that language has (of "Markaziy Osiyo", neither: "Markaziy Amerika", "Sharqiy Osiyo") are its terms:
    "Организация" of the United Nations' Russian name would hold every document on any organisation to it."""
    table = [{lang: written_words(entry[lang]) for lang in LANGUAGES} for entry in places()]
    counts = {lang: Counter(f for entry in table for f in {w.casefold() for w in entry[lang]}) for lang in LANGUAGES}
    named: dict[str, dict[str, list]] = {lang: {} for lang in LANGUAGES}
    shown: list[dict[str, frozenset[str]]] = []
    for i, entry in enumerate(table):
        per: dict[str, frozenset[str]] = {}
        for lang, ws in entry.items():
            folded = [(f, _bases(f)) for f in map(_folded, ws)]
            if folded:  # by the first letter, which no ending changes
                named[lang].setdefault(folded[0][0][:1], []).append((i, folded))
            keep = ws if len(ws) == 1 else [w for w in ws if w[:1].isupper() and counts[lang][w.casefold()] == 1]
            per[lang] = frozenset().union(*(word_terms(w, lang) for w in keep))
        shown.append(per)
    return named, shown


@lru_cache(maxsize=None)
def _endings(language: str) -> frozenset[str]:
    """What may follow a place's name in a word of it: a case ending (``name_endings``: Qozogʻiston-da,
    Казахстан-е) or a people's or adjective's (``demonym_suffixes``: Iraq-i, Jordan-ian)."""
    return frozenset(name_endings(language)) | frozenset(languages.get(language).get("demonym_suffixes", ()))


@lru_cache(maxsize=None)
def _country_suffixes(language: str) -> tuple[str, ...]:
    """What a country's name adds to its people's word (``country_suffixes``: Uzbek-istan, Казах-стан, Oʻzbek-iston)."""
    return tuple(_folded(s) for s in languages.get(language).get("country_suffixes", ()))


LOWERCASE_PLACE = 4  # the shortest place name read as one in lower case (Oslo, Iraq; not Nom: *nomi*, "its name")
PEOPLE = 4  # the shortest people's word read off a country's name (Afghan, Tajik; not "Paki" of Pakistan's "Pokiston")


def _same_word(word: str, name: tuple[str, tuple[str, ...]], language: str, peoples: bool = True) -> bool:
    """``word`` (of a question, folded) is ``name`` (a word of a place's name, folded, with its bases), in a case
    form or as its people's word: the name, or one of its bases and an ending (Iraqi, Казахстане, Qozogʻistonda,
    Вене for Вена, Европейского for Европейский), or, with ``peoples``, a country's name less its
    ``country_suffixes`` (Uzbek, Uzbeks for Uzbekistan: "the Uzbek delegation" is Uzbekistan's). Not the same
    stem: Porter's stems make "Resolution" the Canadian town Resolute."""
    folded, bases = name
    if word == folded or any(word.startswith(base) and word[len(base) :] in _endings(language) for base in bases):
        return True
    if not peoples:
        return False
    for suffix in _country_suffixes(language):
        people = folded[: -len(suffix)]
        if folded.endswith(suffix) and len(people) >= PEOPLE and word.startswith(people):
            rest = word[len(people) :]
            if not rest or rest in _endings(language):
                return True
    return False


def equivalents(
    written: Sequence[str], language: str, lowercase: bool = False, peoples: bool = True
) -> dict[str, frozenset[str]]:
    """For each word of ``written`` (a question's words as written, in ``language``) that is part of a place's
    name in that language, the terms by which the other languages' documents show the place. A place's name is
    capitalised, unless ``lowercase`` (a question typed without capitals: "where is uzbekistans capital"); with
    ``peoples``, a people's word names its country ("the Uzbek side")."""
    if language not in LANGUAGES:
        return {}
    named, shown = _index()
    folded = [_folded(w) for w in written]
    out: dict[str, frozenset[str]] = {}
    for i, word in enumerate(written):
        if not word[:1].isupper() and not (lowercase and word[:1].isalpha()):
            continue
        for place, ws in named[language].get(folded[i][:1], ()):
            if not word[:1].isupper() and sum(len(f) for f, _ in ws) < LOWERCASE_PLACE:
                continue  # "nomi" (name, in Uzbek) is not Nome, Alaska, in a question typed without capitals
            span = folded[i : i + len(ws)]
            if len(span) < len(ws) or not all(_same_word(a, b, language, peoples) for a, b in zip(span, ws)):
                continue
            terms = frozenset().union(*(shown[place][lang] for lang in LANGUAGES if lang != language))
            for w in written[i : i + len(ws)]:
                out[w] = out.get(w, frozenset()) | terms
    return out


# -- making the file from Babel ----------------------------------------------------------------------------------


def _clean(name: str) -> str:
    """ "Congo (DRC)" -> "Congo"; "Конго - Киншаса" -> "Конго"."""
    return name.split(" (")[0].split(" - ")[0].split(" – ")[0].strip()


def build() -> list[dict[str, str]]:
    """The places from an installed Babel: territories (countries and regions) and time-zone exemplar cities
    that CLDR names in Russian and Uzbek (the English name of a city is its zone's, "Asia/Tashkent")."""
    from babel import Locale  # only for writing the file

    locales = {lang: Locale.parse(lang) for lang in LANGUAGES}
    out: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()

    def add(entry: dict[str, str]) -> None:
        entry = {lang: _clean(entry[lang]) for lang in LANGUAGES}
        key = tuple(entry[lang].casefold() for lang in LANGUAGES)
        if all(entry.values()) and key not in seen:
            seen.add(key)
            out.append(entry)

    en = locales["en"].territories
    for code in sorted(en):
        names = {lang: locales[lang].territories.get(code, "") for lang in LANGUAGES}
        if code.isdigit() and code == "001":  # "world"
            continue
        add(names)
    for zone in sorted(locales["ru"].time_zones):
        parts = zone.split("/")
        if len(parts) != 2 or parts[0] in ("Etc", "Antarctica"):
            continue  # "America/North_Dakota/Center": a county seat, and its name is a common word
        names = {lang: locales[lang].time_zones.get(zone, {}).get("city", "") for lang in ("ru", "uz")}
        names["en"] = locales["en"].time_zones.get(zone, {}).get("city", "") or parts[1].replace("_", " ")
        add(names)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    table = build()
    text = json.dumps(
        {"source": "Unicode CLDR via Babel: territories and time-zone exemplar cities", "places": table},
        ensure_ascii=False,
        indent=0,
    )
    if "--write" in argv:
        PLACES_FILE.parent.mkdir(exist_ok=True)
        PLACES_FILE.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {len(table)} places to {PLACES_FILE}")
    else:
        print(f"{len(table)} places (add --write to write {PLACES_FILE})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
