"""What kind of answer a question expects, and whether a sentence can hold it.

Built from the language files (``qa/languages``): the words that ask for a count or a date,
month names and ordinal suffixes, for every language at once (the question's language may be
misdetected on short questions; the cues of one language do not occur in another's words).
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import languages


def _alternation(key: str) -> str:
    return "|".join(languages.union(key))


@lru_cache(maxsize=1)
def patterns() -> dict[str, re.Pattern]:
    months = f"({_alternation('months')})"
    ordinals = _alternation("ordinal_suffixes")
    latin_ordinals = "|".join(s for s in languages.get("en")["ordinal_suffixes"])
    return {
        # Questions whose answer is a count or an amount: the answer must hold a number that is not a date.
        "number_question": re.compile(rf"\b({_alternation('number_question')})\b", re.I),
        # Questions whose answer is a date, a year or a period.
        "date_question": re.compile(rf"\b({_alternation('date_question')})\w*", re.I),
        # Numbers that are dates, years or ordinals, not counts.
        "date_number": re.compile(
            r"\b(1[89]\d\d|20\d\d)\b|\d+(?:\s*[-–]\s*\d+)?(?:-?\s*|\s+)" + months
            + r"|" + months + r"\s+\d+(?:\s*[-–]\s*\d+)?"
            + rf"|\b\d+-(?:{ordinals})\b|\b\d+(?:{latin_ordinals})\b", re.I
        ),
    }


_HAS_NUMBER = re.compile(r"\d")


def has_number(text: str) -> bool:
    return bool(_HAS_NUMBER.search(text))


def has_count(text: str) -> bool:
    """A number in ``text`` that is not part of a date, a year or an ordinal."""
    return has_number(patterns()["date_number"].sub(" ", text))


def expected_type(question: str) -> str | None:
    """``count`` (how many / how much), ``date`` (when), or None."""
    p = patterns()
    if p["number_question"].search(question):
        return "count"
    if p["date_question"].search(question):
        return "date"
    return None
