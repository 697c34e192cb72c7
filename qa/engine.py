"""The answering core: hybrid retrieval and extractive, cited answers.

Everything (command line, web chat, Python API, evaluation) goes through
``Engine.retrieve`` and ``Engine.answer``.

Retrieval fuses three rankings of chunks with weighted reciprocal rank fusion:
dense chunk search and dense sentence search in Chroma, and BM25 over our own
multilingual tokens. The BM25 weight is scaled by how much of the question
the best lexical hit actually covers, so a cross-lingual question (where
lexical search can only match names) is not drowned by lexical noise.

Answers are extractive: sentences of the top passages are scored against the
question (dense similarity, lexical overlap, passage rank, answer type,
language), the best one or two are returned with [n] markers, and weak
evidence is declined.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import MAX_QUESTION_CHARS, Settings, bundled_corpus
from .errors import EmptyQuestion, IndexMissing, QuestionTooLong
from .followup import Resolution, resolve
from .language import detect_language
from .lexical import ALL_STOPWORDS, LexicalIndex, skeleton, skeleton_tokens, tokenize, words
from .results import Answer, Citation, Passage


@dataclass
class Tuning:
    """Weights and thresholds, chosen on the tuning part of the evaluation set (eval/tune.jsonl)."""

    candidates: int = 20  # per ranking, before fusion
    rrf_k: float = 10.0
    w_dense_chunk: float = 1.0
    w_dense_sentence: float = 1.0
    w_lexical: float = 1.0
    w_skeleton: float = 1.0
    language_centering: float = 1.5  # how much of each language's mean dense similarity to remove
    answer_passages: int = 4  # passages whose sentences compete for the answer
    sentence_window: int = 2  # neighbouring sentences of those passages that compete too
    # Sentence score = weights · features: dense similarity, dense less the language offset, question-stem
    # overlap, cross-script key overlap, passage fused score (relative to the best), 1/passage rank,
    # same language as the question, expected answer type present (+1) or missing (-1), already said.
    # Fitted by `python -m qa.eval.tune` on eval/tune.jsonl.
    sentence_weights: tuple = (3.0, 1.5, 0.5, 0.45, 0.15, 0.0281, -0.08, 0.18, -0.12)
    prefer_language_margin: float = 0.05  # take evidence in the question's language when this close to the best
    equivalent_similarity: float = 0.90  # sentence-to-sentence similarity of a translation
    second_sentence_margin: float = 0.1
    found_threshold: float = 3.682  # below this confidence: "the documents do not say"
    novelty_weight: float = 0.0  # confidence = best sentence score - novelty_weight * novelty
    max_novelty: float = 0.9  # decline when (almost) no content word of the question is in the corpus
    rerank_candidates: int = 8  # passages, and sentences, a configured reranker reorders


@dataclass
class _Chunk:
    id: str
    text: str
    meta: dict


@dataclass
class _State:
    collections: dict
    documents: dict  # name -> DocumentRecord
    chunks: list[_Chunk]
    chunk_row: dict  # chunk id -> row
    lexical: LexicalIndex
    skeleton: LexicalIndex  # cross-script keys: names and international words across ru / en / uz
    chunk_terms: dict  # "lexical" / "skeleton" -> per chunk row, the set of its terms (for coverage)
    languages: list
    sentence_chunks: dict = field(default_factory=dict)  # (doc_hash, sentence position) -> chunk ids
    texts: dict = field(default_factory=dict)  # document name -> original text, fetched on first use
    sentence_counts: dict = field(default_factory=dict)  # doc_hash -> number of sentences


# Questions whose answer is a count or an amount: the answer must hold a number that is not a date.
_NUMBER_QUESTION = re.compile(
    r"\b(how many|how much|how old|what number|budget|cost|сколько|скольки|бюджет\w*|стоимост\w*|nechta|necha|"
    r"qancha|byudjet\w*|narx\w*)\b", re.I
)
_MONTHS = (r"(january|february|march|april|may|june|july|august|september|october|november|december|"
           r"январ|феврал|март|апрел|ма[йяе]|июн|июл|август|сентябр|октябр|ноябр|декабр|"
           r"yanvar|fevral|mart|aprel|iyun|iyul|avgust|sentabr|sentyabr|oktabr|oktyabr|noyabr|dekabr)")
_DATE_NUMBER = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\d+(?:\s*[-–]\s*\d+)?(?:-?\s*|\s+)" + _MONTHS
    + r"|" + _MONTHS + r"\s+\d+(?:\s*[-–]\s*\d+)?|\b\d+-(?:й|я|е|го|th|st|nd|rd|chi|inchi)\b|\b\d+(?:st|nd|rd|th)\b", re.I
)

# Questions whose answer is a date, a year or a period: the answer must hold a number.
_DATE_QUESTION = re.compile(
    r"\b(when|(?:what|which|in which|for which) (?:year|month|date|day|period)s?|on what date|"
    r"когда|(?:в|на|с) как(?:ом|ие|ой|ую) (?:году|годы|месяце|день|дни|число|дату|период)|какого (?:числа|года)|"
    r"qachon|qaysi (?:yil|oy|sana|kun|davr)|nechanchi (?:yil|kun)|necha(?:nchi)? yil)\w*", re.I
)
_HAS_NUMBER = re.compile(r"\d")


def has_count(text: str) -> bool:
    """A number in ``text`` that is not part of a date, a year or an ordinal."""
    return bool(_HAS_NUMBER.search(_DATE_NUMBER.sub(" ", text)))


def validate_question(question) -> str:
    if not isinstance(question, str):
        raise EmptyQuestion("The question must be text.")
    question = question.strip()
    if not question:
        raise EmptyQuestion("The question is empty. Ask something, e.g. qa ask \"Who founded the IIJ?\"")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"The question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Ask a shorter question."
        )
    return question


class Engine:
    def __init__(self, settings: Settings | None = None, embedder=None, tuning: Tuning | None = None,
                 notify: Callable[[str], None] | None = None, reranker=None):
        from .embedders import get_embedder
        from .rerankers import get_reranker

        self.settings = settings or Settings()
        self.embedder = embedder or get_embedder(self.settings.embedder)
        self.reranker = reranker if reranker is not None else get_reranker(self.settings.reranker)
        self.tuning = tuning or Tuning()
        self.notify = notify or (lambda message: None)
        self._state: _State | None = None
        self._lock = threading.RLock()
        self._store = None
        self._chunker = None

    # -- index management ------------------------------------------------------------------------

    @property
    def chunker(self):
        if self._chunker is None:
            from .index.chunking import SentenceChunker

            self._chunker = SentenceChunker(
                chunk_tokens=self.settings.chunk_tokens, overlap_tokens=self.settings.chunk_overlap_tokens
            )
        return self._chunker

    @property
    def store(self):
        if self._store is None:
            from .index import chunker_id
            from .index.store import Store

            self._store = Store(
                self.settings, self.embedder, chunker_id(self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)
            )
        return self._store

    def _write_lock(self):
        from .index.store import WriteLock

        return WriteLock(self.settings.home)

    def add(self, paths, progress=None):
        from .index.readers import collect_paths, read_document

        files = collect_paths(list(paths))
        sources = [read_document(p) for p in files]  # read everything before touching the index
        with self._lock, self._write_lock():
            report = self.store.ingest(sources, self.chunker, progress)
        self._state = None
        return report

    def add_texts(self, documents, progress=None):
        """Index ``SourceDocument`` objects directly (uploads, tests)."""
        with self._lock, self._write_lock():
            report = self.store.ingest(list(documents), self.chunker, progress)
        self._state = None
        return report

    def remove(self, name: str) -> None:
        with self._lock, self._write_lock():
            self.store.remove(name)
        self._state = None

    def rebuild(self, progress=None):
        with self._lock, self._write_lock():
            report = self.store.rebuild(self.chunker, progress)
        self._state = None
        return report

    def documents(self):
        self.ensure_index()
        return list(self._load().documents.values())

    def document_text(self, name: str) -> str:
        state = self._load()
        return self.store.document_text(name, state.collections)

    def build_bundled(self, progress=None):
        from .index.readers import collect_paths, read_document

        from .prompts import message

        files = collect_paths([bundled_corpus()])
        self.notify(message("building_index", "en", count=str(len(files))))
        sources = [read_document(p) for p in files]
        with self._lock, self._write_lock():
            if not self.store.exists():
                self.store.rebuild(self.chunker, progress, sources=sources)
        self._state = None

    def ensure_index(self, progress=None) -> None:
        if self._state is not None:
            return
        if not self.store.exists():
            if not self.settings.auto_build:
                raise IndexMissing("There is no index yet. Run `qa index add PATH...` or `qa index rebuild`.")
            self.build_bundled(progress)

    def _load(self) -> _State:
        with self._lock:
            if self._state is not None:
                return self._state
            self.ensure_index()
            collections = self.store.open()
            records = {r.name: r for r in self.store.documents(collections)}
            active = [r.content_hash for r in records.values()]
            chunks: list[_Chunk] = []
            if active:
                got = collections["chunks"].get(
                    where={"doc_hash": {"$in": active}}, include=["documents", "metadatas"]
                )
                chunks = [_Chunk(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
                chunks.sort(key=lambda c: (c.meta["source"], c.meta["position"]))
            bodies = [f"{c.meta.get('title', '')} {c.text}" for c in chunks]
            stems = [tokenize(b, c.meta["language"]) for b, c in zip(bodies, chunks)]
            keys = [skeleton_tokens(b) for b in bodies]
            lexical, skeleton = LexicalIndex(stems), LexicalIndex(keys)
            sentence_chunks: dict = {}
            sentence_counts: dict = {}
            for c in chunks:
                sentence_counts[c.meta["doc_hash"]] = max(sentence_counts.get(c.meta["doc_hash"], 0), int(c.meta["sent_to"]))
                for pos in range(int(c.meta["sent_from"]), int(c.meta["sent_to"])):
                    sentence_chunks.setdefault((c.meta["doc_hash"], pos), []).append(c.id)
            self._state = _State(
                collections=collections, documents=records, chunks=chunks,
                chunk_row={c.id: i for i, c in enumerate(chunks)}, lexical=lexical, skeleton=skeleton,
                chunk_terms={"lexical": [set(t) for t in stems], "skeleton": [set(k) for k in keys]},
                languages=sorted({r.language for r in records.values()}), sentence_chunks=sentence_chunks,
                sentence_counts=sentence_counts,
            )
            return self._state

    # -- retrieval -------------------------------------------------------------------------------

    def _where(self, state: _State, language: str | None):
        active = [r.content_hash for r in state.documents.values() if not language or r.language == language]
        if not active:
            return None
        return {"doc_hash": {"$in": active}}

    def _dense(self, state: _State, collection: str, vector: np.ndarray, active: list[str], n: int, include: list):
        """Dense search per document language, with the language's offset removed.

        multilingual-e5 scores passages in the question's language higher across the
        board; subtracting each language's mean similarity (relative to the lowest)
        lets a passage in another language win when it is the better match.
        """
        hits = []  # (id, corrected similarity, raw similarity, metadata)
        means = {}
        for lang in state.languages:
            where = {"$and": [{"doc_hash": {"$in": active}}, {"language": lang}]}
            got = state.collections[collection].query(
                query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"] + include
            )
            sims = [1.0 - d for d in got["distances"][0]]
            if not sims:
                continue
            means[lang] = float(np.mean(sims))
            metas = got["metadatas"][0] if "metadatas" in include else [None] * len(sims)
            hits.append((lang, got["ids"][0], sims, metas))
        floor = min(means.values()) if means else 0.0
        alpha = self.tuning.language_centering
        out = []
        for lang, ids, sims, metas in hits:
            offset = alpha * (means[lang] - floor)
            out.extend((i, s - offset, s, m) for i, s, m in zip(ids, sims, metas))
        return out, {lang: alpha * (m - floor) for lang, m in means.items()}

    @staticmethod
    def _coverage(index: LexicalIndex, query_tokens: list[str], best_tokens: set) -> float:
        total = sum(index.idf(q) for q in set(query_tokens))
        hit = sum(index.idf(q) for q in set(query_tokens) if q in best_tokens)
        return hit / total if total else 0.0

    def _rank(self, state: _State, text: str, lang: str, vector: np.ndarray, language: str | None):
        """Fused chunk scores plus the evidence behind them."""
        t = self.tuning
        where = self._where(state, language)
        if where is None or not state.chunks:
            return [], {}, {}
        active = where["doc_hash"]["$in"]
        n = min(t.candidates, len(state.chunks))
        dense_hits, offsets = self._dense(state, "chunks", vector, active, n, [])
        dense_chunk = {cid: s for cid, s, _, _ in dense_hits}
        sent_hits, _ = self._dense(state, "sentences", vector, active, n, ["metadatas"])
        dense_sentence: dict[str, float] = {}
        for _, s, _, m in sent_hits:
            for cid in state.sentence_chunks.get((m["doc_hash"], int(m["position"])), []):
                dense_sentence[cid] = max(dense_sentence.get(cid, -1.0), s)

        allowed = set(active)
        rankings = [(t.w_dense_chunk, dense_chunk), (t.w_dense_sentence, dense_sentence)]
        coverages = {}
        for name, index, tokens, weight in (
            ("lexical", state.lexical, tokenize(text, lang), t.w_lexical),
            ("skeleton", state.skeleton, skeleton_tokens(text), t.w_skeleton),
        ):
            found = {}
            for row, score in index.search(tokens, t.candidates * 2):
                c = state.chunks[row]
                if c.meta["doc_hash"] in allowed:
                    found[c.id] = score
            # Scale each lexical ranking by how much of the question its best hit covers (idf-weighted),
            # so that where lexical search cannot match (across languages) it does not drown the dense signal.
            coverage = 0.0
            if found:
                best_row = state.chunk_row[max(found, key=found.get)]
                coverage = self._coverage(index, tokens, state.chunk_terms[name][best_row])
            coverages[name] = coverage
            rankings.append((weight * coverage, found))
            if name == "lexical":
                lexical_hits = found

        fused: dict[str, float] = {}
        for weight, ranking in rankings:
            for rank, cid in enumerate(sorted(ranking, key=ranking.get, reverse=True)):
                fused[cid] = fused.get(cid, 0.0) + weight / (t.rrf_k + rank + 1)
        evidence = {"dense": dense_chunk, "dense_sentence": dense_sentence, "lexical": lexical_hits,
                    "coverage": coverages, "language_offsets": offsets}
        return sorted(fused, key=fused.get, reverse=True), fused, evidence

    def _passage(self, state: _State, cid: str, score: float, evidence: dict) -> Passage:
        c = state.chunks[state.chunk_row[cid]]
        text = self._original(state, c.meta["source"])[int(c.meta["start"]) : int(c.meta["end"])]
        return Passage(
            source=c.meta["source"], text=text, score=float(score), start=int(c.meta["start"]), end=int(c.meta["end"]),
            language=c.meta["language"], chunk_id=cid, title=c.meta.get("title", ""),
            dense_score=float(max(evidence["dense"].get(cid, 0.0), evidence["dense_sentence"].get(cid, 0.0))),
            lexical_score=float(evidence["lexical"].get(cid, 0.0)),
        )

    def _original(self, state: _State, source: str) -> str:
        if source not in state.texts:
            state.texts[source] = self.store.document_text(source, state.collections)
        return state.texts[source]

    def retrieve(self, question: str, k: int = 5, language: str | None = None) -> list[Passage]:
        question = validate_question(question)
        state = self._load()
        lang = detect_language(question)
        vector = self.embedder.embed_queries([question])[0]
        order, fused, evidence = self._rank(state, question, lang, vector, language)
        order = self._reranked(question, order, lambda cid: state.chunks[state.chunk_row[cid]].text)
        return [self._passage(state, cid, fused[cid], evidence) for cid in order[:k]]

    def _reranked(self, question: str, items: list, text: Callable) -> list:
        """With a reranker configured, its order for the first few items; the rest keep their order."""
        n = self.tuning.rerank_candidates
        if self.reranker is None or len(items) < 2 or n < 2:
            return items
        head = items[:n]
        scores = self.reranker.score(question, [text(item) for item in head])
        return [head[i] for i in np.argsort(-scores, kind="stable")] + items[n:]

    def novelty(self, state: _State, question: str, lang: str) -> float:
        """Share of the question's content words found nowhere in the corpus, in any language or script.

        1.0 means nothing the question asks about is in the documents ("What is the capital of Australia?").
        """
        content = [w for w in words(question) if w not in ALL_STOPWORDS and len(w) >= 4 and not w.isdigit()]
        if not content:
            return 0.0
        unknown = 0
        for w in content:
            stems = tokenize(w, lang, drop_stopwords=False)
            if not state.lexical.knows(stems[0] if stems else w) and not state.skeleton.knows(skeleton(w)):
                unknown += 1
        return unknown / len(content)

    # -- answering -------------------------------------------------------------------------------

    def answer(self, question: str, history=None, k: int = 5, language: str | None = None) -> Answer:
        from .prompts import language_name, message

        question = validate_question(question)
        state = self._load()
        lang = detect_language(question)
        resolution: Resolution = resolve(question, lang, history)
        if lang == "und" and resolution.previous:
            lang = detect_language(resolution.previous[-1].question)
        if lang not in ("en", "ru", "uz"):
            lang = "en"
        texts = [question] if not resolution.is_followup else [question, resolution.retrieval_query]
        vectors = self.embedder.embed_queries(texts)
        q_vec = vectors[-1]  # retrieval uses the resolved question
        order, fused, evidence = self._rank(state, resolution.retrieval_query, lang, q_vec, language)
        order = self._reranked(resolution.retrieval_query, order, lambda cid: state.chunks[state.chunk_row[cid]].text)
        passages = [self._passage(state, cid, fused[cid], evidence) for cid in order[:k]]
        declined = Answer(
            text=message("not_found", lang, question=question), found=False, citations=[], language=lang,
            question=question, resolved_question=resolution.retrieval_query, passages=passages,
        )
        if not order:
            return declined

        scored = self._score_sentences(state, question, resolution, lang, vectors, order, fused,
                                       evidence["language_offsets"])
        if not scored:
            return declined
        # Whether to answer at all is judged on the first-stage scores, whose threshold is calibrated;
        # a reranker only changes which of the leading sentences is quoted.
        novelty = self.novelty(state, question, lang)
        confidence = scored[0]["score"] - self.tuning.novelty_weight * novelty
        scored = self._reranked(resolution.retrieval_query, scored, lambda s: s["text"])
        best = scored[0]
        declined.confidence = confidence
        if confidence < self.tuning.found_threshold or novelty >= self.tuning.max_novelty:
            return declined
        if _NUMBER_QUESTION.search(question) and not any(has_count(s["text"]) for s in scored[:3]):
            # A count or an amount is asked and no leading candidate holds one: quoting would mislead.
            return declined

        chosen = [best]
        if best["language"] != lang:
            # Equivalent evidence in the question's language (a translation of the same sentence) is preferred.
            same = [
                s for s in scored
                if s["language"] == lang and s["score"] >= best["score"] - self.tuning.prefer_language_margin
                and float(s["embedding"] @ best["embedding"]) >= self.tuning.equivalent_similarity
            ]
            if same:
                chosen = [same[0]]
        top = chosen[0]
        # A second sentence when the evidence is split or nearly tied: at most two, so answers stay short.
        # "Nearly tied" is measured on the first-stage scores, so with a reranker its choice stands alone.
        for s in ([] if self.reranker is not None else scored[:4]):
            if s["id"] == top["id"] or float(s["embedding"] @ top["embedding"]) >= self.tuning.equivalent_similarity:
                continue  # the same sentence, or a translation of it, adds nothing
            if s["score"] >= top["score"] - self.tuning.second_sentence_margin:
                chosen.append(s)
            break
        chosen.sort(key=lambda s: (s["source"] != top["source"], s["position"]))

        citations: list[Citation] = []
        number_of: dict[str, int] = {}
        parts = []
        for s in chosen:
            cid = s["chunk"]
            if cid not in number_of:
                number_of[cid] = len(citations) + 1
                c = state.chunks[state.chunk_row[cid]]
                original = self._original(state, c.meta["source"])
                citations.append(
                    Citation(
                        number=number_of[cid], source=c.meta["source"], language=c.meta["language"],
                        text=original[int(c.meta["start"]) : int(c.meta["end"])], start=int(c.meta["start"]),
                        end=int(c.meta["end"]), quote=original[s["start"] : s["end"]], quote_start=s["start"],
                        quote_end=s["end"], score=float(s["score"]),
                    )
                )
            else:
                cit = citations[number_of[cid] - 1]
                original = self._original(state, cit.source)
                cit.quote_start = min(cit.quote_start, s["start"])
                cit.quote_end = max(cit.quote_end, s["end"])
                cit.quote = original[cit.quote_start : cit.quote_end]
            parts.append(f"{s['text']} [{number_of[cid]}]")
        text = " ".join(parts)
        foreign = {c.language for c in citations if c.language != lang}
        if foreign and len(foreign) == 1:
            text += " " + message("other_language", lang, language=language_name(foreign.pop(), lang))
        return Answer(
            text=text, found=True, citations=citations, language=lang, question=question,
            resolved_question=resolution.retrieval_query, passages=passages, confidence=float(confidence),
        )

    @staticmethod
    def _containing_chunk(state: _State, meta: dict, preferred: str) -> str:
        """The chunk to cite for a sentence: the one that brought it in if it holds it, else the first that does."""
        holders = state.sentence_chunks.get((meta["doc_hash"], int(meta["position"])), [])
        return preferred if preferred in holders or not holders else holders[0]

    def _score_sentences(self, state: _State, question: str, resolution: Resolution, lang: str,
                         vectors: np.ndarray, order: list[str], fused: dict, offsets: dict) -> list[dict]:
        """Candidate sentences of the top passages, each with its features and weighted score, best first."""
        t = self.tuning
        top_chunks = order[: t.answer_passages]
        ids, owner = [], {}
        for cid in top_chunks:
            c = state.chunks[state.chunk_row[cid]]
            prefix = cid.rsplit(":c", 1)[0]
            last = state.sentence_counts.get(c.meta["doc_hash"], int(c.meta["sent_to"]))
            # The passage plus a window of neighbouring sentences: chunk borders cut through context.
            window = t.sentence_window
            for pos in range(max(0, int(c.meta["sent_from"]) - window), min(last, int(c.meta["sent_to"]) + window)):
                sid = f"{prefix}:s{pos}"
                if sid not in owner:
                    ids.append(sid)
                    owner[sid] = cid
        if not ids:
            return []
        got = state.collections["sentences"].get(ids=ids, include=["embeddings", "documents", "metadatas"])
        emb = np.asarray(got["embeddings"], dtype=np.float32)
        sims = emb @ vectors.T  # columns: question (and resolved question for follow-ups)
        dense = sims.mean(axis=1) if sims.shape[1] > 1 else sims[:, 0]

        q_tokens = set(tokenize(question, lang))
        q_weight = sum(state.lexical.idf(x) for x in q_tokens) or 1.0
        q_keys = set(skeleton_tokens(question))
        k_weight = sum(state.skeleton.idf(x) for x in q_keys) or 1.0
        rank_of = {cid: r for r, cid in enumerate(top_chunks)}
        top_fused = fused[top_chunks[0]] or 1.0
        expects_number = bool(_NUMBER_QUESTION.search(question))
        expects_date = bool(_DATE_QUESTION.search(question))
        previous = " ".join(resolution.previous_answers)
        weights = np.asarray(t.sentence_weights, dtype=np.float32)

        scored = []
        for row, (sid, text, meta) in enumerate(zip(got["ids"], got["documents"], got["metadatas"])):
            s_tokens = set(tokenize(text, meta["language"]))
            s_keys = set(skeleton_tokens(text))
            type_fit = 0.0
            if expects_number:
                type_fit = 1.0 if has_count(text) else -1.0
            elif expects_date:
                type_fit = 1.0 if _HAS_NUMBER.search(text) else -1.0
            features = np.array([
                float(dense[row]),
                float(dense[row]) - offsets.get(meta["language"], 0.0),
                sum(state.lexical.idf(x) for x in q_tokens if x in s_tokens) / q_weight,
                sum(state.skeleton.idf(x) for x in q_keys if x in s_keys) / k_weight,
                fused[owner[sid]] / top_fused,
                1.0 / (1 + rank_of[owner[sid]]),
                1.0 if meta["language"] == lang else 0.0,
                type_fit,
                1.0 if previous and text[:60] in previous else 0.0,
            ], dtype=np.float32)
            scored.append({
                "id": sid, "text": text, "score": float(features @ weights), "embedding": emb[row],
                "features": features, "dense": float(dense[row]), "chunk": self._containing_chunk(state, meta, owner[sid]),
                "source": meta["source"],
                "language": meta["language"], "position": int(meta["position"]), "start": int(meta["start"]),
                "end": int(meta["end"]),
            })
        scored.sort(key=lambda s: s["score"], reverse=True)
        return scored
