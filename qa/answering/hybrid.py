"""Hybrid retrieval: dense and lexical rankings of chunks, fused by weighted reciprocal rank.

Four rankings (compare txtai's ``search/hybrid.py``):

- ``dense_chunk``: chunks by cosine similarity to the question, less an offset per document language:
  multilingual-e5 scores passages in the question's language higher across the board. The offsets are a
  table (question language x document language) measured once on the bundled corpus, whose languages say
  the same things, so they do not move when the library grows; measured per question on the library's own
  best hits instead, they changed with every unrelated document added (500 distractors moved a Russian
  question's Uzbek offset from 0.00 to 0.05 and took document MRR on held-out questions from 0.81 to 0.67).
  The per-question measure (``background_offsets``) remains what a candidate sentence's strength is
  judged against, and the offsets of an embedder or language the table does not cover;
- ``dense_sentence``: the same over single sentences, credited to the chunks that hold them;
- ``lexical``: BM25 over our stems; ``skeleton``: BM25 over cross-script consonant keys (Воронков = Voronkov).

Each lexical ranking's weight is scaled by how much of the question its best hit covers (idf-weighted),
so where lexical search cannot match (across languages) it does not drown the dense signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AbstractSet, Sequence

import numpy as np

from qa.language.lexical import LexicalIndex
from qa.answering.query import Query
from qa.index.snapshot import Snapshot
from qa.answering.tuning import Tuning


def weighted_rrf(rankings: list[tuple[float, dict[str, float]]], k: float) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum over rankings of weight / (k + rank), rank from 1."""
    fused: dict[str, float] = {}
    for weight, ranking in rankings:
        for rank, key in enumerate(sorted(ranking, key=lambda cid: ranking[cid], reverse=True)):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank + 1)
    return fused


def coverage(index: LexicalIndex, query_tokens: Sequence[str], hit_terms: AbstractSet[str]) -> float:
    """Share of the query's idf mass that a hit's terms cover."""
    total = sum(index.idf(q) for q in set(query_tokens))
    hit = sum(index.idf(q) for q in set(query_tokens) if q in hit_terms)
    return hit / total if total else 0.0


@dataclass
class Retrieval:
    """The fused chunk ranking and the evidence behind it."""

    order: list[str] = field(default_factory=list)  # chunk ids, best first
    fused: dict[str, float] = field(default_factory=dict)  # chunk id -> fused score
    dense_chunk: dict[str, float] = field(default_factory=dict)  # chunk id -> centred similarity
    # chunk id -> best centred similarity of its sentences
    dense_sentence: dict[str, float] = field(default_factory=dict)
    lexical: dict[str, float] = field(default_factory=dict)  # chunk id -> BM25 score
    coverage: dict[str, float] = field(default_factory=dict)  # "lexical" / "skeleton" -> coverage of the best hit
    # document language -> similarity removed in ranking
    language_offsets: dict[str, float] = field(default_factory=dict)
    background_offsets: dict[str, float] = field(default_factory=dict)  # the same, on this question's best hits


def centred_dense(
    snapshot: Snapshot,
    kind: str,
    vector: np.ndarray,
    hashes: AbstractSet[str],
    n: int,
    centring: float,
    with_metadata: bool = False,
    fixed: dict | None = None,
):
    """Dense hits over every document language, each language's offset removed.

    The offsets are ``fixed`` (document language -> offset) when it covers every language found, else measured:
    ``centring`` times each language's mean similarity over its best ``n`` hits, above the lowest language's.
    Returns ``[(id, centred similarity, raw similarity, metadata)]``, the offsets used and the measured ones.
    """
    per_language = []
    means = {}
    for lang in snapshot.languages:
        hits = snapshot.dense(kind, vector, n, hashes, language=lang, with_metadata=with_metadata)
        if not hits.similarities:
            continue
        means[lang] = float(np.mean(hits.similarities))
        per_language.append(hits)
    floor = min(means.values()) if means else 0.0
    measured = {lang: centring * (m - floor) for lang, m in means.items()}
    offsets = measured
    if fixed and all(lang in fixed for lang in means):
        offsets = {lang: float(fixed[lang]) for lang in means}
    out: list[tuple[str, float, float, dict | None]] = []
    for hits in per_language:
        offset = offsets[hits.language]
        out.extend((i, s - offset, s, m) for i, s, m in zip(hits.ids, hits.similarities, hits.metas))
    return out, offsets, measured


def offset_table(query: Query, tuning: Tuning) -> dict | None:
    """The fixed offsets for this question's language, if the tuning has them for the embedder that made it."""
    if not query.embedder or query.embedder != tuning.language_offsets_embedder:
        return None
    return tuning.language_offsets.get(query.language)


def retrieve(snapshot: Snapshot, query: Query, tuning: Tuning, language: str | None = None) -> Retrieval:
    hashes = snapshot.active_set(language)
    if not hashes or not snapshot.chunks:
        return Retrieval()
    n = min(tuning.candidates, len(snapshot.chunks))
    fixed = offset_table(query, tuning)
    dense_hits, offsets, background = centred_dense(
        snapshot, "chunks", query.vector, hashes, n, tuning.language_centering, fixed=fixed
    )
    dense_chunk = {cid: s for cid, s, _, _ in dense_hits}
    sentence_hits, _, _ = centred_dense(
        snapshot, "sentences", query.vector, hashes, n, tuning.language_centering, with_metadata=True, fixed=fixed
    )
    dense_sentence: dict[str, float] = {}
    for _, s, _, m in sentence_hits:
        for cid in snapshot.chunks_holding(m["doc_hash"], int(m["position"])):
            dense_sentence[cid] = max(dense_sentence.get(cid, -1.0), s)

    weights = tuning.fusion_weights
    allowed = hashes
    rankings = [(weights["dense_chunk"], dense_chunk), (weights["dense_sentence"], dense_sentence)]
    lexical_rankings = {}
    coverages = {}
    for name, tokens in (("lexical", query.resolved.stems), ("skeleton", query.resolved.keys)):
        index = snapshot.lexical_index(name)
        found = {}
        for row, score in index.search(tokens, tuning.candidates * 2):
            chunk = snapshot.chunk_at(row)
            if chunk.doc_hash in allowed:
                found[chunk.id] = score
        cov = (
            coverage(index, tokens, snapshot.chunk_terms(name, max(found, key=lambda cid: found[cid])))
            if found
            else 0.0
        )
        coverages[name] = cov
        lexical_rankings[name] = found
        rankings.append((weights[name] * cov, found))

    fused = weighted_rrf(rankings, tuning.rrf_k)
    return Retrieval(
        order=sorted(fused, key=lambda cid: fused[cid], reverse=True),
        fused=fused,
        dense_chunk=dense_chunk,
        dense_sentence=dense_sentence,
        lexical=lexical_rankings["lexical"],
        coverage=coverages,
        language_offsets=offsets,
        background_offsets=background,
    )
