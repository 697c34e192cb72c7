"""Every message template rendered in every language, with every document language in its slots: no slip of
grammar a reader would see ("a Uzbek-language document"), no slot left unfilled."""

from __future__ import annotations

import re
import string

import pytest

from qa import language as languages
from qa.prompts import language_name, message, messages

CODES = languages.codes()
SAMPLE = {
    "question": "Who founded the IIJ?",
    "names": "Timur Akhmedov and Vladimir Voronkov",
    "count": "5",
    "detail": "a number in it is not in the cited sentences",
}


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _rendered() -> list[tuple[str, str, str, str]]:
    """(key, asker's language, document language, text) for every plain message."""
    out = []
    for key, table in messages().items():
        if key in ("language_names", "written_reasons"):
            continue
        for lang in CODES:
            for doc in CODES:
                values = {**SAMPLE, "language": language_name(doc, lang)}
                out.append((key, lang, doc, message(key, lang, **values)))
    return out


@pytest.mark.parametrize("key, lang, doc, text", _rendered())
def test_message_reads_well(key, lang, doc, text):
    assert "{" not in text and "}" not in text
    if lang == "en":
        assert not re.search(r"\ba (?=[AEIOUaeiou])", text), text  # "a Uzbek", "a English"
        assert not re.search(r"\ban (?=[^AEIOUaeiou\W])", text), text
    if lang == "ru" and "{language}" in messages()[key]["ru"]:
        # "на {language} языке": the language name in the prepositional case
        name = language_name(doc, "ru")
        assert re.search(rf"на {name} языке", text) and name.endswith("ом"), text


def test_every_language_has_every_message_and_the_same_slots():
    for key, table in messages().items():
        if key == "language_names":
            assert set(table) >= set(CODES) and all(set(names) >= set(CODES) for names in table.values())
            continue
        if key == "written_reasons":
            for reason, by_lang in table.items():
                assert set(by_lang) >= set(CODES), reason
            continue
        assert set(table) >= set(CODES), key
        assert len({frozenset(_fields(t)) for t in table.values()}) == 1, key


def test_english_answer_quoting_uzbek_says_an_uzbek_document():
    text = message("other_language", "en", language=language_name("uz", "en"))
    assert "a Uzbek" not in text and "Uzbek" in text
