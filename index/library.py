"""The library: the documents in the index and their lifecycle (add, update, remove, rebuild).

The answering engine only reads a ``Snapshot`` of it; every write goes through here, under the
write lock (one writer per index, across processes). Readers never wait for a writer: they keep
answering from the snapshot they hold, and at their next question notice that the index changed (in
this process or another: the store records a write counter) and load the new state.

About 480 lines: every write (add, update, remove, rebuild) and the reload after one share the write lock, the
manifest and the write counter; kept together, the locking is read in one place.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import threading
import time
from typing import Callable, Literal

from qa.config import Settings, bundled_corpus
from qa.errors import (
    DocumentNotFound,
    EmptyDocument,
    IndexCorrupted,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    IndexUnwritable,
    QAError,
    UnsupportedDocument,
)
from qa.index import chunker_id
from qa.index.chroma import CLIENT_LOCK, StoreErrors, _detail, store_failure
from qa.index.manifest import Manifest
from qa.index.readers import collect_paths, plan_line, read_document
from qa.index.snapshot import Snapshot
from qa.index.store import Store, WriteLock
from qa.prompts import message


class Library:
    def __init__(self, settings: Settings, embedder, notify: Callable[[str], None] | None = None):
        self.settings = settings
        self.embedder = embedder
        self.notify = notify or (lambda message: None)
        self._snapshot: Snapshot | None = None
        self._load_lock = threading.Lock()  # one snapshot load at a time
        self._write_lock_local = threading.Lock()  # one writer per process (the file lock: per index)
        self._own_write: tuple | None = None  # the store's version after this process's last write
        self._store = None
        self._chunker = None
        self.manifest = Manifest(settings.home)
        self._layout_checked = False  # whether this process has checked the index's layout (``ensure``)

    @property
    def chunker(self):
        if self._chunker is None:
            from qa.index.chunking import SentenceChunker  # llama-index, about 1 s to import: only writes need it

            self._chunker = SentenceChunker(
                chunk_tokens=self.settings.chunk_tokens, overlap_tokens=self.settings.chunk_overlap_tokens
            )
        return self._chunker

    @property
    def store(self):
        if self._store is None:
            self._store = Store(
                self.settings, self.embedder, chunker_id(self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)
            )
        return self._store

    def _write_lock(self):
        return WriteLock(self.settings.home)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def folder(self):
        """The embedded store's folder (None with a Chroma server): whose disk a store failure is checked against."""
        return None if self.settings.chroma_url else self.settings.home / "chroma"

    def _store_errors(self):
        """A failure of the store, on any path, as the ``QAError`` that names its cause (``store_failure``)."""
        return StoreErrors(self.folder)

    def snapshot(self) -> Snapshot:
        """The current state of the index, reloaded when it changed (building the bundled corpus if allowed)."""
        with self._store_errors():
            return self._snapshot_now()

    def _snapshot_now(self) -> Snapshot:
        current = self._snapshot
        if current is not None and self._unchanged(current):
            return current
        with self._load_lock:
            if self._snapshot is not None and self._snapshot is not current and self._unchanged(self._snapshot):
                return self._snapshot  # another thread loaded it meanwhile
            reopened = current is not None and not self._own_version()
            if reopened:
                self._reopen()  # another process wrote (this process's client already sees its own writes)
            self.ensure()
            if current is None or reopened:
                self._settle()
            # A fresh client (the process's first load, or reopened) has Chroma load the vector indexes meanwhile.
            self._snapshot = Snapshot.load(self.store, warm=current is None or reopened, previous=current)
            if current is not None:
                release_freed_memory()  # the replaced snapshot (and, reopened, the old client) is garbage now
            return self._snapshot

    def _own_version(self) -> bool:
        """True when the store's version is the one this process's last write left."""
        try:
            return self._own_write is not None and self.store.version() == self._own_write
        except Exception:  # an unreadable store: reopen it, and let ensure() say what is wrong
            return False

    def invalidate(self) -> None:
        """Forget the loaded state: the next question reads the index again."""
        self._snapshot = None

    def _unchanged(self, snapshot: Snapshot) -> bool:
        try:
            return self.store.version() == snapshot.version
        except Exception:  # a store that cannot even say its version: reload, and let the load report why
            return False

    def _reopen(self) -> None:
        """Another process may have written: an embedded Chroma client keeps its vector indexes in memory,
        so open the store afresh (a Chroma server is shared and needs nothing)."""
        if self.settings.chroma_url or self._store is None:
            return
        from chromadb.api.client import SharedSystemClient

        with CLIENT_LOCK:
            SharedSystemClient.clear_system_cache()
            self._store = None

    def ensure(self, progress=None) -> None:
        """Make sure an index exists: build it from the bundled corpus on first use, if allowed."""
        if not self.store.exists():
            if len(self.manifest):
                # Never replace a user's library with the bundled corpus: say what happened and how to mend it.
                raise IndexMissing(
                    f"The index is missing or empty, but your library of {len(self.manifest)} documents is kept in "
                    f"{self.manifest.folder}. Run `qa index rebuild` to index it again."
                )
            if not self.settings.auto_build:
                raise IndexMissing("There is no index yet. Run `qa index add PATH...` or `qa index rebuild`.")
            self.build_bundled(progress)
        elif not self._layout_checked:
            self._upgrade_bundled(progress)
            self._layout_checked = True

    def _upgrade_bundled(self, progress=None) -> None:
        """An index of the bundled corpus alone, written by another version of qa (another index layout), is rebuilt
        on first use (about 15 s; nothing of the user's is at stake). Any other library, or another configuration
        (``QA_EMBEDDER``), keeps ``IndexMismatch``, which says how to rebuild: a large library takes long, and the
        user chooses when."""
        try:
            self.store.check_compatible()
        except IndexMismatch:
            older = self.store.stored_build_info().get("qa_schema") != self.store.build_info()["qa_schema"]
            if not (older and self.settings.auto_build and self._only_bundled()):
                raise
            self.notify("The index of the bundled documents was written by an older version of qa; rebuilding it ...")
            self.rebuild(progress)

    def _only_bundled(self) -> bool:
        """Whether the library holds exactly the bundled documents, unchanged."""
        entries = self.manifest.entries()
        bundled = {src.name: src.content_hash for src in _bundled_sources()}
        return bool(entries) and {name: e.get("hash") for name, e in entries.items()} == bundled

    def _settle(self) -> None:
        """An index written by an older version searches with Chroma's default breadth, which misses part of
        the nearest vectors, differently in every process: give it ours before the first question. Skipped,
        not waited for, while a write is under way in this process or another (a write settles what it writes)."""
        collections = self.store.open()
        if not collections.unsettled() or not self._write_lock_local.acquire(blocking=False):
            return  # settled, or this process is writing (a long ingest must not hold up the first question)
        try:
            with self._write_lock():
                collections.settle()
        except (IndexLocked, IndexUnwritable):  # a full or read-only disk: answer with Chroma's breadth meanwhile
            pass
        finally:
            self._write_lock_local.release()

    def exists(self) -> bool:
        return self.store.exists()

    def check(self):
        """Read everything a snapshot reads, from the store itself (``Store.check``), and the library's manifest
        with every copy it keeps; a ``CheckReport`` whose ``problems`` each say the way out."""
        started = time.perf_counter()
        with self._store_errors():
            report = self.store.check()
        try:
            entries = self.manifest.entries()
        except IndexCorrupted as exc:
            entries = {}
            report.problems.append(
                (
                    "the library",
                    IndexCorrupted(
                        f"{exc} The index still holds every document's text: run `qa index add` on your documents again to "
                        "write the library afresh."
                    ),
                )
            )
        damaged = []
        for name, entry in sorted(entries.items()):
            path = self.manifest.texts / f"{entry.get('hash')}.txt"
            try:
                data = path.read_bytes()
            except OSError:
                damaged.append(name)
                continue
            if hashlib.sha256(data).hexdigest() != entry.get("hash"):
                damaged.append(name)
        report.library = len(entries) - len(damaged)
        if damaged:
            report.problems.append(
                (
                    "the library's copies",
                    IndexCorrupted(
                        f"The library's copies of {len(damaged)} document(s) are missing or damaged ({', '.join(damaged[:3])}) "
                        f"in {self.manifest.texts}. The index still answers from its own text; add those files again with "
                        "`qa index add` before any `qa index rebuild`, which reads the copies."
                    ),
                )
            )
        listed = None
        if report.documents and not report.problems:
            try:
                listed = {d.name for d in self.store.documents()}
            except Exception:
                listed = None
        # With a Chroma server other machines add and remove too: this machine's copies are not the index's list.
        if listed is not None and entries and set(entries) != listed and not self.settings.chroma_url:
            missing, extra = sorted(set(entries) - listed), sorted(listed - set(entries))
            apart = (
                [f"the library lists {len(missing)} document(s) the index does not ({', '.join(missing[:3])})"]
                if missing
                else []
            )
            apart += [f"the index lists {len(extra)} the library does not ({', '.join(extra[:3])})"] if extra else []
            report.problems.append(
                (
                    "the library and the index",
                    IndexCorrupted(
                        f"{'; '.join(apart).capitalize()}: an add or remove cut short. Run the same command again, or "
                        "`qa index rebuild` to index exactly the library."
                    ),
                )
            )
        report.seconds = time.perf_counter() - started
        return report

    def readable(self) -> Exception | None:
        """None when the store itself can be read (the document records and every collection's count), else the
        ``QAError`` saying why: a listing answered from the local cache checks the store below it with this."""
        try:
            with self._store_errors():
                self.store.readable(self.store.open())
        except QAError as exc:
            return exc
        return None

    def documents(self):
        return list(self.snapshot().documents.values())

    def document_text(self, name: str) -> str:
        return self.snapshot().text(name)

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, action):
        with self._store_errors(), self._write_lock_local, self._write_lock():
            try:
                return action()  # readers notice the new version at their next question
            finally:
                try:
                    self._own_write = self.store.version()
                except BaseException:
                    self._own_write = None

    def add(self, paths, progress=None, replace_from_other_folders: bool = False, announce: bool = True):
        """Index files and folders, streamed: files are read as the index takes them, in batches that become
        searchable one by one (``Store.ingest``). A file that cannot be read is skipped and reported in
        ``failed``; the rest are indexed. Two files with one name from different folders, or a file named
        like a document indexed from another folder, are refused (not silently replaced) unless
        ``replace_from_other_folders`` (uploads, whose temporary folder differs every time)."""
        passed_over: list = []
        files = collect_paths(list(paths), passed_over)
        seen: dict[str, str]
        failed, errors, notes, skipped, seen, partly = [], [], [], [], {}, []

        def pages_read(path):  # text recognition takes seconds a page: a line per page of a long file
            return lambda done, total: total > 1 and self.notify(
                f"{path.name}: text recognition (OCR), page {done} of {total}"
            )

        if announce:  # at once: a log shows the work ahead before the first batch
            self.notify(plan_line(files, self.settings))

        # The folder each listed name came from, asked of the store for the next files' names as they are read (a
        # write's cost is its own, not the library's).
        known: dict[str, str] = {}
        asked: set[str] = set()
        check = not replace_from_other_folders and self.store.exists()

        def listed_path(i: int, name: str) -> str | None:
            if check and name not in asked:
                ahead = list(dict.fromkeys([name] + [p.name for p in files[i : i + 256] if p.name not in asked]))
                asked.update(ahead)
                known.update((n, r.path) for n, r in self.store.listed(ahead).items())
            return known.get(name)

        def readable():
            for i, path in enumerate(files):
                try:
                    source = read_document(path, progress=pages_read(path))
                except EmptyDocument as exc:
                    skipped.append((str(path), str(exc)))
                    errors.append(exc)
                    continue
                except QAError as exc:
                    failed.append((str(path), str(exc)))
                    errors.append(exc)
                    continue
                except OSError as exc:
                    failed.append((str(path), f"{path.name}: cannot be read ({exc.strerror or exc})."))
                    errors.append(UnsupportedDocument(failed[-1][1]))
                    continue
                other = seen.get(source.name) or listed_path(i, source.name)
                if other and other != source.path:
                    failed.append(
                        (
                            str(path),
                            f"{source.name}: a document of this name from {other} is already "
                            "indexed; rename one of them (citations name documents by file name).",
                        )
                    )
                    continue
                seen[source.name] = source.path
                if source.note:
                    notes.append((source.name, source.note))
                if source.skipped:  # scanned pages left unread (no Tesseract): listed, the rest indexed
                    partly.append((str(path), source.skipped))
                yield source

        def counted(stage, done, total):  # files skipped or refused are handled too
            if stage == "embedding":  # texts of the batch being embedded, not documents
                return progress(stage, done, total)
            progress(stage, done + len(failed) + len(skipped), total)

        report = self._write(lambda: self._ingest(readable(), progress and counted, total=len(files)))
        if not seen and len(files) == 1 and errors:
            raise errors[0]  # the one file asked for: its own error
        report.failed = failed
        report.notes = notes
        report.skipped = skipped + partly
        report.passed_over = [str(p) for p in passed_over]
        return report

    def _ingest(self, sources, progress, total=None):
        # The truth first, then the cache: each batch's texts are kept in the library before it is switched.
        return self.store.ingest(sources, self.chunker, progress, before_switch=self.manifest.record, total=total)

    def remove(self, name: str) -> None:
        def remove():
            listed = name in self.manifest
            self.manifest.forget(name)
            try:
                self.store.remove(name)
            except (DocumentNotFound, IndexMissing):
                if not listed:  # a document the library lists but whose indexing never completed: gone now
                    raise

        self._write(remove)

    def rebuild(self, progress=None):
        """Chunks and vectors made again from the library's own copies of the documents (``index/manifest.py``),
        in a new generation; an index that cannot be opened at all is moved aside first."""

        def rebuild():
            # With a Chroma server the store is shared by every machine that answers from it, and it keeps each
            # document's text: a rebuild reads them from there (this machine's copies hold only what it added).
            count = 0 if self.settings.chroma_url else len(self.manifest)
            sources = self.manifest.sources if count else None  # read back one by one as the rebuild goes
            try:
                report = self.store.rebuild(self.chunker, progress, sources=sources and sources(), total=count or None)
            except BaseException as exc:  # a damaged store fails in many ways (sqlite, hnsw, a panic in chroma)
                # A full or read-only disk, or another process's lock, leaves the index intact: say so, move nothing.
                failure = store_failure(exc, self.folder)
                if (
                    isinstance(exc, (KeyboardInterrupt, SystemExit))
                    or self.settings.chroma_url
                    or isinstance(failure, (IndexUnwritable, IndexLocked))
                ):
                    raise
                if sources is None:  # an index written before the library kept copies: nothing to rebuild from
                    if isinstance(failure, IndexCorrupted):
                        raise IndexCorrupted(
                            f"The index at {self.folder} is damaged ({_detail(exc)}), and the library keeps no copies "
                            "of its documents (it was written by an older qa): move that folder away and add your "
                            "documents again with `qa index add`."
                        ) from None
                    raise
                self._move_damaged_store()
                report = self.store.rebuild(self.chunker, progress, sources=sources(), total=count)
            if sources is None:  # an index made before the library kept its own copies: keep them from now on
                self.manifest.record(self.store.sources())
            return report

        return self._write(rebuild)

    def _move_damaged_store(self) -> None:
        from chromadb.api.client import SharedSystemClient

        folder = self.settings.home / "chroma"
        if folder.exists():
            aside = folder.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            folder.rename(aside)
            self.notify(f"The index could not be opened; it was moved to {aside} and is rebuilt from the library.")

        with CLIENT_LOCK:
            SharedSystemClient.clear_system_cache()
            self._store = None

    def build_bundled(self, progress=None):
        sources = _bundled_sources()
        self.notify(message("building_index", "en", count=str(len(sources))))

        def build():
            if not self.store.exists():
                self.manifest.record(sources)
                self.store.rebuild(self.chunker, progress, sources=sources)

        self._write(build)


def _bundled_sources() -> list:
    """The bundled documents, read as an index reads them."""
    return [read_document(p) for p in collect_paths([bundled_corpus()])]


def release_freed_memory() -> None:
    """Hand memory freed by the replaced snapshot back to the system (glibc's ``malloc_trim``; elsewhere a no-op).

    A server reloads its snapshot after every write; the old one's chunk rows, BM25 arrays and Chroma client are
    freed, but glibc keeps the freed pages in its heaps, so the process grew by about 1.5 MB per write (30 writes
    by another process: 268 -> 308 MB; trimmed after each reload: 238 -> 255 MB)."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        gc.collect()
        _TRIM(0)


_TRIM: Callable[[int], int] | Literal[False] | None = None  # None: not looked up yet; False: no malloc_trim
