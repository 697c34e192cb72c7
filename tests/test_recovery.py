"""The library survives its index: a lost or damaged Chroma store is rebuilt from the documents' own copies,
and never silently replaced by the bundled corpus."""

import os
import subprocess
import sys

import pytest

from tests.test_store import _docs


def qa(home, *args):
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256")
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, env=env, timeout=180)


def _zero(db):
    db.write_bytes(b"")


def _garble(db):
    data = bytearray(db.read_bytes())
    data[4096:12288] = os.urandom(8192)[: len(data[4096:12288])]
    db.write_bytes(bytes(data))


def _truncate(db):
    db.write_bytes(db.read_bytes()[: len(db.read_bytes()) // 3])


@pytest.mark.parametrize("damage", [_zero, _garble, _truncate], ids=["zeroed", "garbled", "truncated"])
def test_a_damaged_store_is_reported_and_rebuilt_from_the_library(home, tmp_path, damage):
    folder = _docs(tmp_path)
    assert qa(home, "index", "add", str(folder)).returncode == 0
    for db in (home / "chroma").rglob("chroma.sqlite3"):
        damage(db)

    listing = qa(home, "index", "list")
    assert listing.returncode != 0 and "Traceback" not in listing.stderr, listing.stderr
    assert "rebuild" in listing.stderr
    assert "000_d3df58107a8e1fd5.txt" not in listing.stdout  # not quietly replaced by the bundled corpus

    rebuilt = qa(home, "index", "rebuild")
    assert rebuilt.returncode == 0 and "Traceback" not in rebuilt.stderr, rebuilt.stderr
    listing = qa(home, "index", "list")
    assert listing.returncode == 0
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:]]
    assert sorted(names) == ["malta.txt", "page.html", "toshkent.md"]
    answer = qa(home, "ask", "--json", "Where are the headquarters of the IIJ?")
    assert answer.returncode == 0 and '"source": "malta.txt"' in answer.stdout


def test_a_removed_document_stays_removed_after_a_rebuild(home, tmp_path):
    folder = _docs(tmp_path)
    assert qa(home, "index", "add", str(folder)).returncode == 0
    assert qa(home, "index", "remove", "page.html").returncode == 0
    assert qa(home, "index", "rebuild").returncode == 0
    listing = qa(home, "index", "list").stdout
    assert "page.html" not in listing and "malta.txt" in listing
    texts = list((home / "library" / "texts").glob("*.txt"))
    assert len(texts) == 2  # the removed document's copy is gone too


def test_an_index_of_the_bundled_corpus_from_an_older_version_is_rebuilt_on_first_use(home, tmp_path, monkeypatch):
    from qa.errors import IndexMismatch
    from qa.index import store

    from .conftest import make_engine

    make_engine(home).ensure_index()  # written with this layout
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)  # ... which a newer version finds old
    said = []
    engine = make_engine(home)
    engine.notify = said.append
    assert engine.retrieve("Where are the headquarters of the IIJ?")[0].source.startswith(("000_", "001_"))
    assert any("older version" in s for s in said)
    assert engine.library.store.stored_build_info()["qa_schema"] == store.SCHEMA_VERSION

    # a library with a document of the user's is not rebuilt behind their back: they are told how
    folder = _docs(tmp_path)
    make_engine(home).library.add([folder])
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)
    with pytest.raises(IndexMismatch, match="qa index rebuild"):
        make_engine(home).retrieve("Where are the headquarters of the IIJ?")
