"""A consistent, read-only view of one index state: documents, chunks, sentences, lexical indexes.

The answering stages, the evaluation tools, the benchmarks and the tests read the index through
this public API only; the Chroma collections behind it stay private.

About 480 lines: documents, chunks, sentences, terms and both lexical indexes of one index state are loaded
together, so that a question reads one version of the library; split, the parts could be of two versions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, AbstractSet

import numpy as np

from qa.index.chroma import reading
from qa.index.lexicon import INDEXES, SEP, Lexicon, ListedIndex, chunk_row
from qa.index.store import DocumentRecord, warming
from qa.language.detect import reading_form
from qa.language.lexical import (
    name_key,
    script,
)
from qa.language.text import written_words

if TYPE_CHECKING:
    from qa.index.store import Collections, Store


@dataclass
class Chunk:
    """A passage as stored: ``text`` is the cleaned text; offsets point into the original document."""

    id: str
    text: str
    meta: dict

    @property
    def source(self) -> str:
        return self.meta["source"]

    @property
    def language(self) -> str:
        return self.meta["language"]

    @property
    def doc_hash(self) -> str:
        return self.meta["doc_hash"]

    @property
    def title(self) -> str:
        return self.meta.get("title", "")

    @property
    def start(self) -> int:
        return int(self.meta["start"])

    @property
    def end(self) -> int:
        return int(self.meta["end"])

    @property
    def sentence_range(self) -> range:
        return range(int(self.meta["sent_from"]), int(self.meta["sent_to"]))

    @property
    def sentence_prefix(self) -> str:
        """Sentence ids of this document are ``{prefix}:s{position}``."""
        return self.id.rsplit(":c", 1)[0]


@dataclass
class Sentence:
    id: str
    text: str
    source: str
    language: str
    doc_hash: str
    position: int
    start: int
    end: int
    embedding: np.ndarray


@dataclass
class DenseHits:
    """Dense search results of one document language: ids, cosine similarities, metadata."""

    language: str
    ids: list[str]
    similarities: list[float]
    metas: list[dict | None]


# The most document hashes one ``$in`` filter of a Chroma call holds: Chroma's SQLite refuses a statement with too
# many variables ("too many SQL variables", seen at 30,000 documents: about 7,500 hashes in one language), so a
# longer list is asked in parts.
IN_LIMIT = 1000


def _in_parts(hashes) -> list[list[str]]:
    """``hashes`` cut into lists of at most ``IN_LIMIT``."""
    hashes = list(hashes)
    return [hashes[i : i + IN_LIMIT] for i in range(0, len(hashes), IN_LIMIT)]


def get_by_hash(part, hashes, include: list[str]) -> dict:
    """``part.get`` of the records of the documents ``hashes``, asked ``IN_LIMIT`` hashes at a time, the answers
    joined (ids, and each of ``include``)."""
    out: dict = {"ids": [], **{key: [] for key in include}}
    for chunk in _in_parts(hashes):
        got = part.get(where={"doc_hash": {"$in": chunk}}, include=include)
        out["ids"].extend(got["ids"])
        for key in include:
            out[key].extend(got[key] if got.get(key) is not None else [])
    return out


def _fetch_missing(
    collections, lexicon: Lexicon, languages: dict[str, str], held: AbstractSet[str], part_size: int = 1000
) -> int:
    """Fetch and tokenise the listed versions (``languages``: content hash -> document language) the lexicon does
    not hold yet (``held``: those it holds), and append them to it, ``part_size`` versions at a time (a machine
    without the file holds one part in memory, not the library); returns how many were fetched."""
    missing = [h for h in languages if h not in held]
    by_language: dict = {}
    for h in missing:
        by_language.setdefault(languages[h], []).append(h)
    for language, hashes in sorted(by_language.items()):
        part = collections.part("chunks", language)
        if part is None:
            continue
        for start in range(0, len(hashes), part_size):
            wanted = hashes[start : start + part_size]
            got = reading(lambda: get_by_hash(part, wanted, ["documents", "metadatas"]))
            fresh: dict = {h: [] for h in wanted}
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"]):
                fresh[m["doc_hash"]].append(chunk_row(i, t, m))
            # A listed version always has chunks; none means a write in flight: asked again next time.
            lexicon.add({h: rows for h, rows in fresh.items() if rows})
    return len(missing)


def _names_by_hash(records: dict) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for name in sorted(records):
        names.setdefault(records[name].content_hash, []).append(name)
    return names


def _cited_name(names: dict, meta: dict) -> str:
    """Identical files share their chunks and sentences: they are cited under the first listed name of their
    content (the name stored with them may have been removed since)."""
    return (names.get(meta["doc_hash"]) or [meta["source"]])[0]


class ChunkList(Sequence):
    """The listed chunks in the snapshot's order (by cited document name, then position), read from the lexicon
    as they are asked for: ``len`` and iteration without holding them all."""

    def __init__(self, snapshot: "Snapshot"):
        self._snapshot = snapshot

    def __len__(self) -> int:
        return self._snapshot.lexical.size

    def __iter__(self):
        snap = self._snapshot
        for v in snap._in_order:
            for row in range(v.first, v.first + v.count):
                yield snap.chunk_at(row)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        snap = self._snapshot
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        starts = snap._order_starts
        k = int(np.searchsorted(starts, i, side="right")) - 1
        v = snap._in_order[k]
        return snap.chunk_at(v.first + i - int(starts[k]))


class _HeldIn:
    """The terms held by the listed chunks of one language, asked term by term: ``terms & held`` is the terms
    of ``terms`` that some chunk in that language holds (as a stem or a cross-script key)."""

    def __init__(self, snapshot: "Snapshot", language: str):
        self._snapshot = snapshot
        self._language = language
        self._known: dict[str, bool] = {}

    def _holds(self, term: str) -> bool:
        if term not in self._known:
            snap = self._snapshot
            self._known[term] = any(
                self._language in snap.row_languages(index.postings(term).rows)
                for index in (snap.lexical, snap.skeleton)
            )
        return self._known[term]

    def __and__(self, other) -> set:
        return {t for t in other if self._holds(t)}

    __rand__ = __and__


@dataclass(eq=False)
class Snapshot:
    collections: Collections  # of the loaded generation
    documents: dict  # name -> DocumentRecord
    lexical: ListedIndex  # question stems
    skeleton: ListedIndex  # cross-script keys: names and international words across ru / en / uz
    _lexicon: Lexicon
    _versions: dict  # content hash -> Version, of the listed versions
    _firsts: np.ndarray  # the listed versions' first rows, ascending
    _by_first: list  # the listed versions in that order
    _store: Store | None = None
    version: tuple = (0, 0)  # the store's (generation, writes) when loaded
    _names: dict = field(default_factory=dict)  # content hash -> the listed names with that content, sorted
    fetched: int = 0  # document versions this load fetched from the index (the others came from the lexicon)
    _texts: dict = field(default_factory=dict)
    _chunks: dict = field(default_factory=dict)  # row -> Chunk, of the rows read so far
    _rows: dict = field(default_factory=dict)  # chunk id -> row
    _holders: dict = field(default_factory=dict)  # content hash -> sentence position -> chunk ids
    _term_unions: dict = field(default_factory=dict)  # content hash -> union of its chunks' terms
    _held_in: dict = field(default_factory=dict)  # language -> _HeldIn
    _prefixes: dict = field(default_factory=dict)  # chunk and sentence id prefix -> content hash

    @classmethod
    def load(cls, store, warm: bool = False, previous: "Snapshot | None" = None) -> "Snapshot":
        """The index as it is now. ``warm``: have Chroma load its vector indexes meanwhile (a process's first
        load); ``previous``: this process's last snapshot, whose lexicon connection is reused."""
        version = store.version()
        collections = store.open()
        if warm:  # Chroma loads the vector indexes (it does not hold the GIL) while this thread reads the lexicon
            warming(collections, int(store.embedder.dimension))  # the process's exit waits for it (a crash otherwise)
        lexicon = Lexicon.for_store(store, collections, version[0], previous._lexicon if previous is not None else None)
        records = lexicon.records(version[1], DocumentRecord)
        if records is None:
            records = {r.name: r for r in store.documents(collections)}
            lexicon.keep_records(version[1], records)
        names = _names_by_hash(records)
        languages = {records[copies[0]].content_hash: records[copies[0]].language for copies in names.values()}
        versions = lexicon.versions(list(languages))
        fetched = _fetch_missing(collections, lexicon, languages, versions.keys())
        if fetched:
            versions = lexicon.versions(list(languages))
        by_first = sorted(versions.values(), key=lambda v: v.first)
        firsts = np.array([v.first for v in by_first], dtype=np.int64)
        counts = np.array([v.count for v in by_first], dtype=np.int64)
        end = int((firsts + counts).max()) if len(by_first) else 0
        edges = np.zeros(end + 1, dtype=np.int64)
        np.add.at(edges, firsts, 1)
        np.add.at(edges, firsts + counts, -1)
        listed = np.cumsum(edges[:end]) > 0
        size = int(counts.sum())
        snapshot = cls(
            collections=collections,
            documents=records,
            lexical=None,  # type: ignore[arg-type]  # set below: the indexes read the snapshot's order
            skeleton=None,  # type: ignore[arg-type]
            _lexicon=lexicon,
            _versions=versions,
            _firsts=firsts,
            _by_first=by_first,
            _store=store,
            version=version,
            _names=names,
            fetched=fetched,
            _prefixes={h[:20]: h for h in versions},
        )
        for i, name in enumerate(INDEXES):
            length = sum(v.lengths[i] for v in by_first)
            setattr(snapshot, name, ListedIndex(lexicon, name, listed, size, length, snapshot._rank))
        return snapshot

    # -- documents -------------------------------------------------------------------------------

    @property
    def languages(self) -> list[str]:
        return [language for language in self._listed_by_language if language]

    @cached_property
    def _listed_by_language(self) -> dict[str, tuple[list[str], frozenset[str]]]:
        """Language ("" for every language) -> (the listed content hashes, each once, and the same as a set);
        made once per snapshot, since a question asks for them several times and they grow with the library."""
        by_language: dict[str, dict] = {"": {}}
        for r in self.documents.values():
            by_language[""][r.content_hash] = None
            by_language.setdefault(r.language, {})[r.content_hash] = None
        return {language: (list(hashes), frozenset(hashes)) for language, hashes in sorted(by_language.items())}

    @cached_property
    def hash_languages(self) -> dict[str, str]:
        """Content hash -> language, of the listed versions (made once per snapshot)."""
        return {r.content_hash: r.language for r in self.documents.values()}

    def active_hashes(self, language: str | None = None) -> list[str]:
        """Content hashes of the listed document versions (in ``language`` only, if given), each once."""
        listed = self._listed_by_language.get(language or "")
        return list(listed[0]) if listed else []

    def active_set(self, language: str | None = None) -> frozenset:
        """The same as a set (kept: not copied for each question)."""
        listed = self._listed_by_language.get(language or "")
        return listed[1] if listed else frozenset()

    def copies(self, doc_hash: str) -> list[str]:
        """Every listed name with this content (identical files share one set of chunks), sorted."""
        return list(self._names.get(doc_hash, []))

    def text(self, source: str) -> str:
        """A document's original text (what quotes and offsets refer to), fetched once."""
        if source not in self._texts:
            record = self.documents.get(source)
            assert self._store is not None  # load() sets it
            self._texts[source] = self._store.document_text(
                source, self.collections, content_hash=record.content_hash if record else None
            )
        return self._texts[source]

    # -- chunks ----------------------------------------------------------------------------------

    @property
    def chunks(self) -> ChunkList:
        """The listed chunks, by cited document name and position (read as they are asked for)."""
        return ChunkList(self)

    @cached_property
    def _in_order(self) -> list:
        """The listed versions by cited name (the chunk order)."""
        return sorted(self._by_first, key=lambda v: self._names[v.hash][0])

    @cached_property
    def _order_starts(self) -> np.ndarray:
        """Where each version of ``_in_order`` starts in the chunk order."""
        return np.concatenate([[0], np.cumsum([v.count for v in self._in_order])[:-1]]).astype(np.int64)

    @cached_property
    def _version_rank(self) -> np.ndarray:
        """Per version of ``_by_first``, its place in ``_in_order``."""
        place = {v.hash: i for i, v in enumerate(self._in_order)}
        return np.array([place[v.hash] for v in self._by_first], dtype=np.int64)

    def _version_index(self, rows) -> np.ndarray:
        """For listed ``rows``, the index of their version in ``_by_first``."""
        return np.searchsorted(self._firsts, np.asarray(rows, dtype=np.int64), side="right") - 1

    def _rank(self, rows: np.ndarray) -> np.ndarray:
        """Each listed row's place in the chunk order."""
        k = self._version_index(rows)
        return self._order_starts[self._version_rank[k]] + (rows - self._firsts[k])

    def row_languages(self, rows) -> set[str]:
        """The document languages of listed ``rows``."""
        return {self._by_first[k].language for k in set(self._version_index(rows).tolist())}

    def row_hashes(self, rows) -> list[str]:
        """The content hash of each listed row."""
        return [self._by_first[k].hash for k in self._version_index(rows).tolist()]

    def chunk_at(self, row: int) -> Chunk:
        """The chunk stored at a listed ``row`` (of a lexical index)."""
        found = self._chunks.get(row)
        if found is None:
            if len(self._chunks) > 50000:
                self._chunks.clear()
            self._read_rows([row])
            found = self._chunks[row]
        return found

    def _read_rows(self, rows: list[int]) -> None:
        for row, cid, text, meta in self._lexicon.rows(rows):
            m = json.loads(meta)
            self._chunks[row] = Chunk(cid, text, {**m, "source": _cited_name(self._names, m)})
            self._rows[cid] = row

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunk_at(self.row(chunk_id))

    def row(self, chunk_id: str) -> int:
        found = self._rows.get(chunk_id)
        if found is None:
            version = self._versions.get(self._prefixes.get(chunk_id.rsplit(":c", 1)[0], ""))
            rows = self._lexicon.rows_of_ids([chunk_id]).get(chunk_id, [])
            listed = [r for r in rows if version and version.first <= r < version.first + version.count]
            if not listed:
                raise KeyError(chunk_id)
            found = self._rows[chunk_id] = listed[0]
        return found

    def chunk_terms(self, index: str, chunk_id: str) -> frozenset[str]:
        """The terms of a chunk in the ``lexical`` (stems) or ``skeleton`` (cross-script keys) index."""
        (terms,) = self._lexicon.rows([self.row(chunk_id)], index)[0]
        return frozenset(terms.split(SEP)) if terms else frozenset()

    def language_terms(self, language: str) -> _HeldIn:
        """The stems and cross-script keys the chunks in ``language`` hold, to intersect with: ``terms & held``."""
        if language not in self._held_in:
            self._held_in[language] = _HeldIn(self, language)
        return self._held_in[language]

    def document_terms(self, doc_hash: str) -> set:
        """Every stem and cross-script key of one document version."""
        if doc_hash not in self._term_unions:
            if len(self._term_unions) > 5000:  # a long-lived snapshot keeps a bounded number of documents' terms
                self._term_unions.clear()
            terms: set = set()
            v = self._versions.get(doc_hash)
            for lexical, skeleton in self._lexicon.row_range(v.first, v.count, "lexical, skeleton") if v else []:
                terms.update(t for t in lexical.split(SEP) if t)
                terms.update(t for t in skeleton.split(SEP) if t)
            self._term_unions[doc_hash] = terms
        return self._term_unions[doc_hash]

    def documents_naming(self, terms: AbstractSet[str], name: str) -> dict[str, bool]:
        """The document versions (content hashes) that hold one of a name's ``terms`` (stems or cross-script
        keys) or a word with its ``qa.language.lexical.name_key``: True where one of those is there, or a word of the
        other script whose key stemming cut short (``валлетт`` for ``Valletta``); False where only a word of
        the name's own script with a cut key is (it may be another word)."""
        same, shorter = self.lexical.terms_with_name_key(name_key(name))
        other_script = [t for t in shorter if script(t) != script(name)]
        exact = self.lexical.rows_with(set(terms) | set(same) | set(other_script)) | self.skeleton.rows_with(terms)
        cut = self.lexical.rows_with(set(shorter) - set(other_script))
        found = {h: False for h in self.row_hashes(sorted(cut))}
        found.update({h: True for h in self.row_hashes(sorted(exact))})
        return found

    def written_lowercase(self, stems: set, limit: int = 200) -> bool:
        """Whether a word with one of ``stems`` is written in lower case somewhere in the documents (a common
        word, "council", "kengash"), not only capitalised (a personal name: "Imnadze"). Looks at the first
        ``limit`` chunks (in the chunk order) that hold the stems."""
        stems = {s for s in stems if s}
        if not stems:
            return False
        rows = np.array(sorted(self.lexical.rows_with(stems)), dtype=np.int64)
        first = rows[np.argsort(self._rank(rows), kind="stable")[:limit]].tolist() if len(rows) else []
        self._read_rows([r for r in first if r not in self._chunks])
        for row in first:
            chunk = self.chunk_at(row)
            for w in written_words(reading_form(chunk.text, chunk.language)):
                if w[:1].islower() and any(w.casefold().startswith(s) for s in stems):
                    return True
        return False

    def lexical_index(self, name: str) -> ListedIndex:
        return {"lexical": self.lexical, "skeleton": self.skeleton}[name]

    def chunks_holding(self, doc_hash: str, position: int) -> list[str]:
        if doc_hash not in self._holders:
            if len(self._holders) > 5000:
                self._holders.clear()
            held: dict = {}
            v = self._versions.get(doc_hash)
            for cid, meta in self._lexicon.row_range(v.first, v.count, "id, meta") if v else []:
                m = json.loads(meta)
                for pos in range(int(m["sent_from"]), int(m["sent_to"])):
                    held.setdefault(pos, []).append(cid)
            self._holders[doc_hash] = held
        return self._holders[doc_hash].get(position, [])

    def sentence_count(self, doc_hash: str, default: int = 0) -> int:
        v = self._versions.get(doc_hash)
        return v.sentences if v else default

    # -- sentences -------------------------------------------------------------------------------

    def sentences(self, ids: list[str]) -> list[Sentence]:
        """Stored sentences by id (``{chunk.sentence_prefix}:s{position}`` of a loaded chunk), with their
        embeddings, grouped by language in the store's order."""
        out: list[Sentence] = []
        for part, wanted in self._parts_holding("sentences", ids):
            got = part.get(ids=wanted, include=["embeddings", "documents", "metadatas"])
            emb = np.asarray(got["embeddings"], dtype=np.float32)
            out.extend(
                Sentence(
                    id=i,
                    text=t,
                    source=_cited_name(self._names, m),
                    language=m["language"],
                    doc_hash=m["doc_hash"],
                    position=int(m["position"]),
                    start=int(m["start"]),
                    end=int(m["end"]),
                    embedding=emb[row],
                )
                for row, (i, t, m) in enumerate(zip(got["ids"], got["documents"], got["metadatas"]))
            )
        return out

    def _parts_holding(self, kind: str, ids: list[str]) -> list:
        """``[(collection, ids in it)]``: the ids of loaded chunks or their sentences, grouped by the language
        collection that holds them."""
        by_language: dict = {}
        for i in ids:
            version = self._versions.get(self._prefixes.get(i.rsplit(":c" if kind == "chunks" else ":s", 1)[0], ""))
            language = version.language if version else None
            if language is not None:
                by_language.setdefault(language, []).append(i)
        parts = [(self.collections.part(kind, language), wanted) for language, wanted in sorted(by_language.items())]
        return [(part, wanted) for part, wanted in parts if part is not None]

    def sentence_texts(self) -> list[str]:
        """Every stored sentence text of the listed documents (for benchmarks)."""
        out = []
        for language in self.languages:
            active = self.active_hashes(language)
            part = self.collections.part("sentences", language)
            if active and part is not None:
                out.extend(get_by_hash(part, active, ["documents"])["documents"])
        return out

    def vectors(self, kind: str, ids: list[str]) -> np.ndarray:
        """The stored vectors of chunks or sentences (``kind``) by id, in the order asked."""
        found: dict = {}
        for part, wanted in self._parts_holding(kind, ids):
            got = part.get(ids=wanted, include=["embeddings"])
            found.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
        return np.stack([found[i] for i in ids]) if ids else np.zeros((0, 0), dtype=np.float32)

    # -- dense search ----------------------------------------------------------------------------

    def dense(
        self,
        kind: str,
        vector: np.ndarray,
        n: int,
        hashes: Sequence[str] | AbstractSet[str],
        language: str | None = None,
        with_metadata: bool = False,
    ) -> DenseHits:
        """The ``n`` nearest ``kind`` ("chunks" or "sentences") among the documents with ``hashes``, in the
        documents of ``language`` (one collection per language: no filter) or in every language.

        The collections hold only listed documents' vectors, except for a moment during a write (a batch
        written but not yet switched, replaced versions not yet swept) or after a crash: so the query asks
        for a few more than ``n`` without a per-query list of every document hash (which costs time in
        proportion to the library), drops what is not listed, and only if that leaves too few asks again
        with the exact list."""
        allowed = hashes if isinstance(hashes, (set, frozenset)) else set(hashes)
        slack = max(8, n // 2)
        hits = []
        for lang in [language] if language else self.languages:
            part = self.collections.part(kind, lang)
            if part is None:
                continue
            found = self._dense_query(part, vector, n + slack, None)
            # A hit whose metadata is gone was deleted meanwhile by another process (a sweep): not listed.
            kept = [h for h in found if h[2] and h[2].get("doc_hash") in allowed]
            if len(kept) < min(n, len(found)):  # asked again, of this language's listed documents only
                here = self._listed(kind, lang, allowed)[0]
                kept = sorted(
                    (
                        h
                        for chunk in _in_parts(here)
                        for h in self._dense_query(part, vector, n, {"doc_hash": {"$in": chunk}})
                    ),
                    key=lambda h: h[1],
                    reverse=True,
                )[:n]
            if len(found) < n + slack:  # Chroma gave all it found: a small collection, so check it gave them all
                listed, count = self._listed(kind, lang, allowed)
                if len(kept) < min(n, count):
                    kept = self._exact(part, vector, n, listed)
            hits.extend(kept)
        hits.sort(key=lambda h: h[1], reverse=True)
        kept = hits[:n]
        return DenseHits(
            language or "",
            [h[0] for h in kept],
            [h[1] for h in kept],
            [h[2] for h in kept] if with_metadata else [None] * len(kept),
        )

    def _listed(self, kind: str, language: str, allowed: AbstractSet[str]) -> tuple[list[str], int]:
        """The content hashes, among ``allowed``, of the listed documents in ``language``, and how many ``kind``
        records they hold."""
        hashes = [h for h in self._listed_by_language.get(language, ([], frozenset()))[0] if h in allowed]
        if kind == "sentences":
            return hashes, sum(self.sentence_count(h) for h in hashes)
        return hashes, sum(self._versions[h].count for h in hashes if h in self._versions)

    @staticmethod
    def _exact(collection, vector: np.ndarray, n: int, listed: list[str]) -> list:
        """The ``n`` nearest of a small collection's records of the ``listed`` documents, compared one by one. Chroma's vector index
        has been seen to leave out a record in some processes (one of 17, for every query of that process), so a
        search that returns fewer than the collection lists is done again this way."""
        got = get_by_hash(collection, sorted(listed), ["embeddings", "metadatas"])
        if not got["ids"]:
            return []
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(vector) or 1.0)
        similarities = vectors @ np.asarray(vector, dtype=np.float32) / np.where(norms > 0, norms, 1.0)
        order = np.argsort(-similarities, kind="stable")[:n]
        return [(got["ids"][i], float(similarities[i]), got["metadatas"][i]) for i in order]

    @staticmethod
    def _dense_query(collection, vector: np.ndarray, n: int, where: dict | None) -> list:
        got = collection.query(
            query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances", "metadatas"]
        )
        return [(i, 1.0 - d, m) for i, d, m in zip(got["ids"][0], got["distances"][0], got["metadatas"][0])]

    def stored_counts(self) -> dict[str, int]:
        """How many chunks and sentences the store holds, listed or not (crash leftovers included)."""
        return {kind: sum(c.count() for c in self.collections.parts(kind)) for kind in ("chunks", "sentences")}
