"""The Chroma client: one line per failure by its cause, every call patient with another process's lock.

- ``store_failure`` / ``StoreErrors``: a failure of Chroma or SQLite on any path, as the ``QAError`` that names
  its cause (damaged -> ``qa index rebuild``; full or read-only disk -> free space or fix permissions, the index
  untouched; locked; missing), with ``disk_state`` for the disk under the index.
- ``Patient`` / ``patiently``: a client or collection whose every call waits out another process's database
  lock (up to ``LOCK_WAIT``).
- ``make_client``: the embedded persistent client under the data directory, or a Chroma server by URL, made under
  ``CLIENT_LOCK`` (Chroma's per-process client registry is not safe across threads).
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from qa.config import Settings, offline_defaults
from qa.errors import DiskFull, IndexCorrupted, IndexLocked, IndexMissing, IndexReadOnly, QAError


def _chroma_failure(exc: BaseException) -> bool:
    """Chroma's own failures, including a panic of its Rust core on a damaged file (``PanicException``
    derives from BaseException); never an interrupt or an exit."""
    return not isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, QAError))


# What a failure of the store means, from the words SQLite, the OS and Chroma use for it (Chroma passes SQLite's
# errors on as text: "error returned from database: (code: 13) database or disk is full").
_FULL_WORDS = ("database or disk is full", "no space left on device", "disk quota exceeded")
_READ_ONLY_WORDS = (
    "readonly database",
    "read-only database",
    "read-only file system",
    "permission denied",
    "operation not permitted",
)
_DAMAGED_WORDS = (
    "database disk image is malformed",
    "file is not a database",
    "failed to pull logs",
    "malformed",
    "corrupt",
    "hnsw",
    "segment",
    "panicexception",
    "unexpected end of file",
    "failed to load",
    "checksum",
    "invalid page",
)
_SQLITE_FULL, _SQLITE_READONLY = 13, 8
_SQLITE_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
# A write Chroma could not finish gives no reason ("Error in compaction: Failed to apply logs to the metadata
# segment" on a full disk): with less free space than this (or than a quarter of the store) the disk is the cause.
LOW_SPACE = 32 * 1024 * 1024


def _failure_chain(exc: BaseException | None) -> list:
    chain: list[BaseException]
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < 8:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _detail(exc: BaseException) -> str:
    """One line about the failure, for the message: its type and the start of its text."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def disk_state(folder) -> tuple[str | None, str]:
    """Whether the disk under ``folder`` refuses writes: ("full", "0.7 MB free") / ("read-only", why) / (None, "")."""
    if folder is None:
        return None, ""
    folder = Path(folder)
    probe = folder if folder.exists() else folder.parent
    try:
        vfs = os.statvfs(probe)
    except OSError:
        return None, ""
    if vfs.f_flag & getattr(os, "ST_RDONLY", 1):
        return "read-only", "its file system is mounted read-only"
    free = vfs.f_bavail * vfs.f_frsize
    if free < max(LOW_SPACE, _folder_size(folder) // 4) or (vfs.f_files and vfs.f_favail == 0):
        return "full", f"{free / 1e6:.1f} MB free"
    database = folder / "chroma.sqlite3"
    for path in (probe, database):
        if path.exists() and not os.access(path, os.W_OK):
            return "read-only", f"no permission to write {path}"
    return None, ""


def store_failure(exc: BaseException, folder=None) -> QAError | None:
    """What a failure of the index's store means, as the ``QAError`` that says the way out; None when it is not
    one (an interrupt, a collection that does not exist, a programming error), so the caller re-raises it.

    - the disk is full (ENOSPC, SQLite's code 13) -> ``DiskFull``: free space, then the same command again;
    - it cannot be written (read-only file system, no permission: EROFS / EACCES, SQLite's code 8) ->
      ``IndexReadOnly``: fix that, then the same command again (Chroma writes even to read);
    - another process holds SQLite's lock -> ``IndexLocked``;
    - the files are damaged (SQLite's codes 11 and 26, Chroma's log or vector index unreadable, a panic of its
      Rust core) -> ``IndexCorrupted``: ``qa index rebuild``.
    A failure Chroma gives no reason for is put down to the disk when it is full or read-only (``disk_state``
    of ``folder``, the embedded store's folder), else to damage. Never advises a rebuild for a disk that refuses
    writes: the index is intact there, and a rebuild would need the space it lacks."""

    if isinstance(exc, QAError):
        return exc
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return None
    from chromadb.errors import NotFoundError, UniqueConstraintError

    if isinstance(exc, (NotFoundError, UniqueConstraintError)):
        return None
    chain = _failure_chain(exc)
    words = " ".join(f"{type(e).__name__}: {e}" for e in chain).lower()
    codes = {int(c) & 0xFF for c in re.findall(r"code:?\s*(\d+)", words)}
    codes |= {e.sqlite_errorcode & 0xFF for e in chain if isinstance(getattr(e, "sqlite_errorcode", None), int)}
    errnos = {e.errno for e in chain if isinstance(e, OSError) and e.errno}
    where = f" at {folder}" if folder else ""
    detail = _detail(exc)
    if "too many sql variables" in words:  # a statement too long for SQLite: qa asked too much at once, no damage
        return QAError(
            f"The index's database{where} refused a query naming too many documents ({detail}); the index is "
            "intact. This is a limit qa should have stayed under: please report it."
        )
    if _database_locked(exc):
        return IndexLocked(
            f"Another process holds the lock of the index's database{where} ({detail}). Try again when it has finished."
        )
    full = (
        errno.ENOSPC in errnos
        or getattr(errno, "EDQUOT", -1) in errnos
        or _SQLITE_FULL in codes
        or any(w in words for w in _FULL_WORDS)
    )
    read_only = (
        bool(errnos & {errno.EROFS, errno.EACCES, errno.EPERM})
        or _SQLITE_READONLY in codes
        or any(w in words for w in _READ_ONLY_WORDS)
    )
    damaged = bool(codes & set(_SQLITE_DAMAGED)) or any(w in words for w in _DAMAGED_WORDS)
    # Chroma's "something failed inside" (its Rust core's errors and panics, SQLite's): the store's, reason unknown.
    # Its other errors (an invalid argument) are programming errors unless their words say otherwise.
    chroma = any(
        type(e).__name__ in ("InternalError", "PanicException") or type(e).__module__ == "sqlite3" for e in chain
    )
    if any(type(e).__module__.split(".")[0] in ("httpx", "httpcore") for e in chain):
        return IndexMissing(
            f"The Chroma server cannot be reached ({detail}). Start it again (`chroma run`) or check "
            "QA_CHROMA_URL, then run the same command again."
        )
    if not (full or read_only or damaged or chroma):
        return None  # not the store's: a programming error keeps its traceback
    state, how = disk_state(folder)
    if full or (state == "full" and not read_only):
        free = f"{how}; " if state == "full" else ""
        return DiskFull(
            f"The disk that holds the index{where} is full ({free}{detail}). Free some space on it, then "
            "run the same command again: the index is not damaged (the write was rolled back), and an "
            "add resumes where it stopped."
        )
    if read_only or state == "read-only":
        why = f"{how}; " if state == "read-only" else ""
        return IndexReadOnly(
            f"The index{where} cannot be written ({why}{detail}). Make its folder writable (the "
            "permissions, or mount the disk read-write; Chroma writes even to read), then run the "
            "same command again: the index is not damaged."
        )
    return IndexCorrupted(
        f"The index{where} is damaged ({detail}). Run `qa index rebuild`: it rebuilds the index "
        "from the library's own copies of your documents."
    )


class StoreErrors:
    """``with StoreErrors(folder):`` turns a failure of the store (``store_failure``) into its ``QAError``;
    anything else passes unchanged."""

    def __init__(self, folder=None):
        self.folder = folder

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, QAError):
            return False
        failure = store_failure(exc, self.folder)
        if failure is None:
            return False
        raise failure from None


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def reading(read, folder=None):
    """Run a read of the store; a failure of Chroma becomes the ``QAError`` that names its cause and the way out
    (``store_failure``; one it cannot place is a damaged file: ``IndexCorrupted``)."""
    try:
        return read()
    except BaseException as exc:
        if not _chroma_failure(exc):
            raise
        raise (store_failure(exc, folder) or _unreadable(exc, folder)) from None


def _unreadable(exc: BaseException, folder=None) -> IndexCorrupted:
    where = f" at {folder}" if folder else ""
    return IndexCorrupted(
        f"The index{where} cannot be read ({_detail(exc)}). Run `qa index rebuild`: it rebuilds "
        "the index from the library's own copies of your documents."
    )


# How long a Chroma call waits out another process's lock on the index's SQLite database before giving up.
# SQLite waits by itself for most locks, but not when a transaction that has read must then write while another
# process holds the write lock (it answers "database is locked" at once, to avoid a deadlock): Chroma's collection
# settings change does exactly that while a `qa serve` reading the same index loads it. The call is repeated.
LOCK_WAIT = 60.0


def _database_locked(exc: BaseException) -> bool:
    """SQLite's "busy" (code 5) or "locked" (code 6), as Chroma reports them."""
    text = str(exc)
    return "database is locked" in text or "database table is locked" in text


def patiently(call, *args, **kwargs):
    """``call(*args, **kwargs)``, repeated with a growing pause while the database is locked by another process
    (up to ``LOCK_WAIT`` seconds; then ``IndexLocked``). A locked call changed nothing: SQLite rolled it back.
    Any other failure of the store becomes its ``QAError`` (``store_failure``)."""
    return _patiently(None, call, args, kwargs)


def _patiently(folder, call, args, kwargs):
    """``patiently``; ``folder``: the embedded store's folder, whose disk is looked at when a failure gives no reason."""
    pause, waited = 0.01, 0.0
    while True:
        try:
            return call(*args, **kwargs)
        except BaseException as exc:
            if not _database_locked(exc):
                failure = store_failure(exc, folder)
                if failure is None or failure is exc:
                    raise
                raise failure from None
            if waited >= LOCK_WAIT:
                raise IndexLocked(
                    f"Another process kept the index's database locked for {waited:.0f} s. "
                    "Try again when it has finished."
                ) from None
        time.sleep(pause)
        waited += pause
        pause = min(pause * 2, 0.5)


class Patient:
    """A Chroma client or collection whose every call waits out another process's lock (see ``patiently``);
    the collections it returns are wrapped the same way. Attributes that are not calls pass through."""

    __slots__ = ("inner", "folder")

    def __init__(self, inner, folder=None):
        self.inner = inner
        self.folder = folder  # the embedded store's folder (None: a server)

    def __getattr__(self, name):
        value = getattr(self.inner, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            out = _patiently(self.folder, value, args, kwargs)
            if isinstance(out, list):
                return [_patient(o, self.folder) for o in out]
            return _patient(out, self.folder)

        return call


def _patient(value, folder=None):
    from chromadb.api.models.Collection import Collection

    return Patient(value, folder) if isinstance(value, Collection) else value


# Chroma keeps one registry of embedded clients per process (``SharedSystemClient``), not safe across threads: a
# client made while another thread clears it (``Library._reopen``, after another process wrote) fails with a
# KeyError or an unstarted system ("'RustBindingsAPI' object has no attribute 'bindings'"), seen in a soak with
# questions answered while the CLI wrote. Making and clearing hold this lock; clients already made keep their own
# system and answer on.
CLIENT_LOCK = threading.RLock()


def make_client(settings: Settings):
    """Embedded persistent Chroma under the data directory, or a Chroma server by URL."""
    offline_defaults()
    try:
        import chromadb
    except ImportError as exc:  # pragma: no cover
        raise QAError("chromadb is not installed: pip install chromadb") from exc
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return Patient(
                chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=_chroma_settings(),
                )
            )
        except Exception as exc:
            raise IndexMissing(f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}") from None
    path = settings.home / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return Patient(
            _patiently(path, chromadb.PersistentClient, (), {"path": str(path), "settings": _chroma_settings()}), path
        )
    except BaseException as exc:
        _forget_failed_client(path)
        if not _chroma_failure(exc) and not isinstance(exc, QAError):
            raise
        raise (store_failure(exc, path) or _unreadable(exc, path)) from None


def _forget_failed_client(path: Path) -> None:
    """Chroma keeps a client per folder in the process even when opening it failed half-way (the next one would
    then fail with "no attribute 'bindings'" instead of the cause): drop it, so the next attempt opens afresh."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    except Exception:  # pragma: no cover - another version of Chroma
        pass
