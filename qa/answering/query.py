"""The question as every stage sees it, built once: text, language, follow-up resolution, analysis, vectors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa import language as languages
from qa.language.answer_types import attributes, counted_noun, expected_type, names, ordinals, question_type
from qa.config import MAX_HISTORY_MESSAGE_CHARS, MAX_HISTORY_MESSAGES, MAX_K, MAX_QUESTION_CHARS
from qa.errors import EmptyQuestion, InvalidInput, QuestionTooLong
from qa.answering.followup import Resolution, resolve
from qa.language.detect import detect_language, reading_form
from qa.language.analysis import Analysis, analyse


def validate_question(question) -> str:
    if not isinstance(question, str):
        raise EmptyQuestion("The question must be text.")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"The question holds a character that is not valid text (position {exc.start}); send it as UTF-8 text."
        ) from None
    question = question.replace("\x00", " ").strip()
    if not question:
        raise EmptyQuestion('The question is empty. Ask something, e.g. qa ask "Who founded the IIJ?"')
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"The question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. Ask a shorter question."
        )
    return question


def validate_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidInput(f"k must be a whole number of passages, e.g. k=5 (got {k!r}).")
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K} (got {k}).")
    return k


def validate_language(language, known: tuple[str, ...]) -> str | None:
    if language in (None, ""):
        return None
    if not isinstance(language, str) or language not in known:
        raise InvalidInput(f"language must be one of {', '.join(known)} or None (got {language!r}).")
    return language


def validate_history(history) -> list:
    """Chat messages (dicts with role/content, or strings = earlier questions), the last few, each bounded."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
        raise InvalidInput(
            'history must be a list of chat messages, e.g. [{"role": "user", "content": "..."}] '
            f"(got {type(history).__name__})."
        )
    out: list[str | dict] = []
    for message in list(history)[-MAX_HISTORY_MESSAGES:]:
        if isinstance(message, str):
            out.append(message[:MAX_HISTORY_MESSAGE_CHARS])
        elif isinstance(message, dict):
            role = message.get("role", "user")
            if role not in HISTORY_ROLES:
                raise InvalidInput(
                    f"A history message's role must be one of {', '.join(HISTORY_ROLES)} (got {role!r})."
                )
            # One text, cut to its bound before follow-up resolution reads it (parts of a multimodal message joined).
            out.append(
                {**message, "role": role, "content": _message_text(message.get("content"))[:MAX_HISTORY_MESSAGE_CHARS]}
            )
        else:
            raise InvalidInput(
                f"Each history message must be a dict with 'role' and 'content' or a string "
                f"(got {type(message).__name__})."
            )
    return out


HISTORY_ROLES = ("user", "assistant", "system")


def _message_text(content) -> str:
    """A chat message's content as text: a string, or the text parts of a list of parts (``{"type": "text",
    "text": ...}``, as the OpenAI API and Gradio send them)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, (list, tuple)):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
                texts.append(part.get("text", ""))
            else:
                raise InvalidInput("A history message's content must be text or a list of text parts.")
        return " ".join(t for t in texts if t)
    raise InvalidInput(f"A history message's content must be text (got {type(content).__name__}).")


@dataclass
class Query:
    text: str  # as asked
    reading: str  # as the stages read it: Uzbek in Cyrillic is read in Latin (``reading_form``)
    language: str  # en / ru / uz: the language answers and messages are given in
    resolution: Resolution  # the follow-up resolved against the history
    vectors: np.ndarray  # the question's embedding; for a follow-up also the resolved question's (last row)
    expects: str | None  # "count", "date" or None
    analysis: Analysis  # the question's words, stems, keys and terms (``qa.language.analysis``), computed once
    resolved: Analysis  # the same of the resolved question (the question itself unless a follow-up)
    answer_type: str | None = None  # count, date, organisation, place, person or None: what the answer must hold
    counted: str | None = None  # what a count question counts ("players" in "How many players ..."), as asked
    focus: set[str] = field(default_factory=set)  # the attributes asked about ("mayor", "birth", ...), any language
    names: list[str] = field(default_factory=list)  # name-like words of the question: what the attribute is of
    context_names: list[str] = field(default_factory=list)  # name-like words of the turns a follow-up rests on
    ordinals: set[int] = field(default_factory=set)  # the ordinal numbers it names ("the second meeting": {2})
    embedder: str = ""  # the id of the embedder that made ``vectors``

    @property
    def retrieval_text(self) -> str:
        return self.resolution.retrieval_query

    @property
    def vector(self) -> np.ndarray:
        """The vector retrieval searches with (the resolved question's)."""
        return self.vectors[-1]

    @property
    def is_followup(self) -> bool:
        return self.resolution.is_followup

    @property
    def has_content(self) -> bool:
        """Whether the question (or the conversation it follows) names anything to look for."""
        return self.resolved.has_content

    @property
    def tokens(self) -> tuple[str, ...]:
        """The question's content stems."""
        return self.analysis.stems

    @property
    def keys(self) -> tuple[str, ...]:
        """The question's cross-script keys."""
        return self.analysis.keys


def _read_history(history: list) -> list:
    """Earlier questions in their reading form (the answers stay as they were given)."""
    out: list[str | dict] = []
    for message in history:
        if isinstance(message, str):
            out.append(reading_form(message))
        elif message.get("role") == "user" and isinstance(message.get("content"), str):
            out.append({**message, "content": reading_form(message["content"])})
        else:
            out.append(message)
    return out


def make_query(question: str, embedder, history=None, asked_for: bool = True) -> Query:
    """``asked_for`` False: an attribute the question names sets the kind of answer even where it is not what the
    question asks for (``qa eval --ablate asked_for``)."""
    question = validate_question(question)
    lang = detect_language(question)
    reading = reading_form(question, lang)
    resolution = resolve(reading, lang, _read_history(validate_history(history)))
    if lang == "und" and resolution.previous:
        lang = detect_language(resolution.previous[-1].question)
    if lang not in languages.codes():  # a language without a file: read as English
        lang = "en"
    texts = [reading] if not resolution.is_followup else [reading, resolution.retrieval_query]
    vectors = embedder.embed_queries(texts)
    retrieval = resolution.retrieval_query
    kind = question_type(reading, asked=asked_for)
    analysis = analyse(reading, lang)
    return Query(
        text=question,
        reading=reading,
        language=lang,
        resolution=resolution,
        vectors=vectors,
        expects=expected_type(reading),
        analysis=analysis,
        resolved=analyse(retrieval, lang) if retrieval != reading else analysis,
        answer_type=kind,
        focus=attributes(reading),
        counted=counted_noun(reading, lang) if kind == "count" else None,
        names=names(reading),
        context_names=names(retrieval) if resolution.is_followup else [],
        ordinals=ordinals(reading),
        embedder=str(getattr(embedder, "id", "")),
    )
