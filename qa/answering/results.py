"""Typed results returned by ``retrieve()`` and ``answer()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


# The written answer's status while it is written and when it was kept (the other statuses, why it was not
# kept, are in qa.writing.writer).
WRITING = "writing"
KEPT = "kept"


@dataclass
class Passage:
    """A retrieved chunk. ``text`` is verbatim from the document (``start``/``end`` offsets)."""

    source: str
    text: str
    score: float
    start: int
    end: int
    language: str
    chunk_id: str
    title: str = ""
    dense_score: float = 0.0
    lexical_score: float = 0.0


@dataclass
class Citation:
    """One numbered source of an answer.

    ``text`` is the passage quoted verbatim from ``source`` at ``start:end``;
    ``quote`` is the supporting sentence inside it, at ``quote_start:quote_end``
    (offsets in the whole document).
    """

    number: int
    source: str
    language: str
    text: str
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    score: float = 0.0
    copies: list[str] = field(default_factory=list)  # other listed names of the same content (identical files)
    ocr: bool = False  # the passage holds text read by text recognition (a scanned page, an image): check the original


@dataclass
class Answer:
    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    language: str = "en"
    question: str = ""
    resolved_question: str = ""  # the question as retrieval saw it, after follow-up resolution
    passages: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    reason: str = (
        ""  # the decision: "answered", or why the documents were judged not to say (see qa.answering.decision)
    )
    disagree: bool = False  # the quoted documents give different answers (qa.answering.disagreement); the text says so
    # The language-model reader (``reader="llm"``); without it these keep their defaults.
    reader: str = "extractive"  # whose words ``text`` is: "extractive" (quoted sentences) or "llm" (written, checked)
    written: str = ""  # with the llm reader: its answer (as far as written while streaming; "" if not kept)
    quote: str = ""  # with the llm reader: the quoted answer, always kept beside the written one
    written_status: str = ""  # "writing", "kept", or why the written answer was not kept (see qa.writing.writer)
    written_detail: str = ""  # what the check found, for people
    written_seconds: float = 0.0
    machine_translation: bool = False  # the written answer rests on sentences in another language

    def to_dict(self) -> dict:
        return asdict(self)
