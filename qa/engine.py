"""The answering core, in stages with typed records between them.

    Query ──► hybrid.retrieve ──► Retrieval ──► candidates.collect ──► [Candidate]
    (each carries its Analysis: words, stems, keys, terms)                 │
                     Answer ◄── compose.quoted ◄── ExtractiveReader ◄── decision.decide ──► Decision
                       │
                       └── Reader.follow: Quoting (as is) or Writing (writer.write ──► verify.check ──►
                           compose.written ──► Answer with Answer.written)

Everything (command line, web chat, Python API, evaluation, benchmarks) goes through ``Engine.retrieve``,
``Engine.answer``, ``Engine.stream`` (the answers as they are written) or ``Engine.explain`` (the same stages,
with every intermediate record returned).
The index itself is the ``Library`` (``engine.library``): adding, removing and rebuilding happen there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from qa import compose
from qa import language as languages
from qa.answering import candidates as candidates_stage
from qa.answering import decision, disagreement, hybrid
from qa.answering.extractive import ExtractiveReader
from qa.answering.query import Query, make_query, validate_k, validate_language, validate_question  # noqa: F401
from qa.answering.results import Answer, Passage
from qa.answering.tuning import Tuning
from qa.config import EXTRACTIVE, LLM, READERS, Settings
from qa.errors import ConfigError, StaleIndex
from qa.index.library import Library
from qa.models.embedders import get_embedder
from qa.models.rerankers import get_reranker, rerank
from qa.writing.llm import get_llm, spec_text
from qa.writing.writer import WRITING, Written, WrittenReader

if TYPE_CHECKING:
    from qa.answering.candidates import Candidate
    from qa.index.snapshot import Snapshot


@dataclass
class Trace:
    """Every stage's record for one question (for ``qa eval --inspect``, tuning and tests)."""

    query: Query
    retrieval: hybrid.Retrieval
    candidates: list[Candidate]  # best first
    decision: decision.Decision
    answer: Answer
    chosen: list[Candidate] = field(default_factory=list)  # the extractive reader quoted
    written: Written | None = None  # with the llm reader
    snapshot: Snapshot | None = None  # the index state the answer was read from


class Reader(Protocol):
    """What is said once the decision stage answered. Every answer is first quoted (``ExtractiveReader`` picks
    the sentences, ``compose.quoted`` cites them); a reader then ``follow``s that trace with the answer as it
    grows. ``Engine.reader`` picks one from configuration (``QA_READER``, ``--reader``, ``reader=``)."""

    name: str

    def prepare(self, library: Library) -> None:
        """Whatever must be ready before the question's time starts counting."""

    def follow(self, trace: Trace, started: float) -> Iterator[Trace]:
        """The traces of the answer as it grows, the last one final; ``started``: when the question came."""
        ...


class Quoting:
    """The extractive reader: the quoted sentences are the answer."""

    name = EXTRACTIVE

    def prepare(self, library: Library) -> None:
        pass

    def follow(self, trace: Trace, started: float) -> Iterator[Trace]:
        yield trace


class Writing:
    """The language-model reader: the quote first, then the answer a model writes from the eligible sentences,
    shown only if ``qa.writing.verify`` finds every marker, number, date and name in them (else the quote stays,
    with the reason)."""

    name = LLM

    def __init__(self, llm):
        self.llm = llm

    def prepare(self, library: Library) -> None:
        library.snapshot()  # building or loading the index, or the model's client, is not the answer's time
        self.llm.prepare()

    def follow(self, trace: Trace, started: float) -> Iterator[Trace]:
        assert trace.snapshot is not None  # Engine._explain sets it
        llm = self.llm
        deadline = started + llm.spec.timeout  # the time limit counts from the question, not from the quote
        writer = WrittenReader(llm)
        evidence = writer.evidence(trace.chosen, trace.decision.eligible)
        quote = trace.answer
        first = Written(WRITING, evidence=evidence)
        yield replace(
            trace, written=first, answer=compose.written(trace.snapshot, trace.query, quote, trace.chosen, first)
        )
        chosen_ids = {c.id for c in trace.chosen}
        quoted = sum(1 for c in evidence[: len(trace.chosen)] if c.id in chosen_ids)  # they come first
        for w in writer.write(trace.query, evidence, deadline=deadline, quoted=quoted):
            answer = compose.written(trace.snapshot, trace.query, quote, trace.chosen, w, llm.spec.trusted)
            yield replace(trace, written=w, answer=answer)


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        embedder=None,
        tuning: Tuning | None = None,
        notify: Callable[[str], None] | None = None,
        reranker=None,
        llm=None,
    ):
        self.settings = settings or Settings()
        self.embedder = embedder or get_embedder(self.settings.embedder)
        self.reranker = reranker if reranker is not None else get_reranker(self.settings.reranker)
        self.tuning = tuning or Tuning.load()
        self.ablate: frozenset[str] = frozenset()  # decision rules turned off (qa eval --ablate; decision.RULES)
        self.library = Library(self.settings, self.embedder, notify)
        self._llm = (
            llm  # a qa.writing.llm.LLM (tests pass a scripted one); else made from settings.llm when first needed
        )

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
        retrieval = hybrid.retrieve(snapshot, query, self.tuning, language)
        retrieval.order = rerank(
            self.reranker,
            query.retrieval_text,
            retrieval.order,
            lambda cid: snapshot.chunk(cid).text,
            self.tuning.rerank_candidates,
        )
        return retrieval

    def _languages(self) -> tuple[str, ...]:
        return languages.codes()

    def reader_name(self, reader: str | None) -> str:
        name = reader or self.settings.reader
        if name not in READERS:
            raise ConfigError(f"Unknown reader {name!r}: use {' or '.join(READERS)}")
        return name

    def reader(self, name: str | None = None) -> Reader:
        """The reader named (else the configured one): the one place a reader is chosen."""
        return Writing(self.llm) if self.reader_name(name) == LLM else Quoting()

    @property
    def llm_configured(self) -> bool:
        return self._llm is not None or bool(spec_text(self.settings.llm))

    @property
    def llm(self):
        """The language model of the llm reader (made once, reused), or a ConfigError that says how to set one."""
        if self._llm is None:
            self._llm = get_llm(self.settings.llm)
            if self._llm is None:
                raise ConfigError(
                    "The llm reader needs a language model: set QA_LLM=openai:http://HOST:PORT/v1#MODEL, "
                    'gguf:/path/model.gguf or packaged:qwen2.5-1.5b (README: "Written answers")'
                )
        return self._llm

    def explain(
        self, question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None
    ) -> Trace:
        trace = None
        for trace in self.traces(question, history, k, language, reader):
            pass
        assert trace is not None  # traces() yields at least once
        return trace

    def stream(
        self, question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None
    ) -> Iterator[Answer]:
        """The answer as it grows: with the llm reader, first the quote (``written.status`` "writing"), then the
        written answer as far as it is written (``Answer.written.text``), then the final answer."""
        for trace in self.traces(question, history, k, language, reader):
            yield trace.answer

    def traces(
        self, question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None
    ) -> Iterator[Trace]:
        k, language = validate_k(k), validate_language(language, self._languages())
        chosen = self.reader(reader)
        chosen.prepare(self.library)
        started = time.monotonic()
        trace = self._fresh(self._explain, question, history, k, language)
        if not trace.decision.answer:
            yield trace
            return
        yield from chosen.follow(trace, started)

    def _explain(self, question: str, history, k: int, language: str | None) -> Trace:
        snapshot = self.library.snapshot()
        query = make_query(question, self.embedder, history, asked_for="asked_for" not in self.ablate)
        retrieval = self._retrieve(snapshot, query, language)
        shown = compose.passages(snapshot, retrieval, retrieval.order[:k])
        found = candidates_stage.collect(snapshot, query, retrieval, self.tuning, self.embedder.embed_passages)
        verdict = decision.decide(snapshot, query, found, self.tuning, self.ablate)
        if not verdict.answer:
            return Trace(query, retrieval, found, verdict, compose.declined(query, verdict, shown), snapshot=snapshot)
        chosen = ExtractiveReader(self.tuning, self.reranker).read(query, verdict.eligible, verdict.lift)
        other = None
        if "disagreement" not in self.ablate:
            other = disagreement.disagreeing(query, verdict.eligible, chosen, self.tuning, verdict.novelty)
        if other is not None:  # the documents disagree: both are quoted, the answer says so
            chosen = [c for c in chosen if c.id != other.id][:2] + [other]
        answer = compose.quoted(snapshot, query, chosen, verdict, shown, disagree=other is not None)
        return Trace(query, retrieval, found, verdict, answer, chosen=chosen, snapshot=snapshot)

    def answer(
        self, question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None
    ) -> Answer:
        return self.explain(question, history=history, k=k, language=language, reader=reader).answer
