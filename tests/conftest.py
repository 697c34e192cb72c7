"""Shared fixtures: temp data directories, a tiny deterministic embedder, the real engine once per session."""

from __future__ import annotations

import socket
import subprocess
import time
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(proc: subprocess.Popen, port: int, what: str, seconds: float = 60) -> None:
    """Wait until a server started as ``proc`` listens on ``port``; kill it and fail the test if it does not."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"{what} did not start")
