"""The one text analysis, the one Cyrillic test and the word shapes; the records that carry them; the readers."""

import pytest

from qa import language as languages
from qa.answering.results import Status, WrittenAnswer
from qa.config import EXTRACTIVE, LLM
from qa.errors import ConfigError
from qa.language.analysis import analyse, word_terms
from qa.language.lexical import skeleton_tokens, tokenize, words
from qa.language.text import written_words
from tests.conftest import make_engine


@pytest.mark.parametrize(
    "text, language",
    [
        ("Who founded the IIJ in 2014?", "en"),
        ("Кто основал IIJ в Валлетте?", "ru"),
        ("O‘zbekiston Prezidenti Toshkentda yangi markaz taklif qildi.", "uz"),
        ("Oʻzbekiston va Nyu-York: IIJni ta’sis etdi.", "uz"),
    ],
)
def test_the_analysis_is_what_each_tokeniser_gave(text, language):
    a = analyse(text, language)
    assert list(a.words) == words(text)
    assert list(a.stems) == tokenize(text, language)
    assert a.all_stems == frozenset(tokenize(text, language, drop_stopwords=False))
    assert list(a.keys) == skeleton_tokens(text)
    assert list(a.written) == written_words(text) and len(a.terms) == len(a.written)
    assert all(a.terms_of(w) == word_terms(w, language) for w in a.written)


def test_uzbek_apostrophes_are_one_word_and_one_stem_whatever_is_typed():
    forms = ["O‘zbekiston", "Oʻzbekiston", "O'zbekiston", "O’zbekiston", "O`zbekiston"]
    assert {analyse(f, "uz").words for f in forms} == {("o'zbekiston",)}
    assert len({analyse(f, "uz").stems for f in forms}) == 1
    assert all(analyse(f, "uz").written == (f,) for f in forms)  # as written: the quote keeps the user's form


def test_one_cyrillic_test_for_every_cyrillic_letter_and_no_other():
    assert all(languages.is_cyrillic(c) for c in "АяЁёЎўҚқҒғҲҳ")
    assert not any(languages.is_cyrillic(c) for c in "AzO‘ʻ1 .")
    assert languages.cyrillic_share("Toshkent Тошкент") == (7, 15)


def test_a_name_is_found_across_scripts_through_its_terms():
    latin, cyrillic = word_terms("Voronkov", "uz"), word_terms("Воронковым", "ru")
    assert latin & cyrillic  # the cross-script key


def test_the_question_and_each_candidate_carry_their_analysis(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "iij.txt").write_text("The IIJ was founded in 2014 at the initiative of the GCTF.", encoding="utf-8")
    engine = make_engine(home)
    engine.library.add([folder])
    trace = engine.explain("When was the IIJ founded?")
    assert trace.query.analysis == analyse(trace.query.reading, "en")
    assert trace.query.tokens == trace.query.analysis.stems
    assert trace.candidates and all(c.analysis == analyse(c.reading, c.language) for c in trace.candidates)


def test_the_reader_is_chosen_in_one_place(home):
    engine = make_engine(home)
    assert engine.reader().name == EXTRACTIVE and engine.reader(EXTRACTIVE).name == EXTRACTIVE
    with pytest.raises(ConfigError, match="extractive or llm"):
        engine.reader("poet")
    with pytest.raises(ConfigError, match="QA_LLM"):  # the llm reader without a model says how to set one
        engine.reader(LLM)


def test_written_answer_statuses_are_one_enum_and_read_as_strings():
    written = WrittenAnswer(Status.KEPT, quote="q")
    assert written.status == "kept" and str(Status.TIMEOUT) == "timeout"
    # Every reason a written answer was not kept is said to the user in each language (written_note).
    from qa.prompts import messages

    reasons = messages()["written_reasons"]
    assert all(set(reasons[s]) >= {"en", "ru", "uz"} for s in Status if s not in (Status.WRITING, Status.KEPT))
