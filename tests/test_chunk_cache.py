"""The local chunk cache: a process loads the index without fetching or tokenising versions it has seen, and
what it loads is exactly what a load without the cache gives."""

import pickle
import shutil

from qa.index.snapshot import Snapshot
from tests.conftest import CORPUS, make_engine


def _state(snapshot):
    return (
        [(c.id, c.text, c.source, c.meta) for c in snapshot.chunks],
        [(t, snapshot.lexical.idf(t)) for t in sorted(snapshot.lexical._df)],
        [(t, snapshot.skeleton.idf(t)) for t in sorted(snapshot.skeleton._df)],
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
    return sorted((home / "cache").glob("chunks-*.pickle"))


def test_a_new_process_loads_from_the_cache_and_gets_the_same_index(home, tmp_path, monkeypatch):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    first = engine.library.snapshot()
    assert first.fetched == 5 and len(_files(home)) == 1

    def no_rebuild(*_):
        raise AssertionError("the BM25 indexes were rebuilt, not loaded")

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.snapshot.LexicalIndex", no_rebuild)
        again = make_engine(home).library.snapshot()  # another process: the BM25 indexes come from the file too
        assert again.fetched == 0
        assert _state(again) == _state(first)
        assert make_engine(home).answer("Who founded the IIJ?").text == engine.answer("Who founded the IIJ?").text
    assert _state(_uncached(engine, tmp_path)) == _state(again)


def test_only_new_versions_are_fetched_and_removed_ones_leave_the_cache(home, tmp_path):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    engine.library.snapshot()
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    engine.library.add([extra])
    after_add = make_engine(home).library.snapshot()
    assert after_add.fetched == 1 and "new.txt" in {c.source for c in after_add.chunks}

    extra.write_text("The Regional Expert Council met in Bukhara on 4 April 2025.", encoding="utf-8")
    engine.library.add([extra])  # an update is a new version
    updated = make_engine(home).library.snapshot()
    texts = " ".join(c.text for c in updated.chunks)
    assert updated.fetched == 1 and "Bukhara" in texts and "Samarkand" not in texts
    assert _state(updated) == _state(_uncached(engine, tmp_path))

    engine.library.remove("new.txt")
    removed = make_engine(home).library.snapshot()
    assert removed.fetched == 0 and "new.txt" not in {c.source for c in removed.chunks}
    with open(_files(home)[0], "rb") as f:
        assert len(pickle.load(f)["entries"]) == 5  # the removed version is dropped from the file


def test_a_rebuild_starts_a_new_cache_file(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    engine.library.snapshot()
    before = _files(home)
    engine.library.rebuild()
    rebuilt = make_engine(home).library.snapshot()
    assert rebuilt.fetched == 5 and len(_files(home)) == 1 and _files(home) != before


def test_a_damaged_or_unwritable_cache_costs_a_fetch_not_an_answer(home):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    expected = engine.answer("Who founded the IIJ?").text
    path = _files(home)[0]
    path.write_bytes(b"\x80\x04garbage")
    damaged = make_engine(home)
    assert damaged.library.snapshot().fetched == 5 and damaged.answer("Who founded the IIJ?").text == expected
    assert make_engine(home).library.snapshot().fetched == 0  # rewritten whole

    shutil.rmtree(home / "cache")
    (home / "cache").write_text("not a folder")  # nothing can be written there (root ignores permissions)
    for _ in range(2):
        blocked = make_engine(home)
        assert blocked.library.snapshot().fetched == 5 and blocked.answer("Who founded the IIJ?").text == expected


def test_identical_files_share_one_cached_version(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    text = "Совет создан в мае 2024 года в Ташкенте."
    (folder / "a.txt").write_text(text, encoding="utf-8")
    (folder / "a (1).txt").write_text(text, encoding="utf-8")
    engine = make_engine(home)
    engine.library.add([folder])
    assert engine.library.snapshot().fetched == 1
    again = make_engine(home).library.snapshot()
    assert again.fetched == 0 and {c.source for c in again.chunks} == {"a (1).txt"}


def test_a_settled_index_lists_its_documents_from_the_cache(home, monkeypatch):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    first = engine.library.snapshot()
    assert first.version[1] % 2 == 0  # no change in flight

    def no_fetch(*_, **__):
        raise AssertionError("the document records were fetched, not read from the cache")

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


def test_a_reload_in_the_same_process_reuses_the_cache_in_memory(home, tmp_path, monkeypatch):
    engine = make_engine(home)
    engine.library.add([CORPUS])
    reader = make_engine(home)
    first = reader.library.snapshot()
    extra = tmp_path / "new.txt"
    extra.write_text("The Regional Expert Council met in Samarkand on 3 March 2025.", encoding="utf-8")
    engine.library.add([extra])  # another process writes

    def no_read(*_, **__):
        raise AssertionError("the cache file was read again")

    with monkeypatch.context() as patched:
        patched.setattr("qa.index.chunk_cache.pickle.load", no_read)
        again = reader.library.snapshot()
    assert again is not first and again.fetched == 1 and "new.txt" in again.documents
    assert _state(again) == _state(_uncached(engine, tmp_path))
