"""A long-running engine (the chat, a Python program) and the index on disk never drift apart; readers never
wait for a writer."""

import os
import subprocess
import sys
import threading
import time

from tests.conftest import make_engine


def _cli(home, *args):
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256")
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, env=env, timeout=180
    )
    assert result.returncode == 0, result.stderr
    return result


def test_a_running_engine_sees_what_another_process_adds_updates_and_rebuilds(home, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "malta.txt").write_text(
        "The IIJ was founded in 2014. Its headquarters are in Valletta, Malta.", encoding="utf-8"
    )
    server = make_engine(home)
    server.library.add([docs / "malta.txt"])
    assert server.retrieve("Where are the headquarters?", k=1)[0].source == "malta.txt"

    (docs / "fruit.txt").write_text("Bananas are rich in potassium. Apples grow in Samarkand.", encoding="utf-8")
    _cli(home, "index", "add", str(docs / "fruit.txt"))  # another process
    assert "fruit.txt" in {d.name for d in server.documents()}
    assert server.retrieve("Which fruit has potassium?", k=1)[0].source == "fruit.txt"

    (docs / "malta.txt").write_text("The IIJ moved. Its headquarters are now in Rome, Italy.", encoding="utf-8")
    _cli(home, "index", "add", str(docs / "malta.txt"))  # an update under the running engine
    passage = server.retrieve("Where are the headquarters now?", k=1)[0]
    assert passage.source == "malta.txt" and "Rome" in passage.text and "Valletta" not in passage.text
    assert (docs / "malta.txt").read_text(encoding="utf-8")[passage.start : passage.end] == passage.text

    _cli(home, "index", "rebuild")  # a new generation under the running engine
    assert server.retrieve("Which fruit has potassium?", k=1)[0].source == "fruit.txt"
    _cli(home, "index", "remove", "fruit.txt")
    assert "fruit.txt" not in {d.name for d in server.documents()}
    assert all(p.source != "fruit.txt" for p in server.retrieve("Which fruit has potassium?", k=5))


class SlowEmbedder:
    """The hashing embedder, but indexing takes a while: a stand-in for a big upload."""

    def __init__(self, inner, gate: threading.Event):
        self.inner, self.gate = inner, gate
        self.id, self.dimension = inner.id, inner.dimension

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts):
        self.gate.wait(30)  # hold the write until the test says so
        return self.inner.embed_passages(texts)


def test_questions_are_answered_while_a_write_is_in_progress(home, tmp_path):
    from qa.config import Settings
    from qa.models.embedders import get_embedder
    from qa.engine import Engine

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "malta.txt").write_text(
        "The IIJ was founded in 2014. Its headquarters are in Valletta, Malta.", encoding="utf-8"
    )
    (docs / "big.txt").write_text("Bananas are rich in potassium. " * 200, encoding="utf-8")
    gate = threading.Event()
    gate.set()
    engine = Engine(
        Settings(home=home, embedder="hashing:256"), embedder=SlowEmbedder(get_embedder("hashing:256"), gate)
    )
    engine.library.add([docs / "malta.txt"])
    engine.answer("Where are the headquarters?")

    gate.clear()  # the next write blocks inside embedding, holding the write lock
    writer = threading.Thread(target=engine.library.add, args=([docs / "big.txt"],))
    writer.start()
    try:
        time.sleep(0.5)
        assert writer.is_alive()
        answered = {}
        reader = threading.Thread(target=lambda: answered.update(a=engine.answer("Where are the headquarters?")))
        reader.start()
        reader.join(20)
        assert "a" in answered, "a question waited for the writer"
        assert answered["a"].passages[0].source == "malta.txt"
        assert writer.is_alive()  # it really was answered during the write
    finally:
        gate.set()
        writer.join(60)
    assert "big.txt" in {d.name for d in engine.documents()}


def test_freed_memory_is_handed_back_once_per_reload(home, tmp_path, monkeypatch):
    """Each reload after a write frees the old snapshot; glibc keeps freed pages unless trimmed (the soak's
    server grew about 1.5 MB per write without it). One trim per reload, none for an unchanged index."""
    from qa.index import library

    calls = []
    monkeypatch.setattr(library, "_TRIM", lambda pad: calls.append(pad) or 1)
    engine = make_engine(home)
    engine.answer("Who founded the IIJ?")
    engine.answer("Who founded the IIJ?")
    assert calls == []  # the first load and an unchanged index: nothing replaced
    doc = tmp_path / "note.txt"
    doc.write_text("The seminar on prison reform was held in Samarkand in June.", encoding="utf-8")
    _cli(home, "index", "add", str(doc))
    engine.answer("Where was the seminar on prison reform held?")
    assert calls == [0]
    engine.answer("Who founded the IIJ?")  # no change since: no reload
    assert calls == [0]
