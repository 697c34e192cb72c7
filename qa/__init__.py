"""Question answering over a multilingual document corpus, with cited passages.

    from qa import answer, retrieve
    a = answer("Who founded the IIJ?")
    print(a.text, a.found, [c.source for c in a.citations])

The first call builds the index from the bundled corpus if there is none
(``$QA_HOME``, default ``~/.local/share/qa``).
"""

from __future__ import annotations

import threading

from qa.errors import (
    ConfigError,
    DiskFull,
    DocumentNotFound,
    EmptyQuestion,
    IndexCorrupted,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    IndexReadOnly,
    IndexUnwritable,
    InvalidInput,
    NoDocuments,
    QAError,
    QuestionTooLong,
    UnsupportedDocument,
)
from qa.answering.results import Answer, Citation, Passage

__all__ = [
    "answer",
    "stream",
    "retrieve",
    "get_engine",
    "set_engine",
    "Answer",
    "Citation",
    "Passage",
    "QAError",
    "EmptyQuestion",
    "QuestionTooLong",
    "UnsupportedDocument",
    "NoDocuments",
    "DocumentNotFound",
    "IndexMissing",
    "InvalidInput",
    "IndexCorrupted",
    "IndexMismatch",
    "IndexLocked",
    "IndexUnwritable",
    "DiskFull",
    "IndexReadOnly",
    "ConfigError",
]

_engine = None
_engine_lock = threading.Lock()


def get_engine():
    """The process-wide engine the chat, the command line and the API share."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from qa.engine import Engine

            _engine = Engine()
        return _engine


def set_engine(engine) -> None:
    """Use another engine (other settings, a test embedder) for ``answer`` and ``retrieve``."""
    global _engine
    with _engine_lock:
        _engine = engine


def answer(question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None) -> Answer:
    """Answer ``question`` from the indexed documents, citing the passages it rests on.

    ``history``: earlier chat messages, ``[{"role": "user"|"assistant", "content": str}, ...]``.
    ``language``: only use documents in this language (``en``, ``ru``, ``uz``).
    ``reader``: ``"extractive"`` (quote the sentences; the default, or ``$QA_READER``) or ``"llm"`` (a language
    model, ``$QA_LLM``, writes the answer in the question's language; it is shown only if every marker, number,
    date and name checks out against the cited sentences, else the quote is, with ``written.status`` saying why).
    """
    return get_engine().answer(question, history=history, k=k, language=language, reader=reader)


def stream(question: str, history=None, k: int = 5, language: str | None = None, reader: str | None = None):
    """Like ``answer``, but yields the answer as it grows: with ``reader="llm"`` the quote first, then the written
    answer as it is written (``Answer.written.text``), and last the checked answer."""
    return get_engine().stream(question, history=history, k=k, language=language, reader=reader)


def retrieve(question: str, k: int = 5, language: str | None = None) -> list[Passage]:
    """The ``k`` best passages for ``question``, best first."""
    return get_engine().retrieve(question, k=k, language=language)
