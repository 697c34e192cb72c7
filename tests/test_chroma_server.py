"""The same code against a real Chroma server (``chroma run``) on loopback gives the same answers."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.server]

QUESTIONS = [
    "Who founded the IIJ?",
    "Кто такой Каха Имнадзе?",
    "Vladimir Voronkov Toshkentda kim bilan uchrashdi?",
    "What is the capital of Australia?",
]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not os.path.exists(chroma):
        pytest.skip("the chroma command is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(proc, port, "chroma server")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def test_server_mode_gives_the_same_answers(real_engine, chroma_url, tmp_path):
    from qa.config import Settings
    from qa.engine import Engine

    remote = Engine(Settings(home=tmp_path / "home", chroma_url=chroma_url), embedder=real_engine.embedder)
    remote.ensure_index()
    assert sorted(d.name for d in remote.documents()) == sorted(d.name for d in real_engine.documents())
    for q in QUESTIONS:
        a, b = real_engine.answer(q), remote.answer(q)
        assert (a.text, a.found, [c.source for c in a.citations]) == (b.text, b.found, [c.source for c in b.citations])


def _replica(home, chroma_url, prefix):
    from tests.conftest import make_engine

    return make_engine(home, chroma_url=chroma_url, collection_prefix=prefix)


def test_two_replicas_on_one_server_see_each_others_writes_and_either_rebuilds_everything(chroma_url, tmp_path):
    """Two answering machines (each its own QA_HOME) on one Chroma server answer the same; a document added through
    one is found by the other at its next question; a process sharing a machine's QA_HOME starts without fetching what that
    machine's writes left in its lexicon; a rebuild from the machine that added nothing brings every document back."""
    from tests.conftest import CORPUS

    first = _replica(tmp_path / "a", chroma_url, "replicas")
    first.library.add([CORPUS])
    second = _replica(tmp_path / "b", chroma_url, "replicas")
    question = "Who founded the IIJ?"
    a, b = first.answer(question), second.answer(question)
    assert (a.text, [c.source for c in a.citations]) == (b.text, [c.source for c in b.citations])
    assert second.library.snapshot().fetched == 5  # the other machine fetches each version once
    assert _replica(tmp_path / "b", chroma_url, "replicas").library.snapshot().fetched == 0  # then never again
    assert _replica(tmp_path / "a", chroma_url, "replicas").library.snapshot().fetched == 0  # the writer's own
    # The same server by another address (a host name, a load balancer, a restart on another port): the same store.
    elsewhere = chroma_url.replace("127.0.0.1", "localhost")
    assert _replica(tmp_path / "b", elsewhere, "replicas").library.snapshot().fetched == 0

    extra = tmp_path / "samarkand.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    second.library.add([extra])
    hits = first.retrieve("Where did the Regional Expert Council meet?", k=3)  # the other machine's write
    assert hits and hits[0].source == "samarkand.txt"

    first.library.remove("samarkand.txt")
    assert "samarkand.txt" not in {d.name for d in second.documents()}
    second.library.add([extra])
    names = {d.name for d in first.documents()}
    second.library.rebuild()  # the machine whose own copies hold one document
    assert {d.name for d in first.documents()} == names and len(names) == 6
    rebuilt = _replica(tmp_path / "c", chroma_url, "replicas").answer(question)
    assert (rebuilt.text, [c.source for c in rebuilt.citations]) == (a.text, [c.source for c in a.citations])
