"""The answering core, in stages with typed records between them.

    Query ──► hybrid.retrieve ──► Retrieval ──► candidates.collect ──► [Candidate]
                                                                           │
                          Answer ◄── compose ◄── reader.read ◄── decision.decide ──► Decision

Everything (command line, web chat, Python API, evaluation, benchmarks) goes through ``Engine.retrieve``,
``Engine.answer`` or ``Engine.explain`` (the same stages, with every intermediate record returned).
The index itself is the ``Library`` (``engine.library``): adding, removing and rebuilding happen there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import candidates as candidates_stage
from . import compose, decision, hybrid
from .config import Settings
from .errors import StaleIndex
from .library import Library
from .query import Query, make_query, validate_k, validate_language, validate_question  # noqa: F401
from .reader import ExtractiveReader
from .results import Answer, Passage
from .tuning import Tuning


@dataclass
class Trace:
    """Every stage's record for one question (for ``qa eval --inspect``, tuning and tests)."""

    query: Query
    retrieval: hybrid.Retrieval
    candidates: list  # [Candidate], best first
    decision: decision.Decision
    answer: Answer


class Engine:
    def __init__(self, settings: Settings | None = None, embedder=None, tuning: Tuning | None = None,
                 notify: Callable[[str], None] | None = None, reranker=None):
        from .embedders import get_embedder
        from .rerankers import get_reranker

        self.settings = settings or Settings()
        self.embedder = embedder or get_embedder(self.settings.embedder)
        self.reranker = reranker if reranker is not None else get_reranker(self.settings.reranker)
        self.tuning = tuning or Tuning.load()
        self.library = Library(self.settings, self.embedder, notify)

    @property
    def notify(self) -> Callable[[str], None]:
        """Where progress messages of the library go (e.g. "building the index ...")."""
        return self.library.notify

    @notify.setter
    def notify(self, callback: Callable[[str], None]) -> None:
        self.library.notify = callback

    # -- reading the library (the fronts list documents and open them) ----------------------------

    def ensure_index(self, progress=None) -> None:
        self.library.ensure(progress)

    def documents(self):
        return self.library.documents()

    def document_text(self, name: str) -> str:
        return self.library.document_text(name)

    # -- answering -------------------------------------------------------------------------------

    def retrieve(self, question: str, k: int = 5, language: str | None = None) -> list[Passage]:
        k, language = validate_k(k), validate_language(language, self._languages())
        query = make_query(question, self.embedder)
        return self._fresh(self._passages, query, k, language)

    def _fresh(self, stage, *args):
        """Run ``stage``; if another process changed the index while it ran, run it again on the new state."""
        try:
            return stage(*args)
        except StaleIndex:
            self.library.invalidate()
            return stage(*args)

    def _passages(self, query: Query, k: int, language: str | None) -> list[Passage]:
        snapshot = self.library.snapshot()
        retrieval = self._retrieve(snapshot, query, language)
        return compose.passages(snapshot, retrieval, retrieval.order[:k])

    def _retrieve(self, snapshot, query: Query, language: str | None) -> hybrid.Retrieval:
        """The fused ranking; with a reranker configured, its order for the leading passages."""
        from .rerankers import rerank

        retrieval = hybrid.retrieve(snapshot, query, self.tuning, language)
        retrieval.order = rerank(self.reranker, query.retrieval_text, retrieval.order,
                                 lambda cid: snapshot.chunk(cid).text, self.tuning.rerank_candidates)
        return retrieval

    def _languages(self) -> tuple[str, ...]:
        from . import languages

        return languages.codes()

    def explain(self, question: str, history=None, k: int = 5, language: str | None = None) -> Trace:
        k, language = validate_k(k), validate_language(language, self._languages())
        return self._fresh(self._explain, question, history, k, language)

    def _explain(self, question: str, history, k: int, language: str | None) -> Trace:
        snapshot = self.library.snapshot()
        query = make_query(question, self.embedder, history)
        retrieval = self._retrieve(snapshot, query, language)
        shown = compose.passages(snapshot, retrieval, retrieval.order[:k])
        found = candidates_stage.collect(snapshot, query, retrieval, self.tuning)
        verdict = decision.decide(snapshot, query, found, self.tuning)
        if not verdict.answer:
            return Trace(query, retrieval, found, verdict, compose.declined(query, verdict, shown))
        chosen = ExtractiveReader(self.tuning, self.reranker).read(query, verdict.eligible)
        return Trace(query, retrieval, found, verdict, compose.quoted(snapshot, query, chosen, verdict, shown))

    def answer(self, question: str, history=None, k: int = 5, language: str | None = None) -> Answer:
        return self.explain(question, history=history, k=k, language=language).answer
