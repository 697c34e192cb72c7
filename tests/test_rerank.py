"""A configured reranker reorders the leading passages and sentences; whether to answer stays first-stage."""

import subprocess
import sys

import numpy as np
import pytest

import dataclasses

from qa.answering.tuning import Tuning
from qa.errors import ConfigError
from qa.models.rerankers import get_reranker
from tests.conftest import CORPUS, make_engine

DOC = (
    "The IIJ was founded in 2014 at the initiative of the GCTF. "
    "Its headquarters are in Valletta, the capital of Malta. "
    "It trains judges, prosecutors and police officers."
)


class PreferWord:
    """A scripted reranker: texts holding its word first, and it remembers what it was asked."""

    def __init__(self, word: str):
        self.id = f"fake:prefer-{word}"
        self.word = word
        self.questions: list[str] = []

    def score(self, question, texts):
        self.questions.append(question)
        return np.array([1.0 if self.word in t else 0.0 for t in texts], dtype=np.float32)


def _engine(home, tmp_path, reranker=None):
    (tmp_path / "iij.txt").write_text(DOC, encoding="utf-8")
    engine = make_engine(home)
    engine.reranker = reranker
    engine.tuning = dataclasses.replace(Tuning.load(), found_threshold=float("-inf"))
    engine.library.add([tmp_path / "iij.txt"])
    return engine


def test_the_reranker_picks_the_quoted_sentence_but_not_whether_to_answer(home, tmp_path):
    # A question with no expected answer type and no attribute: every sentence may be quoted.
    plain = _engine(home, tmp_path).answer("Tell me about the IIJ and the GCTF")
    assert "GCTF" in plain.text and "Valletta" not in plain.text

    reranker = PreferWord("Valletta")
    reranked = _engine(home, tmp_path, reranker).answer("Tell me about the IIJ and the GCTF")
    assert reranked.found and reranked.text.startswith("Its headquarters are in Valletta"), reranked.text
    assert reranked.confidence == pytest.approx(plain.confidence)  # refusal is judged on the first stage
    assert reranker.questions and all(q == "Tell me about the IIJ and the GCTF" for q in reranker.questions)
    quote = reranked.citations[0]
    assert DOC[quote.quote_start : quote.quote_end] == quote.quote and "Valletta" in quote.quote


def test_the_reranker_only_chooses_among_sentences_the_decision_allows(home, tmp_path):
    # "Who founded" asks for the founding: the Valletta sentence does not speak of it, whatever a reranker says.
    reranked = _engine(home, tmp_path, PreferWord("Valletta")).answer("Who founded the IIJ?")
    assert reranked.found and "GCTF" in reranked.text and "Valletta" not in reranked.text


def test_the_reranker_reorders_retrieved_passages(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    question = "Who founded the IIJ?"
    plain = engine.retrieve(question, k=8)
    last = plain[-1]  # the reranker is scripted to prefer the passage fusion put last
    engine.reranker = PreferWord(last.text[:60])
    reranked = engine.retrieve(question, k=8)
    assert reranked[0].chunk_id == last.chunk_id != plain[0].chunk_id
    assert [p.chunk_id for p in reranked[1:]] == [p.chunk_id for p in plain[:-1]]  # the rest keep their order


def test_reranker_configuration(monkeypatch):
    monkeypatch.delenv("QA_RERANKER", raising=False)
    assert get_reranker(None) is None and get_reranker("none") is None
    with pytest.raises(ConfigError, match="Unknown reranker"):
        get_reranker("bm25")
    with pytest.raises(ConfigError, match="Unknown reranker"):
        get_reranker("cross-encoder:")
    monkeypatch.setenv("QA_RERANKER", "bogus")
    with pytest.raises(ConfigError):
        get_reranker(None)


def test_cli_reports_a_bad_reranker_without_a_traceback(home):
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "--reranker", "bogus", "ask", "Who founded the IIJ?"],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "Unknown reranker 'bogus'" in run.stderr + run.stdout and "Traceback" not in run.stderr


@pytest.mark.integration
def test_a_real_sentence_transformers_cross_encoder_runs(real_engine):
    """The packaged MiniLM folder loaded as a CrossEncoder: an untrained head, so this checks the path, not quality."""
    from qa.config import Settings
    from qa.models.embedders import minilm_path
    from qa.engine import Engine
    from qa.models.rerankers import CrossEncoderReranker

    import torch

    torch.manual_seed(0)  # the untrained head is drawn at random: the same head each run, so the same passages
    reranker = CrossEncoderReranker(minilm_path())
    scores = reranker.score("Who founded the IIJ?", ["The IIJ was founded in 2014.", "Tashkent", "Toshkent"])
    assert scores.shape == (3,) and np.isfinite(scores).all()
    engine = Engine(Settings(home=real_engine.settings.home), reranker=reranker)
    answer = engine.answer("Who founded the IIJ?")
    assert answer.found and answer.citations
    for c in answer.citations:
        original = (CORPUS / c.source).read_text(encoding="utf-8")
        assert original[c.quote_start : c.quote_end] == c.quote
