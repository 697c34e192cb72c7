"""qa eval: the file format, the metrics (against an independent scorer), the bundled question set."""

import json
import re
import unicodedata
from collections import Counter

import pytest

from qa.errors import EvalFileError
from qa.eval.dataset import bundled_set, load
from qa.eval.scoring import aggregate, answer_matches, judge
from tests.conftest import CORPUS

DOCS = {p.name for p in CORPUS.glob("*.txt")}


def _write(tmp_path, lines):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "line 2: not valid JSON"),
        (
            json.dumps({"id": "x", "question": "q", "lang": "en", "kind": "f", "answers": ["a"]}),
            "line 2: missing field(s) sources",
        ),
        (
            json.dumps(
                {"id": "x", "question": "q", "lang": "en", "kind": "f", "answers": ["a"], "sources": ["nope.txt"]}
            ),
            "line 2: unknown document",
        ),
    ],
)
def test_malformed_lines_are_reported_with_their_number(tmp_path, bad, message):
    good = json.dumps({"id": "ok", "question": "q", "lang": "en", "kind": "f", "answers": [], "sources": []})
    with pytest.raises(EvalFileError, match=re.escape(message)):
        load(_write(tmp_path, [good, bad]), known_documents=DOCS)


def _independent_key(s):
    s = unicodedata.normalize("NFKC", s).casefold()
    s = re.sub("['‘’ʻʼ`´]", "'", s)
    s = re.sub("[‐‑‒–—―−]", "-", s)
    return re.sub(r"\s+", " ", s).strip()


def test_matching_agrees_with_an_independent_scorer():
    cases = [
        ("Seminar 23–25  Сентября 2025", ["23-25 сентября"]),
        ("O‘zbekiston", ["o'zbekiston"]),
        ("The IIJ", ["GCTF"]),
        ("ＧＣＴＦ founded", ["gctf"]),
        ("Oʻzbek", ["O`zbek"]),
    ]
    for text, answers in cases:
        expected = any(_independent_key(a) in _independent_key(text) for a in answers)
        assert answer_matches(text, answers) == expected


def test_metrics_on_a_hand_computed_example():
    items = load.__globals__["EvalItem"]
    a = items(id="a", question="q", lang="en", kind="f", answers=["x"], sources=["d1"])
    b = items(id="b", question="q", lang="en", kind="f", answers=["y"], sources=["d2"])
    c = items(id="c", question="q", lang="ru", kind="na", answers=[], sources=[])
    results = [
        judge(a, "x here [1]", True, ["d1", "d3"], ["d1", "d2"], 10),  # correct, hit@1, 1 of 2 citations good
        judge(b, "nothing", False, [], ["d1", "d2"], 30),  # declined: false refusal, hit at rank 2
        judge(c, "declined", False, [], ["d1"], 20),  # rightly declined
    ]
    m = aggregate(results)
    assert m["answer_accuracy"] == 0.5 and m["hit_at_1"] == 0.5 and m["hit_at_5"] == 1.0 and m["mrr"] == 0.75
    assert m["citation_accuracy"] == 0.5 and m["citation_precision"] == 0.5
    assert m["refusal_accuracy"] == 1.0 and m["false_refusal_rate"] == 0.5 and m["latency_p50_ms"] == 20


def test_the_bundled_question_set_meets_its_specification():
    tune, test = load(bundled_set("tune"), DOCS), load(bundled_set("test"), DOCS)
    items = tune + test
    assert len(items) >= 90 and not {i.id for i in tune} & {i.id for i in test}
    langs = Counter(i.lang for i in items)
    kinds = Counter(i.kind for i in items)
    assert all(langs[code] >= 25 for code in ("en", "ru", "uz"))
    assert kinds["crosslingual"] >= 30 and kinds["followup"] >= 10 and kinds["unanswerable"] >= 15
    uz_styles = {ch for i in items if i.lang == "uz" for ch in "'‘’ʻ`" if ch in i.question}
    assert len(uz_styles) >= 3
    for item in items:  # a right answer written in the asker's language can be matched: one string in its script
        script = "[а-яё]" if item.lang == "ru" else "[a-z]"
        assert not item.answers or any(
            re.search(script, a.lower()) or not re.search(r"[^\W\d_]", a) for a in item.answers
        ), item.id
    texts = {name: _independent_key((CORPUS / name).read_text(encoding="utf-8")) for name in DOCS}
    for item in items:  # every expected answer is really in every document said to hold it
        for source in item.sources:
            assert any(_independent_key(a) in texts[source] for a in item.answers), (item.id, source)


def test_eval_command_is_deterministic_and_writes_reports(fake_engine, tmp_path):
    from qa.eval import runner

    fake_engine.library.add([CORPUS])
    path = _write(
        tmp_path,
        [
            json.dumps(
                {
                    "id": "1",
                    "question": "Who founded the IIJ?",
                    "lang": "en",
                    "kind": "factoid",
                    "answers": ["GCTF"],
                    "sources": ["001_06ab6ed67bf2d3c2.txt"],
                }
            ),
            json.dumps(
                {
                    "id": "2",
                    "question": "And where is its headquarters?",
                    "lang": "en",
                    "kind": "followup",
                    "answers": ["Valletta"],
                    "sources": ["001_06ab6ed67bf2d3c2.txt"],
                    "history": ["Who founded the IIJ?"],
                }
            ),
            json.dumps(
                {
                    "id": "3",
                    "question": "How many people work there?",
                    "lang": "en",
                    "kind": "unanswerable",
                    "answers": [],
                    "sources": [],
                }
            ),
        ],
    )
    first = runner.evaluate(fake_engine, path, compare=False)
    second = runner.evaluate(fake_engine, path, compare=False)

    def strip(r):
        return [(i["id"], i["correct"], i["answer"]) for i in next(iter(r.values()))["items"]]

    assert strip(first) == strip(second)
    out = tmp_path / "r.json"
    runner.save_json(first, out)
    saved = json.loads(out.read_text())
    assert set(saved) >= {"overall", "by_lang", "by_kind", "items"}
    changes, regressions = runner.diff(saved, saved)
    assert "+0.000" in changes and not regressions
    worse = json.loads(json.dumps(saved))
    worse["overall"]["hit_at_1"] = (saved["overall"]["hit_at_1"] or 0) + 0.5
    assert runner.diff(saved, worse)[1]  # a drop of more than 0.05 is flagged


def _collected(engine, tmp_path, questions):
    """``tune.collect`` rows for (id, question, answers) items on the bundled corpus (no answers: unanswerable)."""
    from qa.eval import tune
    from qa.eval.dataset import load

    engine.library.add([CORPUS])
    path = _write(
        tmp_path,
        [
            json.dumps(
                {
                    "id": qid,
                    "question": question,
                    "lang": "en",
                    "kind": "factoid" if answers else "unanswerable",
                    "answers": answers,
                    "sources": ["001_06ab6ed67bf2d3c2.txt"] if answers else [],
                }
            )
            for qid, question, answers in questions
        ],
    )
    return tune.collect(engine, load(path))


def test_inspect_shows_where_the_answer_bearing_sentence_ranked(fake_engine, tmp_path):
    from qa.eval import failures as inspect

    rows = _collected(
        fake_engine,
        tmp_path,
        [
            # "Valletta" is in the corpus, but not in the sentence that best matches this question
            ("1", "Who founded the IIJ?", ["Valletta"]),
            ("2", "Who founded the IIJ?", ["zzzz-nowhere"]),
        ],
    )
    lines = inspect.report(rows)
    text = "\n".join(lines)
    assert "1: Who founded the IIJ?" in text and "first answer-bearing sentence at rank" in text
    assert "2: Who founded the IIJ?\n  no answer-bearing sentence among the candidates" in text
    assert any(line.lstrip().startswith("+ #") and "Valletta" in line for line in lines)


def test_ceiling_bounds_what_reweighting_and_the_rules_could_reach(fake_engine, tmp_path):
    from qa.eval import ceiling

    rows = _collected(
        fake_engine,
        tmp_path,
        [
            ("1", "Who founded the IIJ?", ["GCTF"]),
            ("2", "Who founded the IIJ?", ["zzzz-nowhere"]),
            ("3", "What is the capital of Australia?", []),
        ],
    )
    b = ceiling.bounds(rows, fake_engine.tuning.weight_vector())
    assert b["all"]["questions"] == 2 == b["en"]["questions"]  # the unanswerable one is not counted
    assert b["all"]["in_candidates"] == 0.5  # "zzzz-nowhere" is in no candidate
    for key in ("quotable", "first_now", "first_refitted"):
        assert 0 <= b["all"][key] <= b["all"]["in_candidates"]
    assert b["all"]["first_refitted"] >= b["all"]["first_now"]


def test_the_report_counts_answers_that_quote_a_question_or_share_nothing_with_it():
    from qa.eval.dataset import EvalItem
    from qa.eval.runner import diff
    from qa.eval.scoring import judge, quoted_sentences, report

    cake = EvalItem("a", "How do I bake sourdough bread?", "en", "unanswerable", [], [])
    iij = EvalItem("b", "Кто основал IIJ?", "ru", "factoid", ["GCTF"], ["x.txt"])
    stage = EvalItem("c", "Konferensiya qayerda bo'lib o'tdi?", "uz", "factoid", ["Toshkent"], ["y.txt"])
    said = {
        "a": "Давай поедим торт из тыквенного шербета. [1] (Quoted from a document in Russian.)",
        "b": "The documents disagree: The IIJ was founded by the GCTF. [1] It was founded in 2014. [2]",
        "c": "Где вход на сцену? [1] Почему вы её пригласили? [2]",
    }
    assert quoted_sentences(said["c"]) == ["Где вход на сцену?", "Почему вы её пригласили?"]
    results = [judge(i, said[i.id], True, ["x.txt"], ["x.txt"], 1.0) for i in (cake, iij, stage)]
    quotes = report(results)["quotes"]
    assert quotes == {"answers": 3, "quoting_a_question": ["c"], "sharing_nothing": ["a", "c"]}
    _, regressions = diff(report(results), report(results))
    assert any("quote a question: c" in r for r in regressions)
