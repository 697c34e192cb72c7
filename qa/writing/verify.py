"""Checks a written answer must pass before it is shown: one function, ``check``, and its reasons.

A written answer is kept only if

1. every sentence of it carries a marker ``[n]`` (``unmarked_sentence``) to a sentence it was given
   (``unknown_marker``);
2. every number in a sentence occurs in the sentences its markers cite, or in the question
   (``unsupported_number``); a month named must be a month of those sentences (``unsupported_date``);
3. every name in a sentence (a capitalised word not opening it, the word opening it when a capitalised word follows,
   an acronym) is a form of a word of the sentences it cites or of the question (``unsupported_name``): the two
   are one base with an ending of each one's language (``name_endings`` in the language files: "Мальте" and
   "Malta", "Toshkentda" and "Tashkent", "Воронковым" and "Voronkov"), compared across scripts by the
   transliterated consonants and whether the base ends in a vowel; and it is not a cited word cut short
   ("Astan" for "Astana": what the cited word has beyond it is no ending of its language) nor lengthened;
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

from qa import language as languages
from qa.answering.results import Status
from qa.language.answer_types import months as _months
from qa.language.answer_types import names
from qa.language.detect import detect_language, reading_form
from qa.language.lexical import ALL_STOPWORDS, name_endings, normalised_spelling, script, skeleton, words
from qa.language.text import fold_apostrophes
from qa.prompts import messages

OK = Status.KEPT
UNMARKED_SENTENCE = Status.UNMARKED_SENTENCE
UNKNOWN_MARKER = Status.UNKNOWN_MARKER
UNSUPPORTED_NUMBER = Status.UNSUPPORTED_NUMBER
UNSUPPORTED_DATE = Status.UNSUPPORTED_DATE
UNSUPPORTED_NAME = Status.UNSUPPORTED_NAME
WRONG_LANGUAGE = Status.WRONG_LANGUAGE
DROPS_THE_ANSWER = Status.DROPS_THE_ANSWER
EMPTY = Status.EMPTY

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_TRAILING_MARKERS = re.compile(r"([.!?…]+)\s*((?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)")
_SPLIT = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=\S)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


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


_OPENING_PAIR = re.compile(r"^[\W\d_]*([^\W\d_][\w'‘’ʻʼ`-]*)\s+([^\W\d_])")


def _opening_name(sentence: str) -> list[str]:
    """The word that opens a sentence, when a capitalised word follows it: the first name of a person ("Альберт
    Арипов", "Vladimir Voronkov"), which ``names`` passes over as capitalised only for opening the sentence."""
    m = _OPENING_PAIR.match(sentence)
    if m and m.group(1)[:1].isupper() and m.group(2).isupper() and len(m.group(1)) >= 2:
        return [m.group(1)]
    return []


@lru_cache(maxsize=None)
def _endings(language: str) -> tuple[str, ...]:
    """The endings a name takes in ``language`` (``qa.language.lexical.name_endings``), longest first, then none."""
    return name_endings(language) + ("",)


@lru_cache(maxsize=None)
def _spelt_endings(language: str) -> frozenset[str]:
    """The same endings as ``normalised_spelling`` writes them (Latin letters, spelling variants folded)."""
    return frozenset(normalised_spelling(e) for e in _endings(language))


def _word_language(word: str, language: str) -> str:
    """The language whose endings a word takes: its text's, unless the word is in a script that language does not
    write (a Russian name copied into an English answer takes Russian endings)."""
    if script(word) == "cyrillic" and language not in ("ru", "uz"):
        return "ru"
    return language


def _base_key(base: str) -> str:
    """A base's key across scripts: its consonants (``qa.language.lexical.skeleton``) and whether it ends in a vowel
    ("Astan" and "Astana" differ; "Мальте" less its ending and "Malta" do not)."""
    return skeleton(base, length=40) + ("+" if normalised_spelling(base)[-1:] in tuple("aeiouy") else "")


@lru_cache(maxsize=65536)
def _bases(word: str, language: str) -> frozenset[str]:
    """The keys of every base the word can be: the word less one of its language's endings (none included), at
    least three letters left."""
    folded = fold_apostrophes(word).casefold()
    endings = _endings(_word_language(word, language))
    return frozenset(
        _base_key(folded[: len(folded) - len(e)]) for e in endings if folded.endswith(e) and len(folded) - len(e) >= 3
    )


class _Words:
    """The words of some texts (cited sentences and the question), each with its language, as a name check needs
    them: folded as written, spelt in Latin, and their bases."""

    def __init__(self, texts: list[tuple[str, str]]):
        self.entries: list[tuple[str, str, str]] = []  # (folded word, spelt in Latin, language)
        self.folded: set[str] = set()
        self.bases: set[str] = set()
        for text, lang in texts:
            for w in words(reading_form(text, lang) if lang in languages.codes() else text):
                w = w.strip("'")
                if len(w) < 2:
                    continue
                self.entries.append((w, normalised_spelling(w), lang))
                self.folded.add(w)
                self.bases |= _bases(w, lang)

    def cut_short(self, base: str) -> str:
        """A word of these texts that is ``base`` with one or more vowels more that are no ending of the word's
        language ("Astana" for "Astan", where "Астане" is "Астан" with its ending); "" when there is none."""
        spelt = normalised_spelling(base)
        for w, w_spelt, lang in self.entries:
            rest = w_spelt[len(spelt) :]
            if (
                rest
                and w_spelt.startswith(spelt)
                and all(c in "aeiouyh" for c in rest)
                and rest not in _spelt_endings(_word_language(w, lang))
            ):
                return w
        return ""


def _name_supported(name: str, language: str, evidence: _Words) -> bool:
    """Whether ``name`` (in a text of ``language``) is a form of a word of the evidence: the same word, or one
    base with each one's endings, where the base is not a word of the evidence cut short."""
    folded = fold_apostrophes(name).casefold().strip("'")
    if folded in evidence.folded:
        return True
    if len(name) <= 3 and name.isupper():  # a short acronym: only as written, its endings allowed (IIJni)
        return any(
            w.startswith(folded) and w[len(folded) :] in _endings(_word_language(w, lang))
            for w, _, lang in evidence.entries
        )
    for e in _endings(_word_language(name, language)):
        base = folded[: len(folded) - len(e)]
        if folded.endswith(e) and len(base) >= 3 and _base_key(base) in evidence.bases and not evidence.cut_short(base):
            return True
    return False


class _Evidence:
    """What a set of cited sentences (plus the question) can support: numbers, months, names."""

    def __init__(self, texts: list[tuple[str, str]], question: str, question_language: str):
        joined = " ".join(t for t, _ in texts)
        self.numbers = _numbers(joined) | _numbers(question)
        self.months = _months(joined) | _months(question)
        self.words = _Words(list(texts) + [(question, question_language)])


@lru_cache(maxsize=None)
def _language_words() -> frozenset[str]:
    """Month and language names, which are not names to look for in the evidence."""
    out = set()
    for table in messages()["language_names"].values():
        out |= {fold_apostrophes(v).casefold() for v in table.values()}
    return frozenset(out)


def check(
    text: str,
    given: dict[int, tuple[str, str]],
    question: str,
    language: str,
    quoted: list[int] | None = None,
    answer_type: str | None = None,
) -> Check:
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
            return Check(
                UNSUPPORTED_NUMBER, f"{_fmt(n)} is not in the cited sentences {_list(cited)}", tuple(cited_all)
            )
        for month in sorted(_months(bare) - evidence.months):
            return Check(
                UNSUPPORTED_DATE, f"month {month} is not in the cited sentences {_list(cited)}", tuple(cited_all)
            )
        for name in names(bare) + _opening_name(bare):
            w = fold_apostrophes(name).casefold()
            if w in ALL_STOPWORDS or w in skip or _months(name):
                continue
            if not _name_supported(name, language, evidence.words):
                short = evidence.words.cut_short(fold_apostrophes(name).casefold())
                why = f"is “{short}” cut short" if short else "is not in the cited sentences"
                return Check(UNSUPPORTED_NAME, f"“{name}” {why} {_list(cited)}", tuple(cited_all))
    plain = MARKER.sub("", text)
    found = detect_language(plain)
    if found not in ("und", language):
        return Check(WRONG_LANGUAGE, f"written in {found}, asked in {language}", tuple(cited_all))
    if quoted is not None:
        missing = _dropped_answer(plain, cited_all, quoted, [given[n] for n in quoted], question, language, answer_type)
        if missing:
            return Check(DROPS_THE_ANSWER, missing, tuple(cited_all))
    return Check(OK, "", tuple(cited_all))


def _dropped_answer(
    plain: str,
    cited: list[int],
    quoted: list[int],
    quote: list[tuple[str, str]],
    question: str,
    language: str,
    answer_type: str | None,
) -> str:
    """What of the quote's answer the written one lacks ("" when it keeps it)."""
    asked = _Evidence([], question, language)
    numbers = _numbers(" ".join(t for t, _ in quote)) - asked.numbers
    quote_names = []
    for text, lang in quote:
        for name in names(text, skip_first=False):
            w = fold_apostrophes(name).casefold()
            if w in ALL_STOPWORDS or _months(name):
                continue
            if not _name_supported(name, lang, asked.words):
                quote_names.append((name, lang))
    if answer_type in ("date", "count"):
        wanted = "numbers"
    elif answer_type in ("person", "organisation", "place"):
        wanted = "names"
    else:
        wanted = "either"
    written = _Evidence([(plain, language)], "", language)
    has_number = bool(numbers & written.numbers)
    has_name = any(
        _name_supported(n, language, written.words) or _name_supported(n, lang, written.words)
        for n, lang in quote_names
    )
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
