"""The lexicon file: the writer fills it, so a process loads the index without fetching or tokenising what is
already there; a machine without it fetches once; what it loads is exactly what a load without it gives; and
adding documents appends to it, never rewrites it."""

import shutil
import sqlite3

from qa.index.snapshot import Snapshot
from tests.conftest import CORPUS, make_engine


def _state(snapshot):
    chunks = list(snapshot.chunks)
    terms = {name: set().union(*(snapshot.chunk_terms(name, c.id) for c in chunks)) for name in ("lexical", "skeleton")}
    return (
        [(c.id, c.text, c.source, c.meta) for c in chunks],
        {name: [(t, snapshot.lexical_index(name).idf(t)) for t in sorted(terms[name])] for name in terms},
        {name: snapshot.lexical_index(name).size for name in terms},
    )


def _uncached(engine, tmp_path):
    """The same index loaded with an empty cache folder (a fresh machine)."""
    from dataclasses import replace

    store = engine.library.store
    saved_home = store.settings
    store.settings = replace(saved_home, home=tmp_path / "elsewhere")
    try:
        return Snapshot.load(store)
    finally:
        store.settings = saved_home


def _files(home):
    return sorted((home / "cache").glob("lexicon-*.sqlite"))


def _segments(path) -> list:
    """Every stored postings row, as (index, term, segment, data)."""
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM postings ORDER BY idx, term, segment").fetchall()


def test_the_writer_fills_the_lexicon_and_every_process_loads_the_same_index(home, tmp_path):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    first = engine.library.snapshot()
    assert first.fetched == 0 and len(_files(home)) == 1  # the write left every version's rows in the file
    again = make_engine(home).library.snapshot()  # another process
    assert again.fetched == 0 and _state(again) == _state(first)
    assert make_engine(home).answer("Who founded the IIJ?").text == engine.answer("Who founded the IIJ?").text
    elsewhere = _uncached(engine, tmp_path)  # a machine without the file fetches every version once
    assert elsewhere.fetched == 5 and _state(elsewhere) == _state(again)


def test_adding_appends_a_segment_and_removing_only_unlists(home, tmp_path):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    engine.library.snapshot()
    before = _segments(_files(home)[0])
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    engine.library.add([extra])
    after_add = make_engine(home).library.snapshot()
    assert after_add.fetched == 0 and "new.txt" in {c.source for c in after_add.chunks}
    grown = _segments(_files(home)[0])
    assert set(before) < set(grown)  # nothing written before was rewritten
    assert len({row[2] for row in grown}) == len({row[2] for row in before}) + 1  # one segment more

    extra.write_text("The Regional Expert Council met in Bukhara on 4 April 2025.", encoding="utf-8")
    engine.library.add([extra])  # an update is a new version
    updated = make_engine(home).library.snapshot()
    texts = " ".join(c.text for c in updated.chunks)
    assert updated.fetched == 0 and "Bukhara" in texts and "Samarkand" not in texts
    assert _state(updated) == _state(_uncached(engine, tmp_path))

    engine.library.remove("new.txt")
    removed = make_engine(home).library.snapshot()
    assert removed.fetched == 0 and "new.txt" not in {c.source for c in removed.chunks}
    assert _state(removed) == _state(_uncached(engine, tmp_path))  # the removed version's rows count no more


def test_a_rebuild_starts_a_new_file_and_drops_the_old(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    first = engine.library.snapshot()
    before = _files(home)
    engine.library.rebuild()
    rebuilt = make_engine(home).library.snapshot()
    assert rebuilt.fetched == 0 and len(_files(home)) == 1 and _files(home) != before
    assert _state(rebuilt) == _state(first)


def test_a_damaged_or_unwritable_lexicon_costs_a_fetch_not_an_answer(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    expected = engine.answer("Who founded the IIJ?").text
    path = _files(home)[0]
    for part in path.parent.glob(path.name + "-*"):  # its write-ahead log: the damage is the whole file's
        part.unlink()
    path.write_bytes(b"\x80\x04garbage" * 1000)
    damaged = make_engine(home)
    assert damaged.library.snapshot().fetched == 5 and damaged.answer("Who founded the IIJ?").text == expected
    assert make_engine(home).library.snapshot().fetched == 0  # rewritten whole

    shutil.rmtree(home / "cache")
    (home / "cache").write_text("not a folder")  # nothing can be written there (root ignores permissions)
    for _ in range(2):
        blocked = make_engine(home)
        assert blocked.library.snapshot().fetched == 5 and blocked.answer("Who founded the IIJ?").text == expected


def test_identical_files_share_one_stored_version(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    text = "Совет создан в мае 2024 года в Ташкенте."
    (folder / "a.txt").write_text(text, encoding="utf-8")
    (folder / "a (1).txt").write_text(text, encoding="utf-8")
    engine = make_engine(home)
    engine.library.add([folder])
    assert engine.library.snapshot().fetched == 0
    assert _uncached(engine, tmp_path).fetched == 1
    again = make_engine(home).library.snapshot()
    assert again.fetched == 0 and {c.source for c in again.chunks} == {"a (1).txt"}


def test_a_settled_index_lists_its_documents_from_the_lexicon(home, monkeypatch):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    first = engine.library.snapshot()
    assert first.version[1] % 2 == 0  # no change in flight

    def no_fetch(*_, **__):
        raise AssertionError("the document records were fetched, not read from the lexicon")

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.store.Store.documents", no_fetch)
        again = make_engine(home).library.snapshot()
    assert again.documents == first.documents and _state(again) == _state(first)


def test_a_write_cut_short_after_its_switch_is_never_hidden_by_the_cached_list(home, tmp_path, monkeypatch):
    """A kill between a batch's switch and the version bump leaves the version where it was; the cached
    document list of that version must not hide the switched documents from the next processes."""
    import pytest

    engine = make_engine(home)
    engine.library.add([CORPUS])
    make_engine(home).library.snapshot()  # the list is cached under the settled version
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")

    class Killed(BaseException):
        pass

    def killed(*_, **__):
        raise Killed()

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.store.Store._bump", killed)
        with pytest.raises(Killed):
            make_engine(home).library.add([extra])
    for _ in range(2):  # a process after the crash, and the next one (nothing may be cached under the odd version)
        snapshot = make_engine(home).library.snapshot()
        assert snapshot.version[1] % 2 == 1 and "new.txt" in snapshot.documents
    engine.library.add([tmp_path / "new.txt"])  # the next write settles the version again
    assert make_engine(home).library.snapshot().version[1] % 2 == 0


def test_a_reload_in_the_same_process_reuses_its_connection(home, tmp_path, monkeypatch):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    reader = make_engine(home)
    first = reader.library.snapshot()
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    engine.library.add([extra])  # another process writes

    def no_open(*_, **__):
        raise AssertionError("the lexicon file was opened again")

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.lexicon.sqlite3.connect", no_open)
        again = reader.library.snapshot()
    assert again is not first and again.fetched == 0 and "new.txt" in again.documents
    assert _state(again) == _state(_uncached(engine, tmp_path))


def test_the_writer_keeps_the_document_list_so_no_reader_fetches_it(home, tmp_path, monkeypatch):
    """After an add, an update and a remove, a new process reads the document list from the lexicon (the writer
    applied its own changes to it), and it is the list the store gives."""
    engine = make_engine(home)
    engine.library.add([CORPUS])
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    engine.library.add([extra])
    extra.write_text("The Regional Expert Council met in Bukhara on 4 April 2025.", encoding="utf-8")
    engine.library.add([extra])
    engine.library.remove(sorted(d.name for d in engine.documents())[0])

    def no_fetch(*_, **__):
        raise AssertionError("the document records were fetched, not read from the lexicon")

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.store.Store.documents", no_fetch)
        kept = make_engine(home).library.snapshot()
    fetched = _uncached(engine, tmp_path)
    assert kept.documents == fetched.documents and len(kept.documents) == 5
    assert kept.documents["new.txt"].content_hash == fetched.documents["new.txt"].content_hash


def test_a_locked_lexicon_is_read_from_memory_and_never_deleted(home, tmp_path):
    """Another process holding the file's write lock (or a disk error) is not damage: the process answers with the
    lexicon in memory, and the file, with everything the writer put in it, stays."""
    engine = make_engine(home)
    engine.library.add([CORPUS])
    path = _files(home)[0]
    size = path.stat().st_size
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = make_engine(home)
        snapshot = locked.library.snapshot()
        assert snapshot.fetched == 5 and snapshot._lexicon.path is None  # in memory
    finally:
        holder.rollback()
        holder.close()
    assert _files(home) == [path] and path.stat().st_size >= size
    assert make_engine(home).library.snapshot().fetched == 0  # the writer's rows are all there


def test_document_records_kept_as_fields_or_by_an_earlier_release_load_the_same(tmp_path):
    """The document list is kept as each record's fields (a tuple loads in half the time of the object); the objects
    an earlier release kept still load."""
    import pickle

    from qa.index.lexicon import Lexicon
    from qa.index.store import DocumentRecord

    records = {
        name: DocumentRecord(name, f"h{i}", "uz", "Title", 3, "2026-12-07T00:00:00", f"/d/{name}", 1300, ((0, 5),))
        for i, name in enumerate(["a.txt", "b.txt", "ü.txt"])
    }
    lexicon = Lexicon.open(tmp_path, {"folder": "x"}, {"generation": 1})
    lexicon.keep_records(4, records)
    assert lexicon.records(4, DocumentRecord) == records and lexicon.records(6, DocumentRecord) is None
    old = DocumentRecord("c.txt", "h9", "ru", "T", 1, "2026-01-01T00:00:00", "/d/c.txt", 10)
    with lexicon._lock:  # as an earlier release kept it: the pickled object
        lexicon._db.execute("INSERT INTO documents VALUES (?, ?)", ("c.txt", pickle.dumps(old)))
    assert lexicon.records(4, DocumentRecord) == {**records, "c.txt": old}
    lexicon.advance_records(4, 6, [old], ["a.txt"])
    assert lexicon.records(6, DocumentRecord) == {"b.txt": records["b.txt"], "ü.txt": records["ü.txt"], "c.txt": old}
