"""The chunks of the index and their lexical terms, kept on local disk so a process starts without
fetching and tokenising every chunk.

Within one generation of the index a document version's chunks never change: their ids are made from
its content hash, and a version already indexed is never written again. So a process keeps, per content
hash, the chunks (id, cleaned text, metadata) and their terms (stems and cross-script keys) in
``$QA_HOME/cache/chunks-KEY.pickle``, where KEY names the store (its folder or server URL, collection prefix,
generation, build configuration) and the tokenizer versions. At load it fetches from the index only the
versions it has not seen (all of them the first time, the new batch after an ingest), and it rewrites the
file (atomically) when the listed versions changed. A rebuild starts a new generation and so a new file.

It also keeps the document list (name -> record) read under one settled version of the index (an even count
of writes: no change in flight), so a process started while nothing changed does not fetch every record.

The file is a cache: losing it, or finding it damaged, costs one full fetch, never an answer. With a Chroma
server each answering machine keeps its own in its ``QA_HOME``; nothing needs to be shared.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

FORMAT = 5


class ChunkCache:
    def __init__(
        self,
        path: Path,
        identity: dict,
        store_key: str,
        entries: dict | None = None,
        derived: dict | None = None,
        records: tuple | None = None,
    ):
        self.path = path
        self.identity = identity
        self.store_key = store_key  # names this store's files (its other generations' files are removed on save)
        self.entries: dict = entries or {}  # content hash -> [(id, text, meta, stems, keys), ...]
        # What the snapshot builds from the entries in one order of chunks (the BM25 indexes), under "digest":
        # the digest of that order of chunk ids.
        self.derived: dict = derived or {}
        self._records = records  # (count of writes, {name: DocumentRecord}) of a settled version
        self.fetched = 0  # versions fetched from the index by this load (for tests and benchmarks)
        self._changed = False

    @classmethod
    def open(cls, home: Path, store: dict, identity: dict, previous: "ChunkCache | None" = None) -> "ChunkCache":
        """The cache for one store (``store``: where it is) in one state (``identity``: generation, build
        configuration, tokenizers); empty when there is none or it cannot be read. ``previous``: the one this
        process loaded last, reused as it is when it is the same cache (a reload after a write does not read
        the file again)."""
        store_key = _key(store)
        path = Path(home) / "cache" / f"chunks-{store_key}-{_key(identity)}.pickle"
        if previous is not None and previous.path == path and previous.identity == identity:
            previous.fetched = 0
            return previous
        try:
            with open(path, "rb") as f:
                data = pickle.load(f)
            if data.get("format") == FORMAT and data.get("identity") == identity:
                return cls(path, identity, store_key, data["entries"], data.get("derived"), data.get("records"))
        except Exception:  # none yet, damaged, or from another version: start afresh
            pass
        return cls(path, identity, store_key)

    def records(self, writes: int) -> dict | None:
        """The document list kept for this count of writes, if any (never for a change in flight)."""
        if writes % 2 == 0 and self._records and self._records[0] == writes:
            return dict(self._records[1])
        return None

    def keep_records(self, writes: int, records: dict) -> None:
        """Keep the document list read under ``writes`` (only a settled version: an even count)."""
        if writes % 2 == 0 and (not self._records or self._records[0] != writes):
            self._records = (writes, dict(records))
            self._changed = True

    def missing(self, hashes: list[str]) -> list[str]:
        return [h for h in hashes if h not in self.entries]

    def add(self, doc_hash: str, rows: list) -> None:
        self.entries[doc_hash] = rows
        self._changed = True

    def derive(self, digest: str, build) -> dict:
        """What ``build()`` makes from the chunks in the order whose digest is ``digest``: from the file when it
        was built for that order, else built now (and saved with the next ``save``)."""
        if self.derived.get("digest") != digest:
            self.derived = {**build(), "digest": digest}
            self._changed = True
        return self.derived

    def save(self, active: list[str]) -> None:
        """Keep exactly the listed versions; write the file only when that changes what it holds."""
        wanted = set(active)
        if not self._changed and set(self.entries) <= wanted:
            return
        self.entries = {h: rows for h, rows in self.entries.items() if h in wanted}
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob(f"chunks-{self.store_key}-*.pickle"):  # this store's other generations
                if old != self.path:
                    old.unlink(missing_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".chunks-", suffix=".tmp")
        except OSError:  # a read-only or full disk: answering goes on without the cache
            return
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(
                    {
                        "format": FORMAT,
                        "identity": self.identity,
                        "entries": self.entries,
                        "derived": self.derived,
                        "records": self._records,
                    },
                    f,
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)


def _key(value: dict) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]
