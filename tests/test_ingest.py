"""Streamed, batched, resumable ingest: identical files, empty files, a kill -9 after k batches, progress
lines when stderr is not a terminal, chunk vectors made from sentence vectors."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from qa.index.store import EF_SEARCH
from tests.conftest import make_engine


def _folder(tmp_path, count=12):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(count):
        (folder / f"note{i:02d}.txt").write_text(
            f"Report number {i}. The delegation of city{i}ville met the council. "
            f"The meeting of city{i}ville took place in spring.",
            encoding="utf-8",
        )
    return folder


def test_identical_files_and_an_empty_file_index_cleanly(home, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    text = "The IIJ was founded in 2014. Its headquarters are in Valletta, Malta."
    (folder / "report.txt").write_text(text, encoding="utf-8")
    (folder / "sub" / "report (1).txt").write_text(text, encoding="utf-8")
    (folder / "other.txt").write_text("The council met in Tashkent in May 2024.", encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    engine = make_engine(home)
    report = engine.library.add([folder])
    assert sorted(report.added) == ["other.txt", "report (1).txt", "report.txt"]
    assert not report.failed and [p.rsplit("/", 1)[-1] for p, _ in report.skipped] == ["empty.txt"]
    assert report.chunks == 2  # the shared content is chunked and embedded once
    docs = {d.name: d for d in engine.documents()}
    assert docs["report.txt"].content_hash == docs["report (1).txt"].content_hash

    hits = engine.retrieve("Where are the headquarters of the IIJ in Valletta?", k=5)
    assert [h.source for h in hits].count("report (1).txt") + [h.source for h in hits].count("report.txt") == 1
    snapshot = engine.library.snapshot()
    assert snapshot.copies(docs["report.txt"].content_hash) == ["report (1).txt", "report.txt"]

    engine.library.remove("report (1).txt")  # each name is removed on its own; the other keeps the content
    hits = engine.retrieve("Where are the headquarters of the IIJ in Valletta?", k=5)
    assert hits[0].source == "report.txt" and "Valletta" in hits[0].text
    assert engine.library.snapshot().copies(docs["report.txt"].content_hash) == ["report.txt"]
    engine.library.remove("report.txt")
    assert all("Valletta" not in h.text for h in engine.retrieve("Valletta headquarters", k=5))
    assert engine.library.snapshot().stored_counts()["chunks"] == 1  # only other.txt's chunk is left


def test_batches_become_visible_one_by_one(home, tmp_path):
    folder = _folder(tmp_path, 7)
    engine = make_engine(home, batch_documents=3)
    reader = make_engine(home)
    seen = []

    def progress(stage, done, total):
        # between batches (not while a batch is embedded, nor before the first): a reader process already sees the
        # committed documents
        if stage == "indexing" and 0 < done < total:
            seen.append((done, len(reader.documents())))

    report = engine.library.add([folder], progress=progress)
    assert len(report.added) == 7
    assert seen == [(3, 3), (6, 6)]


KILL_AFTER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from qa.index import store
    from tests.conftest import make_engine

    kill_after = int(sys.argv[3])
    original = store.Store._commit
    calls = {"n": 0}

    def commit(self, *args, **kwargs):
        if calls["n"] == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the next batch
        calls["n"] += 1
        return original(self, *args, **kwargs)

    store.Store._commit = commit
    make_engine(Path(sys.argv[1]), batch_documents=4).library.add([sys.argv[2]])
""")


def test_kill_9_after_k_batches_leaves_k_whole_batches_and_a_rerun_completes(home, tmp_path):
    folder = _folder(tmp_path, 14)
    script = tmp_path / "kill.py"
    script.write_text(KILL_AFTER, encoding="utf-8")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, str(script), str(home), str(folder), "2"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -signal.SIGKILL, done.stderr

    engine = make_engine(home)
    docs = engine.documents()
    assert len(docs) == 8  # two batches of four documents, whole
    snapshot = engine.library.snapshot()
    for d in docs:
        assert len([c for c in snapshot.chunks if c.source == d.name]) == d.chunks

    report = engine.library.add([folder])  # the same command again resumes
    assert len(report.unchanged) == 8 and len(report.added) == 6
    names = [d.name for d in engine.documents()]
    assert sorted(names) == sorted(set(names)) and len(names) == 14
    assert engine.library.snapshot().stored_counts()["chunks"] == sum(d.chunks for d in engine.documents())


def test_progress_lines_when_stderr_is_not_a_terminal(home, tmp_path):
    folder = _folder(tmp_path, 5)
    env = {
        **os.environ,
        "QA_HOME": str(home),
        "QA_EMBEDDER": "hashing:256",
        "QA_PROGRESS_SECONDS": "0",
        "QA_BATCH_DOCUMENTS": "2",
    }
    done = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", "add", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].startswith("indexing 5 files (")  # at once: what the add will do
    lines = [line for line in done.stderr.splitlines() if line.startswith("indexing: ")]
    assert lines[0].startswith("indexing: 0/5 documents (0%)")  # before the first batch is embedded
    batch = next(line for line in lines if line.startswith("indexing: 2/5"))
    assert batch.startswith("indexing: 2/5 documents (40%)") and "documents/s" in batch
    assert lines[-1].startswith("indexing: 5/5 documents (100%)")


def test_chunk_vectors_are_the_mean_of_their_sentences_and_title(home, tmp_path):
    engine = make_engine(home, chunk_vectors="sentence-mean")
    folder = _folder(tmp_path, 1)
    engine.library.add([folder])
    snapshot = engine.library.snapshot()
    chunk = snapshot.chunks[0]
    sentences = snapshot.sentences([f"{chunk.sentence_prefix}:s{i}" for i in chunk.sentence_range])
    embedder = engine.library.embedder
    parts = [s.embedding for s in sentences]
    if chunk.title and not chunk.text.startswith(chunk.title[:40]):
        parts.append(embedder.embed_passages([chunk.title])[0])
    expected = np.mean(parts, axis=0)
    expected /= np.linalg.norm(expected)
    stored = snapshot.vectors("chunks", [chunk.id])[0]
    assert np.allclose(stored, expected, atol=1e-5)


def test_another_way_of_making_chunk_vectors_is_refused_with_rebuild_advice(home, tmp_path):
    import pytest

    from qa.errors import IndexMismatch

    make_engine(home, chunk_vectors="sentence-mean").library.add([_folder(tmp_path, 2)])
    with pytest.raises(IndexMismatch, match="rebuild.*QA_CHUNK_VECTORS back to 'sentence-mean'"):
        make_engine(home, chunk_vectors="embed").answer("Where did the delegation meet?")


def test_a_waiting_question_goes_before_the_next_indexing_batch():
    import threading
    import time

    from qa.models.embedders import Turns

    turns, order = Turns(), []
    holding, release = threading.Event(), threading.Event()

    def indexing():
        for i in range(3):
            with turns.turn(query=False):
                order.append(f"batch{i}")
                if i == 0:
                    holding.set()
                    release.wait(5)

    def question():
        with turns.turn(query=True):
            order.append("question")

    writer = threading.Thread(target=indexing)
    writer.start()
    assert holding.wait(5)
    asker = threading.Thread(target=question)
    asker.start()
    deadline = time.monotonic() + 5
    while turns._queries_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    writer.join(5)
    asker.join(5)
    assert order == ["batch0", "question", "batch1", "batch2"]


def test_an_index_in_the_older_layout_is_refused_with_rebuild_advice_and_rebuilds(home, tmp_path, monkeypatch):
    import pytest

    import qa.index.store as store_module
    from qa.errors import IndexMismatch

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    make_engine(home).library.add([_folder(tmp_path, 2)])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    engine = make_engine(home)
    with pytest.raises(
        IndexMismatch, match=r"another version of qa \(index layout 1, this version uses 2\).*qa index rebuild"
    ):
        engine.answer("Where did the delegation meet?")
    with pytest.raises(IndexMismatch, match="index layout 1"):  # adding to it is refused too, nothing mixed in
        engine.library.add([tmp_path / "docs"])
    engine.library.rebuild()
    assert sorted(d.name for d in engine.documents()) == ["note00.txt", "note01.txt"]
    snapshot = engine.library.snapshot()
    assert len(snapshot.chunks) == snapshot.stored_counts()["chunks"] == sum(d.chunks for d in engine.documents()) > 0


def test_each_document_language_has_its_own_collections(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "en.txt").write_text("The council met in Tashkent in May 2024. It adopted a plan.", encoding="utf-8")
    (folder / "ru.txt").write_text("Совет собрался в Ташкенте в мае 2024 года. Он принял план.", encoding="utf-8")
    (folder / "uz.txt").write_text(
        "Kengash 2024-yil may oyida Toshkentda yig'ildi. U rejani qabul qildi.", encoding="utf-8"
    )
    engine = make_engine(home)
    engine.library.add([folder])
    snapshot = engine.library.snapshot()
    assert snapshot.languages == ["en", "ru", "uz"]
    counts = snapshot.stored_counts()
    assert counts["chunks"] == 3 and counts["sentences"] == 6
    for language in snapshot.languages:
        vector = engine.library.embedder.embed_queries(["council plan"])[0]
        hits = snapshot.dense("sentences", vector, 10, snapshot.active_hashes(), language=language, with_metadata=True)
        assert len(hits.ids) == 2 and {m["language"] for m in hits.metas} == {language}
    everything = snapshot.dense("chunks", vector, 10, snapshot.active_hashes())
    assert len(everything.ids) == 3 and everything.similarities == sorted(everything.similarities, reverse=True)
    # sentences by id come back from their language's collection, whatever the mix asked for
    ids = [f"{c.sentence_prefix}:s{i}" for c in snapshot.chunks for i in c.sentence_range]
    assert sorted(s.language for s in snapshot.sentences(ids)) == ["en", "en", "ru", "ru", "uz", "uz"]
    engine.library.remove("ru.txt")
    assert engine.library.snapshot().stored_counts() == {"chunks": 2, "sentences": 4}


def test_a_write_leaves_chromas_write_batching_as_it_was_and_repairs_a_flush_cut_short(home, tmp_path):
    """After each write the pending vectors are flushed to the on-disk vector indexes by lowering Chroma's
    sync threshold for one rewrite; the threshold must always be put back (ingest would crawl otherwise)."""
    engine = make_engine(home)
    engine.library.add([_folder(tmp_path, 3)])
    parts = [p for kind in ("chunks", "sentences") for p in engine.library.snapshot().collections.parts(kind)]
    assert parts and all(p.configuration_json["hnsw"]["sync_threshold"] == 1000 for p in parts)
    assert all(p.configuration_json["hnsw"]["ef_search"] == EF_SEARCH for p in parts)  # our search breadth
    parts[0].modify(configuration={"hnsw": {"sync_threshold": 2, "batch_size": 2}})  # a crash mid-flush
    parts[1].modify(configuration={"hnsw": {"ef_search": 100}})  # an index written by an older version
    (tmp_path / "docs" / "note00.txt").write_text("Report zero, rewritten. The delegation met again.", encoding="utf-8")
    engine.library.add([tmp_path / "docs"])
    parts = [
        p for kind in ("chunks", "sentences") for p in make_engine(home).library.snapshot().collections.parts(kind)
    ]
    assert all(p.configuration_json["hnsw"]["sync_threshold"] == 1000 for p in parts)
    assert all(p.configuration_json["hnsw"]["ef_search"] == EF_SEARCH for p in parts)


@pytest.mark.filterwarnings(
    "ignore::DeprecationWarning"
)  # Chroma on modify() of a collection made without an embedding function
def test_an_older_index_gets_the_search_breadth_before_the_first_question(home, tmp_path):
    """An index written before EF_SEARCH searched with Chroma's default breadth, whose misses differ from one
    process to the next: the first snapshot of a process settles it, with nothing written to the index."""
    engine = make_engine(home)
    engine.library.add([_folder(tmp_path, 3)])

    def breadths(library) -> list:
        return [
            p.configuration_json["hnsw"]["ef_search"]
            for kind in ("chunks", "sentences")
            for p in library.snapshot().collections.parts(kind)
        ]

    def make_older():
        for kind in ("chunks", "sentences"):
            for part in engine.library.snapshot().collections.parts(kind):
                part.modify(configuration={"hnsw": {"ef_search": 100}})

    make_older()
    version = engine.library.store.version()
    fresh = make_engine(home).library
    assert breadths(fresh) and set(breadths(fresh)) == {EF_SEARCH}
    assert fresh.store.version() == version  # the documents are as they were
    make_older()
    with fresh._write_lock():  # another process is writing: a reader neither waits nor fails, and leaves it be
        assert set(breadths(make_engine(home).library)) == {100}
    assert set(breadths(make_engine(home).library)) == {EF_SEARCH}
    make_older()
    writing = make_engine(home).library  # this process is writing (a long ingest holds the process's lock)
    with writing._write_lock_local:
        reader = threading.Thread(target=writing.snapshot, daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert not reader.is_alive()  # the first question did not wait for the ingest
    assert set(breadths(make_engine(home).library)) == {EF_SEARCH}
