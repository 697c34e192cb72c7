"""The chunks of the index with their lexical terms and postings, kept in one SQLite file per store generation, so
that a process starts without reading the library whole and holds only what its questions read.

Within one generation of the index a document version's chunks never change: their ids are made from its content
hash, and a version already indexed is never written again. So the file keeps, per content hash (a *version*),
its chunks (id, cleaned text, metadata, stems, cross-script keys) as consecutive rows in position order, and for
each batch of versions added at once (a *segment*) the postings of both lexical indexes: per term, the rows that
hold it, how often, and each row's length. Nothing written is ever rewritten: adding versions appends a segment
(its cost is the batch's, not the library's); a removed or replaced version's rows stay and are ignored, because
a reader counts only the rows of the versions its snapshot lists; a rebuild starts a new generation and so a new
file. BM25's statistics (row count, mean length, document frequencies) are those of the listed rows, computed at
question time, so scores are exactly what a BM25 index built over the listed chunks alone would give.

It also keeps the document list (name -> record) read under one settled version of the index (an even count of
writes: no change in flight), so a process started while nothing changed does not fetch every record.

The first process that needs a version's rows (usually the writer, right after its write) fetches and tokenises
them and appends them; the others read them. The file is a cache of what the index holds: losing it, or finding it
damaged, costs one full fetch, never an answer; on a read-only or full disk the process keeps it in memory. With a
Chroma server each answering machine keeps its own in its ``QA_HOME`` (or shares one ``QA_HOME``).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from qa.language.detect import reading_form
from qa.language.lexical import (
    NAME_KEY_LENGTH,
    SKELETON_VERSION,
    TOKENIZER_VERSION,
    bm25_scores,
    idf_of,
    name_key,
    skeleton_tokens,
    tokenize,
)

FORMAT = 2
SEP = "\x1f"  # between the terms of a row (no term holds it: terms are made of word characters)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS versions (
    hash TEXT PRIMARY KEY, language TEXT, first INTEGER, count INTEGER, sentences INTEGER,
    length_lexical INTEGER, length_skeleton INTEGER);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY, id TEXT, text TEXT, meta TEXT, lexical TEXT, skeleton TEXT);
CREATE INDEX IF NOT EXISTS chunks_by_id ON chunks (id);
CREATE TABLE IF NOT EXISTS postings (
    idx INTEGER, term TEXT, segment INTEGER, data BLOB, PRIMARY KEY (idx, term, segment)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS name_keys (key TEXT, term TEXT, PRIMARY KEY (key, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, data BLOB);
"""

INDEXES = ("lexical", "skeleton")


@dataclass(frozen=True)
class Version:
    """Where a document version's rows are, and what BM25 needs of them."""

    hash: str
    language: str
    first: int
    count: int
    sentences: int  # the sentences its chunks span
    lengths: tuple[int, int]  # summed row lengths in the lexical and skeleton indexes


@dataclass
class Postings:
    """The rows holding a term, with the term's count in each and each row's length."""

    rows: np.ndarray  # int64
    tf: np.ndarray  # float32
    lengths: np.ndarray  # int64

    @classmethod
    def empty(cls) -> "Postings":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _pack(rows: list[int], tf: list[int], lengths: list[int]) -> bytes:
    return (
        np.asarray(rows, np.int32).tobytes()
        + np.asarray(tf, np.float32).tobytes()
        + np.asarray(lengths, np.int32).tobytes()
    )


def _unpack(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(data) // 12
    return (
        np.frombuffer(data, np.int32, n, 0),
        np.frombuffer(data, np.float32, n, 4 * n),
        np.frombuffer(data, np.int32, n, 8 * n),
    )


def chunk_row(chunk_id: str, text: str, meta: dict) -> tuple:
    """What the lexicon keeps of a chunk: (id, text, metadata, stems, cross-script keys); the terms are those of
    its title and text, Uzbek Cyrillic read in Latin."""
    body = reading_form(f"{meta.get('title', '')} {text}", meta["language"])
    return (chunk_id, text, meta, tokenize(body, meta["language"]), skeleton_tokens(body))


def _where(store) -> dict:
    """Which store a lexicon file belongs to: the Chroma folder, or on a server the store's own meta collection
    (the same store whatever address a machine reaches it by: ``127.0.0.1`` here, a host name there, another port
    after a restart), so a shared ``QA_HOME`` or a restarted server never fetches the library again."""
    settings = store.settings
    if not settings.chroma_url:
        return {"folder": str(settings.home / "chroma"), "prefix": store.prefix}
    meta = store.meta_id()
    if meta is None:  # no store there yet: nothing to keep for it
        return {"server": settings.chroma_url, "prefix": store.prefix}
    return {"server_store": meta, "prefix": store.prefix}


def _identity(collections, generation: int) -> dict:
    return {
        "collection": collections.id,
        "generation": generation,
        "build": collections.metadata,
        "terms": [TOKENIZER_VERSION, SKELETON_VERSION],
    }


def _packed(record) -> bytes:
    """A document record as kept: its fields, in order, pickled as a tuple."""
    return pickle.dumps(tuple(getattr(record, f.name) for f in fields(record)), protocol=pickle.HIGHEST_PROTOCOL)


def key_of(value: dict) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


class Lexicon:
    """One store generation's lexicon file (see the module's text). Thread-safe: one connection, one lock."""

    def __init__(self, path: Path | None, identity: dict, connection: sqlite3.Connection):
        self.path = path  # None: kept in memory (the disk refused it)
        self.identity = identity
        self._db = connection
        self._lock = threading.RLock()

    @classmethod
    def open(cls, home: Path, store: dict, identity: dict, previous: "Lexicon | None" = None) -> "Lexicon":
        """The file of one store (``store``: where it is) in one state (``identity``: generation, build
        configuration, tokenizers), created when there is none or it cannot be read; ``previous``: the one this
        process opened last, reused when it is the same file."""
        store_key = key_of(store)
        path = Path(home) / "cache" / f"lexicon-{store_key}-{key_of(identity)}.sqlite"
        if previous is not None and previous.path in (path, None) and previous.identity == identity:
            return previous
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob(f"chunks-{store_key}-*.pickle"):  # the chunk cache of releases before it
                old.unlink(missing_ok=True)
            for attempt in range(2):
                try:
                    # The chunks' text is the library's: readable by its owner only, as the index is.
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
                    return cls(path, identity, cls._connect(str(path), identity))
                except sqlite3.OperationalError:  # locked, busy, or a disk error: never a reason to delete it
                    raise
                except sqlite3.DatabaseError:  # damaged, or of another format: start afresh
                    if attempt:
                        raise
                    for part in path.parent.glob(path.name + "*"):
                        part.unlink(missing_ok=True)
        except (OSError, sqlite3.Error):  # a read-only or full disk: answering goes on with the file in memory
            pass
        return cls(None, identity, cls._connect(":memory:", identity))

    @classmethod
    def for_store(cls, store, collections, generation: int, previous: "Lexicon | None" = None) -> "Lexicon":
        """The lexicon of ``store``'s generation ``generation`` (whose collections are ``collections``)."""
        return cls.open(store.settings.home, _where(store), _identity(collections, generation), previous)

    @staticmethod
    def drop_others(store, collections, generation: int) -> None:
        """Remove the files of the store's other generations (after a rebuild switched to ``generation``; a
        reader still on the old one keeps reading its open file)."""
        store_key = key_of(_where(store))
        keep = f"lexicon-{store_key}-{key_of(_identity(collections, generation))}.sqlite"
        for old in (Path(store.settings.home) / "cache").glob(f"lexicon-{store_key}-*.sqlite*"):
            if not old.name.startswith(keep):
                old.unlink(missing_ok=True)

    @staticmethod
    def _connect(where: str, identity: dict) -> sqlite3.Connection:
        db = sqlite3.connect(where, check_same_thread=False, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 60000")
            if where != ":memory:":
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(_SCHEMA)
            stamp = json.dumps({"format": FORMAT, "identity": identity}, sort_keys=True, default=str)
            found = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            if found is None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('stamp', ?)", (stamp,))
                found = db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            if found[0] != stamp:
                raise sqlite3.DatabaseError("a lexicon of another format or state")
            return db
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- versions ----------------------------------------------------------------------------------

    def versions(self, hashes: list[str]) -> dict[str, Version]:
        """The held versions among ``hashes``."""
        wanted = set(hashes)
        with self._lock:
            got = self._db.execute("SELECT * FROM versions").fetchall()
        return {
            h: Version(h, lang, first, count, sents, (a, b))
            for h, lang, first, count, sents, a, b in got
            if h in wanted
        }

    def add(self, fresh: dict[str, list]) -> None:
        """Append the versions ``fresh`` (content hash -> [(id, text, meta, stems, keys), ...]) not held yet, as
        one segment, in one transaction (another process may have added some meanwhile)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                held = {h for (h,) in db.execute("SELECT hash FROM versions")}
                todo = {h: rows for h, rows in fresh.items() if rows and h not in held}
                if not todo:
                    db.execute("COMMIT")
                    return
                row = db.execute("SELECT COALESCE(MAX(row), -1) + 1 FROM chunks").fetchone()[0]
                segment = row
                postings: list[dict] = [{}, {}]
                keys_of: set = set()
                for h, rows in todo.items():
                    rows = sorted(rows, key=lambda r: int(r[2]["position"]))
                    first, lengths, sentences = row, [0, 0], 0
                    for cid, text, meta, stems, keys in rows:
                        db.execute(
                            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                            (row, cid, text, json.dumps(meta, ensure_ascii=False), SEP.join(stems), SEP.join(keys)),
                        )
                        for i, terms in enumerate((stems, keys)):
                            lengths[i] += len(terms)
                            for term, n in Counter(terms).items():
                                postings[i].setdefault(term, ([], [], []))
                                got = postings[i][term]
                                got[0].append(row)
                                got[1].append(n)
                                got[2].append(len(terms))
                        keys_of.update(stems)
                        sentences = max(sentences, int(meta["sent_to"]))
                        row += 1
                    db.execute(
                        "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (h, rows[0][2]["language"], first, len(rows), sentences, lengths[0], lengths[1]),
                    )
                for i, terms in enumerate(postings):
                    db.executemany(
                        "INSERT INTO postings VALUES (?, ?, ?, ?)",
                        ((i, term, segment, _pack(*got)) for term, got in terms.items()),
                    )
                db.executemany(
                    "INSERT OR IGNORE INTO name_keys VALUES (?, ?)",
                    ((k, t) for t in keys_of if (k := name_key(t))),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # -- rows --------------------------------------------------------------------------------------

    def postings(self, index: str, term: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every segment's postings of ``term`` in ``index`` ("lexical" or "skeleton"), oldest first. Read afresh each
        time (another process may have appended a segment; a snapshot keeps what it read, see ``ListedIndex``)."""
        with self._lock:
            got = self._db.execute(
                "SELECT data FROM postings WHERE idx = ? AND term = ? ORDER BY segment", (INDEXES.index(index), term)
            ).fetchall()
        return [_unpack(data) for (data,) in got]

    def terms_keyed(self, keys: list[str]) -> dict[str, list[str]]:
        """The stems of every held version whose ``name_key`` is one of ``keys``."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for k in keys:
                out[k] = [t for (t,) in self._db.execute("SELECT term FROM name_keys WHERE key = ?", (k,))]
        return out

    def rows(self, rows: list[int], columns: str = "row, id, text, meta") -> list[tuple]:
        """The stored columns of ``rows``, in the order asked."""
        if not rows:
            return []
        found: dict = {}
        with self._lock:
            for start in range(0, len(rows), 500):
                part = rows[start : start + 500]
                sql = f"SELECT row, {columns} FROM chunks WHERE row IN ({','.join('?' * len(part))})"
                for got in self._db.execute(sql, part):
                    found[got[0]] = got[1:]
        return [found[r] for r in rows if r in found]

    def row_range(self, first: int, count: int, columns: str) -> list[tuple]:
        with self._lock:
            return self._db.execute(
                f"SELECT {columns} FROM chunks WHERE row >= ? AND row < ? ORDER BY row", (first, first + count)
            ).fetchall()

    def rows_of_ids(self, ids: list[str]) -> dict[str, list[int]]:
        """The rows stored under each chunk id (a version removed and added again holds two)."""
        out: dict[str, list[int]] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                sql = f"SELECT id, row FROM chunks WHERE id IN ({','.join('?' * len(part))})"
                for cid, row in self._db.execute(sql, part):
                    out.setdefault(cid, []).append(row)
        return out

    # -- the document list -------------------------------------------------------------------------

    def records(self, writes: int, make: Callable) -> dict | None:
        """The document list kept for this count of writes, if any (never for a change in flight); ``make``: the
        record class, built from the fields kept (a tuple unpickles in half the time of the object: 0.3 s of a cold
        start at 100,000 documents)."""
        if writes % 2:
            return None
        with self._lock:
            if self._records_writes() != writes:
                return None
            got = self._db.execute("SELECT data FROM documents ORDER BY name").fetchall()  # as the store lists them
        try:
            loaded = (pickle.loads(data) for (data,) in got)
            records = ((make(*r) if isinstance(r, tuple) else r) for r in loaded)  # objects: kept by earlier releases
            return {r.name: r for r in records}
        except Exception:  # damaged: fetched again
            return None

    def _records_writes(self) -> int | None:
        got = self._db.execute("SELECT value FROM meta WHERE key = 'records'").fetchone()
        return int(got[0]) if got else None

    def keep_records(self, writes: int, records: dict) -> None:
        """Keep the document list read under ``writes`` (only a settled version: an even count)."""
        if writes % 2:
            return
        rows = [(name, _packed(r)) for name, r in records.items()]
        self._change_records(None, writes, rows, clear=True)

    def start_records(self, writes: int) -> None:
        """An empty document list at ``writes``: a generation's first write, before its first batch."""
        self._change_records(None, writes, [], clear=True)

    def advance_records(self, before: int, after: int, records: list, removed: list[str]) -> None:
        """A write took the index from ``before`` to ``after`` writes, listing ``records`` (new or replaced) and
        unlisting ``removed``: applied to the kept list when it is the list of ``before`` (else the kept list is
        stale, and the next reader fetches the whole list again). The writer calls it, so no reader has to fetch the
        whole list after a write: its cost is the write's size."""
        rows = [(r.name, _packed(r)) for r in records]
        self._change_records(before, after, rows, removed=removed)

    def _change_records(
        self, before: int | None, after: int, rows: list, removed: tuple | list = (), clear: bool = False
    ) -> None:
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                if before is not None and self._records_writes() != before:
                    db.execute("COMMIT")
                    return
                if clear:
                    db.execute("DELETE FROM documents")
                db.executemany("DELETE FROM documents WHERE name = ?", [(n,) for n in removed])
                db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?)", rows)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('records', ?)", (str(after),))
                db.execute("COMMIT")
            except sqlite3.Error:  # a busy or full disk: the next process fetches the list again
                if db.in_transaction:
                    db.execute("ROLLBACK")


class ListedIndex:
    """One lexical index ("lexical": stems, "skeleton": cross-script keys) over the rows a snapshot lists: BM25
    exactly as an index built over those rows alone would score (see ``qa.language.lexical.bm25_scores``)."""

    def __init__(self, lexicon: Lexicon, name: str, listed: np.ndarray, size: int, length: int, order):
        self._lexicon = lexicon
        self.name = name
        self._listed = listed  # bool per row: the row belongs to a listed version
        self.size = size  # listed rows
        self._average = length / size if size else 0.0  # mean row length (as numpy's mean of the lengths gives)
        self._order = order  # rows -> their rank in the snapshot's chunk order (ties of score are broken by it)
        self._found: dict[str, Postings] = {}

    def postings(self, term: str) -> Postings:
        """The listed rows holding ``term`` (kept for the snapshot's life; a question asks a few dozen terms)."""
        found = self._found.get(term)
        if found is None:
            parts = self._lexicon.postings(self.name, term)
            if not parts:
                found = Postings.empty()
            else:
                rows = np.concatenate([p[0] for p in parts]).astype(np.int64)
                keep = rows < len(self._listed)
                keep[keep] = self._listed[rows[keep]]
                found = Postings(
                    rows[keep],
                    np.concatenate([p[1] for p in parts])[keep],
                    np.concatenate([p[2] for p in parts]).astype(np.int64)[keep],
                )
            if len(self._found) > 20000:
                self._found.clear()
            self._found[term] = found
        return found

    def knows(self, term: str) -> bool:
        return len(self.postings(term).rows) > 0

    def idf(self, term: str) -> float:
        return idf_of(len(self.postings(term).rows), self.size)

    def rows_with(self, terms) -> set[int]:
        """The listed rows holding any of ``terms``."""
        out: set[int] = set()
        for term in set(terms):
            out.update(self.postings(term).rows.tolist())
        return out

    def terms_with_name_key(self, key: str) -> tuple[list[str], list[str]]:
        """The listed stems whose ``name_key`` is ``key``, and those whose shorter key begins it (stemming cut them
        short: ``валлетт`` for ``Valletta``)."""
        if not key:
            return [], []
        shorter_keys = [key[:n] for n in range(NAME_KEY_LENGTH - 1, len(key))]
        found = self._lexicon.terms_keyed([key, *shorter_keys])
        same = [t for t in found[key] if self.knows(t)]
        shorter = [t for k in shorter_keys for t in found[k] if self.knows(t)]
        return same, shorter

    def search(self, query_tokens, k: int) -> list[tuple[int, float]]:
        """(row, score) best first, ties in the snapshot's chunk order; rows with score 0 are left out."""
        known = [t for t in query_tokens if self.knows(t)]
        if not known or not self.size:
            return []
        scores = np.zeros(len(self._listed), dtype=np.float32)
        for term in known:  # in the question's order, as BM25 sums them
            p = self.postings(term)
            np.add.at(scores, p.rows, bm25_scores(p.tf, p.lengths, len(p.rows), self.size, self._average))
        rows = np.flatnonzero(scores > 0)
        if len(rows) > k:  # the k best and every row tied with the k-th
            cut = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
            rows = rows[scores[rows] >= cut]
        ranks = self._order(rows)
        best = np.lexsort((ranks, -scores[rows]))[:k]
        return [(int(rows[i]), float(scores[rows[i]])) for i in best]
