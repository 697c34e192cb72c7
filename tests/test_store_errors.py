"""Every failure of the index's store, on every path, is one line that names its cause and the way out: a damaged
file (`qa index rebuild`), a full disk or a read-only one (fix the disk, run the same command again: never a
rebuild), through ``Engine.answer``, ``Library.add``, ``documents()``, the command line and the chat; ``qa index
check`` reads everything; ``qa index list`` says when its rows come from the local cache over an unreadable store;
and no command dies of a signal at exit.

Read-only: root ignores file permissions, so as root the home is bind-mounted read-only (a real EROFS from the
kernel, as on a read-only disk); as another user it is made read-only with chmod. Where neither is possible the
test is skipped, and the classification itself is still covered by ``test_the_causes_are_told_apart``. A full disk
is a small tmpfs (root only; skipped otherwise, with the reason)."""

from __future__ import annotations

import errno
import os
import random
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.errors import DiskFull, IndexCorrupted, IndexLocked, IndexReadOnly, IndexUnwritable, QAError
from tests.conftest import make_engine
from tests.test_store import _docs

QUESTION = "Where are the headquarters of the IIJ?"


def _forget_clients() -> None:
    """Chroma keeps one client per folder in a process: drop them, so the next engine opens the files afresh."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _build(home: Path, folder: Path, cached: bool = True) -> None:
    engine = make_engine(home)
    engine.library.add([folder])
    if cached:
        engine.documents()  # a snapshot: the local cache of the chunks and the document list, kept on disk
    _forget_clients()


@pytest.fixture
def built(home, tmp_path, monkeypatch):
    """A small index of three documents (hashing embedder), with its local cache; the CLI reads the same home."""
    monkeypatch.setenv("QA_EMBEDDER", "hashing:256")
    folder = _docs(tmp_path)
    _build(home, folder)
    yield home
    _forget_clients()


def _database(home: Path) -> Path:
    return home / "chroma" / "chroma.sqlite3"


def _garble(home: Path) -> None:
    """Random bytes over pages 2-3 (Chroma's own tables: collections, segments)."""
    db = _database(home)
    data = bytearray(db.read_bytes())
    rng = random.Random(3)
    data[4096:12288] = bytes(rng.randrange(256) for _ in range(8192))
    db.write_bytes(bytes(data))


def _truncate(home: Path) -> None:
    db = _database(home)
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 3])


def _zero(home: Path) -> None:
    db = _database(home)
    db.write_bytes(b"\0" * db.stat().st_size)


def _garble_log(home: Path) -> None:
    """Random bytes over the root page of Chroma's log table: every read of a collection fails, while the list of
    collections and the local cache of the document list stay readable."""
    db = _database(home)
    con = sqlite3.connect(db)
    try:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'embeddings_queue'").fetchone()[0]
    finally:
        con.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * 4096 : root * 4096] = bytes(random.Random(1).randrange(256) for _ in range(4096))
    db.write_bytes(bytes(data))


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from qa.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    _forget_clients()
    return code, out, err


def _error_line(err: str) -> str:
    """The line qa printed (a Rust panic prints its own lines to the process's stderr, not through Python)."""
    lines = [line for line in err.splitlines() if line.startswith("qa: ")]
    assert lines, err
    return lines[-1]


# -- a damaged file ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", [_garble, _truncate, _zero], ids=["garbled", "truncated", "zeroed"])
def test_a_damaged_store_is_named_with_the_rebuild_on_every_path(built, tmp_path, capsys, damage):
    damage(built)
    for call in (
        lambda e: e.answer(QUESTION),
        lambda e: e.documents(),
        lambda e: e.library.add([tmp_path / "docs" / "malta.txt"]),
        lambda e: e.library.remove("malta.txt"),
    ):
        with pytest.raises(IndexCorrupted) as caught:
            call(make_engine(built))
        assert "`qa index rebuild`" in _one_line(caught.value)
        _forget_clients()
    for args in (
        ["ask", QUESTION],
        ["index", "list"],
        ["index", "add", str(tmp_path / "docs")],
        ["index", "remove", "malta.txt"],
        ["index", "check"],
    ):
        code, out, err = _cli(capsys, *args)
        assert code == 1 and "Traceback" not in err, (args, err)
        line = _error_line(err)
        assert "damaged" in line and "`qa index rebuild`" in line, (args, line)
    code, out, err = _cli(capsys, "index", "rebuild")
    assert code == 0, err
    code, out, err = _cli(capsys, "index", "check")  # the library already forgot the document asked to be removed
    assert code == 0 and out.startswith("healthy: 2 documents"), out + err


def test_a_store_damaged_under_the_cache_is_reported_by_list_and_answered_with_the_rebuild(built, capsys):
    _garble_log(built)
    code, out, err = _cli(capsys, "index", "list")
    assert sorted(line.split()[0] for line in out.splitlines()[1:]) == ["malta.txt", "page.html", "toshkent.md"]
    assert code == 1 and "local cache" in err and "`qa index rebuild`" in err and "Traceback" not in err, err
    with pytest.raises(IndexCorrupted, match="Failed to pull logs") as caught:
        make_engine(built).answer(QUESTION)
    assert "`qa index rebuild`" in _one_line(caught.value)
    _forget_clients()
    code, out, err = _cli(capsys, "ask", QUESTION)
    assert code == 1 and "Traceback" not in err and "damaged" in _error_line(err)
    code, out, err = _cli(capsys, "index", "check")
    assert code == 1 and out.startswith("not healthy") and "`qa index rebuild`" in err


def test_the_chat_says_what_is_wrong_in_a_message(built):
    pytest.importorskip("gradio")
    from qa.ui.app import build_app

    _garble(built)
    demo = build_app(make_engine(built))
    functions = {f.fn.__name__: f.fn for f in demo.fns.values() if getattr(f, "fn", None)}
    *_, last = functions["chat_turn"](QUESTION, [], 5, "", "extractive")
    message = last[1][-1]["content"]
    assert message.startswith("⚠") and "damaged" in message and "`qa index rebuild`" in message
    table = functions["documents_table"]()
    assert "damaged" in table[0][0]


# -- qa index check ----------------------------------------------------------------------------------------------


def test_check_reads_everything_and_says_healthy(built, capsys):
    code, out, err = _cli(capsys, "index", "check")
    assert code == 0 and err == ""
    assert out.startswith("healthy: 3 documents") and "the library: 3 copies" in out and "integrity: ok" in out


def test_check_finds_a_damaged_copy_in_the_library(built, capsys):
    copy = next((built / "library" / "texts").glob("*.txt"))
    copy.write_text("something else", encoding="utf-8")
    code, out, err = _cli(capsys, "index", "check")
    assert code == 1 and "library's copies of 1 document" in err and "qa index add" in err


# -- a full disk -------------------------------------------------------------------------------------------------


@contextmanager
def _tmpfs(path: Path, size: str):
    if os.geteuid() != 0:
        pytest.skip("a full disk is a small tmpfs, which needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        _forget_clients()
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(folder: Path, name: str = "filler") -> Path:
    filler = folder / name
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _disk_advice(line: str) -> None:
    assert "the same command again" in line and "not damaged" in line and "`qa index rebuild`" not in line, line


def test_a_full_disk_is_named_with_free_space_and_no_rebuild(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QA_EMBEDDER", "hashing:256")
    folder = _docs(tmp_path)
    with _tmpfs(tmp_path / "small", "16m") as disk:
        home = disk / "home"
        monkeypatch.setenv("QA_HOME", str(home))
        _build(home, folder)
        fillers = [_fill(disk)]
        # New text to add: re-adding the same unchanged files may need no write at all, and a small write may land in
        # space SQLite already holds (its write-ahead log), so the write is one that cannot fit there.
        extra = tmp_path / "extra"
        extra.mkdir()
        line = "The council met in Samarkand on {n} June 2025 and agreed on a joint plan of {n} points.\n"
        (extra / "minutes.txt").write_text("".join(line.format(n=n) for n in range(4000)), encoding="utf-8")

        def top_up():  # space freed since (SQLite deletes a write-ahead log when its last connection closes)
            fillers.append(_fill(disk, f"filler-{len(fillers)}"))

        # Reading may need no write at all (the lexicon holds the document list and the chunks): it either answers
        # or names the full disk; a write always names it.
        for call in (lambda e: e.answer(QUESTION), lambda e: e.documents()):
            try:
                call(make_engine(home))
            except DiskFull as exc:
                _disk_advice(_one_line(exc))
            _forget_clients()
        for call in (lambda e: e.library.add([extra]), lambda e: e.library.rebuild()):
            top_up()
            with pytest.raises(DiskFull) as caught:
                call(make_engine(home))
            _disk_advice(_one_line(caught.value))
            _forget_clients()
        for args in (
            ["ask", QUESTION],
            ["index", "list"],
            ["index", "add", str(extra)],
            ["index", "remove", "malta.txt"],
            ["index", "rebuild"],
            ["index", "check"],
        ):
            top_up()
            code, out, err = _cli(capsys, *args)
            if code == 0 and args[:2] in (["ask", QUESTION], ["index", "list"]):  # a read that needed no write
                continue
            assert code == 1 and "Traceback" not in err, (args, err)
            line = _error_line(err)
            assert "is full" in line, (args, line)
            _disk_advice(line)
        for filler in fillers:
            filler.unlink()
        (folder / "more.txt").write_text("The council met again in June 2025 in Samarkand.", encoding="utf-8")
        code, out, err = _cli(capsys, "index", "add", str(folder))
        assert code == 0 and "added     more.txt" in out, err
        code, out, err = _cli(capsys, "index", "check")
        assert code == 0 and out.startswith("healthy: 4 documents"), out + err


def test_a_disk_that_fills_during_an_add_is_named_and_the_add_resumes(tmp_path, monkeypatch, capsys):
    """Chroma's error then gives no reason ("Error in compaction: Failed to apply logs to the metadata segment"):
    the disk's free space tells."""
    monkeypatch.setenv("QA_EMBEDDER", "hashing:256")
    from qa.eval.distractors import make_distractors

    folder = tmp_path / "many"
    folder.mkdir()
    for name, text in make_distractors(150, 7):
        (folder / name).write_text(text, encoding="utf-8")
    with _tmpfs(tmp_path / "small", "3m") as disk:
        home = disk / "home"
        monkeypatch.setenv("QA_HOME", str(home))
        with pytest.raises(DiskFull) as caught:
            make_engine(home).library.add([folder])
        _disk_advice(_one_line(caught.value))
        _forget_clients()
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        code, out, err = _cli(capsys, "index", "add", str(folder))
        assert code == 0, err
        code, out, err = _cli(capsys, "index", "check")
        assert code == 0 and out.startswith("healthy: 150 documents"), out + err


# -- a read-only disk --------------------------------------------------------------------------------------------


@contextmanager
def _read_only(home: Path):
    """``home`` where nothing can be written: bind-mounted read-only as root (chmod binds no root), else chmod."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [home, *home.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield home
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    view = home.with_name(home.name + "-read-only")
    view.mkdir()
    bound = subprocess.run(["mount", "--bind", str(home), str(view)], capture_output=True)
    if bound.returncode:
        pytest.skip(f"cannot bind-mount here (root ignores chmod): {bound.stderr.decode().strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield view
    finally:
        _forget_clients()
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def test_a_read_only_disk_is_named_with_no_rebuild(built, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "docs"
    with _read_only(built) as home:
        monkeypatch.setenv("QA_HOME", str(home))
        for call in (
            lambda e: e.answer(QUESTION),
            lambda e: e.documents(),
            lambda e: e.library.add([folder]),
            lambda e: e.library.remove("malta.txt"),
            lambda e: e.library.rebuild(),
        ):
            with pytest.raises(IndexReadOnly) as caught:
                call(make_engine(home))
            _disk_advice(_one_line(caught.value))
            _forget_clients()
        for args in (
            ["ask", QUESTION],
            ["index", "list"],
            ["index", "add", str(folder)],
            ["index", "remove", "malta.txt"],
            ["index", "rebuild"],
            ["index", "check"],
        ):
            code, out, err = _cli(capsys, *args)
            assert code == 1 and "Traceback" not in err, (args, err)
            line = _error_line(err)
            assert "cannot be written" in line, (args, line)
            _disk_advice(line)
    monkeypatch.setenv("QA_HOME", str(built))
    code, out, err = _cli(capsys, "index", "check")  # nothing was changed or moved away
    assert code == 0 and out.startswith("healthy: 3 documents"), out + err


# -- the classification itself -----------------------------------------------------------------------------------


def test_the_causes_are_told_apart(tmp_path, monkeypatch):
    from chromadb.errors import InternalError, InvalidArgumentError, NotFoundError

    from qa.index import chroma as store

    folder = tmp_path / "chroma"
    folder.mkdir()

    class PanicException(BaseException):  # the type pyo3 raises when Chroma's Rust core panics
        pass

    cases = [
        (InternalError("error returned from database: (code: 13) database or disk is full"), DiskFull),
        (OSError(errno.ENOSPC, "No space left on device"), DiskFull),
        (sqlite3.OperationalError("database or disk is full"), DiskFull),
        (InternalError("error returned from database: (code: 8) attempt to write a readonly database"), IndexReadOnly),
        (OSError(errno.EROFS, "Read-only file system"), IndexReadOnly),
        (PermissionError(errno.EACCES, "Permission denied"), IndexReadOnly),
        (InternalError("error returned from database: (code: 11) database disk image is malformed"), IndexCorrupted),
        (InternalError("error returned from database: (code: 26) file is not a database"), IndexCorrupted),
        (
            InvalidArgumentError(
                "Error executing plan: Error sending backfill request to compactor: Failed to pull logs "
                "from the log store"
            ),
            IndexCorrupted,
        ),
        (PanicException("Expect it to be fetched: Database(SqliteError { code: 11 })"), IndexCorrupted),
        (InternalError("Error in compaction: Failed to apply logs to the metadata segment"), IndexCorrupted),
        (InternalError("database is locked"), IndexLocked),
    ]
    for exc, kind in cases:
        failure = store.store_failure(exc, folder)
        assert type(failure) is kind, (exc, failure)
        assert "\n" not in str(failure)
        assert ("`qa index rebuild`" in str(failure)) == (kind is IndexCorrupted), failure
    for exc in (
        NotFoundError("no such collection"),
        ValueError("a bug"),
        KeyboardInterrupt(),
        InvalidArgumentError("Expected where to have exactly one operator"),
    ):
        assert store.store_failure(exc, folder) is None, exc
    # A failure with no reason given, on a disk with little space left: the disk, not damage.
    monkeypatch.setattr(store, "LOW_SPACE", 1 << 62)
    failure = store.store_failure(
        InternalError("Error in compaction: Failed to apply logs to the metadata segment"), folder
    )
    assert isinstance(failure, DiskFull) and "MB free" in str(failure)
    assert issubclass(DiskFull, IndexUnwritable) and issubclass(IndexReadOnly, IndexUnwritable)
    assert issubclass(IndexUnwritable, QAError)
    # A statement with too many variables (a long $in list, seen at 30,000 documents) is no damage: no rebuild.
    failure = store.store_failure(
        InternalError("Error executing plan: error returned from database: (code: 1) too many SQL variables"), folder
    )
    assert type(failure) is QAError and "intact" in str(failure) and "rebuild" not in str(failure)


def test_a_rebuild_on_a_full_disk_moves_nothing_aside(built, monkeypatch):
    """A damaged store is moved aside and rebuilt; one on a full disk is left where it is (the rebuild would need
    the space it lacks, and the index is intact)."""
    from qa.index import store

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.Store, "rebuild", full)
    with pytest.raises(DiskFull):
        make_engine(built).library.rebuild()
    assert [p.name for p in built.iterdir() if p.name.startswith("chroma")] == ["chroma"]


# -- the exit ------------------------------------------------------------------------------------------------------


EXIT = r"""
import sys, threading, time
from pathlib import Path
from qa.index import store

class Slow:
    def warm(self, dimension):
        time.sleep(0.5)  # a Chroma call in flight when the main thread ends
        Path(sys.argv[1]).write_text("finished")

store.warming(Slow(), 8)
"""


def test_the_exit_waits_for_the_warm_up_thread(tmp_path):
    """A daemon thread still inside Chroma's Rust core when the interpreter shuts down is ended by the interpreter
    as it takes the GIL, and the unwinding through Rust frames crashes the process (SIGSEGV after its output):
    the exit waits for the warm-up thread instead."""
    marker = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", EXIT, str(marker)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "finished"


def test_no_signal_at_exit_on_a_damaged_store(tmp_path):
    """`qa ask` on a damaged store (its error comes at once, while the warm-up thread is inside Chroma) died of
    SIGSEGV after its error line in about half of the runs before the exit waited for that thread."""
    home = tmp_path / "home"
    env = dict(os.environ, QA_HOME=str(home), QA_EMBEDDER="hashing:256", PYTHONFAULTHANDLER="1")
    qa = [sys.executable, "-m", "qa.cli"]
    folder = tmp_path / "docs"
    folder.mkdir()
    from qa.eval.distractors import make_distractors

    for name, text in make_distractors(20, 7):
        (folder / name).write_text(text, encoding="utf-8")
    assert subprocess.run(qa + ["index", "add", str(folder)], env=env, capture_output=True).returncode == 0
    data = bytearray(_database(home).read_bytes())
    rng = random.Random(7)
    for _ in range(8):
        at = rng.randrange(4096, max(4097, len(data) - 4096))
        data[at : at + 4096] = bytes(rng.randrange(256) for _ in range(4096))
    _database(home).write_bytes(bytes(data))
    codes = [
        subprocess.run(qa + ["ask", QUESTION], env=env, capture_output=True, text=True, timeout=120) for _ in range(6)
    ]
    assert [c.returncode for c in codes] == [1] * 6, [c.stderr[-300:] for c in codes if c.returncode != 1]
    assert all("Traceback" not in c.stderr for c in codes)
