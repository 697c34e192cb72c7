"""Typed results returned by ``retrieve()`` and ``answer()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """The written answer's status (``Answer.written.status``): WRITING while it is written, KEPT when it passed
    the checks, else why it was not kept. Strings, as the JSON of an answer shows them."""

    WRITING = "writing"
    KEPT = "kept"
    MODEL_DECLINED = "model_declined"  # the model says the sentences do not answer; the decision stage said they do
    MALFORMED = "malformed"  # nothing could be made of the model's reply
    # The model itself failed (qa.writing.llm).
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    ERROR = "error"
    BUSY = "busy"  # every slot was taken
    SKIPPED = "skipped"  # paused after failures in a row
    # The check found (qa.writing.verify).
    EMPTY = "empty"
    UNMARKED_SENTENCE = "unmarked_sentence"
    UNKNOWN_MARKER = "unknown_marker"
    UNSUPPORTED_NUMBER = "unsupported_number"
    UNSUPPORTED_DATE = "unsupported_date"
    UNSUPPORTED_NAME = "unsupported_name"
    WRONG_LANGUAGE = "wrong_language"
    DROPS_THE_ANSWER = "drops_the_answer"


WRITING = Status.WRITING
KEPT = Status.KEPT


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
class WrittenAnswer:
    """What the language-model reader wrote for an answer, and whether it was kept."""

    status: Status  # WRITING while it streams; then KEPT or why it was not kept
    quote: str = ""  # the quoted answer, always kept beside the written one
    text: str = ""  # the written answer (as far as written while streaming; "" when not kept)
    detail: str = ""  # what the check found, for people
    seconds: float = 0.0
    machine_translation: bool = False  # the written answer rests on sentences in another language


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
    reader: str = "extractive"  # whose words ``text`` is: "extractive" (quoted sentences) or "llm" (written, checked)
    written: WrittenAnswer | None = None  # with the language-model reader (``reader="llm"``), once it was asked

    @property
    def quote(self) -> str:
        """With the language-model reader, the quoted answer kept beside the written one ("" without it)."""
        return self.written.quote if self.written is not None else ""

    def to_dict(self) -> dict:
        return asdict(self)
