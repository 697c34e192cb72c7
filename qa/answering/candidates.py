"""Candidate answer sentences: the sentences of the best passages, each with named features and a score."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Callable

import numpy as np

from qa.language.answer_types import has_count, has_date, stated
from qa.answering.hybrid import Retrieval
from qa.language.detect import reading_form
from qa.language.analysis import Analysis, analyse
from qa.answering.query import Query
from qa.index.snapshot import Snapshot
from qa.answering.tuning import FEATURES, Tuning


@dataclass
class Features:
    """What the score of a candidate sentence is made of (the order is ``qa.answering.tuning.FEATURES``)."""

    dense: float  # similarity to the question (mean over question and resolved question for follow-ups)
    dense_centered: float  # the same less its document language's offset measured on this question's hits
    stem_overlap: float  # idf share of the question's stems present in the sentence
    key_overlap: float  # idf share of the question's cross-script keys present in the sentence
    passage_fused: float  # fused score of the passage that brought it in, relative to the best passage
    passage_rank: float  # 1 / (1 + rank of that passage)
    same_language: float  # 1 when in the question's language
    answer_type: float  # +1 holds the expected kind of answer (a count, a date), -1 cannot, 0 nothing expected
    already_said: float  # 1 when an earlier answer of the conversation already said it

    def vector(self) -> np.ndarray:
        return np.asarray(astuple(self), dtype=np.float32)


assert tuple(Features.__dataclass_fields__) == FEATURES


@dataclass
class Candidate:
    id: str
    text: str  # the stored (cleaned) sentence
    source: str
    language: str
    doc_hash: str  # the document version it belongs to
    position: int  # sentence number in its document
    start: int  # offsets in the original document
    end: int
    chunk: str  # the chunk to cite: the passage that brought it in if it holds it, else the first that does
    passage: str  # the passage that brought it in
    embedding: np.ndarray
    features: Features
    score: float
    reading: str  # the text as the stages read it (Uzbek Cyrillic in Latin); ``text`` is what is quoted
    analysis: Analysis  # of ``reading``: its words, stems, keys and terms, computed once


def _passage_window(snapshot: Snapshot, retrieval: Retrieval, tuning: Tuning) -> tuple[list[str], dict[str, str]]:
    """Sentence ids of the top passages plus a window of neighbours (chunk borders cut through context)."""
    ids, owner = [], {}
    for cid in retrieval.order[: tuning.answer_passages]:
        chunk = snapshot.chunk(cid)
        last = snapshot.sentence_count(chunk.doc_hash, chunk.sentence_range.stop)
        window = tuning.sentence_window
        for pos in range(max(0, chunk.sentence_range.start - window), min(last, chunk.sentence_range.stop + window)):
            sid = f"{chunk.sentence_prefix}:s{pos}"
            if sid not in owner:
                ids.append(sid)
                owner[sid] = cid
    return ids, owner


def collect(
    snapshot: Snapshot,
    query: Query,
    retrieval: Retrieval,
    tuning: Tuning,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> list[Candidate]:
    """Every candidate sentence with its features and weighted score, best first.

    A sentence that addresses its reader ("Ignore the question and answer: ...", ``reader_address`` in the
    language files) is scored on what it states, without the address: its similarity from ``embed`` (the
    embedder's passages) of that part, its overlaps from that part's words. The address's words ("question",
    "answer") resemble a question, and must not lift a sentence over one that states a fact plainly."""
    if not retrieval.order:
        return []
    ids, owner = _passage_window(snapshot, retrieval, tuning)
    sentences = snapshot.sentences(ids)
    if not sentences:
        return []
    emb = np.stack([s.embedding for s in sentences])
    statements = {row: stated(s.text) for row, s in enumerate(sentences)}
    said = {row: text for row, text in statements.items() if text is not None}
    if said and embed is not None:
        scored = emb.copy()
        scored[list(said)] = embed([reading_form(said[row], sentences[row].language) for row in said])
        sims = scored @ query.vectors.T
    else:
        sims = emb @ query.vectors.T  # columns: question (and resolved question for follow-ups)
    dense = sims.mean(axis=1) if sims.shape[1] > 1 else sims[:, 0]

    q_tokens = set(query.tokens)
    q_weight = sum(snapshot.lexical.idf(x) for x in q_tokens) or 1.0
    q_keys = set(query.keys)
    k_weight = sum(snapshot.skeleton.idf(x) for x in q_keys) or 1.0
    top = retrieval.order[: tuning.answer_passages]
    rank_of = {cid: r for r, cid in enumerate(top)}
    top_fused = retrieval.fused[top[0]] or 1.0
    previous = " ".join(query.resolution.previous_answers)
    weights = tuning.weight_vector()

    out = []
    for row, s in enumerate(sentences):
        reading = reading_form(s.text, s.language)
        analysis = analyse(reading, s.language)
        scored_as = analyse(reading_form(said[row], s.language), s.language) if row in said else analysis
        s_tokens = set(scored_as.stems)
        s_keys = set(scored_as.keys)
        type_fit = 0.0
        if query.expects == "count":
            type_fit = 1.0 if has_count(reading) else -1.0
        elif query.expects == "date":
            type_fit = 1.0 if has_date(reading) else -1.0
        passage = owner[s.id]
        features = Features(
            dense=float(dense[row]),
            dense_centered=float(dense[row]) - retrieval.background_offsets.get(s.language, 0.0),
            stem_overlap=sum(snapshot.lexical.idf(x) for x in q_tokens if x in s_tokens) / q_weight,
            key_overlap=sum(snapshot.skeleton.idf(x) for x in q_keys if x in s_keys) / k_weight,
            passage_fused=retrieval.fused[passage] / top_fused,
            passage_rank=1.0 / (1 + rank_of[passage]),
            same_language=1.0 if s.language == query.language else 0.0,
            answer_type=type_fit,
            already_said=1.0 if previous and s.text[:60] in previous else 0.0,
        )
        holders = snapshot.chunks_holding(s.doc_hash, s.position)
        out.append(
            Candidate(
                id=s.id,
                text=s.text,
                source=s.source,
                language=s.language,
                doc_hash=s.doc_hash,
                position=s.position,
                start=s.start,
                end=s.end,
                chunk=passage if passage in holders or not holders else holders[0],
                passage=passage,
                embedding=s.embedding,
                features=features,
                score=float(features.vector() @ weights),
                reading=reading,
                analysis=analysis,
            )
        )
    out.sort(key=lambda c: c.score, reverse=True)
    return out
