"""Checks a written answer must pass before it is shown: one function, ``check``, and its reasons.

A written answer is kept only if

1. every sentence of it carries a marker ``[n]`` (``unmarked_sentence``) to a sentence it was given
   (``unknown_marker``);
2. every number in a sentence occurs in the sentences its markers cite, or in the question
   (``unsupported_number``); a month named must be a month of those sentences (``unsupported_date``);
3. every name in a sentence (a capitalised word not opening it, the word opening it when a capitalised word follows,
   an acronym) occurs in the sentences it cites or in
   the question, compared by stem, across scripts by the transliterated consonant keys
   (``Воронков`` / ``Voronkov``), and by prefix of those keys for inflected forms (``Мальте`` / ``Malta``)
   (``unsupported_name``);
4. it is in the asker's language (``wrong_language``); an answer with no letters ("2014 [1]") has none;
5. it keeps the answer the quote gives (``drops_the_answer``): where the quoted sentences hold numbers or names
   the question does not give (a date for "when", a name for "who"), the written answer must carry one of them
   (across scripts), and for "when" a day kept from the quote comes with the quote's month; where they hold
   none, it must cite a quoted sentence. The decision stage and the extractive
   reader chose the quote on calibrated scores; a written answer may phrase it in the asker's language, not
   replace it with another sentence's claim.

Whatever is not checked (a paraphrase's meaning) is why the quote stays beside the written answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .answer_types import months as _months, names
from .language import detect_language
from .lexical import ALL_STOPWORDS, skeleton, tokenize, words
from .text import fold_apostrophes

OK = "kept"
UNMARKED_SENTENCE = "unmarked_sentence"
UNKNOWN_MARKER = "unknown_marker"
UNSUPPORTED_NUMBER = "unsupported_number"
UNSUPPORTED_DATE = "unsupported_date"
UNSUPPORTED_NAME = "unsupported_name"
WRONG_LANGUAGE = "wrong_language"
DROPS_THE_ANSWER = "drops_the_answer"
EMPTY = "empty"

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_TRAILING_MARKERS = re.compile(r"([.!?…]+)\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")
_SPLIT = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=\S)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MIN_KEY = 3  # consonant keys compared in a few cited sentences, not a whole library: 3 letters are enough


@dataclass
class Check:
    reason: str  # OK or why the answer was rejected
    detail: str = ""
    cited: tuple[int, ...] = ()  # the sentence numbers the markers point to, in order of first use

    @property
    def ok(self) -> bool:
        return self.reason == OK


def markers(text: str) -> list[int]:
    out: list[int] = []
    for m in MARKER.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in out:
                out.append(int(n))
    return out


def sentences(text: str) -> list[str]:
    """The answer's sentences; a run of markers after a full stop belongs to the sentence before it
    ("It was 2014. [1] It was" -> "It was 2014 [1].", "It was")."""
    text = _TRAILING_MARKERS.sub(lambda m: " " + " ".join(m.group(2).split()) + m.group(1) + " ", text.strip())
    parts = [p.strip() for p in _SPLIT.split(text.strip()) if p.strip()]
    out: list[str] = []
    for p in parts:
        if out and not MARKER.sub("", p).strip(" .;,"):
            out[-1] += " " + p
        else:
            out.append(p)
    return out


def _numbers(text: str) -> set[float]:
    text = re.sub(r"(?<=\d)[\s\u00a0\u202f,.](?=\d{3}(?!\d))", "", text)  # 2 000 / 2,000 -> 2000
    return {float(n.replace(",", ".")) for n in _NUMBER.findall(text)}


def _keys(word: str) -> set[str]:
    return {k for k in (skeleton(w, length=12) for w in words(word)) if len(k) >= _MIN_KEY}


_OPENING_PAIR = re.compile(r"^[\W\d_]*([^\W\d_][\w'‘’ʻʼ`-]*)\s+([^\W\d_])")


def _opening_name(sentence: str) -> list[str]:
    """The word that opens a sentence, when a capitalised word follows it: the first name of a person ("Альберт
    Арипов", "Vladimir Voronkov"), which ``names`` passes over as capitalised only for opening the sentence."""
    m = _OPENING_PAIR.match(sentence)
    if m and m.group(1)[:1].isupper() and m.group(2).isupper() and len(m.group(1)) >= 2:
        return [m.group(1)]
    return []


def _name_supported(name: str, language: str, stems: set[str], keys: set[str], folded: str) -> bool:
    if name.casefold() in folded:
        return True
    if set(tokenize(name, language, drop_stopwords=False)) & stems:
        return True
    if len(name) <= 3 and name.isupper():  # a short acronym: only as written (UN is not "un-")
        return False
    for k in _keys(name):
        for other in keys:
            shorter, longer = sorted((k, other), key=len)
            if longer.startswith(shorter) and len(shorter) >= max(_MIN_KEY, len(longer) - 3):
                return True
    return False


class _Evidence:
    """What a set of cited sentences (plus the question) can support: numbers, months, name terms."""

    def __init__(self, texts: list[tuple[str, str]], question: str, question_language: str):
        joined = " ".join(t for t, _ in texts)
        self.numbers = _numbers(joined) | _numbers(question)
        self.months = _months(joined) | _months(question)
        self.stems: set[str] = set(tokenize(question, question_language, drop_stopwords=False))
        for text, lang in texts:
            self.stems |= set(tokenize(text, lang, drop_stopwords=False))
        self.keys = set().union(*(_keys(w) for w in words(joined + " " + question)))
        self.folded = fold_apostrophes(joined + " " + question).casefold()


@lru_cache(maxsize=None)
def _language_words() -> frozenset[str]:
    """Month and language names, which are not names to look for in the evidence."""
    from .prompts import messages

    out = set()
    for table in messages()["language_names"].values():
        out |= {fold_apostrophes(v).casefold() for v in table.values()}
    return frozenset(out)


def check(text: str, given: dict[int, tuple[str, str]], question: str, language: str,
          quoted: list[int] | None = None, answer_type: str | None = None) -> Check:
    """``given``: sentence number -> (text, language) of the sentences the model was shown; ``quoted``: the numbers
    of those the extractive reader quoted (the written answer must keep their answer, rule 5)."""
    text = (text or "").strip()
    if not MARKER.sub("", text).strip(" .;,"):
        return Check(EMPTY, "the model wrote no answer")
    cited_all = markers(text)
    unknown = [n for n in cited_all if n not in given]
    if unknown:
        return Check(UNKNOWN_MARKER, f"marker [{unknown[0]}] points to no sentence it was given (1-{len(given)})")
    skip = _language_words()
    for sentence in sentences(text):
        cited = markers(sentence)
        bare = MARKER.sub("", sentence).strip()
        if not cited:
            return Check(UNMARKED_SENTENCE, f"no marker on “{_short(bare)}”", tuple(cited_all))
        evidence = _Evidence([given[n] for n in cited], question, language)
        for n in sorted(_numbers(bare) - evidence.numbers):
            return Check(UNSUPPORTED_NUMBER, f"{_fmt(n)} is not in the cited sentences {_list(cited)}", tuple(cited_all))
        for month in sorted(_months(bare) - evidence.months):
            return Check(UNSUPPORTED_DATE, f"month {month} is not in the cited sentences {_list(cited)}", tuple(cited_all))
        for name in names(bare) + _opening_name(bare):
            w = fold_apostrophes(name).casefold()
            if w in ALL_STOPWORDS or w in skip or _months(name):
                continue
            if not _name_supported(name, language, evidence.stems, evidence.keys, evidence.folded):
                return Check(UNSUPPORTED_NAME, f"“{name}” is not in the cited sentences {_list(cited)}", tuple(cited_all))
    plain = MARKER.sub("", text)
    found = detect_language(plain)
    if found not in ("und", language):
        return Check(WRONG_LANGUAGE, f"written in {found}, asked in {language}", tuple(cited_all))
    if quoted is not None:
        missing = _dropped_answer(plain, cited_all, quoted, [given[n] for n in quoted], question, language, answer_type)
        if missing:
            return Check(DROPS_THE_ANSWER, missing, tuple(cited_all))
    return Check(OK, "", tuple(cited_all))


def _dropped_answer(plain: str, cited: list[int], quoted: list[int], quote: list[tuple[str, str]], question: str,
                    language: str, answer_type: str | None) -> str:
    """What of the quote's answer the written one lacks ("" when it keeps it)."""
    asked = _Evidence([], question, language)
    numbers = _numbers(" ".join(t for t, _ in quote)) - asked.numbers
    quote_names = []
    for text, lang in quote:
        for name in names(text, skip_first=False):
            w = fold_apostrophes(name).casefold()
            if w in ALL_STOPWORDS or _months(name):
                continue
            if not _name_supported(name, lang, asked.stems, asked.keys, asked.folded):
                quote_names.append((name, lang))
    if answer_type in ("date", "count"):
        wanted = "numbers"
    elif answer_type in ("person", "organisation", "place"):
        wanted = "names"
    else:
        wanted = "either"
    written = _Evidence([(plain, language)], "", language)
    has_number = bool(numbers & written.numbers)
    has_name = any(_name_supported(n, language, written.stems, written.keys, written.folded) or
                   _name_supported(n, lang, written.stems, written.keys, written.folded) for n, lang in quote_names)
    if wanted == "numbers" and numbers:
        if not has_number:
            return f"none of the quote's numbers ({', '.join(str(_fmt(n)) for n in sorted(numbers))})"
        if answer_type == "date":
            # "1-2 oktobr" for "1-2 октября": the days are kept, their month lost (or misspelt past recognition).
            for text, _ in quote:
                months = _months(text) - asked.months
                days = {n for n in _numbers(text) - asked.numbers if 1 <= n <= 31 and n == int(n)}
                if months and days & written.numbers and not months & written.months:
                    return f"the quote's month ({', '.join(map(str, sorted(months)))}) is not named with its day"
        return ""
    if wanted == "names" and quote_names:
        return "" if has_name else f"none of the quote's names ({', '.join(n for n, _ in quote_names[:4])})"
    if numbers or quote_names:
        return "" if has_number or has_name else "neither a number nor a name of the quote"
    return "" if set(cited) & set(quoted) else "it cites none of the quoted sentences"


def _fmt(n: float):
    return int(n) if n == int(n) else n


def _list(numbers: list[int]) -> str:
    return ", ".join(f"[{n}]" for n in numbers)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
