"""Shared fixtures: temp data directories, a tiny deterministic embedder, the real engine once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import offline_defaults

offline_defaults()

CORPUS = Path(__file__).resolve().parent.parent / "qa" / "corpus"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QA_CHROMA_URL", raising=False)
    monkeypatch.delenv("QA_EMBEDDER", raising=False)
    monkeypatch.delenv("QA_RERANKER", raising=False)
    return tmp_path / "home"


def make_engine(home: Path, embedder: str = "hashing:256", **settings):
    from qa.config import Settings
    from qa.engine import Engine
    from qa.models.embedders import get_embedder

    return Engine(Settings(home=home, embedder=embedder, **settings), embedder=get_embedder(embedder))


@pytest.fixture
def fake_engine(home):
    """An engine over a small index built with the hashing embedder (no model)."""
    return make_engine(home)


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory):
    """The real packaged multilingual embedder over the bundled corpus, built once."""
    from qa.config import Settings
    from qa.engine import Engine

    home = tmp_path_factory.mktemp("real-home")
    engine = Engine(Settings(home=home))
    engine.ensure_index()
    return engine
