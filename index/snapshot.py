"""A consistent, read-only view of one index state: documents, chunks, sentences, lexical indexes.

The answering stages, the evaluation tools, the benchmarks and the tests read the index through
this public API only; the Chroma collections behind it stay private.

About 480 lines: documents, chunks, sentences, terms and both lexical indexes of one index state are loaded
together, so that a question reads one version of the library; split, the parts could be of two versions.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AbstractSet

import numpy as np

from qa.index.chroma import reading
from qa.index.chunk_cache import ChunkCache
from qa.index.store import warming
from qa.language.detect import reading_form
from qa.language.lexical import (
    SKELETON_VERSION,
    TOKENIZER_VERSION,
    LexicalIndex,
    name_key,
    script,
    skeleton_tokens,
    tokenize,
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


def _open_cache(store, collections, generation: int, previous=None):
    """The local cache of this store's generation (see ``chunk_cache``)."""
    settings = store.settings
    where = {"server": settings.chroma_url} if settings.chroma_url else {"folder": str(settings.home / "chroma")}
    identity = {
        "collection": collections.id,
        "generation": generation,
        "build": collections.metadata,
        "terms": [TOKENIZER_VERSION, SKELETON_VERSION],
    }
    return ChunkCache.open(settings.home, {**where, "prefix": store.prefix}, identity, previous)


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


def _chunk_rows(collections, cache, languages: dict[str, str]) -> list:
    """(id, text, metadata, stems, keys) of every chunk of the listed versions (``languages``: content hash ->
    document language), from the local chunk cache, fetching and tokenising only the versions it does not hold
    yet."""
    active = list(languages)
    missing = cache.missing(active)
    if missing:
        fresh: dict = {h: [] for h in missing}
        by_language: dict = {}
        for h in missing:
            by_language.setdefault(languages[h], []).append(h)
        for language, hashes in sorted(by_language.items()):
            part = collections.part("chunks", language)
            if part is None:
                continue
            got = reading(lambda: get_by_hash(part, hashes, ["documents", "metadatas"]))
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"]):
                body = f"{m.get('title', '')} {t}"
                body = reading_form(body, m["language"])  # Uzbek Cyrillic read in Latin
                fresh[m["doc_hash"]].append(
                    (i, t, _shared_strings(m), _shared(tokenize(body, m["language"])), _shared(skeleton_tokens(body)))
                )
        for h, rows in fresh.items():
            if rows:  # a listed version always has chunks; none means a write in flight: ask again next time
                cache.add(h, rows)
        cache.fetched = len(missing)
    return [row for h in active for row in cache.entries.get(h, [])]


def _shared_strings(meta: dict) -> dict:
    """The metadata with its keys and short values interned: the chunks of a document then share one copy of
    each (the cache file pickles a shared string once, and loads in half the time)."""
    return {sys.intern(k): sys.intern(v) if isinstance(v, str) and len(v) <= 200 else v for k, v in meta.items()}


def _shared(terms: list[str]) -> list[str]:
    """Terms interned: one copy of each term for every chunk (see ``_shared_strings``)."""
    return [sys.intern(t) for t in terms]


def _names_by_hash(records: dict) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for name in sorted(records):
        names.setdefault(records[name].content_hash, []).append(name)
    return names


def _cited_name(names: dict, meta: dict) -> str:
    """Identical files share their chunks and sentences: they are cited under the first listed name of their
    content (the name stored with them may have been removed since)."""
    return (names.get(meta["doc_hash"]) or [meta["source"]])[0]


@dataclass
class Snapshot:
    collections: Collections  # of the loaded generation
    documents: dict  # name -> DocumentRecord
    chunks: list[Chunk]
    lexical: LexicalIndex  # question stems
    skeleton: LexicalIndex  # cross-script keys: names and international words across ru / en / uz
    _row: dict = field(default_factory=dict)
    _terms: dict = field(default_factory=dict)  # "lexical" / "skeleton" -> per chunk row, its list of terms
    _holders: dict = field(default_factory=dict)  # (doc_hash, sentence position) -> chunk ids
    _sentence_counts: dict = field(default_factory=dict)
    _texts: dict = field(default_factory=dict)
    _rows_by: dict = field(default_factory=dict)  # "language" / "doc_hash" -> value -> chunk rows
    _term_unions: dict = field(default_factory=dict)  # (field, value) -> union of those chunks' terms
    _store: Store | None = None
    version: tuple = (0, 0)  # the store's (generation, writes) when loaded
    _names: dict = field(default_factory=dict)  # content hash -> the listed names with that content, sorted
    _prefix_language: dict = field(default_factory=dict)  # sentence id prefix -> language, filled when first needed
    _cache: object = None  # the chunk cache it was loaded with (the next load of this process reuses it)
    fetched: int = 0  # document versions this load fetched from the index (the others came from the chunk cache)

    @classmethod
    def load(cls, store, warm: bool = False, previous: "Snapshot | None" = None) -> "Snapshot":
        """The index as it is now. ``warm``: have Chroma load its vector indexes meanwhile (a process's first
        load); ``previous``: this process's last snapshot, whose in-memory chunk cache is reused."""
        version = store.version()
        collections = store.open()
        if warm:  # Chroma loads the vector indexes (it does not hold the GIL) while this thread reads the cache
            warming(collections, int(store.embedder.dimension))  # the process's exit waits for it (a crash otherwise)
        cache = _open_cache(store, collections, version[0], previous._cache if previous is not None else None)
        records = cache.records(version[1])
        if records is None:
            records = {r.name: r for r in store.documents(collections)}
            cache.keep_records(version[1], records)
        names = _names_by_hash(records)
        active = list(names)
        languages = {records[copies[0]].content_hash: records[copies[0]].language for copies in names.values()}
        rows = _chunk_rows(collections, cache, languages)
        chunks = [Chunk(i, t, {**m, "source": _cited_name(names, m)}) for i, t, m, _, _ in rows]
        order = sorted(range(len(chunks)), key=lambda i: (chunks[i].source, chunks[i].meta["position"]))
        chunks = [chunks[i] for i in order]

        stems = [rows[i][3] for i in order]
        keys = [rows[i][4] for i in order]

        def build() -> dict:  # the BM25 indexes: rebuilt only when the chunks change
            return {"lexical": LexicalIndex(stems), "skeleton": LexicalIndex(keys)}

        digest = hashlib.sha1("\n".join(c.id for c in chunks).encode()).hexdigest()
        derived = cache.derive(digest, build)
        cache.save(active)
        holders: dict = {}
        counts: dict = {}
        for c in chunks:
            counts[c.doc_hash] = max(counts.get(c.doc_hash, 0), c.sentence_range.stop)
            for pos in c.sentence_range:
                holders.setdefault((c.doc_hash, pos), []).append(c.id)
        return cls(
            collections=collections,
            documents=records,
            chunks=chunks,
            lexical=derived["lexical"],
            skeleton=derived["skeleton"],
            _row={c.id: i for i, c in enumerate(chunks)},
            _terms={"lexical": stems, "skeleton": keys},
            _holders=holders,
            _sentence_counts=counts,
            _store=store,
            version=version,
            _names=names,
            fetched=cache.fetched,
            _cache=cache,
        )

    # -- documents -------------------------------------------------------------------------------

    @property
    def languages(self) -> list[str]:
        return sorted({r.language for r in self.documents.values()})

    def active_hashes(self, language: str | None = None) -> list[str]:
        """Content hashes of the listed document versions (in ``language`` only, if given), each once."""
        return list(
            dict.fromkeys(r.content_hash for r in self.documents.values() if not language or r.language == language)
        )

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

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunks[self._row[chunk_id]]

    def row(self, chunk_id: str) -> int:
        return self._row[chunk_id]

    def chunk_terms(self, index: str, chunk_id: str) -> frozenset[str]:
        """The terms of a chunk in the ``lexical`` (stems) or ``skeleton`` (cross-script keys) index."""
        return frozenset(self._terms[index][self._row[chunk_id]])

    def language_terms(self, language: str) -> set:
        """Every stem and cross-script key of the chunks in ``language``."""
        return self._terms_of("language", language)

    def document_terms(self, doc_hash: str) -> set:
        """Every stem and cross-script key of one document version."""
        return self._terms_of("doc_hash", doc_hash)

    def documents_naming(self, terms: AbstractSet[str], name: str) -> dict[str, bool]:
        """The document versions (content hashes) that hold one of a name's ``terms`` (stems or cross-script
        keys) or a word with its ``qa.language.lexical.name_key``: True where one of those is there, or a word of the
        other script whose key stemming cut short (``валлетт`` for ``Valletta``); False where only a word of
        the name's own script with a cut key is (it may be another word)."""
        same, shorter = self.lexical.terms_with_name_key(name_key(name))
        other_script = [t for t in shorter if script(t) != script(name)]
        exact = self.lexical.rows_with(set(terms) | set(same) | set(other_script)) | self.skeleton.rows_with(terms)
        found = {self.chunks[row].doc_hash: False for row in self.lexical.rows_with(set(shorter) - set(other_script))}
        found.update({self.chunks[row].doc_hash: True for row in exact})
        return found

    def written_lowercase(self, stems: set, limit: int = 200) -> bool:
        """Whether a word with one of ``stems`` is written in lower case somewhere in the documents (a common
        word, "council", "kengash"), not only capitalised (a personal name: "Imnadze"). Looks at the first
        ``limit`` chunks that hold the stems."""
        stems = {s for s in stems if s}
        if not stems:
            return False

        for row in sorted(self.lexical.rows_with(stems))[:limit]:
            chunk = self.chunks[row]
            for w in written_words(reading_form(chunk.text, chunk.language)):
                if w[:1].islower() and any(w.casefold().startswith(s) for s in stems):
                    return True
        return False

    def _terms_of(self, field_name: str, value: str) -> set:
        """The union of the terms of the chunks whose ``field_name`` is ``value``, computed once."""
        key = (field_name, value)
        if key not in self._term_unions:
            terms: set = set()
            for row in self._rows_where(field_name, value):
                terms.update(self._terms["lexical"][row])
                terms.update(self._terms["skeleton"][row])
            self._term_unions[key] = terms
        return self._term_unions[key]

    def _rows_where(self, field_name: str, value: str) -> list[int]:
        """The rows of the chunks whose ``field_name`` is ``value`` (the grouping is built once per field)."""
        if field_name not in self._rows_by:
            rows: dict = {}
            for row, chunk in enumerate(self.chunks):
                rows.setdefault(chunk.meta[field_name], []).append(row)
            self._rows_by[field_name] = rows
        return self._rows_by[field_name].get(value, [])

    def lexical_index(self, name: str) -> LexicalIndex:
        return {"lexical": self.lexical, "skeleton": self.skeleton}[name]

    def chunks_holding(self, doc_hash: str, position: int) -> list[str]:
        return self._holders.get((doc_hash, position), [])

    def sentence_count(self, doc_hash: str, default: int = 0) -> int:
        return self._sentence_counts.get(doc_hash, default)

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
        if kind == "sentences" and not self._prefix_language:
            self._prefix_language = {c.sentence_prefix: c.language for c in self.chunks}
        by_language: dict = {}
        for i in ids:
            if kind == "chunks":
                language = self.chunk(i).language if i in self._row else None
            else:
                language = self._prefix_language.get(i.rsplit(":s", 1)[0])
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
        hashes: list[str],
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
        allowed = set(hashes)
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

    def _listed(self, kind: str, language: str, allowed: set) -> tuple[list[str], int]:
        """The content hashes, among ``allowed``, of the listed documents in ``language``, and how many ``kind``
        records they hold."""
        hashes = [h for h in self.active_hashes(language) if h in allowed]
        if kind == "sentences":
            return hashes, sum(self._sentence_counts.get(h, 0) for h in hashes)
        return hashes, sum(len(self._rows_where("doc_hash", h)) for h in hashes)

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
