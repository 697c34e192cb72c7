"""The index on disk (or on a Chroma server): documents, chunks, sentences.

Layout, per *generation* (a full build with one configuration):

- ``{prefix}-g{N}-documents``: one record per document (id = file name), the
  full text, its content hash, language, title, chunk count, date added.
- ``{prefix}-g{N}-chunks-{lang}`` / ``-sentences-{lang}``: embedded chunks and
  sentences of the documents in one language, each tagged with the content
  hash of the document version they belong to. One collection per language,
  so a language-scoped dense query needs no metadata filter (a filtered query
  costs time in proportion to the library).
- ``{prefix}-meta``: which generation is active, its count of writes, and the
  versions a write in flight marked (one record per generation).

The documents collection's metadata records how the generation was built
(layout version, embedder id, dimension, metric, chunker); opening it with
another configuration raises ``IndexMismatch``.

Nothing is lost on a crash: an ingest first marks the versions a batch
writes or unlists as in flight (a record in the meta collection), writes the
new chunks and sentences (under new ids, invisible to queries, which only see
the content hashes of the documents collection), then switches the document
records in one call, then deletes what the replaced versions left and clears
the mark. A kill at any point leaves the index answering exactly as before;
the next write sweeps what the marked versions left. A write asks the store
only about its own names and contents: its cost is its size, not the library's.
A rebuild writes a new generation and switches the meta pointer last.

The Chroma client, its failures by cause and its lock retry are in ``qa.index.chroma``. This module stays long
(about 1,000 lines) because it is the one place that writes: generations, the per-language collections and their
HNSW flush settings, batches, the switch, the sweep, removal, rebuild and the check must see one another's
invariants (the state-machine test in ``tests/test_store_states.py`` holds them together).
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import re
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from qa.config import Settings
from qa.errors import (
    DocumentNotFound,
    IndexCorrupted,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    IndexReadOnly,
    QAError,
    StaleIndex,
)
from qa.index.chroma import (
    CLIENT_LOCK,
    LOCK_WAIT,
    _chroma_failure,
    _unreadable,
    make_client,
    reading,
    store_failure,
)
from qa.index.lexicon import Lexicon, chunk_row
from qa.index.readers import SourceDocument
from qa.language.detect import reading_form

SCHEMA_VERSION = (
    3  # 2: chunks and sentences in one collection per document language; 3: Uzbek Cyrillic embedded in Latin
)
METRIC = "cosine"
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class DocumentRecord:
    name: str
    content_hash: str
    language: str
    title: str
    chunks: int
    added: str
    path: str
    chars: int
    # [(start, end)] of the text read by text recognition (OCR). A tuple default: records pickled by the chunk cache
    # before the field existed load with it (a class attribute), and had no OCR.
    ocr: tuple = ()

    def ocr_overlaps(self, start: int, end: int) -> bool:
        """Whether text[start:end] holds text read by OCR."""
        return any(a < end and start < b for a, b in self.ocr)


@dataclass
class IngestReport:
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    failed: list = field(default_factory=list)  # (path, why) of files that could not be read and were skipped
    notes: list = field(default_factory=list)  # (name, note) about how a file was read ("read as cp1251")
    skipped: list = field(default_factory=list)  # (path, why) of files with nothing to index (empty)
    passed_over: list = field(default_factory=list)  # paths of files in the folders that are no kind qa reads


@dataclass
class CheckReport:
    """What ``Store.check`` (and ``Library.check``) read, and what failed: (what, ``QAError`` with the way out)."""

    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    collections: int = 0
    languages: set = field(default_factory=set)
    leftovers: int = 0  # chunks and sentences no listed document owns (a write cut short; swept by the next write)
    integrity: str = ""  # "ok" from SQLite's integrity check of an embedded store ("" with a server)
    library: int = 0  # documents listed in the library's manifest, each with its copy read back
    problems: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return not self.problems


_SETTING_VARIABLES = {"qa_embedder": "QA_EMBEDDER", "qa_chunk_vectors": "QA_CHUNK_VECTORS"}


def _ocr_spans(value) -> tuple:
    """The OCR ranges kept in a document's metadata (a JSON list of [start, end]), as a tuple of pairs."""
    if not value:
        return ()
    try:
        return tuple((int(a), int(b)) for a, b in json.loads(value))
    except (TypeError, ValueError):
        return ()


def _build_info(metadata: dict | None) -> dict:
    info = {k: v for k, v in (metadata or {}).items() if k.startswith("qa_")}
    if info:
        info.setdefault("qa_chunk_vectors", "embed")  # indexes made before the choice existed embedded chunks
    return info


class WriteLock:
    """One writer per index: a second process gets ``IndexLocked`` at once, not a corrupted index."""

    def __init__(self, home: Path):
        from filelock import FileLock, Timeout

        home.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(home / "write.lock"))
        self._timeout = Timeout
        self.home = home

    def __enter__(self):
        try:
            self._lock.acquire(timeout=0)
        except self._timeout:
            raise IndexLocked(
                f"Another qa process is writing the index in {self.home}. Wait for it to finish and try again."
            ) from None
        return self

    def __exit__(self, *exc):
        self._lock.release()


KINDS = ("chunks", "sentences")
# Chroma applies new vectors to a collection's on-disk vector index only every ``sync_threshold`` (1,000) writes;
# until then every process that opens the collection replays them (1.6 s of a cold start at 10,000 documents).
# A flush lowers the threshold for one write, then puts it back.
FLUSH_THRESHOLD = 2
# How many graph neighbours a vector query explores (Chroma's default is 100). The vectors of one language are
# close together (e5 similarities of 0.75-0.9), and the graph search misses part of the exact top 20: share of
# the exact top 20 found, test-part questions over every collection (ties counted as found):
#   500 distractor documents:  0.9975 at 100, 0.9999 at 400, 1.0 at 1,000;
#   10,000 documents:          0.81 at 100, 0.91 at 400, 0.96 at 1,000 (chunks and English sentences exact; the
#                              losses are in the large Russian and Uzbek sentence collections).
# A query took 1.9 ms at 100 and 3.8 ms at 1,000 there (p50; six per question). Set on every chunk and sentence
# collection when it is written (an older index at its next write).
EF_SEARCH = 1000


def _opened(get, folder=None):
    """A Chroma collection from ``get()``; None when it does not exist, else the ``QAError`` of the failure
    (``reading``)."""
    from chromadb.errors import NotFoundError

    try:
        return get()
    except NotFoundError:
        return None
    except BaseException as exc:
        if not _chroma_failure(exc):
            raise
        raise (store_failure(exc, folder) or _unreadable(exc, folder)) from None


# The most ids or hashes one Chroma call is asked for (its SQLite refuses a statement with too many variables).
_ASK = 1000


def _paged(collection, include: list[str], page: int = 5000) -> dict:
    """Every record of ``collection`` (ids and ``include``), read ``page`` at a time: Chroma reads a whole
    collection's records in one SQL statement naming each of them, which SQLite refuses past 32,766 (seen at 100,000
    documents: "too many SQL variables")."""
    out: dict = {"ids": [], **{key: [] for key in include}}
    while True:
        got = reading(lambda: collection.get(include=include, limit=page, offset=len(out["ids"])))
        out["ids"].extend(got["ids"])
        for key in include:
            out[key].extend(got[key] or [])
        if len(got["ids"]) < page:
            return out


def _groups(items: Iterable, n: int):
    """``items`` in lists of ``n`` (the last may be shorter), read as they are needed."""
    group: list = []
    for item in items:
        group.append(item)
        if len(group) == n:
            yield group
            group = []
    if group:
        yield group


def _record(name: str, m: dict) -> DocumentRecord:
    return DocumentRecord(
        name=name,
        content_hash=m["hash"],
        language=m.get("language", ""),
        title=m.get("title", ""),
        chunks=int(m.get("chunks", 0)),
        added=m.get("added", ""),
        path=m.get("path", ""),
        chars=int(m.get("chars", 0)),
        ocr=_ocr_spans(m.get("ocr")),
    )


def _stored_metadata(node) -> dict:
    """A node's metadata as the store keeps it."""
    return {k: v for k, v in node.metadata.items() if k != "embed_text"}


def _language_part(language: str) -> str:
    """The language code as it appears in a collection name (Chroma allows ``[a-zA-Z0-9._-]``)."""
    return re.sub(r"[^a-z0-9]", "", (language or "").lower()) or "und"


def _hnsw(collection) -> dict:
    return dict((getattr(collection, "configuration_json", None) or {}).get("hnsw") or {})


def _lowered(hnsw: dict) -> bool:
    """Whether write batching is still at the flush setting (a flush cut short by a crash)."""
    return (
        int(hnsw.get("sync_threshold") or 1000) <= FLUSH_THRESHOLD
        or int(hnsw.get("batch_size") or 100) <= FLUSH_THRESHOLD
    )


def _settled(hnsw: dict) -> bool:
    """Whether the collection has our settings: write batching not left lowered, the search breadth ours."""
    return not _lowered(hnsw) and int(hnsw.get("ef_search") or 100) == EF_SEARCH


def _hnsw_settings(collection) -> dict:
    """The collection's own write-batching settings (Chroma's defaults where a flush cut short by a crash left
    them lowered) and our search breadth."""
    hnsw = _hnsw(collection)
    own = {} if _lowered(hnsw) else hnsw
    return {
        "sync_threshold": int(own.get("sync_threshold") or 1000),
        "batch_size": int(own.get("batch_size") or 100),
        "ef_search": EF_SEARCH,
    }


def _set_hnsw(collection, settings: dict) -> None:
    with warnings.catch_warnings():  # Chroma warns that collections made without an embedding function are "legacy"
        warnings.simplefilter("ignore", DeprecationWarning)
        collection.modify(configuration={"hnsw": settings})


def _flush(collection) -> None:
    """Rewrite one record with its own values while the threshold is at its lowest (see ``FLUSH_THRESHOLD``)."""
    got = collection.get(limit=1, include=["embeddings", "documents", "metadatas"])
    if not got["ids"]:
        return
    settings = _hnsw_settings(collection)
    try:
        _set_hnsw(collection, {"sync_threshold": FLUSH_THRESHOLD, "batch_size": FLUSH_THRESHOLD})
        collection.upsert(
            ids=got["ids"],
            embeddings=np.asarray(got["embeddings"], dtype=np.float32),
            documents=got["documents"],
            metadatas=got["metadatas"],
        )
    finally:
        _set_hnsw(collection, settings)


# Threads that call Chroma in the background (``warming``). A daemon thread still inside Chroma's Rust core when
# the interpreter shuts down is ended by the interpreter as it next takes the GIL (pthread_exit), and that forced
# unwinding through Rust frames crashes the process with SIGSEGV after its output (seen on `qa ask` against a
# damaged index, whose error comes at once while the warm-up is still replaying the log, and on `qa index list`,
# which answers from its cache in milliseconds). So the exit stops them between calls and waits for the call
# in flight.
_background: list = []
_background_lock = threading.Lock()
_background_registered = False  # whether the exit's wait (``_join_background``) is registered with atexit
_exiting = threading.Event()
EXIT_WAIT = 60.0  # seconds the exit waits for a Chroma call in flight


def _join_background() -> None:
    _exiting.set()
    deadline = time.monotonic() + EXIT_WAIT
    with _background_lock:
        threads = list(_background)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def warming(collections: "Collections", dimension: int) -> threading.Thread:
    """Start ``collections.warm(dimension)`` in a daemon thread that the process's exit stops and waits for."""
    global _background_registered

    thread = threading.Thread(target=collections.warm, args=(dimension,), name="qa-warm", daemon=True)
    with _background_lock:
        if not _background_registered:
            atexit.register(_join_background)  # atexit runs before the interpreter ends daemon threads
            _background_registered = True
        _background[:] = [t for t in _background if t.is_alive()]
        _background.append(thread)
    thread.start()
    return thread


class Collections:
    """The collections of one generation: the documents, and per document language its chunks and sentences.

    A language's collections are opened when first asked for (created when writing); a language with none
    yet reads as empty."""

    def __init__(self, client, base: str, documents, build: dict | None = None):
        self.client = client
        self.base = base  # "{prefix}-g{N}"
        self.documents = documents
        self._build = build  # metadata for new language collections (None: read only)
        self._parts: dict = {}

    @property
    def id(self) -> str:
        return str(self.documents.id)

    @property
    def metadata(self) -> dict:
        return dict(self.documents.metadata or {})

    def part(self, kind: str, language: str, create: bool = False):
        """The ``kind`` ("chunks" / "sentences") collection of ``language``; None if there is none (reading)."""
        name = f"{self.base}-{kind}-{_language_part(language)}"
        got = self._parts.get(name)
        if got is None:
            if create:
                got = _opened(
                    lambda: self.client.get_or_create_collection(
                        name, metadata={"hnsw:space": METRIC, **(self._build or {})}, embedding_function=None
                    )
                )
                if got is not None and not _settled(_hnsw(got)):  # new, older, or a flush cut short
                    _set_hnsw(got, _hnsw_settings(got))
            else:
                got = _opened(lambda: self.client.get_collection(name, embedding_function=None))
            if got is None:
                return None
            self._parts[name] = got
        return got

    def unsettled(self) -> list:
        """The chunk and sentence collections without our search breadth or with write batching left lowered
        (an index made by an older version, or a flush cut short)."""
        return [part for kind in KINDS for part in self.parts(kind) if not _settled(_hnsw(part))]

    def settle(self) -> int:
        """Give every unsettled collection our settings (under the write lock); how many there were."""
        parts = self.unsettled()
        for part in parts:
            _set_hnsw(part, _hnsw_settings(part))
        return len(parts)

    def flush(self, kinds=KINDS) -> None:
        """Have Chroma write every vector still pending into the vector indexes on disk (after a write), so a
        new process does not replay them."""
        for kind in kinds:
            for part in self.parts(kind):
                _flush(part)

    def warm(self, dimension: int) -> None:
        """Ask every chunk and sentence collection for one neighbour, so Chroma loads their vector indexes
        (seconds for a large library; run in a thread while the process does other start-up work: ``warming``).
        Stops between collections when the process exits."""
        probe = [[1.0] + [0.0] * (dimension - 1)]
        try:
            for kind in KINDS:
                for part in self.parts(kind):
                    if _exiting.is_set():
                        return
                    # Chroma itself, not waiting out another process's lock: best effort, and the exit joins it
                    getattr(part, "inner", part).query(query_embeddings=probe, n_results=1, include=[])
        except BaseException:  # best effort: a real query reports whatever is wrong
            pass

    def parts(self, kind: str) -> list:
        """Every ``kind`` collection of this generation, whatever its language."""
        prefix = f"{self.base}-{kind}-"
        names = sorted(
            n
            for n in (c if isinstance(c, str) else c.name for c in self.client.list_collections())
            if n.startswith(prefix)
        )
        for name in names:
            if name not in self._parts:
                got = _opened(lambda: self.client.get_collection(name, embedding_function=None))
                if got is not None:  # dropped since it was listed
                    self._parts[name] = got
        return [self._parts[n] for n in names if n in self._parts]


class Store:
    def __init__(self, settings: Settings, embedder, chunker_id: str):
        self.settings = settings
        self.embedder = embedder
        self.chunker_id = chunker_id
        self._client = None
        self.prefix = settings.collection_prefix

    # -- collections ---------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            with CLIENT_LOCK:  # never while another thread of this process clears Chroma's client registry
                if self._client is None:
                    self._client = make_client(self.settings)
        return self._client

    def _meta(self, create: bool = False):
        name = f"{self.prefix}-meta"
        if create:
            return _opened(
                lambda: self.client.get_or_create_collection(name, embedding_function=None, metadata={"generation": 0})
            )
        return _opened(lambda: self.client.get_collection(name, embedding_function=None))

    def meta_id(self) -> str | None:
        """The id of this store's meta collection (kept across generations), or None before the first write."""
        meta = self._meta()
        return str(meta.id) if meta is not None else None

    def generation(self) -> int:
        return self.version()[0]

    def version(self) -> tuple[int, int]:
        """(generation, count of writes): changes whenever any process changes what is listed; the count is
        odd while a change is in flight (or was cut short by a crash, until the next write)."""
        meta = self._meta()
        data = (meta.metadata or {}) if meta is not None else {}
        return int(data.get("generation", 0)), int(data.get("writes", 0))

    def _begin_write(self) -> None:
        """Mark a change of what is listed as in flight (an odd count of writes) just before it is made, so a
        reader never keeps the document list it reads under a version that a crash could leave behind."""
        gen, writes = self.version()
        if writes % 2 == 0:
            self._meta(create=True).modify(metadata={"generation": gen, "writes": writes + 1})

    def _bump(self, generation: int | None = None) -> None:
        """Record a finished write (an even count), so that every process reading this index reloads at its
        next question."""
        gen, writes = self.version()
        self._meta(create=True).modify(metadata={"generation": generation or gen, "writes": writes + 2 - writes % 2})

    def build_info(self) -> dict:
        return {
            "qa_schema": SCHEMA_VERSION,
            "qa_embedder": self.embedder.id,
            "qa_dimension": int(self.embedder.dimension),
            "qa_metric": METRIC,
            "qa_chunker": self.chunker_id,
            "qa_chunk_vectors": self.settings.chunk_vectors,
        }

    def _collections(self, generation: int, create: bool = False) -> Collections:
        base = f"{self.prefix}-g{generation}"
        info = self.build_info() if create else None
        if create:
            assert info is not None  # build_info() when create
            documents = _opened(
                lambda: self.client.get_or_create_collection(
                    f"{base}-documents", metadata={"hnsw:space": "l2", **info}, embedding_function=None
                )
            )
        else:
            documents = _opened(lambda: self.client.get_collection(f"{base}-documents", embedding_function=None))
        if documents is None:
            raise IndexMissing("There is no index yet. Run `qa index add PATH...` or `qa index rebuild`.")
        return Collections(self.client, base, documents, info)

    def exists(self) -> bool:
        gen = self.generation()
        if gen == 0:
            return False
        try:
            self._collections(gen)
        except IndexMissing:
            return False
        return True

    def stored_build_info(self) -> dict:
        return _build_info(self._collections(self.generation()).metadata)

    def check_compatible(self, stored: dict | None = None) -> None:
        """``IndexMismatch`` unless the index (``stored``: its build info) was made with this configuration."""
        stored = self.stored_build_info() if stored is None else stored
        wanted = self.build_info()
        if stored.get("qa_schema") != SCHEMA_VERSION:
            raise IndexMismatch(
                "The index was written by another version of qa (index layout "
                f"{stored.get('qa_schema', 1)}, this version uses {SCHEMA_VERSION}). "
                "Rebuild it with `qa index rebuild`: it re-embeds the listed documents."
            )
        diffs = [
            f"{k[3:]}: index has {stored.get(k)!r}, configured {wanted[k]!r}"
            for k in wanted
            if stored.get(k) != wanted[k]
        ]
        if diffs:
            raise IndexMismatch(
                "The index was built with another configuration (" + "; ".join(diffs) + "). "
                "Rebuild it with `qa index rebuild` (uses the current configuration)"
                + "".join(
                    f", or set {variable} back to {stored.get(key)!r}"
                    for key, variable in _SETTING_VARIABLES.items()
                    if stored.get(key) != wanted[key]
                )
                + "."
            )

    def open(self) -> Collections:
        """Collections of the active generation, checked against the configuration."""
        gen = self.generation()
        if gen == 0:
            raise IndexMissing("There is no index yet. Run `qa index add PATH...` or `qa index rebuild`.")
        self.check_compatible()
        return self._collections(gen)

    # -- reading -------------------------------------------------------------------------------

    def documents(self, collections: Collections | None = None) -> list[DocumentRecord]:
        collections = collections or self.open()
        got = _paged(collections.documents, ["metadatas"])
        return sorted((_record(i, m) for i, m in zip(got["ids"], got["metadatas"])), key=lambda r: r.name)

    def listed(self, names: list[str], collections: Collections | None = None) -> dict[str, DocumentRecord]:
        """The records of the listed documents among ``names`` (a write asks only of the names it meets: its cost
        is its own, not the library's)."""
        collections = collections or self.open()
        out: dict[str, DocumentRecord] = {}
        names = list(dict.fromkeys(names))
        for start in range(0, len(names), _ASK):
            part = names[start : start + _ASK]
            got = reading(lambda: collections.documents.get(ids=part, include=["metadatas"]))
            out.update((i, _record(i, m)) for i, m in zip(got["ids"], got["metadatas"]))
        return out

    def _holding(self, collections: Collections, hashes) -> dict[str, tuple[str, int]]:
        """Among content ``hashes``, those a listed document has: hash -> (language, chunk count)."""
        hashes = sorted(set(hashes))
        out: dict[str, tuple[str, int]] = {}
        for start in range(0, len(hashes), _ASK):
            part = hashes[start : start + _ASK]
            got = reading(lambda: collections.documents.get(where={"hash": {"$in": part}}, include=["metadatas"]))
            out.update((m["hash"], (m.get("language", ""), int(m.get("chunks", 0)))) for m in got["metadatas"])
        return out

    def document_text(self, name: str, collections: Collections | None = None, content_hash: str | None = None) -> str:
        """A document's text; with ``content_hash``, only that version (``StaleIndex`` if it was replaced)."""
        collections = collections or self.open()
        got = reading(lambda: collections.documents.get(ids=[name], include=["documents", "metadatas"]))
        if not got["ids"]:
            if content_hash:
                raise StaleIndex(f"{name} was removed from the index while this answer was being made.")
            raise DocumentNotFound(f"No document named {name!r} in the index.")
        if content_hash and got["metadatas"][0].get("hash") != content_hash:
            raise StaleIndex(f"{name} was updated while this answer was being made.")
        return got["documents"][0]

    @property
    def folder(self) -> Path | None:
        """The embedded store's folder; None with a Chroma server."""
        return None if self.settings.chroma_url else self.settings.home / "chroma"

    def readable(self, collections: Collections) -> None:
        """Read what a listing shows, from the store itself (not the local cache): the document records and the
        count of every chunk and sentence collection; the ``QAError`` of the first that fails."""
        self.documents(collections)
        for kind in KINDS:
            for part in collections.parts(kind):
                reading(part.count, self.folder)

    def check(self, page: int = 2000) -> "CheckReport":
        """Read everything a snapshot reads (``qa index check``): the meta and documents collections, every record
        of every chunk and sentence collection (``page`` at a time) with one vector query each, and SQLite's
        ``PRAGMA integrity_check`` of the embedded store's file; what fails, as ``CheckReport.problems``."""
        report = CheckReport()

        def step(what: str, call):
            try:
                return call()
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                    raise
                failure = (
                    exc
                    if isinstance(exc, QAError)
                    else (store_failure(exc, self.folder) or _unreadable(exc, self.folder))
                )
                report.problems.append((what, failure))
                return None

        if self.folder is not None:
            report.integrity = step("SQLite integrity check", self._integrity) or ""
        collections = step("the index", self.open)
        if collections is None:
            return report
        got = step(
            "the document records",
            lambda: _paged(collections.documents, ["documents", "metadatas"]),
        )
        records = dict(zip(got["ids"], got["metadatas"])) if got else {}
        report.documents = len(records)
        if got:
            bad = [
                i
                for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
                if not isinstance(t, str) or not m or not m.get("hash") or len(t) != int(m.get("chars", len(t)))
            ]
            if bad:
                report.problems.append(
                    (
                        "the document records",
                        IndexCorrupted(
                            f"{len(bad)} document record(s) are incomplete ({', '.join(bad[:3])}). Run `qa index rebuild`: "
                            "it rebuilds the index from the library's own copies of your documents."
                        ),
                    )
                )
        active = {m.get("hash") for m in records.values() if m}
        held: dict = {kind: {} for kind in KINDS}  # kind -> content hash -> records of the listed versions
        probe = [[1.0] + [0.0] * (int(self.embedder.dimension) - 1)]
        for kind in KINDS:
            parts = step(f"the {kind} collections", lambda: collections.parts(kind)) or []
            for part in parts:
                name = str(getattr(part, "name", kind))
                report.collections += 1
                report.languages.add(name.rsplit("-", 1)[-1])
                offset = 0
                while True:
                    got = step(
                        f"{name} (records {offset}-{offset + page})",
                        lambda: reading(
                            lambda: part.get(
                                limit=page, offset=offset, include=["embeddings", "documents", "metadatas"]
                            ),
                            self.folder,
                        ),
                    )
                    if not got or not got["ids"]:
                        break
                    vectors = np.asarray(got["embeddings"], dtype=np.float32)
                    if vectors.ndim != 2 or vectors.shape[1] != len(probe[0]) or not np.isfinite(vectors).all():
                        report.problems.append(
                            (
                                name,
                                IndexCorrupted(
                                    f"{name} holds vectors that are not {len(probe[0])} finite numbers each. Run `qa index "
                                    "rebuild`: it rebuilds the index from the library's own copies of your documents."
                                ),
                            )
                        )
                    for m in got["metadatas"]:
                        h = (m or {}).get("doc_hash")
                        if h in active:
                            held[kind][h] = held[kind].get(h, 0) + 1
                        else:
                            report.leftovers += 1
                    offset += len(got["ids"])
                    if len(got["ids"]) < page:
                        break
                if offset:
                    step(
                        f"{name} (a vector query)",
                        lambda: part.query(query_embeddings=probe, n_results=1, include=["distances"]),
                    )
        report.chunks = sum(held["chunks"].values())
        report.sentences = sum(held["sentences"].values())
        if records and not report.problems:  # every record read: does every listed document have its chunks?
            short = sorted(
                name
                for name, m in records.items()
                if m
                and (
                    held["chunks"].get(m.get("hash"), 0) != int(m.get("chunks", 0))
                    or not held["sentences"].get(m.get("hash"))
                )
            )
            if short:
                report.problems.append(
                    (
                        "the chunks of the listed documents",
                        IndexCorrupted(
                            f"{len(short)} listed document(s) miss chunks or sentences ({', '.join(short[:3])}). Run `qa index "
                            "rebuild`: it rebuilds the index from the library's own copies of your documents."
                        ),
                    )
                )
        return report

    def _integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` of the embedded store's file, read-only: "ok", else ``IndexCorrupted``."""
        assert self.folder is not None  # called only for an embedded store (see check)
        database = self.folder / "chroma.sqlite3"
        if not database.exists():
            raise IndexMissing(f"There is no index at {self.folder}. Run `qa index rebuild` or `qa index add PATH...`.")
        rows = None
        for options in ("mode=ro", "mode=ro&immutable=1"):  # immutable: a read-only folder (no -shm file possible)
            try:
                con = sqlite3.connect(f"{database.as_uri()}?{options}", uri=True, timeout=LOCK_WAIT)
                try:
                    rows = [r[0] for r in con.execute("PRAGMA integrity_check(20)")]
                finally:
                    con.close()
                break
            except sqlite3.OperationalError as exc:
                if "unable to open" not in str(exc) and "readonly" not in str(exc):
                    raise
        if rows is None:
            raise IndexReadOnly(
                f"The index at {self.folder} cannot be opened to check it. Make it readable, then run "
                "`qa index check` again."
            )
        if rows != ["ok"]:
            found = " ".join("; ".join(str(r) for r in rows[:3]).split())[:200]
            raise IndexCorrupted(
                f"The index at {self.folder} is damaged (SQLite: {found}). Run "
                "`qa index rebuild`: it rebuilds the index from the library's own copies of your "
                "documents."
            )
        return "ok"

    # -- writing -------------------------------------------------------------------------------

    def _sweep(self, collections: Collections, hashes) -> None:
        """Delete the chunks and sentences of the versions ``hashes`` that no listed document owns: a write's
        replaced versions, or what a write cut short left (its marked versions, see ``_mark``). Its cost is the
        write's, not the library's."""
        gone = sorted(set(hashes) - set(self._holding(collections, hashes)))
        for start in range(0, len(gone), _ASK):
            part = gone[start : start + _ASK]
            for kind in KINDS:
                for col in collections.parts(kind):
                    got = col.get(where={"doc_hash": {"$in": part}}, include=[])
                    if got["ids"]:
                        col.delete(ids=got["ids"])

    def _marker(self, collections: Collections) -> str:
        return f"in-flight-{collections.id}"

    def _marked(self, collections: Collections) -> list[str]:
        """The versions a write of this generation marked as in flight and did not clear (it was cut short)."""
        meta = self._meta()
        got = meta.get(ids=[self._marker(collections)], include=["metadatas"]) if meta is not None else {"ids": []}
        return json.loads(got["metadatas"][0]["hashes"]) if got["ids"] else []

    def _mark(self, collections: Collections, hashes) -> None:
        """Record ``hashes`` (versions a write is about to write, or to unlist) as in flight before it does, so the
        next write sweeps what a crash leaves of them; an empty list clears the mark."""
        meta = self._meta(create=True)
        marker = self._marker(collections)
        if hashes:
            meta.upsert(ids=[marker], embeddings=[[0.0]], metadatas=[{"hashes": json.dumps(sorted(set(hashes)))}])
        else:
            meta.delete(ids=[marker])

    def _settle_marked(self, collections: Collections) -> None:
        """Sweep what a write cut short left (its marked versions, unless listed), then clear the mark."""
        marked = self._marked(collections)
        self._sweep(collections, marked)
        if marked:
            self._mark(collections, [])

    def _drop_other_generations(self, keep: int) -> None:
        prefix = f"{self.prefix}-g"
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(prefix) and not name.startswith(f"{prefix}{keep}-"):
                try:
                    self.client.delete_collection(name)
                except Exception:  # pragma: no cover - best effort cleanup
                    pass

    def _embed_nodes(self, nodes, batch: int = 32, embedded: Callable[[int], None] | None = None) -> None:
        """Embed ``nodes`` (their ``embed_text`` if set) in their reading form (Uzbek Cyrillic in Latin, as
        questions are read: ``qa.language.detect.reading_form``), ``batch`` at a time; ``embedded(n)`` after each."""
        for i in range(0, len(nodes), batch):
            part = nodes[i : i + batch]
            texts = [reading_form(n.metadata.get("embed_text") or n.text, n.metadata["language"]) for n in part]
            vectors = self.embedder.embed_passages(texts)
            for n, v in zip(part, vectors):
                n.embedding = v.tolist()
            if embedded:
                embedded(len(part))

    def _embed_documents(self, nodes_by_doc: list[tuple[str, list]], progress: Progress | None = None) -> None:
        """Vectors for the chunks and sentences of new document versions.

        ``sentence-mean``: each sentence is embedded once; a chunk's vector is the normalised mean of its
        sentences' vectors and its document title's (the title was the chunk's context when chunks were
        embedded on their own). ``embed``: chunks are embedded as well (each token about 2.2 times).
        ``progress("embedding", texts embedded, texts of the batch)`` as the embedder goes.
        """
        count = [0]

        def embedded(n: int, total: int) -> None:
            count[0] += n
            if progress:
                progress("embedding", count[0], total)

        if self.settings.chunk_vectors == "embed":
            for title, nodes in nodes_by_doc:
                for n in nodes:
                    # Context for the embedder: the document title, unless the chunk already starts with it.
                    if n.metadata["kind"] == "chunk" and title and not n.text.startswith(title[:40]):
                        n.metadata["embed_text"] = f"{title}. {n.text}"
            every = [n for _, nodes in nodes_by_doc for n in nodes]
            self._embed_nodes(every, embedded=lambda n: embedded(n, len(every)))
            return
        sentences = [n for _, nodes in nodes_by_doc for n in nodes if n.metadata["kind"] == "sentence"]

        languages = {title: nodes[0].metadata["language"] for title, nodes in nodes_by_doc if title and nodes}
        titles = sorted(languages)
        self._embed_nodes(sentences, embedded=lambda n: embedded(n, len(sentences)))
        title_vectors = (
            dict(zip(titles, self.embedder.embed_passages([reading_form(t, languages[t]) for t in titles])))
            if titles
            else {}
        )
        for title, nodes in nodes_by_doc:
            sent = np.array([n.embedding for n in nodes if n.metadata["kind"] == "sentence"], dtype=np.float32)
            for n in nodes:
                if n.metadata["kind"] != "chunk":
                    continue
                parts = list(sent[int(n.metadata["sent_from"]) : int(n.metadata["sent_to"])])
                if title and not n.text.startswith(title[:40]):
                    parts.append(np.asarray(title_vectors[title], dtype=np.float32))
                v = np.mean(parts, axis=0)
                n.embedding = (v / (np.linalg.norm(v) or 1.0)).tolist()

    @staticmethod
    def _write_nodes(collection, nodes, batch: int = 512) -> None:
        for i in range(0, len(nodes), batch):
            part = nodes[i : i + batch]
            metadatas = [_stored_metadata(n) for n in part]
            collection.upsert(
                ids=[n.node_id for n in part],
                embeddings=np.array([n.embedding for n in part], dtype=np.float32),
                documents=[n.text for n in part],
                metadatas=metadatas,
            )

    def ingest(
        self,
        sources: Iterable,
        chunker,
        progress: Progress | None = None,
        generation: int | None = None,
        before_switch: Callable | None = None,
        total: int | None = None,
    ) -> IngestReport:
        """Add or replace documents, streamed in batches (``Settings.batch_chars`` / ``batch_documents``).

        Each batch is chunked, embedded and written, then its document records are switched in one call,
        so a crash leaves whole batches of whole documents visible and a rerun skips them by content hash.
        Content already in the index (an identical file under another name) is not embedded again: both
        names list the same chunks. ``before_switch(batch)`` runs before a batch becomes visible (the
        library records its copies there). ``generation``: fill that (not yet active) generation instead.
        Caller holds the write lock."""
        started = time.perf_counter()
        live = generation is None
        gen = generation or self.generation()
        collections = None
        if gen:
            collections = self._collections(gen, create=True)
            self.check_compatible_collections(collections)
            self._settle_marked(collections)
            if live and self.version()[1] % 2:
                self._bump()  # a write cut short by a crash: what it left listed is the state now; settle it
        # name -> listed version (None: not listed), asked of the store for the names met, updated as batches go
        known: dict[str, str | None] = {}
        # content hash -> (language, chunk count) of the versions already in this generation (asked per batch)
        embedded: dict[str, tuple[str, int]] = {}
        replaced: set[str] = set()  # versions the batch in hand unlists (swept once it is switched)
        report = IngestReport(added=[], updated=[], unchanged=[])
        if total is None and isinstance(sources, (list, tuple)):
            total = len(sources)
        done = 0  # documents handled: unchanged, or in a committed batch
        batch: list = []
        size = 0
        if progress:
            progress("indexing", 0, total or 0)  # a log shows the stage before the first batch is embedded

        first = collections is None or not collections.documents.count()  # this generation's first write

        def commit():
            nonlocal collections, batch, size, done, replaced, first
            if collections is None:  # the very first documents: generation 1, filled batch by batch
                self._drop_other_generations(keep=0)  # leftovers of an interrupted first build
                collections = self._collections(1, create=True)
                writes = self.version()[1]
                self._meta(create=True).modify(metadata={"generation": 1, "writes": writes + 1 + writes % 2})
            embedded.update(self._holding(collections, {src.content_hash for src in batch} - set(embedded)))
            marked = replaced | {src.content_hash for src in batch}
            self._mark(collections, marked)
            before = self.version()[1]
            if first:  # a generation's first batch: the document list the lexicon keeps starts empty
                self._lexicon(collections, gen or 1, lambda lexicon: lexicon.start_records(before))
            listed = self._commit(
                batch, collections, chunker, embedded, report, before_switch, live, progress, gen or 1
            )
            if live:
                self._bump()
                after = self.version()[1]
                self._lexicon(collections, gen or 1, lambda lexicon: lexicon.advance_records(before, after, listed, []))
            self._sweep(collections, marked)  # the replaced versions, unless another name still lists them
            self._mark(collections, [])
            first = False
            done += len(batch)
            batch, size, replaced = [], 0, set()
            if progress:
                progress("indexing", done, max(total or 0, done))

        def ask(names: list[str]) -> None:
            """Learn which of ``names`` are listed, and as which version."""
            names = [n for n in dict.fromkeys(names) if n not in known]
            if names and collections is not None:
                listed = self.listed(names, collections)
                known.update({n: listed[n].content_hash if n in listed else None for n in names})
            else:
                known.update(dict.fromkeys(names))

        def handle(src) -> None:
            nonlocal done, size
            old = known.get(src.name)
            if old == src.content_hash:
                report.unchanged.append(src.name)
                done += 1
                if progress and (done % 100 == 0 or done == total):
                    progress("indexing", done, max(total or 0, done + len(batch)))
                return
            (report.updated if old else report.added).append(src.name)
            if old:
                replaced.add(old)
            known[src.name] = src.content_hash
            batch.append(src)
            size += len(src.text)
            if size >= self.settings.batch_chars or len(batch) >= self.settings.batch_documents:
                commit()

        # Names are asked of the store a few at a time, as the files are read (the read stays streamed).
        for group in _groups(sources, 32):
            ask([src.name for src in group])
            for src in group:
                handle(src)
        if batch:
            commit()
        if collections is not None and (report.added or report.updated):
            collections.flush()
        report.seconds = time.perf_counter() - started
        return report

    def _commit(
        self,
        batch: list,
        collections: Collections,
        chunker,
        embedded: dict,
        report: IngestReport,
        before_switch: Callable | None,
        live: bool,
        progress: Progress | None = None,
        generation: int = 1,
    ) -> list[DocumentRecord]:
        """Chunk, embed and write one batch, add its chunks to the lexicon (so no reader has to fetch and
        tokenise them), then make its documents visible in one call."""
        fresh: dict = {}  # content hash -> (title, nodes) of content not yet in the index
        for src in batch:
            if src.content_hash in embedded or src.content_hash in fresh:
                continue  # identical content: its chunks are shared
            from qa.index.chunking import make_document  # llama-index, about 1 s to import: only writes need it

            doc = make_document(src.name, src.text, src.content_hash, title=src.title)
            fresh[src.content_hash] = (src.title, chunker.split_document(doc))
        t_embed = time.perf_counter()
        self._embed_documents(list(fresh.values()), progress)
        report.embed_seconds += time.perf_counter() - t_embed
        by_part: dict = {}  # (kind, language) -> nodes
        for _, nodes in fresh.values():
            for n in nodes:
                by_part.setdefault((n.metadata["kind"] + "s", n.metadata["language"]), []).append(n)
        for (kind, language), nodes in sorted(by_part.items()):
            self._write_nodes(collections.part(kind, language, create=True), nodes)
            setattr(report, kind, getattr(report, kind) + len(nodes))
        rows: dict = {}
        for h, (_, nodes) in fresh.items():
            chunks = [n for n in nodes if n.metadata["kind"] == "chunk"]
            embedded[h] = (chunks[0].metadata["language"] if chunks else "", len(chunks))
            rows[h] = [chunk_row(n.node_id, n.text, _stored_metadata(n)) for n in chunks]
        self._lexicon(collections, generation, lambda lexicon: lexicon.add(rows))
        if before_switch:
            before_switch(batch)
        # The switch: one call makes every document of the batch visible at once.
        if live:
            self._begin_write()
        latest = {src.name: src for src in batch}  # one name twice in a batch: the later file
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        metadatas = [
            {
                "hash": src.content_hash,
                "language": embedded[src.content_hash][0],
                "title": src.title,
                "chunks": embedded[src.content_hash][1],
                "added": now,
                "path": src.path,
                "chars": len(src.text),
                # Chroma keeps scalars only: the OCR ranges as JSON, and only on documents that have some
                **(
                    {"ocr": json.dumps([list(span) for span in src.ocr_spans])}
                    if getattr(src, "ocr_spans", None)
                    else {}
                ),
            }
            for src in latest.values()
        ]
        collections.documents.upsert(
            ids=list(latest),
            embeddings=np.ones((len(latest), 1), dtype=np.float32),
            documents=[src.text for src in latest.values()],
            metadatas=metadatas,
        )
        return [_record(name, m) for name, m in zip(latest, metadatas)]

    def _lexicon(self, collections: Collections, generation: int, change) -> None:
        """Apply ``change`` to this generation's lexicon (see ``lexicon``); a full or busy disk leaves it for the first
        reader to do (it is a cache of the store)."""
        try:
            lexicon = Lexicon.for_store(self, collections, generation)
            try:
                change(lexicon)
            finally:
                lexicon.close()
        except (OSError, sqlite3.Error):
            pass

    def check_compatible_collections(self, collections: Collections) -> None:
        stored = _build_info(collections.metadata)
        if stored != self.build_info():
            self.check_compatible(stored)

    def remove(self, name: str) -> None:
        collections = self.open()
        record = self.listed([name], collections).get(name)
        if record is None:
            raise DocumentNotFound(f"No document named {name!r} in the index. See `qa index list`.")
        self._settle_marked(collections)
        version = record.content_hash
        self._mark(collections, [version])
        before = self.version()[1]
        self._begin_write()
        collections.documents.delete(ids=[name])
        self._bump()
        after = self.version()[1]
        self._lexicon(
            collections, self.generation(), lambda lexicon: lexicon.advance_records(before, after, [], [name])
        )
        self._sweep(collections, [version])  # unless another name lists the same content
        self._mark(collections, [])
        collections.flush()

    def sources(self) -> list:
        """The listed documents with their texts, as ``SourceDocument`` (for a rebuild)."""
        old = self.generation()
        if not old:
            return []
        got = _paged(self._collections(old).documents, ["documents", "metadatas"])
        return [
            SourceDocument(
                name=i,
                text=t,
                path=m.get("path", ""),
                title=m.get("title", ""),
                ocr_spans=list(_ocr_spans(m.get("ocr"))),
            )
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
        ]

    def rebuild(
        self, chunker, progress: Progress | None = None, sources: Iterable | None = None, total: int | None = None
    ) -> IngestReport:
        """Re-embed every document into a new generation; switch to it only when complete."""
        old = self.generation()
        if sources is None:
            sources = self.sources()
        new = old + 1
        self._drop_other_generations(keep=old)  # leftovers of an interrupted rebuild
        report = self.ingest(sources, chunker, progress, generation=new, total=total)
        self._bump(new)
        self._drop_other_generations(keep=new)
        Lexicon.drop_others(self, self._collections(new), new)
        return report
