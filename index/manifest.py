"""The library's one truth: every indexed document's original text and a small manifest, under ``QA_HOME``.

    $QA_HOME/library/manifest.sqlite      one row per document: name, content hash, {hash, path, title, added, chars[, ocr]}
    $QA_HOME/library/texts/<sha256>.txt   the text as read (content-addressed: identical files stored once)

The vector store is a cache of it: ``qa index rebuild`` rebuilds chunks and vectors from here even when Chroma's
files are lost or damaged, and a missing store is never silently replaced by the bundled corpus while the
manifest lists documents. Every change is written here before the index switches to it (a new text file, then
the batch's rows in one transaction), so a crash leaves the manifest describing what the user asked for. A write
costs its own size: the manifest of earlier releases (``manifest.json``, rewritten whole for each batch: 2 s of
each add at 100,000 documents) is taken over once, on first use.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import IndexCorrupted
from qa.index.readers import SourceDocument

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, hash TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS documents_hash ON documents (hash);
"""


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _unlisted(db: sqlite3.Connection, hashes: set) -> set:
    """Those of ``hashes`` that no entry lists (in the caller's transaction)."""
    return {h for h in hashes if not db.execute("SELECT 1 FROM documents WHERE hash = ?", (h,)).fetchone()}


class Manifest:
    def __init__(self, home: Path):
        self.folder = Path(home) / "library"
        self.path = self.folder / "manifest.sqlite"
        self.legacy = self.folder / "manifest.json"  # earlier releases' manifest, taken over on first use
        self.texts = self.folder / "texts"

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection | None]:
        """A connection in one transaction (committed on success), or None when there is no manifest yet and
        nothing is written."""
        if not write and not self.path.exists() and not self.legacy.exists():
            yield None
            return
        if write:
            self.folder.mkdir(parents=True, exist_ok=True)
        # A full, read-only or busy disk raises as it is (OSError, sqlite3.OperationalError): the store's error
        # mapping names it; only a damaged file is "cannot be read".
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 60000")
            for statement in _SCHEMA.strip().split(";\n"):  # no-ops once the tables exist
                db.execute(statement)
            db.execute("BEGIN IMMEDIATE" if write or self.legacy.exists() else "BEGIN")
            self._take_over(db)
            yield db
            db.execute("COMMIT")
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            raise self._unreadable(exc) from None
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    def _unreadable(self, exc: BaseException) -> IndexCorrupted:
        return IndexCorrupted(f"The library manifest {self.path} cannot be read ({exc}).")

    def _take_over(self, db: sqlite3.Connection) -> None:
        """Move an earlier release's ``manifest.json`` into the table (in the caller's transaction), then set it
        aside; an unreadable one stops here, as it did before."""
        if not self.legacy.exists():
            return
        try:
            entries = dict(json.loads(self.legacy.read_text(encoding="utf-8"))["documents"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupted(f"The library manifest {self.legacy} cannot be read ({exc}).") from None
        db.executemany(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?)",
            [(name, e.get("hash", ""), json.dumps(e, ensure_ascii=False)) for name, e in entries.items()],
        )
        db.execute("COMMIT")  # the rows are safe before the old file is set aside
        os.replace(self.legacy, self.legacy.with_name("manifest.json.taken-over"))
        db.execute("BEGIN IMMEDIATE")

    def entries(self) -> dict[str, dict]:
        with self._db() as db:
            if db is None:
                return {}
            rows = db.execute("SELECT name, entry FROM documents ORDER BY name").fetchall()
        try:
            return {name: json.loads(entry) for name, entry in rows}
        except ValueError as exc:
            raise self._unreadable(exc) from None

    def __len__(self) -> int:
        with self._db() as db:
            return 0 if db is None else int(db.execute("SELECT count(*) FROM documents").fetchone()[0])

    def __contains__(self, name: object) -> bool:
        with self._db() as db:
            return db is not None and bool(db.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone())

    def record(self, sources) -> None:
        """Keep the texts of ``sources`` (SourceDocument) and list them, replacing entries of the same name."""
        sources = list(sources)
        if not sources:
            return
        self.texts.mkdir(parents=True, exist_ok=True)
        for src in sources:
            text_path = self.texts / f"{src.content_hash}.txt"
            if not text_path.exists():
                _write_atomically(text_path, src.text.encode("utf-8"))
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        replaced = set()
        with self._db(write=True) as db:
            assert db is not None
            rows = []
            for src in sources:
                found = db.execute("SELECT entry FROM documents WHERE name = ?", (src.name,)).fetchone()
                old = json.loads(found[0]) if found else {}
                if old.get("hash") and old["hash"] != src.content_hash:
                    replaced.add(old["hash"])
                entry = {
                    "hash": src.content_hash,
                    "path": src.path,
                    "title": src.title,
                    "chars": len(src.text),
                    "added": old.get("added", now) if old.get("hash") == src.content_hash else now,
                }
                if getattr(src, "ocr_spans", None):  # the ranges read by text recognition, kept for a rebuild
                    entry["ocr"] = [list(span) for span in src.ocr_spans]
                rows.append((src.name, src.content_hash, json.dumps(entry, ensure_ascii=False)))
            db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", rows)
            orphans = _unlisted(db, replaced)  # a replaced version's text, if no name lists it any more
        self._drop_texts(orphans)

    def forget(self, name: str) -> None:
        with self._db(write=True) as db:
            assert db is not None
            found = db.execute("SELECT hash FROM documents WHERE name = ?", (name,)).fetchone()
            if found is None:
                return
            db.execute("DELETE FROM documents WHERE name = ?", (name,))
            orphans = _unlisted(db, {found[0]})
        self._drop_texts(orphans)

    def _drop_texts(self, hashes: set) -> None:
        """Delete the texts of ``hashes`` (once the change that unlisted them is committed)."""
        for h in hashes:
            (self.texts / f"{h}.txt").unlink(missing_ok=True)

    def sources(self):
        """Every listed document as a ``SourceDocument``, its text read back from the library as it is taken."""
        for name, entry in self.entries().items():
            text_path = self.texts / f"{entry['hash']}.txt"
            try:
                text = text_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise IndexCorrupted(f"The library's copy of {name} ({text_path}) cannot be read ({exc}).") from None
            yield SourceDocument(
                name=name,
                text=text,
                path=entry.get("path", ""),
                title=entry.get("title", ""),
                ocr_spans=[(int(a), int(b)) for a, b in entry.get("ocr", [])],
            )
